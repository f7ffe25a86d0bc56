"""The README's examples run as written.

Every ```python block runs, in the README's order, in one namespace (as a reader going down the
page has the earlier blocks' names), in a scratch directory. Where a block uses something the
reader brings (``torch_lstm``, ``keras_model``, ``keras_last``, ``lengths``, a read-out ``W``, ``b``, files like
``any.onnx``), ``READER`` makes a small one first, keyed on a piece of the block's text. Every
``lstmkit ...`` line of the ```sh blocks runs through the CLI in-process, in the same directory
(the shipped ``examples/`` copied there), and must end with exit 0, or with the code its comment
gives as ``(exit N)``. Lines of other programs (``make``) are not run here. As the README also
says: each script of ``examples/`` runs as it is, and each command's ``--help`` example works.

Each block and line is a test of its own that also runs alone (``pytest -k``, ``--lf``): it first
runs what it reads on from, once per module (:class:`Page`), and a failure names the block or line
that failed. The blocks that train for long run here at a demonstration size (``SHRINK``): the
README's own text is left as it is, and ``examples/`` trains the same things at full size.

A block added to the README that uses a new name of the reader's fails here until ``READER``
makes one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main
from lstmkit.threads import blas_threads

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w+)\n(.*?)^```", README, re.S | re.M)

# (a piece of a block's text, what the reader has made before running it)
READER = [
    ("lengths=lengths", "lengths = [20, 16, 9, 3]  # a length per sequence of x"),
    (
        "readout={",
        "W = np.random.default_rng(1).normal(size=(2, lstm.num_directions * lstm.output_size))  # a read-out\n"
        "W, b = W.astype(lstm.dtype), np.zeros(2, dtype=lstm.dtype)",
    ),
    (
        "torch_lstm",
        "import os\n"
        "os.environ.setdefault('KERAS_BACKEND', 'torch')\n"
        "import torch, keras\n"
        "torch_lstm = torch.nn.LSTM(2, 4)\n"
        "keras_model = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(4, return_sequences=True), keras.layers.Dense(3)])\n"
        "keras_model.save('m.keras')\n"
        "keras_last = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(4), keras.layers.Dense(3)])\n"
        "from lstmkit.interop import onnx as _onnx\n"
        "_onnx.to_onnx(lstmkit.LSTM(2, 4, seed=0), None, 'any.onnx')\n"
        "X = np.ones((5, 3, 2), dtype=np.float32)  # (T, B, I)\n"
        "sequence_lens = np.array([5, 4, 2], dtype=np.int32)\n"
        "initial_h = initial_c = np.zeros((1, 3, 4), dtype=np.float32)",
    ),
    ("for x_t in xs", "xs = np.ones((3, 1, lstm.input_size), dtype=lstm.dtype)  # (steps, B, I)"),
]

# The test's sizes where the README trains for long: each piece of a python block's text (which
# must be there: test_every_shrink_is_in_the_readme) is run as its replacement, here only. The
# README's block stays as a reader runs it, and the full-size work runs as the examples/ scripts
# (test_example_script_runs_as_it_is, marked slow): the same API calls at a size that takes a
# fraction of a second, not ~4 s (~18 s with NumPy's BLAS on 2 threads on a busy machine).
SHRINK = {
    # TextGenerator on 90,000 characters, H=128, 4 epochs: examples/seed003_text.py trains it on
    # 184,000 characters, H=128, 8 epochs
    "stdlib_text(100_000)": "stdlib_text(20_000)",
    "text[:90_000]": "text[:18_000]",
    "text[90_000:]": "text[18_000:]",
    "TextGenerator(hidden_size=128, epochs=4,": "TextGenerator(hidden_size=32, epochs=1,",
}
# the same for a command's --help example: memory's 500 updates at 5 lags run in
# examples/memory_experiment.py (the same defaults); the --help example's options, plot and JSON here
HELP_SHRINK = {"memory": {"--steps 500": "--steps 50"}}


def _shrink(text, table):
    for piece, small in table.items():
        text = text.replace(piece, small)
    return text


PYTHON = [code for lang, code in BLOCKS if lang == "python"]
# (the index of its sh block, the line): a line reads the files the lines above it in its block wrote
LINES = [(b, line) for b, code in enumerate(code for lang, code in BLOCKS if lang == "sh")
         for line in code.splitlines() if line.startswith("lstmkit ")]  # fmt: skip
COMMANDS = [line for _, line in LINES]


class Page:
    """The reader going down the page, in a scratch directory with ``examples/`` copied in: each
    python block runs once, after every python block above it (it reads their names), and each
    ``lstmkit`` line once, after the lines above it in its sh block (it reads their files). So a
    test runs what its block reads on from first, whichever tests run and in what order."""

    def __init__(self, where):
        self.where = where
        self.namespace = {"__name__": "__readme__"}
        self.done = {}  # ("python", k) or ("sh", i) -> None when it ran, else its error as text

    def _once(self, key, run):
        if key not in self.done:
            with contextlib.chdir(self.where):
                try:
                    run()
                    self.done[key] = None
                except Exception as exc:  # noqa: BLE001 - every error of a block is its failure, reported by name
                    self.done[key] = repr(exc) if not isinstance(exc, AssertionError) else str(exc)
        return self.done[key]

    def _failed_above(self, kind, keys, name):
        """A line for each of ``keys`` above that failed: a block may fail because of one of them."""
        return "".join(f"\n({name(j)}, above it, failed first: {self.done[(kind, j)]})"
                       for j in keys if self.done.get((kind, j)))  # fmt: skip

    def read_to(self, k):
        """Run python blocks 0..k (those not run yet); pytest.fail if block k failed."""
        for j in range(k + 1):
            self._once(("python", j), lambda j=j: self._run_python(j))
        if self.done[("python", k)]:
            pytest.fail(f"README python block {k + 1} failed: {self.done[('python', k)]}"
                        f"{self._failed_above('python', range(k), lambda j: f'python block {j + 1}')}\n{PYTHON[k]}")  # fmt: skip

    def _run_python(self, k):
        code = _shrink(PYTHON[k], SHRINK)
        for piece, setup in READER:
            if piece in code:
                exec(setup, self.namespace)
        exec(compile(code, f"README.md python block {k + 1}", "exec"), self.namespace)

    def run_line(self, i, capsys):
        """Run command line i after the lines above it in its sh block (those not run yet)."""
        above = [j for j in range(i) if LINES[j][0] == LINES[i][0]]
        for j in [*above, i]:
            self._once(("sh", j), lambda j=j: self._run_line(j, capsys))
        if self.done[("sh", i)]:
            pytest.fail(f"{COMMANDS[i]}\n{self.done[('sh', i)]}{self._failed_above('sh', above, COMMANDS.__getitem__)}")

    def _run_line(self, i, capsys):
        line = COMMANDS[i]
        argv = shlex.split(line, comments=True)[1:]
        self.bring(argv)
        expected = re.search(r"\(exit (\d+)\)", line)
        capsys.readouterr()
        code = main(argv)
        want = int(expected.group(1)) if expected else 0
        assert code == want, f"exit {code}, expected {want}\n{capsys.readouterr().err}"

    def bring(self, argv):
        """Make the reader's files that the command line ``argv`` reads, where they are not here yet."""
        with contextlib.chdir(self.where):
            for name, make in READER_FILES.items():
                if name in argv and not Path(name).exists():
                    make(self)


