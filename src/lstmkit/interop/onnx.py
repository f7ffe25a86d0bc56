"""ONNX <-> lstmkit: export to the standard ``LSTM``/``RNN`` operators, import of an ``LSTM`` node.

Export (:func:`to_onnx`): one ONNX ``LSTM`` node per layer (``RNN`` for :class:`lstmkit.RNN`),
weights as initializers converted by :func:`lstmkit.layout.to_onnx` (gate order i, o, f, c; B =
[Wb, Rb]; peepholes P ordered i, o, f). The graph, for L layers, D directions, H hidden::

    inputs   x (T, B, I)  [(B, T, I) with batch_first]   T and B symbolic
             lengths (B,) int32                  only with ``lengths=True`` -> every sequence_lens
             h0 (L*D, B, H), c0 (L*D, B, H)      only with ``initial_state=True``
    layer l  Y_l (T, D, B, H) = LSTM(x_l, W_l, R_l, B_l, lengths, h0[lD:(l+1)D], c0[...])
             x_{l+1} = Reshape(Transpose(Y_l, (0, 2, 1, 3)), (T, B, D*H))
    outputs  y (T, B, D*H)  or, with a read-out, out = y W^T + b  (T, B, O)   (batch_first: B first)
             (a SequenceModel / estimator: always ``out``; (B, O) with head="last")
             h_n, c_n (L*D, B, H) = Concat over layers of Y_h, Y_c  (row l*D + d, as lstmkit)

Export is float32 (onnxruntime's LSTM kernel has no float64). Variants: ``peephole`` -> P,
``input_forget`` -> input_forget, ``gate_clip`` -> clip, ``activations`` -> activations with
activation_alpha/beta; the training-only regularisers (dropout_input, dropout_recurrent,
dropconnect, dropout between layers) are identity at inference and are dropped; proj_size,
layer_norm, cell_clip and zoneout have no ONNX operator equivalent and are refused by name.

Import (:func:`lstm_from_node`): an ``LSTM`` node with constant W, R [, B, P] becomes an
:class:`OnnxLSTM` that runs the node in lstmkit with the operator's conventions (sequence_lens,
initial_h/initial_c, the node's own when constant, direction forward / reverse / bidirectional,
layout 0/1, clip, input_forget, activations with alpha/beta); every input's shape is checked
against direction and hidden_size as the operator defines them. :func:`model_from_onnx` reads a whole graph that is a stack of LSTM
(or RNN) nodes with an optional MatMul[+Add] read-out — such as :func:`to_onnx` writes — back into
an lstmkit module and read-out applied at every step; :func:`sequence_model_from_onnx` reads the
same graphs into a :class:`lstmkit.SequenceModel`, and also those whose output reads the last
layer's ``Y_h`` (a SequenceModel's head="last", as :func:`to_onnx` writes it) and those that take
token ids (the ids' ``Gather`` table folded into layer 0's W: to_onnx's identity, or the weight of
an ``nn.Embedding`` exported by torch). What the graph's first output holds is found by running
its glue ops (Transpose, Reshape, Gather, Slice, Squeeze, Concat, ...) on the ids of the recurrent
nodes' elements (:class:`_Plumbing`): the last node's Y (every step), or its final states, however
they are picked (``Y_h``; torch's ``fc(h_n[-1])`` of a one-direction LSTM of any depth,
``h_n.squeeze(0)``, ``y[:, -1]``, time major ``y[-1]``, a bidirectional one's ``torch.cat((h_n[-2],
h_n[-1]), 1)``). Anything else (the cell state, an earlier node or layer such as ``h_n[0]``, other
steps, a bidirectional ``h_n[-1]``, its backward direction alone, or ``y[:, -1]``, its backward
direction after one step), a MatMul/Gemm/Add/Mul off that path (a Linear before the LSTM) and nodes
that do not chain x -> node 0 -> node 1 ... are refused by both, saying what was picked, rather than
read as another model. x's free axes are traced at stand-in sizes sharing no factor with the sizes
in the graph's Reshape/Expand shapes (T=2, B=4 for x (T, B, 3) where those sizes are odd; else the
first such of 6, 7, 8, 9 and the primes from 11); a node that fixes one of them at a size (torch's dynamo export of a
time-major ``y[-1]`` reshapes Y to the example's T, 2, 4, 5 or 8, while x declares T free: onnxruntime
refuses T=7) is refused at the stand-ins, and read at the size of those shapes at which the whole graph
reads, with a warning naming the file, the node and the size (``OnnxGraph.fixed``); a node that runs at none, or not at x's
declared sizes, is refused, naming the node, its inputs and numpy's words. The MatMul, Gemm (torch's
Linear: ``alpha``, ``beta`` and ``transB`` read, ``transA`` refused), Add and Mul on the path are one
read-out (a regressor's ``* y_scale + y_mean`` folded into its Linear). A softmax over the last axis is read where a classifier has
it: making the first output (torch's ``softmax(fc(y))``: the model returned computes the logits
before it, and a warning says so) or another output from the first (to_onnx's ``proba`` beside
``out``, with the classes in the metadata). :func:`read_onnx` returns all of it, the softmax and
classes included (``lstmkit convert`` names them). onnx is imported inside the functions; without
it, a ModuleNotFoundError (``name="onnx"``) gives the pip line that installs it.

A graph whose output is the last node's own ``Y`` or ``Y_h``, with no Transpose/Reshape after it, is
read as the model computing those values, but arranged as every lstmkit model's output is, not as
the operator's: Y (T, D, B, H) (layout=1: (B, T, D, H)) is lstmkit's y (T, B, D*H) (batch first:
(B, T, D*H)), each step's directions side by side; Y_h (D, B, H) (layout=1: (B, D, H)) is head="last"'s
(B, D*H). Bidirectional, the two hold the same numbers in another order (a reshape of one to the
other's shape, without the transpose, mixes them up); :func:`model_from_onnx` and
:func:`sequence_model_from_onnx` warn, giving the expression that takes the model's output to the
graph's, and :func:`read_onnx` says it in ``OnnxGraph.raw_output``.

Activation parameters follow onnxruntime: ``activation_alpha`` values are taken, in order, by the
activations that have an alpha (HardSigmoid, LeakyRelu, ThresholdedRelu, ScaledTanh, Affine, Elu),
``activation_beta`` by those with a beta (HardSigmoid, ScaledTanh, Affine); missing ones default.
"""

from __future__ import annotations

import json
import os
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from .. import layout
from .._checks import LstmkitWarning, cast_float, check_float_array, check_lengths, fail, float_range, message, optional_import, overflow_at
from ..modelfile import _readout_arrays, readout_mapping
from ..recurrent import LSTM, RNN, _reverse, _reverse_index

#: onnx opset and IR version written (IR 8 is read by onnxruntime >= 1.14)
OPSET = 17
IR_VERSION = 8
#: lstmkit activation name -> ONNX name
ONNX_ACTIVATION = {
    "sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "affine": "Affine", "leaky_relu": "LeakyRelu",
    "thresholded_relu": "ThresholdedRelu", "scaled_tanh": "ScaledTanh", "hard_sigmoid": "HardSigmoid",
    "elu": "Elu", "softsign": "Softsign", "softplus": "Softplus",
}  # fmt: skip
#: LSTM options that change inference and have no ONNX equivalent
_NOT_EXPORTABLE = ("layer_norm", "cell_clip", "zoneout_cell", "zoneout_hidden")


# -- export -------------------------------------------------------------------------------------
def _activation_attrs(acts, D: int) -> dict:
    """(f, g, h) specs -> ONNX ``activations`` (repeated per direction) and alpha/beta lists."""
    from ..activations import get_activation

    names, alphas, betas = [], [], []
    for _ in range(D):
        for spec in acts:
            a = get_activation(spec)
            names.append(ONNX_ACTIVATION[a.name])
            if a.alpha is not None:
                alphas.append(a.alpha)
            if a.beta is not None:
                betas.append(a.beta)
    out = {"activations": names}
    if alphas:
        out["activation_alpha"] = alphas
    if betas:
        out["activation_beta"] = betas
    return out


