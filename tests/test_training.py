"""The fit loop: seed 000's counting task learned from scratch, determinism, masks, truncated
BPTT, validation, early stopping, progress output."""

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import lstmkit
from interrupts import backward_raising
from lstmkit.checkpoint import data_fingerprint
from lstmkit.datasets import counting_task
from lstmkit.models import SequenceModel
from lstmkit.training import History, Trainer, fit, predict


def test_seed000_counting_task_reaches_100_percent_per_step_accuracy():
    """A 2-unit LSTM, read-out y_t = softmax(h_t) (no Linear), per-step softmax cross-entropy,
    random initialisation -> every step of every training and unseen (longer) sequence right.

    Two units with y_t = softmax(h_t) have local minima: with these settings about a third of the
    random initialisations reach 100% on both (measured: seeds 0, 1, 3 and 4 of 0-11; 2, 8, 9 and 10 stall
    at 62-85% and read A, A, B as 1, 1, 1; 5, 6, 7 and 11 end at 99.77-99.98% on the unseen). What is
    asserted is that the task is learned, not which seed learns it: the first of seeds 0-9 that
    reaches 100% on both is taken (seed 0 at present; at a third each, all ten miss 1.7% of the time).
    """
    X, Y = counting_task(128, 8, seed=0)
    Xt, Yt = counting_task(512, 12, seed=1)  # longer sequences than seen in training
    for seed in range(10):
        model = SequenceModel(2, None, 2, readout="identity", dtype=np.float64, seed=seed)
        trainer = Trainer(model, lr=0.1, batch_size=16, seed=seed, schedule="cosine", schedule_options={"T_max": 30})
        history = trainer.fit(X, Y, epochs=30)
        if trainer.evaluate(X, Y)["accuracy"] == 1.0 and trainer.evaluate(Xt, Yt)["accuracy"] == 1.0:
            break
    else:
        pytest.fail("none of seeds 0-9 reached 100% per-step accuracy on the training and the unseen sequences")
    assert history["loss"][-1] < history["loss"][0]
    # and on the slides' own sequence A, A, B
    out = predict(model, np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]))
    assert out.argmax(-1).tolist() == [[0, 1, 1]]


def _train(seed, **kw):
    X, Y = counting_task(40, 6, seed=3)
    model = SequenceModel(2, 2, 5, num_layers=2, dropout=0.3, seed=seed)
    h = fit(model, X, Y, epochs=3, batch_size=8, seed=seed, validation_split=0.25, **kw)
    return model, h


def test_same_seed_same_weights_bit_for_bit():
    a, ha = _train(7)
    b, hb = _train(7)
    c, _ = _train(8)
    for k in a.parameters():
        assert np.array_equal(a.parameters()[k], b.parameters()[k]), k
    strip = lambda h: [{k: v for k, v in e.items() if k != "time"} for e in h.epochs]  # noqa: E731
    assert strip(ha) == strip(hb)
    assert not np.array_equal(a.parameters()["head.weight"], c.parameters()["head.weight"])


def test_history_records_every_epoch():
    _, h = _train(0)
    assert isinstance(h, History) and len(h) == 3
    assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "time"} <= set(h.keys())
    assert h["epoch"] == [1, 2, 3]


def _within(seconds, fn, *args):
    """fn(*args) in a daemon thread, joined for ``seconds``: the old History hung (no __iter__ or
    __contains__, and a __getitem__ that never raised: Python's old protocol indexed h[0], h[1], ...
    for ever), so a hang fails the test instead of stalling the run. Returns fn's result, or raises
    what it raised."""
    import threading

    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{getattr(fn, '__name__', fn)} did not return within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_history_reads_as_a_dict_of_lists_keras_history_history():
    """``in``, iteration, a key never logged, an int index: as Keras' ``history.history`` (a dict)
    answers them, with len the number of epochs and ``epochs[i]`` an epoch's logs."""
    h = History([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4, "val_loss": 0.7}])
    assert _within(5, lambda: "loss" in h) is True
    assert _within(5, lambda: "val_loss" in h) is True  # logged by one epoch of two
    assert _within(5, lambda: "vall_loss" in h) is False
    assert _within(5, list, h) == ["epoch", "loss", "val_loss"]  # the keys, in the order first logged
    assert _within(5, sorted, h) == ["epoch", "loss", "val_loss"]
    assert len(h) == 2 and h["val_loss"] == [0.7] and h["loss"] == [0.5, 0.4]
    with pytest.raises(KeyError, match=re.escape("History: expected key a logged name, one of ['epoch', 'loss', 'val_loss'], got 'vall_loss'.")):
        _within(5, h.__getitem__, "vall_loss")
    with pytest.raises(TypeError, match=re.escape("History: expected key a logged name, one of ['epoch', 'loss', 'val_loss'], got int 0. An epoch's logs are history.epochs[0].")):
        _within(5, h.__getitem__, 0)
    assert h.get("accuracy", []) == [] and h.get("loss") == [0.5, 0.4] and h.get("x") is None
    assert h.history == {"epoch": [1, 2], "loss": [0.5, 0.4], "val_loss": [0.7]} == dict(h)
    h.history["loss"].append(9.0)  # a new dict of new lists: the epochs are untouched
    assert h["loss"] == [0.5, 0.4] and "x" not in History() and list(History()) == []


def _history(epochs):
    """A History written by hand: loss, accuracy and their val_ twins, lr and time per epoch."""
    return History(
        {"epoch": e, "loss": 1.0 / e, "accuracy": 0.5 + e / 20, "val_loss": [0.9, 0.6, 0.7, 0.8][e - 1],
         "val_accuracy": 0.5, "lr": lr, "time": 0.1}
        for e, lr in zip(range(1, epochs + 1), (0.1, 0.1, 0.05, 0.05))
    )  # fmt: skip


def test_history_plot_draws_each_quantity_with_its_validation_twin(tmp_path, monkeypatch):
    figure = pytest.importorskip("matplotlib.figure")
    figures = []
    save = figure.Figure.savefig
    monkeypatch.setattr(figure.Figure, "savefig", lambda fig, *a, **k: figures.append(fig) or save(fig, *a, **k))
    h = _history(4)
    assert h.curves() == ["loss", "accuracy", "lr"]  # lr changed (0.1 -> 0.05): drawn, last
    # a history read back from a checkpoint has its keys sorted: loss still first
    assert History([dict(sorted(e.items())) for e in h.epochs]).curves() == ["loss", "accuracy", "lr"]
    assert History([{"epoch": 1, "loss": 1.0, "lr": 0.1}, {"epoch": 2, "loss": 0.5, "lr": 0.1}]).curves() == ["loss"]
    h.plot(tmp_path / "curves.png", title="t")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    loss, acc, lr = fig.axes
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy", "lr"]
    train, val, best = loss.get_lines()
    assert list(train.get_xdata()) == [1, 2, 3, 4] and list(train.get_ydata()) == [1.0, 0.5, 1 / 3, 0.25]
    assert list(val.get_ydata()) == [0.9, 0.6, 0.7, 0.8]
    assert list(best.get_xdata()) == [2, 2]  # the lowest val_loss, 0.6, at epoch 2
    assert [line.get_label() for line in acc.get_lines()][:2] == ["training", "validation"]
    assert list(lr.get_lines()[0].get_ydata()) == [0.1, 0.1, 0.05, 0.05] and lr.get_yscale() == "log"
    h.plot(tmp_path / "loss.png", keys=["loss"])
    assert len(figures[1].axes) == 1
    # validation from epoch 3 on (a run resumed with validation data): each curve at its own epochs
    late = History([{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.8}, {"epoch": 3, "loss": 0.7, "val_loss": 0.9},
                    {"epoch": 4, "loss": 0.6, "val_loss": 0.95}])  # fmt: skip
    late.plot(tmp_path / "late.png")
    train, val, best = figures[2].axes[0].get_lines()
    assert list(val.get_xdata()) == [3, 4] and list(best.get_xdata()) == [3, 3]


def test_history_plot_leaves_pyplot_alone(tmp_path):
    # a figure of its own: the backend a notebook or script chose stays, and pyplot gains no figure
    pytest.importorskip("matplotlib")
    code = (
        "import matplotlib.pyplot as plt, lstmkit; "
        "lstmkit.History([{'epoch': 1, 'loss': 1.0}, {'epoch': 2, 'loss': 0.5}]).plot(r'%s'); "
        "print(plt.get_backend(), len(plt.get_fignums()))" % (tmp_path / "h.png")
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "svg"}, check=True)
    assert r.stdout.split() == ["svg", "0"] and (tmp_path / "h.png").exists()


def test_history_plot_errors_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match="History.plot: expected history to hold at least one epoch, got an empty one"):
        History().plot(tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"expected keys to name quantities from \['loss', 'accuracy', 'lr'\].*got 'val_loss'"):
        _history(2).plot(tmp_path / "x.png", keys=["val_loss"])
    with pytest.raises(TypeError, match="expected keys a list of logged names"):
        _history(2).plot(tmp_path / "x.png", keys="loss")
    assert not (tmp_path / "x.png").exists()


def test_history_plot_without_matplotlib_gives_the_pip_line(tmp_path, monkeypatch):
    # helper-117 F10: a numpy-only install ended README block 3 with a bare "No module named 'matplotlib'";
    # the one line is the command line's (commands._options.missing_package), and name= lets the CLI say it too
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: the import fails as if not installed
    with pytest.raises(ModuleNotFoundError) as raised:
        _history(2).plot(tmp_path / "x.png")
    assert str(raised.value) == ("History.plot: expected matplotlib installed (to draw the learning curves), got none. "
                                 "Install it: pip install \"lstmkit[cli]\".")
    assert raised.value.name == "matplotlib" and raised.value.__suppress_context__
    assert not (tmp_path / "x.png").exists()


def test_padded_steps_do_not_influence_training():
    """Changing inputs and targets past each sequence's length changes nothing."""
    X, Y = counting_task(24, 7, seed=4)
    lengths = np.random.default_rng(0).integers(1, 8, size=24)
    X2, Y2 = X.copy(), Y.copy()
    pad = np.arange(7)[None] >= lengths[:, None]
    X2[pad] = 5.0
    Y2[pad] = 1 - Y2[pad]
    models = []
    for x, y in ((X, Y), (X2, Y2)):
        m = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
        fit(m, x, y, lengths, epochs=2, batch_size=6, seed=0)
        models.append(m)
    for k in models[0].parameters():
        np.testing.assert_array_equal(models[0].parameters()[k], models[1].parameters()[k])


def test_nan_past_lengths_trains_as_zero_padding():
    """X past a sequence's length may be NaN or inf (missing), as the estimators take it: zeroed in
    a copy (0 * NaN would be NaN in dW_ih), so training gives the weights of zero padding bit for
    bit, validation data too, and the caller's array is left as it was. Within a sequence's length
    a NaN is refused, naming its sample and step (Trainer.fit refused NaN anywhere before)."""
    X, Y = counting_task(24, 7, seed=4)
    lengths = np.random.default_rng(0).integers(1, 8, size=24)
    pad = np.arange(7)[None] >= lengths[:, None]  # (24, 7): past the length
    X0, Xn = X.copy(), X.copy()
    X0[pad], Xn[pad] = 0.0, np.nan
    Xn[int(np.argmax(lengths < 7)), 6] = [np.inf, -np.inf]
    before = Xn.copy()
    runs = []
    for x in (X0, Xn):
        model = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
        trainer = Trainer(model, batch_size=6, seed=0)
        history = trainer.fit(x[8:], Y[8:], lengths[8:], epochs=2, validation_data=(x[:8], Y[:8], lengths[:8]))
        runs.append((model, [{k: v for k, v in e.items() if k != "time"} for e in history.epochs], trainer))
    (zero, h0, t0), (nan, hn, tn) = runs
    for k in zero.parameters():
        np.testing.assert_array_equal(nan.parameters()[k], zero.parameters()[k], err_msg=k)
    assert hn == h0 and np.isfinite(hn[-1]["val_loss"])  # the validation data's padding zeroed too
    assert tn.evaluate(Xn, Y, lengths) == t0.evaluate(X0, Y, lengths)
    np.testing.assert_array_equal(predict(nan, Xn, lengths), predict(zero, X0, lengths))
    np.testing.assert_array_equal(Xn, before)  # the caller's array is left as it was
    # a held-out fraction is cut from the zeroed copy: the same run
    split = [SequenceModel(2, 2, 3, dtype=np.float64, seed=0) for _ in range(2)]
    for m, x in zip(split, (X0, Xn)):
        fit(m, x, Y, lengths, epochs=1, batch_size=6, seed=0, validation_split=0.25)
    np.testing.assert_array_equal(split[1].parameters()["head.weight"], split[0].parameters()["head.weight"])
    # within a sequence's length: refused, naming the sample and the step, in fit, its validation data and predict
    Xb = Xn.copy()
    Xb[3, lengths[3] - 1, 1] = np.nan
    message = rf"expected X finite values, got nan at index \(3, {lengths[3] - 1}, 1\) \(sample 3, step {lengths[3] - 1}\)\. Remove or impute"
    with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
        Trainer(SequenceModel(2, 2, 3, seed=0)).fit(Xb, Y, lengths, epochs=1)
    with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
        Trainer(SequenceModel(2, 2, 3, seed=0)).fit(X0, Y, lengths, epochs=1, validation_data=(Xb, Y, lengths))
    with pytest.raises(ValueError, match=rf"^predict: {message}"):
        predict(zero, Xb, lengths)
    i, t, f = np.argwhere(~np.isfinite(Xn))[0]
    with pytest.raises(ValueError, match=rf"^Trainer.fit: expected X finite values, got \S+ at index \({i}, {t}, {f}\) \(sample {i}, step {t}\)"):
        Trainer(SequenceModel(2, 2, 3, seed=0)).fit(Xn, Y, epochs=1)  # without lengths every step is within


