"""Keras 3 <-> lstmkit: ``keras.layers.LSTM``, ``Bidirectional(LSTM)`` and a ``Dense`` read-out.

Weights are converted by :func:`lstmkit.layout.to_keras` / :func:`lstmkit.layout.from_keras`
(Keras gate order i, f, c, o = lstmkit's i, f, g, o; ``kernel`` (I, 4H) = weight_ih^T,
``recurrent_kernel`` (H, 4H) = weight_hh^T, one ``bias`` (4H,) = bias_ih + bias_hh). A stack of
Keras layers maps to one multi-layer lstmkit LSTM::

    keras.Sequential([Input((None, I)),                       lstmkit.LSTM(I, H, num_layers=L,
        LSTM(H, return_sequences=True)  x L                        bidirectional=<Bidirectional>,
          (or Bidirectional(LSTM(H, ...)), merge_mode="concat")    dropout_input=<dropout>,
        Dense(O)])                                                 dropout_recurrent=<recurrent_dropout>,
                                                                   activations=(recurrent_activation,
                                                                                activation, activation))
                                                             + read-out {"weight": Dense.kernel^T,
                                                                         "bias": Dense.bias}

Keras activations map to lstmkit's: sigmoid, tanh, relu, softsign, softplus, elu, linear (affine
1, 0) and hard_sigmoid (Keras 3: relu6(x + 3) / 6, i.e. hard_sigmoid with α = 1/6, β = 0.5).
Keras ``dropout``/``recurrent_dropout`` are lstmkit's variational ``dropout_input``/
``dropout_recurrent`` (one mask per sequence; training only), and a ``Dropout`` between two LSTM layers is
lstmkit's ``dropout`` (several in a row: their combined rate 1 - (1 - a)(1 - b), as Keras computes them). lstmkit
has one rate between every two layers: when the rates between the pairs of layers differ (some pairs have
none), the last one is read, with a UserWarning naming them (training further differs; inference does not).
A rate outside [0, 1) or not a number is refused naming the layer (``layer 'lstm' dropout``). A ``Dropout`` after the last LSTM layer (before the Dense) is left out with a
UserWarning naming it: lstmkit's dropout acts between stacked layers only, and a Dropout computes
nothing at inference, so the model read computes Keras' ``model(x)``. Refused by name: ``go_backwards``
outside Bidirectional, a ``merge_mode`` other than "concat", a non-linear Dense, and, on export,
the lstmkit options Keras has no twin for (proj_size, peephole, input_forget, clips, layer_norm,
zoneout, dropconnect, different activations for the candidate and the cell output).

Keras runs batch-major, (B, T, I); the lstmkit model is built with ``batch_first=True``. Every
reader returns the model in eval mode (``training=False``), computing what Keras' ``model(x)`` and
``predict`` compute: Keras' ``Dropout`` and ``dropout``/``recurrent_dropout`` act in training only.
Call ``.train()`` (a :class:`~lstmkit.Trainer` does) to train it further with them.

``TimeDistributed(Dense)`` is read as the Dense it wraps (on a sequence it computes exactly
``Dense``). One lstmkit LSTM has one setting for all its layers: a stack of LSTMs of different
widths (units), bias or options is refused, naming the layer. A ``Masking`` layer is refused
(lstmkit reads no Keras mask): an lstmkit model takes each sequence's length instead,
``model(x, lengths=lengths)``, for sequences padded at the end. A model holding a layer lstmkit
cannot read (a GRU, a Masking, TimeDistributed(Activation)) is refused with a ValueError, from a
live model as from a file; only an ``obj`` that is no Keras layer or model is a TypeError.

The last step only: Keras' default ``return_sequences=False`` on the last recurrent layer (every
earlier one must return sequences: the next layer reads every step) is lstmkit's
:class:`~lstmkit.SequenceModel` with ``head="last"`` — h at the last step; bidirectional: the
forward direction's last step beside the backward's step 0, exactly Keras' ``Bidirectional(LSTM(H))``
output — and the Dense is its linear read-out (none: the identity read-out)::

    keras.Sequential([Input((None, I)),                  SequenceModel(I, O, H, num_layers=L,
        LSTM(H, return_sequences=True)  x L-1                head="last" (False) / "all" (True),
        LSTM(H, return_sequences=False|True),                readout="linear" (Dense) / "identity",
        Dense(O)])                                           bidirectional=..., dropout=..., lstm_options=...)

:func:`model_from_keras` (a live model or a ``.keras``/``.weights.h5`` path) returns that
SequenceModel for either setting; :func:`to_keras` / :func:`write_keras_file` take one and write
``return_sequences=head == "all"`` on the last layer. :func:`from_keras` and
:func:`read_keras_file` keep returning ``(LSTM, readout)``, an LSTM run over every step with the
read-out applied at each, and so refuse ``return_sequences=False`` by name, pointing to
:func:`model_from_keras`; :func:`read_keras` returns a file's parts, ``(LSTM, readout, head)``, either
setting. A SequenceModel's ``inputs="tokens"`` and ``cell="rnn"`` have no Keras
twin here and are refused; a Dense without bias comes in as a zero bias.

Files: :func:`read_keras_file` reads ``.keras`` (a zip of ``config.json`` + ``model.weights.h5``)
and ``.weights.h5`` with ``json`` and ``h5py`` only — Keras is not imported and nothing in the file
is executed (for a bare ``.weights.h5`` the architecture is inferred from the weights' shapes, with
Keras' default activations; its groups are named by layer class, and a group of any class but LSTM,
Bidirectional, Dense and TimeDistributed(Dense) is refused naming it, with or without weights (a
Lambda, a BatchNormalization, a RepeatVector between LSTMs would change what is computed) but
``input_layer*`` and ``dropout*``, skipped: no-ops at inference). A Functional model is read as the stack its layers are listed in
only when each layer reads the one before and the last is the one output (branches are refused). :func:`write_keras_file` builds the Keras model and saves it.
Keras and h5py are imported inside the functions; without the one needed, a ModuleNotFoundError
(``name="keras"`` or ``"h5py"``) gives the pip line that installs it.
"""

from __future__ import annotations

import io
import json
import numbers
import os
import re
import warnings
import zipfile
from contextlib import contextmanager
from typing import Mapping

import numpy as np

from .. import layout
from .._checks import LstmkitWarning, check_float_array, fail, is_int, message, optional_import
from ..io import BOMB_RATIO, MAX_BYTES, MAX_META_CHARS, FileFormatError, _bomb, check_zip_sizes
from ..modelfile import _readout_arrays
from ..recurrent import LSTM

#: Keras activation name -> lstmkit activation spec
KERAS_TO_LSTMKIT = {
    "sigmoid": "sigmoid", "tanh": "tanh", "relu": "relu", "softsign": "softsign", "softplus": "softplus",
    "elu": "elu", "linear": "affine", "hard_sigmoid": ("hard_sigmoid", 1.0 / 6.0, 0.5),
}  # fmt: skip
_TRAINING = {"dropout": "dropout_input", "recurrent_dropout": "dropout_recurrent"}
_NO_KERAS_TWIN = ("peephole", "input_forget", "gate_clip", "cell_clip", "layer_norm", "zoneout_cell", "zoneout_hidden", "dropconnect")
#: what a model may hold, as the refusals say it
LAYERS = "LSTM, Bidirectional(LSTM), Dropout between or after them, a final Dense (or TimeDistributed(Dense))"


