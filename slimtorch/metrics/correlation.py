"""``streaming_covariance`` and ``streaming_pearson_correlation``: TF's
streaming co-moment update (a batch's count, means and co-moment merged
into the running ones, which stays accurate where sums of products would
cancel).

The same merge combines torchrun ranks: each state holds one entry per
rank (a ``'cat'`` state; one entry locally), and the value merges them in
rank order.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch

from ._checks import align, as_tensor, broadcast_weights
from .base import StreamingMetric, div_no_nan, start

__all__ = ["Covariance", "PearsonCorrelation", "streaming_covariance",
           "streaming_pearson_correlation"]

_MEANS = {"predictions": "mean_prediction", "labels": "mean_label"}


class Covariance(StreamingMetric):
    """The unbiased weighted covariance ``comoment / (count - 1)`` (NaN while
    the count is at most 1). States (TF's names): ``count`` (sum of
    weights), ``mean_prediction``, ``mean_label``, ``comoment``."""

    default_name = "covariance"
    api_name = "streaming_covariance"
    # co-moment state -> the two inputs it pairs
    comoments: Dict[str, Tuple[str, str]] = {"comoment": ("predictions", "labels")}

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        for key in ("count", *_MEANS.values(), *self.comoments):
            self.add_state(key, reduce="cat")   # one entry per rank, merged in _compute

    def _update(self, predictions, labels, weights=None) -> None:
        predictions = as_tensor(self.label, "predictions", predictions).to(torch.float64)
        labels = as_tensor(self.label, "labels", labels, device=predictions.device)
        predictions, labels = align(self.label, predictions, labels.to(torch.float64))
        weights = broadcast_weights(self.label, weights, labels)
        batch = self._batch_moments({"predictions": predictions, "labels": labels}, weights)
        if self._values["count"]:
            running = {key: entries[0] for key, entries in self._values.items()}
            batch = self._merge(running, batch)
        for key, value in batch.items():
            self._set(key, [value.reshape(1)])

    def _batch_moments(self, inputs, weights) -> Dict[str, torch.Tensor]:
        if weights is None:
            weights = torch.ones_like(inputs["labels"])
        count = weights.sum()
        means = {name: div_no_nan((inputs[name] * weights).sum(), count) for name in inputs}
        moments = {"count": count, **{_MEANS[name]: means[name] for name in inputs}}
        for key, (a, b) in self.comoments.items():
            moments[key] = ((inputs[a] - means[a]) * (inputs[b] - means[b]) * weights).sum()
        return moments

    def _merge(self, a, b) -> Dict[str, torch.Tensor]:
        """TF's update of ``a`` (the running moments) by ``b`` (a batch's)."""
        count = a["count"] + b["count"]
        shift = {name: b[key] - a[key] for name, key in _MEANS.items()}
        merged = {"count": count}
        for name, key in _MEANS.items():
            merged[key] = a[key] + div_no_nan(shift[name] * b["count"], count)
        # TF divides n_a * n_b by n without a guard: a first batch of zero
        # weights turns its co-moment into NaN for good; here it adds 0.
        scale = div_no_nan(a["count"] * b["count"], count)
        for key, (x, y) in self.comoments.items():
            merged[key] = a[key] + b[key] + shift[x] * shift[y] * scale
        return merged

    def _moments(self, states) -> Dict[str, torch.Tensor]:
        """The moments over every entry (rank); None before any batch."""
        if states["count"] is None:
            return None
        entries = [{key: value[i] for key, value in states.items()}
                   for i in range(states["count"].shape[0])]
        merged = entries[0]
        for entry in entries[1:]:
            merged = self._merge(merged, entry)
        return merged

    @staticmethod
    def _unbiased(comoment: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        return torch.where(count <= 1, torch.full_like(comoment, float("nan")),
                           comoment / (count - 1))

    def _compute(self, states) -> torch.Tensor:
        moments = self._moments(states)
        if moments is None:
            return torch.tensor(float("nan"))
        return self._unbiased(moments["comoment"], moments["count"]).to(torch.float32)


class PearsonCorrelation(Covariance):
    """``cov(p, l) / (sqrt(var(p)) * sqrt(var(l)))`` from three co-moments
    sharing one count and the two means (TF keeps three covariances with
    equal counts and means)."""

    default_name = "pearson_r"
    api_name = "streaming_pearson_correlation"
    comoments = {"comoment": ("predictions", "labels"),
                 "variance_predictions": ("predictions", "predictions"),
                 "variance_labels": ("labels", "labels")}

    def _compute(self, states) -> torch.Tensor:
        moments = self._moments(states)
        if moments is None:
            return torch.tensor(float("nan"))
        cov, var_p, var_l = (self._unbiased(moments[key], moments["count"])
                             for key in self.comoments)
        return (cov / (var_p.sqrt() * var_l.sqrt())).to(torch.float32)


def streaming_covariance(predictions=None, labels=None, weights=None, metrics_collections=None,
                         updates_collections=None, name=None) -> Covariance:
    """The unbiased (n - 1) weighted sample covariance of predictions and labels.

        >>> cov, update = slim.metrics.streaming_covariance()
        >>> round(update(torch.tensor([1., 2]), torch.tensor([2., 4])).item(), 5)
        1.0
        >>> round(update(torch.tensor([3., 4]), torch.tensor([5., 9])).item(), 5)
        3.66667
    """
    metric = Covariance(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_pearson_correlation(predictions=None, labels=None, weights=None,
                                  metrics_collections=None, updates_collections=None,
                                  name=None) -> PearsonCorrelation:
    """Pearson's correlation coefficient of predictions and labels.

        >>> r, _ = slim.metrics.streaming_pearson_correlation(
        ...     torch.tensor([1., 2, 3, 4]), torch.tensor([2., 4, 5, 9]))
        >>> round(r().item(), 5)
        0.96476
    """
    metric = PearsonCorrelation(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)
