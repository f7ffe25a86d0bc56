"""Losses, each fused with its gradient: ``loss, dpred = f(pred, target, mask=None)``.

Both average over the *valid* targets only: a ``mask`` (1 valid, 0 padding) selects them, so a
padded step never contributes to the loss or its gradient, whatever its logits or predictions hold
(NaN, inf, 1e38: its gradient is 0). Without a mask every target counts.

Softmax cross-entropy over C classes (the seeds' H(y_t, target_t) with y_t = softmax(z_t))::

    p_n   = softmax(z_n)                         z_n the logits of target n       (C,)
    ℓ_n   = -log p_n[k_n]                        k_n its class index
    r_n   = m_n w[k_n]                           m_n ∈ {0, 1} the mask, w (C,) the class weights (1 without)
    L     = Σ_n r_n ℓ_n / Σ_n r_n               a weighted mean over the valid targets
    ∂L/∂z_n = r_n (p_n - onehot(k_n)) / Σ_n r_n  (the fused backward: softmax and log cancel)

The class weights are torch's ``F.cross_entropy(weight=w)`` with its mean reduction: the loss is
divided by the weights of the targets, Σ r_n, not by their number, so that weighing every class by
the same factor changes nothing (Keras' ``class_weight`` divides by the number instead). The
weights are divided by the largest first (:func:`relative_weight`), which changes neither L nor
its gradient, so that Σ r stays finite for any finite weights.

Mean squared error::

    L       = Σ_e m_e (p_e - y_e)² / Σ_e m_e     e runs over every element (all K outputs)
    ∂L/∂p_e = 2 m_e (p_e - y_e) / Σ_e m_e

Sample weights (``sample_weight``, Keras' and scikit-learn's: one number s_n >= 0 per target, a
sequence's or a step's) multiply each target's weight, the class weight's product as Keras
multiplies them: r_n = m_n w[k_n] s_n for the cross-entropy, r_e = m_e s_n(e) for each of a
target's K elements in the MSE, and the loss is the same weighted mean Σ r ℓ / Σ r. That is
torch's convention (``(s * F.cross_entropy(z, k, weight=w, reduction='none')).sum() / (s *
w[k]).sum()``), not Keras' default reduction "sum_over_batch_size", which divides Σ r ℓ by the
number of targets (keras-team/keras#19740): divided by Σ r, weighing every target by the same
factor changes nothing, and a batch's loss does not shrink with its share of weights that are 0,
as with the class weights above. The sample weights are divided by their largest too.

Shapes: N stands for any leading dimensions — (B,) for one target per sequence, (B, T) for one
per step.

    softmax_cross_entropy: logits (N..., C), targets (N...) ints in [0, C), mask (N...) or None,
                           weight (C,) or None, sample_weight (N...) or (N,) (over the rest) or None
    mse:                   pred (N..., K) or (N...), target same shape, mask (N...) (broadcast
                           over trailing output axes) or None, sample_weight as mask or (N,) or None

Both return ``(loss: float, dpred: array of pred's shape and dtype)``. PyTorch equivalents:
``F.cross_entropy(z[m], k[m], weight=w)`` and ``F.mse_loss(p[m], y[m])`` (mean reduction).
"""

from __future__ import annotations

import numpy as np

from ._checks import check_real, check_sample_weight, check_shape, fail, is_real, message
from .functional import log_softmax


