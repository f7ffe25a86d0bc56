"""The per-step record of a worked example: every number of the forward pass, and BPTT backwards.

Forward, step t (gates k in i, f, g, o; ``act`` is σ for i, f, o and tanh for g)::

    Wx_k   = W_{x k} x_t                 input part          (H,)
    Wh_k   = W_{h k} h_{t-1}             recurrent part      (H,)
    Wxh_k  = Wx_k + Wh_k                 = W_k·[h_{t-1}, x_t] in seeds 001/003's notation
    z_k    = Wxh_k + b_k                 pre-activation      (b_k = b_{ik} + b_{hk} in seed 000's)
    k_t    = act(z_k)                    gate / candidate
    fc     = f_t * c_{t-1}               long-term memory kept
    ig     = i_t * g_t                   new memory written
    c_t    = fc + ig                     cell state (long-term memory)
    tanh_c = tanh(c_t)
    h_t    = o_t * tanh_c                output (short-term memory)
    logits = W_y h_t + b_y (or h_t);  y_t = softmax(logits);  pred = argmax y_t
                                 (a model's read-out: at step T only with head="last"; a regressor's
                                 y_t = logits * y_scale + y_mean, no softmax, no pred)

A variant cell (the example's ``[options]``, :mod:`lstmkit.variants`) computes, in this order
(f_a, g_a, h_a are its activations (f, g, h); without an option its line is left out)::

    Wx_k, Wh_k                            as above, every gate
    mu_x = mean(a_x),  sd_x = sqrt(var(a_x) + ε)       layer_norm: a_x = [Wx_i, Wx_f, Wx_g, Wx_o] (4H,)
    nx_k = γ_ih,k * (Wx_k - mu_x) / sd_x                (the k block of γ_ih; likewise mu_h, sd_h, nh_k)
    Wxh_k = nx_k + nh_k  (layer_norm)  or  Wx_k + Wh_k
    pc_i = w_ci * c_{t-1},  pc_f = w_cf * c_{t-1}       peephole
    z_k  = Wxh_k + pc_k + b_k                            (pc_k only for i, f and, below, o)
    zc_k = clip(z_k, -gate_clip, gate_clip)              gate_clip (else zc_k = z_k)
    i = f_a(zc_i);  f = f_a(zc_f), or f = 1 - i (input_forget);  g = g_a(zc_g)
    fc = f * c_{t-1};  ig = i * g
    c_raw = fc + ig;  c' = clip(c_raw, -cell_clip, cell_clip)     cell_clip (else c' = fc + ig)
    pc_o = w_co * c';  z_o = Wxh_o + pc_o + b_o;  o = f_a(zc_o)   peephole: o sees the new c'
    mu_c = mean(c'), sd_c = sqrt(var(c') + ε), n_c = γ_c * (c' - mu_c) / sd_c + β_c   layer_norm
    tanh_c = h_a(n_c) (layer_norm) or h_a(c');   h' = o * tanh_c
    c = z_c c_{t-1} + (1 - z_c) c';  h = z_h h_{t-1} + (1 - z_h) h'    zoneout at inference (c' is
                                          then named c_new, h' h_new), else c = c', h = h'

The dropouts and DropConnect act in training only, so a forward pass to explain has none of them.

Hand mode (``decimals=N``) rounds every named quantity to N decimals, half away from zero, as a
person writing numbers down does, and carries the rounded value forward; a divisor (layer norm's s) is never
rounded to 0: where it would be, it keeps its first significant digit (:func:`divisor`). In seeds 001/003's
notation W_k·[h_{t-1}, x_t] is one product, rounded once (as Wxh_k; its parts Wx_k, Wh_k are not
rounded), per gate W_{xk} x_t and W_{hk} h_{t-1} are two, each rounded. Exact mode takes the
cell's numbers from the engine (:meth:`lstmkit.cell.LSTMCell.step`) whenever the example gives
all four gates; the decompositions (Wx, Wh, fc, ig) are the products above.

Unknown numbers (a gate whose weights the example does not give) are NaN; a ``given`` value fills
them. ``substitute`` replaces computed values by claimed ones (``check`` replays the author's own
numbers this way); the value before substitution stays in ``computed``.

Backward (:func:`backward`), for a loss L summed over steps, walking t = T..1 with the carried
gradients named as they flow (dh_next = dL/dh_t from step t+1, dc_next = dL/dc_t from step t+1)::

    loss    = -log y_t[target_t]  ("xent", each step)  or  Σ_j h_T[j]  ("sum_h", step T)
    dlogits = y_t - onehot(target_t)            d(-log softmax)/dlogits ("xent")
    dh_out  = W_yᵀ dlogits (or dlogits)         dL_t/dh_t; "sum_h": 1 at step T, else 0
    dh      = dh_out + dh_next                  (from the read-out at t, and from the future)
    do      = dh * tanh(c_t)
    dtanh_c = 1 - tanh²(c_t)                    (from the output tanh(c_t))
    dc      = dh * o_t * dtanh_c + dc_next
    di = dc * g_t,   df = dc * c_{t-1},   dg = dc * i_t
    di_dz = i(1-i), df_dz = f(1-f), dg_dz = 1-g², do_dz = o(1-o)   (from the outputs)
    dz_k    = dk * dk_dz
    dc_prev = dc * f_t
    dh_prev = Σ_k W_{h k}ᵀ dz_k,   dx = Σ_k W_{x k}ᵀ dz_k
    dW_{x k} = Σ_t dz_k x_tᵀ,  dW_{h k} = Σ_t dz_k h_{t-1}ᵀ,  db_k = Σ_t dz_k,  dW_y = Σ_t dlogits h_tᵀ

By hand (``decimals=N``) the backward pass reads the hand-rounded forward pass and rounds every
named quantity above to N decimals, as the forward does (one rounding per line: a product, a sum
of products or a matrix product is rounded once), carrying the rounded values back; the loss is
the sum of the rounded per-step terms, rounded. Exact, the engine's cell does each step's
backward (dh_prev, dc_prev, dx and the parameter gradients); the other lines are the formulas.
``substitute`` (claimed values, as for :func:`forward`) replaces forward and backward values alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..functional import sigmoid, softmax, tanh
from ..variants import LN_EPS
from .._checks import count
from .worked import GATES, LOSSES, WorkedExample, require_example, short_title

ACT = {"i": "σ", "f": "σ", "g": "tanh", "o": "σ"}


def hand_round(v: np.ndarray, decimals: int | None) -> np.ndarray:
    """Round half away from zero to ``decimals`` places (None: unchanged; an int, or an array of
    them, one per entry). NaN stays NaN.

    The 1e-9 guards against binary fractions just below a half (0.35 * 10 = 3.4999999...). A value
    with |v| * 10**decimals >= 2**52 has no digit at that place to round (a float64 that large is a
    whole number): it is returned as it is, for any finite v, where the product would overflow to
    inf (1e250 at 100 decimals) or 10**decimals itself (beyond 308 decimals).

    The result's type: float32 input at an int ``decimals`` from 0 to 308 is rounded in float32 and
    stays float32 (0.35f at 1 decimal is 0.4), a float64 one in float64 (NumPy's type for
    ``v * 10.0**decimals``); any other ``decimals`` (negative, above 308, a NumPy integer, an array of
    them) takes its power of ten as a float64 array, and the result is float64 (float32 input too).
    """
    if decimals is None:
        return v
    a = np.abs(v)
    if isinstance(decimals, int) and 0 <= decimals <= 308:
        s = 10.0**decimals  # a Python float: float32 input stays float32 under NumPy's promotion rules
        if a.size == 0 or float(a.max()) < 2.0**52 / s:  # a digit to round in every value (NaN: not here)
            return np.sign(v) * np.floor(a * s + 0.5 + 1e-9) / s
    else:
        with np.errstate(over="ignore"):
            s = np.power(10.0, decimals)  # inf beyond 10**308: then every value is whole at that place
    # no fraction at 10**-decimals (2**52 / s >= 0: no overflow); False for NaN; float64: float16 tops out at 65504
    whole = np.asarray(a, np.float64) >= 2.0**52 / s
    with np.errstate(invalid="ignore"):  # 0 * inf where s is inf: an entry of `whole`, not used
        r = np.sign(v) * np.floor(np.where(whole, 0.0, a) * s + 0.5 + 1e-9) / s
    return np.where(whole, v, r)[()]  # [()]: a 0-d input gives a NumPy scalar, as before


@dataclass
class StepRecord:
    """Every number of step t: ``values`` (used, carried on), ``computed`` (from the formula).

    The forward pass's quantities, or the backward pass's gradients named as they flow (all (H,),
    dx (I,), dlogits (K,), loss (1,)).
    """

    t: int  # 1-based
    values: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (H,) (x: (I,), y: (K,), pred: (1,))
    computed: dict[str, np.ndarray] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)  # "computed" | "engine" | "given" | "claimed" | "unknown"

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]


@dataclass
class ForwardTrace:
    """Every number of the forward pass, step by step. Its repr is one line (the example's title,
    exact or by hand, the steps); ``lstmkit explain``'s text is :func:`lstmkit.explain.explain`."""

    example: WorkedExample
    decimals: int | None  # None = exact
    steps: list[StepRecord]

    def __repr__(self) -> str:  # the generated one printed every step's arrays: 22,911 characters for seed 000
        return f"ForwardTrace({short_title(self.example.title)}, {_mode(self.decimals)}, {count(len(self.steps), 'step')})"


