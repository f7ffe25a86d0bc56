"""Hostile .keras / .weights.h5 files, built with h5py alone (no Keras): the reader must never read
outside the file (external raw-data storage, virtual datasets, soft and external links) nor allocate
far beyond the file's own size (a sparse dataset, a deflated zip entry declaring gigabytes), and each
refusal names the file and the entry (helper-89's deployer audit, finding 1)."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from lstmkit import FileFormatError  # noqa: E402
from lstmkit.cli import main  # noqa: E402
from lstmkit.interop.keras import model_from_keras, read_keras  # noqa: E402

SECRET = b"TOPSECRET-" * 40


def _good_vars(g, I=3, H=4):
    g["1"] = np.zeros((H, 4 * H), "f4")
    g["2"] = np.zeros(4 * H, "f4")


def _hostile(tmp_path, kind):
    """A .weights.h5 whose layers/lstm/cell/vars/0 (the (3, 16) kernel) is ``kind``."""
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    path = tmp_path / f"{kind}.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        if kind == "external":
            g.create_dataset("0", shape=(3, 16), dtype="f4", external=[(str(secret), 0, 192)])
        elif kind == "virtual":
            with h5py.File(tmp_path / "other.h5", "w") as o:
                o["k"] = np.frombuffer(SECRET[:192], "f4").reshape(3, 16)
            layout = h5py.VirtualLayout(shape=(3, 16), dtype="f4")
            layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "k", shape=(3, 16))
            g.create_virtual_dataset("0", layout)
        elif kind == "external_link":
            with h5py.File(tmp_path / "other.h5", "w") as o:
                o["k"] = np.frombuffer(SECRET[:192], "f4").reshape(3, 16)
            g["0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/k")
        elif kind == "soft_link":
            g["k"] = np.zeros((3, 16), "f4")
            del g["k"]
            f["elsewhere"] = np.frombuffer(SECRET[:192], "f4").reshape(3, 16)
            g["0"] = h5py.SoftLink("/elsewhere")
        elif kind == "huge":  # 16 KB on disk, 48 GB declared: over io.MAX_ELEMENTS
            g.create_dataset("0", shape=(3, 4 * 10**9), dtype="f4", chunks=(1, 1 << 20))
        elif kind == "sparse":  # 16 KB on disk, 1.5 GB declared (no chunk written)
            g.create_dataset("0", shape=(3, 1 << 27), dtype="f4", chunks=(1, 1 << 20))
        _good_vars(g)
    return path


KINDS = {"external": "external storage", "virtual": "virtual dataset", "external_link": "ExternalLink",
         "soft_link": "SoftLink", "huge": "elements", "sparse": "bytes declared"}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_weights_h5_never_reads_outside_the_file(tmp_path, kind):
    path = _hostile(tmp_path, kind)
    with pytest.raises(FileFormatError) as info:
        model_from_keras(path)
    msg = str(info.value)
    assert str(path) in msg and KINDS[kind] in msg, msg
    assert "layers/lstm/cell/vars/0" in msg, msg


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_convert_refuses_and_writes_nothing(tmp_path, kind, capsys):
    path = _hostile(tmp_path, kind)
    out = tmp_path / "out.npz"
    assert main(["convert", str(path), str(out)]) != 0
    assert not out.exists()
    assert b"TOPSECRET" not in capsys.readouterr().err.encode()


def test_keras_zip_with_external_storage_is_refused(tmp_path):
    """The same inside a .keras zip (the HDF5 image is opened from memory; its external file from the disk)."""
    h5 = _hostile(tmp_path, "external")
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_sequences": True}}]}}  # fmt: skip
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(h5, "model.weights.h5")
    with pytest.raises(FileFormatError, match="external storage"):
        read_keras(path)


def test_keras_zip_bomb_is_refused_before_inflating(tmp_path):
    """A model.weights.h5 entry declaring 64 MiB of zeros from a few KB deflated: refused from the zip's
    directory, naming the entry, before zf.read inflates it."""
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\0" * (64 << 20))
    assert path.stat().st_size < 1 << 20
    with pytest.raises(FileFormatError, match=r"^read_keras: expected .*bomb\.keras a \.keras zip .*, got one where entry 'model\.weights\.h5' "
                                              r"declares 67108864 bytes from \d+ compressed, \d+ times as many: a decompression bomb.*Keras\.$"):
        read_keras(path)


def _keras_file(tmp_path, units=4, dense_bias=None, name="m.keras"):
    """A .keras as Keras 3 lays one out (config.json + model.weights.h5), written by hand: LSTM(4) over
    3 inputs, returning sequences, then Dense(2). ``units`` is what config.json says."""
    h5 = tmp_path / "w.h5"
    rng = np.random.default_rng(0)
    with h5py.File(h5, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"], g["1"], g["2"] = rng.normal(size=(3, 16)).astype("f4"), rng.normal(size=(4, 16)).astype("f4"), np.zeros(16, "f4")
        d = f.create_group("layers/dense/vars")
        d["0"] = rng.normal(size=(4, 2)).astype("f4")
        d["1"] = np.zeros(2, "f4") if dense_bias is None else np.asarray(dense_bias, "f4")
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": units, "return_sequences": True}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}  # fmt: skip
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(h5, "model.weights.h5")
    return path


def test_keras_config_sizes_are_compared_with_the_weights_before_building(tmp_path):
    """Finding 2: config.json's units are compared with the arrays' shapes before LSTM(I, H) is built:
    units=10**9 over 4-unit weights would allocate 89 GiB. The refusal names the file and the layer."""
    assert read_keras(_keras_file(tmp_path))[0].hidden_size == 4  # the file as written reads
    for units in (10**9, 8):
        path = _keras_file(tmp_path, units=units, name=f"u{units}.keras")
        with pytest.raises(FileFormatError) as info:
            read_keras(path)
        msg = str(info.value)
        assert msg.startswith(f"read_keras: expected {path} layer 'lstm' kernel shape (3, {4 * units}) (units {units}, input size 3), "
                              "got shape (3, 16)."), msg


def test_keras_non_finite_weight_is_refused_at_read_naming_the_layer(tmp_path):
    """Finding 6: a NaN in the Dense was refused at save time, blaming the writer (save_model)."""
    path = _keras_file(tmp_path, dense_bias=[0.0, np.nan])
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {path} Dense bias finite values, got nan at index \(1,\)"):
        read_keras(path)
    out = tmp_path / "o.npz"
    assert main(["convert", str(path), str(out)]) != 0 and not out.exists()


def _dense_f64_file(tmp_path, kernel, bias, name):
    """A .weights.h5: float32 LSTM(4) weights over 3 inputs (so a float32 model), then a float64 Dense (4, 2)."""
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"] = np.zeros((3, 16), "f4")
        _good_vars(g)
        d = f.create_group("layers/dense/vars")
        d["0"], d["1"] = kernel, bias
    return path


def test_a_dense_value_beyond_the_models_float32_range_is_named_as_stored(tmp_path):
    """A float64 Dense beside float32 LSTM weights: a 1e39 (> float32's 3.4028235e38) was cast to inf with
    NumPy's overflow warning only, and model_from_keras said 'head.weight finite values, got NaN or inf',
    naming neither the file nor the value. Named as stored: the kernel's (F, O) index, not the read-out's."""
    import warnings

    kernel, bias = np.zeros((4, 2)), np.zeros(2)
    kernel[1, 0] = 1e39
    path = _dense_f64_file(tmp_path, kernel, bias, "k.weights.h5")
    big_bias = _dense_f64_file(tmp_path, np.zeros((4, 2)), np.array([0.0, -1e39]), "b.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'overflow encountered in cast'
        for read in (read_keras, model_from_keras):
            with pytest.raises(FileFormatError, match=rf"^{read.__name__}: expected {path} Dense kernel values within float32's range "
                                                      r"\(±3\.4e38\), got 1e\+39 at index \(1, 0\)\."
                                                      r" lstmkit reads a Keras model in the float type of its first LSTM kernel \(float32 here\): save the Keras model in float64"):
                read(path)
            with pytest.raises(FileFormatError, match=rf"^{read.__name__}: expected {big_bias} Dense bias values within float32's range "
                                                      r"\(±3\.4e38\), got -1e\+39 at index \(1,\)\."
                                                      r" lstmkit reads a Keras model in the float type of its first LSTM kernel \(float32 here\): save the Keras model in float64"):
                read(big_bias)
    kernel[1, 0] = 3e38  # within the range: read as given, at the read-out's (O, F) index
    _, readout, _ = read_keras(_dense_f64_file(tmp_path, kernel, bias, "ok.weights.h5"))
    assert readout["weight"].dtype == np.float32 and readout["weight"][0, 1] == np.float32(3e38)


def test_weights_h5_variable_names_other_than_numbers_are_refused(tmp_path):
    path = tmp_path / "x.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["x"] = np.zeros((3, 16), "f4")
        _good_vars(g)
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {path} the variables of /layers/lstm/cell/vars named 0, 1, 2"):
        read_keras(path)


def test_weights_h5_datasets_out_of_proportion_together_are_refused_before_reading(tmp_path, monkeypatch):
    """helper-105 finding 1: datasets each declaring less than io.BOMB_MIN_BYTES and storing nothing (chunked,
    never written) passed one by one and were all allocated: 60 of 8 MiB in a 42 KB file read with 534 MiB.
    Their sum is bounded as io bounds a zip's deflated entries together. Here at small scale: BOMB_MIN_BYTES
    64 KiB, three extra vars of 60 KiB each (180 KiB declared in all) beside 512 bytes of real weights."""
    import lstmkit.io

    monkeypatch.setattr(lstmkit.io, "BOMB_MIN_BYTES", 64 << 10)
    path = tmp_path / "many.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"] = np.zeros((3, 16), "f4")
        _good_vars(g)
        for k in (3, 4, 5):
            g.create_dataset(str(k), shape=(15 << 10,), dtype="f4", chunks=(1 << 10,), fillvalue=0)
    declared = 512 + 3 * (60 << 10)
    said = (rf"^read_keras: expected {path} datasets at most 2147483648 bytes declared in all, and at most 100 times what they "
            rf"store once over 65536 bytes, got 6 datasets declaring {declared} bytes over 512 stored \(sparse or compressed\)\.")  # fmt: skip
    with pytest.raises(FileFormatError, match=said):
        read_keras(path)


def test_weights_h5_links_are_walked_without_h5py_3_11(tmp_path, monkeypatch):
    """helper-105 finding 3: Group.visititems_links is new in h5py 3.11 and pyproject allows h5py>=3; every file
    read failed with AttributeError on h5py 3.0-3.10. Links are walked with group.get(name, getlink=True); a
    soft link deep in the optimizer's vars is still refused, and a hard link looping back to a group is read."""
    monkeypatch.delattr(h5py.Group, "visititems_links", raising=False)
    monkeypatch.delattr(h5py.Group, "visit_links", raising=False)
    path = tmp_path / "ok.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"] = np.zeros((3, 16), "f4")
        _good_vars(g)
        f["layers/lstm/loop"] = f["layers"]  # a hard link back up the tree: visited once
    assert read_keras(path)[0].hidden_size == 4
    with h5py.File(path, "a") as f:
        f["optimizer/vars/3"] = h5py.SoftLink("/layers/lstm/cell/vars/0")
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {path} entry /optimizer/vars/3 a hard link .*, got SoftLink to /layers"):
        read_keras(path)


