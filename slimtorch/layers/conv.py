"""``slim.conv2d`` and its 1-D, 3-D and N-D siblings: convolution with
TF-Slim's arguments, defaults and padding.

Tensors are channels-first as PyTorch users expect (``data_format='NHWC'``
and the other channels-last names are accepted and give identical results).
Weights are stored in torch layout ``[out, in, k...]``; their TF-Slim layout
is ``[k..., in, out]``. The dimensionality follows the input rank (3/4/5 ->
1-D/2-D/3-D) for ``slim.convolution``.

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
from ..scopes import current_frame
from ._conv_base import (ALL_FORMATS, SPATIAL_NAMES, ChannelsFirstLayer, ConvPlan, as_tuple,
                         channels_last_format, check_num_outputs, conv_geometry,
                         input_channels)
from ._activation import activate
from ._fused import conv2d_activated
from ._layer import call_layer, create_weights_and_biases, frozen
from .padding import same_pad

__all__ = ["ConvolutionND", "conv1d", "conv2d", "conv3d", "convolution", "convolution1d",
           "convolution2d", "convolution3d"]

_FUNCTIONAL = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class ConvolutionND(ChannelsFirstLayer):
    """The module behind one ``slim.conv1d``/``conv2d``/``conv3d`` scope
    (``weights``, ``biases``); stride, padding, rate, data_format and
    activation_fn come with each call."""

    def __init__(self, scope_name: str, in_channels: int, num_outputs: int, kernel_size) -> None:
        super().__init__(scope_name)
        self.dims = len(kernel_size)
        self.in_channels = in_channels
        self.num_outputs = num_outputs
        self.kernel_size = kernel_size

    def make_plan(self, settings: tuple) -> ConvPlan:
        num_outputs, kernel_size, stride, padding, rate, channels_last, activation_fn, \
            with_biases = settings
        kernel = self.check_variables_match(num_outputs, kernel_size, with_biases)
        return conv_geometry(self.scope_name, kernel, stride, padding, rate, channels_last,
                             activation_fn)

    def linear(self, inputs: torch.Tensor, plan: ConvPlan) -> torch.Tensor:
        """The convolution plus biases, channels-first."""
        return self._convolve(inputs, plan, self.weights, self.optional_variable("biases"), None)

    def activated_linear(self, inputs: torch.Tensor, plan: ConvPlan, activation_fn) -> torch.Tensor:
        return self._convolve(inputs, plan, self.weights, self.optional_variable("biases"),
                              activation_fn)

    def fold_sources(self) -> tuple:
        """The variables :meth:`fold` reads (their changes invalidate a fold)."""
        biases = self.optional_variable("biases")
        return (self.weights,) if biases is None else (self.weights, biases)

    def fold(self, scale: torch.Tensor, shift: torch.Tensor) -> tuple:
        """``(weights, biases)`` computing ``linear(x) * scale + shift`` per
        output channel (a batch norm folded in)."""
        weights, biases = self.weights, self.optional_variable("biases")
        scale = scale.to(weights.dtype)
        folded_biases = shift.to(weights.dtype) if biases is None else shift + biases * scale
        return weights * scale.view(-1, *[1] * (weights.dim() - 1)), folded_biases

    def folded_linear(self, inputs: torch.Tensor, plan: ConvPlan, folded: tuple,
                      activation_fn) -> torch.Tensor:
        """``activation_fn`` of the convolution with :meth:`fold`'s tensors."""
        return self._convolve(inputs, plan, *folded, activation_fn)

    def _convolve(self, inputs: torch.Tensor, plan: ConvPlan, weights: torch.Tensor, biases,
                  activation_fn) -> torch.Tensor:
        padding = plan.static_padding
        if self._covers_input(inputs, padding, plan.rate):
            return activate(self._as_matmul(inputs, weights, biases), activation_fn)
        if padding is None:
            inputs, padding = same_pad(inputs, self.kernel_size, plan.stride, plan.rate)
        if self.dims == 2:
            return conv2d_activated(inputs, weights, biases, plan.stride, padding, plan.rate, 1,
                                    activation_fn)
        return activate(_FUNCTIONAL[self.dims](inputs, weights, biases, plan.stride, padding,
                                               plan.rate), activation_fn)

    def _covers_input(self, inputs: torch.Tensor, padding, rate) -> bool:
        """Whether the kernel sees the whole unpadded input once (one output
        pixel): TF-Slim's fully connected layers written as convolutions,
        VGG's fc6-fc8 and the zoo's logits."""
        return (self.dims == 2 and padding is not None and not any(padding)
                and all(r == 1 for r in rate)
                and tuple(inputs.shape[2:]) == tuple(self.kernel_size))

    @staticmethod
    def _as_matmul(inputs: torch.Tensor, weights: torch.Tensor, biases) -> torch.Tensor:
        """That convolution as one matrix product (a GEMM beats the
        convolution kernels on a 1x1 output, most of all in training).
        Flattening in NHWC order keeps channels-last inputs and weights
        zero-copy views; the sum is over the same products either way."""
        n, out = inputs.shape[0], weights.shape[0]
        rows = inputs.permute(0, 2, 3, 1).reshape(n, -1)
        outputs = F.linear(rows, weights.permute(0, 2, 3, 1).reshape(out, -1), biases)
        return outputs.reshape(n, out, 1, 1)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.num_outputs}, kernel_size={self.kernel_size}, "
                f"scope={self.scope_name!r}")


