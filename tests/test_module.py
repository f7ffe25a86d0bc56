"""Module's torch-style API: load_state_dict's keys, flags set after construction, dtype and device."""

from __future__ import annotations

import re

import numpy as np
import pytest

import lstmkit
from lstmkit.module import IncompatibleKeys


def _whole_model_state(prefix="lstm."):
    """A torch model's state_dict as torch.save(model.state_dict()) writes it: {lstm: nn.LSTM(3, 4),
    fc: nn.Linear(4, 2)}, the LSTM's keys under its attribute's name."""
    lstm = lstmkit.LSTM(3, 4, seed=1).state_dict()
    rng = np.random.default_rng(0)
    return {**{prefix + k: v for k, v in lstm.items()}, "fc.weight": rng.normal(size=(2, 4)), "fc.bias": rng.normal(size=2)}, lstm


def test_a_whole_models_state_dict_is_told_to_strip_its_prefix():
    state, lstm = _whole_model_state()
    m = lstmkit.LSTM(3, 4, seed=0)
    before = m.state_dict()
    with pytest.raises(ValueError) as e:
        m.load_state_dict(state)
    assert str(e.value) == (
        "LSTM.load_state_dict: expected state exactly the keys ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'], got "
        "missing ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'] and unexpected ['lstm.weight_ih_l0', "
        "'lstm.weight_hh_l0', 'lstm.bias_ih_l0', 'lstm.bias_hh_l0', 'fc.weight', 'fc.bias']. The keys carry the prefix 'lstm.' "
        "(a whole model's state_dict): strip it, {k.removeprefix('lstm.'): v for k, v in state.items() if k.startswith('lstm.')}, "
        "or read the whole model, its LSTM and read-out, with lstmkit.interop.pytorch.module_from_state_dict(state) (a file: "
        "'lstmkit convert model.pt model.npz').")  # fmt: skip
    for k, v in m.state_dict().items():  # nothing written
        np.testing.assert_array_equal(v, before[k])
    # the expression it gives loads the LSTM's weights
    assert m.load_state_dict({k.removeprefix("lstm."): v for k, v in state.items() if k.startswith("lstm.")}) == ([], [])
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, lstm[k])


def test_the_prefix_is_named_only_when_every_missing_key_is_under_it():
    state, _ = _whole_model_state("module.")  # nn.DataParallel's prefix
    with pytest.raises(ValueError, match=r"The keys carry the prefix 'module.' \(a whole model's state_dict\): strip it"):
        lstmkit.LSTM(3, 4).load_state_dict(state)
    del state["module.bias_hh_l0"]  # one missing key is nowhere: the architecture is the question
    with pytest.raises(ValueError, match=r"unexpected \[.*\]. Check num_layers, bias, bidirectional and proj_size match the saved model.$"):
        lstmkit.LSTM(3, 4).load_state_dict(state)


def test_missing_and_unexpected_keys_raise_one_exception_type():
    m = lstmkit.LSTM(3, 4)
    sd = m.state_dict()
    for bad in ({k: v for k, v in sd.items() if k != "bias_hh_l0"}, sd | {"extra": np.zeros(1)}, {}):
        with pytest.raises(ValueError, match=r"^LSTM.load_state_dict: expected state exactly the keys") as e:
            m.load_state_dict(bad)
        assert type(e.value) is ValueError  # a KeyError (whose str() quotes the message) for missing keys alone before


