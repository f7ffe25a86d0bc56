"""Optimizers step for step against torch.optim; clipping against clip_grad_norm_ and
clip_grad_value_; schedules; torch's zero_grad(set_to_none=False); one optimizer over several modules."""

import math

import numpy as np
import pytest

from lstmkit.models import SequenceModel
from lstmkit.optim import (
    SGD, Adam, AdamW, CosineAnnealingLR, ReduceLROnPlateau, RMSprop, StepLR, clip_grad_norm, clip_grad_value,
    make_optimizer, make_schedule,
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
    for bad in (-1, 0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match=rf"^Adam: expected lr a finite number > 0, got {bad!r}\.$"):
            Adam(model, lr=bad)
    for bad in (True, "0.1", None):  # not a number: a bool is no learning rate (torch.optim.Adam takes lr=True and steps by it)
        with pytest.raises(TypeError, match=rf"^Adam: expected lr a finite number > 0, got {bad!r}\.$"):
            Adam(model, lr=bad)
    assert Adam(model, lr=np.float32(0.5)).lr == 0.5  # NumPy scalars are numbers too (an estimator's learning_rate)
    with pytest.raises(TypeError, match="an lstmkit Module"):
        Adam({"w": np.zeros(2)})


# -- hyper-parameters out of range, and state that cannot be an optimizer's --------------------
# torch.optim refuses each of these in its constructor ("Invalid beta parameter at index 0", ...),
# so the cases are checked against torch's own refusal as well as ours.
BAD_HYPER = [
    (Adam, dict(betas=(1.5, 0.9)), "Adam: expected betas[0] a finite number in [0, 1), got 1.5"),
    (Adam, dict(betas=(0.9, 1.0)), "Adam: expected betas[1] a finite number in [0, 1), got 1.0"),
    (Adam, dict(eps=-1.0), "Adam: expected eps a finite number >= 0, got -1.0"),
    (Adam, dict(weight_decay=-1.0), "Adam: expected weight_decay a finite number >= 0, got -1.0"),
    (AdamW, dict(betas=(-0.1, 0.9)), "AdamW: expected betas[0] a finite number in [0, 1), got -0.1"),
    (SGD, dict(momentum=-1.0), "SGD: expected momentum a finite number >= 0, got -1.0"),
    (SGD, dict(weight_decay=-0.5), "SGD: expected weight_decay a finite number >= 0, got -0.5"),
    (RMSprop, dict(alpha=-0.5), "RMSprop: expected alpha a finite number in [0, 1], got -0.5"),
    (RMSprop, dict(momentum=-1.0), "RMSprop: expected momentum a finite number >= 0, got -1.0"),
    (RMSprop, dict(eps=-1e-8), "RMSprop: expected eps a finite number >= 0, got -1e-08"),
]
TORCH_OF = {Adam: torch.optim.Adam, AdamW: torch.optim.AdamW, SGD: torch.optim.SGD, RMSprop: torch.optim.RMSprop}


@pytest.mark.parametrize("cls,kw,message", BAD_HYPER)
def test_optimizer_hyper_parameters_out_of_range_are_refused_as_torch_refuses_them(cls, kw, message):
    model = SequenceModel(3, 2, 4, seed=0)
    with pytest.raises(ValueError):  # torch refuses it too
        TORCH_OF[cls]([torch.zeros(1, requires_grad=True)], lr=0.1, **kw)
    with pytest.raises(ValueError) as err:
        cls(model, lr=0.1, **kw)
    assert str(err.value) == message + "."


def test_optimizer_flags_and_pairs_must_be_what_they_say():
    model = SequenceModel(3, 2, 4, seed=0)
    with pytest.raises(TypeError, match=r"SGD: expected nesterov True or False, got 'yes'"):
        SGD(model, lr=0.1, momentum=0.9, nesterov="yes")
    for cls, flag in ((Adam, "amsgrad"), (RMSprop, "centered")):
        with pytest.raises(TypeError, match=rf"^{cls.__name__}: expected {flag} True or False, got 1\.$"):
            cls(model, **{flag: 1})
    with pytest.raises(TypeError, match=r"Adam: expected betas a pair \(beta1, beta2\), got 0.9"):
        Adam(model, betas=0.9)
    with pytest.raises(TypeError, match=r"RMSprop: expected eps a finite number >= 0, got 'small'"):
        RMSprop(model, eps="small")


def test_make_optimizer_and_make_schedule_name_an_unknown_option():
    model = SequenceModel(3, 2, 4, seed=0)
    with pytest.raises(TypeError, match=r"make_optimizer: expected Adam option 'foo' one of \['betas', 'eps', 'weight_decay', 'amsgrad'\], got 'foo'"):
        make_optimizer("adam", model, 0.1, foo=1)
    opt = make_optimizer("sgd", model, 0.1)
    with pytest.raises(TypeError, match=r"make_schedule: expected StepLR option 'steps' one of \['step_size', 'gamma'\]"):
        make_schedule("step", opt, steps=3)
    with pytest.raises(ValueError, match=r"make_schedule: expected name one of \['step', 'cosine', 'plateau'\], got 'linear'"):
        make_schedule("linear", opt)
    assert isinstance(make_schedule("cosine", opt, T_max=3), CosineAnnealingLR)


def test_schedules_repr_their_options_and_the_epochs_stepped():
    # it was <lstmkit.optim.StepLR object at 0x...> (helper-196 #14); the options as the constructor was given them
    opt = SGD(SequenceModel(3, 2, 4, seed=0), lr=0.1)
    s = StepLR(opt, step_size=2, gamma=0.5)
    s.step()
    assert repr(s) == "StepLR(step_size=2, gamma=0.5, epoch=1)"
    assert repr(CosineAnnealingLR(opt, T_max=30)) == "CosineAnnealingLR(T_max=30, eta_min=0.0, epoch=0)"
    assert repr(ReduceLROnPlateau(opt, mode="max", patience=3)) == (
        "ReduceLROnPlateau(mode='max', factor=0.1, patience=3, threshold=0.0001, threshold_mode='rel', cooldown=0, min_lr=0.0, epoch=0)")


def test_make_schedule_takes_names_in_any_case_as_make_optimizer():
    """Both builders match a name whatever its case ('Step' was refused while 'Adam' was taken);
    an unknown name is refused in the user's spelling, listing the names (check_choice's words)."""
    model = SequenceModel(3, 2, 4, seed=0)
    assert isinstance(make_optimizer("ADAM", model, 0.1), Adam)
    opt = make_optimizer("Sgd", model, 0.1)
    assert isinstance(make_schedule("Step", opt, step_size=2), StepLR)
    assert isinstance(make_schedule("COSINE", opt, T_max=3), CosineAnnealingLR)
    assert isinstance(make_schedule("Plateau", opt), ReduceLROnPlateau)
    with pytest.raises(ValueError, match=r"^make_schedule: expected name one of \['step', 'cosine', 'plateau'\], got 'Linear'\.$"):
        make_schedule("Linear", opt)
    with pytest.raises(ValueError, match=r"^make_optimizer: expected name one of \['sgd', 'adam', 'adamw', 'rmsprop'\], got 'Adagrad'\.$"):
        make_optimizer("Adagrad", model, 0.1)
    with pytest.raises(ValueError, match=r"^make_optimizer: expected name one of .*, got None\.$"):
        make_optimizer(None, model, 0.1)


@pytest.mark.parametrize(
    "cls,kw,message",
    [
        (StepLR, dict(step_size=0), "StepLR: expected step_size >= 1, got 0"),  # it divided by zero at the first step
        (StepLR, dict(step_size=2, gamma=-1.0), "StepLR: expected gamma a finite number > 0, got -1.0"),
        (CosineAnnealingLR, dict(T_max=5, eta_min=-0.1), "CosineAnnealingLR: expected eta_min a finite number >= 0, got -0.1"),
        (ReduceLROnPlateau, dict(factor=1.0), "ReduceLROnPlateau: expected factor a finite number in (0, 1), got 1.0"),
        (ReduceLROnPlateau, dict(patience=-1), "ReduceLROnPlateau: expected patience >= 0, got -1"),
        (ReduceLROnPlateau, dict(cooldown=-2), "ReduceLROnPlateau: expected cooldown >= 0, got -2"),
    ],
)
def test_schedule_options_out_of_range_are_refused(cls, kw, message):
    opt = SGD(SequenceModel(3, 2, 4, seed=0), lr=0.1)
    with pytest.raises(ValueError) as err:
        cls(opt, **kw)
    assert str(err.value) == message + "."


def _adam_after_steps(n=2):
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    opt = Adam(model, lr=0.01)
    for _ in range(n):
        for g in model.grads.values():
            g[...] = 0.5
        opt.step()
    return model, opt


def _damaged(sd, scalars=None, arrays=None, drop=()):
    out = {"scalars": {**sd["scalars"], **(scalars or {})}, "arrays": {**sd["arrays"], **(arrays or {})}}
    for k in drop:
        del out["arrays"][k]
    return out


def test_optimizer_load_state_dict_refuses_damaged_state_and_changes_nothing():
    _, opt = _adam_after_steps()
    sd = opt.state_dict()
    key = next(k for k in sd["arrays"] if k.startswith("exp_avg_sq/"))
    shape = sd["arrays"][key].shape
    cases = [
        (_damaged(sd, scalars={"beta1": 7}), ValueError, "expected beta1 a finite number in [0, 1), got 7"),
        (_damaged(sd, scalars={"t": -1}), ValueError, "expected scalars['t'] an integer >= 0 (steps taken), got -1"),
        (_damaged(sd, scalars={"lr": "x"}), TypeError, "expected scalars['lr'] a finite number >= 0, got 'x'"),
        (_damaged(sd, arrays={key: np.full(shape, np.nan)}), ValueError, f"expected {key} finite values, got nan or inf"),
        (_damaged(sd, arrays={key: -np.ones(shape)}), ValueError, f"expected {key} values >= 0 (a mean of squares), got min -1.0"),
        (_damaged(sd, arrays={key: np.ones(shape, dtype=np.int64)}), TypeError, f"expected {key} a float array, got dtype int64"),
        (_damaged(sd, drop=[key]), ValueError, f"expected state array '{key}' present after 2 steps, got nothing"),
        ({"scalars": {"type": "Adam", "lr": 9.0, "initial_lr": 9.0, "t": 99}, "arrays": {}}, ValueError,
         "expected scalars['beta1'] present, got nothing"),  # it set lr and t, then failed on a KeyError
    ]  # fmt: skip
    before = (opt.lr, opt.t, opt.beta1, {k: v.copy() for k, v in opt.state_dict()["arrays"].items()})
    for bad, exc, message in cases:
        with pytest.raises(exc) as err:
            opt.load_state_dict(bad)
        assert str(err.value) == f"Adam.load_state_dict: {message}."
        assert (opt.lr, opt.t, opt.beta1) == before[:3]
        after = opt.state_dict()["arrays"]
        assert after.keys() == before[3].keys() and all(np.array_equal(after[k], v) for k, v in before[3].items())
    opt.load_state_dict(sd)  # the good state still loads


def test_optimizer_state_before_the_first_step_has_no_slots_and_loads():
    model = SequenceModel(3, 2, 4, seed=0)
    fresh = Adam(model, lr=0.01).state_dict()
    assert fresh["arrays"] == {}
    Adam(model, lr=0.01).load_state_dict(fresh)
    sgd = SGD(model, lr=0.1)  # without momentum SGD keeps no slots, even after steps
    sgd.step()
    SGD(model, lr=0.1).load_state_dict(sgd.state_dict())


def test_schedule_load_state_dict_checks_every_field_first():
    opt = SGD(SequenceModel(3, 2, 4, seed=0), lr=0.1)
    s = StepLR(opt, step_size=2)
    s.step()
    for bad, message in [
        ({"epoch": 77, "bogus": 1}, "expected state keys ['base_lr', 'epoch', 'gamma', 'step_size'], got 'bogus'"),
        ({"epoch": -5}, "expected epoch >= 0, got -5"),
        ({"epoch": 3, "step_size": 0}, "expected step_size >= 1, got 0"),
    ]:
        with pytest.raises(ValueError) as err:
            s.load_state_dict(bad)
        assert str(err.value) == f"StepLR.load_state_dict: {message}."
        assert s.state_dict() == {"base_lr": 0.1, "epoch": 1, "step_size": 2, "gamma": 0.1}
    p = ReduceLROnPlateau(opt)
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau.load_state_dict: expected best a finite number, got 'x'"):
        p.load_state_dict({"best": "x"})
    p.load_state_dict({"best": 0.5, "bad_epochs": 2})
    assert (p.best, p.bad_epochs) == (0.5, 2)


# -- torch APIs a user reaches for: amsgrad, norm_type, clip_grad_value, threshold_mode, ----------
# -- zero_grad(set_to_none=), one optimizer over several modules ---------------------------------
def _shrinking_grads(rng, shapes, steps):
    """Gradients whose scale halves every step: v = β₂ v + (1-β₂) g² then falls below its
    largest value so far, so that amsgrad's max(v̂, v) differs from v (it does not with a steady scale)."""
    return [{k: rng.normal(size=s) * 0.5**t for k, s in shapes.items()} for t in range(steps)]


@pytest.mark.parametrize(
    "ours,theirs,kw",
    [
        (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.9, 0.6))),
        (Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.5), weight_decay=0.1)),
        (AdamW, torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.6))),
        (AdamW, torch.optim.AdamW, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.3)),
    ],
)
def test_amsgrad_matches_torch_step_by_step(ours, theirs, kw):
    rng = np.random.default_rng(3)
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in model.parameters().items()}
    plain = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in model.parameters().items()}
    opt = ours(model, amsgrad=True, **kw)
    topt, tplain = theirs(list(tparams.values()), amsgrad=True, **kw), theirs(list(plain.values()), **kw)
    for grads in _shrinking_grads(rng, {k: v.shape for k, v in model.parameters().items()}, 6):
        for k, g in grads.items():
            model.grads[k][...] = g
            tparams[k].grad, plain[k].grad = torch.from_numpy(g.copy()), torch.from_numpy(g.copy())
        opt.step()
        topt.step()
        tplain.step()
        for k, v in model.parameters().items():  # every step, every parameter
            np.testing.assert_allclose(v, tparams[k].detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=k)
        for k, v in opt.state["max_exp_avg_sq"].items():
            np.testing.assert_allclose(v, topt.state[tparams[k]]["max_exp_avg_sq"].numpy(), rtol=1e-12, atol=1e-300, err_msg=k)
    # amsgrad bites: without it torch ends elsewhere (far beyond round-off)
    gap = max(float(np.max(np.abs(v - plain[k].detach().numpy()))) for k, v in model.parameters().items())
    assert gap > 1e-6


