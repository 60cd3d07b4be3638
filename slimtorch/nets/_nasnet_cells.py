"""NASNet-A and PNASNet cells, as research/slim's ``nets/nasnet/nasnet_utils.py``.

One cell class runs any of research/slim's searched cells: a list of ten
operations (``'separable_5x5_2'``, ``'max_pool_3x3'``, ``'none'``, ...) applied
pairwise to hidden states chosen by ``hiddenstate_indices``, summed, and the
unused states concatenated. The scopes (``comb_iter_0/left/separable_5x5_1``,
``beginning_bn``, ``cell_output/reduction_2/path1_conv``, ...) and the order
the variables are created in are research/slim's, so its checkpoints map one
to one. :mod:`slimtorch.nets.nasnet` and :mod:`slimtorch.nets.pnasnet` build
the nets from these cells.

Tensors are NCHW: research/slim's ``data_format`` hyperparameter only chose
the layout its graph ran in; here both values give the same NCHW net.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import add_arg_scope, arg_scope
from ..layers import (avg_pool2d, batch_norm, conv2d, dropout, flatten, fully_connected,
                      max_pool2d, separable_conv2d, softmax)
from ..scopes import current_frame, variable_scope
from ..variables import get_global_step

__all__ = ["NasNetConfig", "NasNetABaseCell", "NasNetANormalCell", "NasNetAReductionCell",
           "build_aux_head", "calc_reduction_layers", "drop_path", "factorized_reduction", "global_avg_pool",
           "final_layer", "imagenet_stem", "nasnet_arg_scope", "resolve_training",
           "wants_aux_head"]

CHANNELS = 1
#: research/slim's cap for ``clip_by_value`` with ``use_bounded_activation``.
CLIP_BY_VALUE_CAP = 6


@dataclasses.dataclass
class NasNetConfig:
    """research/slim's NASNet ``HParams`` (``cifar_config()`` and friends).

    ``set_hparam(name, value)`` works as on ``tf.contrib.training.HParams``,
    and so does plain attribute assignment.

        >>> config = NasNetConfig(num_cells=6, num_conv_filters=8)
        >>> config.set_hparam('use_aux_head', 0)
        >>> config.use_aux_head, config.num_cells
        (0, 6)
        >>> config.set_hparam('num_cell', 3)
        Traceback (most recent call last):
        ...
        ValueError: Unknown hyperparameter 'num_cell'; known: stem_multiplier, drop_path_keep_prob, ...
    """

    stem_multiplier: float = 1.0
    drop_path_keep_prob: float = 1.0
    num_cells: int = 12
    use_aux_head: int = 1
    num_conv_filters: int = 44
    dense_dropout_keep_prob: float = 0.5
    filter_scaling_rate: float = 2.0
    num_reduction_layers: int = 2
    data_format: str = "NHWC"
    skip_reduction_layer_input: int = 0
    total_training_steps: int = 250000
    use_bounded_activation: bool = False

    def set_hparam(self, name: str, value) -> None:
        names = [f.name for f in dataclasses.fields(self)]
        if name not in names:
            raise ValueError(f"Unknown hyperparameter {name!r}; known: {', '.join(names)}")
        setattr(self, name, value)

    def check(self) -> None:
        """Raises ValueError for a ``data_format`` research/slim does not know."""
        if self.data_format not in ("NHWC", "NCHW"):
            raise ValueError(f"Not a valid data_format {self.data_format!r}: 'NHWC' or 'NCHW' "
                             "(slimtorch runs NCHW either way)")


def nasnet_arg_scope(weight_decay: float, batch_norm_decay: float, batch_norm_epsilon: float):
    """The arg scope every NASNet/PNASNet shares: FAN_OUT variance-scaling,
    L2-regularized weights; no activations or conv biases; scaled batch norm;
    fully connected layers in scope ``FC``."""
    regularizer = regularizers.l2_regularizer(weight_decay)
    initializer = initializers.variance_scaling_initializer(mode="FAN_OUT")
    with arg_scope([fully_connected, conv2d, separable_conv2d],
                   weights_regularizer=regularizer, weights_initializer=initializer):
        with arg_scope([fully_connected], activation_fn=None, scope="FC"):
            with arg_scope([conv2d, separable_conv2d], activation_fn=None,
                           biases_initializer=None):
                with arg_scope([batch_norm], decay=batch_norm_decay, epsilon=batch_norm_epsilon,
                               scale=True, fused=True) as scope:
                    return scope


def calc_reduction_layers(num_cells: int, num_reduction_layers: int) -> list:
    """The cell numbers that get a reduction cell before them.

        >>> calc_reduction_layers(18, 2), calc_reduction_layers(12, 2)
        ([6, 12], [4, 8])
    """
    return [int(float(pool) / (num_reduction_layers + 1) * num_cells)
            for pool in range(1, num_reduction_layers + 1)]


def global_avg_pool(net: torch.Tensor) -> torch.Tensor:
    """TF's ``reduce_mean(x, [1, 2])``: ``[N, C, H, W] -> [N, C]``."""
    return net.mean((2, 3))


