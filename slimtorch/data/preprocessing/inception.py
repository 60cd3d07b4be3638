"""research/slim's ``inception_preprocessing`` (Inception, MobileNet, NASNet checkpoints) in PyTorch.

Training: a random crop from :func:`~.bounding_box.sample_distorted_bounding_box`
(10%-100% of the image when no box is given, aspect 3:4 to 4:3), a resize to
``height`` x ``width``, a random left-right flip, a random colour distortion
(``fast_mode``: brightness and saturation), then [0, 1] -> [-1, 1].
Evaluation: the central 87.5% of the image, a TF1 bilinear resize, then
[-1, 1]. Images are ``[channels, height, width]``; an integer image is scaled
by its dtype's maximum, a float image must already be in [0, 1] (as in TF).

    >>> image = torch.randint(0, 256, (3, 300, 400), dtype=torch.uint8)
    >>> out = preprocess_image(image, 299, 299)
    >>> out.shape, bool(out.min() >= -1 and out.max() <= 1)
    (torch.Size([3, 299, 299]), True)
"""

from __future__ import annotations

import torch

from .bounding_box import sample_distorted_bounding_box
from .color import random_brightness, random_contrast, random_hue, random_saturation, rgb_to_grayscale
from .geometry import central_crop as _central_crop
from .geometry import crop, random_flip_left_right
from .image_tensor import check_image, convert_image_dtype
from .resize import RESIZE_METHODS, resize_bilinear_tf1, resize_images_tf1
from .sampling import randint

__all__ = ["distort_color", "distorted_bounding_box_crop", "preprocess_for_eval", "preprocess_for_train",
           "preprocess_image"]

_BRIGHTNESS = 32.0 / 255.0
_SATURATION = (0.5, 1.5)
_CONTRAST = (0.5, 1.5)
_HUE = 0.2


def _brightness(image, generator):
    return random_brightness(image, _BRIGHTNESS, generator)


def _saturation(image, generator):
    return random_saturation(image, *_SATURATION, generator)


def _contrast(image, generator):
    return random_contrast(image, *_CONTRAST, generator)


def _hue(image, generator):
    return random_hue(image, _HUE, generator)


# The four orderings of research/slim's distort_color; fast mode keeps only
# brightness and saturation (ordering 0: brightness first, others: saturation first).
_ORDERINGS = (
    (_brightness, _saturation, _hue, _contrast),
    (_saturation, _brightness, _contrast, _hue),
    (_contrast, _hue, _brightness, _saturation),
    (_hue, _saturation, _contrast, _brightness),
)
_FAST_ORDERINGS = ((_brightness, _saturation), (_saturation, _brightness))


