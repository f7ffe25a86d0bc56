"""The checks of constructor arguments: a flag is True or False, a size an integer, a choice one of
its names, each refused in one wording (``_checks.check_bool``, ``check_int``, ``check_choice``)
by every layer, model and estimator, not read as something else."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lstmkit
from lstmkit import LSTM, RNN, LSTMCell, LSTMClassifier, LSTMForecaster, LSTMRegressor, RNNCell, SequenceModel
from lstmkit._checks import check_bool, check_choice
from lstmkit.layers import Linear

# each is truthy or falsy to bool(): "false" read as True made LSTM(4, 8, batch_first="false") batch-first
NOT_BOOLS = ["false", "True", 1, 0, None, 1.0, np.int64(1), []]


def test_check_bool_takes_python_and_numpy_bools_and_returns_python_bools():
    for value, want in ((True, True), (False, False), (np.True_, True), (np.bool_(False), False)):
        assert check_bool(value, "W", "flag") is want
    assert check_bool(None, "W", "flag", none=True) is None
    for value in NOT_BOOLS:
        with pytest.raises(TypeError) as err:
            check_bool(value, "W", "flag")
        assert str(err.value) == f"W: expected flag True or False, got {value!r}."
    with pytest.raises(TypeError, match=r"^W: expected flag None, True or False, got 'no'\.$"):
        check_bool("no", "W", "flag", none=True)


# (build with the flag set to v, where the message says it is, the flag's name, read the flag back from what was built)
FLAGS = [
    (lambda v: LSTM(3, 4, batch_first=v), "LSTM", "batch_first", lambda m: m.batch_first),
    (lambda v: LSTM(3, 4, bias=v), "LSTM", "bias", lambda m: m.bias),
    (lambda v: LSTM(3, 4, bidirectional=v), "LSTM", "bidirectional", lambda m: m.bidirectional),
    (lambda v: LSTM(3, 4, peephole=v), "LSTM", "peephole", lambda m: m.variant.peephole),
    (lambda v: LSTM(3, 4, input_forget=v), "LSTM", "input_forget", lambda m: m.variant.input_forget),
    (lambda v: LSTM(3, 4, layer_norm=v), "LSTM", "layer_norm", lambda m: m.variant.layer_norm),
    (lambda v: RNN(3, 4, batch_first=v), "RNN", "batch_first", lambda m: m.batch_first),
    (lambda v: RNN(3, 4, bias=v), "RNN", "bias", lambda m: m.bias),
    (lambda v: RNN(3, 4, bidirectional=v), "RNN", "bidirectional", lambda m: m.bidirectional),
    (lambda v: LSTMCell(3, 4, bias=v), "LSTMCell", "bias", lambda m: m.bias),
    (lambda v: LSTMCell(3, 4, peephole=v), "LSTMCell", "peephole", lambda m: m.variant.peephole),
    (lambda v: LSTMCell(3, 4, input_forget=v), "LSTMCell", "input_forget", lambda m: m.variant.input_forget),
    (lambda v: LSTMCell(3, 4, layer_norm=v), "LSTMCell", "layer_norm", lambda m: m.variant.layer_norm),
    (lambda v: RNNCell(3, 4, bias=v), "RNNCell", "bias", lambda m: m.bias),
    (lambda v: Linear(3, 4, bias=v), "Linear", "bias", lambda m: m.has_bias),
    (lambda v: SequenceModel(3, 2, 4, bidirectional=v), "SequenceModel", "bidirectional", lambda m: m.rnn.bidirectional),
    (lambda v: SequenceModel(3, 2, 4, lstm_options={"bias": v}), "SequenceModel lstm_options", "bias", lambda m: m.rnn.bias),
    (lambda v: SequenceModel(3, 2, 4, cell="rnn", lstm_options={"bias": v}), "SequenceModel lstm_options", "bias", lambda m: m.rnn.bias),
    (lambda v: SequenceModel(3, 2, 4, lstm_options={"peephole": v}), "SequenceModel lstm_options", "peephole", lambda m: m.rnn.variant.peephole),
    (lambda v: LSTM(3, 4).stream(unbatched=v), "LSTMStream", "unbatched", lambda m: m.unbatched),
    (lambda v: LSTM(3, 4).train(v), "LSTM.train", "mode", lambda m: m.training),
    (lambda v: SequenceModel(3, 2, 4).train(v), "SequenceModel.train", "mode", lambda m: m.training),
]


@pytest.mark.parametrize("value", NOT_BOOLS, ids=repr)
@pytest.mark.parametrize("build,where,arg,read", FLAGS, ids=[f"{w}-{a}" for _, w, a, _ in FLAGS])
def test_a_flag_is_true_or_false_not_a_value_bool_would_read(build, where, arg, read, value):
    with pytest.raises(TypeError) as err:
        build(value)
    assert str(err.value) == f"{where}: expected {arg} True or False, got {value!r}."


@pytest.mark.parametrize("build,where,arg,read", FLAGS, ids=[f"{w}-{a}" for _, w, a, _ in FLAGS])
def test_numpy_bools_are_taken_as_flags(build, where, arg, read):
    # each numpy bool is read as the flag it is and kept as a Python bool
    for value, want in ((np.True_, True), (np.False_, False)):
        got = read(build(value))
        assert type(got) is bool and got is want, f"{where} {arg}={value!r}: read as {got!r}"


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3, 2)).astype(np.float32)  # (n, T, F)
    return X, np.array([0, 1] * 4), rng.normal(size=8)


# (estimator, flag, the words of what it takes): __init__ stores, fit refuses before training
ESTIMATOR_FLAGS = [
    (LSTMClassifier, "bidirectional", "True or False"),
    (LSTMRegressor, "bidirectional", "True or False"),
    (LSTMRegressor, "standardize", "True or False"),
    (LSTMRegressor, "per_step", "None, True or False"),
    (LSTMForecaster, "bidirectional", "True or False"),
    (LSTMForecaster, "log", "True or False"),
]


def _fit(est):
    X, labels, targets = _data()
    if isinstance(est, LSTMForecaster):
        return est.fit(np.arange(1.0, 41.0))
    return est.fit(X, labels if isinstance(est, LSTMClassifier) else targets)


@pytest.mark.parametrize("cls,arg,what", ESTIMATOR_FLAGS, ids=[f"{c.__name__}-{a}" for c, a, _ in ESTIMATOR_FLAGS])
def test_estimator_flags_are_stored_by_init_and_refused_by_fit(cls, arg, what):
    small = dict(hidden_size=2, epochs=1) if cls is not LSTMForecaster else dict(window=3, hidden_size=2, epochs=1)
    est = cls(**{arg: "false"}, **small)
    assert est.get_params()[arg] == "false"  # scikit-learn: __init__ only stores
    with pytest.raises(TypeError) as err:
        _fit(est)
    assert str(err.value) == f"{cls.__name__}: expected {arg} {what}, got 'false'."
    _fit(cls(**{arg: np.False_}, **small))  # NumPy's bool is a bool


# (build, the exact message): sizes are integers, as torch refuses float sizes (and lstmkit bools)
SIZES = [
    (lambda: LSTM(3, 64.0), TypeError, "LSTM: expected hidden_size an integer, got float 64.0."),
    (lambda: LSTM(3, 4, num_layers=True), TypeError, "LSTM: expected num_layers an integer, got bool True."),
    (lambda: LSTM("4", 4), TypeError, "LSTM: expected input_size an integer, got str '4'."),
    (lambda: LSTM(3, 4, proj_size=-1), ValueError, "LSTM: expected proj_size >= 0, got -1."),
    (lambda: RNNCell(3, 4.0), TypeError, "RNNCell: expected hidden_size an integer, got float 4.0."),
    # with readout="identity" 4.0 equalled D*P = 4 and was taken
    (lambda: SequenceModel(3, 4.0, 4, readout="identity"), TypeError, "SequenceModel: expected output_size an integer, got float 4.0."),
    (lambda: SequenceModel(3, True, 1, readout="identity"), TypeError, "SequenceModel: expected output_size an integer, got bool True."),
    (lambda: SequenceModel(3, 2, 4, lstm_options={"proj_size": 2.0}), TypeError,
     "SequenceModel lstm_options: expected proj_size an integer, got float 2.0."),
    # difference=True and 1.0 were read as 1
    (lambda: _fit(LSTMForecaster(window=3, difference=True, epochs=1)), TypeError, "LSTMForecaster: expected difference an integer, got bool True."),
    (lambda: _fit(LSTMForecaster(window=3, difference=1.0, epochs=1)), TypeError, "LSTMForecaster: expected difference an integer, got float 1.0."),
    (lambda: _fit(LSTMForecaster(window=3, difference=2, epochs=1)), ValueError, "LSTMForecaster: expected difference 0 or 1, got 2."),
]


@pytest.mark.parametrize("build,exc,message", SIZES, ids=[m.split(",")[0] for _, _, m in SIZES])
def test_sizes_are_integers(build, exc, message):
    with pytest.raises(exc) as err:
        build()
    assert str(err.value) == message


def test_check_choice_lists_the_choices_and_the_one_meant():
    assert check_choice("last", ("all", "last"), "W", "head") == "last"
    for value, fix in (("Last", " Did you mean 'last'?"), ("first", ""), (None, ""), (["last"], ""), (1, "")):
        with pytest.raises(ValueError) as err:
            check_choice(value, ("all", "last"), "W", "head")
        assert str(err.value) == f"W: expected head one of ['all', 'last'], got {value!r}.{fix}"


CHOICES = [
    (lambda: RNN(3, 4, nonlinearity="Tanh"), "RNN: expected nonlinearity one of ['tanh', 'relu'], got 'Tanh'. Did you mean 'tanh'?"),
    (lambda: RNNCell(3, 4, nonlinearity="ReLU"), "RNNCell: expected nonlinearity one of ['tanh', 'relu'], got 'ReLU'. Did you mean 'relu'?"),
    (lambda: SequenceModel(3, 2, 4, head="Last"), "SequenceModel: expected head one of ['all', 'last'], got 'Last'. Did you mean 'last'?"),
    (lambda: SequenceModel(3, 2, 4, readout="Linear"), "SequenceModel: expected readout one of ['linear', 'identity'], got 'Linear'. Did you mean 'linear'?"),
    (lambda: SequenceModel(3, 2, 4, cell="LSTM"), "SequenceModel: expected cell one of ['lstm', 'rnn'], got 'LSTM'. Did you mean 'lstm'?"),
    (lambda: SequenceModel(3, 2, 4, cell=["lstm"]), "SequenceModel: expected cell one of ['lstm', 'rnn'], got ['lstm']."),  # was: unhashable type
    (lambda: SequenceModel(3, 2, 4, inputs="ids"), "SequenceModel: expected inputs one of ['features', 'tokens'], got 'ids'."),
    (lambda: SequenceModel(3, 2, 4, cell="rnn", lstm_options={"nonlinearity": "Relu"}),
     "SequenceModel lstm_options: expected nonlinearity one of ['tanh', 'relu'], got 'Relu'. Did you mean 'relu'?"),
    # named as the estimator, not as the SequenceModel fit builds
    (lambda: _fit(LSTMClassifier(readout="Identity", epochs=1)),
     "LSTMClassifier: expected readout one of ['linear', 'identity'], got 'Identity'. Did you mean 'identity'?"),
    (lambda: _fit(LSTMRegressor(cell="RNN", epochs=1)), "LSTMRegressor: expected cell one of ['lstm', 'rnn'], got 'RNN'. Did you mean 'rnn'?"),
]


@pytest.mark.parametrize("build,message", CHOICES, ids=[m.split(",")[0] for _, m in CHOICES])
def test_a_choice_is_one_of_its_names(build, message):
    with pytest.raises(ValueError) as err:
        build()
    assert str(err.value) == message


def test_a_flag_from_a_string_no_longer_builds_a_batch_first_model():
    """The report: LSTM(4, 8, batch_first="false") was batch-first (a non-empty str is truthy)."""
    with pytest.raises(TypeError, match=r"^LSTM: expected batch_first True or False, got 'false'\.$"):
        lstmkit.LSTM(4, 8, batch_first="false")
    assert lstmkit.LSTM(4, 8, batch_first=False).batch_first is False


# -- flags set after construction: checked as the constructor checks them ------------------------
# (a built module, the attribute, where the message says it is)
SET_FLAGS = [
    (lambda: LSTM(3, 4), "batch_first", "LSTM"),
    (lambda: RNN(3, 4), "batch_first", "RNN"),
    (lambda: LSTM(3, 4), "training", "LSTM"),
    (lambda: LSTM(3, 4), "requires_grad", "LSTM"),
    (lambda: LSTMCell(3, 4), "requires_grad", "LSTMCell"),
    (lambda: Linear(3, 4), "training", "Linear"),
    (lambda: SequenceModel(3, 2, 4), "requires_grad", "SequenceModel"),
]


@pytest.mark.parametrize("value", NOT_BOOLS, ids=repr)
@pytest.mark.parametrize("build,arg,where", SET_FLAGS, ids=[f"{w}-{a}" for _, a, w in SET_FLAGS])
def test_a_flag_set_after_construction_is_true_or_false(build, arg, where, value):
    m = build()
    before = getattr(m, arg)
    with pytest.raises(TypeError) as err:
        setattr(m, arg, value)
    assert str(err.value) == f"{where}: expected {arg} True or False, got {value!r}."
    assert getattr(m, arg) is before
    setattr(m, arg, np.bool_(not before))  # NumPy's bool, kept as Python's
    assert getattr(m, arg) is (not before)


def test_batch_first_set_to_the_string_false_no_longer_makes_a_model_batch_first():
    m = LSTM(3, 4)
    with pytest.raises(TypeError, match=r"^LSTM: expected batch_first True or False, got 'false'\.$"):
        m.batch_first = "false"
    assert m.batch_first is False
    y, _ = m(np.zeros((5, 2, 3), np.float32))  # (T, B, I) as built
    assert y.shape == (5, 2, 4)


# (a built module, the attribute, the value set, the message)
SHARED = "load the weights it shares with new.load_state_dict(old.state_dict(), strict=False) (its parameters differ)."
BUILT = [
    (lambda: LSTM(3, 4), "bias", False,
     f"LSTM: expected bias True, as built (the parameters are made for it), got False. Build a new LSTM with bias=False and {SHARED}"),
    (lambda: RNN(3, 4), "bidirectional", True,
     f"RNN: expected bidirectional False, as built (the parameters are made for it), got True. Build a new RNN with bidirectional=True and {SHARED}"),
    (lambda: LSTMCell(3, 4, bias=False), "bias", True,
     f"LSTMCell: expected bias False, as built (the parameters are made for it), got True. Build a new LSTMCell with bias=True and {SHARED}"),
    (lambda: Linear(3, 4), "has_bias", False,
     f"Linear: expected has_bias True, as built (the parameters are made for it), got False. Build a new Linear with bias=False and {SHARED}"),
    (lambda: LSTM(3, 4), "peephole", True,
     f"LSTM: expected peephole False, as built (an option of the variant, fixed then), got True. Build a new LSTM with peephole=True and {SHARED}"),
    (lambda: LSTM(3, 4, layer_norm=True), "dropout_input", 0.5,
     "LSTM: expected dropout_input 0.0, as built (an option of the variant, fixed then), got 0.5. Build a new LSTM with dropout_input=0.5 and "
     "load this one's weights with new.load_state_dict(old.state_dict()) (the same parameters)."),
    (lambda: LSTMCell(3, 4), "gate_clip", 3.0,
     "LSTMCell: expected gate_clip None, as built (an option of the variant, fixed then), got 3.0. Build a new LSTMCell with gate_clip=3.0 and "
     "load this one's weights with new.load_state_dict(old.state_dict()) (the same parameters)."),
    (lambda: LSTMCell(3, 4), "zoneout_cell", 0.1,
     "LSTMCell: expected zoneout_cell 0.0, as built (an option of the variant, fixed then), got 0.1. An LSTMCell has no zoneout_cell: "
     "the sequence regularisers are options of lstmkit.LSTM."),
]


@pytest.mark.parametrize("build,arg,value,message", BUILT, ids=[f"{m.split(':')[0]}-{a}" for _, a, _, m in BUILT])
def test_what_the_parameters_were_made_for_is_not_changed_after_construction(build, arg, value, message):
    # bias=False kept the bias parameters in forward's use of them (or a KeyError for True); a
    # variant option set as an attribute shadowed the variant while forward ran the one built
    m = build()
    with pytest.raises(ValueError) as err:
        setattr(m, arg, value)
    assert str(err.value) == message
    assert arg not in m.__dict__ or m.__dict__[arg] != value
    if arg in m.__dict__:
        setattr(m, arg, m.__dict__[arg])  # the value it has: taken
        with pytest.raises(TypeError, match=rf"expected {arg} True or False, got 'false'"):
            setattr(m, arg, "false")


@pytest.mark.parametrize("build,arg,value", [
    (lambda: LSTM(3, 4), "peephole", False),
    (lambda: LSTM(3, 4, peephole=True), "peephole", True),
    (lambda: LSTM(3, 4), "dropout_input", 0),  # 0 read as the constructor reads it: 0.0
    (lambda: LSTM(3, 4, gate_clip=2), "gate_clip", 2.0),
    (lambda: LSTM(3, 4), "activations", ["sigmoid", "tanh", "tanh"]),
    (lambda: LSTMCell(3, 4), "gate_clip", None),
    (lambda: LSTMCell(3, 4, layer_norm=True), "layer_norm", True),
    (lambda: LSTMCell(3, 4), "zoneout_cell", 0.0),
])
def test_a_variant_option_set_to_the_value_it_was_built_with_is_taken(build, arg, value):
    # code mirroring torch's attributes (for k, v in cfg.items(): setattr(m, k, v)) sets the values
    # the module has: "expected peephole False, as built, got False" refused them
    m = build()
    variant = m.variant
    setattr(m, arg, value)
    assert m.variant is variant
    assert arg not in m.__dict__  # no second copy beside the variant (0 was kept as 0.0 there)
    assert getattr(m, arg) == getattr(variant, arg)
    with pytest.raises((TypeError, ValueError), match=rf"^{type(m).__name__}: expected {arg} "):  # as the constructor refuses it
        setattr(m, arg, "yes")


def test_the_advice_of_a_refused_option_loads_the_weights():
    # what the messages say to do works: strict=False where the new module has other parameters
    old = LSTM(3, 4, seed=0)
    for new, strict in ((LSTM(3, 4, peephole=True), False), (LSTM(3, 4, bias=False), False),
                        (LSTM(3, 4, bidirectional=True), False), (LSTM(3, 4, gate_clip=3.0), True)):
        new.load_state_dict(old.state_dict(), strict=strict)
        assert np.array_equal(new.weight_hh_l0, old.weight_hh_l0)
        if strict is False:
            with pytest.raises(ValueError, match="expected state exactly the keys"):
                new.load_state_dict(old.state_dict())


@pytest.mark.parametrize("value,exc,got", [(1.0, ValueError, "1.0"), (-0.1, ValueError, "-0.1"), ("0.5", TypeError, "'0.5'"),
                                           (True, TypeError, "True"), (None, TypeError, "None"), (float("nan"), ValueError, "nan")])
def test_dropout_is_a_finite_number_in_0_1_built_or_set(value, exc, got):
    for cls in (LSTM, RNN):
        with pytest.raises(exc) as err:
            cls(3, 4, num_layers=2, dropout=value)
        assert str(err.value) == f"{cls.__name__}: expected dropout a finite number in [0, 1), got {got}."
        m = cls(3, 4, num_layers=2)
        with pytest.raises(exc) as err:
            m.dropout = value
        assert str(err.value) == f"{cls.__name__}: expected dropout a finite number in [0, 1), got {got}."
        assert m.dropout == 0.0


def test_dropout_takes_numpy_numbers():
    # np.float32(0.25) was refused ("expected dropout a number in [0, 1)"), as were NumPy's integers
    m = LSTM(3, 4, num_layers=2, dropout=np.float32(0.25))
    assert m.dropout == 0.25 and type(m.dropout) is float
    m.dropout = np.float64(0.5)
    assert m.dropout == 0.5 and type(m.dropout) is float
    assert LSTM(3, 4, num_layers=2, dropout=np.int64(0)).dropout == 0.0


def test_only_torch_s_own_objects_are_probed_as_torch_tensors():
    # a type of torch's (module "torch" or "torch.*") on another device is refused; one of torchvision,
    # torchaudio or torch_geometric, whose module names also start with "torch", is not torch's: passed on as it is
    from types import SimpleNamespace

    from lstmkit._checks import _from_torch

    for module, refused in (("torch", True), ("torch.nn.parameter", True), ("torchvision.tv_tensors", False),
                            ("torch_geometric.data", False), ("torchaudio", False)):  # fmt: skip
        thing = type("Thing", (), {"__module__": module, "device": SimpleNamespace(type="cuda")})()
        if refused:
            with pytest.raises(TypeError, match=r"^f: expected x an array in the CPU's memory"):
                _from_torch(thing, "f", "x")
        else:
            assert _from_torch(thing, "f", "x") is thing


@pytest.mark.filterwarnings("error")
def test_huge_finite_inputs_are_taken_without_a_numpy_warning():
    # all_finite's fast test is the sum of squares, which overflows for finite |x| > ~1.8e19 in float32
    # (3.4e38 ** 0.5) and ~1.3e154 in float64: it then looks value by value, and must not warn meanwhile
    # (np.dot warned "overflow encountered in dot": under -W error a valid input was refused).
    # It sums them with np.vdot because NumPy does not report vdot's overflow, which NumPy does not
    # document: np.dot's is reported since NumPy 2.3 (numpy/numpy#28442). The first assertion checks
    # that assumption alone; a NumPy that reports it fails here, and all_finite must then wrap the
    # vdot in np.errstate(over="ignore") (see the comment in all_finite)
    from lstmkit._checks import all_finite

    huge = np.full(4, 1e30, dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.vdot(huge, huge) == np.inf
    assert not caught, f"NumPy now reports np.vdot's overflow ({caught[0].message}): all_finite relies on it not doing so (see above)"

    for dtype, big in ((np.float32, 1e30), (np.float32, 3e38), (np.float64, 1e200), (np.float64, 1.7e308)):
        x = np.full((4, 5), big, dtype=dtype)
        x[1, 2] = -big
        assert all_finite(x)
        for bad in (np.nan, np.inf, -np.inf):
            x[3, 4] = bad
            assert not all_finite(x)
            x[3, 4] = big
    x = np.full((2, 3, 3), 1e30, dtype=np.float32)  # an LSTM's input, as the audit found it
    y, (h, c) = LSTM(3, 4, seed=0, dtype=np.float32)(x)
    assert y.shape == (2, 3, 4) and np.isfinite(y).all()
    lstm = LSTM(3, 4, seed=0, dtype=np.float64)
    lstm.backend = "numpy"
    assert np.isfinite(lstm(np.full((2, 3, 3), 1e200))[0]).all()


@pytest.mark.filterwarnings("error")
def test_a_float64_value_beyond_float32_s_range_is_refused_naming_it():
    # float32's largest value is (2 - 2^-23) 2^127 = 3.4028e38: a float64 1e39 given to a float32 model
    # became inf in the cast (NumPy warned "overflow encountered in cast") and was refused as "got inf"
    m = LSTM(3, 4, seed=0, dtype=np.float32)
    x = np.zeros((2, 3, 3))
    x[1, 2, 0] = -1e39
    with pytest.raises(ValueError) as err:
        m(x)
    assert str(err.value) == (
        "LSTM: expected x values within float32's range (±3.4e38), got -1e+39 at index (1, 2, 0). "
        "Scale the data down, or compute in float64 (dtype=numpy.float64)."
    )
    x[1, 2, 0] = 3.4e38  # within the range: taken
    assert np.isfinite(m(x)[0]).all()
    x[0, 0, 1] = np.inf  # already inf, not an overflow: the message about non-finite values
    with pytest.raises(ValueError, match=r"^LSTM: expected x finite values, got inf at index \(0, 0, 1\)"):
        m(x)
    # a float64 model takes 1e39 as it is
    assert np.isfinite(LSTM(3, 4, seed=0, dtype=np.float64)(np.full((1, 2, 3), 1e39))[0]).all()
    # where non-finite values are allowed (the Trainer's padding, checked within lengths after), the
    # value becomes inf, quietly
    from lstmkit._checks import check_float_array

    out = check_float_array(np.array([1.0, 1e39]), "f", "X", np.float32, finite=False)
    assert out.dtype == np.float32 and out[0] == 1 and out[1] == np.inf


@pytest.mark.filterwarnings("error")
def test_name_overflow_names_a_value_the_cast_made_inf_within_the_lengths_only():
    # float32's largest is 3.4028e38, so a float64 1e39 casts to inf: named as given with float32's range; past a
    # sequence's length (padding) it is not; an inf given as it is (no cast, or in the float64 given) is not the
    # cast's, left to the caller's own finite check
    from lstmkit._checks import check_float_array, name_overflow

    x = np.zeros((2, 3, 1))
    x[1, 2, 0] = 1e39
    arr = check_float_array(x, "f", "X", np.float32, finite=False)
    with pytest.raises(ValueError, match=r"^f: expected X values within float32's range \(±3\.4e38\), got 1e\+39 at index \(1, 2, 0\)\. "):
        name_overflow(x, arr, np.float32, "f", "X")
    with pytest.raises(ValueError, match=r"got 1e\+39 at index \(1, 2, 0\)"):
        name_overflow(x.tolist(), arr, np.float32, "f", "X", np.array([3, 3]))
    name_overflow(x, arr, np.float32, "f", "X", np.array([3, 2]))  # step 2 of sequence 1: padding
    inf = np.where(x > 1, np.inf, 0.0)
    name_overflow(inf, check_float_array(inf, "f", "X", np.float32, finite=False), np.float32, "f", "X")
    given = inf.astype(np.float32)
    assert check_float_array(given, "f", "X", np.float32, finite=False) is given
    name_overflow(given, given, np.float32, "f", "X")


@pytest.mark.skipif(np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="long double is float64 here")
@pytest.mark.filterwarnings("error")
def test_a_long_double_beyond_float64_s_range_is_named_as_given():
    # a long double 1e600 (x86's 80-bit, max ~1.19e4932) given to a float64 model read "got inf",
    # as f"{v}" formats a long double through a Python float, and was told to "compute in float64",
    # the dtype in use; float64 is the widest lstmkit computes in, so the advice is to scale
    x = np.zeros((2, 3, 3), dtype=np.longdouble)
    x[1, 2, 0] = np.longdouble("-1e600")
    with pytest.raises(ValueError) as err:
        LSTM(3, 4, seed=0, dtype=np.float64)(x)
    assert str(err.value) == (
        "LSTM: expected x values within float64's range (±1.8e308), got -1e+600 at index (1, 2, 0). "
        "Scale the data down (float64 is the widest dtype lstmkit computes in)."
    )
    with pytest.raises(ValueError) as err:  # to a float32 model: the float32 message, the value as given
        LSTM(3, 4, seed=0, dtype=np.float32)(x)
    assert str(err.value) == (
        "LSTM: expected x values within float32's range (±3.4e38), got -1e+600 at index (1, 2, 0). "
        "Scale the data down, or compute in float64 (dtype=numpy.float64)."
    )
    x[1, 2, 0] = np.longdouble("1e300")  # within float64's range: taken
    assert np.isfinite(LSTM(3, 4, seed=0, dtype=np.float64)(x)[0]).all()


def test_a_list_of_ints_is_told_to_use_numpy_asarray_not_astype():
    # a list has no .astype: the message said "Convert it with .astype(numpy.float32)" to a list of ints
    m = LSTM(1, 2, seed=0, dtype=np.float32)
    with pytest.raises(TypeError) as err:
        m([[[1], [2]]])
    assert str(err.value) == ("LSTM: expected x a real floating-point array, got a list, which NumPy reads as dtype int64. "
                              "Make it a float array with numpy.asarray(x, dtype=numpy.float32).")  # fmt: skip
    with pytest.raises(TypeError, match=r"got a tuple, which NumPy reads as dtype bool\. Make it a float array with "
                                        r"numpy\.asarray\(x, dtype=numpy\.float64\)\.$"):
        LSTM(1, 2, seed=0, dtype=np.float64)(((([True],),),))
    # an array (it has .astype) is told as before
    with pytest.raises(TypeError, match=r"got dtype int64\. Convert it with \.astype\(numpy\.float32\) or \.astype\(numpy\.float64\)\.$"):
        m(np.ones((1, 2, 1), dtype=np.int64))
    # a list of floats is taken
    assert m([[[1.0], [2.0]]])[0].shape == (1, 2, 2)


@pytest.mark.filterwarnings("error")
def test_cast_float_refuses_an_overflow_only_where_it_counts():
    from lstmkit._checks import cast_float

    x = np.array([[1.0, 1e39], [2.0, 3.0]])
    with pytest.raises(ValueError, match=r"^f: expected X values within float32's range \(±3\.4e38\), got 1e\+39 at index \(0, 1\)\. "):
        cast_float(x, np.float32, "f", "X")
    out = cast_float(x, np.float32, "f", "X", valid=np.array([[True, False], [True, True]]))  # in the padding: padding
    assert out.dtype == np.float32 and out[0, 1] == np.inf and out.flags.c_contiguous
    assert cast_float(x, np.float32, "f", "X", check=False)[0, 1] == np.inf
    # overflow_at, the rule (onnx's message about a constant uses it too): the first finite value the cast makes inf;
    # one just above float32's largest, (2 - 2^-23) 2^127, by less than half its last step (2^103) rounds down to it
    from lstmkit._checks import overflow_at

    assert overflow_at(x, np.float32) == (0, 1) and overflow_at(x, np.float64) is None
    edge = np.array([np.nextafter((2 - 2**-23) * 2.0**127, np.inf), (2 - 2**-24) * 2.0**127, np.inf])  # + 2^75, + 2^103: a tie, to even
    assert overflow_at(edge, np.float32) == (1,)
    np.testing.assert_array_equal(cast_float(edge[:1], np.float32, "f", "X"), [np.finfo(np.float32).max])
    ints = np.array([2**62, -3], dtype=np.int64)  # integers fit float32's range whatever they are
    np.testing.assert_array_equal(cast_float(ints, np.float32, "f", "X"), ints.astype(np.float32))


def test_is_real_is_the_public_test_of_a_number_that_losses_uses():
    # losses.check_class_weight asked _checks' private _real; the rule is public as is_real, and the
    # losses module imports no private name of _checks
    import ast
    import inspect

    from lstmkit import losses
    from lstmkit._checks import is_real

    for v in (0, 1, -2.5, float("nan"), float("inf"), np.int64(3), np.float32(0.5), np.uint8(1)):
        assert is_real(v), v
    for v in (True, False, np.True_, "1", None, [1], 1j, np.array([1.0])):
        assert not is_real(v), v
    tree = ast.parse(inspect.getsource(losses))
    private = [a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "_checks"
               for a in node.names if a.name.startswith("_")]  # fmt: skip
    assert private == []


def test_a_2d_x_is_told_an_addition_of_the_axis_that_works_on_a_table_too():
    """The hint for a 2-D X is code to run: each of its two expressions, run on the refused X (an
    array, and a DataFrame where pandas is installed), gives the 3-D layout it names. The old hint
    ``X[:, None, :]`` raised on a DataFrame (pandas takes ``X[:, None, :]`` as a column lookup)."""
    import re

    X = np.arange(12.0).reshape(4, 3)  # (n_samples=4, 3)
    with pytest.raises(ValueError, match="expected X a 3-D array") as info:
        LSTMClassifier(hidden_size=2, epochs=1).fit(X, np.array([0, 1, 0, 1]))
    one_step, one_vector = re.findall(r"use (np\.asarray\(X\)\[[^\]]*\])", str(info.value))
    tables = [X]
    try:
        import pandas as pd

        tables.append(pd.DataFrame(X))
    except ImportError:
        pass
    for table in tables:
        assert eval(one_step, {"np": np, "X": table}).shape == (4, 3, 1)  # one feature per step
        assert eval(one_vector, {"np": np, "X": table}).shape == (4, 1, 3)  # one step of 3 features


def test_optional_import_rewords_only_its_package_missing():
    # the package missing (Python stops at the top-level package when it is absent): one line with the
    # extra's pip line, name= the module
    from lstmkit._checks import optional_import

    with pytest.raises(ModuleNotFoundError) as raised:
        with optional_import("matplotlib", "f", "to draw"):
            raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")
    assert str(raised.value) == "f: expected matplotlib installed (to draw), got none. Install it: pip install \"lstmkit[cli]\"."
    assert raised.value.name == "matplotlib" and raised.value.__suppress_context__
    with pytest.raises(ModuleNotFoundError, match=r'^g: expected torch installed, got none\. Install it: pip install "lstmkit\[interop\]"\.$'):
        with optional_import("torch", "g"):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
    # anything else as Python raised it: a dependency of the package missing (its words name it), a
    # broken install, another package, another error
    for error in (ModuleNotFoundError("No module named 'kiwisolver'", name="kiwisolver"),
                  ModuleNotFoundError("No module named 'matplotlibx'", name="matplotlibx"),
                  ImportError("cannot import name 'Figure' from 'matplotlib.figure'", name="matplotlib.figure"),
                  ValueError("x")):  # fmt: skip
        with pytest.raises(type(error)) as raised:
            with optional_import("matplotlib", "f", "to draw"):
                raise error
        assert raised.value is error
    # a module inside the installed package missing: a broken install, which 'Install it: pip install'
    # would not mend (it was said as the package not installed); where the package is hidden (None in
    # sys.modules, as the tests hide one), as not installed
    pytest.importorskip("matplotlib")
    broken = ModuleNotFoundError("No module named 'matplotlib.nosuch'", name="matplotlib.nosuch")
    with pytest.raises(ModuleNotFoundError) as raised:
        with optional_import("matplotlib", "f"):
            raise broken
    assert raised.value is broken
    with optional_import("matplotlib", "f"):
        pass
    with pytest.raises(KeyError, match="expected module one of"):
        optional_import("nmupy", "f")


def test_printable_shows_control_characters_as_escapes_and_keeps_text():
    from lstmkit._checks import printable

    # helper-153 #5: ESC ] 0 ; title BEL set a terminal's window title, ESC [ 2 J cleared the screen
    assert printable("\x1b]0;PWNED\x07\x1b[2J\x1b[31mneg") == "\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mneg"
    # newline and tab are text; CR (overwrites the line), NUL, DEL and C1 (0x9b is CSI) are not
    assert printable("a\nb\tc") == "a\nb\tc"
    assert printable("x\ry\x00z\x7f\x9b\x85") == "x\\x0dy\\x00z\\x7f\\x9b\\x85"
    # other characters stay: non-breaking space (0xa0), accents, Greek, the backslash itself
    assert printable("\xa0é σ c\u0303 \\x1b") == "\xa0é σ c\u0303 \\x1b"
    assert printable(3) == "3" and printable(ValueError("v\x1b")) == "v\\x1b"  # str() of anything


def test_printable_escapes_the_unicode_bidi_controls():
    from lstmkit._checks import printable

    # "Trojan source" (CVE-2021-42574): U+202E RIGHT-TO-LEFT OVERRIDE shows what follows it reversed;
    # the list is Unicode's bidi format characters (UAX #9, table 4): marks, embeddings, overrides, isolates
    assert printable("cat\u202egod") == "cat\\u202egod"
    bidi = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert printable(bidi) == "".join(f"\\u{ord(c):04x}" for c in bidi)
    # their neighbours are text: zero-width joiner U+200D, narrow no-break space U+202F, U+2065, superscript 0 U+2070
    assert printable("a\u200db\u202fc\u2065d\u2070") == "a\u200db\u202fc\u2065d\u2070"
