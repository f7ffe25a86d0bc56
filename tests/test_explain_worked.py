"""The worked-example TOML format: parsing, notations, precision of claims, clear errors."""

from __future__ import annotations

import dataclasses
import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pytest

from lstmkit import worked as shipped
from lstmkit.explain import worked
from lstmkit.explain.worked import canonical_name, from_dict
from lstmkit.seeds import SEED000_GATES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: the built-in worked examples, as the README and ``--help`` name them
BUILTIN = ("seed000", "seed001", "seed002", "variants")


def _seed000(**extra):
    d = {"title": "s0", "weights": SEED000_GATES, "inputs": {"x": [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]}}
    d.update(extra)
    return d


def test_seed000_file_matches_seeds_module():
    # the example file and lstmkit.seeds (both copied from the slides) must agree
    ex = worked.load(f"{EXAMPLES}/seed000.toml")[0]
    for k, v in SEED000_GATES.items():
        np.testing.assert_array_equal(ex.weights[k], np.array(v, dtype=float))
    np.testing.assert_array_equal(ex.x, [[1, 0], [1, 0], [0, 1]])
    assert ex.complete and ex.hidden_size == 2 and ex.input_size == 2 and ex.T == 3
    assert ex.readout.targets == (0, 1, 1)


def test_all_shipped_examples_load():
    counts = {name: len(worked.load(f"{EXAMPLES}/{name}.toml")) for name in BUILTIN}
    assert counts == {"seed000": 1, "seed001": 1, "seed002": 6, "variants": 3}


