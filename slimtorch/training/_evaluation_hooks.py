"""The ``hooks`` of ``slim.evaluation``'s functions: TF's session-run hooks,
eagerly.

A hook is an object with optional ``begin()`` (before each evaluation, the
checkpoint restored) and ``end()`` (after it, the final values computed)
methods, or a plain function, called like ``end()``. TF passed a session to
``end(session)``; there is none eagerly, so they take no argument.

Two of TF's hooks are settings rather than code, and read as such:
:class:`StopAfterNEvalsHook` (how many batches) and :class:`SummaryAtEndHook`
(where the summaries go).
"""

from __future__ import annotations

from typing import Optional

__all__ = ["StopAfterNEvalsHook", "SummaryAtEndHook", "hook_settings", "run_hooks"]


class StopAfterNEvalsHook:
    """TF's ``StopAfterNEvalsHook``: an evaluation runs ``num_evals`` batches.

        >>> StopAfterNEvalsHook(5).num_evals
        5
    """

    def __init__(self, num_evals: int, log_progress: bool = True) -> None:
        if num_evals is None or int(num_evals) <= 0:
            raise ValueError(f"StopAfterNEvalsHook: num_evals must be > 0, got {num_evals}")
        self.num_evals = int(num_evals)
        self.log_progress = log_progress


class SummaryAtEndHook:
    """TF's ``SummaryAtEndHook``: at the end of each evaluation, the summaries
    (those recorded with ``slim.summaries`` while evaluating, and the metric
    values) are written to ``log_dir`` at the checkpoint's global step.

    Args:
        log_dir: where the event files go.
        summary_writer: a :class:`slimtorch.summaries.SummaryWriter` to write
            with instead (left open).
        summary_op: None (the default summaries) or ``summary_op(writer,
            global_step)`` writing its own.
        feed_dict: TF's feeds; must be None eagerly.

    Raises:
        ValueError: neither ``log_dir`` nor ``summary_writer``.

        >>> SummaryAtEndHook(log_dir='/tmp/eval').log_dir
        '/tmp/eval'
    """

    def __init__(self, log_dir: Optional[str] = None, summary_writer=None, summary_op=None,
                 feed_dict=None) -> None:
        if log_dir is None and summary_writer is None:
            raise ValueError("One of log_dir or summary_writer should be used.")
        if feed_dict is not None:
            raise TypeError("SummaryAtEndHook: feed_dict has no meaning eagerly (no placeholders)")
        self.log_dir, self.summary_writer, self.summary_op = log_dir, summary_writer, summary_op


def hook_settings(hooks) -> tuple:
    """``(num_evals or None, summary hook or None, the other hooks)`` of a
    hook list: the fewest batches any :class:`StopAfterNEvalsHook` allows, the
    last :class:`SummaryAtEndHook`.

        >>> n, summary, others = hook_settings([StopAfterNEvalsHook(3), print])
        >>> n, summary, others
        (3, None, [<built-in function print>])
    """
    num_evals, summary, others = None, None, []
    for hook in hooks or ():
        if isinstance(hook, StopAfterNEvalsHook):
            num_evals = hook.num_evals if num_evals is None else min(num_evals, hook.num_evals)
        elif isinstance(hook, SummaryAtEndHook):
            summary = hook
        elif callable(hook) or hasattr(hook, "begin") or hasattr(hook, "end"):
            others.append(hook)
        else:
            raise TypeError("evaluation hooks must be functions or objects with begin() / end() "
                            f"methods; got {type(hook).__name__}")
    return num_evals, summary, others


def run_hooks(hooks, when: str) -> None:
    """Calls ``hook.begin()`` or ``hook.end()`` (``when``) of each hook that
    has it; a plain function counts as ``end``.

        >>> calls = []
        >>> run_hooks([lambda: calls.append('fn')], 'begin'); calls
        []
        >>> run_hooks([lambda: calls.append('fn')], 'end'); calls
        ['fn']
    """
    for hook in hooks:
        method = getattr(hook, when, None)
        if method is not None:
            method()
        elif when == "end" and callable(hook):
            hook()
