"""MobileNet v1 (Howard et al., 2017, https://arxiv.org/abs/1704.04861).

Follows research/slim's ``nets/mobilenet_v1.py``: the same scope
(``MobilenetV1``), variable names (``Conv2d_0/weights``,
``Conv2d_1_depthwise/depthwise_weights``, ``Conv2d_1_pointwise/BatchNorm/...``,
``Logits/Conv2d_1c_1x1/...``), ``end_points`` keys, options and defaults, so
TF-Slim checkpoints load as they are. A depthwise layer is
``separable_conv2d(net, None, k, depth_multiplier=1)``; a pointwise layer a
1x1 ``conv2d``.

slimtorch differences:

* Tensors are NCHW; ``end_points`` values too (``Logits`` is ``[N, C]``).
* ``is_training`` defaults to None: batch norm and dropout follow the
  module's ``train()``/``eval()`` mode (a fresh module trains, like TF's
  default True); an explicit True/False wins, as in TF.
* A ``final_endpoint`` that does not exist raises before anything is built
  (TF built the whole net first).

    >>> with slim.arg_scope(mobilenet_v1_arg_scope()):
    ...     net = slim.Model(mobilenet_v1_025, num_classes=10).build((1, 3, 224, 224),
    ...                                                           device='meta')
    >>> len(slim.get_variables()), slim.get_variables()[0].name
    (137, 'MobilenetV1/Conv2d_0/weights')
"""

from __future__ import annotations

from collections import namedtuple

import torch
import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..graph import GraphKeys
from ..layers import avg_pool2d, batch_norm, conv2d, dropout, separable_conv2d, softmax
from ..scopes import variable_scope
from ._utils import reduced_kernel_size_for_small_input, spatial_mean, squeeze_spatial
from .mobilenet_blocks import fixed_padding, wrapped_partial

__all__ = ["Conv", "DepthSepConv", "MOBILENETV1_CONV_DEFS", "mobilenet_v1_base", "mobilenet_v1",
           "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025", "mobilenet_v1_arg_scope"]

# A full convolution, and a depthwise 3x3 followed by a pointwise 1x1 one;
# ``depth`` is the number of output channels before the depth multiplier.
Conv = namedtuple("Conv", ["kernel", "stride", "depth"])
DepthSepConv = namedtuple("DepthSepConv", ["kernel", "stride", "depth"])

# The body of the paper's Table 1 (input 224 -> 7x7x1024).
MOBILENETV1_CONV_DEFS = [
    Conv(kernel=[3, 3], stride=2, depth=32),
    DepthSepConv(kernel=[3, 3], stride=1, depth=64),
    DepthSepConv(kernel=[3, 3], stride=2, depth=128),
    DepthSepConv(kernel=[3, 3], stride=1, depth=128),
    DepthSepConv(kernel=[3, 3], stride=2, depth=256),
    DepthSepConv(kernel=[3, 3], stride=1, depth=256),
    DepthSepConv(kernel=[3, 3], stride=2, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=1, depth=512),
    DepthSepConv(kernel=[3, 3], stride=2, depth=1024),
    DepthSepConv(kernel=[3, 3], stride=1, depth=1024),
]


def _end_point_names(conv_defs) -> list:
    names = []
    for i, conv_def in enumerate(conv_defs):
        if isinstance(conv_def, Conv):
            names.append(f"Conv2d_{i}")
        elif isinstance(conv_def, DepthSepConv):
            names += [f"Conv2d_{i}_depthwise", f"Conv2d_{i}_pointwise"]
        else:
            raise ValueError(f"Unknown convolution type {type(conv_def).__name__} for layer {i}")
    return names