def test_amsgrad_state_round_trips_and_old_states_load_as_plain_adam():
    rng = np.random.default_rng(4)
    a, b = SequenceModel(3, 2, 4, dtype=np.float64, seed=0), SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    grads = _shrinking_grads(rng, {k: v.shape for k, v in a.parameters().items()}, 5)
    oa = Adam(a, lr=0.01, betas=(0.9, 0.6), amsgrad=True)
    for g in grads[:3]:
        for k in g:
            a.grads[k][...] = g[k]
        oa.step()
    sd = oa.state_dict()
    assert sd["scalars"]["amsgrad"] is True and f"max_exp_avg_sq/{next(iter(a.parameters()))}" in sd["arrays"]
    assert repr(oa).endswith("amsgrad=True)")
    b.load_state_dict(a.state_dict())
    ob = Adam(b, lr=0.01, betas=(0.9, 0.6))  # without amsgrad: the state brings it, as torch's load_state_dict does
    ob.load_state_dict(sd)
    assert ob.amsgrad is True and ob.hyper == oa.hyper
    for g in grads[3:]:
        for m, o in ((a, oa), (b, ob)):
            for k in g:
                m.grads[k][...] = g[k]
            o.step()
    for k in a.parameters():
        assert np.array_equal(a.parameters()[k], b.parameters()[k]), k
    # a plain Adam's state names no amsgrad (as states written before it): it loads as plain Adam
    plain_sd = Adam(SequenceModel(3, 2, 4, seed=0)).state_dict()
    assert "amsgrad" not in plain_sd["scalars"] and Adam(a).hyper == ("beta1", "beta2", "eps", "weight_decay")
    ob.load_state_dict(plain_sd)
    assert ob.amsgrad is False and "amsgrad" not in ob.state_dict()["scalars"]
    key = next(k for k in sd["arrays"] if k.startswith("max_exp_avg_sq/"))
    with pytest.raises(ValueError, match=rf"^Adam.load_state_dict: expected state array '{key}' present after 3 steps, got nothing\.$"):
        ob.load_state_dict(_damaged(sd, drop=[key]))
    with pytest.raises(ValueError, match=r"expected max_exp_avg_sq/\S+ values >= 0 \(a mean of squares\)"):
        ob.load_state_dict(_damaged(sd, arrays={key: -np.ones_like(sd["arrays"][key])}))
    with pytest.raises(TypeError, match=r"^Adam.load_state_dict: expected amsgrad True or False, got 1\.$"):
        ob.load_state_dict(_damaged(sd, scalars={"amsgrad": 1}))
    with pytest.raises(TypeError, match=r"^AdamW: expected amsgrad True or False, got 'yes'\.$"):
        AdamW(a, amsgrad="yes")
    assert isinstance(make_optimizer("adam", a, 0.1, amsgrad=True), Adam)


