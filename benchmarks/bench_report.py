"""The benchmark's report: the Markdown tables, the issue's targets checked, the plot of time against T and H."""

from __future__ import annotations


def plot(sw: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, axis, fixed in ((axes[0], "T", "B=16 I=64 H=64"), (axes[1], "H", "T=100 B=16 I=64")):
        xs = sorted(sw[axis], key=float)
        for impl, style in (("lstmkit", "o-"), ("numpy", "s--"), ("torch", "^-")):
            ax.plot([float(v) for v in xs], [sw[axis][v][impl] for v in xs], style, label={"lstmkit": "lstmkit (numba)", "numpy": "lstmkit (numpy reference)"}.get(impl, impl))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks([float(v) for v in xs], [str(v) for v in xs])  # the swept values, no minor labels
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(axis)
        ax.set_ylabel("forward + backward, ms (median)")
        ax.set_title(f"time against {axis} ({fixed})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- report ---------------------------------------------------------------------------------------
def _f(v, fmt="{:.3g}"):
    return "—" if v is None else fmt.format(v)


def _frozen_floor(ms: dict) -> float:
    """The floor of inference through lstm.freeze(): its own where the units are split (the weights
    packed once, before), else the forward's (a frozen LSTM makes the same products)."""
    return ms.get("floor frozen fwd", ms["floor fwd"])


def targets(res: dict) -> list[tuple[str, str, str, bool]]:
    """The engine targets of issue 6, checked against this run: (target, case, measured, met)."""
    out = []
    for r in res["cases"]:
        c, ms = r["case"], r["ms"]
        name = c["name"]
        tiny = c["B"] <= 4 and c["H"] <= 64
        if tiny and "lstmkit train" in ms:
            q = ms["lstmkit train"] / ms["torch train"]
            out.append(("≥5x faster than torch, forward+backward", name, f"lstmkit/torch {q:.2f}", q <= 0.2))
        if tiny:
            q = ms["lstmkit fwd"] / ms["onnxruntime fwd"]
            out.append(("faster than onnxruntime, inference", name, f"lstmkit/ort {q:.2f}", q < 1))
            if "lstmkit frozen fwd" in ms:
                q = ms["lstmkit frozen fwd"] / ms["onnxruntime fwd"]
                out.append(("faster than onnxruntime, inference, `lstm.freeze()`", name, f"lstmkit/ort {q:.2f}", q < 1))
        if c["T"] >= 1000:
            for k in ("fwd", "train"):
                q = ms[f"lstmkit {k}"] / ms[f"torch {k}"]
                out.append((f"faster than torch, {k} (long)", name, f"lstmkit/torch {q:.2f}", q < 1))
        if c["B"] * c["H"] >= 32 * 128 and not c["streaming"]:
            for k in ("fwd", "train"):
                if f"lstmkit {k}" not in ms:
                    continue
                q = ms[f"lstmkit {k}"] / ms[f"torch {k}"]
                out.append((f"within 1.1x of torch, {k} (medium/large)", name, f"lstmkit/torch {q:.2f}", q <= 1.1))
                outside = 1 - ms[f"floor {k}"] / ms[f"lstmkit {k}"]
                note = "" if outside >= 0 else " (floor slower than lstmkit: noise)"
                out.append((f"under 10% outside the products, {k}", name, f"{outside:.0%}{note}", 0 <= outside < 0.1))
            if "lstmkit frozen fwd" in ms:  # the same two targets, inference through lstm.freeze()
                q, outside = ms["lstmkit frozen fwd"] / ms["torch fwd"], 1 - _frozen_floor(ms) / ms["lstmkit frozen fwd"]
                out.append(("within 1.1x of torch, fwd, `lstm.freeze()`", name, f"lstmkit/torch {q:.2f}", q <= 1.1))
                out.append(("under 10% outside the products, fwd, `lstm.freeze()`", name, f"{outside:.0%}", 0 <= outside < 0.1))
        if "inference_cache_is_none" in r:
            out.append(("inference keeps no per-step activations", name, "no cache after no_grad forward" if r["inference_cache_is_none"] else "a cache is kept", r["inference_cache_is_none"]))
        if "saved_MiB" in r:
            m = r["saved_MiB"]
            out.append(("training memory ≤ torch's", name, f"{m['lstmkit']:.2f} vs {m['torch']:.2f} MiB", m["lstmkit"] <= m["torch"]))
    return out


def _host_lines(res: dict) -> list[str]:
    """One line: how much of its cores the host gave before each case (bench_lstm.host_probe)."""
    probes = [(r["case"]["name"], r["host"]) for r in res["cases"] if r.get("host")]
    if not probes:
        return []
    n = res["environment"]["threads"]
    def one(name, h):
        per = h.get("GFLOP/s per thread")
        each = f"; each {' / '.join(f'{v:.0f}' for v in per)}" if per else ""
        return f"{name} {h['scaling']:.2f}x ({h['GFLOP/s 1 thread']:.0f} → {h[f'GFLOP/s {n} threads']:.0f}{each})"

    return ["", f"Cores the host gave, measured before each case (lstmkit's packed kernel in L1: GFLOP/s on one thread → "
                f"on {n} at once, each on its own operands, as a call waits for its slowest thread; then each thread's own, "
                f"slowest first; {n:.2f}x = {n} full cores): {', '.join(one(name, h) for name, h in probes)}. "
                "Every multi-threaded time in the tables moves with it."]


def _pause_lines(res: dict) -> list:
    """The calls-after-a-pause table: each median, and over the same call's median back to back
    (the tables above) where this run timed that case."""
    p = res["pauses"]
    back = {r["case"]["name"]: r["ms"] for r in res["cases"]}
    lines = [
        "",
        f"## Calls after a pause ({p['pause_ms']:.0f} ms idle before each call)",
        "",
        "Each implementation called once after each pause, in turn, medians in ms (in brackets: over the same "
        "call back to back, in the tables above). A server between requests, or a training loop loading its "
        "next batch, calls this way. lstmkit unplaced: its pool threads placed by the system's scheduler alone "
        "(`lstmkit.threads._off_callers_cpu` off), as before 6b3346c.",
        "",
        "| case | call | lstmkit | lstmkit unplaced | torch | onnxruntime | lstmkit/torch |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, ms in p["cases"].items():
        for kind in ("fwd", "train"):
            def cell(who, kind=kind, ms=ms, name=name):
                k = f"{who} {kind}"
                if k not in ms:
                    return "—"
                was = back.get(name, {}).get(k.replace(" unplaced", ""))
                return f"{ms[k]:.3f}" + (f" ({ms[k] / was:.2f}x)" if was else "")

            ratio = ms[f"lstmkit {kind}"] / ms[f"torch {kind}"]
            lines.append(f"| {name} | {'inference' if kind == 'fwd' else 'training'} | {cell('lstmkit')} "
                         f"| {cell('lstmkit unplaced')} | {cell('torch')} | {cell('onnxruntime')} | {ratio:.2f} |")  # fmt: skip
    return lines


def markdown(res: dict) -> str:
    env = res["environment"]
    lines = [
        "# lstmkit vs torch.nn.LSTM vs ONNX Runtime (float32)",
        "",
        f"{env['date']} · {env['cpu']} · {env['cores']} cores · {env['threads']} threads everywhere · "
        f"load average before/after {env['load_before']} / {env['load_after']}"
        + (" · **--quick** (few repetitions)" if env["quick"] else "")
        + (f" · OPENBLAS_THREAD_TIMEOUT={env['OPENBLAS_THREAD_TIMEOUT']}" if env.get("OPENBLAS_THREAD_TIMEOUT", "default") != "default" else ""),
        "",
        f"numpy {env['numpy']}, numba {env['numba']}, torch {env['torch']}, onnxruntime {env['onnxruntime']}, Python {env['python']}."
        + (f" NumPy's OpenBLAS runs its {env['openblas_core']} kernels (OPENBLAS_CORETYPE {env['OPENBLAS_CORETYPE']}): "
           "NumPy's matmul, the GEMM ceiling and lstmkit's BLAS products (an unsplit batch's input projection, "
           "dX and weight gradients) run on them; lstmkit's per-step products, and a split batch's input projection, "
           "dX and dW_ih, dW_hh, run on its own AVX-512 kernel (packed_gemm)." if "openblas_core" in env else ""),
        *(
            ["", f"**Warning: the machine was busy (1-min load average {env['load_before'].split()[0]} before the run, "
                 f"on {env['cores']} cores).** Multi-threaded BLAS and OpenMP "
                 "slow down by large, erratic factors when other processes share the cores; rerun on a quiet machine.", ""]
            # the load before the run only: the one after counts the benchmark's own threads
            if float(env["load_before"].split()[0]) > 0.5 * env["threads"]
            else [""]
        ),
        f"GEMM ceiling (NumPy matmul {tuple(res['ceiling']['shape'])}): **{res['ceiling']['GFLOP/s']:.1f} GFLOP/s**.",
        *_host_lines(res),
        "",
        "Times are medians in ms" + (f" of {env['rounds']} rounds of turns" if "rounds" in env else "")
        + " (spread = IQR/median in brackets). lstmkit = fast path (`backend='numba'`); "
        "numpy = the readable reference (`backend='numpy'`). Ratios < 1 mean lstmkit is faster. "
        "Floor = lstmkit's own matrix products alone, their operands packed as lstmkit packs them in each call (as a BLAS call packs its own); outside = share of lstmkit's time spent outside them; "
        "overhead = (lstmkit − floor) per step per layer and direction.",
        "",
        "## Inference (forward)",
        "",
        "| case | shape | lstmkit | numpy | torch | onnxruntime | lstmkit/torch | lstmkit/ort | GFLOP/s | floor | outside | overhead µs/step |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["cases"]:
        ms, sp = r["ms"], r["spread"]
        cell = lambda k: f"{ms[k]:.3f} ({sp[k]:.0%})" if k in ms else "—"  # noqa: E731
        c = r["case"]
        T_steps = c["T"] * c["L"] * c["D"]
        fl = ms.get("floor fwd")
        lines.append(
            f"| {c['name']} | {r['label']} | {cell('lstmkit fwd')} | {cell('numpy fwd')} | {cell('torch fwd')} | {cell('onnxruntime fwd')} "
            f"| {ms['lstmkit fwd'] / ms['torch fwd']:.2f} | {ms['lstmkit fwd'] / ms['onnxruntime fwd']:.2f} "
            f"| {r['gflops']['lstmkit fwd']:.2f} | {_f(fl, '{:.3f}')} "
            f"| {_f(None if fl is None else 1 - fl / ms['lstmkit fwd'], '{:.0%}')} "
            f"| {_f(None if fl is None else (ms['lstmkit fwd'] - fl) * 1e3 / T_steps, '{:.1f}')} |"
        )
    lines += [
        "",
        "Step-by-step cases: the time is for all T steps, one call per step (B=1). lstmkit and numpy: "
        "`LSTMStream.step` (`lstm.stream()`, the state kept in the stream); torch: the module on (1, 1, I) with the "
        "state passed back; onnxruntime: `session.run` with the state passed back.",
    ]
    for r in res["cases"]:
        if "lstmkit forward-per-step fwd" in r["ms"]:
            per = r["ms"]["lstmkit forward-per-step fwd"]
            lines.append(
                f"- {r['case']['name']}: lstmkit's `LSTM.forward` called per step instead (state passed back, like torch): "
                f"{per:.3f} ms, {per / r['ms']['torch fwd']:.2f}x torch, {per / r['ms']['onnxruntime fwd']:.2f}x onnxruntime."
            )
    frozen = [r for r in res["cases"] if "lstmkit frozen fwd" in r["ms"]]
    if frozen:
        lines += ["", "Inference through `lstm.freeze()` (a `FrozenLSTM`: the weights copied once, the bias sums and, for a "
                  "layer whose hidden units are split over the threads, the packed weights kept, as an onnxruntime session "
                  "prepares its model when it is made; `LSTM.forward` in `no_grad` makes them on every call), in the same run:"]
        for r in frozen:
            ms, sp = r["ms"], r["spread"]
            z, fl = ms["lstmkit frozen fwd"], _frozen_floor(ms)
            own = " (the products on weights packed before the call)" if "floor frozen fwd" in ms else ""
            lines.append(f"- {r['case']['name']}: {z:.3f} ms ({sp['lstmkit frozen fwd']:.0%}), {z / ms['lstmkit fwd']:.2f}x `LSTM.forward`, "
                         f"{z / ms['torch fwd']:.2f}x torch, {z / ms['onnxruntime fwd']:.2f}x onnxruntime; floor{own} "
                         f"{fl:.3f} ms, outside it {1 - fl / z:.0%}.")
    one = [r for r in res["cases"] if "lstmkit 1-thread fwd" in r["ms"]]
    if one:
        lines += ["", f"lstmkit above runs with `lstmkit.set_num_threads({res['environment']['threads']})`; with its default, `set_num_threads(1)` (one block, "
                  "the products on NumPy's BLAS threads), in the same run:"]
        for r in one:
            ms = r["ms"]
            line = f"- {r['case']['name']}: forward {ms['lstmkit 1-thread fwd']:.3f} ms ({ms['lstmkit 1-thread fwd'] / ms['torch fwd']:.2f}x torch)"
            if "lstmkit 1-thread train" in ms:
                line += f", training {ms['lstmkit 1-thread train']:.3f} ms ({ms['lstmkit 1-thread train'] / ms['torch train']:.2f}x torch)"
            lines.append(line + ".")
    lines += [
        "",
        "## Training (forward + backward of sum(y·w), dx included)",
        "",
        "| case | shape | lstmkit | numpy | torch | lstmkit/torch | numpy/torch | GFLOP/s | floor | outside | overhead µs/step | kept MiB lstmkit / numpy / torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["cases"]:
        ms, sp, c = r["ms"], r["spread"], r["case"]
        if "lstmkit train" not in ms:
            continue
        cell = lambda k: f"{ms[k]:.3f} ({sp[k]:.0%})"  # noqa: E731
        fl = ms["floor train"]
        T_steps = c["T"] * c["L"] * c["D"]
        mem = r["saved_MiB"]
        lines.append(
            f"| {c['name']} | {r['label']} | {cell('lstmkit train')} | {cell('numpy train')} | {cell('torch train')} "
            f"| {ms['lstmkit train'] / ms['torch train']:.2f} | {ms['numpy train'] / ms['torch train']:.2f} "
            f"| {r['gflops']['lstmkit train']:.2f} | {fl:.3f} | {1 - fl / ms['lstmkit train']:.0%} "
            f"| {(ms['lstmkit train'] - fl) * 1e3 / T_steps:.1f} "
            f"| {mem['lstmkit']:.2f} / {mem['numpy']:.2f} / {mem['torch']:.2f} |"
        )
    lines += ["", "## Issue 6 targets, as measured in this run", "", "| target | case | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t} | {c} | {m} | {'yes' if ok else '**no**'} |" for t, c, m, ok in targets(res)]
    lines += ["", "## Validation (max relative difference before timing; the run stops above 1e-4)", ""]
    for r in res["cases"]:
        lines.append(f"- {r['case']['name']}: " + ", ".join(f"{k} {v:.1e}" for k, v in r["validation"].items()))
    if res.get("pauses"):
        lines += _pause_lines(res)
    if res.get("sweep"):
        lines += ["", "## Time against T and H (forward + backward, ms)", "", "![time against T and H](bench_lstm.png)", ""]
        for axis in ("T", "H"):
            lines += [f"| {axis} | lstmkit | numpy | torch | lstmkit/torch |", "|---|---|---|---|---|"]
            for val, t in res["sweep"][axis].items():
                lines.append(f"| {val} | {t['lstmkit']:.3f} | {t['numpy']:.3f} | {t['torch']:.3f} | {t['lstmkit'] / t['torch']:.2f} |")
            lines.append("")
    return "\n".join(lines) + "\n"
