"""The worked-example file: a small, human-editable TOML description of one hand calculation.

A worked example is what a slide deck works through: weights in one of the seeds' notations, an
input sequence, initial states, an optional read-out, and the numbers the author wrote down
(*claims*). ``lstmkit explain`` shows the computation, ``lstmkit check`` compares the claims with
it. The format (every key but ``weights`` and ``inputs.x`` is optional)::

    title    = "Seed 000: two units, A A B"
    source   = "seeds/000, Guo & Boyd-Graber"
    notation = "per_gate"            # "per_gate" (seed 000), "concat" (seeds 001/003) or "unit" (seed 002)
    hidden_size = 2                  # optional: H, else from the weights or h0 (an integer >= 1; at most
                                     #   MAX_HIDDEN = 64 where no weights, h0 or c0 give it; 1 in "unit")
    input_size  = 2                  # optional: I, checked against inputs.x (an integer >= 1)

    [weights]                        # per_gate: W_ii W_if W_ic W_io (H, I), W_hi W_hf W_hc W_ho (H, H),
    W_ii = [[4, 4], [2, 2]]          #   biases b_ii ... b_ho (H,), missing biases are 0
    ...                              # concat: W_i W_f W_c W_o (H, H+I) on [h_{t-1}, x_t], b_i ... b_o (H,)
                                     #         (the candidate's W_c, b_c may be written W_C, b_C, as printed;
                                     #         the candidate is c in both, never PyTorch's g: W_ig, W_g refused)
                                     # unit:   Wi1..Wi4, Ws1..Ws4, Bias1..Bias4 (one unit; 1 = forget,
                                     #         2 = candidate, 3 = input, 4 = output gate, as seed 002)
    [inputs]
    x      = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]   # (T, I); a flat list is a 1-input sequence;
                                     #   T at most MAX_STEPS = 1000
    labels = ["A", "A", "B"]         # names of the x_t (optional)
    h0     = [0.0, 0.0]              # initial short-term memory (zeros when missing)
    c0     = [0.0, 0.0]              # initial long-term memory  (zeros when missing)

    [options]                        # optional: an LSTM variant (equations in lstmkit.variants)
    peephole     = true              #   needs weights w_ci, w_cf, w_co (H,): z_i += w_ci*c_{t-1},
                                     #   z_f += w_cf*c_{t-1}, z_o += w_co*c_t (given vectors imply it)
    input_forget = true              #   CIFG: f_t = 1 - i_t (the forget gate's weights are unused)
    gate_clip    = 3.0               #   clip every gate pre-activation to [-3, 3] (ONNX clip)
    cell_clip    = 1.0               #   clip c_t to [-1, 1]
    activations  = ["hard_sigmoid", "tanh", "softsign"]   # (f, g, h), ONNX names or [name, alpha, beta]
    layer_norm   = true              #   LN of W_x x_t and W_h h_{t-1} (4H units) and of c_t; optional
                                     #   weights gamma_ih, gamma_hh (4H,), gamma_c, beta_c (H,)
                                     #   (default 1 and 0), in gate order i, f, c~, o
    zoneout_cell = 0.1               #   zoneout as at inference: c_t = z*c_{t-1} + (1-z)*c'_t
    zoneout_hidden = 0.1             #   h_t = z*h_{t-1} + (1-z)*h'_t

    [readout]                        # optional: y_t = softmax(W_y h_t + b_y), or softmax(h_t) without W_y
    targets = [0, 1, 1]              # the correct class at each step (optional)

    [[given]]                        # a value the example states instead of computing it (used only where
    step = 1                         #   the weights cannot compute it, e.g. a garbled matrix)
    name = "Wxh_o"
    value = [0.236, 0.407, 0.502]

    [[claims]]                       # a number the author wrote down; ``check`` verifies it
    step  = 1                        # 1-based time step (leave out for a parameter claim)
    name  = "i"                      # a quantity (see QUANTITIES and BACKWARD_QUANTITIES) or a weight name;
                                     #   without a step: "loss" (L, summed over the steps) or "d" and a
                                     #   weight name ("dW_ii", "db_y"), a gradient as --grad shows it
                                     #   (seed 001's candidate: dW_C or its key dW_c)
    value = [1.0, 0.9]               # all units, or one unit with ``unit = 2``; strings keep "0.50"
    where = "slide 'Forwards at time step 1: i_1', eq. (14)"

A file may hold several examples as ``[[examples]]`` tables; top-level keys are their defaults.
Each entry of a claim is judged at the number of decimals it is written with (``[1.0, 0.88]``: 1.0
at one, 0.88 at two, at most MAX_DECIMALS = 100; a TOML number drops its trailing zeros, so write ``"0.50"`` as a string);
``decimals = N`` (an integer from 0 to 12) sets it for every entry; in an exercise (an ``[exercise]`` table with ``decimals``)
it is the exercise's, blanks included (an answer written with fewer decimals is told so);
an exercise's ``loss`` ("xent" or "sum_h") is the loss its gradients are of (``check`` and
``explain --grad`` use it unless told another).

The seeds' own examples (and the variants') ship with lstmkit, named ``builtin:seed000``, ``builtin:seed001``,
``builtin:seed002`` and ``builtin:variants`` (:mod:`lstmkit.worked`: the files ``lstmkit/worked/NAME.toml``,
linked from ``examples/NAME.toml`` in a checkout): :func:`load` takes such a name where it takes a path.
"""

from __future__ import annotations

import errno
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import worked as shipped
from .._checks import count, fail, is_int

GATES = ("i", "f", "g", "o")
#: how each notation names a gate (the candidate is "c" in the seeds, "g" in PyTorch)
SEED_LETTER = {"i": "i", "f": "f", "g": "c", "o": "o"}
#: seed 002 numbers its gates: 1 forget, 2 candidate ("potential long-term memory"), 3 input, 4 output
UNIT_INDEX = {"f": 1, "g": 2, "i": 3, "o": 4}
#: the names a notation's deck writes differently from the file's keys: seeds 001/003 print the
#: candidate's W_c, b_c as W_C, b_C (C~_t = tanh(W_C·[h_{t-1}, x_t] + b_C)); a file may use either
WRITTEN = {"concat": {"W_c": "W_C", "b_c": "b_C"}}
#: the reverse of WRITTEN: a written name's key
WRITTEN_KEY = {notation: {w: key for key, w in names.items()} for notation, names in WRITTEN.items()}

