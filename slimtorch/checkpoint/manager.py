"""A checkpoint directory that works like TF's: numbered files, a ``checkpoint``
state file naming the latest and the kept ones, the newest N kept.

Every file is committed atomically, in an order that keeps the directory
consistent at every instant: the trainer-state companion, then the weights,
then the state file; only then are old checkpoints deleted (companion first),
then dropped from the state file. A crash at any point leaves the previous
latest checkpoint readable and named. What a crash can leave behind is
cleaned up when the next manager opens the directory: the staging
directories of writes that never finished, and names of rotated-away
checkpoints whose files are gone. (A checkpoint written completely but not
yet named by the state file is not "saved": it is never resumed from, and
the resumed run writes it again.)

    >>> import tempfile
    >>> manager = CheckpointManager(tempfile.mkdtemp(), max_to_keep=2)
    >>> for step in (10, 20, 30):
    ...     _ = manager.save({'w': torch.full((2,), float(step))}, global_step=step)
    >>> [os.path.basename(p) for p in manager.checkpoints]
    ['model.ckpt-20.safetensors', 'model.ckpt-30.safetensors']
    >>> sorted(os.listdir(manager.directory))
    ['checkpoint', 'model.ckpt-20.safetensors', 'model.ckpt-30.safetensors']
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Mapping, Optional

import torch

from slimtorch._io.atomic import remove_abandoned_writes

from .errors import CheckpointError
from .safetensors_store import save_checkpoint
from .state_file import get_checkpoint_state, update_checkpoint_state

__all__ = ["CheckpointManager", "checkpoint_problem", "trainer_state_path"]

logger = logging.getLogger(__name__)

_SUFFIX = ".safetensors"
_TRAINER_SUFFIX = ".trainer.safetensors"


def trainer_state_path(checkpoint_path: str) -> str:
    """The companion file holding optimizer/trainer state for a weights file
    (what goes in it is ``slimtorch.training.TrainerState``'s business; the
    manager only names, commits and rotates it with the weights).

        >>> trainer_state_path('/run/model.ckpt-100.safetensors')
        '/run/model.ckpt-100.trainer.safetensors'
    """
    base = checkpoint_path[: -len(_SUFFIX)] if checkpoint_path.endswith(_SUFFIX) else checkpoint_path
    return base + _TRAINER_SUFFIX


def checkpoint_problem(path: str) -> Optional[str]:
    """Why the checkpoint ``path`` cannot be resumed from, naming the bad
    file (``'<file>: <reason>'``), or None if its weights and its
    trainer-state companion (if it has one) open as complete files. Cheap:
    headers and sizes are checked, tensors are not read (a truncated
    safetensors file no longer covers the sizes its header promises).

        >>> import tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), 'model.ckpt-1.safetensors')
        >>> save_checkpoint(path, {'w': torch.ones(1000)}, global_step=1)
        >>> checkpoint_problem(path) is None
        True
        >>> with open(path, 'r+b') as f:
        ...     _ = f.truncate(os.path.getsize(path) - 1)
        >>> print(checkpoint_problem(path))
        /...model.ckpt-1.safetensors: not a readable safetensors file: ...
    """
    from .readers import load_checkpoint   # readers import this package's state file
    companion = trainer_state_path(path)
    for name in (path, companion) if os.path.exists(companion) else (path,):
        try:
            with load_checkpoint(name) as reader:
                reader.get_variable_to_shape_map()
        except (CheckpointError, OSError) as error:
            text = str(error)
            return text if text.startswith(name) else f"{name}: {text}"
    return None


def _checkpoint_exists(path: str) -> bool:
    """A slimtorch file, or a TF checkpoint prefix (the directory may be TF's)."""
    return any(os.path.exists(path + suffix) for suffix in ("", ".index", ".meta"))


class CheckpointManager:
    """Saves numbered checkpoints into ``directory`` and keeps the newest.

    Args:
        directory: created if needed. An existing state file is continued, so a
            resumed run keeps rotating the same list.
        max_to_keep: how many recent checkpoints to keep (None or 0: all), TF's
            default 5.
        keep_checkpoint_every_n_hours: additionally never delete one checkpoint
            per this many hours (TF's ``Saver`` option).
        basename: file name stem, ``model.ckpt`` as in TF-Slim.
    """

    def __init__(self, directory: str, max_to_keep: Optional[int] = 5,
                 keep_checkpoint_every_n_hours: Optional[float] = None,
                 basename: str = "model.ckpt") -> None:
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.max_to_keep = max_to_keep
        self.keep_every_s = None if keep_checkpoint_every_n_hours is None \
            else keep_checkpoint_every_n_hours * 3600.0
        self.basename = basename
        remove_abandoned_writes(self.directory)   # a killed run's unfinished writes
        state = get_checkpoint_state(self.directory)
        # A crash after rotation deleted files but before the state file
        # dropped them leaves names without files.
        self._kept: list = [p for p in state.all_model_checkpoint_paths
                            if _checkpoint_exists(p)] if state else []
        self._last_preserved = time.time()

    @property
    def checkpoints(self) -> list:
        """Kept checkpoint paths, oldest first."""
        return list(self._kept)

    @property
    def latest_checkpoint(self) -> Optional[str]:
        return self._kept[-1] if self._kept else None

    def latest_complete_checkpoint(self) -> Optional[str]:
        """The newest kept checkpoint that :func:`checkpoint_problem` finds
        complete (weights and trainer-state companion), or None if none is
        kept. A newer one that is truncated or unreadable (a disk that
        filled up, a copy cut short) is skipped with a warning naming the bad
        file, and forgotten: the next save drops it from the state file. Its
        files are left for inspection (saving the same step replaces them).

        Raises:
            CheckpointError: checkpoints are kept but none of them reads.
        """
        problems = []
        for path in reversed(self._kept):
            problem = checkpoint_problem(path)
            if problem is None:
                break
            problems.append((path, problem))
        else:
            path = None
        if problems and path is None:
            raise CheckpointError(f"none of the {len(problems)} checkpoints in {self.directory} "
                                  f"reads ({'; '.join(p for _, p in problems)}); move them away "
                                  "(or the whole directory) to start fresh")
        for bad, problem in problems:
            logger.warning("checkpoint %s is truncated or unreadable (%s); using the newest "
                           "complete one instead, %s (the bad file is left in place)",
                           os.path.basename(bad), problem, path)
        bad = {p for p, _ in problems}
        self._kept = [p for p in self._kept if p not in bad]
        return path

    def path_for(self, global_step: int) -> str:
        return os.path.join(self.directory, f"{self.basename}-{int(global_step)}{_SUFFIX}")

    def save(self, tensors: Mapping[str, torch.Tensor], global_step: int,
             trainer_state: Optional[Mapping[str, torch.Tensor]] = None,
             trainer_metadata: Optional[Mapping[str, str]] = None,
             metadata: Optional[Mapping[str, str]] = None) -> str:
        """Writes ``model.ckpt-<global_step>.safetensors`` (and the trainer-state
        companion), makes it the latest, deletes checkpoints beyond
        ``max_to_keep``; returns its path.

        Raises:
            OSError: naming the file that could not be written; the previous
                checkpoint stays the latest and intact.
        """
        path = self.path_for(global_step)
        companion = trainer_state_path(path)
        try:
            if trainer_state is not None:
                save_checkpoint(companion, trainer_state, global_step, trainer_metadata)
            save_checkpoint(path, tensors, global_step, metadata)
            kept = [p for p in self._kept if p != path] + [path]
            _write_state(self.directory, path, kept)
        except BaseException:
            if path not in self._kept:
                self._remove(path, companion)
            raise
        self._kept = kept
        try:
            self._rotate()
        except OSError as error:   # the new checkpoint is saved; the next save rotates again
            logger.warning("CheckpointManager: could not remove old checkpoints: %s", error)
        return path

    def _rotate(self) -> None:
        if not self.max_to_keep or len(self._kept) <= self.max_to_keep:
            return
        dropped = self._kept[:-self.max_to_keep]
        self._kept = self._kept[-self.max_to_keep:]
        # Files first, then the state file: a crash in between leaves names
        # without files (dropped on the next start), never files nobody names.
        for oldest in dropped:
            if not self._preserve(oldest):
                self._remove(trainer_state_path(oldest), oldest)
        _write_state(self.directory, self._kept[-1], self._kept)

    def _preserve(self, path: str) -> bool:
        if self.keep_every_s is None:
            return False
        try:
            saved_at = os.path.getmtime(path)
        except OSError:
            return False
        if saved_at - self._last_preserved >= self.keep_every_s:
            self._last_preserved = saved_at
            return True
        return False

    @staticmethod
    def _remove(*paths: str) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def _write_state(directory: str, latest: str, kept: list) -> None:
    """The state file naming ``latest`` and ``kept``. They are paths under
    ``directory`` as the caller spelled it (relative to the working directory
    when ``directory`` is); the file stores them relative to ``directory``."""
    update_checkpoint_state(directory, os.path.abspath(latest), [os.path.abspath(p) for p in kept])
