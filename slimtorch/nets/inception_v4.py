"""Inception V4 (Szegedy et al., 2016, http://arxiv.org/abs/1602.07261).

Follows research/slim's ``nets/inception_v4.py``: the same scopes, variable
names, ``end_points`` keys, options and defaults, so its checkpoints load
as they are (``InceptionV4/Mixed_6b/Branch_1/Conv2d_0b_1x7/weights``, ...).

    >>> with slim.arg_scope(inception_v4_arg_scope()):
    ...     net = slim.Model(inception_v4, num_classes=10).build((1, 3, 299, 299), device='meta')
    >>> len(net.variables())
    608
    >>> tuple(net.InceptionV4.AuxLogits.Conv2d_2a.weights.shape)   # a 5x5 kernel at 299
    (768, 128, 5, 5)

Differences from research/slim (slimtorch conventions, not new behaviour):

* Tensors are NCHW: ``end_points`` values are ``[N, C, H, W]`` and the
  logits ``[N, num_classes]``.
* ``is_training`` defaults to None: batch norm and dropout follow the
  module's ``train()``/``eval()`` mode (a fresh module trains, like TF's
  default True); an explicit True or False wins.
* An unknown ``final_endpoint`` raises before anything is built (TF builds
  the whole net first), and so does an input below 75x75 (107x107 with the
  aux head), naming the limit (TF fails inside some layer).
* Spatial shapes are always known, so the final average pool always takes
  the ``AvgPool_1a`` path (TF's ``reduce_mean`` fallback is for unknown
  shapes).
"""

from __future__ import annotations

import torch

from .. import layers
from ..arg_scope import arg_scope
from ..scopes import variable_scope
from . import inception_utils

__all__ = ["block_inception_a", "block_reduction_a", "block_inception_b", "block_reduction_b",
           "block_inception_c", "check_min_input_size", "concat_branches", "inception_v4_base",
           "inception_v4", "inception_v4_arg_scope"]

conv2d, max_pool2d, avg_pool2d = layers.conv2d, layers.max_pool2d, layers.avg_pool2d

#: The end points of :func:`inception_v4_base`, in order (its ``final_endpoint`` choices).
ENDPOINTS = tuple(
    ['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a', 'Mixed_4a', 'Mixed_5a']
    + ['Mixed_5' + c for c in 'bcde'] + ['Mixed_6a']
    + ['Mixed_6' + c for c in 'bcdefgh'] + ['Mixed_7a']
    + ['Mixed_7' + c for c in 'bcd'])


def _stride1_same():
    """Inception's default for every conv and pool: stride 1, ``'SAME'``
    (slim's own pool defaults are stride 2, ``'VALID'``)."""
    return arg_scope([conv2d, avg_pool2d, max_pool2d], stride=1, padding='SAME')


def concat_branches(branches):
    """TF's ``concat(axis=3, values=branches)``: NCHW branches join on dim 1.

        >>> concat_branches([torch.zeros(1, 2, 3, 3), torch.zeros(1, 5, 3, 3)]).shape
        torch.Size([1, 7, 3, 3])
    """
    return torch.cat(branches, 1)


def check_min_input_size(inputs, with_aux_logits, net_name):
    """Raises a ValueError naming the limit when ``inputs`` is too small for
    the full net: its stride-2 ``'VALID'`` reductions need ``H, W >= 75`` and
    the aux head's 5x5 pool needs ``>= 107`` (TF fails inside some layer).
    Shared with Inception-ResNet-v2, which has the same limits.

    Example:
        >>> check_min_input_size(torch.zeros(1, 3, 64, 64), False, 'inception_v4')
        Traceback (most recent call last):
        ...
        ValueError: inception_v4: input of shape [1, 3, 64, 64] is too small; ... H, W >= 75
    """
    min_size = 107 if with_aux_logits else 75
    if isinstance(inputs, torch.Tensor) and inputs.dim() == 4 and min(inputs.shape[2:]) < min_size:
        hint = ' with the aux head (or create_aux_logits=False)' if with_aux_logits else ''
        raise ValueError(f'{net_name}: input of shape {list(inputs.shape)} is too small; the net '
                         f'needs H, W >= {min_size}{hint}')


