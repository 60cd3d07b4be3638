"""One trainer per training directory: :class:`TrainDirLock`.

Two trainers writing checkpoints into one ``logdir`` would silently
overwrite each other's files and interleave their state files, so
``slim.learning.train`` takes this lock first (the chief only, under
torchrun). The lock is a small JSON file, ``<logdir>/train.lock``, naming its
holder (host, pid, when, command), written atomically and deleted when the
trainer ends, whichever way it ends. A second trainer gets a
:class:`TrainDirLockedError` whose one-line message names the holder and
says what to do.

A process killed with SIGKILL cannot delete its lock. The next trainer on
the same host sees that the holder is gone (no such pid, a zombie, or the
pid now belongs to a process started later) and takes the lock over with a
warning; so "kill it and run the same command again" keeps working. A
holder on another host cannot be checked from here: its lock stands until
it is deleted by hand.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> with TrainDirLock(d) as lock:
    ...     os.path.basename(lock.path), lock.holder()['pid'] == os.getpid()
    ...     try:
    ...         TrainDirLock(d).acquire()
    ...     except TrainDirLockedError as error:
    ...         'is in use by another trainer (host' in str(error)
    ('train.lock', True)
    True
    >>> os.listdir(d)   # released
    []
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
import uuid
from typing import Iterator, Optional

from slimtorch._io.atomic import atomic_write

__all__ = ["LOCK_FILENAME", "TrainDirLock", "TrainDirLockedError"]

logger = logging.getLogger(__name__)

LOCK_FILENAME = "train.lock"

# Locks this process holds, by real path: a second trainer in another thread
# of this process has the holder's pid, yet must be refused like any other.
_held: dict = {}
_held_guard = threading.Lock()


class TrainDirLockedError(RuntimeError):
    """Another trainer holds the training directory's lock.

    The message is one line: the directory, the holder (host, pid, since
    when, its command) and what to do. ``holder`` is the lock file's content
    (a dict), ``path`` the lock file.
    """

    def __init__(self, message: str, path: str = "", holder: Optional[dict] = None):
        super().__init__(message)
        self.path = path
        self.holder = holder or {}


def _process_start(pid: int) -> Optional[str]:
    """When ``pid`` started (Linux: field 22 of ``/proc/<pid>/stat``, in clock
    ticks since boot), to tell a pid from a later process that reused it;
    None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> Optional[str]:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0] if fields else None


def _alive(pid: int, started: Optional[str]) -> bool:
    """Whether the process that wrote a lock (``pid``, started at
    ``started`` if known) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass   # it exists, as another user's process
    except OSError:
        return True   # cannot tell: assume alive, never steal a live lock
    if _process_state(pid) in ("Z", "X"):
        return False   # killed, not yet reaped by its parent
    now_started = _process_start(pid)
    return started is None or now_started is None or now_started == started


def _describe(holder: dict) -> str:
    since = holder.get("since") or "an unknown time"
    command = holder.get("command")
    where = f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, since {since}"
    return where + (f", command: {command}" if command else "")


class TrainDirLock:
    """An exclusive lock on a training directory for one trainer.

    Use as a context manager, or :meth:`acquire` / :meth:`release`.
    Acquiring creates ``directory`` if needed. Where the lock file cannot be
    written (a read-only directory) a warning says so and the lock is not
    :attr:`held`: the trainer's first checkpoint then fails, or warns, as it
    would have without the lock.

    Args:
        directory: the training directory (``logdir``).

    Raises (acquire):
        TrainDirLockedError: a live trainer (this host), or any trainer on
            another host, holds it.
    """

    def __init__(self, directory: str) -> None:
        self.directory = os.fspath(directory)
        self.path = os.path.join(self.directory, LOCK_FILENAME)
        self._token: Optional[str] = None

    @property
    def held(self) -> bool:
        return self._token is not None

    def holder(self) -> Optional[dict]:
        """The lock file's content (None: no lock file; ``{}``: unreadable)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return None
        except OSError:
            return {}
        try:
            holder = json.loads(text)
        except ValueError:
            return {}
        return holder if isinstance(holder, dict) else {}

    def acquire(self) -> "TrainDirLock":
        if self.held:
            return self
        os.makedirs(self.directory, exist_ok=True)
        key = os.path.realpath(self.path)
        with _held_guard, self._directory_mutex():
            holder = self.holder()
            if holder is not None:
                reason = self._stale(holder, key)
                if reason is None:
                    raise TrainDirLockedError(
                        f"train: {self.directory} is in use by another trainer "
                        f"({_describe(holder)}); wait for it to end or stop it, or train into "
                        f"another logdir/--train_dir; if no trainer runs there, delete {self.path}",
                        self.path, holder)
                logger.warning("train: taking over the lock %s left by a trainer that is gone "
                               "(%s): %s", self.path, _describe(holder), reason)
            token = uuid.uuid4().hex
            content = {"host": socket.gethostname(), "pid": os.getpid(),
                       "process_start": _process_start(os.getpid()),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S %z"),
                       "command": " ".join(shlex.quote(a) for a in sys.argv) or None,
                       "token": token}
            try:
                with atomic_write(self.path, "w") as f:
                    json.dump(content, f)
            except OSError as error:
                # A directory that takes no lock file takes no checkpoint
                # either: the save then fails (or warns) as it always did.
                logger.warning("train: could not lock %s, training without a lock (%s)",
                               self.directory, error.strerror or error)
                return self
            self._token = token
            _held[key] = token
        return self

    def _stale(self, holder: dict, key: str) -> Optional[str]:
        """Why the lock of ``holder`` may be taken over, or None if it may not."""
        if not holder:
            return "the lock file is unreadable"
        if holder.get("host") != socket.gethostname():
            return None   # another machine: nothing here can tell whether it runs
        pid = holder.get("pid")
        if not isinstance(pid, int):
            return "the lock file names no pid"
        if pid == os.getpid():
            # This process: held by another of its threads, or left by an
            # earlier process that had the same pid (a container's pid 1).
            return None if _held.get(key) == holder.get("token") else \
                "an earlier process with this pid"
        if not _alive(pid, holder.get("process_start")):
            return f"pid {pid} no longer runs"
        return None

    @contextlib.contextmanager
    def _directory_mutex(self) -> Iterator[None]:
        """Serializes "read the lock, decide, write it" between processes on
        this host (flock on the directory); without flock (another OS, some
        network file systems) the write is still atomic, only two takeovers
        of one stale lock at the same instant could both succeed."""
        try:
            import fcntl
            fd = os.open(self.directory, os.O_RDONLY)
        except (ImportError, OSError):
            yield
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                pass
            yield
        finally:
            os.close(fd)   # closing releases the flock

    def release(self) -> None:
        """Deletes the lock file if it is still this lock's (a no-op if not held)."""
        if not self.held:
            return
        key = os.path.realpath(self.path)
        with _held_guard:
            holder = self.holder()
            if holder and holder.get("token") == self._token:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)
            if _held.get(key) == self._token:
                del _held[key]
            self._token = None

    def __enter__(self) -> "TrainDirLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"TrainDirLock({self.directory!r}, held={self.held})"