def to_onnx(module, readout=None, path: str | os.PathLike | None = None, *, lengths: bool = False, initial_state: bool = False):
    """Export an lstmkit ``LSTM`` or ``RNN`` (and an optional read-out) as an ONNX model.

    ``module`` may also be a :class:`lstmkit.SequenceModel` or a fitted estimator (its ``model_``):
    its read-out, ``head`` ("all": one output per step; "last": ``out = read(h_last)``, taken from
    the last layer's Y_h, which is each direction's final state at each sequence's last valid step,
    exactly the model's h_last) and ``inputs="tokens"`` (int64 ids (B, T), one-hot encoded by a
    Gather from the identity) are exported with it. A classifier's graph adds ``proba`` =
    softmax(out) and stores its ``classes_`` as JSON in the metadata property ``lstmkit.classes``;
    a regressor's ``out`` is in y's units (``out * y_scale_ + y_mean_``; the trailing axis of size 1
    that ``predict`` drops for 1-D targets is kept); a text generator's graph takes the ids of its
    ``vocab_``, stored as a JSON list of its characters (index 0: "unknown") in ``lstmkit.vocabulary``.

    ``readout``: ``{"weight": (O, D*P), "bias": (O,)}`` (or an object with such a ``state_dict()``,
    an :class:`lstmkit.Linear` or a ``torch.nn.Linear``, as ``save_lstm`` takes it) applied to every
    step. ``lengths`` adds an int32 input ``lengths`` (B,); ``initial_state`` adds inputs ``h0``
    (and ``c0``). Returns the
    ``onnx.ModelProto`` (checked with ``onnx.checker``) and writes it to ``path`` if given.
    Graph layout and supported options: module docstring.
    """
    with optional_import("onnx", "to_onnx", "to build the ONNX graph"):
        import onnx
        from onnx import TensorProto, helper, numpy_helper

    where = "to_onnx"
    takes = 'None, {"weight": (O, D*P), "bias": (O,)} or an object with such a state_dict() (lstmkit.Linear, torch.nn.Linear)'
    if isinstance(readout, (str, bytes, os.PathLike)):  # the path given second, as save_lstm(path, module) would lead one to
        fail(where, "readout", takes, f"{type(readout).__name__} {readout!r}",
             f"The path is the third argument: to_onnx(module, readout, path) or to_onnx(module, path={os.fspath(readout)!r}).",
             exc=TypeError)
    given, readout = readout, readout_mapping(readout)  # as save_lstm takes it: a Linear's weight (O, D*P) and bias (O,)
    if readout is not None and (not isinstance(readout, Mapping) or "weight" not in readout):
        fail(where, "readout", takes, type(given).__name__,
             "Pass the read-out's weight and bias: to_onnx(module, {\"weight\": W, \"bias\": b}); a model with its own "
             "read-out (a SequenceModel, a fitted estimator) is exported alone: to_onnx(model).", exc=TypeError)  # fmt: skip
    head_mode, tokens, is_seq = "all", False, False
    estimator = module if hasattr(module, "model_") else None
    seq = getattr(module, "model_", module)  # a fitted estimator holds its SequenceModel in model_
    if hasattr(seq, "rnn") and hasattr(seq, "head_mode"):  # a SequenceModel
        if readout is not None:
            fail(where, "readout", "None for a SequenceModel (its own read-out is exported)", "a read-out")
        head_mode, tokens, is_seq = seq.head_mode, seq.inputs == "tokens", True
        module, readout = seq.parts()
    is_lstm = type(module) is LSTM
    if not is_lstm and type(module) is not RNN:
        fail(where, "module", "an lstmkit LSTM, RNN, SequenceModel or fitted estimator", type(module).__name__, exc=TypeError)
    variant = getattr(module, "variant", None)
    changed = variant.changed() if variant is not None else {}
    bad = [k for k in _NOT_EXPORTABLE if k in changed]
    if is_lstm and module.proj_size:
        bad.insert(0, "proj_size")
    if bad:
        fail(where, "module", "options the ONNX LSTM operator can express", f"{', '.join(bad)} set", "Export a model without them.")
    L, D, H = module.num_layers, module.num_directions, module.hidden_size
    f32 = np.float32
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    I = module.input_size
    if tokens:
        inputs = [helper.make_tensor_value_info("x", TensorProto.INT64, ["B", "T"] if module.batch_first else ["T", "B"])]
    else:
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", I] if module.batch_first else ["T", "B", I])]
    if lengths:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, ["B"]))
    n_states = 2 if is_lstm else 1
    if initial_state:
        for s in ("h0", "c0")[:n_states]:
            inputs.append(helper.make_tensor_value_info(s, TensorProto.FLOAT, [L * D, "B", H]))
    x = "x"
    if tokens:  # ids -> one-hot rows: x_t = e_{k_t} = eye[k_t]
        nodes.append(helper.make_node("Gather", [const("eye", np.eye(I, dtype=f32)), "x"], ["x_one_hot"], axis=0))
        x = "x_one_hot"
    if module.batch_first:
        nodes.append(helper.make_node("Transpose", [x], ["x_tbi"], perm=[1, 0, 2]))
        x = "x_tbi"
    const("shape_tb_", np.array([0, 0, -1], dtype=np.int64))
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if is_lstm and changed:
        if changed.get("input_forget"):
            attrs["input_forget"] = 1
        if changed.get("gate_clip") is not None:
            attrs["clip"] = float(changed["gate_clip"])
        if "activations" in changed:
            attrs.update(_activation_attrs(variant.activations, D))
    if not is_lstm:
        attrs["activations"] = ["Tanh" if module.nonlinearity == "tanh" else "Relu"] * D
    sd = module.state_dict()
    ys_h, ys_c = [], []
    for layer in range(L):
        dirs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            dirs.append({k[: -len(sfx)]: v.astype(f32) for k, v in sd.items() if k.endswith(sfx)})
        if is_lstm:
            onnx_w = layout.to_onnx(dirs)
        else:  # RNN: one block per direction, no reordering; B = [Wb, Rb]
            onnx_w = {"W": np.stack([p["weight_ih"] for p in dirs]), "R": np.stack([p["weight_hh"] for p in dirs])}
            if module.bias:
                onnx_w["B"] = np.stack([np.concatenate([p["bias_ih"], p["bias_hh"]]) for p in dirs])
        names = [const(f"W_l{layer}", onnx_w["W"]), const(f"R_l{layer}", onnx_w["R"])]
        names.append(const(f"B_l{layer}", onnx_w["B"]) if "B" in onnx_w else "")
        names.append("lengths" if lengths else "")
        if initial_state:
            const(f"rows_start_l{layer}", np.array([layer * D], dtype=np.int64))
            const(f"rows_end_l{layer}", np.array([(layer + 1) * D], dtype=np.int64))
            for s in ("h0", "c0")[:n_states]:
                nodes.append(helper.make_node("Slice", [s, f"rows_start_l{layer}", f"rows_end_l{layer}"], [f"{s}_l{layer}"]))
                names.append(f"{s}_l{layer}")
        else:
            names += [""] * n_states
        if is_lstm and "P" in onnx_w:
            names.append(const(f"P_l{layer}", onnx_w["P"]))
        while names and names[-1] == "":
            names.pop()
        outs = [f"Y_l{layer}", f"Y_h_l{layer}"] + ([f"Y_c_l{layer}"] if is_lstm else [])
        nodes.append(helper.make_node("LSTM" if is_lstm else "RNN", [x] + names, outs, name=f"{'lstm' if is_lstm else 'rnn'}_l{layer}", **attrs))
        ys_h.append(outs[1])
        if is_lstm:
            ys_c.append(outs[2])
        nodes.append(helper.make_node("Transpose", [outs[0]], [f"Y_tbdh_l{layer}"], perm=[0, 2, 1, 3]))
        nodes.append(helper.make_node("Reshape", [f"Y_tbdh_l{layer}", "shape_tb_"], [f"y_l{layer}"]))
        x = f"y_l{layer}"
    final = x
    if head_mode == "last":  # h_last = [each direction's final state] = Y_h of the last layer   (B, D*H)
        nodes.append(helper.make_node("Transpose", [ys_h[-1]], ["h_last_bdh"], perm=[1, 0, 2]))
        const("shape_b_", np.array([0, -1], dtype=np.int64))
        nodes.append(helper.make_node("Reshape", ["h_last_bdh", "shape_b_"], ["h_last"]))
        final = "h_last"
    outputs = []
    if readout is not None:  # save_lstm's checks (keys, O >= 1, float, shapes, finite, float32's range); the type was refused above
        head = _readout_arrays(readout, D * module.output_size, where, f32, call="module, ",
                               range_fix="An ONNX graph computes in float32: scale the read-out down.")
        nodes.append(helper.make_node("MatMul", [final, const("head_weight_T", head["head.weight"].T.astype(f32))], ["head_mm"]))
        final = "head_mm"
        if "head.bias" in head:
            nodes.append(helper.make_node("Add", [final, const("head_bias", head["head.bias"].astype(f32))], ["head_out"]))
            final = "head_out"
    y_scale, y_mean = getattr(estimator, "y_scale_", None), getattr(estimator, "y_mean_", None)
    if y_scale is not None and y_mean is not None:  # a regressor trained on standardised targets: y's units
        nodes.append(helper.make_node("Mul", [final, const("y_scale", np.asarray(y_scale, dtype=f32))], ["out_scaled"]))
        nodes.append(helper.make_node("Add", ["out_scaled", const("y_mean", np.asarray(y_mean, dtype=f32))], ["out_units"]))
        final = "out_units"
    out_name = "out" if readout is not None or is_seq else "y"
    width = int(np.asarray(readout["weight"]).shape[0]) if readout is not None else D * module.output_size
    if head_mode == "last":  # (B, O) already
        nodes.append(helper.make_node("Identity", [final], [out_name]))
        shape = ["B", width]
    elif module.batch_first:  # (T, B, O) -> (B, T, O)
        nodes.append(helper.make_node("Transpose", [final], [out_name], perm=[1, 0, 2]))
        shape = ["B", "T", width]
    else:
        nodes.append(helper.make_node("Identity", [final], [out_name]))
        shape = ["T", "B", width]
    outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, shape))
    classes = getattr(estimator, "classes_", None)
    if classes is not None:  # a classifier: probabilities beside the logits
        nodes.append(helper.make_node("Softmax", [out_name], ["proba"], axis=-1))
        outputs.append(helper.make_tensor_value_info("proba", TensorProto.FLOAT, shape))
    for name, parts in (("h_n", ys_h), ("c_n", ys_c)):
        if parts:
            nodes.append(helper.make_node("Concat", parts, [name], axis=0))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [L * D, "B", H]))
    graph = helper.make_graph(nodes, "lstmkit", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="lstmkit", ir_version=IR_VERSION)
    props = {}
    if classes is not None:  # the labels of proba's columns, as JSON in the model's metadata
        props["lstmkit.classes"] = json.dumps([c.item() if hasattr(c, "item") else c for c in classes])
    vocab = getattr(estimator, "vocab_", None)
    if vocab is not None:  # a text generator's: the character of each id x holds
        props["lstmkit.vocabulary"] = json.dumps(list(vocab))
    if props:
        helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    if path is not None:
        from ..io import atomic_write_bytes

        data = model.SerializeToString()
        atomic_write_bytes(path, lambda f: f.write(data))
    return model


# -- import -------------------------------------------------------------------------------------
def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _f32_value(v) -> float:
    """An ONNX float attribute (stored as float32) as the shortest float that rounds to it (0.7, not 0.69999999)."""
    return float(str(np.float32(v)))


def _direction(a: dict) -> str:
    """A recurrent node's ``direction`` attribute as a str ("forward" when absent)."""
    direction = a.get("direction", b"forward")
    return direction.decode() if isinstance(direction, bytes) else direction


#: an ONNX LSTM/RNN node's inputs by position (X is 0; an RNN has no initial_c nor P)
_NODE_INPUTS = ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P")


def _check_node_inputs(node, shapes: Mapping[int, tuple], where: str, label: str, batch: int | None = None, free_batch: bool = False) -> None:
    """Refuse an input of an ONNX ``LSTM``/``RNN`` node whose shape is not the operator's.

    ``shapes``: an input's position -> its shape, for the inputs whose shape is known (constants, or
    what the graph computes from x's shape); ``batch``: batch_size when known, else the first of
    sequence_lens, initial_h, initial_c sets it for the others; ``free_batch``: ``batch`` stands for
    a size the graph leaves free (shown as B). ``label`` names the node (``where``'s argument). By
    the operator's definition, with G = 4 gates for an LSTM and 1 for an RNN::

        W (num_directions, G*hidden_size, input_size)    R (num_directions, G*hidden_size, hidden_size)
        B (num_directions, 2*G*hidden_size)              P (num_directions, 3*hidden_size)
        sequence_lens (batch_size,)
        initial_h, initial_c (num_directions, batch_size, hidden_size)   layout=1: (batch_size, num_directions, hidden_size)

    num_directions is 2 for direction="bidirectional", else 1; hidden_size is the attribute (else R's
    last size). An initial_c wider than hidden_size gets the reason torch's dynamo exporter writes one
    (an nn.LSTM with proj_size) and the way to read such a model (its state_dict keeps proj_size).
    """
    a = _attrs(node)
    G = 4 if node.op_type == "LSTM" else 1
    D = 2 if _direction(a) == "bidirectional" else 1
    R = shapes.get(2)
    H = int(a["hidden_size"]) if "hidden_size" in a else (R[-1] if R is not None and len(R) == 3 else None)
    state_axes = ("batch_size", "num_directions", "hidden_size") if a.get("layout", 0) else ("num_directions", "batch_size", "hidden_size")
    gh = "hidden_size" if G == 1 else f"{G}*hidden_size"
    symbols = {
        1: ("num_directions", gh, "input_size"), 2: ("num_directions", gh, "hidden_size"), 3: ("num_directions", f"2*{gh}"),
        7: ("num_directions", "3*hidden_size"), 4: ("batch_size",), 5: state_axes, 6: state_axes,
    }  # fmt: skip
    for j in (1, 2, 3, 7, 4, 5, 6):  # the weights first: they give hidden_size its meaning
        if j not in shapes:
            continue
        shape = tuple(int(s) for s in shapes[j])
        axes = symbols[j]
        if batch is None and j in (4, 5, 6) and len(shape) == len(axes):  # the first with a batch axis sets it
            batch = shape[axes.index("batch_size")]
        sizes = {"num_directions": D, "hidden_size": H, "batch_size": batch, "input_size": None,
                 gh: None if H is None else G * H, f"2*{gh}": None if H is None else 2 * G * H, "3*hidden_size": None if H is None else 3 * H}  # fmt: skip
        want = tuple(sizes[s] for s in axes)
        if len(shape) == len(want) and all(w is None or w == s for w, s in zip(want, shape)):
            continue
        short = {"input_size": "I", "batch_size": "B", "hidden_size": "H"}
        free = lambda s, v: free_batch and s == "batch_size" and v == batch  # noqa: E731
        shown = ", ".join(short.get(s, s) if w is None or free(s, w) else str(w) for s, w in zip(axes, want))
        got = shape if not free_batch or len(shape) != len(axes) else "(" + ", ".join("B" if free(s, v) else str(v) for s, v in zip(axes, shape)) + ("," if len(shape) == 1 else "") + ")"
        fix = ""
        if node.op_type == "LSTM" and j == 6 and len(shape) == 3 and H is not None and shape[-1] > H and shape[:2] == tuple(w if w is not None else s for w, s in zip(want[:2], shape[:2])):
            fix = (f"torch.onnx.export(dynamo=True) writes an nn.LSTM(hidden_size={shape[-1]}, proj_size={H}) so: it drops proj_size (the LSTM node "
                   f"gets hidden_size={H}, its cell state keeps {shape[-1]}) and onnxruntime refuses the graph (the ONNX LSTM has no projection). "
                   "Read such a model from its weights, which keep proj_size: torch.save(model.state_dict(), 'model.pt') then "
                   "'lstmkit convert model.pt model.npz', or lstmkit.interop.pytorch.from_torch(model.lstm).")  # fmt: skip
        comma = "," if len(want) == 1 else ""
        fail(where, f"{label} {_NODE_INPUTS[j]}".strip(), f"shape ({', '.join(axes)}{comma}) = ({shown}{comma})",
             f"{node.input[j]!r} of shape {got}", fix)  # fmt: skip


def _node_label(node, k: int | None = None) -> str:
    """A recurrent node as messages name it: "LSTM node 0 'name'" (the name when it has one)."""
    return f"{node.op_type} node" + ("" if k is None else f" {k}") + (f" {node.name!r}" if node.name else "")


def _activations_from_onnx(names, alphas, betas, D: int, where: str):
    """ONNX activations (3 per direction) + alpha/beta (consumed in order) -> one (f, g, h) spec."""
    from ..activations import DEFAULTS, get_activation

    names = [n.decode() if isinstance(n, bytes) else n for n in names]
    if len(names) != 3 * D:
        fail(where, "activations", f"{3 * D} names (f, g, h per direction)", f"{len(names)}: {names}")
    alphas, betas = list(alphas), list(betas)
    specs = []
    for n in names:
        a = get_activation(n, where, "activations")
        da, db = DEFAULTS[a.name]
        alpha = _f32_value(alphas.pop(0)) if da is not None and alphas else da
        beta = _f32_value(betas.pop(0)) if db is not None and betas else db
        params = tuple(v for v in (alpha, beta) if v is not None)
        specs.append(get_activation((a.name, *params)).spec() if params else a.name)
    per_dir = [tuple(specs[3 * d : 3 * d + 3]) for d in range(D)]
    if D == 2 and per_dir[0] != per_dir[1]:
        fail(where, "activations", "the same (f, g, h) for both directions (one lstmkit layer has one set)", f"{per_dir}")
    return per_dir[0]


