"""Crops, pads and flips of one ``[channels, height, width]`` image, as ``tf.image`` does them.

All take and return channels-first tensors and keep the dtype.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .sampling import randint, uniform

__all__ = ["central_crop", "center_crop", "crop", "random_crop", "random_flip_left_right",
           "resize_image_with_crop_or_pad"]


def crop(image: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """The ``height`` x ``width`` window at (``top``, ``left``); raises if it leaves the image.

        >>> crop(torch.arange(16).reshape(1, 4, 4), 1, 2, 2, 2)
        tensor([[[ 6,  7],
                 [10, 11]]])
    """
    image_h, image_w = image.shape[-2:]
    if top < 0 or left < 0 or height < 1 or width < 1 or top + height > image_h or left + width > image_w:
        raise ValueError(f"crop: window top={top}, left={left}, height={height}, width={width} "
                         f"does not fit in an image of height {image_h} and width {image_w}")
    return image[..., top:top + height, left:left + width]


def center_crop(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The central ``height`` x ``width`` window (research/slim vgg's ``_central_crop``).

    An odd margin leaves the extra row/column at the bottom/right.

        >>> center_crop(torch.arange(5).reshape(1, 1, 5), 1, 2)
        tensor([[[1, 2]]])
    """
    image_h, image_w = image.shape[-2:]
    if height > image_h or width > image_w:
        raise ValueError(f"center_crop: crop size {height}x{width} is greater than the image size "
                         f"{image_h}x{image_w}")
    return crop(image, (image_h - height) // 2, (image_w - width) // 2, height, width)


def central_crop(image: torch.Tensor, central_fraction: float) -> torch.Tensor:
    """``tf.image.central_crop``: keeps ``central_fraction`` of each side, centred.

    TF rounds the margin down, ``int((side - side * fraction) / 2)``, and
    removes it from both ends.

        >>> central_crop(torch.zeros(3, 37, 53), 0.875).shape
        torch.Size([3, 33, 47])
    """
    if not 0.0 < central_fraction <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be within (0, 1], got {central_fraction}")
    if central_fraction == 1.0:
        return image
    image_h, image_w = image.shape[-2:]
    top = int((float(image_h) - float(image_h) * central_fraction) / 2)
    left = int((float(image_w) - float(image_w) * central_fraction) / 2)
    return crop(image, top, left, image_h - 2 * top, image_w - 2 * left)


def random_crop(image: torch.Tensor, height: int, width: int,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A ``height`` x ``width`` window at a uniformly random position (every
    position possible, as ``tf.random_crop`` and vgg's ``_random_crop``).

        >>> random_crop(torch.zeros(3, 10, 12), 4, 5).shape
        torch.Size([3, 4, 5])
    """
    image_h, image_w = image.shape[-2:]
    if height > image_h or width > image_w:
        raise ValueError(f"random_crop: crop size {height}x{width} is greater than the image size "
                         f"{image_h}x{image_w}")
    top = randint(0, image_h - height + 1, generator)
    left = randint(0, image_w - width + 1, generator)
    return crop(image, top, left, height, width)


def random_flip_left_right(image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirrors the image left-right with probability 1/2 (``tf.image.random_flip_left_right``).

        >>> image = torch.tensor([[[1, 2]]])
        >>> random_flip_left_right(image).tolist() in ([[[1, 2]]], [[[2, 1]]])
        True
    """
    return image.flip(-1) if uniform(0.0, 1.0, generator) < 0.5 else image


def resize_image_with_crop_or_pad(image: torch.Tensor, target_height: int, target_width: int) -> torch.Tensor:
    """``tf.image.resize_image_with_crop_or_pad``: centrally crops a side that
    is too long and zero-pads one that is too short (odd pads go bottom/right).

        >>> resize_image_with_crop_or_pad(torch.ones(1, 1, 3), 2, 2)
        tensor([[[1., 1.],
                 [0., 0.]]])
    """
    if target_height < 1 or target_width < 1:
        raise ValueError(f"resize_image_with_crop_or_pad: target size must be positive, got "
                         f"{target_height}x{target_width}")
    image_h, image_w = image.shape[-2:]
    crop_top, crop_left = max((image_h - target_height) // 2, 0), max((image_w - target_width) // 2, 0)
    image = crop(image, crop_top, crop_left, min(image_h, target_height), min(image_w, target_width))
    pad_top, pad_left = max((target_height - image_h) // 2, 0), max((target_width - image_w) // 2, 0)
    pad_bottom = target_height - image.shape[-2] - pad_top
    pad_right = target_width - image.shape[-1] - pad_left
    return F.pad(image, (pad_left, pad_right, pad_top, pad_bottom))