def block_inception_a(inputs, scope=None, reuse=None):
    """Inception-A block (35x35): four branches, 384 output channels.

    Example:
        >>> y = block_inception_a(torch.zeros(1, 384, 5, 5), 'Mixed_5b')
        >>> y.shape, slim.get_model_variables()[0].name
        (torch.Size([1, 384, 5, 5]), 'Mixed_5b/Branch_0/Conv2d_0a_1x1/weights')
    """
    with _stride1_same(), variable_scope(scope, 'BlockInceptionA', [inputs], reuse=reuse):
        with variable_scope('Branch_0'):
            branch_0 = conv2d(inputs, 96, [1, 1], scope='Conv2d_0a_1x1')
        with variable_scope('Branch_1'):
            branch_1 = conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
            branch_1 = conv2d(branch_1, 96, [3, 3], scope='Conv2d_0b_3x3')
        with variable_scope('Branch_2'):
            branch_2 = conv2d(inputs, 64, [1, 1], scope='Conv2d_0a_1x1')
            branch_2 = conv2d(branch_2, 96, [3, 3], scope='Conv2d_0b_3x3')
            branch_2 = conv2d(branch_2, 96, [3, 3], scope='Conv2d_0c_3x3')
        with variable_scope('Branch_3'):
            branch_3 = avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
            branch_3 = conv2d(branch_3, 96, [1, 1], scope='Conv2d_0b_1x1')
        return concat_branches([branch_0, branch_1, branch_2, branch_3])


def block_reduction_a(inputs, scope=None, reuse=None):
    """Reduction-A block: 35x35 -> 17x17 (stride-2 ``'VALID'`` branches),
    ``C + 640`` output channels.

    Example:
        >>> block_reduction_a(torch.zeros(1, 384, 7, 7)).shape
        torch.Size([1, 1024, 3, 3])
    """
    with _stride1_same(), variable_scope(scope, 'BlockReductionA', [inputs], reuse=reuse):
        with variable_scope('Branch_0'):
            branch_0 = conv2d(inputs, 384, [3, 3], stride=2, padding='VALID',
                              scope='Conv2d_1a_3x3')
        with variable_scope('Branch_1'):
            branch_1 = conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
            branch_1 = conv2d(branch_1, 224, [3, 3], scope='Conv2d_0b_3x3')
            branch_1 = conv2d(branch_1, 256, [3, 3], stride=2, padding='VALID',
                              scope='Conv2d_1a_3x3')
        with variable_scope('Branch_2'):
            branch_2 = max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                  scope='MaxPool_1a_3x3')
        return concat_branches([branch_0, branch_1, branch_2])


def block_inception_b(inputs, scope=None, reuse=None):
    """Inception-B block (17x17): factorized 1x7/7x1 convolutions, 1024 channels.

    Example:
        >>> block_inception_b(torch.zeros(1, 1024, 3, 3)).shape
        torch.Size([1, 1024, 3, 3])
    """
    with _stride1_same(), variable_scope(scope, 'BlockInceptionB', [inputs], reuse=reuse):
        with variable_scope('Branch_0'):
            branch_0 = conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
        with variable_scope('Branch_1'):
            branch_1 = conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
            branch_1 = conv2d(branch_1, 224, [1, 7], scope='Conv2d_0b_1x7')
            branch_1 = conv2d(branch_1, 256, [7, 1], scope='Conv2d_0c_7x1')
        with variable_scope('Branch_2'):
            branch_2 = conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
            branch_2 = conv2d(branch_2, 192, [7, 1], scope='Conv2d_0b_7x1')
            branch_2 = conv2d(branch_2, 224, [1, 7], scope='Conv2d_0c_1x7')
            branch_2 = conv2d(branch_2, 224, [7, 1], scope='Conv2d_0d_7x1')
            branch_2 = conv2d(branch_2, 256, [1, 7], scope='Conv2d_0e_1x7')
        with variable_scope('Branch_3'):
            branch_3 = avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
            branch_3 = conv2d(branch_3, 128, [1, 1], scope='Conv2d_0b_1x1')
        return concat_branches([branch_0, branch_1, branch_2, branch_3])


