"""What a release ships: the wheel and the sdist built from this tree, read back file by file.

The builds run on a copy of the tree (src/, tests/, examples/ and the top-level files, caches
included) in a temporary folder: building in the checkout would write build/ and the egg-info into
it, and a build/lib left there by another build goes into the next wheel. numba's cache files are
planted in the copy's ``src/lstmkit/__pycache__`` (where ``cache=True`` writes them) so that a
wheel or sdist taking them fails here even on a fresh clone that never ran the compiled kernels.
The expected contents come from the copy built from (its files, LICENSE's bytes: the checkout is
shared, and a file edited there while the test runs is not a packaging fault) and from
lstmkit.__version__, not from a build. Both builds take ~5 s together (pip wheel --no-build-isolation, setuptools'
build_sdist; no index is asked).
"""

from __future__ import annotations

import configparser
import email.parser
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import lstmkit

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lstmkit"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: the files of the package that are not Python (pyproject's package data): data/, worked/, py.typed
PACKAGE_DATA = PYPROJECT["tool"]["setuptools"]["package-data"]["lstmkit"]
#: names no wheel or sdist may hold: bytecode and numba's compiled kernels (index, code)
CACHES = ("*.pyc", "*.pyo", "*.nbi", "*.nbc")


def _needs_build_tools():
    """setuptools >= 77 (pyproject's build-system; the test extra installs it): a skip on a developer's
    machine without it, a failure in CI (CI=true), where a skip would hide that nothing was checked."""
    try:
        import setuptools

        ok = int(setuptools.__version__.split(".")[0]) >= 77
    except ImportError:
        ok = False
    if not ok:
        why = "building the wheel here needs setuptools >= 77 in this Python (pip install -e '.[test]')"
        pytest.fail(why) if os.environ.get("CI") else pytest.skip(why)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A copy of the tree to build from, with numba cache files planted where numba writes them."""
    _needs_build_tools()
    copy = tmp_path_factory.mktemp("tree")
    for name in ("src", "tests", "examples"):
        shutil.copytree(ROOT / name, copy / name, symlinks=True, ignore=shutil.ignore_patterns("build", "dist"))
    for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    cache = copy / "src" / "lstmkit" / "__pycache__"
    cache.mkdir(exist_ok=True)
    for name in ("recurrent._forward-1.py311.nbi", "recurrent._forward-1.py311.1.nbc", "recurrent.cpython-311.pyc"):
        (cache / name).write_bytes(b"\0")
    (copy / "tests" / "__pycache__").mkdir(exist_ok=True)
    (copy / "tests" / "__pycache__" / "conftest.cpython-311-pytest-8.pyc").write_bytes(b"\0")
    return copy


def _run(args, cwd):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tree, tmp_path_factory):
    """The wheel built from the copy: {name: bytes}."""
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--disable-pip-version-check", "-q", "-w", str(out), str(tree)], cwd=tree)  # fmt: skip
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    files["<file name>"] = path.name.encode()
    return files


@pytest.fixture(scope="module")
def sdist(tree, tmp_path_factory):
    """The sdist built from the copy: {name without the lstmkit-VERSION/ folder: TarInfo}, and the tar's bytes by name."""
    out = tmp_path_factory.mktemp("sdist")
    _run([sys.executable, "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(out)!r})"], cwd=tree)
    (path,) = out.glob("*.tar.gz")
    with tarfile.open(path) as t:
        members = {m.name.partition("/")[2]: m for m in t.getmembers()}
        data = {name: t.extractfile(m).read() for name, m in members.items() if m.isfile()}
    return members, data, path.name


def _dist_info(wheel, name):
    (key,) = [k for k in wheel if k.startswith("lstmkit-") and k.endswith(f".dist-info/{name}")]
    return wheel[key]


def test_every_package_data_glob_matches_a_file_in_the_tree():
    # a glob that matches nothing is dropped without a word (py.typed was listed and missing)
    for glob in PACKAGE_DATA:
        assert list(PACKAGE.glob(glob)), f"pyproject.toml package-data {glob!r} matches no file in src/lstmkit"
    assert (PACKAGE / "py.typed").read_bytes() == b""  # PEP 561's marker: the annotations are the package's


