"""``lstmkit generate``: the checkpoint of a long training (--checkpoint), its resume and its refusals, and
the command line's own refusals. (The rest of the command is tested in test_cli.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from interrupts import backward_raising
from test_text import PATTERN

from lstmkit.cli import Exit, main
from lstmkit.text import TextGenerator


@pytest.fixture
def text(tmp_path):
    """A text of 101 training characters (--held-out 0): 4 streams of 25, chunks of 10, 10 and 5: 3
    updates an epoch, one backward kernel call each."""
    path = tmp_path / "t.txt"
    path.write_text(PATTERN[:101], encoding="utf-8")
    return path


def argv(text, out, *more):
    return ["generate", "--text", str(text), "--held-out", "0", "--epochs", "4", "--hidden-size", "8", "--seq-len", "10",
            "--batch-size", "4", "--lr", "0.05", "--length", "20", "--model-out", str(out), *more]  # fmt: skip


def test_an_interrupted_generate_resumes_from_its_checkpoint_to_an_uninterrupted_run_s_model(text, tmp_path, monkeypatch, capsys):
    # the model was saved only once fit returned: Ctrl-C lost the whole training, and there was no --checkpoint
    ck = tmp_path / "ck.npz"
    backward_raising(monkeypatch, 7)  # epoch 3's first update
    assert main(argv(text, tmp_path / "a.npz", "--checkpoint", str(ck))) == Exit.INTERRUPTED
    monkeypatch.undo()
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"lstmkit: interrupted: the checkpoint {ck} holds epoch 2 of 4; run the same command again (with --checkpoint "
        f"{ck}) to resume from it, to the weights an uninterrupted run gives")  # fmt: skip
    assert not (tmp_path / "a.npz").exists()
    assert main(argv(text, tmp_path / "a.npz", "--checkpoint", str(ck))) == 0
    resumed = capsys.readouterr().out
    assert resumed.startswith(f"resuming from the checkpoint {ck}: 2 epochs of 4 done\ntrained on 101 characters")
    assert "; loss per epoch (nats per character; / ln 2 for bits): " in resumed  # the loss's unit said
    assert main(argv(text, tmp_path / "b.npz")) == 0
    whole = capsys.readouterr().out
    assert resumed.split("\n", 1)[1] == whole.replace(str(tmp_path / "b.npz"), str(tmp_path / "a.npz"))  # losses, sample
    a, b = TextGenerator.load(tmp_path / "a.npz"), TextGenerator.load(tmp_path / "b.npz")
    for k, v in b.model_.state_dict().items():
        assert np.array_equal(a.model_.state_dict()[k], v), k
    # without --checkpoint: nothing is left, said with how to have it next time
    backward_raising(monkeypatch, 2)
    assert main(argv(text, tmp_path / "c.npz")) == Exit.INTERRUPTED
    assert capsys.readouterr().err.splitlines()[-1] == (
        "lstmkit: interrupted: nothing saved; with --checkpoint PATH a checkpoint is written after every epoch, and the "
        "same command run again resumes from it")  # fmt: skip


def test_a_resume_with_other_options_or_another_text_is_refused_in_the_command_line_s_words(text, tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    assert main(argv(text, tmp_path / "a.npz", "--checkpoint", str(ck))) == 0
    capsys.readouterr()
    afresh = f"start afresh: delete {ck} or give another --checkpoint path"

    def refused(*changed):
        line = [*argv(text, tmp_path / "a.npz", "--checkpoint", str(ck)), *changed]  # a later option wins
        assert main(line) == Exit.ERROR
        out, err = capsys.readouterr()
        assert out == ""  # no 'resuming' before a refusal
        return err.strip()

    assert refused("--lr", "0.02") == (f"lstmkit: error: generate: the checkpoint {ck} was written with --lr 0.05, got --lr 0.02. "
                                       f"Resume with the same options (only --epochs may grow), or {afresh}.")  # fmt: skip
    assert refused("--peephole") == (f"lstmkit: error: generate: the checkpoint {ck} was written with no LSTM options, got "
                                     f"--peephole. Resume with the same options (only --epochs may grow), or {afresh}.")  # fmt: skip
    assert refused("--epochs", "3") == (f"lstmkit: error: generate: the checkpoint {ck} has run 4 epochs already, got --epochs 3. "
                                        f"Give --epochs 4 or more to go on, or {afresh}.")  # fmt: skip
    other = tmp_path / "other.txt"
    for words in ("dcba" * 30, "abcd" * 30):  # other characters (another vocabulary), the same ones in another order
        other.write_text(words[:1] + words[:100], encoding="utf-8")
        assert refused("--text", str(other)) == (
            f"lstmkit: error: generate: the checkpoint {ck} was written while training on another text, got --text, --max-chars, "
            f"--held-out and --validation-split that give other training characters. Resume with the same ones, or {afresh}.")  # fmt: skip
    # --validation-split and --patience, recorded only when given (a checkpoint of before they were options resumes)
    assert refused("--validation-split", "0.2") == (
        f"lstmkit: error: generate: the checkpoint {ck} was written with no --validation-split, got --validation-split 0.2. "
        f"Resume with the same options (only --epochs may grow), or {afresh}.")  # fmt: skip
    assert refused("--patience", "2") == (
        f"lstmkit: error: generate: the checkpoint {ck} was written with no --patience, got --patience 2. "
        f"Resume with the same options (only --epochs may grow), or {afresh}.")  # fmt: skip
    assert main([*argv(text, tmp_path / "a.npz", "--checkpoint", str(ck)), "--epochs", "5"]) == 0  # epochs may grow
    assert capsys.readouterr().out.startswith(f"resuming from the checkpoint {ck}: 4 epochs of 5 done\n")


def test_epochs_below_one_and_a_checkpoint_with_a_model_are_usage_errors(text, tmp_path, capsys):
    # --epochs 0 passed the command line and failed after reading the text (exit 1)
    with pytest.raises(SystemExit) as info:
        main(argv(text, tmp_path / "a.npz", "--epochs", "0"))
    assert info.value.code == Exit.USAGE and "--epochs: expected an integer >= 1, got '0'" in capsys.readouterr().err
    TextGenerator(hidden_size=4, seq_len=10, batch_size=4, epochs=1).fit(PATTERN[:101]).save(tmp_path / "m.npz")
    assert main(["generate", "--model", str(tmp_path / "m.npz"), "--checkpoint", str(tmp_path / "ck.npz")]) == Exit.USAGE
    assert "expected --checkpoint without --model, got both" in capsys.readouterr().err


def test_validation_split_reports_the_held_out_loss_and_perplexity_of_each_epoch(tmp_path, capsys):
    # generate reported no validation loss while training. --held-out 0.1 keeps the last 52 of the 520 characters
    # for the perplexity after training; --validation-split 0.2 holds out the last 94 of the 468 left, scored each
    # epoch (val_loss in the progress and the saved history), the model trained on the first 374
    import math
    import re

    text = "".join(np.random.default_rng(1).choice(list("abcd "), 520))
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    assert main(["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "3", "--hidden-size", "4", "--seq-len", "10",
                 "--batch-size", "4", "--length", "5", "--validation-split", "0.2", "--model-out", str(tmp_path / "g.npz"),
                 "--prime", "a", "--verbose", "2"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert out.startswith("trained on 374 characters (5 distinct)")
    found = re.search(r"\nvalidation loss per epoch \(the last 20% of the training text; nats per character, perplexity "
                      r"in brackets\): (.*)\n", out)  # fmt: skip
    assert found, out
    shown = [tuple(re.fullmatch(r"(\d+\.\d{3}) \((\d+\.\d\d)\)", pair).groups()) for pair in found[1].split(", ")]
    assert len(shown) == 3 and len(re.findall(r"- val_loss \d", err)) == 3  # and each epoch's line on stderr
    # the last epoch's by hand: the mean -log softmax of the saved model's logits over the 94 held-out characters
    held = text[: int(520 * 0.9)][int(468 * 0.8) :]
    assert len(held) == 94
    g = TextGenerator.load(tmp_path / "g.npz")
    z, _ = g._step_logits(g.encode(held[:-1]), None)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    nll = -np.mean(np.log(p[np.arange(93), g.encode(held[1:])]))
    assert shown[-1] == (f"{nll:.3f}", f"{math.exp(nll):.2f}")
    assert [e["val_loss"] for e in g.history_.epochs][-1] == pytest.approx(nll, rel=1e-5)  # saved with the model


def test_validation_split_says_of_its_end_that_it_has_characters_never_seen_in_the_command_s_words(tmp_path, capsys):
    # helper-219 #3: fit's warning reached the command line in the library's words ("TextGenerator.fit: the held-out
    # text (validation_split) ... Hold out a part whose characters the rest holds"), which the command cannot do
    body = "hello world.\n" * 30  # 390 characters, then "XYZ": --validation-split 0.1 holds out the last 39 of 393
    (tmp_path / "t.txt").write_text(body + "XYZ", encoding="utf-8")
    argv = ["generate", "--text", str(tmp_path / "t.txt"), "--held-out", "0", "--epochs", "1", "--hidden-size", "4",
            "--seq-len", "10", "--batch-size", "4", "--length", "3", "--verbose", "0", "--validation-split", "0.1"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ("lstmkit: warning: generate: the end held out by --validation-split (the last 10% of the training text) "
                   "has 3 characters not in the vocabulary (never seen at fit): 'X', 'Y', 'Z'; the model reads them as "
                   "'unknown', so the validation loss is not that of this text. Use a smaller --validation-split, or a text "
                   "whose end holds only characters of the rest.\n")  # fmt: skip
    assert "validation loss per epoch" in out
    (tmp_path / "t.txt").write_text(body, encoding="utf-8")  # its end written in its characters: nothing said
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
