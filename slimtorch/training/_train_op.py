"""``create_train_op`` and the :class:`TrainOp` it makes: one optimization
step per call (TF-Slim's train op, eagerly).

The loss is a function of the batch (an eager loss is recomputed every
step); gradients are averaged over torchrun ranks, multiplied, clipped and
applied, the global step advances. ``slim.learning.train`` runs it in a
loop; calling it by hand is one step:

    >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, scope='fc'))
    >>> def total_loss_fn(batch):
    ...     slim.losses.add_loss(net(batch).pow(2).mean())
    ...     return slim.losses.get_total_loss()
    >>> train_op = create_train_op(total_loss_fn, lambda p: torch.optim.SGD(p, lr=0.1))
    >>> loss = train_op(torch.ones(4, 3)); int(slim.get_global_step())
    1
"""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Mapping, Optional, Sequence

import torch

from .. import distributed
from ..graph import GraphKeys, Variable, get_default_graph
from ..losses.collection import take_named_losses
from ..model import dry_run
from ..summaries import histogram, is_recording, scalar
from ..variables import (add_to_collection, get_model_variables, get_or_create_global_step,
                         get_trainable_variables)
from ._ddp_step import wrap_train_step
from ._runtime import device_type, move_variables

__all__ = ["TrainOp", "add_gradients_summaries", "clip_gradient_norms", "clip_gradient_norms_fn",
           "create_train_op", "multiply_gradients", "variables_to_train"]

logger = logging.getLogger(__name__)

_USE_GLOBAL_STEP = object()


def multiply_gradients(grads_and_vars, gradient_multipliers: Mapping) -> list:
    """Scales gradients: ``gradient_multipliers`` maps a variable or its name
    to a factor (a number, or a tensor read at each call). A variable with a
    multiplier but no gradient raises.

        >>> v = slim.variable('v', initializer=[1.0, 2.0])
        >>> [g.tolist() for g, _ in multiply_gradients([(torch.ones(2), v)], {'v': 3.0})]
        [[3.0, 3.0]]

    Raises:
        ValueError: ``grads_and_vars`` is not a list, ``gradient_multipliers``
            is empty or not a dict, or a multiplied gradient is None.
    """
    if not isinstance(grads_and_vars, list):
        raise ValueError("multiply_gradients: `grads_and_vars` must be a list of (gradient, "
                         f"variable) pairs, got {type(grads_and_vars).__name__}")
    if not gradient_multipliers:
        raise ValueError("multiply_gradients: `gradient_multipliers` is empty.")
    if not isinstance(gradient_multipliers, Mapping):
        raise ValueError("multiply_gradients: `gradient_multipliers` must be a dict "
                         "{variable or name: factor}, got "
                         f"{type(gradient_multipliers).__name__}")
    factor_of = _multiplier_lookup(gradient_multipliers)
    out = []
    for grad, var in grads_and_vars:
        factor = factor_of(var)
        if factor is not None:
            if grad is None:
                raise ValueError("Requested multiple of `None` gradient (variable "
                                 f"{getattr(var, 'name', '?')})")
            grad = _scaled(grad, factor)
        out.append((grad, var))
    return out


def _multiplier_lookup(gradient_multipliers: Mapping) -> Callable:
    """``var -> factor or None`` for ``{variable or name: factor}``: a variable
    key matches that tensor, or any tensor of its name (the variable may have
    been moved to another device since)."""
    by_id, by_name = {}, {}
    for key, factor in gradient_multipliers.items():
        if isinstance(key, str):
            by_name[key] = factor
        else:
            by_id[id(key)] = factor
            if isinstance(getattr(key, "name", None), str):
                by_name.setdefault(key.name, factor)

    def factor_of(var):
        factor = by_id.get(id(var))
        return factor if factor is not None else by_name.get(getattr(var, "name", None))
    return factor_of


