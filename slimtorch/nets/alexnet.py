"""AlexNet v2, as research/slim's ``nets/alexnet.py``.

Krizhevsky, "One weird trick for parallelizing convolutional neural networks",
arXiv:1404.5997 (layer sizes from cuda-convnet2's ``layers-imagenet-1gpu.cfg``),
without the LRN layers. The fully connected layers are convolutions (``fc6``
5x5 VALID, ``fc7``/``fc8`` 1x1), so a 224x224 image gives 1x1 maps.

Names, ``end_points`` keys, options and defaults are research/slim's. Differences:

* Tensors are NCHW: inputs ``[N, 3, 224, 224]``, ``end_points`` values NCHW.
* ``is_training=None`` (the default here; TF-Slim's is True) makes dropout
  follow ``model.train()``/``model.eval()``; an explicit bool wins.

    >>> with slim.arg_scope(alexnet_v2_arg_scope()):
    ...     net = slim.Model(alexnet_v2).build((1, 3, 224, 224), device='meta')
    >>> len(net.variables()), net.alexnet_v2.fc6.weights.shape
    (16, torch.Size([4096, 256, 5, 5]))
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

__all__ = ["alexnet_v2_arg_scope", "alexnet_v2"]


def alexnet_v2_arg_scope(weight_decay: float = 0.0005):
    """ReLU, L2 weight decay and 0.1 biases on conv2d/fully_connected; SAME
    conv padding, VALID max pooling.

    Args:
        weight_decay: the L2 regularization coefficient of the weights.

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(alexnet_v2_arg_scope())``.

    Example:
        >>> with slim.arg_scope(alexnet_v2_arg_scope()):
        ...     net = slim.Model(alexnet_v2).build((1, 3, 224, 224), device='meta')
        >>> len(slim.losses.get_regularization_losses())
        8
    """
    with arg_scope([conv2d, fully_connected],
                   activation_fn=F.relu,
                   biases_initializer=initializers.constant_initializer(0.1),
                   weights_regularizer=regularizers.l2_regularizer(weight_decay)):
        with arg_scope([conv2d], padding="SAME"):
            with arg_scope([max_pool2d], padding="VALID") as scope:
                return scope


def alexnet_v2(inputs: torch.Tensor, num_classes: Optional[int] = 1000, is_training=None,
               dropout_keep_prob: float = 0.5, spatial_squeeze: bool = True,
               scope: Optional[str] = "alexnet_v2", global_pool: bool = False):
    """AlexNet v2: five convs (11x11/4, 5x5, three 3x3), three 3x3/2 max pools, fc6-fc8.

    Args:
        inputs: ``[N, C, H, W]`` images; 224x224 for classification, or set
            ``global_pool`` (and/or ``spatial_squeeze=False``) for other sizes.
        num_classes: number of predicted classes. 0 or None omits dropout7 and
            the logits layer and returns fc7's output (``[N, 4096, 1, 1]`` at 224).
        is_training: dropout on (True), off (False) or following the module's
            train/eval mode (None).
        dropout_keep_prob: probability that activations are kept by dropout.
        spatial_squeeze: squeeze the logits' 1x1 spatial dims to ``[N, num_classes]``.
        scope: the variable scope.
        global_pool: average fc7's output to 1x1 before the logits, for any
            input size (not part of the original AlexNet).

    Returns:
        ``(net, end_points)``: the logits (or pre-logits features, see
        ``num_classes``) and an ordered dict of the conv, pool and fc outputs.

    Example:
        >>> with slim.arg_scope(alexnet_v2_arg_scope()):
        ...     net = slim.Model(alexnet_v2, num_classes=10, spatial_squeeze=False)
        ...     logits, end_points = net.build((1, 3, 300, 400), device='meta')(
        ...         torch.empty(1, 3, 300, 400, device='meta'))
        >>> logits.shape, end_points['alexnet_v2/pool5'].shape
        (torch.Size([1, 10, 4, 7]), torch.Size([1, 256, 8, 11]))
    """
    with variable_scope(scope, "alexnet_v2", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        with arg_scope([conv2d, fully_connected, max_pool2d],
                       outputs_collections=[end_points_collection]):
            net = conv2d(inputs, 64, [11, 11], 4, padding="VALID", scope="conv1")
            net = max_pool2d(net, [3, 3], 2, scope="pool1")
            net = conv2d(net, 192, [5, 5], scope="conv2")
            net = max_pool2d(net, [3, 3], 2, scope="pool2")
            net = conv2d(net, 384, [3, 3], scope="conv3")
            net = conv2d(net, 384, [3, 3], scope="conv4")
            net = conv2d(net, 256, [3, 3], scope="conv5")
            net = max_pool2d(net, [3, 3], 2, scope="pool5")
            with arg_scope([conv2d],
                           weights_initializer=initializers.truncated_normal_initializer(0.0, 0.005),
                           biases_initializer=initializers.constant_initializer(0.1)):
                return fully_convolutional_head(
                    net, end_points_collection, sc.name, num_classes, is_training,
                    dropout_keep_prob, spatial_squeeze, global_pool, fc6_depth=4096,
                    fc6_kernel=[5, 5],
                    fc8_biases_initializer=initializers.zeros_initializer())


alexnet_v2.default_image_size = 224
alexnet_v2.input_channels = 3
alexnet_v2.min_image_size = 195   # VALID conv1 11x11/4 and pools 3x3/2 must leave fc6 5x5
