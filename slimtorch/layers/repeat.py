"""``repeat`` and ``stack``: several calls of one layer, named TF-Slim's way.

    >>> with slim.Graph():
    ...     x = slim.repeat(torch.randn(1, 3, 8, 8), 3, slim.conv2d, 4, [3, 3], scope='conv3')
    ...     [v.name for v in slim.get_model_variables()][::2]
    ['conv3/conv3_1/weights', 'conv3/conv3_2/weights', 'conv3/conv3_3/weights']

Without a scope the outer scope is ``Repeat``/``Stack`` (made unique) and the
layers are named after the function: ``Repeat/convolution2d_1`` (TF-Slim's
``conv2d`` is named ``convolution2d``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..scopes import variable_scope

__all__ = ["repeat", "stack"]


def _layer_name(layer: Callable, fallback: str) -> str:
    if hasattr(layer, "__name__"):
        return layer.__name__
    func = getattr(layer, "func", None)  # a functools.partial
    if func is not None and hasattr(func, "__name__"):
        return func.__name__
    return fallback


def repeat(inputs: torch.Tensor, repetitions: int, layer: Callable, *args, **kwargs) -> torch.Tensor:
    """Applies ``layer`` ``repetitions`` times with the same arguments.

    The ``scope`` keyword names the outer scope ``s``; the calls are scoped
    ``s/s_1 ... s/s_n``.
    """
    scope = kwargs.pop("scope", None)
    if not isinstance(repetitions, int) or repetitions < 1:
        raise ValueError(f"repeat: repetitions must be a positive int, got {repetitions!r}")
    with variable_scope(scope, "Repeat"):
        prefix = scope or _layer_name(layer, "repeat")
        outputs = inputs
        for i in range(repetitions):
            kwargs["scope"] = f"{prefix}_{i + 1}"
            outputs = layer(outputs, *args, **kwargs)
        return outputs


def stack(inputs: torch.Tensor, layer: Callable, stack_args: Sequence, **kwargs) -> torch.Tensor:
    """Applies ``layer`` once per element of ``stack_args``, each a tuple of
    positional arguments (or a single one).

    ``stack(x, slim.fully_connected, [32, 64, 128], scope='fc')`` creates
    ``fc/fc_1``, ``fc/fc_2``, ``fc/fc_3``.
    """
    scope = kwargs.pop("scope", None)
    if not isinstance(stack_args, (list, tuple)):
        raise ValueError("stack_args need to be a list or tuple")
    with variable_scope(scope, "Stack"):
        prefix = scope or _layer_name(layer, "stack")
        outputs = inputs
        for i, layer_args in enumerate(stack_args):
            kwargs["scope"] = f"{prefix}_{i + 1}"
            if not isinstance(layer_args, (list, tuple)):
                layer_args = [layer_args]
            outputs = layer(outputs, *layer_args, **kwargs)
        return outputs
