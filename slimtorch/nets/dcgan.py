"""DCGAN's generator and discriminator (Radford et al., 2015,
https://arxiv.org/abs/1511.06434), as research/slim's ``nets/dcgan.py``.

Scopes (``Generator``, ``Discriminator``), variable names
(``Generator/deconv1/weights``, ``Generator/deconv1/BatchNorm/moving_mean``,
``Discriminator/conv2/BatchNorm/beta``, ``Discriminator/Conv/weights`` for the
discriminator's logits), ``end_points`` keys and errors are research/slim's.
Differences:

* Tensors are NCHW: the discriminator takes ``[N, C, H, W]`` images and the
  generator returns ``[N, num_outputs, final_size, final_size]``.
* ``is_training=None`` (the default here; research/slim's is True) makes
  batch norm follow ``model.train()``/``model.eval()``; an explicit bool wins.
  Batch norm keeps research/slim's ``zero_debias_moving_mean=True``, so each
  one also has ``moving_mean/biased`` and ``moving_mean/local_step``.
* Sharing the discriminator between real and generated images is calling the
  same :class:`slimtorch.Model` twice (TF's ``reuse=True``; ``reuse`` is still
  accepted for use inside a larger model function).

    >>> gen = slim.Model(generator, final_size=8).build((2, 16), device='meta')
    >>> [v.name for v in gen.variables()][:3]
    ['Generator/deconv1/weights', 'Generator/deconv1/BatchNorm/beta', 'Generator/deconv1/BatchNorm/moving_mean']
"""

from __future__ import annotations

from typing import Optional

import torch

from ..arg_scope import arg_scope
from ..layers import batch_norm, conv2d, conv2d_transpose
from ..scopes import variable_scope
from ._gan_utils import leaky_relu

__all__ = ["discriminator", "generator"]


def _is_power_of_two(value: int) -> bool:
    # research/slim compares log(value, 2) with its int(); exact for integers.
    return value > 0 and value & (value - 1) == 0


def _validate_image_inputs(inputs: torch.Tensor) -> None:
    if inputs.dim() != 4:
        raise ValueError(f"Shape {list(inputs.shape)} must have rank 4 ([N, C, H, W] images)")
    height, width = inputs.shape[2], inputs.shape[3]
    if height != width:
        raise ValueError(f"Input tensor does not have equal width and height: {[height, width]}")
    if not _is_power_of_two(width):
        raise ValueError(f"Input tensor `width` is not a power of 2: {width}")


def _normalizer_args(is_training: Optional[bool], fused_batch_norm: bool) -> dict:
    return {"is_training": is_training, "zero_debias_moving_mean": True,
            "fused": fused_batch_norm}


def discriminator(inputs: torch.Tensor, depth: int = 64, is_training: Optional[bool] = None,
                  reuse=None, scope: Optional[str] = "Discriminator",
                  fused_batch_norm: bool = False):
    """The DCGAN discriminator: ``log2(size)`` stride-2 4x4 convolutions with
    leaky ReLU (batch norm after all but the first), doubling the depth each
    time, then a 1x1 convolution to one logit.

    Args:
        inputs: ``[N, C, H, W]`` floating-point images, square, with a power
            of two as the size.
        depth: channels of the first convolution.
        is_training: batch norm in training mode (True), inference (False) or
            following the module's train/eval mode (None).
        reuse: share the variables of an earlier call in the same function
            (TF's ``reuse``); with :class:`slimtorch.Model`, call the model again.
        scope: the variable scope.
        fused_batch_norm: use the fused batch norm (the same numbers).

    Returns:
        ``(logits, end_points)``: ``[N, 1]`` logits and a dict ``conv1`` ...
        ``conv<log2(size)>``, ``logits``.

    Raises:
        ValueError: the input is not 4-D, not square, or its size not a power of two.

    Example:
        >>> disc = slim.Model(discriminator, depth=8).build((2, 3, 16, 16), device='meta')
        >>> logits, end_points = disc(torch.empty(5, 3, 16, 16, device='meta'))
        >>> logits.shape, list(end_points)
        (torch.Size([5, 1]), ['conv1', 'conv2', 'conv3', 'conv4', 'logits'])
    """
    _validate_image_inputs(inputs)
    end_points = {}
    with variable_scope(scope, values=[inputs], reuse=reuse):
        with arg_scope([batch_norm], **_normalizer_args(is_training, fused_batch_norm)):
            with arg_scope([conv2d], stride=2, kernel_size=4, activation_fn=leaky_relu):
                net = inputs
                for i in range(inputs.shape[2].bit_length() - 1):
                    name = f"conv{i + 1}"
                    net = end_points[name] = conv2d(
                        net, depth * 2 ** i, normalizer_fn=None if i == 0 else batch_norm,
                        scope=name)
                logits = conv2d(net, 1, kernel_size=1, stride=1, padding="VALID",
                                normalizer_fn=None, activation_fn=None)
                logits = end_points["logits"] = logits.reshape(-1, 1)
    return logits, end_points