@pytest.mark.filterwarnings("error")  # NumPy's 'overflow encountered in cast' would be an error
def test_a_value_beyond_float32_is_named_as_given_not_as_missing():
    # a float64 1e39 given to a float32 model: 'expected X finite values, got inf ... Remove or impute
    # missing values' said of a finite value; now named as given, with float32's range (the estimators'
    # rule, _checks.cast_float), in fit, its validation data and predict, for an array, a list, a tensor
    model = SequenceModel(2, 3, 4, head="last", seed=0)
    X, Y = np.zeros((4, 3, 2)), np.array([0, 1, 2, 0])
    X[1, 2, 0] = 1e39
    message = r"expected X values within float32's range \(±3\.4e38\), got 1e\+39 at index \(1, 2, 0\)\. Scale the data down"
    for x in (X, X.tolist()):
        with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
            Trainer(model, batch_size=4, seed=0).fit(x, Y, epochs=1)
    with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
        Trainer(model, batch_size=4, seed=0).fit(np.zeros((4, 3, 2)), Y, epochs=1, validation_data=(X, Y))
    with pytest.raises(ValueError, match=rf"^predict: {message}"):
        predict(model, X)
    # past a sequence's length it is padding, as a NaN there is: accepted, and trains as zeros
    lengths = np.array([3, 2, 3, 3])
    runs = [SequenceModel(2, 3, 4, head="last", seed=0) for _ in range(2)]
    for m, x in zip(runs, (X, np.where(X > 1e38, 0.0, X))):
        Trainer(m, batch_size=4, seed=0).fit(x, Y, lengths, epochs=2)
    for k in runs[0].parameters():
        np.testing.assert_array_equal(runs[0].parameters()[k], runs[1].parameters()[k], err_msg=k)
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
        Trainer(model, batch_size=4, seed=0).fit(torch.from_numpy(X), Y, epochs=1)


def _regression_data(n=24, T=7):
    """X (n, T, 2), Y (n, T, 1) the running sum of X's first feature, lengths (n,) in [1, T]."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, T, 2))
    return X, np.cumsum(X[..., :1], axis=1), rng.integers(1, T + 1, size=n)


def test_nan_targets_past_lengths_train_as_zero_targets():
    """Y past a sequence's length is padding, out of the loss: NaN or inf there trains bit for bit
    as zeros (weights, and the history, whose mae was NaN: |out - NaN| * 0 is NaN), in fit, its
    validation data, a held-out fraction and evaluate; the caller's Y is left as it was."""
    X, Y, lengths = _regression_data()
    pad = np.arange(7)[None] >= lengths[:, None]  # (24, 7)
    Y0, Yn = Y.copy(), Y.copy()
    Y0[pad], Yn[pad] = 0.0, np.nan
    Yn[int(np.argmax(lengths < 7)), 6] = np.inf
    before = Yn.copy()
    runs = []
    for y in (Y0, Yn):
        model = SequenceModel(2, 1, 3, dtype=np.float64, seed=0)
        trainer = Trainer(model, loss="mse", metrics=["mae"], batch_size=6, seed=0)
        history = trainer.fit(X[8:], y[8:], lengths[8:], epochs=2, validation_data=(X[:8], y[:8], lengths[:8]))
        runs.append((model, [{k: v for k, v in e.items() if k != "time"} for e in history.epochs], trainer))
    (zero, h0, t0), (nan, hn, tn) = runs
    for k in zero.parameters():
        np.testing.assert_array_equal(nan.parameters()[k], zero.parameters()[k], err_msg=k)
    assert hn == h0 and np.isfinite([e["mae"] + e["val_mae"] for e in hn]).all()
    assert tn.evaluate(X, Yn, lengths) == t0.evaluate(X, Y0, lengths)
    np.testing.assert_array_equal(Yn, before)  # the caller's array is left as it was
    split = [SequenceModel(2, 1, 3, dtype=np.float64, seed=0) for _ in range(2)]
    for m, y in zip(split, (Y0, Yn)):
        fit(m, X, y, lengths, loss="mse", epochs=1, batch_size=6, seed=0, validation_split=0.25)
    np.testing.assert_array_equal(split[1].parameters()["head.weight"], split[0].parameters()["head.weight"])


def test_nan_targets_within_a_sequence_are_refused_naming_sample_and_step():
    """A NaN or inf target the loss reads is refused before training, naming Y, the sample and
    the step; it failed in backprop as "Linear.backward: expected dy finite values, got nan at
    index (7, 0, 0)", 7 the row of a shuffled batch, after the batches before it had trained."""
    X, Y, lengths = _regression_data()
    Yb = Y.copy()
    Yb[5, lengths[5] - 1, 0] = np.nan  # the last step of sequence 5
    message = rf"expected Y finite values, got nan at index \(5, {lengths[5] - 1}, 0\) \(sample 5, step {lengths[5] - 1}\)\. Drop the samples with missing targets"
    model = SequenceModel(2, 1, 3, dtype=np.float64, seed=0)
    weights = model.state_dict()
    trainer = Trainer(model, loss="mse", batch_size=4, seed=0)
    for call in (
        lambda: trainer.fit(X, Yb, lengths, epochs=1),
        lambda: trainer.fit(X, Y, lengths, epochs=1, validation_data=(X, Yb, lengths)),
        lambda: trainer.fit(X, Yb, lengths, epochs=1, validation_split=0.25),
    ):
        with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
            call()
    with pytest.raises(ValueError, match=rf"^Trainer.evaluate: {message}"):
        trainer.evaluate(X, Yb, lengths)
    Yl = Y[:, -1].copy()  # (24, 1) one target per sequence
    Yl[3] = np.inf
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected Y finite values, got inf at index \(3, 0\) \(sample 3\)\."):
        Trainer(SequenceModel(2, 1, 3, head="last", seed=0), loss="mse").fit(X, Yl, epochs=1)
    with pytest.raises(TypeError, match=r"^Trainer.fit: expected Y numeric targets \(loss='mse'\), got dtype <U1\."):
        trainer.fit(X, np.full(Y.shape, "a"), lengths, epochs=1)
    for k, v in weights.items():  # nothing trained
        np.testing.assert_array_equal(model.parameters()[k], v, err_msg=k)
    assert trainer.epoch == 0


def test_class_indices_out_of_range_are_refused_naming_sample_and_step():
    """A class index >= C (the model's outputs) or < 0 is refused before training, naming Y, the
    range, the value, the sample and the step (softmax_cross_entropy refused the batch holding it
    with the batch's range, "expected targets values in [0, 2), got range [0, 2]", after the
    batches before it had trained). Past a sequence's length any integer is padding: -1 there
    trains bit for bit as 0."""
    X, Y = counting_task(24, 7, seed=4)
    lengths = np.random.default_rng(0).integers(1, 8, size=24)
    model = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    weights = model.state_dict()
    trainer = Trainer(model, batch_size=4, seed=0)
    for bad in (2, -1):
        Yb = Y.copy()
        Yb[9, lengths[9] - 1] = bad
        message = rf"expected Y class indices in \[0, 2\) \(one per output of the model\), got {bad} at index \(9, {lengths[9] - 1}\) \(sample 9, step {lengths[9] - 1}\)\. Encode labels as 0\.\.1, or build the model with one output per class\.$"
        for call in (
            lambda: trainer.fit(X, Yb, lengths, epochs=1),
            lambda: trainer.fit(X, Y, lengths, epochs=1, validation_data=(X, Yb, lengths)),
        ):
            with pytest.raises(ValueError, match=rf"^Trainer.fit: {message}"):
                call()
        with pytest.raises(ValueError, match=rf"^Trainer.evaluate: {message}"):
            trainer.evaluate(X, Yb, lengths)
    for k, v in weights.items():  # nothing trained
        np.testing.assert_array_equal(model.parameters()[k], v, err_msg=k)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected Y class indices in \[0, 3\) \(one per output of the model\), got 3 at index \(4,\) \(sample 4\)\."):
        Trainer(SequenceModel(2, 3, 3, head="last", seed=0)).fit(X, np.where(np.arange(24) == 4, 3, 0), epochs=1)
    with pytest.raises(TypeError, match=r"^Trainer.fit: expected Y integer class indices \(loss='cross_entropy'\), got dtype float64\. Encode labels as 0\.\.C-1\.$"):
        trainer.fit(X, Y.astype(float), lengths, epochs=1)
    # padding: -1 (or any integer) past the length is out of the loss, as 0 is
    pad = np.arange(7)[None] >= lengths[:, None]
    Yp = Y.copy()
    Yp[pad] = -1
    runs = []
    for y in (np.where(pad, 0, Y), Yp):
        m = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
        h = fit(m, X, y, lengths, epochs=2, batch_size=6, seed=0)
        runs.append((m, [{k: v for k, v in e.items() if k != "time"} for e in h.epochs]))
    for k in runs[0][0].parameters():
        np.testing.assert_array_equal(runs[1][0].parameters()[k], runs[0][0].parameters()[k], err_msg=k)
    assert runs[1][1] == runs[0][1]


def test_truncated_bptt_carries_state_and_cuts_gradients():
    """bptt=T is full BPTT; with bptt=k the first chunk's update equals training on that chunk
    alone, and the second chunk starts from the first chunk's final state."""
    X, Y = counting_task(4, 6, seed=5)
    full = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    same = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    fit(full, X, Y, epochs=1, batch_size=4, shuffle=False, optimizer="sgd", lr=0.1)
    fit(same, X, Y, epochs=1, batch_size=4, shuffle=False, optimizer="sgd", lr=0.1, bptt=6)
    for k in full.parameters():
        assert np.array_equal(full.parameters()[k], same.parameters()[k])

    # by hand: chunk 1 (steps 0-2), SGD step; chunk 2 (steps 3-5) from chunk 1's final state
    ref = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    from lstmkit.losses import softmax_cross_entropy
    from lstmkit.optim import SGD

    opt = SGD(ref, lr=0.1)
    state = None
    for s in (0, 3):
        out, state = ref(X[:, s : s + 3], None, state)
        _, dout = softmax_cross_entropy(out, Y[:, s : s + 3])
        ref.zero_grad()
        ref.backward(dout)  # no gradient into the carried state
        opt.step()
    tb = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    fit(tb, X, Y, epochs=1, batch_size=4, shuffle=False, optimizer="sgd", lr=0.1, bptt=3)
    for k in ref.parameters():
        assert np.array_equal(ref.parameters()[k], tb.parameters()[k]), k
    with pytest.raises(ValueError, match="bptt"):
        Trainer(SequenceModel(2, 2, 3, head="last"), bptt=3)
    with pytest.raises(ValueError, match="bptt None for a bidirectional model"):
        Trainer(SequenceModel(2, 2, 3, bidirectional=True), bptt=3)


def test_callback_can_stop_training():
    X, Y = counting_task(8, 4, seed=6)
    trainer = Trainer(SequenceModel(2, 2, 3, seed=0), callbacks=[lambda t, logs: logs["epoch"] == 2])
    assert len(trainer.fit(X, Y, epochs=10)) == 2


def test_progress_prints_plain_lines_when_not_a_terminal():
    X, Y = counting_task(8, 4, seed=6)
    buf = io.StringIO()
    fit(SequenceModel(2, 2, 3, seed=0), X, Y, epochs=2, verbose=1, stream=buf, seed=0)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2 - loss ") and " - accuracy " in lines[0] and "ETA" in lines[0]


def test_regression_with_mse_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5, 1))
    Y = X.sum(axis=1)  # (n, 1): the sum of the sequence
    model = SequenceModel(1, 1, 8, head="last", dtype=np.float64, seed=0)
    h = fit(model, X, Y, loss="mse", epochs=30, lr=0.02, seed=0, metrics=["mae"])
    assert h["loss"][-1] < 0.1 * h["loss"][0]


def test_fit_errors_name_the_argument():
    model = SequenceModel(2, 2, 3, seed=0)
    X, Y = counting_task(4, 3, seed=0)
    with pytest.raises(ValueError, match="Trainer.fit: expected X a 3-D array"):
        fit(model, X[0], Y)
    with pytest.raises(ValueError, match="Trainer.fit: expected Y 4 rows"):
        fit(model, X, Y[:3])
    with pytest.raises(ValueError, match="validation_split"):
        fit(model, X, Y, validation_split=1.5)
    with pytest.raises(ValueError, match="Trainer: expected loss one of"):
        Trainer(model, loss="hinge")
    from lstmkit.optim import Adam

    with pytest.raises(ValueError, match="Trainer: expected optimizer an optimizer built on this model"):
        Trainer(model, optimizer=Adam(SequenceModel(2, 2, 3, seed=0)))


def test_seed000_slide_network_through_sequence_model():
    """The slides' trained parameters (all biases 0) in a SequenceModel with the identity read-out
    classify A, A, B as the slides say (0, 1, 1), and the loss is the mean over steps of
    H(y_t, target_t) = -log softmax(h_t)[target_t] written out by hand from the readable cell's h_t."""
    from lstmkit.losses import softmax_cross_entropy
    from lstmkit.seeds import SEED000_TARGETS, seed000_cell, seed000_inputs

    cell = seed000_cell()
    sd = cell.state_dict()
    model = SequenceModel(2, None, 2, readout="identity", lstm_options={"bias": False}, dtype=np.float64)
    model.load_state_dict({"rnn.weight_ih_l0": sd["weight_ih"], "rnn.weight_hh_l0": sd["weight_hh"]})
    x = seed000_inputs()[None]  # (1, 3, 2)
    out, _ = model(x)
    assert out.argmax(-1).tolist() == [SEED000_TARGETS]
    h = c = np.zeros((1, 2))
    H = []
    for t in range(3):
        step = cell.step(x[:, t], (h, c))
        h, c = step.h, step.c
        k = SEED000_TARGETS[t]
        H.append(-(h[0, k] - np.log(np.exp(h[0]).sum())))  # -log(e^{h_k} / Σ_j e^{h_j})
    loss, _ = softmax_cross_entropy(out, np.array([SEED000_TARGETS]))
    assert loss == pytest.approx(np.mean(H), rel=1e-14)


