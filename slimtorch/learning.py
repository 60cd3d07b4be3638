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

``create_train_op`` and ``TrainOp`` live in :mod:`slimtorch.training` (the
trainer's internals); this module is the loop (checkpoints, resume,
summaries, progress, torchrun).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import time
from typing import Callable, Iterable, Optional, Union

import torch

from . import distributed, training
from .checkpoint import CheckpointManager, assign_from_checkpoint, load_checkpoint
from .graph import get_default_graph
from .summaries import SummaryWriter, record_if
from .training import (ResumableBatches, TrainerState, TrainOp, clip_gradient_norms,
                       create_train_op, multiply_gradients, variables_to_train)
from .variables import get_or_create_global_step, get_variables

__all__ = ["TrainOp", "clip_gradient_norms", "create_train_op", "multiply_gradients", "train",
           "variables_to_train"]

logger = logging.getLogger(__name__)


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
    if number_of_steps is not None and number_of_steps <= 0:
        raise ValueError(f"train: number_of_steps must be None or > 0, got {number_of_steps}")
    if on_save_error not in ("raise", "warn"):
        raise ValueError(f"train: on_save_error must be 'raise' or 'warn', got {on_save_error!r}")
    ctx, device, data = training.place(device, data, seed)
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
        bar = training.progress_bar(progress, number_of_steps, int(global_step)) \
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
        for epoch, index, batch in training.prefetch_to_device(batches, device, channels_last):
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
                TrainerState.capture(self.train_op, self._extra()).save(
                    self.manager, _weights(self.train_op), step)
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
        """Where the data stream resumes (the train op's own state is
        :class:`TrainerState`'s business)."""
        extra = {"data_position": self.batches_consumed}
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
    if resume_from is not None:
        # Read once: the data position now, the optimizer once the models exist.
        state = TrainerState.load(resume_from)
        stream = _resumed_stream(data, state)
    else:
        if seed is not None:
            _seed_everything(seed)
        stream = ResumableBatches(data)
    data_iter = iter(stream)
    first = next(data_iter)
    train_op.build(first[2], device)
    if channels_last:
        training.move_variables(memory_format=torch.channels_last)
    if sync_batch_norm:
        distributed.sync_batch_norms(get_default_graph().modules())
    if compile:
        train_op.loss_fn = torch.compile(train_op.loss_fn)
    if resume_from is not None:
        assign_from_checkpoint(resume_from, get_variables())
        _restore_trainer(train_op, resume_from, state)
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


def _resumed_stream(data, state: Optional[TrainerState]) -> ResumableBatches:
    """The batch stream positioned where the checkpoint of ``state`` left
    ``data`` (at the start without a trainer state)."""
    extra, rng_state = (state.extra, state.torch_rng) if state is not None else ({}, None)
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


def _seed_everything(seed: int) -> None:
    import numpy as np
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _due(step: int, every: Optional[int]) -> bool:
    return bool(every) and step % every == 0


def _weights(train_op: TrainOp) -> dict:
    """What a checkpoint's weights file holds: every variable, and the
    moving averages beside them (as TF saves them)."""
    variables = {v.name: v for v in get_variables()}
    if train_op.moving_average is not None:
        variables.update(train_op.moving_average.shadow_tensors())
    return variables


def _restore_trainer(train_op: TrainOp, checkpoint_path: str,
                     state: Optional[TrainerState]) -> None:
    """The built ``train_op`` as the checkpoint left it: optimizer, RNG, ...
    from ``state``, moving averages from the weights file."""
    if state is None:
        logger.warning("train: %s has no trainer state; the optimizer starts fresh",
                       checkpoint_path)
        return
    state.restore(train_op)
    if train_op.moving_average is not None:
        with load_checkpoint(checkpoint_path) as reader:
            shadows = {k: reader.get_torch_tensor(k)
                       for k in train_op.moving_average.shadow_tensors() if reader.has_tensor(k)}
        train_op.moving_average.load_shadow_tensors(shadows)
