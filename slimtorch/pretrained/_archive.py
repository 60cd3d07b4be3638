"""Checks a downloaded archive and unpacks only its checkpoint.

research/slim publishes each checkpoint as a ``.tar.gz`` holding a TF V1 file
(``inception_v3.ckpt``) or a V2 bundle (``mobilenet_v1_1.0_224.ckpt.index`` +
``.data-00000-of-00001``), often beside graphs, frozen models and TFLite files
that fine-tuning does not need. The archive is read to its end in one pass,
so a truncated or corrupt download fails here, with the archive's name,
rather than later as an unreadable checkpoint; members that could write
outside the target folder (absolute paths, ``..``) make the whole archive
suspect and refuse it.

    >>> import io, os, tarfile, tempfile
    >>> from types import SimpleNamespace
    >>> d = tempfile.mkdtemp()
    >>> archive = os.path.join(d, 'net_2017.tar.gz')
    >>> with tarfile.open(archive, 'w:gz') as tar:
    ...     for name in ('net.ckpt.index', 'net.ckpt.data-00000-of-00001', 'net_frozen.pb'):
    ...         tar.addfile(tarfile.TarInfo(name), io.BytesIO(b''))
    >>> weights = SimpleNamespace(name='net', member='net.ckpt', archive_name='net_2017.tar.gz')
    >>> prefix = extract_checkpoint(weights, archive, os.path.join(d, 'out'))
    >>> os.path.basename(prefix), sorted(os.listdir(os.path.join(d, 'out')))
    ('net.ckpt', ['net.ckpt.data-00000-of-00001', 'net.ckpt.index'])
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import zlib
from typing import Dict, List, Optional

from .errors import PretrainedError

__all__ = ["extract_checkpoint", "sha256_of", "verify_sha256"]

logger = logging.getLogger(__name__)

_SHARD = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)   # gzip.BadGzipFile is an OSError


class CorruptArchiveError(PretrainedError):
    """The archive cannot be read to its end (truncated, not a tar.gz, bad
    member): the download is bad, and the cache deletes it."""


def sha256_of(path: str, chunk_size: int = 1 << 20) -> str:
    """The hex SHA-256 of the file at ``path``, read in chunks.

        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b'abc')
        >>> sha256_of(f.name)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str, sha256: Optional[str] = None, sha256_prefix: Optional[str] = None) -> None:
    """Checks the file's SHA-256 against the published digest or its prefix
    (torchvision puts 8+ hex digits in its file names); does nothing when
    neither is known.

        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as f:
        ...     _ = f.write(b'abc')
        >>> verify_sha256(f.name, sha256_prefix='ba7816bf')
        >>> verify_sha256(f.name, sha256_prefix='00000000')
        Traceback (most recent call last):
        ...
        slimtorch.pretrained.errors.PretrainedError: ... SHA-256 is ba7816bf..., expected 00000000...

    Raises:
        PretrainedError: the digests differ (both are in the message).
    """
    if not sha256 and not sha256_prefix:
        return
    actual = sha256_of(path)
    expected = (sha256 or sha256_prefix).lower()
    if (sha256 and actual != expected) or (not sha256 and not actual.startswith(expected)):
        what = "" if sha256 else " (a prefix)"
        raise PretrainedError(f"{path}: its SHA-256 is {actual}, expected {expected}{what}: the file is "
                              "damaged or not the published one")


