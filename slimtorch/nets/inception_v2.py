"""Inception V2 (BN-Inception), as research/slim's ``nets/inception_v2.py``.

Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift", http://arxiv.org/abs/1502.03167.
Same scopes and variable names, ``end_points`` keys, options
(``depth_multiplier``, ``min_depth``, ``use_separable_conv``,
``include_root_block``, ``global_pool``) and defaults as research/slim, so its
checkpoints load as they are; with the same weights the outputs match TF-Slim.

The first layer ``Conv2d_1a_7x7`` is by default a separable convolution
outside ``inception_arg_scope`` (research/slim scopes only ``conv2d``): it has
``depthwise_weights [7, 7, 3, m]`` with ``m = min(int(depth(64) / 3), 8)``,
``pointwise_weights``, ``biases``, a ReLU, and neither batch norm nor weight
decay.

slimtorch differences:

* Tensors are NCHW: ``end_points`` values are ``[N, C, H, W]``, branches are
  concatenated on dim 1, logits are ``[N, num_classes]`` (``[N, C, 1, 1]``
  with ``spatial_squeeze=False``). ``inception_v2_base`` accepts
  ``data_format='NHWC'`` (channels-last activations, concatenated on dim 3)
  with or without the separable first layer; its default is NCHW, not
  research/slim's ``'NHWC'``.
* ``is_training=None`` (the default) makes batch norm and dropout follow the
  module's ``train()``/``eval()`` mode; TF-Slim's default is ``True``. An
  explicit ``True``/``False`` wins, as in TF-Slim.
* An unknown ``final_endpoint`` raises the same ``ValueError`` before anything
  is built (TF-Slim raises after building the whole base).

    >>> with slim.Graph():
    ...     net = slim.Model(inception_v2_base, final_endpoint='Conv2d_1a_7x7')
    ...     _ = net.build((1, 3, 224, 224), device='meta')
    ...     [v.name for v in slim.get_model_variables()]
    ['InceptionV2/Conv2d_1a_7x7/depthwise_weights', 'InceptionV2/Conv2d_1a_7x7/pointwise_weights',
     'InceptionV2/Conv2d_1a_7x7/biases']
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..arg_scope import arg_scope
from ..layers import avg_pool2d, batch_norm, conv2d, dropout, max_pool2d, separable_conv2d, softmax
from ..scopes import variable_scope
from ._inception_blocks import (Layer, Mixed, avg_pool, check_final_endpoint, conv, depth_fn,
                                fixed_avg_pool, logits_head, max_pool, run_stages, trunc_normal)
from .inception_utils import inception_arg_scope

__all__ = ["inception_v2", "inception_v2_arg_scope", "inception_v2_base"]

_NARROW = trunc_normal(0.09)  # research/slim's init of the 1x1 convs that feed a 3x3
_POOL_PROJ = trunc_normal(0.1)  # ... and of the 1x1 convs after a pooling


def _module(name: str, depth, b0: int, b1: tuple, b2: tuple, b3: int, axis: int,
            pool: Optional[Layer] = None) -> Mixed:
    """1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 | 3x3 pool (average by default) -> 1x1."""
    return Mixed(
        name,
        conv("Conv2d_0a_1x1", depth(b0), [1, 1]),
        [conv("Conv2d_0a_1x1", depth(b1[0]), [1, 1], weights_initializer=_NARROW),
         conv("Conv2d_0b_3x3", depth(b1[1]), [3, 3])],
        [conv("Conv2d_0a_1x1", depth(b2[0]), [1, 1], weights_initializer=_NARROW),
         conv("Conv2d_0b_3x3", depth(b2[1]), [3, 3]),
         conv("Conv2d_0c_3x3", depth(b2[1]), [3, 3])],
        [pool or avg_pool("AvgPool_0a_3x3", [3, 3]),
         conv("Conv2d_0b_1x1", depth(b3), [1, 1], weights_initializer=_POOL_PROJ)],
        axis=axis)


def _reduction(name: str, depth, b0: tuple, b1: tuple, axis: int) -> Mixed:
    """Grid reduction: 1x1 -> 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | 3x3/2 max pool."""
    return Mixed(
        name,
        [conv("Conv2d_0a_1x1", depth(b0[0]), [1, 1], weights_initializer=_NARROW),
         conv("Conv2d_1a_3x3", depth(b0[1]), [3, 3], stride=2)],
        [conv("Conv2d_0a_1x1", depth(b1[0]), [1, 1], weights_initializer=_NARROW),
         conv("Conv2d_0b_3x3", depth(b1[1]), [3, 3]),
         conv("Conv2d_1a_3x3", depth(b1[1]), [3, 3], stride=2)],
        max_pool("MaxPool_1a_3x3", [3, 3], stride=2),
        axis=axis)


def _first_layer(depth, use_separable_conv: bool) -> Layer:
    if use_separable_conv:
        # The depthwise multiplier (not depth_multiplier) sets the depthwise
        # step's channels; research/slim keeps in_channels * it <= out_channels.
        depthwise_multiplier = min(int(depth(64) / 3), 8)
        return Layer("Conv2d_1a_7x7", separable_conv2d, depth(64), [7, 7],
                     depth_multiplier=depthwise_multiplier, stride=2, padding="SAME",
                     weights_initializer=trunc_normal(1.0))
    return conv("Conv2d_1a_7x7", depth(64), [7, 7], stride=2,
                weights_initializer=trunc_normal(1.0))


def _stages(depth, use_separable_conv: bool, include_root_block: bool, axis: int) -> list:
    root = [
        _first_layer(depth, use_separable_conv),
        max_pool("MaxPool_2a_3x3", [3, 3], stride=2),
        conv("Conv2d_2b_1x1", depth(64), [1, 1], weights_initializer=trunc_normal(0.1)),
        conv("Conv2d_2c_3x3", depth(192), [3, 3]),
        max_pool("MaxPool_3a_3x3", [3, 3], stride=2),
    ]
    modules = [
        _module("Mixed_3b", depth, 64, (64, 64), (64, 96), 32, axis),
        _module("Mixed_3c", depth, 64, (64, 96), (64, 96), 64, axis),
        _reduction("Mixed_4a", depth, (128, 160), (64, 96), axis),
        _module("Mixed_4b", depth, 224, (64, 96), (96, 128), 128, axis),
        _module("Mixed_4c", depth, 192, (96, 128), (96, 128), 128, axis),
        _module("Mixed_4d", depth, 160, (128, 160), (128, 160), 96, axis),
        _module("Mixed_4e", depth, 96, (128, 192), (160, 192), 96, axis),
        _reduction("Mixed_5a", depth, (128, 192), (192, 256), axis),
        _module("Mixed_5b", depth, 352, (192, 320), (160, 224), 128, axis),
        _module("Mixed_5c", depth, 352, (192, 320), (192, 224), 128, axis,
                pool=max_pool("MaxPool_0a_3x3", [3, 3])),
    ]
    return root + modules if include_root_block else modules


def inception_v2_base(inputs: torch.Tensor, final_endpoint: str = "Mixed_5c",
                      min_depth: int = 16, depth_multiplier: float = 1.0,
                      use_separable_conv: bool = True, data_format: Optional[str] = None,
                      include_root_block: bool = True, scope=None):
    """The Inception V2 layers from the input up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, H, W]`` images (``[N, H, W, C]`` with
            ``data_format='NHWC'``).
        final_endpoint: the last stage to build: one of ``Conv2d_1a_7x7,
            MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3,
            Mixed_3b, Mixed_3c, Mixed_4a .. Mixed_4e, Mixed_5a .. Mixed_5c``
            (the first five only with ``include_root_block``).
        min_depth: the fewest channels of any convolution (binding when
            ``depth_multiplier < 1``).
        depth_multiplier: scales every convolution's channels; > 0.
        use_separable_conv: make ``Conv2d_1a_7x7`` a separable convolution
            (research/slim's default) instead of a ``conv2d``.
        data_format: ``None``/``'NCHW'`` or ``'NHWC'``, the activations' layout.
        include_root_block: build the layers before ``Mixed_3b``.
        scope: variable scope (name or ``VariableScope``); default ``InceptionV2``.

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` output and a dict from
        stage name to output, in build order.

    Raises:
        ValueError: unknown ``final_endpoint`` or ``data_format``, or
            ``depth_multiplier <= 0``.

    Example:
        >>> with slim.Graph():
        ...     net, end_points = inception_v2_base(torch.randn(1, 3, 64, 64),
        ...                                         final_endpoint='Mixed_3b',
        ...                                         depth_multiplier=0.25)
        >>> net.shape, list(end_points)[-2:]
        (torch.Size([1, 72, 8, 8]), ['MaxPool_3a_3x3', 'Mixed_3b'])
    """
    depth = depth_fn(depth_multiplier, min_depth)
    if data_format not in (None, "NCHW", "NHWC"):
        raise ValueError(f"data_format must be either NHWC or NCHW, got {data_format!r}.")
    axis = 3 if data_format == "NHWC" else 1
    stages = _stages(depth, use_separable_conv, include_root_block, axis)
    check_final_endpoint(final_endpoint, stages)
    end_points = {}
    with variable_scope(scope, "InceptionV2", [inputs]):
        with arg_scope([conv2d, max_pool2d, avg_pool2d, separable_conv2d],
                       data_format=data_format):
            with arg_scope([conv2d, max_pool2d, avg_pool2d], stride=1, padding="SAME"):
                net, _ = run_stages(inputs, stages, final_endpoint, end_points)
    return net, end_points


def inception_v2(inputs: torch.Tensor, num_classes: Optional[int] = 1000,
                 is_training: Optional[bool] = None, dropout_keep_prob: float = 0.8,
                 min_depth: int = 16, depth_multiplier: float = 1.0,
                 prediction_fn: Callable = softmax, spatial_squeeze: bool = True, reuse=None,
                 scope="InceptionV2", global_pool: bool = False):
    """Inception V2 for classification (default image size 224).

    Args:
        inputs: ``[N, C, H, W]`` images.
        num_classes: number of classes; 0 or None omits the logits layer and
            returns the pooled features (before dropout).
        is_training: for batch norm and dropout; None follows the module's
            ``train()``/``eval()`` mode.
        dropout_keep_prob: the fraction of activations kept by dropout.
        min_depth, depth_multiplier: as :func:`inception_v2_base`.
        prediction_fn: maps logits to ``end_points['Predictions']``.
        spatial_squeeze: return logits ``[N, num_classes]`` instead of
            ``[N, num_classes, 1, 1]``.
        reuse: reuse the variables of ``scope``.
        scope: variable scope.
        global_pool: average over the whole map instead of the 7x7 pool
            (shrunk for smaller maps; larger inputs give a larger output).

    Returns:
        ``(logits, end_points)``; logits are the pooled features when
        ``num_classes`` is 0 or None.

    Raises:
        ValueError: ``depth_multiplier <= 0``.

    Example:
        >>> with slim.Graph(), slim.arg_scope(inception_v2_arg_scope()):
        ...     net = slim.Model(inception_v2, num_classes=10, depth_multiplier=0.25)
        ...     logits, end_points = net.eval()(torch.randn(1, 3, 96, 96))
        ...     logits.shape, end_points['AvgPool_1a'].shape, len(slim.get_model_variables())
        (torch.Size([1, 10]), torch.Size([1, 256, 1, 1]), 277)
    """
    depth_fn(depth_multiplier, min_depth)  # research/slim validates before opening the scope
    with variable_scope(scope, "InceptionV2", [inputs], reuse=reuse) as sc:
        with arg_scope([batch_norm, dropout], is_training=is_training):
            net, end_points = inception_v2_base(inputs, scope=sc, min_depth=min_depth,
                                                depth_multiplier=depth_multiplier)
            return logits_head(
                net, end_points, num_classes=num_classes, dropout_keep_prob=dropout_keep_prob,
                prediction_fn=prediction_fn, spatial_squeeze=spatial_squeeze,
                global_pool=global_pool, fixed_pool=fixed_avg_pool([7, 7]),
                dropout_scope="Dropout_1b", logits_scope="Conv2d_1c_1x1")


inception_v2.default_image_size = 224
inception_v2.input_channels = 3
inception_v2.min_image_size = 1   # SAME everywhere; the final pool shrinks to fit

#: research/slim's ``inception_v2_arg_scope`` is ``inception_utils.inception_arg_scope``.
inception_v2_arg_scope = inception_arg_scope
