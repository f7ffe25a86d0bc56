"""``lstmkit convert IN OUT``: move an LSTM's weights between lstmkit, PyTorch, Keras and ONNX files.

The format of each file is told by its name:

    .npz                      lstmkit model file (lstmkit.save_lstm; NumPy only, no code on load)
    .pt, .pth                 PyTorch state_dict (read with torch.load(weights_only=True))
    .keras, .weights.h5, .h5  Keras 3 (read with json + h5py, written with Keras)
    .onnx                     ONNX graph with the standard LSTM/RNN operator

What travels: the recurrent module (LSTM, RNN; LSTMCell/RNNCell between .npz and .pt) and an
optional read-out Linear/Dense. An estimator's file (``clf.save``) converts to ONNX, with its
read-out, head and token inputs. A state_dict does not record ``batch_first`` or an RNN's
nonlinearity: give them with ``--batch-first`` and ``--nonlinearity``. A .pt's key prefixes (``lstm.``,
``fc.`` of a model's attributes) are kept through a .npz (in its ``extra``) and written back; or
name them with ``--torch-names``.

A model that reads its last step only — a Keras model whose last LSTM has
``return_sequences=False`` (Keras' default), an ONNX graph whose output reads the last layer's
``Y_h`` — travels as a :class:`lstmkit.SequenceModel` with head="last" (and so does any
SequenceModel file): to ``.npz`` (kind ``SequenceModel``, ``lstmkit.load``), ``.keras`` and
``.onnx``. A ``.pt`` state_dict and a ``.weights.h5`` hold weights only, not that the read-out
reads the last step (read back, they would be a model over every step): refused. So is an LSTM
with other activations than Keras' defaults to ``.weights.h5`` (read back, the defaults would be
assumed): write ``.keras``, which keeps them.

An ONNX graph whose input ``x`` holds token ids (a ``Gather`` of the ids before the LSTM, as
:func:`lstmkit.interop.onnx.to_onnx` writes a SequenceModel with ``inputs="tokens"``) travels as a
SequenceModel with ``inputs="tokens"``, whatever its head: to ``.npz`` and ``.onnx``. Keras, a
``.pt`` and a ``.weights.h5`` take feature vectors: refused, rather than dropping the ids' lookup.

An estimator's ONNX graph reads back as the SequenceModel computing its first output ``out`` (a
regressor's scaling folded into the read-out); a Softmax beside it (a classifier's ``proba``) or
on it (torch's ``softmax(fc(y))``: the model computes the logits before it) is not kept, and the
output line says so, with the classes the graph's metadata names
(:func:`lstmkit.interop.onnx.read_onnx`); so is a graph's output that is its last node's own ``Y`` or
``Y_h`` as the operator arranges it (the model written arranges them as lstmkit's y), the output line
giving the expression from one to the other. The output line also says how a ``.weights.h5`` was
read (an LSTM over every step, Keras' default activations: it holds no configuration).

A training checkpoint as IN (:mod:`lstmkit.checkpoint`; told from its metadata before any array is
decompressed) converts as its model, :func:`lstmkit.saving.checkpoint_model`'s
SequenceModel; the output line says which weights (its last epoch's, or early stopping's best so
far), what an estimator's checkpoint does not hold (labels, target scaling, vocabulary: for the
estimator's file, finish the run) and, for an ONNX OUT without ``--lengths``, that the run was
trained with lengths.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NamedTuple

from .._checks import printable
from ._options import ONE_FILE, same_file

HELP = "convert an LSTM (and its read-out) between lstmkit .npz, PyTorch .pt, Keras .keras/.weights.h5 and ONNX .onnx"
EXAMPLE = ("lstmkit convert model.pt model.onnx --batch-first   # model.pt: PyTorch's torch.save(lstm.state_dict(), "
           "'model.pt') of an nn.LSTM(..., batch_first=True)")

FORMATS = {".npz": "lstmkit", ".pt": "pytorch", ".pth": "pytorch", ".keras": "keras", ".weights.h5": "keras", ".h5": "keras", ".onnx": "onnx"}
TITLES = {"lstmkit": "lstmkit model file", "pytorch": "PyTorch state_dict", "keras": "Keras", "onnx": "ONNX"}

#: the library functions convert calls whose errors begin with their name ("to_onnx: expected ..."): the
#: command's user called none of them, so lstmkit.cli has those errors begin with "convert:" instead
#: (commands._options.name_options)
OWNERS = ("load_state_dict_file", "module_from_state_dict", "save_state_dict_file", "lstmkit.interop.pytorch",
          "read_keras", "read_keras_file", "write_keras_file", "to_keras", "to_onnx")  # fmt: skip
#: the library's arguments that convert's flags set (module_from_state_dict's readout and nonlinearity):
#: a wrong --readout is refused as "convert: expected --readout one of ['fc'], got 'head'."
OPTIONS: dict[str, str] = {"readout": "--readout", "nonlinearity": "--nonlinearity"}
#: no other argument of the library is a flag of the same name here: the words of those errors are a
#: file's (its proj_size, peephole), not options of this command (there is no --proj-size)
SAME_NAME: tuple[str, ...] = ()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="file to read (format from its extension: " + ", ".join(FORMATS) + ")")
    p.add_argument("output", metavar="OUT", help="file to write (format from its extension)")
    p.add_argument("--nonlinearity", choices=("tanh", "relu"), default="tanh", help="an RNN's nonlinearity when reading a .pt (default: tanh)")
    p.add_argument("--readout", metavar="PREFIX", help="name of the read-out Linear in a .pt with several (e.g. 'fc')")
    p.add_argument("--batch-first", action="store_true", help="the model takes (B, T, I) (not recorded in a .pt)")
    p.add_argument("--torch-names", metavar="MODULE,READOUT", type=_torch_names,
                   help="key prefixes of a written .pt, e.g. 'lstm,fc' for a model with self.lstm and self.fc "
                        "(default: the input .pt's, kept through a .npz; else rnn,head, or bare nn.LSTM keys without a read-out)")  # fmt: skip
    p.add_argument("--lengths", action="store_true",
                   help="ONNX export: add an int32 input 'lengths' (B,); without it every sequence runs to the batch's last step, "
                        "so a model for padded sequences of different lengths needs it (a model file does not record "
                        "whether it was trained on them)")  # fmt: skip
    p.add_argument("--initial-state", action="store_true", help="ONNX export: add inputs 'h0' and 'c0'")


def _torch_names(text: str) -> tuple[str, str]:
    parts = [t.strip() for t in text.split(",")]
    if len(parts) != 2 or not parts[1] or parts[0] == parts[1] or not all(t.replace("_", "a").replace(".", "a").isalnum() or t == "" for t in parts):
        raise argparse.ArgumentTypeError(f"expected MODULE,READOUT (two different attribute names, MODULE may be empty), got {text!r}")
    return parts[0], parts[1]


def file_format(path: str, arg: str) -> str:
    """The format of ``path`` by its suffix (:data:`FORMATS`); a suffix none has is a usage error
    (UsageError, exit 2), whatever the file holds."""
    from ..cli import UsageError

    name = Path(path).name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return FORMATS[ext]
    raise UsageError(f"convert: expected {arg} to end in one of {', '.join(FORMATS)}, got {path!r}.")


class Source(NamedTuple):
    """What :func:`read` finds in IN."""

    module: Any  # an lstmkit module, SequenceModel or fitted estimator
    readout: dict | None  # a module's read-out, applied at every step
    extra: dict  # kept through a .npz (a .pt's key prefixes)
    title: str  # what IN is, for the output line
    notes: tuple[str, ...] = ()  # what the output line says IN held beyond what travels, or how it was read
    lengths: bool = False  # trained with lengths (a checkpoint's run): an ONNX OUT without --lengths is noted


def read(path: str, fmt: str, args) -> Source:
    """What the file ``path`` of format ``fmt`` holds (see :class:`Source`)."""
    if not Path(path).exists():
        raise FileNotFoundError(2, "No such file", path)
    if fmt == "lstmkit":
        from ..checkpoint import FORMAT as CHECKPOINT_FORMAT
        from ..io import read_meta
        from ..modelfile import MODULE_KINDS, read_lstm

        meta = read_meta(path)  # the metadata alone tells which reader reads the arrays, once
        if meta.get("format") == CHECKPOINT_FORMAT:
            return _read_checkpoint(path)
        if meta.get("kind") not in MODULE_KINDS:  # an estimator's or a SequenceModel's file (lstmkit.load)
            from ..saving import load

            return Source(load(path), None, {}, TITLES[fmt])
        f = read_lstm(path)
        return Source(f.module, f.readout, f.extra, TITLES[fmt])
    if fmt == "pytorch":
        from ..interop.pytorch import load_state_dict_file, module_from_state_dict, state_dict_names

        state = load_state_dict_file(path)  # its refusals name the file, as module_from_state_dict's given source
        module, head = module_from_state_dict(state, args.nonlinearity, args.readout, source=path)
        return Source(module, head, {"torch_names": list(state_dict_names(state, args.readout))}, TITLES[fmt])  # kept for a .pt written later
    if fmt == "keras":
        from ..interop.keras import read_keras, read_keras_file

        if not path.lower().endswith(".keras"):  # .weights.h5: weights without the model's configuration
            module, head = read_keras_file(path)
            return Source(module, head, {}, TITLES[fmt], (WEIGHTS_H5,))
        module, head, mode = read_keras(path)
        if mode == "last":  # return_sequences=False on the last layer
            from ..models import SequenceModel

            return Source(SequenceModel.from_parts(module, head, mode), None, {}, TITLES[fmt])
        return Source(module, head, {}, TITLES[fmt])  # over every step: the LSTM and its Dense as they are
    from ..interop.onnx import graph_output_from, read_onnx

    g = read_onnx(path, where="convert", arg="IN")
    notes = []
    whole = g.head == "last" or g.inputs == "tokens"  # written as a SequenceModel, batch first
    expr = graph_output_from(g, whole or g.module.batch_first or args.batch_first)  # the y of the model written
    if expr is not None:  # the graph outputs its last node's own Y or Y_h: the model written arranges them as lstmkit does
        mixed = " (bidirectional: the same numbers in another order, which a reshape alone mixes up)" if g.module.num_directions == 2 else ""
        notes.append(f"its output is its last {type(g.module).__name__} node's own {g.raw_output[0]} as the operator arranges it: "
                     f"the model written outputs y with the directions side by side, as every lstmkit model{mixed}; "
                     f"the graph's output from it: {expr}")  # fmt: skip
    if g.softmax is not None:
        notes.append(f"its {g.softmax} on the output is not kept: the model outputs the logits before it")
    if g.proba is not None:
        classes = "" if g.classes is None else f", over classes {g.classes}"
        notes.append(f"its output {g.proba!r} (a Softmax of the first{classes}) is not kept: the model outputs the logits, a column per class")
    if g.vocabulary is not None:
        notes.append(f"its vocabulary ({len(g.vocabulary)} characters, one per id) is not kept: the model takes the ids")
    if whole:  # the graph's output reads Y_h, or its input is ids
        return Source(g.sequence_model(), None, {}, TITLES[fmt], tuple(notes))
    return Source(g.module, g.readout, {}, TITLES[fmt], tuple(notes))


#: how a .weights.h5 is read (it holds no configuration)
WEIGHTS_H5 = "read as a .weights.h5 is: an LSTM over every step with Keras' default activations (a .keras keeps its configuration)"


def _read_checkpoint(path: str) -> Source:
    """A training checkpoint's model (lstmkit.saving.checkpoint_model), and what the output line says of it."""
    from ..saving import checkpoint_model

    ck = checkpoint_model(path)
    settings = ck.meta.get("settings") or {}
    if ck.weights_epoch != ck.epoch:
        notes = [f"early stopping's best weights so far, of epoch {ck.weights_epoch} (what the run ends with)"]
    else:
        notes = [f"the weights after epoch {ck.epoch}"]
    if "learning_rate" in settings:  # an estimator's run: its labels, target scaling or vocabulary are in its model file only
        if ck.model.inputs == "tokens":
            outputs = "scores over token ids (the vocabulary is not in a checkpoint)"
        elif settings.get("loss") == "cross_entropy":
            outputs = "a score per class, in the labels' sorted order (the labels are not in a checkpoint)"
        else:
            outputs = "standardised targets (the targets' mean and scale are not in a checkpoint)"
        notes.append(f"the network only, its outputs {outputs}: for the estimator's file, finish the run "
                     f"(the same 'lstmkit train' command with --checkpoint {path})")  # fmt: skip
    shapes = (ck.meta.get("data") or {}).get("shapes") or []  # (X, Y, lengths): lengths None without them
    lengths = len(shapes) > 2 and shapes[2] is not None
    return Source(ck.model, None, {}, f"lstmkit training checkpoint, epoch {ck.epoch}", tuple(notes), lengths)