def test_rich_progress_bar_on_a_terminal():
    pytest.importorskip("rich")

    class Tty(io.StringIO):
        def isatty(self):
            return True

    X, Y = counting_task(8, 4, seed=6)
    buf = Tty()
    fit(SequenceModel(2, 2, 3, seed=0), X, Y, epochs=2, batch_size=4, verbose=1, stream=buf, seed=0)
    text = buf.getvalue()
    assert "epoch 2/2" in text and "2/2" in text and "accuracy" in text


def test_monitor_is_checked_before_training():
    X, Y = counting_task(8, 4, seed=6)
    with pytest.raises(ValueError, match="Trainer.fit: expected monitor one of the logged values"):
        fit(SequenceModel(2, 2, 3, seed=0), X, Y, epochs=2, patience=1, monitor="val_accuracy")


@pytest.mark.parametrize("head", ["last", "all"])
def test_training_loop_matches_the_same_loop_in_pytorch(head):
    """Mini-batches with lengths, softmax cross-entropy, global-norm clipping and Adam: after an
    epoch of updates the weights equal those of the same loop written with torch.nn / torch.optim."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.default_rng(0)
    n, T, I, H, C = 12, 6, 3, 5, 3
    X = rng.normal(size=(n, T, I))
    lengths = rng.integers(1, T + 1, size=n)
    Y = rng.integers(0, C, size=(n, T) if head == "all" else (n,))
    model = SequenceModel(I, C, H, num_layers=2, head=head, forget_bias=1.0, dtype=np.float64, seed=0)
    sd = {k: torch.tensor(v) for k, v in model.state_dict().items()}
    fit(model, X, Y, lengths, epochs=2, batch_size=4, shuffle=False, optimizer="adam", lr=0.05, clip=0.5)

    lstm = torch.nn.LSTM(I, H, num_layers=2, batch_first=True, dtype=torch.float64)
    lin = torch.nn.Linear(H, C, dtype=torch.float64)
    lstm.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("rnn.")})
    lin.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("head.")})
    params = list(lstm.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=0.05)
    for _epoch in range(2):
        for s in range(0, n, 4):
            xb, lb, yb = torch.tensor(X[s : s + 4]), torch.tensor(lengths[s : s + 4]), torch.tensor(Y[s : s + 4])
            packed = pack_padded_sequence(xb, lb, batch_first=True, enforce_sorted=False)
            y, (h_n, _) = lstm(packed)
            if head == "last":
                loss = torch.nn.functional.cross_entropy(lin(h_n[-1]), yb)
            else:
                y, _ = pad_packed_sequence(y, batch_first=True, total_length=T)
                valid = torch.arange(T)[None, :] < lb[:, None]
                loss = torch.nn.functional.cross_entropy(lin(y)[valid], yb[valid])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 0.5)
            opt.step()
    theirs = {**{f"rnn.{k}": v for k, v in lstm.state_dict().items()}, **{f"head.{k}": v for k, v in lin.state_dict().items()}}
    for k, v in model.parameters().items():
        np.testing.assert_allclose(v, theirs[k].numpy(), rtol=1e-9, atol=1e-11, err_msg=k)


def test_training_on_token_ids_equals_training_on_one_hot():
    X, Y = counting_task(16, 6, seed=2)
    ids = X.argmax(-1)  # (n, T) token ids
    a = SequenceModel(2, 2, 3, inputs="tokens", dtype=np.float64, seed=0)
    b = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    fit(a, ids, Y, epochs=2, batch_size=4, seed=0, bptt=3)
    fit(b, X, Y, epochs=2, batch_size=4, seed=0, bptt=3)
    for k in a.parameters():
        assert np.array_equal(a.parameters()[k], b.parameters()[k])
    np.testing.assert_array_equal(predict(a, ids), predict(b, X))


def test_settings_name_what_defines_the_run_and_leave_out_the_display():
    t = Trainer(SequenceModel(3, 2, 4, seed=0), optimizer="sgd", lr=0.05, optimizer_options={"momentum": 0.9},
                batch_size=8, clip=2.0, seed=3, verbose=2, schedule="step", schedule_options={"step_size": 2})  # fmt: skip
    s = t.settings()
    assert s["model hidden_size"] == 4 and s["optimizer"] == "SGD" and s["lr"] == 0.05 and s["optimizer momentum"] == 0.9
    assert s["batch_size"] == 8 and s["clip"] == 2.0 and s["seed"] == 3 and s["schedule"] == "StepLR" and s["schedule step_size"] == 2
    assert not {"epochs", "verbose", "stream", "callbacks", "schedule epoch"} & set(s)
    assert Trainer(SequenceModel(3, 2, 4, seed=0), seed=None).settings()["seed"] is None
    # a caller's own names (an estimator's hyper-parameters) replace the trainer's, the model's stay
    c = Trainer(SequenceModel(3, 2, 4, seed=0), settings={"learning_rate": 0.05, "betas": (0.9, 0.99)}).settings()
    assert c["learning_rate"] == 0.05 and c["betas"] == [0.9, 0.99] and c["model hidden_size"] == 4 and "lr" not in c
    with pytest.raises(TypeError, match="Trainer: expected settings JSON values"):
        Trainer(SequenceModel(3, 2, 4, seed=0), settings={"f": print})


def test_load_state_dict_checks_everything_before_writing():
    X, Y = counting_task(16, 4, seed=0)
    src = Trainer(SequenceModel(2, 2, 3, seed=0), lr=0.05, batch_size=8, seed=1)
    src.fit(X, Y, epochs=2)
    sd = src.state_dict()
    dst = Trainer(SequenceModel(2, 2, 3, seed=0), lr=0.05, batch_size=8, seed=1)
    dst.fit(X, Y, epochs=1)

    def state():
        o = dst.optimizer.state_dict()
        return dst.model.state_dict(), o["arrays"], o["scalars"], dst.epoch, len(dst.history), dst.wait, dst.shuffle_rng.bit_generator.state

    def unchanged(before):
        after = state()
        for a, b in zip(before[:2], after[:2]):
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
        assert before[2:] == after[2:]

    before = state()
    other = Trainer(SequenceModel(2, 2, 3, seed=0), lr=0.05, batch_size=4, seed=1)
    with pytest.raises(ValueError, match=r"Trainer.load_state_dict: expected batch_size 8 \(as the state records it\), got 4. Resume with the same settings"):
        other.load_state_dict(sd)
    for field, value, message in (
        ("epoch", "two", "expected checkpoint field epoch an integer >= 0, got str 'two'"),
        ("history", 5, "expected checkpoint field history a list of objects"),
        ("early_stopping", {"best": 0.1, "best_epoch": 1, "stopped": False}, "expected checkpoint field early_stopping.wait an integer >= 0, got nothing"),
        ("rng", {**sd["meta"]["rng"], "entropy": "x"}, "expected checkpoint field rng.entropy"),
    ):  # fmt: skip
        bad = {"arrays": sd["arrays"], "meta": {**sd["meta"], field: value}}
        with pytest.raises(ValueError, match=f"Trainer.load_state_dict: {message}"):
            dst.load_state_dict(bad)
        unchanged(before)
    # a field the trainer's optimizer needs, missing: damaged (DamagedCheckpoint), naming the field;
    # a state for another optimizer or model: a plain ValueError
    from lstmkit.checkpoint import DamagedCheckpoint

    opt = {k: v for k, v in sd["meta"]["optimizer"].items() if k != "beta1"}
    with pytest.raises(DamagedCheckpoint, match=r"Trainer.load_state_dict: expected checkpoint field optimizer.beta1 a number, got nothing \(the field is missing\). The checkpoint is damaged or was edited"):
        dst.load_state_dict({"arrays": sd["arrays"], "meta": {**sd["meta"], "optimizer": opt}})
    unchanged(before)
    for bad, message in (
        ({"arrays": sd["arrays"], "meta": {**sd["meta"], "optimizer": {**sd["meta"]["optimizer"], "type": "SGD"}}}, "expected optimizer state of an Adam, got state of 'SGD'"),
        ({"arrays": {k: v for k, v in sd["arrays"].items() if k != "model/head.bias"}, "meta": sd["meta"]}, "expected model/ arrays exactly the model's keys"),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=f"Trainer.load_state_dict: {message}") as e:
            dst.load_state_dict(bad)
        assert not isinstance(e.value, DamagedCheckpoint)
        unchanged(before)
    dst.load_state_dict(sd)  # the state as written loads
    assert dst.epoch == 2 and dst.optimizer.t == src.optimizer.t


def test_fit_refuses_targets_whose_steps_are_not_xs():
    X = np.random.default_rng(0).normal(size=(16, 5, 3))
    per_step = SequenceModel(3, 2, 4, seed=0)  # head "all": one target per step
    with pytest.raises(ValueError, match=r"Trainer.fit: expected Y one target per step: shape \(16, 5, \.\.\.\) as X's 5 steps, got shape \(16, 7\)"):
        Trainer(per_step).fit(X, np.zeros((16, 7), dtype=int), epochs=1)  # it trained on Y[:, :5]
    with pytest.raises(ValueError, match=r"expected Y one target per step: shape \(16, 5, \.\.\.\) as X's 5 steps, got shape \(16, 9, 1\)"):
        Trainer(SequenceModel(3, 1, 4, seed=0), loss="mse").fit(X, np.zeros((16, 9, 1)), epochs=1)
    with pytest.raises(ValueError, match=r"expected Y one target per step: shape \(16, 5, \.\.\.\) as X's 5 steps, got shape \(16,\)"):
        Trainer(per_step).fit(X, np.zeros(16, dtype=int), epochs=1)
    last = SequenceModel(3, 2, 4, head="last", seed=0)
    with pytest.raises(ValueError, match=r"expected Y one target per sequence: shape \(16,\) or \(16, n_outputs\)"):
        Trainer(last).fit(X, np.zeros((16, 5, 1), dtype=int), epochs=1)
    Trainer(per_step).fit(X, np.zeros((16, 5), dtype=int), epochs=1)  # the right shapes still train
    Trainer(last).fit(X, np.zeros(16, dtype=int), epochs=1)


def test_trainer_names_an_unknown_schedule_option():
    with pytest.raises(TypeError, match=r"make_schedule: expected StepLR option 'step' one of \['step_size', 'gamma'\], got 'step'"):
        Trainer(SequenceModel(3, 2, 4, seed=0), schedule="step", schedule_options={"step": 2})
    with pytest.raises(TypeError, match=r"make_optimizer: expected Adam option 'foo' one of"):
        Trainer(SequenceModel(3, 2, 4, seed=0), optimizer_options={"foo": 1})


def test_no_sequences_or_no_steps_are_refused_by_name():
    # before: NumPy's "need at least one array to concatenate" (predict) and Python's
    # "range() arg 3 must not be zero" (fit with T = 0)
    model = SequenceModel(3, 2, 4, seed=0)
    X = np.zeros((5, 4, 3), np.float32)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected X at least one time step \(shape \(n_samples, T, n_features\)\), got shape \(5, 0, 3\)\.$"):
        Trainer(model).fit(X[:, :0], np.zeros(5, dtype=int), epochs=1)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected X at least one sample \(shape \(n_samples, T, n_features\)\), got shape \(0, 4, 3\)\.$"):
        Trainer(model).fit(X[:0], np.zeros(0, dtype=int), epochs=1)
    with pytest.raises(ValueError, match=r"^predict: expected X at least one sample \(shape \(n_samples, T, n_features\)\), got shape \(0, 4, 3\)\.$"):
        predict(model, X[:0])


def test_features_and_token_ids_are_checked_before_training():
    """X's feature count and token ids out of [0, input_size) are refused before anything trains,
    naming X (the LSTM refused the first batch as "LSTM: expected x feature size ...", and a token id
    the batch holding it, after the batches before it had trained)."""
    X, Y = counting_task(24, 7, seed=4)
    model = SequenceModel(2, 2, 3, seed=0)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected X 2 features \(the model's input_size\), got 3\.$"):
        Trainer(model).fit(np.zeros((24, 7, 3)), Y, epochs=1)
    with pytest.raises(ValueError, match=r"^predict: expected X 2 features \(the model's input_size\), got 3\.$"):
        predict(model, np.zeros((24, 7, 3)))
    # Trainer.predict names itself (it said 'predict:', the function it called, and checked batch_size twice)
    with pytest.raises(ValueError, match=r"^Trainer.predict: expected X 2 features \(the model's input_size\), got 3\.$"):
        Trainer(model).predict(np.zeros((24, 7, 3)))
    tokens = SequenceModel(2, 2, 3, inputs="tokens", seed=0)
    weights = tokens.state_dict()
    ids = X.argmax(-1)  # (24, 7) ids 0, 1
    ids[20, 4] = 2
    for call, where in ((lambda: Trainer(tokens, batch_size=4, shuffle=False).fit(ids, Y, epochs=1), "Trainer.fit"), (lambda: predict(tokens, ids), "predict")):
        with pytest.raises(ValueError, match=rf"^{where}: expected X token ids in \[0, input_size=2\), got 2 at index \(20, 4\) \(sample 20, step 4\)\.$"):
            call()
    for k, v in weights.items():  # nothing trained
        np.testing.assert_array_equal(tokens.parameters()[k], v, err_msg=k)


def test_clip_and_seed_are_checked_as_the_estimators_check_them():
    """clip: one check for the Trainer and the estimators (the Trainer said "a positive number",
    took True and refused numpy.float32(0.5)). seed: NumPy's SeedSequence refused a bad one
    without naming it."""
    model = SequenceModel(2, 2, 3, seed=0)
    X, Y = counting_task(8, 3, seed=0)
    for bad in (0, -1.0, float("nan"), float("inf"), True, "1"):  # inf: fitted, then a model file refused it
        message = rf"expected clip None or a finite number > 0, got {bad!r}\.$"
        exc = TypeError if isinstance(bad, (bool, str)) else ValueError
        with pytest.raises(exc, match=rf"^Trainer: {message}"):
            Trainer(model, clip=bad)
        with pytest.raises(exc, match=rf"^LSTMClassifier: {message}"):
            lstmkit.LSTMClassifier(clip=bad).fit(X, Y[:, -1])
    assert Trainer(model, clip=np.float32(0.5)).clip == 0.5 and Trainer(model).clip is None
    for bad in ("a", -1, True, np.random.default_rng(0)):
        with pytest.raises(ValueError if bad == -1 else TypeError, match=rf"^Trainer: expected seed None or an integer >= 0, got {type(bad).__name__} "):
            Trainer(model, seed=bad)
    assert Trainer(model, seed=np.int64(3)).settings()["seed"] == 3


def test_flags_and_min_delta_are_checked_not_read_by_truthiness():
    """shuffle and restore_best were read with bool(): "no" shuffled and 0.0 kept the best; min_delta
    with float(): "0.1" was taken and -1 made every epoch an improvement."""
    model = SequenceModel(2, 2, 3, seed=0)
    for arg in ("shuffle", "restore_best"):
        for bad in ("no", 0, 1.0, None):
            with pytest.raises(TypeError, match=rf"^Trainer: expected {arg} True or False, got {bad!r}\.$"):
                Trainer(model, **{arg: bad})
        assert getattr(Trainer(model, **{arg: np.bool_(False)}), arg) is False
    for bad, exc in ((-1, ValueError), (float("nan"), ValueError), ("0.1", TypeError), (True, TypeError)):
        with pytest.raises(exc, match=rf"^Trainer: expected min_delta a finite number >= 0, got {bad!r}\.$"):
            Trainer(model, min_delta=bad)
    assert Trainer(model, min_delta=np.float32(0.5)).min_delta == 0.5


def test_verbose_must_be_a_documented_level():
    model = SequenceModel(3, 2, 4, seed=0)
    for bad in (5, -1):
        with pytest.raises(ValueError, match=rf"^Trainer: expected verbose 0, 1 or 2, got {bad}\. 0: silent, 1: a progress bar, 2: a line per epoch\.$"):
            Trainer(model, verbose=bad)
    with pytest.raises(TypeError, match=r"^Trainer: expected verbose 0, 1 or 2, got str '2'\.$"):
        Trainer(model, verbose="2")
    assert Trainer(model, verbose=True).verbose == 1 and Trainer(model, verbose=np.int64(2)).verbose == 2


def test_validation_indices_are_the_rows_the_val_metrics_score():
    # the rows validation_split held out, as the Trainer says after fit: evaluated on them alone, the final
    # model scores the last epoch's val_loss (no early stopping: the final weights are those it was scored with)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5, 2))
    Y = (X.sum(axis=2) > 0).astype(np.int64)
    t = Trainer(SequenceModel(2, 4, 2, dtype=np.float64, seed=0), batch_size=8, seed=1)
    assert t.validation_indices is None
    t.fit(X, Y, epochs=2, validation_split=0.25)
    rows = t.validation_indices
    assert rows.dtype == np.int64 and len(rows) == 10 and np.all(np.diff(rows) > 0)
    assert np.isclose(t.evaluate(X[rows], Y[rows])["loss"], t.history.epochs[-1]["val_loss"], rtol=1e-12)
    assert not np.isclose(t.evaluate(np.delete(X, rows, 0), np.delete(Y, rows, 0))["loss"], t.history.epochs[-1]["val_loss"])
    t.fit(X, Y, epochs=1, validation_data=(X[:4], Y[:4]))  # explicit validation data: no rows held out
    assert t.validation_indices is None


def test_validation_data_is_checked_once_per_fit(monkeypatch):
    # each data set a fit receives is checked (and its padding zeroed in a copy) once: the validation data
    # before the first epoch, not again by every epoch's evaluation (it was twice per epoch: evaluate's
    # check, then predict's); the val_* logged are what evaluate gives on the same data
    import lstmkit.training as training

    rng = np.random.default_rng(4)
    X, Xv = rng.normal(size=(12, 5, 2)), rng.normal(size=(6, 5, 2))
    Y, Yv = (X.sum(axis=2) > 0).astype(np.int64), (Xv.sum(axis=2) > 0).astype(np.int64)
    lengths, lv = np.full(12, 5), np.array([5, 4, 3, 5, 2, 1])
    checked = []
    check = training._check_X

    def counted(X, lengths, model, where):
        checked.append((where, len(X)))
        return check(X, lengths, model, where)

    monkeypatch.setattr(training, "_check_X", counted)
    t = Trainer(SequenceModel(2, 3, 2, dtype=np.float64, seed=0), batch_size=4, seed=0)
    h = t.fit(X, Y, lengths, epochs=3, validation_data=(Xv, Yv, lv))
    assert len(h) == 3 and checked == [("Trainer.fit", 12), ("Trainer.fit", 6)]
    assert t.evaluate(Xv, Yv, lv) == {k.removeprefix("val_"): v for k, v in h.epochs[-1].items() if k.startswith("val_")}
    checked.clear()  # a held-out fraction: a part of the training data, checked with it
    Trainer(SequenceModel(2, 3, 2, dtype=np.float64, seed=0), batch_size=4, seed=0).fit(X, Y, epochs=3, validation_split=0.25)
    assert checked == [("Trainer.fit", 12)]


def test_an_optimizer_built_on_other_modules_is_refused_saying_what_to_build():
    from lstmkit.optim import SGD

    model = SequenceModel(2, 3, 4, seed=0)
    fix = r"\. Build it on the model the Trainer trains \(SGD\(model\)\), which holds every parameter it updates\.$"
    with pytest.raises(ValueError, match=r"^Trainer: expected optimizer an optimizer built on this model, got one built on 2 modules" + fix):
        Trainer(model, optimizer=SGD([model.rnn, model.head]))  # the same arrays, but not the model a checkpoint records
    with pytest.raises(ValueError, match=r"got one built on another LSTM" + fix):
        Trainer(model, optimizer=SGD(model.rnn))
    assert Trainer(model, optimizer=SGD(model)).optimizer.module is model


def test_a_trainer_repr_is_one_line_of_what_it_trains_and_how_far():
    # it was <lstmkit.training.Trainer object at 0x...> (helper-196 #14)
    X, Y = counting_task(16, 5, seed=3)
    trainer = Trainer(SequenceModel(2, 2, 3, seed=0), optimizer="sgd", lr=0.5, batch_size=8, seed=4, schedule="step",
                      schedule_options={"step_size": 1, "gamma": 0.5})  # fmt: skip
    assert repr(trainer) == "Trainer(SequenceModel, loss='cross_entropy', optimizer=SGD, lr=0.5, schedule=StepLR, batch_size=8, seed=4, epoch=0)"
    trainer.fit(X, Y, epochs=2)  # lr 0.5 -> 0.25 -> 0.125 (halved each epoch)
    assert repr(trainer).endswith("optimizer=SGD, lr=0.125, schedule=StepLR, batch_size=8, seed=4, epoch=2)")
    assert repr(Trainer(SequenceModel(2, 1, 3, seed=0), loss="mse")) == (
        "Trainer(SequenceModel, loss='mse', optimizer=Adam, lr=0.001, batch_size=32, seed=None, epoch=0)")


def test_lr_or_optimizer_options_next_to_an_optimizer_object_are_refused_not_ignored():
    # they were ignored: Trainer(m, optimizer=SGD(m, lr=0.1), lr=0.5) trained at 0.1, settings() said 0.1 (helper-196 #2)
    from lstmkit.optim import SGD

    model = SequenceModel(2, 2, 3, seed=0)
    with pytest.raises(ValueError, match=re.escape(
            "Trainer: expected lr None with an Optimizer object (the SGD has its own, lr=0.1), got 0.5. "
            "Set it on the optimizer, SGD(model, lr=0.5), or name it: optimizer='sgd', lr=0.5.")):  # fmt: skip
        Trainer(model, optimizer=SGD(model, lr=0.1), lr=0.5)
    with pytest.raises(ValueError, match=r"^Trainer: expected optimizer_options None with an Optimizer object \(the SGD has its own: SGD\(lr=0\.1, momentum=0\.0.*got \{'momentum': 0\.9\}\. Set them on the optimizer"):
        Trainer(model, optimizer=SGD(model, lr=0.1), optimizer_options={"momentum": 0.9})
    with pytest.raises(ValueError, match=r"expected lr None"):
        Trainer(model, optimizer=SGD(model, lr=0.1), lr=1e-3)  # even the named optimizers' default: given, it does nothing
    assert Trainer(model, optimizer=SGD(model, lr=0.1), optimizer_options={}).optimizer.lr == 0.1  # nothing to ignore
    assert Trainer(model).optimizer.lr == 1e-3 == Trainer(model).settings()["lr"]  # a name: torch's and Keras' Adam default
    assert Trainer(model, optimizer="sgd", lr=0.5).optimizer.lr == 0.5


def test_a_checkpoint_of_lr_1e_3_given_resumes_with_lr_left_at_its_default(tmp_path):
    # lr's default went from 1e-3 to None (1e-3 with a name): the settings record the optimizer's lr, so a checkpoint
    # written with lr=1e-3 (the old default) and one written with the default resume each other, as one run
    X, Y = counting_task(16, 5, seed=3)
    run = lambda **kw: Trainer(SequenceModel(2, 2, 3, seed=0), batch_size=8, seed=0, **kw)  # noqa: E731
    whole = run(lr=1e-3)
    whole.fit(X, Y, epochs=2)
    for first, then in (({"lr": 1e-3}, {}), ({}, {"lr": 1e-3})):
        path = tmp_path / f"c{len(first)}.npz"
        run(**first).fit(X, Y, epochs=1, checkpoint=path)
        resumed = run(**then)
        resumed.fit(X, Y, epochs=2, checkpoint=path, resume=True)
        assert resumed.epoch == 2 and resumed.settings()["lr"] == 1e-3
        for k, v in whole.model.parameters().items():
            assert np.array_equal(resumed.model.parameters()[k], v), k


def test_early_stopping_restores_the_best_weights_and_says_so():
    # validation targets are the training rule inverted: the better the fit, the worse val_loss, so training
    # must stop `patience` epochs after the best one and return to its weights. Keras prints 'Epoch 10: early
    # stopping' and 'Restoring model weights from the end of the best epoch: 7'; the stop and the roll-back were silent
    X, Y = counting_task(32, 5, seed=7)  # data whose best epoch is not the first (3, stopped after 5; with
    Xv, Yv = counting_task(32, 5, seed=8)  # seeds 6 and 7 it was the first, which a roll-back to epoch 1 passed)
    buf, snapshots = io.StringIO(), []
    trainer = Trainer(SequenceModel(2, 2, 4, dtype=np.float64, seed=0), lr=0.05, patience=2, seed=0, verbose=2, stream=buf,
                      callbacks=[lambda t, logs: snapshots.append(t.model.state_dict())])  # fmt: skip
    h = trainer.fit(X, Y, epochs=40, validation_data=(Xv, 1 - Yv))
    best = int(np.argmin(h["val_loss"])) + 1
    stopped = best + 2  # patience 2: two epochs without improvement after the best
    assert best > 1, "the data's best epoch is the first: a roll-back to epoch 1 would pass; pick other data seeds"
    assert trainer.best_epoch == best and len(h) == stopped < 40
    assert h["val_loss"][-1] > h["val_loss"][best - 1]
    for k, v in snapshots[best - 1].items():  # the best epoch's weights, not the last one's
        assert np.array_equal(trainer.model.parameters()[k], v), k
    assert not np.array_equal(snapshots[-1]["head.weight"], trainer.model.parameters()["head.weight"])
    lines = buf.getvalue().splitlines()
    assert len(lines) == stopped + 2 and lines[stopped - 1].startswith(f"epoch {stopped}/40 - ")
    assert lines[-2:] == [f"epoch {stopped}: early stopping (val_loss did not improve for 2 epochs)",
                          f"restored the weights of epoch {best}, the best (val_loss {h['val_loss'][best - 1]:.4f})"]  # fmt: skip
    assert not any("watches" in line for line in lines)  # validation data: val_loss, as a Keras user expects
    # silent with verbose=0, as the epoch lines are: the same run (its val_loss asserted), to the epoch where the one
    # above stopped and restored (5 at present), says nothing
    quiet = io.StringIO()
    q = Trainer(SequenceModel(2, 2, 4, dtype=np.float64, seed=0), lr=0.05, patience=2, seed=0, stream=quiet)
    assert q.fit(X, Y, epochs=stopped, validation_data=(Xv, 1 - Yv))["val_loss"] == h["val_loss"]
    assert q.stopped and q.best_epoch == best and quiet.getvalue() == ""


def test_early_stopping_without_validation_data_says_it_watches_the_training_loss():
    # a Keras user expects val_loss: without validation data the training loss is watched, said once at the start
    X, Y = counting_task(16, 4, seed=6)
    buf = io.StringIO()
    Trainer(SequenceModel(2, 2, 3, seed=0), patience=3, seed=0, verbose=2, stream=buf).fit(X, Y, epochs=2)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "early stopping (patience 3) watches the training loss, not val_loss: no validation data was given"
    assert [line.split(" - ")[0] for line in lines[1:]] == ["epoch 1/2", "epoch 2/2"]  # said once
    for options in ({"patience": 3, "monitor": "loss"}, {}):  # asked for by name, or no early stopping: nothing to say
        buf = io.StringIO()
        Trainer(SequenceModel(2, 2, 3, seed=0), seed=0, verbose=2, stream=buf, **options).fit(X, Y, epochs=1)
        assert "watches" not in buf.getvalue()


def test_ctrl_c_inside_a_compiled_kernel_comes_out_of_fit_as_keyboard_interrupt(tmp_path, monkeypatch):
    # numba turns a KeyboardInterrupt raised while a kernel runs into SystemError("CPUDispatcher(...) returned a
    # result with an exception set"), the interrupt in its context: `except KeyboardInterrupt` missed it. Raised
    # here by the kernels the LSTM calls (the real ones, wrapped), where a compiled kernel raises it
    from lstmkit.checkpoint import read_checkpoint

    X, Y = counting_task(16, 4, seed=6)

    def bug():
        raise SystemError("a bug, not an interrupt")

    for layers in (1, 2):  # backward's shortcut to the kernels (one plain layer) and the general path
        # the third epoch's first batch (2 batches an epoch, a kernel call per layer) is interrupted
        backward_raising(monkeypatch, 4 * layers + 1)
        ck = tmp_path / f"ck{layers}.npz"
        with pytest.raises(KeyboardInterrupt) as info:
            Trainer(SequenceModel(2, 2, 3, num_layers=layers, dtype=np.float64, seed=0), batch_size=8, seed=0).fit(
                X, Y, epochs=4, checkpoint=ck)  # fmt: skip
        assert not isinstance(info.value, SystemError) and info.value.__suppress_context__
        monkeypatch.undo()
        # the checkpoint holds the last epoch that ended; resumed, the run ends as an uninterrupted one
        assert read_checkpoint(ck)["meta"]["epoch"] == 2
        resumed = SequenceModel(2, 2, 3, num_layers=layers, dtype=np.float64, seed=0)
        Trainer(resumed, batch_size=8, seed=0).fit(X, Y, epochs=4, checkpoint=ck, resume=True)
        whole = SequenceModel(2, 2, 3, num_layers=layers, dtype=np.float64, seed=0)
        Trainer(whole, batch_size=8, seed=0).fit(X, Y, epochs=4)
        for k, v in whole.parameters().items():
            assert np.array_equal(resumed.parameters()[k], v), k
    # an interrupt in Python code (a callback) is a KeyboardInterrupt as it was
    def stop(trainer, logs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(SequenceModel(2, 2, 3, seed=0), seed=0, callbacks=[stop]).fit(X, Y, epochs=2)
    # any other SystemError from a kernel is a bug, kept as it is
    backward_raising(monkeypatch, 1, bug)
    with pytest.raises(SystemError, match="a bug"):
        Trainer(SequenceModel(2, 2, 3, seed=0), seed=0).fit(X, Y, epochs=1)


def test_interrupt_in_finds_the_interrupt_in_a_chain_of_causes():
    from lstmkit.training import interrupt_in

    ki = KeyboardInterrupt()
    inner, outer = SystemError("inner"), SystemError("outer")
    inner.__context__, outer.__context__ = ki, inner  # numba's chain: one SystemError per frame
    assert interrupt_in(outer) is ki and interrupt_in(ki) is ki
    caused = SystemError("caused")
    caused.__cause__ = ki
    assert interrupt_in(caused) is ki
    assert interrupt_in(SystemError("alone")) is None and interrupt_in(None) is None
    a, b = SystemError("a"), SystemError("b")
    a.__context__, b.__context__ = b, a  # a cycle ends the walk
    assert interrupt_in(a) is None


def test_history_plot_ticks_whole_epochs(tmp_path, monkeypatch):
    # a few epochs drew ticks at 1.25, 1.5, ... (and 2.5, 7.5 for 10): an epoch is a whole number
    pytest.importorskip("matplotlib")
    import lstmkit.io

    figures = []
    monkeypatch.setattr(lstmkit.io, "save_figure", lambda fig, path: figures.append(fig))
    for n in (3, 10, 23):
        History({"epoch": e, "loss": 1.0 / e, "val_loss": 2.0 / e} for e in range(1, n + 1)).plot(tmp_path / "c.png")
        fig = figures[-1]
        fig.canvas.draw()  # ticks are placed when drawn
        ticks = [t for t in fig.axes[0].get_xticks() if fig.axes[0].get_xlim()[0] <= t <= fig.axes[0].get_xlim()[1]]
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), (n, ticks)


# -- a user's metric: fn(out, y, mask) -> (sum, count), through the path the built-in ones take -----
def _frozen_loss(out, y, mask):
    """A loss whose gradient is 0: every update leaves the weights as they were (Adam's step of a
    zero gradient is 0), so each batch's outputs are those ``predict`` gives after the fit."""
    return 0.0, np.zeros_like(out)


