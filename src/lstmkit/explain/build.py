"""Turn a forward (and backward) trace into a :class:`~lstmkit.explain.doc.Document`.

Three forms, as the three decks teach:

- ``steps`` (seed 000): per step, each gate's formula, the formula with the matrices and vectors
  substituted, the pre-activation and the activation; then c_t and h_t; then the read-out. In
  seed 000's notation the gates come as its slides work them (i, f, o, c̃, then c_t, h_t); in seed
  001's W·[h_{t-1}, x_t] + b as its deck does (f, i, c̃, c_t, o, h_t), every gate with its + b_k.
- ``table`` (seed 001): per step, one table per gate with the columns W·[h_{t-1}, x_t], + bias,
  activation (one row per cell), then the cell-state and output tables.
- ``memory`` (seed 002): per step and unit, the same numbers told with "long-term memory" (c),
  "short-term memory" (h) and "% to remember" (the gates).

A variant cell (the example's ``[options]``) is shown in the steps form with its extra terms
(in the gates' order of the plain steps form: seed 001's f, i, c̃, c_t, o, h_t, i first for coupled
gates; and in the table form with a column for each; the memory form tells the plain cell only):
the peephole terms ``w_ci ⊙ c_{t-1}`` inside the gates, f_t = 1 - i_t for coupled gates, the value
before and after a gate or cell clip where the clip bites, the activation functions by name, the
layer-norm means, deviations and normalised parts, and zoneout as it acts at inference.

Numbers are formatted here, once: ``digits`` decimals for exact numbers, or the hand-rounding
precision in hand mode. Weights and inputs are shown as written (4, -0.025, 1.0), never rounded,
and one vector (or matrix, or table row) has one format: each entry with as many decimals as its
most precise one (:func:`written`), an input at least one (1.0, 0.0); a given vector beside
computed ones (a bias added to W x, [h_{t-1}, x_t], a one-hot target) takes the working precision
too, or more where an entry needs it (0.15 stays 0.15 at one decimal).
"""

from __future__ import annotations

import numpy as np

from .doc import Call, Document, Equation, Figure, Heading, Mat, Num, Para, Seq, Sym, Table, Vec, seq
from .._checks import count
from ..variants import LN_EPS
from .trace import ACT, BackwardTrace, ForwardTrace, first_place, hand_round
from .worked import GATES, SEED_LETTER, UNIT_INDEX, WorkedExample

FORMS = ("steps", "table", "memory")
GATE_WORD = {"i": "input gate", "f": "forget gate", "g": "candidate memory", "o": "output gate"}
#: seed 000 works the gates in this order
SLIDE_ORDER = ("i", "f", "o", "g")
#: seed 001's deck takes them in this order, f, i, C̃ (then C_t), o: the concat notation's steps,
#: set-up and backward part, and the table form (seed 001's) in every notation
CONCAT_ORDER = ("f", "i", "g", "o")
#: the gates c_t reads, in CONCAT_ORDER (o comes after c_t)
BEFORE_C = tuple(k for k in CONCAT_ORDER if k != "o")


def gate_order(ex: WorkedExample) -> tuple[str, ...]:
    """The order an example's notation takes the gates in: seed 001's deck (CONCAT_ORDER) for concat,
    seed 000's slides (SLIDE_ORDER) otherwise."""
    return CONCAT_ORDER if ex.notation == "concat" else SLIDE_ORDER


def fnum(v: float, d: int) -> str:
    """A computed number with d decimals; NaN (unknown) is '?'; -0.0 prints as 0.0; inf as ∞.

    Rounded as a person rounds and as ``check`` judges, half away from zero
    (:func:`~lstmkit.explain.trace.hand_round`): 0.25 at 1 decimal is 0.3 and -2.5 at 0 is -3, where
    Python's format rounds the binary value half to even (0.2, -2). Beyond 2^52 units of the last
    place a float has no fraction left to round: hand_round returns it as it is."""
    v = float(v)
    if np.isnan(v):
        return "?"
    if np.isinf(v):
        return "∞" if v > 0 else "-∞"
    v = float(hand_round(np.array(v), d))
    s = f"{v:.{d}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def below_places(v: float, d: int) -> bool:
    """Whether v is not 0 but smaller than one unit of the d-th decimal (0.003 at 2 decimals)."""
    return bool(np.isfinite(v) and 0 < abs(v) < 10.0**-d)


def fdivisor(v: float, d: int) -> str:
    """A divisor (layer norm's s) with d decimals, or, where it is smaller than one unit of the
    d-th decimal, with its first significant digit: 0.003 and 0.005 at 2 decimals, as the hand
    computation keeps it (:func:`lstmkit.explain.trace.divisor`), never 0.00 (nor 0.005 as 0.01)."""
    v = float(v)
    return fnum(v, int(first_place(v)) if below_places(v, d) else d)


def fparam(v: float) -> str:
    """A weight or input as a person writes it: 4, -2, 0.025, 1.256 (at most 4 decimals)."""
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    s = f"{v:.4f}".rstrip("0")
    return s


def _places(v: float) -> int:
    """The decimals a given number is written with (:func:`fparam`: at most 4); 0 for NaN or ∞."""
    s = fparam(v) if np.isfinite(v) else ""
    return len(s.split(".")[1]) if "." in s else 0


def written(values, least: int = 0, places: int | None = None) -> list[str]:
    """Given numbers (weights, inputs, biases) in one format: every entry with the decimals of the
    most precise one, at least ``least`` (``places``: exactly that many), never rounded beyond
    :func:`fparam`'s 4 decimals. [1, 0.5] -> 1.0, 0.5; with least=3 -> 1.000, 0.500."""
    vals = [float(a) for a in np.ravel(values)]
    d = places if places is not None else max([least] + [_places(a) for a in vals])
    return [fnum(a, d) for a in vals]


def inputs(values) -> str:
    """An input vector as written, one format: [1.256, 0.200, 0.800], [1.0, 0.0]."""
    return "[" + ", ".join(written(values, 1)) + "]"


class _Fmt:
    def __init__(self, digits: int):
        self.d = digits

    def vec(self, v, column=True) -> Vec:
        return Vec(tuple(fnum(a, self.d) for a in np.ravel(v)), column)

    def given(self, v, column=True) -> Vec:
        """A vector the example gives (a bias, a one-hot target) beside computed ones: as written,
        never rounded, in their format (the working precision, or more where an entry needs it)."""
        return Vec(tuple(written(v, self.d)), column)

    def col(self, v, entries=None) -> Mat:
        """v as a column: computed numbers at the working precision, or ``entries`` as formatted."""
        entries = entries if entries is not None else [fnum(a, self.d) for a in np.ravel(v)]
        return Mat(tuple((e,) for e in entries))

    def given_col(self, v) -> Mat:
        """A given column (a bias added to a product), formatted as :meth:`given`."""
        return self.col(v, written(v, self.d))

    def hx(self, h, x) -> list[str]:
        """The entries of [h_{t-1}, x_t], one format: h computed, x as written, both at the working
        precision or more where an entry of x needs it."""
        d = max([self.d] + [_places(a) for a in np.ravel(x)])
        return written(np.concatenate([np.ravel(h), np.ravel(x)]), places=d)

    def mat(self, W) -> Mat:
        """A matrix (or column) the example gives, as written, one format for all its entries."""
        W = np.atleast_2d(W)
        e = iter(written(W))
        return Mat(tuple(tuple(next(e) for _ in row) for row in W))

    def product(self, W, v, entries=None) -> Seq:
        """W v with its numbers: W as written, times v as a column (``entries``: v's entries as
        formatted; default: computed, at the working precision). The one rendering of a matrix
        product: the forward's W x, W h and W_y h, the backward's Wᵀ dz."""
        return seq(self.mat(W), "×", self.col(v, entries))


# -- symbols in each notation ------------------------------------------------------------------
def gate_sym(k: str, t) -> Sym:
    return Sym("c", str(t), tilde=True) if k == "g" else Sym(k, str(t))


def _wsym(ex: WorkedExample, k: str, part: str) -> Sym:
    """Gate k's weight (or bias) as the deck writes it: W_ic (seed 000), W_C and b_C for the candidate
    in seed 001's notation (the file's key is W_c there), Ws2 (seed 002)."""
    lab = ex.weight_label(k, part, written=True)
    if ex.notation == "unit":
        return Sym(lab)
    return Sym(lab[0], lab[2:])