def test_the_version_is_written_once_in_lstmkit_version():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lstmkit.__version__"}


def test_each_extra_pin_is_written_once_and_the_extras_name_each_other():
    # "lstmkit[onnx]" in another extra takes the onnx extra's pins: a bump is made in one place
    extras = PYPROJECT["project"]["optional-dependencies"]
    written, named = [], []
    for requirements in extras.values():
        for r in requirements:
            if r.startswith("lstmkit["):
                named += r[len("lstmkit[") : -1].split(",")
            else:
                written.append(re.split(r"[<>=!~ \[;]", r)[0])
    assert sorted(n for n in set(written) if written.count(n) > 1) == []
    assert set(named) <= set(extras)
    # the team's rule (helper-117 F2 noted, not acted on): torch exactly pinned, the CPU wheel here (an unpinned one pulls CUDA)
    assert [r for r in extras["interop"] if r.startswith("torch")] == ["torch==2.13.0"]


def test_the_wheel_holds_the_package_data_the_licence_and_the_command(tree, wheel):
    package = tree / "src" / "lstmkit"
    for glob in PACKAGE_DATA:  # each file of the tree that a glob takes, with its bytes
        for path in package.glob(glob):
            name = "lstmkit/" + path.relative_to(package).as_posix()
            assert wheel.get(name) == path.read_bytes(), name
    shipped = {n for n in wheel if n.startswith("lstmkit/worked/") and n.endswith(".toml")}
    assert shipped == {f"lstmkit/worked/{p.name}" for p in package.glob("worked/*.toml")} and len(shipped) >= 4
    assert "lstmkit/py.typed" in wheel
    assert _dist_info(wheel, "licenses/LICENSE") == (tree / "LICENSE").read_bytes()
    meta = email.parser.BytesParser().parsebytes(_dist_info(wheel, "METADATA"))
    assert meta["Name"] == "lstmkit" and meta["Version"] == lstmkit.__version__
    assert wheel["<file name>"].decode().startswith(f"lstmkit-{lstmkit.__version__}-py3-none-any")
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.11" and meta.get_all("Requires-Dist")[0] == "numpy>=1.24"
    entry = configparser.ConfigParser()
    entry.read_string(_dist_info(wheel, "entry_points.txt").decode())
    assert dict(entry["console_scripts"]) == {"lstmkit": "lstmkit.cli:entry"}


def test_the_wheel_holds_no_tests_and_no_caches(tree, wheel):
    names = [n for n in wheel if n != "<file name>"]
    assert [n for n in names if n.startswith("tests/") or "/tests/" in n] == []
    assert [n for n in names if "__pycache__" in n or any(fnmatch.fnmatch(n, c) for c in CACHES)] == []
    assert [n for n in names if ".egg-info" in n] == []
    # below lstmkit/: the modules and the package data only
    package = tree / "src" / "lstmkit"
    data = {"lstmkit/" + p.relative_to(package).as_posix() for g in PACKAGE_DATA for p in package.glob(g)}
    assert [n for n in names if n.startswith("lstmkit/") and not n.endswith(".py") and n not in data] == []


def test_the_sdist_holds_the_test_suite_and_what_it_reads(tree, sdist):
    members, data, name = sdist
    assert name == f"lstmkit-{lstmkit.__version__}.tar.gz"
    wanted = ["LICENSE", "pyproject.toml", "README.md", "src/lstmkit/py.typed", "tests/conftest.py", "tests/oracles.py"]
    wanted += [p.relative_to(tree).as_posix() for p in (tree / "tests").glob("test_*.py")]
    wanted += [p.relative_to(tree).as_posix() for p in (tree / "tests" / "golden").iterdir()]
    assert len(wanted) > 60
    for path in wanted:
        assert data.get(path) == (tree / path).read_bytes(), path
    # examples/*.toml are copies of the package's worked/ files (test_cli keeps them equal): in the sdist, as in the checkout
    for path in (tree / "examples").glob("*.toml"):
        member = members[f"examples/{path.name}"]
        assert member.isfile() and data[f"examples/{path.name}"] == path.read_bytes(), path.name
    caches = [n for n in members if "__pycache__" in n or any(fnmatch.fnmatch(n, c) for c in CACHES)]
    assert caches == []
