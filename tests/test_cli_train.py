"""``lstmkit train / predict / forecast / generate`` in-process through ``lstmkit.cli.main``:
the happy paths, and each kind of bad input ending in one line, a non-zero exit, no traceback."""

from __future__ import annotations

import csv
import io
import re
import sys

import numpy as np
import pytest

from lstmkit.cli import main
from lstmkit.datasets import counting_task


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, y = counting_task(64, 6, seed=0)
    np.savez(d / "count.npz", X=X, y=y)
    rc = main(["train", str(d / "count.npz"), "--per-step", "--hidden-size", "4", "--epochs", "40", "--lr", "0.05",
               "--model-out", str(d / "m.npz")])  # fmt: skip
    assert rc == 0
    return d


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    assert err.startswith("lstmkit: error: ")
    return err


def test_train_then_predict_with_score(trained, capsys):
    d = trained
    assert main(["predict", str(d / "m.npz"), str(d / "count.npz"), "--out", str(d / "p.csv")]) == 0
    out = capsys.readouterr().out
    assert "accuracy on" in out
    rows = list(csv.reader(open(d / "p.csv", newline="")))
    # per-step model: one row per sequence and step (64 x 6), each class's probability beside it
    assert rows[0] == ["sequence", "step", "prediction", "proba_0", "proba_1"] and len(rows) == 1 + 64 * 6
    assert [r[:2] for r in rows[1:8]] == [["0", str(t)] for t in range(6)] + [["1", "0"]]
    for r in rows[1:]:
        p0, p1 = float(r[3]), float(r[4])
        assert abs(p0 + p1 - 1) < 2e-6 and r[2] == ("1" if p1 > p0 else "0")


