"""Where a run happens: the torchrun context, the device, this rank's share
of the data, batches moved there, and what the user sees (the progress bar,
log lines on stderr by default). Shared by ``slim.learning.train`` and
``slim.evaluation``."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from typing import Iterator, Optional, Sequence

import torch

from .. import distributed
from ..graph import get_default_graph

__all__ = ["device_type", "log_to_stderr_by_default", "max_over_ranks", "move_variables", "place",
           "prefetch_to_device", "progress_bar", "to_device"]

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


_LOG_FORMAT = "%(levelname)s:%(name)s:%(message)s"   # what logging.basicConfig() prints
_default_handler_guard = threading.Lock()
_default_handler_users = [0, None, None]   # trainers using it, the handler, the level it replaced


def _logging_configured() -> bool:
    """Whether the user set up logging anywhere slimtorch's records go: the
    root logger, ``slimtorch`` or one of its children has a handler."""
    if logging.getLogger().handlers:
        return True
    loggers = [logging.getLogger("slimtorch")] + [
        logger for name, logger in list(logging.Logger.manager.loggerDict.items())
        if name.startswith("slimtorch.") and isinstance(logger, logging.Logger)]
    return any(logger.handlers for logger in loggers)


@contextlib.contextmanager
def log_to_stderr_by_default() -> Iterator[None]:
    """For the duration of the block, ``slimtorch``'s INFO lines (progress,
    resume, warnings) go to stderr, as TF-Slim's did, unless the program
    configured logging itself (a handler on the root logger or on
    ``slimtorch``): then nothing is touched. The handler goes on the
    ``slimtorch`` logger, never the root, and is removed afterwards; a level
    the user set on ``slimtorch`` is kept.

        >>> import logging
        >>> with log_to_stderr_by_default():
        ...     configured = bool(logging.getLogger().handlers)
        ...     configured or len(logging.getLogger('slimtorch').handlers) == 1
        True
        >>> logging.getLogger('slimtorch').handlers
        []
    """
    package = logging.getLogger("slimtorch")
    with _default_handler_guard:
        if _default_handler_users[0]:
            _default_handler_users[0] += 1   # another trainer (thread) installed it already
            mine = True
        elif _logging_configured():
            mine = False
        else:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter(_LOG_FORMAT))
            _default_handler_users[:] = [1, handler, package.level]
            package.addHandler(handler)
            if package.level == logging.NOTSET:   # the root's WARNING would hide progress
                package.setLevel(logging.INFO)
            mine = True
    try:
        yield
    finally:
        if mine:
            with _default_handler_guard:
                _default_handler_users[0] -= 1
                if not _default_handler_users[0]:
                    _, handler, level = _default_handler_users
                    package.removeHandler(handler)
                    package.setLevel(level)
                    _default_handler_users[:] = [0, None, None]


def max_over_ranks(values: Sequence[int], ctx) -> list:
    """The element-wise maximum of small non-negative integers over all
    torchrun ranks (one collective), e.g. "a rank got a signal" and "the
    chief's save timer expired" agreed in one step. Every rank must call it;
    without a process group it returns ``values``.

        >>> max_over_ranks([0, 15], distributed.DistContext())
        [0, 15]
    """
    if not (ctx.enabled and ctx.world_size > 1):
        return [int(v) for v in values]
    import torch.distributed as dist
    t = torch.tensor([int(v) for v in values], dtype=torch.int64, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [int(v) for v in t.tolist()]


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
