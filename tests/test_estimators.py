"""LSTMClassifier / LSTMRegressor: scikit-learn conventions, seed 000's task, saving, errors."""

import re
import warnings

import numpy as np
import pytest

import lstmkit
from lstmkit import LSTMClassifier, LSTMRegressor, NotFittedError
from lstmkit.io import FileFormatError


def seq_data(n=60, T=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2)).astype(np.float32)
    y = np.where(X[:, :, 0].sum(axis=1) > 0, "up", "down")
    return X, y


def test_classifier_per_sequence_string_labels():
    X, y = seq_data()
    clf = LSTMClassifier(hidden_size=8, epochs=15, seed=0)
    assert clf.fit(X, y) is clf
    assert clf.classes_.tolist() == ["down", "up"]
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(clf.predict(X)) <= {"down", "up"}
    assert clf.score(X, y) >= 0.9
    assert len(clf.history_) == 15 and clf.n_features_in_ == 2


def test_classifier_seed000_task_per_step():
    """Seed 000's task through the estimator: y (n, T), a 2-unit LSTM with the identity read-out.

    Two units have local minima: 10 of seeds 0-11 reach 100% on these data (measured; 6 ends at 99.9%, 8 at
    62%). The first of seeds 0-4 that does is taken (seed 0 at present): the task is learned, whatever the seed."""
    from lstmkit.datasets import counting_task

    X, y = counting_task(128, 8, seed=0)
    for seed in range(5):
        clf = LSTMClassifier(hidden_size=2, readout="identity", forget_bias=None, epochs=30, batch_size=16,
                             learning_rate=0.1, clip=None, seed=seed, dtype="float64").fit(X, y)  # fmt: skip
        if clf.score(X, y) == 1.0:
            break
    assert clf.per_step_ and clf.predict(X).shape == (128, 8)
    assert clf.predict_proba(X).shape == (128, 8, 2)
    assert clf.score(X, y) == 1.0


def test_same_seed_same_model_and_ragged_lists():
    X, y = seq_data(n=30)
    a = LSTMClassifier(hidden_size=4, epochs=3, seed=1).fit(X, y)
    b = LSTMClassifier(hidden_size=4, epochs=3, seed=1).fit(X, y)
    for k, v in a.model_.state_dict().items():
        assert np.array_equal(v, b.model_.state_dict()[k])
    seqs = [X[i, : 2 + i % 5] for i in range(30)]  # ragged list -> padded with lengths
    c = LSTMClassifier(hidden_size=4, epochs=2, seed=1).fit(seqs, y)
    lengths = np.array([2 + i % 5 for i in range(30)])
    np.testing.assert_array_equal(c.predict(seqs), c.predict(X, lengths))


def test_regressor_shapes_standardisation_and_r2():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5, 2))
    y = 100 + 10 * X[:, :, 0].sum(axis=1)  # large offset and scale: standardisation matters
    reg = LSTMRegressor(hidden_size=8, epochs=40, seed=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == (80,)
    assert reg.score(X, y) == pytest.approx(sklearn_metrics.r2_score(y, pred), rel=1e-12)
    assert reg.score(X, y) > 0.9
    y2 = np.stack([y, -y], axis=1)  # (n, k)
    assert LSTMRegressor(hidden_size=4, epochs=1, seed=0).fit(X, y2).predict(X).shape == (80, 2)
    ys = X[:, :, 0].cumsum(axis=1)  # per step (n, T)
    r = LSTMRegressor(hidden_size=8, epochs=30, seed=0).fit(X, ys)
    assert r.per_step_ and r.predict(X).shape == (80, 5)
    assert r.score(X, ys) == pytest.approx(sklearn_metrics.r2_score(ys.ravel(), r.predict(X).ravel()), rel=1e-12)
    assert LSTMRegressor(hidden_size=4, epochs=1, seed=0).fit(X, ys[..., None]).predict(X).shape == (80, 5, 1)
    assert LSTMRegressor(hidden_size=4, epochs=1, per_step=False, seed=0).fit(X, ys).predict(X).shape == (80, 5)


def test_sklearn_clone_get_set_params_and_cross_val_score():
    base = pytest.importorskip("sklearn.base")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = seq_data(n=40)
    clf = LSTMClassifier(hidden_size=4, epochs=2, seed=0)
    assert clf.get_params()["hidden_size"] == 4
    assert clf.set_params(epochs=3) is clf and clf.epochs == 3
    with pytest.raises(ValueError, match="set_params"):
        clf.set_params(n_units=3)
    c2 = base.clone(clf)
    assert c2.get_params() == clf.get_params() and not hasattr(c2, "model_")
    assert base.is_classifier(clf) and base.is_regressor(LSTMRegressor())
    # cross_val_score against the same folds by hand: cv=3 is StratifiedKFold(3) for a classifier and KFold(3) for a
    # regressor (no shuffle), each fold scored by an estimator built here, fitted on the other two (sklearn's clone
    # of clf must carry every parameter for the numbers to be equal)
    scores = model_selection.cross_val_score(clf, X, y, cv=3)
    folds = model_selection.StratifiedKFold(3).split(np.zeros(len(y)), y)
    assert scores.tolist() == [LSTMClassifier(hidden_size=4, epochs=3, seed=0).fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in folds]
    Xr = np.random.default_rng(0).normal(size=(30, 4, 1))
    yr = Xr.sum(axis=(1, 2))
    r2 = model_selection.cross_val_score(LSTMRegressor(hidden_size=4, epochs=2, seed=0), Xr, yr, cv=3)
    folds = model_selection.KFold(3).split(Xr)
    assert r2.tolist() == [LSTMRegressor(hidden_size=4, epochs=2, seed=0).fit(Xr[tr], yr[tr]).score(Xr[te], yr[te]) for tr, te in folds]


def test_not_fitted_error_says_to_call_fit():
    X, _ = seq_data(n=4)
    with pytest.raises(NotFittedError, match=r"Call fit\(X, y\) before predict"):
        LSTMClassifier().predict(X)
    with pytest.raises(NotFittedError, match="fit"):
        LSTMRegressor().score(X, np.zeros(4))
    # scikit-learn's NotFittedError is both, so code catching either catches lstmkit's (sklearn is not imported for it)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_set_params_after_fit_changes_neither_the_model_nor_its_file(tmp_path):
    """scikit-learn's rule: set_params takes effect at the next fit. The fitted estimator keeps predicting with its
    model, and save writes the parameters of its fit: a file that loads and says how the model was trained (it wrote
    the new ones, and hidden_size, dtype, lstm_options and class_weight made it unloadable; a batch_size "x" broke
    predict). The oracle: an estimator fitted afresh with the first fit's parameters (same seed: the same model)."""
    X, y = seq_data(n=30)
    params = dict(hidden_size=4, epochs=2, seed=0)
    fresh = LSTMClassifier(**params).fit(X, y)
    changes = ({"hidden_size": 8}, {"dtype": "float64"}, {"lstm_options": {"peephole": True}}, {"class_weight": {"up": 2.0}},
               {"epochs": 99, "learning_rate": 0.5, "seed": 7}, {"batch_size": "x"})  # fmt: skip
    for change in changes:
        clf = LSTMClassifier(**params).fit(X, y).set_params(**change)
        assert {k: clf.get_params()[k] for k in change} == change  # set, for the next fit
        np.testing.assert_array_equal(clf.predict_proba(X), fresh.predict_proba(X))
        clf.save(tmp_path / "clf.npz")
        back = lstmkit.load(tmp_path / "clf.npz")
        assert back.get_params() == LSTMClassifier(**params).get_params(), change
        np.testing.assert_array_equal(back.predict_proba(X), fresh.predict_proba(X))
    clf.set_params(batch_size=16, hidden_size=3).fit(X, y)  # the next fit takes them
    assert clf.model_.rnn.hidden_size == 3
    np.testing.assert_array_equal(clf.predict_proba(X), LSTMClassifier(**dict(params, batch_size=16, hidden_size=3)).fit(X, y).predict_proba(X))

    Xr, yr = X[:, :, :1], X.sum(axis=(1, 2))
    reg = LSTMRegressor(**params).fit(Xr, yr)
    expected = LSTMRegressor(**params).fit(Xr, yr).predict(Xr)
    reg.set_params(standardize=False, hidden_size=8).save(tmp_path / "reg.npz")  # standardize=False made it unloadable
    back = lstmkit.load(tmp_path / "reg.npz")
    assert back.get_params() == LSTMRegressor(**params).get_params()
    np.testing.assert_array_equal(back.predict(Xr), expected)
    np.testing.assert_array_equal(reg.predict(Xr), expected)


def test_fit_without_y_and_a_one_column_y_say_what_to_pass():
    X, y = seq_data(n=10)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected y labels of shape \(10,\) .*, got None\. Pass the labels"):
        LSTMClassifier(epochs=1).fit(X, None)  # it said 'got shape ()'
    with pytest.raises(ValueError, match=r"^LSTMRegressor.fit: expected y numeric targets of shape \(10,\), .*, got None\. Pass the targets"):
        LSTMRegressor(epochs=1).fit(X, None)  # it said 'got dtype object' (a TypeError)
    with pytest.raises(ValueError, match=r"validation_data: expected y labels .*, got None"):
        LSTMClassifier(epochs=1).fit(X, y, validation_data=(X, None))
    # a one-column table of labels (n, 1), as a DataFrame's df[["label"]] gives it: refused (with T = 1 it reads as a
    # label per step), saying what to pass
    fix = re.escape("got shape (10, 1). For one label per sequence from a one-column table pass y.ravel() (or the column, df['label']).")
    with pytest.raises(ValueError, match=fix):
        LSTMClassifier(epochs=1).fit(X, y[:, None])
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.score: expected y shape \(10,\), got shape \(10, 1\)\. For one label per sequence"):
        clf.score(X, y[:, None])


def test_save_and_load_roundtrip_and_errors(tmp_path):
    X, y = seq_data(n=30)
    clf = LSTMClassifier(hidden_size=4, epochs=2, seed=0, bidirectional=True).fit(X, y)
    clf.save(tmp_path / "clf.npz")
    back = lstmkit.load(tmp_path / "clf.npz")
    assert isinstance(back, LSTMClassifier) and back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.classes_.tolist() == ["down", "up"]
    ints = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, (y == "up").astype(int) + 5)
    ints.save(tmp_path / "ints.npz")
    assert LSTMClassifier.load(tmp_path / "ints.npz").classes_.tolist() == [5, 6]

    reg = LSTMRegressor(hidden_size=np.int64(3), epochs=1, seed=np.int64(0)).fit(X, X.sum(axis=(1, 2)))  # NumPy ints (grids)
    reg.save(tmp_path / "reg.npz")
    np.testing.assert_array_equal(lstmkit.load(tmp_path / "reg.npz").predict(X), reg.predict(X))
    with pytest.raises(FileFormatError, match="expected a model of kind LSTMClassifier, got LSTMRegressor"):
        LSTMClassifier.load(tmp_path / "reg.npz")
    (tmp_path / "bad.npz").write_bytes((tmp_path / "reg.npz").read_bytes()[:100])
    with pytest.raises(FileFormatError, match="not a valid lstmkit file"):
        lstmkit.load(tmp_path / "bad.npz")
    with pytest.raises(NotFittedError):
        LSTMRegressor().save(tmp_path / "x.npz")


def test_bad_input_errors_name_the_argument():
    X, y = seq_data(n=10)
    with pytest.raises(ValueError, match=r"LSTMClassifier.fit: expected X a 3-D array .* np\.asarray\(X\)\[\.\.\., None\]"):
        LSTMClassifier().fit(X[:, :, 0], y)
    with pytest.raises(ValueError, match="expected y shape"):
        LSTMClassifier().fit(X, y[:5])
    with pytest.raises(ValueError, match="at least 2 distinct classes"):
        LSTMClassifier().fit(X, np.zeros(10))
    Xn = X.copy()
    Xn[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"expected X finite values, got nan at index \(1, 2, 0\)"):
        LSTMClassifier().fit(Xn, y)
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y)
    with pytest.raises(ValueError, match="expected X 2 features"):
        clf.predict(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="readout"):
        LSTMClassifier(hidden_size=3, readout="identity", epochs=1).fit(X, y)


def test_fit_with_checkpoint_resumes_to_the_same_model(tmp_path):
    X, y = seq_data(n=30)
    straight = LSTMClassifier(hidden_size=4, epochs=4, dropout=0.0, validation_split=0.2, seed=3).fit(X, y)
    path = tmp_path / "ck.npz"
    LSTMClassifier(hidden_size=4, epochs=2, validation_split=0.2, seed=3).fit(X, y, checkpoint=path)
    resumed = LSTMClassifier(hidden_size=4, epochs=4, validation_split=0.2, seed=3).fit(X, y, checkpoint=path, resume=True)
    for k, v in straight.model_.state_dict().items():
        assert np.array_equal(v, resumed.model_.state_dict()[k]), k
    assert len(resumed.history_) == 4


@pytest.mark.parametrize("cls", [LSTMClassifier, LSTMRegressor])
def test_fit_passes_on_resume_to_its_trainer(cls, tmp_path):
    # on_resume(trainer) once a resume goes ahead, with the checkpoint's epochs done; not on a fresh start
    X, y = seq_data(n=12)
    y = y if cls is LSTMClassifier else X[:, :, 0].sum(axis=1)
    path, seen = tmp_path / "ck.npz", []
    cls(hidden_size=2, epochs=1, seed=0).fit(X, y, checkpoint=path, resume=True, on_resume=lambda t: seen.append(t.epoch))
    assert seen == []
    cls(hidden_size=2, epochs=2, seed=0).fit(X, y, checkpoint=path, resume=True, on_resume=lambda t: seen.append(t.epoch))
    assert seen == [1]


def test_the_rows_validation_split_holds_out_are_recorded_saved_and_kept_by_a_resume(tmp_path):
    # validation_indices_: the rows the val_* of history_ score ('lstmkit train' drew them again with a copy of
    # the Trainer's draw); None without a split or with validation_data
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=30)
    clf = LSTMClassifier(hidden_size=4, epochs=2, validation_split=0.2, seed=3).fit(X, y)
    rows = clf.validation_indices_
    assert rows.dtype == np.int64 and len(rows) == 6 and (np.diff(rows) > 0).all() and 0 <= rows[0] and rows[-1] < 30  # 30 * 0.2
    assert clf.score(X[rows], y[rows]) == clf.history_.epochs[-1]["val_accuracy"]  # k/6 both
    t = X.sum(axis=(1, 2))
    reg = LSTMRegressor(hidden_size=3, epochs=1, validation_split=0.5, seed=0).fit(X, t)
    r = reg.validation_indices_
    assert len(r) == 15  # val_mae is in y's units: |ŷ - y| on those rows
    np.testing.assert_allclose(np.abs(reg.predict(X[r]) - t[r]).mean(), reg.history_.epochs[-1]["val_mae"], rtol=1e-5)
    assert LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y).validation_indices_ is None
    assert LSTMClassifier(hidden_size=3, epochs=1, validation_split=0.2, seed=0).fit(X, y, validation_data=(X, y)).validation_indices_ is None
    clf.save(tmp_path / "c.npz")
    np.testing.assert_array_equal(lstmkit.load(tmp_path / "c.npz").validation_indices_, rows)
    mf = read_model(tmp_path / "c.npz")
    for bad in ([5, 3], [-1, 2], [2.0], []):
        save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, validation_indices=bad))
        with pytest.raises(FileFormatError, match=rf"^.*bad.npz: expected validation_indices None or distinct rows >= 0 in ascending order .*, got {re.escape(repr(bad))}\.$"):
            lstmkit.load(tmp_path / "bad.npz")
    save_model(tmp_path / "bad.npz", mf.kind, dict(mf.config, validation_split=0.0), mf.arrays, mf.extra)
    with pytest.raises(FileFormatError, match=r"bad.npz: expected validation_indices None with validation_split=0.0 \(no rows held out\)"):
        lstmkit.load(tmp_path / "bad.npz")
    # unseeded and resumed: the resumed run takes the checkpoint's seed, and so its rows
    path = tmp_path / "ck.npz"
    first = LSTMClassifier(hidden_size=4, epochs=1, validation_split=0.2).fit(X, y, checkpoint=path)
    resumed = LSTMClassifier(hidden_size=4, epochs=2, validation_split=0.2).fit(X, y, checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.validation_indices_, first.validation_indices_)
    rows = resumed.validation_indices_
    assert resumed.score(X[rows], y[rows]) == resumed.history_.epochs[-1]["val_accuracy"]