#: every per-step quantity, in the order a step computes them
QUANTITIES = (
    ("x", "h_prev", "c_prev")
    + tuple(f"{p}_{k}" for k in GATES for p in ("Wx", "Wh", "Wxh", "z"))
    + GATES
    + ("fc", "ig", "c", "tanh_c", "h", "logits", "y", "pred")
)
#: every per-step quantity of the backward pass (``explain --grad``), in the order a step computes
#: them (:mod:`lstmkit.explain.trace`): the step's loss term, dL/dlogits, dL_t/dh_t, the gradients
#: arriving from step t+1, then back through the cell; d{k}_dz is gate k's derivative from its output
BACKWARD_QUANTITIES = (
    ("loss", "dlogits", "dh_out", "dh_next", "dc_next", "dh", "do", "dtanh_c", "dc", "di", "df", "dg")
    + tuple(f"d{k}_dz" for k in GATES) + tuple(f"dz_{k}" for k in GATES) + ("dc_prev", "dh_prev", "dx")
)
_ALIASES = {
    "c~": "g", "ctilde": "g", "C~": "g", "c_tilde": "g", "c\u0303": "g", "C": "c", "C_prev": "c_prev",
    "tanh_C": "tanh_c", "tanh(c)": "tanh_c", "f*c_prev": "fc", "i*g": "ig", "i*c~": "ig",
    "probs": "y", "softmax": "y", "class": "pred",
    "dc~": "dg", "dc\u0303": "dg", "dC~": "dg", "dc~_dz": "dg_dz", "dL/dlogits": "dlogits", "dL/dh": "dh_out",
}
NOTATIONS = ("per_gate", "concat", "unit")
#: the largest ``hidden_size`` a file may state when nothing in it (weights, h0, c0) gives H: a worked
#: example is worked by hand (the seeds have 1 to 3 units), and every step's vectors are allocated and
#: printed at that size, so a 60-byte file stating 100000000 asked for gigabytes
MAX_HIDDEN = 64
#: the most time steps ``inputs.x`` may hold: every step's numbers are kept and ``explain`` prints them
#: (about 4 KB a step at 64 units), so a 40 KB file of 20000 one-number steps made ``check`` take
#: 830 MB and 12 s, ``explain`` over a minute; the seeds have 3 steps
MAX_STEPS = 1000
#: the losses of the backward pass: cross-entropy of the read-out at every step, or the sum of h_T
LOSSES = ("xent", "sum_h")
_TOP_KEYS = {"title", "source", "notation", "note", "hidden_size", "input_size", "weights", "inputs",
             "readout", "given", "claims", "examples", "exercise", "options"}
#: the [options] a worked example may set: the one-step variants, and zoneout as it acts at inference
#: (the dropouts and DropConnect act in training only and change nothing in a forward pass to explain)
OPTION_KEYS = ("peephole", "input_forget", "gate_clip", "cell_clip", "activations", "layer_norm",
               "zoneout_cell", "zoneout_hidden")
#: the variants' extra weights, in every notation: name -> (rows per hidden unit, what it is)
VARIANT_WEIGHTS = {
    "w_ci": (1, "peephole of the input gate on c_{t-1}"),
    "w_cf": (1, "peephole of the forget gate on c_{t-1}"),
    "w_co": (1, "peephole of the output gate on c_t"),
    "gamma_ih": (4, "layer-norm gain of W_x x_t (gate order i, f, c~, o)"),
    "gamma_hh": (4, "layer-norm gain of W_h h_{t-1}"),
    "gamma_c": (1, "layer-norm gain of c_t"),
    "beta_c": (1, "layer-norm shift of c_t"),
}
#: the engine's parameter name of each variant weight (LSTMCell; LSTM adds _l{k})
ENGINE_NAME = {"w_ci": "weight_ci", "w_cf": "weight_cf", "w_co": "weight_co", "gamma_ih": "ln_weight_ih",
               "gamma_hh": "ln_weight_hh", "gamma_c": "ln_weight_c", "beta_c": "ln_bias_c"}


def canonical_name(name: str) -> str:
    """Map a quantity name or alias (``c~``, ``C``, ``z_c~``) to its canonical name."""
    name = str(name).strip()
    if name in _ALIASES:
        return _ALIASES[name]
    for pre in ("Wx_", "Wh_", "Wxh_", "z_", "dz_"):
        if name.startswith(pre) and name[len(pre):] in _ALIASES:
            return pre + _ALIASES[name[len(pre):]]
        if name.startswith(pre) and name[len(pre):] == "c":
            return pre + "g"
    return name


@dataclass(frozen=True)
class Written:
    """One entry of a claim as written."""

    text: str  # "0.50" (a string keeps its digits), "1.0" (a TOML number: its shortest repr), "?" (a blank)
    decimals: int  # the precision it is written with (a blank: 0)
    quoted: bool  # a string; a TOML number loses its trailing zeros (0.50 reads 0.5)

    @property
    def answered(self) -> bool:
        return self.text != "?"


@dataclass(frozen=True)
class Claim:
    """A number (or vector) the example's author wrote down."""

    name: str  # canonical quantity name, or a weight name for a parameter claim
    value: np.ndarray  # float array (units,) or (rows, cols); NaN where a unit was left blank ("?")
    step: int | None = None  # 1-based step; None for a parameter claim
    unit: int | None = None  # 0-based unit when the claim is about one unit only
    decimals: int = 3  # the claim's precision: its most precise entry's, or the one fixed for all
    where: str = ""  # the place in the source ("slide 'Inputs'")
    answered: bool = True  # False for an exercise blank ("?")
    entries: tuple["Written", ...] = ()  # each entry as written, in the order of value flattened
    fixed: bool = False  # the precision is fixed for every entry (a ``decimals`` key, an exercise's)
    asked: int | None = None  # the exercise's precision, when it fixes the claim's

    def precision(self, k: int = 0) -> int:
        """The precision entry k (of the value flattened) is judged at: the decimals it is written
        with, or the claim's when they are fixed (and for a blank): [1.0, 0.88] is 1.0 at one decimal
        and 0.88 at two."""
        if self.fixed or k >= len(self.entries) or not self.entries[k].answered:
            return self.decimals
        return self.entries[k].decimals

    def written(self, k: int = 0) -> str:
        """Entry k as written ("" when not known)."""
        return self.entries[k].text if k < len(self.entries) else ""

    @property
    def is_param(self) -> bool:
        """A weight as printed somewhere (no step)."""
        return self.step is None and not self.is_total

    @property
    def is_total(self) -> bool:
        """The loss L or a parameter's gradient ("dW_ii"): a sum over the steps (no step)."""
        return self.step is None and (self.name == "loss" or self.name.startswith("d"))


