r"""LSTM variants: one per-direction kernel with every option, forward and backward side by side.

The plain LSTM runs through :mod:`lstmkit.kernels`; as soon as one option below is set, the layer
runs this kernel instead (with no option set it computes the same numbers, and a test keeps it so).

Options (:class:`LSTMVariant`, one frozen dataclass; every field off by default)::

    peephole          i and f see c_{t-1}, o sees c' (before zoneout) (Gers & Schmidhuber 2000; ONNX ``P``)
    input_forget      coupled input and forget gate, f = 1 - i (CIFG; ONNX ``input_forget``)
    gate_clip         clip every gate pre-activation to [-gate_clip, gate_clip] (ONNX ``clip``)
    cell_clip         clip the new cell state to [-cell_clip, cell_clip] (TF ``LSTMCell(cell_clip)``)
    activations       (f, g, h): gates, candidate, output of c (ONNX ``activations``)
    layer_norm        Ba et al. 2016, defined below
    dropout_input     variational dropout on the layer input x_t, one mask per sequence
    dropout_recurrent variational dropout on h_{t-1} in the recurrent product, one mask per sequence
    zoneout_cell      zoneout on c (Krueger et al. 2016), a fresh mask every step
    zoneout_hidden    zoneout on h
    dropconnect       DropConnect on W_hh, one mask per forward (Wan et al. 2013; AWD-LSTM)

One step of one direction (packed gate order i, f, g, o; P = H without projection)::

    x~_t  = x_t ⊙ m_x                          m_x (B, I): variational input mask, 1 in eval
    h~    = h_{t-1} ⊙ m_h                      m_h (B, P): variational recurrent mask, 1 in eval
    W~_hh = W_hh ⊙ M                           M (4H, P): DropConnect mask, 1 in eval
    a_x   = x~_t W_ih^T                        (B, 4H)  (all steps in one GEMM before the loop)
    a_h   = h~ W~_hh^T                         (B, 4H)
    z     = a_x + a_h + b                      without layer_norm      (b = b_ih + b_hh)
    z     = γ_ih ⊙ LN(a_x) + γ_hh ⊙ LN(a_h) + b        with layer_norm
    z_i  += p_i ⊙ c_{t-1};  z_f += p_f ⊙ c_{t-1}       peephole
    ẑ     = clip(z, -gate_clip, gate_clip)     gate_clip (each of the four blocks)
    i     = f(ẑ_i);  g = g(ẑ_g)
    f     = f(ẑ_f),   or  f = 1 - i            input_forget (W_ih/W_hh/b rows of f are then unused)
    c'    = f ⊙ c_{t-1} + i ⊙ g                (B, H)
    c'    = clip(c', -cell_clip, cell_clip)    cell_clip
    z_o  += p_o ⊙ c'                           peephole (o sees the new cell state)
    o     = f(ẑ_o)                             ẑ_o = clip(z_o) with gate_clip
    n     = γ_c ⊙ LN(c') + β_c                 with layer_norm, else n = c'
    r     = o ⊙ h(n)                           (B, H)
    h'    = r W_hr^T (proj_size), else h' = r  (B, P)
    c_t   = d_c ⊙ c_{t-1} + (1 - d_c) ⊙ c'      zoneout_cell   (else c_t = c')
    h_t   = d_h ⊙ h_{t-1} + (1 - d_h) ⊙ h'      zoneout_hidden (else h_t = h')
    y_t   = h_t

LN(a) = (a - mean(a)) / sqrt(var(a) + ε) over the last axis (all 4H gate units together for a_x and
a_h, as Ba et al. write ``LN(W_h h_{t-1}) + LN(W_x x_t) + b``; the H units for c'), ε = 1e-5,
var the biased (population) variance. The paper's shifts β_1, β_2 of the two projections are the
existing biases b_hh, b_ih, so they are not duplicated; γ_ih, γ_hh (4H,) start at 1, γ_c at 1 and
β_c at 0 (β_c exists only with bias=True).

The gate clip is ONNX's ``clip`` as onnxruntime computes it: the pre-activations (bias and
peephole terms included) are clipped, the cell state is not. ``cell_clip`` is the other common
meaning (TensorFlow, Sak et al. 2014): the cell state itself is clipped and stored clipped.

Masks (training mode only, all drawn from the layer's seeded ``dropout_rng``; inverted scaling so
eval needs no rescaling): m_x ~ Bernoulli(1-p)/(1-p) per (sequence, input unit), the same at every
step (Gal & Ghahramani 2016; Keras ``dropout``); m_h likewise on h (Keras ``recurrent_dropout``);
M ~ Bernoulli(1-p)/(1-p) per weight of W_hh, once per forward, shared by the batch; d_c, d_h ~
Bernoulli(z) per (step, sequence, unit). In eval mode m_x = m_h = M = 1 and d = z (the expectation,
as Krueger et al. do at test time). Backward uses the very masks of the forward.

Backward (dh, dc: gradients reaching h_t and c_t; every line mirrors one line above, read upward)::

    dh' = (1 - d_h) ⊙ dh ;  dc' = (1 - d_c) ⊙ dc ;  dh_{t-1} = d_h ⊙ dh ;  dc_{t-1} = d_c ⊙ dc
    dW_hr += dh'^T r ;  dr = dh' W_hr                       (projection)
    do = dr ⊙ h(n) ;  dn = dr ⊙ o ⊙ h'(n)
    dc' += LN'(dn ⊙ γ_c) ;  dγ_c += Σ dn ⊙ LN(c') ;  dβ_c += Σ dn       (layer_norm; else dc' += dn)
    dz_o = do ⊙ f'(ẑ_o) ⊙ [|z_o| <= clip]
    dp_o += Σ dz_o ⊙ c' ;  dc' += dz_o ⊙ p_o                 (peephole)
    dc' ⊙= [|c'_unclipped| <= cell_clip]                    (cell_clip)
    df = dc' ⊙ c_{t-1} ;  di = dc' ⊙ g ;  dg = dc' ⊙ i ;  dc_{t-1} += dc' ⊙ f
    di -= df                                                 (input_forget: f = 1 - i; dz_f = 0)
    dz_{i,f,g} = d{i,f,g} ⊙ act'(ẑ) ⊙ [|z| <= clip]
    dp_i += Σ dz_i ⊙ c_{t-1} ;  dp_f += Σ dz_f ⊙ c_{t-1} ;  dc_{t-1} += dz_i ⊙ p_i + dz_f ⊙ p_f
    db += Σ dz ;  da_h = LN'(dz ⊙ γ_hh), dγ_hh += Σ dz ⊙ LN(a_h)   (layer_norm; else da_h = dz)
    dh~ = da_h W~_hh ;  dh_{t-1} += dh~ ⊙ m_h
  after the loop: da_x likewise from dZ; dW_ih = dA_x^T X~; dx = (dA_x W_ih) ⊙ m_x;
                  dW_hh = (dA_h^T H~) ⊙ M.

Variable lengths (``mask`` (T, B, 1)): a padded step is skipped (h_t = h_{t-1}, c_t = c_{t-1},
y_t = 0) and its gradients pass straight through, as in :mod:`lstmkit.kernels`.

Shapes: T steps, B batch, I input, H hidden, P output (= proj_size or H).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from ._checks import check_bool, check_clip, check_dtype, check_real, fail
from .activations import Activation, get_activation
from .functional import clipped, clipped_grad

LN_EPS = 1e-5  # ε of every layer norm here (PyTorch's LayerNorm default)

DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "tanh")


def _rate(value, where: str, arg: str) -> float:
    """A probability in [0, 1) (TypeError for a non-number, ValueError out of range)."""
    return check_real(value, where, arg, low=0, high=1, high_open=True)


def _clip_value(value, where: str, arg: str):
    """None or a finite threshold > 0 (:func:`~lstmkit._checks.check_clip`, the gradient clip's
    rule), as a float."""
    value = check_clip(value, where, arg)
    return None if value is None else float(value)


@dataclass(frozen=True)
class LSTMVariant:
    """The variant options of an LSTM layer (see the module docstring for the equations)."""

    peephole: bool = False  # i, f see c_{t-1}; o sees c', before zoneout (weights p_i, p_f, p_o)
    input_forget: bool = False  # f = 1 - i (CIFG)
    gate_clip: float | None = None  # clip gate pre-activations (ONNX clip)
    cell_clip: float | None = None  # clip the new cell state c' (before zoneout)
    activations: tuple = DEFAULT_ACTIVATIONS  # (f, g, h) as names or (name, alpha[, beta])
    layer_norm: bool = False  # LN on a_x, a_h (4H) and c' (H)
    dropout_input: float = 0.0  # variational dropout on x_t, one mask per sequence
    dropout_recurrent: float = 0.0  # variational dropout on h_{t-1}, one mask per sequence
    zoneout_cell: float = 0.0  # zoneout probability on c
    zoneout_hidden: float = 0.0  # zoneout probability on h
    dropconnect: float = 0.0  # DropConnect probability on W_hh, one mask per forward

    @classmethod
    def checked(cls, where: str = "LSTM", **options) -> "LSTMVariant":
        """Validate every option in one place and return the variant (unknown names rejected)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            fail(where, "variant options", f"names among {sorted(known)}", unknown, exc=TypeError)
        o = {**{f.name: f.default for f in fields(cls)}, **options}
        acts = o["activations"]
        if isinstance(acts, str) or not isinstance(acts, (tuple, list)) or len(acts) != 3:
            fail(where, "activations", "a sequence of 3 activations (f, g, h)", repr(acts), "e.g. ('sigmoid', 'tanh', 'tanh').")
        acts = tuple(get_activation(a, where, f"activations[{k}]") for k, a in enumerate(acts))
        return cls(
            peephole=check_bool(o["peephole"], where, "peephole"),
            input_forget=check_bool(o["input_forget"], where, "input_forget"),
            gate_clip=_clip_value(o["gate_clip"], where, "gate_clip"),
            cell_clip=_clip_value(o["cell_clip"], where, "cell_clip"),
            activations=tuple(a.spec() for a in acts),
            layer_norm=check_bool(o["layer_norm"], where, "layer_norm"),
            dropout_input=_rate(o["dropout_input"], where, "dropout_input"),
            dropout_recurrent=_rate(o["dropout_recurrent"], where, "dropout_recurrent"),
            zoneout_cell=_rate(o["zoneout_cell"], where, "zoneout_cell"),
            zoneout_hidden=_rate(o["zoneout_hidden"], where, "zoneout_hidden"),
            dropconnect=_rate(o["dropconnect"], where, "dropconnect"),
        )

    @cached_property  # read on every forward; the options are frozen
    def is_plain(self) -> bool:
        """True when no option is set: the plain LSTM of :mod:`lstmkit.kernels`."""
        return self == LSTMVariant()

    @property
    def acts(self) -> tuple[Activation, Activation, Activation]:
        """The (f, g, h) activations as :class:`Activation` objects."""
        return tuple(get_activation(a) for a in self.activations)

    def changed(self) -> dict:
        """The options that differ from the plain LSTM, for repr and model files."""
        plain = LSTMVariant()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(plain, f.name)}


