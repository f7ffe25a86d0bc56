"""PyTorch interop: every option of nn.LSTM / nn.RNN / cells / Linear, outputs against torch itself
(weights copied), round trips bit for bit, and state_dict files read safely."""

from __future__ import annotations

import itertools
import os
import re

import numpy as np
import pytest
from oracles import record_close

torch = pytest.importorskip("torch")
nn = torch.nn

import lstmkit  # noqa: E402
from lstmkit.interop.pytorch import (  # noqa: E402
    from_torch,
    load_state_dict_file,
    module_from_state_dict,
    save_state_dict_file,
    to_torch,
)

ERRORS: dict[str, float] = {}


def check_close(name, ours, ref, tol):
    record_close(ERRORS, "torch", name, ours, ref, tol)


def same_state(a: dict, b: dict):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


LSTM_GRID = [
    dict(num_layers=L, bidirectional=bi, proj_size=p, bias=b, batch_first=bf)
    for L, bi, p, b, bf in itertools.product((1, 2), (False, True), (0, 2), (True, False), (False, True))
]


@pytest.mark.parametrize("opts", LSTM_GRID, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_lstm_matches_torch_and_round_trips(opts):
    torch.manual_seed(len(str(opts)))
    I, H, T, B = 3, 5, 6, 4
    net = nn.LSTM(I, H, **opts, dtype=torch.float64).eval()
    ours = from_torch(net)
    assert ours.dtype == np.float64 and ours.training is False
    D, L, P = 1 + opts["bidirectional"], opts["num_layers"], opts["proj_size"] or H
    x = torch.randn(B, T, I, dtype=torch.float64) if opts["batch_first"] else torch.randn(T, B, I, dtype=torch.float64)
    h0, c0 = torch.randn(D * L, B, P, dtype=torch.float64), torch.randn(D * L, B, H, dtype=torch.float64)
    with torch.no_grad():
        y, (hn, cn) = net(x, (h0, c0))
    y2, (hn2, cn2) = ours(x.numpy(), (h0.numpy(), c0.numpy()))
    check_close("nn.LSTM y", y2, y.numpy(), 1e-12)
    check_close("nn.LSTM h_n", hn2, hn.numpy(), 1e-12)
    check_close("nn.LSTM c_n", cn2, cn.numpy(), 1e-12)
    # torch -> lstmkit -> torch and lstmkit -> torch -> lstmkit: bit for bit
    back = to_torch(ours)
    same_state({k: v.numpy() for k, v in back.state_dict().items()}, {k: v.numpy() for k, v in net.state_dict().items()})
    same_state(from_torch(back).state_dict(), ours.state_dict())


def test_lstm_variable_lengths_match_packed_sequences():
    torch.manual_seed(1)
    net = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    ours = from_torch(net)
    x = torch.randn(7, 3, 3, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
    with torch.no_grad():
        yp, (hn, cn) = net(packed)
    y, _ = nn.utils.rnn.pad_packed_sequence(yp, total_length=7)
    y2, (hn2, cn2) = ours(x.numpy(), lengths=lengths.numpy())
    check_close("nn.LSTM packed y", y2, y.numpy(), 1e-12)
    check_close("nn.LSTM packed h_n", hn2, hn.numpy(), 1e-12)
    check_close("nn.LSTM packed c_n", cn2, cn.numpy(), 1e-12)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_matches_torch_and_round_trips(nonlinearity, bidirectional, bias):
    torch.manual_seed(2)
    net = nn.RNN(3, 5, num_layers=2, nonlinearity=nonlinearity, bias=bias, bidirectional=bidirectional, dtype=torch.float64)
    ours = from_torch(net)
    assert ours.nonlinearity == nonlinearity
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        y, hn = net(x)
    y2, hn2 = ours(x.numpy())
    check_close("nn.RNN y", y2, y.numpy(), 1e-12)
    check_close("nn.RNN h_n", hn2, hn.numpy(), 1e-12)
    same_state(from_torch(to_torch(ours)).state_dict(), ours.state_dict())


@pytest.mark.parametrize("bias", [True, False])
def test_cells_match_torch_and_round_trip(bias):
    torch.manual_seed(3)
    x, h, c = (torch.randn(4, n, dtype=torch.float64) for n in (3, 5, 5))
    tcell = nn.LSTMCell(3, 5, bias=bias, dtype=torch.float64)
    cell = from_torch(tcell)
    with torch.no_grad():
        h1, c1 = tcell(x, (h, c))
    h2, c2 = cell(x.numpy(), (h.numpy(), c.numpy()))
    check_close("nn.LSTMCell h", h2, h1.numpy(), 1e-13)
    check_close("nn.LSTMCell c", c2, c1.numpy(), 1e-13)
    same_state(from_torch(to_torch(cell)).state_dict(), cell.state_dict())
    for nl in ("tanh", "relu"):
        trnn = nn.RNNCell(3, 5, bias=bias, nonlinearity=nl, dtype=torch.float64)
        rcell = from_torch(trnn)
        with torch.no_grad():
            h1 = trnn(x, h)
        check_close("nn.RNNCell h", rcell(x.numpy(), h.numpy()), h1.numpy(), 1e-13)
        same_state(from_torch(to_torch(rcell)).state_dict(), rcell.state_dict())


def test_float32_stays_float32_and_matches():
    torch.manual_seed(4)
    net = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=3)
    ours = from_torch(net)
    assert ours.dtype == np.float32
    x = torch.randn(10, 2, 3)
    with torch.no_grad():
        y = net(x)[0].numpy()
    check_close("nn.LSTM y float32", ours(x.numpy())[0], y, 2e-6)
    same_state({k: v.numpy() for k, v in to_torch(ours).state_dict().items()}, {k: v.numpy() for k, v in net.state_dict().items()})


@pytest.mark.parametrize("bias", [True, False])
def test_linear_readout_round_trip(bias):
    torch.manual_seed(5)
    lin = nn.Linear(6, 3, bias=bias, dtype=torch.float64)
    ro = from_torch(lin)
    assert set(ro) == ({"weight", "bias"} if bias else {"weight"})
    z = torch.randn(4, 6, dtype=torch.float64)
    with torch.no_grad():
        ref = lin(z).numpy()
    ours = z.numpy() @ ro["weight"].T + (ro["bias"] if bias else 0)
    check_close("nn.Linear", ours, ref, 1e-14)
    back = to_torch(ro)
    same_state({k: v.numpy() for k, v in back.state_dict().items()}, ro)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
        self.fc = nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(self.encoder(x)[0])


def test_state_dict_file_of_a_model_rebuilds_lstm_and_readout(tmp_path):
    torch.manual_seed(6)
    net = Net().double().eval()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    sd = load_state_dict_file(tmp_path / "net.pt")
    module, head = module_from_state_dict(sd)
    assert type(module) is lstmkit.LSTM and module.num_layers == 2 and module.bidirectional and module.proj_size == 2
    module.batch_first = True  # not visible in weights
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    with torch.no_grad():
        ref = net(x).numpy()
    ours = lstmkit.modelfile.LSTMFile(module, head, {}).predict(x.numpy())
    check_close("state_dict file model", ours, ref, 1e-12)
    # and back out: a file torch loads into the same model class
    save_state_dict_file(tmp_path / "out.pt", module, head)
    sd2 = torch.load(tmp_path / "out.pt", weights_only=True)
    assert set(sd2) == {f"rnn.{k}" for k in module.state_dict()} | {"head.weight", "head.bias"}


def test_state_dict_inference_kinds():
    torch.manual_seed(7)
    for tm, kind in (
        (nn.RNN(3, 4, num_layers=3, bias=False), lstmkit.RNN),
        (nn.LSTMCell(3, 4), lstmkit.LSTMCell),
        (nn.RNNCell(3, 4), lstmkit.RNNCell),
        (nn.LSTM(3, 4, bidirectional=True), lstmkit.LSTM),
    ):
        module, head = module_from_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
        assert type(module) is kind and head is None
        same_state(module.state_dict(), {k: v.numpy() for k, v in tm.state_dict().items()})


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(TypeError, match="GRU"):
        from_torch(nn.GRU(3, 4))
    gru = {k: v.numpy() for k, v in nn.GRU(3, 4).state_dict().items()}
    with pytest.raises(ValueError, match="GRU"):
        module_from_state_dict(gru)
    sd = {k: v.numpy() for k, v in Net().state_dict().items()}
    sd["norm.running_mean"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="norm.running_mean"):
        module_from_state_dict(sd)
    sd = {k: v.numpy() for k, v in Net().state_dict().items()}
    sd["fc.weight"] = np.zeros((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"fc.weight.*\(O, 4\)"):
        module_from_state_dict(sd)
    # a whole pickled module is refused by weights_only=True, and nothing runs
    torch.save(Net(), tmp_path / "whole.pt")
    with pytest.raises(ValueError, match="state_dict") as info:
        load_state_dict_file(tmp_path / "whole.pt")
    # the reason torch gives (a class it will not unpickle), not its advice to load with weights_only=False
    assert "Unsupported global" in str(info.value) and "weights_only` set to `False`" not in str(info.value)
    assert str(info.value).endswith("never runs a file's code: save the module's state_dict().")
    m = lstmkit.LSTM(2, 3, peephole=True, seed=0) if "peephole" in lstmkit.LSTM.__init__.__code__.co_varnames else None
    if m is not None:
        with pytest.raises(ValueError, match="peephole"):
            to_torch(m)


@pytest.fixture(scope="module", autouse=True)
def report_errors():
    yield
    print("\nmax |lstmkit - torch| per quantity:", {k: f"{v:.2g}" for k, v in ERRORS.items()})


def test_imported_lstm_gradients_match_autograd():
    """After import the module trains like the original: every gradient equals torch autograd's."""
    torch.manual_seed(8)
    net = nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, dtype=torch.float64)
    ours = from_torch(net)
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    y, (hn, cn) = net(x)
    w_y, w_h, w_c = (torch.randn_like(t) for t in (y, hn, cn))
    ((y * w_y).sum() + (hn * w_h).sum() + (cn * w_c).sum()).backward()
    ours(x.detach().numpy())
    dx, _ = ours.backward(w_y.numpy(), (w_h.numpy(), w_c.numpy()))
    check_close("nn.LSTM dx", dx, x.grad.numpy(), 1e-12)
    for k, p in net.named_parameters():
        check_close("nn.LSTM d(params)", ours.grads[k], p.grad.numpy(), 1e-12)


def test_a_named_readout_leaves_the_other_layers_out_with_a_warning():
    # lstm -> fc1 -> fc2: naming fc2 keeps lstm -> fc2 only, which is another model: say so
    sd = {k: v.numpy() for k, v in torch.nn.LSTM(4, 5).state_dict().items()}
    sd.update({"fc1.weight": np.zeros((5, 5), np.float32), "fc2.weight": np.zeros((2, 5), np.float32)})
    with pytest.raises(ValueError, match="at most one Linear read-out"):
        module_from_state_dict(sd)
    with pytest.warns(UserWarning, match=r"the read-out is 'fc2'; the weights of \['fc1'\] are left out"):
        module, head = module_from_state_dict(sd, readout="fc2")
    assert head["weight"].shape == (2, 5)


@pytest.mark.parametrize("before", ["embedding", "projection"])
def test_a_layer_before_the_lstm_is_not_taken_for_the_readout(before):
    """nn.Embedding(7, 4) or nn.Linear(4, 3) registered before the LSTM, nothing after: the one weight beside the
    LSTM's has a read-out's shape (O, D*H) but is what the LSTM reads. It was taken for a read-out after it."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Embedding(7, 4) if before == "embedding" else nn.Linear(4, 3)
            self.lstm = nn.LSTM(4 if before == "embedding" else 3, 4)

    sd = {k: v.numpy() for k, v in Net().state_dict().items()}
    with pytest.raises(ValueError, match=r"expected pre.weight a read-out after the LSTM .*, got keys before the LSTM's .* name it with readout='pre'"):
        module_from_state_dict(sd)
    module, head = module_from_state_dict(sd, readout="pre")  # named: the user says it is one
    assert head["weight"].shape == sd["pre.weight"].shape


# -- state_dict files as torch users save them: other layers, training checkpoints --------------------------------
class NormNet(nn.Module):
    """lstm -> a normalisation over the features -> fc, the norm a BatchNorm1d (running statistics, an int64
    num_batches_tracked) or a LayerNorm (1-D weight and bias)."""

    def __init__(self, norm):
        super().__init__()
        self.lstm = nn.LSTM(3, 6, batch_first=True)
        self.norm = nn.BatchNorm1d(6) if norm == "batchnorm" else nn.LayerNorm(6)
        self.fc = nn.Linear(6, 2)


@pytest.mark.parametrize("norm", ["batchnorm", "layernorm"])
def test_a_layer_lstmkit_has_no_twin_for_is_named_and_left_out_when_the_readout_is(tmp_path, norm, capsys):
    """A BatchNorm's state_dict was refused for its int64 num_batches_tracked ('expected a floating-point
    tensor'), a LayerNorm's weight taken for a second read-out ('at most one Linear read-out'): neither said
    which layer lstmkit lacks. Now the layer is named with its keys, and naming the read-out (as for a second
    Linear) keeps the LSTM and fc, warning that the norm is left out: then it computes torch's fc(lstm(x))."""
    torch.manual_seed(11)
    net = NormNet(norm).double()
    torch.save(net.state_dict(), tmp_path / "net.pt")
    sd = load_state_dict_file(tmp_path / "net.pt")
    keys = ", ".join(f"norm.{k}" for k in net.norm.state_dict())
    with pytest.raises(ValueError, match=rf"^module_from_state_dict: expected state only the recurrent weights and Linear layers \(one of them the read-out\), "
                                         rf"got 1 other layer lstmkit has no twin for: 'norm' \({re.escape(keys)}\)\. To convert the LSTM and its read-out 'fc' alone, "
                                         r"name the read-out: readout='fc' \(convert: --readout fc\); the weights of \['norm'\] are then left out, with a warning"):  # fmt: skip
        module_from_state_dict(sd)
    with pytest.warns(UserWarning, match=r"the read-out is 'fc'; the weights of \['norm'\] are left out"):
        module, head = module_from_state_dict(sd, readout="fc")
    module.batch_first = True
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        ref = net.fc(net.lstm(x)[0]).numpy()
    check_close("state_dict file, a norm left out", lstmkit.modelfile.LSTMFile(module, head, {}).predict(x.numpy()), ref, 1e-12)
    from lstmkit.cli import main

    assert main(["convert", str(tmp_path / "net.pt"), str(tmp_path / "net.npz")]) == 1
    assert "got 1 other layer lstmkit has no twin for: 'norm'" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "net.pt"), str(tmp_path / "net.npz"), "--readout", "fc"]) == 0
    assert "the weights of ['norm'] are left out" in capsys.readouterr().err


