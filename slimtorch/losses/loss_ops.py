"""TF-Slim's loss functions (``slim.losses.*``) with TF-Slim's semantics.

Every loss except :func:`hinge_loss` returns a scalar and adds it to the
``LOSSES`` collection through :func:`~slimtorch.losses.add_loss` (so
``arg_scope([slim.losses.add_loss], loss_collection=None)`` switches
collecting off, as in TF-Slim), which :func:`get_total_loss` sums.

**Reduction ("sum by non-zero weights").** The element losses are multiplied
by ``weights`` broadcast *from the left* (a scalar, ``[B]``, ``[B, 1]``, the
loss's leading dimensions, or its full shape), summed, and divided by the
number of elements whose broadcast weight is non-zero; when there are none
the loss is 0 (``div_no_nan``), not NaN.

**Layout.** As in TF, the class dimension of logits and labels is the *last*
one: ``[N, C]``, or ``[N, H, W, C]`` for per-pixel losses. Our networks
output ``NCHW`` maps, so permute them first:
``slim.losses.softmax_cross_entropy(logits.permute(0, 2, 3, 1), onehot)``.

**Precision.** Everything is computed in float32 (also under autocast).
Like TF-Slim, the regression losses (``absolute_difference``,
``mean_squared_error``, ``mean_pairwise_squared_error``, ``log_loss``,
``cosine_distance``) return float32; the logit losses (the cross entropies and
``hinge_loss``) return the logits' dtype, and ``compute_weighted_loss`` the
dtype of its input.

Deliberate differences from TF-Slim: weights with size-1 dimensions (such as
``[1]``) count the elements they broadcast to (TF-Slim counted them once);
``compute_weighted_loss`` on integer losses returns float32 (TF-Slim cast the
mean back to the integer type); softmax label smoothing divides by the last
dimension (TF-Slim used dimension 1, the same for ``[N, C]``); every collected
loss also takes ``loss_collection`` (as ``tf.losses`` does).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..graph import GraphKeys
from .collection import add_loss

__all__ = [
    "absolute_difference",
    "compute_weighted_loss",
    "cosine_distance",
    "hinge_loss",
    "log_loss",
    "mean_pairwise_squared_error",
    "mean_squared_error",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "sum_of_squares",
]

LOSSES = GraphKeys.LOSSES


# -- helpers -------------------------------------------------------------------
def _shape(t: torch.Tensor) -> list:
    return list(t.shape)


def _float32(x, name: str, what: str, device=None) -> torch.Tensor:
    """``x`` as a float32 tensor (on ``device`` if given)."""
    if x is None:
        raise ValueError(f"{name}: {what} are required, got None")
    return torch.as_tensor(x, device=device).to(torch.float32)


def _tensor(x, device=None) -> torch.Tensor:
    return torch.as_tensor(x, device=device)


def _result_dtype(t: torch.Tensor) -> torch.dtype:
    # An integer input would truncate the mean; TF-Slim did that, we do not.
    return t.dtype if t.is_floating_point() else torch.float32


def _check_same_shape(name: str, a: torch.Tensor, b: torch.Tensor, a_name: str, b_name: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name}: {a_name} of shape {_shape(a)} and {b_name} of shape "
                         f"{_shape(b)} must have the same shape")


def _pair(name: str, predictions, labels, a_name="predictions", b_name="labels"):
    """float32 ``predictions`` and ``labels`` of the same shape, on one device."""
    predictions = _float32(predictions, name, a_name)
    labels = _float32(labels, name, b_name, device=predictions.device)
    _check_same_shape(name, predictions, labels, a_name, b_name)
    return predictions, labels


def _align_weights(name: str, weights, losses: torch.Tensor) -> torch.Tensor:
    """float32 ``weights`` reshaped to broadcast against ``losses`` from the left.

    Accepted: a scalar, or a shape matching the leading dimensions of
    ``losses`` (size 1 broadcasts), optionally with one extra trailing 1
    (``[B, 1]`` for ``[B]`` losses), as TF-Slim squeezes it.
    """
    if weights is None:
        raise ValueError(f"{name}: weights must not be None (use 1.0 for an unweighted loss)")
    weights = _float32(weights, name, "weights", device=losses.device)
    if weights.dim() > 1 and weights.shape[-1] == 1:
        weights = weights.squeeze(-1)
    lead = losses.shape[:weights.dim()]
    if weights.dim() > losses.dim() or any(w not in (1, s) for w, s in zip(weights.shape, lead)):
        s = _shape(losses)
        examples = [f"[{s[0]}]", f"[{s[0]}, 1]"] if s else []
        if len(s) > 1:
            examples.append(str(s))
        raise ValueError(f"{name}: weights of shape {_shape(weights)} do not fit the losses of "
                         f"shape {s}; expected a scalar or a shape matching the losses' leading "
                         f"dimensions ({', '.join(examples) or 'a scalar only'})")
    return weights.reshape(weights.shape + (1,) * (losses.dim() - weights.dim()))


def _div_no_nan(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    # clamp keeps the unused branch finite, so gradients stay finite too.
    return torch.where(count > 0, total / count.clamp_min(1.0), torch.zeros_like(total))


def _collect(loss: torch.Tensor, loss_collection: Optional[str], name: Optional[str] = None) -> torch.Tensor:
    # The default goes through add_loss's arg_scope (TF-Slim's way to switch
    # collecting off); only an explicit other collection overrides it.
    if loss_collection == LOSSES:
        add_loss(loss, name=name)
    else:
        add_loss(loss, loss_collection=loss_collection, name=name)
    return loss


def _weighted_loss(name: str, losses: torch.Tensor, weights, dtype: torch.dtype,
                   loss_collection: Optional[str], scope: Optional[str] = None) -> torch.Tensor:
    """The sum-by-non-zero-weights mean of float32 ``losses``, cast and collected."""
    w = _align_weights(name, weights, losses)
    total = (losses * w).sum()
    num_present = (w != 0).expand(losses.shape).sum(dtype=torch.float32)
    return _collect(_div_no_nan(total, num_present).to(dtype), loss_collection, scope or name)


# -- public losses -------------------------------------------------------------
def compute_weighted_loss(losses, weights=1.0, scope: Optional[str] = None,
                          loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """The weighted mean of ``losses``: sum of weighted losses / number of
    non-zero weights (0 when every weight is zero).

    Args:
        losses: element losses ``[B, d1, ..., dN]``.
        weights: a scalar, ``[B]``, ``[B, 1]``, ``[B, d1, ..., dK]`` or the full
            shape; broadcast from the left.
        scope: the loss's name in summaries (default: the function's).
        loss_collection: the collection the result is added to (None: none).

    Returns:
        A scalar of ``losses``' floating dtype.

    Raises:
        ValueError: ``weights`` is None or does not fit ``losses``.

    Example:
        >>> slim.losses.compute_weighted_loss(torch.tensor([[1., 2.], [3., 4.]]),
        ...                                   weights=torch.tensor([[1.], [0.]])).item()
        1.5
    """
    losses = _tensor(losses)
    dtype = _result_dtype(losses)
    return _weighted_loss("compute_weighted_loss", losses.to(torch.float32), weights, dtype,
                          loss_collection, scope)


def absolute_difference(predictions, labels=None, weights=1.0, scope: Optional[str] = None,
                        loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of ``|predictions - labels|``.

    Args:
        predictions: the predicted values.
        labels: the targets, same shape as ``predictions``.
        weights: a scalar, ``[B]``, ``[B, 1]`` or ``predictions``' shape.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: shapes differ, or ``weights`` is None or does not fit.

    Example:
        >>> p = torch.tensor([[4., 8., 12.], [8., 1., 3.]])
        >>> l = torch.tensor([[1., 9., 2.], [-5., -2., 6.]])
        >>> slim.losses.absolute_difference(p, l).item()
        5.5
    """
    name = "absolute_difference"
    predictions, labels = _pair(name, predictions, labels)
    return _weighted_loss(name, (predictions - labels).abs(), weights, torch.float32,
                          loss_collection, scope)


