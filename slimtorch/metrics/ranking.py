"""Top-k metrics: ``streaming_recall_at_k`` (dense labels, ``in_top_k``)
and the sparse family: precision, recall and mean average precision of the
top ``k`` classes against a row of labels.

Labels are integer tensors ``[D1, ..., DN]`` (one label each) or
``[D1, ..., DN, num_labels]``, read as TF reads a dense tensor: each row is
a set of class ids and *every* id in it is a label. An id no class can
match (``-1``, or one past the classes) therefore counts as a missed label
in recall, changes nothing in precision, and is ignored by
``streaming_sparse_average_precision_at_k`` (which TF cleans of ids past the
classes). Precision and recall are NaN while nothing was counted (TF's
``tp / (tp + fp)``); they and mean average precision are float64, as in TF.

A sparse COO tensor of labels (``torch.sparse_coo_tensor``, TF's
``SparseTensor``) ``[D1, ..., DN, num_labels]`` holds each row's labels in
its stored entries, so rows may have different numbers of labels and no
padding counts; in average precision, a row's number of labels is then its
number of distinct stored ids, as in TF.
"""

from __future__ import annotations

import torch

from ._checks import as_tensor, broadcast_weights
from ._topk import average_precision, check_k, expand_labels, in_top_k, set_counts, top_k_indices
from .base import StreamingMetric, div_no_nan, start
from .mean import Mean

__all__ = ["RecallAtK", "SparseAveragePrecisionAtK", "SparseAveragePrecisionAtTopK",
           "SparsePrecisionAtK", "SparsePrecisionAtTopK", "SparseRecallAtK",
           "SparseRecallAtTopK", "sparse_recall_at_top_k", "streaming_recall_at_k",
           "streaming_sparse_average_precision_at_k",
           "streaming_sparse_average_precision_at_top_k", "streaming_sparse_precision_at_k",
           "streaming_sparse_precision_at_top_k", "streaming_sparse_recall_at_k"]


def _at_k(k=None, class_id=None) -> str:
    """TF's name suffix: ``at_5``, ``at_k``, ``at_5_class3``."""
    return f"at_{'k' if k is None else k}" + ("" if class_id is None else f"_class{class_id}")


def _top_k_ids(metric: str, top_k_predictions) -> torch.Tensor:
    ids = _ids(metric, "top_k_predictions", top_k_predictions)
    if ids.dim() < 2:   # TF: [D1, ..., DN, k] with N >= 1
        raise ValueError(f"{metric}: top_k_predictions must be [D1, ..., DN, k] with N >= 1 "
                         f"(rank 2 or more), got shape {list(ids.shape)}; for one example "
                         f"use [1, k]")
    return ids


def _scores(metric: str, predictions) -> torch.Tensor:
    predictions = as_tensor(metric, "predictions", predictions)
    if predictions.dim() < 1:
        raise ValueError(f"{metric}: predictions must be [D1, ..., DN, num_classes], got a "
                         f"scalar")
    return predictions


def _ids(metric: str, what: str, ids, device=None) -> torch.Tensor:
    ids = as_tensor(metric, what, ids, device=device)
    if ids.dim() < 1:
        raise ValueError(f"{metric}: {what} must be [D1, ..., DN], got a scalar")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"{metric}: {what} must be integer class ids, got {ids.dtype}")
    return ids


class RecallAtK(Mean):
    """The weighted fraction of rows whose label is among the ``k`` best
    scores; classes tied at the boundary all count as in (``tf.nn.in_top_k``).
    Predictions ``[B, num_classes]``, labels ``[B]``."""

    api_name = "streaming_recall_at_k"

    def __init__(self, k, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name or f"recall_{_at_k(k)}", metrics_collections, updates_collections)
        self.k = check_k(self.label, k)

    def _update(self, predictions, labels, weights=None) -> None:
        predictions = _scores(self.label, predictions)
        labels = _ids(self.label, "labels", labels, device=predictions.device)
        if labels.dim() == 2 and labels.shape[-1] == 1:
            labels = labels.squeeze(-1)
        if predictions.dim() != 2 or labels.shape != predictions.shape[:1]:
            raise ValueError(f"{self.label}: expected predictions [batch, num_classes] and "
                             f"labels [batch], got {list(predictions.shape)} and "
                             f"{list(labels.shape)}")
        super()._update(in_top_k(self.label, predictions, labels.long(), self.k), weights)