def generator(inputs: torch.Tensor, depth: int = 64, final_size: int = 32, num_outputs: int = 3,
              is_training: Optional[bool] = None, reuse=None, scope: Optional[str] = "Generator",
              fused_batch_norm: bool = False):
    """The DCGAN generator: a stride-1 'VALID' 4x4 transposed convolution of
    the noise to a 4x4 map, stride-2 4x4 transposed convolutions with batch
    norm and ReLU halving the depth up to ``final_size`` (the last without
    either), then a 1x1 convolution to ``num_outputs`` channels.

    Args:
        inputs: ``[N, noise_dims]`` noise.
        depth: channels of the last transposed convolution.
        final_size: the output's height and width: a power of two, at least 8.
        num_outputs: output channels (3 for RGB images).
        is_training, reuse, scope, fused_batch_norm: as for :func:`discriminator`.

    Returns:
        ``(logits, end_points)``: ``[N, num_outputs, final_size, final_size]``
        (no activation: research/slim leaves the tanh to the caller) and a dict
        ``deconv1`` ... ``deconv<log2(final_size) - 1>``, ``logits``.

    Raises:
        ValueError: ``inputs`` is not 2-D, or ``final_size`` is not a power
            of two or is less than 8.

    Example:
        >>> gen = slim.Model(generator, depth=8, final_size=16).build((2, 10), device='meta')
        >>> images, end_points = gen(torch.empty(5, 10, device='meta'))
        >>> images.shape, list(end_points)
        (torch.Size([5, 3, 16, 16]), ['deconv1', 'deconv2', 'deconv3', 'logits'])
    """
    if inputs.dim() != 2:
        raise ValueError(f"Shape {list(inputs.shape)} must have rank 2 ([N, noise_dims])")
    if not _is_power_of_two(final_size):
        raise ValueError(f"`final_size` ({final_size}) must be a power of 2.")
    if final_size < 8:
        raise ValueError(f"`final_size` ({final_size}) must be greater than 8.")
    end_points = {}
    num_layers = final_size.bit_length() - 2
    with variable_scope(scope, values=[inputs], reuse=reuse):
        with arg_scope([batch_norm], **_normalizer_args(is_training, fused_batch_norm)):
            with arg_scope([conv2d_transpose], normalizer_fn=batch_norm, stride=2,
                           kernel_size=4):
                net = inputs[:, :, None, None]
                # The first upscaling takes the noise vector: 1x1 -> 4x4.
                net = end_points["deconv1"] = conv2d_transpose(
                    net, depth * 2 ** (num_layers - 1), stride=1, padding="VALID",
                    scope="deconv1")
                for i in range(2, num_layers):
                    name = f"deconv{i}"
                    net = end_points[name] = conv2d_transpose(
                        net, depth * 2 ** (num_layers - i), scope=name)
                name = f"deconv{num_layers}"
                net = end_points[name] = conv2d_transpose(
                    net, depth, normalizer_fn=None, activation_fn=None, scope=name)
                logits = end_points["logits"] = conv2d(
                    net, num_outputs, normalizer_fn=None, activation_fn=None, kernel_size=1,
                    stride=1, padding="VALID", scope="logits")
    return logits, end_points