def test_predict_rows_follow_lengths_group_names_and_outputs(trained, tmp_path, capsys):
    d = trained
    X, y = counting_task(5, 6, seed=1)
    np.savez(tmp_path / "short.npz", X=X, y=y, lengths=np.array([6, 2, 4, 1, 3]))
    assert main(["predict", str(d / "m.npz"), str(tmp_path / "short.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    assert "16 predictions for 5 sequences written to" in capsys.readouterr().out
    rows = list(csv.reader(open(tmp_path / "p.csv", newline="")))[1:]
    assert [(r[0], r[1]) for r in rows] == [(str(i), str(t)) for i, n in enumerate([6, 2, 4, 1, 3]) for t in range(n)]
    # a long CSV: each row named by its --group value, in file order (a comma in a name is quoted)
    lines = ["id,value,label"] + [f'"{name}",{v},{lab}' for name, v, lab in
                                   [("b,2", 0.1, "up"), ("b,2", 0.9, "up"), ("a", 0.8, "down"), ("a", 0.2, "down")]]  # fmt: skip
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", str(tmp_path / "g.csv"), "--group", "id", "--target", "label", "--hidden-size", "2",
                 "--epochs", "1", "--model-out", str(tmp_path / "g.npz")]) == 0  # fmt: skip
    assert main(["predict", str(tmp_path / "g.npz"), str(tmp_path / "g.csv"), "--group", "id", "--features", "value",
                 "--out", str(tmp_path / "g_p.csv")]) == 0  # fmt: skip
    rows = list(csv.reader(open(tmp_path / "g_p.csv", newline="")))
    assert rows[0] == ["sequence", "prediction", "proba_down", "proba_up"] and [r[0] for r in rows[1:]] == ["b,2", "a"]
    # a regressor of two outputs: a column each, no probabilities
    np.savez(tmp_path / "r.npz", X=X, y=np.stack([X[:, :, 0].sum(1), X[:, :, 1].sum(1)], axis=1))
    assert main(["train", str(tmp_path / "r.npz"), "--task", "regress", "--hidden-size", "2", "--epochs", "1",
                 "--model-out", str(tmp_path / "rm.npz")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "rm.npz"), str(tmp_path / "r.npz")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["sequence", "prediction_0", "prediction_1"] and len(out) == 1 + 5 + 1  # rows, then R²


def test_train_from_a_long_csv_with_string_labels(tmp_path, capsys):
    # two kinds of sequence: rising (label "up") and falling ("down"), one row per step
    lines = ["id,value,label"]
    rng = np.random.default_rng(0)
    for i in range(40):
        up = i % 2 == 0
        v = np.sort(rng.random(5))[:: 1 if up else -1]
        lines += [f"s{i},{x:.4f},{'up' if up else 'down'}" for x in v[: 3 + i % 3]]
    (tmp_path / "seq.csv").write_text("\n".join(lines) + "\n")
    rc = main(["train", str(tmp_path / "seq.csv"), "--group", "id", "--target", "label", "--features", "value",
               "--hidden-size", "8", "--epochs", "30", "--model-out", str(tmp_path / "m.npz")])  # fmt: skip
    assert rc == 0
    assert "training accuracy 1.0000" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "seq.csv"), "--group", "id", "--target", "label"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["sequence", "prediction", "proba_down", "proba_up"]
    assert out[1].split()[:2] == ["s0", "up"] and out[2].split()[:2] == ["s1", "down"]


def test_train_resumes_from_its_checkpoint_and_plots_learning_curves(trained, tmp_path, capsys):
    # 3 epochs, then the same command with --epochs 6: it resumes at epoch 4 and ends with the
    # weights of a 6-epoch run without a checkpoint (the library's resume, reached from the CLI)
    d = trained
    base = ["train", str(d / "count.npz"), "--per-step", "--hidden-size", "4", "--lr", "0.05", "--validation-split", "0.25"]
    ck, png = str(tmp_path / "ck.npz"), tmp_path / "curves.png"
    assert main([*base, "--epochs", "3", "--checkpoint", ck, "--model-out", str(tmp_path / "a.npz")]) == 0
    out = capsys.readouterr().out
    assert "resuming" not in out and "epoch 3/3 - loss " in out  # not a terminal: a line per epoch by default
    assert main([*base, "--epochs", "6", "--checkpoint", ck, "--model-out", str(tmp_path / "b.npz"), "--plot", str(png),
                 "--verbose", "2"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"resuming from the checkpoint {ck}: 3 epochs of 6 done" in out and f"learning curves written to {png}" in out
    assert "epoch 4/6 - loss " in out and "epoch 3/6" not in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert main([*base, "--epochs", "6", "--model-out", str(tmp_path / "c.npz")]) == 0
    resumed, straight = np.load(tmp_path / "b.npz"), np.load(tmp_path / "c.npz")
    for k in resumed.files:
        if k != "__meta__":  # the history's times differ
            np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)
    # the checkpoint of another model, or of the same model trained otherwise: one line that names the file,
    # the first option that differs as typed and both values (base has --hidden-size 4, --lr 0.05), and no
    # 'resuming' before it (it said 'resuming from the checkpoint', then named learning_rate 0.05)
    fix = f"Resume with the same options (only --epochs may grow), or start afresh: delete {ck} or give another --checkpoint path."
    capsys.readouterr()
    for flags, what in ((["--hidden-size", "8"], "--hidden-size 4, got --hidden-size 8"), (["--lr", "0.1"], "--lr 0.05, got --lr 0.1"),
                        (["--batch-size", "8"], "--batch-size 32, got --batch-size 8"), (["--clip", "0"], "--clip 5.0, got --clip 0"),
                        (["--bidirectional"], "no --bidirectional, got --bidirectional"),
                        (["--peephole", "--dropout-recurrent", "0.2"], "no LSTM options, got --peephole --dropout-recurrent 0.2")):  # fmt: skip
        assert main([*base, *flags, "--epochs", "7", "--checkpoint", ck, "--model-out", str(tmp_path / "d.npz")]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == f"lstmkit: error: train: the checkpoint {ck} was written with {what}. {fix}\n"
        assert not (tmp_path / "d.npz").exists()
    assert main([*base, "--epochs", "5", "--checkpoint", ck, "--model-out", str(tmp_path / "d.npz")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (f"lstmkit: error: train: the checkpoint {ck} has run 6 epochs already, got --epochs 5. "
                                                   f"Give --epochs 6 or more to go on, or start afresh: delete {ck} or give another --checkpoint path.\n")  # fmt: skip
    from lstmkit.checkpoint import read_checkpoint

    assert read_checkpoint(ck)["meta"]["epoch"] == 6  # the refused runs wrote nothing


def test_train_resume_with_another_task_names_the_task(trained, tmp_path, capsys):
    # a classifier's checkpoint resumed with --task regress (and the reverse): refused naming --task and
    # both values, before anything is printed; it was refused as written 'while training on other data'
    base = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--model-out", str(tmp_path / "m.npz")]
    for was, got in (("classify", "regress"), ("regress", "classify")):
        ck = str(tmp_path / f"{was}.npz")
        assert main([*base, "--task", was, "--epochs", "1", "--checkpoint", ck]) == 0
        capsys.readouterr()
        assert main([*base, "--task", got, "--epochs", "2", "--checkpoint", ck]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == (
            f"lstmkit: error: train: the checkpoint {ck} was written with --task {was}, got --task {got}. "
            f"Resume with --task {was}, or start afresh: delete {ck} or give another --checkpoint path.\n")  # fmt: skip


def test_train_resume_reads_the_checkpoint_once_and_hashes_the_data_once(trained, tmp_path, monkeypatch, capsys):
    # the fit that resumes reads the checkpoint's file and hashes the data, once each; 'resuming' is said
    # when it has checked the resume, before the first epoch (it was three reads and two hashes: the epoch
    # read for 'resuming', then a probe fit that loaded the checkpoint so that a refusal came first, then the fit)
    import lstmkit.checkpoint as checkpoint
    import lstmkit.training as training

    calls = []
    load_arrays, fingerprint = checkpoint.load_arrays, training.data_fingerprint
    monkeypatch.setattr(checkpoint, "load_arrays", lambda *a, **k: calls.append("read") or load_arrays(*a, **k))
    monkeypatch.setattr(training, "data_fingerprint", lambda *a: calls.append("hash") or fingerprint(*a))
    ck = str(tmp_path / "ck.npz")
    base = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--checkpoint", ck, "--model-out", str(tmp_path / "m.npz")]
    assert main([*base, "--epochs", "2"]) == 0 and calls == ["hash"]  # a fresh start: nothing to read
    calls.clear()
    capsys.readouterr()
    assert main([*base, "--epochs", "3", "--verbose", "2"]) == 0 and calls == ["hash", "read"]
    out = capsys.readouterr().out
    assert out.startswith(f"resuming from the checkpoint {ck}: 2 epochs of 3 done\nepoch 3/3 - loss ")


def test_train_resume_says_the_fit_s_warnings_after_resuming_and_none_with_a_refusal(tmp_path, monkeypatch):
    # features far from unit scale: the estimator warns as its fit starts, before the checkpoint is loaded;
    # a refused resume says its one line alone, and a resume says 'resuming' first, as when a probe fit
    # (warnings silenced) came before the fit (stdout and stderr in one stream, as a terminal shows them)
    X, y = counting_task(16, 4, seed=0)
    np.savez(tmp_path / "big.npz", X=X * 1e4, y=y)
    ck = str(tmp_path / "ck.npz")
    base = ["train", str(tmp_path / "big.npz"), "--per-step", "--hidden-size", "2", "--checkpoint", ck, "--model-out", str(tmp_path / "m.npz")]
    assert main([*base, "--epochs", "1"]) == 0
    both = io.StringIO()
    monkeypatch.setattr(sys, "stdout", both)
    monkeypatch.setattr(sys, "stderr", both)
    assert main([*base, "--epochs", "2", "--lr", "0.1"]) == 1
    assert both.getvalue() == (f"lstmkit: error: train: the checkpoint {ck} was written with --lr 0.01, got --lr 0.1. "
                               f"Resume with the same options (only --epochs may grow), or start afresh: delete {ck} or give another --checkpoint path.\n")  # fmt: skip
    both.seek(0)
    both.truncate()
    assert main([*base, "--epochs", "2", "--verbose", "0"]) == 0
    lines = both.getvalue().splitlines()
    assert lines[0] == f"resuming from the checkpoint {ck}: 1 epoch of 2 done"
    assert lines[1].startswith("lstmkit: warning: LSTMClassifier.fit: X's features are far from unit scale (feature ")
    assert lines[2].startswith("trained LSTMClassifier on 16 sequences") and not any("warning" in line for line in lines[2:])


def test_training_commands_take_verbose(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("hello world. " * 40, encoding="utf-8")
    gen = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "2", "--hidden-size", "4", "--seq-len", "10",
           "--batch-size", "4", "--length", "5"]  # fmt: skip
    assert main(gen) == 0  # stderr is not a terminal: a line per epoch by default (a long job's log shows each epoch)
    assert "epoch 2/2 - loss " in capsys.readouterr().err  # generate's progress is on stderr: stdout is the sample's
    assert main([*gen, "--verbose", "0"]) == 0
    assert "epoch 1/2" not in "".join(capsys.readouterr())
    assert main([*gen, "--verbose", "2"]) == 0
    assert "epoch 2/2 - loss " in capsys.readouterr().err
    fc = ["forecast", "builtin:airline", "--epochs", "2", "--hidden-size", "4", "--verbose", "2"]
    assert main(fc) == 0
    out, err = capsys.readouterr()
    assert "epoch 2/2 - loss " in err and "epoch" not in out  # forecast's progress on stderr too: stdout is its result


def test_verbose_defaults_to_1_as_its_help_says():
    # the default was None, mapped to 1 by a helper of its own (verbosity); the help's "(default 1)" is now
    # the parser's value, which test_every_option_of_every_command_has_help_showing_its_default compares
    import argparse

    from lstmkit.cli import build_parser

    root = build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    for command in ("train", "forecast", "generate"):
        assert sub.choices[command].get_default("verbose") == 1, command


def test_predict_reads_the_csv_columns_the_model_was_trained_on(tmp_path, capsys):
    # train names two of four columns; predict, given none, reads those two (not t, not the label)
    rng = np.random.default_rng(0)
    lines = ["id,t,a,b,label"] + [f"s{i},{t},{rng.random():.3f},{(i % 2) + 0.1 * t},{'odd' if i % 2 else 'even'}"
                                  for i in range(20) for t in range(4)]  # fmt: skip
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    assert main(["train", str(tmp_path / "d.csv"), "--group", "id", "--target", "label", "--features", "a,b",
                 "--hidden-size", "4", "--epochs", "2", "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    import lstmkit

    assert lstmkit.load(tmp_path / "m.npz").feature_names_in_.tolist() == ["a", "b"]
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "d.csv"), "--group", "id", "--out", str(tmp_path / "1.csv")]) == 0
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "d.csv"), "--group", "id", "--features", "a,b",
                 "--out", str(tmp_path / "2.csv")]) == 0  # fmt: skip
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()
    (tmp_path / "renamed.csv").write_text("\n".join([lines[0].replace(",b,", ",c,")] + lines[1:]) + "\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "renamed.csv"), "--group", "id"]) == 1
    err = error_line(capsys)
    assert "got 'b'" in err and "The model was trained on columns ['a', 'b']; name this file's with --features." in err
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "renamed.csv"), "--group", "id", "--features", "a,c",
                 "--out", str(tmp_path / "3.csv")]) == 0  # fmt: skip
    assert (tmp_path / "3.csv").read_text() == (tmp_path / "1.csv").read_text()  # the same numbers under the new name
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "renamed.csv"), "--group", "key"]) == 1
    assert "got 'key'." in (err := error_line(capsys)) and "trained on" not in err  # not a feature: no hint


