"""Readers for user data: every error names the file, the column or line, and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from lstmkit.tables import read_array, read_csv_columns, read_csv_sequences, read_text


def test_csv_columns_and_errors(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x,y\n1,2\n3,4\n")
    np.testing.assert_array_equal(read_csv_columns(p, ["y", 0]), [[2, 1], [4, 3]])
    with pytest.raises(KeyError, match=r"expected a column among \['x', 'y'\]"):
        read_csv_columns(p, "z")
    p.write_text("x,y\n1,2\n3,inf\n")
    with pytest.raises(ValueError, match="got 'inf' on line 3"):
        read_csv_columns(p, "y")
    p.write_text("x,y\n1,two\n")
    with pytest.raises(ValueError, match="expected a number in column 'y', got 'two' on line 2"):
        read_csv_columns(p, "y")
    p.write_text("")
    with pytest.raises(ValueError, match="empty file"):
        read_csv_columns(p, "y")


@pytest.mark.filterwarnings("ignore::lstmkit.tables.CSVWarning")  # u's label varies (x then y): warned of below
def test_long_csv_sequences_are_grouped_and_padded(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("id,a,b,label\nu,1,2,x\nu,3,4,y\nv,5,6,z\n")
    X, y, lengths = read_csv_sequences(p, target="label", group="id")
    np.testing.assert_array_equal(X, [[[1, 2], [3, 4]], [[5, 6], [0, 0]]])
    np.testing.assert_array_equal(lengths, [2, 1])
    assert y.tolist() == ["y", "z"]  # the label of each sequence's last row
    _, y_steps, _ = read_csv_sequences(p, target="label", group="id", per_step=True)
    assert y_steps.tolist() == [["x", "y"], ["z", "z"]]  # padding repeats the last label (ignored)
    X_wide, _, none = read_csv_sequences(p, features="a,b")
    assert X_wide.shape == (3, 2, 1) and none is None
    info = read_csv_sequences(p, target="label", group="id", info=True)[3]
    assert info == {"ids": ["u", "v"], "features": ["a", "b"], "steps": None}  # the group values in file order; the columns read
    assert read_csv_sequences(p, features=["b"], group="id", info=True)[3]["features"] == ["b"]  # a list of names
    assert read_csv_sequences(p, features="a,b", info=True)[3] == {"ids": None, "features": None, "steps": ["a", "b"]}  # wide: its columns are steps


def test_arrays_text_and_missing_files(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((2, 3)), y=np.arange(2))
    assert read_array(tmp_path / "d.npz", "X").shape == (2, 3)
    with pytest.raises(KeyError, match="expected a key naming one of the arrays"):
        read_array(tmp_path / "d.npz")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="without pickled objects"):
        read_array(tmp_path / "o.npy")
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.txt")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ValueError, match="expected UTF-8 text"):
        read_text(tmp_path / "b.txt")


def test_a_byte_order_mark_is_not_part_of_the_first_header(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfa,b,label\n1,2,x\n3,4,y\n")
    np.testing.assert_array_equal(read_csv_columns(p, "a"), [[1], [3]])  # was: no column 'a', only '\ufeffa'
    p.write_bytes(b"a,b\n\xff,2\n")
    with pytest.raises(ValueError, match=r"bom.csv: expected a CSV in UTF-8, got undecodable bytes at position 4"):
        read_csv_columns(p, "a")
    # the offset in the file, a byte-order mark counted (it was counted from after the mark, and, in a
    # long CSV, from the start of the decoder's chunk): the byte 0xff at offset 3 + 4 = 7, at 70004
    p.write_bytes(b"\xef\xbb\xbfa,b\n\xff,2\n")
    with pytest.raises(ValueError, match=r"bom.csv: expected a CSV in UTF-8, got undecodable bytes at position 7\. Save it as UTF-8\."):
        read_csv_columns(p, "a")
    p.write_bytes(b"a,b\n" + b"1,2\n" * 17500 + b"\xff,2\n")
    with pytest.raises(ValueError, match=r"bom.csv: expected a CSV in UTF-8, got undecodable bytes at position 70004\."):
        read_csv_columns(p, "a")
    t = tmp_path / "bom.txt"
    t.write_bytes(b"\xef\xbb\xbfab\xff")
    with pytest.raises(ValueError, match=r"bom.txt: expected UTF-8 text, got undecodable bytes at position 5\. Save it as UTF-8\."):
        read_text(t)


def test_a_file_numpy_cannot_read_is_named_with_what_it_is(tmp_path):
    from lstmkit.tables import array_names

    np.savez(tmp_path / "d.npz", X=np.ones((2, 3)), y=np.arange(2))
    assert array_names(tmp_path / "d.npz") == ["X", "y"]
    np.save(tmp_path / "a.npy", np.arange(100.0))
    assert array_names(tmp_path / "a.npy") is None
    data, npy = (tmp_path / "d.npz").read_bytes(), (tmp_path / "a.npy").read_bytes()
    for name, content, what in (
        ("cut.npz", data[:300], "a truncated zip archive (.npz): the directory of its arrays, at the end, is missing"),
        ("empty.npz", b"", "an empty file"),
        ("text.npz", b"hello\n", "a file that is neither a zip archive (.npz) nor a .npy file (it begins b'hello\\n')"),
        ("cut.npy", npy[:150], "a truncated or damaged .npy file"),
    ):
        (tmp_path / name).write_bytes(content)
        for read in (read_array, array_names):
            with pytest.raises(ValueError) as e:  # was zipfile.BadZipFile, EOFError, or 'pickled data'
                read(tmp_path / name)
            assert str(e.value).startswith(f"{tmp_path / name}: expected a NumPy .npz/.npy file, got {what}"), str(e.value)
    flipped = bytearray(data)
    flipped[data.index(b"\x93NUMPY") + 140] ^= 0xFF  # a byte of X's data: the zip's CRC catches it
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"flip.npz: expected an intact array 'X', got a damaged entry \(Bad CRC-32"):
        read_array(tmp_path / "flip.npz", "X")


def test_csv_labels_that_all_read_as_numbers_are_numbers(tmp_path):
    # 1 and 1.0 are one number: as numbers they make two classes, 0 and 1 (as text they made three)
    p = tmp_path / "w.csv"
    p.write_text("a,b,label\n1,2,1\n3,4,1.0\n5,6,0\n7,8,+0e0\n")
    _, y, _ = read_csv_sequences(p, features="a,b", target="label")
    assert y.dtype.kind == "i" and y.tolist() == [1, 1, 0, 0]
    p.write_text("a,b,label\n1,2,0.5\n3,4,1\n")  # not all integral: floats
    assert read_csv_sequences(p, features="a,b", target="label")[1].tolist() == [0.5, 1.0]
    for cells in (("1", "cat"), ("1", "nan"), ("1", "1_0"), ("1", "inf")):  # one cell is not a finite number: all text
        p.write_text(f"a,label\n1,{cells[0]}\n2,{cells[1]}\n")
        assert read_csv_sequences(p, features="a", target="label")[1].tolist() == list(cells)
    p.write_text("id,a,label\nu,1,1.0\nu,2,2\nv,3,1\n")  # per step, padded with the last label
    assert read_csv_sequences(p, target="label", group="id", per_step=True)[1].tolist() == [[1, 2], [1, 1]]


def test_long_csv_warns_of_a_target_varying_in_a_group_and_of_interleaved_groups(tmp_path):
    from lstmkit.tables import CSVWarning

    p = tmp_path / "s.csv"
    p.write_text("id,a,label\nu,1,x\nu,2,y\nv,3,z\nv,4,z\nw,5,q\n")  # u's label changes: x then y
    with pytest.warns(CSVWarning) as record:
        _, y, _ = read_csv_sequences(p, target="label", group="id")
    assert y.tolist() == ["y", "z", "q"] and len(record) == 1  # once, however many groups
    assert "the target 'label' varies within 1 of 3 groups" in str(record[0].message) and "--per-step" in str(record[0].message)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv_sequences(p, target="label", group="id", per_step=True)  # a label per row: nothing to warn of
    p.write_text("id,a,label\nu,1,x\nv,2,y\nu,3,x\n")  # u's rows on lines 2 and 4, v's between
    with pytest.warns(CSVWarning, match=r"1 of 2 groups of column 'id' \(first 'u'\) have their rows interleaved") as record:
        X, _, _ = read_csv_sequences(p, target="label", group="id")
    assert len(record) == 1 and "file order" in str(record[0].message)
    np.testing.assert_array_equal(X[0, :, 0], [1, 3])  # file order


def test_a_csv_separated_by_semicolons_is_named_as_such(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("month;passengers\n1949-01;112\n")  # read with commas: one column named 'month;passengers'
    with pytest.raises(KeyError, match="The file seems to use ';' between fields; lstmkit reads CSVs separated by commas"):
        read_csv_columns(p, "passengers")
    p.write_text("month,passengers\n1949-01,112\n")
    with pytest.raises(KeyError) as err:
        read_csv_columns(p, "pasengers")
    assert "seems to use" not in str(err.value)


def test_a_wide_csv_with_missing_values_is_told_of_the_long_layout(tmp_path):
    # sequences of different lengths written a row each: the short ones end in empty cells (a spreadsheet's
    # export) or in fewer fields. Both name the row and point to the long layout (it said "expected a number
    # in column 'x3', got ''")
    p = tmp_path / "w.csv"
    fix = "Sequences of different lengths? Use the long layout: a row per step, a column naming each row's sequence, read with --group COLUMN (group=COLUMN)."
    p.write_text("x1,x2,x3,label\n1,2,3,a\n4,5,,b\n")
    with pytest.raises(ValueError) as e:
        read_csv_sequences(p, target="label")
    assert str(e.value) == (f"{p}: expected a number in every step column of a wide CSV (a row per sequence; its steps 'x1', 'x2', "
                            f"'x3'), got an empty cell in column 'x3' on line 3 (missing values). {fix}")  # fmt: skip
    p.write_text("x1,x2,x3,label\n1,2,3,a\n4,5,b\n")
    with pytest.raises(ValueError) as e:
        read_csv_sequences(p, target="label")
    assert str(e.value) == f"{p}: expected 4 fields on every row (as in the header), got 3 on line 3 (ragged CSV). {fix}"
    p.write_text("id,x,label\nu,1,a\nu,,a\n")  # the long layout: a missing value, not a shorter sequence
    with pytest.raises(ValueError, match=r"expected a number in column 'x', got '' on line 3\.$"):
        read_csv_sequences(p, target="label", group="id")


def test_a_long_csv_warns_of_a_time_index_read_as_a_feature(tmp_path):
    import warnings

    from lstmkit.tables import CSVWarning

    # t counts the rows of each group (0, 1, 2, ...; 5, 6 where a sequence starts later): read as a feature
    # unless the features are named (it became an input without a word)
    p = tmp_path / "l.csv"
    p.write_text("id,t,price,label\nu,0,1.5,a\nu,1,0.5,a\nu,2,2.5,a\nv,5,1.0,b\nv,6,3.0,b\n")
    with pytest.warns(CSVWarning) as record:
        read_csv_sequences(p, target="label", group="id")
    assert len(record) == 1 and str(record[0].message) == (
        f"{p}: column 't' goes up by exactly 1 from row to row within every group of 'id' (a time index or a row "
        f"counter?): read as a feature, it gives the model each step's position. If that is not meant, leave it out "
        f"with --features price (features=[...]).")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv_sequences(p, features="t,price", target="label", group="id")  # named: meant
        p.write_text("id,t,price,label\nu,0,1.5,a\nu,1,0.5,a\nu,3,2.5,a\nv,5,1.0,b\nv,6,3.0,b\n")  # a step of 2: not a counter
        read_csv_sequences(p, target="label", group="id")
        p.write_text("id,t,price,label\nu,0,1.5,a\nu,1,0.5,a\nv,5,1.0,b\nv,6,3.0,b\n")  # two steps in all: too few to tell
        read_csv_sequences(p, target="label", group="id")


def test_label_text_reads_numbers_as_their_value_and_keeps_the_rest():
    from lstmkit.tables import label_key, labels_from_text

    # '1', '1.0' and 1 are one label; 2**53 and beyond stay floats (an int64 would not hold them all exactly)
    assert [label_key(v) for v in ("1", " 1.0", 1, 1.0, "-2e0", "0.5", "a", 2.0**53)] == ["1", "1", "1", "1", "-2", "0.5", "a", "9007199254740992.0"]
    assert labels_from_text(["1", "1.0", "2"]).tolist() == [1, 1, 2] and labels_from_text(["0.5", "1"]).tolist() == [0.5, 1.0]
    # a number too large for a float is text in both (label_key raised OverflowError: int(inf))
    assert label_key("1e400") == "1e400" and labels_from_text(["1e400", "1"]).tolist() == ["1e400", "1"]


def test_line_numbers_are_those_a_text_editor_shows_blank_lines_counted(tmp_path):
    # line 1 the header; 2 blank; 3 a row; 4-5 one row (a quoted field holding a line break); 6 blank;
    # 7 empty fields only (no row); 8 the bad cell. The blank lines were dropped before numbering: "line 4"
    p = tmp_path / "b.csv"
    p.write_text('x,y\n\n1,2\n"a\nb",3\n\n,\n5,two\n')
    with pytest.raises(ValueError, match=r"expected a number in column 'y', got 'two' on line 8\.$"):
        read_csv_columns(p, "y")
    from lstmkit.tables import read_csv, row_line

    header, rows = read_csv(p)
    assert (header, rows, rows.lines) == (["x", "y"], [["1", "2"], ["a\nb", "3"], ["5", "two"]], (3, 4, 8))
    assert [row_line(rows, i) for i in range(3)] == [3, 4, 8]
    # blank lines before the header too; a ragged row on line 5
    p.write_text("\n\nx,y\n\n1\n")
    with pytest.raises(ValueError, match=r"got 1 on line 5 \(ragged CSV\)\.$"):
        read_csv(p)
    # the readers of sequences: wide (an empty cell on line 4) and long (text on line 6)
    p.write_text("x1,x2,label\n1,2,a\n\n3,,b\n")
    with pytest.raises(ValueError, match=r"got an empty cell in column 'x2' on line 4 \(missing values\)"):
        read_csv_sequences(p, target="label")
    p.write_text("x1,x2,label\n1,2,a\n\n3,4,b\n\n5,six,c\n")
    with pytest.raises(ValueError, match=r"expected a number in column 'x2', got 'six' on line 6\.$"):
        read_csv_sequences(p, target="label")
    p.write_text("id,x,label\nu,1,a\n\nu,2,a\n\n\nv,3.5.1,b\n")
    with pytest.raises(ValueError, match=r"expected a number in column 'x', got '3\.5\.1' on line 7\.$"):
        read_csv_sequences(p, target="label", group="id")
    p.write_text("id,x,label\nu,1,a\n\nu,2,7\n")
    with pytest.raises(ValueError, match=r"expected a number in column 'label', got 'a' on line 2\.$"):
        read_csv_sequences(p, target="label", group="id", per_step=True, numeric_target=True)


def test_a_text_files_byte_order_mark_is_not_a_character_of_it(tmp_path):
    # Notepad's UTF-8 begins with EF BB BF: generate --text learned it as a 29th character of a 28-character text
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "ab σ\n".encode("utf-8"))
    assert read_text(tmp_path / "bom.txt") == "ab σ\n"
    (tmp_path / "mid.txt").write_bytes("a\ufeffb".encode("utf-8"))  # one inside the text is the text's own
    assert read_text(tmp_path / "mid.txt") == "a\ufeffb"


def test_a_semicolon_csv_with_decimal_commas_is_named_as_such_not_ragged(tmp_path):
    # a European Excel's CSV: ';' between fields, ',' in the numbers. Read with commas, the header is one
    # field and line 2 splits into 3 at its two decimal commas: it was 'ragged CSV ... use --group'
    p = tmp_path / "semi.csv"
    p.write_text("s1;s2;label\n0,844;0,758;1\n")
    with pytest.raises(ValueError) as err:
        read_csv_sequences(p, target="label")
    assert str(err.value) == (f"{p}: expected fields separated by commas, got one field in the header, 's1;s2;label', "
                              "and 3 on line 2. The file seems to use ';' between fields; lstmkit reads CSVs separated "
                              "by commas (with decimal points): save it with commas.")
    p.write_text("a,b\n1,2,3\n")  # a comma file with a row too long is still ragged
    with pytest.raises(ValueError, match=r"expected 2 fields on every row \(as in the header\), got 3 on line 2 \(ragged CSV\)"):
        read_csv_columns(p, "a")


def _npy_header(shape, dtype="<f8") -> bytes:
    """A .npy version 1.0 header declaring ``shape`` (NumPy's own writer), with no data after it."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_data_file_declaring_more_than_it_holds_is_refused_before_numpy_allocates_it(tmp_path, monkeypatch):
    """helper-153 #4: a data .npz/.npy (predict/train/forecast DATA) had no bounds: a 3 MB bomb.npz (2.98 GiB of
    deflated zeros) took 3.2 GB and a MemoryError traceback, a 192-byte .npy whose header declares (1e6, 1e6, 2) a
    traceback 'Unable to allocate 14.6 TiB'. A .npy (or an .npz entry) must hold the bytes its header declares; an
    .npz's entries may declare at most the machine's memory (here made 8 MiB). Data that deflates 1000x (zeros,
    padded one-hot sequences) is read: the ratio rule of model files is not applied to data."""
    import zipfile

    import lstmkit.tables as tables
    from lstmkit.io import FileFormatError
    from lstmkit.tables import array_names

    big = 9 << 20  # 9 MiB of zeros, ~1000x their deflated size
    np.savez_compressed(tmp_path / "zeros.npz", X=np.zeros(big // 8), y=np.zeros(2))
    with zipfile.ZipFile(tmp_path / "zeros.npz") as z:
        info = z.getinfo("X.npy")
    assert info.file_size > 500 * info.compress_size  # would be a bomb by the model files' rule
    np.testing.assert_array_equal(read_array(tmp_path / "zeros.npz", "X"), np.zeros(big // 8))  # data: read
    monkeypatch.setattr(tables, "memory_bytes", lambda: 8 << 20)  # a machine of 8 MiB
    for read in (lambda p: read_array(p, "X"), array_names):  # refused from the directory: the array names too
        with pytest.raises(FileFormatError, match=r"zeros\.npz: expected a NumPy \.npz/\.npy file, got an \.npz archive larger than this "
                                                  rf"machine's memory \(its entries declare {info.file_size + 144} bytes, the machine has 8388608\)\.$"):  # fmt: skip
            read(tmp_path / "zeros.npz")
    monkeypatch.undo()
    # above DATA_BOMB_FLOOR (1 GiB; made 8 MiB here) an entry deflated more than 100x is a bomb: a few MB taking gigabytes
    monkeypatch.setattr(tables, "DATA_BOMB_FLOOR", 8 << 20)
    with pytest.raises(FileFormatError, match=rf"zeros\.npz: expected a NumPy \.npz/\.npy file, got an \.npz archive lstmkit will not inflate "
                                              rf"\(entry 'X\.npy' declares {info.file_size} bytes from {info.compress_size} compressed, \d+ times "
                                              r"as many: a decompression bomb, or data compressed far beyond what it usually is; save it "
                                              r"uncompressed \(numpy\.savez\) to read it\)\.$"):  # fmt: skip
        read_array(tmp_path / "zeros.npz", "X")
    monkeypatch.undo()
    (tmp_path / "huge.npy").write_bytes(_npy_header((10**6, 10**6, 2)))
    with pytest.raises(FileFormatError, match=r"huge\.npy: expected a NumPy \.npz/\.npy file, got a truncated or damaged \.npy file "
                                              r"\(its header declares shape \(1000000, 1000000, 2\) of float64 \(16000000000000 bytes\) but holds 0 bytes\)\.$"):  # fmt: skip
        read_array(tmp_path / "huge.npy")
    # an entry of an .npz whose header declares 800 MB and holds none: refused as a damaged entry, not allocated
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as z:
        z.writestr("X.npy", _npy_header((10**8,)))
    with pytest.raises(FileFormatError, match=r"lie\.npz: expected an intact array 'X', got a damaged entry \(its header declares shape "
                                              r"\(100000000,\) of float64 \(800000000 bytes\) but holds 0 bytes\)\.$"):  # fmt: skip
        read_array(tmp_path / "lie.npz")
    # data compressed as data is (noise deflates ~1.05x) is read, whatever its size
    X = np.random.default_rng(0).normal(size=big // 8)
    np.savez_compressed(tmp_path / "c.npz", X=X)
    np.testing.assert_array_equal(read_array(tmp_path / "c.npz"), X)
    np.save(tmp_path / "x.npy", X[:10].reshape(2, 5))
    np.testing.assert_array_equal(read_array(tmp_path / "x.npy"), X[:10].reshape(2, 5))


def test_a_data_npz_entry_is_checked_by_the_name_numpy_reads_and_a_npy_may_have_bytes_after_its_array(tmp_path):
    """helper-167: read_array checked 'X.npy' where an .npz holds both 'X.npy' and 'X', but NumPy reads 'X' (the
    exact name first): a bare header there declaring 14.6 TiB reached np.load (MemoryError). And a .npy with bytes
    after its array (np.save twice on one handle), which np.load reads, was refused as truncated since 15775df."""
    import zipfile

    from lstmkit.io import FileFormatError

    with zipfile.ZipFile(tmp_path / "two.npz", "w") as z:
        z.writestr("X.npy", _npy_header((2,)) + np.zeros(2).tobytes())
        z.writestr("X", _npy_header((10**6, 10**6, 2)))
    with pytest.raises(FileFormatError, match=r"two\.npz: expected an intact array 'X', got a damaged entry \(its header declares shape "
                                              r"\(1000000, 1000000, 2\) of float64 \(16000000000000 bytes\) but holds 0 bytes\)\.$"):  # fmt: skip
        read_array(tmp_path / "two.npz", "X")
    with open(tmp_path / "two.npy", "wb") as f:
        np.save(f, np.arange(3.0))
        np.save(f, np.arange(5.0))
    np.testing.assert_array_equal(read_array(tmp_path / "two.npy"), np.load(tmp_path / "two.npy"))  # the first array, as np.load
    (tmp_path / "short.npy").write_bytes(_npy_header((4,)) + np.zeros(3).tobytes())  # declares more than it holds: refused
    with pytest.raises(FileFormatError, match=r"short\.npy: .*declares shape \(4,\) of float64 \(32 bytes\) but holds 24 bytes\)\.$"):
        read_array(tmp_path / "short.npy")


def _random_csvs(tmp_path, n_wide=5_000):
    """A wide CSV (about 2 MB: 20 steps and a label per row) and a long one (4 features, groups of
    1-40 rows), their values seeded normals written with repr (which float() reads back exactly)."""
    rng = np.random.default_rng(211)
    wide = rng.normal(size=(n_wide, 20)) * 10.0 ** rng.integers(-3, 4, size=(n_wide, 20))
    labels = rng.integers(0, 3, size=n_wide)
    pw = tmp_path / "wide.csv"
    pw.write_text(",".join([f"s{k}" for k in range(20)] + ["y"]) + "\n"
                  + "".join(",".join(map(repr, row.tolist())) + f",{c}\n" for row, c in zip(wide, labels)))  # fmt: skip
    sizes = rng.integers(1, 41, size=300)
    long = rng.normal(size=(int(sizes.sum()), 4))
    ids = np.repeat(np.arange(len(sizes)), sizes)
    pl = tmp_path / "long.csv"
    pl.write_text("seq,a,b,c,d,label\n" + "".join(f"g{i}," + ",".join(map(repr, row.tolist())) + f",{i % 2}\n"
                                                   for i, row in zip(ids, long)))  # fmt: skip
    return pw, wide, labels, pl, long, sizes


def test_a_csv_reads_to_the_values_written_by_the_one_pass_reader_and_the_per_cell_one(tmp_path):
    from lstmkit.tables import _sequence_cells, _sequence_cells_checked

    pw, wide, labels, pl, long, sizes = _random_csvs(tmp_path)
    X, y, lengths = read_csv_sequences(pw, target="y")
    assert X.shape == (len(wide), 20, 1) and lengths is None and np.array_equal(y, labels)
    assert np.array_equal(X[:, :, 0], wide)  # bit for bit: repr round-trips, float() reads it back
    for args in ((pw, None, "y", None, False), (pw, "s3,s1", "y", None, True), (pl, None, "label", "seq", False),
                 (pl, "d,a", "label", "seq", True), (pl, ["b"], None, "seq", False)):  # fmt: skip
        text = args[0].read_text()
        fast, checked = _sequence_cells(*args, text), _sequence_cells_checked(*args, text)
        assert fast is not None  # nothing wrong with the file: read in one pass
        assert fast[:4] == checked[:4] and fast[5:] == checked[5:]
        assert fast[4].dtype == checked[4].dtype == np.float64 and fast[4].tobytes() == checked[4].tobytes()
    X, y, lengths = read_csv_sequences(pl, target="label", group="seq")
    assert np.array_equal(lengths, sizes) and y.tolist() == [i % 2 for i in range(len(sizes))]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for b in (0, 1, 150, 299):
        assert np.array_equal(X[b, : sizes[b]], long[starts[b] : starts[b] + sizes[b]]) and not X[b, sizes[b] :].any()


@pytest.mark.parametrize("cell", ["1e3", " 2 ", "+3", "-4.5", ".5", "5.", "1_000", "00012", "1e-400", "\t7", "\u00a03",
                                  "\uff11", "\u0661"])  # fmt: skip
def test_every_spelling_float_reads_is_read_as_float_reads_it(tmp_path, cell):
    p = tmp_path / "odd.csv"
    p.write_text(f"a,b,label\n1,{cell},x\n2,3,y\n", encoding="utf-8")
    X = read_csv_sequences(p, target="label")[0]
    assert X[:, :, 0].tolist() == [[1.0, float(cell)], [2.0, 3.0]]
    X = read_csv_sequences(p, group="label", target="a", numeric_target=True)[0]
    assert X[0, 0].tolist() == [float(cell)]


@pytest.mark.parametrize("cell, said", [("inf", "expected finite numbers in column 'b', got 'inf' on line 4 (NaN/inf in data)"),
                                        ("-Infinity", "expected finite numbers in column 'b', got '-Infinity' on line 4"),
                                        ("nan", "expected finite numbers in column 'b', got 'nan' on line 4"),
                                        ("1e400", "expected finite numbers in column 'b', got '1e400' on line 4"),
                                        ("0x10", "expected a number in column 'b', got '0x10' on line 4."),
                                        ("--1", "expected a number in column 'b', got '--1' on line 4."),
                                        ("1d3", "expected a number in column 'b', got '1d3' on line 4."),
                                        (" ", "got an empty cell in column 'b' on line 4 (missing values)")])  # fmt: skip
def test_every_spelling_refused_is_named_with_its_column_and_line(tmp_path, cell, said):
    p = tmp_path / "odd.csv"
    p.write_text(f"a,b,label\n1,2,x\n\n4,{cell},y\n5,6,z\n")
    with pytest.raises(ValueError) as err:
        read_csv_sequences(p, target="label")
    assert said in str(err.value)
    if cell.strip():  # the long layout: the same cell, the same words
        with pytest.raises(ValueError) as err:
            read_csv_sequences(p, target="label", group="label")
        assert said in str(err.value)
    p.write_text(f"a,b,label\n1,2,0\n\n4,5,{cell}\n")  # a numeric target
    with pytest.raises(ValueError, match="column 'label'.* on line 4"):
        read_csv_sequences(p, target="label", group="a", numeric_target=True)


def test_reading_a_csv_of_sequences_takes_a_few_times_its_size_in_memory(tmp_path):
    # every row kept as Python str (some 60 bytes a cell) took ~14x the file (233 MB for 15 MB)
    import tracemalloc

    pw, *_ = _random_csvs(tmp_path)
    size = pw.stat().st_size
    tracemalloc.start()
    try:
        X, _, _ = read_csv_sequences(pw, target="y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 1_900_000 and X.nbytes < peak < 6 * size, (peak, size)


def _series_csv(tmp_path, n=60_000):
    """A forecast CSV: a date column and three series, written with repr (float() reads each back bit for bit)."""
    rng = np.random.default_rng(223)
    values = rng.normal(size=(n, 3)) * [1.0, 1e3, 1e-3]
    p = tmp_path / "series.csv"
    p.write_text("date,a,b,c\n" + "".join(f"2020-{i % 12 + 1:02d}-01,{a!r},{b!r},{c!r}\n"
                                          for i, (a, b, c) in enumerate(values.tolist())))  # fmt: skip
    return p, values


def test_csv_columns_read_in_one_pass_are_the_values_written_and_take_a_few_times_the_file(tmp_path):
    # read_csv_columns kept every row as Python str (some 60 bytes a cell): 13.6x the file (124 MB for 9.2 MB)
    import tracemalloc

    from lstmkit.tables import csv_columns, read_csv

    p, values = _series_csv(tmp_path)
    y = read_csv_columns(p, ["c", "a", 2])
    assert y.dtype == np.float64 and y.tobytes() == values[:, [2, 0, 1]].tobytes()  # bit for bit, in the order asked
    assert read_csv_columns(p, "b").tobytes() == values[:, [1]].tobytes()
    header, rows = read_csv(p)  # the CLI's path (the rows kept for its checks): the same values
    assert csv_columns(header, rows, ["c", "a", 2], str(p)).tobytes() == y.tobytes()
    size = p.stat().st_size
    tracemalloc.start()
    try:
        y = read_csv_columns(p, ["a", "b", "c"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert size > 2_500_000 and y.nbytes < peak < 4 * size, (peak, size)


def test_csv_columns_name_the_first_bad_cell_row_by_row(tmp_path):
    """The one-pass reader and csv_columns' column-at-a-time read fall back to the per-cell one: the
    first bad cell in the file's order (row, then column) is named, as it always was."""
    from lstmkit.tables import csv_columns, read_csv

    p = tmp_path / "bad.csv"
    p.write_text("t,a,b\n1,2,3\n\n2,4,x\n3,nan,5\n")
    for read in (lambda: read_csv_columns(p, ["a", "b"]), lambda: csv_columns(*read_csv(p), ["a", "b"], str(p))):
        with pytest.raises(ValueError, match=r"expected a number in column 'b', got 'x' on line 4\.$"):
            read()
    p.write_text("t,a,b\n1,2\n")
    with pytest.raises(ValueError, match="expected 3 fields on every row .* got 2 on line 2"):
        read_csv_columns(p, "a")
    p.write_text("t,a,b\n")
    with pytest.raises(ValueError, match="expected at least one data row"):
        read_csv_columns(p, "a")


def test_a_csv_from_a_fifo_is_read_once_and_its_bad_cell_named(tmp_path):
    """A pipe or FIFO can be read once: the one-pass reader and the per-cell one both parse that text
    (helper-217 #5: the per-cell reader read it again, drained, and said 'got an empty file')."""
    import os
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")

    def through_fifo(text, **kwargs):
        p = tmp_path / "fifo.csv"
        if p.exists():
            p.unlink()
        os.mkfifo(p)
        done = threading.Event()

        def write():  # the text once, as a shell's pipe gives it; a reader opening it again then gets nothing
            with open(p, "w") as f:
                f.write(text)
            while not done.is_set():  # (not blocking: a second open for reading would otherwise hang, not fail)
                try:
                    os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:  # ENXIO: no reader yet
                    done.wait(0.01)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            return read_csv_sequences(p, **kwargs)
        finally:
            done.set()
            writer.join(5)

    with pytest.raises(ValueError, match=r"fifo\.csv: expected a number in column 'b', got 'zz' on line 2\."):
        through_fifo("a,b,y\n1,zz,x\n3,4,y\n", target="y")
    X, y, lengths = through_fifo("a,b,y\n1,2,x\n3,4,y\n", target="y")  # a good file reads as from a plain file
    assert X[:, :, 0].tolist() == [[1.0, 2.0], [3.0, 4.0]] and y.tolist() == ["x", "y"] and lengths is None


@pytest.mark.parametrize("features", [5, 2.0, b"a,b", {"a": 1}])
def test_features_of_another_type_is_refused_before_the_file_is_read(tmp_path, features):
    p = tmp_path / "ragged.csv"
    p.write_text("a,b,y\n1,2\n")  # ragged: its own error would come second
    with pytest.raises(TypeError, match=r"^read_csv_sequences: expected features None \(every column\), a comma-separated str "
                                        r"of column names or indices, or a list of them, got \w+ .*\. E\.g\. features='a,b'"):  # fmt: skip
        read_csv_sequences(p, features=features, target="y")
    with pytest.raises(TypeError, match="expected features"):
        read_csv_sequences(tmp_path / "absent.csv", features=features)  # not FileNotFoundError: the argument first
