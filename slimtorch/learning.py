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

TF-Slim's other ways in work too: :func:`optimize_loss` (``slim.optimize_loss``)
makes a train op the way ``tf.contrib.layers`` did, and ``train(...,
train_step_fn=..., train_step_kwargs=...)`` runs custom logic (validation,
early stopping) inside the loop around :func:`train_step`.

``create_train_op`` and ``TrainOp`` live in :mod:`slimtorch.training` (the
trainer's internals); this module is the loop (checkpoints, resume,
summaries, progress, interrupts, torchrun).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import random
import re
import sys
import time
from typing import Callable, Iterable, Optional, Union

import torch

from . import distributed, training
from .checkpoint import CheckpointManager, assign_from_checkpoint, load_checkpoint
from .graph import get_default_graph
from .summaries import SummaryWriter, record_if
from .training import (Interrupted, ResumableBatches, SignalCatcher, TrainDirLock,
                       TrainDirLockedError, TrainerState, TrainOp, add_gradients_summaries,
                       clip_gradient_norms, create_train_op, default_train_step_kwargs,
                       multiply_gradients, optimize_loss, train_step, variables_to_train)
from .variables import get_or_create_global_step, get_variables

__all__ = ["Interrupted", "TrainDirLockedError", "TrainOp", "add_gradients_summaries",
           "clip_gradient_norms", "create_train_op", "multiply_gradients", "optimize_loss", "train",
           "train_step", "variables_to_train"]

_USE_DEFAULT = object()

logger = logging.getLogger(__name__)


