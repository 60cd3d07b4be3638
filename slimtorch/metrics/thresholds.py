"""The ``_at_thresholds`` metrics: one value per threshold, a prediction
counting as positive where ``score > threshold``; and TF's evenly spaced
threshold grid that the curve metrics (AUC, F1, sensitivity/specificity)
share."""

from __future__ import annotations

from typing import List

from .base import start
from .confusion import (FalseNegativeRate, FalseNegatives, FalsePositiveRate, FalsePositives,
                        Precision, Recall, TrueNegatives, TruePositives)
from .outcomes import EPSILON

__all__ = ["FalseNegativeRateAtThresholds", "FalseNegativesAtThresholds",
           "FalsePositiveRateAtThresholds", "FalsePositivesAtThresholds",
           "PrecisionAtThresholds", "RecallAtThresholds", "TrueNegativesAtThresholds",
           "TruePositivesAtThresholds", "curve_thresholds",
           "streaming_false_negative_rate_at_thresholds",
           "streaming_false_negatives_at_thresholds",
           "streaming_false_positive_rate_at_thresholds",
           "streaming_false_positives_at_thresholds", "streaming_precision_at_thresholds",
           "streaming_recall_at_thresholds", "streaming_true_negatives_at_thresholds",
           "streaming_true_positives_at_thresholds"]


def curve_thresholds(num_thresholds: int, last: float = 1.0 + EPSILON) -> List[float]:
    """TF's grid: ``-1e-7``, then ``i / (num_thresholds - 1)`` for ``i = 1 ..
    num_thresholds - 2``, then ``last`` (``1 + 1e-7``; specificity at
    sensitivity uses ``1 - 1e-7``). The outer two catch scores of exactly 0 and 1.

        >>> curve_thresholds(5)
        [-1e-07, 0.25, 0.5, 0.75, 1.0000001]
    """
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - EPSILON] + inner + [last]


# At thresholds, TF (unlike the binary metrics) checks that scores lie in
# [0, 1] for precision, recall and the rates, but not for the plain counts.

class TruePositivesAtThresholds(TruePositives):
    api_name = "streaming_true_positives_at_thresholds"


class FalseNegativesAtThresholds(FalseNegatives):
    api_name = "streaming_false_negatives_at_thresholds"


class TrueNegativesAtThresholds(TrueNegatives):
    api_name = "streaming_true_negatives_at_thresholds"


class FalsePositivesAtThresholds(FalsePositives):
    api_name = "streaming_false_positives_at_thresholds"


class PrecisionAtThresholds(Precision):
    default_name = "precision_at_thresholds"
    api_name = "streaming_precision_at_thresholds"
    scores_in_unit_interval = True


class RecallAtThresholds(Recall):
    default_name = "recall_at_thresholds"
    api_name = "streaming_recall_at_thresholds"
    scores_in_unit_interval = True


class FalsePositiveRateAtThresholds(FalsePositiveRate):
    default_name = "false_positive_rate_at_thresholds"
    api_name = "streaming_false_positive_rate_at_thresholds"


class FalseNegativeRateAtThresholds(FalseNegativeRate):
    default_name = "false_negative_rate_at_thresholds"
    api_name = "streaming_false_negative_rate_at_thresholds"


def _required(metric_class, thresholds):
    if thresholds is None:
        raise ValueError(f"{metric_class.api_name}: thresholds is required")
    return thresholds


def streaming_true_positives_at_thresholds(predictions=None, labels=None, thresholds=None,
                                           weights=None) -> TruePositivesAtThresholds:
    """The weight of positive labels whose score is above each threshold.

        >>> p = [[.9, .2, .8, .1], [.2, .9, .7, .6], [.1, .2, .4, .3]]
        >>> l = [[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
        >>> tp = slim.metrics.streaming_true_positives_at_thresholds(p, l, [.15, .5, .85])
        >>> tp.value().tolist()
        [3.0, 1.0, 0.0]
    """
    metric = TruePositivesAtThresholds(_required(TruePositivesAtThresholds, thresholds))
    return start(metric, predictions, labels, weights)


