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
    assert len(err) == 1 and err[0].startswith(f"lstmkit: warning: LSTMClassifier.predict: X comes without lengths, but {n_padded} of its "
                                               "40 sequences end in an all-zero step")  # fmt: skip
    assert "for 'lstmkit predict' a 'lengths' array in the .npz" in err[0]
    assert main(["predict", str(d / "seqs_model.npz"), str(d / "seqs.npz")]) == 0  # with its lengths: no warning
    assert capsys.readouterr().err == ""
