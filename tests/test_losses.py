"""Fused losses: values and gradients against PyTorch and finite differences, masks included."""

import numpy as np
import pytest
from oracles import numeric_gradient

from lstmkit.losses import mse, softmax_cross_entropy


def _fd(f, a, eps=1e-6):
    return numeric_gradient(f, a, eps)


def test_cross_entropy_hand_example():
    # logits [0, ln 3] -> p = [1/4, 3/4]; target 1 -> loss = -ln(3/4); dz = p - onehot = [1/4, -1/4]
    loss, dz = softmax_cross_entropy(np.array([[0.0, np.log(3.0)]]), np.array([1]))
    assert loss == pytest.approx(-np.log(0.75), rel=1e-15)
    np.testing.assert_allclose(dz, [[0.25, -0.25]], rtol=1e-15)


@pytest.mark.parametrize("masked", [False, True])
def test_cross_entropy_matches_torch_and_finite_differences(masked):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 4, 5)) * 3
    k = rng.integers(0, 5, size=(3, 4))
    mask = (np.arange(4)[None] < np.array([4, 1, 3])[:, None]) if masked else None
    loss, dz = softmax_cross_entropy(z, k, mask)
    zt = torch.from_numpy(z).requires_grad_()
    sel = torch.from_numpy(mask) if masked else torch.ones(3, 4, dtype=torch.bool)
    ref = torch.nn.functional.cross_entropy(zt[sel], torch.from_numpy(k)[sel])
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dz, _fd(lambda: softmax_cross_entropy(z, k, mask)[0], z), rtol=1e-6, atol=1e-9)
    if masked:  # padded positions: no gradient at all
        assert not dz[1, 1:].any()


def test_cross_entropy_is_stable_for_huge_logits():
    loss, dz = softmax_cross_entropy(np.array([[1000.0, -1000.0]], dtype=np.float32), np.array([1]))
    assert loss == pytest.approx(2000.0) and np.isfinite(dz).all() and dz.dtype == np.float32


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype,row", [(np.float64, [np.nan, 0, 0]), (np.float64, [np.inf, 0, 0]), (np.float64, [-np.inf, 0, 0]),
                                       (np.float64, [-1e308, 1e308, 0]), (np.float32, [1e38, 0, 0]), (np.float32, [-3e38, 3e38, 0])])  # fmt: skip
