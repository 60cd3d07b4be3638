"""Building blocks shared by ResNet v1 and v2 (He et al., 2015 and 2016).

Follows research/slim's ``nets/resnet_utils.py`` (tf_slim's copy is the same):
``Block``, ``subsample``, ``conv2d_same``, ``stack_blocks_dense`` (which
controls the output stride with atrous convolution) and ``resnet_arg_scope``,
with TF-Slim's names, defaults and padding. The generator both ResNet
versions share (root block, blocks, global pool, logits, ``end_points``) also
lives here, so :mod:`resnet_v1` and :mod:`resnet_v2` hold only what differs.

As in TF-Slim, a block's stride sits in its *last* unit: activations are
subsampled at the end of a block rather than at the start of the next one
(same result, less memory).

slimtorch differences: tensors are NCHW; ``is_training=None`` (the nets'
default) leaves batch norm to follow ``model.train()``/``model.eval()`` or an
outer ``arg_scope``.
"""

from __future__ import annotations

import collections
import contextlib

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope, arg_scope
from ..graph import GraphKeys
from ..initializers import variance_scaling_initializer
from ..layers import batch_norm, conv2d, max_pool2d, softmax
from ..regularizers import l2_regularizer
from ..scopes import variable_scope
from ..utils import collect_named_outputs, convert_collection_to_dict
from ._utils import spatial_mean, squeeze_spatial

__all__ = ["Block", "bottleneck_block", "conv2d_same", "resnet", "resnet_arg_scope",
           "stack_blocks_dense", "standard_blocks", "subsample"]

#: Units per block of the standard depths (research/slim's resnet_v*_N).
STANDARD_UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}
#: Bottleneck depths of the four blocks; a unit outputs four times as many channels.
STANDARD_BASE_DEPTHS = (64, 128, 256, 512)


class Block(collections.namedtuple("Block", ["scope", "unit_fn", "args"])):
    """A ResNet block: ``scope`` (e.g. ``'block1'``), ``unit_fn`` (the residual
    unit, called as ``unit_fn(net, rate=..., **unit_args)``) and ``args``, one
    dict of keyword arguments (``depth``, ``depth_bottleneck``, ``stride``)
    per unit.

        >>> Block('block1', None, [{'depth': 8, 'depth_bottleneck': 2, 'stride': 1}]).scope
        'block1'
    """


def subsample(inputs: torch.Tensor, factor: int, scope=None) -> torch.Tensor:
    """Keeps every ``factor``-th row and column (a 1x1 max pool with stride
    ``factor``); returns ``inputs`` itself when ``factor == 1``.

    Example:
        >>> subsample(torch.arange(25.).reshape(1, 1, 5, 5), 2).flatten().tolist()
        [0.0, 2.0, 4.0, 10.0, 12.0, 14.0, 20.0, 22.0, 24.0]
    """
    if factor == 1:
        return inputs
    return max_pool2d(inputs, [1, 1], stride=factor, scope=scope)


def conv2d_same(inputs: torch.Tensor, num_outputs: int, kernel_size: int, stride: int,
                rate: int = 1, scope=None) -> torch.Tensor:
    """Strided 2-D convolution whose output is the stride-1 'SAME' output
    subsampled by ``stride``.

    With ``stride > 1`` the input is zero-padded explicitly, by
    ``(k_eff - 1) // 2`` before and the rest after (``k_eff`` the dilated
    kernel size), then convolved with 'VALID' padding. That is symmetric for
    odd kernels and independent of the input size, unlike TF's 'SAME', which
    pads an even input only at the bottom/right. The layer is a
    ``slim.conv2d`` (arg scopes apply; variables under ``scope``).

    Args:
        inputs: ``[N, C, H, W]``.
        num_outputs: the number of filters.
        kernel_size: an int, the (square) kernel size.
        stride: an int, the output stride.
        rate: an int, the atrous (dilation) rate.
        scope: the layer's scope.

    Returns:
        ``[N, num_outputs, ceil(H / stride), ceil(W / stride)]``.

    Example:
        >>> with slim.Graph():
        ...     y = conv2d_same(torch.randn(1, 3, 8, 8), 4, 3, stride=2, scope='conv')
        >>> y.shape
        torch.Size([1, 4, 4, 4])
    """
    if stride == 1:
        return conv2d(inputs, num_outputs, kernel_size, stride=1, rate=rate, padding="SAME",
                      scope=scope)
    kernel_size_effective = kernel_size + (kernel_size - 1) * (rate - 1)
    pad_total = kernel_size_effective - 1
    pad_beg = pad_total // 2
    pad_end = pad_total - pad_beg
    inputs = F.pad(inputs, (pad_beg, pad_end, pad_beg, pad_end))
    return conv2d(inputs, num_outputs, kernel_size, stride=stride, rate=rate, padding="VALID",
                  scope=scope)


