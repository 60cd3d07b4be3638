"""Binary confusion metrics (predictions and labels cast to bool, as TF
does): the four counts, precision, recall, the false positive and false
negative rates; and accuracy, streaming and not."""

from __future__ import annotations

import torch

from ._checks import align, as_tensor
from .base import start
from .mean import Mean
from .outcomes import OutcomeCount, Rate, flat_inputs

__all__ = ["Accuracy", "FalseNegativeRate", "FalseNegatives", "FalsePositiveRate",
           "FalsePositives", "Precision", "Recall", "TrueNegatives", "TruePositives",
           "accuracy", "streaming_accuracy", "streaming_false_negative_rate",
           "streaming_false_negatives", "streaming_false_positive_rate",
           "streaming_false_positives", "streaming_precision", "streaming_recall",
           "streaming_true_negatives", "streaming_true_positives"]


class TruePositives(OutcomeCount):
    """Label true, prediction true."""
    default_name = "true_positives"
    api_name = "streaming_true_positives"
    outcomes = ("true_positives",)


class FalseNegatives(OutcomeCount):
    """Label true, prediction false."""
    default_name = "false_negatives"
    api_name = "streaming_false_negatives"
    outcomes = ("false_negatives",)


class TrueNegatives(OutcomeCount):
    """Label false, prediction false."""
    default_name = "true_negatives"
    api_name = "streaming_true_negatives"
    outcomes = ("true_negatives",)


class FalsePositives(OutcomeCount):
    """Label false, prediction true."""
    default_name = "false_positives"
    api_name = "streaming_false_positives"
    outcomes = ("false_positives",)


class Precision(Rate):
    """``tp / (tp + fp)``."""
    default_name = "precision"
    api_name = "streaming_precision"
    numerator, rest = "true_positives", "false_positives"


class Recall(Rate):
    """``tp / (tp + fn)``."""
    default_name = "recall"
    api_name = "streaming_recall"
    numerator, rest = "true_positives", "false_negatives"


class FalsePositiveRate(Rate):
    """``fp / (fp + tn)``."""
    default_name = "false_positive_rate"
    api_name = "streaming_false_positive_rate"
    numerator, rest = "false_positives", "true_negatives"


class FalseNegativeRate(Rate):
    """``fn / (fn + tp)``."""
    default_name = "false_negative_rate"
    api_name = "streaming_false_negative_rate"
    numerator, rest = "false_negatives", "true_positives"