def test_load_refuses_a_config_that_disagrees_with_the_weights(tmp_path):
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=10)
    LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y).save(tmp_path / "m.npz")
    mf = read_model(tmp_path / "m.npz")
    extra = dict(mf.extra, model_config=dict(mf.extra["model_config"], hidden_size=10**7))
    save_model(tmp_path / "evil.npz", mf.kind, mf.config, mf.arrays, extra)
    # modelfile's one rule, as for a SequenceModel's or an LSTM's file (test_modelfile), before allocating 4e7 rows
    with pytest.raises(FileFormatError, match=r"evil\.npz: expected model config hidden_size = 3 \(from the weights' shapes\), got 10000000\. "):
        lstmkit.load(tmp_path / "evil.npz")


@pytest.mark.parametrize(
    "field,value,expected",
    [
        ("seed", "x", "seed None, an integer >= 0 or a numpy.random.Generator, got str 'x'"),
        ("seed", 1.5, "seed None, an integer >= 0 or a numpy.random.Generator, got float 1.5"),
        ("seed", -1, "seed None, an integer >= 0 or a numpy.random.Generator, got int -1"),  # SeedSequence refuses it
        ("seed", True, "seed None, an integer >= 0 or a numpy.random.Generator, got bool True"),
        ("verbose", "x", "verbose 0, 1 or 2, got str 'x'"),
        ("verbose", None, "verbose 0, 1 or 2, got NoneType None"),
        ("epochs", "50", "epochs an integer, got str '50'"),  # an existing check, the same path
    ],
)
def test_load_checks_the_hyper_parameters_as_fit_does(tmp_path, field, value, expected):
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=10)
    for cls, target in ((LSTMClassifier, y), (LSTMRegressor, X[:, -1, 0])):
        cls(hidden_size=3, epochs=1, seed=0).fit(X, target).save(tmp_path / "m.npz")
        mf = read_model(tmp_path / "m.npz")
        save_model(tmp_path / "bad.npz", mf.kind, dict(mf.config, **{field: value}), mf.arrays, mf.extra)
        with pytest.raises(FileFormatError, match=rf"bad.npz: expected a valid {cls.__name__} model file, .*\({cls.__name__}: expected {re.escape(expected)}\.\)"):
            lstmkit.load(tmp_path / "bad.npz")
        exc = ValueError if (field, value) == ("seed", -1) else TypeError  # (a negative integer: out of range)
        with pytest.raises(exc, match=rf"^{cls.__name__}: expected {re.escape(expected)}\.$"):  # fit's words
            cls(hidden_size=3, **{field: value}).fit(X, target)


def test_a_files_history_and_unstandardized_scaling_are_checked_at_load_as_fit_makes_them(tmp_path):
    # each edit loaded without a word (audit finding 8): history_ held a string, a list, a bool or a 400-digit
    # integer as a logged value, or epoch 7 first; and a regressor fitted with standardize=False, whose y_mean and
    # y_scale fit makes 0 and 1 (np.zeros, np.ones), took a file's 0.5 and 1e308 (every prediction inf) as its own
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=10)
    LSTMRegressor(hidden_size=3, epochs=2, seed=0, standardize=False).fit(X, np.stack([X[:, -1, 0], X[:, 0, 1]], axis=1)).save(tmp_path / "r.npz")
    mf = read_model(tmp_path / "r.npz")
    assert (mf.extra["y_mean"], mf.extra["y_scale"]) == ([0.0, 0.0], [1.0, 1.0])

    def edited(config=mf.config, **changes):
        save_model(tmp_path / "e.npz", mf.kind, config, mf.arrays, {**mf.extra, **changes})
        return tmp_path / "e.npz"

    def at_epoch(i, **changes):  # the history with epoch i's logs changed
        return [dict(logs, **changes) if j == i else logs for j, logs in enumerate(mf.extra["history"])]

    e = re.escape(str(tmp_path / "e.npz"))
    for changes, message in [
        (dict(history=at_epoch(1, loss="0.5")), r"history\[1\]\['loss'\] a finite number or null \(a value fit logged\), got '0\.5'"),
        (dict(history=at_epoch(0, mae=[])), r"history\[0\]\['mae'\] a finite number or null .*, got \[\]"),
        (dict(history=at_epoch(1, lr=True)), r"history\[1\]\['lr'\] a finite number or null .*, got True"),
        (dict(history=at_epoch(0, time=10**400)), r"history\[0\]\['time'\] a finite number or null .*, got 1000000000"),
        (dict(history=at_epoch(0, epoch=7)), r"history\[0\]\['epoch'\] 1 \(the epochs are counted from 1\), got 7"),
        (dict(history=at_epoch(1, epoch=2.0)), r"history\[1\]\['epoch'\] 2 \(the epochs are counted from 1\), got 2\.0"),
        (dict(y_mean=[0.0, 0.5]), r"y_mean 0\.0 for every output \(the regressor does not standardize: standardize false\), got 0\.5 at index 1"),
        (dict(y_scale=[1e308, 1.0]), r"y_scale 1\.0 for every output \(the regressor does not standardize: standardize false\), got 1e\+308 at index 0"),
    ]:
        with pytest.raises(FileFormatError, match=rf"^{e}: expected {message}"):
            LSTMRegressor.load(edited(**changes))
    # null (a metric that counted nothing) and the largest float load; so do another mean and scale with standardize=True
    back = LSTMRegressor.load(edited(history=at_epoch(1, val_loss=None, loss=1.7976931348623157e308)))
    assert back.history_["val_loss"] == [None] and back.history_["loss"][1] == 1.7976931348623157e308
    back = LSTMRegressor.load(edited(config=dict(mf.config, standardize=True), y_mean=[0.0, 0.5], y_scale=[1.0, 2.0]))
    np.testing.assert_array_equal(back.y_scale_, [1.0, 2.0])


def test_feature_names_are_saved_checked_and_dropped_by_a_refit(tmp_path):
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=10)
    X = X[:, :, :2]
    est = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y)
    assert not hasattr(est, "feature_names_in_")  # arrays carry no names
    est.feature_names_in_ = np.array(["price", "volume"], dtype=object)  # as 'lstmkit train' sets them from a CSV
    est.save(tmp_path / "m.npz")
    assert lstmkit.load(tmp_path / "m.npz").feature_names_in_.tolist() == ["price", "volume"]
    est.fit(X, y)
    assert not hasattr(est, "feature_names_in_")  # a refit on arrays: the old names no longer describe X
    mf = read_model(tmp_path / "m.npz")
    save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, feature_names_in=["price"]))
    with pytest.raises(FileFormatError, match=r"bad.npz: expected feature_names_in 2 column names \(one per feature, n_features_in\), got \[.price.\]\."):
        lstmkit.load(tmp_path / "bad.npz")


def test_step_columns_are_saved_checked_and_dropped_by_a_refit(tmp_path):
    # a wide CSV's columns, one step each ('lstmkit train' sets them): saved, checked, gone after a refit
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=10)
    X = X[:, :, :1]
    est = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y)
    est.step_columns_in_ = np.array(["jan", "feb", "mar"], dtype=object)
    est.save(tmp_path / "m.npz")
    assert lstmkit.load(tmp_path / "m.npz").step_columns_in_.tolist() == ["jan", "feb", "mar"]
    est.fit(X, y)
    assert not hasattr(est, "step_columns_in_")
    mf = read_model(tmp_path / "m.npz")
    save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, step_columns_in=[]))
    with pytest.raises(FileFormatError, match=r"bad.npz: expected step_columns_in column names .*, got \[\]\."):
        lstmkit.load(tmp_path / "bad.npz")


@pytest.mark.parametrize(
    "opts",
    [
        dict(cell="rnn", num_layers=2),
        dict(bidirectional=True, dropout=0.2, num_layers=2),
        dict(lstm_options={"proj_size": 2}, optimizer="rmsprop"),
        dict(optimizer="sgd", learning_rate=0.1, patience=2, validation_split=0.25),
        dict(dtype="float64", optimizer="adamw", weight_decay=0.01),
    ],
)
def test_hyper_parameters_reach_the_model_and_survive_save(tmp_path, opts):
    X, y = seq_data(n=24)
    clf = LSTMClassifier(hidden_size=4, epochs=3, batch_size=8, seed=0, **opts).fit(X, y)
    cfg = clf.model_.config()
    for k in ("cell", "num_layers", "bidirectional", "dropout", "lstm_options"):
        if k in opts:
            assert cfg[k] == opts[k]
    if "dtype" in opts:
        assert clf.model_.dtype == np.float64
    clf.save(tmp_path / "m.npz")
    np.testing.assert_array_equal(lstmkit.load(tmp_path / "m.npz").predict_proba(X), clf.predict_proba(X))


def test_per_step_padding_labels_are_ignored():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 5, 2))
    lengths = rng.integers(2, 6, size=20)
    y = np.where(X[..., 0] > 0, "hi", "lo").astype(object)
    y[np.arange(5)[None] >= lengths[:, None]] = "<pad>"  # any value past the end
    clf = LSTMClassifier(hidden_size=4, epochs=2, seed=0).fit(X, y, lengths)
    assert clf.classes_.tolist() == ["hi", "lo"]
    assert 0 <= clf.score(X, y, lengths) <= 1


def test_per_step_predictions_past_a_sequence_s_length_are_no_predictions():
    # they held what the model makes of no input, undocumented: a probability, a label or a number like
    # any other; now NaN, and for labels padding_value, -1 for integer labels. Oracle: each sequence
    # run alone, without padding
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 5, 2))
    lengths = np.array([5, 3, 2, 5, 1, 4, 2, 5])
    pad = np.arange(5)[None] >= lengths[:, None]  # (8, 5): the steps past each length
    y = (X[..., 0] > 0).astype(np.int64)
    clf = LSTMClassifier(hidden_size=3, epochs=2, seed=0, dtype="float64").fit(X, y, lengths)
    proba, pred = clf.predict_proba(X, lengths), clf.predict(X, lengths)
    assert proba.shape == (8, 5, 2) and np.isnan(proba[pad]).all() and not np.isnan(proba[~pad]).any()
    assert pred.dtype == np.int64 and (pred[pad] == -1).all() and np.isin(pred[~pad], [0, 1]).all()
    for i, n in enumerate(lengths):  # within its length, a sequence's own predictions
        np.testing.assert_allclose(proba[i, :n], clf.predict_proba(X[i : i + 1, :n])[0], rtol=1e-12, err_msg=str(i))
        np.testing.assert_array_equal(pred[i, :n], clf.predict(X[i : i + 1, :n])[0], err_msg=str(i))
    seqs = [X[i, :n] for i, n in enumerate(lengths)]  # a list of sequences: its lengths, the same padding
    np.testing.assert_array_equal(clf.predict(seqs), pred)
    assert clf.score(X, y, lengths) == np.mean(pred[~pad] == y[~pad])  # the padding is not scored
    assert clf.predict(X).dtype == np.int64 and not (clf.predict(X) == -1).any()  # no lengths: nothing padded
    np.testing.assert_array_equal(clf.predict(X, lengths, padding_value=9)[pad], 9)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.predict: expected padding_value a value that is no class \(classes_ \[0, 1\]\), got 1\. A padded"):
        clf.predict(X, lengths, padding_value=1)

    t = X[..., 0] + X[..., 1]
    reg = LSTMRegressor(hidden_size=3, epochs=2, seed=0, dtype="float64").fit(X, t, lengths)
    out = reg.predict(X, lengths)
    assert out.shape == (8, 5) and np.isnan(out[pad]).all() and not np.isnan(out[~pad]).any()
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(out[i, :n], reg.predict(X[i : i + 1, :n])[0], rtol=1e-12, err_msg=str(i))
    r2 = 1 - ((t - out)[~pad] ** 2).sum() / ((t[~pad] - t[~pad].mean()) ** 2).sum()  # over the valid steps only
    assert reg.score(X, t, lengths) == pytest.approx(r2, rel=1e-12)
    per_sequence = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X, t.sum(axis=1), lengths)
    assert not np.isnan(per_sequence.predict(X, lengths)).any()  # one prediction per sequence: none padded


@pytest.mark.parametrize(
    "labels, padding, dtype",
    [
        (["lo", "hi"], "", np.dtype("<U2")),  # strings: the empty string
        ([0.0, 1.0], np.nan, np.dtype(np.float64)),  # whole floats: NaN
        ([-1, 1], None, np.dtype(object)),  # -1 is a class: None
        (["", "x"], None, np.dtype(object)),  # "" is a class: None
        ([False, True], None, np.dtype(object)),  # bools have no third value
        (np.array([0, 1], dtype=np.uint8), -1, np.dtype(np.int64)),  # unsigned: widened to hold -1
    ],
)
def test_per_step_label_padding_is_no_class_of_the_labels_kind(labels, padding, dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 4, 2))
    lengths = np.array([4, 2, 3, 1] * 3)
    pad = np.arange(4)[None] >= lengths[:, None]
    y = np.asarray(labels)[(X[..., 0] > 0).astype(int)]
    clf = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y, lengths)
    pred = clf.predict(X, lengths)
    assert pred.dtype == dtype, pred.dtype
    if isinstance(padding, float):
        assert np.isnan(pred[pad]).all()
    else:
        assert pred[pad].tolist() == [padding] * int(pad.sum())
    assert set(pred[~pad].tolist()) <= set(np.asarray(labels).tolist())
    if labels[0] == "lo":  # a value given: the labels' kind widened to hold it, or dtype object for another kind
        given = clf.predict(X, lengths, padding_value="<pad>")
        assert given.dtype == np.dtype("<U5") and set(given[pad].tolist()) == {"<pad>"}
        given = clf.predict(X, lengths, padding_value=-1)
        assert given.dtype == object and set(given[pad].tolist()) == {-1} and set(given[~pad].tolist()) <= {"lo", "hi"}


