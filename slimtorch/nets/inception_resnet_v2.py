"""Inception-ResNet-v2 (Szegedy et al., 2016, http://arxiv.org/abs/1602.07261).

Follows research/slim's ``nets/inception_resnet_v2.py``: the same scopes,
variable names (``InceptionResnetV2/Repeat/block35_1/Branch_0/Conv2d_1x1/weights``,
``InceptionResnetV2/Block8/...``), ``end_points`` keys, options and
defaults, so its checkpoints load as they are.

    >>> with slim.arg_scope(inception_resnet_v2_arg_scope()):
    ...     net = slim.Model(inception_resnet_v2, num_classes=10).build(
    ...         (1, 3, 299, 299), device='meta')
    >>> len(net.variables())
    908

Differences from research/slim (slimtorch conventions, not new behaviour):

* Tensors are NCHW: ``end_points`` values are ``[N, C, H, W]`` and the
  logits ``[N, num_classes]``.
* ``is_training`` defaults to None: batch norm and dropout follow the
  module's ``train()``/``eval()`` mode (a fresh module trains, like TF's
  default True); an explicit True or False wins.
* An unknown ``final_endpoint``, or ``output_stride=8`` with an end point
  after ``PreAuxLogits``, raises before anything is built (TF builds up to
  the point of failure first); so does an input below 75x75 (107x107 with
  the aux head), naming the limit (TF fails inside some layer).
* ``activation_fn=F.relu6`` plays the role of ``tf.nn.relu6`` (the residual
  is clipped to ``[-6, 6]`` before the sum, as in TF).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import layers, regularizers
from ..arg_scope import arg_scope
from ..graph import GraphKeys
from ..scopes import variable_scope
from .inception_v4 import check_min_input_size, concat_branches

__all__ = ["block35", "block17", "block8", "inception_resnet_v2_base", "inception_resnet_v2",
           "inception_resnet_v2_arg_scope"]

conv2d, max_pool2d, avg_pool2d = layers.conv2d, layers.max_pool2d, layers.avg_pool2d

#: The end points of :func:`inception_resnet_v2_base`, in order.
ENDPOINTS = ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'MaxPool_3a_3x3',
             'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'MaxPool_5a_3x3', 'Mixed_5b', 'Mixed_6a',
             'PreAuxLogits', 'Mixed_7a', 'Conv2d_7b_1x1')


def _residual(net, mixed, scale, activation_fn):
    """The tail of every residual block: a linear 1x1 ``Conv2d_1x1`` back to
    ``net``'s depth, scaled by ``scale``, added to ``net``, then activated."""
    up = conv2d(mixed, net.shape[1], 1, normalizer_fn=None, activation_fn=None,
                scope='Conv2d_1x1')
    scaled_up = up * scale
    if activation_fn is F.relu6:
        # TF clips the residual too, to keep relu6's band-pass behaviour.
        scaled_up = torch.clamp(scaled_up, -6.0, 6.0)
    # Not in place: `net` may be an end point (Mixed_5b, Mixed_6a, ...).
    net = net + scaled_up
    return activation_fn(net) if activation_fn else net


def block35(net, scale=1.0, activation_fn=F.relu, scope=None, reuse=None):
    """The 35x35 residual block (Inception-ResNet-A); keeps ``net``'s shape.

    Args:
        net: ``[N, C, H, W]`` input.
        scale: the residual branch is multiplied by this before the sum.
        activation_fn: applied after the sum (None: linear).
        scope, reuse: variable scope (default ``Block35``) and reuse flag.

    Example:
        >>> block35(torch.zeros(1, 320, 5, 5), scale=0.17).shape
        torch.Size([1, 320, 5, 5])
    """
    with variable_scope(scope, 'Block35', [net], reuse=reuse):
        with variable_scope('Branch_0'):
            tower_conv = conv2d(net, 32, 1, scope='Conv2d_1x1')
        with variable_scope('Branch_1'):
            tower_conv1_0 = conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
            tower_conv1_1 = conv2d(tower_conv1_0, 32, 3, scope='Conv2d_0b_3x3')
        with variable_scope('Branch_2'):
            tower_conv2_0 = conv2d(net, 32, 1, scope='Conv2d_0a_1x1')
            tower_conv2_1 = conv2d(tower_conv2_0, 48, 3, scope='Conv2d_0b_3x3')
            tower_conv2_2 = conv2d(tower_conv2_1, 64, 3, scope='Conv2d_0c_3x3')
        mixed = concat_branches([tower_conv, tower_conv1_1, tower_conv2_2])
        return _residual(net, mixed, scale, activation_fn)


