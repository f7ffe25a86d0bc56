"""Optimizers that own their state, gradient clipping, and learning-rate schedules.

Every optimizer updates the parameters of a :class:`~lstmkit.module.Module` (or of a list of
them: ``Adam([encoder, decoder])``) *in place* from their ``grads`` (PyTorch's update rules,
checked step by step against ``torch.optim``). With θ a parameter, g its gradient, η the learning
rate, λ the weight decay and t the step count (from 1):

    SGD      g ← g + λθ;  b ← g (t = 1) else μ b + (1 - dampening) g
             θ ← θ - η (g + μ b) with nesterov, θ ← θ - η b with momentum μ > 0, else θ - η g
    Adam     g ← g + λθ;  m ← β₁ m + (1-β₁) g;  v ← β₂ v + (1-β₂) g²
             (amsgrad: v̂ ← max(v̂, v), used for v below)
             θ ← θ - (η / (1-β₁ᵗ)) m / (√v / √(1-β₂ᵗ) + ε)
    AdamW    θ ← θ (1 - ηλ), then Adam without the λθ term (decoupled weight decay)
    RMSprop  g ← g + λθ;  s ← α s + (1-α) g²;  d = √s + ε
             (centered: a ← α a + (1-α) g;  d = √(s - a²) + ε)
             momentum μ > 0: b ← μ b + g/d;  θ ← θ - η b      else θ ← θ - η g/d

Hyper-parameters are checked as PyTorch checks them (0 <= β < 1, ε, λ, μ >= 0, ...), once, by
each class's ``_checked`` — in ``__init__`` and again in ``load_state_dict``.

``opt.state_dict()`` returns ``{"scalars": {...JSON...}, "arrays": {"<slot>/<param>": array}}``
and ``opt.load_state_dict(sd)`` restores it (checked first, all or nothing: a slot array missing
after the first step, not finite, or negative where it is a mean of squares is refused), so a
checkpoint can resume the exact sequence of updates. Over one module ``<param>`` is the
parameter's name; over a list, ``<i>.<name>`` with i the module's place in it (torch's
``ModuleList`` names). A hyper-parameter added later (Adam's ``amsgrad``) is in the state only
when it is not at its default, so states and checkpoints written before it load as they did.

``clip_grad_norm(grads, max_norm, norm_type=2)`` scales all gradients together so that their
global p-norm is at most ``max_norm`` and returns the norm before clipping (PyTorch's
``clip_grad_norm_``); ``clip_grad_value(grads, clip_value)`` clamps every gradient value to
[-clip_value, clip_value] (``clip_grad_value_``).

Schedules change ``opt.lr`` once per epoch (``sched.step()``; ``ReduceLROnPlateau.step(metric)``):
StepLR, CosineAnnealingLR, ReduceLROnPlateau, each with JSON ``state_dict()``.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Mapping

import numpy as np

from ._checks import a_or_an, check_bool, check_choice, check_int, check_real, fail, is_int
from .module import Module, Parameters


_PASS_THE_MODULE = (
    "Pass the module itself (SGD(model), not SGD(model.parameters())): the optimizer reads its "
    "grads as well as its parameters; for several modules, a list of them (SGD([encoder, decoder]))."
)


def _modules(module, where: str) -> tuple[Module, ...]:
    """``module`` as a tuple of Modules: one Module, or a non-empty list or tuple of them that
    share no parameter array (a SequenceModel and its ``rnn`` do: each step would update it twice)."""
    if isinstance(module, Module):
        return (module,)
    if not isinstance(module, (list, tuple)):
        fix = _PASS_THE_MODULE if _parameters_like(module) else ""
        fail(where, "module", "an lstmkit Module or a list of them (their parameters and grads)", _kind(module), fix, exc=TypeError)
    if not module:
        fail(where, "module", "an lstmkit Module or a list of them (their parameters and grads)", f"an empty {type(module).__name__}")
    for i, m in enumerate(module):
        if not isinstance(m, Module):
            fix = _PASS_THE_MODULE if _parameters_like(m) else ""
            fail(where, f"module[{i}]", "an lstmkit Module", _kind(m), fix, exc=TypeError)
    _check_disjoint([list(m.parameters().items()) for m in module], where, "module", "the parameters")
    return tuple(module)


def _kind(x) -> str:
    """What ``x`` is, as a message says it: its type's name, or a module's parameters."""
    return "a module's parameters (model.parameters())" if isinstance(x, Parameters) else type(x).__name__


def _parameters_like(x) -> bool:
    """What a torch user passes for parameters: a dict, an array, or an iterable (not a str)."""
    return isinstance(x, (Mapping, np.ndarray)) or (hasattr(x, "__iter__") and not isinstance(x, (str, bytes)))


def _check_disjoint(groups, where: str, arg: str, what: str) -> None:
    """Refuse two groups (``[(name, array), ...]`` each) that hold one array (memory shared)."""
    for i in range(len(groups)):
        for j in range(i + 1, len(groups)):
            for name_i, a in groups[i]:
                for name_j, b in groups[j]:
                    if np.shares_memory(a, b):
                        fail(where, arg, f"items that share none of {what}", f"{arg}[{i}] and {arg}[{j}] sharing {name_i!r} and {name_j!r}",
                             "Pass each module once, and not both a model and one of its parts (a SequenceModel holds its rnn's and head's).")


def _grad_arrays(grads, where: str) -> list[np.ndarray]:
    """The gradient arrays of ``grads``: a Module (its ``grads``), a dict name -> array, a NumPy
    array, or a list or tuple of those. Each is a float ndarray (clipped in place), none twice."""
    groups = []
    items = grads if isinstance(grads, (list, tuple)) else [grads]
    for i, item in enumerate(items):
        arg = f"grads[{i}]" if isinstance(grads, (list, tuple)) else "grads"
        if isinstance(item, Module):
            pairs = list(item.grads.items())
        elif isinstance(item, Parameters):  # torch's clip_grad_norm_(model.parameters(), ...): the weights
            fail(where, arg, "the gradients (a Module, its grads, ...)", _kind(item),
                 f"Pass the module ({where}(model, ...)) or its gradients (model.grads): clipping its parameters "
                 "would change the weights themselves.", exc=TypeError)
        elif isinstance(item, Mapping):
            pairs = [(f"{k}", v) for k, v in item.items()]
        elif isinstance(item, np.ndarray):
            pairs = [("", item)]
        else:
            fix = f"Pass the module ({where}(model, ...)) or its grads (model.grads), not its parameters." if _parameters_like(item) else ""
            fail(where, arg, "a Module, a dict name -> gradient array, an array, or a list of those", type(item).__name__, fix, exc=TypeError)
        for k, v in pairs:
            if not (isinstance(v, np.ndarray) and v.dtype.kind == "f"):
                got = f"dtype {v.dtype}" if isinstance(v, np.ndarray) else type(v).__name__
                fail(where, f"{arg}[{k!r}]" if k else arg, "a float NumPy array (clipped in place)", got, exc=TypeError)
        groups.append(pairs)
    if len(groups) > 1:
        _check_disjoint(groups, where, "grads", "the gradient arrays")
    return [v for pairs in groups for _, v in pairs]


def _norm_type(norm_type, where: str) -> float:
    """A p-norm's p: a number > 0, or infinity (math.inf, or 'inf' as torch takes it)."""
    if norm_type == "inf" or (isinstance(norm_type, (float, np.floating)) and norm_type == math.inf):
        return math.inf
    if isinstance(norm_type, (bool, np.bool_)) or not isinstance(norm_type, (int, float, np.integer, np.floating)):
        fail(where, "norm_type", "a number > 0 or inf (math.inf or 'inf')", repr(norm_type), exc=TypeError)
    if not (math.isfinite(norm_type) and norm_type > 0):
        fail(where, "norm_type", "a number > 0 or inf (math.inf or 'inf')", repr(norm_type))
    return float(norm_type)


