"""``lstmkit predict``: load a saved classifier or regressor and predict on new sequences."""

from __future__ import annotations

import argparse

import numpy as np

from ..cli import CommandError
from ._data import add_data_arguments, load_sequences

HELP = "predict with a saved LSTM classifier or regressor (and score it when targets are given)"
EXAMPLE = "lstmkit predict count_model.npz count.npz --out predictions.csv   (after the 'lstmkit train' example)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a model file written by 'lstmkit train' (or an estimator's save())")
    p.add_argument("data", help="inputs: .npz (X[, y, lengths]), .npy (X) or .csv")
    p.add_argument("--out", help="write the predictions to this CSV (one row per sequence, or per step)")
    add_data_arguments(p)


def run(args: argparse.Namespace) -> int:
    from ..saving import load

    est = load(args.model, kind=("LSTMClassifier", "LSTMRegressor"))
    regress = type(est).__name__ == "LSTMRegressor"
    per_step = bool(getattr(est, "per_step_", False)) or getattr(est.model_, "head_mode", "last") == "all"
    X, y, lengths = load_sequences(args.data, args, need_target=False, numeric_target=regress, per_step=per_step)
    if X.shape[2] != est.n_features_in_:
        raise CommandError(f"{args.data}: expected {est.n_features_in_} features per step (as at fit), got {X.shape[2]}.")
    pred = est.predict(X, lengths)
    if y is not None and not regress:
        seen = {str(c) for c in est.classes_}
        unseen = sorted({str(v) for v in np.ravel(y)} - seen)
        if unseen:
            raise CommandError(f"{args.data}: expected labels seen at fit {sorted(seen)}, got unseen labels {unseen[:5]}.")
        y = np.asarray(y).astype(est.classes_.dtype) if est.classes_.dtype.kind in "iuf" else np.asarray(y)
    flat = pred.reshape(len(pred), -1)
    if args.out:
        from ..io import atomic_write_bytes

        lines = ["sequence," + ",".join(f"p{j}" for j in range(flat.shape[1]))]
        lines += [f"{i}," + ",".join(str(v) for v in row) for i, row in enumerate(flat)]
        atomic_write_bytes(args.out, lambda f: f.write(("\n".join(lines) + "\n").encode()))
        print(f"{len(pred)} predictions written to {args.out}")
    else:
        for i, row in enumerate(flat[:20]):
            print(i, " ".join(str(v) for v in row))
        if len(flat) > 20:
            print(f"... ({len(flat)} sequences; use --out to write them all)")
    if y is not None:
        name = "R²" if regress else "accuracy"
        print(f"{name} on {args.data}: {est.score(X, y, lengths):.4f}")
    return 0
