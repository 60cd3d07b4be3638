"""``batch_norm``, ``layer_norm``, ``instance_norm`` and ``group_norm`` with
TF-Slim's arguments, defaults, variable names and numbers.

Images are NCHW; ``data_format='NHWC'`` (``channels_axis=-1`` for
``group_norm``) is accepted and gives identical results. ``data_format=None`` (the default) means slimtorch's *feature
dimension*, as for ``slim.fully_connected``: the channels (dim 1) of rank-2 and
rank >= 4 tensors, and the last dimension of rank-3 ``[N, T, F]`` tensors. So
a normalizer finds the right axis after both ``conv2d`` and ``fully_connected``:

    >>> with slim.Graph():
    ...     y = slim.conv2d(torch.randn(8, 3, 5, 5), 4, [3, 3], normalizer_fn=batch_norm,
    ...                     scope='conv1')
    ...     [v.name for v in slim.get_model_variables()]
    ['conv1/weights', 'conv1/BatchNorm/beta', 'conv1/BatchNorm/moving_mean',
     'conv1/BatchNorm/moving_variance']

Variables have TF-Slim's shapes (``beta``/``gamma`` are ``[C]``), so TF-Slim
checkpoints load unchanged.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ._activation import activate
from ._batch_norm import BatchNorm, batch_norm
from ._layer import call_layer
from ._norm_base import (_channels_first, _check_data_format, _check_input, _check_keys,
                         _create_beta_gamma, _normalize, _Normalization)

__all__ = ["BatchNorm", "GroupNorm", "InstanceNorm", "LayerNorm", "batch_norm", "group_norm",
           "instance_norm", "layer_norm"]


class _ChannelsNormalization(_Normalization):
    """A normalization whose calls may differ in epsilon, activation and data_format."""

    def _settings(self, settings: Optional[tuple]) -> tuple:
        if settings is None:
            return self.epsilon, self.activation_fn, self.data_format
        if settings[2] != self.data_format:
            _check_data_format(settings[2], self.scope_name)
        return settings


# -- layer_norm -----------------------------------------------------------------------
class LayerNorm(_ChannelsNormalization):
    """The module behind one ``layer_norm`` call. Axes count in TF-Slim's
    channels-last order (see :func:`layer_norm`)."""

    def __init__(self, scope_name: str, rank: int, begin_norm_axis: int, begin_params_axis: int,
                 params_shape, epsilon, data_format, activation_fn) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.rank = rank
        self.begin_norm_axis = begin_norm_axis
        self.begin_params_axis = begin_params_axis
        self.params_shape = list(params_shape)
        self.data_format = data_format

    def forward(self, inputs: torch.Tensor, settings: Optional[tuple] = None) -> torch.Tensor:
        """``settings``: the call's ``(epsilon, activation_fn, data_format)``
        (a shared layer runs each call's); None: the first call's."""
        epsilon, activation_fn, data_format = self._settings(settings)
        move = _channels_first(data_format, inputs.dim())
        x = inputs.movedim(1, -1) if move else inputs  # a view: TF's channels-last order
        if x.dim() != self.rank or list(x.shape[self.begin_params_axis:]) != self.params_shape:
            raise self.shape_error(inputs, f"rank {self.rank} with parameters of shape "
                                           f"{self.params_shape}")
        variance, mean = torch.var_mean(x, list(range(self.begin_norm_axis, x.dim())),
                                        correction=0, keepdim=True)
        if epsilon is None:  # TF-Slim's hard-coded value
            epsilon = 1e-3 if x.dtype == torch.float16 else 1e-12
        outputs = _normalize(x, mean, variance, self._variable("beta"), self._variable("gamma"),
                             epsilon)
        return activate(outputs.movedim(-1, 1) if move else outputs, activation_fn)

    def extra_repr(self) -> str:
        return (f"begin_norm_axis={self.begin_norm_axis}, params_shape={self.params_shape}, "
                f"scope={self.scope_name!r}")


@add_arg_scope
def layer_norm(inputs: torch.Tensor, center: bool = True, scale: bool = True, activation_fn=None,
               reuse=None, variables_collections=None, outputs_collections=None,
               trainable: bool = True, begin_norm_axis: int = 1, begin_params_axis: int = -1,
               scope: Optional[str] = None, epsilon: Optional[float] = None,
               data_format: Optional[str] = None) -> torch.Tensor:
    """Layer normalization (Ba et al., 2016), TF-Slim's ``layer_norm``.

    Moments are taken over axes ``begin_norm_axis .. R-1``; ``beta``/``gamma``
    have shape ``inputs.shape[begin_params_axis:]`` and broadcast from the right.

    **Axes count in TF-Slim's channels-last order.** An NCHW image is
    normalized exactly as TF-Slim normalizes its NHWC version: by default over
    C, H and W, with ``beta``/``gamma`` of shape ``[C]`` (TF-Slim's
    variables), not ``[W]``. ``begin_params_axis=1`` gives parameters
    ``[H, W, C]``. Rank-2 and rank-3 tensors are taken as given. Pass
    ``data_format='NHWC'`` for a channels-last input (the axes are then simply
    the tensor's own); the result is the same, transposed.

    Args:
        inputs: a tensor of rank ``R``.
        center, scale: create ``beta`` (zeros) / ``gamma`` (ones).
        activation_fn: applied last; default None.
        begin_norm_axis, begin_params_axis: see above; negative values count
            from the end.
        epsilon: added to the variance. None (default) is TF-Slim's
            hard-coded value: 1e-12, or 1e-3 for float16 inputs.
        data_format: None (the feature dimension), ``'NCHW'`` or ``'NHWC'``.
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; the default scope is ``LayerNorm``.

    Returns:
        The normalized tensor, in the layout of ``inputs``.

    Example:
        >>> with slim.Graph():
        ...     y = layer_norm(torch.randn(2, 16, 7, 7))
        ...     [(v.name, tuple(v.shape)) for v in slim.get_model_variables()]
        [('LayerNorm/beta', (16,)), ('LayerNorm/gamma', (16,))]
    """
    def new_layer(ls):
        path = ls.path
        _check_data_format(data_format, path)
        _check_input(inputs, path, "layer_norm", 1)
        rank = inputs.dim()
        norm_axis = begin_norm_axis + rank if begin_norm_axis < 0 else begin_norm_axis
        if not (0 <= norm_axis < rank and -rank <= begin_params_axis < rank):
            raise ValueError(f"{path}: begin_params_axis ({begin_params_axis}) and "
                             f"begin_norm_axis ({begin_norm_axis}) must be in [-{rank}, {rank}) "
                             f"for an input of rank {rank}")
        tf_shape = inputs.movedim(1, -1).shape if _channels_first(data_format, rank) \
            else inputs.shape
        params_shape = tf_shape[begin_params_axis:]
        layer = ls.create(LayerNorm(path, rank, norm_axis, begin_params_axis, params_shape,
                                    epsilon, data_format, activation_fn))
        _create_beta_gamma(params_shape, inputs.dtype, center, scale, {}, {},
                           variables_collections, trainable)
        return layer

    return call_layer(inputs, scope, "LayerNorm", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      layer_kwargs={"settings": (epsilon, activation_fn, data_format)})


# -- instance_norm ----------------------------------------------------------------------
class InstanceNorm(_ChannelsNormalization):
    """The module behind one ``instance_norm`` call (``beta``/``gamma`` ``[C]``)."""

    def __init__(self, scope_name: str, num_channels: int, data_format, epsilon: float,
                 activation_fn) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.num_channels = num_channels
        self.data_format = data_format

    def forward(self, inputs: torch.Tensor, settings: Optional[tuple] = None) -> torch.Tensor:
        """``settings``: the call's ``(epsilon, activation_fn, data_format)``
        (a shared layer runs each call's); None: the first call's."""
        epsilon, activation_fn, data_format = self._settings(settings)
        rank = inputs.dim()
        move = rank > 2 and not _channels_first(data_format, rank)
        x = inputs.movedim(-1, 1) if move else inputs
        if rank < 3 or x.shape[1] != self.num_channels:
            raise self.shape_error(inputs, f"rank >= 3 with {self.num_channels} channels")
        outputs = F.instance_norm(x, weight=self._variable("gamma"), bias=self._variable("beta"),
                                  eps=epsilon)
        return activate(outputs.movedim(1, -1) if move else outputs, activation_fn)

    def extra_repr(self) -> str:
        return f"{self.num_channels}, epsilon={self.epsilon}, scope={self.scope_name!r}"


@add_arg_scope
def instance_norm(inputs: torch.Tensor, center: bool = True, scale: bool = True,
                  epsilon: float = 1e-6, activation_fn=None, param_initializers=None, reuse=None,
                  variables_collections=None, outputs_collections=None, trainable: bool = True,
                  data_format: Optional[str] = None, scope: Optional[str] = None) -> torch.Tensor:
    """Instance normalization (Ulyanov et al., 2016), TF-Slim's ``instance_norm``.

    Each example and channel is normalized over the remaining (spatial) axes,
    with the biased variance; ``beta``/``gamma`` are ``[C]``.

    Args:
        inputs: ``[N, C, ...]`` of rank >= 3 (see ``data_format``). TF-Slim
            also took rank 2, where there is nothing to normalize over and the
            output is ``beta``; that raises here.
        center, scale: create ``beta`` (zeros) / ``gamma`` (ones).
        epsilon: added to the variance.
        activation_fn: applied last; default None.
        param_initializers: dict keyed by ``'beta'``/``'gamma'``.
        data_format: None (the feature dimension), ``'NCHW'`` or ``'NHWC'``.
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; the default scope is ``InstanceNorm``.

    Returns:
        The normalized tensor, in the layout of ``inputs``.

    Example:
        >>> with slim.Graph():
        ...     y = instance_norm(torch.randn(2, 3, 4, 4), scope='inorm')
        ...     y.mean(dim=(2, 3)).abs().max().item() < 1e-6
        True
    """
    def new_layer(ls):
        path = ls.path
        _check_data_format(data_format, path)
        _check_input(inputs, path, "instance_norm", 3)
        initializers = _check_keys(path, "param_initializers", param_initializers,
                                   ("beta", "gamma"))
        channels = inputs.shape[1 if _channels_first(data_format, inputs.dim()) else -1]
        layer = ls.create(InstanceNorm(path, channels, data_format, epsilon, activation_fn))
        _create_beta_gamma([channels], inputs.dtype, center, scale, initializers, {},
                           variables_collections, trainable)
        return layer

    return call_layer(inputs, scope, "InstanceNorm", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      layer_kwargs={"settings": (epsilon, activation_fn, data_format)})


# -- group_norm -------------------------------------------------------------------------
class GroupNorm(_Normalization):
    """The module behind one ``group_norm`` call (``beta``/``gamma`` ``[C]``)."""

    def __init__(self, scope_name: str, rank: int, channels: int, groups: int, channels_axis: int,
                 reduction_axes, epsilon: float, mean_close_to_zero: bool, activation_fn) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.rank = rank
        self.channels = channels
        self.groups = groups
        self.channels_axis = channels_axis
        self.reduction_axes = tuple(reduction_axes)
        self.mean_close_to_zero = mean_close_to_zero
        # torch's kernel computes exactly this case: channels at 1, all later axes reduced.
        self._native = (channels_axis == 1 and sorted(reduction_axes) == list(range(2, rank))
                        and not mean_close_to_zero)

    def forward(self, inputs: torch.Tensor, settings: Optional[tuple] = None) -> torch.Tensor:
        """``settings``: the call's ``(epsilon, activation_fn)`` (a shared
        layer runs each call's); None: the first call's."""
        epsilon, activation_fn = self._settings(settings)
        c = self.channels_axis
        if inputs.dim() != self.rank or inputs.shape[c] != self.channels:
            raise self.shape_error(inputs, f"rank {self.rank} with {self.channels} channels "
                                           f"on axis {c}")
        gamma, beta = self._variable("gamma"), self._variable("beta")
        if self._native:
            outputs = F.group_norm(inputs, self.groups, gamma, beta, epsilon)
        else:
            outputs = self._grouped(inputs, gamma, beta, epsilon)
        return activate(outputs, activation_fn)

    def _settings(self, settings: Optional[tuple]) -> tuple:
        return (self.epsilon, self.activation_fn) if settings is None else settings

    def _grouped(self, inputs, gamma, beta, epsilon):
        """TF-Slim's computation: split the channel axis into ``[groups, C/groups]``."""
        c, shape = self.channels_axis, list(inputs.shape)
        split = [self.groups, self.channels // self.groups]
        x = inputs.reshape(shape[:c] + split + shape[c + 1:])
        axes = [c + 1] + [a + 1 if a > c else a for a in self.reduction_axes]
        if self.mean_close_to_zero:  # TF's one-pass sufficient statistics
            mean = x.mean(axes, keepdim=True)
            variance = (x * x).mean(axes, keepdim=True) - mean * mean
        else:
            variance, mean = torch.var_mean(x, axes, correction=0, keepdim=True)
        params = [1] * c + split + [1] * (len(shape) - c - 1)
        outputs = _normalize(x, mean, variance, None if beta is None else beta.view(params),
                             None if gamma is None else gamma.view(params), epsilon)
        return outputs.reshape(shape)

    def extra_repr(self) -> str:
        return (f"{self.channels}, groups={self.groups}, channels_axis={self.channels_axis}, "
                f"reduction_axes={self.reduction_axes}, scope={self.scope_name!r}")


@add_arg_scope
def group_norm(inputs: torch.Tensor, groups: int = 32, channels_axis: int = 1,
               reduction_axes=(-2, -1), center: bool = True, scale: bool = True,
               epsilon: float = 1e-6, activation_fn=None, param_initializers=None, reuse=None,
               variables_collections=None, outputs_collections=None, trainable: bool = True,
               scope: Optional[str] = None, mean_close_to_zero: bool = False) -> torch.Tensor:
    """Group normalization (Wu & He, 2018), TF-Slim's ``group_norm``.

    The channel axis is split into ``groups``; statistics are taken per
    example and group over the group's channels and ``reduction_axes``
    (biased variance). The defaults are for NCHW images; TF-Slim's defaults,
    ``channels_axis=-1, reduction_axes=(-3, -2)``, are the NHWC equivalent and
    give the same result on the transposed tensor.

    Args:
        inputs: a tensor of rank >= 2.
        groups: number of groups; must divide the number of channels.
        channels_axis: the channel axis.
        reduction_axes: axes to reduce over besides the group's channels; not
            ``channels_axis``.
        center, scale: create ``beta`` (zeros) / ``gamma`` (ones), ``[C]``.
        epsilon: added to the variance.
        activation_fn: applied last; default None.
        param_initializers: dict keyed by ``'beta'``/``'gamma'``.
        mean_close_to_zero: compute the variance in one pass as
            ``E[x^2] - E[x]^2`` (TF's sufficient statistics).
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; the default scope is ``GroupNorm``.

    Returns:
        The normalized tensor.

    Example:
        >>> with slim.Graph():
        ...     y = group_norm(torch.randn(2, 8, 4, 4), groups=4)
        ...     slim.get_model_variables()[1].name
        'GroupNorm/gamma'
    """
    def new_layer(ls):
        path = ls.path
        _check_input(inputs, path, "group_norm", 2)
        rank = inputs.dim()
        axes = [channels_axis, *reduction_axes]
        if any(not -rank <= a < rank for a in axes):
            raise ValueError(f"{path}: channels_axis ({channels_axis}) and reduction_axes "
                             f"{tuple(reduction_axes)} must be in [-{rank}, {rank}) (Axis is "
                             "out of bounds.)")
        c, *reduce = [a % rank for a in axes]
        if c in reduce:
            raise ValueError(f"{path}: reduction_axes must not contain channels_axis (they "
                             "must be mutually exclusive)")
        channels = inputs.shape[c]
        if not 0 < groups <= channels:
            raise ValueError(f"{path}: {channels} channels cannot hold {groups} groups "
                             f"(Invalid groups {groups} for {channels} channels.)")
        if channels % groups:
            raise ValueError(f"{path}: {channels} channels are not commensurate with "
                             f"{groups} groups")
        initializers = _check_keys(path, "param_initializers", param_initializers,
                                   ("beta", "gamma"))
        layer = ls.create(GroupNorm(path, rank, channels, groups, c, reduce, epsilon,
                                    bool(mean_close_to_zero), activation_fn))
        _create_beta_gamma([channels], inputs.dtype, center, scale, initializers, {},
                           variables_collections, trainable)
        return layer

    return call_layer(inputs, scope, "GroupNorm", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      layer_kwargs={"settings": (epsilon, activation_fn)})
