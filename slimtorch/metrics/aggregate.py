"""TF-Slim's ``aggregate_metrics`` and ``aggregate_metric_map``: many
``(value, update)`` pairs as two lists or two dicts."""

from __future__ import annotations

from typing import Dict, Mapping, Tuple

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
    pairs = [tuple(pair) for pair in value_update_tuples]
    return [value for value, _ in pairs], [update for _, update in pairs]


def aggregate_metric_map(names_to_tuples: Mapping) -> Tuple[Dict, Dict]:
    """``(names_to_values, names_to_updates)`` dicts, in the mapping's order.

        >>> values, updates = slim.metrics.aggregate_metric_map(
        ...     {'eval/mean': slim.metrics.streaming_mean()})
        >>> updates['eval/mean'](torch.tensor([1.0, 2.0])).item(), values['eval/mean']().item()
        (1.5, 1.5)
    """
    if not names_to_tuples:
        raise ValueError("aggregate_metric_map: expected at least one name -> metric entry")
    pairs = {name: tuple(pair) for name, pair in names_to_tuples.items()}
    return ({name: value for name, (value, _) in pairs.items()},
            {name: update for name, (_, update) in pairs.items()})
