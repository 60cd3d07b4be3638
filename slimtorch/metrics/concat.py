"""``streaming_concat``: every batch's values, concatenated along an axis."""

from __future__ import annotations

import math

import torch

from ._checks import as_tensor
from .base import StreamingMetric, start

__all__ = ["Concat", "streaming_concat"]


class Concat(StreamingMetric):
    """The batches concatenated along ``axis`` (dtype kept); with
    ``max_size``, the first ``max_size`` entries along the axis and nothing
    after. States (TF's names): ``array``, the entries with ``axis`` moved to
    the front, in a buffer with spare room that grows by half (as TF's), so
    an update costs the batch, not the whole stream; ``size``, how many
    entries are filled. Before any batch the value is an empty float tensor.

    ``update`` returns the concatenation so far (TF's ``update_op`` returns
    its size: the eager contract is that updates return the value); values
    share memory with the state, so copy one before changing it in place.
    Under torchrun, ranks' entries follow each other in rank order, cut to
    ``max_size`` after the gather.
    """

    default_name = "streaming_concat"
    api_name = "streaming_concat"

    def __init__(self, axis=0, max_size=None, name=None, metrics_collections=None,
                 updates_collections=None):
        super().__init__(name, metrics_collections, updates_collections)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"{self.label}: axis must be an integer, got {axis!r}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)
                                     or max_size < 0):
            raise ValueError(f"{self.label}: max_size must be None or an integer >= 0, "
                             f"got {max_size!r}")
        self.axis, self.max_size = axis, max_size
        self.add_state("array", reduce="cat")   # [] or [buffer]; rows gathered over ranks
        self.add_state("size", torch.zeros((), dtype=torch.int64))

    def _resolved_axis(self, rank: int) -> int:
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= axis < rank:
            raise ValueError(f"{self.label}: axis = {self.axis} not in [0, {rank}) for values "
                             f"of rank {rank}")
        return axis

    def _update(self, values) -> None:
        values = as_tensor(self.label, "values", values)
        entries = values.movedim(self._resolved_axis(values.dim()), 0)
        stored = self._values["array"]
        if stored and stored[0].shape[1:] != entries.shape[1:]:
            expected = list(stored[0].movedim(0, self._resolved_axis(stored[0].dim())).shape)
            expected[self._resolved_axis(len(expected))] = "any"
            raise ValueError(f"{self.label}: values of shape {list(values.shape)} do not fit "
                             f"the earlier batches' shape {expected}")
        size = int(self._values["size"])
        if self.max_size is not None:
            entries = entries[: self.max_size - size]
        if not len(entries):
            return
        buffer = stored[0] if stored else entries.new_empty((0,) + entries.shape[1:])
        needed = size + len(entries)
        if needed > len(buffer):
            room = _next_array_size(needed)
            grown = entries.new_empty((min(room, self.max_size or room),) + entries.shape[1:])
            grown[:size] = buffer[:size]
            buffer = grown
        buffer[size:needed] = entries   # a copy: callers may reuse their tensor
        self._set("array", [buffer])
        self._accumulate("size", torch.tensor(len(entries), device=entries.device))

    def _local_states(self):
        """The filled part of the buffer, uncopied (the base would concatenate
        the list, a copy of the whole stream at every update)."""
        stored, size = self._values["array"], self._values["size"]
        return {"array": stored[0][: int(size)] if stored else None, "size": size}

    def _compute(self, states) -> torch.Tensor:
        entries = states["array"]
        if entries is None:
            return torch.zeros(0)
        if self.max_size is not None:
            entries = entries[: self.max_size]
        return entries.movedim(0, self._resolved_axis(entries.dim()))


def _next_array_size(required_size: int, growth_factor: float = 1.5) -> int:
    """TF's buffer size for ``required_size`` entries: the smallest
    ``ceil(growth_factor ** n)`` that holds them (raised past any rounding of
    the logarithm, TF's large-size fix)."""
    exponent = math.ceil(math.log(required_size) / math.log(growth_factor))
    while math.ceil(growth_factor ** exponent) < required_size:
        exponent += 1
    return math.ceil(growth_factor ** exponent)


def streaming_concat(values=None, axis=0, max_size=None, metrics_collections=None,
                     updates_collections=None, name=None) -> Concat:
    """Every batch's values concatenated along ``axis`` (the other
    dimensions must agree); with ``max_size``, the first ``max_size``
    entries, after which updates change nothing.

        >>> value, update = slim.metrics.streaming_concat(max_size=5)
        >>> for batch in ([0, 1, 2], [3, 4], [5, 6, 7]):
        ...     _ = update(torch.tensor(batch))
        >>> value().tolist()
        [0, 1, 2, 3, 4]
    """
    return start(Concat(axis, max_size, name, metrics_collections, updates_collections), values)
