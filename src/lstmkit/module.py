"""``Module``: named parameters, their gradients, and train/eval mode.

Parameters live in one ordered dict of NumPy arrays keyed by PyTorch's names; ``grads`` has
exactly the same keys and shapes. Gradients *accumulate* (``+=``) across ``backward`` calls, as in
PyTorch, and are zeroed in one place, :meth:`Module.zero_grad`.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from contextlib import ContextDecorator
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from ._checks import _from_torch, a_or_an, cast_float, check_bool, check_choice, check_dtype, fail, overflow_at
from .variants import LSTMVariant


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns, as torch's ``load_state_dict``."""

    missing_keys: list[str]  # parameters the state has no value for (left as they were)
    unexpected_keys: list[str]  # the state's keys that name no parameter (skipped)


def _prefix(keys, names) -> str | None:
    """The one prefix p with p + n in ``keys`` for every n of ``names`` (None if there is none)."""
    first = names[0]
    for k in keys:
        if isinstance(k, str) and k.endswith(first) and k != first:
            p = k[: -len(first)]
            if all(p + n in keys for n in names):
                return p
    return None


def _keys_fix(state: Mapping, missing: list[str]) -> str:
    """How to mend a strict load's keys: strip the prefix a whole model's keys carry, if they do."""
    p = _prefix(state, missing) if missing else None
    if p is not None:  # lstm.weight_ih_l0 given for weight_ih_l0: torch.save(model.state_dict()) of a whole model
        return (f"The keys carry the prefix {p!r} (a whole model's state_dict): strip it, "
                f"{{k.removeprefix({p!r}): v for k, v in state.items() if k.startswith({p!r})}}, or read the whole model, "
                "its LSTM and read-out, with lstmkit.interop.pytorch.module_from_state_dict(state) (a file: "
                "'lstmkit convert model.pt model.npz').")  # fmt: skip
    return "Check num_layers, bias, bidirectional and proj_size match the saved model."


def _is_device(value) -> bool:
    """Whether an argument of :meth:`Module.to` names a device: a torch.device, or a string that
    is not a dtype's name ("cpu", "cuda:0")."""
    if type(value).__module__ == "torch" and type(value).__name__ == "device":
        return True
    if not isinstance(value, str):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return True
    return False


def _device_type(device) -> str:
    """A device's type: "cpu" for "cpu", "cpu:0" or torch.device("cpu")."""
    kind = getattr(device, "type", device)
    if not isinstance(kind, str):
        fail("Module.to", "device", "'cpu' or a torch.device", f"{type(device).__name__} {device!r:.80}", exc=TypeError)
    return kind.split(":")[0]


def _numpy_dtype(dtype):
    """torch.float64 as "float64" (without importing torch); anything else as it is."""
    if type(dtype).__module__ == "torch" and type(dtype).__name__ == "dtype":
        return str(dtype).removeprefix("torch.")
    return dtype


def flag_check(name: str):
    """The check of a flag set after construction (``lstm.batch_first = "false"``): True or False,
    as the constructor's :func:`check_bool`; the value kept is a Python bool."""
    return lambda module, value: check_bool(value, type(module).__name__, name)


#: how a module built anew with other parameters takes the weights it shares with the old one
_LOAD_SHARED = "load the weights it shares with new.load_state_dict(old.state_dict(), strict=False) (its parameters differ)"


def built_check(name: str, arg: str | None = None):
    """The check of a flag the parameters were made for (``bias``, ``bidirectional``): True or
    False when first set, by the constructor; afterwards only the value it has (a change would
    leave parameters missing or unused: build another module, whose argument is ``arg``, by default
    ``name``)."""

    def check(module, value):
        where = type(module).__name__
        value = check_bool(value, where, name)
        if name in module.__dict__ and value != module.__dict__[name]:
            fail(where, name, f"{module.__dict__[name]}, as built (the parameters are made for it)", value,
                 f"Build a new {where} with {arg or name}={value} and {_LOAD_SHARED}.")  # fmt: skip
        return value

    return check


#: how a module built anew with the same parameters takes the old one's weights
_LOAD_SAME = "load this one's weights with new.load_state_dict(old.state_dict()) (the same parameters)"


