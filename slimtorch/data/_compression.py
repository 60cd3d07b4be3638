"""GZIP/ZLIB streams for TFRecord files (TF's ``compression_type``).

TensorFlow compresses a TFRecord file as one stream around all its records
(``tf.io.TFRecordOptions``): ``"GZIP"`` is a gzip stream, ``"ZLIB"`` a zlib
stream (RFC 1950, with its 2-byte header), ``""`` / ``None`` no compression.
Offsets inside a compressed file therefore count *uncompressed* bytes.

    >>> normalize_compression_type(None), normalize_compression_type("gzip")
    ('', 'GZIP')
"""

from __future__ import annotations

import gzip
import io
import zlib

__all__ = ["COMPRESSION_TYPES", "STREAM_ERRORS", "CompressingWriter",
           "normalize_compression_type", "open_stream"]

COMPRESSION_TYPES = ("", "GZIP", "ZLIB")
#: What a damaged compressed stream raises while being read (gzip/zlib modules).
STREAM_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
_CHUNK = 1 << 16


def normalize_compression_type(compression_type: str | None) -> str:
    """``""``, ``"GZIP"`` or ``"ZLIB"`` (case-insensitive; ``None`` means none).

        >>> normalize_compression_type("snappy")
        Traceback (most recent call last):
        ...
        ValueError: compression_type must be one of '', 'GZIP', 'ZLIB' (TF's TFRecordOptions), got 'snappy'
    """
    name = (compression_type or "").upper()
    if name not in COMPRESSION_TYPES:
        raise ValueError("compression_type must be one of '', 'GZIP', 'ZLIB' "
                         f"(TF's TFRecordOptions), got {compression_type!r}")
    return name


class _ZlibReader(io.RawIOBase):
    """A readable raw stream that inflates a zlib-wrapped file on the fly."""

    def __init__(self, raw):
        self._raw = raw
        self._inflater = zlib.decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._inflater.eof:
                return 0
            chunk = self._raw.read(_CHUNK)
            if not chunk:
                # TF's reader also refuses a stream that stops mid-way.
                raise EOFError("zlib stream ended before its end-of-stream marker")
            self._pending = self._inflater.decompress(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_stream(path: str, compression_type: str) -> io.BufferedIOBase:
    """Open ``path`` for reading its uncompressed bytes.

    A missing file raises ``FileNotFoundError`` (from ``open``), as usual.
    """
    raw = open(path, "rb")
    if compression_type == "GZIP":
        return _OwnedGzip(raw)
    if compression_type == "ZLIB":
        return io.BufferedReader(_ZlibReader(raw), _CHUNK)
    return raw


class _OwnedGzip(gzip.GzipFile):
    """A GzipFile that closes the file object it was given (gzip's does not)."""

    def __init__(self, raw):
        super().__init__(fileobj=raw, mode="rb")
        self._owned = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._owned.close()


class CompressingWriter:
    """Wrap a binary file opened for writing so writes are compressed.

    ``close()`` finishes the compressed stream but leaves the file open (the
    caller owns it). GZIP headers carry no file name and mtime 0, so the same
    records always give the same bytes.

        >>> buf = io.BytesIO()
        >>> w = CompressingWriter(buf, "ZLIB"); _ = w.write(b"abc"); w.close()
        >>> zlib.decompress(buf.getvalue())
        b'abc'
    """

    def __init__(self, raw, compression_type: str):
        self._raw = raw
        self._type = compression_type
        if compression_type == "GZIP":
            self._gzip = gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0)
        elif compression_type == "ZLIB":
            self._deflater = zlib.compressobj()

    def write(self, data) -> int:
        if self._type == "GZIP":
            return self._gzip.write(data)
        if self._type == "ZLIB":
            self._raw.write(self._deflater.compress(data))
            return len(data)
        return self._raw.write(data)

    def close(self) -> None:
        if self._type == "GZIP":
            self._gzip.close()
        elif self._type == "ZLIB":
            self._raw.write(self._deflater.flush())