class _SparseAtK(StreamingMetric):
    """Counts of true positives and of ``missed`` (``'false_positive'`` or
    ``'false_negative'``) over top-k ids and label sets, weighted per row;
    the value is ``tp / (tp + missed)``."""

    kind = ""
    missed = ""

    def __init__(self, k=None, class_id=None, name=None, metrics_collections=None,
                 updates_collections=None):
        super().__init__(name or f"{self.kind}_{_at_k(k, class_id)}", metrics_collections,
                         updates_collections)
        self.k = None if k is None else check_k(self.label, k)
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int)):
            raise ValueError(f"{self.label}: class_id must be None or an integer, "
                             f"got {class_id!r}")
        self.class_id = class_id
        self._keys = {what: f"{what}_{_at_k(k, class_id)}"
                      for what in ("true_positive", self.missed)}
        for key in self._keys.values():
            self.add_state(key, torch.zeros((), dtype=torch.float64))

    def _fold(self, predictions_idx: torch.Tensor, labels, weights) -> None:
        labels = expand_labels(self.label, as_tensor(self.label, "labels", labels,
                                                     device=predictions_idx.device),
                               predictions_idx)
        counts = set_counts(predictions_idx, labels, self.class_id)
        weights = broadcast_weights(self.label, weights, counts["true_positive"])
        for what, key in self._keys.items():
            count = counts[what] if weights is None else counts[what] * weights
            self._accumulate(key, count.sum())

    def _compute(self, states) -> torch.Tensor:
        tp, missed = (states[key] for key in self._keys.values())
        return tp / (tp + missed)   # TF's divide: NaN while nothing was counted


class _SparseAtKFromScores(_SparseAtK):
    """Counts over the ``k`` best-scored classes of ``predictions``."""

    def __init__(self, k, class_id=None, name=None, metrics_collections=None,
                 updates_collections=None):
        super().__init__(k, class_id, name, metrics_collections, updates_collections)

    def _update(self, predictions, labels, weights=None) -> None:
        predictions = _scores(self.label, predictions)
        self._fold(top_k_indices(self.label, predictions, self.k), labels, weights)


class _SparseAtTopK(_SparseAtK):
    """Counts over given top-k class ids ``[..., k]``."""

    def __init__(self, class_id=None, name=None, metrics_collections=None,
                 updates_collections=None):
        super().__init__(None, class_id, name, metrics_collections, updates_collections)

    def _update(self, top_k_predictions, labels, weights=None) -> None:
        self._fold(_top_k_ids(self.label, top_k_predictions), labels, weights)


class SparseRecallAtK(_SparseAtKFromScores):
    """Recall of the ``k`` best-scored classes: |top-k ∩ labels| / |labels|,
    summed over rows (with ``class_id``: over rows labelled with it)."""

    kind, missed = "recall", "false_negative"
    api_name = "streaming_sparse_recall_at_k"


class SparsePrecisionAtK(_SparseAtKFromScores):
    """Precision of the ``k`` best-scored classes: |top-k ∩ labels| / k,
    summed over rows (with ``class_id``: over rows predicting it)."""

    kind, missed = "precision", "false_positive"
    api_name = "streaming_sparse_precision_at_k"


class SparsePrecisionAtTopK(_SparseAtTopK):
    """:class:`SparsePrecisionAtK` from given top-k class ids."""

    kind, missed = "precision", "false_positive"
    api_name = "streaming_sparse_precision_at_top_k"


class SparseRecallAtTopK(_SparseAtTopK):
    """:class:`SparseRecallAtK` from given top-k class ids; note TF's
    argument order ``(labels, top_k_predictions)``."""

    kind, missed = "recall", "false_negative"
    api_name = "sparse_recall_at_top_k"

    def _update(self, labels, top_k_predictions, weights=None) -> None:
        super()._update(top_k_predictions, labels, weights)