def _checkpoint_trainer(optimizer_options=None, schedule_options=None):
    from lstmkit.training import Trainer

    model = SequenceModel(3, 2, 5, dropout=0.0, seed=11)
    return Trainer(model, optimizer="adam", lr=0.05, batch_size=7, seed=5, optimizer_options=optimizer_options,
                   schedule="plateau", schedule_options={"patience": 0, "factor": 0.7, **(schedule_options or {})})


def _checkpoint_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 6, 3)).astype(np.float32)
    return X, (X[..., 0].cumsum(axis=1) > 0).astype(np.int64)


def _resumes_bit_for_bit(tmp_path, opts):
    """A run with ``opts`` (Trainer options) resumed from its checkpoint ends with the weights of
    an uninterrupted one; returns the checkpoint's path and meta."""
    from lstmkit.checkpoint import read_checkpoint

    X, Y = _checkpoint_data()
    straight = _checkpoint_trainer(**opts)
    straight.fit(X, Y, epochs=4, validation_split=0.2)
    path = tmp_path / "c.npz"
    _checkpoint_trainer(**opts).fit(X, Y, epochs=2, validation_split=0.2, checkpoint=path)
    meta = read_checkpoint(path)["meta"]
    resumed = _checkpoint_trainer(**opts)
    resumed.fit(X, Y, epochs=4, validation_split=0.2, checkpoint=path, resume=True)
    for k, v in straight.model.parameters().items():
        assert np.array_equal(v, resumed.model.parameters()[k]), k
    return path, meta


