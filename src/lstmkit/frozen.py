"""Inference on weights that stay fixed: an LSTM frozen for serving.

``LSTM.forward`` cannot know whether its weights changed since its last call (an optimizer writes
them in place), so it prepares them again on every call: each layer adds b_ih + b_hh, and the
compiled kernels of a large layer, one whose hidden units are split over lstmkit's threads
(:mod:`lstmkit.kernels_units`), gather and pack each thread's rows of W_ih and W_hh for the packed
kernel (:func:`lstmkit.packed_gemm.pack_gathered`: ~0.1-0.2 ms of PTB-medium's ~27 ms forward,
2 layers, T=35, B=20, H=650, 2 threads; 1.5-2 ms before that packing went through a transpose in
registers). :class:`FrozenLSTM` copies the weights once and keeps what is prepared from them, as an
onnxruntime session prepares its model when it is made::

    frozen = lstm.freeze()                    # or FrozenLSTM(lstm)
    y, (h_n, c_n) = frozen(x)                 # = lstm(x) in no_grad and eval mode, to round-off
    y, (h_n, c_n) = frozen(x, (h0, c0), lengths=lengths)

The copy is a snapshot: what happens to ``lstm`` afterwards (training, ``load_state_dict``) is not
seen; freeze it again. A frozen LSTM only runs forward: there is no backward, no training mode
(dropout and the other regularisers are off), and its weights cannot be written (``state_dict``
returns copies). A tiny model gains the bias sums and the ``no_grad`` block (T=50, B=1, H=20:
17.1 µs against 18.9 through ``forward`` in ``no_grad``); a layer whose batch is split into
blocks of rows packs its weights per block as ``forward`` does (~0.13 ms of H=256, B=64's 17 ms).
The packed copies take as much memory again as the weights of the layers that keep them.
"""

from __future__ import annotations

import copy

import numpy as np

from ._checks import fail
from .module import Parameters


class FrozenLSTM:
    """Forward only, on a snapshot of an :class:`lstmkit.LSTM`'s weights (see the module docstring).

    Args:
        lstm: an :class:`lstmkit.LSTM`, any options (layers, directions, projection, variants).

    Call: ``y, (h_n, c_n) = frozen(x, hx=None, lengths=None)``, with the shapes of
    :meth:`lstmkit.LSTM.forward`: x (T, B, I) ((B, T, I) with batch_first, (T, I) unbatched), hx
    ``(h0, c0)`` of (D*L, B, P) and (D*L, B, H), lengths (B,); y (T, B, D*P), h_n (D*L, B, P),
    c_n (D*L, B, H).

    Attributes: the LSTM's sizes and options as it had them (``input_size``, ``hidden_size``,
    ``num_layers``, ``bidirectional``, ``proj_size``, ``batch_first``, ``dtype``, ``backend``, ...),
    read only.
    """

    def __init__(self, lstm) -> None:
        from .recurrent import LSTM

        if not isinstance(lstm, LSTM):
            fail("FrozenLSTM", "lstm", "an lstmkit.LSTM", type(lstm).__name__, exc=TypeError)
        m = copy.copy(lstm)  # its __dict__ (Module.__getstate__), then its own copies of everything that changes
        own = object.__setattr__
        own(m, "_params", Parameters({k: v.copy() for k, v in lstm.parameters().items()}))
        own(m, "grads", {})  # no backward: no gradients
        own(m, "last_masks", {})
        own(m, "dropout_rng", copy.deepcopy(lstm.dropout_rng))
        own(m, "_cache", None)
        own(m, "training", False)  # eval mode: no dropout, zoneout at its expected value
        own(m, "requires_grad", False)  # keep nothing for backward
        own(m, "_packs", {})  # (layer, direction) -> what the kernels prepare, kept (LSTM._prepared)
        object.__setattr__(self, "_lstm", m)

    def forward(self, x, hx=None, lengths=None):
        """``y, (h_n, c_n) = frozen(x, hx=None, lengths=None)``: :meth:`lstmkit.LSTM.forward` on the
        frozen weights, in inference (shapes there)."""
        return self._lstm.forward(x, hx, lengths)

    __call__ = forward

    def backward(self, *args, **kwargs):
        """Refused: a frozen LSTM runs inference only."""
        raise TypeError("FrozenLSTM.backward: a frozen LSTM runs inference only. Train the LSTM it was frozen "
                        "from (lstm.backward), then freeze it again (lstm.freeze()).")  # fmt: skip

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the frozen weights, PyTorch's names (as :meth:`lstmkit.LSTM.state_dict`)."""
        return {k: v.copy() for k, v in self._lstm.parameters().items()}

    def stream(self, batch_size: int = 1, state=None, *, unbatched: bool = False):
        """An :class:`lstmkit.stream.LSTMStream` on the frozen weights (see :meth:`lstmkit.LSTM.stream`)."""
        return self._lstm.stream(batch_size, state, unbatched=unbatched)

    def __getattr__(self, name: str):
        # the LSTM's sizes and options, read only (and its parameters by name, as copies)
        if name.startswith("_"):
            raise AttributeError(name)
        m = self.__dict__["_lstm"]
        params = m.parameters()
        if name in params:
            return params[name].copy()
        if name in ("grads", "backward", "train", "load_state_dict", "parameters", "no_grad"):
            raise AttributeError(f"FrozenLSTM has no attribute {name!r}: it runs inference only")
        value = getattr(m, name)
        if callable(value):
            raise AttributeError(f"FrozenLSTM has no attribute {name!r}")
        return value

    def __setattr__(self, name: str, value) -> None:
        fail("FrozenLSTM", name, "unchanged (a frozen LSTM's weights and options are fixed)", "an assignment",
             "Change the LSTM it was frozen from, then freeze it again (lstm.freeze()).", exc=AttributeError)  # fmt: skip

    def __repr__(self) -> str:
        return f"FrozenLSTM({self._lstm!r})"