class OnnxLSTM:
    """One ONNX ``LSTM`` node, run by lstmkit with the operator's own conventions.

    ``Y, Y_h, Y_c = node(X, sequence_lens=None, initial_h=None, initial_c=None)``::

        X (T, B, I) (layout=0) or (B, T, I) (layout=1)
        Y (T, D, B, H) (layout=0) or (B, T, D, H);  Y_h, Y_c (D, B, H) (layout=1: (B, D, H))

    ``lstm`` is the lstmkit LSTM holding the weights (bidirectional when D = 2); for
    ``direction="reverse"`` it is a forward LSTM run over each sequence reversed within its length,
    and its output reversed back, which is the operator's definition. ``inputs``: the node's own
    constant ``sequence_lens``, ``initial_h``, ``initial_c`` (name -> array), used where the call
    gives none, as the node would. Each is checked as the operator defines it: sequence_lens
    (B,) with values in [1, T] (:func:`lstmkit._checks.check_lengths`, as every lengths of lstmkit),
    initial_h and initial_c (D, B, H) (layout=1: (B, D, H)); a node's constant that does not fit
    the call's X (another batch size, fewer steps) is refused saying it is the node's own. These are the
    LSTM's own checks, in the operator's words: the LSTM then runs them unchecked (``_forward_checked``).
    ``lstm`` has the node's shape, one layer without projection (any ``batch_first``).
    """

    def __init__(self, lstm: LSTM, direction: str = "forward", layout: int = 0, inputs: Mapping[str, np.ndarray] | None = None) -> None:
        if lstm.num_layers != 1 or lstm.proj_size:
            fail("OnnxLSTM", "lstm", "one layer without proj_size (an ONNX LSTM node's)", f"num_layers={lstm.num_layers}, proj_size={lstm.proj_size}")
        self.lstm = lstm.eval()
        self.direction = direction
        self.layout = layout
        self.inputs = dict(inputs or {})

    def __call__(self, X, sequence_lens=None, initial_h=None, initial_c=None):
        m = self.lstm
        where = "OnnxLSTM"
        D, H = m.num_directions, m.hidden_size
        X = check_float_array(X, where, "X", m.dtype)
        if X.ndim != 3:
            fail(where, "X", "a 3-D array " + ("(batch_size, seq_length, input_size)" if self.layout else "(seq_length, batch_size, input_size)"), f"shape {X.shape}")
        if self.layout == 1:
            X = np.ascontiguousarray(X.transpose(1, 0, 2))  # (T, B, I)
        T, B, I = X.shape
        if I != m.input_size:
            fail(where, "X", f"feature size (last dimension) input_size={m.input_size}", f"{I}")
        if T == 0:
            fail(where, "X", "at least one time step", "seq_length = 0")
        given = {"sequence_lens": sequence_lens, "initial_h": initial_h, "initial_c": initial_c}
        own = [k for k, v in given.items() if v is None and self.inputs.get(k) is not None]  # left to the node's constants
        given = {k: self.inputs.get(k) if v is None else v for k, v in given.items()}
        states, lengths = {}, None
        for name, v in given.items():
            if v is None:
                continue
            try:
                v = self._input(name, v, T, B)
            except (TypeError, ValueError) as exc:
                if name not in own:
                    raise
                raise self._own_constant(name, T, B, type(exc)) from None  # the node's message alone
            if name == "sequence_lens":
                lengths = v
            else:
                states[name] = v
        if lengths is not None and (lengths == T).all():
            lengths = None  # every step of every sequence: as the LSTM reads lengths all T
        zero = np.zeros((D, B, H), dtype=m.dtype)  # read, never written: may serve as both
        hx = [states.get("initial_h", zero), states.get("initial_c", zero)]
        # the checks above are the LSTM's (X, sequence_lens and the states as it checks x, lengths, hx), in the
        # operator's words: the LSTM runs them as they are, not checking them again (~10% of a tiny model's call)
        with m.no_grad():
            if self.direction == "reverse":
                rev = _reverse_index(T, lengths)
                y, (h, c) = m._forward_checked(np.ascontiguousarray(_reverse(X, rev)), True, lengths, hx)
            else:
                y, (h, c) = m._forward_checked(X, True, lengths, hx)
        if m.batch_first:  # the LSTM given may be batch first: its y back to time-major
            y = y.transpose(1, 0, 2)
        if self.direction == "reverse":
            y = _reverse(y, rev)
        Y = np.ascontiguousarray(y.reshape(T, B, D, H).transpose(0, 2, 1, 3))  # (T, D, B, H)
        if self.layout == 1:
            return Y.transpose(2, 0, 1, 3), h.transpose(1, 0, 2), c.transpose(1, 0, 2)
        return Y, h, c

    def _state_shape(self, B: int) -> tuple[str, tuple]:
        """initial_h's and initial_c's axes and shape in the node's layout: (D, B, H), layout=1 (B, D, H)."""
        D, H = self.lstm.num_directions, self.lstm.hidden_size
        if self.layout:
            return "(batch_size, num_directions, hidden_size)", (B, D, H)
        return "(num_directions, batch_size, hidden_size)", (D, B, H)

    def _input(self, name: str, v, T: int, B: int) -> np.ndarray:
        """The input ``name`` checked as the operator defines it, for an X of T steps and B sequences:
        sequence_lens (B,) with values in [1, T] (:func:`lstmkit._checks.check_lengths`, as every lengths
        of lstmkit), returned as int64; initial_h, initial_c floats of :meth:`_state_shape`, returned as
        (D, B, H) in the model's dtype."""
        where = "OnnxLSTM"
        if name == "sequence_lens":
            return check_lengths(v, B, T, where, name)  # (B,) int64 in [1, T]
        v = check_float_array(v, where, name, self.lstm.dtype)
        axes, want = self._state_shape(B)
        if v.shape != want:
            fail(where, name, f"shape {axes} = {want}", f"shape {v.shape}")
        return np.ascontiguousarray(v.transpose(1, 0, 2)) if self.layout else v  # (D, B, H)

    def _own_constant(self, name: str, T: int, B: int, exc: type) -> Exception:
        """An ``exc`` for the node's own constant input ``name`` (the call gave none) that :meth:`_input`
        refused, for the caller to raise: a constant that fitted the graph's batch and length does not fit
        another X (another batch size, fewer steps), or fits none. The message says what the operator
        expects of it for this X and what the constant is, and that passing ``name=`` to the call replaces it."""
        if name == "sequence_lens":
            expected = f"an integer array of shape ({B},), one length per sequence of X, with values in [1, T={T}]"
        else:
            axes, want = self._state_shape(B)
            expected = f"a finite float array of shape {axes} = {want}"
        got = f"the node's own constant {name}, {_describe_constant(self.inputs[name], self.lstm.dtype)}"
        fix = f"Pass {name}= to the call to replace it (the node's constant is used when the call gives none)."
        return exc(message("OnnxLSTM", name, expected, got, fix))


def _describe_constant(value, dtype=None) -> str:
    """An array as a message shows it: its dtype and shape, an integer array's range of values, whether a
    float array holds a NaN or inf, or (``dtype``: the float type it is to be cast to) a finite value
    beyond that type's range: "int32 of shape (2,), values 4 to 5", "float32 of shape (1, 2, 4)",
    "float64 of shape (1, 2, 4), 1e+39 at index (0, 1, 2) beyond float32's range (±3.4e38)"."""
    arr = np.asarray(value)
    text = f"{arr.dtype} of shape {arr.shape}"
    if arr.dtype.kind in "iu" and arr.size:
        low, high = arr.min(), arr.max()
        text += f", every value {low}" if low == high else f", values {low} to {high}"
    elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
        text += ", not every value finite"
    elif arr.dtype.kind == "f" and dtype is not None and (at := overflow_at(arr, dtype)) is not None:
        text += f", {arr[at]!s} at index {at} beyond {float_range(dtype)}"  # (check_float_array's rule, cast_float's)
    return text


def _constants(model, where: str = "lstmkit.interop.onnx", arg: str = "model") -> dict[str, np.ndarray]:
    """name -> array of the graph's initializers and Constant nodes, each one's dims checked against the data
    it holds first (:func:`_tensor_array`); ``where`` and ``arg`` name the caller and the graph in a refusal."""
    out = {t.name: _tensor_array(t, where, f"{arg} initializer {t.name!r}") for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and len(node.output) == 1:
            for a in node.attribute:
                if a.name == "value":
                    out[node.output[0]] = _tensor_array(a.t, where, f"{arg} Constant {node.output[0]!r}")
    return out


#: ONNX element types stored several to a byte (numpy_helper.to_array unpacks them): bits per element
_PACKED_BITS = {"INT4": 4, "UINT4": 4, "FLOAT4E2M1": 4, "INT2": 2, "UINT2": 2, "FLOAT6E2M3": 6, "FLOAT6E3M2": 6}


def _tensor_array(t, where: str, arg: str) -> np.ndarray:
    """A TensorProto as an array, its ``dims`` checked against the data it stores before
    ``numpy_helper.to_array`` reshapes it: dims (1, 4000000, 1000000) over 48 stored floats are refused
    naming the tensor, its dims and its data ("got 48 values (192 bytes of float32)"), where onnx said
    "cannot reshape array of size 48 into shape (1,4000000,1000000)". The data is in memory already (the
    file's size bounds it): nothing larger is allocated. Anything else onnx cannot read is refused by name too."""
    import math

    from onnx import TensorProto, external_data_helper, helper, numpy_helper

    dims = tuple(int(d) for d in t.dims)
    expected = f"data for its dims {list(dims)}"
    if any(d < 0 for d in dims):
        fail(where, arg, "dims >= 0", f"dims {list(dims)}")
    n = math.prod(dims)  # a Python int: no overflow however absurd the dims
    got, size = None, f"{n} values"
    try:
        kind = TensorProto.DataType.Name(t.data_type)
        np_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type))
    except (KeyError, ValueError, TypeError):  # UNDEFINED, or a number no type has
        fail(where, arg, "a tensor of an ONNX element type", f"data_type {t.data_type}")
    if external_data_helper.uses_external_data(t) or kind in _PACKED_BITS:
        pass  # stored elsewhere (onnx.load read it in already, for a file), or packed: onnx's own checks below
    elif t.HasField("raw_data"):
        stored, itemsize = len(t.raw_data), np_dtype.itemsize
        if stored != n * itemsize:
            size = f"{n} values of {np_dtype}, {n * itemsize} bytes"
            got = f"{stored} bytes" + (f" ({stored // itemsize} values)" if stored % itemsize == 0 else "")
    else:
        stored = len(getattr(t, helper.tensor_dtype_to_field(t.data_type)))
        per = 2 if kind in ("COMPLEX64", "COMPLEX128") else 1  # real and imaginary parts, one after the other
        if stored != n * per:
            got = f"{stored // per if stored % per == 0 else stored / per} values"
    if got is not None:
        fail(where, arg, f"{expected} ({size})", got, "The file is damaged, or was not written by an ONNX exporter.")
    try:
        return numpy_helper.to_array(t)
    except Exception as exc:  # noqa: BLE001 (onnx's reasons vary: segments, packed data too short, ...)
        fail(where, arg, expected, f"data onnx cannot read ({type(exc).__name__}: {exc})")


def lstm_from_node(node, constants: Mapping[str, np.ndarray], dtype=np.float32) -> OnnxLSTM:
    """Build an :class:`OnnxLSTM` from an ONNX ``LSTM`` node whose W, R [, B, P] are constants.

    ``constants``: name -> array for the graph's initializers/Constant nodes. Every attribute of
    the operator is honoured or refused by name (see module docstring); every constant input's
    shape is checked against direction and hidden_size (:func:`_check_node_inputs`). Constant
    sequence_lens, initial_h and initial_c are kept: the node runs with them unless the call gives others.
    """
    where = f"ONNX LSTM node {node.name or node.output[0]!r}"
    if node.op_type != "LSTM":
        fail(where, "op_type", "'LSTM'", repr(node.op_type))
    ins = list(node.input) + [""] * (8 - len(node.input))

    def const(k, label):
        name = ins[k]
        if not name:
            return None
        if name not in constants:
            fail(where, label, "a constant (initializer) so its weights can be imported", f"the runtime input {name!r}")
        return _node_weight(constants[name], where, f"{label} ({name!r})", dtype)

    _check_node_kind(node, where)
    W, R, B, P = const(1, "W"), const(2, "R"), const(3, "B"), const(7, "P")
    if W is None or R is None:
        fail(where, "inputs", "W and R", "missing")
    a = _attrs(node)
    _check_layout(a, where)
    unknown = sorted(set(a) - {"hidden_size", "direction", "layout", "clip", "input_forget", "activations", "activation_alpha", "activation_beta"})
    if unknown:
        fail(where, "attributes", "those of the ONNX LSTM operator", f"unknown {unknown}")
    direction = _direction(a)
    if direction not in ("forward", "reverse", "bidirectional"):
        fail(where, "direction", "'forward', 'reverse' or 'bidirectional'", repr(direction))
    D = 2 if direction == "bidirectional" else 1
    given = {j: np.asarray(constants[ins[j]]) for j in range(1, 8) if ins[j] and ins[j] in constants}
    _check_node_inputs(node, {j: v.shape for j, v in given.items()}, where, "")  # W, R: D directions, R hidden_size wide
    dirs = layout.from_onnx(W, R, B, P)
    H = dirs[0]["weight_hh"].shape[1]
    options = {}
    if P is not None:
        options["peephole"] = True
    if a.get("input_forget", 0):
        options["input_forget"] = True
    if "clip" in a:
        options["gate_clip"] = _f32_value(a["clip"])
    if "activations" in a or "activation_alpha" in a or "activation_beta" in a:
        names = a.get("activations", [b"Sigmoid", b"Tanh", b"Tanh"] * D)
        acts = _activations_from_onnx(names, a.get("activation_alpha", []), a.get("activation_beta", []), D, where)
        if acts != ("sigmoid", "tanh", "tanh"):
            options["activations"] = acts
    try:
        lstm = LSTM(W.shape[2], H, bias=B is not None, bidirectional=D == 2, dtype=dtype, seed=0, **options)
    except TypeError as exc:  # an engine without the variant options
        fail(where, "options", "ones this lstmkit supports", f"{sorted(options)} ({exc})")
    except ValueError as exc:  # an attribute's value (clip=NaN): say which node
        raise ValueError(f"{where}: {exc}") from None
    state = {}
    for d, p in enumerate(dirs):
        sfx = "_l0" + ("_reverse" if d else "")
        state.update({k + sfx: v for k, v in p.items()})
    try:
        lstm.load_state_dict(state)
    except ValueError as exc:  # a NaN, a value beyond the dtype's range: say which node and initializers
        named = ", ".join(f"{label}={ins[j]!r}" for j, label in ((1, "W"), (2, "R"), (3, "B"), (7, "P")) if ins[j])
        raise ValueError(f"{where} (initializers {named}): {exc}") from None
    inputs = {_NODE_INPUTS[j]: v for j, v in given.items() if 4 <= j <= 6}  # the node's own lengths and initial states
    return OnnxLSTM(lstm, direction, int(a.get("layout", 0)), inputs)