# -- layer norm: forward and backward side by side --------------------------------------------
def layer_norm_forward(a: np.ndarray, gain: np.ndarray, bias: np.ndarray | None = None):
    """n = γ ⊙ (a - μ) / sqrt(σ² + ε) + β over the last axis.

    a (..., N); gain, bias (N,). Returns n (..., N) and the cache (â, rstd) with â = (a - μ) rstd
    (..., N) and rstd = 1 / sqrt(σ² + ε) (..., 1).
    """
    mu = a.mean(axis=-1, keepdims=True)  # μ
    ac = a - mu
    var = (ac * ac).mean(axis=-1, keepdims=True)  # σ² (biased)
    rstd = 1.0 / np.sqrt(var + LN_EPS)
    a_hat = ac * rstd  # â
    n = a_hat * gain
    if bias is not None:
        n += bias
    return n, (a_hat, rstd)


def layer_norm_backward(dn: np.ndarray, gain: np.ndarray, cache):
    """Backward of :func:`layer_norm_forward` (llm.c ``layernorm_backward``).

    dâ = dn ⊙ γ;  da = rstd (dâ - mean(dâ) - â mean(dâ ⊙ â));  dγ = Σ dn ⊙ â;  dβ = Σ dn
    (sums over every leading axis). Returns da (..., N), dγ (N,), dβ (N,).
    """
    a_hat, rstd = cache
    N = dn.shape[-1]
    lead = tuple(range(dn.ndim - 1))
    dgain = (dn * a_hat).sum(axis=lead)
    dbias = dn.sum(axis=lead)
    da_hat = dn * gain
    da = rstd * (da_hat - da_hat.mean(axis=-1, keepdims=True) - a_hat * (da_hat * a_hat).sum(axis=-1, keepdims=True) / N)
    return da, dgain, dbias