def test_a_user_metric_is_summed_over_the_batches_and_shown_running(monkeypatch):
    # an epoch of 23 sequences in batches of 5 (the last one of 3), with lengths: the metric sees each
    # batch's outputs, targets and mask; the epoch's number is Σ sum / Σ count over the batches, and the
    # running number after batch b the same over batches 1..b (what a progress bar shows), computed here
    # from predict's outputs and NumPy's boolean indexing of the valid steps
    import lstmkit.training as training
    from lstmkit.progress import Silent

    X, Y, lengths = _regression_data(n=23)  # (23, 7, 2), (23, 7, 1), lengths in [1, 7]
    sq = lambda out, y, mask: (float((((out - y) ** 2)[..., 0] * (1 if mask is None else mask)).sum()),  # noqa: E731
                               float(y[..., 0].size if mask is None else mask.sum()))
    seen = []

    class Recorder(Silent):  # the running numbers a progress bar is given after each batch
        def update(self, logs):
            seen.append(dict(logs))

    monkeypatch.setattr(training, "make_progress", lambda verbose, stream: Recorder())
    model = SequenceModel(2, 1, 3, dtype=np.float64, seed=0)
    trainer = Trainer(model, loss=_frozen_loss, metrics={"sq_err": sq}, batch_size=5, shuffle=False, seed=0)
    logs = trainer.fit(X, Y, lengths, epochs=1, validation_data=(X[:9], Y[:9], lengths[:9])).epochs[0]
    out = predict(model, X, lengths)  # (23, 7, 1): the weights never moved
    err = (out - Y)[..., 0] ** 2  # (23, 7)
    valid = np.arange(7)[None] < lengths[:, None]
    expected = [err[:e][valid[:e]].sum() / valid[:e].sum() for e in (5, 10, 15, 20, 23)]
    np.testing.assert_allclose([s["sq_err"] for s in seen], expected, rtol=1e-12)
    assert logs["sq_err"] == seen[-1]["sq_err"]  # the running number ends at the epoch's
    np.testing.assert_allclose(logs["sq_err"], err[valid].mean(), rtol=1e-12)
    np.testing.assert_allclose(logs["val_sq_err"], err[:9][valid[:9]].mean(), rtol=1e-12)
    assert list(logs)[:4] == ["epoch", "loss", "sq_err", "val_loss"] and trainer.metrics == ("sq_err",)
    assert trainer.evaluate(X, Y, lengths)["sq_err"] == pytest.approx(err[valid].mean(), rel=1e-12)
    # head="last": out (B, O), y as given (B, O), mask None; a function in a list is named by its __name__
    last = SequenceModel(2, 1, 3, head="last", dtype=np.float64, seed=0)
    calls = []

    def abs_err(out, y, mask):
        calls.append((out.shape, y.shape, mask))
        return np.abs(out - y).sum(), y.size

    t = Trainer(last, loss=_frozen_loss, metrics=[abs_err, "mae"], batch_size=10, seed=0)
    logs = t.fit(X, Y[:, -1], epochs=1).epochs[0]
    # (fit's check of what it returns first: the first sequence's output, before anything runs)
    assert calls == [((1, 1), (1, 1), None), ((10, 1), (10, 1), None), ((10, 1), (10, 1), None), ((3, 1), (3, 1), None)]
    np.testing.assert_allclose(logs["abs_err"], np.abs(predict(last, X) - Y[:, -1]).mean(), rtol=1e-12)
    assert logs["abs_err"] == pytest.approx(logs["mae"], rel=1e-12)  # the built-in one, the same number
    # early stopping may watch a user metric (lower is better): one that gives 3, 1, 2, 0.5 by epoch makes epoch 2 the
    # best and, patience 1, stops after epoch 3. The loss and mae stay as they were (the weights frozen): watching
    # them, or reading e as higher-is-better, it would stop after epoch 2 with epoch 1 the best
    values = [3.0, 1.0, 2.0, 0.5]

    def e(out, y, mask):  # the epoch's value on every target
        return values[w.epoch] * y.size, y.size

    w = Trainer(last, loss=_frozen_loss, metrics=[e, "mae"], monitor="e", patience=1)
    h = w.fit(X, Y[:, -1], epochs=4)
    assert h["e"] == pytest.approx(values[:3], rel=1e-15) and h["mae"] == pytest.approx(h["mae"][:1] * 3, rel=1e-12)
    assert len(h) == 3 and w.best_epoch == 2


