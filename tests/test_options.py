"""``lstmkit.commands._options.name_options``: a library error in a command's words. (The option types,
add_check, check_outputs and record_typed are tested through the command line: tests/test_cli.py.)"""

from __future__ import annotations

import pytest

from lstmkit.commands import convert
from lstmkit.commands._options import name_options

# an error of lstmkit.interop.onnx.to_onnx, as it words it
ONNX = "to_onnx: expected module options the ONNX LSTM operator can express, got proj_size set. Export a model without them."


def test_same_name_arguments_are_renamed_only_where_the_command_has_those_flags():
    # a training command takes proj_size as --proj-size (the default, SAME_NAME): the flag typed
    assert name_options(ONNX, "train", ("to_onnx",), {}) == (
        "train: expected module options the ONNX LSTM operator can express, got --proj-size set. Export a model without them.")
    # convert has no --proj-size: proj_size is the file's, the word stays; only the where is the command
    assert name_options(ONNX, "convert", ("to_onnx",), {}, ()) == (
        "convert: expected module options the ONNX LSTM operator can express, got proj_size set. Export a model without them.")
    # a name given to rename is renamed whatever same_name holds
    assert name_options(ONNX, "x", ("to_onnx",), {"proj_size": "--proj"}, ()) == (
        "x: expected module options the ONNX LSTM operator can express, got --proj set. Export a model without them.")


def test_an_owner_is_the_where_alone_or_before_a_dot_or_a_space():
    msg = "lstmkit.interop.pytorch: expected state_dict['w'] a floating-point tensor, got dtype torch.int64."
    assert name_options(msg, "convert", ("lstmkit.interop.pytorch",), {}, ()) == (
        "convert: expected state_dict['w'] a floating-point tensor, got dtype torch.int64.")
    assert name_options(msg, "convert", ("lstmkit.interop",), {}, ()) is not None  # before a dot
    assert name_options(msg, "convert", ("lstmkit.interop.pytorchx", "lstmk", "interop"), {}, ()) is None
    assert name_options("LSTMForecaster.backtest: expected x", "forecast", ("LSTMForecaster",), {}) == "forecast: expected x"
    assert name_options("LSTM (layer 0): expected x", "train", ("LSTM",), {}) == "train: expected x"
    assert name_options("LSTMCell: expected x", "train", ("LSTM",), {}) is None
    assert name_options("no where here", "train", ("LSTM",), {}) is None


def test_convert_s_names_word_its_library_s_errors_and_rename_only_its_flags():
    assert name_options(ONNX, "convert", convert.OWNERS, convert.OPTIONS, convert.SAME_NAME) == (
        "convert: expected module options the ONNX LSTM operator can express, got proj_size set. Export a model without them.")
    # module_from_state_dict's readout is convert's --readout
    msg = "module_from_state_dict: expected readout one of ['fc'], got 'head'."
    assert name_options(msg, "convert", convert.OWNERS, convert.OPTIONS, convert.SAME_NAME) == (
        "convert: expected --readout one of ['fc'], got 'head'.")
    msg = "load_state_dict_file: expected bad.pt a state_dict saved with torch.save, got hidden_size, num_layers."
    assert name_options(msg, "convert", convert.OWNERS, convert.OPTIONS, convert.SAME_NAME) == (
        "convert: expected bad.pt a state_dict saved with torch.save, got hidden_size, num_layers.")


def test_a_name_with_a_key_is_a_value_not_an_option():
    # readout['weight'] is the read-out's weight: no option, even for a command with --readout (train: SAME_NAME)
    msg = "to_onnx: expected readout['weight'] shape (O, 8), got shape (2, 4)."
    assert name_options(msg, "train", ("to_onnx",), {}) == "train: expected readout['weight'] shape (O, 8), got shape (2, 4)."
    assert name_options(msg, "convert", ("to_onnx",), convert.OPTIONS, ()) == "convert: expected readout['weight'] shape (O, 8), got shape (2, 4)."
    assert name_options("to_onnx: expected readout one of ['fc'].", "train", ("to_onnx",), {}) == "train: expected --readout one of ['fc']."
    # an item of an option (an index) is the option's
    msg = "LSTM: expected activations[2] one of ['tanh'], got 'nope'."
    assert name_options(msg, "train", ("LSTM",), {}) == "train: expected --activations[2] one of ['tanh'], got 'nope'."


def test_the_library_and_the_command_line_say_a_missing_package_in_the_same_words():
    # one table of the extras (lstmkit._checks.OPTIONAL): the library's error, read by the command line's
    # missing_package with the where as its command, is said as the library said it
    import pytest

    from lstmkit._checks import OPTIONAL, optional_import
    from lstmkit.commands import _options

    assert _options.OPTIONAL is OPTIONAL
    for module in OPTIONAL:
        with pytest.raises(ModuleNotFoundError) as raised:
            with optional_import(module, "History.plot", "to draw the learning curves"):
                raise ModuleNotFoundError(f"No module named {module!r}", name=module)
        assert _options.optional_missing(raised.value)
        assert _options.missing_package("History.plot", raised.value, "to draw the learning curves") == str(raised.value)


def test_require_lets_a_missing_dependency_of_an_optional_package_through_in_python_s_words(monkeypatch):
    # matplotlib installed, one of its own dependencies missing: require (every --plot, explain's text,
    # the demo) asserted 'missing_package: 'pyparsing' is no optional package' where cli.main and the
    # demo pass such an error through with its traceback
    import importlib

    from lstmkit.commands._options import require

    real = importlib.import_module

    def fake(name, *args, **kw):
        if name.startswith("matplotlib"):
            raise ModuleNotFoundError("No module named 'pyparsing'", name="pyparsing")
        return real(name, *args, **kw)

    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(ModuleNotFoundError) as raised:
        require("memory", "matplotlib.figure", "to draw --plot")
    assert raised.value.name == "pyparsing" and str(raised.value) == "No module named 'pyparsing'"
