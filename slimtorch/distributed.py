"""torchrun / DDP helpers for ``slim.learning.train`` (and for hand-written loops).

TF-Slim spread a step over several GPUs with ``model_deploy`` (one clone per
device, gradients summed and averaged). Here each device is a process
started by ``torchrun``; these helpers do what one step needs:

- :func:`init_from_env` reads torchrun's variables (``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) and joins the process
  group, NCCL on CUDA, gloo otherwise. Without them it returns a
  single-process :class:`DistContext`, on which every helper is a no-op, so one
  script runs with ``python`` and with ``torchrun``.
- :func:`broadcast_variables` makes every rank start from rank 0's variables.
- :func:`shard_data` gives each rank a disjoint, equally long part of the data.
- :func:`average_gradients` after ``backward()``: with each rank's loss a mean
  over its own batch of the same size, the update is the single-process
  update on the global batch (all ranks' batches together).
- :func:`is_chief`, :func:`barrier`: rank 0 alone writes checkpoints and
  summaries, and the others wait for it.
- :func:`all_reduce_mean` for logging the global loss; :func:`any_rank` and
  :func:`broadcast_object` for decisions every rank must share (save now?
  resume from which checkpoint?); :func:`variables_in_sync` to check that the
  ranks agree; :func:`wrap_ddp` for users who call one model themselves and
  prefer ``DistributedDataParallel``; :func:`sync_batch_norms` for batch
  statistics over the global batch.

A single process, as under plain ``python`` (doctests run like this):

    >>> ctx = slim.distributed.init_from_env(device='cpu')
    >>> ctx.rank, ctx.world_size, ctx.is_chief, ctx.enabled
    (0, 1, True, False)
    >>> slim.distributed.all_reduce_mean(torch.tensor(2.5), ctx)
    2.5
    >>> slim.distributed.shard_data([1, 2, 3], ctx)
    [1, 2, 3]

A training loop written with them (run it as ``torchrun --nproc-per-node=2
train.py``; ``python train.py`` runs it in one process)::

    ctx = slim.distributed.init_from_env()
    net = slim.Model(my_net)
    net.build(example_batch_shape, device=ctx.device)  # same shapes on every rank
    slim.distributed.broadcast_variables(slim.get_variables(), ctx)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    loader = slim.distributed.shard_data(loader, ctx, shuffle=True)
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)           # a new order each epoch
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(net(x.to(ctx.device)), y.to(ctx.device))   # mean over the local batch
            loss.backward()
            slim.distributed.average_gradients(net.parameters(), ctx)
            optimizer.step()
        if ctx.is_chief:
            save(...)
        slim.distributed.barrier(ctx)             # nobody reads a half-written file
    slim.distributed.destroy(ctx)

Batch norm: each rank normalizes with its own batch's statistics and updates
its own moving averages (TF-Slim's clones did the same and kept clone 0's
updates); rank 0's are the ones saved. The global-batch equivalence above
holds exactly for models without batch statistics.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import os
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Union

import torch
import torch.distributed as dist

__all__ = ["DistContext", "TORCHRUN_VARIABLES", "all_reduce_mean", "any_rank",
           "average_gradients", "barrier", "broadcast_object", "broadcast_variables", "destroy",
           "init_from_env", "is_chief", "shard_data", "sync_batch_norms", "variables_in_sync",
           "wrap_ddp"]

logger = logging.getLogger(__name__)

#: What ``init_from_env`` needs; torchrun sets all of them (and a few more).
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

# DDP's default bucket size: big enough that each collective is bandwidth-bound,
# small enough that the extra copy of the gradients stays modest.
_BUCKET_CAP_MB = 25


@dataclass(frozen=True)
class DistContext:
    """Where this process stands in a (possibly one-process) training job.

    Attributes:
        rank: global rank (0 .. world_size - 1).
        world_size: number of processes.
        local_rank: rank on this machine (which GPU).
        device: ``cuda:<local_rank>`` under CUDA, else ``cpu`` (or what
            :func:`init_from_env` was given).
        backend: ``'nccl'``, ``'gloo'``, ...; None without a process group.
        is_chief: rank 0, the process that writes checkpoints and summaries
            (default: computed from ``rank``).
        enabled: a process group is in use (``world_size > 1`` or launched by
            torchrun); when False every collective helper is a no-op.

    A context for a rank can be made by hand, e.g. for :func:`shard_data`,
    which needs no process group:

        >>> DistContext(rank=1, world_size=2)
        DistContext(rank=1, world_size=2, local_rank=0, device=device(type='cpu'),
                    backend=None, is_chief=False, enabled=True)
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: Optional[str] = None
    is_chief: Optional[bool] = None
    enabled: Optional[bool] = None
    # Whether init_from_env created the process group (so destroy(ctx) may end it).
    owns_group: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"DistContext: rank {self.rank} is not in [0, {self.world_size})")
        object.__setattr__(self, "device", torch.device(self.device))
        if self.is_chief is None:
            object.__setattr__(self, "is_chief", self.rank == 0)
        if self.enabled is None:
            object.__setattr__(self, "enabled", self.world_size > 1)