def block17(net, scale=1.0, activation_fn=F.relu, scope=None, reuse=None):
    """The 17x17 residual block (Inception-ResNet-B, 1x7/7x1 convolutions);
    keeps ``net``'s shape. Arguments as :func:`block35` (scope ``Block17``).

    Example:
        >>> block17(torch.zeros(1, 1088, 3, 3), scale=0.1).shape
        torch.Size([1, 1088, 3, 3])
    """
    with variable_scope(scope, 'Block17', [net], reuse=reuse):
        with variable_scope('Branch_0'):
            tower_conv = conv2d(net, 192, 1, scope='Conv2d_1x1')
        with variable_scope('Branch_1'):
            tower_conv1_0 = conv2d(net, 128, 1, scope='Conv2d_0a_1x1')
            tower_conv1_1 = conv2d(tower_conv1_0, 160, [1, 7], scope='Conv2d_0b_1x7')
            tower_conv1_2 = conv2d(tower_conv1_1, 192, [7, 1], scope='Conv2d_0c_7x1')
        mixed = concat_branches([tower_conv, tower_conv1_2])
        return _residual(net, mixed, scale, activation_fn)


def block8(net, scale=1.0, activation_fn=F.relu, scope=None, reuse=None):
    """The 8x8 residual block (Inception-ResNet-C, 1x3/3x1 convolutions);
    keeps ``net``'s shape. Arguments as :func:`block35` (scope ``Block8``).

    Example:
        >>> block8(torch.zeros(1, 2080, 2, 2), activation_fn=None).shape
        torch.Size([1, 2080, 2, 2])
    """
    with variable_scope(scope, 'Block8', [net], reuse=reuse):
        with variable_scope('Branch_0'):
            tower_conv = conv2d(net, 192, 1, scope='Conv2d_1x1')
        with variable_scope('Branch_1'):
            tower_conv1_0 = conv2d(net, 192, 1, scope='Conv2d_0a_1x1')
            tower_conv1_1 = conv2d(tower_conv1_0, 224, [1, 3], scope='Conv2d_0b_1x3')
            tower_conv1_2 = conv2d(tower_conv1_1, 256, [3, 1], scope='Conv2d_0c_3x1')
        mixed = concat_branches([tower_conv, tower_conv1_2])
        return _residual(net, mixed, scale, activation_fn)


def _check_base_args(final_endpoint, output_stride):
    if output_stride not in (8, 16):
        raise ValueError(f'output_stride must be 8 or 16, got {output_stride!r}.')
    if final_endpoint not in ENDPOINTS:
        raise ValueError(f'final_endpoint ({final_endpoint}) not recognized; expected one '
                         f'of {list(ENDPOINTS)}')
    if output_stride == 8 and ENDPOINTS.index(final_endpoint) > ENDPOINTS.index('PreAuxLogits'):
        raise ValueError('output_stride==8 is only supported up to the PreAuxlogits end_point '
                         f'for now (final_endpoint={final_endpoint!r}).')


