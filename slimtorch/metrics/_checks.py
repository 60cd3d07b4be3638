"""Input checks shared by the metrics: TF-Slim's shape rules, with errors
that name the metric."""

from __future__ import annotations

from typing import Optional, Tuple

import torch

__all__ = ["align", "broadcast_weights", "as_tensor"]


def as_tensor(metric: str, what: str, value, device=None) -> torch.Tensor:
    """``value`` as a tensor (lists and numbers welcome)."""
    if value is None:
        raise ValueError(f"{metric}: {what} is required")
    if isinstance(value, torch.Tensor):
        return value.detach() if device is None else value.detach().to(device)
    return torch.as_tensor(value, device=device)


def align(metric: str, predictions: torch.Tensor, labels: torch.Tensor,
          ) -> Tuple[torch.Tensor, torch.Tensor]:
    """TF's ``remove_squeezable_dimensions`` then an exact shape check: a
    trailing dimension of size 1 on one side only is dropped ([B, 1] vs [B]).

        >>> [t.shape for t in align('m', torch.zeros(4, 1), torch.zeros(4))]
        [torch.Size([4]), torch.Size([4])]
    """
    if predictions.dim() == labels.dim() + 1 and predictions.shape[-1] == 1:
        predictions = predictions.squeeze(-1)
    elif labels.dim() == predictions.dim() + 1 and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    if predictions.shape != labels.shape:
        raise ValueError(f"{metric}: predictions of shape {list(predictions.shape)} and labels "
                         f"of shape {list(labels.shape)} must have the same shape")
    return predictions, labels


def broadcast_weights(metric: str, weights, values: torch.Tensor) -> Optional[torch.Tensor]:
    """``weights`` expanded to ``values``' shape, by TF's rule: a scalar, or
    the same rank with each dimension 1 or equal (first, as TF's
    ``remove_squeezable_dimensions``, a trailing size-1 dimension on the
    weights alone is dropped, and weights one rank short get one). None
    stays None.

        >>> broadcast_weights('m', [[2.0], [5.0]], torch.zeros(2, 3)).tolist()
        [[2.0, 2.0, 2.0], [5.0, 5.0, 5.0]]
    """
    if weights is None:
        return None
    weights = as_tensor(metric, "weights", weights, device=values.device)
    if weights.dim() == values.dim() + 1 and weights.shape[-1] == 1:
        weights = weights.squeeze(-1)
    elif weights.dim() == values.dim() - 1 and weights.dim() > 0:
        weights = weights.unsqueeze(-1)   # TF's per-row weights: [B] against [B, N]
    ok = weights.dim() == 0 or (weights.dim() == values.dim() and all(
        w in (1, v) for w, v in zip(weights.shape, values.shape)))
    if not ok:
        raise ValueError(f"{metric}: weights of shape {list(weights.shape)} do not broadcast to "
                         f"values of shape {list(values.shape)} (a scalar, or the same rank "
                         f"with each dimension 1 or equal)")
    return weights.to(torch.float64 if values.device.type != "mps" else torch.float32) \
        .expand(values.shape)