# -- process group ----------------------------------------------------------------------
def _default_device(local_rank: int, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise RuntimeError(f"init_from_env: LOCAL_RANK={local_rank} but this machine has "
                               f"{count} CUDA device(s); start at most {count} processes per "
                               "node (torchrun --nproc-per-node) or pass device='cpu'")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _env_int(name: str) -> int:
    value = os.environ[name]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"init_from_env: {name} must be an integer, got {value!r}") from None


def _check_torchrun_env() -> bool:
    """True when all of torchrun's variables are set, False when none is;
    a partial set (a hand-made launch gone wrong) raises, naming what is missing."""
    present = [name for name in TORCHRUN_VARIABLES if os.environ.get(name)]
    if not present:
        return False
    missing = [name for name in TORCHRUN_VARIABLES if name not in present]
    if missing:
        def verb(names):
            return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'}"
        raise RuntimeError(
            f"torchrun environment incomplete: {verb(present)} set but {verb(missing)} not; "
            f"launch with `torchrun --nproc-per-node=N script.py`, set all of "
            f"{', '.join(TORCHRUN_VARIABLES)}, or unset them all for a single process")
    return True


def _context_from_group(device, owns_group: bool) -> DistContext:
    rank, world_size = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank,
                       device=_default_device(local_rank, device),
                       backend=str(dist.get_backend()), enabled=True, owns_group=owns_group)


def init_from_env(backend: Optional[str] = None, device=None,
                  timeout: Optional[datetime.timedelta] = None) -> DistContext:
    """Joins the job torchrun started, or returns a single-process context.

    - An already initialized default process group is used as it is (so
      calling this twice, or after your own ``init_process_group``, is fine).
    - All of ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
      ``MASTER_PORT`` set: initializes the default process group (``env://``)
      with ``backend`` (default NCCL when the device is CUDA, else gloo) and,
      on CUDA, makes ``cuda:<LOCAL_RANK>`` the current device.
    - None of them set: a one-process context (``enabled=False``).
    - Some set: ``RuntimeError`` naming the missing ones.

    Args:
        backend: process-group backend; default by device as above.
        device: this rank's device; default ``cuda:<LOCAL_RANK>`` when CUDA is
            available, else ``cpu``.
        timeout: collective timeout (torch's default when None); raise it when
            rank 0 may spend long writing checkpoints while the others wait.

    Example (no torchrun variables here):

        >>> init_from_env(device='cpu')
        DistContext(rank=0, world_size=1, local_rank=0, device=device(type='cpu'),
                    backend=None, is_chief=True, enabled=False)
    """
    if dist.is_available() and dist.is_initialized():
        return _context_from_group(device, owns_group=False)
    if not _check_torchrun_env():
        return DistContext(device=_default_device(0, device))
    if not dist.is_available():
        raise RuntimeError("init_from_env: torchrun variables are set but this torch build has "
                           "no torch.distributed")
    rank, world_size, local_rank = (_env_int(n) for n in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if not 0 <= rank < world_size:
        raise ValueError(f"init_from_env: RANK={rank} is not in [0, WORLD_SIZE={world_size})")
    device = _default_device(local_rank, device)
    backend = backend or ("nccl" if device.type == "cuda" else "gloo")
    kwargs = {}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        if backend == "nccl":
            # Binding the device lets NCCL connect eagerly and lets barrier()
            # know which GPU to use (otherwise it guesses and warns).
            kwargs["device_id"] = device
    if timeout is not None:
        kwargs["timeout"] = timeout
    _import_group_defaults_early()
    dist.init_process_group(backend, rank=rank, world_size=world_size, **kwargs)
    logger.info("init_from_env: rank %d of %d (local rank %d) on %s, backend %s",
                rank, world_size, local_rank, device, backend)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device,
                       backend=backend, enabled=True, owns_group=True)


