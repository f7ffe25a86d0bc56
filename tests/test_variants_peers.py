"""LSTM variants against peers that implement them, and against PyTorch autograd.

* onnxruntime's ``LSTM`` operator: peepholes (``P``, order i, o, f), ``input_forget``, ``clip``
  and ``activations`` (with alpha/beta), forward / reverse / bidirectional, ``sequence_lens`` and
  initial states, all with RANDOM weights (constant weights cannot catch a wrong gate order).
  The graph is built here with ``onnx.helper``; the conversion is written out in
  :func:`to_onnx_tensors` (ONNX gate order i, o, f, c; W (D, 4H, I), R (D, 4H, H), B (D, 8H)).
* Keras 3 (torch backend): variational dropout. Keras draws one input mask per sequence and
  keeps it for every step; the masks it draws are recorded and handed to lstmkit, and the outputs
  must agree. With ``recurrent_dropout`` Keras switches to one mask per gate; giving it the same
  mask for the four gates must reproduce lstmkit's one-mask-per-sequence recurrent dropout.
* PyTorch autograd run on the variant equations written again with torch ops (torch's own
  ``layer_norm``, ``clamp``, activations), with lstmkit's masks: every gradient to 1e-12.
  No library implements layer-norm LSTM or zoneout, so this and the finite differences of
  ``test_variants.py`` are their oracles.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from lstmkit import LSTM, variants
from lstmkit.activations import get_activation

ONNX_ORDER = [0, 3, 1, 2]  # ONNX block k holds lstmkit block ONNX_ORDER[k]: i, o, f, c <- i, f, g, o
ONNX_NAMES = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "affine": "Affine",
    "leaky_relu": "LeakyRelu",
    "thresholded_relu": "ThresholdedRelu",
    "scaled_tanh": "ScaledTanh",
    "hard_sigmoid": "HardSigmoid",
    "elu": "Elu",
    "softsign": "Softsign",
    "softplus": "Softplus",
}


def _gates_to_onnx(a):
    """Packed (4H, ...) in i, f, g, o -> ONNX's i, o, f, c."""
    H = a.shape[0] // 4
    return np.concatenate([a[k * H : (k + 1) * H] for k in ONNX_ORDER], axis=0)


def to_onnx_tensors(model):
    """W (D, 4H, I), R (D, 4H, H), B (D, 8H), P (D, 3H) of a one-layer lstmkit LSTM."""
    D = model.num_directions
    W, R, B, P = [], [], [], []
    for d in range(D):
        sfx = "_l0" + ("_reverse" if d else "")
        p = model.parameters()
        W.append(_gates_to_onnx(p[f"weight_ih{sfx}"]))
        R.append(_gates_to_onnx(p[f"weight_hh{sfx}"]))
        if model.bias:
            B.append(np.concatenate([_gates_to_onnx(p[f"bias_ih{sfx}"]), _gates_to_onnx(p[f"bias_hh{sfx}"])]))
        if model.variant.peephole:
            P.append(np.concatenate([p[f"weight_ci{sfx}"], p[f"weight_co{sfx}"], p[f"weight_cf{sfx}"]]))  # i, o, f
    stack = lambda xs: np.stack(xs).astype(np.float32) if xs else None  # noqa: E731
    return stack(W), stack(R), stack(B), stack(P)


