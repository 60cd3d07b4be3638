"""Crash-safe file replacement: write a temp file beside the target, fsync,
``os.replace``, fsync the directory.

A reader never sees a half-written file under the final name, and a crash at
any moment leaves either the old file or the new one (TF's BundleWriter and
PyTorch DCP commit the same way). The temp file lives in the target's
directory because a rename across file systems is not atomic.

Temp names say whose write they are (``<name>.tmp-<host>-<pid>``), so what
a killed process leaves behind can be told from a live one's write and
deleted on the next start (:func:`remove_abandoned_writes`). Writers that
want a file name (:func:`atomic_path`) may make temp files of their own
beside it: ``safetensors.torch.save_file`` writes an anonymous
``.tmpXXXXXX`` first. Those writes happen in a private staging directory
(``.slimtorch-write-<host>-<pid>-<random>``), so that a killed write leaves
nothing anonymous (a checkpoint-sized file, kept forever).

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_write(os.path.join(d, 'state')) as f:
    ...     _ = f.write(b'v1')
    >>> open(os.path.join(d, 'state'), 'rb').read(), os.listdir(d)
    (b'v1', ['state'])
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import tempfile
from typing import Iterator, List, Tuple

__all__ = ["STAGING_PREFIX", "TMP_MARKER", "atomic_path", "atomic_write", "fsync_directory",
           "is_temp_file", "remove_abandoned_writes", "unfinished_writes"]

TMP_MARKER = ".tmp-"   # <name>.tmp-<host>-<pid> (other writers' <name>.tmp-<pid> too)
STAGING_PREFIX = ".slimtorch-write-"   # + <host>-<pid>-<random>: a directory
_OS_ERROR_CODE = re.compile(r"os error (\d+)")   # how Rust (safetensors) reports errno


def is_temp_file(name: str) -> bool:
    """Whether ``name`` is an unfinished write (readers and cleanup skip these).

        >>> is_temp_file('/run/model.ckpt-5.safetensors'), is_temp_file('/run/x.tmp-77')
        (False, True)
    """
    base = os.path.basename(name)
    return TMP_MARKER in base or base.startswith(STAGING_PREFIX)


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


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _owner() -> str:
    return f"{_host()}-{os.getpid()}"


def _staging_directory(directory: str) -> str:
    """A new, private directory for one write (its name says whose it is)."""
    return tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{_owner()}-", dir=directory)


@contextlib.contextmanager
def atomic_write(path: str, mode: str = "wb") -> Iterator:
    """Opens a temp file for writing; on success it replaces ``path``.

    On an exception the temp file is removed and ``path`` is untouched. Errors
    (disk full, permission denied) propagate as ``OSError`` naming ``path``.
    """
    tmp = f"{path}{TMP_MARKER}{_owner()}"
    with _committing(path, tmp, staging=None):
        with open(tmp, mode) as f:
            yield f


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Like :func:`atomic_write` for writers that want a file name
    (``safetensors.torch.save_file``): yields the temp path to write, in a
    staging directory of its own (see the module docstring).

    Raises:
        OSError: the write failed (disk full, permission denied, ...): its
            message names ``path``; nothing is left behind and ``path`` is
            untouched. Writers that report I/O errors as their own exception
            types (safetensors' ``SafetensorError``) are turned into
            ``OSError`` with the errno they name.
    """
    try:
        staging = _staging_directory(os.path.dirname(os.path.abspath(path)))
    except OSError as error:
        raise _naming(error, path) from error
    with _committing(path, os.path.join(staging, os.path.basename(path)), staging):
        yield os.path.join(staging, os.path.basename(path))


@contextlib.contextmanager
def _committing(path: str, tmp: str, staging) -> Iterator[None]:
    """Runs the write of ``tmp``, then fsyncs it and renames it to ``path``;
    on any error removes what the write left and re-raises it naming ``path``."""
    try:
        yield
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        named = _naming(error, path)
        if named is error:
            raise
        raise named from error
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)   # empty: the file is committed already
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def _naming(error: BaseException, path: str) -> BaseException:
    """``error`` as an ``OSError`` whose message names ``path`` (if it is an
    I/O error), else ``error`` itself."""
    if isinstance(error, OSError):
        if f"could not write {path}" in str(error):
            return error
        code = error.errno
        reason = error.strerror or str(error)
    else:
        match = _OS_ERROR_CODE.search(str(error))
        if match is None:
            return error
        code = int(match.group(1))
        reason = os.strerror(code)
    return OSError(code, f"could not write {path}: {reason}")


def unfinished_writes(directory: str) -> List[Tuple[str, int]]:
    """``(name, pid)`` of every unfinished write in ``directory`` by a
    process of this host: temp files and staging directories, in progress
    or abandoned by a killed process.

        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> with atomic_write(os.path.join(d, 'state')) as f:
        ...     [pid for _, pid in unfinished_writes(d)] == [os.getpid()]
        True
    """
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    host, found = _host(), []
    for name in names:
        if name.startswith(f"{STAGING_PREFIX}{host}-"):
            pid = name[len(STAGING_PREFIX) + len(host) + 1:].split("-", 1)[0]
        elif f"{TMP_MARKER}{host}-" in name:
            pid = name.rsplit("-", 1)[1]
        else:
            continue
        if pid.isdigit():
            found.append((name, int(pid)))
    return found


def remove_abandoned_writes(directory: str) -> list:
    """Deletes the unfinished writes of processes on this host that no
    longer run (killed mid-write); returns their names. Writes of live
    processes, and of other hosts (a shared file system), are left alone.

        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> dead = 'model.ckpt-3.safetensors' + TMP_MARKER + _host() + '-999999999'
        >>> open(os.path.join(d, dead), 'wb').close()
        >>> remove_abandoned_writes(d) == [dead], os.listdir(d)
        (True, [])
    """
    removed = []
    for name, pid in unfinished_writes(directory):
        if pid == os.getpid() or _alive(pid):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)
        removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError as error:   # EPERM: it exists, as another user's process
        return error.errno == errno.EPERM
    return True