def test_cross_entropy_ignores_whatever_a_padded_row_holds(dtype, row):
    # a padded row's logits are never used: a NaN, an inf, or finite logits whose spread overflows (z - max z
    # = -inf) gave ℓ = NaN or inf there, and m ℓ = 0 * NaN made the loss NaN (and, for NaN or +inf, the
    # row's gradient). torch drops the row: F.cross_entropy with ignore_index gives the loss of the valid
    # row alone, and F.cross_entropy(z[m], k[m]) (the module's stated equivalent) a gradient of exactly 0 there
    torch = pytest.importorskip("torch")
    z = np.array([[0.0, 1.0, 2.0], row], dtype=dtype)
    k, mask = np.array([0, 1]), np.array([1, 0])
    loss, dz = softmax_cross_entropy(z, k, mask)
    zt = torch.from_numpy(z.astype(np.float64)).requires_grad_()
    ref = torch.nn.functional.cross_entropy(zt, torch.tensor([0, -100]), ignore_index=-100)
    assert loss == pytest.approx(ref.item(), rel=1e-6 if dtype == np.float32 else 1e-15)  # -log(e^0 / (e^0 + e^1 + e^2)) = 2.4076
    zs = torch.from_numpy(z.astype(np.float64)).requires_grad_()
    torch.nn.functional.cross_entropy(zs[:1], torch.tensor([0])).backward()
    assert dz.dtype == dtype and np.array_equal(dz[1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(dz, zs.grad.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-14, atol=0)


@pytest.mark.parametrize("shape,mask_shape", [((6,), None), ((3, 4, 2), (3, 4)), ((3, 4), (3, 4))])
def test_mse_matches_torch_and_finite_differences(shape, mask_shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    p, y = rng.normal(size=shape), rng.normal(size=shape)
    mask = None if mask_shape is None else rng.random(mask_shape) < 0.6
    if mask is not None:
        mask.flat[0] = True
    loss, dp = mse(p, y, mask)
    pt = torch.from_numpy(p).requires_grad_()
    if mask is None:
        ref = torch.nn.functional.mse_loss(pt, torch.from_numpy(y))
    else:
        sel = torch.from_numpy(mask)
        ref = torch.nn.functional.mse_loss(pt[sel], torch.from_numpy(y)[sel])
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(dp, pt.grad.numpy(), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(dp, _fd(lambda: mse(p, y, mask)[0], p), rtol=1e-6, atol=1e-9)


def test_loss_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: expected targets values in \[0, 3\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="targets integer class indices"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="mask at least one valid target"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), np.zeros(2))
    with pytest.raises(ValueError, match="mse: expected target shape"):
        mse(np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("shape,masked", [((7,), False), ((3, 4), True), ((3, 4), False), ((2, 3, 4), True)])
def test_class_weighted_cross_entropy_matches_torch_and_finite_differences(shape, masked):
    # torch's F.cross_entropy(weight=w), mean reduction: Σ w[k] ℓ / Σ w[k] over the rows it is given; the
    # mask as torch's selection z[m], k[m] and as its ignore_index, both
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(sum(shape))
    C = 5
    z = rng.normal(size=shape + (C,)) * 2
    k = rng.integers(0, C, size=shape)
    w = np.array([0.5, 3.0, 0.0, 1.0, 7.25])  # a class of weight 0 too: its targets count for nothing
    mask = rng.random(shape) < 0.7 if masked else None
    if masked:
        mask.flat[0], k.flat[0] = True, 1  # one valid target of a class that weighs
    loss, dz = softmax_cross_entropy(z, k, mask, weight=w)
    sel = torch.from_numpy(mask) if masked else torch.ones(shape, dtype=torch.bool)
    zt = torch.from_numpy(z).requires_grad_()
    ref = F.cross_entropy(zt[sel], torch.from_numpy(k)[sel], weight=torch.from_numpy(w))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-14)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-12, atol=1e-16)
    # the same through ignore_index, classes on axis 1 as torch takes them for more than one axis
    ignored = torch.from_numpy(np.where(mask, k, -100) if masked else k)
    zi = torch.from_numpy(np.moveaxis(z, -1, 1) if z.ndim > 2 else z).requires_grad_()
    ref2 = F.cross_entropy(zi, ignored, weight=torch.from_numpy(w), ignore_index=-100)
    ref2.backward()
    assert loss == pytest.approx(ref2.item(), rel=1e-14)
    np.testing.assert_allclose(dz, np.moveaxis(zi.grad.numpy(), 1, -1) if z.ndim > 2 else zi.grad.numpy(), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(dz, _fd(lambda: softmax_cross_entropy(z, k, mask, weight=w)[0], z), rtol=1e-6, atol=1e-9)


def test_class_weights_by_hand():
    # two targets, logits 0: ℓ = ln 2 each, whatever the weights; weights (1, 3) on classes (0, 1):
    # L = (1 ln 2 + 3 ln 2) / 4 = ln 2; dz_n = w_n (p_n - onehot) / 4: row 0 (1/4)(½ - 1, ½), row 1 (3/4)(½, ½ - 1)
    loss, dz = softmax_cross_entropy(np.zeros((2, 2)), np.array([0, 1]), weight=[1, 3])
    assert loss == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(dz, [[-0.125, 0.125], [0.375, -0.375]], rtol=1e-15)
    # the same factor on every class changes nothing (the mean is divided by the weights); float32 stays float32
    z, k = np.random.default_rng(0).normal(size=(6, 3)), np.array([0, 1, 2, 2, 1, 0])
    a, da = softmax_cross_entropy(z, k, weight=[1.0, 2.0, 0.5])
    b, db = softmax_cross_entropy(z, k, weight=[10.0, 20.0, 5.0])
    assert a == pytest.approx(b, rel=1e-14) and np.allclose(da, db, rtol=1e-13)
    assert softmax_cross_entropy(z.astype(np.float32), k, weight=[1.0, 2.0, 0.5])[1].dtype == np.float32
    # weights of 1 are the unweighted mean
    assert softmax_cross_entropy(z, k, weight=np.ones(3))[0] == pytest.approx(softmax_cross_entropy(z, k)[0], rel=1e-15)


@pytest.mark.parametrize("weight,exc,message", [
    ([1.0, 2.0], ValueError, r"^softmax_cross_entropy: expected weight shape \(3,\), got shape \(2,\)\. One weight per class"),
    ([[1.0, 2.0, 3.0]], ValueError, r"expected weight shape \(3,\), got shape \(1, 3\)"),
    ([1.0, -1.0, 1.0], ValueError, r"^softmax_cross_entropy: expected weight\[1\] a finite number >= 0, got -1\.0\.$"),
    ([1.0, 1.0, np.nan], ValueError, r"expected weight\[2\] a finite number >= 0, got nan\.$"),
    ([np.inf, 1.0, 1.0], ValueError, r"expected weight\[0\] a finite number >= 0, got inf\.$"),
    (["1", "2", "3"], TypeError, r"^softmax_cross_entropy: expected weight 3 numbers, one weight per class, got dtype <U1\.$"),
    ([True, False, True], TypeError, r"expected weight 3 numbers, one weight per class, got dtype bool"),
    (2.0, ValueError, r"expected weight shape \(3,\), got shape \(\)\."),
    ([0.0, 0.0, 5.0], ValueError, r"^softmax_cross_entropy: expected weight a weight > 0 for a class among the valid targets "
                                  r"\(the loss is their weighted mean\), got 0 for each of their classes \[0, 1\]\.$"),
])  # fmt: skip
def test_class_weights_are_checked_naming_the_class(weight, exc, message):
    with pytest.raises(exc, match=message):
        softmax_cross_entropy(np.zeros((4, 3)), np.array([0, 1, 0, 2]), np.array([1, 1, 1, 0]), weight=weight)


def test_a_weight_of_zero_is_no_error_where_other_valid_targets_weigh():
    # class 2 weighs 0 and its target is valid: it counts for nothing, as in torch; only all-zero is refused
    loss, dz = softmax_cross_entropy(np.array([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0]]), np.array([2, 0]), weight=[1.0, 1.0, 0.0])
    assert loss == pytest.approx(-np.log(np.exp(2) / (np.exp(2) + 2)), rel=1e-14) and not dz[0].any()


def test_class_weights_of_any_finite_scale_give_the_same_loss_and_gradient():
    # Σ w ℓ / Σ w does not change when every weight is scaled: at ordinary weights the loss is the mean written out
    # here (with the log-softmax by hand); at 1e308 each, Σ w overflows float64 (inf), yet the loss and its gradient
    # must be those of the weights scaled to 1 (the unweighted mean), not NaN or 0
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 4, 3))
    k = rng.integers(0, 3, size=(5, 4))
    mask = (rng.random((5, 4)) < 0.7).astype(float)
    mask[0, 0] = 1.0
    w = np.array([0.5, 2.0, 3.0])
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, k[..., None], -1)[..., 0]
    expected = (mask * w[k] * nll).sum() / (mask * w[k]).sum()
    loss, dz = softmax_cross_entropy(z, k, mask, weight=w)
    np.testing.assert_allclose(loss, expected, rtol=1e-13)
    for scale in (1e-300, 1e300):
        loss_s, dz_s = softmax_cross_entropy(z, k, mask, weight=w * scale)
        np.testing.assert_allclose(loss_s, expected, rtol=1e-13)
        np.testing.assert_allclose(dz_s, dz, rtol=1e-13, atol=1e-16)
    plain_loss, plain_dz = softmax_cross_entropy(z, k, mask)
    with np.errstate(over="raise"):  # no overflow on the way
        huge_loss, huge_dz = softmax_cross_entropy(z, k, mask, weight=[1e308] * 3)
    assert np.isfinite(huge_loss) and np.isfinite(huge_dz).all() and np.abs(huge_dz).max() > 0
    np.testing.assert_allclose(huge_loss, plain_loss, rtol=1e-13)
    np.testing.assert_allclose(huge_dz, plain_dz, rtol=1e-13, atol=1e-16)