def onnx_lstm(model, x, lengths, h0, c0):
    """Run ``model``'s single layer as one ONNX LSTM node in onnxruntime (float32)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    T, Bsz, I = x.shape
    H, D = model.hidden_size, model.num_directions
    W, R, B, P = to_onnx_tensors(model)
    acts = [get_activation(a) for a in model.variant.activations] * D
    attrs = dict(
        hidden_size=H,
        direction="bidirectional" if D == 2 else "forward",
        activations=[ONNX_NAMES[a.name] for a in acts],
        input_forget=int(model.variant.input_forget),
    )
    alphas = [a.alpha for a in acts if a.alpha is not None]  # consumed in order by those that take one
    betas = [a.beta for a in acts if a.beta is not None]
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if model.variant.gate_clip is not None:
        attrs["clip"] = model.variant.gate_clip
    feeds = {"X": x.astype(np.float32), "W": W, "R": R, "sequence_lens": np.asarray(lengths, dtype=np.int32),
             "initial_h": h0.astype(np.float32), "initial_c": c0.astype(np.float32)}  # fmt: skip
    if B is not None:
        feeds["B"] = B
    if P is not None:
        feeds["P"] = P
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    node = helper.make_node("LSTM", [k if k in feeds else "" for k in order], ["Y", "Y_h", "Y_c"], **attrs)
    shapes = {k: v.shape for k, v in feeds.items()}
    inputs = [helper.make_tensor_value_info(k, TensorProto.INT32 if k == "sequence_lens" else TensorProto.FLOAT, shapes[k])
              for k in order if k in feeds]  # fmt: skip
    out_shapes = {"Y": (T, D, Bsz, H), "Y_h": (D, Bsz, H), "Y_c": (D, Bsz, H)}
    outputs = [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in out_shapes.items()]
    graph = helper.make_graph([node], "lstm", inputs, outputs)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    onnx.checker.check_model(onnx_model)
    sess = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    Y, Y_h, Y_c = sess.run(None, feeds)
    return Y, Y_h, Y_c  # Y (T, D, B, H)


ORT_CASES = {
    "peephole": dict(peephole=True),
    "peephole_bidir": dict(peephole=True, bidirectional=True),
    "input_forget": dict(input_forget=True),
    "input_forget+peephole_bidir": dict(input_forget=True, peephole=True, bidirectional=True),
    "clip": dict(gate_clip=0.7),
    "clip_bidir+peephole": dict(gate_clip=0.9, peephole=True, bidirectional=True),
    "act_relu_hard_softsign": dict(activations=(("hard_sigmoid", 0.3, 0.45), "relu", "softsign")),
    "act_scaled_elu_leaky": dict(activations=(("scaled_tanh", 0.9, 1.3), ("elu", 0.8), ("leaky_relu", 0.05)), bidirectional=True),
    "act_affine_thresh_softplus": dict(activations=(("affine", 0.2, 0.5), ("thresholded_relu", 0.1), "softplus")),
    "everything_onnx_has_bidir": dict(peephole=True, input_forget=True, gate_clip=1.1, bidirectional=True,
                                      activations=("sigmoid", ("scaled_tanh", 1.1, 0.8), "softsign")),  # fmt: skip
    "nobias_peephole": dict(peephole=True, bias=False, bidirectional=True),
}

ORT_ERRORS: dict[str, float] = {}


@pytest.mark.parametrize("case", list(ORT_CASES))
def test_matches_onnxruntime_with_random_weights(case):
    pytest.importorskip("onnxruntime")
    kw = dict(ORT_CASES[case])
    model = LSTM(5, 6, dtype=np.float64, seed=4, **kw)
    rng = np.random.default_rng(9)
    for k, v in model.parameters().items():  # random weights everywhere, peepholes included
        v[...] = rng.uniform(-0.8, 0.8, size=v.shape)
    T, B, D = 7, 4, model.num_directions
    x = rng.normal(size=(T, B, 5))
    lengths = np.array([7, 3, 5, 1])
    h0, c0 = rng.normal(size=(D, B, 6)) * 0.5, rng.normal(size=(D, B, 6)) * 0.5
    y, (h_n, c_n) = model(x, (h0, c0), lengths)
    Y, Y_h, Y_c = onnx_lstm(model, x, lengths, h0, c0)
    Y = Y.transpose(0, 2, 1, 3).reshape(T, B, D * 6)  # (T, D, B, H) -> (T, B, D*H)
    err = max(np.abs(y - Y).max(), np.abs(h_n - Y_h).max(), np.abs(c_n - Y_c).max())
    ORT_ERRORS[case] = float(err)
    assert err < 1e-5, f"{case}: max |lstmkit - onnxruntime| = {err:.3g}"
    # the options really act: the plain LSTM with the same weights gives something else
    plain = LSTM(5, 6, dtype=np.float64, bias=model.bias, bidirectional=model.bidirectional)
    plain.load_state_dict(model.state_dict(), strict=False)
    assert np.abs(plain(x, (h0, c0), lengths)[0] - y).max() > 1e-2


def test_gate_clip_is_onnx_clip_on_pre_activations_not_on_the_cell_state():
    """ONNX ``clip`` bounds the gate inputs; the cell state may exceed it (onnxruntime agrees)."""
    pytest.importorskip("onnxruntime")
    model = LSTM(2, 3, dtype=np.float64, seed=0, gate_clip=0.5)
    x = np.full((12, 1, 2), 3.0)
    for v in model.parameters().values():
        v[...] = 1.0  # saturating inputs: every gate pre-activation is clipped to 0.5
    y, (h_n, c_n) = model(x)
    assert np.all(np.abs(c_n) > 0.5)  # c grows past the clip value
    Y, Y_h, Y_c = onnx_lstm(model, x, [12], np.zeros((1, 1, 3)), np.zeros((1, 1, 3)))
    np.testing.assert_allclose(c_n, Y_c, atol=2e-6)
    s, t = 1 / (1 + np.exp(-0.5)), np.tanh(0.5)  # i = f = o = σ(0.5), g = tanh(0.5), by hand:
    c = 0.0
    for _ in range(12):
        c = s * c + s * t  # c_t = f c_{t-1} + i g
    np.testing.assert_allclose(c_n[0, 0], c, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# Keras 3 on its torch backend: variational dropout
# ------------------------------------------------------------------------------------------------
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs on another backend in this process")
    return keras


def _keras_twin(keras, model, **kw):
    """A keras.layers.LSTM with lstmkit's weights (Keras' gate order i, f, c, o is lstmkit's)."""
    H = model.hidden_size
    layer = keras.layers.LSTM(H, return_sequences=True, return_state=True, use_cudnn=False, **kw)
    layer.build((None, None, model.input_size))
    p = model.parameters()
    layer.set_weights([p["weight_ih_l0"].T, p["weight_hh_l0"].T, p["bias_ih_l0"] + p["bias_hh_l0"]])
    return layer


