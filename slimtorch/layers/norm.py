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
from ..graph import GraphKeys
from ..initializers import ones_initializer, zeros_initializer
from ..variables import model_variable
from ._activation import activate, returns_fresh_outputs
from ._layer import Layer, call_layer, resolve_is_training, variables_collections_for

__all__ = ["BatchNorm", "GroupNorm", "InstanceNorm", "LayerNorm", "batch_norm", "group_norm",
           "instance_norm", "layer_norm"]


# -- shared helpers -------------------------------------------------------------------
def _check_data_format(data_format, scope: str) -> None:
    if data_format not in (None, "NCHW", "NHWC"):
        raise ValueError(f"{scope}: data_format must be 'NCHW' or 'NHWC' (or None for the "
                         f"feature dimension), got {data_format!r}")


def _channels_first(data_format, rank: int) -> bool:
    """Whether the channels are dim 1 rather than the last dim (rank 2: both)."""
    if data_format is None:
        return rank >= 4
    return data_format == "NCHW" and rank > 2


def _check_input(inputs, scope: str, what: str, min_rank: int) -> None:
    if not isinstance(inputs, torch.Tensor) or inputs.dim() < min_rank:
        shape = list(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise ValueError(f"{scope}: {what} expects an input of rank >= {min_rank}, got {shape}")


def _check_keys(scope: str, what: str, given, allowed) -> dict:
    # TF-Slim silently ignored misspelt keys ('gama'); a typo here is a bug.
    given = dict(given or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"{scope}: unknown {what} keys {unknown}; expected some of {list(allowed)}")
    return given


def _create_beta_gamma(shape, dtype, center: bool, scale: bool, initializers: dict,
                       regularizers: dict, variables_collections, trainable: bool,
                       gamma_first: bool = False) -> None:
    """``beta`` (zeros) if ``center`` and ``gamma`` (ones) if ``scale``, in the
    layer's scope; ``gamma_first`` reproduces TF's creation order where TF-Slim
    builds a Keras-style layer (so variable lists line up with TF-Slim's)."""
    pair = [("beta", center, zeros_initializer()), ("gamma", scale, ones_initializer())]
    for name, wanted, default in (pair[::-1] if gamma_first else pair):
        if wanted:
            model_variable(name, shape=list(shape), dtype=dtype,
                           initializer=initializers.get(name, default),
                           regularizer=regularizers.get(name), trainable=trainable,
                           collections=variables_collections_for(variables_collections, name))


def _uses_keras_layer(rank: int, fused, updates_collections) -> bool:
    """Whether TF-Slim's ``batch_norm`` would build its Keras-style layer
    (which creates ``gamma`` before ``beta``) rather than its own fused op: for
    rank-4 inputs with the default ``updates_collections``, or ``fused=False``,
    or ranks other than 2 and 4."""
    fusable = fused is not False and rank in (2, 4)
    return not (fusable and (rank == 2 or updates_collections != GraphKeys.UPDATE_OPS))


def _distributed() -> bool:
    import torch.distributed as dist
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _normalize(x, mean, variance, beta, gamma, epsilon):
    """TF's ``nn.batch_normalization``, formula for formula (all arguments
    broadcast against ``x``; ``beta``/``gamma`` may be None)."""
    inv = torch.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    return x * inv + (-mean * inv if beta is None else beta - mean * inv)


class _Normalization(Layer):
    """Base of the normalization modules: optional ``beta``/``gamma``, then activation."""

    def __init__(self, scope_name: str, epsilon, activation_fn) -> None:
        super().__init__(scope_name)
        self.epsilon = epsilon
        self.activation_fn = activation_fn

    def _variable(self, name: str) -> Optional[torch.Tensor]:
        # A parameter, or a buffer when created with trainable=False.
        found = self._parameters.get(name)
        return found if found is not None else self._buffers.get(name)


# -- batch_norm -----------------------------------------------------------------------
# TF's fused_batch_norm raises smaller epsilons to this (a cuDNN requirement).
_FUSED_MIN_EPSILON = 1.001e-5


class BatchNorm(_Normalization):
    """The module behind one ``batch_norm`` call: buffers ``moving_mean`` and
    ``moving_variance``, optional ``beta`` and ``gamma``, all ``[C]``."""

    def __init__(self, scope_name: str, num_channels: int, data_format, decay: float,
                 epsilon: float, fused: bool, activation_fn) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.num_channels = num_channels
        self.data_format = data_format
        self.decay = decay
        self.fused = fused
        # Set by slim.learning.train(sync_batch_norm=True) under torchrun: batch
        # statistics are then computed over the global batch of all ranks.
        self.sync = False
        # Set by slim.fold_batch_norms: the preceding convolution applies this
        # layer's eval-mode affine map, so the layer only activates.
        self.folded = False

    def eval_affine(self, rank: int = 4):
        """``(scale, shift)`` with ``eval_output = x * scale + shift`` per
        channel: the moving statistics, gamma/beta and the epsilon TF's kernel
        would use for an input of this rank."""
        epsilon = max(self.epsilon, _FUSED_MIN_EPSILON) if self.fused and rank in (2, 4) \
            else self.epsilon
        mean, variance = self._buffers["moving_mean"], self._buffers["moving_variance"]
        scale = torch.rsqrt(variance + epsilon)
        gamma, beta = self._variable("gamma"), self._variable("beta")
        if gamma is not None:
            scale = scale * gamma
        shift = -mean * scale if beta is None else beta - mean * scale
        return scale, shift

    def forward(self, inputs: torch.Tensor, training: Optional[bool] = None) -> torch.Tensor:
        """``training`` comes from ``batch_norm``'s ``is_training`` on every call;
        None (a direct call of the module) follows ``self.training``."""
        training = self.training if training is None else training
        if self.folded:
            if training:
                raise RuntimeError(f"{self.scope_name}: this batch norm was folded into its "
                                   "convolution by slim.fold_batch_norms, for inference only; "
                                   "train the unfolded model")
            return activate(inputs, self.activation_fn)
        rank = inputs.dim()
        move = rank > 2 and not _channels_first(self.data_format, rank)
        x = inputs.movedim(-1, 1) if move else inputs
        if rank < 2 or x.shape[1] != self.num_channels:
            raise self.shape_error(inputs, f"rank >= 2 with {self.num_channels} channels")
        gamma, beta = self._variable("gamma"), self._variable("beta")
        # TF-Slim runs TF's fused kernel for rank 2 and 4 (unless fused=False). It
        # feeds the unbiased batch variance to moving_variance, exactly as torch
        # does, and raises epsilon to cuDNN's minimum; TF's other path does neither.
        fused = self.fused and rank in (2, 4)
        if training and self.sync and _distributed():
            outputs = self._train_synchronized(x, gamma, beta, unbiased_update=fused)
        elif training and not fused:
            outputs = self._train_with_biased_update(x, gamma, beta)
        else:
            epsilon = max(self.epsilon, _FUSED_MIN_EPSILON) if fused else self.epsilon
            if x.device.type != "cpu" and (gamma is None or beta is None):
                # cuDNN's batch-norm backward fails on a missing weight or bias
                # ("tensor does not have a device", torch 2.11 on an H100):
                # pass the identity scale/shift TF-Slim's no-gamma layer means.
                like = self._buffers["moving_mean"]   # float32 under autocast too
                gamma = torch.ones_like(like) if gamma is None else gamma
                beta = torch.zeros_like(like) if beta is None else beta
            outputs = F.batch_norm(x, self._buffers["moving_mean"],
                                   self._buffers["moving_variance"], gamma, beta, training,
                                   1.0 - self.decay, epsilon)
        return activate(outputs.movedim(1, -1) if move else outputs, self.activation_fn)

    def _train_synchronized(self, x, gamma, beta, unbiased_update: bool):
        """Training with statistics of the global batch across torchrun ranks
        (SyncBatchNorm): per-channel sums, sums of squares and counts are
        all-reduced (with autograd), so every rank normalizes alike and the
        gradients equal one process on the whole batch."""
        from torch.distributed.nn.functional import all_reduce
        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        stats = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        stats = all_reduce(stats)
        channels = x.shape[1]
        total = stats[-1]
        mean = stats[:channels] / total
        variance = stats[channels:2 * channels] / total - mean * mean
        with torch.no_grad():
            update = variance * (total / (total - 1)) if unbiased_update else variance
            self._buffers["moving_mean"].lerp_(mean.detach(), 1.0 - self.decay)
            self._buffers["moving_variance"].lerp_(update.detach(), 1.0 - self.decay)
        epsilon = max(self.epsilon, _FUSED_MIN_EPSILON) if unbiased_update else self.epsilon
        shape = [-1] + [1] * (x.dim() - 2)
        return _normalize(x, mean.view(shape), variance.view(shape),
                          None if beta is None else beta.view(shape),
                          None if gamma is None else gamma.view(shape), epsilon)

    def _train_with_biased_update(self, x, gamma, beta):
        variance, mean = torch.var_mean(x, [0, *range(2, x.dim())], correction=0)
        with torch.no_grad():  # TF's assign_moving_average: v -= (v - value) * (1 - decay)
            self._buffers["moving_mean"].lerp_(mean, 1.0 - self.decay)
            self._buffers["moving_variance"].lerp_(variance, 1.0 - self.decay)
        shape = [-1] + [1] * (x.dim() - 2)
        return _normalize(x, mean.view(shape), variance.view(shape),
                          None if beta is None else beta.view(shape),
                          None if gamma is None else gamma.view(shape), self.epsilon)

    def extra_repr(self) -> str:
        return (f"{self.num_channels}, decay={self.decay}, epsilon={self.epsilon}, "
                f"scope={self.scope_name!r}")


_BATCH_NORM_VARIABLES = ("beta", "gamma", "moving_mean", "moving_variance")


@returns_fresh_outputs
@add_arg_scope
def batch_norm(inputs: torch.Tensor, decay: float = 0.999, center: bool = True,
               scale: bool = False, epsilon: float = 0.001, activation_fn=None,
               param_initializers=None, param_regularizers=None,
               updates_collections=GraphKeys.UPDATE_OPS, is_training=None, reuse=None,
               variables_collections=None, outputs_collections=None, trainable: bool = True,
               batch_weights=None, fused=None, data_format: Optional[str] = None,
               zero_debias_moving_mean: bool = False, scope: Optional[str] = None,
               renorm: bool = False, renorm_clipping=None, renorm_decay: float = 0.99,
               adjustment=None) -> torch.Tensor:
    """Batch normalization (Ioffe & Szegedy, 2015), TF-Slim's ``batch_norm``.

    Training normalizes with the batch mean and biased variance over every
    axis but the channels, and updates the moving averages in place:
    ``moving = moving * decay + batch * (1 - decay)``, where ``moving_variance``
    takes the *unbiased* batch variance, as TF-Slim's default fused kernel does
    (with ``fused=False``, or rank-3/5 inputs, TF uses the biased one, and so
    does this). Otherwise the moving statistics are used and nothing changes.

    Args:
        inputs: ``[N, C]``, ``[N, C, H, W]`` (rank >= 2); see ``data_format``.
        decay: the moving averages' decay (torch's ``momentum = 1 - decay``).
        center: add ``beta``.
        scale: multiply by ``gamma``; off by default, as in TF-Slim, so there
            is no ``gamma`` unless ``scale=True``.
        epsilon: added to the variance. Where TF-Slim uses TF's fused kernel
            (rank 2 and 4, ``fused`` not False) values below 1.001e-5 are
            raised to 1.001e-5, as that kernel does.
        activation_fn: applied last; default None.
        param_initializers, param_regularizers: dicts keyed by ``'beta'``,
            ``'gamma'``, ``'moving_mean'``, ``'moving_variance'`` (regularizers:
            ``'beta'``/``'gamma'``). Unknown keys raise.
        updates_collections: ``'update_ops'`` (default) or None. In eager
            PyTorch the moving averages are updated during the forward pass in
            both cases (TF's ``None`` behaviour), so there are no update ops to
            run; other collections raise ``NotImplementedError``.
        is_training: None (default) follows ``model.train()``/``model.eval()``
            (True outside a model, like TF-Slim); an explicit value, from the
            call or an ``arg_scope``, wins. It is read on every call.
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; ``variables_collections`` may be a dict keyed
            by variable name. The moving statistics are never trainable: they
            are buffers, in ``MODEL_VARIABLES`` and the ``state_dict``.
        fused: None/True as TF-Slim's default (unbiased moving variance for
            rank 2 and 4); False: the biased variance.
        data_format: None (the feature dimension), ``'NCHW'`` or ``'NHWC'``.
        batch_weights, zero_debias_moving_mean, renorm, renorm_clipping,
        adjustment: not implemented; a non-default value raises
            ``NotImplementedError``. ``renorm_decay`` is only read with renorm.

    Returns:
        The normalized tensor, in the layout of ``inputs``.

    Example:
        >>> with slim.Graph():
        ...     x = torch.tensor([[0.], [2.], [4.], [6.]])
        ...     y = batch_norm(x, decay=0.5, scope='bn')  # training: (x - 3) / sqrt(5 + 0.001)
        ...     var = slim.get_unique_variable('bn/moving_variance')
        >>> [round(v, 4) for v in y.flatten().tolist()], round(var.item(), 4)  # (1 + 20/3) / 2
        ([-1.3415, -0.4472, 0.4472, 1.3415], 3.8333)
    """
    def new_layer(ls):
        path = ls.path
        _check_batch_norm_options(path, updates_collections, batch_weights, fused,
                                  zero_debias_moving_mean, renorm, renorm_clipping, adjustment)
        _check_data_format(data_format, path)
        _check_input(inputs, path, "batch_norm", 2)
        initializers = _check_keys(path, "param_initializers", param_initializers,
                                   _BATCH_NORM_VARIABLES)
        regularizers = _check_keys(path, "param_regularizers", param_regularizers,
                                   ("beta", "gamma"))
        channels = inputs.shape[1 if _channels_first(data_format, inputs.dim()) else -1]
        layer = ls.create(BatchNorm(path, channels, data_format, float(decay), epsilon,
                                    fused is not False, activation_fn))
        _create_beta_gamma([channels], inputs.dtype, center, scale, initializers, regularizers,
                           variables_collections, trainable,
                           gamma_first=_uses_keras_layer(inputs.dim(), fused, updates_collections))
        for name, default in (("moving_mean", zeros_initializer()),
                              ("moving_variance", ones_initializer())):
            model_variable(name, shape=[channels], dtype=inputs.dtype,
                           initializer=initializers.get(name, default), trainable=False,
                           collections=variables_collections_for(variables_collections, name))
        return layer

    return call_layer(inputs, scope, "BatchNorm", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      layer_kwargs={"training": resolve_is_training(is_training)})


def _check_batch_norm_options(path, updates_collections, batch_weights, fused,
                              zero_debias_moving_mean, renorm, renorm_clipping, adjustment):
    unsupported = {"batch_weights": batch_weights is not None,
                   "zero_debias_moving_mean": bool(zero_debias_moving_mean),
                   "renorm": bool(renorm), "renorm_clipping": renorm_clipping is not None,
                   "adjustment": adjustment is not None}
    for name, given in unsupported.items():
        if given:
            raise NotImplementedError(f"{path}: batch_norm does not implement {name}; "
                                      "leave it at its default")
    if updates_collections not in (None, GraphKeys.UPDATE_OPS, [GraphKeys.UPDATE_OPS],
                                   (GraphKeys.UPDATE_OPS,)):
        raise NotImplementedError(
            f"{path}: updates_collections={updates_collections!r} is not supported: the moving "
            "averages are updated in place during the forward pass; use 'update_ops' or None")
    if fused not in (None, True, False):
        raise ValueError(f"{path}: fused must be None, True or False, got {fused!r}")


# -- layer_norm -----------------------------------------------------------------------
class LayerNorm(_Normalization):
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

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        move = _channels_first(self.data_format, inputs.dim())
        x = inputs.movedim(1, -1) if move else inputs  # a view: TF's channels-last order
        if x.dim() != self.rank or list(x.shape[self.begin_params_axis:]) != self.params_shape:
            raise self.shape_error(inputs, f"rank {self.rank} with parameters of shape "
                                           f"{self.params_shape}")
        variance, mean = torch.var_mean(x, list(range(self.begin_norm_axis, x.dim())),
                                        correction=0, keepdim=True)
        epsilon = self.epsilon
        if epsilon is None:  # TF-Slim's hard-coded value
            epsilon = 1e-3 if x.dtype == torch.float16 else 1e-12
        outputs = _normalize(x, mean, variance, self._variable("beta"), self._variable("gamma"),
                             epsilon)
        return activate(outputs.movedim(-1, 1) if move else outputs, self.activation_fn)

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
                      outputs_collections=outputs_collections)


