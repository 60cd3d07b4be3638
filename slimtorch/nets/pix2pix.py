"""pix2pix's U-Net generator and PatchGAN discriminator (Isola et al., 2017,
https://phillipi.github.io/pix2pix/), as research/slim's ``nets/pix2pix.py``.

Neither opens a scope of its own (research/slim's don't): the generator's
variables are ``encoder/Conv/weights``, ``encoder/Conv_1/InstanceNorm/beta``,
..., ``decoder/Conv/...`` (``decoder/Conv2d_transpose/...`` with
``upsample_method='conv2d_transpose'``) and ``output/Conv/...``; the
discriminator's ``conv0/weights`` ... ``conv<len(num_filters)>/...``. Build
each under its own ``slim.variable_scope`` (or as its own
:class:`slimtorch.Model`) to keep two apart. ``end_points`` keys, options and
errors are research/slim's. Differences:

* Tensors are NCHW: images ``[N, C, H, W]``, outputs ``[N, num_outputs, H, W]``
  and ``[N, 1, patches, patches]``.
* As in research/slim the generator's decoder dropout is on in inference too
  (the paper's noise, Section 2.1): its outputs are random wherever a block has
  ``0 < decoder_keep_prob < 1``, whatever ``model.eval()`` says.

    >>> with slim.arg_scope(pix2pix_arg_scope()):
    ...     disc = slim.Model(pix2pix_discriminator, num_filters=[8, 16, 32])
    ...     logits, _ = disc(torch.zeros(1, 3, 64, 64))
    >>> logits.shape, [v.name for v in disc.variables()][:3]
    (torch.Size([1, 1, 19, 19]), ['conv0/weights', 'conv0/biases', 'conv1/weights'])
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional, Sequence

import torch
import torch.nn.functional as F

from ..arg_scope import arg_scope
from ..initializers import random_normal_initializer
from ..layers import conv2d, conv2d_transpose, dropout, instance_norm
from ..scopes import variable_scope
from ._gan_utils import leaky_relu, pad_spatial, resize_nearest

__all__ = ["Block", "pix2pix_arg_scope", "pix2pix_discriminator", "pix2pix_generator", "upsample"]


def pix2pix_arg_scope():
    """conv2d and conv2d_transpose: instance norm (center, scale, epsilon
    1e-5) instead of biases, weights drawn from N(0, 0.02).

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(pix2pix_arg_scope())``.

    Example:
        >>> with slim.arg_scope(pix2pix_arg_scope()):
        ...     net = slim.Model(pix2pix_discriminator, num_filters=[4, 8]).build(
        ...         (1, 3, 32, 32), device='meta')
        >>> [v.name for v in net.variables()][2:5]
        ['conv1/weights', 'conv1/InstanceNorm/beta', 'conv1/InstanceNorm/gamma']
    """
    instance_norm_params = {"center": True, "scale": True, "epsilon": 0.00001}
    with arg_scope([conv2d, conv2d_transpose], normalizer_fn=instance_norm,
                   normalizer_params=instance_norm_params,
                   weights_initializer=random_normal_initializer(0, 0.02)) as scope:
        return scope


def upsample(net: torch.Tensor, num_outputs: int, kernel_size, method: str = "nn_upsample_conv"):
    """Upsamples ``net`` by the factors ``kernel_size = [fh, fw]``.

    Args:
        net: ``[N, C, H, W]``.
        num_outputs: the output channels.
        kernel_size: the scale of the output: ``[2, 3]`` makes it twice as
            high and three times as wide.
        method: ``'nn_upsample_conv'`` (nearest-neighbour resize, then a 4x4
            'SAME' ``conv2d``) or ``'conv2d_transpose'`` (a 4x4 transposed
            convolution with stride ``kernel_size``); neither has an activation.

    Returns:
        ``[N, num_outputs, fh * H, fw * W]``.

    Raises:
        ValueError: ``method`` is neither.

    Example:
        >>> with slim.Graph():
        ...     upsample(torch.zeros(1, 4, 3, 3), 2, [2, 2]).shape
        torch.Size([1, 2, 6, 6])
    """
    if method == "nn_upsample_conv":
        height, width = net.shape[2], net.shape[3]
        net = resize_nearest(net, [kernel_size[0] * height, kernel_size[1] * width])
        return conv2d(net, num_outputs, [4, 4], activation_fn=None)
    if method == "conv2d_transpose":
        return conv2d_transpose(net, num_outputs, [4, 4], stride=kernel_size, activation_fn=None)
    raise ValueError(f"Unknown method: [{method}]")


class Block(NamedTuple):
    """One level of the U-Net: an encoder convolution with ``num_filters``
    outputs, whose result the decoder concatenates with its own at that level,
    and the decoder's dropout keep probability there (0: no dropout)."""

    num_filters: int
    decoder_keep_prob: float


