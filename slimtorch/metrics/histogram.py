"""``auc_using_histogram`` (TF-Slim's ``metrics.histogram_ops``): the ROC
AUC from two streaming histograms of the scores, one per label, in
``O(batch + nbins)`` per update (Bouckaert, "Efficient AUC learning curve
calculation", 2006, with its bins ordered from high to low score as TF does).
"""

from __future__ import annotations

import torch

from ._checks import align, as_tensor
from .base import StreamingMetric, start

__all__ = ["AucUsingHistogram", "auc_using_histogram"]

_HISTOGRAMS = ("hist_accumulate/hist_true_acc", "hist_accumulate/hist_false_acc")


class AucUsingHistogram(StreamingMetric):
    """Two int64 histograms of ``nbins`` bins over ``score_range`` (TF's
    ``hist_accumulate/hist_true_acc`` and ``hist_false_acc`` variables);
    scores outside the range go to the end bins. The value is a float32
    scalar, NaN until both labels have been seen."""

    default_name = "auc_using_histogram"
    api_name = "auc_using_histogram"

    def __init__(self, score_range, nbins=100, check_shape=True, name=None) -> None:
        if not isinstance(nbins, int) or nbins < 1:
            raise ValueError(f"{self.api_name}: nbins must be a positive int, got {nbins!r}")
        try:
            low, high = (float(v) for v in torch.as_tensor(score_range).reshape(-1).tolist())
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(f"{self.api_name}: score_range must be [min, max], got "
                             f"{score_range!r}") from err
        if not low < high:
            raise ValueError(f"{self.api_name}: score_range must be [min, max] with "
                             f"min < max, got {score_range!r}")
        super().__init__(name)
        self.score_range, self.nbins, self.check_shape = (low, high), nbins, bool(check_shape)
        for key in _HISTOGRAMS:
            self.add_state(key, torch.zeros(nbins, dtype=torch.int64))

    def _update(self, boolean_labels, scores) -> None:
        scores = as_tensor(self.label, "scores", scores)
        labels = as_tensor(self.label, "boolean_labels", boolean_labels, device=scores.device)
        if labels.dtype != torch.bool:
            raise ValueError(f"{self.label}: argument boolean_labels should have dtype bool. "
                             f"Found: {labels.dtype} (compare with a threshold, or .bool())")
        scores, labels = align(self.label, scores, labels)
        if self.check_shape and scores.dim() != 1:
            raise ValueError(f"{self.label}: scores and boolean_labels should have rank 1 "
                             f"(got shape {list(scores.shape)}); pass check_shape=False to "
                             f"flatten them")
        scores, labels = scores.reshape(-1), labels.reshape(-1)
        if scores.is_floating_point() and bool(torch.isnan(scores).any()):
            raise ValueError(f"{self.label}: scores hold NaN, which falls in no bin; drop or "
                             f"replace those records first")
        self._accumulate(_HISTOGRAMS[0], self._histogram(scores[labels]))
        self._accumulate(_HISTOGRAMS[1], self._histogram(scores[~labels]))

    def _histogram(self, scores: torch.Tensor) -> torch.Tensor:
        """TF's ``histogram_fixed_width``: bin ``floor(nbins * (s - lo) / (hi -
        lo))``, clipped to the end bins."""
        low, high = self.score_range
        if not scores.is_floating_point():
            scores = scores.to(torch.float32)
        scaled = (scores - low) / (high - low)
        bins = torch.floor(scaled * self.nbins).clamp(0, self.nbins - 1).to(torch.int64)
        return torch.bincount(bins, minlength=self.nbins)

    def _compute(self, states) -> torch.Tensor:
        hist_true, hist_false = (states[key] for key in _HISTOGRAMS)
        # fractions per bin, from the highest scores down (dy: true, dx: false)
        delta_y = (hist_true / hist_true.sum()).flip(0).to(torch.float32)
        delta_x = (hist_false / hist_false.sum()).flip(0).to(torch.float32)
        y = delta_y.cumsum(0)
        first = delta_x[0] * y[0] / 2.0
        return first + (delta_x[1:] * (y[1:] + y[:-1]) / 2.0).sum()


def auc_using_histogram(boolean_labels=None, scores=None, score_range=None, nbins=100,
                        collections=None, check_shape=True,
                        name=None) -> AucUsingHistogram:
    """The ROC AUC estimated from histograms of the scores of true and false
    records (``nbins`` bins over ``score_range = [min, max]``; scores outside
    are clipped to the end bins). Accuracy is limited by the bins. Labels
    (a bool tensor) come first, as in TF-Slim; with ``check_shape`` both
    must be 1-D. ``collections`` named the graph collections of TF's
    histogram variables; eagerly the histograms are the metric's own state
    (``local_variables()``, cleared by ``reset()``), so it is not used.

        >>> value, update = slim.metrics.auc_using_histogram(score_range=[0., 1.], nbins=10)
        >>> _ = update(torch.tensor([True, False, True, False]), torch.tensor([.9, .1, .65, .7]))
        >>> round(value().item(), 4)
        0.75
    """
    if score_range is None:
        raise ValueError("auc_using_histogram: score_range is required ([min, max] of the "
                         "scores)")
    del collections   # graph-only (see the docstring)
    metric = AucUsingHistogram(score_range, nbins, check_shape, name)
    return start(metric, boolean_labels, scores)
