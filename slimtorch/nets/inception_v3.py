"""Inception V3, as research/slim's ``nets/inception_v3.py``.

Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
http://arxiv.org/abs/1512.00567.
Same scopes and variable names (including research/slim's irregular ones,
``Mixed_5c/Branch_1/Conv_1_0c_5x5`` and ``Mixed_6a/Branch_0/Conv2d_1a_1x1``
for a 3x3 kernel), ``end_points`` keys, options (``depth_multiplier``,
``min_depth``, ``create_aux_logits``, ``global_pool``) and defaults as
research/slim, so its checkpoints load as they are; with the same weights the
outputs match TF-Slim, ``AuxLogits`` included.

slimtorch differences:

* Tensors are NCHW: ``end_points`` values are ``[N, C, H, W]``, branches are
  concatenated on dim 1, logits are ``[N, num_classes]`` (``[N, C, 1, 1]``
  with ``spatial_squeeze=False``).
* ``is_training=None`` (the default) makes batch norm and dropout follow the
  module's ``train()``/``eval()`` mode; TF-Slim's default is ``True``. An
  explicit ``True``/``False`` wins, as in TF-Slim.
* An unknown ``final_endpoint`` raises the same ``ValueError`` before anything
  is built (TF-Slim raises after building the whole base).

    >>> with slim.Graph(), slim.arg_scope(inception_v3_arg_scope()):
    ...     net = slim.Model(inception_v3).build((1, 3, 299, 299), device='meta')
    ...     aux = net.InceptionV3.AuxLogits
    ...     len(slim.get_model_variables()), tuple(aux.Conv2d_2a_5x5.weights.shape)
    (388, (768, 128, 5, 5))
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..arg_scope import arg_scope
from ..layers import avg_pool2d, batch_norm, conv2d, dropout, max_pool2d, softmax
from ..scopes import get_variable_scope, variable_scope
from ._inception_blocks import (Fork, Mixed, avg_pool, check_final_endpoint, conv, depth_fn,
                                fixed_avg_pool, logits_head, max_pool, run_stages, trunc_normal)
from ._utils import reduced_kernel_size_for_small_input, squeeze_spatial
from .inception_utils import inception_arg_scope

__all__ = ["inception_v3", "inception_v3_arg_scope", "inception_v3_base"]


def _stem(depth) -> list:
    """The layers before the Inception modules (research/slim pads them VALID)."""
    return [
        conv("Conv2d_1a_3x3", depth(32), [3, 3], stride=2),
        conv("Conv2d_2a_3x3", depth(32), [3, 3]),
        conv("Conv2d_2b_3x3", depth(64), [3, 3], padding="SAME"),
        max_pool("MaxPool_3a_3x3", [3, 3], stride=2),
        conv("Conv2d_3b_1x1", depth(80), [1, 1]),
        conv("Conv2d_4a_3x3", depth(192), [3, 3]),
        max_pool("MaxPool_5a_3x3", [3, 3], stride=2),
    ]


def _module_35(name: str, depth, pool_depth: int,
               b1_names: tuple = ("Conv2d_0a_1x1", "Conv2d_0b_5x5")) -> Mixed:
    """35x35 module: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1."""
    return Mixed(
        name,
        conv("Conv2d_0a_1x1", depth(64), [1, 1]),
        [conv(b1_names[0], depth(48), [1, 1]), conv(b1_names[1], depth(64), [5, 5])],
        [conv("Conv2d_0a_1x1", depth(64), [1, 1]),
         conv("Conv2d_0b_3x3", depth(96), [3, 3]),
         conv("Conv2d_0c_3x3", depth(96), [3, 3])],
        [avg_pool("AvgPool_0a_3x3", [3, 3]), conv("Conv2d_0b_1x1", depth(pool_depth), [1, 1])])


def _module_17(name: str, depth, c7: int) -> Mixed:
    """17x17 module with factorized 7x7 convolutions of ``c7`` channels."""
    return Mixed(
        name,
        conv("Conv2d_0a_1x1", depth(192), [1, 1]),
        [conv("Conv2d_0a_1x1", depth(c7), [1, 1]),
         conv("Conv2d_0b_1x7", depth(c7), [1, 7]),
         conv("Conv2d_0c_7x1", depth(192), [7, 1])],
        [conv("Conv2d_0a_1x1", depth(c7), [1, 1]),
         conv("Conv2d_0b_7x1", depth(c7), [7, 1]),
         conv("Conv2d_0c_1x7", depth(c7), [1, 7]),
         conv("Conv2d_0d_7x1", depth(c7), [7, 1]),
         conv("Conv2d_0e_1x7", depth(192), [1, 7])],
        [avg_pool("AvgPool_0a_3x3", [3, 3]), conv("Conv2d_0b_1x1", depth(192), [1, 1])])


def _module_8(name: str, depth, b1_3x1: str) -> Mixed:
    """8x8 module whose 3x3s are split into parallel 1x3 and 3x1 convolutions."""
    return Mixed(
        name,
        conv("Conv2d_0a_1x1", depth(320), [1, 1]),
        [conv("Conv2d_0a_1x1", depth(384), [1, 1]),
         Fork(conv("Conv2d_0b_1x3", depth(384), [1, 3]), conv(b1_3x1, depth(384), [3, 1]))],
        [conv("Conv2d_0a_1x1", depth(448), [1, 1]),
         conv("Conv2d_0b_3x3", depth(384), [3, 3]),
         Fork(conv("Conv2d_0c_1x3", depth(384), [1, 3]),
              conv("Conv2d_0d_3x1", depth(384), [3, 1]))],
        [avg_pool("AvgPool_0a_3x3", [3, 3]), conv("Conv2d_0b_1x1", depth(192), [1, 1])])


def _modules(depth) -> list:
    """The Inception modules (research/slim pads them SAME unless stated)."""
    valid = dict(stride=2, padding="VALID")
    return [
        _module_35("Mixed_5b", depth, 32),
        # research/slim's names in Mixed_5c break the pattern; checkpoints use them.
        _module_35("Mixed_5c", depth, 64, b1_names=("Conv2d_0b_1x1", "Conv_1_0c_5x5")),
        _module_35("Mixed_5d", depth, 64),
        Mixed("Mixed_6a",
              conv("Conv2d_1a_1x1", depth(384), [3, 3], **valid),
              [conv("Conv2d_0a_1x1", depth(64), [1, 1]),
               conv("Conv2d_0b_3x3", depth(96), [3, 3]),
               conv("Conv2d_1a_1x1", depth(96), [3, 3], **valid)],
              max_pool("MaxPool_1a_3x3", [3, 3], **valid)),
        _module_17("Mixed_6b", depth, 128),
        _module_17("Mixed_6c", depth, 160),
        _module_17("Mixed_6d", depth, 160),
        _module_17("Mixed_6e", depth, 192),
        Mixed("Mixed_7a",
              [conv("Conv2d_0a_1x1", depth(192), [1, 1]),
               conv("Conv2d_1a_3x3", depth(320), [3, 3], **valid)],
              [conv("Conv2d_0a_1x1", depth(192), [1, 1]),
               conv("Conv2d_0b_1x7", depth(192), [1, 7]),
               conv("Conv2d_0c_7x1", depth(192), [7, 1]),
               conv("Conv2d_1a_3x3", depth(192), [3, 3], **valid)],
              max_pool("MaxPool_1a_3x3", [3, 3], **valid)),
        _module_8("Mixed_7b", depth, "Conv2d_0b_3x1"),
        _module_8("Mixed_7c", depth, "Conv2d_0c_3x1"),
    ]


def inception_v3_base(inputs: torch.Tensor, final_endpoint: str = "Mixed_7c",
                      min_depth: int = 16, depth_multiplier: float = 1.0, scope=None):
    """The Inception V3 layers from the input up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, H, W]`` images.
        final_endpoint: the last stage to build: one of ``Conv2d_1a_3x3,
            Conv2d_2a_3x3, Conv2d_2b_3x3, MaxPool_3a_3x3, Conv2d_3b_1x1,
            Conv2d_4a_3x3, MaxPool_5a_3x3, Mixed_5b .. Mixed_5d,
            Mixed_6a .. Mixed_6e, Mixed_7a .. Mixed_7c``.
        min_depth: the fewest channels of any convolution (binding when
            ``depth_multiplier < 1``).
        depth_multiplier: scales every convolution's channels; > 0.
        scope: variable scope (name or ``VariableScope``); default ``InceptionV3``.

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` output and a dict from
        stage name to output, in build order.

    Raises:
        ValueError: unknown ``final_endpoint``, or ``depth_multiplier <= 0``.

    Example:
        >>> with slim.Graph():
        ...     net, end_points = inception_v3_base(torch.randn(1, 3, 75, 75),
        ...                                         final_endpoint='Mixed_5b',
        ...                                         depth_multiplier=0.25)
        >>> net.shape, list(end_points)[-2:]
        (torch.Size([1, 72, 7, 7]), ['MaxPool_5a_3x3', 'Mixed_5b'])
    """
    depth = depth_fn(depth_multiplier, min_depth)
    stem, modules = _stem(depth), _modules(depth)
    check_final_endpoint(final_endpoint, stem + modules)
    end_points = {}
    with variable_scope(scope, "InceptionV3", [inputs]):
        with arg_scope([conv2d, max_pool2d, avg_pool2d], stride=1, padding="VALID"):
            net, reached = run_stages(inputs, stem, final_endpoint, end_points)
        if not reached:
            with arg_scope([conv2d, max_pool2d, avg_pool2d], stride=1, padding="SAME"):
                net, _ = run_stages(net, modules, final_endpoint, end_points)
    return net, end_points


def _aux_logits(net: torch.Tensor, depth, num_classes: int,
                spatial_squeeze: bool) -> torch.Tensor:
    """The auxiliary classifier on ``Mixed_6e``, in scope ``AuxLogits``."""
    with arg_scope([conv2d, max_pool2d, avg_pool2d], stride=1, padding="SAME"):
        with variable_scope("AuxLogits"):
            net = avg_pool2d(net, [5, 5], stride=3, padding="VALID", scope="AvgPool_1a_5x5")
            net = conv2d(net, depth(128), [1, 1], scope="Conv2d_1b_1x1")
            # A 5x5 kernel covers the whole map at 299x299; smaller inputs shrink it.
            kernel = reduced_kernel_size_for_small_input(net, [5, 5])
            net = conv2d(net, depth(768), kernel, weights_initializer=trunc_normal(0.01),
                         padding="VALID", scope="Conv2d_2a_{}x{}".format(*kernel))
            net = conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                         weights_initializer=trunc_normal(0.001), scope="Conv2d_2b_1x1")
            if spatial_squeeze:
                if net.shape[2:] != (1, 1):
                    raise ValueError(
                        f"{get_variable_scope().name}/SpatialSqueeze: the auxiliary head's map is "
                        f"{net.shape[2]}x{net.shape[3]}, not 1x1: research/slim's fixed 5x5 head "
                        "fits inputs up to 346x346 (TF's squeeze fails the same way). Pass "
                        "create_aux_logits=False, or spatial_squeeze=False to get the map")
                net = squeeze_spatial(net, "AuxLogits/SpatialSqueeze")
    return net


def inception_v3(inputs: torch.Tensor, num_classes: Optional[int] = 1000,
                 is_training: Optional[bool] = None, dropout_keep_prob: float = 0.8,
                 min_depth: int = 16, depth_multiplier: float = 1.0,
                 prediction_fn: Callable = softmax, spatial_squeeze: bool = True, reuse=None,
                 create_aux_logits: bool = True, scope="InceptionV3",
                 global_pool: bool = False):
    """Inception V3 for classification (default image size 299).

    Args:
        inputs: ``[N, C, H, W]`` images.
        num_classes: number of classes; 0 or None omits the logits layers
            (and the auxiliary head) and returns the pooled features (before
            dropout).
        is_training: for batch norm and dropout; None follows the module's
            ``train()``/``eval()`` mode.
        dropout_keep_prob: the fraction of activations kept by dropout.
        min_depth, depth_multiplier: as :func:`inception_v3_base`.
        prediction_fn: maps logits to ``end_points['Predictions']``.
        spatial_squeeze: return logits (and ``AuxLogits``) ``[N, num_classes]``
            instead of ``[N, num_classes, 1, 1]``.
        reuse: reuse the variables of ``scope``.
        create_aux_logits: build the auxiliary classifier on ``Mixed_6e``
            (``end_points['AuxLogits']``, variables under ``AuxLogits/``).
        scope: variable scope.
        global_pool: average over the whole map instead of the 8x8 pool
            (shrunk for smaller maps; larger inputs give a larger output).
            The auxiliary head keeps research/slim's fixed 5x5 kernel (shrunk
            for smaller maps), so with ``spatial_squeeze`` it works for inputs
            up to 346x346 and raises above, as TF's squeeze does: for larger
            inputs pass ``create_aux_logits=False`` (or
            ``spatial_squeeze=False`` to get the aux map itself).

    Returns:
        ``(logits, end_points)``; logits are the pooled features when
        ``num_classes`` is 0 or None.

    Raises:
        ValueError: ``depth_multiplier <= 0``.

    Example:
        >>> images = torch.zeros(1, 3, 299, 299, device='meta')
        >>> with slim.Graph(), slim.arg_scope(inception_v3_arg_scope()):
        ...     net = slim.Model(inception_v3, num_classes=10).build(images, device='meta')
        ...     logits, end_points = net.eval()(images)
        >>> logits.shape, end_points['AuxLogits'].shape, list(end_points)[-5:]
        (torch.Size([1, 10]), torch.Size([1, 10]),
         ['AuxLogits', 'AvgPool_1a', 'PreLogits', 'Logits', 'Predictions'])
    """
    depth = depth_fn(depth_multiplier, min_depth)
    with variable_scope(scope, "InceptionV3", [inputs], reuse=reuse) as sc:
        with arg_scope([batch_norm, dropout], is_training=is_training):
            net, end_points = inception_v3_base(inputs, scope=sc, min_depth=min_depth,
                                                depth_multiplier=depth_multiplier)
            if create_aux_logits and num_classes:
                end_points["AuxLogits"] = _aux_logits(end_points["Mixed_6e"], depth,
                                                      num_classes, spatial_squeeze)
            return logits_head(
                net, end_points, num_classes=num_classes, dropout_keep_prob=dropout_keep_prob,
                prediction_fn=prediction_fn, spatial_squeeze=spatial_squeeze,
                global_pool=global_pool, fixed_pool=fixed_avg_pool([8, 8]),
                dropout_scope="Dropout_1b", logits_scope="Conv2d_1c_1x1", pre_logits=True)


inception_v3.default_image_size = 299
inception_v3.input_channels = 3
inception_v3.min_image_size = 107   # AuxLogits' 5x5/3 VALID pool needs Mixed_6e 5x5 (75 without it)

#: research/slim's ``inception_v3_arg_scope`` is ``inception_utils.inception_arg_scope``.
inception_v3_arg_scope = inception_arg_scope
