"""``batch_norm``: TF-Slim's batch normalization, with batch renormalization,
zero-debiased moving means, weighted moments and adjustments.

TF-Slim's ``batch_norm`` takes one of three paths, and slimtorch reproduces
what each one means for the numbers and the variables:

* the *fused* kernel (rank 2 and 4, ``fused`` not False, no ``renorm``,
  ``batch_weights`` or ``adjustment``): ``moving_variance`` takes the
  unbiased batch variance, epsilon is raised to cuDNN's minimum, and
  ``beta`` is created before ``gamma``;
* the *Keras* layer (the default ``updates_collections`` without
  ``zero_debias_moving_mean``; rank 4 unless ``fused`` is False, every rank
  with ``renorm`` or ``adjustment``): ``gamma`` before ``beta``; batch
  renormalization lives here;
* the *legacy* code (``batch_weights``, or ``updates_collections=None``
  with ``zero_debias_moving_mean``...): weighted moments, biased variance.

Half-precision (float16/bfloat16) inputs keep float32 variables and have
their statistics computed in float32; the output has the input's dtype.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F

from ..arg_scope import add_arg_scope
from ..graph import GraphKeys
from ..initializers import ones_initializer, zeros_initializer
from ..scopes import current_frame
from ..variables import model_variable, variable
from ._activation import activate, returns_fresh_outputs
from ._layer import call_layer, resolve_is_training, variables_collections_for
from ._norm_base import (_channels_first, _check_data_format, _check_input, _check_keys,
                         _create_beta_gamma, _normalize, _Normalization)

__all__ = ["BatchNorm", "BatchNormSettings", "batch_norm", "call_settings"]

# TF's fused_batch_norm raises smaller epsilons to this (a cuDNN requirement).
_FUSED_MIN_EPSILON = 1.001e-5
_HALF = (torch.float16, torch.bfloat16)
_RENORM_CLIPPING_KEYS = ("rmax", "rmin", "dmax")


class BatchNormSettings(NamedTuple):
    """One call's settings that do not shape the variables: a layer shared
    with ``reuse=True`` runs each call's, as TF-Slim's does. ``fused`` is
    whether TF-Slim's fused kernel may be used (``fused`` not False);
    ``renorm_clipping`` is the sorted items of the clipping dict."""

    decay: float
    epsilon: float
    activation_fn: object
    data_format: Optional[str]
    fused: bool
    renorm_clipping: tuple
    renorm_decay: float


def call_settings(decay, epsilon, activation_fn, data_format, fused, renorm, renorm_clipping,
                  renorm_decay) -> BatchNormSettings:
    """What may differ between the calls that share a layer (TF-Slim runs
    each call's), from ``batch_norm``'s arguments."""
    return BatchNormSettings(
        float(decay), epsilon, activation_fn, data_format, fused is not False,
        tuple(sorted(dict(renorm_clipping).items())) if renorm and renorm_clipping else (),
        float(renorm_decay))


def _param_dtype(dtype: torch.dtype) -> torch.dtype:
    """TF-Slim keeps float32 variables (and statistics) for half inputs."""
    return torch.float32 if dtype in _HALF else dtype


def _distributed() -> bool:
    import torch.distributed as dist
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _tf_path(rank: int, fused, updates_collections, batch_weights, renorm, adjustment,
             zero_debias_moving_mean) -> str:
    """Which of TF-Slim's implementations a call takes: 'fused', 'keras' or
    'legacy' (see the module docstring); they differ in creation order, the
    moving variance's update and which options they accept."""
    default_updates = updates_collections == GraphKeys.UPDATE_OPS
    possible_to_fuse = (batch_weights is None and not renorm and rank in (2, 4)
                        and adjustment is None)
    if fused is not False and possible_to_fuse and (
            zero_debias_moving_mean or rank == 2 or not default_updates):
        return "fused"
    if batch_weights is None and default_updates and not zero_debias_moving_mean:
        return "keras"
    return "legacy"


class BatchNorm(_Normalization):
    """The module behind one ``batch_norm`` call: buffers ``moving_mean`` and
    ``moving_variance``, optional ``beta`` and ``gamma``, all ``[C]``; with
    ``renorm`` also ``moving_stddev``, ``renorm_mean`` and ``renorm_stddev``,
    with ``zero_debias`` the ``biased``/``local_step`` pair of TF's
    ``assign_moving_average(zero_debias=True)``."""

    def __init__(self, scope_name: str, num_channels: int, data_format, decay: float,
                 epsilon: float, fused: bool, activation_fn, renorm: bool = False,
                 renorm_clipping: Optional[dict] = None, renorm_decay: float = 0.99,
                 zero_debias: Optional[str] = None) -> None:
        super().__init__(scope_name, epsilon, activation_fn)
        self.num_channels = num_channels
        self.data_format = data_format
        self.decay = decay
        self.fused = fused
        self.renorm = renorm
        self.renorm_clipping = dict(renorm_clipping or {})
        self.renorm_decay = renorm_decay
        # Dotted path (below this module) of the scope holding 'biased' and
        # 'local_step', TF's '<layer>/<layer>/moving_mean'; None: no debiasing.
        self.zero_debias = zero_debias
        # Set by slim.learning.train(sync_batch_norm=True) under torchrun: batch
        # statistics are then computed over the global batch of all ranks.
        self.sync = False
        # Set by slim.fold_batch_norms: the preceding convolution applies this
        # layer's eval-mode affine map, so the layer only activates.
        self.folded = False
        # The first call's settings: what a direct call of the module runs.
        self.default_settings = BatchNormSettings(
            decay, epsilon, activation_fn, data_format, fused,
            tuple(sorted(self.renorm_clipping.items())), renorm_decay)

    def eval_affine(self, rank: int = 4):
        """``(scale, shift)`` with ``eval_output = x * scale + shift`` per
        channel: the moving statistics, gamma/beta and the epsilon TF's kernel
        would use for an input of this rank."""
        epsilon = self._epsilon(self.fused and rank in (2, 4) and not self.renorm)
        mean, variance = self._buffers["moving_mean"], self._buffers["moving_variance"]
        scale = torch.rsqrt(variance + epsilon)
        gamma, beta = self._variable("gamma"), self._variable("beta")
        if gamma is not None:
            scale = scale * gamma
        shift = -mean * scale if beta is None else beta - mean * scale
        return scale, shift

    def _epsilon(self, fused: bool, epsilon: Optional[float] = None) -> float:
        epsilon = self.epsilon if epsilon is None else epsilon
        return max(epsilon, _FUSED_MIN_EPSILON) if fused else epsilon

    def forward(self, inputs: torch.Tensor, training: Optional[bool] = None,
                batch_weights: Optional[torch.Tensor] = None, adjustment=None,
                variables: Optional[tuple] = None,
                settings: Optional[BatchNormSettings] = None) -> torch.Tensor:
        """``training`` comes from ``batch_norm``'s ``is_training`` on every call;
        None (a direct call of the module) follows ``self.training``.
        ``batch_weights`` and ``adjustment`` are the call's (see ``batch_norm``);
        ``variables`` its ``(renorm, zero_debias_moving_mean)``, which must be
        those the layer was built with (they decide its variables);
        ``settings`` the call's :class:`BatchNormSettings` (default: the first
        call's)."""
        if variables is not None and variables != (self.renorm, self.zero_debias is not None):
            raise ValueError(
                f"{self.scope_name}: called with (renorm, zero_debias_moving_mean)={variables} "
                f"but built with {(self.renorm, self.zero_debias is not None)}; they decide the "
                "layer's variables, so a shared batch norm keeps them (use another scope)")
        training = self.training if training is None else training
        s = self.default_settings if settings is None else settings
        if s is not self.default_settings and s != self.default_settings:
            self._check_settings(s)
        if self.folded:
            if training:
                raise RuntimeError(f"{self.scope_name}: this batch norm was folded into its "
                                   "convolution by slim.fold_batch_norms, for inference only; "
                                   "train the unfolded model")
            return activate(inputs, s.activation_fn)
        rank = inputs.dim()
        move = rank > 2 and not _channels_first(s.data_format, rank)
        x = inputs.movedim(-1, 1) if move else inputs
        if rank < 2 or x.shape[1] != self.num_channels:
            raise self.shape_error(inputs, f"rank >= 2 with {self.num_channels} channels")
        if batch_weights is not None and (batch_weights.dim() != 1
                                          or batch_weights.shape[0] != x.shape[0]):
            raise ValueError(f"{self.scope_name}: batch_weights must have shape "
                             f"[{x.shape[0]}] (one weight per example), got "
                             f"{list(batch_weights.shape)}")
        # TF-Slim runs TF's fused kernel for rank 2 and 4 (unless fused=False). It
        # feeds the unbiased batch variance to moving_variance, exactly as torch
        # does, and raises epsilon to cuDNN's minimum; TF's other paths do neither.
        plain = batch_weights is None and adjustment is None and not self.renorm
        fused = s.fused and rank in (2, 4) and plain
        if training and (not fused or self.zero_debias or self.sync and _distributed()):
            # Half inputs: float32 statistics and arithmetic (as TF-Slim), then
            # the input's dtype. torch's kernel below does the same by itself.
            dtype = x.dtype
            outputs = self._train(x.float() if dtype in _HALF else x, batch_weights, adjustment,
                                  fused, s).to(dtype)
        else:
            outputs = self._fast(x, training, self._epsilon(fused, s.epsilon), s.decay)
        return activate(outputs.movedim(1, -1) if move else outputs, s.activation_fn)

    def _check_settings(self, s: BatchNormSettings) -> None:
        """A later call's settings get the first call's checks."""
        _check_data_format(s.data_format, self.scope_name)
        unknown = sorted(set(dict(s.renorm_clipping)) - set(_RENORM_CLIPPING_KEYS))
        if unknown:
            raise ValueError(f"{self.scope_name}: renorm_clipping has unknown keys {unknown}; "
                             f"expected some of {list(_RENORM_CLIPPING_KEYS)}")

    def _fast(self, x, training: bool, epsilon: float, decay: float):
        """torch's kernel: inference, and the fused kernel's training."""
        gamma, beta = self._variable("gamma"), self._variable("beta")
        if x.device.type != "cpu" and (gamma is None or beta is None):
            # cuDNN's batch-norm backward fails on a missing weight or bias
            # ("tensor does not have a device", torch 2.11 on an H100):
            # pass the identity scale/shift TF-Slim's no-gamma layer means.
            like = self._buffers["moving_mean"]   # float32 under autocast too
            gamma = torch.ones_like(like) if gamma is None else gamma
            beta = torch.zeros_like(like) if beta is None else beta
        return F.batch_norm(x, self._buffers["moving_mean"], self._buffers["moving_variance"],
                            gamma, beta, training, 1.0 - decay, epsilon)

    def _moments(self, x, batch_weights):
        """Per-channel mean, biased variance and sample count (the sum of the
        weights with ``batch_weights``: TF's ``nn.weighted_moments``), over the
        global batch of all ranks when synchronized (with autograd)."""
        dims = [0, *range(2, x.dim())]
        if batch_weights is None:
            weights = None
            count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        else:
            weights = batch_weights.to(x.dtype).view([-1] + [1] * (x.dim() - 1))
            count = (weights * (x.numel() / (x.shape[0] * x.shape[1]))).sum().view(1)
        if not (self.sync and _distributed()):
            if weights is None:
                variance, mean = torch.var_mean(x, dims, correction=0)
                return mean, variance, count
            mean = (weights * x).sum(dims) / count
            centered = x - mean.view([-1] + [1] * (x.dim() - 2))
            return mean, (weights * centered.square()).sum(dims) / count, count
        from torch.distributed.nn.functional import all_reduce
        wx = x if weights is None else weights * x
        stats = all_reduce(torch.cat([wx.sum(dims), (wx * x).sum(dims), count]))
        channels = x.shape[1]
        total = stats[-1:]
        mean = stats[:channels] / total
        return mean, stats[channels:2 * channels] / total - mean * mean, total

    def _train(self, x, batch_weights, adjustment, fused: bool, s: BatchNormSettings):
        """Training with explicit moments: TF's Keras and legacy paths, and the
        fused one with zero-debiasing or synchronized statistics."""
        mean, variance, count = self._moments(x, batch_weights)
        epsilon = self._epsilon(fused, s.epsilon)
        scale, offset = self._variable("gamma"), self._variable("beta")
        if adjustment is not None:   # before renorm: (x̂·r + d)·a_scale + a_bias
            scale, offset = self._adjust(x, adjustment, scale, offset)
        with torch.no_grad():
            if self.renorm:   # (r, d) are constants for autograd, as in Keras
                r, d = self._renorm_update(mean.detach(), variance.detach(), s)
            else:
                update = variance * (count / (count - 1)) if fused else variance
                self._buffers["moving_variance"].lerp_(update.detach(), 1.0 - s.decay)
            self._update_moving_mean(mean.detach(), s.decay)
        if self.renorm:
            offset = (d if scale is None else d * scale) + (0.0 if offset is None else offset)
            scale = r if scale is None else r * scale
        shape = [-1] + [1] * (x.dim() - 2)
        return _normalize(x, mean.view(shape), variance.view(shape),
                          None if offset is None else offset.view(shape),
                          None if scale is None else scale.view(shape), epsilon)

    def _adjust(self, x, adjustment, scale, offset):
        """Composes the call's ``adjustment(shape)`` with gamma/beta; the shape
        is TF-Slim's channels-last one, so ported code's ``shape[-1:]`` is the depth."""
        shape = (x.shape[0], *x.shape[2:], x.shape[1])
        adj_scale, adj_bias = adjustment(torch.Size(shape))
        adj_scale = torch.as_tensor(adj_scale, dtype=x.dtype, device=x.device)
        adj_bias = torch.as_tensor(adj_bias, dtype=x.dtype, device=x.device)
        if adj_scale.dim() > 1 or adj_bias.dim() > 1 or \
                adj_scale.numel() not in (1, x.shape[1]) or adj_bias.numel() not in (1, x.shape[1]):
            raise ValueError(f"{self.scope_name}: adjustment must return (scale, bias) of shape "
                             f"[{x.shape[1]}] (or scalars), got {list(adj_scale.shape)} and "
                             f"{list(adj_bias.shape)}")
        channels = torch.ones(x.shape[1], dtype=x.dtype, device=x.device)
        adj_scale, adj_bias = adj_scale * channels, adj_bias * channels
        if scale is not None:
            adj_scale, adj_bias = adj_scale * scale, adj_bias * scale
        return adj_scale, adj_bias if offset is None else adj_bias + offset

    def _renorm_update(self, mean, variance, s: BatchNormSettings):
        """Keras' batch renormalization: the corrections ``(r, d)`` from the
        pre-update ``renorm_mean``/``renorm_stddev``, clipped; then every
        moving statistic moves towards the batch's (``moving_variance`` is
        ``moving_stddev² - epsilon``)."""
        buffers = self._buffers
        stddev = torch.sqrt(variance + s.epsilon)
        renorm_stddev = torch.clamp(buffers["renorm_stddev"], min=math.sqrt(s.epsilon))
        r = stddev / renorm_stddev
        d = (mean - buffers["renorm_mean"]) / renorm_stddev
        clip = dict(s.renorm_clipping)
        if clip.get("rmin") is not None:
            r = torch.clamp(r, min=float(clip["rmin"]))
        if clip.get("rmax") is not None:
            r = torch.clamp(r, max=float(clip["rmax"]))
        if clip.get("dmax") is not None:
            d = torch.clamp(d, -float(clip["dmax"]), float(clip["dmax"]))
        buffers["renorm_mean"].lerp_(mean, 1.0 - s.renorm_decay)
        buffers["renorm_stddev"].lerp_(stddev, 1.0 - s.renorm_decay)
        moving_stddev = buffers["moving_stddev"].lerp_(stddev, 1.0 - s.decay)
        buffers["moving_variance"].copy_(torch.relu(moving_stddev.square() - s.epsilon))
        return r, d

    def _update_moving_mean(self, mean, decay: float):
        if self.zero_debias is None:
            self._buffers["moving_mean"].lerp_(mean, 1.0 - decay)
            return
        # TF's _zero_debias: an EMA from zero, divided by 1 - decay^steps.
        state = self.get_submodule(self.zero_debias)._buffers
        biased = state["biased"].lerp_(mean, 1.0 - decay)
        step = state["local_step"].add_(1)
        self._buffers["moving_mean"].copy_(biased / (1.0 - decay ** step))

    def extra_repr(self) -> str:
        extra = ", renorm=True" if self.renorm else ""
        extra += ", zero_debias_moving_mean=True" if self.zero_debias else ""
        return (f"{self.num_channels}, decay={self.decay}, epsilon={self.epsilon}{extra}, "
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
    takes the *unbiased* batch variance where TF-Slim runs its fused kernel
    (rank 2 and 4, ``fused`` not False, none of ``renorm``, ``batch_weights``,
    ``adjustment``), and the biased one otherwise, as in TF-Slim. Otherwise
    (not training) the moving statistics are used and nothing changes.

    Args:
        inputs: ``[N, C]``, ``[N, C, H, W]`` (rank >= 2); see ``data_format``.
            float16/bfloat16 inputs get float32 variables and float32
            statistics; the output keeps the input's dtype.
        decay: the moving averages' decay (torch's ``momentum = 1 - decay``).
        center: add ``beta``.
        scale: multiply by ``gamma``; off by default, as in TF-Slim, so there
            is no ``gamma`` unless ``scale=True``.
        epsilon: added to the variance. Where TF-Slim uses TF's fused kernel
            values below 1.001e-5 are raised to 1.001e-5, as that kernel does.
        activation_fn: applied last; default None.
        param_initializers, param_regularizers: dicts keyed by ``'beta'``,
            ``'gamma'``, ``'moving_mean'``, ``'moving_variance'`` (regularizers:
            ``'beta'``/``'gamma'``). Unknown keys raise.
        updates_collections: ``'update_ops'`` (default) or None. In eager
            PyTorch the moving averages are updated during the forward pass in
            both cases (TF's ``None`` behaviour), so there are no update ops to
            run; other collections raise ``NotImplementedError``. As in
            TF-Slim, None takes TF's legacy path, which has no ``renorm``.
        is_training: None (default) follows ``model.train()``/``model.eval()``
            (True outside a model, like TF-Slim); an explicit value, from the
            call or an ``arg_scope``, wins. It is read on every call.
        reuse, variables_collections, outputs_collections, trainable, scope:
            as for ``slim.conv2d``; ``variables_collections`` may be a dict keyed
            by variable name. The moving statistics are never trainable: they
            are buffers, in ``MODEL_VARIABLES`` and the ``state_dict``.
        batch_weights: ``[N]`` weights of the examples (TF's
            ``nn.weighted_moments``): the batch mean and variance are
            weighted, e.g. to correct a biased sampling. Read on every call.
        fused: None/True as TF-Slim's default (see above); False: TF's
            non-fused implementation (biased moving variance, exact epsilon).
        data_format: None (the feature dimension), ``'NCHW'`` or ``'NHWC'``.
        zero_debias_moving_mean: update ``moving_mean`` as TF's
            ``assign_moving_average(zero_debias=True)``: an average from zero
            in ``<scope>/<scope>/moving_mean/biased``, divided by
            ``1 - decay ** local_step`` (``.../local_step`` counts the
            updates), so the first update already gives the batch mean. Both
            are created with the layer (TF creates them at the first training
            call), as model variables unless TF-Slim's fused path applies.
        renorm: batch renormalization (Ioffe, 2017) as TF's Keras layer does
            it: while training, the normalized batch ``x̂`` becomes
            ``x̂ · r + d`` with ``r = σ_B / renorm_stddev``,
            ``d = (μ_B - renorm_mean) / renorm_stddev`` (``σ_B`` includes
            epsilon; no gradient through ``r``, ``d``), then ``renorm_mean``,
            ``renorm_stddev`` move to the batch's with ``renorm_decay`` and
            ``moving_stddev`` with ``decay``; ``moving_variance`` is
            ``moving_stddev² - epsilon``. Inference is unchanged. The extra
            variables are named ``moving_stddev``, ``renorm_mean``,
            ``renorm_stddev``.
        renorm_clipping: dict with optional ``'rmax'``, ``'rmin'``, ``'dmax'``:
            ``r`` is clipped to ``[rmin, rmax]`` and ``d`` to ``[-dmax, dmax]``.
            Only read with ``renorm``, as in TF-Slim.
        renorm_decay: the decay of ``renorm_mean``/``renorm_stddev``.
        adjustment: ``adjustment(shape) -> (scale, bias)``, called on every
            training call with the input's shape in TF-Slim's channels-last
            order (so ``shape[-1:]`` is ``[C]``); the normalized values are
            multiplied by ``scale`` and shifted by ``bias`` (``[C]`` or
            scalars) before ``gamma``/``beta``. Not applied in inference.
            TF-Slim silently ignored it with ``batch_weights``,
            ``zero_debias_moving_mean`` or ``updates_collections=None``; that
            raises here.

    Returns:
        The normalized tensor, in the layout of ``inputs``.

    Example:
        >>> with slim.Graph():
        ...     x = torch.tensor([[0.], [2.], [4.], [6.]])
        ...     y = batch_norm(x, decay=0.5, scope='bn')  # training: (x - 3) / sqrt(5 + 0.001)
        ...     var = slim.get_unique_variable('bn/moving_variance')
        >>> [round(v, 4) for v in y.flatten().tolist()], round(var.item(), 4)  # (1 + 20/3) / 2
        ([-1.3415, -0.4472, 0.4472, 1.3415], 3.8333)

        With batch renormalization, the layer has three more statistics:

        >>> with slim.Graph():
        ...     y = batch_norm(torch.randn(8, 3, 4, 4), renorm=True,
        ...                    renorm_clipping={'rmax': 3.0, 'dmax': 5.0})
        ...     [v.name for v in slim.get_model_variables()][2:]
        ['BatchNorm/moving_variance', 'BatchNorm/moving_stddev', 'BatchNorm/renorm_mean', \
'BatchNorm/renorm_stddev']
    """
    def new_layer(ls):
        path = ls.path
        _check_data_format(data_format, path)
        _check_input(inputs, path, "batch_norm", 2)
        tf_path = _tf_path(inputs.dim(), fused, updates_collections, batch_weights, renorm,
                           adjustment, zero_debias_moving_mean)
        clipping = _check_batch_norm_options(path, tf_path, updates_collections, fused, renorm,
                                             renorm_clipping, adjustment)
        initializers = _check_keys(path, "param_initializers", param_initializers,
                                   _BATCH_NORM_VARIABLES)
        regularizers = _check_keys(path, "param_regularizers", param_regularizers,
                                   ("beta", "gamma"))
        channels = inputs.shape[1 if _channels_first(data_format, inputs.dim()) else -1]
        debias_scope = f"{path}/moving_mean" if zero_debias_moving_mean else None
        layer = ls.create(BatchNorm(path, channels, data_format, float(decay), epsilon,
                                    fused is not False, activation_fn, bool(renorm), clipping,
                                    float(renorm_decay),
                                    debias_scope and debias_scope.replace("/", ".")))
        dtype = _param_dtype(inputs.dtype)
        _create_beta_gamma([channels], dtype, center, scale, initializers, regularizers,
                           variables_collections, trainable, gamma_first=tf_path == "keras")
        moving_mean_init = initializers.get("moving_mean", zeros_initializer())
        moving_variance_init = initializers.get("moving_variance", ones_initializer())
        for name, init in (("moving_mean", moving_mean_init),
                           ("moving_variance", moving_variance_init)):
            model_variable(name, shape=[channels], dtype=dtype, initializer=init,
                           trainable=False,
                           collections=variables_collections_for(variables_collections, name))
        if renorm:
            _create_renorm_variables(channels, dtype, moving_mean_init, moving_variance_init)
        if debias_scope:
            # TF's fused path creates them without TF-Slim's model-variable getter.
            make = variable if tf_path == "fused" else model_variable
            make(f"{debias_scope}/biased", shape=[channels], dtype=dtype,
                 initializer=zeros_initializer(), trainable=False)
            make(f"{debias_scope}/local_step", shape=[], dtype=dtype,
                 initializer=zeros_initializer(), trainable=False)
        return layer

    if fused not in (None, True, False):
        raise ValueError(f"{current_frame().top.join(scope or 'BatchNorm')}: fused must be "
                         f"None, True or False, got {fused!r}")
    settings = call_settings(decay, epsilon, activation_fn, data_format, fused, renorm,
                             renorm_clipping, renorm_decay)
    return call_layer(inputs, scope, "BatchNorm", reuse, new_layer,
                      outputs_collections=outputs_collections,
                      layer_kwargs={"training": resolve_is_training(is_training),
                                    "batch_weights": batch_weights, "adjustment": adjustment,
                                    "variables": (bool(renorm), bool(zero_debias_moving_mean)),
                                    "settings": settings})


def _create_renorm_variables(channels: int, dtype, moving_mean_init, moving_variance_init):
    """Keras' renorm statistics: standard deviations start at the square root
    of the moving variance's initial value, ``renorm_mean`` as ``moving_mean``."""
    def stddev_init(tensor):
        moving_variance_init(tensor)
        return tensor.sqrt_()

    for name, init in (("moving_stddev", stddev_init), ("renorm_mean", moving_mean_init),
                       ("renorm_stddev", stddev_init)):
        model_variable(name, shape=[channels], dtype=dtype, initializer=init, trainable=False)


def _check_batch_norm_options(path, tf_path, updates_collections, fused, renorm,
                              renorm_clipping, adjustment) -> Optional[dict]:
    """Rejects what TF-Slim rejects (or silently ignored); returns the clipping."""
    if updates_collections not in (None, GraphKeys.UPDATE_OPS, [GraphKeys.UPDATE_OPS],
                                   (GraphKeys.UPDATE_OPS,)):
        raise NotImplementedError(
            f"{path}: updates_collections={updates_collections!r} is not supported: the moving "
            "averages are updated in place during the forward pass; use 'update_ops' or None")
    if fused not in (None, True, False):
        raise ValueError(f"{path}: fused must be None, True or False, got {fused!r}")
    for name, given in (("renorm", renorm), ("adjustment", adjustment is not None)):
        if given and tf_path == "legacy":
            raise ValueError(f"{path}: {name} is not supported with batch_weights, "
                             "updates_collections=None or zero_debias_moving_mean (TF-Slim's "
                             f"legacy batch norm); drop one of them")
    if not renorm:
        return None
    clipping = dict(renorm_clipping or {})
    unknown = sorted(set(clipping) - set(_RENORM_CLIPPING_KEYS))
    if unknown:
        raise ValueError(f"{path}: renorm_clipping has unknown keys {unknown}; expected some "
                         f"of {list(_RENORM_CLIPPING_KEYS)}")
    return clipping
