"""``lstmkit memory``: the seeds' claim measured on the command line. A tanh RNN and an LSTM with the
same hidden size (not the same parameter count: 452 and 1604 with the defaults; the LSTM's forget
gate initialised open) are trained the same way, on several seeds, to recall a symbol across ``lag``
distractors; the table shows accuracy against the lag (mean over the seeds and its range) and how
far back the gradient of the last step's loss reaches: at the symbol at init, the median over the
seeds and their range; trained, over the distractors', the range over the seeds; the curve over k,
the first seed's (:mod:`lstmkit.memory`)."""

from __future__ import annotations

import argparse
import inspect
import json
import time

from .._checks import count
from ..memory import run_memory_experiment
from ._options import integer, number, positive

HELP = ("compare an LSTM (forget gate initialised open) and a simple RNN on recall against the lag, over several seeds: "
        "accuracy and gradient")
EXAMPLE = "lstmkit memory --lags 2,5,10,20,30 --steps 500 --plot memory.png --json memory.json"

#: whose errors name this command's options instead of their arguments (lstmkit.commands._options.name_options)
OWNERS = ("run_memory_experiment",)
OPTIONS = {"n_symbols": "--symbols", "steps": "--steps", "lr": "--lr", "n_test": "--n-test", "seeds": "--seeds"}

#: the library's defaults, which the options take as theirs: "with the defaults" means one run, typed or called
DEFAULTS = {name: p.default for name, p in inspect.signature(run_memory_experiment).parameters.items()}


def _lags(text: str) -> list[int]:
    try:
        lags = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0, got {text!r}") from None
    if not lags or min(lags) < 0:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers >= 0, got {text!r}")
    return lags


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--lags", type=_lags, default=list(d["lags"]), metavar="K,K,...",
                   help=f"distractor steps between the symbol and the question (default {','.join(map(str, d['lags']))})")  # fmt: skip
    p.add_argument("--symbols", type=integer(2), default=d["n_symbols"], help="alphabet size; chance is 1/symbols (default %(default)s)")
    p.add_argument("--hidden-size", type=integer(1), default=d["hidden_size"], help="hidden units of both networks (default %(default)s)")
    p.add_argument("--steps", type=integer(1), default=d["steps"], help="Adam updates per network and lag (default %(default)s)")
    p.add_argument("--batch-size", type=integer(1), default=d["batch_size"], help="fresh sequences per Adam update (default %(default)s)")
    p.add_argument("--lr", type=positive, default=d["lr"], help="Adam's learning rate (default %(default)s)")
    p.add_argument("--clip", type=positive, default=d["clip"], help="gradient-norm clipping (default %(default)s)")
    p.add_argument("--n-test", type=integer(1), default=d["n_test"], help="fresh test sequences per lag (default %(default)s)")
    p.add_argument("--forget-bias", type=number, default=d["forget_bias"],
                   help="the LSTM's initial forget-gate bias b_if + b_hf, f_t starting near sigmoid(value) (default %(default)s; "
                        "at lag 30 on seeds 0-13, 3.0 recalled every symbol on 9, 1.0 on none; 0, no opening, failed from lag 20 on "
                        "seeds 0-2, at lag 10 on two of them)")  # fmt: skip
    p.add_argument("--seed", type=int, default=d["seed"],
                   help="random seed of the data and both networks' initialisation: the first seed, the last run (--seed + --seeds - 1) "
                        "at most 2**63 - 1 (default %(default)s)")
    p.add_argument("--seeds", type=integer(1), default=d["seeds"],
                   help="how many seeds to run, --seed, --seed + 1, ...: the accuracy is their mean, its range beside it; "
                        "the gradient at the symbol at init their median and range, trained over the distractors' their "
                        "range; the gradient curve over k the first seed's (default %(default)s)")  # fmt: skip
    p.add_argument("--plot", help="write a figure (.png, .pdf or .svg): accuracy against the lag, gradient norm against k, "
                        "the gradient at the symbol against the lag, and what to read in them (matplotlib)")  # fmt: skip
    p.add_argument("--json", help="write the figures (accuracy, seconds, gradient norms, settings) to this JSON file")


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    r = run_memory_experiment(
        lags=args.lags, n_symbols=args.symbols, hidden_size=args.hidden_size, steps=args.steps,
        batch_size=args.batch_size, lr=args.lr, clip=args.clip, n_test=args.n_test,
        forget_bias=args.forget_bias, seed=args.seed, seeds=args.seeds,
    )  # fmt: skip
    print(r.table())
    seconds = time.perf_counter() - t0  # the table's 's' columns: one network trained and tested at one lag, all seeds
    print(f"\nthe whole experiment took {seconds:.1f} s (both networks trained and tested at {count(len(r.lags), 'lag')} "
          f"on {count(len(r.seeds), 'seed')}, their gradients measured at each)")  # fmt: skip
    if args.plot:
        r.plot(args.plot)
        print(f"plot written to {args.plot}")
    if args.json:
        from ..io import atomic_write_bytes

        text = json.dumps(r.to_dict(), indent=1, allow_nan=False)
        atomic_write_bytes(args.json, lambda f: f.write((text + "\n").encode("utf-8")))
        print(f"figures written to {args.json}")
    return 0
