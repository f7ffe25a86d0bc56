"""``check``: on the seeds' own examples it finds what is inconsistent and nothing else; claims
at any precision; conflicts; errors that follow from earlier ones; grading exercises."""

from __future__ import annotations

import re
from pathlib import Path
import numpy as np
import pytest

from lstmkit.explain import check, worked
from lstmkit.explain.check import CONFLICT, FOLLOWS, NEW, OK, OK_HAND, RANGE, SHAPE
from lstmkit.explain.worked import from_dict
from lstmkit.seeds import SEED000_GATES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _problems(rep):
    return sorted((f.verdict, f.label) for f in rep.findings if f.failing)


def test_seed000_findings():
    rep = check(worked.load(f"{EXAMPLES}/seed000.toml")[0])
    # x_1 is [1.0, 1.0] on the 'Inputs' slide and [1.0, 0.0] everywhere else.
    # Step 3 ("Keep forwarding in time"): from the slides' own h_2 = [-0.7, 0.8] and x_3 = B,
    # z_i = [4, 2] + W_hi h_2 = [4 - 0.7, 2 - 2.8 - 1.6] = [3.3, -2.4] -> i_3 = [1.0, 0.1], not [0.4, 0.0];
    # z_f = [3, 3] + [0.7 - 1.6, 0] = [2.1, 3.0] -> [0.9, 1.0], not [0.4, 0.6];
    # z_o = [5, 5] + [-0.7, -1.4 + 0.8] = [4.3, 4.4] -> [1.0, 1.0], not [0.5, 0.5];
    # z_c~ = [3, -3] + [2.8 - 6.4, -2.8 + 2.4] = [-0.6, -3.4] -> [-0.5, -1.0], not [-1.0, -0.6].
    # c_3 and h_3 do follow from those: f*c_2 + i*c~ = [0.4*-0.8 + 0.4*-1.0, 0.6*1.0 + 0] = [-0.72, 0.6];
    # h_3 = 0.5 * tanh([-0.7, 0.6]) = [-0.30, 0.27] -> [-0.3, 0.3].
    expected = [(CONFLICT, "x_1 unit 2")]
    expected += [(NEW, f"{g}_3 unit {u}") for g in ("i", "f", "o", "c̃") for u in (1, 2)]
    expected += [(FOLLOWS, f"{q}_3 unit {u}") for q in ("c", "h") for u in (1, 2)]
    assert _problems(rep) == sorted(expected)
    # steps 1-2 agree by hand (c_1 = 0.8 by hand, 0.748 exact)
    c1 = [f for f in rep.findings if f.label == "c_1 unit 1"]
    assert c1 and all(f.verdict == OK_HAND and f.hand == 0.8 and round(f.exact, 3) == 0.748 for f in c1)
    c3 = next(f for f in rep.findings if f.label == "c_3 unit 1")
    assert set(c3.culprits) == {"i_3 unit 1", "f_3 unit 1", "c̃_3 unit 1"}
    assert not rep.ok


def test_seed001_findings():
    rep = check(worked.load(f"{EXAMPLES}/seed001.toml")[0])
    # forget table: all consistent (W_f·[h,x] = [-0.031, -0.131, 2.963], +b_f, σ = [0.495, 0.480, 0.951]).
    # input table: f_t cell 2 printed 0.460 (0.480 computed and in the forget table); f*C cell 2 0.233
    # (0.480*0.509 = 0.244; even 0.460*0.509 = 0.234); i_t cell 2 = 1.256 is no sigmoid value;
    # i*C~ cells 1, 2 are not i_t*C~_t of the same table (0.1*1.0 = 0.1, 1.256*0.2 = 0.251); C_t has 5 entries;
    # W_i, W_C printed as columns (need 3x6). Output table: W_o printed 3x3; h_t cell 2: σ(0.408)*0.388 = 0.233, not 0.223.
    expected = [
        (CONFLICT, "f_1 unit 2"), (NEW, "f_1 unit 2"), (NEW, "f_1 * c_0 unit 2"), (RANGE, "i_1 unit 2"),
        (NEW, "i_1 * c̃_1 unit 1"), (NEW, "i_1 * c̃_1 unit 2"), (SHAPE, "c_1"), (SHAPE, "W_i"), (SHAPE, "W_C"), (SHAPE, "W_o"),
        (NEW, "h_1 unit 2"),
    ]
    assert _problems(rep) == sorted(expected)
    forget = [f for f in rep.findings if f.where.startswith("forget table") and f.verdict != CONFLICT]
    assert len(forget) == 9 and all(f.verdict == OK for f in forget)


def test_seed002_findings():
    reps = [check(ex) for ex in worked.load(f"{EXAMPLES}/seed002.toml")]
    # 1: f(21.0) = 0.95: σ(2*1 + 1*1) = σ(3) = 0.953 is right, the printed argument 21.0 is not 3.0.
    # 2: zs = 1, x = -1: z = 2*1 + 1*(-1) = 1 -> σ(1) = 0.73; the slide's f(0.0) = 0.5 follows from z = 0.
    # 3, 4: tanh(±3) = ±0.995 right.  5: z = 2*1 + 1*(-1) = 1 -> tanh(1) = 0.76; the slide pairs the weights
    #    the other way (1*1 + 2*(-1) = -1) and gets -0.76.  6: z = 1*1 + 1*(-1) = 0 -> 0.0 right.
    assert [_problems(r) for r in reps] == [
        [(NEW, "z_f_1 unit 1")],
        [(FOLLOWS, "f_1 unit 1"), (NEW, "z_f_1 unit 1")],
        [], [],
        [(FOLLOWS, "c̃_1 unit 1"), (NEW, "z_c̃_1 unit 1")],
        [],
    ]
    # 5, as the file's header says: the slide swapped the weights (Wi2 = 1.0 weighs x_1 = -1.0, Ws2 = 2.0
    # weighs h_0 = zs = 1.0): Wi2 h_0 + Ws2 x_1 = 1 * 1.0 + 2 * (-1.0) = -1.0 is its number. That it is also
    # -(1.0) is said only when no slip explains it (it said "the sign is flipped")
    z = next(f for f in reps[4].findings if f.label == "z_c̃_1 unit 1")
    # its line in the names explain writes for seed 002 (c̃_1 = tanh(Wi2 x_1 + Ws2 h_0)), not seed 000's W_ic x_1
    from lstmkit.explain import explain

    assert "c̃_1 = tanh(Wi2 x_1 + Ws2 h_0)" in explain(worked.load(f"{EXAMPLES}/seed002.toml")[4], "text", width=200)
    assert z.detail.startswith("a new error: z_c̃_1 = Wi2 x_1 + Ws2 h_0 = -1.0 + 2.0 = 1.0; "), z.detail
    assert z.detail.endswith("; -1.0 is Wi2 h_0 + Ws2 x_1 = 1 * 1.0 + 2 * (-1.0): the weights are swapped "
                             "(Wi2 applied to h_0, Ws2 to x_1)"), z.detail


def _one(value, name="i", step=1, **kw):
    ex = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                    "claims": [{"step": step, "name": name, "value": value, **kw}]})[0]
    return check(ex).findings


@pytest.mark.parametrize(
    "value, verdict",
    [
        # i_1 = [σ(4), σ(2)] = [0.98201, 0.88080]
        (0.9, OK), ("0.88", OK), (0.881, OK), (0.8808, OK), (0.88080, OK),
        (0.8, NEW), ("0.89", NEW), (0.882, NEW), (1.2, RANGE),
    ],
)
def test_any_precision(value, verdict):
    f = _one(value, unit=2)
    assert f[0].verdict == verdict


def test_scientific_notation_is_judged_at_its_precision():
    # i_1 = [σ(4), σ(2)] = [0.98201, 0.88080]: "5e-1" is 0.5 written to one decimal, far from both;
    # "9.8e-1" and "8.8e-1" are 0.98 and 0.88, right at two decimals; "8.9e-1" (0.89) is wrong at two
    assert [f.verdict for f in _one(["5e-1", "5e-1"])] == [NEW, NEW]
    assert [f.verdict for f in _one(["9.8e-1", "8.8e-1"])] == [OK, OK]
    assert [f.verdict for f in _one(["9.8e-1", "8.9e-1"])] == [OK, NEW]


def test_each_entry_is_judged_and_shown_at_its_own_precision():
    from lstmkit.explain.check import report_document
    from lstmkit.explain.render_text import render

    # i_1 = [σ(4), σ(2)] = [0.98201, 0.88080]: 1.0 is right at one decimal, 0.88 at two; 0.8 is wrong at one
    found = _one([1.0, 0.88])
    assert [(f.verdict, f.decimals, f.written) for f in found] == [(OK, 1, "1.0"), (OK, 2, "0.88")]
    assert [f.verdict for f in _one([1.0, 0.8])] == [OK, NEW]
    # f_1 = [σ(-2), σ(2)] = [0.11920, 0.88080]: 0.12 right at two decimals, 0.9 at one
    assert [f.verdict for f in _one([0.12, 0.9], name="f")] == [OK, OK]
    # shown as written: i_1 unit 2 written "0.8" beside "0.900" is "0.8", not "0.800"
    ex = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                    "claims": [{"step": 1, "name": "i", "value": ["0.900", "0.8"]}]})[0]
    text = render(report_document([check(ex)], show_all=True), 120)
    row = next(line for line in text.splitlines() if "i_1 unit 2" in line)
    assert row.split()[:5] == ["new", "error", "i_1", "unit", "2"] and row.split()[5] == "0.8", row
    row = next(line for line in text.splitlines() if "i_1 unit 1" in line)
    assert row.split()[5] == "0.900", row  # 0.900 for 0.982 is wrong at three decimals
    # the same unit written in two places, 1.0 and 0.98: they agree at one decimal, the precision of 1.0
    ex = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                    "claims": [{"step": 1, "name": "i", "value": [1.0, 0.88], "where": "A"},
                               {"step": 1, "name": "i", "value": [0.98, 0.88], "where": "B"}]})[0]
    assert check(ex).ok


