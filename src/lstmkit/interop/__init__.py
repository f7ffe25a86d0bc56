"""Weights in and out of PyTorch, Keras 3 and ONNX — at the edge of the library.

Each submodule imports its framework inside the functions that need it, so ``import
lstmkit.interop.pytorch`` works without torch installed; only calling a function does not.

    pytorch   nn.LSTM / nn.RNN / nn.LSTMCell / nn.RNNCell / nn.Linear <-> lstmkit, state_dict files
    keras     keras.layers.LSTM / Bidirectional (+ Dense read-out) <-> lstmkit, .keras / .weights.h5
    onnx      lstmkit model -> ONNX graph with the standard LSTM operator; ONNX LSTM node -> lstmkit

The layout conversions themselves (gate orders, transposes, biases) are in :mod:`lstmkit.layout`.
A read-out is a dict ``{"weight": (O, F), "bias": (O,)}`` (``nn.Linear``'s names; bias optional),
applied to every step: ``out_t = y_t W^T + b``.
"""
