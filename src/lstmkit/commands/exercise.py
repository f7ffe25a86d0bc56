"""``lstmkit exercise``: a fresh worked exercise from a seed, and its answer key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._options import ONE_FILE, add_check, integer, name_options, same_file

HELP = "generate a worked LSTM exercise to fill in (and its answer key); grade it with 'lstmkit check'"
EXAMPLE = "lstmkit exercise --seed 7 --out ex7.toml    # writes ex7.toml and ex7.key.toml"
#: the library's errors in the options' words (:func:`._options.name_options`)
OWNERS = ("exercise",)
OPTIONS = {"hidden_size": "--hidden", "input_size": "--inputs", "steps": "--steps", "loss": "--loss", "grad": "--grad",
           "decimals": "--decimals", "weight_decimals": "--weight-decimals"}


def _names(allowed_name: str):
    """An argument type: comma-separated names among the exercise module's ``allowed_name`` (one at least)."""

    def parse(text: str) -> tuple[str, ...]:
        from ..explain import exercise

        allowed = getattr(exercise, allowed_name)
        ask = tuple(a.strip() for a in text.split(",") if a.strip())
        if not ask or not set(ask) <= set(allowed):
            raise argparse.ArgumentTypeError(f"expected comma-separated names among {', '.join(allowed)}, got {text!r}")
        return ask

    return parse


_ask = _names("ASKABLE")  # --ask: the forward pass
_grad = _names("GRAD_ASKABLE")  # --grad: the backward pass


def check_loss(args: argparse.Namespace) -> None:
    """--loss by the library's one rule (:func:`lstmkit.explain.exercise.check_loss`: with --grad
    only; not xent of one hidden unit), refused in the options' words before anything is written (exit 2)."""
    from ..cli import UsageError
    from ..explain.exercise import check_loss as rule

    try:
        rule(args.loss, args.grad, args.hidden)
    except ValueError as exc:
        raise UsageError(name_options(str(exc), args.command, *args._names) or str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    by_hand = integer(1, 16, "it is done by hand")
    p.add_argument("--seed", type=int, required=True, help="the exercise number: the same seed gives the same exercise")
    p.add_argument("--hidden", type=by_hand, default=2, help="hidden units H, 1 to 16 (default 2)")
    p.add_argument("--inputs", type=by_hand, default=2, help="inputs per step I, 1 to 16 (default 2)")
    p.add_argument("--steps", type=by_hand, default=2, help="time steps T, 1 to 16 (default 2)")
    p.add_argument("--decimals", type=integer(0, 6), default=1, help="precision of the answers, 0 to 6 (default 1, as seed 000)")
    p.add_argument("--weight-decimals", type=int, default=0, choices=(0, 1, 2),
                   help="0: integer weights in [-4, 4]; 1 or 2: that many decimals in [-2, 2] (default 0)")
    p.add_argument("--ask", type=_ask, default="z,gates,c,h",
                   help="what to compute at each step, comma-separated among Wx, Wh, z, gates, c, h, y (default z,gates,c,h)")
    p.add_argument("--grad", type=_grad, nargs="?", const=True, default=(), metavar="NAMES",  # True: the default set
                   help="also ask for the backward pass (BPTT), comma-separated among loss, dh, dc, dgates (di, df, dc~, do), "
                        "dz (dz_i, dz_f, dz_c~, dz_o), dc_prev, dh_prev, dx (per step), dW, db (the weights' and biases' "
                        "gradients); --grad alone: dh,dc,dz,dW (default: none, the forward pass only)")
    p.add_argument("--loss", choices=("xent", "sum_h"), default=None,
                   help="the loss of --grad: xent, the cross-entropy of y_t = softmax(h_t) against targets drawn with the "
                        "exercise (default), or sum_h, the sum of h_T (the default with --hidden 1)")
    p.add_argument("--out", "-o", required=True, help="the exercise file to write (the key goes beside it: ex7.toml -> ex7.key.toml)")
    p.add_argument("--key", default=None, help="where to write the answer key (default: beside --out, NAME.key.SUFFIX)")
    add_check(p, check_loss)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from .._checks import count
    from ..cli import UsageError
    from ..explain.exercise import DEFAULT_GRAD, dumps, make
    from ..io import atomic_write_bytes

    grad = DEFAULT_GRAD if args.grad is True else args.grad
    exercise, key = make(args.seed, args.hidden, args.inputs, args.steps, args.decimals, args.weight_decimals, args.ask,
                         grad=grad, loss=args.loss)
    out = Path(args.out)
    key_path = Path(args.key) if args.key else out.with_name(out.stem + ".key" + (out.suffix or ".toml"))
    if same_file(key_path, out):  # before anything is written
        raise UsageError(f"exercise: expected --key a different file from --out, got --out {out} and --key {key_path}, "
                         f"{ONE_FILE}. Give --key another name.")  # fmt: skip
    for path, doc, key_of in ((out, exercise, None), (key_path, key, out.name)):
        data = dumps(doc, path.name, key_of).encode("utf-8")
        atomic_write_bytes(path, lambda f, data=data: f.write(data))
    n = sum(np.size(c["value"]) for c in exercise["claims"])
    print(f"exercise written to {out} ({count(n, 'number')} to compute), answer key to {key_path}", file=sys.stderr)
    print(f"grade a filled-in copy with: lstmkit check {out}", file=sys.stderr)
    return 0