def test_an_exercise_answer_with_fewer_decimals_than_asked_is_told_so():
    # a two-decimal exercise on x_1 = [1, 0]: i_1 = [0.98201, 0.88080] -> [0.98, 0.88] at two decimals
    def answer(value):
        doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]}, "exercise": {"decimals": 2},
               "claims": [{"step": 1, "name": "i", "value": value}]}
        return check(from_dict(doc)[0]).findings

    found = answer(["1.0", "0.9"])  # right at one decimal each, but two are asked
    assert [f.verdict for f in found] == ["too few decimals"] * 2 and all(f.failing for f in found)
    assert [f.detail for f in found] == ["1.0: written to 1 decimal, the exercise asks for 2: 0.98",
                                         "0.9: written to 1 decimal, the exercise asks for 2: 0.88"]
    assert [f.verdict for f in answer(["0.98", "0.8"])] == [OK, NEW]  # 0.8 is wrong at one decimal too
    # a plain TOML number may have lost a zero: said so
    f = answer([0.98, 0.9])[1]
    assert f.verdict == "too few decimals" and f.detail.endswith("(a plain TOML number drops its trailing zeros: write it in quotes to keep them)")
    assert "1 written with too few decimals" in check(from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                                                                 "exercise": {"decimals": 2},
                                                                 "claims": [{"step": 1, "name": "i", "value": ["0.98", "0.9"]}]})[0]).summary()


def test_fractions_are_exact_and_percentages_have_two_more_decimals():
    # x_1 = [0, 0], h_0 = 0: every pre-activation is 0, so i_1 = σ(0) = 1/2 exactly and c~_1 = tanh(0) = 0
    def verdicts(name, value, x=(0.0, 0.0)):
        doc = {"weights": SEED000_GATES, "inputs": {"x": [list(x)]}, "claims": [{"step": 1, "name": name, "value": value}]}
        return [f.verdict for f in check(from_dict(doc)[0]).findings]

    assert verdicts("i", ["1/2", "2/4"]) == [OK, OK] and verdicts("g", ["0/1", "0/5"]) == [OK, OK]
    # i_1 = [σ(4), σ(2)] = [0.98201, 0.88080] on x_1 = [1, 0]: a fraction is judged exactly, so 49/50 = 0.98 is wrong
    assert verdicts("i", ["49/50", "1/2"], x=(1.0, 0.0)) == [NEW, NEW]
    # "98%" is 0.98 at two decimals: right; "88.1%" 0.881 at three: right; "90%" 0.90 at two: wrong
    assert verdicts("i", ["98%", "88.1%"], x=(1.0, 0.0)) == [OK, OK]
    assert verdicts("i", ["98%", "90%"], x=(1.0, 0.0)) == [OK, NEW]


def test_cli_check_exit_status_tells_wrong_claims_from_an_unreadable_file(tmp_path, capsys):
    import json

    from lstmkit.cli import main

    def write(value):
        path = tmp_path / "claims.toml"
        path.write_text('[weights]\n' + "".join(f"{k} = {v}\n" for k, v in SEED000_GATES.items()) +
                        f'[inputs]\nx = [[1.0, 0.0]]\n[[claims]]\nstep = 1\nname = "i"\nvalue = {value}\nwhere = "slide 3"\n')
        return str(path)

    assert main(["check", write('["0.98", "0.88"]')]) == 0  # i_1 = [0.982, 0.881]
    assert main(["check", write('["0.98", "0.8"]')]) == 1  # a wrong claim
    capsys.readouterr()
    assert main(["check", write('["0,98", "0.88"]')]) == 2  # not a number check reads
    err = capsys.readouterr().err
    assert err.startswith("lstmkit: error: ") and "claim #1 (i at step 1, slide 3) value" in err and 'Write a decimal point: "0.98"' in err
    assert main(["check", str(tmp_path / "none.toml")]) == 2  # no such file
    (tmp_path / "bad.toml").write_text("title = \n")
    assert main(["check", str(tmp_path / "bad.toml")]) == 2  # not TOML
    capsys.readouterr()
    assert main(["check", write('["1.0", 0.88]'), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)[0]["findings"]
    assert [(f["written"], f["decimals"]) for f in found] == [("1.0", 1), ("0.88", 2)]


def test_cli_check_exit_2_is_the_files_and_a_bug_is_not(tmp_path, capsys, monkeypatch):
    from lstmkit import explain as explain_pkg
    from lstmkit.cli import main

    inputs = "[inputs]\nx = [[1.0, 0.0]]\n"
    base = "[weights]\n" + "".join(f"{k} = {v}\n" for k, v in SEED000_GATES.items()) + inputs
    for extra, message in (('[options]\ngate_clip = "abc"\n', "expected gate_clip None or a finite number > 0, got 'abc'"),
                           ('[options]\npeephole = "yes"\n', "expected [options] peephole true or false, got 'yes'"),
                           ('exercise = 3\n', "expected [exercise] a table ([name] ...), got int 3"),
                           # a section of another shape: Python's own TypeError ('int' object is not iterable, exit 1)
                           ('claims = 3\n', "expected [[claims]] an array of tables ([[name]] ...), got int 3"),
                           ('claims = [1]\n', "expected [[claims]] an array of tables ([[name]] ...), got list [1]"),
                           ('given = [1]\n', "expected [[given]] an array of tables ([[name]] ...), got list [1]"),
                           ('readout = 3\n', "expected [readout] a table ([name] ...), got int 3"),
                           ('options = [1]\n', "expected [options] a table ([name] ...), got list [1]"),
                           ('weights = 3\n', "expected [weights] a table ([name] ...), got int 3"),  # a traceback before
                           ('[readout]\ntargets = 3\n', "expected readout.targets a list [...], got int 3"),
                           ('[readout]\nclasses = 3\n', "expected readout.classes a list [...], got int 3")):
        path = tmp_path / "f.toml"
        if extra.startswith("["):  # a table of its own, after the others
            path.write_text(base + extra)
        else:  # a key of the file itself, before its first table ([weights] replaced by weights = 3)
            path.write_text(extra + (inputs if extra.startswith("weights") else base))
        assert main(["check", str(path)]) == 2, extra  # a value of the wrong type in the file: the file's
        assert message in capsys.readouterr().err
    path.write_text(base)
    assert main(["check", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err == ("lstmkit: error: [Errno 2] No such file or directory (lstmkit's own worked examples are "
                                       "builtin:seed000, builtin:seed001, builtin:seed002, builtin:variants): "
                                       f"'{tmp_path / 'none.toml'}'\n")  # as explain says it

    def bug(path):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(explain_pkg, "load", bug)  # a programming error in load is not 'cannot read the file'
    assert main(["check", str(path)]) == 1
    assert "unsupported operand" in capsys.readouterr().err


def test_ranges_follow_the_cells_activations():
    # x_1 = [1, 0], h_0 = 0: z_i = W_ii x_1 = [4, 2], z_c~ = W_ic x_1 = [1, 0]. With relu gates and candidate,
    # i_1 = [4, 2] and c~_1 = [1, 0]: no sigmoid, no tanh, so nothing is out of range; c~ = 3 is merely wrong
    doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]}, "options": {"activations": ["relu", "relu", "relu"]},
           "claims": [{"step": 1, "name": "i", "value": [4.0, 2.0]}, {"step": 1, "name": "g", "value": [3.0, 0.0]}]}
    assert [f.verdict for f in check(from_dict(doc)[0]).findings] == [OK, OK, NEW, OK]
    # a hard sigmoid (0.2 z + 0.5, clipped to [0, 1]) gives i_1 = [1, 0.9]: a claim of 1.2 is impossible
    doc["options"]["activations"] = ["hard_sigmoid", "tanh", "tanh"]
    doc["claims"] = [{"step": 1, "name": "i", "value": [1.2, 0.9]}]
    found = check(from_dict(doc)[0]).findings
    assert [f.verdict for f in found] == [RANGE, OK] and found[0].detail == "hard_sigmoid only takes values in [0, 1]"


def test_the_cell_state_grows_by_at_most_one_per_step():
    # c_t = f_t c_(t-1) + i_t c~_t with f, i in [0, 1] and |c~| <= 1, so |c_t| <= |c_(t-1)| + 1.
    # From c_0 = 0, c_1 = 3.0 (seed 002's 'real case' slide) or 1.1 is impossible; 1.0 is merely wrong
    # (exact c_1 = σ(4) tanh(1) = 0.982 * 0.762 = 0.748, by hand 1.0 * 0.8 = 0.8).
    found = {v: _one(v, name="c", unit=1)[0] for v in (3.0, -1.1, 1.0)}
    assert found[3.0].verdict == RANGE and found[-1.1].verdict == RANGE and found[1.0].verdict == NEW
    assert found[3.0].detail == "|c_1| ≤ |c_0| + 1 = 1.0, as c_1 = f_1 * c_0 + i_1 * c̃_1 with f and i in [0, 1], c̃ in [-1, 1]"
    # from c_0 = 2.5 the bound is 3.5: 3.5 is possible (wrong: exact c_1 = σ(-2) 2.5 + 0.748 = 0.298 + 0.748 = 1.046), 3.6 is not
    doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]], "c0": [2.5, 0.0]},
           "claims": [{"step": 1, "name": "c", "value": v, "unit": 1} for v in (3.5, 3.6)]}
    assert [f.verdict for f in check(from_dict(doc)[0]).findings] == [NEW, RANGE]
    # at step 2 the bound is from the author's own c_1: 0.7 (right at one decimal) allows |c_2| up to 1.7
    doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0], [1.0, 0.0]]},
           "claims": [{"step": 1, "name": "c", "value": 0.7, "unit": 1}, {"step": 2, "name": "c", "value": 1.8, "unit": 1}]}
    found = check(from_dict(doc)[0]).findings
    assert [f.verdict for f in found] == [OK, RANGE] and found[1].detail.startswith("|c_2| ≤ |c_1| + 1 = 1.7, as ")
    # a relu candidate is not bounded: no such rule
    doc["options"] = {"activations": ["sigmoid", "relu", "tanh"]}
    assert check(from_dict(doc)[0]).findings[1].verdict != RANGE


