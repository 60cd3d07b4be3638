"""Small pieces the nets share (TF ops without a layer of their own).

Inputs and outputs are NCHW: TF-Slim's spatial axes ``[1, 2]`` are ``[2, 3]``
here and its channel axis ``3`` is ``1``.
"""

from __future__ import annotations

import torch

__all__ = ["spatial_mean", "squeeze_spatial", "reduced_kernel_size_for_small_input"]

SPATIAL = (2, 3)
CHANNELS = 1


def spatial_mean(net: torch.Tensor) -> torch.Tensor:
    """TF's ``reduce_mean(net, [1, 2], keepdims=True)`` (global average pool).

        >>> spatial_mean(torch.ones(2, 3, 5, 5)).shape
        torch.Size([2, 3, 1, 1])
    """
    return net.mean(SPATIAL, keepdim=True)


def squeeze_spatial(net: torch.Tensor, name: str) -> torch.Tensor:
    """TF's ``squeeze(net, [1, 2])``: drops 1x1 spatial dims, ``[N, C, 1, 1] -> [N, C]``.

    Unlike ``torch.squeeze`` it refuses a map that is not 1x1 (TF raises too):
    that means the input was not the net's ``default_image_size``.

        >>> squeeze_spatial(torch.ones(2, 10, 1, 1), 'fc8/squeezed').shape
        torch.Size([2, 10])
        >>> squeeze_spatial(torch.ones(2, 10, 2, 2), 'fc8/squeezed')
        Traceback (most recent call last):
        ...
        ValueError: fc8/squeezed: cannot squeeze spatial dims of shape [2, 10, 2, 2]; expected a 1x1 map
        (use the net's default_image_size or spatial_squeeze=False)
    """
    if net.dim() != 4 or net.shape[2] != 1 or net.shape[3] != 1:
        raise ValueError(f"{name}: cannot squeeze spatial dims of shape {list(net.shape)}; "
                         "expected a 1x1 map (use the net's default_image_size or "
                         "spatial_squeeze=False)")
    return net.flatten(1)


def reduced_kernel_size_for_small_input(input_tensor: torch.Tensor, kernel_size):
    """research/slim's kernel shrink for inputs smaller than the net expects:
    ``[min(H, kh), min(W, kw)]`` for an NCHW tensor.

        >>> reduced_kernel_size_for_small_input(torch.zeros(1, 3, 5, 9), [8, 8])
        [5, 8]
    """
    height, width = input_tensor.shape[2], input_tensor.shape[3]
    return [min(height, kernel_size[0]), min(width, kernel_size[1])]
