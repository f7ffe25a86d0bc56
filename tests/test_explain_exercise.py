"""Exercises that ask for the backward pass (``lstmkit exercise --grad``): the answer key is the hand
calculation, recomputed here by the plain-Python one of test_explain_backward (Decimal rounding,
written from the formulas, not lstmkit's code), and ``check`` grades a filled-in copy: right answers
pass, a wrong number is pointed at and what is worked on from it follows from it.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from test_explain_backward import LETTERS, hand_bptt, rnd

from lstmkit.cli import main
from lstmkit.commands._options import name_options
from lstmkit.commands.exercise import OPTIONS, OWNERS
from lstmkit.explain import check
from lstmkit.explain.check import FOLLOWS, NEW, OK, OK_HAND
from lstmkit.explain.exercise import GRAD_ASKABLE, dumps, make
from lstmkit.explain.worked import from_dict

EVERYTHING = GRAD_ASKABLE  # loss, dh, dc, dgates, dz, dc_prev, dh_prev, dx, dW, db


def _hand(doc, d):
    """The hand calculation (forward and BPTT, cross-entropy of softmax(h_t)) of an exercise's cell."""
    w, inp = doc["weights"], doc["inputs"]
    return hand_bptt(w, inp["x"], inp["h0"], inp["c0"], doc["readout"]["targets"], d)


@pytest.mark.parametrize("seed, d, sizes", [(7, 1, (2, 2, 2)), (3, 2, (2, 2, 3)), (12, 2, (3, 1, 2))])
def test_the_key_of_a_grad_exercise_is_the_hand_calculation(seed, d, sizes):
    H, I, T = sizes
    exercise, key = make(seed, hidden_size=H, input_size=I, steps=T, decimals=d, grad=EVERYTHING)
    assert exercise["exercise"]["loss"] == "xent" and len(exercise["readout"]["targets"]) == T
    fw, bw, terms, L, grads = _hand(key, d)
    seen = set()
    for c in key["claims"]:
        got = np.asarray(c["value"], dtype=float)
        t, name = c.get("step"), c["name"]
        if t is None:  # the loss and the gradients summed over the steps
            want = L if name == "loss" else grads[name[1:]]
        elif name in ("z_i", "z_f", "z_g", "z_o"):
            continue  # the hand calculation above keeps the gates, not their pre-activations
        else:
            want = (bw[t] if name.startswith("d") else fw[t - 1])[name]
        np.testing.assert_allclose(got, np.asarray(want, dtype=float), rtol=0, atol=1e-12, err_msg=f"{name} step {t}")
        seen.add(name)
    # every backward quantity asked, every gate, in the slides' order of the four gates for dW
    assert seen >= {"loss", "dh", "do", "dc", "di", "df", "dg", "dz_i", "dz_f", "dz_g", "dz_o", "dc_prev", "dh_prev", "dx"}
    assert seen >= {f"dW_i{L}" for L in LETTERS.values()} | {f"dW_h{L}" for L in LETTERS.values()} | {"db_ii"}
    # the blanks: one "?" per number, shaped as the key's
    for blank, answer in zip(exercise["claims"], key["claims"]):
        assert {k: v for k, v in blank.items() if k != "value"} == {k: v for k, v in answer.items() if k != "value"}
        assert np.shape(blank["value"]) == np.shape(answer["value"])
        assert set(np.ravel(blank["value"])) == {"?"}


def test_the_same_seed_draws_the_same_cell_with_or_without_gradients():
    plain, plain_key = make(5)
    grad, grad_key = make(5, grad=("dh",))
    assert grad["weights"] == plain["weights"] and grad["inputs"] == plain["inputs"]
    assert grad_key["claims"][: len(plain_key["claims"])] == plain_key["claims"]


def _fill(doc, answers):
    """The exercise ``doc`` with the blanks filled from ``answers`` (the key's claims, edited)."""
    return {**doc, "claims": answers}


