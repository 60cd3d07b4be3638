"""Variables picked by name: filtered by patterns, or assigned values.

``filter_variables`` narrows a list of variables with regular expressions
(TF-Slim's include/exclude rules); ``assign_from_values`` finds variables by
their full names and sets them to given values, eagerly:

    >>> with slim.Graph():
    ...     w = slim.variable('fc/weights', shape=[2, 3])
    ...     assign_op, feed_dict = slim.assign_from_values({'fc/weights': [[1, 2, 3], [4, 5, 6]]})
    ...     assign_op()             # TF: sess.run(assign_op, feed_dict)
    ...     w.tolist()
    [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping, Optional, Sequence

import numpy as np
import torch

from ._layouts import Layout
from .graph import GraphKeys, VariableRecord
from .scopes import current_frame

__all__ = ["AssignOp", "assign_from_values", "assign_from_values_fn", "filter_variables"]


def _name_of(var, index: int) -> str:
    name = getattr(var, "name", None)
    if not isinstance(name, str):
        raise TypeError(f"filter_variables: var_list[{index}] has no name (got "
                        f"{type(var).__name__}); pass slim variables, e.g. slim.get_model_variables()")
    return name + ":0"  # TF's names end with ':0'; patterns written for them keep working


def filter_variables(var_list: Iterable, include_patterns: Optional[Sequence[str]] = None,
                     exclude_patterns: Optional[Sequence[str]] = None,
                     reg_search: bool = True) -> list:
    """The variables of ``var_list`` that match any ``include_patterns`` and
    none of ``exclude_patterns`` (TF-Slim's ``filter_variables``).

    Args:
        var_list: variables (anything with a ``name``).
        include_patterns: regular expressions; None keeps every variable.
        exclude_patterns: regular expressions; None drops none.
        reg_search: True: a pattern may match anywhere in the name
            (``re.search``); False: from its start (``re.match``).

    Returns:
        The kept variables, in ``var_list``'s order, each once.

    Example:
        >>> with slim.Graph():
        ...     for name in ('conv1/weights', 'conv1/biases', 'logits/weights'):
        ...         _ = slim.model_variable(name, shape=[1])
        ...     kept = slim.filter_variables(slim.get_model_variables(),
        ...                                  include_patterns=['conv', 'logits'],
        ...                                  exclude_patterns=['biases'])
        ...     [v.name for v in kept]
        ['conv1/weights', 'logits/weights']
    """
    find = re.search if reg_search else re.match
    variables = list(var_list)
    names = [_name_of(var, i) for i, var in enumerate(variables)]
    kept = []
    for var, name in zip(variables, names):
        if include_patterns is not None and not any(find(p, name) for p in include_patterns):
            continue
        if exclude_patterns is not None and any(find(p, name) for p in exclude_patterns):
            continue
        kept.append(var)
    return kept


class AssignOp:
    """What :func:`assign_from_values` returns in place of TF's assign op:
    calling it sets every variable to its value, now.

    ``op(feed_dict)`` assigns the values of another ``feed_dict`` with the
    same keys (the variables); ``op.names`` lists the variables' full names.
    """

    def __init__(self, layouts: dict, feed_dict: dict) -> None:
        self._layouts = layouts
        self._feed_dict = feed_dict

    @property
    def names(self) -> list[str]:
        return [var.name for var in self._layouts]

    def __call__(self, feed_dict: Optional[Mapping] = None) -> None:
        feed_dict = self._feed_dict if feed_dict is None else feed_dict
        with torch.no_grad():
            for var, layout in self._layouts.items():
                value = torch.as_tensor(feed_dict[var])
                var.copy_(layout.to_torch(value.to(device=var.device, dtype=var.dtype)))

    def __repr__(self) -> str:
        return f"<slim.AssignOp of {self.names}>"


def _find(var_name: str) -> VariableRecord:
    """TF's lookup: the global variables whose names start with
    ``var_name``; among several, the one named exactly so."""
    records = current_frame().graph.find(GraphKeys.GLOBAL_VARIABLES, var_name)
    if not records:
        raise ValueError(f"Variable {var_name} wasn't found")
    if len(records) == 1:
        return records[0]
    for record in records:
        if record.name == var_name:
            return record
    raise ValueError(f"Variable {var_name} doesn't uniquely identify a variable: "
                     f"{[r.name for r in records]} match")


def _tf_value(record: VariableRecord, value) -> torch.Tensor:
    """``value`` reshaped to the variable's TF shape (TF's
    ``var_value.reshape(var.get_shape())``)."""
    layout: Layout = record.layout
    tf_shape = layout.tf_shape(record.tensor.shape)
    tensor = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if tensor.numel() != int(np.prod(tf_shape)):
        raise ValueError(f"assign_from_values: the value for {record.name} has shape "
                         f"{list(tensor.shape)} ({tensor.numel()} elements), but the variable's "
                         f"shape is {tf_shape}; pass a value with {int(np.prod(tf_shape))} elements")
    return tensor.reshape(tf_shape)


def assign_from_values(var_names_to_values: Mapping[str, object]) -> tuple[AssignOp, dict]:
    """Prepares assigning values to the variables named by the keys
    (TF-Slim's ``assign_from_values``).

    TF returns ``(assign_op, feed_dict)`` for ``sess.run(assign_op,
    feed_dict)``. Eagerly the pair is kept, so TF code unpacks it unchanged:
    ``assign_op`` is an :class:`AssignOp` that assigns when called
    (``assign_op()``), and ``feed_dict`` maps each variable to its value, in
    the variable's TF shape (``value.reshape(var_shape)`` as in TF; a conv
    kernel's value is ``[kh, kw, in, out]`` and is rearranged into the stored
    layout on assignment). Nothing is assigned until ``assign_op`` is called.

    Args:
        var_names_to_values: full variable names (each the start of one
            global variable's name, or exactly one's name) to values
            (arrays, tensors, nested lists or numbers).

    Returns:
        ``(assign_op, feed_dict)``.

    Raises:
        ValueError: a name matches no variable, or several and none
            exactly; or a value has the wrong number of elements.

    Example:
        >>> with slim.Graph():
        ...     k = slim.variable('conv/weights', shape=[1, 1, 2, 3], layout='conv')
        ...     op, feed = slim.assign_from_values({'conv/weights': torch.arange(6.0)})
        ...     op()
        ...     k.shape, k[:, :, 0, 0].tolist(), op
        (torch.Size([3, 2, 1, 1]), [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]], <slim.AssignOp of ['conv/weights']>)
    """
    layouts, feed_dict = {}, {}
    for var_name, value in var_names_to_values.items():
        record = _find(var_name)
        var = record.tensor
        layouts[var] = record.layout
        feed_dict[var] = _tf_value(record, value)
    return AssignOp(layouts, feed_dict), feed_dict


def assign_from_values_fn(var_names_to_values: Mapping[str, object]) -> Callable[..., None]:
    """A function that assigns the values to the variables named by the keys
    (TF-Slim's ``assign_from_values_fn``): the names and shapes are checked
    now (see :func:`assign_from_values`), the values assigned when it is
    called. It accepts and ignores one argument, so TF's ``init_fn(sess)``
    (and ``slim.learning.train(init_fn=...)``) work unchanged.

    Example:
        >>> with slim.Graph():
        ...     b = slim.variable('fc/biases', shape=[2])
        ...     init_fn = slim.assign_from_values_fn({'fc/biases': [0.5, -1.0]})
        ...     init_fn(None)
        ...     b.tolist()
        [0.5, -1.0]
    """
    assign_op, feed_dict = assign_from_values(var_names_to_values)

    def callback(session=None) -> None:
        assign_op(feed_dict)
    return callback