def built_choice_check(name: str, choices):
    """The check of a choice the module computes with (an RNN's ``nonlinearity``): one of
    ``choices`` when first set, by the constructor; afterwards only the value it has, as an LSTM's
    ``activations``: backward reads it, so a change between a forward and its backward would
    differentiate another function than the one that ran. Build another module (the same
    parameters: a strict load takes the weights)."""

    def check(module, value):
        where = type(module).__name__
        value = check_choice(value, choices, where, name)
        if name in module.__dict__ and value != module.__dict__[name]:
            fail(where, name, f"{module.__dict__[name]!r}, as built (forward and backward compute with it)", f"{value!r}",
                 f"Build a new {where} with {name}={value!r} and {_LOAD_SAME}.")  # fmt: skip
        return value

    return check


#: what a set-check returns for a value not to store (the module holds it elsewhere)
NOT_STORED = object()

#: the variant options that add parameters (peephole's weight_c*, layer_norm's ln_*)
_VARIANT_PARAMS = ("peephole", "layer_norm")


def variant_check(name: str):
    """The check of a variant option set after construction (``lstm.peephole = True``): the value
    it was built with is taken (checked as the constructor checks it), another is refused: the
    option is the module's ``variant``, fixed when built (an attribute would only shadow it)."""

    def check(module, value):
        where = type(module).__name__
        built = getattr(module.variant, name)
        value = getattr(LSTMVariant.checked(where, **{name: value}), name)  # as the constructor reads it
        if value == built:
            return NOT_STORED  # the variant holds it: an attribute would be a second copy
        expected = f"{built!r}, as built (an option of the variant, fixed then)"
        if name not in inspect.signature(type(module)).parameters:  # a cell and a sequence regulariser
            cell = a_or_an(where)
            fail(where, name, expected, f"{value!r:.80}",
                 f"{cell[0].upper()}{cell[1:]} has no {name}: the sequence regularisers are options of lstmkit.LSTM.")
        load = _LOAD_SHARED if name in _VARIANT_PARAMS else _LOAD_SAME
        fail(where, name, expected, f"{value!r:.80}", f"Build a new {where} with {name}={value!r:.80} and {load}.")

    return check


#: the set-checks of a module with a ``variant`` (LSTM, LSTMCell), one per option
VARIANT_CHECKS = {name: variant_check(name) for name in LSTMVariant.__dataclass_fields__}


class Parameters(dict):
    """A module's live parameter arrays, name -> array: what :meth:`Module.parameters` returns. A dict
    of its own type so that a torch habit, ``clip_grad_norm(model.parameters(), 1.0)``, which would
    clip the weights themselves (a dict of arrays, as the gradients are), is refused. Only this
    object itself is recognised: a copy of it (``dict(model.parameters())``) or its arrays
    (``list(model.parameters().values())``) are a plain dict or list of arrays again, and are
    clipped as gradients would be.

    It is the module's own dict, so a parameter in it is neither replaced nor removed
    (``model.parameters()[name] = W``, ``del``, ``pop``, ``clear``, ``update`` of a name it has):
    the array put there was the model's, unchecked (any shape, dtype, NaN), its gradient left as it
    was, and not the array of the model that holds this module (a SequenceModel's ``rnn.*``).
    Adding a name (a module registering its parameters) is allowed."""

    __slots__ = ()

    def _refuse(self, name, how: str):
        fail("Module.parameters", f"{name!r:.80}", "written into, not replaced or removed (the dict is the module's own)", how,
             f"Write model.{name} = W (checked, written into the parameter), model.load_state_dict({{{name!r}: W}}, strict=False), "
             f"or in place, model.parameters()[{name!r}][...] = W.")  # fmt: skip

    def __setitem__(self, name, value) -> None:
        if name in self:
            self._refuse(name, "an assignment of another array")
        dict.__setitem__(self, name, value)

    def __delitem__(self, name) -> None:
        self._refuse(name, "a deletion")

    def pop(self, name, *default):
        self._refuse(name, "a pop")

    def popitem(self):
        self._refuse(next(reversed(self), None), "a popitem")

    def clear(self) -> None:
        self._refuse(next(iter(self), None), "a clear")

    # (setdefault is dict's own: it adds a new name and cannot replace a value; dict's C update and |= could)
    def update(self, *args, **kwargs) -> None:
        for name, value in dict(*args, **kwargs).items():
            self[name] = value

    def __ior__(self, other):
        self.update(other)
        return self