def factorized_reduction(net: torch.Tensor, output_filters: int, stride: int) -> torch.Tensor:
    """Halves the map without dropping pixels: two strided 1x1 paths, the
    second shifted by one pixel, concatenated and batch-normalized.

        >>> with slim.Graph(), slim.arg_scope(nasnet_arg_scope(0.0, 0.9, 1e-3)):
        ...     out = factorized_reduction(torch.randn(1, 8, 6, 6), 6, stride=2)
        ...     [v.name for v in slim.get_model_variables()][:3]
        ['path1_conv/weights', 'path2_conv/weights', 'final_path_bn/gamma']
        >>> out.shape
        torch.Size([1, 6, 3, 3])
    """
    if stride == 1:
        net = conv2d(net, output_filters, 1, scope="path_conv")
        return batch_norm(net, scope="path_bn")
    # TF's 1x1 'VALID' average pool with a stride is a strided slice.
    path1 = conv2d(net[:, :, ::stride, ::stride], output_filters // 2, 1, scope="path1_conv")
    # Shift by one pixel: pad right/bottom with zeros, drop the first row/column.
    shifted = F.pad(net[:, :, 1:, 1:], (0, 1, 0, 1))
    path2 = conv2d(shifted[:, :, ::stride, ::stride], output_filters // 2 + output_filters % 2, 1,
                   scope="path2_conv")
    return batch_norm(torch.cat([path1, path2], CHANNELS), scope="final_path_bn")


@add_arg_scope
def drop_path(net: torch.Tensor, keep_prob, is_training: Optional[bool] = None) -> torch.Tensor:
    """Zeroes whole examples with probability ``1 - keep_prob`` and scales
    the rest by ``1 / keep_prob`` (training only; ``keep_prob`` may be a
    tensor). ``is_training=None`` follows the module's train/eval mode.

        >>> x = torch.ones(4, 2, 1, 1)
        >>> torch.equal(drop_path(x, 0.5, is_training=False), x)
        True
        >>> sorted(set(drop_path(x, 0.5, is_training=True).flatten().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    if not resolve_training(is_training):
        return net
    keep_prob = torch.as_tensor(keep_prob, dtype=net.dtype, device=net.device)
    noise = torch.rand([net.shape[0], 1, 1, 1], dtype=net.dtype, device=net.device)
    return net * (1.0 / keep_prob) * torch.floor(keep_prob + noise)


def resolve_training(is_training: Optional[bool]) -> bool:
    """``is_training`` as a bool, as the layers read it: None follows the
    module's train/eval mode; a build (``slim.Model.build``) is never training."""
    frame = current_frame()
    if frame.dry_run:
        return False
    return frame.training if is_training is None else bool(is_training)


def _relu(use_bounded_activation: bool):
    return F.relu6 if use_bounded_activation else F.relu


def _clip(net: torch.Tensor) -> torch.Tensor:
    return net.clamp(-CLIP_BY_VALUE_CAP, CLIP_BY_VALUE_CAP)


def _operation_info(operation: str) -> tuple:
    """``'separable_3x3_4' -> (4, 3)``: layers and (square) kernel size."""
    parts = operation.split("_")
    num_layers = 1 if "x" in parts[-1] else int(parts[-1])
    height, width = operation.split("x")[0][-1], operation.split("x")[1][0]
    if height != width:
        raise ValueError(f"Rectangular filters not supported: {operation!r}")
    return num_layers, int(height)


def _stacked_separable_conv(net, stride, operation, filter_size, use_bounded_activation):
    """``num_layers`` x (activation, separable conv, batch norm); only the first strides."""
    num_layers, kernel = _operation_info(operation)
    activation = _relu(use_bounded_activation)
    for layer in range(1, num_layers + 1):
        net = activation(net)
        net = separable_conv2d(net, filter_size, kernel, depth_multiplier=1, stride=stride,
                               scope=f"separable_{kernel}x{kernel}_{layer}")
        net = batch_norm(net, scope=f"bn_sep_{kernel}x{kernel}_{layer}")
        stride = 1
    return net


def _pooling(net, stride, operation, use_bounded_activation):
    """``'avg_pool_3x3'`` / ``'max_pool_3x3'``, 'SAME' padding."""
    kind, shape = operation.split("_")[0], operation.split("_")[-1]
    height, width = shape.split("x")
    if height != width:
        raise ValueError(f"Rectangular pools not supported: {operation!r}")
    if use_bounded_activation:
        net = F.relu6(net)
    if kind == "avg":
        return avg_pool2d(net, int(height), stride=stride, padding="SAME")
    if kind == "max":
        return max_pool2d(net, int(height), stride=stride, padding="SAME")
    raise NotImplementedError(f"Unimplemented pooling type: {kind!r}")


class NasNetABaseCell:
    """A searched cell (research/slim's ``NasNetABaseCell``), a 'layer' of NASNet.

    Args:
        num_conv_filters: filters of each operation, before ``filter_scaling``.
        operations: the ten operations, two per combination.
        used_hiddenstates: 1 for each hidden state consumed inside the cell;
            the others are concatenated into the output.
        hiddenstate_indices: which hidden states each operation reads.
        drop_path_keep_prob: drop-path keep probability at the end of
            training for the last cell (research/slim's schedule scales it by
            cell depth and by ``global_step / total_training_steps``).
        total_num_cells: cells in the net (for the depth scaling).
        total_training_steps: steps over which drop-path ramps up.
        use_bounded_activation: ReLU6 and clipping, for quantized inference.

    ``cell(net, scope, filter_scaling, stride, prev_layer, cell_num,
    current_step)`` runs it; ``current_step`` (a step count) defaults to the
    graph's global step (0 without one: no drop-path yet).
    """

    def __init__(self, num_conv_filters: int, operations: Sequence[str],
                 used_hiddenstates: Sequence[int], hiddenstate_indices: Sequence[int],
                 drop_path_keep_prob: float, total_num_cells: int, total_training_steps: int,
                 use_bounded_activation: bool = False) -> None:
        self._num_conv_filters = num_conv_filters
        self._operations = list(operations)
        self._used_hiddenstates = list(used_hiddenstates)
        self._hiddenstate_indices = list(hiddenstate_indices)
        self._drop_path_keep_prob = drop_path_keep_prob
        self._total_num_cells = total_num_cells
        self._total_training_steps = total_training_steps
        self._use_bounded_activation = use_bounded_activation

    def __call__(self, net, scope=None, filter_scaling=1, stride=1, prev_layer=None,
                 cell_num=-1, current_step=None):
        self._cell_num = cell_num
        self._filter_size = int(self._num_conv_filters * filter_scaling)
        with variable_scope(scope):
            states = self._cell_base(net, prev_layer)
            for i in range(5):
                with variable_scope(f"comb_iter_{i}"):
                    left, right = self._hiddenstate_indices[2 * i:2 * i + 2]
                    with variable_scope("left"):
                        h1 = self._apply_conv_operation(states[left], self._operations[2 * i],
                                                        stride, left < 2, current_step)
                    with variable_scope("right"):
                        h2 = self._apply_conv_operation(states[right],
                                                        self._operations[2 * i + 1],
                                                        stride, right < 2, current_step)
                    h = h1 + h2
                    states.append(F.relu6(h) if self._use_bounded_activation else h)
            with variable_scope("cell_output"):
                return self._combine_unused_states(states)

    def _reduce_prev_layer(self, prev_layer, curr_layer):
        """Matches ``prev_layer``'s size and channels to ``curr_layer``'s."""
        if prev_layer is None:
            return curr_layer
        activation = _relu(self._use_bounded_activation)
        if curr_layer.shape[3] != prev_layer.shape[3]:   # research/slim: NHWC dim 2, the width
            return factorized_reduction(activation(prev_layer), self._filter_size, stride=2)
        if self._filter_size != prev_layer.shape[CHANNELS]:
            prev_layer = conv2d(activation(prev_layer), self._filter_size, 1, scope="prev_1x1")
            return batch_norm(prev_layer, scope="prev_bn")
        return prev_layer

    def _cell_base(self, net, prev_layer) -> list:
        """The two input hidden states: ``net`` through a 1x1 conv, and
        ``prev_layer`` matched to it."""
        prev_layer = self._reduce_prev_layer(prev_layer, net)
        net = _relu(self._use_bounded_activation)(net)
        net = conv2d(net, self._filter_size, 1, scope="1x1")
        return [batch_norm(net, scope="beginning_bn"), prev_layer]

    def _apply_conv_operation(self, net, operation, stride, is_from_original_input,
                              current_step):
        if stride > 1 and not is_from_original_input:
            stride = 1
        input_filters, filter_size = net.shape[CHANNELS], self._filter_size
        bounded = self._use_bounded_activation
        if "separable" in operation:
            net = _stacked_separable_conv(net, stride, operation, filter_size, bounded)
            if bounded:
                net = _clip(net)
        elif operation == "none":
            if bounded:
                net = F.relu6(net)
            if stride > 1 or input_filters != filter_size:
                if not bounded:
                    net = F.relu(net)
                net = conv2d(net, filter_size, 1, stride=stride, scope="1x1")
                net = batch_norm(net, scope="bn_1")
                if bounded:
                    net = _clip(net)
        elif "pool" in operation:
            net = _pooling(net, stride, operation, bounded)
            if input_filters != filter_size:
                net = conv2d(net, filter_size, 1, stride=1, scope="1x1")
                net = batch_norm(net, scope="bn_1")
            if bounded:
                net = _clip(net)
        else:
            raise ValueError(f"Unimplemented operation {operation!r}")
        if operation != "none":
            net = self._apply_drop_path(net, current_step)
        return net

    def _combine_unused_states(self, states: list) -> torch.Tensor:
        """Concatenates the unused states, factorized-reduced to the last one's size."""
        # research/slim compares NHWC dim 2: the width.
        final_width, final_filters = states[-1].shape[3], states[-1].shape[CHANNELS]
        for idx, used in enumerate(self._used_hiddenstates):
            width, filters = states[idx].shape[3], states[idx].shape[CHANNELS]
            if not used and (final_filters != filters or final_width != width):
                with variable_scope(f"reduction_{idx}"):
                    states[idx] = factorized_reduction(states[idx], final_filters,
                                                       2 if final_width != width else 1)
        return torch.cat([h for h, used in zip(states, self._used_hiddenstates) if not used],
                         CHANNELS)

    def _apply_drop_path(self, net, current_step=None):
        """research/slim's schedule ('v3'): the keep probability falls with
        cell depth and with ``current_step / total_training_steps``."""
        keep_prob = self._drop_path_keep_prob
        if keep_prob >= 1.0:   # always in eval mode: the nets set it to 1.0 there
            return net
        layer_ratio = (self._cell_num + 1) / float(self._total_num_cells)
        keep_prob = 1 - layer_ratio * (1 - keep_prob)
        if current_step is None:
            step = get_global_step()
            current_step = 0 if step is None else step
        step = torch.as_tensor(current_step, device=net.device).to(torch.float32)
        current_ratio = torch.clamp(step / self._total_training_steps, max=1.0)
        return drop_path(net, 1 - current_ratio * (1 - keep_prob), is_training=True)


class NasNetANormalCell(NasNetABaseCell):
    """NASNet-A's normal cell."""

    def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
                 total_training_steps, use_bounded_activation=False) -> None:
        super().__init__(
            num_conv_filters,
            ["separable_5x5_2", "separable_3x3_2", "separable_5x5_2", "separable_3x3_2",
             "avg_pool_3x3", "none", "avg_pool_3x3", "avg_pool_3x3", "separable_3x3_2", "none"],
            [1, 0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 0, 1, 1, 1, 0, 0],
            drop_path_keep_prob, total_num_cells, total_training_steps, use_bounded_activation)


