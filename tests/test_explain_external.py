"""The LaTeX output compiles with pdflatex; the HTML page loads in headless Chromium with no
console errors and its screenshot shows the charts where the page puts them.

Both tools are Debian packages (texlive-latex-base, chromium). The tests never install them: where
one is missing they skip, and the reason names the command that installs it. The Chromium screenshot
test is a smoke test: its pixel fractions depend on Chromium's version, fonts and anti-aliasing, so a
failure there says the page did not lay out as expected, nothing about lstmkit's numbers.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lstmkit.explain import explain, worked

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def need_tool(binary: str, package: str) -> str:
    """Path of ``binary``; pytest.skip naming the Debian ``package`` to install if it is missing."""
    path = shutil.which(binary)
    if not path:
        pytest.skip(f"{binary} is not installed: apt-get install {package}")
    return path


@pytest.fixture(scope="module")
def pdflatex():
    return need_tool("pdflatex", "texlive-latex-base")


@pytest.fixture(scope="module")
def chromium():
    return need_tool("chromium", "chromium")


def test_a_missing_tool_is_skipped_naming_its_install_command_and_nothing_is_run(monkeypatch):
    # the tests never change the machine: no apt-get, whoever runs them (root or not)
    def no_run(*args, **kwargs):
        raise AssertionError(f"a test ran a command: {args}")

    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(subprocess, "run", no_run)
    monkeypatch.setattr(subprocess, "Popen", no_run)
    with pytest.raises(pytest.skip.Exception, match=r"pdflatex is not installed: apt-get install texlive-latex-base$"):
        need_tool("pdflatex", "texlive-latex-base")


@pytest.mark.slow
@pytest.mark.parametrize("file, k, kw", [
    ("seed000", 0, {"decimals": 1, "grad": True}),
    ("seed001", 0, {"form": "table"}),
    ("seed002", 4, {"form": "memory"}),
    ("seed000", 0, {"form": "memory"}),
    ("variants", 0, {"decimals": 2}),  # peephole ⊙, clip(...), the clip's ±
    ("variants", 1, {}),  # hard_sigmoid, softsign by name
    ("variants", 2, {}),  # μ, γ, β, ε, mean/sqrt/var, c'
])
def test_latex_compiles_standalone(pdflatex, tmp_path, file, k, kw):
    ex = worked.load(f"{EXAMPLES}/{file}.toml")[k]
    tex = tmp_path / "doc.tex"
    tex.write_text(explain(ex, "latex", **kw), encoding="utf-8")
    r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    errors = [s for s in r.stdout.splitlines() if s.startswith("!")]
    assert r.returncode == 0 and not errors, errors or r.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 10_000


CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]


def _shoot(chromium: str, page: Path, tmp_path: Path, size=(1200, 1400)):
    shot = tmp_path / (page.stem + ".png")
    profile = tmp_path / ("profile-" + page.stem)
    r = subprocess.run([chromium, *CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                        f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    console = [s for s in r.stderr.splitlines() if ":CONSOLE" in s]
    return r, shot, console


def _colored(a: np.ndarray) -> float:
    """Fraction of pixels that are clearly coloured (not white, grey or black)."""
    a = a.astype(int)
    return float(((a.max(axis=2) - a.min(axis=2)) > 60).mean())


@pytest.mark.slow
def test_html_page_in_chromium(chromium, tmp_path):
    """A smoke test of the page's layout: the pixel thresholds below depend on Chromium's version,
    fonts and anti-aliasing, not on lstmkit's numbers (those are checked by the text tests)."""
    from PIL import Image

    ex = worked.load(f"{EXAMPLES}/seed000.toml")[0]
    page = tmp_path / "seed000.html"
    page.write_text(explain(ex, "html", grad=True), encoding="utf-8")
    r, shot, console = _shoot(chromium, page, tmp_path)
    assert shot.exists(), r.stderr[-2000:]
    assert console == [], console
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (1400, 1200)
    # layout (inline CSS): title and subtitle on top, then the two charts side by side in a row
    # (heatmaps ~1100 px wide x ~300 px high at y ~ 100-400; traces below/next), then the equations.
    top = img[:70]  # the title band: text only, no colour
    charts = img[90:420, 20:1120]  # the heatmaps (viridis / cividis: strongly coloured)
    assert _colored(top) < 0.01
    assert _colored(charts) > 0.25, _colored(charts)
    lower = img[900:1400]  # equations and tables: dark text on white, no charts
    assert (lower.mean(axis=2) < 128).mean() > 0.002 and _colored(lower) < 0.01


@pytest.mark.slow
def test_chromium_console_check_catches_errors(chromium, tmp_path):
    # the negative control: a page that logs an error must be caught by the same check
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("lstmkit-test-error")</script></body></html>')
    _, _, console = _shoot(chromium, page, tmp_path, size=(400, 300))
    assert any("lstmkit-test-error" in s for s in console)