def streaming_true_positives(predictions=None, labels=None, weights=None,
                             metrics_collections=None, updates_collections=None,
                             name=None) -> TruePositives:
    """The summed weight of true positives (``predictions`` and ``labels``
    cast to bool).

        >>> value, update = slim.metrics.streaming_true_positives(
        ...     [[1, 0, 1, 0], [0, 1, 1, 1]], [[0, 1, 1, 0], [1, 0, 0, 0]], weights=37.0)
        >>> value().item()
        37.0
    """
    return start(TruePositives(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_false_negatives(predictions=None, labels=None, weights=None,
                              metrics_collections=None, updates_collections=None,
                              name=None) -> FalseNegatives:
    """The summed weight of false negatives (label true, prediction false).

        >>> slim.metrics.streaming_false_negatives([1, 0, 0], [1, 1, 1]).value().item()
        2.0
    """
    return start(FalseNegatives(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_true_negatives(predictions=None, labels=None, weights=None,
                             metrics_collections=None, updates_collections=None,
                             name=None) -> TrueNegatives:
    """The summed weight of true negatives (both false).

        >>> slim.metrics.streaming_true_negatives([1, 0, 0], [0, 0, 1]).value().item()
        1.0
    """
    return start(TrueNegatives(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_false_positives(predictions=None, labels=None, weights=None,
                              metrics_collections=None, updates_collections=None,
                              name=None) -> FalsePositives:
    """The summed weight of false positives (prediction true, label false).

        >>> slim.metrics.streaming_false_positives([1, 1, 0], [0, 1, 0]).value().item()
        1.0
    """
    return start(FalsePositives(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_precision(predictions=None, labels=None, weights=None,
                        metrics_collections=None, updates_collections=None,
                        name=None) -> Precision:
    """``true_positives / (true_positives + false_positives)``, 0 when
    nothing was predicted positive.

        >>> value, update = slim.metrics.streaming_precision()
        >>> update(torch.tensor([1, 0, 1, 0]), torch.tensor([0, 1, 1, 0])).item()
        0.5
    """
    return start(Precision(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_recall(predictions=None, labels=None, weights=None,
                     metrics_collections=None, updates_collections=None,
                     name=None) -> Recall:
    """``true_positives / (true_positives + false_negatives)``, 0 without
    positive labels.

        >>> slim.metrics.streaming_recall([1, 0, 1, 0], [1, 1, 1, 1]).value().item()
        0.5
    """
    return start(Recall(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_false_positive_rate(predictions=None, labels=None, weights=None,
                                  metrics_collections=None, updates_collections=None,
                                  name=None) -> FalsePositiveRate:
    """``false_positives / (false_positives + true_negatives)``, 0 without
    negative labels.

        >>> slim.metrics.streaming_false_positive_rate([1, 0, 0, 0], [0, 0, 0, 0]).value().item()
        0.25
    """
    return start(FalsePositiveRate(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def streaming_false_negative_rate(predictions=None, labels=None, weights=None,
                                  metrics_collections=None, updates_collections=None,
                                  name=None) -> FalseNegativeRate:
    """``false_negatives / (false_negatives + true_positives)``, 0 without
    positive labels.

        >>> slim.metrics.streaming_false_negative_rate([1, 0, 0, 0], [1, 1, 0, 0]).value().item()
        0.5
    """
    return start(FalseNegativeRate(None, name, metrics_collections, updates_collections),
                 predictions, labels, weights)


class Accuracy(Mean):
    """The weighted mean of ``predictions == labels`` (states ``total`` and
    ``count``, TF's names). Predictions of another dtype are cast to the
    labels' dtype first, as TF does (float 1.7 against int 1 counts as 1)."""

    default_name = "accuracy"
    api_name = "streaming_accuracy"

    def _update(self, predictions, labels, weights=None) -> None:
        predictions, labels, weights = flat_inputs(self.label, predictions, labels, weights)
        super()._update(_is_correct(predictions, labels), weights)


def streaming_accuracy(predictions=None, labels=None, weights=None,
                       metrics_collections=None, updates_collections=None,
                       name=None) -> Accuracy:
    """How often ``predictions`` equals ``labels`` (weighted).

        >>> value, update = slim.metrics.streaming_accuracy()
        >>> update(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4]),
        ...        weights=torch.tensor([1., 1., 2., 0.])).item()
        0.5
    """
    return start(Accuracy(name, metrics_collections, updates_collections),
                 predictions, labels, weights)


def accuracy(predictions, labels, weights=None, name=None) -> torch.Tensor:
    """The fraction of ``predictions`` equal to ``labels`` in one batch (a
    float32 tensor, not a streaming metric). Labels must be integer or
    bool, and of the predictions' dtype, as in TF-Slim's
    ``metrics.classification.accuracy``; weights multiply (plain
    broadcasting) and the result is ``sum(w * correct) / sum(w)``.

        >>> slim.metrics.accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4])).item()
        0.75
    """
    predictions = as_tensor("accuracy", "predictions", predictions)
    labels = as_tensor("accuracy", "labels", labels, device=predictions.device)
    if labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"accuracy: labels should have bool or integer dtype, not {labels.dtype}")
    if labels.dtype != predictions.dtype:
        raise ValueError(f"accuracy: dtypes of predictions and labels should match, got "
                         f"predictions {predictions.dtype} and labels {labels.dtype}")
    predictions, labels = align("accuracy", predictions, labels)
    is_correct = _is_correct(predictions, labels).to(torch.float32)
    if weights is None:
        return is_correct.mean()
    weights = as_tensor("accuracy", "weights", weights, device=predictions.device)
    try:
        torch.broadcast_shapes(weights.shape, is_correct.shape)
    except RuntimeError as err:
        raise ValueError(f"accuracy: weights of shape {list(weights.shape)} do not broadcast to "
                         f"predictions of shape {list(is_correct.shape)}") from err
    weighted = is_correct * weights
    return (weighted.sum() / (weights * torch.ones_like(is_correct)).sum()).to(torch.float32)


def _is_correct(predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if predictions.dtype != labels.dtype:
        predictions = predictions.to(labels.dtype)
    return predictions == labels