def test_user_metrics_are_checked_naming_the_metric():
    model = SequenceModel(2, 1, 3, dtype=np.float64, seed=0)
    X, Y, lengths = _regression_data(n=6)
    with pytest.raises(TypeError, match=r"^Trainer: expected metrics\['m'\] a function \(out, y, mask\) -> \(sum over valid targets, their count\), got int 3\.$"):
        Trainer(model, loss="mse", metrics={"m": 3})
    for bad in ("loss", "val_mae", "epoch", ""):
        with pytest.raises(ValueError, match=r"^Trainer: expected metrics names other than \['epoch', 'loss', 'lr', 'time'\] and val_\*"):
            Trainer(model, loss="mse", metrics={bad: lambda o, y, m: (0, 1)})
    with pytest.raises(ValueError, match=r"^Trainer: expected metrics each name once, got 'mae'\.$"):
        Trainer(model, loss="mse", metrics=["mae", "mae"])
    with pytest.raises(ValueError, match=r"^Trainer: expected metrics names from \['accuracy', 'mae'\] or their Keras names \['acc', "
                                         r"'sparse_categorical_accuracy', 'mean_absolute_error'\] \(or a mapping of name -> a function.*got 'rmse'\.$"):
        Trainer(model, loss="mse", metrics=["rmse"])
    with pytest.raises(TypeError, match=r"^Trainer: expected metrics functions with a name .*Name it with a mapping: metrics=\{'my_metric': fn\}\.$"):
        Trainer(model, loss="mse", metrics=[lambda o, y, m: (0, 1)])
    with pytest.raises(TypeError, match=r"^Trainer: expected metrics names from .*got str 'mae'\. For one metric: metrics=\['mae'\]\.$"):
        Trainer(model, loss="mse", metrics="mae")
    # what it returns: a pair of numbers, the count >= 0 (a mean alone is the usual slip)
    with pytest.raises(TypeError, match=r"^Trainer: expected metrics\['m'\] to return a pair \(sum over valid targets, their count\), got float 0\.5\. Return the sum and the count, not their mean"):
        Trainer(model, loss="mse", metrics={"m": lambda o, y, m: 0.5}).fit(X, Y, lengths, epochs=1)
    with pytest.raises(ValueError, match=r"^Trainer: expected metrics\['m'\] to return a count >= 0, got -1\.0\.$"):
        Trainer(model, loss="mse", metrics={"m": lambda o, y, m: (0.0, -1)}).fit(X, Y, lengths, epochs=1)


def test_a_schedule_is_named_in_any_case_as_make_schedule_takes_it():
    # 'Step' was refused by the Trainer's own check before make_schedule (which takes any case) saw it
    from lstmkit.optim import CosineAnnealingLR, ReduceLROnPlateau, StepLR

    model = SequenceModel(3, 2, 4, seed=0)
    assert isinstance(Trainer(model, schedule="Step", schedule_options={"step_size": 2}).schedule, StepLR)
    assert isinstance(Trainer(model, schedule="COSINE", schedule_options={"T_max": 3}).schedule, CosineAnnealingLR)
    assert isinstance(Trainer(model, schedule="Plateau").schedule, ReduceLROnPlateau)
    assert Trainer(model, schedule="Step", schedule_options={"step_size": 2}).settings() == Trainer(model, schedule="step", schedule_options={"step_size": 2}).settings()
    with pytest.raises(ValueError, match=r"^Trainer: expected schedule None, one of \['step', 'cosine', 'plateau'\] \(any case\) or a schedule object, got 'Linear'\.$"):
        Trainer(model, schedule="Linear")


def test_an_optimizer_name_is_matched_by_the_rule_of_make_optimizer_and_refused_naming_the_trainers_argument():
    # one rule (optim.by_name) for make_optimizer, make_schedule, the Trainer and the estimators: any case; the
    # Trainer's unknown optimizer name was refused by make_optimizer, naming make_optimizer and 'name'
    from lstmkit.optim import SGD, AdamW

    model = SequenceModel(3, 2, 4, seed=0)
    assert isinstance(Trainer(model, optimizer="SGD").optimizer, SGD)
    assert isinstance(Trainer(model, optimizer="AdamW").optimizer, AdamW)
    assert Trainer(model, optimizer="AdamW").settings() == Trainer(model, optimizer="adamw").settings()
    for bad in ("adagrad", None, SGD):  # a name, nothing, a class (not an optimizer built on the model)
        with pytest.raises(ValueError, match=rf"^Trainer: expected optimizer one of \['sgd', 'adam', 'adamw', 'rmsprop'\] \(any case\) "
                                             rf"or an lstmkit Optimizer, got {re.escape(repr(bad)[:80])}\.$"):
            Trainer(model, optimizer=bad)