def test_sample_weights_weigh_the_losses_as_torch_by_hand():
    # torch does the weighting by hand: reduction='none', times each target's sample weight (and class weight),
    # summed, divided by the sum of the weights; its autograd gives the gradient
    torch = pytest.importorskip("torch")
    from lstmkit.losses import mse, softmax_cross_entropy

    rng = np.random.default_rng(0)
    z, k = rng.normal(size=(4, 5, 3)), rng.integers(0, 3, size=(4, 5))
    m = rng.random((4, 5)) > 0.3
    w = np.array([0.5, 2.0, 1.0])
    for s in (rng.random(4), rng.random((4, 5))):  # a weight per sequence, or per step
        for cw in (None, w):
            loss, dz = softmax_cross_entropy(z, k, m, cw, s)
            zt = torch.tensor(z, requires_grad=True)
            mt, kt = torch.tensor(m), torch.tensor(k)
            st = torch.tensor(np.broadcast_to(s.reshape(4, -1), (4, 5)).copy())[mt]
            ct = torch.ones(len(st), dtype=torch.float64) if cw is None else torch.tensor(cw)[kt[mt]]
            ell = torch.nn.functional.cross_entropy(zt[mt], kt[mt], reduction="none")
            lt = (st * ct * ell).sum() / (st * ct).sum()
            lt.backward()
            assert loss == pytest.approx(lt.item(), rel=1e-12)
            np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    # MSE: each of a target's K outputs weighs the target's weight
    p, y, s = rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 5, 2)), rng.random((4, 5))
    loss, dp = mse(p, y, m, s)
    pt = torch.tensor(p, requires_grad=True)
    mt = torch.tensor(m)
    e = ((pt - torch.tensor(y)) ** 2)[mt]  # (valid targets, K)
    we = torch.tensor(s)[mt][:, None].expand_as(e)
    lt = (we * e).sum() / we.sum()
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-12)
    np.testing.assert_allclose(dp, pt.grad.numpy(), rtol=1e-10, atol=1e-15)
    # equal weights are the plain mean (their scale changes nothing)
    assert mse(p, y, m, np.full(4, 7.0))[0] == pytest.approx(mse(p, y, m)[0], rel=1e-14)