class SparseAveragePrecisionAtK(StreamingMetric):
    """Mean over rows of the average precision of the ``k`` best-scored
    classes (see :func:`~slimtorch.metrics._topk.average_precision`).
    States ``total`` (weighted sum) and ``max`` (sum of the weights)."""

    api_name = "streaming_sparse_average_precision_at_k"

    def __init__(self, k=None, name=None, metrics_collections=None, updates_collections=None):
        default = "average_precision_at_top_k" if k is None else f"average_precision_{_at_k(k)}"
        super().__init__(name or default, metrics_collections, updates_collections)
        self.k = None if k is None else check_k(self.label, k)
        self.add_state("max", torch.zeros((), dtype=torch.float64))
        self.add_state("total", torch.zeros((), dtype=torch.float64))

    def _update(self, predictions, labels, weights=None) -> None:
        predictions = _scores(self.label, predictions)
        predictions_idx = top_k_indices(self.label, predictions, self.k)
        labels = expand_labels(self.label, as_tensor(self.label, "labels", labels,
                                                     device=predictions.device), predictions_idx)
        # TF: ids past the classes are not labels (-1) here, unlike in recall.
        ids = torch.where(labels.ids >= predictions.shape[-1], torch.full_like(labels.ids, -1),
                          labels.ids)
        self._fold(predictions_idx, labels._replace(ids=ids), weights)

    def _fold(self, predictions_idx, labels, weights) -> None:
        precision = average_precision(predictions_idx, labels)
        weights = broadcast_weights(self.label, weights, precision)
        if weights is None:
            self._accumulate("total", precision.sum())
            self._accumulate("max", torch.tensor(float(precision.numel()), dtype=torch.float64,
                                                 device=precision.device))
        else:
            self._accumulate("total", (precision * weights).sum())
            self._accumulate("max", weights.sum())

    def _compute(self, states) -> torch.Tensor:
        return div_no_nan(states["total"], states["max"])


class SparseAveragePrecisionAtTopK(SparseAveragePrecisionAtK):
    """:class:`SparseAveragePrecisionAtK` from given top-k class ids
    ``[..., k]`` (labels taken as they are)."""

    api_name = "streaming_sparse_average_precision_at_top_k"

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(None, name, metrics_collections, updates_collections)

    def _update(self, top_k_predictions, labels, weights=None) -> None:
        predictions_idx = _top_k_ids(self.label, top_k_predictions)
        labels = expand_labels(self.label, as_tensor(self.label, "labels", labels,
                                                     device=predictions_idx.device),
                               predictions_idx)
        self._fold(predictions_idx, labels, weights)


def _required_k(api_name: str, k) -> None:
    if k is None:
        raise ValueError(f"{api_name}: k is required")


