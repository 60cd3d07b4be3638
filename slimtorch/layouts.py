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
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["CONV", "DENSE", "IDENTITY", "Layout", "get_layout"]


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


IDENTITY = Layout("identity")
CONV = _Conv("conv")
DENSE = _Dense("dense")

_LAYOUTS = {layout.name: layout for layout in (IDENTITY, CONV, DENSE)}


def get_layout(name_or_layout) -> Layout:
    """A layout by name (``'identity'``, ``'conv'``, ``'dense'``) or itself."""
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