def document(
    fw: ForwardTrace,
    form: str = "steps",
    digits: int = 3,
    bw: BackwardTrace | None = None,
    figures: bool = False,
) -> Document:
    """Build the explanation of ``fw`` in ``form`` (see the module docstring)."""
    ex = fw.example
    d = fw.decimals if fw.decimals is not None else digits
    F = _Fmt(d)
    mode = "exact" if fw.decimals is None else f"by hand: every intermediate rounded to {count(fw.decimals, 'decimal')} and carried forward"
    doc = Document(ex.title, subtitle=f"{ex.source}. Numbers {mode}." if ex.source else f"Numbers {mode}.")
    if ex.note:  # the file's own words: one paragraph (a newline of its own would start a Markdown heading or link)
        doc.add(Para(" ".join(ex.note.split())))
    doc.add(*_setup(ex, F, memory=form == "memory"))
    notes = _claim_notes(ex, fw)
    if notes:
        doc.add(Para("Where the example's own printed numbers differ from the computation, a note under the step says "
                     "so (lstmkit check on this example tells which are new errors and which follow from earlier ones)."))
    if not ex.is_plain:
        if form == "memory":
            from .._checks import fail

            fail("explain", "form", "'steps' or 'table' for a variant cell (the memory form tells the seeds' plain cell)",
                 repr(form), f"The example sets {ex.variant.changed()}.")
        doc.add(*_variant_setup(ex, F))
    for rec in fw.steps:
        if not ex.is_plain:
            blocks = (_variant_steps_form if form == "steps" else _variant_table_form)(ex, rec, F)
        elif form == "steps":
            blocks = _steps_form(ex, rec, F)
        elif form == "table":
            blocks = _table_form(ex, rec, F)
        elif form == "memory":
            blocks = _memory_form(ex, rec, F, fw.decimals is not None)
        else:
            raise ValueError(f"explain: expected form one of {list(FORMS)}, got {form!r}.")
        doc.add(*_with_notes(blocks, rec.t, notes.get(rec.t, [])))
    if bw is not None:
        doc.add(*_backward(ex, fw, bw, digits))
    if figures:
        doc.add(Heading("Pictures", 2),
                Figure("heatmaps", "Gate activations i, f, o, c̃ and the cell state c over time (rows: units, columns: steps); "
                       "i, f, o from dark (0) to light (1), c̃ and c from dark (negative) to light (positive)",
                       alt=_heatmaps_alt(fw, d)),
                Figure("traces", "Per unit: the cell state c_t (long-term memory, circles, solid line) and the output h_t "
                       "(short-term memory, squares, dashed line)", alt=_traces_alt(fw, d)))
    return doc


def _extreme(fw: ForwardTrace, names, pick) -> tuple[str, int, int, float] | None:
    """(quantity, step, unit, value) of the entry least by the key ``pick`` (a function of the value) among ``names``."""
    best = None
    for rec in fw.steps:
        for name in names:
            for j, v in enumerate(rec.values[name]):
                if np.isfinite(v) and (best is None or pick(v) < pick(best[3])):
                    best = (name, rec.t, j, float(v))
    return best


def _entry(e, d: int) -> str:
    name, t, j, v = e
    return f"{'c̃' if name == 'g' else name}_{t} unit {j + 1} = {fnum(v, d)}"


def _heatmaps_alt(fw: ForwardTrace, d: int) -> str:
    """The heatmaps in words (the image's alt text): what they show and their extremes, which the
    picture makes stand out; the numbers are all in the steps."""
    ex = fw.example
    out = (f"Five heatmaps, {count(ex.hidden_size, 'unit')} by {count(ex.T, 'step')}, of the numbers worked out in the steps "
           "below.")
    lo, hi = _extreme(fw, ("i", "f", "o"), lambda v: v), _extreme(fw, ("i", "f", "o"), lambda v: -v)
    if lo is not None:
        out += f" The most closed gate is {_entry(lo, d)}, the most open {_entry(hi, d)}."
    big = _extreme(fw, ("c",), lambda v: -abs(v))
    if big is not None:
        out += f" The largest cell state in size is {_entry(big, d)}."
    return out


def _traces_alt(fw: ForwardTrace, d: int) -> str:
    """The traces in words (the image's alt text): where c_t and h_t of each unit shown end."""
    ex = fw.example
    show = min(ex.hidden_size, 8)
    last = fw.steps[-1].values
    ends = "; ".join(f"unit {j + 1}: c_{ex.T} = {fnum(last['c'][j], d)}, h_{ex.T} = {fnum(last['h'][j], d)}" for j in range(show))
    which = "" if show == ex.hidden_size else f" (the first {show})"
    return f"Line charts of c_t and h_t from t = 0 to {ex.T}, one per unit{which}; at the end, {ends}."


#: a claimed quantity -> the one whose equation shows it in the steps form (a gate's parts under the gate)
_SHOWN_IN = {**{p + k: k for k in GATES for p in ("", "z_", "Wx_", "Wh_", "Wxh_")},
             "fc": "c", "ig": "c", "c": "c", "tanh_c": "h", "h": "h", "logits": "y", "y": "y", "pred": "y"}


def _claim_notes(ex: WorkedExample, fw: ForwardTrace) -> dict[int, list[tuple[object, str, str]]]:
    """Where the example's printed numbers (its claims, as :func:`lstmkit.explain.check.check`
    judges them: a new error, one that follows from an earlier wrong number, an impossible value,
    an input that differs from [inputs]) differ from the computation shown: step -> [(the symbol of
    the equation to note it under, else "inputs" or None; the note under that equation; the note on
    its own, naming the quantity, after the step's heading)]. Each note gives the
    printed entries as written and the computed ones, at the same decimals: "the slide prints
    [0.4, 0.0]; from its own parameters it is [1.0, 0.1]". Forward steps only: no seed prints a
    backward number to note (seed 000 says its weights come from training with cross-entropy, seeds
    001-003 name gradients in words only); an exercise's gradients are judged by ``check``."""
    if not any(c.step is not None and c.answered for c in ex.claims):
        return {}
    from .check import AFTER_BLANK, CONFLICT, FOLLOWS, NEW, RANGE, _normalize, check, symbol

    bad: dict[tuple, dict[int, object]] = {}  # (place, step, quantity) -> unit -> its failing finding
    for f in check(ex).findings:
        if f.verdict in (NEW, FOLLOWS, RANGE, CONFLICT, AFTER_BLANK):
            bad.setdefault((f.where, f.step, f.name), {})[f.unit] = f
    out: dict[int, list[tuple[object, str, str]]] = {}
    for c in ex.claims:
        if c.step is None or not c.answered:
            continue
        t, name = _normalize(c, ex.T)
        if (c.where, t, name) not in bad or t is None or not 1 <= t <= len(fw.steps):
            continue
        given = name == "x" or (name in ("h_prev", "c_prev") and t == 1)
        values = fw.steps[t - 1].values
        if name not in values:
            continue
        units = [c.unit] if c.unit is not None else list(range(c.value.size))
        printed = [c.written(k) or fnum(v, c.precision(k)) for k, v in enumerate(np.ravel(c.value))]
        found = bad[(c.where, t, name)]
        # computed; where the example does not give the weights, what its own earlier numbers give
        # (as check says it), if they give it
        computed = [values[name][u] if u < len(values[name]) else np.nan for u in units]
        by_own = [np.isnan(v) and getattr(found.get(u), "own", None) is not None for v, u in zip(computed, units)]
        computed = [found[u].own if o else v for v, u, o in zip(computed, units, by_own)]
        # at the claim's decimals; by hand at no more than the hand computation's (0.8, not 0.80)
        mine = [fnum(v, c.precision(k) if fw.decimals is None else min(c.precision(k), fw.decimals)) for k, v in enumerate(computed)]
        impossible = "; ".join(f"{printed[k]} is impossible: {found[u].detail}" for k, u in enumerate(units)
                               if getattr(found.get(u), "verdict", None) == RANGE)
        show = (lambda e: e[0]) if c.unit is not None else (lambda e: "[" + ", ".join(e) + "]")  # noqa: E731
        sym = symbol(name, t, ex) + ("" if c.unit is None else f" unit {c.unit + 1}")
        slide = c.where.startswith("slide")
        if given:
            src = c.where if slide else f"the example's {c.where}" if c.where else "the example"
            text = f"{'the ' if slide else ''}{src} prints {sym} = {show(printed)}; the example's [inputs] give {show(mine)}, used here"
            out.setdefault(t, []).append(("inputs", text, text))
            continue
        src = "the slide" if slide else f"the example's {c.where}" if c.where else "the example"
        anchor = _SHOWN_IN.get(name)
        own = anchor == name and c.unit is None  # under the equation of this very quantity: no need to name it
        eq = None if anchor is None else gate_sym(anchor, t) if anchor in GATES else Sym(anchor, str(t))
        rest = ""
        if any(m != "?" for m in mine):
            rest += f"; from its own {'numbers' if any(by_own) else 'parameters'} it is {show(mine)}"
        rest += f"; {impossible}" if impossible else ""
        out.setdefault(t, []).append((eq, f"{src} prints {show(printed) if own else f'{sym} = {show(printed)}'}{rest}",
                                      f"{src} prints {sym} = {show(printed)}{rest}"))
    return out