def mobilenet_v1_base(inputs: torch.Tensor, final_endpoint: str = "Conv2d_13_pointwise",
                      min_depth: int = 8, depth_multiplier: float = 1.0, conv_defs=None,
                      output_stride=None, use_explicit_padding: bool = False, scope=None):
    """MobileNet v1 from the inputs up to ``final_endpoint``.

    Args:
        inputs: ``[N, 3, H, W]``.
        final_endpoint: the last layer to build: ``'Conv2d_0'`` or
            ``'Conv2d_{i}_depthwise'``/``'Conv2d_{i}_pointwise'`` (i = 1..13).
        min_depth: the fewest channels of any layer (binds when
            ``depth_multiplier < 1``).
        depth_multiplier: scales every layer's channels:
            ``max(int(depth * depth_multiplier), min_depth)``.
        conv_defs: a list of :data:`Conv`/:data:`DepthSepConv`; None means
            :data:`MOBILENETV1_CONV_DEFS`.
        output_stride: None, 8, 16 or 32; below 32, later depthwise layers
            run with stride 1 and a dilation rate instead (atrous).
        use_explicit_padding: pad symmetrically by hand, then convolve
            ``'VALID'`` (the same output size as ``'SAME'``).
        scope: variable scope (default ``MobilenetV1``).

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` activation and an
        ordered dict of every layer's output up to it.

    Raises:
        ValueError: unknown ``final_endpoint`` or conv def, ``depth_multiplier
            <= 0``, or an ``output_stride`` not in 8, 16, 32.

    Example:
        >>> net, end_points = mobilenet_v1_base(torch.zeros(1, 3, 64, 64),
        ...                                     final_endpoint='Conv2d_3_pointwise',
        ...                                     depth_multiplier=0.25)
        >>> net.shape, list(end_points)[-2:]
        (torch.Size([1, 32, 16, 16]), ['Conv2d_3_depthwise', 'Conv2d_3_pointwise'])
    """
    if depth_multiplier <= 0:
        raise ValueError("depth_multiplier is not greater than zero.")
    if conv_defs is None:
        conv_defs = MOBILENETV1_CONV_DEFS
    if output_stride is not None and output_stride not in [8, 16, 32]:
        raise ValueError("Only allowed output_stride values are 8, 16, 32.")
    if final_endpoint not in _end_point_names(conv_defs):
        raise ValueError(f"Unknown final endpoint {final_endpoint}")

    def depth(d):
        return max(int(d * depth_multiplier), min_depth)

    end_points = {}
    padding = "VALID" if use_explicit_padding else "SAME"
    with variable_scope(scope, "MobilenetV1", [inputs]):
        with arg_scope([conv2d, separable_conv2d], padding=padding):
            # current_stride is the running product of strides; once it
            # reaches output_stride, later layers dilate instead of striding.
            current_stride, rate = 1, 1
            net = inputs
            for i, conv_def in enumerate(conv_defs):
                if output_stride is not None and current_stride == output_stride:
                    layer_stride, layer_rate = 1, rate
                    rate *= conv_def.stride
                else:
                    layer_stride, layer_rate = conv_def.stride, 1
                    current_stride *= conv_def.stride

                if isinstance(conv_def, Conv):
                    end_point = f"Conv2d_{i}"
                    if use_explicit_padding:
                        net = fixed_padding(net, conv_def.kernel)
                    # TF uses conv_def.stride here, not layer_stride: a full
                    # conv keeps its stride even past output_stride.
                    net = conv2d(net, depth(conv_def.depth), conv_def.kernel,
                                 stride=conv_def.stride, scope=end_point)
                    end_points[end_point] = net
                    if end_point == final_endpoint:
                        return net, end_points
                    continue

                end_point = f"Conv2d_{i}_depthwise"
                if use_explicit_padding:
                    net = fixed_padding(net, conv_def.kernel, layer_rate)
                net = separable_conv2d(net, None, conv_def.kernel, depth_multiplier=1,
                                       stride=layer_stride, rate=layer_rate, scope=end_point)
                end_points[end_point] = net
                if end_point == final_endpoint:
                    return net, end_points

                end_point = f"Conv2d_{i}_pointwise"
                net = conv2d(net, depth(conv_def.depth), [1, 1], stride=1, scope=end_point)
                end_points[end_point] = net
                if end_point == final_endpoint:
                    return net, end_points
    raise AssertionError("unreachable: final_endpoint was checked")  # pragma: no cover