def test_a_recurrent_weight_that_is_not_floating_point_is_refused_once_whatever_the_route(tmp_path):
    """An int64 weight_ih_l0 was refused twice, worded two ways: from a file by load_state_dict_file's reading
    ('lstmkit.interop.pytorch: expected state_dict[...] ..., got dtype torch.int64'), from a dict of NumPy arrays by
    module_from_state_dict. Now the file's arrays reach module_from_state_dict, whose one refusal both routes get."""
    sd = {k: v.numpy() for k, v in nn.LSTM(3, 4).state_dict().items()}
    sd["weight_ih_l0"] = np.zeros((16, 3), np.int64)
    torch.save({k: torch.from_numpy(v) for k, v in sd.items()}, tmp_path / "int.pt")
    said = r"^module_from_state_dict: expected state\['weight_ih_l0'\] a floating-point tensor, got dtype int64\.$"
    for state in (sd, load_state_dict_file(tmp_path / "int.pt")):
        with pytest.raises(TypeError, match=said):
            module_from_state_dict(state)


def test_a_readout_the_state_dict_has_not_is_a_value_error():
    """readout naming no Linear of the state_dict was a KeyError ("module_from_state_dict: ..." in quotes, and
    lstmkit convert did not word it as its own): a wrong value, a ValueError; a state_dict without the recurrent
    weights the same."""
    sd = {k: v.numpy() for k, v in NormNet("layernorm").state_dict().items() if not k.startswith("norm.")}
    with pytest.raises(ValueError, match=r"^module_from_state_dict: expected readout one of \['fc'\], got 'head'\.$"):
        module_from_state_dict(sd, readout="head")
    with pytest.raises(ValueError, match=r"^module_from_state_dict: expected state lstm.weight_ih_l0 and lstm.weight_hh_l0 \(or a cell's lstm.weight_ih, "
                                         r"lstm.weight_hh\), got keys \['lstm.bias_hh_l0', 'lstm.bias_ih_l0', 'lstm.weight_hh_l0'\]\.$"):  # fmt: skip
        module_from_state_dict({k: v for k, v in sd.items() if k.startswith("lstm.") and k != "lstm.weight_ih_l0"})