def _with_notes(blocks: list, t: int, notes: list) -> list:
    """A step's blocks with the notes of :func:`_claim_notes`: under the equation they name where the
    step shows it (appended to its note), else as a paragraph of their own after the step's heading
    (an input's; the table and memory forms' notes, whose steps have no equation of that name)."""
    if not notes:
        return blocks
    blocks, head = list(blocks), []
    eqs = {b.lhs: b for b in blocks if isinstance(b, Equation)}
    for eq, under, alone in notes:
        if eq is not None and eq in eqs:
            b = eqs[eq]
            b.note = f"{b.note}; {under}" if b.note else under
        else:
            head.append(Para(f"({alone}.)"))
    return blocks[:1] + head + blocks[1:]


def _setup(ex: WorkedExample, F: _Fmt, memory: bool = False) -> list:
    """The example's size, notation, inputs and weights. In the memory form (``memory``) the inputs
    table names the states as that form's text does, seed 002's way: x(t), zs(0) (h_0), zl(0) (c_0)."""
    out = [Heading("The example", 2)]
    H, I, T = ex.hidden_size, ex.input_size, ex.T
    out.append(Para(f"{count(H, 'hidden unit')}, {count(I, 'input')}, {count(T, 'step')}; notation: {_notation_words(ex)}."))
    rows = []
    d = max([1] + [_places(a) for a in np.concatenate([np.ravel(ex.x), ex.h0, ex.c0])])  # one format for the table
    vec = lambda v: "[" + ", ".join(written(v, places=d)) + "]"  # noqa: E731
    for t in range(1, T + 1):
        lab = ex.labels[t - 1] if ex.labels else ""
        rows.append([f"x({t})" if memory else f"x_{t}", lab, vec(ex.x[t - 1])])
    rows.append(["zs(0)" if memory else "h_0", "short-term memory" if memory else "", vec(ex.h0)])
    rows.append(["zl(0)" if memory else "c_0", "long-term memory" if memory else "", vec(ex.c0)])
    out.append(Table(["symbol", "label", "value"], rows, "Inputs and initial states"))
    eqs = []
    for k in gate_order(ex):  # the order the steps take them
        G = ex.gates[k]
        for part, W in (("x", G.Wx), ("h", G.Wh)):
            if W is None or (ex.notation == "concat" and part == "h"):
                continue
            if ex.notation == "concat":
                W = np.concatenate([G.Wh, G.Wx], axis=1)
                part = "W"
            eqs.append(Equation(_wsym(ex, k, part), [F.mat(W)]))
        if G.b is not None and np.any(G.b != 0):
            L = SEED_LETTER[k]
            two = ex.notation == "per_gate" and all(n in ex.weights for n in (f"b_i{L}", f"b_h{L}"))
            rhs = [F.mat(G.b[:, None])]
            if two:  # seed 000 writes both biases; the cell uses their sum
                rhs = [seq(Sym("b", f"i{L}"), "+", Sym("b", f"h{L}")),
                       seq(F.mat(ex.weights[f"b_i{L}"][:, None]), "+", F.mat(ex.weights[f"b_h{L}"][:, None]))] + rhs
            eqs.append(Equation(_wsym(ex, k, "b"), rhs))
    missing = [GATE_WORD[k] for k in GATES if ex.gates[k].Wx is None and ex.gates[k].Wh is None]
    out.extend(eqs)
    if all(ex.gates[k].b is None or not np.any(ex.gates[k].b) for k in GATES):
        out.append(Para("All biases are 0."))
    if missing:
        out.append(Para("Not given (so not computed unless the example states the value): " + ", ".join(missing) + "."))
    if ex.readout is not None:
        r = ex.readout
        s = "t" if r.head == "all" else str(T)
        a = f"h_{s}" if r.W_y is None else f"W_y h_{s} + b_y"
        if r.task == "regress":
            txt = f"Read-out: y_{s} = {a}" if _unscaled(r) else f"Read-out: a_{s} = {a}, y_{s} = a_{s} * y_scale + y_mean"
            txt += " (the values predicted, no softmax)"
        else:
            txt = f"Read-out: y_{s} = softmax({a})"
        if r.head == "last":
            txt += f", at the last step only (the model reads one output per sequence, from h_{T})"
        if r.targets is not None:
            txt += "; targets " + ", ".join(f"t={t + 1}: class {c}" for t, c in enumerate(r.targets))
        out.append(Para(txt + "." + (f" {r.note}" if r.note else "")))
        if r.W_y is not None:
            out += [Equation(Sym("W", "y"), [F.mat(r.W_y)]), Equation(Sym("b", "y"), [F.mat(r.b_y[:, None])])]
        if r.task == "regress" and not _unscaled(r):
            out += [Equation(Sym("y_scale"), [F.mat(_regress_scale(r)[0][:, None])]),
                    Equation(Sym("y_mean"), [F.mat(_regress_scale(r)[1][:, None])])]
    return out


def _regress_scale(r):
    """(y_scale, y_mean) of a regressor's read-out that scales (one of them given), 1 and 0 where not."""
    K = len(r.y_scale if r.y_scale is not None else r.y_mean)
    return (np.ones(K) if r.y_scale is None else r.y_scale), (np.zeros(K) if r.y_mean is None else r.y_mean)


def _unscaled(r) -> bool:
    """A regressor's values are its outputs as they are (y_scale 1, y_mean 0)."""
    return (r.y_scale is None or np.all(r.y_scale == 1)) and (r.y_mean is None or not np.any(r.y_mean))


def _notation_words(ex):
    """The notation in words, and the seed deck it comes from (not the example's source: a trained
    model is explained in seed 000's notation too)."""
    return {"per_gate": "per-gate matrices, W_i* x_t + W_h* h_{t-1} + b (seed 000's notation)",
            "concat": "one matrix per gate on [h_{t-1}, x_t] (seeds 001/003's notation)",
            "unit": "one unit, Ws·zs(t-1) + Wi·x(t) + Bias (seed 002's notation)"}[ex.notation]


# -- steps form (seed 000) ---------------------------------------------------------------------
def _steps_form(ex: WorkedExample, rec, F: _Fmt) -> list:
    t = rec.t
    lab = f" = {ex.labels[t - 1]}" if ex.labels else ""
    out = [Heading(f"Step {t}: x_{t}{lab} = " + inputs(rec["x"]), 2)]
    V = rec.values
    h_zero = not np.any(V["h_prev"])
    gates = {}
    for k in SLIDE_ORDER:
        G = ex.gates[k]
        act = ACT[k]
        b = G.b if G.b is not None else np.zeros(ex.hidden_size)
        has_b = bool(np.any(b))
        # 1. the formula in the example's notation
        if ex.notation == "concat":  # as seed 001's deck writes every gate: W_k·[h_{t-1}, x_t] + b_k
            sym = Call(act, seq(_wsym(ex, k, "W"), "·", seq("[", Sym("h", str(t - 1)), ",", Sym("x", str(t)), "]"),
                                "+", _wsym(ex, k, "b")))
        else:
            terms = [seq(_wsym(ex, k, "x"), Sym("x", str(t)))]
            if not (h_zero and ex.notation == "per_gate"):
                terms.append(seq(_wsym(ex, k, "h"), Sym("h", str(t - 1))))
            if has_b:
                terms.append(_wsym(ex, k, "b"))
            sym = Call(act, _join(terms))
        rhs = [sym]
        known = G.Wx is not None and G.Wh is not None
        if known:
            # 2. substituted: matrix times vector
            if ex.notation == "concat":
                W = np.concatenate([G.Wh, G.Wx], axis=1)
                hx = np.concatenate([V["h_prev"], V["x"]])
                rhs.append(Call(act, _join([F.product(W, hx, F.hx(V["h_prev"], V["x"])),
                                            F.given_col(b) if has_b else None])))
                rhs.append(Call(act, _join([F.vec(V[f"Wxh_{k}"]), F.given(b) if has_b else None])))
            else:
                parts = [F.product(G.Wx, V["x"], written(V["x"], 1))]
                sums = [F.vec(V[f"Wx_{k}"])]
                if not (h_zero and ex.notation == "per_gate"):
                    parts.append(F.product(G.Wh, V["h_prev"]))
                    sums.append(F.vec(V[f"Wh_{k}"]))
                if has_b:
                    parts.append(F.given_col(b))
                    sums.append(F.given(b))
                rhs.append(Call(act, _join(parts)))
                if len(sums) > 1:
                    rhs.append(Call(act, _join(sums)))
        elif rec.source.get(f"Wxh_{k}") == "given" or rec.source.get(f"z_{k}") == "given":
            rhs.append(Call(act, _join([F.vec(V[f"Wxh_{k}"]), F.given(b) if has_b else None])))
        rhs.append(Call(act, F.vec(V[f"z_{k}"])))
        rhs.append(F.vec(V[k]))
        note = ""
        if not known and np.isnan(V[k]).all():
            note = f"not computable: the example does not give the {GATE_WORD[k]}'s weights"
            rhs = [sym, F.vec(V[k])]
        elif not known:
            note = "W·[h, x] as stated by the example (its matrix is not given)"
        if h_zero and ex.notation == "per_gate" and k == SLIDE_ORDER[0]:
            note = note or f"h_{t - 1} = 0, so the W_h· h_{t - 1} terms drop out"
        gates[k] = Equation(gate_sym(k, t), rhs, note)
    # c_t and h_t
    c_note = "stated by the example" if rec.source.get("c") == "given" else ""
    c_eq = (Equation(Sym("c", str(t)), [
        seq(Sym("f", str(t)), "*", Sym("c", str(t - 1)), "+", Sym("i", str(t)), "*", Sym("c", str(t), tilde=True)),
        seq(F.vec(V["f"]), "*", F.vec(V["c_prev"]), "+", F.vec(V["i"]), "*", F.vec(V["g"])),
        seq(F.vec(V["fc"]), "+", F.vec(V["ig"])),
        F.vec(V["c"]),
    ] if rec.source.get("c") != "given" else [F.vec(V["c"])], c_note))
    h_eq = Equation(Sym("h", str(t)), [
        seq(Sym("o", str(t)), "*", Call("tanh", Sym("c", str(t)))),
        seq(F.vec(V["o"]), "*", Call("tanh", F.vec(V["c"]))),
        seq(F.vec(V["o"]), "*", F.vec(V["tanh_c"])),
        F.vec(V["h"]),
    ])
    if ex.notation == "concat":  # seed 001's deck: f, i, C̃, C_t, o, h_t
        out += [gates[k] for k in BEFORE_C] + [c_eq, gates["o"], h_eq]
    else:  # seed 000's slides (and seed 002's steps): i, f, o, c̃, c_t, h_t
        out += [gates[k] for k in SLIDE_ORDER] + [c_eq, h_eq]
    out += _readout(ex, rec, F)
    return out


