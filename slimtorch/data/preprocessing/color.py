"""``tf.image``'s colour and value adjustments on float ``[channels, height, width]`` images.

Like TF's ``random_*`` ops, none of these clamps: inception preprocessing
clips once after its whole colour distortion. Saturation and hue work in HSV
space with TF's kernels' formulas (torchvision's ``adjust_saturation`` blends
with the grey image instead, which gives other numbers).
"""

from __future__ import annotations

import torch

from .sampling import uniform

__all__ = ["adjust_brightness", "adjust_contrast", "adjust_hue", "adjust_saturation",
           "per_image_standardization", "random_brightness", "random_contrast", "random_hue",
           "random_saturation", "rgb_to_grayscale"]

# ITU-R 601 luma weights, as tf.image.rgb_to_grayscale.
_GRAY_WEIGHTS = (0.2989, 0.5870, 0.1140)


def _float_image(image: torch.Tensor, caller: str, rgb: bool = False) -> torch.Tensor:
    if not image.is_floating_point():
        raise ValueError(f"{caller}: expected a float image, got dtype {image.dtype}; convert it with "
                         f"to_float or convert_image_dtype first")
    if rgb and image.shape[-3] != 3:
        raise ValueError(f"{caller}: expected an RGB image [3, height, width], got shape {tuple(image.shape)}")
    return image


def adjust_brightness(image: torch.Tensor, delta: float) -> torch.Tensor:
    """Adds ``delta`` to every value (``tf.image.adjust_brightness`` on floats).

        >>> adjust_brightness(torch.tensor([[[0.2, 0.9]]]), 0.25)
        tensor([[[0.4500, 1.1500]]])
    """
    return _float_image(image, "adjust_brightness") + delta


def adjust_contrast(image: torch.Tensor, contrast_factor: float) -> torch.Tensor:
    """Scales each channel's distance from its mean (``tf.image.adjust_contrast``).

        >>> adjust_contrast(torch.tensor([[[1., 3.]]]), 2.0)
        tensor([[[0., 4.]]])
    """
    image = _float_image(image, "adjust_contrast")
    mean = image.mean(dim=(-2, -1), keepdim=True)
    return (image - mean) * contrast_factor + mean


def _rgb_to_hsv(image: torch.Tensor) -> torch.Tensor:
    """TF's kernel formula, hue in [0, 1); also defined for values outside [0, 1]."""
    red, green, blue = image.unbind(-3)
    value = image.amax(dim=-3)
    chroma = value - image.amin(dim=-3)
    saturation = torch.where(value > 0, chroma / value, torch.zeros_like(value))
    norm = 1.0 / (6.0 * chroma)
    hue = torch.where(red == value, norm * (green - blue),
                      torch.where(green == value, norm * (blue - red) + 2.0 / 6.0,
                                  norm * (red - green) + 4.0 / 6.0))
    hue = torch.where(chroma <= 0, torch.zeros_like(hue), hue)
    hue = torch.where(hue < 0, hue + 1, hue)
    return torch.stack([hue, saturation, value], dim=-3)


def _hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    hue, saturation, value = hsv.unbind(-3)
    chroma = saturation * value
    offset = value - chroma
    sector = (hue * 6).long()     # TF truncates; a hue of exactly 1 falls in no sector
    middle = chroma * (1 - (torch.remainder(hue * 6, 2.0) - 1).abs())
    zero = torch.zeros_like(chroma)

    def pick(max_sectors, mid_sectors):
        """The channel is the chroma in two sectors, the middle value in two, 0 in the rest."""
        is_max = (sector == max_sectors[0]) | (sector == max_sectors[1])
        is_mid = (sector == mid_sectors[0]) | (sector == mid_sectors[1])
        return torch.where(is_max, chroma, torch.where(is_mid, middle, zero))

    rgb = torch.stack([pick((0, 5), (1, 4)), pick((1, 2), (0, 3)), pick((3, 4), (2, 5))], dim=-3)
    return rgb + offset.unsqueeze(-3)


def adjust_saturation(image: torch.Tensor, saturation_factor: float) -> torch.Tensor:
    """Multiplies HSV saturation by ``saturation_factor``, clipped to [0, 1]
    (``tf.image.adjust_saturation``).

        >>> adjust_saturation(torch.tensor([[[1.0]], [[0.5]], [[0.0]]]), 0.5).flatten()
        tensor([1.0000, 0.7500, 0.5000])
    """
    hsv = _rgb_to_hsv(_float_image(image, "adjust_saturation", rgb=True))
    hue, saturation, value = hsv.unbind(-3)
    saturation = (saturation * saturation_factor).clamp(0.0, 1.0)
    return _hsv_to_rgb(torch.stack([hue, saturation, value], dim=-3))