def write(path: str, fmt: str, module, readout, extra, args) -> None:
    from ..cli import CommandError

    kind = type(module).__name__
    if hasattr(module, "regressor_"):  # a forecaster: its window, scaling and differencing are outside any network file
        raise CommandError(f"convert: expected an LSTM/RNN or a classifier, regressor or text generator file, got an {kind} "
                           "(its window, scaling and differencing have no place in an ONNX/PyTorch/Keras file; "
                           "use it with 'lstmkit forecast --model' or LSTMForecaster.load).")  # fmt: skip
    whole = hasattr(module, "model_") or hasattr(module, "head_mode")  # written whole, by a writer that checks it
    if hasattr(module, "model_"):  # a fitted estimator: its whole model goes to ONNX
        if fmt != "onnx":
            raise CommandError(f"convert: expected OUT to be .onnx for an estimator's file ({kind}), got {path!r}.")
    elif whole:  # a SequenceModel: its head travels with it where the format can say it
        if fmt == "lstmkit":
            module.save(path)
            return
        if not (fmt == "onnx" or (fmt == "keras" and path.lower().endswith(".keras"))):  # weights only: the LSTM and read-out
            last, tokens = module.head_mode == "last", module.inputs != "features"
            if last or tokens:
                what = " and ".join(w for w, bad in (("head='last'", last), (f"inputs={module.inputs!r}", tokens)) if bad)
                formats = ".npz or .onnx" if tokens else ".npz, .keras or .onnx"  # Keras' model takes feature vectors
                raise CommandError(f"convert: expected OUT {formats} for a SequenceModel with {what}, got {path!r} "
                                   "(a PyTorch state_dict or .weights.h5 holds weights only: read back, it would be another model).")  # fmt: skip
            (module, readout), whole = module.parts(), False
            kind = type(module).__name__  # what is written now: the SequenceModel's LSTM or RNN
    if fmt == "lstmkit":
        from ..modelfile import save_lstm

        save_lstm(path, module, readout, extra)
    elif fmt == "pytorch":
        from ..interop.pytorch import save_state_dict_file

        names = args.torch_names or extra.get("torch_names")
        if names is not None and readout is not None and not names[1]:  # a .pt without read-out, then one added: torch's default
            names = None
        save_state_dict_file(path, module, readout, None if names is None else tuple(names))
    elif fmt == "keras":
        if not whole:
            if kind != "LSTM":
                raise CommandError(f"convert: expected an LSTM for a Keras file, got {kind}.")
            acts = module.variant.changed().get("activations")
            if acts is not None and path.lower().endswith(".weights.h5"):  # read back with Keras' defaults: another model
                raise CommandError(f"convert: expected OUT .keras for an LSTM with activations {tuple(acts)}, got {path!r} "
                                   "(a .weights.h5 holds weights only: read back, Keras' default activations would be assumed).")  # fmt: skip
        from ..interop.keras import write_keras_file

        write_keras_file(path, module, readout)
    else:
        if not whole and kind not in ("LSTM", "RNN"):
            raise CommandError(f"convert: expected an LSTM or RNN for ONNX, got {kind}.")
        from ..interop.onnx import to_onnx

        to_onnx(module, readout, path, lengths=args.lengths, initial_state=args.initial_state)