def test_input_dropout_matches_keras_with_the_masks_keras_draws(monkeypatch):
    """Keras ``dropout``: one mask per sequence, reused at every step. Record the mask Keras draws,
    give it to lstmkit, and the two training-mode outputs agree."""
    keras = _keras()
    import torch

    p = 0.4
    model = LSTM(5, 6, dtype=np.float32, seed=2, dropout_input=p)
    layer = _keras_twin(keras, model, dropout=p, seed=1)
    x = np.random.default_rng(0).normal(size=(8, 3, 5)).astype(np.float32)  # (T, B, I)
    drawn = []
    original = type(layer.cell).get_dropout_mask

    def recording(self, step_input):
        mask = original(self, step_input)
        drawn.append(mask)
        return mask

    monkeypatch.setattr(type(layer.cell), "get_dropout_mask", recording)
    seq, h_k, c_k = (torch.as_tensor(a).detach().cpu().numpy() for a in layer(x.transpose(1, 0, 2), training=True))
    masks = {tuple(np.asarray(m.detach().cpu()).ravel()) for m in drawn}
    assert len(masks) == 1  # one mask for the whole sequence batch
    keras_mask = np.asarray(drawn[0].detach().cpu())  # (B, I) with values 0 or 1/(1-p)
    assert keras_mask.shape == (3, 5)
    np.testing.assert_allclose(np.unique(keras_mask), [0.0, 1 / (1 - p)], rtol=1e-6)

    def keras_masks(opts, rng, training, T, B, I, H, P, dtype):
        return variants.VariantMasks(x=keras_mask.astype(dtype))

    monkeypatch.setattr(variants, "draw_masks", keras_masks)
    y, (h_n, c_n) = model(x)
    np.testing.assert_allclose(y, seq.transpose(1, 0, 2), atol=2e-6)
    np.testing.assert_allclose(h_n[0], h_k, atol=2e-6)
    np.testing.assert_allclose(c_n[0], c_k, atol=2e-6)