def streaming_false_negatives_at_thresholds(predictions=None, labels=None, thresholds=None,
                                            weights=None) -> FalseNegativesAtThresholds:
    """The weight of positive labels whose score is at most each threshold.

        >>> slim.metrics.streaming_false_negatives_at_thresholds(
        ...     [.2, .6, .9], [1, 1, 0], [.5]).value().tolist()
        [1.0]
    """
    metric = FalseNegativesAtThresholds(_required(FalseNegativesAtThresholds, thresholds))
    return start(metric, predictions, labels, weights)


def streaming_true_negatives_at_thresholds(predictions=None, labels=None, thresholds=None,
                                           weights=None) -> TrueNegativesAtThresholds:
    """The weight of negative labels whose score is at most each threshold.

        >>> slim.metrics.streaming_true_negatives_at_thresholds(
        ...     [.2, .6, .9], [0, 0, 1], [.1, .5]).value().tolist()
        [0.0, 1.0]
    """
    metric = TrueNegativesAtThresholds(_required(TrueNegativesAtThresholds, thresholds))
    return start(metric, predictions, labels, weights)


def streaming_false_positives_at_thresholds(predictions=None, labels=None, thresholds=None,
                                            weights=None) -> FalsePositivesAtThresholds:
    """The weight of negative labels whose score is above each threshold.

        >>> slim.metrics.streaming_false_positives_at_thresholds(
        ...     [.2, .6, .9], [0, 0, 1], [.1, .5]).value().tolist()
        [2.0, 1.0]
    """
    metric = FalsePositivesAtThresholds(_required(FalsePositivesAtThresholds, thresholds))
    return start(metric, predictions, labels, weights)


def streaming_precision_at_thresholds(predictions=None, labels=None, thresholds=None,
                                      weights=None, metrics_collections=None,
                                      updates_collections=None,
                                      name=None) -> PrecisionAtThresholds:
    """Precision at each threshold: ``tp / (1e-7 + tp + fp)``.

        >>> value, update = slim.metrics.streaming_precision_at_thresholds(
        ...     thresholds=[.3, .5, .7])
        >>> precision = update(torch.tensor([.2, .6, .9, .4]), torch.tensor([0, 1, 1, 1]))
        >>> [round(p, 4) for p in precision.tolist()]    # 1e-7 keeps them just below 1
        [1.0, 1.0, 1.0]
    """
    metric = PrecisionAtThresholds(_required(PrecisionAtThresholds, thresholds), name,
                                   metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_recall_at_thresholds(predictions=None, labels=None, thresholds=None,
                                   weights=None, metrics_collections=None,
                                   updates_collections=None, name=None) -> RecallAtThresholds:
    """Recall at each threshold: ``tp / (1e-7 + tp + fn)``.

        >>> recall = slim.metrics.streaming_recall_at_thresholds(
        ...     [.2, .6, .9, .4], [0, 1, 1, 1], [.3, .5, .7]).value()
        >>> [round(r, 4) for r in recall.tolist()]
        [1.0, 0.6667, 0.3333]
    """
    metric = RecallAtThresholds(_required(RecallAtThresholds, thresholds), name,
                                metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_false_positive_rate_at_thresholds(
        predictions=None, labels=None, thresholds=None, weights=None, metrics_collections=None,
        updates_collections=None, name=None) -> FalsePositiveRateAtThresholds:
    """The false positive rate at each threshold: ``fp / (1e-7 + fp + tn)``.

        >>> fpr = slim.metrics.streaming_false_positive_rate_at_thresholds(
        ...     [.2, .6, .9, .4], [0, 0, 1, 0], [.3, .5]).value()
        >>> [round(r, 4) for r in fpr.tolist()]
        [0.6667, 0.3333]
    """
    metric = FalsePositiveRateAtThresholds(_required(FalsePositiveRateAtThresholds, thresholds),
                                           name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_false_negative_rate_at_thresholds(
        predictions=None, labels=None, thresholds=None, weights=None, metrics_collections=None,
        updates_collections=None, name=None) -> FalseNegativeRateAtThresholds:
    """The false negative rate at each threshold: ``fn / (1e-7 + fn + tp)``.

        >>> fnr = slim.metrics.streaming_false_negative_rate_at_thresholds(
        ...     [.2, .6, .9, .4], [1, 1, 1, 0], [.3, .7]).value()
        >>> [round(r, 4) for r in fnr.tolist()]
        [0.3333, 0.6667]
    """
    metric = FalseNegativeRateAtThresholds(_required(FalseNegativeRateAtThresholds, thresholds),
                                           name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)
