"""Check a worked example's claims against the computation, exact and by hand.

For every claimed number (step, quantity, unit) ``check`` computes

- the exact value (the engine's numbers);
- the value a person gets by hand at the claim's precision: every intermediate rounded to that
  many decimals and carried forward (:func:`lstmkit.explain.trace.forward` with ``decimals``);
- the value that follows from the author's *own* earlier numbers: the same hand computation
  with every claimed value put in place of the computed one (claims of the same place first), and
  the same without rounding (a person who rounds only what they write down);
- for a plain cell's forward pass, the range the author's own earlier numbers allow: each written
  value stands for anything its digits allow, [v - tol, v + tol] (0.64: [0.635, 0.645]), carried
  exactly through the step's formula in interval arithmetic (:func:`interval_forward`), so that a
  value after a wrong one, from a person who kept more digits than they wrote, follows from the wrong
  one instead of being a new error (the range never makes a claim right).

Claims of the backward pass (``explain --grad``'s numbers: dh_t, dc_t, dz_i, ..., dh_prev, the loss
L and the parameter gradients dW) are judged the same way, from
:func:`lstmkit.explain.trace.backward` exact, by hand at the claim's precision (from the hand
forward pass, each gradient rounded and carried back, as ``explain --round N --grad`` shows it),
and from the author's own numbers, forward and backward; "earlier" there means computed before,
so a step's gradients come after those of the step after it.

Each entry of a claim is judged at its own precision: the decimals it is written with
(``[1.0, "0.88"]``: 1.0 at one decimal, 0.88 at two; "5e-1" one; a fraction "1/8" exactly, a
percentage at its decimals plus 2), or the one a claim's ``decimals`` key or an exercise fixes for
every entry. A claim is right when it agrees with the exact or the hand value at that precision (a
claim of 0.9 for 0.881 is right at one decimal), or with what the author's own earlier numbers give
when none of those it comes from is wrong (earlier values right but rounded otherwise carry
forward). A claim *agrees with what the author's own numbers give* when it is within half a unit of
either point value above, or, where one of those numbers is wrong, when its own interval [claimed - tol,
claimed + tol] overlaps the range those numbers allow. A wrong claim *follows from an earlier wrong value* when it agrees with what the author's
own earlier numbers give and those include a wrong claim (the nearest: a right claim in between
cuts the chain); an exercise's answer right only at the fewer decimals it is written with than the
exercise asks for is written with *too few decimals*; a wrong claim computed from an answer left
blank *uses a blank* (:func:`_after_blank`: its author does not know the blank's value, so it is
neither judged against it nor called a new error); else it is a *new error*. A new error's why
is its line (:func:`_formula`: one unit of it, in explain's symbols and the example's weight names,
with the author's own numbers, at the claim's precision; none where a part of it is unknown or the
cell is a variant) and, where the number is what a common slip gives and not the right value, that
slip (:func:`_slip`: the forget gate left out of c, the weights swapped in z, ...), or else that it
is a right value with the opposite sign.

Besides: a claim outside the range of its function in the example's cell is impossible
(:func:`ranges`: σ in [0, 1] and tanh in [-1, 1] where the variant's activations are those, h_t in
[-1, 1] where both hold and no zoneout mixes in h_(t-1), a softmax's y in [0, 1], a class index in
0..K-1), as is a cell state that grows by more than 1 in a step (|c_t| <= |c_(t-1)| + 1, c_(t-1) as
the author has it, where the gates lie in [0, 1] and the candidate in [-1, 1]); a claim with the
wrong number of entries is flagged; and inputs, initial states, parameters or quantities stated in
two places with different values are reported as conflicts.

Values are named as ``explain`` writes them: ``i_3``, ``c̃_2``, ``z_f_1``, ``W_if x_1`` (seed 002's
``Wi1 x_1``), ``W_f·[h_0, x_1]``, ``f_1 * c_0``, ``dz_c̃_3``, ``dW_ii entry (1, 2)``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .._checks import count
from .build import fnum, written as as_given
from ..functional import sigmoid, tanh
from .trace import BackwardTrace, ForwardTrace, StepRecord, _recorder, backward, default_loss, forward, hand_round
from .worked import BACKWARD_QUANTITIES, EXACT, GATES, SEED_LETTER, Claim, WorkedExample, expected_weight_shape, require_example, short_title

#: quantity -> the quantities of the same step (or "prev:" of step t-1, "next:" of step t+1) it is
#: computed from; the backward pass's after the forward's (:func:`_deps` fills in the loss's)
DEPS: dict[str, tuple[str, ...]] = {
    "x": (), "h_prev": ("prev:h",), "c_prev": ("prev:c",),
    **{f"Wx_{k}": ("x",) for k in GATES}, **{f"Wh_{k}": ("h_prev",) for k in GATES},
    **{f"Wxh_{k}": (f"Wx_{k}", f"Wh_{k}") for k in GATES}, **{f"z_{k}": (f"Wxh_{k}",) for k in GATES},
    **{k: (f"z_{k}",) for k in GATES},
    "fc": ("f", "c_prev"), "ig": ("i", "g"), "c": ("fc", "ig"), "tanh_c": ("c",), "h": ("o", "tanh_c"),
    "logits": ("h",), "y": ("logits",), "pred": ("y",),
    # backward, step t (BPTT walks t = T..1: "next:" was computed before)
    "loss": ("y",), "dlogits": ("y",), "dh_out": ("dlogits",), "dh_next": ("next:dh_prev",), "dc_next": ("next:dc_prev",),
    "dh": ("dh_out", "next:dh_prev"), "do": ("dh", "tanh_c"), "dtanh_c": ("tanh_c",),
    "dc": ("dh", "o", "dtanh_c", "next:dc_prev"), "di": ("dc", "g"), "df": ("dc", "c_prev"), "dg": ("dc", "i"),
    **{f"d{k}_dz": (k,) for k in GATES}, **{f"dz_{k}": (f"d{k}", f"d{k}_dz") for k in GATES},
    "dc_prev": ("dc", "f"), "dh_prev": tuple(f"dz_{k}" for k in GATES), "dx": tuple(f"dz_{k}" for k in GATES),
}
assert tuple(DEPS)[-len(BACKWARD_QUANTITIES):] == BACKWARD_QUANTITIES
#: the values each quantity can take in the seeds' plain cell (:func:`ranges`: those of a variant cell)
RANGES = {"i": (0.0, 1.0, "σ"), "f": (0.0, 1.0, "σ"), "o": (0.0, 1.0, "σ"), "y": (0.0, 1.0, "softmax"),
          "g": (-1.0, 1.0, "tanh"), "tanh_c": (-1.0, 1.0, "tanh"), "h": (-1.0, 1.0, "o·tanh")}
#: activations whose values lie in [0, 1] (a gate's) and in [-1, 1] (the candidate's, tanh(c)'s)
_UNIT_INTERVAL = {"sigmoid": "σ", "hard_sigmoid": "hard_sigmoid"}
_SYMMETRIC = {"tanh": "tanh", "softsign": "softsign"}
ORDER = {n: i for i, n in enumerate(DEPS)}

#: verdicts; all but OK and OK_HAND and UNCHECKED make ``check`` fail
OK, OK_HAND, UNCHECKED = "ok", "ok by hand", "not checkable"
NEW, FOLLOWS, CONFLICT, RANGE, SHAPE, BLANK = "new error", "follows", "conflict", "impossible", "shape", "not answered"
SHORT = "too few decimals"  # an exercise's answer right at the decimals it is written with, fewer than asked
AFTER_BLANK = "uses a blank"  # wrong, and computed from an answer left blank: neither a new error nor one that follows
FAILING = (NEW, FOLLOWS, CONFLICT, RANGE, SHAPE, BLANK, SHORT, AFTER_BLANK)
#: every verdict, in the order :meth:`CheckReport.summary` counts them
VERDICTS = (OK, OK_HAND, NEW, FOLLOWS, SHORT, AFTER_BLANK, CONFLICT, RANGE, SHAPE, BLANK, UNCHECKED)
#: how :meth:`CheckReport.summary` counts each verdict after OK and OK_HAND (its "right"): one, many
SUMMARY_WORDS = {
    NEW: ("new error", "new errors"), FOLLOWS: 2 * ("following from an earlier wrong value",),
    SHORT: 2 * ("written with too few decimals",),
    AFTER_BLANK: ("wrong value computed from a blank", "wrong values computed from blanks"),
    CONFLICT: ("conflict between two places", "conflicts between two places"),
    RANGE: ("impossible value", "impossible values"), SHAPE: ("wrong size", "wrong sizes"),
    BLANK: 2 * ("not answered",), UNCHECKED: 2 * ("not checkable",),
}


def ranges(ex: WorkedExample) -> dict[str, tuple[float, float, str]]:
    """The ranges of :data:`RANGES` that hold for the example's cell: a variant's gates are in
    [0, 1] only with a sigmoid (or hard sigmoid), its candidate and tanh(c) in [-1, 1] only with a
    tanh (or softsign), h_t only when both hold and no zoneout mixes in h_(t-1) (h_0 may be anything)."""
    if ex.is_plain:
        return RANGES
    v = ex.variant
    f_act, g_act, h_act = (a if isinstance(a, str) else a[0] for a in v.activations)  # a name, or (name, alpha, ...)
    out = {"y": RANGES["y"]}
    if f_act in _UNIT_INTERVAL:
        out.update({k: (0.0, 1.0, _UNIT_INTERVAL[f_act]) for k in ("i", "f", "o")})
    if g_act in _SYMMETRIC:
        out["g"] = (-1.0, 1.0, _SYMMETRIC[g_act])
    if h_act in _SYMMETRIC:
        out["tanh_c"] = (-1.0, 1.0, _SYMMETRIC[h_act])
        if f_act in _UNIT_INTERVAL and not v.zoneout_hidden:
            out["h"] = (-1.0, 1.0, f"o·{_SYMMETRIC[h_act]}")
    return out


def tol(decimals: int) -> float:
    """Half a unit in the last written place: 0.9 stands for anything in [0.85, 0.95]."""
    return 0.5 * 10.0 ** (-decimals) + 1e-9


@dataclass
class Finding:
    """One checked number (or one conflict / shape problem)."""

    verdict: str  # one of the verdict constants above
    label: str  # "i_3 unit 1", "W_o", "x_1 unit 2", "dW_ii entry (1, 2)"
    where: str  # the claim's place
    claimed: float | str | None = None
    exact: float | None = None
    hand: float | None = None  # by hand at the claim's precision
    own: float | None = None  # from the author's own earlier numbers
    decimals: int = 3
    detail: str = ""  # one sentence: why
    step: int | None = None
    name: str = ""
    unit: int | None = None  # 0-based (an entry of the flattened array, for a gradient dW)
    culprits: tuple[str, ...] = ()  # the earlier wrong values it follows from
    written: str = ""  # the claimed number as written ("0.50", "5e-1"; a TOML number: its shortest repr)
    blind: str = ""  # the detail with the values of blank answers ("?") withheld, where they differ (:func:`withhold_answers`)
    uses_blank: bool = False  # computed from an answer left blank: ``own`` and the slip come from its value

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING


@dataclass
class CheckReport:
    """The findings of :func:`check` on one example. :meth:`summary` is the line ``lstmkit check``
    ends with; its repr is one line too (the title, the problems and the count of each verdict).
    ``lstmkit check``'s text (the table) is::

        from lstmkit.explain.check import report_document, withhold_answers
        from lstmkit.explain.render_text import render
        print(render(report_document([withhold_answers(rep)]), 120), end="")  # as lstmkit check | less
        # (120: its width when not on a terminal; without withhold_answers: as --answers)

    (``report_document(..., show_all=True)``: as ``--all``; ``lstmkit.explain.render_md.render`` for
    ``--format md``)."""

    example: WorkedExample
    findings: list[Finding] = field(default_factory=list)
    withheld: int = 0  # blanks whose values were taken out (:func:`withhold_answers`)

    def __repr__(self) -> str:  # the generated one printed the example and every finding: 40,412 characters for seed 000
        n = Counter(f.verdict for f in self.findings)
        verdicts = ", ".join(f"{v} {n[v]}" for v in VERDICTS if n[v])
        return (f"CheckReport({short_title(self.example.title)}, {self._head()}: {count(len(self.findings), 'value')}"
                + (f" ({verdicts}))" if verdicts else ")"))

    def _head(self) -> str:
        """The head of :meth:`summary` and the repr: all claims agree, or how many problems."""
        bad = sum(f.failing for f in self.findings)
        return "all claims agree" if not bad else count(bad, "problem")

    @property
    def ok(self) -> bool:
        return not any(f.failing for f in self.findings)

    def count(self, *verdicts: str) -> int:
        return sum(f.verdict in verdicts for f in self.findings)

    def summary(self) -> str:
        parts = [f"{count(len(self.findings), 'value')} checked", f"{self.count(OK, OK_HAND)} right"]
        if self.count(OK_HAND):
            parts[-1] += f" ({self.count(OK_HAND)} only by hand-rounding)"
        for v in VERDICTS[2:]:
            if self.count(v):
                one, many = SUMMARY_WORDS[v]
                parts.append(f"{self.count(v)} {one if self.count(v) == 1 else many}")
        note = (f" (the expected values of the {count(self.withheld, 'blank')} are not shown: "
                "lstmkit check --answers shows them)") if self.withheld else ""
        return f"{self._head()}: " + ", ".join(parts) + note


def withhold_answers(rep: CheckReport) -> CheckReport:
    """``rep`` with the values of every blank ("?", not answered) taken out: no exact value, none
    by hand or from the author's own numbers, so that checking a handed-out exercise, blank or
    partly filled in, does not print its answer key (``lstmkit check`` without ``--answers``).
    Answers that were tried keep theirs, but a tried answer's formula line shows a blank's value as
    "?" (and what it gives as "?"): the line c_1 = f_1 * c_0 + i_1 * c̃_1 would otherwise print the
    i_1 left blank; and where a tried answer is computed from a blank, its value from the author's
    own numbers (``own``), the slip it names and "even from the example's own earlier numbers ..."
    are left out, as they come from the blank's value. ``withheld`` counts the blanks."""
    from dataclasses import replace

    blanks = [f.verdict == BLANK for f in rep.findings]
    findings = [replace(f, exact=None, hand=None, own=None, detail="left blank") if b else
                replace(f, detail=f.blind or f.detail, blind="", own=None if f.uses_blank else f.own)
                if f.blind or f.uses_blank else f for f, b in zip(rep.findings, blanks)]
    return CheckReport(rep.example, findings, rep.withheld + sum(blanks))