def test_source_names_the_file_in_the_refusals_of_its_keys_not_in_those_of_the_arguments():
    """source: the file the state came from, named before each key a refusal names (lstmkit convert spliced the
    path into the message's text after 'expected ', and skipped readout and nonlinearity by their words); a
    refusal of readout is of the caller's argument, not of the file, and names none."""
    z = lambda *shape, dtype=np.float32: np.zeros(shape, dtype)  # noqa: E731
    lstm = {"lstm.weight_ih_l0": z(16, 3), "lstm.weight_hh_l0": z(16, 4)}
    for state, said in (
        ({"weight_ih_l0": z(16, 3, dtype=np.int64)}, "expected lstm.pt state['weight_ih_l0'] a floating-point tensor, got dtype int64."),
        ({**lstm, "fc.weight": z(2, 5)}, "expected lstm.pt fc.weight a read-out weight of shape (O, 4), got shape (2, 5)."),
        ({"lstm.weight_hh_l0": z(16, 4)}, "expected lstm.pt state lstm.weight_ih_l0 and lstm.weight_hh_l0 (or a cell's lstm.weight_ih, "
                                          "lstm.weight_hh), got keys ['lstm.weight_hh_l0']."),
        ({**lstm, "lstm.weight_ih_l1": z(16, 4)}, "expected lstm.pt state exactly the keys ['lstm.weight_ih_l0', 'lstm.weight_hh_l0', "
                                                  "'lstm.weight_ih_l1', 'lstm.weight_hh_l1'] (of the LSTM(3, 4, num_layers=2, bias=False, dtype=float32) its keys "
                                                  "describe), got missing ['lstm.weight_hh_l1'] and unexpected []. A state_dict holds every weight "
                                                  "of each layer and direction: this one was edited, or is of another module."),
    ):  # fmt: skip
        with pytest.raises((ValueError, TypeError)) as raised:
            module_from_state_dict(state, source="lstm.pt")
        assert str(raised.value) == f"module_from_state_dict: {said}"
        with pytest.raises(type(raised.value)) as plain:  # without source: the key alone, as before
            module_from_state_dict(state)
        assert str(plain.value) == f"module_from_state_dict: {said.replace('lstm.pt: ', '').replace('lstm.pt ', '')}"
    with pytest.raises(ValueError) as raised:
        module_from_state_dict({**lstm, "fc.weight": z(2, 4)}, readout="head", source="lstm.pt")
    assert str(raised.value) == "module_from_state_dict: expected readout one of ['fc'], got 'head'."