def _scaled(grad: torch.Tensor, factor) -> torch.Tensor:
    """``grad * factor``, a tensor factor (read now) cast to the gradient's dtype."""
    return grad * (factor.to(grad.device, grad.dtype) if isinstance(factor, torch.Tensor)
                   else float(factor))


def clip_gradient_norms(grads_and_vars, max_norm: float) -> list:
    """TF-Slim's per-tensor ``clip_by_norm`` (not a global-norm clip); None
    gradients pass through.

        >>> g, _ = clip_gradient_norms([(torch.tensor([3.0, 4.0]), None)], 1.0)[0]
        >>> g.tolist()
        [0.6000000238418579, 0.800000011920929]
    """
    out = []
    for grad, var in grads_and_vars:
        if grad is not None:
            norm = grad.norm()
            grad = grad * (max_norm / torch.maximum(norm, torch.tensor(max_norm, device=grad.device)))
        out.append((grad, var))
    return out


def clip_gradient_norms_fn(max_norm: float) -> Callable:
    """``tf_slim.training``'s ``clip_gradient_norms_fn``: :func:`clip_gradient_norms`
    as a ``transform_grads_fn``.

        >>> [(g, _)] = clip_gradient_norms_fn(3.0)([(torch.tensor(4.0), None)])
        >>> g.item()
        3.0
    """
    def clip_norms(grads_and_vars):
        return clip_gradient_norms(grads_and_vars, max_norm)
    return clip_norms


def add_gradients_summaries(grads_and_vars) -> list:
    """TF-Slim's ``add_gradients_summaries``: records a histogram
    ``<var>/gradient`` and a scalar ``<var>/gradient_norm`` for each gradient
    (with ``slim.summaries``: written by ``train`` with its other summaries);
    a variable without gradient is logged. Returns the tags recorded.

        >>> with slim.Graph():
        ...     w = slim.variable('fc/weights', initializer=[3.0, 4.0])
        ...     b = slim.variable('fc/biases', initializer=[0.0])
        ...     add_gradients_summaries([(torch.tensor([3.0, 4.0]), w), (None, b)])
        ['fc/weights/gradient', 'fc/weights/gradient_norm']
    """
    tags = []
    for grad, var in grads_and_vars:
        name = getattr(var, "name", None)
        if not isinstance(name, str):
            raise ValueError("add_gradients_summaries: the variables must be slim variables "
                             f"(with a .name), got {type(var).__name__}")
        if grad is None:
            logger.info("Var %s has no gradient", name)
            continue
        grad = grad.detach()
        tags.append(histogram(f"{name}/gradient", grad))
        tags.append(scalar(f"{name}/gradient_norm", grad.float().norm()))
    return tags