def symbol(name: str, t: int | None, ex: WorkedExample | None = None) -> str:
    """Plain-text symbol of a quantity at step t, as ``explain`` writes it: ``i_3``, ``c̃_2``,
    ``z_c̃_2``, ``W_if x_1``, ``W_hf h_1`` (at step 2), ``W_f·[h_0, x_1]``, ``f_1 * c_0``, ``dz_i_3``,
    ``1 - tanh²(c_3)``; without a step ``L`` (the loss) and a gradient's own name (``dW_ii``). With
    ``ex``, a product names the weight as the example does: seed 002's ``Wi1 x_1``, ``Ws1 h_0``, seed
    001's candidate ``W_C·[h_0, x_1]`` (:meth:`~lstmkit.explain.worked.WorkedExample.weight_label`),
    and a weight or gradient without a step is printed as written there: ``dW_C`` for the key ``dW_c``
    (:meth:`~lstmkit.explain.worked.WorkedExample.written_name`)."""
    if t is None:
        return "L" if name == "loss" else name if ex is None else ex.written_name(name)
    p, n = t - 1, lambda k: "c̃" if k == "g" else k  # noqa: E731
    if ex is not None and ex.notation == "unit" and name.startswith(("Wx_", "Wh_")):
        k = name[3:]
        return f"{ex.weight_label(k, 'x')} x_{t}" if name[1] == "x" else f"{ex.weight_label(k, 'h')} h_{p}"
    for pre, word in (("Wxh_", "W_{L}·[h_{p}, x_{t}]"), ("Wx_", "W_i{L} x_{t}"), ("Wh_", "W_h{L} h_{p}"),
                      ("z_", "z_{k}_{t}"), ("dz_", "dz_{k}_{t}")):
        if name.startswith(pre):
            k = name[len(pre):]
            L = ex.weight_label(k, "Wxh", written=True)[2:] if ex is not None and pre == "Wxh_" else SEED_LETTER[k]
            return word.format(L=L, k=n(k), p=p, t=t)
    if name.endswith("_dz"):  # gate k's derivative from its output
        k = name[1]
        return f"1 - c̃²_{t}" if k == "g" else f"{k}_{t} (1 - {k}_{t})"
    return {"h_prev": f"h_{p}", "c_prev": f"c_{p}", "fc": f"f_{t} * c_{p}", "ig": f"i_{t} * c̃_{t}",
            "tanh_c": f"tanh(c_{t})", "logits": f"W_y h_{t} + b_y", "pred": f"class_{t}", "loss": f"L_{t}",
            "dlogits": f"∂L_{t}/∂a_{t}", "dh_out": f"∂L_{t}/∂h_{t}", "dtanh_c": f"1 - tanh²(c_{t})", "dg": f"dc̃_{t}",
            }.get(name, f"{n(name)}_{t}")


def _label(name, t, unit, shape=None, ex=None):
    """The symbol (in ``ex``'s weight names) and, for a vector, the unit (a gradient of a matrix: its
    entry (row, column))."""
    s = symbol(name, t, ex)
    if unit is None or name in ("pred", "loss"):
        return s
    if t is None:
        idx = np.unravel_index(unit, shape) if shape else (unit,)
        return f"{s} entry ({', '.join(str(int(i) + 1) for i in idx)})"
    return f"{s} unit {unit + 1}"


def _normalize(c: Claim, T: int) -> tuple[int | None, str]:
    """A claim about h_{t-1} / c_{t-1} at step t > 1 is a claim about h / c at step t-1; one about
    dh_next / dc_next at step t < T is one about dh_prev / dc_prev of step t+1."""
    if c.name in ("h_prev", "c_prev") and c.step > 1:
        return c.step - 1, c.name[0]
    if c.name in ("dh_next", "dc_next") and c.step < T:
        return c.step + 1, c.name.replace("next", "prev")
    return c.step, c.name


def _is_input(c: Claim, T: int) -> bool:
    """h_0, c_0 (at step 1) and the zero gradients arriving at step T: inputs, not computed."""
    return (c.name in ("h_prev", "c_prev") and c.step == 1) or (c.name in ("dh_next", "dc_next") and c.step == T)


def _size(ex: WorkedExample, name: str) -> int:
    """Entries of a per-step quantity."""
    if name in ("pred", "loss"):
        return 1
    if name in ("y", "logits", "dlogits") and ex.readout is not None and ex.readout.W_y is not None:
        return len(ex.readout.W_y)
    return ex.input_size if name in ("x", "dx") else ex.hidden_size