def test_a_layer_lstmkit_has_no_twin_for_without_a_linear():
    """Beside the LSTM only a norm: nothing to name as the read-out, so the fix is saving the LSTM's weights."""
    sd = {k: v.numpy() for k, v in NormNet("layernorm").state_dict().items() if not k.startswith("fc.")}
    with pytest.raises(ValueError, match=r"got 1 other layer lstmkit has no twin for: 'norm' \(norm.weight, norm.bias\)\. Save the LSTM's weights alone: "
                                         r"torch.save\(model.lstm.state_dict\(\), 'lstm.pt'\)\.$"):  # fmt: skip
        module_from_state_dict(sd)


def test_a_training_checkpoint_is_read_from_its_one_state_dict(tmp_path):
    """torch.save({"model": sd, "epoch": 3, "optimizer": opt.state_dict()}), the usual training checkpoint, was
    refused: "expected state_dict['model'] a torch.Tensor, got OrderedDict". Its one entry that is a state_dict
    is what a user converting it means: read, with a warning naming it and what is left out, computing torch's
    numbers. Two state_dicts (a model and its EMA twin) are refused naming both, none saying how to save one."""
    torch.manual_seed(12)
    net = Net().double().eval()
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 4, 3, dtype=torch.float64)).sum().backward()
    opt.step()  # the optimizer's state holds tensors too, under int keys
    torch.save({"model": net.state_dict(), "epoch": 3, "optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    with pytest.warns(UserWarning, match=r"^load_state_dict_file: \S+ckpt.pt is a checkpoint dict with keys \['model', 'epoch', 'optimizer'\]: "
                                         r"the state_dict read is its entry 'model'; the rest \(epoch, optimizer\) is left out\.$"):  # fmt: skip
        sd = load_state_dict_file(tmp_path / "ckpt.pt")
    module, head = module_from_state_dict(sd)
    module.batch_first = True
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    with torch.no_grad():
        ref = net(x).numpy()
    check_close("training checkpoint's state_dict", lstmkit.modelfile.LSTMFile(module, head, {}).predict(x.numpy()), ref, 1e-12)
    torch.save({"model": net.state_dict(), "ema": net.state_dict(), "epoch": 3}, tmp_path / "two.pt")
    with pytest.raises(ValueError, match=r"expected \S+two.pt a state_dict, or a checkpoint dict holding one, got a dict with keys \['model', 'ema', 'epoch'\], "
                                         r"of which \['model', 'ema'\] are each a state_dict\. Save the one to convert on its own: torch.save\(checkpoint\['model'\], 'model.pt'\)\.$"):  # fmt: skip
        load_state_dict_file(tmp_path / "two.pt")
    torch.save({**net.state_dict(), "epoch": 3}, tmp_path / "mixed.pt")
    with pytest.raises(ValueError, match=r"expected \S+mixed.pt a mapping name -> tensor \(a state_dict\), got a dict with keys \[.*\], whose entry 'epoch' is an int\. "
                                         r"If it is a training checkpoint, save the model's weights alone: torch.save\(model.state_dict\(\), 'model.pt'\)\.$"):  # fmt: skip
        load_state_dict_file(tmp_path / "mixed.pt")


# -- to_torch: lstmkit.Linear, and what a SequenceModel is in torch ---------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_torch_of_a_linear_is_an_nn_linear(bias, dtype):
    """from_torch(nn.Linear) worked and to_torch(lstmkit.Linear) was refused: now an nn.Linear with the very
    weights, dtype and training mode, computing (and back-propagating) what lstmkit's does, by torch's autograd."""
    lin = lstmkit.Linear(5, 3, bias=bias, dtype=dtype, seed=13).eval()
    t = to_torch(lin)
    assert isinstance(t, nn.Linear) and t.training is False and t.weight.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    same_state({k: v.detach().numpy() for k, v in t.state_dict().items()}, lin.state_dict())
    x = np.random.default_rng(13).normal(size=(2, 4, 5)).astype(dtype)
    xt = torch.from_numpy(x).requires_grad_()
    y = t(xt)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    check_close("to_torch(Linear) y", lin.train()(x), y.detach().numpy(), 1e-12 if dtype == np.float64 else 1e-6)
    check_close("to_torch(Linear) dx", lin.backward(w.numpy()), xt.grad.numpy(), 1e-12 if dtype == np.float64 else 1e-6)
    same_state(from_torch(t), lin.state_dict())  # and back: the read-out dict


def test_to_torch_of_a_sequence_model_says_how():
    """to_torch(SequenceModel) was refused with no way out: now it says to take the two parts, and what a
    torch forward does with them (the last step, one-hot ids); so does a fitted estimator, naming model_.
    h_n is each sequence's last valid step only for a packed batch: the advice says to pack sequences of
    different lengths (it said h_n[-1] is the last valid step, which of a padded batch it is not)."""
    seq = lstmkit.SequenceModel(3, 2, 4, head="last", bidirectional=True, seed=0)
    with pytest.raises(TypeError, match=r"^to_torch: expected module an lstmkit LSTM, RNN, LSTMCell, RNNCell, Linear or a read-out dict, got a SequenceModel\. "
                                        r"A SequenceModel is a recurrent layer and a read-out, two torch modules: rnn, readout = model.parts\(\), then to_torch\(rnn\) "
                                        r"and to_torch\(readout\) .* Its forward reads each sequence's last valid step, torch.cat\(\(h_n\[-2\], h_n\[-1\]\), 1\), through the Linear: "
                                        r"h_n is that step for sequences of different lengths only when they are packed, pack_padded_sequence\(x, lengths, "
                                        r"batch_first=True, enforce_sorted=False\) \(of a padded batch, h_n is step T's\)\.$"):  # fmt: skip
        to_torch(seq)
    rnn, readout = seq.parts()  # the way it gives computes the model's numbers in torch
    t_rnn, t_fc = to_torch(rnn), to_torch(readout)
    x = np.random.default_rng(14).normal(size=(2, 5, 3)).astype(np.float32)
    with torch.no_grad():
        _, (h_n, _) = t_rnn(torch.from_numpy(x))
        ref = t_fc(torch.cat((h_n[-2], h_n[-1]), 1)).numpy()
    check_close("SequenceModel through to_torch(parts)", seq.eval()(x)[0], ref, 1e-6)
    # sequences of 5 and 3 steps, padded: torch's h_n of the packed batch is the model's with lengths; unpacked, it is not
    lengths = np.array([5, 3])
    with torch.no_grad():
        packed = nn.utils.rnn.pack_padded_sequence(torch.from_numpy(x), torch.from_numpy(lengths), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = t_rnn(packed)
        ref = t_fc(torch.cat((h_n[-2], h_n[-1]), 1)).numpy()
    with seq.no_grad():
        check_close("SequenceModel with lengths through to_torch(parts), packed", seq.eval()(x, lengths)[0], ref, 1e-6)
        assert np.abs(seq(x, lengths)[0] - seq(x)[0]).max() > 1e-3  # the padded batch's h_n (step T's) is another number
    tokens = lstmkit.SequenceModel(5, 4, 4, inputs="tokens", readout="identity", seed=0)
    with pytest.raises(TypeError, match=r"The LSTM takes one-hot rows of the ids: torch.nn.functional.one_hot\(ids, 5\).float\(\)\.$"):
        to_torch(tokens)
    est = lstmkit.LSTMClassifier(hidden_size=4, epochs=1, seed=0, verbose=0).fit(x, np.array([0, 1]))
    with pytest.raises(TypeError, match=r"got an LSTMClassifier\. Its network, est.model_, is a SequenceModel: .* rnn, readout = est.model_.parts\(\)"):
        to_torch(est)


def test_a_sequence_models_head_is_not_lost_in_a_state_dict_file(tmp_path):
    """save_state_dict_file(path, model) of a SequenceModel wrote its weights (rnn.*, head.*) whatever its head: a
    head="last" model (the read-out of each sequence's last step) read back through module_from_state_dict as an
    LSTM with its read-out at every step, another model, without a word; so did inputs="tokens" (one-hot ids) and
    lstm_options (peepholes, written as if plain). Now those are refused, saying what a state_dict holds and what to
    do; a head="all" model is written as its parts and reads back computing what torch computes with the same file."""
    last = lstmkit.SequenceModel(3, 2, 4, head="last", seed=0)
    said = (r"^save_state_dict_file: expected module a SequenceModel with head='all' and inputs='features' \(what a state_dict reads back as: "
            r"an LSTM with its read-out at every step\), got a SequenceModel with {}\. A state_dict holds weights only: read back, it would be "
            r"another model\. Save the whole model as \.npz \(model\.save\){}; or write its weights alone, save_state_dict_file\(path, \*model\.parts\(\)\), "
            r"for a torch forward that {}\.$")  # fmt: skip
    with pytest.raises(ValueError, match=said.format("head='last'", r", \.keras or \.onnx", r"reads each sequence's last valid step \(h_n\[-1\] of packed sequences\)")):
        save_state_dict_file(tmp_path / "last.pt", last)
    tokens = lstmkit.SequenceModel(5, 8, 4, inputs="tokens", head="last", bidirectional=True, readout="identity", seed=0)
    with pytest.raises(ValueError, match=said.format("head='last' and inputs='tokens'", r" or \.onnx", r"reads each .* \(torch\.cat\(\(h_n\[-2\], h_n\[-1\]\), 1\) "
                                                     r"of packed sequences\) and takes one-hot rows of the ids \(torch\.nn\.functional\.one_hot\(ids, 5\)\.float\(\)\)")):
        save_state_dict_file(tmp_path / "tokens.pt", tokens)
    with pytest.raises(ValueError, match=r"^save_state_dict_file: expected module a plain module .*, got options \{'peephole': True\}\.$"):
        save_state_dict_file(tmp_path / "peep.pt", lstmkit.SequenceModel(3, 2, 4, seed=0, lstm_options={"peephole": True}))
    with pytest.raises(ValueError, match=r"^save_state_dict_file: expected readout None for a SequenceModel"):
        save_state_dict_file(tmp_path / "two.pt", lstmkit.SequenceModel(3, 2, 4, seed=0), {"weight": np.ones((2, 4), np.float32)})
    assert not any(tmp_path.iterdir())  # nothing written
    # head="all": its parts, read by torch into a model of attributes rnn and head, and by lstmkit, alike
    every = lstmkit.SequenceModel(3, 2, 4, seed=1)
    save_state_dict_file(tmp_path / "all.pt", every)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn, self.head = nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[0])

    net = Net()
    net.load_state_dict(torch.load(tmp_path / "all.pt", weights_only=True))
    x = np.random.default_rng(21).normal(size=(2, 5, 3)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    module, head = module_from_state_dict(load_state_dict_file(tmp_path / "all.pt"))
    module.batch_first = True  # not in a state_dict
    check_close("SequenceModel head='all' through a state_dict file", lstmkit.SequenceModel.from_parts(module, head, "all").eval()(x)[0], ref, 1e-6)
    check_close("SequenceModel head='all' written, in torch", every.eval()(x)[0], ref, 1e-6)
    # the parts of a head="last" model, passed as such, are written: the user has taken the head off
    save_state_dict_file(tmp_path / "parts.pt", *last.parts())
    assert set(torch.load(tmp_path / "parts.pt", weights_only=True)) == {f"rnn.{k}" for k in last.rnn.state_dict()} | {"head.weight", "head.bias"}


def test_save_state_dict_file_on_a_full_disk_names_the_file(tmp_path, monkeypatch):
    """helper-89 finding 10: torch.save writing into the file itself turned ENOSPC into "RuntimeError: [enforce
    fail at inline_container.cc:672] . unexpected pos 30 vs 0", naming no file. The old file stays as it was."""
    import errno

    from lstmkit.interop.pytorch import save_state_dict_file

    module = lstmkit.LSTM(3, 4, seed=0)
    path = tmp_path / "m.pt"
    path.write_bytes(b"the old file")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f, self.writes = f, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):  # the disk fills up after the first write (a single write of the whole file fails)
            self.writes += 1
            if self.writes > 1 or len(data) > 64:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: Full(real_fdopen(fd, mode, *a, **k)))
    with pytest.raises(OSError) as info:
        save_state_dict_file(path, module)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
    monkeypatch.undo()
    assert path.read_bytes() == b"the old file" and sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_save_state_dict_file_of_an_estimator_is_a_clear_refusal(tmp_path):
    from lstmkit.interop.pytorch import save_state_dict_file

    est = lstmkit.LSTMRegressor()
    with pytest.raises(TypeError, match=r"^save_state_dict_file: expected module an lstmkit LSTM, RNN or SequenceModel, got LSTMRegressor\. .*model_"):
        save_state_dict_file(tmp_path / "m.pt", est)
    assert not (tmp_path / "m.pt").exists()


