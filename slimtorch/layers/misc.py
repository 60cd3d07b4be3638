"""TF-Slim's smaller layers: ``bias_add``, ``one_hot_encoding``, ``unit_norm``,
``maxout``, ``poincare_normalize``, ``scale_gradient``, ``spatial_softmax``, and the ``relu``,
``relu6``, ``elu`` and ``linear`` shorthands of ``fully_connected``.

Names, defaults, default scopes and variable names are TF-Slim's. Tensors are
NCHW: where TF-Slim says "channels" (``bias_add``, ``spatial_softmax``) that
is dim 1 of an image and the last dim of a 2-D or 3-D tensor, and
``data_format='NHWC'`` gives identical results on channels-last tensors.
Where TF-Slim takes an explicit ``dim``/``axis`` (``unit_norm``, ``maxout``)
it indexes the tensor as given, so NCHW callers name the channel dim (1).

    >>> x = torch.tensor([[1., 5., 2., 0., 3., 4.]])
    >>> maxout(x, 2)              # max over channels {0, 1, 2} and {3, 4, 5}
    tensor([[5., 4.]])
"""

from __future__ import annotations

import functools
from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..initializers import constant_initializer, ones_initializer, zeros_initializer
from ..scopes import variable_scope
from ..utils import collect_named_outputs
from ..variables import model_variable
from ._activation import activate
from ._conv_base import channels_last_format
from ._layer import Layer, call_layer, op_name, variables_collections_for
from .core import _feature_dim, fully_connected

__all__ = ["BiasAdd", "SpatialSoftmax", "bias_add", "elu", "linear", "maxout",
           "one_hot_encoding", "poincare_normalize", "relu", "relu6", "scale_gradient",
           "spatial_softmax", "unit_norm"]


def _shape(inputs) -> object:
    return list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__


# -- bias_add -------------------------------------------------------------------------
def _channel_dim(inputs: torch.Tensor, data_format: Optional[str]) -> int:
    if data_format == "NHWC":  # TF: the last dim, whatever the rank
        return inputs.dim() - 1
    return 1 if data_format == "NCHW" else _feature_dim(inputs)


class BiasAdd(Layer):
    """The module behind one ``slim.bias_add`` scope (variable ``biases [C]``);
    ``data_format`` and ``activation_fn`` come with each call."""

    def __init__(self, scope_name: str, channels: int) -> None:
        super().__init__(scope_name)
        self.channels = channels

    def make_plan(self, settings: tuple) -> tuple:
        channels_last_format(settings[0], self.scope_name, 2)   # (data_format, activation_fn)
        return settings

    def forward(self, inputs: torch.Tensor, plan: Optional[tuple] = None) -> torch.Tensor:
        data_format, activation_fn = self.default_plan if plan is None else plan
        dim = _channel_dim(inputs, data_format)
        if inputs.dim() < 2 or inputs.shape[dim] != self.channels:
            raise self.shape_error(inputs, f"{self.channels} channels in dim {dim}")
        shape = [1] * inputs.dim()
        shape[dim] = self.channels
        return activate(inputs + self.optional_variable("biases").view(shape), activation_fn)

    def extra_repr(self) -> str:
        return f"{self.channels}, scope={self.scope_name!r}"