# -- instance_norm ----------------------------------------------------------------------
class InstanceNorm(_Normalization):
    """The module behind one ``instance_norm`` call (``beta``/``gamma`` ``[C]``)."""

    def __init__(self, scope_name: str, num_channels: int, data_format, epsilon: float,
                 activation_fn) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.num_channels = num_channels
        self.data_format = data_format

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        rank = inputs.dim()
        move = rank > 2 and not _channels_first(self.data_format, rank)
        x = inputs.movedim(-1, 1) if move else inputs
        if rank < 3 or x.shape[1] != self.num_channels:
            raise self.shape_error(inputs, f"rank >= 3 with {self.num_channels} channels")
        outputs = F.instance_norm(x, weight=self._variable("gamma"), bias=self._variable("beta"),
                                  eps=self.epsilon)
        return activate(outputs.movedim(1, -1) if move else outputs, self.activation_fn)

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
                      outputs_collections=outputs_collections)


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

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        c = self.channels_axis
        if inputs.dim() != self.rank or inputs.shape[c] != self.channels:
            raise self.shape_error(inputs, f"rank {self.rank} with {self.channels} channels "
                                           f"on axis {c}")
        gamma, beta = self._variable("gamma"), self._variable("beta")
        if self._native:
            outputs = F.group_norm(inputs, self.groups, gamma, beta, self.epsilon)
        else:
            outputs = self._grouped(inputs, gamma, beta)
        return activate(outputs, self.activation_fn)

    def _grouped(self, inputs, gamma, beta):
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
                             None if gamma is None else gamma.view(params), self.epsilon)
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
                             f"{tuple(reduction_axes)} must be in [-{rank}, {rank})")
        c, *reduce = [a % rank for a in axes]
        if c in reduce:
            raise ValueError(f"{path}: reduction_axes must not contain channels_axis")
        channels = inputs.shape[c]
        if not 0 < groups <= channels or channels % groups:
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
                      outputs_collections=outputs_collections)
