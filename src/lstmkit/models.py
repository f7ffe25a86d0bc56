"""``SequenceModel``: a recurrent layer (LSTM or RNN) followed by a read-out.

    h_{1..T}, state = rnn(x_{1..T}, state_0)             the engine's LSTM or RNN (batch_first)
    head="all":   out_t = read(h_t)            for every step t            (per-step targets)
    head="last":  out   = read(h_last)         h at each sequence's last valid step

    read = Linear (out = W h + b)  with readout="linear"
         = identity (out = h)      with readout="identity", as in seed 000's y_t = softmax(h_t)

The loss (``lstmkit.losses``) turns ``out`` into probabilities (softmax) or compares it with
real targets (MSE); the model itself outputs logits / values.

Bidirectional "last": h_last is the concatenation [→h at the last valid step, ←h at step 0],
i.e. each direction's *final* state (PyTorch users' ``cat(h_n[-2], h_n[-1])``, Keras'
``Bidirectional(LSTM(...))`` without return_sequences). Unidirectional: →h at the last valid step.

Shapes: B batch, T steps, I input_size, H hidden_size, P = proj_size or H, D = 2 if bidirectional,
O output_size (= D*P with the identity read-out). Always batch first:

    x (B, T, I) float, or with inputs="tokens" (B, T) ints in [0, I) read as one-hot rows
        x_t = e_{k_t} (only the batch at hand is expanded: text needs no (N, T, V) array)
    lengths (B,) ints in [1, T] or None
    out (B, T, O) with head="all", (B, O) with head="last"
    state: as the engine's (h_n, c_n) for the LSTM, h_n for the RNN: (D*L, B, P)

Parameters and gradients carry prefixed PyTorch names — ``rnn.weight_ih_l0``, ``rnn.bias_hh_l0``,
``head.weight``, ``head.bias`` — in ``state_dict()`` and ``grads`` (the same arrays as the
sub-modules', so optimizers and the layers see one set).

A model built elsewhere (an imported LSTM and read-out dict) becomes one with
:meth:`SequenceModel.from_parts`; ``model.save(path)`` writes an lstmkit model file of kind
``SequenceModel`` (``config`` = :meth:`~SequenceModel.config`, arrays = ``state_dict()``) that
``SequenceModel.load(path)`` (or ``lstmkit.load(path)``) reads back.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Mapping

import numpy as np

from ._checks import check_bool, check_choice, check_dtype, check_int, check_seed, fail, message
from .cell import NONLINEARITIES
from .layers import Linear
from .module import Module
from .recurrent import LSTM, RNN
from .saving import register

HEADS = ("all", "last")
READOUTS = ("linear", "identity")
INPUTS = ("features", "tokens")
CELLS = {"lstm": LSTM, "rnn": RNN}
#: constructor arguments of the recurrent layer that SequenceModel (and the estimators) set themselves
RESERVED_OPTIONS = ("input_size", "hidden_size", "num_layers", "batch_first", "dropout", "bidirectional", "dtype", "seed")


def lstm_option_names(cell: str = "lstm") -> list[str]:
    """The keys ``lstm_options`` may hold for ``cell``: the layer's constructor arguments that
    SequenceModel does not set itself (LSTM: bias, proj_size and the variants of
    :mod:`lstmkit.variants`; RNN: bias, nonlinearity)."""
    sig = inspect.signature(CELLS[cell].__init__)
    return sorted(p for p in sig.parameters if p != "self" and p not in RESERVED_OPTIONS)


def check_lstm_options(options, cell: str = "lstm", where: str = "SequenceModel") -> dict[str, Any]:
    """Validate ``lstm_options`` in one place; returns it as a new dict.

    Unknown names are refused by name (with the closest known one), names the caller sets itself
    are refused as such, and the values are checked as the layer checks them (``bias`` a bool,
    ``proj_size`` an integer >= 0, ``nonlinearity`` a name; for the LSTM the variants, by
    :meth:`lstmkit.variants.LSTMVariant.checked`), so a bad option fails before any training,
    naming ``where``.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        fail(where, "lstm_options", "None or a dict of recurrent-layer arguments", type(options).__name__, exc=TypeError)
    options = dict(options)
    for reserved in RESERVED_OPTIONS:
        if reserved in options:
            fail(where, "lstm_options", f"no key {reserved!r} (it is an argument of {where} itself)", sorted(options))
    known = lstm_option_names(cell) if cell in CELLS else []
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        close = difflib.get_close_matches(unknown[0], known, n=1)
        fix = f"Did you mean {close[0]!r}?" if close else ""
        fail(where, "lstm_options", f"keys among {known} for cell={cell!r}", f"unknown {unknown}", fix, exc=TypeError)
    at = f"{where} lstm_options"  # the layer's own checks, made before it is built, naming the caller
    if "bias" in options:
        check_bool(options["bias"], at, "bias")
    if "proj_size" in options:
        check_int(options["proj_size"], at, "proj_size", minimum=0)
    if "nonlinearity" in options:
        check_choice(options["nonlinearity"], NONLINEARITIES, at, "nonlinearity")
    if cell == "lstm":
        from .variants import LSTMVariant

        fields = LSTMVariant.__dataclass_fields__
        LSTMVariant.checked(at, **{k: v for k, v in options.items() if k in fields})
    return options


