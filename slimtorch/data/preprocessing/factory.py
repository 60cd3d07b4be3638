"""Picks a preprocessing by model name, as research/slim's ``preprocessing_factory``.

    >>> fn = get_preprocessing('resnet_v1_50')          # VGG-style, evaluation
    >>> fn(torch.zeros(3, 300, 400, dtype=torch.uint8), 224, 224).shape
    torch.Size([3, 224, 224])

The names and their mapping are research/slim's (``alexnet_v2``,
``overfeat`` and the ``mobilenet_v1_075``-style variants have no entry there
either: pass the preprocessing they need by name), plus four research/slim
lacks: ``nasnet_cifar`` takes CIFAR-Net's (pad, crop, flip, standardize: the
NASNet paper's CIFAR augmentation), ``i3d`` and ``s3dg`` the Kinetics clip
preprocessing of :mod:`.video`, and ``torchvision`` the preprocessing
torchvision's ImageNet weights need (:mod:`.torchvision_style`).
"""

from __future__ import annotations

from types import ModuleType
from typing import Callable

import torch

from . import cifarnet, inception, lenet, torchvision_style, vgg, video

__all__ = ["PreprocessingFn", "get_preprocessing", "preprocessing_fn_map", "preprocessing_names"]

_INCEPTION_STYLE = (
    "inception", "inception_v1", "inception_v2", "inception_v3", "inception_v4", "inception_resnet_v2",
    "mobilenet_v1", "mobilenet_v2", "mobilenet_v2_035", "mobilenet_v2_140",
    "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v3_small_minimalistic",
    "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu", "mobilenet_edgetpu_075",
    "nasnet_mobile", "nasnet_large", "pnasnet_mobile", "pnasnet_large",
)
_VGG_STYLE = (
    "resnet_v1_50", "resnet_v1_101", "resnet_v1_152", "resnet_v1_200",
    "resnet_v2_50", "resnet_v2_101", "resnet_v2_152", "resnet_v2_200",
    "vgg", "vgg_a", "vgg_16", "vgg_19",
)

preprocessing_fn_map: dict[str, ModuleType] = {
    "cifarnet": cifarnet,
    "nasnet_cifar": cifarnet,
    "lenet": lenet,
    "i3d": video,
    "s3dg": video,
    "torchvision": torchvision_style,
    **{name: inception for name in _INCEPTION_STYLE},
    **{name: vgg for name in _VGG_STYLE},
}
"""``{name: preprocessing module}``, research/slim's ``preprocessing_fn_map``."""

PreprocessingFn = Callable[..., torch.Tensor]
"""``fn(image, output_height, output_width, **kwargs) -> image``."""


def preprocessing_names() -> list[str]:
    """Every name :func:`get_preprocessing` knows, sorted.

        >>> 'inception_v3' in preprocessing_names(), 'vgg_16' in preprocessing_names()
        (True, True)
    """
    return sorted(preprocessing_fn_map)


def get_preprocessing(name: str, is_training: bool = False, use_grayscale: bool = False) -> PreprocessingFn:
    """Returns ``fn(image, output_height, output_width, **kwargs)`` for model ``name``.

    ``image`` is one ``[channels, height, width]`` tensor (uint8 or float);
    the result is float32 ``[channels, output_height, output_width]``.
    ``kwargs`` go to the module's ``preprocess_image`` (for example
    ``resize_side_min`` for VGG, ``bbox``/``fast_mode`` for Inception,
    ``num_frames`` for the video nets, and ``generator`` for all of them).
    The video preprocessing returns a clip ``[channels, frames, height, width]``.

    Raises:
      ValueError: ``name`` is not a known preprocessing; the message lists them.

        >>> fn = get_preprocessing('inception_v3', is_training=True)
        >>> fn(torch.zeros(3, 50, 60, dtype=torch.uint8), 32, 32, fast_mode=False).shape
        torch.Size([3, 32, 32])
        >>> get_preprocessing('resnet')
        Traceback (most recent call last):
        ...
        ValueError: Preprocessing name [resnet] was not recognized; known names: cifarnet, i3d, ...
    """
    if name not in preprocessing_fn_map:
        raise ValueError(f"Preprocessing name [{name}] was not recognized; known names: "
                         f"{', '.join(preprocessing_names())}")
    module = preprocessing_fn_map[name]

    def preprocessing_fn(image: torch.Tensor, output_height: int, output_width: int, **kwargs) -> torch.Tensor:
        return module.preprocess_image(image, output_height, output_width, is_training=is_training,
                                       use_grayscale=use_grayscale, **kwargs)

    preprocessing_fn.__name__ = f"{name}_preprocessing_fn"
    preprocessing_fn.__doc__ = (f"{module.__name__}.preprocess_image with is_training={is_training}, "
                                f"use_grayscale={use_grayscale}.")
    return preprocessing_fn
