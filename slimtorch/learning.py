"""TF-Slim's ``slim.learning``, eagerly: ``create_train_op`` and ``train``.

In TF-Slim the loss is a graph tensor and ``create_train_op`` wraps it in an
op that computes gradients and applies them. Eagerly the loss must be
recomputed every step, so the model and loss code moves into a function of
the batch; everything else keeps TF-Slim's meaning:

    >>> import tempfile
    >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope='fc'))
    >>> def total_loss_fn(batch):
    ...     x, y = batch
    ...     slim.losses.add_loss(((net(x) - y) ** 2).mean())
    ...     return slim.losses.get_total_loss()
    >>> train_op = slim.learning.create_train_op(
    ...     total_loss_fn, lambda params: torch.optim.SGD(params, lr=0.1))
    >>> x = torch.randn(64, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    >>> final_loss = slim.learning.train(train_op, tempfile.mkdtemp(), data=[(x, y)] * 10,
    ...                                  number_of_steps=100, log_every_n_steps=0)
    >>> final_loss < 1e-3, int(slim.get_global_step())
    (True, 100)

The optimizer may be an instance or a factory ``params -> optimizer``: a
factory is called once the models are built (slimtorch models create their
variables on their first call), with the variables to train.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import os
import time
from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

import torch

from .graph import GraphKeys, Variable, get_default_graph
from . import distributed, runtime
from .ddp_step import wrap_train_step
from .model import dry_run
from .resumable_batches import ResumableBatches
from .summaries import SummaryWriter, record_if
from .variables import get_or_create_global_step, get_trainable_variables, get_variables

__all__ = ["TrainOp", "clip_gradient_norms", "create_train_op", "multiply_gradients", "train",
           "variables_to_train"]

logger = logging.getLogger(__name__)

_USE_GLOBAL_STEP = object()


def multiply_gradients(grads_and_vars, gradient_multipliers: Mapping) -> list:
    """Scales gradients: ``gradient_multipliers`` maps a variable or its name
    to a factor. A variable with a multiplier but no gradient raises.

        >>> v = slim.variable('v', initializer=[1.0, 2.0])
        >>> [g.tolist() for g, _ in multiply_gradients([(torch.ones(2), v)], {'v': 3.0})]
        [[3.0, 3.0]]
    """
    by_name = {(k if isinstance(k, str) else k.name): float(m) for k, m in gradient_multipliers.items()}
    out = []
    for grad, var in grads_and_vars:
        factor = by_name.get(getattr(var, "name", None))
        if factor is not None:
            if grad is None:
                raise ValueError(f"Requested multiple of `None` gradient (variable {var.name})")
            grad = grad * factor
        out.append((grad, var))
    return out


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


class TrainOp:
    """One optimization step per call: ``loss = train_op(batch)``.

    Made by :func:`create_train_op`; see there. Attributes: ``optimizer``
    (None until the first step or :meth:`build`), ``variables_to_train``,
    ``skipped_steps`` (updates dropped for a non-finite loss).
    """

    def __init__(self, loss_fn, optimizer, global_step, variables_to_train, clip_gradient_norm,
                 summarize_gradients, gradient_multipliers, check_numerics, learning_rate=None,
                 mixed_precision=None, gradient_accumulation_steps=1,
                 moving_average_decay=None, on_nonfinite_loss="raise") -> None:
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
        self.last_gradients: list = []
        self.last_losses: list = []
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
            runtime.move_variables(torch.device(device))
        self._ensure_optimizer()
        return self

    def _run_loss(self, batch) -> torch.Tensor:
        collections = get_default_graph()._collections
        collections.pop(GraphKeys.LOSSES, None)   # losses belong to this step only
        loss = self.loss_fn(batch)
        if loss is None:
            from .losses import get_total_loss
            loss = get_total_loss()
        self.last_losses = [x.detach() for x in collections.pop(GraphKeys.LOSSES, [])
                            if isinstance(x, torch.Tensor)]
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
            from .optimization import ExponentialMovingAverage
            self.moving_average = ExponentialMovingAverage(variables, self.moving_average_decay)

    def _autocast(self, batch):
        if self.mixed_precision is None:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.mixed_precision == "bf16" else torch.float16
        return torch.autocast(runtime.device_type(batch), dtype=dtype)

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
        (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
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
            from .optimization import set_learning_rate
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
        for grad, var in grads_and_vars:
            var.grad = grad
        if self.summarize_gradients:
            self.last_gradients = [(v.name, g.detach()) for g, v in grads_and_vars if g is not None]
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


def create_train_op(total_loss: Callable, optimizer, global_step=_USE_GLOBAL_STEP,
                    update_ops=None, variables_to_train: Optional[Sequence] = None,
                    clip_gradient_norm: float = 0, summarize_gradients: bool = False,
                    gradient_multipliers: Optional[Mapping] = None,
                    check_numerics: bool = True, learning_rate=None,
                    mixed_precision: Optional[str] = None, gradient_accumulation_steps: int = 1,
                    moving_average_decay: Optional[float] = None,
                    on_nonfinite_loss: str = "raise") -> TrainOp:
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
        variables_to_train: default all trainable variables; others get no
            update (their gradients are computed only if they require grad).
            A function with no arguments is called once the models are built,
            e.g. ``lambda: slim.learning.variables_to_train('vgg_16/fc8')``.
        clip_gradient_norm: if > 0, each gradient is clipped to this norm.
        summarize_gradients: keep each step's gradients for histogram summaries.
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
            trained variables (saved as ``<name>/ExponentialMovingAverage``).
        on_nonfinite_loss: with ``check_numerics``, on an inf or nan loss:
            ``'raise'`` (TF-Slim's behaviour) a ``FloatingPointError`` naming
            the global step; ``'skip'`` drop that step's update (no backward
            pass, no optimizer step, no global-step increment, gradients
            accumulated for it discarded), log a warning with the step number,
            count it in ``train_op.skipped_steps`` and go on with the next
            batch. With ``mixed_precision='fp16'`` the gradient scaler still
            skips steps whose *gradients* overflow, as always.

    Raises:
        FloatingPointError (when called): a non-finite loss, with
            ``on_nonfinite_loss='raise'``.
    """
    if update_ops:
        logger.info("create_train_op: update_ops are not needed in slimtorch (batch norm "
                    "updates its moving averages in the forward pass); ignored")
    return TrainOp(total_loss, optimizer, global_step, variables_to_train, clip_gradient_norm,
                   summarize_gradients, gradient_multipliers, check_numerics, learning_rate,
                   mixed_precision, gradient_accumulation_steps, moving_average_decay,
                   on_nonfinite_loss)


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


