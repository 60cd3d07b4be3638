"""OverFeat (the "fast" model), as research/slim's ``nets/overfeat.py``.

Sermanet et al., "OverFeat: Integrated Recognition, Localization and Detection
using Convolutional Networks", arXiv:1312.6229. The fully connected layers are
convolutions (``fc6`` 6x6 VALID, ``fc7``/``fc8`` 1x1), so a 231x231 image
gives 1x1 maps.

Names, ``end_points`` keys, options and defaults are research/slim's. Differences:

* Tensors are NCHW: inputs ``[N, 3, 231, 231]``, ``end_points`` values NCHW.
* ``is_training=None`` (the default here; TF-Slim's is True) makes dropout
  follow ``model.train()``/``model.eval()``; an explicit bool wins.

    >>> with slim.arg_scope(overfeat_arg_scope()):
    ...     net = slim.Model(overfeat).build((1, 3, 231, 231), device='meta')
    >>> len(net.variables()), net.overfeat.fc6.weights.shape
    (16, torch.Size([3072, 1024, 6, 6]))
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..layers import conv2d, fully_connected, max_pool2d
from ..scopes import variable_scope
from .vgg import fully_convolutional_head

__all__ = ["overfeat_arg_scope", "overfeat"]


def overfeat_arg_scope(weight_decay: float = 0.0005):
    """ReLU, L2 weight decay and zero biases on conv2d/fully_connected; SAME
    conv padding, VALID max pooling.

    Args:
        weight_decay: the L2 regularization coefficient of the weights.

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(overfeat_arg_scope())``.

    Example:
        >>> with slim.arg_scope(overfeat_arg_scope(weight_decay=0.0)):
        ...     net = slim.Model(overfeat).build((1, 3, 231, 231), device='meta')
        >>> len(slim.losses.get_regularization_losses())
        0
    """
    with arg_scope([conv2d, fully_connected],
                   activation_fn=F.relu,
                   weights_regularizer=regularizers.l2_regularizer(weight_decay),
                   biases_initializer=initializers.zeros_initializer()):
        with arg_scope([conv2d], padding="SAME"):
            with arg_scope([max_pool2d], padding="VALID") as scope:
                return scope


def overfeat(inputs: torch.Tensor, num_classes: Optional[int] = 1000, is_training=None,
             dropout_keep_prob: float = 0.5, spatial_squeeze: bool = True,
             scope: Optional[str] = "overfeat", global_pool: bool = False):
    """OverFeat: five convs (11x11/4, 5x5 VALID, three 3x3), three 2x2 max pools, fc6-fc8.

    Args:
        inputs: ``[N, C, H, W]`` images; 231x231 for classification, or set
            ``global_pool`` (and/or ``spatial_squeeze=False``) for other sizes.
        num_classes: number of predicted classes. 0 or None omits dropout7 and
            the logits layer and returns fc7's output (``[N, 4096, 1, 1]`` at 231).
        is_training: dropout on (True), off (False) or following the module's
            train/eval mode (None).
        dropout_keep_prob: probability that activations are kept by dropout.
        spatial_squeeze: squeeze the logits' 1x1 spatial dims to ``[N, num_classes]``.
        scope: the variable scope.
        global_pool: average fc7's output to 1x1 before the logits, for any
            input size (not part of the original OverFeat).

    Returns:
        ``(net, end_points)``: the logits (or pre-logits features, see
        ``num_classes``) and an ordered dict of the conv, pool and fc outputs.

    Example:
        >>> with slim.arg_scope(overfeat_arg_scope()):
        ...     net = slim.Model(overfeat, num_classes=None, global_pool=True)
        ...     features, end_points = net.build((1, 3, 281, 281), device='meta')(
        ...         torch.empty(1, 3, 281, 281, device='meta'))
        >>> features.shape, end_points['overfeat/fc7'].shape
        (torch.Size([1, 4096, 1, 1]), torch.Size([1, 4096, 2, 2]))
    """
    with variable_scope(scope, "overfeat", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with arg_scope([conv2d, fully_connected, max_pool2d],
                       outputs_collections=end_points_collection):
            net = conv2d(inputs, 64, [11, 11], 4, padding="VALID", scope="conv1")
            net = max_pool2d(net, [2, 2], scope="pool1")
            net = conv2d(net, 256, [5, 5], padding="VALID", scope="conv2")
            net = max_pool2d(net, [2, 2], scope="pool2")
            net = conv2d(net, 512, [3, 3], scope="conv3")
            net = conv2d(net, 1024, [3, 3], scope="conv4")
            net = conv2d(net, 1024, [3, 3], scope="conv5")
            net = max_pool2d(net, [2, 2], scope="pool5")
            with arg_scope([conv2d],
                           weights_initializer=initializers.truncated_normal_initializer(0.0, 0.005),
                           biases_initializer=initializers.constant_initializer(0.1)):
                return fully_convolutional_head(
                    net, end_points_collection, sc.name, num_classes, is_training,
                    dropout_keep_prob, spatial_squeeze, global_pool, fc6_depth=3072,
                    fc6_kernel=[6, 6],
                    fc8_biases_initializer=initializers.zeros_initializer())


overfeat.default_image_size = 231
overfeat.input_channels = 3
overfeat.min_image_size = 231   # VALID conv1 11x11/4 and pools must leave fc6 6x6
