"""research/slim's ``lenet_preprocessing`` in PyTorch: central crop or zero-pad
to the output size, then ``(x - 128) / 128``; training and evaluation are the same.

Values are taken on the 0-255 scale (``tf.to_float``). As in
:mod:`.cifarnet`, the output is ``height x width`` (research/slim swaps the
two sizes; square sizes such as MNIST's 28 x 28 are unaffected).

    >>> preprocess_image(torch.full((1, 28, 28), 192, dtype=torch.uint8), 28, 28).unique()
    tensor([0.5000])
"""

from __future__ import annotations

import torch

from .color import rgb_to_grayscale
from .geometry import resize_image_with_crop_or_pad
from .image_tensor import check_image, to_float

__all__ = ["preprocess_image"]


def preprocess_image(image: torch.Tensor, output_height: int, output_width: int, is_training: bool = False,
                     use_grayscale: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """research/slim's ``lenet_preprocessing.preprocess_image``; ``is_training``
    changes nothing and ``generator`` is accepted only so that every
    preprocessing takes the same arguments.

        >>> preprocess_image(torch.full((1, 2, 2), 192, dtype=torch.uint8), 2, 4)  # zero padding -> -1
        tensor([[[-1.0000,  0.5000,  0.5000, -1.0000],
                 [-1.0000,  0.5000,  0.5000, -1.0000]]])
    """
    image = to_float(check_image(image, "lenet preprocess_image"))
    if use_grayscale:
        image = rgb_to_grayscale(image)
    image = resize_image_with_crop_or_pad(image, output_height, output_width)
    return (image - 128.0) / 128.0
