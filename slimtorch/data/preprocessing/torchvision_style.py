"""torchvision's ImageNet preprocessing, for torchvision's published weights,
with research/slim's preprocessing interface (``get_preprocessing('torchvision')``).

torchvision's ImageNet weights (served by slimtorch's registry as
``<net>.torchvision``) were trained and evaluated on their own preprocessing,
not on research/slim's vgg or inception one:

* evaluation: resize the shorter side to ``round(crop / 0.875)`` (256 for
  224, 342 for 299; bilinear with antialias), central
  ``output_height x output_width`` crop, scale to [0, 1], normalize with the
  ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225): exactly
  ``torchvision.models.ResNet50_Weights.IMAGENET1K_V1.transforms()``
  (``ImageClassification``), computed with the same torchvision functions so
  the numbers are torchvision's own;
* training: torchvision's reference recipe, ``RandomResizedCrop`` (10%-100% of
  the area, aspect 3:4 to 4:3, bilinear with antialias), a random left-right
  flip, then the same scaling and normalization.

Images are ``[channels, height, width]`` RGB, as everywhere in slimtorch. An
integer image is scaled by its dtype's maximum (uint8: /255); a float image
must already be in [0, 1] (as torchvision's transforms expect). As in
torchvision, a uint8 image is resized in uint8 (the resized pixels are
rounded), a float one in float. torchvision reports its accuracies on PIL
images, whose resize differs from the tensor one by about one grey level, so
expect the last decimal of top-1 to move.

    >>> image = torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8)
    >>> preprocess_image(image, 224, 224).shape
    torch.Size([3, 224, 224])
    >>> eval_resize_size(224, 224), eval_resize_size(299, 299)
    (256, 342)
"""

from __future__ import annotations

import math

import torch

from .geometry import random_flip_left_right
from .image_tensor import check_image

