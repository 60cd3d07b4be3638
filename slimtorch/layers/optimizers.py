"""TF-Slim's ``slim.layers.optimizers``: the optimizer names ``optimize_loss``
takes and ``adaptive_clipping_fn``.

``optimize_loss`` itself builds a train op, so it lives with the trainer
(:func:`slimtorch.learning.optimize_loss`, also ``slim.optimize_loss``); what
it is configured with lives here, one layer below:

* :data:`OPTIMIZER_CLS_NAMES`: ``'SGD'``, ``'Momentum'``, ``'Adam'``,
  ``'Adagrad'``, ``'RMSProp'``, ``'Ftrl'``, each ``(params, learning_rate) ->
  optimizer`` with the defaults of TF's optimizer classes and TF's update
  rules (:mod:`slimtorch.optimization`);
* :data:`OPTIMIZER_SUMMARIES`: the summaries ``optimize_loss`` can record;
* :func:`adaptive_clipping_fn`: a ``clip_gradients`` function whose limit
  follows the statistics of the gradient norms.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from ..initializers import zeros_initializer
from ..optimization import make_optimizer
from ..scopes import get_variable_scope, variable_scope
from ..summaries import scalar
from ..variables import variable

__all__ = ["OPTIMIZER_CLS_NAMES", "OPTIMIZER_SUMMARIES", "adaptive_clipping_fn", "global_norm"]


def __getattr__(name: str):
    """``slim.layers.optimizers.optimize_loss``, tf_slim's home for it. It is
    built on the trainer (``slimtorch.training``, which depends on the
    layers), so it is imported when first read rather than with this module.

        >>> from slimtorch.layers import optimizers
        >>> optimizers.optimize_loss is slim.learning.optimize_loss
        True
    """
    if name == "optimize_loss":
        from ..training import optimize_loss   # the one upward import: see the docstring
        return optimize_loss
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _tf_optimizer(name: str, **defaults) -> Callable:
    """``(params, learning_rate) -> optimizer``: research/slim's optimizer
    ``name`` with the defaults of TF's class (not research/slim's flags)."""
    def build(params, learning_rate):
        return make_optimizer(name, params, float(learning_rate), **defaults)
    build.__name__ = build.__qualname__ = f"{name}_optimizer"
    return build


# The defaults of tf.compat.v1.train.*Optimizer's constructors (Momentum: 0.9, as TF-Slim sets it).
OPTIMIZER_CLS_NAMES = {
    "Adagrad": _tf_optimizer("adagrad", initial_accumulator_value=0.1),
    "Adam": _tf_optimizer("adam", beta1=0.9, beta2=0.999, epsilon=1e-8),
    "Ftrl": _tf_optimizer("ftrl", learning_rate_power=-0.5, initial_accumulator_value=0.1,
                          l1=0.0, l2=0.0),
    "Momentum": _tf_optimizer("momentum", momentum=0.9),
    "RMSProp": _tf_optimizer("rmsprop", decay=0.9, momentum=0.0, epsilon=1e-10),
    "SGD": _tf_optimizer("sgd"),
}

OPTIMIZER_SUMMARIES = [
    "learning_rate",
    "loss",
    "gradients",
    "gradient_norm",
    "global_gradient_norm",
]


def global_norm(t_list) -> torch.Tensor:
    """``tf.linalg.global_norm``: ``sqrt(sum(||t||^2))`` over the tensors that
    are not None, in float32, on the first tensor's device (0 for none);
    what ``optimize_loss`` and :func:`adaptive_clipping_fn` clip by.

        >>> global_norm([torch.tensor([3.0]), None, torch.tensor([4.0])])
        tensor(5.)
    """
    present = [t.detach().float() for t in t_list if t is not None]
    if not present:
        return torch.tensor(0.0)
    return torch.sqrt(sum(t.pow(2).sum().to(present[0].device) for t in present))


class _AdaptiveClipping:
    """What :func:`adaptive_clipping_fn` returns: call it on ``grads_and_vars``.

    Its two moving averages are variables ``<scope>/<name>/mean`` and
    ``<scope>/<name>/sq_mean`` (checkpointed with the model), made in the
    variable scope current at the first call (``optimize_loss`` calls it in
    its own, so ``OptimizeLoss/AdaptiveMaxNorm/...`` as in TF)."""

    def __init__(self, std_factor, decay, static_max_norm, global_step, report_summary,
                 epsilon, name) -> None:
        self.std_factor, self.decay, self.static_max_norm = std_factor, decay, static_max_norm
        self.global_step, self.report_summary = global_step, report_summary
        self.epsilon, self.name = epsilon, name or "AdaptiveMaxNorm"
        self.mean: Optional[torch.Tensor] = None
        self.sq_mean: Optional[torch.Tensor] = None

    def create_variables(self, device=None) -> None:
        """Creates (or finds) the moving averages, zero, in the current scope."""
        if self.mean is not None:
            return
        with variable_scope(self.name):
            self.mean = variable("mean", shape=[], dtype=torch.float32,
                                 initializer=zeros_initializer(), trainable=False, device=device)
            self.sq_mean = variable("sq_mean", shape=[], dtype=torch.float32,
                                    initializer=zeros_initializer(), trainable=False,
                                    device=device)

    def _decay(self) -> float:
        decay = np.float32(self.decay)
        step = self.global_step() if callable(self.global_step) else self.global_step
        if step is not None:   # quicker adaptation at the beginning
            n = np.float32(int(step))
            decay = min(decay, n / (n + np.float32(1.0)))
        return float(decay)

    @torch.no_grad()
    def __call__(self, grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        grads = [g for g, _ in grads_and_vars]
        present = [g for g in grads if g is not None]
        if not present:
            return grads_and_vars
        norm = global_norm(present)
        self.create_variables(norm.device)
        log_norm = torch.log(norm + self.epsilon)
        one_minus = 1.0 - self._decay()
        # assign_moving_average without zero debiasing: v -= (v - value) * (1 - decay)
        self.mean.sub_((self.mean - log_norm) * one_minus)
        self.sq_mean.sub_((self.sq_mean - log_norm.square()) * one_minus)
        variance = self.sq_mean - self.mean.square()
        std = torch.sqrt(torch.clamp(variance, min=self.epsilon))
        max_norm = torch.exp(self.mean + self.std_factor * std)
        if self.report_summary:
            prefix = get_variable_scope().name
            scalar(f"{prefix}/global_norm/adaptive_max_gradient_norm" if prefix
                   else "global_norm/adaptive_max_gradient_norm", max_norm.clone())
        factor = torch.where(norm < max_norm, torch.ones_like(norm), torch.exp(self.mean) / norm)
        if self.static_max_norm is not None:
            factor = torch.minimum(self.static_max_norm / norm, factor)
        return [(None if g is None else g * factor.to(g.dtype), v) for g, v in grads_and_vars]


def adaptive_clipping_fn(std_factor: float = 2., decay: float = 0.95,
                         static_max_norm: Optional[float] = None, global_step=None,
                         report_summary: bool = False, epsilon: float = 1e-8,
                         name: Optional[str] = None) -> Callable:
    """TF-Slim's ``adaptive_clipping_fn``: clipping whose limit adapts to the
    gradient norms (section 3.2.1 of https://arxiv.org/abs/1412.1602).

    Keeps moving averages of the mean and of the square of ``log(norm)``,
    ``norm`` being the global norm of the gradients; when ``norm`` exceeds
    ``exp(mean + std_factor * std)`` every gradient is rescaled so that the
    global norm becomes ``exp(mean)``. Pass the result as ``optimize_loss``'s
    ``clip_gradients``, or call it on a list of ``(gradient, variable)``.

    Args:
        std_factor: ``max_norm = exp(mean + std_factor * std)``.
        decay: the smoothing factor of the moving averages.
        static_max_norm: if given, the norm is also limited to this value.
        global_step: optional; the decay becomes ``min(decay, n / (n + 1))``
            with ``n`` its value at each call (quicker adaptation at first).
            A variable, a tensor, or a function returning the step.
        report_summary: record the scalar summary
            ``global_norm/adaptive_max_gradient_norm`` (under the scope).
        epsilon: small value avoiding a zero variance and ``log(0)``.
        name: the variable scope of the two moving averages
            (``AdaptiveMaxNorm``).

    Returns:
        A function ``grads_and_vars -> grads_and_vars`` (None gradients pass
        through). Eagerly its moving averages update at every call, as the TF
        graph's did at every run.

    Example:
        >>> import math
        >>> with slim.Graph():
        ...     clip = adaptive_clipping_fn(std_factor=0.0, decay=0.5)
        ...     [(g, _)] = clip([(torch.full([4], 3.0), None)])   # norm 6 > exp(mean)
        ...     round(g.norm().item(), 4), round(math.exp(0.5 * math.log(6.0)), 4)
        ...     [v.name for v in slim.get_variables()]
        (2.4495, 2.4495)
        ['AdaptiveMaxNorm/mean', 'AdaptiveMaxNorm/sq_mean']
    """
    if not callable(global_step) and global_step is not None and \
            not isinstance(global_step, (int, torch.Tensor)):
        raise TypeError("adaptive_clipping_fn: global_step must be None, an int, a tensor "
                        f"(e.g. slim.get_global_step()) or a function; got {type(global_step)}")
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"adaptive_clipping_fn: decay must be in [0, 1], got {decay}")
    return _AdaptiveClipping(std_factor, decay, static_max_norm, global_step, report_summary,
                             epsilon, name)