def block_reduction_b(inputs, scope=None, reuse=None):
    """Reduction-B block: 17x17 -> 8x8 (stride-2 ``'VALID'`` branches),
    ``C + 512`` output channels.

    Example:
        >>> block_reduction_b(torch.zeros(1, 1024, 7, 7)).shape
        torch.Size([1, 1536, 3, 3])
    """
    with _stride1_same(), variable_scope(scope, 'BlockReductionB', [inputs], reuse=reuse):
        with variable_scope('Branch_0'):
            branch_0 = conv2d(inputs, 192, [1, 1], scope='Conv2d_0a_1x1')
            branch_0 = conv2d(branch_0, 192, [3, 3], stride=2, padding='VALID',
                              scope='Conv2d_1a_3x3')
        with variable_scope('Branch_1'):
            branch_1 = conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
            branch_1 = conv2d(branch_1, 256, [1, 7], scope='Conv2d_0b_1x7')
            branch_1 = conv2d(branch_1, 320, [7, 1], scope='Conv2d_0c_7x1')
            branch_1 = conv2d(branch_1, 320, [3, 3], stride=2, padding='VALID',
                              scope='Conv2d_1a_3x3')
        with variable_scope('Branch_2'):
            branch_2 = max_pool2d(inputs, [3, 3], stride=2, padding='VALID',
                                  scope='MaxPool_1a_3x3')
        return concat_branches([branch_0, branch_1, branch_2])


def block_inception_c(inputs, scope=None, reuse=None):
    """Inception-C block (8x8): split 1x3/3x1 convolutions, 1536 channels.

    Example:
        >>> block_inception_c(torch.zeros(1, 1536, 2, 2)).shape
        torch.Size([1, 1536, 2, 2])
    """
    with _stride1_same(), variable_scope(scope, 'BlockInceptionC', [inputs], reuse=reuse):
        with variable_scope('Branch_0'):
            branch_0 = conv2d(inputs, 256, [1, 1], scope='Conv2d_0a_1x1')
        with variable_scope('Branch_1'):
            branch_1 = conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
            branch_1 = concat_branches([conv2d(branch_1, 256, [1, 3], scope='Conv2d_0b_1x3'),
                                conv2d(branch_1, 256, [3, 1], scope='Conv2d_0c_3x1')])
        with variable_scope('Branch_2'):
            branch_2 = conv2d(inputs, 384, [1, 1], scope='Conv2d_0a_1x1')
            branch_2 = conv2d(branch_2, 448, [3, 1], scope='Conv2d_0b_3x1')
            branch_2 = conv2d(branch_2, 512, [1, 3], scope='Conv2d_0c_1x3')
            branch_2 = concat_branches([conv2d(branch_2, 256, [1, 3], scope='Conv2d_0d_1x3'),
                                conv2d(branch_2, 256, [3, 1], scope='Conv2d_0e_3x1')])
        with variable_scope('Branch_3'):
            branch_3 = avg_pool2d(inputs, [3, 3], scope='AvgPool_0a_3x3')
            branch_3 = conv2d(branch_3, 256, [1, 1], scope='Conv2d_0b_1x1')
        return concat_branches([branch_0, branch_1, branch_2, branch_3])