__all__ = ["CROP_FRACTION", "IMAGENET_MEAN", "IMAGENET_STD", "RATIO", "SCALE", "eval_resize_size",
           "normalize", "preprocess_for_eval", "preprocess_for_train", "preprocess_image", "random_resized_crop_box"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""R, G, B means of ImageNet on the [0, 1] scale (torchvision's)."""
IMAGENET_STD = (0.229, 0.224, 0.225)
CROP_FRACTION = 0.875
"""Evaluation crops ``CROP_FRACTION`` of the resized shorter side (224 of 256)."""
SCALE = (0.08, 1.0)
"""Training crops cover this fraction of the image's area (``RandomResizedCrop``'s default)."""
RATIO = (3.0 / 4.0, 4.0 / 3.0)
"""... with an aspect ratio (width / height) in this range, drawn log-uniformly."""


def _functional():
    # torchvision's v1 functional API, deliberately: ImageClassification (the
    # weights' transforms()) calls it, and v2's uint8 resize kernel rounds
    # differently (off by one grey level in places).
    import torchvision.transforms.functional as tvf
    return tvf


def eval_resize_size(output_height: int, output_width: int) -> int:
    """The shorter side evaluation resizes to: ``round(max(output) / 0.875)``
    (torchvision's ``resize_size`` for its usual crops).

        >>> eval_resize_size(224, 224), eval_resize_size(160, 128)
        (256, 183)
    """
    return int(math.floor(max(output_height, output_width) / CROP_FRACTION + 0.5))


def _check(image: torch.Tensor, caller: str, use_grayscale: bool) -> torch.Tensor:
    image = check_image(image, caller)
    if use_grayscale:
        # Like vgg: the normalization takes three channels' statistics.
        raise ValueError(f"{caller}: use_grayscale=True gives one channel, but torchvision's "
                         f"normalization needs three (R, G, B); a grey image can be passed as "
                         f"image.expand(3, -1, -1)")
    if image.shape[0] != 3:
        raise ValueError(f"{caller}: expected an RGB image [3, height, width], got shape "
                         f"{tuple(image.shape)}; pass image[:3] for RGBA or image.expand(3, -1, -1) "
                         f"for a grey image")
    return image


def normalize(image: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Integer images to [0, 1] (``/ dtype max``), then ``(x - mean) / std``
    per channel; float images are taken to be in [0, 1] already.

        >>> normalize(torch.tensor([[[0]], [[255]], [[0]]], dtype=torch.uint8)).flatten()
        tensor([-2.1179,  2.4286, -1.8044])
    """
    tvf = _functional()
    return tvf.normalize(tvf.convert_image_dtype(image, torch.float32), mean=list(mean), std=list(std))


def random_resized_crop_box(height: int, width: int, scale=SCALE, ratio=RATIO,
                            generator: torch.Generator | None = None) -> tuple[int, int, int, int]:
    """``(top, left, box_height, box_width)`` of a random crop covering a
    fraction in ``scale`` of the area with a log-uniform aspect ratio in
    ``ratio``: torchvision's ``RandomResizedCrop.get_params``, drawing the
    same numbers in the same order (10 tries, then the central crop with the
    aspect ratio clamped), from ``generator`` or torch's global generator.

        >>> top, left, h, w = random_resized_crop_box(300, 400, generator=torch.Generator().manual_seed(0))
        >>> 0 <= top <= 300 - h and 0 <= left <= 400 - w
        True
    """
    area = height * width
    log_ratio = torch.log(torch.tensor(ratio)).tolist()
    for _ in range(10):
        target_area = area * torch.empty(1).uniform_(scale[0], scale[1], generator=generator).item()
        # exp in float32 as torchvision does: the rounding below must see the same number.
        aspect_ratio = torch.empty(1).uniform_(log_ratio[0], log_ratio[1], generator=generator).exp().item()
        box_width = int(round(math.sqrt(target_area * aspect_ratio)))
        box_height = int(round(math.sqrt(target_area / aspect_ratio)))
        if 0 < box_width <= width and 0 < box_height <= height:
            top = int(torch.randint(0, height - box_height + 1, (1,), generator=generator).item())
            left = int(torch.randint(0, width - box_width + 1, (1,), generator=generator).item())
            return top, left, box_height, box_width
    in_ratio = width / height
    if in_ratio < min(ratio):
        box_width, box_height = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        box_width, box_height = int(round(height * max(ratio))), height
    else:
        box_width, box_height = width, height
    return (height - box_height) // 2, (width - box_width) // 2, box_height, box_width


def preprocess_for_train(image: torch.Tensor, output_height: int, output_width: int, scale=SCALE,
                         ratio=RATIO, use_grayscale: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """``RandomResizedCrop`` to ``output_height x output_width``, a random
    left-right flip, normalization. Under the same seed this is torchvision's
    ``Compose([RandomResizedCrop(size, antialias=True), RandomHorizontalFlip(),
    ConvertImageDtype(torch.float), Normalize(mean, std)])``, value for value.

        >>> image = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8)
        >>> preprocess_for_train(image, 24, 24, generator=torch.Generator().manual_seed(1)).shape
        torch.Size([3, 24, 24])
    """
    tvf = _functional()
    image = _check(image, "torchvision preprocess_for_train", use_grayscale)
    top, left, box_height, box_width = random_resized_crop_box(image.shape[-2], image.shape[-1], scale, ratio,
                                                               generator)
    image = tvf.resized_crop(image, top, left, box_height, box_width, [output_height, output_width],
                           tvf.InterpolationMode.BILINEAR, antialias=True)
    return normalize(random_flip_left_right(image, generator))


def preprocess_for_eval(image: torch.Tensor, output_height: int, output_width: int,
                        resize_size: int | None = None, use_grayscale: bool = False) -> torch.Tensor:
    """Shorter side to ``resize_size`` (default :func:`eval_resize_size`),
    central crop, normalization: torchvision's ``ImageClassification``.

        >>> out = preprocess_for_eval(torch.full((3, 30, 40), 255, dtype=torch.uint8), 24, 24)
        >>> out.shape, out[:, 0, 0]
        (torch.Size([3, 24, 24]), tensor([2.2489, 2.4286, 2.6400]))
    """
    tvf = _functional()
    image = _check(image, "torchvision preprocess_for_eval", use_grayscale)
    if resize_size is None:
        resize_size = eval_resize_size(output_height, output_width)
    image = tvf.resize(image, [resize_size], tvf.InterpolationMode.BILINEAR, antialias=True)
    return normalize(tvf.center_crop(image, [output_height, output_width]))


def preprocess_image(image: torch.Tensor, output_height: int, output_width: int, is_training: bool = False,
                     resize_size: int | None = None, scale=SCALE, ratio=RATIO, use_grayscale: bool = False,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """The interface of research/slim's ``preprocess_image`` over torchvision's
    ImageNet preprocessing. ``resize_size`` is evaluation's (torchvision's
    newer ``IMAGENET1K_V2`` weights use, for example, 232 for a 224 crop),
    ``scale``/``ratio`` training's.

        >>> image = torch.zeros(3, 256, 300, dtype=torch.uint8)
        >>> preprocess_image(image, 224, 224, is_training=True, generator=torch.Generator()).shape
        torch.Size([3, 224, 224])
    """
    if is_training:
        return preprocess_for_train(image, output_height, output_width, scale, ratio, use_grayscale, generator)
    return preprocess_for_eval(image, output_height, output_width, resize_size, use_grayscale)
