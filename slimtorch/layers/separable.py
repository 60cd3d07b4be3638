"""``slim.separable_conv2d`` and ``slim.conv2d_in_plane``: convolutions that
filter each input channel on its own (a grouped ``F.conv2d``).

A depthwise kernel is ``[kh, kw, in, mult]`` in TF layout and is stored as
``[in·mult, 1, kh, kw]`` for ``F.conv2d(..., groups=in)``; output channel
``c·mult + m`` is TF's channel ``(c, m)``, as in ``tf.nn.depthwise_conv2d``.
Padding is TF's ``'SAME'``/``'VALID'``, applied to the depthwise step; the
pointwise step is a 1x1 convolution.

    >>> with slim.Graph():
    ...     y = separable_conv2d(torch.randn(2, 3, 8, 8), 16, [3, 3], depth_multiplier=2)
    ...     [(v.name, tuple(v.shape)) for v in slim.get_model_variables()]
    [('SeparableConv2d/depthwise_weights', (6, 1, 3, 3)),
     ('SeparableConv2d/pointwise_weights', (16, 6, 1, 1)), ('SeparableConv2d/biases', (16,))]

(TF shapes ``[3, 3, 3, 2]``, ``[1, 1, 6, 16]`` and ``[16]``.)
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from .._layouts import depthwise_layout
from ..arg_scope import add_arg_scope
from ..initializers import xavier_initializer, zeros_initializer
from ..variables import model_variable
from ..scopes import current_frame
from ._conv_base import (ChannelsFirstLayer, ConvPlan, as_tuple, channels_last_format,
                         check_input, conv_geometry, input_channels)
from ._fused import conv2d_activated
from ._layer import call_layer, create_weights_and_biases, frozen, variables_collections_for
from .padding import same_pad, same_pad_in_kernel

__all__ = ["ConvolutionInPlane", "SeparableConvolution2D", "conv2d_in_plane",
           "convolution2d_in_plane", "separable_conv2d", "separable_convolution2d"]


class _Depthwise(ChannelsFirstLayer):
    """A grouped 2-D convolution with TF's padding (``groups = in_channels``)."""

    dims = 2

    def _kernel_plan(self, kernel_size, stride, padding, rate, channels_last, activation_fn,
                     with_biases) -> ConvPlan:
        kernel = as_tuple(kernel_size, 2, "kernel_size", self.scope_name)
        if kernel != self.kernel_size:
            raise self.mismatch_error("kernel_size", kernel, self.kernel_size)
        self.check_biases(with_biases)
        return conv_geometry(self.scope_name, kernel, stride, padding, rate, channels_last,
                             activation_fn)

    def depthwise(self, inputs: torch.Tensor, kernel: torch.Tensor, biases,
                  plan: ConvPlan, activation_fn=None) -> torch.Tensor:
        padding = plan.static_padding
        if padding is None:
            # On the CPU a padded copy costs more than the convolution (fresh
            # pages for a large tensor); GPUs have a caching allocator and
            # kernels tuned for odd depthwise sizes, so they keep the copy.
            in_kernel = same_pad_in_kernel(inputs, kernel, plan.stride, plan.rate) \
                if inputs.device.type == "cpu" else None
            if in_kernel is not None:
                kernel, padding = in_kernel
            else:
                inputs, padding = same_pad(inputs, self.kernel_size, plan.stride, plan.rate)
        return conv2d_activated(inputs, kernel, biases, plan.stride, padding, plan.rate,
                                self.in_channels, activation_fn)

    def folded_biases(self, scale: torch.Tensor, shift: torch.Tensor, dtype) -> torch.Tensor:
        """The biases computing ``linear(x) * scale + shift`` per channel."""
        biases = self.optional_variable("biases")
        return shift.to(dtype) if biases is None else shift + biases * scale.to(dtype)