def test_predict_reads_the_step_columns_of_a_wide_csv_and_asks_for_group_on_a_long_one(tmp_path, capsys):
    # wide: one row per sequence, the trained step columns (not the id) are read by default
    rng = np.random.default_rng(0)
    rows = [f"{i}," + ",".join(f"{v:.3f}" for v in rng.normal(size=4)) + f",{'pos' if i % 2 else 'neg'}" for i in range(12)]
    (tmp_path / "w.csv").write_text("\n".join(["id,s1,s2,s3,s4,label", *rows]) + "\n")
    assert main(["train", str(tmp_path / "w.csv"), "--target", "label", "--features", "s1,s2,s3,s4", "--hidden-size", "3",
                 "--epochs", "1", "--model-out", str(tmp_path / "w.npz")]) == 0  # fmt: skip
    for extra, out in (([], "1.csv"), (["--features", "s1,s2,s3,s4"], "2.csv")):
        assert main(["predict", str(tmp_path / "w.npz"), str(tmp_path / "w.csv"), *extra, "--out", str(tmp_path / out)]) == 0
    assert (tmp_path / "1.csv").read_text() == (tmp_path / "2.csv").read_text()
    capsys.readouterr()
    # long: a model trained with --group needs --group to read its rows as steps
    (tmp_path / "l.csv").write_text("id,a,y\n0,1,1\n0,2,1\n1,3,0\n1,1,0\n")
    assert main(["train", str(tmp_path / "l.csv"), "--group", "id", "--target", "y", "--hidden-size", "3", "--epochs", "1",
                 "--model-out", str(tmp_path / "l.npz")]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "l.npz"), str(tmp_path / "l.csv")]) == 1
    assert "expected --group naming the column that tells the sequences apart (the model was trained on a long CSV" in error_line(capsys)


def test_missing_file(trained, capsys):
    assert main(["predict", str(trained / "nope.npz"), str(trained / "count.npz")]) == 1
    assert "nope.npz" in error_line(capsys)


def test_wrong_column(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("t,value\n1,2\n2,3\n")
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "price"]) == 1
    assert "expected a column among ['t', 'value']" in error_line(capsys)


def test_ragged_csv(tmp_path, capsys):
    (tmp_path / "r.csv").write_text("a,b\n1,2\n3\n")
    assert main(["forecast", str(tmp_path / "r.csv"), "--column", "a"]) == 1
    assert "got 1 on line 3 (ragged CSV)" in error_line(capsys)


def test_nan_in_data(tmp_path, capsys):
    (tmp_path / "n.csv").write_text("a\n1\nNaN\n3\n")
    assert main(["forecast", str(tmp_path / "n.csv"), "--column", "a"]) == 1
    assert "expected a number in column 'a', got 'NaN' on line 3. Fill missing values first" in error_line(capsys)
    X = np.ones((4, 3, 2))
    X[1, 2, 0] = np.nan
    np.savez(tmp_path / "x.npz", X=X, y=np.arange(4) % 2)
    assert main(["train", str(tmp_path / "x.npz"), "--model-out", str(tmp_path / "m.npz")]) == 1
    assert "(NaN/inf in data)" in error_line(capsys)


def test_nan_or_inf_in_a_forecast_npy_names_the_file(tmp_path, capsys):
    # as a CSV's cell names the file and its line (it said "forecast: expected the series finite values")
    from lstmkit.forecast import FILL

    y = np.arange(30.0)
    y[7] = np.nan
    np.save(tmp_path / "n.npy", y)
    assert main(["forecast", str(tmp_path / "n.npy"), "--epochs", "0"]) == 1
    assert error_line(capsys) == f"lstmkit: error: {tmp_path / 'n.npy'}: expected the series finite values, got nan at index (7,). {FILL}"
    y2 = np.ones((30, 2))
    y2[9, 1] = -np.inf
    np.save(tmp_path / "i.npy", y2)
    np.save(tmp_path / "ok.npy", np.ones((30, 2)))
    assert main(["forecast", str(tmp_path / "ok.npy"), "--epochs", "0", "--window", "3", "--model-out", str(tmp_path / "m.npz")]) == 0
    capsys.readouterr()
    for argv in (["--epochs", "0"], ["--model", str(tmp_path / "m.npz")]):  # training, and a loaded model's new history
        assert main(["forecast", str(tmp_path / "i.npy"), *argv]) == 1
        assert error_line(capsys) == (f"lstmkit: error: {tmp_path / 'i.npy'}: expected the series finite values, got -inf at "
                                      f"index (9, 1). Replace the infinite values.")  # fmt: skip
    np.save(tmp_path / "e.npy", np.ones(0))  # and an empty one
    assert main(["forecast", str(tmp_path / "e.npy"), "--epochs", "0"]) == 1
    assert error_line(capsys) == (f"lstmkit: error: {tmp_path / 'e.npy'}: expected the series at least one value, got an "
                                  f"empty array of shape (0,).")  # fmt: skip


def test_labels_unseen_at_fit(trained, tmp_path, capsys):
    X, y = counting_task(8, 6, seed=1)
    y[2, 3] = 7
    np.savez(tmp_path / "u.npz", X=X, y=y)
    assert main(["predict", str(trained / "m.npz"), str(tmp_path / "u.npz")]) == 1
    assert "got unseen labels [7]" in error_line(capsys)  # an integer label shown as one (it was ['7'])


def test_corrupt_model_file(trained, tmp_path, capsys):
    data = (trained / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert main(["predict", str(tmp_path / "cut.npz"), str(trained / "count.npz")]) == 1
    assert "not a valid lstmkit file" in error_line(capsys)


def test_model_of_another_kind(trained, capsys):
    assert main(["forecast", "--model", str(trained / "m.npz")]) == 1
    assert "expected a model of kind LSTMForecaster, got LSTMClassifier" in error_line(capsys)
    assert main(["generate", "--model", str(trained / "m.npz")]) == 1
    assert "expected a model of kind TextGenerator, got LSTMClassifier" in error_line(capsys)


def test_traceback_on_request(trained):
    from lstmkit.io import FileFormatError

    with pytest.raises(FileFormatError):
        main(["--traceback", "forecast", "--model", str(trained / "m.npz")])


def test_forecast_builtin_with_backtest_plot_and_model(tmp_path, capsys):
    args = ["forecast", "builtin:airline", "--log", "--difference", "1", "--season", "12", "--horizon", "3",
            "--backtest", "12", "--epochs", "3", "--hidden-size", "8", "--model-out", str(tmp_path / "f.npz"),
            "--plot", str(tmp_path / "f.png"), "--out", str(tmp_path / "f.csv"), "--steps", "5"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "seasonal_naive" in out and "lag check" in out and "recursive" in out
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert len((tmp_path / "f.csv").read_text().splitlines()) == 6
    assert main(["forecast", "--model", str(tmp_path / "f.npz"), "--steps", "2"]) == 0
    assert "next 2 values" in capsys.readouterr().out


def test_forecast_with_a_model_and_no_data_checks_column_against_the_series_fitted_on(tmp_path, capsys):
    # without a data file --column was not read: any names forecast the model's own series, said as theirs
    t = np.arange(30)
    (tmp_path / "s.csv").write_text("t,a,b\n" + "".join(f"{i},{np.sin(i / 3):.4f},{np.cos(i / 4):.4f}\n" for i in t))
    model = str(tmp_path / "m.npz")
    fast = ["--epochs", "0", "--window", "3", "--hidden-size", "2"]
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "a,b", *fast, "--model-out", model]) == 0
    capsys.readouterr()
    assert main(["forecast", "--model", model]) == 0
    alone = capsys.readouterr().out
    assert main(["forecast", "--model", model, "--column", "a, b"]) == 0  # the series fitted on: taken, the same forecast
    assert capsys.readouterr().out == alone
    for column, got in (("zz", "['zz'] (unseen at fit: ['zz']; missing: ['a', 'b'])"), ("b,a", "['b', 'a'] (the same series in another order)"),
                        ("a", "['a'] (missing: ['b'])"), ("a,b,c", "['a', 'b', 'c'] (unseen at fit: ['c'])")):  # fmt: skip
        assert main(["forecast", "--model", model, "--column", column]) == 1
        assert error_line(capsys) == (f"lstmkit: error: forecast: expected --column the series {model} was fitted on, ['a', 'b'], "
                                      f"in that order, got {got}. Without a data file the model forecasts those series, "
                                      f"from its own history: leave out --column.")  # fmt: skip
    # a model fitted on a .npy recorded no names: --column cannot be checked, so it is refused
    np.save(tmp_path / "s.npy", np.sin(t / 3))
    assert main(["forecast", str(tmp_path / "s.npy"), *fast, "--model-out", model]) == 0
    capsys.readouterr()
    assert main(["forecast", "--model", model, "--column", "a"]) == 1
    assert error_line(capsys) == (f"lstmkit: error: forecast: expected --column with a series file, or with a model that "
                                  f"recorded the names of its series, got --column a with --model {model}, which records "
                                  f"none (fitted on unnamed series: a .npy). Leave out --column: the model forecasts the "
                                  f"series it was fitted on.")  # fmt: skip
    # nor can a CSV's columns be taken for its series without --column: the model file's doing, exit 1
    assert main(["forecast", str(tmp_path / "s.csv"), "--model", model]) == 1
    assert error_line(capsys) == (f"lstmkit: error: {tmp_path / 's.csv'}: expected --column naming the series among ['t', "
                                  f"'a', 'b'], got none ({model} recorded no names of the series it was fitted on).")  # fmt: skip
    # a .npy names no columns: --column beside one is a usage error, before anything is read (it was ignored)
    for argv in ([str(tmp_path / "s.npy"), "--column", "a", *fast], [str(tmp_path / "s.npy"), "--model", model, "--column", "a"]):
        assert main(["forecast", *argv]) == 2
        assert error_line(capsys) == ("lstmkit: error: forecast: expected --column with a .csv, got it with '.npy' (a .npy names "
                                      "no columns: its columns are the series, in order). Leave out --column.")  # fmt: skip