# files the CLI lines read that the reader brings, or made by a python block above: name -> how
# to make it here
def _torch_state_dict(page):
    import torch

    torch.save(torch.nn.LSTM(3, 5, batch_first=True).state_dict(), "model.pt")


# the README's `python -c` lines that write count.npz, and their size here (PY_C_SHRINK, checked by
# test_every_shrink_is_in_the_readme as SHRINK is): 200 sequences of 8 in the README
PY_C = [m.group(1) for m in re.finditer(r'^python -c "(.*count\.npz.*)"$', README, flags=re.M)]
PY_C_SHRINK = {"(200, 8, seed=0)": "(64, 6, seed=0)"}


def _count_npz(page):
    # the README's `python -c` lines before the train lines, each run as written but for PY_C_SHRINK's size
    assert PY_C, "no README `python -c` line writes count.npz, which the command lines read"
    for code in PY_C:
        exec(_shrink(code, PY_C_SHRINK), {})


def _block_saving(path):
    """The python block that saves ``path`` (the README says "saved above")."""
    found = [k for k, code in enumerate(PYTHON) if f'.save("{path}")' in code]
    assert found, f"no README python block saves {path}, which a command line reads"
    return found[0]


READER_FILES = {
    "count.npz": _count_npz,
    "out/clf.npz": lambda page: page.read_to(_block_saving("out/clf.npz")),  # the classifier the Python example saves
    "model.pt": _torch_state_dict,  # convert's --help example reads a PyTorch state_dict
}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The reader's page (one for the module); NumPy's BLAS on one thread meanwhile, as make demo
    and the examples/ scripts run (on a busy 2-core machine two made the text block ~5x slower)."""
    where = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", where / "examples")
    threads = lstmkit.get_num_threads()
    with blas_threads(1):
        yield Page(where)
    lstmkit.set_num_threads(threads)  # a block sets it: leave it as found


def test_the_readme_has_examples():
    assert len(PYTHON) >= 8 and len(COMMANDS) >= 10


def test_every_shrink_is_in_the_readme():
    # an override whose text the README no longer has would let its block run at full size unseen
    import importlib

    from lstmkit.cli import COMMANDS as commands

    for piece in SHRINK:
        assert any(piece in code for code in PYTHON), f"SHRINK's {piece!r} is in no README python block"
    for piece in PY_C_SHRINK:
        assert PY_C and all(piece in code for code in PY_C), f"PY_C_SHRINK's {piece!r} is not in every count.npz line: {PY_C}"
    for name, table in HELP_SHRINK.items():
        example = importlib.import_module(commands[name]).EXAMPLE
        for piece in table:
            assert piece in example, f"HELP_SHRINK's {piece!r} is not in {name}'s --help example: {example}"


@pytest.mark.parametrize("k", range(len(PYTHON)))
def test_python_block_runs(k, page, capsys):
    page.read_to(k)


@pytest.mark.parametrize("i", range(len(COMMANDS)), ids=COMMANDS)
def test_command_line_runs(i, page, capsys):
    page.run_line(i, capsys)


SCRIPTS = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_example_script_runs_as_it_is(script, tmp_path):
    # "examples/ ... each runs as it is": a subprocess, as a reader runs it, in a scratch directory
    # (the scripts write their plots to the working directory); one BLAS thread, as make demo
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{script.name} exited {r.returncode}\n{r.stderr[-2000:]}"
    assert r.stdout.strip(), f"{script.name} printed nothing"
    if script.name == "seed003_text.py":
        # the perplexity is read against a uniform guess over the characters seen at fit, in the
        # library's words (text.uniform_guess: vocab_ less its "unknown" slot), as lstmkit generate
        # says it; the script printed len(vocab_), one more
        assert re.search(r"\(a uniform guess over the (\d+) characters: \1\)", r.stdout), r.stdout[:2000]


# commands whose --help example another test runs: the whole demo (test_demo.py); train and predict
# (test_cli_train.py, which also checks what they print and write)
RUN_ELSEWHERE = {"demo", "train", "predict"}


def _help_examples():
    """(command, its --help example's lines) for every command not in RUN_ELSEWHERE."""
    import importlib

    from lstmkit.cli import COMMANDS as commands

    return [(name, importlib.import_module(modpath).EXAMPLE.strip().splitlines())
            for name, modpath in commands.items() if name not in RUN_ELSEWHERE]  # fmt: skip


@pytest.mark.parametrize("command, lines", _help_examples(), ids=[c for c, _ in _help_examples()])
def test_help_example_runs(command, lines, page, monkeypatch, capsys):
    # "each --help shows a working example": its lines in order, in the reader's directory (the
    # reader's model.pt made first), at HELP_SHRINK's size where it has one
    monkeypatch.chdir(page.where)
    for line in lines:
        argv = shlex.split(_shrink(line, HELP_SHRINK.get(command, {})), comments=True)
        assert argv[0] == "lstmkit", line
        page.bring(argv)
        expected = 1 if command == "check" else 0  # check: exit 1 when a claim is wrong (seed 000 has some)
        assert main(argv[1:]) == expected, f"{line}\n{capsys.readouterr().err}"


def _prose():
    """The README without its fenced blocks (a ``|`` or ``#`` inside a code block is code)."""
    return re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)