class _Refusal(ValueError):
    """This module's refusal of a Keras model's layer, configuration or array (:func:`_refuse`, or one of
    lstmkit's checks of an array it holds, :func:`_refusing`). A reader of a file names the file in it and
    raises it as a :class:`~lstmkit.io.FileFormatError` (:func:`_read_file`); a reader of a live model as
    the ValueError it is (:func:`_from_live`). Told apart by its type, never by its text: any other
    exception raised while building the model (NumPy's, Python's, a bug of lstmkit's, worded as lstmkit's
    refusals or not) goes on unchanged, with its traceback."""


def _refuse(where: str, arg: str, expected: str, got, fix: str = "") -> None:
    """Raise :class:`_Refusal` with lstmkit's one message (:func:`lstmkit._checks.fail`)."""
    fail(where, arg, expected, got, fix, exc=_Refusal)


@contextmanager
def _refusing():
    """Inside: lstmkit's own check of what the Keras model holds (check_float_array, LSTM's
    constructor given its configuration), whose ValueError is then a :class:`_Refusal` of it."""
    try:
        yield
    except ValueError as exc:
        raise _Refusal(str(exc)) from None


def _keras(where: str, why: str):
    """Import Keras. If nothing chose a backend yet, choose torch (the one lstmkit's extras install):
    Keras reads ``KERAS_BACKEND`` once, when first imported, and defaults to TensorFlow. Not
    installed: ``where`` (the public function) and ``why`` name it in the pip line's message."""
    import sys

    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    with optional_import("keras", where, why):
        import keras

    return keras


def _act_spec(name, where: str, arg: str):
    if not isinstance(name, str) or name not in KERAS_TO_LSTMKIT:
        _refuse(where, arg, f"one of {sorted(KERAS_TO_LSTMKIT)}", repr(name))
    return KERAS_TO_LSTMKIT[name]


def _keras_name(spec, where: str) -> str:
    from ..activations import get_activation

    a = get_activation(spec)
    for k, v in KERAS_TO_LSTMKIT.items():
        if get_activation(v) == a:
            return k
    fix = ""
    if a.name == "hard_sigmoid":  # the same name, other constants: say which Keras uses
        fix = ("Keras' hard_sigmoid is min(max(z/6 + 1/2, 0), 1); lstmkit's default (ONNX's) has α = 0.2: "
               "give ('hard_sigmoid', 1/6, 0.5) to have Keras' one.")  # fmt: skip
    fail(where, "each activation", "one Keras has (sigmoid, tanh, relu, softsign, softplus, elu, affine, "
         "('hard_sigmoid', 1/6, 0.5))", repr(spec), fix)  # fmt: skip


# -- the neutral description both directions go through -------------------------------------------
def _check_sizes(I, H, D: int, layers: list[dict], dense: dict | None, where: str, dtype) -> None:
    """Each layer's arrays against the sizes the configuration gives (``units`` H, input size I; the
    layers after the first read D*H), before anything is built from those sizes, naming the layer and
    the array: Keras' kernel (I, 4H), recurrent_kernel (H, 4H) and bias (4H,); every value finite and
    within the range of the model's ``dtype`` (a float64 1e39 in a layer of a float32 model)."""
    name0 = layers[0]["name"]
    if not is_int(H) or H < 1:
        _refuse(where, f"layer {name0!r} units", "a positive integer", repr(H))
    if not is_int(I) or I < 1:
        _refuse(where, "input size (the InputLayer's last dimension)", "a positive integer", repr(I))
    for k, lay in enumerate(layers):
        In = I if k == 0 else D * H
        for d, (K, RK, b) in enumerate(lay["dirs"]):
            side = ("forward_layer " if d == 0 else "backward_layer ") if D == 2 else ""
            for arg, arr, shape in (("kernel", K, (In, 4 * H)), ("recurrent_kernel", RK, (H, 4 * H)), ("bias", b, (4 * H,))):
                if arr is None or (arg == "bias" and not lay["use_bias"]):
                    continue
                _check_weight(arr, shape, where, f"layer {lay['name']!r} {side}{arg}", f"(units {H}, input size {In})", dtype)
    if dense is not None:
        for arg, arr in (("kernel", dense["kernel"]), ("bias", dense.get("bias"))):
            if arr is not None:
                _check_weight(arr, None, where, f"Dense {arg}", "", dtype)


def _range_fix(dtype) -> str:
    """The advice for a weight beyond the model's float range: the model is read in the float type of
    the file's first LSTM kernel, which the reader has no option to change."""
    return (f"lstmkit reads a Keras model in the float type of its first LSTM kernel ({np.dtype(dtype).name} here): "
            "save the Keras model in float64 (keras.config.set_floatx('float64') before building it) to read it in float64.")


def _check_weight(arr, shape, where: str, arg: str, sizes: str, dtype) -> None:
    arr = np.asarray(arr)
    if arr.dtype.kind != "f":
        _refuse(where, arg, "a float array", f"dtype {arr.dtype}")
    if shape is not None and arr.shape != shape:
        _refuse(where, arg, f"shape {shape} {sizes}", f"shape {arr.shape}", "The configuration and the weights disagree: the file was edited or damaged.")
    with _refusing():  # finite, and within the model's dtype: a value beyond it named as stored, by its layer
        check_float_array(arr, where, arg, dtype, range_fix=_range_fix(dtype))


def _lstm_options(cfg: Mapping, where: str, layer) -> dict:
    """A Keras LSTM config (dict) of the layer named ``layer`` -> lstmkit options, refusing what lstmkit
    cannot run, naming the layer in the argument (``layer 'lstm_1' go_backwards``), as every refusal of
    a layer here does: the where stays the function called, which a command replaces by its own name.
    (``return_sequences`` is the layer's ``"sequences"``, checked by :func:`_build`.)"""
    if cfg.get("go_backwards"):
        _refuse(where, f"layer {layer!r} go_backwards", "False (lstmkit runs reverse directions only inside a bidirectional LSTM)", True)
    g = _act_spec(cfg.get("activation", "tanh"), where, f"layer {layer!r} activation")
    f = _act_spec(cfg.get("recurrent_activation", "sigmoid"), where, f"layer {layer!r} recurrent_activation")
    opts = {}
    if (f, g, g) != ("sigmoid", "tanh", "tanh"):
        opts["activations"] = (f, g, g)
    for k, ours in _TRAINING.items():
        rate = _rate(cfg.get(k, 0.0), where, f"layer {layer!r} {k}")  # before LSTM(...): named as the file names it
        if rate:
            opts[ours] = rate
    return opts


def _rate(value, where: str, arg: str) -> float:
    """A dropout rate of the Keras model (a Dropout's ``rate``, an LSTM's ``dropout``/``recurrent_dropout``) as a
    float, refusing anything but a number in [0, 1) (lstmkit's range), named as the model names it
    (``layer 'lstm' dropout``, ``layer 'dropout' rate``): not by lstmkit's option it becomes (dropout_input)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= float(value) < 1.0:
        _refuse(where, arg, "a number in [0, 1)", repr(value))
    return float(value)


def _between(gaps: list, names: list, where: str, stacklevel: int) -> float:
    """lstmkit's one ``dropout`` from the Dropout layers between stacked LSTM layers: ``gaps[k]``, the
    [(name, rate)...] between LSTM layers ``names[k]`` and ``names[k + 1]``. Several in a row act as one of
    rate 1 - (1 - a)(1 - b)... (each keeps an element with probability 1 - rate and scales it by 1 / (1 - rate),
    independently), so a gap's rate is that product's; none: 0. When the gaps' rates differ (a rate between
    some pairs only, or other rates between other pairs) lstmkit cannot hold them (one rate between every
    two layers): the last gap holding a Dropout gives it, with a UserWarning naming every gap. Dropout acts in
    training only: the model read computes Keras' ``model(x)`` either way."""
    rates = [gap[0][1] if len(gap) == 1 else 1.0 - float(np.prod([1.0 - r for _, r in gap])) for gap in gaps]  # none: 0.0
    held = [r for r, gap in zip(rates, gaps) if gap]
    dropout = held[-1] if held else 0.0
    if len(set(rates)) > 1:
        said = "; ".join(f"between {a!r} and {b!r}: " + (", ".join(f"{n!r} Dropout(rate={r:g})" for n, r in gap) or "none")
                         for a, b, gap in zip(names, names[1:], gaps))  # fmt: skip
        warnings.warn(
            f"{where}: the Dropout layers between the LSTM layers ({said}) are read as one dropout={dropout:g} between every two "
            "stacked LSTM layers: lstmkit's dropout has one rate for all of them. Dropout acts in training only, so the model read "
            f"computes what Keras' model(x) and predict compute; trained further, it trains with dropout={dropout:g} between "
            "every two layers.", LstmkitWarning, stacklevel=stacklevel)  # fmt: skip
    return dropout