@add_arg_scope
def bias_add(inputs: torch.Tensor, activation_fn=None, initializer=zeros_initializer(),
             regularizer=None, reuse=None, variables_collections=None, outputs_collections=None,
             trainable: bool = True, data_format: Optional[str] = None,
             scope: Optional[str] = None) -> torch.Tensor:
    """Adds a learned bias per channel, then ``activation_fn``.

    Can serve as the ``normalizer_fn`` of ``conv2d``/``fully_connected``
    (variables ``<layer>/BiasAdd/biases``).

    Args:
        inputs: rank >= 2. The channel dim follows the module docstring
            (``data_format=None``), is dim 1 of a 4-D tensor (``'NCHW'``, as
            TF requires) or the last dim (``'NHWC'``, any rank).
        activation_fn: applied last; None (default) keeps it linear.
        initializer, regularizer: of the biases (default zeros, none).
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; the default scope is ``BiasAdd``.

    Returns:
        ``inputs + biases``, same shape and layout.

    Example:
        >>> y = bias_add(torch.zeros(2, 3, 4, 4), initializer=slim.ones_initializer())
        >>> slim.get_model_variables()[0].name, y.shape, y.sum().item()
        ('BiasAdd/biases', torch.Size([2, 3, 4, 4]), 96.0)
    """
    def new_layer(ls):
        channels_last_format(data_format, ls.path, 2)
        if not isinstance(inputs, torch.Tensor) or inputs.dim() < 2:
            raise ValueError(f"{ls.path}: bias_add expects an input of rank >= 2, "
                             f"got {_shape(inputs)}")
        if data_format == "NCHW" and inputs.dim() != 4:
            raise ValueError(f"{ls.path}: data_format 'NCHW' only supports 4-D inputs, "
                             f"got {_shape(inputs)}")
        channels = inputs.shape[_channel_dim(inputs, data_format)]
        layer = ls.create(BiasAdd(ls.path, channels))
        model_variable("biases", shape=[channels], dtype=inputs.dtype, initializer=initializer,
                       regularizer=regularizer, trainable=trainable,
                       collections=variables_collections_for(variables_collections, "biases"))
        return layer

    return call_layer(inputs, scope, "BiasAdd", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      settings=(data_format, activation_fn))


