"""CifarNet, as research/slim's ``nets/cifarnet.py``: the small CIFAR-10 net of
TensorFlow's CIFAR-10 tutorial (two 5x5 convs with LRN, two fully connected layers).

Names, ``end_points`` keys (unscoped: ``'conv1'`` ... ``'Predictions'``),
options and defaults are research/slim's. Differences:

* Tensors are NCHW: inputs ``[N, 3, 32, 32]``, conv/pool ``end_points`` NCHW.
  ``slim.flatten`` flattens in TF's NHWC order, so ``fc3``'s weights
  ``[4096, 384]`` are those of a TF-Slim checkpoint, unpermuted.
* ``is_training=None`` (the default here; research/slim's is False) makes
  dropout follow ``model.train()``/``model.eval()``; an explicit bool wins.
  Call ``model.eval()`` (or pass ``is_training=False``) for TF's default.

    >>> with slim.arg_scope(cifarnet_arg_scope()):
    ...     net = slim.Model(cifarnet).build((1, 3, 32, 32), device='meta')
    >>> [v.name for v in net.variables()][4:6]
    ['CifarNet/fc3/weights', 'CifarNet/fc3/biases']
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..layers import conv2d, dropout, flatten, fully_connected, max_pool2d, softmax
from ..scopes import variable_scope

__all__ = ["cifarnet_arg_scope", "cifarnet"]


def _lrn(net: torch.Tensor, depth_radius: int = 4, bias: float = 1.0, alpha: float = 0.001 / 9.0,
         beta: float = 0.75) -> torch.Tensor:
    """TF's ``tf.nn.lrn``: ``x / (bias + alpha * sum(x^2 over 2r+1 channels)) ** beta``.

    torch's ``local_response_norm`` divides the window sum by its size, so its
    ``alpha`` is TF's times the size.

        >>> round(_lrn(torch.full((1, 1, 1, 1), 2.0), alpha=1.0, beta=1.0).item(), 6)  # 2 / (1 + 4)
        0.4
    """
    size = 2 * depth_radius + 1
    return F.local_response_norm(net, size, alpha=alpha * size, beta=beta, k=bias)


def cifarnet_arg_scope(weight_decay: float = 0.004):
    """conv2d: ReLU, truncated normal (0.05) weights. fully_connected: ReLU,
    truncated normal (0.04) weights, 0.1 biases and L2 weight decay.

    Args:
        weight_decay: the L2 regularization coefficient of the fc weights.

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(cifarnet_arg_scope())``.

    Example:
        >>> with slim.arg_scope(cifarnet_arg_scope()):
        ...     net = slim.Model(cifarnet).build((1, 3, 32, 32), device='meta')
        >>> len(slim.losses.get_regularization_losses())   # fc3 and fc4, not the logits
        2
    """
    with arg_scope([conv2d],
                   weights_initializer=initializers.truncated_normal_initializer(stddev=5e-2),
                   activation_fn=F.relu):
        with arg_scope([fully_connected],
                       biases_initializer=initializers.constant_initializer(0.1),
                       weights_initializer=initializers.truncated_normal_initializer(stddev=0.04),
                       weights_regularizer=regularizers.l2_regularizer(weight_decay),
                       activation_fn=F.relu) as scope:
            return scope


def cifarnet(images: torch.Tensor, num_classes: Optional[int] = 10, is_training=None,
             dropout_keep_prob: float = 0.5, prediction_fn=softmax,
             scope: Optional[str] = "CifarNet"):
    """CifarNet: conv1-pool1-norm1, conv2-norm2-pool2, flatten, fc3 (384),
    dropout3, fc4 (192), logits.

    Args:
        images: ``[N, C, 32, 32]`` images (the fc layers fix the input size).
        num_classes: number of classes. 0 or None omits the logits layer and
            returns fc4's output ``[N, 192]``.
        is_training: dropout on (True), off (False) or following the module's
            train/eval mode (None).
        dropout_keep_prob: probability that activations are kept by dropout.
        prediction_fn: turns the logits into ``end_points['Predictions']``.
        scope: the variable scope.

    Returns:
        ``(logits, end_points)``: ``[N, num_classes]`` logits (or fc4's output)
        and an ordered dict of the intermediate outputs.

    Example:
        >>> with slim.arg_scope(cifarnet_arg_scope()):
        ...     net = slim.Model(cifarnet).build((1, 3, 32, 32), device='meta')
        ...     logits, end_points = net(torch.empty(2, 3, 32, 32, device='meta'))
        >>> logits.shape, list(end_points)
        (torch.Size([2, 10]), ['conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3', 'fc4', 'Logits', 'Predictions'])
    """
    end_points = {}
    with variable_scope(scope, "CifarNet", [images]):
        net = end_points["conv1"] = conv2d(images, 64, [5, 5], scope="conv1")
        net = end_points["pool1"] = max_pool2d(net, [2, 2], 2, scope="pool1")
        net = _lrn(net)
        net = end_points["conv2"] = conv2d(net, 64, [5, 5], scope="conv2")
        net = _lrn(net)
        net = end_points["pool2"] = max_pool2d(net, [2, 2], 2, scope="pool2")
        net = end_points["Flatten"] = flatten(net)
        net = end_points["fc3"] = fully_connected(net, 384, scope="fc3")
        net = dropout(net, dropout_keep_prob, is_training=is_training, scope="dropout3")
        net = end_points["fc4"] = fully_connected(net, 192, scope="fc4")
        if not num_classes:
            return net, end_points
        logits = end_points["Logits"] = fully_connected(
            net, num_classes,
            biases_initializer=initializers.zeros_initializer(),
            weights_initializer=initializers.truncated_normal_initializer(stddev=1 / 192.0),
            weights_regularizer=None, activation_fn=None, scope="logits")
        end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


cifarnet.default_image_size = 32
cifarnet.input_channels = 3
cifarnet.min_image_size = 4   # two 2x2/2 VALID max pools