def _build(I: int, layers: list[dict], dense: dict | None, dropout: float, where: str):
    """layers: [{"name", "units", "use_bias", "options", "sequences", "dirs": [(kernel, recurrent_kernel,
    bias)...]}] -> ``(LSTM, readout_or_None, head)``, head "last" when the last layer returns its
    last step only (``sequences`` False)."""
    first = layers[0]
    D = len(first["dirs"])
    for lay in layers[:-1]:
        if not lay["sequences"]:
            _refuse(where, f"layer {lay['name']!r} return_sequences", "True on every LSTM layer but the last (the next layer reads every step)", False)
    for k, lay in enumerate(layers):
        for key in ("units", "use_bias", "options"):
            if lay[key] != first[key]:
                _refuse(where, f"layer {k} {key}", f"{first[key]!r} as layer 0 (one lstmkit LSTM has one setting)", repr(lay[key]))
        if len(lay["dirs"]) != D:
            _refuse(where, f"layer {k}", "all layers bidirectional or none", f"{len(lay['dirs'])} directions")
    H = first["units"]
    dt = np.float64 if first["dirs"][0][0].dtype == np.float64 else np.float32
    _check_sizes(I, H, D, layers, dense, where, dt)  # before LSTM(I, H) allocates: a config's units=10**9 over 4-unit weights
    with _refusing():  # the configuration's options (rates: checked by _rate, named by their layer)
        module = LSTM(I, H, len(layers), first["use_bias"], batch_first=True, dropout=dropout, bidirectional=D == 2, dtype=dt, seed=0, **first["options"])
    state = {}
    for k, lay in enumerate(layers):
        for d, (K, RK, b) in enumerate(lay["dirs"]):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            packed = layout.from_keras(K, RK, b if first["use_bias"] else None)
            state.update({n + sfx: v for n, v in packed.items()})
    module.load_state_dict(state)  # shapes and values checked above: a refusal here is a bug of lstmkit's, not the file's
    module.eval()  # what Keras' model(x) computes: its dropouts act in training only
    readout = None
    if dense is not None:
        kernel = np.asarray(dense["kernel"])
        F = D * H
        if kernel.ndim != 2 or kernel.shape[0] != F:
            _refuse(where, "Dense kernel", f"shape ({F}, O)", f"shape {kernel.shape}")
        # in the model's dtype: a plain cast, _check_sizes refused a value beyond its range (named at the kernel's index)
        readout = {"weight": np.ascontiguousarray(kernel, dtype=dt).T.copy()}
        if dense.get("bias") is not None:
            readout["bias"] = np.ascontiguousarray(dense["bias"], dtype=dt)
    return module, readout, "all" if layers[-1]["sequences"] else "last"


def _every_step(built, where: str):
    """:func:`_build`'s result as ``(LSTM, readout)``, refusing a model that reads its last step only."""
    module, readout, head = built
    if head == "last":
        fail(where, "return_sequences", "True on the last LSTM layer (this returns an LSTM run over every step, the read-out applied at each)", False,
             "Use lstmkit.interop.keras.model_from_keras(...), which returns a SequenceModel(head='last') computing what the Keras model computes.")  # fmt: skip
    return module, readout


def model_from_keras(obj_or_path):
    """A Keras model (live, or a ``.keras`` / ``.weights.h5`` path) -> :class:`lstmkit.SequenceModel`.

    ``head="last"`` when the last LSTM layer has ``return_sequences=False``, else ``"all"``;
    ``readout="linear"`` with the Keras ``Dense`` (its weights), else ``"identity"``. The model is
    batch first like Keras: ``out, state = model(x)`` with x (B, T, I) gives out (B, O) ("last") or
    (B, T, O) ("all"), Keras' ``model(x)``: the model comes back in eval mode, so Keras'
    dropouts (``Dropout`` between LSTM layers, an LSTM's ``dropout`` / ``recurrent_dropout``, kept as the
    model's options) act only once it is put in training mode (``.train()``; a Trainer does); a
    ``Dropout`` after the last LSTM layer is left out, and Dropouts of different rates between different
    layers are read as the last one, each with a UserWarning naming them.
    A ``.weights.h5`` holds no configuration: it is read
    with Keras' defaults and head="all" (use the ``.keras`` file of a return_sequences=False model).
    Layers and refusals: :func:`from_keras` (module docstring).
    """
    from ..models import SequenceModel

    if isinstance(obj_or_path, (str, os.PathLike)):
        module, readout, head = _read_file(obj_or_path, "model_from_keras")
    else:
        module, readout, head = _from_live(obj_or_path, "model_from_keras")
    return SequenceModel.from_parts(module, readout, head).eval()  # from_parts builds it in training mode


# -- live Keras objects -----------------------------------------------------------------------------
def from_keras(obj):
    """A Keras ``LSTM``, ``Bidirectional(LSTM)`` or a model of them (+ a final ``Dense``) -> lstmkit.

    Returns ``(module, readout_or_None)``: an lstmkit :class:`~lstmkit.LSTM` with
    ``batch_first=True`` (Keras is batch-major), in eval mode (Keras' dropouts act in training
    only), and the read-out dict of the Dense layer (or of a ``TimeDistributed(Dense)``). The
    layers must be built (called once or given an Input). Every LSTM layer must return sequences;
    for a Keras model whose last one returns the last step only, use :func:`model_from_keras`.
    """
    return _every_step(_from_live(obj, "from_keras"), "from_keras")


def _from_live(obj, where: str):
    """A live Keras layer or model -> :func:`_build`'s result; its refusals are ValueErrors."""
    try:
        return _build(*_live_parts(obj, where), where)
    except _Refusal as exc:
        raise ValueError(str(exc)) from None