def _import_group_defaults_early() -> None:
    """Imports ``torch.distributed.nn.functional`` before the process group
    exists.

    Its functions take ``group=group.WORLD`` as a default argument, which
    Python evaluates once, at import: imported after ``init_process_group``
    (DistributedDataParallel imports it through ``torch._dynamo``) they pin
    the default group forever, ``destroy_process_group`` cannot free it, and
    gloo's worker threads outlive it into interpreter shutdown, where one
    still releasing a finished collective's tensors aborts the process
    ("terminate called without an active exception", torch 2.14). Imported
    first, the defaults are ``None`` and ``destroy`` really ends the group.
    """
    importlib.import_module("torch.distributed.nn.functional")   # for the side effect


def destroy(ctx: Optional[DistContext] = None) -> None:
    """Tears the default process group down. With ``ctx``, only if
    :func:`init_from_env` created it (a group the caller set up is theirs to end).

        >>> destroy(init_from_env(device='cpu'))   # nothing to do in one process
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if ctx is not None and not ctx.owns_group:
        return
    dist.destroy_process_group()


def _active(ctx: DistContext) -> bool:
    """Whether collectives must run: a context of several processes."""
    return ctx.enabled and ctx.world_size > 1


def is_chief(ctx: Optional[DistContext] = None) -> bool:
    """Whether this process is rank 0 (the one that writes files). Without
    ``ctx``: from the initialized process group, else ``RANK``, else True.

        >>> is_chief(DistContext(rank=1, world_size=2)), is_chief()
        (False, True)
    """
    if ctx is not None:
        return ctx.is_chief
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def barrier(ctx: DistContext) -> None:
    """Waits until every rank gets here (after rank 0 saved a checkpoint, say).
    Every rank must call it, never inside ``if ctx.is_chief:``."""
    if not _active(ctx):
        return
    if ctx.backend == "nccl" and ctx.device.type == "cuda":
        dist.barrier(device_ids=[ctx.device.index])
    else:
        dist.barrier()


def all_reduce_mean(value, ctx: DistContext) -> float:
    """The mean of a scalar over all ranks, as a float on every rank (e.g. the
    global loss for logging: each rank's loss is the mean over an equally
    large local batch, so this is the loss on the global batch). Every rank
    must call it.

        >>> all_reduce_mean(3, DistContext())
        3.0
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"all_reduce_mean: expected a scalar, got shape {list(value.shape)}")
        value = value.detach()
    if not _active(ctx):
        return float(value)
    # float64 on the context's device: NCCL needs CUDA tensors, and the sum of
    # many float32 losses should not lose digits.
    t = torch.as_tensor(value, dtype=torch.float64).reshape(1).to(ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / ctx.world_size


def any_rank(flag, ctx: DistContext) -> bool:
    """True on every rank if ``flag`` is true on at least one. Every rank
    must call it. For decisions that must be the same everywhere though only
    some ranks can make them, e.g. "the chief's save timer expired":
    ``any_rank(ctx.is_chief and timer_expired, ctx)``, then every rank takes
    the branch (and reaches the same barrier).

        >>> any_rank(True, DistContext()), any_rank(False, DistContext())
        (True, False)
    """
    if not _active(ctx):
        return bool(flag)
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def broadcast_object(obj, ctx: DistContext, src: int = 0):
    """Rank ``src``'s ``obj`` (any picklable value) on every rank, e.g. the
    checkpoint the chief decided to resume from. Every rank must call it; the
    others' ``obj`` is ignored.

        >>> broadcast_object({'resume': None}, DistContext())
        {'resume': None}
    """
    if not _active(ctx):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src, device=ctx.device)
    return box[0]


