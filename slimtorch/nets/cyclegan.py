"""CycleGAN's ResNet generator (Zhu et al., 2017,
https://github.com/junyanz/CycleGAN), as research/slim's ``nets/cyclegan.py``.

Like research/slim's, the generator opens no scope of its own: its variables
are ``input/Conv/...``, ``encoder/Conv/...``, ``encoder/Conv_1/...``,
``residual_blocks/block_<i>/Conv{,_1}/...``,
``decoder/decoder{1,2}/upconv/<Conv2d_transpose or Conv>/...`` and
``output/Conv/...``. Padding is ``'REFLECT'`` (TF's ``tf.pad`` modes, pixel for
pixel), and the upsampling choices are research/slim's: a 3x3 transposed
convolution (cropped to fix its one-pixel offset), or a nearest-neighbour or
bilinear resize (TF1's sampling grid) followed by a 3x3 convolution. ``end_points``
keys, options and errors are research/slim's. Tensors are NCHW: images
``[N, C, H, W]`` in, the same shape out.

    >>> gen = slim.Model(cyclegan_generator_resnet, num_filters=8, num_resnet_blocks=2)
    >>> images, end_points = gen(torch.zeros(1, 3, 32, 48))
    >>> images.shape, list(end_points)[:4]
    (torch.Size([1, 3, 32, 48]), ['encoder_0', 'encoder_1', 'encoder_2', 'resnet_block_0'])
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..arg_scope import arg_scope
from ..initializers import random_normal_initializer
from ..layers import conv2d, conv2d_transpose, instance_norm
from ..regularizers import l2_regularizer
from ..scopes import variable_scope
from ._gan_utils import pad_spatial, resize_bilinear, resize_nearest

__all__ = ["cyclegan_arg_scope", "cyclegan_generator_resnet", "cyclegan_upsample"]

UPSAMPLE_METHODS = ("conv2d_transpose", "nn_upsample_conv", "bilinear_upsample_conv")


def cyclegan_arg_scope(instance_norm_center: bool = True, instance_norm_scale: bool = True,
                       instance_norm_epsilon: float = 0.001, weights_init_stddev: float = 0.02,
                       weight_decay: float = 0.0):
    """conv2d (not conv2d_transpose): instance norm instead of biases,
    weights drawn from N(0, ``weights_init_stddev``), L2 weight decay.

    Args:
        instance_norm_center, instance_norm_scale: create instance norm's
            ``beta`` / ``gamma``.
        instance_norm_epsilon: added to the variance.
        weights_init_stddev: standard deviation of the initial weights.
        weight_decay: L2 coefficient of the convolution weights (0: none).

    Returns:
        The arg_scope to re-enter with ``slim.arg_scope(cyclegan_arg_scope())``.

    Example:
        >>> with slim.arg_scope(cyclegan_arg_scope(weight_decay=1e-4)):
        ...     net = slim.Model(slim.conv2d, num_outputs=4, kernel_size=3).build(
        ...         (1, 3, 8, 8), device='meta')
        >>> [v.name for v in net.variables()], len(slim.losses.get_regularization_losses())
        (['Conv/weights', 'Conv/InstanceNorm/beta', 'Conv/InstanceNorm/gamma'], 1)
    """
    instance_norm_params = {"center": instance_norm_center, "scale": instance_norm_scale,
                            "epsilon": instance_norm_epsilon}
    weights_regularizer = None
    if weight_decay and weight_decay > 0.0:
        weights_regularizer = l2_regularizer(weight_decay)
    with arg_scope([conv2d], normalizer_fn=instance_norm, normalizer_params=instance_norm_params,
                   weights_initializer=random_normal_initializer(0, weights_init_stddev),
                   weights_regularizer=weights_regularizer) as scope:
        return scope


def cyclegan_upsample(net: torch.Tensor, num_outputs: int, stride, method: str = "conv2d_transpose",
                      pad_mode: str = "REFLECT", align_corners: bool = False) -> torch.Tensor:
    """Upsamples ``net`` by ``stride = [sh, sw]``, in scope ``upconv``.

    Args:
        net: ``[N, C, H, W]``.
        num_outputs: the output channels.
        stride: the scale of the output: ``[2, 3]`` makes it twice as high
            and three times as wide.
        method: ``'conv2d_transpose'``: a 3x3 'VALID' transposed convolution
            with stride ``stride``, its first row and column dropped (TF's
            transposed convolution is right-aligned, its convolution
            left-aligned; this is not the paper's model). ``'nn_upsample_conv'``
            / ``'bilinear_upsample_conv'``: a nearest-neighbour / bilinear
            resize, one pixel of ``pad_mode`` padding and a 3x3 'VALID' conv2d.
        pad_mode: ``tf.pad``'s mode for the resize methods: ``'CONSTANT'``,
            ``'REFLECT'`` or ``'SYMMETRIC'``.
        align_corners: for ``'bilinear_upsample_conv'``: align the corner
            pixels' centres (else TF1's grid, ``i * in / out``).

    Returns:
        ``[N, num_outputs, sh * H, sw * W]``.

    Raises:
        ValueError: ``method`` is unknown.

    Example:
        >>> with slim.Graph():
        ...     y = cyclegan_upsample(torch.zeros(1, 4, 3, 5), 2, [2, 2])
        ...     y.shape, [v.name for v in slim.get_model_variables()]
        (torch.Size([1, 2, 6, 10]), ['upconv/Conv2d_transpose/weights', 'upconv/Conv2d_transpose/biases'])
    """
    with variable_scope("upconv"):
        height, width = net.shape[2], net.shape[3]
        size = [stride[0] * height, stride[1] * width]
        if method == "nn_upsample_conv":
            net = pad_spatial(resize_nearest(net, size), [1, 1, 1, 1], pad_mode)
            return conv2d(net, num_outputs, kernel_size=[3, 3], padding="valid")
        if method == "bilinear_upsample_conv":
            net = resize_bilinear(net, size, align_corners=align_corners)
            net = pad_spatial(net, [1, 1, 1, 1], pad_mode)
            return conv2d(net, num_outputs, kernel_size=[3, 3], padding="valid")
        if method == "conv2d_transpose":
            net = conv2d_transpose(net, num_outputs, kernel_size=[3, 3], stride=stride,
                                   padding="valid")
            return net[:, :, 1:, 1:]
        raise ValueError(f"Unknown method: [{method}]")


def cyclegan_generator_resnet(images: torch.Tensor, arg_scope_fn: Callable = cyclegan_arg_scope,
                              num_resnet_blocks: int = 6, num_filters: int = 64,
                              upsample_fn: Callable = cyclegan_upsample, kernel_size=3,
                              tanh_linear_slope: float = 0.0, is_training=False):
    """The CycleGAN ResNet generator: a 7x7 convolution, two stride-2
    convolutions, ``num_resnet_blocks`` residual blocks, two 2x upsamplings and
    a 7x7 convolution back to the input's channels; reflection padding
    throughout, instance norm and ReLU after every layer but the last.

    Args:
        images: ``[N, C, H, W]`` images; ``H`` and ``W`` multiples of 4.
        arg_scope_fn: makes the arg_scope the net runs under.
        num_resnet_blocks: residual blocks in the middle.
        num_filters: filters of the first layer (doubled by each encoder layer).
        upsample_fn: the decoder's upsampling, ``fn(net, num_outputs=, stride=)``
            (e.g. ``functools.partial(cyclegan_upsample, method='nn_upsample_conv')``).
        kernel_size: an int or ``[h, w]``, the kernels of the inner layers
            (an even kernel is padded one pixel more at the bottom/right).
        tanh_linear_slope: slope of a linear term added to the output's tanh.
        is_training: unused, as in research/slim (no dropout, no batch norm).

    Returns:
        ``(predictions, end_points)``: ``tanh(logits) + tanh_linear_slope *
        logits``, of the input's shape, and a dict ``encoder_0`` ...
        ``encoder_2``, ``resnet_block_<i>``, ``decoder1``, ``decoder2``,
        ``logits``, ``predictions``.

    Raises:
        ValueError: the input height or width is not a multiple of 4.

    Example:
        >>> gen = slim.Model(cyclegan_generator_resnet, num_filters=4, num_resnet_blocks=1)
        >>> gen.build((1, 3, 16, 16), device='meta').tf_shapes()['decoder/decoder2/upconv/Conv2d_transpose/weights']
        [3, 3, 4, 8]
    """
    del is_training
    end_points = {}
    if images.dim() != 4:
        raise ValueError(f"cyclegan_generator_resnet: expected images [N, C, H, W], got "
                         f"shape {list(images.shape)}")
    height, width, num_outputs = images.shape[2], images.shape[3], images.shape[1]
    if height % 4 != 0:
        raise ValueError("The input height must be a multiple of 4.")
    if width % 4 != 0:
        raise ValueError("The input width must be a multiple of 4.")
    if not isinstance(kernel_size, (list, tuple)):
        kernel_size = [kernel_size, kernel_size]
    kernel_height, kernel_width = kernel_size
    # (top, bottom, left, right): a 'VALID' convolution keeps the size at stride 1.
    paddings = [(kernel_height - 1) // 2, kernel_height // 2,
                (kernel_width - 1) // 2, kernel_width // 2]

    def reflect(net, pad):
        return pad_spatial(net, pad, "REFLECT")

    with arg_scope(arg_scope_fn()):
        with variable_scope("input"):
            # The 7x7 input stage.
            net = conv2d(reflect(images, [3] * 4), num_filters, kernel_size=[7, 7],
                         padding="VALID")
            end_points["encoder_0"] = net

        with variable_scope("encoder"):
            with arg_scope([conv2d], kernel_size=kernel_size, stride=2, activation_fn=F.relu,
                           padding="VALID"):
                net = end_points["encoder_1"] = conv2d(reflect(net, paddings), num_filters * 2)
                net = end_points["encoder_2"] = conv2d(reflect(net, paddings), num_filters * 4)

        with variable_scope("residual_blocks"):
            with arg_scope([conv2d], kernel_size=kernel_size, stride=1, activation_fn=F.relu,
                           padding="VALID"):
                for block_id in range(num_resnet_blocks):
                    with variable_scope(f"block_{block_id}"):
                        res_net = conv2d(reflect(net, paddings), num_filters * 4)
                        res_net = conv2d(reflect(res_net, paddings), num_filters * 4,
                                         activation_fn=None)
                        net = end_points[f"resnet_block_{block_id}"] = net + res_net

        with variable_scope("decoder"):
            with arg_scope([conv2d], kernel_size=kernel_size, stride=1, activation_fn=F.relu):
                with variable_scope("decoder1"):
                    net = upsample_fn(net, num_outputs=num_filters * 2, stride=[2, 2])
                end_points["decoder1"] = net
                with variable_scope("decoder2"):
                    net = upsample_fn(net, num_outputs=num_filters, stride=[2, 2])
                end_points["decoder2"] = net

        with variable_scope("output"):
            logits = conv2d(reflect(net, [3] * 4), num_outputs, [7, 7], activation_fn=None,
                            normalizer_fn=None, padding="valid")
            end_points["logits"] = logits
            end_points["predictions"] = torch.tanh(logits) + logits * tanh_linear_slope
    return end_points["predictions"], end_points