def train(train_op: TrainOp, logdir: Optional[str], data: Iterable,
          number_of_steps: Optional[int] = None, log_every_n_steps: int = 1,
          init_fn: Optional[Callable] = None, save_summaries_secs: float = 600,
          save_summaries_steps: Optional[int] = None, save_interval_secs: float = 600,
          save_interval_steps: Optional[int] = None, max_to_keep: int = 5,
          device: Union[str, torch.device, None] = "auto", seed: Optional[int] = None,
          progress: Optional[bool] = None, channels_last: bool = False,
          compile: bool = False, sync_batch_norm: bool = False,
          on_save_error: str = "raise") -> Optional[float]:
    """TF-Slim's ``train``: runs ``train_op`` on batches of ``data`` until
    ``number_of_steps`` optimizer steps (the global step), checkpointing into
    ``logdir``; returns the last loss.

    If ``logdir`` already holds a checkpoint, the run **resumes** from it
    (variables, optimizer, global step, RNG, position in ``data``) and
    ``init_fn`` is not called, exactly as TF-Slim's Supervisor does; so
    "fine-tune from a pretrained file on the first run, resume afterwards"
    is one call. Otherwise ``init_fn()`` runs once the models are built.
    A resumed run continues bit for bit as the uninterrupted one would have
    (on the same device, with deterministic kernels): the same batches in
    the same order (a shuffling ``DataLoader`` included), the same random
    numbers. A process killed at any moment, even while writing a
    checkpoint, resumes from the latest complete checkpoint.

    Args:
        train_op: from :func:`create_train_op`.
        logdir: checkpoints and summaries go here (None: neither).
        data: re-iterable batches (a ``DataLoader``, a list); epochs repeat.
        number_of_steps: stop when the global step reaches it (None: after
            one pass over ``data``).
        log_every_n_steps: log ``global step N: loss = ... (x sec/step)``
            every N steps (0: never).
        init_fn: called with no arguments on a fresh start (e.g. from
            ``slim.assign_from_checkpoint_fn``).
        save_summaries_secs, save_summaries_steps: summary cadence.
        save_interval_secs, save_interval_steps: checkpoint cadence (checked
            after each update, never between the micro-batches of one); a
            final checkpoint is always written.
        max_to_keep: checkpoints kept in ``logdir``.
        device: where the variables and batches live: ``'auto'`` (CUDA when
            available, else the CPU), a device, or None (leave everything).
        seed: seeds torch, NumPy and ``random`` on a fresh start (a resumed
            run restores the generators' saved states instead).
        progress: a progress bar (step, loss, steps/sec, ETA; needs ``tqdm``)
            instead of log lines; None: only when stderr is a terminal.
        channels_last: store 4-D variables and batches channels-last (NHWC
            in memory, still NCHW in shape): often faster for convolutions.
        compile: run the loss function (model and loss) through
            ``torch.compile`` after the models are built.
        sync_batch_norm: under torchrun, compute batch-norm statistics over
            the global batch of all ranks (SyncBatchNorm).
        on_save_error: what a checkpoint that cannot be written (disk full,
            ``logdir`` not writable) does. The previous checkpoint stays the
            latest and intact, and nothing half-written is left, either way.
            ``'raise'``: training stops: the summary writer, progress bar and
            torchrun process group are closed and an ``OSError`` naming the
            file and the step is raised. ``'warn'``: a warning naming the
            file, and training goes on (the next save tries again).

    Raises:
        OSError: a checkpoint could not be written (``on_save_error='raise'``).
        FloatingPointError: a non-finite loss (see ``create_train_op``).
    """
    from .checkpoint import CheckpointManager

    if number_of_steps is not None and number_of_steps <= 0:
        raise ValueError(f"train: number_of_steps must be None or > 0, got {number_of_steps}")
    if on_save_error not in ("raise", "warn"):
        raise ValueError(f"train: on_save_error must be 'raise' or 'warn', got {on_save_error!r}")
    ctx, device, data = runtime.place(device, data, seed)
    with contextlib.ExitStack() as cleanup:   # on every way out, errors included
        cleanup.callback(distributed.destroy, ctx)
        cleanup.callback(train_op.undistribute)
        manager = CheckpointManager(logdir, max_to_keep=max_to_keep) if logdir and ctx.is_chief \
            else None
        global_step = get_or_create_global_step()
        resume_from = manager.latest_checkpoint if manager else None
        if ctx.enabled:   # the chief decides; every rank restores the same checkpoint
            resume_from = distributed.broadcast_object(resume_from, ctx)
        stream, batches = _start(train_op, resume_from, init_fn, data, device, seed, ctx,
                                 channels_last, sync_batch_norm, compile)
        bar = runtime.progress_bar(progress, number_of_steps, int(global_step)) \
            if ctx.is_chief else None
        if bar is not None:
            cleanup.callback(bar.close)
        writer = SummaryWriter(logdir if ctx.is_chief else None,
                               enabled=bool(save_summaries_steps or save_summaries_secs),
                               purge_step=int(global_step) if resume_from else None)
        cleanup.callback(writer.close)
        saver = _Saver(manager, train_op, stream, ctx, on_save_error)
        last_save = last_summary = time.monotonic()
        loss_value = None
        start_step, start_time = int(global_step), time.monotonic()
        for epoch, index, batch in runtime.prefetch_to_device(batches, device, channels_last):
            if number_of_steps is not None and int(global_step) >= number_of_steps:
                break
            if number_of_steps is None and epoch > 0:
                break
            step_start = time.monotonic()
            before = int(global_step)
            summarize = writer.enabled and (
                _due(before + 1, save_summaries_steps) if save_summaries_steps
                else step_start - last_summary >= save_summaries_secs)
            with record_if(summarize):
                loss = train_op(batch)
            loss_value = float(loss)
            saver.consumed((epoch, index))
            step = int(global_step)
            elapsed = time.monotonic() - step_start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            elif log_every_n_steps and step % log_every_n_steps == 0 and ctx.is_chief:
                logger.info("global step %d: loss = %.4f (%.3f sec/step)", step, loss_value,
                            elapsed)
            if summarize:
                _write_summaries(writer, train_op, step, loss, elapsed)
                last_summary = step_start
            # Only right after an update: between the micro-batches of one (or
            # after a skipped step) a checkpoint could not hold the gradients.
            if step == before or train_op.accumulating:
                continue
            now = time.monotonic()
            due = _due(step, save_interval_steps) or (
                save_interval_steps is None and now - last_save >= save_interval_secs)
            if ctx.enabled and save_interval_steps is None:   # one decision for every rank
                due = distributed.any_rank(ctx.is_chief and due, ctx)
            if due and logdir:
                writer.flush()
                saver.save(step)   # every rank: it doubles as the barrier
                last_save = now
        writer.close()
        if bar is not None:
            bar.close()
        if logdir and loss_value is not None:
            saver.save(int(global_step))
        distributed.barrier(ctx)
    elapsed = time.monotonic() - start_time
    if int(global_step) > start_step:
        logger.info("train: %d steps in %.1f s", int(global_step) - start_step, elapsed)
    return loss_value


