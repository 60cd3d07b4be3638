"""Named layer outputs: how TF-Slim nets build their ``end_points``.

Layers given ``outputs_collections=[key]`` append ``(alias, tensor)`` to that
collection, the alias being the layer's scope name; then
``convert_collection_to_dict(key)`` gives an ordered ``{alias: tensor}``.

    >>> def net(x):
    ...     with slim.arg_scope([slim.fully_connected], outputs_collections=['ends']):
    ...         x = slim.fully_connected(x, 4, scope='fc1')
    ...     return x, slim.utils.convert_collection_to_dict('ends')
    >>> with slim.Graph():
    ...     _, end_points = slim.Model(net)(torch.randn(2, 3))
    >>> list(end_points)
    ['fc1']

Inside a ``slim.Model`` these collections belong to one call, so calling a
model every step does not accumulate old outputs.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, NamedTuple

import torch

from .scopes import current_frame

__all__ = ["NamedOutput", "collect_named_outputs", "convert_collection_to_dict"]


class NamedOutput(NamedTuple):
    """One entry of an outputs collection."""

    name: str
    outputs: Any


def collect_named_outputs(collections, alias: str, outputs: torch.Tensor) -> torch.Tensor:
    """Appends ``NamedOutput(alias, outputs)`` to each collection; returns ``outputs``."""
    if collections:
        frame = current_frame()
        if isinstance(collections, str):
            collections = [collections]
        for key in collections:
            frame.collections.setdefault(key, []).append(NamedOutput(alias, outputs))
            frame.output_keys.add(key)
    return outputs


def convert_collection_to_dict(collection: str, clear_collection: bool = False) -> "OrderedDict[str, Any]":
    """``{alias: output}`` from an outputs collection, in insertion order."""
    frame = current_frame()
    items = frame.collections.get(collection, [])
    result = OrderedDict((item.name, item.outputs) for item in items
                         if isinstance(item, NamedOutput))
    if clear_collection:
        frame.collections.pop(collection, None)
    return result
