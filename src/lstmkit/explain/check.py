"""Check a worked example's claims against the computation, exact and by hand.

For every claimed number (step, quantity, unit) ``check`` computes

- the exact value (the engine's numbers);
- the value a person gets by hand at the claim's precision: every intermediate rounded to that
  many decimals and carried forward (:func:`lstmkit.explain.trace.forward` with ``decimals``);
- the value that follows from the author's *own* earlier numbers: the same hand computation
  with every claimed value put in place of the computed one (claims of the same place first), and
  the same without rounding (a person who rounds only what they write down).

A claim is right when it agrees with the exact or the hand value at its precision (a claim of 0.9
for 0.881 is right at one decimal), or with what the author's own earlier numbers give when none
of those it comes from is wrong (earlier values right but rounded otherwise carry forward). A
wrong claim *follows from an earlier wrong value* when it agrees with what the author's own
earlier numbers give and those include a wrong claim (the nearest: a right claim in between cuts
the chain); else it is a *new error*. Besides: a claim outside its function's range (σ in [0, 1],
tanh in [-1, 1], a class index in 0..K-1) is impossible; a claim with the wrong number of entries
is flagged; and inputs, initial states, parameters or quantities stated in two places with
different values are reported as conflicts.

Values are named as ``explain`` writes them: ``i_3``, ``c̃_2``, ``z_f_1``, ``W_if x_1``,
``W_f·[h_0, x_1]``, ``f_1 * c_0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .trace import ForwardTrace, forward, hand_round
from .worked import GATES, Claim, WorkedExample, expected_weight_shape, require_example

#: quantity -> the quantities of the same step (or "prev:" of step t-1) it is computed from
DEPS: dict[str, tuple[str, ...]] = {
    "x": (), "h_prev": ("prev:h",), "c_prev": ("prev:c",),
    **{f"Wx_{k}": ("x",) for k in GATES}, **{f"Wh_{k}": ("h_prev",) for k in GATES},
    **{f"Wxh_{k}": (f"Wx_{k}", f"Wh_{k}") for k in GATES}, **{f"z_{k}": (f"Wxh_{k}",) for k in GATES},
    **{k: (f"z_{k}",) for k in GATES},
    "fc": ("f", "c_prev"), "ig": ("i", "g"), "c": ("fc", "ig"), "tanh_c": ("c",), "h": ("o", "tanh_c"),
    "logits": ("h",), "y": ("logits",), "pred": ("y",),
}
RANGES = {"i": (0.0, 1.0, "σ"), "f": (0.0, 1.0, "σ"), "o": (0.0, 1.0, "σ"), "y": (0.0, 1.0, "softmax"),
          "g": (-1.0, 1.0, "tanh"), "tanh_c": (-1.0, 1.0, "tanh"), "h": (-1.0, 1.0, "o·tanh")}
ORDER = {n: i for i, n in enumerate(DEPS)}

#: verdicts; all but OK and OK_HAND and UNCHECKED make ``check`` fail
OK, OK_HAND, UNCHECKED = "ok", "ok by hand", "not checkable"
NEW, FOLLOWS, CONFLICT, RANGE, SHAPE, BLANK = "new error", "follows", "conflict", "impossible", "shape", "not answered"
FAILING = (NEW, FOLLOWS, CONFLICT, RANGE, SHAPE, BLANK)


def tol(decimals: int) -> float:
    """Half a unit in the last written place: 0.9 stands for anything in [0.85, 0.95]."""
    return 0.5 * 10.0 ** (-decimals) + 1e-9


@dataclass
class Finding:
    """One checked number (or one conflict / shape problem)."""

    verdict: str  # one of the verdict constants above
    label: str  # "i_3 unit 1", "W_o", "x_1 unit 2"
    where: str  # the claim's place
    claimed: float | str | None = None
    exact: float | None = None
    hand: float | None = None  # by hand at the claim's precision
    own: float | None = None  # from the author's own earlier numbers
    decimals: int = 3
    detail: str = ""  # one sentence: why
    step: int | None = None
    name: str = ""
    unit: int | None = None  # 0-based
    culprits: tuple[str, ...] = ()  # the earlier wrong values it follows from

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING


@dataclass
class CheckReport:
    example: WorkedExample
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.failing for f in self.findings)

    def count(self, *verdicts: str) -> int:
        return sum(f.verdict in verdicts for f in self.findings)

    def summary(self) -> str:
        n = len(self.findings)
        bad = [f for f in self.findings if f.failing]
        parts = [f"{n} value(s) checked", f"{self.count(OK, OK_HAND)} right"]
        if self.count(OK_HAND):
            parts[-1] += f" ({self.count(OK_HAND)} only by hand-rounding)"
        for v, word in ((NEW, "new error(s)"), (FOLLOWS, "following from an earlier wrong value"),
                        (CONFLICT, "conflict(s) between two places"), (RANGE, "impossible value(s)"),
                        (SHAPE, "wrong size(s)"), (BLANK, "not answered"), (UNCHECKED, "not checkable")):
            if self.count(v):
                parts.append(f"{self.count(v)} {word}")
        head = "all claims agree" if not bad else f"{len(bad)} problem(s)"
        return f"{head}: " + ", ".join(parts)


def symbol(name: str, t: int | None) -> str:
    """Plain-text symbol of a quantity at step t, as ``explain`` writes it: ``i_3``, ``c̃_2``,
    ``z_c̃_2``, ``W_if x_1``, ``W_hf h_1`` (at step 2), ``W_f·[h_0, x_1]``, ``f_1 * c_0``."""
    if t is None:
        return name
    p, n = t - 1, lambda k: "c̃" if k == "g" else k  # noqa: E731
    letter = {"i": "i", "f": "f", "g": "c", "o": "o"}
    for pre, word in (("Wxh_", "W_{L}·[h_{p}, x_{t}]"), ("Wx_", "W_i{L} x_{t}"), ("Wh_", "W_h{L} h_{p}"), ("z_", "z_{k}_{t}")):
        if name.startswith(pre):
            k = name[len(pre):]
            return word.format(L=letter[k], k=n(k), p=p, t=t)
    return {"h_prev": f"h_{p}", "c_prev": f"c_{p}", "fc": f"f_{t} * c_{p}", "ig": f"i_{t} * c̃_{t}",
            "tanh_c": f"tanh(c_{t})", "logits": f"W_y h_{t} + b_y", "pred": f"class_{t}"}.get(name, f"{n(name)}_{t}")


def _label(name, t, unit):
    s = symbol(name, t)
    return s if unit is None or name == "pred" else f"{s} unit {unit + 1}"


def _normalize(c: Claim) -> tuple[int, str]:
    """A claim about h_{t-1} / c_{t-1} at step t > 1 is a claim about h / c at step t-1."""
    if c.name in ("h_prev", "c_prev") and c.step > 1:
        return c.step - 1, c.name[0]
    return c.step, c.name


def _substitution(ex: WorkedExample, first_place: str) -> dict:
    """Claimed values as a substitution map, the claims of ``first_place`` taking precedence."""
    sub: dict[tuple[int, str], np.ndarray] = {}
    claims = sorted((c for c in ex.claims if not c.is_param and c.answered and c.name not in ("x",)),
                    key=lambda c: c.where == first_place)  # first_place last: it wins
    for c in claims:
        t, name = _normalize(c)
        if name in ("h_prev", "c_prev"):  # t = 1: the initial state is an input, not substituted
            continue
        n = 1 if name == "pred" else (len(ex.readout.W_y) if name in ("y", "logits") and ex.readout and ex.readout.W_y is not None else ex.hidden_size)
        cur = sub.setdefault((t, name), np.full(n, np.nan))
        if c.unit is not None:
            if c.unit < n:
                cur[c.unit] = float(c.value)
        elif c.value.shape == (n,):
            mask = ~np.isnan(c.value)
            cur[mask] = c.value[mask]
    return sub


def check(ex: WorkedExample) -> CheckReport:
    """Check every claim of ``ex`` (see the module docstring)."""
    require_example(ex, "check")
    rep = CheckReport(ex)
    exact = forward(ex)
    hand_cache: dict[int, ForwardTrace] = {}
    own_cache: dict[tuple[int | None, str], ForwardTrace] = {}

    def hand(d):
        if d not in hand_cache:
            hand_cache[d] = forward(ex, decimals=d)
        return hand_cache[d]

    def own(d, place):
        if (d, place) not in own_cache:
            own_cache[(d, place)] = forward(ex, decimals=d, substitute=_substitution(ex, place))
        return own_cache[(d, place)]

    rep.findings += _check_params(ex)
    rep.findings += _check_inputs(ex)
    step_claims = [c for c in ex.claims if not c.is_param and c.name != "x" and not (c.name in ("h_prev", "c_prev") and c.step == 1)]
    step_claims.sort(key=lambda c: (_normalize(c)[0], ORDER[_normalize(c)[1]]))
    wrong: dict[tuple[int, str, int], str] = {}  # (t, name, unit) -> label of a wrong claim
    accepted: set[tuple[int, str, int]] = set()  # (t, name, unit) of the claims found right
    for c in step_claims:
        t, name = _normalize(c)
        n = exact.steps[t - 1].values[name].shape[0]
        if c.unit is None and c.value.shape != (n,):
            rep.findings.append(Finding(SHAPE, _label(name, t, None), c.where, str(c.value.tolist()), step=t, name=name,
                                        detail=f"written with {c.value.size} entries; the cell computes {n}"))
            continue
        units = [c.unit] if c.unit is not None else range(n)
        for u in units:
            if u >= n:
                rep.findings.append(Finding(SHAPE, _label(name, t, u), c.where, step=t, name=name,
                                            detail=f"unit {u + 1} does not exist; there are {n}"))
                continue
            claimed = float(c.value) if c.unit is not None else float(c.value[u])
            rep.findings.append(_judge(ex, c, t, name, u, claimed, exact, hand(c.decimals), own(c.decimals, c.where),
                                       own(None, c.where), wrong, accepted))
    rep.findings += _check_conflicts(ex)
    return rep


def _judge(ex, c, t, name, u, claimed, exact, hand, own, own_exact, wrong, accepted) -> Finding:
    """The verdict on one claimed number. ``own``: the hand computation from the author's own
    claimed numbers at the claim's precision; ``own_exact``: the same without rounding (a person
    who rounds only what they write down). Right claims go into ``accepted``, wrong ones into
    ``wrong`` (both read by :func:`_culprits`)."""
    d = c.decimals
    label = _label(name, t, u)
    e = float(exact.steps[t - 1].values[name][u])
    hv = float(hand.steps[t - 1].values[name][u])
    ov = float(own.steps[t - 1].computed[name][u])
    oxv = float(own_exact.steps[t - 1].computed[name][u])
    f = Finding(OK, label, c.where, None, None if np.isnan(e) else e, None if np.isnan(hv) else hv,
                None if np.isnan(ov) else ov, d, step=t, name=name, unit=u)
    if np.isnan(claimed):
        f.verdict, f.claimed, f.detail = BLANK, "?", "left blank"
        wrong[(t, name, u)] = label
        return f
    f.claimed = claimed
    if name == "pred":
        K = exact.steps[t - 1].values["y"].shape[0]
        if claimed != int(claimed) or not 0 <= claimed < K:
            f.verdict, f.detail = RANGE, f"a predicted class is an index from 0 to {K - 1}"
            wrong[(t, name, u)] = label
            return f
    if name in RANGES:
        lo, hi, fn = RANGES[name]
        if not lo - tol(d) <= claimed <= hi + tol(d):
            f.verdict, f.detail = RANGE, f"{fn} only takes values in [{lo:g}, {hi:g}]"
            wrong[(t, name, u)] = label
            return f
    if name == "pred":
        right = not np.isnan(e) and int(claimed) == int(e)
        hand_right = not np.isnan(hv) and int(claimed) == int(hv)
    else:
        right = not np.isnan(e) and abs(claimed - e) <= tol(d)
        hand_right = not np.isnan(hv) and abs(claimed - hv) <= tol(d)
    if right:
        accepted.add((t, name, u))
        return f
    if hand_right:
        f.verdict = OK_HAND
        f.detail = f"agrees with hand-rounding to {d} decimal(s) carried forward; exact rounds to {_fmt(hand_round(np.array(e), d), d)}"
        accepted.add((t, name, u))
        return f
    if np.isnan(e) and np.isnan(ov):
        f.verdict, f.detail = UNCHECKED, "the example gives neither the weights nor the inputs this comes from"
        return f
    agrees_own = not np.isnan(ov) and abs(claimed - ov) <= tol(d)
    if not agrees_own and not np.isnan(oxv) and abs(claimed - oxv) <= tol(d):
        agrees_own, ov = True, oxv  # from the author's numbers, rounded only where written down
    culprits = _culprits(t, name, u, wrong, accepted, exact)
    if agrees_own and not culprits:  # it follows from earlier numbers that were all right
        accepted.add((t, name, u))
        if np.isnan(e):
            f.detail = "agrees with the example's own numbers (the weights it comes from are not given)"
        else:
            f.verdict = OK_HAND
            f.detail = (f"follows from the earlier values as written ({_fmt(ov, d)}), which are right but rounded "
                        f"differently from the hand computation at {d} decimal(s)")  # fmt: skip
        return f
    wrong[(t, name, u)] = label
    if agrees_own and culprits:
        f.verdict, f.culprits = FOLLOWS, tuple(culprits)
        f.detail = "follows from the wrong " + ", ".join(culprits)
    elif np.isnan(e):
        f.verdict = NEW
        f.detail = f"disagrees with the example's own numbers, which give {_fmt(ov, d)}"
    else:
        f.verdict = NEW
        f.detail = "a new error"
        if not np.isnan(ov) and abs(ov - hv) > tol(d):
            f.detail += f"; even from the example's own earlier numbers it is {_fmt(ov, d)}"
        if culprits:
            f.detail += " (it also uses the wrong " + ", ".join(culprits) + ")"
    return f


#: edges along which every unit feeds every unit (matrix products, softmax); others are unit-wise
MIXING = {(f"Wx_{k}", "x") for k in GATES} | {(f"Wh_{k}", "h_prev") for k in GATES} | {
    ("logits", "h"), ("y", "logits"), ("pred", "y")}


def _culprits(t, name, u, wrong, accepted, exact) -> list[str]:
    """The nearest wrong claims among the values unit u of (t, name) is computed from; a value
    claimed and found right (``accepted``) stops the search: what came before it no longer matters."""
    found: list[str] = []
    seen = set()
    stack = [(t, d, None if (name, d) in MIXING else u) for d in DEPS[name]]
    while stack:
        tt, d, uu = stack.pop()
        if d.startswith("prev:"):
            tt, d = tt - 1, d[5:]
            if tt < 1:
                continue
        if (tt, d, uu) in seen:
            continue
        seen.add((tt, d, uu))
        hits = [lbl for (wt, wn, wu), lbl in wrong.items() if wt == tt and wn == d and (uu is None or wu == uu)]
        if hits:
            found += [h for h in hits if h not in found]
            continue
        units = range(len(exact.steps[tt - 1].values[d])) if uu is None else (uu,)
        if all((tt, d, k) in accepted for k in units):
            continue  # claimed and right
        if exact.steps[tt - 1].source.get(d) == "given":
            continue  # the example states this value; nothing before it feeds it
        stack += [(tt, dd, None if (d, dd) in MIXING else uu) for dd in DEPS[d]]
    return found


def _fmt(v, d) -> str:
    return "?" if v is None or np.isnan(v) else f"{float(v):.{d}f}"


def _check_params(ex: WorkedExample) -> list[Finding]:
    out = []
    H, I = ex.hidden_size, ex.input_size
    for c in ex.claims:
        if not c.is_param:
            continue
        shape = expected_weight_shape(ex.notation, c.name, H, I)
        v = c.value
        if ex.notation == "unit":
            v = v.reshape(shape) if v.size == int(np.prod(shape)) else v
        if v.shape != shape:
            out.append(Finding(SHAPE, c.name, c.where, str(c.value.tolist()), decimals=c.decimals, name=c.name,
                               detail=f"printed with shape {c.value.shape}; this cell (H={H}, I={I}) needs {shape}"))
        elif c.name not in ex.weights:
            out.append(Finding(UNCHECKED, c.name, c.where, str(c.value.tolist()), name=c.name,
                               detail="not among the example's [weights], so not used"))
        else:
            w = ex.weights[c.name].reshape(shape)
            diff = np.argwhere(np.abs(v - w) > tol(c.decimals))
            if len(diff):
                idx = tuple(int(i) for i in diff[0])
                out.append(Finding(CONFLICT, c.name, c.where, float(v[idx]), exact=float(w[idx]), decimals=c.decimals,
                                   name=c.name, detail=f"entry {tuple(i + 1 for i in idx)} differs from [weights] ({len(diff)} entr(y/ies) differ)"))
            else:
                out.append(Finding(OK, c.name, c.where, name=c.name, decimals=c.decimals, detail="same as [weights]"))
    return out


def _check_inputs(ex: WorkedExample) -> list[Finding]:
    """Claims about x_t, h_0, c_0 restate inputs: compare them with [inputs]."""
    out = []
    for c in ex.claims:
        if c.is_param:
            continue
        if c.name == "x":
            ref, label = ex.x[c.step - 1], f"x_{c.step}"
        elif c.name in ("h_prev", "c_prev") and c.step == 1:
            ref, label = (ex.h0 if c.name == "h_prev" else ex.c0), f"{c.name[0]}_0"
        else:
            continue
        vals = [float(c.value)] if c.unit is not None else list(np.atleast_1d(c.value))
        units = [c.unit] if c.unit is not None else list(range(len(vals)))
        if c.unit is None and len(vals) != len(ref):
            out.append(Finding(SHAPE, label, c.where, str(vals), detail=f"{len(vals)} entries, [inputs] has {len(ref)}", name=c.name, step=c.step))
            continue
        for u, v in zip(units, vals):
            lab = f"{label} unit {u + 1}"
            if abs(v - ref[u]) > tol(c.decimals):
                out.append(Finding(CONFLICT, lab, c.where, v, exact=float(ref[u]), decimals=c.decimals, step=c.step, name=c.name, unit=u,
                                   detail=f"differs from [inputs] ({_fmt(ref[u], c.decimals)}), the value the computation uses"))
            else:
                out.append(Finding(OK, lab, c.where, v, exact=float(ref[u]), decimals=c.decimals, step=c.step, name=c.name, unit=u))
    return out


def _check_conflicts(ex: WorkedExample) -> list[Finding]:
    """The same quantity written with different values in two places."""
    groups: dict[tuple[int, str, int], list[tuple[float, int, str]]] = {}
    for c in ex.claims:
        if c.is_param or not c.answered or c.name == "x":
            continue
        t, name = _normalize(c)
        vals = [(c.unit, float(c.value))] if c.unit is not None else list(enumerate(np.atleast_1d(c.value).tolist()))
        for u, v in vals:
            if not np.isnan(v):
                groups.setdefault((t, name, u), []).append((v, c.decimals, c.where))
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
            out.append(Finding(CONFLICT, _label(name, t, u), " / ".join(places), decimals=d, step=t, name=name, unit=u,
                               detail=f"written differently in two places: {txt}"))
    return out


# -- the report as a document (rendered by any of the text formats) ----------------------------
def report_document(reports: list[CheckReport], show_all: bool = False):
    """The findings of one or more reports as a :class:`~lstmkit.explain.doc.Document`."""
    from .doc import Document, Heading, Para, Table

    doc = Document("lstmkit check", subtitle="claimed numbers against the computation, exact and by hand")
    for rep in reports:
        ex = rep.example
        doc.add(Heading(ex.title, 2))
        shown = [f for f in rep.findings if show_all or f.failing]
        if shown:
            rows = []
            for f in shown:
                d = f.decimals
                num = lambda v: "" if v is None else (v if isinstance(v, str) else _fmt(v, d + 2 if f.name != "pred" else 0))  # noqa: E731
                rows.append([f.verdict, f.label, num(f.claimed) if not isinstance(f.claimed, float) else _fmt(f.claimed, d),
                             num(f.exact), "" if f.hand is None else _fmt(f.hand, d), f.detail, f.where])
            doc.add(Table(["verdict", "value", "claimed", "exact", "by hand", "why", "where"], rows, align="llrrrll"))
        doc.add(Para(rep.summary() + "."))
        if ex.exercise:
            answers = [f for f in rep.findings if f.step is not None]
            right = sum(f.verdict in (OK, OK_HAND) for f in answers)
            doc.add(Para(f"Score: {right}/{len(answers)} answers right."))
    return doc
