"""A trained lstmkit model plus an input sequence, as a worked example.

:func:`example_from_model` takes an estimator (``LSTMClassifier`` / ``LSTMRegressor``, after
``fit`` or ``lstmkit.load``), a :class:`~lstmkit.models.SequenceModel`, an :class:`~lstmkit.LSTM`
or an :class:`~lstmkit.LSTMCell`, and an input sequence x (T, I), and returns a
:class:`~lstmkit.explain.worked.WorkedExample` in seed 000's per-gate notation: the first layer's
weights, the sequence, zero initial states and the model's read-out: y_t = softmax(W_y h_t + b_y)
for a classifier (at every step, or at the last only with head="last"), the values
W_y h_t + b_y scaled back into y's units for a regressor. Deeper or bidirectional networks are
explained through their first layer's forward direction, without the read-out, which reads the
last layer (both directions); the example's note says so. A projected one (proj_size) is refused. A variant LSTM (:mod:`lstmkit.variants`) keeps its options: peepholes
(weights w_ci, w_cf, w_co), CIFG, clips, activations, layer norm (gains gamma_ih, gamma_hh,
gamma_c, beta_c) and zoneout as it acts at inference; the dropouts and DropConnect act in training
only, so the explanation (the model in use) has none of them and says so.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_float_array, count, fail
from .. import layout
from .worked import ENGINE_NAME, Readout, WorkedExample, _gates_from


def _unwrap(model):
    """(lstm_or_cell, sequence_model_or_None, estimator_or_None)."""
    est = None
    from ..forecast import LSTMForecaster

    if isinstance(model, LSTMForecaster):  # its window, scaling and differencing sit around the network
        fail("explain", "model", "an LSTM, a SequenceModel or an LSTMClassifier/LSTMRegressor/TextGenerator",
             f"an {type(model).__name__}", "Explain its network on scaled windows: explain(example_from_model("
             "fc.regressor_, window)).", exc=TypeError)  # fmt: skip
    is_seq = hasattr(model, "rnn") and hasattr(model, "head_mode")  # a SequenceModel is saved as a file too
    if not is_seq and (hasattr(model, "model_") or hasattr(type(model), "_from_model_file")):
        est = model
        if getattr(model, "model_", None) is None:
            fail("explain", "model", "a fitted estimator", "an unfitted one", "Call fit (or lstmkit.load) first.")
        model = model.model_
    seq = model if hasattr(model, "rnn") and hasattr(model, "head_mode") else None
    rnn = seq.rnn if seq is not None else model
    return rnn, seq, est


def example_from_model(model, x, labels=None, title: str | None = None) -> WorkedExample:
    """Explain ``model`` on one input sequence ``x`` (T, I) (see the module docstring)."""
    from ..cell import LSTMCell
    from ..recurrent import LSTM

    rnn, seq, est = _unwrap(model)
    where = "explain"
    notes = []
    if isinstance(rnn, LSTMCell):
        params = {k: np.asarray(v, dtype=np.float64) for k, v in rnn.state_dict().items()}
        I, H = rnn.input_size, rnn.hidden_size
    elif isinstance(rnn, LSTM):
        if rnn.proj_size:
            fail(where, "model", "an LSTM without projection (proj_size=0)", f"proj_size={rnn.proj_size}",
                 "h_t = W_hr(o_t * tanh(c_t)) is not part of the seeds' cell.")
        sd = rnn.state_dict()
        params = {k[: -len("_l0")]: np.asarray(sd[k], dtype=np.float64) for k in sd if k.endswith("_l0")}
        I, H = rnn.input_size, rnn.hidden_size
        if rnn.num_layers > 1 or rnn.bidirectional:
            notes.append(f"the network has {count(rnn.num_layers, 'layer')}{' and two directions' if rnn.bidirectional else ''}; "
                         "this shows the first layer, forward direction")
    else:
        fail(where, "model", "an lstmkit LSTM, LSTMCell, SequenceModel or fitted LSTM estimator", type(rnn).__name__, exc=TypeError)
    x = check_float_array(x, where, "x", np.float64)
    if x.ndim != 2 or x.shape[1] != I:
        fail(where, "x", f"a (T, {I}) sequence (input_size={I})", f"shape {x.shape}")
    pg = layout.to_per_gate(params)
    weights = {k: v for k, v in pg.items() if k.startswith("W_") or np.any(v)}
    variant = rnn.variant if not rnn.variant.is_plain else None  # peepholes, CIFG, clips, layer norm, ...
    weights.update({name: params[engine] for name, engine in ENGINE_NAME.items() if engine in params})
    gates = _gates_from("per_gate", weights, H, I, where)
    readout = None
    if seq is not None and notes:  # the read-out reads the last layer (both directions): not shown here
        T, last = x.shape[0], seq.head_mode == "last"
        reads = f"h_{T}" if last else "h_t"
        if rnn.bidirectional:  # head="last": each direction's final state, →h_T and ←h_1
            reads = f"[→h_{T}, ←h_1]" if last else "[→h_t, ←h_t]"
        layer = f"layer {rnn.num_layers}'s " if rnn.num_layers > 1 else ""
        both = " of both directions" if rnn.bidirectional else ""
        shown = {(True, True): "layer 1's forward direction's", (True, False): "layer 1's",
                 (False, True): "the forward direction's"}[(rnn.num_layers > 1, rnn.bidirectional)]
        notes.append(f"the model's read-out is not shown: it reads {layer}{reads}{both}, and the numbers below are {shown}")
    elif seq is not None:
        readout = _readout(seq, est)
    kind = type(est if est is not None else seq if seq is not None else rnn).__name__
    note = "; ".join(notes)
    return WorkedExample(
        title=title or f"{kind}: {count(H, 'unit')}, {count(I, 'input')}, {count(x.shape[0], 'step')}",
        notation="per_gate", weights=weights, x=x, h0=np.zeros(H), c0=np.zeros(H), gates=gates,
        readout=readout, labels=None if labels is None else tuple(map(str, labels)),
        source="a trained lstmkit model", note=note[:1].upper() + note[1:] + ("." if notes else ""),
        variant=variant,
    )


def _readout(seq, est) -> Readout:
    """The read-out of a one-layer, one-direction SequenceModel: W_y h + b_y (or h) at every step or
    at the last (head="last"); softmax for a classifier (and a TextGenerator), the values scaled
    back into y's units for a regressor, the bare output for a SequenceModel without its estimator."""
    W_y = b_y = None
    if seq.head is not None:
        hp = seq.head.state_dict()
        W_y = np.asarray(hp["weight"], dtype=np.float64)  # (K, H)
        b_y = np.asarray(hp.get("bias", np.zeros(W_y.shape[0])), dtype=np.float64)  # (K,)
    head = seq.head_mode
    if est is not None and hasattr(est, "classes_"):
        return Readout(W_y, b_y, None, tuple(str(c) for c in est.classes_), head=head)
    if est is not None and hasattr(est, "vocab_"):  # a TextGenerator: the next character's probabilities
        return Readout(W_y, b_y, None, tuple(est.vocab_), head=head)
    if est is not None and hasattr(est, "y_scale_"):
        return Readout(W_y, b_y, head=head, task="regress", y_mean=np.asarray(est.y_mean_, dtype=np.float64),
                       y_scale=np.asarray(est.y_scale_, dtype=np.float64))
    return Readout(W_y, b_y, head=head, task="regress",
                   note="These are the model's outputs: a SequenceModel file does not say whether they are "
                        "logits (a softmax would give the probabilities) or values.")