def test_check_grades_a_grad_exercise():
    exercise, key = make(7, decimals=2, grad=EVERYTHING)
    n = sum(np.size(c["value"]) for c in exercise["claims"])
    # read back from the TOML the student fills in
    key = tomllib.loads(dumps(key))
    rep = check(from_dict(key)[0])
    assert rep.ok and rep.count(OK, OK_HAND) == len(rep.findings) == n
    blank = check(from_dict(exercise)[0])
    assert blank.count("not answered") == n
    # a student's slip: dc_2 unit 1 written 0.3 too high, and di_2 unit 1 worked on from it
    # (wrong dc_2 times c̃_2, rounded); the gradients before it, dh_2 and do_2, stay right
    fw, bw, _, _, _ = _hand(key, 2)
    at = {(c.get("step"), c["name"]): c for c in key["claims"]}
    wrong = bw[2]["dc"][0] + 0.3
    at[(2, "dc")]["value"][0] = f"{wrong:.2f}"
    di = rnd(wrong * fw[1]["g"][0], 2)
    assert di != bw[2]["di"][0]
    at[(2, "di")]["value"][0] = f"{di:.2f}"
    rep = check(from_dict(key)[0])
    failing = [f for f in rep.findings if f.failing]
    assert (failing[0].label, failing[0].verdict) == ("dc_2 unit 1", NEW), [(f.label, f.verdict) for f in failing]
    found = {f.label: f for f in rep.findings}
    assert found["di_2 unit 1"].verdict == FOLLOWS and found["di_2 unit 1"].culprits == ("dc_2 unit 1",)
    assert not found["dh_2 unit 1"].failing and not found["do_2 unit 1"].failing
    # a weight gradient's entry written wrong is pointed at by its row and column
    key = tomllib.loads(dumps(make(7, decimals=2, grad=EVERYTHING)[1]))
    dW = next(c for c in key["claims"] if c["name"] == "dW_hf")
    dW["value"][0][1] = f"{float(dW['value'][0][1]) + 0.1:.2f}"
    rep = check(from_dict(key)[0])
    assert [(f.label, f.verdict) for f in rep.findings if f.failing] == [("dW_hf entry (1, 2)", NEW)]


def test_one_hidden_unit_takes_the_sum_of_h_as_its_loss():
    # the softmax of one unit is 1 whatever h is: its cross-entropy and gradients are 0, so the sum of
    # h_T is the loss; by hand (seed 2, two steps): L = h_2, dh_2 = 1, dh_1 = dh_prev of step 2
    exercise, key = make(2, hidden_size=1, input_size=1, steps=2, decimals=2, grad=("loss", "dh", "dh_prev"))
    assert exercise["exercise"]["loss"] == "sum_h" and "readout" not in exercise
    ex = from_dict(key)[0]
    rep = check(ex)
    assert rep.ok and len(rep.findings) == 2 * 10 + 1 + 2 + 2  # z, gates, c, h (10 numbers) per step; L; dh; dh_prev
    values = {(c.get("step"), c["name"]): c["value"] for c in key["claims"]}
    h2 = float(values[(2, "h")][0])
    assert float(values[(None, "loss")]) == h2 and values[(2, "dh")] == ["1.00"]
    assert values[(1, "dh")] == values[(2, "dh_prev")]
    with pytest.raises(ValueError, match=r"exercise: expected loss 'xent' with at least 2 hidden units .*got hidden_size 1"):
        make(2, hidden_size=1, grad=("dh",), loss="xent")
    with pytest.raises(ValueError, match="exercise: expected loss only with gradients to ask, got 'sum_h' and none asked"):
        make(2, loss="sum_h")
    with pytest.raises(ValueError, match="exercise: expected grad a subset of"):
        make(2, grad=("dW_ii",))
    with pytest.raises(ValueError, match="expected exercise.loss one of"):
        from_dict({**exercise, "exercise": {**exercise["exercise"], "loss": "mse"}})


def test_check_and_explain_take_the_loss_the_exercise_names():
    # a read-out with targets (y is asked) but the gradients of the sum of h_T: by that loss dh_T = 1
    # (the cross-entropy's would be y_T - onehot(target_T)); check grades the key by it unless told another
    _, key = make(6, ask=("h", "y"), grad=("dh",), loss="sum_h")
    assert "readout" in key and key["exercise"]["loss"] == "sum_h"
    T = len(key["inputs"]["x"])
    assert next(c for c in key["claims"] if c.get("step") == T and c["name"] == "dh")["value"] == ["1.0", "1.0"]
    ex = from_dict(key)[0]
    assert check(ex).ok
    assert not check(ex, "xent").ok
    from lstmkit.explain import explain

    assert "L = Σ_j h_2[j]" in explain(ex, decimals=1, grad=True)


