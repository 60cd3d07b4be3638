"""``max_pool2d`` and ``avg_pool2d`` with TF-Slim's defaults and padding.

Defaults are TF-Slim's: ``stride=2``, ``padding='VALID'``. With ``'SAME'``,
padding follows TF (extra pixel bottom/right); max pooling ignores the padded
cells, and average pooling leaves them out of the count, so a border average
of ones stays 1.0 (torch's ``count_include_pad=False`` for symmetric padding,
an explicit count otherwise).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..scopes import current_frame
from ..utils import collect_named_outputs
from ._layer import as_pair
from .conv import check_data_format
from .padding import check_padding, conv_padding

__all__ = ["avg_pool2d", "max_pool2d"]

_NO_DILATION = (1, 1)


def _pool(inputs, kernel_size, stride, padding, data_format, outputs_collections, scope,
          default_name, pool_fn):
    name = current_frame().top.join(scope or default_name)
    channels_last = check_data_format(data_format, name)
    if inputs.dim() != 4:
        raise ValueError(f"{name}: expected a 4-D input [N, C, H, W], got {list(inputs.shape)}")
    kernel = as_pair(kernel_size, "kernel_size", name)
    strides = as_pair(stride, "stride", name)
    padding = check_padding(padding, name)
    x = inputs.permute(0, 3, 1, 2) if channels_last else inputs
    outputs = pool_fn(x, kernel, strides, padding)
    if channels_last:
        outputs = outputs.permute(0, 2, 3, 1)
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs


def _max(x, kernel, stride, padding):
    if padding == "VALID":
        return F.max_pool2d(x, kernel, stride)
    symmetric, explicit = conv_padding(x.shape[2], x.shape[3], kernel, stride, _NO_DILATION)
    if explicit is None and symmetric[0] <= kernel[0] // 2 and symmetric[1] <= kernel[1] // 2:
        return F.max_pool2d(x, kernel, stride, symmetric)  # torch pads with -inf
    pads = explicit or (symmetric[1], symmetric[1], symmetric[0], symmetric[0])
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), kernel, stride)


def _avg(x, kernel, stride, padding):
    if padding == "VALID":
        return F.avg_pool2d(x, kernel, stride)
    symmetric, explicit = conv_padding(x.shape[2], x.shape[3], kernel, stride, _NO_DILATION)
    if explicit is None and symmetric[0] <= kernel[0] // 2 and symmetric[1] <= kernel[1] // 2:
        return F.avg_pool2d(x, kernel, stride, symmetric, count_include_pad=False)
    pads = explicit or (symmetric[1], symmetric[1], symmetric[0], symmetric[0])
    # Sum over the window divided by the number of real (unpadded) cells.
    sums = F.avg_pool2d(F.pad(x, pads), kernel, stride, divisor_override=1)
    ones = torch.ones((1, 1, x.shape[2], x.shape[3]), dtype=x.dtype, device=x.device)
    counts = F.avg_pool2d(F.pad(ones, pads), kernel, stride, divisor_override=1)
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
                 "MaxPool2D", _max)


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
                 "AvgPool2D", _avg)