def inception_v4_base(inputs, final_endpoint='Mixed_7d', scope=None):
    """Inception V4 up to ``final_endpoint``.

    Args:
        inputs: ``[N, 3, H, W]`` images (299x299 for the full net).
        final_endpoint: the last end point to build, one of :data:`ENDPOINTS`.
        scope: optional variable scope (default ``InceptionV4``).

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` tensor and an ordered
        dict of every end point up to it.

    Raises:
        ValueError: if ``final_endpoint`` is not one of :data:`ENDPOINTS`.

    Example:
        >>> net, end_points = inception_v4_base(torch.zeros(1, 3, 75, 75), 'Mixed_3a')
        >>> list(end_points), tuple(net.shape)
        (['Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'Mixed_3a'], (1, 160, 17, 17))
    """
    if final_endpoint not in ENDPOINTS:
        raise ValueError(f'Unknown final endpoint {final_endpoint}; expected one of '
                         f'{list(ENDPOINTS)}')
    end_points = {}

    def add_and_check_final(name, net):
        end_points[name] = net
        return name == final_endpoint

    with variable_scope(scope, 'InceptionV4', [inputs]), _stride1_same():
        # 299 x 299 x 3
        net = conv2d(inputs, 32, [3, 3], stride=2, padding='VALID', scope='Conv2d_1a_3x3')
        if add_and_check_final('Conv2d_1a_3x3', net):
            return net, end_points
        # 149 x 149 x 32
        net = conv2d(net, 32, [3, 3], padding='VALID', scope='Conv2d_2a_3x3')
        if add_and_check_final('Conv2d_2a_3x3', net):
            return net, end_points
        # 147 x 147 x 32
        net = conv2d(net, 64, [3, 3], scope='Conv2d_2b_3x3')
        if add_and_check_final('Conv2d_2b_3x3', net):
            return net, end_points
        # 147 x 147 x 64
        with variable_scope('Mixed_3a'):
            with variable_scope('Branch_0'):
                branch_0 = max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                      scope='MaxPool_0a_3x3')
            with variable_scope('Branch_1'):
                branch_1 = conv2d(net, 96, [3, 3], stride=2, padding='VALID',
                                  scope='Conv2d_0a_3x3')
            net = concat_branches([branch_0, branch_1])
            if add_and_check_final('Mixed_3a', net):
                return net, end_points
        # 73 x 73 x 160
        with variable_scope('Mixed_4a'):
            with variable_scope('Branch_0'):
                branch_0 = conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
                branch_0 = conv2d(branch_0, 96, [3, 3], padding='VALID', scope='Conv2d_1a_3x3')
            with variable_scope('Branch_1'):
                branch_1 = conv2d(net, 64, [1, 1], scope='Conv2d_0a_1x1')
                branch_1 = conv2d(branch_1, 64, [1, 7], scope='Conv2d_0b_1x7')
                branch_1 = conv2d(branch_1, 64, [7, 1], scope='Conv2d_0c_7x1')
                branch_1 = conv2d(branch_1, 96, [3, 3], padding='VALID', scope='Conv2d_1a_3x3')
            net = concat_branches([branch_0, branch_1])
            if add_and_check_final('Mixed_4a', net):
                return net, end_points
        # 71 x 71 x 192
        with variable_scope('Mixed_5a'):
            with variable_scope('Branch_0'):
                branch_0 = conv2d(net, 192, [3, 3], stride=2, padding='VALID',
                                  scope='Conv2d_1a_3x3')
            with variable_scope('Branch_1'):
                branch_1 = max_pool2d(net, [3, 3], stride=2, padding='VALID',
                                      scope='MaxPool_1a_3x3')
            net = concat_branches([branch_0, branch_1])
            if add_and_check_final('Mixed_5a', net):
                return net, end_points
        # 35 x 35 x 384: 4 Inception-A blocks, Reduction-A, 7 Inception-B blocks
        # (17 x 17 x 1024), Reduction-B, 3 Inception-C blocks (8 x 8 x 1536).
        stages = [(block_inception_a, ['Mixed_5' + c for c in 'bcde']),
                  (block_reduction_a, ['Mixed_6a']),
                  (block_inception_b, ['Mixed_6' + c for c in 'bcdefgh']),
                  (block_reduction_b, ['Mixed_7a']),
                  (block_inception_c, ['Mixed_7' + c for c in 'bcd'])]
        for block, block_scopes in stages:
            for block_scope in block_scopes:
                net = block(net, block_scope)
                if add_and_check_final(block_scope, net):
                    return net, end_points
    raise AssertionError('unreachable: final_endpoint was checked')  # pragma: no cover