def distort_color(image: torch.Tensor, color_ordering: int = 0, fast_mode: bool = True,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness (+-32/255) and saturation (x0.5-1.5), and unless
    ``fast_mode`` also hue (+-0.2) and contrast (x0.5-1.5), in the order
    ``color_ordering`` (0-3) picks; the result is clipped to [0, 1].

    The random numbers are drawn in the order the operations run.

        >>> out = distort_color(torch.rand(3, 8, 8), color_ordering=1, fast_mode=False)
        >>> bool(out.min() >= 0 and out.max() <= 1)
        True
    """
    if color_ordering not in range(4):
        raise ValueError(f"inception distort_color: color_ordering must be in [0, 3], got {color_ordering}")
    steps = _FAST_ORDERINGS[min(color_ordering, 1)] if fast_mode else _ORDERINGS[color_ordering]
    for step in steps:
        image = step(image, generator)
    # The random_* operations do not clamp; TF-Slim clips once at the end.
    return image.clamp(0.0, 1.0)


def distorted_bounding_box_crop(image: torch.Tensor, bbox=None, min_object_covered: float = 0.1,
                                aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 1.0),
                                max_attempts: int = 100,
                                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops ``image`` to a random window (see
    :func:`~.bounding_box.sample_distorted_bounding_box`); returns the crop
    and the window as a normalised ``[ymin, xmin, ymax, xmax]`` box.

        >>> cropped, box = distorted_bounding_box_crop(torch.rand(3, 40, 60))
        >>> cropped.shape[0], box.shape
        (3, torch.Size([4]))
    """
    window = sample_distorted_bounding_box(image.shape[-2:], bbox, min_object_covered, aspect_ratio_range,
                                           area_range, max_attempts, generator=generator)
    return crop(image, window.top, window.left, window.height, window.width), window.box


def preprocess_for_train(image: torch.Tensor, height: int, width: int, bbox=None, fast_mode: bool = True,
                         add_image_summaries: bool = True, random_crop: bool = True,
                         use_grayscale: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Distorts one image for training; the result is in [-1, 1].

    Args:
      bbox: ``[..., 4]`` object boxes ``[ymin, xmin, ymax, xmax]`` in [0, 1]
        that the crop must overlap; None means the whole image.
      fast_mode: bilinear resize and brightness/saturation only; otherwise
        the resize method (bilinear, nearest, bicubic, area) and the order
        of four colour operations are drawn at random.
      add_image_summaries: accepted for research/slim's signature; slimtorch
        writes no summaries here.
      random_crop: False skips the random crop (the whole image is resized).

        >>> image = torch.randint(0, 256, (3, 50, 70), dtype=torch.uint8)
        >>> preprocess_for_train(image, 32, 32).shape
        torch.Size([3, 32, 32])
    """
    image = convert_image_dtype(check_image(image, "inception preprocess_for_train"))
    if random_crop:
        image, _ = distorted_bounding_box_crop(image, bbox, generator=generator)
    method = 0 if fast_mode else randint(0, len(RESIZE_METHODS), generator)
    image = resize_images_tf1(image, (height, width), method)
    image = random_flip_left_right(image, generator)
    ordering = 0 if fast_mode else randint(0, 4, generator)
    image = distort_color(image, ordering, fast_mode, generator)
    if use_grayscale:
        image = rgb_to_grayscale(image)
    return (image - 0.5) * 2.0


def preprocess_for_eval(image: torch.Tensor, height: int | None, width: int | None,
                        central_fraction: float | None = 0.875, central_crop: bool = True,
                        use_grayscale: bool = False) -> torch.Tensor:
    """Central crop of ``central_fraction`` of each side, TF1 bilinear resize to
    ``height`` x ``width`` (skipped if either is None/0), then [-1, 1].

        >>> image = torch.full((3, 40, 40), 255, dtype=torch.uint8)
        >>> preprocess_for_eval(image, 16, 16).unique()
        tensor([1.])
    """
    image = convert_image_dtype(check_image(image, "inception preprocess_for_eval"))
    if use_grayscale:
        image = rgb_to_grayscale(image)
    if central_crop and central_fraction:
        image = _central_crop(image, central_fraction)
    if height and width:
        image = resize_bilinear_tf1(image, (height, width))
    return (image - 0.5) * 2.0


def preprocess_image(image: torch.Tensor, height: int, width: int, is_training: bool = False, bbox=None,
                     fast_mode: bool = True, add_image_summaries: bool = True, crop_image: bool = True,
                     use_grayscale: bool = False, central_fraction: float | None = 0.875,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """research/slim's ``inception_preprocessing.preprocess_image``.

    ``crop_image`` switches off the random crop (training) and the central
    crop (evaluation). ``central_fraction`` (evaluation only) is a slimtorch
    extra; research/slim always uses 0.875 here.

        >>> preprocess_image(torch.zeros(3, 64, 64, dtype=torch.uint8), 32, 32, is_training=True).shape
        torch.Size([3, 32, 32])
    """
    if is_training:
        return preprocess_for_train(image, height, width, bbox, fast_mode, add_image_summaries,
                                    random_crop=crop_image, use_grayscale=use_grayscale, generator=generator)
    return preprocess_for_eval(image, height, width, central_fraction, central_crop=crop_image,
                               use_grayscale=use_grayscale)
