"""``recall_at_precision`` and ``precision_at_recall``: one rate read off
TF's threshold grid at the threshold where the other rate meets a target.
Both keep the four counts at ``num_thresholds`` thresholds (TF's names
``true_positives``, ...) and compute in float32 from them, as TF does, so
ties between thresholds are broken alike."""

from __future__ import annotations

import torch

from .base import start
from .outcomes import EPSILON, Outcomes
from .thresholds import curve_thresholds

__all__ = ["PrecisionAtRecall", "RecallAtPrecision", "precision_at_recall",
           "recall_at_precision"]


def _check_target(api_name: str, what: str, target) -> float:
    if target is None:
        raise ValueError(f"{api_name}: {what} is required")
    if not 0 <= target <= 1:
        raise ValueError(f"{api_name}: `{what}` must be in the range [0, 1], got {target}")
    return float(target)


class _OnGrid(Outcomes):
    """Counts at ``curve_thresholds(num_thresholds)``; labels come first in
    the update, as in TF's signature. Scores are not range-checked (TF does
    not check them here)."""

    def __init__(self, num_thresholds=200, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        # TF accepts 1 (its grid is then the two end thresholds); 0 and below are mistakes
        if not isinstance(num_thresholds, int) or num_thresholds < 1:
            raise ValueError(f"{self.api_name}: num_thresholds must be a positive int, got "
                             f"{num_thresholds!r}")
        super().__init__(curve_thresholds(num_thresholds), name, metrics_collections,
                         updates_collections)

    def _update(self, labels, predictions, weights=None) -> None:
        super()._update(predictions, labels, weights)

    def _float32_counts(self, states):
        return {k: v.to(torch.float32) for k, v in self.counts(states).items()}


class RecallAtPrecision(_OnGrid):
    """Recall at the threshold whose precision is closest to the target
    (``strict_mode``: the smallest precision not below it, else 0)."""

    default_name = "recall_at_precision"
    api_name = "recall_at_precision"

    def __init__(self, precision, num_thresholds=200, name=None, metrics_collections=None,
                 updates_collections=None, strict_mode=False) -> None:
        self.precision = _check_target(self.api_name, "precision", precision)
        self.strict_mode = bool(strict_mode)
        super().__init__(num_thresholds, name, metrics_collections, updates_collections)

    def _compute(self, states) -> torch.Tensor:
        c = self._float32_counts(states)
        tp, fp, fn = c["true_positives"], c["false_positives"], c["false_negatives"]
        precisions = tp / (tp + fp + EPSILON)
        if not self.strict_mode:
            index = torch.argmin((precisions - self.precision).abs())
        else:
            # TF: the largest 1 / (p - target + eps) is the smallest p >= target
            index = torch.argmax(1.0 / (precisions - self.precision + EPSILON))
            if not bool(precisions[index] >= self.precision):
                return torch.zeros((), dtype=torch.float32, device=tp.device)
        return tp[index] / (tp[index] + fn[index] + EPSILON)


class PrecisionAtRecall(_OnGrid):
    """Precision at the largest threshold whose recall is at least the target."""

    default_name = "precision_at_recall"
    api_name = "precision_at_recall"

    def __init__(self, target_recall, num_thresholds=200, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        self.target_recall = _check_target(self.api_name, "target_recall", target_recall)
        super().__init__(num_thresholds, name, metrics_collections, updates_collections)

    def _compute(self, states) -> torch.Tensor:
        c = self._float32_counts(states)
        tp, fp, fn = c["true_positives"], c["false_positives"], c["false_negatives"]
        recalls = tp / (tp + fn + EPSILON)
        # recall falls as the threshold rises; -1 (no threshold reaches the
        # target) reads the last threshold, as TF's index arithmetic does.
        index = int((recalls >= self.target_recall).sum()) - 1
        return (tp[index] + EPSILON) / (tp[index] + fp[index] + EPSILON)


def recall_at_precision(labels=None, predictions=None, precision=None, weights=None,
                        num_thresholds=200, metrics_collections=None, updates_collections=None,
                        name=None, strict_mode=False) -> RecallAtPrecision:
    """The recall at the threshold (of ``num_thresholds`` evenly spaced in
    [0, 1]) whose precision is closest to ``precision``. With
    ``strict_mode``, the recall where precision is the smallest one not
    below ``precision``, or 0 when no threshold reaches it. Labels come
    first, as in TF-Slim.

        >>> value, update = slim.metrics.recall_at_precision(precision=0.8)
        >>> round(update(torch.tensor([1, 1, 1, 1, 0, 0, 0, 1]),
        ...              torch.tensor([1, .9, .8, .7, .6, .5, .4, .3])).item(), 4)
        0.8
    """
    metric = RecallAtPrecision(precision, num_thresholds, name, metrics_collections,
                               updates_collections, strict_mode)
    return start(metric, labels, predictions, weights)


def precision_at_recall(labels=None, predictions=None, target_recall=None, weights=None,
                        num_thresholds=200, metrics_collections=None, updates_collections=None,
                        name=None) -> PrecisionAtRecall:
    """The precision at the largest threshold (of ``num_thresholds`` evenly
    spaced in [0, 1]) whose recall is at least ``target_recall``. Labels
    come first, as in TF-Slim.

        >>> precision = slim.metrics.precision_at_recall(
        ...     [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        ...     [0.1, 0.2, 0.7, 0.3, 0.0, 0.1, 0.45, 0.5, 0.6, 0.9], target_recall=0.4)
        >>> round(precision.value().item(), 4)
        0.6667
    """
    metric = PrecisionAtRecall(target_recall, num_thresholds, name, metrics_collections,
                               updates_collections)
    return start(metric, labels, predictions, weights)
