"""LeNet, as research/slim's ``nets/lenet.py``: a LeNet-5 variant for MNIST
(two 5x5 convs with 2x2 max pools, fc3 with 1024 units, dropout, fc4 logits).

Names, ``end_points`` keys (unscoped: ``'conv1'`` ... ``'Predictions'``),
options and defaults are research/slim's. Differences:

* Tensors are NCHW: inputs ``[N, 1, 28, 28]``, conv/pool ``end_points`` NCHW.
  ``slim.flatten`` flattens in TF's NHWC order, so ``fc3``'s weights
  ``[3136, 1024]`` are those of a TF-Slim checkpoint, unpermuted.
* ``is_training=None`` (the default here; research/slim's is False) makes
  dropout follow ``model.train()``/``model.eval()``; an explicit bool wins.
  Call ``model.eval()`` (or pass ``is_training=False``) for TF's default.

    >>> with slim.arg_scope(lenet_arg_scope()):
    ...     net = slim.Model(lenet).build((1, 1, 28, 28), device='meta')
    >>> [(v.name, tuple(v.shape)) for v in net.variables()][4]
    ('LeNet/fc3/weights', (1024, 3136))
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..layers import conv2d, dropout, flatten, fully_connected, max_pool2d, softmax
from ..scopes import variable_scope

__all__ = ["lenet_arg_scope", "lenet"]


def lenet_arg_scope(weight_decay: float = 0.0):
    """ReLU, truncated normal (0.1) weights and L2 weight decay on conv2d/fully_connected.

    Args:
        weight_decay: the L2 regularization coefficient of the weights; the
            default 0.0 disables the regularizer (no regularization losses).

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(lenet_arg_scope())``.

    Example:
        >>> with slim.arg_scope(lenet_arg_scope(weight_decay=1e-4)):
        ...     net = slim.Model(lenet).build((1, 1, 28, 28), device='meta')
        >>> len(slim.losses.get_regularization_losses())
        4
    """
    with arg_scope([conv2d, fully_connected],
                   weights_regularizer=regularizers.l2_regularizer(weight_decay),
                   weights_initializer=initializers.truncated_normal_initializer(stddev=0.1),
                   activation_fn=F.relu) as scope:
        return scope


def lenet(images: torch.Tensor, num_classes: Optional[int] = 10, is_training=None,
          dropout_keep_prob: float = 0.5, prediction_fn=softmax, scope: Optional[str] = "LeNet"):
    """LeNet: conv1 (32), pool1, conv2 (64), pool2, flatten, fc3 (1024), dropout3, fc4.

    Args:
        images: ``[N, C, 28, 28]`` images (the fc layers fix the input size).
        num_classes: number of classes. 0 or None omits dropout3 and the
            logits layer and returns fc3's output ``[N, 1024]``.
        is_training: dropout on (True), off (False) or following the module's
            train/eval mode (None).
        dropout_keep_prob: probability that activations are kept by dropout.
        prediction_fn: turns the logits into ``end_points['Predictions']``.
        scope: the variable scope.

    Returns:
        ``(logits, end_points)``: ``[N, num_classes]`` logits (or fc3's output)
        and an ordered dict of the intermediate outputs.

    Example:
        >>> with slim.arg_scope(lenet_arg_scope()):
        ...     net = slim.Model(lenet).build((1, 1, 28, 28), device='meta')
        ...     logits, end_points = net(torch.empty(2, 1, 28, 28, device='meta'))
        >>> logits.shape, list(end_points)
        (torch.Size([2, 10]),
         ['conv1', 'pool1', 'conv2', 'pool2', 'Flatten', 'fc3', 'dropout3', 'Logits', 'Predictions'])
    """
    end_points = {}
    with variable_scope(scope, "LeNet", [images]):
        net = end_points["conv1"] = conv2d(images, 32, [5, 5], scope="conv1")
        net = end_points["pool1"] = max_pool2d(net, [2, 2], 2, scope="pool1")
        net = end_points["conv2"] = conv2d(net, 64, [5, 5], scope="conv2")
        net = end_points["pool2"] = max_pool2d(net, [2, 2], 2, scope="pool2")
        net = end_points["Flatten"] = flatten(net)
        net = end_points["fc3"] = fully_connected(net, 1024, scope="fc3")
        if not num_classes:
            return net, end_points
        net = end_points["dropout3"] = dropout(net, dropout_keep_prob, is_training=is_training,
                                               scope="dropout3")
        logits = end_points["Logits"] = fully_connected(net, num_classes, activation_fn=None,
                                                        scope="fc4")
    # Outside the scope, as in research/slim (it creates no variables either way).
    end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


lenet.default_image_size = 28
lenet.input_channels = 1   # grey MNIST digits
lenet.min_image_size = 4   # two 2x2/2 VALID max pools
