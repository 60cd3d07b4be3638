"""TensorFlow's ``'SAME'`` and ``'VALID'`` padding, pixel for pixel.

For ``'SAME'`` the output size is ``ceil(in / stride)`` and the total padding
``max((out - 1)·stride + k_eff - in, 0)`` is split with the *smaller half at
the top/left*: at stride 2 an even input gets its extra pixel at the
bottom/right, which PyTorch's symmetric ``padding=`` cannot express.

    >>> same_padding(4, kernel=3, stride=2)   # 4 -> 2: one pixel, at the end
    (0, 1)
    >>> same_padding(5, kernel=3, stride=2)   # 5 -> 3: symmetric
    (1, 1)
"""

from __future__ import annotations

from typing import Optional

__all__ = ["PADDINGS", "check_padding", "conv_padding", "same_padding"]

PADDINGS = ("SAME", "VALID")


def check_padding(padding, scope: str) -> str:
    """Normalizes ``'same'``/``'valid'`` (any case) or raises naming ``scope``."""
    if isinstance(padding, str) and padding.upper() in PADDINGS:
        return padding.upper()
    raise ValueError(f"{scope}: padding must be 'SAME' or 'VALID', got {padding!r}")


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """``(before, after)`` padding of one spatial dimension for TF ``'SAME'``."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def static_same_padding(kernel: int, stride: int, dilation: int = 1) -> Optional[int]:
    """The symmetric padding when it does not depend on the input size, else None.

    That is the case at stride 1 with an odd effective kernel; torch's native
    ``padding=`` then computes exactly what TF does.
    """
    effective = (kernel - 1) * dilation + 1
    if stride == 1 and effective % 2 == 1:
        return (effective - 1) // 2
    return None


def conv_padding(height: int, width: int, kernel, stride, dilation) -> tuple:
    """TF ``'SAME'`` for a 2-D window: ``(symmetric (ph, pw), None)`` when
    torch can pad natively, else ``(None, (left, right, top, bottom))`` for
    ``F.pad``."""
    top, bottom = same_padding(height, kernel[0], stride[0], dilation[0])
    left, right = same_padding(width, kernel[1], stride[1], dilation[1])
    if top == bottom and left == right:
        return (top, left), None
    return None, (left, right, top, bottom)