class Module:
    """Base class: a dict of named parameters with gradients of the same keys and shapes."""

    dtype: np.dtype
    #: public attributes checked when set: name -> check(module, value), which raises on a bad value
    #: and returns the value to keep; a subclass extends its parent's ({**Parent._set_checks, ...})
    _set_checks: dict = {"training": flag_check("training"), "requires_grad": flag_check("requires_grad")}

    def __init__(self) -> None:
        self._params: dict[str, np.ndarray] = Parameters()
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self.requires_grad = True

    # -- parameters ------------------------------------------------------------------------
    def _add_param(self, name: str, value: np.ndarray) -> None:
        self._params[name] = value
        self.grads[name] = np.zeros_like(value)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: expose parameters as attributes (torch style), and a
        # module's variant options (lstm.peephole, cell.gate_clip: its ``variant``, VARIANT_CHECKS)
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            return params[name]
        variant = self.__dict__.get("variant")
        if variant is not None and name in LSTMVariant.__dataclass_fields__:
            return getattr(variant, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        # ``m.weight_ih_l0 = W`` writes W into the parameter (checked as load_state_dict checks it:
        # shape, numbers, finite; cast to the dtype), so the model uses it. A plain attribute of
        # that name would shadow the parameter while forward and state_dict kept the old weights.
        if name[0] != "_":  # private attributes (the per-call caches among them) go straight through
            params = self.__dict__.get("_params")
            if params is not None and name in params:
                params[name][...] = self._staged({name: value}, type(self).__name__)[name]
                return
            check = self._set_checks.get(name)
            if check is not None:
                value = check(self, value)
                if value is NOT_STORED:
                    return
            if isinstance(value, Module):  # a sub-module: its own cast would leave this one's dict behind (to())
                object.__setattr__(value, "_held_by", weakref.ref(self))
        object.__setattr__(self, name, value)

    def parameters(self) -> dict[str, np.ndarray]:
        """The live parameter arrays, name -> array: the module's own dict (a :class:`Parameters`).

        Unlike ``torch.nn.Module.parameters()`` (an iterator of tensors) this is a dict keyed by
        PyTorch's names: iterate ``.values()`` for the arrays, ``.items()`` for the pairs.

        What reaches the model, beside torch: an in-place change of an array (``p[...] = W``,
        ``p *= 0.5``), from this dict, a copy of it (``dict(model.parameters())``), its values or
        :meth:`named_parameters`, changes the model, as torch's ``p.data.mul_(0.5)`` does. The
        dict's items are not replaced (``model.parameters()[name] = W`` is refused: see
        :class:`Parameters`); write ``model.name = W`` or :meth:`load_state_dict`. A cast to another
        dtype (:meth:`to`, :meth:`double`, :meth:`float`) puts new arrays in this dict: arrays taken
        out before it are no longer the model's (torch's keep their Parameter objects and change
        their ``.data``); an optimizer reads the dict at each step, so it follows.
        """
        return self._params

    def named_parameters(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, live array) pairs, as torch's ``named_parameters()``: an in-place change reaches
        the model (see :meth:`parameters`)."""
        return iter(self._params.items())

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter, keyed by PyTorch's names.

        Unlike torch's, whose tensors share the parameters' memory (``sd[k].zero_()`` zeroes the
        weight), a change to these arrays does not reach the model: write it back with
        :meth:`load_state_dict`. A state kept as the best so far stays as it was while training
        goes on (torch needs a ``copy.deepcopy`` of its state_dict for that)."""
        return {k: v.copy() for k, v in self._params.items()}

    def load_state_dict(self, state: Mapping[str, np.ndarray], strict: bool = True) -> "IncompatibleKeys":
        """Copy ``state`` into the parameters, all or nothing; returns ``(missing_keys,
        unexpected_keys)`` as torch does (an :class:`IncompatibleKeys`, both empty after a strict load).

        Every key, shape and value is checked before anything is written, so a failed load leaves
        the model exactly as it was. Values are cast to the module's dtype; they must be finite.
        With ``strict=False`` missing and unexpected keys are skipped (and returned; shapes still
        checked). A key missing or unexpected with ``strict=True`` raises ValueError (torch raises
        RuntimeError), naming them; when the keys carry a prefix (``lstm.weight_ih_l0``: a whole
        model's state_dict), the message says to strip it.
        """
        where = f"{type(self).__name__}.load_state_dict"
        strict = check_bool(strict, where, "strict")
        if not isinstance(state, Mapping):
            fail(where, "state", "a mapping of name -> array", type(state).__name__, exc=TypeError)
        missing, unexpected = self._incompatible(state)
        if strict and (missing or unexpected):
            fail(where, "state", f"exactly the keys {list(self._params)}", f"missing {missing} and unexpected {unexpected}",
                 _keys_fix(state, missing))  # fmt: skip
        for k, arr in self._staged(state, where).items():
            self._params[k][...] = arr
        return IncompatibleKeys(missing, unexpected)

    def _incompatible(self, state: Mapping) -> IncompatibleKeys:
        """The one check of a state's keys: ``(missing_keys, unexpected_keys)``, the parameters ``state``
        has no value for (in the module's order) and its keys that name none (in its order).
        :meth:`load_state_dict` refuses either when strict; a reader of a file
        (:func:`lstmkit.interop.pytorch.module_from_state_dict`) asks it first, to name them as the file
        holds them (with its prefix) before it checks each key's shape."""
        return IncompatibleKeys([k for k in self._params if k not in state], [k for k in state if k not in self._params])

    def _staged(self, state: Mapping, where: str) -> dict[str, np.ndarray]:
        """The values of ``state`` for known parameters, checked (numeric, the parameter's shape,
        within the range of its dtype, finite) and cast to its dtype; nothing is written. Unknown keys
        are skipped."""
        staged: dict[str, np.ndarray] = {}
        for k, v in state.items():
            if k not in self._params:
                continue
            arr = np.asarray(_from_torch(v, where, k))  # a torch parameter (requires grad) detached
            target = self._params[k]
            if arr.dtype.kind not in "fiu":
                fail(where, k, "a numeric array", f"dtype {arr.dtype}", exc=TypeError)
            if arr.shape != target.shape:
                fail(where, k, f"shape {target.shape}", f"shape {arr.shape}")
            fix = ("Load them into a float64 model (dtype=numpy.float64), or scale them down."
                   if target.dtype == np.float32 and overflow_at(arr, np.float64) is None
                   else "Scale them down (float64 is the widest dtype lstmkit computes in).")  # fmt: skip
            # a finite float64 1e39 for a float32 model: named as given, not as the inf it casts to
            arr = cast_float(arr, target.dtype, where, k, fix=fix)
            if not np.isfinite(arr).all():
                fail(where, k, "finite values", "NaN or inf")
            staged[k] = arr
        return staged

    def zero_grad(self) -> None:
        """Set every gradient to zero (the one place gradients are cleared)."""
        for g in self.grads.values():
            g.fill(0.0)

    def num_parameters(self) -> int:
        """How many numbers the parameters hold, Σ p.size over :meth:`parameters` (torch's
        ``sum(p.numel() for p in model.parameters())``); a model counts its layer's and read-out's."""
        return int(sum(p.size for p in self._params.values()))

    # -- dtype and device, as torch's methods -----------------------------------------------
    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> "Module":
        """torch's ``module.to(...)``: ``to(numpy.float64)`` (``"float64"``, ``torch.float64``) casts
        every parameter and gradient to that dtype, as :meth:`double` / :meth:`float`; a device is
        "cpu" (``to("cpu")``, ``to(torch.device("cpu"))``: nothing to do). Returns self.

        lstmkit computes in NumPy, on the CPU: another device ("cuda", "mps", ...) is refused. The
        activations kept for backward are dropped (they are in the old dtype): cast before a forward
        and backward, and before making an optimizer (its state is in the parameters' dtype, as
        torch asks to move a model before constructing its optimizer). A stream
        (:meth:`lstmkit.LSTM.stream`) is a snapshot: make it again. One device and one dtype at
        most, positional or by keyword (two dtypes are refused, as torch refuses them);
        ``non_blocking`` is taken for torch code and means nothing here (NumPy casts at once).
        A sub-module held by a model (a SequenceModel's ``rnn``, ``head``) is cast with the model:
        cast alone to another dtype it is refused, as the model's one dict of parameters would keep
        the old arrays (torch's parent reads its children's; lstmkit's holds them).
        """
        where = f"{type(self).__name__}.to"
        if len(args) > 2:
            fail(where, "arguments", "a device, a dtype or both", f"{len(args)} positional arguments", exc=TypeError)
        check_bool(non_blocking, where, "non_blocking")
        given: dict[str, list] = {"device": [], "dtype": []}
        for a in args:
            given["device" if _is_device(a) else "dtype"].append(a)
        for kind, value in (("device", device), ("dtype", dtype)):
            if value is not None:
                given[kind].append(value)
            if len(given[kind]) > 1:  # to(np.float64, np.float32) took the last; torch refuses it
                named = ", ".join(getattr(v, "__name__", None) or repr(v) for v in given[kind])
                fail(where, "arguments", "a device, a dtype or both", f"{len(given[kind])} {kind}s ({named})", f"Give one {kind}.",
                     exc=TypeError)  # fmt: skip
        device = given["device"][0] if given["device"] else None
        dtype = given["dtype"][0] if given["dtype"] else None
        if device is not None:
            kind = _device_type(device)
            if kind != "cpu":
                fail(where, "device", "'cpu' (lstmkit computes in NumPy, on the CPU)", f"{device!r:.80}",
                     "Drop the device: lstmkit's arrays are NumPy's, in the CPU's memory.")  # fmt: skip
        if dtype is not None:
            dt = check_dtype(_numpy_dtype(dtype), where)
            holder = self._holder()
            if holder is not None and dt != self.dtype:  # its holder's dict would keep the old arrays
                name = next(k for k, v in holder.__dict__.items() if v is self)
                fail(where, "dtype", f"{self.dtype.name}, the dtype of the {type(holder).__name__} holding it as .{name}",
                     dt.name, f"Cast the whole model, model.to({dt.name}), whose parameters are its {name}'s.")  # fmt: skip
            self._cast(dt)
        return self

    def __getstate__(self) -> dict:
        """What pickle, ``copy.deepcopy`` and ``copy.copy`` take of a module: its ``__dict__`` without
        the recorded holder (a weak reference, which pickle refuses), which the holder's
        :meth:`__setstate__` records again, and without the depth counters of the :meth:`no_grad` and
        eval-mode blocks open on it (a copy made while a predict runs kept depth 1 for good: its
        predicts never switched to eval, its ``no_grad`` no longer turned gradients off). The copy is
        a snapshot in the mode it was seen in (eval, during a predict), with no block open. Python
        pickling of a live module (joblib, multiprocessing, scikit-learn's ``n_jobs``) is transport,
        not a file format: lstmkit's files never hold a pickle."""
        state = self.__dict__.copy()
        for k in _NOT_COPIED:
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict) -> None:
        # a copy (copy.deepcopy(model), the usual snapshot of the best weights; pickle.loads) restores __dict__
        # without __setattr__: its sub-modules' recorded holder is pointed at the copy, so their cast alone is
        # refused there too. A sub-module another live model holds (copy.copy shares them) keeps that holder: the
        # shallow copy would take it, and once the copy is gone the original's layer would cast alone.
        # (a pickle made by an lstmkit that kept the open blocks' counters: they are left out here too)
        self.__dict__.update({k: v for k, v in state.items() if k not in _NOT_COPIED})
        for v in state.values():
            if isinstance(v, Module) and v._holder() is None:
                object.__setattr__(v, "_held_by", weakref.ref(self))

    def _holder(self) -> "Module | None":
        """The module holding this one as a public attribute (a SequenceModel's ``rnn`` or ``head``),
        if it still does (a copy's, for a copy's sub-module: :meth:`__setstate__`); None for a
        module of its own."""
        ref = self.__dict__.get("_held_by")
        holder = ref() if ref is not None else None
        return holder if holder is not None and any(v is self for v in holder.__dict__.values()) else None

    def double(self) -> "Module":
        """Cast every parameter (and gradient) to float64, as torch's ``double()``. Returns self."""
        return self.to(np.float64)

    def float(self) -> "Module":
        """Cast every parameter (and gradient) to float32, as torch's ``float()``. Returns self."""
        return self.to(np.float32)

    def flatten_parameters(self) -> None:
        """Nothing to do: torch's packs an RNN's weights into one block for cuDNN; lstmkit's are
        NumPy arrays in one layout already. Kept so that torch code calling it runs unchanged."""

    def _cast(self, dt: np.dtype) -> None:
        """Every parameter and gradient as ``dt`` (new arrays where the dtype changes). A sub-module
        (an attribute that is a Module, as a SequenceModel's ``rnn`` and ``head``) is cast first, and
        an array this module shares with it stays shared."""
        shared = {}  # id of a sub-module's old array -> its new one (the old ones held in `kept`)
        kept = []
        for child in [v for v in self.__dict__.values() if isinstance(v, Module)]:
            old = (dict(child._params), dict(child.grads))
            child._cast(dt)
            kept.append(old)
            for before, after in zip(old, (child._params, child.grads)):
                shared.update({id(a): after[k] for k, a in before.items()})
        for d in (self._params, self.grads):
            for k, a in d.items():  # dict's own __setitem__: Parameters refuses a replacement from outside
                dict.__setitem__(d, k, shared.get(id(a)) if id(a) in shared else a.astype(dt, copy=False))
        object.__setattr__(self, "dtype", dt)
        self._drop_kept()

    def _drop_kept(self) -> None:
        """Forget what a forward kept for backward (the layers' and models' ``_cache``)."""
        if "_cache" in self.__dict__:
            self._cache = None

    # -- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode: dropout is active (``mode=False``: evaluation). Returns self. ``mode`` is True
        or False, as torch refuses another value (``train("false")`` would read as True)."""
        self.training = check_bool(mode, f"{type(self).__name__}.train", "mode")
        return self

    def eval(self) -> "Module":
        """Evaluation mode: dropout is off. Returns self."""
        return self.train(False)

    # -- files (a bare LSTM/RNN/LSTMCell/RNNCell; SequenceModel has its own) ----------------
    def save(self, path) -> None:
        """Write this bare ``LSTM``/``RNN``/``LSTMCell``/``RNNCell`` to ``path``: ``lstmkit.save_lstm(path,
        self)`` (an lstmkit model file of the module's kind; atomic; no pickle). To keep a read-out
        with it, call ``save_lstm(path, module, readout)``. Another module (a ``Linear``, a subclass
        such as ``class MyLSTM(LSTM)``, which would read back as the base class) has no file of its
        own: it is refused with a TypeError naming the fix (for a subclass: its state_dict in a file)."""
        from .modelfile import MODULE_KINDS, _is_kind, _not_a_kind_fix, save_lstm

        if not _is_kind(type(self)):
            fix = _not_a_kind_fix(type(self), "save") or "Save the model that holds it, or save_lstm(path, module) for a bare LSTM/RNN/cell."
            fail(f"{type(self).__name__}.save", "self", f"one of {', '.join(MODULE_KINDS)} (the kinds of a module file)", type(self).__name__, fix, exc=TypeError)
        save_lstm(path, self)

    @classmethod
    def load(cls, path) -> "Module":
        """Read a file written by :meth:`save` (or ``save_lstm``/``lstmkit convert``) of this class's
        kind, as ``lstmkit.load_lstm(path)`` does (NumPy only, no pickle): the module with the saved
        config and weights, in eval mode (``.train()`` to train it further), as ``lstmkit.load`` and
        ``SequenceModel.load`` return theirs. A read-out in the file is not part of the module:
        ``lstmkit.read_lstm(path)`` gives both. A file of another kind (``LSTM.load`` of an RNN's, of
        a SequenceModel's) is refused with a :class:`~lstmkit.io.FileFormatError` naming the file.
        Another class (a ``Linear``; a subclass such as ``class MyLSTM(LSTM)``, even one named
        ``LSTM``, which has no file of its own kind) is refused with a TypeError naming the fix (for a
        subclass: ``m = MyLSTM(...); m.load_state_dict(lstmkit.LSTM.load(path).state_dict())``).

        A classmethod: called on an instance (``m.load(path)``) it also returns a new module and
        leaves ``m`` as it was, so ``m.load(path)`` alone loads nothing into ``m``. To load a file
        into an existing module: ``lstmkit.load_lstm(path, into=m)`` (all or nothing; a file of
        another config, an RNN's nonlinearity or batch_first say, is refused naming the difference)."""
        from .modelfile import MODULE_KINDS, _is_kind, _not_a_kind_fix, _read_lstm

        if not _is_kind(cls):
            fail(f"{cls.__name__}.load", "cls", f"one of {', '.join(MODULE_KINDS)} (the kinds of a module file)", cls.__name__,
                 _not_a_kind_fix(cls, "load") or "Load the model that holds it: lstmkit.load(path).", exc=TypeError)  # fmt: skip
        return _read_lstm(path, (cls.__name__,)).module.eval()

    def no_grad(self) -> "_NoGrad":
        """``with module.no_grad():`` forward keeps no activations for backward (inference only).

        ``requires_grad`` is False inside the block and back to what it was after, even on error;
        blocks may nest or overlap in threads (the last to leave restores it). The mode belongs to
        the module, not to a thread (torch's is per thread): a thread training the same module while
        another is inside a block trains without a cache (backward says so).
        """
        return _NoGrad(self)


_NO_GRAD_LOCK = threading.Lock()
# what a copy of a module leaves out (Module.__getstate__): the recorded holder and the open blocks' counters
_NOT_COPIED = ("_held_by", "_no_grad_depth", "_grad_before", "_eval_depth", "_eval_switched")


class _Counted:
    """A mode of a module held for a block, depth-counted: blocks on one module may overlap (nested,
    or in several threads), so the first to enter sets the mode (:meth:`_first`, saving what it
    needs) and only the last to leave restores it (:meth:`_last`); each block restoring what it saw
    on entry left a model in the block's mode for good, or out of it under another block, when two
    threads' blocks overlapped. The counter is the module's, under one lock (``_DEPTH``: its key)."""

    __slots__ = ("module",)
    _DEPTH = ""

    def __init__(self, module: Module) -> None:
        self.module = module

    def __enter__(self) -> Module:
        m = self.module.__dict__
        with _NO_GRAD_LOCK:
            depth = m.get(self._DEPTH, 0)
            if depth == 0:
                self._first(m)
            m[self._DEPTH] = depth + 1
        return self.module

    def __exit__(self, *exc) -> None:
        m = self.module.__dict__
        with _NO_GRAD_LOCK:
            m[self._DEPTH] -= 1
            if m[self._DEPTH] == 0:
                self._last(m)


class _NoGrad(_Counted, ContextDecorator):
    """The context of :meth:`Module.no_grad` (also a decorator): a class rather than a
    ``@contextmanager`` generator, which costs ~1.5 µs per use, as much as a tiny model's forward
    saves by it. The first block saves ``requires_grad`` and turns it off; the last restores it."""

    __slots__ = ()
    _DEPTH = "_no_grad_depth"

    def _recreate_cm(self) -> "_NoGrad":  # as a decorator: a fresh context per call (calls may nest)
        return _NoGrad(self.module)

    def _first(self, m: dict) -> None:
        # written to the module's dict directly: the values are bools already (kept by the check of
        # ``requires_grad``), and its check through __setattr__ cost ~0.4 µs a block each way, of
        # a tiny model's ~20 µs forward
        m["_grad_before"] = m["requires_grad"]
        m["requires_grad"] = False

    def _last(self, m: dict) -> None:
        m["requires_grad"] = m["_grad_before"]


class _EvalMode(_Counted):
    """``with _EvalMode(module):`` the module in evaluation mode (dropout off) for the block, for
    inference that may overlap in threads on one module (:func:`lstmkit.training.predict`).

    Depth-counted (:class:`_Counted`): the first block to enter saves ``training`` and, only where
    it is True, calls ``eval()``; the last to leave calls ``train()`` again, only where the first
    had to switch and the module is in eval mode when it leaves. A mode set meanwhile (a fit of the
    same module) is not told from the block's own: left in training mode, it stays; left in eval
    mode (as the estimators leave their model after fit), it is switched to training mode. A module
    already in eval mode (an estimator's, after fit and load) is never written to.
    """

    __slots__ = ()
    _DEPTH = "_eval_depth"

    def _first(self, m: dict) -> None:
        m["_eval_switched"] = bool(self.module.training)
        if m["_eval_switched"]:
            self.module.eval()

    def _last(self, m: dict) -> None:
        if m["_eval_switched"] and not self.module.training:
            self.module.train(True)
