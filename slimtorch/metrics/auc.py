"""Curve metrics over TF's threshold grid: AUC (ROC or PR, trapezoidal),
the curve's points, specificity at a sensitivity and back, the best F1;
the exact ``streaming_dynamic_auc`` over every score seen; and
``precision_recall_at_equal_thresholds`` (bucketed, O(N + T))."""

from __future__ import annotations

import collections

import torch

from ._checks import as_tensor, broadcast_weights
from .base import StreamingMetric, start
from .outcomes import EPSILON, Outcomes, check_unit_interval, flat_inputs
from .thresholds import curve_thresholds

__all__ = ["Auc", "ConcatenatedScores", "CurvePoints", "DynamicAuc", "F1Score",
           "PrecisionRecallAtEqualThresholds", "PrecisionRecallData", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity",
           "f1_score", "precision_recall_at_equal_thresholds", "streaming_auc",
           "streaming_curve_points", "streaming_dynamic_auc",
           "streaming_sensitivity_at_specificity", "streaming_specificity_at_sensitivity"]

_CURVE_EPSILON = 1e-6   # TF's smoothing of recall, precision and FPR in auc/curve_points


class _OnCurveGrid(Outcomes):
    """Counts at ``curve_thresholds(num_thresholds)``; scores must be in [0, 1]."""

    scores_in_unit_interval = True
    last_threshold = 1.0 + EPSILON
    min_thresholds = 1   # as TF: 1 gives the grid's two end thresholds

    def __init__(self, num_thresholds=200, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        if not isinstance(num_thresholds, int) or num_thresholds < self.min_thresholds:
            raise ValueError(f"{self.api_name}: num_thresholds must be an int >= "
                             f"{self.min_thresholds}, got {num_thresholds!r}")
        super().__init__(curve_thresholds(num_thresholds, self.last_threshold), name,
                         metrics_collections, updates_collections)


def _check_curve(api_name: str, curve: str) -> str:
    if curve not in ("ROC", "PR"):
        raise ValueError(f"{api_name}: curve must be either ROC or PR, {curve!r} unknown")
    return curve


def _curve_xy(states, curve: str):
    """(x, y) per threshold: (FPR, recall) for ROC, (recall, precision) for PR."""
    tp, fn = states["true_positives"], states["false_negatives"]
    tn, fp = states["true_negatives"], states["false_positives"]
    recall = (tp + _CURVE_EPSILON) / (tp + fn + _CURVE_EPSILON)
    if curve == "ROC":
        return fp / (fp + tn + _CURVE_EPSILON), recall
    return recall, (tp + _CURVE_EPSILON) / (tp + fp + _CURVE_EPSILON)


class Auc(_OnCurveGrid):
    """Trapezoidal area under the thresholded ROC or PR curve."""

    default_name = "auc"
    api_name = "streaming_auc"

    def __init__(self, num_thresholds=200, curve="ROC", name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        self.curve = _check_curve(self.api_name, curve)
        super().__init__(num_thresholds, name, metrics_collections, updates_collections)

    def _compute(self, states) -> torch.Tensor:
        x, y = _curve_xy(states, self.curve)
        return ((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2.0).sum().to(torch.float32)


class CurvePoints(Auc):
    """The curve itself: ``[num_thresholds, 2]`` rows of (x, y)."""

    default_name = "curve_points"
    api_name = "streaming_curve_points"

    def _update(self, labels, predictions, weights=None) -> None:   # TF's order here
        super()._update(predictions, labels, weights)

    def _compute(self, states) -> torch.Tensor:
        return torch.stack(_curve_xy(states, self.curve), 1).to(torch.float32)


def streaming_auc(predictions=None, labels=None, weights=None, num_thresholds=200,
                  metrics_collections=None, updates_collections=None, curve="ROC",
                  name=None) -> Auc:
    """The area under the ROC (or PR) curve, by TF's trapezoidal sum over
    ``num_thresholds`` thresholds (so it is TF's approximation, not the
    exact AUC; see :func:`streaming_dynamic_auc` for that).

        >>> p, l = torch.tensor([.1, .4, .35, .8]), torch.tensor([0, 0, 1, 1])
        >>> round(slim.metrics.streaming_auc(p, l).value().item(), 5)
        0.75
        >>> round(slim.metrics.streaming_auc(p, l, curve='PR').value().item(), 5)
        0.79167
    """
    metric = Auc(num_thresholds, curve, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_curve_points(labels=None, predictions=None, weights=None, num_thresholds=200,
                           metrics_collections=None, updates_collections=None, curve="ROC",
                           name=None) -> CurvePoints:
    """The ROC curve's (FPR, recall) or the PR curve's (recall, precision)
    at each of TF's ``num_thresholds`` thresholds. Labels come first here,
    as in TF-Slim.

        >>> points = slim.metrics.streaming_curve_points(
        ...     [0, 0, 1, 1], [.1, .4, .35, .8], num_thresholds=3).value()
        >>> points.shape, [round(v, 3) for v in points[1].tolist()]
        (torch.Size([3, 2]), [0.0, 0.5])
    """
    metric = CurvePoints(num_thresholds, curve, name, metrics_collections, updates_collections)
    return start(metric, labels, predictions, weights)


def _pick_first(distances: torch.Tensor) -> torch.Tensor:
    return torch.argmin(distances)


def _pick_last(distances: torch.Tensor) -> torch.Tensor:
    return len(distances) - 1 - torch.argmin(distances.flip(0))


class _AtTarget(_OnCurveGrid):
    """The rate ``value_of`` at the threshold whose rate ``match`` is
    closest to ``target``. Computed in float32 from the counts, as TF does,
    so that thresholds equally close to the target are chosen alike."""

    match = value_of = ()   # (numerator, rest) pairs, set by the subclasses
    pick = staticmethod(_pick_first)

    def __init__(self, target, num_thresholds=200, name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        if not 0 <= target <= 1:
            raise ValueError(f"{self.api_name}: the target rate must be in [0, 1], got {target}")
        self.target = float(target)
        super().__init__(num_thresholds, name, metrics_collections, updates_collections)

    def _compute(self, states) -> torch.Tensor:
        def rate(keys):
            numerator = states[keys[0]].to(torch.float32)
            return numerator / (numerator + states[keys[1]].to(torch.float32) + EPSILON)

        index = self.pick((rate(self.match) - self.target).abs())
        return rate(self.value_of)[index]


class SensitivityAtSpecificity(_AtTarget):
    """Recall at the threshold whose ``tn / (tn + fp)`` is closest to the target."""
    default_name = "sensitivity_at_specificity"
    api_name = "streaming_sensitivity_at_specificity"
    match = ("true_negatives", "false_positives")
    value_of = ("true_positives", "false_negatives")
    pick = staticmethod(_pick_first)   # TF: argmin, the first closest


class SpecificityAtSensitivity(_AtTarget):
    """``tn / (tn + fp)`` at the threshold whose recall is closest to the target."""
    default_name = "specificity_at_sensitivity"
    api_name = "streaming_specificity_at_sensitivity"
    match = ("true_positives", "false_negatives")
    value_of = ("true_negatives", "false_positives")
    pick = staticmethod(_pick_last)    # TF: argmax of a cumulative count, the last closest
    last_threshold = 1.0 - EPSILON     # TF's grid here ends below 1


def streaming_sensitivity_at_specificity(predictions=None, labels=None, specificity=None,
                                         weights=None, num_thresholds=200,
                                         metrics_collections=None, updates_collections=None,
                                         name=None) -> SensitivityAtSpecificity:
    """The sensitivity (recall) at the threshold whose specificity is
    closest to ``specificity``.

        >>> value = slim.metrics.streaming_sensitivity_at_specificity(
        ...     [.1, .4, .35, .8], [0, 0, 1, 1], specificity=0.5).value()
        >>> round(value.item(), 4)
        1.0
    """
    metric = SensitivityAtSpecificity(_required("streaming_sensitivity_at_specificity",
                                                "specificity", specificity),
                                      num_thresholds, name, metrics_collections,
                                      updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_specificity_at_sensitivity(predictions=None, labels=None, sensitivity=None,
                                         weights=None, num_thresholds=200,
                                         metrics_collections=None, updates_collections=None,
                                         name=None) -> SpecificityAtSensitivity:
    """The specificity at the threshold whose sensitivity is closest to
    ``sensitivity`` (the last such threshold, as in TF).

        >>> value = slim.metrics.streaming_specificity_at_sensitivity(
        ...     [.1, .4, .35, .8], [0, 0, 1, 1], sensitivity=1.0).value()
        >>> round(value.item(), 4)
        0.5
    """
    metric = SpecificityAtSensitivity(_required("streaming_specificity_at_sensitivity",
                                                "sensitivity", sensitivity),
                                      num_thresholds, name, metrics_collections,
                                      updates_collections)
    return start(metric, predictions, labels, weights)


def _required(api_name: str, what: str, value):
    if value is None:
        raise ValueError(f"{api_name}: {what} is required")
    return value


class F1Score(_OnCurveGrid):
    """The best ``2 p r / (p + r)`` over the threshold grid (TF's 1e-7 guards)."""

    default_name = "f1"
    api_name = "f1_score"
    outcomes = ("true_positives", "false_negatives", "false_positives")   # TF's order

    def _update(self, labels, predictions, weights=None) -> None:   # TF's order here
        super()._update(predictions, labels, weights)

    def _compute(self, states) -> torch.Tensor:
        # float32 like TF's variables: 1e-7 then vanishes beside the counts, as in TF
        tp, fp, fn = (states[k].to(torch.float32)
                      for k in ("true_positives", "false_positives", "false_negatives"))
        precision = tp / (EPSILON + tp + fp)
        recall = tp / (EPSILON + tp + fn)
        return (2.0 * precision * recall / (precision + recall + EPSILON)).max()


def f1_score(labels=None, predictions=None, weights=None, num_thresholds=200,
             metrics_collections=None, updates_collections=None, name=None) -> F1Score:
    """The best F1 score over ``num_thresholds`` thresholds (labels first,
    as in TF-Slim's ``metrics.classification.f1_score``).

        >>> round(slim.metrics.f1_score([0, 1, 1], [.3, .6, .9]).value().item(), 4)
        1.0
    """
    metric = F1Score(num_thresholds, name, metrics_collections, updates_collections)
    return start(metric, labels, predictions, weights)


_CONCATS = ("preds", "labels", "weights")


class ConcatenatedScores(StreamingMetric):
    """Keeps every score, label and weight seen, in ``'cat'`` states named
    after TF's ``streaming_concat`` variables (``concat_preds/array``,
    ``concat_preds/size``, then labels and weights); memory grows with the
    stream. Subclasses append 1-D batches with :meth:`_append_rows` and read
    them with :meth:`rows`."""

    def __init__(self, name=None, metrics_collections=None, updates_collections=None) -> None:
        super().__init__(name, metrics_collections, updates_collections)
        for what in _CONCATS:
            self.add_state(f"concat_{what}/array", reduce="cat")
            self.add_state(f"concat_{what}/size", torch.zeros((), dtype=torch.int32))

    def _append_rows(self, predictions: torch.Tensor, labels: torch.Tensor,
                     weights: torch.Tensor) -> None:
        rows = {"preds": predictions.to(torch.float64), "labels": labels,
                "weights": weights.to(torch.float64)}
        for what in _CONCATS:
            self._append(f"concat_{what}/array", rows[what])
            self._accumulate(f"concat_{what}/size", torch.tensor(
                labels.numel(), dtype=torch.int32, device=labels.device))

    @staticmethod
    def rows(states):
        """(scores, labels, weights) seen so far; None each before any batch."""
        return tuple(states[f"concat_{what}/array"] for what in _CONCATS)

    def _zero_one_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Labels cast to int64 (so 0.7 becomes 0, as TF's cast does),
        checked to be 0 or 1 with TF's messages."""
        labels = labels.to(torch.int64)
        if labels.numel() and bool((labels < 0).any()):
            raise ValueError(f"{self.label}: labels must be 0 or 1, at least one is <0")
        if labels.numel() and bool((labels > 1).any()):
            raise ValueError(f"{self.label}: labels must be 0 or 1, at least one is >1")
        return labels


class DynamicAuc(ConcatenatedScores):
    """The exact AUC with each distinct score seen as a threshold. Float64,
    like TF; 0 while all labels are equal."""

    default_name = "dynamic_auc"
    api_name = "streaming_dynamic_auc"

    def __init__(self, curve="ROC", name=None, metrics_collections=None,
                 updates_collections=None) -> None:
        self.curve = _check_curve(self.api_name, curve)
        super().__init__(name, metrics_collections, updates_collections)

    def _update(self, labels, predictions, weights=None) -> None:
        predictions = as_tensor(self.label, "predictions", predictions)
        labels = as_tensor(self.label, "labels", labels, device=predictions.device)
        if labels.shape != predictions.shape:
            raise ValueError(f"{self.label}: Shapes {list(labels.shape)} (labels) and "
                             f"{list(predictions.shape)} (predictions) are incompatible; "
                             f"they must match")
        labels = self._zero_one_labels(labels.reshape(-1))
        weights = broadcast_weights(self.label, weights, predictions)
        if weights is None:
            weights = torch.ones(predictions.shape, dtype=torch.float64, device=predictions.device)
        self._append_rows(predictions.reshape(-1), labels, weights.reshape(-1))

    def _compute(self, states) -> torch.Tensor:
        scores, labels, weights = self.rows(states)
        if scores is None:
            return torch.zeros((), dtype=torch.float64)
        positive_weight = torch.where(labels > 0, weights, torch.zeros_like(weights))
        total, total_positive = weights.sum(), positive_weight.sum()
        if bool(total_positive == 0) or bool(total_positive == total):
            return torch.zeros((), dtype=torch.float64, device=scores.device)
        order = torch.argsort(scores, descending=True, stable=True)
        _, counts = torch.unique_consecutive(scores[order], return_counts=True)
        splits = torch.cat([counts.new_zeros(1), counts.cumsum(0)])

        def weight_before_splits(values):   # weight of the scores above each split
            return torch.cat([values.new_zeros(1), values[order].cumsum(0)])[splits]

        true_positives = weight_before_splits(positive_weight)
        if self.curve == "ROC":
            false_positives = weight_before_splits(weights - positive_weight)
            x = false_positives / (total - total_positive)
            y = true_positives / total_positive
        else:
            x = true_positives / total_positive
            predicted_positive = weight_before_splits(weights)
            # precision is 1 before anything is predicted positive, as in TF
            y = torch.where(splits > 0, true_positives / predicted_positive,
                            torch.ones_like(true_positives))
        return ((y[1:] + y[:-1]) / 2.0 * (x[1:] - x[:-1]).abs()).sum()


def streaming_dynamic_auc(labels=None, predictions=None, curve="ROC", metrics_collections=(),
                          updates_collections=(), name=None, weights=None) -> DynamicAuc:
    """The exact AUC (every distinct score a threshold) over all batches,
    labels 0 or 1. Memory grows with the number of scores seen.

        >>> value, update = slim.metrics.streaming_dynamic_auc()
        >>> update(torch.tensor([0, 0, 1, 1]), torch.tensor([.1, .4, .35, .8])).item()
        0.75
    """
    metric = DynamicAuc(curve, name, metrics_collections, updates_collections)
    return start(metric, labels, predictions, weights)


_BUCKETS = ("variables/tp_buckets", "variables/fp_buckets")

PrecisionRecallData = collections.namedtuple(
    "PrecisionRecallData", ["tp", "fp", "tn", "fn", "precision", "recall", "thresholds"])


class PrecisionRecallAtEqualThresholds(StreamingMetric):
    """Weights of positive and negative labels bucketed by
    ``floor(score * (num_thresholds - 1))``; the counts at threshold ``t_i``
    (a prediction positive where ``score >= t_i``) are reversed cumulative
    sums. The value is a :class:`PrecisionRecallData` in the scores' dtype."""

    default_name = "precision_recall_at_equal_thresholds"
    api_name = "precision_recall_at_equal_thresholds"

    def __init__(self, num_thresholds=None, name=None) -> None:
        num_thresholds = 201 if num_thresholds is None else num_thresholds
        if not isinstance(num_thresholds, int) or num_thresholds < 2:
            raise ValueError(f"{self.api_name}: num_thresholds must be an int >= 2, got "
                             f"{num_thresholds!r}")
        super().__init__(name)
        self.num_thresholds = num_thresholds
        self.dtype = torch.float32
        for key in _BUCKETS:   # TF's names (made under name_scope('variables'))
            self.add_state(key, torch.zeros(num_thresholds, dtype=torch.float64))

    def _update(self, labels, predictions, weights=None) -> None:
        labels = as_tensor(self.label, "labels", labels)
        if labels.dtype != torch.bool:
            raise ValueError(f"{self.label}: labels must be a bool tensor, got {labels.dtype}")
        predictions, labels, weights = flat_inputs(self.label, predictions, labels, weights)
        check_unit_interval(self.label, predictions)
        self.dtype = predictions.dtype if predictions.is_floating_point() else torch.float32
        if weights is None:
            weights = torch.ones(labels.shape, dtype=torch.float64, device=labels.device)
        bucket = torch.floor(predictions * (self.num_thresholds - 1)).to(torch.int64)
        zeros = torch.zeros(self.num_thresholds, dtype=torch.float64, device=labels.device)
        self._accumulate(_BUCKETS[0], zeros.index_add(0, bucket, weights * labels))
        self._accumulate(_BUCKETS[1], zeros.index_add(0, bucket, weights * ~labels))

    def _compute(self, states) -> PrecisionRecallData:
        tp = states[_BUCKETS[0]].flip(0).cumsum(0).flip(0)
        fp = states[_BUCKETS[1]].flip(0).cumsum(0).flip(0)
        fn, tn = tp[0] - tp, fp[0] - fp
        precision = tp / torch.clamp(tp + fp, min=EPSILON)
        recall = tp / torch.clamp(tp + fn, min=EPSILON)
        thresholds = torch.linspace(0.0, 1.0, self.num_thresholds, device=tp.device)
        return PrecisionRecallData(*(t.to(self.dtype) for t in
                                     (tp, fp, tn, fn, precision, recall, thresholds)))


def precision_recall_at_equal_thresholds(labels=None, predictions=None, weights=None,
                                         num_thresholds=None, use_locking=None,
                                         name=None) -> PrecisionRecallAtEqualThresholds:
    """tp, fp, tn, fn, precision and recall at ``num_thresholds`` (201)
    evenly spaced thresholds in [0, 1], in O(N + T) memory; labels must be
    bool. ``use_locking`` is accepted for TF's signature and ignored.

        >>> data, update = slim.metrics.precision_recall_at_equal_thresholds(num_thresholds=3)
        >>> update(torch.tensor([False, True, True]), torch.tensor([.2, .6, .9])).tp.tolist()
        [2.0, 2.0, 0.0]
    """
    metric = PrecisionRecallAtEqualThresholds(num_thresholds, name)
    return start(metric, labels, predictions, weights)
