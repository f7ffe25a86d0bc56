"""Seed 001's sequence classification on real data: scikit-learn's 8x8 digits read row by row.

Each image becomes a sequence of 8 steps (its rows) of 8 features (the pixels of a row); the LSTM
reads it top to bottom and classifies at the last step.

    python examples/seed001_digits.py
"""

import time

import numpy as np

from lstmkit import LSTMClassifier
from lstmkit.datasets import digits_sequences

X, y = digits_sequences()  # (1797, 8, 8), (1797,)
order = np.random.default_rng(0).permutation(len(X))
train, test = order[:1400], order[1400:]

t0 = time.perf_counter()
clf = LSTMClassifier(hidden_size=64, epochs=30, batch_size=32, learning_rate=0.01, seed=0)
clf.fit(X[train], y[train])
secs = time.perf_counter() - t0
print(f"trained on {len(train)} digits in {secs:.1f} s")
print(f"accuracy: train {clf.score(X[train], y[train]):.4f}, test ({len(test)} digits) {clf.score(X[test], y[test]):.4f}")