def _check_stride(current_stride: int, output_stride) -> None:
    if output_stride is not None and current_stride > output_stride:
        raise ValueError("The target output_stride cannot be reached.")


@add_arg_scope
def stack_blocks_dense(net: torch.Tensor, blocks, output_stride=None,
                       store_non_strided_activations: bool = False,
                       outputs_collections=None) -> torch.Tensor:
    """Runs ResNet ``blocks`` in scopes ``<block.scope>/unit_<i>``, at a chosen
    output stride.

    Once the product of the unit strides reaches ``output_stride``, further
    units run with stride 1 and an atrous rate multiplied by each skipped
    stride, so the features stay dense (and, for the same weights, equal the
    nominal-stride features at the positions those keep). Each block's output
    is added to ``outputs_collections`` under the block's scope name.

    Args:
        net: ``[N, C, H, W]``.
        blocks: a list of :class:`Block`.
        output_stride: None for the nominal stride (the product of all unit
            strides); else the ratio of input to output resolution, which must
            be a product of the first unit strides (for strides 1, 2, 1, 3:
            1, 2, 6, or None).
        store_non_strided_activations: run each block's last unit with stride
            1 and subsample after collecting the block's output, so the
            collection holds full-resolution block outputs (4x the cost of
            that unit).
        outputs_collections: collections the unit and block outputs go to.

    Returns:
        The output of the last block, at ``output_stride``.

    Raises:
        ValueError: if ``output_stride`` cannot be reached.

    Example:
        >>> def unit(net, depth, stride, rate=1):
        ...     return conv2d_same(net, depth, 3, stride, rate=rate, scope='conv')
        >>> blocks = [Block('block1', unit, [{'depth': 4, 'stride': 2}] * 2)]
        >>> with slim.Graph():
        ...     y = stack_blocks_dense(torch.randn(1, 3, 16, 16), blocks, output_stride=2)
        ...     [v.name for v in slim.get_model_variables()][::2]
        ['block1/unit_1/conv/weights', 'block1/unit_2/conv/weights']
        >>> y.shape
        torch.Size([1, 4, 8, 8])
    """
    # The stride of the activations so far, and the atrous rate the next units
    # need once that stride has reached output_stride.
    current_stride = 1
    rate = 1
    for block in blocks:
        with variable_scope(block.scope, "block", [net]) as sc:
            block_stride = 1
            for i, unit in enumerate(block.args):
                if store_non_strided_activations and i == len(block.args) - 1:
                    # Move the stride of the block's last unit to after the collection.
                    block_stride = unit.get("stride", 1)
                    unit = dict(unit, stride=1)
                with variable_scope(f"unit_{i + 1}", values=[net]):
                    if output_stride is not None and current_stride == output_stride:
                        net = block.unit_fn(net, rate=rate, **dict(unit, stride=1))
                        rate *= unit.get("stride", 1)
                    else:
                        net = block.unit_fn(net, rate=1, **unit)
                        current_stride *= unit.get("stride", 1)
                        _check_stride(current_stride, output_stride)
            net = collect_named_outputs(outputs_collections, sc.name, net)
            if output_stride is not None and current_stride == output_stride:
                rate *= block_stride
            else:
                net = subsample(net, block_stride)
                current_stride *= block_stride
                _check_stride(current_stride, output_stride)
    if output_stride is not None and current_stride != output_stride:
        raise ValueError("The target output_stride cannot be reached.")
    return net


def resnet_arg_scope(weight_decay: float = 0.0001, batch_norm_decay: float = 0.997,
                     batch_norm_epsilon: float = 1e-5, batch_norm_scale: bool = True,
                     activation_fn=F.relu, use_batch_norm: bool = True,
                     batch_norm_updates_collections=GraphKeys.UPDATE_OPS):
    """TF-Slim's ResNet ``arg_scope``.

    ``conv2d`` gets an L2 ``weight_decay`` regularizer, He initialization
    (``variance_scaling_initializer()``), ``activation_fn`` and batch norm
    (decay, epsilon, scale=gamma) unless ``use_batch_norm`` is False;
    ``max_pool2d`` gets ``padding='SAME'`` (so ``pool1`` keeps the features
    aligned with the input corners).

    Args:
        weight_decay: the L2 regularization weight of conv weights.
        batch_norm_decay: the moving averages' decay.
        batch_norm_epsilon: added to the variance.
        batch_norm_scale: whether batch norm has a ``gamma``.
        activation_fn: the activation after each conv (and its batch norm).
        use_batch_norm: whether convs are batch-normalized.
        batch_norm_updates_collections: batch norm's ``updates_collections``.

    Returns:
        The ``arg_scope`` to enter (``with slim.arg_scope(resnet_arg_scope()):``).

    Example:
        >>> scope = resnet_arg_scope(weight_decay=0.0)
        >>> sorted(scope[slim.arg_scope_func_key(slim.batch_norm)].items())[:3]
        [('decay', 0.997), ('epsilon', 1e-05), ('fused', None)]
    """
    batch_norm_params = {
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "scale": batch_norm_scale,
        "updates_collections": batch_norm_updates_collections,
        "fused": None,
    }
    with arg_scope([conv2d], weights_regularizer=l2_regularizer(weight_decay),
                   weights_initializer=variance_scaling_initializer(),
                   activation_fn=activation_fn,
                   normalizer_fn=batch_norm if use_batch_norm else None,
                   normalizer_params=batch_norm_params):
        with arg_scope([batch_norm], **batch_norm_params):
            with arg_scope([max_pool2d], padding="SAME") as arg_sc:
                return arg_sc