def test_recurrent_dropout_matches_keras_given_one_mask_for_all_gates(monkeypatch):
    """Keras ``recurrent_dropout`` multiplies h_{t-1} by a mask drawn once per sequence; Keras draws
    one per gate, lstmkit one for all four (Gal & Ghahramani's tied variant). With the same mask
    for the four gates Keras computes exactly lstmkit's step."""
    keras = _keras()
    import torch

    p_x, p_h = 0.3, 0.5
    model = LSTM(5, 6, dtype=np.float32, seed=3, dropout_input=p_x, dropout_recurrent=p_h)
    layer = _keras_twin(keras, model, dropout=p_x, recurrent_dropout=p_h)
    x = np.random.default_rng(1).normal(size=(8, 3, 5)).astype(np.float32)
    y, (h_n, c_n) = model(x)  # training mode: lstmkit draws its masks
    m = model.last_masks["l0"]
    mx, mh = torch.as_tensor(m.x), torch.as_tensor(m.h)
    monkeypatch.setattr(type(layer.cell), "get_dropout_mask", lambda self, s: [mx] * 4)
    monkeypatch.setattr(type(layer.cell), "get_recurrent_dropout_mask", lambda self, s: [mh] * 4)
    seq, h_k, c_k = (torch.as_tensor(a).detach().cpu().numpy() for a in layer(x.transpose(1, 0, 2), training=True))
    np.testing.assert_allclose(y, seq.transpose(1, 0, 2), atol=2e-6)
    np.testing.assert_allclose(h_n[0], h_k, atol=2e-6)
    np.testing.assert_allclose(c_n[0], c_k, atol=2e-6)
    # and in inference both are the plain LSTM
    y_eval, _ = model.eval()(x)
    seq_eval = np.asarray(layer(x.transpose(1, 0, 2), training=False)[0].detach().cpu())
    np.testing.assert_allclose(y_eval, seq_eval.transpose(1, 0, 2), atol=2e-6)


# ------------------------------------------------------------------------------------------------
# PyTorch autograd on the same equations: a second, exact oracle for every gradient
# ------------------------------------------------------------------------------------------------
def _torch_act(spec):
    import torch

    a = get_activation(spec)
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softsign": torch.nn.functional.softsign,
        "hard_sigmoid": lambda z: torch.clamp(a.alpha * z + a.beta, 0.0, 1.0),
        "scaled_tanh": lambda z: a.alpha * torch.tanh(a.beta * z),
        "elu": lambda z: torch.nn.functional.elu(z, alpha=a.alpha),
        "softplus": torch.nn.functional.softplus,
    }[a.name]


def torch_variant_forward(model, x, h0, c0, lengths, masks):
    """One layer, one direction, written with torch ops from the equations of lstmkit.variants;
    torch's own layer_norm, clamp and autograd. Returns y, h_T, c_T and the parameter tensors."""
    import torch
    import torch.nn.functional as F

    v = model.variant
    P = {k: torch.tensor(a, requires_grad=True) for k, a in model.state_dict().items()}
    sfx = "_l0"
    W_ih, W_hh = P["weight_ih" + sfx], P["weight_hh" + sfx]
    b = P["bias_ih" + sfx] + P["bias_hh" + sfx] if model.bias else 0.0
    H = model.hidden_size
    fa, ga, ha = (_torch_act(s) for s in v.activations)
    clip = (lambda z: torch.clamp(z, -v.gate_clip, v.gate_clip)) if v.gate_clip else (lambda z: z)
    tm = lambda a: torch.tensor(a) if a is not None else None  # noqa: E731
    m_x, m_h, M = tm(masks.x), tm(masks.h), tm(masks.W_hh)
    leaves = {k: torch.tensor(a, requires_grad=True) for k, a in (("x", x), ("h0", h0), ("c0", c0))}
    x, h, c = leaves["x"], leaves["h0"], leaves["c0"]
    W_rec = W_hh * M if M is not None else W_hh
    ys = []
    for t in range(x.shape[0]):
        xt = x[t] * m_x if m_x is not None else x[t]
        ht = h * m_h if m_h is not None else h
        a_x, a_h = xt @ W_ih.T, ht @ W_rec.T
        if v.layer_norm:
            z = P["ln_weight_ih" + sfx] * F.layer_norm(a_x, (4 * H,), eps=1e-5) + P["ln_weight_hh" + sfx] * F.layer_norm(a_h, (4 * H,), eps=1e-5) + b
        else:
            z = a_x + a_h + b
        z_i, z_f, z_g, z_o = z[:, :H], z[:, H : 2 * H], z[:, 2 * H : 3 * H], z[:, 3 * H :]
        if v.peephole:
            z_i = z_i + P["weight_ci" + sfx] * c
            z_f = z_f + P["weight_cf" + sfx] * c
        i = fa(clip(z_i))
        f = 1 - i if v.input_forget else fa(clip(z_f))
        g = ga(clip(z_g))
        c_new = f * c + i * g
        if v.cell_clip:
            c_new = torch.clamp(c_new, -v.cell_clip, v.cell_clip)
        if v.peephole:
            z_o = z_o + P["weight_co" + sfx] * c_new
        o = fa(clip(z_o))
        n = c_new
        if v.layer_norm:
            n = F.layer_norm(c_new, (H,), P["ln_weight_c" + sfx], P.get("ln_bias_c" + sfx), eps=1e-5)
        h_new = o * ha(n)
        if model.proj_size:
            h_new = h_new @ P["weight_hr" + sfx].T
        if masks.zc is not None:
            d = torch.tensor(masks.zc[t]) if np.ndim(masks.zc) else masks.zc
            c_new = d * c + (1 - d) * c_new
        if masks.zh is not None:
            d = torch.tensor(masks.zh[t]) if np.ndim(masks.zh) else masks.zh
            h_new = d * h + (1 - d) * h_new
        valid = torch.tensor((t < np.asarray(lengths))[:, None])
        c = torch.where(valid, c_new, c)
        h = torch.where(valid, h_new, h)
        ys.append(torch.where(valid, h, torch.zeros_like(h)))
    return torch.stack(ys), h, c, P, leaves


