"""Training throughput: lstmkit's fit loop against the same loop in PyTorch (issue 3).

    python benchmarks/bench_training.py            # a few cases, ~1-2 minutes on 1 thread
    python benchmarks/bench_training.py --quick    # one small case

One epoch = mini-batches (B) of sequences (T steps, I features) through an LSTM (H units, L
layers), a linear read-out at the last step, softmax cross-entropy, global-norm clipping and an
Adam step. Before timing, both loops train two epochs in float64 from the same weights on the same
batches and their weights must agree to 1e-9 (a mismatch stops the run); then each is timed in
float32 (median of ``--repeats`` epochs, rounds interleaved). Reported: seconds per epoch,
sequences per second, and the share of lstmkit's epoch spent outside the model's forward and
backward (the loop's own overhead: batching, loss, clipping, optimizer).

Writes ``results/bench_training.md`` next to this file (or under ``--out``).
"""

from __future__ import annotations

import argparse
import os
import sys

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--quick", action="store_true")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
ARGS = p.parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
from lstmkit.models import SequenceModel  # noqa: E402
from lstmkit.training import Trainer  # noqa: E402

CASES = [  # (n, T, I, H, L, B, classes)
    (512, 20, 8, 32, 1, 32, 4),
    (512, 50, 8, 64, 1, 32, 4),
    (256, 50, 16, 128, 2, 32, 4),
]
if ARGS.quick:
    CASES = CASES[:1]


def torch_loop(sd, X, Y, H, L, C, B, dtype, epochs=1, lr=0.01, clip=1.0):
    import torch

    t_dtype = torch.float64 if dtype == np.float64 else torch.float32
    lstm = torch.nn.LSTM(X.shape[2], H, num_layers=L, batch_first=True, dtype=t_dtype)
    lin = torch.nn.Linear(H, C, dtype=t_dtype)
    lstm.load_state_dict({k[4:]: torch.tensor(v) for k, v in sd.items() if k.startswith("rnn.")})
    lin.load_state_dict({k[5:]: torch.tensor(v) for k, v in sd.items() if k.startswith("head.")})
    params = list(lstm.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    Xt, Yt = torch.tensor(X, dtype=t_dtype), torch.tensor(Y)

    def epoch():
        for s in range(0, len(X), B):
            _, (h_n, _) = lstm(Xt[s : s + B])
            loss = torch.nn.functional.cross_entropy(lin(h_n[-1]), Yt[s : s + B])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()

    for _ in range(epochs):
        epoch()
    return {**{f"rnn.{k}": v.detach().numpy() for k, v in lstm.state_dict().items()},
            **{f"head.{k}": v.detach().numpy() for k, v in lin.state_dict().items()}}, epoch


def ours(X, Y, H, L, C, B, dtype, seed=0):
    model = SequenceModel(X.shape[2], C, H, num_layers=L, head="last", dtype=dtype, seed=seed)
    trainer = Trainer(model, optimizer="adam", lr=0.01, clip=1.0, batch_size=B, shuffle=False, seed=0)
    return model, trainer


def main() -> None:
    import torch

    torch.set_num_threads(ARGS.threads)
    rows = []
    for n, T, I, H, L, B, C in CASES:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n, T, I))
        Y = rng.integers(0, C, size=n)
        # 1. validate in float64: two epochs, same weights, same batches
        model, trainer = ours(X, Y, H, L, C, B, np.float64)
        sd = model.state_dict()
        trainer.fit(X, Y, epochs=2)
        theirs, _ = torch_loop(sd, X, Y, H, L, C, B, np.float64, epochs=2)
        err = max(float(np.max(np.abs(v - theirs[k]))) for k, v in model.parameters().items())
        if err > 1e-9:
            sys.exit(f"mismatch against PyTorch: max |Δθ| = {err:.3g}")
        # 2. time in float32, interleaved
        X32 = X.astype(np.float32)
        model, trainer = ours(X32, Y, H, L, C, B, np.float32)
        _, torch_epoch = torch_loop(model.state_dict(), X32, Y, H, L, C, B, np.float32)
        # time spent in the model itself (forward + backward), for the loop-overhead share
        inner = {"t": 0.0}

        class Timed(SequenceModel):  # the same model, its forward and backward timed
            def forward(self, *a, **k):
                t0 = time.perf_counter()
                out = SequenceModel.forward(self, *a, **k)
                inner["t"] += time.perf_counter() - t0
                return out

            __call__ = forward

            def backward(self, *a, **k):
                t0 = time.perf_counter()
                out = SequenceModel.backward(self, *a, **k)
                inner["t"] += time.perf_counter() - t0
                return out

        model.__class__ = Timed
        t_ours, t_torch, share = [], [], []
        for r in range(ARGS.repeats + 1):
            inner["t"] = 0.0
            t0 = time.perf_counter()
            trainer.fit(X32, Y, epochs=trainer.epoch + 1)
            dt = time.perf_counter() - t0
            t0 = time.perf_counter()
            torch_epoch()
            dt_t = time.perf_counter() - t0
            if r:  # the first round warms up
                t_ours.append(dt)
                t_torch.append(dt_t)
                share.append(1 - inner["t"] / dt)
        mo, mt = float(np.median(t_ours)), float(np.median(t_torch))
        rows.append((n, T, I, H, L, B, err, mo, n / mo, mt, n / mt, mo / mt, float(np.median(share))))
        print(f"n={n} T={T} I={I} H={H} L={L} B={B}: lstmkit {mo:.3f}s/epoch, torch {mt:.3f}s/epoch "
              f"(ratio {mo / mt:.2f}), loop overhead {100 * np.median(share):.1f}%, max |Δθ| vs torch {err:.1e}")
    os.makedirs(ARGS.out, exist_ok=True)
    lines = [
        "# Training throughput: lstmkit fit loop vs the same loop in PyTorch", "",
        f"threads: {ARGS.threads}; float32; median of {ARGS.repeats} epochs; torch {torch.__version__}", "",
        "| n | T | I | H | L | B | max abs dtheta vs torch (f64, 2 epochs) | lstmkit s/epoch | seq/s | torch s/epoch | seq/s | lstmkit/torch | loop overhead |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(str(v) for v in r[:6]) + f" | {r[6]:.1e} | {r[7]:.3f} | {r[8]:.0f} | {r[9]:.3f} | {r[10]:.0f} | {r[11]:.2f} | {100 * r[12]:.1f}% |")
    path = os.path.join(ARGS.out, "bench_training.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
