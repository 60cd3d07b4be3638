"""``auc_with_confidence_intervals``: the exact ROC AUC over every score
seen and its asymptotic normal confidence interval, from placement values
(DeLong & DeLong 1988, computed as Sun & Xu 2014 do), with TF-Slim's
formulas and its 1e-7 guards."""

from __future__ import annotations

import collections
from statistics import NormalDist

import torch

from ._checks import align, as_tensor, broadcast_weights
from .auc import ConcatenatedScores
from .base import start
from .outcomes import EPSILON

__all__ = ["AucData", "AucWithConfidenceIntervals", "auc_with_confidence_intervals"]

#: The value: the AUC and the interval's lower and upper ends.
AucData = collections.namedtuple("AucData", ["auc", "lower", "upper"])


class AucWithConfidenceIntervals(ConcatenatedScores):
    """Keeps every score, label and weight (TF's ``concat_preds``,
    ``concat_labels``, ``concat_weights`` variables). A batch whose weights
    sum below 1 is skipped, as in TF. The value is :class:`AucData` of
    float32 scalars, all 0 until both labels have been seen (TF asks that
    of the batch last fed; an eager value has no current batch, so it asks
    it of all the batches kept)."""

    default_name = "auc_with_confidence_intervals"
    api_name = "auc_with_confidence_intervals"

    def __init__(self, alpha=0.95, logit_transformation=True, name=None,
                 metrics_collections=(), updates_collections=()) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"{self.api_name}: alpha must be between 0 and 1; currently "
                             f"{alpha:.02f}")
        self.alpha = float(alpha)
        self.logit_transformation = bool(logit_transformation)
        super().__init__(name, metrics_collections, updates_collections)

    def _update(self, labels, predictions, weights=None) -> None:
        predictions = as_tensor(self.label, "predictions", predictions)
        labels = as_tensor(self.label, "labels", labels, device=predictions.device)
        predictions, labels = align(self.label, predictions, labels)
        weights = broadcast_weights(self.label, weights, predictions)
        if weights is None:
            weights = torch.ones(predictions.shape, dtype=torch.float64, device=predictions.device)
        labels = self._zero_one_labels(labels.reshape(-1))
        if bool(weights.sum() >= 1.0):
            self._append_rows(predictions.reshape(-1), labels, weights.reshape(-1))

    def _compute(self, states) -> AucData:
        scores, labels, weights = self.rows(states)
        if scores is None or not (bool(labels.min() == 0) and bool(labels.max() == 1)):
            zero = torch.zeros((), dtype=torch.float32,
                               device=None if scores is None else scores.device)
            return AucData(zero, zero, zero)
        return AucData(*(v.to(torch.float32) for v in
                         _placement_auc(scores, labels, weights, self.alpha,
                                        self.logit_transformation)))


def _placement_auc(scores, labels, weights, alpha, logit_transformation):
    """TF's ``_compute_placement_auc`` (float64): (auc, lower, upper)."""
    order = torch.argsort(scores, stable=True)
    positive = labels[order].to(torch.float64)
    negative = 1.0 - positive
    weights = weights[order]
    _, segment = torch.unique_consecutive(scores[order], return_inverse=True)
    segments = int(segment.max()) + 1

    def segment_sum(values):
        return torch.zeros(segments, dtype=values.dtype,
                           device=values.device).index_add_(0, segment, values)

    def placements(opposite):   # each label is placed among the other label's weights
        totals = segment_sum(weights * opposite)
        below = totals.cumsum(0) - totals
        return ((below + totals / 2.0) / (totals.sum() + EPSILON))[segment]

    placement = placements(negative) * positive + placements(positive) * negative
    weights_0, weights_1 = weights * negative, weights * positive
    total_0, total_1 = weights_0.sum(), weights_1.sum()
    placement_0, placement_1 = placement * negative, placement * positive
    auc_0 = (weights_0 * (1.0 - placement_0)).sum() / (total_0 + EPSILON)
    auc_1 = (weights_1 * placement_1).sum() / (total_1 + EPSILON)
    auc = torch.where(total_0 < total_1, auc_1, auc_0)
    var_0 = (weights_0 * (1.0 - placement_0 - auc_0) ** 2).sum() / (total_0 - 1.0 + EPSILON)
    var_1 = (weights_1 * (placement_1 - auc_1) ** 2).sum() / (total_1 - 1.0 + EPSILON)
    std_err = torch.sqrt(var_0 / (total_0 + EPSILON) + var_1 / (total_1 + EPSILON))
    z_value = NormalDist().inv_cdf((1.0 - alpha) / 2.0)
    if logit_transformation:
        estimate = torch.log(auc / (1.0 - auc + EPSILON))
        std_err = std_err / (auc * (1.0 - auc + EPSILON))

        def inverse_logit(x):
            return 1.0 / (1.0 + torch.exp(-x) + EPSILON)

        lower = inverse_logit(estimate + z_value * std_err)
        upper = inverse_logit(estimate - z_value * std_err)
    else:
        lower, upper = auc + z_value * std_err, auc - z_value * std_err
    certain = (auc == 1.0) | (auc == 0.0)   # no variance: the interval is the point
    return auc, torch.where(certain, auc, lower), torch.where(certain, auc, upper)


def auc_with_confidence_intervals(labels=None, predictions=None, weights=None, alpha=0.95,
                                  logit_transformation=True, metrics_collections=(),
                                  updates_collections=(),
                                  name=None) -> AucWithConfidenceIntervals:
    """The exact area under the ROC curve over every score seen, with its
    ``alpha`` confidence interval (logit-transformed by default, so it stays
    in [0, 1]). Labels are 0 or 1 and come first. Memory grows with the
    number of scores; a batch whose weights sum below 1 is skipped, and the
    value is all zeros until both labels have been seen.

        >>> value, update = slim.metrics.auc_with_confidence_intervals()
        >>> data = update(torch.tensor([0, 0, 1, 0, 0, 1, 0, 1, 1, 0]),
        ...               torch.tensor([0., .2, .3, .3, .4, .5, .6, .6, .8, 1.]))
        >>> [round(v, 4) for v in (data.auc.item(), data.lower.item(), data.upper.item())]
        [0.6667, 0.2783, 0.9121]
    """
    metric = AucWithConfidenceIntervals(alpha, logit_transformation, name,
                                        metrics_collections, updates_collections)
    return start(metric, labels, predictions, weights)
