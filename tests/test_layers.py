"""Linear: forward against PyTorch, backward against finite differences and PyTorch autograd."""

import numpy as np
import pytest
from oracles import numeric_gradient

from lstmkit.layers import Linear
from lstmkit.models import SequenceModel


def _fd_check(f, arrays, eps=1e-6):
    """Centred differences of scalar f() w.r.t. each entry of each array."""
    return [numeric_gradient(f, a, eps) for a in arrays]


@pytest.mark.parametrize("lead", [(5,), (3, 4)])
def test_linear_backward_matches_finite_differences(lead):
    rng = np.random.default_rng(0)
    lin = Linear(3, 2, dtype=np.float64, seed=1)
    x = rng.normal(size=lead + (3,))
    w = rng.normal(size=lead + (2,))  # random projection: L = Σ y * w
    loss = lambda: float((lin(x) * w).sum())  # noqa: E731
    lin.zero_grad()
    lin(x)
    dx = lin.backward(w)
    num_x, num_W, num_b = _fd_check(loss, [x, lin.weight, lin.bias])
    np.testing.assert_allclose(dx, num_x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(lin.grads["weight"], num_W, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(lin.grads["bias"], num_b, rtol=1e-7, atol=1e-9)


def test_linear_matches_torch_and_grads_accumulate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    lin = Linear(4, 3, dtype=np.float64, seed=0)
    ref = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(lin.weight))
        ref.bias.copy_(torch.from_numpy(lin.bias))
    x = rng.normal(size=(2, 5, 4))
    dy = rng.normal(size=(2, 5, 3))
    xt = torch.from_numpy(x).requires_grad_()
    yt = ref(xt)
    (yt * torch.from_numpy(dy)).sum().backward()
    for _ in range(2):  # two backward passes: gradients add up
        y = lin(x)
        dx = lin.backward(dy)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(lin.grads["weight"], 2 * ref.weight.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(lin.grads["bias"], 2 * ref.bias.grad.numpy(), rtol=1e-13)
    lin.zero_grad()
    assert not lin.grads["weight"].any()


def test_linear_errors_name_the_argument():
    lin = Linear(3, 2)
    with pytest.raises(ValueError, match="Linear: expected x last dimension in_features=3, got shape"):
        lin(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match="before backward"):
        lin.backward(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 2)


def test_linear_init_is_torch_uniform_and_seeded():
    a, b = Linear(16, 8, seed=3), Linear(16, 8, seed=3)
    assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    assert np.abs(a.weight).max() <= 0.25 and a.weight.dtype == np.float32


# -- SequenceModel ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "opts",
    [
        dict(head="all"),
        dict(head="last"),
        dict(head="last", bidirectional=True, num_layers=2),
        dict(head="all", cell="rnn", bidirectional=True),
        dict(head="all", readout="identity"),
    ],
)
def test_sequence_model_backward_matches_finite_differences(opts):
    rng = np.random.default_rng(0)
    m = SequenceModel(3, None if opts.get("readout") else 2, 4, dtype=np.float64, seed=0, **opts)
    B, T = 3, 5
    x = rng.normal(size=(B, T, 3))
    lengths = np.array([5, 2, 4])
    out, _ = m(x, lengths)
    w = rng.normal(size=out.shape)
    loss = lambda: float((m(x, lengths)[0] * w).sum())  # noqa: E731
    m.zero_grad()
    m(x, lengths)
    dx = m.backward(w)
    params = list(m.parameters().values())
    nums = _fd_check(loss, [x] + params)
    np.testing.assert_allclose(dx, nums[0], rtol=1e-6, atol=1e-8)
    for (k, g), num in zip(m.grads.items(), nums[1:]):
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8, err_msg=k)


def test_sequence_model_last_head_reads_final_states():
    """head='last' equals reading h_n (forward final state, backward final state) of the top layer."""
    rng = np.random.default_rng(1)
    m = SequenceModel(2, None, 3, head="last", readout="identity", bidirectional=True, num_layers=2, dtype=np.float64, seed=0)
    x = rng.normal(size=(4, 6, 2))
    lengths = np.array([6, 1, 3, 5])
    out, (h_n, _) = m(x, lengths)
    np.testing.assert_array_equal(out, np.concatenate([h_n[-2], h_n[-1]], axis=1))