def _refused_resume(path, opts, shown):
    X, Y = _checkpoint_data()
    with pytest.raises(ValueError) as err:
        _checkpoint_trainer(**opts).fit(X, Y, epochs=5, validation_split=0.2, checkpoint=path, resume=True)
    assert str(err.value) == (f"load_checkpoint: {path} was written with {shown}. Resume with the same settings (only epochs may grow), "
                              f"or start afresh: delete {path} or give another checkpoint path.")


def test_amsgrad_resumes_bit_for_bit_is_a_setting_and_is_not_written_when_off(tmp_path):
    path, meta = _resumes_bit_for_bit(tmp_path, dict(optimizer_options={"amsgrad": True}))
    assert meta["optimizer"]["amsgrad"] is True and meta["settings"]["optimizer amsgrad"] is True
    assert any(k.startswith("optim/max_exp_avg_sq/") for k in np.load(path).files)
    _refused_resume(path, {}, "optimizer amsgrad True, got nothing")
    # off (the default), it is not written: the checkpoint reads as one written before amsgrad existed
    path, meta = _resumes_bit_for_bit(tmp_path, {})
    assert "amsgrad" not in meta["optimizer"] and not any("amsgrad" in k for k in meta["settings"])
    _refused_resume(path, dict(optimizer_options={"amsgrad": True}), "optimizer amsgrad nothing, got True")


NORM_TYPES = [2, 2.0, 1, math.inf, "inf", 3, 0.5]


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", [0.7, 1e6])  # clipped, and under the limit (unchanged)
def test_clip_grad_norm_with_norm_type_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(5)
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    for g in model.grads.values():
        g[...] = rng.normal(size=g.shape)
    tg = [torch.tensor(p.copy(), requires_grad=True) for p in model.parameters().values()]
    for t, g in zip(tg, model.grads.values()):
        t.grad = torch.from_numpy(g.copy())
    norm = clip_grad_norm(model, max_norm, norm_type=norm_type)
    tnorm = torch.nn.utils.clip_grad_norm_(tg, max_norm, norm_type=norm_type)
    assert norm == pytest.approx(float(tnorm), rel=1e-13)  # the norm before clipping
    for t, g in zip(tg, model.grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-13, atol=1e-300)
    p = math.inf if norm_type == "inf" else norm_type
    flat = np.concatenate([g.ravel() for g in model.grads.values()])
    after = np.max(np.abs(flat)) if p == math.inf else np.sum(np.abs(flat) ** p) ** (1 / p)
    assert after <= min(max_norm, norm) + 1e-9


