"""I3D (Inflated 3-D Inception V1), as research/slim's ``nets/i3d.py``.

Carreira and Zisserman, "Quo Vadis, Action Recognition? A New Model and the
Kinetics Dataset", https://arxiv.org/abs/1705.07750. research/slim builds it
as S3D-G's base with a 7-frame first convolution, full (not separable) 3-D
convolutions from ``Conv2d_2c_3x3`` on and no gating; so does this module
(:func:`slimtorch.nets.s3dg.s3dg_base`). Same scopes and variable names
(``InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights``, Inception V1's, so an
image checkpoint can be inflated), ``end_points`` keys, options and defaults
as research/slim, so its checkpoints load as they are; with the same weights
the outputs match TF-Slim's.

slimtorch differences (as :mod:`slimtorch.nets.s3dg`):

* Videos are ``[N, C, T, H, W]``, not TF's ``[N, T, H, W, C]``; logits are
  ``[N, num_classes]`` (``[N, num_classes, 1, 1]`` with
  ``spatial_squeeze=False``).
* ``is_training=None`` (the default) follows the module's ``train()``/``eval()``.
* ``num_classes=0`` or None returns the pooled ``[N, 1024, T', 1, 1]`` features.

    >>> with slim.Graph(), slim.arg_scope(i3d_arg_scope()):
    ...     net = slim.Model(i3d, num_classes=10).build((1, 3, 8, 64, 64), device='meta')
    ...     shapes = net.tf_shapes()
    ...     len(shapes), shapes['InceptionV1/Conv2d_1a_7x7/weights']
    (230, [7, 7, 7, 3, 64])
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..layers import softmax
from .i3d_utils import video_arg_scope
from .s3dg import s3dg, s3dg_base

__all__ = ["i3d", "i3d_arg_scope", "i3d_base"]

#: What makes S3D-G's base I3D (research/slim's ``i3d_base``).
_I3D = dict(first_temporal_kernel_size=7, temporal_conv_startat="Conv2d_2c_3x3",
            gating_startat=None, min_depth=16, depth_multiplier=1.0)


def i3d_arg_scope(weight_decay: float = 1e-7, batch_norm_decay: float = 0.999,
                  batch_norm_epsilon: float = 0.001, use_renorm: bool = False,
                  separable_conv3d: bool = False) -> dict:
    """research/slim's I3D arg_scope: 3-D convolutions with L2 decay, relu and
    (unfused) batch norm, optionally with batch renormalization; full 3-D
    convolutions unless ``separable_conv3d``.

        >>> sc = i3d_arg_scope(use_renorm=True)
        >>> sc[slim.arg_scope_func_key(slim.conv3d)]['normalizer_params']['renorm']
        True
    """
    return video_arg_scope(weight_decay, batch_norm_decay, batch_norm_epsilon,
                           separable=separable_conv3d, renorm=use_renorm)


def i3d_base(inputs: torch.Tensor, final_endpoint: str = "Mixed_5c", scope="InceptionV1"):
    """The I3D layers from the input up to ``final_endpoint``.

    Args:
        inputs: ``[N, C, T, H, W]`` videos.
        final_endpoint: the last stage to build (see
            :func:`slimtorch.nets.s3dg.s3dg_base`).
        scope: variable scope.

    Returns:
        ``(net, end_points)``.

    Raises:
        ValueError: an unknown ``final_endpoint``.

    Example:
        >>> with slim.Graph():
        ...     net, end_points = i3d_base(torch.randn(1, 3, 8, 32, 32))
        >>> net.shape, len(end_points)
        (torch.Size([1, 1024, 1, 1, 1]), 16)
    """
    return s3dg_base(inputs, final_endpoint=final_endpoint, scope=scope, **_I3D)


def i3d(inputs: torch.Tensor, num_classes: Optional[int] = 1000, dropout_keep_prob: float = 0.8,
        is_training: Optional[bool] = None, prediction_fn: Callable = softmax,
        spatial_squeeze: bool = True, reuse=None, scope="InceptionV1"):
    """I3D for video classification (default frame size 224x224).

    Args:
        inputs: ``[N, C, T, H, W]`` videos; any ``T``, ``H`` and ``W`` up to
            224 (with ``spatial_squeeze``).
        num_classes: number of classes; 0 or None omits the logits layer and
            returns the pooled features (before dropout).
        dropout_keep_prob: the fraction of activations kept by dropout.
        is_training: for batch norm and dropout; None follows the module's
            ``train()``/``eval()`` mode.
        prediction_fn: maps logits to ``end_points['Predictions']``.
        spatial_squeeze: return logits ``[N, num_classes]`` instead of
            ``[N, num_classes, 1, 1]``.
        reuse: reuse the variables of ``scope``.
        scope: variable scope.

    Returns:
        ``(logits, end_points)``; the logits are averaged over time.

    Example:
        >>> with slim.Graph(), slim.arg_scope(i3d_arg_scope()):
        ...     net = slim.Model(i3d, num_classes=10).build((2, 3, 4, 32, 32), device='meta')
        ...     logits, end_points = net(torch.empty(2, 3, 4, 32, 32, device='meta'))
        ...     logits.shape, 'Predictions' in end_points
        (torch.Size([2, 10]), True)
    """
    return s3dg(inputs, num_classes, dropout_keep_prob=dropout_keep_prob, is_training=is_training,
                prediction_fn=prediction_fn, spatial_squeeze=spatial_squeeze, reuse=reuse,
                scope=scope, **_I3D)


i3d.default_image_size = 224
i3d.default_num_frames = 64   # research/slim's tests; any clip length works
i3d.input_channels = 3
i3d.min_image_size = 1        # every convolution and pool is 'SAME'