def extract_checkpoint(weights, archive: str, directory: str) -> str:
    """Unpacks the checkpoint of ``weights`` from ``archive`` into ``directory``.

    ``weights.member`` names the checkpoint inside the archive: a V2 prefix
    (its ``.index`` and ``.data-*`` files are extracted) or a V1 file. When
    it is absent but the archive holds exactly one checkpoint (one
    ``.index``, or else one ``*.ckpt`` file), that one is used, with a
    warning. ``member=None`` means the download is the checkpoint itself
    (torchvision's ``.pth``): ``archive`` is returned as is.

    Returns:
        The path to give ``slimtorch.checkpoint.load_checkpoint``: the V2
        prefix or the V1 file, under ``directory`` (with the member's folders).

    Raises:
        PretrainedError: the archive is corrupt or truncated (the caller
            should delete it; :func:`slimtorch.pretrained.cache.fetch_checkpoint`
            does), holds a member with an absolute path or ``..``, or links
            or devices among the checkpoint's files; the checkpoint is
            missing or ambiguous (the message lists the checkpoints found);
            or ``directory`` cannot be written. Nothing is left behind.
    """
    member = getattr(weights, "member", None)
    if member is None:
        return archive
    member = posixpath.normpath(member.lstrip("/"))
    try:
        os.makedirs(directory, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".extract-", dir=directory)
    except OSError as error:
        raise PretrainedError(f"{weights.name}: cannot unpack {archive} into {directory}: "
                              f"{error.strerror or error}") from error
    try:
        files = _unpack_candidates(archive, member, staging)
        prefix, names = _choose(weights, archive, member, files)
        # Data shards first, the .index last: load_checkpoint finds a V2
        # checkpoint by its .index, so it appears only once the rest is there.
        for name in sorted(names, key=lambda n: n.endswith(".index")):
            target = os.path.join(directory, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(files[name], target)
        return os.path.join(directory, *prefix.split("/"))
    except PretrainedError:
        raise
    except OSError as error:
        raise PretrainedError(f"{weights.name}: could not extract {archive} into {directory}: "
                              f"{error.strerror or error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _is_candidate(name: str, member: str) -> bool:
    """Whether ``name`` may be a checkpoint file (what one pass keeps)."""
    base = posixpath.basename(name)
    return name == member or base.endswith((".index", ".ckpt")) or _SHARD.search(base) is not None


def _unpack_candidates(archive: str, member: str, staging: str) -> Dict[str, str]:
    """Reads the whole archive (streamed), writing the checkpoint-like files
    into ``staging``; returns their archive names -> staged paths."""
    files: Dict[str, str] = {}
    with open(archive, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        # gzip itself (not tarfile's stream reader) decompresses: drained to its
        # end below, it checks the CRC and length, so any truncation fails.
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        try:
            tar = tarfile.open(fileobj=stream, mode="r|" if gzipped else "r|*")
        except _READ_ERRORS as error:
            raise _corrupt(archive, error) from error
        with tar:
            while True:
                try:
                    info = tar.next()
                except _READ_ERRORS as error:
                    raise _corrupt(archive, error) from error
                if info is None:
                    break
                name = _safe_name(archive, info.name)
                if name is None or not _is_candidate(name, member):
                    continue
                if not info.isfile():
                    raise CorruptArchiveError(f"{archive}: refusing {info.name!r}: a checkpoint file that is "
                                              "a link or device, not a regular file")
                _check_with_data_filter(archive, info, staging)
                target = os.path.join(staging, *name.split("/"))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                _copy_member(tar, info, archive, target)
                files[name] = target
        try:
            while stream.read(1 << 20):   # the tar's padding, then gzip's trailer check
                pass
        except _READ_ERRORS as error:
            raise _corrupt(archive, error) from error
    return files


def _safe_name(archive: str, raw: str) -> Optional[str]:
    """The member's normalized relative name (None for the archive's root);
    an absolute path or a ``..`` refuses the archive."""
    parts = raw.replace("\\", "/").split("/")
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw) or ".." in parts:
        raise CorruptArchiveError(f"{archive}: refusing the archive: member {raw!r} would be written outside "
                              "the target folder (an absolute path or '..'); it is not a research/slim "
                              "archive, delete it and download again")
    name = posixpath.normpath("/".join(parts))
    return None if name in (".", "") else name


def _check_with_data_filter(archive: str, info: tarfile.TarInfo, staging: str) -> None:
    """tarfile's own 'data' policy (Python 3.12, backported) as a second check."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:
        return
    try:
        data_filter(info, staging)
    except tarfile.FilterError as error:
        raise CorruptArchiveError(f"{archive}: refusing member {info.name!r}: {error}") from error


def _copy_member(tar: tarfile.TarFile, info: tarfile.TarInfo, archive: str, target: str) -> None:
    """Copies one member's bytes; read errors mean a corrupt archive, write
    errors (disk full) propagate as OSError about ``target``."""
    try:
        source = tar.extractfile(info)
    except _READ_ERRORS as error:
        raise _corrupt(archive, error) from error
    with source, open(target, "wb") as out:
        while True:
            try:
                chunk = source.read(1 << 20)
            except _READ_ERRORS as error:
                raise _corrupt(archive, error) from error
            if not chunk:
                break
            out.write(chunk)


def _checkpoints(files: Dict[str, str]) -> Dict[str, List[str]]:
    """The checkpoints among ``files``: prefix or V1 file -> its file names.
    V2 bundles (an ``.index``) come first; ``*.ckpt`` files count as V1 only
    when the archive has no V2 bundle."""
    found: Dict[str, List[str]] = {}
    for name in files:
        if name.endswith(".index"):
            prefix = name[:-len(".index")]
            found[prefix] = [name] + [n for n in files if n.startswith(prefix + ".data-")]
    if not found:
        found = {name: [name] for name in files if name.endswith(".ckpt")}
    return found


def _files_of(member: str, files: Dict[str, str]) -> Optional[List[str]]:
    """The files of the checkpoint named ``member``, or None if absent."""
    if member + ".index" in files:
        return [member + ".index"] + [n for n in files if n.startswith(member + ".data-")]
    if member in files:
        return [member]
    return None


def _choose(weights, archive: str, member: str, files: Dict[str, str]):
    """(prefix or file, its file names) of the checkpoint to extract."""
    names = _files_of(member, files)
    prefix = member
    if names is None:
        found = _checkpoints(files)
        # A checkpoint under a top folder the registry did not spell out.
        suffixed = [p for p in found if p.endswith("/" + member)]
        if len(suffixed) == 1:
            prefix = suffixed[0]
        elif len(found) == 1:
            prefix = next(iter(found))
        else:
            listing = ", ".join(sorted(found)) or "none"
            raise PretrainedError(f"{weights.name}: {archive} has no checkpoint {member!r} (the registry's "
                                  f"member) and {'several' if found else 'no'} other to use instead; "
                                  f"checkpoints found: {listing}")
        logger.warning("%s: %s has no checkpoint %r; using the one it holds, %r", weights.name, archive,
                       member, prefix)
        names = found[prefix]
    _check_shards(weights, archive, prefix, names)
    return prefix, names


def _check_shards(weights, archive: str, prefix: str, names: List[str]) -> None:
    """A V2 bundle needs all its ``.data-NNNNN-of-MMMMM`` shards."""
    if not names[0].endswith(".index"):
        return
    shards = [_SHARD.search(n) for n in names[1:]]
    count = int(shards[0].group(2)) if shards and shards[0] else 1
    have = {int(m.group(1)) for m in shards if m}
    missing = [f"{prefix}.data-{i:05d}-of-{count:05d}" for i in range(count) if i not in have]
    if missing:
        raise PretrainedError(f"{weights.name}: {archive} holds {prefix}.index but not {', '.join(missing)}: "
                              "the checkpoint is incomplete")


def _corrupt(archive: str, error: BaseException) -> CorruptArchiveError:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return CorruptArchiveError(f"{archive} is corrupt ({reason}): delete it and download again")
