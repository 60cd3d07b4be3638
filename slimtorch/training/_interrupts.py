"""Stopping a run on Ctrl-C (SIGINT) or SIGTERM without losing work.

A long loop (``slim.learning.train``, ``slim.evaluation.evaluation_loop``)
runs under :class:`SignalCatcher`: the first signal only sets a flag, which
the loop reads between steps; it then finishes cleanly (checkpoint, writers
closed) and raises :class:`Interrupted`. That is a ``SystemExit``, so a
script exits with the shell's code for the signal (130 for SIGINT, 143 for
SIGTERM) and one line of explanation instead of a traceback, while code that
wants to go on can catch it. A second signal aborts at once
(``KeyboardInterrupt``) unless the loop is inside :meth:`SignalCatcher.critical`
(writing a checkpoint), where it waits for the write to end; writes are
atomic anyway, so even a SIGKILL leaves the previous checkpoint whole.

    >>> import os, signal
    >>> with SignalCatcher() as catcher:
    ...     os.kill(os.getpid(), signal.SIGINT)
    ...     catcher.received
    2
    >>> raise Interrupted(signal.SIGTERM, "interrupted at global step 7")
    Traceback (most recent call last):
    ...
    slimtorch.training._interrupts.Interrupted: interrupted at global step 7
    >>> Interrupted(signal.SIGTERM, "").code
    143
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional

__all__ = ["Interrupted", "SignalCatcher"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(SystemExit):
    """A run stopped by a signal after saving its work.

    ``code`` is ``128 + signum`` (what a shell reports for a process the
    signal ended); ``signum`` and ``message`` (the one line printed) are kept.
    """

    def __init__(self, signum: int, message: str):
        super().__init__(128 + int(signum))
        self.signum = int(signum)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SignalCatcher:
    """Turns SIGINT / SIGTERM into a flag for the duration of a ``with`` block.

    ``received`` is the first signal's number (None until one arrives).
    Handlers are installed only in the main thread (Python allows no other);
    elsewhere the block catches nothing and the process's own handling
    stands. The previous handlers are restored on exit.
    """

    def __init__(self) -> None:
        self.received: Optional[int] = None
        self._previous: dict = {}
        self._critical = 0
        self._deferred: Optional[int] = None

    def __enter__(self) -> "SignalCatcher":
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self.received is None:
            self.received = signum
        elif self._critical:
            self._deferred = signum          # abort once the write is done
        else:
            raise KeyboardInterrupt(f"second signal {signal.Signals(signum).name}: aborting")

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """A section a second signal must not cut short (a checkpoint write)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
            if not self._critical and self._deferred is not None:
                signum, self._deferred = self._deferred, None
                raise KeyboardInterrupt(f"second signal {signal.Signals(signum).name}: aborting")

    @property
    def signal_name(self) -> Optional[str]:
        """``'SIGINT'`` / ``'SIGTERM'`` once a signal arrived."""
        return None if self.received is None else signal.Signals(self.received).name
