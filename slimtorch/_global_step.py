"""The global step: the graph's step counter (TF's ``training_util``).

``slim.create_global_step()`` makes an int64 scalar buffer named
``global_step`` at the root of the graph; the training loop increments it and
checkpoints carry it. A variable found as the global step must be an integer
scalar, as in TF:

    >>> with slim.Graph():
    ...     _ = slim.global_variable(0.0, name='global_step')
    ...     slim.get_global_step()
    Traceback (most recent call last):
    ...
    TypeError: Existing "global_step" does not have integer type: torch.float32; ...
"""

from __future__ import annotations

import logging
from typing import Optional

import torch

from ._layouts import IDENTITY
from .graph import GraphKeys, Variable, VariableRecord, stamp_variable
from .initializers import zeros_initializer
from .scopes import current_frame

__all__ = ["assert_global_step", "assert_or_get_global_step", "create_global_step",
           "get_global_step", "get_or_create_global_step"]

logger = logging.getLogger(__name__)


def assert_global_step(global_step_tensor) -> None:
    """Raises unless ``global_step_tensor`` can be a global step: an integer
    scalar tensor (TF's ``tf.train.assert_global_step``).

    Raises:
        TypeError: not a tensor, not of an integer dtype, or not a scalar.

    Example:
        >>> slim.assert_global_step(torch.tensor(0))
        >>> slim.assert_global_step(torch.tensor(0.0))
        Traceback (most recent call last):
        ...
        TypeError: Existing "global_step" does not have integer type: torch.float32; a global step
        counts steps: make it with slim.create_global_step() (int64)
    """
    fix = "make it with slim.create_global_step() (int64)"
    if not isinstance(global_step_tensor, torch.Tensor):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: '
                        f"{global_step_tensor!r}; {fix}")
    dtype = global_step_tensor.dtype
    if dtype.is_floating_point or dtype.is_complex or dtype == torch.bool:
        raise TypeError(f'Existing "global_step" does not have integer type: {dtype}; '
                        f"a global step counts steps: {fix}")
    if global_step_tensor.dim() != 0:
        raise TypeError(f'Existing "global_step" is not scalar: {list(global_step_tensor.shape)}; '
                        f"{fix}")


def get_global_step(graph=None) -> Optional[Variable]:
    """The graph's global step, or None: the one variable in the
    ``GLOBAL_STEP`` collection, else the variable named ``global_step``
    (TF's ``tf.train.get_global_step``).

    Raises:
        TypeError: it is not an integer scalar (:func:`assert_global_step`).

    Example:
        >>> with slim.Graph():
        ...     before = slim.get_global_step()
        ...     step = slim.create_global_step()
        ...     before, slim.get_global_step() is step, step.dtype
        (None, True, torch.int64)
    """
    graph = graph or current_frame().graph
    record = graph.record(GraphKeys.GLOBAL_STEP)
    if record is None or GraphKeys.GLOBAL_STEP not in record.collections:
        in_collection = [r for r in graph.records() if GraphKeys.GLOBAL_STEP in r.collections]
        if len(in_collection) > 1:
            logger.error("Multiple tensors in global_step collection: %s",
                         [r.name for r in in_collection])
            return None
        if in_collection:
            record = in_collection[0]
    if record is None:
        return None
    step = record.tensor
    assert_global_step(step)
    return step


def assert_or_get_global_step(graph=None, global_step_tensor=None) -> Optional[torch.Tensor]:
    """``global_step_tensor`` checked by :func:`assert_global_step`, or, when
    it is None, :func:`get_global_step` (which may be None).

        >>> with slim.Graph():
        ...     step = slim.get_or_create_global_step()
        ...     slim.assert_or_get_global_step() is step
        True
    """
    if global_step_tensor is None:
        return get_global_step(graph)
    assert_global_step(global_step_tensor)
    return global_step_tensor


def create_global_step(graph=None) -> Variable:
    """Creates ``global_step``: an int64 scalar buffer at the graph's root.

    Raises:
        ValueError: it already exists.
    """
    graph = graph or current_frame().graph
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    step = Variable(torch.zeros((), dtype=torch.int64), requires_grad=False)
    graph.root._buffers[GraphKeys.GLOBAL_STEP] = step
    graph.add_record(VariableRecord(
        GraphKeys.GLOBAL_STEP, graph.root, GraphKeys.GLOBAL_STEP, is_buffer=True, trainable=False,
        collections={GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP},
        initializer=zeros_initializer(), regularizer=None, layout=IDENTITY, owner=None))
    return stamp_variable(step, GraphKeys.GLOBAL_STEP)


def get_or_create_global_step(graph=None) -> Variable:
    """The graph's ``global_step``, created (as 0) if needed."""
    step = get_global_step(graph)
    return step if step is not None else create_global_step(graph)
