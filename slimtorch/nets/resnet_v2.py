"""ResNet v2 (He et al., "Identity Mappings in Deep Residual Networks", 2016).

Follows research/slim's ``nets/resnet_v2.py``: full pre-activation bottleneck
units (batch norm + ReLU ``preact`` *before* the convs, no activation after
the addition), a root ``conv1`` without batch norm or activation, and a
``postnorm`` batch norm + ReLU after the last block. Scopes
(``resnet_v2_50/block1/unit_1/bottleneck_v2/preact``), variable names,
``end_points`` keys, options and defaults are TF-Slim's, so the released
checkpoints (1001 classes: class 0 is background) load unchanged.
``resnet_arg_scope`` is :func:`slimtorch.nets.resnet_utils.resnet_arg_scope`.

    >>> with slim.Graph():
    ...     net = slim.Model(resnet_v2_50, num_classes=1001)
    ...     with slim.arg_scope(resnet_arg_scope()):
    ...         _ = net.build((1, 3, 224, 224), device='meta')
    ...     len(net.variables())
    272

slimtorch differences: inputs are NCHW and so are the ``end_points``;
``is_training`` defaults to None, meaning batch norm follows the module's
``train()``/``eval()`` mode (or an outer ``arg_scope``), where TF-Slim
defaulted to True; an explicit bool wins, as in TF-Slim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..layers import batch_norm, conv2d
from ..scopes import variable_scope
from ..utils import collect_named_outputs
from . import resnet_utils
from .resnet_utils import Block, bottleneck_block, conv2d_same, standard_blocks, subsample

__all__ = ["bottleneck", "resnet_arg_scope", "resnet_v2", "resnet_v2_block", "resnet_v2_50",
           "resnet_v2_101", "resnet_v2_152", "resnet_v2_200"]

resnet_arg_scope = resnet_utils.resnet_arg_scope


@add_arg_scope
def bottleneck(inputs: torch.Tensor, depth: int, depth_bottleneck: int, stride: int,
               rate: int = 1, outputs_collections=None, scope=None) -> torch.Tensor:
    """The v2 (pre-activation) bottleneck unit.

    ``preact`` = batch norm + ReLU of the input feeds a 1x1, 3x3 (strided,
    atrous) and 1x1 conv; the last has neither batch norm nor activation. The
    shortcut is the *raw* input subsampled by ``stride`` when its depth is
    ``depth``, else a strided 1x1 conv of ``preact`` with biases and no batch
    norm. The output is the plain sum.

    Args:
        inputs: ``[N, C, H, W]``.
        depth: the unit's output depth.
        depth_bottleneck: the depth of the first two convs.
        stride: the unit's stride (applied by ``conv2`` and the shortcut).
        rate: the atrous rate of ``conv2``.
        outputs_collections: where the unit's output is collected (under its scope).
        scope: the unit's scope (default ``bottleneck_v2``).

    Returns:
        ``[N, depth, ceil(H / stride), ceil(W / stride)]``.

    Example:
        >>> with slim.Graph():
        ...     y = bottleneck(torch.randn(2, 16, 6, 6), 16, 4, stride=2)
        ...     sorted({v.name.split('/')[1] for v in slim.get_model_variables()})
        ['conv1', 'conv2', 'conv3', 'preact']
        >>> y.shape
        torch.Size([2, 16, 3, 3])
    """
    with variable_scope(scope, "bottleneck_v2", [inputs]) as sc:
        if inputs.dim() != 4:
            raise ValueError(f"{sc.name}: expected a 4-D input [N, C, H, W], "
                             f"got {list(inputs.shape)}")
        preact = batch_norm(inputs, activation_fn=F.relu, scope="preact")
        if depth == inputs.shape[1]:
            shortcut = subsample(inputs, stride, "shortcut")
        else:
            shortcut = conv2d(preact, depth, [1, 1], stride=stride, normalizer_fn=None,
                              activation_fn=None, scope="shortcut")
        residual = conv2d(preact, depth_bottleneck, [1, 1], stride=1, scope="conv1")
        residual = conv2d_same(residual, depth_bottleneck, 3, stride, rate=rate, scope="conv2")
        residual = conv2d(residual, depth, [1, 1], stride=1, normalizer_fn=None,
                          activation_fn=None, scope="conv3")
        return collect_named_outputs(outputs_collections, sc.name, shortcut + residual)


def resnet_v2(inputs: torch.Tensor, blocks, num_classes=None, is_training=None,
              global_pool: bool = True, output_stride=None, include_root_block: bool = True,
              spatial_squeeze: bool = True, reuse=None, scope=None):
    """The ResNet v2 generator: root conv, ``blocks``, ``postnorm``, global
    pool, logits. Arguments and returns as for
    :func:`slimtorch.nets.resnet_v1.resnet_v1` (v2 has no
    ``store_non_strided_activations``); without the root block, ``inputs``
    should come from a conv with no activation.

    Example:
        >>> blocks = [resnet_v2_block('block1', base_depth=2, num_units=2, stride=2)]
        >>> with slim.Graph():
        ...     features, end_points = resnet_v2(torch.randn(1, 3, 32, 32), blocks,
        ...                                       global_pool=False, scope='tiny')
        >>> features.shape, list(end_points)[-2:]
        (torch.Size([1, 8, 4, 4]), ['tiny/block1/unit_2/bottleneck_v2', 'tiny/block1'])
    """
    return resnet_utils.resnet(
        inputs, blocks, bottleneck, num_classes=num_classes, is_training=is_training,
        global_pool=global_pool, output_stride=output_stride,
        include_root_block=include_root_block, spatial_squeeze=spatial_squeeze,
        store_non_strided_activations=False, reuse=reuse, scope=scope,
        default_scope="resnet_v2", preactivation=True)


resnet_v2.default_image_size = 224
resnet_v2.input_channels = 3
resnet_v2.min_image_size = 1   # SAME convs, global pool


def resnet_v2_block(scope: str, base_depth: int, num_units: int, stride: int) -> Block:
    """A block of ``num_units`` v2 bottlenecks of depth ``4 * base_depth``,
    with ``stride`` in the last unit.

        >>> [u['depth'] for u in resnet_v2_block('block4', 512, 3, 1).args]
        [2048, 2048, 2048]
    """
    return bottleneck_block(scope, bottleneck, base_depth, num_units, stride)


def _standard(depth, inputs, num_classes, is_training, global_pool, output_stride,
              spatial_squeeze, reuse, scope):
    return resnet_v2(inputs, standard_blocks(bottleneck, depth), num_classes,
                     is_training=is_training, global_pool=global_pool,
                     output_stride=output_stride, include_root_block=True,
                     spatial_squeeze=spatial_squeeze, reuse=reuse, scope=scope)


def resnet_v2_50(inputs, num_classes=None, is_training=None, global_pool=True,
                 output_stride=None, spatial_squeeze=True, reuse=None, scope='resnet_v2_50'):
    """ResNet-50 v2: blocks of 3, 4, 6, 3 units; see :func:`resnet_v2`.

    Example:
        >>> with slim.Graph(), slim.arg_scope(resnet_arg_scope()):
        ...     net = slim.Model(resnet_v2_50, global_pool=False, output_stride=16)
        ...     net.build((1, 3, 225, 225), device='meta')(torch.empty(1, 3, 225, 225, device='meta'))[0].shape
        torch.Size([1, 2048, 15, 15])
    """
    return _standard(50, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, reuse, scope)


def resnet_v2_101(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, spatial_squeeze=True, reuse=None, scope='resnet_v2_101'):
    """ResNet-101 v2: blocks of 3, 4, 23, 3 units; see :func:`resnet_v2`.

        >>> resnet_v2_101.default_image_size
        224
    """
    return _standard(101, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, reuse, scope)


def resnet_v2_152(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, spatial_squeeze=True, reuse=None, scope='resnet_v2_152'):
    """ResNet-152 v2: blocks of 3, 8, 36, 3 units; see :func:`resnet_v2`.

        >>> resnet_v2_152.default_image_size
        224
    """
    return _standard(152, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, reuse, scope)


def resnet_v2_200(inputs, num_classes=None, is_training=None, global_pool=True,
                  output_stride=None, spatial_squeeze=True, reuse=None, scope='resnet_v2_200'):
    """ResNet-200 v2: blocks of 3, 24, 36, 3 units; see :func:`resnet_v2`.

        >>> resnet_v2_200.default_image_size
        224
    """
    return _standard(200, inputs, num_classes, is_training, global_pool, output_stride,
                     spatial_squeeze, reuse, scope)


for _net in (resnet_v2_50, resnet_v2_101, resnet_v2_152, resnet_v2_200):
    _net.default_image_size = resnet_v2.default_image_size
    _net.input_channels = resnet_v2.input_channels
    _net.min_image_size = resnet_v2.min_image_size
del _net
