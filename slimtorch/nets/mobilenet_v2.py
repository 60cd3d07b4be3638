"""MobileNet v2 (Sandler et al., 2018, https://arxiv.org/abs/1801.04381).

Follows research/slim's ``nets/mobilenet/mobilenet_v2.py``: the op table
:data:`V2_DEF` run by :mod:`slimtorch.nets.mobilenet_blocks` (its
``mobilenet.py``/``conv_blocks.py``), with TF's scope ``MobilenetV2``,
variable names (``Conv/weights``, ``expanded_conv/depthwise/depthwise_weights``,
``expanded_conv_1/expand/weights``, ``Conv_1/...``,
``Logits/Conv2d_1c_1x1/...``), ``end_points`` keys (``layer_1`` ...
``layer_19``, then ``layer_i/expansion_output``, ``layer_i/depthwise_output``,
``layer_i/output``, then ``global_pool``, ``Logits``, ``Predictions``),
options and defaults. Every conv has batch norm (with gamma) and ReLU6,
except the linear projections and the logits; channel counts are scaled by
``depth_multiplier`` and rounded to multiples of 8.

slimtorch differences: tensors are NCHW. Without :func:`training_scope`
TF built an inference net; here ``is_training=None`` (the default) makes
batch norm and dropout follow the module's ``train()``/``eval()`` mode, and
an explicit ``is_training`` (to the net or through :func:`training_scope`)
wins.

    >>> net = slim.Model(mobilenet, num_classes=10).build((1, 3, 224, 224), device='meta')
    >>> len(slim.get_variables()), slim.get_variables()[-1].name
    (262, 'MobilenetV2/Logits/Conv2d_1c_1x1/biases')
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope, arg_scope
from ..layers import batch_norm, conv2d, fully_connected, separable_conv2d
from . import mobilenet_blocks as lib
from .mobilenet_blocks import expand_input_by_factor as expand_input
from .mobilenet_blocks import expanded_conv, op, training_scope, wrapped_partial

__all__ = ["V2_DEF", "mobilenet", "mobilenet_base", "mobilenet_v2_140", "mobilenet_v2_050",
           "mobilenet_v2_035", "training_scope"]

# The paper's Table 2. The batch-norm and activation defaults live here, not
# in training_scope, because they change the inference model.
V2_DEF = dict(
    defaults={
        (batch_norm,): {"center": True, "scale": True},
        (conv2d, fully_connected, separable_conv2d): {
            "normalizer_fn": batch_norm, "activation_fn": F.relu6,
        },
        (expanded_conv,): {
            "expansion_size": expand_input(6),
            "split_expansion": 1,
            "normalizer_fn": batch_norm,
            "residual": True,
        },
        (conv2d, separable_conv2d): {"padding": "SAME"},
    },
    spec=[
        op(conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
        op(expanded_conv, expansion_size=expand_input(1, divisible_by=1), num_outputs=16),
        op(expanded_conv, stride=2, num_outputs=24),
        op(expanded_conv, stride=1, num_outputs=24),
        op(expanded_conv, stride=2, num_outputs=32),
        op(expanded_conv, stride=1, num_outputs=32),
        op(expanded_conv, stride=1, num_outputs=32),
        op(expanded_conv, stride=2, num_outputs=64),
        op(expanded_conv, stride=1, num_outputs=64),
        op(expanded_conv, stride=1, num_outputs=64),
        op(expanded_conv, stride=1, num_outputs=64),
        op(expanded_conv, stride=1, num_outputs=96),
        op(expanded_conv, stride=1, num_outputs=96),
        op(expanded_conv, stride=1, num_outputs=96),
        op(expanded_conv, stride=2, num_outputs=160),
        op(expanded_conv, stride=1, num_outputs=160),
        op(expanded_conv, stride=1, num_outputs=160),
        op(expanded_conv, stride=1, num_outputs=320),
        op(conv2d, stride=1, kernel_size=[1, 1], num_outputs=1280),
    ],
)


@add_arg_scope
def mobilenet(input_tensor: torch.Tensor, num_classes=1001, depth_multiplier: float = 1.0,
              scope: str = "MobilenetV2", conv_defs=None,
              finegrain_classification_mode: bool = False, min_depth=None, divisible_by=None,
              activation_fn=None, **kwargs):
    """MobileNet v2 for classification (research/slim's factory name
    ``mobilenet_v2``).

    Args:
        input_tensor: ``[N, 3, H, W]`` (224x224 for the released checkpoints).
        num_classes: number of classes; 0 or None returns the pooled
            features ``[N, 1280, 1, 1]``.
        depth_multiplier: scales every layer's channels (rounded to
            multiples of ``divisible_by``).
        scope: variable scope.
        conv_defs: the op table; None means :data:`V2_DEF`.
        finegrain_classification_mode: keep the last conv at 1280 channels
            when ``depth_multiplier < 1`` (ignored if ``final_endpoint`` stops
            earlier).
        min_depth: the fewest channels of any layer (default 8).
        divisible_by: channel counts are multiples of it (default 8).
        activation_fn: replaces ReLU6 in the table's defaults.
        **kwargs: to :func:`slimtorch.nets.mobilenet_blocks.mobilenet`:
            ``prediction_fn``, ``reuse``, ``base_only``, ``final_endpoint``,
            ``output_stride``, ``use_explicit_padding``, ``is_training``.

    Returns:
        ``(logits, end_points)``.

    Raises:
        ValueError: ``multiplier`` is given (use ``depth_multiplier``), or as
            ``mobilenet_blocks.mobilenet``.

    Example:
        >>> logits, end_points = mobilenet(torch.zeros(1, 3, 64, 64), num_classes=4,
        ...                                depth_multiplier=0.35)
        >>> logits.shape, end_points['layer_19'].shape
        (torch.Size([1, 4]), torch.Size([1, 448, 2, 2]))
    """
    if conv_defs is None:
        conv_defs = V2_DEF
    if "multiplier" in kwargs:
        raise ValueError("mobilenetv2 doesn't support generic multiplier parameter use "
                         "\"depth_multiplier\" instead.")
    if finegrain_classification_mode:
        conv_defs = copy.deepcopy(conv_defs)
        if depth_multiplier < 1:
            # Undone by the multiplier: the last layer keeps its full depth.
            conv_defs["spec"][-1].params["num_outputs"] /= depth_multiplier
    if activation_fn:
        conv_defs = copy.deepcopy(conv_defs)
        defaults = conv_defs["defaults"]
        defaults[(conv2d, fully_connected, separable_conv2d)]["activation_fn"] = activation_fn

    # Only what was given: an outer arg_scope on depth_multiplier may set the rest.
    depth_args = {}
    if min_depth is not None:
        depth_args["min_depth"] = min_depth
    if divisible_by is not None:
        depth_args["divisible_by"] = divisible_by
    with arg_scope((lib.depth_multiplier,), **depth_args):
        return lib.mobilenet(input_tensor, num_classes=num_classes, conv_defs=conv_defs,
                             scope=scope, multiplier=depth_multiplier, **kwargs)


mobilenet.default_image_size = 224
mobilenet.input_channels = 3
mobilenet.min_image_size = 1   # SAME everywhere; the final pool is global

# finegrain_classification_mode keeps the 1280-channel embedding for the
# narrow variants.
mobilenet_v2_140 = wrapped_partial(mobilenet, depth_multiplier=1.4)
mobilenet_v2_050 = wrapped_partial(mobilenet, depth_multiplier=0.50,
                                   finegrain_classification_mode=True)
mobilenet_v2_035 = wrapped_partial(mobilenet, depth_multiplier=0.35,
                                   finegrain_classification_mode=True)


@add_arg_scope
def mobilenet_base(input_tensor: torch.Tensor, depth_multiplier: float = 1.0, **kwargs):
    """MobileNet v2 without pooling and logits: ``(layer_19, end_points)``.
    ``kwargs`` as :func:`mobilenet`.

    Example:
        >>> net, end_points = mobilenet_base(torch.zeros(2, 3, 32, 32), depth_multiplier=0.35)
        >>> net.shape, len(end_points)
        (torch.Size([2, 448, 1, 1]), 69)
    """
    return mobilenet(input_tensor, depth_multiplier=depth_multiplier, base_only=True, **kwargs)
