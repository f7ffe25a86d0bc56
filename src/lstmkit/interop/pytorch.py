"""PyTorch <-> lstmkit: modules, read-outs and ``state_dict`` files.

lstmkit's parameters *are* PyTorch's (same names, shapes, gate order i, f, g, o), so every
conversion here is a copy, bit for bit, in both directions:

    torch.nn.LSTM(I, H, L, bias, batch_first, dropout, bidirectional, proj_size)  <->  lstmkit.LSTM
    torch.nn.RNN(I, H, L, nonlinearity, bias, batch_first, dropout, bidirectional) <->  lstmkit.RNN
    torch.nn.LSTMCell(I, H, bias) / torch.nn.RNNCell(I, H, bias, nonlinearity)    <->  lstmkit cells
    torch.nn.Linear(F, O, bias)                          <->  read-out {"weight": (O, F), "bias": (O,)}
    torch.nn.Linear(F, O, bias)                          <-   lstmkit.Linear(F, O, bias)

float32 and float64 stay as they are; other torch dtypes are cast to ``dtype`` (float32 unless
given). A saved ``state_dict`` (``torch.save(model.state_dict(), path)``) is read with
``torch.load(weights_only=True)`` (no code runs) and its architecture inferred from its keys and
shapes by :func:`module_from_state_dict`. torch is imported inside each function; without it, a
ModuleNotFoundError (``name="torch"``) gives the pip line that installs it.
"""

from __future__ import annotations

import io
import os
import warnings
import re
import zipfile
from typing import Mapping

import numpy as np

from .._checks import LstmkitWarning, a_or_an, cast_float, check_float_array, count, fail, optional_import
from ..io import MAX_BYTES, FileFormatError, check_zip_sizes
from ..cell import LSTMCell, RNNCell
from ..recurrent import LSTM, RNN

_TORCH_KINDS = ("LSTM", "RNN", "LSTMCell", "RNNCell", "Linear")
#: one recurrent parameter name: <prefix><weight_ih|...>[_l<k>][_reverse]
_KEY = re.compile(r"^(?P<prefix>(?:.*\.)?)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)(?P<layer>_l\d+)?(?P<rev>_reverse)?$")


def _np_dtype(tensor_dtype, dtype):
    import torch

    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.float64) if tensor_dtype == torch.float64 else np.dtype(np.float32)


def _to_numpy(sd: Mapping, dtype=None, floats_only: bool = True, where: str = "lstmkit.interop.pytorch", source: str = "",
              owned: bool = False) -> dict[str, np.ndarray]:
    """torch tensors -> NumPy arrays: floating ones in ``dtype`` (default: float64 stays, others
    float32; a value beyond ``dtype``'s range refused, named by its key); with ``floats_only=False`` other tensors (a BatchNorm's int64 ``num_batches_tracked``,
    an integer recurrent weight) are kept in their own dtype, for :func:`module_from_state_dict` to say
    which layer they belong to, or to refuse a recurrent weight that is not floating-point as it refuses
    one in a dict of NumPy arrays. A sparse (or other non-strided) tensor is refused by its key, where
    torch said "can't convert Sparse layout tensor to numpy". ``where`` and ``source`` (the file, with a
    space after it) name the caller and where the tensors came from in a refusal. Every array is the
    caller's own, sharing no memory with a tensor of ``sd`` or another array, except with ``owned``
    (``sd`` is the caller's alone, as torch.load's result): then a tensor whose storage is its own and
    no other key's is handed over as it is, without a copy (a second copy of a large file's weights)."""
    import torch

    out = {}
    seen: set[int] = set()  # the storages handed over (owned): a second key on one of them (a view, tied weights) is copied
    for k, v in sd.items():
        arg = f"{source}state_dict[{k!r}]"
        if not isinstance(v, torch.Tensor):
            fail(where, arg, "a torch.Tensor", type(v).__name__, exc=TypeError)
        if v.layout != torch.strided:  # sparse COO/CSR/..., which .numpy() refuses naming no key
            fail(where, arg, "a dense tensor (torch.strided layout)", f"layout {v.layout}",
                 "Save it dense: torch.save({k: t.to_dense() for k, t in state_dict.items()}, path).", exc=TypeError)  # fmt: skip
        try:
            t = v.detach().cpu()
        except (RuntimeError, NotImplementedError) as exc:  # a meta tensor (no data), ...
            fail(where, arg, "a tensor holding its values", f"one torch cannot read ({type(exc).__name__}: {exc})", exc=TypeError)
        if not t.is_floating_point() and not floats_only:
            try:
                out[k] = _own(t.numpy(), t, owned, seen)
                continue
            except (TypeError, RuntimeError):  # a quantized or sparse tensor, ...
                pass
        if not t.is_floating_point():
            fail(where, arg, "a floating-point tensor", f"dtype {t.dtype}", exc=TypeError)
        if t.dtype not in (torch.float32, torch.float64):
            t = t.to(torch.float64)
        # a float64 value beyond a float32 dtype's range (from_torch(m, dtype=numpy.float32)) named by its key and index, not made inf
        out[k] = _own(cast_float(t.numpy(), _np_dtype(v.dtype, dtype), where, arg), t, owned, seen)
    return out