def _substitution(ex: WorkedExample, first_place: str, tols: dict | None = None) -> dict:
    """Claimed values as a substitution map, the claims of ``first_place`` taking precedence; with
    ``tols`` (a dict, filled in place) each entry's half unit of its last written digit too."""
    sub: dict[tuple[int, str], np.ndarray] = {}
    tols = {} if tols is None else tols
    claims = sorted((c for c in ex.claims if c.step is not None and c.answered and c.name not in ("x",)),
                    key=lambda c: c.where == first_place)  # first_place last: it wins
    for c in claims:
        if _is_input(c, ex.T):  # the initial state and the zero gradients at step T are inputs
            continue
        t, name = _normalize(c, ex.T)
        n = _size(ex, name)
        cur = sub.setdefault((t, name), np.full(n, np.nan))
        half = tols.setdefault((t, name), np.full(n, np.nan))
        if c.unit is not None:
            if c.unit < n:
                cur[c.unit], half[c.unit] = float(c.value), tol(c.precision(0))
        elif c.value.shape == (n,):
            mask = ~np.isnan(c.value)
            cur[mask] = c.value[mask]
            half[mask] = [tol(c.precision(k)) for k in np.flatnonzero(mask)]
    return sub


def _mul(a, b):
    """[a_lo, a_hi] * [b_lo, b_hi]: the least and the greatest of the four corner products."""
    corners = np.stack([a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]])
    return corners.min(axis=0), corners.max(axis=0)


def _matvec(W, v):
    """W @ [v_lo, v_hi] for exact weights W: each term w * v is least at v_lo where w >= 0, else at v_hi."""
    pos, neg = np.clip(W, 0, None), np.clip(W, None, 0)
    return pos @ v[0] + neg @ v[1], pos @ v[1] + neg @ v[0]


def _softmax_bounds(a):
    """softmax over logits known only as [a_lo, a_hi]: y_k grows with a_k and falls with every other
    a_j, so it is least at (a_k low, the others high) and greatest the other way round."""
    lo, hi = a
    K = len(lo)
    out_lo, out_hi = np.empty(K), np.empty(K)
    for k in range(K):
        others = np.arange(K) != k
        out_lo[k] = 1.0 / (1.0 + np.exp(hi[others] - lo[k]).sum())
        out_hi[k] = 1.0 / (1.0 + np.exp(lo[others] - hi[k]).sum())
    return out_lo, out_hi


def interval_forward(ex: WorkedExample, place: str | None) -> list[dict[str, tuple[np.ndarray, np.ndarray]]] | None:
    """The forward pass of a plain cell from the author's own numbers (those of ``place`` first) taken
    as what they are known to be: each claimed entry v, written with d decimals, as the interval
    [v - tol(d), v + tol(d)] (0.64 is anything in [0.635, 0.645]), carried through each step's formula
    exactly in interval arithmetic: W x_t and W h_(t-1) by the weights' signs, sums end to end, σ and
    tanh (increasing) end to end, a product f * c, i * c̃, o * tanh(c) as the least and greatest of its
    four corner products, softmax's y_k least with a_k low and the other logits high. Per step
    {name: (lo, hi)} of each quantity as *computed* (before the author's own number for it replaces
    it); NaN where a part is unknown. None for a variant cell (whose claims are judged at points only).
    """
    if not ex.is_plain:
        return None
    tols: dict = {}
    sub = {} if place is None else _substitution(ex, place, tols)
    sub_lo = {k: s - tols[k] for k, s in sub.items()}  # a claim replaces lo by v - tol, hi by v + tol
    sub_hi = {k: s + tols[k] for k, s in sub.items()}
    H = ex.hidden_size
    h_prev, c_prev = (ex.h0, ex.h0), (ex.c0, ex.c0)
    out = []
    with np.errstate(all="ignore"):
        for t in range(1, ex.T + 1):
            rec_lo, rec_hi = StepRecord(t), StepRecord(t)
            put_lo = _recorder(rec_lo, H, None, sub_lo, ex.given)
            put_hi = _recorder(rec_hi, H, None, sub_hi, ex.given)
            V: dict[str, tuple[np.ndarray, np.ndarray]] = {}

            def put(name, v, n=H):
                """trace's ``put`` (a stated value fills what cannot be computed, a claim replaces it) on each bound."""
                V[name] = (put_lo(name, None if v is None else v[0], n, raw=True),
                           put_hi(name, None if v is None else v[1], n, raw=True))
                return V[name]

            x = np.asarray(ex.x[t - 1], dtype=np.float64)
            put("x", (x, x), n=ex.input_size)
            put("h_prev", h_prev)
            put("c_prev", c_prev)
            for k in GATES:
                G = ex.gates[k]
                put(f"Wx_{k}", None if G.Wx is None else _matvec(G.Wx, V["x"]))
                put(f"Wh_{k}", None if G.Wh is None else _matvec(G.Wh, V["h_prev"]))
                put(f"Wxh_{k}", tuple(a + b for a, b in zip(V[f"Wx_{k}"], V[f"Wh_{k}"])))
                b = np.zeros(H) if G.b is None else G.b
                put(f"z_{k}", tuple(a + b for a in V[f"Wxh_{k}"]))
                act = tanh if k == "g" else sigmoid
                put(k, tuple(act(a) for a in V[f"z_{k}"]))
            put("fc", _mul(V["f"], V["c_prev"]))
            put("ig", _mul(V["i"], V["g"]))
            put("c", tuple(a + b for a, b in zip(V["fc"], V["ig"])))
            put("tanh_c", tuple(tanh(a) for a in V["c"]))
            put("h", _mul(V["o"], V["tanh_c"]))
            r = ex.readout
            if r is not None and r.at(t, ex.T):
                K = H if r.W_y is None else r.W_y.shape[0]
                a = V["h"] if r.W_y is None else tuple(v + r.b_y for v in _matvec(r.W_y, V["h"]))
                a = put("logits", a, n=K)
                if r.task == "regress":
                    scale = np.ones(K) if r.y_scale is None else r.y_scale
                    mean = np.zeros(K) if r.y_mean is None else r.y_mean
                    put("y", tuple(v + mean for v in _mul(a, (scale, scale))), n=K)
                else:
                    put("y", _softmax_bounds(a), n=K)
            h_prev, c_prev = V["h"], V["c"]
            out.append({n: (rec_lo.computed[n], rec_hi.computed[n]) for n in rec_lo.computed})
    return out


@dataclass
class _Run:
    """One computation of the example: its forward trace and, when claims need it, its backward."""

    fw: ForwardTrace
    bw: BackwardTrace | None

    def record(self, t: int, name: str):
        """The record of step t that holds ``name`` (forward or backward)."""
        if name in BACKWARD_QUANTITIES:
            return next(s for s in self.bw.steps if s.t == t)
        return self.fw.steps[t - 1]

    def get(self, t: int | None, name: str, u: int, computed: bool = False) -> float:
        """Entry u of ``name`` at step t (``computed``: before substitution); a total when t is None."""
        if t is None:
            return float(self.bw.loss) if name == "loss" else float(np.ravel(self.bw.param_grads[name[1:]])[u])
        rec = self.record(t, name)
        return float((rec.computed if computed else rec.values)[name][u])


def _sort_key(c: Claim, T: int):
    """Forward claims step by step, then the backward pass's from step T down, then the totals."""
    t, name = _normalize(c, T)
    if t is None:
        return (2, 0, 0)
    return (1, -t, ORDER[name]) if name in BACKWARD_QUANTITIES else (0, t, ORDER[name])