def mobilenet_v1(inputs: torch.Tensor, num_classes=1000, dropout_keep_prob: float = 0.999,
                 is_training=None, min_depth: int = 8, depth_multiplier: float = 1.0,
                 conv_defs=None, prediction_fn=softmax, spatial_squeeze: bool = True,
                 reuse=None, scope: str = "MobilenetV1", global_pool: bool = False):
    """MobileNet v1 for classification.

    Args:
        inputs: ``[N, 3, H, W]`` (224x224 for the released checkpoints).
        num_classes: number of classes; 0 or None skips dropout and logits and
            returns the pooled features ``[N, C, 1, 1]`` instead.
        dropout_keep_prob: keep probability of the dropout before the logits.
        is_training: None follows ``train()``/``eval()``; True/False forces
            batch norm and dropout into training/inference mode.
        min_depth, depth_multiplier, conv_defs: see :func:`mobilenet_v1_base`.
        prediction_fn: applied to the logits for ``end_points['Predictions']``
            (None skips it).
        spatial_squeeze: logits ``[N, C]``; False keeps ``[N, C, 1, 1]``.
        reuse: share the variables of an earlier call (needs ``scope``).
        scope: variable scope.
        global_pool: average over the whole map (any input size gives 1x1)
            instead of a fixed 7x7 window (``AvgPool_1a``).

    Returns:
        ``(logits, end_points)``; ``end_points`` has the base's layers, then
        ``AvgPool_1a`` (or ``global_pool``), ``Logits`` and ``Predictions``.

    Raises:
        ValueError: the input is not 4-D.

    Example:
        >>> logits, end_points = mobilenet_v1(torch.zeros(2, 3, 64, 64), num_classes=5,
        ...                                   depth_multiplier=0.25, global_pool=True)
        >>> logits.shape, list(end_points)[-3:]
        (torch.Size([2, 5]), ['global_pool', 'Logits', 'Predictions'])
    """
    if inputs.dim() != 4:
        raise ValueError(f"Invalid input tensor rank, expected 4, was: {inputs.dim()}")

    with variable_scope(scope, "MobilenetV1", [inputs], reuse=reuse) as sc:
        with arg_scope([batch_norm, dropout], is_training=is_training):
            net, end_points = mobilenet_v1_base(inputs, scope=sc, min_depth=min_depth,
                                                depth_multiplier=depth_multiplier,
                                                conv_defs=conv_defs)
            with variable_scope("Logits"):
                if global_pool:
                    net = spatial_mean(net)
                    end_points["global_pool"] = net
                else:
                    # A fixed window: 224 inputs pool to 1x1, larger ones to more.
                    kernel_size = reduced_kernel_size_for_small_input(net, [7, 7])
                    net = avg_pool2d(net, kernel_size, padding="VALID", scope="AvgPool_1a")
                    end_points["AvgPool_1a"] = net
                if not num_classes:
                    return net, end_points
                net = dropout(net, keep_prob=dropout_keep_prob, scope="Dropout_1b")
                logits = conv2d(net, num_classes, [1, 1], activation_fn=None,
                                normalizer_fn=None, scope="Conv2d_1c_1x1")
                if spatial_squeeze:
                    logits = squeeze_spatial(logits, f"{sc.name}/Logits/SpatialSqueeze")
            end_points["Logits"] = logits
            if prediction_fn:
                end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


mobilenet_v1.default_image_size = 224
mobilenet_v1.input_channels = 3
mobilenet_v1.min_image_size = 1   # SAME everywhere; the final pool shrinks to fit


mobilenet_v1_075 = wrapped_partial(mobilenet_v1, depth_multiplier=0.75)
mobilenet_v1_050 = wrapped_partial(mobilenet_v1, depth_multiplier=0.50)
mobilenet_v1_025 = wrapped_partial(mobilenet_v1, depth_multiplier=0.25)


def mobilenet_v1_arg_scope(is_training=True, weight_decay: float = 0.00004, stddev: float = 0.09,
                           regularize_depthwise: bool = False, batch_norm_decay: float = 0.9997,
                           batch_norm_epsilon: float = 0.001,
                           batch_norm_updates_collections=GraphKeys.UPDATE_OPS,
                           normalizer_fn=batch_norm):
    """MobileNet v1's defaults: truncated-normal weights, ReLU6, batch norm
    (with gamma) after every convolution, L2 decay on the full and pointwise
    kernels (on depthwise ones only if ``regularize_depthwise``).

    Args:
        is_training: batch norm's ``is_training`` (None leaves it unset).
            :func:`mobilenet_v1` sets its own ``is_training`` inside, which
            wins over this one, as in TF.
        weight_decay: L2 weight decay.
        stddev: standard deviation of the truncated-normal initializer.
        regularize_depthwise: also decay the depthwise kernels.
        batch_norm_decay, batch_norm_epsilon, batch_norm_updates_collections:
            batch norm's ``decay``, ``epsilon`` and ``updates_collections``.
        normalizer_fn: the normalizer after each convolution.

    Returns:
        The scope, to re-enter with ``slim.arg_scope(...)``.

    Example:
        >>> with slim.arg_scope(mobilenet_v1_arg_scope()):
        ...     scoped = slim.current_arg_scope()
        >>> scoped[slim.arg_scope_func_key(slim.batch_norm)]['decay']
        0.9997
    """
    batch_norm_params = {
        "center": True,
        "scale": True,
        "decay": batch_norm_decay,
        "epsilon": batch_norm_epsilon,
        "updates_collections": batch_norm_updates_collections,
    }
    if is_training is not None:
        batch_norm_params["is_training"] = is_training
    regularizer = regularizers.l2_regularizer(weight_decay)
    depthwise_regularizer = regularizer if regularize_depthwise else None
    with arg_scope([conv2d, separable_conv2d],
                   weights_initializer=initializers.truncated_normal_initializer(stddev=stddev),
                   activation_fn=F.relu6, normalizer_fn=normalizer_fn):
        with arg_scope([batch_norm], **batch_norm_params):
            with arg_scope([conv2d], weights_regularizer=regularizer):
                with arg_scope([separable_conv2d],
                               weights_regularizer=depthwise_regularizer) as sc:
                    return sc
