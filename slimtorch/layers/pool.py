"""``max_pool2d``/``avg_pool2d`` and ``max_pool3d``/``avg_pool3d`` with
TF-Slim's defaults and padding.

Defaults are TF-Slim's: ``stride=2``, ``padding='VALID'``. With ``'SAME'``,
padding follows TF (extra cell at the end of each dimension); max pooling
ignores the padded cells, and average pooling leaves them out of the count, so
a border average of ones stays 1.0 (torch's ``count_include_pad=False`` for
symmetric padding, an explicit count otherwise). One implementation serves
2-D (NCHW) and 3-D (NCDHW) pooling.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..utils import collect_named_outputs
from ._conv_base import as_tuple, channels_last_format
from ._layer import op_name
from .padding import check_padding, same_padding

__all__ = ["avg_pool2d", "avg_pool3d", "max_pool2d", "max_pool3d"]

_SHAPES = {2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}
_MAX_POOL = {2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {2: F.avg_pool2d, 3: F.avg_pool3d}


def _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
          default_name, pool_fn, dims: int):
    name = op_name(scope, default_name)
    channels_last = channels_last_format(data_format, name, dims)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != dims + 2:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{name}: expected a {dims + 2}-D input {_SHAPES[dims]}, got {shape}")
    kernel = as_tuple(kernel_size, dims, "kernel_size", name)
    strides = as_tuple(stride, dims, "stride", name)
    padding = check_padding(padding, name)
    x = inputs.movedim(-1, 1) if channels_last else inputs
    outputs = pool_fn(x, kernel, strides, padding)
    if channels_last:
        outputs = outputs.movedim(1, -1)
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs


def _same_pads(x: torch.Tensor, kernel, stride) -> list:
    """TF ``'SAME'`` ``(before, after)`` padding of each spatial dimension."""
    return [same_padding(size, k, s) for size, k, s in zip(x.shape[2:], kernel, stride)]


def _native_padding(pads, kernel) -> Optional[tuple]:
    """Symmetric padding torch's pools can apply themselves (at most half a
    kernel), else None."""
    if all(before == after and before <= k // 2 for (before, after), k in zip(pads, kernel)):
        return tuple(before for before, _ in pads)
    return None


def _pad_arg(pads) -> tuple:
    # F.pad wants the last dimension first.
    return tuple(p for pair in reversed(pads) for p in pair)


def _max(x, kernel, stride, padding):
    pool = _MAX_POOL[len(kernel)]
    if padding == "VALID":
        return pool(x, kernel, stride)
    pads = _same_pads(x, kernel, stride)
    native = _native_padding(pads, kernel)
    if native is not None:
        return pool(x, kernel, stride, native)  # torch pads with -inf
    return pool(F.pad(x, _pad_arg(pads), value=float("-inf")), kernel, stride)


def _avg(x, kernel, stride, padding):
    pool = _AVG_POOL[len(kernel)]
    if padding == "VALID":
        return pool(x, kernel, stride)
    pads = _same_pads(x, kernel, stride)
    native = _native_padding(pads, kernel)
    if native is not None:
        return pool(x, kernel, stride, native, count_include_pad=False)
    pad = _pad_arg(pads)
    # Sum over the window divided by the number of real (unpadded) cells.
    sums = pool(F.pad(x, pad), kernel, stride, divisor_override=1)
    ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
    counts = pool(F.pad(ones, pad), kernel, stride, divisor_override=1)
    return sums / counts


@add_arg_scope
def max_pool2d(inputs: torch.Tensor, kernel_size, stride=2, padding: str = "VALID",
               data_format: Optional[str] = None, outputs_collections=None,
               scope: Optional[str] = None) -> torch.Tensor:
    """2-D max pooling (TF-Slim defaults: ``stride=2``, ``'VALID'``).

    Example:
        >>> slim.max_pool2d(torch.randn(1, 3, 7, 7), [2, 2]).shape
        torch.Size([1, 3, 3, 3])
    """
    return _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
                 "MaxPool2D", _max, 2)


@add_arg_scope
def avg_pool2d(inputs: torch.Tensor, kernel_size, stride=2, padding: str = "VALID",
               data_format: Optional[str] = None, outputs_collections=None,
               scope: Optional[str] = None) -> torch.Tensor:
    """2-D average pooling; ``'SAME'`` leaves the padding out of the count (TF).

    Example:
        >>> slim.avg_pool2d(torch.ones(1, 1, 4, 4), [3, 3], stride=2, padding='SAME').flatten().tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    return _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
                 "AvgPool2D", _avg, 2)


@add_arg_scope
def max_pool3d(inputs: torch.Tensor, kernel_size, stride=2, padding: str = "VALID",
               data_format: Optional[str] = None, outputs_collections=None,
               scope: Optional[str] = None) -> torch.Tensor:
    """3-D max pooling of ``[N, C, D, H, W]`` (or ``'NDHWC'``) inputs.

    ``kernel_size`` and ``stride`` are an int or ``[d, h, w]``; defaults and
    ``'SAME'`` padding as :func:`max_pool2d`. Default scope ``MaxPool3D``.

    Example:
        >>> max_pool3d(torch.randn(1, 2, 5, 7, 7), [2, 2, 2]).shape
        torch.Size([1, 2, 2, 3, 3])
    """
    return _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
                 "MaxPool3D", _max, 3)


@add_arg_scope
def avg_pool3d(inputs: torch.Tensor, kernel_size, stride=2, padding: str = "VALID",
               data_format: Optional[str] = None, outputs_collections=None,
               scope: Optional[str] = None) -> torch.Tensor:
    """3-D average pooling; ``'SAME'`` leaves the padding out of the count (TF).

    Example:
        >>> avg_pool3d(torch.ones(1, 1, 4, 4, 4), 3, padding='SAME').flatten().tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    """
    return _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
                 "AvgPool3D", _avg, 3)
