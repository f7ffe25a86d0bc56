"""``lstmkit.load`` of a file whose weights are out of the model's reach: a FileFormatError naming the file,
with the loader's own message (which array, which value), never a bare ValueError that names no file."""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit.io import FileFormatError
from lstmkit.modelfile import save_model


def test_a_sequence_models_weight_beyond_float32s_range_is_named_with_its_file_value_and_index(tmp_path):
    # a float32 SequenceModel's file whose head.weight is written in float64 with 1e39 at (1, 3): finite in the file,
    # inf once cast; named as it is in the file, not as "NaN or inf"
    model = lstmkit.SequenceModel(3, 2, 4, seed=0)  # input 3, output 2, hidden 4: head.weight (2, 4)
    arrays = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    arrays["head.weight"][1, 3] = 1e39
    path = tmp_path / "big.npz"
    save_model(path, "SequenceModel", model.config(), arrays)
    with pytest.raises(FileFormatError) as e:
        lstmkit.load(path)
    assert str(e.value).startswith(f"{path}: "), str(e.value)
    assert ("head.weight values within float32's range (±3.4e38), got 1e+39 at index (1, 3). Load them into a float64 model "
            "(dtype=numpy.float64), or scale them down.") in str(e.value)  # fmt: skip
    # a recurrent weight of a module file likewise (read_lstm names the file)
    lstm = lstmkit.LSTM(3, 4, seed=0)
    arrays = {"rnn." + k: v.astype(np.float64) for k, v in lstm.state_dict().items()}
    arrays["rnn.weight_ih_l0"][7, 0] = -2e39
    save_model(tmp_path / "rnn.npz", "LSTM", {"input_size": 3, "hidden_size": 4, "dtype": "float32"}, arrays)
    with pytest.raises(FileFormatError, match=rf"^{tmp_path / 'rnn.npz'}: .*expected weight_ih_l0 values within float32's range "
                                              r"\(±3\.4e38\), got -2e\+39 at index \(7, 0\)\."):
        lstmkit.load(tmp_path / "rnn.npz")