def _node_weight(arr: np.ndarray, where: str, arg: str, dtype) -> np.ndarray:
    """A recurrent node's constant (W, R, B, P) as ``dtype``: a float tensor (the operator's type T is a
    float type: onnxruntime refuses others, and a cast would hide one), every value finite and within
    ``dtype``'s range, the first that is not named by its index in the tensor as stored ("expected W ('W')
    finite values, got nan at index (0, 1, 2)"), where load_state_dict said "weight_ih_l0 ... got NaN or
    inf" of the rearranged weights."""
    arr = np.asarray(arr)
    if arr.dtype.kind != "f":
        fail(where, arg, "a float tensor (the operator's type T)", f"dtype {arr.dtype}")
    return check_float_array(arr, where, arg, dtype)


def _finite_weight(arr: np.ndarray, where: str, arg: str, dtype) -> np.ndarray:
    """A read-out's (or the token lookup table's) constant as ``dtype``, a float one checked as
    :func:`_node_weight` checks a node's; an integer one (finite) is cast: a MatMul, Gemm, Add or Mul
    may take integer operands."""
    arr = np.asarray(arr)
    return check_float_array(arr, where, arg, dtype) if arr.dtype.kind == "f" else arr.astype(dtype)


def _check_node_kind(node, where: str, arg: str = "") -> None:
    """A recurrent node must be the standard operator: of the default domain ('' or 'ai.onnx'). An
    op_type "LSTM" of another domain (``com.example``) is another operator that only shares the name."""
    if node.domain not in ("", "ai.onnx"):
        fail(where, f"{arg}domain", "the default ONNX domain ('' or 'ai.onnx'), whose operator lstmkit computes", repr(node.domain))


def _check_layout(a: Mapping, where: str, arg: str = "") -> None:
    """The operator's ``layout`` attribute: 0 (sequence first) or 1 (batch first), nothing else."""
    value = a.get("layout", 0)
    if not isinstance(value, int) or value not in (0, 1):
        fail(where, f"{arg}layout", "0 (seq_length first) or 1 (batch_size first)", repr(value))


def _load_model(model_or_path, where: str = "lstmkit.interop.onnx", arg: str | None = None):
    with optional_import("onnx", where, "to read the ONNX model"):
        import onnx

    if isinstance(model_or_path, (str, os.PathLike)):
        if os.path.isfile(model_or_path) and os.path.getsize(model_or_path) == 0:  # protobuf parses b"" as an empty model
            fail(where, arg or f"{model_or_path}", "an ONNX model file", "an empty file (0 bytes)" if arg is None else f"{str(model_or_path)!r}, an empty file (0 bytes)")
        try:
            return onnx.load(os.fspath(model_or_path))
        except FileNotFoundError:
            raise
        except Exception as exc:  # protobuf DecodeError, ...
            got = f"a file onnx cannot parse ({type(exc).__name__}: {exc})"
            fail(where, arg or f"{model_or_path}", "an ONNX model file", got if arg is None else f"{str(model_or_path)!r}, {got}")
    return model_or_path


