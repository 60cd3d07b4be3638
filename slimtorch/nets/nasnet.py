"""NASNet-A, as research/slim's ``nets/nasnet/nasnet.py``.

Zoph et al., "Learning Transferable Architectures for Scalable Image
Recognition", https://arxiv.org/abs/1707.07012. Three configurations:
``build_nasnet_cifar`` (32x32, 18 cells of 32 filters), ``build_nasnet_mobile``
(224x224, 12 cells of 44) and ``build_nasnet_large`` (331x331, 18 cells of
168), with research/slim's variable names (no outer scope:
``cell_stem_0/...``, ``reduction_cell_0/...``, ``cell_11/...``,
``aux_7/aux_logits/...``, ``final_layer/FC/weights``), ``end_points`` keys,
hyperparameters (:func:`cifar_config` and friends, changed with
``config.set_hparam``) and arg scopes, so its checkpoints load as they are.

slimtorch differences:

* Tensors are NCHW; the ``data_format`` hyperparameter is accepted and has
  no effect.
* ``is_training=None`` (the default) follows the module's ``train()`` /
  ``eval()`` mode; research/slim's default is True. As in research/slim,
  eval mode turns drop-path and dropout off, and the auxiliary head exists
  only in training graphs: a net built in training mode has the
  ``aux_*`` variables (and ``end_points['AuxLogits']`` while it trains);
  one built in eval mode has exactly the variables of research/slim's eval
  graph (its checkpoints' extra ``aux_*`` entries are then unused).
* Drop-path follows research/slim's schedule: its keep probability falls
  with the cell's depth and with ``current_step / total_training_steps``;
  ``current_step`` defaults to the graph's global step (0 without one).
* With ``final_endpoint='Logits'`` or ``'Predictions'`` research/slim
  returns the pooled features; here it returns the logits.

    >>> with slim.Graph(), slim.arg_scope(nasnet_cifar_arg_scope()):
    ...     net = slim.Model(build_nasnet_cifar, num_classes=10).eval()
    ...     net = net.build((1, 3, 32, 32), device='meta')   # eval: research/slim's eval graph
    ...     len(slim.get_model_variables()), net.variables()[-2].name
    (1424, 'final_layer/FC/weights')
"""

from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import arg_scope
from ..layers import batch_norm, conv2d, dropout
from ._nasnet_cells import (NasNetAReductionCell, NasNetANormalCell, NasNetConfig,
                            build_aux_head, calc_reduction_layers, final_layer, imagenet_stem,
                            nasnet_arg_scope, resolve_training, wants_aux_head)

__all__ = ["NasNetConfig", "build_nasnet_cifar", "build_nasnet_large", "build_nasnet_mobile",
           "cifar_config", "large_imagenet_config", "mobile_imagenet_config",
           "nasnet_cifar_arg_scope", "nasnet_large_arg_scope", "nasnet_mobile_arg_scope"]


def cifar_config() -> NasNetConfig:
    """research/slim's CIFAR hyperparameters (18 cells of 32 filters).

        >>> cifar_config().num_cells, cifar_config().drop_path_keep_prob
        (18, 0.6)
    """
    return NasNetConfig(stem_multiplier=3.0, drop_path_keep_prob=0.6, num_cells=18,
                        use_aux_head=1, num_conv_filters=32, dense_dropout_keep_prob=1.0,
                        filter_scaling_rate=2.0, num_reduction_layers=2, data_format="NHWC",
                        skip_reduction_layer_input=0, total_training_steps=937500,
                        use_bounded_activation=False)


def large_imagenet_config() -> NasNetConfig:
    """research/slim's NASNet-A Large hyperparameters (18 cells of 168 filters)."""
    return NasNetConfig(stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=18,
                        filter_scaling_rate=2.0, num_conv_filters=168, drop_path_keep_prob=0.7,
                        use_aux_head=1, num_reduction_layers=2, data_format="NHWC",
                        skip_reduction_layer_input=1, total_training_steps=250000,
                        use_bounded_activation=False)


def mobile_imagenet_config() -> NasNetConfig:
    """research/slim's NASNet-A Mobile hyperparameters (12 cells of 44 filters)."""
    return NasNetConfig(stem_multiplier=1.0, dense_dropout_keep_prob=0.5, num_cells=12,
                        filter_scaling_rate=2.0, drop_path_keep_prob=1.0, num_conv_filters=44,
                        use_aux_head=1, num_reduction_layers=2, data_format="NHWC",
                        skip_reduction_layer_input=0, total_training_steps=250000,
                        use_bounded_activation=False)