def _own(a: np.ndarray, t, owned: bool, seen: set[int]) -> np.ndarray:
    """``a`` (an array of tensor ``t``'s values) as memory of its own: copied where it shares ``t``'s
    memory, unless ``owned`` and ``t`` is the whole of a storage no earlier key had (``seen``, its
    address added)."""
    if not np.may_share_memory(a, t.numpy()):  # cast_float made a new array (float64 -> float32): the copy is made
        return a
    storage = t.untyped_storage()
    if owned and storage.nbytes() == a.nbytes and storage.data_ptr() not in seen:
        seen.add(storage.data_ptr())
        return a
    return a.copy()


def from_torch(module, dtype=None):
    """A torch module -> its lstmkit twin with the very same weights.

    ``module``: ``nn.LSTM``, ``nn.RNN``, ``nn.LSTMCell``, ``nn.RNNCell`` (returns the lstmkit
    module) or ``nn.Linear`` (returns the read-out dict ``{"weight": (O, F), "bias": (O,)}``).
    ``dtype``: numpy dtype of the result; default float64 for float64 modules, else float32 (a
    float64 value beyond float32's range is then refused, naming its key and index).
    Training mode is carried over (``module.training``).
    """
    with optional_import("torch", "from_torch", "to read a torch module"):
        import torch

    nn = torch.nn
    where = "from_torch"
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return _to_numpy(module.state_dict(), dtype, where=where)
    if not isinstance(module, (nn.LSTM, nn.RNN, nn.LSTMCell, nn.RNNCell)) or isinstance(module, nn.GRU):
        fail(where, "module", f"a torch.nn {', '.join(_TORCH_KINDS)}", kind, "GRU and other layers have no lstmkit twin.", exc=TypeError)
    sd = module.state_dict()
    first = next(iter(sd.values()))
    dt = _np_dtype(first.dtype, dtype)
    if isinstance(module, nn.LSTM):
        out = LSTM(
            module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
            float(module.dropout), module.bidirectional, module.proj_size, dtype=dt, seed=0,
        )
    elif isinstance(module, nn.RNN):
        out = RNN(
            module.input_size, module.hidden_size, module.num_layers, module.nonlinearity, module.bias,
            module.batch_first, float(module.dropout), module.bidirectional, dtype=dt, seed=0,
        )
    elif isinstance(module, nn.LSTMCell):
        out = LSTMCell(module.input_size, module.hidden_size, module.bias, dtype=dt, seed=0)
    else:
        out = RNNCell(module.input_size, module.hidden_size, module.bias, module.nonlinearity, dtype=dt, seed=0)
    out.load_state_dict(_to_numpy(sd, dt, where=where))
    out.train(module.training)
    return out


def to_torch(module):
    """An lstmkit ``LSTM``/``RNN``/``LSTMCell``/``RNNCell``/``Linear`` (or a read-out dict) -> torch module.

    The torch module has the lstmkit module's dtype (float32 or float64), exactly its weights and its
    training mode; a ``Linear`` or a read-out dict gives an ``nn.Linear``. Variant options
    (peepholes, layer norm, ...) have no torch twin and are refused by name. A SequenceModel (or a
    fitted estimator's ``model_``) is two torch modules: ``rnn, readout = model.parts()``, then
    ``to_torch(rnn)`` and ``to_torch(readout)``; it is refused saying so.
    """
    with optional_import("torch", "to_torch", "to build the torch module"):
        import torch

    from ..layers import Linear

    nn = torch.nn
    where = "to_torch"
    if isinstance(module, Mapping):  # a read-out
        W = np.asarray(module["weight"])
        lin = nn.Linear(W.shape[1], W.shape[0], bias=module.get("bias") is not None, dtype=_torch_dtype(W.dtype))
        _load(lin, {k: v for k, v in module.items() if v is not None})
        return lin
    if type(module) is Linear:
        lin = nn.Linear(module.in_features, module.out_features, bias=module.has_bias, dtype=_torch_dtype(module.dtype))
        _load(lin, module.state_dict())
        lin.train(module.training)
        return lin
    seq = getattr(module, "model_", module)  # a fitted estimator holds its SequenceModel in model_
    if hasattr(seq, "rnn") and hasattr(seq, "head_mode"):
        fail(where, "module", "an lstmkit LSTM, RNN, LSTMCell, RNNCell, Linear or a read-out dict", a_or_an(type(module).__name__), _two_modules(module, seq), exc=TypeError)
    changed = getattr(getattr(module, "variant", None), "changed", lambda: {})()
    if changed:
        fail(where, "module", "a plain LSTM (torch.nn.LSTM has no variant options)", f"options {changed}")
    tdt = _torch_dtype(module.dtype)
    if type(module) is LSTM:
        out = nn.LSTM(
            module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
            module.dropout, module.bidirectional, module.proj_size, dtype=tdt,
        )
    elif type(module) is RNN:
        out = nn.RNN(
            module.input_size, module.hidden_size, module.num_layers, module.nonlinearity, module.bias,
            module.batch_first, module.dropout, module.bidirectional, dtype=tdt,
        )
    elif type(module) is LSTMCell:
        out = nn.LSTMCell(module.input_size, module.hidden_size, module.bias, dtype=tdt)
    elif type(module) is RNNCell:
        out = nn.RNNCell(module.input_size, module.hidden_size, module.bias, module.nonlinearity, dtype=tdt)
    else:
        fail(where, "module", "an lstmkit LSTM, RNN, LSTMCell, RNNCell, Linear or a read-out dict", type(module).__name__, exc=TypeError)
    _load(out, module.state_dict())
    out.train(module.training)
    return out


