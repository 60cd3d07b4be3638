"""TF-Slim's weight regularizers.

A regularizer maps a weight tensor to a scalar penalty (or ``None`` when
disabled). Variables created with ``regularizer=`` register it, and
``slim.losses.get_regularization_losses()`` evaluates it on the *current*
weights every time it is called, so penalties follow training.

    >>> float(slim.l2_regularizer(0.5)(torch.tensor([1., 2., 3.])))  # 0.5 * 14 / 2
    3.5
    >>> float(slim.l1_regularizer(0.5)(torch.tensor([1., -2., 3.])))
    3.0
"""

from __future__ import annotations

import numbers
from typing import Callable, Iterable, Optional

import torch

__all__ = [
    "l1_l2_regularizer",
    "l1_regularizer",
    "l2_regularizer",
    "sum_regularizer",
]

Regularizer = Callable[[torch.Tensor], Optional[torch.Tensor]]


def _check_scale(scale, fn: str) -> Optional[float]:
    # TF-Slim rejects integer scales; a Python int is accepted here (it is
    # unambiguous), everything else is checked as in TF-Slim.
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise ValueError(f"{fn}: scale must be a number, got {scale!r}")
    if scale < 0.0:
        raise ValueError(f"{fn}: setting a scale less than 0 on a regularizer: {scale}")
    return None if scale == 0.0 else float(scale)


def _disabled(_weights):
    return None


def _scaled(scale, fn: str, penalty) -> Regularizer:
    scale = _check_scale(scale, fn)
    if scale is None:
        return _disabled

    def regularizer(weights: torch.Tensor) -> torch.Tensor:
        return scale * penalty(weights)

    regularizer.__name__ = fn
    return regularizer


def l1_regularizer(scale, scope=None) -> Regularizer:
    """``scale · Σ|w|``; ``scale=0`` disables it (returns ``None``)."""
    return _scaled(scale, "l1_regularizer", lambda w: w.abs().sum())


def l2_regularizer(scale, scope=None) -> Regularizer:
    """``scale · Σw² / 2`` (TF's ``l2_loss`` halves); ``scale=0`` disables it."""
    return _scaled(scale, "l2_regularizer", lambda w: 0.5 * w.square().sum())


def sum_regularizer(regularizer_list: Iterable[Regularizer], scope=None) -> Regularizer:
    """The sum of several regularizers (those returning ``None`` are skipped)."""
    regularizers = [r for r in regularizer_list if r is not None]

    def summed(weights: torch.Tensor) -> Optional[torch.Tensor]:
        penalties = [p for p in (r(weights) for r in regularizers) if p is not None]
        if not penalties:
            return None
        return penalties[0] if len(penalties) == 1 else torch.stack(penalties).sum()

    return summed


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None) -> Regularizer:
    """``l1_regularizer(scale_l1) + l2_regularizer(scale_l2)``."""
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)])

