"""TextGenerator: a character-level LSTM trained with truncated BPTT, sampled and scored."""

from __future__ import annotations

import numpy as np
import pytest

from interrupts import backward_raising
from lstmkit.datasets import stdlib_text
from lstmkit.estimators import NotFittedError
from lstmkit.io import FileFormatError
from lstmkit.text import TextGenerator

PATTERN = "abcd" * 150  # fully predictable after one character: perplexity can approach 1


@pytest.fixture(scope="module")
def gen():
    return TextGenerator(hidden_size=16, seq_len=10, batch_size=4, epochs=15, learning_rate=0.05, seed=0).fit(PATTERN)


def test_learns_a_periodic_text(gen):
    assert gen.vocab_ == "\x00abcd"  # index 0 is "unknown"
    assert gen.perplexity("abcdabcdabcd") < 1.5  # a uniform guess over 5 symbols scores 5
    assert gen.generate("a", 12, temperature=0.1, seed=0) == "abcdabcdabcda"
    losses = [e["loss"] for e in gen.history_.epochs]
    assert losses[-1] < 0.5 * losses[0]


def test_sampling_is_seeded_and_top_k_one_is_greedy(gen):
    a = gen.generate("ab", 30, temperature=2.0, seed=3)
    assert a == gen.generate("ab", 30, temperature=2.0, seed=3)
    assert gen.generate("ab", 8, top_k=1, temperature=5.0, seed=1) == "abcdabcdab"
    assert set(gen.generate("a", 200, temperature=3.0, seed=0)) <= set("abcd")  # never "unknown"


def test_unseen_characters_map_to_unknown(gen):
    np.testing.assert_array_equal(gen.encode("az"), [1, 0])
    assert gen.decode([1, 0]) == "a\ufffd"
    from lstmkit.text import TextWarning

    with pytest.warns(TextWarning):
        assert np.isfinite(gen.perplexity("abzd"))


def test_save_load_round_trip(gen, tmp_path):
    gen.save(tmp_path / "g.npz")
    back = TextGenerator.load(tmp_path / "g.npz")
    assert back.vocab_ == gen.vocab_
    assert back.generate("ab", 40, seed=5) == gen.generate("ab", 40, seed=5)
    assert back.perplexity(PATTERN[:50]) == gen.perplexity(PATTERN[:50])  # the weights come back bit for bit
    from lstmkit.forecast import LSTMForecaster

    with pytest.raises(FileFormatError, match="expected a model of kind LSTMForecaster, got TextGenerator"):
        LSTMForecaster.load(tmp_path / "g.npz")


def test_set_params_after_fit_changes_neither_the_model_nor_its_file(tmp_path):
    """scikit-learn's rule: set_params takes effect at the next fit; save writes the parameters of the fit (it wrote
    the new ones: hidden_size=16 made the file unloadable, epochs=9 misrecorded the training). The oracle: a
    generator fitted afresh with the first fit's parameters (seeded: the same model)."""
    params = dict(hidden_size=8, seq_len=10, batch_size=4, epochs=1, seed=0)
    fresh = TextGenerator(**params).fit(PATTERN)
    g = TextGenerator(**params).fit(PATTERN).set_params(hidden_size=16, lstm_options={"peephole": True}, epochs=9, seed=3)
    assert g.perplexity(PATTERN[:50]) == fresh.perplexity(PATTERN[:50])
    g.save(tmp_path / "g.npz")
    back = TextGenerator.load(tmp_path / "g.npz")
    assert back.get_params() == TextGenerator(**params).get_params()
    assert back.perplexity(PATTERN[:50]) == fresh.perplexity(PATTERN[:50])
    assert g.fit(PATTERN).model_.rnn.hidden_size == 16  # the next fit takes them