def _live_parts(obj, where: str):
    """A live Keras layer or model -> :func:`_build`'s arguments but ``where``."""
    keras = _keras(where, "to read a Keras model")
    if isinstance(obj, (keras.layers.LSTM, keras.layers.Bidirectional)):
        layer_list = [obj]
    elif isinstance(obj, keras.Model):
        layer_list = [l for l in obj.layers if not isinstance(l, keras.layers.InputLayer)]
    else:
        fail(where, "obj", "a keras LSTM, Bidirectional(LSTM) or a model of them", type(obj).__name__, exc=TypeError)
    rec, dense, dropouts = [], None, _Dropouts()
    for lay in layer_list:
        if dense is not None:
            _refuse(where, f"layer {lay.name!r}", "nothing after the Dense read-out", type(lay).__name__)
        if isinstance(lay, (keras.layers.LSTM, keras.layers.Bidirectional)):
            dropouts.lstm(rec)
        if isinstance(lay, keras.layers.LSTM):
            rec.append(_live_layer([lay], where))
        elif isinstance(lay, keras.layers.Bidirectional):
            if lay.merge_mode != "concat":
                _refuse(where, f"layer {lay.name!r} merge_mode", "'concat'", repr(lay.merge_mode))
            if not isinstance(lay.forward_layer, keras.layers.LSTM):
                _refuse(where, f"layer {lay.name!r}", "Bidirectional(LSTM)", f"Bidirectional({type(lay.forward_layer).__name__})")
            fwd_cfg, bwd_cfg = lay.forward_layer.get_config(), lay.backward_layer.get_config()
            if not bwd_cfg.get("go_backwards"):
                _refuse(where, f"layer {lay.name!r} backward_layer go_backwards", "True", False)
            bwd_cfg = dict(bwd_cfg, go_backwards=False)
            rec.append(dict(_live_layer([lay.forward_layer, lay.backward_layer], where, [fwd_cfg, bwd_cfg]), name=lay.name))
        elif isinstance(lay, keras.layers.Dense):
            dense = _dense(lay.get_config(), lay.get_weights(), where, lay.name)
        elif isinstance(lay, keras.layers.TimeDistributed) and isinstance(lay.layer, keras.layers.Dense):  # Dense at each step: Dense
            dense = _dense(lay.layer.get_config(), lay.layer.get_weights(), where, lay.name)
        elif isinstance(lay, keras.layers.Dropout) and rec:
            dropouts.after.append((lay.name, _rate(lay.rate, where, f"layer {lay.name!r} rate")))
        elif isinstance(lay, keras.layers.Masking):
            _refuse_masking(where, lay.name, f"Masking(mask_value={lay.mask_value!r})")
        else:
            what = f"TimeDistributed({type(lay.layer).__name__})" if isinstance(lay, keras.layers.TimeDistributed) else type(lay).__name__
            _refuse(where, f"layer {lay.name!r}", LAYERS, what)  # by its name, as a file's refusal names it
    if not rec:
        _refuse(where, "obj", "at least one LSTM layer", "none")
    return rec[0]["dirs"][0][0].shape[0], rec, dense, dropouts.rate(rec, dense is not None, where)


class _Dropouts:
    """The Dropout layers of a Keras chain as it is read (live, :func:`_live_parts`, or from a file,
    :func:`_from_config`): ``after``, the [(name, rate)...] since the last LSTM layer; ``gaps``, those
    between each two LSTM layers so far."""

    def __init__(self) -> None:
        self.gaps: list[list] = []
        self.after: list = []

    def lstm(self, rec: list) -> None:
        """An LSTM or Bidirectional layer comes after the layers ``rec`` read so far: the Dropouts since
        the last of them (if any) are a gap between two LSTM layers, lstmkit's dropout (:func:`_between`)."""
        if rec:
            self.gaps.append(self.after)
        self.after = []

    def rate(self, rec: list, dense: bool, where: str) -> float:
        """All layers read (``rec`` the LSTM layers, ``dense`` whether a Dense read-out follows): the
        Dropouts after the last LSTM layer left out (:func:`_leave_out`) and lstmkit's one dropout
        (:func:`_between`), their warnings pointing at the line that called the public reader."""
        _leave_out(self.after, dense, where, stacklevel=6)
        return _between(self.gaps, [lay["name"] for lay in rec], where, stacklevel=6)


def _leave_out(dropouts: list, dense: bool, where: str, stacklevel: int) -> None:
    """Warn that the Dropout layers ``dropouts`` ([(name, rate)...]), after the last LSTM layer (before the
    Dense read-out when ``dense``), are left out. lstmkit's dropout acts between stacked LSTM layers only,
    none after the last one; a Dropout acts in training only, so the model read computes what Keras'
    ``model(x)`` and ``predict`` compute: only training it further differs (it trains without)."""
    for name, rate in dropouts:
        warnings.warn(
            f"{where}: layer {name!r}, Dropout(rate={rate:g}) after the last LSTM layer{' (before the Dense read-out)' if dense else ''}, "
            "is left out: lstmkit's dropout acts between stacked LSTM layers only (none after the last one, before the read-out). "
            "Dropout acts in training only, so the model read computes what Keras' model(x) and predict compute; "
            "trained further, it trains without that dropout.", LstmkitWarning, stacklevel=stacklevel)  # fmt: skip


def _refuse_masking(where: str, name, got: str):
    """A Masking layer: lstmkit reads no Keras mask; its models take each sequence's length."""
    _refuse(where, "model", "without Masking (lstmkit reads no Keras mask)", f"layer {name!r}, {got}",
         "Masking is not read: save the model without it (the same layers and weights) and pass each sequence's length "
         "to the lstmkit model instead, out, _ = model(x, lengths=lengths), for sequences padded at the end.")  # fmt: skip


def _live_layer(layers, where, configs=None) -> dict:
    configs = configs or [l.get_config() for l in layers]
    opts = [_lstm_options(c, where, l.name) for l, c in zip(layers, configs)]
    if len(opts) == 2 and opts[0] != opts[1]:
        _refuse(where, "Bidirectional", "the same options in both directions", f"{opts}")
    dirs = []
    for lay, cfg in zip(layers, configs):
        w = [np.asarray(v) for v in lay.get_weights()]
        if not w:
            _refuse(where, f"layer {lay.name!r}", "built weights", "none", "Call the model once or give it an Input.")
        dirs.append((w[0], w[1], w[2] if cfg.get("use_bias", True) else None))
    sequences = bool(configs[0].get("return_sequences", False))  # Keras' default: the last step only
    return {"name": layers[0].name, "units": configs[0]["units"], "use_bias": bool(configs[0].get("use_bias", True)), "options": opts[0], "sequences": sequences, "dirs": dirs}


def _dense(cfg: Mapping, weights: list, where: str, name=None) -> dict:
    """A Dense layer's config and arrays -> ``{"kernel", "bias"}``, checked by :func:`_dense_weights`."""
    if cfg.get("activation", "linear") != "linear":
        _refuse(where, "Dense activation", "'linear' (lstmkit's read-out is y W^T + b)", repr(cfg.get("activation")))
    return _dense_weights(weights, where, cfg.get("name") if name is None else name)


def _dense_shaped(w: list) -> bool:
    """Whether the arrays ``w`` are a Dense's: a float kernel (F, O), then maybe a float bias (O,), nothing else."""
    return all(v.dtype.kind == "f" for v in w) and len(w) in (1, 2) and w[0].ndim == 2 and (len(w) == 1 or w[1].shape == w[0].shape[1:])


def _described(w: list) -> str:
    """The arrays ``w`` as a refusal names them: ``float32 (4, 2), float32 (2,)``."""
    return ", ".join(f"{v.dtype} {v.shape}" for v in w)


def _dense_weights(weights: list, where: str, name) -> dict:
    """A Dense's arrays -> ``{"kernel", "bias"}``: a float kernel (F, O), then maybe a float bias (O,), nothing
    else. A Dense Keras changed holds more or other arrays, which read as a kernel and bias compute something
    else: quantized (``dense.quantize("int8")``: an int8 kernel and its scale), or with LoRA on (live:
    its kernel, bias and the two low-rank factors; a saved file holds the kernel merged)."""
    w = [v if hasattr(v, "dtype") and hasattr(v, "ndim") else np.asarray(v) for v in weights]  # a file's datasets: not read yet
    if _dense_shaped(w):
        w = [np.asarray(v) for v in w]
        return {"kernel": w[0], "bias": w[1] if len(w) == 2 else None}
    _refuse(where, f"layer {name!r}", "a Dense's weights: a float kernel (F, O) and a float bias (O,) (or none)",
         f"{len(w)} arrays: {_described(w)}",
         "A quantized Dense, or a live one with LoRA on, is not read: read the float model from before quantize(), "
         "or save the LoRA one and read the file (it holds the merged kernel).")  # fmt: skip