def _join(terms) -> "Seq":
    items = []
    for term in terms:
        if term is None:
            continue
        if items:
            items.append("+")
        items.append(term)
    return seq(*items)


def _readout(ex, rec, F) -> list:
    if ex.readout is None or "y" not in rec.values:  # none, or only at the last step
        return []
    r, t, V = ex.readout, rec.t, rec.values
    if r.task == "regress":
        return _regress_readout(r, t, V, F)
    if r.W_y is None:
        rhs = [Call("softmax", Sym("h", str(t))), Call("softmax", F.vec(V["h"])), F.vec(V["y"])]
    else:
        rhs = [Call("softmax", seq(Sym("W", "y"), Sym("h", str(t)), "+", Sym("b", "y"))),
               Call("softmax", seq(F.product(r.W_y, V["h"]), "+", F.given_col(r.b_y))),
               Call("softmax", F.vec(V["logits"])), F.vec(V["y"])]
    pred = V["pred"][0]
    note = "" if np.isnan(pred) else f"predicted class {int(pred)}"
    if not np.isnan(pred) and r.classes and r.classes[int(pred)] != str(int(pred)):
        note += f" ({r.classes[int(pred)]})"
    if r.targets is not None and not np.isnan(pred):
        ok = int(pred) == r.targets[t - 1]
        note += f"; target {r.targets[t - 1]}: " + ("correct" if ok else "wrong")
    return [Equation(Sym("y", str(t)), rhs, note)]


def _regress_readout(r, t, V, F) -> list:
    """A regressor's values a_t = W_y h_t + b_y and, scaled back, y_t = a_t * y_scale + y_mean."""
    scaled = not _unscaled(r)
    lhs = Sym("a" if scaled else "y", str(t))
    if r.W_y is None:
        rhs = [Sym("h", str(t)), F.vec(V["logits"])]
    else:
        rhs = [seq(Sym("W", "y"), Sym("h", str(t)), "+", Sym("b", "y")),
               seq(F.product(r.W_y, V["h"]), "+", F.given_col(r.b_y)), F.vec(V["logits"])]
    note = "" if scaled else "the model's outputs" if r.note else "the values predicted"
    out = [Equation(lhs, rhs, note)]
    if scaled:
        scale, mean = _regress_scale(r)
        out.append(Equation(Sym("y", str(t)), [
            seq(Sym("a", str(t)), "*", Sym("y_scale"), "+", Sym("y_mean")),
            seq(F.vec(V["logits"]), "*", F.given(scale), "+", F.given(mean)), F.vec(V["y"])],
            "the values predicted, in y's units: the model was trained on (y - y_mean) / y_scale"))
    return out


# -- variants (steps form) ----------------------------------------------------------------------
def act_name(a) -> str:
    """How an activation is written: σ for the sigmoid, tanh, else its name (hard_sigmoid, ...)."""
    return {"sigmoid": "σ", "tanh": "tanh"}.get(a.name, a.name)


def _act_words(a) -> str:
    params = ", ".join(f"{s} = {fparam(v)}" for s, v in (("α", a.alpha), ("β", a.beta)) if v is not None)
    return act_name(a) + (f" ({params})" if params else "")


def _pvec(v) -> Vec:
    """A weight vector as written, one format (4.000, -0.025)."""
    return Vec(tuple(written(v)))


def _variant_setup(ex: WorkedExample, F: _Fmt) -> list:
    v = ex.variant
    fa, ga, ha = v.acts
    words = []
    if v.peephole:
        words.append("peephole connections, i_t and f_t see c_{t-1} and o_t sees the new c_t (weights w_ci, w_cf, w_co)")
    if v.input_forget:
        words.append("coupled input and forget gate (CIFG), f_t = 1 - i_t: the forget gate's weights are not used")
    if v.gate_clip is not None:
        words.append(f"every gate pre-activation clipped to [-{fparam(v.gate_clip)}, {fparam(v.gate_clip)}]")
    if v.cell_clip is not None:
        words.append(f"the cell state clipped to [-{fparam(v.cell_clip)}, {fparam(v.cell_clip)}]")
    if (fa.name, ga.name, ha.name) != ("sigmoid", "tanh", "tanh") or v.activations != ("sigmoid", "tanh", "tanh"):
        words.append(f"activations: {_act_words(fa)} for the gates, {_act_words(ga)} for the candidate c̃_t, "
                     f"{_act_words(ha)} on the way from c_t to h_t")
    if v.layer_norm:
        words.append("layer normalisation (Ba et al. 2016): the input parts W_x x_t of all four gates are normalised "
                     "together, the recurrent parts W_h h_{t-1} likewise, and c_t before its activation; "
                     f"LN(a) = (a - mean(a)) / sqrt(var(a) + ε), ε = {LN_EPS:g}")
    for name, z in (("c", v.zoneout_cell), ("h", v.zoneout_hidden)):
        if z:
            words.append(f"zoneout on {name} as at inference, {name}_t = {fparam(z)} {name}_(t-1) + {fparam(1 - z)} {name}'_t "
                         f"(the expectation of keeping {name}_(t-1) with probability {fparam(z)})")
    out = [Para("Variant: " + "; ".join(words) + ".")]
    regularisers = {k: val for k, val in v.changed().items() if k.startswith(("dropout", "dropconnect"))}
    if regularisers:
        used = ", ".join(f"{k} = {fparam(val)}" for k, val in regularisers.items())
        out.append(Para(f"Trained with {used}: these regularisers act in training only, so the numbers below have none of them."))
    names = (["w_ci", "w_cf", "w_co"] if v.peephole else []) + [
        n for n in ("gamma_ih", "gamma_hh", "gamma_c", "beta_c") if v.layer_norm and n in ex.weights]
    for n in names:
        head, sub = n.split("_")
        sym = Sym({"gamma": "γ", "beta": "β"}.get(head, head), sub)
        out.append(Equation(sym, [F.mat(ex.variant_weight(n)[:, None])]))
    if v.layer_norm and not any(n in ex.weights for n in ("gamma_ih", "gamma_hh", "gamma_c", "beta_c")):
        out.append(Para("Layer-norm gains γ are 1 and the shift β_c is 0 (their initial values)."))
    return out


def _bites(z, clip) -> bool:
    return clip is not None and bool(np.any(np.abs(z) > clip))


def _clip_call(F: _Fmt, z, clip) -> Call:
    return Call("clip", seq(F.vec(z), ",", Num(f"-{fparam(clip)}"), ",", Num(fparam(clip))))