# -- tensors ----------------------------------------------------------------------------
def _unique(tensors) -> List[torch.Tensor]:
    """Tensors from a module (parameters and buffers), a mapping (its values)
    or an iterable, each once (tied weights appear once)."""
    if isinstance(tensors, torch.nn.Module):
        tensors = [*tensors.parameters(), *tensors.buffers()]
    elif hasattr(tensors, "values") and callable(tensors.values):
        tensors = tensors.values()
    elif isinstance(tensors, torch.Tensor):
        tensors = [tensors]
    seen, out = set(), []
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"expected tensors, got {type(t).__name__}")
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def _buckets(tensors, cap_bytes: int) -> List[List[torch.Tensor]]:
    """Groups tensors of one device and dtype, in order, into buckets of at
    most ``cap_bytes`` (a bigger tensor gets a bucket of its own). The layout
    depends only on the tensors' order, shapes and dtypes, so every rank
    makes the same buckets from the same model."""
    open_buckets: dict = {}   # (device, dtype) -> [tensors, bytes] still being filled
    out: List[List[torch.Tensor]] = []
    for t in tensors:
        key = (t.device, t.dtype)
        size = t.numel() * t.element_size()
        bucket = open_buckets.get(key)
        if bucket is None or (bucket[0] and bucket[1] + size > cap_bytes):
            bucket = open_buckets[key] = [[], 0]
            out.append(bucket[0])
        bucket[0].append(t)
        bucket[1] += size
    return out


def _check_device(t: torch.Tensor, ctx: DistContext, what: str) -> None:
    if t.device.type == "meta":
        raise ValueError(f"{what}: a tensor is on the meta device; materialize the model first")
    if ctx.backend == "nccl" and t.device.type != "cuda":
        raise ValueError(f"{what}: NCCL needs CUDA tensors, got one on {t.device}; move the "
                         f"model to {ctx.device} first")


def average_gradients(params: Iterable[torch.Tensor], ctx: DistContext,
                      bucket_cap_mb: float = _BUCKET_CAP_MB) -> None:
    """Replaces each parameter's ``.grad`` by its mean over all ranks.

    Call it on every rank after ``loss.backward()`` and before clipping and
    ``optimizer.step()``. When each rank's loss is the mean over its local
    batch and all local batches have the same size, the averaged gradient
    is the gradient of the mean loss over the global batch, so the update is
    the single-process one on all ranks' examples together.

    Gradients are summed in flat buckets (one collective per ~``bucket_cap_mb``
    of one dtype and device, all in flight at once), then divided by the
    world size. ``params`` must list the same parameters in the same order on
    every rank (``train_op.variables_to_train``, ``model.parameters()``).
    A parameter without a gradient on this rank counts as a zero gradient;
    it gets the average if another rank has one, and keeps ``grad=None`` if
    no rank does (so the optimizer still skips it). Parameters that neither
    require grad nor have one are left out.

        >>> w = torch.nn.Parameter(torch.ones(2)); (3 * w).sum().backward()
        >>> average_gradients([w], DistContext())   # one process: unchanged
        >>> w.grad
        tensor([3., 3.])
    """
    if not _active(ctx):
        return
    params = [p for p in _unique(params) if p.requires_grad or p.grad is not None]
    for p in params:
        _check_device(p, ctx, "average_gradients")
        if p.grad is not None and p.grad.is_sparse:
            raise NotImplementedError("average_gradients: sparse gradients are not supported")
    pending = []
    for bucket in _buckets(params, int(bucket_cap_mb * 2 ** 20)):
        dtype, device = bucket[0].dtype, bucket[0].device
        pieces = [p.grad.reshape(-1) if p.grad is not None
                  else torch.zeros(p.numel(), dtype=dtype, device=device) for p in bucket]
        # One "has a gradient" flag per parameter rides along in the same
        # collective: after the sum it is 0 only where no rank had a gradient.
        # (Made on the device: a tensor from a Python list would be a host copy.)
        flags = torch.ones(len(bucket), dtype=dtype, device=device)
        missing = [i for i, p in enumerate(bucket) if p.grad is None]
        if missing:
            flags[missing] = 0
        flat = torch.cat(pieces + [flags])
        work = dist.all_reduce(flat, op=dist.ReduceOp.SUM, async_op=True)
        pending.append((bucket, flat, work))
    with torch.no_grad():
        for bucket, flat, work in pending:
            work.wait()
            flat.div_(ctx.world_size)
            chunks = flat.split([p.numel() for p in bucket] + [len(bucket)])
            flags = chunks[-1]
            have = [(p.grad, c.view_as(p)) for p, c in zip(bucket, chunks) if p.grad is not None]
            if have:
                torch._foreach_copy_([g for g, _ in have], [c for _, c in have])
            for i, p in enumerate(bucket):
                # Host sync only for gradients missing here (rare: unused heads).
                if p.grad is None and flags[i].item() > 0:
                    p.grad = chunks[i].view_as(p).clone()


