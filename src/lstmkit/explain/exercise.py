"""Fresh worked exercises from a seed: a file a student fills in, and its answer key.

``make(seed, ...)`` draws a small LSTM (weights with few decimals), an input sequence and the
initial states, and asks for chosen quantities at every step, of the forward pass and, with
``grad``, of the backward pass (BPTT: dh_t, dc_t, the gate pre-activations' dz_k, dh_prev, dx,
the loss, the weight gradients). The exercise is a worked-example file whose claims are blanks
(``"?"``); the key is the same file with the blanks filled by the hand computation at the
exercise's precision (every intermediate rounded and carried forward, then every gradient rounded
and carried back, as ``explain --round N --grad`` shows it; ``check`` accepts that as well as the
exact values). ``lstmkit check`` grades a filled file.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._checks import check_int, check_rng, count, fail
from .build import fnum
from .trace import backward, forward
from .worked import EXACT, GATES, LOSSES, MAX_HIDDEN, MAX_STEPS, SEED_LETTER, from_dict

#: what an exercise can ask for at each step
ASKABLE = ("Wx", "Wh", "z", "gates", "c", "h", "y")
DEFAULT_ASK = ("z", "gates", "c", "h")
#: what it can ask of the backward pass: the loss L; per step dL/dh_t, dL/dc_t, the gates' (di, df,
#: dc~, do) and their pre-activations' (dz_i, ...) gradients, dh_prev, dx; the weights' gradients
#: dW_i*, dW_h* and the biases' db_i* (summed over the steps)
GRAD_ASKABLE = ("loss", "dh", "dc", "dgates", "dz", "dc_prev", "dh_prev", "dx", "dW", "db")
#: what `lstmkit exercise --grad` asks when it names nothing: dh_t, dc_t, dz_k and the weights' gradients dW
DEFAULT_GRAD = ("dh", "dc", "dz", "dW")
#: the order a step's backward quantities are written in (as ``explain --grad`` shows them)
_GRAD_ORDER = ("dh", "do", "dc", "di", "df", "dg", "dz_i", "dz_f", "dz_o", "dz_g", "dc_prev", "dh_prev", "dx")


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


def check_loss(loss: str | None, grad, hidden_size: int, where: str = "exercise") -> str | None:
    """The loss of an exercise's gradients, the one rule of ``make`` and ``lstmkit exercise``: None
    without gradients (``grad`` empty), where a loss is refused; else ``loss``, by default "xent" (the
    cross-entropy of y_t = softmax(h_t)), or "sum_h" for one hidden unit, whose softmax is 1 (its
    cross-entropy and every gradient 0), where "xent" is refused. ValueError names the argument."""
    if not grad:
        if loss is not None:
            fail(where, "loss", "only with gradients to ask", f"{loss!r} and none asked", "Ask for gradients, or leave the loss out.")
        return None
    loss = loss or ("xent" if hidden_size > 1 else "sum_h")
    if loss not in LOSSES:
        fail(where, "loss", f"one of {list(LOSSES)}", repr(loss))
    if loss == "xent" and hidden_size == 1:
        fail(where, "loss 'xent'", "with at least 2 hidden units (the read-out's classes)", "hidden_size 1",
             "The softmax of one unit is 1: its cross-entropy and every gradient are 0. Use loss 'sum_h'.")
    return loss


def make(
    seed: int,
    hidden_size: int = 2,
    input_size: int = 2,
    steps: int = 2,
    decimals: int = 1,
    weight_decimals: int = 0,
    ask: tuple[str, ...] = DEFAULT_ASK,
    readout: bool = False,
    grad: tuple[str, ...] = (),
    loss: str | None = None,
) -> tuple[dict, dict]:
    """Return (exercise, key) as TOML-ready dicts (see the module docstring).

    hidden_size H, input_size I, steps T: the sizes (H and I at most 64, make's own bound, as
    worked.MAX_HIDDEN: the sheet draws and shows H x I and H x H weights per gate; T at most
    worked.MAX_STEPS = 1000, a worked example's bound). decimals: the precision answers are given
    with (and the hand rounding of the key), 0 to 12 (worked.EXACT, an exercise file's bound). weight_decimals: 0 for integer weights in [-4, 4]
    (seed 000's style), 1 for one-decimal weights in [-2, 2], 2 to 12 (worked.EXACT, as decimals) for
    weights with that many decimals in [-2, 2]. ask: subset of ASKABLE.
    grad: what to ask of the backward pass, a subset of GRAD_ASKABLE (empty: nothing).
    loss: the gradients' loss, "xent" (L = Σ_t -log y_t[target_t], y_t = softmax(h_t), seed 000's;
    targets are drawn) or "sum_h" (L = Σ_j h_T[j]); None: "xent", or "sum_h" for one hidden unit
    (the softmax of one unit is 1, its cross-entropy 0). The exercise records it as ``[exercise] loss``.
    """
    where = "exercise"
    H = check_int(hidden_size, where, "hidden_size", minimum=1)
    I = check_int(input_size, where, "input_size", minimum=1)
    T = check_int(steps, where, "steps", minimum=1)
    decimals = check_int(decimals, where, "decimals", minimum=0)
    # make's bounds: T and decimals a worked example's, said in make's words (else from_dict refused the file made:
    # "inputs.x at most ..."); H and I make's own (a worked example with weights has no bound on H or I)
    by_hand = "An exercise is worked by hand, and every step's numbers are kept and shown: ask for fewer."
    weight_decimals = check_int(weight_decimals, where, "weight_decimals", minimum=0)
    # weight_decimals as decimals: 10**400 overflowed _draw's float (OverflowError), 10**19 its int64
    for arg, v, most in (("hidden_size", H, MAX_HIDDEN), ("input_size", I, MAX_HIDDEN), ("steps", T, MAX_STEPS),
                         ("decimals", decimals, EXACT), ("weight_decimals", weight_decimals, EXACT)):
        if v > most:
            fail(where, arg, f"at most {most}", v, {"decimals": f"An exercise file's decimals are from 0 to {EXACT}.",
                                                     "weight_decimals": f"Weights are drawn with at most {EXACT} decimals: pass weight_decimals from 0 to {EXACT}."
                                                     }.get(arg, by_hand))
    bad = sorted(set(ask) - set(ASKABLE))
    if bad or not ask:
        fail(where, "ask", f"a non-empty subset of {list(ASKABLE)}", repr(list(ask)))
    if sorted(set(grad) - set(GRAD_ASKABLE)):
        fail(where, "grad", f"a subset of {list(GRAD_ASKABLE)}", repr(list(grad)))
    loss = check_loss(loss, grad, H, where)
    if "y" in ask or loss == "xent":
        readout = True
    rng = check_rng(seed, where)
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
                             "and carry the rounded value forward" + (" (and back, for the gradients)" if grad else "")
                             + ". Biases are 0. Grade with: lstmkit check THIS_FILE"),
            **({"loss": loss} if grad else {}),
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
    blank_claims += _grad_blanks(grad, H, I, T)
    exercise = {**doc, "claims": blank_claims}
    # the key: the hand computation at the exercise's precision, forward and, for gradients, back
    ex = from_dict({**doc, "claims": []}, where="exercise")[0]
    fw = forward(ex, decimals)
    bw = backward(ex, loss, decimals) if grad else None
    if bw is not None and "loss" in grad and not np.isfinite(bw.loss):
        fail(where, "decimals", "enough for every y_t[target_t] to stay above 0 by hand (the loss is their -log)",
             f"{decimals}: a y_t[target_t] rounds to 0, so the loss is infinite by hand",
             "Ask for more decimals, or leave loss out of what is asked.")
    key_claims = []
    for c in blank_claims:
        if "step" not in c:  # the loss L or a parameter's gradient, summed over the steps
            v = bw.loss if c["name"] == "loss" else bw.param_grads[c["name"][1:]]
        elif c["name"] in _GRAD_ORDER:
            v = next(s for s in bw.steps if s.t == c["step"]).values[c["name"]]
        else:
            v = fw.steps[c["step"] - 1].values[c["name"]]
        key_claims.append({**c, "value": _written(v, decimals)})
    key = {**doc, "title": doc["title"] + " (answer key)", "claims": key_claims}
    return exercise, key


def _grad_blanks(grad: tuple[str, ...], H: int, I: int, T: int) -> list[dict]:
    """The blanks of the backward pass: the loss, then step T back to 1 (``_GRAD_ORDER``), then the
    gradients of the weights W_i*, W_h* and biases b_i* in the slides' gate order i, f, o, c."""
    names = []
    for a in grad:
        names += {"dgates": ["di", "df", "dg", "do"], "dz": [f"dz_{k}" for k in GATES]}.get(a, [a])
    per_step = [n for n in _GRAD_ORDER if n in names]
    out = [{"name": "loss", "value": "?", "where": "loss"}] if "loss" in grad else []
    for t in range(T, 0, -1):
        out += [{"step": t, "name": n, "value": ["?"] * (I if n == "dx" else H), "where": f"backward step {t}"}
                for n in per_step]
    for L in ("i", "f", "o", "c"):
        if "dW" in grad:
            out += [{"name": f"dW_i{L}", "value": [["?"] * I for _ in range(H)], "where": "gradients"},
                    {"name": f"dW_h{L}", "value": [["?"] * H for _ in range(H)], "where": "gradients"}]
        if "db" in grad:
            out.append({"name": f"db_i{L}", "value": ["?"] * H, "where": "gradients"})
    return out


def _written(v, decimals: int):
    """A key's number (or nested list of them) as text at the exercise's precision, as explain
    writes numbers (:func:`~lstmkit.explain.build.fnum`: -0.0 as 0.0)."""
    a = np.asarray(v, dtype=float)
    if a.ndim:
        return [_written(x, decimals) for x in a]
    return fnum(a, decimals)


HEADER = """# An lstmkit exercise. Fill in every "?" (keep the quotes or write plain numbers),
# then grade it with:  lstmkit check {name}
# (any time, part done: it shows no expected value for a "?" still blank; a teacher's --answers does)
# The cell (seed 000's notation, gate order i, f, o, c~):
#   i_t = σ(W_ii x_t + W_hi h_(t-1))      f_t = σ(W_if x_t + W_hf h_(t-1))
#   o_t = σ(W_io x_t + W_ho h_(t-1))      c~_t = tanh(W_ic x_t + W_hc h_(t-1))
#   c_t = f_t * c_(t-1) + i_t * c~_t      h_t = o_t * tanh(c_t)
# Names: Wx_i = W_ii x_t, Wh_i = W_hi h_(t-1), z_i = their sum (the pre-activation), g = c~.
"""

GRAD_HEADER = """# Backward (BPTT), from step T back to 1; dh_next, dc_next are what step t+1 passed back (0 at step T):
#   dh = dL_t/dh_t + dh_next       {dl}
#   do = dh * tanh(c_t)            dc = dh * o_t * (1 - tanh²(c_t)) + dc_next
#   di = dc * c~_t                 df = dc * c_(t-1)               dg = dc~ = dc * i_t
#   dz_i = di * i_t (1 - i_t)      dz_f = df * f_t (1 - f_t)       dz_o = do * o_t (1 - o_t)      dz_g = dg * (1 - c~_t²)
#   dc_prev = dc * f_t             dh_prev = Σ_k W_hkᵀ dz_k        dx = Σ_k W_ikᵀ dz_k    (k = i, f, o, c)
#   dW_ik = Σ_t dz_k x_tᵀ          dW_hk = Σ_t dz_k h_(t-1)ᵀ       db_ik = Σ_t dz_k
# Round 1 - tanh²(c_t), i_t (1 - i_t), ... on their own lines too; a sum of products (dh_prev, dx, a dW
# entry over the steps) once, at its end. The key, worked line by line: lstmkit explain KEY --round {d} --grad
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
    loss = doc.get("exercise", {}).get("loss")
    if key_of is None and loss:
        dl = {"xent": "dL_t/dh_t = y_t - onehot(target_t): the loss is L = Σ_t -log y_t[target_t]",
              "sum_h": "dL_t/dh_t = 1 at step T, else 0: the loss is L = Σ_j h_T[j]"}[loss]
        lines[0] += GRAD_HEADER.format(dl=dl, d=doc["exercise"].get("decimals", 1))
        lines[0] += ("# Names: dg = dc~, dz_g = dz_c~; dh_prev goes back as dh_next of step t-1; loss (no step) is L;\n"
                     "# dW_ii is dL/dW_ii (rows and columns as W_ii), db_ii = dL/db_ii (= dL/db_hi).\n")
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
