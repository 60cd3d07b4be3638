"""The state behind every confusion-based metric: the weighted counts of
true positives, false negatives, true negatives and false positives, either
of a binary prediction (TF casts it to bool) or of a score above each of
several thresholds (``score > threshold``, in float32 like TF).

Subclasses only say which counts they keep and how the value follows from
them; precision, recall and the rates are all ``a / (a + b)``.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import torch

from ._checks import align, as_tensor, broadcast_weights
from .base import StreamingMetric, div_no_nan

__all__ = ["EPSILON", "OUTCOMES", "OutcomeCount", "Outcomes", "Rate", "check_unit_interval",
           "count_above", "count_binary", "flat_inputs"]

#: The four counts, in the order TF's ``_confusion_matrix_at_thresholds`` makes them.
OUTCOMES = ("true_positives", "false_negatives", "true_negatives", "false_positives")
EPSILON = 1e-7   # TF's guard against 0/0 in the threshold metrics (tf_slim's _EPSILON)


def flat_inputs(metric: str, predictions, labels, weights=None
                ) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """Predictions, labels and weights (or None) as 1-D tensors of one
    length, by TF's ``_remove_squeezable_dimensions`` and weight rules.

        >>> p, l, w = flat_inputs('m', torch.zeros(2, 3), torch.ones(2, 3, 1), [1.0, 2.0])
        >>> p.shape, l.shape, w.tolist()
        (torch.Size([6]), torch.Size([6]), [1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
    """
    predictions = as_tensor(metric, "predictions", predictions)
    labels = as_tensor(metric, "labels", labels, device=predictions.device)
    predictions, labels = align(metric, predictions, labels)
    if weights is not None:
        # broadcast_weights also gives [B] weights on [B, C] values one weight per row (TF).
        weights = broadcast_weights(metric, weights, predictions).reshape(-1)
    return predictions.reshape(-1), labels.reshape(-1), weights


def check_unit_interval(metric: str, scores: torch.Tensor) -> None:
    """TF asserts scores lie in [0, 1] for its score metrics (NaN fails too)."""
    if scores.numel() and not bool(((scores >= 0) & (scores <= 1)).all()):
        raise ValueError(f"{metric}: predictions must be in [0, 1] (got values from "
                         f"{scores.min().item()} to {scores.max().item()})")


def count_binary(predicted: torch.Tensor, positive: torch.Tensor,
                 weights: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The four weighted counts of boolean predictions against boolean labels.

        >>> c = count_binary(torch.tensor([True, True, False]),
        ...                  torch.tensor([True, False, False]), None)
        >>> [c[k].item() for k in OUTCOMES]
        [1.0, 0.0, 1.0, 1.0]
    """
    def total(mask):
        return mask.sum(dtype=torch.float64) if weights is None else (weights * mask).sum()

    return {"true_positives": total(predicted & positive),
            "false_negatives": total(~predicted & positive),
            "true_negatives": total(~predicted & ~positive),
            "false_positives": total(predicted & ~positive)}


def count_above(scores: torch.Tensor, positive: torch.Tensor, weights: Optional[torch.Tensor],
                thresholds: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The four weighted counts at each threshold, a prediction being
    positive where ``score > threshold`` (TF's rule; NaN is negative).

    TF compares a [thresholds, scores] matrix; each score is instead put in
    the bucket between two sorted thresholds and the buckets summed, so
    memory is O(scores + thresholds) (segmentation maps times 200
    thresholds do not fit otherwise). The sums are the same.

        >>> c = count_above(torch.tensor([0.2, 0.6, 0.9]), torch.tensor([False, True, True]),
        ...                 None, torch.tensor([0.5, 0.1, 0.95]))
        >>> c['true_positives'].tolist(), c['false_positives'].tolist()
        ([2.0, 2.0, 0.0], [0.0, 1.0, 0.0])
    """
    thresholds = thresholds.to(device=scores.device, dtype=torch.float32)
    ordered, order = torch.sort(thresholds)
    # bucket = how many thresholds lie strictly below the score
    bucket = torch.searchsorted(ordered, scores.to(torch.float32).contiguous())
    bucket = torch.where(torch.isnan(scores), torch.zeros_like(bucket), bucket)
    if weights is None:
        weights = torch.ones(scores.shape, dtype=torch.float64, device=scores.device)
    n = len(thresholds)

    def histogram(mask):
        zeros = torch.zeros(n + 1, dtype=torch.float64, device=scores.device)
        return zeros.index_add_(0, bucket, torch.where(mask, weights, torch.zeros_like(weights)))

    def above(hist):   # weight in buckets past threshold j, for sorted j
        return _unsort(hist.flip(0).cumsum(0).flip(0)[1:], order)

    def at_most(hist):
        return _unsort(hist.cumsum(0)[:-1], order)

    pos, neg = histogram(positive), histogram(~positive)
    return {"true_positives": above(pos), "false_negatives": at_most(pos),
            "true_negatives": at_most(neg), "false_positives": above(neg)}


def _unsort(values: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(values)
    out[order] = values
    return out


def _thresholds_tensor(metric: str, thresholds: Sequence[float]) -> torch.Tensor:
    try:
        tensor = torch.as_tensor(thresholds, dtype=torch.float32).detach().cpu()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{metric}: thresholds must be a list of numbers, got "
                         f"{thresholds!r}") from err
    if tensor.dim() != 1 or tensor.numel() == 0 or not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{metric}: thresholds must be a non-empty 1-D list of finite "
                         f"numbers, got {thresholds!r}")
    return tensor


class Outcomes(StreamingMetric):
    """Keeps the counts named in ``outcomes`` (in TF's creation order):
    scalars for binary predictions (``thresholds=None``), else one per
    threshold. The states carry TF's variable names: a binary count is a
    ``tf.metrics.true_positives`` of its own (``true_positives/count``), a
    count at thresholds is one variable (``true_positives``)."""

    outcomes: Tuple[str, ...] = OUTCOMES
    scores_in_unit_interval = False   # TF asserts [0, 1] scores in its tf.metrics versions

    def __init__(self, thresholds=None, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        super().__init__(name, metrics_collections, updates_collections)
        self.thresholds = None if thresholds is None else _thresholds_tensor(self.label,
                                                                            thresholds)
        shape = () if thresholds is None else (len(self.thresholds),)
        for outcome in self.outcomes:
            self.add_state(self._state_key(outcome), torch.zeros(shape, dtype=torch.float64))

    def _state_key(self, outcome: str) -> str:
        return f"{outcome}/count" if self.thresholds is None else outcome

    def counts(self, states) -> Dict[str, torch.Tensor]:
        """The counts in ``states`` by outcome (``true_positives``, ...)."""
        return {outcome: states[self._state_key(outcome)] for outcome in self.outcomes}

    def _update(self, predictions, labels, weights=None) -> None:
        predictions, labels, weights = flat_inputs(self.label, predictions, labels, weights)
        positive = labels.bool()
        if self.thresholds is None:
            counts = count_binary(predictions.bool(), positive, weights)
        else:
            scores = predictions.to(torch.float32)
            if self.scores_in_unit_interval:
                check_unit_interval(self.label, scores)
            counts = count_above(scores, positive, weights, self.thresholds)
        for outcome in self.outcomes:
            self._accumulate(self._state_key(outcome), counts[outcome])


class OutcomeCount(Outcomes):
    """The value is one count (``outcomes`` names it), as float32 like TF.
    TF names its variable ``count`` in the metric's scope for binary
    predictions, and the metric itself at thresholds (no scope there)."""

    def _state_key(self, outcome: str) -> str:
        return "count" if self.thresholds is None else ""

    def _compute(self, states) -> torch.Tensor:
        return states[self._state_key(self.outcomes[0])].to(torch.float32)


class Rate(Outcomes):
    """``numerator / (numerator + rest)``: 0 when both are 0 for binary
    predictions; at thresholds TF adds 1e-7 to the denominator instead."""

    numerator = "true_positives"
    rest = "false_positives"

    @property
    def outcomes(self) -> Tuple[str, ...]:
        if self.thresholds is None:   # TF makes the numerator's count first
            return (self.numerator, self.rest)
        return tuple(o for o in OUTCOMES if o in (self.numerator, self.rest))

    def _compute(self, states) -> torch.Tensor:
        counts = self.counts(states)
        numerator, rest = counts[self.numerator], counts[self.rest]
        if self.thresholds is None:
            return div_no_nan(numerator, numerator + rest).to(torch.float32)
        numerator, rest = numerator.to(torch.float32), rest.to(torch.float32)   # TF's dtype
        return numerator / (EPSILON + numerator + rest)