def test_a_loose_load_returns_the_missing_and_unexpected_keys_as_torch():
    m = lstmkit.LSTM(3, 4, seed=0)
    sd = lstmkit.LSTM(3, 4, seed=1).state_dict()
    out = m.load_state_dict({"weight_ih_l0": sd["weight_ih_l0"], "fc.weight": np.zeros((2, 4))}, strict=False)
    assert isinstance(out, IncompatibleKeys)
    assert out.missing_keys == ["weight_hh_l0", "bias_ih_l0", "bias_hh_l0"] and out.unexpected_keys == ["fc.weight"]
    np.testing.assert_array_equal(m.weight_ih_l0, sd["weight_ih_l0"])
    assert m.load_state_dict(sd) == IncompatibleKeys([], [])  # a strict load: both empty
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(3, 4)
    theirs = t.load_state_dict({"weight_ih_l0": torch.zeros(16, 3), "fc.weight": torch.zeros(2, 4)}, strict=False)
    assert (theirs.missing_keys, theirs.unexpected_keys) == (["weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], ["fc.weight"])



def test_num_parameters_counts_as_torch():
    """num_parameters() against torch's sum(p.numel()) of the same modules."""
    torch = pytest.importorskip("torch")
    from lstmkit.models import SequenceModel

    def numel(t):
        return sum(p.numel() for p in t.parameters())

    pairs = [
        (lstmkit.LSTM(5, 16, num_layers=2, bidirectional=True, proj_size=4, seed=0),
         torch.nn.LSTM(5, 16, num_layers=2, bidirectional=True, proj_size=4)),
        (lstmkit.RNN(3, 4, num_layers=2, bias=False, seed=0), torch.nn.RNN(3, 4, num_layers=2, bias=False)),
        (lstmkit.LSTMCell(3, 4, seed=0), torch.nn.LSTMCell(3, 4)),
        (lstmkit.RNNCell(3, 4, bias=False, seed=0), torch.nn.RNNCell(3, 4, bias=False)),
        (lstmkit.Linear(4, 2, seed=0), torch.nn.Linear(4, 2)),
        # a model: its LSTM and its read-out (torch: the two modules' parameters)
        (SequenceModel(3, 2, 16, num_layers=2, seed=0), torch.nn.ModuleList([torch.nn.LSTM(3, 16, 2), torch.nn.Linear(16, 2)])),
    ]  # fmt: skip
    for ours, theirs in pairs:
        assert ours.num_parameters() == numel(theirs), ours
    assert isinstance(pairs[0][0].num_parameters(), int)
    # by hand, per layer and direction: 4H*I_in + 4H*P + 2*4H + P*H, with H=16, P=4, I_in = 5 then D*P = 8:
    # layer 0: 320 + 256 + 128 + 64 = 768; layer 1: 512 + 256 + 128 + 64 = 960; (768 + 960) * 2 = 3456
    assert pairs[0][0].num_parameters() == 3456


@pytest.mark.parametrize("strict", ["false", 0, None])
def test_strict_is_true_or_false(strict):
    with pytest.raises(TypeError, match=rf"^LSTM.load_state_dict: expected strict True or False, got {strict!r}.$"):
        lstmkit.LSTM(3, 4).load_state_dict({}, strict=strict)


def test_torch_parameters_that_require_grad_load():
    torch = pytest.importorskip("torch")
    t = torch.nn.LSTM(3, 4)
    m = lstmkit.LSTM(3, 4)
    m.load_state_dict(dict(t.named_parameters()))  # torch's .numpy() refuses a tensor that requires grad
    np.testing.assert_array_equal(m.weight_hh_l0, t.weight_hh_l0.detach().numpy())


# -- dtype and device, as torch's methods ------------------------------------------------------
def test_double_casts_every_parameter_and_matches_torchs_double():
    torch = pytest.importorskip("torch")
    m = lstmkit.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, seed=0)  # float32
    t = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    t.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    assert m.double() is m and t.double() is t
    assert m.dtype == np.float64 and repr(m).endswith("dtype=float64)")
    assert all(p.dtype == np.float64 for p in m.parameters().values()) and all(g.dtype == np.float64 for g in m.grads.values())
    rng = np.random.default_rng(0)
    x, wy = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 4))
    y, _ = m(x)
    dx, _ = m.backward(wy)
    xt = torch.tensor(x, requires_grad=True)
    ty, _ = t(xt)
    (ty * torch.tensor(wy)).sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-14)
    for k, p in t.named_parameters():
        np.testing.assert_allclose(m.grads[k], p.grad.numpy(), rtol=0, atol=1e-14, err_msg=k)


