"""TF-Slim's ``optimize_loss`` (``tf.contrib.layers.optimize_loss``), eagerly:
a :class:`TrainOp` configured the way ``optimize_loss`` configures training.

As with ``create_train_op``, the loss is a function of the batch and the
result is called once per step, ``loss = train_op(batch)`` (TF's train
tensor, which evaluated to the loss); ``slim.learning.train`` runs it:

    >>> w = slim.variable('w', initializer=10.0)
    >>> step = slim.get_or_create_global_step()
    >>> train_op = optimize_loss(lambda x: (w * x).abs(), step, learning_rate=0.1,
    ...                          optimizer='SGD')
    >>> train_op(5.0).item(), round(w.item(), 4), int(step)
    (50.0, 9.5, 1)
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ..graph import GraphKeys, Variable
from ..layers.optimizers import OPTIMIZER_CLS_NAMES, OPTIMIZER_SUMMARIES, global_norm
from ..scopes import variable_scope
from ..summaries import histogram, is_recording, scalar
from ..variables import assert_global_step, get_collection, get_global_step
from ._train_op import _USE_GLOBAL_STEP, TrainOp, _multiplier_lookup, _scaled

__all__ = ["optimize_loss"]


def _value(rate) -> float:
    return float(rate.item()) if isinstance(rate, torch.Tensor) else float(rate)


def _check_learning_rate(learning_rate) -> None:
    if learning_rate is None:
        return
    if isinstance(learning_rate, torch.Tensor):
        if learning_rate.dim() != 0:
            raise ValueError("optimize_loss: learning_rate should be a 0-d tensor or a float; "
                             f"got a tensor of shape {list(learning_rate.shape)}")
        return
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)):
        raise ValueError("Learning rate should be 0d Tensor or float. Got "
                         f"{learning_rate!r} of type {type(learning_rate).__name__}")
    if learning_rate < 0.0:
        raise ValueError(f"Invalid learning_rate {learning_rate}.")


def _optimizer_spec(optimizer, learning_rate):
    """``(spec for TrainOp, whether optimize_loss sets its learning rate)``:
    the optimizer, or a factory ``params -> optimizer``."""
    if isinstance(optimizer, str):
        if learning_rate is None:
            raise ValueError("Learning rate is None, but should be specified if optimizer is "
                             f"string ({optimizer}).")
        if optimizer not in OPTIMIZER_CLS_NAMES:
            raise ValueError(f"Optimizer name should be one of [{', '.join(OPTIMIZER_CLS_NAMES)}], "
                             f"you provided {optimizer}.")
        build = OPTIMIZER_CLS_NAMES[optimizer]
        return (lambda params: build(params, _value(learning_rate))), True
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        if learning_rate is None:
            raise ValueError("Learning rate is None, but should be specified if optimizer is "
                             f"class ({optimizer.__name__}).")
        return (lambda params: optimizer(params, lr=_value(learning_rate))), True
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer, False
    if callable(optimizer) and not isinstance(optimizer, type):
        made = optimizer(learning_rate) if learning_rate is not None else optimizer()
        if isinstance(made, torch.optim.Optimizer) or (callable(made) and made is not None):
            return made, True
        raise ValueError("Unrecognized optimizer: function should return a torch optimizer or a "
                         f"factory params -> optimizer. Got {made!r}.")
    raise ValueError("Unrecognized optimizer: should be a name in OPTIMIZER_CLS_NAMES, a "
                     "torch.optim.Optimizer subclass or instance, or a function of the learning "
                     f"rate. Got {optimizer!r}.")


def _add_scaled_noise(grads_and_vars, scale: float) -> list:
    """Adds ``scale`` times TF's truncated normal noise (cut at 2) to each gradient."""
    out = []
    for grad, var in grads_and_vars:
        if grad is not None:
            noise = torch.nn.init.trunc_normal_(torch.empty_like(grad), 0.0, 1.0, -2.0, 2.0)
            grad = grad + noise * scale
        out.append((grad, var))
    return out


def _multiply(grads_and_vars, multipliers) -> list:
    """``optimize_loss``'s multipliers: unlike ``slim.learning.multiply_gradients``
    a variable without gradient is skipped, not an error."""
    factor_of = _multiplier_lookup(multipliers)
    out = []
    for grad, var in grads_and_vars:
        factor = factor_of(var)
        if grad is not None and factor is not None:
            grad = _scaled(grad, factor)
        out.append((grad, var))
    return out


def _clip_by_global_norm(grads_and_vars, clip_norm: float) -> list:
    """``tf.clip_by_global_norm``: every gradient times
    ``clip_norm / max(global_norm, clip_norm)``."""
    norm = global_norm([g for g, _ in grads_and_vars])
    scale = clip_norm / torch.clamp(norm, min=clip_norm)
    return [(None if g is None else g * scale.to(g.device, g.dtype), v) for g, v in grads_and_vars]