class NasNetAReductionCell(NasNetABaseCell):
    """NASNet-A's reduction cell (stride 2)."""

    def __init__(self, num_conv_filters, drop_path_keep_prob, total_num_cells,
                 total_training_steps, use_bounded_activation=False) -> None:
        super().__init__(
            num_conv_filters,
            ["separable_5x5_2", "separable_7x7_2", "max_pool_3x3", "separable_7x7_2",
             "avg_pool_3x3", "separable_5x5_2", "none", "avg_pool_3x3", "separable_3x3_2",
             "max_pool_3x3"],
            [1, 1, 1, 0, 0, 0, 0], [0, 1, 0, 1, 0, 1, 3, 2, 2, 0],
            drop_path_keep_prob, total_num_cells, total_training_steps, use_bounded_activation)


# -- the parts of the net around the cells, shared by NASNet and PNASNet -----------------

def imagenet_stem(inputs, hparams: NasNetConfig, stem_cell, current_step=None):
    """A strided 3x3 conv (``conv0``) and two stride-2 cells (``cell_stem_0/1``)."""
    net = conv2d(inputs, int(32 * hparams.stem_multiplier), [3, 3], stride=2, padding="VALID",
                 scope="conv0")
    net = batch_norm(net, scope="conv0_bn")
    cell_outputs = [None, net]
    filter_scaling = 1.0 / hparams.filter_scaling_rate ** 2
    for cell_num in range(2):
        net = stem_cell(net, scope=f"cell_stem_{cell_num}", filter_scaling=filter_scaling,
                        stride=2, prev_layer=cell_outputs[-2], cell_num=cell_num,
                        current_step=current_step)
        cell_outputs.append(net)
        filter_scaling *= hparams.filter_scaling_rate
    return net, cell_outputs


