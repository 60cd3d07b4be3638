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

from .graph import GraphKeys
from .variables import add_to_collection, get_collection

__all__ = [
    "apply_regularization",
    "l1_l2_regularizer",
    "l1_regularizer",
    "l2_regularizer",
    "sum_regularizer",
]

Regularizer = Callable[[torch.Tensor], Optional[torch.Tensor]]
_WEIGHTS = GraphKeys.WEIGHTS


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


def sum_regularizer(regularizer_list: Iterable[Optional[Regularizer]],
                    scope=None) -> Optional[Regularizer]:
    """The sum of several regularizers, as TF-Slim's ``sum_regularizer``.

    ``None`` entries are dropped; with none left the result is ``None`` (no
    regularizer at all). The sum skips penalties that are ``None`` (disabled
    regularizers) and is ``None`` when all are.

    Example:
        >>> both = slim.sum_regularizer([slim.l1_regularizer(0.1), slim.l2_regularizer(0.2)])
        >>> round(float(both(torch.tensor([-3.]))), 4)  # 0.1 * 3 + 0.2 * 9 / 2
        1.2
        >>> slim.sum_regularizer([None]) is None
        True
    """
    regularizers = [r for r in regularizer_list if r is not None]
    if not regularizers:
        return None

    def summed(weights: torch.Tensor) -> Optional[torch.Tensor]:
        penalties = [p for p in (r(weights) for r in regularizers) if p is not None]
        if not penalties:
            return None
        return penalties[0] if len(penalties) == 1 else torch.stack(penalties).sum()

    return summed


def apply_regularization(regularizer: Regularizer, weights_list=None) -> torch.Tensor:
    """The summed penalty of ``regularizer`` over ``weights_list``, added to
    ``REGULARIZATION_LOSSES`` (TF-Slim's ``apply_regularization``).

    The penalty is computed once, on the weights' current values: call it in
    every training step (inside the step function) for a penalty that follows
    training, or register the regularizer on the variables
    (``weights_regularizer=``) instead.

    Args:
        regularizer: ``weights -> scalar`` (or None, counted as 0).
        weights_list: the tensors to regularize. None or empty: the
            ``'weights'`` collection (TF's ``GraphKeys.WEIGHTS``; put weights
            there with ``variables_collections``).

    Returns:
        The scalar sum of the penalties.

    Raises:
        ValueError: there are no weights, or ``regularizer`` returns a tensor
            that is not a scalar.

    Example:
        >>> with slim.Graph():
        ...     penalty = slim.apply_regularization(slim.l1_regularizer(0.5),
        ...                                         [torch.tensor([1., -2.]), torch.tensor([3.])])
        ...     penalty.item(), len(slim.losses.get_regularization_losses())
        (3.0, 1)
    """
    if not weights_list:
        weights_list = get_collection(_WEIGHTS)
    if not weights_list:
        raise ValueError("apply_regularization: no weights to regularize: pass weights_list, "
                         f"or put variables in the {_WEIGHTS!r} collection "
                         f"(variables_collections={_WEIGHTS!r})")
    penalties = []
    for weights in weights_list:
        penalty = regularizer(weights)
        if penalty is None:
            penalty = torch.zeros((), dtype=weights.dtype, device=weights.device)
        penalty = torch.as_tensor(penalty)
        if penalty.dim() != 0:
            raise ValueError("apply_regularization: regularizer must return a scalar tensor "
                             f"instead of a tensor with rank {penalty.dim()}")
        penalties.append(penalty)
    summed = sum(penalties[1:], penalties[0])
    add_to_collection(GraphKeys.REGULARIZATION_LOSSES, summed)
    return summed


def l1_l2_regularizer(scale_l1=1.0, scale_l2=1.0, scope=None) -> Regularizer:
    """``l1_regularizer(scale_l1) + l2_regularizer(scale_l2)``."""
    return sum_regularizer([l1_regularizer(scale_l1), l2_regularizer(scale_l2)])

