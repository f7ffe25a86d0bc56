"""Seed 000's counting task, trained from scratch.

The slides' two-unit LSTM reads A/B one-hot inputs and says, at every step, whether more than one
A has been seen so far, with y_t = softmax(h_t) — no read-out layer. "The parameters ... are
obtained by training with cross-entropy": here they are, from a random initialisation.

    python examples/seed000_counting.py
"""

import time

import numpy as np

from lstmkit import LSTMClassifier
from lstmkit.datasets import counting_task
from lstmkit.seeds import seed000_inputs

X, y = counting_task(256, 10, seed=0)  # (256, 10, 2) one-hot A/B, (256, 10) targets
X_test, y_test = counting_task(500, 20, seed=1)  # longer sequences than any seen in training

t0 = time.perf_counter()
clf = LSTMClassifier(hidden_size=2, readout="identity", epochs=150, batch_size=32, learning_rate=0.05, seed=0)
clf.fit(X, y)
secs = time.perf_counter() - t0

print(f"trained in {secs:.1f} s, final loss {clf.history_.epochs[-1]['loss']:.4f}")
print(f"per-step accuracy: train {clf.score(X, y):.4f}, test (T=20) {clf.score(X_test, y_test):.4f}")
print("the slides' A, A, B ->", clf.predict(seed000_inputs()[None])[0], "(targets [0 1 1])")
print("learned W_ih (i, f, g, o rows):")
print(np.round(clf.model_.state_dict()["rnn.weight_ih_l0"], 2))