def train(train_op: TrainOp, logdir: Optional[str], data: Iterable,
          number_of_steps: Optional[int] = None, log_every_n_steps: int = 1,
          init_fn: Optional[Callable] = None, save_summaries_secs: float = 600,
          save_summaries_steps: Optional[int] = None, save_interval_secs: float = 600,
          save_interval_steps: Optional[int] = None, max_to_keep: int = 5,
          device: Union[str, torch.device, None] = "auto", seed: Optional[int] = None,
          progress: Optional[bool] = None, channels_last: bool = False,
          compile: bool = False, sync_batch_norm: bool = False,
          on_save_error: str = "raise", train_step_fn: Callable = train_step,
          train_step_kwargs=_USE_DEFAULT, trace_every_n_steps: Optional[int] = None
          ) -> Optional[float]:
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
    checkpoint, resumes from the latest complete checkpoint; a checkpoint
    found truncated or unreadable is skipped with a warning naming the file,
    and the run resumes from the newest complete one.

    If that checkpoint is at ``number_of_steps`` or beyond, the run is
    finished: ``train`` logs one line saying so and returns None without
    building anything.

    **Ctrl-C and SIGTERM** stop the run cleanly: the update in progress
    finishes, a checkpoint of that step is written (a second Ctrl-C during
    the write waits for it to end), summaries are written and the writers
    closed, one line goes to stderr (``interrupted at global step N;
    checkpoint saved to <path>; run the same command to resume``) and
    :class:`Interrupted` is raised: a ``SystemExit`` with code 130 (SIGINT)
    or 143 (SIGTERM), so a script exits with that code and no traceback.
    Under torchrun the ranks agree, so all stop after the same step.

    **One trainer per directory**: ``train`` locks ``logdir`` (a
    ``train.lock`` file naming its host and pid; the chief's under
    torchrun) and a second trainer on it fails with
    :class:`TrainDirLockedError`. A lock left by a killed process on this
    host is taken over with a warning. Evaluation needs no lock.

    **Each step** is ``train_step_fn(batch, train_op, global_step,
    train_step_kwargs)`` (TF-Slim's hook, the batch in the session's place;
    see :func:`train_step`), which returns ``(total_loss, should_stop)``:
    wrap :func:`train_step` to run validation or other logic inside the loop.
    ``should_stop`` ends the run after the update in progress (with the
    final checkpoint and summaries, as TF-Slim's ``request_stop``); the run
    also ends at ``number_of_steps`` whatever the kwargs say.

    **Progress is shown by default**: a progress bar on a terminal, else a
    log line every ``log_every_n_steps``; if the program configured no
    logging, ``slimtorch``'s log lines go to stderr while ``train`` runs
    (a handler on the ``slimtorch`` logger, removed afterwards; a program's
    own logging configuration is left alone).

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
        save_summaries_secs: TensorBoard summaries at least this often
            (0: no time cadence). Summaries are also written at the first
            step of a run, at the last one, and when interrupted, so even a
            short run has its curve's ends; with neither cadence (both 0 or
            None) no summaries are written at all.
        save_summaries_steps: also a summary every N global steps (a
            slimtorch addition; TF-Slim only had seconds): a short run gets
            a curve while a long one stays cheap.
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
        train_step_fn: the step function (default :func:`train_step`).
        train_step_kwargs: the dict passed to it; default
            :func:`slimtorch.training.default_train_step_kwargs`: TF-Slim's
            ``should_stop``, ``should_log`` (every ``log_every_n_steps``,
            when no progress bar shows), ``should_trace`` and ``logdir``
            (with ``trace_every_n_steps``), plus ``summary_writer`` (the
            run's :class:`~slimtorch.summaries.SummaryWriter`, to write your
            own values, e.g. a validation accuracy) when ``logdir`` is set.
        trace_every_n_steps: write a Chrome trace of the step
            (``<logdir>/tf_trace-<step>.json``, ``torch.profiler``) every N
            global steps (needs ``logdir``).

    Returns:
        The last step's loss; None if no step ran (a finished run).

    Raises:
        Interrupted: SIGINT or SIGTERM, after saving (see above).
        TrainDirLockedError: another trainer holds ``logdir``.
        OSError: a checkpoint could not be written (``on_save_error='raise'``).
        FloatingPointError: a non-finite loss (see ``create_train_op``).
        slimtorch.checkpoint.CheckpointError: ``logdir`` holds checkpoints
            but none of them reads.
    """
    if train_op is None:
        raise ValueError("train_op cannot be None.")
    if logdir is None and trace_every_n_steps is not None:
        raise ValueError("train: cannot provide trace_every_n_steps because logdir=None")
    if not callable(train_step_fn):
        raise TypeError("train: train_step_fn must be a function (batch, train_op, global_step, "
                        f"train_step_kwargs) -> (total_loss, should_stop); got {train_step_fn!r}")
    if number_of_steps is not None and number_of_steps <= 0:
        raise ValueError(f"train: number_of_steps must be None or > 0, got {number_of_steps}")
    if on_save_error not in ("raise", "warn"):
        raise ValueError(f"train: on_save_error must be 'raise' or 'warn', got {on_save_error!r}")
    # On every way out, errors and interrupts included, the cleanup stack
    # closes what was opened (process group, lock, writers, bar, handlers).
    with training.log_to_stderr_by_default(), contextlib.ExitStack() as cleanup:
        ctx, device, data = training.place(device, data, seed)
        cleanup.callback(distributed.destroy, ctx)
        cleanup.callback(train_op.undistribute)
        manager, resume_from, resume_step = _open_logdir(logdir, ctx, max_to_keep, cleanup)
        if number_of_steps is not None and resume_step is not None \
                and resume_step >= number_of_steps:
            if ctx.is_chief:
                logger.warning("%s already holds a finished run (global step %d >= "
                               "number_of_steps %d); nothing to train — delete it or use another "
                               "logdir/--train_dir to start fresh", logdir, resume_step,
                               number_of_steps)
            return None
        catcher = cleanup.enter_context(SignalCatcher())
        global_step = get_or_create_global_step()
        stream, batches = _start(train_op, resume_from, init_fn, data, device, seed, ctx,
                                 channels_last, sync_batch_norm, compile)
        bar = training.progress_bar(progress, number_of_steps, int(global_step)) \
            if ctx.is_chief else None
        if bar is not None:
            cleanup.callback(bar.close)
        # On resume TensorBoard hides the previous run's points after the
        # checkpoint (work that was lost), not the checkpoint's own step.
        writer = SummaryWriter(logdir if ctx.is_chief else None,
                               enabled=bool(save_summaries_steps or save_summaries_secs),
                               purge_step=int(global_step) + 1 if resume_from else None)
        cleanup.callback(writer.close)
        cadence = _SummaryCadence(writer.enabled, save_summaries_steps, save_summaries_secs,
                                  number_of_steps)
        saver = _Saver(manager, train_op, stream, ctx, on_save_error)
        if train_step_kwargs is _USE_DEFAULT:
            train_step_kwargs = default_train_step_kwargs(   # log lines: the chief's, no bar
                global_step, number_of_steps,
                log_every_n_steps if bar is None and ctx.is_chief else 0,
                trace_every_n_steps, logdir, ctx.is_chief)
        if logdir and ctx.is_chief:   # TF-Slim's too: the kwargs carry the run's writer
            train_step_kwargs["summary_writer"] = writer
        last_save = time.monotonic()
        loss, loss_value, elapsed = None, None, 0.0
        start_step, start_time = int(global_step), time.monotonic()
        feed = _UntilSignal(training.prefetch_to_device(batches, device, channels_last), catcher)
        # A signal during startup stops the run before its first step.
        stop = training.max_over_ranks([catcher.received or 0], ctx)[0]
        for epoch, index, batch in (feed if not stop else ()):
            if number_of_steps is not None and int(global_step) >= number_of_steps:
                break
            if number_of_steps is None and epoch > 0:
                break
            step_start = time.monotonic()
            before = int(global_step)
            summarize = cadence.due(before, step_start)
            with record_if(summarize):
                loss, user_stop = train_step_fn(batch, train_op, global_step, train_step_kwargs)
            loss_value = float(loss)
            saver.consumed((epoch, index))
            step = int(global_step)
            elapsed = time.monotonic() - step_start
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            if summarize and step > before:
                _write_summaries(writer, train_op, step, loss, elapsed)
                cadence.written(step, step_start)
            # Only right after an update: between the micro-batches of one a
            # checkpoint could not hold the gradients (and a stop would lose them).
            if train_op.accumulating:
                continue
            now = time.monotonic()
            due = step > before and (_due(step, save_interval_steps) or (
                save_interval_steps is None and now - last_save >= save_interval_secs))
            # One collective a step under torchrun: "the chief's save timer
            # expired" and "some rank got a signal", so all ranks act alike.
            timed, stop, user_stop = training.max_over_ranks(
                [ctx.is_chief and due and save_interval_steps is None, catcher.received or 0,
                 bool(user_stop)], ctx)
            if ctx.enabled and save_interval_steps is None:
                due = step > before and bool(timed)
            if due and logdir:
                writer.flush()
                with catcher.critical():
                    saver.save(step)   # every rank: it doubles as the barrier
                last_save = now
            if stop:
                break
            if user_stop:
                logger.info("Stopping Training.")
                break
        step = int(global_step)
        if loss is not None and cadence.enabled and cadence.last_step != step:
            _write_summaries(writer, train_op, step, loss, elapsed)   # the run's last point
        writer.close()
        if bar is not None:
            bar.close()
        if logdir and loss_value is not None and not (stop and saver.saved_step == step):
            with catcher.critical():
                saver.save(step)
        distributed.barrier(ctx)
        # A signal that arrived after the last check (during the final save,
        # or one that cut the data off) counts too: one more agreement.
        stop = training.max_over_ranks([stop or feed.cut or catcher.received or 0], ctx)[0]
        if stop:
            message = _interrupted_message(step, logdir, saver, ctx)
            if ctx.is_chief:
                print(message, file=sys.stderr, flush=True)
            raise Interrupted(stop, message)
        if step > start_step:
            logger.info("train: %d steps in %.1f s", step - start_step,
                        time.monotonic() - start_time)
    return loss_value


class _SummaryCadence:
    """When ``train`` writes summaries: at the first update of the run, every
    ``steps`` global steps, every ``secs`` seconds, and at ``number_of_steps``
    (decided before the step, so that its summaries are recorded)."""

    def __init__(self, enabled: bool, steps: Optional[int], secs: float,
                 number_of_steps: Optional[int]) -> None:
        self.enabled, self.steps, self.secs = enabled, steps, secs
        self.number_of_steps = number_of_steps
        self.last_step: Optional[int] = None
        self.last_time = time.monotonic()

    def due(self, before: int, now: float) -> bool:
        if not self.enabled:
            return False
        after = before + 1
        return (self.last_step is None or _due(after, self.steps)
                or bool(self.secs) and now - self.last_time >= self.secs
                or self.number_of_steps is not None and after >= self.number_of_steps)

    def written(self, step: int, now: float) -> None:
        self.last_step, self.last_time = step, now


class _UntilSignal:
    """The batches, until a data error that a signal caused: Ctrl-C reaches
    the whole process group, so a ``DataLoader``'s workers die with it and
    the next fetch fails; the run then stops as interrupted (``cut``)."""

    def __init__(self, batches, catcher: SignalCatcher) -> None:
        self.batches, self.catcher, self.cut = batches, catcher, 0

    def __iter__(self):
        while True:
            try:
                item = next(self.batches)
            except StopIteration:
                return
            except Exception:
                if self.catcher.received is None:
                    raise
                self.cut = self.catcher.received
                return
            yield item


def _open_logdir(logdir, ctx, max_to_keep: int, cleanup: contextlib.ExitStack):
    """On the chief: locks ``logdir`` (released by ``cleanup``), opens its
    checkpoint manager and finds the newest complete checkpoint. Returns
    ``(manager, checkpoint to resume from, its global step)``; under
    torchrun every rank gets the chief's choice (or its failure)."""
    manager = resume_from = resume_step = failure = None
    if logdir and ctx.is_chief:
        try:
            cleanup.enter_context(TrainDirLock(logdir))
            manager = CheckpointManager(logdir, max_to_keep=max_to_keep)
            resume_from = manager.latest_complete_checkpoint()
            resume_step = _checkpoint_step(resume_from) if resume_from else None
        except Exception as error:
            if not ctx.enabled:
                raise
            failure = error
    if not ctx.enabled:
        return manager, resume_from, resume_step
    shared = distributed.broadcast_object(
        (failure and (type(failure).__name__, str(failure)), resume_from, resume_step), ctx)
    if failure is not None:
        raise failure
    if shared[0] is not None:   # the chief failed: every rank stops with its message
        kind, text = shared[0]
        raise TrainDirLockedError(text) if kind == TrainDirLockedError.__name__ else \
            RuntimeError(f"train: rank 0 failed to open {logdir}: {text}")
    return manager, shared[1], shared[2]


