"""Where a run happens: the torchrun context, the device, this rank's share
of the data, batches moved there, and the progress bar. Shared by
``slim.learning.train`` and ``slim.evaluation``."""

from __future__ import annotations

import logging
import sys
from typing import Optional

import torch

from .. import distributed
from ..graph import get_default_graph

__all__ = ["device_type", "move_variables", "place", "prefetch_to_device", "progress_bar",
           "to_device"]

logger = logging.getLogger(__name__)


def place(device, data, seed):
    """``(ctx, device, data)``: the torchrun context (a single-process one
    outside torchrun), the device to run on (``'auto'``: this rank's GPU, or
    CUDA when available, else None = leave tensors where they are), and this
    rank's share of ``data``."""
    ctx = distributed.init_from_env(device=None if device in ("auto", None) else device)
    if ctx.enabled and device in ("auto", None):
        device = ctx.device   # each rank its own GPU, never all on cuda:0
    elif device == "auto":
        device = "cuda" if torch.cuda.is_available() else None
    if ctx.enabled:
        data = distributed.shard_data(data, ctx, seed=seed or 0)
    return ctx, device, data


def move_variables(device: Optional[torch.device] = None, memory_format=None) -> None:
    """Moves every module holding a variable of the default graph to ``device``
    (and/or ``memory_format``, for 4-D variables)."""
    for module in get_default_graph().modules():
        if device is not None:
            module.to(device)
        if memory_format is not None:
            module.to(memory_format=memory_format)


def device_type(batch) -> str:
    """The device type of a batch's tensors (the first non-CPU one), for
    ``torch.autocast``."""
    if isinstance(batch, torch.Tensor):
        return batch.device.type
    if isinstance(batch, (list, tuple)):
        return next((device_type(b) for b in batch if device_type(b) != "cpu"), "cpu")
    if isinstance(batch, dict):
        return device_type(list(batch.values()))
    return "cpu"


def progress_bar(progress: Optional[bool], total: Optional[int], start: int, unit: str = "step"):
    """A ``tqdm`` bar, or None: ``progress=None`` means only when stderr is a
    terminal (log lines otherwise)."""
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        logger.warning("progress=True needs tqdm (pip install tqdm); logging instead")
        return None
    return tqdm(total=total, initial=start, unit=unit, dynamic_ncols=True)


def to_device(batch, device, channels_last: bool = False):
    """``batch`` (a tensor, or lists/tuples/dicts of them) on ``device``;
    4-D tensors channels-last if asked."""
    if device is None and not channels_last:
        return batch
    if isinstance(batch, torch.Tensor):
        if device is not None:
            batch = batch.to(device, non_blocking=True)
        if channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(b, device, channels_last) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device, channels_last) for k, v in batch.items()}
    return batch


def prefetch_to_device(batches, device, channels_last: bool = False):
    """Yields ``(epoch, index, batch)`` from ``batches`` with each batch on
    ``device``, starting the next batch's copy before the current one is
    handed out: from pinned memory (``DataLoader(pin_memory=True)``) the
    copy to a GPU then runs while the current step computes. On the CPU (or
    ``device=None``) it just moves each batch.
    """
    if device is None or torch.device(device).type == "cpu":
        for epoch, index, batch in batches:
            yield epoch, index, to_device(batch, device, channels_last)
        return
    ahead = None
    for epoch, index, batch in batches:
        moved = (epoch, index, to_device(batch, device, channels_last))   # non_blocking copy
        if ahead is not None:
            yield ahead
        ahead = moved
    if ahead is not None:
        yield ahead
