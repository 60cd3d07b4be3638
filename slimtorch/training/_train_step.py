"""TF-Slim's ``train_step``: the function ``slim.learning.train`` calls for
each step, which a user may replace (``train(..., train_step_fn=...)``) to run
validation or other logic inside the loop.

TF-Slim called ``train_step_fn(sess, train_op, global_step,
train_step_kwargs)``; eagerly there is no session, and what a step runs on
is its batch, so the batch takes the session's place and the other
arguments keep theirs. A TF-Slim wrapper that forwards its arguments,

    >>> def train_step_fn(batch, train_op, global_step, train_step_kwargs):
    ...     total_loss, should_stop = slim.learning.train_step(
    ...         batch, train_op, global_step, train_step_kwargs)
    ...     if int(global_step) % 100 == 0:
    ...         pass   # validate here
    ...     return total_loss, should_stop

ports unchanged. The entries of ``train_step_kwargs`` that TF evaluated with
``sess.run`` (``should_stop``, ``should_log``, ``should_trace``) are
functions of no argument (or plain booleans), evaluated when TF evaluated
them: ``should_trace`` before the step, the others after it.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Optional

import torch

__all__ = ["default_train_step_kwargs", "train_step"]

logger = logging.getLogger("slimtorch.learning")


def _truth(value) -> bool:
    """A ``train_step_kwargs`` entry's value now: call a function, read a tensor."""
    if callable(value):
        value = value()
    return bool(value.item() if isinstance(value, torch.Tensor) else value)


def _step_value(global_step) -> Optional[int]:
    return int(global_step) if global_step is not None else None


def train_step(batch, train_op, global_step, train_step_kwargs: dict):
    """TF-Slim's ``train_step``: runs ``train_op`` on ``batch`` (one gradient
    step), logs and traces as ``train_step_kwargs`` asks, and says whether to
    stop.

    Args:
        batch: this step's batch (TF-Slim's ``sess``: what the step runs on).
        train_op: a :class:`TrainOp` (``create_train_op``, ``optimize_loss``).
        global_step: the global step variable (may be None).
        train_step_kwargs: a dict; ``slim.learning.train`` makes it (see
            :func:`default_train_step_kwargs`). Entries used here:
            ``should_trace`` (before the step; needs ``logdir``): write a
            Chrome trace of the step, ``<logdir>/tf_trace-<global step>.json``
            (``torch.profiler``); ``should_log`` (after): log ``global step
            N: loss = ... (x sec/step)``; ``should_stop`` (after): returned.

    Returns:
        ``(total_loss, should_stop)``: the loss (a detached tensor) and a bool.

    Raises:
        ValueError: ``should_trace`` without ``logdir`` in ``train_step_kwargs``.

    Example:
        >>> net = slim.Model(lambda x: slim.fully_connected(x, 1, scope='fc'))
        >>> train_op = slim.learning.create_train_op(
        ...     lambda x: net(x).pow(2).mean(), lambda p: torch.optim.SGD(p, lr=0.1))
        >>> step = slim.get_or_create_global_step()
        >>> kwargs = {'should_stop': lambda: int(step) >= 2}
        >>> [train_step(torch.ones(4, 3), train_op, step, kwargs)[1] for _ in range(2)]
        [False, True]
    """
    start_time = time.time()
    trace = False
    if "should_trace" in train_step_kwargs:
        if "logdir" not in train_step_kwargs:
            raise ValueError("logdir must be present in train_step_kwargs when should_trace is "
                             "present")
        trace = _truth(train_step_kwargs["should_trace"])
    if trace:
        trace_step = _step_value(global_step)
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as profile:
            total_loss = train_op(batch)
        path = os.path.join(train_step_kwargs["logdir"], f"tf_trace-{trace_step or 0}.json")
        logger.info("Writing trace to %s", path)
        profile.export_chrome_trace(path)
    else:
        total_loss = train_op(batch)
    time_elapsed = time.time() - start_time
    if "should_log" in train_step_kwargs and _truth(train_step_kwargs["should_log"]):
        logger.info("global step %d: loss = %.4f (%.3f sec/step)",
                    _step_value(global_step) or 0, float(total_loss), time_elapsed)
    should_stop = _truth(train_step_kwargs["should_stop"]) \
        if "should_stop" in train_step_kwargs else False
    return total_loss, should_stop


def default_train_step_kwargs(global_step, number_of_steps: Optional[int],
                              log_every_n_steps: int, trace_every_n_steps: Optional[int] = None,
                              logdir: Optional[str] = None, is_chief: bool = True) -> dict:
    """The ``train_step_kwargs`` ``slim.learning.train`` passes by default, as
    TF-Slim builds them: ``should_stop`` (global step >= ``number_of_steps``),
    ``should_log`` (every ``log_every_n_steps``, if > 0), and on the chief
    ``should_trace`` (every ``trace_every_n_steps``) with ``logdir``. Each is
    a function of no argument reading the global step when called.

        >>> step = slim.get_or_create_global_step()
        >>> kwargs = default_train_step_kwargs(step, number_of_steps=3, log_every_n_steps=2)
        >>> sorted(kwargs), kwargs['should_stop'](), kwargs['should_log']()
        (['should_log', 'should_stop'], False, True)
    """
    def read():
        return int(global_step() if callable(global_step) else global_step)

    kwargs = {"should_stop": (lambda: read() >= number_of_steps) if number_of_steps
              else (lambda: False)}
    if log_every_n_steps > 0:
        kwargs["should_log"] = lambda: read() % log_every_n_steps == 0
    if is_chief and trace_every_n_steps is not None:
        kwargs["should_trace"] = lambda: read() % trace_every_n_steps == 0
        kwargs["logdir"] = logdir
    return kwargs
