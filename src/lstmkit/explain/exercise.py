"""Fresh worked exercises from a seed: a file a student fills in, and its answer key.

``make(seed, ...)`` draws a small LSTM (weights with few decimals), an input sequence and the
initial states, and asks for chosen quantities at every step. The exercise is a worked-example
file whose claims are blanks (``"?"``); the key is the same file with the blanks filled by the
hand computation at the exercise's precision (every intermediate rounded and carried forward,
which ``check`` accepts as well as the exact values). ``lstmkit check`` grades a filled file.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._checks import check_int, check_rng, count, fail
from .trace import forward
from .worked import GATES, SEED_LETTER, from_dict

#: what an exercise can ask for at each step
ASKABLE = ("Wx", "Wh", "z", "gates", "c", "h", "y")
DEFAULT_ASK = ("z", "gates", "c", "h")


def _draw(rng: np.random.Generator, shape, decimals: int, bound: float) -> np.ndarray:
    """Uniform numbers on [-bound, bound] with ``decimals`` decimals (integers for 0)."""
    scale = 10**decimals
    k = int(round(bound * scale))
    return rng.integers(-k, k + 1, size=shape) / scale


def _py(a) -> Any:
    """NumPy -> plain Python (ints where whole) for TOML."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        v = float(a)
        return int(v) if v == int(v) else v
    return [_py(x) for x in a]


def make(
    seed: int,
    hidden_size: int = 2,
    input_size: int = 2,
    steps: int = 2,
    decimals: int = 1,
    weight_decimals: int = 0,
    ask: tuple[str, ...] = DEFAULT_ASK,
    readout: bool = False,
) -> tuple[dict, dict]:
    """Return (exercise, key) as TOML-ready dicts (see the module docstring).

    hidden_size H, input_size I, steps T: the sizes. decimals: the precision answers are given
    with (and the hand rounding of the key). weight_decimals: 0 for integer weights in [-4, 4]
    (seed 000's style), 1 for one-decimal weights in [-2, 2]. ask: subset of ASKABLE.
    """
    where = "exercise"
    H = check_int(hidden_size, where, "hidden_size", minimum=1)
    I = check_int(input_size, where, "input_size", minimum=1)
    T = check_int(steps, where, "steps", minimum=1)
    decimals = check_int(decimals, where, "decimals", minimum=0)
    weight_decimals = check_int(weight_decimals, where, "weight_decimals", minimum=0)
    bad = sorted(set(ask) - set(ASKABLE))
    if bad or not ask:
        fail(where, "ask", f"a non-empty subset of {list(ASKABLE)}", repr(list(ask)))
    if "y" in ask and not readout:
        readout = True
    rng = check_rng(seed)
    bound = 4.0 if weight_decimals == 0 else 2.0
    weights = {}
    for k in GATES:
        L = SEED_LETTER[k]
        weights[f"W_i{L}"] = _py(_draw(rng, (H, I), weight_decimals, bound))
        weights[f"W_h{L}"] = _py(_draw(rng, (H, H), weight_decimals, bound))
    x = _draw(rng, (T, I), 1, 1.0)
    h0 = np.zeros(H)
    c0 = np.zeros(H)
    doc: dict[str, Any] = {
        "title": f"Exercise {seed}: an LSTM with {count(H, 'unit')}, {count(I, 'input')}, {count(T, 'step')}",
        "source": f"lstmkit exercise --seed {seed}",
        "notation": "per_gate",
        "exercise": {
            "seed": seed,
            "decimals": decimals,
            "instructions": (f"Compute every '?' by hand. Round every intermediate result to {count(decimals, 'decimal')} "
                             "and carry the rounded value forward. Biases are 0. "
                             "Grade with: lstmkit check THIS_FILE"),
        },
        "weights": weights,
        "inputs": {"x": _py(x), "h0": _py(h0), "c0": _py(c0)},
    }
    if readout:
        targets = [int(t) for t in rng.integers(0, H, size=T)]
        doc["readout"] = {"targets": targets}
    names = []
    for a in ask:
        if a == "gates":
            names += list(GATES)
        elif a in ("Wx", "Wh", "z"):
            names += [f"{a}_{k}" for k in GATES]
        else:
            names.append(a)
    order = ["Wx_i", "Wh_i", "z_i", "i", "Wx_f", "Wh_f", "z_f", "f", "Wx_o", "Wh_o", "z_o", "o",
             "Wx_g", "Wh_g", "z_g", "g", "c", "h", "y"]
    names = [n for n in order if n in names]
    blank_claims = []
    for t in range(1, T + 1):
        for n in names:
            blank_claims.append({"step": t, "name": n, "value": ["?"] * H, "where": f"step {t}"})
    exercise = {**doc, "claims": blank_claims}
    # the key: the hand computation at the exercise's precision
    ex = from_dict({**doc, "claims": []}, where="exercise")[0]
    fw = forward(ex, decimals)
    key_claims = []
    for c in blank_claims:
        v = fw.steps[c["step"] - 1].values[c["name"]]
        key_claims.append({**c, "value": [f"{a:.{decimals}f}" for a in v]})
    key = {**doc, "title": doc["title"] + " (answer key)", "claims": key_claims}
    return exercise, key


HEADER = """# An lstmkit exercise. Fill in every "?" (keep the quotes or write plain numbers),
# then grade it with:  lstmkit check {name}
# The cell (seed 000's notation, gate order i, f, o, c~):
#   i_t = σ(W_ii x_t + W_hi h_(t-1))      f_t = σ(W_if x_t + W_hf h_(t-1))
#   o_t = σ(W_io x_t + W_ho h_(t-1))      c~_t = tanh(W_ic x_t + W_hc h_(t-1))
#   c_t = f_t * c_(t-1) + i_t * c~_t      h_t = o_t * tanh(c_t)
# Names: Wx_i = W_ii x_t, Wh_i = W_hi h_(t-1), z_i = their sum (the pre-activation), g = c~.
"""

KEY_HEADER = """# The answer key of an lstmkit exercise: every "?" computed by hand, each intermediate rounded
# as the exercise asks and carried forward. Grade a filled-in copy of the exercise with:
#   lstmkit check {exercise}
# (checking this file itself passes: it is the computation.)
"""


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(a) for a in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(a)}" for k, a in v.items()) + " }"
    raise TypeError(f"exercise.dumps: expected TOML-able values, got {type(v).__name__}")


def dumps(doc: dict, name: str = "FILE", key_of: str | None = None) -> str:
    """The exercise as TOML, matrices on one line each, with the explanatory header (``name``: the
    file's name, for the grading command). ``key_of``: the document is the answer key of the
    exercise file of that name (the key's header instead).

    Written by hand (scalars, inline arrays, tables, arrays of tables) so that a matrix reads as
    ``W_ii = [[3, -4], [-3, -2]]``; :func:`tomllib.loads` reads it back unchanged.
    """
    lines = [HEADER.format(name=name) if key_of is None else KEY_HEADER.format(exercise=key_of)]
    if key_of is None and "readout" in doc:
        lines[0] += "# Read-out: y_t = softmax(h_t) (no weights), the class probabilities; [readout] targets are the classes.\n"
    tables, arrays = [], []
    for k, v in doc.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            arrays.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in tables:
        lines += ["", f"[{k}]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    for k, items in arrays:
        for it in items:
            lines += ["", f"[[{k}]]"] + [f"{kk} = {_toml_value(vv)}" for kk, vv in it.items()]
    return "\n".join(lines) + "\n"