def test_conflicting_parameter_is_flagged():
    ex = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                    "claims": [{"name": "W_hc", "value": [[-4, -8], [4, 2]], "where": "slide 7"}]})[0]
    f = check(ex).findings[0]
    # W_hc = [[-4, -8], [4, 3]]: entry (2, 2) is 3, printed 2; the only one of the four that differs
    assert f.verdict == CONFLICT and f.detail == "entry (2, 2) differs from [weights] (1 differing value of 4)" and f.where == "slide 7"
    ex = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]},
                    "claims": [{"name": "W_hc", "value": [[-4, 8], [4, 2]], "where": "slide 7"}]})[0]
    assert check(ex).findings[0].detail == "entry (1, 2) differs from [weights] (2 differing values of 4)"


def test_pred_claims():
    with pytest.raises(ValueError, match="expected claim #1 \\(pred at step 1\\) a \\[readout\\] section"):
        _one(1, name="pred", unit=1)
    # h_1 = [0.630, 0] -> softmax = [0.652, 0.348] favours class 0, so a claim of class 1 is wrong
    ex_readout = from_dict({"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]}, "readout": {"targets": [0]},
                            "claims": [{"step": 1, "name": "pred", "value": 1, "unit": 1}]})[0]
    assert check(ex_readout).findings[0].verdict == NEW


def test_exercise_key_passes_blanks_and_mistakes_fail():
    from lstmkit.explain.exercise import dumps, make
    import tomllib

    exercise, key = make(11, hidden_size=2, input_size=2, steps=2, decimals=1)
    assert tomllib.loads(dumps(key)) == key  # the hand-written TOML reads back unchanged
    # a round trip, not a check of the numbers: make() writes the key from trace.forward/backward and
    # check() judges it by the same (the numbers are checked by hand in test_explain_backward's hand_bptt)
    rep = check(from_dict(tomllib.loads(dumps(key)))[0])
    assert rep.ok and rep.count(OK, OK_HAND) == len(rep.findings) == 2 * 2 * 10
    blank = check(from_dict(exercise)[0])
    assert not blank.ok and blank.count("not answered") == 40
    # a student's mistake in z_i unit 1 at step 1, carried into i_1: new error, then follows
    # (seed 11's key: z = 0.3 becomes 1.3, and σ(1.3) = 0.786 is written 0.8 where σ(0.3) = 0.574 was 0.6,
    # so the carried i_1 differs from the right one)
    z = float(key["claims"][0]["value"][0])
    key["claims"][0]["value"][0] = f"{z + 1.0:.1f}"
    i_claim = key["claims"][1]
    assert i_claim["name"] == "i"
    right_i = i_claim["value"][0]
    i_claim["value"][0] = f"{1 / (1 + np.exp(-(z + 1.0))):.1f}"
    assert i_claim["value"][0] != right_i
    rep = check(from_dict(key)[0])
    verdicts = {f.label: f.verdict for f in rep.findings if f.failing}
    assert verdicts.get("z_i_1 unit 1") == NEW
    assert verdicts.get("i_1 unit 1") == FOLLOWS


def test_exercise_blanks_and_plain_answers_take_the_exercise_precision():
    from lstmkit.explain.exercise import make

    exercise, key = make(7, hidden_size=2, input_size=2, steps=2, decimals=1)
    blank = check(from_dict(exercise)[0])
    assert {f.decimals for f in blank.findings} == {1}
    # by hand from the exercise's own weights and inputs (biases 0, as its instructions say): z_i at step 1
    # = W_ii x_1 + W_hi h_0, each rounded half away from zero to one decimal, i_1 = σ(z_i) rounded. For seed
    # 7: [[4, 1], [2, 4]] @ [0, 1] + W_hi [0, 0] = [1, 4], i_1 = σ([1, 4]) = [0.731, 0.982] -> [0.7, 1.0]
    from decimal import ROUND_HALF_UP, Decimal

    one = lambda v: float(Decimal(repr(float(v))).quantize(Decimal("0.1"), ROUND_HALF_UP))  # noqa: E731
    W, x1 = np.array(exercise["weights"]["W_ii"]), np.array(exercise["inputs"]["x"][0])
    z = np.array(exercise["weights"]["W_hi"]) @ np.array(exercise["inputs"]["h0"]) + W @ x1
    hand = {f.label: f.hand for f in blank.findings}
    for u in (0, 1):
        assert hand[f"z_i_1 unit {u + 1}"] == one(z[u])
        assert hand[f"i_1 unit {u + 1}"] == one(1 / (1 + np.exp(-one(z[u])))), u
    # the key's numbers are those "by hand" values, blank for blank
    keyed = {(c["step"], c["name"], u): v for c in key["claims"] for u, v in enumerate(c["value"])}
    assert {(f.step, f.name, f.unit): f"{f.hand:.1f}" for f in blank.findings} == keyed
    # an answer written "1" in a one-decimal exercise is judged at one decimal: 1 for i_1 unit 2 is right
    assert hand["i_1 unit 2"] == 1.0  # (the case needs a value of 1.0: seed 7's σ(4) = 0.982)
    exercise["claims"][1]["value"] = [f"{hand['i_1 unit 1']:.1f}", 1]
    assert exercise["claims"][1]["name"] == "i"
    found = {f.label: f for f in check(from_dict(exercise)[0]).findings}
    assert found["i_1 unit 2"].decimals == 1 and not found["i_1 unit 2"].failing
    with pytest.raises(ValueError, match="expected exercise.decimals an integer from 0 to 12, got -1"):
        from_dict({**exercise, "exercise": {"decimals": -1}})


def test_exercise_is_deterministic_and_sized():
    from lstmkit.explain.exercise import make

    a, _ = make(5, hidden_size=3, input_size=1, steps=4, weight_decimals=1)
    b, _ = make(5, hidden_size=3, input_size=1, steps=4, weight_decimals=1)
    assert a == b
    assert np.array(a["weights"]["W_ii"]).shape == (3, 1) and len(a["inputs"]["x"]) == 4
    w = np.array(a["weights"]["W_hf"])
    assert np.all(np.abs(w) <= 2.0) and np.allclose(w, np.round(w, 1))
    with pytest.raises(ValueError, match="expected ask a non-empty subset"):
        make(1, ask=("everything",))


def test_a_list_of_examples_is_refused_with_the_way_to_pick_one():
    from lstmkit.explain import explain, load

    examples = load(f"{EXAMPLES}/seed000.toml")  # a list: a file may hold several examples
    for fn in (explain, check):
        with pytest.raises(TypeError, match=r"expected ex one WorkedExample, got a list of 1\. .* load\(path\)\[0\]"):
            fn(examples)
        with pytest.raises(TypeError, match="expected ex a WorkedExample .*, got dict"):
            fn({"weights": {}})


def _one_unit(x, c0=0.0, **w):
    """A one-unit cell, per-gate notation: every weight 0 unless given (so the gates are σ(0) = 0.5)."""
    weights = {f"W_{p}{k}": [[0.0]] for p in "ih" for k in "ifco"}
    weights.update({k: [[v]] for k, v in w.items()})
    return weights, {"x": [[v] for v in x], "c0": [c0]}


def test_values_from_earlier_right_numbers_rounded_otherwise_are_right():
    # g = tanh(0.6 x); by hand at one decimal: g 0.5, i·g 0.3 (0.25 half away), c 0.3, tanh(c) 0.3,
    # h_1 = 0.5 * 0.3 = 0.15 -> 0.2. Exactly: h_1 = 0.5 tanh(0.5 tanh 0.6) = 0.131 -> 0.1, so h_1 = 0.1 is
    # right. Then Wh_f (t=2) = 4 h_1: 0.4 from the student's 0.1 (0.8 by hand, 0.52 exactly) and z_f = 0.4:
    # both follow from right numbers and are right, not "follows from the wrong ..."
    weights, inputs = _one_unit([0.6, 0.0], W_ic=1.0, W_hf=4.0)
    claims = [{"step": 1, "name": "h", "value": "0.1"}, {"step": 2, "name": "Wh_f", "value": "0.4"},
              {"step": 2, "name": "z_f", "value": "0.4"}]
    rep = check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0])
    verdicts = {f.label: (f.verdict, f.detail) for f in rep.findings}
    assert rep.ok, verdicts
    assert verdicts["W_hf h_1 unit 1"][0] == OK_HAND and "follows from the earlier values as written (0.4)" in verdicts["W_hf h_1 unit 1"][1]
    # a wrong h_1 is still wrong, and what follows from it is said to follow
    claims[0]["value"] = "0.3"
    verdicts = {f.label: f.verdict for f in check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0]).findings}
    assert verdicts["h_1 unit 1"] == NEW and verdicts["W_hf h_1 unit 1"] == NEW


def test_a_value_rounded_only_where_written_down_is_right():
    # f = σ(-1.75) = 0.148, i = σ(1.75) = 0.852, c~ = tanh(0.78) = 0.653: written 0.1, 0.9, 0.7 (right).
    # With c_0 = -0.6: c_1 = 0.1 * -0.6 + 0.9 * 0.7 = 0.57 -> 0.6 from those numbers; rounding f c_0 to
    # -0.1 first (the key's way) gives 0.5, and exactly c_1 = 0.467. Both ways from right numbers are right.
    weights, inputs = _one_unit([1.0], c0=-0.6, W_if=-1.75, W_ii=1.75, W_ic=0.78)
    claims = [{"step": 1, "name": n, "value": v} for n, v in (("f", "0.1"), ("i", "0.9"), ("g", "0.7"), ("c", "0.6"))]
    rep = check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0])
    assert rep.ok, [(f.label, f.verdict, f.detail) for f in rep.findings]
    claims[-1]["value"] = "0.8"  # from neither way
    assert not check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0]).ok


