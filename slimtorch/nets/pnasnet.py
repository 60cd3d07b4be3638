"""PNASNet-5, as research/slim's ``nets/nasnet/pnasnet.py``.

Liu et al., "Progressive Neural Architecture Search",
https://arxiv.org/abs/1712.00559. One searched cell (:class:`PNasNetNormalCell`)
serves as stem, normal and (with stride 2) reduction cell; the stem, the
auxiliary head and the final layer are NASNet's. ``build_pnasnet_mobile``
(224x224, 9 cells of 54 filters) and ``build_pnasnet_large`` (331x331, 12
cells of 216) have research/slim's variable names (``cell_stem_0/...``,
``cell_0/...``, ``aux_5/aux_logits/...``, ``final_layer/FC/weights``),
``end_points`` keys, hyperparameters and arg scopes.

slimtorch differences are NASNet's (see :mod:`slimtorch.nets.nasnet`): NCHW
tensors, ``is_training=None`` following ``train()``/``eval()``, the
auxiliary head only in nets built in training mode, drop-path's schedule
reading the global step, and logits returned for ``final_endpoint='Logits'``.

    >>> with slim.Graph(), slim.arg_scope(pnasnet_mobile_arg_scope()):
    ...     net = slim.Model(build_pnasnet_mobile).build((1, 3, 224, 224), device='meta')
    ...     len(slim.get_model_variables())   # training mode: with aux_5's 12 variables
    945
"""

from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import arg_scope
from ..layers import batch_norm, dropout
from ._nasnet_cells import (NasNetABaseCell, NasNetConfig, build_aux_head, calc_reduction_layers,
                            final_layer, imagenet_stem, resolve_training, wants_aux_head)
from .nasnet import nasnet_large_arg_scope, nasnet_mobile_arg_scope

__all__ = ["PNasNetNormalCell", "build_pnasnet_large", "build_pnasnet_mobile",
           "large_imagenet_config", "mobile_imagenet_config", "pnasnet_large_arg_scope",
           "pnasnet_mobile_arg_scope"]


def large_imagenet_config() -> NasNetConfig:
    """research/slim's PNASNet-5 Large hyperparameters (12 cells of 216 filters).

        >>> large_imagenet_config().num_conv_filters
        216
    """
    return NasNetConfig(stem_multiplier=3.0, dense_dropout_keep_prob=0.5, num_cells=12,
                        filter_scaling_rate=2.0, num_conv_filters=216, drop_path_keep_prob=0.6,
                        use_aux_head=1, num_reduction_layers=2, data_format="NHWC",
                        skip_reduction_layer_input=1, total_training_steps=250000,
                        use_bounded_activation=False)


def mobile_imagenet_config() -> NasNetConfig:
    """research/slim's PNASNet-5 Mobile hyperparameters (9 cells of 54 filters)."""
    return NasNetConfig(stem_multiplier=1.0, dense_dropout_keep_prob=0.5, num_cells=9,
                        filter_scaling_rate=2.0, num_conv_filters=54, drop_path_keep_prob=1.0,
                        use_aux_head=1, num_reduction_layers=2, data_format="NHWC",
                        skip_reduction_layer_input=1, total_training_steps=250000,
                        use_bounded_activation=False)


def pnasnet_large_arg_scope(weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997,
                            batch_norm_epsilon: float = 0.001):
    """NASNet Large's arg scope with PNASNet's default weight decay (4e-5)."""
    return nasnet_large_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


def pnasnet_mobile_arg_scope(weight_decay: float = 4e-5, batch_norm_decay: float = 0.9997,
                             batch_norm_epsilon: float = 0.001):
    """NASNet Mobile's arg scope (research/slim's PNASNet Mobile scope)."""
    return nasnet_mobile_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon)


class PNasNetNormalCell(NasNetABaseCell):
    """PNASNet-5's cell."""

    def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
                 total_training_steps, use_bounded_activation=False) -> None:
        super().__init__(
            num_conv_filters,
            ["separable_5x5_2", "max_pool_3x3", "separable_7x7_2", "max_pool_3x3",
             "separable_5x5_2", "separable_3x3_2", "separable_3x3_2", "max_pool_3x3",
             "separable_3x3_2", "none"],
            [1, 1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 4, 0, 1, 0],
            drop_path_keep_prob, total_num_cells, total_training_steps, use_bounded_activation)