def test_grid_search_over_3d_inputs():
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = seq_data(n=30)
    gs = model_selection.GridSearchCV(LSTMClassifier(epochs=2, seed=0), {"hidden_size": [2, 4]}, cv=2)
    gs.fit(X, y)
    assert gs.best_params_["hidden_size"] in (2, 4) and gs.predict(X).shape == (30,)


def test_failed_save_keeps_the_previous_model_file(tmp_path, monkeypatch):
    from lstmkit import io as lio

    X, y = seq_data(n=10)
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y)
    path = tmp_path / "m.npz"
    clf.save(path)
    before = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(lio.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        LSTMClassifier(hidden_size=3, epochs=1, seed=1).fit(X, y).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    np.testing.assert_array_equal(lstmkit.load(path).predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "params,message",
    [
        (dict(hidden_size=0), "LSTMClassifier: expected hidden_size >= 1, got 0"),
        (dict(epochs=2.5), "LSTMClassifier: expected epochs an integer"),
        (dict(optimizer="adagrad"), r"^LSTMClassifier: expected optimizer one of \['sgd', 'adam', 'adamw', 'rmsprop'\], got 'adagrad'\.$"),
        (dict(optimizer=None), r"^LSTMClassifier: expected optimizer one of \['sgd', 'adam', 'adamw', 'rmsprop'\], got None\.$"),
        (dict(learning_rate=-1), r"^LSTMClassifier: expected learning_rate a finite number > 0, got -1\.$"),
        (dict(learning_rate=float("inf")), r"^LSTMClassifier: expected learning_rate a finite number > 0, got inf\.$"),  # not Adam's words
        (dict(learning_rate="0.1"), r"^LSTMClassifier: expected learning_rate a finite number > 0, got '0.1'\.$"),
        (dict(dropout=1.0), r"^LSTMClassifier: expected dropout a finite number in \[0, 1\), got 1.0\.$"),
        (dict(validation_split=float("nan")), r"^LSTMClassifier: expected validation_split a finite number in \[0, 1\), got nan\.$"),
        (dict(weight_decay=float("inf")), r"^LSTMClassifier: expected weight_decay a finite number >= 0, got inf\.$"),  # not Adam's words
        (dict(weight_decay=-0.1), r"^LSTMClassifier: expected weight_decay a finite number >= 0, got -0.1\.$"),
        (dict(forget_bias=float("inf")), r"^LSTMClassifier: expected forget_bias None or a finite number, got inf\.$"),
        (dict(forget_bias="1"), r"^LSTMClassifier: expected forget_bias None or a finite number, got '1'\.$"),
        (dict(clip=0), r"^LSTMClassifier: expected clip None or a finite number > 0, got 0\.$"),
        (dict(clip=float("inf")), r"^LSTMClassifier: expected clip None or a finite number > 0, got inf\.$"),  # fitted, then save failed
        (dict(clip=True), r"^LSTMClassifier: expected clip None or a finite number > 0, got True\.$"),
        (dict(cell="gru"), "LSTMClassifier: expected cell one of"),
        (dict(dtype="float16"), "LSTMClassifier: expected dtype"),
    ],
)
def test_bad_hyper_parameters_fail_before_training(params, message):
    X, y = seq_data(n=6)
    with pytest.raises((ValueError, TypeError), match=message):
        LSTMClassifier(**params).fit(X, y)


@pytest.mark.parametrize("name", ["learning_rate", "dropout", "validation_split", "weight_decay", "forget_bias"])
@pytest.mark.parametrize("bad", ["0.1", True, [0.1]])
def test_hyper_parameter_that_is_no_number_is_a_type_error(name, bad):
    # as clip's: a number out of range is a ValueError, anything else (a bool too) a TypeError
    with pytest.raises(TypeError, match=rf"^LSTMRegressor: expected {name} (None or )?a finite number.*, got {re.escape(repr(bad))}\.$"):
        LSTMRegressor(**{name: bad}).fit(np.zeros((6, 3, 2)), np.zeros(6))



@pytest.mark.parametrize(
    "options",
    [
        {"peephole": True, "layer_norm": True},
        {"input_forget": True, "cell_clip": 3.0, "activations": ["sigmoid", "tanh", "tanh"]},
        {"dropout_recurrent": 0.2, "zoneout_cell": 0.1, "dropconnect": 0.1},
    ],
)
def test_lstm_variants_pass_through_train_and_survive_save(tmp_path, options):
    X, y = seq_data(n=24)
    clf = LSTMClassifier(hidden_size=4, epochs=2, batch_size=8, seed=0, lstm_options=options).fit(X, y)
    same = LSTMClassifier(hidden_size=4, epochs=2, batch_size=8, seed=0, lstm_options=options).fit(X, y)
    for k, v in clf.model_.state_dict().items():
        assert np.array_equal(v, same.model_.state_dict()[k]), k  # regularisers' masks are seeded too
    for k, v in options.items():
        got = getattr(clf.model_.rnn, k)
        assert (list(got) if isinstance(got, tuple) else got) == v
    if options.get("peephole"):
        assert "rnn.weight_ci_l0" in clf.model_.state_dict() and "rnn.ln_weight_c_l0" in clf.model_.state_dict()
    clf.save(tmp_path / "v.npz")
    back = lstmkit.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_validation_data_is_encoded_like_the_training_targets():
    X, y = seq_data(n=40)
    Xv, yv = seq_data(n=20, seed=1)
    clf = LSTMClassifier(hidden_size=4, epochs=3, seed=0).fit(X, y, validation_data=(Xv, yv))
    assert len(clf.history_["val_accuracy"]) == 3
    # val_accuracy is the accuracy of the weights after each epoch: the last equals score()
    assert clf.history_["val_accuracy"][-1] == pytest.approx(clf.score(Xv, yv), abs=1e-12)
    with pytest.raises(ValueError, match=r"validation_data: expected y labels seen at fit \['down', 'up'\], got unseen labels \['sideways'\]"):
        LSTMClassifier(epochs=1).fit(X, y, validation_data=(Xv, np.where(yv == "up", "sideways", yv)))
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(30, 4, 1))
    yr = 50 + 10 * Xr.sum(axis=(1, 2))
    reg = LSTMRegressor(hidden_size=4, epochs=2, seed=0).fit(Xr[:20], yr[:20], validation_data=(Xr[20:], yr[20:]))
    # val_loss is the MSE in standardised units of the training targets
    pred = reg.predict(Xr[20:])
    expected = np.mean(((pred - yr[20:]) / reg.y_scale_[0]) ** 2)
    assert reg.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="validation_data: expected y the layout of the training targets"):
        LSTMRegressor(epochs=1).fit(Xr, yr, validation_data=(Xr, np.stack([yr, yr], 1)))


#: every option lstm_options accepts for the LSTM, at once (one-step variants, regularisers, projection)
ALL_OPTIONS = {
    "peephole": True, "input_forget": True, "gate_clip": 4.0, "cell_clip": 3.0,
    "activations": [["leaky_relu", 0.1], "softsign", "tanh"], "layer_norm": True, "proj_size": 2, "bias": True,
    "dropout_input": 0.1, "dropout_recurrent": 0.2, "zoneout_cell": 0.1, "zoneout_hidden": 0.05, "dropconnect": 0.1,
}  # fmt: skip


def _assert_lstm_has(rnn, options):
    for k, v in options.items():
        got = getattr(rnn, k)
        if k == "activations":  # stored as specs: names or (name, alpha[, beta]) tuples
            got = [list(a) if isinstance(a, tuple) else a for a in got]
        assert got == v, k


def test_every_lstm_option_through_every_estimator_fit_predict_save_load(tmp_path):
    from sklearn.base import clone

    from lstmkit import LSTMForecaster, TextGenerator

    X, y = seq_data(n=16)
    opts = dict(ALL_OPTIONS)
    models = {
        "clf": LSTMClassifier(hidden_size=4, epochs=1, batch_size=8, seed=0, lstm_options=opts).fit(X, y),
        "reg": LSTMRegressor(hidden_size=4, epochs=1, batch_size=8, seed=0, lstm_options=opts).fit(X, X[:, :, 0].sum(1)),
        "fc": LSTMForecaster(window=4, hidden_size=4, epochs=1, lstm_options=opts).fit(np.sin(np.arange(30.0))),
        "gen": TextGenerator(hidden_size=4, seq_len=5, batch_size=2, lstm_options=opts).fit("abcabcabcabcabcabc"),
    }
    for name, m in models.items():
        assert clone(m).get_params()["lstm_options"] == opts, name
        rnn = (m.regressor_ if name == "fc" else m).model_.rnn
        _assert_lstm_has(rnn, opts)
        m.save(tmp_path / f"{name}.npz")
        back = lstmkit.load(tmp_path / f"{name}.npz")
        _assert_lstm_has((back.regressor_ if name == "fc" else back).model_.rnn, opts)
    # the loaded models predict what the fitted ones do (eval mode: no dropout, zoneout's expectation)
    for name, call in {"clf": lambda m: m.predict_proba(X), "reg": lambda m: m.predict(X),
                       "fc": lambda m: m.predict(3), "gen": lambda m: m.perplexity("abcab")}.items():
        np.testing.assert_array_equal(call(lstmkit.load(tmp_path / f"{name}.npz")), call(models[name]), err_msg=name)


@pytest.mark.parametrize("est", ["LSTMClassifier", "LSTMRegressor", "LSTMForecaster", "TextGenerator"])
def test_unknown_or_bad_lstm_option_is_named_before_training(est):
    cls = getattr(lstmkit, est)
    data = {"LSTMForecaster": (np.arange(40.0),), "TextGenerator": ("ab" * 200,)}.get(est, seq_data(n=6))
    with pytest.raises(TypeError, match=rf"{est}: expected lstm_options keys among \[.*'peephole'.*\] for cell='lstm', "
                                        r"got unknown \['peeophole'\]. Did you mean 'peephole'\?"):
        cls(lstm_options={"peeophole": True}).fit(*data)
    with pytest.raises(ValueError, match=rf"{est} lstm_options: expected zoneout_cell a finite number in \[0, 1\), got 1.5"):
        cls(lstm_options={"zoneout_cell": 1.5}).fit(*data)
    with pytest.raises(TypeError, match=f"{est}: expected lstm_options None or a dict"):
        cls(lstm_options=["peephole"]).fit(*data)


def test_not_fitted_message_reads_as_one_sentence():
    # the template "<where>: expected <arg> <what>, got <actual>. <fix>" with nothing left blank
    X, _ = seq_data(n=2)
    for est, method, call in [
        (LSTMClassifier(), "predict", lambda e: e.predict(X)),
        (LSTMClassifier(), "predict_proba", lambda e: e.predict_proba(X)),
        (LSTMRegressor(), "score", lambda e: e.score(X, np.zeros(2))),
    ]:
        with pytest.raises(NotFittedError) as info:
            call(est)
        name = type(est).__name__
        assert str(info.value) == (
            f"{name}.{method}: expected a fitted estimator, got one that was never fitted. Call fit(X, y) before {method}()."
        )


def test_errors_name_the_method_the_user_called():
    X, y = seq_data(n=10)
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y)
    wrong = np.zeros((2, 3, 5))  # 5 features, the model was fitted on 2
    for method, call in [("predict", lambda: clf.predict(wrong)), ("predict_proba", lambda: clf.predict_proba(wrong)),
                         ("score", lambda: clf.score(wrong, ["up", "up"]))]:  # fmt: skip
        with pytest.raises(ValueError, match=rf"^LSTMClassifier\.{method}: expected X 2 features \(as in fit\), got 5\."):
            call()
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.predict: expected lengths"):
        clf.predict(X, lengths=np.full(10, 99))


def _ragged(seed=0, lengths=(3, 5, 4, 2, 5, 1)):
    rng = np.random.default_rng(seed)
    seqs = [rng.normal(size=(n, 2)).astype(np.float32) for n in lengths]
    return seqs, np.array(lengths)


def test_ragged_per_step_labels_are_padded_like_x():
    seqs, lengths = _ragged()
    ys = [np.where(s[:, 0] > 0, "hi", "lo") for s in seqs]  # one label per step of each sequence
    X = np.zeros((6, 5, 2), np.float32)  # the same data padded by hand, with its lengths
    Y = np.full((6, 5), "lo", dtype=object)
    for i, (s, yi) in enumerate(zip(seqs, ys)):
        X[i, : len(s)], Y[i, : len(s)] = s, yi
    a = LSTMClassifier(hidden_size=3, epochs=2, batch_size=4, seed=0).fit(seqs, ys, validation_data=(seqs, ys))
    b = LSTMClassifier(hidden_size=3, epochs=2, batch_size=4, seed=0).fit(X, Y, lengths, validation_data=(X, Y, lengths))
    assert a.per_step_ and a.classes_.tolist() == ["hi", "lo"]
    for k, v in a.model_.state_dict().items():
        np.testing.assert_array_equal(v, b.model_.state_dict()[k], err_msg=k)
    pred = a.predict(seqs)  # (6, 5): the steps past each length are padding
    hits = sum(int((pred[i, : len(yi)] == yi).sum()) for i, yi in enumerate(ys))
    assert a.score(seqs, ys) == hits / lengths.sum()  # accuracy over the 20 valid steps
    assert a.score(X, ys, lengths) == a.score(seqs, ys)  # an array X with lengths takes a ragged y too
    with pytest.raises(ValueError) as info:
        LSTMClassifier(epochs=1).fit(seqs, ys[:2] + [ys[2][:3]] + ys[3:])
    assert str(info.value) == "LSTMClassifier.fit: expected y[2] 4 labels (one per step of sequence 2 of X), got 3."
    with pytest.raises(ValueError, match=r"^LSTMClassifier.score: expected y\[1\] 5 labels \(one per step of sequence 1 of X\), got 4\."):
        a.score(seqs, [ys[0], ys[1][:4]] + ys[2:])
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected y 6 sequences of labels \(one per sequence of X\), got 5\."):
        LSTMClassifier(epochs=1).fit(seqs, ys[:5])


def test_ragged_per_step_targets_for_the_regressor():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    seqs, lengths = _ragged(seed=1)
    ys = [np.cumsum(s[:, 0]) for s in seqs]  # (T_i,)
    r = LSTMRegressor(hidden_size=3, epochs=2, batch_size=4, seed=0).fit(seqs, ys)
    assert r.per_step_ and r.predict(seqs).shape == (6, 5)
    pred = r.predict(seqs)
    flat_pred = np.concatenate([pred[i, :n] for i, n in enumerate(lengths)])
    assert r.score(seqs, ys) == pytest.approx(sklearn_metrics.r2_score(np.concatenate(ys), flat_pred), rel=1e-12)
    yk = [np.stack([y, -2 * y], axis=1) for y in ys]  # (T_i, 2)
    rk = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(seqs, yk, validation_data=(seqs, yk))
    assert rk.predict(seqs).shape == (6, 5, 2) and len(rk.history_["val_loss"]) == 1
    with pytest.raises(ValueError, match=r"^LSTMRegressor.fit: expected y\[3\] 2 targets \(one per step of sequence 3 of X\), got 3\."):
        LSTMRegressor(epochs=1).fit(seqs, ys[:3] + [np.zeros(3)] + ys[4:])
    with pytest.raises(ValueError, match=r"^LSTMRegressor.fit: expected y\[1\] shape \(5, 2\) \(as y\[0\]'s \(2,\) per step\), got shape \(5, 3\)"):
        LSTMRegressor(epochs=1).fit(seqs, [yk[0], np.zeros((5, 3))] + yk[2:])
    with pytest.raises(ValueError, match="expected y one row of targets per sequence with per_step=False"):
        LSTMRegressor(epochs=1, per_step=False).fit(seqs, ys)


