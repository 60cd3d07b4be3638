"""``slim.layers.summaries``: tf.contrib.layers' ``summarize_*`` helpers.

Each records TensorBoard summaries with :mod:`slimtorch.summaries` (written by
the trainer's summary writer) and returns the tag it recorded (TF returns
the summary op). Scalars get a scalar summary, everything else a histogram;
the tag is ``<name>_summary`` as in TF:

    >>> with slim.Graph():
    ...     w = slim.model_variable('fc/weights', shape=[3, 2])
    ...     step = slim.variable('step', shape=[], dtype=torch.int64, trainable=False)
    ...     summarize_tensors([w, step])
    ['fc/weights_summary', 'step_summary']

The name of a value comes from a slim variable's ``name``, an outputs
collection entry's alias (``slim.utils.NamedOutput``), or ``tag=``; a plain
tensor has no name eagerly and needs ``tag=``.

Difference from TF-Slim: an eager tensor does not know which op made it, so
:func:`summarize_activation` learns the activation from ``activation_fn=``
(TF reads the op type) and measures ``zeros``/``sixes`` on the output rather
than on the activation's input: an input exactly 0 counts as a zero, and
one exactly 6 as a six (TF counts strictly below 0 and above 6).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Optional

import torch
import torch.nn.functional as F

from ..graph import GraphKeys
from ..summaries import histogram, scalar
from ..utils import NamedOutput
from ..variables import get_collection

__all__ = [
    "summarize_activation", "summarize_activations", "summarize_biases", "summarize_collection",
    "summarize_tensor", "summarize_tensors", "summarize_variables", "summarize_weights",
]

# What each activation's op type is in TF; the summaries depend on it.
_OP_TYPES = {
    F.relu: "Relu", torch.relu: "Relu", F.relu6: "Relu6", F.softplus: "Softplus",
    torch.nn.ReLU: "Relu", torch.nn.ReLU6: "Relu6", torch.nn.Softplus: "Softplus",
}


def _name_and_value(item, tag: Optional[str], who: str):
    """(name, tensor) of a collection item: a slim variable or a NamedOutput."""
    if isinstance(item, NamedOutput):
        return tag or item.name, item.outputs
    name = getattr(item, "name", None)
    if tag is None and not isinstance(name, str):
        raise ValueError(f"{who}: a plain tensor has no name eagerly; pass tag= (or summarize "
                         "a slim variable or an outputs-collection entry)")
    return tag or name, item


def summarize_tensor(tensor, tag: Optional[str] = None) -> Optional[str]:
    """A scalar summary for a scalar, a histogram for anything else; None
    (nothing recorded) for a boolean tensor, as TF skips them.

    Args:
        tensor: a slim variable, an outputs-collection entry, or a tensor with ``tag``.
        tag: the tag; default ``<name>_summary``.

    Returns:
        The tag recorded, or None.

    Example:
        >>> with slim.Graph():
        ...     summarize_tensor(torch.tensor(0.5), tag='loss'), summarize_tensor(torch.ones(3) > 0, 'b')
        ('loss', None)
    """
    name, value = _name_and_value(tensor, tag, "summarize_tensor")
    value = torch.as_tensor(value)
    if value.dtype == torch.bool:
        return None
    if tag is None:
        name = f"{name}_summary"
    if value.dim() == 0:
        return scalar(name, value)
    return histogram(name, value)


def _op_type(activation_fn) -> Optional[str]:
    if activation_fn is None or isinstance(activation_fn, str):
        return activation_fn
    kind = activation_fn if isinstance(activation_fn, type) else type(activation_fn)
    return _OP_TYPES.get(activation_fn) or _OP_TYPES.get(kind)


def summarize_activation(op, activation_fn=None, name: Optional[str] = None) -> str:
    """Summaries of a layer's activation: ``<name>/activation`` (a histogram)
    and, after ReLU/ReLU6/Softplus, ``<name>/zeros`` (the fraction of units
    whose input was negative), after ReLU6 ``<name>/sixes`` too.

    Args:
        op: the activation: an outputs-collection entry (``NamedOutput``), a
            slim variable, or a tensor with ``name``.
        activation_fn: the function that made it (``F.relu``, ``F.relu6``,
            ``F.softplus``, their modules, or TF's op type ``'Relu'``...);
            TF reads it from the op (see the module's difference note).
        name: the name (default: the entry's alias or the variable's name).

    Returns:
        The histogram's tag, ``<name>/activation``.

    Example:
        >>> import torch.nn.functional as F
        >>> with slim.Graph():
        ...     y = F.relu6(torch.tensor([-1., 0.5, 7., 8.]))
        ...     summarize_activation(y, F.relu6, name='conv1')
        ...     slim.summaries.get_summaries()
        'conv1/activation'
        ['conv1/zeros', 'conv1/sixes', 'conv1/activation']
    """
    name, value = _name_and_value(op, name, "summarize_activation")
    kind = _op_type(activation_fn)
    if activation_fn is not None and kind is None:
        kind = "other"
    if kind not in (None, "other", "Relu", "Relu6", "Softplus"):
        raise ValueError(f"summarize_activation {name!r}: unknown activation {activation_fn!r}; "
                         "pass a function such as F.relu or TF's op type ('Relu', 'Relu6', "
                         "'Softplus')")
    if kind in ("Relu", "Relu6"):
        scalar(f"{name}/zeros", value, transform=_fraction_at_most_zero)
    elif kind == "Softplus":
        scalar(f"{name}/zeros", value, transform=_fraction_below_log2)
    if kind == "Relu6":
        scalar(f"{name}/sixes", value, transform=_fraction_at_least_six)
    return histogram(f"{name}/activation", value)


# The fractions are computed when the summary is written, not at every step.
def _fraction_at_most_zero(value: torch.Tensor) -> torch.Tensor:
    return (value <= 0).float().mean()


def _fraction_below_log2(value: torch.Tensor) -> torch.Tensor:
    # softplus(x) < log 2 exactly when x < 0: TF's test of the input.
    return (value < 0.6931471805599453).float().mean()


def _fraction_at_least_six(value: torch.Tensor) -> torch.Tensor:
    return (value >= 6).float().mean()


def summarize_tensors(tensors: Iterable, summarizer: Callable = summarize_tensor) -> list:
    """``summarizer`` of each tensor; returns their results (tags)."""
    return [summarizer(tensor) for tensor in tensors]


def summarize_collection(collection: str, name_filter: Optional[str] = None,
                         summarizer: Callable = summarize_tensor) -> list:
    """Summarizes the graph collection ``collection``, only the items whose
    name matches ``name_filter`` (``re.match``, at the start) when given.

    Example:
        >>> with slim.Graph():
        ...     for alias in ('Test2', 'Foobar', 'Test3'):
        ...         _ = slim.utils.collect_named_outputs('foo', alias, torch.ones(2))
        ...     summarize_collection('foo', r'Test[123]')
        ['Test2_summary', 'Test3_summary']
    """
    items = []
    for item in get_collection(collection):
        item_name = item.name if isinstance(item, NamedOutput) else getattr(item, "name", None)
        if name_filter is None or (isinstance(item_name, str) and re.match(name_filter, item_name)):
            items.append(item)
    return summarize_tensors(items, summarizer)


def summarize_variables(name_filter: Optional[str] = None,
                        summarizer: Callable = summarize_tensor) -> list:
    """Summarizes every global variable (``tf.GraphKeys.GLOBAL_VARIABLES``)
    whose name matches ``name_filter``.

        >>> with slim.Graph():
        ...     _ = slim.variable('fc/weights', shape=[2, 2])
        ...     summarize_variables()
        ['fc/weights_summary']
    """
    return summarize_collection(GraphKeys.GLOBAL_VARIABLES, name_filter, summarizer)


def summarize_weights(name_filter: Optional[str] = None,
                      summarizer: Callable = summarize_tensor) -> list:
    """Summarizes the ``weights`` collection (``tf.GraphKeys.WEIGHTS``; TF-Slim's
    layers leave it empty too: fill it with ``variables_collections``)."""
    return summarize_collection(GraphKeys.WEIGHTS, name_filter, summarizer)


def summarize_biases(name_filter: Optional[str] = None,
                     summarizer: Callable = summarize_tensor) -> list:
    """Summarizes the ``biases`` collection (``tf.GraphKeys.BIASES``)."""
    return summarize_collection(GraphKeys.BIASES, name_filter, summarizer)


def summarize_activations(name_filter: Optional[str] = None,
                          summarizer: Callable = summarize_activation) -> list:
    """Summarizes the ``activations`` collection (``tf.GraphKeys.ACTIVATIONS``)
    with :func:`summarize_activation`."""
    return summarize_collection(GraphKeys.ACTIVATIONS, name_filter, summarizer)