def _default_generator_blocks():
    """The paper's blocks: 64, 128, 256, then four of 512 filters; dropout
    (keep 0.5) at the three deepest decoder levels."""
    return [Block(64, 0.5), Block(128, 0.5), Block(256, 0.5), Block(512, 0), Block(512, 0),
            Block(512, 0), Block(512, 0)]


def pix2pix_generator(net: torch.Tensor, num_outputs: int, blocks: Optional[Sequence[Block]] = None,
                      upsample_method: str = "nn_upsample_conv", is_training=False):
    """The U-Net generator: stride-2 4x4 convolutions with leaky ReLU down to
    1/2**len(blocks) of the input (instance norm on all but the first and the
    last, which has no activation either), then for each level, deepest first:
    concatenation with the encoder's output there (not at the deepest), ReLU,
    2x upsampling, dropout; then a 4x4 convolution to ``num_outputs``.

    Args:
        net: ``[N, C, H, W]`` images; ``H`` and ``W`` multiples of
            ``2**len(blocks)`` (research/slim says square: that is not needed).
        num_outputs: output channels per pixel.
        blocks: the :class:`Block` list; None: the paper's seven.
        upsample_method: ``'nn_upsample_conv'`` or ``'conv2d_transpose'`` (see :func:`upsample`).
        is_training: unused, as in research/slim (dropout is always on).

    Returns:
        ``(logits, end_points)``: ``[N, num_outputs, H, W]`` logits and a dict
        ``encoder0`` ..., ``decoder0`` ..., ``logits``, ``predictions`` (tanh).

    Raises:
        ValueError: ``H`` or ``W`` is not a multiple of ``2**len(blocks)``.

    Example:
        >>> blocks = [Block(4, 0.5), Block(8, 0)]
        >>> with slim.arg_scope(pix2pix_arg_scope()):
        ...     gen = slim.Model(pix2pix_generator, num_outputs=2, blocks=blocks)
        ...     logits, end_points = gen(torch.zeros(1, 3, 8, 8))
        >>> logits.shape, list(end_points)
        (torch.Size([1, 2, 8, 8]), ['encoder0', 'encoder1', 'decoder0', 'decoder1', 'logits', 'predictions'])
    """
    del is_training
    end_points = {}
    blocks = blocks or _default_generator_blocks()
    upsample_fn = functools.partial(upsample, method=upsample_method)
    encoder_activations = []
    factor = 2 ** len(blocks)
    if net.dim() != 4 or net.shape[2] % factor or net.shape[3] % factor:
        # Otherwise a skip connection would not fit its decoder level.
        raise ValueError(f"pix2pix_generator: expected images [N, C, H, W] with H and W "
                         f"multiples of 2**len(blocks) = {factor}, got {list(net.shape)}")

    with variable_scope("encoder"):
        with arg_scope([conv2d], kernel_size=[4, 4], stride=2, activation_fn=leaky_relu):
            for block_id, block in enumerate(blocks):
                # No normalizer on the first layer ('Image-to-Image', Section 5.1.1);
                # neither normalizer nor activation on the last.
                if block_id == 0:
                    net = conv2d(net, block.num_filters, normalizer_fn=None)
                elif block_id < len(blocks) - 1:
                    net = conv2d(net, block.num_filters)
                else:
                    net = conv2d(net, block.num_filters, activation_fn=None, normalizer_fn=None)
                encoder_activations.append(net)
                end_points[f"encoder{block_id}"] = net

    with variable_scope("decoder"):
        # Dropout at train and test time ('Image-to-Image', Section 2.1).
        with arg_scope([dropout], is_training=True):
            for block_id, block in enumerate(reversed(blocks)):
                if block_id > 0:
                    net = torch.cat([net, encoder_activations[-block_id - 1]], dim=1)
                net = F.relu(net)   # before the upsampling
                net = upsample_fn(net, block.num_filters, [2, 2])
                if block.decoder_keep_prob > 0:
                    net = dropout(net, keep_prob=block.decoder_keep_prob)
                end_points[f"decoder{block_id}"] = net

    with variable_scope("output"):
        # normalizer_fn=None overrides pix2pix_arg_scope's.
        logits = conv2d(net, num_outputs, [4, 4], activation_fn=None, normalizer_fn=None)
        end_points["logits"] = logits
        end_points["predictions"] = torch.tanh(logits)
    return logits, end_points