class SeparableConvolution2D(_Depthwise):
    """The module behind one ``slim.separable_conv2d`` scope: ``depthwise_weights``,
    ``pointwise_weights`` (unless ``num_outputs`` is None) and ``biases``;
    stride, padding, rate, data_format and activation_fn come with each call."""

    def __init__(self, scope_name: str, in_channels: int, num_outputs: Optional[int],
                 depth_multiplier: int, kernel_size) -> None:
        super().__init__(scope_name)
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.num_outputs = num_outputs
        self.depth_multiplier = depth_multiplier

    def make_plan(self, settings: tuple) -> ConvPlan:
        num_outputs, depth_multiplier, kernel_size, stride, padding, rate, channels_last, \
            activation_fn, with_biases = settings
        _check_counts(self.scope_name, num_outputs, depth_multiplier)
        if num_outputs != self.num_outputs:
            raise self.mismatch_error("num_outputs", num_outputs, self.num_outputs)
        if depth_multiplier != self.depth_multiplier:
            raise self.mismatch_error("depth_multiplier", depth_multiplier, self.depth_multiplier)
        return self._kernel_plan(kernel_size, stride, padding, rate, channels_last,
                                 activation_fn, with_biases)

    def linear(self, inputs: torch.Tensor, plan: ConvPlan) -> torch.Tensor:
        """Depthwise, then pointwise (if any), plus biases; channels-first."""
        return self.activated_linear(inputs, plan, None)

    def activated_linear(self, inputs: torch.Tensor, plan: ConvPlan, activation_fn) -> torch.Tensor:
        last = self.depthwise_weights if self.num_outputs is None else self.pointwise_weights
        return self.folded_linear(inputs, plan, (last, self.optional_variable("biases")),
                                  activation_fn)

    def fold_sources(self) -> tuple:
        """The variables :meth:`fold` reads (their changes invalidate a fold)."""
        last = self.depthwise_weights if self.num_outputs is None else self.pointwise_weights
        biases = self.optional_variable("biases")
        return (last,) if biases is None else (last, biases)

    def fold(self, scale: torch.Tensor, shift: torch.Tensor) -> tuple:
        """The last step's kernel and the biases computing ``linear(x) * scale
        + shift`` per output channel (a batch norm folded in)."""
        last = self.fold_sources()[0]
        return (last * scale.to(last.dtype).view(-1, 1, 1, 1),
                self.folded_biases(scale, shift, last.dtype))

    def folded_linear(self, inputs: torch.Tensor, plan: ConvPlan, folded: tuple,
                      activation_fn) -> torch.Tensor:
        """``activation_fn`` of depthwise then pointwise, the last of them
        (pointwise, or depthwise when there is none) with ``folded``'s kernel
        and biases."""
        kernel, biases = folded
        if self.num_outputs is None:
            return self.depthwise(inputs, kernel, biases, plan, activation_fn)
        return conv2d_activated(self.depthwise(inputs, self.depthwise_weights, None, plan),
                                kernel, biases, (1, 1), (0, 0), (1, 1), 1, activation_fn)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.num_outputs}, kernel_size={self.kernel_size}, "
                f"depth_multiplier={self.depth_multiplier}, scope={self.scope_name!r}")


class ConvolutionInPlane(_Depthwise):
    """The module behind one ``slim.conv2d_in_plane`` scope: one ``weights
    [kh, kw, 1, 1]`` kernel for every channel, ``biases [C]``."""

    def __init__(self, scope_name: str, in_channels: int, kernel_size) -> None:
        super().__init__(scope_name)
        self.in_channels = in_channels
        self.kernel_size = kernel_size

    def make_plan(self, settings: tuple) -> ConvPlan:
        kernel_size, stride, padding, activation_fn, with_biases = settings
        return self._kernel_plan(kernel_size, stride, padding, 1, False, activation_fn,
                                 with_biases)

    def linear(self, inputs: torch.Tensor, plan: ConvPlan) -> torch.Tensor:
        """The shared kernel applied to each channel, plus biases; channels-first."""
        return self.activated_linear(inputs, plan, None)

    def activated_linear(self, inputs: torch.Tensor, plan: ConvPlan, activation_fn) -> torch.Tensor:
        # expand is a view: the C copies share one kernel and their gradients add up.
        kernel = self.weights.expand(self.in_channels, -1, -1, -1)
        return self.depthwise(inputs, kernel, self.optional_variable("biases"), plan,
                              activation_fn)

    def fold_sources(self) -> tuple:
        """The variables :meth:`fold` reads (their changes invalidate a fold)."""
        biases = self.optional_variable("biases")
        return (self.weights,) if biases is None else (self.weights, biases)

    def fold(self, scale: torch.Tensor, shift: torch.Tensor) -> tuple:
        """A per-channel kernel and biases computing ``linear(x) * scale +
        shift`` (a batch norm folded in)."""
        kernel = self.weights.expand(self.in_channels, -1, -1, -1)
        return (kernel * scale.to(kernel.dtype).view(-1, 1, 1, 1),
                self.folded_biases(scale, shift, kernel.dtype))

    def folded_linear(self, inputs: torch.Tensor, plan: ConvPlan, folded: tuple,
                      activation_fn) -> torch.Tensor:
        """``activation_fn`` of the depthwise convolution with ``folded``."""
        return self.depthwise(inputs, *folded, plan, activation_fn)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, kernel_size={self.kernel_size}, scope={self.scope_name!r}"


