"""Input validation with one error template.

Every message reads ``"<where>: expected <arg> <what>, got <actual>. <how to fix>"`` so that a
user sees which argument is wrong, what was expected and what arrived. The helpers here are the
only place that wording is produced (after PyTorch ``check_input`` and scikit-learn
``check_array``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


class LstmkitWarning(UserWarning):
    """The category of all of lstmkit's warnings: raised as itself (fit's input checks, R² of one sample, the interop
    converters, dropout with one layer, ...) or as a subclass (CSVWarning, ForecastWarning, MissingLengthsWarning,
    TextWarning, and the RuntimeWarnings NumbaCacheWarning, CompiledKernelsWarning and :class:`LstmkitRuntimeWarning`,
    each still what it was): ``warnings.filterwarnings("ignore", category=lstmkit.LstmkitWarning)`` silences them and
    nothing else. The deprecations (arguments passed by position, ``LSTMForecaster.history_``) are plain FutureWarnings,
    not of it, as scikit-learn's and pandas' are: a filter that quiets lstmkit's notes does not hide what will break."""


class LstmkitRuntimeWarning(LstmkitWarning, RuntimeWarning):
    """An LstmkitWarning that is a RuntimeWarning, as it was: an LSTMCell's kept steps growing past
    ``KEPT_WARNING_BYTES`` (memory grows with each call until a backward)."""


def message(where: str, arg: str, expected: str, got: Any, fix: str = "") -> str:
    """The project's uniform message: "<where>: expected <arg> <expected>, got <got>. <fix>"."""
    msg = f"{where}: expected {arg} {expected}, got {got}."
    return f"{msg} {fix}" if fix else msg


def fail(where: str, arg: str, expected: str, got: Any, fix: str = "", *, exc=ValueError):
    """Raise ``exc`` with the project's uniform message (:func:`message`)."""
    raise exc(message(where, arg, expected, got, fix))


#: the control characters a terminal acts on: C0 but tab and newline, DEL, and C1 (0x80-0x9f: CSI
#: 0x9b); and the Unicode bidirectional controls, which reorder what follows them on the line
#: ("Trojan source", CVE-2021-42574): the marks U+061C, U+200E, U+200F, the embeddings and
#: overrides U+202A-U+202E, the isolates U+2066-U+2069
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n <= 0xFF else f"\\u{n:04x}"


def printable(s: Any) -> str:
    """``str(s)`` for a terminal: each control character but newline and tab (C0, DEL and C1) as its
    visible escape, ESC as the four characters ``\\x1b``; each Unicode bidirectional control (U+061C,
    U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) as ``\\u`` and four hex digits, RIGHT-TO-LEFT
    OVERRIDE as ``\\u202e``. Text from a file (a model's class names, a worked example's title, a
    name in a message) reaches the terminal through it: raw, an ESC sequence in it would set the
    window title, clear the screen or colour what follows, a bidi control would show what follows it
    reversed or moved. For what is printed only: a file written (CSV, ``--out``) keeps the data as
    it is."""
    return _CONTROL.sub(lambda m: _escape(m.group()), str(s))


#: the optional packages lstmkit imports where they are used, by module: (the name pip installs it
#: by, the extra of lstmkit's pyproject.toml that holds it); the engine itself needs NumPy only. The
#: one table of them: :class:`optional_import` and the command line's words
#: (:func:`lstmkit.commands._options.missing_package`) read it
OPTIONAL: dict[str, tuple[str, str]] = {
    "rich": ("rich", "cli"), "matplotlib": ("matplotlib", "cli"), "sklearn": ("scikit-learn", "cli"),
    "torch": ("torch", "interop"), "keras": ("keras", "interop"), "h5py": ("h5py", "interop"),
    "onnx": ("onnx", "onnx"), "onnxruntime": ("onnxruntime", "onnx"), "numba": ("numba", "fast"), "scipy": ("scipy", "fast"),
}  # fmt: skip