def test_every_table_is_a_block_of_its_own():
    # A table right under a paragraph or a bullet (no blank line) is read as that paragraph's text
    # in CommonMark + tables (markdown-it), pipes and all: the task modules' table was one.
    lines = _prose().splitlines()
    for k in range(1, len(lines) - 1):
        if lines[k].startswith("|") and re.fullmatch(r"\|[-:| ]+\|", lines[k + 1]):
            assert lines[k - 1].strip() == "", f"no blank line before the table at {lines[k]!r}: {lines[k - 1]!r}"


def _slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_to_sections_name_a_heading():
    anchors = {_slug(h) for h in re.findall(r"^#+ (.*)$", _prose(), re.M)}
    links = re.findall(r"\]\(#([^)]*)\)", README)
    assert links, "the README links to its sections (the Command line table does)"
    assert not set(links) - anchors, f"links to no heading: {sorted(set(links) - anchors)}; headings: {sorted(anchors)}"


def test_the_command_line_section_shows_every_command():
    # "Command line" gathers the commands: a row for each, with the example its --help prints
    # (every line of it, comments and notes aside), which test_help_example_runs and the tests of
    # RUN_ELSEWHERE run
    import importlib

    from lstmkit.cli import COMMANDS as commands

    section = README.split("\n## Command line\n", 1)[1].split("\n## ", 1)[0]
    for name, modpath in commands.items():
        assert re.search(rf"^\| `{name}` \|", section, re.M), f"no row for {name} in Command line"
        for line in importlib.import_module(modpath).EXAMPLE.strip().splitlines():
            line = re.sub(r"\s+(#.*|\(after .*\))$", "", line.strip())
            if line.startswith("lstmkit "):
                assert line in section, f"{name}'s --help example is not in Command line: {line}"


def test_the_defaults_the_readme_compares():
    # where the README says the Python defaults differ from the command's, it says how, as they are
    import inspect

    from lstmkit.cli import build_parser
    from lstmkit.memory import run_memory_experiment

    # (the command's --lags default is built from this signature (commands/memory.py DEFAULTS): the sentence is the check)
    generate = build_parser().parse_args(["generate", "--text", "t.txt"])
    lags = inspect.signature(run_memory_experiment).parameters["lags"].default
    assert f"defaults, which are `run_memory_experiment`'s (lags {', '.join(map(str, lags))}," in README
    tg = inspect.signature(lstmkit.TextGenerator).parameters
    said = (f"`--epochs {generate.epochs} --lr {generate.lr}` against "
            f"`epochs={tg['epochs'].default}, learning_rate={tg['learning_rate'].default}`")  # fmt: skip
    assert said in README
    assert generate.epochs != tg["epochs"].default  # else the README need not say it
    for cls in (lstmkit.LSTMClassifier, lstmkit.LSTMRegressor):
        assert inspect.signature(cls).parameters["seed"].default is None
    assert "`seed=None` (a different run each time" in README