# -- one_hot_encoding, unit_norm, maxout ---------------------------------------------------
@add_arg_scope
def one_hot_encoding(labels, num_classes: int, on_value=1.0, off_value=0.0,
                     outputs_collections=None, scope: Optional[str] = None) -> torch.Tensor:
    """Integer ``labels [...]`` -> ``[..., num_classes]`` of ``off_value`` with
    ``on_value`` at each label (``tf.one_hot``).

    The output is floating point (the default dtype, or ``on_value``'s dtype
    when it is a tensor). A label outside ``[0, num_classes)`` gives a row of
    ``off_value``, as in TF. Default scope ``OneHotEncoding``.

    Example:
        >>> one_hot_encoding(torch.tensor([2, 0]), 3)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    name = op_name(scope, "OneHotEncoding")
    labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{name}: labels must be integers, got {labels.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"{name}: num_classes must be a non-negative int, got {num_classes!r}")
    dtype = on_value.dtype if isinstance(on_value, torch.Tensor) else torch.get_default_dtype()
    on = torch.as_tensor(on_value, dtype=dtype, device=labels.device)
    off = torch.as_tensor(off_value, dtype=dtype, device=labels.device)
    # A comparison, not F.one_hot: that one rejects labels out of range.
    hot = labels.unsqueeze(-1) == torch.arange(num_classes, device=labels.device)
    outputs = torch.where(hot, on, off)
    if outputs_collections:
        collect_named_outputs(outputs_collections, name, outputs)
    return outputs


@add_arg_scope
def unit_norm(inputs: torch.Tensor, dim: int, epsilon: float = 1e-7,
              scope: Optional[str] = None) -> torch.Tensor:
    """``inputs / sqrt(epsilon + sum(inputs**2, dim))``: unit length along ``dim``.

    ``dim`` indexes the tensor as given (1 for the channels of NCHW) and must
    satisfy ``0 <= dim < rank``, as in TF-Slim. Default scope ``UnitNorm``.

    Example:
        >>> unit_norm(torch.tensor([[3., 4.]]), dim=1)
        tensor([[0.6000, 0.8000]])
    """
    with variable_scope(scope, "UnitNorm") as sc:
        rank = inputs.dim()
        if isinstance(dim, bool) or not isinstance(dim, int) or not 0 <= dim < rank:
            raise ValueError(f"{sc.name}: dim must be positive but smaller than the input rank "
                             f"({rank}), got {dim!r}")
        return inputs / torch.sqrt(epsilon + inputs.square().sum(dim, keepdim=True))


@add_arg_scope
def maxout(inputs: torch.Tensor, num_units: int, axis: int = -1,
           scope: Optional[str] = None) -> torch.Tensor:
    """Maxout (Goodfellow et al. 2013): keeps ``num_units`` features along ``axis``.

    With ``k = C // num_units``, unit ``u`` is the max of features
    ``u*k .. u*k + k - 1`` (TF reshapes ``[..., num_units, k]`` and reduces the
    last). ``axis`` indexes the tensor as given: the default ``-1`` suits
    ``[N, C]`` and ``[N, T, C]``; for NCHW images pass ``axis=1``, which is
    what TF-Slim's ``axis=-1`` does on NHWC. Default scope ``MaxOut``.

    Raises:
        ValueError: ``C`` is not a multiple of ``num_units``.
    """
    with variable_scope(scope, "MaxOut") as sc:
        rank = inputs.dim()
        if isinstance(axis, bool) or not isinstance(axis, int) or not -rank <= axis < rank:
            raise ValueError(f"{sc.name}: axis {axis!r} is out of range for rank {rank}")
        axis %= rank
        channels = inputs.shape[axis]
        if isinstance(num_units, bool) or not isinstance(num_units, int) or num_units <= 0 \
                or channels % num_units:
            raise ValueError(f"{sc.name}: number of features({channels}) is not a multiple of "
                             f"num_units({num_units})")
        # Group along `axis` itself: TF appends the group dim at the end, which
        # for an axis other than the last mixes in the dims after it.
        grouped = inputs.reshape(inputs.shape[:axis] + (num_units, channels // num_units)
                                 + inputs.shape[axis + 1:])
        return grouped.amax(axis + 1)


def poincare_normalize(x: torch.Tensor, axis=1, epsilon: float = 1e-5,
                       name: Optional[str] = None) -> torch.Tensor:
    """Projects each slice along ``axis`` into the Poincaré ball of radius
    ``1 - epsilon``: ``x·(1 - epsilon)/‖x‖`` where ``‖x‖ > 1 - epsilon``,
    else ``x`` (Nickel & Kiela, arXiv:1705.08039).

    ``axis`` is an int or a list of ints, indexing the tensor as given.
    ``name`` is accepted for TF-Slim's signature (an op name; nothing to name).

    Example:
        >>> poincare_normalize(torch.tensor([[3., 4.], [0.3, 0.4]]), axis=1, epsilon=0.5)
        tensor([[0.3000, 0.4000],
                [0.3000, 0.4000]])
    """
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    inverse_norm = torch.rsqrt(x.square().sum(dims, keepdim=True))
    return x * torch.clamp((1.0 - epsilon) * inverse_norm, max=1.0)


# -- scale_gradient -------------------------------------------------------------------
class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs, multiplier):
        ctx.multiplier = multiplier
        return inputs.view_as(inputs)  # a new tensor object, so autograd sees the op

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.multiplier, None  # no gradient for the multiplier (TF)


def scale_gradient(inputs: torch.Tensor, gradient_multiplier) -> torch.Tensor:
    """Identity on the way forward; the gradient is multiplied by
    ``gradient_multiplier`` (a number or a tensor broadcastable to ``inputs``).

    Example:
        >>> x = torch.ones(2, requires_grad=True)
        >>> scale_gradient(x, 0.5).sum().backward()
        >>> x.grad
        tensor([0.5000, 0.5000])
    """
    if isinstance(gradient_multiplier, torch.Tensor):
        gradient_multiplier = gradient_multiplier.detach()
    return _ScaleGradient.apply(inputs, gradient_multiplier)


# -- spatial_softmax ------------------------------------------------------------------
class SpatialSoftmax(Layer):
    """The module behind one ``slim.spatial_softmax`` scope (scalar
    ``temperature``); ``data_format`` comes with each call."""

    def __init__(self, scope_name: str, channels: int) -> None:
        super().__init__(scope_name)
        self.channels = channels

    def make_plan(self, settings: tuple) -> bool:
        return channels_last_format(settings[0], self.scope_name, 2)   # (data_format,)

    def forward(self, features: torch.Tensor, plan: Optional[bool] = None) -> torch.Tensor:
        channels_last = self.default_plan if plan is None else plan
        channel_dim = 3 if channels_last else 1
        if features.dim() != 4 or features.shape[channel_dim] != self.channels:
            layout = "[N, H, W, C]" if channels_last else "[N, C, H, W]"
            raise self.shape_error(features, f"{layout} with C={self.channels}")
        if channels_last:
            features = features.permute(0, 3, 1, 2)
        n, c, h, w = features.shape
        attention = torch.softmax(features.reshape(n * c, h * w) / self.temperature, dim=1)
        attention = attention.view(n * c, h, w)
        # TF's pos_x runs down the rows (height) and pos_y along the columns.
        pos_x = torch.linspace(-1.0, 1.0, h, dtype=attention.dtype, device=attention.device)
        pos_y = torch.linspace(-1.0, 1.0, w, dtype=attention.dtype, device=attention.device)
        expected_x = attention.sum(2) @ pos_x
        expected_y = attention.sum(1) @ pos_y
        return torch.stack([expected_x, expected_y], dim=1).reshape(n, 2 * c)


@add_arg_scope
def spatial_softmax(features: torch.Tensor, temperature=None, name: Optional[str] = None,
                    variables_collections=None, trainable: bool = True,
                    data_format: Optional[str] = "NCHW") -> torch.Tensor:
    """Expected 2-D position of each channel's softmax over the image
    (Finn et al., "Deep spatial autoencoders", arXiv:1509.06113).

    Args:
        features: ``[N, C, H, W]`` (or ``[N, H, W, C]`` with ``'NHWC'``).
        temperature: initial value of the scalar variable
            ``spatial_softmax/temperature`` that divides the features; None
            (default) initialises it to 1.0. It is a variable either way.
        name: the variable scope (default ``spatial_softmax``).
        variables_collections: for ``temperature``; ignored when not
            ``trainable``, as in TF-Slim.
        trainable: whether ``temperature`` is trained.
        data_format: ``'NCHW'`` (default here; TF-Slim's is ``'NHWC'``) or ``'NHWC'``.

    Returns:
        ``[N, 2C]`` keypoints ``[x_0, y_0, x_1, y_1, ...]`` in [-1, 1], where
        ``x`` is the row (height) coordinate and ``y`` the column one, as TF.

    Example:
        >>> hot = torch.full((1, 1, 3, 5), -1e4)
        >>> hot[0, 0, 2, 1] = 0.0                 # row 2 of 3, column 1 of 5
        >>> spatial_softmax(hot).tolist()
        [[1.0, -0.5]]
    """
    def new_layer(ls):
        channels_last = channels_last_format(data_format, ls.path, 2)
        if not isinstance(features, torch.Tensor) or features.dim() != 4:
            raise ValueError(f"{ls.path}: spatial_softmax expects a 4-D input, "
                             f"got {_shape(features)}")
        layer = ls.create(SpatialSoftmax(ls.path, features.shape[3 if channels_last else 1]))
        dtype = features.dtype if features.is_floating_point() else None
        model_variable("temperature", shape=[], dtype=dtype,
                       initializer=ones_initializer() if temperature is None
                       else constant_initializer(temperature),
                       trainable=trainable,
                       collections=variables_collections_for(variables_collections, "temperature")
                       if trainable else None)
        return layer

    return call_layer(features, name, "spatial_softmax", None, new_layer,
                      settings=(data_format,))


# -- shorthands ---------------------------------------------------------------------
# functools.partial objects, as in TF-Slim: arg_scope([slim.fully_connected], ...)
# reaches them, but they cannot be listed in an arg_scope themselves.
relu = functools.partial(fully_connected, activation_fn=torch.relu)
relu6 = functools.partial(fully_connected, activation_fn=F.relu6)
elu = functools.partial(fully_connected, activation_fn=F.elu)
linear = functools.partial(fully_connected, activation_fn=None)
