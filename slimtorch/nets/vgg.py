"""The Oxford VGG nets (configurations A, D and E), as research/slim's ``nets/vgg.py``.

Simonyan and Zisserman, "Very Deep Convolutional Networks For Large-Scale Image
Recognition", arXiv:1409.1556. The fully connected layers are convolutions
(``fc6`` is 7x7 VALID, ``fc7``/``fc8`` 1x1) as in TF-Slim, so a 224x224 image
gives 1x1 maps that ``spatial_squeeze`` turns into ``[N, num_classes]`` logits,
and TF-Slim's ``vgg_16.ckpt``/``vgg_19.ckpt`` weights fit as they are.

Names, ``end_points`` keys, options and defaults are research/slim's. Differences:

* Tensors are NCHW: inputs ``[N, 3, 224, 224]``, ``end_points`` values NCHW.
* ``is_training=None`` (the default here; TF-Slim's is True) makes dropout
  follow ``model.train()``/``model.eval()``; an explicit bool wins.

The three depths share one builder; :func:`fully_convolutional_head` (fc6-fc8)
is shared with ``alexnet_v2`` and ``overfeat``.

    >>> with slim.arg_scope(vgg_arg_scope()):
    ...     net = slim.Model(vgg_16).build((1, 3, 224, 224), device='meta')
    >>> len(net.variables()), net.vgg_16.fc6.weights.shape
    (32, torch.Size([4096, 512, 7, 7]))
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..layers import conv2d, dropout, fully_connected, max_pool2d, repeat
from ..scopes import variable_scope
from ..utils import convert_collection_to_dict
from ._utils import spatial_mean, squeeze_spatial

__all__ = ["fully_convolutional_head", "vgg_arg_scope", "vgg_a", "vgg_16", "vgg_19", "vgg_d", "vgg_e"]

# Output depth of the five conv blocks; the configurations differ only in how
# many 3x3 convs each block repeats.
_BLOCK_DEPTHS = (64, 128, 256, 512, 512)


def vgg_arg_scope(weight_decay: float = 0.0005):
    """ReLU, L2 weight decay and zero biases on conv2d/fully_connected; SAME conv padding.

    Args:
        weight_decay: the L2 regularization coefficient of the weights.

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(vgg_arg_scope())``.

    Example:
        >>> with slim.arg_scope(vgg_arg_scope()):
        ...     net = slim.Model(vgg_a, num_classes=10).build((1, 3, 224, 224), device='meta')
        >>> len(slim.losses.get_regularization_losses())
        11
    """
    with arg_scope([conv2d, fully_connected],
                   activation_fn=F.relu,
                   weights_regularizer=regularizers.l2_regularizer(weight_decay),
                   biases_initializer=initializers.zeros_initializer()):
        with arg_scope([conv2d], padding="SAME") as scope:
            return scope


def fully_convolutional_head(net: torch.Tensor, end_points_collection: str, scope_name: str,
                             num_classes: Optional[int], is_training, dropout_keep_prob: float,
                             spatial_squeeze: bool, global_pool: bool, fc6_depth: int,
                             fc6_kernel: Sequence[int], fc7_depth: int = 4096,
                             fc_conv_padding: str = "VALID", fc8_biases_initializer=None):
    """fc6 (``fc6_kernel`` conv), dropout6, fc7 (1x1), then, optionally, a global
    average pool and dropout7 + fc8 (1x1 logits): the classifier shared by
    VGG, AlexNet v2 and OverFeat.

    Builds ``end_points`` from ``end_points_collection`` right after fc7,
    as research/slim does, then adds ``'global_pool'`` and
    ``scope_name + '/fc8'``.

    Args:
        net: the last pool's output, NCHW.
        end_points_collection: the outputs collection the net's layers fill.
        scope_name: the net's scope name (prefix of the ``fc8`` end point).
        num_classes: logits depth; 0 or None returns fc7's (or the global
            pool's) output instead, without dropout7/fc8.
        is_training, dropout_keep_prob: for both dropouts.
        spatial_squeeze: squeeze the 1x1 logits to ``[N, num_classes]``.
        global_pool: average fc7's output to 1x1 first (any input size).
        fc6_depth, fc6_kernel, fc7_depth: layer sizes.
        fc_conv_padding: fc6's padding.
        fc8_biases_initializer: overrides the arg_scope's for fc8 when given.

    Returns:
        ``(net, end_points)``.

    Example:
        >>> def head(x):
        ...     with slim.variable_scope('net') as sc:
        ...         return fully_convolutional_head(x, 'ends', sc.name, 5, False, 0.5,
        ...                                         True, False, 16, [3, 3], 8)
        >>> logits, ends = slim.Model(head)(torch.randn(2, 4, 3, 3))
        >>> logits.shape, list(ends)
        (torch.Size([2, 5]), ['net/fc8'])
    """
    net = conv2d(net, fc6_depth, fc6_kernel, padding=fc_conv_padding, scope="fc6")
    net = dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout6")
    net = conv2d(net, fc7_depth, [1, 1], scope="fc7")
    end_points = convert_collection_to_dict(end_points_collection)
    if global_pool:
        net = spatial_mean(net)
        end_points["global_pool"] = net
    if num_classes:
        net = dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout7")
        # Only override the arg_scope's biases_initializer where research/slim does.
        fc8_kwargs = {} if fc8_biases_initializer is None else {
            "biases_initializer": fc8_biases_initializer}
        net = conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                     scope="fc8", **fc8_kwargs)
        if spatial_squeeze:
            net = squeeze_spatial(net, "fc8/squeezed")
        end_points[scope_name + "/fc8"] = net
    return net, end_points


def _vgg(inputs: torch.Tensor, repetitions: Sequence[int], default_scope: str,
         num_classes: Optional[int], is_training, dropout_keep_prob: float, spatial_squeeze: bool,
         scope: Optional[str], fc_conv_padding: str, global_pool: bool):
    """The VGG body: block ``i`` is ``repetitions[i]`` 3x3 convs and a 2x2 max pool."""
    with variable_scope(scope, default_scope, [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with arg_scope([conv2d, fully_connected, max_pool2d],
                       outputs_collections=end_points_collection):
            net = inputs
            for block, (count, depth) in enumerate(zip(repetitions, _BLOCK_DEPTHS), start=1):
                net = repeat(net, count, conv2d, depth, [3, 3], scope=f"conv{block}")
                net = max_pool2d(net, [2, 2], scope=f"pool{block}")
            return fully_convolutional_head(
                net, end_points_collection, sc.name, num_classes, is_training,
                dropout_keep_prob, spatial_squeeze, global_pool, fc6_depth=4096,
                fc6_kernel=[7, 7], fc_conv_padding=fc_conv_padding)


def vgg_a(inputs: torch.Tensor, num_classes: Optional[int] = 1000, is_training=None,
          dropout_keep_prob: float = 0.5, spatial_squeeze: bool = True,
          scope: Optional[str] = "vgg_a", fc_conv_padding: str = "VALID",
          global_pool: bool = False):
    """VGG configuration A: 11 weight layers (1-1-2-2-2 3x3 convs, then fc6-fc8).

    Arguments and returns as :func:`vgg_16`.

    Example:
        >>> with slim.arg_scope(vgg_arg_scope()):
        ...     net = slim.Model(vgg_a, num_classes=None).build((1, 3, 224, 224), device='meta')
        ...     features, end_points = net(torch.empty(1, 3, 224, 224, device='meta'))
        >>> features.shape, list(end_points)[-1]
        (torch.Size([1, 4096, 1, 1]), 'vgg_a/fc7')
    """
    return _vgg(inputs, (1, 1, 2, 2, 2), "vgg_a", num_classes, is_training, dropout_keep_prob,
                spatial_squeeze, scope, fc_conv_padding, global_pool)


def vgg_16(inputs: torch.Tensor, num_classes: Optional[int] = 1000, is_training=None,
           dropout_keep_prob: float = 0.5, spatial_squeeze: bool = True,
           scope: Optional[str] = "vgg_16", fc_conv_padding: str = "VALID",
           global_pool: bool = False):
    """VGG configuration D: 16 weight layers (2-2-3-3-3 3x3 convs, then fc6-fc8).

    Args:
        inputs: ``[N, C, H, W]`` images; 224x224 for classification.
        num_classes: number of predicted classes. 0 or None omits dropout7 and
            the logits layer and returns fc7's output (``[N, 4096, 1, 1]`` at 224).
        is_training: dropout on (True), off (False) or following the module's
            train/eval mode (None).
        dropout_keep_prob: probability that activations are kept by dropout.
        spatial_squeeze: squeeze the logits' 1x1 spatial dims to ``[N, num_classes]``.
        scope: the variable scope.
        fc_conv_padding: fc6's padding. 'SAME' applies the net fully
            convolutionally (a prediction map downsampled 32x); 'VALID' gives
            ``H / 32 - 6`` rows.
        global_pool: average fc7's output to 1x1 before the logits, for any
            input size (not part of the original VGG).

    Returns:
        ``(net, end_points)``: the logits (or pre-logits features, see
        ``num_classes``) and an ordered dict of the conv, pool and fc outputs.

    Example:
        >>> with slim.arg_scope(vgg_arg_scope()):
        ...     net = slim.Model(vgg_16, fc_conv_padding='SAME', spatial_squeeze=False)
        ...     logits, _ = net.build((1, 3, 64, 96), device='meta')(
        ...         torch.empty(1, 3, 64, 96, device='meta'))
        >>> logits.shape
        torch.Size([1, 1000, 2, 3])
    """
    return _vgg(inputs, (2, 2, 3, 3, 3), "vgg_16", num_classes, is_training, dropout_keep_prob,
                spatial_squeeze, scope, fc_conv_padding, global_pool)


def vgg_19(inputs: torch.Tensor, num_classes: Optional[int] = 1000, is_training=None,
           dropout_keep_prob: float = 0.5, spatial_squeeze: bool = True,
           scope: Optional[str] = "vgg_19", fc_conv_padding: str = "VALID",
           global_pool: bool = False):
    """VGG configuration E: 19 weight layers (2-2-4-4-4 3x3 convs, then fc6-fc8).

    Arguments and returns as :func:`vgg_16`.

    Example:
        >>> with slim.arg_scope(vgg_arg_scope()):
        ...     net = slim.Model(vgg_19, num_classes=10, global_pool=True)
        ...     logits, end_points = net.build((1, 3, 256, 256), device='meta')(
        ...         torch.empty(1, 3, 256, 256, device='meta'))
        >>> logits.shape, end_points['global_pool'].shape
        (torch.Size([1, 10]), torch.Size([1, 4096, 1, 1]))
    """
    return _vgg(inputs, (2, 2, 4, 4, 4), "vgg_19", num_classes, is_training, dropout_keep_prob,
                spatial_squeeze, scope, fc_conv_padding, global_pool)


vgg_a.default_image_size = 224
vgg_a.input_channels = 3
vgg_a.min_image_size = 224   # fc6 is a 7x7 VALID conv after five 2x2/2 VALID pools
vgg_16.default_image_size = 224
vgg_16.input_channels = 3
vgg_16.min_image_size = 224   # fc6 is a 7x7 VALID conv after five 2x2/2 VALID pools
vgg_19.default_image_size = 224
vgg_19.input_channels = 3
vgg_19.min_image_size = 224   # fc6 is a 7x7 VALID conv after five 2x2/2 VALID pools

# research/slim's aliases: the configurations' letters in the paper.
vgg_d = vgg_16
vgg_e = vgg_19
