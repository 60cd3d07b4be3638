"""S3D-G (gated separable 3-D Inception), as research/slim's ``nets/s3dg.py``.

Xie, Sun, Huang, Tu and Murphy, "Rethinking Spatiotemporal Feature Learning
For Video Understanding", https://arxiv.org/abs/1712.04851. The same scopes
and variable names as research/slim (``InceptionV1/Mixed_3b/Branch_1/
Conv2d_0b_3x3/temporal/weights``, ``.../self_gating/transformer_W/weights``,
named after Inception V1 so an image checkpoint can be inflated), ``end_points``
keys, options and defaults, so its checkpoints load as they are; with the same
weights the outputs match TF-Slim's. :func:`s3dg_base` also builds I3D
(:mod:`slimtorch.nets.i3d`).

slimtorch differences:

* Videos are ``[N, C, T, H, W]`` (``data_format=None``/``'NCDHW'``); TF-Slim's
  default is ``'NDHWC'``, which ``data_format='NDHWC'`` still takes. Logits
  are ``[N, num_classes]`` (``[N, num_classes, 1, 1]`` with
  ``spatial_squeeze=False``; ``[N, 1, 1, num_classes]`` for ``'NDHWC'``).
* ``is_training=None`` (the default) makes batch norm and dropout follow the
  module's ``train()``/``eval()`` mode; TF-Slim's default is ``True``.
* ``num_classes=0`` or None returns the input of the logits layer (the
  pooled ``[N, 1024, T', 1, 1]`` features, before dropout), as the factory's
  other nets do; research/slim would build a 0-channel convolution.
* Self-gating averages over the whole clip; research/slim pools with a
  ``[T, W, H]`` kernel (width and height swapped), which fails on inputs that
  are not square. Both agree on square inputs.
* An unknown ``final_endpoint`` raises research/slim's ``ValueError`` before
  anything is built.

    >>> with slim.Graph(), slim.arg_scope(s3dg_arg_scope()):
    ...     net = slim.Model(s3dg, num_classes=10).build((1, 3, 8, 64, 64), device='meta')
    ...     [n for n in net.tf_shapes() if 'Mixed_5c/Branch_1' in n][:3]
    ['InceptionV1/Mixed_5c/Branch_1/Conv2d_0a_1x1/weights',
     'InceptionV1/Mixed_5c/Branch_1/Conv2d_0a_1x1/BatchNorm/beta',
     'InceptionV1/Mixed_5c/Branch_1/Conv2d_0a_1x1/BatchNorm/moving_mean']
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..arg_scope import arg_scope
from ..layers import avg_pool3d, batch_norm, conv3d, dropout, max_pool3d, softmax
from ..scopes import variable_scope
from ._inception_blocks import Layer, check_final_endpoint, depth_fn, run_stages, trunc_normal
from .i3d_utils import (channel_axis_3d, conv3d_spatiotemporal, inception_block_v1_3d,
                        reduced_kernel_size_3d, video_arg_scope)

__all__ = ["s3dg", "s3dg_arg_scope", "s3dg_base", "self_gating"]

#: ``(end point, block channels or (pool kernel, stride))`` after ``MaxPool_3a_3x3``;
#: the channels are ``inception_block_v1_3d``'s six ``num_outputs``.
_BLOCKS = (
    ("Mixed_3b", (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", (128, 128, 192, 32, 96, 64)),
    ("MaxPool_4a_3x3", ([3, 3, 3], [2, 2, 2])),
    ("Mixed_4b", (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", (256, 160, 320, 32, 128, 128)),
    ("MaxPool_5a_2x2", ([2, 2, 2], [2, 2, 2])),
    ("Mixed_5b", (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", (384, 192, 384, 48, 128, 128)),
)


def s3dg_arg_scope(weight_decay: float = 1e-7, batch_norm_decay: float = 0.999,
                   batch_norm_epsilon: float = 0.001) -> dict:
    """research/slim's S3D-G arg_scope: 3-D convolutions with L2 decay, relu
    and (unfused) batch norm whose moving statistics go to ``'moving_vars'``;
    separable spatiotemporal convolutions.

        >>> sc = s3dg_arg_scope()
        >>> sc[slim.arg_scope_func_key(conv3d_spatiotemporal)]['separable']
        True
    """
    return video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon, separable=True)


def self_gating(input_tensor: torch.Tensor, scope: str,
                data_format: Optional[str] = None) -> torch.Tensor:
    """S3D-G's feature gating: ``x * sigmoid(W mean(x))``, the mean over all
    frames and positions, ``W`` a 1x1x1 convolution without bias (variable
    ``<scope>/self_gating/transformer_W/weights``).

    Args:
        input_tensor: ``[N, C, T, H, W]`` (``'NDHWC'``: ``[N, T, H, W, C]``).
        scope: the gated layer's scope.
        data_format: None/``'NCDHW'`` or ``'NDHWC'``.

    Returns:
        A tensor of ``input_tensor``'s shape.

    Example:
        >>> with slim.Graph():
        ...     y = self_gating(torch.ones(1, 4, 2, 3, 3), scope='Conv2d_2c_3x3')
        ...     y.shape, [v.name for v in slim.get_model_variables()]
        (torch.Size([1, 4, 2, 3, 3]), ['Conv2d_2c_3x3/self_gating/transformer_W/weights'])
    """
    axis = channel_axis_3d(data_format)
    spatiotemporal = [d for d in range(1, 5) if d != axis]
    average = input_tensor.mean(spatiotemporal, keepdim=True)
    weights = conv3d(average, input_tensor.shape[axis], [1, 1, 1], activation_fn=None,
                     normalizer_fn=None, biases_initializer=None, data_format=data_format,
                     weights_initializer=trunc_normal(0.01),
                     scope=scope + "/self_gating/transformer_W")
    return torch.sigmoid(weights) * input_tensor


class _Gated:
    """A stage whose output is self-gated under the same scope (``Conv2d_2c_3x3``)."""

    def __init__(self, layer: Layer, data_format: Optional[str]) -> None:
        self.layer = layer
        self.name = layer.name
        self.data_format = data_format

    def __call__(self, net: torch.Tensor) -> torch.Tensor:
        return self_gating(self.layer(net), scope=self.name, data_format=self.data_format)


def _stages(first_temporal_kernel_size: int, temporal_conv_startat: Optional[str],
            gating_startat: Optional[str], depth: Callable[[int], int],
            data_format: Optional[str]) -> list:
    """research/slim's layers in order. From ``temporal_conv_startat`` on the
    3x3 convolutions get a temporal size of 3; from ``gating_startat`` on
    they are gated (names that never come turn neither on)."""
    temporal, gating = 1, None

    def gate(net, scope):
        return self_gating(net, scope, data_format=data_format)

    def switch(name):
        nonlocal temporal, gating
        temporal = 3 if name == temporal_conv_startat else temporal
        gating = gate if name == gating_startat else gating

    stages = [
        # Separable convolutions are slow this early: research/slim forces a full one.
        Layer("Conv2d_1a_7x7", conv3d_spatiotemporal, depth(64),
              [first_temporal_kernel_size, 7, 7], stride=2, separable=False),
        Layer("MaxPool_2a_3x3", max_pool3d, [1, 3, 3], stride=[1, 2, 2]),
        Layer("Conv2d_2b_1x1", conv3d, depth(64), [1, 1, 1]),
    ]
    switch("Conv2d_2c_3x3")
    conv_2c = Layer("Conv2d_2c_3x3", conv3d_spatiotemporal, depth(192), [temporal, 3, 3])
    stages.append(_Gated(conv_2c, data_format) if gating else conv_2c)
    stages.append(Layer("MaxPool_3a_3x3", max_pool3d, [1, 3, 3], stride=[1, 2, 2]))
    for name, spec in _BLOCKS:
        if name.startswith("MaxPool"):
            stages.append(Layer(name, max_pool3d, spec[0], stride=spec[1]))
            continue
        switch(name)
        stages.append(Layer(name, inception_block_v1_3d, *map(depth, spec),
                            temporal_kernel_size=temporal, self_gating_fn=gating,
                            data_format=data_format))
    return stages


def s3dg_base(inputs: torch.Tensor, first_temporal_kernel_size: int = 3,
              temporal_conv_startat: Optional[str] = "Conv2d_2c_3x3",
              gating_startat: Optional[str] = "Conv2d_2c_3x3", final_endpoint: str = "Mixed_5c",
              min_depth: int = 16, depth_multiplier: float = 1.0,
              data_format: Optional[str] = None, scope="InceptionV1"):
    """The I3D/S3D-G layers from the input up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, T, H, W]`` videos (``'NDHWC'``: ``[N, T, H, W, C]``).
        first_temporal_kernel_size: the temporal size of ``Conv2d_1a_7x7``,
            one of 1, 3, 5, 7 (I3D: 7).
        temporal_conv_startat: the first stage whose 3x3 convolutions are
            3-D (``[3, 3, 3]``, separable under :func:`s3dg_arg_scope`):
            ``'Conv2d_2c_3x3'`` or a ``Mixed_*`` block; another name (or None)
            keeps them all 2-D (``[1, 3, 3]``).
        gating_startat: the first stage that is self-gated, as above (None:
            no gating, as in I3D).
        final_endpoint: the last stage to build: one of ``Conv2d_1a_7x7,
            MaxPool_2a_3x3, Conv2d_2b_1x1, Conv2d_2c_3x3, MaxPool_3a_3x3,
            Mixed_3b, Mixed_3c, MaxPool_4a_3x3, Mixed_4b .. Mixed_4f,
            MaxPool_5a_2x2, Mixed_5b, Mixed_5c``.
        min_depth: the fewest channels of any convolution.
        depth_multiplier: scales every convolution's channels.
        data_format: None/``'NCDHW'`` (channels first) or ``'NDHWC'``.
        scope: variable scope.

    Returns:
        ``(net, end_points)``: the ``final_endpoint`` output and a dict from
        stage name to output, in build order.

    Raises:
        ValueError: ``depth_multiplier <= 0``, a ``first_temporal_kernel_size``
            other than 1, 3, 5 or 7, an unknown ``final_endpoint`` or
            ``data_format``.

    Example:
        >>> with slim.Graph():
        ...     net, end_points = s3dg_base(torch.randn(1, 3, 8, 64, 64),
        ...                                 final_endpoint='MaxPool_3a_3x3')
        >>> net.shape, list(end_points)[-1]
        (torch.Size([1, 192, 4, 8, 8]), 'MaxPool_3a_3x3')
    """
    channel_axis_3d(data_format)
    depth = depth_fn(depth_multiplier, min_depth)
    if first_temporal_kernel_size not in (1, 3, 5, 7):
        raise ValueError("first_temporal_kernel_size can only be 1, 3, 5 or 7.")
    stages = _stages(first_temporal_kernel_size, temporal_conv_startat, gating_startat, depth,
                     data_format)
    check_final_endpoint(final_endpoint, stages)
    end_points = {}
    with variable_scope(scope, "InceptionV1", [inputs]):
        with arg_scope([conv3d], weights_initializer=trunc_normal(0.01)):
            with arg_scope([conv3d, max_pool3d, conv3d_spatiotemporal], stride=1,
                           data_format=data_format, padding="SAME"):
                net, _ = run_stages(inputs, stages, final_endpoint, end_points)
    return net, end_points


def _logits_head(net: torch.Tensor, end_points: dict, *, num_classes: Optional[int],
                   dropout_keep_prob: float, prediction_fn: Callable, spatial_squeeze: bool,
                   data_format: Optional[str] = None):
    """I3D's and S3D-G's head, in variable scope ``Logits``: a ``[2, 7, 7]``
    average pool (shrunk to the input, stride 1), dropout, a 1x1x1
    convolution to ``num_classes``, the mean over time and the spatial
    squeeze; end points ``Logits`` and ``Predictions``. With ``num_classes``
    0 or None, the pooled features instead (no end points added).
    """
    channels_last = channel_axis_3d(data_format) == 4
    with variable_scope("Logits"):
        kernel = reduced_kernel_size_3d(net, [2, 7, 7], data_format)
        net = avg_pool3d(net, kernel, stride=1, data_format=data_format, scope="AvgPool_0a_7x7")
        if not num_classes:
            return net, end_points
        net = dropout(net, dropout_keep_prob, scope="Dropout_0b")
        logits = conv3d(net, num_classes, [1, 1, 1], activation_fn=None, normalizer_fn=None,
                        data_format=data_format, scope="Conv2d_0c_1x1")
        logits = logits.mean(1 if channels_last else 2)   # over time
        if spatial_squeeze:
            spatial = (1, 2) if channels_last else (2, 3)
            if any(logits.shape[d] != 1 for d in spatial):
                raise ValueError(
                    f"Logits/SpatialSqueeze: cannot squeeze spatial dims of shape "
                    f"{list(logits.shape)}; expected a 1x1 map (use frames of at most "
                    "224x224, or spatial_squeeze=False)")
            logits = logits.flatten(1)
    end_points["Logits"] = logits
    end_points["Predictions"] = prediction_fn(logits, scope="Predictions")
    return logits, end_points


def s3dg(inputs: torch.Tensor, num_classes: Optional[int] = 1000,
         first_temporal_kernel_size: int = 3,
         temporal_conv_startat: Optional[str] = "Conv2d_2c_3x3",
         gating_startat: Optional[str] = "Conv2d_2c_3x3", final_endpoint: str = "Mixed_5c",
         min_depth: int = 16, depth_multiplier: float = 1.0, dropout_keep_prob: float = 0.8,
         is_training: Optional[bool] = None, prediction_fn: Callable = softmax,
         spatial_squeeze: bool = True, reuse=None, data_format: Optional[str] = None,
         scope="InceptionV1"):
    """S3D-G for video classification (default frame size 224x224).

    Args:
        inputs: ``[N, C, T, H, W]`` videos (``'NDHWC'``: ``[N, T, H, W, C]``);
            any ``T``, and ``H``, ``W`` up to 224 (with ``spatial_squeeze``).
        num_classes: number of classes; 0 or None omits the logits layer and
            returns the pooled features (before dropout).
        first_temporal_kernel_size, temporal_conv_startat, gating_startat,
            final_endpoint, min_depth, depth_multiplier: as :func:`s3dg_base`.
        dropout_keep_prob: the fraction of activations kept by dropout.
        is_training: for batch norm and dropout; None follows the module's
            ``train()``/``eval()`` mode.
        prediction_fn: maps logits to ``end_points['Predictions']``.
        spatial_squeeze: return logits ``[N, num_classes]`` instead of
            ``[N, num_classes, 1, 1]``.
        reuse: reuse the variables of ``scope``.
        data_format: None/``'NCDHW'`` or ``'NDHWC'``.
        scope: variable scope.

    Returns:
        ``(logits, end_points)``; the logits are averaged over time.

    Example:
        >>> with slim.Graph(), slim.arg_scope(s3dg_arg_scope()):
        ...     net = slim.Model(s3dg, num_classes=10).build((2, 3, 4, 32, 32), device='meta')
        ...     logits, end_points = net(torch.empty(2, 3, 4, 32, 32, device='meta'))
        ...     logits.shape, end_points['Mixed_5c'].shape
        (torch.Size([2, 10]), torch.Size([2, 1024, 1, 1, 1]))
    """
    with variable_scope(scope, "InceptionV1", [inputs], reuse=reuse) as sc:
        with arg_scope([batch_norm, dropout], is_training=is_training):
            net, end_points = s3dg_base(
                inputs, first_temporal_kernel_size=first_temporal_kernel_size,
                temporal_conv_startat=temporal_conv_startat, gating_startat=gating_startat,
                final_endpoint=final_endpoint, min_depth=min_depth,
                depth_multiplier=depth_multiplier, data_format=data_format, scope=sc)
            return _logits_head(net, end_points, num_classes=num_classes,
                                dropout_keep_prob=dropout_keep_prob,
                                prediction_fn=prediction_fn, spatial_squeeze=spatial_squeeze,
                                data_format=data_format)


s3dg.default_image_size = 224
s3dg.default_num_frames = 64   # research/slim's tests; any clip length works
s3dg.input_channels = 3
s3dg.min_image_size = 1        # every convolution and pool is 'SAME'