@pytest.mark.parametrize("case", ["leading zero", "extra", "gap", "non-ASCII digit", "too few"])
def test_weights_h5_variable_names_must_be_keras_numbering(tmp_path, case):
    """helper-105 finding 2: names were tested with str.isdigit and sorted by int, so "02" beside "2" sorted
    as index 2 (stable: after "2") and the file's bias was replaced by zeros without a word; extra vars were
    ignored, a gap misread, '²' (isdigit, no int) was int()'s message. Names must be exactly "0".."n-1" and
    an LSTM cell's count 2 or 3, refused naming the group and the names before any dataset is read."""
    path = tmp_path / "v.weights.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"], g["1"], g["2"] = np.zeros((3, 16), "f4"), np.zeros((4, 16), "f4"), np.ones(16, "f4")  # the bias: ones
        if case == "leading zero":
            g["02"] = np.zeros(16, "f4")
        elif case == "extra":
            g["3"] = np.zeros(16, "f4")
        elif case == "gap":
            g.move("2", "5")
        elif case == "non-ASCII digit":
            g.move("2", "\u0662")  # ARABIC-INDIC DIGIT TWO: isdigit() and int() both accept it
        else:
            del g["1"], g["2"]
    got = {"leading zero": r"\['0', '02', '1', '2'\]", "extra": None, "gap": r"\['0', '1', '5'\]",
           "non-ASCII digit": r"\['0', '1', '\u0662'\]", "too few": None}[case]  # fmt: skip
    if got is not None:
        said = rf"^read_keras: expected {path} the variables of /layers/lstm/cell/vars named 0, 1, 2, \.\.\. .*no gap\), got {got}\.$"
    else:
        n, names = (4, "'0', '1', '2', '3'") if case == "extra" else (1, "'0'")
        said = rf"^read_keras: expected {path} the variables of /layers/lstm/cell/vars 2 or 3 of them .*, got {n}: \[{names}\]\.$"
    with pytest.raises(FileFormatError, match=said):
        read_keras(path)


