"""The lstmkit model file: one documented format that loads without executing code.

A model file is an ``.npz`` written by :func:`lstmkit.io.save_arrays` (atomic; read back by
:func:`lstmkit.io.load_arrays`, which parses every header itself and never unpickles). Its JSON
metadata is exactly::

    {
      "format": "lstmkit-model",       # identifies the file
      "format_version": 1,              # files from a newer format are refused, not guessed at
      "lstmkit_version": "0.1.0",       # who wrote it (informational)
      "kind": "LSTMClassifier",         # what to rebuild (estimator or module class name)
      "config": {...},                  # constructor arguments / hyper-parameters (JSON)
      "extra": {...}                    # preprocessing: classes, scalers, vocabulary, ... (JSON)
    }

and its arrays are the weights under PyTorch-style names (``rnn.weight_ih_l0``, ``head.weight``,
...), every floating array finite. Readers validate every key, shape, dtype and value before
touching a model, so a failed load leaves the in-memory model as it was.

Bare modules (:func:`save_lstm` / :func:`load_lstm` / :func:`read_lstm`) use the kinds
``LSTM``, ``RNN``, ``LSTMCell``, ``RNNCell``; their ``config`` holds the constructor arguments
(``dtype`` as ``"float32"``/``"float64"``; no seed) and their arrays are::

    rnn.<name>     every entry of the module's state_dict (PyTorch's names and shapes)
    head.weight    (O, F)  optional read-out, F = D*P for LSTM/RNN (H for a cell): out = y W^T + b
    head.bias      (O,)    optional, only with head.weight

Inference from such a file needs NumPy only (``read_lstm(path).predict(x)``).

A :class:`lstmkit.models.SequenceModel` (``model.save(path)``; what a Keras model with
``return_sequences=False`` or an ONNX graph reading ``Y_h`` converts to) has kind
``SequenceModel``: its ``config`` is ``model.config()`` (head "all" or "last", read-out, inputs,
...) and its arrays its ``state_dict()`` (``rnn.*``, ``head.*``); ``lstmkit.load(path)`` reads it.
The estimators' kinds (``LSTMClassifier``, ...) keep the same arrays and their own ``config`` and
``extra``.
"""

from __future__ import annotations

import inspect
import os
from typing import Any, Mapping, NamedTuple

import numpy as np

from ._checks import a_or_an, all_finite, cast_float, fail, first_index
from .io import FileFormatError, load_arrays, read_meta, save_arrays

FORMAT = "lstmkit-model"
FORMAT_VERSION = 1
META_KEYS = ("format", "format_version", "lstmkit_version", "kind", "config", "extra")
#: kinds written by :func:`save_lstm`
MODULE_KINDS = ("LSTM", "RNN", "LSTMCell", "RNNCell")
#: the array names of every kind: the recurrent layer's and the read-out's weights; a file holding
#: another is refused from its zip directory, before anything is decompressed (lstmkit.io)
ARRAY_NAMES = ("rnn.*", "head.*")


class ModelFile(NamedTuple):
    kind: str
    config: dict[str, Any]
    arrays: dict[str, np.ndarray]
    extra: dict[str, Any]
    meta: dict[str, Any]


