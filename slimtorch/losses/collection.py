"""Loss collection: ``add_loss``, ``get_losses``, ``get_regularization_losses``,
``get_total_loss``.

Regularization losses are not stored tensors: every call evaluates each
regularized variable's regularizer on its *current* value, so the penalty
always follows training.

Each collected loss carries a name (:func:`loss_name`: the ``slim.losses``
function's, or its ``scope=``, under the open variable scope), which
``slim.learning.train`` uses for its summaries: ``losses/softmax_cross_entropy``,
``losses/aux_loss``; the regularization that ``get_total_loss`` adds is
recorded as ``losses/regularization`` (outside ``torch.compile``).

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

from .. import summaries
from ..arg_scope import add_arg_scope
from ..graph import GraphKeys
from ..scopes import current_frame
from ..variables import add_to_collection, get_collection

__all__ = ["add_loss", "get_losses", "get_regularization_losses", "get_total_loss", "loss_name",
           "take_named_losses"]

# ``(loss, name)`` pairs beside the LOSSES collection. Not an attribute on the
# tensor: under torch.compile that costs a graph break; appending to a list
# is a side effect Dynamo replays.
_NAMES = "slimtorch/loss_names"


@add_arg_scope
def add_loss(loss: torch.Tensor, loss_collection: Optional[str] = GraphKeys.LOSSES,
             name: Optional[str] = None) -> None:
    """Adds ``loss`` to ``loss_collection`` (``None``: not collected).

    Every ``slim.losses`` function except ``hinge_loss`` calls it, so
    ``arg_scope([slim.losses.add_loss], loss_collection=None)`` stops them
    all from collecting.

    Args:
        loss: a scalar tensor.
        loss_collection: the collection (``None``: not collected).
        name: what summaries call it (``losses/<name>``), prefixed with the
            open variable scope; the ``slim.losses`` functions pass their
            ``scope`` or their own name. Default: the name the tensor
            already carries, else ``'loss'``. (A slimtorch addition: TF named
            losses by their op.)

    Example:
        >>> slim.losses.add_loss(torch.tensor(2.0))
        >>> slim.losses.get_total_loss().item()
        2.0
    """
    if loss_collection is not None:
        add_to_collection(loss_collection, loss)
        if loss_collection == GraphKeys.LOSSES:
            # The open scope's full name (get_variable_scope().name) without
            # making a VariableScope object: this runs every step.
            add_to_collection(_NAMES, (loss, current_frame().top.join(name or "loss")))


def loss_name(loss) -> str:
    """The name :func:`add_loss` gave ``loss`` when it added it to the
    ``LOSSES`` collection (``'loss'`` if none, or once the collection was
    taken by :func:`take_named_losses`).

    Example:
        >>> with slim.variable_scope('tower'):
        ...     loss = slim.losses.mean_squared_error(torch.ones(2), torch.zeros(2),
        ...                                           scope='reconstruction')
        >>> loss_name(loss), loss_name(torch.tensor(1.0))
        ('tower/reconstruction', 'loss')
    """
    for added, name in reversed(get_collection(_NAMES)):
        if added is loss:
            return name
    return "loss"


def take_named_losses(graph=None) -> dict:
    """Removes the ``LOSSES`` collection of ``graph`` (default: the current
    one) and returns its losses by name, ``{name: loss}``, in the order they
    were added; a name that comes again gets ``_1``, ``_2``, ... What a
    trainer does after each step (the losses of a step belong to it).

    Example:
        >>> g = slim.Graph()
        >>> with g:
        ...     _ = slim.losses.mean_squared_error(torch.ones(2), torch.zeros(2))
        ...     _ = slim.losses.mean_squared_error(torch.ones(2), torch.ones(2))
        ...     slim.losses.add_loss(torch.tensor(0.5))
        >>> {name: loss.item() for name, loss in take_named_losses(g).items()}
        {'mean_squared_error': 1.0, 'mean_squared_error_1': 0.0, 'loss': 0.5}
        >>> take_named_losses(g), g.collection_keys()
        ({}, [])
    """
    graph = graph if graph is not None else current_frame().graph
    names = graph.pop_collection(_NAMES)
    named: dict = {}
    for loss in graph.pop_collection(GraphKeys.LOSSES):
        base = next((n for added, n in reversed(names) if added is loss), "loss")
        name, count = base, 0
        while name in named:
            count += 1
            name = f"{base}_{count}"
        named[name] = loss
    return named


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
    regularization = get_regularization_losses() if add_regularization_losses else []
    losses += regularization
    if not losses:
        raise ValueError("get_total_loss: no losses found; add some with slim.losses.add_loss "
                         "or a slim.losses function, or create regularized variables")
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    # Summed apart (the total above keeps its order of additions), and only
    # on the steps whose summaries the trainer writes. Not in a compiled loss
    # function: reading the recording switch there would make torch.compile
    # guard on it and compile the function once more for summary steps.
    if regularization and not torch.compiler.is_compiling() and summaries.is_recording():
        summaries.scalar("losses/regularization",
                         torch.stack([r.detach().float().sum() for r in regularization]).sum())
    return total