class _OptimizeLossOp(TrainOp):
    """The train op ``optimize_loss`` returns: TrainOp plus update ops, the
    scalar-loss check, TF's gradient pipeline and its summaries."""

    def __init__(self, loss_fn, optimizer, global_step, variables, learning_rate, update_ops,
                 scope, summaries, gradient_noise_scale, gradient_multipliers,
                 clip_gradients) -> None:
        super().__init__(loss_fn, optimizer, global_step, variables_to_train=variables,
                         clip_gradient_norm=0, summarize_gradients=False,
                         gradient_multipliers=None, check_numerics=True,
                         learning_rate=learning_rate, transform_grads_fn=self._transform)
        self.update_ops = list(update_ops)
        self.scope, self.summaries = scope, summaries
        self.gradient_noise_scale = gradient_noise_scale
        self.optimize_loss_multipliers = gradient_multipliers
        self.clip_gradients = clip_gradients

    def build(self, batch, device=None) -> "_OptimizeLossOp":
        super().build(batch, device)
        create = getattr(self.clip_gradients, "create_variables", None)
        if create is not None and self.variables_to_train:   # saved and restored with the model
            with variable_scope(self.scope):
                create(self.variables_to_train[0].device)
        return self

    def __call__(self, batch) -> torch.Tensor:
        for update in self.update_ops:   # TF: run with the step, in no set order
            update()
        loss = super().__call__(batch)
        if "loss" in self.summaries and is_recording():
            scalar(f"{self.scope.name}/loss", loss)
        return loss

    def _run_loss(self, batch) -> torch.Tensor:
        loss = super()._run_loss(batch)
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            shape = list(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
            raise ValueError(f"optimize_loss: the loss must be a scalar tensor, got {shape} "
                             "(reduce it, e.g. with .mean())")
        return loss

    def _transform(self, grads_and_vars) -> list:
        prefix, summaries = self.scope.name, self.summaries
        record = is_recording()
        if self.gradient_noise_scale is not None:
            grads_and_vars = _add_scaled_noise(grads_and_vars, self.gradient_noise_scale)
        if self.optimize_loss_multipliers is not None:
            grads_and_vars = _multiply(grads_and_vars, self.optimize_loss_multipliers)
        norms = record and ("global_gradient_norm" in summaries or "gradient_norm" in summaries)
        if norms:
            scalar(f"{prefix}/global_norm/gradient_norm", global_norm([g for g, _ in grads_and_vars]))
        if isinstance(self.clip_gradients, (int, float)):
            grads_and_vars = _clip_by_global_norm(grads_and_vars, float(self.clip_gradients))
        elif self.clip_gradients is not None:
            with variable_scope(self.scope):
                grads_and_vars = list(self.clip_gradients(grads_and_vars))
        if record and "learning_rate" in summaries and self.learning_rate is not None:
            scalar(f"{prefix}/learning_rate", self.optimizer.param_groups[0]["lr"])
        for grad, var in grads_and_vars:
            if grad is None or not record:
                continue
            name = f"{getattr(var, 'name', 'variable')}_0"   # TF's tag: the name's ':0' as '_0'
            if "gradients" in summaries:
                histogram(f"{prefix}/gradients/{name}", grad.detach())
            if "gradient_norm" in summaries:
                scalar(f"{prefix}/gradient_norm/{name}", grad.detach().float().norm())
        if norms and self.clip_gradients is not None:
            scalar(f"{prefix}/global_norm/clipped_gradient_norm", global_norm([g for g, _ in grads_and_vars]))
        return grads_and_vars


def optimize_loss(loss: Callable, global_step, learning_rate, optimizer,
                  gradient_noise_scale: Optional[float] = None, gradient_multipliers=None,
                  clip_gradients=None, learning_rate_decay_fn: Optional[Callable] = None,
                  update_ops=None, variables=None, name: Optional[str] = None,
                  summaries: Optional[list] = None, colocate_gradients_with_ops: bool = False,
                  increment_global_step: bool = True) -> TrainOp:
    """TF-Slim's ``optimize_loss``: a train op; each call ``train_op(batch)``
    runs the update ops, computes the loss and its gradients, adds noise,
    multiplies, clips, applies them and increments the global step; it
    returns the loss. ``slim.learning.train(train_op, logdir, data)`` runs it.

    The optimizer may be:

    * a name in ``slim.layers.optimizers.OPTIMIZER_CLS_NAMES``: ``'SGD'``,
      ``'Momentum'`` (0.9), ``'Adam'``, ``'Adagrad'``, ``'RMSProp'``,
      ``'Ftrl'``, with TF's defaults and update rules;
    * a ``torch.optim.Optimizer`` subclass, built as ``cls(params, lr=learning_rate)``;
    * an optimizer instance, used as it is (its own learning rate: TF ignores
      ``learning_rate`` then too);
    * a function of the learning rate (of nothing when ``learning_rate`` is
      None), called at once as TF does, that returns an optimizer or a
      factory ``params -> optimizer`` (called once the models are built).

    Args:
        loss: a function ``batch -> scalar loss`` (eagerly the loss is
            recomputed every step; it may return None for
            ``slim.losses.get_total_loss()``).
        global_step: the integer scalar variable to increment; None: the
            graph's ``global_step`` if it exists (else none is incremented).
        learning_rate: a float (>= 0), a 0-d tensor (read at every step), or None.
        optimizer: see above.
        gradient_noise_scale: adds truncated-normal noise times this value.
        gradient_multipliers: ``{variable or name: factor}``; a variable
            without gradient is skipped.
        clip_gradients: a float, clipping by the *global* norm, or a function
            ``grads_and_vars -> grads_and_vars`` (e.g. ``adaptive_clipping_fn()``,
            called in this op's variable scope).
        learning_rate_decay_fn: ``(learning_rate, global_step) -> rate``, called
            every step with the step's value (e.g. ``lambda lr, step:
            slim.optimization.exponential_decay(lr, step, 1000, 0.9)``); needs a
            global step.
        update_ops: functions of no argument run at every step before the
            loss (TF's update ops); None: the ``GraphKeys.UPDATE_OPS``
            collection. Batch norm needs none: it updates in the forward pass.
        variables: the variables to optimize (None: all trainable ones).
        name: the scope of the summaries and of the clipping's variables
            (``OptimizeLoss``).
        summaries: any of ``OPTIMIZER_SUMMARIES``; None: ``loss``,
            ``learning_rate`` (recorded only with a decay, as in TF) and
            ``global_gradient_norm``. Tags are TF's: ``OptimizeLoss/loss``,
            ``OptimizeLoss/global_norm/gradient_norm``,
            ``OptimizeLoss/gradients/<var>_0``, ...
        colocate_gradients_with_ops: ignored (TF graph placement).
        increment_global_step: whether the op increments ``global_step``.

    Returns:
        A :class:`TrainOp`. Unlike TF, it also checks that the loss is finite
        (``FloatingPointError`` otherwise), as ``create_train_op`` does.

    Example:
        >>> w = slim.variable('w', initializer=[3.0, 4.0])
        >>> train_op = optimize_loss(lambda x: (w * x).sum(), None, 0.5, 'SGD',
        ...                          clip_gradients=1.0)   # the global norm 5 becomes 1
        >>> _ = train_op(torch.tensor([3.0, 4.0])); w.tolist()
        [2.700000047683716, 3.5999999046325684]

    Raises:
        ValueError: ``loss`` is not a function; a bad ``learning_rate``,
            ``optimizer``, ``summaries`` or ``clip_gradients``; a decay
            without a global step.
        TypeError: ``global_step`` is not an integer scalar variable.
    """
    del colocate_gradients_with_ops
    if not callable(loss):
        raise ValueError("optimize_loss: loss must be a function batch -> scalar loss (eagerly "
                         f"the loss is recomputed every step); got {type(loss).__name__}")
    if global_step is None:
        global_step = get_global_step()
    else:
        assert_global_step(global_step)
        if not isinstance(global_step, Variable):   # TF fails the same way, deeper down
            raise AttributeError("optimize_loss: global_step must be a variable to increment "
                                 "(slim.get_or_create_global_step()); a constant tensor is not")
    _check_learning_rate(learning_rate)
    if summaries is None:
        summaries = ["loss", "learning_rate", "global_gradient_norm"]
    for summary in summaries:
        if summary not in OPTIMIZER_SUMMARIES:
            raise ValueError(f"Summaries should be one of [{', '.join(OPTIMIZER_SUMMARIES)}], you "
                             f"provided {summary}.")
    if learning_rate is not None and learning_rate_decay_fn is not None and global_step is None:
        raise ValueError("global_step is required for learning_rate_decay_fn.")
    if clip_gradients is not None and not callable(clip_gradients) and \
            (isinstance(clip_gradients, bool) or not isinstance(clip_gradients, (int, float))):
        raise ValueError(f"Unknown type {type(clip_gradients).__name__} for clip_gradients")
    if update_ops is None:
        update_ops = get_collection(GraphKeys.UPDATE_OPS)
    for update in update_ops:
        if not callable(update):
            raise TypeError("optimize_loss: update_ops must be functions of no argument run "
                            f"every step; got {type(update).__name__}")
    spec, sets_rate = _optimizer_spec(optimizer, learning_rate)
    rate = None
    if sets_rate and learning_rate is not None:
        if learning_rate_decay_fn is not None:
            graphs_step = global_step is get_global_step()

            def rate(_):   # the step's value even when this op does not increment it
                step = get_global_step() if graphs_step else global_step
                return _value(learning_rate_decay_fn(_value(learning_rate), int(step)))
        elif isinstance(learning_rate, torch.Tensor):
            def rate(_):
                return _value(learning_rate)
    step_spec = None
    if increment_global_step and global_step is not None:
        step_spec = _USE_GLOBAL_STEP if global_step is get_global_step() else global_step
    with variable_scope(name, default_name="OptimizeLoss") as scope:
        pass
    return _OptimizeLossOp(loss, spec, step_spec, variables, rate, update_ops, scope,
                           list(summaries), gradient_noise_scale, gradient_multipliers,
                           clip_gradients)
