"""A local HTTP file server for the pretrained-weights tests (no network).

``serve({path: bytes})`` starts a server on 127.0.0.1 (a free port) in a
thread and yields a :class:`FileServer`: ``server.url(path)`` is the URL of
a file, ``server.requests`` records every request (so a test can prove that
a cached or offline run made none). It answers ``Range: bytes=N-`` (and
``N-M``) with 206, an unsatisfiable range with 416 (``Content-Range:
bytes */size``), an unknown path with 404. Options simulate what goes
wrong on real links:

- ``cut_after=N``: the first ``cut_requests`` responses with a body announce
  the full length but stop after N body bytes; ``cut_mode`` is ``'close'``
  (the socket is closed: the client sees a short body), ``'reset'`` (a TCP
  reset: ``ConnectionResetError``) or ``'stall'`` (the server goes silent:
  the client's timeout fires);
- ``ignore_range=True``: always 200 and the whole file, as some servers do;
- ``errors={path: status}``: answer ``status`` (403, 500, ...) for a path.

``server.files`` may be changed while it runs. Use it as::

    >>> import urllib.request
    >>> with serve({'/zoo/a.tar.gz': b'0123456789'}) as server:
    ...     request = urllib.request.Request(server.url('/zoo/a.tar.gz'), headers={'Range': 'bytes=4-'})
    ...     with urllib.request.urlopen(request) as response:
    ...         response.status, response.read()
    ...     [(r.path, r.range, r.status) for r in server.requests]
    (206, b'456789')
    [('/zoo/a.tar.gz', 'bytes=4-', 206)]

A response of ``cut_after`` bytes or fewer is never cut (nothing to cut).
"""

from __future__ import annotations

import contextlib
import http.server
import re
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional

__all__ = ["FileServer", "Request", "serve"]

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass(frozen=True)
class Request:
    """One request the server received."""
    method: str
    path: str
    range: Optional[str]   # the Range header as sent, or None
    status: int            # what the server answered


class FileServer:
    """The running server (see the module docstring); made by :func:`serve`."""

    def __init__(self, files: Dict[str, bytes], *, cut_after: Optional[int] = None, cut_requests: int = 1,
                 cut_mode: str = "close", ignore_range: bool = False,
                 errors: Optional[Dict[str, int]] = None):
        if cut_mode not in ("close", "reset", "stall"):
            raise ValueError(f"cut_mode must be 'close', 'reset' or 'stall', not {cut_mode!r}")
        self.files = dict(files)
        self.cut_after = cut_after
        self.cut_requests = cut_requests
        self.cut_mode = cut_mode
        self.ignore_range = ignore_range
        self.errors = dict(errors or {})
        self.requests: List[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval: stop() waits for it (0.5 s by default, per test).
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def url(self, path: str) -> str:
        """The http URL of ``path`` (which starts with '/')."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_cut(self, body_length: int) -> bool:
        """Whether this response is one to cut (and count it)."""
        with self._lock:
            if self.cut_after is None or self.cut_requests <= 0 or body_length <= self.cut_after:
                return False
            self.cut_requests -= 1
            return True

    def start(self) -> "FileServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()   # releases 'stall' handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@contextlib.contextmanager
def serve(files: Dict[str, bytes], **options) -> Iterator[FileServer]:
    """Serves ``files`` ({'/path': bytes}) on 127.0.0.1 while the block runs;
    ``options`` are :class:`FileServer`'s (cut_after, cut_requests, cut_mode,
    ignore_range, errors)."""
    server = FileServer(files, **options).start()
    try:
        yield server
    finally:
        server.stop()


def _handler(server: FileServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):   # keep test output quiet
            pass

        def do_HEAD(self):
            self._answer(body=False)

        def do_GET(self):
            self._answer(body=True)

        def _answer(self, body: bool):
            path = self.path.split("?", 1)[0]
            range_header = self.headers.get("Range")
            data = server.files.get(path)
            status, start, end = 200, 0, len(data or b"")
            if path in server.errors or data is None:
                status = server.errors.get(path, 404)
            elif range_header and not server.ignore_range:
                match = _RANGE.match(range_header.strip())
                if match is None or int(match.group(1)) >= len(data):
                    status = 416
                else:
                    status, start = 206, int(match.group(1))
                    if match.group(2):
                        end = min(end, int(match.group(2)) + 1)
            server._record(Request(self.command, path, range_header, status))
            if status >= 400:
                self.send_response(status)
                if status == 416:
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            payload = data[start:end]
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Accept-Ranges", "bytes")
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            self.end_headers()
            if not body:
                return
            if server._take_cut(len(payload)):
                self.wfile.write(payload[:server.cut_after])
                self.wfile.flush()
                self._cut()
            else:
                self.wfile.write(payload)

        def _cut(self):
            if server.cut_mode == "stall":
                server._stop.wait(30)
            if server.cut_mode == "reset":   # SO_LINGER 0: close() sends a TCP RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            self.connection.close()

    return Handler