# -- the kernel ---------------------------------------------------------------------------------
@dataclass
class VariantWeights:
    """One layer-direction's parameters (None where the option is off)."""

    W_ih: np.ndarray  # (4H, I)
    W_hh: np.ndarray  # (4H, P)
    b: np.ndarray | None  # (4H,) = b_ih + b_hh
    W_hr: np.ndarray | None = None  # (P, H) projection
    p_i: np.ndarray | None = None  # (H,) peephole of i on c_{t-1}
    p_f: np.ndarray | None = None  # (H,) peephole of f on c_{t-1}
    p_o: np.ndarray | None = None  # (H,) peephole of o on c' (before zoneout)
    g_ih: np.ndarray | None = None  # (4H,) LN gain on a_x
    g_hh: np.ndarray | None = None  # (4H,) LN gain on a_h
    g_c: np.ndarray | None = None  # (H,) LN gain on c'
    b_c: np.ndarray | None = None  # (H,) LN shift on c' (None without bias)


@dataclass
class VariantMasks:
    """The regularisation masks of one forward of one layer-direction (None where off)."""

    x: np.ndarray | None = None  # (B, I) m_x, scaled by 1/(1-p)
    h: np.ndarray | None = None  # (B, P) m_h, scaled by 1/(1-p)
    W_hh: np.ndarray | None = None  # (4H, P) M, scaled by 1/(1-p)
    zc: np.ndarray | float | None = None  # (T, B, H) d_c in {0, 1}; eval: the scalar z
    zh: np.ndarray | float | None = None  # (T, B, P) d_h in {0, 1}; eval: the scalar z