class _Saver:
    """Writes ``train``'s checkpoints (weights, trainer state and the data
    position after the last batch trained on) and applies ``on_save_error``.
    Every rank calls :meth:`save`; only the chief has a manager."""

    def __init__(self, manager, train_op: TrainOp, stream: ResumableBatches, ctx,
                 on_save_error: str) -> None:
        self.manager, self.train_op, self.stream, self.ctx = manager, train_op, stream, ctx
        self.on_save_error = on_save_error
        self.last_consumed = None
        self.batches_consumed = stream.batches_before

    def consumed(self, epoch_and_index: tuple) -> None:
        self.last_consumed = epoch_and_index
        self.batches_consumed += 1

    def save(self, step: int) -> None:
        failed = None
        if self.manager is not None:
            try:
                _save(self.manager, self.train_op, step, self._extra())
            except OSError as error:
                failed = error
        # Every rank learns whether the chief failed (and waits for it).
        failed_anywhere = distributed.any_rank(failed is not None, self.ctx) \
            if self.ctx.enabled else failed is not None
        if not failed_anywhere:
            return
        if failed is None:   # another rank (the chief) failed: stop together
            if self.on_save_error == "raise":
                raise OSError(f"train: rank 0 could not save the checkpoint of global step {step}")
            return
        latest = self.manager.latest_checkpoint
        kept = f"the previous checkpoint ({latest}) is intact" if latest \
            else "no earlier checkpoint exists"
        reason = failed.strerror or str(failed)
        if self.on_save_error == "raise":
            raise OSError(failed.errno, f"train: could not save the checkpoint of global step "
                                        f"{step}: {reason}; {kept} (on_save_error='warn' keeps "
                                        "training instead)") from failed
        logger.warning("train: could not save the checkpoint of global step %d: %s; %s; "
                       "training goes on (on_save_error='warn'), the next save tries again",
                       step, reason, kept)

    def _extra(self) -> dict:
        extra = {"data_position": self.batches_consumed,
                 "skipped_steps": self.train_op.skipped_steps}
        if self.last_consumed is not None:
            where = self.stream.position(self.last_consumed)
            extra.update({"data_epoch": where["epoch"], "data_skip": where["skip"]})
            if "epoch_rng" in where:
                extra["data_epoch_rng"] = where["epoch_rng"]
        return extra


