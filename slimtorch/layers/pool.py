"""``max_pool2d``/``avg_pool2d`` and ``max_pool3d``/``avg_pool3d`` with
TF-Slim's defaults and padding.

Defaults are TF-Slim's: ``stride=2``, ``padding='VALID'``. With ``'SAME'``,
padding follows TF (extra cell at the end of each dimension); max pooling
ignores the padded cells, and average pooling leaves them out of the count, so
a border average of ones stays 1.0 (torch's ``count_include_pad=False`` for
symmetric padding, an explicit count otherwise). One implementation serves
2-D (NCHW) and 3-D (NCDHW) pooling; :func:`pool` is TF's generic 1-D to 3-D
pooling with dilation.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..utils import collect_named_outputs
from ._conv_base import as_tuple, channels_last_format
from ._layer import frozen, op_name
from .padding import check_padding, same_padding

__all__ = ["avg_pool2d", "avg_pool3d", "max_pool2d", "max_pool3d", "pool"]

_SHAPES = {2: "[N, C, H, W]", 3: "[N, C, D, H, W]"}
_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG_POOL = {2: F.avg_pool2d, 3: F.avg_pool3d}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


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


def _dilated(x, kernel, dilation, pooling_type):
    """VALID pooling (stride 1) of windows whose cells are ``dilation`` apart."""
    dims = len(kernel)
    if pooling_type == "MAX":
        return _MAX_POOL[dims](x, kernel, 1, 0, dilation)
    # An average is a depthwise convolution with a constant kernel.
    channels = x.shape[1]
    count = 1
    for k in kernel:
        count *= k
    weights = torch.full((channels, 1, *kernel), 1.0 / count, dtype=x.dtype, device=x.device)
    return _CONV[dims](x, weights, None, 1, 0, dilation, channels)


@add_arg_scope
def pool(inputs: torch.Tensor, kernel_size, pooling_type: str, padding: str = "VALID",
         data_format: Optional[str] = None, dilation_rate=1, stride=1,
         outputs_collections=None, scope: Optional[str] = None) -> torch.Tensor:
    """TF's generic N-D pooling (``tf.nn.pool``), N = 1, 2 or 3 from the input's rank.

    Output cell ``x`` reduces ``input[x·stride - pad_before + dilation_rate·z]``
    over the window offsets ``z``. Max pooling ignores padded cells; average
    pooling leaves them out of the count (TF's ``'SAME'``).

    Args:
        inputs: ``[N, C, *spatial]`` (rank 3 to 5), or channels-last with
            ``data_format`` ``'NWC'``/``'NHWC'``/``'NDHWC'`` (TF-Slim's
            default is channels-last; slimtorch's None is channels-first).
        kernel_size: the window, an int or one int per spatial dimension.
        pooling_type: ``'MAX'`` or ``'AVG'``.
        padding: ``'VALID'`` (default) or ``'SAME'``.
        data_format: None, a channels-first name (``'NCW'``, ``'NCHW'``,
            ``'NCDHW'``) or a channels-last one.
        dilation_rate: an int or one per dimension; above 1 needs stride 1
            and ``'VALID'`` padding, as in TF.
        stride: an int or one per dimension (default 1); above 1 needs
            dilation_rate 1, and may not exceed the window (TF's rule).
        outputs_collections: collections that receive the output.
        scope: the op's name (default ``avg_pool``/``max_pool``).

    Returns:
        The pooled tensor, in the input's layout.

    Example:
        >>> x = torch.arange(8.).reshape(1, 1, 8)
        >>> slim.pool(x, 2, 'MAX', dilation_rate=3).tolist()   # max(x[i], x[i + 3])
        [[[3.0, 4.0, 5.0, 6.0, 7.0]]]
        >>> slim.pool(torch.ones(1, 1, 3, 3), 3, 'AVG', padding='SAME')[0, 0, 0].tolist()
        [1.0, 1.0, 1.0]
    """
    kind = pooling_type.upper() if isinstance(pooling_type, str) else pooling_type
    name = op_name(scope, f"{kind.lower()}_pool" if kind in ("MAX", "AVG") else "pool")
    if kind not in ("MAX", "AVG"):
        raise ValueError(f"{name}: pooling_type must be 'MAX' or 'AVG', got {pooling_type!r}")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() not in (3, 4, 5):
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{name}: pool expects an input of rank 3, 4 or 5 [N, C, *spatial], "
                         f"got {shape}")
    dims = inputs.dim() - 2
    channels_last = channels_last_format(data_format, name, dims)
    kernel = as_tuple(frozen(kernel_size), dims, "kernel_size", name)
    strides = as_tuple(frozen(stride), dims, "stride", name)
    rates = as_tuple(frozen(dilation_rate), dims, "dilation_rate", name)
    padding = check_padding(padding, name)
    if max(rates) > 1:
        if max(strides) > 1:
            raise ValueError(f"{name}: strides > 1 not supported in conjunction with "
                             "dilation_rate > 1")
        if padding == "SAME":
            raise ValueError(f"{name}: pooling with 'SAME' padding is not implemented for "
                             "dilation_rate > 1 (TF's rule); use 'VALID'")
    if any(s > k for s, k in zip(strides, kernel)):
        raise ValueError(f"{name}: strides > window_shape not supported (TF's rule), got "
                         f"stride {strides} and kernel_size {kernel}")
    x = inputs.movedim(-1, 1) if channels_last else inputs
    if max(rates) > 1:
        outputs = _dilated(x, kernel, rates, kind)
    elif dims == 1:  # as 2-D pooling of height 1 (torch's 1-D average lacks divisor_override)
        outputs = (_max if kind == "MAX" else _avg)(x.unsqueeze(2), (1, *kernel),
                                                    (1, *strides), padding).squeeze(2)
    else:
        outputs = (_max if kind == "MAX" else _avg)(x, kernel, strides, padding)
    if channels_last:
        outputs = outputs.movedim(1, -1)
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs
