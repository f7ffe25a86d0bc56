"""The one packed parameter layout, and lossless conversions to the seeds' notations.

Packed layout (PyTorch's, gate order i, f, g, o; ``g`` is the candidate memory c~)::

    weight_ih = [W_ii | W_if | W_ig | W_io]   (4H, I)   rows stacked gate by gate
    weight_hh = [W_hi | W_hf | W_hg | W_ho]   (4H, H)
    bias_ih   = [b_ii | b_if | b_ig | b_io]   (4H,)
    bias_hh   = [b_hi | b_hf | b_hg | b_ho]   (4H,)

so that, with z = weight_ih·x + bias_ih + weight_hh·h + bias_hh split in four blocks of H,
``i = σ(z[0:H])``, ``f = σ(z[H:2H])``, ``g = tanh(z[2H:3H])``, ``o = σ(z[3H:4H])``.

Seed 000 (Guo & Boyd-Graber) writes the same cell per gate with separate input and recurrent
matrices and two biases, the candidate called ``c``:
``i_t = σ(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)``, ... ,
``c~_t = tanh(W_ic x_t + b_ic + W_hc h_{t-1} + b_hc)``.
:func:`from_per_gate` / :func:`to_per_gate` convert exactly (no arithmetic at all).

Seeds 001 and 003 write one matrix per gate acting on the concatenation ``[h_{t-1}, x_t]``
(h first) and one bias: ``f_t = σ(W_f·[h_{t-1}, x_t] + b_f)``. So ``W_f = [W_hf | W_if]``
of shape (H, H+I) and ``b_f = b_if + b_hf``. :func:`from_concat` puts the whole bias in
``bias_ih`` (``bias_hh = 0``); concat -> packed -> concat is exact, while packed -> concat keeps
only the sum of the two biases, which is all the cell ever uses.

ONNX (:func:`to_onnx` / :func:`from_onnx`: gate order i, o, f, c, W (D, 4H, I), R (D, 4H, H),
B (D, 8H) = [Wb, Rb], peepholes P (D, 3H) ordered i, o, f) and Keras (:func:`to_keras` /
:func:`from_keras`: gate order i, f, c, o, kernel (I, 4H) transposed, one bias (4H,)) are pairs too.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ._checks import fail

GATES = ("i", "f", "g", "o")
#: the seeds' letter for each packed gate (seed notation calls the candidate "c")
SEED_LETTER = {"i": "i", "f": "f", "g": "c", "o": "o"}


def split_gates(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a packed (4H, ...) array into its i, f, g, o blocks, each (H, ...). Views, no copy."""
    w = np.asarray(w)
    if w.shape[0] % 4:
        fail("split_gates", "w", "a first dimension divisible by 4 (i, f, g, o)", f"shape {w.shape}")
    h = w.shape[0] // 4
    return w[:h], w[h : 2 * h], w[2 * h : 3 * h], w[3 * h :]


