"""The seed decks' worked examples as data (numbers copied from the slides, nothing computed).

Seed 000 (Guo & Boyd-Graber, "LSTM example"): two hidden units, one-hot inputs A = [1, 0] and
B = [0, 1], the sequence A, A, B, all biases 0, read-out ``y_t = softmax(h_t)``; target class 1
when more than one A has been seen so far. Matrices act on column vectors (rows are hidden units),
which is PyTorch's (H, I) layout. Note: one slide ("Inputs") prints x_1 = [1.0, 1.0]; every other
slide, and the computation itself, uses x_1 = A = [1.0, 0.0].
"""

from __future__ import annotations

import numpy as np

SEED000_GATES = {
    # input weights, (H, I) = (2, 2)
    "W_ii": [[4.0, 4.0], [2.0, 2.0]],
    "W_if": [[-2.0, 3.0], [2.0, 3.0]],
    "W_ic": [[1.0, 3.0], [0.0, -3.0]],
    "W_io": [[5.0, 5.0], [3.0, 5.0]],
    # recurrent weights, (H, H) = (2, 2)
    "W_hi": [[1.0, 0.0], [4.0, -2.0]],
    "W_hf": [[-1.0, -2.0], [0.0, 0.0]],
    "W_hc": [[-4.0, -8.0], [4.0, 3.0]],
    "W_ho": [[1.0, 0.0], [2.0, 1.0]],
}
SEED000_TOKENS = {"A": [1.0, 0.0], "B": [0.0, 1.0]}
SEED000_SEQUENCE = "AAB"
SEED000_TARGETS = [0, 1, 1]  # 1 when the number of A seen so far is larger than 1


def seed000_inputs() -> np.ndarray:
    """x_1..x_3 for A, A, B as a (T, I) = (3, 2) float64 array."""
    return np.array([SEED000_TOKENS[ch] for ch in SEED000_SEQUENCE], dtype=np.float64)


def seed000_cell():
    """The seed-000 LSTM cell in float64, built from the slides' per-gate matrices."""
    from .cell import LSTMCell

    return LSTMCell.from_per_gate({k: np.array(v) for k, v in SEED000_GATES.items()}, dtype=np.float64)