def check(ex: WorkedExample, loss: str | None = None) -> CheckReport:
    """Check every claim of ``ex`` (see the module docstring). ``loss``: the loss of the backward
    pass's claims, "xent" or "sum_h" (default: as ``explain --grad``, xent with targets)."""
    require_example(ex, "check")
    rep = CheckReport(ex)
    T = ex.T
    loss = loss or default_loss(ex)
    grads = [c for c in ex.claims if c.is_total or c.name in BACKWARD_QUANTITIES]
    why_not = None  # why the backward pass cannot be computed, if it cannot
    exact_bw = None
    if grads:
        try:
            exact_bw = backward(ex, loss)
        except ValueError as exc:
            why_not = str(exc)
    runs: dict[tuple[int | None, str | None], _Run] = {(None, None): _Run(forward(ex), exact_bw)}

    def run(d, place=None):
        """By hand at d decimals (None: exact) from the author's own numbers of ``place`` first (None: none)."""
        if (d, place) not in runs:
            sub = None if place is None else _substitution(ex, place)
            runs[(d, place)] = _Run(forward(ex, d, sub), backward(ex, loss, d, sub) if exact_bw is not None else None)
        return runs[(d, place)]

    intervals: dict[str, list | None] = {}

    def interval(place, t, name, u):
        """(lo, hi) of unit u of (t, name) from the author's own numbers as intervals; None where not computed."""
        if place not in intervals:
            intervals[place] = interval_forward(ex, place)
        iv = intervals[place]
        if iv is None or t is None or name not in iv[t - 1] or u >= len(iv[t - 1][name][0]):
            return None
        lo, hi = iv[t - 1][name]
        return None if np.isnan(lo[u]) or np.isnan(hi[u]) else (float(lo[u]), float(hi[u]))

    exact = runs[(None, None)]
    rep.findings += _check_params(ex)
    rep.findings += _check_inputs(ex)
    step_claims = [c for c in ex.claims if not c.is_param and c.name != "x" and not (c.step and _is_input(c, T))]
    step_claims.sort(key=lambda c: _sort_key(c, T))
    wrong: dict[tuple[int | None, str, int], str] = {}  # (t, name, unit) -> label of a wrong claim
    accepted: set[tuple[int | None, str, int]] = set()  # (t, name, unit) of the claims found right
    blanks = {(t, name, u) for c in step_claims for t, name in [_normalize(c, T)] if t is not None
              for u, v in ([(c.unit, float(c.value))] if c.unit is not None else enumerate(np.ravel(c.value).tolist()))
              if np.isnan(v)}  # (t, name, unit) left "?": a formula line shown without --answers withholds their values
    for c in step_claims:
        t, name = _normalize(c, T)
        shape = None
        if t is None and exact_bw is not None:
            shape = () if name == "loss" else np.shape(exact_bw.param_grads.get(name[1:], np.zeros(0)))
        absent = exact_bw is not None and (name[1:] not in exact_bw.param_grads if t is None and name != "loss" else
                                           t is not None and name not in exact.record(t, name).values)
        if (c.name in BACKWARD_QUANTITIES or c.is_total) and (exact_bw is None or absent):
            detail = (f"the backward pass cannot be computed: {why_not}" if exact_bw is None else
                      f"{symbol(name[1:] if t is None else name, t, ex)} takes no part in the loss {loss!r}")
            rep.findings.append(Finding(UNCHECKED, _label(name, t, None, ex=ex), c.where, step=t, name=name, decimals=c.decimals,
                                        detail=detail))
            continue
        n = exact.record(t, name).values[name].shape[0] if t is not None else int(np.prod(shape))
        if c.unit is None and c.value.size != n or (c.unit is None and t is not None and c.value.shape != (n,)):
            has = "the cell computes" if t is not None else f"{name} has shape {shape}:"
            rep.findings.append(Finding(SHAPE, _label(name, t, None, ex=ex), c.where, str(c.value.tolist()), step=t, name=name,
                                        detail=f"written with {c.value.size} entries; {has} {n}"))
            continue
        values = np.ravel(c.value)
        units = [c.unit] if c.unit is not None else range(n)
        for u in units:
            if u >= n:
                rep.findings.append(Finding(SHAPE, _label(name, t, u, ex=ex), c.where, step=t, name=name,
                                            detail=f"unit {u + 1} does not exist; there are {n}"))
                continue
            k = 0 if c.unit is not None else u  # the entry of the claim
            claimed = float(c.value) if c.unit is not None else float(values[u])
            d = c.precision(k)  # each entry at its own precision: [1.0, 0.88] is 1.0 at one decimal, 0.88 at two
            rep.findings.append(_judge(ex, c, k, t, name, u, claimed, exact, run(d), run(d, c.where),
                                       run(None, c.where), wrong, accepted, shape,
                                       lambda: interval(c.where, t, name, u), blanks))
    rep.findings += _check_conflicts(ex)
    return rep


def _judge(ex, c, k, t, name, u, claimed, exact, hand, own, own_exact, wrong, accepted, shape=None, span=None,
           blanks=frozenset()) -> Finding:
    """The verdict on one claimed number, entry k of claim c, at that entry's precision. ``hand``:
    the hand computation at that precision; ``own``: the same from the author's own claimed
    numbers; ``own_exact``: the same without rounding (a person who rounds only what they write
    down); ``span``: a function returning (lo, hi), what the author's own numbers give when each
    stands for the interval its written digits allow (:func:`interval_forward`; None where not
    computed), called only when it is read (a claim after a wrong value). The claim agrees
    with the author's own numbers when it is within half a unit of ``own`` or ``own_exact``, or, when
    an earlier value it comes from is wrong (it has culprits), when its own interval [claimed - tol,
    claimed + tol] overlaps ``span``: the span can only make a new error one that follows, never make
    a claim right. Right claims go into
    ``accepted``, wrong ones into ``wrong`` (both read by :func:`_culprits`)."""
    d = c.precision(k)
    label = _label(name, t, u, shape, ex)
    e = exact.get(t, name, u)
    hv = hand.get(t, name, u)
    ov = own.get(t, name, u, computed=True)
    oxv = own_exact.get(t, name, u, computed=True)
    f = Finding(OK, label, c.where, None, None if np.isnan(e) else e, None if np.isnan(hv) else hv,
                None if np.isnan(ov) else ov, d, step=t, name=name, unit=u, written=c.written(k))
    if np.isnan(claimed):
        f.verdict, f.claimed, f.detail = BLANK, "?", "left blank"
        wrong[(t, name, u)] = label
        return f
    f.claimed = claimed
    if name == "pred":
        K = exact.fw.steps[t - 1].values["y"].shape[0]
        if claimed != int(claimed) or not 0 <= claimed < K:
            f.verdict, f.detail = RANGE, f"a predicted class is an index from 0 to {K - 1}"
            wrong[(t, name, u)] = label
            return f
    bounds = ranges(ex)
    if name in bounds:
        lo, hi, fn = bounds[name]
        if not lo - tol(d) <= claimed <= hi + tol(d):
            f.verdict, f.detail = RANGE, f"{fn} only takes values in [{lo:g}, {hi:g}]"
            wrong[(t, name, u)] = label
            return f
    if name == "c" and {"i", "f", "g"} <= bounds.keys():  # 0 <= f, i <= 1 and |c̃| <= 1 (a cell clip or zoneout only shrinks c)
        cp = own.fw.steps[t - 1].values["c_prev"][u]  # c_(t-1) as the author has it (c_0: the input)
        if np.isnan(cp):
            cp = exact.fw.steps[t - 1].values["c_prev"][u]
        # by hand f * c_(t-1) rounds to at most |c_(t-1)| rounded, i * c̃ to at most 1
        top = max(abs(cp), float(hand_round(np.array(abs(cp)), d))) + 1.0
        if not np.isnan(cp) and abs(claimed) > top + tol(d):
            f.verdict = RANGE
            f.detail = (f"|{symbol('c', t)}| ≤ |{symbol('c_prev', t)}| + 1 = {_fmt(top, d)}, as {symbol('c', t)} = "
                        f"{symbol('fc', t)} + {symbol('ig', t)} with f and i in [0, 1], c̃ in [-1, 1]")
            wrong[(t, name, u)] = label
            return f
    if name == "pred":
        right = not np.isnan(e) and int(claimed) == int(e)
        hand_right = not np.isnan(hv) and int(claimed) == int(hv)
    else:
        right = not np.isnan(e) and abs(claimed - e) <= tol(d)
        hand_right = not np.isnan(hv) and (abs(claimed - hv) <= tol(d) or claimed == hv)  # claimed == hv: both ∞
    if right:
        accepted.add((t, name, u))
        return f
    if hand_right:
        f.verdict = OK_HAND
        f.detail = f"agrees with hand-rounding to {count(d, 'decimal')} carried forward; exact rounds to {_fmt(hand_round(np.array(e), d), d)}"
        accepted.add((t, name, u))
        return f
    if np.isnan(e) and np.isnan(ov):
        f.verdict, f.detail = UNCHECKED, "the example gives neither the weights nor the inputs this comes from"
        return f
    agrees_own = not np.isnan(ov) and abs(claimed - ov) <= tol(d)
    if not agrees_own and not np.isnan(oxv) and abs(claimed - oxv) <= tol(d):
        agrees_own, ov = True, oxv  # from the author's numbers, rounded only where written down
    culprits = _culprits(ex, t, name, u, wrong, accepted, exact, shape)
    left_blank = {lbl for key, lbl in wrong.items() if key in blanks}  # culprits that are answers left "?"
    uses_blank = f.uses_blank = any(x in left_blank for x in culprits)
    if uses_blank:  # neither right nor right by hand, and computed from a blank, whose value the author does not know
        return _after_blank(ex, c, k, t, name, u, d, own, claimed, (e, hv, ov, oxv), label, culprits, left_blank, wrong,
                            blanks, f)
    span = span() if span is not None and not agrees_own and culprits else None  # the intervals only where read
    if span is not None and span[0] - tol(d) <= claimed <= span[1] + tol(d):
        # after a wrong value only: the written numbers, each anything its digits allow, give a range that the
        # claim's own overlaps, so it may follow from the wrong one. Never a reason to call a claim right: earlier
        # values judged right are known, and a claim after right ones is judged at the points above
        agrees_own = True
    if agrees_own and not culprits:  # it follows from earlier numbers that were all right
        accepted.add((t, name, u))
        if np.isnan(e):
            f.detail = "agrees with the example's own numbers (the weights it comes from are not given)"
        else:
            f.verdict = OK_HAND
            f.detail = (f"follows from the earlier values as written ({_fmt(ov, d)}), which are right but rounded "
                        f"differently from the hand computation at {count(d, 'decimal')}")  # fmt: skip
        return f
    wrong[(t, name, u)] = label
    short = _too_few_decimals(c, k, claimed, e, hv)
    if short:
        f.verdict, f.detail = SHORT, short
        return f
    if agrees_own and culprits:
        f.verdict, f.culprits = FOLLOWS, tuple(culprits)
        f.detail = "follows from the wrong " + ", ".join(culprits)
    elif np.isnan(e):
        f.verdict = NEW
        f.detail = f"disagrees with the example's own numbers, which give {_fmt(ov, d)}"
    else:
        f.verdict = NEW
        line = _formula(ex, own, t, name, u, d)  # the line explain prints, from the author's own numbers
        f.detail = "a new error" + (f": {line}" if line else "")
        if not line and not np.isnan(ov) and abs(ov - hv) > tol(d):
            f.detail += f"; even from the example's own earlier numbers it is {_fmt(ov, d)}"
        blind = _formula(ex, own, t, name, u, d, blanks, full=line) if line and blanks else line
        if blind != line:  # it uses a blank's value: without --answers shown as "?"
            f.blind = f"a new error: {blind} (? is an answer left blank)"
        slip = _slip(ex, own, t, name, u, d, claimed, c.written(k) or _fmt(claimed, d), (e, hv, ov, oxv))
        if slip:
            f.detail += f"; {slip}"
        rest = " (it also uses the wrong " + ", ".join(culprits) + ")" if culprits else ""  # none left blank (above)
        f.detail += rest
        if f.blind:
            f.blind += (f"; {slip}" if slip else "") + rest
    return f


