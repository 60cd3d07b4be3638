"""TF-Slim's ``aggregate_metrics`` and ``aggregate_metric_map``: many
``(value, update)`` pairs as two lists or two dicts."""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

import torch

from .base import StreamingMetric

__all__ = ["aggregate_metric_map", "aggregate_metrics"]


def aggregate_metrics(*value_update_tuples) -> Tuple[list, list]:
    """``(values, updates)`` lists from metrics (or ``(value, update)`` pairs).

        >>> values, updates = slim.metrics.aggregate_metrics(
        ...     slim.metrics.streaming_mean(), slim.metrics.count())
        >>> [update(torch.tensor([1.0, 3.0])).item() for update in updates]
        [2.0, 2.0]
    """
    if not value_update_tuples:
        raise ValueError("aggregate_metrics: expected at least one value_tensor/update_op pair")
    pairs = [_pair("aggregate_metrics", f"argument {i}", pair)
             for i, pair in enumerate(value_update_tuples)]
    return [value for value, _ in pairs], [update for _, update in pairs]


def aggregate_metric_map(names_to_tuples: Mapping) -> Tuple[Dict, Dict]:
    """``(names_to_values, names_to_updates)`` dicts, in the mapping's order.

        >>> values, updates = slim.metrics.aggregate_metric_map(
        ...     {'eval/mean': slim.metrics.streaming_mean()})
        >>> updates['eval/mean'](torch.tensor([1.0, 2.0])).item(), values['eval/mean']().item()
        (1.5, 1.5)

    Each entry must be a streaming metric (or a ``(value, update)`` pair of
    callables); one batch's value, such as ``slim.metrics.accuracy``'s
    tensor, is refused with the streaming form to use instead:

        >>> slim.metrics.aggregate_metric_map(
        ...     {'eval/Accuracy': slim.metrics.accuracy(torch.tensor([1]), torch.tensor([1]))})
        Traceback (most recent call last):
        ...
        TypeError: aggregate_metric_map: entry 'eval/Accuracy' is a tensor (one batch's value), not
        a (value, update) pair; use a streaming metric, e.g. slim.metrics.streaming_accuracy(...)
        instead of slim.metrics.accuracy(...)
    """
    if not names_to_tuples:
        raise ValueError("aggregate_metric_map: expected at least one name -> metric entry")
    pairs = {name: _pair("aggregate_metric_map", f"entry {name!r}", pair)
             for name, pair in names_to_tuples.items()}
    return ({name: value for name, (value, _) in pairs.items()},
            {name: update for name, (_, update) in pairs.items()})


def _pair(caller: str, where: str, entry) -> tuple:
    """``(value, update)`` of a metric or pair; a clear error for anything else."""
    if isinstance(entry, StreamingMetric):
        return entry.value, entry.update
    if isinstance(entry, (tuple, list)) and len(entry) == 2 and all(map(callable, entry)):
        return tuple(entry)
    if isinstance(entry, torch.Tensor):
        what = "a tensor (one batch's value)"
    elif isinstance(entry, (tuple, list)):
        items = ", ".join(type(item).__name__ for item in entry)
        what = f"a {type(entry).__name__} of ({items})"
    else:
        what = f"a {type(entry).__name__}"
    raise TypeError(f"{caller}: {where} is {what}, not a (value, update) pair; use a streaming "
                    "metric, e.g. slim.metrics.streaming_accuracy(...) instead of "
                    "slim.metrics.accuracy(...)")
