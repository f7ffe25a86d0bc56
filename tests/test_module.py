"""Module's torch-style API: load_state_dict's keys, flags set after construction, dtype and device."""

from __future__ import annotations

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