@pytest.mark.parametrize("head", ["last", "all"])
def test_class_weights_train_as_torchs_weighted_cross_entropy(head):
    """class_weight=w: each mini-batch's loss is torch's CrossEntropyLoss(weight=w) of its valid
    targets, so the weights after two epochs are those of the same loop in torch; the epoch's loss
    is Σ_b L_b W_b / Σ_b W_b (W_b the batch's Σ w[y], torch's denominator), val_loss the criterion
    over the whole validation data, accuracy plain (every target once)."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.default_rng(1)
    n, T, I, H, C = 12, 5, 3, 4, 3
    X, Xv = rng.normal(size=(n, T, I)), rng.normal(size=(5, T, I))
    lengths, lv = rng.integers(1, T + 1, size=n), rng.integers(1, T + 1, size=5)
    Y = rng.integers(0, C, size=(n, T) if head == "all" else (n,))
    Yv = rng.integers(0, C, size=(5, T) if head == "all" else (5,))
    w = np.array([0.2, 3.0, 1.5])
    model = SequenceModel(I, C, H, head=head, dtype=np.float64, seed=0)
    sd = {k: torch.tensor(v) for k, v in model.state_dict().items()}
    trainer = Trainer(model, class_weight=w, batch_size=4, shuffle=False, lr=0.05, clip=0.5)
    history = trainer.fit(X, Y, lengths, epochs=2, validation_data=(Xv, Yv, lv))

    lstm, lin, params = _torch_twin(torch, sd, I, H, C)
    opt = torch.optim.Adam(params, lr=0.05)
    criterion = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))

    def logits_and_targets(x, lb, yb):  # the valid targets' logits (m, C) and classes (m,)
        packed = pack_padded_sequence(x, lb, batch_first=True, enforce_sorted=False)
        y, (h_n, _) = lstm(packed)
        if head == "last":
            return lin(h_n[-1]), yb
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=T)
        valid = torch.arange(T)[None, :] < lb[:, None]
        return lin(y)[valid], yb[valid]

    for epoch in range(2):
        total, weight, hits, count = 0.0, 0.0, 0, 0
        for s in range(0, n, 4):
            z, k = logits_and_targets(torch.tensor(X[s : s + 4]), torch.tensor(lengths[s : s + 4]), torch.tensor(Y[s : s + 4]))
            loss = criterion(z, k)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 0.5)
            opt.step()
            total += loss.item() * w[k.numpy()].sum()
            weight += w[k.numpy()].sum()
            hits, count = hits + int((z.argmax(-1) == k).sum()), count + len(k)
        with torch.no_grad():
            zv, kv = logits_and_targets(torch.tensor(Xv), torch.tensor(lv), torch.tensor(Yv))
        logged = history.epochs[epoch]
        assert logged["loss"] == pytest.approx(total / weight, rel=1e-9)
        assert logged["accuracy"] == hits / count  # plain: every target once
        assert logged["val_loss"] == pytest.approx(criterion(zv, kv).item(), rel=1e-9)
        assert logged["val_accuracy"] == float((zv.argmax(-1) == kv).double().mean())
    theirs = {**{f"rnn.{k}": v for k, v in lstm.state_dict().items()}, **{f"head.{k}": v for k, v in lin.state_dict().items()}}
    for k, v in model.parameters().items():
        np.testing.assert_allclose(v, theirs[k].numpy(), rtol=1e-9, atol=1e-11, err_msg=k)
    assert trainer.evaluate(Xv, Yv, lv)["loss"] == pytest.approx(criterion(zv, kv).item(), rel=1e-9)


def _torch_twin(torch, sd, I, H, C):
    """torch's nn.LSTM(I, H, batch_first) and nn.Linear(H, C), float64, holding a SequenceModel's state_dict sd
    (of torch tensors); and their parameters, as an optimizer takes them."""
    lstm = torch.nn.LSTM(I, H, batch_first=True, dtype=torch.float64)
    lin = torch.nn.Linear(H, C, dtype=torch.float64)
    lstm.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("rnn.")})
    lin.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("head.")})
    return lstm, lin, list(lstm.parameters()) + list(lin.parameters())


def _trains_as_without_its_first_batch(X, Y, make_model):
    """Train make_model() with class 0 weighing 0 on (X, Y), whose first batch of 4 holds class 0 only, and on
    (X[4:], Y[4:]): the weights and the losses are asserted equal, bit for bit. Returns the first run's history and
    both models."""
    runs = []
    for x, y in ((X, Y), (X[4:], Y[4:])):
        model = make_model()
        history = Trainer(model, class_weight=[0.0, 1.0], batch_size=4, shuffle=False, lr=0.1).fit(x, y, epochs=3)
        runs.append((model, history))
    (both, h), (second, h2) = runs
    for k in both.parameters():
        np.testing.assert_array_equal(both.parameters()[k], second.parameters()[k], err_msg=k)
    assert h["loss"] == h2["loss"]
    return h, (both, second)


def test_a_batch_whose_targets_all_weigh_zero_makes_no_update():
    # class 0 weighs 0: the first batch holds only class 0 (a loss of 0/0, NaN in torch), so it makes no
    # update; the weights are those of training on the other batch alone, bit for bit, and so is the loss;
    # accuracy counts the first batch's targets too (they are predicted, only not weighed)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(8, 4, 2)), np.array([0, 0, 0, 0, 1, 0, 1, 0])
    h, _ = _trains_as_without_its_first_batch(X, Y, lambda: SequenceModel(2, 2, 3, head="last", dtype=np.float64, seed=0))
    # no update before the second batch: the last epoch's accuracy is that of the weights after two epochs, on all 8
    two = SequenceModel(2, 2, 3, head="last", dtype=np.float64, seed=0)
    Trainer(two, class_weight=[0.0, 1.0], batch_size=4, shuffle=False, lr=0.1).fit(X, Y, epochs=2)
    assert h["accuracy"][-1] == float((predict(two, X).argmax(-1) == Y).mean())


def test_class_weight_is_checked_and_refused_where_it_weighs_nothing():
    model = SequenceModel(2, 3, 4, head="last", seed=0)
    X, Y = np.zeros((6, 3, 2)), np.array([0, 0, 1, 1, 0, 1])
    with pytest.raises(ValueError, match=r"^Trainer: expected class_weight None with loss='mse' \(class weights weigh the classes of "
                                         r"loss='cross_entropy'\), got \[1, 2, 3\]\.$"):
        Trainer(SequenceModel(2, 3, 4, head="last", seed=0), loss="mse", class_weight=[1, 2, 3])
    with pytest.raises(ValueError, match=r"^Trainer: expected class_weight None with a custom loss .*, got \[1, 2, 3\]\. Weigh the classes in the loss itself\.$"):
        Trainer(model, loss=lambda out, y, mask: (0.0, out * 0), class_weight=[1, 2, 3])
    with pytest.raises(ValueError, match=r"^Trainer: expected class_weight shape \(3,\), got shape \(2,\)\. One weight per class"):
        Trainer(model, class_weight=[1.0, 2.0])  # the model has 3 outputs
    with pytest.raises(ValueError, match=r"^Trainer: expected class_weight\[2\] a finite number >= 0, got -0\.5\.$"):
        Trainer(model, class_weight=[1.0, 2.0, -0.5])
    with pytest.raises(TypeError, match=r"^Trainer: expected class_weight 3 numbers, one weight per class, got dtype <U1\.$"):
        Trainer(model, class_weight=["a", "b", "c"])
    # targets that all weigh 0: refused before training, the training part, the validation data, evaluate's
    zero = [0.0, 0.0, 1.0]  # class 2 weighs, and no target is of class 2
    message = r"expected class_weight a weight > 0 for a class among {} \(the loss is their weighted mean\), got 0 for each of their classes {}\.$"
    with pytest.raises(ValueError, match="^Trainer.fit: " + message.format("the training targets", r"\[0, 1\]")):
        Trainer(model, class_weight=zero).fit(X, Y, epochs=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match="^Trainer.fit: " + message.format("the targets of validation_data", r"\[1\]")):
        Trainer(model, class_weight=[1.0, 0.0, 1.0]).fit(X, np.array([0, 2, 1, 1, 0, 1]), epochs=1, validation_data=(X, Y * 0 + 1))
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())  # nothing trained
    with pytest.raises(ValueError, match="^Trainer.evaluate: " + message.format("Y's targets", r"\[0, 1\]")):
        Trainer(model, class_weight=zero).evaluate(X, Y)
    # per step, only the valid steps count: class 2 past every length is padding
    per_step = SequenceModel(2, 3, 4, seed=0)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected class_weight .*, got 0 for each of their classes \[0\]\.$"):
        Trainer(per_step, class_weight=zero).fit(X, np.array([[0, 2, 2]] * 6), np.ones(6, dtype=int), epochs=1)


def test_class_weight_is_fixed_at_construction_where_it_was_checked():
    # each batch's loss uses the weights checked at construction, unchecked (and divided by the largest
    # once): weights set or written afterwards would skip the check, so neither is possible
    trainer = Trainer(SequenceModel(2, 3, 4, head="last", seed=0), class_weight=[1, 2, 4])
    assert trainer.class_weight.tolist() == [1.0, 2.0, 4.0] and trainer.class_weight.dtype == np.float64
    with pytest.raises(AttributeError):
        trainer.class_weight = np.array([1.0, 2.0, -0.5])
    with pytest.raises(ValueError, match="read-only"):
        trainer.class_weight[2] = -0.5
    assert Trainer(SequenceModel(2, 3, 4, head="last", seed=0)).class_weight is None


def test_a_checkpoint_records_the_class_weights_and_a_resume_with_others_is_refused(tmp_path):
    from lstmkit.checkpoint import ResumeRefused

    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5, 2))
    Y = (X[:, :, 0] > 0.8).astype(int)
    ck = str(tmp_path / "c.npz")

    def trainer(class_weight):
        return Trainer(SequenceModel(2, 2, 4, seed=0), class_weight=class_weight, batch_size=8, seed=0)

    first = trainer([1.0, 5.0])
    first.fit(X, Y, epochs=1, checkpoint=ck)
    assert first.settings()["class_weight"] == [1.0, 5.0] and "class_weight" not in trainer(None).settings()
    for other, got in (([1.0, 3.0], r"\[1\.0, 3\.0\]"), (None, "nothing")):
        with pytest.raises(ResumeRefused, match=rf"was written with class_weight \[1\.0, 5\.0\], got {got}\. Resume with the same settings"):
            trainer(other).fit(X, Y, epochs=2, checkpoint=ck, resume=True)
    resumed = trainer(np.array([1, 5]))  # the same weights, as integers
    resumed.fit(X, Y, epochs=2, checkpoint=ck, resume=True)
    whole = trainer([1.0, 5.0])
    whole.fit(X, Y, epochs=2)
    for k, v in whole.model.parameters().items():
        np.testing.assert_array_equal(resumed.model.parameters()[k], v, err_msg=k)


def test_a_resume_refused_for_class_weights_leaves_the_trainer_and_its_model_as_they_were(tmp_path):
    # a refusal the checkpoint does not decide (validation data that all weigh 0) comes before it is read;
    # one that it does (the rows validation_split holds out, drawn from its seed) is undone
    X = np.random.default_rng(0).normal(size=(8, 3, 2))
    Y = np.array([0, 0, 0, 0, 0, 0, 0, 1])  # only row 7 weighs anything with class_weight [0, 1]
    ck = str(tmp_path / "c.npz")

    def trainer():
        return Trainer(SequenceModel(2, 2, 4, head="last", seed=0), class_weight=[0.0, 1.0], batch_size=4, seed=0)

    trainer().fit(X, Y, epochs=1, checkpoint=ck)
    fresh = trainer()
    before = {k: v.copy() for k, v in fresh.model.parameters().items()}

    def unchanged():
        assert fresh.epoch == 0 and len(fresh.history.epochs) == 0 and fresh.validation_indices is None
        for k, v in fresh.model.parameters().items():
            np.testing.assert_array_equal(v, before[k], err_msg=k)

    with pytest.raises(ValueError, match=r"^Trainer.fit: expected class_weight a weight > 0 for a class among the targets of validation_data "):
        fresh.fit(X, Y, epochs=2, checkpoint=ck, resume=True, validation_data=(X, np.zeros(8, dtype=int)))
    unchanged()
    # the split: seed 0 holds out 2 of 8 rows; row 7 (the only one of class 1) stays in training, so the held-out ones weigh 0
    assert 7 not in np.sort(np.random.default_rng(np.random.SeedSequence(0).spawn(2)[0]).permutation(8)[:2])
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected class_weight a weight > 0 for a class among the targets validation_split "
                                         r"held out \(the loss is their weighted mean\), got 0 for each of their classes \[0\]\.$"):
        fresh.fit(X, Y, epochs=2, checkpoint=ck, resume=True, validation_split=0.25)
    unchanged()
    fresh.fit(X, Y, epochs=2, checkpoint=ck, resume=True)  # and it resumes as before
    assert fresh.epoch == 2


def test_huge_unequal_class_weights_train_as_their_ratios():
    # weights of 1e308 and 5e307: their sum over a batch overflows float64 (np.errstate raises on it), yet only
    # their ratio counts: they are divided by the largest (losses.relative_weight) before any sum, so they train
    # as [2, 1] does, bit for bit (w / max(w) is [1, 0.5] for both). Equal weights would not test this: they are
    # no weighting at all (test_equal_class_weights_are_no_class_weights_when_resuming)
    X = np.random.default_rng(1).normal(size=(12, 4, 2))
    Y = (X[:, :, 0] > 0).astype(int)

    def run(class_weight):
        t = Trainer(SequenceModel(2, 2, 3, seed=0), class_weight=class_weight, batch_size=4, seed=0)
        with np.errstate(over="raise"):
            t.fit(X, Y, np.full(12, 3), epochs=2, validation_split=0.25)
        return t

    huge, small = run([1e308, 5e307]), run([2.0, 1.0])
    for key in ("loss", "val_loss"):
        assert huge.history[key] == small.history[key], key
    for k, v in small.model.parameters().items():
        np.testing.assert_array_equal(huge.model.parameters()[k], v, err_msg=k)


def test_keras_metric_names_score_lstmkits_metric_and_are_logged_as_given():
    # Keras' metrics=["acc"] (or "sparse_categorical_accuracy") is accuracy, ["mean_absolute_error"] mae: logged
    # under the name given (acc, val_acc), as Keras logs them; the values are counted here by hand from the
    # trained model's outputs. "mse" has no metric in lstmkit: refused, saying the loss is it
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(10, 4, 2)), rng.integers(0, 3, size=10)
    for name in ("acc", "sparse_categorical_accuracy"):
        model = SequenceModel(2, 3, 4, head="last", dtype=np.float64, seed=0)
        trainer = Trainer(model, metrics=[name], batch_size=10, shuffle=False)
        history = trainer.fit(X, Y, epochs=1, validation_data=(X, Y))
        assert set(history.keys()) == {"epoch", "loss", name, f"val_{name}", "val_loss", "lr", "time"}
        assert history[f"val_{name}"][0] == np.mean(predict(model, X).argmax(-1) == Y)
    Xr, Yr, lengths = _regression_data(n=6)
    model = SequenceModel(Xr.shape[2], Yr.shape[2], 3, dtype=np.float64, seed=0)
    history = Trainer(model, loss="mse", metrics=["mean_absolute_error"]).fit(Xr, Yr, lengths, epochs=1, validation_data=(Xr, Yr, lengths))
    valid = np.arange(Yr.shape[1])[None, :] < lengths[:, None]
    assert history["val_mean_absolute_error"][0] == pytest.approx(np.abs(predict(model, Xr, lengths) - Yr)[valid].mean(), rel=1e-12)
    for mse in ("mse", "mean_squared_error"):
        with pytest.raises(ValueError, match=rf"^Trainer: expected metrics names from .*, got '{mse}'\. lstmkit has no MSE metric: with "
                                             r"loss='mse' the loss is the MSE \(loss, val_loss\)\.$"):
            Trainer(model, loss="mse", metrics=[mse])
    # early stopping on acc is on accuracy: higher is better (Keras' mode 'auto' reads acc as a maximum)
    t = Trainer(SequenceModel(2, 3, 4, head="last", seed=0), metrics=["acc"], patience=1, monitor="val_acc")
    for value in (0.5, 0.6, 0.7):
        t._early_stopping({"val_acc": value}, "val_acc")
        assert t.best == value and not t.stopped


def test_class_indices_beyond_the_class_weights_of_a_model_without_output_size_are_refused_naming_them():
    # a duck-typed model that does not say its number of outputs: its class weights bound the classes, and a
    # class index beyond them was a bare IndexError of the weights' lookup
    class NoOutputSize(SequenceModel):
        def __getattribute__(self, k):
            if k == "output_size" and object.__getattribute__(self, "__dict__").get("hide"):
                raise AttributeError(k)
            return super().__getattribute__(k)

    model = NoOutputSize(2, 3, 4, head="last", seed=0)
    model.__dict__["hide"] = True
    assert not hasattr(model, "output_size")
    X = np.random.default_rng(0).normal(size=(6, 3, 2))
    message = (r"^Trainer.fit: expected Y class indices in \[0, 2\) \(one per class weight\), got 2 at index \(2,\) \(sample 2\)\. "
               r"Encode labels as 0\.\.1, or give one class weight per class\.$")  # fmt: skip
    with pytest.raises(ValueError, match=message):
        Trainer(model, class_weight=[1.0, 2.0]).fit(X, np.array([0, 1, 2, 1, 0, 1]), epochs=1)
    with pytest.raises(ValueError, match=message.replace("fit", "evaluate")):
        Trainer(model, class_weight=[1.0, 2.0]).evaluate(X, np.array([0, 1, 2, 1, 0, 1]))
    Trainer(model, class_weight=[1.0, 2.0, 3.0]).fit(X, np.array([0, 1, 2, 1, 0, 1]), epochs=1)  # weights for every class: trains


def test_equal_class_weights_are_no_class_weights_when_resuming(tmp_path):
    # [1, 1] (or [3, 3]) computes what None does (Σ c ℓ / Σ c is the plain mean): a checkpoint of either
    # resumes with the other, and the run is the uninterrupted one's, bit for bit
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5, 2))
    Y = (X[:, :, 0] > 0.8).astype(int)

    def trainer(class_weight):
        return Trainer(SequenceModel(2, 2, 4, seed=0), class_weight=class_weight, batch_size=8, seed=0)

    whole = trainer(None)
    whole.fit(X, Y, epochs=2)
    for first, then in ((None, [1.0, 1.0]), ([1.0, 1.0], None), ([3, 3], [1.0, 1.0])):
        ck = str(tmp_path / f"{first}-{then}.npz")
        trainer(first).fit(X, Y, epochs=1, checkpoint=ck)
        resumed = trainer(then)
        resumed.fit(X, Y, epochs=2, checkpoint=ck, resume=True)
        assert resumed.history["loss"] == whole.history["loss"]
        for k, v in whole.model.parameters().items():
            np.testing.assert_array_equal(resumed.model.parameters()[k], v, err_msg=k)
    assert "class_weight" not in trainer([2.0, 2.0]).settings() and trainer([2.0, 1.0]).settings()["class_weight"] == [2.0, 1.0]


def test_a_batch_that_weighs_nothing_leaves_the_dropout_masks_to_the_batches_after_it():
    # class 0 weighs 0 and the first batch holds only class 0: with dropout, its forward pass drew masks, so the
    # batches after it trained on other masks than a run without it. It gives them back: the weights are those of
    # training on the other batches alone, bit for bit
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(12, 4, 2)), np.array([0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1])
    _, (both, second) = _trains_as_without_its_first_batch(X, Y, lambda: SequenceModel(
        2, 2, 3, num_layers=2, dropout=0.5, head="last", dtype=np.float64, seed=0, lstm_options={"dropout_recurrent": 0.3}))
    assert both.dropout_rng.bit_generator.state == second.dropout_rng.bit_generator.state


@pytest.mark.parametrize("head, loss, per_step, bptt", [
    ("last", "cross_entropy", False, None), ("all", "cross_entropy", True, None), ("all", "cross_entropy", True, 2),
    ("all", "mse", False, None), ("last", "mse", False, None),
])  # fmt: skip
def test_sample_weights_train_as_torch_weighing_reduction_none_by_hand(head, loss, per_step, bptt):
    """sample_weight=s: each mini-batch's (each bptt chunk's) loss is torch's reduction='none' loss of its valid
    targets times s (and the class weight), summed, over the sum of those weights; so the epoch's losses, val_loss
    (validation_data's weights fourth) and the weights after two epochs are those of the same loop in torch."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    F = torch.nn.functional
    rng = np.random.default_rng(3)
    n, T, I, H, C = 12, 5, 3, 4, 3
    X, Xv = rng.normal(size=(n, T, I)), rng.normal(size=(5, T, I))
    lengths, lv = rng.integers(1, T + 1, size=n), rng.integers(1, T + 1, size=5)
    if bptt:
        lengths = lv = None  # (chunks of whole rows: torch carries the state, detached)
    shape = lambda N: (N, T) if head == "all" else (N,)  # noqa: E731
    if loss == "mse":
        Y, Yv = rng.normal(size=(*shape(n), C)), rng.normal(size=(*shape(5), C))
    else:
        Y, Yv = rng.integers(0, C, size=shape(n)), rng.integers(0, C, size=shape(5))
    s = rng.uniform(0, 3, size=(n, T) if per_step else n)
    s[0] = 0.0  # a row that weighs nothing
    sv = rng.uniform(0, 3, size=(5, T) if per_step else 5)
    w = np.array([0.2, 3.0, 1.5]) if loss == "cross_entropy" else None
    model = SequenceModel(I, C, H, head=head, dtype=np.float64, seed=0)
    sd = {k: torch.tensor(v) for k, v in model.state_dict().items()}
    trainer = Trainer(model, loss=loss, class_weight=w, batch_size=4, shuffle=False, lr=0.05, clip=0.5, bptt=bptt)
    history = trainer.fit(X, Y, lengths, epochs=2, validation_data=(Xv, Yv, lv, sv), sample_weight=s)

    lstm, lin, params = _torch_twin(torch, sd, I, H, C)
    opt = torch.optim.Adam(params, lr=0.05)

    def forward(x, lb, state=None):  # the outputs (B, t, C) or (B, C), the state after
        if lb is None:
            y, state = lstm(x, state)
            return (lin(y) if head == "all" else lin(y[:, -1])), state
        y, (h_n, c_n) = lstm(pack_padded_sequence(x, lb, batch_first=True, enforce_sorted=False))
        if head == "last":
            return lin(h_n[-1]), (h_n, c_n)
        return lin(pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])[0]), (h_n, c_n)

    def criterion(out, yb, lb, sb):  # Σ r ℓ / Σ r over the valid targets, by hand; and Σ r
        sb = torch.tensor(sb)
        if head == "all":
            t = out.shape[1]
            valid = torch.ones(out.shape[:2], dtype=torch.bool) if lb is None else torch.arange(t)[None, :] < torch.tensor(lb)[:, None]
            sb = (sb if sb.ndim == 2 else sb[:, None].expand(-1, t))[valid]
            out, yb = out[valid], torch.tensor(yb)[valid]
        else:
            yb = torch.tensor(yb)
        if loss == "mse":  # each of a target's C outputs weighs its weight: Σ_n s_n Σ_c e_nc / (C Σ_n s_n)
            e = (out - yb) ** 2  # (m, C)
            return (sb[:, None] * e).sum() / (C * sb.sum()), float(sb.sum())
        r = sb * torch.tensor(w)[yb]
        return (r * F.cross_entropy(out, yb, reduction="none")).sum() / r.sum(), float(r.sum())

    for epoch in range(2):
        total, weight = 0.0, 0.0
        for b in range(0, n, 4):
            xb, lb, yb, sb = X[b : b + 4], None if lengths is None else lengths[b : b + 4], Y[b : b + 4], s[b : b + 4]
            state = None
            for c0 in range(0, T, bptt or T):
                c1 = min(c0 + (bptt or T), T)
                cut = (lambda a: a[:, c0:c1]) if bptt else (lambda a: a)  # noqa: E731
                out, state = forward(torch.tensor(cut(xb)), None if lb is None else torch.tensor(lb), state)
                state = tuple(v.detach() for v in state)
                lt, r = criterion(out, cut(yb), lb, cut(sb) if per_step else sb)
                if r == 0:
                    continue  # (the first batch's first row weighs nothing; a chunk of it alone: no update)
                opt.zero_grad()
                lt.backward()
                torch.nn.utils.clip_grad_norm_(params, 0.5)
                opt.step()
                total, weight = total + lt.item() * r, weight + r
        with torch.no_grad():
            lv_t = None if lv is None else torch.tensor(lv)
            val_loss, _ = criterion(forward(torch.tensor(Xv), lv_t)[0], Yv, lv, sv)
        logged = history.epochs[epoch]
        assert logged["loss"] == pytest.approx(total / weight, rel=1e-9)
        assert logged["val_loss"] == pytest.approx(val_loss.item(), rel=1e-9)
    theirs = {**{f"rnn.{k}": v for k, v in lstm.state_dict().items()}, **{f"head.{k}": v for k, v in lin.state_dict().items()}}
    for k, v in model.parameters().items():
        np.testing.assert_allclose(v, theirs[k].numpy(), rtol=1e-9, atol=1e-11, err_msg=k)
    assert trainer.evaluate(Xv, Yv, lv, sample_weight=sv)["loss"] == pytest.approx(val_loss.item(), rel=1e-9)