def bottleneck_block(scope: str, unit_fn, base_depth: int, num_units: int, stride: int) -> Block:
    """A :class:`Block` of ``num_units`` bottleneck units of depth
    ``4 * base_depth``; ``stride`` sits in the last unit (research/slim's
    ``resnet_v*_block`` with the unit function as an argument)."""
    unit = {"depth": base_depth * 4, "depth_bottleneck": base_depth, "stride": 1}
    return Block(scope, unit_fn, [unit] * (num_units - 1) + [dict(unit, stride=stride)])


def standard_blocks(unit_fn, depth: int, depth_func=lambda d: d) -> list:
    """The four blocks of ResNet-``depth`` (50, 101, 152, 200) built from
    ``unit_fn``; ``depth_func`` maps the standard base depths (64 ... 512)."""
    if depth not in STANDARD_UNITS:
        raise ValueError(f"no standard ResNet of depth {depth}; expected one of "
                         f"{sorted(STANDARD_UNITS)}")
    strides = (2, 2, 2, 1)
    return [bottleneck_block(f"block{i + 1}", unit_fn, depth_func(base), units, stride)
            for i, (base, units, stride) in enumerate(
                zip(STANDARD_BASE_DEPTHS, STANDARD_UNITS[depth], strides))]


def resnet(inputs: torch.Tensor, blocks, unit_fn, *, num_classes, is_training, global_pool,
           output_stride, include_root_block, spatial_squeeze, store_non_strided_activations,
           reuse, scope, default_scope: str, preactivation: bool):
    """The ResNet generator v1 and v2 share (see ``resnet_v1.resnet_v1``).

    ``unit_fn`` is the version's (arg-scoped) unit, so its outputs are
    collected. With ``preactivation`` (v2) the root conv has no batch norm or
    activation and a ``postnorm`` batch norm + ReLU follows the blocks.
    """
    with variable_scope(scope, default_scope, [inputs], reuse=reuse) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        # is_training=None leaves batch norm to an outer arg_scope or the
        # module's train()/eval() mode.
        training_scope = (arg_scope([batch_norm], is_training=is_training)
                          if is_training is not None else contextlib.nullcontext())
        with arg_scope([conv2d, unit_fn, stack_blocks_dense],
                       outputs_collections=end_points_collection), training_scope:
            net = inputs
            if include_root_block:
                if output_stride is not None:
                    if output_stride % 4 != 0:
                        raise ValueError("The output_stride needs to be a multiple of 4.")
                    output_stride //= 4
                # v2's first unit normalizes and activates its input itself.
                plain = arg_scope([conv2d], activation_fn=None, normalizer_fn=None) \
                    if preactivation else contextlib.nullcontext()
                with plain:
                    net = conv2d_same(net, 64, 7, stride=2, scope="conv1")
                net = max_pool2d(net, [3, 3], stride=2, scope="pool1")
            net = stack_blocks_dense(net, blocks, output_stride, store_non_strided_activations)
            if preactivation:
                # v2's units end with an addition: normalize and activate the sum.
                net = batch_norm(net, activation_fn=F.relu, scope="postnorm")
            end_points = convert_collection_to_dict(end_points_collection)
            if global_pool:
                net = spatial_mean(net)
                end_points["global_pool"] = net
            if num_classes:
                net = conv2d(net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None,
                             scope="logits")
                end_points[sc.name + "/logits"] = net
                if spatial_squeeze:
                    net = squeeze_spatial(net, sc.name + "/SpatialSqueeze")
                    end_points[sc.name + "/spatial_squeeze"] = net
                end_points["predictions"] = softmax(net, scope="predictions")
    return net, end_points