def nasnet_cifar_arg_scope(weight_decay: float = 5e-4, batch_norm_decay: float = 0.9,
                           batch_norm_epsilon: float = 1e-5):
    """The arg scope of NASNet-A CIFAR: FAN_OUT variance-scaling weights with
    L2 ``weight_decay``, no conv biases or activations, scaled batch norm.

        >>> with slim.arg_scope(nasnet_cifar_arg_scope()):
        ...     scoped = slim.current_arg_scope()
        >>> scoped[slim.arg_scope_func_key(slim.batch_norm)]['epsilon']
        1e-05
    """
    return nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_mobile_arg_scope(weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997,
                            batch_norm_epsilon: float = 1e-3):
    """The arg scope of NASNet-A Mobile (as :func:`nasnet_cifar_arg_scope`, other defaults)."""
    return nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def nasnet_large_arg_scope(weight_decay: float = 5e-5, batch_norm_decay: float = 0.9997,
                           batch_norm_epsilon: float = 1e-3):
    """The arg scope of NASNet-A Large (as :func:`nasnet_cifar_arg_scope`, other defaults)."""
    return nasnet_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def _cifar_stem(inputs, hparams):
    net = conv2d(inputs, int(hparams.num_conv_filters * hparams.stem_multiplier), 3,
                 scope="l1_stem_3x3")
    net = batch_norm(net, scope="l1_stem_bn")
    return net, [None, net]


def _build_nasnet(images, num_classes, is_training, final_endpoint, config, current_step,
                  default_config, stem_type):
    hparams = default_config() if config is None else copy.deepcopy(config)
    hparams.check()
    if not resolve_training(is_training):
        hparams.drop_path_keep_prob = 1.0   # research/slim's _update_hparams
    # The cells' drop-path depth schedule counts the reduction (and stem) cells.
    total_num_cells = hparams.num_cells + 2 + (2 if stem_type == "imagenet" else 0)
    cell_args = (hparams.num_conv_filters, hparams.drop_path_keep_prob, total_num_cells,
                 hparams.total_training_steps, hparams.use_bounded_activation)
    with arg_scope([dropout, batch_norm], is_training=is_training):
        return _build_nasnet_base(images, NasNetANormalCell(*cell_args),
                                  NasNetAReductionCell(*cell_args), num_classes, hparams,
                                  is_training, stem_type, final_endpoint, current_step)