def test_equal_sample_weights_train_as_none_and_a_batch_that_weighs_nothing_makes_no_update():
    # weights all one number weigh nothing (Σ s ℓ / Σ s is the plain mean): the run is the unweighed one, bit for bit;
    # per-step weights past the lengths are padding. A first batch weighing 0 makes no update and draws no dropout
    # masks: the run is that on the other batches alone
    rng = np.random.default_rng(2)
    X, Y, lengths = rng.normal(size=(12, 4, 2)), rng.integers(0, 2, size=(12, 4)), rng.integers(1, 5, size=12)

    def run(x, y, lb, **fit):
        model = SequenceModel(2, 2, 3, num_layers=2, dropout=0.5, dtype=np.float64, seed=0)
        history = Trainer(model, batch_size=4, shuffle=False, lr=0.1, seed=0).fit(x, y, lb, epochs=3, **fit)
        return model, history

    plain = run(X, Y, lengths)
    padded = np.where(np.arange(4)[None, :] < lengths[:, None], 2.5, 7.0)  # 2.5 within the lengths, anything past
    for s in (np.full(12, 3.0), padded):
        model, history = run(X, Y, lengths, sample_weight=s)
        assert history["loss"] == plain[1]["loss"]
        for k, v in plain[0].parameters().items():
            np.testing.assert_array_equal(model.parameters()[k], v, err_msg=k)
    s = np.r_[np.zeros(4), rng.uniform(0.5, 2, size=8)]
    (both, h), (rest, h2) = run(X, Y, lengths, sample_weight=s), run(X[4:], Y[4:], lengths[4:], sample_weight=s[4:])
    assert h["loss"] == pytest.approx(h2["loss"], rel=1e-12)
    for k, v in rest.parameters().items():
        np.testing.assert_array_equal(both.parameters()[k], v, err_msg=k)


