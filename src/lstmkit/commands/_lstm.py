"""Shared by ``train``, ``forecast`` and ``generate``: the LSTM's options as flags, turned into the
estimators' ``forget_bias`` and ``lstm_options`` (projection and the variants of
:mod:`lstmkit.variants`), and ``--verbose``, the training progress. Each value's range is checked
as the command line is parsed (:mod:`._options`); the rest (names of activations, --proj-size below
--hidden-size, variants of an RNN) by the library's own rules, called before the command runs
(:func:`check_lstm_arguments`): a usage error, before any data is read."""

from __future__ import annotations

import argparse
import math

from ._options import add_check, fraction, integer, name_options, option_name, positive


def _forget_bias(text: str):
    """A float, or "none" (keep the uniform initialisation)."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}")
    return value


def _activations(text: str) -> list:
    """``f,g,h``: three names, each optionally with parameters ``name:alpha[:beta]``."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError(f"expected three activations 'f,g,h' (e.g. sigmoid,tanh,tanh), got {text!r}")
    out = []
    for p in parts:
        name, *params = p.split(":")
        try:
            values = [float(v) for v in params]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected name:alpha[:beta] with numbers, got {p!r}") from None
        out.append([name, *values] if values else name)
    return out


def add_lstm_arguments(p: argparse.ArgumentParser, forget_bias: float | None = 1.0) -> None:
    """The flags of the LSTM's options (a group of their own in --help)."""
    g = p.add_argument_group("LSTM options (variants: equations in lstmkit.variants; regularisers act in training only)")
    g.add_argument("--forget-bias", type=_forget_bias, default=forget_bias, metavar="X",
                   help=f"initial forget-gate bias b_if + b_hf ('none': uniform initialisation; default {forget_bias})")
    g.add_argument("--proj-size", type=integer(0), default=0, metavar="P", help="LSTMP (an LSTM with a projection layer, Sak et al. 2014; PyTorch's proj_size): project h_t to P < "
                        "hidden-size units (default 0: none)")
    g.add_argument("--peephole", action="store_true", help="peephole connections: i, f see c_{t-1}, o sees c_t")
    g.add_argument("--input-forget", action="store_true", help="coupled input and forget gate (CIFG): f = 1 - i")
    g.add_argument("--gate-clip", type=positive, default=None, metavar="X", help="clip every gate pre-activation to [-X, X] (ONNX clip)")
    g.add_argument("--cell-clip", type=positive, default=None, metavar="X", help="clip the cell state c_t to [-X, X]")
    g.add_argument("--activations", type=_activations, default=None, metavar="F,G,H",
                   help="gate, candidate and output activations, ONNX names, e.g. hard_sigmoid,tanh,softsign or leaky_relu:0.1,tanh,tanh")
    g.add_argument("--layer-norm", action="store_true", help="layer-normalised LSTM (Ba et al. 2016)")
    g.add_argument("--dropout-input", type=fraction, default=0.0, metavar="P", help="variational dropout on the inputs, one mask per sequence (default 0: none)")
    g.add_argument("--dropout-recurrent", type=fraction, default=0.0, metavar="P", help="variational dropout on h_{t-1}, one mask per sequence (default 0: none)")
    g.add_argument("--zoneout-cell", type=fraction, default=0.0, metavar="Z", help="zoneout on c (keep c_{t-1} with probability Z; default 0: none)")
    g.add_argument("--zoneout-hidden", type=fraction, default=0.0, metavar="Z", help="zoneout on h (keep h_{t-1} with probability Z; default 0: none)")
    g.add_argument("--dropconnect", type=fraction, default=0.0, metavar="P", help="DropConnect on the recurrent weights W_hh (default 0: none)")
    add_check(p, check_lstm_arguments)


def lstm_options(args: argparse.Namespace) -> dict | None:
    """The flags that differ from the plain LSTM, as ``lstm_options`` (None when none is set)."""
    opts = {}
    if args.proj_size:
        opts["proj_size"] = args.proj_size
    for k in ("peephole", "input_forget", "layer_norm"):
        if getattr(args, k):
            opts[k] = True
    for k in ("gate_clip", "cell_clip", "activations"):
        if getattr(args, k) is not None:
            opts[k] = getattr(args, k)
    for k in ("dropout_input", "dropout_recurrent", "zoneout_cell", "zoneout_hidden", "dropconnect"):
        if getattr(args, k):
            opts[k] = getattr(args, k)
    return opts or None


def check_lstm_arguments(args: argparse.Namespace) -> None:
    """Refuse (UsageError, exit 2), before the command runs, the LSTM's flags that the library would
    refuse once the data is loaded: names of activations, variants of an RNN (``--cell rnn``),
    ``--proj-size`` not below ``--hidden-size``. The rules are the library's: ``lstm_options`` goes
    through :func:`lstmkit.models.check_lstm_options` as the estimators' does, and ``--proj-size``
    through the layer's own rule (:func:`lstmkit.recurrent.check_proj_size`). The message is the library's, in the options' words (``train: expected
    --proj-size smaller than --hidden-size=4, got 8.``). With ``--model`` nothing is built: the
    command refuses these flags beside it (:func:`._options.refuse_with_model`)."""
    if getattr(args, "model", None):
        return
    from ..cli import UsageError
    from ..models import check_lstm_options
    from ..recurrent import check_proj_size

    cell, options = getattr(args, "cell", "lstm"), lstm_options(args)
    if cell != "lstm" and options:  # every flag of this group is the LSTM's (projection, variants)
        flags = ", ".join(option_name(k) for k in options)
        raise UsageError(f"{args.command}: expected none of the LSTM's options with --cell {cell}, got {flags}. "
                         "Leave them out, or train an LSTM (--cell lstm).")  # fmt: skip
    try:
        options = check_lstm_options(options, cell, "LSTM")
        if options.get("proj_size"):
            check_proj_size(options["proj_size"], args.hidden_size)
    except (ValueError, TypeError) as exc:
        raise UsageError(name_options(str(exc), args.command, *args._names) or str(exc)) from None


def add_verbose_argument(g, stream: str = "stdout") -> None:
    """``--verbose`` (training progress) in the group or parser ``g``, 1 when not given: a live bar when
    the progress goes to a terminal, one plain line per epoch when it goes to a file or a pipe
    (:func:`lstmkit.progress.make_progress`), as Keras' ``verbose="auto"``. ``stream``: where the
    command sends it, "stdout", or "stderr" for a command whose product is its standard output
    (generate's sample), said in the help."""
    on = "" if stream == "stdout" else f", on {stream}"
    g.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help=f"training progress{on}: 0 none, 1 a live bar on a terminal, else one line per epoch (a file, "
                        "a pipe: a long job's log shows each epoch as it ends, as Keras' verbose='auto'), 2 one line "
                        "per epoch (default 1)")  # fmt: skip