def test_fit_on_a_path_and_stdlib_text(tmp_path):
    text = stdlib_text(3000)
    assert len(text) == 3000 and "class " in text
    p = tmp_path / "t.txt"
    p.write_text(text, encoding="utf-8")
    g = TextGenerator(hidden_size=8, seq_len=20, batch_size=4, epochs=1, seed=0).fit(p)
    assert g.n_updates_ == -(-((3000 - 1) // 4) // 20)
    assert len(g.generate("def ", 10, seed=0)) == 14


def test_errors():
    g = TextGenerator()
    with pytest.raises(NotFittedError, match="Call fit"):
        g.generate("a", 5)
    with pytest.raises(ValueError, match="expected text at least"):
        TextGenerator(seq_len=10, batch_size=4).fit("short")
    with pytest.raises(TypeError, match="expected text a str or a path"):
        TextGenerator().fit(123)


def test_bad_sampling_arguments(gen):
    # a temperature is check_real's finite number > 0; the greedy hint only for a finite one <= 0 (NaN had it, inf
    # was taken: every logit / inf = 0, a uniform draw)
    with pytest.raises(ValueError, match=r"^TextGenerator.generate: expected temperature a finite number > 0, got 0\. For greedy "
                                         r"decoding \(always the likeliest character\) use top_k=1\.$"):  # fmt: skip
        gen.generate("a", 5, temperature=0)
    with pytest.raises(ValueError, match=r"expected temperature a finite number > 0, got -1\.5\. For greedy decoding"):
        gen.generate("a", 5, temperature=-1.5)
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match=rf"expected temperature a finite number > 0, got {bad}\.$"):  # no hint
            gen.generate("a", 5, temperature=bad)
    for bad in ("hot", True, None):  # not a number: a TypeError, no hint
        with pytest.raises(TypeError, match=rf"expected temperature a finite number > 0, got {bad!r}\.$"):
            gen.generate("a", 5, temperature=bad)
    assert gen.generate("ab", 20, temperature=np.float32(0.5), seed=3) == gen.generate("ab", 20, temperature=0.5, seed=3)  # was refused
    with pytest.raises(ValueError, match="expected prime a non-empty str"):
        gen.generate("", 5)


def test_same_seed_same_model():
    a = TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=2, seed=7).fit(PATTERN)
    b = TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=2, seed=7).fit(PATTERN)
    for k, v in a.model_.state_dict().items():
        np.testing.assert_array_equal(v, b.model_.state_dict()[k])


def test_a_generator_seed_seeds_each_fit_with_its_next_draw(tmp_path):
    # the estimators' rule (check_seed takes a Generator): TextGenerator handed it on to the Trainer,
    # which refused it ('Trainer: expected seed None or an integer >= 0, got Generator ...')
    make = lambda seed: TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=1, seed=seed)  # noqa: E731
    rng = np.random.default_rng(11)
    a = make(rng).fit(PATTERN)
    b = make(int(np.random.default_rng(11).integers(2**63))).fit(PATTERN)  # the draw it documents
    for k, v in a.model_.state_dict().items():
        np.testing.assert_array_equal(v, b.model_.state_dict()[k], err_msg=k)
    again = make(rng).fit(PATTERN)  # the Generator has moved on: another run
    assert not np.array_equal(again.model_.state_dict()["head.weight"], a.model_.state_dict()["head.weight"])
    a.save(tmp_path / "g.npz")  # its draws cannot be stored: saved as None
    assert TextGenerator.load(tmp_path / "g.npz").seed is None


@pytest.mark.parametrize("options", [None, {"layer_norm": True}, {"proj_size": 3}])
def test_generation_steps_give_the_logits_of_one_pass_over_the_whole_text(gen, options):
    # generate() runs the LSTM's stream one character at a time (variant options: the model on one
    # character); oracle: the model over the whole sequence in one forward (float32: 1e-5)
    g = gen if options is None else TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=1, lstm_options=options,
                                                  seed=0).fit(PATTERN)  # fmt: skip
    ids = g.encode("abcdbadcab")
    logits, state = g._step_logits(ids[:3], None)
    got = [logits[-1]]
    step = g._stepper(state)
    got += [step(i) for i in ids[3:]]
    want, _ = g._step_logits(ids, None)
    np.testing.assert_allclose(np.array(got), want[2:], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "params,message",
    [
        (dict(hidden_size=0), "TextGenerator: expected hidden_size >= 1, got 0."),
        (dict(num_layers=0), "TextGenerator: expected num_layers >= 1, got 0."),
        (dict(learning_rate=-1), "TextGenerator: expected learning_rate a finite number > 0, got -1."),
        (dict(learning_rate=float("inf")), "TextGenerator: expected learning_rate a finite number > 0, got inf."),  # not Adam's words
        (dict(optimizer="adagrad"), "TextGenerator: expected optimizer one of ['sgd', 'adam', 'adamw', 'rmsprop'], got 'adagrad'."),
        (dict(dropout=1.5), "TextGenerator: expected dropout a finite number in [0, 1), got 1.5."),
        (dict(clip=0), "TextGenerator: expected clip None or a finite number > 0, got 0."),
        (dict(clip=float("inf")), "TextGenerator: expected clip None or a finite number > 0, got inf."),  # fitted, then save failed
    ],
)
def test_bad_hyper_parameters_name_the_generator(params, message):
    # not the inner class that would have failed on it (LSTM, Adam, make_optimizer, Trainer)
    with pytest.raises(ValueError) as info:
        TextGenerator(seq_len=5, batch_size=2, **params).fit("abcabcabcabcabcabc")
    assert str(info.value) == message


