"""The library's calls that need an optional package say, where it is not installed, which extra of
lstmkit's holds it: one line, ``<where>: expected <package> installed (<why>), got none. Install it:
pip install "lstmkit[<extra>]".``, a ModuleNotFoundError with ``name=<package>`` (so that the command
line says it in its own words), the import's traceback left out. A package that is installed but
misses one of its own dependencies keeps Python's words.

"Not installed" is made by ``sys.modules[name] = None`` for the package and every module of it already
imported: the import then fails as it does where the package is absent. The expected lines are written
out here from the template and the table of extras in pyproject.toml, not read from the code."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

import pytest

from lstmkit import LSTM

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _not_installed(monkeypatch, package: str) -> None:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")] + [package]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: the import fails as if not installed


def _says(call, where: str, package: str, why: str, extra: str) -> None:
    with pytest.raises(ModuleNotFoundError) as raised:
        call()
    assert str(raised.value) == f"{where}: expected {package} installed ({why}), got none. Install it: pip install \"lstmkit[{extra}]\"."
    assert raised.value.name == package and raised.value.__suppress_context__


def test_explain_text_without_rich_names_the_cli_extra(monkeypatch):
    # was a bare "No module named 'rich'" (md, latex need no rich: they still run)
    from lstmkit.explain import explain, worked

    ex = worked.load(f"{EXAMPLES}/seed000.toml")[0]
    _not_installed(monkeypatch, "rich")
    _says(lambda: explain(ex, "text"), "explain", "rich", "to lay out fmt='text'", "cli")
    assert explain(ex, "md").startswith("# ")


def test_pytorch_interop_without_torch_names_the_interop_extra(tmp_path, monkeypatch):
    from lstmkit.interop import pytorch

    _not_installed(monkeypatch, "torch")
    lstm = LSTM(2, 3, seed=0)
    for call, where, why in [
        (lambda: pytorch.from_torch(object()), "from_torch", "to read a torch module"),
        (lambda: pytorch.to_torch(lstm), "to_torch", "to build the torch module"),
        (lambda: pytorch.load_state_dict_file(tmp_path / "m.pt"), "load_state_dict_file", "to read a torch state_dict file"),
        (lambda: pytorch.save_state_dict_file(tmp_path / "m.pt", lstm), "save_state_dict_file", "to write a torch state_dict file"),
    ]:  # fmt: skip
        _says(call, where, "torch", why, "interop")
    assert not (tmp_path / "m.pt").exists()
    # what needs no torch still runs: a state_dict of NumPy arrays read back into a module
    module, readout = pytorch.module_from_state_dict(lstm.state_dict())
    assert type(module) is LSTM and readout is None


def test_keras_interop_without_keras_names_the_interop_extra(tmp_path, monkeypatch):
    from lstmkit.interop import keras

    _not_installed(monkeypatch, "keras")
    lstm = LSTM(2, 3, batch_first=True, seed=0)
    for call, where, why in [
        (lambda: keras.from_keras(object()), "from_keras", "to read a Keras model"),
        (lambda: keras.model_from_keras(object()), "model_from_keras", "to read a Keras model"),
        (lambda: keras.to_keras(lstm), "to_keras", "to build the Keras model"),
        (lambda: keras.write_keras_file(tmp_path / "m.keras", lstm), "write_keras_file", "to write the Keras file"),
    ]:  # fmt: skip
        _says(call, where, "keras", why, "interop")
    assert not (tmp_path / "m.keras").exists()


def test_keras_files_without_h5py_name_the_interop_extra(tmp_path, monkeypatch):
    from lstmkit.interop import keras

    _not_installed(monkeypatch, "h5py")
    path = tmp_path / "m.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")  # read by h5py, which is not there
    for call, where in [(keras.read_keras_file, "read_keras_file"), (keras.read_keras, "read_keras"), (keras.model_from_keras, "model_from_keras")]:
        _says(lambda: call(path), where, "h5py", "to read the Keras file's weights", "interop")


def test_onnx_interop_without_onnx_names_the_onnx_extra(tmp_path, monkeypatch):
    from lstmkit.interop import onnx

    _not_installed(monkeypatch, "onnx")
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x08")  # read by onnx, which is not there
    _says(lambda: onnx.to_onnx(LSTM(2, 3, seed=0), path=tmp_path / "out.onnx"), "to_onnx", "onnx", "to build the ONNX graph", "onnx")
    assert not (tmp_path / "out.onnx").exists()
    for call, where in [(onnx.lstms_from_onnx, "lstms_from_onnx"), (onnx.read_onnx, "read_onnx"), (onnx.model_from_onnx, "model_from_onnx"),
                        (onnx.sequence_model_from_onnx, "sequence_model_from_onnx")]:  # fmt: skip
        _says(lambda: call(path), where, "onnx", "to read the ONNX model", "onnx")


class _MissingDependency(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``package`` and fails executing it as an install missing one of its dependencies does."""

    def __init__(self, package: str, dependency: str):
        self.package, self.dependency = package, dependency

    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name == self.package else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ModuleNotFoundError(f"No module named {self.dependency!r}", name=self.dependency)


def test_a_dependency_of_the_package_missing_keeps_pythons_words(monkeypatch):
    # torch is there but cannot import one of its own dependencies: that module is named, not torch,
    # whose reinstall would not bring it; no lstmkit extra is named
    from lstmkit.interop import pytorch

    monkeypatch.delitem(sys.modules, "torch", raising=False)  # put back after the test
    monkeypatch.setattr(sys, "meta_path", [_MissingDependency("torch", "sympy"), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError) as raised:
        pytorch.to_torch(LSTM(2, 3, seed=0))
    assert str(raised.value) == "No module named 'sympy'" and raised.value.name == "sympy"