def _not_loaded_whole(module, args, fmt_in: str) -> str:
    """What the output line says of a .npz holding a time-major module or a cell with a read-out: lstmkit.load,
    whose SequenceModel takes x as (B, T, I), refuses it (lstmkit.saving); lstmkit.read_lstm reads it."""
    read = f"lstmkit.read_lstm({args.output!r}).predict(x) runs it with its read-out"
    if not hasattr(module, "batch_first"):  # a cell
        return f"a cell with a read-out: lstmkit.load refuses it, {read}"
    unrecorded = " (a .pt does not record it)" if fmt_in == "pytorch" else ""
    return (f"written time-major (batch_first=False) with a read-out: lstmkit.load refuses it, {read}, x as (T, B, I); "
            f"if the model takes x as (B, T, I){unrecorded}, give --batch-first and lstmkit.load loads it whole")


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError
    from ..saving import loads_whole

    # the command line's refusals, whatever IN holds (exit 2), before IN is read: IN in a format not
    # read, OUT in a format not written, OUT the very file IN names, --torch-names for another file than a .pt
    fmt_in = file_format(args.input, "IN")
    fmt_out = file_format(args.output, "OUT")
    if same_file(args.output, args.input):  # also a link, or another case (one file on macOS/Windows)
        raise UsageError(f"convert: expected OUT other than IN (the input would be overwritten), got OUT {args.output!r} and "
                         f"IN {args.input!r}, {ONE_FILE}. Give OUT another name.")  # fmt: skip
    if args.torch_names and fmt_out != "pytorch":
        raise UsageError(f"convert: expected --torch-names with a .pt/.pth OUT, got {args.output!r}.")
    module, readout, extra, title, notes, lengths = read(args.input, fmt_in, args)
    if args.batch_first and hasattr(module, "batch_first"):
        module.batch_first = True
    write(args.output, fmt_out, module, readout, extra, args)
    head = ""
    if readout is not None:
        O, F = readout["weight"].shape
        head = f" + read-out {F} -> {O}"
    if hasattr(module, "model_"):
        desc = f"{type(module).__name__} with {module.model_!r}"
    elif hasattr(module, "extra_repr") or hasattr(module, "head_mode"):
        desc = repr(module)
    else:
        desc = f"{type(module).__name__}({module.input_size}, {module.hidden_size})"
    if lengths and fmt_out == "onnx" and not args.lengths:
        notes += ("trained with lengths (padded sequences): give --lengths to run padded batches as it did",)
    if fmt_out == "lstmkit" and readout is not None and not loads_whole(module):  # save_lstm's file, refused by load
        notes += (_not_loaded_whole(module, args, fmt_in),)
    print(printable(f"{args.input} ({title}) -> {args.output} ({TITLES[fmt_out]}): {desc}{head}" + "".join(f"; {n}" for n in notes)))
    return 0
