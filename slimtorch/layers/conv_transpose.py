"""``slim.conv2d_transpose`` and ``slim.conv3d_transpose``, with TF's output sizes.

TF computes a transposed convolution as the gradient (with respect to its
input) of the forward convolution that would map the output back onto the
input. So the output size is ``in·stride`` for ``'SAME'`` and
``in·stride + max(k − stride, 0)`` for ``'VALID'``, and for ``'SAME'`` TF
keeps the window of the full transposed result that starts at the forward
convolution's *top/left* padding, ``max(k − stride, 0) // 2``: an odd total
crops one more pixel at the bottom/right, which torch's symmetric
``padding=`` cannot express. Where ``k < stride`` the full result is shorter
than ``in·stride`` and TF's output ends in zeros (torch's ``output_padding``).

Tensors are channels-first (``data_format=None``). Weights are TF ``[k...,
out, in]``, torch ``[in, out, k...]`` (``nn.ConvTranspose2d``'s layout).

    >>> with slim.Graph():
    ...     x = torch.ones(1, 1, 2, 2)
    ...     y = conv2d_transpose(x, 1, 3, stride=2, activation_fn=None,
    ...                          weights_initializer=slim.ones_initializer())
    >>> y[0, 0].tolist()        # 2 -> 4: full result rows 0..3 of 0..4
    [[1.0, 1.0, 2.0, 1.0], [1.0, 1.0, 2.0, 1.0], [2.0, 2.0, 4.0, 2.0], [1.0, 1.0, 2.0, 1.0]]
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..initializers import xavier_initializer, zeros_initializer
from ..scopes import current_frame
from ._conv_base import (ChannelsFirstLayer, as_tuple, channels_last_format,
                         check_input, check_num_outputs, input_channels)
from ._layer import call_layer, create_weights_and_biases, frozen
from .padding import check_padding

__all__ = ["ConvolutionTranspose", "conv2d_transpose", "conv3d_transpose",
           "convolution2d_transpose", "convolution3d_transpose", "transpose_output_size"]

_FUNCTIONAL = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def transpose_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """TF's output length of a transposed convolution (Keras ``deconv_output_length``)."""
    if padding == "SAME":
        return size * stride
    return size * stride + max(kernel - stride, 0)


def _window(kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """``(padding, output_padding, end_crop)`` that turn torch's transposed
    convolution into TF's for one axis; independent of the input size.

    Torch's result has length ``(in−1)·s + k − 2·padding + output_padding``;
    TF's window starts at ``before`` and has length ``in·s`` (SAME) or
    ``in·s + max(k−s, 0)`` (VALID).
    """
    total = max(kernel - stride, 0) if padding == "SAME" else 0
    before = total // 2
    extra = max(stride - kernel, 0)          # zeros TF appends when k < stride
    crop = total - 2 * before                # the odd pixel TF crops at the end
    return before, extra, crop


class _TransposePlan(NamedTuple):
    stride: tuple
    padding: str
    torch_padding: tuple
    output_padding: tuple
    end_crop: Optional[tuple]
    channels_last: bool
    activation_fn: Optional[Callable]


def _transpose_plan(path, kernel, stride, padding, channels_last, activation_fn) -> _TransposePlan:
    strides = as_tuple(stride, len(kernel), "stride", path)
    padding = check_padding(padding, path)
    windows = [_window(k, s, padding) for k, s in zip(kernel, strides)]
    end_crop = tuple(w[2] for w in windows) if any(w[2] for w in windows) else None
    return _TransposePlan(strides, padding, tuple(w[0] for w in windows),
                          tuple(w[1] for w in windows), end_crop, channels_last, activation_fn)


class ConvolutionTranspose(ChannelsFirstLayer):
    """The module behind one ``slim.conv2d_transpose`` or ``conv3d_transpose``
    scope; stride, padding, data_format and activation_fn come with each call."""

    def __init__(self, scope_name: str, in_channels: int, num_outputs: int, kernel_size) -> None:
        super().__init__(scope_name)
        self.dims = len(kernel_size)
        self.in_channels = in_channels
        self.num_outputs = num_outputs
        self.kernel_size = kernel_size

    def make_plan(self, settings: tuple) -> _TransposePlan:
        num_outputs, kernel_size, stride, padding, channels_last, activation_fn, \
            with_biases = settings
        kernel = self.check_variables_match(num_outputs, kernel_size, with_biases)
        return _transpose_plan(self.scope_name, kernel, stride, padding, channels_last,
                               activation_fn)

    def linear(self, inputs: torch.Tensor, plan: _TransposePlan) -> torch.Tensor:
        """The transposed convolution plus biases, channels-first."""
        outputs = _FUNCTIONAL[self.dims](inputs, self.weights, self.optional_variable("biases"),
                                         plan.stride, plan.torch_padding, plan.output_padding)
        if plan.end_crop is not None:
            outputs = outputs[(..., *(slice(0, n - c) for n, c in
                                      zip(outputs.shape[2:], plan.end_crop)))]
        return outputs

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.num_outputs}, kernel_size={self.kernel_size}, "
                f"scope={self.scope_name!r}")