def _start(train_op: TrainOp, resume_from, init_fn, data, device, seed, ctx, channels_last,
           sync_batch_norm, compile):
    """Builds the models on the first batch, then restores ``resume_from``
    (skipping ``init_fn``, as TF-Slim does) or seeds and runs ``init_fn``.
    Returns ``(stream, batches)``: the :class:`ResumableBatches` and its
    batches, the first one included."""
    from .checkpoint.restore import assign_from_checkpoint

    if resume_from is not None:
        stream = _resumed_stream(data, resume_from)
    else:
        if seed is not None:
            _seed_everything(seed)
        stream = ResumableBatches(data)
    data_iter = iter(stream)
    first = next(data_iter)
    train_op.build(first[2], device)
    if channels_last:
        runtime.move_variables(memory_format=torch.channels_last)
    if sync_batch_norm:
        _synchronize_batch_norms()
    if compile:
        train_op.loss_fn = torch.compile(train_op.loss_fn)
    if resume_from is not None:
        assign_from_checkpoint(resume_from, get_variables())
        _restore_trainer(train_op, resume_from)
        if stream.rng_after_resume() is not None:
            torch.set_rng_state(stream.rng_after_resume())
        logger.info("train: resumed from %s at global step %d", resume_from,
                    int(get_or_create_global_step()))
    elif init_fn is not None:
        init_fn()
    if ctx.enabled:   # a safety net: every rank starts from the chief's values
        distributed.broadcast_variables(get_variables(), ctx)
    train_op.distribute(ctx)
    return stream, itertools.chain([first], data_iter)