def streaming_recall_at_k(predictions=None, labels=None, k=None, weights=None,
                          metrics_collections=None, updates_collections=None,
                          name=None) -> RecallAtK:
    """The weighted fraction of rows whose label is in the top ``k`` scores
    (ties at the boundary count as in).

        >>> scores = torch.tensor([[.1, .2, .7], [.6, .2, .2], [0, .9, .1], [.2, 0, .8]])
        >>> recall, _ = slim.metrics.streaming_recall_at_k(scores, torch.tensor([0, 0, 0, 0]), 2)
        >>> recall().item()
        0.5
    """
    _required_k("streaming_recall_at_k", k)
    metric = RecallAtK(k, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_sparse_recall_at_k(predictions=None, labels=None, k=None, class_id=None,
                                 weights=None, metrics_collections=None,
                                 updates_collections=None, name=None) -> SparseRecallAtK:
    """Recall@k against rows of labels (float64; NaN before any label).

        >>> scores = torch.tensor([[.1, .2, .7], [.6, .2, .2], [0, .9, .1], [.2, 0, .8]])
        >>> recall, _ = slim.metrics.streaming_sparse_recall_at_k(
        ...     scores, torch.tensor([[2], [0], [1], [0]]), k=1)
        >>> recall().item()
        0.75

    Rows with different numbers of labels come as a sparse COO tensor (row
    0: labels 2 and 1; row 1: label 0):

        >>> labels = torch.sparse_coo_tensor([[0, 0, 1], [0, 1, 0]], [2, 1, 0], (2, 2),
        ...                                  check_invariants=True)
        >>> slim.metrics.streaming_sparse_recall_at_k(scores[:2], labels, k=1).value().item()
        0.6666666666666666
    """
    _required_k("streaming_sparse_recall_at_k", k)
    metric = SparseRecallAtK(k, class_id, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_sparse_precision_at_k(predictions=None, labels=None, k=None, class_id=None,
                                    weights=None, metrics_collections=None,
                                    updates_collections=None, name=None) -> SparsePrecisionAtK:
    """Precision@k against rows of labels (float64; NaN before any prediction).

        >>> scores = torch.tensor([[.1, .2, .7], [.6, .2, .2], [0, .9, .1], [.2, 0, .8]])
        >>> precision, _ = slim.metrics.streaming_sparse_precision_at_k(
        ...     scores, torch.tensor([[2, 1], [0, 2], [1, 0], [0, 1]]), k=2)
        >>> precision().item()
        0.625
    """
    _required_k("streaming_sparse_precision_at_k", k)
    metric = SparsePrecisionAtK(k, class_id, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_sparse_precision_at_top_k(top_k_predictions=None, labels=None, class_id=None,
                                        weights=None, metrics_collections=None,
                                        updates_collections=None,
                                        name=None) -> SparsePrecisionAtTopK:
    """Precision of given top-k class ids ``[..., k]`` against rows of labels.

        >>> precision, _ = slim.metrics.streaming_sparse_precision_at_top_k(
        ...     torch.tensor([[2, 1], [0, 2]]), torch.tensor([[2], [1]]))
        >>> precision().item()
        0.25
    """
    metric = SparsePrecisionAtTopK(class_id, name, metrics_collections, updates_collections)
    return start(metric, top_k_predictions, labels, weights)


def sparse_recall_at_top_k(labels=None, top_k_predictions=None, class_id=None, weights=None,
                           metrics_collections=None, updates_collections=None,
                           name=None) -> SparseRecallAtTopK:
    """Recall of given top-k class ids; TF-Slim's name and its argument
    order ``(labels, top_k_predictions)``.

        >>> recall, update = slim.metrics.sparse_recall_at_top_k()
        >>> update(torch.tensor([[2, 0], [1, 0]]), torch.tensor([[2, 1], [0, 2]])).item()
        0.5
    """
    metric = SparseRecallAtTopK(class_id, name, metrics_collections, updates_collections)
    return start(metric, labels, top_k_predictions, weights)


def streaming_sparse_average_precision_at_k(predictions=None, labels=None, k=None,
                                            weights=None, metrics_collections=None,
                                            updates_collections=None,
                                            name=None) -> SparseAveragePrecisionAtK:
    """Mean average precision@k against rows of labels (float64).

        >>> scores = torch.tensor([[.1, .7, .2], [.6, .1, .3]])
        >>> mean_ap, _ = slim.metrics.streaming_sparse_average_precision_at_k(
        ...     scores, torch.tensor([[2], [2]]), k=2)
        >>> mean_ap().item()       # row 1: 2 at rank 2 (1/2); row 2: at rank 2 (1/2)
        0.5
    """
    _required_k("streaming_sparse_average_precision_at_k", k)
    metric = SparseAveragePrecisionAtK(k, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_sparse_average_precision_at_top_k(top_k_predictions=None, labels=None,
                                                weights=None, metrics_collections=None,
                                                updates_collections=None,
                                                name=None) -> SparseAveragePrecisionAtTopK:
    """Mean average precision of given top-k class ids ``[..., k]``.

        >>> mean_ap, _ = slim.metrics.streaming_sparse_average_precision_at_top_k(
        ...     torch.tensor([[1, 1], [0, 2]]), torch.tensor([[1, 5], [2, 2]]))
        >>> mean_ap().item()
        0.625
    """
    metric = SparseAveragePrecisionAtTopK(name, metrics_collections, updates_collections)
    return start(metric, top_k_predictions, labels, weights)