def _two_modules(module, seq) -> str:
    """How to take a SequenceModel (``seq``; ``module`` itself or the estimator holding it) to torch:
    its recurrent layer and its read-out, each a torch module, and what a torch forward does with them."""
    name = "model" if seq is module else "est.model_"
    tail = ""
    if seq.head_mode == "last":
        last = "torch.cat((h_n[-2], h_n[-1]), 1)" if seq.rnn.bidirectional else "h_n[-1]"
        tail += (f" Its forward reads each sequence's last valid step, {last}" + (", through the Linear" if seq.head is not None else "")
                 + ": h_n is that step for sequences of different lengths only when they are packed, "
                 "pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False) (of a padded batch, h_n is step T's).")  # fmt: skip
    elif seq.head is not None:
        tail += " Its forward applies the Linear to every step's output y."
    if getattr(seq, "inputs", "features") == "tokens":
        tail += f" The LSTM takes one-hot rows of the ids: torch.nn.functional.one_hot(ids, {seq.rnn.input_size}).float()."
    if hasattr(module, "y_scale_"):
        tail += " A regressor's outputs are standardised: times y_scale_, plus y_mean_."
    opening = "A SequenceModel is" if seq is module else "Its network, est.model_, is a SequenceModel:"
    return (f"{opening} a recurrent layer and a read-out, two torch modules: rnn, readout = {name}.parts(), then "
            f"to_torch(rnn) and to_torch(readout) (an nn.Linear; readout is None for readout='identity'), or "
            f"save_state_dict_file('model.pt', *{name}.parts()) for a torch model with attributes rnn and head.{tail}")  # fmt: skip


def _torch_dtype(np_dtype):
    import torch

    return torch.float64 if np.dtype(np_dtype) == np.float64 else torch.float32


def _load(torch_module, arrays: Mapping[str, np.ndarray]) -> None:
    import torch

    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    torch_module.load_state_dict(sd, strict=True)


