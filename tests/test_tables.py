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
    assert info == {"ids": ["u", "v"], "features": ["a", "b"]}  # the group values in file order; the columns read
    assert read_csv_sequences(p, features=["b"], group="id", info=True)[3]["features"] == ["b"]  # a list of names
    assert read_csv_sequences(p, features="a,b", info=True)[3] == {"ids": None, "features": None}  # wide


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