def _check_counts(path, num_outputs, depth_multiplier) -> None:
    if num_outputs is not None and (isinstance(num_outputs, bool)
                                    or not isinstance(num_outputs, int) or num_outputs <= 0):
        raise ValueError(f"{path}: num_outputs must be a positive int or None, "
                         f"got {num_outputs!r}")
    if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, int) \
            or depth_multiplier <= 0:
        raise ValueError(f"{path}: depth_multiplier must be a positive int, "
                         f"got {depth_multiplier!r}")


def _checked_kernel(path, inputs, kernel_size, stride, padding, rate, what, channels_last):
    """Build-time checks of the input and settings; the kernel as a tuple."""
    check_input(inputs, 4, path, what)
    kernel = as_tuple(kernel_size, 2, "kernel_size", path)
    conv_geometry(path, kernel, stride, padding, rate, channels_last, None)
    return kernel


@add_arg_scope
def separable_convolution2d(inputs: torch.Tensor, num_outputs: Optional[int], kernel_size,
                            depth_multiplier: int = 1, stride=1, padding="SAME",
                            data_format: Optional[str] = None, rate=1, activation_fn=F.relu,
                            normalizer_fn=None, normalizer_params=None,
                            weights_initializer=xavier_initializer(), pointwise_initializer=None,
                            weights_regularizer=None, biases_initializer=zeros_initializer(),
                            biases_regularizer=None, reuse=None, variables_collections=None,
                            outputs_collections=None, trainable: bool = True,
                            scope: Optional[str] = None) -> torch.Tensor:
    """A depthwise-separable 2-D convolution, then biases or ``normalizer_fn``,
    then ``activation_fn``.

    Args:
        inputs: ``[N, C, H, W]`` (``[N, H, W, C]`` with ``data_format='NHWC'``).
        num_outputs: channels of the pointwise (1x1) convolution; None skips
            it, leaving a depthwise convolution with ``C·depth_multiplier``
            output channels.
        kernel_size, stride, rate: an int or ``[h, w]``, of the depthwise step.
        depth_multiplier: depthwise output channels per input channel.
        padding: ``'SAME'`` (TF's rule) or ``'VALID'``.
        weights_initializer: the depthwise kernel's, on TF's ``[kh, kw, in,
            mult]`` (so Xavier's fans are ``kh·kw·in`` and ``kh·kw·mult``).
        pointwise_initializer: the pointwise kernel's; None means
            ``weights_initializer``.
        weights_regularizer: applied to both kernels.
        Other arguments: as ``slim.conv2d``. Variables ``depthwise_weights
        [kh, kw, in, mult]``, ``pointwise_weights [1, 1, in·mult, out]``,
        ``biases [out]`` (``[in·mult]`` without pointwise); default scope
        ``SeparableConv2d``.

    Returns:
        The output, in the input's layout.

    Example:
        >>> with slim.Graph():
        ...     y = separable_conv2d(torch.randn(1, 4, 9, 9), None, 3, depth_multiplier=2,
        ...                          stride=2)
        ...     y.shape, [v.name for v in slim.get_model_variables()]
        (torch.Size([1, 8, 5, 5]), ['SeparableConv2d/depthwise_weights', 'SeparableConv2d/biases'])
    """
    with_biases = normalizer_fn is None and biases_initializer is not None

    def new_layer(ls):
        path = ls.path
        _check_counts(path, num_outputs, depth_multiplier)
        kernel = _checked_kernel(path, inputs, kernel_size, stride, padding, rate,
                                 "separable_conv2d", channels_last)
        layer = ls.create(SeparableConvolution2D(path, input_channels(inputs, channels_last),
                                                 num_outputs, depth_multiplier, kernel))
        _create_separable_variables(layer, inputs.dtype, with_biases, weights_initializer,
                                    pointwise_initializer, weights_regularizer,
                                    biases_initializer, biases_regularizer,
                                    variables_collections, trainable)
        return layer

    channels_last = data_format is not None and channels_last_format(
        data_format, current_frame().top.join(scope or "SeparableConv2d"), 2)
    settings = (num_outputs, depth_multiplier, frozen(kernel_size), frozen(stride), padding,
                frozen(rate), channels_last, activation_fn if normalizer_fn is None else None,
                with_biases)
    return call_layer(inputs, scope, "SeparableConv2d", reuse, new_layer, normalizer_fn,
                      normalizer_params, activation_fn, outputs_collections, settings=settings)