def test_training_record_survives_save_and_load(tmp_path):
    X, y = seq_data(n=24)
    clf = LSTMClassifier(hidden_size=3, epochs=3, batch_size=8, seed=0).fit(X, y)
    clf.save(tmp_path / "c.npz")
    back = lstmkit.load(tmp_path / "c.npz")
    assert back.n_epochs_ == 3 == len(back.history_)
    losses = back.history_["loss"]  # without validation data the best epoch is the lowest training loss
    assert back.best_epoch_ == 1 + int(np.argmin(losses)) == clf.best_epoch_
    # the file keeps each epoch's logs but its time (the seconds it took, different on every run: determinism audit #3)
    assert "time" in clf.history_.epochs[0]
    assert back.history_.epochs == [{k: v for k, v in e.items() if k != "time"} for e in clf.history_.epochs]
    early = LSTMRegressor(hidden_size=3, epochs=0, seed=0).fit(X, X.sum(axis=(1, 2)))  # no epoch run: no best epoch
    early.save(tmp_path / "r.npz")
    back = lstmkit.load(tmp_path / "r.npz")
    assert (back.n_epochs_, back.best_epoch_, len(back.history_)) == (0, None, 0)


def test_a_list_of_1d_sequences_is_refused_with_the_fix():
    seqs = [np.arange(n, dtype=float) for n in (3, 5, 4)]
    with pytest.raises(ValueError, match=r"expected X a list of 2-D sequences .*, got 1-D sequences \(lengths 3 to 5\)\. For one feature per step use \[s\[:, None\] for s in X\]\."):
        LSTMClassifier(epochs=1).fit(seqs, [0, 1, 0])


# -- the stress test's defects ------------------------------------------------------------------
def stress_data():
    """The stress test's X (40, 6, 3) and a label per sequence that depends on it."""
    X = np.random.default_rng(0).normal(size=(40, 6, 3))
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(int)


def test_no_samples_or_no_time_steps_are_refused_by_fit_predict_and_score():
    # scikit-learn's check_array refuses 0 samples ("minimum of 1 is required") in fit and predict
    # alike; the estimators do the same with lstmkit's template (before: NumPy's "need at least one
    # array to concatenate" from predict, and "range() arg 3 must not be zero" from fit with T = 0)
    X, y = stress_data()
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y)
    reg = LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(X, y.astype(float))
    empty = r"expected X at least one sample \(shape \(n_samples, T, n_features\)\), got shape \(0, 6, 3\)\."
    for call, where in ((lambda: LSTMClassifier(epochs=1).fit(X[:0], y[:0]), "LSTMClassifier.fit"),
                        (lambda: clf.predict(X[:0]), "LSTMClassifier.predict"),
                        (lambda: clf.predict_proba(X[:0]), "LSTMClassifier.predict_proba"),
                        (lambda: clf.score(X[:0], y[:0]), "LSTMClassifier.score"),
                        (lambda: reg.predict(X[:0]), "LSTMRegressor.predict"),
                        (lambda: reg.score(X[:0], y[:0]), "LSTMRegressor.score")):  # fmt: skip
        with pytest.raises(ValueError, match="^" + re.escape(where) + ": " + empty):
            call()
    steps = r"expected X at least one time step \(shape \(n_samples, T, n_features\)\), got shape \(40, 0, 3\)\."
    with pytest.raises(ValueError, match="^LSTMClassifier.fit: " + steps):
        LSTMClassifier(epochs=1).fit(X[:, :0], y)
    with pytest.raises(ValueError, match="^LSTMRegressor.fit: " + steps):
        LSTMRegressor(epochs=1).fit(X[:, :0], y.astype(float))
    with pytest.raises(ValueError, match="^LSTMClassifier.predict: " + steps):
        clf.predict(X[:, :0])
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected X at least one feature .*got shape \(40, 6, 0\)\."):
        LSTMClassifier(epochs=1).fit(X[:, :, :0], y)


def test_nan_past_lengths_is_ignored_and_trains_as_zero_padding():
    # padding is never read by the model, but dW_ih = dZ^T X would make 0 * NaN = NaN: fit must
    # zero it (in a copy) and so give, bit for bit, the weights that zero padding gives
    X, y = stress_data()
    lengths = np.random.default_rng(1).integers(2, 7, size=40)
    lengths[0] = 5
    past = np.arange(6)[None, :] >= lengths[:, None]  # (40, 6): padding
    X0, Xn = np.where(past[..., None], 0.0, X), np.where(past[..., None], np.nan, X)
    Xn[0, 5] = [np.nan, np.inf, -np.inf]
    before = Xn.copy()
    a = LSTMClassifier(hidden_size=3, epochs=2, batch_size=16, seed=0).fit(X0, y, lengths)
    b = LSTMClassifier(hidden_size=3, epochs=2, batch_size=16, seed=0).fit(Xn, y, lengths, validation_data=(Xn, y, lengths))
    for k, v in a.model_.state_dict().items():
        np.testing.assert_array_equal(v, b.model_.state_dict()[k], err_msg=k)
    np.testing.assert_array_equal(b.predict_proba(Xn, lengths), a.predict_proba(X0, lengths))
    np.testing.assert_array_equal(Xn, before)  # the caller's array is left as it was
    # per-step targets too, for the regressor (targets past lengths were already ignored)
    Y = np.where(past, np.nan, X[:, :, 1])
    r0 = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X0, Y, lengths)
    rn = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(Xn, Y, lengths)
    np.testing.assert_array_equal(r0.predict(X0, lengths), rn.predict(Xn, lengths))
    # within a sequence's length a NaN is still refused, with its index
    Xn[3, lengths[3] - 1, 2] = np.nan
    with pytest.raises(ValueError, match=rf"^LSTMClassifier.fit: expected X finite values, got nan at index \(3, {lengths[3] - 1}, 2\) \(sample 3, step {lengths[3] - 1}\)\. Remove or impute"):
        LSTMClassifier(epochs=1).fit(Xn, y, lengths)
    # a ragged list is checked too (it was padded and passed on unchecked: Trainer.fit refused it)
    seqs = [X[i, : 2 + i % 4] for i in range(8)]
    seqs[5] = seqs[5].copy()
    seqs[5][1, 0] = np.nan
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected X finite values, got nan at index \(5, 1, 0\)"):
        LSTMClassifier(epochs=1).fit(seqs, y[:8])


def test_nan_labels_are_refused_with_their_index():
    # scikit-learn refuses NaN in y for a classifier ("Input y contains NaN"); lstmkit made NaN a
    # class (classes_ [0., 1., nan]), per sequence and per step
    X, y = stress_data()
    yf = y.astype(float)
    yf[3] = np.nan
    fix = r"Drop the samples with missing labels"
    with pytest.raises(ValueError, match=rf"^LSTMClassifier.fit: expected y finite labels, got nan at index \(3,\) \(sample 3\)\. {fix}"):
        LSTMClassifier(epochs=1).fit(X, yf)
    yo = y.astype(object)
    yo[7] = float("inf")
    with pytest.raises(ValueError, match=rf"^LSTMClassifier.fit: expected y finite labels, got inf at index \(7,\) \(sample 7\)\. {fix}"):
        LSTMClassifier(epochs=1).fit(X, yo)
    lengths = np.full(40, 4)
    ys = (X[:, :, 1] > 0).astype(float)  # (40, 6) a label per step
    ys[:, 4:] = np.nan  # past lengths: ignored, as before
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, ys, lengths)
    assert clf.classes_.tolist() == [0.0, 1.0]
    assert 0 <= clf.score(X, ys, lengths) <= 1
    ys[5, 2] = np.nan  # within sequence 5's 4 steps
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected y finite labels, got nan at index \(5, 2\) \(sample 5, step 2\)\."):
        LSTMClassifier(epochs=1).fit(X, ys, lengths)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit validation_data: expected y finite labels, got nan at index \(3,\) \(sample 3\)\."):
        LSTMClassifier(epochs=1).fit(X, y, validation_data=(X, yf))
    with pytest.raises(ValueError, match=r"^LSTMClassifier.score: expected y finite labels, got nan at index \(3,\) \(sample 3\)\."):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y).score(X, yf)


def test_continuous_targets_are_refused_with_the_regressor_as_the_fix():
    # scikit-learn: "Unknown label type: continuous"; lstmkit learned one class per sample (40)
    X, y = stress_data()
    target = X[:, :, 0].sum(axis=1)
    with pytest.raises(ValueError, match=rf"^LSTMClassifier.fit: expected y class labels \(integers, strings, or whole floats such as 0.0 and 1.0\), got continuous values such as {float(target[0])!r} at index \(0,\)\. For real-valued targets use LSTMRegressor \(lstmkit train: --task regress\)\.$"):
        LSTMClassifier(epochs=1).fit(X, target)
    half = y.astype(float)
    half[9] = 0.5  # one fraction is enough
    with pytest.raises(ValueError, match=r"got continuous values such as 0.5 at index \(9,\)"):
        LSTMClassifier(epochs=1).fit(X, half)
    with pytest.raises(ValueError, match=r"got continuous values such as 0.5 at index \(9,\)"):
        LSTMClassifier(epochs=1).fit(X, half.tolist())
    # whole floats are labels, as scikit-learn's type_of_target calls [0.0, 1.0] binary
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y.astype(float)).classes_.tolist() == [0.0, 1.0]
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y * 2.0 - 1).classes_.tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("labels,types", [(["a", 1], "int, str"), ([None, 1], "NoneType, int"), ([None, "b"], "NoneType, str")])
def test_labels_of_mixed_types_are_refused_naming_the_types(labels, types):
    # np.unique's bare "'<' not supported between instances of 'int' and 'str'" before
    X, _ = stress_data()
    y = np.array(labels * 20, dtype=object)
    with pytest.raises(TypeError, match=rf"^LSTMClassifier.fit: expected y labels of one kind \(all strings or all numbers\), got labels of types {types}\. Convert them"):
        LSTMClassifier(epochs=1).fit(X, y)
    with pytest.raises(TypeError, match=rf"^LSTMClassifier.fit: expected y labels of one kind .*got labels of types {types}\."):
        LSTMClassifier(epochs=1).fit(X[:2], labels)
    # validation labels of one kind, but not the training labels' kind: unseen, not a TypeError
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit validation_data: expected y labels seen at fit \['a', 'b'\], got unseen labels \[1, 2\]"):
        LSTMClassifier(epochs=1).fit(X, np.array(["a", "b"] * 20, dtype=object), validation_data=(X[:2], np.array([1, 2], dtype=object)))


def test_regressor_score_checks_y_as_fit_does_and_reads_a_column():
    X, _ = stress_data()
    y = X[:, :, 0].sum(axis=1)
    reg = LSTMRegressor(hidden_size=3, epochs=2, seed=0).fit(X, y)
    # R² from its definition, on the model's own predictions
    pred = reg.predict(X)
    r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert reg.score(X, y) == pytest.approx(r2, rel=1e-12)
    # a column y (n, 1) for one output is read as (n,) (scikit-learn's r2_score ravels it); it was refused
    assert reg.score(X, y[:, None]) == pytest.approx(r2, rel=1e-12)
    col = LSTMRegressor(hidden_size=3, epochs=2, seed=0).fit(X, y[:, None])  # fitted on (n, 1): predicts (n, 1)
    assert col.predict(X).shape == (40, 1) and col.score(X, y) == pytest.approx(col.score(X, y[:, None]), rel=1e-12)
    with pytest.raises(ValueError, match=r"^LSTMRegressor.score: expected y shape \(40,\), got shape \(40, 2\)"):
        reg.score(X, np.stack([y, y], axis=1))
    # NaN/inf targets were scored 0.0; refused as fit refuses them, with the index
    for bad, shown in ((np.nan, "nan"), (np.inf, "inf")):
        yb = y.copy()
        yb[4] = bad
        with pytest.raises(ValueError, match=rf"^LSTMRegressor.score: expected y finite values, got {shown} at index \(4,\) \(sample 4\)\. Drop the samples"):
            reg.score(X, yb)
        with pytest.raises(ValueError, match=rf"^LSTMRegressor.fit: expected y finite values, got {shown} at index \(4,\) \(sample 4\)\. Drop the samples"):
            LSTMRegressor(epochs=1).fit(X, yb)
    with pytest.raises(TypeError, match=r"^LSTMRegressor.score: expected y numeric targets, got dtype <U1"):
        reg.score(X, np.array(["a"] * 40))
    # one sample: R² is undefined; scikit-learn's r2_score warns and returns nan (it returned 0.0)
    with pytest.warns(UserWarning, match=r"^LSTMRegressor.score: R² is not defined with fewer than 2 targets \(got 1\); returning nan"):
        assert np.isnan(reg.score(X[:1], y[:1]))
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    with pytest.warns(UserWarning):  # UndefinedMetricWarning
        assert np.isnan(sklearn_metrics.r2_score(y[:1], pred[:1]))
    assert reg.score(X, y) == pytest.approx(sklearn_metrics.r2_score(y, pred), rel=1e-12)


def test_regressor_per_step_nan_targets_are_refused_within_lengths_only():
    X, _ = stress_data()
    Y = X[:, :, 1].copy()  # (40, 6) per step
    lengths = np.full(40, 5)
    Y[:, 5] = np.nan  # past lengths: ignored
    reg = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X, Y, lengths)
    assert np.isfinite(reg.score(X, Y, lengths))
    assert reg.score(X, Y[..., None], lengths) == reg.score(X, Y, lengths)  # (n, T, 1) for one output
    Y[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"^LSTMRegressor.score: expected y finite values, got nan at index \(2, 3\) \(sample 2, step 3\)\."):
        reg.score(X, Y, lengths)


def test_one_hot_labels_of_width_T_warn_with_argmax_as_the_fix():
    # with 6 classes and T = 6, one-hot labels per sequence have the shape of labels per step:
    # fit trained a per-step binary model without a word
    X, _ = stress_data()
    labels = np.arange(40) % 6
    with pytest.warns(UserWarning, match=r"^LSTMClassifier.fit: y of shape \(40, 6\) looks one-hot \(0/1 with exactly one 1 in every row\); it is read as one label per step \(T=6\)\. For one label per sequence pass y.argmax\(1\)\.$"):
        clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, np.eye(6, dtype=int)[labels])
    assert clf.per_step_  # still read as documented: a warning, not a guess
    with pytest.warns(UserWarning, match="looks one-hot"):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, np.eye(6, dtype=bool)[labels])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # per-step 0/1 labels with more than one 1 in a row: no warning
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, (X[:, :, 1] > 0).astype(int))
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, labels)  # argmax(1): one label per sequence


