"""TF-Slim's ``slim.evaluation``, eagerly: ``evaluate_once``,
``evaluation_loop``, ``checkpoints_iterator``, ``wait_for_new_checkpoint``.

As in training, the graph-mode ``eval_op`` becomes a function of the batch:
it runs the model and folds the batch into the metrics. The guide's
evaluation loop translates to:

    >>> import tempfile
    >>> logdir = tempfile.mkdtemp()
    >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope='fc'))
    >>> names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
    ...     'eval/mean_absolute_error': slim.metrics.streaming_mean_absolute_error(),
    ...     'eval/mean_squared_error': slim.metrics.streaming_mean_squared_error(),
    ... })
    >>> def eval_op(batch):
    ...     x, y = batch
    ...     predictions = net(x)
    ...     for update in names_to_updates.values():
    ...         update(predictions, y)
    >>> x = torch.ones(4, 2); data = [(x, torch.zeros(4, 1))] * 3
    >>> with slim.model.dry_run():
    ...     _ = net(x)   # built, so there is something to save
    >>> with torch.no_grad():
    ...     _ = net.fc.weights.fill_(0.5), net.fc.biases.zero_()
    >>> path = logdir + '/model.ckpt-7.safetensors'
    >>> slim.checkpoint.save_checkpoint(path, net.named_variables(), global_step=7)
    >>> values = slim.evaluation.evaluate_once(path, logdir, data, num_evals=3,
    ...                                        eval_op=eval_op, metrics=names_to_values,
    ...                                        quiet=True)
    >>> {name: round(value, 3) for name, value in values.items()}
    {'eval/mean_absolute_error': 1.0, 'eval/mean_squared_error': 1.0}

Each evaluation resets every metric of the graph first (TF re-runs
``local_variables_initializer``), puts the models in eval mode and runs
without gradients. Under ``torchrun`` the data is sharded, metric values are
reduced over the ranks, and only rank 0 writes summaries and prints.

TF-Slim's signatures, with the session target first
(``evaluation_loop('local', checkpoint_dir, logdir, data=..., ...)``), work
too: ``master`` is ignored (noted once in the log), and the batches, which
TF read from its graph, come as ``data=``.

Ctrl-C (SIGINT) or SIGTERM stops an evaluation between batches, or a wait for
the next checkpoint, at once: it prints one line (``evaluation interrupted at
<checkpoint>; <n> checkpoints evaluated``) and raises
:class:`slimtorch.training.Interrupted`, a ``SystemExit`` with code 130 or 143,
so a script ends without a traceback.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
import os
import re
import sys
import time
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

import torch

from . import distributed, training
from .checkpoint import CheckpointError, assign_from_checkpoint, latest_checkpoint, load_checkpoint
from .graph import get_default_graph
from .metrics.base import StreamingMetric, reset_metrics
from .model import dry_run
from .summaries import SummaryWriter, record_if
from .training import StopAfterNEvalsHook, SummaryAtEndHook, hook_settings, run_hooks
from .variables import get_model_variables, get_variables

__all__ = ["StopAfterNEvalsHook", "SummaryAtEndHook", "checkpoints_iterator", "evaluate_once",
           "evaluate_repeatedly", "evaluation_loop", "wait_for_new_checkpoint"]

logger = logging.getLogger(__name__)

_USE_DEFAULT = object()
_CUT_SHORT = object()   # what _evaluate returns when a signal stopped it
_SLEEP_SLICE = 0.1      # seconds: how soon a wait notices a signal


def wait_for_new_checkpoint(checkpoint_dir: str, last_checkpoint: Optional[str] = None,
                            seconds_to_sleep: float = 1, timeout: Optional[float] = None
                            ) -> Optional[str]:
    """Polls ``checkpoint_dir`` until its latest checkpoint exists and differs
    from ``last_checkpoint``; returns its path, or None once waiting longer
    would pass ``timeout`` seconds.

        >>> import tempfile
        >>> wait_for_new_checkpoint(tempfile.mkdtemp(), timeout=0) is None
        True
    """
    return _wait_for_new_checkpoint(checkpoint_dir, last_checkpoint, seconds_to_sleep, timeout)


def _wait_for_new_checkpoint(checkpoint_dir, last_checkpoint, seconds_to_sleep, timeout,
                             catcher=None) -> Optional[str]:
    """:func:`wait_for_new_checkpoint`, which also gives up (None) as soon as
    ``catcher`` (a ``SignalCatcher``) has caught a signal."""
    stop_time = time.monotonic() + timeout if timeout is not None else None
    while True:
        path = latest_checkpoint(checkpoint_dir)
        if path is not None and path != last_checkpoint:
            return path
        if stop_time is not None and time.monotonic() + seconds_to_sleep > stop_time:
            return None
        if not _sleep(seconds_to_sleep, catcher):
            return None


def _sleep(seconds: float, catcher) -> bool:
    """``time.sleep(seconds)``, cut short once ``catcher`` has a signal (a
    signal handler that only sets a flag does not end ``time.sleep``: Python
    resumes it); False when cut short."""
    if catcher is None:
        time.sleep(seconds)
        return True
    end = time.monotonic() + seconds
    while catcher.received is None:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return True
        time.sleep(min(remaining, _SLEEP_SLICE))
    return False


def checkpoints_iterator(checkpoint_dir: str, min_interval_secs: float = 0,
                         timeout: Optional[float] = None,
                         timeout_fn: Optional[Callable[[], bool]] = None,
                         seconds_to_sleep: float = 1) -> Iterator[str]:
    """Yields each new checkpoint of ``checkpoint_dir`` as it appears.

    It looks only when control comes back to it, so checkpoints written
    meanwhile are skipped (the latest is yielded), and after each yield it
    sleeps whatever remains of ``min_interval_secs``. After ``timeout``
    seconds without a new one it stops, unless ``timeout_fn`` is given and
    returns False (then it keeps waiting). TF-Slim's semantics exactly.

        >>> import tempfile
        >>> list(checkpoints_iterator(tempfile.mkdtemp(), timeout=0))
        []
    """
    return _checkpoints(checkpoint_dir, min_interval_secs, timeout, timeout_fn, seconds_to_sleep)


def _checkpoints(checkpoint_dir, min_interval_secs, timeout, timeout_fn, seconds_to_sleep=1,
                 catcher=None) -> Iterator[str]:
    """:func:`checkpoints_iterator`, which also stops as soon as ``catcher``
    has caught a signal."""
    checkpoint_path = None
    while True:
        new_path = _wait_for_new_checkpoint(checkpoint_dir, checkpoint_path, seconds_to_sleep,
                                            timeout, catcher)
        if catcher is not None and catcher.received is not None:
            return
        if new_path is None:
            if timeout_fn is None:
                logger.info("Timed-out waiting for a checkpoint in %s", checkpoint_dir)
                return
            if timeout_fn():
                return
            continue
        start = time.monotonic()
        checkpoint_path = new_path
        yield checkpoint_path
        remaining = start + min_interval_secs - time.monotonic()
        if remaining > 0 and not _sleep(remaining, catcher):
            return


def _tf_slim_signature(fn: Callable) -> Callable:
    """Also accepts TF-Slim's call, ``fn(master, checkpoint, logdir, ...)``:
    a first positional argument that is a session target (``''``,
    ``'local'``, ``'grpc://...'``) followed by the paths is dropped, with a
    note logged once. The batches then come as ``data=`` (TF had none)."""
    checkpoint_param = next(iter(inspect.signature(fn).parameters))

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if _is_master_first(args, kwargs, checkpoint_param):
            master, args = args[0], args[1:]
            if not _noted_master:
                _noted_master.append(master)
                logger.info("%s: ignoring TF-Slim's master=%r (slimtorch evaluates in this "
                            "process)", fn.__name__, master)
            if len(args) < 3 and "data" not in kwargs and kwargs.get("eval_op") is not None:
                raise TypeError(f"{fn.__name__}: called with TF-Slim's signature (master first), "
                                "which has no data argument; pass the batches as data=...")
            if len(args) >= 3 and isinstance(args[2], int):
                raise TypeError(f"{fn.__name__}: pass num_evals by keyword (num_evals=...); "
                                "the positional argument after the paths is data")
        return fn(*args, **kwargs)
    return wrapper


_noted_master: list = []   # the note about master is logged once a process


def _is_master_first(args, kwargs, checkpoint_param: str) -> bool:
    """Whether ``args`` start with TF-Slim's ``master``: a session target
    followed by the checkpoint and logdir. ``'local'`` could also be a
    checkpoint directory, so the rest decides: slimtorch's third positional
    argument is the data (never a path or None), and its second the logdir."""
    if not args or not isinstance(args[0], str):
        return False
    if not (args[0] in ("", "local") or args[0].startswith("grpc://")):
        return False
    if checkpoint_param in kwargs:
        return True
    if len(args) >= 3:
        return args[2] is None or isinstance(args[2], (str, os.PathLike))
    return len(args) == 2 and "logdir" in kwargs


def _interrupted(catcher, at: Optional[str], evaluated: int, ctx):
    """Prints the one line and returns the ``Interrupted`` to raise."""
    where = f"at {at}" if at is not None else "while waiting for a checkpoint"
    plural = "" if evaluated == 1 else "s"
    message = f"evaluation interrupted {where}; {evaluated} checkpoint{plural} evaluated"
    if ctx.is_chief:
        print(message, file=sys.stderr, flush=True)
    return training.Interrupted(catcher.received, message)


@_tf_slim_signature
def evaluate_once(checkpoint_path: str, logdir: Optional[str], data: Optional[Iterable] = None,
                  num_evals: Optional[int] = None, eval_op: Optional[Callable] = None,
                  metrics=None, final_op=None, summary_op=_USE_DEFAULT,
                  variables_to_restore=None, device: Union[str, torch.device, None] = "auto",
                  progress: Optional[bool] = None, quiet: bool = False, hooks=None):
    """Restores ``checkpoint_path``, runs ``eval_op`` on ``num_evals`` batches
    of ``data`` and returns the final values.

    Args:
        checkpoint_path: a checkpoint file, TF prefix or directory (its latest).
        logdir: summaries go here, at the checkpoint's global step (None: none).
        data: batches (a ``DataLoader``, a list); read once, from the start.
            None only without ``eval_op`` (the models must be built then).
        num_evals: how many batches (None: all of ``data``).
        eval_op: ``eval_op(batch)`` runs the models and updates the metrics;
            None: no batch is run (only ``final_op`` and the summaries).
        metrics: ``{name: metric}`` (or ``names_to_values`` from
            ``aggregate_metric_map``): values to return, print as
            ``name: value`` and write as scalar summaries.
        final_op: what to return instead of the metric values: a callable
            (its result), or a dict/list of metrics or value callables.
        summary_op: default: the metric values and any summaries recorded by
            ``eval_op`` (``slim.summaries.scalar``...); None: no summaries;
            a callable ``summary_op(writer, global_step)`` writes its own.
        variables_to_restore: a list of variables or ``{checkpoint_name:
            variable}`` (e.g. moving-average shadows), or a function returning
            one once the models are built; default every variable.
        device: ``'auto'`` (CUDA when available), a device, or None.
        progress: a progress bar over the batches (None: on a terminal).
        quiet: do not print the final values.
        hooks: TF's session hooks, eagerly: functions called after the
            evaluation, objects with ``begin()`` / ``end()`` methods, and
            :class:`StopAfterNEvalsHook` / :class:`SummaryAtEndHook` (read as
            ``num_evals`` and a summary directory).

    Returns: ``final_op``'s value, else ``{name: float}`` for ``metrics``,
    else None.

    Raises:
        slimtorch.training.Interrupted: on SIGINT or SIGTERM (after the batch
            in progress; no summaries are written then).
    """
    _check_eval_op("evaluate_once", eval_op, data)
    ctx, device, data = training.place(device, data, seed=0)
    settings = _Settings(num_evals, logdir, summary_op, hooks)
    with training.SignalCatcher() as catcher:
        result = _evaluate(checkpoint_path, data, eval_op, metrics, final_op, settings,
                           variables_to_restore, device, progress, quiet, ctx, catcher)
        if catcher.received is not None:
            raise _interrupted(catcher, checkpoint_path, int(result is not _CUT_SHORT), ctx)
    return result


@_tf_slim_signature
def evaluation_loop(checkpoint_dir: str, logdir: Optional[str], data: Optional[Iterable] = None,
                    num_evals: Optional[int] = None, eval_op: Optional[Callable] = None,
                    metrics=None, final_op=None, summary_op=_USE_DEFAULT,
                    variables_to_restore=None, eval_interval_secs: float = 60,
                    max_number_of_evaluations: Optional[int] = None,
                    timeout: Optional[float] = None,
                    timeout_fn: Optional[Callable[[], bool]] = None,
                    device: Union[str, torch.device, None] = "auto",
                    progress: Optional[bool] = None, quiet: bool = False, hooks=None):
    """Evaluates every new checkpoint of ``checkpoint_dir`` (see
    :func:`checkpoints_iterator` for the timing: at most one evaluation per
    ``eval_interval_secs``; checkpoints written meanwhile are skipped, only
    the latest is evaluated) until ``max_number_of_evaluations`` or a
    ``timeout`` without a new checkpoint. Arguments as :func:`evaluate_once`.

    A checkpoint that vanishes before it is read (``train``'s retention
    deleted it) or cannot be read (half-written by another tool) is skipped
    with a warning. Returns the last evaluation's values.

    Raises:
        slimtorch.training.Interrupted: on SIGINT or SIGTERM, between batches
            or while waiting for a checkpoint.
    """
    _check_eval_op("evaluation_loop", eval_op, data)
    ctx, device, data = training.place(device, data, seed=0)
    settings = _Settings(num_evals, logdir, summary_op, hooks)
    values, done = None, 0
    with training.SignalCatcher() as catcher:
        checkpoints = _checkpoints(checkpoint_dir, eval_interval_secs, timeout, timeout_fn,
                                   catcher=catcher) if ctx.is_chief else None
        for path in _agreed(checkpoints, ctx):
            try:
                result = _evaluate(path, data, eval_op, metrics, final_op, settings,
                                   variables_to_restore, device, progress, quiet, ctx, catcher)
            except (CheckpointError, OSError) as error:
                reason = str(error) if str(path) in str(error) else f"{path}: {error}"
                logger.warning("evaluation_loop: skipping a checkpoint: %s", reason)
                continue
            if result is not _CUT_SHORT:
                values, done = result, done + 1
            if catcher.received is not None:
                raise _interrupted(catcher, path, done, ctx)
            if max_number_of_evaluations is not None and done >= max_number_of_evaluations:
                logger.info("evaluation_loop: reached max_number_of_evaluations=%d",
                            max_number_of_evaluations)
                break
        if catcher.received is not None:   # while waiting for the next checkpoint
            raise _interrupted(catcher, None, done, ctx)
    return values


def _combined_eval_ops(eval_ops) -> Optional[Callable]:
    """TF's ``eval_ops`` (one op, a list or a dict of them) as one function
    of the batch."""
    if eval_ops is None or callable(eval_ops):
        return eval_ops
    ops = list(eval_ops.values()) if isinstance(eval_ops, Mapping) else list(eval_ops)
    for op in ops:
        if not callable(op):
            raise TypeError("evaluate_repeatedly: eval_ops must be functions of the batch (a "
                            f"metric's update, ...); got {type(op).__name__}")

    def run_all(batch):
        for op in ops:
            op(batch)
    return run_all


def evaluate_repeatedly(checkpoint_dir: str, master: str = "", scaffold=None, eval_ops=None,
                        feed_dict=None, final_ops=None, final_ops_feed_dict=None,
                        eval_interval_secs: float = 60, hooks=None, config=None,
                        max_number_of_evaluations: Optional[int] = None,
                        timeout: Optional[float] = None,
                        timeout_fn: Optional[Callable[[], bool]] = None, *,
                        data: Optional[Iterable] = None, variables_to_restore=None,
                        device: Union[str, torch.device, None] = "auto",
                        progress: Optional[bool] = None):
    """TF's ``evaluate_repeatedly`` (``tf.contrib.training``, ``slim.evaluation``):
    evaluates every new checkpoint of ``checkpoint_dir`` as it appears (see
    :func:`checkpoints_iterator`), as :func:`evaluation_loop` does, with TF's
    signature: ``eval_ops`` run on each batch of ``data`` (all of it, or as
    many batches as a :class:`StopAfterNEvalsHook` says), then ``final_ops``
    are read; a :class:`SummaryAtEndHook` writes the summaries.

        >>> import tempfile
        >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, scope='fc'))
        >>> x = torch.ones(2, 3); _ = net(x)
        >>> ckpt_dir = tempfile.mkdtemp()
        >>> _ = slim.checkpoint.CheckpointManager(ckpt_dir).save(net.named_variables(), 1)
        >>> mean = slim.metrics.streaming_mean()
        >>> evaluate_repeatedly(ckpt_dir, eval_ops=lambda b: mean.update(b.sum()),
        ...                     final_ops={'mean': mean}, data=[x, 2 * x],
        ...                     hooks=[StopAfterNEvalsHook(1)], max_number_of_evaluations=1)
        {'mean': 6.0}

    Args:
        checkpoint_dir: the directory to watch.
        master, config: TF's session target and ``ConfigProto``: ignored.
        scaffold, feed_dict, final_ops_feed_dict: must be None (no graph to
            scaffold, nothing to feed eagerly: values come through ``data``
            and closures).
        eval_ops: a function of the batch (a list or dict of them) that runs
            the models and updates the metrics; None: no batch is run.
        final_ops: what to return: a metric, a function, or a list / dict of
            them, read after the batches.
        eval_interval_secs: at most one evaluation per this many seconds.
        hooks: functions (called after each evaluation), objects with
            ``begin()`` / ``end()``, :class:`StopAfterNEvalsHook`,
            :class:`SummaryAtEndHook`.
        max_number_of_evaluations: stop after this many (None: no limit).
        timeout, timeout_fn: as :func:`checkpoints_iterator`.
        data: the batches ``eval_ops`` run on (TF read them from its graph).
        variables_to_restore, device, progress: as :func:`evaluate_once`.

    Returns:
        The last evaluation's ``final_ops`` values; None without ``final_ops``
        or when no checkpoint was evaluated.
    """
    del master, config
    for arg, value in (("scaffold", scaffold), ("feed_dict", feed_dict),
                       ("final_ops_feed_dict", final_ops_feed_dict)):
        if value is not None:
            raise TypeError(f"evaluate_repeatedly: {arg} has no meaning eagerly (no graph, no "
                            "placeholders); pass the batches as data= and values through "
                            "closures")
    result = evaluation_loop(checkpoint_dir=checkpoint_dir, logdir=None, data=data,
                             eval_op=_combined_eval_ops(eval_ops), final_op=final_ops,
                             variables_to_restore=variables_to_restore,
                             eval_interval_secs=eval_interval_secs,
                             max_number_of_evaluations=max_number_of_evaluations,
                             timeout=timeout, timeout_fn=timeout_fn, device=device,
                             progress=progress, quiet=True, hooks=hooks)
    return result if final_ops is not None else None


def _agreed(checkpoints: Optional[Iterator[str]], ctx) -> Iterator[str]:
    """Under torchrun the chief watches the directory and every rank gets its
    choice, so all ranks evaluate the same checkpoints (or stop) together."""
    if not ctx.enabled:
        yield from checkpoints
        return
    while True:
        path = next(checkpoints, None) if ctx.is_chief else None
        path = distributed.broadcast_object(path, ctx)
        if path is None:
            return
        yield path


class _Settings:
    """What one evaluation of ``evaluate_once`` / ``evaluation_loop`` /
    ``evaluate_repeatedly`` does besides running ``eval_op``: how many
    batches, where the summaries go, the hooks (TF's hooks' settings folded in)."""

    def __init__(self, num_evals, logdir, summary_op, hooks) -> None:
        hook_evals, summary_hook, self.hooks = hook_settings(hooks)
        if num_evals is not None and num_evals <= 0:
            raise ValueError(f"evaluate_once: num_evals must be None or > 0, got {num_evals}")
        self.num_evals = num_evals if hook_evals is None else \
            hook_evals if num_evals is None else min(num_evals, hook_evals)
        self.summary_op = summary_op
        # (logdir or writer, summary_op) pairs
        self.targets = [(logdir, summary_op)] if logdir and summary_op is not None else []
        if summary_hook is not None:
            op = _USE_DEFAULT if summary_hook.summary_op is None else summary_hook.summary_op
            self.targets.append((summary_hook.summary_writer or summary_hook.log_dir, op))

    @property
    def record(self) -> bool:
        """Whether what ``eval_op`` records is kept, for a default summary."""
        return any(op is _USE_DEFAULT for _, op in self.targets) or \
            (not self.targets and self.summary_op is _USE_DEFAULT)


def _check_eval_op(fn_name: str, eval_op, data) -> None:
    """``eval_op`` runs on ``data``: both or neither (TF's evaluation without
    eval op only restores, computes ``final_op`` and writes the summaries)."""
    if (eval_op is not None or data is not None) and not callable(eval_op):
        raise TypeError(f"{fn_name}: eval_op must be a function of the batch that runs the model "
                        f"and updates the metrics; got {type(eval_op).__name__}")
    if eval_op is not None and data is None:
        raise TypeError(f"{fn_name}: eval_op needs the batches to run on: pass data=...")


def _evaluate(checkpoint_path, data, eval_op, metrics, final_op, settings: _Settings,
              variables_to_restore, device, progress, quiet, ctx, catcher):
    """One evaluation; ``_CUT_SHORT`` when ``catcher`` caught a signal
    before its last batch (nothing printed or written then)."""
    num_evals = settings.num_evals
    batches = iter(data) if eval_op is not None else iter(())
    first = next(batches, None)
    if first is None and eval_op is not None:
        raise ValueError("evaluate_once: data yielded no batches")
    # Models not built yet: build them. (Other variables may exist already:
    # the guide's get_or_create_global_step() before the evaluation made an
    # empty-graph test skip the build, and the checkpoint went nowhere.)
    if not get_model_variables() and (eval_op is not None or not get_default_graph().records()):
        if eval_op is None:
            raise ValueError("evaluate_once: without eval_op the models must be built before "
                             "the evaluation (call them once), so that there is something to "
                             "restore")
        first = training.to_device(first, device)
        with dry_run(), torch.no_grad():
            eval_op(first)
        if device is not None:
            training.move_variables(torch.device(device))
    variables = variables_to_restore if variables_to_restore is not None else get_variables()
    if callable(variables):   # decided once the models exist
        variables = variables()
    assign_from_checkpoint(checkpoint_path, variables)
    step = _global_step_of(checkpoint_path)
    logger.info("Evaluating %s (global step %d)", checkpoint_path, step)

    reset_metrics()
    run_hooks(settings.hooks, "begin")
    bar = training.progress_bar(progress, num_evals, 0, unit="batch") \
        if ctx.is_chief and eval_op is not None else None
    record = settings.record
    count = 0
    with _EvalMode(), torch.no_grad():
        for batch in (itertools.chain([first], batches) if first is not None else ()):
            if num_evals is not None and count >= num_evals:
                break
            if catcher.received is not None:
                break
            with record_if(record):   # each batch replaces the last: the final one is written
                eval_op(training.to_device(batch, device))
            count += 1
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    if catcher.received is not None:
        return _CUT_SHORT
    if eval_op is not None and num_evals is not None and count < num_evals:
        logger.warning("evaluate_once: data ran out after %d of num_evals=%d batches",
                       count, num_evals)

    values = _metric_values(metrics)   # a collective under torchrun: every rank
    result = _final_values(final_op) if final_op is not None else values
    if ctx.is_chief:
        if not quiet:
            for name, value in (values or {}).items():
                if isinstance(value, float):   # float32 digits only: 0.9642857, not ...313156128
                    value = float(f"{value:.7g}")
                print(f"{name}: {value}", flush=True)
        for target, summary_op in settings.targets:
            _write_summaries(target, summary_op, values, step, record)
    run_hooks(settings.hooks, "end")
    return result


class _EvalMode:
    """Every model (``slim.Model``: its layers' ``is_training=None`` follow
    it) and module holding a variable in eval mode, restored afterwards."""

    def __enter__(self):
        modules = get_default_graph().modules(with_models=True)
        self._modes = [(m, m.training) for m in modules]
        for module, _ in self._modes:
            module.eval()

    def __exit__(self, *exc):
        for module, was_training in self._modes:
            module.train(was_training)


def _metric_values(metrics) -> Optional[dict]:
    if metrics is None:
        return None
    if not isinstance(metrics, Mapping):
        raise TypeError("evaluate_once: metrics must map names to metrics (e.g. names_to_values "
                        f"from slim.metrics.aggregate_metric_map); got {type(metrics).__name__}")
    return {name: _read(metric) for name, metric in metrics.items()}


def _final_values(final_op):
    if isinstance(final_op, Mapping):
        return {name: _read(op) for name, op in final_op.items()}
    if isinstance(final_op, (list, tuple)):
        return [_read(op) for op in final_op]
    return _read(final_op)


def _read(metric):
    """A metric's (or a value callable's) value as a Python number, or a
    list for tensor values."""
    value = metric.value() if isinstance(metric, StreamingMetric) else metric()
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    return value


def _global_step_of(checkpoint_path: str) -> int:
    """The ``global_step`` saved in the checkpoint, else the ``-N`` of its
    name, else 0."""
    with load_checkpoint(checkpoint_path) as reader:
        step = reader.global_step
        if step is None and reader.has_tensor("global_step"):
            step = int(reader.get_tensor("global_step"))
    if step is not None:
        return int(step)
    match = re.search(r"-(\d+)(\.[a-z]+)?$", os.path.basename(str(checkpoint_path)))
    return int(match.group(1)) if match else 0


def _write_summaries(target, summary_op, values, step: int, recorded: bool) -> None:
    """Writes one evaluation's summaries into ``target``: a directory, or a
    ``SummaryWriter`` (left open)."""
    writer = target if isinstance(target, SummaryWriter) else SummaryWriter(target)
    try:
        if callable(summary_op):
            summary_op(writer, step)
        else:
            for name, value in (values or {}).items():
                if isinstance(value, (int, float)):
                    writer.scalar(name, value, step)
            if recorded:
                writer.write_summaries(step)
    finally:
        if writer is not target:
            writer.close()
        else:
            writer.flush()
