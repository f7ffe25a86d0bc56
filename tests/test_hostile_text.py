"""Text from other people's files on the terminal: a control character in it (ESC, BEL, CR) is shown
as its escape (``\\x1b``), never sent raw, where a terminal would act on it (helper-153 finding 5:
``ESC ] 0 ; ... BEL`` set the window title, ``ESC [ 2 J`` cleared the screen, ``ESC [ 31 m``
coloured what followed). Files written (``--out``) keep the data as it is."""

from __future__ import annotations

import numpy as np
import pytest

import lstmkit
from lstmkit.cli import main

#: set the window title, clear the screen, turn the text red
EVIL = "\x1b]0;PWNED\x07\x1b[2J\x1b[31m"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31m"


def _toml(s: str) -> str:
    """``s`` as a TOML basic string (control characters as \\u escapes, as a file holds them)."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 else c for c in s.replace("\\", "\\\\").replace('"', '\\"')) + '"'


@pytest.fixture(scope="module")
def evil_clf(tmp_path_factory):
    """A classifier whose class names (as a model file from elsewhere may hold them) carry ESC sequences."""
    d = tmp_path_factory.mktemp("evil")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4, 2))
    y = np.where(X[:, :, 0].sum(1) > 0, EVIL + "pos", EVIL + "neg")
    lstmkit.LSTMClassifier(hidden_size=3, epochs=1, seed=0).fit(X, y).save(d / "clf.npz")
    np.savez(d / "data.npz", X=X[:3])
    return d


def test_predict_shows_a_class_name_with_control_characters_escaped(evil_clf, capsys, tmp_path):
    assert main(["predict", str(evil_clf / "clf.npz"), str(evil_clf / "data.npz")]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert f"proba_{SHOWN}neg" in out  # the header
    rows = out.splitlines()[1:4]
    assert len(rows) == 3 and all(SHOWN in r for r in rows)  # the predicted class, in every row
    assert len({len(r) for r in out.splitlines()[:4]}) == 1  # aligned as escaped
    # a file written keeps the names as the model holds them: it is data
    assert main(["predict", str(evil_clf / "clf.npz"), str(evil_clf / "data.npz"), "--out", str(tmp_path / "p.csv")]) == 0
    capsys.readouterr()
    assert EVIL + "neg" in (tmp_path / "p.csv").read_text(encoding="utf-8")


def _evil_example(tmp_path, *, complete=True) -> str:
    weights = ("[weights]\nW_ii = [[4, 4], [2, 2]]\nW_if = [[-2, 3], [2, 3]]\nW_ic = [[1, 3], [0, -3]]\n"
               "W_io = [[5, 5], [3, 5]]\nW_hi = [[1, 0], [4, -2]]\nW_hf = [[-1, -2], [0, 0]]\nW_hc = [[-4, -8], [4, 3]]\n"
               + ("W_ho = [[1, 0], [2, 1]]\n" if complete else ""))  # fmt: skip
    text = (f"title = {_toml('Seed' + EVIL + ' evil')}\nsource = {_toml(EVIL + 'src')}\nnote = {_toml('note' + EVIL)}\n"
            + weights
            + f"[inputs]\nx = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]\nlabels = [{_toml(EVIL + 'A')}, \"A\", \"B\"]\n"
            f"[readout]\nclasses = [{_toml(EVIL + 'zero')}, {_toml(EVIL + 'one')}]\n"
            f"[[claims]]\nstep = 1\nname = \"i\"\nvalue = [0.5, 0.5]\nwhere = {_toml('slide' + EVIL)}\n")  # fmt: skip
    p = tmp_path / "evil.toml"
    p.write_text(text, encoding="utf-8")
    return str(p)


@pytest.mark.parametrize("argv", [["explain"], ["explain", "--grad"], ["explain", "--form", "table"], ["check"], ["check", "--all"]])
def test_explain_and_check_show_a_worked_examples_control_characters_escaped(tmp_path, capsys, argv):
    pytest.importorskip("rich")
    path = _evil_example(tmp_path)
    code = main([*argv[:1], path, *argv[1:]])
    out, err = capsys.readouterr()
    assert code in (0, 1), err  # check: 1, the claim is wrong
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert SHOWN in out
    if argv[0] == "explain" and "--form" not in argv:  # the title, the label of x_1, the class names
        assert f"Seed{SHOWN} evil" in out and f"x_1 = {SHOWN}A" in out and f"{SHOWN}one" in out


def test_an_error_naming_text_from_a_file_shows_its_control_characters_escaped(tmp_path, capsys):
    pytest.importorskip("rich")
    # the example's title is the error's place: explain --grad needs every gate's weights
    assert main(["explain", _evil_example(tmp_path, complete=False), "--grad"]) == 1
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and err.startswith(f"lstmkit: error: Seed{SHOWN} evil: expected weights")


def test_an_error_from_a_keras_class_name_shows_its_control_characters_escaped(tmp_path, capsys):
    import json
    import zipfile

    h5py = pytest.importorskip("h5py")
    from lstmkit.interop.keras import _snake  # Keras' to_snake_case: the layer's weight group

    evil = EVIL + "Lambda"
    with h5py.File(tmp_path / "w.h5", "w") as f:
        for n, shape in enumerate(((3, 16), (4, 16), (16,))):  # LSTM(4) on 3 features: kernel, recurrent, bias
            f[f"layers/lstm/cell/vars/{n}"] = np.zeros(shape, "f4")
        f.create_group(f"layers/{_snake(evil)}")
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3]}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "return_sequences": True}},
        {"class_name": evil, "config": {"name": "x"}}]}}
    path = tmp_path / "cls.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.write(tmp_path / "w.h5", "model.weights.h5")
    assert main(["convert", str(path), str(tmp_path / "o.npz")]) == 1
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert err.startswith("lstmkit: error: ") and f"got {SHOWN}Lambda." in err
    assert not (tmp_path / "o.npz").exists()


def test_the_error_and_warning_lines_escape_any_message(monkeypatch, capsys, tmp_path):
    import warnings

    import lstmkit.commands.check as command

    def run(args):  # a command whose warning and error say what a file holds
        warnings.warn("w" + EVIL)
        raise ValueError("v" + EVIL + "\x9b2J\rCR\nsecond line\tkept")

    monkeypatch.setattr(command, "run", run)
    assert main(["check", str(tmp_path / "any.toml")]) == 1
    out, err = capsys.readouterr()
    assert out == ""  # newline and tab are text; C1 CSI (0x9b) and CR are not
    assert err == f"lstmkit: warning: w{SHOWN}\nlstmkit: error: v{SHOWN}\\x9b2J\\x0dCR\nsecond line\tkept\n"


def test_train_and_forecast_show_names_from_a_csv_with_control_characters_escaped(tmp_path, capsys):
    # a CSV's column names reached the terminal raw: train's "features:" line and its class weights, forecast's
    # line per series. The files they write keep the names as they are
    rng = np.random.default_rng(0)
    rows = [f"{s},{t},{v:.3f},{'a' if s % 2 else EVIL + 'b'}" for s in range(8) for t in range(4) for v in [rng.normal()]]
    (tmp_path / "long.csv").write_text(f"seq,t,{EVIL}x,label\n" + "\n".join(rows) + "\n", encoding="utf-8")
    argv = ["train", str(tmp_path / "long.csv"), "--group", "seq", "--features", f"{EVIL}x", "--target", "label", "--epochs", "1",
            "--hidden-size", "2", "--verbose", "0", "--class-weight", "balanced", "--model-out", str(tmp_path / "m.npz")]  # fmt: skip
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert f"{SHOWN}x" in out and f"{SHOWN}b=" in out  # the features line, the class weights line
    series = "\n".join(f"2020-{m:02d},{100 + m + 3 * np.sin(m)},{50 - m}" for m in range(1, 13))
    (tmp_path / "s.csv").write_text(f"month,{EVIL}a,b\n2019-12,99,51\n" + series + "\n", encoding="utf-8")
    code = main(["forecast", str(tmp_path / "s.csv"), "--column", f"{EVIL}a,b", "--window", "3", "--horizon", "2", "--epochs", "1",
                 "--hidden-size", "2", "--verbose", "0", "--out", str(tmp_path / "f.csv")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out and f"{SHOWN}a" in out
    assert (tmp_path / "f.csv").read_text(encoding="utf-8").splitlines()[0].split(",")[1] == EVIL + "a"  # the file: as it is


@pytest.mark.parametrize("command", ["explain", "check"])
def test_markdown_output_shows_a_files_html_and_control_characters_as_text(tmp_path, capsys, command):
    # --format md pasted the file's title, labels and notes raw: an <img onerror=...> ran in a Markdown viewer that
    # renders HTML, and ESC sequences reached the terminal (helper-160's left-alone list)
    path = _evil_example(tmp_path)
    text = open(path, encoding="utf-8").read().replace("evil", "<img src=x onerror=alert(1)>", 1)
    open(path, "w", encoding="utf-8").write(text)
    code = main([command, path, "--format", "md"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "\x1b" not in out and "<img" not in out and SHOWN in out
    if command == "explain":
        assert out.startswith(f"# Seed{SHOWN} &lt;img src=x onerror=alert(1)>\n")


def test_forecast_backtest_table_shows_two_series_names_with_control_characters_escaped(tmp_path, capsys):
    # with several series the backtest table heads each series' part with its name ('name:') and prefixes its notes
    # with it: printed raw, a name from the CSV cleared the screen (ESC [ 2 J) or set the window title
    rng = np.random.default_rng(1)
    rows = "\n".join(f"{100 + t + rng.normal():.3f},{50 - t + rng.normal():.3f}" for t in range(24))
    (tmp_path / "two.csv").write_text(f"a{EVIL}x,b{EVIL}y\n" + rows + "\n", encoding="utf-8")
    code = main(["forecast", str(tmp_path / "two.csv"), "--column", f"a{EVIL}x,b{EVIL}y", "--window", "3", "--horizon", "2",
                 "--epochs", "1", "--hidden-size", "2", "--verbose", "0", "--backtest", "5"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert f"a{SHOWN}x:\n" in out and f"b{SHOWN}y:\n" in out  # the table's headings, escaped


def test_markdown_output_shows_a_files_images_links_and_newlines_as_text():
    # (helper-168 #3) an image ![..](url) in a title was fetched and shown by a Markdown viewer, a link was live, and
    # a note's newlines started a heading and a table row of the file's own
    from lstmkit.explain import explain, load

    from dataclasses import replace

    d = replace(load("builtin:seed000")[0], title="Seed ![pixel](https://attacker.example/t.png?who=me) [click](https://attacker.example) [a][ref]")
    out = explain(d, "md")
    head = out.splitlines()[0]
    assert head == ("# Seed \\![pixel\\](https://attacker.example/t.png?who=me) [click\\](https://attacker.example) "
                    "[a\\][ref]")
    from lstmkit.explain.doc import Document, Heading, Table
    from lstmkit.explain.render_md import render

    doc = Document("t")
    doc.add(Heading("one\n\n# A heading from the file", 2))
    doc.add(Table(["a", "b"], [["first line\n| x | y |", "2"]]))
    md = render(doc)
    assert "\n# A heading" not in md and "## one  # A heading from the file" in md
    assert "| first line \\| x \\| y \\| | 2 |" in md


def test_markdown_paragraph_lines_from_a_file_cannot_open_a_heading_or_define_a_link():
    # (helper-173 #5) a worked example's note kept its newlines in a paragraph: '\n# Heading' became a heading of the
    # file's own, and '[x]: https://...' a link definition turning the text's later '[x]' into a link
    from dataclasses import replace

    from lstmkit.explain import explain, load

    d = replace(load("builtin:seed000")[0], note="Fine.\n# Injected heading\n[0.4, 0.0]: https://attacker.example\n  [ref]: https://x")
    md = explain(d, "md")
    lines = md.splitlines()
    assert not any(line.startswith(("#", "[")) and "Injected" in line for line in lines)
    assert not any(line.lstrip().startswith("[") and "attacker" in line for line in lines)
    assert "\nFine. # Injected heading [0.4, 0.0]: https://attacker.example [ref]: https://x\n" in md  # one paragraph: text
    from lstmkit.explain.doc import Document, Para
    from lstmkit.explain.render_md import render

    assert render(Document("t", [Para("one\n# two\n [x]: y")])) == "# t\n\none\n\\# two\n \\[x]: y\n"
