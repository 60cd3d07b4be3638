"""``streaming_mean`` and ``count``: weighted sums over a stream."""

from __future__ import annotations

import torch

from ._checks import as_tensor, broadcast_weights
from .base import StreamingMetric, div_no_nan, start

__all__ = ["Count", "Mean", "count", "streaming_mean"]


class Mean(StreamingMetric):
    """Weighted mean of every value seen: states (TF's local variables, in
    TF's order) ``total`` (sum of ``weights * values``) and ``count`` (sum of
    weights)."""

    default_name = "mean"
    api_name = "streaming_mean"

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        self.add_state("total", torch.zeros((), dtype=torch.float64))
        self.add_state("count", torch.zeros((), dtype=torch.float64))

    def _update(self, values, weights=None) -> None:
        values = as_tensor(self.label, "values", values).to(torch.float64)
        weights = broadcast_weights(self.label, weights, values)
        self._accumulate("total", values.sum() if weights is None else (values * weights).sum())
        self._accumulate("count", _weight_sum(values, weights))

    def _compute(self, states) -> torch.Tensor:
        return div_no_nan(states["total"], states["count"]).to(torch.float32)


class Count(StreamingMetric):
    """The sum of the weights (the number of values without weights): one
    state, ``count`` (TF's ``count/count``)."""

    default_name = "count"
    api_name = "count"

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        self.add_state("count", torch.zeros((), dtype=torch.float64))

    def _update(self, values, weights=None) -> None:
        values = as_tensor(self.label, "values", values)
        self._accumulate("count", _weight_sum(values, broadcast_weights(self.label, weights,
                                                                        values)))

    def _compute(self, states) -> torch.Tensor:
        return states["count"].to(torch.float32)


def _weight_sum(values: torch.Tensor, weights) -> torch.Tensor:
    """How many values (float64), or the sum of their broadcast weights."""
    if weights is None:
        return torch.tensor(float(values.numel()), dtype=torch.float64, device=values.device)
    return weights.sum()


def streaming_mean(values=None, weights=None, metrics_collections=None,
                   updates_collections=None, name=None) -> Mean:
    """The weighted mean of a stream of values.

        >>> value, update = slim.metrics.streaming_mean()
        >>> [round(update(torch.tensor(b)).item(), 4) for b in ([0., 1.], [-4.2, 9.1])]
        [0.5, 1.475]
    """
    return start(Mean(name, metrics_collections, updates_collections), values, weights)


def count(values=None, weights=None, metrics_collections=None, updates_collections=None,
          name=None) -> Count:
    """How many values went by (the sum of their weights).

        >>> value, update = slim.metrics.count([1, 2, 3], weights=[1, 0, 2])
        >>> value().item()
        3.0
    """
    return start(Count(name, metrics_collections, updates_collections), values, weights)