def _create_separable_variables(layer, dtype, with_biases, weights_initializer,
                                pointwise_initializer, weights_regularizer, biases_initializer,
                                biases_regularizer, variables_collections, trainable) -> None:
    """TF-Slim's variables, in its order; both kernels in the 'weights' collections."""
    kh, kw = layer.kernel_size
    channels = layer.in_channels * layer.depth_multiplier
    weights_collections = variables_collections_for(variables_collections, "weights")
    model_variable("depthwise_weights", shape=[kh, kw, layer.in_channels, layer.depth_multiplier],
                   dtype=dtype, initializer=weights_initializer, regularizer=weights_regularizer,
                   trainable=trainable, collections=weights_collections,
                   layout=depthwise_layout(layer.depth_multiplier))
    num_outputs = channels
    if layer.num_outputs is not None:
        num_outputs = layer.num_outputs
        model_variable("pointwise_weights", shape=[1, 1, channels, num_outputs], dtype=dtype,
                       initializer=pointwise_initializer or weights_initializer,
                       regularizer=weights_regularizer, trainable=trainable,
                       collections=weights_collections, layout="conv")
    if with_biases and biases_initializer is not None:
        model_variable("biases", shape=[num_outputs], dtype=dtype, initializer=biases_initializer,
                       regularizer=biases_regularizer, trainable=trainable,
                       collections=variables_collections_for(variables_collections, "biases"))


@add_arg_scope
def convolution2d_in_plane(inputs: torch.Tensor, kernel_size, stride=1, padding="SAME",
                           activation_fn=F.relu, normalizer_fn=None, normalizer_params=None,
                           weights_initializer=xavier_initializer(), weights_regularizer=None,
                           biases_initializer=zeros_initializer(), biases_regularizer=None,
                           reuse=None, variables_collections=None, outputs_collections=None,
                           trainable: bool = True, scope: Optional[str] = None) -> torch.Tensor:
    """The same 2-D kernel applied to every channel of ``[N, C, H, W]`` on its own.

    Useful for channel-independent filters such as image gradients. Variables
    ``weights [kh, kw, 1, 1]`` (one kernel, shared) and ``biases [C]``;
    default scope ``ConvInPlane``. Other arguments: as ``slim.conv2d``.

    Example (vertical differences, ``kernel=[1, -1]`` of the TF-Slim docstring):
        >>> with slim.Graph():
        ...     image = torch.tensor([[1., 2.], [4., 8.]]).expand(1, 3, 2, 2)
        ...     grad = conv2d_in_plane(image, [2, 1], activation_fn=None,
        ...                            weights_initializer=slim.constant_initializer([1., -1.]))
        >>> grad[0, 2].tolist()       # row 0 - row 1; row 1 - (padding below)
        [[-3.0, -6.0], [4.0, 8.0]]
    """
    with_biases = normalizer_fn is None and biases_initializer is not None

    def new_layer(ls):
        kernel = _checked_kernel(ls.path, inputs, kernel_size, stride, padding, 1,
                                 "conv2d_in_plane", False)
        layer = ls.create(ConvolutionInPlane(ls.path, input_channels(inputs, False), kernel))
        create_weights_and_biases([*kernel, 1, 1], "conv", layer.in_channels, inputs.dtype,
                                  with_biases, weights_initializer, weights_regularizer,
                                  biases_initializer, biases_regularizer, variables_collections,
                                  trainable)
        return layer

    settings = (frozen(kernel_size), frozen(stride), padding,
                activation_fn if normalizer_fn is None else None, with_biases)
    return call_layer(inputs, scope, "ConvInPlane", reuse, new_layer, normalizer_fn,
                      normalizer_params, activation_fn, outputs_collections, settings=settings)


separable_conv2d = separable_convolution2d
conv2d_in_plane = convolution2d_in_plane