@pytest.mark.parametrize("backend", ["numpy", "auto"])
def test_a_cast_module_computes_what_one_built_in_that_dtype_does(backend):
    m = lstmkit.LSTM(3, 4, seed=0)
    m.backend = backend
    x = np.random.default_rng(1).normal(size=(5, 2, 3))
    for cast, dt in ((m.double, np.float64), (m.float, np.float32), (lambda: m.to("float64"), np.float64)):
        cast()
        built = lstmkit.LSTM(3, 4, dtype=dt, seed=9)
        built.backend = backend
        built.load_state_dict(m.state_dict())
        y, (h, c) = m(x)
        y2, (h2, c2) = built(x)
        assert y.dtype == dt
        dx, (dh0, dc0) = m.backward(y)
        dx2, (dh02, dc02) = built.backward(y2)
        for a, b in ((y, y2), (h, h2), (c, c2), (dx, dx2), (dh0, dh02), (dc0, dc02), *zip(m.grads.values(), built.grads.values())):
            np.testing.assert_array_equal(a, b)
        m.zero_grad()


def test_a_sequence_models_cast_keeps_its_parameters_shared_with_its_layers():
    torch = pytest.importorskip("torch")
    s = lstmkit.SequenceModel(3, 2, 4, seed=0)
    assert s.to(torch.float64) is s
    assert s.dtype == s.rnn.dtype == s.head.dtype == np.float64
    for prefix, sub in (("rnn.", s.rnn), ("head.", s.head)):
        for k, p in sub.parameters().items():
            assert s.parameters()[prefix + k] is p and s.grads[prefix + k] is sub.grads[k]
    # an update through the model's dict is the layers' weights
    s.parameters()["rnn.weight_hh_l0"][...] = 0.5
    assert (s.rnn.weight_hh_l0 == 0.5).all()
    out, _ = s(np.ones((2, 5, 3)))
    assert out.dtype == np.float64


@pytest.mark.parametrize("args,kwargs", [(("cpu",), {}), (("cpu:0",), {}), ((), {"device": "cpu"}), (("cpu", np.float64), {})])
def test_to_the_cpu_is_nothing_to_do(args, kwargs):
    m = lstmkit.LSTM(3, 4)
    assert m.to(*args, **kwargs) is m
    assert m.dtype == (np.float64 if np.float64 in args else np.float32)


def test_to_another_device_or_dtype_is_refused_before_anything_changes():
    m = lstmkit.LSTM(3, 4)
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"^LSTM.to: expected device 'cpu' \(lstmkit computes in NumPy, on the CPU\), got 'cuda'. "
                       r"Drop the device: lstmkit's arrays are NumPy's, in the CPU's memory.$"):  # fmt: skip
        m.to("cuda", np.float64)
    with pytest.raises(TypeError, match=r"^LSTM.to: expected dtype numpy.float32 or numpy.float64, got 'float16'.$"):
        m.to("float16")
    with pytest.raises(TypeError, match=r"^LSTM.to: expected dtype numpy.float32 or numpy.float64"):
        m.to(np.int32)
    assert m.dtype == np.float32 and all(v.dtype == np.float32 for v in m.parameters().values())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"got device\(type='cuda', index=0\)"):
        m.to(torch.device("cuda:0"))
    assert m.to(torch.device("cpu")) is m


@pytest.mark.parametrize("args,kwargs,got", [
    ((np.float64, np.float32), {}, "2 dtypes (float64, float32). Give one dtype."),  # it took the last, float32
    (("float64",), {"dtype": np.float32}, "2 dtypes ('float64', float32). Give one dtype."),
    (("cpu",), {"device": "cpu:0"}, "2 devices ('cpu', 'cpu:0'). Give one device."),
])
def test_to_refuses_two_dtypes_or_two_devices(args, kwargs, got):
    # torch refuses module.to(torch.float64, torch.float32) (TypeError); lstmkit took the last silently
    m = lstmkit.LSTM(3, 4)
    with pytest.raises(TypeError, match=rf"^LSTM.to: expected arguments a device, a dtype or both, got {re.escape(got)}$"):
        m.to(*args, **kwargs)
    assert m.dtype == np.float32
    with pytest.raises(TypeError, match=r"^LSTM.to: expected non_blocking True or False, got 'yes'.$"):
        m.to(np.float64, non_blocking="yes")
    assert m.to(np.float64, non_blocking=True).dtype == np.float64  # taken, for torch code


