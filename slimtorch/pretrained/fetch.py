"""Pretrained weights as a file: downloaded, checked and converted once.

:func:`pretrained_checkpoint` turns a registry name into a slimtorch
safetensors file in the cache (``$SLIMTORCH_HOME/pretrained/<name>.safetensors``):

1. the archive comes from the cache, or is downloaded (with a progress bar,
   resuming a cut download; never when ``SLIMTORCH_OFFLINE=1``);
2. it is checked (its checksum where one is published, its gzip and tar
   structure always) and only the checkpoint's files are unpacked;
3. the checkpoint is converted to the net's torch layouts and checked to
   fit the net exactly (:func:`slimtorch.tools.convert_checkpoint`), with
   the moving-average shadows where research/slim's numbers use them;
4. the safetensors file is written atomically; the archive and the
   unpacked files are deleted.

Later calls find the file and touch no network. Processes sharing a cache
(``torchrun`` ranks) take turns through a lock file, so one downloads and
the others find its result.

    >>> import os, tempfile
    >>> os.environ['SLIMTORCH_HOME'] = tempfile.mkdtemp()
    >>> os.environ['SLIMTORCH_OFFLINE'] = '1'
    >>> pretrained_checkpoint('inception_v3')
    Traceback (most recent call last):
    ...
    slimtorch.pretrained.errors.PretrainedError: inception_v3: not in the cache and SLIMTORCH_OFFLINE is set; ...
    >>> del os.environ['SLIMTORCH_OFFLINE'], os.environ['SLIMTORCH_HOME']
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from typing import Iterator

from ..graph import Graph
from ..tools.checkpoint_tools import convert_checkpoint
from .cache import archive_path, converted_path, fetch_checkpoint
from .registry import PretrainedWeights, get_pretrained

__all__ = ["PRETRAINED_PREFIX", "pretrained_checkpoint", "resolve_pretrained"]

logger = logging.getLogger(__name__)

PRETRAINED_PREFIX = "pretrained:"
"""``--checkpoint_path=pretrained:inception_v3`` names registry weights."""


def pretrained_checkpoint(name: str, progress: bool = True) -> str:
    """The slimtorch safetensors file of registry weights ``name`` (see the
    module docstring): from the cache, or downloaded and converted now.

    Args:
        name: a registry name (``'inception_v3'``, ``'resnet_v1_50.torchvision'``;
            :func:`slimtorch.pretrained.pretrained_names` lists them).
        progress: show a progress bar while downloading.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        PretrainedError: the download failed, the archive is corrupt or lacks
            its checkpoint, or the machine is offline without the file.
        CheckpointError: the archive's checkpoint does not fit the net.
    """
    weights = get_pretrained(name)
    path = converted_path(weights)
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with _locked(path + ".lock"):
        if not os.path.isfile(path):   # another process may have made it meanwhile
            _convert(weights, path, progress)
    return path


def resolve_pretrained(path, progress: bool = True):
    """``path`` itself, or for ``'pretrained:<name>'`` the converted file of
    weights ``<name>`` (:func:`pretrained_checkpoint`): what the ``slimtorch``
    commands do with ``--checkpoint_path``.

        >>> resolve_pretrained('/tmp/train_logs/model.ckpt-100')
        '/tmp/train_logs/model.ckpt-100'
    """
    if isinstance(path, str) and path.startswith(PRETRAINED_PREFIX):
        return pretrained_checkpoint(path[len(PRETRAINED_PREFIX):], progress)
    return path


def _convert(weights: PretrainedWeights, path: str, progress: bool) -> None:
    work = tempfile.mkdtemp(prefix=".unpack-", dir=os.path.dirname(path))
    try:
        checkpoint = fetch_checkpoint(weights, work, progress=progress)
        logger.info("converting %s (%s) for %s", weights.name, os.path.basename(checkpoint),
                    weights.net)
        with Graph():   # the net is built on the meta device, away from the user's graph
            convert_checkpoint(checkpoint, path, net=weights.net, num_classes=weights.num_classes,
                               torchvision=weights.source == "torchvision",
                               moving_averages=weights.moving_averages,
                               metadata={"pretrained": weights.name, "url": weights.url,
                                         "source": weights.source,
                                         "num_classes": str(weights.num_classes)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # The converted file is what the cache keeps: the archive would double
    # the disk used (VGG-16's is half a gigabyte).
    with contextlib.suppress(OSError):
        os.remove(archive_path(weights))


@contextlib.contextmanager
def _locked(lock_path: str) -> Iterator[None]:
    """An exclusive lock between processes on one machine (torchrun ranks
    sharing a cache). Without ``fcntl`` (Windows) there is no lock."""
    try:
        import fcntl
    except ImportError:   # pragma: no cover - not on POSIX
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