def _after_blank(ex, c, k, t, name, u, d, own, claimed, right, label, culprits, left_blank, wrong, blanks, f) -> Finding:
    """The verdict on a claim that is neither right nor right by hand and is computed from an answer
    left blank (one of its ``culprits`` is in ``left_blank``): AFTER_BLANK, or "too few decimals". The
    author does not know the blank's value, so the claim is not judged against it: neither a new error
    nor one that follows (from the author's own numbers, which would take the blank's value from the
    key); the verdict depends on the claim, the exact and the by-hand value alone. The detail names
    the blanks ("depends on o_1 unit 1, left blank") and any wrong value among the culprits; with
    --answers it adds the line from the author's own numbers, the key's for the blanks, and the slip
    they show (``right``: exact, by hand, from the author's numbers, the same unrounded, as for
    :func:`_slip`), and without (``blind``) only the line, each blank's value and what follows from it
    as "?"."""
    e, hv = right[:2]
    wrong[(t, name, u)] = label
    short = _too_few_decimals(c, k, claimed, e, hv)
    if short:
        f.verdict, f.detail = SHORT, short
        return f
    gone = [x for x in culprits if x in left_blank]
    wrong_ones = [x for x in culprits if x not in left_blank]
    f.verdict = AFTER_BLANK
    f.detail = ("not the exact value nor the by-hand one, and it depends on " + ", ".join(gone) + ", left blank"
                + ("; it also uses the wrong " + ", ".join(wrong_ones) if wrong_ones else ""))
    line = _formula(ex, own, t, name, u, d)
    blind = _formula(ex, own, t, name, u, d, blanks, full=line) if line else ""
    f.blind = f.detail + (f": {blind} (? is an answer left blank)" if blind else "")
    if line:
        f.detail += f"; with the blanks' answers: {line}"
    slip = _slip(ex, own, t, name, u, d, claimed, c.written(k) or _fmt(claimed, d), right)
    if slip:
        f.detail += f"; {slip}"
    return f


def _num(v: float, d: int) -> str:
    """A number in a formula: at d decimals, or with more where the author wrote more (0.88 at 1);
    unknown (NaN) is '?' and infinite '∞', as :func:`_fmt` writes them."""
    s = _fmt(v, d)
    if np.isfinite(v) and abs(float(s) - v) > 1e-9:
        s = f"{v:.10g}"
    return s


def _p(v: float, d: int) -> str:
    """A number after an operator: a negative one in parentheses, 1.0 * (-0.9)."""
    s = _num(v, d)
    return f"({s})" if s.startswith("-") else s


def _row(W: np.ndarray, u: int, v, d: int, cols: slice = slice(None)) -> str:
    """Row u of the weights W (its columns ``cols``) times a vector, term by term: 1 * 0.7 + (-2) * 0.0;
    the weights as explain writes the whole matrix (:func:`~lstmkit.explain.build.written`: as
    given, one format)."""
    weights = np.reshape(as_given(W), np.shape(W))[u][cols]
    return " + ".join(f"{a} * {_p(b, d)}" if i == 0 or not a.startswith("-") else f"({a}) * {_p(b, d)}"
                      for i, (a, b) in enumerate(zip(weights, v)))


def _plus(*rows: str) -> str:
    """Rows of :func:`_row` added up: a later row's leading negative weight in parentheses, + (-2) * 0.0."""
    return " + ".join(r if i == 0 or not r.startswith("-") else "(" + r.replace(" *", ") *", 1) for i, r in enumerate(rows))


def _terms(values, op: str, d: int) -> str:
    """Numbers joined by ``op``: 0.1 * 0.8 + ..., 0.1 + (-0.9)."""
    return f" {op} ".join(_num(v, d) if i == 0 else _p(v, d) for i, v in enumerate(values))


#: the quantities :func:`_formula` writes no line for: inputs, the read-out, sums over weights
_NO_FORMULA = ("x", "h_prev", "c_prev", "logits", "y", "pred", "loss", "dlogits", "dh_out", "dh_next", "dc_next",
               "dh_prev", "dx")


def _unit(ex: WorkedExample, own: _Run, t: int, name: str, u: int) -> dict[str, float]:
    """Unit u of every per-unit quantity of step t in ``own``, the backward pass's too for a gradient."""
    records = [own.fw.steps[t - 1]] + ([own.record(t, name)] if name in BACKWARD_QUANTITIES else [])
    H = ex.hidden_size
    return {n: float(v[u]) for rec in records for n, v in rec.values.items()
            if n not in ("x", "dx", "logits", "y", "pred", "loss", "dlogits") and len(v) == H}


def _formula(ex: WorkedExample, own: _Run, t: int | None, name: str, u: int, d: int, hide=frozenset(),
             full: str | None = None) -> str:
    """Unit u of ``name``'s line at step t, in ``explain``'s symbols and the example's weight names
    (``W_if x_1``, seed 002's ``Wi1 x_1``), one unit where explain's steps form writes vectors, with
    the numbers of ``own`` (the hand computation at d decimals from the author's own numbers: theirs
    where they wrote them), ending in what those numbers give: ``c_2 = f_2 * c_1 + i_2 * c̃_2 =
    0.1 * 0.8 + 1.0 * (-0.9) = 0.1 + (-0.9) = -0.8``. "" where there is none to show (a variant cell,
    the read-out, a sum over weights or steps, a number unknown). ``hide``: the (t, name, unit) of
    answers left blank, whose values the line writes as "?" (and, where it uses one, its result);
    ``full``: the line without ``hide``, where the caller has it (built once, not again here)."""
    if t is None or not ex.is_plain or name in _NO_FORMULA:
        return ""
    fw = own.fw.steps[t - 1].values
    rec = own.fw.steps[t - 1]
    # the author wrote a number other than what its parts give: the line of its parts would not add up
    written = lambda n: rec.values[n][u] != rec.computed[n][u]  # noqa: E731
    V = _unit(ex, own, t, name, u)
    if hide:
        full = _formula(ex, own, t, name, u, d) if full is None else full
        if not full:
            return ""
        gone = {n for n in V if (t, n, u) in hide} | {p for p, q in (("c_prev", "c"), ("h_prev", "h")) if (t - 1, q, u) in hide}
        if any((t - 1, "h", m) in hide for m in range(len(fw["h_prev"]))):
            # W_hk h_(t-1) (and W_k·[h_(t-1), x_t]) mixes every unit of h_(t-1): one blank unit makes its value
            # a blank's, and with the weights given, two such values would solve for the blank h_(t-1)
            gone |= {n for n in V if n.startswith(("Wh_", "Wxh_"))}
        V = {n: np.nan if n in gone else v for n, v in V.items()}
        fw = dict(fw, h_prev=np.array([np.nan if (t - 1, "h", m) in hide else v for m, v in enumerate(fw["h_prev"])]))
    S = lambda n: symbol(n, t, ex)  # noqa: E731
    N = lambda *ns, op="*": _terms([V[n] for n in ns], op, d)  # noqa: E731
    if name.startswith(("Wx_", "Wh_", "Wxh_", "z_")):
        k = name.split("_", 1)[1]
        G = ex.gates[k]
        if name.startswith("Wx_") or name.startswith("Wh_") or ex.notation == "concat" and name.startswith("Wxh_"):
            W = {"Wx_": G.Wx, "Wh_": G.Wh}.get(name[:3])
            v = fw["x"] if name.startswith("Wx_") else fw["h_prev"]
            if name.startswith("Wxh_"):  # seeds 001/003: one product, W_k's row on [h_(t-1), x_t]
                W = None if G.Wx is None or G.Wh is None else np.concatenate([G.Wh, G.Wx], axis=1)
                v = np.concatenate([fw["h_prev"], fw["x"]])
            if W is None:
                return ""
            rhs = [_row(W, u, v, d)]
        elif name.startswith("Wxh_"):
            rhs = [f"{S('Wx_' + k)} + {S('Wh_' + k)}", N("Wx_" + k, "Wh_" + k, op="+")]
        else:  # z_k = W_xk x_t + W_hk h_(t-1) + b_k, or W_k·[h_(t-1), x_t] + b_k
            b = 0.0 if G.b is None else float(G.b[u])
            parts = ["Wxh_" + k] if ex.notation == "concat" else ["Wx_" + k, "Wh_" + k]
            rhs = [" + ".join([S(p) for p in parts] + ([ex.weight_label(k, "b", written=True)] if b else [])),
                   " + ".join([N(*parts, op="+")] + ([_p(b, d)] if b else []))]
            product = _formula(ex, own, t, parts[0], u, d, hide).split(" = ")
            if len(parts) == 1 and not b and len(product) > 2:  # z = W·[h, x]: its product
                rhs[1] = product[1]
    elif name in GATES:
        act = "tanh" if name == "g" else "σ"
        rhs = [f"{act}({S('z_' + name)})", f"{act}({_num(V['z_' + name], d)})"]
    elif name in ("fc", "ig"):
        rhs = [N("f", "c_prev") if name == "fc" else N("i", "g")]
    elif name == "c":  # (the products' line only where the author did not write the products themselves)
        rhs = [f"{S('fc')} + {S('ig')}", f"{N('f', 'c_prev')} + {N('i', 'g')}", N("fc", "ig", op="+")]
        if written("fc") or written("ig"):
            del rhs[1]
    elif name == "tanh_c":
        rhs = [f"tanh({_num(V['c'], d)})"]
    elif name == "h":  # (tanh(c)'s line only where the author did not write tanh(c))
        rhs = [f"{S('o')} * {S('tanh_c')}", f"{_num(V['o'], d)} * tanh({_num(V['c'], d)})", N("o", "tanh_c")]
        if written("tanh_c"):
            del rhs[1]
    elif name == "dh":
        rhs = [f"{S('dh_out')} + dh_next", N("dh_out", "dh_next", op="+")]
    elif name == "do":
        rhs = [f"{S('dh')} * {S('tanh_c')}", N("dh", "tanh_c")]
    elif name == "dtanh_c":
        rhs = [f"1 - {_p(V['tanh_c'], d)}²"]
    elif name == "dc":
        rhs = [f"{S('dh')} * {S('o')} * ({S('dtanh_c')}) + dc_next", f"{N('dh', 'o', 'dtanh_c')} + {_p(V['dc_next'], d)}"]
    elif name in ("di", "df", "dg"):
        other = {"di": "g", "df": "c_prev", "dg": "i"}[name]
        rhs = [f"{S('dc')} * {S(other)}", N("dc", other)]
    elif name.endswith("_dz"):
        g = name[1]
        rhs = [f"1 - {_p(V['g'], d)}²" if g == "g" else f"{_num(V[g], d)} * (1 - {_num(V[g], d)})"]
    elif name.startswith("dz_"):
        g = name[3:]
        rhs = [f"{S('d' + g)} * {S(f'd{g}_dz')}", N("d" + g, f"d{g}_dz")]
    elif name == "dc_prev":
        rhs = [f"{S('dc')} * {S('f')}", N("dc", "f")]
    else:
        return ""
    if hide:  # the full line has no "?" (checked above): any here is a blank's; what follows it is computed from it
        first = next((i for i, r in enumerate(rhs) if "?" in r), None)
        if first is None:
            return " = ".join([S(name), *rhs, _num(own.record(t, name).computed[name][u], d)])
        return " = ".join([S(name), *rhs[:first + 1], "?"])
    line = " = ".join([S(name), *rhs, _num(own.record(t, name).computed[name][u], d)])
    return "" if "?" in line else line  # a number unknown (the example states a value its parts cannot give)