def test_a_cast_drops_what_a_forward_kept_for_backward():
    cell = lstmkit.LSTMCell(3, 4)
    cell(np.ones((1, 3), np.float32))
    cell.double()
    assert cell.kept_steps == 0
    lin = lstmkit.layers.Linear(3, 2)
    lin(np.ones((1, 3), np.float32))
    lin.double()
    with pytest.raises(RuntimeError, match="Linear.backward: expected a forward pass"):
        lin.backward(np.ones((1, 2)))
    m = lstmkit.LSTM(3, 4)
    m(np.ones((2, 1, 3), np.float32))
    m.double()
    with pytest.raises(RuntimeError, match="LSTM.backward: expected a forward pass"):
        m.backward(np.ones((2, 1, 4)))


def test_flatten_parameters_is_a_no_op():
    m = lstmkit.LSTM(3, 4, seed=0)
    before = m.state_dict()
    assert m.flatten_parameters() is None
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_what_an_in_place_change_of_handed_out_arrays_reaches_beside_torch():
    torch = pytest.importorskip("torch")
    m, t = lstmkit.LSTM(2, 3, seed=0), torch.nn.LSTM(2, 3)
    # the live arrays: from parameters(), a copy of the dict, named_parameters(): an in-place change reaches the model, as torch's
    dict(m.parameters())["weight_ih_l0"][0, 0] = 7.0
    dict(t.named_parameters())["weight_ih_l0"].data[0, 0] = 7.0
    assert m.weight_ih_l0[0, 0] == 7.0 and t.weight_ih_l0[0, 0].item() == 7.0
    next(m.named_parameters())[1][0, 1] = 5.0
    assert m.weight_ih_l0[0, 1] == 5.0
    # state_dict(): copies (torch's share the weights' memory: the documented difference)
    m.state_dict()["weight_ih_l0"][0, 0] = 9.0
    t.state_dict()["weight_ih_l0"][0, 0] = 9.0
    assert m.weight_ih_l0[0, 0] == 7.0 and t.weight_ih_l0[0, 0].item() == 9.0


def test_a_parameter_is_not_replaced_or_removed_through_the_parameters_dict():
    model = lstmkit.models.SequenceModel(2, 3, 2, seed=0)
    before = model.state_dict()
    fix = ("Write model.weight_ih_l0 = W (checked, written into the parameter), model.load_state_dict({'weight_ih_l0': W}, "
           "strict=False), or in place, model.parameters()['weight_ih_l0'][...] = W.")  # fmt: skip
    P = model.rnn.parameters()
    # it went in unchecked (shape (3,) for (12, 2)), its gradient left (12, 2), and the SequenceModel kept the old array
    with pytest.raises(ValueError, match="^" + re.escape("Module.parameters: expected 'weight_ih_l0' written into, not replaced or "
                                                         f"removed (the dict is the module's own), got an assignment of another array. {fix}") + "$"):  # fmt: skip
        P["weight_ih_l0"] = np.zeros(3)
    for call, how in [(lambda: P.__delitem__("weight_ih_l0"), "a deletion"), (lambda: P.pop("weight_ih_l0"), "a pop"),
                      (lambda: P.update(weight_ih_l0=np.zeros((12, 2))), "an assignment of another array"),
                      (P.clear, "a clear"), (P.popitem, "a popitem")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"got {how}\\."):
            call()
    assert list(P) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]  # nothing removed
    live = P["weight_ih_l0"]
    assert P.setdefault("weight_ih_l0", np.zeros(3)) is live and P["weight_ih_l0"] is live  # (dict's: it keeps a name it has)
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())
    assert model.rnn.weight_ih_l0 is model.parameters()["rnn.weight_ih_l0"]  # still shared
    model.rnn.parameters()["weight_ih_l0"][...] = 1.0  # in place: allowed, and the model sees it
    assert (model.parameters()["rnn.weight_ih_l0"] == 1.0).all()
    model.double()  # a cast still puts new arrays in the dict, shared
    assert model.rnn.weight_ih_l0.dtype == np.float64 and model.rnn.weight_ih_l0 is model.parameters()["rnn.weight_ih_l0"]