@dataclass(frozen=True)
class Readout:
    """``y_t = softmax(W_y h_t + b_y)``; ``W_y`` None means ``y_t = softmax(h_t)`` (seed 000).

    A trained model's read-out (:mod:`lstmkit.explain.model`) may act at the last step only
    (``head="last"``, a label per sequence) and may be a regressor's: ``a_t = W_y h_t + b_y`` are
    the values, ``y_t = a_t * y_scale + y_mean`` the prediction in y's units (no softmax)."""

    W_y: np.ndarray | None = None  # (K, H)
    b_y: np.ndarray | None = None  # (K,)
    targets: tuple[int, ...] | None = None  # the correct class at each step
    classes: tuple[str, ...] | None = None  # class names (optional)
    head: str = "all"  # "all": at every step; "last": at step T only
    task: str = "classify"  # "classify": softmax and the class; "regress": the values themselves
    y_mean: np.ndarray | None = None  # "regress": (K,) added back after scaling (None: 0)
    y_scale: np.ndarray | None = None  # "regress": (K,) the standardised output's scale (None: 1)
    note: str = ""  # said beside the read-out ("a SequenceModel file does not say ...")

    def at(self, t: int, T: int) -> bool:
        """Whether the read-out acts at step t of T."""
        return self.head == "all" or t == T


@dataclass(frozen=True)
class GateParams:
    """One gate's parameters in the packed orientation; None where the example does not give them."""

    Wx: np.ndarray | None  # (H, I)  acts on x_t
    Wh: np.ndarray | None  # (H, H)  acts on h_{t-1}
    b: np.ndarray | None  # (H,)    total bias (b_i* + b_h* in seed 000's notation)


def short_title(title: str, most: int = 50) -> str:
    """``title`` quoted for a one-line repr, cut to ``most`` characters with an ellipsis."""
    return repr(title if len(title) <= most else title[: most - 1] + "…")


@dataclass(frozen=True)
class WorkedExample:
    """One worked example, validated; arrays are float64.

    Its repr is one line (title, notation, H, I, T, claims); ``lstmkit explain``'s text of it is
    :func:`lstmkit.explain.explain` (``print(explain(ex))``)."""

    title: str
    notation: str  # "per_gate" | "concat" | "unit"
    weights: dict[str, np.ndarray]  # as written, in the example's notation
    x: np.ndarray  # (T, I)
    h0: np.ndarray  # (H,)
    c0: np.ndarray  # (H,)
    gates: dict[str, GateParams]  # i, f, g, o
    readout: Readout | None = None
    claims: tuple[Claim, ...] = ()
    given: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None
    source: str = ""
    note: str = ""
    exercise: dict[str, Any] = field(default_factory=dict)
    variant: Any = None  # lstmkit.variants.LSTMVariant of the [options]; None: the plain cell

    def __repr__(self) -> str:  # the generated one printed every array: 14,436 characters for seed 000
        T, I = self.x.shape
        return (f"WorkedExample({short_title(self.title)}, {self.notation}, H={len(self.h0)}, I={I}, T={T}, "
                f"{count(len(self.claims), 'claim')}{'' if self.variant is None else ', a variant'})")

    @property
    def is_plain(self) -> bool:
        """True for the seeds' plain cell (no [options])."""
        return self.variant is None or self.variant.is_plain

    def variant_weight(self, name: str) -> np.ndarray:
        """A variant weight of :data:`VARIANT_WEIGHTS` as (rows*H,), with layer norm's defaults
        (gains 1, shift 0) where the example leaves them out."""
        n = VARIANT_WEIGHTS[name][0] * self.hidden_size
        if name in self.weights:
            return self.weights[name].reshape(n)
        return np.zeros(n) if name == "beta_c" else np.ones(n)

    def cell_options(self) -> dict[str, Any]:
        """The :class:`~lstmkit.cell.LSTMCell` keyword options of the variant (zoneout is not a
        cell option: :mod:`lstmkit.explain.trace` adds it)."""
        if self.is_plain:
            return {}
        v = self.variant
        return dict(peephole=v.peephole, input_forget=v.input_forget, gate_clip=v.gate_clip, cell_clip=v.cell_clip,
                    activations=v.activations, layer_norm=v.layer_norm)

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def input_size(self) -> int:
        return self.x.shape[1]

    @property
    def hidden_size(self) -> int:
        return self.h0.shape[0]

    @property
    def complete(self) -> bool:
        """True when every gate has all its weights: the engine's cell can compute every step."""
        return all(g.Wx is not None and g.Wh is not None for g in self.gates.values())

    def cell(self):
        """The engine's :class:`~lstmkit.cell.LSTMCell` (float64) for a complete example."""
        from ..cell import LSTMCell

        if not self.complete:
            missing = [k for k, g in self.gates.items() if g.Wx is None or g.Wh is None]
            fail(self.title, "weights", "for all four gates", f"none for {'gate' if len(missing) == 1 else 'gates'} {missing}",
                 "Give every gate's matrices to compute the whole cell.")
        packed = {
            "weight_ih": np.concatenate([self.gates[k].Wx for k in GATES]),
            "weight_hh": np.concatenate([self.gates[k].Wh for k in GATES]),
            "bias_ih": np.concatenate([self._bias(k) for k in GATES]),
            "bias_hh": np.zeros(4 * self.hidden_size),
        }
        if self.is_plain:
            return LSTMCell._from_packed(packed, np.float64)
        opts = self.cell_options()
        cell = LSTMCell(self.input_size, self.hidden_size, bias=True, dtype=np.float64, seed=0, **opts)
        names = (["w_ci", "w_cf", "w_co"] if opts["peephole"] else []) + (
            ["gamma_ih", "gamma_hh", "gamma_c", "beta_c"] if opts["layer_norm"] else [])
        packed.update({ENGINE_NAME[n]: self.variant_weight(n) for n in names})
        cell.load_state_dict(packed)
        return cell

    def _bias(self, k: str) -> np.ndarray:
        b = self.gates[k].b
        return np.zeros(self.hidden_size) if b is None else b

    def weight_label(self, k: str, part: str, written: bool = False) -> str:
        """The example's own name for gate k's ``part`` ("x", "h", "b", "W") in its notation: the key
        of :attr:`weights`. With ``written``, the name as the deck writes it, which ``explain`` and
        ``check`` print: the same but for the candidate in seeds 001/003's notation, W_C and b_C
        (C~_t = tanh(W_C·[h_{t-1}, x_t] + b_C)) where the file's keys are W_c and b_c.

        ``part`` "Wxh" names the weight of the one product W·[h_{t-1}, x_t] (the trace's ``Wxh_k``), as
        ``explain``'s tables and ``check`` print it: seeds 001/003's matrix (W_f, W_C written), else,
        where the example states that product, seed 000's letter (W_c; seed 002 has no such matrix)."""
        L = SEED_LETTER[k]
        if part == "Wxh":
            name = f"W_{L}"
        elif self.notation == "per_gate":
            name = {"x": f"W_i{L}", "h": f"W_h{L}", "b": f"b_{L}", "W": f"W_{L}"}[part]
        elif self.notation == "concat":
            name = {"x": f"W_{L}", "h": f"W_{L}", "b": f"b_{L}", "W": f"W_{L}"}[part]
        else:
            n = UNIT_INDEX[k]
            name = {"x": f"Wi{n}", "h": f"Ws{n}", "b": f"Bias{n}", "W": f"W{n}"}[part]
        return WRITTEN.get(self.notation, {}).get(name, name) if written else name

    def written_name(self, name: str) -> str:
        """A weight's key in this example, or its gradient's (``"d"`` and the key), as ``explain`` and
        ``check`` print it (:meth:`weight_label` with ``written``): ``dW_C`` and ``b_C`` for the
        file's ``dW_c`` and ``b_c`` in seeds 001/003's notation; every other name as it is."""
        d = "d" if name.startswith("d") else ""
        key = name[len(d):]
        return d + WRITTEN.get(self.notation, {}).get(key, key)


