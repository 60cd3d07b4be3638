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

_MOMENTS = ("count", "mean_prediction", "mean_label", "comoment")   # TF's order


class Covariance(StreamingMetric):
    """The unbiased weighted covariance ``comoment / (count - 1)`` (NaN while
    the count is at most 1). States (TF's names and order): ``count`` (sum
    of weights), ``mean_prediction``, ``mean_label``, ``comoment``."""

    default_name = "covariance"
    api_name = "streaming_covariance"
    # TF's variable scope of each covariance -> the two inputs it pairs
    scopes: Dict[str, Tuple[str, str]] = {"": ("predictions", "labels")}

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        for scope in self.scopes:
            for key in _MOMENTS:
                self.add_state(scope + key, reduce="cat")   # an entry per rank, merged on read

    def _update(self, predictions, labels, weights=None) -> None:
        predictions = as_tensor(self.label, "predictions", predictions).to(torch.float64)
        labels = as_tensor(self.label, "labels", labels, device=predictions.device)
        predictions, labels = align(self.label, predictions, labels.to(torch.float64))
        weights = broadcast_weights(self.label, weights, labels)
        if weights is None:
            weights = torch.ones_like(labels)
        inputs = {"predictions": predictions, "labels": labels}
        for scope, (a, b) in self.scopes.items():
            batch = _batch_moments(inputs[a], inputs[b], weights)
            if self._values[scope + "count"]:
                running = {key: self._values[scope + key][0] for key in _MOMENTS}
                batch = _merge(running, batch)
            for key, value in batch.items():
                self._set(scope + key, [value.reshape(1)])

    def _moments(self, states, scope: str):
        """One covariance's moments over every entry (rank); None before any
        batch."""
        if states[scope + "count"] is None:
            return None
        entries = [{key: states[scope + key][i] for key in _MOMENTS}
                   for i in range(states[scope + "count"].shape[0])]
        merged = entries[0]
        for entry in entries[1:]:
            merged = _merge(merged, entry)
        return merged

    def _covariance(self, states, scope: str) -> torch.Tensor:
        moments = self._moments(states, scope)
        if moments is None:
            return torch.tensor(float("nan"), dtype=torch.float64)
        count = moments["count"]
        return torch.where(count <= 1, torch.full_like(count, float("nan")),
                           moments["comoment"] / (count - 1))

    def _compute(self, states) -> torch.Tensor:
        return self._covariance(states, "").to(torch.float32)


class PearsonCorrelation(Covariance):
    """``cov(p, l) / (sqrt(var(p)) * sqrt(var(l)))`` from three streaming
    covariances under TF's scopes: ``covariance/``, ``variance_predictions/``
    (of the predictions with themselves) and ``variance_labels/``, each with
    :class:`Covariance`'s four states."""

    default_name = "pearson_r"
    api_name = "streaming_pearson_correlation"
    scopes = {"covariance/": ("predictions", "labels"),
              "variance_predictions/": ("predictions", "predictions"),
              "variance_labels/": ("labels", "labels")}

    def _compute(self, states) -> torch.Tensor:
        cov, var_p, var_l = (self._covariance(states, scope) for scope in self.scopes)
        return (cov / (var_p.sqrt() * var_l.sqrt())).to(torch.float32)


def _batch_moments(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor
                   ) -> Dict[str, torch.Tensor]:
    """A batch's count, weighted means and weighted co-moment of ``x``, ``y``."""
    count = weights.sum()
    mean_x, mean_y = div_no_nan((x * weights).sum(), count), div_no_nan((y * weights).sum(), count)
    return {"count": count, "mean_prediction": mean_x, "mean_label": mean_y,
            "comoment": ((x - mean_x) * (y - mean_y) * weights).sum()}


def _merge(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """TF's update of ``a`` (the running moments) by ``b`` (a batch's)."""
    count = a["count"] + b["count"]
    shift_x = b["mean_prediction"] - a["mean_prediction"]
    shift_y = b["mean_label"] - a["mean_label"]
    return {"count": count,
            "mean_prediction": a["mean_prediction"] + div_no_nan(shift_x * b["count"], count),
            "mean_label": a["mean_label"] + div_no_nan(shift_y * b["count"], count),
            # TF's div_no_nan: a first batch of zero weights adds nothing.
            "comoment": a["comoment"] + b["comoment"] +
            shift_x * shift_y * div_no_nan(a["count"] * b["count"], count)}


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
