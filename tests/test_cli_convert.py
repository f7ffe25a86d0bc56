"""``lstmkit convert``'s command line: the refusals that need no file read, usage errors (exit 2) before
IN is opened. (The conversions themselves, and the refusals of what a file holds: tests/test_convert.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main

FORMATS = ".npz, .pt, .pth, .keras, .weights.h5, .h5, .onnx"
ONE = "which name one file (a link, or names differing only in case on macOS and Windows). Give OUT another name."


@pytest.mark.parametrize(
    "argv, message",
    [
        # IN in a format no reader has (it exited 1)
        (["in.txt", "out.npz"], f"convert: expected IN to end in one of {FORMATS}, got 'in.txt'."),
        (["missing.txt", "out.npz"], f"convert: expected IN to end in one of {FORMATS}, got 'missing.txt'."),
        # OUT in a format no writer has (it exited 1)
        (["m.npz", "m.xyz"], f"convert: expected OUT to end in one of {FORMATS}, got 'm.xyz'."),
        (["m.npz", "m"], f"convert: expected OUT to end in one of {FORMATS}, got 'm'."),
        # OUT the very file IN names, however spelled (it exited 1)
        (["m.npz", "m.npz"], "convert: expected OUT other than IN (the input would be overwritten), got OUT 'm.npz' and IN 'm.npz', " + ONE),
        (["m.npz", "./sub/../m.npz"], "convert: expected OUT other than IN (the input would be overwritten), got OUT './sub/../m.npz' and IN 'm.npz', " + ONE),
        # --torch-names names the keys of a written .pt only (it exited 1)
        (["m.npz", "m.onnx", "--torch-names", "lstm,fc"], "convert: expected --torch-names with a .pt/.pth OUT, got 'm.onnx'."),
        (["m.pt", "m.npz", "--torch-names", "lstm,fc"], "convert: expected --torch-names with a .pt/.pth OUT, got 'm.npz'."),
    ],
)
def test_command_line_refusals_are_usage_errors_before_in_is_read(tmp_path, monkeypatch, capsys, argv, message):
    # IN is junk where it exists: a refusal after reading it would name it instead
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("m.npz", "m.pt", "in.txt"):
        (tmp_path / name).write_bytes(b"PK\x03\x04 truncated")
    assert main(["convert", *argv]) == 2
    err = capsys.readouterr().err
    assert err == f"lstmkit: error: {message}\n", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "m.npz", "m.pt", "sub"]
    assert (tmp_path / "m.npz").read_bytes() == b"PK\x03\x04 truncated"


def test_a_refusal_of_the_command_line_comes_before_a_missing_in(tmp_path, monkeypatch, capsys):
    # whatever the disk holds: IN need not exist for OUT's format to be refused
    monkeypatch.chdir(tmp_path)
    assert main(["convert", "missing.npz", "out.xyz"]) == 2
    assert capsys.readouterr().err == f"lstmkit: error: convert: expected OUT to end in one of {FORMATS}, got 'out.xyz'.\n"
    assert list(tmp_path.iterdir()) == []


def test_torch_names_with_a_pt_out_is_taken(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    lstmkit.save_lstm("m.npz", lstmkit.LSTM(3, 4, seed=0))
    assert main(["convert", "m.npz", "m.pth", "--torch-names", "enc,out"]) == 0
    assert "m.npz (lstmkit model file) -> m.pth (PyTorch state_dict)" in capsys.readouterr().out


def test_the_help_example_says_where_its_model_pt_comes_from_and_runs_so(tmp_path, monkeypatch, capsys):
    # 'lstmkit convert model.pt model.onnx --batch-first' read a model.pt that nothing made: the example now
    # says how one is written, and, written so (an nn.LSTM with batch_first=True), it converts
    import shlex

    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from lstmkit.commands.convert import EXAMPLE

    command, _, note = EXAMPLE.partition("#")
    assert "model.pt: PyTorch's torch.save(lstm.state_dict(), 'model.pt') of an nn.LSTM(..., batch_first=True)" in note
    monkeypatch.chdir(tmp_path)
    torch.save(torch.nn.LSTM(3, 5, batch_first=True).state_dict(), "model.pt")
    assert main(shlex.split(command)[1:]) == 0
    assert "model.pt (PyTorch state_dict) -> model.onnx (ONNX)" in capsys.readouterr().out


def test_a_pt_files_bad_tensor_is_named_by_the_file(tmp_path, capsys):
    """helper-89 finding 6: convert's refusals of a .pt's contents name the file and the key as stored (a NaN said
    'LSTM.load_state_dict: expected weight_ih_l0 finite values, got NaN or inf', a sparse tensor torch's
    "can't convert Sparse layout tensor to numpy"); a refused --readout is still said as the option."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    state = {f"lstm.{k}": v.clone() for k, v in torch.nn.LSTM(3, 4).state_dict().items()}
    torch.save(state, tmp_path / "ok.pt")
    state["lstm.weight_ih_l0"][2, 1] = float("nan")
    torch.save(state, tmp_path / "nan.pt")
    state["lstm.weight_ih_l0"] = state["lstm.weight_ih_l0"].to_sparse()
    torch.save(state, tmp_path / "sparse.pt")
    for name, told in (("nan.pt", "state['lstm.weight_ih_l0'] finite values, got nan at index (2, 1)."),
                       ("sparse.pt", "state_dict['lstm.weight_ih_l0'] a dense tensor (torch.strided layout), got layout torch.sparse_coo.")):  # fmt: skip
        assert main(["convert", str(tmp_path / name), str(tmp_path / "out.npz")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"lstmkit: error: convert: expected {tmp_path / name} {told}"), err
    assert main(["convert", str(tmp_path / "ok.pt"), str(tmp_path / "out.npz"), "--readout", "fc"]) == 1
    assert capsys.readouterr().err == "lstmkit: error: convert: expected --readout one of [], got 'fc'.\n"
    assert not (tmp_path / "out.npz").exists()


def _time_major_y_last(path, shape) -> None:
    """An ONNX LSTM (I=3, H=4) whose output is Y's last step as torch's dynamo exporter writes a time-major y[-1]:
    Transpose (0, 2, 1, 3), Reshape to ``shape`` ((5, -1, 4): T fixed at 5), Gather(-1); x (T, B, 3), T and B free.
    Built with onnx.helper."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    tensors = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), k) for k, s in (("W", (1, 16, 3)), ("R", (1, 16, 4)))]
    tensors += [numpy_helper.from_array(np.array(shape, np.int64), "shape"), numpy_helper.from_array(np.array(-1, np.int64), "last")]
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["Y"], hidden_size=4, name="lstm"),
             helper.make_node("Transpose", ["Y"], ["Yt"], perm=[0, 2, 1, 3], name="tr"),
             helper.make_node("Reshape", ["Yt", "shape"], ["Yr"], name="node_Reshape_84"),
             helper.make_node("Gather", ["Yr", "last"], ["out"], axis=0, name="pick")]  # fmt: skip
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "B", 3])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], tensors)  # fmt: skip
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)


def test_an_onnx_graph_with_a_node_fixing_a_free_axis(tmp_path, capsys):
    """helper-121's report: an .onnx whose x declares T free but whose Reshape fixes it at 5 (torch's dynamo export of a
    time-major y[-1]) was 'lstmkit: error: cannot reshape array of size 32 into shape (5,newaxis,4)', naming neither
    file nor node. Now it converts, read at T=5 (a warning names the file, the node and the size); a Reshape that fits
    no size, (7, -1, 3), is refused (exit 1) naming the file and the node."""
    _time_major_y_last(tmp_path / "fixed.onnx", [5, -1, 4])
    assert main(["convert", str(tmp_path / "fixed.onnx"), str(tmp_path / "out.npz")]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(f"lstmkit: warning: convert: IN {str(tmp_path / 'fixed.onnx')!r}: input 'x' declares its axis T free, but Reshape "
                          "node 'node_Reshape_84' fixes it at 5: read at T = 5, "), err  # fmt: skip
    assert "head='last'" in out and lstmkit.load(tmp_path / "out.npz").head_mode == "last"
    _time_major_y_last(tmp_path / "bad.onnx", [7, -1, 3])
    assert main(["convert", str(tmp_path / "bad.onnx"), str(tmp_path / "bad.npz")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"lstmkit: error: convert: expected IN {str(tmp_path / 'bad.onnx')!r} a graph whose nodes run at any size of x's free "
                          "axes (traced with 'x' of shape (T=2, B=4, 3), stand-ins for those), got Reshape node 'node_Reshape_84' refusing its "
                          "inputs (shape (2, 4, 1, 4), [7, -1, 3]): cannot reshape array of size 32"), err  # fmt: skip
    assert not (tmp_path / "bad.npz").exists()