@pytest.mark.parametrize("norm_type", [2, 1, math.inf, 3])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_nan_or_inf_gradient_is_scaled_by_the_nonfinite_norm_as_torch_does(norm_type, bad, dtype):
    # NaN norm: every gradient NaN; inf norm: every gradient 0 and the inf entry NaN (inf * 0). They were left as they were.
    grads = [np.array([0.5, -2.0, 1.5], dtype=dtype), np.array([[3.0, bad], [1.0, 0.25]], dtype=dtype)]  # the bad one second
    tp = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
    for p, g in zip(tp, grads):
        p.grad = torch.from_numpy(g.copy())
    norm = clip_grad_norm(grads, 1.0, norm_type=norm_type)
    tnorm = float(torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type=norm_type))
    assert (math.isnan(norm) and math.isnan(tnorm)) if math.isnan(bad) else norm == tnorm == math.inf
    for g, p in zip(grads, tp):
        np.testing.assert_array_equal(g, p.grad.numpy())  # NaN where torch has NaN


def test_error_if_nonfinite_refuses_a_nan_or_inf_norm_as_torch_does_and_changes_nothing():
    for bad in (math.nan, math.inf):
        g = np.array([1.0, bad, 2.0])
        with pytest.raises(RuntimeError, match=r"is non-finite, so it cannot be clipped"):  # torch's
            p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
            p.grad = torch.from_numpy(g.copy())
            torch.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        with pytest.raises(RuntimeError, match=rf"^clip_grad_norm: expected grads a finite total norm \(of order 2\.0\), got {bad}\. A "
                                               r"gradient is NaN or inf, so it cannot be clipped: .* or pass error_if_nonfinite=False "
                                               r"to scale the gradients by it anyway, as torch's default does \(NaN gradients then\)\.$"):  # fmt: skip
            clip_grad_norm({"w": g}, 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(g, [1.0, bad, 2.0])
    g = np.array([3.0, 4.0])
    assert clip_grad_norm(g, 1.0, error_if_nonfinite=True) == 5.0 and g == pytest.approx([0.6, 0.8])  # finite: clipped as before
    with pytest.raises(TypeError, match=r"^clip_grad_norm: expected error_if_nonfinite True or False, got 'yes'"):
        clip_grad_norm(g, 1.0, error_if_nonfinite="yes")


def test_clip_grad_norm_and_value_take_several_modules_dicts_and_arrays():
    rng = np.random.default_rng(6)
    from lstmkit.layers import Linear
    from lstmkit.recurrent import LSTM

    lstm, head = LSTM(3, 4, dtype=np.float64, seed=0), Linear(4, 2, dtype=np.float64, seed=1)
    for m in (lstm, head):
        for g in m.grads.values():
            g[...] = rng.normal(size=g.shape)
    tg = [torch.from_numpy(g.copy()) for m in (lstm, head) for g in m.grads.values()]
    tp = [torch.zeros_like(t, requires_grad=True) for t in tg]
    for p, g in zip(tp, tg):
        p.grad = g
    norm = clip_grad_norm([lstm, head.grads], 0.5, norm_type=1)  # a module and a dict
    assert norm == pytest.approx(float(torch.nn.utils.clip_grad_norm_(tp, 0.5, norm_type=1)), rel=1e-13)
    ours = [g for m in (lstm, head) for g in m.grads.values()]
    for g, p in zip(ours, tp):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-13)
    for g in ours:
        g *= 40.0
    for p in tp:
        p.grad *= 40.0
    assert clip_grad_value(list(lstm.grads.values()) + [head], 0.3) is None  # arrays and a module
    torch.nn.utils.clip_grad_value_(tp, 0.3)
    for g, p in zip(ours, tp):
        assert np.array_equal(g, p.grad.numpy())
    assert 0 < np.max(np.abs(ours[0])) <= 0.3 and np.any(np.abs(ours[0]) == 0.3)
    assert clip_grad_norm([], 1.0) == 0.0  # no gradients: norm 0, as torch's