def test_a_weight_beyond_the_dtypes_range_is_named_as_given_not_as_the_inf_it_casts_to():
    # float32's largest value is (2 - 2**-23) * 2**127 = 3.4028235e38: a float64 1e39 cast to float32 is inf,
    # which load_state_dict called "NaN or inf" (about a finite number); it is named with its index, nothing written
    m = lstmkit.LSTM(3, 4, seed=0)
    before = m.state_dict()
    sd = {k: v.astype(np.float64) for k, v in before.items()}
    sd["weight_hh_l0"][5, 2] = -1e39
    with pytest.raises(ValueError) as e:
        m.load_state_dict(sd)
    assert str(e.value) == ("LSTM.load_state_dict: expected weight_hh_l0 values within float32's range (±3.4e38), got -1e+39 at "
                            "index (5, 2). Load them into a float64 model (dtype=numpy.float64), or scale them down.")  # fmt: skip
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(ValueError, match=r"^LSTM: expected bias_ih_l0 values within float32's range \(±3\.4e38\), got 1e\+39 at index \(0,\)"):
        m.bias_ih_l0 = np.full(16, 1e39)  # an attribute set is checked as load_state_dict checks it
    # the range's end itself is within; a float64 model takes 1e39 as it is
    sd["weight_hh_l0"][5, 2] = -(2 - 2**-23) * 2.0**127
    m.load_state_dict(sd)
    assert m.weight_hh_l0[5, 2] == np.float32(-3.4028235e38)
    sd["weight_hh_l0"][5, 2] = 1e39
    assert lstmkit.LSTM(3, 4, seed=0, dtype=np.float64).load_state_dict(sd) == ([], [])
    # a long double beyond float64's range: float64 is no way out, so the message does not offer it
    sd["weight_hh_l0"] = sd["weight_hh_l0"].astype(np.longdouble)
    if np.finfo(np.longdouble).max > np.finfo(np.float64).max:  # where long double is wider (x86: 80 bits)
        sd["weight_hh_l0"][0, 1] = np.longdouble("1e400")
        with pytest.raises(ValueError, match=r"expected weight_hh_l0 values within float64's range \(±1\.8e308\), got 1e\+400 at index "
                                             r"\(0, 1\)\. Scale them down \(float64 is the widest dtype lstmkit computes in\)\.$"):
            lstmkit.LSTM(3, 4, seed=0, dtype=np.float64).load_state_dict(sd)


def test_a_sub_module_cast_alone_is_refused_naming_the_model_to_cast():
    # m.rnn.float() gave the rnn new arrays while the SequenceModel's dict (one dict, sharing its layers' arrays)
    # kept the old ones: its state_dict and checkpoints no longer held the weights its forward used
    import copy

    m = lstmkit.SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    before = {k: v.copy() for k, v in m.parameters().items()}
    with pytest.raises(ValueError, match=r"LSTM\.to: expected dtype float64, the dtype of the SequenceModel holding it as "
                                         r"\.rnn, got float32\. Cast the whole model, model\.to\(float32\)"):
        m.rnn.float()
    assert m.rnn.dtype == np.float64 and all((m.parameters()[k] == v).all() for k, v in before.items())
    assert m.rnn.double() is m.rnn  # its own dtype: nothing to refuse
    m.float()
    assert all(m.parameters()["rnn." + k] is v for k, v in m.rnn.parameters().items())
    snapshot = copy.deepcopy(m)  # a copy's layer is held by the copy, and refused there too
    with pytest.raises(ValueError, match="holding it as .rnn"):
        snapshot.rnn.double()
    assert all(snapshot.parameters()["rnn." + k] is v for k, v in snapshot.rnn.parameters().items())
    rnn = lstmkit.SequenceModel(3, 2, 4, seed=0).rnn  # its model gone: a module of its own
    assert rnn.double().dtype == np.float64 and lstmkit.LSTM(3, 4).double().dtype == np.float64