def test_a_right_value_cuts_off_earlier_errors():
    # h_1 wrong, then Wh_f (t=2) right (so it cannot have used the wrong h_1), then z_f wrong: a new
    # error with no "it also uses the wrong h_1"
    weights, inputs = _one_unit([0.6, 0.0], W_ic=1.0, W_hf=4.0)
    claims = [{"step": 1, "name": "h", "value": "0.5"}, {"step": 2, "name": "Wh_f", "value": "0.5"},
              {"step": 2, "name": "z_f", "value": "0.9"}]
    found = {f.label: f for f in check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0]).findings}
    assert found["W_hf h_1 unit 1"].verdict == OK and found["z_f_2 unit 1"].verdict == NEW
    assert found["z_f_2 unit 1"].detail.startswith("a new error") and "uses the wrong" not in found["z_f_2 unit 1"].detail


def _detail(weights, inputs, claims, label):
    found = {f.label: f for f in check(from_dict({"weights": weights, "inputs": inputs, "claims": claims})[0]).findings}
    assert found[label].verdict == NEW, found[label]
    return found[label].detail


# One unit, x_t = 1, every weight 0 but W_ii = 2, W_ic = 1, W_io = 1 (h_0 = c_0 = 0), so at every step
# i = σ(2) = 0.881, f = σ(0) = 0.5, c~ = tanh(1) = 0.762, o = σ(1) = 0.731 (one decimal: 0.9, 0.5, 0.8, 0.7).
# Exact: c_1 = 0.881 * 0.762 = 0.671, c_2 = 0.5 * 0.671 + 0.671 = 1.006.
# By hand at one decimal: i*c~ = 0.72 -> 0.7, c_1 = 0.7, tanh(0.7) = 0.604 -> 0.6, h_1 = 0.7 * 0.6 = 0.42 -> 0.4;
# f_2 * c_1 = 0.35 -> 0.4, c_2 = 0.4 + 0.7 = 1.1.
SLIPS = _one_unit([1.0, 1.0], W_ii=2.0, W_ic=1.0, W_io=1.0)


@pytest.mark.parametrize("c2, slip", [
    # the author's own i_2 = 0.88 (right) is used as written: 0.88 * 0.8 = 0.704 -> 0.7
    ("1.4", "1.4 is c_1 + i_2 * c̃_2 = 0.7 + 0.7: the forget gate is left out (f_2 taken as 1)"),
    ("0.7", "0.7 is i_2 * c̃_2 = 0.88 * 0.8: the term f_2 * c_1 is left out"),
    ("-1.0", "-1.0 is -(1.0), the right value with the opposite sign"),  # exact 1.006
    ("1.6", ""),  # no slip known: the line alone
])
def test_a_new_error_shows_its_line_from_the_authors_numbers_and_names_a_slip(c2, slip):
    claims = [{"step": 1, "name": "c", "value": "0.7"}, {"step": 2, "name": "i", "value": "0.88"},
              {"step": 2, "name": "c", "value": c2}]
    line = "a new error: c_2 = f_2 * c_1 + i_2 * c̃_2 = 0.5 * 0.7 + 0.88 * 0.8 = 0.4 + 0.7 = 1.1"
    assert _detail(*SLIPS, claims, "c_2 unit 1") == line + (f"; {slip}" if slip else "")


def test_slips_in_h_tanh_c_and_the_candidate():
    c1 = {"step": 1, "name": "c", "value": "0.7"}
    # h_1 = o_1 tanh(c_1) = 0.7 * 0.6 = 0.4 by hand (exact 0.731 * tanh(0.671) = 0.428); o_1 * c_1 = 0.49 -> 0.5.
    # c_1 = 0.7 is right, so h_1 is judged at the points 0.4 (by hand) and 0.428 (exact): 0.5 is a new error, the
    # slip named, although c_1 = 0.7 read as [0.65, 0.75] would allow [0.418, 0.464] (helper-168 #1)
    assert _detail(*SLIPS, [c1, {"step": 1, "name": "h", "value": "0.5"}], "h_1 unit 1") == (
        "a new error: h_1 = o_1 * tanh(c_1) = 0.7 * tanh(0.7) = 0.7 * 0.6 = 0.4; 0.5 is o_1 * c_1 = 0.7 * 0.7: c_1 in place of tanh(c_1)")
    # the same at 2 decimals: 0.73 * tanh(0.67) = 0.73 * 0.58 = 0.42 (exact 0.428); o_1 * c_1 = 0.73 * 0.67 = 0.489
    assert _detail(*SLIPS, [{"step": 1, "name": "c", "value": "0.67"}, {"step": 1, "name": "h", "value": "0.49"}], "h_1 unit 1") == (
        "a new error: h_1 = o_1 * tanh(c_1) = 0.73 * tanh(0.67) = 0.73 * 0.58 = 0.42; 0.49 is o_1 * c_1 = 0.73 * 0.67: "
        "c_1 in place of tanh(c_1)")
    # with the author's tanh(c_1) = 0.5 (wrong: 0.6), h_1 from their numbers is 0.7 * 0.5 = 0.35 -> 0.4: the line
    # leaves out tanh(0.7), which is not their 0.5
    assert _detail(*SLIPS, [c1, {"step": 1, "name": "tanh_c", "value": "0.5"}, {"step": 1, "name": "h", "value": "0.1"}],
                   "h_1 unit 1") == "a new error: h_1 = o_1 * tanh(c_1) = 0.7 * 0.5 = 0.4 (it also uses the wrong tanh(c_1) unit 1)"
    # tanh(c_1) = tanh(0.7) = 0.604 -> 0.6 (exact tanh(0.671) = 0.586); 0.7 is c_1 itself
    assert _detail(*SLIPS, [c1, {"step": 1, "name": "tanh_c", "value": "0.7"}], "tanh(c_1) unit 1") == (
        "a new error: tanh(c_1) = tanh(0.7) = 0.6; 0.7 is c_1 = 0.7: tanh is not applied")
    # c~_1 = tanh(z) with z = W_ic x_1 = 1.0: 0.762 -> 0.8; σ(1.0) = 0.731 -> 0.7
    assert _detail(*SLIPS, [{"step": 1, "name": "g", "value": "0.7"}], "c̃_1 unit 1") == (
        "a new error: c̃_1 = tanh(z_c̃_1) = tanh(1.0) = 0.8; 0.7 is σ(z_c̃_1) = σ(1.0): σ in place of tanh for the candidate")
    # a matrix product with the author's h_1 (seed 000 at x_1 = [1, 0]: h_1 = [0.7, 0.0] by hand, exact [0.630, 0]):
    # W_hf h_1 = [[-1, -2], [0, 0]] [0.7, 0.0] = [-0.7, 0]
    doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0], [1.0, 0.0]]}}
    assert _detail(doc["weights"], doc["inputs"], [{"step": 1, "name": "h", "value": ["0.7", "0.0"]},
                                                   {"step": 2, "name": "Wh_f", "value": ["0.7", "0.0"]}], "W_hf h_1 unit 1") == (
        "a new error: W_hf h_1 = -1 * 0.7 + (-2) * 0.0 = -0.7; 0.7 is -(-0.7), the right value with the opposite sign")


def test_a_slip_of_swapped_weights_in_z():
    # SLIPS at step 2 with the author's h_1 = 0.4 (right by hand): z_i_2 = W_ii x_2 + W_hi h_1 = 2 * 1.0 + 0 * 0.4
    # = 2.0; with the weights swapped, W_ii h_1 + W_hi x_2 = 2 * 0.4 + 0 * 1.0 = 0.8
    assert _detail(*SLIPS, [{"step": 1, "name": "h", "value": "0.4"}, {"step": 2, "name": "z_i", "value": "0.8"}],
                   "z_i_2 unit 1") == ("a new error: z_i_2 = W_ii x_2 + W_hi h_1 = 2.0 + 0.0 = 2.0; 0.8 is W_ii h_1 + "
                                       "W_hi x_2 = 2 * 0.4 + 0 * 1.0: the weights are swapped (W_ii applied to h_1, W_hi to x_2)")


def test_a_products_line_writes_the_weights_as_explain_does():
    # W_if = [[1, 0.25]], x_1 = [1.0, -1.0]: W_if x_1 = 1 - 0.25 = 0.75 -> 0.8 at one decimal; explain writes
    # the matrix in one format, [1.00 0.25], and the line takes it (it wrote 1 * 1.0 + 0.25 * (-1.0), '%g')
    W = {f"W_{p}{k}": [[0.0, 0.0]] if p == "i" else [[0.0]] for p in "ih" for k in "ifco"}
    W["W_if"] = [[1, 0.25]]
    assert _detail(W, {"x": [[1.0, -1.0]]}, [{"step": 1, "name": "Wx_f", "value": "1.0"}], "W_if x_1 unit 1") == (
        "a new error: W_if x_1 = 1.00 * 1.0 + 0.25 * (-1.0) = 0.8")
    from lstmkit.explain import explain

    assert "W_if = [1.00 0.25]" in explain(from_dict({"weights": W, "inputs": {"x": [[1.0, -1.0]]}})[0], "text", width=150)