def test_history_survives_save_and_load(gen, tmp_path):
    gen.save(tmp_path / "g.npz")
    back = TextGenerator.load(tmp_path / "g.npz")
    assert len(back.history_) == 15  # one entry per epoch (the fixture's epochs=15)
    assert back.history_.epochs == [{k: v for k, v in e.items() if k != "time"} for e in gen.history_.epochs]  # the file has no times
    assert back.n_updates_ == gen.n_updates_ == 15 * -(-((len(PATTERN) - 1) // 4) // 10)


def test_numpy_integers_as_parameters_save_and_load(tmp_path):
    # a grid's np.arange values: saved as JSON numbers (np.int64 is not JSON serialisable)
    g = TextGenerator(hidden_size=np.int64(4), seq_len=np.int64(5), batch_size=2, seed=np.int64(0)).fit("abcabcabcabcabc")
    g.save(tmp_path / "g.npz")
    back = TextGenerator.load(tmp_path / "g.npz")
    assert back.get_params() == {**g.get_params(), "hidden_size": 4, "seq_len": 5, "seed": 0}
    assert type(back.hidden_size) is int and back.perplexity("abcab") == g.perplexity("abcab")


def test_a_model_file_with_a_bad_seed_is_refused_at_load_as_fit_refuses_it(tmp_path):
    import lstmkit
    from lstmkit.modelfile import read_model, save_model

    TextGenerator(hidden_size=4, epochs=1, seq_len=8, batch_size=2, seed=0).fit("abcabcabcabcabcabc").save(tmp_path / "g.npz")
    mf = read_model(tmp_path / "g.npz")
    save_model(tmp_path / "bad.npz", mf.kind, dict(mf.config, params=dict(mf.config["params"], seed="x")), mf.arrays, mf.extra)
    with pytest.raises(FileFormatError, match=r"bad.npz: expected a valid TextGenerator model file, .*expected seed None, an integer >= 0"):
        lstmkit.load(tmp_path / "bad.npz")  # it loaded, the seed "x" in its parameters
    with pytest.raises(TypeError, match=r"expected seed None, an integer >= 0"):
        TextGenerator(hidden_size=4, epochs=1, seq_len=8, batch_size=2, seed="x").fit("abcabcabcabcabcabc")


def test_a_prime_s_characters_never_seen_at_fit_are_warned_of_by_name(gen):
    from lstmkit.text import TextWarning

    with pytest.warns(TextWarning, match=r"prime has 2 characters not in the vocabulary \(never seen at fit\): 'Z', 'e'") as record:
        out = gen.generate("aZeZ", 4, seed=0)
    assert len(record) == 1 and out.startswith("aZeZ")  # the prime is kept as written
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.generate("abcd", 4, seed=0)  # all seen: nothing said


def test_perplexity_of_characters_never_seen_at_fit_is_warned_of_by_name(gen):
    # as generate warns of a prime's: the characters are read as 'unknown', which the model never saw either, so the
    # number is not the text's (36.3 for '🙂🙂🙂 abc' without a word)
    from lstmkit.text import TextWarning

    with pytest.warns(TextWarning, match=r"^TextGenerator.perplexity: text has 2 characters not in the vocabulary \(never "
                                         r"seen at fit\): ' ', '🙂'; the model reads them as 'unknown', so the perplexity is "
                                         r"not that of this text\. Score text written in the training text's characters\.$") as record:
        gen.perplexity("🙂🙂🙂 abc")
    assert len(record) == 1 and record[0].filename == __file__  # pointing at the caller's line
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gen.perplexity("abcdab")  # all seen: nothing said


def test_generate_says_of_the_held_out_text_that_it_has_characters_never_seen(tmp_path, capsys):
    # the library's warning spoke of a text the user chose ("TextGenerator.perplexity: text has 5 characters ...
    # Score text written in the training text's characters"); the command chose it: the end of --text
    from lstmkit.cli import main

    (tmp_path / "t.txt").write_text("hello world.\n" * 60 + "XYZ qq!", encoding="utf-8")  # 787 characters: the last 79 held out
    argv = ["generate", "--text", str(tmp_path / "t.txt"), "--epochs", "1", "--hidden-size", "4", "--seq-len", "10",
            "--batch-size", "4", "--length", "3", "--verbose", "0"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err == ("lstmkit: warning: generate: the held-out text (the last 10% of --text, --held-out) has 5 characters not in "
                   "the vocabulary (never seen at fit): '!', 'X', 'Y', 'Z', 'q'; the model reads them as 'unknown', so the "
                   "held-out perplexity is not that of this text.\n")  # fmt: skip
    assert "held-out perplexity: " in out
    assert main([*argv, "--held-out", "0.25"]) == 0
    assert "(the last 25% of --text, --held-out)" in capsys.readouterr().err
    (tmp_path / "t.txt").write_text("hello world.\n" * 60, encoding="utf-8")  # its end written in its characters: nothing said
    assert main(argv) == 0
    assert capsys.readouterr().err == ""


def test_the_characters_never_seen_at_fit_are_told_by_public_methods(gen):
    # lstmkit generate read them through the private _warn_unseen and gen._index; the vocabulary is abcd
    import warnings

    from lstmkit.text import TextWarning

    assert gen.unseen("abxcda zx") == [" ", "x", "z"]  # each once, sorted; encode reads them as 0
    assert gen.encode("x").tolist() == [0]
    assert gen.unseen("dcba") == [] and gen.unseen("") == []
    with pytest.warns(TextWarning) as record:
        assert gen.warn_unseen("aqb", "here", "the sample", "so it is read otherwise.") == ["q"]
    assert len(record) == 1 and record[0].filename == __file__  # the line calling it
    assert str(record[0].message) == ("here: the sample has 1 character not in the vocabulary (never seen at fit): 'q'; "
                                      "the model reads it as 'unknown', so it is read otherwise.")  # fmt: skip
    with pytest.warns(TextWarning, match=r": 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n' and 2 more; the model reads them"):
        gen.warn_unseen("efghijklmnop", "here", "it", "why")  # 12 unseen: 10 named
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gen.warn_unseen("abcd", "here", "it", "why") == []  # all seen: nothing said
    with pytest.raises(ValueError, match=r"TextGenerator.unseen: expected a fitted generator"):
        TextGenerator().unseen("a")
    with pytest.raises(TypeError, match=r"^TextGenerator.unseen: expected text a str, got list\. Join the characters"):
        gen.unseen(["a"])


@pytest.mark.parametrize("seq_len, said", [("x", "an integer, got str 'x'"), (0, ">= 1, got 0"), (2.5, "an integer, got float 2.5"),
                                            (True, "an integer, got bool True"), ([], r"an integer, got list \[\]")])  # fmt: skip
def test_a_model_file_with_a_bad_seq_len_is_refused_at_load_as_fit_refuses_it(tmp_path, seq_len, said):
    # fit checks seq_len (an integer >= 1: the chunk length of truncated backprop); a file with any other loaded
    import lstmkit
    from lstmkit.modelfile import read_model, save_model

    TextGenerator(hidden_size=4, epochs=1, seq_len=8, batch_size=2, seed=0).fit("abcabcabcabcabcabc").save(tmp_path / "g.npz")
    mf = read_model(tmp_path / "g.npz")
    save_model(tmp_path / "bad.npz", mf.kind, dict(mf.config, params=dict(mf.config["params"], seq_len=seq_len)), mf.arrays, mf.extra)
    with pytest.raises(FileFormatError, match=rf"bad.npz: expected a valid TextGenerator model file, got one that fails to load "
                                              rf"\(TextGenerator: expected seq_len {said}\.\)\.$"):
        lstmkit.load(tmp_path / "bad.npz")
    with pytest.raises((TypeError, ValueError), match=rf"^TextGenerator: expected seq_len {said}\.$"):
        TextGenerator(hidden_size=4, epochs=1, seq_len=seq_len, batch_size=2, seed=0).fit("abcabcabcabcabcabc")
    # both by the one check of the hyper-parameters that fit and load call (load repeated fit's own check of seq_len)
    from lstmkit.estimators import check_hyper_parameters

    with pytest.raises((TypeError, ValueError), match=rf"^TextGenerator: expected seq_len {said}\.$"):
        check_hyper_parameters(TextGenerator(seq_len=seq_len), "TextGenerator")


def test_an_interrupted_fit_resumes_from_its_checkpoint_to_the_uninterrupted_fit_s_model(tmp_path, monkeypatch):
    # fit took no checkpoint: a long training interrupted (Ctrl-C) was lost whole. 4 streams of 25 characters in
    # chunks of 10 (10, 10, 5): 3 updates an epoch, one backward kernel call each; the 7th, epoch 3's first, is
    # interrupted
    from lstmkit.checkpoint import ResumeRefused, read_checkpoint

    text = PATTERN[:101]
    params = dict(hidden_size=8, seq_len=10, batch_size=4, epochs=4, learning_rate=0.05, seed=0)
    ck = tmp_path / "ck.npz"
    backward_raising(monkeypatch, 7)
    g = TextGenerator(**params)
    with pytest.raises(KeyboardInterrupt):
        g.fit(text, checkpoint=ck)
    monkeypatch.undo()
    assert not hasattr(g, "model_")  # nothing learned is set by a fit that did not end
    assert read_checkpoint(ck)["meta"]["epoch"] == 2  # the last epoch that ended
    # another setting is refused by name, the generator left as it was
    with pytest.raises(ResumeRefused, match="hidden_size 8, got 9"):
        g.set_params(hidden_size=9).fit(text, checkpoint=ck, resume=True)
    assert not hasattr(g, "model_")
    seen = []
    resumed = g.set_params(hidden_size=8).fit(text, checkpoint=ck, resume=True, on_resume=lambda t: seen.append(t.epoch))
    whole = TextGenerator(**params).fit(text)
    assert seen == [2]
    for k, v in whole.model_.state_dict().items():
        assert np.array_equal(resumed.model_.state_dict()[k], v), k
    drop = lambda g: [{k: v for k, v in e.items() if k != "time"} for e in g.history_.epochs]  # noqa: E731
    assert drop(resumed) == drop(whole) and len(drop(whole)) == 4
    assert resumed.n_updates_ == whole.n_updates_ == 12
    assert read_checkpoint(ck)["meta"]["epoch"] == 4


def test_the_progress_moves_after_each_chunk_with_the_running_loss(monkeypatch):
    # the text is one batch: the bar was declared 1 step and moved once an epoch. 4 streams of 25 characters in
    # chunks of 10, 10 and 5: 3 steps an epoch, after each the mean loss so far over the characters read, each
    # chunk's mean loss weighed by its characters (4 * 10, 4 * 10, 4 * 5), as the epoch's loss is
    import lstmkit.training as training
    from lstmkit.progress import Silent

    calls, losses = [], []

    class Recorder(Silent):
        def start_epoch(self, epoch, epochs, steps):
            calls.append(("start", steps))

        def update(self, logs, advance=1):
            calls.append(("update", advance, logs["loss"]))

    loss = training.Trainer._loss

    def recorded(self, *args):  # each chunk's mean loss, as the Trainer computes it
        out = loss(self, *args)
        losses.append(out[0])
        return out

    monkeypatch.setattr(training, "make_progress", lambda verbose, stream: Recorder())
    monkeypatch.setattr(training.Trainer, "_loss", recorded)
    g = TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=2, learning_rate=0.05, seed=0).fit(PATTERN[:101])
    assert g.n_updates_ == 6 and [c for c in calls if c[0] == "start"] == [("start", 3)] * 2
    assert len([c for c in calls if c[0] == "update"]) == g.n_updates_  # n_updates_ / epochs an epoch
    sizes = [40, 40, 20]
    for epoch in range(2):
        mine = losses[3 * epoch : 3 * epoch + 3]
        running = [sum(mine[i] * sizes[i] for i in range(j + 1)) / sum(sizes[: j + 1]) for j in range(3)]
        shown = [c[2] for c in calls[4 * epoch + 1 : 4 * epoch + 4]]
        np.testing.assert_allclose(shown, running, rtol=1e-12)
        assert g.history_.epochs[epoch]["loss"] == shown[-1]  # the epoch's figure is the last running one


@pytest.mark.filterwarnings("error")
def test_a_tiny_temperature_samples_the_likeliest_character(gen):
    # z / τ overflowed to ±inf for τ near the smallest floats, and z - z.max() gave inf - inf = NaN: NumPy's bare
    # "Probabilities contain NaN". As τ -> 0 the distribution tends to the likeliest character (top_k=1)
    greedy = gen.generate("ab", 12, top_k=1, seed=0)
    for tiny in (1e-3, 1e-308, 1e-310, 5e-324):
        assert gen.generate("ab", 12, temperature=tiny, seed=0) == greedy, tiny
    # an ordinary temperature samples as the softmax of z / τ, computed here from the model's logits for the prime
    logits, _ = gen._step_logits(gen.encode("abc"), None)
    z = logits[-1][1:] / 0.7  # never "unknown" (index 0)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    u = np.random.default_rng(4).random()  # what rng.choice draws for one character: the first index whose cumsum > u
    assert gen.generate("abc", 1, temperature=0.7, seed=4)[-1] == gen.vocab_[1 + int(np.searchsorted(np.cumsum(p), u, side="right"))]


def test_bad_primes_seeds_and_indices_are_refused_by_name(gen):
    # a prime of another type was a ValueError, a bad seed named 'lstmkit' (check_rng had no where), decode read
    # -1 as the last character and raised a bare IndexError past it, encode a bare "'int' object is not iterable"
    for bad, name in ((None, "NoneType"), (5, "int"), (["a"], "list")):
        with pytest.raises(TypeError, match=rf"^TextGenerator\.generate: expected prime a non-empty str, got {name}\. Use for example"):
            gen.generate(bad, 3)
    with pytest.raises(TypeError, match=r"^TextGenerator\.generate: expected seed "):
        gen.generate("a", 3, seed="x")
    with pytest.raises(TypeError, match=r"^TextGenerator\.encode: expected text a str, got int\. Join the characters into one str first \(''\.join\(chars\)\)\.$"):
        gen.encode(5)
    V = len(gen.vocab_)  # 5: "unknown" and abcd
    for bad in (-1, V, 200):
        with pytest.raises(ValueError, match=rf"^TextGenerator\.decode: expected ids indices in \[0, {V - 1}\] \(into vocab_, 0 'unknown'\), got {bad}\. Give indices from this generator's encode\(\) \(a negative one is not read from the end\)\.$"):
            gen.decode([1, bad])
    for bad, dtype in (([1.0], "float64"), ([True], "bool"), (["a"], "<U1")):
        with pytest.raises(TypeError, match=rf"^TextGenerator\.decode: expected ids integers \(character indices\), got an array of {dtype}\. Give indices as encode\(\) returns them \(int64\)\.$"):
            gen.decode(bad)
    assert gen.decode([]) == "" and gen.decode(np.array([[1, 2], [3, 0]], dtype=np.uint8)) == "abc\ufffd"
    assert gen.decode(gen.encode("dcba")) == "dcba"


def test_a_str_naming_a_file_and_nul_characters_are_warned_of(tmp_path, monkeypatch):
    # fit("input.txt") trained on the 9 characters of the name, without a word; a NUL in the text was folded
    # into "unknown" (the vocabulary's entry 0), which generate never samples, silently
    from lstmkit.text import TextWarning

    monkeypatch.chdir(tmp_path)
    (tmp_path / "input.txt").write_text(PATTERN, encoding="utf-8")
    small = dict(hidden_size=4, seq_len=2, batch_size=2, epochs=1)
    with pytest.warns(TextWarning, match=r"^TextGenerator\.fit: text is a str that names an existing file, 'input\.txt': it "
                                         r"is read as the text itself \(9 characters\), not as the file's content\. Pass "
                                         r"pathlib\.Path\('input\.txt'\) to read the file\.$"):  # fmt: skip
        g = TextGenerator(**small).fit("input.txt")
    assert g.vocab_ == "\x00.inptux"  # as documented: the str is the text
    with pytest.warns(TextWarning, match=r"^TextGenerator\.perplexity: text is a str that names an existing file, "):
        g.perplexity("input.txt")
    import pathlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TextGenerator(**small).fit(pathlib.Path("input.txt")).vocab_ == "\x00abcd"  # a path: its content
        TextGenerator(**small).fit("nofile.txt")  # names nothing: no warning
        TextGenerator(**small).fit("input.txt\ninput.txt")  # two lines: a text
    with pytest.warns(TextWarning, match=r"^TextGenerator\.fit: text has 2 NUL characters \('\\x00'\), the vocabulary's entry "
                                         r"for 'unknown' \(characters never seen at fit\): the model learns them as 'unknown', "
                                         r"which generate never samples\."):  # fmt: skip
        g = TextGenerator(**small).fit("ab\x00ab\x00ab")
    assert g.vocab_ == "\x00ab" and g.n_updates_ == 2  # n = (8 - 1) // 2 = 3 a stream, chunks of 2: 2 updates


def test_fit_writes_its_progress_to_the_stream_it_is_given(capsys):
    # fit took no stream: its progress (verbose) went to sys.stdout as it stood, and lstmkit generate swapped
    # sys.stdout for stderr around the fit to keep its stdout for the sample
    import io

    out = io.StringIO()
    g = TextGenerator(hidden_size=8, seq_len=10, batch_size=4, epochs=2, seed=0, verbose=2).fit(PATTERN[:101], stream=out)
    lines = out.getvalue().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert f"loss {g.history_.epochs[1]['loss']:.4f}" in lines[1]
    assert capsys.readouterr().out == ""


RANDOM_TEXT = "".join(np.random.default_rng(0).choice(list("abcd "), 400))  # 400 characters of 5, drawn from a seed


def test_validation_split_holds_out_the_end_of_the_text_and_scores_it_each_epoch():
    # fit had no held-out text: no val_loss to see over-fitting by. validation_split=0.2 holds out the last 80
    # characters, in order; the first 320 are trained on as a fit on them alone (the same losses, bit for bit)
    kw = dict(hidden_size=8, seq_len=10, batch_size=4, epochs=3, learning_rate=0.05, seed=0)
    g = TextGenerator(validation_split=0.2, **kw).fit(RANDOM_TEXT)
    alone = TextGenerator(**kw).fit(RANDOM_TEXT[:320])
    assert [e["loss"] for e in g.history_.epochs] == [e["loss"] for e in alone.history_.epochs]
    assert (g.n_train_chars_, alone.n_train_chars_) == (320, 320)  # fit's count, which lstmkit generate prints
    assert "val_loss" not in alone.history_.epochs[0]  # default: no validation
    # the last epoch's val_loss by hand: the mean -log softmax of the fitted model's logits over the held-out 80
    # characters (each predicting the next), the state carried from zero through them
    held = RANDOM_TEXT[320:]
    z, _ = g._step_logits(g.encode(held[:-1]), None)  # (79, V)
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    nll = -log_p[np.arange(79), g.encode(held[1:])].mean()
    vals = [e["val_loss"] for e in g.history_.epochs]
    assert len(vals) == 3 and vals[0] != vals[1]
    np.testing.assert_allclose(vals[-1], nll, rtol=1e-5)  # the Trainer's float32 against float64
    np.testing.assert_allclose(np.exp(vals[-1]), g.perplexity(held), rtol=1e-5)  # exp(val_loss): the perplexity


def test_a_validation_split_with_characters_the_training_part_lacks_warns():
    # the held-out end was scored with its unseen characters as "unknown", in val_loss (and early stopping), without
    # a word, where perplexity() warns of the same text
    import warnings

    from lstmkit.text import TextWarning

    kw = dict(hidden_size=4, seq_len=5, batch_size=2, epochs=1, seed=0, validation_split=0.2)
    text = RANDOM_TEXT[:320] + "XYZ" + RANDOM_TEXT[:77]  # the last 80 characters hold X, Y and Z, the first 320 not
    with pytest.warns(TextWarning, match=r"^TextGenerator\.fit: the held-out text \(validation_split\) has 3 characters not "
                                         r"in the vocabulary \(never seen at fit\): 'X', 'Y', 'Z'; the model reads them as "
                                         r"'unknown', so val_loss is not that of this text\. Use a smaller validation_split, "
                                         r"or a text whose end holds only characters of the rest\.$") as record:  # fmt: skip
        TextGenerator(**kw).fit(text)
    assert record[0].filename == __file__  # the user's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextGenerator(**kw).fit(RANDOM_TEXT)  # every held-out character is in the training part: no warning


def test_patience_stops_early_on_the_validation_loss_and_keeps_the_best_epoch():
    # the training text is "abcd" repeated, the held-out end "dcba": the better the model learns the one, the
    # worse it scores the other, from the second epoch on; patience=1 stops there, with epoch 1's weights
    text = "abcd" * 100 + "dcba" * 25
    kw = dict(hidden_size=8, seq_len=10, batch_size=4, epochs=10, learning_rate=0.05, seed=0, validation_split=0.2)
    g = TextGenerator(patience=1, **kw).fit(text)
    vals = [e["val_loss"] for e in g.history_.epochs]
    assert len(vals) == 2 and vals[1] > vals[0]
    assert g.n_updates_ == 2 * 10  # 4 streams of 99 characters, chunks of 10: 10 updates an epoch
    one = TextGenerator(**{**kw, "epochs": 1}).fit(text)  # the weights kept: those of the first epoch
    for k, v in one.model_.state_dict().items():
        assert np.array_equal(g.model_.state_dict()[k], v), k


def test_a_validation_split_that_holds_out_too_little_is_refused():
    with pytest.raises(ValueError, match=r"TextGenerator: expected validation_split a fraction holding out at least 2 "
                                         r"characters of the text's 400, got 0\.001\. Use a larger"):  # fmt: skip
        TextGenerator(hidden_size=4, seq_len=5, batch_size=2, validation_split=0.001).fit(RANDOM_TEXT)
    with pytest.raises(ValueError, match=r"expected validation_split .*\[0, 1\).*, got 1"):
        TextGenerator(hidden_size=4, seq_len=5, batch_size=2, validation_split=1).fit(RANDOM_TEXT)


def test_a_resume_with_another_patience_is_refused(tmp_path):
    # patience and validation_split are recorded in a checkpoint only when set; patience=0 (stop at the first epoch
    # without improvement) was read as unset, None, and its resume went ahead without early stopping
    from lstmkit.checkpoint import ResumeRefused

    ck = tmp_path / "ck.npz"
    TextGenerator(hidden_size=4, seq_len=10, batch_size=4, epochs=1, seed=0).fit(PATTERN[:101], checkpoint=ck)
    with pytest.raises(ResumeRefused) as refused:
        TextGenerator(hidden_size=4, seq_len=10, batch_size=4, epochs=2, seed=0, patience=0).fit(PATTERN[:101], checkpoint=ck, resume=True)
    assert refused.value.setting == "patience"


def test_a_fitted_generator_pickled_before_fitted_params_existed_saves(gen, tmp_path):
    import pickle

    old = pickle.loads(pickle.dumps(gen))
    for k in ("fitted_params_", "validation_split", "patience"):  # as a generator of a version before them (1f5db37)
        del old.__dict__[k]
    restored = pickle.loads(pickle.dumps(old))  # raised AttributeError: no attribute 'validation_split'
    assert restored.fitted_params_ == gen.fitted_params_  # its get_params() at fit, the new ones at their defaults
    assert (restored.validation_split, restored.patience) == (0.0, None)
    assert restored.get_params() == gen.get_params() and repr(restored) == repr(gen)
    assert TextGenerator(**restored.get_params()).get_params() == gen.get_params()  # what clone does
    restored.save(tmp_path / "old.npz")
    assert TextGenerator.load(tmp_path / "old.npz").generate("a", 20, seed=1) == gen.generate("a", 20, seed=1)
    assert not hasattr(pickle.loads(pickle.dumps(TextGenerator(hidden_size=3))), "fitted_params_")  # an unfitted one has none


def test_a_positional_call_written_before_validation_split_and_patience_binds_as_it_did():
    # they were inserted before seed and verbose: 1f5db37's TextGenerator(8, 1, 0.0, 5, 4, 1, 1.0, None, 'adam', 0.005,
    # 5.0, 0, 1) (seed=0, verbose=1) gave validation_split=0, patience=1 (early stopping on) and verbose=0
    with pytest.warns(FutureWarning, match=r"TextGenerator: pass hidden_size=8, .* seed=0, verbose=1 by keyword"):
        g = TextGenerator(8, 1, 0.0, 5, 4, 1, 1.0, None, "adam", 0.005, 5.0, 0, 1)
    assert g.get_params() == dict(hidden_size=8, num_layers=1, dropout=0.0, seq_len=5, batch_size=4, epochs=1, forget_bias=1.0,
                                  lstm_options=None, optimizer="adam", learning_rate=0.005, clip=5.0, seed=0, verbose=1,
                                  validation_split=0.0, patience=None)  # fmt: skip


def test_a_stream_without_write_is_refused_in_fits_name():
    # it reached the Trainer, whose refusal said "Trainer:"; io.BytesIO (bytes) is no progress stream either
    import io

    for bad in (5, io.BytesIO()):
        with pytest.raises(TypeError, match=r"^TextGenerator\.fit: expected stream None \(sys\.stdout\) or a text stream"):
            TextGenerator(epochs=1).fit("abcabc" * 10, stream=bad)