def _tagger_state(edit=None):
    """A torch model's state_dict, self.lstm = nn.LSTM(3, 4, 2) and self.fc = nn.Linear(4, 2), built by torch,
    then ``edit(state)`` done to it by hand, as a damaged or hostile file holds it."""
    torch.manual_seed(0)
    lstm, fc = nn.LSTM(3, 4, 2), nn.Linear(4, 2)
    state = {**{f"lstm.{k}": v.clone() for k, v in lstm.state_dict().items()}, **{f"fc.{k}": v.clone() for k, v in fc.state_dict().items()}}
    if edit is not None:
        edit(state)
    return state


def test_a_pt_files_bad_tensor_is_named_by_the_file_and_its_key(tmp_path):
    """helper-89 finding 6: a sparse tensor was torch's "can't convert Sparse layout tensor to numpy"; a NaN was
    "LSTM.load_state_dict: expected weight_ih_l0 finite values, got NaN or inf" (no key as stored, no index), one in
    the read-out was read without a word, and a misshaped layer-1 weight named its key without the model's prefix."""
    path = tmp_path / "sparse.pt"
    torch.save(_tagger_state(lambda s: s.update({"lstm.weight_hh_l0": s["lstm.weight_hh_l0"].to_sparse()})), path)
    with pytest.raises(TypeError, match=rf"^load_state_dict_file: expected {re.escape(str(path))} state_dict\['lstm.weight_hh_l0'\] "
                                        r"a dense tensor \(torch.strided layout\), got layout torch.sparse_coo\. Save it dense"):  # fmt: skip
        load_state_dict_file(path)
    cases = [  # (edit, the refusal): NaN at (5, 2) of W_ih (16, 3), inf in the read-out's bias, W_hh of layer 1 (16, 5)
        (lambda s: s["lstm.weight_ih_l0"].__setitem__((5, 2), float("nan")), r"state\['lstm.weight_ih_l0'\] finite values, got nan at index \(5, 2\)\."),
        (lambda s: s["fc.bias"].__setitem__(1, float("-inf")), r"state\['fc.bias'\] finite values, got -inf at index \(1,\)\."),
        (lambda s: s.update({"lstm.weight_hh_l1": torch.zeros(16, 5)}),
         r"state\['lstm.weight_hh_l1'\] shape \(16, 4\) \(of the LSTM\(3, 4, num_layers=2, dtype=float32\) that lstm.weight_ih_l0 and lstm.weight_hh_l0 make\), got shape \(16, 5\)\."),
    ]  # fmt: skip
    for edit, told in cases:
        torch.save(_tagger_state(edit), tmp_path / "bad.pt")
        with pytest.raises(ValueError, match=rf"^module_from_state_dict: expected {told}$"):
            module_from_state_dict(load_state_dict_file(tmp_path / "bad.pt"))
    # a float64 read-out beyond the float32 model's range: named as stored, where the cast made it inf quietly
    state = {k: v.numpy() for k, v in _tagger_state().items()}
    state["fc.weight"] = state["fc.weight"].astype(np.float64)
    state["fc.weight"][1, 3] = 1e39
    with pytest.raises(ValueError) as raised:
        module_from_state_dict(state)
    assert str(raised.value) == ("module_from_state_dict: expected state['fc.weight'] values within float32's range (±3.4e38), got 1e+39 at "
                                 "index (1, 3). module_from_state_dict reads the state in the float type of its lstm.weight_hh_l0 (float32 "
                                 "here): save every weight in float64 (model.double().state_dict()) to read it in float64.")  # no dtype= to give