def test_features_far_from_unit_scale_warn_to_standardise():
    X, y = stress_data()
    big = r"X's features are far from unit scale \(feature {j}: .*\): the LSTM's gates saturate and training may fail\. Standardise X"
    with pytest.warns(UserWarning, match="^LSTMClassifier.fit: " + big.format(j=0)):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X * 1e6, y)
    year = X.copy()
    year[:, :, 2] += 2000  # |mean| 2000 > 1e3, std 1: a calendar year as a feature
    with pytest.warns(UserWarning, match=r"^LSTMRegressor.fit: X's features are far from unit scale \(feature 2: mean 2e\+03, std [\d.]+; warned above 1000\): .* Standardise X"):
        LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(year, y.astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # standardised X (and up to the limit, 1e3): no warning
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X * 500, y)
        lengths = np.full(40, 3)
        padded = X.copy()
        padded[:, 3:] = 1e9  # padding is not looked at
        LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(padded, y, lengths)


@pytest.mark.parametrize("verbose", [5, -1, 3])
def test_verbose_outside_the_documented_levels_is_refused(verbose):
    # the docstrings say 0, 1 or 2; 5 was accepted (and printed as 2)
    X, y = stress_data()
    with pytest.raises(ValueError, match=rf"^LSTMClassifier: expected verbose 0, 1 or 2, got {verbose}\. 0: silent, 1: a progress bar, 2: a line per epoch\.$"):
        LSTMClassifier(hidden_size=2, epochs=1, verbose=verbose).fit(X, y)
    for ok in (0, 1, 2, True, np.int64(2)):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0, verbose=ok)._check_params()


def test_patience_without_validation_data_monitors_the_training_loss():
    # not ignored: without validation_split/validation_data the Trainer monitors "loss" (its
    # monitor=None). A learning rate of 2 makes epoch 2's training loss rise above epoch 1's, so
    # patience=1 stops after epoch 2 (Keras: `patience` epochs without improvement) and restores
    # epoch 1's weights: those of a 1-epoch fit with the same seed
    X, y = stress_data()
    stopped = LSTMClassifier(hidden_size=3, epochs=10, learning_rate=2.0, patience=1, seed=0).fit(X, y)
    losses = stopped.history_["loss"]
    assert "val_loss" not in stopped.history_.keys() and len(losses) == 2 and losses[1] > losses[0]
    assert (stopped.n_epochs_, stopped.best_epoch_) == (2, 1)
    one = LSTMClassifier(hidden_size=3, epochs=1, learning_rate=2.0, seed=0).fit(X, y)
    for k, v in one.model_.state_dict().items():
        np.testing.assert_array_equal(stopped.model_.state_dict()[k], v, err_msg=k)


# -- lstmkit predict's per-step labels: only those within lengths count ---------------------------
def test_scored_targets_are_the_steps_within_lengths_per_step_and_every_sequence_otherwise():
    from lstmkit.estimators import scored_targets

    lengths = np.array([4, 1, 2, 3, 4, 4, 1, 2])
    np.testing.assert_array_equal(scored_targets(False, lengths, 8, 4), np.ones(8, dtype=bool))
    expected = np.array([[t < n for t in range(4)] for n in lengths])  # step t of sequence i counts while t < lengths[i]
    np.testing.assert_array_equal(scored_targets(True, lengths, 8, 4), expected)
    np.testing.assert_array_equal(scored_targets(True, None, 8, 4), np.ones((8, 4), dtype=bool))
    np.testing.assert_array_equal(scored_targets(np.bool_(True), lengths, 8, 4), expected)


# -- predicting padded X without the lengths the model was fitted with ----------------------------
def padded_data(n=24, T=6, seed=0):
    """Sequences of 2 to T steps of non-zero values, zero-padded to T, with their lengths and a label each."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, T + 1, n)
    lengths[0] = T
    X = np.zeros((n, T, 2), np.float32)
    for i, n_i in enumerate(lengths):
        X[i, :n_i] = rng.uniform(0.5, 1.5, size=(n_i, 2)) * rng.choice([-1, 1], size=(n_i, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    return X, y, lengths


def missing_lengths_warnings(call) -> list:
    from lstmkit.estimators import MissingLengthsWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        call()
    return [w for w in seen if issubclass(w.category, MissingLengthsWarning)]


def test_fitted_with_lengths_is_recorded_saved_and_unknown_in_an_older_file(tmp_path):
    from lstmkit.modelfile import read_model, save_model

    X, y, lengths = padded_data()
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y, lengths).fitted_with_lengths_ is True
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y).fitted_with_lengths_ is False
    ragged = [X[i, :n] for i, n in enumerate(lengths)]  # a list of sequences of different lengths: lengths inferred
    assert LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(ragged, y.astype(float)).fitted_with_lengths_ is True
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y, lengths)
    clf.save(tmp_path / "c.npz")
    assert lstmkit.load(tmp_path / "c.npz").fitted_with_lengths_ is True
    mf = read_model(tmp_path / "c.npz")
    assert mf.extra["fitted_with_lengths"] is True
    older = {k: v for k, v in mf.extra.items() if k != "fitted_with_lengths"}  # a file written before it was recorded
    save_model(tmp_path / "old.npz", mf.kind, mf.config, mf.arrays, older)
    old = lstmkit.load(tmp_path / "old.npz")
    assert old.fitted_with_lengths_ is None
    assert missing_lengths_warnings(lambda: old.predict(X)) == []  # unknown: no warning
    old.save(tmp_path / "again.npz")
    assert "fitted_with_lengths" not in read_model(tmp_path / "again.npz").extra and lstmkit.load(tmp_path / "again.npz").fitted_with_lengths_ is None
    for bad in ("yes", 1, None):
        save_model(tmp_path / "bad.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, fitted_with_lengths=bad))
        with pytest.raises(FileFormatError, match=rf"bad.npz: expected fitted_with_lengths true or false, got {re.escape(repr(bad))}\.$"):
            lstmkit.load(tmp_path / "bad.npz")


def test_a_model_fitted_with_lengths_warns_once_per_call_on_padded_x_without_them():
    from lstmkit.estimators import looks_padded

    X, y, lengths = padded_data()
    clf = LSTMClassifier(hidden_size=3, epochs=2, seed=0).fit(X, y, lengths)
    reg = LSTMRegressor(hidden_size=3, epochs=2, seed=0).fit(X, y.astype(float), lengths)
    n_padded = int((lengths < 6).sum())  # the sequences shorter than T end in zeros
    for name, call in [("LSTMClassifier.predict", lambda: clf.predict(X)), ("LSTMClassifier.predict_proba", lambda: clf.predict_proba(X)),
                       ("LSTMClassifier.score", lambda: clf.score(X, y)), ("LSTMRegressor.predict", lambda: reg.predict(X)),
                       ("LSTMRegressor.score", lambda: reg.score(X, y.astype(float)))]:  # fmt: skip
        seen = missing_lengths_warnings(call)
        assert len(seen) == 1, name
        message = str(seen[0].message)
        assert message.startswith(f"{name}: X comes without lengths, but {n_padded} of its 24 sequences end in an all-zero step")
        assert "Pass lengths" in message and "lengths=numpy.full(24, 6) if the zeros are data" in message
        assert seen[0].filename == __file__  # stacklevel: the line that called the estimator
    # no warning: lengths given; no sequence ending in an all-zero step; a model fitted without lengths
    assert missing_lengths_warnings(lambda: clf.predict(X, lengths)) == []
    assert missing_lengths_warnings(lambda: clf.score(X, y, lengths)) == []
    full = X.copy()
    full[:, -1, 1] = 0.25  # every last step has one non-zero feature: not padding
    assert missing_lengths_warnings(lambda: clf.predict(full)) == []
    plain = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y)
    assert missing_lengths_warnings(lambda: plain.predict(X)) == []
    assert missing_lengths_warnings(lambda: clf.predict([X[i, :n] for i, n in enumerate(lengths)])) == []  # a ragged list: lengths inferred
    # the rule: the last step exactly 0.0 in every feature; with one step nothing is padding
    Z = np.ones((4, 3, 2))
    Z[1, -1] = 0.0
    Z[2, -1, 0] = 0.0
    Z[3, -1] = -0.0
    np.testing.assert_array_equal(looks_padded(Z), [False, True, False, True])
    np.testing.assert_array_equal(looks_padded(np.zeros((2, 1, 2))), [False, False])


def test_the_missing_lengths_advice_can_be_followed_under_cross_val_score():
    # scikit-learn passes lengths (params=) to fit only: every fold's score warned 'Pass lengths', which
    # cross_val_score cannot; the warning also says to give X as a list of sequences of their own lengths,
    # and so given, each fold scores as fit(X[tr], y[tr], lengths[tr]).score(X[te], y[te], lengths[te])
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y, lengths = padded_data()
    clf = LSTMClassifier(hidden_size=3, epochs=2, seed=0)
    folds = model_selection.KFold(3)
    seen = missing_lengths_warnings(lambda: model_selection.cross_val_score(clf, X, y, cv=folds, params={"lengths": lengths}))
    assert len(seen) == 3
    assert all("or X as a list of sequences of their own lengths (what scikit-learn's cross_val_score and GridSearchCV "
               "can pass: they give lengths to fit only)" in str(w.message) for w in seen)  # fmt: skip
    ragged = [X[i, :n] for i, n in enumerate(lengths)]
    scores = []
    seen = missing_lengths_warnings(lambda: scores.extend(model_selection.cross_val_score(clf, ragged, y, cv=folds)))
    assert seen == []
    for score, (tr, te) in zip(scores, folds.split(X)):
        fold = LSTMClassifier(hidden_size=3, epochs=2, seed=0).fit(X[tr], y[tr], lengths[tr])
        assert score == fold.score(X[te], y[te], lengths[te])


# -- the regressor's mae in y's units ------------------------------------------------------------
def regression_data(n=24, T=5, k=1, seed=0):
    """Targets in the thousands (one output, or k with scales of their own)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2)).astype(np.float32)
    s = X[:, :, 0].sum(axis=1)
    y = 5000 + 300 * s if k == 1 else np.stack([5000 + 300 * s, 20 + 2 * X[:, :, 1].sum(axis=1)][:k], axis=1)
    return X, y


def test_regressor_mae_and_val_mae_are_in_y_units_on_the_progress_line_and_in_history(capsys):
    X, y = regression_data()
    Xv, yv = regression_data(n=12, seed=1)
    # one epoch of one batch: its training mae is that of the initial weights, which the update follows;
    # an estimator of the same seed fitted for no epoch has those weights (the model's seed does not
    # depend on epochs). val_mae is scored after the update: the fitted model's predictions
    reg = LSTMRegressor(hidden_size=4, epochs=1, batch_size=24, seed=0, verbose=2).fit(X, y, validation_data=(Xv, yv))
    start = LSTMRegressor(hidden_size=4, epochs=0, batch_size=24, seed=0).fit(X, y)
    mae = np.abs(start.predict(X) - y).mean()  # in y's units, from predictions in y's units
    val_mae = np.abs(reg.predict(Xv) - yv).mean()
    logs = reg.history_.epochs[-1]
    np.testing.assert_allclose([logs["mae"], logs["val_mae"]], [mae, val_mae], rtol=1e-5)
    assert mae > 100  # the scale of y (about 300 * sqrt(5)), not of standardised targets (order 1)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    shown = {k: float(v) for k, v in re.findall(r"(\w+) (\d+\.\d+)", line)}
    np.testing.assert_allclose([shown["mae"], shown["val_mae"]], [mae, val_mae], rtol=1e-4)
    # the loss stays the mean squared error of the standardised targets (the objective; what early stopping watches)
    z = lambda t: (t - y.mean()) / y.std()  # noqa: E731
    np.testing.assert_allclose(logs["val_loss"], np.mean((z(reg.predict(Xv)) - z(yv)) ** 2), rtol=1e-4)


def test_regressor_mae_of_outputs_with_scales_of_their_own_is_the_mae_in_y_units():
    # outputs near 5000 and near 20: each output's error is scored in its own units (a Trainer metric),
    # so mae is scikit-learn's mean_absolute_error of the predictions, exactly (it was the mean of
    # MAE_j / std_j, logged as mae_standardised, since no one factor turns that into y's units)
    X, y = regression_data(k=2)
    Xv, yv = regression_data(n=12, k=2, seed=1)
    # one epoch of one batch: the training mae is the initial weights' (those of a fit of no epoch)
    reg = LSTMRegressor(hidden_size=4, epochs=1, batch_size=24, seed=0).fit(X, y, validation_data=(Xv, yv))
    start = LSTMRegressor(hidden_size=4, epochs=0, batch_size=24, seed=0).fit(X, y)
    logs = reg.history_.epochs[-1]
    assert list(logs)[:5] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    np.testing.assert_allclose(logs["mae"], np.abs(start.predict(X) - y).mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["val_mae"], np.abs(reg.predict(Xv) - yv).mean(), rtol=1e-5)
    per_output = np.abs(reg.predict(Xv) - yv).mean(axis=0)  # the outputs' MAE, about 300 and 2 apart
    assert per_output[0] > 50 * per_output[1]
    assert logs["val_mae"] == pytest.approx(per_output.mean(), rel=1e-5)  # not per_output / y.std, as was logged
    # a held-out fraction, and without standardising (every scale 1): the same rule
    for standardize in (True, False):
        r = LSTMRegressor(hidden_size=4, epochs=1, seed=0, validation_split=0.25, standardize=standardize).fit(X, y)
        rows = r.validation_indices_
        np.testing.assert_allclose(r.history_.epochs[-1]["val_mae"], np.abs(r.predict(X[rows]) - y[rows]).mean(), rtol=1e-5)


def test_regressor_running_mae_on_the_live_bar_is_in_y_units(monkeypatch):
    # the running numbers a terminal's bar shows after each batch come from the same metric: in y's
    # units throughout, the last one the epoch's (they were the standardised ones until the epoch ended)
    import lstmkit.training as training
    from lstmkit.progress import Silent

    seen = []

    class Recorder(Silent):
        def update(self, logs):
            seen.append(dict(logs))

    monkeypatch.setattr(training, "make_progress", lambda verbose, stream: Recorder())
    X, y = regression_data(k=2)
    reg = LSTMRegressor(hidden_size=4, epochs=1, batch_size=24, seed=0).fit(X, y)  # one batch: the initial weights'
    start = LSTMRegressor(hidden_size=4, epochs=0, batch_size=24, seed=0).fit(X, y)
    assert len(seen) == 1 and seen[0]["mae"] == reg.history_.epochs[-1]["mae"]
    np.testing.assert_allclose(seen[0]["mae"], np.abs(start.predict(X) - y).mean(), rtol=1e-5)


def test_a_resumed_regressor_with_a_validation_split_logs_the_epochs_of_an_uninterrupted_fit(tmp_path):
    X, y = regression_data()
    path = tmp_path / "ck.npz"
    whole = LSTMRegressor(hidden_size=3, epochs=3, batch_size=8, validation_split=0.25, seed=0).fit(X, y)
    LSTMRegressor(hidden_size=3, epochs=2, batch_size=8, validation_split=0.25, seed=0).fit(X, y, checkpoint=path)
    resumed = LSTMRegressor(hidden_size=3, epochs=3, batch_size=8, validation_split=0.25, seed=0).fit(X, y, checkpoint=path, resume=True)
    drop = lambda h: [{k: v for k, v in e.items() if k != "time"} for e in h.epochs]  # noqa: E731
    assert drop(resumed.history_) == drop(whole.history_)