def _resumed_stream(data, checkpoint_path: str) -> ResumableBatches:
    """The batch stream positioned where ``checkpoint_path`` left ``data``."""
    extra, rng_state = _saved_extra(checkpoint_path)
    consumed = int(extra.get("data_position", 0))
    if "data_epoch" in extra:
        resume = {"epoch": extra["data_epoch"], "skip": extra["data_skip"]}
        if isinstance(extra.get("data_epoch_rng"), torch.Tensor):
            resume["epoch_rng"] = extra["data_epoch_rng"].to(torch.uint8)
        return ResumableBatches(data, resume, rng_state, batches_before=consumed)
    # An older checkpoint: only the count of batches (every epoch is replayed).
    return ResumableBatches(data, {"epoch": 0, "skip": consumed}, batches_before=consumed)


def _write_summaries(writer, train_op: TrainOp, step: int, loss, seconds: float) -> None:
    """TF-Slim's default training summaries, then whatever user code recorded."""
    writer.scalar("total_loss", loss, step)
    for i, value in enumerate(train_op.last_losses):
        writer.scalar(f"losses/loss_{i}", value, step)
    if train_op.optimizer is not None:
        writer.scalar("learning_rate", train_op.optimizer.param_groups[0]["lr"], step)
    if seconds > 0:
        writer.scalar("global_step/sec", 1.0 / seconds, step)
    for name, grad in train_op.last_gradients:
        writer.histogram(f"{name}/gradient", grad, step)
        writer.scalar(f"{name}/gradient_norm", grad.norm(), step)
    writer.write_summaries(step)




def _synchronize_batch_norms() -> None:
    from .layers.norm import BatchNorm
    modules = {id(r.module): r.module for r in get_default_graph().records()}
    for module in modules.values():
        for layer in module.modules():
            if isinstance(layer, BatchNorm):
                layer.sync = True




def _seed_everything(seed: int) -> None:
    import numpy as np
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)




def _due(step: int, every: Optional[int]) -> bool:
    return bool(every) and step % every == 0




def _saved_extra(checkpoint_path: str) -> tuple:
    """``(extra, torch_rng_state)`` of a checkpoint's trainer state: the
    ``extra`` dict (data position, ...) and the saved torch generator state
    (None if absent)."""
    from .checkpoint import load_checkpoint, trainer_state_path
    from .checkpoint.trainer_state import _RNG, restore_trainer_state
    companion = trainer_state_path(checkpoint_path)
    if not os.path.exists(companion):
        return {}, None
    torch_rng = _RNG + "torch"   # where flatten_trainer_state keeps torch's generator
    with load_checkpoint(companion) as reader:
        extra = restore_trainer_state(None, {}, reader, dict(reader.metadata), rng=False)
        rng = reader.get_torch_tensor(torch_rng).to(torch.uint8) \
            if reader.has_tensor(torch_rng) else None
    return extra, rng


def _save(manager, train_op: TrainOp, step: int, extra: dict) -> None:
    from .checkpoint.trainer_state import flatten_trainer_state
    named = {v.name: v for v in train_op.variables_to_train}
    tensors, metadata = flatten_trainer_state(train_op.optimizer, named, extra,
                                              scaler=train_op.scaler)
    variables = {v.name: v for v in get_variables()}
    if train_op.moving_average is not None:   # alongside the weights, as TF saves them
        variables.update(train_op.moving_average.shadow_tensors())
    manager.save(variables, step, trainer_state=tensors, trainer_metadata=metadata)


def _restore_trainer(train_op: TrainOp, checkpoint_path: str) -> None:
    from .checkpoint import load_checkpoint, trainer_state_path
    from .checkpoint.trainer_state import restore_trainer_state
    companion = trainer_state_path(checkpoint_path)
    if not os.path.exists(companion):
        logger.warning("train: %s has no trainer state; the optimizer starts fresh", checkpoint_path)
        return
    with load_checkpoint(companion) as reader:
        tensors = {k: reader.get_torch_tensor(k) for k in reader.get_variable_to_shape_map()}
        metadata = dict(reader.metadata)
    named = {v.name: v for v in train_op.variables_to_train}
    extra = restore_trainer_state(train_op.optimizer, named, tensors, metadata,
                                  scaler=train_op.scaler)
    train_op.skipped_steps = int(extra.get("skipped_steps", 0))
    if train_op.moving_average is not None:
        with load_checkpoint(checkpoint_path) as reader:
            shadows = {k: reader.get_torch_tensor(k)
                       for k in train_op.moving_average.shadow_tensors() if reader.has_tensor(k)}
        train_op.moving_average.load_shadow_tensors(shadows)
