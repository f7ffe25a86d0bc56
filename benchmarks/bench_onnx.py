"""The ONNX graph of a stacked LSTM for the benchmark, built with ``onnx.helper`` (kept local to benchmarks/).

torch packs the gates i, f, g, o; ONNX's LSTM operator packs i, o, f, c with W (D, 4H, I), R (D, 4H, H)
and B (D, 8H) = [Wb, Rb]; layers are chained by Transpose + Reshape, initial states sliced per layer.
"""

from __future__ import annotations

import numpy as np


def make_onnx_session(case, state: dict, threads: int, T: int):
    """An ONNX Runtime session of the stacked LSTM of ``case`` (a bench_lstm.Case), ``state``'s weights.

    Graph: X (T, B, I), h0/c0 (L*D, B, H) -> Y (T, B, D*H), h_n, c_n (L*D, B, H). ``threads`` intra-op
    threads, one inter-op thread, no spinning.
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    H, L, D, B = case.H, case.L, case.D, case.B

    def iofc(w):  # torch rows (i, f, g, o) -> ONNX rows (i, o, f, c)
        return np.concatenate([w[0:H], w[3 * H : 4 * H], w[H : 2 * H], w[2 * H : 3 * H]])

    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    cur = "X"
    for layer in range(L):
        sfx = [f"_l{layer}" + ("_reverse" if d else "") for d in range(D)]
        W = const(f"W{layer}", np.stack([iofc(state[f"weight_ih{s}"]) for s in sfx]))
        R = const(f"R{layer}", np.stack([iofc(state[f"weight_hh{s}"]) for s in sfx]))
        Bb = const(f"B{layer}", np.stack([np.concatenate([iofc(state[f"bias_ih{s}"]), iofc(state[f"bias_hh{s}"])]) for s in sfx]))
        rows = (const(f"s{layer}", np.array([layer * D])), const(f"e{layer}", np.array([(layer + 1) * D])), const(f"a{layer}", np.array([0])))
        nodes.append(helper.make_node("Slice", ["h0", *rows], [f"h0_{layer}"]))
        nodes.append(helper.make_node("Slice", ["c0", *rows], [f"c0_{layer}"]))
        nodes.append(
            helper.make_node(
                "LSTM", [cur, W, R, Bb, "", f"h0_{layer}", f"c0_{layer}"], [f"Y{layer}", f"Yh{layer}", f"Yc{layer}"],
                hidden_size=H, direction="bidirectional" if D == 2 else "forward",
            )
        )  # fmt: skip
        nodes.append(helper.make_node("Transpose", [f"Y{layer}"], [f"Yt{layer}"], perm=[0, 2, 1, 3]))  # (T, B, D, H)
        shape = const(f"shape{layer}", np.array([0, 0, -1], dtype=np.int64))
        cur = "Y" if layer == L - 1 else f"X{layer + 1}"
        nodes.append(helper.make_node("Reshape", [f"Yt{layer}", shape], [cur]))  # (T, B, D*H)
    nodes.append(helper.make_node("Concat", [f"Yh{layer}" for layer in range(L)], ["h_n"], axis=0))
    nodes.append(helper.make_node("Concat", [f"Yc{layer}" for layer in range(L)], ["c_n"], axis=0))
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, "lstm",
        [helper.make_tensor_value_info("X", f32, [T, B, case.I]),
         helper.make_tensor_value_info("h0", f32, [L * D, B, H]),
         helper.make_tensor_value_info("c0", f32, [L * D, B, H])],
        [helper.make_tensor_value_info("Y", f32, [T, B, D * H]),
         helper.make_tensor_value_info("h_n", f32, [L * D, B, H]),
         helper.make_tensor_value_info("c_n", f32, [L * D, B, H])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ORT's worker threads spin after each run by default; in a process where other libraries
    # take turns on the same cores that spinning steals their time (torch measured 100x slower).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
