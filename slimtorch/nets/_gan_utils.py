"""TF ops the GAN nets (``dcgan``, ``pix2pix``, ``cyclegan``) share, on NCHW tensors.

``tf.nn.leaky_relu`` (slope 0.2, not torch's 0.01), ``tf.pad`` with its three
modes on the spatial axes, and the TF1 resizes the upsampling layers use
(``tf.compat.v1.image.resize*``: the legacy sampling grid, not torch's
half-pixel one), computed on the map's own device (``slimtorch.data``'s
TF1 resizes are for CPU preprocessing).
"""

from __future__ import annotations

import operator
from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = ["leaky_relu", "pad_spatial", "resize_bilinear", "resize_nearest"]

PAD_MODES = ("CONSTANT", "REFLECT", "SYMMETRIC")


def leaky_relu(features: torch.Tensor, alpha: float = 0.2) -> torch.Tensor:
    """TF's ``tf.nn.leaky_relu``: ``max(alpha * x, x)`` with TF's default ``alpha=0.2``.

        >>> leaky_relu(torch.tensor([-1.0, 2.0])).tolist()
        [-0.20000000298023224, 2.0]
    """
    return F.leaky_relu(features, alpha)


def pad_spatial(net: torch.Tensor, paddings: Sequence[int], mode: str = "CONSTANT",
                name: str = "Pad") -> torch.Tensor:
    """``tf.pad`` of an NCHW map's spatial axes by ``(top, bottom, left, right)``.

    ``mode`` is TF's (any case): ``'CONSTANT'`` (zeros), ``'REFLECT'`` (the
    edge pixel not repeated: ``[1, 2, 3] -> 2 1 2 3 2``) or ``'SYMMETRIC'``
    (repeated: ``-> 1 1 2 3 3``). As in TF a padding must be a non-negative
    integer (a float is a ``TypeError``), and ``'REFLECT'`` needs it smaller
    than the dimension, ``'SYMMETRIC'`` no larger.

        >>> row = torch.tensor([[[[1.0, 2.0, 3.0]]]])
        >>> pad_spatial(row, (0, 0, 2, 2), 'REFLECT')[0, 0, 0].tolist()
        [3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]
        >>> pad_spatial(row, (0, 0, 2, 2), 'symmetric')[0, 0, 0].tolist()
        [2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0]
    """
    try:
        paddings = [operator.index(amount) for amount in paddings]
    except TypeError:
        raise TypeError(f"{name}: paddings must be integers, got {list(paddings)}") from None
    for amount in paddings:
        if amount < 0:
            raise ValueError(f"{name}: paddings must be non-negative, got {list(paddings)}")
    upper = mode.upper() if isinstance(mode, str) else mode
    if upper not in PAD_MODES:
        raise ValueError(f"{name}: mode must be one of {PAD_MODES} (any case), got {mode!r}")
    top, bottom, left, right = paddings
    height, width = net.shape[2], net.shape[3]
    limit = 0 if upper == "REFLECT" else 1
    if upper != "CONSTANT" and (max(top, bottom) > height - limit or max(left, right) > width - limit):
        raise ValueError(f"{name}: {upper} paddings {list(paddings)} must be "
                         f"{'less than' if limit == 0 else 'at most'} the spatial dimensions "
                         f"{[height, width]}")
    if upper == "CONSTANT":
        return F.pad(net, (left, right, top, bottom))
    if upper == "REFLECT":
        return F.pad(net, (left, right, top, bottom), mode="reflect")
    rows = _symmetric_indices(height, top, bottom, net.device)
    cols = _symmetric_indices(width, left, right, net.device)
    return net.index_select(2, rows).index_select(3, cols)


def _symmetric_indices(size: int, before: int, after: int, device) -> torch.Tensor:
    """Source indices of a SYMMETRIC pad along one axis (edges repeated)."""
    index = torch.arange(-before, size + after, device=device)
    return torch.where(index < 0, -index - 1, torch.where(index >= size, 2 * size - index - 1, index))


def _legacy_positions(in_size: int, out_size: int, device) -> torch.Tensor:
    """Input positions ``i * in / out`` of the output pixels, in float32 as TF1's
    ``LegacyScaler`` computes them."""
    scale = torch.tensor(in_size, dtype=torch.float32) / out_size
    return torch.arange(out_size, dtype=torch.float32).mul(scale).to(device)


def resize_nearest(net: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """TF1's ``tf.image.resize(..., NEAREST_NEIGHBOR)`` of an NCHW map to ``(h, w)``:
    output pixel ``i`` copies input ``floor(i * in / out)``.

        >>> resize_nearest(torch.arange(4.).reshape(1, 1, 2, 2), (4, 4))[0, 0, 0].tolist()
        [0.0, 0.0, 1.0, 1.0]
    """
    rows, cols = (_legacy_positions(n, int(s), net.device).floor().long().clamp(max=n - 1)
                  for n, s in zip(net.shape[2:], size))
    return net.index_select(2, rows).index_select(3, cols)


def resize_bilinear(net: torch.Tensor, size: Sequence[int], align_corners: bool = False) -> torch.Tensor:
    """TF1's ``tf.compat.v1.image.resize_bilinear`` of an NCHW map to ``(h, w)``.

    ``align_corners=False`` samples input position ``i * in / out`` (TF1's
    legacy grid, *not* torch's half-pixel ``align_corners=False``);
    ``align_corners=True`` samples ``i * (in - 1) / (out - 1)``, as torch does.

        >>> row = torch.tensor([[[[0.0, 10.0]]]])
        >>> resize_bilinear(row, (1, 4))[0, 0, 0].tolist()
        [0.0, 5.0, 10.0, 10.0]
        >>> [round(v, 4) for v in resize_bilinear(row, (1, 4), align_corners=True)[0, 0, 0].tolist()]
        [0.0, 3.3333, 6.6667, 10.0]
    """
    size = tuple(int(s) for s in size)
    if align_corners:
        return F.interpolate(net, size=size, mode="bilinear", align_corners=True)
    (y_low, y_high, y_lerp), (x_low, x_high, x_lerp) = (
        _bilinear_taps(n, s, net) for n, s in zip(net.shape[2:], size))
    top, bottom = net.index_select(2, y_low), net.index_select(2, y_high)
    # TF's order: interpolate along x on both rows, then along y.
    top_left, bottom_left = top.index_select(3, x_low), bottom.index_select(3, x_low)
    top = top_left + (top.index_select(3, x_high) - top_left) * x_lerp
    bottom = bottom_left + (bottom.index_select(3, x_high) - bottom_left) * x_lerp
    return top + (bottom - top) * y_lerp[:, None]


def _bilinear_taps(in_size: int, out_size: int, net: torch.Tensor):
    position = _legacy_positions(in_size, out_size, net.device)
    low = position.floor()
    high = position.ceil().long().clamp(max=in_size - 1)
    return low.long(), high, (position - low).to(net.dtype)
