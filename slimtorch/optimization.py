"""Learning-rate schedules, optimizers and moving averages as research/slim's
``train_image_classifier.py`` configures them, with TensorFlow 1's update rules.

* :func:`learning_rate_schedule` is ``_configure_learning_rate``: a function
  ``global_step -> learning rate`` ('exponential', 'fixed', 'polynomial'),
  built on TF's :func:`exponential_decay` and :func:`polynomial_decay`, with
  research/slim's linear warm-up (``--warmup_epochs``).
* :func:`make_optimizer` is ``_configure_optimizer``: 'sgd', 'momentum',
  'rmsprop', 'adam', 'adagrad', 'adadelta', 'ftrl' with research/slim's flag
  defaults (``--opt_epsilon=1.0`` included). Where ``torch.optim`` computes
  something else than TF (RMSProp, Adam, FTRL), a small optimizer here
  (:class:`TFRMSprop`, :class:`TFAdam`, :class:`TFFtrl`) follows TF's kernel.
* :func:`set_learning_rate` applies a scheduled value before each step.
* :class:`ExponentialMovingAverage` is ``tf.train.ExponentialMovingAverage``
  with TF's shadow names (``<var>/ExponentialMovingAverage``).

    >>> lr = learning_rate_schedule('exponential', 0.1, decay_steps=10,
    ...                             learning_rate_decay_factor=0.5)
    >>> [lr(step) for step in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = make_optimizer('rmsprop', [w], learning_rate=lr(0))
    >>> type(opt).__name__, opt.defaults['epsilon']
    ('TFRMSprop', 1.0)

Values are computed in double precision (TF computes the schedule in the
learning rate's float32); the difference is at the level of float32 rounding.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable, Iterable, Mapping, Optional, Union

import numpy as np
import torch

__all__ = [
    "ExponentialMovingAverage", "TFAdam", "TFFtrl", "TFRMSprop", "exponential_decay",
    "get_learning_rate", "learning_rate_schedule", "make_optimizer", "polynomial_decay",
    "set_learning_rate",
]


# -- learning-rate schedules ---------------------------------------------------------
def exponential_decay(learning_rate: float, global_step: int, decay_steps: float,
                      decay_rate: float, staircase: bool = False) -> float:
    """``tf.train.exponential_decay``: ``lr * decay_rate ** (step / decay_steps)``,
    the exponent floored when ``staircase``.

        >>> round(exponential_decay(0.01, 350, 100, 0.94, staircase=True), 10)  # 0.01 * 0.94**3
        0.00830584
    """
    if decay_steps <= 0:
        raise ValueError(f"decay_steps must be > 0, got {decay_steps}")
    p = float(global_step) / float(decay_steps)
    if staircase:
        p = math.floor(p)
    return learning_rate * decay_rate ** p


def polynomial_decay(learning_rate: float, global_step: int, decay_steps: float,
                     end_learning_rate: float = 0.0001, power: float = 1.0,
                     cycle: bool = False) -> float:
    """``tf.train.polynomial_decay``: from ``learning_rate`` to
    ``end_learning_rate`` over ``decay_steps``, then constant; with ``cycle``
    the horizon grows to the next multiple of ``decay_steps`` instead.

        >>> polynomial_decay(0.1, 50, 100, 0.0, power=1.0)
        0.05
        >>> polynomial_decay(0.1, 150, 100, 0.0, cycle=True)  # horizon 200
        0.025
    """
    if decay_steps <= 0:
        raise ValueError(f"decay_steps must be > 0, got {decay_steps}")
    step, steps = float(global_step), float(decay_steps)
    if cycle:
        # TF: multiplier 1 at step 0 (ceil(0) would make the horizon 0).
        steps *= 1.0 if step == 0 else math.ceil(step / steps)
    else:
        step = min(step, steps)
    return (learning_rate - end_learning_rate) * (1.0 - step / steps) ** power + end_learning_rate


class _Schedule:
    """A ``global_step -> learning rate`` function with a readable repr."""

    def __init__(self, kind: str, fn: Callable[[int], float], **params) -> None:
        self.kind, self._fn, self.params = kind, fn, params

    def __call__(self, global_step: int) -> float:
        return self._fn(int(global_step))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"learning_rate_schedule({self.kind!r}, {args})"


def learning_rate_schedule(kind: str = "exponential", learning_rate: float = 0.01, *,
                           decay_steps: Optional[float] = None,
                           num_epochs_per_decay: float = 2.0,
                           batch_size: Optional[int] = None,
                           num_samples: Optional[int] = None,
                           learning_rate_decay_factor: float = 0.94,
                           end_learning_rate: float = 0.0001,
                           staircase: bool = True, power: float = 1.0,
                           cycle: bool = False, warmup_epochs: float = 0.0,
                           replicas_to_aggregate: int = 1) -> Callable[[int], float]:
    """research/slim's ``_configure_learning_rate`` as ``global_step -> lr``.

    Evaluate it at the global step *before* the update, as TF's graph reads
    ``global_step`` before ``apply_gradients`` increments it: the first update
    uses ``schedule(0)``.

    Args:
        kind: 'exponential' (``exponential_decay``, ``staircase=True`` as in
            research/slim), 'fixed', or 'polynomial' (``polynomial_decay`` to
            ``end_learning_rate``).
        learning_rate: the initial learning rate (``--learning_rate``).
        decay_steps: steps per decay; if None, research/slim's
            ``int(steps_per_epoch * num_epochs_per_decay)`` with
            ``steps_per_epoch = num_samples / batch_size / replicas_to_aggregate``.
        num_epochs_per_decay: ``--num_epochs_per_decay``.
        batch_size: samples per optimizer step, all replicas together.
        num_samples: samples per epoch (``dataset.num_samples``).
        learning_rate_decay_factor: ``--learning_rate_decay_factor``.
        end_learning_rate: ``--end_learning_rate`` (polynomial).
        staircase: exponential decay in whole periods (research/slim: True).
        power: polynomial power (research/slim: 1.0).
        cycle: polynomial cycling (research/slim: False).
        warmup_epochs: ``--warmup_epochs``: the rate is at most
            ``learning_rate * step / (steps_per_epoch * warmup_epochs)``, a
            line from 0 (the first update's rate) that meets the decay after
            ``warmup_epochs`` epochs; ``steps_per_epoch`` is
            ``num_samples / batch_size`` (not rounded). 0: no warm-up.
        replicas_to_aggregate: research/slim's ``--replicas_to_aggregate``
            under ``--sync_replicas``: each step takes this many replicas'
            batches, so ``steps_per_epoch`` is divided by it.

    Raises:
        ValueError: unknown ``kind``, or no way to compute a positive
            ``decay_steps`` (or ``steps_per_epoch`` for a warm-up).

        >>> lr = learning_rate_schedule('polynomial', 0.1, num_samples=1000, batch_size=100,
        ...                             num_epochs_per_decay=1.0, end_learning_rate=0.0)
        >>> lr.params['decay_steps'], lr(5), lr(50)
        (10, 0.05, 0.0)

    A warm-up over 2 epochs of 10 steps, then the fixed rate:

        >>> lr = learning_rate_schedule('fixed', 0.1, num_samples=1000, batch_size=100,
        ...                             warmup_epochs=2)
        >>> [round(lr(step), 10) for step in (0, 1, 10, 20, 30)]
        [0.0, 0.005, 0.05, 0.1, 0.1]
    """
    if kind not in ("exponential", "fixed", "polynomial"):
        raise ValueError(f"learning_rate_decay_type [{kind}] was not recognized "
                         "(expected 'exponential', 'fixed' or 'polynomial')")
    # research/slim's steps_per_epoch: a float, divided (not rounded) under sync replicas.
    steps_per_epoch = num_samples / batch_size / replicas_to_aggregate \
        if batch_size and num_samples else None
    schedule = _decay_schedule(kind, learning_rate, decay_steps, num_epochs_per_decay,
                               steps_per_epoch, learning_rate_decay_factor, end_learning_rate,
                               staircase, power, cycle)
    if not warmup_epochs:
        return schedule
    if not steps_per_epoch:
        raise ValueError("a warm-up needs num_samples and batch_size (warmup_epochs counts "
                         "epochs)")
    warmup_steps = steps_per_epoch * warmup_epochs
    # research/slim: tf.minimum(learning_rate * global_step / warmup_steps, decayed rate).
    return _Schedule(kind, lambda step: min(learning_rate * step / warmup_steps, schedule(step)),
                     **schedule.params, warmup_epochs=warmup_epochs,
                     steps_per_epoch=steps_per_epoch)


def _decay_schedule(kind, learning_rate, decay_steps, num_epochs_per_decay, steps_per_epoch,
                    learning_rate_decay_factor, end_learning_rate, staircase, power,
                    cycle) -> _Schedule:
    if kind == "fixed":
        return _Schedule(kind, lambda step: learning_rate, learning_rate=learning_rate)
    if decay_steps is None:
        if not steps_per_epoch:
            raise ValueError(f"{kind} decay needs decay_steps, or num_samples and batch_size")
        # research/slim's exact expression (the order of operations matters for rounding).
        decay_steps = int(steps_per_epoch * num_epochs_per_decay)
    if decay_steps <= 0:
        raise ValueError(f"decay_steps must be > 0, got {decay_steps} (fewer samples per decay "
                         "period than one batch?)")
    if kind == "exponential":
        return _Schedule(kind, lambda step: exponential_decay(
            learning_rate, step, decay_steps, learning_rate_decay_factor, staircase),
            learning_rate=learning_rate, decay_steps=decay_steps,
            learning_rate_decay_factor=learning_rate_decay_factor, staircase=staircase)
    return _Schedule(kind, lambda step: polynomial_decay(
        learning_rate, step, decay_steps, end_learning_rate, power, cycle),
        learning_rate=learning_rate, decay_steps=decay_steps,
        end_learning_rate=end_learning_rate, power=power, cycle=cycle)


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Sets ``lr`` of every parameter group (a tensor ``lr`` is filled in place,
    so compiled or captured steps see the change).

        >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        >>> set_learning_rate(opt, 0.05); get_learning_rate(opt)
        0.05
    """
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(learning_rate)
        else:
            group["lr"] = float(learning_rate)


def get_learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """The first parameter group's learning rate, as a float."""
    lr = optimizer.param_groups[0]["lr"]
    return float(lr.item() if isinstance(lr, torch.Tensor) else lr)


# -- optimizers with TF's update rules ---------------------------------------------------
def _dense_grads(group, name):
    params, grads = [], []
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(f"{name} does not support sparse gradients")
        params.append(p)
        grads.append(p.grad)
    return params, grads


class _TFOptimizer(torch.optim.Optimizer):
    """Closure handling and dense-gradient collection shared by the TF-rule
    optimizers; subclasses implement ``_update(group, params, grads)``."""

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params, grads = _dense_grads(group, type(self).__name__)
            if params:
                self._update(group, params, grads)
        return loss

    def _update(self, group, params, grads) -> None:
        raise NotImplementedError


class TFRMSprop(_TFOptimizer):
    """``tf.train.RMSPropOptimizer`` (TF 1), which ``torch.optim.RMSprop`` is not:

    .. code-block:: text

        ms  <- ms + (g^2 - ms) * (1 - decay)          # ms starts at ONE (torch: 0)
        mom <- momentum * mom + lr * g / sqrt(ms + epsilon)   # epsilon inside the sqrt,
        var <- var - mom                                      # lr inside the momentum

    ``centered=True`` subtracts the squared mean gradient ``mg`` (starts at 0)
    inside the square root. State keys are TF's slot names: ``rms``,
    ``momentum`` (and ``mg``).

        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = TFRMSprop([w], lr=0.1, decay=0.9, momentum=0.0, epsilon=1.0)
        >>> w.grad = torch.tensor([2.0]); opt.step()
        >>> round(w.item(), 6)  # rms = 1 + 0.1 * (4 - 1); 1 - 0.1 * 2 / sqrt(1.3 + 1)
        0.868124
    """

    def __init__(self, params, lr: float = 0.01, decay: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-10, centered: bool = False) -> None:
        if lr < 0 or epsilon < 0 or not 0 <= decay <= 1 or momentum < 0:
            raise ValueError(f"invalid TFRMSprop hyper-parameters: lr={lr} decay={decay} "
                             f"momentum={momentum} epsilon={epsilon}")
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, epsilon=epsilon,
                                      centered=centered))

    def _update(self, group, params, grads) -> None:
        for p in params:
            state = self.state[p]
            if not state:
                state["rms"] = torch.ones_like(p, memory_format=torch.preserve_format)
                state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if group["centered"]:
                    state["mg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        rms = [self.state[p]["rms"] for p in params]
        mom = [self.state[p]["momentum"] for p in params]
        one_minus_decay = 1.0 - group["decay"]
        delta = torch._foreach_mul(grads, grads)
        torch._foreach_sub_(delta, rms)
        torch._foreach_mul_(delta, one_minus_decay)
        torch._foreach_add_(rms, delta)
        if group["centered"]:
            mg = [self.state[p]["mg"] for p in params]
            delta = torch._foreach_sub(grads, mg)
            torch._foreach_mul_(delta, one_minus_decay)
            torch._foreach_add_(mg, delta)
            denom = torch._foreach_mul(mg, mg)
            torch._foreach_neg_(denom)
            torch._foreach_add_(denom, rms)
            torch._foreach_add_(denom, group["epsilon"])
        else:
            denom = torch._foreach_add(rms, group["epsilon"])
        torch._foreach_sqrt_(denom)
        step = torch._foreach_mul(grads, group["lr"])
        torch._foreach_div_(step, denom)
        torch._foreach_mul_(mom, group["momentum"])
        torch._foreach_add_(mom, step)
        torch._foreach_sub_(params, mom)


class TFAdam(_TFOptimizer):
    """``tf.train.AdamOptimizer`` (TF 1), with epsilon where TF puts it:

    .. code-block:: text

        alpha <- lr * sqrt(1 - beta2^t) / (1 - beta1^t)
        m     <- m + (g - m) * (1 - beta1)
        v     <- v + (g^2 - v) * (1 - beta2)
        var   <- var - alpha * m / (sqrt(v) + epsilon)

    TF's epsilon is the paper's "epsilon hat": it is added to the *uncorrected*
    ``sqrt(v)``. ``torch.optim.Adam`` adds it to ``sqrt(v / (1 - beta2^t))``, so
    torch's ``eps`` equals TF's ``epsilon / sqrt(1 - beta2^t)``, which changes
    every step. With research/slim's ``--opt_epsilon=1.0`` the two differ a
    lot, hence this class. State keys: ``step`` (int64), ``m``, ``v``; ``t``
    counts the updates of each parameter (TF counts optimizer applications).

        >>> w = torch.nn.Parameter(torch.tensor([1.0]))
        >>> opt = TFAdam([w], lr=0.1, epsilon=1.0)
        >>> w.grad = torch.tensor([2.0]); opt.step()
        >>> round(w.item(), 6)  # 1 - 0.1 * sqrt(0.001) / 0.1 * 0.2 / (sqrt(0.004) + 1)
        0.994052
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8) -> None:
        if lr < 0 or epsilon < 0 or not 0 <= beta1 < 1 or not 0 <= beta2 < 1:
            raise ValueError(f"invalid TFAdam hyper-parameters: lr={lr} beta1={beta1} "
                             f"beta2={beta2} epsilon={epsilon}")
        super().__init__(params, dict(lr=lr, beta1=beta1, beta2=beta2, epsilon=epsilon))

    def _update(self, group, params, grads) -> None:
        b1, b2 = group["beta1"], group["beta2"]
        alphas = []
        for p in params:
            state = self.state[p]
            if not state:
                state["step"] = torch.tensor(0, dtype=torch.int64)
                state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] += 1  # a CPU tensor: reading it does not sync a GPU
            t = int(state["step"])
            alphas.append(group["lr"] * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))
        m = [self.state[p]["m"] for p in params]
        v = [self.state[p]["v"] for p in params]
        delta = torch._foreach_sub(grads, m)
        torch._foreach_mul_(delta, 1.0 - b1)
        torch._foreach_add_(m, delta)
        delta = torch._foreach_mul(grads, grads)
        torch._foreach_sub_(delta, v)
        torch._foreach_mul_(delta, 1.0 - b2)
        torch._foreach_add_(v, delta)
        denom = torch._foreach_sqrt(v)
        torch._foreach_add_(denom, group["epsilon"])
        update = torch._foreach_mul(m, alphas)
        torch._foreach_div_(update, denom)
        torch._foreach_sub_(params, update)


class TFFtrl(_TFOptimizer):
    """``tf.train.FtrlOptimizer`` (TF 1, ``ApplyFtrl``), absent from ``torch.optim``:

    .. code-block:: text

        n'     <- n + g^2                                  # n starts at initial_accumulator_value
        z      <- z + g - (n'^(-p) - n^(-p)) / lr * var    # p = learning_rate_power
        var    <- (sign(z) * l1 - z) / (n'^(-p) / lr + 2 * l2)  if |z| > l1 else 0

    State keys are TF's slot names ``accum`` and ``linear``.

        >>> w = torch.nn.Parameter(torch.tensor([0.0]))
        >>> opt = TFFtrl([w], lr=0.1, initial_accumulator_value=0.1)
        >>> w.grad = torch.tensor([1.0]); opt.step()
        >>> round(w.item(), 6)  # z=1, var = -1 / (sqrt(1.1) / 0.1)
        -0.095346
    """

    def __init__(self, params, lr: float = 0.01, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1: float = 0.0,
                 l2: float = 0.0) -> None:
        if lr <= 0 or learning_rate_power > 0 or initial_accumulator_value < 0 or l1 < 0 or l2 < 0:
            raise ValueError("invalid TFFtrl hyper-parameters: lr > 0, learning_rate_power <= 0, "
                             "initial_accumulator_value, l1, l2 >= 0 are required")
        super().__init__(params, dict(lr=lr, learning_rate_power=learning_rate_power,
                                      initial_accumulator_value=initial_accumulator_value,
                                      l1=l1, l2=l2))

    def _update(self, group, params, grads) -> None:
        lr, power, l1, l2 = group["lr"], -group["learning_rate_power"], group["l1"], group["l2"]
        for p, g in zip(params, grads):
            state = self.state[p]
            if not state:
                state["accum"] = torch.full_like(p, group["initial_accumulator_value"])
                state["linear"] = torch.zeros_like(p)
            accum, linear = state["accum"], state["linear"]
            new_accum = accum + g * g
            # TF's kernel special-cases -0.5 with sqrt; so do we, for the same rounding.
            new_root = new_accum.sqrt() if power == 0.5 else new_accum.pow(power)
            old_root = accum.sqrt() if power == 0.5 else accum.pow(power)
            linear.add_(g - (new_root - old_root) / lr * p)
            quadratic = new_root / lr + 2.0 * l2
            shrunk = (linear.clamp(-l1, l1) - linear) / quadratic
            p.copy_(torch.where(linear.abs() > l1, shrunk, torch.zeros_like(p)))
            accum.copy_(new_accum)


# research/slim's flag defaults, per optimizer (the keywords each accepts). Flags:
# --momentum; --rmsprop_decay, --rmsprop_momentum; --adam_beta1, --adam_beta2;
# --adagrad_initial_accumulator_value; --adadelta_rho; --ftrl_learning_rate_power,
# --ftrl_initial_accumulator_value, --ftrl_l1, --ftrl_l2; --opt_epsilon (all epsilons).
_OPTIMIZER_DEFAULTS = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "rmsprop": {"decay": 0.9, "momentum": 0.9, "epsilon": 1.0, "centered": False},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1.0},
    "adagrad": {"initial_accumulator_value": 0.1},
    "adadelta": {"rho": 0.95, "epsilon": 1.0},
    "ftrl": {"learning_rate_power": -0.5, "initial_accumulator_value": 0.1, "l1": 0.0, "l2": 0.0},
}


def make_optimizer(name: str, params: Union[Iterable[torch.Tensor], Iterable[dict]],
                   learning_rate: float = 0.01, **options) -> torch.optim.Optimizer:
    """research/slim's ``_configure_optimizer``: the optimizer ``--optimizer=name``
    builds, with the flags' defaults and TF's update rules.

    ==========  =========================================  ===================================
    name        options (research/slim default)             optimizer
    ==========  =========================================  ===================================
    sgd         --                                          ``torch.optim.SGD`` (= TF)
    momentum    momentum (0.9)                              ``torch.optim.SGD(momentum=)`` (= TF)
    rmsprop     decay (0.9), momentum (0.9), epsilon (1.0)  :class:`TFRMSprop`
    adam        beta1 (0.9), beta2 (0.999), epsilon (1.0)   :class:`TFAdam`
    adagrad     initial_accumulator_value (0.1)             ``torch.optim.Adagrad(eps=0)`` (= TF)
    adadelta    rho (0.95), epsilon (1.0)                   ``torch.optim.Adadelta`` (= TF)
    ftrl        learning_rate_power (-0.5),                 :class:`TFFtrl`
                initial_accumulator_value (0.1), l1, l2
    ==========  =========================================  ===================================

    No weight decay here: TF-Slim adds it to the loss through the layers'
    ``weights_regularizer``.

    Args:
        name: one of the names above (``--optimizer``).
        params: parameters or parameter groups, as for any ``torch.optim`` optimizer.
        learning_rate: the initial learning rate; change it per step with
            :func:`set_learning_rate`.
        **options: the hyper-parameters listed for ``name``.

    Raises:
        ValueError: unknown optimizer name.
        TypeError: an option ``name`` does not take.

        >>> opt = make_optimizer('adam', [torch.nn.Parameter(torch.zeros(3))], 0.001)
        >>> opt.defaults['epsilon'], opt.defaults['beta2']
        (1.0, 0.999)
        >>> make_optimizer('momentum', [torch.nn.Parameter(torch.zeros(3))], 0.1, rho=0.9)
        Traceback (most recent call last):
        ...
        TypeError: optimizer 'momentum' takes no option 'rho' (it takes: momentum)
    """
    if name not in _OPTIMIZER_DEFAULTS:
        raise ValueError(f"Optimizer [{name}] was not recognized "
                         f"(expected one of {', '.join(sorted(_OPTIMIZER_DEFAULTS))})")
    config = dict(_OPTIMIZER_DEFAULTS[name])
    for key, value in options.items():
        if key not in config:
            allowed = ", ".join(config) or "none"
            raise TypeError(f"optimizer {name!r} takes no option {key!r} (it takes: {allowed})")
        config[key] = value
    lr = learning_rate
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        # TF: accum = momentum * accum + g; var -= lr * accum -- torch's SGD exactly.
        return torch.optim.SGD(params, lr=lr, momentum=config["momentum"])
    if name == "rmsprop":
        return TFRMSprop(params, lr=lr, **config)
    if name == "adam":
        return TFAdam(params, lr=lr, **config)
    if name == "adagrad":
        # TF 1's Adagrad has no epsilon: var -= lr * g / sqrt(accum).
        return torch.optim.Adagrad(params, lr=lr, eps=0.0,
                                   initial_accumulator_value=config["initial_accumulator_value"])
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=config["rho"], eps=config["epsilon"])
    return TFFtrl(params, lr=lr, **config)


# -- moving averages ---------------------------------------------------------------------
def _named(variables) -> "OrderedDict[str, torch.Tensor]":
    if isinstance(variables, Mapping):
        return OrderedDict((str(k), v) for k, v in variables.items())
    named = OrderedDict()
    for var in variables:
        name = getattr(var, "name", None)
        if not isinstance(name, str):
            raise TypeError("ExponentialMovingAverage needs named variables: slim variables "
                            "(with .name) or a {name: tensor} mapping")
        named[name] = var
    return named


class ExponentialMovingAverage:
    """``tf.train.ExponentialMovingAverage`` over named variables.

    Each :meth:`update` moves every shadow towards its variable:
    ``shadow -= (shadow - var) * (1 - d)`` with ``d = decay``, or, given
    ``num_updates`` (research/slim passes the global step),
    ``d = min(decay, (1 + num_updates) / (10 + num_updates))``. ``d`` is
    computed in float32 as TF does. Shadows start as copies of the variables
    (TF: their initial values) and are named ``<var>/ExponentialMovingAverage``,
    so :meth:`shadow_tensors` saved into the weights checkpoint reads like TF's,
    and :meth:`variables_to_restore` maps them back onto the variables for
    evaluation (``slim.assign_from_checkpoint_fn(path, ema.variables_to_restore())``).

    Call :meth:`update` after the optimizer step (TF runs it in ``update_ops``,
    unordered with respect to the gradient update). Create it after moving
    the model to its device: it holds the variables it was given.

    Args:
        variables: slim variables (``slim.get_model_variables()``) or ``{name: tensor}``.
        decay: the decay (``--moving_average_decay``).
        name: the shadow-name suffix.

        >>> w = slim.variable('w', initializer=torch.zeros(2))
        >>> ema = ExponentialMovingAverage([w], decay=0.9)
        >>> with torch.no_grad():
        ...     _ = w.fill_(1.0)
        >>> round(ema.update(num_updates=0), 6)  # min(0.9, 1/10), in float32
        0.1
        >>> dict(ema.shadow_tensors())
        {'w/ExponentialMovingAverage': tensor([0.9000, 0.9000])}
    """

    def __init__(self, variables, decay: float, name: str = "ExponentialMovingAverage") -> None:
        self.decay = decay
        self.name = name
        self._variables = _named(variables)
        for key, var in self._variables.items():
            if not var.is_floating_point():
                raise TypeError(f"moving average of {key!r}: dtype {var.dtype} "
                                "is not floating point")
        with torch.no_grad():
            self._shadows = OrderedDict((k, v.detach().clone()) for k, v in self._variables.items())

    @property
    def variables(self) -> "OrderedDict[str, torch.Tensor]":
        """``{name: variable}`` being averaged."""
        return OrderedDict(self._variables)

    def average_name(self, var) -> str:
        """TF's shadow name: ``<var name>/ExponentialMovingAverage``."""
        return f"{var if isinstance(var, str) else var.name}/{self.name}"

    def average(self, var) -> torch.Tensor:
        """The shadow of ``var`` (a variable or its name)."""
        return self._shadows[var if isinstance(var, str) else var.name]

    def effective_decay(self, num_updates: Optional[int] = None) -> float:
        """The decay an update with ``num_updates`` uses, in float32 like TF."""
        decay = np.float32(self.decay)
        if num_updates is not None:
            n = np.float32(num_updates)
            decay = min(decay, (np.float32(1.0) + n) / (np.float32(10.0) + n))
        return float(decay)

    @torch.no_grad()
    def update(self, num_updates: Optional[int] = None) -> float:
        """Moves the shadows; returns the decay used."""
        decay = self.effective_decay(num_updates)
        one_minus = float(np.float32(1.0) - np.float32(decay))  # TF: 1 - decay in float32
        shadows = list(self._shadows.values())
        delta = torch._foreach_sub(shadows, [v.detach() for v in self._variables.values()])
        torch._foreach_mul_(delta, one_minus)
        torch._foreach_sub_(shadows, delta)
        return decay

    def shadow_tensors(self) -> "OrderedDict[str, torch.Tensor]":
        """``{'<var>/ExponentialMovingAverage': shadow}``, to save with the weights."""
        return OrderedDict((self.average_name(k), s) for k, s in self._shadows.items())

    @torch.no_grad()
    def load_shadow_tensors(self, tensors: Mapping[str, torch.Tensor], strict: bool = True) -> list:
        """Copies saved shadows back (resume); returns the names not found.

        Raises:
            KeyError: with ``strict``, a shadow is missing from ``tensors``.
        """
        missing = []
        for key, shadow in self._shadows.items():
            saved = tensors.get(self.average_name(key)) if hasattr(tensors, "get") else None
            if saved is None:
                missing.append(self.average_name(key))
                continue
            shadow.copy_(saved)
        if strict and missing:
            raise KeyError(f"moving averages missing from the checkpoint: {missing[:5]}"
                           + (" ..." if len(missing) > 5 else ""))
        return missing

    @torch.no_grad()
    def copy_to(self, variables=None) -> None:
        """Writes the averages into the variables (or into another ``{name: tensor}``)."""
        targets = self._variables if variables is None else _named(variables)
        for key, shadow in self._shadows.items():
            if key in targets:
                targets[key].copy_(shadow)

    def variables_to_restore(self, moving_avg_variables=None) -> "OrderedDict[str, torch.Tensor]":
        """TF's name map for evaluating with averages: ``{shadow name: variable}``
        for the averaged variables, ``{name: variable}`` for every other
        variable of the default graph (as TF lists all global variables).
        """
        from .variables import get_variables

        averaged = self._variables if moving_avg_variables is None else _named(moving_avg_variables)
        result = OrderedDict()
        for var in get_variables():
            if var.name not in averaged:
                result[var.name] = var
        for key, var in averaged.items():
            result[self.average_name(key)] = var
        return result