def inception_resnet_v2_base(inputs, final_endpoint='Conv2d_7b_1x1', output_stride=16,
                             align_feature_maps=False, scope=None, activation_fn=F.relu):
    """Inception-ResNet-v2 up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, H, W]`` images (299x299 for the full net).
        final_endpoint: the last end point to build, one of :data:`ENDPOINTS`.
        output_stride: 16, or 8 (stride 1 in ``Mixed_6a`` and rate-2 atrous
            convolutions in the 17x17 blocks; only up to ``PreAuxLogits``).
        align_feature_maps: ``'SAME'`` instead of ``'VALID'`` padding
            everywhere, so maps are ``ceil(size / stride)`` (150, 75, 38, 19,
            10 at 299).
        scope: optional variable scope (default ``InceptionResnetV2``).
        activation_fn: the activation after each residual sum.

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` tensor and an ordered
        dict of every end point up to it.

    Raises:
        ValueError: for an unknown ``final_endpoint``, an ``output_stride``
            other than 8 or 16, or ``output_stride=8`` past ``PreAuxLogits``.

    Example:
        >>> net, end_points = inception_resnet_v2_base(torch.zeros(1, 3, 75, 75), 'Mixed_5b')
        >>> list(end_points)[-2:], tuple(net.shape)
        (['MaxPool_5a_3x3', 'Mixed_5b'], (1, 320, 7, 7))
    """
    _check_base_args(final_endpoint, output_stride)
    padding = 'SAME' if align_feature_maps else 'VALID'
    end_points = {}

    def add_and_check_final(name, net):
        end_points[name] = net
        return name == final_endpoint

    with variable_scope(scope, 'InceptionResnetV2', [inputs]), \
            arg_scope([conv2d, max_pool2d, avg_pool2d], stride=1, padding='SAME'):
        # 149 x 149 x 32
        net = conv2d(inputs, 32, 3, stride=2, padding=padding, scope='Conv2d_1a_3x3')
        if add_and_check_final('Conv2d_1a_3x3', net):
            return net, end_points
        # 147 x 147 x 32
        net = conv2d(net, 32, 3, padding=padding, scope='Conv2d_2a_3x3')
        if add_and_check_final('Conv2d_2a_3x3', net):
            return net, end_points
        # 147 x 147 x 64
        net = conv2d(net, 64, 3, scope='Conv2d_2b_3x3')
        if add_and_check_final('Conv2d_2b_3x3', net):
            return net, end_points
        # 73 x 73 x 64
        net = max_pool2d(net, 3, stride=2, padding=padding, scope='MaxPool_3a_3x3')
        if add_and_check_final('MaxPool_3a_3x3', net):
            return net, end_points
        # 73 x 73 x 80
        net = conv2d(net, 80, 1, padding=padding, scope='Conv2d_3b_1x1')
        if add_and_check_final('Conv2d_3b_1x1', net):
            return net, end_points
        # 71 x 71 x 192
        net = conv2d(net, 192, 3, padding=padding, scope='Conv2d_4a_3x3')
        if add_and_check_final('Conv2d_4a_3x3', net):
            return net, end_points
        # 35 x 35 x 192
        net = max_pool2d(net, 3, stride=2, padding=padding, scope='MaxPool_5a_3x3')
        if add_and_check_final('MaxPool_5a_3x3', net):
            return net, end_points

        # 35 x 35 x 320
        with variable_scope('Mixed_5b'):
            with variable_scope('Branch_0'):
                tower_conv = conv2d(net, 96, 1, scope='Conv2d_1x1')
            with variable_scope('Branch_1'):
                tower_conv1_0 = conv2d(net, 48, 1, scope='Conv2d_0a_1x1')
                tower_conv1_1 = conv2d(tower_conv1_0, 64, 5, scope='Conv2d_0b_5x5')
            with variable_scope('Branch_2'):
                tower_conv2_0 = conv2d(net, 64, 1, scope='Conv2d_0a_1x1')
                tower_conv2_1 = conv2d(tower_conv2_0, 96, 3, scope='Conv2d_0b_3x3')
                tower_conv2_2 = conv2d(tower_conv2_1, 96, 3, scope='Conv2d_0c_3x3')
            with variable_scope('Branch_3'):
                tower_pool = avg_pool2d(net, 3, stride=1, padding='SAME', scope='AvgPool_0a_3x3')
                tower_pool_1 = conv2d(tower_pool, 64, 1, scope='Conv2d_0b_1x1')
            net = concat_branches([tower_conv, tower_conv1_1, tower_conv2_2, tower_pool_1])
        if add_and_check_final('Mixed_5b', net):
            return net, end_points

        # 10 x block35, scoped Repeat/block35_1..10 (slim.repeat's naming)
        net = layers.repeat(net, 10, block35, scale=0.17, activation_fn=activation_fn)

        # 17 x 17 x 1088 (33 x 33 with output_stride=8; 19 x 19 with
        # align_feature_maps)
        use_atrous = output_stride == 8
        reduction_stride = 1 if use_atrous else 2
        with variable_scope('Mixed_6a'):
            with variable_scope('Branch_0'):
                tower_conv = conv2d(net, 384, 3, stride=reduction_stride, padding=padding,
                                    scope='Conv2d_1a_3x3')
            with variable_scope('Branch_1'):
                tower_conv1_0 = conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
                tower_conv1_1 = conv2d(tower_conv1_0, 256, 3, scope='Conv2d_0b_3x3')
                tower_conv1_2 = conv2d(tower_conv1_1, 384, 3, stride=reduction_stride,
                                       padding=padding, scope='Conv2d_1a_3x3')
            with variable_scope('Branch_2'):
                tower_pool = max_pool2d(net, 3, stride=reduction_stride, padding=padding,
                                        scope='MaxPool_1a_3x3')
            net = concat_branches([tower_conv, tower_conv1_2, tower_pool])
        if add_and_check_final('Mixed_6a', net):
            return net, end_points

        # 20 x block17 (Repeat_1/block17_1..20), atrous when output_stride=8
        with arg_scope([conv2d], rate=2 if use_atrous else 1):
            net = layers.repeat(net, 20, block17, scale=0.10, activation_fn=activation_fn)
        if add_and_check_final('PreAuxLogits', net):
            return net, end_points

        # 8 x 8 x 2080
        with variable_scope('Mixed_7a'):
            with variable_scope('Branch_0'):
                tower_conv = conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
                tower_conv_1 = conv2d(tower_conv, 384, 3, stride=2, padding=padding,
                                      scope='Conv2d_1a_3x3')
            with variable_scope('Branch_1'):
                tower_conv1 = conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
                tower_conv1_1 = conv2d(tower_conv1, 288, 3, stride=2, padding=padding,
                                       scope='Conv2d_1a_3x3')
            with variable_scope('Branch_2'):
                tower_conv2 = conv2d(net, 256, 1, scope='Conv2d_0a_1x1')
                tower_conv2_1 = conv2d(tower_conv2, 288, 3, scope='Conv2d_0b_3x3')
                tower_conv2_2 = conv2d(tower_conv2_1, 320, 3, stride=2, padding=padding,
                                       scope='Conv2d_1a_3x3')
            with variable_scope('Branch_3'):
                tower_pool = max_pool2d(net, 3, stride=2, padding=padding,
                                        scope='MaxPool_1a_3x3')
            net = concat_branches([tower_conv_1, tower_conv1_1, tower_conv2_2, tower_pool])
        if add_and_check_final('Mixed_7a', net):
            return net, end_points

        # 9 x block8 (Repeat_2/block8_1..9), then a linear one (scope Block8)
        net = layers.repeat(net, 9, block8, scale=0.20, activation_fn=activation_fn)
        net = block8(net, activation_fn=None)

        # 8 x 8 x 1536
        net = conv2d(net, 1536, 1, scope='Conv2d_7b_1x1')
        add_and_check_final('Conv2d_7b_1x1', net)
        return net, end_points


