"""Loss collection: ``add_loss``, ``get_losses``, ``get_regularization_losses``,
``get_total_loss``.

Regularization losses are not stored tensors: every call evaluates each
regularized variable's regularizer on its *current* value, so the penalty
always follows training.

    >>> with slim.Graph():
    ...     w = slim.variable('w', initializer=[1.0, 2.0, 3.0],
    ...                       regularizer=slim.l2_regularizer(0.5))
    ...     slim.losses.get_total_loss().item()
    3.5
"""

from __future__ import annotations

import re
from typing import Optional

import torch

from ..arg_scope import add_arg_scope
from ..graph import GraphKeys
from ..scopes import current_frame
from ..variables import add_to_collection, get_collection

__all__ = ["add_loss", "get_losses", "get_regularization_losses", "get_total_loss"]


@add_arg_scope
def add_loss(loss: torch.Tensor, loss_collection: Optional[str] = GraphKeys.LOSSES) -> None:
    """Adds ``loss`` to ``loss_collection`` (``None``: not collected).

    Every ``slim.losses`` function except ``hinge_loss`` calls it, so
    ``arg_scope([slim.losses.add_loss], loss_collection=None)`` stops them
    all from collecting.

    Example:
        >>> slim.losses.add_loss(torch.tensor(2.0))
        >>> slim.losses.get_total_loss().item()
        2.0
    """
    if loss_collection is not None:
        add_to_collection(loss_collection, loss)


def get_losses(scope: Optional[str] = None, loss_collection: str = GraphKeys.LOSSES) -> list:
    """The losses added to ``loss_collection`` (filtered by regex-prefix ``scope``
    on losses that carry a ``name``; loss tensors themselves have none).

    Example:
        >>> loss = slim.losses.mean_squared_error(torch.ones(2), torch.zeros(2))
        >>> [l.item() for l in slim.losses.get_losses()]
        [1.0]
    """
    return get_collection(loss_collection, scope)


def get_regularization_losses(scope: Optional[str] = None) -> list[torch.Tensor]:
    """One penalty per regularized variable of the graph, on current weights,
    plus anything added to ``REGULARIZATION_LOSSES`` by hand.

    ``scope`` is a regex prefix of the variable names.

    Example:
        >>> w = slim.variable('w', initializer=[3.0, 4.0], regularizer=slim.l2_regularizer(1.0))
        >>> [p.item() for p in slim.losses.get_regularization_losses()]
        [12.5]
    """
    frame = current_frame()
    pattern = re.compile(scope) if scope else None
    penalties = []
    for record in frame.graph.records():
        if record.regularizer is None:
            continue
        if pattern is not None and not pattern.match(record.name):
            continue
        penalty = record.regularizer(record.tensor)
        if penalty is not None:
            penalties.append(penalty)
    return penalties + get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_total_loss(add_regularization_losses: bool = True, name: str = "total_loss") -> torch.Tensor:
    """The sum of the collected losses, plus regularization by default.

    Raises:
        ValueError: there is no loss at all.

    Example:
        >>> w = slim.variable('w', initializer=[2.0], regularizer=slim.l2_regularizer(1.0))
        >>> loss = slim.losses.absolute_difference(torch.tensor([1.0]), torch.tensor([4.0]))
        >>> slim.losses.get_total_loss().item(), slim.losses.get_total_loss(False).item()
        (5.0, 3.0)
    """
    losses = list(get_losses())
    if add_regularization_losses:
        losses += get_regularization_losses()
    if not losses:
        raise ValueError("get_total_loss: no losses found; add some with slim.losses.add_loss "
                         "or a slim.losses function, or create regularized variables")
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return total