def draw_masks(opts: LSTMVariant, rng: np.random.Generator, training: bool, T, B, I, H, P, dtype) -> VariantMasks:
    """Draw one layer-direction's masks, in this fixed order: m_x, m_h, M, d_c, d_h (training only).

    T, B, I, H, P: the sizes (module docstring); ``dtype``: the masks' dtype, float32 or float64
    (``numpy.float32``, ``"float32"`` or a ``numpy.dtype``). Returns the :class:`VariantMasks`
    (their shapes are listed there).
    """
    dtype = check_dtype(dtype, "draw_masks")
    m = VariantMasks()

    def keep_mask(shape, p):  # Bernoulli(1-p) / (1-p)
        return (rng.random(shape) >= p).astype(dtype) / dtype.type(1.0 - p)

    if training:
        if opts.dropout_input > 0:
            m.x = keep_mask((B, I), opts.dropout_input)
        if opts.dropout_recurrent > 0:
            m.h = keep_mask((B, P), opts.dropout_recurrent)
        if opts.dropconnect > 0:
            m.W_hh = keep_mask((4 * H, P), opts.dropconnect)
        if opts.zoneout_cell > 0:
            m.zc = (rng.random((T, B, H)) < opts.zoneout_cell).astype(dtype)
        if opts.zoneout_hidden > 0:
            m.zh = (rng.random((T, B, P)) < opts.zoneout_hidden).astype(dtype)
    else:  # eval: the expectation
        if opts.zoneout_cell > 0:
            m.zc = opts.zoneout_cell
        if opts.zoneout_hidden > 0:
            m.zh = opts.zoneout_hidden
    return m