@pytest.mark.parametrize(
    "call,exc,message",
    [
        (lambda m: clip_grad_norm(m, 1.0, norm_type=0), ValueError, "clip_grad_norm: expected norm_type a number > 0 or inf (math.inf or 'inf'), got 0."),
        (lambda m: clip_grad_norm(m, 1.0, norm_type=-2.0), ValueError, "clip_grad_norm: expected norm_type a number > 0 or inf (math.inf or 'inf'), got -2.0."),
        (lambda m: clip_grad_norm(m, 1.0, norm_type="fro"), TypeError, "clip_grad_norm: expected norm_type a number > 0 or inf (math.inf or 'inf'), got 'fro'."),
        (lambda m: clip_grad_norm(m, 1.0, norm_type=True), TypeError, "clip_grad_norm: expected norm_type a number > 0 or inf (math.inf or 'inf'), got True."),
        (lambda m: clip_grad_norm(m, 0.0), ValueError, "clip_grad_norm: expected max_norm a finite number > 0, got 0.0."),
        (lambda m: clip_grad_norm(m, "1"), TypeError, "clip_grad_norm: expected max_norm a finite number > 0, got '1'."),
        (lambda m: clip_grad_value(m, -1.0), ValueError, "clip_grad_value: expected clip_value a finite number > 0, got -1.0."),
        (lambda m: clip_grad_value(m, None), TypeError, "clip_grad_value: expected clip_value a finite number > 0, got None."),
        (lambda m: clip_grad_value({"w": [1.0, 2.0]}, 1.0), TypeError, "clip_grad_value: expected grads['w'] a float NumPy array (clipped in place), got list."),
        (lambda m: clip_grad_norm([m, np.zeros(3, dtype=int)], 1.0), TypeError, "clip_grad_norm: expected grads[1] a float NumPy array (clipped in place), got dtype int64."),
        (lambda m: clip_grad_norm(m.parameters().values(), 1.0), TypeError,
         "clip_grad_norm: expected grads a Module, a dict name -> gradient array, an array, or a list of those, got dict_values. "
         "Pass the module (clip_grad_norm(model, ...)) or its grads (model.grads), not its parameters."),
        (lambda m: clip_grad_value(iter(m.grads.values()), 1.0), TypeError,
         "clip_grad_value: expected grads a Module, a dict name -> gradient array, an array, or a list of those, got dict_valueiterator. "
         "Pass the module (clip_grad_value(model, ...)) or its grads (model.grads), not its parameters."),
        (lambda m: clip_grad_value(m.grads, "1"), TypeError, "clip_grad_value: expected clip_value a finite number > 0, got '1'."),
        (lambda m: clip_grad_norm([m, m.rnn], 1.0), ValueError,
         "clip_grad_norm: expected grads items that share none of the gradient arrays, got grads[0] and grads[1] sharing 'rnn.weight_ih_l0' "
         "and 'weight_ih_l0'. Pass each module once, and not both a model and one of its parts (a SequenceModel holds its rnn's and head's)."),
    ],
)
def test_clipping_refuses_bad_arguments_and_changes_nothing(call, exc, message):
    model = SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    for g in model.grads.values():
        g[...] = 5.0
    with pytest.raises(exc) as err:
        call(model)
    assert str(err.value) == message
    assert all(np.all(g == 5.0) for g in model.grads.values())


PLATEAU_METRICS = [10.0, 9.95, 9.9, 9.5, 9.45, 9.44, 9.0, 9.05, 8.99, 8.995, 8.5, 8.49, 8.48, 8.47, 8.46, 8.45]


@pytest.mark.parametrize("mode", ["min", "max"])
def test_reduce_on_plateau_threshold_mode_matches_torch(mode):
    metrics = PLATEAU_METRICS if mode == "min" else [20.0 - m for m in PLATEAU_METRICS]
    lrs = {}
    for tm in ("rel", "abs"):
        opt = SGD(SequenceModel(3, 2, 4, seed=0), lr=0.1)
        topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        kw = dict(mode=mode, factor=0.5, patience=1, threshold=0.08, threshold_mode=tm)
        s, ts = ReduceLROnPlateau(opt, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
        lrs[tm] = []
        for metric in metrics:
            s.step(metric)
            ts.step(metric)
            assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12), (tm, metric)
            lrs[tm].append(opt.lr)
    assert lrs["rel"] != lrs["abs"]  # the metrics tell the two modes apart


def test_threshold_mode_is_checked_and_its_state_round_trips():
    opt = SGD(SequenceModel(3, 2, 4, seed=0), lr=0.1)
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau: expected threshold_mode one of \['rel', 'abs'\], got 'ABS'\. Did you mean 'abs'\?$"):
        ReduceLROnPlateau(opt, threshold_mode="ABS")
    # mode beside it, by the same check (it was refused by hand: "expected mode 'min' or 'max', got 'Min'.")
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau: expected mode one of \['min', 'max'\], got 'Min'\. Did you mean 'min'\?$"):
        ReduceLROnPlateau(opt, mode="Min")
    with pytest.raises(ValueError, match=r"^make_schedule: expected name"):
        make_schedule("plateu", opt)
    s = make_schedule("plateau", opt, threshold_mode="abs", threshold=0.5)
    assert s.state_dict()["threshold_mode"] == "abs"
    assert "threshold_mode" not in ReduceLROnPlateau(opt).state_dict()  # the default is left out, as before it existed
    for m in (3.0, 2.9, 2.0, 1.9):
        s.step(m)
    other = ReduceLROnPlateau(opt)
    other.load_state_dict(s.state_dict())
    assert other.state_dict() == s.state_dict() and other.threshold_mode == "abs"
    other.load_state_dict(ReduceLROnPlateau(opt).state_dict())  # a state without it: 'rel'
    assert other.threshold_mode == "rel"
    with pytest.raises(ValueError, match=r"^ReduceLROnPlateau.load_state_dict: expected threshold_mode one of \['rel', 'abs'\], got 'x'\.$"):
        other.load_state_dict({**s.state_dict(), "threshold_mode": "x"})
    assert other.threshold_mode == "rel"