def test_slips_in_the_backward_pass():
    # L = h_2 (sum_h, one unit), two decimals. Forward by hand: i, f, c~, o = 0.88, 0.50, 0.76, 0.73;
    # c_1 = 0.88 * 0.76 = 0.6688 -> 0.67, tanh(c_1) = 0.585 -> 0.58; c_2 = 0.335 -> 0.34 + 0.67 = 1.01,
    # tanh(c_2) = 0.766 -> 0.77. Back, step 2: dh_2 = 1, 1 - tanh² = 1 - 0.5929 -> 0.41,
    # dc_2 = 1.00 * 0.73 * 0.41 + 0 = 0.2993 -> 0.30 (exact 0.731 * (1 - tanh²(1.006)) = 0.304), dc_prev = 0.30 * 0.5 = 0.15.
    # Step 1: dh_1 = 0 (no read-out at step 1, W_h = 0), 1 - 0.58² = 0.6636 -> 0.66, dc_1 = 0 + 0.15 = 0.15 (exact 0.152).
    assert _detail(*SLIPS, [{"step": 2, "name": "dc", "value": "0.73"}], "dc_2 unit 1") == (
        "a new error: dc_2 = dh_2 * o_2 * (1 - tanh²(c_2)) + dc_next = 1.00 * 0.73 * 0.41 + 0.00 = 0.30; "
        "0.73 is dh_2 * o_2 + dc_next = 1.00 * 0.73 + 0.00: the factor 1 - tanh²(c_2) is left out")
    assert _detail(*SLIPS, [{"step": 1, "name": "dc", "value": "0.00"}], "dc_1 unit 1") == (
        "a new error: dc_1 = dh_1 * o_1 * (1 - tanh²(c_1)) + dc_next = 0.00 * 0.73 * 0.66 + 0.15 = 0.15; "
        "0.00 is dh_1 * o_1 * (1 - tanh²(c_1)) = 0.00 * 0.73 * 0.66: dc_next is left out")


def test_a_new_error_whose_line_has_an_unknown_part_is_reported_without_the_line(tmp_path, capsys):
    # seed 001's situation: c_1 is stated ([[given]]) and i, c~ have no weights, so c_1's line
    # f_1 * c_0 + i_1 * c~_1 has unknown parts. f_1 = σ(W_f·[h_0, x_1]) = σ(0.5*0 + 1.0*1.0) = σ(1) = 0.731;
    # c_1 is the stated 0.4, so a claim of 0.9 is a new error, with no line to show (check crashed on
    # "could not convert string to float: '?'" building it)
    from lstmkit.cli import main

    path = tmp_path / "nan3.toml"
    path.write_text('notation = "concat"\nhidden_size = 1\n[weights]\nW_f = [[0.5, 1.0]]\nW_o = [[1.0, 1.0]]\n'
                    '[inputs]\nx = [[1.0]]\nc0 = [0.5]\n[[given]]\nstep = 1\nname = "c"\nvalue = 0.4\n'
                    '[[claims]]\nstep = 1\nname = "c"\nvalue = 0.9\n')
    f = next(f for f in check(worked.load(path)[0]).findings if f.label == "c_1 unit 1")
    assert (f.verdict, f.detail, f.exact) == (NEW, "a new error", 0.4)
    assert main(["check", str(path)]) == 1
    assert "c_1 unit 1" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["1.5", "-1", "7"])
def test_a_predicted_class_is_an_index_in_range(value):
    doc = {"weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0]]}, "readout": {"targets": [0]},
           "claims": [{"step": 1, "name": "pred", "value": value}]}
    f = check(from_dict(doc)[0]).findings[0]
    assert f.verdict == RANGE and f.detail == "a predicted class is an index from 0 to 1" and f.label == "class_1"


def test_an_exercise_asking_for_y_says_what_y_is():
    from lstmkit.explain.exercise import dumps, make

    exercise, key = make(3, ask=("h", "y"))
    assert "# Read-out: y_t = softmax(h_t)" in dumps(exercise, "e.toml")
    assert "Read-out" not in dumps(make(3)[0], "e.toml")


def test_values_are_named_as_explain_writes_them():
    # one style, explain's: the step as a subscript of each symbol (f_1 * c_0, z_c̃_1, W_hf h_1), never
    # "z_c~ (t=1)" beside "c~_1"
    from lstmkit.explain import explain

    ex = worked.load(f"{EXAMPLES}/seed001.toml")[0]
    labels = [f.label for f in check(ex).findings]
    assert not any("(t=" in s or "~" in s for s in labels), labels
    assert "c_1 = f_1 * c_0 + i_1 * c̃_1" in explain(worked.load(f"{EXAMPLES}/seed000.toml")[0], "text", width=200)
    assert {"f_1 * c_0 unit 2", "i_1 * c̃_1 unit 1"} <= set(labels)
    z = [f.label for ex2 in worked.load(f"{EXAMPLES}/seed002.toml") for f in check(ex2).findings if f.name.startswith("z_")]
    assert "z_c̃_1 unit 1" in z and "z_f_1 unit 1" in z


def test_a_value_that_rounds_to_zero_is_shown_without_a_sign():
    # an exact dW entry of -0.000035 at 4 decimals was shown "-0.0000" beside a claimed "0.0000"
    from lstmkit.explain.check import _fmt

    # (no ties here: -0.4 at 0 decimals is 0 by any rule; binary -0.00005 lies just beyond the tie)
    assert _fmt(-0.000035, 4) == "0.0000" and _fmt(-0.00005, 4) == "-0.0001" and _fmt(-0.4, 0) == "0"
    assert _fmt(float("nan"), 2) == "?" and _fmt(None, 2) == "?"


def test_a_report_rounds_what_it_shows_as_it_judges_half_away_from_zero():
    # one unit, W_ii = 0.25, x_1 = 1, every other weight 0: z_i_1 = 0.25 * 1 + 0 * h_0 = 0.25 exactly
    # (a binary fraction), a tie at one decimal. By hand, half away from zero (the rule check judges
    # by, trace.hand_round): 0.3. A claim of -0.3 is the right value with the opposite sign; the report
    # said so as "-0.3 is -(0.2)" beside its own "by hand 0.3" and "= 0.3" (Python's format rounds
    # the tie half to even)
    W = {k: [[0.0]] for k in ("W_ii", "W_if", "W_ic", "W_io", "W_hi", "W_hf", "W_hc", "W_ho")}
    W["W_ii"] = [[0.25]]
    ex = from_dict({"weights": W, "inputs": {"x": [[1.0]]}, "claims": [{"step": 1, "name": "z_i", "value": -0.3}]})[0]
    (f,) = check(ex).findings
    assert (f.verdict, f.exact, f.hand) == (NEW, 0.25, 0.3)
    assert f.detail.endswith("= 0.3 + 0.0 = 0.3; -0.3 is -(0.3), the right value with the opposite sign"), f.detail
    from lstmkit.explain.check import _fmt

    # the same rule at any place: 0.125 -> 0.13, -2.5 -> -3, -0.5 -> -1 (not 0.12, -2, 0)
    assert [_fmt(0.125, 2), _fmt(-2.5, 0), _fmt(-0.5, 0)] == ["0.13", "-3", "-1"]


def test_a_concat_swap_writes_the_weights_as_the_matrix_is_written():
    # W_f = [0.25 | 1] over [h, x], h_0 = 2, x_1 = 1: W_f·[h_0, x_1] = 0.25 * 2 + 1 * 1 = 1.5, swapped
    # 1 * 2 + 0.25 * 1 = 2.25. The matrix is written 0.25, 1.00 (one format): the swap's line wrote 1
    # for the weight its right line wrote 1.00
    from lstmkit.explain import check, from_dict

    W = {"W_i": [[0.0, 0.0]], "W_f": [[0.25, 1]], "W_c": [[0.0, 0.0]], "W_o": [[0.0, 0.0]]}
    ex = from_dict({"notation": "concat", "hidden_size": 1, "weights": W, "inputs": {"x": [[1.0]], "h0": [2.0]},
                    "claims": [{"step": 1, "name": "z_f", "value": "2.25"}]})[0]
    (f,) = check(ex).findings
    assert f.detail.endswith("= 0.25 * 2.00 + 1.00 * 1.00 = 1.50; 2.25 is W_f,x h_0 + W_f,h x_1 = 1.00 * 2.00 + 0.25 * 1.00: "
                             "the weights are swapped (W_f,x applied to h_0, W_f,h to x_1)")


def test_cli_check_json_is_strict_json_with_non_finite_values_as_strings(tmp_path, capsys):
    import json

    from lstmkit.cli import main

    # z_i_1 = W_ii x_1 with x_1 = [1, 1]: 1e308 + 1e308 and -1e308 - 1e308 pass float64's largest, 1.8e308 (IEEE: +-inf)
    gates = dict(SEED000_GATES, W_ii=[[1e308, 1e308], [-1e308, -1e308]])
    path = tmp_path / "inf.toml"
    path.write_text("[weights]\n" + "".join(f"{k} = {v}\n" for k, v in gates.items()) +
                    '[inputs]\nx = [[1.0, 1.0]]\n[[claims]]\nstep = 1\nname = "z_i"\nvalue = [1.0, "?"]\n')
    # (--answers: the blank's values, withheld by default)
    assert main(["check", str(path), "--format", "json", "--answers"]) == 1  # NumPy's overflow warnings: one line each on stderr
    out = capsys.readouterr().out

    def refuse(token):  # Python's json reads Infinity and NaN unless told not to; jq and JavaScript never do
        raise ValueError(f"not JSON: {token}")

    found = json.loads(out, parse_constant=refuse)[0]["findings"]  # was: 'not JSON: Infinity'
    z = {f["label"]: f for f in found if f["name"] == "z_i"}
    assert [z["z_i_1 unit 1"][k] for k in ("claimed", "exact", "hand", "own")] == [1.0, "Infinity", "Infinity", "Infinity"]
    assert z["z_i_1 unit 2"]["claimed"] == "?" and z["z_i_1 unit 2"]["exact"] == "-Infinity"
    assert float(z["z_i_1 unit 2"]["exact"]) == -float("inf")  # the documented strings read back with float()


