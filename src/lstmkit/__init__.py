"""lstmkit: the LSTM of the lecture notes, exact, with hand-written forward and BPTT in NumPy.

The engine (this package's top level) imports NumPy only. Plots, rich output, the command line,
PyTorch and ONNX live at the edges and are imported where they are used.
"""

from . import activations, backends, functional, layout, variants, workspace
from .cell import LSTMCell, LSTMStep, RNNCell
from .frozen import FrozenLSTM
from .functional import sigmoid, softmax, tanh
from .module import Module
from .recurrent import LSTM, RNN
from .stream import LSTMStream
from .threads import get_num_threads, set_num_threads
from .variants import LSTMVariant

__version__ = "0.1.0"  # the one place it is written: pyproject.toml reads it ([tool.setuptools.dynamic])

# training (issue 3): read-out, losses, optimizers, the fit loop, estimators — NumPy only
from . import losses, optim  # noqa: E402
from .estimators import LSTMClassifier, LSTMRegressor, NotFittedError  # noqa: E402
from .layers import Linear  # noqa: E402
from .models import SequenceModel  # noqa: E402
from .saving import load  # noqa: E402
from .training import History, Trainer, fit  # noqa: E402

# forecasting, text generation, data for the seeds' tasks (issue 3, part B) — NumPy only
from . import datasets  # noqa: E402
from .forecast import ForecastWarning, LSTMForecaster  # noqa: E402
from .text import TextGenerator  # noqa: E402
from ._checks import LstmkitWarning  # noqa: E402

__all__ = [
    "LSTM",
    "RNN",
    "LSTMStream",
    "FrozenLSTM",
    "set_num_threads",
    "get_num_threads",
    "LSTMCell",
    "RNNCell",
    "LSTMStep",
    "LSTMVariant",
    "Module",
    "backends",
    "functional",
    "layout",
    "activations",
    "variants",
    "workspace",
    "sigmoid",
    "tanh",
    "softmax",
    "__version__",
    "Linear",
    "SequenceModel",
    "Trainer",
    "fit",
    "History",
    "LSTMClassifier",
    "LSTMRegressor",
    "NotFittedError",
    "load",
    "losses",
    "optim",
    "datasets",
    "LSTMForecaster",
    "ForecastWarning",
    "LstmkitWarning",
    "TextGenerator",
]

# model files (NumPy only): bare modules with an optional read-out
from .io import FileFormatError  # noqa: E402
from .modelfile import load_lstm, read_lstm, save_lstm  # noqa: E402

__all__ += ["FileFormatError", "save_lstm", "load_lstm", "read_lstm"]
