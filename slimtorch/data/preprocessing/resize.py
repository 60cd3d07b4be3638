"""TF1's image resizing (``tf.compat.v1.image.resize_*``, ``align_corners=False``).

research/slim is TF1 code: its resizes use the *legacy* sampling grid, where
output pixel ``i`` reads input position ``i * in_size / out_size`` (no
half-pixel offset). ``torch.nn.functional.interpolate(align_corners=False)``
and TF2's ``tf.image.resize`` use half-pixel centres, ``(i + 0.5) * scale -
0.5``, so they shift the image by up to half a pixel against what the
released checkpoints were trained and evaluated with. These functions
reproduce TF1's kernels instead (float32 arithmetic in the kernels' order),
on any ``[..., height, width]`` tensor.

    >>> row = torch.tensor([[0., 10., 20., 30.]])
    >>> resize_bilinear_tf1(row, (1, 8))  # TF1: 0, 5, 10, ... then the edge repeats
    tensor([[ 0.,  5., 10., 15., 20., 25., 30., 30.]])
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["RESIZE_METHODS", "resize_bicubic_tf1", "resize_area_tf1", "resize_bilinear_tf1",
           "resize_images_tf1", "resize_nearest_tf1"]

# tf.image.ResizeMethod (v1) values, in that enum's order: research/slim's
# inception preprocessing picks one by its number.
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area")


def _check_size(image: torch.Tensor, size: Sequence[int], caller: str) -> tuple[int, int]:
    if image.dim() < 2:
        raise ValueError(f"{caller}: expected an image [..., height, width], got shape {tuple(image.shape)}")
    if len(size) != 2 or any(int(s) != s or s < 1 for s in size):
        raise ValueError(f"{caller}: size must be two positive integers (height, width), got {size!r}")
    if image.shape[-2] < 1 or image.shape[-1] < 1:
        raise ValueError(f"{caller}: cannot resize an empty image of shape {tuple(image.shape)}")
    return int(size[0]), int(size[1])


def _legacy_positions(in_size: int, out_size: int, start: int = 0, count: int | None = None) -> torch.Tensor:
    """Input positions of output pixels ``start .. start+count-1`` (float32, as TF's LegacyScaler)."""
    scale = torch.tensor(in_size, dtype=torch.float32) / out_size
    count = out_size - start if count is None else count
    return torch.arange(start, start + count, dtype=torch.float32) * scale


def _bilinear_taps(in_size: int, out_size: int, start: int, count: int):
    position = _legacy_positions(in_size, out_size, start, count)
    low = position.floor()
    high = torch.clamp(position.ceil().long(), max=in_size - 1)
    return low.long(), high, position - low


def resize_bilinear_tf1(image: torch.Tensor, size: Sequence[int],
                        window: Sequence[int] | None = None) -> torch.Tensor:
    """``tf.compat.v1.image.resize_bilinear(align_corners=False)``, as float32.

    Args:
      image: ``[..., height, width]``, any real dtype (read as float, as TF does).
      size: ``(new_height, new_width)``.
      window: optional ``(top, left, height, width)`` of the resized image to
        return. The numbers are those of resizing and then cropping, but only
        the window is computed (VGG preprocessing resizes to 256-512 pixels
        and keeps 224).

        >>> image = torch.arange(12.).reshape(1, 3, 4)
        >>> resize_bilinear_tf1(image, (2, 2))
        tensor([[[0., 2.],
                 [6., 8.]]])
        >>> full = resize_bilinear_tf1(image, (5, 7))
        >>> torch.equal(resize_bilinear_tf1(image, (5, 7), window=(1, 2, 3, 4)), full[:, 1:4, 2:6])
        True
    """
    out_h, out_w = _check_size(image, size, "resize_bilinear_tf1")
    top, left, height, width = (0, 0, out_h, out_w) if window is None else (int(v) for v in window)
    if top < 0 or left < 0 or height < 1 or width < 1 or top + height > out_h or left + width > out_w:
        raise ValueError(f"resize_bilinear_tf1: window {tuple(window)} (top, left, height, width) "
                         f"is not inside the resized size {(out_h, out_w)}")
    image = image.to(torch.float32)
    y_low, y_high, y_lerp = _bilinear_taps(image.shape[-2], out_h, top, height)
    x_low, x_high, x_lerp = _bilinear_taps(image.shape[-1], out_w, left, width)
    upper, lower = image.index_select(-2, y_low), image.index_select(-2, y_high)
    # TF's compute_lerp: lerp along x on both rows, then along y.
    upper_left, lower_left = upper.index_select(-1, x_low), lower.index_select(-1, x_low)
    upper = upper_left + (upper.index_select(-1, x_high) - upper_left) * x_lerp
    lower = lower_left + (lower.index_select(-1, x_high) - lower_left) * x_lerp
    return upper + (lower - upper) * y_lerp[:, None]


def resize_nearest_tf1(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``tf.compat.v1.image.resize_nearest_neighbor(align_corners=False)``; keeps the dtype.

        >>> resize_nearest_tf1(torch.tensor([[1, 2, 3]]), (1, 5))
        tensor([[1, 1, 2, 2, 3]])
    """
    out_h, out_w = _check_size(image, size, "resize_nearest_tf1")
    rows = torch.clamp(_legacy_positions(image.shape[-2], out_h).floor().long(), max=image.shape[-2] - 1)
    cols = torch.clamp(_legacy_positions(image.shape[-1], out_w).floor().long(), max=image.shape[-1] - 1)
    return image[..., rows, :][..., cols]


def _cubic_taps(in_size: int, out_size: int):
    """Indices and weights ``[4, out_size]`` of TF1's legacy bicubic kernel.

    The legacy kernel (half_pixel_centers=False) uses a = -0.75, not Keys'
    -0.5, looks its weights up in a 1024-step table, and repeats edge pixels.
    """
    a = -0.75
    table_x = torch.arange(1025, dtype=torch.float32) / 1024
    near = ((a + 2) * table_x - (a + 3)) * table_x * table_x + 1          # |t| in [0, 1]
    far_x = table_x + 1
    far = ((a * far_x - 5 * a) * far_x + 8 * a) * far_x - 4 * a              # |t| in [1, 2]
    position = _legacy_positions(in_size, out_size)
    base = position.floor()
    step = torch.round((position - base) * 1024).long()                   # lrintf: ties to even
    base = base.long()
    weights = torch.stack([far[step], near[step], near[1024 - step], far[1024 - step]])
    indices = torch.stack([base - 1, base, base + 1, base + 2]).clamp(0, in_size - 1)
    return indices, weights


def resize_bicubic_tf1(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``tf.compat.v1.image.resize_bicubic(align_corners=False)``, as float32.

        >>> resize_bicubic_tf1(torch.tensor([[0., 10., 20., 30.]]), (1, 8))
        tensor([[ 0.0000,  4.0625, 10.0000, 15.0000, 20.0000, 25.9375, 30.0000, 30.9375]])
    """
    out_h, out_w = _check_size(image, size, "resize_bicubic_tf1")
    image = image.to(torch.float32)
    cols, col_weights = _cubic_taps(image.shape[-1], out_w)
    rows, row_weights = _cubic_taps(image.shape[-2], out_h)
    along_x = sum(image[..., cols[k]] * col_weights[k] for k in range(4))
    return sum(along_x[..., rows[k], :] * row_weights[k][:, None] for k in range(4))


def _area_matrix(in_size: int, out_size: int) -> torch.Tensor:
    """``[out_size, in_size]`` weights: each output averages the input span it covers."""
    scale = torch.tensor(in_size, dtype=torch.float32) / out_size
    start = torch.arange(out_size, dtype=torch.float32)[:, None] * scale
    end = (torch.arange(out_size, dtype=torch.float32)[:, None] + 1) * scale
    cell = torch.arange(in_size, dtype=torch.float32)[None, :]
    overlap = torch.minimum(cell + 1, end) - torch.maximum(cell, start)
    return overlap.clamp(min=0) / scale


def resize_area_tf1(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``tf.compat.v1.image.resize_area(align_corners=False)``, as float32.

        >>> resize_area_tf1(torch.tensor([[0., 10., 20., 30.]]), (1, 3))
        tensor([[ 2.5000, 15.0000, 27.5000]])
    """
    out_h, out_w = _check_size(image, size, "resize_area_tf1")
    image = image.to(torch.float32)
    rows = _area_matrix(image.shape[-2], out_h)
    cols = _area_matrix(image.shape[-1], out_w)
    return rows @ image @ cols.T


_RESIZERS = {"bilinear": resize_bilinear_tf1, "nearest": resize_nearest_tf1,
             "bicubic": resize_bicubic_tf1, "area": resize_area_tf1}


def resize_images_tf1(image: torch.Tensor, size: Sequence[int], method: str | int = "bilinear") -> torch.Tensor:
    """``tf.compat.v1.image.resize_images``: ``method`` is a name in
    :data:`RESIZE_METHODS` or its index there (TF's ``ResizeMethod`` number).

        >>> resize_images_tf1(torch.tensor([[0., 10., 20., 30.]]), (1, 2), method=1)
        tensor([[ 0., 20.]])
    """
    name = RESIZE_METHODS[method] if isinstance(method, int) and 0 <= method < 4 else method
    if name not in _RESIZERS:
        raise ValueError(f"resize_images_tf1: unknown method {method!r}; expected one of "
                         f"{RESIZE_METHODS} or its index 0-3")
    return _RESIZERS[name](image, size)
