"""How a variable's TensorFlow shape maps onto the tensor PyTorch stores.

TF-Slim stores conv kernels as ``[kh, kw, in, out]`` and dense weights as
``[in, out]``; PyTorch wants ``[out, in, kh, kw]`` and ``[out, in]``. Each
variable records its :class:`Layout`, so initializers see TF shapes (and
compute TF's fans) while the module holds torch layouts, and checkpoint code
converts in one place.

    >>> CONV.torch_shape([3, 3, 16, 32])
    [32, 16, 3, 3]
    >>> CONV.tf_view(torch.zeros(32, 16, 3, 3)).shape
    torch.Size([3, 3, 16, 32])

Transposed-conv kernels are ``[kh, kw, out, in]`` in TF and ``[in, out, kh,
kw]`` in torch; depthwise kernels ``[kh, kw, in, mult]`` are stored for a
grouped convolution, ``[in*mult, 1, kh, kw]``, whose output channel
``c*mult + m`` is TF's ``(c, m)``. Splitting ``in*mult`` needs the multiplier,
so the depthwise layout of a variable carries it:

    >>> CONV_TRANSPOSE.torch_shape([3, 3, 8, 16])
    [16, 8, 3, 3]
    >>> depthwise_layout(2).tf_shape([6, 1, 3, 3])
    [3, 3, 3, 2]

All layouts work for 1-D, 2-D and 3-D kernels alike.
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["CONV", "CONV_TRANSPOSE", "DENSE", "DEPTHWISE", "IDENTITY", "Layout",
           "depthwise_layout", "get_layout"]


class Layout:
    """A named permutation between TF and torch layouts (``None``: same)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _tf_to_torch(self, rank: int):
        return None

    def _torch_to_tf(self, rank: int):
        return None

    def torch_shape(self, tf_shape: Sequence[int]) -> list[int]:
        perm = self._tf_to_torch(len(tf_shape))
        shape = list(tf_shape)
        return shape if perm is None else [shape[i] for i in perm]

    def tf_shape(self, torch_shape: Sequence[int]) -> list[int]:
        perm = self._torch_to_tf(len(torch_shape))
        shape = list(torch_shape)
        return shape if perm is None else [shape[i] for i in perm]

    def tf_view(self, tensor: torch.Tensor) -> torch.Tensor:
        """A view of a torch-layout tensor in TF layout (no copy)."""
        perm = self._torch_to_tf(tensor.dim())
        return tensor if perm is None else tensor.permute(perm)

    def to_torch(self, tf_tensor: torch.Tensor) -> torch.Tensor:
        """A TF-layout tensor rearranged into torch layout (contiguous)."""
        perm = self._tf_to_torch(tf_tensor.dim())
        return tf_tensor if perm is None else tf_tensor.permute(perm).contiguous()

    def __repr__(self) -> str:
        return f"<layout {self.name}>"


class _Conv(Layout):
    """``[k1..kn, in, out]`` (TF) <-> ``[out, in, k1..kn]`` (torch)."""

    def _tf_to_torch(self, rank):
        return (rank - 1, rank - 2, *range(rank - 2))

    def _torch_to_tf(self, rank):
        return (*range(2, rank), 1, 0)


class _Dense(Layout):
    """``[in, out]`` (TF) <-> ``[out, in]`` (torch)."""

    def _tf_to_torch(self, rank):
        return (1, 0)

    _torch_to_tf = _tf_to_torch


class _ConvTranspose(_Conv):
    """``[k1..kn, out, in]`` (TF) <-> ``[in, out, k1..kn]`` (torch ConvTranspose).

    The same permutation as ``conv``: TF and torch both swap the meaning of
    the two channel axes for a transposed convolution. A layout of its own
    says what the axes mean (TF's fans are ``k·out`` in and ``k·in`` out).
    """


