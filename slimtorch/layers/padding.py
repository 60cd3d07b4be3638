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

import torch
import torch.nn.functional as F

__all__ = ["PADDINGS", "check_padding", "same_pad", "same_pad_in_kernel", "same_padding",
           "static_padding"]

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


def same_pad(inputs: torch.Tensor, kernel, stride, rate):
    """TF 'SAME' on the spatial axes of channels-first ``inputs``.

    Returns ``(inputs, padding)``: torch's symmetric ``padding`` when TF's is
    symmetric, else the explicitly padded inputs and zero padding.
    """
    pads = [same_padding(size, k, s, d)
            for size, k, s, d in zip(inputs.shape[2:], kernel, stride, rate)]
    if all(before == after for before, after in pads):
        return inputs, tuple(before for before, _ in pads)
    explicit = [p for before_after in reversed(pads) for p in before_after]  # last axis first
    return F.pad(inputs, explicit), (0,) * len(pads)


def same_pad_in_kernel(inputs: torch.Tensor, weights: torch.Tensor, stride, rate):
    """TF 'SAME' without a padded copy of ``inputs``: ``(weights, padding)``
    for ``conv(inputs, weights, stride, padding)``, or None where it cannot.

    TF's 'SAME' pads at most one pixel more at the end than at the start.
    Prepending a zero tap to the kernel in such a dimension and padding
    ``after`` on both sides puts every window on the same pixels: window
    ``j`` starts at ``s·j - after`` and its first tap weighs nothing, so it
    sums ``w[k]·x[s·j - before + k]`` as TF does. Only for rate 1 in those
    dimensions (a zero tap shifts by ``rate``). The sums are equal for
    finite inputs (an inf or NaN pixel just before a window also reaches it,
    as ``0·inf``). Worth it for depthwise convolutions on the CPU, which are
    memory bound: at MobileNet's stride-2 layers it skips a padded copy of
    the largest activations (measured 6x faster there); a dense
    convolution's extra taps cost more than the copy.

        >>> x = torch.randn(1, 2, 4, 4); w = torch.randn(2, 1, 3, 3)
        >>> padded, p = same_pad(x, (3, 3), (2, 2), (1, 1))
        >>> w4, q = same_pad_in_kernel(x, w, (2, 2), (1, 1))
        >>> q, torch.allclose(F.conv2d(x, w4, None, 2, q, groups=2),
        ...                   F.conv2d(padded, w, None, 2, p, groups=2), atol=1e-6)
        ((1, 1), True)
    """
    kernel = weights.shape[2:]
    pads = [same_padding(size, k, s, d)
            for size, k, s, d in zip(inputs.shape[2:], kernel, stride, rate)]
    if any(after > before and d != 1 for (before, after), d in zip(pads, rate)):
        return None
    if all(before == after for before, after in pads):
        return weights, tuple(before for before, _ in pads)
    zero_tap = [p for before, after in reversed(pads) for p in (int(after > before), 0)]
    return F.pad(weights, zero_tap), tuple(after for _, after in pads)


def static_padding(padding: str, kernel, stride, rate) -> Optional[tuple]:
    """Torch padding that is right for every input size, or None (depends on it)."""
    if padding == "VALID":
        return (0,) * len(kernel)
    effective = [(k - 1) * d + 1 for k, d in zip(kernel, rate)]
    if all(s == 1 and e % 2 == 1 for s, e in zip(stride, effective)):
        return tuple((e - 1) // 2 for e in effective)
    return None
