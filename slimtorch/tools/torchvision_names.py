"""torchvision weights under TF-Slim names, for ``slimtorch convert --net``.

* **VGG** (``vgg_a``/``vgg_16``/``vgg_19`` <- ``vgg11``/``vgg16``/``vgg19``):
  the same function. torchvision's ``features.<i>`` convs and ``classifier``
  Linear layers become TF-Slim's convs; fc6's Linear weight ``[4096, 512*7*7]``
  flattens in torchvision's NCHW order ``(c, h, w)``, so it reshapes to the
  ``[4096, 512, 7, 7]`` kernel directly.
* **ResNet v1** (``resnet_v1_50/101/152`` <- ``resnet50/101/152``): every
  variable maps, but the functions differ: torchvision strides in the first
  unit of a block and pads ``pool1`` symmetrically, TF-Slim strides in the
  last unit and pads ``'SAME'``. A good initialization, not the same net.
* **Inception v3** (``inception_v3`` <- ``inception_v3``): every variable
  maps. TF-Slim's batch norm has no gamma, so gamma is folded into the moving
  variance (``var' = (var + eps) / gamma**2 - eps``, exact). The stems agree
  exactly; torchvision's in-block 3x3 average pools count the padding, TF's
  do not, so outputs differ slightly at the borders from ``Mixed_5b`` on.

The inputs differ too: torchvision's nets expect ImageNet mean/std
normalization, TF-Slim's VGG/ResNet mean-subtracted [0, 255] RGB and its
Inception [-1, 1].

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

from ..checkpoint.errors import CheckpointError

__all__ = ["TORCHVISION_NETS", "from_torchvision", "torchvision_num_classes", "inception_v3_from_torchvision",
           "resnet_v1_from_torchvision", "vgg_from_torchvision"]

_VGG_REPEATS = {"vgg_a": (1, 1, 2, 2, 2), "vgg_16": (2, 2, 3, 3, 3), "vgg_19": (2, 2, 4, 4, 4)}
TORCHVISION_NETS = {"vgg_a": "vgg11", "vgg_16": "vgg16", "vgg_19": "vgg19",
                    "resnet_v1_50": "resnet50", "resnet_v1_101": "resnet101",
                    "resnet_v1_152": "resnet152", "inception_v3": "inception_v3"}
_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
       "running_var": "moving_variance"}
_INCEPTION_BN_EPSILON = 0.001   # torchvision's BasicConv2d and TF-Slim's inception_v3_arg_scope


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


def _batch_norm(state_dict, source: str, target: str) -> dict:
    return {f"{target}/{slim_name}": state_dict[f"{source}.{tv_name}"]
            for tv_name, slim_name in _BN.items()}


def _linear_as_conv(weight: torch.Tensor) -> torch.Tensor:
    return weight.reshape(*weight.shape, 1, 1)


def resnet_v1_from_torchvision(state_dict: Mapping[str, torch.Tensor], net: str) -> dict:
    """``{slim name: tensor}`` from a torchvision ResNet-50/101/152 state dict."""
    out = {f"{net}/conv1/weights": state_dict["conv1.weight"]}
    out.update(_batch_norm(state_dict, "bn1", f"{net}/conv1/BatchNorm"))
    units = sorted({tuple(int(x) for x in m.groups()) for k in state_dict
                    for m in [re.match(r"layer(\d+)\.(\d+)\.conv1\.weight$", k)] if m})
    for block, unit in units:
        source = f"layer{block}.{unit}"
        target = f"{net}/block{block}/unit_{unit + 1}/bottleneck_v1"
        if f"{source}.downsample.0.weight" in state_dict:
            out[f"{target}/shortcut/weights"] = state_dict[f"{source}.downsample.0.weight"]
            out.update(_batch_norm(state_dict, f"{source}.downsample.1", f"{target}/shortcut/BatchNorm"))
        for k in (1, 2, 3):
            out[f"{target}/conv{k}/weights"] = state_dict[f"{source}.conv{k}.weight"]
            out.update(_batch_norm(state_dict, f"{source}.bn{k}", f"{target}/conv{k}/BatchNorm"))
    out[f"{net}/logits/weights"] = _linear_as_conv(state_dict["fc.weight"])
    out[f"{net}/logits/biases"] = state_dict["fc.bias"]
    return out


def inception_v3_from_torchvision(state_dict: Mapping[str, torch.Tensor], slim_names) -> dict:
    """``{slim name: tensor}`` from a torchvision Inception v3 state dict.

    ``slim_names`` lists the target net's variable names in creation order:
    within each top-level block torchvision creates its convolutions in the
    same order as TF-Slim, so they are paired in order (and shape-checked)."""
    convs = [k[: -len(".conv.weight")] for k in state_dict if k.endswith(".conv.weight")]
    heads = ("AuxLogits/Conv2d_2b_1x1/weights", "Logits/Conv2d_1c_1x1/weights")  # Linear in torchvision
    targets = [n[: -len("/weights")] for n in slim_names
               if n.endswith("/weights") and not n.endswith(heads)]
    blocks = {}
    for source in convs:
        blocks.setdefault(source.split(".")[0], []).append(source)
    out = {}
    for block, sources in blocks.items():
        block_targets = [t for t in targets if t.split("/")[1] == block]
        if len(block_targets) != len(sources):
            raise CheckpointError(f"inception_v3 block {block}: {len(sources)} torchvision convs, "
                                  f"{len(block_targets)} in the slimtorch net")
        for source, target in zip(sources, block_targets):
            out[f"{target}/weights"] = state_dict[f"{source}.conv.weight"]
            gamma = state_dict[f"{source}.bn.weight"]
            variance = state_dict[f"{source}.bn.running_var"]
            folded = (variance + _INCEPTION_BN_EPSILON) / gamma.square() - _INCEPTION_BN_EPSILON
            if (folded < 0).any():
                raise CheckpointError(f"{source}.bn: gamma too large to fold into {target}'s "
                                      "moving variance (TF-Slim's inception has no gamma)")
            out[f"{target}/BatchNorm/beta"] = state_dict[f"{source}.bn.bias"]
            out[f"{target}/BatchNorm/moving_mean"] = state_dict[f"{source}.bn.running_mean"]
            out[f"{target}/BatchNorm/moving_variance"] = folded
    scope = slim_names[0].split("/")[0]
    if "AuxLogits.fc.weight" in state_dict:
        out[f"{scope}/AuxLogits/Conv2d_2b_1x1/weights"] = _linear_as_conv(state_dict["AuxLogits.fc.weight"])
        out[f"{scope}/AuxLogits/Conv2d_2b_1x1/biases"] = state_dict["AuxLogits.fc.bias"]
    out[f"{scope}/Logits/Conv2d_1c_1x1/weights"] = _linear_as_conv(state_dict["fc.weight"])
    out[f"{scope}/Logits/Conv2d_1c_1x1/biases"] = state_dict["fc.bias"]
    return out


def torchvision_num_classes(state_dict: Mapping[str, torch.Tensor]) -> int:
    """The class count of a torchvision classifier state dict."""
    for key in ("fc.bias", "classifier.6.bias"):
        if key in state_dict:
            return int(state_dict[key].shape[0])
    raise CheckpointError("not a torchvision VGG/ResNet/Inception state dict (no fc.bias or "
                          "classifier.6.bias)")


def from_torchvision(state_dict: Mapping[str, torch.Tensor], net: str, slim_names=()) -> dict:
    """Maps a torchvision state dict onto zoo net ``net``'s Slim names
    (``slim_names``, the net's variable names in order, is needed for
    Inception v3).

    Raises:
        CheckpointError: no mapping for ``net``, or the state dict does not fit.
    """
    try:
        if net in _VGG_REPEATS:
            return vgg_from_torchvision(state_dict, net)
        if net.startswith("resnet_v1_") and net in TORCHVISION_NETS:
            return resnet_v1_from_torchvision(state_dict, net)
        if net == "inception_v3":
            return inception_v3_from_torchvision(state_dict, list(slim_names))
    except KeyError as missing:
        raise CheckpointError(f"not a torchvision {TORCHVISION_NETS[net]} state dict: "
                              f"no {missing}") from None
    raise CheckpointError(f"no torchvision name mapping for net {net!r} "
                          f"(available: {', '.join(TORCHVISION_NETS)})")
