"""``lstmkit predict`` on data of sequences of different lengths: the labels that count (those within
each sequence's length, as ``score`` counts them), how unseen labels are named, and the warning
when X comes padded without its lengths."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from lstmkit.cli import main


def variable_length_data(n=40, T=8, seed=0):
    """X (n, T, 2) zero-padded past lengths (3..T), a label per step (is the running sum of feature 0
    above 0?) with -1 past each length, as the README allows ("past a sequence's length any integer,
    -1 say, is ignored"), and a label per sequence."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, T + 1, n)
    lengths[0] = T
    X = np.zeros((n, T, 2), np.float32)
    steps = np.full((n, T), -1)
    for i, m in enumerate(lengths):
        X[i, :m] = rng.normal(size=(m, 2))
        steps[i, :m] = np.cumsum(X[i, :m, 0]) > 0
    return X, steps, steps[np.arange(n), lengths - 1], lengths


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("predict")
    X, steps, last, lengths = variable_length_data()
    np.savez(d / "steps.npz", X=X, y=steps, lengths=lengths)
    np.savez(d / "seqs.npz", X=X, y=last, lengths=lengths)
    for data, extra in (("steps", ["--per-step"]), ("seqs", [])):
        assert main(["train", str(d / f"{data}.npz"), *extra, "--hidden-size", "4", "--epochs", "3",
                     "--model-out", str(d / f"{data}_model.npz")]) == 0  # fmt: skip
    return d


def test_per_step_labels_past_lengths_are_ignored_as_score_ignores_them(models, capsys):
    d = models
    capsys.readouterr()
    assert main(["predict", str(d / "steps_model.npz"), str(d / "steps.npz"), "--out", str(d / "p.csv")]) == 0
    out = capsys.readouterr().out
    X, steps, _, lengths = variable_length_data()
    rows = list(csv.reader(open(d / "p.csv", newline="")))[1:]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(i, t) for i, m in enumerate(lengths) for t in range(m)]  # valid steps only
    # the accuracy printed is that of the predictions written, over the valid steps (the -1s left out)
    truth = np.concatenate([steps[i, :m] for i, m in enumerate(lengths)])
    accuracy = np.mean([int(r[2]) for r in rows] == truth)
    assert f"accuracy on {d / 'steps.npz'}: {accuracy:.4f}" in out


def test_a_label_within_a_sequence_unseen_at_fit_is_refused_and_named_as_it_is(models, tmp_path, capsys):
    d = models
    X, steps, last, lengths = variable_length_data()
    steps[1, 0] = 7  # within sequence 1's length
    np.savez(tmp_path / "u.npz", X=X, y=steps, lengths=lengths)
    capsys.readouterr()
    assert main(["predict", str(d / "steps_model.npz"), str(tmp_path / "u.npz"), "--out", str(tmp_path / "u.csv")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"lstmkit: error: {tmp_path / 'u.npz'}: expected labels seen at fit [0, 1], got unseen labels [7]."  # integers as integers
    assert not (tmp_path / "u.csv").exists()
    steps[1, 0] = steps[1, 1]
    steps[2, 0] = -1  # -1 within a sequence is a label, and no class
    np.savez(tmp_path / "u.npz", X=X, y=steps, lengths=lengths)
    assert main(["predict", str(d / "steps_model.npz"), str(tmp_path / "u.npz")]) == 1
    assert capsys.readouterr().err.strip().endswith("expected labels seen at fit [0, 1], got unseen labels [-1].")
    # strings are shown as strings
    np.savez(tmp_path / "s.npz", X=X, y=np.where(last == 1, "up", "down"), lengths=lengths)
    assert main(["train", str(tmp_path / "s.npz"), "--hidden-size", "2", "--epochs", "1", "--model-out", str(tmp_path / "s_model.npz")]) == 0
    np.savez(tmp_path / "s2.npz", X=X, y=np.where(last == 1, "up", "sideways"), lengths=lengths)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "s_model.npz"), str(tmp_path / "s2.npz")]) == 1
    assert capsys.readouterr().err.strip().endswith("expected labels seen at fit ['down', 'up'], got unseen labels ['sideways'].")