def test_generate_trains_samples_and_reloads(tmp_path, capsys):
    (tmp_path / "t.txt").write_text("hello world. " * 80, encoding="utf-8")
    args = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "2", "--hidden-size", "8", "--seq-len", "10",
            "--batch-size", "4", "--length", "20", "--temperature", "0.5", "1.0", "--model-out", str(tmp_path / "g.npz")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "held-out perplexity" in out and "--- temperature 0.5 ---" in out and "--- temperature 1.0 ---" in out
    assert main(["generate", "--model", str(tmp_path / "g.npz"), "--prime", "hel", "--length", "5"]) == 0
    assert "\nhel" in capsys.readouterr().out
    assert main(["generate"]) == 2  # an argument missing: a usage error, as predict's (argparse's)
    assert "expected --text" in error_line(capsys)


def test_generate_s_prime_is_refused_and_warned_of_in_the_command_line_s_words(tmp_path, capsys):
    # an empty --prime was refused after the training, exit 1, in Python's words ("expected prime a non-empty str,
    # got ''. Use for example prime='\\n'."); its unseen characters were warned of as TextGenerator.generate's prime
    (tmp_path / "t.txt").write_text("hello world. " * 80, encoding="utf-8")
    train = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "1", "--hidden-size", "4", "--seq-len", "10",
             "--batch-size", "4", "--length", "3"]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main([*train, "--prime", ""])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith("lstmkit generate: error: argument --prime: expected a text of at "
                                                    "least one character, got ''")  # fmt: skip
    assert main([*train, "--model-out", str(tmp_path / "g.npz")]) == 0
    capsys.readouterr()
    # 'q' and 'z' are not in 'hello world. ': said once, whatever the number of temperatures
    assert main(["generate", "--model", str(tmp_path / "g.npz"), "--prime", "zzq", "--length", "3", "--temperature", "0.5", "1"]) == 0
    assert capsys.readouterr().err == ("lstmkit: warning: generate: --prime has 2 characters not in the vocabulary (never "
                                       "seen at fit): 'q', 'z'; the model reads them as 'unknown', which tells it "
                                       "nothing. Use characters of the training text.\n")  # fmt: skip


def test_train_regressor_from_a_wide_csv(tmp_path, capsys):
    # one row per sequence, its 4 columns are the steps; the target is the mean of the steps
    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    lines = ["t0,t1,t2,t3,mean"] + [",".join(f"{v:.5f}" for v in row) + f",{row.mean():.5f}" for row in X]
    (tmp_path / "w.csv").write_text("\n".join(lines) + "\n")
    rc = main(["train", str(tmp_path / "w.csv"), "--task", "regress", "--target", "mean", "--hidden-size", "8",
               "--epochs", "40", "--model-out", str(tmp_path / "r.npz")])  # fmt: skip
    assert rc == 0
    out = capsys.readouterr().out
    r2 = float(out.split("training R² ")[1].split()[0])
    assert r2 > 0.9
    assert main(["predict", str(tmp_path / "r.npz"), str(tmp_path / "w.csv"), "--target", "mean"]) == 0
    assert "R² on" in capsys.readouterr().out
    np.save(tmp_path / "two.npy", np.ones((3, 4, 2)))  # 2 features per step; the model reads 1
    assert main(["predict", str(tmp_path / "r.npz"), str(tmp_path / "two.npy")]) == 1
    assert "expected 1 features per step (as at fit), got 2" in error_line(capsys)


def test_train_and_predict_help_examples_run_as_written(tmp_path, monkeypatch, capsys):
    import shlex

    from lstmkit.commands import predict, train

    monkeypatch.chdir(tmp_path)
    setup, train_line = train.EXAMPLE.split("\n")
    python, dash_c, code = shlex.split(setup)
    assert (python, dash_c) == ("python", "-c")
    exec(code, {})  # the example's data-making line, run in this process
    assert main(shlex.split(train_line)[1:]) == 0
    assert "training accuracy" in capsys.readouterr().out
    assert main(shlex.split(predict.EXAMPLE.split("(")[0])[1:]) == 0
    assert (tmp_path / "predictions.csv").exists()


def test_a_model_trained_on_csv_labels_0_and_1_reads_labels_0_0_and_1_0(tmp_path, capsys):
    # labels written 0/1 at fit and 0.0/1.0 later are the same numbers: nothing unseen, every one scored
    rows = [f"{i},{i % 3},{i % 5},{i % 2}" for i in range(12)]
    (tmp_path / "a.csv").write_text("\n".join(["id,s1,s2,label", *rows]) + "\n")
    (tmp_path / "b.csv").write_text("\n".join(["id,s1,s2,label", *(r + ".0" for r in rows)]) + "\n")
    assert main(["train", str(tmp_path / "a.csv"), "--target", "label", "--features", "s1,s2", "--hidden-size", "2",
                 "--epochs", "1", "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    from lstmkit.saving import load

    assert load(tmp_path / "m.npz").classes_.tolist() == [0, 1]
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "b.csv"), "--target", "label"]) == 0
    assert "accuracy on" in capsys.readouterr().out


def test_forecast_refuses_rows_out_of_time_order_and_warns_of_gaps(tmp_path, capsys):
    # 36 months from 2000-01; the forecaster reads the rows in file order as evenly spaced steps
    months = [f"{2000 + k // 12}-{k % 12 + 1:02d}" for k in range(36)]
    rows = [f"{m},{100 + k}" for k, m in enumerate(months)]
    fast = ["--column", "sales", "--epochs", "0", "--window", "3", "--hidden-size", "2"]
    swapped = rows[:5] + [rows[6], rows[5]] + rows[7:]  # 2000-07 before 2000-06
    (tmp_path / "s.csv").write_text("\n".join(["month,sales", *swapped]) + "\n")
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 1
    assert "expected the rows in time order (column 'month' increasing), got '2000-06' on line 8 after '2000-07' on line 7" in error_line(capsys)
    (tmp_path / "g.csv").write_text("\n".join(["month,sales", *rows[:12], *rows[24:]]) + "\n")  # 2001 missing: one step of 13 months
    assert main(["forecast", str(tmp_path / "g.csv"), *fast]) == 0
    err = capsys.readouterr().err
    assert err.count("lstmkit: warning:") == 1 and "column 'month' is unevenly spaced: 1 of 23 steps differ from the usual 1 month" in err
    assert "from '2000-12' to '2002-01'" in err
    days = [f"2000-01-{d:02d},{d}" for d in (1, 2, 3, 5, 6)]  # days: the 4th missing
    (tmp_path / "d.csv").write_text("\n".join(["date,sales", *days]) + "\n")
    assert main(["forecast", str(tmp_path / "d.csv"), *fast]) == 0
    assert "usual 1 day, the first from '2000-01-03' to '2000-01-05'" in capsys.readouterr().err
    # month starts (days 28 to 31 apart) and numbered steps in order are even: nothing said
    (tmp_path / "m.csv").write_text("\n".join(["date,sales", *(f"{m}-01,{k}" for k, m in enumerate(months))]) + "\n")
    (tmp_path / "t.csv").write_text("\n".join(["t,sales", *(f"{k * 0.5},{k}" for k in range(20))]) + "\n")
    (tmp_path / "x.csv").write_text("\n".join(["other,sales", *(f"{-k},{k}" for k in range(20))]) + "\n")  # not a time: not read
    for name in ("m.csv", "t.csv", "x.csv"):
        assert main(["forecast", str(tmp_path / name), *fast]) == 0
        assert capsys.readouterr().err == ""