def _variant_gate(ex: WorkedExample, rec, F: _Fmt, k: str) -> Equation:
    """Gate k of a variant cell: formula, substituted, summed, pre-activation, clip, value."""
    t, V, v = rec.t, rec.values, ex.variant
    fa, ga, _ = v.acts
    act = act_name(ga if k == "g" else fa)
    G = ex.gates[k]
    L = SEED_LETTER[k]
    b = ex._bias(k)
    has_b = bool(np.any(b))
    peep = v.peephole and k in "ifo"
    c_sym = Sym("c", str(t - 1)) if k != "o" else Sym("c'" if v.zoneout_cell else "c", str(t))
    c_val = V["c_prev"] if k != "o" else V["c_new" if v.zoneout_cell else "c"]
    h_zero = not np.any(V["h_prev"]) and ex.notation == "per_gate" and not v.layer_norm
    # 1. the formula
    if v.layer_norm:
        terms = [Sym("n", f"x,{L}"), Sym("n", f"h,{L}")]
    elif ex.notation == "concat":
        terms = [seq(_wsym(ex, k, "W"), "·", seq("[", Sym("h", str(t - 1)), ",", Sym("x", str(t)), "]"))]
    else:
        terms = [seq(_wsym(ex, k, "x"), Sym("x", str(t)))]
        if not h_zero:
            terms.append(seq(_wsym(ex, k, "h"), Sym("h", str(t - 1))))
    if peep:
        terms.append(seq(Sym("w", f"c{L}"), "⊙", c_sym))
    if has_b:
        terms.append(_wsym(ex, k, "b"))
    sym = Call(act, _join(terms))
    rhs = [sym]
    known = G.Wx is not None and G.Wh is not None
    if known:
        # 2. substituted, 3. summed
        peep_part = [seq(_pvec(ex.variant_weight(f"w_c{k}")), "⊙", F.vec(c_val))] if peep else []
        peep_sum = [F.vec(V[f"pc_{k}"])] if peep else []
        if v.layer_norm:
            parts = [F.vec(V[f"nx_{k}"]), F.vec(V[f"nh_{k}"])] + peep_part + ([F.given(b)] if has_b else [])
            sums = []  # the parts are already numbers; only a peephole term has a product to sum
            if peep:
                sums = [F.vec(V[f"nx_{k}"]), F.vec(V[f"nh_{k}"])] + peep_sum + ([F.given(b)] if has_b else [])
        elif ex.notation == "concat":
            W = np.concatenate([G.Wh, G.Wx], axis=1)
            hx = np.concatenate([V["h_prev"], V["x"]])
            parts = [F.product(W, hx, F.hx(V["h_prev"], V["x"]))] + peep_part + ([F.given_col(b)] if has_b else [])
            sums = [F.vec(V[f"Wxh_{k}"])] + peep_sum + ([F.given(b)] if has_b else [])
        else:
            parts = [F.product(G.Wx, V["x"], written(V["x"], 1))]
            sums = [F.vec(V[f"Wx_{k}"])]
            if not h_zero:
                parts.append(F.product(G.Wh, V["h_prev"]))
                sums.append(F.vec(V[f"Wh_{k}"]))
            parts += peep_part + ([F.given_col(b)] if has_b else [])
            sums += peep_sum + ([F.given(b)] if has_b else [])
        rhs.append(Call(act, _join(parts)))
        if len(sums) > 1:
            rhs.append(Call(act, _join(sums)))
    rhs.append(Call(act, F.vec(V[f"z_{k}"])))
    note = ""
    if _bites(V[f"z_{k}"], v.gate_clip):
        rhs += [Call(act, _clip_call(F, V[f"z_{k}"], v.gate_clip)), Call(act, F.vec(V[f"zc_{k}"]))]
        note = f"the gate clip bites: pre-activations beyond ±{fparam(v.gate_clip)} are clipped"
    rhs.append(F.vec(V[k]))
    if not known and np.isnan(V[k]).all():
        note = f"not computable: the example does not give the {GATE_WORD[k]}'s weights"
        rhs = [sym, F.vec(V[k])]
    if h_zero and k == "i":
        note = note or f"h_{t - 1} = 0, so the W_h· h_{t - 1} terms drop out"
    return Equation(gate_sym(k, t), rhs, note)


def _ln_equations(part: str, a, mu, sd, gain, shift, F: _Fmt, a_sym, a_rhs, a_note="") -> list:
    """μ, s and the normalised n = γ ⊙ (a - μ) / s (+ β) of one layer norm."""
    a_lhs = Sym("a", part)
    out = []
    if a_rhs is not None:
        out.append(Equation(a_lhs, [a_rhs, F.vec(a)], a_note))
    else:
        a_lhs = a_sym
    mu_n, sd_n = Num(fnum(mu[0], F.d)), Num(fdivisor(sd[0], F.d))
    mu_sub = Call("", mu_n) if mu_n.text.startswith("-") else mu_n  # a - (-0.3), not a - -0.3
    out.append(Equation(Sym("μ", part), [Call("mean", a_lhs), mu_n]))
    kept = below_places(sd[0], F.d)  # s would round to 0 at the working precision: shown with more decimals
    out.append(Equation(Sym("s", part), [Call("sqrt", seq(Call("var", a_lhs), "+", Sym("ε"))), sd_n],
                        "s is a divisor: never rounded to 0, it keeps its first significant digit" if kept else ""))
    gain_sym = Sym("γ", {"x": "ih", "h": "hh"}.get(part, part))
    unit_gain = bool(np.all(gain == 1))
    centred = Call("", seq(a_lhs, "-", Sym("μ", part)))
    sym = seq(None if unit_gain else gain_sym, None if unit_gain else "⊙", centred, "/", Sym("s", part),
              "+" if shift is not None else None, Sym("β", part) if shift is not None else None)
    num = seq(None if unit_gain else _pvec(gain), None if unit_gain else "⊙", Call("", seq(F.vec(a), "-", mu_sub)), "/", sd_n,
              "+" if shift is not None else None, _pvec(shift) if shift is not None else None)
    return out + [sym, num]


def _variant_steps_form(ex: WorkedExample, rec, F: _Fmt) -> list:
    t, V, v = rec.t, rec.values, ex.variant
    lab = f" = {ex.labels[t - 1]}" if ex.labels else ""
    out = [Heading(f"Step {t}: x_{t}{lab} = " + inputs(rec["x"]), 2)]
    if v.layer_norm:
        for part, src, gain in (("x", Sym("x", str(t)), "gamma_ih"), ("h", Sym("h", str(t - 1)), "gamma_hh")):
            a = np.concatenate([V[f"W{part}_{k}"] for k in GATES])
            n = np.concatenate([V[f"n{part}_{k}"] for k in GATES])
            eqs = _ln_equations(part, a, V[f"mu_{part}"], V[f"sd_{part}"], ex.variant_weight(gain), None, F, None,
                                seq(Sym("W", part), src), "the four gates' parts stacked, in the order i, f, c̃, o")
            *eqs, sym, num = eqs
            out += eqs
            note = f"n_{part},i is the first {ex.hidden_size}, n_{part},f the next {ex.hidden_size}, then n_{part},c and n_{part},o"
            out.append(Equation(Sym("n", part), [sym, num, F.vec(n)], note))
    # seed 000's slides: i, f, o, c̃ (o after c_t where its peephole reads c_t); seeds 001/003's deck: f, i, C̃,
    # C_t, o, h_t, as the plain steps form (i first with a coupled gate: f_t = 1 - i_t needs it)
    late_o = v.peephole or ex.notation == "concat"
    order = [k for k in gate_order(ex) if not (late_o and k == "o")]
    if v.input_forget:
        order.sort(key=lambda k: k != "i")  # stable: the others keep the notation's order
    for k in order:
        if k == "f" and v.input_forget:
            out.append(Equation(gate_sym("f", t), [seq(Num("1"), "-", Sym("i", str(t))), seq(Num("1"), "-", F.vec(V["i"])),
                                                   F.vec(V["f"])], "coupled input and forget gate: f_t = 1 - i_t"))
            continue
        out.append(_variant_gate(ex, rec, F, k))
    # c'_t = f*c_{t-1} + i*c~ (clipped), then zoneout
    c_name = "c_new" if v.zoneout_cell else "c"
    c_lhs = Sym("c'" if v.zoneout_cell else "c", str(t))
    rhs = [seq(Sym("f", str(t)), "*", Sym("c", str(t - 1)), "+", Sym("i", str(t)), "*", Sym("c", str(t), tilde=True)),
           seq(F.vec(V["f"]), "*", F.vec(V["c_prev"]), "+", F.vec(V["i"]), "*", F.vec(V["g"])),
           seq(F.vec(V["fc"]), "+", F.vec(V["ig"]))]
    note = ""
    if v.cell_clip is not None and _bites(V["c_raw"], v.cell_clip):
        rhs += [F.vec(V["c_raw"]), _clip_call(F, V["c_raw"], v.cell_clip)]
        note = f"the cell clip bites: values beyond ±{fparam(v.cell_clip)} are clipped"
    out.append(Equation(c_lhs, rhs + [F.vec(V[c_name])], note))
    if v.zoneout_cell:
        out.append(_zoneout_eq(t, "c", v.zoneout_cell, V, F))
    if late_o:
        out.append(_variant_gate(ex, rec, F, "o"))
    # h_t = o_t * h(c_t) (or of the normalised c_t), then zoneout
    c_sym = Sym("c'" if v.zoneout_cell else "c", str(t))
    arg_sym, arg_val = c_sym, V[c_name]
    if v.layer_norm:
        shift = ex.variant_weight("beta_c") if np.any(ex.variant_weight("beta_c")) else None
        eqs = _ln_equations("c", V[c_name], V["mu_c"], V["sd_c"], ex.variant_weight("gamma_c"), shift, F, c_sym, None)
        *eqs, sym, num = eqs
        out += eqs + [Equation(Sym("n", "c"), [sym, num, F.vec(V["n_c"])])]
        arg_sym, arg_val = Sym("n", "c"), V["n_c"]
    hn = act_name(v.acts[2])
    h_name = "h_new" if v.zoneout_hidden else "h"
    out.append(Equation(Sym("h'" if v.zoneout_hidden else "h", str(t)), [
        seq(Sym("o", str(t)), "*", Call(hn, arg_sym)),
        seq(F.vec(V["o"]), "*", Call(hn, F.vec(arg_val))),
        seq(F.vec(V["o"]), "*", F.vec(V["tanh_c"])),
        F.vec(V[h_name]),
    ]))
    if v.zoneout_hidden:
        out.append(_zoneout_eq(t, "h", v.zoneout_hidden, V, F))
    out += _readout(ex, rec, F)
    return out


