"""Where pretrained weights live on disk, and how they get there.

One folder per user, like torch.hub's and Hugging Face's caches::

    $SLIMTORCH_HOME                (else $XDG_CACHE_HOME/slimtorch, else ~/.cache/slimtorch)
        downloads/<archive name>   the archives as published (a .part while downloading)
        pretrained/<name>.safetensors   each checkpoint converted once

An archive put in ``downloads/`` by hand counts as downloaded, which is how
an offline machine gets one: with ``SLIMTORCH_OFFLINE=1`` nothing is
downloaded, and a missing file is an error that says which URL to fetch
elsewhere and where to put it.

    >>> import os, tempfile
    >>> from types import SimpleNamespace
    >>> os.environ['SLIMTORCH_HOME'] = home = tempfile.mkdtemp()
    >>> weights = SimpleNamespace(name='inception_v3', archive_name='inception_v3_2016_08_28.tar.gz')
    >>> os.path.relpath(archive_path(weights), home), os.path.relpath(converted_path(weights), home)
    ('downloads/inception_v3_2016_08_28.tar.gz', 'pretrained/inception_v3.safetensors')
    >>> del os.environ['SLIMTORCH_HOME']
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

from ._archive import CorruptArchiveError, extract_checkpoint, verify_sha256
from ._download import download
from .errors import PretrainedError

__all__ = ["archive_path", "cache_dir", "converted_path", "fetch_archive", "fetch_checkpoint",
           "is_offline"]

logger = logging.getLogger(__name__)

_TRUE = ("1", "true", "yes")


def cache_dir() -> str:
    """The cache folder (created if needed): ``$SLIMTORCH_HOME``, else
    ``$XDG_CACHE_HOME/slimtorch``, else ``~/.cache/slimtorch``.

        >>> import os, tempfile
        >>> os.environ['SLIMTORCH_HOME'] = home = os.path.join(tempfile.mkdtemp(), 'zoo')
        >>> cache_dir() == home, os.path.isdir(home)
        (True, True)
        >>> del os.environ['SLIMTORCH_HOME']

    Raises:
        PretrainedError: the folder cannot be created (the message suggests
            pointing ``SLIMTORCH_HOME`` at a writable one).
    """
    home = os.environ.get("SLIMTORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        home = os.path.join(xdg, "slimtorch")
    return _folder(os.path.abspath(os.path.expanduser(home)))


def archive_path(weights) -> str:
    """Where the archive of ``weights`` is (or will be) in the cache:
    ``cache_dir()/downloads/<archive_name>`` (the folder is created)."""
    return os.path.join(_folder(os.path.join(cache_dir(), "downloads")), weights.archive_name)


def converted_path(weights) -> str:
    """Where the converted checkpoint of ``weights`` goes:
    ``cache_dir()/pretrained/<name>.safetensors`` (the folder is created)."""
    return os.path.join(_folder(os.path.join(cache_dir(), "pretrained")), f"{weights.name}.safetensors")


def is_offline() -> bool:
    """Whether ``SLIMTORCH_OFFLINE`` forbids downloads (``1``, ``true`` or ``yes``).

        >>> import os
        >>> os.environ['SLIMTORCH_OFFLINE'] = 'True'
        >>> is_offline()
        True
        >>> del os.environ['SLIMTORCH_OFFLINE']
        >>> is_offline()
        False
    """
    return os.environ.get("SLIMTORCH_OFFLINE", "").strip().lower() in _TRUE


def fetch_archive(weights, progress: bool = True) -> str:
    """The path of the archive of ``weights`` in the cache, downloaded first
    if it is not there (resuming a ``.part`` an earlier run left).

    A file already in the cache, downloaded or put there by hand, is used
    without network. Its SHA-256 (or torchvision's prefix) is checked when
    the registry knows it. Processes sharing the cache (``torchrun``'s ranks)
    take turns: one downloads, the others then find the file.

    Args:
        weights: a registry entry (uses ``name``, ``url``, ``archive_name``,
            ``sha256``, ``sha256_prefix``).
        progress: a download progress bar on stderr (when it is a terminal).

    An offline machine without the file gets the way out in the error:

        >>> import os, tempfile
        >>> from types import SimpleNamespace
        >>> os.environ['SLIMTORCH_HOME'], os.environ['SLIMTORCH_OFFLINE'] = tempfile.mkdtemp(), '1'
        >>> fetch_archive(SimpleNamespace(name='vgg_16', archive_name='vgg_16_2016_08_28.tar.gz',
        ...     url='http://download.tensorflow.org/models/vgg_16_2016_08_28.tar.gz'))
        Traceback (most recent call last):
        ...
        slimtorch.pretrained.errors.PretrainedError: vgg_16: not in the cache and SLIMTORCH_OFFLINE is set; \
download http://download.tensorflow.org/models/vgg_16_2016_08_28.tar.gz on a connected machine and put it \
at .../downloads/vgg_16_2016_08_28.tar.gz (or run `slimtorch download --model_name=vgg_16` there and copy \
.../pretrained/vgg_16.safetensors)
        >>> del os.environ['SLIMTORCH_HOME'], os.environ['SLIMTORCH_OFFLINE']

    Raises:
        PretrainedError: offline (``SLIMTORCH_OFFLINE``) with no file in the
            cache, or the download failed (the message names the URL and
            where to put the file by hand; a cut download resumes on the
            next call), or the file's SHA-256 does not match (it is deleted).
    """
    path = archive_path(weights)
    if not os.path.isfile(path) and is_offline():
        raise PretrainedError(
            f"{weights.name}: not in the cache and SLIMTORCH_OFFLINE is set; download {weights.url} on a "
            f"connected machine and put it at {path} (or run `slimtorch download --model_name={weights.name}` "
            f"there and copy {converted_path(weights)})")
    with _lock(os.path.dirname(path)):
        if not os.path.isfile(path):   # (another process may have finished it while we waited)
            try:
                download(weights.url, path, progress=progress)
            except PretrainedError as error:
                raise PretrainedError(f"{weights.name}: {error}") from error
        try:
            verify_sha256(path, getattr(weights, "sha256", None), getattr(weights, "sha256_prefix", None))
        except PretrainedError as error:
            _remove(path)
            raise PretrainedError(f"{weights.name}: {error}; it was deleted from the cache, run the same "
                                  f"command again to download it afresh") from error
    return path


def fetch_checkpoint(weights, directory: str, progress: bool = True) -> str:
    """:func:`fetch_archive`, then its checkpoint unpacked into ``directory``;
    returns the path for ``slimtorch.checkpoint.load_checkpoint`` (the
    download itself when ``weights.member`` is None).

    A ``file://`` URL works like a download (no network here):

        >>> import io, os, pathlib, tarfile, tempfile
        >>> from types import SimpleNamespace
        >>> d = tempfile.mkdtemp()
        >>> os.environ['SLIMTORCH_HOME'] = os.path.join(d, 'cache')
        >>> with tarfile.open(os.path.join(d, 'net_2017.tar.gz'), 'w:gz') as tar:
        ...     tar.addfile(tarfile.TarInfo('net.ckpt'), io.BytesIO(b''))   # a (V1) checkpoint file
        >>> weights = SimpleNamespace(name='net', member='net.ckpt', archive_name='net_2017.tar.gz',
        ...     url=pathlib.Path(d, 'net_2017.tar.gz').as_uri(), sha256=None, sha256_prefix=None)
        >>> path = fetch_checkpoint(weights, os.path.join(d, 'unpacked'), progress=False)
        >>> os.path.relpath(path, d), os.listdir(os.path.join(d, 'cache', 'downloads'))
        ('unpacked/net.ckpt', ['net_2017.tar.gz'])
        >>> del os.environ['SLIMTORCH_HOME']

    Raises:
        PretrainedError: as :func:`fetch_archive`; or the archive is corrupt
            or truncated (it is deleted from the cache, so the next call
            downloads it again), or lacks the checkpoint (the message lists
            those it has).
    """
    archive = fetch_archive(weights, progress=progress)
    try:
        return extract_checkpoint(weights, archive, directory)
    except CorruptArchiveError as error:
        _remove(archive)
        raise PretrainedError(f"{weights.name}: {error}; it was deleted from the cache, run the same "
                              f"command again to download it afresh (from {weights.url})") from error


def _folder(path: str) -> str:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise PretrainedError(f"cannot create the pretrained-weights cache folder {path}: "
                              f"{error.strerror or error}; set SLIMTORCH_HOME to a writable folder") from error
    return path


@contextlib.contextmanager
def _lock(directory: str) -> Iterator[None]:
    """An exclusive lock on ``directory`` (POSIX ``flock``; none elsewhere).
    The folder itself is locked, not a lock file, so nothing is left behind."""
    try:
        import fcntl
    except ImportError:   # Windows: no cross-process lock; concurrent downloads are the user's to avoid
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process downloading into %s", directory)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:   # a file system without locks (some NFS): go on unlocked
            pass
        yield
    finally:
        os.close(fd)   # releases the lock


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