def _transpose(dims, default_name, inputs, num_outputs, kernel_size, stride, padding,
               data_format, activation_fn, normalizer_fn, normalizer_params, weights_initializer,
               weights_regularizer, biases_initializer, biases_regularizer, reuse,
               variables_collections, outputs_collections, trainable, scope):
    with_biases = normalizer_fn is None and biases_initializer is not None

    def new_layer(ls):
        path = ls.path
        channels_last = channels_last_format(data_format, path, dims)
        check_input(inputs, dims + 2, path, f"conv{dims}d_transpose")
        check_num_outputs(num_outputs, path)
        kernel = as_tuple(kernel_size, dims, "kernel_size", path)
        _transpose_plan(path, kernel, stride, padding, channels_last, None)  # checks first
        layer = ls.create(ConvolutionTranspose(path, input_channels(inputs, channels_last),
                                               num_outputs, kernel))
        create_weights_and_biases([*kernel, num_outputs, layer.in_channels], "conv_transpose",
                                  num_outputs, inputs.dtype, with_biases, weights_initializer,
                                  weights_regularizer, biases_initializer, biases_regularizer,
                                  variables_collections, trainable)
        return layer

    channels_last = data_format is not None and channels_last_format(
        data_format, current_frame().top.join(scope or default_name), dims)
    settings = (num_outputs, frozen(kernel_size), frozen(stride), padding, channels_last,
                activation_fn if normalizer_fn is None else None, with_biases)
    return call_layer(inputs, scope, default_name, reuse, new_layer, normalizer_fn,
                      normalizer_params, activation_fn, outputs_collections, settings=settings)


@add_arg_scope
def convolution2d_transpose(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1,
                            padding="SAME", data_format: Optional[str] = None,
                            activation_fn=F.relu, normalizer_fn=None, normalizer_params=None,
                            weights_initializer=xavier_initializer(), weights_regularizer=None,
                            biases_initializer=zeros_initializer(), biases_regularizer=None,
                            reuse=None, variables_collections=None, outputs_collections=None,
                            trainable: bool = True, scope: Optional[str] = None) -> torch.Tensor:
    """A 2-D transposed convolution ("deconvolution"), then biases or
    ``normalizer_fn``, then ``activation_fn``.

    Args:
        inputs: ``[N, C, H, W]`` (``[N, H, W, C]`` with ``data_format='NHWC'``).
        num_outputs: number of output channels.
        kernel_size, stride: an int or ``[h, w]``.
        padding: ``'SAME'``: output ``in·stride``; ``'VALID'``: ``in·stride +
            max(k − stride, 0)``, TF's sizes and pixels (see the module doc).
        data_format: None or ``'NCHW'`` (channels-first), or ``'NHWC'``.
        Other arguments: as ``slim.conv2d``. Variables ``weights [kh, kw,
        out, in]`` (TF layout) and ``biases [out]``; default scope
        ``Conv2d_transpose``.

    Returns:
        The output, in the input's layout.

    Example:
        >>> with slim.Graph():
        ...     x = torch.randn(1, 3, 8, 8)
        ...     same = conv2d_transpose(x, 4, 3, stride=2)
        ...     valid = conv2d_transpose(x, 4, 3, stride=2, padding='VALID')
        ...     same.shape[2:], valid.shape[2:], slim.get_model_variables()[2].name
        (torch.Size([16, 16]), torch.Size([17, 17]), 'Conv2d_transpose_1/weights')
    """
    return _transpose(2, "Conv2d_transpose", inputs, num_outputs, kernel_size, stride, padding,
                      data_format, activation_fn, normalizer_fn, normalizer_params,
                      weights_initializer, weights_regularizer, biases_initializer,
                      biases_regularizer, reuse, variables_collections, outputs_collections,
                      trainable, scope)


@add_arg_scope
def convolution3d_transpose(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1,
                            padding="SAME", data_format: Optional[str] = None,
                            activation_fn=F.relu, normalizer_fn=None, normalizer_params=None,
                            weights_initializer=xavier_initializer(), weights_regularizer=None,
                            biases_initializer=zeros_initializer(), biases_regularizer=None,
                            reuse=None, variables_collections=None, outputs_collections=None,
                            trainable: bool = True, scope: Optional[str] = None) -> torch.Tensor:
    """The 3-D ``conv2d_transpose``: ``[N, C, D, H, W]`` (``'NDHWC'``:
    channels last), ``weights [kd, kh, kw, out, in]``, default scope
    ``Conv3d_transpose``.

    Example:
        >>> with slim.Graph():
        ...     convolution3d_transpose(torch.randn(1, 2, 2, 3, 4), 5, 2, stride=2).shape
        torch.Size([1, 5, 4, 6, 8])
    """
    return _transpose(3, "Conv3d_transpose", inputs, num_outputs, kernel_size, stride, padding,
                      data_format, activation_fn, normalizer_fn, normalizer_params,
                      weights_initializer, weights_regularizer, biases_initializer,
                      biases_regularizer, reuse, variables_collections, outputs_collections,
                      trainable, scope)


conv2d_transpose = convolution2d_transpose
conv3d_transpose = convolution3d_transpose