@pytest.mark.filterwarnings("error")
def test_a_float64_value_beyond_float32_s_range_given_to_an_estimator_is_refused_naming_it():
    # the estimators cast X themselves: a float64 1e39 to a float32 estimator gave NumPy's "overflow
    # encountered in cast" (an error under -W error) and then "expected X finite values, got inf"
    X, y = regression_data(n=6)
    X = X.astype(np.float64)
    X[2, 3, 1] = 1e39
    message = (r"^LSTMRegressor.fit: expected X values within float32's range \(±3\.4e38\), got 1e\+39 at index \(2, 3, 1\)\. "
               r"Scale the data down, or compute in float64 \(dtype=numpy\.float64\)\.$")  # fmt: skip
    with pytest.raises(ValueError, match=message):
        LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(X, y)
    # a list of sequences of different lengths: the sequence named
    seqs = [X[0], X[2, :4], X[1, :3]]
    with pytest.raises(ValueError, match=r"^LSTMRegressor.fit: expected X\[1\] values within float32's range \(±3\.4e38\), got 1e\+39 at index \(3, 1\)\."):
        LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(seqs, y[:3])
    # past a sequence's length it is padding, as NaN and inf are there
    lengths = np.full(6, 5)
    lengths[2] = 3
    reg = LSTMRegressor(hidden_size=2, epochs=1, seed=0).fit(X, y, lengths)
    assert np.isfinite(reg.predict(X, lengths)).all()
    # predict checks X alike; a float64 estimator takes the value
    with pytest.raises(ValueError, match=r"^LSTMRegressor.predict: expected X values within float32's range"):
        reg.predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (the estimators warn of X far from unit scale)
        assert LSTMRegressor(hidden_size=2, epochs=1, seed=0, dtype="float64").fit(X, y).model_.dtype == np.float64