class _Depthwise(Layout):
    """``[k1..kn, in, mult]`` (TF) <-> ``[in*mult, 1, k1..kn]`` (torch, ``groups=in``).

    Torch's output channel ``c*mult + m`` is TF's ``(c, m)``, the order of
    ``tf.nn.depthwise_conv2d``. The torch side is not a permutation: its first
    axis is ``in`` and ``mult`` merged, so converting from torch needs
    ``multiplier`` (the plain ``DEPTHWISE`` has none and converts TF -> torch
    only; variables record ``depthwise_layout(mult)``).
    """

    def __init__(self, multiplier=None) -> None:
        super().__init__("depthwise")
        if multiplier is not None and (not isinstance(multiplier, int) or multiplier < 1):
            raise ValueError(f"depthwise layout: multiplier must be a positive int, "
                             f"got {multiplier!r}")
        self.multiplier = multiplier

    def _check_tf(self, tf_shape: Sequence[int]) -> None:
        if len(tf_shape) < 3:
            raise ValueError(f"depthwise layout: expected a TF shape [k..., in, mult], "
                             f"got {list(tf_shape)}")
        if self.multiplier is not None and tf_shape[-1] != self.multiplier:
            raise ValueError(f"depthwise layout: TF shape {list(tf_shape)} does not end with "
                             f"the multiplier {self.multiplier}")

    def _split(self, torch_shape: Sequence[int]) -> tuple[int, int]:
        """``(in, mult)`` of a torch shape ``[in*mult, 1, k...]``."""
        if self.multiplier is None:
            raise ValueError("depthwise layout: converting a torch shape to TF needs the "
                             "multiplier; use depthwise_layout(multiplier)")
        if len(torch_shape) < 3 or torch_shape[1] != 1 or torch_shape[0] % self.multiplier:
            raise ValueError(f"depthwise layout: expected a torch shape [in*{self.multiplier}, "
                             f"1, k...], got {list(torch_shape)}")
        return torch_shape[0] // self.multiplier, self.multiplier

    def torch_shape(self, tf_shape: Sequence[int]) -> list[int]:
        self._check_tf(tf_shape)
        *kernel, channels, multiplier = tf_shape
        return [channels * multiplier, 1, *kernel]

    def tf_shape(self, torch_shape: Sequence[int]) -> list[int]:
        channels, multiplier = self._split(list(torch_shape))
        return [*torch_shape[2:], channels, multiplier]

    def tf_view(self, tensor: torch.Tensor) -> torch.Tensor:
        # Splitting one axis and permuting is always a view, so initializers
        # filling the TF view fill the parameter itself.
        channels, multiplier = self._split(list(tensor.shape))
        split = tensor.select(1, 0).unflatten(0, (channels, multiplier))
        rank = split.dim()
        return split.permute(*range(2, rank), 0, 1)

    def to_torch(self, tf_tensor: torch.Tensor) -> torch.Tensor:
        self._check_tf(tf_tensor.shape)
        rank = tf_tensor.dim()
        grouped = tf_tensor.permute(rank - 2, rank - 1, *range(rank - 2)).contiguous()
        return grouped.flatten(0, 1).unsqueeze(1)

    def __repr__(self) -> str:
        return f"<layout depthwise(multiplier={self.multiplier})>"


def depthwise_layout(multiplier: int) -> Layout:
    """The depthwise layout of a kernel with channel ``multiplier``."""
    return _Depthwise(multiplier)


IDENTITY = Layout("identity")
CONV = _Conv("conv")
CONV_TRANSPOSE = _ConvTranspose("conv_transpose")
DENSE = _Dense("dense")
DEPTHWISE = _Depthwise()

_LAYOUTS = {layout.name: layout for layout in (IDENTITY, CONV, CONV_TRANSPOSE, DENSE, DEPTHWISE)}


def get_layout(name_or_layout) -> Layout:
    """A layout by name (``'identity'``, ``'conv'``, ``'conv_transpose'``,
    ``'dense'``, ``'depthwise'``) or itself."""
    if name_or_layout is None:
        return IDENTITY
    if isinstance(name_or_layout, Layout):
        return name_or_layout
    try:
        return _LAYOUTS[name_or_layout]
    except KeyError:
        raise ValueError(
            f"unknown layout {name_or_layout!r}; expected one of {sorted(_LAYOUTS)}"
        ) from None