def _slip(ex: WorkedExample, own: _Run, t: int | None, name: str, u: int, d: int, claimed: float, written: str,
          right: tuple[float, ...]) -> str:
    """A common slip the claimed number is the result of, at its precision, from the author's own
    numbers (``own``), and not the right one (``right``: exact, by hand, from the author's numbers,
    the same unrounded): the forget gate left out of c, c in place of tanh(c) in h, σ in place of
    tanh for the candidate, tanh in place of σ for a gate, the input and recurrent weights swapped in
    z (or W·[h, x]; not where h_(t-1) is all 0, where it cannot be told from W_hk x_t alone), a weight
    matrix transposed, c_(t-1) used where h_(t-1) belongs, a right value rounded to fewer decimals
    than it is written with ("1.00" for 0.98), dc_next or the factor 1 - tanh²(c) left out of dc,
    dh_next out of dh; said only when exactly one of them gives the number (two that give it are a
    guess). Else the fact that it is a right value with the opposite sign (a weak clue, said last);
    "" for none."""
    near = lambda v: not np.isnan(v) and abs(claimed - v) <= tol(d)  # noqa: E731
    if t is None or any(near(r) for r in right):
        return ""
    slips = _swapped(ex, own, t, name, u, d) + _transposed(ex, own, t, name, u, d) + _c_for_h(ex, own, t, name, u, d)
    if d > 1:  # a right value (the author's own unrounded, else exact) rounded to 1 <= dd < d decimals, written
        # with d; not to 0 decimals, nor to 0 (a 0.00 or 1.0 is too often a coincidence)
        rounded = [(dd, r) for dd in range(d - 1, 0, -1) for r in (right[3], right[0]) if not np.isnan(r)
                   and claimed != 0 and abs(claimed - float(hand_round(np.array(r), dd))) <= 1e-9 * max(1.0, abs(r))]
        if rounded:  # "1.00" for 0.982: the most decimals it was rounded to
            dd, r = rounded[0]
            slips.append((claimed, f"{_fmt(r, d + 1)} rounded early",
                          f"rounded to {count(dd, 'decimal')} and written with {d} (keep the digits: {_fmt(r, d)})"))
    if ex.is_plain and name in ("i", "f", "o"):
        V = _unit(ex, own, t, name, u)
        z = f"z_{name}"
        slips.append((float(np.tanh(V[z])), f"tanh({symbol(z, t, ex)}) = tanh({_num(V[z], d)})", "tanh in place of σ for a gate"))
    if ex.is_plain and name in ("c", "h", "tanh_c", "g", "dc", "dh"):  # a value NaN (unknown) matches nothing
        V = _unit(ex, own, t, name, u)
        S = lambda n: symbol(n, t, ex)  # noqa: E731
        N = lambda *vs, op="*": _terms([V[v] for v in vs], op, d)  # noqa: E731
        if name == "c":
            slips += [(V["ig"], f"{S('ig')} = {N('i', 'g')}", f"the term {S('fc')} is left out"),
                     (V["c_prev"] + V["ig"], f"{S('c_prev')} + {S('ig')} = {N('c_prev', 'ig', op='+')}",
                      f"the forget gate is left out ({S('f')} taken as 1)")]
        elif name == "h":
            slips += [(V["o"] * V["c"], f"{S('o')} * {S('c')} = {N('o', 'c')}", f"{S('c')} in place of {S('tanh_c')}")]
        elif name == "tanh_c":
            slips += [(V["c"], f"{S('c')} = {N('c')}", "tanh is not applied")]
        elif name == "g":
            slips += [(1 / (1 + np.exp(-V["z_g"])), f"σ({S('z_g')}) = σ({N('z_g')})", "σ in place of tanh for the candidate")]
        elif name == "dc":
            slips += [(V["dh"] * V["o"] * V["dtanh_c"], f"{S('dh')} * {S('o')} * ({S('dtanh_c')}) = {N('dh', 'o', 'dtanh_c')}",
                      "dc_next is left out"),
                     (V["dh"] * V["o"] + V["dc_next"], f"{S('dh')} * {S('o')} + dc_next = {N('dh', 'o')} + {_p(V['dc_next'], d)}",
                      f"the factor {S('dtanh_c')} is left out")]
        else:
            slips += [(V["dh_out"], f"{S('dh_out')} = {N('dh_out')}", "dh_next is left out")]
    # a slip's value from the author's written h_(t-1) or c_(t-1) is known to ±(its weights' sizes * half a unit)
    hits = {why: formula for value, formula, why, *width in slips
            if not np.isnan(value) and abs(claimed - value) <= tol(d) + (width[0] if width else 0.0)}  # (a NaN value, as any line with an unknown part has, matches nothing)
    if hits:  # where two slips give it, both, as alternatives: naming one would be a guess
        return "; or it is ".join(f"{written if i == 0 else ''}{' is ' if i == 0 else ''}{formula}: {why}"
                                  for i, (why, formula) in enumerate(hits.items()))
    for r in right:  # minus a right value: a fact, not a cause (a swap of weights can give it too)
        if not np.isnan(r) and abs(r) > tol(d) and near(-r):
            return f"{written} is -({_fmt(r, d)}), the right value with the opposite sign"
    return ""


def _swapped(ex: WorkedExample, own: _Run, t: int, name: str, u: int, d: int) -> list[tuple[float, str, str, float]]:
    """The slip of z_k (or W_k·[h, x]) with the input and recurrent weights swapped, W_xk h_(t-1) +
    W_hk x_t (+ b_k), from the author's own h_(t-1): seed 002's 'opposite signs' slide applies ws1 to
    the input. Only where the two fit (as many inputs as units); [] for other quantities."""
    if not ex.is_plain or not name.startswith(("z_", "Wxh_")):
        return []
    k = name.split("_", 1)[1]
    G = ex.gates[k]
    fw = own.fw.steps[t - 1].values
    x, h = fw["x"], fw["h_prev"]
    if G.Wx is None or G.Wh is None or len(x) != len(h) or not np.any(h):  # h_(t-1) = 0: W_hk x_t alone, no sign of a swap
        return []
    value = float(G.Wx[u] @ h + G.Wh[u] @ x)
    if ex.notation == "concat":  # W_k = [W_k,h | W_k,x], one matrix in the file; explain's note names its columns so
        label, W, H = ex.weight_label(k, "W", written=True), ex.weights[ex.weight_label(k, "W")], G.Wh.shape[1]
        wx, wh = f"{label},x", f"{label},h"
        numbers = _plus(_row(W, u, h, d, slice(H, None)), _row(W, u, x, d, slice(0, H)))
    else:
        wx, wh = ex.weight_label(k, "x"), ex.weight_label(k, "h")
        numbers = _plus(_row(G.Wx, u, h, d), _row(G.Wh, u, x, d))
    hs, xs = symbol("h_prev", t), symbol("x", t)
    terms = f"{wx} {hs} + {wh} {xs}"
    b = 0.0 if G.b is None else float(G.b[u])
    if name.startswith("z_") and b:
        value += b
        terms, numbers = f"{terms} + {ex.weight_label(k, 'b', written=True)}", f"{numbers} + {_p(b, d)}"
    width = 0.0 if t == 1 else tol(d) * float(np.abs(G.Wx[u]).sum())  # h_(t-1) as written: ± half a unit each
    return [(value, f"{terms} = {numbers}", f"the weights are swapped ({wx} applied to {hs}, {wh} to {xs})", width)]