# -- class weights -------------------------------------------------------------------------------
def imbalanced_data(seed, n=200, T=5):
    """About 9% of the sequences are of class 1: a mean of the first feature above 0.6."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 2)).astype(np.float32)
    return X, (X[:, :, 0].mean(axis=1) > 0.6).astype(int)


def test_balanced_class_weights_are_scikit_learns():
    # "balanced": n_samples / (n_classes * bincount(y)) over the valid targets, per sequence and per step
    # (every step within a sequence's length, none past it); against sklearn's compute_class_weight, or a hand count
    X, y = seq_data(n=30)
    y[:3] = "flat"  # three classes: 'down', 'flat', 'up'
    lengths = np.random.default_rng(0).integers(1, 7, size=30)
    y_steps = np.where(np.random.default_rng(1).random((30, 6)) < 0.2, "b", "a")
    y_steps[np.arange(6)[None] >= lengths[:, None]] = "b"  # padding that would change the counts if read
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight="balanced").fit(X, y)
    steps = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight="balanced").fit(X, y_steps, lengths)
    valid = y_steps[np.arange(6)[None] < lengths[:, None]]
    try:
        from sklearn.utils.class_weight import compute_class_weight
    except ImportError:  # by hand: n / (C * count)
        compute_class_weight = lambda _, classes, y: np.array([len(y) / (len(classes) * (y == c).sum()) for c in classes])  # noqa: E731
    np.testing.assert_allclose(clf.class_weight_, compute_class_weight("balanced", classes=clf.classes_, y=y), rtol=1e-15)
    np.testing.assert_allclose(steps.class_weight_, compute_class_weight("balanced", classes=steps.classes_, y=valid), rtol=1e-15)
    n_down = int((y == "down").sum())  # and by hand, for the record: 30 / (3 * count)
    assert clf.class_weight_.tolist() == pytest.approx([30 / (3 * n_down), 30 / 9, 30 / (3 * (27 - n_down))], rel=1e-15)
    assert clf.get_params()["class_weight"] == "balanced"  # stored as given; the computed weights are learned


def test_a_dict_of_class_weights_names_classes_of_y():
    X, y = seq_data(n=20)
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={"up": 3})
    assert clf.fit(X, y).class_weight_.tolist() == [1.0, 3.0]  # 'down' left out: 1, as scikit-learn
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0).fit(X, y).class_weight_.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected class_weight labels that are classes of y \['down', 'up'\], "
                                         r"got \['sideways'\] \(no class of y\)\.$"):
        LSTMClassifier(epochs=1, class_weight={"up": 2, "sideways": 1}).fit(X, y)
    yi = (y == "up").astype(int)
    with pytest.raises(ValueError, match=r"got \['1'\] \(no class of y\)\. Name each class as y holds it: 1, not '1'\.$"):
        LSTMClassifier(epochs=1, class_weight={"1": 2}).fit(X, yi)
    assert LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={np.int64(1): 2}).fit(X, yi).class_weight_.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected class_weight a weight > 0 for a class among the targets of y \(the loss is "
                                         r"their weighted mean\), got 0 for each of their classes \['down', 'up'\]\.$"):
        LSTMClassifier(epochs=1, class_weight={"up": 0, "down": 0.0}).fit(X, y)


@pytest.mark.parametrize("class_weight,exc,message", [
    ("Balanced", ValueError, r"^LSTMClassifier: expected class_weight None, 'balanced' or a dict of label -> weight, got 'Balanced'\. Did you mean 'balanced'\?$"),
    ("auto", ValueError, r"got 'auto'\.$"),
    ([1.0, 2.0], TypeError, r"got list \[1\.0, 2\.0\]\. For weights in the order of classes_, pass dict\(zip\(classes, weights\)\)\.$"),
    ({"up": -1}, ValueError, r"^LSTMClassifier: expected class_weight\['up'\] a finite number >= 0, got -1\.$"),
    ({np.int64(1): float("nan")}, ValueError, r"^LSTMClassifier: expected class_weight\[1\] a finite number >= 0, got nan\.$"),
    ({"up": "2"}, TypeError, r"expected class_weight\['up'\] a finite number >= 0, got '2'\.$"),
])  # fmt: skip
def test_bad_class_weights_are_refused_before_training(class_weight, exc, message):
    X, y = seq_data(n=6)
    with pytest.raises(exc, match=message):
        LSTMClassifier(class_weight=class_weight).fit(X, y)


def test_class_weights_weigh_the_loss_and_val_loss_as_torchs_criterion_not_the_accuracy():
    # val_loss after the last epoch is torch's cross_entropy(weight=class_weight_) of the model's outputs on the
    # validation data (log predict_proba: the logits up to a constant per row), val_accuracy the plain accuracy
    torch = pytest.importorskip("torch")
    X, y = imbalanced_data(0, n=60)
    Xv, yv = imbalanced_data(1, n=40)
    clf = LSTMClassifier(hidden_size=3, epochs=2, seed=0, dtype="float64", class_weight="balanced").fit(X, y, validation_data=(Xv, yv))
    logits = torch.log(torch.from_numpy(clf.predict_proba(Xv)))
    weighted = torch.nn.functional.cross_entropy(logits, torch.from_numpy(yv), weight=torch.from_numpy(clf.class_weight_))
    assert clf.history_["val_loss"][-1] == pytest.approx(weighted.item(), rel=1e-9)
    assert clf.history_["val_accuracy"][-1] == clf.score(Xv, yv)  # not weighted
    plain = torch.nn.functional.cross_entropy(logits, torch.from_numpy(yv)).item()
    assert abs(weighted.item() - plain) > 1e-3  # (the weights do change it)


def test_balanced_class_weights_raise_the_minority_recall():
    # a property: about 9% of class 1; with "balanced" the recall of class 1 on unseen data goes up, each seed
    X, y = imbalanced_data(0)
    Xt, yt = imbalanced_data(1, n=1000)
    for seed in range(3):
        recall = [((LSTMClassifier(hidden_size=4, epochs=15, seed=seed, class_weight=cw).fit(X, y).predict(Xt) == 1) & (yt == 1)).sum() / (yt == 1).sum()
                  for cw in (None, "balanced")]  # fmt: skip
        assert recall[1] > recall[0] + 0.1, (seed, recall)


def test_class_weights_are_saved_and_an_older_file_loads_with_ones(tmp_path):
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=20)
    yi = (y == "up").astype(int)
    for cw, labels in (("balanced", y), ({"up": 2.5}, y), ({1: 4}, yi), (None, y)):
        clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight=cw).fit(X, labels)
        clf.save(tmp_path / "m.npz")
        back = lstmkit.load(tmp_path / "m.npz")
        assert back.get_params()["class_weight"] == cw  # a dict's keys as the classes they name (JSON keeps strings)
        np.testing.assert_array_equal(back.class_weight_, clf.class_weight_)
        back.fit(X, labels)  # refitted: its dict still names the classes of y
        np.testing.assert_array_equal(back.class_weight_, clf.class_weight_)
    mf = read_model(tmp_path / "m.npz")  # the last: class_weight None
    older = {k: v for k, v in mf.extra.items() if k != "class_weight"}  # a file from before class weights
    save_model(tmp_path / "old.npz", mf.kind, mf.config, mf.arrays, older)
    assert lstmkit.load(tmp_path / "old.npz").class_weight_.tolist() == [1.0, 1.0]
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={"up": 2.5}).fit(X, y)
    clf.save(tmp_path / "w.npz")
    mf = read_model(tmp_path / "w.npz")
    for extra, config, message in (
        ({**mf.extra, "class_weight": [1.0, 3.0]}, mf.config, r"expected class_weight \[1\.0, 2\.5\] \(as config class_weight=\{'up': 2\.5\} makes it\), got \[1\.0, 3\.0\]"),
        ({**mf.extra, "class_weight": [1.0, -3.0]}, mf.config, r"expected class_weight a list of 2 finite numbers >= 0 \(one per class\), got \[1\.0, -3\.0\]"),
        ({**mf.extra, "class_weight": [1.0]}, mf.config, r"expected class_weight a list of 2 finite numbers >= 0"),
        ({k: v for k, v in mf.extra.items() if k != "class_weight"}, mf.config, r"expected class_weight a list of 2 weights \(config class_weight is"),
        (mf.extra, {**mf.config, "class_weight": {"flat": 2.0}}, r"expected config class_weight labels that are classes \['down', 'up'\], got \['flat'\]"),
        ({**mf.extra, "class_weight": [1.0, 0.0]}, {**mf.config, "class_weight": "balanced"}, r"expected class_weight a list of 2 finite numbers > 0"),
    ):  # fmt: skip
        save_model(tmp_path / "bad.npz", mf.kind, config, mf.arrays, extra)
        with pytest.raises(FileFormatError, match=message):
            lstmkit.load(tmp_path / "bad.npz")


def test_class_weights_in_a_checkpoint_and_with_scikit_learn(tmp_path):
    from lstmkit.checkpoint import ResumeRefused

    X, y = seq_data(n=20)
    ck = tmp_path / "c.npz"
    LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight="balanced").fit(X, y, checkpoint=ck)
    for other, got in (({"up": 2}, r"\{'down': 1\.0, 'up': 2\.0\}"), (None, "nothing")):  # a dict: the weight of each class
        with pytest.raises(ResumeRefused, match=rf"was written with class_weight 'balanced', got {got}\."):
            LSTMClassifier(hidden_size=2, epochs=2, seed=0, class_weight=other).fit(X, y, checkpoint=ck, resume=True)
    # the same words go on (that a resume trains as the whole run, bit for bit, is the Trainer's test:
    # test_training.test_a_checkpoint_records_the_class_weights_and_a_resume_with_others_is_refused)
    assert LSTMClassifier(hidden_size=2, epochs=2, seed=0, class_weight="balanced").fit(X, y, checkpoint=ck, resume=True).n_epochs_ == 2
    base = pytest.importorskip("sklearn.base")
    clf = LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={"up": 2.0})
    assert base.clone(clf).get_params()["class_weight"] == {"up": 2.0}
    assert "class_weight={'up': 2.0}" in repr(clf)


def test_validation_targets_that_weigh_nothing_are_refused_by_label():
    # class_weight {'up': 0}: validation targets all 'up' weigh 0 (their loss is 0/0); said in the classifier's words,
    # the labels by name (the Trainer knows class indices only), for validation_data and for validation_split's rows
    X, _ = seq_data(n=20)
    y = np.array(["up"] * 19 + ["down"])
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected class_weight a weight > 0 for a class among the targets of "
                                         r"validation_data \(the loss is their weighted mean\), got 0 for each of their classes \['up'\]\.$"):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={"up": 0}).fit(X, y, validation_data=(X[:3], ["up"] * 3))
    held = LSTMClassifier(hidden_size=2, epochs=1, seed=0, validation_split=0.25).fit(X, y).validation_indices_
    assert 19 not in held  # the seed holds out 5 rows, all 'up'
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected class_weight a weight > 0 for a class among the targets "
                                         r"validation_split held out \(the loss is their weighted mean\), got 0 for each of their classes \['up'\]\.$"):
        LSTMClassifier(hidden_size=2, epochs=1, seed=0, validation_split=0.25, class_weight={"up": 0}).fit(X, y)


def test_a_class_weight_dict_is_checked_entry_by_entry_and_resumes_as_the_weights_it_makes(tmp_path):
    X, y = seq_data(n=20)
    with pytest.raises(TypeError, match=r"^LSTMClassifier: expected class_weight\['down'\] a finite number >= 0, got True\.$"):
        LSTMClassifier(class_weight={"up": 2, "down": True}).fit(X, y)  # a bool among numbers is no weight
    # {'up': 5} and {'up': 5, 'down': 1} make the same weights, [1, 5]: a resume with either goes on
    ck = str(tmp_path / "c.npz")
    LSTMClassifier(hidden_size=2, epochs=1, seed=0, class_weight={"up": 5}).fit(X, y, checkpoint=ck)
    resumed = LSTMClassifier(hidden_size=2, epochs=2, seed=0, class_weight={"up": 5.0, "down": 1}).fit(X, y, checkpoint=ck, resume=True)
    whole = LSTMClassifier(hidden_size=2, epochs=2, seed=0, class_weight={"up": 5}).fit(X, y)
    assert resumed.n_epochs_ == 2
    for k, v in whole.model_.parameters().items():
        np.testing.assert_array_equal(resumed.model_.parameters()[k], v, err_msg=k)
    with pytest.raises(ValueError, match=r"was written with class_weight \{'down': 1\.0, 'up': 5\.0\}, got \{'down': 1\.0, 'up': 5\.000001\}"):
        LSTMClassifier(hidden_size=2, epochs=2, seed=0, class_weight={"up": 5.000001}).fit(X, y, checkpoint=ck, resume=True)


def test_a_classifier_s_equal_class_weights_resume_a_run_without_them(tmp_path):
    # class_weight={a: 1, b: 1} weighs nothing, as None: a checkpoint of one resumes with the other
    X, y = seq_data(n=16, T=4)
    ck = tmp_path / "ck.npz"
    make = lambda cw, epochs: LSTMClassifier(hidden_size=3, epochs=epochs, batch_size=8, seed=0, class_weight=cw)  # noqa: E731
    whole = make(None, 2).fit(X, y)
    make(None, 1).fit(X, y, checkpoint=ck)
    resumed = make({c: 1.0 for c in np.unique(y).tolist()}, 2).fit(X, y, checkpoint=ck, resume=True)
    for k, v in whole.model_.parameters().items():
        np.testing.assert_array_equal(resumed.model_.parameters()[k], v, err_msg=k)


def test_sample_weight_scores_as_scikit_learn_s_accuracy_score_and_r2_score():
    # score(X, y, sample_weight=s): sklearn's weighted accuracy and R² of the valid targets (a sequence's weight on
    # each of its steps; per-step weights as they are), sklearn computing them from predict's output
    from sklearn.metrics import accuracy_score, r2_score

    rng = np.random.default_rng(4)
    X, y = seq_data(n=30, T=5)
    s = rng.uniform(0, 2, size=30)
    clf = LSTMClassifier(hidden_size=3, epochs=2, seed=0).fit(X, y)
    assert clf.score(X, y, sample_weight=s) == pytest.approx(accuracy_score(y, clf.predict(X), sample_weight=s), rel=1e-12)
    lengths = rng.integers(1, 6, size=30)
    yt = np.where(X[:, :, 1] > 0, "up", "down")
    per_step = LSTMClassifier(hidden_size=3, epochs=2, seed=0).fit(X, yt, lengths)
    sp = rng.uniform(0, 2, size=(30, 5))
    valid = np.arange(5)[None, :] < lengths[:, None]
    pred = per_step.predict(X, lengths)
    assert per_step.score(X, yt, lengths, sample_weight=sp) == pytest.approx(accuracy_score(yt[valid], pred[valid], sample_weight=sp[valid]), rel=1e-12)
    target = X[:, :, 0].sum(axis=1) + 0.1 * rng.normal(size=30)
    reg = LSTMRegressor(hidden_size=3, epochs=2, seed=0).fit(X, np.c_[target, -target])
    assert reg.score(X, np.c_[target, -target], sample_weight=s) == pytest.approx(r2_score(np.c_[target, -target], reg.predict(X), sample_weight=s), rel=1e-12)
    steps = LSTMRegressor(hidden_size=3, epochs=2, seed=0).fit(X, X[:, :, 0].cumsum(1), lengths)
    pred = steps.predict(X, lengths)
    expected = r2_score(X[:, :, 0].cumsum(1)[valid], pred[valid], sample_weight=np.broadcast_to(s[:, None], (30, 5))[valid])
    assert steps.score(X, X[:, :, 0].cumsum(1), lengths, sample_weight=s) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.score: expected sample_weight shape \(30,\) \(one weight per sequence\), got shape \(29,\)\.$"):
        clf.score(X, y, sample_weight=s[1:])


def test_score_refuses_sample_weights_that_are_0_at_every_valid_target_as_scikit_learn_does():
    # Σ s = 0 over the scored targets makes the weighted accuracy and R² 0/0: the regressor returned 1.0 (its mean
    # nan, so ss_tot > 0 was False and ss_res == 0 read as a constant column predicted exactly) and the classifier nan
    # (helper-101's findings 1, 2); scikit-learn's accuracy_score and r2_score raise a ValueError on the same weights
    from sklearn.metrics import accuracy_score, r2_score

    X, y = seq_data(n=12, T=5)
    target = X[:, :, 0].sum(axis=1)
    clf = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y)
    reg = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X, target)
    zeros = np.zeros(12)
    with pytest.raises(ValueError):
        accuracy_score(y, clf.predict(X), sample_weight=zeros)
    with pytest.raises(ValueError):
        r2_score(target, reg.predict(X), sample_weight=zeros)
    end = r" expected sample_weight a weight > 0 for a valid target \(the score is their weighted mean\), got 0 for each of them\.$"
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.score:" + end):
        clf.score(X, y, sample_weight=zeros)
    with pytest.raises(ValueError, match=r"^LSTMRegressor\.score:" + end):
        reg.score(X, target, sample_weight=zeros)
    # per step, weights > 0 only past the lengths (padding) weigh no scored target either
    lengths = np.array([2, 3] * 6)
    steps = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(X, X[:, :, 0].cumsum(1), lengths)
    with pytest.raises(ValueError, match=r"^LSTMRegressor\.score:" + end):
        steps.score(X, X[:, :, 0].cumsum(1), lengths, sample_weight=np.c_[np.zeros((12, 3)), np.ones((12, 2))])
    one = np.eye(12)[3]  # one weight > 0 scores that target alone, as scikit-learn does
    assert clf.score(X, y, sample_weight=one) == accuracy_score(y[3:4], clf.predict(X)[3:4])


def test_sample_weight_trains_the_estimators_and_equal_weights_are_none():
    # equal weights train as none, bit for bit; others change the fit (here: half the sequences weigh 0) and are
    # recorded in a checkpoint, so that a resume with other weights is refused; cross_validate routes them to fit
    from sklearn.model_selection import StratifiedKFold, cross_validate

    X, y = seq_data(n=24, T=4)
    make = lambda: LSTMClassifier(hidden_size=3, epochs=2, batch_size=8, seed=0)  # noqa: E731
    plain, equal = make().fit(X, y), make().fit(X, y, sample_weight=np.full(24, 2.0))
    s = np.r_[np.zeros(12), np.ones(12)]
    weighed = make().fit(X, y, sample_weight=s)
    for k, v in plain.model_.parameters().items():
        np.testing.assert_array_equal(equal.model_.parameters()[k], v, err_msg=k)
    assert any((weighed.model_.parameters()[k] != v).any() for k, v in plain.model_.parameters().items())
    reg = LSTMRegressor(hidden_size=3, epochs=2, batch_size=8, seed=0)
    assert reg.fit(X, X[:, :, 0].sum(1), sample_weight=s).history_["loss"] != LSTMRegressor(hidden_size=3, epochs=2, batch_size=8, seed=0).fit(X, X[:, :, 0].sum(1)).history_["loss"]
    with pytest.raises(ValueError, match=r"^LSTMRegressor.fit: expected sample_weight finite values >= 0, got -1\.0 at index 0\.$"):
        reg.fit(X, X[:, :, 0].sum(1), sample_weight=-s - 1)
    with pytest.raises(ValueError, match=r"^LSTMClassifier.fit: expected sample_weight a weight > 0 for a valid target among the training "
                                         r"targets \(the loss is their weighted mean\), got 0 for each of them\.$"):  # (the Trainer's, in fit's name)
        make().fit(X, np.where(X[:, :, 1] > 0, "up", "down"), np.ones(24, dtype=int), sample_weight=np.c_[np.zeros(24), np.ones((24, 3))])  # (past the lengths only)
    # each fold's estimator is, bit for bit, one fitted here on that fold's rows and their weights (not the unweighted fit)
    folds = cross_validate(make(), X, y, cv=2, params={"sample_weight": s}, return_estimator=True)["estimator"]
    for fitted, (tr, _) in zip(folds, StratifiedKFold(2).split(X, y), strict=True):
        by_hand, unweighted = make().fit(X[tr], y[tr], sample_weight=s[tr]), make().fit(X[tr], y[tr])
        for k, v in by_hand.model_.parameters().items():
            np.testing.assert_array_equal(fitted.model_.parameters()[k], v, err_msg=k)
        assert any((unweighted.model_.parameters()[k] != v).any() for k, v in by_hand.model_.parameters().items())


def test_validation_data_takes_sample_weights_fourth_and_they_weigh_val_loss():
    # the README says validation_data's weights come fourth, (X, y, lengths, w), as the Trainer takes them; the
    # estimators refused a 4-tuple ('got tuple', helper-101's finding 4), so val_loss was weighted under
    # validation_split (the held-out rows keep their weights) and not under validation_data
    from lstmkit.training import Trainer

    X, y = seq_data(n=24, T=4)
    s = np.linspace(0.2, 3.0, 24)
    make = lambda **kw: LSTMClassifier(hidden_size=3, epochs=3, batch_size=8, seed=0, **kw)  # noqa: E731
    split = make(validation_split=0.25).fit(X, y, sample_weight=s)
    va = split.validation_indices_
    tr = np.setdiff1d(np.arange(24), va)
    given = make().fit(X[tr], y[tr], validation_data=(X[va], y[va], None, s[va]), sample_weight=s[tr])
    assert given.history_["val_loss"] == split.history_["val_loss"]  # the same rows and weights: the same val_loss
    # the last epoch's val_loss is the Trainer's, given the same 4-tuple, on the fitted model; and by hand,
    # Σ w (-log p[y]) / Σ w from predict_proba
    codes = np.searchsorted(given.classes_, y[va])
    trainer = Trainer(given.model_, loss="cross_entropy")
    assert given.history_["val_loss"][-1] == trainer.evaluate(X[va], codes, None, sample_weight=s[va])["loss"]
    p = given.predict_proba(X[va]).astype(np.float64)[np.arange(len(va)), codes]
    assert given.history_["val_loss"][-1] == pytest.approx((s[va] * -np.log(p)).sum() / s[va].sum(), rel=1e-5)
    plain = make().fit(X[tr], y[tr], validation_data=(X[va], y[va]), sample_weight=s[tr])
    assert plain.history_["val_loss"][-1] == pytest.approx(-np.log(p).mean(), rel=1e-5) != given.history_["val_loss"][-1]
    # the regressor's too; its weights are checked as fit's, named validation_data[3]; a wrong tuple says its length
    target = X[:, :, 0].sum(axis=1)
    reg = LSTMRegressor(hidden_size=3, epochs=1, seed=0)
    weighed = reg.fit(X[tr], target[tr], validation_data=(X[va], target[va], None, s[va])).history_["val_loss"]
    assert weighed != reg.fit(X[tr], target[tr], validation_data=(X[va], target[va])).history_["val_loss"]
    for w, message in [
        (np.zeros(6), r"a weight > 0 for a valid target among the targets of validation_data \(the loss is their weighted mean\), "
                      r"got 0 for each of them\."),
        (np.ones(5), r"shape \(6,\) \(one weight per sequence\), got shape \(5,\)\."),
        (-np.ones(6), r"finite values >= 0, got -1\.0 at index 0\."),
    ]:
        with pytest.raises(ValueError, match=r"^LSTMRegressor\.fit: expected validation_data\[3\] " + message + "$"):
            reg.fit(X[tr], target[tr], validation_data=(X[va], target[va], None, w))
    with pytest.raises(TypeError, match=r"^LSTMClassifier\.fit: expected validation_data a tuple \(X, y\), \(X, y, lengths\) or "
                                        r"\(X, y, lengths, sample_weight\) \(lengths may be None\), got a tuple of 5\.$"):
        make().fit(X, y, validation_data=(X, y, None, s, s))


def test_sample_weights_that_zero_every_class_weighed_target_are_refused_in_the_estimator_s_name():
    # class_weight {down: 1, up: 0} times sample weights 0 on every 'down' row weighs nothing: each refusal was the
    # Trainer's ('Trainer.fit: expected sample_weight ...', helper-101's finding 5), where the weights alone are fit's
    X, y = seq_data(n=12, T=4)
    down = (y == "down").astype(float)
    up = 1.0 - down
    make = lambda **kw: LSTMClassifier(hidden_size=3, epochs=1, seed=0, class_weight={"down": 1, "up": 0}, **kw)  # noqa: E731
    by = r" times their class weights \(the loss is their weighted mean\), got 0 for each of them\.$"
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.fit: expected sample_weight a weight > 0 for a valid target among the "
                                         r"training targets" + by):
        make().fit(X, y, sample_weight=up)
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.fit: expected validation_data\[3\] a weight > 0 for a valid target among the "
                                         r"targets of validation_data" + by):
        make().fit(X, y, validation_data=(X, y, None, up))
    # validation_split's parts: the training part's weights, or the held-out part's, all 0 there
    va = make(validation_split=0.25).fit(X, y).validation_indices_
    held = np.isin(np.arange(12), va).astype(float)
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.fit: expected sample_weight a weight > 0 for a valid target among the "
                                         r"targets validation_split left to train on times their class weights"):
        make(validation_split=0.25).fit(X, y, sample_weight=held)
    with pytest.raises(ValueError, match=r"^LSTMClassifier\.fit: expected sample_weight a weight > 0 for a valid target among the "
                                         r"targets validation_split held out times their class weights"):
        make(validation_split=0.25).fit(X, y, sample_weight=1.0 - held)


def test_an_estimator_s_checkpoint_records_its_sample_weights(tmp_path):
    from lstmkit.checkpoint import ResumeRefused

    X, y = seq_data(n=24, T=4)
    ck = tmp_path / "ck.npz"
    make = lambda epochs: LSTMClassifier(hidden_size=3, epochs=epochs, batch_size=8, seed=0)  # noqa: E731
    s = np.linspace(0.5, 2.0, 24)
    make(1).fit(X, y, checkpoint=ck, sample_weight=s)
    with pytest.raises(ResumeRefused, match=r"was written with sample_weight '[0-9a-f]{32}', got nothing\."):
        make(2).fit(X, y, checkpoint=ck, resume=True)
    resumed, whole = make(2).fit(X, y, checkpoint=ck, resume=True, sample_weight=s), make(2).fit(X, y, sample_weight=s)
    for k, v in whole.model_.parameters().items():
        np.testing.assert_array_equal(resumed.model_.parameters()[k], v, err_msg=k)


def test_fit_and_load_leave_the_network_in_eval_mode_and_fit_trains_in_training_mode(tmp_path, monkeypatch):
    # predict from several threads never switches a fitted or loaded estimator's network: it is in eval
    # mode already (left in training mode, overlapping predicts restored training mode mid-call, so
    # a call ran with dropout: tests/test_concurrency.py)
    from lstmkit.models import SequenceModel

    X, y = seq_data(20, 5)
    modes, backward = [], SequenceModel.backward

    def recording(self, *args, **kwargs):
        modes.append((self.training, self.rnn.training))
        return backward(self, *args, **kwargs)

    monkeypatch.setattr(SequenceModel, "backward", recording)
    for est in (LSTMClassifier(hidden_size=4, num_layers=2, dropout=0.5, epochs=2, seed=0, verbose=0),
                LSTMRegressor(hidden_size=4, epochs=1, seed=0, verbose=0)):  # fmt: skip
        modes.clear()
        est.fit(X, y if isinstance(est, LSTMClassifier) else (y == "up") * 1.0)
        assert modes and set(modes) == {(True, True)}  # every training step with dropout on
        assert (est.model_.training, est.model_.rnn.training) == (False, False)
        p = est.predict(X)
        assert not est.model_.training
        est.save(tmp_path / "m.npz")
        for back in (type(est).load(tmp_path / "m.npz"), lstmkit.load(tmp_path / "m.npz")):
            assert (back.model_.training, back.model_.rnn.training) == (False, False)
            assert np.array_equal(back.predict(X), p)
        modes.clear()
        est.fit(X, y if isinstance(est, LSTMClassifier) else (y == "up") * 1.0)  # a refit trains in training mode again
        assert modes and set(modes) == {(True, True)} and not est.model_.training


@pytest.mark.parametrize("k", [600, -1000])  # 2^600 ≈ 4e180 (NumPy's std overflows: inf), 2^-1000 ≈ 1e-301 (it underflows: 0)
def test_targets_near_the_ends_of_float64_train_as_the_same_targets_near_1(k):
    # the regressor standardized y with y.std(), which gave y_scale_ inf (predictions inf, score nan) near
    # 1e200 and 1.0 near 1e-300 (the std underflowed to 0, read as constant: predictions ~6e297 times too
    # large), the forecaster's defect of 3221a3f; a power of two scales exactly, so the same network results
    X = np.random.default_rng(5).normal(size=(40, 5, 2))
    y = X[:, -1, 0] + 2.0
    settings = dict(hidden_size=4, epochs=3, seed=0)
    plain = LSTMRegressor(**settings).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / underflow RuntimeWarning either
        reg = LSTMRegressor(**settings).fit(X, y * 2.0**k)
        pred = reg.predict(X)
    assert (reg.y_mean_ == plain.y_mean_ * 2.0**k).all() and (reg.y_scale_ == plain.y_scale_ * 2.0**k).all()
    assert (pred == plain.predict(X) * 2.0**k).all()


@pytest.mark.parametrize("ragged", [False, True])
def test_a_list_of_dataframes_records_its_columns_as_feature_names_and_predict_checks_them(tmp_path, ragged):
    pd = pytest.importorskip("pandas")
    X, y = seq_data(n=10)
    seqs = [x[: 4 + i % 3] if ragged else x for i, x in enumerate(X)]  # (T_i, 2)
    frames = [pd.DataFrame(s, columns=["price", "volume"]) for s in seqs]
    est = LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(frames, np.arange(10.0))
    assert est.feature_names_in_.tolist() == ["price", "volume"]
    assert np.array_equal(est.predict(frames), est.predict(seqs), equal_nan=True)  # the names checked, the numbers the arrays'
    est.save(tmp_path / "m.npz")
    assert lstmkit.load(tmp_path / "m.npz").feature_names_in_.tolist() == ["price", "volume"]
    swapped = [f[["volume", "price"]] for f in frames]
    for method in ("predict", "score"):
        with pytest.raises(ValueError, match=re.escape(
                f"LSTMRegressor.{method}: expected X's columns ['price', 'volume'] (feature_names_in_, the features at fit, in "
                "that order), got ['volume', 'price'] (the same columns in another order).")):  # fmt: skip
            getattr(est, method)(swapped, *([np.arange(10.0)] if method == "score" else []))
    clf = LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(frames, y)
    with pytest.raises(ValueError, match=re.escape("LSTMClassifier.predict_proba: expected X's columns ['price', 'volume']")):
        clf.predict_proba([f.rename(columns={"volume": "size"}) for f in frames])
    with pytest.raises(ValueError, match=re.escape(
            "LSTMClassifier.fit: expected X[3] the columns of X[0] ['price', 'volume'] (one set of features for every sequence), "
            "got columns ['volume', 'price'].")):  # fmt: skip
        LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(frames[:3] + swapped[3:], y)
    assert not hasattr(LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit([pd.DataFrame(s) for s in seqs], y), "feature_names_in_")  # 0, 1
    assert not hasattr(clf.fit(seqs, y), "feature_names_in_")  # a refit on arrays drops them


def test_x_of_dtype_object_holding_numbers_is_converted_and_another_element_is_refused_by_index():
    pd = pytest.importorskip("pandas")
    X, y = seq_data(n=10)
    X64 = X.astype(np.float64)
    est = LSTMClassifier(hidden_size=3, epochs=1, seed=0, dtype="float64").fit(X64, y)
    rows = X64.tolist()  # Python floats; one int and one bool, which float() reads as 3.0 and 1.0
    rows[0][0][0], rows[1][2][1] = 3, True
    expected = np.array(rows, dtype=np.float64)
    assert np.array_equal(est.predict_proba(np.array(rows, dtype=object)), est.predict_proba(expected))
    frames = [pd.DataFrame(x, columns=["a", "b"]).astype(object) for x in expected]  # object columns of floats
    assert frames[0].dtypes.tolist() == [object, object]
    assert np.array_equal(est.predict_proba(frames), est.predict_proba(expected))
    ragged = [f.iloc[: 3 + i % 2] for i, f in enumerate(frames)]
    assert np.array_equal(est.predict_proba(ragged), est.predict_proba([x[: 3 + i % 2] for i, x in enumerate(expected)]), equal_nan=True)
    refit = LSTMClassifier(hidden_size=3, epochs=1, seed=0, dtype="float64").fit(np.array(rows, dtype=object), y)
    assert np.array_equal(refit.predict_proba(expected), LSTMClassifier(**refit.get_params()).fit(expected, y).predict_proba(expected))
    # decimal.Decimal (pandas.read_sql's Numeric columns), which check_array(dtype="numeric") converts, was refused:
    # 'expected X numbers ..., got Decimal ...'; float(Decimal(repr(v))) == v for every float v (repr round-trips)
    import decimal

    decimals = np.frompyfunc(lambda v: decimal.Decimal(repr(float(v))), 1, 1)(np.array(rows, dtype=object))
    assert np.array_equal(est.predict_proba(decimals), est.predict_proba(expected))
    assert np.array_equal(est.predict_proba([pd.DataFrame(x) for x in decimals]), est.predict_proba(expected))
    decimals[1, 0, 0] = decimal.Decimal("sNaN")  # float() refuses a signalling NaN
    with pytest.raises(TypeError, match=re.escape("got Decimal Decimal('sNaN') at index (1, 0, 0).")):
        est.predict(decimals)
    rows[2][1][0] = "0.5"
    with pytest.raises(TypeError, match=re.escape(
            "LSTMClassifier.fit: expected X numbers (an array of dtype object is converted when every element is a number within "
            "float64's range), got str '0.5' at index (2, 1, 0).")):  # fmt: skip
        LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(np.array(rows, dtype=object), y)
    frames[4].iloc[2, 1] = None
    with pytest.raises(TypeError, match=re.escape("LSTMClassifier.predict: expected X numbers (an array of dtype object is converted "
                                                  "when every element is a number within float64's range), got NoneType None at index (4, 2, 1).")):  # fmt: skip
        est.predict(frames)
    with pytest.raises(TypeError, match=re.escape("LSTMRegressor.fit: expected X[4] numbers") + ".*" + re.escape("got NoneType None at index (2, 1).")):
        LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit([f.iloc[: 3 + i % 2] for i, f in enumerate(frames)], np.arange(10.0))
    big = np.array(X64.tolist(), dtype=object)
    big[3, 0, 1] = 10**400
    with pytest.raises(TypeError, match=re.escape("got int 1000000000") + ".*" + re.escape("at index (3, 0, 1).")):
        est.predict(big)
    # a finite Decimal beyond float64 is one too (float() reads it as inf, no error: it was said to be missing, 'expected X
    # finite values, got inf ... Remove or impute missing values'); a Decimal NaN or Infinity stays the finite check's
    big = np.array(X64.tolist(), dtype=object)
    big[1, 2, 1], big[4, 0, 0] = decimal.Decimal("-1e400"), decimal.Decimal("1e-400")  # (the tiny one reads as 0.0: taken)
    with pytest.raises(TypeError, match=re.escape(
            "LSTMClassifier.predict: expected X numbers (an array of dtype object is converted when every element is a number "
            "within float64's range), got Decimal Decimal('-1E+400') at index (1, 2, 1).")):  # fmt: skip
        est.predict(big)
    for missing in ("NaN", "Infinity"):
        big[1, 2, 1] = decimal.Decimal(missing)
        with pytest.raises(ValueError, match=r"expected X finite values, got (nan|inf) at index"):
            est.predict(big)


def test_a_fitted_estimator_pickled_before_fitted_params_existed_predicts_and_saves(tmp_path):
    import pickle

    X, y = seq_data(n=10)
    for est, target in ((LSTMClassifier(hidden_size=3, epochs=1, seed=0), y), (LSTMRegressor(hidden_size=3, epochs=1, seed=0), np.arange(10.0))):
        est.fit(X, target)
        old = pickle.loads(pickle.dumps(est))
        del old.__dict__["fitted_params_"]  # as an estimator of a version before fitted_params_ was pickled
        del old.__dict__["readout"]  # ... and before a parameter (readout stands for one added later)
        restored = pickle.loads(pickle.dumps(old))
        assert restored.fitted_params_ == est.fitted_params_  # its get_params() at fit, dtype by name
        assert restored.get_params() == est.get_params() and repr(restored) == repr(est)  # readout at its default
        assert np.array_equal(restored.predict(X), est.predict(X))
        restored.save(tmp_path / "old.npz")
        assert np.array_equal(lstmkit.load(tmp_path / "old.npz").predict(X), est.predict(X))
        assert not hasattr(pickle.loads(pickle.dumps(type(est)(hidden_size=3))), "fitted_params_")  # an unfitted one has none


def test_fit_writes_its_progress_to_the_stream_it_is_given(capsys):
    # fit took no stream: its progress (verbose) went to sys.stdout as it stood, and lstmkit forecast swapped
    # sys.stdout for stderr around the fit to keep its stdout for the table and the forecast
    import io

    X, y = seq_data(n=10)
    for est, target in ((LSTMClassifier(hidden_size=3, epochs=2, seed=0, verbose=2), y),
                        (LSTMRegressor(hidden_size=3, epochs=2, seed=0, verbose=2), np.arange(10.0))):  # fmt: skip
        out = io.StringIO()
        est.fit(X, target, stream=out)
        lines = out.getvalue().splitlines()
        assert [line.split(" - ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
        assert f"loss {est.history_.epochs[1]['loss']:.4f}" in lines[1]
        assert capsys.readouterr().out == ""


def test_validation_data_of_dataframes_is_checked_against_the_training_columns():
    # validation_data's X was read by position only: DataFrames with the training columns swapped (or renamed) were
    # validated on, their features in the wrong places, where predict and score refuse them
    pd = pytest.importorskip("pandas")
    X, y = seq_data(n=10)
    frames = [pd.DataFrame(s, columns=["price", "volume"]) for s in X]
    swapped = [f[["volume", "price"]] for f in frames]
    with pytest.raises(ValueError, match=re.escape(
            "LSTMRegressor.fit: expected validation_data's X columns ['price', 'volume'] (the training X's, in that order), "
            "got ['volume', 'price'] (the same columns in another order). Select them as the training X's")):  # fmt: skip
        LSTMRegressor(hidden_size=3, epochs=1, seed=0).fit(frames, np.arange(10.0), validation_data=(swapped, np.arange(10.0)))
    with pytest.raises(ValueError, match=re.escape("LSTMClassifier.fit: expected validation_data's X columns ['price', 'volume']")):
        LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(frames, y, validation_data=([f.rename(columns={"volume": "size"}) for f in frames], y))
    with pytest.raises(ValueError, match=re.escape("LSTMClassifier.fit: expected validation_data's X[3] the columns of validation_data's X[0]")):
        LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(frames, y, validation_data=(frames[:3] + swapped[3:], y))
    est = LSTMClassifier(hidden_size=3, epochs=1, seed=0)
    for Xv in (frames, X, [f.to_numpy() for f in frames]):  # the same columns, or arrays (no names to compare): validated on
        assert "val_loss" in est.fit(frames, y, validation_data=(Xv, y)).history_.epochs[0]


def test_parameters_are_keyword_only_positional_ones_warn_naming_what_they_bound():
    # API audit #11: LSTMClassifier(16) set hidden_size but LSTMForecaster(16) set window, silently. Parameters are
    # keyword-only now (scikit-learn's rule); positional ones still work for a while, with a FutureWarning naming them
    import inspect

    from lstmkit import LSTMForecaster, TextGenerator

    for cls, first in ((LSTMClassifier, "hidden_size"), (LSTMRegressor, "hidden_size"), (LSTMForecaster, "window"), (TextGenerator, "hidden_size")):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert params[0].name == first and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), cls
        with pytest.warns(FutureWarning, match=re.escape(f"{cls.__name__}: pass {first}=16, num_layers=2 by keyword")) if cls is not LSTMForecaster \
                else pytest.warns(FutureWarning, match=re.escape("LSTMForecaster: pass window=16, horizon=2 by keyword")):
            est = cls(16, 2, seed=3)
        assert est.get_params() == cls(**{first: 16, params[1].name: 2, "seed": 3}).get_params()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cls(**{first: 16})  # by keyword: no warning
        with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: expected {first} one value, got one by position and one by keyword")):
            cls(16, **{first: 8})
        with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: expected positional arguments at most {len(params)}")):
            cls(*range(len(params) + 1))
    base = pytest.importorskip("sklearn.base")
    clf = LSTMClassifier(hidden_size=5, epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clone builds by keyword from get_params, which reads the signature
        copy = base.clone(clf)
    assert copy.get_params() == clf.get_params() and copy.get_params()["hidden_size"] == 5 and "self" not in copy.get_params()


def test_the_same_seed_and_data_write_byte_identical_model_files(tmp_path, capsys):
    # determinism audit #3: the weights were bit-equal, but each file differed, by the epochs' "time" in its history
    # (content hashes of make, DVC, CI saw a new model on every run). The file leaves it out; a file with it loads
    from lstmkit import LSTMForecaster, TextGenerator
    from lstmkit.cli import main
    from lstmkit.modelfile import read_model, save_model

    X, y = seq_data(n=16)
    series = 10 + np.sin(np.arange(30) / 3)
    text = "abcab cabca bcabc " * 4
    fits = {
        "c": lambda: LSTMClassifier(hidden_size=2, epochs=2, batch_size=8, seed=0).fit(X, y),
        "r": lambda: LSTMRegressor(hidden_size=2, epochs=2, batch_size=8, validation_split=0.25, seed=0).fit(X, X.sum(axis=(1, 2))),
        "f": lambda: LSTMForecaster(window=4, horizon=2, hidden_size=2, epochs=2, seed=0).fit(series),
        "g": lambda: TextGenerator(hidden_size=3, seq_len=5, batch_size=2, epochs=2, seed=0).fit(text),
    }
    for key, fit in fits.items():
        for run in (1, 2):
            fit().save(tmp_path / f"{key}{run}.npz")
        assert (tmp_path / f"{key}1.npz").read_bytes() == (tmp_path / f"{key}2.npz").read_bytes(), key
    np.savez(tmp_path / "d.npz", X=X, y=y)
    np.savetxt(tmp_path / "s.csv", series, header="y", comments="")
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    for run in (1, 2):
        assert main(["train", str(tmp_path / "d.npz"), "--hidden-size", "2", "--epochs", "2", "--model-out", str(tmp_path / f"ct{run}.npz")]) == 0
        assert main(["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "2", "--hidden-size", "3", "--seq-len", "5", "--batch-size", "2",
                     "--length", "3", "--prime", "a", "--model-out", str(tmp_path / f"cg{run}.npz")]) == 0  # fmt: skip
        assert main(["forecast", str(tmp_path / "s.csv"), "--column", "y", "--window", "4", "--hidden-size", "2", "--epochs", "2",
                     "--model-out", str(tmp_path / f"cf{run}.npz")]) == 0  # fmt: skip
    capsys.readouterr()
    for key in ("ct", "cg", "cf"):
        assert (tmp_path / f"{key}1.npz").read_bytes() == (tmp_path / f"{key}2.npz").read_bytes(), key
    # a file written before, with the times, loads with them
    mf = read_model(tmp_path / "c1.npz")
    timed = [dict(e, time=0.25) for e in mf.extra["history"]]
    save_model(tmp_path / "old.npz", mf.kind, mf.config, mf.arrays, dict(mf.extra, history=timed))
    assert LSTMClassifier.load(tmp_path / "old.npz").history_["time"] == [0.25, 0.25]