# -- a student's whole seed-000 sheet (x = A, A, B), with one slip, computed here in NumPy -----------------
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _student(slip=None, claims=("z_i", "i", "z_f", "f", "z_o", "o", "z_g", "g", "c", "tanh_c", "h")):
    """Seed 000's three steps as a student computes them with one ``slip``: "tanh_gate" (tanh for i),
    "noforget" (c = i c~), "transpose" (W^T x + W^T h), "swap_hc" (c_(t-1) where h_(t-1) belongs from step 2),
    "early" (every value rounded to 1 decimal and carried on, all written with 2); else the chain kept with
    every digit, each value written with 2 decimals, in quotes."""
    W = {k: np.array(v, float) for k, v in SEED000_GATES.items()}
    X = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    R = (lambda v: np.round(v, 1)) if slip == "early" else (lambda v: v)
    h, c, out = np.zeros(2), np.zeros(2), []
    for t, x in enumerate(X, 1):
        hh = c if slip == "swap_hc" and t > 1 else h
        M = (lambda w: w.T) if slip == "transpose" else (lambda w: w)
        z = {k: R(M(W["W_i" + L]) @ x + M(W["W_h" + L]) @ hh) for k, L in (("i", "i"), ("f", "f"), ("o", "o"), ("g", "c"))}
        i = R((np.tanh if slip == "tanh_gate" else _sigmoid)(z["i"]))
        f, o, g = R(_sigmoid(z["f"])), R(_sigmoid(z["o"])), R(np.tanh(z["g"]))
        c = R((0 if slip == "noforget" else f * c) + i * g)
        tc = R(np.tanh(c))
        h = R(o * tc)
        vals = {"z_i": z["i"], "i": i, "z_f": z["f"], "f": f, "z_o": z["o"], "o": o, "z_g": z["g"], "g": g, "c": c,
                "tanh_c": tc, "h": h}
        out += [{"step": t, "name": n, "value": [f"{v:.2f}" for v in vals[n]]} for n in claims]
    return from_dict({"weights": dict(SEED000_GATES), "inputs": {"x": X.tolist()}, "claims": out})[0]


def test_a_value_that_follows_from_written_numbers_known_to_half_a_unit_follows():
    # (helper-162 #1) tanh used for i_1: i_1 = [tanh 4, tanh 2] = [1.00, 0.96]; o_1 = σ([5, 3]) = [0.99, 0.95];
    # c_1 = 0.99933 * tanh(1) = 0.76108 -> 0.76; h_1 = 0.99331 * tanh(0.76108) = 0.63742 -> 0.64. The written
    # o_1 = 0.99 and c_1 = 0.76 allow h_1 in [0.985 tanh(0.755), 0.995 tanh(0.765)] = [0.6286, 0.6408], which
    # 0.64's [0.635, 0.645] overlaps: h_1 follows from the wrong c_1 (it was "a new error": 0.99 * 0.64 = 0.63)
    claims = [{"step": 1, "name": n, "value": v} for n, v in (("i", ["1.00", "0.96"]), ("o", ["0.99", "0.95"]),
                                                            ("c", ["0.76", "0.00"]), ("h", ["0.64", "0.00"]))]
    doc = {"weights": dict(SEED000_GATES), "inputs": {"x": [[1.0, 0.0]]}, "claims": claims}
    found = {f.label: f for f in check(from_dict(doc)[0]).findings}
    assert found["h_1 unit 1"].verdict == FOLLOWS, found["h_1 unit 1"]
    assert found["h_1 unit 1"].culprits == ("c_1 unit 1",)
    assert found["c_1 unit 1"].verdict == FOLLOWS and found["i_1 unit 1"].verdict == NEW
    # a true new error right after the wrong c_1 is still one: 0.70 is outside [0.6286, 0.6408] by more than 0.005
    claims[-1]["value"] = ["0.70", "0.00"]
    found = {f.label: f for f in check(from_dict(doc)[0]).findings}
    assert found["h_1 unit 1"].verdict == NEW and "(it also uses the wrong c_1 unit 1)" in found["h_1 unit 1"].detail


@pytest.mark.parametrize("slip, new, impossible", [
    # the only values that no reading of the student's own written numbers gives (checked by hand, each against
    # its direct inputs as intervals, /tmp/s/h163/indep.py): the gate computed with tanh, i_t, and for the left-out
    # forget term c_2 unit 1 and c_3 (c_1 = i_1 c~_1 either way, as c_0 = 0; c_1 unit 2 = 0.00 makes f_2 c_1 vanish
    # in unit 2). Before, 14 and 8 values were new errors: h_1, z_i_2 unit 2, ... followed from written numbers
    ("tanh_gate", {"i_1 unit 1", "i_1 unit 2", "i_2 unit 1", "i_2 unit 2", "i_3 unit 1"}, {"i_3 unit 2"}),  # tanh(z) < 0
    ("noforget", {"c_2 unit 1", "c_3 unit 1", "c_3 unit 2"}, set()),
])
def test_a_whole_sheet_with_one_slip_has_new_errors_only_where_the_slip_is(slip, new, impossible):
    rep = check(_student(slip))
    assert {f.label for f in rep.findings if f.verdict == NEW} == new
    assert {f.label for f in rep.findings if f.verdict == RANGE} == impossible
    assert all(f.verdict in (OK, OK_HAND, FOLLOWS) for f in rep.findings if f.label not in new | impossible)


def test_a_right_sheet_with_every_digit_kept_is_right():
    rep = check(_student())
    assert rep.ok and len(rep.findings) == 66, rep.summary()


def _first_new(slip):
    rep = check(_student(slip))
    return [f for f in rep.findings if f.verdict == NEW], rep


def test_a_transposed_matrix_is_named_and_not_taken_for_swapped_weights():
    # (helper-162 #2) z_i_1 unit 2 with W_ii transposed: column 2 of W_ii = [4, 2] on x_1 = [1, 0] gives 4.00
    # (right: row 2, [2, 2], gives 2.00). W_hi x_1 is 4 too, but with h_0 = 0 a swap of W_ii and W_hi cannot be
    # told from W_hi x_1 alone: it is not said. z_f_1 unit 2: column 2 of W_if = [3, 3] gives 3.00 (row 2: 2.00)
    new, rep = _first_new("transpose")
    assert new[0].label == "z_i_1 unit 2"
    assert new[0].detail.endswith("; 4.00 is W_iiᵀ x_1 + W_hiᵀ h_0 = 4 * 1.00 + 2 * 0.00 + 0 * 0.00 + (-2) * 0.00: the "
                                  "matrices are transposed: unit 2 is row 2 of W_ii and W_hi, W[2, :], not column 2, W[:, 2]")
    assert "3.00 is W_ifᵀ x_1" in new[1].detail and new[1].label == "z_f_1 unit 2"
    assert not any("swapped" in f.detail for f in rep.findings)


def test_tanh_for_a_gate_is_named():
    # i_1 = tanh(z_i_1) = [tanh 4, tanh 2] = [0.9993, 0.9640] -> "1.00", "0.96" (σ: 0.982, 0.881). 0.96 is tanh
    # alone; 1.00 is also 0.982 rounded to 1 decimal: both are said, neither alone
    new, _ = _first_new("tanh_gate")
    assert [f.label for f in new[:2]] == ["i_1 unit 1", "i_1 unit 2"]
    assert new[1].detail.endswith("; 0.96 is tanh(z_i_1) = tanh(2.00): tanh in place of σ for a gate")
    assert "tanh in place of σ for a gate" in new[0].detail and "; or it is " in new[0].detail


def test_c_for_h_is_named():
    # z_i_2 = W_ii x_2 + W_hi c_1 = [4, 2] + [[1, 0], [4, -2]] [0.7479, 0] = [4.75, 4.99] (with h_1 = [0.6296, 0]:
    # [4.63, 4.52]); 4.99 is what the written c_1 = [0.75, 0.00] allows: 2 + 4 * [0.745, 0.755] +- 2 * 0.005
    new, _ = _first_new("swap_hc")
    assert new[0].label == "z_i_2 unit 1" and new[0].detail.endswith(
        "; 4.75 is W_ii x_2 + W_hi c_1 = 4 * 1.00 + 4 * 0.00 + 1 * 0.75 + 0 * 0.00: c_1 used where h_1 belongs")
    assert new[1].label == "z_i_2 unit 2" and new[1].detail.endswith("c_1 used where h_1 belongs")


def test_a_value_rounded_early_and_written_with_more_digits_is_named():
    # every value rounded to 1 decimal, written with 2: i_1 = σ([4, 2]) = [0.982, 0.881] written "1.00", "0.90"
    new, _ = _first_new("early")
    assert new[1].label == "i_1 unit 2" and new[1].detail.endswith(
        "; 0.90 is 0.881 rounded early: rounded to 1 decimal and written with 2 (keep the digits: 0.88)")
    assert "0.982 rounded early" in new[0].detail and "; or it is tanh(z_i_1)" in new[0].detail