def _signature(tensors, device) -> torch.Tensor:
    """An int64 fingerprint of the tensors' count, shapes and dtypes (crc32,
    not ``hash``, which differs between processes)."""
    layout = ";".join(f"{tuple(t.shape)}:{t.dtype}" for t in tensors)
    return torch.tensor([len(tensors), zlib.crc32(layout.encode())], dtype=torch.int64,
                        device=device)


def _check_same_layout(tensors, ctx: DistContext, src: int, what: str) -> None:
    """Raises on every rank (not just the odd one, which would leave the
    others hanging in the next collective) unless all ranks hold tensors of
    the same count, shapes and dtypes as ``src``."""
    mine = _signature(tensors, ctx.device)
    theirs = mine.clone()
    dist.broadcast(theirs, src)
    bad = torch.tensor([0 if torch.equal(mine, theirs) else 1], device=ctx.device)
    dist.all_reduce(bad, op=dist.ReduceOp.SUM)
    if int(bad.item()):
        raise RuntimeError(f"{what}: {int(bad.item())} rank(s) hold variables whose number, "
                           f"shapes or dtypes differ from rank {src}'s; build the models "
                           "identically (same code, same input shapes) on every rank")


def broadcast_variables(tensors, ctx: DistContext, src: int = 0,
                        bucket_cap_mb: float = _BUCKET_CAP_MB) -> None:
    """Copies rank ``src``'s values into every rank's tensors, in place.

    ``tensors``: a module (its parameters and buffers), a mapping (e.g. a
    ``state_dict``) or tensors, such as ``slim.get_variables()`` (which includes
    batch-norm moving statistics and the global step). Call it on every rank
    once the models are built and initialized or restored; if every rank
    restored the same checkpoint it changes nothing, which is the point of a
    safety net. The ranks' tensors must match in number, shape and dtype
    (checked first: a mismatch raises on all ranks).

        >>> v = torch.zeros(3)
        >>> broadcast_variables([v], DistContext())   # one process: nothing to do
    """
    if not _active(ctx):
        return
    tensors = _unique(tensors)
    for t in tensors:
        _check_device(t, ctx, "broadcast_variables")
    _check_same_layout(tensors, ctx, src, "broadcast_variables")
    pending = []
    for bucket in _buckets(tensors, int(bucket_cap_mb * 2 ** 20)):
        flat = torch.cat([t.detach().reshape(-1) for t in bucket])
        pending.append((bucket, flat, dist.broadcast(flat, src, async_op=True)))
    with torch.no_grad():
        for bucket, flat, work in pending:
            work.wait()
            if ctx.rank == src:
                continue
            offset = 0
            for t in bucket:
                t.copy_(flat[offset:offset + t.numel()].view_as(t))
                offset += t.numel()


def variables_in_sync(tensors, ctx: DistContext) -> bool:
    """Whether every rank's tensors equal rank 0's bit for bit (True on all
    ranks or False on all ranks). A check for tests and debugging: it sends
    all of the tensors once.

        >>> variables_in_sync([torch.ones(2)], DistContext())
        True
    """
    if not _active(ctx):
        return True
    tensors = _unique(tensors)
    for t in tensors:
        _check_device(t, ctx, "variables_in_sync")
    _check_same_layout(tensors, ctx, 0, "variables_in_sync")
    differs = 0
    for bucket in _buckets(tensors, _BUCKET_CAP_MB * 2 ** 20):
        mine = torch.cat([t.detach().reshape(-1) for t in bucket])
        chief = mine.clone()
        dist.broadcast(chief, 0)
        # Compare bits, so that NaNs in the same places count as equal.
        differs |= not torch.equal(_as_bits(mine), _as_bits(chief))
    flag = torch.tensor([differs], dtype=torch.int64, device=ctx.device)
    dist.all_reduce(flag, op=dist.ReduceOp.SUM)
    return int(flag.item()) == 0


def _as_bits(t: torch.Tensor) -> torch.Tensor:
    if t.dtype.is_floating_point or t.dtype.is_complex:
        return t.view(torch.uint8)
    return t