def _same(a, b, where="example"):
    """Assert ``a`` and ``b`` hold the same values: dataclasses field by field, arrays to the bit (NaN blanks equal)."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{k}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("name", BUILTIN)
def test_a_builtin_name_reads_the_same_examples_as_its_file(name):
    # builtin:NAME is the packaged file (what a pip install has); examples/NAME.toml in a checkout is
    # the same file, a link to it: the same bytes, the same examples
    assert (EXAMPLES / f"{name}.toml").read_bytes() == shipped.read_bytes(name)
    assert (ROOT / "src" / "lstmkit" / "worked" / f"{name}.toml").read_bytes() == shipped.read_bytes(name)
    by_name, by_file = worked.load(f"builtin:{name}"), worked.load(EXAMPLES / f"{name}.toml")
    assert len(by_name) == len(by_file) >= 1
    for a, b in zip(by_name, by_file):
        _same(a, b, name)


def test_the_builtin_names_are_the_packaged_files_and_the_wheel_ships_them():
    assert shipped.names() == BUILTIN
    assert shipped.full_names() == [f"builtin:{n}" for n in BUILTIN]
    # the wheel's package data takes every file of lstmkit/worked/ (pyproject's globs, relative to the package)
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lstmkit"]
    for name in BUILTIN:
        assert any(fnmatch.fnmatch(f"worked/{name}.toml", g) for g in globs), (name, globs)


def test_an_unknown_builtin_name_lists_the_names_there_are():
    with pytest.raises(ValueError) as exc:
        worked.load("builtin:seed009")
    assert str(exc.value) == ("load: expected a worked-example file or a built-in one among ['builtin:seed000', "
                              "'builtin:seed001', 'builtin:seed002', 'builtin:variants'], got 'builtin:seed009'.")


def test_a_name_without_the_prefix_is_a_path_and_a_missing_one_names_the_builtins(tmp_path, monkeypatch):
    # "seed000" is a file of the working folder, whatever lstmkit ships: no name depends on the folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as exc:
        worked.load("seed000")
    assert exc.value.filename == "seed000" and "builtin:seed000, builtin:seed001, builtin:seed002, builtin:variants" in str(exc.value)
    (tmp_path / "seed000").write_text('title = "mine"\nweights = {W_ii = [[1.0]]}\ninputs = {x = [1.0]}\n')
    assert worked.load("seed000")[0].title == "mine" and worked.load("builtin:seed000")[0].title != "mine"


def test_per_gate_and_concat_give_the_same_cell():
    # seed 000 in the W·[h, x] + b notation of seeds 001/003: W_k = [W_hk | W_ik]
    conc = {}
    for L in "ifco":
        conc[f"W_{L}"] = np.concatenate([np.array(SEED000_GATES[f"W_h{L}"]), np.array(SEED000_GATES[f"W_i{L}"])], axis=1).tolist()
    a = from_dict(_seed000())[0].cell()
    b = from_dict({"notation": "concat", "weights": conc, "inputs": {"x": [[1.0, 0.0]]}})[0].cell()
    for k in ("weight_ih", "weight_hh"):
        np.testing.assert_array_equal(a.state_dict()[k], b.state_dict()[k])


def test_unit_notation_maps_seed002_gate_numbers():
    # seed 002: 1 forget, 2 candidate, 3 input, 4 output
    ex = from_dict({"notation": "unit", "weights": {"Wi1": 1.0, "Ws1": 2.0, "Bias2": 0.5}, "inputs": {"x": [1.0]}})[0]
    assert ex.gates["f"].Wx[0, 0] == 1.0 and ex.gates["f"].Wh[0, 0] == 2.0
    assert ex.gates["g"].b[0] == 0.5 and ex.gates["i"].Wx is None and not ex.complete


@pytest.mark.parametrize("value, decimals", [(0.9, 1), (0.495, 3), ("0.50", 2), (4, 0), (1.0, 1), ("-0.760", 3)])
def test_claim_precision_is_how_it_is_written(value, decimals):
    ex = from_dict(_seed000(claims=[{"step": 1, "name": "i", "value": [value, value]}]))[0]
    assert ex.claims[0].decimals == decimals


@pytest.mark.parametrize("value, decimals", [("5e-1", 1), ("5E-1", 1), ("8.8e-1", 2), ("-5.0e-01", 2), ("1.25e1", 1),
                                             ("1.5e2", 0), ("2.5e+1", 0), (1e-07, 7)])
def test_scientific_notation_counts_the_decimals_of_the_number_it_writes(value, decimals):
    # "5e-1" is 0.5: one decimal (0 after the point, less the exponent -1); "8.8e-1" is 0.88: two;
    # "1.25e1" is 12.5: one; "1.5e2" is 150: none (never fewer than 0); a float 1e-07 is 0.0000001: seven
    ex = from_dict(_seed000(claims=[{"step": 1, "name": "i", "value": [value, value]}]))[0]
    assert ex.claims[0].decimals == decimals


@pytest.mark.parametrize("text, value, decimals", [
    ("1/8", 0.125, worked.EXACT), ("-3/4", -0.75, worked.EXACT), (" 1 / 2 ", 0.5, worked.EXACT),  # a fraction is exact
    ("12%", 0.12, 2), ("12.5%", 0.125, 3), ("-7%", -0.07, 2),  # a percentage: its decimals and two more
    (" 0.50 ", 0.5, 2),
])
def test_fractions_and_percentages_are_read(text, value, decimals):
    c = from_dict(_seed000(claims=[{"step": 1, "name": "i", "value": [text, "0.5"]}]))[0].claims[0]
    assert c.value[0] == pytest.approx(value, abs=1e-15) and c.precision(0) == decimals and c.written(0) == text.strip()


@pytest.mark.parametrize("text, fix", [
    ("0,98", 'got \'0,98\'. Write a decimal point: "0.98" (a comma is ambiguous: "1,250" reads 1.25 or 1250).'),
    # a comma before three digits may separate thousands: both readings, not "1.250" alone
    ("1,250", 'got \'1,250\'. Write "1.250" or "1250", as meant: a comma is ambiguous, a decimal comma or a thousands separator.'),
    ("1/0", "got '1/0'. A fraction needs a denominator other than 0."),
    ("0.9 (rounded)", 'got \'0.9 (rounded)\'. Write the number alone: 0.98, "0.50", "5e-1", "1/8" or "12%".'),
    ("nan", """value a finite number, got 'nan'. Leave a value you cannot give as "?"."""),
])
def test_a_claim_in_another_form_is_refused_by_name_with_the_way_to_write_it(text, fix):
    claims = [{"step": 1, "name": "f", "value": [0.1, 0.9]}, {"step": 1, "name": "i", "value": ["0.9", text], "where": "slide 4"}]
    with pytest.raises(ValueError) as e:
        from_dict(_seed000(claims=claims))
    assert str(e.value).startswith("worked example: expected claim #2 (i at step 1, slide 4) value ") and str(e.value).endswith(fix)


def test_a_claim_written_with_more_decimals_than_float64_can_scale_by_is_refused():
    """helper-185 E: "1e-400" (400 decimals) loaded, and check then raised OverflowError (10.0**400 in hand_round),
    a traceback. At most MAX_DECIMALS (100) load and are checked, with no overflow."""
    import warnings

    from lstmkit.explain import check

    claims = [{"step": 1, "name": "i", "value": ["0.9", "1e-400"], "where": "slide 4"}]
    with pytest.raises(ValueError) as e:
        from_dict(_seed000(claims=claims))
    assert str(e.value) == ("worked example: expected claim #1 (i at step 1, slide 4) value a number written with at most "
                            "100 decimals, got '1e-400' (400 decimals). Write it with fewer decimals (0 for a number this small).")
    claims[0]["value"][1] = "1e-100"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in the rounding at 100 decimals
        assert check(from_dict(_seed000(claims=claims))[0]).findings


@pytest.mark.parametrize("decimals", [2.7, "2", True, "abc", 13, -1])
def test_a_claims_decimals_key_is_an_integer_from_0_to_12(decimals):
    # int() took 2.7 as 2, "2" as 2 and True as 1; "abc" failed with Python's own int() error
    claims = [{"step": 1, "name": "i", "value": [0.9, 0.9], "decimals": decimals, "where": "slide 4"}]
    with pytest.raises(ValueError) as e:
        from_dict(_seed000(claims=claims))
    assert str(e.value) == (f"worked example: expected claim #1 (i at step 1, slide 4) decimals an integer from 0 to 12, "
                            f"got {decimals!r}. It is the number of decimals its numbers are judged at.")
    claims[0]["decimals"] = 2
    c = from_dict(_seed000(claims=claims))[0].claims[0]
    assert (c.decimals, c.fixed, c.precision(1)) == (2, True, 2)


def test_the_initial_state_at_step_0_is_told_how_it_is_written():
    with pytest.raises(ValueError) as e:
        from_dict(_seed000(claims=[{"step": 0, "name": "h", "value": [0, 0]}]))
    assert str(e.value) == ("worked example: expected claim #1 (h at step 0) step an integer from 1 to T=3, got 0. "
                            'h_0, the state before step 1, is written step = 1, name = "h_prev" (or as [inputs] h0).')


def test_blank_claims_and_aliases():
    ex = from_dict(_seed000(claims=[{"step": 1, "name": "c~", "value": ["?", 0.5]}, {"step": 2, "name": "C", "value": [1, 2]}]))[0]
    c = ex.claims[0]
    assert c.name == "g" and not c.answered and np.isnan(c.value[0]) and c.value[1] == 0.5
    assert ex.claims[1].name == "c"
    assert canonical_name("z_c~") == "z_g" and canonical_name("Wxh_c") == "Wxh_g"


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"notation": "matrix"}, "expected notation one of"),
        ({"weights": {**SEED000_GATES, "W_ii": [[1, 2, 3], [4, 5, 6]]}}, "expected weights.W_ii shape (2, 2), got shape (2, 3)"),
        ({"weights": {**SEED000_GATES, "W_zz": [[1]]}}, "expected weights.W_zz a weight name"),
        ({"claims": [{"step": 4, "name": "i", "value": [1, 1]}]}, "expected claim #1 (i at step 4) step an integer from 1 to T=3, got 4"),
        ({"claims": [{"step": 1, "name": "q", "value": [1, 1]}]}, "expected claim #1 (q at step 1) name a quantity"),
        ({"claims": [{"step": 1, "name": "i", "value": ["abc", 1]}]}, "expected claim #1 (i at step 1) value a number, or a string"),
        ({"readout": {"targets": [0, 5, 1]}}, "expected readout.targets 3 class indices in 0..1"),
        ({"readout": {"targets": [0, True, 1]}}, "expected readout.targets 3 class indices in 0..1, got [0, True, 1]"),
        ({"colour": 1}, "unknown keys ['colour']"),
    ],
)
def test_bad_input_names_the_argument(patch, message):
    with pytest.raises((ValueError, KeyError)) as e:
        from_dict(_seed000(**patch))
    assert message in str(e.value)


def _load_small(path):
    """worked.load(path), and the most memory it allocated at once (tracemalloc sees NumPy's)."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            return worked.load(path), None
        except (ValueError, KeyError) as exc:
            return None, exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 2**20, f"worked.load allocated {peak} bytes"


#: helper-153 #3: a 60-byte file stating hidden_size = 100000000 (no weights, h0 or c0) allocated
#: gigabytes; -1, "3", 2.5 and true raised NumPy's words, naming neither the file nor the key
@pytest.mark.parametrize("value", ["-1", "0", '"3"', "2.5", "true", "100000000", "1000000000000", str(worked.MAX_HIDDEN + 1)])
def test_a_bad_or_huge_hidden_size_is_refused_naming_the_file_and_key_before_allocating(tmp_path, value):
    p = tmp_path / "bigH.toml"
    p.write_text(f'title = "t"\nhidden_size = {value}\n[inputs]\nx = [[1.0, 0.0]]\n')
    ex, exc = _load_small(p)
    assert isinstance(exc, ValueError), ex
    assert str(exc).startswith(f"{p}: expected hidden_size ")
    assert repr(tomllib.loads(f"v = {value}")["v"]) in str(exc)


@pytest.mark.parametrize("text, message", [
    ('hidden_size = 100000000\n[inputs]\nx = [[1.0, 0.0]]\nh0 = [0.0, 0.0]',
     "expected inputs.h0 100000000 numbers (hidden_size), got 2"),
    ('hidden_size = 100000000\n[inputs]\nx = [[1.0, 0.0]]\nc0 = [0.0, 0.0]',
     "expected inputs.c0 100000000 numbers (hidden_size), got 2"),
    ('hidden_size = 100000000\n[weights]\nW_ii = [[1.0, 0.0]]\n[inputs]\nx = [[1.0, 0.0]]',
     "expected weights.W_ii shape (100000000, 2), got shape (1, 2)"),
    ('notation = "unit"\nhidden_size = 2\n[inputs]\nx = [1.0]', "expected hidden_size 1 in the 'unit' notation"),
    ('[inputs]\nx = [[1.0, 0.0]]\nh0 = []', "expected inputs.h0 at least one number (one per hidden unit), got an empty list. Write one number per hidden unit"),
    ('input_size = "2"\n[inputs]\nx = [[1.0, 0.0]]\nh0 = [0.0]', "expected input_size an integer >= 1, got '2'. Write it as a whole number without quotes, like 2."),
    ('input_size = true\n[inputs]\nx = [1.0]\nh0 = [0.0]', "expected input_size an integer >= 1, got True"),
    ('input_size = 0\n[inputs]\nx = [1.0]\nh0 = [0.0]', "expected input_size an integer >= 1, got 0"),
    ('input_size = 3\n[inputs]\nx = [[1.0, 0.0]]\nh0 = [0.0]', "expected inputs.x 3 numbers per step (input_size), got 2"),
])
def test_a_stated_size_is_checked_against_the_file_before_allocating(tmp_path, text, message):
    p = tmp_path / "sizes.toml"
    p.write_text(text + "\n")
    ex, exc = _load_small(p)
    assert isinstance(exc, ValueError), ex
    assert str(exc).startswith(f"{p}: ") and message in str(exc)


def test_a_stated_hidden_size_up_to_the_cap_or_given_by_the_file_loads(tmp_path):
    p = tmp_path / "h.toml"
    p.write_text(f'hidden_size = {worked.MAX_HIDDEN}\n[inputs]\nx = [[1.0, 0.0]]\n')
    (ex,), _ = _load_small(p)
    assert ex.hidden_size == worked.MAX_HIDDEN and not ex.h0.any() and not ex.c0.any()
    H = worked.MAX_HIDDEN + 6  # more than the cap, given by h0: its numbers are in the file
    p.write_text(f'hidden_size = {H}\ninput_size = 2\n[inputs]\nx = [[1.0, 0.0]]\nh0 = {[0.5] * H}\n')
    (ex,), _ = _load_small(p)
    assert ex.hidden_size == H and ex.input_size == 2 and (ex.h0 == 0.5).all() and not ex.c0.any()


def test_more_steps_than_a_worked_example_works_through_are_refused(tmp_path):
    """helper-185 E: T had no bound: a 40 KB file of 20000 one-number steps at hidden_size 64 made check take
    830 MB and 12 s, explain over a minute (every step's numbers are kept and printed). MAX_STEPS load, one more
    is refused naming the file and the key."""
    import re

    p = tmp_path / "long.toml"
    p.write_text(f'hidden_size = 2\n[inputs]\nx = {[0.0] * worked.MAX_STEPS}\n')
    (ex,), _ = _load_small(p)
    assert ex.x.shape == (worked.MAX_STEPS, 1)
    p.write_text(f'hidden_size = 2\n[inputs]\nx = {[0.0] * 20000}\n')
    with pytest.raises(ValueError, match=rf"^{re.escape(str(p))}: expected inputs\.x at most {worked.MAX_STEPS} time steps, got 20000\. "
                                         r"A worked example is worked by hand.*--model FILE --input SEQ\)\.$"):  # fmt: skip
        worked.load(p)


def test_toml_syntax_error_names_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("title = \n")
    with pytest.raises(ValueError, match="bad.toml: expected a TOML worked-example file"):
        worked.load(p)


def test_a_binary_file_is_not_a_worked_example(tmp_path):
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04\xb8\xff binary")
    with pytest.raises(ValueError, match=r"model.npz: expected a TOML worked-example file, got binary data\. .* --model FILE --input SEQ"):
        worked.load(tmp_path / "model.npz")


def test_a_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    # old Windows Notepad saves UTF-8 with a byte-order mark (EF BB BF) and CRLF line ends: the same examples
    text = (EXAMPLES / "seed000.toml").read_text(encoding="utf-8")
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    _same(worked.load(p)[0], worked.load(EXAMPLES / "seed000.toml")[0])  # was: 'a syntax error: Invalid statement (at line 1, column 1)'


@pytest.mark.parametrize("codec, name", [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")])
def test_a_file_in_utf16_or_utf32_is_named_so_not_binary_data(tmp_path, codec, name):
    # Notepad's "Unicode" is UTF-16 with a byte-order mark: said as what it is, with the fix (was 'got binary data')
    p = tmp_path / "u.toml"
    bom = {"utf-16-be": b"\xfe\xff"}.get(codec, b"")
    p.write_bytes(bom + 'title = "σ"\n'.encode(codec))
    with pytest.raises(ValueError) as err:
        worked.load(p)
    assert str(err.value) == (f"{p}: expected a TOML worked-example file in UTF-8, got {name} text. "
                              "Save it as UTF-8 (Notepad: Save as, Encoding UTF-8).")


#: helper-202 A: PyTorch's letter of the candidate (W_ig, W_hg, b_ig, b_hg; W_g, b_g) passed the shape
#: check but _gates_from reads only the seeds' c, so the weight was ignored and c~_t computed without
#: it (tanh(0) = 0 for any W_g): refused, saying the name to write
@pytest.mark.parametrize("notation, name, value, fix", [
    ("per_gate", "W_ig", [[1.0, 2.0], [3.0, 4.0]], "write W_ic"),
    ("per_gate", "W_hg", [[1.0, 2.0], [3.0, 4.0]], "write W_hc"),
    ("per_gate", "b_ig", [1.0, 2.0], "write b_ic"),
    ("per_gate", "b_hg", [1.0, 2.0], "write b_hc"),
    ("concat", "W_g", [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], "write W_c"),
    ("concat", "b_g", [1.0, 2.0], "write b_c"),
])
def test_pytorchs_letter_of_the_candidate_is_refused_with_the_seeds_name(notation, name, value, fix):
    weights = {"W_ii": [[1.0, 0.0], [0.0, 1.0]]} if notation == "per_gate" else {"W_i": [[1.0, 0.0, 0.0, 1.0]] * 2}
    d = {"title": "g", "notation": notation, "weights": {**weights, name: value},
         "inputs": {"x": [[1.0, 0.0], [0.0, 1.0]]}}
    with pytest.raises(KeyError) as e:
        from_dict(d)
    msg = e.value.args[0]
    assert f": expected weights.{name} a weight name of the {notation!r} notation, got {name!r}." in msg
    assert fix in msg and "PyTorch" in msg
    # the same as a claim (its gradient too), where check would have judged a weight it never used
    del d["weights"][name]
    for claimed in (name, "d" + name):
        d["claims"] = [{"name": claimed, "value": value}]
        with pytest.raises(KeyError) as e:
            from_dict(d)
        assert f"expected claim #1 ({claimed}) name a weight name" in e.value.args[0]
        assert ("write d" if claimed.startswith("d") else "write ") + fix.split()[-1] in e.value.args[0]
    # the seeds' letter is read: the candidate's gate gets the weight
    d.pop("claims")
    seed = fix.split()[-1]
    without = from_dict(d)[0].gates["g"]
    given = from_dict({**d, "weights": {**d["weights"], seed: value}})[0].gates["g"]
    assert all(v is None for v in (without.Wx, without.Wh, without.b))
    assert any(v is not None and np.isin(np.ravel(value), v).any() for v in (given.Wx, given.Wh, given.b))