def test_sequence_model_keys_forget_bias_and_options():
    m = SequenceModel(3, 2, 4, forget_bias=1.0, seed=0)
    assert list(m.state_dict()) == [
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "head.weight", "head.bias",
    ]
    assert list(m.grads) == list(m.state_dict())
    b = m.state_dict()
    np.testing.assert_array_equal(b["rnn.bias_ih_l0"][4:8] + b["rnn.bias_hh_l0"][4:8], 1.0)
    p = SequenceModel(3, 2, 4, lstm_options={"proj_size": 2}, seed=0)
    assert p.state_dict()["rnn.weight_hr_l0"].shape == (2, 4)
    with pytest.raises(ValueError, match="forget_bias"):
        SequenceModel(3, 2, 4, cell="rnn", forget_bias=1.0)
    with pytest.raises(ValueError, match="forget_bias None when the LSTM has no bias"):
        SequenceModel(3, 2, 4, forget_bias=1.0, lstm_options={"bias": False})
    with pytest.raises(ValueError, match="output_size"):
        SequenceModel(3, 3, 4, readout="identity")
    with pytest.raises(ValueError, match=r"SequenceModel: expected x a 3-D array \(B, T, I\), batch first, got shape \(5, 3\)"):
        m(np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="lstm_options"):
        SequenceModel(3, 2, 4, lstm_options={"hidden_size": 3})


def test_token_inputs_equal_their_one_hot_features():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=(3, 4))
    a = SequenceModel(5, 5, 3, inputs="tokens", dtype=np.float64, seed=0)
    b = SequenceModel(5, 5, 3, dtype=np.float64, seed=0)
    out_a, _ = a(ids)
    out_b, _ = b(np.eye(5)[ids])
    np.testing.assert_array_equal(out_a, out_b)
    dout = rng.normal(size=out_a.shape)
    np.testing.assert_array_equal(a.backward(dout), b.backward(dout))
    for k in a.grads:
        np.testing.assert_array_equal(a.grads[k], b.grads[k])
    with pytest.raises(ValueError, match=r"token ids in \[0, input_size=5\)"):
        a(ids + 1)
    with pytest.raises(TypeError, match="integer token ids"):
        a(np.eye(5)[ids])


@pytest.mark.parametrize("head", ["last", "all"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padded_batch_equals_each_sequence_alone(head, bidirectional):
    rng = np.random.default_rng(3)
    m = SequenceModel(2, 3, 4, head=head, bidirectional=bidirectional, num_layers=2, dtype=np.float64, seed=0)
    lengths = np.array([5, 1, 3, 4])
    x = rng.normal(size=(4, 5, 2))
    out, _ = m(x, lengths)
    for b, L in enumerate(lengths):
        alone, _ = m(x[b : b + 1, :L])
        if head == "last":
            np.testing.assert_allclose(out[b], alone[0], rtol=1e-13, atol=1e-15)
        else:
            np.testing.assert_allclose(out[b, :L], alone[0], rtol=1e-13, atol=1e-15)


def test_sequence_model_with_variants_matches_finite_differences():
    rng = np.random.default_rng(0)
    m = SequenceModel(2, 2, 3, head="last", dtype=np.float64, seed=0, lstm_options={"peephole": True, "layer_norm": True})
    x = rng.normal(size=(2, 4, 2))
    lengths = np.array([4, 2])
    out, _ = m(x, lengths)
    w = rng.normal(size=out.shape)
    loss = lambda: float((m(x, lengths)[0] * w).sum())  # noqa: E731
    m.zero_grad()
    m(x, lengths)
    dx = m.backward(w)
    nums = _fd_check(loss, [x] + list(m.parameters().values()))
    np.testing.assert_allclose(dx, nums[0], rtol=1e-6, atol=1e-8)
    for (k, g), num in zip(m.grads.items(), nums[1:]):
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8, err_msg=k)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 1e39, "1.0", True])
def test_forget_bias_must_be_a_finite_representable_number(bad):
    from lstmkit.models import SequenceModel

    with pytest.raises(ValueError, match="forget_bias a finite number representable in float32"):
        SequenceModel(3, 2, 4, forget_bias=bad, dtype=np.float32)