def _build_nasnet_base(images, normal_cell, reduction_cell, num_classes, hparams, is_training,
                       stem_type, final_endpoint=None, current_step=None):
    """The stem, the cells (a reduction cell before each third of them), the
    auxiliary head and the final layer."""
    end_points = {}

    def add_and_check_endpoint(name, net):
        end_points[name] = net
        return final_endpoint == name

    reduction_indices = calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    if stem_type == "imagenet":
        net, cell_outputs = imagenet_stem(images, hparams, reduction_cell)
    else:
        net, cell_outputs = _cifar_stem(images, hparams)
    if add_and_check_endpoint("Stem", net):
        return net, end_points
    aux_head_cells = [reduction_indices[1] - 1] if len(reduction_indices) >= 2 else []
    activation = F.relu6 if hparams.use_bounded_activation else F.relu
    filter_scaling = 1.0
    true_cell_num = 2 if stem_type == "imagenet" else 0   # counts the stem cells
    prev_layer = None
    for cell_num in range(hparams.num_cells):
        if hparams.skip_reduction_layer_input:
            prev_layer = cell_outputs[-2]
        if cell_num in reduction_indices:
            filter_scaling *= hparams.filter_scaling_rate
            index = reduction_indices.index(cell_num)
            net = reduction_cell(net, scope=f"reduction_cell_{index}",
                                 filter_scaling=filter_scaling, stride=2,
                                 prev_layer=cell_outputs[-2], cell_num=true_cell_num,
                                 current_step=current_step)
            if add_and_check_endpoint(f"Reduction_Cell_{index}", net):
                return net, end_points
            true_cell_num += 1
            cell_outputs.append(net)
        if not hparams.skip_reduction_layer_input:
            prev_layer = cell_outputs[-2]
        net = normal_cell(net, scope=f"cell_{cell_num}", filter_scaling=filter_scaling,
                          stride=1, prev_layer=prev_layer, cell_num=true_cell_num,
                          current_step=current_step)
        if add_and_check_endpoint(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        if cell_num in aux_head_cells and wants_aux_head(hparams, num_classes, is_training,
                                                         cell_num):
            build_aux_head(activation(net), end_points, num_classes, hparams, f"aux_{cell_num}")
        cell_outputs.append(net)
    return final_layer(net, end_points, num_classes, hparams, final_endpoint), end_points


def build_nasnet_cifar(images: torch.Tensor, num_classes: Optional[int] = 10,
                       is_training: Optional[bool] = None,
                       config: Optional[NasNetConfig] = None, current_step=None):
    """NASNet-A for CIFAR-10 (default image size 32).

    Args:
        images: ``[N, 3, H, W]`` images.
        num_classes: logits width; 0 or None returns the globally pooled
            features ``[N, 768]`` (no auxiliary head).
        is_training: batch norm, dropout, drop-path and the auxiliary head;
            None follows the module's ``train()``/``eval()`` mode.
        config: a :class:`NasNetConfig` (default :func:`cifar_config`).
        current_step: the training step for drop-path's schedule (a number
            or tensor); None reads the graph's global step.

    Returns:
        ``(logits, end_points)``: ``'Stem'``, ``'Cell_0'`` .. ``'Cell_17'``,
        ``'Reduction_Cell_0/1'``, (``'AuxLogits'``), ``'global_pool'``,
        ``'Logits'``, ``'Predictions'``.

    Example:
        >>> with slim.Graph(), slim.arg_scope(nasnet_cifar_arg_scope()):
        ...     net = slim.Model(build_nasnet_cifar).build((1, 3, 32, 32), device='meta')
        ...     logits, end_points = net.eval()(torch.empty(2, 3, 32, 32, device='meta'))
        >>> logits.shape, end_points['Cell_17'].shape
        (torch.Size([2, 10]), torch.Size([2, 768, 8, 8]))
    """
    return _build_nasnet(images, num_classes, is_training, None, config, current_step,
                         cifar_config, "cifar")


def build_nasnet_mobile(images: torch.Tensor, num_classes: Optional[int] = 1000,
                        is_training: Optional[bool] = None, final_endpoint: Optional[str] = None,
                        config: Optional[NasNetConfig] = None, current_step=None):
    """NASNet-A Mobile for ImageNet (default image size 224).

    Args:
        images, num_classes, is_training, current_step: as :func:`build_nasnet_cifar`
            (the pooled features are ``[N, 1056]``).
        final_endpoint: stop after this end point (``'Stem'``, ``'Cell_3'``,
            ``'Reduction_Cell_0'``, ``'global_pool'``, ...) and return it.
        config: a :class:`NasNetConfig` (default :func:`mobile_imagenet_config`).

    Example:
        >>> with slim.Graph(), slim.arg_scope(nasnet_mobile_arg_scope()):
        ...     net = slim.Model(build_nasnet_mobile, final_endpoint='Stem')
        ...     stem, _ = net.build((1, 3, 224, 224), device='meta')(
        ...         torch.empty(1, 3, 224, 224, device='meta'))
        >>> stem.shape
        torch.Size([1, 88, 28, 28])
    """
    return _build_nasnet(images, num_classes, is_training, final_endpoint, config,
                         current_step, mobile_imagenet_config, "imagenet")


def build_nasnet_large(images: torch.Tensor, num_classes: Optional[int] = 1000,
                       is_training: Optional[bool] = None, final_endpoint: Optional[str] = None,
                       config: Optional[NasNetConfig] = None, current_step=None):
    """NASNet-A Large for ImageNet (default image size 331; pooled features
    ``[N, 4032]``). Arguments as :func:`build_nasnet_mobile`, default
    config :func:`large_imagenet_config`.

        >>> large_imagenet_config().num_conv_filters, build_nasnet_large.default_image_size
        (168, 331)
    """
    return _build_nasnet(images, num_classes, is_training, final_endpoint, config,
                         current_step, large_imagenet_config, "imagenet")


build_nasnet_cifar.default_image_size = 32
build_nasnet_mobile.default_image_size = 224
build_nasnet_large.default_image_size = 331
for _fn in (build_nasnet_cifar, build_nasnet_mobile, build_nasnet_large):
    _fn.input_channels = 3
# The auxiliary head's 5x5 VALID pool (training mode) needs a 5x5 map before
# the second reduction cell; eval-mode nets take smaller images.
build_nasnet_cifar.min_image_size = 9
build_nasnet_mobile.min_image_size = 67
build_nasnet_large.min_image_size = 67
del _fn
