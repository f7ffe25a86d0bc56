"""``lstmkit exercise``: a fresh worked exercise from a seed, and its answer key."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "generate a worked LSTM exercise to fill in (and its answer key); grade it with 'lstmkit check'"
EXAMPLE = "lstmkit exercise --seed 7 --out ex7.toml    # writes ex7.toml and ex7.key.toml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, required=True, help="the exercise number: the same seed gives the same exercise")
    p.add_argument("--hidden", type=int, default=2, help="hidden units H (default 2)")
    p.add_argument("--inputs", type=int, default=2, help="inputs per step I (default 2)")
    p.add_argument("--steps", type=int, default=2, help="time steps T (default 2)")
    p.add_argument("--decimals", type=int, default=1, help="precision of the answers (default 1, as seed 000)")
    p.add_argument("--weight-decimals", type=int, default=0, choices=(0, 1, 2),
                   help="0: integer weights in [-4, 4] (default); 1 or 2: that many decimals in [-2, 2]")
    p.add_argument("--ask", default="z,gates,c,h",
                   help="what to compute at each step, comma-separated among Wx, Wh, z, gates, c, h, y (default z,gates,c,h)")
    p.add_argument("--out", "-o", required=True, help="the exercise file to write (the key goes beside it: ex7.toml -> ex7.key.toml)")
    p.add_argument("--key", default=None, help="where to write the answer key (default: beside --out, NAME.key.SUFFIX)")


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from ..explain.exercise import dumps, make
    from ..io import atomic_write_bytes

    ask = tuple(a.strip() for a in args.ask.split(",") if a.strip())
    if not 0 <= args.decimals <= 6:
        raise UsageError(f"exercise: expected --decimals between 0 and 6, got {args.decimals}.")
    for name in ("hidden", "inputs", "steps"):
        v = getattr(args, name)
        if not 1 <= v <= 16:
            raise UsageError(f"exercise: expected --{name} between 1 and 16 (it is done by hand), got {v}.")
    exercise, key = make(args.seed, args.hidden, args.inputs, args.steps, args.decimals, args.weight_decimals, ask)
    out = Path(args.out)
    key_path = Path(args.key) if args.key else out.with_name(out.stem + ".key" + (out.suffix or ".toml"))
    if key_path.resolve() == out.resolve():
        raise UsageError(f"exercise: expected --key different from --out, got {key_path} for both.")
    for path, doc, key_of in ((out, exercise, None), (key_path, key, out.name)):
        data = dumps(doc, path.name, key_of).encode("utf-8")
        atomic_write_bytes(path, lambda f, data=data: f.write(data))
    n = len(exercise["claims"])
    print(f"exercise written to {out} ({n} vector(s) of {args.hidden} number(s) to compute), answer key to {key_path}",
          file=sys.stderr)
    print(f"grade a filled-in copy with: lstmkit check {out}", file=sys.stderr)
    return 0
