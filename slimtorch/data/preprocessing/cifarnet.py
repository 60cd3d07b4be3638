"""research/slim's ``cifarnet_preprocessing`` in PyTorch.

Training: zero-pad 4 pixels on each side, random ``output_height`` x
``output_width`` crop, random left-right flip, random brightness (+-63 on the
0-255 scale) and contrast (x0.2-1.8), then per-image standardization.
Evaluation: central crop or zero-pad to the output size, then per-image
standardization. Images are ``[channels, height, width]``; values are taken
on the 0-255 scale (``tf.to_float``).

One fix: research/slim calls ``resize_image_with_crop_or_pad(image,
output_width, output_height)``, swapping the two sizes, so a non-square
output came out ``width x height``; here it is ``height x width``. Square
sizes (CIFAR's 32 x 32) give the same result either way.

    >>> image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    >>> out = preprocess_image(image, 32, 32, is_training=True)
    >>> out.shape, round(out.mean().item(), 4) == 0.0
    (torch.Size([3, 32, 32]), True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .color import per_image_standardization, random_brightness, random_contrast, rgb_to_grayscale
from .geometry import random_crop, random_flip_left_right, resize_image_with_crop_or_pad
from .image_tensor import check_image, to_float

__all__ = ["PADDING", "preprocess_for_eval", "preprocess_for_train", "preprocess_image"]

PADDING = 4


def preprocess_for_train(image: torch.Tensor, output_height: int, output_width: int, padding: int = PADDING,
                         add_image_summaries: bool = True, use_grayscale: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad, random crop, random flip, random brightness and contrast, standardize.

    ``add_image_summaries`` is accepted for research/slim's signature and ignored.

        >>> preprocess_for_train(torch.zeros(3, 32, 32, dtype=torch.uint8), 32, 32).shape
        torch.Size([3, 32, 32])
    """
    image = to_float(check_image(image, "cifarnet preprocess_for_train"))
    if use_grayscale:
        image = rgb_to_grayscale(image)
    if padding > 0:
        image = F.pad(image, (padding, padding, padding, padding))
    image = random_crop(image, output_height, output_width, generator)
    image = random_flip_left_right(image, generator)
    # research/slim notes these two do not commute and keeps this order.
    image = random_brightness(image, 63.0, generator)
    image = random_contrast(image, 0.2, 1.8, generator)
    return per_image_standardization(image)


def preprocess_for_eval(image: torch.Tensor, output_height: int, output_width: int,
                        add_image_summaries: bool = True, use_grayscale: bool = False) -> torch.Tensor:
    """Central crop or zero-pad to ``output_height`` x ``output_width``, standardize.

        >>> preprocess_for_eval(torch.zeros(3, 36, 30, dtype=torch.uint8), 32, 32).shape
        torch.Size([3, 32, 32])
    """
    image = to_float(check_image(image, "cifarnet preprocess_for_eval"))
    if use_grayscale:
        image = rgb_to_grayscale(image)
    image = resize_image_with_crop_or_pad(image, output_height, output_width)
    return per_image_standardization(image)


def preprocess_image(image: torch.Tensor, output_height: int, output_width: int, is_training: bool = False,
                     add_image_summaries: bool = True, use_grayscale: bool = False,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """research/slim's ``cifarnet_preprocessing.preprocess_image``.

        >>> preprocess_image(torch.zeros(3, 32, 32, dtype=torch.uint8), 32, 32).shape
        torch.Size([3, 32, 32])
    """
    if is_training:
        return preprocess_for_train(image, output_height, output_width, add_image_summaries=add_image_summaries,
                                    use_grayscale=use_grayscale, generator=generator)
    return preprocess_for_eval(image, output_height, output_width, add_image_summaries, use_grayscale)