class TrainOp:
    """One optimization step per call: ``loss = train_op(batch)``.

    Made by :func:`create_train_op`; see there. Attributes: ``optimizer``
    (None until the first step or :meth:`build`), ``variables_to_train``,
    ``skipped_steps`` (updates dropped for a non-finite loss),
    ``last_losses`` (the last step's collected losses, detached, by name:
    ``{'softmax_cross_entropy': tensor, 'aux_loss': ...}``; a name added
    again gets ``_1``, ``_2``, ...).
    """

    def __init__(self, loss_fn, optimizer, global_step, variables_to_train, clip_gradient_norm,
                 summarize_gradients, gradient_multipliers, check_numerics, learning_rate=None,
                 mixed_precision=None, gradient_accumulation_steps=1,
                 moving_average_decay=None, on_nonfinite_loss="raise",
                 transform_grads_fn=None) -> None:
        if not callable(loss_fn):
            raise TypeError("create_train_op: total_loss must be a function of the batch that "
                            "returns the loss (eagerly the loss is recomputed every step); got "
                            f"{type(loss_fn).__name__}")
        self.loss_fn = loss_fn
        self._optimizer_spec = optimizer
        self.optimizer: Optional[torch.optim.Optimizer] = \
            optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        self._global_step = global_step
        self._variables_to_train = variables_to_train
        self.variables_to_train: list = []
        self.clip_gradient_norm = clip_gradient_norm
        self.summarize_gradients = summarize_gradients
        self.gradient_multipliers = gradient_multipliers or {}
        self.check_numerics = check_numerics
        if on_nonfinite_loss not in ("raise", "skip"):
            raise ValueError("create_train_op: on_nonfinite_loss must be 'raise' or 'skip', got "
                             f"{on_nonfinite_loss!r}")
        if on_nonfinite_loss == "skip" and not check_numerics:
            raise ValueError("create_train_op: on_nonfinite_loss='skip' needs check_numerics=True "
                             "(the loss is only checked then)")
        self.on_nonfinite_loss = on_nonfinite_loss
        self.skipped_steps = 0   # updates dropped for a non-finite loss (on_nonfinite_loss='skip')
        if transform_grads_fn is not None and not callable(transform_grads_fn):
            raise TypeError("create_train_op: transform_grads_fn must be a function "
                            "grads_and_vars -> grads_and_vars, got "
                            f"{type(transform_grads_fn).__name__}")
        self.transform_grads_fn = transform_grads_fn
        self.last_losses: dict = {}
        self.learning_rate = learning_rate
        if mixed_precision not in (None, "bf16", "fp16"):
            raise ValueError(f"create_train_op: mixed_precision must be None, 'bf16' or 'fp16', "
                             f"got {mixed_precision!r}")
        self.mixed_precision = mixed_precision
        self.scaler = None
        if gradient_accumulation_steps < 1:
            raise ValueError("create_train_op: gradient_accumulation_steps must be >= 1")
        self.accumulation = int(gradient_accumulation_steps)
        self._micro_step = 0
        self.moving_average_decay = moving_average_decay
        self.moving_average = None
        self.dist = distributed.DistContext()   # train() sets the torchrun context
        self.ddp = None   # DistributedDataParallel around the step, under torchrun

    def distribute(self, ctx: distributed.DistContext) -> None:
        """Under torchrun (``ctx.enabled``): runs the loss through
        DistributedDataParallel, so gradients are averaged over the ranks in
        buckets while backward runs. Call it once the models are built, on
        every rank; ``train`` does."""
        self.dist = ctx
        if ctx.enabled and self.ddp is None:
            self._ensure_optimizer()
            self.ddp = wrap_train_step(self._run_loss, self.variables_to_train)

    def undistribute(self) -> None:
        """Drops the DDP wrapper (before the process group is destroyed: its
        reducer holds the last step's collective)."""
        self.ddp = None

    @property
    def accumulating(self) -> bool:
        """Whether gradients of some micro-batches wait for the next update
        (``gradient_accumulation_steps > 1``): no checkpoint should be taken
        then, it could not hold them."""
        return self._micro_step != 0

    @property
    def global_step(self) -> Optional[Variable]:
        if self._global_step is _USE_GLOBAL_STEP:
            return get_or_create_global_step()
        return self._global_step

    def build(self, batch, device=None) -> "TrainOp":
        """Builds every model ``loss_fn`` reaches on ``batch`` without changing
        any state (``slim.model.dry_run``), moves all variables to ``device``
        (if given), then creates the optimizer."""
        with dry_run(), torch.no_grad():
            self._run_loss(batch)
        if device is not None:
            move_variables(torch.device(device))
        self._ensure_optimizer()
        return self

    def _run_loss(self, batch) -> torch.Tensor:
        graph = get_default_graph()
        take_named_losses(graph)   # losses belong to this step only
        loss = self.loss_fn(batch)
        if loss is None:
            from ..losses import get_total_loss
            loss = get_total_loss()
        self.last_losses = {name: x.detach() for name, x in take_named_losses(graph).items()
                            if isinstance(x, torch.Tensor)}
        return loss

    def _ensure_optimizer(self) -> None:
        variables = self._variables_to_train
        if variables is None:
            variables = get_trainable_variables()
        elif callable(variables):   # decided once the models exist (e.g. trainable_scopes)
            variables = variables()
        variables = list(variables)
        for var in variables:
            if not var.requires_grad:
                raise ValueError(f"variables_to_train: {getattr(var, 'name', var)} is not trainable")
        self.variables_to_train = variables
        if self.optimizer is None:
            if not variables:
                raise ValueError("create_train_op: no variables to train (build the model first "
                                 "or pass variables_to_train)")
            self.optimizer = self._optimizer_spec(variables)
        if self.mixed_precision == "fp16" and self.scaler is None:
            self.scaler = torch.amp.GradScaler(variables[0].device.type)
        if self.moving_average_decay and self.moving_average is None:
            from ..optimization import ExponentialMovingAverage
            self.moving_average = ExponentialMovingAverage(_averaged_variables(variables),
                                                           self.moving_average_decay)

    def _autocast(self, batch):
        if self.mixed_precision is None:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16
        return torch.autocast(device_type(batch), dtype=dtype)

    def __call__(self, batch) -> torch.Tensor:
        """One step: loss, backward and (every ``gradient_accumulation_steps``
        calls) the update; returns the loss, detached."""
        accumulating = self._micro_step + 1 < self.accumulation
        if self.ddp is not None and accumulating:
            with self.ddp.no_sync():   # gradients are averaged on the last micro-step only
                return self._step(batch)
        return self._step(batch)

    def _step(self, batch) -> torch.Tensor:
        with self._autocast(batch):
            loss = self.ddp(batch) if self.ddp is not None else self._run_loss(batch)
        self._ensure_optimizer()
        step = self.global_step
        if self.check_numerics:
            # Under torchrun every rank must take the same decision, or the
            # others would wait forever in the gradient all-reduce.
            value = distributed.all_reduce_mean(loss.detach(), self.dist) if self.dist.enabled \
                else loss.detach()
            if not torch.isfinite(torch.as_tensor(value)).all():
                at = int(step) if step is not None else "?"
                if self.on_nonfinite_loss == "raise":
                    raise FloatingPointError(f"LossTensor is inf or nan: loss = {float(value)} "
                                             f"at global step {at} (check_numerics=True)")
                self._skip_update(float(value), at)
                return loss.detach()
        if self._micro_step == 0:
            self.optimizer.zero_grad(set_to_none=True)
        scaled = loss / self.accumulation if self.accumulation > 1 else loss
        # Gradients of the variables to train only (TF's compute_gradients(var_list)):
        # an optimizer shared with other train ops must not move the others.
        (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward(
            inputs=self.variables_to_train)
        self._micro_step = (self._micro_step + 1) % self.accumulation
        if self._micro_step:
            return loss.detach()   # accumulating: no update yet
        self.apply_gradients(step)
        return loss.detach()

    def _skip_update(self, value: float, at) -> None:
        """``on_nonfinite_loss='skip'``: no backward pass, no update, no
        global-step increment; gradients accumulated for this update are
        dropped too. Under torchrun the decision was taken on the loss
        averaged over the ranks, so every rank skips the same steps (and none
        waits for the others' gradients)."""
        self.optimizer.zero_grad(set_to_none=True)
        self._micro_step = 0
        self.skipped_steps += 1
        if self.dist.is_chief:
            logger.warning("create_train_op: loss = %s at global step %s: update skipped "
                           "(on_nonfinite_loss='skip'; %d skipped so far)", value, at,
                           self.skipped_steps)

    def apply_gradients(self, step=None) -> None:
        """Averages the gradients over torchrun ranks, multiplies, clips and
        applies them, then advances the global step and the moving averages."""
        if self.dist.enabled:   # before unscaling, so every rank skips the same fp16 steps
            self._average_gradients()
        if self.learning_rate is not None:
            from ..optimization import set_learning_rate
            rate = self.learning_rate(int(step) if step is not None else 0) \
                if callable(self.learning_rate) else self.learning_rate
            set_learning_rate(self.optimizer, rate)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)   # multipliers and clipping see true gradients
        grads_and_vars = [(v.grad, v) for v in self.variables_to_train]
        if self.gradient_multipliers:
            grads_and_vars = multiply_gradients(grads_and_vars, self.gradient_multipliers)
        if self.clip_gradient_norm > 0:
            grads_and_vars = clip_gradient_norms(grads_and_vars, self.clip_gradient_norm)
        if self.transform_grads_fn is not None:
            grads_and_vars = list(self.transform_grads_fn(grads_and_vars))
        for grad, var in grads_and_vars:
            var.grad = grad
        if self.summarize_gradients and is_recording():
            add_gradients_summaries(grads_and_vars)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if step is not None:
            with torch.no_grad():
                step.add_(1)
        if self.moving_average is not None:
            self.moving_average.update(num_updates=int(step) if step is not None else None)

    def _average_gradients(self) -> None:
        """Without DDP: averages now. With DDP the backward pass has averaged
        already, unless some variable got no gradient: DDP then never
        finishes that bucket, so this step is averaged by hand (averaging the
        finished buckets again changes nothing: they are equal on every rank)
        and DDP is rebuilt with ``find_unused_parameters=True``. The set of
        variables without gradients must be the same on every rank."""
        if self.ddp is None:
            distributed.average_gradients(self.variables_to_train, self.dist)
            return
        if self.ddp.find_unused_parameters:
            return
        unused = [v for v in self.variables_to_train if v.grad is None]
        if unused:
            names = ", ".join(getattr(v, "name", "?") for v in unused[:3])
            logger.info("train: %d variables got no gradient (%s%s); DDP now looks for unused "
                        "variables every step", len(unused), names, ", ..." if len(unused) > 3
                        else "")
            distributed.average_gradients(self.variables_to_train, self.dist)
            self.ddp = wrap_train_step(self._run_loss, self.variables_to_train,
                                       find_unused_parameters=True)