def adjust_hue(image: torch.Tensor, delta: float) -> torch.Tensor:
    """Rotates HSV hue by ``delta`` turns, wrapping around (``tf.image.adjust_hue``).

        >>> adjust_hue(torch.tensor([[[1.0]], [[0.0]], [[0.0]]]), 1 / 3).flatten()  # red -> green
        tensor([0., 1., 0.])
    """
    if not -1.0 <= delta <= 1.0:
        raise ValueError(f"adjust_hue: delta must be within [-1, 1], got {delta}")
    hsv = _rgb_to_hsv(_float_image(image, "adjust_hue", rgb=True))
    hue, saturation, value = hsv.unbind(-3)
    hue = torch.remainder(hue + delta, 1.0)
    return _hsv_to_rgb(torch.stack([hue, saturation, value], dim=-3))


def rgb_to_grayscale(image: torch.Tensor) -> torch.Tensor:
    """One luma channel, ``0.2989 R + 0.5870 G + 0.1140 B`` (``tf.image.rgb_to_grayscale``).

        >>> rgb_to_grayscale(torch.ones(3, 1, 2))
        tensor([[[0.9999, 0.9999]]])
    """
    image = _float_image(image, "rgb_to_grayscale", rgb=True)
    weights = torch.tensor(_GRAY_WEIGHTS, dtype=image.dtype, device=image.device)
    return torch.tensordot(weights, image, dims=([0], [-3])).unsqueeze(-3)


def per_image_standardization(image: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / max(stddev, 1 / sqrt(N))`` over all N values of the image
    (``tf.image.per_image_standardization``; population stddev).

        >>> per_image_standardization(torch.tensor([[[0., 2.]]]))
        tensor([[[-1.,  1.]]])
    """
    image = image.to(torch.float32)
    mean = image.mean(dim=(-3, -2, -1), keepdim=True)
    stddev = image.std(dim=(-3, -2, -1), correction=0, keepdim=True)
    min_stddev = (image.shape[-3] * image.shape[-2] * image.shape[-1]) ** -0.5
    return (image - mean) / torch.clamp(stddev, min=min_stddev)


def random_brightness(image: torch.Tensor, max_delta: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`adjust_brightness` by a delta drawn from [-max_delta, max_delta).

        >>> out = random_brightness(torch.zeros(1, 2, 2), 0.1)
        >>> bool((out.abs() <= 0.1).all()) and len(out.unique()) == 1
        True
    """
    if max_delta < 0:
        raise ValueError(f"random_brightness: max_delta must be non-negative, got {max_delta}")
    return adjust_brightness(image, uniform(-max_delta, max_delta, generator))


def _check_range(lower: float, upper: float, caller: str) -> None:
    if not 0 <= lower < upper:
        raise ValueError(f"{caller}: expected 0 <= lower < upper, got lower={lower}, upper={upper}")


def random_contrast(image: torch.Tensor, lower: float, upper: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`adjust_contrast` by a factor drawn from [lower, upper).

        >>> random_contrast(torch.full((3, 2, 2), 0.5), 0.5, 1.5).unique()
        tensor([0.5000])
    """
    _check_range(lower, upper, "random_contrast")
    return adjust_contrast(image, uniform(lower, upper, generator))


def random_saturation(image: torch.Tensor, lower: float, upper: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`adjust_saturation` by a factor drawn from [lower, upper).

        >>> random_saturation(torch.full((3, 2, 2), 0.5), 0.5, 1.5).unique()
        tensor([0.5000])
    """
    _check_range(lower, upper, "random_saturation")
    return adjust_saturation(image, uniform(lower, upper, generator))


def random_hue(image: torch.Tensor, max_delta: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`adjust_hue` by a delta drawn from [-max_delta, max_delta), ``max_delta`` <= 0.5.

        >>> random_hue(torch.full((3, 2, 2), 0.5), 0.2).unique()
        tensor([0.5000])
    """
    if not 0 <= max_delta <= 0.5:
        raise ValueError(f"random_hue: max_delta must be within [0, 0.5], got {max_delta}")
    return adjust_hue(image, uniform(-max_delta, max_delta, generator))