def test_sample_weights_are_refused_by_name_and_split_with_their_rows(tmp_path):
    from lstmkit.checkpoint import ResumeRefused

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(16, 5, 2)), rng.integers(0, 2, size=(16, 5))
    model = SequenceModel(2, 2, 4, seed=0)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected sample_weight None with a custom loss \(it is called loss\(out, y, mask\), "
                                         r"with no place for the weights\), got .*\. Weigh the targets in the loss itself"):
        Trainer(model, loss=lambda out, y, mask: (0.0, out * 0)).fit(X, Y, epochs=1, sample_weight=np.ones(16))
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected sample_weight shape \(16,\) or \(16, 5\) \(one weight per sequence, or per "
                                         r"step\), got shape \(15,\)\.$"):
        Trainer(model).fit(X, Y, epochs=1, sample_weight=np.ones(15))
    last = SequenceModel(2, 2, 4, head="last", seed=0)
    with pytest.raises(ValueError, match=r"^Trainer.evaluate: expected sample_weight shape \(16,\) \(one weight per sequence\), got shape \(16, 5\)\.$"):
        Trainer(last).evaluate(X, Y[:, 0], sample_weight=np.ones((16, 5)))
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected validation_data\[3\] finite values >= 0, got -1\.0 at index 2\.$"):
        Trainer(model).fit(X, Y, epochs=1, validation_data=(X[:3], Y[:3], None, [1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected validation_data\[3\] a weight > 0 for a valid target among the targets of "
                                         r"validation_data \(the loss is their weighted mean\), got 0 for each of them\.$"):
        Trainer(model).fit(X, Y, epochs=1, validation_data=(X[:3], Y[:3], [2, 2, 2], np.zeros(3)))
    for wrong, got in [([X], "a list of 1"), ((X, Y, None, None, None), "a tuple of 5"), (X, "ndarray")]:  # (the length said: 'got tuple' was)
        with pytest.raises(TypeError, match=r"^Trainer.fit: expected validation_data a tuple \(X, Y\), \(X, Y, lengths\) or \(X, Y, lengths, "
                                            rf"sample_weight\) \(lengths may be None\), got {got}\.$"):
            Trainer(model).fit(X, Y, epochs=1, validation_data=wrong)
    with pytest.raises(ValueError, match=r"^Trainer.fit: expected sample_weight a weight > 0 for a valid target among the training targets "
                                         r"times their class weights \(the loss is their weighted mean\), got 0 for each of them\.$"):
        # (class 1, of weight 1, only in row 0, of sample weight 0)
        Trainer(model, class_weight=[0.0, 1.0]).fit(X, np.eye(16, 1, dtype=int).repeat(5, 1), epochs=1, sample_weight=np.r_[0.0, np.ones(15)])
    # validation_split holds out the rows' weights with them: val_loss is evaluate's on those rows with their weights
    s = rng.uniform(0, 2, size=16)
    trainer = Trainer(SequenceModel(2, 2, 4, seed=0), seed=0, batch_size=8)
    history = trainer.fit(X, Y, epochs=1, validation_split=0.25, sample_weight=s)
    va = trainer.validation_indices
    assert history["val_loss"][-1] == trainer.evaluate(X[va], Y[va], sample_weight=s[va])["loss"] != trainer.evaluate(X[va], Y[va])["loss"]
    # a checkpoint records the weights (a digest): a resume with others, or none, is refused by name; of another scale, not
    ck = str(tmp_path / "c.npz")
    make = lambda: Trainer(SequenceModel(2, 2, 4, seed=0), seed=0, batch_size=8)  # noqa: E731
    make().fit(X, Y, epochs=1, checkpoint=ck, sample_weight=s)
    # (the digest is the training data's, checkpoint.data_fingerprint, of the weights divided by the largest)
    digest = lambda w: repr(data_fingerprint(w / w.max())["digest"])  # noqa: E731
    for other, got in ((s[::-1], digest(s[::-1])), (None, "nothing"), (np.ones(16), "nothing")):
        with pytest.raises(ResumeRefused, match=rf"was written with sample_weight {digest(s)}, got {got}\. Resume with the same"):
            make().fit(X, Y, epochs=2, checkpoint=ck, resume=True, sample_weight=other)
    resumed = make()
    # (only the ratios count: s * 4, a power of two, divides by its largest to the same weights, so the same run bit for bit)
    resumed.fit(X, Y, epochs=2, checkpoint=ck, resume=True, sample_weight=s * 4.0)
    whole = make()
    whole.fit(X, Y, epochs=2, sample_weight=s)
    for k, v in whole.model.parameters().items():
        np.testing.assert_array_equal(resumed.model.parameters()[k], v, err_msg=k)


def test_ctrl_c_inside_a_compiled_kernel_comes_out_of_inference_as_keyboard_interrupt(monkeypatch):
    # as fit's test above: numba's SystemError with the interrupt in its context, here from the kernels
    # that predict, a forward under no_grad and a backward outside fit call (the LSTM converts it where it
    # calls them); before, only fit did, and a worker's `except KeyboardInterrupt` missed the rest
    import types

    import lstmkit.backends as backends
    from lstmkit import LSTM

    def interrupted(*args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(<function _infer>) returned a result with an exception set")

    def bug(*args):
        raise SystemError("a bug, not an interrupt")

    X = np.random.default_rng(0).standard_normal((4, 5, 2))
    for layers in (1, 2):  # forward's shortcut to the kernels (one plain layer) and the general path
        model = SequenceModel(2, 2, 3, num_layers=layers, dtype=np.float64, seed=0)
        lstm = LSTM(2, 3, num_layers=layers, dtype=np.float64, seed=0)
        y, _ = lstm(X)  # a forward to back-propagate through, with the real kernels
        select, for_cache = backends.select, backends.for_cache
        for kernel in (interrupted, bug):
            fake = types.SimpleNamespace(lstm_forward=kernel, lstm_backward=kernel)
            monkeypatch.setattr(backends, "select", lambda *a, **k: fake)
            calls = [lambda: predict(model, X), lambda: lstm.no_grad()(lambda: lstm(X))()]
            if kernel is interrupted:
                for call in calls:
                    with pytest.raises(KeyboardInterrupt) as info:
                        call()
                    assert not isinstance(info.value, SystemError) and info.value.__suppress_context__
            else:  # any other SystemError is a bug, kept as it is
                for call in calls:
                    with pytest.raises(SystemError, match="a bug"):
                        call()
            monkeypatch.setattr(backends, "select", select)
        monkeypatch.setattr(backends, "for_cache", lambda cache: types.SimpleNamespace(lstm_backward=interrupted))
        with pytest.raises(KeyboardInterrupt) as info:
            lstm.backward(np.ones_like(y))
        assert info.value.__suppress_context__
        monkeypatch.setattr(backends, "for_cache", for_cache)
        assert model.training  # a SequenceModel is built in training mode; the interrupted predict put it back


def test_with_bptt_the_progress_counts_and_moves_chunk_by_chunk(monkeypatch):
    # the bar was declared ceil(N / batch_size) steps and moved once per batch: a TextGenerator's text is
    # one batch, so it sat at 0% the whole epoch and jumped to 100% at its end. With bptt a step is a
    # chunk: 2 batches (8, then 3 sequences) of T = 7 cut into chunks of 3 (3, 3, 1): 6 steps an epoch.
    # The second batch's sequences all end within 3 steps: its last two chunks are not run, and the bar
    # is moved past them at once, so it still ends full
    import lstmkit.training as training
    from lstmkit.progress import Silent

    X, Y, lengths = _regression_data(n=11)
    lengths = lengths.copy()
    lengths[8:] = [3, 1, 2]  # the second batch (shuffle=False): every sequence ends within the first chunk
    calls = []

    class Recorder(Silent):
        def start_epoch(self, epoch, epochs, steps):
            calls.append(("start", steps))

        def update(self, logs, advance=1):
            calls.append(("update", advance))

    monkeypatch.setattr(training, "make_progress", lambda verbose, stream: Recorder())
    model = SequenceModel(2, 1, 3, dtype=np.float64, seed=0)
    Trainer(model, loss="mse", batch_size=8, shuffle=False, bptt=3, seed=0).fit(X, Y, lengths, epochs=2)
    epoch = [("start", 2 * 3), ("update", 1), ("update", 1), ("update", 1), ("update", 1), ("update", 2)]
    assert calls == epoch * 2


def test_predict_batch_size_is_checked_by_name():
    # batch_size=0 was range()'s 'arg 3 must not be zero', -1 'need at least one array to concatenate', 2.5 and '8'
    # bare TypeErrors; Trainer.predict(batch_size=0) used the trainer's batch size silently (batch_size or ...)
    model = SequenceModel(2, 2, 3, dtype=np.float64, seed=0)
    X = np.random.default_rng(0).normal(size=(5, 4, 2))
    for where, call in (("predict", lambda b: predict(model, X, batch_size=b)), ("Trainer.predict", lambda b: Trainer(model).predict(X, batch_size=b))):
        for bad, exc, got in ((0, ValueError, ">= 1, got 0"), (-1, ValueError, ">= 1, got -1"), (2.5, TypeError, "an integer, got float 2.5"),
                              ("8", TypeError, "an integer, got str '8'")):  # fmt: skip
            with pytest.raises(exc, match=rf"^{where}: expected batch_size {re.escape(got)}\.$"):
                call(bad)
        np.testing.assert_array_equal(call(2), predict(model, X, batch_size=5))  # batches of 2, 2, 1: the same outputs


def test_an_on_resume_that_raises_undoes_the_resume(tmp_path):
    # a resume is a load: if on_resume fails, the trainer and its model are as they were before fit
    # (weights, optimizer and schedule state, epoch, history, generators), and a later fit without
    # resume trains as a fresh trainer does
    X, Y = counting_task(12, 5, seed=3)
    ck = str(tmp_path / "c.npz")

    def trainer():
        return Trainer(SequenceModel(2, 2, 4, dropout=0.2, num_layers=2, seed=0), batch_size=4, seed=0, schedule="step",
                       schedule_options={"step_size": 1, "gamma": 0.5})

    trainer().fit(X, Y, epochs=2, checkpoint=ck)
    t = trainer()
    weights, optim, sched = t.model.state_dict(), t.optimizer.state_dict(), t.schedule.state_dict()
    dropout, shuffle = t.model.dropout_rng.bit_generator.state, t.shuffle_rng.bit_generator.state

    def fail_on_resume(tr):
        assert tr.epoch == 2 and tr.optimizer.t > 0  # (the checkpoint was restored when it was called)
        raise RuntimeError("no terminal")

    with pytest.raises(RuntimeError, match="^no terminal$"):
        t.fit(X, Y, epochs=3, checkpoint=ck, resume=True, on_resume=fail_on_resume, validation_split=0.25)
    assert t.epoch == 0 and len(t.history) == 0 and t.best_epoch is None and t.validation_indices is None
    for k, v in weights.items():
        np.testing.assert_array_equal(t.model.parameters()[k], v, err_msg=k)
    assert t.optimizer.t == 0 and t.optimizer.lr == optim["scalars"]["lr"] and t.optimizer.state_dict()["arrays"] == {}
    assert t.schedule.state_dict() == sched
    assert t.model.dropout_rng.bit_generator.state == dropout and t.shuffle_rng.bit_generator.state == shuffle
    t.fit(X, Y, epochs=1)
    fresh = trainer()
    fresh.fit(X, Y, epochs=1)
    for k, v in fresh.model.parameters().items():
        np.testing.assert_array_equal(t.model.parameters()[k], v, err_msg=k)


@pytest.mark.parametrize("bad", [5, "log.txt", object()])
def test_a_stream_without_write_is_refused_before_training(bad):
    # it was kept as given: verbose=2 then failed at the first epoch line ('int' object has no attribute 'write'),
    # and verbose=0 took it silently
    m = lstmkit.SequenceModel(2, 2, 3, seed=0)
    with pytest.raises(TypeError, match=r"^Trainer: expected stream None \(sys\.stdout\) or a text stream with write and flush "
                                        r"methods .* without write or flush\. Pass the stream itself"):  # fmt: skip
        lstmkit.Trainer(m, stream=bad, verbose=0)
    # an estimator's refusal names its fit, as its other arguments' do (it said 'Trainer:')
    with pytest.raises(TypeError, match=r"^LSTMClassifier\.fit: expected stream None"):
        lstmkit.LSTMClassifier(hidden_size=3, epochs=1).fit(np.zeros((4, 3, 2)), [0, 1, 0, 1], stream=bad)
    with pytest.raises(TypeError, match=r"^LSTMRegressor\.fit: expected stream None"):
        lstmkit.LSTMRegressor(hidden_size=3, epochs=1).fit(np.zeros((4, 3, 2)), [0.0, 1.0, 0.0, 1.0], stream=bad)
    lstmkit.Trainer(m, stream=io.StringIO())  # a stream is taken


class _WriteOnly:  # write, no flush: each progress line is printed with flush=True
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


class _Lines(_WriteOnly):
    def flush(self):
        pass


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_a_stream_that_would_fail_at_the_first_progress_line_is_refused_before_training(verbose):
    # helper-217 #6: without flush, verbose 1 and 2 failed at the first line with a bare AttributeError
    # ('_WriteOnly' object has no attribute 'flush'); a binary stream's write takes no str
    m = lstmkit.SequenceModel(2, 2, 3, seed=0)
    with pytest.raises(TypeError, match=r"^Trainer: expected stream .* got _WriteOnly .* without flush\. Pass the stream itself, "
                                        r"e\.g\. stream=sys\.stderr, or give your object a flush method"):  # fmt: skip
        lstmkit.Trainer(m, stream=_WriteOnly(), verbose=verbose)
    for binary in (io.BytesIO(), io.BufferedWriter(io.BytesIO())):
        with pytest.raises(TypeError, match=rf"^Trainer: expected stream .*, got a binary stream, {type(binary).__name__}\. "
                                            r"Progress lines are str: pass a text stream"):  # fmt: skip
            lstmkit.Trainer(m, stream=binary, verbose=verbose)
    with pytest.raises(TypeError, match=r"^LSTMClassifier\.fit: expected stream .*, got a binary stream, BytesIO\."):
        lstmkit.LSTMClassifier(hidden_size=3, epochs=1, verbose=verbose).fit(np.zeros((4, 3, 2)), [0, 1, 0, 1], stream=io.BytesIO())
    ok = _Lines()  # any object with write and flush: its lines as sys.stdout would get them
    X, Y = np.zeros((4, 3, 2)), np.zeros((4, 3), dtype=int)
    lstmkit.Trainer(m, stream=ok, verbose=verbose, seed=0).fit(X, Y, epochs=1)
    assert ("epoch 1/1" in ok.text) == (verbose > 0)
