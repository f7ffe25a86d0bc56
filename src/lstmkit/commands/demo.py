"""``lstmkit demo``: the main job end to end, writing its results to an output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

HELP = "run the seed examples end to end and write results to an output folder"
EXAMPLE = "lstmkit demo --out out/demo"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")


def seed000_report() -> str:
    """Seed 000's worked example, A A B, every gate, c, h and the softmax read-out, exact."""
    from ..functional import softmax
    from ..seeds import SEED000_SEQUENCE, SEED000_TARGETS, seed000_cell, seed000_inputs

    cell = seed000_cell()
    xs = seed000_inputs()
    h = c = np.zeros(2)
    lines = ["Seed 000: two-unit LSTM on A, A, B (all biases 0), y_t = softmax(h_t)", ""]
    fmt = lambda v: "[" + ", ".join(f"{x:+.4f}" for x in np.ravel(v)) + "]"  # noqa: E731
    correct = 0
    for t, (ch, x) in enumerate(zip(SEED000_SEQUENCE, xs), start=1):
        s = cell.step(x[None], (h[None], c[None]))
        y = softmax(s.h[0])
        pred = int(np.argmax(y))
        correct += pred == SEED000_TARGETS[t - 1]
        lines += [
            f"t={t}  x={ch} {fmt(x)}",
            f"  i = σ({fmt(s.z_i)}) = {fmt(s.i)}",
            f"  f = σ({fmt(s.z_f)}) = {fmt(s.f)}",
            f"  o = σ({fmt(s.z_o)}) = {fmt(s.o)}",
            f"  c~ = tanh({fmt(s.z_g)}) = {fmt(s.g)}",
            f"  c = f*c_prev + i*c~ = {fmt(s.c)}",
            f"  h = o*tanh(c) = {fmt(s.h)}",
            f"  y = softmax(h) = {fmt(y)} -> class {pred} (target {SEED000_TARGETS[t - 1]})",
            "",
        ]
        h, c = s.h[0], s.c[0]
    lines.append(f"per-step accuracy: {correct}/3")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = seed000_report()
    print(report)
    (out / "seed000.txt").write_text(report + "\n", encoding="utf-8")
    print(f"\nresults written to {out.resolve()}")
    return 0