def test_threshold_mode_resumes_bit_for_bit_is_a_setting_and_is_not_written_when_rel(tmp_path):
    opts = dict(schedule_options={"threshold_mode": "abs", "threshold": 0.01})
    path, meta = _resumes_bit_for_bit(tmp_path, opts)
    assert meta["schedule"]["threshold_mode"] == "abs" and meta["settings"]["schedule threshold_mode"] == "abs"
    _refused_resume(path, dict(schedule_options={"threshold": 0.01}), "schedule threshold_mode 'abs', got nothing")
    # 'rel' (the default) is not written: the checkpoint reads as one written before threshold_mode existed
    path, meta = _resumes_bit_for_bit(tmp_path, {})
    assert "threshold_mode" not in meta["schedule"] and not any("threshold_mode" in k for k in meta["settings"])


@pytest.mark.parametrize("ours,kw,theirs", [
    (SGD, dict(lr=0.1, momentum=0.9), torch.optim.SGD),
    (Adam, dict(lr=0.01, amsgrad=True), torch.optim.Adam),
    (AdamW, dict(lr=0.01), torch.optim.AdamW),
    (RMSprop, dict(lr=0.01, momentum=0.5, centered=True), torch.optim.RMSprop),
])  # fmt: skip
def test_an_optimizer_goes_on_after_its_model_is_cast_with_its_state_cast_too(ours, kw, theirs):
    # step in float32, model.double() (new arrays), step again: the update reaches the model's new arrays, and the
    # state follows the cast, as a load of it does (it stayed float32, so going on differed from resuming a checkpoint)
    from lstmkit.recurrent import LSTM

    rng = np.random.default_rng(8)
    model = LSTM(2, 3, dtype=np.float32, seed=0)
    grads = [{k: rng.normal(size=g.shape).astype(dt) for k, g in model.grads.items()} for dt in (np.float32, np.float64)]
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in model.parameters().items()}
    opt, topt = ours(model, **kw), theirs(list(tp.values()), **kw)
    for k in tp:
        model.grads[k][...], tp[k].grad = grads[0][k], torch.from_numpy(grads[0][k].copy())
    opt.step(), topt.step()
    model.double()
    with torch.no_grad():
        for t in tp.values():
            t.data = t.data.double()
    topt.load_state_dict(topt.state_dict())  # torch casts the state to the parameters' dtype on a load (its Adam fails without)
    resumed = ours(LSTM(2, 3, dtype=np.float64, seed=0), **kw)
    resumed.module.load_state_dict(model.state_dict())
    resumed.load_state_dict(opt.state_dict())
    for o in (opt, resumed):
        for k in tp:
            o.module.grads[k][...] = grads[1][k]
        o.step()
    for k in tp:
        tp[k].grad = torch.from_numpy(grads[1][k].copy())
    topt.step()
    assert all(v.dtype == np.float64 for d in opt.state.values() for v in d.values())
    for k, p in model.parameters().items():
        assert p.dtype == np.float64 and np.array_equal(p, resumed.module.parameters()[k])  # going on = resuming, bit for bit
        np.testing.assert_allclose(p, tp[k].detach().numpy(), rtol=1e-6, atol=1e-7)  # torch's, after a float32 step


