"""torchvision weights under TF-Slim names (VGG), for ``slimtorch convert --net``.

torchvision's VGG has the same layers as TF-Slim's, as ``features.<i>`` convs
and a ``classifier`` of Linear layers; TF-Slim's fc6-fc8 are convolutions.
fc6's Linear weight ``[4096, 512*7*7]`` flattens in torchvision's NCHW order
``(c, h, w)``, so it reshapes to the ``[4096, 512, 7, 7]`` kernel directly.

Note the inputs differ: torchvision's VGG expects RGB in [0, 1] normalized
by ImageNet mean/std, TF-Slim's VGG RGB in [0, 255] minus the mean.

    >>> import torchvision
    >>> with torch.device('meta'):
    ...     tv = torchvision.models.vgg11().state_dict()
    >>> names = vgg_from_torchvision(tv, 'vgg_a')
    >>> list(names)[:2], tuple(names['vgg_a/fc6/weights'].shape)
    (['vgg_a/conv1/conv1_1/weights', 'vgg_a/conv1/conv1_1/biases'], (4096, 512, 7, 7))
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

from .errors import CheckpointError

__all__ = ["TORCHVISION_NETS", "from_torchvision", "vgg_from_torchvision"]

_VGG_REPEATS = {"vgg_a": (1, 1, 2, 2, 2), "vgg_16": (2, 2, 3, 3, 3), "vgg_19": (2, 2, 4, 4, 4)}
TORCHVISION_NETS = {"vgg_a": "vgg11", "vgg_16": "vgg16", "vgg_19": "vgg19"}


def vgg_from_torchvision(state_dict: Mapping[str, torch.Tensor], net: str = "vgg_16") -> dict:
    """``{slim name: tensor}`` (torch layouts) from a torchvision VGG state dict."""
    repeats = _VGG_REPEATS[net]
    conv_keys = sorted({int(m.group(1)) for k in state_dict
                        for m in [re.match(r"features\.(\d+)\.weight$", k)] if m})
    if len(conv_keys) != sum(repeats):
        raise CheckpointError(f"expected {sum(repeats)} convolutions for {net} "
                              f"(torchvision {TORCHVISION_NETS[net]}), found {len(conv_keys)}")
    names = [f"{net}/conv{block}/conv{block}_{i}" for block, count in enumerate(repeats, 1)
             for i in range(1, count + 1)]
    out = {}
    for index, scope in zip(conv_keys, names):
        out[f"{scope}/weights"] = state_dict[f"features.{index}.weight"]
        out[f"{scope}/biases"] = state_dict[f"features.{index}.bias"]
    for index, scope in ((0, "fc6"), (3, "fc7"), (6, "fc8")):
        weight = state_dict[f"classifier.{index}.weight"]
        in_channels = 512 if scope == "fc6" else weight.shape[1]
        side = int(round((weight.shape[1] / in_channels) ** 0.5))
        out[f"{net}/{scope}/weights"] = weight.reshape(weight.shape[0], in_channels, side, side)
        out[f"{net}/{scope}/biases"] = state_dict[f"classifier.{index}.bias"]
    return out


def from_torchvision(state_dict: Mapping[str, torch.Tensor], net: str) -> dict:
    """Maps a torchvision state dict onto zoo net ``net``'s Slim names.

    Raises:
        CheckpointError: no mapping for ``net``.
    """
    if net in _VGG_REPEATS:
        return vgg_from_torchvision(state_dict, net)
    raise CheckpointError(f"no torchvision name mapping for net {net!r} "
                          f"(available: {', '.join(TORCHVISION_NETS)})")