@dataclass
class VariantCache:
    """What :func:`variant_backward` reads. Arrays are time-major."""

    x: np.ndarray  # (T, B, I) x~ (masked input)
    zs: np.ndarray  # (T, B, 4H) pre-activations z before the gate clip
    acts: np.ndarray  # (T, B, 4H) i, f, g, o (f = 1 - i with input_forget)
    hs: np.ndarray  # (T+1, B, P) h_0 .. h_T
    hts: np.ndarray  # (T, B, P) h~ = h_{t-1} ⊙ m_h
    cs: np.ndarray  # (T+1, B, H) c_0 .. c_T
    c_new: np.ndarray  # (T, B, H) c' (after cell clip, before zoneout)
    c_raw: np.ndarray | None  # (T, B, H) c' before cell clip (cell_clip only)
    ns: np.ndarray  # (T, B, H) n = γ_c ⊙ LN(c') + β_c with layer_norm, else c' (the c_new array)
    hn: np.ndarray  # (T, B, H) h(n)
    rs: np.ndarray | None  # (T, B, H) r (projection only)
    ln_x: tuple | None  # LN cache of a_x (â (T,B,4H), rstd (T,B,1))
    ln_h: tuple | None  # LN cache of a_h
    ln_c: tuple | None  # LN cache of c'
    W_rec: np.ndarray  # (4H, P) W~_hh
    masks: VariantMasks
    mask: np.ndarray | None  # (T, B, 1) lengths mask


def _at(d, t):
    """Step t of a zoneout mask (T, B, ·), or the scalar expectation in eval mode."""
    return d[t] if np.ndim(d) else d