def _variant_table_form(ex: WorkedExample, rec, F: _Fmt) -> list:
    """Seed 001's tables with a column for each extra term of the variant."""
    t, V, H, v = rec.t, rec.values, ex.hidden_size, ex.variant
    fa, ga, ha = v.acts
    n = lambda name, j: fnum(V[name][j], F.d)  # noqa: E731
    out = [Heading(f"Step {t}", 2)]
    hx = F.hx(V["h_prev"], V["x"])  # one format for the three rows
    out.append(Table(["", *[f"{j + 1}" for j in range(len(hx))]],
                     [[f"h_{t - 1}", *hx[:H]], [f"x_{t}", *hx[H:]], [f"[h_{t - 1}, x_{t}]", *hx]],
                     "Inputs, and their concatenation [h_{t-1}, x_t]"))
    if v.layer_norm:
        rows = [[f"a_{p} = W_{p} {src}", n(f"mu_{p}", 0), fdivisor(V[f"sd_{p}"][0], F.d)] for p, src in (("x", f"x_{t}"), ("h", f"h_{t - 1}"))]
        out.append(Table(["", "μ = mean", "s = sqrt(var + ε)"], rows,
                         "Layer norm: the four gates' parts normalised together, n = γ ⊙ (a - μ) / s"))
    c_new = "c_new" if v.zoneout_cell else "c"
    for k in BEFORE_C + (("o",) if not v.peephole else ()):
        out += _variant_gate_table(ex, rec, F, k)
    ccols = ["", f"f_{t}", f"c_{t - 1}", "f*c_prev", f"i_{t}", f"c~_{t}", "i*c~"]
    cnames = ["f", "c_prev", "fc", "i", "g", "ig"]
    if v.cell_clip is not None:
        ccols += ["sum", f"clip ±{fparam(v.cell_clip)}"]
        cnames += ["c_raw", c_new]
    else:
        ccols.append(f"c'_{t}" if v.zoneout_cell else f"c_{t}")
        cnames.append(c_new)
    if v.zoneout_cell:
        ccols.append(f"c_{t} = {fparam(v.zoneout_cell)} c_{t - 1} + {fparam(1 - v.zoneout_cell)} c'_{t}")
        cnames.append("c")
    out.append(Table(["", *_stated(rec, cnames, ccols[1:])], [[f"cell {j + 1}", *(n(m, j) for m in cnames)] for j in range(H)],
                     "Cell state: c_t = f_t * c_(t-1) + i_t * c~_t" + (" (clipped)" if v.cell_clip is not None else "")))
    if v.peephole:
        out += _variant_gate_table(ex, rec, F, "o")
    hn = act_name(ha)
    c_lab = f"c'_{t}" if v.zoneout_cell else f"c_{t}"
    hcols, hnames = ["", c_lab], [c_new]
    if v.layer_norm:
        hcols.append(f"n_c = γ_c LN({c_lab}) + β_c")
        hnames.append("n_c")
    hcols += [f"{hn}({'n_c' if v.layer_norm else c_lab})", f"o_{t}", f"h'_{t}" if v.zoneout_hidden else f"h_{t}"]
    hnames += ["tanh_c", "o", "h_new" if v.zoneout_hidden else "h"]
    if v.zoneout_hidden:
        hcols.append(f"h_{t} = {fparam(v.zoneout_hidden)} h_{t - 1} + {fparam(1 - v.zoneout_hidden)} h'_{t}")
        hnames.append("h")
    out.append(Table(["", *_stated(rec, hnames, hcols[1:])], [[f"cell {j + 1}", *(n(m, j) for m in hnames)] for j in range(H)],
                     f"Output: h_t = o_t * {hn}({'LN(c_t)' if v.layer_norm else 'c_t'})"))
    out += _readout(ex, rec, F)
    return out


def _variant_gate_table(ex: WorkedExample, rec, F: _Fmt, k: str) -> list:
    t, V, H, v = rec.t, rec.values, ex.hidden_size, ex.variant
    n = lambda name, j: fnum(V[name][j], F.d)  # noqa: E731
    name = "c~" if k == "g" else k
    if k == "f" and v.input_forget:
        return [Table(["", f"i_{t}", f"f_{t} = 1 - i_{t}"], [[f"cell {j + 1}", n("i", j), n("f", j)] for j in range(H)],
                      "Forget gate, coupled to the input gate (CIFG): f_t = 1 - i_t")]
    act = act_name(v.acts[1] if k == "g" else v.acts[0])
    if v.layer_norm:
        cols, names, lin = [f"n_x,{name}", f"n_h,{name}"], [f"nx_{k}", f"nh_{k}"], f"n_x,{name} + n_h,{name}"
    else:
        cols, names, lin = _linear_columns(ex, k, t, rec)
    if v.peephole and k != "g":
        c = "c_(t-1)" if k != "o" else ("c'_t" if v.zoneout_cell else "c_t")
        cols.append(f"w_c{k} * {c}")
        names.append(f"pc_{k}")
        lin += f" + w_c{k} * {c}"
    b = _table_bias(ex, k)
    cols.append(f"+ {b}")
    names.append(f"z_{k}")
    if v.gate_clip is not None:
        cols.append(f"clip ±{fparam(v.gate_clip)}")
        names.append(f"zc_{k}")
    cols.append(f"{act} = {name}_{t}")
    names.append(k)
    return [Table(["", *_stated(rec, names, cols)], [[f"cell {j + 1}", *(n(m, j) for m in names)] for j in range(H)],
                  f"{GATE_WORD[k].capitalize()}: {name}_t = {act}({lin} + {b})")]


def _zoneout_eq(t, name: str, z: float, V, F: _Fmt) -> Equation:
    zs, ks = Num(fparam(z)), Num(fparam(1 - z))
    return Equation(Sym(name, str(t)), [
        seq(zs, "*", Sym(name, str(t - 1)), "+", ks, "*", Sym(f"{name}'", str(t))),
        seq(zs, "*", F.vec(V[f"{name}_prev"]), "+", ks, "*", F.vec(V[f"{name}_new"])),
        F.vec(V[name]),
    ], f"zoneout at inference: {name}_(t-1) kept with probability {fparam(z)}, in expectation")