def to_keras(module, readout=None):
    """An lstmkit ``LSTM`` (and read-out) or ``SequenceModel`` -> a built ``keras.Sequential`` with the same weights.

    Layers: ``Input((None, I))``, then per lstmkit layer ``LSTM(H, return_sequences=True)`` (in
    ``Bidirectional`` when bidirectional), with ``Dropout`` between them when ``dropout`` > 0, then
    ``Dense(O)`` for the read-out. The model takes (B, T, I) and returns (B, T, D*H) or (B, T, O).
    ``readout``: ``{"weight": (O, D*H), "bias": (O,)}``, an :class:`lstmkit.Linear` or a
    ``torch.nn.Linear``, checked as ``save_lstm`` checks it. A SequenceModel brings its own read-out (``readout`` must be None; the identity one: no Dense)
    and, with head="last", ``return_sequences=False`` on the last layer: the model returns (B, O).
    """
    where = "to_keras"
    keras = _keras(where, "to build the Keras model")
    module, readout, sequences = _unwrap(module, readout, where)
    if type(module) is not LSTM:
        fail(where, "module", "an lstmkit LSTM or SequenceModel", type(module).__name__, exc=TypeError)
    changed = module.variant.changed() if hasattr(module, "variant") else {}
    bad = [k for k in _NO_KERAS_TWIN if k in changed] + (["proj_size"] if module.proj_size else [])
    if bad:
        fail(where, "module", "options Keras LSTM has", f"{', '.join(bad)} set")
    f, g, h = module.variant.activations if hasattr(module, "variant") else ("sigmoid", "tanh", "tanh")
    if g != h:
        fail(where, "activations", "the same candidate and output activation (Keras has one 'activation')", f"{g!r} and {h!r}")
    kw = dict(
        units=module.hidden_size, activation=_keras_name(g, where), recurrent_activation=_keras_name(f, where), use_bias=module.bias,
        return_sequences=True, dropout=changed.get("dropout_input", 0.0), recurrent_dropout=changed.get("dropout_recurrent", 0.0),
    )
    dtype = "float64" if module.dtype == np.float64 else "float32"
    layers = [keras.Input((None, module.input_size), dtype=dtype)]
    sd = module.state_dict()
    weights = []
    for k in range(module.num_layers):
        if k and module.dropout:
            layers.append(keras.layers.Dropout(module.dropout))
        lstm = keras.layers.LSTM(**dict(kw, return_sequences=sequences or k < module.num_layers - 1), dtype=dtype)
        if module.bidirectional:
            layers.append(keras.layers.Bidirectional(lstm, merge_mode="concat", dtype=dtype))
        else:
            layers.append(lstm)
        for d in range(module.num_directions):
            sfx = f"_l{k}" + ("_reverse" if d else "")
            kk = layout.to_keras({n[: -len(sfx)]: v for n, v in sd.items() if n.endswith(sfx)})
            weights.append([kk["kernel"], kk["recurrent_kernel"]] + ([kk["bias"]] if module.bias else []))
    # save_lstm's rule: a mapping, a Linear or a torch.nn.Linear; keys, O >= 1, float, shapes, finite, the module's range
    head = _readout_arrays(readout, module.num_directions * module.hidden_size, where, module.dtype, call="module, readout=")
    if head:
        layers.append(keras.layers.Dense(head["head.weight"].shape[0], use_bias="head.bias" in head, dtype=dtype))
    model = keras.Sequential(layers)
    it = iter(weights)
    for lay in model.layers:
        if isinstance(lay, keras.layers.Bidirectional):
            lay.set_weights(next(it) + next(it))
        elif isinstance(lay, keras.layers.LSTM):
            lay.set_weights(next(it))
        elif isinstance(lay, keras.layers.Dense):
            lay.set_weights([head["head.weight"].T] + ([head["head.bias"]] if "head.bias" in head else []))
    return model


def _unwrap(module, readout, where: str):
    """``(module, readout)`` or a SequenceModel -> ``(LSTM, readout, every step?)``."""
    if not (hasattr(module, "rnn") and hasattr(module, "head_mode")):
        return module, readout, True
    if readout is not None:
        fail(where, "readout", "None for a SequenceModel (its own read-out is exported)", "a read-out")
    if module.inputs != "features":
        fail(where, "model inputs", "'features' (the Keras model takes feature vectors)", repr(module.inputs), "One-hot the ids and use a model with inputs='features'.")
    return *module.parts(), module.head_mode == "all"


# -- files, without Keras -------------------------------------------------------------------------
#: how many variables Keras writes under a layer's vars: an LSTM cell's kernel, recurrent_kernel and bias (use_bias)
_LSTM_VARS = (2, 3)


def _h5_vars(group, where: str, counts: tuple[int, ...] | None = None) -> list:
    """The datasets under ``<group>/vars`` (or ``<group>/cell/vars``), in index order, not read (their
    dtype and shape are known without reading). Keras names them exactly 0, 1, ..., n-1: any other
    names (a leading zero, "02" beside "2", a gap, a non-ASCII digit), a member that is no dataset, or
    a count not in ``counts`` is refused naming the group and the names, before any data is read."""
    import h5py

    for sub in ("cell/vars", "vars"):
        if sub in group:
            g = group[sub]
            names = list(g)
            if sorted(names) != sorted(str(i) for i in range(len(names))):  # str(i): ASCII, no leading zero
                _refuse(where, f"the variables of {g.name}", "named 0, 1, 2, ... (Keras' numbering: 0 to n-1 in ASCII digits, "
                     "no leading zero, no gap)", f"{sorted(names)}")  # fmt: skip
            if counts is not None and len(names) not in counts:
                _refuse(where, f"the variables of {g.name}", f"{' or '.join(map(str, counts))} of them (an LSTM cell's kernel, recurrent_kernel "
                     "and bias, as Keras writes)", f"{len(names)}: {sorted(names, key=int)}")  # fmt: skip
            w = [g[str(i)] for i in range(len(names))]
            odd = [v.name for v in w if not isinstance(v, h5py.Dataset)]
            if odd:
                _refuse(where, f"the variables of {g.name}", "datasets", f"groups {odd}")
            return w
    return []


def _lstm_vars(group, where: str) -> tuple:
    """An LSTM cell's ``(kernel, recurrent_kernel, bias or None)``, read once :func:`_h5_vars` checked them."""
    w = [np.asarray(v) for v in _h5_vars(group, where, _LSTM_VARS)]
    return w[0], w[1], w[2] if len(w) > 2 else None