def _two_lstm_file(tmp_path, kernel_1, name, rate=0.2):
    """A .keras written by hand: LSTM(4) over 3 inputs, Dropout(rate), LSTM(4) whose kernel is ``kernel_1``."""
    h5 = tmp_path / "w2.h5"
    with h5py.File(h5, "w") as f:
        g = f.create_group("layers/lstm/cell/vars")
        g["0"] = np.zeros((3, 16), "f4")
        _good_vars(g)
        g = f.create_group("layers/lstm_1/cell/vars")
        g["0"] = kernel_1
        _good_vars(g)
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_sequences": True}},
        {"class_name": "Dropout", "config": {"name": "dropout", "rate": rate}},
        {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 4, "return_sequences": True}}]}}  # fmt: skip
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(h5, "model.weights.h5")
    return path


def test_the_files_refusals_are_told_from_other_errors_by_their_type_not_their_text(tmp_path, monkeypatch):
    """helper-122 item 3: a ValueError raised while building the model was taken for a refusal of the file when its
    text looked like lstmkit's ('<name>: expected ..., got ...'), and any KeyError or TypeError for a damaged file:
    a bug of lstmkit's (here layout.from_keras failing) was reported as 'read_keras: PATH: from_keras: expected ...'
    or 'expected PATH a Keras 3 LSTM model file ..., got KeyError', blaming the user's good file. Now only the reader's
    own refusals (an exception type of its own) name the file; the rest goes on as raised, with its traceback.
    helper-105 finding 8 before it: every ValueError (NumPy's, a bug's) became a FileFormatError (from None)."""
    import traceback

    from lstmkit import layout

    path = _keras_file(tmp_path)
    for raised in (ValueError("from_keras: expected recurrent_kernel shape (H, 4H), got shape (4, 16)."), KeyError("weight_ih")):

        def broken(*args, raised=raised, **kwargs):
            raise raised

        monkeypatch.setattr(layout, "from_keras", broken)
        with pytest.raises(type(raised)) as info:
            read_keras(path)
        assert type(info.value) is type(raised) and info.value is raised, str(info.value)
        assert "broken" in "".join(traceback.format_tb(info.value.__traceback__))
    monkeypatch.undo()
    bad = _keras_file(tmp_path, units=8, name="u8.keras")  # lstmkit's refusal of the file: still FileFormatError naming it
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {bad} layer 'lstm' kernel shape"):
        read_keras(bad)
    # the file's own faults, refused as before: a Dropout rate LSTM refuses, said as the file's, naming the layer
    bad_rate = _two_lstm_file(tmp_path, np.zeros((4, 16), "f4"), "rate.keras", rate=1.5)
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {bad_rate} layer 'dropout' rate a number in \[0, 1\), got 1\.5\.$"):
        read_keras(bad_rate)
    # a float64 1e39 in the second layer of a float32 model (its first layer's kernel is float32): named by its Keras
    # layer, not as 'read_keras: PATH: LSTM.load_state_dict: expected weight_ih_l1 values within float32's range'
    kernel = np.zeros((4, 16))
    kernel[2, 5] = 1e39
    big = _two_lstm_file(tmp_path, kernel, "big.keras")
    with pytest.raises(FileFormatError, match=rf"^read_keras: expected {big} layer 'lstm_1' kernel values within float32's range \(±3\.4e38\), "
                                              r"got 1e\+39 at index \(2, 5\)\."  # the advice fits a file: no dtype= to give
                                              r" lstmkit reads a Keras model in the float type of its first LSTM kernel \(float32 here\): save the Keras model in float64"):  # fmt: skip
        read_keras(big)
    module, _, _ = read_keras(_two_lstm_file(tmp_path, np.full((4, 16), 3e38), "ok.keras"))  # within the range: read
    assert module.dtype == np.float32 and module.dropout == 0.2 and module.weight_ih_l1[5, 2] == np.float32(3e38)