def _convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
                 activation_fn, normalizer_fn, normalizer_params, weights_initializer,
                 weights_regularizer, biases_initializer, biases_regularizer, reuse,
                 variables_collections, outputs_collections, trainable, scope, conv_dims):
    """The body shared by ``convolution`` and ``conv1d``/``conv2d``/``conv3d``
    (each keeps its own ``arg_scope``, as in TF-Slim)."""
    rank = inputs.dim() if isinstance(inputs, torch.Tensor) else None
    if (conv_dims is not None and rank != conv_dims + 2) or rank not in (3, 4, 5) \
            or data_format not in ALL_FORMATS:
        # Checked before the layer's scope opens (the rank picks the module),
        # so the error names the scope as it would be named.
        name = current_frame().top.join(scope or "Conv")
        channels_last_format(data_format, name, conv_dims)
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        if conv_dims is not None:
            raise ValueError(f"{name}: conv{conv_dims}d expects a {conv_dims + 2}-D input "
                             f"[N, C, {SPATIAL_NAMES[conv_dims]}], got {shape}")
        raise ValueError(f"{name}: convolution expects a 3-D, 4-D or 5-D input, got {shape}")
    # conv1d/2d/3d accept only their own two formats; `convolution` any of TF's.
    channels_last = channels_last_format(data_format, current_frame().top.join(scope or "Conv"),
                                         conv_dims)
    with_biases = normalizer_fn is None and biases_initializer is not None

    def new_layer(ls):
        path = ls.path
        check_num_outputs(num_outputs, path)
        kernel = as_tuple(kernel_size, inputs.dim() - 2, "kernel_size", path)
        # Settings are checked before anything is made (the plan is made after).
        conv_geometry(path, kernel, stride, padding, rate, channels_last, None)
        layer = ls.create(ConvolutionND(path, input_channels(inputs, channels_last), num_outputs,
                                        kernel))
        create_weights_and_biases([*kernel, layer.in_channels, num_outputs], "conv",
                                  num_outputs, inputs.dtype, with_biases, weights_initializer,
                                  weights_regularizer, biases_initializer, biases_regularizer,
                                  variables_collections, trainable)
        return layer

    settings = (num_outputs, frozen(kernel_size), frozen(stride), padding, frozen(rate),
                channels_last, activation_fn if normalizer_fn is None else None, with_biases)
    return call_layer(inputs, scope, "Conv", reuse, new_layer, normalizer_fn, normalizer_params,
                      activation_fn, outputs_collections, settings=settings)


@add_arg_scope
def convolution(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1, padding="SAME",
                data_format: Optional[str] = None, rate=1, activation_fn=F.relu,
                normalizer_fn=None, normalizer_params=None,
                weights_initializer=xavier_initializer(), weights_regularizer=None,
                biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
                variables_collections=None, outputs_collections=None, trainable: bool = True,
                scope: Optional[str] = None, conv_dims: Optional[int] = None) -> torch.Tensor:
    """An N-D convolution (N = 1, 2, 3), then biases or ``normalizer_fn``, then
    ``activation_fn``.

    Args:
        inputs: ``[N, C, W]``, ``[N, C, H, W]`` or ``[N, C, D, H, W]``;
            channels-last with ``data_format`` ``'NWC'``/``'NHWC'``/``'NDHWC'``.
        num_outputs: number of output channels.
        kernel_size, stride, rate: an int, or one int per spatial dimension.
            ``rate`` is the dilation; rate > 1 needs stride 1.
        padding: ``'SAME'`` (TF's rule: the extra pixel after) or ``'VALID'``.
        data_format: None (channels-first) or one of TF-Slim's seven names;
            one starting with ``'NC'`` is channels-first.
        conv_dims: 1, 2 or 3 to insist on that dimensionality (else ValueError).
        Other arguments: as ``slim.conv2d``. The default scope is ``Conv``.

    Returns:
        The output, in the input's layout.

    Example:
        >>> with slim.Graph():
        ...     y = convolution(torch.randn(2, 3, 4, 8, 8), 5, [1, 3, 3], scope='c3')
        ...     y.shape, slim.get_model_variables()[0].name
        (torch.Size([2, 5, 4, 8, 8]), 'c3/weights')
    """
    return _convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
                        activation_fn, normalizer_fn, normalizer_params, weights_initializer,
                        weights_regularizer, biases_initializer, biases_regularizer, reuse,
                        variables_collections, outputs_collections, trainable, scope, conv_dims)


