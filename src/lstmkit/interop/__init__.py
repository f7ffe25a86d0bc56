"""Weights in and out of PyTorch, Keras 3 and ONNX — at the edge of the library.

Each submodule imports its framework inside the functions that need it, so ``import
lstmkit.interop.pytorch`` works without torch installed; only calling a function does not.

    pytorch   nn.LSTM / nn.RNN / nn.LSTMCell / nn.RNNCell / nn.Linear <-> lstmkit, state_dict files
    keras     keras.layers.LSTM / Bidirectional (+ Dense read-out) <-> lstmkit, .keras / .weights.h5;
              model_from_keras: a whole model, return_sequences=False included, as a SequenceModel
    onnx      lstmkit model -> ONNX graph with the standard LSTM operator; ONNX LSTM node -> lstmkit;
              sequence_model_from_onnx: a graph reading Y (every step) or Y_h (the last) as a SequenceModel

The layout conversions themselves (gate orders, transposes, biases) are in :mod:`lstmkit.layout`.
A read-out is a dict ``{"weight": (O, F), "bias": (O,)}`` (``nn.Linear``'s names; bias optional).
Beside an LSTM (``from_keras``, ``model_from_onnx``, ``module_from_state_dict``) it is applied to
every step: ``out_t = y_t W^T + b``. A model that reads only the last step (Keras'
``return_sequences=False``, an ONNX graph's ``Y_h``) comes as a
:class:`~lstmkit.models.SequenceModel` with ``head="last"``: ``out = h_last W^T + b``.
"""
