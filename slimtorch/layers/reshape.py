"""TF-Slim's reshaping ops between images, sequences and sparse tensors:
``images_to_sequence``, ``sequence_to_images``, ``dense_to_sparse``.

Images are channels-first by default, as everywhere in slimtorch
(``data_format='NHWC'`` / ``output_data_format='channels_last'`` give
TF-Slim's default layout). A sequence is ``[time, batch, depth]``, as in
TF-Slim: an image's columns are its time steps.

    >>> images = torch.zeros(2, 5, 7, 11)                 # [N, C, H, W]
    >>> sequence = images_to_sequence(images)
    >>> sequence.shape                                    # [W, N·H, C]
    torch.Size([11, 14, 5])
    >>> sequence_to_images(sequence, 7).shape
    torch.Size([2, 5, 7, 11])
"""

from __future__ import annotations

from typing import Optional

import torch

from ..arg_scope import add_arg_scope
from ..utils import collect_named_outputs
from ._conv_base import channels_last_format
from ._layer import op_name

__all__ = ["dense_to_sparse", "images_to_sequence", "sequence_to_images"]

_OUTPUT_FORMATS = (None, "channels_first", "channels_last")


def _shape(inputs) -> object:
    return list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__


@add_arg_scope
def images_to_sequence(inputs: torch.Tensor, data_format: Optional[str] = None,
                       outputs_collections=None, scope: Optional[str] = None) -> torch.Tensor:
    """A batch of images as a batch of sequences over their columns.

    Args:
        inputs: ``[N, C, H, W]`` (``[N, H, W, C]`` with ``data_format='NHWC'``).
        data_format: None or ``'NCHW'`` (channels-first), or ``'NHWC'``.
        outputs_collections: collections that receive the output.
        scope: the op's name (default ``ImagesToSequence``).

    Returns:
        ``[W, N·H, C]``: time step ``w`` holds column ``w`` of every image
        row, rows ordered image by image.

    Example:
        >>> x = torch.arange(4.).reshape(1, 1, 2, 2)        # rows [0, 1], [2, 3]
        >>> images_to_sequence(x).flatten().tolist()        # column 0, then column 1
        [0.0, 2.0, 1.0, 3.0]
    """
    name = op_name(scope, "ImagesToSequence")
    channels_last = channels_last_format(data_format, name, 2)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        raise ValueError(f"{name}: images_to_sequence expects a 4-D input, got {_shape(inputs)}")
    nhwc = inputs if channels_last else inputs.permute(0, 2, 3, 1)
    n, h, w, c = nhwc.shape
    outputs = nhwc.permute(2, 0, 1, 3).reshape(w, n * h, c)
    return collect_named_outputs(outputs_collections, name, outputs)


@add_arg_scope
def sequence_to_images(inputs: torch.Tensor, height: int, output_data_format: Optional[str] = None,
                       outputs_collections=None, scope: Optional[str] = None) -> torch.Tensor:
    """The inverse of :func:`images_to_sequence`: ``[W, N·H, C]`` -> images.

    Args:
        inputs: a ``[time, batch, depth]`` sequence whose batch is ``N·height``.
        height: the height of the images.
        output_data_format: None or ``'channels_first'`` (``[N, C, H, W]``,
            slimtorch's default), or ``'channels_last'`` (``[N, H, W, C]``,
            TF-Slim's default).
        outputs_collections: collections that receive the output.
        scope: the op's name (default ``SequenceToImages``).

    Returns:
        The images, ``W`` wide.

    Example:
        >>> sequence_to_images(torch.zeros(11, 14, 5), 7, 'channels_last').shape
        torch.Size([2, 7, 11, 5])
    """
    name = op_name(scope, "SequenceToImages")
    if output_data_format not in _OUTPUT_FORMATS:
        raise ValueError(f"{name}: output_data_format must be 'channels_first' or "
                         f"'channels_last' (or None), got {output_data_format!r}")
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
        raise ValueError(f"{name}: sequence_to_images expects a 3-D [time, batch, depth] "
                         f"input, got {_shape(inputs)}")
    width, batch, depth = inputs.shape
    if isinstance(height, bool) or not isinstance(height, int) or height <= 0 \
            or batch % height:
        raise ValueError(f"{name}: height must be a positive int dividing the batch ({batch}), "
                         f"got {height!r}")
    reshaped = inputs.reshape(width, batch // height, height, depth)
    order = (1, 2, 0, 3) if output_data_format == "channels_last" else (1, 3, 2, 0)
    return collect_named_outputs(outputs_collections, name, reshaped.permute(order))


@add_arg_scope
def dense_to_sparse(tensor: torch.Tensor, eos_token=0, outputs_collections=None,
                    scope: Optional[str] = None) -> torch.Tensor:
    """A sparse COO tensor of ``tensor``'s entries that differ from ``eos_token``
    (TF-Slim's ``SparseTensor`` as ``torch.sparse_coo_tensor``; e.g. dense
    labels for a CTC loss). Default scope ``dense_to_sparse``.

    Example:
        >>> sparse = dense_to_sparse(torch.tensor([[3, 0], [0, 5]]))
        >>> sparse.indices().tolist(), sparse.values().tolist(), list(sparse.shape)
        ([[0, 1], [0, 1]], [3, 5], [2, 2])
    """
    name = op_name(scope, "dense_to_sparse")
    tensor = torch.as_tensor(tensor)
    keep = tensor != torch.as_tensor(eos_token, dtype=tensor.dtype, device=tensor.device)
    indices = keep.nonzero().t()
    # Indices from nonzero() are sorted and unique: valid by construction.
    outputs = torch.sparse_coo_tensor(indices, tensor[keep], tensor.shape,
                                      check_invariants=False, is_coalesced=True)
    return collect_named_outputs(outputs_collections, name, outputs)