def save_model(
    path: str | os.PathLike,
    kind: str,
    config: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write a model file atomically. ``config`` and ``extra`` must be strict JSON (no NaN).

    Floating arrays must be finite: a file that the reader would refuse is never written.
    """
    from . import __version__

    for k, v in arrays.items():
        a = np.asarray(v)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"save_model: expected finite values in array {k!r}, got NaN or infinity.")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lstmkit_version": __version__,
        "kind": str(kind),
        "config": dict(config),
        "extra": dict(extra or {}),
    }
    save_arrays(path, arrays, meta)


def read_model(path: str | os.PathLike, kind: str | tuple[str, ...] | None = None) -> ModelFile:
    """Read and validate a model file's envelope.

    Raises :class:`lstmkit.io.FileFormatError` when the file is not an lstmkit model, was written by
    a newer format version, has unknown or ill-typed metadata keys, holds an array not named
    ``rnn.*`` or ``head.*`` (:data:`ARRAY_NAMES`; refused before any array is decompressed) or a
    non-finite floating array, or (if ``kind`` is given) holds another kind of model. Shapes are
    checked by the loader of each kind (``Module.load_state_dict`` checks every key and shape).
    A training checkpoint is refused as one, saying how to get its model (:func:`training_checkpoint`).
    """
    try:
        arrays, meta = load_arrays(path, names=ARRAY_NAMES)
    except FileFormatError:
        checkpoint = training_checkpoint(path)
        if checkpoint is not None:
            raise FileFormatError(not_a_model_file(path, checkpoint)) from None
        raise
    if meta.get("format") != FORMAT:
        raise FileFormatError(f"{path}: expected an lstmkit model file (format {FORMAT!r}), got format {meta.get('format')!r}.")
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FileFormatError(f"{path}: expected an integer format_version >= 1, got {version!r}.")
    if version > FORMAT_VERSION:
        raise FileFormatError(
            f"{path}: expected format_version <= {FORMAT_VERSION}, got {version} "
            f"(written by lstmkit {meta.get('lstmkit_version')!r}). Upgrade lstmkit to read it."
        )
    unknown = sorted(set(meta) - set(META_KEYS))
    if unknown:
        raise FileFormatError(f"{path}: expected metadata keys {list(META_KEYS)}, got unknown keys {unknown}.")
    if not isinstance(meta.get("lstmkit_version"), str):
        raise FileFormatError(f"{path}: expected lstmkit_version as a string, got {meta.get('lstmkit_version')!r}.")
    file_kind = meta.get("kind")
    if not isinstance(file_kind, str):
        raise FileFormatError(f"{path}: expected a model kind (string), got {file_kind!r}.")
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted is not None and file_kind not in wanted:
        raise FileFormatError(f"{path}: expected a model of kind {' or '.join(wanted)}, got {file_kind}.")
    config, extra = meta.get("config", {}), meta.get("extra", {})
    if not isinstance(config, dict) or not isinstance(extra, dict):
        raise FileFormatError(
            f"{path}: expected JSON objects for config and extra, got {type(config).__name__} and {type(extra).__name__}."
        )
    check_finite(path, arrays)
    return ModelFile(file_kind, config, arrays, extra, meta)


def check_finite(path, arrays: Mapping[str, np.ndarray], prefix: str = "") -> None:
    """Refuse (FileFormatError) a floating array of the file ``path`` holding NaN or infinity, naming the
    array (its name in the file: ``prefix`` + its key) and the first such value and its index."""
    for k, a in arrays.items():
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
            raise FileFormatError(f"{path}: expected finite values in array {prefix + k!r}, got {a[bad]} at index {bad}.")


def training_checkpoint(path: str | os.PathLike) -> dict[str, Any] | None:
    """The metadata of ``path`` when it is a training checkpoint (:mod:`lstmkit.checkpoint`: arrays under
    ``model/``, ``optim/`` and ``best/``, format ``"lstmkit-checkpoint"``), told from its zip directory
    and its metadata alone (:func:`lstmkit.io.read_meta`: every entry's name checked, none
    decompressed); None when it is not one."""
    from .checkpoint import ARRAY_NAMES as CHECKPOINT_ARRAYS, FORMAT as CHECKPOINT_FORMAT

    try:
        meta = read_meta(path, names=CHECKPOINT_ARRAYS)
    except FileFormatError:
        return None
    return meta if meta.get("format") == CHECKPOINT_FORMAT else None


def not_a_model_file(path, checkpoint: Mapping[str, Any]) -> str:
    """What a reader of model files says of a training checkpoint (its metadata ``checkpoint``): what it
    is, and the two ways to a model, finishing the run or taking its weights as they are."""
    epoch = checkpoint.get("epoch")
    epoch = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None
    now = "" if epoch is None else f"; --epochs {epoch} writes it as it is now"
    return (f"{path}: expected a model file, got a training checkpoint (the weights and optimizer state of a run"
            f"{'' if epoch is None else f' at epoch {epoch}'}, to resume it). For its model, finish the run (the same "
            f"'lstmkit train' command with --checkpoint {path} writes --model-out{now}), or take its weights as they are: "
            f"'lstmkit convert {path} model.npz' (lstmkit.saving.checkpoint_model in Python).")  # fmt: skip


# -- bare modules --------------------------------------------------------------------------------
def _module_classes() -> dict[str, type]:
    from .cell import LSTMCell, RNNCell
    from .recurrent import LSTM, RNN

    return {"LSTM": LSTM, "RNN": RNN, "LSTMCell": LSTMCell, "RNNCell": RNNCell}


def _is_kind(cls: type) -> bool:
    """Whether ``cls`` is one of the kinds of a module file itself (not a subclass, not one named alike)."""
    return _module_classes().get(cls.__name__) is cls


def _to_json(value):
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def module_config(module) -> dict[str, Any]:
    """The constructor arguments of ``module`` as JSON (every ``__init__`` parameter but ``seed``).

    Read from the same-named attributes (or ``module.variant``'s), so options added to a class
    later are saved as well;
    keyword-only options still at their default (the LSTM variants) are left out.
    """
    sig = inspect.signature(type(module).__init__)
    config = {}
    for name in sig.parameters:
        if name in ("self", "seed") or sig.parameters[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        param = sig.parameters[name]
        variant = getattr(module, "variant", None)  # the variant options live in module.variant
        if hasattr(module, name):
            value = getattr(module, name)
        elif variant is not None and hasattr(variant, name):
            value = getattr(variant, name)
        else:
            raise ValueError(f"module_config: expected {type(module).__name__} to keep its argument {name!r} as an attribute, got none.")
        if param.kind is inspect.Parameter.KEYWORD_ONLY and _to_json(value) == _to_json(param.default):
            continue  # options left at their default (the variants) are not written
        config[name] = _to_json(value)
    return config


def readout_mapping(readout):
    """The read-out as save_lstm and to_onnx take it: a mapping (``{"weight": (O, F), "bias": (O,)}``,
    nn.Linear's names) is returned as it is; another object with a ``state_dict()`` (an
    :class:`lstmkit.Linear`, a ``torch.nn.Linear``) gives its ``state_dict()``; anything else is
    returned unchanged, for the caller to refuse."""
    if hasattr(readout, "state_dict") and not isinstance(readout, Mapping):
        return readout.state_dict()
    return readout


def _readout_arrays(readout, n_features: int, where: str, dtype=None, *, from_file: bool = False,
                    call: str = "path, module, readout=", range_fix: str | None = None) -> dict[str, np.ndarray]:
    """Validate a read-out (mapping with ``weight`` (O, F), O >= 1, and optional ``bias`` (O,)) and
    return its arrays keyed ``head.weight`` (O, F) and ``head.bias`` (O,). With ``dtype`` (the
    module's), refuse a value beyond its range (a float64 1e39 for a float32 module:
    :func:`~lstmkit._checks.cast_float`'s words, or ``range_fix``), which would be read as inf. ``from_file``
    (read_lstm): the arrays are returned cast to ``dtype`` and named by their keys in the file
    (``head.weight``); otherwise (save_lstm, to_onnx, to_keras) as given, named ``readout['weight']``,
    NaN and inf refused, and a read-out of the wrong type answered with ``where(<call>{"weight": W, "bias": b})``."""
    if readout is None:
        return {}
    given, readout = readout, readout_mapping(readout)
    if not isinstance(readout, Mapping) or "weight" not in readout:
        got = type(given).__name__  # what the caller passed, not the state_dict() taken from it
        if given is not readout:  # an object with a state_dict() that is no read-out's (an LSTM, say)
            got += ", whose state_dict() has no 'weight'/'bias' of a read-out"
        elif isinstance(readout, Mapping):
            got += f" with keys {sorted(map(str, readout))}"
        raise TypeError(f"{where}: expected readout as a mapping with 'weight' (O, F) and optional 'bias' (O,) "
                        f"or an object with such a state_dict() (lstmkit.Linear, torch.nn.Linear), got {got}."
                        + ("" if from_file else f" Pass the read-out's weight and bias: {where}({call}{{\"weight\": W, \"bias\": b}})"
                           " or a Linear (readout=linear)."))  # fmt: skip
    unknown = sorted(set(readout) - {"weight", "bias"})
    if unknown:
        raise ValueError(f"{where}: expected readout keys 'weight' and 'bias', got unknown keys {unknown}.")
    W = np.asarray(readout["weight"])
    if W.dtype.kind != "f" or W.ndim != 2 or W.shape[0] < 1 or W.shape[1] != n_features:
        raise ValueError(
            f"{where}: expected readout['weight'] a float array of shape (O, {n_features}) with O >= 1, got dtype {W.dtype} shape {W.shape}."
        )
    out = {"head.weight": W}
    if readout.get("bias") is not None:
        b = np.asarray(readout["bias"])
        if b.dtype.kind != "f" or b.shape != (W.shape[0],):
            raise ValueError(f"{where}: expected readout['bias'] a float array of shape ({W.shape[0]},), got dtype {b.dtype} shape {b.shape}.")
        out["head.bias"] = b
    if not from_file:  # a file's NaN is the reader's to name, by the file's key
        for k, a in out.items():
            if not all_finite(a):
                at = first_index(~np.isfinite(a))
                fail(where, f"readout[{k[5:]!r}]", "finite values", f"{a[at]} at index {at}")
    if dtype is not None:
        fix = range_fix  # save_lstm: None, cast_float's advice (scale the data down, or compute in float64)
        if from_file:  # the file's read-out is read in its model's float type
            fix = ("The read-out is read in the model's float type: save the model in float64 (dtype=numpy.float64), or scale the read-out down."
                   if np.dtype(dtype) == np.float32 else "Scale the read-out down (float64 is the widest dtype lstmkit computes in).")  # fmt: skip
        cast = {k: cast_float(a, dtype, where, k if from_file else f"readout[{k[5:]!r}]", fix=fix) for k, a in out.items()}
        if from_file:
            return cast
    return out


def _n_features(module) -> int:
    """F, the size of the vector a read-out sees: D*P for LSTM/RNN, H for a cell."""
    if hasattr(module, "num_directions"):
        return module.num_directions * module.output_size
    return module.hidden_size


def _not_a_kind_fix(cls: type, op: str) -> str:
    """The fix for a module of ``cls``, which is none of the kinds of a module file, given to
    ``save_lstm``/``.save`` (``op="save"``) or ``.load`` (``op="load"``); "" for a class it has none
    for. A Linear is saved as a module file's read-out. A subclass of a kind (``class MyLSTM(LSTM)``) is
    refused rather than written as its base kind: it would be read back as the base class, without
    its own ``__init__``, ``forward`` or attributes; its weights go in a state_dict file, as torch's
    do (``numpy.savez``; ``numpy.load`` reads it without pickle). Loading, the file is read as its
    base kind (``LSTM.load(path)``) and its ``state_dict()`` loaded into a new subclass module."""
    from .layers import Linear

    if issubclass(cls, Linear):  # .load: the caller's own "load the model that holds it"
        return "A Linear is saved as the read-out of a module: save_lstm(path, module, readout=linear)." if op == "save" else ""
    base = next((k for k in _module_classes().values() if issubclass(cls, k)), None)
    if base is None:
        return ""
    start = f"A subclass of {base.__name__} has no module file (it would read back as {a_or_an(base.__name__)}, without its own code): "
    if op == "load":  # the caller has a file of the base kind and no module yet
        return (start + f"read the file as {a_or_an(base.__name__)} and load its weights into a new {cls.__name__}: "
                f"m = {cls.__name__}(...); m.load_state_dict(lstmkit.{base.__name__}.load(path).state_dict()).")  # fmt: skip
    return (start + f"save its weights, numpy.savez(path, **m.state_dict()), and load them into a new {cls.__name__}: "
            f"m.load_state_dict(dict(numpy.load(path))).")  # fmt: skip


def save_lstm(path: str | os.PathLike, module, readout=None, extra: Mapping[str, Any] | None = None) -> None:
    """Save a bare ``LSTM``/``RNN``/``LSTMCell``/``RNNCell`` (and an optional read-out) to ``path``.

    ``readout`` is ``{"weight": (O, F), "bias": (O,)}`` (nn.Linear's names) or an object with such a
    ``state_dict()``; ``extra`` is JSON preprocessing information kept alongside. See module doc.
    """
    kind = type(module).__name__
    if not _is_kind(type(module)):
        from .module import Module

        if isinstance(module, (str, os.PathLike)):
            fix = " The path comes first: save_lstm(path, module, readout=None)."
        elif kind == "SequenceModel" or (not isinstance(module, Module) and callable(getattr(module, "save", None))):
            fix = f" Use its own .save(path): {kind}.save writes the whole model, lstmkit.load(path) reads it back."
        else:  # a Linear, a subclass of a module kind, another module
            fix = _not_a_kind_fix(type(module), "save")
            fix = " " + fix if fix else ""
        raise TypeError(f"save_lstm: expected module an lstmkit {', '.join(MODULE_KINDS)}, got {kind}.{fix}")
    arrays = {f"rnn.{k}": v for k, v in module.state_dict().items()}
    arrays.update(_readout_arrays(readout, _n_features(module), "save_lstm", module.dtype))
    save_model(path, kind, module_config(module), arrays, extra)


class LSTMFile(NamedTuple):
    """What :func:`read_lstm` returns: the rebuilt module, its read-out (or None) and ``extra``."""

    module: Any
    readout: dict[str, np.ndarray] | None
    extra: dict[str, Any]

    def predict(self, x, lengths=None):
        """Inference with NumPy only: the module's output, then ``out = y W^T + b`` if a read-out.

        For LSTM/RNN: x as the module takes it ((T, B, I), (B, T, I) with batch_first, or (T, I));
        returns (T, B, O) (or the module's y (T, B, D*P) without read-out). For a cell: x (B, I),
        returns (B, O) or h (B, H). Runs in eval mode without keeping activations.
        """
        from .module import _EvalMode

        m = self.module
        # eval mode and no-grad depth-counted, so calls overlapping in threads on one file's model never
        # see dropout on (each restoring what it saw on entry turned it on under another's feet)
        with _EvalMode(m), m.no_grad():
            if hasattr(m, "num_directions"):
                y, _ = m(x, lengths=lengths)
            else:
                out = m(x)
                y = out[0] if isinstance(out, tuple) else out
        if self.readout is None:
            return y
        z = y @ self.readout["weight"].T.astype(y.dtype)
        if "bias" in self.readout:
            z = z + self.readout["bias"].astype(y.dtype)
        return z


def check_model_config(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray], path="", kind: str = "SequenceModel") -> None:
    """Before a model is built from a file: the sizes in its config must be those of its arrays.

    The one rule for every model file, so that what a corrupt or hostile config makes a constructor
    allocate is bounded by what the file holds (no ``hidden_size=10**9`` over 3-unit weights):
    :func:`read_lstm` (``kind`` one of :data:`MODULE_KINDS`, ``config`` the module's constructor
    arguments), ``SequenceModel.load`` / ``lstmkit.load`` (``kind="SequenceModel"``, ``config`` =
    ``model.config()``), the estimators, the forecaster and the text generator (their stored
    SequenceModel config).

    ``arrays``: the file's ``rnn.*`` (and ``head.*``) weights. With G = 4 gates for an LSTM (cell
    ``"lstm"``, kinds LSTM/LSTMCell), 1 for an RNN, and ``rnn.weight_ih_l0`` (G*H, I),
    ``rnn.weight_hh_l0`` (G*H, P) (a cell's ``rnn.weight_ih`` / ``rnn.weight_hh``):

    - ``hidden_size`` = H, ``input_size`` = I; each size an int, not a bool or a float (``True == 1.0 == 1``);
    - ``num_layers`` (not for a cell) = the number of layers k with an ``rnn.weight_ih_l<k>``;
    - ``proj_size`` (LSTM, not a cell; SequenceModel: in ``lstm_options``) = P if P != H, else 0 (torch's
      rule: a projection is smaller than H);
    - SequenceModel with ``readout="linear"``: ``output_size`` = the rows of ``head.weight``.

    Raises :class:`FileFormatError` naming ``path`` and the key: "<path>: expected model config
    hidden_size = 3 (from the weights' shapes), got 100. <how to fix>".
    """
    fix = "The file's config and weights disagree (edited or corrupt): save the model again."
    if not isinstance(config, Mapping):
        raise FileFormatError(f"{path}: expected the model's config as a JSON object, got {type(config).__name__}. {fix}")
    model = kind == "SequenceModel"
    cell = kind.endswith("Cell")
    lstm = config.get("cell", "lstm") == "lstm" if model else kind.startswith("LSTM")
    G, suffix = (4 if lstm else 1), ("" if cell else "_l0")
    w_ih, w_hh = arrays.get(f"rnn.weight_ih{suffix}"), arrays.get(f"rnn.weight_hh{suffix}")
    for name, w in ((f"rnn.weight_ih{suffix}", w_ih), (f"rnn.weight_hh{suffix}", w_hh)):
        if w is None or w.ndim != 2:
            raise FileFormatError(f"{path}: expected a 2-D array {name} for {a_or_an(kind)}, got {None if w is None else w.shape}. {fix}")
    if w_hh.shape[0] % G:
        raise FileFormatError(f"{path}: expected rnn.weight_hh{suffix} with {G}*H rows for {a_or_an(kind)}, got shape {w_hh.shape}. {fix}")
    H = w_hh.shape[0] // G
    expected = {"hidden_size": (H, "shapes"), "input_size": (w_ih.shape[1], "shapes")}
    if not cell:
        expected["num_layers"] = (next(k for k in range(1, len(arrays) + 2) if f"rnn.weight_ih_l{k}" not in arrays), "names")
    options = config.get("lstm_options") if model else config
    if lstm and not cell and isinstance(options, Mapping):  # a SequenceModel's lstm_options of another type: its constructor says so
        expected["proj_size"] = (0 if w_hh.shape[1] == H else w_hh.shape[1], "shapes")
    if model and config.get("readout", "linear") == "linear":
        head = arrays.get("head.weight")
        if head is None or head.ndim != 2:
            raise FileFormatError(f"{path}: expected a 2-D array head.weight for a linear read-out, got {None if head is None else head.shape}. {fix}")
        expected["output_size"] = (head.shape[0], "shapes")
    for key, (value, source) in expected.items():
        got = options.get(key, 0) if key == "proj_size" else config.get(key, 1 if key == "num_layers" else None)
        if not isinstance(got, int) or isinstance(got, bool) or got != value:  # 3.0 and True are not sizes
            where = "model config " + ("lstm_options " if model and key == "proj_size" else "")
            raise FileFormatError(f"{path}: expected {where}{key} = {value} (from the weights' {source}), got {got!r}. {fix}")


def read_lstm(path: str | os.PathLike) -> LSTMFile:
    """Read a file written by :func:`save_lstm` into a new module; NumPy only.

    Every metadata key, config key, array name, shape and value is checked; any problem raises
    :class:`FileFormatError` naming it.
    """
    return _read_lstm(path, MODULE_KINDS)


def _read_lstm(path, kinds: tuple[str, ...]) -> LSTMFile:
    """:func:`read_lstm` of a file whose kind is one of ``kinds`` (``LSTM.load``: its own only)."""
    mf = read_model(path, kinds)
    cls = _module_classes()[mf.kind]
    sig = inspect.signature(cls.__init__).parameters
    params = set(sig) - {"self", "seed"}
    unknown = sorted(set(mf.config) - params)
    if unknown:
        raise FileFormatError(f"{path}: expected {mf.kind} config keys among {sorted(params)}, got unknown keys {unknown}.")
    for k, v in mf.config.items():  # a flag is true or false, not "false" (which bool() reads as True)
        if isinstance(sig[k].default, bool) and not isinstance(v, bool):
            raise FileFormatError(f"{path}: expected {mf.kind} config {k} true or false, got {v!r}.")
    rnn = {k[4:]: v for k, v in mf.arrays.items() if k.startswith("rnn.")}
    head = {k[5:]: v for k, v in mf.arrays.items() if k.startswith("head.")}
    for k, a in mf.arrays.items():
        if a.dtype.kind != "f":
            raise FileFormatError(f"{path}: expected a float32/float64 array {k!r}, got dtype {a.dtype}.")
    check_model_config(mf.config, mf.arrays, path, mf.kind)
    try:
        module = cls(**mf.config, seed=0)
    except (TypeError, ValueError) as exc:
        raise FileFormatError(f"{path}: expected a valid {mf.kind} config, got an error: {exc}") from None
    try:
        module.load_state_dict(rnn)
        readout = _readout_arrays(head or None, _n_features(module), "read_lstm", module.dtype, from_file=True)
        ro = {k[5:]: v for k, v in readout.items()} if readout else None
    except (TypeError, ValueError, KeyError) as exc:
        msg = exc.args[0] if exc.args else exc
        raise FileFormatError(f"{path}: {msg}") from None
    return LSTMFile(module, ro, mf.extra)


def load_lstm(path: str | os.PathLike, into=None):
    """Load a bare module saved by :func:`save_lstm`; returns the module.

    With ``into`` (an existing module of the same kind and config) the weights are copied into it,
    all or nothing: on any error ``into`` is left exactly as it was; another config is refused
    naming each setting that differs, the file's value and into's. The read-out, if any, is in
    :func:`read_lstm`'s result.
    """
    loaded = read_lstm(path).module
    if into is None:
        return loaded
    want, got = module_config(into), module_config(loaded)
    if type(into) is not type(loaded):
        raise FileFormatError(
            f"{path}: expected {a_or_an(type(into).__name__)} with config {want}, "
            f"got {a_or_an(type(loaded).__name__)} with config {got}."
        )
    if want != got:  # the settings that differ, not both whole configs
        params = inspect.signature(type(into).__init__).parameters
        value = lambda config, k: config[k] if k in config else _to_json(params[k].default)  # noqa: E731 (a variant at its default is not written)
        keys = [*want, *(k for k in got if k not in want)]
        differ = [f"{k} {value(got, k)!r} where into has {value(want, k)!r}" for k in keys if value(want, k) != value(got, k)]
        raise FileFormatError(
            f"{path}: expected {a_or_an(type(into).__name__)} of into's config, got one with {', '.join(differ)}. "
            f"Leave out into= (load_lstm(path) builds the module the file describes), or build into with the file's config."
        )
    into.load_state_dict(loaded.state_dict())
    return into