def test_cli_grad_exercise_round_trip(tmp_path, capsys):
    ex = tmp_path / "ex.toml"
    assert main(["exercise", "--seed", "4", "--grad", "--out", str(ex)]) == 0
    err = capsys.readouterr().err
    exercise, key = tomllib.loads(ex.read_text()), tomllib.loads((tmp_path / "ex.key.toml").read_text())
    names = {c["name"] for c in exercise["claims"]}
    assert {"dh", "dc", "dz_i", "dz_g", "dW_ii", "dW_hc"} <= names and not names & {"loss", "dx", "di"}
    n = sum(np.size(c["value"]) for c in exercise["claims"])
    assert f"({n} numbers to compute)" in err
    assert "dz_i = di * i_t (1 - i_t)" in ex.read_text() and exercise["exercise"]["loss"] == "xent"
    assert main(["check", str(tmp_path / "ex.key.toml")]) == 0
    assert f"Score: {n}/{n} answers right" in capsys.readouterr().out
    assert main(["check", str(ex)]) == 1
    assert f"Score: 0/{n} answers right" in capsys.readouterr().out
    # a chosen set, and the loss of one unit
    assert main(["exercise", "--seed", "4", "--grad", "dx,loss", "--hidden", "1", "--out", str(tmp_path / "one.toml")]) == 0
    one = tomllib.loads((tmp_path / "one.toml").read_text())
    assert {c["name"] for c in one["claims"] if c["name"].startswith("d") or c["name"] == "loss"} == {"dx", "loss"}
    assert one["exercise"]["loss"] == "sum_h"
    assert main(["check", str(tmp_path / "one.key.toml")]) == 0
    capsys.readouterr()


def test_the_loss_rule_is_the_librarys_and_the_command_says_it_in_its_options():
    # one rule (check_loss), used by make and by the command before anything is written
    from lstmkit.explain.exercise import check_loss

    assert check_loss(None, (), 2) is None and check_loss(None, ("dh",), 2) == "xent" and check_loss(None, ("dh",), 1) == "sum_h"
    assert check_loss("sum_h", ("dh",), 2) == "sum_h"
    for loss, grad, H in (("xent", (), 2), ("xent", ("dh",), 1), ("mse", ("dh",), 2)):
        with pytest.raises(ValueError, match="^exercise: expected loss"):
            check_loss(loss, grad, H)


@pytest.mark.parametrize("argv, message", [
    (["--loss", "xent"], "exercise: expected --loss only with gradients to ask, got 'xent' and none asked. Ask for gradients, "
                         "or leave the loss out."),
    (["--grad", "--loss", "xent", "--hidden", "1"], "exercise: expected --loss 'xent' with at least 2 hidden units (the read-out's "
                                                    "classes), got --hidden 1. The softmax of one unit is 1"),
    (["--grad", "dz,foo"], "argument --grad: expected comma-separated names among loss, dh, dc, dgates, dz, dc_prev, "
                           "dh_prev, dx, dW, db, got 'dz,foo'"),
])
def test_cli_grad_options_are_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(["exercise", "--seed", "1", "-o", "ex.toml", *argv])
    except SystemExit as e:  # argparse's own refusal
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_explain_withholds_an_exercises_answers_as_check_does(tmp_path, capsys):
    # check shows no expected value for a "?" unless --answers; explain, which works out every number,
    # refuses a file with blanks unless --answers, and says how to grade it or see them. Its key explains.
    ex = tmp_path / "ex.toml"
    assert main(["exercise", "--seed", "7", "--out", str(ex)]) == 0
    capsys.readouterr()
    n = sum(str(v) == "?" for c in tomllib.loads(ex.read_text())["claims"] for v in np.ravel(c["value"]))
    assert n > 0
    assert main(["explain", str(ex), "--round", "1"]) == 1  # was 0, every answer printed
    out, err = capsys.readouterr()
    # the template names the argument, FILE (helper-208 #5)
    assert out == "" and (f"explain: expected FILE a worked example without blanks ('?'), or --answers, got {ex}, an "
                          f"exercise with {n} blanks: ") in err
    assert f"lstmkit check {ex}" in err and "add --answers" in err
    assert main(["explain", str(ex), "--round", "1", "--answers"]) == 0 and "Step 1" in capsys.readouterr().out
    assert main(["explain", str(tmp_path / "ex.key.toml"), "--round", "1"]) == 0  # the key has no blanks
    # one blank left in a file otherwise answered: still an answer explain would print
    text = (tmp_path / "ex.key.toml").read_text()
    first = text.index("value = [") + len("value = [")
    part = tmp_path / "part.toml"
    part.write_text(text[:first] + '"?", ' + text[text.index(",", first) + 1:])
    capsys.readouterr()
    assert main(["explain", str(part)]) == 1 and "with 1 blank: " in capsys.readouterr().err