@add_arg_scope
def convolution1d(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1, padding="SAME",
                  data_format: Optional[str] = None, rate=1, activation_fn=F.relu,
                  normalizer_fn=None, normalizer_params=None,
                  weights_initializer=xavier_initializer(), weights_regularizer=None,
                  biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
                  variables_collections=None, outputs_collections=None, trainable: bool = True,
                  scope: Optional[str] = None) -> torch.Tensor:
    """``convolution`` of a ``[N, C, W]`` input (``'NWC'``: ``[N, W, C]``);
    ``weights [k, in, out]``, default scope ``Conv``.

    Example:
        >>> with slim.Graph():
        ...     convolution1d(torch.randn(2, 3, 10), 4, 3, stride=2).shape
        torch.Size([2, 4, 5])
    """
    return _convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
                        activation_fn, normalizer_fn, normalizer_params, weights_initializer,
                        weights_regularizer, biases_initializer, biases_regularizer, reuse,
                        variables_collections, outputs_collections, trainable, scope, 1)


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
            inside this layer's scope (``conv1/BatchNorm/...``). It always
            receives the channels-first output, so leave ``data_format`` out
            of ``normalizer_params``.
        weights_initializer, biases_initializer: TF-layout initializers
            (Xavier and zeros); ``biases_initializer=None`` creates no biases.
        weights_regularizer, biases_regularizer: penalties for the losses.
        reuse: share the variables of an existing ``scope``. As in TF-Slim,
            the call's own stride, padding, rate, data_format and
            activation_fn run on them (so does a built model's later call);
            kernel_size, num_outputs and the input channels must match them.
        variables_collections: extra collections, a list or a dict keyed by
            ``'weights'``/``'biases'``.
        outputs_collections: collections that receive the output under this
            layer's scope name.
        trainable: whether the variables are trained.
        scope: the layer's variable scope (default ``Conv``, ``Conv_1``, ...).

    Returns:
        The output tensor, NCHW like the input.

    Example (one kernel at two strides, as research/slim's ``conv2d_same``):
        >>> with slim.Graph():
        ...     x = torch.randn(1, 3, 8, 8)
        ...     full = slim.conv2d(x, 4, [3, 3], scope='conv')
        ...     half = slim.conv2d(x, 4, [3, 3], stride=2, scope='conv', reuse=True)
        ...     full.shape[2:], half.shape[2:], len(slim.get_variables())
        (torch.Size([8, 8]), torch.Size([4, 4]), 2)
    """
    return _convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
                        activation_fn, normalizer_fn, normalizer_params, weights_initializer,
                        weights_regularizer, biases_initializer, biases_regularizer, reuse,
                        variables_collections, outputs_collections, trainable, scope, 2)


@add_arg_scope
def convolution3d(inputs: torch.Tensor, num_outputs: int, kernel_size, stride=1, padding="SAME",
                  data_format: Optional[str] = None, rate=1, activation_fn=F.relu,
                  normalizer_fn=None, normalizer_params=None,
                  weights_initializer=xavier_initializer(), weights_regularizer=None,
                  biases_initializer=zeros_initializer(), biases_regularizer=None, reuse=None,
                  variables_collections=None, outputs_collections=None, trainable: bool = True,
                  scope: Optional[str] = None) -> torch.Tensor:
    """``convolution`` of a ``[N, C, D, H, W]`` input (``'NDHWC'``: channels
    last); ``weights [kd, kh, kw, in, out]``, default scope ``Conv``.

    Example:
        >>> with slim.Graph():
        ...     convolution3d(torch.randn(1, 2, 5, 6, 7), 4, 3, padding='VALID').shape
        torch.Size([1, 4, 3, 4, 5])
    """
    return _convolution(inputs, num_outputs, kernel_size, stride, padding, data_format, rate,
                        activation_fn, normalizer_fn, normalizer_params, weights_initializer,
                        weights_regularizer, biases_initializer, biases_regularizer, reuse,
                        variables_collections, outputs_collections, trainable, scope, 3)


conv1d = convolution1d
conv2d = convolution2d
conv3d = convolution3d