def weight_key(notation: str, name: str) -> str:
    """The key of a weight (or of its gradient: ``"d"`` and the name) written as ``explain`` and
    ``check`` print it (the reverse of :meth:`WorkedExample.written_name`): in seeds 001/003's
    notation the candidate's ``W_C``, ``b_C`` (``dW_C``, ``db_C``) are the keys ``W_c``, ``b_c``
    (``dW_c``, ``db_c``); every other name as it is (a file may name them either way)."""
    d = "d" if name.startswith("d") else ""
    w = name[len(d):]
    return d + WRITTEN_KEY.get(notation, {}).get(w, w)


def weight_name_fix(notation: str, name: str) -> str:
    """How to write a weight name the notation does not have, for its refusal: PyTorch's letter of
    the candidate (``W_ig``, ``W_hg``, ``b_ig``, ``b_hg``; ``W_g``, ``b_g``) is the seeds' ``c``
    (the gate c~_t, the quantity ``g``), else the notation list."""
    d = "d" if name.startswith("d") else ""
    w = name[len(d):]
    if _gate_letter(notation, w) != "g":
        return "See the notation list at the top of lstmkit.explain.worked."
    if notation == "per_gate":
        return (f"The candidate c~_t's weights are W_ic, W_hc, b_ic, b_hc in this notation (the seeds' letter; "
                f"PyTorch's W_ig is W_ic): write {d}{w[:3]}c.")
    return (f"The candidate c~_t's weights are W_c and b_c (or W_C, b_C) in this notation (the seeds' letter; "
            f"PyTorch's g is c): write {d}{w[:2]}c.")


# -- reading ---------------------------------------------------------------------------------
def require_example(ex, where: str) -> None:
    """TypeError unless ``ex`` is one WorkedExample (``load`` returns a list of them)."""
    if isinstance(ex, WorkedExample):
        return
    if isinstance(ex, (list, tuple)) and ex and all(isinstance(e, WorkedExample) for e in ex):
        fail(where, "ex", "one WorkedExample", f"a {type(ex).__name__} of {len(ex)}",
             "load() returns every example of the file: pass one, e.g. load(path)[0].", exc=TypeError)  # fmt: skip
    fail(where, "ex", "a WorkedExample (from lstmkit.explain.load or from_dict)", type(ex).__name__, exc=TypeError)


#: the byte-order marks of the Unicode encodings other than UTF-8, UTF-32's first (UTF-32-LE's begins as UTF-16-LE's)
_UTF_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32", b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}


def load(path: str | Path) -> list[WorkedExample]:
    """Read a worked-example TOML file; returns its examples (one, or several ``[[examples]]``).
    ``path`` is a file's path or a built-in example's name, ``"builtin:seed000"``
    (:func:`lstmkit.worked.resolve`; an unknown ``builtin:`` name is a ValueError that lists them).
    The file is UTF-8, with or without a byte-order mark (UTF-16 or UTF-32 text is refused, saying so).
    A file it cannot read as one raises ValueError or KeyError naming the place (OSError: it cannot
    be opened; a missing file's names the built-in examples too), never TypeError, so that
    ``lstmkit check`` tells it (exit 2) from a bug."""
    name = shipped.resolve(path)
    if name is not None:
        where = shipped.PREFIX + name
        raw = shipped.read_bytes(name)
    else:
        path = Path(path)
        where = str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise FileNotFoundError(errno.ENOENT, f"{exc.strerror} (lstmkit's own worked examples are "
                                    f"{', '.join(shipped.full_names())})", str(path)) from None
    try:  # -sig: a byte-order mark (old Windows Notepad saves UTF-8 with one) is not part of the text
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{where}: expected a TOML worked-example file, got a syntax error: {exc}.") from None
    except UnicodeDecodeError:
        utf = next((name for bom, name in _UTF_BOMS.items() if raw.startswith(bom)), None)
        if utf:  # a text file in another Unicode encoding (Notepad's "Unicode" is UTF-16)
            raise ValueError(f"{where}: expected a TOML worked-example file in UTF-8, got {utf} text. Save it "
                             "as UTF-8 (Notepad: Save as, Encoding UTF-8).") from None  # fmt: skip
        raise ValueError(f"{where}: expected a TOML worked-example file, got binary data. "
                         "A model file is explained with --model FILE --input SEQ.") from None  # fmt: skip
    return from_dict(data, where=where)