def _check_mask(mask, shape, where):
    """A float 0/1 mask of ``shape`` (or None) with at least one valid entry."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        fail(where, "mask", f"shape {tuple(shape)} (the targets' leading shape)", f"shape {m.shape}")
    if m.dtype.kind not in "biuf":
        fail(where, "mask", "a boolean or numeric 0/1 array", f"dtype {m.dtype}", exc=TypeError)
    m = m.astype(np.float64)
    if not np.isin(m, (0.0, 1.0)).all():
        fail(where, "mask", "values 0 or 1", f"values {np.unique(m)[:5]}")
    return m


def check_class_weight(weight, n_classes: int | None, where: str, arg: str = "weight", labels=None) -> np.ndarray:
    """``weight`` as float64 (C,): one number per class (``n_classes`` of them; None: any number
    >= 1), each finite and >= 0, as torch's ``F.cross_entropy(weight=)`` takes them. A value of
    another type (a string, a bool: no weight) raises TypeError, a wrong shape or a value out of
    range ValueError naming ``arg`` and the class: ``weight[2]``, or with ``labels`` (a label per
    entry: a mapping's keys) ``class_weight['rare']``, the entry as given (then a bool or a string
    among numbers is refused naming its label too). Whether the targets weigh anything at all is
    :func:`check_weighed`'s. The one check of a class weight's range: the loss's ``weight``, the
    Trainer's ``class_weight``, an estimator's ``class_weight`` dict and the one in a model file,
    ``lstmkit train --class-weight``."""
    entries = None if labels is None else list(weight)
    name = (lambda c: f"{arg}[{c}]") if labels is None else (lambda c: f"{arg}[{python_scalar(labels[c])!r}]")  # noqa: E731
    w = np.asarray(weight)
    what = "one weight per class" if n_classes is None else f"{n_classes} numbers, one weight per class"
    if w.dtype.kind not in "iuf" or (entries is not None and not all(is_real(v) for v in entries)):
        for c, v in enumerate(entries or ()):  # a mapping's: the first entry that is no number, by its label
            check_real(v, where, name(c), low=0)
        fail(where, arg, what, f"dtype {w.dtype}" if w.ndim else f"{type(weight).__name__} {weight!r:.80}", exc=TypeError)
    if n_classes is None:
        if w.ndim != 1 or w.size == 0:
            fail(where, arg, f"a 1-D array ({what})", f"shape {w.shape}")
    else:
        check_shape(w, (n_classes,), where, arg, "One weight per class, in the order of the class indices (torch's weight=).")
    w = w.astype(np.float64)
    if not (np.isfinite(w) & (w >= 0)).all():  # (one pass; the message from the first bad class)
        c = int(np.argmin(np.isfinite(w) & (w >= 0)))
        check_real(float(w[c]) if entries is None else entries[c], where, name(c), low=0)
    return w


def python_scalar(v):
    """A NumPy scalar as the Python one (a message shows 1, not np.int64(1)); anything else as it
    is (a tuple stays a tuple: a dict's key, unlike :func:`lstmkit.checkpoint.plain`, which makes
    it a list)."""
    return v.item() if isinstance(v, np.generic) else v


def relative_weight(weight) -> np.ndarray:
    """``weight`` (C,) float64 divided by its largest (itself where all are 0): what
    :func:`class_weighed` takes. It changes neither the weighted mean nor its gradient, and keeps
    Σ r at most the number of targets, finite for any finite weights (1e308 each would overflow to
    inf)."""
    top = weight.max() if weight.size else 0.0
    return weight / top if top > 0 else weight


def uniform_weights(weight: np.ndarray) -> bool:
    """Whether the weights ``weight`` (a float64 array: checked, finite, >= 0) are all one number
    > 0: their weighted mean Σ c ℓ / Σ c is the plain mean, so they weigh nothing. The one rule of
    the Trainer (class and sample weights, which it takes for none), the estimators (what a
    checkpoint records) and the checkpoint's comparison of recorded class weights."""
    return bool(weight.size > 0 and weight[0] > 0 and (weight == weight[0]).all())


def class_weighed(targets, valid, weight) -> tuple[np.ndarray, float]:
    """``(r, Σ r)``: r_n = m_n w[k_n], each valid target's class weight (0 where not valid;
    ``targets`` (N...) class indices, ``valid`` (N...) bool, ``weight`` (C,) the weights from
    :func:`check_class_weight` divided by the largest, :func:`relative_weight`), and their sum; a
    mean weighted by r, Σ r ℓ / Σ r, is the same for weights of any scale. The one computation of
    the targets' weights: the loss's, the Trainer's batch weight (of weights divided once, at its
    construction) and the checks (:func:`check_weighed`)."""
    r = np.where(valid, weight[np.where(valid, targets, 0)], 0.0)  # (targets not valid may be anything: -1)
    return r, float(r.sum())


def check_weighed(targets, valid, weight, where: str, what: str, arg: str = "weight", names=None) -> tuple[np.ndarray, float]:
    """:func:`class_weighed`'s ``(r, Σ r)``, the targets (``what``: "the valid targets") refused
    when they all weigh 0: their weighted mean is 0/0 (NaN in torch). :class:`UnweighedTargets`
    names the targets' classes by their index, or with ``names`` (the labels, in class order) by
    label."""
    r, total = class_weighed(targets, valid, relative_weight(weight))
    if not total > 0:
        raise unweighed(where, arg, what, np.unique(np.asarray(targets)[valid]).tolist(), names)
    return r, total


class UnweighedTargets(ValueError):
    """Targets whose classes all weigh 0 (:func:`check_weighed`): ``what`` they are and ``classes``
    their class indices, for a caller that knows the classes' labels to say it in its words."""

    def __init__(self, text: str, what: str, classes: list):
        super().__init__(text)
        self.what, self.classes = what, classes


