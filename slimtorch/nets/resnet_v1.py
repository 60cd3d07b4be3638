"""ResNet v1 (He et al., "Deep Residual Learning for Image Recognition", 2015).

Follows research/slim's ``nets/resnet_v1.py``: bottleneck units with batch
norm *after* every conv and projection shortcuts only where the depth
changes; scopes ``resnet_v1_50/block1/unit_1/bottleneck_v1/conv1``, variable
names, ``end_points`` keys, options and defaults are TF-Slim's, so the
released checkpoints (1000 classes) load unchanged. ``resnet_arg_scope`` is
:func:`slimtorch.nets.resnet_utils.resnet_arg_scope`.

    >>> with slim.Graph():
    ...     net = slim.Model(resnet_v1_50, num_classes=1000)
    ...     with slim.arg_scope(resnet_arg_scope()):
    ...         _ = net.build((1, 3, 224, 224), device='meta')
    ...     len(net.variables())
    267

slimtorch differences: inputs are NCHW and so are the ``end_points``;
``is_training`` defaults to None, meaning batch norm follows the module's
``train()``/``eval()`` mode (or an outer ``arg_scope``), where TF-Slim
defaulted to True; an explicit bool wins, as in TF-Slim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..layers import conv2d
from ..scopes import variable_scope
from ..utils import collect_named_outputs
from . import resnet_utils
from .resnet_utils import Block, bottleneck_block, conv2d_same, standard_blocks, subsample

__all__ = ["bottleneck", "resnet_arg_scope", "resnet_v1", "resnet_v1_block", "resnet_v1_50",
           "resnet_v1_101", "resnet_v1_152", "resnet_v1_200"]

resnet_arg_scope = resnet_utils.resnet_arg_scope


@add_arg_scope
def bottleneck(inputs: torch.Tensor, depth: int, depth_bottleneck: int, stride: int,
               rate: int = 1, outputs_collections=None, scope=None,
               use_bounded_activations: bool = False) -> torch.Tensor:
    """The v1 bottleneck unit: 1x1, 3x3 (strided, atrous), 1x1 convs, each
    followed by batch norm (from the arg scope), added to the shortcut, then ReLU.

    The shortcut is the input subsampled by ``stride`` when its depth is
    ``depth``, else a strided 1x1 conv (``shortcut``) with no activation.

    Args:
        inputs: ``[N, C, H, W]``.
        depth: the unit's output depth.
        depth_bottleneck: the depth of the first two convs.
        stride: the unit's stride (applied by ``conv2`` and the shortcut).
        rate: the atrous rate of ``conv2``.
        outputs_collections: where the unit's output is collected (under its scope).
        scope: the unit's scope (default ``bottleneck_v1``).
        use_bounded_activations: ReLU6 on the shortcut conv and the sum, and
            the residual clipped to [-6, 6] (for quantized inference).

    Returns:
        ``[N, depth, ceil(H / stride), ceil(W / stride)]``.

    Example:
        >>> with slim.Graph():
        ...     y = bottleneck(torch.randn(1, 8, 6, 6), 16, 4, stride=2)
        ...     [v.name for v in slim.get_model_variables()][:2]
        ['bottleneck_v1/shortcut/weights', 'bottleneck_v1/shortcut/biases']
        >>> y.shape
        torch.Size([1, 16, 3, 3])
    """
    with variable_scope(scope, "bottleneck_v1", [inputs]) as sc:
        if inputs.dim() != 4:
            raise ValueError(f"{sc.name}: expected a 4-D input [N, C, H, W], "
                             f"got {list(inputs.shape)}")
        if depth == inputs.shape[1]:
            shortcut = subsample(inputs, stride, "shortcut")
        else:
            shortcut = conv2d(inputs, depth, [1, 1], stride=stride,
                              activation_fn=F.relu6 if use_bounded_activations else None,
                              scope="shortcut")
        residual = conv2d(inputs, depth_bottleneck, [1, 1], stride=1, scope="conv1")
        residual = conv2d_same(residual, depth_bottleneck, 3, stride, rate=rate, scope="conv2")
        residual = conv2d(residual, depth, [1, 1], stride=1, activation_fn=None, scope="conv3")
        if use_bounded_activations:
            output = F.relu6(shortcut + residual.clamp(-6.0, 6.0))
        else:
            output = torch.relu_(shortcut + residual)   # the sum is ours: ReLU in place
        return collect_named_outputs(outputs_collections, sc.name, output)


def resnet_v1(inputs: torch.Tensor, blocks, num_classes=None, is_training=None,
              global_pool: bool = True, output_stride=None, include_root_block: bool = True,
              spatial_squeeze: bool = True, store_non_strided_activations: bool = False,
              reuse=None, scope=None):
    """The ResNet v1 generator: root block, ``blocks``, global pool, logits.

    Args:
        inputs: ``[N, 3, H, W]``.
        blocks: a list of :class:`~slimtorch.nets.resnet_utils.Block`.
        num_classes: the number of logits; 0 or None returns the features
            before the logits layer (after the global pool if ``global_pool``).
        is_training: batch norm's mode; None follows ``train()``/``eval()`` or
            an outer ``arg_scope([slim.batch_norm], is_training=...)``.
        global_pool: average the last block's output over space (True for
            classification, False for dense prediction).
        output_stride: None for the nominal stride (32 for the standard nets);
            else a multiple of 4 the blocks can reach (e.g. 8 or 16): later
            units use atrous convolution instead of striding.
        include_root_block: the 7x7/2 ``conv1`` and 3x3/2 ``pool1``.
        spatial_squeeze: logits ``[N, C]`` instead of ``[N, C, 1, 1]`` (the
            final map must then be 1x1).
        store_non_strided_activations: collect each block's output before its
            last stride (see ``stack_blocks_dense``).
        reuse: share the variables of an earlier call (needs ``scope``).
        scope: the net's scope (default ``resnet_v1``).

    Returns:
        ``(net, end_points)``: the logits (or features) and an ordered dict of
        the unit, block, conv and head outputs keyed by TF-Slim's names.

    Raises:
        ValueError: if ``output_stride`` cannot be reached.

    Example:
        >>> blocks = [resnet_v1_block('block1', base_depth=2, num_units=2, stride=2)]
        >>> with slim.Graph():
        ...     logits, end_points = resnet_v1(torch.randn(1, 3, 32, 32), blocks, num_classes=5,
        ...                                    scope='tiny')
        >>> logits.shape, list(end_points)[-4:]
        (torch.Size([1, 5]), ['global_pool', 'tiny/logits', 'tiny/spatial_squeeze', 'predictions'])
    """
    return resnet_utils.resnet(
        inputs, blocks, bottleneck, num_classes=num_classes, is_training=is_training,
        global_pool=global_pool, output_stride=output_stride,
        include_root_block=include_root_block, spatial_squeeze=spatial_squeeze,
        store_non_strided_activations=store_non_strided_activations, reuse=reuse, scope=scope,
        default_scope="resnet_v1", preactivation=False)


resnet_v1.default_image_size = 224
resnet_v1.input_channels = 3
resnet_v1.min_image_size = 1   # SAME convs, global pool


def resnet_v1_block(scope: str, base_depth: int, num_units: int, stride: int) -> Block:
    """A block of ``num_units`` v1 bottlenecks of depth ``4 * base_depth``,
    with ``stride`` in the last unit.

        >>> [u['stride'] for u in resnet_v1_block('block1', 64, 3, 2).args]
        [1, 1, 2]
    """
    return bottleneck_block(scope, bottleneck, base_depth, num_units, stride)


def _standard(depth, inputs, num_classes, is_training, global_pool, output_stride,
              spatial_squeeze, store_non_strided_activations, min_base_depth, depth_multiplier,
              reuse, scope):
    def depth_func(d):
        return max(int(d * depth_multiplier), min_base_depth)

    return resnet_v1(inputs, standard_blocks(bottleneck, depth, depth_func), num_classes,
                     is_training, global_pool=global_pool, output_stride=output_stride,
                     include_root_block=True, spatial_squeeze=spatial_squeeze,
                     store_non_strided_activations=store_non_strided_activations,
                     reuse=reuse, scope=scope)


def resnet_v1_50(inputs, num_classes=None, is_training=None, global_pool=True,
                 output_stride=None, spatial_squeeze=True, store_non_strided_activations=False,
                 min_base_depth=8, depth_multiplier=1, reuse=None, scope='resnet_v1_50'):
    """ResNet-50 v1: blocks of 3, 4, 6, 3 units; see :func:`resnet_v1`.

    ``depth_multiplier`` scales the bottleneck depths (64, 128, 256, 512),
    which stay at least ``min_base_depth``.

    Example:
        >>> with slim.Graph():
        ...     net = slim.Model(resnet_v1_50, depth_multiplier=0.25)
        ...     features = net(torch.randn(1, 3, 64, 64))[0]
        >>> features.shape
        torch.Size([1, 512, 1, 1])
    """
    return _standard(50, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, store_non_strided_activations, min_base_depth,
                     depth_multiplier, reuse, scope)


def resnet_v1_101(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, spatial_squeeze=True, store_non_strided_activations=False,
                  min_base_depth=8, depth_multiplier=1, reuse=None, scope='resnet_v1_101'):
    """ResNet-101 v1: blocks of 3, 4, 23, 3 units; see :func:`resnet_v1_50`.

        >>> resnet_v1_101.default_image_size
        224
    """
    return _standard(101, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, store_non_strided_activations, min_base_depth,
                     depth_multiplier, reuse, scope)


# research/slim puts store_non_strided_activations before spatial_squeeze here.
def resnet_v1_152(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, store_non_strided_activations=False, spatial_squeeze=True,
                  min_base_depth=8, depth_multiplier=1, reuse=None, scope='resnet_v1_152'):
    """ResNet-152 v1: blocks of 3, 8, 36, 3 units; see :func:`resnet_v1_50`.

        >>> resnet_v1_152.default_image_size
        224
    """
    return _standard(152, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, store_non_strided_activations, min_base_depth,
                     depth_multiplier, reuse, scope)


def resnet_v1_200(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, store_non_strided_activations=False, spatial_squeeze=True,
                  min_base_depth=8, depth_multiplier=1, reuse=None, scope='resnet_v1_200'):
    """ResNet-200 v1: blocks of 3, 24, 36, 3 units; see :func:`resnet_v1_50`.

        >>> resnet_v1_200.default_image_size
        224
    """
    return _standard(200, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, store_non_strided_activations, min_base_depth,
                     depth_multiplier, reuse, scope)


for _net in (resnet_v1_50, resnet_v1_101, resnet_v1_152, resnet_v1_200):
    _net.default_image_size = resnet_v1.default_image_size
    _net.input_channels = resnet_v1.input_channels
    _net.min_image_size = resnet_v1.min_image_size
del _net