def test_the_refusals_of_the_recurrent_keys_name_them_as_the_state_holds_them():
    """A state_dict under a prefix (a model's self.rnn): _recurrent_from_keys named its keys without it ('weight_hh_l0
    a 2-D weight', 'that weight_ih_l0 and weight_hh_l0 make', 'LSTM.load_state_dict: expected state exactly the keys
    ['weight_ih_l0', ...]'), which the user's file does not hold; a 1-D weight_ih_l0 was named as weight_hh_l0 with
    weight_hh_l0's (good) shape. Each key is named as in the state, the one at fault with its own shape."""
    z = lambda *shape: np.zeros(shape, np.float32)  # noqa: E731
    good = {f"rnn.{k}": v.numpy() for k, v in nn.LSTM(3, 4, 2).state_dict().items()}  # I = 3, H = 4, L = 2
    lstm = "LSTM(3, 4, num_layers=2, dtype=float32)"
    for edit, said in (
        ({"rnn.weight_ih_l0": z(3)}, "expected state['rnn.weight_ih_l0'] a 2-D weight, got shape (3,)."),
        ({"rnn.weight_hh_l0": z(12, 4)}, "expected state['rnn.weight_hh_l0'] shape (4H, H) or (4H, P) for an LSTM, (H, H) for an RNN, got shape (12, 4)."),
        ({"rnn.weight_hh_l1": z(16, 5)}, f"expected state['rnn.weight_hh_l1'] shape (16, 4) (of the {lstm} that rnn.weight_ih_l0 and rnn.weight_hh_l0 make), got shape (16, 5)."),
        ({"rnn.bias_hh_l1": None}, f"expected state exactly the keys {list(good)} (of the {lstm} its keys describe), got missing ['rnn.bias_hh_l1'] and unexpected []."),
        ({"rnn.weight_ih": z(16, 3)}, "expected state either layer keys (weight_ih_l0, ...) or cell keys (weight_ih, ...), got both in ["),
    ):  # fmt: skip
        state = {k: v for k, v in {**good, **edit}.items() if v is not None}
        with pytest.raises(ValueError) as raised:
            module_from_state_dict(state)
        assert str(raised.value).startswith(f"module_from_state_dict: {said}"), str(raised.value)
    cell = {f"cell.{k}": v.numpy() for k, v in nn.LSTMCell(3, 4).state_dict().items()}
    with pytest.raises(ValueError, match=r"^module_from_state_dict: expected state\['cell\.weight_hh'\] a 2-D weight, got shape \(16,\)\.$"):
        module_from_state_dict({**cell, "cell.weight_hh": z(16)})