def mean_squared_error(predictions, labels=None, weights=1.0, scope: Optional[str] = None,
                       loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of ``(predictions - labels)²`` (``sum_of_squares`` is an alias).

    Args:
        predictions: the predicted values.
        labels: the targets, same shape as ``predictions``.
        weights: a scalar, ``[B]``, ``[B, 1]`` or ``predictions``' shape.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: shapes differ, or ``weights`` is None or does not fit.

    Example:
        >>> p = torch.tensor([[4., 8., 12.], [8., 1., 3.]])
        >>> l = torch.tensor([[1., 9., 2.], [-5., -2., 6.]])
        >>> slim.losses.mean_squared_error(p, l).item()
        49.5
    """
    name = "mean_squared_error"
    predictions, labels = _pair(name, predictions, labels)
    return _weighted_loss(name, (predictions - labels).square(), weights, torch.float32,
                          loss_collection, scope)


sum_of_squares = mean_squared_error  # contrib's (deprecated) name


def mean_pairwise_squared_error(predictions, labels=None, weights=1.0, scope: Optional[str] = None,
                                loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Squared differences between *pairs* of errors inside each sample.

    For each sample with errors ``d = predictions - labels`` over its ``n``
    elements: ``2·Σd²/n − 2·(Σd)²/n²``; these are weighted and **summed** over
    the batch (TF-Slim does not average over samples).

    Args:
        predictions: ``[B, d1, ..., dN]``.
        labels: same shape as ``predictions``.
        weights: per sample: a scalar, ``[B]`` or ``[B, 1]``.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: shapes differ, or ``weights`` is None or not per sample.

    Example:
        >>> p = torch.tensor([[4., 8., 12.], [8., 1., 3.]])
        >>> l = torch.tensor([[1., 9., 2.], [-5., -2., 6.]])
        >>> round(slim.losses.mean_pairwise_squared_error(p, l).item(), 3)
        128.444
    """
    name = "mean_pairwise_squared_error"
    predictions, labels = _pair(name, predictions, labels)
    if predictions.dim() == 0:
        raise ValueError(f"{name}: predictions must have a batch dimension, got a scalar")
    diffs = (predictions - labels).reshape(predictions.shape[0], -1)
    # 2·Σd²/n − 2·(Σd)²/n² is twice the variance of d; centring first avoids
    # the cancellation of the two large terms.
    if diffs.shape[1] == 0:
        per_sample = diffs.new_zeros(diffs.shape[0])
    else:
        per_sample = 2.0 * (diffs - diffs.mean(1, keepdim=True)).square().mean(1)
    w = _align_weights(name, weights, per_sample)
    # A sample whose weight is zero has no element present (n = 0), so TF's
    # div_no_nan makes its term 0 even when its errors are not finite.
    per_sample = torch.where(w != 0, per_sample, torch.zeros_like(per_sample))
    loss = (per_sample * w).sum()
    return _collect(loss, loss_collection, scope or name)


def log_loss(predictions, labels=None, weights=1.0, epsilon: float = 1e-7,
             scope: Optional[str] = None, loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of ``−l·log(p+ε) − (1−l)·log(1−p+ε)``.

    Args:
        predictions: probabilities in [0, 1].
        labels: targets in [0, 1], same shape as ``predictions``.
        weights: a scalar, ``[B]``, ``[B, 1]`` or ``predictions``' shape.
        epsilon: added inside the logarithms to avoid log(0).
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: shapes differ, or ``weights`` is None or does not fit.

    Example:
        >>> p = torch.tensor([[.9, .2, .2], [.8, .4, .6]])
        >>> l = torch.tensor([[1., 0., 1.], [1., 0., 0.]])
        >>> round(slim.losses.log_loss(p, l).item(), 5)
        0.59803
    """
    name = "log_loss"
    p, y = _pair(name, predictions, labels)
    losses = -y * torch.log(p + epsilon) - (1 - y) * torch.log(1 - p + epsilon)
    return _weighted_loss(name, losses, weights, torch.float32, loss_collection, scope)


def hinge_loss(logits, labels=None, scope: Optional[str] = None) -> torch.Tensor:
    """Element-wise hinge loss ``relu(1 − (2l−1)·logits)``; **not** reduced and
    **not** added to the ``LOSSES`` collection (as in TF-Slim).

    Args:
        logits: unbounded scores, > 0 meaning the positive class.
        labels: 0/1 targets, same shape as ``logits``.
        scope: accepted for TF-Slim compatibility.

    Returns:
        A tensor of ``logits``' shape and floating dtype.

    Raises:
        ValueError: shapes differ.

    Example:
        >>> slim.losses.hinge_loss(torch.tensor([[-0.7, -1.4, 1.4, 0.6]]),
        ...                        torch.tensor([[0., 0., 1., 1.]]))
        tensor([[0.3000, 0.0000, 0.0000, 0.4000]])
    """
    logits = _tensor(logits)
    dtype = _result_dtype(logits)
    x, y = _pair("hinge_loss", logits, labels, "logits", "labels")
    return torch.relu(1 - (2 * y - 1) * x).to(dtype)


def cosine_distance(predictions, labels=None, axis: Optional[int] = None, weights=1.0,
                    scope: Optional[str] = None, dim: Optional[int] = None,
                    loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of ``1 − Σ_axis(predictions · labels)``.

    Both inputs are assumed unit-normalized along ``axis``.

    Args:
        predictions: any shape.
        labels: same shape as ``predictions``.
        axis: the dimension the cosine is taken along (required).
        weights: a scalar, or a shape matching the leading dimensions of the
            losses, which have ``predictions``' shape without ``axis``.
        scope: accepted for TF-Slim compatibility.
        dim: deprecated name of ``axis``.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A float32 scalar.

    Raises:
        ValueError: no ``axis`` (or both ``axis`` and ``dim``), an ``axis`` out
            of range, shapes differ, or ``weights`` is None or does not fit.

    Example:
        >>> p = torch.tensor([[0., 0., 1.], [1., 0., 0.]])
        >>> l = torch.tensor([[0., 0., 1.], [0., 1., 0.]])
        >>> slim.losses.cosine_distance(p, l, axis=1).item()
        0.5
    """
    name = "cosine_distance"
    if axis is not None and dim is not None and axis != dim:
        raise ValueError(f"{name}: cannot specify both 'axis' and 'dim' (deprecated)")
    axis = axis if axis is not None else dim
    if axis is None:
        raise ValueError(f"{name}: you must specify 'axis'")
    predictions, labels = _pair(name, predictions, labels)
    if not -predictions.dim() <= axis < predictions.dim():
        raise ValueError(f"{name}: axis {axis} is out of range for predictions of shape "
                         f"{_shape(predictions)}")
    losses = 1 - (predictions * labels).sum(axis)
    return _weighted_loss(name, losses, weights, torch.float32, loss_collection, scope)


def sigmoid_cross_entropy(logits, multi_class_labels, weights=1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None,
                          loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of the element-wise sigmoid cross entropy.

    With ``label_smoothing`` > 0 the labels move toward ½:
    ``l·(1 − label_smoothing) + 0.5·label_smoothing``.

    Args:
        logits: ``[B, C]`` (or any shape).
        multi_class_labels: targets in [0, 1], same shape as ``logits``.
        weights: a scalar, ``[B]``, ``[B, 1]`` or ``logits``' shape.
        label_smoothing: how much to smooth the labels.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A scalar of ``logits``' floating dtype.

    Raises:
        ValueError: shapes differ, or ``weights`` is None or does not fit.

    Example:
        >>> logits = torch.tensor([[100., -100., -100.]])
        >>> round(slim.losses.sigmoid_cross_entropy(logits, torch.tensor([[1., 0., 1.]])).item(), 3)
        33.333
    """
    name = "sigmoid_cross_entropy"
    dtype = _result_dtype(_tensor(logits))
    logits, labels = _pair(name, logits, multi_class_labels, "logits", "multi_class_labels")
    if label_smoothing > 0:
        labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
    losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    return _weighted_loss(name, losses, weights, dtype, loss_collection, scope)


def softmax_cross_entropy(logits, onehot_labels, weights=1.0, label_smoothing: float = 0,
                          scope: Optional[str] = None,
                          loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of the softmax cross entropy over the last dimension.

    With ``label_smoothing`` > 0 the labels move toward uniform:
    ``l·(1 − label_smoothing) + label_smoothing / num_classes``.

    Args:
        logits: ``[B, C]`` (or ``[B, ..., C]``: classes last, as in TF; permute
            ``NCHW`` maps to ``NHWC`` first).
        onehot_labels: one-hot (or soft) labels, same shape as ``logits``.
        weights: one per sample: a scalar, ``[B]`` or ``[B, 1]`` (for
            ``[B, ..., C]`` logits, also the leading dimensions up to ``C``).
        label_smoothing: how much to smooth the labels.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A scalar of ``logits``' floating dtype.

    Raises:
        ValueError: shapes differ, logits have fewer than 2 dimensions, or
            ``weights`` is None or does not fit (per-class weights of
            ``logits``' full shape are rejected, as in TF-Slim).

    Example:
        >>> logits = torch.tensor([[100., -100., -100.]])
        >>> onehot = torch.tensor([[1., 0., 0.]])
        >>> round(slim.losses.softmax_cross_entropy(logits, onehot, label_smoothing=0.1).item(), 3)
        13.333
    """
    name = "softmax_cross_entropy"
    dtype = _result_dtype(_tensor(logits))
    logits, labels = _pair(name, logits, onehot_labels, "logits", "onehot_labels")
    if logits.dim() < 2:
        raise ValueError(f"{name}: logits must be [batch_size, num_classes], got shape "
                         f"{_shape(logits)}")
    if label_smoothing > 0:
        labels = labels * (1 - label_smoothing) + label_smoothing / logits.shape[-1]
    # log_softmax is the stable form of log(softmax); F.cross_entropy would
    # need the classes in dimension 1.
    losses = -(labels * F.log_softmax(logits, dim=-1)).sum(-1)
    return _weighted_loss(name, losses, weights, dtype, loss_collection, scope)


def sparse_softmax_cross_entropy(logits, labels, weights=1.0, scope: Optional[str] = None,
                                 loss_collection: Optional[str] = LOSSES) -> torch.Tensor:
    """Weighted mean of the softmax cross entropy with integer class ids.

    Args:
        logits: ``[B, C]`` (flatten per-pixel maps: ``logits.permute(0, 2, 3,
            1).reshape(-1, C)`` and ``labels.reshape(-1)``).
        labels: integer class ids in ``[0, C)``, ``[B]`` or ``[B, 1]``.
        weights: one per sample: a scalar, ``[B]`` or ``[B, 1]``.
        scope: accepted for TF-Slim compatibility.
        loss_collection: where the loss is added (None: not collected).

    Returns:
        A scalar of ``logits``' floating dtype.

    Raises:
        ValueError: logits are not 2-D; labels are not integers, not ``[B]`` or
            ``[B, 1]``, or (on the CPU) out of range; ``weights`` is None or
            does not fit.

    Example:
        >>> loss = slim.losses.sparse_softmax_cross_entropy(10 * torch.eye(3), torch.tensor([2, 0, 1]))
        >>> round(loss.item(), 3)
        10.0
    """
    name = "sparse_softmax_cross_entropy"
    logits = _tensor(logits)
    dtype = _result_dtype(logits)
    logits = logits.to(torch.float32)
    labels = _tensor(labels)
    if logits.dim() != 2:
        raise ValueError(f"{name}: logits must be [batch_size, num_classes], got shape "
                         f"{_shape(logits)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name}: labels must be integer class ids (int32 or int64), got "
                         f"{labels.dtype}")
    batch, classes = logits.shape
    if _shape(labels) not in ([batch], [batch, 1]):
        raise ValueError(f"{name}: labels must have shape [{batch}] or [{batch}, 1] for logits of "
                         f"shape {_shape(logits)}, got {_shape(labels)}")
    # Checking the range of GPU labels would synchronize; there gather asserts.
    on_cpu = labels.device.type == "cpu" and labels.numel() > 0
    if on_cpu and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{name}: labels must be class ids in [0, {classes}), got values in "
                         f"[{labels.min().item()}, {labels.max().item()}]")
    labels = labels.reshape(batch).to(device=logits.device, dtype=torch.long)
    # gather, not F.cross_entropy: its ignore_index would silently zero label -100.
    losses = -F.log_softmax(logits, dim=-1).gather(1, labels[:, None]).squeeze(1)
    return _weighted_loss(name, losses, weights, dtype, loss_collection, scope)