class optional_import:
    """Around the imports of an optional package (``module``, a key of :data:`OPTIONAL`), where
    the library uses it::

        with optional_import("matplotlib", "History.plot", "to draw the learning curves"):
            from matplotlib.figure import Figure

    The package not installed (a ModuleNotFoundError naming ``module``, or a module inside it where
    the package itself cannot be found) is raised again as a ModuleNotFoundError (``name=module``,
    so that the command line says it in its words) in one line, no traceback of the import
    (:func:`not_installed`). Any other error goes through as Python raised it (its words name what
    is missing): one of the package's own dependencies missing, or a module inside the installed
    package (a broken install, which ``pip install`` would not mend). Nothing is imported here: the
    imports are the caller's, inside the block."""

    def __init__(self, module: str, where: str, why: str = ""):
        if module not in OPTIONAL:
            raise KeyError(f"optional_import: expected module one of {sorted(OPTIONAL)}, got {module!r}.")
        self.module, self.where, self.why = module, where, why

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if absent_package(exc, (self.module,)) is None:
            return False  # nothing raised, or not this package missing: as it was
        raise ModuleNotFoundError(not_installed(self.where, self.module, self.why), name=self.module) from None


def absent_package(exc: BaseException | None, packages: tuple[str, ...]) -> str | None:
    """The one of ``packages`` that ``exc`` says is not installed, or None: a ModuleNotFoundError
    naming the package, or a module inside it where the package itself cannot be found (hidden, or
    absent). A module inside an installed package missing is a broken install (None), which
    ``pip install`` would not mend; so is any other error."""
    if not isinstance(exc, ModuleNotFoundError):
        return None
    top = (exc.name or "").partition(".")[0]
    if top not in packages:
        return None
    if exc.name != top:  # a module inside it: missing only if the package itself is not there
        from importlib.util import find_spec

        if find_spec(top) is not None:
            return None  # the package is there, a module of it is not: a broken install
    return top


def not_installed(where: str, module: str, why: str = "", instead: str = "", broken: BaseException | None = None) -> str:
    """The one sentence for an optional package (``module``, a key of :data:`OPTIONAL`) not installed,
    the library's (:class:`optional_import`) and the command line's: "<where>: expected <package>
    installed (<why>), got none. Install it: pip install "lstmkit[<extra>]" (or <instead>).";
    with ``broken`` (the error of a package there that fails to import, :func:`absent_package` None),
    the command line's for a broken install: "<where>: expected <package> to import (<why>), got
    <broken>. Reinstall it: pip install --force-reinstall "lstmkit[<extra>]" (or <instead>)."."""
    package, extra = OPTIONAL[module]
    why, other = (f" ({why})" if why else ""), (f" (or {instead})" if instead else "")
    if broken is not None:
        return (f"{where}: expected {package} to import{why}, got {broken}. "
                f"Reinstall it: pip install --force-reinstall \"lstmkit[{extra}]\"{other}.")  # fmt: skip
    return f"{where}: expected {package} installed{why}, got none. Install it: pip install \"lstmkit[{extra}]\"{other}."


def or_list(words) -> str:
    """Words as a phrase of choices: "a", "a or b", "a, b or c"."""
    words = list(words)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def check_verbose(value, where: str) -> int:
    """A verbosity: 0 (silent), 1 (a progress bar) or 2 (a line per epoch); True reads as 1."""
    if not isinstance(value, (int, np.integer)):
        fail(where, "verbose", "0, 1 or 2", f"{type(value).__name__} {value!r}", exc=TypeError)
    if value not in (0, 1, 2):
        fail(where, "verbose", "0, 1 or 2", repr(value), "0: silent, 1: a progress bar, 2: a line per epoch.")
    return int(value)


def count(n: int, word: str) -> str:
    """``n`` and ``word``, plural but for 1: ``count(1, "feature")`` -> "1 feature", ``count(3, "value")`` -> "3 values"."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article, by how it is read: "an Adam", "a StepLR"; a name that
    opens with an acronym is read letter by letter: "an LSTM", "an RNN", "an SGD", "a GRU"."""
    if len(word) > 1 and word[0].isupper() and word[1].isupper():  # LSTM: "el-es-tee-em"
        return f"{'an' if word[0] in 'AEFHILMNORSX' else 'a'} {word}"
    return f"{'an' if word[:1] in 'AEIOUaeiou' else 'a'} {word}"