def _check_h5(h5, path: str, where: str) -> None:
    """Refuse, before a byte of data is read, what would read outside ``path`` or cost more memory than
    the file's own size: a link that is not a hard link (a soft link, or an external link to another
    file, such as ``/etc/hostname``), a dataset whose storage lies in other files (HDF5 "external"
    raw-data files: any local file, ``~/.ssh/id_rsa``, read as weights) or that is virtual (mapped from
    other files), a dataset of more than :data:`lstmkit.io.MAX_ELEMENTS` elements, and one declaring
    far more bytes than it stores (a sparse or compressed dataset out of proportion, as
    :data:`lstmkit.io.BOMB_RATIO` for a zip entry), and datasets that do so together (each below
    :data:`lstmkit.io.BOMB_MIN_BYTES`, as io bounds a zip's deflated entries together) or declare more
    than :data:`lstmkit.io.MAX_BYTES` in all. Keras writes plain hard-linked groups of contiguous
    datasets, which pass. Every refusal names the file and the link or dataset (or, for the sum, the
    datasets' count)."""
    import h5py

    from .. import io as lstmkit_io
    from ..io import MAX_ELEMENTS

    def refuse(name: str, expected: str, got: str, fix: str = "") -> None:
        fail(where, f"{path} entry /{name}", expected, got, fix or "lstmkit reads Keras' own weights files only: save the model again with Keras.",
             exc=FileFormatError)  # fmt: skip

    bad, datasets = _walk_links(h5)  # every link, before any is followed: a non-hard one is never opened
    if bad is not None:
        name, lk = bad
        target = f" to {lk.filename}:{lk.path}" if isinstance(lk, h5py.ExternalLink) else f" to {lk.path}" if isinstance(lk, h5py.SoftLink) else ""
        refuse(name, "a hard link (a group or dataset inside the file)", f"{type(lk).__name__}{target}")
    total = total_stored = 0  # declared and stored bytes of all datasets: many below BOMB_MIN_BYTES each add up
    for name, obj in datasets:
        if obj.external:
            refuse(name, "a dataset stored inside the file", f"external storage in {', '.join(repr(os.fsdecode(e[0])) for e in obj.external)}")
        if obj.is_virtual:
            refuse(name, "a dataset stored inside the file", "a virtual dataset (mapped from other files)")
        if obj.dtype.kind not in "fiub":
            refuse(name, "a numeric dataset", f"dtype {obj.dtype}")
        n = int(np.prod(obj.shape, dtype=object)) if obj.shape is not None else 0
        if n > MAX_ELEMENTS:
            refuse(name, f"a dataset of at most {MAX_ELEMENTS} elements", f"shape {obj.shape} ({n} elements)")
        declared, stored = n * obj.dtype.itemsize, obj.id.get_storage_size()
        if _bomb(declared, stored):
            refuse(name, "a dataset that stores the bytes it declares", f"{declared} bytes declared over {stored} stored (sparse or compressed)",
                   "Keras writes its weights uncompressed: save the model again with Keras.")  # fmt: skip
        total, total_stored = total + declared, total_stored + stored
    if total > MAX_BYTES or _bomb(total, total_stored):  # as io bounds a zip's deflated entries together
        fail(where, f"{path} datasets", f"at most {MAX_BYTES} bytes declared in all, and at most {BOMB_RATIO} times what they store "
             f"once over {lstmkit_io.BOMB_MIN_BYTES} bytes", f"{len(datasets)} datasets declaring {total} bytes over {total_stored} stored (sparse or compressed)",
             "Keras writes its weights uncompressed: save the model again with Keras.", exc=FileFormatError)  # fmt: skip


def _walk_links(h5):
    """Every link under ``h5``, depth first, following hard links only (``group.get(name, getlink=True)``,
    which h5py 3.0 has; ``visititems_links`` is h5py >= 3.11): ``(first non-hard link as (name, link) or
    None, [(name, dataset)...])``. Each object is visited once (hard links may loop back to a group), and
    the walk is a loop, not a recursion (a file of 10**5 nested groups)."""
    import h5py

    root = h5["/"]
    datasets, seen, todo = [], {root.id}, [("", root)]
    while todo:
        prefix, group = todo.pop()
        for key in sorted(group):  # the names, read from the group without following a link
            name = prefix + key
            lk = group.get(key, getlink=True)
            if not isinstance(lk, h5py.HardLink):
                return (name, lk), datasets
            obj = group[key]
            if obj.id in seen:
                continue
            seen.add(obj.id)
            if isinstance(obj, h5py.Dataset):
                datasets.append((name, obj))
            elif isinstance(obj, h5py.Group):
                todo.append((name + "/", obj))
    return None, datasets