def inception_resnet_v2(inputs, num_classes=1001, is_training=None, dropout_keep_prob=0.8,
                        reuse=None, scope='InceptionResnetV2', create_aux_logits=True,
                        activation_fn=F.relu):
    """The Inception-ResNet-v2 classifier.

    Args:
        inputs: ``[N, 3, H, W]`` images; 299x299 is the trained size. Any size
            the ``'VALID'`` layers accept works (the final pool covers the
            whole map); the aux head needs ``H, W >= 107``.
        num_classes: number of classes (1001 = ImageNet + background). 0 or
            None: no logits layer (and no aux head); the pooled features
            ``[N, 1536, 1, 1]`` (before dropout) are returned instead.
        is_training: None follows ``train()``/``eval()``; True/False win.
        dropout_keep_prob: the keep probability of the dropout before the logits.
        reuse: share the variables of an existing ``scope``.
        scope: the variable scope.
        create_aux_logits: add the auxiliary head on ``PreAuxLogits``
            (``end_points['AuxLogits']``).
        activation_fn: the activation after each residual sum.

    Returns:
        ``(logits, end_points)``: ``[N, num_classes]`` logits (or the pooled
        features) and the ordered dict of end points, ending with
        ``AuxLogits, global_pool, PreLogitsFlatten, Logits, Predictions``.

    Raises:
        ValueError: if ``inputs`` is smaller than 75x75 (107x107 with the aux head).

    Example:
        >>> net = slim.Model(inception_resnet_v2, num_classes=0).build(
        ...     (1, 3, 75, 75), device='meta')
        >>> features, end_points = net(torch.zeros(1, 3, 75, 75, device='meta'))
        >>> tuple(features.shape), list(end_points)[-2:]
        ((1, 1536, 1, 1), ['Conv2d_7b_1x1', 'global_pool'])
    """
    check_min_input_size(inputs, bool(create_aux_logits and num_classes), 'inception_resnet_v2')
    with variable_scope(scope, 'InceptionResnetV2', [inputs], reuse=reuse) as sc:
        with arg_scope([layers.batch_norm, layers.dropout], is_training=is_training):
            net, end_points = inception_resnet_v2_base(inputs, scope=sc,
                                                       activation_fn=activation_fn)
            if create_aux_logits and num_classes:
                with variable_scope('AuxLogits'):
                    # 17 x 17 x 1088
                    aux = avg_pool2d(end_points['PreAuxLogits'], 5, stride=3, padding='VALID',
                                     scope='Conv2d_1a_3x3')
                    aux = conv2d(aux, 128, 1, scope='Conv2d_1b_1x1')
                    # The kernel covers the whole map: 5x5 at 299.
                    aux = conv2d(aux, 768, list(aux.shape[2:]), padding='VALID',
                                 scope='Conv2d_2a_5x5')
                    aux = layers.flatten(aux)
                    aux = layers.fully_connected(aux, num_classes, activation_fn=None,
                                                 scope='Logits')
                    end_points['AuxLogits'] = aux
            with variable_scope('Logits'):
                # 8 x 8 x 1536, pooled over the whole map
                net = avg_pool2d(net, list(net.shape[2:]), padding='VALID',
                                 scope='AvgPool_1a_8x8')
                end_points['global_pool'] = net
                if not num_classes:
                    return net, end_points
                net = layers.flatten(net)
                net = layers.dropout(net, dropout_keep_prob, is_training=is_training,
                                     scope='Dropout')
                end_points['PreLogitsFlatten'] = net
                logits = layers.fully_connected(net, num_classes, activation_fn=None,
                                                scope='Logits')
                end_points['Logits'] = logits
                end_points['Predictions'] = layers.softmax(logits, scope='Predictions')
    return logits, end_points