def is_int(v) -> bool:
    """A JSON integer as read back: a Python int, not a bool."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A JSON number as read back: a Python int or float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_dtype(dtype, where: str = "lstmkit") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in FLOAT_DTYPES:
        fail(where, "dtype", "numpy.float32 or numpy.float64", repr(dtype), exc=TypeError)
    return dt


def _integer(v) -> bool:
    """An integer, NumPy's included, not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    """A real or integer number, NumPy's included, not a bool (finite or not): what
    :func:`check_real` takes, and what :func:`lstmkit.losses.check_class_weight` asks of each of
    a mapping's weights before naming the first that is not one."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def check_int(value, where: str, arg: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as int; reject bools, floats and values below ``minimum``."""
    if not _integer(value):
        fail(where, arg, "an integer", f"{type(value).__name__} {value!r}", exc=TypeError)
    value = int(value)
    if minimum is not None and value < minimum:
        fail(where, arg, f">= {minimum}", value)
    return value


def check_bool(value, where: str, arg: str, *, none: bool = False) -> bool | None:
    """Return ``value`` as a Python bool: True or False (NumPy's bool too). Anything else, a str
    ("false", which ``bool()`` reads as True), an integer (1, 0), a float or None, raises TypeError
    naming ``arg``, as torch refuses ``batch_first="false"``: a flag is never read from a value's
    truthiness. With ``none``, None is taken too (and returned), and the message says so. The one
    check of every flag of the layers, the models and the estimators."""
    if none and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        fail(where, arg, "None, True or False" if none else "True or False", f"{value!r:.80}", exc=TypeError)
    return bool(value)


def check_choice(value, choices, where: str, arg: str) -> str:
    """Return ``value`` if it is one of the strings ``choices`` (matched exactly, as torch matches
    ``nonlinearity``); anything else raises ValueError listing them, with the choice meant where
    only the case differs (``head="Last"``: "Did you mean 'last'?")."""
    choices = list(choices)
    if not (isinstance(value, str) and value in choices):
        close = [c for c in choices if isinstance(value, str) and c.lower() == value.lower()]
        fail(where, arg, f"one of {choices}", f"{value!r:.80}", f"Did you mean {close[0]!r}?" if close else "")
    return value


def check_real(value, where: str, arg: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, none: bool = False) -> float | None:
    """Return ``value`` as float: a finite real number (not a bool) in the interval given.

    ``low``/``high`` bound it (None: unbounded), inclusive unless ``low_open``/``high_open``;
    the message names the interval, e.g. "a finite number in [0, 1)". With ``none``, None is
    taken too (and returned), and the message says so: "None or a finite number > 0". A number
    out of range raises ValueError, anything else TypeError.
    """
    if none and value is None:
        return None
    number = is_real(value)
    v = float(value) if number else math.nan
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        if low is not None and high is not None:
            what = f"a finite number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        elif low is not None:
            what = f"a finite number {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            what = f"a finite number {'<' if high_open else '<='} {high:g}"
        else:
            what = "a finite number"
        fail(where, arg, ("None or " if none else "") + what, repr(value), exc=ValueError if number else TypeError)
    return v


def check_float_array(x, where: str, arg: str, dtype: np.dtype, *, finite: bool = True, fix: str = "",
                      range_fix: str | None = None) -> np.ndarray:
    """Convert ``x`` to a C-contiguous array of ``dtype``.

    Accepts any real floating input (it is cast to ``dtype``); integer, boolean, complex and
    object inputs raise TypeError because silently treating labels or indices as features is a
    common mistake. Non-finite values raise ValueError when ``finite``, naming the first one and
    its index, followed by ``fix`` (how to mend the data, where the caller knows it). So does a
    finite value beyond ``dtype``'s range (1e39 given to a float32 model), naming the value given
    rather than the inf it would become, followed by ``range_fix`` (None: :func:`cast_float`'s advice);
    without ``finite`` it becomes inf, quietly, for the caller to check where it counts
    (:func:`check_finite_steps`).
    """
    if type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous:  # the common case, cheaply
        arr = x
    else:
        arr = _as_float_array(x, where, arg, dtype)  # cast quietly: one finite check below covers both
    if finite and not all_finite(arr):
        name_overflow(x, arr, dtype, where, arg, fix=range_fix)  # (before 'got inf' below)
        at = first_index(~np.isfinite(arr))
        fail(where, arg, "finite values", f"{arr[at]} at index {at}", fix)
    return arr