def test_a_float64_value_beyond_the_float32_dtype_asked_is_named_not_made_inf():
    """from_torch(module, dtype=numpy.float32) of a float64 module cast with astype: a 1e39 became inf with NumPy's
    'overflow encountered in cast' only, an nn.Linear's read-out returned holding it, an nn.LSTM's refused as
    'LSTM.load_state_dict: expected weight_hh_l0 finite values, got NaN or inf' (no from_torch, no value, no index).
    A float64 weight_ih_l0 beside a float32 weight_hh_l0 (a float32 module) was refused by LSTM.load_state_dict without
    the state's prefix. Each is named by its key, value and index, as a float64 read-out beside float32 weights is."""
    import warnings

    lin, lstm = nn.Linear(4, 2, dtype=torch.float64), nn.LSTM(3, 4, dtype=torch.float64)
    with torch.no_grad():
        lin.weight[1, 3] = 1e39
        lstm.weight_hh_l0[5, 2] = -1e39
    state = {"rnn.weight_ih_l0": np.zeros((16, 3)), "rnn.weight_hh_l0": np.zeros((16, 4), np.float32)}
    state["rnn.weight_ih_l0"][7, 1] = 1e39
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'overflow encountered in cast'
        for call, said in (
            (lambda: from_torch(lin, dtype=np.float32), "from_torch: expected state_dict['weight'] values within float32's range (±3.4e38), got 1e+39 at index (1, 3)."),
            (lambda: from_torch(lstm, dtype=np.float32), "from_torch: expected state_dict['weight_hh_l0'] values within float32's range (±3.4e38), got -1e+39 at index (5, 2)."),
            (lambda: module_from_state_dict(state), "module_from_state_dict: expected state['rnn.weight_ih_l0'] values within float32's range (±3.4e38), got 1e+39 at index (7, 1). "
             "module_from_state_dict reads the state in the float type of its rnn.weight_hh_l0 (float32 here): save every weight in float64 "
             "(model.double().state_dict()) to read it in float64."),  # the whole of it: module_from_state_dict has no dtype= to advise
        ):  # fmt: skip
            with pytest.raises(ValueError) as raised:
                call()
            whole = said.startswith("module_from_state_dict")  # from_torch's advice (dtype=) fits it: its start is asserted
            assert str(raised.value) == said if whole else str(raised.value).startswith(said), str(raised.value)
    with torch.no_grad():
        lin.weight[1, 3] = 3e38  # within float32's range: taken
    assert from_torch(lin, dtype=np.float32)["weight"][1, 3] == np.float32(3e38)