def _build_pnasnet_base(images, normal_cell, num_classes, hparams, is_training,
                        final_endpoint=None):
    """The stem, the cells (every third one strided), the auxiliary head and the final layer."""
    end_points = {}

    def add_and_check_endpoint(name, net):
        end_points[name] = net
        return final_endpoint == name

    reduction_indices = calc_reduction_layers(hparams.num_cells, hparams.num_reduction_layers)
    net, cell_outputs = imagenet_stem(images, hparams, normal_cell)
    if add_and_check_endpoint("Stem", net):
        return net, end_points
    aux_head_cells = [reduction_indices[1] - 1] if len(reduction_indices) >= 2 else []
    activation = F.relu6 if hparams.use_bounded_activation else F.relu
    filter_scaling = 1.0
    true_cell_num = 2   # counts the stem cells
    prev_layer = None
    for cell_num in range(hparams.num_cells):
        is_reduction = cell_num in reduction_indices
        if is_reduction:
            filter_scaling *= hparams.filter_scaling_rate
        # research/slim keeps the previous prev_layer for a reduction cell
        # when skip_reduction_layer_input is 0.
        if hparams.skip_reduction_layer_input or not is_reduction:
            prev_layer = cell_outputs[-2]
        net = normal_cell(net, scope=f"cell_{cell_num}", filter_scaling=filter_scaling,
                          stride=2 if is_reduction else 1, prev_layer=prev_layer,
                          cell_num=true_cell_num)
        if add_and_check_endpoint(f"Cell_{cell_num}", net):
            return net, end_points
        true_cell_num += 1
        cell_outputs.append(net)
        if cell_num in aux_head_cells and wants_aux_head(hparams, num_classes, is_training,
                                                         cell_num):
            build_aux_head(activation(net), end_points, num_classes, hparams, f"aux_{cell_num}")
    return final_layer(net, end_points, num_classes, hparams, final_endpoint), end_points


def _build_pnasnet(images, num_classes, is_training, final_endpoint, config, default_config):
    hparams = copy.deepcopy(config) if config else default_config()
    hparams.check()
    if not resolve_training(is_training):
        hparams.drop_path_keep_prob = 1.0   # research/slim's _update_hparams
    # No separate reduction cells: the cells plus the two stem cells.
    normal_cell = PNasNetNormalCell(hparams.num_conv_filters, hparams.drop_path_keep_prob,
                                    hparams.num_cells + 2, hparams.total_training_steps,
                                    hparams.use_bounded_activation)
    with arg_scope([dropout, batch_norm], is_training=is_training):
        return _build_pnasnet_base(images, normal_cell, num_classes, hparams, is_training,
                                   final_endpoint)


def build_pnasnet_large(images: torch.Tensor, num_classes: Optional[int] = 1000,
                        is_training: Optional[bool] = None, final_endpoint: Optional[str] = None,
                        config: Optional[NasNetConfig] = None):
    """PNASNet-5 Large for ImageNet (default image size 331; pooled features
    ``[N, 4320]``).

    Args:
        images: ``[N, 3, H, W]`` images.
        num_classes: logits width; 0 or None returns the pooled features.
        is_training: batch norm, dropout, drop-path and the auxiliary head;
            None follows the module's ``train()``/``eval()`` mode.
        final_endpoint: stop after this end point (``'Stem'``, ``'Cell_5'``, ...).
        config: a :class:`~slimtorch.nets.nasnet.NasNetConfig` (default
            :func:`large_imagenet_config`).

    Returns:
        ``(logits, end_points)``: ``'Stem'``, ``'Cell_0'`` .. ``'Cell_11'``,
        (``'AuxLogits'``), ``'global_pool'``, ``'Logits'``, ``'Predictions'``.

        >>> large_imagenet_config().num_cells, build_pnasnet_large.default_image_size
        (12, 331)
    """
    return _build_pnasnet(images, num_classes, is_training, final_endpoint, config,
                          large_imagenet_config)


def build_pnasnet_mobile(images: torch.Tensor, num_classes: Optional[int] = 1000,
                         is_training: Optional[bool] = None,
                         final_endpoint: Optional[str] = None,
                         config: Optional[NasNetConfig] = None):
    """PNASNet-5 Mobile for ImageNet (default image size 224; pooled
    features ``[N, 1080]``). Arguments as :func:`build_pnasnet_large`,
    default config :func:`mobile_imagenet_config`.

        >>> with slim.Graph(), slim.arg_scope(pnasnet_mobile_arg_scope()):
        ...     net = slim.Model(build_pnasnet_mobile, final_endpoint='Cell_2')
        ...     out, _ = net.build((1, 3, 224, 224), device='meta')(
        ...         torch.empty(1, 3, 224, 224, device='meta'))
        >>> out.shape
        torch.Size([1, 270, 28, 28])
    """
    return _build_pnasnet(images, num_classes, is_training, final_endpoint, config,
                          mobile_imagenet_config)


build_pnasnet_large.default_image_size = 331
build_pnasnet_mobile.default_image_size = 224
for _fn in (build_pnasnet_large, build_pnasnet_mobile):
    _fn.input_channels = 3
    # The auxiliary head's 5x5 VALID pool (training mode) needs a 5x5 map.
    _fn.min_image_size = 67
del _fn
