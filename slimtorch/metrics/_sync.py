"""Combining a metric's states over torchrun ranks.

One ``all_gather_object`` first tells every rank every other rank's state
shapes, so a rank that saw no batch (state still unset) or fewer rows than
the others takes part in the same collectives in the same order, and no
rank waits forever. Then sums/max/min are all-reduced and concatenations
gathered (padded to the longest rank, then trimmed).
"""

from __future__ import annotations

from typing import Any, Dict

import torch
import torch.distributed as dist

_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


def reduce_states(metric_name: str, states: Dict[str, Any], reduces: Dict[str, str]) -> Dict:
    """Every rank's ``states`` combined; every rank must call it with the
    same keys (the same metric). Nothing local is modified."""
    world = dist.get_world_size()
    local_meta = {k: None if v is None else (tuple(v.shape), v.dtype) for k, v in states.items()}
    metas = [None] * world
    dist.all_gather_object(metas, local_meta)
    device = _collective_device(states)
    out = {}
    for key in sorted(states):   # the same order on every rank
        shapes = [m[key] for m in metas if m[key] is not None]
        if not shapes:
            out[key] = None
            continue
        shape, dtype = shapes[0]
        local = states[key]
        home = local.device if local is not None else device
        if reduces[key] == "cat":
            out[key] = _gather_rows(metric_name, key, local, [m[key] for m in metas], dtype,
                                    device).to(home)
            continue
        if any(s != shape for s, _ in shapes):
            raise ValueError(f"{metric_name}: state {key!r} has different shapes on different "
                             f"ranks: {sorted({s for s, _ in shapes})}")
        buffer = local.to(device, copy=True) if local is not None else \
            _neutral(reduces[key], shape, dtype, device)
        dist.all_reduce(buffer, op=_OPS[reduces[key]])
        out[key] = buffer.to(home)
    return out


def _gather_rows(metric_name, key, local, metas, dtype, device) -> torch.Tensor:
    trailing = {m[0][1:] for m in metas if m is not None}
    if len(trailing) > 1:
        raise ValueError(f"{metric_name}: state {key!r} has rows of different shapes on "
                         f"different ranks: {sorted(trailing)}")
    (trailing,) = trailing
    lengths = [m[0][0] if m is not None else 0 for m in metas]
    longest = max(lengths)
    padded = torch.zeros((longest,) + trailing, dtype=dtype, device=device)
    if local is not None and local.shape[0]:
        padded[: local.shape[0]] = local.to(device)
    pieces = [torch.empty_like(padded) for _ in lengths]
    dist.all_gather(pieces, padded)
    return torch.cat([p[:n] for p, n in zip(pieces, lengths)], 0)


def _neutral(reduce: str, shape, dtype, device) -> torch.Tensor:
    """What a rank without the state contributes: 0 to a sum, the dtype's
    extreme to a max or min."""
    if reduce == "sum":
        return torch.zeros(shape, dtype=dtype, device=device)
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    fill = info.min if reduce == "max" else info.max
    return torch.full(shape, fill, dtype=dtype, device=device)


def _collective_device(states) -> torch.device:
    """NCCL needs CUDA tensors; gloo takes CPU ones."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
