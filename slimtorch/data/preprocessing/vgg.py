"""research/slim's ``vgg_preprocessing`` (VGG and ResNet checkpoints) in PyTorch.

Training: resize so the shorter side is a random length in
[``resize_side_min``, ``resize_side_max``] (aspect ratio kept, TF1 bilinear),
take a random ``output_height`` x ``output_width`` crop, flip left-right half
the time, subtract the ImageNet channel means. Evaluation: shorter side to
``resize_side_min`` (256), central crop, subtract the means. Values stay on
the 0-255 scale (a float input is taken to be on it too); images are
``[channels, height, width]`` in and out.

    >>> image = torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8)
    >>> preprocess_image(image, 224, 224).shape
    torch.Size([3, 224, 224])
"""

from __future__ import annotations

import numpy as np
import torch

from .geometry import random_flip_left_right
from .image_tensor import check_image, to_float
from .resize import resize_bilinear_tf1
from .sampling import randint

__all__ = ["CHANNEL_MEANS", "RESIZE_SIDE_MAX", "RESIZE_SIDE_MIN", "aspect_preserving_size",
           "mean_image_subtraction", "preprocess_for_eval", "preprocess_for_train", "preprocess_image",
           "resized_crop"]

CHANNEL_MEANS = (123.68, 116.78, 103.94)
"""ImageNet R, G, B means on the 0-255 scale (research/slim's ``_R_MEAN``, ``_G_MEAN``, ``_B_MEAN``)."""
RESIZE_SIDE_MIN = 256
RESIZE_SIDE_MAX = 512


def aspect_preserving_size(height: int, width: int, smallest_side: int) -> tuple[int, int]:
    """The size whose shorter side is ``smallest_side``, aspect ratio kept
    (research/slim's ``_smallest_size_at_least``: float32, rounded half to even).

        >>> aspect_preserving_size(375, 500, 256)
        (256, 341)
    """
    height32, width32, side32 = np.float32(height), np.float32(width), np.float32(smallest_side)
    scale = side32 / width32 if height > width else side32 / height32
    return int(np.rint(height32 * scale)), int(np.rint(width32 * scale))


def mean_image_subtraction(image: torch.Tensor, means=CHANNEL_MEANS) -> torch.Tensor:
    """Subtracts ``means[c]`` from channel ``c``.

        >>> mean_image_subtraction(torch.full((3, 1, 1), 200.)).flatten()
        tensor([76.3200, 83.2200, 96.0600])
    """
    if image.dim() != 3 or image.shape[0] != len(means):
        raise ValueError(f"vgg mean_image_subtraction: expected an image [{len(means)}, height, width] "
                         f"(one channel per mean), got shape {tuple(image.shape)}")
    return image - torch.tensor(means, dtype=image.dtype, device=image.device)[:, None, None]


def resized_crop(image: torch.Tensor, smallest_side: int, output_height: int, output_width: int,
                 generator: torch.Generator | None = None, random: bool = False,
                 caller: str = "vgg preprocessing") -> torch.Tensor:
    """Resizes ``[..., H, W]`` so the shorter side is ``smallest_side`` (TF1
    bilinear, :func:`aspect_preserving_size`) and keeps an output-sized
    window, random or central, computing only the window.

        >>> image = torch.arange(32.).reshape(1, 4, 8)      # resized to 2x4, central 2x2
        >>> resized_crop(image, 2, 2, 2)
        tensor([[[ 2.,  4.],
                 [18., 20.]]])

    Raises:
        ValueError: the window is larger than the resized image (named by ``caller``).
    """
    new_h, new_w = aspect_preserving_size(image.shape[-2], image.shape[-1], smallest_side)
    if output_height > new_h or output_width > new_w:
        raise ValueError(f"{caller}: crop size {output_height}x{output_width} is greater than "
                         f"the resized image {new_h}x{new_w}")
    if random:
        top = randint(0, new_h - output_height + 1, generator)
        left = randint(0, new_w - output_width + 1, generator)
    else:
        top, left = (new_h - output_height) // 2, (new_w - output_width) // 2
    return resize_bilinear_tf1(image, (new_h, new_w), window=(top, left, output_height, output_width))


def _finish(image: torch.Tensor, use_grayscale: bool) -> torch.Tensor:
    if use_grayscale:
        # research/slim's vgg fails here too: one grey channel cannot take three means.
        raise ValueError("vgg preprocessing: use_grayscale=True gives one channel, but the mean "
                         "subtraction needs three (research/slim raises the same way)")
    return mean_image_subtraction(image)


def preprocess_for_train(image: torch.Tensor, output_height: int, output_width: int,
                         resize_side_min: int = RESIZE_SIDE_MIN, resize_side_max: int = RESIZE_SIDE_MAX,
                         use_grayscale: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Random scale (shorter side in [min, max]), random crop, random flip, mean subtraction.

        >>> image = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8)
        >>> preprocess_for_train(image, 24, 24, resize_side_min=30, resize_side_max=40).shape
        torch.Size([3, 24, 24])
    """
    image = check_image(image, "vgg preprocess_for_train")
    resize_side = randint(resize_side_min, resize_side_max + 1, generator)
    image = resized_crop(image, resize_side, output_height, output_width, generator, random=True)
    image = to_float(image)
    return _finish(random_flip_left_right(image, generator), use_grayscale)


def preprocess_for_eval(image: torch.Tensor, output_height: int, output_width: int,
                        resize_side: int = RESIZE_SIDE_MIN, use_grayscale: bool = False) -> torch.Tensor:
    """Shorter side to ``resize_side``, central crop, mean subtraction.

        >>> image = torch.full((3, 30, 40), 128, dtype=torch.uint8)
        >>> preprocess_for_eval(image, 24, 24, resize_side=32)[:, 0, 0]
        tensor([ 4.3200, 11.2200, 24.0600])
    """
    image = check_image(image, "vgg preprocess_for_eval")
    image = resized_crop(image, resize_side, output_height, output_width)
    return _finish(to_float(image), use_grayscale)


def preprocess_image(image: torch.Tensor, output_height: int, output_width: int, is_training: bool = False,
                     resize_side_min: int = RESIZE_SIDE_MIN, resize_side_max: int = RESIZE_SIDE_MAX,
                     use_grayscale: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """research/slim's ``vgg_preprocessing.preprocess_image``; ``resize_side_min``
    is the evaluation resize side too.

        >>> preprocess_image(torch.zeros(3, 256, 300, dtype=torch.uint8), 224, 224).shape
        torch.Size([3, 224, 224])
    """
    if is_training:
        return preprocess_for_train(image, output_height, output_width, resize_side_min, resize_side_max,
                                    use_grayscale, generator)
    return preprocess_for_eval(image, output_height, output_width, resize_side_min, use_grayscale)