def _read_csv_steps(path: str) -> np.ndarray:
    """(T, I) from a CSV file, one step per row, with or without a header row."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except UnicodeDecodeError:
        fail("explain", "--input", "a .npy file, a .csv file (one step per row) or inline numbers", f"{path}, a binary file")
    if rows and not _numeric(rows[0]):
        rows = rows[1:]  # a header row
    if not rows:
        fail("explain", "--input", "a CSV with one step per row", f"{path} with no data rows")
    for line, r in enumerate(rows, start=1):
        if not _numeric(r) or len(r) != len(rows[0]):
            fail("explain", "--input", f"{len(rows[0])} numbers on every row of {path}", f"{','.join(r)!r} on data row {line}")
    return np.array([[float(v) for v in r] for r in rows])


def _numeric(row: list[str]) -> bool:
    try:
        [float(v) for v in row]
    except ValueError:
        return False
    return True


def read_sequence(spec: str, input_size: int | None = None) -> np.ndarray:
    """An input sequence (T, I) from a .npy file (T, I), a .csv file (one step per row, a header row
    allowed) or inline text ``"1,0; 1,0; 0,1"`` (steps separated by ';'). Inline steps of unequal
    length are refused naming the first that differs; ``input_size`` (the model's I), when given,
    is checked too, said as ``--input``'s numbers a step."""
    import os

    if spec.endswith(".npy") and os.path.exists(spec):
        from ..tables import read_array

        a = read_array(spec)  # (its header checked against the bytes it holds before anything is allocated)
    elif os.path.exists(spec):
        a = _read_csv_steps(spec)
    elif any(c.isdigit() for c in spec) and not spec.endswith((".npy", ".csv", ".txt")):
        rows = [row.strip() for row in spec.split(";") if row.strip()]
        try:
            steps = [[float(v) for v in row.split(",")] for row in rows]
        except ValueError:
            fail("explain", "--input", "numbers like '1,0; 1,0; 0,1' (steps separated by ';')", repr(spec))
        n = input_size if input_size is not None else len(steps[0])  # the model's inputs, else step 1's count
        for t, (row, step) in enumerate(zip(rows, steps), start=1):
            if len(step) != n:
                why = "the model's inputs" if input_size is not None else "as step 1"
                fail("explain", "--input", f"{count(n, 'number')} at every step ({why})",
                     f"{count(len(step), 'number')} at step {t}, {row!r}, in {spec!r}")
        a = np.array(steps)
    elif spec.endswith((".npy", ".csv", ".txt")):
        raise FileNotFoundError(2, "No such file", spec)
    else:  # neither a file nor numbers ('a,b'): say what --input takes
        fail("explain", "--input", "a .npy or .csv file of the sequence (T, I), or its numbers inline like '1,0; 1,0; 0,1' "
             "(a step's inputs separated by ',', steps by ';')", f"{spec!r}, which is neither a file nor numbers")
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        fail("explain", "--input", "a (T, I) sequence", f"shape {a.shape}")
    if input_size is not None and a.shape[1] != input_size:  # a file's columns (inline steps: said above)
        fail("explain", "--input", f"{count(input_size, 'number')} at every step (the model's inputs)",
             f"{count(a.shape[1], 'number')} at each of its {count(a.shape[0], 'step')} ({spec})")
    return a