def unweighed(where: str, arg: str, what: str, classes: list, names=None) -> UnweighedTargets:
    """The refusal of ``what`` (targets of the class indices ``classes``, shown as ``names[c]``
    where given) that all weigh 0 by ``arg``, to raise."""
    shown = classes if names is None else [python_scalar(names[c]) for c in classes]
    return UnweighedTargets(message(where, arg, f"a weight > 0 for a class among {what} (the loss is their weighted mean)",
                                    f"0 for each of their classes {shown!r:.80}"), what, classes)  # fmt: skip


def _sample_weighed(sample_weight, shape, r: np.ndarray, where: str) -> tuple[np.ndarray, float]:
    """``(r s, Σ r s)``: the targets' weights ``r`` (``shape``) times the sample weights (``shape`` or
    (N,), broadcast over the rest; checked, divided by their largest), refused when they sum to 0."""
    s = relative_weight(check_sample_weight(sample_weight, dict.fromkeys([tuple(shape), tuple(shape[:1])]), where))
    r = r * s.reshape(s.shape + (1,) * (len(shape) - s.ndim))
    total = float(r.sum())
    if not total > 0:
        fail(where, "sample_weight", "a weight > 0 for some valid target (the loss is their weighted mean)", "0 for each of them")
    return r, total


def softmax_cross_entropy(logits, targets, mask=None, weight=None, sample_weight=None) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against class indices, over valid targets.

    logits (N..., C) float; targets (N...) ints in [0, C); mask (N...) 0/1 or None; weight (C,)
    per class or None: the mean weighted by ``weight[target]``, Σ w ℓ / Σ w over the valid targets,
    as torch's ``F.cross_entropy(weight=w)`` (mean reduction) of the valid rows; refused
    (:func:`check_class_weight`) unless finite and >= 0, and when the valid targets' weights sum
    to 0 (their classes all weigh 0: the mean is 0/0, NaN in torch). ``sample_weight`` (N...) or
    (N,) or None: each target's weight times its sample weight s, Σ w s ℓ / Σ w s (module docstring).
    Returns ``(L, ∂L/∂logits)`` with ∂L/∂logits of shape (N..., C), see the module docstring.
    """
    where = "softmax_cross_entropy"
    z = np.asarray(logits)
    if z.dtype.kind != "f" or z.ndim < 1:
        fail(where, "logits", "a floating array (N..., C)", f"dtype {z.dtype} shape {z.shape}", exc=TypeError)
    k = np.asarray(targets)
    if k.dtype.kind not in "iu":
        fail(where, "targets", "integer class indices", f"dtype {k.dtype}", "Encode labels as 0..C-1.", exc=TypeError)
    if k.shape != z.shape[:-1]:
        fail(where, "targets", f"shape {z.shape[:-1]} (logits without the class axis)", f"shape {k.shape}")
    C = z.shape[-1]
    m = _check_mask(mask, k.shape, where)
    valid = np.ones(k.shape, dtype=bool) if m is None else m > 0
    if k.size and ((k[valid] < 0).any() or (k[valid] >= C).any()):
        fail(where, "targets", f"values in [0, {C})", f"range [{k[valid].min()}, {k[valid].max()}]")
    n_valid = float(valid.sum()) if m is not None else float(k.size)
    if n_valid == 0:
        fail(where, "mask", "at least one valid target", "none")
    if weight is None:
        r, total = valid.astype(z.dtype), n_valid  # r_n = m_n, Σ r = Σ m                (N...)
    else:
        w = check_class_weight(weight, C, where)
        r, total = check_weighed(k, valid, w, where, "the valid targets")  # r_n = m_n w[k_n] / max(w), Σ r  (N...)
    if sample_weight is not None:
        r, total = _sample_weighed(sample_weight, k.shape, r, where)  # r_n s_n / max(s), Σ r  (N...)
    return weighed_cross_entropy(z, k, None if m is None else valid, r, total)


def weighed_cross_entropy(z, k, valid, r, total: float) -> tuple[float, np.ndarray]:
    """:func:`softmax_cross_entropy` of arguments already checked: logits z (N..., C) float,
    targets k (N...) in [0, C) where valid, ``valid`` (N...) bool or None (every target), r (N...)
    each target's weight r_n (m_n, or :func:`class_weighed`'s) and ``total`` Σ r > 0. The Trainer
    calls it with the batch's class weights, which it computes once a batch (for the batch's
    weight in the epoch's loss too) from weights checked once, at its construction.
    Returns ``(L, ∂L/∂z)``, see the module docstring."""
    kk = (k if valid is None else np.where(valid, k, 0))[..., None]  # safe indices for padded positions   (N..., 1)
    r = (r / total).astype(z.dtype, copy=False)  # r_n / Σ r                          (N...)
    if valid is not None:  # a padded position's logits never enter: its ℓ_n would be NaN or inf for a NaN, an inf
        # or an extreme logit there (1e38 - -1e38 overflows), and m_n ℓ_n = 0 * NaN is NaN, in the loss and in
        # its row of the gradient, where torch's F.cross_entropy(z[m], k[m]) leaves the row out
        z = np.where(valid[..., None], z, 0).astype(z.dtype, copy=False)  # padded rows' logits 0   (N..., C)
    logp = log_softmax(z, axis=-1)  # log p_n                                      (N..., C)
    nll = -np.take_along_axis(logp, kk, axis=-1)[..., 0]  # ℓ_n = -log p_n[k_n]   (N...)
    loss = float((r * nll).sum())  # L = Σ r_n ℓ_n / Σ r
    dz = np.exp(logp)  # p_n                                                       (N..., C)
    np.put_along_axis(dz, kk, np.take_along_axis(dz, kk, axis=-1) - 1.0, axis=-1)  # p_n - onehot(k_n)
    dz *= r[..., None]  # ∂L/∂z_n = r_n (p_n - onehot(k_n)) / Σ r
    return loss, dz


def mse(pred, target, mask=None, sample_weight=None) -> tuple[float, np.ndarray]:
    """Mean squared error over valid elements.

    pred and target of the same shape (N...[, K]); mask (N...) 0/1 or None, broadcast over the
    trailing axes of pred; ``sample_weight`` a weight >= 0 per target, of mask's shape (or (N,),
    or with no mask the leading shape up to pred's last axis), or None: Σ s m (p - y)² / Σ s m over
    the elements (each target's weight on each of its K). Returns ``(L, ∂L/∂pred)`` (see the
    module docstring).
    """
    where = "mse"
    p = np.asarray(pred)
    if p.dtype.kind != "f":
        fail(where, "pred", "a floating array", f"dtype {p.dtype}", exc=TypeError)
    y = np.asarray(target)
    if y.shape != p.shape:
        fail(where, "target", f"shape {p.shape} (as pred)", f"shape {y.shape}")
    if mask is None:
        m = np.ones(p.shape, dtype=p.dtype)
        lead = p.shape[:-1] if p.ndim > 1 else p.shape  # the targets' shape, for sample_weight
        valid = None
    else:
        m0 = np.asarray(mask)
        if m0.ndim > p.ndim or p.shape[: m0.ndim] != m0.shape:
            fail(where, "mask", f"the leading shape of pred {p.shape}", f"shape {m0.shape}")
        lead, valid = m0.shape, _check_mask(m0, m0.shape, where)  # m_n, float64 0/1   (lead)
        m = np.broadcast_to(valid.astype(p.dtype).reshape(lead + (1,) * (p.ndim - m0.ndim)), p.shape)
    n_valid = float(m.sum())
    if n_valid == 0:
        fail(where, "mask", "at least one valid target", "none")
    if sample_weight is not None:
        r, total = _sample_weighed(sample_weight, lead, np.ones(lead) if valid is None else valid, where)
        return weighed_mse(p, y, r, total)
    diff = np.where(m > 0, p - y.astype(p.dtype), 0.0).astype(p.dtype)  # m_e (p_e - y_e)
    loss = float((diff * diff).sum() / n_valid)  # L = Σ m (p - y)² / Σ m
    return loss, (2.0 / n_valid) * diff  # ∂L/∂p = 2 m (p - y) / Σ m


def weighed_mse(p, y, r, total: float) -> tuple[float, np.ndarray]:
    """:func:`mse` of arguments already checked, each target weighed: pred p and target y
    (N...[, K]), r (N...) each target's weight r_n (0 where not valid; p's leading shape) and
    ``total`` Σ r > 0. Each of a target's K elements weighs r_n: L = Σ_e r_e (p_e - y_e)² / Σ_e r_e
    with Σ_e r_e = K Σ r. The Trainer's, with sample weights. Returns ``(L, ∂L/∂p)``."""
    K = p.size // max(r.size, 1)  # elements per target
    re = (r / (total * K)).reshape(r.shape + (1,) * (p.ndim - r.ndim))  # r_e / Σ_e r_e   (N..., 1)
    diff = np.where(re > 0, p - np.asarray(y).astype(p.dtype), 0.0).astype(p.dtype)  # p_e - y_e where weighed
    loss = float((re * diff * diff).sum())  # L = Σ r (p - y)² / Σ r
    return loss, (2.0 * re * diff).astype(p.dtype)  # ∂L/∂p = 2 r (p - y) / Σ r
