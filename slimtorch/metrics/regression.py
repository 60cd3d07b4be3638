"""Regression metrics: weighted means of a per-element error (MAE, MSE,
RMSE, relative error, cosine distance, percentage below a threshold), built
on :class:`~slimtorch.metrics.mean.Mean`, and the element-wise
``streaming_mean_tensor``."""

from __future__ import annotations

import torch

from ._checks import align, as_tensor, broadcast_weights
from .base import StreamingMetric, div_no_nan, start
from .mean import Mean

__all__ = ["MeanAbsoluteError", "MeanCosineDistance", "MeanRelativeError", "MeanSquaredError",
           "MeanTensor", "PercentageLess", "RootMeanSquaredError",
           "streaming_mean_absolute_error", "streaming_mean_cosine_distance",
           "streaming_mean_relative_error", "streaming_mean_squared_error",
           "streaming_mean_tensor", "streaming_percentage_less",
           "streaming_root_mean_squared_error"]


class MeanTensor(StreamingMetric):
    """Element-wise weighted mean: states ``total_tensor`` and
    ``count_tensor``, shaped like the first batch (every batch must have
    that shape). Before any batch the value is a scalar 0."""

    default_name = "mean"
    api_name = "streaming_mean_tensor"

    def __init__(self, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        self.add_state("total_tensor")   # None: shaped by the first batch
        self.add_state("count_tensor")

    def _update(self, values, weights=None) -> None:
        values = as_tensor(self.label, "values", values).to(torch.float64)
        seen = self._values["total_tensor"]
        if seen is not None and seen.shape != values.shape:
            raise ValueError(f"{self.label}: values of shape {list(values.shape)} differ from "
                             f"the shape {list(seen.shape)} of the earlier batches")
        weights = broadcast_weights(self.label, weights, values)
        if weights is None:
            self._accumulate("total_tensor", values)
            self._accumulate("count_tensor", torch.ones_like(values))
        else:
            self._accumulate("total_tensor", values * weights)
            self._accumulate("count_tensor", weights)

    def _compute(self, states) -> torch.Tensor:
        if states["total_tensor"] is None:
            return torch.zeros((), dtype=torch.float32)
        return div_no_nan(states["total_tensor"], states["count_tensor"]).to(torch.float32)


class _ErrorMean(Mean):
    """A :class:`Mean` of a per-element error of ``(predictions, labels)``,
    checked to have the same shape (a trailing size-1 dimension on one side
    is dropped, as TF's ``remove_squeezable_dimensions``)."""

    def _update(self, predictions, labels, weights=None) -> None:
        predictions, labels = self._pair(predictions, labels)
        super()._update(self._errors(predictions, labels), weights)

    def _pair(self, predictions, labels):
        predictions = as_tensor(self.label, "predictions", predictions).to(torch.float64)
        labels = as_tensor(self.label, "labels", labels, device=predictions.device)
        return align(self.label, predictions, labels.to(torch.float64))

    def _errors(self, predictions, labels) -> torch.Tensor:
        raise NotImplementedError


class MeanAbsoluteError(_ErrorMean):
    """Weighted mean of ``|predictions - labels|``."""

    default_name = "mean_absolute_error"
    api_name = "streaming_mean_absolute_error"

    def _errors(self, predictions, labels):
        return (predictions - labels).abs()


class MeanSquaredError(_ErrorMean):
    """Weighted mean of ``(predictions - labels)**2``."""

    default_name = "mean_squared_error"
    api_name = "streaming_mean_squared_error"

    def _errors(self, predictions, labels):
        return (predictions - labels).square()


class RootMeanSquaredError(MeanSquaredError):
    """The square root of :class:`MeanSquaredError`'s value."""

    default_name = "root_mean_squared_error"
    api_name = "streaming_root_mean_squared_error"

    def _compute(self, states):
        return super()._compute(states).sqrt()


class MeanRelativeError(_ErrorMean):
    """Weighted mean of ``|predictions - labels| / normalizer``, 0 where the
    normalizer is 0. Each batch brings its own normalizer."""

    default_name = "mean_relative_error"
    api_name = "streaming_mean_relative_error"

    def _update(self, predictions, labels, normalizer, weights=None) -> None:
        predictions, labels = self._pair(predictions, labels)
        normalizer = as_tensor(self.label, "normalizer", normalizer, device=predictions.device)
        _, normalizer = align(self.label, predictions, normalizer.to(torch.float64))
        safe = torch.where(normalizer == 0, torch.ones_like(normalizer), normalizer)
        errors = torch.where(normalizer == 0, torch.zeros_like(labels),
                             (labels - predictions).abs() / safe)
        Mean._update(self, errors, weights)


class MeanCosineDistance(_ErrorMean):
    """``1 - mean(sum(predictions * labels, dim))``: the cosine distance of
    unit vectors along ``dim``. Weights broadcast to the inputs with ``dim``
    of size 1."""

    default_name = "mean_cosine_distance"
    api_name = "streaming_mean_cosine_distance"

    def __init__(self, dim, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"{self.label}: dim must be an integer axis, got {dim!r}")
        self.dim = dim

    def _errors(self, predictions, labels):
        rank = max(predictions.dim(), 1)
        if not -rank <= self.dim < rank:
            raise ValueError(f"{self.label}: dim={self.dim} is out of range for inputs of "
                             f"shape {list(predictions.shape)}")
        return (predictions * labels).sum(self.dim, keepdim=True)

    def _compute(self, states):
        return 1.0 - super()._compute(states)


class PercentageLess(Mean):
    """The weighted fraction of values below ``threshold``."""

    default_name = "percentage_below_threshold"
    api_name = "streaming_percentage_less"

    def __init__(self, threshold, name=None, metrics_collections=None, updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        if threshold is None:
            raise ValueError(f"{self.label}: threshold is required")
        self.threshold = threshold

    def _update(self, values, weights=None) -> None:
        values = as_tensor(self.label, "values", values)
        super()._update(values < torch.as_tensor(self.threshold, device=values.device), weights)


def streaming_mean_tensor(values=None, weights=None, metrics_collections=None,
                          updates_collections=None, name=None) -> MeanTensor:
    """The element-wise weighted mean of same-shaped tensors.

        >>> value, update = slim.metrics.streaming_mean_tensor()
        >>> update(torch.tensor([1., 2.]), weights=torch.tensor([1., 0.])).tolist()
        [1.0, 0.0]
        >>> update(torch.tensor([3., 6.])).tolist()
        [2.0, 6.0]
    """
    return start(MeanTensor(name, metrics_collections, updates_collections), values, weights)


def streaming_mean_absolute_error(predictions=None, labels=None, weights=None,
                                  metrics_collections=None, updates_collections=None,
                                  name=None) -> MeanAbsoluteError:
    """The weighted mean absolute error.

        >>> mae, _ = slim.metrics.streaming_mean_absolute_error(
        ...     torch.tensor([2., 4, 6, 8]), torch.tensor([1., 3, 2, 3]),
        ...     weights=torch.tensor([0., 1, 0, 1]))
        >>> mae().item()
        3.0
    """
    metric = MeanAbsoluteError(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_mean_squared_error(predictions=None, labels=None, weights=None,
                                 metrics_collections=None, updates_collections=None,
                                 name=None) -> MeanSquaredError:
    """The weighted mean squared error.

        >>> mse, _ = slim.metrics.streaming_mean_squared_error(
        ...     torch.tensor([2., 4, 6, 8]), torch.tensor([1., 3, 2, 3]))
        >>> mse().item()
        10.75
    """
    metric = MeanSquaredError(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_root_mean_squared_error(predictions=None, labels=None, weights=None,
                                      metrics_collections=None, updates_collections=None,
                                      name=None) -> RootMeanSquaredError:
    """The square root of the weighted mean squared error.

        >>> rmse, _ = slim.metrics.streaming_root_mean_squared_error(
        ...     torch.tensor([2., 4, 6, 8]), torch.tensor([1., 3, 2, 3]))
        >>> round(rmse().item(), 5)
        3.27872
    """
    metric = RootMeanSquaredError(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_mean_relative_error(predictions=None, labels=None, normalizer=None, weights=None,
                                  metrics_collections=None, updates_collections=None,
                                  name=None) -> MeanRelativeError:
    """The weighted mean of ``|predictions - labels| / normalizer`` (0 where
    the normalizer is 0); ``update(predictions, labels, normalizer, weights)``.

        >>> mre, _ = slim.metrics.streaming_mean_relative_error(
        ...     torch.tensor([2., 4]), torch.tensor([1., 2]), normalizer=torch.tensor([1., 0]))
        >>> mre().item()
        0.5
    """
    metric = MeanRelativeError(name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, normalizer, weights)


def streaming_mean_cosine_distance(predictions=None, labels=None, dim=None, weights=None,
                                   metrics_collections=None, updates_collections=None,
                                   name=None) -> MeanCosineDistance:
    """``1 - mean(sum(predictions * labels, dim))`` for unit vectors along
    ``dim`` (required).

        >>> distance, _ = slim.metrics.streaming_mean_cosine_distance(
        ...     torch.tensor([[1., 0], [0, 1]]), torch.tensor([[1., 0], [1, 0]]), dim=1)
        >>> distance().item()
        0.5
    """
    if dim is None:
        raise ValueError("streaming_mean_cosine_distance: dim is required")
    metric = MeanCosineDistance(dim, name, metrics_collections, updates_collections)
    return start(metric, predictions, labels, weights)


def streaming_percentage_less(values=None, threshold=None, weights=None,
                              metrics_collections=None, updates_collections=None,
                              name=None) -> PercentageLess:
    """The weighted fraction of values below ``threshold`` (required);
    ``update(values, weights)``.

        >>> below, _ = slim.metrics.streaming_percentage_less(torch.tensor([2, 4, 6, 8]), 7)
        >>> below().item()
        0.75
    """
    metric = PercentageLess(threshold, name, metrics_collections, updates_collections)
    return start(metric, values, weights)