def _spawn(seed, n: int) -> list[np.random.Generator]:
    """n independent generators from one seed (int, None or Generator)."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


@register
class SequenceModel(Module):
    """Recurrent layer + read-out (see the module docstring for the equations and shapes).

    The order is ``SequenceModel(input_size, output_size, hidden_size)``: the output size comes before
    the hidden size, where ``LSTM(input_size, hidden_size)`` has none, and a swap is not an error
    (``SequenceModel(8, 32, 2)`` is 2 hidden units read out to 32 outputs). Passing them by name,
    ``SequenceModel(8, output_size=2, hidden_size=32)``, says which is which.

    Args:
        input_size (I): features per step.
        output_size (O): outputs per step / per sequence (classes for a classifier). With
            ``readout="identity"`` it must equal D*P (or be None).
        hidden_size (H), num_layers, bidirectional, dropout: the recurrent layer's.
        cell: "lstm" or "rnn".
        head: "all" (an output per step) or "last" (one per sequence, at its last valid step).
        readout: "linear" or "identity".
        forget_bias: if not None (LSTM only), set the forget-gate slice of every ``bias_ih`` to
            this value and of ``bias_hh`` to 0, so the effective forget bias b_if + b_hf equals it
            (Jozefowicz et al. 2015; Keras' ``unit_forget_bias`` uses 1.0).
        inputs: "features" (x holds feature vectors) or "tokens" (x holds ids, one-hot encoded).
        lstm_options: extra keyword arguments for the recurrent layer's constructor (for example
            ``proj_size``, ``bias``; ``nonlinearity`` for the RNN; the LSTM variants' options),
            checked by :func:`check_lstm_options` (unknown names refused with the closest one).
        dtype: float32 or float64.  seed: an int >= 0, a Generator or None (initialisation and dropout).

    ``out, state = model(x, lengths=None, state=None)``; ``dx = model.backward(dout, d_state=None)``.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int | None,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "lstm",
        head: str = "all",
        readout: str = "linear",
        bidirectional: bool = False,
        dropout: float = 0.0,
        forget_bias: float | None = None,
        lstm_options: Mapping[str, Any] | None = None,
        dtype=np.float32,
        seed=None,
        inputs: str = "features",
    ) -> None:
        super().__init__()
        where = "SequenceModel"
        check_choice(cell, CELLS, where, "cell")
        check_choice(head, HEADS, where, "head")
        check_choice(readout, READOUTS, where, "readout")
        check_choice(inputs, INPUTS, where, "inputs")
        bidirectional = check_bool(bidirectional, where, "bidirectional")
        if forget_bias is not None and cell != "lstm":
            fail(where, "forget_bias", "None with cell='rnn' (an RNN has no forget gate)", repr(forget_bias))
        options = check_lstm_options(lstm_options, cell, where)
        self.cell, self.head_mode, self.readout, self.inputs = cell, head, readout, inputs
        self.dtype = check_dtype(dtype, where)
        check_seed(seed, where)  # as every other constructor: -1, 1.5 and True refused by name (SeedSequence took True as 1)
        self.forget_bias = forget_bias
        self.lstm_options = options
        rnn_rng, head_rng = _spawn(seed, 2)
        self.rnn = CELLS[cell](
            input_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout,
            bidirectional=bidirectional, dtype=self.dtype, seed=rnn_rng, **options,
        )
        feat = self.rnn.num_directions * self.rnn.output_size  # D*P: size of h fed to the read-out
        self.features = feat
        if readout == "identity":
            if output_size is not None and check_int(output_size, where, "output_size", minimum=1) != feat:
                fail(where, "output_size", f"{feat} (= D*P) with readout='identity'", output_size, "Use readout='linear'.")
            self.output_size = feat
            self.head = None
        else:
            if output_size is None:
                fail(where, "output_size", "an integer with readout='linear'", None)
            self.output_size = check_int(output_size, where, "output_size", minimum=1)
            self.head = Linear(feat, self.output_size, dtype=self.dtype, seed=head_rng)
        if forget_bias is not None:
            if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float, np.integer, np.floating)) or not abs(float(forget_bias)) < float(np.finfo(self.dtype).max):
                fail(where, "forget_bias", f"a finite number representable in {self.dtype.name}", repr(forget_bias))
            if not self.rnn.bias:
                fail(where, "forget_bias", "None when the LSTM has no bias (lstm_options bias=False)", repr(forget_bias))
            H = self.rnn.hidden_size
            for k, v in self.rnn.parameters().items():
                if k.startswith("bias_ih"):
                    v[H : 2 * H] = forget_bias  # gate order i, f, g, o: rows H..2H are f
                elif k.startswith("bias_hh"):
                    v[H : 2 * H] = 0.0
        # one parameter dict with prefixed names, sharing the sub-modules' arrays
        for prefix, mod in (("rnn.", self.rnn), ("head.", self.head)):
            if mod is None:
                continue
            for k, v in mod.parameters().items():
                self._params[prefix + k] = v
                self.grads[prefix + k] = mod.grads[k]
        self._cache = None

    # -- modes propagate to the sub-modules ------------------------------------------------
    def train(self, mode: bool = True) -> "SequenceModel":
        super().train(mode)
        self.rnn.train(mode)
        return self

    @property
    def dropout_rng(self) -> np.random.Generator:
        """The seeded generator of the recurrent layer's dropout masks (checkpointed)."""
        return self.rnn.dropout_rng

    @property
    def input_size(self) -> int:
        return self.rnn.input_size

    # -- forward / backward ----------------------------------------------------------------
    def forward(self, x, lengths=None, state=None, *, hx=None):
        """x (B, T, I) (or token ids (B, T)) -> ``(out, state)``; out (B, T, O) ("all") or (B, O) ("last").

        ``lengths`` (B,) comes second and the initial ``state`` (the layer's ``hx``: ``(h0, c0)`` for
        an LSTM, h0 for an RNN; None for zeros) third, the other way round from ``LSTM.forward(x,
        hx, lengths)``; ``hx=`` is accepted as another name of ``state`` (not both).
        """
        if hx is not None:
            if state is not None:
                fail("SequenceModel", "hx", "None when state is given (hx= is another name of state=)", "both", "Pass one of them.", exc=TypeError)
            state = hx
        if self.inputs == "tokens":
            x = self.one_hot(x)  # (B, T) ids -> (B, T, I)
        elif np.ndim(x) != 3:
            fail("SequenceModel", "x", "a 3-D array (B, T, I), batch first", f"shape {np.shape(x)}", "For one sequence use x[None].")
        keep = self.requires_grad
        self.rnn.requires_grad = keep
        if self.head is not None:
            self.head.requires_grad = keep
        try:
            h, state = self.rnn(x, state, lengths)  # (B, T, D*P)
        except TypeError:  # the refusal only: lengths passed third, as to an LSTM, say they go second here
            said = None if state is None else self.rnn._lengths_as_hx(state, np.shape(x)[0])
            if said is not None:
                raise TypeError(message("SequenceModel", "state", *said, "Lengths go second for SequenceModel: "
                                        "model(x, lengths) or model(x, lengths=lengths).")) from None  # fmt: skip
            raise
        B, T, _ = h.shape
        last = None
        if self.head_mode == "last":
            last = np.full(B, T - 1) if lengths is None else np.asarray(lengths, dtype=np.int64) - 1  # (B,)
            P = self.rnn.output_size
            h_last = h[np.arange(B), last]  # →h at each last valid step   (B, D*P)
            if self.rnn.bidirectional:
                h_last[:, P:] = h[:, 0, P:]  # ←h is final at step 0       (B, D*P)
            h = h_last
        out = h if self.head is None else self.head(h)  # (B, [T,] O)
        self._cache = (last, (B, T)) if keep else None
        return out, state

    __call__ = forward

    def backward(self, dout, d_state=None) -> np.ndarray:
        """dout like out -> dx (B, T, I) (for tokens: the gradient w.r.t. their one-hot rows);
        parameter gradients accumulate into ``grads``.

        ``d_state`` is the gradient of the returned final state (None for zeros, as in truncated
        BPTT where the carried state is detached).

        Returns dx alone, where ``LSTM.backward``/``RNN.backward`` return ``(dx, d_initial_state)``:
        ``dx, d_state = model.backward(dout)`` would unpack dx along its batch axis.
        """
        if self._cache is None:
            fail("SequenceModel.backward", "a forward pass with requires_grad=True", "before backward", "none", exc=RuntimeError)
        last, (B, T) = self._cache
        self._cache = None
        dh = np.asarray(dout, dtype=self.dtype) if self.head is None else self.head.backward(dout)
        if self.head_mode == "last":
            P = self.rnn.output_size
            dh_seq = np.zeros((B, T, self.features), dtype=self.dtype)  # (B, T, D*P)
            dh_seq[np.arange(B), last, :P] = dh[:, :P]  # to →h at the last valid step
            if self.rnn.bidirectional:
                dh_seq[:, 0, P:] = dh[:, P:]  # to ←h at step 0
            dh = dh_seq
        dx, _ = self.rnn.backward(dh, d_state)
        return dx

    def one_hot(self, ids) -> np.ndarray:
        """Token ids (B, T) ints in [0, I) -> x (B, T, I) with x[b, t] = e_{ids[b, t]}."""
        ids = np.asarray(ids)
        I = self.rnn.input_size
        if ids.dtype.kind not in "iu":
            fail("SequenceModel", "x", "integer token ids (B, T) with inputs='tokens'", f"dtype {ids.dtype}", exc=TypeError)
        if ids.ndim != 2:
            fail("SequenceModel", "x", "token ids of shape (B, T) with inputs='tokens'", f"shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= I):
            fail("SequenceModel", "x", f"token ids in [0, input_size={I})", f"range [{ids.min()}, {ids.max()}]")
        x = np.zeros(ids.shape + (I,), dtype=self.dtype)  # (B, T, I)
        np.put_along_axis(x, ids[..., None], 1.0, axis=-1)
        return x

    # -- description (JSON) ----------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable, without seed) that rebuild this model."""
        r = self.rnn
        return {
            "input_size": r.input_size,
            "output_size": self.output_size,
            "hidden_size": r.hidden_size,
            "num_layers": r.num_layers,
            "cell": self.cell,
            "head": self.head_mode,
            "readout": self.readout,
            "bidirectional": r.bidirectional,
            "dropout": r.dropout,
            "forget_bias": self.forget_bias,
            "lstm_options": dict(self.lstm_options),
            "dtype": self.dtype.name,
            "inputs": self.inputs,
        }

    # -- built from parts, saved, loaded -------------------------------------------------------
    @classmethod
    def from_parts(cls, rnn, readout: Mapping[str, np.ndarray] | None = None, head: str = "all", inputs: str = "features") -> "SequenceModel":
        """An lstmkit ``LSTM``/``RNN`` (any ``batch_first``) and a read-out dict -> a SequenceModel
        with copies of their weights: ``readout={"weight": (O, D*P), "bias": (O,)}`` (no "bias":
        zeros) gives readout="linear", None the identity read-out."""
        where = "SequenceModel.from_parts"
        cell = next((k for k, c in CELLS.items() if type(rnn) is c), None)
        if cell is None:
            fail(where, "rnn", "an lstmkit LSTM or RNN", type(rnn).__name__, exc=TypeError)
        options = {} if rnn.bias else {"bias": False}
        if cell == "lstm":
            options.update(rnn.variant.changed(), **({"proj_size": rnn.proj_size} if rnn.proj_size else {}))
        elif rnn.nonlinearity != "tanh":
            options["nonlinearity"] = rnn.nonlinearity
        W = None if readout is None else np.asarray(readout["weight"])
        model = cls(
            rnn.input_size, None if W is None else W.shape[0], rnn.hidden_size, rnn.num_layers, cell, head,
            "identity" if W is None else "linear", rnn.bidirectional, rnn.dropout, lstm_options=options,
            dtype=rnn.dtype, seed=0, inputs=inputs,
        )  # fmt: skip
        state = {"rnn." + k: v for k, v in rnn.state_dict().items()}
        if W is not None:
            state["head.weight"] = W
            bias = readout.get("bias")
            state["head.bias"] = np.zeros(W.shape[0], dtype=model.dtype) if bias is None else np.asarray(bias)
        model.load_state_dict(state)  # names a read-out of the wrong width
        return model

    def parts(self) -> tuple:
        """``(rnn, readout)``, the inverse of :meth:`from_parts`: the recurrent layer itself and its
        read-out as ``{"weight": (O, D*P), "bias": (O,)}`` (None for the identity read-out).
        ``from_parts(*m.parts(), m.head_mode, m.inputs)`` computes what ``m`` does."""
        return self.rnn, None if self.head is None else self.head.state_dict()

    def save(self, path) -> None:
        """Write the model to ``path``: an lstmkit model file of kind ``SequenceModel`` (atomic; no pickle)."""
        from .modelfile import save_model

        save_model(path, "SequenceModel", self.config(), self.state_dict())

    @classmethod
    def load(cls, path) -> "SequenceModel":
        """Read a file written by :meth:`save` (kind ``SequenceModel``; NumPy only, no pickle): the model
        with the saved config and weights, in eval mode (``.train()`` to train it further). It takes
        x (B, T, I) (with inputs="tokens": ids (B, T)) and returns out (B, T, O) with head="all",
        (B, O) with head="last", as the saved model did.

        Through :func:`lstmkit.load` with ``kind="SequenceModel"``: a file of another kind (an
        estimator's, a module's from ``save_lstm``: ``lstmkit.load`` reads those) or whose config
        disagrees with its arrays (:func:`lstmkit.modelfile.check_model_config`) is refused with a
        :class:`~lstmkit.io.FileFormatError` naming the file, before any model is built.

        A classmethod: called on an instance (``m.load(path)``) it also returns a new model and leaves
        ``m`` as it was. To load a file's weights into an existing model:
        ``m.load_state_dict(SequenceModel.load(path).state_dict())`` (the weights only: ``m`` keeps its
        own head, cell options and dtype; ``SequenceModel.load(path)`` gives the model the file describes).
        """
        from .saving import load

        return load(path, kind="SequenceModel")

    @classmethod
    def _from_model_file(cls, mf, path=""):
        """The model in ``mf`` (``lstmkit.load``); its config is checked against its arrays first."""
        from .io import FileFormatError
        from .modelfile import check_model_config

        check_model_config(mf.config, mf.arrays, path)
        known = set(inspect.signature(cls.__init__).parameters) - {"self", "seed"}
        unknown = sorted(set(mf.config) - known)
        if unknown:
            raise FileFormatError(f"{path}: expected SequenceModel config keys among {sorted(known)}, got unknown keys {unknown}.")
        bad = sorted(k for k, a in mf.arrays.items() if a.dtype.kind != "f")
        if bad:
            raise FileFormatError(f"{path}: expected float32/float64 arrays, got {bad} of another dtype.")
        try:
            model = cls(**mf.config, seed=0)
            model.load_state_dict(mf.arrays)
        except (TypeError, ValueError, KeyError) as exc:
            raise FileFormatError(f"{path}: expected a valid SequenceModel, got an error: {exc.args[0] if exc.args else exc}") from None
        return model

    def __repr__(self) -> str:
        return f"SequenceModel({self.rnn!r}, head={self.head_mode!r}, readout={self.head!r})"