def _stack_file(tmp_path, layers, name):
    """A .keras written by hand: ``layers`` (configs) after an InputLayer of 3 features; each LSTM of them
    (named lstm, lstm_1, ..., as Keras names their weight groups) is LSTM(4) over zero weights."""
    h5 = tmp_path / f"{name}.h5"
    with h5py.File(h5, "w") as f:
        for k, lay in enumerate(lc for lc in layers if lc["class_name"] == "LSTM"):
            g = f.create_group(f"layers/lstm{'_' + str(k) if k else ''}/cell/vars")
            g["0"] = np.zeros((3 if k == 0 else 4, 16), "f4")
            _good_vars(g)
    config = {"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}}, *layers]}}
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(h5, "model.weights.h5")
    return path


def _lstm(name, **kw):
    return {"class_name": "LSTM", "config": {"name": name, "units": 4, "return_sequences": True, **kw}}


def _drop(name, rate):
    return {"class_name": "Dropout", "config": {"name": name, "rate": rate}}


def test_a_rate_not_a_number_in_0_1_is_refused_naming_the_files_layer(tmp_path):
    """helper-140 findings 4 and 7: a Dropout rate "abc" or an LSTM dropout "x" escaped as Python's bare 'could not
    convert string to float', naming neither the file nor the layer; an LSTM's dropout 1.5 was named by lstmkit's
    option ('LSTM: expected dropout_input ...'), a Dropout's 1.5 as 'LSTM: expected dropout', not by the file's layer.
    Each is refused before the model is built, naming the file and the layer's key as the file holds it."""
    for layers, said in (
        ([_lstm("lstm"), _drop("d", "abc"), _lstm("lstm_1")], "layer 'd' rate a number in [0, 1), got 'abc'."),
        ([_lstm("lstm"), _drop("d", None), _lstm("lstm_1")], "layer 'd' rate a number in [0, 1), got None."),
        ([_lstm("lstm"), _drop("d", 1.5), _lstm("lstm_1")], "layer 'd' rate a number in [0, 1), got 1.5."),
        ([_lstm("lstm", dropout="x")], "layer 'lstm' dropout a number in [0, 1), got 'x'."),
        ([_lstm("lstm", dropout=1.5)], "layer 'lstm' dropout a number in [0, 1), got 1.5."),
        ([_lstm("lstm", recurrent_dropout=-0.1)], "layer 'lstm' recurrent_dropout a number in [0, 1), got -0.1."),
    ):  # fmt: skip
        path = _stack_file(tmp_path, layers, "r.keras")
        with pytest.raises(FileFormatError) as raised:
            read_keras(path)
        assert str(raised.value) == f"read_keras: expected {path} {said}", str(raised.value)
    module, _, _ = read_keras(_stack_file(tmp_path, [_lstm("lstm", dropout=0.25, recurrent_dropout=0), _drop("d", 0), _lstm("lstm_1", dropout=0.25)], "ok.keras"))
    assert module.dropout == 0.0 and module.variant.changed() == {"dropout_input": 0.25}


def test_dropouts_between_lstm_layers_lstmkit_cannot_hold_are_read_with_a_warning(tmp_path):
    """helper-140 finding 5: Dropouts between LSTM layers were folded silently into lstmkit's one rate, the last
    one read: two in a row, Dropout(0.2) then Dropout(0.5), read as 0.5 (they act as one of rate 1 - 0.8 * 0.5 = 0.6:
    each keeps an element with probability 1 - rate and scales it by 1 / (1 - rate), independently); 0.2 between
    the first two of three layers and none between the last two read as 0.2 between both; 0.2 then 0.5 as 0.5 for
    both. Two in a row now read as 0.6 (exact); rates that differ between pairs, with a warning naming every gap,
    pointing at the caller's line. One rate between every pair: no warning."""
    import warnings

    for layers, rate, gaps in (
        ([_lstm("lstm"), _drop("d1", 0.2), _drop("d2", 0.5), _lstm("lstm_1")], 0.6, None),
        ([_lstm("lstm"), _drop("d1", 0.3), _lstm("lstm_1"), _drop("d2", 0.3), _lstm("lstm_2")], 0.3, None),
        ([_lstm("lstm"), _lstm("lstm_1"), _lstm("lstm_2")], 0.0, None),
        ([_lstm("lstm"), _drop("d1", 0.2), _lstm("lstm_1"), _lstm("lstm_2")], 0.2,
         "between 'lstm' and 'lstm_1': 'd1' Dropout(rate=0.2); between 'lstm_1' and 'lstm_2': none"),
        ([_lstm("lstm"), _drop("d1", 0.2), _lstm("lstm_1"), _drop("d2", 0.5), _lstm("lstm_2")], 0.5,
         "between 'lstm' and 'lstm_1': 'd1' Dropout(rate=0.2); between 'lstm_1' and 'lstm_2': 'd2' Dropout(rate=0.5)"),
    ):  # fmt: skip
        path = _stack_file(tmp_path, layers, "g.keras")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module, _, _ = read_keras(path)
        assert module.dropout == pytest.approx(rate, abs=1e-15), layers
        assert [str(w.message) for w in caught] == ([] if gaps is None else [
            f"read_keras: the Dropout layers between the LSTM layers ({gaps}) are read as one dropout={rate:g} between every two stacked "
            "LSTM layers: lstmkit's dropout has one rate for all of them. Dropout acts in training only, so the model read computes "
            f"what Keras' model(x) and predict compute; trained further, it trains with dropout={rate:g} between every two layers."])
        assert all(w.filename == __file__ for w in caught)


def test_a_deeply_nested_config_or_a_weights_entry_that_is_not_hdf5_is_a_file_format_error(tmp_path, capsys):
    """helper-153 #6: a config.json of '[' * 100000 raised RecursionError ("lstmkit: error: maximum recursion depth
    exceeded while decoding a JSON array", no file named), and a model.weights.h5 entry that is no HDF5 file a bare
    OSError ("Unable to synchronously open file (file signature not found)", neither file nor entry named). Both
    are FileFormatErrors naming the file and the entry; the command line says them in one line."""
    deep, not_h5 = tmp_path / "deep.keras", tmp_path / "noth5.keras"
    with zipfile.ZipFile(deep, "w") as z:
        z.writestr("config.json", "[" * 100000 + "]" * 100000)
        z.writestr("model.weights.h5", b"x")
    with zipfile.ZipFile(not_h5, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
        z.writestr("model.weights.h5", b"x" * 1000)
    for path, said in ((deep, r"entry config\.json JSON nested as Keras writes it, got JSON nested too deeply to parse\."),
                       (not_h5, r"entry model\.weights\.h5 an HDF5 file, got one h5py cannot open \(.*signature.*\)\.")):  # fmt: skip
        with pytest.raises(FileFormatError, match=rf"^read_keras: expected {re.escape(str(path))} {said} Save the model again with Keras\.$"):
            read_keras(path)
        assert main(["convert", str(path), str(tmp_path / "o.npz")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and "lstmkit: error:" in err, err


def test_a_weights_h5_h5py_cannot_open_or_without_layers_is_a_file_format_error(tmp_path):
    """helper-185 B: a .weights.h5 that is no HDF5 file, or one cut short, was a plain ValueError; an HDF5 file
    without Keras' 'layers' group too. FileFormatErrors now, as the .keras refusals are, naming the file."""
    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as f:
        _good_vars(f.create_group("layers/lstm/cell/vars"))
        f["layers/lstm/cell/vars/0"] = np.zeros((3, 16), "f4")
    whole = good.read_bytes()
    not_h5, cut, no_layers = (tmp_path / f"{n}.weights.h5" for n in ("noth5", "cut", "nolayers"))
    not_h5.write_bytes(b"x" * 1000)
    cut.write_bytes(whole[: len(whole) // 2])  # the superblock says how long the file was: h5py sees it cut
    with h5py.File(no_layers, "w") as f:
        f["weights"] = np.zeros(3)
    for path, said in ((not_h5, r"an HDF5 weights file \(\.weights\.h5\), got a file h5py cannot open \(.*signature.*\)\. Save"),
                       (cut, r"an HDF5 weights file \(\.weights\.h5\), got a file h5py cannot open \(.*truncated.*\)\. Save"),
                       (no_layers, r"Keras 3 weights \(a 'layers' group\), got groups \['weights'\]\.$")):  # fmt: skip
        with pytest.raises(FileFormatError, match=rf"^read_keras: expected {re.escape(str(path))} {said}"):
            read_keras(path)
