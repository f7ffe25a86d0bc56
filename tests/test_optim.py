"""Optimizers step for step against torch.optim; clipping against clip_grad_norm_; schedules."""

import math

import numpy as np
import pytest

from lstmkit.models import SequenceModel
from lstmkit.optim import (
    SGD, Adam, AdamW, CosineAnnealingLR, ReduceLROnPlateau, RMSprop, StepLR, clip_grad_norm, make_optimizer,
)

torch = pytest.importorskip("torch")

CASES = [
    (SGD, dict(lr=0.1), torch.optim.SGD, {}),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01), torch.optim.SGD, {}),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True), torch.optim.SGD, {}),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.3), torch.optim.SGD, {}),
    (Adam, dict(lr=0.01), torch.optim.Adam, {}),
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), torch.optim.Adam, {}),
    (AdamW, dict(lr=0.01), torch.optim.AdamW, {}),
    (RMSprop, dict(lr=0.01), torch.optim.RMSprop, {}),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1), torch.optim.RMSprop, {}),
]


@pytest.mark.parametrize("ours,kw,theirs,_", CASES)
def test_optimizer_matches_torch_for_five_steps(ours, kw, theirs, _):
    rng = np.random.default_rng(0)
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in model.parameters().items()}
    opt = ours(model, **kw)
    topt = theirs(list(tparams.values()), **kw)
    for _step in range(5):
        grads = {k: rng.normal(size=v.shape) for k, v in model.parameters().items()}
        for k, g in grads.items():
            model.grads[k][...] = g
            tparams[k].grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for k, v in model.parameters().items():
        np.testing.assert_allclose(v, tparams[k].detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=k)


def test_optimizer_state_roundtrip_continues_identically():
    rng = np.random.default_rng(1)
    a = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    b = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    oa = Adam(a, lr=0.01)
    grads = [{k: rng.normal(size=v.shape) for k, v in a.parameters().items()} for _ in range(4)]
    for g in grads[:2]:
        a.grads.update({k: a.grads[k] for k in a.grads})
        for k in g:
            a.grads[k][...] = g[k]
        oa.step()
    sd = oa.state_dict()
    import json

    json.dumps(sd["scalars"])  # JSON-able scalars
    b.load_state_dict(a.state_dict())
    ob = Adam(b, lr=0.5)
    ob.load_state_dict(sd)
    for g in grads[2:]:
        for m, o in ((a, oa), (b, ob)):
            for k in g:
                m.grads[k][...] = g[k]
            o.step()
    for k in a.parameters():
        assert np.array_equal(a.parameters()[k], b.parameters()[k])
    with pytest.raises(ValueError, match="state of 'Adam'"):
        SGD(b).load_state_dict(sd)


def test_clip_grad_norm_matches_torch():
    rng = np.random.default_rng(2)
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    for g in model.grads.values():
        g[...] = rng.normal(size=g.shape)
    tg = [torch.tensor(p.copy(), requires_grad=True) for p in model.parameters().values()]
    for t, g in zip(tg, model.grads.values()):
        t.grad = torch.from_numpy(g.copy())
    norm = clip_grad_norm(model, 1.5)
    tnorm = torch.nn.utils.clip_grad_norm_(tg, 1.5)
    assert norm == pytest.approx(float(tnorm), rel=1e-14)
    for t, g in zip(tg, model.grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14)
    assert math.sqrt(sum((g**2).sum() for g in model.grads.values())) <= 1.5 + 1e-9
    before = {k: v.copy() for k, v in model.grads.items()}
    clip_grad_norm(model.grads, 100.0)  # under the limit: unchanged
    assert all(np.array_equal(before[k], model.grads[k]) for k in before)


@pytest.mark.parametrize(
    "ours,theirs,kw",
    [
        (StepLR, torch.optim.lr_scheduler.StepLR, dict(step_size=3, gamma=0.5)),
        (CosineAnnealingLR, torch.optim.lr_scheduler.CosineAnnealingLR, dict(T_max=7, eta_min=0.001)),
    ],
)
def test_schedules_match_torch(ours, theirs, kw):
    model = SequenceModel(3, 2, 4, seed=0)
    opt = SGD(model, lr=0.1)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s, ts = ours(opt, **kw), theirs(topt, **kw)
    for _ in range(30):  # past the cosine's T_max = 7: it goes back up, as torch's does
        topt.step()
        s.step()
        ts.step()
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


def test_reduce_on_plateau_matches_torch():
    model = SequenceModel(3, 2, 4, seed=0)
    opt = SGD(model, lr=0.1)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    s = ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.01)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, factor=0.5, patience=1, cooldown=1, min_lr=0.01)
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]:
        s.step(metric)
        ts.step(metric)
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
    assert opt.lr < 0.1


def test_make_optimizer_errors():
    model = SequenceModel(3, 2, 4, seed=0)
    assert isinstance(make_optimizer("AdamW", model, 0.1), AdamW)
    with pytest.raises(ValueError, match="make_optimizer: expected name one of"):
        make_optimizer("adagrad", model, 0.1)
    for bad in (-1, 0, float("inf"), float("nan"), True):
        with pytest.raises(ValueError, match=r"Adam: expected lr a finite number > 0, got"):
            Adam(model, lr=bad)
    assert Adam(model, lr=np.float32(0.5)).lr == 0.5  # NumPy scalars are numbers too (an estimator's learning_rate)
    with pytest.raises(TypeError, match="an lstmkit Module"):
        Adam({"w": np.zeros(2)})
