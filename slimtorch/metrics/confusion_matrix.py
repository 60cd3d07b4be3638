"""The multi-class confusion matrix as a streaming metric, and the per-class
precision, recall and support that follow from it.

Layout as TF's ``tf.math.confusion_matrix``: rows are labels, columns are
predictions, entry ``[i, j]`` the (weighted) number of examples of class
``i`` predicted as ``j``. The state is TF's ``total_confusion_matrix``
(float64, the variable behind ``streaming_mean_iou``), summed over ranks
under ``torchrun``.

    >>> matrix = slim.metrics.streaming_confusion_matrix(
    ...     predictions=[0, 2, 2, 1], labels=[0, 1, 2, 1], num_classes=3)
    >>> matrix.value().tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    >>> precision, recall, support = slim.metrics.per_class_precision_recall(matrix.value())
    >>> precision.tolist(), recall.tolist(), support.tolist()
    ([1.0, 1.0, 0.5], [1.0, 0.5, 1.0], [1.0, 2.0, 1.0])
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .base import StreamingMetric, div_no_nan, start
from .classes import confusion_counts

__all__ = ["ConfusionMatrix", "PerClass", "per_class_precision_recall",
           "streaming_confusion_matrix"]


class ConfusionMatrix(StreamingMetric):
    """Accumulates ``total_confusion_matrix`` (``[num_classes, num_classes]``,
    float64); the value and what ``update`` returns are that matrix (a copy,
    safe to change)."""

    default_name = "confusion_matrix"
    api_name = "streaming_confusion_matrix"

    def __init__(self, num_classes, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{self.api_name}: num_classes must be an int >= 1, got "
                             f"{num_classes!r}")
        self.num_classes = num_classes
        super().__init__(name, metrics_collections, updates_collections)
        self.add_state("total_confusion_matrix",
                       torch.zeros(num_classes, num_classes, dtype=torch.float64))

    def _update(self, predictions, labels, weights=None) -> None:
        self._accumulate("total_confusion_matrix",
                         confusion_counts(self.label, predictions, labels, self.num_classes,
                                          weights))

    def _compute(self, states) -> torch.Tensor:
        return states["total_confusion_matrix"].clone()


def streaming_confusion_matrix(predictions=None, labels=None, num_classes=None, weights=None,
                               metrics_collections=None, updates_collections=None,
                               name=None) -> ConfusionMatrix:
    """The weighted confusion matrix of class ids (flattened) over all
    batches: entry ``[label, prediction]``, as ``tf.math.confusion_matrix``
    with ``num_classes`` given. Ids are cast to int64 and must lie in
    ``[0, num_classes)`` (a ``ValueError`` names the offending range
    otherwise: TF's assertion). A class never predicted has a zero column;
    one never seen a zero row.

        >>> value, update = slim.metrics.streaming_confusion_matrix(num_classes=3)
        >>> update(torch.tensor([1, 1, 0]), torch.tensor([1, 2, 0])).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
        >>> update(torch.tensor([2]), torch.tensor([2]), weights=torch.tensor([3.0]))[2].tolist()
        [0.0, 1.0, 3.0]
    """
    metric = ConfusionMatrix(num_classes, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


class PerClass(NamedTuple):
    """:func:`per_class_precision_recall`'s result: three ``[num_classes]``
    float64 tensors."""
    precision: torch.Tensor
    recall: torch.Tensor
    support: torch.Tensor


def per_class_precision_recall(confusion_matrix) -> PerClass:
    """Each class's precision (its diagonal entry over its column: of the
    examples predicted as the class, the fraction that are), recall (over
    its row: of the class's examples, the fraction found) and support (its
    row sum: how many examples carry the label), from a ``[label,
    prediction]`` matrix.

    A zero denominator gives 0, as TF's ``div_no_nan`` and scikit-learn's
    ``zero_division`` default: precision 0 for a class never predicted,
    recall 0 for a class without examples (its support, 0, tells the two
    kinds of 0 apart).

        >>> result = per_class_precision_recall(torch.tensor([[2., 0., 0.], [1., 0., 0.],
        ...                                                   [0., 0., 0.]]))
        >>> [t.tolist() for t in result]
        [[0.6666666666666666, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 1.0, 0.0]]

    Raises:
        ValueError: ``confusion_matrix`` is not square.
    """
    matrix = torch.as_tensor(confusion_matrix).to(torch.float64)
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"per_class_precision_recall: expected a square [num_classes, "
                         f"num_classes] confusion matrix, got shape {list(matrix.shape)}")
    correct = matrix.diagonal()
    support = matrix.sum(1)
    return PerClass(div_no_nan(correct, matrix.sum(0)), div_no_nan(correct, support), support)
