"""Crash-safe file replacement: write a temp file beside the target, fsync,
``os.replace``, fsync the directory.

A reader never sees a half-written file under the final name, and a crash at
any moment leaves either the old file or the new one (TF's BundleWriter and
PyTorch DCP commit the same way). The temp file lives in the target's
directory because a rename across file systems is not atomic.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_write(os.path.join(d, 'state')) as f:
    ...     _ = f.write(b'v1')
    >>> open(os.path.join(d, 'state'), 'rb').read(), os.listdir(d)
    (b'v1', ['state'])
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

__all__ = ["TMP_MARKER", "atomic_path", "atomic_write", "fsync_directory", "is_temp_file"]

TMP_MARKER = ".tmp-"


def is_temp_file(name: str) -> bool:
    """Whether ``name`` is an unfinished write (readers and cleanup skip these)."""
    return TMP_MARKER in os.path.basename(name)


def fsync_directory(directory: str) -> None:
    """Makes a rename in ``directory`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "wb") -> Iterator:
    """Opens a temp file for writing; on success it replaces ``path``.

    On an exception the temp file is removed and ``path`` is untouched. Errors
    (disk full, permission denied) propagate as ``OSError`` naming ``path``.
    """
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            yield f


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Like :func:`atomic_write` for writers that want a file name
    (``safetensors.torch.save_file``): yields the temp path to write."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = f"{path}{TMP_MARKER}{os.getpid()}"
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(error, OSError) and path not in str(error):
            raise OSError(error.errno, f"could not write {path}: {error.strerror or error}") from error
        raise
    fsync_directory(directory)