def test_sizes_beyond_a_worked_examples_bounds_are_refused_in_makes_words():
    # (helper-198 C) make(steps=1001) was refused by the file it made, in from_dict's words ("expected inputs.x at most
    # 1000 time steps"), and decimals=13 as "exercise.decimals"; hidden_size had no bound at all (an exercise gives its
    # weights, so the file's MAX_HIDDEN = 64 for a stated size did not apply). Each is make's argument now.
    for kw, most in ((dict(steps=1001), 1000), (dict(hidden_size=65), 64), (dict(decimals=13), 12)):
        (arg, v), = kw.items()
        with pytest.raises(ValueError, match=rf"^exercise: expected {arg} at most {most}, got {v}\. ") as info:
            make(1, **kw)
        option = {"steps": "--steps", "hidden_size": "--hidden", "decimals": "--decimals"}[arg]  # lstmkit exercise's words
        assert name_options(str(info.value), "exercise", OWNERS, OPTIONS).startswith(f"exercise: expected {option} at most")
    exercise, _ = make(1, hidden_size=1, input_size=1, steps=1000, decimals=12)  # the bounds themselves are made
    assert len(exercise["inputs"]["x"]) == 1000 and exercise["exercise"]["decimals"] == 12


def test_input_size_and_weight_decimals_are_bounded_as_the_other_sizes():
    # (helper-202 B) weight_decimals had no upper bound: 400 crashed in _draw with Python's OverflowError
    # (int too large to convert to float), 19 with NumPy's 'high is out of bounds for int64'; input_size
    # had none either, so make(1, input_size=10**8) drew H x 10**8 weights per matrix
    for kw, most in ((dict(weight_decimals=400), 12), (dict(weight_decimals=19), 12), (dict(weight_decimals=13), 12),
                     (dict(input_size=65), 64), (dict(input_size=10**8), 64)):
        (arg, v), = kw.items()
        with pytest.raises(ValueError, match=rf"^exercise: expected {arg} at most {most}, got {v}\. \w") as info:
            make(1, **kw)
        option = {"weight_decimals": "--weight-decimals", "input_size": "--inputs"}[arg]  # lstmkit exercise's words
        assert name_options(str(info.value), "exercise", OWNERS, OPTIONS).startswith(f"exercise: expected {option} at most")
        # the fix is about the weights' decimals, not the exercise file's decimals (helper-208 #3)
        assert ("Weights are drawn with at most 12" in str(info.value)) == (arg == "weight_decimals")
        assert "exercise file's decimals" not in str(info.value)
        if arg == "weight_decimals":  # said in the user's words, not the constant's name (helper-218 #5)
            assert str(info.value).endswith(". Weights are drawn with at most 12 decimals: pass weight_decimals from 0 to 12.")
            assert name_options(str(info.value), "exercise", OWNERS, OPTIONS).endswith(": pass --weight-decimals from 0 to 12.")
    exercise, _ = make(1, hidden_size=1, input_size=64, steps=1, weight_decimals=12)  # the bounds themselves are made
    w = np.array(exercise["weights"]["W_ii"])
    assert w.shape == (1, 64) and np.all(np.abs(w) <= 2.0)
    assert np.allclose(np.round(w, 12), w, rtol=0, atol=1e-14) and not np.allclose(np.round(w, 11), w, rtol=0, atol=1e-14)  # 12 decimals


@pytest.mark.parametrize("seed, exc, got", [(-1, ValueError, "int -1"), (1.5, TypeError, "float 1.5"), ("0", TypeError, "str '0'")])
def test_make_refuses_a_bad_seed_in_its_own_name(seed, exc, got):
    # check_rng(seed) said 'lstmkit:', the one caller left without its name (helper-204)
    with pytest.raises(exc, match=rf"^exercise: expected seed None, an integer >= 0 or a numpy\.random\.Generator, got {got}\.$"):
        make(seed)
