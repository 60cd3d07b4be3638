"""Resumable downloads with the standard library (urllib), for weights archives.

The bytes go to ``<path>.part``; only a download whose size matches what the
server announced (``Content-Length`` / ``Content-Range``) is renamed to
``path`` (fsynced, then ``os.replace``: a reader never sees half a file under
the final name). A cut connection keeps the ``.part``, and the next call
asks for the rest with an HTTP ``Range`` request, as ``wget -c`` does: a
research/slim archive is up to 0.5 GB, and starting over on a flaky link may
never finish.

    >>> import os, tempfile, pathlib
    >>> d = tempfile.mkdtemp()
    >>> source = os.path.join(d, 'weights.bin')
    >>> _ = open(source, 'wb').write(b'0123456789')
    >>> target = download(pathlib.Path(source).as_uri(), os.path.join(d, 'copy.bin'), progress=False)
    >>> open(target, 'rb').read()
    b'0123456789'
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional, Tuple

from .._io.atomic import fsync_directory
from .errors import PretrainedError

__all__ = ["download"]

_SCHEMES = ("http", "https", "file")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)
#: What a connection cut mid-body raises: a short chunked body (IncompleteRead),
#: a reset or aborted socket (ConnectionError), a stalled one (timeout).
_CUT = (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError)
_USER_AGENT = "slimtorch (https://github.com/tensorflow/models/tree/master/research/slim zoo)"


class _RestartError(Exception):
    """The server did not continue the ``.part``: start over from byte 0."""


def download(url: str, path: str, *, progress: bool = True, timeout: float = 60,
             chunk_size: int = 1 << 20) -> str:
    """Downloads ``url`` to ``path`` (resuming ``path + '.part'``); returns ``path``.

    Args:
        url: an ``http``, ``https`` or ``file`` URL (redirects are followed).
        path: where the complete file goes; its folder is created.
        progress: a tqdm bar on stderr (shown only when stderr is a terminal).
        timeout: seconds a connection may stay silent before it counts as cut.
        chunk_size: bytes read and written at a time.

    Raises:
        PretrainedError: the URL is not http/https/file; the server answered
            an error (404, ...) or could not be reached (the message names
            the URL, the reason and ``path``, where a file downloaded by hand
            may be put); or the connection was cut (the message says how
            many bytes arrived; the ``.part`` is kept, and calling again
            resumes it).
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise PretrainedError(f"cannot download {url!r}: only http, https and file URLs are supported")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise PretrainedError(f"cannot download {url}: cannot create {directory}: "
                              f"{error.strerror or error}") from error
    part = path + ".part"
    for attempt in range(2):
        try:
            _fetch(url, path, part, progress=progress, timeout=timeout, chunk_size=chunk_size,
                   resume=attempt == 0)
            break
        except _RestartError:
            _remove(part)
        except PretrainedError:
            raise
        except OSError as error:   # writing the .part: disk full, permissions
            raise PretrainedError(f"could not save {url} to {part}: {error.strerror or error}") from error
    # The .part is complete: make it durable, then publish it under its name.
    with open(part, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(part, path)
    fsync_directory(directory)
    return path


def _fetch(url: str, path: str, part: str, *, progress: bool, timeout: float, chunk_size: int,
           resume: bool) -> None:
    """Completes ``part`` from ``url`` (raises ``_RestartError`` to start it over)."""
    offset = os.path.getsize(part) if resume and os.path.isfile(part) else 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        with error:
            if error.code == 416 and offset:
                _check_unsatisfied_range(error.headers.get("Content-Range"), offset)
                return   # the .part already holds every byte
            raise _unavailable(url, path, f"HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise _unavailable(url, path, str(error.reason)) from error
    except (*_CUT, OSError) as error:   # connecting timed out or was refused
        raise _unavailable(url, path, str(error) or type(error).__name__) from error
    with response:
        if offset and response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                raise _RestartError()
        else:   # 200 (the server ignored Range), or a file URL: the whole file
            offset, total = 0, _content_length(response.headers.get("Content-Length"))
        _stream(response, part, offset, total, url=url, progress=progress, chunk_size=chunk_size)


def _stream(response, part: str, offset: int, total: Optional[int], *, url: str, progress: bool,
            chunk_size: int) -> None:
    """Appends the body to ``part`` (from byte ``offset``) and checks its size."""
    bar = _progress_bar(progress, total, offset, os.path.basename(part[:-len(".part")]))
    done = offset
    try:
        with open(part, "ab" if offset else "wb") as out:
            while True:
                try:
                    chunk = response.read(chunk_size)
                except _CUT as error:
                    out.flush()
                    raise _cut(url, done, total, part, error) from error
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    # http.client returns b'' when a Content-Length body ends early: check it here.
    if total is not None and done != total:
        if done > total:   # more than announced: the .part is not this file
            _remove(part)
            raise PretrainedError(f"{url}: received {done} bytes where the server announced {total}; "
                                  "the partial download was deleted, run the same command again")
        raise _cut(url, done, total, part, None)


def _progress_bar(progress: bool, total: Optional[int], start: int, name: str):
    if not progress:
        return None
    from tqdm import tqdm
    # disable=None: tqdm shows the bar only when stderr is a terminal (not in logs or CI).
    return tqdm(total=total, initial=start, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                dynamic_ncols=True, file=sys.stderr, disable=None)


def _content_range(header: Optional[str]) -> Tuple[int, Optional[int]]:
    """(first byte, total size or None) of a 206's ``Content-Range``."""
    match = _CONTENT_RANGE.fullmatch((header or "").strip())
    if match is None:
        raise _RestartError()   # a 206 we cannot place: take the whole file instead
    total = match.group(3)
    return int(match.group(1)), None if total == "*" else int(total)


def _content_length(header: Optional[str]) -> Optional[int]:
    try:
        return int(header) if header is not None else None
    except ValueError:
        return None


def _check_unsatisfied_range(header: Optional[str], offset: int) -> None:
    """A 416 to ``Range: bytes=<offset>-``: the ``.part`` is complete when the
    server's total size is ``offset``; anything else means it is not this file."""
    match = _UNSATISFIED_RANGE.fullmatch((header or "").strip())
    if match is None or int(match.group(1)) != offset:
        raise _RestartError()


def _unavailable(url: str, path: str, reason: str) -> PretrainedError:
    return PretrainedError(f"could not download {url}: {reason}. Check the URL and the connection, "
                           f"or download the file by hand (on a connected machine) and put it at {path}")


def _cut(url: str, done: int, total: Optional[int], part: str, error) -> PretrainedError:
    of = f"{done} of {total}" if total is not None else f"{done}"
    reason = f" ({type(error).__name__}: {error})" if error is not None else ""
    return PretrainedError(f"the download of {url} was cut{reason}: {of} bytes downloaded; run the same "
                           f"command again to resume (the partial file is {part})")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