def _checkpoint_step(path: str) -> int:
    """The global step a checkpoint was saved at."""
    with load_checkpoint(path) as reader:
        step = getattr(reader, "global_step", None)
        if step is None and reader.has_tensor("global_step"):
            step = int(reader.get_tensor("global_step"))
    if step is None:
        match = re.search(r"-(\d+)(\.safetensors)?$", path)
        step = int(match.group(1)) if match else 0
    return int(step)


def _interrupted_message(step: int, logdir, saver: "_Saver", ctx) -> str:
    """The one line an interrupted run prints."""
    where = f"interrupted at global step {step}; "
    if not logdir:
        return where + "nothing was saved (no logdir)"
    if not ctx.is_chief:
        return where + f"rank 0 saved the checkpoint in {logdir}; run the same command to resume"
    if saver.saved_step == step and saver.saved_path:
        return where + f"checkpoint saved to {saver.saved_path}; run the same command to resume"
    latest = saver.manager.latest_checkpoint if saver.manager else None
    if latest is None:
        return where + "nothing was saved"
    if saver.saved_step == step:   # the save failed (on_save_error='warn'), as logged
        return (where + f"its checkpoint could not be written; the latest is {latest}; run the "
                "same command to resume from it")
    return where + f"no step was trained; the latest checkpoint is {latest}; run the same " \
        "command to resume"


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
        self.saved_step: Optional[int] = None   # the last step saved (or tried), on every rank
        self.saved_path: Optional[str] = None   # its file, on the chief if the write succeeded

    def consumed(self, epoch_and_index: tuple) -> None:
        self.last_consumed = epoch_and_index
        self.batches_consumed += 1

    def save(self, step: int) -> None:
        failed = None
        self.saved_step, self.saved_path = step, None
        if self.manager is not None:
            try:
                self.saved_path = TrainerState.capture(self.train_op, self._extra()).save(
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
    with record_if(False):   # building is no step: nothing it records is written
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
    for name, value in train_op.last_losses.items():
        writer.scalar(f"losses/{name}", value, step)
    if train_op.optimizer is not None:
        writer.scalar("learning_rate", train_op.optimizer.param_groups[0]["lr"], step)
    if seconds > 0:
        writer.scalar("global_step/sec", 1.0 / seconds, step)
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