def _snake(name: str) -> str:
    """Keras' ``to_snake_case``: LSTM -> lstm, InputLayer -> input_layer."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _natural_key(name: str):
    m = re.match(r"^(.*?)(?:_(\d+))?$", name)
    return (m.group(1), int(m.group(2) or 0))


def read_keras_file(path: str | os.PathLike):
    """Read a ``.keras`` or ``.weights.h5`` file into ``(lstmkit.LSTM, readout_or_None)``, without Keras.

    ``.keras``: the layer list and options come from ``config.json`` (plain JSON), the weights from
    ``model.weights.h5`` (h5py). ``.weights.h5``: the groups ``layers/lstm*`` or
    ``layers/bidirectional*`` (in their numbering order) and at most one ``layers/dense*`` (or
    ``layers/time_distributed*`` wrapping a layer that holds a Dense's kernel and bias; any other is
    refused, naming it); Keras' default activations are assumed because the file holds no
    configuration. Skipped: ``layers/input_layer*`` and ``layers/dropout*`` (weightless, and Dropout
    acts in training only; its rate is not in the file, so a model read from it trains without).
    Any other group is refused naming it, whether it holds weights or not: the file does not say what
    a Lambda, an Activation, a BatchNormalization or a RepeatVector computes, nor where it sits. Every LSTM layer must return sequences; :func:`model_from_keras` reads a file
    whose last one does not.
    """
    return _every_step(_read_file(path, "read_keras_file"), "read_keras_file")


def read_keras(path: str | os.PathLike):
    """Read a ``.keras`` or ``.weights.h5`` file once into ``(lstmkit.LSTM, readout_or_None, head)``,
    without Keras: head "last" when the last LSTM layer has ``return_sequences=False`` (a
    ``.weights.h5``, which holds no configuration: "all"), else "all". The read-out is the Dense's
    as the file holds it (no "bias" without one); ``SequenceModel.from_parts(*read_keras(path))`` is
    :func:`model_from_keras`'s model. ``lstmkit convert`` reads a ``.keras`` with it.
    """
    return _read_file(path, "read_keras")


#: how to mend a .keras whose entry is refused as a decompression bomb
_KERAS_BOMB_FIX = "a decompression bomb, or a file compressed by another writer: save the model again with Keras"


def _read_file(path, where: str):
    with optional_import("h5py", where, "to read the Keras file's weights"):
        import h5py

    path = os.fspath(path)
    config = None
    if path.lower().endswith(".keras"):  # as convert reads suffixes: M.KERAS is a .keras zip
        try:
            with zipfile.ZipFile(path) as zf:
                # the two entries read, by the sizes the zip declares, before anything is inflated: lstmkit.io's one
                # rule for a zip (no bomb, at most MAX_BYTES in all), and the metadata's bound for config.json
                infos = [zf.getinfo("config.json"), zf.getinfo("model.weights.h5")]
                check_zip_sizes(infos, lambda what: FileFormatError(message(
                    where, path, f"a .keras zip of at most {MAX_BYTES} bytes with no decompression bomb", f"one where {what}")),
                    fix=_KERAS_BOMB_FIX)  # fmt: skip
                if infos[0].file_size > MAX_META_CHARS:
                    fail(where, f"{path} entry config.json", f"at most {MAX_META_CHARS} bytes", f"{infos[0].file_size} bytes declared",
                         "Keras' config.json of an LSTM model is a few KB: save the model again with Keras.", exc=FileFormatError)  # fmt: skip
                config = json.loads(zf.read("config.json"))
                h5_bytes = zf.read("model.weights.h5")
        except FileNotFoundError:
            raise
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            fail(where, path, "a .keras zip with config.json and model.weights.h5", f"{type(exc).__name__}: {exc}", exc=FileFormatError)
        except RecursionError:  # '[' * 100000: deeper than the JSON parser's recursion goes
            fail(where, f"{path} entry config.json", "JSON nested as Keras writes it", "JSON nested too deeply to parse",
                 "Save the model again with Keras.", exc=FileFormatError)  # fmt: skip
        try:
            h5 = h5py.File(io.BytesIO(h5_bytes), "r")
        except OSError as exc:  # "file signature not found": the entry is no HDF5 file
            fail(where, f"{path} entry model.weights.h5", "an HDF5 file", f"one h5py cannot open ({exc})",
                 "Save the model again with Keras.", exc=FileFormatError)  # fmt: skip
    else:
        if not os.path.exists(path):
            raise FileNotFoundError(2, "No such file", path)
        try:
            h5 = h5py.File(path, "r")
        except OSError as exc:  # no HDF5 signature, truncated (eof < stored_eof), a directory
            fail(where, path, "an HDF5 weights file (.weights.h5)", f"a file h5py cannot open ({exc})",
                 "Save the weights again with Keras (model.save_weights).", exc=FileFormatError)  # fmt: skip
    with h5:
        _check_h5(h5, path, where)
        if "layers" not in h5:
            fail(where, path, "Keras 3 weights (a 'layers' group)", f"groups {sorted(h5)}", exc=FileFormatError)
        groups = h5["layers"]
        try:
            try:  # the layers, their configuration and arrays, read: a group, a variable or a config key missing is the file's
                parts = _from_config(config, groups, where) if config is not None else _from_weights_only(groups, where)
            except (KeyError, IndexError, TypeError, AttributeError) as exc:
                fail(where, path, "a Keras 3 LSTM model file (groups and config of LSTM/Bidirectional/Dense layers)", f"{type(exc).__name__}: {exc}",
                     exc=FileFormatError)  # fmt: skip
            return _build(*parts, where)  # any exception but a _Refusal is not a word about the file: it goes on, with its traceback
        except _Refusal as exc:  # of a layer or an array of the file: say which file, as fail(where, path, ...) does
            msg, head = str(exc), f"{where}: expected "
            raise FileFormatError(f"{head}{path} {msg[len(head):]}" if msg.startswith(head) else f"{where}: {path}: {msg}") from None


def _from_config(config: Mapping, groups, where: str):
    """A ``.keras``'s ``config.json`` and weights -> :func:`_build`'s arguments but ``where``."""
    cfg = config.get("config", {})
    layer_cfgs = cfg.get("layers")
    if not isinstance(layer_cfgs, list):
        _refuse(where, "config.json", "a Sequential or Functional model with a 'layers' list", f"class {config.get('class_name')!r}")
    for lc in layer_cfgs:  # before the chain: Keras adds ops beside a Functional model's Masking (not_equal, any)
        if isinstance(lc, Mapping) and lc.get("class_name") == "Masking":
            c = lc.get("config", {})
            _refuse_masking(where, c.get("name", lc.get("name")), f"Masking(mask_value={c.get('mask_value', 0.0)!r})")
    if "output_layers" in cfg:  # Functional: the layers must run one after the other, as a Sequential's do
        _check_chain(layer_cfgs, cfg["output_layers"], where)
    counts: dict[str, int] = {}
    rec, dense, dropouts, I = [], None, _Dropouts(), None
    for lc in layer_cfgs:
        cls, c = lc.get("class_name"), lc.get("config", {})
        base = _snake(cls or "")  # Keras names the weight groups by class: lstm, lstm_1, dense, ...
        n = counts.get(base, 0)
        counts[base] = n + 1
        name = base if n == 0 else f"{base}_{n}"
        if cls == "InputLayer":
            shape = c.get("batch_shape") or c.get("batch_input_shape")
            if shape:
                I = shape[-1]
            continue
        if dense is not None:
            _refuse(where, f"layer {c.get('name')!r}", "nothing after the Dense read-out", cls)
        if cls == "Dropout" and rec:
            dropouts.after.append((c.get("name"), _rate(c.get("rate", 0.0), where, f"layer {c.get('name')!r} rate")))
            continue
        if cls in ("LSTM", "Bidirectional"):
            dropouts.lstm(rec)
        if name not in groups:
            _refuse(where, f"weights of layer {c.get('name')!r}", f"a group layers/{name}", f"groups {sorted(groups)}")
        g = groups[name]
        if cls == "LSTM":
            opts = _lstm_options(c, where, c.get("name"))
            rec.append({"name": c.get("name"), "units": c["units"], "use_bias": bool(c.get("use_bias", True)), "options": opts,
                        "sequences": bool(c.get("return_sequences", False)), "dirs": [_lstm_vars(g, where)]})  # fmt: skip
        elif cls == "Bidirectional":
            if c.get("merge_mode", "concat") != "concat":
                _refuse(where, f"layer {c.get('name')!r} merge_mode", "'concat'", repr(c.get("merge_mode")))
            inner = c.get("layer", {})
            if inner.get("class_name") != "LSTM":
                _refuse(where, f"layer {c.get('name')!r}", "Bidirectional(LSTM)", f"Bidirectional({inner.get('class_name')})")
            ic = dict(inner.get("config", {}), go_backwards=False)
            opts = _lstm_options(ic, where, c.get("name"))
            dirs = [_lstm_vars(g[side], where) for side in ("forward_layer", "backward_layer")]
            rec.append({"name": c.get("name"), "units": ic["units"], "use_bias": bool(ic.get("use_bias", True)), "options": opts,
                        "sequences": bool(ic.get("return_sequences", False)), "dirs": dirs})  # fmt: skip
        elif cls == "Dense":
            dense = _dense(c, _h5_vars(g, where), where)
        elif cls == "TimeDistributed":  # Dense at each step: Dense; its weights under layers/time_distributed/layer
            inner = c.get("layer", {})
            if inner.get("class_name") != "Dense":
                _refuse(where, f"layer {c.get('name')!r}", LAYERS, f"TimeDistributed({inner.get('class_name')})")
            dense = _dense(inner.get("config", {}), _h5_vars(g["layer"], where), where, c.get("name"))
        else:
            _refuse(where, f"layer {c.get('name')!r}", LAYERS, cls)
    if not rec:
        _refuse(where, "config.json", "at least one LSTM layer", "none")
    return rec[0]["dirs"][0][0].shape[0] if I is None else I, rec, dense, dropouts.rate(rec, dense is not None, where)


def _check_chain(layer_cfgs: list, outputs, where: str) -> None:
    """A Functional model's config: each layer reads the one before it (its ``inbound_nodes`` name it)
    and the last is the model's one output. Branches (two LSTMs on the input, several outputs) would
    otherwise be read as a stack."""
    names = [lc.get("name") or lc.get("config", {}).get("name") for lc in layer_cfgs]
    for prev, name, lc in zip(names, names[1:], layer_cfgs[1:]):
        read = sorted(set(_histories(lc.get("inbound_nodes", []))))
        if read != [prev]:
            _refuse(where, f"layer {name!r}", f"to read the layer before it, {prev!r} (a chain of layers, as a Sequential)", f"one reading {read}")
    outs = outputs if outputs and isinstance(outputs[0], list) else [outputs]
    if [o[0] for o in outs] != names[-1:]:
        _refuse(where, "model outputs", f"one, the last layer {names[-1]!r}", [o[0] for o in outs])


def _histories(obj):
    """The layer names in every ``keras_history`` of an ``inbound_nodes`` entry (Keras 3 config)."""
    if isinstance(obj, dict):
        if isinstance(obj.get("keras_history"), list) and obj["keras_history"]:
            yield obj["keras_history"][0]
        for v in obj.values():
            yield from _histories(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _histories(v)


def _has_arrays(group) -> bool:
    """Whether any array lies under ``group`` (a layer's own vars, or a wrapped layer's)."""
    import h5py

    found = []
    group.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return bool(found)


#: Keras classes whose weights can have a Dense's shapes (a 2-D kernel, a bias (O,)) and compute something else
#: (EinsumDense's equation may read its kernel transposed; an Embedding looks rows up): refused by their default
#: names, the only trace of a wrapped layer's class in a .weights.h5
_DENSE_LOOKALIKES = {"einsum_dense": "EinsumDense", "embedding": "Embedding"}


def _check_time_distributed_dense(group, name: str, where: str) -> None:
    """Refuse a ``layers/time_distributed*`` group unless what it wraps holds a Dense's weights.

    A ``.weights.h5`` names a wrapper's group by its class (time_distributed) and puts the wrapped layer
    under ``layer/``, recorded by its name only (the ``name`` attribute of ``layer/vars``: "dense" unless
    the user named it), not its class. A Dense holds exactly a float kernel (F, O) and maybe a bias (O,)
    in ``layer/vars``; anything else (a Dropout or an Activation: no weights; a LayerNormalization: two
    vectors; a Sequential: layers of its own; a quantized Dense: an int8 kernel and a scale) is refused,
    naming the layer and what it holds. So is a layer named as Keras names an EinsumDense or an
    Embedding (``einsum_dense``, ``embedding_2``): their weights may have a Dense's shapes, but an
    EinsumDense's equation may read its kernel otherwise (``"bf,of->bo"``: transposed) and an Embedding
    looks rows up. One of them the user named otherwise cannot be told from a Dense: read the .keras."""
    inner = group.get("layer")
    w = _h5_vars(inner, where) if inner is not None else []
    subgroups = sorted(set(inner) - {"vars"}) if inner is not None else []
    label = inner["vars"].attrs.get("name") if inner is not None and "vars" in inner else None
    label = label.decode() if isinstance(label, bytes) else label
    lookalike = _DENSE_LOOKALIKES.get(_natural_key(label)[0]) if isinstance(label, str) else None
    if not subgroups and not lookalike and _dense_shaped(w):
        return
    what = f"groups of its own {subgroups}" if subgroups else f"weights {_described(w)}" if w else "no weights"
    named = f" (Keras' default name of an {lookalike}, which is no Dense)" if lookalike else ""
    _refuse(where, f"layer {name!r}", f"TimeDistributed(Dense): a float kernel (F, O) and a bias (O,) under layers/{name}/layer/vars",
         f"TimeDistributed of {'the layer ' + repr(label) if label else 'a layer'}{named} holding {what}",
         "A .weights.h5 records no layer classes: read the .keras file, which has the model's configuration.")  # fmt: skip


#: a ``.weights.h5``'s layer groups (named by class) read, and those skipped: no-ops at inference
_WEIGHTS_ONLY_READ = ("lstm", "bidirectional", "dense", "time_distributed")
_WEIGHTS_ONLY_SKIPPED = ("input_layer", "dropout")


def _from_weights_only(groups, where: str):
    """A ``.weights.h5``'s layer groups -> :func:`_build`'s arguments but ``where`` (Keras' defaults)."""
    names = sorted(groups, key=_natural_key)
    kinds = [_natural_key(n)[0] for n in names]  # the class, snake case: a group is named by it, weights or not
    for n, kind in zip(names, kinds):
        if kind == "masking":
            _refuse_masking(where, n, f"a weights group layers/{n}")
    for n, kind in zip(names, kinds):  # a weightless layer computes too (a Lambda; a RepeatVector between LSTMs)
        if kind not in _WEIGHTS_ONLY_READ + _WEIGHTS_ONLY_SKIPPED:
            held = "weights" if _has_arrays(groups[n]) else "no weights"
            _refuse(where, "layers", "LSTM, Bidirectional(LSTM), Dense or TimeDistributed(Dense) groups (input_layer and dropout "
                 "groups are skipped: no-ops at inference)", f"group layers/{n} (layer class {kind!r} by its name; it holds {held})",
                 "lstmkit cannot place it: a .weights.h5 records no configuration (what a layer computes, where it sits). "
                 "Read the .keras file, or save the model without that layer.")  # fmt: skip
    lstm_like = [(n, kind) for n, kind in zip(names, kinds) if kind in ("lstm", "bidirectional")]
    denses = [(n, kind) for n, kind in zip(names, kinds) if kind in ("dense", "time_distributed")]  # TimeDistributed(Dense): a Dense
    for n, kind in denses:
        if kind == "time_distributed":
            _check_time_distributed_dense(groups[n], n, where)
    if len(denses) > 1 or not lstm_like or len({kind for _, kind in lstm_like}) != 1:
        _refuse(
            where, "layers", "only lstm* or only bidirectional* groups and at most one dense* (or time_distributed*)",
            f"groups {names}", "Use the .keras file, which has the model's configuration.",
        )
    rec = []
    for n, _ in lstm_like:
        g = groups[n]
        sides = ("forward_layer", "backward_layer") if "forward_layer" in g else (None,)
        dirs = [_lstm_vars(g[side] if side else g, where) for side in sides]
        rec.append({"name": n, "units": dirs[0][1].shape[0], "use_bias": dirs[0][2] is not None, "options": {}, "sequences": True, "dirs": dirs})
    dense = None
    if denses:
        n = denses[0][0]
        g = groups[n]
        dense = _dense_weights(_h5_vars(g["layer"] if "layer" in g else g, where), where, n)  # a TimeDistributed's Dense: under layer/
    return rec[0]["dirs"][0][0].shape[0], rec, dense, 0.0


def write_keras_file(path: str | os.PathLike, module, readout=None) -> None:
    """Save ``module`` (+ read-out) or a SequenceModel as Keras: ``.keras`` (model) or ``.weights.h5`` (weights only).

    The model is :func:`to_keras`'s Sequential; a ``.weights.h5`` loads into that same architecture.
    Keras writes into a temporary folder; the file is then put in place atomically
    (:func:`lstmkit.io.atomic_write_bytes`), so a failed save leaves the file that was there.
    """
    import tempfile

    from ..io import atomic_write_bytes

    if not isinstance(path, (str, os.PathLike)):  # the module given first, as to_keras(module, readout) would lead one to
        fail("write_keras_file", "path", "a str or os.PathLike naming the file", type(path).__name__,
             "The path comes first: write_keras_file(path, module, readout=None).", exc=TypeError)
    path = os.fspath(path)
    name = path.lower()  # as convert reads suffixes; Keras itself writes the temporary file under its own
    suffix = ".weights.h5" if name.endswith(".weights.h5") else ".keras" if name.endswith(".keras") else None
    if suffix is None:
        fail("write_keras_file", "path", "a name ending in .keras or .weights.h5", repr(path))
    _keras("write_keras_file", "to write the Keras file")  # imported here, so that its absence is said in this function's name
    model = to_keras(module, readout)
    with tempfile.TemporaryDirectory(prefix="lstmkit-keras-") as tmp:
        staged = os.path.join(tmp, "model" + suffix)  # Keras wants the suffix on the name it writes
        if suffix == ".weights.h5":
            model.save_weights(staged)
        else:
            model.save(staged)
        with open(staged, "rb") as f:
            data = f.read()
    atomic_write_bytes(path, lambda f: f.write(data))