def name_overflow(given, arr: np.ndarray, dtype, where: str, arg: str, lengths: np.ndarray | None = None, *,
                  fix: str | None = None) -> None:
    """Refuse a finite value of ``given`` that the cast to ``arr`` (``given`` as
    :func:`check_float_array` makes it, of ``dtype``) made inf (1e39 to float32), named as given
    with the dtype's range (:func:`cast_float`'s refusal), where a later check would say 'got inf'.
    Nothing when ``arr`` is ``given`` itself (no cast) or all finite. With ``lengths`` (arr
    (n, T, ...) sequences): only within a sequence's length (past it, padding). The one rule of
    check_float_array (finite) and of the callers that check finiteness themselves, later
    (the Trainer's X, ``finite=False``: within the lengths). ``fix``: cast_float's."""
    if arr is not given and not all_finite(arr):
        valid = None if lengths is None else valid_steps(lengths, *arr.shape[:2])
        cast_float(np.asarray(_from_torch(given, where, arg)), dtype, where, arg, valid=valid, fix=fix)


def all_finite(arr: np.ndarray) -> bool:
    """Whether every value of the float array ``arr`` is finite."""
    # the sum of squares is finite when every value is (one BLAS pass, no temporary: 2.5x faster
    # than a sum at (100, 32, 128), 36 vs 90 µs); only when it is not, whether from a nan/inf or from
    # finite values overflowing (|x| > ~1.8e19 in float32, ~1.3e154 in float64), look value by value.
    # np.vdot, not np.dot: the same BLAS dot, as fast, but NumPy (2.4) does not report its overflow,
    # where np.dot warns "overflow encountered in dot" of a valid input (an error under -W error).
    # That rests on undocumented behaviour: np.dot checks the FPU's flags since NumPy 2.3
    # (numpy/numpy#28442), np.vdot does not (yet). A NumPy that reports vdot's overflow too fails
    # test_checks.py::test_huge_finite_inputs_are_taken_without_a_numpy_warning; the fix is then
    # np.errstate(over="ignore") around it, the documented way, which costs more where it counts:
    # measured (NumPy 2.4, this 2-core host), a stream step's arrays, (1, 3) to (32, 128) float32,
    # take 0.9-1.1 µs with vdot against 2.1-2.3 with errstate (np.isfinite(arr).all(): 1.5-2.1), of
    # a step's 5-14 µs; from ~1e5 values on, errstate's fixed cost is noise (409,600: 42 vs 45 µs)
    return math.isfinite(np.vdot(flat := arr.reshape(-1), flat)) or bool(np.isfinite(arr).all())