def test_cli_check_of_a_blank_exercise_shows_no_answers_unless_asked(tmp_path, capsys):
    # (helper-162 #3) the exercise tells students to run check on it: a blank sheet says so and prints no
    # expected value (text or JSON); a tried answer keeps its values; --answers (a teacher's) shows them all
    import json

    from lstmkit.cli import main

    ex = tmp_path / "ex7.toml"
    assert main(["exercise", "--seed", "7", "--out", str(ex)]) == 0
    assert "lstmkit check" in ex.read_text() and "--answers" in ex.read_text()
    key = worked.load(str(tmp_path / "ex7.key.toml"))[0]
    answers = {f"{c.name}_{c.step}": c.value for c in key.claims}  # the key's numbers, which must not show
    capsys.readouterr()
    assert main(["check", str(ex), "--width", "120"]) == 1
    out = capsys.readouterr().out
    assert "Nothing is answered yet: fill in the 40 blanks" in out and "--answers shows them" in out
    assert "left blank" not in out and "1.000" not in out
    assert main(["check", str(ex), "-f", "json"]) == 1
    found = json.loads(capsys.readouterr().out)[0]["findings"]
    assert len(found) == 40 and all(f["exact"] is None and f["hand"] is None and f["own"] is None for f in found)
    # one answer tried (z_i_1 = [key's unit 1, a wrong 0.5]): its row shows its values, the blanks are named
    text = ex.read_text().replace('value = ["?", "?"]', f'value = ["{answers["z_i_1"][0]:.1f}", "0.5"]', 1)
    ex.write_text(text)
    assert main(["check", str(ex), "-f", "json"]) == 1
    found = {f["label"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    assert found["z_i_1 unit 2"]["exact"] == pytest.approx(answers["z_i_1"][1], abs=0.05)
    assert found["i_1 unit 1"]["verdict"] == "not answered" and found["i_1 unit 1"]["exact"] is None
    assert main(["check", str(ex), "--width", "120"]) == 1
    out = capsys.readouterr().out
    assert "Not answered yet (38 blanks): z_f_1, z_c̃_1" in out and "new error" in out
    assert main(["check", str(ex), "-f", "json", "--answers"]) == 1
    found = {f["label"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    assert found["i_1 unit 1"]["exact"] == pytest.approx(answers["i_1"][0], abs=0.05)


def test_cli_check_at_80_columns_gives_the_why_the_whole_width(capsys):
    # (helper-162 #5) at 80 columns the 7-column table left 'why' 9 columns: 'new / error', 'a new / error: /
    # z_f_1 = / Wi1 x_1 + / ...' on 7 lines. Below 110 columns each finding is a block: its why on lines of its own
    from lstmkit.cli import main

    assert main(["check", "builtin:seed002", "--example", "1", "--width", "80"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "new error  z_f_1 unit 1: claimed 21.0, exact 3.000, by hand 3.0" in lines
    why = [k for k, line in enumerate(lines) if line.strip().startswith("why:")]
    assert lines[why[0]] == "    why: a new error: z_f_1 = Wi1 x_1 + Ws1 h_0 = 1.0 + 2.0 = 3.0"  # one line
    assert lines[why[0] + 1].strip().startswith("where: slide 'How forget gate")


@pytest.mark.parametrize("cols", [20, 33, 47, 60, 80, 109])
def test_cli_check_blocks_never_cut_a_number_and_keep_to_the_width(cols, capsys):
    # the block layout (below 110 columns) wraps at spaces only: every word of the table's cells that holds a
    # digit comes out whole, every line within the width
    from lstmkit.cli import main
    from lstmkit.explain.check import report_document
    from lstmkit.explain.doc import Table
    from lstmkit.explain.render_text import width

    for name in ("seed000", "seed001", "seed002"):
        main(["check", f"builtin:{name}", "--width", str(cols)])
        out = capsys.readouterr().out
        assert "…" not in out and max(width(line.rstrip()) for line in out.splitlines()) <= cols, name
        words = set(out.split())
        doc = report_document([check(ex) for ex in worked.load(f"builtin:{name}")])  # the same cells, as a table
        for row in (r for t in doc.blocks if isinstance(t, Table) for r in t.rows):
            for cell in row:
                assert all({w, w + ",", w + ":"} & words for w in cell.split() if re.search(r"\d", w)), (name, cols, cell)


def test_cli_check_without_answers_withholds_a_blanks_value_in_a_tried_answers_formula(tmp_path, capsys):
    # (helper-163's left-alone item) without --answers a wrong c_1, with f_1, i_1 and c̃_1 left blank,
    # printed 'c_1 = f_1 * c_0 + i_1 * c̃_1 = 0.1 * 0.0 + 0.7 * 1.0 = 0.0 + 0.7 = 0.7': the blanks' values
    # (the key's, from --seed 7) and what they give. Now each blank is '?', and so is all that follows it
    import json

    from lstmkit.cli import main

    ex = tmp_path / "ex7.toml"
    assert main(["exercise", "--seed", "7", "--out", str(ex)]) == 0
    key = {(c.name, c.step): np.ravel(c.value) for c in worked.load(str(tmp_path / "ex7.key.toml"))[0].claims}
    assert key[("c", 1)][0] != pytest.approx(0.5, abs=0.05)  # 0.5 is a wrong answer: a new error, with its formula
    ex.write_text(ex.read_text().replace('name = "c"\nvalue = ["?", "?"]', 'name = "c"\nvalue = ["0.5", "0.5"]', 1))
    capsys.readouterr()
    assert main(["check", str(ex), "-f", "json"]) == 1
    found = {f["label"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    why = found["c_1 unit 1"]["detail"]
    assert found["c_1 unit 1"]["verdict"] == "uses a blank"  # computed from blanks: not judged against their values
    assert "c_1 = f_1 * c_0 + i_1 * c̃_1 = ? * 0.0 + ? * ? = ? (? is an answer left blank)" in why, why
    # none of the blanks' numbers of unit 1 (f_1, i_1, c̃_1, at the exercise's 1 decimal) nor c_1's own
    for name in ("f", "i", "g"):
        assert f"{key[(name, 1)][0]:.1f} *" not in why
    assert "= 0.7" not in why and "0.0 + 0.7" not in why
    # a teacher (--answers) sees the whole line, from the key's numbers
    assert main(["check", str(ex), "-f", "json", "--answers"]) == 1
    found = {f["label"]: f for f in json.loads(capsys.readouterr().out)[0]["findings"]}
    f1, i1, g1 = (key[(n, 1)][0] for n in ("f", "i", "g"))
    assert f"= {f1:.1f} * 0.0 + {i1:.1f} * {g1:.1f} = " in found["c_1 unit 1"]["detail"]


def test_after_right_values_a_claim_off_by_more_than_half_a_unit_is_a_new_error():
    # (helper-168 #1) exercise --seed 7 (1 decimal), step 1 filled in from the key, z_i_2 off by 0.2 and 0.4. The
    # written step-1 values are right, so no reading of their digits may make a wrong z_i_2 right: by hand z_i_2 =
    # W_ii x_2 + W_hi h_1 (biases 0), computed here from the key's h_1, rounded to 1 decimal
    from lstmkit.explain.exercise import make

    exercise, key = make(7)
    vals = {(c["step"], c["name"]): c["value"] for c in key["claims"]}
    W = exercise["weights"]
    z = np.array(W["W_ii"], float) @ np.array(exercise["inputs"]["x"][1]) + np.array(W["W_hi"], float) @ np.array(vals[(1, "h")], float)
    hand = np.round(z, 1)
    for c in exercise["claims"]:
        if c["step"] == 1:
            c["value"] = [f"{float(v):.1f}" for v in vals[(1, c["name"])]]
        elif c["name"] == "z_i":
            c["value"] = [f"{hand[0] - 0.2:.1f}", f"{hand[1] - 0.4:.1f}"]
    found = {f.label: f for f in check(from_dict(exercise)[0]).findings}
    assert all(f.verdict in (OK, OK_HAND) for f in found.values() if f.step == 1)
    for u in (1, 2):
        f = found[f"z_i_2 unit {u}"]
        assert f.verdict == NEW and f.detail.startswith("a new error: z_i_2 = "), f


def test_without_answers_a_tried_answer_shows_nothing_computed_from_a_blank():
    # (helper-168 #2) SLIPS with o_1 and c_1 left blank and h_1 = 0.5: by hand o_1 = σ(1) = 0.7, c_1 = 0.7, and
    # 0.5 = 0.7 * 0.7 is the c-for-tanh(c) slip, whose numbers are the blanks' answers. Without --answers neither
    # the line, nor the slip, nor the value from the author's own numbers may show them
    from lstmkit.explain.check import withhold_answers

    claims = [{"step": 1, "name": "o", "value": "?"}, {"step": 1, "name": "c", "value": "?"},
              {"step": 1, "name": "h", "value": "0.5"}]
    rep = check(from_dict({"weights": SLIPS[0], "inputs": SLIPS[1], "claims": claims})[0])
    full = {f.label: f for f in rep.findings}["h_1 unit 1"]
    assert "0.5 is o_1 * c_1 = 0.7 * 0.7" in full.detail and full.own is not None  # --answers: all of it
    f = {f.label: f for f in withhold_answers(rep).findings}["h_1 unit 1"]
    assert f.detail == ("not the exact value nor the by-hand one, and it depends on c_1 unit 1, o_1 unit 1, left blank: "
                        "h_1 = o_1 * tanh(c_1) = ? * tanh(?) = ? (? is an answer left blank)"), f.detail
    assert f.own is None and f.exact is not None  # the tried answer's own exact value is still shown


def test_without_answers_no_tried_line_shows_a_number_computed_from_a_blank_in_any_exercise():
    # (helper-173 #1) exercises of seeds 1-12, every answer blank but one (tried, and wrong by 0.5): a formula
    # line that uses a blank ends in "?". W_hk h_(t-1) mixes every unit of h_(t-1): seed 12's z_i_2 line
    # printed W_hi h_1 = 3.4 and 3.0, which with the exercise's W_hi = [[-4, -3], [-3, -3]] solve for h_1
    import copy

    from lstmkit.explain.check import BLANK, withhold_answers
    from lstmkit.explain.exercise import make

    leaks = []
    for seed in range(1, 13):
        exercise, key = make(seed)
        vals = {(c["step"], c["name"]): c["value"] for c in key["claims"]}
        for j, claim in enumerate(exercise["claims"]):
            ex = copy.deepcopy(exercise)
            v = vals[(claim["step"], claim["name"])]
            ex["claims"][j]["value"] = ([f"{float(x) + 0.5:.1f}" for x in v] if isinstance(v, list)
                                        else f"{float(v) + 0.5:.1f}")
            for f in withhold_answers(check(from_dict(ex)[0])).findings:
                m = re.search(r": [^:]*? = ([^ ]+) \(\? is an answer left blank\)$", f.detail)
                if f.verdict != BLANK and f.uses_blank and (not m or m.group(1) != "?"):
                    leaks.append((seed, f.label, f.detail))
    assert not leaks, leaks[:3]
    exercise, key = make(12)
    for c in exercise["claims"]:
        if (c["step"], c["name"]) == (2, "z_i"):
            c["value"] = ["1.0", "5.0"]
    f = {f.label: f for f in withhold_answers(check(from_dict(exercise)[0])).findings}["z_i_2 unit 1"]
    assert "W_hi h_1 = -1.3 + ? = ? (? is an answer left blank)" in f.detail, f.detail


@pytest.mark.parametrize("h", ["0.5", "0.45", "0.6", "0.3"])
def test_a_wrong_claim_computed_from_a_blank_is_judged_without_the_blanks_value(h):
    # (helper-173 #4) SLIPS with o_1 blank, c_1 = 0.7 right and h_1 wrong (by hand σ(1) * tanh(0.7) = 0.7 * 0.6
    # = 0.4, exact 0.428): the author does not know o_1, so h_1 cannot "follow from the wrong o_1" (0.5 and 0.45
    # did, from the key's o_1 = 0.73) nor be a new error (0.6, 0.3 were): one verdict for all four, naming the
    # blank, with or without --answers
    from lstmkit.explain.check import AFTER_BLANK, withhold_answers

    claims = [{"step": 1, "name": "o", "value": "?"}, {"step": 1, "name": "c", "value": "0.7"},
              {"step": 1, "name": "h", "value": h}]
    rep = check(from_dict({"weights": SLIPS[0], "inputs": SLIPS[1], "claims": claims})[0])
    for r in (rep, withhold_answers(rep)):
        f = {f.label: f for f in r.findings}["h_1 unit 1"]
        assert f.verdict == AFTER_BLANK and f.failing, (h, f.verdict)
        assert "depends on o_1 unit 1, left blank" in f.detail and "wrong o_1" not in f.detail, f.detail
    assert not rep.ok and "1 wrong value computed from a blank" in rep.summary()


def test_check_names_seed001s_candidate_weight_as_explain_does():
    # seed 001's deck writes C~_t = tanh(W_C·[h_{t-1}, x_t] + b_C), and explain prints W_C; the file's keys
    # are W_c, b_c. By hand: W_C·[h_0, x_1] = 0.5 * 2 + 1 * 1 = 2.00, + b_C 0.25 = 2.25 (the claim's 9.00 is no slip)
    from lstmkit.explain import check, from_dict

    W = {"W_i": [[0.0, 0.0]], "W_f": [[0.0, 0.0]], "W_c": [[0.5, 1.0]], "b_c": [0.25], "W_o": [[0.0, 0.0]]}
    ex = from_dict({"notation": "concat", "hidden_size": 1, "weights": W, "inputs": {"x": [[1.0]], "h0": [2.0]},
                    "claims": [{"name": "W_c", "value": [0.5]}, {"name": "b_c", "value": [0.25]},
                               {"step": 1, "name": "z_g", "value": "9.00"}]})[0]
    shape, bias, z = check(ex).findings
    assert (shape.label, bias.label) == ("W_C", "b_C")  # was W_c, b_c
    assert z.detail == "a new error: z_c̃_1 = W_C·[h_0, x_1] + b_C = 2.00 + 0.25 = 2.25"


def test_check_names_seed001s_candidate_gradient_as_explain_does():
    # (helper-186 C) a gradient claim of seed 001's candidate, keys dW_c and db_c, was labelled "dW_c entry (1, 1)"
    # (explain --grad's table "W_c") where the deck and explain write W_C, b_C. By hand, loss Σ h_1 = h_1, one unit,
    # x_1 = 2, h_0 = 1, c_0 = 0, every W_k = [0.5, 1], no bias: every z = 0.5 * 1 + 1 * 2 = 2.5
    from lstmkit.explain import explain

    s = 1 / (1 + np.exp(-2.5))  # i = f = o
    g = np.tanh(2.5)
    c = s * g
    dz_g = 1.0 * s * (1 - np.tanh(c) ** 2) * s * (1 - g**2)  # dh * o * tanh'(c) * i * tanh'(z_g)
    dW = [round(dz_g * 1.0, 3), round(dz_g * 2.0, 3)]  # dz_g [h_0, x_1]: 0.011, 0.022
    W = {k: [[0.5, 1.0]] for k in ("W_i", "W_f", "W_c", "W_o")}
    ex = from_dict({"notation": "concat", "weights": W, "inputs": {"x": [[2.0]], "h0": [1.0], "c0": [0.0]},
                    "claims": [{"name": "dW_c", "value": [[f"{v:.3f}" for v in dW]]},
                               {"name": "db_c", "value": [f"{dW[0]:.3f}"]}]})[0]
    rep = check(ex, loss="sum_h")
    assert [(f.label, f.verdict) for f in rep.findings] == [
        ("dW_C entry (1, 1)", OK), ("dW_C entry (1, 2)", OK), ("db_C entry (1)", OK)]  # was dW_c, db_c
    table = explain(ex, "text", grad=True, loss="sum_h", width=100).split("Parameter gradients")[1]
    assert re.search(r"\n W_C +0\.011, 0\.022 *\n b_C +0\.011 *\n", table), table


def test_seed001s_candidate_is_read_by_its_printed_name():
    # (helper-198 A) check prints seed 001's candidate gradient as dW_C, db_C (explain --grad: W_C, b_C), and the
    # README says claims are "named as --grad shows them", but a file writing dW_C, or [weights] W_C, was refused:
    # both are read as the keys dW_c, W_c now. The numbers by hand, as in the test above: one unit, loss h_1,
    # x_1 = 2, h_0 = 1, c_0 = 0, every W_k = [0.5, 1]: every z = 2.5, dW_C = dz_C [h_0, x_1] = [0.011, 0.022]
    s = 1 / (1 + np.exp(-2.5))
    g = np.tanh(2.5)
    dz_g = s * (1 - np.tanh(s * g) ** 2) * s * (1 - g**2)
    dW = [f"{dz_g * 1.0:.3f}", f"{dz_g * 2.0:.3f}"]
    assert dW == ["0.011", "0.022"]
    W = {k: [[0.5, 1.0]] for k in ("W_i", "W_f", "W_C", "W_o")}  # the candidate as the deck prints it
    doc = {"notation": "concat", "weights": {**W, "b_C": [0.0]}, "inputs": {"x": [[2.0]], "h0": [1.0], "c0": [0.0]},
           "claims": [{"name": "dW_C", "value": [dW]}, {"name": "db_C", "value": [dW[0]]}, {"name": "W_C", "value": [[0.5, 1.0]]}]}
    ex = from_dict(doc)[0]
    assert sorted(ex.weights) == ["W_c", "W_f", "W_i", "W_o", "b_c"]  # the keys, as W_c, b_c give them
    assert [c.name for c in ex.claims] == ["dW_c", "db_c", "W_c"]
    rep = check(ex, loss="sum_h")
    assert sorted((f.label, f.verdict) for f in rep.findings) == [
        ("W_C", OK), ("dW_C entry (1, 1)", OK), ("dW_C entry (1, 2)", OK), ("db_C entry (1)", OK)]
    # a name that is neither the key nor the printed one, or both for one weight, is refused by the template
    with pytest.raises(KeyError, match=r"expected claim #1 \(dW_X\) name a weight name of the 'concat' notation.*got 'dW_X'"):
        from_dict({**doc, "claims": [{"name": "dW_X", "value": [dW]}]})
    with pytest.raises(KeyError, match=r"expected weights\.W_c one entry per weight, got both W_C and W_c, one weight \(the key W_c\)\. Keep"):
        from_dict({**doc, "weights": {**W, "W_c": [[0.5, 1.0]]}})
    # the printed name is seed 001's only: seed 000's notation writes its candidate W_ic, W_hc
    with pytest.raises(KeyError, match=r"expected weights\.W_C a weight name of the 'per_gate' notation, got 'W_C'"):
        from_dict({"notation": "per_gate", "weights": {"W_C": [[0.5, 1.0]]}, "inputs": {"x": [[2.0]]}})


def test_a_report_and_the_traces_print_one_short_line_and_the_docstring_gives_checks_text(capsys):
    # (helper-202 C, API audit #9) check(load("builtin:seed000")[0]) at the REPL echoed the dataclass
    # repr: the example and every finding, 40,412 characters (the example 14,436, its traces ~22,900)
    from collections import Counter

    from lstmkit.cli import main
    from lstmkit.explain import backward, forward
    from lstmkit.explain.check import report_document, withhold_answers
    from lstmkit.explain.render_text import render

    ex = worked.load("builtin:seed000")[0]
    rep = check(ex)
    text = repr(rep)
    assert len(text) < 300 and "\n" not in text, text
    assert text.startswith("CheckReport('Seed 000: a two-unit LSTM on A, A, B', ")
    bad = sum(f.verdict not in (OK, OK_HAND, "not checkable") for f in rep.findings)
    assert f"{bad} problems: {len(rep.findings)} values (" in text
    for verdict, n in Counter(f.verdict for f in rep.findings).items():  # every verdict named with its count
        assert f"{verdict} {n}" in text
    assert repr(check(from_dict({"title": "t", "inputs": {"x": [1.0]}, "hidden_size": 1})[0])) == "CheckReport('t', all claims agree: 0 values)"
    assert len(repr(check(from_dict({"title": "x" * 10000, "inputs": {"x": [1.0]}, "hidden_size": 1})[0]))) < 100
    for obj, head in ((ex, "WorkedExample('Seed 000: a two-unit LSTM on A, A, B', per_gate, H=2, I=2, T=3, "),
                      (forward(ex, 2), "ForwardTrace('Seed 000: a two-unit LSTM on A, A, B', by hand at 2 decimals, 3 steps)"),
                      (backward(ex), "BackwardTrace('Seed 000: a two-unit LSTM on A, A, B', xent loss ")):
        assert repr(obj).startswith(head) and len(repr(obj)) < 300, repr(obj)
    # the docstring's recipe prints what lstmkit check prints
    capsys.readouterr()
    main(["check", "builtin:seed000"])
    cli = capsys.readouterr().out
    assert render(report_document([withhold_answers(rep)]), 120) == cli
    assert "print(render(report_document([withhold_answers(rep)]), 120)" in type(rep).__doc__