def _mode(decimals: int | None) -> str:
    return "exact" if decimals is None else f"by hand at {count(decimals, 'decimal')}"


def _unknown(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def _recorder(
    rec: StepRecord,
    H: int,
    decimals: int | None,
    sub: Mapping[tuple[int, str], np.ndarray],
    given: Mapping[tuple[int, str], np.ndarray] | None = None,
):
    """``put(name, value, n=H, raw=False) -> used`` for step ``rec``, forward or backward alike.

    ``put`` records ``value`` (None: unknown, all NaN), rounded to ``decimals`` unless ``raw``, as
    ``rec.computed[name]``; fills its NaN from ``given`` (the forward pass's stated numbers); lets a
    claim in ``sub`` replace it; stores what is used as ``rec.values[name]``, where it came from as
    ``rec.source[name]``, and returns it.
    """
    t, given = rec.t, given or {}

    def put(name: str, value, n: int = H, raw: bool = False) -> np.ndarray:
        v = _unknown(n) if value is None else np.asarray(value, dtype=np.float64).reshape(n)
        v = v if raw else hand_round(v, decimals)
        rec.computed[name] = v
        used, src = v.copy(), "computed" if not np.isnan(v).all() else "unknown"
        if (t, name) in given and np.isnan(v).any():
            used = np.where(np.isnan(v), given[(t, name)], v)
            src = "given"
        if (t, name) in sub:
            s = sub[(t, name)]
            if not np.isnan(s).all():
                used = np.where(np.isnan(s), used, s)
                src = "claimed"
        rec.values[name], rec.source[name] = used, src
        return used

    return put


def forward(
    ex: WorkedExample,
    decimals: int | None = None,
    substitute: Mapping[tuple[int, str], np.ndarray] | None = None,
) -> ForwardTrace:
    """Compute every quantity of every step (see the module docstring).

    ``decimals``: None for exact numbers, N for hand rounding to N decimals.
    ``substitute``: {(t, name): (n,) array with NaN where not substituted}.
    """
    require_example(ex, "forward")
    sub = substitute or {}
    H = ex.hidden_size
    use_engine = decimals is None and not sub and ex.complete and not ex.given
    cell = ex.cell() if use_engine else None
    h_prev, c_prev = ex.h0.copy(), ex.c0.copy()
    steps = []
    for t in range(1, ex.T + 1):
        rec = StepRecord(t)
        put = _recorder(rec, H, decimals, sub, ex.given)
        V = rec.values
        x = put("x", ex.x[t - 1], n=ex.input_size, raw=True)
        put("h_prev", h_prev, raw=True)
        put("c_prev", c_prev, raw=True)
        if not ex.is_plain:
            _variant_step(ex, rec, put, cell, decimals)
        else:
            for k in GATES:
                G = ex.gates[k]
                # in the concat notation W_k·[h_{t-1}, x_t] is one product, rounded once by hand;
                # per gate, W_{xk} x_t and W_{hk} h_{t-1} are two, each rounded
                concat = ex.notation == "concat"
                put(f"Wx_{k}", None if G.Wx is None else G.Wx @ x, raw=concat)  # W_{xk} x_t
                put(f"Wh_{k}", None if G.Wh is None else G.Wh @ V["h_prev"], raw=concat)  # W_{hk} h_{t-1}
                put(f"Wxh_{k}", V[f"Wx_{k}"] + V[f"Wh_{k}"])  # W_k·[h_{t-1}, x_t]
                b = np.zeros(H) if G.b is None else G.b
                put(f"z_{k}", V[f"Wxh_{k}"] + b)  # z_k = W_k·[h, x] + b_k
                z = V[f"z_{k}"]
                put(k, tanh(z) if k == "g" else sigmoid(z))  # k_t = act(z_k)
            if cell is not None:  # exact: the cell's own numbers, from the engine
                s = cell.step(x[None, :], (V["h_prev"][None, :], V["c_prev"][None, :]))
                for k in GATES:
                    rec.values[f"z_{k}"] = rec.computed[f"z_{k}"] = getattr(s, f"z_{k}")[0]
                    rec.values[k] = rec.computed[k] = getattr(s, k)[0]
                    rec.source[k] = rec.source[f"z_{k}"] = "engine"
            put("fc", V["f"] * V["c_prev"])  # f_t * c_{t-1}
            put("ig", V["i"] * V["g"])  # i_t * c~_t
            put("c", V["fc"] + V["ig"])  # c_t = f_t*c_{t-1} + i_t*c~_t
            put("tanh_c", tanh(V["c"]))  # tanh(c_t)
            put("h", V["o"] * V["tanh_c"])  # h_t = o_t * tanh(c_t)
            if cell is not None:
                for name, val in (("c", s.c[0]), ("tanh_c", s.tanh_c[0]), ("h", s.h[0])):
                    rec.values[name] = rec.computed[name] = val
                    rec.source[name] = "engine"
        if ex.readout is not None and ex.readout.at(t, ex.T):
            r = ex.readout
            K = H if r.W_y is None else r.W_y.shape[0]
            put("logits", V["h"] if r.W_y is None else r.W_y @ V["h"] + r.b_y, n=K)  # a_t = W_y h_t + b_y
            a = V["logits"]
            if r.task == "regress":  # the values, in y's units: a_t * y_scale + y_mean
                scale = np.ones(K) if r.y_scale is None else r.y_scale
                put("y", a * scale + (np.zeros(K) if r.y_mean is None else r.y_mean), n=K)
            else:
                put("y", np.full(K, np.nan) if np.isnan(a).any() else softmax(a), n=K)  # softmax
                y = V["y"]
                put("pred", np.nan if np.isnan(y).any() else float(np.argmax(y)), n=1, raw=True)
        h_prev, c_prev = V["h"], V["c"]
        steps.append(rec)
    return ForwardTrace(ex, decimals, steps)


def divisor(s: np.ndarray, decimals: int | None) -> np.ndarray:
    """Layer norm's s = sqrt(var + ε), a divisor, by hand: rounded to ``decimals``, or, where that
    gives 0, to its first significant digit (0.0047 -> 0.005 at 2 decimals). A divisor is never
    rounded to 0 by hand: s is at least sqrt(ε) = 0.0032, and n = (a - μ) / 0.00 would be ∞ (or
    0 / 0 for a part that is all zeros, W_hh h_0 at step 1). Exact (None): s unchanged."""
    s = np.asarray(s, dtype=np.float64)
    if decimals is None:
        return s
    r = hand_round(s, decimals)
    first = first_place(s)
    lost = (r == 0) & (s != 0) & np.isfinite(first)
    return np.where(lost, hand_round(s, np.where(lost, first, 0)), r)


def first_place(v) -> np.ndarray:
    """The decimal place of v's first significant digit, -floor(log10 |v|): 3 for 0.0047, 1 for
    0.25, 0 for 4.7, -1 for 47; not finite for 0, ±∞ and NaN. Where a divisor keeps its first
    significant digit, :func:`divisor` rounds it to this place, and the explanation writes it with
    as many decimals (:func:`lstmkit.explain.build.fdivisor`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.floor(np.log10(np.abs(np.asarray(v, dtype=np.float64))))


def _variant_step(ex: WorkedExample, rec: StepRecord, put, cell, decimals: int | None) -> None:
    """One step of a variant cell, quantity by quantity (the module docstring's "variant" lines).

    ``put(name, value, n=H)`` records (and in hand mode, ``decimals``, rounds) each number; with ``cell`` (exact
    mode) the cell's own numbers (:meth:`lstmkit.cell.LSTMCell.step` with the same options) then
    replace the gates, pre-activations, peephole terms, normalised parts, c' and h'.
    """
    v, H, V = ex.variant, ex.hidden_size, rec.values
    fa, ga, ha = v.acts  # gates, candidate, output of c
    x, h_prev, c_prev = V["x"], V["h_prev"], V["c_prev"]
    # as the plain cell: W_k·[h_{t-1}, x_t] (concat) is one product, rounded once by hand; per gate, or
    # normalised apart (layer_norm), W_{xk} x_t and W_{hk} h_{t-1} are two, each rounded
    one = ex.notation == "concat" and not v.layer_norm
    for k in GATES:
        G = ex.gates[k]
        put(f"Wx_{k}", None if G.Wx is None else G.Wx @ x, raw=one)  # W_{xk} x_t
        put(f"Wh_{k}", None if G.Wh is None else G.Wh @ h_prev, raw=one)  # W_{hk} h_{t-1}
    if v.layer_norm:
        for part, gain in (("x", "gamma_ih"), ("h", "gamma_hh")):
            a = np.concatenate([V[f"W{part}_{k}"] for k in GATES])  # a_x = W_ih x_t, (4H,) in gate order
            put(f"mu_{part}", a.mean(), n=1)  # μ = mean(a)
            sd = np.sqrt(((a - V[f"mu_{part}"]) ** 2).mean() + LN_EPS)  # sqrt(var(a) + ε)
            put(f"sd_{part}", divisor(sd, decimals), n=1, raw=True)  # by hand never rounded to 0
            gam = ex.variant_weight(gain)  # (4H,)
            for n, k in enumerate(GATES):
                put(f"n{part}_{k}", gam[n * H : (n + 1) * H] * (V[f"W{part}_{k}"] - V[f"mu_{part}"]) / V[f"sd_{part}"])
        for k in GATES:
            put(f"Wxh_{k}", V[f"nx_{k}"] + V[f"nh_{k}"])  # γ_ih ⊙ LN(W_ih x) + γ_hh ⊙ LN(W_hh h), gate k
    else:
        for k in GATES:
            put(f"Wxh_{k}", V[f"Wx_{k}"] + V[f"Wh_{k}"])  # W_k·[h_{t-1}, x_t]
    peep = {k: ex.variant_weight(f"w_c{k}") for k in "ifo"} if v.peephole else {}

    def pre(k, c=None):
        """z_k = Wxh_k (+ w_ck * c) + b_k, then the gate clip; returns the activation's argument."""
        z = V[f"Wxh_{k}"]
        if c is not None:
            put(f"pc_{k}", peep[k] * c)  # peephole term w_ck * c
            z = z + V[f"pc_{k}"]
        put(f"z_{k}", z + ex._bias(k))
        if v.gate_clip is None:
            return V[f"z_{k}"]
        put(f"zc_{k}", np.clip(V[f"z_{k}"], -v.gate_clip, v.gate_clip))  # ẑ_k = clip(z_k)
        return V[f"zc_{k}"]

    put("i", fa(pre("i", c_prev if v.peephole else None)))  # i = f_a(ẑ_i)
    zf = pre("f", c_prev if v.peephole else None)
    put("f", 1.0 - V["i"] if v.input_forget else fa(zf))  # f = 1 - i (CIFG) or f_a(ẑ_f)
    put("g", ga(pre("g")))  # c~ = g_a(ẑ_g)
    put("fc", V["f"] * c_prev)  # f_t * c_{t-1}
    put("ig", V["i"] * V["g"])  # i_t * c~_t
    c_name = "c_new" if v.zoneout_cell else "c"  # c'_t, before zoneout
    if v.cell_clip is not None:
        put("c_raw", V["fc"] + V["ig"])  # before the cell clip
        put(c_name, np.clip(V["c_raw"], -v.cell_clip, v.cell_clip))  # c' = clip(c_raw)
    else:
        put(c_name, V["fc"] + V["ig"])  # c' = f*c_{t-1} + i*c~
    put("o", fa(pre("o", V[c_name] if v.peephole else None)))  # o = f_a(ẑ_o), o sees c'
    if v.layer_norm:
        c = V[c_name]
        put("mu_c", c.mean(), n=1)
        put("sd_c", divisor(np.sqrt(((c - V["mu_c"]) ** 2).mean() + LN_EPS), decimals), n=1, raw=True)
        put("n_c", ex.variant_weight("gamma_c") * (c - V["mu_c"]) / V["sd_c"] + ex.variant_weight("beta_c"))
    put("tanh_c", ha(V["n_c"] if v.layer_norm else V[c_name]))  # h_a(n_c) or h_a(c')
    h_name = "h_new" if v.zoneout_hidden else "h"
    put(h_name, V["o"] * V["tanh_c"])  # h' = o * h_a(·)
    if cell is not None:  # exact: the cell's own numbers, from the engine
        s = cell.step(x[None, :], (h_prev[None, :], c_prev[None, :]))
        eng = {**{f"z_{k}": getattr(s, f"z_{k}") for k in GATES}, **{k: getattr(s, k) for k in GATES},
               c_name: s.c, "tanh_c": s.tanh_c, h_name: s.h, "pc_i": s.peephole_i, "pc_f": s.peephole_f,
               "pc_o": s.peephole_o, "c_raw": s.c_unclipped, "n_c": s.c_norm}
        if v.layer_norm:
            for n, k in enumerate(GATES):
                eng[f"nx_{k}"] = s.norm_x[:, n * H : (n + 1) * H]
                eng[f"nh_{k}"] = s.norm_h[:, n * H : (n + 1) * H]
        for name, val in eng.items():
            if val is not None:
                rec.values[name] = rec.computed[name] = val[0]
                rec.source[name] = "engine"
        if v.gate_clip is not None:
            for k in GATES:
                rec.values[f"zc_{k}"] = rec.computed[f"zc_{k}"] = np.clip(V[f"z_{k}"], -v.gate_clip, v.gate_clip)
    if v.zoneout_cell:  # at inference, zoneout keeps the expectation: d = z
        z = v.zoneout_cell
        put("c", z * c_prev + (1 - z) * V["c_new"])  # c_t = z c_{t-1} + (1 - z) c'_t
    if v.zoneout_hidden:
        z = v.zoneout_hidden
        put("h", z * h_prev + (1 - z) * V["h_new"])  # h_t = z h_{t-1} + (1 - z) h'_t


# -- backward ---------------------------------------------------------------------------------


@dataclass
class BackwardTrace:
    example: WorkedExample
    loss_kind: str  # "xent" | "sum_h"
    loss: float  # the steps' "loss" terms summed (by hand: rounded)
    steps: list[StepRecord]  # the gradients, named as they flow; in the order computed: t = T, ..., 1
    dh0: np.ndarray  # (H,)
    dc0: np.ndarray  # (H,)
    param_grads: dict[str, np.ndarray]  # the example's own weight names -> dL/dW
    decimals: int | None = None  # None = exact; N: by hand, as the forward trace it reads

    def __repr__(self) -> str:  # one line, as ForwardTrace's (the generated one: 22,889 characters for seed 000)
        return (f"BackwardTrace({short_title(self.example.title)}, {self.loss_kind} loss {self.loss:.6g}, "
                f"{_mode(self.decimals)}, {count(len(self.steps), 'step')})")


def default_loss(ex: WorkedExample) -> str:
    """The loss an exercise names (``[exercise] loss``); else "xent" with targets, "sum_h" without."""
    if ex.exercise.get("loss"):
        return ex.exercise["loss"]
    return "xent" if ex.readout is not None and ex.readout.targets is not None else "sum_h"


def backward(
    ex: WorkedExample,
    loss: str | None = None,
    decimals: int | None = None,
    substitute: Mapping[tuple[int, str], np.ndarray] | None = None,
) -> BackwardTrace:
    """BPTT through the whole example (see the module docstring), exact or by hand.

    loss "xent": L = Σ_t -log y_t[target_t] with y_t the read-out (seed 000's training loss);
    loss "sum_h": L = Σ_j h_T[j] (a plain probe when there are no targets).
    ``decimals``: None for exact numbers, N to work by hand from :func:`forward` with the same
    ``decimals``. ``substitute``: {(t, name): (n,) array, NaN where not substituted}, forward and
    backward names alike.
    """
    from .._checks import fail

    require_example(ex, "backward")
    loss = loss or default_loss(ex)
    if loss not in LOSSES:
        fail("explain --grad", "loss", f"one of {list(LOSSES)}", repr(loss))
    if loss == "xent" and (ex.readout is None or ex.readout.targets is None):
        fail("explain --grad", "loss 'xent'", "a [readout] with targets", "none",
             "Add targets to [readout], or use --loss sum_h.")
    if loss == "xent" and (ex.readout.head, ex.readout.task) != ("all", "classify"):
        fail("explain --grad", "loss 'xent'", "a softmax read-out at every step",
             f"head={ex.readout.head!r}, task={ex.readout.task!r}", "Use --loss sum_h.")
    if not ex.is_plain:
        fail("explain --grad", "example", "the seeds' plain cell (BPTT is shown step by step for it only)",
             f"variant options {ex.variant.changed()}", "Leave out --grad: the forward pass shows the variant's terms.")
    cell = ex.cell()  # raises a clear error when a gate's weights are missing
    rnd = lambda v: hand_round(v, decimals)  # noqa: E731
    sub = substitute or {}
    use_engine = decimals is None and not sub
    fw = forward(ex, decimals, substitute)
    H, I, T = ex.hidden_size, ex.input_size, ex.T
    r = ex.readout
    Wh = {k: ex.gates[k].Wh for k in GATES}  # (H, H)
    Wx = {k: ex.gates[k].Wx for k in GATES}  # (H, I)
    if use_engine:
        cell.zero_grad()
    dh_next, dc_next = np.zeros(H), np.zeros(H)
    steps = []
    for t in range(T, 0, -1):
        V = fw.steps[t - 1].values
        b = StepRecord(t)
        put = _recorder(b, H, decimals, sub)
        # the loss at step t and dL_t/dh_t from the read-out
        if loss == "xent":
            y, tgt = V["y"], r.targets[t - 1]
            put("loss", -np.log(y[tgt]) if y[tgt] > 0 else np.inf, n=1)  # L_t = -log y_t[target_t]
            dlogits = put("dlogits", y - np.eye(len(y))[tgt], n=len(y))  # d(-log softmax)/dlogits = y - onehot
            put("dh_out", dlogits if r.W_y is None else r.W_y.T @ dlogits)  # back through W_y h + b_y
        elif t == T:
            put("loss", V["h"].sum(), n=1)  # L = Σ_j h_T[j]
            put("dh_out", np.ones(H), raw=True)
        else:
            put("loss", np.zeros(1), n=1, raw=True)  # "sum_h" reads h_T only
            put("dh_out", np.zeros(H), raw=True)
        put("dh_next", dh_next, raw=True)  # dL/dh_t from step t+1
        put("dc_next", dc_next, raw=True)  # dL/dc_t from step t+1
        v = b.values
        i, f, g, o, tc, cp = (V[n] for n in ("i", "f", "g", "o", "tanh_c", "c_prev"))
        dh = put("dh", v["dh_out"] + v["dh_next"])  # from the read-out at t and from the future
        put("do", dh * tc)  # h = o * tanh(c)
        put("dtanh_c", 1.0 - tc**2)  # tanh' from the output: 1 - tanh²(c)
        dc = put("dc", dh * o * v["dtanh_c"] + v["dc_next"])  # back through tanh(c), plus the future's
        put("di", dc * g)  # c = f*c_prev + i*g
        put("df", dc * cp)
        put("dg", dc * i)
        for k, d_dz in (("i", i * (1 - i)), ("f", f * (1 - f)), ("g", 1 - g**2), ("o", o * (1 - o))):
            put(f"d{k}_dz", d_dz)  # σ' = σ(1-σ), tanh' = 1 - tanh², from the outputs
        for k in GATES:
            put(f"dz_{k}", v[f"d{k}"] * v[f"d{k}_dz"])  # back through the activation
        put("dc_prev", dc * f)  # to c_{t-1}
        put("dh_prev", sum(Wh[k].T @ v[f"dz_{k}"] for k in GATES))  # Σ_k W_hkᵀ dz_k, rounded once
        put("dx", sum(Wx[k].T @ v[f"dz_{k}"] for k in GATES), n=I)  # Σ_k W_xkᵀ dz_k
        if use_engine:  # exact: the engine's backward of this step (recomputes the step for its cache)
            cell.forward(V["x"][None, :], (V["h_prev"][None, :], V["c_prev"][None, :]))
            dx, (dh_prev, dc_prev) = cell.backward(v["dh"][None, :], v["dc_next"][None, :])
            for name, val in (("dc_prev", dc_prev[0]), ("dh_prev", dh_prev[0]), ("dx", dx[0])):
                b.values[name] = b.computed[name] = val
                b.source[name] = "engine"
        steps.append(b)
        dh_next, dc_next = v["dh_prev"], v["dc_prev"]
    L = float(rnd(np.array(sum(float(s["loss"][0]) for s in steps))))
    if use_engine:
        grads = _grads_in_notation(ex, cell.grads)
    else:  # by hand: each entry a sum over the steps of rounded numbers' products, rounded once
        by_t = {s.t: s for s in steps}
        packed = {
            "weight_ih": np.concatenate([sum(np.outer(by_t[t]["dz_" + k], fw.steps[t - 1]["x"]) for t in by_t) for k in GATES]),
            "weight_hh": np.concatenate([sum(np.outer(by_t[t]["dz_" + k], fw.steps[t - 1]["h_prev"]) for t in by_t) for k in GATES]),
            "bias_ih": np.concatenate([sum(by_t[t]["dz_" + k] for t in by_t) for k in GATES]),
        }
        grads = _grads_in_notation(ex, {n: rnd(a) for n, a in packed.items()})
    if loss == "xent" and r.W_y is not None:
        grads["W_y"] = rnd(sum(np.outer(s["dlogits"], fw.steps[s.t - 1]["h"]) for s in steps))  # Σ_t dlogits h_tᵀ
        grads["b_y"] = rnd(sum(s["dlogits"] for s in steps))
    return BackwardTrace(ex, loss, L, steps, dh_next, dc_next, grads, decimals)


def _grads_in_notation(ex: WorkedExample, g: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The engine's packed gradients under the example's own weight names."""
    H = ex.hidden_size
    out = {}
    for n, k in enumerate(GATES):
        sl = slice(n * H, (n + 1) * H)
        dWx, dWh, db = g["weight_ih"][sl], g["weight_hh"][sl], g["bias_ih"][sl]
        if ex.notation == "per_gate":
            out[ex.weight_label(k, "x")], out[ex.weight_label(k, "h")] = dWx, dWh
            L = ex.weight_label(k, "x")[-1]
            out[f"b_i{L}"] = out[f"b_h{L}"] = db  # both biases enter z the same way
        elif ex.notation == "concat":
            out[ex.weight_label(k, "W")] = np.concatenate([dWh, dWx], axis=1)  # columns [h, x]
            out[ex.weight_label(k, "b")] = db
        else:
            out[ex.weight_label(k, "x")] = dWx.reshape(-1)
            out[ex.weight_label(k, "h")] = dWh.reshape(-1)
            out[ex.weight_label(k, "b")] = db.reshape(-1)
    return out