def test_forecast_names_the_lines_of_a_csv_as_a_text_editor_shows_them(tmp_path, capsys):
    # blank lines are counted: the rows were numbered after they were dropped (one line short per blank above)
    fast = ["--column", "sales", "--epochs", "0", "--window", "3", "--hidden-size", "2"]
    # lines: 1 header, 2 blank, 3-4 rows, 5 blank, 6 2000-04 (2000-03 missing), 7 2000-05, 8 blank, 9 2000-07, 10 2000-06
    text = "month,sales\n\n2000-01,1\n2000-02,2\n\n2000-04,4\n2000-05,5\n\n{}\n{}\n"
    (tmp_path / "s.csv").write_text(text.format("2000-07,7", "2000-06,6"))
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 1
    assert error_line(capsys).endswith("got '2000-06' on line 10 after '2000-07' on line 9. The series is read in file "
                                       "order: sort the file by 'month'.")  # fmt: skip
    (tmp_path / "s.csv").write_text(text.format("2000-06,6", "2000-07,7"))
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 0
    assert "the first from '2000-02' to '2000-04' (line 6)" in capsys.readouterr().err
    (tmp_path / "s.csv").write_text(text.format("2000-06,", "2000-07,7"))  # a missing value on line 9
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 1
    assert "expected a number in column 'sales', got '' on line 9. Fill missing values first" in error_line(capsys)
    (tmp_path / "s.csv").write_text(text.format("2000-06,6", "2000-7,7"))  # not a time, on line 10
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "month"]) == 1
    assert "expected --time-column 'month' to hold times (YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or a T " \
           "and a UTC offset (Z, +01:00) or none, or numbers; one form throughout, on 2 rows or more), got '2000-7' on line 10. Write every time in one of " \
           "these forms" in error_line(capsys)  # fmt: skip
    (tmp_path / "one.csv").write_text("month,sales\n2000-01,1\n")  # one row: its form is right, the rows too few
    assert main(["forecast", str(tmp_path / "one.csv"), *fast, "--time-column", "month"]) == 1
    assert error_line(capsys).endswith("on 2 rows or more), got 1 row. Give the file 2 rows or more.")
    (tmp_path / "s.csv").write_text("date,sales\n\n\nJan,1\nFeb,2\nMar,3\nApr,4\n")  # named as times, holding none
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 0
    assert "column 'date' is not read as times (YYYY-MM, YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] with a space or a T and a UTC " \
           "offset (Z, +01:00) or none, or numbers; one form throughout), got 'Jan' on line 4" in capsys.readouterr().err  # fmt: skip
    # each cell a time, the forms mixed (' ' and 'T'): the first cell whose form differs from the first row's is named
    # (the error said "both YYYY-MM and YYYY-MM-DD", the warning named line 2's valid cell as the reason)
    hours = [f"2024-01-01{'T' if h == 4 else ' '}{h:02d}:00,{h}" for h in range(8)]
    (tmp_path / "s.csv").write_text("time,sales\n" + "\n".join(hours) + "\n")
    mixed = "got '2024-01-01 00:00' (YYYY-MM-DD HH:MM) on line 2 and '2024-01-01T04:00' (YYYY-MM-DDTHH:MM) on line 6"
    assert main(["forecast", str(tmp_path / "s.csv"), *fast, "--time-column", "time"]) == 1
    assert mixed + ". Write every time" in error_line(capsys)
    assert main(["forecast", str(tmp_path / "s.csv"), *fast]) == 0
    assert mixed + ": the forecast is numbered by step" in capsys.readouterr().err


