"""TF's ``checkpoint`` state file: which checkpoint is the latest, which are kept.

The file is protobuf text format, exactly as TensorFlow writes it, so
TensorBoard and TF tools read slimtorch directories and ``latest_checkpoint``
reads TF training directories:

    model_checkpoint_path: "model.ckpt-2000.safetensors"
    all_model_checkpoint_paths: "model.ckpt-1000.safetensors"
    all_model_checkpoint_paths: "model.ckpt-2000.safetensors"

Paths are stored relative to the directory. It is rewritten atomically, and
readers trust only it (never a directory listing), so a half-written or
rotated-away checkpoint is never named.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> update_checkpoint_state(d, 'model.ckpt-10.safetensors', ['model.ckpt-10.safetensors'])
    >>> state = get_checkpoint_state(d)
    >>> state.model_checkpoint_path == os.path.join(d, 'model.ckpt-10.safetensors')
    True
    >>> latest_checkpoint(d) is None  # the state file names a file that was never written
    True
"""

from __future__ import annotations

import os
import re
from typing import NamedTuple, Optional

from slimtorch._io.atomic import atomic_write

from .errors import CheckpointError

__all__ = ["CheckpointState", "STATE_FILENAME", "get_checkpoint_state", "latest_checkpoint",
           "update_checkpoint_state"]

STATE_FILENAME = "checkpoint"
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_FIELDS = ("model_checkpoint_path", "all_model_checkpoint_paths")
_NUMERIC_FIELDS = ("all_model_checkpoint_timestamps", "last_preserved_timestamp")  # newer TF


class CheckpointState(NamedTuple):
    """``model_checkpoint_path`` (latest) and ``all_model_checkpoint_paths``
    (oldest first), as absolute paths."""

    model_checkpoint_path: str
    all_model_checkpoint_paths: list


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def get_checkpoint_state(directory: str) -> Optional[CheckpointState]:
    """Parses ``<directory>/checkpoint``; None if there is none.

    Raises:
        CheckpointError: the file exists but is not a checkpoint state file.
    """
    path = os.path.join(directory, STATE_FILENAME)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read checkpoint state file: {error}") from error
    latest, kept = None, []
    for number, line in enumerate(text.splitlines(), 1):
        key, colon, raw = line.partition(":")
        key = key.strip()
        if not line.strip() or key in _NUMERIC_FIELDS:
            continue
        match = _QUOTED.match(raw.strip())
        if not colon or key not in _FIELDS or not match:
            raise CheckpointError(f"{path}:{number}: not a checkpoint state line: {line!r}")
        value = os.path.join(directory, _unquote(match.group(1)))
        if key == "model_checkpoint_path":
            latest = value
        else:
            kept.append(value)
    if latest is None:
        raise CheckpointError(f"{path}: no model_checkpoint_path")
    if latest not in kept:
        kept.append(latest)
    return CheckpointState(latest, kept)


def latest_checkpoint(directory: str) -> Optional[str]:
    """The path of the latest checkpoint in ``directory`` (TF's
    ``tf.train.latest_checkpoint``), or None if none was saved (or the state
    file names a checkpoint that no longer exists)."""
    state = get_checkpoint_state(directory)
    if state is None:
        return None
    path = state.model_checkpoint_path
    exists = os.path.exists(path) or os.path.exists(path + ".index") or os.path.exists(path + ".meta")
    return path if exists else None


def update_checkpoint_state(directory: str, latest: str, all_paths) -> None:
    """Atomically rewrites ``<directory>/checkpoint``; ``latest`` is appended to
    ``all_paths`` (oldest first) if absent. Paths may be absolute or relative."""
    def rel(path):
        return os.path.relpath(path, directory) if os.path.isabs(path) else path
    kept = [rel(p) for p in all_paths]
    if rel(latest) not in kept:
        kept.append(rel(latest))
    lines = [f"model_checkpoint_path: {_quote(rel(latest))}"]
    lines += [f"all_model_checkpoint_paths: {_quote(p)}" for p in kept]
    with atomic_write(os.path.join(directory, STATE_FILENAME), "w") as f:
        f.write("\n".join(lines) + "\n")