def inception_v4(inputs, num_classes=1001, is_training=None, dropout_keep_prob=0.8, reuse=None,
                 scope='InceptionV4', create_aux_logits=True):
    """The Inception V4 classifier.

    Args:
        inputs: ``[N, 3, H, W]`` images; 299x299 is the trained size. Any size
            the stride-2 ``'VALID'`` layers accept works (the final pool covers
            the whole map); the aux head needs ``H, W >= 107``.
        num_classes: number of classes (1001 = ImageNet + background). 0 or
            None: no logits layer (and no aux head); the pooled features
            ``[N, 1536, 1, 1]`` (before dropout) are returned instead.
        is_training: None follows ``train()``/``eval()``; True/False win.
        dropout_keep_prob: the keep probability of the dropout before the logits.
        reuse: share the variables of an existing ``scope``.
        scope: the variable scope.
        create_aux_logits: add the auxiliary head on ``Mixed_6h``
            (``end_points['AuxLogits']``).

    Returns:
        ``(logits, end_points)``: ``[N, num_classes]`` logits (or the pooled
        features) and the ordered dict of end points, ending with
        ``AuxLogits, global_pool, PreLogitsFlatten, Logits, Predictions``.

    Raises:
        ValueError: if ``inputs`` is smaller than 75x75 (107x107 with the aux head).

    Example:
        >>> net = slim.Model(inception_v4, num_classes=0).build((1, 3, 75, 75), device='meta')
        >>> features, end_points = net(torch.zeros(1, 3, 75, 75, device='meta'))
        >>> tuple(features.shape), list(end_points)[-2:]
        ((1, 1536, 1, 1), ['Mixed_7d', 'global_pool'])
    """
    check_min_input_size(inputs, bool(create_aux_logits and num_classes), 'inception_v4')
    with variable_scope(scope, 'InceptionV4', [inputs], reuse=reuse) as sc:
        with arg_scope([layers.batch_norm, layers.dropout], is_training=is_training):
            net, end_points = inception_v4_base(inputs, scope=sc)
            with _stride1_same():
                if create_aux_logits and num_classes:
                    with variable_scope('AuxLogits'):
                        # 17 x 17 x 1024
                        aux_logits = avg_pool2d(end_points['Mixed_6h'], [5, 5], stride=3,
                                                padding='VALID', scope='AvgPool_1a_5x5')
                        aux_logits = conv2d(aux_logits, 128, [1, 1], scope='Conv2d_1b_1x1')
                        # The kernel covers the whole map: 5x5 at 299.
                        aux_logits = conv2d(aux_logits, 768, list(aux_logits.shape[2:]),
                                            padding='VALID', scope='Conv2d_2a')
                        aux_logits = layers.flatten(aux_logits)
                        aux_logits = layers.fully_connected(aux_logits, num_classes,
                                                            activation_fn=None,
                                                            scope='Aux_logits')
                        end_points['AuxLogits'] = aux_logits
                with variable_scope('Logits'):
                    # 8 x 8 x 1536, pooled over the whole map
                    net = avg_pool2d(net, list(net.shape[2:]), padding='VALID',
                                     scope='AvgPool_1a')
                    end_points['global_pool'] = net
                    if not num_classes:
                        return net, end_points
                    net = layers.dropout(net, dropout_keep_prob, scope='Dropout_1b')
                    net = layers.flatten(net, scope='PreLogitsFlatten')
                    end_points['PreLogitsFlatten'] = net
                    logits = layers.fully_connected(net, num_classes, activation_fn=None,
                                                    scope='Logits')
                    end_points['Logits'] = logits
                    end_points['Predictions'] = layers.softmax(logits, scope='Predictions')
    return logits, end_points


inception_v4.default_image_size = 299
inception_v4.input_channels = 3
inception_v4.min_image_size = 107   # AuxLogits' 5x5/3 VALID pool needs Mixed_6h 5x5 (75 without it)

#: research/slim's ``inception_v4_arg_scope`` is the shared Inception one.
inception_v4_arg_scope = inception_utils.inception_arg_scope
