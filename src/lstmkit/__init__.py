"""lstmkit: the LSTM of the lecture notes, exact, with hand-written forward and BPTT in NumPy.

The engine (this package's top level) imports NumPy only. Plots, rich output, the command line,
PyTorch and ONNX live at the edges and are imported where they are used.
"""

from . import backends, functional, layout
from .cell import LSTMCell, LSTMStep, RNNCell
from .functional import sigmoid, softmax, tanh
from .module import Module
from .recurrent import LSTM, RNN

__version__ = "0.1.0"

__all__ = [
    "LSTM",
    "RNN",
    "LSTMCell",
    "RNNCell",
    "LSTMStep",
    "Module",
    "backends",
    "functional",
    "layout",
    "sigmoid",
    "tanh",
    "softmax",
    "__version__",
]
