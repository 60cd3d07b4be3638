"""``slim.conv2d``: convolution with TF-Slim's arguments, defaults and padding.

Tensors are NCHW as PyTorch users expect (``data_format='NHWC'`` is accepted
and gives identical results). Weights are stored in torch layout
``[out, in, kh, kw]``; their TF-Slim layout is ``[kh, kw, in, out]``.

    >>> with slim.Graph():
    ...     x = torch.arange(16.).reshape(1, 1, 4, 4)
    ...     y = slim.conv2d(x, 1, [3, 3], stride=2, activation_fn=None,
    ...                     weights_initializer=slim.ones_initializer())
    >>> y.flatten().tolist()          # TF 'SAME': the extra pixel is bottom/right
    [45.0, 39.0, 66.0, 50.0]
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..initializers import xavier_initializer, zeros_initializer
from ._activation import activate
from ._layer import Layer, as_pair, call_layer, create_weights_and_biases
from .padding import check_padding, conv_padding, static_same_padding

__all__ = ["Convolution2D", "conv2d", "convolution2d"]

_DATA_FORMATS = (None, "NCHW", "NHWC")


def check_data_format(data_format, scope: str) -> bool:
    """True for channels-last; raises on anything but None/'NCHW'/'NHWC'."""
    if data_format not in _DATA_FORMATS:
        raise ValueError(f"{scope}: data_format must be 'NCHW' or 'NHWC' (or None for NCHW), "
                         f"got {data_format!r}")
    return data_format == "NHWC"


class Convolution2D(Layer):
    """The module behind one ``slim.conv2d`` call (variables ``weights``, ``biases``)."""

    def __init__(self, scope_name: str, in_channels: int, num_outputs: int, kernel_size,
                 stride, padding: str, rate, activation_fn, channels_last: bool) -> None:
        super().__init__(scope_name)
        self.in_channels = in_channels
        self.num_outputs = num_outputs
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.rate = rate
        self.activation_fn = activation_fn
        self.channels_last = channels_last
        if padding == "VALID":
            self._native_padding = (0, 0)
        else:
            static = [static_same_padding(k, s, d) for k, s, d in zip(kernel_size, stride, rate)]
            self._native_padding = None if None in static else tuple(static)

    def linear(self, inputs: torch.Tensor) -> torch.Tensor:
        """The convolution plus biases (no normalizer, no activation)."""
        if inputs.dim() != 4 or inputs.shape[1] != self.in_channels:
            raise self.shape_error(inputs, f"[N, {self.in_channels}, H, W] (NCHW)")
        padding = self._native_padding
        if padding is None:
            padding, explicit = conv_padding(inputs.shape[2], inputs.shape[3],
                                             self.kernel_size, self.stride, self.rate)
            if explicit is not None:
                inputs = F.pad(inputs, explicit)
                padding = (0, 0)
        return F.conv2d(inputs, self.weights, self._parameters.get("biases"), self.stride,
                        padding, self.rate)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return activate(self.linear(inputs.permute(0, 3, 1, 2)),
                            self.activation_fn).permute(0, 2, 3, 1)
        return activate(self.linear(inputs), self.activation_fn)

    def normalize(self, inputs, normalizer_fn, normalizer_params, activation_fn):
        if not self.channels_last:
            return super().normalize(inputs, normalizer_fn, normalizer_params, activation_fn)
        return super().normalize(inputs.permute(0, 3, 1, 2), normalizer_fn, normalizer_params,
                                 activation_fn).permute(0, 2, 3, 1)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.num_outputs}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding!r}, rate={self.rate}, "
                f"scope={self.scope_name!r}")


@add_arg_scope
def convolution2d(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1, padding="SAME",
                  data_format: Optional[str] = None, rate=1, activation_fn=F.relu,
                  normalizer_fn=None, normalizer_params=None,
                  weights_initializer=xavier_initializer(), weights_regularizer=None,
                  biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
                  variables_collections=None, outputs_collections=None, trainable: bool = True,
                  scope: Optional[str] = None) -> torch.Tensor:
    """A 2-D convolution, then biases or ``normalizer_fn``, then ``activation_fn``.

    Args:
        inputs: ``[N, C, H, W]`` (or ``[N, H, W, C]`` with ``data_format='NHWC'``).
        num_outputs: number of output channels.
        kernel_size: ``k`` or ``[kh, kw]``.
        stride: ``s`` or ``[sh, sw]``.
        padding: ``'SAME'`` (TensorFlow's rule, extra pixel bottom/right) or ``'VALID'``.
        rate: dilation; a rate above 1 needs stride 1, as in TF-Slim.
        activation_fn: applied last; ``None`` for a linear layer. Default ReLU.
        normalizer_fn: e.g. ``slim.batch_norm``; replaces the biases and runs
            inside this layer's scope (``conv1/BatchNorm/...``).
        weights_initializer, biases_initializer: TF-layout initializers
            (Xavier and zeros); ``biases_initializer=None`` creates no biases.
        weights_regularizer, biases_regularizer: penalties for the losses.
        reuse: share the variables of an existing ``scope``.
        variables_collections: extra collections, a list or a dict keyed by
            ``'weights'``/``'biases'``.
        outputs_collections: collections that receive the output under this
            layer's scope name.
        trainable: whether the variables are trained.
        scope: the layer's variable scope (default ``Conv``, ``Conv_1``, ...).

    Returns:
        The output tensor, NCHW like the input.
    """
    def new_layer(ls):
        layer = ls.create(_new_conv(ls.path, inputs, num_outputs, kernel_size, stride, padding,
                                    data_format, rate, activation_fn, normalizer_fn))
        kh, kw = layer.kernel_size
        create_weights_and_biases([kh, kw, layer.in_channels, num_outputs], "conv", num_outputs,
                                  inputs.dtype, normalizer_fn is None, weights_initializer,
                                  weights_regularizer, biases_initializer, biases_regularizer,
                                  variables_collections, trainable)
        return layer

    return call_layer(inputs, scope, "Conv", reuse, new_layer, normalizer_fn, normalizer_params,
                      activation_fn, outputs_collections)


conv2d = convolution2d


def _new_conv(path, inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
              activation_fn, normalizer_fn) -> Convolution2D:
    channels_last = check_data_format(data_format, path)
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{path}: conv2d expects a 4-D input [N, C, H, W], got {shape}")
    if not isinstance(num_outputs, int) or num_outputs <= 0:
        raise ValueError(f"{path}: num_outputs must be a positive int, got {num_outputs!r}")
    kernel = as_pair(kernel_size, "kernel_size", path)
    strides = as_pair(stride, "stride", path)
    rates = as_pair(rate, "rate", path)
    if min(kernel) < 1 or min(strides) < 1 or min(rates) < 1:
        raise ValueError(f"{path}: kernel_size, stride and rate must be >= 1")
    if max(rates) > 1 and max(strides) > 1:
        raise ValueError(f"{path}: rate > 1 cannot be combined with stride > 1")
    in_channels = inputs.shape[3] if channels_last else inputs.shape[1]
    return Convolution2D(path, in_channels, num_outputs, kernel, strides,
                         check_padding(padding, path), rates,
                         activation_fn if normalizer_fn is None else None, channels_last)
