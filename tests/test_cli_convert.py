"""``lstmkit convert``'s command line: the refusals that need no file read, usage errors (exit 2) before
IN is opened. (The conversions themselves, and the refusals of what a file holds: tests/test_convert.py.)"""

from __future__ import annotations

import pytest

import lstmkit
from lstmkit.cli import main

FORMATS = ".npz, .pt, .pth, .keras, .weights.h5, .h5, .onnx"


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
        (["m.npz", "m.npz"], "convert: expected OUT other than IN, got 'm.npz' for both (the input would be overwritten)."),
        (["m.npz", "./sub/../m.npz"], "convert: expected OUT other than IN, got './sub/../m.npz' for both (the input would be overwritten)."),
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