def test_sample_weights_are_checked_with_the_project_s_message():
    from lstmkit.losses import mse, softmax_cross_entropy

    z, k = np.zeros((3, 2)), np.array([0, 1, 1])
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: expected sample_weight shape \(3,\) \(one weight per sequence\), got shape \(2,\)\.$"):
        softmax_cross_entropy(z, k, sample_weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: expected sample_weight finite values >= 0, got -1\.0 at index 1\.$"):
        softmax_cross_entropy(z, k, sample_weight=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: expected sample_weight finite values >= 0, got nan at index 2\.$"):
        softmax_cross_entropy(z, k, sample_weight=[1.0, 1.0, np.nan])
    with pytest.raises(TypeError, match=r"^softmax_cross_entropy: expected sample_weight an array of numbers of shape \(3,\), got dtype bool\.$"):
        softmax_cross_entropy(z, k, sample_weight=[True, False, True])
    with pytest.raises(ValueError, match=r"^softmax_cross_entropy: expected sample_weight a weight > 0 for some valid target \(the loss is "
                                         r"their weighted mean\), got 0 for each of them\.$"):
        softmax_cross_entropy(z, k, mask=[1, 0, 0], sample_weight=[0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"^mse: expected sample_weight shape \(3, 2\) or \(3,\) \(one weight per sequence, or per step\), got shape \(2, 3\)\.$"):
        mse(np.zeros((3, 2, 1)), np.zeros((3, 2, 1)), np.ones((3, 2)), np.ones((2, 3)))


def test_uniform_weights_are_one_number_above_zero():
    # Σ c ℓ / Σ c with every c the same c > 0 is Σ ℓ / n, the plain mean: such weights weigh nothing; none at all,
    # zeros (0/0), or two numbers do
    from lstmkit.losses import uniform_weights

    for w, uniform in (([2.0, 2.0, 2.0], True), ([1e308], True), ([0.0, 0.0], False), ([], False), ([1.0, 2.0], False), ([2.0, 0.0], False)):
        assert uniform_weights(np.array(w, dtype=np.float64)) is uniform, w