inception_resnet_v2.default_image_size = 299
inception_resnet_v2.input_channels = 3
inception_resnet_v2.min_image_size = 107   # AuxLogits' 5x5/3 VALID pool needs a 5x5 map (75 without it)


def inception_resnet_v2_arg_scope(weight_decay=0.00004, batch_norm_decay=0.9997,
                                  batch_norm_epsilon=0.001, activation_fn=F.relu,
                                  batch_norm_updates_collections=GraphKeys.UPDATE_OPS,
                                  batch_norm_scale=False):
    """research/slim's defaults for Inception-ResNet-v2: L2 weight decay on the
    weights *and biases* of conv and fc layers; conv2d with ``activation_fn``
    and batch norm (no gamma unless ``batch_norm_scale``). Unlike the shared
    Inception scope, the conv weights keep slim's Xavier initializer.

    Example:
        >>> with slim.arg_scope(inception_resnet_v2_arg_scope()):
        ...     net = slim.Model(inception_resnet_v2, num_classes=10).build(
        ...         (1, 3, 299, 299), device='meta')
        >>> len(net.regularization_losses())   # 248 weights, 42 biases (40 residual convs, 2 fc)
        290
    """
    l2 = regularizers.l2_regularizer(weight_decay)
    with arg_scope([conv2d, layers.fully_connected], weights_regularizer=l2,
                   biases_regularizer=l2):
        batch_norm_params = {
            'decay': batch_norm_decay,
            'epsilon': batch_norm_epsilon,
            'updates_collections': batch_norm_updates_collections,
            'fused': None,
            'scale': batch_norm_scale,
        }
        with arg_scope([conv2d], activation_fn=activation_fn, normalizer_fn=layers.batch_norm,
                       normalizer_params=batch_norm_params) as scope:
            return scope