def _bomb_pt(path, n: int) -> None:
    """A .pt as torch.save writes {"weight_ih_l0": zeros(n)} but with its tensor's record data/0 deflated
    (torch writes it stored): n float32 zeros, ~1000x smaller (helper-153's bomb.pt, at 16 MB not 2.4 GB)."""
    import io
    import zipfile

    buf = io.BytesIO()
    torch.save({"weight_ih_l0": torch.zeros(n)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            how = zipfile.ZIP_DEFLATED if info.filename.endswith("/data/0") else zipfile.ZIP_STORED
            zout.writestr(info.filename, zin.read(info), how)


def test_a_deflated_bomb_pt_is_refused_from_its_zip_directory(tmp_path, monkeypatch):
    """A 2 MB .pt whose data/0 inflated to 2.4 GB made torch.load (hence lstmkit convert) take 2.6 GB, then
    fail with a traceback (helper-153 #1). The zip directory's declared sizes are checked first, as
    lstmkit.io checks its own files: a FileFormatError naming the file and the entry, torch.load never called."""
    import zipfile

    from lstmkit import io as lio

    n = 4 * 10**6  # 16 MB of zeros: above BOMB_MIN_BYTES (8 MiB)
    path = tmp_path / "bomb.pt"
    _bomb_pt(path, n)
    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data/0"))
    assert info.file_size == 4 * n and info.file_size > lio.BOMB_MIN_BYTES and info.file_size > 100 * info.compress_size  # the premise
    calls = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(lstmkit.io.FileFormatError, match=rf"^load_state_dict_file: expected {re.escape(str(path))} a torch\.save archive of at "
                                                         rf"most 2147483648 bytes with no decompression bomb, got one where "
                                                         rf"entry '{re.escape(info.filename)}' declares {4 * n} bytes from {info.compress_size} "
                                                         rf"compressed, \d+ times as many: a decompression bomb.*torch\.save"):  # fmt: skip
        load_state_dict_file(path)
    assert calls == []


def test_a_pt_whose_deflated_entries_together_are_a_bomb_is_refused_in_words_that_read(tmp_path, monkeypatch):
    # helper-173 #6: "got one whose its deflated entries declare ...", and the advice chosen by searching the message
    # for "bomb". 4 deflated entries of 4 MiB zeros, each below BOMB_MIN_BYTES (8 MiB), 16 MiB together
    import zipfile

    from lstmkit import io as lio

    path = tmp_path / "agg.pt"
    with zipfile.ZipFile(path, "w") as z:
        for k in range(4):
            z.writestr(f"agg/data/{k}", bytes(4 * 2**20), zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        sizes = [(i.file_size, i.compress_size) for i in z.infolist()]
    assert all(f < lio.BOMB_MIN_BYTES for f, _ in sizes) and sum(f for f, _ in sizes) > lio.BOMB_MIN_BYTES  # the premise
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
    with pytest.raises(lstmkit.io.FileFormatError) as e:
        load_state_dict_file(path)
    msg = str(e.value)
    assert (f"with no decompression bomb, got one where its deflated entries declare {16 * 2**20} bytes from "
            f"{sum(c for _, c in sizes)} compressed, more than") in msg, msg
    assert "whose its" not in msg and "state_dict is far smaller" not in msg, msg  # a bomb's own fix, not the size advice
    assert msg.endswith("save the state_dict again with torch.save)."), msg


def test_a_state_dict_file_is_read_without_a_second_copy_of_its_weights(tmp_path):
    """load_state_dict_file copied every tensor torch.load gave it (.copy() after cast_float): twice a file's
    weights in memory (a 500 MB file: 1.2 GB peak, 0.72 GB now). torch.load's tensors are its own, so they are
    handed over; tied weights (one storage under two keys) and a view of a larger storage are copied, so that
    no two arrays share memory. NumPy's allocations are traced by tracemalloc (torch's are not)."""
    import tracemalloc

    w = torch.randn(1000, 1000)
    torch.save({"weight_ih_l0": w, "weight_hh_l0": torch.randn(4, 1)}, tmp_path / "w.pt")
    tracemalloc.start()
    try:
        sd = load_state_dict_file(tmp_path / "w.pt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(sd["weight_ih_l0"], w.numpy())
    assert peak < w.numel() * 4 // 2, peak  # 4 MB of weights: no copy of them made by NumPy
    tied = torch.randn(8, 3)
    torch.save({"a": tied, "b": tied, "c": tied[2:4]}, tmp_path / "tied.pt")
    sd = load_state_dict_file(tmp_path / "tied.pt")
    sd["a"][0, 0] = 1e3
    assert sd["b"][0, 0] == tied[0, 0].item() and sd["c"].tolist() == tied[2:4].tolist()
    assert not any(np.shares_memory(sd[x], sd[y]) for x, y in (("a", "b"), ("a", "c"), ("b", "c")))


def test_a_state_dict_archive_over_the_size_cap_is_refused_in_the_template_saying_what_to_save(tmp_path, monkeypatch):
    # helper-167 #3: 'load_state_dict_file: <path>: not a state_dict file lstmkit reads: entries add up to more
    # than ... bytes.', no expected/got and no fix. The cap (2 GiB, lstmkit.io.MAX_BYTES) made 1000 bytes here
    torch = pytest.importorskip("torch")
    import lstmkit.interop.pytorch as pt

    path = tmp_path / "big.pt"
    torch.save(torch.nn.LSTM(3, 4).state_dict(), path)
    monkeypatch.setattr(pt, "MAX_BYTES", 1000)
    with pytest.raises(lstmkit.io.FileFormatError, match=rf"^load_state_dict_file: expected {re.escape(str(path))} a torch\.save archive of at most "
                                                         r"1000 bytes with no decompression bomb, got one where entries add up to more than 1000 bytes\. "
                                                         r"An LSTM's state_dict is far smaller: save the LSTM's own state_dict \(lstm\.state_dict\(\)\), "
                                                         r"not the whole model's\.$"):  # fmt: skip
        pt.load_state_dict_file(path)


def test_a_pt_neither_zip_nor_legacy_is_refused_in_its_own_words(tmp_path, monkeypatch):
    """helper-207 #5: an empty file and a torch.save zip with bytes before it were told "Load it with torch.load(path)
    and save it again", which cannot work (torch.load refuses both)."""
    import zipfile

    sd = {"weight_ih_l0": torch.zeros(16, 3)}
    good, empty, prefixed, text = (tmp_path / n for n in ("good.pt", "empty.pt", "prefixed.pt", "text.pt"))
    torch.save(sd, good)
    empty.write_bytes(b"")
    prefixed.write_bytes(b"#!junk\n" + good.read_bytes())  # 7 bytes before the archive
    text.write_bytes(b"hello, not a tensor file")
    empty_zip = tmp_path / "empty_zip.pt"  # helper-219 #5: a zip archive with no entries was "no zip archive"
    zipfile.ZipFile(empty_zip, "w").close()
    assert empty_zip.read_bytes()[:4] == b"PK\x05\x06"  # the end of its directory, nothing before
    for path in (prefixed, empty_zip):
        with pytest.raises(Exception):
            torch.load(path, weights_only=True)  # the premise: torch cannot read it either
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
    start = r"^load_state_dict_file: expected {} a torch\.save zip archive \(what torch >= 1\.6 writes\), got "
    cases = [(empty, r"an empty file \(0 bytes\)\. The file holds nothing to read: save the state_dict with torch\.save\(module\.state_dict\(\), path\)\.$"),
             (prefixed, r"a zip archive after 7 other bytes \(the file opens with b'#!ju'\)\. torch\.load does not read it either: remove the 7 "
                        r"bytes before the archive, or save the state_dict with torch\.save\(module\.state_dict\(\), path\)\.$"),
             (text, r"a file that opens with b'hell': no zip archive, nor a pickle of protocol 2 or later .* It is no torch\.save file "),
             (empty_zip, r"an empty zip archive \(no entries; the file opens with b'PK\\x05\\x06'\)\. The archive holds nothing to read: "
                         r"save the state_dict with torch\.save\(module\.state_dict\(\), path\)\.$")]  # fmt: skip
    for path, got in cases:
        with pytest.raises(lstmkit.io.FileFormatError, match=start.format(re.escape(str(path))) + got):
            load_state_dict_file(path)


def test_a_pt_in_torchs_legacy_format_is_refused_with_how_to_save_it_again(tmp_path, monkeypatch):
    """helper-185 D: torch.load reads a file not opening with the zip signature in torch's legacy (pre-1.6) format,
    which allocates each tensor's storage at the size its pickle declares before any data is read: a 541-byte file
    declaring 256 MB of tensors and holding none of their bytes was read as 256 MB of uninitialised memory
    (convert took 960 MB). Refused before torch.load, also with a zip appended (zipfile.ZipFile accepts that file;
    torch.load still reads it as legacy, testing the first four bytes)."""
    import zipfile

    sd = {"weight_ih_l0": torch.zeros(16, 3), "weight_hh_l0": torch.zeros(16, 4)}
    legacy, appended = tmp_path / "legacy.pt", tmp_path / "appended.pt"
    torch.save(sd, legacy, _use_new_zipfile_serialization=False)
    torch.save(sd, appended, _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(appended, "a") as z:
        z.writestr("x/data/0", b"")
    assert set(torch.load(appended, weights_only=True)) == set(sd)  # the premise: torch reads it, as legacy
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
    for path in (legacy, appended):
        with pytest.raises(lstmkit.io.FileFormatError, match=rf"^load_state_dict_file: expected {re.escape(str(path))} a torch\.save zip "
                                                             r"archive \(what torch >= 1\.6 writes\), got a file that opens with b'\\x80.*, not the "
                                                             r"zip signature .* Load it with torch\.load\(path\) and save it again with "
                                                             r"torch\.save\(state_dict, path\)\.$"):  # fmt: skip
            load_state_dict_file(path)