# -- table form (seed 001) ---------------------------------------------------------------------
def _table_form(ex: WorkedExample, rec, F: _Fmt) -> list:
    t, V, H = rec.t, rec.values, ex.hidden_size
    n = lambda v, j: fnum(v[j], F.d)  # noqa: E731
    out = [Heading(f"Step {t}", 2)]
    hx = F.hx(V["h_prev"], V["x"])  # one format for the three rows
    out.append(Table(["", *[f"{j + 1}" for j in range(len(hx))]],
                     [[f"h_{t - 1}", *hx[:H]], [f"x_{t}", *hx[H:]], [f"[h_{t - 1}, x_{t}]", *hx]],
                     "Inputs, and their concatenation [h_{t-1}, x_t]"))
    for k in CONCAT_ORDER:
        act = ACT[k]
        name = "c~" if k == "g" else k
        cols, names, lin = _linear_columns(ex, k, t, rec)
        b = _table_bias(ex, k)
        names += [f"z_{k}", k]
        rows = [[f"cell {j + 1}", *(n(V[m], j) for m in names)] for j in range(H)]
        out.append(Table(["", *_stated(rec, names, [*cols, f"+ {b}", f"{act} = {name}_{t}"])], rows,
                         f"{GATE_WORD[k].capitalize()}: {name}_t = {act}({lin} + {b})"))
    names = ["f", "c_prev", "fc", "i", "g", "ig", "c"]
    rows = [[f"cell {j + 1}", *(n(V[m], j) for m in names)] for j in range(H)]
    out.append(Table(["", *_stated(rec, names, [f"f_{t}", f"c_{t - 1}", "f*c_prev", f"i_{t}", f"c~_{t}", "i*c~", f"c_{t}"])], rows,
                     "Cell state: c_t = f_t * c_(t-1) + i_t * c~_t"))
    names = ["c", "tanh_c", "o", "h"]
    rows = [[f"cell {j + 1}", *(n(V[m], j) for m in names)] for j in range(H)]
    out.append(Table(["", *_stated(rec, names, [f"c_{t}", f"tanh(c_{t})", f"o_{t}", f"h_{t}"])], rows, "Output: h_t = o_t * tanh(c_t)"))
    out += _readout(ex, rec, F)
    return out


def _stated(rec, names: list[str], headers: list[str]) -> list[str]:
    """Table headers, "(stated)" after each whose column the example states (a ``given`` value,
    not computed: seed 001's C_t), as the steps form notes it."""
    return [h + (" (stated)" if rec.source.get(m) == "given" else "") for m, h in zip(names, headers)]


def _linear_columns(ex: WorkedExample, k: str, t: int, rec=None) -> tuple[list[str], list[str], str]:
    """Gate k's weighted inputs in a table: (column headers, the trace's names, the formula).

    In seeds 001/003's notation W_k·[h_{t-1}, x_t] is one product, one column. Per gate (seed 000)
    and for seed 002's unit, W_x x_t and W_h h_{t-1} are two products, each rounded by hand on its
    own (:func:`~lstmkit.explain.trace.forward`), so each has its column: a column named as the one
    product W·[h, x] would hold the sum of two rounded ones, which can differ from it in the last
    digit. The next column (``+ b``) adds the row's columns and the bias. Where the example states
    W·[h, x] itself (``rec``'s source "given", its weights not given), that is the one column."""
    if ex.notation == "concat" or (rec is not None and rec.source.get(f"Wxh_{k}") == "given"):
        w = ex.weight_label(k, "Wxh", written=True)  # seed 001's deck writes W_C; check names it so too
        return [f"{w}·[h,x]"], [f"Wxh_{k}"], f"{w}·[h_(t-1), x_t]"
    wx, wh = ex.weight_label(k, "x"), ex.weight_label(k, "h")
    h = "zs" if ex.notation == "unit" else "h"
    return ([f"{wx} x_{t}", f"{wh} {h}_{t - 1}"], [f"Wx_{k}", f"Wh_{k}"], f"{wx} x_t + {wh} {h}_(t-1)")


def _table_bias(ex: WorkedExample, k: str) -> str:
    """The bias's name in a gate table's header: b_C (seeds 001/003, as their W_C), b_c (seed 000), Bias2 (seed 002)."""
    return ex.weight_label(k, "b", written=True)


# -- memory form (seed 002) --------------------------------------------------------------------
def _memory_form(ex: WorkedExample, rec, F: _Fmt, hand: bool = False) -> list:
    t, V, H = rec.t, rec.values, ex.hidden_size
    out = [Heading(f"Step {t}", 2)]
    dx = max([F.d] + [_places(a) for a in V["x"]])  # the memories and the input in one format
    for j in range(H):
        u = f" (unit {j + 1})" if H > 1 else ""
        out.append(Heading(f"Unit {j + 1}" if H > 1 else "The unit", 3))
        zs = fnum(V["h_prev"][0], dx) if H == 1 else "[" + ", ".join(fnum(a, dx) for a in V["h_prev"]) + "] (all units)"
        out.append(Para(f"Long-term memory zl({t - 1}) = {fnum(V['c_prev'][j], dx)}, short-term memory zs({t - 1}) = "
                        f"{zs}, input x({t}) = " + ", ".join(fnum(a, dx) for a in V["x"]) + "."))
        for k, words in (("f", "% of the long-term memory to remember"), ("g", "potential long-term memory"),
                         ("i", "% of the potential memory to remember"), ("o", "% of the potential short-term memory to keep")):
            fn = "F" if k == "g" else "f"
            n = UNIT_INDEX[k]
            G = ex.gates[k]
            b = 0.0 if G.b is None else G.b[j]
            lhs = Sym(words + u)
            # a "%" gate's value as the fraction the products below use, then as the percentage its name says
            pct = [] if k == "g" or np.isnan(V[k][j]) else [Num(fnum(100 * V[k][j], max(F.d - 2, 0)) + "%")]
            if G.Wx is None or G.Wh is None:
                if np.isnan(V[k][j]):
                    continue
                out.append(Equation(lhs, [Call(fn, Num(fnum(V[f"z_{k}"][j], F.d))), Num(fnum(V[k][j], F.d))] + pct))
                continue
            # one format for the line: the working precision, or more where a weight or input needs it
            d = max([dx, _places(b)] + [_places(a) for a in (*G.Wh[j], *G.Wx[j])])
            num = lambda a: Num(fnum(a, d))  # noqa: E731
            sym_terms, num_terms = [], []
            for m in range(H):
                sym_terms.append(seq(Sym(f"Ws{n}" if H == 1 else f"Ws{n}[{j + 1},{m + 1}]"), "*", Sym(f"zs({t - 1})" if H == 1 else f"zs{m + 1}({t - 1})")))
                num_terms.append(seq(num(G.Wh[j, m]), "*", num(V["h_prev"][m])))
            for m in range(ex.input_size):
                sym_terms.append(seq(Sym(f"Wi{n}" if ex.input_size == 1 and H == 1 else f"Wi{n}[{j + 1},{m + 1}]"), "*", Sym(f"x({t})" if ex.input_size == 1 else f"x{m + 1}({t})")))
                num_terms.append(seq(num(G.Wx[j, m]), "*", num(V["x"][m])))
            sym_terms.append(Sym(f"Bias{n}"))
            num_terms.append(num(b))
            rhs = [Call(fn, _join(sym_terms)), Call(fn, _join(num_terms))]
            if hand:  # each product rounded on its own, as the hand calculation carries it
                rhs.append(Call(fn, _join([num(V[f"Wh_{k}"][j]), num(V[f"Wx_{k}"][j]), num(b)])))
            out.append(Equation(lhs, rhs + [Call(fn, Num(fnum(V[f"z_{k}"][j], F.d))), Num(fnum(V[k][j], F.d))] + pct))
        if np.isnan(V["c"][j]) and np.isnan(V["h"][j]):
            continue
        n_ = lambda name: Num(fnum(V[name][j], F.d))  # noqa: E731
        out.append(Equation(Sym(f"new long-term memory zl({t})"), [
            seq(Sym(f"zl({t - 1})"), "*", Sym("% remember"), "+", Sym("potential"), "*", Sym("% potential")),
            seq(n_("c_prev"), "*", n_("f"), "+", n_("g"), "*", n_("i")),
            seq(n_("fc"), "+", n_("ig")), n_("c")]))
        out.append(Equation(Sym(f"new short-term memory zs({t})"), [
            seq(Call("F", Sym(f"zl({t})")), "*", Sym("% keep")),
            seq(Call("F", n_("c")), "*", n_("o")), seq(n_("tanh_c"), "*", n_("o")), n_("h")]))
    out += _readout(ex, rec, F)
    return out