def lstms_from_onnx(model_or_path) -> list[OnnxLSTM]:
    """Every ``LSTM`` node of an ONNX model (or file), in graph order, as :class:`OnnxLSTM`."""
    with optional_import("onnx", "lstms_from_onnx", "to read the ONNX model"):
        import onnx  # noqa: F401 (here, so that its absence is said in this function's name)

    model = _load_model(model_or_path)
    path = os.fspath(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else None
    constants = _constants(model, "lstms_from_onnx", path or "model")
    try:
        return [lstm_from_node(n, constants) for n in model.graph.node if n.op_type == "LSTM"]
    except ValueError as exc:
        if path is not None:  # say which file
            raise ValueError(f"{path}: {exc}") from None
        raise


#: ops allowed around the recurrent nodes in a graph read back by model_from_onnx
_GLUE_OPS = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Concat", "Slice", "Identity", "Constant", "ConstantOfShape", "Expand", "Shape", "Gather", "Cast"}
#: ops of the read-out between the last recurrent node and the output, each with a constant operand
_READOUT_OPS = ("MatMul", "Gemm", "Add", "Mul")
#: a classifier's normalisation of its output (last axis), which no lstmkit module holds
_SOFTMAX_OPS = ("Softmax", "LogSoftmax")


class OnnxGraph(NamedTuple):
    """What :func:`read_onnx` finds in a graph.

    ``module`` and ``readout`` compute the graph's first output (``readout`` folds every MatMul,
    Add and Mul between the last recurrent node and that output into ``out = y W^T + b``: a
    Linear's, and a regressor's ``* y_scale + y_mean`` as :func:`to_onnx` writes it), or its input
    when that output is a ``softmax`` of it (``softmax``: the node's op, "Softmax" or "LogSoftmax";
    the module outputs the logits before it). ``proba``: the name of an output that is a Softmax of
    the first one, beside it (a classifier's ``proba`` as :func:`to_onnx` writes it), or None;
    ``classes``: the labels of its columns from the model's metadata (``lstmkit.classes``), or None.
    ``head``: "all" or "last"; ``inputs``: "features" or "tokens"; ``vocabulary``: a token graph's
    characters, one per id (``lstmkit.vocabulary``, as :func:`to_onnx` writes a text generator), or None.
    ``raw_output``: ``(name, layout)`` when the first output is the last recurrent node's own ``"Y"`` or
    ``"Y_h"`` as the operator arranges it (its ``layout`` attribute, 0 or 1), with no Transpose/Reshape
    after it: the module computes the same values arranged as lstmkit's (:func:`graph_output_from`
    gives the expression from one to the other); else None. ``fixed``: ``(axis, size, node)`` when x declares
    that axis free (its name, or its index) but a node of the graph fixes it at ``size`` (torch's dynamo export of
    a time-major ``y[-1]`` reshapes Y to the example's T): the graph was read at that size, where it computes what
    the module computes (a warning says so); else None.
    """

    module: LSTM | RNN
    readout: dict | None
    head: str
    inputs: str
    softmax: str | None
    proba: str | None
    classes: list | None
    vocabulary: list | None = None
    raw_output: tuple | None = None
    fixed: tuple | None = None

    def sequence_model(self):
        """The graph as a :class:`lstmkit.SequenceModel` (batch first)."""
        from ..models import SequenceModel

        return SequenceModel.from_parts(self.module, self.readout, self.head, self.inputs)


def read_onnx(model_or_path, dtype=np.float32, *, where: str = "read_onnx", arg: str = "model") -> OnnxGraph:
    """Read a graph (as :func:`to_onnx` writes, or ``torch.onnx.export`` of an ``nn.LSTM``/``nn.RNN`` [+
    ``nn.Embedding`` before, ``nn.Linear`` and a softmax after]) into an :class:`OnnxGraph`: the recurrent
    module, the read-out, the head, the inputs and what the graph computes beyond them (a softmax).

    What is read and what is refused: :func:`model_from_onnx` and :func:`sequence_model_from_onnx`,
    which return parts of it. A Softmax or LogSoftmax over the last axis is read when it makes the
    graph's first output (the module and read-out compute its input, the logits) or another output
    from the first one (a classifier's ``proba``); anywhere else, or over another axis, it is refused.
    ``where`` and ``arg`` name the caller and the graph in error messages (``lstmkit convert``: "IN", and the
    file after it where a message names the file). A node that fixes one of x's free axes at a size is read at
    that size, with a warning (:func:`_trace_plumbing`, ``OnnxGraph.fixed``).
    """
    model = _load_model(model_or_path, where, None if arg == "model" else arg)
    path_of = os.fspath(model_or_path) if isinstance(model_or_path, (str, os.PathLike)) else None
    if arg == "model" and path_of is not None:
        arg = path_of  # the refusals below name the file
    constants = _constants(model, where, arg)
    rec = [n for n in model.graph.node if n.op_type in ("LSTM", "RNN")]
    if not rec:
        fail(where, arg, "at least one LSTM or RNN node", "none")
    for n in model.graph.node:  # another domain's op is another operator under the same name (a "com.x" MatMul too)
        _check_node_kind(n, where, f"{arg} node {n.name or n.op_type!r} ({n.op_type}) ")
    for k, n in enumerate(rec):
        _check_layout(_attrs(n), where, f"{arg} {n.op_type} node {k} ")
    kinds = {n.op_type for n in rec}
    if len(kinds) != 1:
        fail(where, arg, "LSTM or RNN nodes, not both", sorted(kinds))
    others = sorted({n.op_type for n in model.graph.node} - _GLUE_OPS - {"LSTM", "RNN", *_READOUT_OPS, *_SOFTMAX_OPS})
    if others:
        fail(where, arg, f"only LSTM/RNN nodes, a MatMul[+Add] or Gemm read-out, a softmax on the output and {sorted(_GLUE_OPS)}", f"ops {others}")
    named = arg if path_of is None or arg == path_of else f"{arg} {path_of!r}"  # the file, where the caller names it otherwise (convert: IN)
    plumbing, softmax, head, path, fixed = _trace_plumbing(model, constants, rec, where, arg, named)
    if fixed is not None:
        import warnings

        axis, size, node = fixed
        warnings.warn(f"{where}: {named}: input {model.graph.input[0].name!r} declares its axis {axis} free, but {node} fixes it at {size}: "
                      f"read at {axis} = {size}, where the graph computes what the model read computes (at other sizes onnxruntime "
                      f"refuses the file, or the node reads other elements); the model runs on any {axis}.", LstmkitWarning, stacklevel=2 if where == "read_onnx" else 3)  # fmt: skip
    inputs = "tokens" if _token_input(model) else "features"
    if inputs == "tokens":
        constants = _fold_embedding(model, constants, rec[0], where, arg)
    if rec[0].op_type == "LSTM":
        module = _lstm_from_nodes(model, rec, constants, dtype, where, arg)
    else:
        module = _rnn_from_nodes(model, rec, constants, dtype, where, arg)
    readout = _readout_from_path(path, constants, module, where, arg)
    first = model.graph.output[0].name
    on_output = softmax is not None and softmax.output[0] == first
    return OnnxGraph(
        module, readout, head, inputs, softmax.op_type if on_output else None,
        None if softmax is None or on_output else softmax.output[0], _metadata_list(model, "lstmkit.classes"),
        _metadata_list(model, "lstmkit.vocabulary") if inputs == "tokens" else None, plumbing.raw_output, fixed,
    )  # fmt: skip


class _Unrunnable(Exception):
    """A node of the graph that numpy refuses to run at the sizes traced (:class:`_Plumbing`: x's declared
    sizes, stand-ins for its free ones): its inputs' shapes, their values when small (a Reshape's shape), numpy's words."""

    def __init__(self, node, shapes: list, values: list, reason: str):
        super().__init__(reason)
        self.node, self.shapes, self.values, self.reason = node, shapes, values, reason

    def described(self) -> str:
        ins = ", ".join("none" if s is None else f"shape {s}" if v is None else str(v) for s, v in zip(self.shapes, self.values))
        return f"{_op_label(self.node)} refusing its inputs ({ins}): {' '.join(self.reason.split()).rstrip('.')}"


def _op_label(node) -> str:
    return f"{node.op_type} node {node.name or node.output[0]!r}"


def _small(v) -> list | None:
    """An input's values when it is a short vector of integers (a shape, indices, axes), for a message; else None."""
    if v is None or isinstance(v, _Ids):
        return None
    a = np.asarray(v)
    return a.reshape(-1).tolist() if a.dtype.kind in "iu" and a.ndim <= 1 and a.size <= 8 else None


def _shape_sizes(model, constants) -> dict[int, list]:
    """size -> the Reshape/Expand nodes (in graph order) whose shape input holds it: the positive integers of the
    constants that make each such node's shape, directly or through Concat/Unsqueeze/Squeeze/Cast/Identity (torch's
    ``Concat([1], Shape(x), [4])``: 1 and 4; not the sizes a Shape of x gives, nor a Slice's or Gather's operands).
    The sizes at which a node of the graph may fix one of x's free axes (:func:`_trace_plumbing`)."""
    producer = {o: n for n in model.graph.node for o in n.output if o}
    out: dict[int, list] = {}
    for node in model.graph.node:
        if node.op_type not in ("Reshape", "Expand") or len(node.input) < 2:
            continue
        stack, seen = [node.input[1]], set()
        while stack:
            name = stack.pop()
            if not name or name in seen:
                continue
            seen.add(name)
            if name in constants:
                a = np.asarray(constants[name])
                if a.dtype.kind in "iu":
                    for v in sorted({int(v) for v in a.reshape(-1) if v > 0}):
                        nodes = out.setdefault(v, [])
                        if node not in nodes:
                            nodes.append(node)
                continue
            src = producer.get(name)
            if src is not None and src.op_type in ("Concat", "Identity", "Cast"):
                stack.extend(src.input)
            elif src is not None and src.op_type in ("Unsqueeze", "Squeeze"):
                stack.append(src.input[0])
    return out


def _stand_ins(avoid, taken) -> Iterator[int]:
    """Stand-in sizes for x's free axes: 3, 2, 4, 6, 7, 8, 9, then the primes from 11, leaving out those in ``taken``
    (x's declared sizes, the sizes traced already) and those sharing a factor with a size in ``avoid`` (the sizes of the
    graph's Reshape/Expand shapes, :func:`_shape_sizes`): a node that fixes a free axis at a size (Reshape(Y, (8, -1,
    H))) then refuses the stand-in (8 does not divide 7·9·H), rather than running at it and picking other elements."""
    from math import gcd

    def sizes():
        yield from (3, 2, 4, 6, 7, 8, 9)
        n = 11
        while True:
            if all(n % p for p in range(2, int(n**0.5) + 1)):
                yield n
            n += 2

    return (s for s in sizes() if s not in taken and all(gcd(s, c) == 1 for c in avoid))


def _declared(x) -> list[int]:
    """The graph input ``x``'s declared sizes, 0 for a symbolic (free) axis."""
    return [d.dim_value if d.HasField("dim_value") else 0 for d in x.type.tensor_type.shape.dim]


def _traced_shape(dims: list[int], fixed: Mapping[int, int], avoid) -> tuple:
    """x's shape as :class:`_Plumbing` traces it: its declared sizes ``dims`` (:func:`_declared`), ``fixed``'s size
    (axis -> size) for those free axes, stand-ins (:func:`_stand_ins`, avoiding ``avoid``'s sizes) for the rest."""
    free = _stand_ins(avoid, {*dims, *fixed.values()})
    return tuple(d or fixed.get(i) or next(free) for i, d in enumerate(dims))


def _trace_plumbing(model, constants, rec, where: str, arg: str, named: str):
    """(plumbing, softmax, head, read-out path, fixed): the graph traced on element ids (:class:`_Plumbing`,
    :func:`_check_recurrent_inputs`, :func:`_softmax_node`, :func:`_graph_head`) with stand-in sizes for x's free
    axes, sharing no factor with any size in the graph's Reshape/Expand shapes (:func:`_stand_ins`), ``fixed`` None.
    A graph whose node fixes a free axis at one size (torch's dynamo export of a time-major ``y[-1]`` declares x
    (T, B, I) with T free, and reshapes Y to (8, -1, H), the example's T: onnxruntime refuses T=7) is refused at the
    stand-ins (numpy's reshape error, or elements picked from other steps): on any refusal it is traced again with
    each free axis at each size of those shapes (:func:`_shape_sizes`), the first size at which the whole graph reads
    is taken, ``fixed`` = (the axis' name, the size, the node: the one refusing the stand-ins, else the first whose
    shape holds the size). A size that reads is one where the graph computes the module (elements are read by id).
    When no size reads: a refusal of the stand-ins other than numpy's is raised as it was; after numpy's, the refusal
    at a size the graph ran at, if any; else the node, its inputs and numpy's words (so for a node numpy refuses at
    x's declared sizes)."""

    fixing = _shape_sizes(model, constants)

    def attempt(fixed_axes):
        plumbing = _Plumbing(model, constants, rec, where, arg, fixed_axes, avoid=fixing)
        _check_recurrent_inputs(model, rec, plumbing, where)
        softmax = _softmax_node(model, where, arg)
        return (plumbing, softmax, *_graph_head(model, softmax, constants, rec, where, arg, plumbing))

    try:
        return (*attempt(None), None)
    except (_Unrunnable, ValueError) as exc:
        first = exc
    if not model.graph.input:
        if isinstance(first, _Unrunnable):
            fail(where, named, "a graph whose nodes run", first.described())
        raise first
    x = model.graph.input[0]
    dims = list(x.type.tensor_type.shape.dim)
    free = [i for i, d in enumerate(dims) if not d.HasField("dim_value")]
    sizes = sorted(fixing)
    ran = None  # the first refusal of a size at which the graph ran
    for i in free:
        for size in sizes:
            try:
                found = attempt({i: size})
            except _Unrunnable:
                continue
            except ValueError as exc:
                ran = ran or exc
                continue
            node = first.node if isinstance(first, _Unrunnable) and first.node.op_type in ("Reshape", "Expand") else fixing[size][0]
            return (*found, (dims[i].dim_param or f"{i}", size, _op_label(node)))
    if not isinstance(first, _Unrunnable):
        raise first
    if ran is not None:
        raise ran
    traced = _traced_shape(_declared(x), {}, fixing)  # the stand-ins the first attempt ran at
    shape = ", ".join(f"{d.dim_param or '?'}={s}" if not d.HasField("dim_value") else str(s) for d, s in zip(dims, traced))
    if free:
        again = f"Traced again with a free axis at each of {sizes}, the sizes in the graph's Reshape/Expand shapes, it did not read either. " if sizes else ""
        fail(where, named, f"a graph whose nodes run at any size of x's free axes (traced with {x.name!r} of shape ({shape}), stand-ins for those)",
             first.described(), f"{again}Export the graph with x's sizes fixed, or with its nodes following x's shape.")  # fmt: skip
    fail(where, named, f"a graph whose nodes run at x's declared shape ({shape})", first.described())


def _check_recurrent_inputs(model, rec, plumbing: "_Plumbing", where: str) -> None:
    """Refuse a recurrent node's input that is not as the operator defines it, or that lstmkit would
    not compute with: the shapes (:func:`_check_node_inputs`) of the constant inputs and of those the
    graph computes from constants and x (torch's zero initial states, an Expand to x's batch size),
    batch_size checked against the node's input where it is known (x's sizes are declared, or the
    input is computed from them); the values of sequence_lens and initial_h/initial_c that are not
    runtime inputs (lstmkit takes lengths and initial states as arguments of its call, zeros by
    default): initial states must be zeros, sequence_lens every sequence's full length."""
    data = _data_names(model)
    for k, n in enumerate(rec):
        label = _node_label(n, k)
        layout = int(_attrs(n).get("layout", 0))
        X = plumbing.value(n.input[0])
        xs = (X.ids if isinstance(X, _Ids) else np.asarray(X)).shape
        T, B = ((xs[1], xs[0]) if layout else xs[:2]) if len(xs) == 3 else (None, None)
        shapes, batch, free_batch = {}, B, B in plumbing.free
        for j, name in enumerate(n.input):
            if not name or j == 0:
                continue
            static, from_x = plumbing.static(name)
            if not static or (j not in (4, 5, 6) and name not in plumbing.constants):
                continue  # a runtime input (its value is an argument of the lstmkit call), or W, R, ... not constant (refused below)
            value = plumbing.value(name)
            ids = isinstance(value, _Ids)
            shapes[j] = value.ids.shape if ids else np.shape(value)
            if j in (4, 5, 6) and B in plumbing.free and not from_x:
                batch, free_batch = None, False  # x's batch size is free, and this input's does not follow it: theirs must agree
            if j not in (4, 5, 6):
                continue
            what = f"{label} {_NODE_INPUTS[j]}"
            if ids or name in data:  # computed from what the graph computes: its values are not the call's arguments
                fail(where, what, "a runtime input or a constant (lstmkit takes lengths and initial states as arguments of its call)",
                     f"{name!r}, computed from " + ("a recurrent node's outputs" if ids else "the values of x"))  # fmt: skip
        _check_node_inputs(n, shapes, where, label, batch, free_batch)
        for j in (4, 5, 6):  # what the values are, now that their shapes are the operator's
            if j not in shapes:
                continue
            name, value = n.input[j], np.asarray(plumbing.value(n.input[j]))
            what = f"{label} {_NODE_INPUTS[j]}"
            if j > 4 and np.any(value):
                fail(where, what, "zeros or a runtime input (lstmkit keeps no stored state)", f"{name!r}, non-zero constants",
                     "Pass the initial state to the lstmkit model's call instead.")  # fmt: skip
            if j == 4 and not (T is not None and (T not in plumbing.free or plumbing.static(name)[1]) and np.all(value == T)):
                fail(where, what, "a runtime input, or every sequence's full length (lstmkit takes lengths as an argument of its call)",
                     f"{name!r}, the constants {value.reshape(-1).tolist()[:8]}", "Pass the lengths to the lstmkit model's call instead.")  # fmt: skip


def _metadata_list(model, key: str) -> list | None:
    """A JSON list that :func:`to_onnx` stores in the model's metadata (``lstmkit.classes``,
    ``lstmkit.vocabulary``), or None."""
    props = {p.key: p.value for p in model.metadata_props}
    try:
        value = json.loads(props[key])
    except (KeyError, ValueError):
        return None
    return value if isinstance(value, list) else None


def _softmax_node(model, where: str, arg: str):
    """The graph's one Softmax/LogSoftmax over the last axis, making its first output or another output
    from the first one; None if it has none. Any other is refused: it would be lost, or computes
    something the read-out does not (over the steps, before the read-out)."""
    nodes = [n for n in model.graph.node if n.op_type in _SOFTMAX_OPS]
    if not nodes:
        return None
    first = model.graph.output[0] if model.graph.output else None
    node = nodes[0]
    outputs = {o.name for o in model.graph.output}
    placed = first is not None and (node.output[0] == first.name or (node.input[0] == first.name and node.output[0] in outputs))
    if len(nodes) > 1 or not placed:
        where_ = f"{len(nodes)} of them" if len(nodes) > 1 else f"a {node.op_type} node {node.name or node.output[0]!r} elsewhere"
        fail(where, arg, "a softmax only on the graph's output (a classifier's probabilities)", where_)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
    axis = _attrs(node).get("axis", -1 if opset >= 13 else 1)
    dims = first.type.tensor_type.shape.dim if first.type.tensor_type.HasField("shape") else []
    if axis != -1 and not (dims and axis == len(dims) - 1):
        fail(where, f"{node.op_type} node {node.name or node.output[0]!r}", "over the last axis (the classes)", f"axis {axis} of {len(dims) or 'an unknown number of'} axes")
    return node


def model_from_onnx(model_or_path, dtype=np.float32):
    """Read a stacked LSTM/RNN graph (as :func:`to_onnx` writes) into ``(module, readout_or_None)``.

    The recurrent nodes must agree in hidden_size, direction (forward or bidirectional) and
    options, and chain (layer l+1's input size is D*H); the read-out is what lies between the last
    recurrent node and the output: a MatMul by a constant (F, O), an Add of a constant (O,) and a
    Mul by one (a regressor's ``* y_scale + y_mean``), folded into one ``{"weight", "bias"}``. Any
    other op is refused by name. Only the weights and options are read: sequence lengths and
    initial states are arguments of the lstmkit call (a graph with non-zero constant initial states,
    or constant sequence_lens other than the full length, is refused). Every node input's shape is
    checked against the operator's definition (:func:`_check_recurrent_inputs`): a graph onnxruntime
    refuses, such as torch's dynamo export of an ``nn.LSTM(proj_size=...)`` (hidden_size=proj_size,
    an initial_c of the full width), is refused, not read as another model. Graphs written by ``torch.onnx.export`` of an ``nn.LSTM``/``nn.RNN`` (+
    ``nn.Linear``) read back the same way. A softmax over the last axis on the output (a
    classifier's probabilities) is not part of what is returned, which computes the logits before
    it (a warning says so); one that makes another output from the first (``proba`` beside ``out``,
    as :func:`to_onnx` writes a classifier) is left out silently: the first output is computed.
    The graph's output must be every step (``Y``); one that reads ``Y_h`` (a SequenceModel's
    head="last") is refused, pointing to :func:`sequence_model_from_onnx`; so is one whose input
    holds token ids (an LSTM takes feature vectors: the ids' Gather would be lost).
    """
    where = "model_from_onnx"
    g = read_onnx(model_or_path, dtype, where=where)
    if g.head == "last":
        fail(where, "model", "a graph whose output is every step (Y), the read-out applied at each", "one that reads the last step (Y_h)",
             "Use lstmkit.interop.onnx.sequence_model_from_onnx(...), which returns a SequenceModel(head='last').")  # fmt: skip
    if g.inputs == "tokens":
        fail(where, "model", "a graph whose input x holds feature vectors (this returns an LSTM, which takes them)", "one whose x holds integer token ids",
             "Use lstmkit.interop.onnx.sequence_model_from_onnx(...), which returns a SequenceModel(inputs='tokens').")  # fmt: skip
    _warn_softmax(g, where)
    _warn_raw_output(g, where, g.module.batch_first)
    return g.module, g.readout


def sequence_model_from_onnx(model_or_path, dtype=np.float32):
    """Read a graph (as :func:`to_onnx` writes for an LSTM, RNN, SequenceModel or estimator) into a :class:`lstmkit.SequenceModel`.

    ``head="last"`` when the graph's output comes from the last layer's ``Y_h`` (each direction's
    final state at each sequence's last valid step), else ``"all"``; ``readout="linear"`` with a
    MatMul[+Add] read-out (no Add: zero bias; a Mul folded in), else ``"identity"``;
    ``inputs="tokens"`` when the graph's input ``x`` holds integer ids, looked up by a Gather from a
    constant table E (V, I), which is folded into the first layer: ``input_size`` is V and
    ``weight_ih_l0`` is W_ih E^T (:func:`_fold_embedding`). The model is batch first, whatever the
    graph's layout. Graphs, a softmax and refusals: :func:`model_from_onnx`.
    """
    g = read_onnx(model_or_path, dtype, where="sequence_model_from_onnx")
    _warn_softmax(g, "sequence_model_from_onnx")
    _warn_raw_output(g, "sequence_model_from_onnx", True)
    return g.sequence_model()


def _warn_softmax(g: OnnxGraph, where: str) -> None:
    if g.softmax is not None:
        import warnings

        warnings.warn(f"{where}: the graph's {g.softmax} on its output is not part of the model returned, which computes the logits before it "
                      f"(apply {'softmax' if g.softmax == 'Softmax' else 'log-softmax'} over the last axis for the graph's output).", LstmkitWarning, stacklevel=3)  # fmt: skip


def graph_output_from(g: OnnxGraph, batch_first: bool) -> str | None:
    """The expression taking the output ``y`` of ``g``'s model (its module run over every step, batch first or
    not; head="last": the SequenceModel's (B, D*H)) to the graph's own, when the graph outputs the last node's
    ``Y`` or ``Y_h`` as the operator arranges it (``g.raw_output``); else None. D directions, H hidden units::

        Y   (T, D, B, H) = y.reshape(T, B, D, H).transpose(0, 2, 1, 3)    y (T, B, D*H)
                         = y.reshape(B, T, D, H).transpose(1, 2, 0, 3)    y (B, T, D*H), batch first
        Y   (B, T, D, H) = y.reshape(B, T, D, H)                          layout=1 (batch first)
        Y_h (D, B, H)    = y.reshape(B, D, H).transpose(1, 0, 2)          y (B, D*H)
        Y_h (B, D, H)    = y.reshape(B, D, H)                             layout=1
    """
    if g.raw_output is None:
        return None
    name, layout = g.raw_output
    D, H = g.module.num_directions, g.module.hidden_size
    if name == "Y_h":
        return f"Y_h {'(B, D, H)' if layout else '(D, B, H)'} = y.reshape(B, {D}, {H})" + ("" if layout else ".transpose(1, 0, 2)")
    if layout:
        return f"Y (B, T, D, H) = y.reshape(B, T, {D}, {H})"
    if batch_first:
        return f"Y (T, D, B, H) = y.reshape(B, T, {D}, {H}).transpose(1, 2, 0, 3)"
    return f"Y (T, D, B, H) = y.reshape(T, B, {D}, {H}).transpose(0, 2, 1, 3)"


def _warn_raw_output(g: OnnxGraph, where: str, batch_first: bool) -> None:
    """Warn that the graph's output is a node's own Y or Y_h, which the model returned computes arranged otherwise."""
    expr = graph_output_from(g, batch_first)
    if expr is None:
        return
    import warnings

    D = g.module.num_directions
    shape = ("(B, D*H)" if g.head == "last" else "(B, T, D*H)" if batch_first else "(T, B, D*H)").replace("D*H", f"{D * g.module.hidden_size}")
    mixed = " (the same numbers in another order: a reshape alone would mix the directions up)" if D == 2 else ""
    side = "the directions' final states" if g.head == "last" else "each step's directions"
    warnings.warn(f"{where}: the graph's output is its last {type(g.module).__name__} node's {g.raw_output[0]} as the operator arranges it, with no "
                  f"Transpose/Reshape after it; the model returned outputs y {shape}, {side} side by side, as every lstmkit model{mixed}. "
                  f"The graph's output from it: {expr}.", LstmkitWarning, stacklevel=3)  # fmt: skip


def _token_input(model) -> bool:
    """True when the graph's first input holds integer ids (a SequenceModel's inputs="tokens")."""
    from onnx import TensorProto

    return bool(model.graph.input) and model.graph.input[0].type.tensor_type.elem_type in (TensorProto.INT64, TensorProto.INT32)


def _graph_head(model, softmax, constants, rec, where: str, arg: str, plumbing: "_Plumbing") -> tuple[str, list]:
    """What the graph's first output is: "all", the last recurrent node's Y (every step), or "last",
    its final states (head="last"), with the read-out nodes on the way (in the order they run); ``rec``:
    the recurrent nodes, ``constants``: :func:`_constants`. Found by
    running the graph's plumbing on element ids (:class:`_Plumbing`), so any way of writing the same
    selection reads the same: ``Y_h``, torch's ``h_n[-1]``, ``h_n.squeeze(0)``, ``y[:, -1]`` (time
    major ``y[-1]``) of one direction, ``torch.cat((h_n[-2], h_n[-1]), 1)`` of two. Refused, as
    computing something else than the model read: anything else (the cell state, an earlier node,
    other steps or layers, a bidirectional ``h_n[-1]``, the backward direction's ``y[:, -1]``), a
    MatMul/Gemm/Add/Mul off the way (a projection before the LSTM has no lstmkit twin) and recurrent
    nodes that do not chain (each takes the previous one's Y, the first the input x, or its ids'
    lookup). ``softmax`` (:func:`_softmax_node`), when it makes the output, is passed over; ``plumbing``: the
    graph traced (:func:`_trace_plumbing`)."""
    name = model.graph.output[0].name if model.graph.output else ""
    if softmax is not None and softmax.output[0] == name:  # the probabilities: the model is what makes the logits
        name = softmax.input[0]
    head, chain = plumbing.head(name)
    data = _data_names(model)
    stray = [n for n in model.graph.node if n.op_type in _READOUT_OPS and n not in chain and any(i in data for i in n.input)]
    if stray:
        fail(where, arg, "a MatMul[+Add] or Gemm read-out only between the last recurrent node and the output",
             f"a {stray[0].op_type} node {stray[0].name or stray[0].output[0]!r} elsewhere (a layer before the LSTM has no lstmkit twin)")  # fmt: skip
    for k, n in enumerate(rec):  # the stack: x -> node 0 -> node 1 -> ...
        came = _trace_input(n.input[0], plumbing.producer, constants)
        want = (rec[k - 1], 0) if k else (None, model.graph.input[0].name if model.graph.input else "")
        if came != want:
            fail(where, f"{n.op_type} node {k} input", "the previous node's Y" if k else "the graph's input x (or its ids' lookup)", _described(came))
    return head, chain


def _data_names(model) -> set:
    """The names computed from the graph's input x by anything but its shape (a Shape node's output and
    what is computed from it alone, such as torch's zero initial states, are not data)."""
    data = {model.graph.input[0].name} if model.graph.input else set()
    for n in model.graph.node:  # graph order is topological
        if n.op_type != "Shape" and any(i in data for i in n.input):
            data.update(n.output)
    return data


class _Ids(NamedTuple):
    """A tensor of the graph as the ids of its elements (:class:`_Plumbing`) and the read-out nodes applied to it."""

    ids: np.ndarray  # int64; below _OUT_BASE an element of a recurrent node's output, above it one of a read-out's
    chain: tuple = ()  # the read-out nodes applied, in the order they run


_OUT_BASE, _OUT_WIDTH, _NODE_STRIDE = 1 << 50, 1 << 20, 1 << 40


class _Plumbing:
    """The graph run on element ids instead of numbers, to see which elements of the recurrent nodes'
    outputs reach the output and where: the glue ops (Transpose, Reshape, Gather, Slice, Squeeze,
    Concat, ...) only move elements, so running them on ids (with the shape arithmetic they need run
    on numbers) shows what they select. Node k's Y (T, D, B, H) holds ids k·2^40 + its flat index;
    its Y_h holds, for each direction, the ids of Y at the step where it ends (forward T-1, backward
    0: the same values, when every sequence runs to T) or new ids with sequence_lens; Y_c new ids. A
    read-out op (MatMul, Gemm, Add, Mul by a constant) on ids makes each row of its input (the
    features, last axis) one code, and element j of its output row ``_OUT_BASE + code·2^20 + j``.
    The graph's input x gets its declared sizes, and distinct ones (3, 2, 4, ...: :func:`_stand_ins`) for symbolic dims (``fixed``:
    axis -> size, those traced at the size a node fixes, :func:`_trace_plumbing`; ``avoid``: :func:`_shape_sizes` of the
    graph); a glue op numpy refuses at these sizes raises :class:`_Unrunnable`."""

    def __init__(self, model, constants, rec, where: str, arg: str, fixed: Mapping[int, int] | None, avoid: Mapping[int, list]):
        self.model, self.constants, self.rec, self.where, self.arg = model, constants, rec, where, arg
        self.producer = {o: n for n in model.graph.node for o in n.output if o}
        self.values: dict = {}
        self.info: dict = {}  # recurrent node index -> (T, D, B, H, ends, seq)
        self.rows: dict = {}  # row of ids (a tuple) -> code, for the read-out's input
        self.x_shape: tuple = ()
        self.free: set = set()  # the sizes standing for x's symbolic ones
        self.raw_output: tuple | None = None  # (name, layout): the output is the last node's own Y or Y_h, as the operator arranges it
        x = model.graph.input[0] if model.graph.input else None
        if x is not None:
            fixed = dict(fixed or {})  # axis -> size: a symbolic axis traced at the size a node fixes (_trace_plumbing)
            dims = _declared(x)
            self.x_shape = _traced_shape(dims, fixed, avoid)
            self.free = {s for i, (d, s) in enumerate(zip(dims, self.x_shape)) if not d and i not in fixed}
            from onnx import helper

            dtype = helper.tensor_dtype_to_np_dtype(x.type.tensor_type.elem_type)
            self.values[x.name] = np.zeros(self.x_shape, dtype=dtype)

    # -- the output, read ---------------------------------------------------------------------------------
    def head(self, name: str) -> tuple[str, list]:
        """("all" or "last", the read-out nodes in the order they run) for the output ``name``, or refused."""
        v = self.value(name) if name else None
        if not isinstance(v, _Ids):
            node = self.producer.get(name)
            fail(self.where, self.arg, "an output from the last recurrent node's Y (every step) or Y_h (the last step)",
                 f"one from {name or 'a node'!r}, not a recurrent node" + (f" (a {node.op_type} node of constants or of x)" if node is not None else ""))  # fmt: skip
        every_state, final_state = every, final = self._expected(len(self.rec) - 1)
        if v.chain:  # a read-out's output: each row of its input one code
            width = v.ids.shape[-1] if v.ids.ndim else 0
            every, final = (self._out_ids(self._codes(e), width) for e in (every, final))
        node_outputs = [self.values.get(o) for o in self.rec[-1].output[:2]] if not v.chain else []  # the node's own Y, Y_h, as written
        same = lambda a, b: b is not None and a.shape == b.shape and np.array_equal(a, b)  # noqa: E731
        for head, want, raw, raw_name in zip(("all", "last"), (every, final), node_outputs + [None, None], ("Y", "Y_h")):
            if same(v.ids, want):
                return head, list(v.chain)
            if same(v.ids, getattr(raw, "ids", None)):  # the same values as lstmkit's, arranged as the operator's
                self.raw_output = (raw_name, int(_attrs(self.rec[-1]).get("layout", 0)))
                return head, list(v.chain)
        state = v.ids
        if v.chain:  # back to the read-out's input rows, to say which elements it read
            inverse = {c: r for r, c in self.rows.items()}
            state = np.array([inverse[int(c)] for c in np.unique((v.ids - _OUT_BASE) // _OUT_WIDTH)])
        picked, note = set(np.unique(state).tolist()), ""
        T, D, B, H, ends, seq = self.info[len(self.rec) - 1]
        w = v.ids.shape[-1] if v.chain and v.ids.ndim else D * H
        if picked <= set(final_state.reshape(-1).tolist()):  # the final states, arranged otherwise
            note = f", in an array of {v.ids.ndim} axes where head='last' gives (B, {w})"
        elif picked <= set(every_state.reshape(-1).tolist()) and len(picked) == every_state.size:
            note = f", arranged otherwise than every step as the input x is: {'(B, T' if every.shape[0] == B else '(T, B'}, {w})"
        self._refuse(state, note)

    def _expected(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Node k's Y as every step, (T, B, D*H) (batch first: (B, T, D*H), as the graph's x), and its final states (B, D*H)."""
        if k not in self.info:
            self._recurrent(self.rec[k])
        T, D, B, H, ends, seq = self.info[k]
        Y, Yh = self._node_ids(k)[:2]
        every = Y.transpose(0, 2, 1, 3).reshape(T, B, D * H)
        shape = self.x_shape
        batch_first = len(shape) >= 2 and shape[0] != shape[1] and shape[0] == B
        if len(shape) >= 2 and shape[0] == shape[1]:  # sizes that tell nothing: the layout to_onnx and torch write
            batch_first = _batch_first(self.model)
        return (every.transpose(1, 0, 2) if batch_first else every), Yh.transpose(1, 0, 2).reshape(B, D * H)

    def _codes(self, feats: np.ndarray) -> np.ndarray:
        """The code of each row (last axis) of ``feats``; a row no read-out input had gets a new one."""
        flat = feats.reshape(-1, feats.shape[-1])
        return np.array([self.rows.setdefault(tuple(r), len(self.rows)) for r in flat.tolist()], dtype=np.int64).reshape(feats.shape[:-1])

    @staticmethod
    def _out_ids(codes: np.ndarray, width: int) -> np.ndarray:
        return _OUT_BASE + codes[..., None] * _OUT_WIDTH + np.arange(width)

    # -- running the graph ----------------------------------------------------------------------------------
    def value(self, name: str):
        if name in self.values:
            return self.values[name]
        if name in self.constants:
            return np.asarray(self.constants[name])
        node = self.producer.get(name)
        if node is None:
            fail(self.where, self.arg, "a graph whose every input but x is optional (lengths, initial states)", f"the input {name!r} used on the way to the output")
        if node.op_type in ("LSTM", "RNN"):
            self._recurrent(node)
        else:
            outs = self._run(node, [self.value(i) if i else None for i in node.input])
            self.values.update(zip(node.output, outs))
        return self.values[name]

    def static(self, name: str) -> tuple[bool, bool]:
        """(``name`` is computed from constants and x alone, it depends on x): with no other graph
        input on the way (an optional one such as lengths or h0), :meth:`value` computes it."""
        x = self.model.graph.input[0].name if self.model.graph.input else None
        stack, seen, from_x = [name], set(), False
        while stack:
            v = stack.pop()
            if not v or v in seen or v in self.constants:
                continue
            seen.add(v)
            if v == x:
                from_x = True
                continue
            node = self.producer.get(v)
            if node is None:
                return False, from_x
            stack.extend(node.input)
        return True, from_x

    def _recurrent(self, node) -> None:
        k = self.rec.index(node)
        X = self.value(node.input[0])
        a = _attrs(node)
        layout = int(a.get("layout", 0))
        shape = (X.ids if isinstance(X, _Ids) else np.asarray(X)).shape
        if len(shape) != 3:  # the operator's X: (seq_length, batch_size, input_size), layout=1 (batch_size, seq_length, input_size)
            fail(self.where, f"{self.arg} {_node_label(node, k)} X", "3 axes (the operator's (seq_length, batch_size, input_size))",
                 f"{node.input[0]!r} of shape {shape}")  # fmt: skip
        T, B = (shape[1], shape[0]) if layout else (shape[0], shape[1])
        direction = _direction(a)
        D = 2 if direction == "bidirectional" else 1
        R = self.constants.get(node.input[2]) if len(node.input) > 2 else None
        H = int(a.get("hidden_size", 0)) or (R.shape[-1] if R is not None else 1)
        ends = [T - 1, 0] if D == 2 else [0 if direction == "reverse" else T - 1]  # the step where each direction's run ends
        seq = len(node.input) > 4 and bool(node.input[4])
        self.info[k] = (T, D, B, H, ends, seq)
        Y, Yh, Yc = self._node_ids(k)
        if layout:
            Y, Yh, Yc = Y.transpose(2, 0, 1, 3), Yh.transpose(1, 0, 2), Yc.transpose(1, 0, 2)
        self.values.update(zip(node.output, (_Ids(Y), _Ids(Yh), _Ids(Yc))))

    def _node_ids(self, k: int):
        """Node k's Y (T, D, B, H), Y_h and Y_c (D, B, H) as ids (layout 0)."""
        T, D, B, H, ends, seq = self.info[k]
        n = T * D * B * H
        Y = k * _NODE_STRIDE + np.arange(n, dtype=np.int64).reshape(T, D, B, H)
        fresh = k * _NODE_STRIDE + n + np.arange(2 * D * B * H, dtype=np.int64).reshape(2, D, B, H)
        Yh = fresh[0] if seq else np.stack([Y[ends[d], d] for d in range(D)])
        return Y, Yh, fresh[1]

    def _run(self, node, ins) -> list:
        """One node on ids or numbers; ops that mix elements other than a read-out's are refused."""
        op, a = node.op_type, _attrs(node)
        ids = [v for v in ins if isinstance(v, _Ids)]
        if op in _READOUT_OPS and ids:
            return [self._readout(node, ins, a)]
        if ids and op in ("Shape",):
            x = ids[0].ids
            return [np.array(x.shape[a.get("start", 0) : a.get("end", x.ndim)], dtype=np.int64)]
        label = f"a {op} node {node.name or node.output[0]!r}"
        if any(tuple(map(id, v.chain)) != tuple(map(id, ids[0].chain)) for v in ids):
            fail(self.where, self.arg, "one read-out after the last recurrent node", f"{label} joining two")
        if ids and (not isinstance(ins[0], _Ids) or (op == "Concat" and len(ids) < sum(v is not None for v in ins))):
            fail(self.where, self.arg, "an output from the last recurrent node's Y (every step) or Y_h (the last step)",
                 f"{label} mixing its elements with other values" if op == "Concat" else f"{label} taking them as its {('indices', 'shape')[op != 'Gather']}")  # fmt: skip
        args = [v.ids if isinstance(v, _Ids) else v for v in ins]
        if op not in _GLUE_OPS and op not in _READOUT_OPS:
            fail(self.where, f"{op} node {node.name or node.output[0]!r}", "an op lstmkit can follow", repr(op))
        try:
            out = _glue(op, a, args)
        except (ValueError, IndexError, TypeError, KeyError) as exc:  # numpy's words (a reshape, a broadcast, an index at the sizes traced; an input or attribute missing)
            raise _Unrunnable(node, [None if v is None else np.shape(v) for v in args], [_small(v) for v in args], str(exc)) from None
        return [_Ids(np.asarray(out[0], dtype=np.int64), ids[0].chain)] if ids else out

    def _readout(self, node, ins, a) -> _Ids:
        op = node.op_type
        data = [k for k, v in enumerate(ins) if isinstance(v, _Ids)]
        x = ins[data[0]]
        if len(data) > 1 or x.ids.ndim == 0:
            fail(self.where, self.arg, f"a read-out {op} of the last recurrent node's output by a constant", f"a {op} node {node.name or node.output[0]!r} of two of the graph's tensors")
        if op == "Gemm" and (a.get("transA", 0) or data[0] != 0):
            fail(self.where, f"read-out Gemm node {node.name or node.output[0]!r}", "transA=0 and y as its A", f"transA={a.get('transA', 0)}" if a.get("transA", 0) else "y as its B")
        if x.chain:  # already a read-out's output: its rows keep their codes
            codes = (x.ids[..., 0] - _OUT_BASE) // _OUT_WIDTH
            if x.ids.ndim < 1 or not np.array_equal(x.ids, self._out_ids(codes, x.ids.shape[-1])):
                fail(self.where, self.arg, "a read-out acting on the last axis", f"a {op} node {node.name or node.output[0]!r} after its rows were reordered")
        else:
            codes = self._state_codes(x.ids)
        width = x.ids.shape[-1]
        if op in ("MatMul", "Gemm"):
            w = ins[1] if data[0] == 0 else ins[0]
            w = np.asarray(w) if w is not None else np.zeros((width, 0))
            width = w.shape[0 if op == "Gemm" and a.get("transB", 0) else -1] if w.ndim == 2 else width
        return _Ids(self._out_ids(codes, width), x.chain + (node,))

    def _state_codes(self, ids: np.ndarray) -> np.ndarray:
        """Codes of the read-out's input rows: each must be the last node's features at a step, or its final state."""
        last = len(self.rec) - 1
        every, final = self._expected(last)
        known = {tuple(r) for e in (every, final) for r in e.reshape(-1, e.shape[-1]).tolist()}
        rows = ids.reshape(-1, ids.shape[-1]).tolist() if ids.ndim else []
        if ids.ndim == 0 or any(tuple(r) not in known for r in rows):
            self._refuse(ids, " as the read-out's input")
        return self._codes(ids)

    # -- saying what it is ----------------------------------------------------------------------------------
    def _refuse(self, ids: np.ndarray, note: str = ""):
        what, hints = self._described(ids)
        fail(self.where, self.arg, "an output from the last recurrent node's Y (every step) or Y_h (the last step)", f"one from {what}{note}",
             "; ".join(h[0].upper() + h[1:] for h in dict.fromkeys(hints)) + "." if hints else "")  # fmt: skip

    def _described(self, ids: np.ndarray) -> tuple[str, list]:
        """Which recurrent outputs ``ids`` hold (nodes, directions and steps), and why that is no head."""
        n_rec, last = len(self.rec), len(self.rec) - 1
        parts, hints = [], []
        ids = np.unique(ids)
        ids = ids[ids < _OUT_BASE]
        for k in sorted({int(i) // _NODE_STRIDE for i in ids}):
            T, D, B, H, ends, seq = self.info[k]
            mine = ids[ids // _NODE_STRIDE == k] - k * _NODE_STRIDE
            op = self.rec[k].op_type
            n = T * D * B * H
            if (mine >= n + D * B * H).any():
                parts.append(f"the cell state Y_c of {op} node {k} of {n_rec}")
            if k != last:
                parts.append(f"{op} node {k} of {n_rec}")
                hints.append(f"node {k} is layer {k}: head='last' reads the last layer's final state (h_n[-1] of a one-direction torch LSTM)")
                continue
            dirs = []
            y = mine[mine < n]
            t_idx, d_idx = y // (D * B * H), (y // (B * H)) % D
            for d in range(D):
                steps = sorted({int(t) for t in t_idx[d_idx == d]})
                name = ("forward: ", "backward: ")[d] if D == 2 else ""
                finals = seq and ((mine >= n) & (mine < n + D * B * H) & ((mine - n) // (B * H) == d)).any()
                if finals:
                    dirs.append(f"{name}its final state")
                if not steps:
                    continue
                if steps == list(range(T)):
                    dirs.append(f"{name}every step")
                else:
                    shown = ", ".join("T-1" if t == T - 1 else str(t) for t in steps[:4]) + (", ..." if len(steps) > 4 else "")
                    dirs.append(f"{name}step{'s' if len(steps) > 1 else ''} {shown}" + (", its final state" if steps == [ends[d]] and not seq else ""))
                    if seq and ends[d] in steps:
                        hints.append("with sequence_lens, Y at a step past a sequence's end is 0, not its last state")
                    if d == 1 and T - 1 in steps and not seq:
                        hints.append("the backward direction at step T-1 has seen one step: head='last' reads it at step 0, its final state")
            if D == 2 and len(dirs) == 1 and dirs[0].startswith("backward"):
                hints.append("a bidirectional h_n[-1] is the backward direction alone: head='last' reads both, torch.cat((h_n[-2], h_n[-1]), 1)")
            parts.append(f"{op} node {k} of {n_rec} ({'; '.join(dirs)})")
        return " and ".join(parts), hints


def _glue(op: str, a: dict, ins: list) -> list:
    """What an ONNX glue op (``_GLUE_OPS``) or a read-out op (``_READOUT_OPS``, on shape numbers) computes, on ids or
    on the numbers of a shape, in numpy. Any other op is refused by its caller, :meth:`_Plumbing._run`, first."""
    x = ins[0] if ins else None
    if op in ("Identity", "Cast"):
        return [x]
    if op == "Constant":
        from onnx import numpy_helper

        return [numpy_helper.to_array(a["value"]) if "value" in a else np.asarray(next(iter(a.values())))]
    if op == "Transpose":
        return [np.transpose(x, a.get("perm"))]
    if op == "Reshape":
        shape = [int(s) for s in np.asarray(ins[1]).reshape(-1)]
        if not a.get("allowzero", 0):
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [np.reshape(x, shape)]
    if op in ("Squeeze", "Unsqueeze"):
        axes = a.get("axes") if len(ins) < 2 or ins[1] is None else [int(v) for v in np.asarray(ins[1]).reshape(-1)]
        if op == "Squeeze":
            axes = [i for i, s in enumerate(x.shape) if s == 1] if axes is None else axes
            return [np.squeeze(x, tuple(int(ax) % x.ndim for ax in axes))]
        out_nd = x.ndim + len(axes)
        return [np.expand_dims(x, tuple(int(ax) % out_nd for ax in axes))]
    if op == "Concat":
        return [np.concatenate([np.asarray(v) for v in ins if v is not None], axis=a.get("axis", 0))]
    if op == "Gather":
        return [np.take(x, np.asarray(ins[1], dtype=np.int64), axis=a.get("axis", 0))]
    if op == "Slice":
        if len(ins) > 1:
            starts, ends = (np.asarray(v).reshape(-1).tolist() for v in ins[1:3])
            axes = np.asarray(ins[3]).reshape(-1).tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
            steps = np.asarray(ins[4]).reshape(-1).tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        else:  # opset < 10: attributes
            starts, ends = a["starts"], a["ends"]
            axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
        index = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            index[int(ax) % x.ndim] = slice(int(s), int(e), int(st))
        return [x[tuple(index)]]
    if op == "Shape":
        return [np.array(np.shape(x)[a.get("start", 0) : a.get("end", np.ndim(x))], dtype=np.int64)]
    if op == "ConstantOfShape":
        from onnx import numpy_helper

        value = numpy_helper.to_array(a["value"]).reshape(-1)[0] if "value" in a else np.float32(0)
        return [np.full([int(s) for s in np.asarray(x).reshape(-1)], value)]
    if op == "Expand":
        shape = [int(s) for s in np.asarray(ins[1]).reshape(-1)]
        return [np.broadcast_to(x, np.broadcast_shapes(np.shape(x), tuple(shape)))]
    if op in ("Add", "Mul"):  # shape arithmetic
        return [(np.add if op == "Add" else np.multiply)(np.asarray(ins[0]), np.asarray(ins[1]))]
    if op in ("MatMul", "Gemm"):  # a projection of x before the recurrent nodes: shapes only matter
        A, Bm = np.asarray(ins[0]), np.asarray(ins[1])
        A = A.T if a.get("transA", 0) else A
        Bm = Bm.T if a.get("transB", 0) else Bm
        return [np.matmul(A.astype(np.float64), Bm.astype(np.float64))]


def _trace_input(name, producer, constants):
    """Follow ``name`` back through the glue ops to ``(recurrent node, output index)`` or, at a graph
    input (or any other name nothing makes), ``(None, name)``; a Gather from a constant table (a token
    lookup) is followed to its ids."""
    while name in producer:
        node = producer[name]
        if node.op_type in ("LSTM", "RNN"):
            return node, list(node.output).index(name)
        if node.op_type not in _GLUE_OPS or not node.input:
            return node, name
        name = node.input[1] if node.op_type == "Gather" and node.input[0] in constants else node.input[0]
    return None, name


def _described(came) -> str:
    node, what = came
    if node is None:
        return f"{what!r}"
    return f"output {what} of {node.op_type} node {node.name or node.output[0]!r}" if node.op_type in ("LSTM", "RNN") else f"{what!r} of a {node.op_type} node"


def _lstm_from_nodes(model, rec, constants, dtype, where: str, arg: str) -> LSTM:
    """One lstmkit LSTM from a chain of ONNX LSTM nodes (a layer each) that agree in their options."""
    # (read_onnx checked their inputs already, in _check_recurrent_inputs, naming each node by its place in
    # the graph; lstm_from_node's check finds nothing more, and costs ~12 µs a node: a 2-layer graph's read
    # measured 1.18 ms without it, 1.23 with it, once per file)
    try:
        parts = [lstm_from_node(n, constants, dtype) for n in rec]
    except ValueError as exc:  # a node's own refusal (a NaN in its W): say which graph, as the refusals here do
        raise ValueError(f"{where}: {exc}" if arg == "model" else f"{where}: {arg}: {exc}") from None
    first = parts[0].lstm
    for k, p in enumerate(parts):
        if p.direction == "reverse":
            fail(where, f"LSTM node {k}", "direction forward or bidirectional (lstmkit.LSTM has no reverse-only)", "'reverse'",
                 "Run it with lstms_from_onnx() instead." if arg != "IN" else "")  # fmt: skip (IN: lstmkit convert's)
        if p.layout != 0 and len(parts) > 1:
            fail(where, f"LSTM node {k}", "layout 0 in a stack", f"layout {p.layout}")
        for attr in ("hidden_size", "bidirectional", "bias", "variant"):
            if getattr(p.lstm, attr) != getattr(first, attr):
                fail(where, f"LSTM node {k} {attr}", f"{getattr(first, attr)!r} as node 0", repr(getattr(p.lstm, attr)))
    D, H = first.num_directions, first.hidden_size
    module = LSTM(
        first.input_size, H, len(parts), first.bias, batch_first=parts[0].layout == 1 or _batch_first(model),
        bidirectional=D == 2,
        dtype=dtype, seed=0, **first.variant.changed(),
    )
    state = {}
    for k, p in enumerate(parts):
        if k and p.lstm.input_size != D * H:
            fail(where, f"LSTM node {k} input size", f"D*H = {D * H} (the previous layer's output)", p.lstm.input_size)
        state.update({n.replace("_l0", f"_l{k}"): v for n, v in p.lstm.state_dict().items()})
    module.load_state_dict(state)
    return module


def _fold_embedding(model, constants, first, where: str, arg: str) -> dict:
    """A token graph's lookup x_t = E[k_t] folded into the first recurrent node's W.

    The ids must be indexed by one ``Gather`` (axis 0) from a constant table E (V, I): the identity
    from :func:`to_onnx` (one-hot rows; nothing to fold), an ``nn.Embedding``'s weight from
    ``torch.onnx.export``. As W x_t = W E[k] = (W E^T)[:, k], the node with W' = W E^T (D, G*H, V)
    run on one-hot rows e_k computes what the graph computes; ``constants`` is returned with W'.
    """
    ids = {model.graph.input[0].name}
    for n in model.graph.node:  # the ids, maybe cast to int64 first
        if n.op_type in ("Cast", "Identity") and n.input and n.input[0] in ids:
            ids.update(n.output)
    lookups = [n for n in model.graph.node if n.op_type == "Gather" and len(n.input) == 2 and n.input[1] in ids]
    table = constants.get(lookups[0].input[0]) if len(lookups) == 1 else None
    if table is None or table.ndim != 2 or _attrs(lookups[0]).get("axis", 0) != 0:
        fail(where, arg, "token ids x looked up by one Gather (axis 0) from a constant table (V, I)",
             f"{len(lookups)} Gather nodes indexed by x" + ("" if len(lookups) != 1 else " from a runtime or non 2-D table"))  # fmt: skip
    W = constants.get(first.input[1]) if len(first.input) > 1 else None
    if W is None or W.ndim != 3 or W.shape[2] != table.shape[1]:
        size = "I" if W is None or W.ndim != 3 else W.shape[2]
        fail(where, "token lookup table", f"shape (V, {size}) (the first {first.op_type} node's input size)", f"shape {table.shape}")
    table = _finite_weight(table, where, f"{arg} token lookup table ({lookups[0].input[0]!r})", np.float64) if table.dtype.kind == "f" else table
    V = table.shape[0]
    if table.shape == (V, V) and np.array_equal(table, np.eye(V, dtype=table.dtype)):
        return constants  # one-hot rows already
    folded = (W.astype(np.float64) @ table.T.astype(np.float64)).astype(W.dtype)  # (D, G*H, I) @ (I, V)
    return {**constants, first.input[1]: folded}


def _batch_first(model) -> bool:
    """True when the graph's first input goes straight into a Transpose (1, 0, 2), as to_onnx writes."""
    x = model.graph.input[0].name
    for n in model.graph.node:
        if n.op_type == "Transpose" and list(n.input) == [x] and list(_attrs(n).get("perm", [])) == [1, 0, 2]:
            return True
    return False


def _rnn_from_nodes(model, nodes, constants, dtype, where, arg: str = "model"):
    specs = []
    for k, n in enumerate(nodes):
        a = _attrs(n)
        direction = _direction(a)
        if direction not in ("forward", "bidirectional"):
            fail(where, f"RNN node {k} direction", "'forward' or 'bidirectional'", repr(direction))
        acts = {(x.decode() if isinstance(x, bytes) else x).lower() for x in a.get("activations", [b"Tanh"])}
        if len(acts) != 1 or not acts <= {"tanh", "relu"}:
            fail(where, f"RNN node {k} activations", "all Tanh or all Relu", sorted(acts))
        if "clip" in a:
            fail(where, f"RNN node {k}", "no clip", a["clip"])
        ins = list(n.input) + [""] * 6
        W, R = constants.get(ins[1]), constants.get(ins[2])
        B = constants.get(ins[3]) if ins[3] else None
        if W is None or R is None or (ins[3] and B is None):
            fail(where, f"RNN node {k}", "constant W, R and B", "runtime inputs")
        W, R, B = (None if v is None else _node_weight(v, where, f"{arg} RNN node {k} {label} ({ins[j]!r})", dtype)
                   for j, label, v in ((1, "W", W), (2, "R", R), (3, "B", B)))  # fmt: skip
        specs.append((direction, acts.pop(), W, R, B))
    direction, nl, W0, R0, B0 = specs[0]
    D, H, I = W0.shape[0], R0.shape[2], W0.shape[2]
    module = RNN(I, H, len(specs), nl, B0 is not None, batch_first=_batch_first(model), bidirectional=D == 2, dtype=dtype, seed=0)
    state = {}
    for k, (dr, nlk, W, R, B) in enumerate(specs):
        if (dr, nlk, B is None) != (direction, nl, B0 is None):
            fail(where, f"RNN node {k}", "the same direction, activation and bias as node 0", (dr, nlk, B is not None))
        for d in range(D):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            state[f"weight_ih{sfx}"], state[f"weight_hh{sfx}"] = W[d], R[d]
            if B is not None:
                state[f"bias_ih{sfx}"], state[f"bias_hh{sfx}"] = B[d, :H], B[d, H:]
    module.load_state_dict(state)
    return module


def _readout_from_path(path, constants, module, where: str, arg: str = "model"):
    """The read-out between the last recurrent node and the output as one ``{"weight": (O, F), "bias": (O,)}``
    (None when there is none; no "bias" without an Add): the MatMul, Gemm, Add and Mul nodes on
    ``path`` (in the order they run, from :func:`_graph_head`), each with one constant operand,
    composed in float64, ``out = y A + c``: a MatMul ``y W`` (W (F, O), after y) makes A = A W and
    c = c W, and so does a Gemm ``alpha y B' + beta C`` with W = alpha B', then c = c + beta C; an
    Add of b ((O,) or a scalar) c = c + b; a Mul by s A = A s and c = c s. So a Linear (MatMul +
    Add) and a regressor's ``* y_scale + y_mean`` after it are one read-out."""
    F = module.num_directions * module.output_size
    A, c, width = None, None, F  # out = y A + c so far; A None: the identity (F, F)
    for node in path:
        if node.op_type in ("MatMul", "Gemm"):
            W = _readout_weight(node, constants, width, where, arg)  # y W, W (width, O)
            A = W if A is None else A @ W
            c = None if c is None else c @ W
            width = W.shape[1]
            if node.op_type == "Gemm":  # + beta C
                a = _attrs(node)
                C = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
                if C is not None:
                    C = _finite_weight(C, where, f"{arg} read-out Gemm C ({node.input[2]!r})", np.float64)
                if len(node.input) > 2 and node.input[2] and (C is None or np.ndim(C) > 2 or np.size(C) not in (1, width) or (np.ndim(C) == 2 and np.shape(C)[1] != np.size(C))):
                    fail(where, "read-out Gemm C", f"a constant of shape ({width},), (1, {width}) or a scalar", "none" if C is None else f"shape {np.shape(C)}")
                if C is not None:
                    v = float(a.get("beta", 1.0)) * np.broadcast_to(np.asarray(C, dtype=np.float64).reshape(-1), (width,))
                    c = v.copy() if c is None else c + v
            continue
        k = next((i for i, n in enumerate(node.input) if n in constants), None)
        value = None if k is None else _finite_weight(constants[node.input[k]], where, f"{arg} read-out {node.op_type} ({node.input[k]!r})", np.float64)
        if value is None or value.ndim > 1 or value.size not in (1, width):
            fail(where, f"read-out {node.op_type}", f"a constant of shape ({width},) or a scalar", "none" if value is None else f"shape {value.shape}")
        v = np.broadcast_to(value.reshape(-1), (width,))
        if node.op_type == "Add":
            c = v.copy() if c is None else c + v
        else:  # Mul
            A = np.diag(v) if A is None else A * v
            c = None if c is None else c * v
    if A is None and c is None:
        return None
    A = np.eye(F) if A is None else A
    # composed in float64: a product beyond the module's range (1e30 * 1e30 in float32) is refused, not made inf
    readout = {"weight": cast_float(np.ascontiguousarray(A.T), module.dtype, where, f"{arg} read-out weight (its read-out nodes composed)")}
    if c is not None:
        readout["bias"] = cast_float(c, module.dtype, where, f"{arg} read-out bias (its read-out nodes composed)")
    return readout


def _readout_weight(node, constants, width: int, where: str, arg: str = "model") -> np.ndarray:
    """The W (width, O), float64, of a read-out MatMul or Gemm as ``y W``: a MatMul's constant after
    y; a Gemm's ``alpha B'``, B' = B^T with transB (torch's Linear; its ``beta C`` is the caller's)."""
    if node.op_type == "Gemm":
        a = _attrs(node)
        W = constants.get(node.input[1]) if len(node.input) > 1 else None
        W = None if W is None else _finite_weight(W, where, f"{arg} read-out Gemm B ({node.input[1]!r})", np.float64)
        W = W.T if W is not None and W.ndim == 2 and a.get("transB", 0) else W
        if W is None or W.ndim != 2 or W.shape[0] != width:
            fail(where, "read-out Gemm", f"y times a constant of shape ({width}, O) (transB=1: (O, {width}))", "none" if W is None else f"shape {W.shape}")
        return float(a.get("alpha", 1.0)) * W
    k = next((i for i, n in enumerate(node.input) if n in constants), None)
    W = None if k is None else _finite_weight(constants[node.input[k]], where, f"{arg} read-out MatMul ({node.input[k]!r})", np.float64)
    if W is None or k != 1 or W.ndim != 2 or W.shape[0] != width:
        got = "none" if W is None else f"shape {W.shape}" + (" before y" if k == 0 else "")
        fail(where, "read-out MatMul", f"y times a constant of shape ({width}, O)", got)
    return W