def wants_aux_head(hparams: NasNetConfig, num_classes, is_training, cell_num: int) -> bool:
    """research/slim builds the auxiliary head only in training graphs, so an
    eval-mode net has none of its variables (as TF's eval graph). Here it is
    built when the net is built in training mode, and run whenever the net
    is in training mode and has it."""
    if not (hparams.use_aux_head and num_classes):
        return False
    frame = current_frame()
    training = frame.training if is_training is None else bool(is_training)
    if not training:
        return False
    if frame.building:
        return True
    node = frame.top.node
    return node is not None and f"aux_{cell_num}" in dict(node.named_children())


def build_aux_head(net, end_points: dict, num_classes: int, hparams: NasNetConfig,
                   scope: str) -> None:
    """``end_points['AuxLogits']`` from ``net`` (already activated)."""
    activation = _relu(hparams.use_bounded_activation)
    with variable_scope(scope), variable_scope("aux_logits"):
        aux = avg_pool2d(net, [5, 5], stride=3, padding="VALID")
        aux = conv2d(aux, 128, [1, 1], scope="proj")
        aux = activation(batch_norm(aux, scope="aux_bn0"))
        aux = conv2d(aux, 768, list(aux.shape[2:]), padding="VALID")
        aux = activation(batch_norm(aux, scope="aux_bn1"))
        end_points["AuxLogits"] = fully_connected(flatten(aux), num_classes)


def final_layer(net, end_points: dict, num_classes, hparams: NasNetConfig, final_endpoint):
    """Activation, global pool, dropout and the ``FC`` logits, in scope ``final_layer``.

    Returns ``(output, done)``; research/slim returns the pooled features as
    the output when ``final_endpoint`` is ``'Logits'`` or ``'Predictions'``
    (a trap): here the output is the logits then.
    """
    with variable_scope("final_layer"):
        net = _relu(hparams.use_bounded_activation)(net)
        net = end_points["global_pool"] = global_avg_pool(net)
        if final_endpoint == "global_pool" or not num_classes:
            return net
        net = dropout(net, hparams.dense_dropout_keep_prob, scope="dropout")
        logits = end_points["Logits"] = fully_connected(net, num_classes)
        if final_endpoint == "Logits":
            return logits
        end_points["Predictions"] = softmax(logits, scope="predictions")
    return logits