def test_padded_x_without_lengths_warns_once_for_a_model_trained_with_lengths(models, tmp_path, capsys):
    d = models
    X, _, last, lengths = variable_length_data()
    np.savez(tmp_path / "nolen.npz", X=X, y=last)  # the same data, its lengths left out
    capsys.readouterr()
    assert main(["predict", str(d / "seqs_model.npz"), str(tmp_path / "nolen.npz")]) == 0  # predicts, scores, warns
    err = capsys.readouterr().err.strip().splitlines()
    n_padded = int((lengths < 8).sum())
    # said in the command line's words: the array (or --lengths-key) that gives lengths, not Python's lengths=...
    assert err == [f"lstmkit: warning: predict: {tmp_path / 'nolen.npz'} comes with no lengths (no array 'lengths' among "
                   f"['X', 'y']), but {n_padded} of its 40 sequences end in an all-zero step, as zero padding does "
                   f"(sequence 1 first), and {d / 'seqs_model.npz'} was fitted with lengths: the zero steps run through "
                   f"the LSTM as input, and each sequence's prediction is read after them. Add to {tmp_path / 'nolen.npz'} "
                   f"an array 'lengths' of each sequence's number of valid steps, (40,) integers (8 for every sequence "
                   f"if the zeros are data), or name the .npz's array of lengths with --lengths-key."]  # fmt: skip
    assert lengths[0] == 8 and lengths[1] < 8  # sequence 0 is whole (variable_length_data), 1 the first padded
    assert "lengths=" not in err[0] and "X as a list" not in err[0]  # the library's advice to Python callers
    assert main(["predict", str(d / "seqs_model.npz"), str(d / "seqs.npz")]) == 0  # with its lengths: no warning
    assert capsys.readouterr().err == ""
    np.savez(tmp_path / "other.npz", X=X, y=last, n=lengths)  # the lengths under another name: --lengths-key
    assert main(["predict", str(d / "seqs_model.npz"), str(tmp_path / "other.npz"), "--lengths-key", "n"]) == 0
    assert capsys.readouterr().err == ""
    np.save(tmp_path / "x.npy", X)  # a .npy holds no lengths: an .npz does
    assert main(["predict", str(d / "seqs_model.npz"), str(tmp_path / "x.npy")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"lstmkit: warning: predict: {tmp_path / 'x.npy'} comes with no lengths (a .npy), but ")
    assert err[0].endswith("A .npy holds X only: save it in an .npz beside an array of each sequence's number of valid "
                           "steps (8 for every sequence if the zeros are data), as arrays 'X' and 'lengths' (or name "
                           "them with --x-key, --lengths-key).")  # fmt: skip


def test_the_missing_lengths_warning_is_the_librarys_given_the_callers_words(models):
    # predict copied the library's rule and message (the guard, looks_padded, the count and first index) to change
    # its subject and advice; the library's own advice to Python callers named 'lstmkit predict' ("for 'lstmkit
    # predict' a 'lengths' array in the .npz"). One function now: its words by default, or those it is given
    import lstmkit
    from lstmkit.estimators import MissingLengthsWarning, warn_missing_lengths

    X, _, _, lengths = variable_length_data()
    est = lstmkit.load(models / "seqs_model.npz")
    n_padded = int((lengths < 8).sum())
    said = (f"but {n_padded} of its 40 sequences end in an all-zero step, as zero padding does (sequence 1 first), and "
            "{model} was fitted with lengths: the zero steps run through the LSTM as input, and each sequence's "
            "prediction is read after them. ")  # fmt: skip
    with pytest.warns(MissingLengthsWarning) as seen:
        est.predict(X)
    assert [str(w.message) for w in seen] == [
        "LSTMClassifier.predict: X comes without lengths, " + said.format(model="the model") + "Pass lengths (each "
        "sequence's number of valid steps), or X as a list of sequences of their own lengths (what scikit-learn's "
        "cross_val_score and GridSearchCV can pass: they give lengths to fit only), or lengths=numpy.full(40, 8) if "
        "the zeros are data."]  # fmt: skip
    with pytest.warns(MissingLengthsWarning) as seen:
        warn_missing_lengths(est, X, None, "predict", "d.npz comes with no lengths", "m.npz", "Add lengths to d.npz.")
    assert [str(w.message) for w in seen] == ["predict: d.npz comes with no lengths, " + said.format(model="m.npz") +
                                              "Add lengths to d.npz."]  # fmt: skip
    assert seen[0].filename == __file__  # stacklevel 2: the line calling it


def test_a_csv_says_which_layout_gives_lengths(tmp_path, capsys):
    # one feature per step, so that a wide CSV (its columns the steps) reads the same sequences
    X, _, last, lengths = variable_length_data()
    X = X[:, :, :1]
    np.savez(tmp_path / "one.npz", X=X, y=last, lengths=lengths)
    assert main(["train", str(tmp_path / "one.npz"), "--hidden-size", "2", "--epochs", "1",
                 "--model-out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    steps = [f"s{t}" for t in range(8)]
    wide = [",".join(repr(float(v)) for v in row) for row in X[:, :, 0]]
    (tmp_path / "w.csv").write_text(",".join(steps) + "\n" + "\n".join(wide) + "\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "w.csv"), "--features", ",".join(steps)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"lstmkit: warning: predict: {tmp_path / 'w.csv'} comes with no lengths "
                                               f"(a wide CSV, a row per sequence), but ")  # fmt: skip
    assert err[0].endswith("A wide CSV gives every sequence all 8 steps: for sequences of different lengths use the long "
                           "layout, a row per step and a column naming each row's sequence, read with --group COLUMN.")
    # the long layout: each sequence its own rows. All of 8 rows, the last one zeros, they are data: nothing to warn of
    rows = [f"q{i},{t},{float(X[i, t, 0])!r}" for i in range(len(X)) for t in range(8)]
    (tmp_path / "long.csv").write_text("seq,t,x\n" + "\n".join(rows) + "\n")
    assert main(["predict", str(tmp_path / "m.npz"), str(tmp_path / "long.csv"), "--group", "seq", "--features", "x"]) == 0
    assert capsys.readouterr().err == ""


def test_an_array_named_on_the_command_line_and_absent_is_refused_naming_the_arrays(models, tmp_path, capsys):
    # --lengths-key NAME absent was read as 'no lengths', without a word (the padding then ran through the LSTM);
    # --x-key's refusal was the reader's ('expected an array named one of [...]'), without the option
    d = models
    capsys.readouterr()
    assert main(["predict", str(d / "seqs_model.npz"), str(d / "seqs.npz"), "--lengths-key", "n"]) == 1
    assert capsys.readouterr().err == (f"lstmkit: error: {d / 'seqs.npz'}: expected an array named 'n' (the lengths, "
                                       f"--lengths-key), got arrays ['X', 'y', 'lengths'].\n")  # fmt: skip
    assert main(["predict", str(d / "seqs_model.npz"), str(d / "seqs.npz"), "--x-key", "inputs"]) == 1
    assert capsys.readouterr().err == (f"lstmkit: error: {d / 'seqs.npz'}: expected an array named 'inputs' (the inputs), "
                                       f"got arrays ['X', 'y', 'lengths']. Use --x-key.\n")  # fmt: skip
    # the default name, absent: no lengths (an .npz need not hold them), the data read as whole sequences
    X, _, last, _ = variable_length_data()
    np.savez(tmp_path / "whole.npz", X=X[:, :3], y=last)  # 3 steps of data each: nothing looks padded
    assert main(["predict", str(d / "seqs_model.npz"), str(tmp_path / "whole.npz")]) == 0
    assert capsys.readouterr().err == ""


def test_a_data_file_declaring_gigabytes_or_running_out_of_memory_is_one_line(models, tmp_path, capsys, monkeypatch):
    """helper-153 #4: predict on a 192-byte .npy whose header declares (1e6, 1e6, 2) ended in a traceback
    ('Unable to allocate 14.6 TiB'), on a 3 MB bomb.npz in 3.2 GB of memory and a MemoryError traceback. A .npy
    declaring more than it holds, and an .npz declaring more than the machine's memory (made 8 MiB here), are
    refused before the allocation, in one line naming the file (lstmkit.tables; an .npz above 1 GiB deflated
    more than 100x is a bomb too, test_tables); and
    any MemoryError is one line saying memory ran out and in which command, exit 1 (--traceback: the error)."""
    import io
    import zipfile

    import lstmkit.tables

    model = str(models / "seqs_model.npz")
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 2)})
    (tmp_path / "huge.npy").write_bytes(buf.getvalue())
    np.savez_compressed(tmp_path / "bomb.npz", X=np.zeros((2**16, 8, 2)))  # 8 MiB + 128 bytes of zeros, deflated ~1000x
    with zipfile.ZipFile(tmp_path / "bomb.npz") as z:
        assert z.getinfo("X.npy").file_size > 100 * z.getinfo("X.npy").compress_size  # deflates as padded data may
    capsys.readouterr()
    monkeypatch.setattr(lstmkit.tables, "memory_bytes", lambda: 8 << 20)  # a machine of 8 MiB: the .npz declares more
    for data, said in (("huge.npy", "a truncated or damaged .npy file (its header declares shape (1000000, 1000000, 2) of float64"),
                       ("bomb.npz", "an .npz archive larger than this machine's memory (its entries declare 8388736 bytes, the machine has 8388608)")):  # fmt: skip
        assert main(["predict", model, str(tmp_path / data)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"lstmkit: error: {tmp_path / data}: expected a NumPy .npz/.npy file, got {said}") and err.count("\n") == 1, err
    monkeypatch.undo()

    def no_memory(*a, **k):
        raise MemoryError("Unable to allocate 2.98 GiB for an array with shape (25000000, 8, 2) and data type float64")

    monkeypatch.setattr(lstmkit.tables, "read_array", no_memory)
    np.savez(tmp_path / "ok.npz", X=np.zeros((2, 3, 2)))
    assert main(["predict", model, str(tmp_path / "ok.npz")]) == 1
    assert capsys.readouterr().err == ("lstmkit: error: out of memory in predict (Unable to allocate 2.98 GiB for an array with shape "
                                       "(25000000, 8, 2) and data type float64). Use less data or a smaller model; --traceback shows where.\n")  # fmt: skip
    with pytest.raises(MemoryError):
        main(["--traceback", "predict", model, str(tmp_path / "ok.npz")])


def test_float64_inputs_are_read_without_a_second_copy(tmp_path):
    """load_sequences cast X with astype(np.float64), a copy even of float64 data: twice the data in memory
    (helper-153 #4, _data.py:103). NumPy's allocations are traced by tracemalloc: reading 8 MB of float64
    inputs allocates them once, not twice."""
    import tracemalloc
    from types import SimpleNamespace

    from lstmkit.commands._data import load_sequences

    X = np.random.default_rng(0).normal(size=(1000, 125, 8))
    np.save(tmp_path / "x.npy", X)
    tracemalloc.start()
    try:
        got = load_sequences(str(tmp_path / "x.npy"), SimpleNamespace(x_key="X", y_key="y", lengths_key="lengths"), need_target=False)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(got, X)
    assert peak < 1.5 * X.nbytes, (peak, X.nbytes)


def test_predict_runs_the_model_once_over_the_batches(models, tmp_path, capsys, monkeypatch):
    """predict ran est.predict, est.predict_proba and est.score: three passes over the data for a classifier
    with targets, two for a regressor (helper-203 #4). Now one: 600 sequences are 3 batches of at most 256."""
    from lstmkit.models import SequenceModel

    d = models
    X, steps, last, lengths = variable_length_data()
    reps = 15  # 600 sequences
    np.savez(tmp_path / "steps.npz", X=np.tile(X, (reps, 1, 1)), y=np.tile(steps, (reps, 1)), lengths=np.tile(lengths, reps))
    np.savez(tmp_path / "seqs.npz", X=np.tile(X, (reps, 1, 1)), y=np.tile(last, reps), lengths=np.tile(lengths, reps))
    np.savez(tmp_path / "real.npz", X=X, y=X[:, :, 0].sum(1), lengths=lengths)
    assert main(["train", str(tmp_path / "real.npz"), "--task", "regress", "--hidden-size", "2", "--epochs", "1",
                 "--model-out", str(tmp_path / "real_model.npz")]) == 0  # fmt: skip
    np.savez(tmp_path / "real.npz", X=np.tile(X, (reps, 1, 1)), y=np.tile(X[:, :, 0].sum(1), reps), lengths=np.tile(lengths, reps))
    calls = []
    real = SequenceModel.forward
    counted = lambda self, x, *a, **k: calls.append(len(x)) or real(self, x, *a, **k)  # noqa: E731
    monkeypatch.setattr(SequenceModel, "forward", counted)
    monkeypatch.setattr(SequenceModel, "__call__", counted)  # __call__ = forward, bound at the class's making
    for model, data in ((d / "steps_model.npz", "steps"), (d / "seqs_model.npz", "seqs"), (tmp_path / "real_model.npz", "real")):
        calls.clear()
        capsys.readouterr()
        assert main(["predict", str(model), str(tmp_path / f"{data}.npz"), "--out", str(tmp_path / "p.csv")]) == 0
        assert ("accuracy" if data != "real" else "R²") in capsys.readouterr().out
        assert calls == [256, 256, 88], (data, calls)


@pytest.mark.filterwarnings("ignore::lstmkit.estimators.MissingLengthsWarning")  # X padded, lengths=None: on purpose
def test_predict_and_score_equal_the_estimators_three_calls_ties_and_padding_too(models, tmp_path):
    """predict_and_score's one pass gives what est.predict, est.predict_proba and est.score give: per sequence and
    per step with lengths (predict's padding label, NaN probabilities past each length), and with every class tied
    (a read-out of zeros: the first class, as argmax and predict take it)."""
    import lstmkit
    from lstmkit.commands.predict import labels_as_classes, predict_and_score
    from lstmkit.estimators import scored_targets

    X, steps, last, lengths = variable_length_data()
    for name, y in (("steps", steps), ("seqs", last)):
        est = lstmkit.load(str(models / f"{name}_model.npz"))
        for tied in (False, True):
            if tied:
                for key, w in est.model_.named_parameters():
                    if key.startswith("head."):
                        w[...] = 0.0
            for lens in (lengths, None):
                valid = scored_targets(est.per_step_, lens, *X.shape[:2])
                yc = labels_as_classes(y if lens is not None else np.where(y < 0, 0, y), est.classes_, valid, "data")  # -1: padding
                pred, proba, accuracy = predict_and_score(est, X, yc, lens)
                want = est.predict(X, lens)
                assert pred.dtype == want.dtype and np.array_equal(pred, want), (name, tied, lens is None)
                np.testing.assert_array_equal(proba, est.predict_proba(X, lens))  # NaN where NaN
                assert accuracy == est.score(X, yc, lens)
                if tied:
                    assert (pred[valid] == est.classes_[0]).all() and np.all(proba[valid] == 0.5)