def _transposed(ex: WorkedExample, own: _Run, t: int, name: str, u: int, d: int) -> list[tuple[float, str, str, float]]:
    """The slip of W x_t, W h_(t-1) or z_k with each weight matrix transposed: unit u from column u
    of W_xk and W_hk (W_xkᵀ x_t + W_hkᵀ h_(t-1) + b_k), from the author's own h_(t-1). Per-gate
    notation only, where the transposed matrices fit (W_xk square for x_t); [] otherwise."""
    if not ex.is_plain or ex.notation != "per_gate" or not name.startswith(("z_", "Wxh_", "Wx_", "Wh_")):
        return []
    k = name.split("_", 1)[1]
    G = ex.gates[k]
    fw = own.fw.steps[t - 1].values
    x, h = fw["x"], fw["h_prev"]
    parts = [(W, v, lbl, s) for part, W, v, lbl, s in (("x", G.Wx, x, ex.weight_label(k, "x"), symbol("x", t)),
                                                       ("h", G.Wh, h, ex.weight_label(k, "h"), symbol("h_prev", t)))
             if name.startswith(("z_", "Wxh_")) or name.startswith(f"W{part}_")]
    if any(W is None or W.shape[0] != W.shape[1] for W, *_ in parts):
        return []
    value = sum(float(W[:, u] @ v) for W, v, *_ in parts)
    terms = " + ".join(f"{lbl}ᵀ {s}" for _, _, lbl, s in parts)
    numbers = _plus(*(_row(W.T, u, v, d) for W, v, *_ in parts))
    b = 0.0 if G.b is None else float(G.b[u])
    if name.startswith("z_") and b:
        value += b
        terms, numbers = f"{terms} + {ex.weight_label(k, 'b', written=True)}", f"{numbers} + {_p(b, d)}"
    names = " and ".join(lbl for _, _, lbl, _ in parts)
    what = "the matrix is" if len(parts) == 1 else "the matrices are"
    width = 0.0 if t == 1 or not name.startswith(("z_", "Wxh_", "Wh_")) else tol(d) * float(np.abs(G.Wh[:, u]).sum())
    return [(value, f"{terms} = {numbers}",
             f"{what} transposed: unit {u + 1} is row {u + 1} of {names}, W[{u + 1}, :], not column {u + 1}, W[:, {u + 1}]", width)]


def _c_for_h(ex: WorkedExample, own: _Run, t: int, name: str, u: int, d: int) -> list[tuple[float, str, str, float]]:
    """The slip of W h_(t-1), W·[h, x] or z_k computed with the author's own c_(t-1) in place of
    h_(t-1) (the two memories mixed up), at t > 1; [] otherwise."""
    if t < 2 or not ex.is_plain or not name.startswith(("z_", "Wxh_", "Wh_")):
        return []
    k = name.split("_", 1)[1]
    G = ex.gates[k]
    fw = own.fw.steps[t - 1].values
    x, c = fw["x"], fw["c_prev"]
    if G.Wh is None or (G.Wx is None and not name.startswith("Wh_")):
        return []
    cs, hs = symbol("c_prev", t), symbol("h_prev", t)
    if ex.notation == "concat":
        label = ex.weight_label(k, "W", written=True)
        W = ex.weights[ex.weight_label(k, "W")]
        H = G.Wh.shape[1]
        terms, numbers = f"{label}·[{cs}, {symbol('x', t)}]", (_row(W, u, c, d, slice(0, H)) if name.startswith("Wh_") else
                                                                 _plus(_row(W, u, c, d, slice(0, H)), _row(W, u, x, d, slice(H, None))))
    else:
        wx, wh = ex.weight_label(k, "x"), ex.weight_label(k, "h")
        terms, numbers = (f"{wh} {cs}", _row(G.Wh, u, c, d)) if name.startswith("Wh_") else (
            f"{wx} {symbol('x', t)} + {wh} {cs}", _plus(_row(G.Wx, u, x, d), _row(G.Wh, u, c, d)))
    value = float(G.Wh[u] @ c) + (0.0 if name.startswith("Wh_") else float(G.Wx[u] @ x))
    b = 0.0 if G.b is None else float(G.b[u])
    if name.startswith("z_") and b:
        value += b
        terms, numbers = f"{terms} + {ex.weight_label(k, 'b', written=True)}", f"{numbers} + {_p(b, d)}"
    return [(value, f"{terms} = {numbers}", f"{cs} used where {hs} belongs", tol(d) * float(np.abs(G.Wh[u]).sum()))]


def _too_few_decimals(c, k, claimed, e, hv) -> str:
    """Why entry k of an exercise's answer c is wrong when it is right at the decimals it is written
    with, fewer than the exercise asks for ("0.7: written to 1 decimal, the exercise asks for 2:
    0.71"); else ""."""
    w = c.entries[k] if k < len(c.entries) else None
    if c.asked is None or w is None or w.decimals >= c.asked:
        return ""
    if not any(not np.isnan(r) and abs(claimed - r) <= tol(w.decimals) for r in (e, hv)):
        return ""
    ref = hv if not np.isnan(hv) else e
    why = f"{w.text}: written to {count(w.decimals, 'decimal')}, the exercise asks for {c.asked}: {_fmt(ref, c.asked)}"
    if not w.quoted:  # a TOML number has lost any trailing zeros
        why += " (a plain TOML number drops its trailing zeros: write it in quotes to keep them)"
    return why


#: edges along which every unit feeds every unit (matrix products, softmax, the loss); others are unit-wise
MIXING = {(f"Wx_{k}", "x") for k in GATES} | {(f"Wh_{k}", "h_prev") for k in GATES} | {
    ("logits", "h"), ("y", "logits"), ("pred", "y"), ("loss", "y"), ("loss", "h"), ("dh_out", "dlogits")} | {
    (g, f"dz_{k}") for g in ("dh_prev", "dx") for k in GATES}


def _deps(name: str, loss: str | None) -> tuple[str, ...]:
    """DEPS, with the loss's: -log y_t[target] ("xent") or Σ h_T ("sum_h", whose dh_out is a constant)."""
    if loss == "sum_h" and name in ("loss", "dh_out"):
        return ("h",) if name == "loss" else ()
    return DEPS[name]


def _grad_source(ex: WorkedExample, w: str) -> tuple[str, str]:
    """(gate k, or "y" for the read-out; the part: "x", "h", "hx" (concat's [h, x]), "y" (W_y's h_t)
    or "b") of the weight named ``w`` in the example's notation."""
    if w in ("W_y", "b_y"):
        return "y", "y" if w == "W_y" else "b"
    for k in GATES:
        L = SEED_LETTER[k]
        names = {"per_gate": {f"W_i{L}": "x", f"W_h{L}": "h", f"b_i{L}": "b", f"b_h{L}": "b"},
                 "concat": {f"W_{L}": "hx", f"b_{L}": "b"}}.get(
            ex.notation, {ex.weight_label(k, "x"): "x", ex.weight_label(k, "h"): "h", ex.weight_label(k, "b"): "b"})
        if w in names:
            return k, names[w]
    raise KeyError(w)


def _total_deps(ex: WorkedExample, name: str, u: int, shape) -> list[tuple[int, str, int]]:
    """What entry u of a total is summed from: L from each step's term; dW of gate k, row r, column m
    from dz_k[r] times x_t[m] or h_{t-1}[m] at each step (db: dz_k[r]); dW_y from dlogits and h_t."""
    ts = range(1, ex.T + 1)
    if name == "loss":
        return [(t, "loss", 0) for t in ts]
    k, part = _grad_source(ex, name[1:])
    if ex.notation == "unit":  # one unit: Wi (I,) by input, Ws and Bias one number
        row, col = 0, u
    else:
        row, col = (int(i) for i in np.unravel_index(u, shape)) if len(shape) == 2 else (u, None)
    out = [(t, "dlogits" if k == "y" else f"dz_{k}", row) for t in ts]
    H = ex.hidden_size
    src = {"x": ("x", col), "h": ("h_prev", col), "y": ("h", col), "b": None,
           "hx": None if col is None else ("h_prev", col) if col < H else ("x", col - H)}[part]
    return out + ([] if src is None else [(t, *src) for t in ts])


def _culprits(ex, t, name, u, wrong, accepted, exact, shape=None) -> list[str]:
    """The nearest wrong claims among the values unit u of (t, name) is computed from; a value
    claimed and found right (``accepted``) stops the search: what came before it no longer matters."""
    found: list[str] = []
    seen = set()
    loss = None if exact.bw is None else exact.bw.loss_kind
    if t is None:
        stack = _total_deps(ex, name, u, shape)
    else:
        stack = [(t, d, None if (name, d) in MIXING else u) for d in _deps(name, loss)]
    while stack:
        tt, d, uu = stack.pop()
        if d.startswith("prev:"):
            tt, d = tt - 1, d[5:]
        elif d.startswith("next:"):
            tt, d = tt + 1, d[5:]
        if not 1 <= tt <= ex.T:
            continue
        if (tt, d, uu) in seen:
            continue
        seen.add((tt, d, uu))
        hits = [lbl for (wt, wn, wu), lbl in wrong.items() if wt == tt and wn == d and (uu is None or wu == uu)]
        if hits:
            found += [h for h in hits if h not in found]
            continue
        rec = exact.record(tt, d)
        units = range(len(rec.values[d])) if uu is None else (uu,)
        if all((tt, d, k) in accepted for k in units):
            continue  # claimed and right
        if rec.source.get(d) == "given":
            continue  # the example states this value; nothing before it feeds it
        stack += [(tt, dd, None if (d, dd) in MIXING else uu) for dd in _deps(d, loss)]
    return found