def first_index(bad: np.ndarray) -> tuple[int, ...]:
    """The index of the first True of ``bad``."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


def valid_steps(lengths: np.ndarray | None, n: int, T: int) -> np.ndarray:
    """(n, T) bool: step t of sequence i is within its length (every step without ``lengths``)."""
    if lengths is None:
        return np.ones((n, T), dtype=bool)
    return np.arange(T)[None, :] < lengths[:, None]


def check_lengths(lengths, n: int, T: int, where: str, arg: str = "lengths") -> np.ndarray:
    """``lengths`` (n,) integers in [1, T], one per sequence of a batch padded to T steps, as int64.

    The one check of the estimators, the Trainer and the recurrent layers: a wrong dtype is a
    TypeError, a wrong shape or a value out of range a ValueError naming the first such value and
    its index, with the fix for it (a length of 0: leave the empty sequence out; one above T: pad)."""
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        fail(where, arg, "an integer array", f"dtype {arr.dtype}", exc=TypeError)
    if arr.shape != (n,):
        fail(where, arg, f"shape ({n},), one length per sequence", f"shape {arr.shape}")
    bad = (arr < 1) | (arr > T)
    if bad.any():  # (an empty batch has none)
        i = int(np.argmax(bad))
        fix = ("A sequence has at least one step (lengths >= 1): leave the empty ones out of the batch." if arr[i] < 1 else
               "Pad the batch to the longest sequence.")  # fmt: skip
        fail(where, arg, f"values in [1, T={T}]", f"{arr[i]} at index {i}", fix)
    return arr.astype(np.int64)


def check_sequences(arr: np.ndarray, where: str, arg: str = "X", layout: str = "(n_samples, T, n_features)") -> None:
    """``arr`` a batch of sequences of ``layout`` (its number of axes) with at least one sample, one
    time step and (a 3-D layout) one feature, as scikit-learn refuses 0 samples; shared by the
    estimators and the Trainer. A 2-D array where a 3-D one is expected is told how to add the axis."""
    ndim = layout.count(",") + 1
    if arr.ndim != ndim:
        fix = ("For one feature per step use np.asarray(X)[..., None]; for a table of single vectors use "
               "np.asarray(X)[:, None, :] (np.asarray also turns a DataFrame into its array).") if (ndim, arr.ndim) == (3, 2) else ""
        fail(where, arg, f"a {ndim}-D array {layout}", f"{arr.ndim}-D shape {arr.shape}", fix)
    for size, what in zip(arr.shape, ("at least one sample", "at least one time step", "at least one feature")):
        if size == 0:
            fail(where, arg, f"{what} (shape {layout})", f"shape {arr.shape}")


def at_sample(at: tuple[int, ...], steps: bool) -> str:
    """An index of a batch with the sample (and the step) it is: "(3, 2, 0) (sample 3, step 2)"."""
    return f"{at} (sample {at[0]}" + (f", step {at[1]})" if steps else ")")


#: how to fix a NaN or inf among the targets (the estimators' y, the Trainer's Y)
MISSING_TARGETS = "Drop the samples with missing targets (per step: end the sequence before them, through lengths)."
#: how to fix a NaN or inf within a sequence's inputs
MISSING_INPUTS = "Remove or impute missing values first (values past a sequence's length, through lengths, are ignored and may be NaN)."


def check_finite_within(A: np.ndarray, valid: np.ndarray, where: str, arg: str, fix: str,
                        what: str = "finite values") -> np.ndarray:
    """``A`` (n, ...) with every value ``valid`` selects finite, ``valid`` (n,) (a row per sequence)
    or (n, T) (a step of a sequence), broadcast over A's trailing axes.

    A NaN or inf where valid raises ValueError naming its index and its sample (and step). Values
    elsewhere (padding past a sequence's length) are ignored and may be NaN or inf: they are
    replaced by zeros in a copy (0 * NaN is NaN in a gradient); the caller's array is never
    written, and returned as it is when every value is finite. Labels of dtype object (the
    classifier's) are looked at for floats and returned as they are.
    """
    if A.dtype.kind == "O":
        nonfinite = lambda v: isinstance(v, (float, np.floating)) and not np.isfinite(v)  # noqa: E731
        bad = np.vectorize(nonfinite, otypes=[bool])(A) if A.size else np.zeros(A.shape, bool)
    elif A.dtype.kind in "fc":
        bad = ~np.isfinite(A)
    else:
        return A  # integers, bools, strings: nothing to be NaN
    steps = valid.ndim > 1
    valid = valid.reshape(valid.shape + (1,) * (A.ndim - valid.ndim))  # broadcast over trailing axes
    if (bad_valid := bad & valid).any():
        at = first_index(bad_valid)
        fail(where, arg, what, f"{A[at]} at index {at_sample(at, steps)}", fix)
    if A.dtype.kind == "O" or not bad.any():
        return A
    return np.where(valid, A, 0).astype(A.dtype, copy=False)  # the padding zeroed, in a copy


def check_finite_steps(X: np.ndarray, lengths: np.ndarray | None, where: str, arg: str = "X") -> np.ndarray:
    """X (n, T, F) floats with every value within a sequence's length finite; ``lengths`` (n,)
    already checked, or None (every step is within).

    A NaN or inf within a sequence's length raises ValueError naming its index, sample and step.
    Values past a sequence's length are ignored and may be NaN or inf (missing): such padding is
    replaced by zeros in a copy, as the gradient dW_ih = dZ^T X would turn 0 * NaN into NaN; the
    caller's array is never written, and returned as it is when every value is finite
    (:func:`check_finite_within`). Shared by the estimators and the Trainer, so that both take the
    same data.
    """
    if all_finite(X):
        return X
    return check_finite_within(X, valid_steps(lengths, *X.shape[:2]), where, arg, MISSING_INPUTS)


def _as_float_array(x, where: str, arg: str, dtype: np.dtype) -> np.ndarray:
    """``x`` (a list, an array, a torch tensor) as a C-contiguous array of the float ``dtype``; a value
    beyond ``dtype``'s range becomes inf, quietly (the caller checks, :func:`check_float_array`)."""
    x = _from_torch(x, where, arg)
    try:
        arr = np.asarray(x)
    except ValueError:  # NumPy's "inhomogeneous shape": a list of sequences of different lengths
        if isinstance(x, (list, tuple)):
            fail(where, arg, "a real floating-point array", f"a ragged {type(x).__name__} (items of shapes {_shapes(x)})", RAGGED_FIX)
        raise
    if arr.dtype.kind == "O" and arr.ndim == 1 and any(np.ndim(v) > 0 for v in arr[:4]):  # sequences in an object array
        fail(where, arg, "a real floating-point array", f"an object array of arrays (shapes {_shapes(arr)})", RAGGED_FIX)
    if arr.dtype.kind != "f":
        fail(where, arg, "a real floating-point array", *_not_float(x, arr, arg, dtype), exc=TypeError)
    return cast_float(arr, dtype, where, arg, check=False)


def _not_float(x, arr: np.ndarray, arg: str, dtype) -> tuple[str, str]:
    """(got, fix) for ``x`` (as the caller gave it, as ``arg``), read as ``arr``, of no float dtype:
    an array's dtype and its .astype; a torch tensor's and its .float()/.double(); anything else
    (a list, a tuple, a number) said to be what it is, and numpy.asarray (a list has no .astype)."""
    if hasattr(x, "astype"):  # a NumPy array (a pandas object, ...)
        return f"dtype {arr.dtype}", "Convert it with .astype(numpy.float32) or .astype(numpy.float64)."
    m = type(x).__module__
    if m == "torch" or m.startswith("torch."):
        return f"dtype {arr.dtype}", "Convert it with .float() (float32) or .double() (float64)."
    name = arg if arg.isidentifier() else "x"
    return (f"{a_or_an(type(x).__name__)}, which NumPy reads as dtype {arr.dtype}",
            f"Make it a float array with numpy.asarray({name}, dtype=numpy.{np.dtype(dtype).name}).")


def cast_float(arr: np.ndarray, dtype, where: str, arg: str, *, valid: np.ndarray | None = None, check: bool = True,
               fix: str | None = None) -> np.ndarray:
    """A real numeric array ``arr`` as a C-contiguous array of the float ``dtype``, refusing (with
    ``check``) a finite value that the cast would make inf: a float64 beyond float32's range (1e39
    given to a float32 model), or a long double (numpy.longdouble) beyond float64's, named as given,
    where NumPy warns "overflow encountered in cast" and a later check would say 'got inf'. ``valid`` (broadcast over arr's trailing axes, (n, T)
    for sequences): only there (padding may hold anything); None: everywhere. Without ``check``
    such a value becomes inf, quietly. ``fix``: how to mend it where the caller knows better (a peer's
    file, read in the float type of its weights); None: scale the data down or compute in float64.
    The one rule for the arrays the engine takes (:func:`check_float_array`) and the estimators' X
    (any real numbers, integers too)."""
    if not _narrowing(arr, dtype):
        return np.ascontiguousarray(arr, dtype=dtype)  # no cast, a widening one, or integers: every value fits
    with np.errstate(over="ignore"):  # float64 to float32: the overflow, if any, is named below
        out = np.ascontiguousarray(arr, dtype=dtype)
    if check and not all_finite(out) and (at := overflow_at(arr, dtype, valid, out=out)) is not None:
        if fix is None:
            fix = ("Scale the data down, or compute in float64 (dtype=numpy.float64)." if np.dtype(dtype) == np.float32 else
                   "Scale the data down (float64 is the widest dtype lstmkit computes in).")  # fmt: skip
        # str, not format(): a long double's format() goes through a Python float, 1e600 -> "inf"
        fail(where, arg, f"values within {float_range(dtype)}", f"{arr[at]!s} at index {at}", fix)
    return out


def _narrowing(arr: np.ndarray, dtype) -> bool:
    """Whether casting ``arr`` to the float ``dtype`` may overflow: a float array of a wider type."""
    return arr.dtype.kind == "f" and arr.dtype.itemsize > np.dtype(dtype).itemsize


def overflow_at(arr: np.ndarray, dtype, valid: np.ndarray | None = None, *, out: np.ndarray | None = None) -> tuple[int, ...] | None:
    """The index of the first finite value of ``arr`` that a cast to the float ``dtype`` makes inf (a
    float64 1e39 to float32), or None. The one rule of a value beyond a dtype's range: a value just
    above the range's end that rounds down to it is within. ``valid`` as :func:`cast_float`'s;
    ``out``: the cast, where the caller has it."""
    if not _narrowing(arr, dtype):
        return None
    if out is None:
        with np.errstate(over="ignore"):
            out = arr.astype(dtype)
    over = np.isinf(out) & np.isfinite(arr)
    if valid is not None:
        over &= valid.reshape(valid.shape + (1,) * (arr.ndim - valid.ndim))
    return first_index(over) if over.any() else None


def float_range(dtype) -> str:
    """A float type's range as messages name it: "float32's range (±3.4e38)", "float64's range (±1.8e308)"."""
    return f"{np.dtype(dtype).name}'s range (±{np.finfo(dtype).max:.1e})".replace("e+", "e")


#: how to mend sequences of different lengths given as a list
RAGGED_FIX = "The sequences must be one array: pad them to the longest and pass lengths= (each one's number of steps)."


def _shapes(items) -> str:
    """The shapes of a ragged list's first items, for a message: "(3, 4), (2, 4)"."""
    out = []
    for v in list(items[:4]):
        try:
            out.append(str(tuple(v.shape) if hasattr(v, "shape") else np.shape(v)))
        except ValueError:  # itself ragged
            out.append("ragged")
    return ", ".join(out) + (", ..." if len(items) > 4 else "")


def _from_torch(x, where: str, arg: str):
    """A torch input as NumPy can read it, without importing torch: a tensor that requires grad is
    detached (the engine computes in NumPy and never back-propagates into torch: its result is a
    NumPy array, outside autograd, whatever the input; ``backward`` returns the gradient for the
    caller to pass on), one on a device other than the CPU is refused, as is a PackedSequence (its
    data is the steps of every sequence in one flat array: the padded tensor and lengths= say the same)."""
    t = type(x)
    m = t.__module__
    if not (m == "torch" or m.startswith("torch.")):  # torchvision's, torch_geometric's ... are not torch's
        return x
    if t.__name__ == "PackedSequence":
        fail(where, arg, "a real floating-point array", "a torch PackedSequence",
             "Pass the padded tensor and lengths= instead: x, lengths = torch.nn.utils.rnn.pad_packed_sequence(packed) "
             "(batch_first=True for a batch-first layer), then call the layer with (x, lengths=lengths).", exc=TypeError)  # fmt: skip
    device = getattr(x, "device", None)
    if device is not None and getattr(device, "type", "cpu") != "cpu":
        fail(where, arg, "an array in the CPU's memory", f"a torch tensor on {device}",
             "lstmkit computes in NumPy, on the CPU: pass tensor.cpu().", exc=TypeError)  # fmt: skip
    if getattr(x, "requires_grad", False):
        x = x.detach()
    return x


def describe_pair(value) -> str:
    """How a value given for a pair (an LSTM's hx = (h0, c0)) reads in a message: "a tuple of
    length 1", "an ndarray of shape (1, 2, 4)", "NoneType"."""
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{'an array' if isinstance(value, np.ndarray) else a_or_an(type(value).__name__)} of shape {tuple(shape)}"
    return type(value).__name__


def check_sample_weight(sample_weight, shapes, where: str, arg: str = "sample_weight") -> np.ndarray:
    """``sample_weight`` as float64 of one of ``shapes`` (tuples: (N,), one weight per sequence,
    as Keras' and scikit-learn's fit take it, and where the targets are per step (N, T) too, Keras'
    temporal weights), each entry finite and >= 0 (a step past a sequence's length too: give it
    any finite weight, 0 say; it weighs nothing there). A bool or non-numeric array raises
    TypeError; another shape, or a NaN, an inf or a negative weight (named with its index),
    ValueError. The one check of a sample weight: the losses', the Trainer's and the estimators'
    (fit's and score's)."""
    shapes = [tuple(int(d) for d in sh) for sh in shapes]
    w = np.asarray(_from_torch(sample_weight, where, arg))
    what = or_list([str(sh) for sh in shapes])
    if w.dtype.kind not in "iuf":
        got = f"dtype {w.dtype}" if w.ndim else f"{type(sample_weight).__name__} {sample_weight!r:.80}"
        fail(where, arg, f"an array of numbers of shape {what}", got, exc=TypeError)
    if w.shape not in shapes:
        per = "one weight per sequence" + (", or per step" if len(shapes) > 1 else "")
        fail(where, arg, f"shape {what} ({per})", f"shape {w.shape}")
    w = w.astype(np.float64)
    bad = ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        at = first_index(bad)
        fail(where, arg, "finite values >= 0", f"{w[at]} at index {at if w.ndim > 1 else at[0]}")
    return w


def check_shape(arr: np.ndarray, expected: tuple, where: str, arg: str, fix: str = "") -> None:
    """Raise ValueError unless ``arr.shape == expected``."""
    if tuple(arr.shape) != tuple(expected):
        fail(where, arg, f"shape {tuple(expected)}", f"shape {tuple(arr.shape)}", fix)


def check_clip(clip, where: str, arg: str = "clip"):
    """A clipping bound: None (no clipping) or a finite number > 0; returned as it is. Another
    number raises ValueError, anything else (a bool, a str) TypeError, naming ``arg``. The one
    rule for the gradient's global norm (the Trainer's, the estimators', the forecaster's and the
    text generator's ``clip``) and the LSTM variants' ``gate_clip`` and ``cell_clip``; infinity,
    which clips nothing, is refused, as a model file's JSON holds none (None says no clipping)."""
    check_real(clip, where, arg, low=0, low_open=True, none=True)
    return clip


def check_seed(seed, where: str, *, generator: bool = True):
    """A seed NumPy's SeedSequence takes: None or an integer >= 0, or with ``generator`` a
    numpy.random.Generator (whose draws seed the run); returned as it is, else TypeError (a
    negative integer: ValueError, as every other count's range). The estimators' (a Generator too)
    and the Trainer's (None or an integer) seed."""
    if not (seed is None or (_integer(seed) and seed >= 0) or (generator and isinstance(seed, np.random.Generator))):
        what = "None, an integer >= 0 or a numpy.random.Generator" if generator else "None or an integer >= 0"
        fail(where, "seed", what, f"{type(seed).__name__} {seed!r}", exc=ValueError if _integer(seed) else TypeError)
    return seed


def run_seed(seed) -> int | None:
    """A seed checked by :func:`check_seed` as the seed of one run: a Generator gives its next draw
    (an int in [0, 2**63), so that the run advances it and the next fit differs), None and an
    integer are returned as they are. What the estimators and the text generator pass on to the
    Trainer, which takes None or an integer only."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**63))
    return seed


def check_rng(seed, where: str = "lstmkit") -> np.random.Generator:
    """Turn ``None``, an integer >= 0 or a Generator into a ``numpy.random.Generator``; anything
    else raises TypeError (:func:`check_seed`; a negative integer ValueError), not NumPy's bare error."""
    if isinstance(check_seed(seed, where), np.random.Generator):
        return seed
    return np.random.default_rng(seed)