def test_a_shallow_copy_leaves_the_originals_layers_held_by_it():
    # copy.copy(model) shares the layers; its __setstate__ pointed their recorded holder at the copy, and once the
    # copy was gone model.rnn.float() went through, leaving the model's dict of parameters on the old arrays
    import copy
    import gc

    m = lstmkit.SequenceModel(3, 2, 4, dtype=np.float64, seed=0)
    c = copy.copy(m)
    assert c.rnn is m.rnn
    del c
    gc.collect()
    with pytest.raises(ValueError, match=r"the dtype of the SequenceModel holding it as \.rnn, got float32"):
        m.rnn.float()
    assert m.rnn.dtype == np.float64 and m.parameters()["rnn.weight_hh_l0"] is m.rnn.weight_hh_l0


def test_the_eval_mode_block_restores_training_mode_only_where_the_module_is_in_eval_mode_as_it_leaves():
    # what _EvalMode's docstring says of a mode set meanwhile (helper-138 finding 6): it keeps no record of
    # who set eval mode, so a fit meanwhile that leaves the model in eval mode is switched to training mode
    from lstmkit.module import _EvalMode

    m = lstmkit.SequenceModel(3, 2, 4, num_layers=2, dropout=0.5, seed=0)
    with _EvalMode(m):
        assert not m.training and not m.rnn.training
        m.train()  # left in training mode meanwhile: it stays
    assert m.training and m.rnn.training
    with _EvalMode(m):
        m.train()
        m.eval()  # left in eval mode meanwhile: taken for the block's own, switched back
    assert m.training and m.rnn.training
    m.eval()
    with _EvalMode(m):
        m.train()  # the block did not switch: what was set meanwhile stays
    assert m.training


@pytest.mark.parametrize("seed, exc", [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)])
def test_seeds_are_refused_in_the_constructors_own_name(seed, exc):
    # SequenceModel passed the seed to SeedSequence (-1: its bare ValueError, 1.5: its TypeError, True: seed 1);
    # LSTM and RNN checked it, but said "lstmkit:"
    for make, where in [(lambda: lstmkit.SequenceModel(2, 2, 3, seed=seed), "SequenceModel"),
                        (lambda: lstmkit.LSTM(2, 3, seed=seed), "LSTM"), (lambda: lstmkit.RNN(2, 3, seed=seed), "RNN"),
                        # the cells, Linear and the datasets said "lstmkit:" too
                        (lambda: lstmkit.LSTMCell(2, 3, seed=seed), "LSTMCell"), (lambda: lstmkit.RNNCell(2, 3, seed=seed), "RNNCell"),
                        (lambda: lstmkit.Linear(2, 3, seed=seed), "Linear"),
                        (lambda: lstmkit.datasets.counting_task(2, 3, seed=seed), "counting_task"),
                        (lambda: lstmkit.datasets.recall_task(2, 3, seed=seed), "recall_task")]:  # fmt: skip
        with pytest.raises(exc, match=rf"^{where}: expected seed None, an integer >= 0 or a numpy\.random\.Generator, got {type(seed).__name__} "):
            make()


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_sequence_model_takes_hx_as_another_name_of_state(cell):
    m = lstmkit.SequenceModel(2, 3, 4, cell=cell, seed=0)
    x = np.random.default_rng(1).normal(size=(2, 5, 2))
    h0 = np.random.default_rng(2).normal(size=(1, 2, 4))
    s = (h0, -h0) if cell == "lstm" else h0
    out, st = m(x, None, s)
    out_hx, st_hx = m(x, hx=s)
    np.testing.assert_array_equal(out_hx, out)
    assert not np.allclose(m(x)[0], out)  # the state is used, not dropped
    with pytest.raises(TypeError, match=r"^SequenceModel: expected hx None when state is given .*got both"):
        m(x, state=s, hx=s)