# -- state_dict files -----------------------------------------------------------------------------
def load_state_dict_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read ``torch.save(state_dict)`` output safely (``weights_only=True``) as NumPy arrays.

    A file holding a whole pickled module (``torch.save(model)``) or any other object is refused:
    only a mapping of names to tensors is accepted, or a training checkpoint (a dict such as
    ``{"model": state_dict, "epoch": 3, "optimizer": ...}``) with exactly one entry that is one,
    which is read with a UserWarning naming it (:func:`_checkpoint_entry`). Floating-point tensors
    become float32 or float64 arrays, others (a BatchNorm's ``num_batches_tracked``) keep their dtype:
    :func:`module_from_state_dict` says which layer they belong to. Before torch.load inflates
    anything, the zip's directory is checked as :mod:`lstmkit.io` checks its own files (at most
    ``MAX_BYTES`` declared in all, no decompression bomb: :func:`_check_archive`), and torch's
    legacy format (torch < 1.6, not a zip) is refused with how to save the file again; the arrays are
    torch.load's tensors' memory, not copies of it (a tensor sharing storage with another is copied).
    """
    with optional_import("torch", "load_state_dict_file", "to read a torch state_dict file"):
        import torch

    where = "load_state_dict_file"
    _check_archive(path, where)
    try:
        obj = torch.load(os.fspath(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ... for what it refuses
        # torch's message opens with boilerplate (and advice to load with weights_only=False, which runs
        # the file's code): keep the line that says what was refused
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        skip = ("Weights only load failed", "Check the documentation", "Please file an issue")
        cause = [ln for ln in lines if "weights_only" not in ln and not ln.startswith(skip)]
        msg = (cause or lines or [type(exc).__name__])[0].split(" Please use ")[0]
        fail(where, f"{path}", "a state_dict saved with torch.save(module.state_dict(), path)", f"a file torch.load(weights_only=True) refuses ({msg})",
             "lstmkit reads tensors only and never runs a file's code: save the module's state_dict().")  # fmt: skip
    if isinstance(obj, Mapping) and all(isinstance(k, str) for k in obj) and not _is_state_dict(obj):
        obj = _checkpoint_entry(obj, path, where)
    if not isinstance(obj, Mapping) or not all(isinstance(k, str) for k in obj):
        fail(where, f"{path}", "a mapping name -> tensor (a state_dict)", type(obj).__name__, "Save model.state_dict(), not the model.")
    return _to_numpy(obj, floats_only=False, where=where, source=f"{path} ", owned=True)


#: how to mend a .pt archive refused as a decompression bomb
_PT_BOMB_FIX = ("a decompression bomb, or a file compressed by another writer; torch.save writes tensors uncompressed "
                "(load it with torch.load and save the state_dict again with torch.save)")  # fmt: skip


def _refuse_not_zip(path, head: bytes, where: str) -> None:
    """The FileFormatError of a ``.pt`` that does not open with the zip signature (``head``: its first
    four bytes), worded by what it is: an empty file; a pickle (``\\x80``, protocol 2 or later:
    torch's legacy format, which torch.load reads and can save again); an empty zip archive (no
    entries); a zip archive with bytes before it, which torch.load does not read either (it tests
    the first four bytes); another file (which may still be a legacy file of pickle protocol 0 or
    1, which the message allows for)."""
    expected = "a torch.save zip archive (what torch >= 1.6 writes)"
    resave = "save the state_dict with torch.save(module.state_dict(), path)"
    if not head:
        fail(where, f"{path}", expected, "an empty file (0 bytes)", f"The file holds nothing to read: {resave}.", exc=FileFormatError)
    if head[:1] == b"\x80":  # a pickle's PROTO opcode: torch < 1.6, or _use_new_zipfile_serialization=False
        fail(where, f"{path}", expected,
             f"a file that opens with {head!r}, not the zip signature b'PK\\x03\\x04' (a pickle: torch's legacy format)",
             "lstmkit does not read the legacy format (torch < 1.6, or _use_new_zipfile_serialization=False): it sizes each "
             "tensor by what the file declares, not by the data it holds. Load it with torch.load(path) and save it again "
             "with torch.save(state_dict, path).", exc=FileFormatError)  # fmt: skip
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        entries = None
    if entries == []:  # a zip archive with no entries (b'PK\x05\x06': its directory's end, nothing before)
        fail(where, f"{path}", expected, f"an empty zip archive (no entries; the file opens with {head!r})",
             f"The archive holds nothing to read: {resave}.", exc=FileFormatError)  # fmt: skip
    before = min(i.header_offset for i in entries) if entries else None
    if before:  # zipfile finds an archive after other bytes; torch.load reads that file as its legacy format, and fails
        fail(where, f"{path}", expected, f"a zip archive after {before} other bytes (the file opens with {head!r})",
             f"torch.load does not read it either: remove the {before} bytes before the archive, or {resave}.", exc=FileFormatError)  # fmt: skip
    fail(where, f"{path}", expected, f"a file that opens with {head!r}: no zip archive, nor a pickle of protocol 2 or later "
         "(torch's legacy format as torch.save writes it)",
         f"It is no torch.save file (or a legacy one written with pickle_protocol 0 or 1: load it with torch.load(path) and save "
         f"it again): {resave}.", exc=FileFormatError)  # fmt: skip


def _check_archive(path, where: str) -> None:
    """Refuse a ``.pt`` zip archive (what ``torch.save`` writes) by the sizes its directory declares,
    before ``torch.load`` inflates anything: lstmkit.io's rule for every zip it reads
    (:func:`lstmkit.io.check_zip_sizes`: at most :data:`lstmkit.io.MAX_BYTES` in all, no entry, nor
    all of them, a decompression bomb), a :class:`~lstmkit.io.FileFormatError` naming the file and
    the entry. A 2 MB file whose ``data/0`` declares 2.4 GB of deflated zeros made torch.load take
    2.6 GB. A file that does not open with the zip signature (torch.load's own test, which reads any
    other file in torch's legacy format, torch < 1.6) is refused: the legacy format sizes each tensor
    by what its pickle declares, not by the bytes the file holds, so a 541-byte file made torch.load
    return 256 MB of tensors (the process's memory uninitialised) and ``convert`` take 960 MB. A
    file that cannot be opened (none, a directory), or a zip cut short, is left to torch.load."""
    try:
        with open(os.fspath(path), "rb") as f:
            head = f.read(4)
    except OSError:
        return
    if head != b"PK\x03\x04":  # torch.serialization._is_zipfile: any other start is read as the legacy format
        _refuse_not_zip(path, head, where)
    try:
        zf = zipfile.ZipFile(os.fspath(path))
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    with zf:
        infos = zf.infolist()

    def refusal(advice: str):  # what: "entry 'x/data/0' declares ...", "entries add up to ...", "its deflated entries ..."
        return lambda what: FileFormatError(f"{where}: expected {path} a torch.save archive of at most {MAX_BYTES} bytes with "
                                            f"no decompression bomb, got one where {what}.{advice}")  # fmt: skip

    # a bomb's phrase ends with its own fix; the size cap (said after the bombs) with what to save
    too_large = refusal(" An LSTM's state_dict is far smaller: save the LSTM's own state_dict (lstm.state_dict()), "
                        "not the whole model's.")  # fmt: skip
    check_zip_sizes(infos, refusal(""), max_bytes=MAX_BYTES, fix=_PT_BOMB_FIX,
                    too_large=lambda total: too_large(f"entries add up to more than {MAX_BYTES} bytes"))  # fmt: skip


def _is_state_dict(obj) -> bool:
    import torch

    return isinstance(obj, Mapping) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def _checkpoint_entry(obj: Mapping, path, where: str) -> Mapping:
    """The state_dict in a training checkpoint ``{"model": state_dict, "epoch": 3, "optimizer": ...}``:
    its one entry that is a state_dict (names -> tensors), read with a warning naming it and what is
    left out. A user converting the checkpoint they have means that entry, whatever its key
    ("model", "state_dict", "model_state_dict", ...). With several (a model and its EMA twin) the one
    meant cannot be told, and with none the file holds no state_dict: both are refused, saying how to
    save the state_dict alone."""
    keys = list(obj)
    shown = keys if len(keys) <= 8 else [*keys[:8], "..."]
    entries = [k for k, v in obj.items() if isinstance(v, Mapping) and v and _is_state_dict(v)]
    if len(entries) == 1:
        rest = [k for k in shown if k != entries[0]]
        warnings.warn(f"{where}: {path} is a checkpoint dict with keys {shown}: the state_dict read is its entry {entries[0]!r}"
                      + (f"; the rest ({', '.join(map(str, rest))}) is left out." if rest else "."), LstmkitWarning, stacklevel=3)  # fmt: skip
        return obj[entries[0]]
    if entries:
        fail(where, f"{path}", "a state_dict, or a checkpoint dict holding one", f"a dict with keys {shown}, of which {entries} are each a state_dict",
             f"Save the one to convert on its own: torch.save(checkpoint[{entries[0]!r}], 'model.pt').")  # fmt: skip
    import torch

    bad = next(k for k, v in obj.items() if not isinstance(v, torch.Tensor))
    fail(where, f"{path}", "a mapping name -> tensor (a state_dict)", f"a dict with keys {shown}, whose entry {bad!r} is {a_or_an(type(obj[bad]).__name__)}",
         "If it is a training checkpoint, save the model's weights alone: torch.save(model.state_dict(), 'model.pt').")  # fmt: skip


def save_state_dict_file(path: str | os.PathLike, module, readout=None, names: tuple[str, str | None] | None = None) -> None:
    """Write ``module`` (and a read-out) as a torch ``state_dict`` file.

    Without a read-out the keys are the module's own (load it into ``nn.LSTM(...)`` directly); with
    one they are ``rnn.<name>`` and ``head.weight``/``head.bias`` (a model with attributes
    ``rnn`` and ``head``). ``names`` = (module prefix, read-out prefix) writes other prefixes:
    ``("lstm", "fc")`` for a model with ``self.lstm`` and ``self.fc`` ("" for none; see
    :func:`state_dict_names`). Written atomically.

    A :class:`~lstmkit.SequenceModel` is written as its parts, ``model.parts()``, when it is an LSTM
    with its read-out at every step (``head="all"``, ``inputs="features"``), which is what a state_dict
    reads back as (:func:`module_from_state_dict`). With ``head="last"`` (the read-out of each sequence's
    last valid step) or ``inputs="tokens"`` (one-hot ids) it is refused, saying so: a state_dict holds
    weights only, and read back it would be another model. Its parts may still be written, by
    passing them, ``save_state_dict_file(path, *model.parts())``, for a torch forward that does what
    the SequenceModel does with them.
    """
    with optional_import("torch", "save_state_dict_file", "to write a torch state_dict file"):
        import torch

    from ..io import atomic_write_bytes

    if hasattr(module, "rnn") and hasattr(module, "head_mode"):  # a SequenceModel: written as its parts
        module, readout = _sequence_model_parts(module, readout)
    if not callable(getattr(module, "state_dict", None)):  # a fitted estimator, an array, ...: was an AttributeError
        fail("save_state_dict_file", "module", "an lstmkit LSTM, RNN or SequenceModel", type(module).__name__,
             "A fitted estimator's network is its model_ attribute (a SequenceModel)." if hasattr(module, "fit") else "", exc=TypeError)  # fmt: skip
    changed = getattr(getattr(module, "variant", None), "changed", lambda: {})()
    if changed:
        fail("save_state_dict_file", "module", "a plain module (torch.nn has no variant options)", f"options {changed}")
    rnn_name, head_name = names if names is not None else ("rnn" if readout is not None else "", "head")
    if readout is not None and (not head_name or head_name == rnn_name):
        fail("save_state_dict_file", "names", "a read-out prefix other than the module's", repr(names))
    pre = lambda name: f"{name}." if name else ""  # noqa: E731
    sd = {pre(rnn_name) + k: torch.from_numpy(v) for k, v in module.state_dict().items()}
    if readout is not None:
        sd.update({pre(head_name) + k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in readout.items() if v is not None})
    buffer = io.BytesIO()  # serialised in memory first: torch's writer turns a failed write (a full disk) into
    torch.save(sd, buffer)  # "RuntimeError: [enforce fail at inline_container.cc] unexpected pos", naming no file
    data = buffer.getvalue()
    atomic_write_bytes(path, lambda f: f.write(data))  # an OSError names path


def _sequence_model_parts(seq, readout):
    """A SequenceModel's ``(rnn, readout)`` for :func:`save_state_dict_file`, refusing what a state_dict cannot say."""
    where = "save_state_dict_file"
    if readout is not None:
        fail(where, "readout", "None for a SequenceModel (its own read-out is written)", "a read-out")
    lost = [w for w, bad in ((f"head={seq.head_mode!r}", seq.head_mode != "all"), (f"inputs={seq.inputs!r}", seq.inputs != "features")) if bad]
    if lost:
        does = []
        if seq.head_mode != "all":
            last = "torch.cat((h_n[-2], h_n[-1]), 1)" if seq.rnn.bidirectional else "h_n[-1]"
            does.append(f"reads each sequence's last valid step ({last} of packed sequences)")
        if seq.inputs != "features":
            does.append(f"takes one-hot rows of the ids (torch.nn.functional.one_hot(ids, {seq.rnn.input_size}).float())")
        fail(where, "module", "a SequenceModel with head='all' and inputs='features' (what a state_dict reads back as: an LSTM "
             "with its read-out at every step)", f"a SequenceModel with {' and '.join(lost)}",
             "A state_dict holds weights only: read back, it would be another model. Save the whole model as .npz (model.save)"
             f"{' or .onnx' if seq.inputs != 'features' else ', .keras or .onnx'}; or write its weights alone, save_state_dict_file(path, "
             f"*model.parts()), for a torch forward that {' and '.join(does)}.")  # fmt: skip
    return seq.parts()


def _of(source: str | None):
    """How the refusals of a state's keys name them: ``state['fc.weight']``, or ``lstm.pt
    state['fc.weight']`` where the state came from the file ``source``."""
    return (lambda arg: f"{source} {arg}") if source else (lambda arg: arg)


def _split(state: Mapping[str, np.ndarray], readout: str | None, where: str, source: str | None = None):
    """A state_dict's parts: (recurrent prefix, its weights by PyTorch's names, read-out prefix or
    None, read-out {"weight", "bias"} or None, the other layers left out when ``readout`` names one).
    See :func:`module_from_state_dict` (``source``)."""
    of = _of(source)
    groups: dict[str, dict[str, np.ndarray]] = {}
    rest: dict[str, np.ndarray] = {}
    for k, v in state.items():
        m = _KEY.match(k)
        if m:
            groups.setdefault(m["prefix"], {})[k[len(m["prefix"]) :]] = np.asarray(v)
        else:
            rest[k] = np.asarray(v)
    if len(groups) != 1:
        fail(where, of("state"), "the weights of exactly one LSTM/RNN (weight_ih_l0, ...)", f"{len(groups)} groups {sorted(groups) or ''}")
    prefix, sd = next(iter(groups.items()))
    for k, v in sd.items():
        if not np.issubdtype(v.dtype, np.floating):
            fail(where, of(f"state[{prefix + k!r}]"), "a floating-point tensor", f"dtype {v.dtype}", exc=TypeError)
    # the other layers, by their prefix: a Linear (weight (O, F) [+ bias (O,)]) may be the read-out
    layers: dict[str, dict[str, np.ndarray]] = {}
    for k, v in rest.items():
        base, _, leaf = k.rpartition(".")
        layers.setdefault(base, {})[leaf] = v
    linear = lambda p: set(p) <= {"weight", "bias"} and "weight" in p and all(np.issubdtype(v.dtype, np.floating) for v in p.values()) and p["weight"].ndim == 2 and p.get("bias", np.zeros(1)).ndim == 1  # noqa: E731
    heads = {base: p for base, p in layers.items() if linear(p)}
    others = sorted(base for base in layers if base not in heads)  # BatchNorm, LayerNorm, a convolution, ...: no lstmkit twin
    if others and readout is None:
        shown = "; ".join(f"{b!r} ({', '.join((b + '.' if b else '') + leaf for leaf in layers[b])})" for b in others[:3]) + ("; ..." if len(others) > 3 else "")
        if len(heads) == 1:
            name = next(iter(heads))
            fix = (f"To convert the LSTM and its read-out {name!r} alone, name the read-out: readout={name!r} (convert: --readout {name}); "
                   f"the weights of {others} are then left out, with a warning (the model kept computes something else if they run between them).")  # fmt: skip
        elif heads:
            fix = f"To convert the LSTM and one Linear alone, name that read-out: readout=PREFIX, one of {sorted(heads)} (convert: --readout PREFIX)."
        else:
            fix = f"Save the LSTM's weights alone: torch.save(model.{prefix.rstrip('.') or 'lstm'}.state_dict(), 'lstm.pt')."
        fail(where, of("state"), "only the recurrent weights and Linear layers (one of them the read-out)",
             f"{count(len(others), 'other layer')} lstmkit has no twin for: {shown}", fix)  # fmt: skip
    left = []  # the other layers' prefixes, left out when readout names one
    if readout is not None:
        if readout.rstrip(".") not in heads:
            fail(where, "readout", f"one of {sorted(heads)}", repr(readout))
        left = sorted([h for h in heads if h != readout.rstrip(".")] + others)
        heads = {readout.rstrip("."): heads[readout.rstrip(".")]}
    if len(heads) > 1:
        fail(where, of("state"), "at most one Linear read-out", f"{sorted(heads)}", "Name the read-out with readout=PREFIX.")
    name, head = next(iter(heads.items())) if heads else (None, None)
    keys = list(state)
    if readout is None and name is not None and keys.index(f"{name}.weight" if name else "weight") < keys.index(prefix + next(iter(sd))):
        # a model registers its layers in the order it runs them: weights before the LSTM's are a layer before it
        fail(where, of(f"{name}.weight"), "a read-out after the LSTM (its keys after the LSTM's, in the order a model registers its layers)",
             "keys before the LSTM's (an nn.Embedding or a Linear the LSTM reads, which lstmkit cannot carry)",
             f"If it is the read-out, name it with readout={name!r} (convert: --readout {name}).")  # fmt: skip
    return prefix.rstrip("."), sd, name, head, left


def state_dict_names(state: Mapping[str, np.ndarray], readout: str | None = None) -> tuple[str, str | None]:
    """The key prefixes of a state_dict's recurrent module and read-out: ("lstm", "fc") for the keys
    ``lstm.weight_ih_l0, ..., fc.weight``; ("", None) for a bare ``nn.LSTM``'s. Give them back to
    :func:`save_state_dict_file` (``names``) to write keys that load into the same ``nn.Module``."""
    prefix, _, name, _, _ = _split(state, readout, "state_dict_names")
    return prefix, name


def module_from_state_dict(state: Mapping[str, np.ndarray], nonlinearity: str = "tanh", readout: str | None = None,
                          source: str | None = None):
    """Rebuild ``(module, readout_or_None)`` from a state_dict's keys and shapes alone.

    The recurrent part is found by PyTorch's names, with any prefix (``lstm.weight_ih_l0`` from a
    model's ``self.lstm``): ``weight_hh`` (4H, P) makes an LSTM (``weight_hr`` gives proj_size),
    (H, H) an RNN (``nonlinearity`` cannot be seen in weights: pass it), keys without ``_l<k>`` a
    cell; ``_reverse`` keys make it bidirectional, ``bias_*`` keys give bias=True. The read-out is the
    one other ``<prefix>weight`` (O, F) [+ ``<prefix>bias`` (O,)] in the dict, or the prefix named by
    ``readout`` (other layers' weights are then left out, with a UserWarning naming them). A layer
    that is no Linear (a BatchNorm, a LayerNorm, a convolution: keys other than weight (O, F) and
    bias) is refused naming it and its keys, unless the read-out is named. A model registers its
    layers in the order it runs them, so an unnamed read-out whose keys come before the recurrent
    ones is refused: it is a layer the LSTM reads (an ``nn.Embedding``, a projection), not a read-out
    (name it if it is one). ``source``: the file the state was read from, which the refusals of its
    keys name ("expected lstm.pt state['weight_ih_l0'] a floating-point tensor"; ``lstmkit convert``
    passes it); those of ``readout`` and ``nonlinearity``, the caller's own arguments, do not.
    """
    where, of = "module_from_state_dict", _of(source)
    prefix, sd, name, head, left = _split(state, readout, where, source)
    if left:  # another head of a multi-task model, or a layer in between: the user must know
        warnings.warn(f"{where}: the read-out is {name!r}; the weights of {left} are left out "
                      "(the model kept is the LSTM followed by that read-out alone).", LstmkitWarning, stacklevel=2)  # fmt: skip
    module = _recurrent_from_keys(sd, nonlinearity, where, prefix + "." if prefix else "", source)
    if head is not None:
        W = head.get("weight")
        F = module.num_directions * module.output_size if hasattr(module, "num_directions") else module.hidden_size
        if W is None or W.ndim != 2 or W.shape[1] != F:
            fail(where, of(f"{name}.weight"), f"a read-out weight of shape (O, {F})", "none" if W is None else f"shape {W.shape}")
        if "bias" in head and head["bias"].shape != (W.shape[0],):
            fail(where, of(f"{name}.bias"), f"shape ({W.shape[0]},)", f"shape {head['bias'].shape}")
        # finite and within the module's range, named by key and index (a NaN was read without a word)
        fix = _range_fix(module.dtype, prefix + "." if prefix else "", "weight_hh" if "weight_hh" in sd else "weight_hh_l0")
        head = {k: check_float_array(v, where, of(f"state[{(name + '.' if name else '') + k!r}]"), module.dtype, range_fix=fix) for k, v in head.items()}
    return module, head


def _range_fix(dtype, prefix: str, first: str) -> str:
    """The advice for a value beyond the module's float range: :func:`module_from_state_dict` reads the state
    in the float type of its ``weight_hh_l0`` (a cell's ``weight_hh``) and has no dtype option to change it."""
    return (f"module_from_state_dict reads the state in the float type of its {prefix}{first} ({np.dtype(dtype).name} here): "
            "save every weight in float64 (model.double().state_dict()) to read it in float64.")


def _recurrent_from_keys(sd: dict[str, np.ndarray], nonlinearity: str, where: str, prefix: str = "", source: str | None = None):
    """The module that the recurrent weights ``sd`` (keys without ``prefix``) make, their values loaded.
    Every refusal names the keys as the state holds them, ``prefix`` and all (``state['rnn.weight_hh_l1']``)."""
    of = _of(source)
    key = lambda k: of(f"state[{prefix + k!r}]")  # noqa: E731  (a key as it is in the user's state)
    held = sorted(prefix + k for k in sd)
    layers = [_KEY.match(k)["layer"] for k in sd]
    if None in layers and set(layers) != {None}:
        fail(where, of("state"), "either layer keys (weight_ih_l0, ...) or cell keys (weight_ih, ...)", f"both in {held}")
    cell = "weight_ih" in sd
    ih, first = ("weight_ih", "weight_hh") if cell else ("weight_ih_l0", "weight_hh_l0")
    if first not in sd or ih not in sd:
        fail(where, of("state"), f"{prefix}weight_ih_l0 and {prefix}weight_hh_l0 (or a cell's {prefix}weight_ih, {prefix}weight_hh)", f"keys {held}")
    for k in (ih, first):
        if sd[k].ndim != 2:
            fail(where, key(k), "a 2-D weight", f"shape {sd[k].shape}")
    W_hh, W_ih = sd[first], sd[ih]
    rows, P = W_hh.shape
    dt = np.float64 if W_hh.dtype == np.float64 else np.float32
    bias = any(k.startswith("bias_") for k in sd)
    if rows == 4 * P or any(k.startswith("weight_hr") for k in sd):
        kind, H = "LSTM", rows // 4
    elif rows == P:
        kind, H = "RNN", rows
    else:
        fail(where, key(first), "shape (4H, H) or (4H, P) for an LSTM, (H, H) for an RNN", f"shape {W_hh.shape}", "GRU (3H rows) is not supported.")
    I = W_ih.shape[1]
    if cell:
        module = LSTMCell(I, H, bias, dtype=dt, seed=0) if kind == "LSTM" else RNNCell(I, H, bias, nonlinearity, dtype=dt, seed=0)
    else:
        L = 1 + max(int(s[2:]) for s in layers)
        bi = any(k.endswith("_reverse") for k in sd)
        proj = P if "weight_hr_l0" in sd else 0
        if kind == "LSTM":
            module = LSTM(I, H, L, bias, bidirectional=bi, proj_size=proj, dtype=dt, seed=0)
        else:
            module = RNN(I, H, L, nonlinearity, bias, bidirectional=bi, dtype=dt, seed=0)
    made = f"the {module!r} that {prefix}{ih} and {prefix}{first} make"
    shapes = {k: v.shape for k, v in module.state_dict().items()}
    missing, unexpected = module._incompatible(sd)  # the module's one check of the keys, said with the state's prefix
    if missing or unexpected:  # (load_state_dict would name them without it, as the module's keys)
        fail(where, of("state"), f"exactly the keys {[prefix + k for k in shapes]} (of the {module!r} its keys describe)",
             f"missing {[prefix + k for k in missing]} and unexpected {[prefix + k for k in unexpected]}",
             "A state_dict holds every weight of each layer and direction: this one was edited, or is of another module.")  # fmt: skip
    for k, v in sd.items():  # a key's shape against the module its first layer's make
        if v.shape != shapes[k]:
            fail(where, key(k), f"shape {shapes[k]} (of {made})", f"shape {v.shape}")
        check_float_array(v, where, key(k), dt, range_fix=_range_fix(dt, prefix, first))  # a float64 weight_ih_l0 beside a float32 weight_hh_l0
    module.load_state_dict(sd)  # keys, shapes and values (finite, within the module's dtype) checked above: a refusal here is a bug
    return module