def variant_forward(x, w: VariantWeights, h0, c0, opts: LSTMVariant, masks: VariantMasks, mask=None, keep=True):
    """One direction of one variant LSTM layer over a whole sequence (module docstring equations).

    Args:
        x: (T, B, I) time-major input.  w: the parameters.  h0 (B, P), c0 (B, H): initial states.
        opts: the options.  masks: from :func:`draw_masks`.  mask: (T, B, 1) lengths mask or None.
        keep: return the cache for backward.
    Returns:
        y (T, B, P) (zeros at padded steps), h_T (B, P), c_T (B, H), cache or None.
    """
    T, B, _ = x.shape
    H = w.W_hh.shape[0] // 4
    P = w.W_hh.shape[1]
    dt = x.dtype
    fa, ga, ha = opts.acts  # f (gates), g (candidate), h (output of c)
    gc, cc = opts.gate_clip, opts.cell_clip
    xt = x * masks.x if masks.x is not None else x  # x~ = x ⊙ m_x                  (T, B, I)
    W_rec = w.W_hh * masks.W_hh if masks.W_hh is not None else w.W_hh  # W~_hh = W_hh ⊙ M  (4H, P)
    a_x = (xt.reshape(T * B, xt.shape[2]) @ w.W_ih.T).reshape(T, B, 4 * H)  # a_x, one GEMM  (T, B, 4H)
    ln_x = None
    if opts.layer_norm:
        zx, ln_x = layer_norm_forward(a_x, w.g_ih)  # γ_ih ⊙ LN(a_x)
    else:
        zx = a_x
    if w.b is not None:
        zx += w.b  # + b
    zs = zx  # (T, B, 4H): completed in the loop into z, step by step
    acts = np.empty_like(zs)
    hs = np.empty((T + 1, B, P), dtype=dt)
    hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype=dt)
    cs[0] = c0
    hts = np.empty((T, B, P), dtype=dt) if masks.h is not None else hs[:-1]
    c_new = np.empty((T, B, H), dtype=dt)
    c_raw = np.empty((T, B, H), dtype=dt) if cc is not None else None
    ns = np.empty((T, B, H), dtype=dt) if opts.layer_norm else c_new
    hn = np.empty((T, B, H), dtype=dt)
    rs = np.empty((T, B, H), dtype=dt) if w.W_hr is not None else None
    if opts.layer_norm:
        ln_h = (np.empty((T, B, 4 * H), dtype=dt), np.empty((T, B, 1), dtype=dt))
        ln_c = (np.empty((T, B, H), dtype=dt), np.empty((T, B, 1), dtype=dt))
    else:
        ln_h = ln_c = None
    zc, zh = masks.zc, masks.zh
    for t in range(T):
        h_prev, c_prev = hs[t], cs[t]
        if masks.h is not None:
            np.multiply(h_prev, masks.h, out=hts[t])  # h~ = h_{t-1} ⊙ m_h
        a_h = hts[t] @ W_rec.T  # a_h = h~ W~_hh^T                                   (B, 4H)
        z = zs[t]
        if opts.layer_norm:
            n_h, (ln_h[0][t], ln_h[1][t]) = layer_norm_forward(a_h, w.g_hh)
            z += n_h  # z = γ_ih ⊙ LN(a_x) + γ_hh ⊙ LN(a_h) + b
        else:
            z += a_h  # z = a_x + a_h + b
        zi, zf, zg, zo = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        i, f, g, o = acts[t, :, :H], acts[t, :, H : 2 * H], acts[t, :, 2 * H : 3 * H], acts[t, :, 3 * H :]
        if w.p_i is not None:
            zi += w.p_i * c_prev  # z_i += p_i ⊙ c_{t-1}
            zf += w.p_f * c_prev  # z_f += p_f ⊙ c_{t-1}
        i[...] = fa(clipped(zi, gc))  # i = f(ẑ_i)
        if opts.input_forget:
            np.subtract(1.0, i, out=f)  # f = 1 - i
        else:
            f[...] = fa(clipped(zf, gc))  # f = f(ẑ_f)
        g[...] = ga(clipped(zg, gc))  # g = g(ẑ_g)
        c = f * c_prev + i * g  # c' = f ⊙ c_{t-1} + i ⊙ g
        if cc is not None:
            c_raw[t] = c
            c = np.clip(c, -cc, cc)  # c' = clip(c', -cell_clip, cell_clip)
        c_new[t] = c
        if w.p_o is not None:
            zo += w.p_o * c  # z_o += p_o ⊙ c'
        o[...] = fa(clipped(zo, gc))  # o = f(ẑ_o)
        if opts.layer_norm:
            ns[t], (ln_c[0][t], ln_c[1][t]) = layer_norm_forward(c, w.g_c, w.b_c)  # n = γ_c ⊙ LN(c') + β_c
        hn[t] = ha(ns[t])  # h(n)
        r = o * hn[t]  # r = o ⊙ h(n)
        if rs is not None:
            rs[t] = r
            h = r @ w.W_hr.T  # h' = r W_hr^T                                        (B, P)
        else:
            h = r
        c_t, h_t = c, h
        if zc is not None:
            d = _at(zc, t)
            c_t = d * c_prev + (1 - d) * c  # c_t = d_c ⊙ c_{t-1} + (1 - d_c) ⊙ c'
        if zh is not None:
            d = _at(zh, t)
            h_t = d * h_prev + (1 - d) * h  # h_t = d_h ⊙ h_{t-1} + (1 - d_h) ⊙ h'
        if mask is not None:  # padded rows keep their previous state
            m = mask[t]
            c_t = m * c_t + (1 - m) * c_prev
            h_t = m * h_t + (1 - m) * h_prev
        cs[t + 1] = c_t
        hs[t + 1] = h_t
    y = hs[1:] * mask if mask is not None else hs[1:].copy()
    h_T, c_T = hs[T].copy(), cs[T].copy()
    if not keep:
        return y, h_T, c_T, None
    cache = VariantCache(xt, zs, acts, hs, hts, cs, c_new, c_raw, ns, hn, rs, ln_x, ln_h, ln_c, W_rec, masks, mask)
    return y, h_T, c_T, cache