def join_gates(i: np.ndarray, f: np.ndarray, g: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Stack per-gate blocks (H, ...) into the packed (4H, ...) layout, order i, f, g, o."""
    blocks = [np.asarray(b) for b in (i, f, g, o)]
    shape = blocks[0].shape
    for name, b in zip(GATES, blocks):
        if b.shape != shape:
            fail("join_gates", f"gate {name}", f"shape {shape} (same as gate i)", f"shape {b.shape}")
    return np.concatenate(blocks, axis=0)


def _get(d: Mapping, key: str, where: str):
    if key not in d:
        fail(where, key, "to be given", "nothing", f"Known keys: {sorted(d)}.", exc=KeyError)
    return np.asarray(d[key])


def from_per_gate(gates: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Seed 000's per-gate matrices -> packed ``weight_ih, weight_hh, bias_ih, bias_hh``.

    ``gates`` holds ``W_ii, W_if, W_ic, W_io`` (each (H, I)), ``W_hi, W_hf, W_hc, W_ho``
    (each (H, H)) and optionally the biases ``b_ii, b_if, b_ic, b_io, b_hi, b_hf, b_hc, b_ho``
    (each (H,); missing biases are zero, as in seed 000's "set all b = 0"). The candidate may
    also be written with ``g`` (``W_ig``, ``W_hg``, ...), PyTorch's letter.
    """
    where = "from_per_gate"
    d = dict(gates)
    for k in list(d):  # accept PyTorch's letter g for the candidate
        if len(k) == 4 and k[3] == "g" and k[:2] in ("W_", "b_"):
            d.setdefault(k[:3] + "c", d.pop(k))
    known = {f"{p}_{s}{SEED_LETTER[g]}" for p in "Wb" for s in "ih" for g in GATES}
    unknown = sorted(set(d) - known)
    if unknown:
        fail(where, "gates", f"keys among {sorted(known)}", f"unknown keys {unknown}", exc=KeyError)
    W_x = [_get(d, f"W_i{SEED_LETTER[g]}", where) for g in GATES]
    W_h = [_get(d, f"W_h{SEED_LETTER[g]}", where) for g in GATES]
    H = W_x[0].shape[0]
    for g, a in zip(GATES, W_x):
        if a.ndim != 2 or a.shape != W_x[0].shape:
            fail(where, f"W_i{SEED_LETTER[g]}", f"shape {W_x[0].shape}", f"shape {a.shape}")
    for g, a in zip(GATES, W_h):
        if a.shape != (H, H):
            fail(where, f"W_h{SEED_LETTER[g]}", f"shape {(H, H)}", f"shape {a.shape}")
    dtype = np.result_type(*W_x, *W_h, np.float32)

    def bias(s: str, g: str) -> np.ndarray:
        k = f"b_{s}{SEED_LETTER[g]}"
        b = np.asarray(d.get(k, np.zeros(H)), dtype=dtype)
        if b.shape != (H,):
            fail(where, k, f"shape {(H,)}", f"shape {b.shape}")
        return b

    return {
        "weight_ih": join_gates(*W_x).astype(dtype),
        "weight_hh": join_gates(*W_h).astype(dtype),
        "bias_ih": join_gates(*(bias("i", g) for g in GATES)),
        "bias_hh": join_gates(*(bias("h", g) for g in GATES)),
    }


def to_per_gate(packed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Packed ``weight_ih`` (4H, I), ``weight_hh`` (4H, H)[, ``bias_ih``, ``bias_hh`` (4H,)] -> seed
    000's per-gate names (copies); :func:`from_per_gate` takes them back.

    Returns:
        ``W_ii, W_if, W_ic, W_io`` (each (H, I)), ``W_hi, W_hf, W_hc, W_ho`` (each (H, H)) and,
        when the biases are given, ``b_ii, b_if, b_ic, b_io, b_hi, b_hf, b_hc, b_ho`` (each (H,)).
        The candidate is called ``c``, as in the seed; other keys of ``packed`` are ignored.
    """
    where = "to_per_gate"
    out: dict[str, np.ndarray] = {}
    for src, s in (("weight_ih", "i"), ("weight_hh", "h")):
        for g, block in zip(GATES, split_gates(_get(packed, src, where))):
            out[f"W_{s}{SEED_LETTER[g]}"] = block.copy()
    for src, s in (("bias_ih", "i"), ("bias_hh", "h")):
        if src in packed:
            for g, block in zip(GATES, split_gates(_get(packed, src, where))):
                out[f"b_{s}{SEED_LETTER[g]}"] = block.copy()
    return out


def from_concat(concat: Mapping[str, np.ndarray], input_size: int) -> dict[str, np.ndarray]:
    """Seeds 001/003's ``W·[h_{t-1}, x_t] + b`` form -> packed layout.

    ``concat`` holds ``W_i, W_f, W_c, W_o`` (each (H, H+I), columns for h first, then x) and
    optionally ``b_i, b_f, b_c, b_o`` (each (H,), zero when missing). ``W_g``/``b_g`` are accepted
    for the candidate. ``input_size`` (I) says where the h columns end and the x columns begin.
    The bias goes to ``bias_ih``; ``bias_hh`` is zero.
    """
    where = "from_concat"
    d = {("W_c" if k == "W_g" else "b_c" if k == "b_g" else k): v for k, v in concat.items()}
    known = {f"{p}_{SEED_LETTER[g]}" for p in "Wb" for g in GATES}
    unknown = sorted(set(d) - known)
    if unknown:
        fail(where, "concat", f"keys among {sorted(known)}", f"unknown keys {unknown}", exc=KeyError)
    Ws = [_get(d, f"W_{SEED_LETTER[g]}", where) for g in GATES]
    H = Ws[0].shape[0]
    for g, W in zip(GATES, Ws):
        if W.ndim != 2 or W.shape != (H, H + input_size):
            fail(
                where,
                f"W_{SEED_LETTER[g]}",
                f"shape (H, H+I) = {(H, H + input_size)}",
                f"shape {W.shape}",
                "Columns are [h_{t-1}, x_t]: hidden first, then input.",
            )
    dtype = np.result_type(*Ws, np.float32)
    bs = []
    for g in GATES:
        k = f"b_{SEED_LETTER[g]}"
        b = np.asarray(d.get(k, np.zeros(H)), dtype=dtype)
        if b.shape != (H,):
            fail(where, k, f"shape {(H,)}", f"shape {b.shape}")
        bs.append(b)
    return {
        "weight_ih": join_gates(*(W[:, H:] for W in Ws)).astype(dtype),
        "weight_hh": join_gates(*(W[:, :H] for W in Ws)).astype(dtype),
        "bias_ih": join_gates(*bs),
        "bias_hh": np.zeros(4 * H, dtype=dtype),
    }


def to_concat(packed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Packed layout -> ``W_i, W_f, W_c, W_o`` (H, H+I) on ``[h_{t-1}, x_t]`` and ``b = b_ih + b_hh``."""
    where = "to_concat"
    W_ih = _get(packed, "weight_ih", where)
    W_hh = _get(packed, "weight_hh", where)
    H = W_hh.shape[1]
    zeros = np.zeros(4 * H, dtype=W_ih.dtype)
    b = np.asarray(packed.get("bias_ih", zeros)) + np.asarray(packed.get("bias_hh", zeros))
    out = {}
    for g, wx, wh, bg in zip(GATES, split_gates(W_ih), split_gates(W_hh), split_gates(b)):
        out[f"W_{SEED_LETTER[g]}"] = np.concatenate([wh, wx], axis=1)
        out[f"b_{SEED_LETTER[g]}"] = bg.copy()
    return out


# -- ONNX ------------------------------------------------------------------------------------
#: ONNX's gate order is i, o, f, c: ONNX block k is packed block ONNX_ORDER[k] (i=0, f=1, g=2, o=3)
ONNX_ORDER = (0, 3, 1, 2)


def _reorder(w: np.ndarray, order, n: int) -> np.ndarray:
    """Split ``w`` (n*H, ...) in n blocks along axis 0 and stack them again in ``order``."""
    H = w.shape[0] // n
    return np.concatenate([w[k * H : (k + 1) * H] for k in order], axis=0)


def to_onnx(directions) -> dict[str, np.ndarray]:
    """Packed parameters of one layer, one dict per direction -> the ONNX ``LSTM`` inputs.

    Each direction holds ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), optionally ``bias_ih`` and
    ``bias_hh`` (4H,) and optionally the peepholes ``weight_ci``, ``weight_cf``, ``weight_co``
    (each (H,), the LSTM's names for p_i, p_f, p_o). Direction 0 is
    forward, direction 1 (if any) reverse. Returns (D = number of directions)::

        W (D, 4H, I) = [W_i; W_o; W_f; W_c]        ONNX gate order i, o, f, c
        R (D, 4H, H) = [R_i; R_o; R_f; R_c]
        B (D, 8H)    = [Wb_i, Wb_o, Wb_f, Wb_c, Rb_i, Rb_o, Rb_f, Rb_c]   (only if biases)
        P (D, 3H)    = [P_i, P_o, P_f]                                     (only if peepholes)

    with W_c the packed candidate block g. Pure reindexing: ``from_onnx(**to_onnx(d)) == d``.
    """
    where = "to_onnx"
    directions = list(directions)
    if len(directions) not in (1, 2):
        fail(where, "directions", "1 or 2 parameter dicts (forward[, reverse])", len(directions))
    out: dict[str, list] = {"W": [], "R": [], "B": [], "P": []}
    has_bias = "bias_ih" in directions[0]
    has_peep = "weight_ci" in directions[0]
    for d, p in enumerate(directions):
        W_ih, W_hh = _get(p, "weight_ih", where), _get(p, "weight_hh", where)
        if W_hh.ndim != 2 or W_hh.shape[0] != 4 * W_hh.shape[1]:
            fail(where, f"directions[{d}]['weight_hh']", "shape (4H, H) (ONNX has no projection)", f"shape {W_hh.shape}")
        H = W_hh.shape[1]
        if W_ih.ndim != 2 or W_ih.shape[0] != 4 * H:
            fail(where, f"directions[{d}]['weight_ih']", f"shape (4H, I) with 4H = {4 * H}", f"shape {W_ih.shape}")
        out["W"].append(_reorder(W_ih, ONNX_ORDER, 4))
        out["R"].append(_reorder(W_hh, ONNX_ORDER, 4))
        if has_bias:
            b_ih, b_hh = _get(p, "bias_ih", where), _get(p, "bias_hh", where)
            out["B"].append(np.concatenate([_reorder(b_ih, ONNX_ORDER, 4), _reorder(b_hh, ONNX_ORDER, 4)]))
        if has_peep:
            pp = [_get(p, f"weight_c{g}", where) for g in "ifo"]
            for g, a in zip("ifo", pp):
                if a.shape != (H,):
                    fail(where, f"directions[{d}]['weight_c{g}']", f"shape {(H,)}", f"shape {a.shape}")
            out["P"].append(np.concatenate([pp[0], pp[2], pp[1]]))  # i, o, f
    return {k: np.stack(v) for k, v in out.items() if v}


def from_onnx(W, R, B=None, P=None) -> list[dict[str, np.ndarray]]:
    """The ONNX ``LSTM`` inputs W (D, 4H, I), R (D, 4H, H), B (D, 8H), P (D, 3H) -> packed dicts.

    Inverse of :func:`to_onnx`: one dict per direction with ``weight_ih``, ``weight_hh``,
    ``bias_ih`` = Wb and ``bias_hh`` = Rb (reordered i, f, g, o; only when B is given) and
    ``weight_ci``, ``weight_cf``, ``weight_co`` = P_i, P_f, P_o (only when P is given). Every shape
    is checked against W's.
    """
    where = "from_onnx"
    W, R = np.asarray(W), np.asarray(R)
    if W.ndim != 3 or W.shape[0] not in (1, 2) or W.shape[1] % 4:
        fail(where, "W", "shape (D, 4H, I) with D in {1, 2}", f"shape {W.shape}")
    D, H4, I = W.shape
    H = H4 // 4
    if R.shape != (D, 4 * H, H):
        fail(where, "R", f"shape (D, 4H, H) = {(D, 4 * H, H)}", f"shape {R.shape}")
    if B is not None:
        B = np.asarray(B)
        if B.shape != (D, 8 * H):
            fail(where, "B", f"shape (D, 8H) = {(D, 8 * H)}", f"shape {B.shape}")
    if P is not None:
        P = np.asarray(P)
        if P.shape != (D, 3 * H):
            fail(where, "P", f"shape (D, 3H) = {(D, 3 * H)}", f"shape {P.shape}")
    inverse = np.argsort(ONNX_ORDER)  # packed block k is ONNX block inverse[k]
    dirs = []
    for d in range(D):
        p = {"weight_ih": _reorder(W[d], inverse, 4), "weight_hh": _reorder(R[d], inverse, 4)}
        if B is not None:
            p["bias_ih"] = _reorder(B[d, : 4 * H], inverse, 4)
            p["bias_hh"] = _reorder(B[d, 4 * H :], inverse, 4)
        if P is not None:
            p["weight_ci"], p["weight_co"], p["weight_cf"] = P[d, :H].copy(), P[d, H : 2 * H].copy(), P[d, 2 * H :].copy()
        dirs.append(p)
    return dirs


# -- Keras -----------------------------------------------------------------------------------
def to_keras(packed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Packed parameters of one direction -> Keras ``LSTM`` weights.

    Keras keeps the gate order i, f, c, o (the same blocks as packed i, f, g, o) but multiplies
    from the left, ``z = x·kernel + h·recurrent_kernel + bias``, and has one bias::

        kernel           (I, 4H) = weight_ih^T
        recurrent_kernel (H, 4H) = weight_hh^T
        bias             (4H,)   = bias_ih + bias_hh          (only when the packed dict has biases)

    Packed -> Keras keeps only the sum of the two biases, which is all the cell uses.
    """
    where = "to_keras"
    W_ih, W_hh = _get(packed, "weight_ih", where), _get(packed, "weight_hh", where)
    if W_hh.ndim != 2 or W_hh.shape[0] != 4 * W_hh.shape[1]:
        fail(where, "weight_hh", "shape (4H, H) (Keras has no projection)", f"shape {W_hh.shape}")
    if W_ih.ndim != 2 or W_ih.shape[0] != W_hh.shape[0]:
        fail(where, "weight_ih", f"shape (4H, I) with 4H = {W_hh.shape[0]}", f"shape {W_ih.shape}")
    out = {"kernel": np.ascontiguousarray(W_ih.T), "recurrent_kernel": np.ascontiguousarray(W_hh.T)}
    if "bias_ih" in packed:
        out["bias"] = _get(packed, "bias_ih", where) + _get(packed, "bias_hh", where)
    return out


def from_keras(kernel, recurrent_kernel, bias=None) -> dict[str, np.ndarray]:
    """Keras ``LSTM`` weights -> packed parameters (inverse of :func:`to_keras`).

    kernel (I, 4H), recurrent_kernel (H, 4H), bias (4H,) or None (``use_bias=False``). The bias
    goes to ``bias_ih`` and ``bias_hh`` is zero, so Keras -> packed -> Keras is exact.
    """
    where = "from_keras"
    K, RK = np.asarray(kernel), np.asarray(recurrent_kernel)
    if RK.ndim != 2 or RK.shape[1] != 4 * RK.shape[0]:
        fail(where, "recurrent_kernel", "shape (H, 4H)", f"shape {RK.shape}")
    H = RK.shape[0]
    if K.ndim != 2 or K.shape[1] != 4 * H:
        fail(where, "kernel", f"shape (I, 4H) with 4H = {4 * H}", f"shape {K.shape}")
    out = {"weight_ih": np.ascontiguousarray(K.T), "weight_hh": np.ascontiguousarray(RK.T)}
    if bias is not None:
        b = np.asarray(bias)
        if b.shape != (4 * H,):
            fail(where, "bias", f"shape {(4 * H,)}", f"shape {b.shape}")
        out["bias_ih"] = b.copy()
        out["bias_hh"] = np.zeros_like(b)
    return out