# -- backward ----------------------------------------------------------------------------------
def _backward(ex: WorkedExample, fw: ForwardTrace, bw: BackwardTrace, digits: int) -> list:
    """BPTT, step by step; by hand (``bw.decimals``) at the forward pass's precision."""
    F = _Fmt(digits if bw.decimals is None else bw.decimals)
    T, r = ex.T, ex.readout
    if bw.loss_kind == "xent":
        lw = "L = Σ_t -log y_t[class target_t] (the read-out's cross-entropy, summed over the steps)"
    else:
        lw = f"L = Σ_j h_{T}[j] (the sum of the last output)"
    hand = "" if bw.decimals is None else (
        f" By hand, as the forward pass: every gradient below is rounded to {count(bw.decimals, 'decimal')} and carried "
        "back, each line computed from the rounded numbers it shows.")
    out = [Heading("Backward: back-propagation through time", 2),
           Para(f"Loss {lw} = {fnum(bw.loss, F.d)}. Walking back from t = {T} to 1, dh_next and dc_next are the "
                "gradients arriving from step t+1 (zero at the last step); each step passes dh_prev and dc_prev "
                "back as the next dh_next and dc_next." + hand),
           _loss_equation(ex, fw, bw, F)]
    for b in bw.steps:
        t = b.t
        rec = fw.steps[t - 1]
        v = b.values
        s = lambda name, sub=None: Sym(name, str(t) if sub is None else sub)  # noqa: E731
        out.append(Heading(f"Backward step {t}", 3))
        dL_dh = Sym("∂L_" + str(t) + "/∂h", str(t))
        if bw.loss_kind == "xent":  # d(-log softmax(a)[target])/da = y - onehot(target)
            tgt = r.targets[t - 1]
            onehot = np.eye(len(rec["y"]))[tgt]
            diff = [seq(s("y"), "-", Call("onehot", Num(str(tgt)))), seq(F.vec(rec["y"]), "-", F.given(onehot)), F.vec(v["dlogits"])]
            if r.W_y is None:
                out.append(Equation(dL_dh, diff, f"y_{t} = softmax(h_{t}), target class {tgt}"))
            else:
                dL_da = Sym("∂L_" + str(t) + "/∂a", str(t))
                out.append(Equation(dL_da, diff, f"a_{t} = W_y h_{t} + b_y, y_{t} = softmax(a_{t}), target class {tgt}"))
                out.append(Equation(dL_dh, [seq(Sym("W", "y", sup="⊤"), dL_da),
                                            F.product(r.W_y.T, v["dlogits"]), F.vec(v["dh_out"])]))
        out.append(Equation(Sym("dh", str(t)), [seq(dL_dh, "+", Sym("dh_next")),
                                                 seq(F.vec(v["dh_out"]), "+", F.vec(v["dh_next"])), F.vec(v["dh"])]))
        out.append(Equation(Sym("do", str(t)), [seq(s("dh"), "*", Call("tanh", s("c"))),
                                                 seq(F.vec(v["dh"]), "*", F.vec(rec["tanh_c"])), F.vec(v["do"])]))
        out.append(Equation(Sym("dc", str(t)), [
            seq(s("dh"), "*", s("o"), "*", Call("", seq(Num("1"), "-", Call("tanh²", s("c")))), "+", Sym("dc_next")),
            seq(F.vec(v["dh"]), "*", F.vec(rec["o"]), "*", F.vec(v["dtanh_c"]), "+", F.vec(v["dc_next"])),
            F.vec(v["dc"])]))
        partner = {"i": "g", "f": "c_prev", "g": "i"}  # dk = dc * the other factor of k's term of c_t
        for k, src in ((k, partner[k]) for k in gate_order(ex) if k != "o"):
            lhs = Sym("dc̃" if k == "g" else f"d{k}", str(t))
            other = Sym("c", str(t - 1)) if src == "c_prev" else gate_sym(src, t)
            out.append(Equation(lhs, [seq(s("dc"), "*", other), seq(F.vec(v["dc"]), "*", F.vec(rec[src])), F.vec(v[f"d{k}"])]))
        for k in gate_order(ex):
            g = gate_sym(k, t)
            gname = "c̃" if k == "g" else k
            if k == "g":
                deriv = seq(Num("1"), "-", Sym("c̃²", str(t)))
            else:
                deriv = seq(g, Call("", seq(Num("1"), "-", g)))
            out.append(Equation(Sym(f"dz_{gname}", str(t)), [seq(Sym(f"d{gname}", str(t)), "*", Call("", deriv)),
                                                              seq(F.vec(v[f"d{k}"]), "*", F.vec(v[f"d{k}_dz"])),
                                                              F.vec(v[f"dz_{k}"])]))
        out.append(Equation(Sym("dc_prev"), [seq(s("dc"), "*", s("f")), seq(F.vec(v["dc"]), "*", F.vec(rec["f"])), F.vec(v["dc_prev"])],
                            f"passed back as dc_next of step {t - 1}" if t > 1 else "= dL/dc_0"))
        passed = f"passed back as dh_next of step {t - 1}" if t > 1 else "= dL/dh_0"
        for name, part, lhs, note in (("dh_prev", "h", Sym("dh_prev"), passed), ("dx", "x", Sym("dx", str(t)), "")):
            rhs, where = _through_weights(ex, v, t, part, F)
            out.append(Equation(lhs, rhs + [F.vec(v[name])], "; ".join(n for n in (note, where) if n)))
    rows = []
    if ex.notation == "concat":  # seed 001's deck: W_f, b_f, W_C, ... (the trace keeps GATES' order)
        first = [ex.weight_label(k, p) for k in CONCAT_ORDER for p in ("W", "b")]
        grads = {n: bw.param_grads[n] for n in first} | bw.param_grads  # first's order, then W_y, b_y
    else:
        grads = bw.param_grads
    for name, g in grads.items():
        g = np.atleast_1d(g)
        rows.append([ex.written_name(name), "; ".join(", ".join(fnum(a, F.d) for a in np.atleast_1d(row)) for row in (g if g.ndim == 2 else [g]))])
    how = ("the engine's LSTMCell.backward" if bw.decimals is None else
           f"by hand: each entry a sum of the steps' rounded dz_t times x_t or h_(t-1), rounded once to {count(bw.decimals, 'decimal')}")
    out.append(Table(["parameter", "dL/dparameter (rows separated by ;)"], rows, f"Parameter gradients, summed over the steps ({how})"))
    return out


def _through_weights(ex: WorkedExample, v, t: int, part: str, F: _Fmt) -> tuple[list, str]:
    """dh_prev = Σ_k W_{hk}ᵀ dz_k (``part`` "h") or dx_t = Σ_k W_{xk}ᵀ dz_k (``part`` "x"): the
    symbols, then each gate's product with its numbers (:meth:`_Fmt.product`, as the forward's
    W x). By hand the sum of the products is rounded once (:func:`~lstmkit.explain.trace.backward`),
    so the line adds up to the result shown after it. Returns (right-hand sides, a note naming the
    matrices in the concat notation, where they are blocks of W_k)."""
    syms, nums = [], []
    for k in CONCAT_ORDER if ex.notation == "concat" else GATES:  # seed 001: f, i, C̃, o; seed 000: i, f, c̃, o
        G = ex.gates[k]
        if ex.notation == "concat":
            w = Sym("W", f"{_wsym(ex, k, 'W').sub},{part}", sup="⊤")  # W_k's columns on h_{t-1} or x_t (W_{C,h}: W_C's)
        else:
            s = _wsym(ex, k, part)
            w = Sym(s.name, s.sub, s.tilde, "⊤")
        syms.append(seq(w, Sym(f"dz_{'c̃' if k == 'g' else k}", str(t))))
        nums.append(F.product((G.Wh if part == "h" else G.Wx).T, v[f"dz_{k}"]))
    where = ""
    if ex.notation == "concat":
        on = f"h_{t - 1}" if part == "h" else f"x_{t}"
        where = f"W_k,{part}: the columns of W_k that multiply {on}"
    return [_join(syms), _join(nums)], where


def _loss_equation(ex: WorkedExample, fw: ForwardTrace, bw: BackwardTrace, F: _Fmt) -> Equation:
    """L as the sum of its terms: the symbols, the numbers they read, each term, the total."""
    by_t = {b.t: b for b in bw.steps}
    if bw.loss_kind == "xent":
        sym, args, terms = [], [], []
        for t in range(1, ex.T + 1):
            tgt = ex.readout.targets[t - 1]
            sym += ["-", Call("log", Sym("y", str(t), index=f"class {tgt}"))]  # a class, from 0 as targets
            args += ["-", Call("log", Num(fnum(fw.steps[t - 1]["y"][tgt], F.d)))]
            terms += ["+", Num(fnum(by_t[t]["loss"][0], F.d))]
        note = ("y_t[class c]: the probability of class c; classes count from 0, as [readout] targets do" if np.isfinite(bw.loss) else
                f"a y_t[class target_t] rounds to 0 at {count(F.d, 'decimal')}: its -log is infinite by hand; more decimals "
                "(--round) give a finite loss, and the gradients below do not need it")
        return Equation(Sym("L"), [seq(*sym), seq(*args), seq(*terms[1:]), Num(fnum(bw.loss, F.d))], note)
    h = fw.steps[-1]["h"]
    sym = _join([Sym("h", str(ex.T), index=str(j + 1)) for j in range(len(h))])  # units, from 1 as check counts them
    return Equation(Sym("L"), [sym, _join([Num(fnum(a, F.d)) for a in h]), Num(fnum(bw.loss, F.d))],
                    f"h_{ex.T}[j]: unit j; units count from 1, as check and exercise count them")