def variant_backward(dy, dh_T, dc_T, w: VariantWeights, opts: LSTMVariant, cache: VariantCache):
    """Back-propagation through time for :func:`variant_forward` (module docstring, "Backward").

    Args:
        dy: (T, B, P) gradient w.r.t. y (ignored at padded steps).  dh_T (B, P), dc_T (B, H).
    Returns:
        dx (T, B, I), grads (dict with the keys of :class:`VariantWeights` that are not None:
        ``W_ih, W_hh, b, W_hr, p_i, p_f, p_o, g_ih, g_hh, g_c, b_c``), dh0 (B, P), dc0 (B, H).
    """
    c = cache
    T, B, _ = c.x.shape
    H = w.W_hh.shape[0] // 4
    dt = c.x.dtype
    fa, ga, ha = opts.acts
    gc, cc = opts.gate_clip, opts.cell_clip
    masks, mask = c.masks, c.mask
    if mask is not None:
        dy = dy * mask  # outputs at padded steps are constant zeros
    grads = {k: np.zeros_like(v) for k, v in vars(w).items() if v is not None}
    dZ = np.empty((T, B, 4 * H), dtype=dt)  # dL/dz for every step
    dA_h = np.empty((T, B, 4 * H), dtype=dt) if opts.layer_norm else dZ  # dL/da_h
    dhs = np.empty((T, B, w.W_hh.shape[1]), dtype=dt) if w.W_hr is not None else None
    dh_next = dh_T.astype(dt, copy=True)  # (B, P)
    dc_next = dc_T.astype(dt, copy=True)  # (B, H)
    for t in reversed(range(T)):
        m = 1.0 if mask is None else mask[t]  # (B, 1) lengths mask
        dh = (dy[t] + dh_next) * m  # dL/dh_t of the rows that ran this step
        dc = dc_next * m  # dL/dc_t
        dh_pass = (1 - m) * (dy[t] + dh_next)  # padded rows: straight through
        dc_pass = (1 - m) * dc_next
        c_prev, h_cn = c.cs[t], c.c_new[t]
        zi, zf, zg, zo = (c.zs[t, :, k * H : (k + 1) * H] for k in range(4))
        i, f, g, o = (c.acts[t, :, k * H : (k + 1) * H] for k in range(4))
        # zoneout: h_t = d_h h_{t-1} + (1 - d_h) h' ; c_t = d_c c_{t-1} + (1 - d_c) c'
        dh_prev = np.zeros_like(dh)
        dc_prev = np.zeros_like(dc)
        if masks.zh is not None:
            d = _at(masks.zh, t)
            dh_prev += d * dh  # dh_{t-1} = d_h ⊙ dh
            dh = (1 - d) * dh  # dh' = (1 - d_h) ⊙ dh
        if masks.zc is not None:
            d = _at(masks.zc, t)
            dc_prev += d * dc  # dc_{t-1} = d_c ⊙ dc
            dc = (1 - d) * dc  # dc' = (1 - d_c) ⊙ dc
        # projection h' = r W_hr^T
        if w.W_hr is not None:
            dhs[t] = dh
            dr = dh @ w.W_hr  # dr = dh' W_hr                                         (B, H)
        else:
            dr = dh
        # r = o ⊙ h(n)
        do = dr * c.hn[t]  # do = dr ⊙ h(n)
        dn = dr * o * ha.grad(c.ns[t], c.hn[t])  # dn = dr ⊙ o ⊙ h'(n)
        # n = γ_c ⊙ LN(c') + β_c
        if opts.layer_norm:
            dcn, dg_c, db_c = layer_norm_backward(dn, w.g_c, (c.ln_c[0][t], c.ln_c[1][t]))
            grads["g_c"] += dg_c
            if w.b_c is not None:
                grads["b_c"] += db_c
            dc = dc + dcn
        else:
            dc = dc + dn
        # o = f(clip(z_o))
        dzo = do * fa.grad(clipped(zo, gc), o) * clipped_grad(zo, gc)
        if w.p_o is not None:  # z_o += p_o ⊙ c'
            grads["p_o"] += (dzo * h_cn).sum(axis=0)
            dc = dc + dzo * w.p_o
        if cc is not None:  # c' = clip(c'_raw)
            dc = dc * clipped_grad(c.c_raw[t], cc)
        # c' = f ⊙ c_{t-1} + i ⊙ g
        df = dc * c_prev
        di = dc * g
        dgg = dc * i
        dc_prev += dc * f
        if opts.input_forget:  # f = 1 - i
            di = di - df
            dzf = np.zeros_like(df)
        else:
            dzf = df * fa.grad(clipped(zf, gc), f) * clipped_grad(zf, gc)
        dzi = di * fa.grad(clipped(zi, gc), i) * clipped_grad(zi, gc)
        dzg = dgg * ga.grad(clipped(zg, gc), g) * clipped_grad(zg, gc)
        if w.p_i is not None:  # z_i += p_i ⊙ c_{t-1};  z_f += p_f ⊙ c_{t-1}
            grads["p_i"] += (dzi * c_prev).sum(axis=0)
            grads["p_f"] += (dzf * c_prev).sum(axis=0)
            dc_prev += dzi * w.p_i + dzf * w.p_f
        dz = dZ[t]
        dz[:, :H], dz[:, H : 2 * H], dz[:, 2 * H : 3 * H], dz[:, 3 * H :] = dzi, dzf, dzg, dzo
        # z = γ_ih ⊙ LN(a_x) + γ_hh ⊙ LN(a_h) + b   (or a_x + a_h + b)
        if opts.layer_norm:
            dA_h[t], dg_hh, _ = layer_norm_backward(dz, w.g_hh, (c.ln_h[0][t], c.ln_h[1][t]))
            grads["g_hh"] += dg_hh
        # a_h = h~ W~_hh^T ; h~ = h_{t-1} ⊙ m_h
        dht = dA_h[t] @ c.W_rec
        if masks.h is not None:
            dht *= masks.h
        dh_prev += dht  # dh_{t-1} += dh~ ⊙ m_h
        dh_next = dh_prev + dh_pass
        dc_next = dc_prev + dc_pass
    Bt = T * B
    if w.b is not None:
        grads["b"] += dZ.reshape(Bt, dZ.shape[2]).sum(axis=0)
    if opts.layer_norm:
        dA_x, dg_ih, _ = layer_norm_backward(dZ, w.g_ih, c.ln_x)
        grads["g_ih"] += dg_ih
    else:
        dA_x = dZ
    dA_x = dA_x.reshape(Bt, 4 * H)
    grads["W_ih"] += dA_x.T @ c.x.reshape(Bt, c.x.shape[2])  # dW_ih = dA_x^T X~
    dW_rec = dA_h.reshape(Bt, 4 * H).T @ c.hts.reshape(Bt, c.hts.shape[2])  # dW~_hh = dA_h^T H~
    grads["W_hh"] += dW_rec * masks.W_hh if masks.W_hh is not None else dW_rec  # W~ = W ⊙ M
    if w.W_hr is not None:
        grads["W_hr"] += dhs.reshape(Bt, dhs.shape[2]).T @ c.rs.reshape(Bt, H)
    dx = (dA_x @ w.W_ih).reshape(T, B, w.W_ih.shape[1])  # dx~
    if masks.x is not None:
        dx *= masks.x  # x~ = x ⊙ m_x
    return dx, grads, dh_next, dc_next