def from_dict(data: Mapping[str, Any], where: str = "worked example") -> list[WorkedExample]:
    """Build the examples of a parsed TOML document (see the module docstring)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        fail(where, "keys", f"among {sorted(_TOP_KEYS)}", f"unknown keys {unknown}", exc=KeyError)
    if "examples" in data:
        defaults = {k: v for k, v in data.items() if k != "examples"}
        out = []
        for n, ex in enumerate(_typed(data["examples"], "tables", where, "[[examples]]"), start=1):
            merged = {**defaults, **ex}
            out.append(_parse_one(merged, f"{where} [[examples]] #{n}"))
        return out
    return [_parse_one(data, where)]


def _array(v, where: str, arg: str, ndim: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    try:
        a = np.array(v, dtype=np.float64)
    except (TypeError, ValueError):
        fail(where, arg, "numbers (a number, a list, or a list of rows of equal length)", repr(v))
    if a.ndim not in ndim:
        fail(where, arg, f"{' or '.join(f'{d}-D' for d in ndim)} numbers", f"shape {a.shape}")
    if not np.isfinite(a).all():
        fail(where, arg, "finite numbers", repr(v))
    return a


def _decimals_of(v) -> int:
    """Decimals a number is written with: 0.9 -> 1, 0.495 -> 3, "0.50" -> 2, 4 -> 0. In scientific
    notation, the digits after the point less the exponent, at least 0: "5e-1" -> 1 (it is 0.5),
    "8.8e-1" -> 2, "1.5e2" -> 0. A float counts as its shortest repr (TOML's 0.50 reads 0.5: 1)."""
    if isinstance(v, str):
        s = v.strip()
    elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return 0
    else:
        s = repr(float(v))
    mantissa, _, exponent = s.lower().partition("e")
    frac = mantissa.split(".", 1)[1] if "." in mantissa else ""
    try:
        shift = int(exponent) if exponent else 0
    except ValueError:  # not a number: the caller refuses it
        shift = 0
    return max(0, len(frac) - shift)


#: the forms a claimed entry may take, as a refusal says them
CLAIM_FORMS = ('a number, or a string of one ("0.50" keeps its trailing zero; "5e-1"; a fraction "1/8"; '
               'a percentage "12%"), or "?" for a blank')
#: the precision of a fraction ("1/8"): it is exact, so it is judged as closely as an exercise can ask
EXACT = 12
#: the most decimals a claimed entry may be written with: it is judged at them, the computation rounded by
#: 10.0**decimals, which float64 holds up to 10**308 ("1e-400" raised OverflowError, a traceback; at 308 a
#: value above 1.8 scaled to inf; trace.hand_round now keeps a value with no digit at that place as it is);
#: 100 is more than anyone writes by hand
MAX_DECIMALS = 100
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*([+-]?\d+)")


def _entry(e, where: str, arg: str) -> tuple[float, Written]:
    """One claimed entry: its value (NaN for a blank) and how it is written. A string may be a
    decimal number ("0.50": 2 decimals, "5e-1": 1), a fraction ("1/8": exact, :data:`EXACT`) or a
    percentage ("12%": 0.12, the decimals written plus 2); a decimal comma ("0,98") is refused: "1,250"
    reads 1.25 or 1250, and a checker that guessed could pass a wrong number."""
    if isinstance(e, str) and e.strip() in ("?", ""):
        return np.nan, Written("?", 0, True)
    if isinstance(e, bool) or not isinstance(e, (int, float, str)):
        fail(where, arg, CLAIM_FORMS, repr(e))
    if not isinstance(e, str):
        value, text, dec, quoted = float(e), str(e) if isinstance(e, int) else repr(float(e)), _decimals_of(e), False
    else:
        text, quoted = e.strip(), True
        fraction = _FRACTION.fullmatch(text)
        try:
            if fraction:
                top, bottom = (int(g) for g in fraction.groups())
                value, dec = top / bottom, EXACT  # ZeroDivisionError for n/0
            elif text.endswith("%"):
                value, dec = float(text[:-1]) / 100, _decimals_of(text[:-1]) + 2
            else:
                value, dec = float(text), _decimals_of(text)
        except (ValueError, ZeroDivisionError):
            value = None
        if value is None:
            fix = (_comma_fix(text) if re.fullmatch(r"[+-]?\d*,\d+%?", text) else
                   "A fraction needs a denominator other than 0." if fraction else
                   "Write the number alone: 0.98, \"0.50\", \"5e-1\", \"1/8\" or \"12%\".")
            fail(where, arg, CLAIM_FORMS, repr(e), fix)
    if not np.isfinite(value):
        fail(where, arg, "a finite number", repr(e), "Leave a value you cannot give as \"?\".")
    if dec > MAX_DECIMALS:  # judged at dec decimals, rounding by 10.0**dec: beyond float64's range (OverflowError)
        fail(where, arg, f"a number written with at most {MAX_DECIMALS} decimals", f"{e!r} ({dec} decimals)",
             "Write it with fewer decimals (0 for a number this small).")  # fmt: skip
    return value, Written(text, dec, quoted)


def _comma_fix(text: str) -> str:
    """How to write a number with a comma: with a decimal point ("0,98" -> "0.98"), or, where the
    comma may as well separate thousands ("1,250": 1.25 or 1250), either, as meant."""
    point, whole = text.replace(",", "."), text.replace(",", "")
    if re.fullmatch(r"[+-]?[1-9]\d{0,2},\d{3}%?", text):
        return (f"Write \"{point}\" or \"{whole}\", as meant: a comma is ambiguous, a decimal comma or a "
                "thousands separator.")
    return f"Write a decimal point: \"{point}\" (a comma is ambiguous: \"1,250\" reads 1.25 or 1250)."


def _decimals_key(v, where: str, arg: str) -> int:
    """A ``decimals`` key (a claim's or the exercise's): an integer from 0 to :data:`EXACT` (12),
    not a float, a string or a bool (ValueError: a value of the file)."""
    if not is_int(v) or not 0 <= v <= EXACT:
        fail(where, arg, f"an integer from 0 to {EXACT}", repr(v), "It is the number of decimals its numbers are judged at.")
    return v


def _claim_value(v, where: str, arg: str) -> tuple[np.ndarray, tuple[Written, ...]]:
    """Parse a claimed value: a number, a numeric string or "?" (a blank), or a list (of rows) of
    them; returns (the array, NaN at a blank; each entry as written, in the array's flattened order)."""
    entries: list[Written] = []

    def conv(e):
        if isinstance(e, list):
            return [conv(a) for a in e]
        value, w = _entry(e, where, arg)
        entries.append(w)
        return value

    nested = conv(v)
    try:
        a = np.array(nested, dtype=np.float64)
    except ValueError:  # ragged rows
        fail(where, arg, "a number, a list of numbers, or a list of rows of equal length", repr(v))
    return a, tuple(entries)


def _gates_from(notation: str, w: Mapping[str, np.ndarray], H: int, I: int, where: str) -> dict[str, GateParams]:
    out = {}
    for k in GATES:
        L = SEED_LETTER[k]
        if notation == "per_gate":
            Wx, Wh = w.get(f"W_i{L}"), w.get(f"W_h{L}")
            bs = [w[b] for b in (f"b_i{L}", f"b_h{L}") if b in w]
            b = sum(bs) if bs else None
        elif notation == "concat":
            W = w.get(f"W_{L}")
            Wx = Wh = None
            if W is not None:
                Wh, Wx = W[:, :H], W[:, H:]
            b = w.get(f"b_{L}")
        else:
            n = UNIT_INDEX[k]
            Wx = None if f"Wi{n}" not in w else w[f"Wi{n}"].reshape(1, I)
            Wh = None if f"Ws{n}" not in w else w[f"Ws{n}"].reshape(1, 1)
            b = None if f"Bias{n}" not in w else w[f"Bias{n}"].reshape(1)
        out[k] = GateParams(Wx, Wh, b)
    return out


def _gate_letter(notation: str, name: str) -> str | None:
    """The gate letter a per_gate (``W_ic``: "c") or concat (``b_f``: "f") weight name ends in, any
    letter (PyTorch's ``g`` too: :func:`weight_name_fix`), or None if the name is not of that form."""
    if notation == "per_gate" and len(name) == 4 and name[:2] in ("W_", "b_") and name[2] in "ih":
        return name[3]
    if notation == "concat" and len(name) == 3 and name[:2] in ("W_", "b_"):
        return name[2]
    return None


def expected_weight_shape(notation: str, name: str, H: int, I: int) -> tuple[int, ...] | None:
    """The shape weight ``name`` must have in ``notation``, or None if the name is not one of its weights.
    The candidate's letter is the seeds' ``c`` (``W_ic``, ``W_c``): PyTorch's ``g`` (``W_ig``, ``W_g``)
    is not a weight name here (:func:`weight_name_fix` says what to write)."""
    if _gate_letter(notation, name) in SEED_LETTER.values():
        if name[0] == "b":
            return (H,)
        if notation == "concat":
            return (H, H + I)
        return (H, I) if name[2] == "i" else (H, H)
    if notation == "unit":
        for pre, shape in (("Wi", (I,) if I > 1 else ()), ("Ws", ()), ("Bias", ())):
            if name.startswith(pre) and name[len(pre):] in ("1", "2", "3", "4"):
                return shape
    if name in VARIANT_WEIGHTS:
        return (VARIANT_WEIGHTS[name][0] * H,)
    return None


def _parse_options(o, weights: Mapping[str, np.ndarray], where: str):
    """The [options] table (and the variant weights) -> an LSTMVariant, or None for the plain cell."""
    from ..variants import LSTMVariant

    o = dict(o or {})
    unknown = sorted(set(o) - set(OPTION_KEYS))
    if unknown:
        fail(where, "[options] keys", f"among {list(OPTION_KEYS)}", f"unknown keys {unknown}",
             "Dropout and DropConnect act in training only: a worked example has no use for them.", exc=KeyError)
    peep = [n for n in ("w_ci", "w_cf", "w_co") if n in weights]
    o.setdefault("peephole", bool(peep))
    if o["peephole"] is True and len(peep) != 3:
        missing = [n for n in ("w_ci", "w_cf", "w_co") if n not in weights]
        fail(where, "weights", "w_ci, w_cf and w_co with peephole = true", f"none for {missing}", exc=KeyError)
    if peep and o["peephole"] is not True:
        fail(where, "[options] peephole", "true when the weights give peepholes", f"{o['peephole']!r} with {peep}")
    ln = [n for n in ("gamma_ih", "gamma_hh", "gamma_c", "beta_c") if n in weights]
    if ln and o.get("layer_norm") is not True:
        fail(where, "[options] layer_norm", "true when the weights give layer-norm gains", f"{o.get('layer_norm')!r} with {ln}")
    for k in ("peephole", "input_forget", "layer_norm"):
        if not isinstance(o.get(k, False), bool):
            fail(where, f"[options] {k}", "true or false", repr(o[k]))
    try:
        variant = LSTMVariant.checked(f"{where} [options]", **o)
    except TypeError as exc:  # a value of the wrong type in the file (gate_clip = "abc"): the file's, as the others
        raise ValueError(str(exc)) from None
    return None if variant.is_plain else variant


#: what each section of a worked-example file is: a table, a list of tables (``[[claims]]``) or a list
_TABLES = ("inputs", "weights", "options", "readout", "exercise")
_TABLE_LISTS = ("claims", "given")


def _typed(v, kind: str, where: str, arg: str):
    """``v`` if it is ``kind``: "table" (a TOML table), "tables" (an array of tables, ``[[claims]]``)
    or "list"; else a ValueError naming ``arg`` (a file of another shape: ``lstmkit check`` exits 2,
    where Python's own TypeError, 'int' object is not iterable, read as a bug)."""
    ok = {"table": lambda: isinstance(v, Mapping),
          "tables": lambda: isinstance(v, list) and all(isinstance(e, Mapping) for e in v),
          "list": lambda: isinstance(v, list)}[kind]()
    if not ok:
        what = {"table": "a table ([name] ...)", "tables": "an array of tables ([[name]] ...)", "list": "a list [...]"}[kind]
        fail(where, arg, what, f"{type(v).__name__} {v!r:.60}")
    return v


def _parse_one(d: Mapping[str, Any], where: str) -> WorkedExample:
    for key in _TABLES:
        if key in d:
            _typed(d[key], "table", where, f"[{key}]")
    for key in _TABLE_LISTS:
        if key in d:
            _typed(d[key], "tables", where, f"[[{key}]]")
    notation = d.get("notation", "per_gate")
    if notation not in NOTATIONS:
        fail(where, "notation", f"one of {list(NOTATIONS)}", repr(notation))
    if "inputs" not in d or "x" not in d["inputs"]:
        fail(where, "inputs.x", "the input sequence x_1..x_T", "nothing", "Add [inputs] x = [[...], ...].", exc=KeyError)
    inp = d["inputs"]
    unknown = sorted(set(inp) - {"x", "labels", "h0", "c0"})
    if unknown:
        fail(where, "[inputs] keys", "among ['c0', 'h0', 'labels', 'x']", f"unknown keys {unknown}", exc=KeyError)
    x = _array(inp["x"], where, "inputs.x", (1, 2))
    if x.ndim == 1:
        x = x[:, None]  # a flat list is a sequence of scalar inputs
    T, I = x.shape
    if T < 1:
        fail(where, "inputs.x", "at least one time step", "an empty list")
    if T > MAX_STEPS:
        fail(where, "inputs.x", f"at most {MAX_STEPS} time steps", f"{T}",
             "A worked example is worked by hand, and every step's numbers are kept and shown: keep the steps the "
             "example works through (explain a model on a long sequence with lstmkit explain --model FILE --input SEQ).")  # fmt: skip
    w_raw = d.get("weights", {})
    weights, written = {}, {}  # by key (W_C in seed 001's notation is the key W_c); written: as the file wrote it
    for k, v in w_raw.items():
        key = weight_key(notation, k)
        if key in weights:
            fail(where, f"weights.{k}", "one entry per weight", f"both {written[key]} and {k}, one weight (the key {key})",
                 "Keep one of them.", exc=KeyError)
        weights[key], written[key] = _array(v, where, f"weights.{k}"), k
    # hidden size: stated, else from the weights, else from h0
    H = d.get("hidden_size")
    if H is not None:
        _check_hidden_size(H, notation, bool(weights) or "h0" in inp or "c0" in inp, where)
    else:
        if notation == "unit":
            H = 1
        else:
            for k, v in weights.items():
                if k.startswith("W") and v.ndim == 2:
                    H = v.shape[0]
                    break
        if H is None and "h0" in inp:
            H = len(np.atleast_1d(inp["h0"]))
            if H < 1:  # h0 = []: no unit to compute
                fail(where, "inputs.h0", "at least one number (one per hidden unit)", "an empty list",
                     "Write one number per hidden unit, like h0 = [0.0, 0.0] for 2 units.")
        if H is None:
            fail(where, "hidden_size", "a positive integer (or weight matrices to infer it from)", "nothing")
    if "input_size" in d and _count_key(d["input_size"], where, "input_size") != I:
        fail(where, "inputs.x", f"{d['input_size']} numbers per step (input_size)", f"{I}")
    for k, v in weights.items():
        shape = expected_weight_shape(notation, k, H, I)
        if shape is None:
            fail(where, f"weights.{written[k]}", f"a weight name of the {notation!r} notation", repr(written[k]),
                 weight_name_fix(notation, written[k]), exc=KeyError)
        if v.shape != shape and not (notation == "unit" and v.size == int(np.prod(shape))):
            fail(where, f"weights.{written[k]}", f"shape {shape}", f"shape {v.shape}")
    h0, c0 = (_array(inp[k], where, f"inputs.{k}", (0, 1)).reshape(-1) if k in inp else None for k in ("h0", "c0"))
    for arg, v in (("inputs.h0", h0), ("inputs.c0", c0)):
        if v is not None and v.shape != (H,):
            fail(where, arg, f"{H} numbers (hidden_size)", f"{v.shape[0]}")
    h0, c0 = (np.zeros(H) if v is None else v for v in (h0, c0))  # zeros when missing, once H is checked
    labels = inp.get("labels")
    if labels is not None and len(_typed(labels, "list", where, "inputs.labels")) != T:
        fail(where, "inputs.labels", f"{T} names (one per step)", f"{len(labels)}")
    gates = _gates_from(notation, weights, H, I, where)
    variant = _parse_options(d.get("options"), weights, where)
    readout = _parse_readout(d.get("readout"), H, T, where)
    given = {}
    for n, g in enumerate(d.get("given", []), start=1):
        arg = f"given #{n}"
        if "step" not in g or "name" not in g or "value" not in g:
            fail(where, arg, "keys step, name and value", sorted(g), exc=KeyError)
        name = canonical_name(g["name"])
        if name not in QUANTITIES:
            fail(where, f"{arg} name", f"a quantity among {list(QUANTITIES)}", repr(g["name"]), exc=KeyError)
        v = _array(g["value"], where, f"{arg} value", (0, 1)).reshape(-1)
        if v.shape != (H,):
            fail(where, f"{arg} value", f"{H} numbers (one per unit)", f"{v.shape[0]}")
        given[(_step(g["step"], T, where, arg), name)] = v
    exercise = d.get("exercise", {})
    precision = exercise.get("decimals")  # an exercise's answers are all at its precision ("?" has none of its own)
    if precision is not None:
        _decimals_key(precision, where, "exercise.decimals")
    if exercise.get("loss") is not None and exercise["loss"] not in LOSSES:  # the loss its gradients are of
        fail(where, "exercise.loss", f"one of {list(LOSSES)}", repr(exercise["loss"]))
    raw = d.get("claims", [])
    claims = tuple(_parse_claim(c, n, notation, H, I, T, where, precision) for n, c in enumerate(raw, start=1))
    for n, c in enumerate(claims, start=1):
        if c.name in ("logits", "y", "pred") and readout is None:
            fail(where, _claim_arg(raw[n - 1], n), "a [readout] section to compute it from", "none",
                 "Add [readout] (y_t = softmax(h_t) needs no weights).")
    return WorkedExample(
        title=str(d.get("title", where)), notation=notation, weights=weights, x=x, h0=h0, c0=c0,
        gates=gates, readout=readout, claims=claims, given=given,
        labels=None if labels is None else tuple(str(s) for s in labels),
        source=str(d.get("source", "")), note=str(d.get("note", "")), exercise=dict(exercise),
        variant=variant,
    )


def _count_key(v, where: str, arg: str) -> int:
    """A size the file states (``hidden_size``, ``input_size``): an integer >= 1, not a float, a
    string or a bool (ValueError naming the file and the key)."""
    if not is_int(v) or v < 1:
        fail(where, arg, "an integer >= 1", repr(v), "Write it as a whole number without quotes, like 2.")
    return v


def _check_hidden_size(H, notation: str, given: bool, where: str) -> None:
    """A stated ``hidden_size``: :func:`_count_key`; 1 in the "unit" notation (one unit); at most
    :data:`MAX_HIDDEN` unless the file gives H otherwise (``given``: weights, h0 or c0, whose shapes
    are then checked against it), before anything of that size is allocated."""
    _count_key(H, where, "hidden_size")
    if notation == "unit" and H != 1:
        fail(where, "hidden_size", "1 in the 'unit' notation (one unit, seed 002's)", repr(H),
             "Use the 'per_gate' or 'concat' notation for more units.")
    if not given and H > MAX_HIDDEN:
        fail(where, "hidden_size", f"at most {MAX_HIDDEN} when no weights, h0 or c0 give it", repr(H),
             f"A worked example is worked by hand, and every step's vectors are allocated and shown at that size: "
             f"give the weights (or h0), or state {MAX_HIDDEN} units or fewer.")


def _step(v, T: int, where: str, arg: str, fix: str = "") -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= T:
        fail(where, f"{arg} step", f"an integer from 1 to T={T}", repr(v), fix)
    return v


def _claim_arg(c: Mapping[str, Any], n: int) -> str:
    """A claim as an error names it: its number in the file and what it says it is,
    "claim #2 (i at step 1, slide 'Forwards at time step 1')"; ``_parse_one`` has checked that the
    claims are tables."""
    parts = []
    if "name" in c:
        parts.append(str(c["name"]) + (f" at step {c['step']!r}" if "step" in c else ""))
    elif "step" in c:
        parts.append(f"step {c['step']!r}")
    if c.get("where"):
        parts.append(str(c["where"]))
    return f"claim #{n}" + (f" ({', '.join(parts)})" if parts else "")


def _parse_readout(r, H: int, T: int, where: str) -> Readout | None:
    if r is None:
        return None
    unknown = sorted(set(r) - {"W_y", "b_y", "targets", "classes", "softmax"})
    if unknown:
        fail(where, "[readout] keys", "among ['W_y', 'b_y', 'classes', 'softmax', 'targets']", f"unknown keys {unknown}", exc=KeyError)
    W_y = b_y = None
    if "W_y" in r:
        W_y = _array(r["W_y"], where, "readout.W_y", (2,))
        if W_y.shape[1] != H:
            fail(where, "readout.W_y", f"shape (K, {H})", f"shape {W_y.shape}")
        b_y = _array(r.get("b_y", np.zeros(W_y.shape[0])), where, "readout.b_y", (1,))
        if b_y.shape != (W_y.shape[0],):
            fail(where, "readout.b_y", f"shape ({W_y.shape[0]},)", f"shape {b_y.shape}")
    K = H if W_y is None else W_y.shape[0]
    targets = r.get("targets")
    if targets is not None:
        if len(_typed(targets, "list", where, "readout.targets")) != T or not all(is_int(t) and 0 <= t < K for t in targets):
            fail(where, "readout.targets", f"{T} class indices in 0..{K - 1}", repr(targets))
        targets = tuple(targets)
    classes = r.get("classes")
    if classes is not None and len(_typed(classes, "list", where, "readout.classes")) != K:
        fail(where, "readout.classes", f"{K} names", f"{len(classes)}")
    return Readout(W_y, b_y, targets, None if classes is None else tuple(map(str, classes)))


def _parse_claim(c: Mapping[str, Any], n: int, notation: str, H: int, I: int, T: int, where: str, precision: int | None = None) -> Claim:
    """One claim; its precision is its ``decimals`` key, else the exercise's (``precision``), else the
    decimals it is written with."""
    arg = _claim_arg(c, n)
    unknown = sorted(set(c) - {"step", "name", "value", "unit", "where", "decimals"})
    if unknown:
        fail(where, f"{arg} keys", "among ['decimals', 'name', 'step', 'unit', 'value', 'where']", f"unknown keys {unknown}", exc=KeyError)
    if "name" not in c or "value" not in c:
        fail(where, arg, "keys name and value", sorted(c), exc=KeyError)
    value, entries = _claim_value(c["value"], where, f"{arg} value")
    answered = all(w.answered for w in entries)
    fixed = _decimals_key(c["decimals"], where, f"{arg} decimals") if "decimals" in c else precision  # else the exercise's
    dec = max((w.decimals for w in entries if w.answered), default=0) if fixed is None else fixed
    more = dict(entries=entries, fixed=fixed is not None, asked=precision if "decimals" not in c else None)
    step = c.get("step")
    name = str(c["name"])
    if step is None:  # a parameter as printed in some place, or a total: the loss L, a gradient dW
        name = "loss" if name in ("loss", "L") else weight_key(notation, name)  # dW_C as printed: the key dW_c
        weight = name[1:] if name.startswith("d") else name
        if name != "loss" and weight not in ("W_y", "b_y") and expected_weight_shape(notation, weight, H, I) is None:
            fail(where, f"{arg} name", f"a weight name of the {notation!r} notation, 'loss', or 'd' and a weight name "
                 "for its gradient (no step given)", repr(name), weight_name_fix(notation, name), exc=KeyError)
        if "unit" in c:
            fail(where, f"{arg} unit", "a unit of a quantity at a step", f"unit {c['unit']!r} without a step",
                 "Give every entry of a weight (or its gradient) in value.")
        return Claim(name, value, None, None, dec, str(c.get("where", "")), answered, **more)
    initial = {"h": "h_prev", "c": "c_prev"}.get(canonical_name(name))
    fix = (f"{name}_0, the state before step 1, is written step = 1, name = \"{initial}\" (or as [inputs] {name}0)."
           if step == 0 and initial else "")
    step = _step(step, T, where, arg, fix)
    name = canonical_name(name)
    if name not in QUANTITIES + BACKWARD_QUANTITIES:
        fail(where, f"{arg} name", f"a quantity among {list(QUANTITIES + BACKWARD_QUANTITIES)}", repr(c["name"]), exc=KeyError)
    unit = c.get("unit")
    if unit is not None:
        size = I if name in ("x", "dx") else None
        if isinstance(unit, bool) or not isinstance(unit, int) or unit < 1 or (size and unit > size):
            fail(where, f"{arg} unit", "a 1-based unit number", repr(unit))
        unit -= 1
        if value.ndim != 0:
            fail(where, f"{arg} value", "one number (a unit was named)", f"shape {value.shape}")
    else:
        value = np.atleast_1d(value)
    return Claim(name, value, step, unit, dec, str(c.get("where", "")), answered, **more)
