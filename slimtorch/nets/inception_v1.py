"""Inception V1 (GoogLeNet), as research/slim's ``nets/inception_v1.py``.

Szegedy et al., "Going deeper with convolutions", http://arxiv.org/abs/1409.4842.
Same scopes and variable names (``InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/
weights``), ``end_points`` keys, options and defaults as research/slim, so its
checkpoints load as they are; with the same weights the outputs match TF-Slim.

slimtorch differences:

* Tensors are NCHW: ``end_points`` values are ``[N, C, H, W]``, branches are
  concatenated on dim 1, logits are ``[N, num_classes]`` (``[N, C, 1, 1]``
  with ``spatial_squeeze=False``).
* ``is_training=None`` (the default) makes batch norm and dropout follow the
  module's ``train()``/``eval()`` mode; TF-Slim's default is ``True``. An
  explicit ``True``/``False`` wins, as in TF-Slim.
* An unknown ``final_endpoint`` raises the same ``ValueError`` before anything
  is built (TF-Slim raises after building the whole base).

    >>> with slim.Graph():
    ...     net = slim.Model(inception_v1_base, final_endpoint='Conv2d_2b_1x1')
    ...     _ = net.build((1, 3, 224, 224), device='meta')
    ...     [v.name for v in slim.get_model_variables()][:2]
    ['InceptionV1/Conv2d_1a_7x7/weights', 'InceptionV1/Conv2d_1a_7x7/biases']
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..arg_scope import arg_scope
from ..layers import avg_pool2d, batch_norm, conv2d, dropout, fully_connected, max_pool2d, softmax
from ..scopes import variable_scope
from ._inception_blocks import (Mixed, check_final_endpoint, conv, logits_head, max_pool,
                                run_stages, trunc_normal)
from .inception_utils import inception_arg_scope

__all__ = ["inception_v1", "inception_v1_arg_scope", "inception_v1_base"]


def _module(name: str, b0: int, b1: tuple, b2: tuple, b3: int,
            b2_last: str = "Conv2d_0b_3x3") -> Mixed:
    """An Inception V1 module: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | 3x3 max pool -> 1x1."""
    return Mixed(
        name,
        conv("Conv2d_0a_1x1", b0, [1, 1]),
        [conv("Conv2d_0a_1x1", b1[0], [1, 1]), conv("Conv2d_0b_3x3", b1[1], [3, 3])],
        [conv("Conv2d_0a_1x1", b2[0], [1, 1]), conv(b2_last, b2[1], [3, 3])],
        [max_pool("MaxPool_0a_3x3", [3, 3]), conv("Conv2d_0b_1x1", b3, [1, 1])])


def _stages(include_root_block: bool) -> list:
    root = [
        conv("Conv2d_1a_7x7", 64, [7, 7], stride=2),
        max_pool("MaxPool_2a_3x3", [3, 3], stride=2),
        conv("Conv2d_2b_1x1", 64, [1, 1]),
        conv("Conv2d_2c_3x3", 192, [3, 3]),
        max_pool("MaxPool_3a_3x3", [3, 3], stride=2),
    ]
    modules = [
        _module("Mixed_3b", 64, (96, 128), (16, 32), 32),
        _module("Mixed_3c", 128, (128, 192), (32, 96), 64),
        max_pool("MaxPool_4a_3x3", [3, 3], stride=2),
        _module("Mixed_4b", 192, (96, 208), (16, 48), 64),
        _module("Mixed_4c", 160, (112, 224), (24, 64), 64),
        _module("Mixed_4d", 128, (128, 256), (24, 64), 64),
        _module("Mixed_4e", 112, (144, 288), (32, 64), 64),
        _module("Mixed_4f", 256, (160, 320), (32, 128), 128),
        max_pool("MaxPool_5a_2x2", [2, 2], stride=2),
        # research/slim names this one Conv2d_0a_3x3; checkpoints depend on it.
        _module("Mixed_5b", 256, (160, 320), (32, 128), 128, b2_last="Conv2d_0a_3x3"),
        _module("Mixed_5c", 384, (192, 384), (48, 128), 128),
    ]
    return root + modules if include_root_block else modules


def inception_v1_base(inputs: torch.Tensor, final_endpoint: str = "Mixed_5c",
                      include_root_block: bool = True, scope="InceptionV1"):
    """The Inception V1 layers from the input up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, H, W]`` images.
        final_endpoint: the last stage to build: one of ``Conv2d_1a_7x7,
            MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3,
            Mixed_3b, Mixed_3c, MaxPool_4a_3x3, Mixed_4b .. Mixed_4f,
            MaxPool_5a_2x2, Mixed_5b, Mixed_5c`` (the first five only with
            ``include_root_block``).
        include_root_block: build the convolutions and poolings before
            ``Mixed_3b``; without it ``inputs`` feed ``Mixed_3b`` directly.
        scope: variable scope (name or ``VariableScope``).

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` output and a dict from
        stage name to output, in build order.

    Raises:
        ValueError: ``final_endpoint`` is not one of the stages.

    Example:
        >>> with slim.Graph():
        ...     net, end_points = inception_v1_base(torch.randn(1, 3, 64, 64),
        ...                                         final_endpoint='MaxPool_3a_3x3')
        >>> net.shape, list(end_points)[-1]
        (torch.Size([1, 192, 8, 8]), 'MaxPool_3a_3x3')
    """
    stages = _stages(include_root_block)
    check_final_endpoint(final_endpoint, stages)
    end_points = {}
    with variable_scope(scope, "InceptionV1", [inputs]):
        with arg_scope([conv2d, fully_connected], weights_initializer=trunc_normal(0.01)):
            with arg_scope([conv2d, max_pool2d], stride=1, padding="SAME"):
                net, _ = run_stages(inputs, stages, final_endpoint, end_points)
    return net, end_points


def _avg_pool_7x7(net: torch.Tensor):
    # Unlike v2/v3, v1's pool keeps its 7x7 kernel for small inputs (and has stride 1).
    return avg_pool2d(net, [7, 7], stride=1, scope="AvgPool_0a_7x7"), "AvgPool_0a_7x7"


def inception_v1(inputs: torch.Tensor, num_classes: Optional[int] = 1000,
                 is_training: Optional[bool] = None, dropout_keep_prob: float = 0.8,
                 prediction_fn: Callable = softmax, spatial_squeeze: bool = True, reuse=None,
                 scope="InceptionV1", global_pool: bool = False):
    """Inception V1 for classification (default image size 224).

    Args:
        inputs: ``[N, C, H, W]`` images.
        num_classes: number of classes; 0 or None omits the logits layer and
            returns the pooled features (before dropout), ``[N, 1024, 1, 1]``.
        is_training: for batch norm and dropout; None follows the module's
            ``train()``/``eval()`` mode.
        dropout_keep_prob: the fraction of activations kept by dropout.
        prediction_fn: maps logits to ``end_points['Predictions']``.
        spatial_squeeze: return logits ``[N, num_classes]`` instead of
            ``[N, num_classes, 1, 1]``.
        reuse: reuse the variables of ``scope``.
        scope: variable scope.
        global_pool: average over the whole map (any input size gives 1x1)
            instead of the fixed 7x7 pool sized for 224x224 inputs.

    Returns:
        ``(logits, end_points)``; logits are the pooled features when
        ``num_classes`` is 0 or None.

    Example:
        >>> with slim.Graph(), slim.arg_scope(inception_v1_arg_scope()):
        ...     net = slim.Model(inception_v1, num_classes=10).build((1, 3, 224, 224),
        ...                                                          device='meta')
        ...     len(slim.get_model_variables()), net.InceptionV1.Logits.Conv2d_0c_1x1.biases.shape
        (230, torch.Size([10]))
    """
    with variable_scope(scope, "InceptionV1", [inputs], reuse=reuse) as sc:
        with arg_scope([batch_norm, dropout], is_training=is_training):
            net, end_points = inception_v1_base(inputs, scope=sc)
            return logits_head(
                net, end_points, num_classes=num_classes, dropout_keep_prob=dropout_keep_prob,
                prediction_fn=prediction_fn, spatial_squeeze=spatial_squeeze,
                global_pool=global_pool, fixed_pool=_avg_pool_7x7, dropout_scope="Dropout_0b",
                logits_scope="Conv2d_0c_1x1")


inception_v1.default_image_size = 224
inception_v1.input_channels = 3
inception_v1.min_image_size = 193   # the 7x7 VALID AvgPool needs a 7x7 map at stride 32 (1 with global_pool)

#: research/slim's ``inception_v1_arg_scope`` is ``inception_utils.inception_arg_scope``.
inception_v1_arg_scope = inception_arg_scope