def _averaged_variables(trained: list) -> list:
    """research/slim's moving-average set: the floating-point model variables,
    plus any trained variable that is not one."""
    model = [var for var in get_model_variables() if var.is_floating_point()]
    known = {id(var) for var in model}
    return model + [var for var in trained if id(var) not in known]


def create_train_op(total_loss: Callable, optimizer, global_step=_USE_GLOBAL_STEP,
                    update_ops=None, variables_to_train: Optional[Sequence] = None,
                    clip_gradient_norm: float = 0, summarize_gradients: bool = False,
                    gradient_multipliers: Optional[Mapping] = None,
                    check_numerics: bool = True, learning_rate=None,
                    mixed_precision: Optional[str] = None, gradient_accumulation_steps: int = 1,
                    moving_average_decay: Optional[float] = None,
                    on_nonfinite_loss: str = "raise",
                    transform_grads_fn: Optional[Callable] = None) -> TrainOp:
    """TF-Slim's ``create_train_op``: a :class:`TrainOp` whose call computes the
    loss, its gradients (multiplied, then clipped per tensor) and applies them.

    Args:
        total_loss: a function ``batch -> loss`` holding the model and loss
            code (it may return None to mean ``slim.losses.get_total_loss()``).
            Losses added during a step belong to that step only.
        optimizer: a ``torch.optim.Optimizer``, or a factory ``params ->
            optimizer`` called once the models are built.
        global_step: incremented after each step (default: the graph's
            ``global_step``); None: no increment.
        update_ops: accepted for compatibility; batch norm updates its moving
            averages during the forward pass, so there is nothing to run.
        variables_to_train: default all trainable variables; only their
            gradients are computed, so others get no update, even from an
            optimizer they belong to.
            A function with no arguments is called once the models are built,
            e.g. ``lambda: slim.learning.variables_to_train('vgg_16/fc8')``.
        clip_gradient_norm: if > 0, each gradient is clipped to this norm.
        summarize_gradients: record each step's gradients with
            :func:`add_gradients_summaries` (``<var>/gradient`` histograms and
            ``<var>/gradient_norm`` scalars; ``train`` writes them).
        gradient_multipliers: ``{variable or name: factor}``, applied before clipping.
        check_numerics: check that the loss is finite before any update is
            applied; what happens otherwise is ``on_nonfinite_loss``'s choice.
        learning_rate: a number or a schedule ``global_step -> rate`` (e.g.
            ``slim.optimization.learning_rate_schedule(...)``) set on the
            optimizer before every update.
        mixed_precision: None, ``'bf16'`` (autocast) or ``'fp16'`` (autocast
            with gradient scaling; gradients are unscaled before multipliers
            and clipping).
        gradient_accumulation_steps: sum the gradients of this many calls
            (each loss divided by it) per update; the global step counts updates.
        moving_average_decay: keep TF's exponential moving averages of the
            model variables, as research/slim's ``train_image_classifier``
            (``slim.get_model_variables()``: batch norm's moving statistics
            too, so an evaluation of the averages restores a consistent net;
            the trained variables when no model variables exist), saved as
            ``<name>/ExponentialMovingAverage``.
        on_nonfinite_loss: with ``check_numerics``, on an inf or nan loss:
            ``'raise'`` (TF-Slim's behaviour) a ``FloatingPointError`` naming
            the global step; ``'skip'`` drop that step's update (no backward
            pass, no optimizer step, no global-step increment, gradients
            accumulated for it discarded), log a warning with the step number,
            count it in ``train_op.skipped_steps`` and go on with the next
            batch. With ``mixed_precision='fp16'`` the gradient scaler still
            skips steps whose *gradients* overflow, as always.
        transform_grads_fn: ``tf_slim.training``'s: a function
            ``grads_and_vars -> grads_and_vars`` applied to every update's
            gradients after the multipliers and clipping above (e.g.
            :func:`clip_gradient_norms_fn`).

    Returns:
        The :class:`TrainOp`, also added to the ``'train_op'`` collection
        (TF's ``GraphKeys.TRAIN_OP``).

    Raises:
        FloatingPointError (when called): a non-finite loss, with
            ``on_nonfinite_loss='raise'``.
    """
    if update_ops:
        logger.info("create_train_op: update_ops are not needed in slimtorch (batch norm "
                    "updates its moving averages in the forward pass); ignored")
    train_op = TrainOp(total_loss, optimizer, global_step, variables_to_train,
                       clip_gradient_norm, summarize_gradients, gradient_multipliers,
                       check_numerics, learning_rate, mixed_precision,
                       gradient_accumulation_steps, moving_average_decay, on_nonfinite_loss,
                       transform_grads_fn)
    add_to_collection(GraphKeys.TRAIN_OP, train_op)
    return train_op


def variables_to_train(trainable_scopes=None) -> list:
    """research/slim's ``--trainable_scopes``: the trainable variables under
    any of the comma-separated (or listed) scopes; None: all trainable ones.

        >>> with slim.Graph():
        ...     _ = slim.fully_connected(torch.ones(1, 2), 2, scope='a')
        ...     _ = slim.fully_connected(torch.ones(1, 2), 2, scope='b')
        ...     [v.name for v in variables_to_train('b')]
        ['b/weights', 'b/biases']
    """
    if trainable_scopes is None:
        return get_trainable_variables()
    if isinstance(trainable_scopes, str):
        trainable_scopes = [s.strip() for s in trainable_scopes.split(",") if s.strip()]
    chosen = {}
    for scope in trainable_scopes:
        chosen.update((id(v), v) for v in get_trainable_variables(scope))
    return list(chosen.values())
