"""What I3D and S3D-G share, as research/slim's ``nets/i3d_utils.py``.

Videos are ``[N, C, T, H, W]`` (channels first, ``'NCDHW'``); TF-Slim's default
is ``[N, T, H, W, C]`` (``'NDHWC'``), which ``data_format='NDHWC'`` still
takes. Variable names and shapes (``[kt, kh, kw, in, out]`` kernels) are
TF-Slim's, so research/slim's checkpoints load as they are.

* :func:`conv3d_spatiotemporal`: a 3-D convolution, or with ``separable=True``
  a ``[1, k, k]`` spatial convolution followed by a ``[t, 1, 1]`` temporal one
  (scope ``<scope>/temporal``, initialized to the identity by
  :func:`center_initializer`).
* :func:`inception_block_v1_3d`: Inception V1's module inflated to 3-D, with
  optional self-gating of each branch.
* :func:`reduced_kernel_size_3d`: a pool kernel shrunk to a small input.

    >>> with slim.Graph():
    ...     net = slim.Model(conv3d_spatiotemporal, num_outputs=8, kernel_size=[3, 3, 3],
    ...                      separable=True, scope='Conv2d_0b_3x3')
    ...     _ = net.build((1, 4, 5, 16, 16), device='meta')
    ...     dict(net.tf_shapes())
    {'Conv2d_0b_3x3/weights': [1, 3, 3, 4, 8], 'Conv2d_0b_3x3/biases': [8],
     'Conv2d_0b_3x3/temporal/weights': [3, 1, 1, 8, 8], 'Conv2d_0b_3x3/temporal/biases': [8]}
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope, arg_scope
from ..initializers import Initializer
from ..layers import batch_norm, conv3d, max_pool3d
from ..regularizers import l2_regularizer
from ._inception_blocks import Layer, Mixed

__all__ = ["CenterInitializer", "center_initializer", "channel_axis_3d", "conv3d_spatiotemporal",
           "inception_block_v1_3d", "reduced_kernel_size_3d", "video_arg_scope"]


def channel_axis_3d(data_format: Optional[str]) -> int:
    """The channel axis of a 5-D activation: 1 for ``None``/``'NCDHW'``, 4 for ``'NDHWC'``.

        >>> channel_axis_3d(None), channel_axis_3d('NDHWC')
        (1, 4)
        >>> channel_axis_3d('NHWC')
        Traceback (most recent call last):
        ...
        ValueError: data_format must be 'NDHWC' or 'NCDHW' (or None for channels-first), got 'NHWC'
    """
    if data_format not in (None, "NCDHW", "NDHWC"):
        raise ValueError("data_format must be 'NDHWC' or 'NCDHW' (or None for channels-first), "
                         f"got {data_format!r}")
    return 4 if data_format == "NDHWC" else 1


class CenterInitializer(Initializer):
    """Fills a ``[t, 1, 1, c, c]`` kernel with the identity at its temporal
    center (see :func:`center_initializer`)."""

    def __call__(self, tensor, dtype=None, partition_info=None) -> torch.Tensor:
        shape = list(tensor.shape) if isinstance(tensor, torch.Tensor) else [int(d) for d in tensor]
        # Checked before the meta-device shortcut, so a wrong layer fails at build.
        if len(shape) != 5:
            raise ValueError("Input tensor has to be 5-D.")
        if shape[3] != shape[4]:
            raise ValueError("Input and output channel dimensions must be the same.")
        if shape[1] != 1 or shape[2] != 1:
            raise ValueError("Spatial kernel sizes must be 1 (pointwise conv).")
        if shape[0] % 2 == 0:
            raise ValueError("Temporal kernel size has to be odd.")
        return super().__call__(tensor, dtype, partition_info)

    def fill_(self, tensor: torch.Tensor) -> None:
        if not tensor.is_floating_point():
            raise ValueError(f"Input tensor data type has to be floating, got {tensor.dtype}.")
        tensor.zero_()
        eye = torch.eye(tensor.shape[3], dtype=tensor.dtype, device=tensor.device)
        tensor[tensor.shape[0] // 2, 0, 0].copy_(eye)


def center_initializer() -> CenterInitializer:
    """research/slim's initializer of separable temporal convolutions: the
    identity at the center of an odd ``[t, 1, 1, c, c]`` kernel, so the
    temporal convolution starts as a pass-through (which research/slim found
    critical for training separable I3D models).

    TF accepts only float32 and bfloat16; any floating dtype works here.

        >>> w = center_initializer()(torch.empty(3, 1, 1, 2, 2))
        >>> w[:, 0, 0].tolist()
        [[[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]]
        >>> center_initializer()(torch.empty(2, 1, 1, 2, 2))
        Traceback (most recent call last):
        ...
        ValueError: Temporal kernel size has to be odd.

    Raises:
        ValueError: the kernel is not 5-D, its channel dimensions differ, its
            spatial sizes are not 1, or its temporal size is even.
    """
    return CenterInitializer()


def _triple(value, name: str, what: str) -> list:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value] * 3
    if isinstance(value, Sequence) and len(value) == 3:
        return list(value)
    raise ValueError(f"{name}: {what} must be an int or a list of 3 ints, got {value!r}")


@add_arg_scope
def conv3d_spatiotemporal(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1,
                          padding: str = "SAME", activation_fn: Optional[Callable] = None,
                          normalizer_fn: Optional[Callable] = None, normalizer_params=None,
                          weights_regularizer=None, separable: bool = False,
                          data_format: Optional[str] = None,
                          scope: Optional[str] = None) -> torch.Tensor:
    """A 3-D convolution, or a separable spatial + temporal pair (research/slim's).

    Args:
        inputs: ``[N, C, T, H, W]`` (``'NDHWC'``: ``[N, T, H, W, C]``).
        num_outputs: output channels.
        kernel_size: ``[t, h, w]``.
        stride: an int or ``[t, h, w]``.
        padding: ``'SAME'`` or ``'VALID'``.
        activation_fn: applied after each convolution (None by default, unlike
            ``slim.conv3d``'s relu, as in research/slim).
        normalizer_fn, normalizer_params: the normalizer of the (spatial)
            convolution; the temporal one of a separable pair has none, and
            biases instead.
        weights_regularizer: the (spatial) convolution's regularizer; the
            temporal one takes ``slim.conv3d``'s from the arg_scope.
        separable: with a temporal size other than 1, a ``[1, h, w]``
            convolution (scope ``scope``) and then a ``[t, 1, 1]`` one (scope
            ``scope + '/temporal'``, :func:`center_initializer`).
        data_format: None/``'NCDHW'`` (channels first) or ``'NDHWC'``.
        scope: the variable scope; a separable pair needs one.

    Returns:
        The ``[N, num_outputs, T', H', W']`` output.

    Raises:
        ValueError: a separable pair without ``scope``, or a ``kernel_size``
            that is not 3 sizes.

    Example:
        >>> with slim.Graph():
        ...     conv3d_spatiotemporal(torch.randn(1, 2, 4, 8, 8), 4, [3, 3, 3], stride=2,
        ...                           separable=True, scope='conv').shape
        torch.Size([1, 4, 2, 4, 4])
    """
    name = scope or "conv3d_spatiotemporal"
    if not isinstance(kernel_size, Sequence) or len(kernel_size) != 3:
        raise ValueError(f"{name}: kernel_size must be [t, h, w], got {kernel_size!r}")
    conv_kwargs = dict(padding=padding, activation_fn=activation_fn, data_format=data_format)
    if not (separable and kernel_size[0] != 1):
        return conv3d(inputs, num_outputs, kernel_size, stride=stride,
                      normalizer_fn=normalizer_fn, normalizer_params=normalizer_params,
                      weights_regularizer=weights_regularizer, scope=scope, **conv_kwargs)
    if not scope:
        raise ValueError("conv3d_spatiotemporal: separable=True needs a scope (the temporal "
                         "convolution is named '<scope>/temporal')")
    strides = _triple(stride, name, "stride")
    net = conv3d(inputs, num_outputs, [1, kernel_size[1], kernel_size[2]],
                 stride=[1, strides[1], strides[2]], normalizer_fn=normalizer_fn,
                 normalizer_params=normalizer_params, weights_regularizer=weights_regularizer,
                 scope=scope, **conv_kwargs)
    return conv3d(net, num_outputs, [kernel_size[0], 1, 1], stride=[strides[0], 1, 1],
                  normalizer_fn=None, weights_initializer=center_initializer(),
                  scope=scope + "/temporal", **conv_kwargs)


class _Gate:
    """A branch's last step: ``self_gating_fn(net, scope=name)``."""

    def __init__(self, self_gating_fn: Callable, name: str) -> None:
        self.self_gating_fn = self_gating_fn
        self.name = name

    def __call__(self, net: torch.Tensor) -> torch.Tensor:
        return self.self_gating_fn(net, scope=self.name)


@add_arg_scope
def inception_block_v1_3d(inputs: torch.Tensor, num_outputs_0_0a: int, num_outputs_1_0a: int,
                          num_outputs_1_0b: int, num_outputs_2_0a: int, num_outputs_2_0b: int,
                          num_outputs_3_0b: int, temporal_kernel_size: int = 3,
                          self_gating_fn: Optional[Callable] = None,
                          data_format: Optional[str] = None, scope: str = "") -> torch.Tensor:
    """Inception V1's module in 3-D, optionally self-gated (research/slim's).

    Branches ``Branch_0``: 1x1x1 | ``Branch_1``: 1x1x1 -> ``[t, 3, 3]``
    (:func:`conv3d_spatiotemporal`) | ``Branch_2``: the same | ``Branch_3``:
    3x3x3 max pool -> 1x1x1, concatenated on channels. With
    ``self_gating_fn(net, scope=...)`` each branch's output is gated
    (Xie et al., https://arxiv.org/abs/1712.04851).

    Args:
        inputs: ``[N, C, T, H, W]`` (``'NDHWC'``: ``[N, T, H, W, C]``).
        num_outputs_0_0a .. num_outputs_3_0b: the channels of each branch's
            convolutions (``Branch_k/Conv2d_0x_...``).
        temporal_kernel_size: ``t`` of the 3x3 convolutions (1: 2-D in 3-D).
        self_gating_fn: None, or a gate such as :func:`slimtorch.nets.s3dg.self_gating`.
        data_format: None/``'NCDHW'`` or ``'NDHWC'``.
        scope: the block's variable scope (``'Mixed_3b'``).

    Returns:
        ``[N, C0 + C1 + C2 + C3, T, H, W]``.

    Example:
        >>> with slim.Graph(), slim.arg_scope([slim.max_pool3d], stride=1, padding='SAME'):
        ...     inception_block_v1_3d(torch.randn(1, 8, 4, 6, 6), 2, 3, 4, 1, 2, 2,
        ...                           scope='Mixed_3b').shape
        torch.Size([1, 10, 4, 6, 6])

    As in research/slim, the pool and convolutions take their stride and
    padding from the arg_scope (:func:`slimtorch.nets.s3dg.s3dg_base` sets
    ``stride=1, padding='SAME'``).
    """
    axis = channel_axis_3d(data_format)

    def gated(steps: list) -> list:
        return steps + [_Gate(self_gating_fn, steps[-1].name)] if self_gating_fn else steps

    def conv(name, depth, kernel):
        return Layer(name, conv3d, depth, kernel, data_format=data_format)

    def spatiotemporal(depth):
        return Layer("Conv2d_0b_3x3", conv3d_spatiotemporal, depth,
                     [temporal_kernel_size, 3, 3], data_format=data_format)

    block = Mixed(
        scope,
        gated([conv("Conv2d_0a_1x1", num_outputs_0_0a, [1, 1, 1])]),
        gated([conv("Conv2d_0a_1x1", num_outputs_1_0a, [1, 1, 1]),
               spatiotemporal(num_outputs_1_0b)]),
        gated([conv("Conv2d_0a_1x1", num_outputs_2_0a, [1, 1, 1]),
               spatiotemporal(num_outputs_2_0b)]),
        gated([Layer("MaxPool_0a_3x3", max_pool3d, [3, 3, 3], data_format=data_format),
               conv("Conv2d_0b_1x1", num_outputs_3_0b, [1, 1, 1])]),
        axis=axis)
    return block(inputs)


def reduced_kernel_size_3d(input_tensor: torch.Tensor, kernel_size: Sequence[int],
                           data_format: Optional[str] = None) -> list:
    """research/slim's kernel shrink for small inputs: ``[min(T, kt), min(H,
    kh), min(W, kw)]`` of a 5-D tensor (channels first unless ``data_format``
    is ``'NDHWC'``).

        >>> reduced_kernel_size_3d(torch.zeros(1, 8, 4, 3, 9), [2, 7, 7])
        [2, 3, 7]
    """
    if len(kernel_size) != 3 or input_tensor.dim() != 5:
        raise ValueError(f"reduced_kernel_size_3d: expected a 5-D tensor and 3 sizes, got "
                         f"{list(input_tensor.shape)} and {list(kernel_size)}")
    first = 1 if channel_axis_3d(data_format) == 4 else 2
    sizes = input_tensor.shape[first:first + 3]
    return [min(int(s), int(k)) for s, k in zip(sizes, kernel_size)]


def video_arg_scope(weight_decay: float, batch_norm_decay: float, batch_norm_epsilon: float,
                    separable: bool, **batch_norm_extra) -> dict:
    """The arg_scope of research/slim's ``i3d_arg_scope`` and ``s3dg_arg_scope``:
    ``slim.conv3d`` and :func:`conv3d_spatiotemporal` with L2 weight decay,
    relu and unfused batch norm (moving statistics also in collection
    ``'moving_vars'``); ``separable`` for :func:`conv3d_spatiotemporal`.
    ``batch_norm_extra`` joins the batch-norm parameters (I3D's ``renorm``).

        >>> sc = video_arg_scope(1e-7, 0.999, 0.001, separable=True)
        >>> sc[slim.arg_scope_func_key(conv3d_spatiotemporal)]['separable']
        True
    """
    batch_norm_params = {
        "decay": batch_norm_decay, "epsilon": batch_norm_epsilon, "fused": False,
        **batch_norm_extra,
        "variables_collections": {"beta": None, "gamma": None, "moving_mean": ["moving_vars"],
                                  "moving_variance": ["moving_vars"]},
    }
    with arg_scope([conv3d, conv3d_spatiotemporal],
                   weights_regularizer=l2_regularizer(weight_decay), activation_fn=F.relu,
                   normalizer_fn=batch_norm, normalizer_params=batch_norm_params):
        with arg_scope([conv3d_spatiotemporal], separable=separable) as sc:
            return sc