def pix2pix_discriminator(net: torch.Tensor, num_filters: Sequence[int], padding: int = 2,
                          pad_mode: str = "REFLECT", activation_fn=leaky_relu, is_training=False):
    """The PatchGAN discriminator: 4x4 'VALID' convolutions, each after
    ``padding`` pixels of ``pad_mode`` padding: stride 2 for all but the last
    of ``num_filters`` (instance norm on all but the first), then stride 1 to
    one logit per patch.

    Args:
        net: ``[N, C, H, W]`` images.
        num_filters: the filters of each layer; its length is the number of
            layers before the logits.
        padding: pixels of padding before each convolution (an int >= 0).
        pad_mode: TF's ``tf.pad`` mode: ``'CONSTANT'``, ``'REFLECT'`` or ``'SYMMETRIC'``.
        activation_fn: of every layer but the logits (leaky ReLU, slope 0.2).
        is_training: unused, as in research/slim.

    Returns:
        ``(logits, end_points)``: ``[N, 1, P, P]`` logits, one per patch, and
        a dict ``conv0`` ... ``conv<len(num_filters) - 1>``, ``logits``,
        ``predictions`` (sigmoid).

    Raises:
        TypeError: ``padding`` is not an integer.
        ValueError: ``padding`` is negative or ``pad_mode`` unknown.

    Example:
        >>> with slim.arg_scope(pix2pix_arg_scope()):
        ...     disc = slim.Model(pix2pix_discriminator, num_filters=[4, 8, 16]).build(
        ...         (2, 3, 32, 32), device='meta')
        ...     logits, end_points = disc(torch.empty(2, 3, 32, 32, device='meta'))
        >>> logits.shape, list(end_points)
        (torch.Size([2, 1, 11, 11]), ['conv0', 'conv1', 'conv2', 'logits', 'predictions'])
    """
    del is_training
    end_points = {}
    num_layers = len(num_filters)

    def padded(net, scope):
        if padding:
            return pad_spatial(net, [padding] * 4, pad_mode, name=f"{scope}/Pad")
        return net

    with arg_scope([conv2d], kernel_size=[4, 4], stride=2, padding="valid",
                   activation_fn=activation_fn):
        # No normalization on the input layer.
        net = end_points["conv0"] = conv2d(padded(net, "conv0"), num_filters[0],
                                           normalizer_fn=None, scope="conv0")
        for i in range(1, num_layers - 1):
            net = end_points[f"conv{i}"] = conv2d(padded(net, f"conv{i}"), num_filters[i],
                                                  scope=f"conv{i}")
        # Stride 1 on the last layer.
        last = f"conv{num_layers - 1}"
        net = end_points[last] = conv2d(padded(net, last), num_filters[-1], stride=1, scope=last)
        # One logit per patch: stride 1, no activation, no normalization.
        logits = end_points["logits"] = conv2d(
            padded(net, f"conv{num_layers}"), 1, stride=1, activation_fn=None,
            normalizer_fn=None, scope=f"conv{num_layers}")
        end_points["predictions"] = torch.sigmoid(logits)
    return logits, end_points