def _fmt(v, d) -> str:
    """v at d decimals; at a fraction's precision (exact, :data:`~lstmkit.explain.worked.EXACT`) at 6."""
    return "?" if v is None or np.isnan(v) else fnum(v, d if d < EXACT else 6)


def _check_params(ex: WorkedExample) -> list[Finding]:
    out = []
    H, I = ex.hidden_size, ex.input_size
    for c in ex.claims:
        if not c.is_param:
            continue
        shape = expected_weight_shape(ex.notation, c.name, H, I)
        label = ex.written_name(c.name)
        v = c.value
        if ex.notation == "unit":
            v = v.reshape(shape) if v.size == int(np.prod(shape)) else v
        if v.shape != shape:
            out.append(Finding(SHAPE, label, c.where, str(c.value.tolist()), decimals=c.decimals, name=c.name,
                               detail=f"printed with shape {c.value.shape}; this cell (H={H}, I={I}) needs {shape}"))
        elif c.name not in ex.weights:
            out.append(Finding(UNCHECKED, label, c.where, str(c.value.tolist()), name=c.name,
                               detail="not among the example's [weights], so not used"))
        else:
            w = ex.weights[c.name].reshape(shape)
            d = np.reshape([c.precision(k) for k in range(v.size)], shape)  # each entry at its own precision
            diff = np.argwhere(np.abs(v - w) > np.vectorize(tol)(d))
            if len(diff):
                idx = tuple(int(i) for i in diff[0])
                k = int(np.ravel_multi_index(idx, shape)) if shape else 0
                out.append(Finding(CONFLICT, label, c.where, float(v[idx]), exact=float(w[idx]), decimals=c.precision(k), written=c.written(k),
                                   name=c.name, detail=f"entry {tuple(i + 1 for i in idx)} differs from [weights] ({count(len(diff), 'differing value')} of {v.size})"))
            else:
                out.append(Finding(OK, label, c.where, name=c.name, decimals=c.decimals, detail="same as [weights]"))
    return out


def _check_inputs(ex: WorkedExample) -> list[Finding]:
    """Claims about x_t, h_0, c_0 restate inputs: compare them with [inputs]; dh_next and dc_next
    at step T are zero (nothing comes back from after the last step)."""
    out = []
    for c in ex.claims:
        if c.step is None:
            continue
        if c.name == "x":
            ref, label = ex.x[c.step - 1], f"x_{c.step}"
        elif c.name in ("h_prev", "c_prev") and c.step == 1:
            ref, label = (ex.h0 if c.name == "h_prev" else ex.c0), f"{c.name[0]}_0"
        elif _is_input(c, ex.T):
            ref, label = np.zeros(ex.hidden_size), symbol(c.name, c.step)
        else:
            continue
        vals = [float(c.value)] if c.unit is not None else list(np.atleast_1d(c.value))
        units = [c.unit] if c.unit is not None else list(range(len(vals)))
        if c.unit is None and len(vals) != len(ref):
            out.append(Finding(SHAPE, label, c.where, str(vals), detail=f"{len(vals)} entries, [inputs] has {len(ref)}", name=c.name, step=c.step))
            continue
        for k, (u, v) in enumerate(zip(units, vals)):
            lab, d, w = f"{label} unit {u + 1}", c.precision(k), c.written(k)
            if abs(v - ref[u]) > tol(d):
                src = "[inputs]" if c.name in ("x", "h_prev", "c_prev") else f"0, as nothing comes back from after step {ex.T}"
                out.append(Finding(CONFLICT, lab, c.where, v, exact=float(ref[u]), decimals=d, step=c.step, name=c.name, unit=u, written=w,
                                   detail=f"differs from {src} ({_fmt(ref[u], d)}), the value the computation uses"))
            else:
                out.append(Finding(OK, lab, c.where, v, exact=float(ref[u]), decimals=d, step=c.step, name=c.name, unit=u, written=w))
    return out


def _check_conflicts(ex: WorkedExample) -> list[Finding]:
    """The same quantity written with different values in two places."""
    groups: dict[tuple[int | None, str, int], list[tuple[float, int, str]]] = {}
    shapes = {}
    for c in ex.claims:
        if c.is_param or not c.answered or c.name == "x":
            continue
        t, name = _normalize(c, ex.T)
        shapes[name] = c.value.shape
        vals = [(c.unit, float(c.value))] if c.unit is not None else list(enumerate(np.ravel(c.value).tolist()))
        for k, (u, v) in enumerate(vals):
            if not np.isnan(v):
                groups.setdefault((t, name, u), []).append((v, c.precision(k), c.where))
    out = []
    for (t, name, u), entries in groups.items():
        places = {}
        for v, d, w in entries:
            places.setdefault(w, (v, d))
        if len(places) < 2:
            continue
        d = min(dd for _, dd in places.values())
        rounded = {w: float(hand_round(np.array(v), d)) for w, (v, _) in places.items()}
        if len(set(rounded.values())) > 1:
            txt = "; ".join(f"{v:g} at {w or '(no place given)'}" for w, (v, _) in places.items())
            out.append(Finding(CONFLICT, _label(name, t, u, shapes[name] if t is None else None, ex), " / ".join(places), decimals=d, step=t, name=name, unit=u,
                               detail=f"written differently in two places: {txt}"))
    return out


# -- the report as a document (rendered by any of the text formats) ----------------------------
#: below this many columns a text report gives each finding a block of lines, not a table row
#: (at 80 a 7-column table left the why 9-13 columns: "new / error", one word a line)
BLOCKS_BELOW = 110


def _block(cells: list[str], width: int) -> str:
    """One finding as lines for a terminal ``width`` columns wide: "verdict  value: claimed C, exact
    E, by hand H", then "why: ..." and "where: ..." indented, each wrapped at spaces only
    (textwrap: no word is ever broken, so no number is)."""
    import textwrap

    verdict, label, claimed, exact, hand, why, where = cells
    head = f"{verdict}  {label}: " + ", ".join(f"{k} {v}" for k, v in (("claimed", claimed), ("exact", exact), ("by hand", hand)) if v)
    indent = " " * (4 if width >= 40 else 2)
    lines = textwrap.wrap(head, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)
    for key, text in (("why", why), ("where", where)):
        if text:
            lines += textwrap.wrap(f"{key}: {text}", width, initial_indent=indent, subsequent_indent=indent + "  ",
                                   break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


def report_document(reports: list[CheckReport], show_all: bool = False, width: int | None = None):
    """The findings of one or more reports as a :class:`~lstmkit.explain.doc.Document`: a table of
    verdict, value, claimed, exact, by hand, why and where; for a terminal narrower than
    :data:`BLOCKS_BELOW` columns (``width``; None: the table), a block of lines a finding, its why and
    where on lines of their own, wrapped at the full width."""
    from .doc import Document, Heading, Para, Table

    doc = Document("lstmkit check", subtitle="claimed numbers against the computation, exact and by hand")
    for rep in reports:
        ex = rep.example
        doc.add(Heading(ex.title, 2))
        shown = [f for f in rep.findings if show_all or f.failing]
        blanks = [f for f in shown if f.verdict == BLANK]
        # every asked number: per step, and the loss and gradients summed over the steps
        answers = [f for f in rep.findings if f.step is not None or f.name == "loss" or f.name.startswith("d")]
        if rep.withheld and blanks and not show_all:  # rows of "?" with no values: the blanks' names in one line
            shown = [f for f in shown if f.verdict != BLANK]
            if all(f.verdict == BLANK for f in answers):
                doc.add(Para(f"Nothing is answered yet: fill in the {count(len(blanks), 'blank')} (\"?\") and check again."))
            else:
                names = dict.fromkeys(f.label.split(" unit ")[0].split(" entry ")[0] for f in blanks)
                doc.add(Para(f"Not answered yet ({count(len(blanks), 'blank')}): {', '.join(names)}."))
        if shown:
            rows = []
            for f in shown:
                d = f.decimals
                num = lambda v: "" if v is None else (v if isinstance(v, str) else _fmt(v, d + 2 if f.name != "pred" else 0))  # noqa: E731
                claimed = f.written or (num(f.claimed) if not isinstance(f.claimed, float) else _fmt(f.claimed, d))  # as written
                rows.append([f.verdict, f.label, claimed,
                             num(f.exact), "" if f.hand is None else _fmt(f.hand, d), f.detail, f.where])
            if width is not None and width < BLOCKS_BELOW:
                doc.add(Para("\n\n".join(_block(r, width) for r in rows) + "\n"))
            else:
                doc.add(Table(["verdict", "value", "claimed", "exact", "by hand", "why", "where"], rows, align="llrrrll"))
        doc.add(Para(rep.summary() + "."))
        if ex.exercise:
            right = sum(f.verdict in (OK, OK_HAND) for f in answers)
            doc.add(Para(f"Score: {right}/{len(answers)} answers right."))
    return doc