def test_zero_grad_zeroes_in_place_and_refuses_set_to_none_true():
    # torch: zero_grad(set_to_none=False) writes zeros into the existing .grad tensors
    lin = torch.nn.Linear(3, 2)
    lin(torch.ones(1, 3)).sum().backward()
    tgrad = lin.weight.grad
    torch.optim.SGD(lin.parameters(), lr=0.1).zero_grad(set_to_none=False)
    assert lin.weight.grad is tgrad and not tgrad.any()
    model = SequenceModel(3, 2, 4, seed=0)
    arrays = dict(model.grads)
    for g in arrays.values():
        g[...] = 1.0
    opt = SGD(model, lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert all(model.grads[k] is g and not g.any() for k, g in arrays.items())
    for g in arrays.values():
        g[...] = 1.0
    with pytest.raises(ValueError) as err:
        opt.zero_grad(set_to_none=True)
    assert str(err.value) == (
        "SGD.zero_grad: expected set_to_none False, got True. lstmkit's gradients are arrays that backward adds into, "
        "never None: zero_grad() zeroes them in place (torch's set_to_none=False); call it without set_to_none."
    )
    with pytest.raises(TypeError, match=r"^Adam.zero_grad: expected set_to_none True or False, got 0\.$"):
        Adam(model).zero_grad(set_to_none=0)
    assert all(np.all(g == 1.0) for g in arrays.values())  # refused: nothing zeroed


def _two_modules(dtype=np.float64):
    from lstmkit.layers import Linear
    from lstmkit.recurrent import LSTM

    return LSTM(3, 4, dtype=dtype, seed=0), Linear(4, 2, dtype=dtype, seed=1)


@pytest.mark.parametrize("ours,kw,theirs,_", CASES + [(Adam, dict(lr=0.01, amsgrad=True), torch.optim.Adam, {})])
def test_one_optimizer_over_several_modules_matches_torch(ours, kw, theirs, _):
    rng = np.random.default_rng(7)
    lstm, head = _two_modules()
    params = [p for m in (lstm, head) for p in m.parameters().values()]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = ours([lstm, head], **kw)
    topt = theirs(tparams, **kw)
    for _step in range(5):
        grads = [g for m in (lstm, head) for g in m.grads.values()]
        for g, t in zip(grads, tparams):
            g[...] = rng.normal(size=g.shape)
            t.grad = torch.from_numpy(g.copy())
        opt.step()
        topt.step()
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert opt.modules == (lstm, head)


def test_several_modules_state_round_trips_through_a_file_and_zero_grad_reaches_all(tmp_path):
    from lstmkit import io as lio

    rng = np.random.default_rng(8)
    (l1, h1), (l2, h2) = _two_modules(), _two_modules()
    o1, o2 = RMSprop((l1, h1), lr=0.01, momentum=0.9, centered=True), RMSprop([l2, h2], lr=0.5)
    grads = [[rng.normal(size=g.shape) for m in (l1, h1) for g in m.grads.values()] for _ in range(4)]

    def step(mods, opt, gs):
        opt.zero_grad()
        assert not any(g.any() for m in mods for g in m.grads.values())
        for g, new in zip([g for m in mods for g in m.grads.values()], gs):
            g += new
        opt.step()

    for gs in grads[:2]:
        step((l1, h1), o1, gs)
    sd = o1.state_dict()
    assert set(sd["arrays"]) >= {"square_avg/0.weight_ih_l0", "square_avg/1.weight", "grad_avg/1.bias", "momentum_buffer/0.bias_hh_l0"}
    lio.save_arrays(tmp_path / "o.npz", sd["arrays"], sd["scalars"])
    arrays, scalars = lio.load_arrays(tmp_path / "o.npz")
    for m, src in ((l2, l1), (h2, h1)):
        m.load_state_dict(src.state_dict())
    o2.load_state_dict({"scalars": scalars, "arrays": arrays})
    for gs in grads[2:]:
        step((l1, h1), o1, gs)
        step((l2, h2), o2, gs)
    for a, b in ((l1, l2), (h1, h2)):
        for k in a.parameters():
            assert np.array_equal(a.parameters()[k], b.parameters()[k]), k
    # a one-module state does not name the parameters of a list: refused, naming the key and the names
    one = RMSprop(l1, lr=0.1).state_dict()
    one["arrays"] = {"square_avg/weight_ih_l0": np.ones((16, 3))}
    with pytest.raises(ValueError) as err:
        RMSprop([l2, h2]).load_state_dict(one)
    assert str(err.value) == (
        "RMSprop.load_state_dict: expected state arrays keys '<slot>/<param>' with slot in ['square_avg', 'grad_avg', 'momentum_buffer'], "
        "got 'square_avg/weight_ih_l0'. This optimizer's parameters are ['0.weight_ih_l0', '0.weight_hh_l0', '0.bias_ih_l0', '0.bias_hh_l0'] and 2 more."
    )


PASS = ("Pass the module itself (SGD(model), not SGD(model.parameters())): the optimizer reads its grads as well as "
        "its parameters; for several modules, a list of them (SGD([encoder, decoder])).")


@pytest.mark.parametrize(
    "arg,exc,message",
    [
        (lambda m: m.parameters(), TypeError, f"SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got a module's parameters (model.parameters()). {PASS}"),
        (lambda m: m.named_parameters(), TypeError, f"SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got dict_itemiterator. {PASS}"),
        (lambda m: m.parameters().values(), TypeError, f"SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got dict_values. {PASS}"),
        (lambda m: (p for p in m.parameters().values()), TypeError, f"SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got generator. {PASS}"),
        (lambda m: [m.rnn.weight_ih_l0, m.rnn.weight_hh_l0], TypeError, f"SGD: expected module[0] an lstmkit Module, got ndarray. {PASS}"),
        (lambda m: "model", TypeError, "SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got str."),
        (lambda m: None, TypeError, "SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got NoneType."),
        (lambda m: [], ValueError, "SGD: expected module an lstmkit Module or a list of them (their parameters and grads), got an empty list."),
        (lambda m: [m.rnn, m.grads], TypeError, f"SGD: expected module[1] an lstmkit Module, got dict. {PASS}"),
        (lambda m: [m, m.rnn], ValueError,
         "SGD: expected module items that share none of the parameters, got module[0] and module[1] sharing 'rnn.weight_ih_l0' and "
         "'weight_ih_l0'. Pass each module once, and not both a model and one of its parts (a SequenceModel holds its rnn's and head's)."),
        (lambda m: (m.head, m.head), ValueError,
         "SGD: expected module items that share none of the parameters, got module[0] and module[1] sharing 'weight' and 'weight'. "
         "Pass each module once, and not both a model and one of its parts (a SequenceModel holds its rnn's and head's)."),
    ],
)
def test_an_optimizer_over_something_else_than_modules_says_what_to_pass(arg, exc, message):
    model = SequenceModel(3, 2, 4, seed=0)
    with pytest.raises(exc) as err:
        SGD(arg(model), lr=0.1)
    assert str(err.value) == message


@pytest.mark.parametrize("clip", [lambda g: clip_grad_norm(g, 1e-3), lambda g: clip_grad_value(g, 1e-3)])
def test_clipping_a_modules_parameters_is_refused_not_done_to_the_weights(clip):
    # torch's habit clip_grad_norm_(model.parameters(), c): lstmkit's parameters() is a dict of arrays, as the
    # gradients are, and the weights themselves were clipped
    from lstmkit import LSTM

    model = LSTM(3, 4, seed=0)
    before = model.state_dict()
    for given in (model.parameters(), [model.parameters()]):
        with pytest.raises(TypeError, match=r"got a module's parameters \(model\.parameters\(\)\)\. Pass the module .* or its gradients \(model\.grads\)"):
            clip(given)
    assert all(np.array_equal(before[k], v) for k, v in model.parameters().items())
    clip(model.grads)  # its gradients, as a dict, are taken
