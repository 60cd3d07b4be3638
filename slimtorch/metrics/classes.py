"""Multi-class metrics over a confusion matrix (rows labels, columns
predictions): ``streaming_mean_iou`` and ``cohen_kappa``."""

from __future__ import annotations

import torch

from .base import StreamingMetric, div_no_nan, start
from .outcomes import flat_inputs

__all__ = ["CohenKappa", "MeanIou", "cohen_kappa", "confusion_counts", "streaming_mean_iou"]


def confusion_counts(metric: str, predictions, labels, num_classes: int,
                     weights=None) -> torch.Tensor:
    """The weighted ``[num_classes, num_classes]`` float64 confusion matrix
    of one batch: entry ``[label, prediction]``. Class ids are cast to
    int64 (as TF does) and must lie in ``[0, num_classes)``.

        >>> confusion_counts('m', [0, 1, 1], [0, 0, 1], 2).tolist()
        [[1.0, 1.0], [0.0, 1.0]]
    """
    predictions, labels, weights = flat_inputs(metric, predictions, labels, weights)
    predictions, labels = predictions.to(torch.int64), labels.to(torch.int64)
    for what, ids in (("labels", labels), ("predictions", predictions)):
        if ids.numel():
            low, high = (int(v) for v in torch.aminmax(ids))   # one pass over the ids
            if low < 0 or high >= num_classes:
                raise ValueError(f"{metric}: {what} must be class ids in [0, {num_classes}) "
                                 f"for num_classes={num_classes}, got values from {low} to "
                                 f"{high}")
    # bincount: integer counts without weights (no float64 ones to allocate).
    cells = torch.bincount(labels * num_classes + predictions, weights=weights,
                           minlength=num_classes * num_classes).to(torch.float64)
    return cells.view(num_classes, num_classes)


def _check_num_classes(api_name: str, num_classes, minimum: int) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or \
            num_classes < minimum:
        raise ValueError(f"{api_name}: num_classes must be an int >= {minimum}, got "
                         f"{num_classes!r}")
    return num_classes


class MeanIou(StreamingMetric):
    """Accumulates ``total_confusion_matrix``. The value is the mean over
    classes that occur (as label or prediction) of ``tp / (tp + fp + fn)``,
    float32; ``update`` returns the accumulated confusion matrix (float64),
    as TF's ``update_op`` does."""

    default_name = "mean_iou"
    api_name = "streaming_mean_iou"

    def __init__(self, num_classes, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        self.num_classes = _check_num_classes(self.api_name, num_classes, 1)
        super().__init__(name, metrics_collections, updates_collections)
        self.add_state("total_confusion_matrix",
                       torch.zeros(num_classes, num_classes, dtype=torch.float64))

    def update(self, predictions, labels, weights=None) -> torch.Tensor:
        """Folds a batch in; returns the accumulated confusion matrix."""
        super().update(predictions, labels, weights)
        return self._local_states()["total_confusion_matrix"].clone()

    def _update(self, predictions, labels, weights=None) -> None:
        self._accumulate("total_confusion_matrix",
                         confusion_counts(self.label, predictions, labels, self.num_classes,
                                          weights))

    def _compute(self, states) -> torch.Tensor:
        matrix = states["total_confusion_matrix"]
        diagonal = matrix.diagonal()
        union = matrix.sum(0) + matrix.sum(1) - diagonal
        present = union > 0
        iou = diagonal / torch.where(present, union, torch.ones_like(union))
        return div_no_nan(iou.sum(), present.sum().to(iou.dtype)).to(torch.float32)


def streaming_mean_iou(predictions=None, labels=None, num_classes=None, weights=None,
                       metrics_collections=None, updates_collections=None,
                       name=None) -> MeanIou:
    """Mean intersection-over-union of class ids (flattened), over the
    classes that occur. ``update`` returns the confusion matrix.

        >>> value, update = slim.metrics.streaming_mean_iou(num_classes=2)
        >>> update(torch.tensor([0] * 5 + [1] * 5), torch.tensor([0] * 3 + [1] * 7)).tolist()
        [[3.0, 0.0], [2.0, 5.0]]
        >>> round(value().item(), 5)    # mean(3/5, 5/7)
        0.65714
    """
    metric = MeanIou(num_classes, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


class CohenKappa(StreamingMetric):
    """TF's states: ``po`` (the confusion matrix's diagonal), ``pe_row``
    (its column sums) and ``pe_col`` (its row sums). Float64, as TF's value."""

    default_name = "cohen_kappa"
    api_name = "cohen_kappa"

    def __init__(self, num_classes, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        self.num_classes = _check_num_classes(self.api_name, num_classes, 2)
        super().__init__(name, metrics_collections, updates_collections)
        for key in ("po", "pe_row", "pe_col"):
            self.add_state(key, torch.zeros(num_classes, dtype=torch.float64))

    def _update(self, labels, predictions_idx, weights=None) -> None:
        matrix = confusion_counts(self.label, predictions_idx, labels, self.num_classes, weights)
        self._accumulate("po", matrix.diagonal())
        self._accumulate("pe_row", matrix.sum(0))
        self._accumulate("pe_col", matrix.sum(1))

    def _compute(self, states) -> torch.Tensor:
        observed, rows, cols = states["po"].sum(), states["pe_row"], states["pe_col"]
        total = rows.sum()
        expected = div_no_nan(rows * cols, total).sum()
        return div_no_nan(observed - expected, total - expected)


def cohen_kappa(labels=None, predictions_idx=None, num_classes=None, weights=None,
                metrics_collections=None, updates_collections=None, name=None) -> CohenKappa:
    """Cohen's kappa, ``(p_o - p_e) / (1 - p_e)`` from the weighted
    confusion matrix (unweighted kappa, as sklearn's default). Labels come
    first, as in TF-Slim.

        >>> slim.metrics.cohen_kappa([0, 1, 1, 0], [0, 1, 0, 0], num_classes=2).value().item()
        0.5
    """
    metric = CohenKappa(num_classes, name, metrics_collections, updates_collections)
    return start(metric, labels, predictions_idx, weights)