TORCH_CASES = {
    "everything": dict(peephole=True, input_forget=True, gate_clip=1.2, cell_clip=0.8, layer_norm=True,
                       activations=(("hard_sigmoid", 0.25, 0.5), "tanh", ("scaled_tanh", 1.1, 0.9)),
                       dropout_input=0.3, dropout_recurrent=0.3, zoneout_cell=0.25, zoneout_hidden=0.25,
                       dropconnect=0.3, proj_size=3),  # fmt: skip
    "ln_zoneout_proj": dict(layer_norm=True, zoneout_cell=0.3, zoneout_hidden=0.2, proj_size=2, bias=False),
    "peephole_dropouts": dict(peephole=True, dropout_input=0.5, dropout_recurrent=0.5, dropconnect=0.5,
                              activations=("sigmoid", ("elu", 0.7), "softplus")),  # fmt: skip
}


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_every_gradient_matches_torch_autograd_on_the_same_equations(case, mode):
    pytest.importorskip("torch")
    import torch

    model = LSTM(3, 4, dtype=np.float64, seed=6, **TORCH_CASES[case]).train(mode == "train")
    rng = np.random.default_rng(2)
    for v in model.parameters().values():
        v[...] += rng.normal(scale=0.1, size=v.shape)  # LN gains and shifts away from 1 and 0
    T, B, P, H = 6, 3, model.output_size, 4
    x = rng.normal(size=(T, B, 3))
    h0, c0 = rng.normal(size=(1, B, P)) * 0.5, rng.normal(size=(1, B, H)) * 0.5
    lengths = np.array([6, 2, 4])
    wy, wh, wc = rng.normal(size=(T, B, P)), rng.normal(size=(1, B, P)), rng.normal(size=(1, B, H))
    y, (h_n, c_n) = model(x, (h0, c0), lengths)
    model.zero_grad()
    dx, (dh0, dc0) = model.backward(wy, (wh, wc))
    masks = model.last_masks["l0"]
    ty, th, tc, params, leaves = torch_variant_forward(model, x, h0[0], c0[0], lengths, masks)
    np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(h_n[0], th.detach().numpy(), atol=1e-13)
    np.testing.assert_allclose(c_n[0], tc.detach().numpy(), atol=1e-13)
    loss = (ty * torch.tensor(wy)).sum() + (th * torch.tensor(wh[0])).sum() + (tc * torch.tensor(wc[0])).sum()
    loss.backward()
    for k, p in params.items():
        expected = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        np.testing.assert_allclose(model.grads[k], expected, atol=1e-12, err_msg=k)
    for name, mine in (("x", dx), ("h0", dh0[0]), ("c0", dc0[0])):
        np.testing.assert_allclose(mine, leaves[name].grad.numpy(), atol=1e-12, err_msg=name)