def test_predict_checks_the_targets_shape_before_printing(trained, tmp_path, capsys):
    # the per-step model of `trained` with a label per sequence, and a per-sequence model with a label per step:
    # one error line, and no prediction table before it
    X, y = counting_task(6, 6, seed=1)
    np.savez(tmp_path / "last.npz", X=X, y=y[:, -1])
    assert main(["predict", str(trained / "m.npz"), str(tmp_path / "last.npz")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "expected targets of shape (6, 6) (the model predicts at every step), got shape (6,) (one per sequence)" in captured.err
    np.savez(tmp_path / "seq.npz", X=X, y=np.arange(6) % 2)
    assert main(["train", str(tmp_path / "seq.npz"), "--hidden-size", "2", "--epochs", "1", "--model-out", str(tmp_path / "s.npz")]) == 0
    capsys.readouterr()
    np.savez(tmp_path / "steps.npz", X=X, y=y)
    assert main(["predict", str(tmp_path / "s.npz"), str(tmp_path / "steps.npz")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "expected targets of shape (6,) (the model predicts one value per sequence), got shape (6, 6) (one per step)" in captured.err


def test_ctrl_c_in_train_names_the_checkpoint_s_epoch_and_how_to_resume(trained, tmp_path, monkeypatch, capsys):
    import lstmkit.training as training

    written = []

    def save_then_interrupt(path, trainer):  # Ctrl-C just after the second epoch's checkpoint is written
        save(path, trainer)
        written.append(path)
        if len(written) == 2:
            raise KeyboardInterrupt

    save = training.save_checkpoint
    monkeypatch.setattr(training, "save_checkpoint", save_then_interrupt)
    ck = str(tmp_path / "ck.npz")
    argv = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--epochs", "5", "--checkpoint", ck,
            "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(argv) == 130
    assert capsys.readouterr().err == (f"lstmkit: interrupted: the checkpoint {ck} holds epoch 2 of 5; run the same command "
                                       f"again (with --checkpoint {ck}) to resume from it, to the weights an uninterrupted run gives\n")  # fmt: skip
    monkeypatch.setattr(training, "save_checkpoint", save)
    assert main(argv) == 0 and f"resuming from the checkpoint {ck}" in capsys.readouterr().out  # as said
    (tmp_path / "ck.npz").unlink()

    def interrupt(path, trainer):  # before the first checkpoint
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", interrupt)
    assert main(argv) == 130
    assert capsys.readouterr().err == f"lstmkit: interrupted: no checkpoint written to {ck} yet (one is written at the end of each epoch)\n"


def test_counts_of_one_are_singular(tmp_path, capsys):
    # one feature per step (a wide CSV), and one value forecast: "1 feature", "the next 1 value"
    rows = [f"{i % 3},{i % 5},{i % 2}" for i in range(8)]
    (tmp_path / "w.csv").write_text("\n".join(["s1,s2,label", *rows]) + "\n")
    assert main(["train", str(tmp_path / "w.csv"), "--target", "label", "--hidden-size", "2", "--epochs", "1",
                 "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    assert "on 8 sequences of up to 2 steps, 1 feature\n" in capsys.readouterr().out
    (tmp_path / "s.csv").write_text("\n".join(["y", *(str(k % 4) for k in range(12))]) + "\n")
    assert main(["forecast", str(tmp_path / "s.csv"), "--column", "y", "--epochs", "0", "--window", "3", "--hidden-size", "2"]) == 0
    assert "forecast of the next 1 value (direct):" in capsys.readouterr().out


def test_generate_counts_the_characters_left_to_train_on(tmp_path, capsys):
    # --max-chars 5 keeps 5 characters, --held-out 0.1 keeps int(5 * 0.9) = 4 to train on, 1 held out: the
    # message says where the 5 went (it said 'got 4' beside --max-chars 5)
    (tmp_path / "t.txt").write_text("abcdefgh")
    assert main(["generate", "--text", str(tmp_path / "t.txt"), "--max-chars", "5", "--seq-len", "2", "--batch-size", "2"]) == 1
    assert error_line(capsys) == ("lstmkit: error: generate: expected at least --batch-size*--seq-len+1 = 5 characters to train on, "
                                  "got 4 (--max-chars 5, less 1 held out by --held-out 0.1). Use a longer text (or a larger "
                                  "--max-chars), or a smaller --batch-size or --seq-len.")  # fmt: skip


class ReaderGone(io.StringIO):
    """A stdout whose reader has gone (``| head`` once it has its lines): every write is a broken pipe."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_gone_stops_a_command_printing_its_product_not_one_writing_a_file(trained, tmp_path, monkeypatch, capsys):
    # train, predict --out, generate --model-out write a file: what they print is said beside it, so they carry
    # on to write it, and exit 0 (train ended at its first progress line, 141, without its model, the
    # checkpoint at epoch 1); predict's table and generate's samples are what they print: 141, quietly
    from lstmkit.checkpoint import read_checkpoint
    from lstmkit.saving import load

    (tmp_path / "t.txt").write_text("hello world.\n" * 20, encoding="utf-8")
    gen = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "2", "--hidden-size", "4", "--seq-len", "10",
           "--batch-size", "4", "--length", "5", "--verbose", "2"]  # fmt: skip
    monkeypatch.setattr(sys, "stdout", ReaderGone())
    assert main(["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--epochs", "3", "--verbose", "2",
                 "--checkpoint", str(tmp_path / "ck.npz"), "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    assert load(tmp_path / "m.npz").n_epochs_ == 3 and read_checkpoint(tmp_path / "ck.npz")["meta"]["epoch"] == 3
    assert main(["predict", str(tmp_path / "m.npz"), str(trained / "count.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 64 * 6
    assert main([*gen, "--model-out", str(tmp_path / "g.npz")]) == 0 and (tmp_path / "g.npz").exists()
    assert main(["predict", str(tmp_path / "m.npz"), str(trained / "count.npz")]) == 141
    assert main(gen) == 141
    err = capsys.readouterr().err  # generate's epoch lines are on stderr (its stdout is the sample's): nothing else
    assert sys.stdout.getvalue() == "" and all(line.startswith("epoch ") for line in err.splitlines()), err  # no error line, no traceback


def test_progress_eta_leaves_out_the_first_epoch_of_a_run():
    # a fake clock: epoch 1 takes 2 s (numba compiling the kernels in it), the others 0.03 s. The ETA
    # is drawn from epochs 2 onwards, none after epoch 1 alone ('ETA ...'; it said 2 s * 99 = 'ETA 198.0s'
    # of a 5-second run); the same after a resume, whose first epoch compiles again
    from lstmkit.progress import PlainLines

    def run(first: int, epochs: int) -> list[str]:
        ticks = iter([0.0, 2.0] + [t for k in range(1, epochs) for t in (2.0 + 0.03 * (k - 1), 2.0 + 0.03 * k)])
        buf = io.StringIO()
        lines = PlainLines(buf, clock=lambda: next(ticks))
        for e in range(first, epochs):
            lines.start_epoch(e, epochs, 1)
            lines.end_epoch({"epoch": e + 1, "loss": 0.5})
        return buf.getvalue().splitlines()

    out = run(0, 100)
    assert out[0] == "epoch 1/100 - loss 0.5000 - 2.00s - ETA ..."
    assert out[1] == "epoch 2/100 - loss 0.5000 - 0.03s - ETA 2.9s"  # 98 epochs left at 0.03 s
    assert out[2].endswith(" - 0.03s - ETA 2.9s") and out[-1].endswith(" - ETA 0.0s")
    resumed = run(60, 100)  # epochs 61..100 of a resumed run: epoch 61 compiles
    assert resumed[0] == "epoch 61/100 - loss 0.5000 - 2.00s - ETA ..." and resumed[1].endswith(" - ETA 1.1s")
    assert run(0, 1) == ["epoch 1/1 - loss 0.5000 - 2.00s - ETA 0.0s"]  # nothing left: nothing to estimate


def test_generate_counts_the_same_characters_for_training_and_the_uniform_guess(tmp_path, capsys):
    # 'hello world. ' has 9 distinct characters; the vocabulary's 10th entry, 'unknown', is never sampled: the
    # uniform guess is over the 9 (it said '9 distinct' and 'uniform guess: 10')
    (tmp_path / "t.txt").write_text("hello world. " * 40, encoding="utf-8")
    assert main(["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "1", "--hidden-size", "4", "--seq-len", "10",
                 "--batch-size", "4", "--length", "5", "--model-out", str(tmp_path / "g.npz")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    found = re.search(r"held-out perplexity: (\d+\.\d\d) \((\d+\.\d\d) bits per character; a uniform guess over the 9 "
                      r"characters: 9\)\n", out)  # fmt: skip
    assert "(9 distinct)" in out and found, out
    # the bits (they were not given) by hand: the mean -log2 softmax of the saved model's logits over the held-out
    # text, the last 10% (--held-out 0.1) of the 520 characters, its state carried from its start
    from lstmkit.text import TextGenerator

    text = "hello world. " * 40
    held = text[int(len(text) * 0.9) :]
    g = TextGenerator.load(tmp_path / "g.npz")
    z, _ = g._step_logits(g.encode(held[:-1]), None)  # (n - 1, V)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    bits = -np.mean(np.log2(p[np.arange(len(held) - 1), g.encode(held[1:])]))
    assert found[2] == f"{bits:.2f}" and found[1] == f"{2**bits:.2f}"


def test_train_reports_accuracy_on_the_rows_trained_on_and_on_those_held_out(trained, tmp_path, capsys):
    # --validation-split 0.25: the accuracy after training is on the 48 sequences trained on, and beside it on
    # the 16 held out, as Keras' accuracy and val_accuracy (it was on all 64, the held-out ones included)
    from lstmkit.saving import load

    X, y = (np.load(trained / "count.npz")[k] for k in ("X", "y"))
    argv = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "3", "--epochs", "4", "--validation-split",
            "0.25", "--verbose", "0", "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(argv) == 0
    line = capsys.readouterr().out.splitlines()[1]
    est = load(tmp_path / "m.npz")
    first = est.validation_indices_
    held = np.isin(np.arange(64), first)  # the rows the fit held out, saved with the model
    assert held.sum() == 16
    fit_acc, val_acc = est.score(X[~held], y[~held]), est.score(X[held], y[held])
    # the rows are those the fit held out: their accuracy is the val_accuracy its last epoch logged
    assert val_acc == est.history_.epochs[-1]["val_accuracy"]
    assert line == (f"epochs 4, final loss {est.history_.epochs[-1]['loss']:.4f}, training accuracy {fit_acc:.4f} (48 sequences), "
                    f"validation accuracy {val_acc:.4f} (16 held out by --validation-split 0.25)")  # fmt: skip
    assert main([*argv[:-2], "--seed", "3", "--model-out", str(tmp_path / "m.npz")]) == 0  # another seed, other rows
    est = load(tmp_path / "m.npz")
    held = np.isin(np.arange(64), est.validation_indices_)
    assert held.sum() == 16 and not np.array_equal(est.validation_indices_, first)
    assert est.score(X[held], y[held]) == est.history_.epochs[-1]["val_accuracy"]
    assert "training accuracy" in capsys.readouterr().out


def test_train_names_the_csv_columns_it_reads_and_warns_of_a_time_index(tmp_path, capsys):
    # id,t,price,volume,label with t = 0, 1, 2, ... in each sequence: the features are named, and t is
    # warned of with the --features that leaves it out (it said '3 features' and trained on t without a word)
    rng = np.random.default_rng(0)
    lines = ["id,t,price,volume,label"] + [f"s{i},{t},{rng.random():.3f},{rng.integers(100)},{i % 2}"
                                           for i in range(12) for t in range(3 + i % 2)]  # fmt: skip
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n")
    argv = ["train", str(tmp_path / "long.csv"), "--group", "id", "--target", "label", "--hidden-size", "2", "--epochs", "1",
            "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "3 features\nfeatures: t, price, volume\n" in captured.out
    assert captured.err == (f"lstmkit: warning: {tmp_path / 'long.csv'}: column 't' goes up by exactly 1 from row to row within "
                            f"every group of 'id' (a time index or a row counter?): read as a feature, it gives the model each "
                            f"step's position. If that is not meant, leave it out with --features price,volume (features=[...]).\n")  # fmt: skip
    assert main([*argv, "--features", "price,volume"]) == 0
    captured = capsys.readouterr()
    assert "2 features\nfeatures: price, volume\n" in captured.out and captured.err == ""
    # a wide CSV: its step columns
    (tmp_path / "w.csv").write_text("a,b,c,label\n1,2,3,x\n3,1,2,y\n")
    assert main(["train", str(tmp_path / "w.csv"), "--target", "label", "--hidden-size", "2", "--epochs", "1",
                 "--model-out", str(tmp_path / "w.npz")]) == 0  # fmt: skip
    assert "1 feature\nsteps (a row per sequence): a, b, c\n" in capsys.readouterr().out


def test_features_help_says_each_command_s_default(capsys):
    # train's said 'those the model was trained on, for predict', a default of predict's
    for command, default in (("train", "default: every column but --group and --target (a time index too"),
                             ("predict", "default: the columns the model was trained on (every column but --group")):  # fmt: skip
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        help_text = text.split("--features FEATURES .csv:")[1].split("--group GROUP")[0]
        assert default in help_text and ("trained on" in help_text) == (command == "predict")


@pytest.fixture(scope="module")
def unlearnable(tmp_path_factory):
    """Random labels of random sequences: val_loss is lowest early and rises as the model learns the
    training rows by heart, so that early stopping stops and rolls back."""
    d = tmp_path_factory.mktemp("unlearnable")
    rng = np.random.default_rng(0)
    np.savez(d / "rand.npz", X=rng.normal(size=(60, 6, 3)), y=rng.integers(0, 3, size=60))
    return d / "rand.npz"


def test_train_says_when_early_stopping_stops_and_which_epoch_s_weights_it_saved(unlearnable, tmp_path, capsys):
    # the summary printed 'final loss' of the last epoch beside the accuracies of the best epoch's weights,
    # restored without a word; Keras says 'Epoch 10: early stopping' and which epoch's weights it restores
    import lstmkit

    model = tmp_path / "m.npz"
    assert main(["train", str(unlearnable), "--model-out", str(model), "--epochs", "50", "--patience", "2",
                 "--validation-split", "0.3", "--hidden-size", "8", "--verbose", "2"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    est = lstmkit.load(model)
    n, best = est.n_epochs_, est.best_epoch_
    val = [float(re.search(r"val_loss (\S+)", line).group(1)) for line in lines[:n]]  # the epoch lines, as printed
    assert n < 50 and best == n - 2 and val.index(min(val)) == best - 1
    kept = est.history_.epochs[best - 1]
    assert lines[n : n + 2] == [f"epoch {n}: early stopping (val_loss did not improve for 2 epochs)",
                                f"restored the weights of epoch {best}, the best (val_loss {min(val):.4f})"]  # fmt: skip
    assert lines[n + 3].startswith(f"epochs {n} (stopped early), the weights of epoch {best} saved, the best "
                                   f"(val_loss {min(val):.4f}, loss {kept['loss']:.4f}), training accuracy ")  # fmt: skip
    # the weights saved are the best epoch's: their validation accuracy is the one that epoch logged
    held = est.validation_indices_
    data = np.load(unlearnable)
    assert est.score(data["X"][held], data["y"][held]) == pytest.approx(kept["val_accuracy"], abs=1e-12)


def test_train_patience_without_validation_says_it_watches_the_training_loss(unlearnable, tmp_path, capsys):
    # a Keras user expects early stopping to watch val_loss: said in --help, and once at the start
    argv = ["train", str(unlearnable), "--model-out", str(tmp_path / "m.npz"), "--epochs", "2", "--patience", "3",
            "--hidden-size", "2", "--verbose", "2"]  # fmt: skip
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "early stopping (patience 3) watches the training loss, not val_loss: no validation data was given"
    assert lines[1].startswith("epoch 1/2 - ") and sum("watches" in line for line in lines) == 1
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "it watches val_loss with --validation-split, else the training loss (default: off)" in help_text


@pytest.mark.parametrize("checkpoint", [False, True])
def test_ctrl_c_inside_a_compiled_kernel_in_train_says_what_is_left(trained, tmp_path, monkeypatch, capsys, checkpoint):
    # Ctrl-C inside a kernel (numba's SystemError, the interrupt in its context) in the second epoch, raised by
    # the kernels the LSTM calls (the real ones, wrapped); without --checkpoint the command said only
    # 'lstmkit: interrupted': it says how to be able to resume
    import lstmkit.backends as backends
    import lstmkit.kernels as kernels
    import lstmkit.training as training

    epoch, epochs = training.Trainer._train_epoch, []

    def counted(self, *args):  # which epoch the kernels run in
        epochs.append(self.epoch)
        return epoch(self, *args)

    def second_interrupted(lstm_backward):
        def backward(*args):
            if epochs[-1] == 1:
                try:
                    raise KeyboardInterrupt
                except KeyboardInterrupt:
                    raise SystemError("CPUDispatcher(<function _backward>) returned a result with an exception set")
            return lstm_backward(*args)

        return backward

    monkeypatch.setattr(training.Trainer, "_train_epoch", counted)
    for module in {kernels, backends.select("auto")}:  # the reference kernels, and the compiled ones where numba runs
        monkeypatch.setattr(module, "lstm_backward", second_interrupted(module.lstm_backward))
    ck = str(tmp_path / "ck.npz")
    argv = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--epochs", "5",
            "--model-out", str(tmp_path / "m.npz"), *(["--checkpoint", ck] if checkpoint else [])]  # fmt: skip
    assert main(argv) == 130
    err = capsys.readouterr().err
    if checkpoint:
        assert err == (f"lstmkit: interrupted: the checkpoint {ck} holds epoch 1 of 5; run the same command again (with "
                       f"--checkpoint {ck}) to resume from it, to the weights an uninterrupted run gives\n")  # fmt: skip
    else:
        assert err == ("lstmkit: interrupted: nothing saved; with --checkpoint PATH a checkpoint is written after every "
                       "epoch, and the same command run again resumes from it\n")  # fmt: skip
    assert not (tmp_path / "m.npz").exists()


def test_train_and_generate_help_show_every_default(capsys):
    # forecast --help showed its defaults; train and generate did not (--clip's 5.0, on unless 0, least of all)
    import lstmkit
    from lstmkit.cli import build_parser
    from lstmkit.commands._options import option_name
    from lstmkit.commands.train import OPTIONS

    commands = build_parser()._subparsers._group_actions[0].choices
    paths = {"model_out", "checkpoint", "plot", "text", "model", "data", "x_key", "lengths_key", "features", "group", "y_key", "target"}
    for name in ("train", "generate"):
        group = [a for a in commands[name]._actions if a.option_strings and a.dest not in paths | {"help"}]
        lstm_flags = {a.dest for a in commands[name]._action_groups[-1]._group_actions}  # _lstm.py's group, shared with forecast
        for action in group:
            if action.dest in lstm_flags or action.dest == "verbose":
                continue
            shown = commands[name]._get_formatter()._expand_help(action) if action.help else ""
            assert "default" in shown, (name, action.option_strings, shown)
            if action.default not in (None, False) and action.dest not in ("temperature", "prime"):
                assert f"default {action.default}" in shown or f"at {action.default}" in shown, (name, action.dest, shown)
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("--clip CLIP clip the gradients' global norm to this before each update: ON by default, at 5.0 (Keras and "
            "PyTorch do not clip unless asked); 0 turns it off") in text
    # the command line's defaults are the estimators' (but --seed: 0, a repeatable run; --verbose: 1, progress;
    # --per-step: a flag, off where the regressor's None reads the targets' shape), the parser's own against each
    # estimator's: DEFAULTS is the classifier's get_params(), which compared with itself could not fail
    flags = {o: a.default for a in commands["train"]._actions for o in a.option_strings}
    for est in (lstmkit.LSTMClassifier(), lstmkit.LSTMRegressor()):
        params = {k: v for k, v in est.get_params().items() if option_name(k, OPTIONS) in flags}
        assert {k: flags[option_name(k, OPTIONS)] for k in params} == {**params, "seed": 0, "verbose": 1,
                                                                       **({"per_step": False} if "per_step" in params else {})}
        assert len(params) >= 14, sorted(params)  # hidden_size ... class_weight: the flags found by name
    args = build_parser().parse_args(["train", "d.npz", "--model-out", "m.npz"])
    assert (args.hidden_size, args.epochs, args.batch_size, args.optimizer, args.lr, args.clip, args.seed) == (32, 50, 32, "adam", 0.01, 5.0, 0)


def test_train_class_weight_balanced_or_by_label(tmp_path, capsys):
    # --class-weight balanced: scikit-learn's n_samples / (n_classes * count), here 60 / (2 * count) by hand;
    # LABEL=W names the labels as the data holds them (integers from an .npz, strings), a class left out weighs 1
    import lstmkit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4, 2)).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) > 0.6).astype(int)
    np.savez(tmp_path / "int.npz", X=X, y=y)
    np.savez(tmp_path / "str.npz", X=X, y=np.where(y == 1, "rare", "common"))
    n1 = int(y.sum())
    base = ["--epochs", "1", "--hidden-size", "2", "--verbose", "0", "--model-out", str(tmp_path / "m.npz")]
    assert main(["train", str(tmp_path / "int.npz"), *base, "--class-weight", "balanced"]) == 0
    model = lstmkit.load(tmp_path / "m.npz")
    assert model.class_weight == "balanced"
    np.testing.assert_allclose(model.class_weight_, [60 / (2 * (60 - n1)), 60 / (2 * n1)], rtol=1e-15)
    assert f"class weights: 0={60 / (2 * (60 - n1)):.4g},1={60 / (2 * n1):.4g}\n" in capsys.readouterr().out
    assert main(["train", str(tmp_path / "int.npz"), *base, "--class-weight", "1=5,0=0.5"]) == 0
    model = lstmkit.load(tmp_path / "m.npz")
    assert model.class_weight == {1: 5.0, 0: 0.5} and all(type(k) is int for k in model.class_weight)
    assert model.class_weight_.tolist() == [0.5, 5.0]
    assert main(["train", str(tmp_path / "str.npz"), *base, "--class-weight", "rare=5"]) == 0
    assert lstmkit.load(tmp_path / "m.npz").class_weight_.tolist() == [1.0, 5.0]  # common: left out, 1
    assert "class weights: common=1,rare=5\n" in capsys.readouterr().out
    # a label that is no class of y: the classifier's refusal, naming the option
    assert main(["train", str(tmp_path / "str.npz"), *base, "--class-weight", "rare=5,often=1"]) == 1
    assert error_line(capsys) == ("lstmkit: error: train: expected --class-weight labels that are classes of y ['common', 'rare'], "
                                  "got ['often'] (no class of y).")  # fmt: skip


def test_train_class_weight_is_refused_before_anything_runs(tmp_path, capsys):
    # exit 2, nothing read (the data file does not exist): a bad value, a label twice, a regressor
    args = ["train", str(tmp_path / "none.npz"), "--model-out", str(tmp_path / "m.npz")]
    form = "expected 'balanced' or LABEL=WEIGHT,LABEL=WEIGHT (the labels as in the data, e.g. rare=5 or 1=5,0=0.5), each weight a number >= 0"
    for value, words in (("rare=-1", f"{form}, got 'rare=-1'"), ("rare", f"{form}, got 'rare'"), ("Balanced", f"{form}, got 'Balanced'"),
                         ("=2", f"{form}, got '=2'"), ("a=1,b=x", f"{form}, got 'b=x'"), ("a=1,a=2", "expected each label once, got 'a' twice")):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main([*args, "--class-weight", value])
        assert exc.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"lstmkit train: error: argument --class-weight: {words}"
    assert main([*args, "--task", "regress", "--class-weight", "balanced"]) == 2
    assert error_line(capsys) == ("lstmkit: error: train: expected --class-weight with --task classify only (it weighs the classes "
                                  "of a classifier's loss), got --task regress. Leave it out to train a regressor.")  # fmt: skip
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--class-weight balanced|LABEL=W,... weigh each class in the loss" in shown and "(default: none, every target weighs 1)" in shown


def test_train_resume_with_other_class_weights_names_the_option(trained, tmp_path, capsys):
    base = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--verbose", "0", "--model-out", str(tmp_path / "m.npz")]
    ck = str(tmp_path / "ck.npz")
    assert main([*base, "--epochs", "1", "--checkpoint", ck, "--class-weight", "balanced"]) == 0
    capsys.readouterr()
    for other, got in (([], "no --class-weight"), (["--class-weight", "1=2"], "--class-weight 0=1,1=2")):  # each class's weight
        assert main([*base, "--epochs", "2", "--checkpoint", ck, *other]) == 1
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err == (
            f"lstmkit: error: train: the checkpoint {ck} was written with --class-weight balanced, got {got}. Resume with the same "
            f"options (only --epochs may grow), or start afresh: delete {ck} or give another --checkpoint path.\n")  # fmt: skip
    assert main([*base, "--epochs", "2", "--checkpoint", ck, "--class-weight", "balanced"]) == 0
    assert "resuming from the checkpoint" in capsys.readouterr().out


def test_train_resume_compares_the_weight_of_each_class_and_shows_them_apart(trained, tmp_path, capsys):
    # 1=5 and 1=5,0=1 are the same weights ([1, 5]): the resume goes on; 5.000001 and 5.000002 differ: shown so (not :g's 5)
    base = ["train", str(trained / "count.npz"), "--per-step", "--hidden-size", "2", "--verbose", "0", "--model-out", str(tmp_path / "m.npz")]
    ck, ck2 = str(tmp_path / "ck.npz"), str(tmp_path / "ck2.npz")
    assert main([*base, "--epochs", "1", "--checkpoint", ck, "--class-weight", "1=5"]) == 0
    assert main([*base, "--epochs", "2", "--checkpoint", ck, "--class-weight", "1=5,0=1"]) == 0
    assert "resuming from the checkpoint" in capsys.readouterr().out
    assert main([*base, "--epochs", "1", "--checkpoint", ck2, "--class-weight", "1=5.000001"]) == 0
    capsys.readouterr()
    assert main([*base, "--epochs", "2", "--checkpoint", ck2, "--class-weight", "1=5.000002"]) == 1
    assert error_line(capsys) == (f"lstmkit: error: train: the checkpoint {ck2} was written with --class-weight 0=1,1=5.000001, got "
                                  "--class-weight 0=1,1=5.000002. Resume with the same options (only --epochs may grow), or start "
                                  f"afresh: delete {ck2} or give another --checkpoint path.")  # fmt: skip


def test_train_validation_targets_that_weigh_nothing_name_the_labels_and_the_options(tmp_path, capsys):
    import lstmkit

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4, 2)).astype(np.float32)
    y = np.array(["up"] * 19 + ["down"])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    held = lstmkit.LSTMClassifier(hidden_size=2, epochs=1, seed=0, validation_split=0.25).fit(X, y).validation_indices_
    assert 19 not in held  # --seed 0 (the command's) holds out 5 rows, all 'up'
    assert main(["train", str(tmp_path / "d.npz"), "--epochs", "1", "--hidden-size", "2", "--verbose", "0", "--model-out",
                 str(tmp_path / "m.npz"), "--class-weight", "up=0", "--validation-split", "0.25"]) == 1  # fmt: skip
    assert error_line(capsys) == ("lstmkit: error: train: expected --class-weight a weight > 0 for a class among the targets "
                                  "--validation-split held out (the loss is their weighted mean), got 0 for each of their classes ['up'].")  # fmt: skip