# -- data -------------------------------------------------------------------------------
def shard_data(data, ctx: DistContext, seed: int = 0, shuffle: Optional[bool] = None):
    """This rank's part of ``data``: disjoint from the other ranks' parts,
    as many batches on every rank (uneven counts would leave ranks waiting
    for each other in ``average_gradients`` forever), together everything but
    at most ``world_size - 1`` examples or batches.

    - A ``DataLoader`` over a map-style dataset: a new ``DataLoader`` with the
      same ``batch_size``, ``num_workers``, ``collate_fn``, ``pin_memory`` and
      other options, sampling through
      ``DistributedSampler(num_replicas=world_size, rank=rank, shuffle=shuffle,
      seed=seed, drop_last=True)``. ``batch_size`` stays per rank, so the global
      batch is ``world_size`` times larger (divide it, and keep the learning
      rate, to reproduce a single-process run). ``shuffle=None`` keeps the
      loader's choice (True if it had ``shuffle=True``). Call
      ``loader.sampler.set_epoch(epoch)`` before each epoch (``slim.learning.train``
      does), or every epoch repeats the first one's order; ``seed`` must be the
      same on every rank.
    - A list or tuple of batches: rank ``r`` takes batches ``r, r + world_size,
      r + 2 * world_size, ...`` (``data[r::world_size]``), after dropping the
      last ``len(data) % world_size`` batches so that every rank gets as many.
    - Anything else (an ``IterableDataset`` loader, a generator, a loader with
      a custom batch sampler) is returned unchanged with a warning: such data
      must be split by the caller, e.g. by reading ``ctx.rank``.

    One process (``world_size == 1``): ``data`` itself.

        >>> batches = list(range(7))
        >>> [shard_data(batches, DistContext(rank=r, world_size=3)) for r in range(3)]
        [[0, 3], [1, 4], [2, 5]]
        >>> from torch.utils.data import DataLoader
        >>> loader = DataLoader(list(range(10)), batch_size=2)
        >>> [[b.tolist() for b in shard_data(loader, DistContext(rank=r, world_size=2))]
        ...  for r in range(2)]
        [[[0, 2], [4, 6], [8]], [[1, 3], [5, 7], [9]]]
    """
    if ctx.world_size == 1:
        return data
    if isinstance(data, (list, tuple)):
        usable = len(data) - len(data) % ctx.world_size
        if usable == 0:
            raise ValueError(f"shard_data: {len(data)} batches cannot give each of "
                             f"{ctx.world_size} ranks at least one")
        if usable < len(data) and ctx.is_chief:
            logger.warning("shard_data: dropping the last %d of %d batches so that each of "
                           "%d ranks gets %d", len(data) - usable, len(data), ctx.world_size,
                           usable // ctx.world_size)
        return data[ctx.rank:usable:ctx.world_size]
    if isinstance(data, torch.utils.data.DataLoader):
        return _shard_loader(data, ctx, seed, shuffle)
    warnings.warn(f"shard_data: cannot split a {type(data).__name__} between ranks; every "
                  "rank gets it whole (split it yourself using ctx.rank and ctx.world_size)",
                  stacklevel=2)
    return data


def _shard_loader(loader, ctx: DistContext, seed: int, shuffle: Optional[bool]):
    from torch.utils.data import (
        BatchSampler,
        DataLoader,
        DistributedSampler,
        IterableDataset,
        RandomSampler,
        SequentialSampler,
    )

    def unchanged(why):
        warnings.warn(f"shard_data: {why}; every rank gets the DataLoader whole (split it "
                      "yourself using ctx.rank and ctx.world_size)", stacklevel=3)
        return loader

    if isinstance(loader.dataset, IterableDataset):
        return unchanged("an IterableDataset has no indices to split")
    if isinstance(loader.sampler, DistributedSampler):
        return loader   # already sharded
    if loader.batch_size is not None:        # automatic batching
        batch_size, drop_last = loader.batch_size, loader.drop_last
        inner = loader.sampler
    elif type(loader.batch_sampler) is BatchSampler:   # batch_sampler=BatchSampler(...)
        batch_size, drop_last = loader.batch_sampler.batch_size, loader.batch_sampler.drop_last
        inner = loader.batch_sampler.sampler
    elif loader.batch_sampler is None:       # batch_size=None: each item is a batch
        batch_size, drop_last, inner = None, False, loader.sampler
    else:
        return unchanged(f"its batch sampler ({type(loader.batch_sampler).__name__}) decides "
                         "which examples go together")
    if not isinstance(inner, (SequentialSampler, RandomSampler)):
        return unchanged(f"its sampler ({type(inner).__name__}) chooses the examples")
    if shuffle is None:
        shuffle = isinstance(inner, RandomSampler)
    if len(loader.dataset) < ctx.world_size:
        raise ValueError(f"shard_data: {len(loader.dataset)} examples cannot give each of "
                         f"{ctx.world_size} ranks at least one")
    sampler = DistributedSampler(loader.dataset, num_replicas=ctx.world_size, rank=ctx.rank,
                                 shuffle=shuffle, seed=seed, drop_last=True)
    options = dict(batch_size=batch_size, sampler=sampler, num_workers=loader.num_workers,
                   collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
                   drop_last=drop_last, timeout=loader.timeout,
                   worker_init_fn=loader.worker_init_fn,
                   multiprocessing_context=loader.multiprocessing_context,
                   generator=loader.generator, persistent_workers=loader.persistent_workers,
                   pin_memory_device=loader.pin_memory_device)
    if loader.num_workers > 0:
        options["prefetch_factor"] = loader.prefetch_factor
    if hasattr(loader, "in_order"):
        options["in_order"] = loader.in_order
    return DataLoader(loader.dataset, **options)


# -- DDP --------------------------------------------------------------------------------
def wrap_ddp(module: torch.nn.Module, ctx: DistContext, sync_batch_norm: bool = False,
             **ddp_kwargs) -> Union[torch.nn.Module, "torch.nn.parallel.DistributedDataParallel"]:
    """``DistributedDataParallel(module)`` on this rank's device, for users who
    call one model themselves (``slim.learning.train`` wraps its whole step,
    whatever models it calls, in DDP: see ``slimtorch.training.StepModule``).

    The module must be built first (a ``slim.Model`` makes its variables on
    its first call; DDP needs them all). It is moved to ``ctx.device``.
    ``sync_batch_norm=True`` makes slim ``batch_norm`` layers compute their
    statistics over the global batch and converts torch's ``BatchNorm*d``
    layers to ``SyncBatchNorm`` (one GPU per process). Other keyword
    arguments go to DDP (e.g. ``find_unused_parameters=True`` for heads used
    only in some steps, such as Inception's AuxLogits). A one-process context
    returns the module unwrapped, so the same script runs without torchrun.

    Save ``ddp.module.state_dict()``: the wrapper's keys start with ``module.``.
    Drop the wrapper (``del ddp``) before :func:`destroy`: its reducer holds
    the last step's collective, and freeing that during interpreter shutdown
    can abort the process.
    """
    from .model import Model

    for sub in module.modules():
        if isinstance(sub, Model) and not sub.built:
            raise ValueError("wrap_ddp: build the slim.Model first (model.build(example) or one "
                             "call on a batch, with the same shapes on every rank): DDP needs "
                             "all of its variables")
        if any(isinstance(p, torch.nn.parameter.UninitializedParameter)
               for p in sub.parameters(recurse=False)):
            raise ValueError("wrap_ddp: the module has uninitialized (lazy) parameters; run a "
                             "forward pass on a sample batch first")
    module = module.to(ctx.device)
    if not ctx.enabled:
        return module
    if sync_batch_norm:
        sync_batch_norms([module])
        module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=device_ids, **ddp_kwargs)


def sync_batch_norms(modules: Iterable[torch.nn.Module]) -> None:
    """Makes every ``slim.batch_norm`` layer in ``modules`` (at any depth)
    compute its batch statistics over the global batch of all ranks, as
    SyncBatchNorm does: ``train(sync_batch_norm=True)`` calls it on the
    graph's modules, :func:`wrap_ddp` on the module it wraps. Outside
    torchrun the layers see the whole batch anyway, and nothing changes.

        >>> net = slim.Model(lambda x: slim.batch_norm(x, scope='bn'))
        >>> _ = net(torch.ones(2, 3))
        >>> slim.distributed.sync_batch_norms([net])
        >>> [type(m).__name__ for m in net.modules() if getattr(m, 'sync', False)]
        ['BatchNorm']
    """
    from .layers.norm import BatchNorm

    for module in modules:
        for layer in module.modules():
            if isinstance(layer, BatchNorm):
                layer.sync = True