def clip_grad_norm(grads, max_norm: float, norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale every gradient by min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖ the p-norm of all gradients
    as one vector: (Σ_k Σ |g_k|ᵖ)^(1/p), p = ``norm_type`` (2: √(Σ_k ‖g_k‖²); 1: Σ_k Σ |g_k|;
    inf or 'inf': max_k max |g_k|), as torch's ``clip_grad_norm_``.

    ``grads``: a Module, a dict name -> array, an array, or a list of those (modified in place).
    Returns ‖g‖ before clipping (0.0 for no gradients).

    A NaN or inf gradient makes ‖g‖ NaN or inf, and, as torch's, the factor too: NaN makes every
    gradient NaN, inf makes it 0 (an inf entry NaN), so the step that follows shows it rather than
    going on with the gradients as they were. ``error_if_nonfinite=True`` (torch's argument, and
    its default False) refuses a non-finite ‖g‖ instead, with a RuntimeError as torch's, leaving
    the gradients as they are. ‖g‖ is summed in float64 whatever the gradients' dtype: torch sums
    float32 gradients in float32, where ‖g‖ beyond ~1.8e38 (one gradient of ~1e20 for p = 2)
    overflows to inf and zeroes them; here it is finite, and they are scaled.

    Pass the gradients (the module, or ``model.grads``), never the weights: torch's
    ``clip_grad_norm_(model.parameters(), c)`` habit, ``model.parameters()`` itself, is refused,
    but the weights in another container (``dict(model.parameters())``,
    ``list(model.parameters().values())``, a parameter array) cannot be told from gradients and
    would be scaled in place.
    """
    where = "clip_grad_norm"
    max_norm = check_real(max_norm, where, "max_norm", low=0.0, low_open=True)
    p = _norm_type(norm_type, where)
    error_if_nonfinite = check_bool(error_if_nonfinite, where, "error_if_nonfinite")
    g = _grad_arrays(grads, where)
    if p == 2.0:
        total = math.sqrt(sum(float(np.sum(np.square(v, dtype=np.float64))) for v in g))
    elif p == 1.0:
        total = sum(float(np.sum(np.abs(v), dtype=np.float64)) for v in g)
    elif p == math.inf:  # np.max is NaN where a NaN is; Python's max would keep whichever came first
        norms = [float(np.max(np.abs(v))) for v in g if v.size]
        total = math.nan if any(math.isnan(n) for n in norms) else max(norms, default=0.0)
    else:
        total = sum(float(np.sum(np.abs(v.astype(np.float64)) ** p)) for v in g) ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(total):
        fail(where, "grads", f"a finite total norm (of order {norm_type})", total,
             "A gradient is NaN or inf, so it cannot be clipped: look for the step that made it (a learning rate too "
             "high, a log of 0, ...); or pass error_if_nonfinite=False to scale the gradients by it anyway, as torch's "
             "default does (NaN gradients then).", exc=RuntimeError)  # fmt: skip
    coef = max_norm / (total + 1e-6)  # NaN for a NaN norm, 0 for inf
    if not coef >= 1.0:  # torch's min(1, coef), NaN kept
        with np.errstate(invalid="ignore"):  # inf * 0 = NaN, as torch's
            for v in g:
                v *= v.dtype.type(coef)
    return total


def clip_grad_value(grads, clip_value: float) -> None:
    """Clamp every gradient value to [-clip_value, clip_value] in place (torch's ``clip_grad_value_``).

    ``grads``: a Module, a dict name -> array, an array, or a list of those. As with
    :func:`clip_grad_norm`, only ``model.parameters()`` itself is refused: the weights in another
    container would be clamped.
    """
    where = "clip_grad_value"
    c = check_real(clip_value, where, "clip_value", low=0.0, low_open=True)
    for v in _grad_arrays(grads, where):
        np.clip(v, -c, c, out=v)


class Optimizer:
    """Base: holds the modules, the learning rate, the step count and per-parameter slots."""

    slots: tuple[str, ...] = ()  # names of per-parameter state arrays
    hyper: tuple[str, ...] = ()  # names of scalar hyper-parameters (saved with the state)
    # hyper-parameters saved only when not at their default (name -> default): an instance's
    # ``hyper`` adds those it has set, so a state without one (written before it) loads as one
    # at its default, and a checkpoint's recorded settings name it only when it is set
    optional: Mapping[str, Any] = {}
    squares: tuple[str, ...] = ()  # slots that are means of squares (never negative)

    def __init__(self, module: Module | list[Module] | tuple[Module, ...], lr: float) -> None:
        where = type(self).__name__
        self.modules = _modules(module, where)
        # the Module (one), as Trainer reads it; over several, the tuple of them
        self.module = self.modules[0] if len(self.modules) == 1 else self.modules
        lr = check_real(lr, where, "lr", low=0, low_open=True)
        self.lr = lr
        self.initial_lr = lr
        self.t = 0  # steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {s: {} for s in self.slots}

    def _set_hyper(self, hyper: Mapping[str, Any]) -> None:
        """Set the hyper-parameters (checked by ``_checked``) and the names saved with the state."""
        self.__dict__.update(hyper)
        self.hyper = type(self).hyper + tuple(k for k, d in self.optional.items() if hyper[k] != d)

    def _named(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Every parameter and its gradient by the name its state goes under: the parameter's
        name over one module, ``<i>.<name>`` over a list (i the module's place in it)."""
        if len(self.modules) == 1:
            m = self.modules[0]
            return {k: (p, m.grads[k]) for k, p in m.parameters().items()}
        return {f"{i}.{k}": (p, m.grads[k]) for i, m in enumerate(self.modules) for k, p in m.parameters().items()}

    def zero_grad(self, set_to_none: bool = False) -> None:
        """Set every gradient to zero, in place (torch's ``zero_grad(set_to_none=False)``).

        torch's default, ``set_to_none=True``, leaves each ``.grad`` None so that ``step()`` skips
        a parameter no backward reached; lstmkit's gradients are arrays that ``backward`` adds
        into (``+=``), never None, so it is refused rather than read as something else."""
        where = f"{type(self).__name__}.zero_grad"
        if check_bool(set_to_none, where, "set_to_none"):
            fail(where, "set_to_none", "False", True,
                 "lstmkit's gradients are arrays that backward adds into, never None: zero_grad() zeroes them in place "
                 "(torch's set_to_none=False); call it without set_to_none.")
        for m in self.modules:
            m.zero_grad()

    def step(self) -> None:
        """One update of every parameter from its gradient (in place)."""
        self.t += 1
        for name, (p, g) in self._named().items():
            self._update(name, p, g)

    def _slot(self, slot: str, name: str, p: np.ndarray) -> np.ndarray:
        """The state array ``slot`` of parameter ``name``, made as zeros at its first step, in ``p``'s
        dtype. A module cast after a step (``model.double()``: new arrays, which ``step`` reads) has
        its state cast to follow, as :meth:`load_state_dict` casts a loaded state, so that going on
        after a cast and resuming from a checkpoint of it make the same updates. (torch's Adam
        fails there, "expected dtype float ... but got dtype double"; its SGD and RMSprop keep the
        state in the old dtype; a ``load_state_dict`` of the state casts it, as here.)"""
        s = self.state[slot]
        if name not in s:
            s[name] = np.zeros_like(p)
        elif s[name].dtype != p.dtype:
            s[name] = s[name].astype(p.dtype)
        return s[name]

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def _checked(cls, hyper: Mapping[str, Any], where: str) -> dict[str, Any]:  # pragma: no cover
        """The hyper-parameters (names of ``hyper``) checked and normalised, or an error naming one."""
        raise NotImplementedError

    @classmethod
    def _used_slots(cls, hyper: Mapping[str, Any]) -> tuple[str, ...]:
        """The slots ``_update`` fills for every parameter with the hyper-parameters ``hyper``."""
        return cls.slots

    # -- state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        scalars = {"type": type(self).__name__, "lr": self.lr, "initial_lr": self.initial_lr, "t": self.t}
        scalars.update({h: getattr(self, h) for h in self.hyper})
        arrays = {f"{slot}/{name}": v.copy() for slot, d in self.state.items() for name, v in d.items()}
        return {"scalars": scalars, "arrays": arrays}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output. Everything is checked before anything is set: on
        an error (naming the field) the optimizer is as it was."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(sd, Mapping):
            fail(where, "sd", "a mapping {'scalars': ..., 'arrays': ...}", type(sd).__name__, exc=TypeError)
        scalars, arrays = sd.get("scalars", {}), sd.get("arrays", {})
        if not isinstance(scalars, Mapping) or not isinstance(arrays, Mapping):
            fail(where, "sd", "'scalars' and 'arrays' mappings", f"{type(scalars).__name__} and {type(arrays).__name__}", exc=TypeError)
        if scalars.get("type") != type(self).__name__:
            fail(where, "state", f"of {a_or_an(type(self).__name__)}", f"state of {scalars.get('type')!r}")
        missing = [k for k in ("lr", "initial_lr", "t", *type(self).hyper) if k not in scalars]
        if missing:
            fail(where, f"scalars[{missing[0]!r}]", "present", "nothing")
        lr = check_real(scalars["lr"], where, "scalars['lr']", low=0.0)  # a schedule may reach 0
        initial_lr = check_real(scalars["initial_lr"], where, "scalars['initial_lr']", low=0.0, low_open=True)
        if not is_int(scalars["t"]) or scalars["t"] < 0:
            fail(where, "scalars['t']", "an integer >= 0 (steps taken)", repr(scalars["t"]))
        hyper = self._checked({**{h: scalars[h] for h in type(self).hyper}, **{h: scalars.get(h, d) for h, d in self.optional.items()}}, where)
        params = {k: p for k, (p, _) in self._named().items()}
        staged: dict[str, dict[str, np.ndarray]] = {s: {} for s in self.slots}
        for key, v in arrays.items():
            slot, _, name = key.partition("/")
            if slot not in staged or name not in params:
                names = list(params)
                fix = "" if name in params else f"This optimizer's parameters are {names[:4]}" + (f" and {len(names) - 4} more." if len(names) > 4 else ".")
                fail(where, "state arrays", f"keys '<slot>/<param>' with slot in {list(self.slots)}", repr(key), fix)
            if np.shape(v) != params[name].shape:
                fail(where, key, f"shape {params[name].shape}", f"shape {np.shape(v)}")
            if not isinstance(v, np.ndarray) or v.dtype.kind != "f":
                fail(where, key, "a float array", f"dtype {getattr(v, 'dtype', type(v).__name__)}", exc=TypeError)
            if not np.all(np.isfinite(v)):
                fail(where, key, "finite values", "nan or inf")
            if slot in self.squares and np.any(v < 0):
                fail(where, key, "values >= 0 (a mean of squares)", f"min {float(v.min())!r}")
            staged[slot][name] = np.array(v, dtype=params[name].dtype)
        if scalars["t"] > 0:  # after a step, _update has filled its slots for every parameter
            for slot in self._used_slots(hyper):
                absent = [n for n in params if n not in staged[slot]]
                if absent:
                    fail(where, f"state array '{slot}/{absent[0]}'", f"present after {scalars['t']} steps", "nothing")
        self.lr, self.initial_lr, self.t = lr, initial_lr, int(scalars["t"])
        self._set_hyper(hyper)
        self.state = staged

    def __repr__(self) -> str:
        hp = ", ".join(f"{h}={getattr(self, h)!r}" for h in self.hyper)
        return f"{type(self).__name__}(lr={self.lr!r}, {hp})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay."""

    slots = ("momentum_buffer",)
    hyper = ("momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, module, lr=0.01, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(module, lr)
        hyper = dict(momentum=momentum, dampening=dampening, nesterov=nesterov, weight_decay=weight_decay)
        self._set_hyper(self._checked(hyper, "SGD"))

    @classmethod
    def _checked(cls, hyper, where):
        out = {
            "momentum": check_real(hyper["momentum"], where, "momentum", low=0.0),
            "dampening": check_real(hyper["dampening"], where, "dampening", low=0.0, high=1.0),
            "nesterov": check_bool(hyper["nesterov"], where, "nesterov"),
            "weight_decay": check_real(hyper["weight_decay"], where, "weight_decay", low=0.0),
        }
        if out["nesterov"] and (out["momentum"] <= 0 or out["dampening"] != 0):
            fail(where, "nesterov", "momentum > 0 and dampening = 0", f"momentum={out['momentum']}, dampening={out['dampening']}")
        return out

    @classmethod
    def _used_slots(cls, hyper):
        return cls.slots if hyper["momentum"] else ()

    def _update(self, name, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        if self.momentum:
            b = self._slot("momentum_buffer", name, p)
            if self.t == 1:
                b[...] = g  # b ← g on the first step
            else:
                b *= self.momentum  # b ← μ b + (1 - dampening) g
                b += (1.0 - self.dampening) * g
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g  # θ ← θ - η g


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction; ``weight_decay`` adds λθ to the gradient (L2);
    ``amsgrad`` divides by the largest v seen so far (Reddi et al.), as torch's ``amsgrad=True``."""

    slots = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    hyper = ("beta1", "beta2", "eps", "weight_decay")
    optional = {"amsgrad": False}
    squares = ("exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, module, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(module, lr)
        where = type(self).__name__
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            fail(where, "betas", "a pair (beta1, beta2)", repr(betas), exc=TypeError)
        hyper = dict(beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        self._set_hyper(self._checked(hyper, where, ("betas[0]", "betas[1]")))  # the arguments as given

    @classmethod
    def _checked(cls, hyper, where, beta_names=("beta1", "beta2")):
        return {
            "beta1": check_real(hyper["beta1"], where, beta_names[0], low=0.0, high=1.0, high_open=True),
            "beta2": check_real(hyper["beta2"], where, beta_names[1], low=0.0, high=1.0, high_open=True),
            "eps": check_real(hyper["eps"], where, "eps", low=0.0),
            "weight_decay": check_real(hyper["weight_decay"], where, "weight_decay", low=0.0),
            "amsgrad": check_bool(hyper["amsgrad"], where, "amsgrad"),
        }

    @classmethod
    def _used_slots(cls, hyper):
        return cls.slots if hyper["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _update(self, name, p, g):
        b1, b2 = self.beta1, self.beta2
        if self.weight_decay:
            if self._decoupled:
                p *= 1.0 - self.lr * self.weight_decay  # AdamW: θ ← θ (1 - ηλ)
            else:
                g = g + self.weight_decay * p  # Adam: g ← g + λθ
        m = self._slot("exp_avg", name, p)
        v = self._slot("exp_avg_sq", name, p)
        m *= b1  # m ← β₁ m + (1-β₁) g
        m += (1.0 - b1) * g
        v *= b2  # v ← β₂ v + (1-β₂) g²
        v += (1.0 - b2) * (g * g)
        if self.amsgrad:
            v_max = self._slot("max_exp_avg_sq", name, p)
            np.maximum(v_max, v, out=v_max)  # v̂ ← max(v̂, v)
            v = v_max
        step_size = self.lr / (1.0 - b1**self.t)  # η / (1-β₁ᵗ)
        denom = np.sqrt(v) / math.sqrt(1.0 - b2**self.t) + self.eps  # √v / √(1-β₂ᵗ) + ε
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter); default λ = 0.01 as in PyTorch."""

    _decoupled = True

    def __init__(self, module, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, amsgrad=False):
        super().__init__(module, lr, betas, eps, weight_decay, amsgrad)


class RMSprop(Optimizer):
    """RMSprop (Hinton), optionally centered and with momentum (PyTorch's defaults)."""

    slots = ("square_avg", "grad_avg", "momentum_buffer")
    hyper = ("alpha", "eps", "weight_decay", "momentum", "centered")
    squares = ("square_avg",)

    def __init__(self, module, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(module, lr)
        hyper = dict(alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        self._set_hyper(self._checked(hyper, "RMSprop"))

    @classmethod
    def _checked(cls, hyper, where):
        return {
            "alpha": check_real(hyper["alpha"], where, "alpha", low=0.0, high=1.0),
            "eps": check_real(hyper["eps"], where, "eps", low=0.0),
            "weight_decay": check_real(hyper["weight_decay"], where, "weight_decay", low=0.0),
            "momentum": check_real(hyper["momentum"], where, "momentum", low=0.0),
            "centered": check_bool(hyper["centered"], where, "centered"),
        }

    @classmethod
    def _used_slots(cls, hyper):
        return ("square_avg",) + (("grad_avg",) if hyper["centered"] else ()) + (("momentum_buffer",) if hyper["momentum"] > 0 else ())

    def _update(self, name, p, g):
        a = self.alpha
        if self.weight_decay:
            g = g + self.weight_decay * p  # g ← g + λθ
        s = self._slot("square_avg", name, p)
        s *= a  # s ← α s + (1-α) g²
        s += (1.0 - a) * (g * g)
        if self.centered:
            ga = self._slot("grad_avg", name, p)
            ga *= a  # a ← α a + (1-α) g
            ga += (1.0 - a) * g
            d = np.sqrt(s - ga * ga) + self.eps  # d = √(s - a²) + ε
        else:
            d = np.sqrt(s) + self.eps  # d = √s + ε
        if self.momentum > 0:
            b = self._slot("momentum_buffer", name, p)
            b *= self.momentum  # b ← μ b + g/d
            b += g / d
            p -= self.lr * b
        else:
            p -= self.lr * (g / d)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def make_optimizer(name: str, module: Module, lr: float, **kwargs) -> Optimizer:
    """Build an optimizer by name ('sgd', 'adam', 'adamw', 'rmsprop'; case-insensitive)."""
    cls = by_name(OPTIMIZERS, name, "make_optimizer")
    _check_options(cls, kwargs, "make_optimizer", ("self", "module", "lr"))
    return cls(module, lr=lr, **kwargs)


def by_name(table: Mapping[str, Any], name, where: str, arg: str = "name", expected: str | None = None):
    """``table[name]``, the name matched whatever its case ('Adam' is 'adam'): the one rule for an
    optimizer's and a schedule's name, of make_optimizer and make_schedule, the Trainer's
    ``optimizer`` and ``schedule`` and the estimators' ``optimizer``. Any other value is refused
    (ValueError) naming the caller (``where``) and its argument (``arg``), expected ``expected``
    (default: "one of [the names]"; a caller that takes other values too says so:
    "None, one of [...] or a schedule object")."""
    if isinstance(name, str) and name.lower() in table:
        return table[name.lower()]
    fail(where, arg, expected or f"one of {list(table)}", f"{name!r:.80}")


def _check_options(cls, options: Mapping[str, Any], where: str, taken: tuple[str, ...]) -> None:
    """Refuse an option ``cls`` does not take (Python's own TypeError names no choices)."""
    known = [n for n in inspect.signature(cls.__init__).parameters if n not in taken]
    for k in options:
        if k not in known:
            fail(where, f"{cls.__name__} option {k!r}", f"one of {known}", repr(k), exc=TypeError)


# -- learning-rate schedules (per epoch) -----------------------------------------------------
class _Schedule:
    """Base: the epoch count and the learning rate at epoch 0; options checked by ``_checked``."""

    # options added later, left out of state_dict at their default (name -> default), so that
    # states and checkpoints written before them, and a Trainer's recorded settings, stay as they were
    optional: Mapping[str, Any] = {}

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            fail(type(self).__name__, "optimizer", "an lstmkit Optimizer", type(optimizer).__name__, exc=TypeError)
        self.optimizer = optimizer
        self.base_lr = optimizer.initial_lr
        self.epoch = 0

    def _checked(self, values: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The schedule's fields (options and counters) checked and normalised; each subclass
        adds its own to the base's (``epoch``, ``base_lr``)."""
        return {
            "epoch": check_int(values["epoch"], where, "epoch", minimum=0),
            "base_lr": check_real(values["base_lr"], where, "base_lr", low=0.0, low_open=True),
        }

    def state_dict(self) -> dict[str, Any]:
        """Every field (options and counters), but an option of ``optional`` at its default."""
        return {k: v for k, v in vars(self).items() if k != "optimizer" and not (k in self.optional and v == self.optional[k])}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output, every field checked first (all or nothing). A
        field left out keeps its value, but an option of ``optional``, which takes its default (a
        state without it is one at its default: state_dict leaves it out)."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(sd, Mapping):
            fail(where, "sd", "a mapping", type(sd).__name__, exc=TypeError)
        keys = sorted(k for k in vars(self) if k != "optimizer")
        for k in sd:
            if k not in keys:
                fail(where, "state", f"keys {keys}", repr(k))
        self.__dict__.update(self._checked({**self.state_dict(), **self.optional, **sd}, where))

    def __repr__(self) -> str:
        """The class, its options (its constructor's arguments) and the epochs stepped, e.g.
        ``StepLR(step_size=10, gamma=0.1, epoch=3)``; the optimizer's rate is the optimizer's repr."""
        options = [n for n in inspect.signature(type(self).__init__).parameters if n not in ("self", "optimizer") and hasattr(self, n)]
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in options + ['epoch'])})"


class StepLR(_Schedule):
    """η_e = η₀ γ^⌊e / step_size⌋ after e epochs."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        self.__dict__.update(self._checked({**self.state_dict(), "step_size": step_size, "gamma": gamma}, "StepLR"))

    def _checked(self, values, where):
        return {
            **super()._checked(values, where),
            "step_size": check_int(values["step_size"], where, "step_size", minimum=1),
            "gamma": check_real(values["gamma"], where, "gamma", low=0.0, low_open=True),
        }

    def step(self, metric=None) -> None:
        """One epoch on: η = η₀ γ^⌊e / step_size⌋. ``metric`` is not read: it is there so that every
        schedule is stepped alike, ``schedule.step(val_loss)``, as :class:`ReduceLROnPlateau` needs."""
        self.epoch += 1
        self.optimizer.lr = self.base_lr * self.gamma ** (self.epoch // self.step_size)


class CosineAnnealingLR(_Schedule):
    """η_e = η_min + (η₀ - η_min)(1 + cos(π e / T_max)) / 2 after e epochs.

    As PyTorch's: past T_max the cosine goes on, back up to η₀ at e = 2 T_max (period 2 T_max);
    stop training at T_max epochs for one decay to η_min.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):
        super().__init__(optimizer)
        self.__dict__.update(self._checked({**self.state_dict(), "T_max": T_max, "eta_min": eta_min}, "CosineAnnealingLR"))

    def _checked(self, values, where):
        return {
            **super()._checked(values, where),
            "T_max": check_int(values["T_max"], where, "T_max", minimum=1),
            "eta_min": check_real(values["eta_min"], where, "eta_min", low=0.0),
        }

    def step(self, metric=None) -> None:
        """One epoch on: η = η_min + (η₀ - η_min)(1 + cos(π e / T_max)) / 2. ``metric`` is not read: it
        is there so that every schedule is stepped alike, ``schedule.step(val_loss)``, as
        :class:`ReduceLROnPlateau` needs."""
        self.epoch += 1
        e = self.epoch
        self.optimizer.lr = self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * e / self.T_max)) / 2


class ReduceLROnPlateau(_Schedule):
    """Multiply η by ``factor`` when ``metric`` has not improved by ``threshold`` for more than
    ``patience`` epochs; wait ``cooldown`` epochs after a reduction; never below min_lr.

    Improved, as torch's ``threshold_mode``: ``"rel"`` (the default) a < best (1 - threshold) in
    mode "min", a > best (1 + threshold) in "max"; ``"abs"`` a < best - threshold, a > best + threshold.
    """

    optional = {"threshold_mode": "rel"}

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0, min_lr=0.0):
        super().__init__(optimizer)
        self.best: float | None = None
        self.bad_epochs = 0
        self.cooldown_left = 0
        options = dict(mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr)
        self.__dict__.update(self._checked({**self.state_dict(), **options}, "ReduceLROnPlateau"))

    def _checked(self, values, where):
        best = values["best"]
        return {
            **super()._checked(values, where),
            "mode": check_choice(values["mode"], ("min", "max"), where, "mode"),
            "factor": check_real(values["factor"], where, "factor", low=0.0, high=1.0, low_open=True, high_open=True),
            "patience": check_int(values["patience"], where, "patience", minimum=0),
            "threshold": check_real(values["threshold"], where, "threshold", low=0.0),
            "threshold_mode": check_choice(values["threshold_mode"], ("rel", "abs"), where, "threshold_mode"),
            "cooldown": check_int(values["cooldown"], where, "cooldown", minimum=0),
            "min_lr": check_real(values["min_lr"], where, "min_lr", low=0.0),
            "best": None if best is None else check_real(best, where, "best"),
            "bad_epochs": check_int(values["bad_epochs"], where, "bad_epochs", minimum=0),
            "cooldown_left": check_int(values["cooldown_left"], where, "cooldown_left", minimum=0),
        }

    def _better(self, a: float, best: float) -> bool:
        # PyTorch's _is_better
        if self.threshold_mode == "abs":
            return a < best - self.threshold if self.mode == "min" else a > best + self.threshold
        if self.mode == "min":
            return a < best * (1 - self.threshold)
        return a > best * (1 + self.threshold)

    def step(self, metric=None) -> None:
        """One epoch on, given the monitored value ``metric`` (e.g. val_loss; required here, taken
        and not read by the other schedules)."""
        if metric is None:
            fail("ReduceLROnPlateau.step", "metric", "the monitored value (e.g. val_loss)", None, exc=TypeError)
        self.epoch += 1
        metric = float(metric)
        if self.best is None or self._better(metric, self.best):
            self.best, self.bad_epochs = metric, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
            self.cooldown_left, self.bad_epochs = self.cooldown, 0


SCHEDULES = {"step": StepLR, "cosine": CosineAnnealingLR, "plateau": ReduceLROnPlateau}


def make_schedule(name: str, optimizer: Optimizer, **kwargs) -> _Schedule:
    """Build a schedule by name ('step', 'cosine', 'plateau'; case-insensitive, as
    :func:`make_optimizer`), its options checked by name."""
    cls = by_name(SCHEDULES, name, "make_schedule")
    _check_options(cls, kwargs, "make_schedule", ("self", "optimizer"))
    return cls(optimizer, **kwargs)
