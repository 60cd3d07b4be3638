"""Read and write TFRecord files without TensorFlow.

A TFRecord file is a sequence of records, each::

    uint64 length            (little-endian)
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

(``tensorflow/core/lib/io/record_writer.cc``; the crc is the Castagnoli crc
masked like every TF checksum, :mod:`slimtorch._io.crc32c`). The whole
file may be one GZIP or ZLIB stream (TF's ``compression_type``). Both crcs are
checked on every read; a bad crc, a file that ends inside a record, or a
compressed stream that does not inflate raises
:class:`~slimtorch.data.TFRecordError` naming the file and the record's byte
offset. (TF silently stops at a partial *header* at the end of a file; here
any partial record is an error, since it means the file was cut short.)

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "demo.tfrecord")
    >>> write_tfrecord(path, [b"first", b"second"])
    2
    >>> list(iter_tfrecord(path))
    [b'first', b'second']
    >>> scan_record_offsets(path).tolist(), read_record_at(path, 21)
    ([0, 21], b'second')
"""

from __future__ import annotations

import os
import struct
from typing import Iterable, Iterator

import numpy as np

from slimtorch._io.atomic import atomic_write
from slimtorch._io.crc32c import masked_crc32c
from slimtorch.data._compression import (STREAM_ERRORS, CompressingWriter,
                                         normalize_compression_type, open_stream)
from slimtorch.data.errors import TFRecordError

__all__ = ["iter_tfrecord", "read_record_at", "scan_record_offsets", "write_tfrecord"]

_HEADER = struct.Struct("<QI")   # length, masked crc of the length's 8 bytes
_FOOTER = struct.Struct("<I")    # masked crc of the data
_OVERHEAD = _HEADER.size + _FOOTER.size
_GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 1 << 20


def _crc_hint(path: str, compression_type: str) -> str:
    """A hint when a crc fails because the file is compressed but read raw."""
    if compression_type:
        return ""
    try:
        with open(path, "rb") as f:
            start = f.read(2)
    except OSError:
        return ""
    if start == _GZIP_MAGIC:
        return " (the file starts like a gzip stream: pass compression_type='GZIP')"
    if len(start) == 2 and start[0] & 0x0F == 8 and int.from_bytes(start, "big") % 31 == 0:
        return " (the file may be a zlib stream: try compression_type='ZLIB')"
    return ""


def _read_exact(stream, n: int, path: str, offset: int) -> bytes:
    """``n`` bytes, or fewer at the end of the stream.

    Read in chunks: ``read(n)`` allocates ``n`` bytes up front, so a record
    length that lies (in a compressed stream, where the file size says
    nothing) would allocate whatever it claims, up to an ``OverflowError``.
    """
    chunks = []
    try:
        while n > 0:
            chunk = stream.read(min(n, _READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            n -= len(chunk)
    except STREAM_ERRORS as error:
        raise TFRecordError(f"compressed stream is corrupt: {error}", path, offset) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_record(stream, path: str, offset: int, compression_type: str,
                 size_left: int | None = None) -> bytes | None:
    """Read one record at the stream's position; None at a clean end of file.

    ``size_left`` (bytes from ``offset`` to the end, when known) lets a length
    that passed its crc but overruns the file fail before a huge read.
    """
    header = _read_exact(stream, _HEADER.size, path, offset)
    if not header:
        return None
    length = _record_length(header, path, offset, compression_type)
    if size_left is not None and length + _OVERHEAD > size_left:
        raise TFRecordError(f"truncated record: {length} data bytes announced, "
                            f"{max(size_left - _OVERHEAD, 0)} present", path, offset)
    body = _read_exact(stream, length + _FOOTER.size, path, offset)
    if len(body) < length + _FOOTER.size:
        raise TFRecordError(f"truncated record: {length} data bytes announced, "
                            f"{max(len(body) - _FOOTER.size, 0)} present", path, offset)
    data = body[:length]
    (data_crc,) = _FOOTER.unpack_from(body, length)
    if masked_crc32c(data) != data_crc:
        raise TFRecordError("data crc32c mismatch: corrupt record data", path, offset)
    return data


def _iter_with_offsets(path: str, compression_type: str) -> Iterator[tuple[int, bytes]]:
    compression_type = normalize_compression_type(compression_type)
    path = os.fspath(path)
    with open_stream(path, compression_type) as stream:
        size = None if compression_type else os.fstat(stream.fileno()).st_size
        offset = 0
        while True:
            left = None if size is None else size - offset
            data = _read_record(stream, path, offset, compression_type, left)
            if data is None:
                return
            yield offset, data
            offset += len(data) + _OVERHEAD


def iter_tfrecord(path: str, compression_type: str | None = "") -> Iterator[bytes]:
    """Yield the records of a TFRecord file, in order, as ``bytes``.

    ``compression_type`` is TF's: ``""``/``None``, ``"GZIP"`` or ``"ZLIB"``.
    The file is read lazily, so a corrupt record raises
    :class:`~slimtorch.data.TFRecordError` when the iteration reaches it.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "z.tfrecord")
        >>> _ = write_tfrecord(path, [b"a", b"bc"], compression_type="ZLIB")
        >>> list(iter_tfrecord(path, compression_type="ZLIB"))
        [b'a', b'bc']
    """
    for _, data in _iter_with_offsets(path, compression_type):
        yield data


def scan_record_offsets(path: str, compression_type: str | None = "") -> np.ndarray:
    """The byte offset of every record in a file, as an int64 array.

    For an uncompressed file only the 12-byte headers are read (the lengths
    are crc-checked; each record's data crc is checked when it is read), so
    indexing a large shard is fast. A compressed file has to be inflated and
    is fully verified; its offsets count uncompressed bytes.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "s.tfrecord")
        >>> _ = write_tfrecord(path, [b"", b"xyz", b"w"])
        >>> scan_record_offsets(path).tolist()
        [0, 16, 35]
    """
    compression_type = normalize_compression_type(compression_type)
    path = os.fspath(path)
    if compression_type:
        offsets = [offset for offset, _ in _iter_with_offsets(path, compression_type)]
        return np.asarray(offsets, dtype=np.int64)
    offsets = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        offset = 0
        while offset < size:
            f.seek(offset)
            header = f.read(_HEADER.size)
            length = _record_length(header, path, offset, compression_type)
            if offset + length + _OVERHEAD > size:
                raise TFRecordError(f"truncated record: {length} data bytes announced, "
                                    f"{max(size - offset - _OVERHEAD, 0)} present",
                                    path, offset)
            offsets.append(offset)
            offset += length + _OVERHEAD
    return np.asarray(offsets, dtype=np.int64)


def read_record_at(path: str, offset: int, compression_type: str | None = "") -> bytes:
    """Read and verify the one record that starts at ``offset``.

    ``offset`` comes from :func:`scan_record_offsets`. Uncompressed files are
    read with one seek; a compressed file has to be inflated from its start
    up to ``offset`` (as TF itself would), so random access into GZIP/ZLIB
    shards costs time proportional to the offset.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "r.tfrecord")
        >>> _ = write_tfrecord(path, [b"ab", b"cd"])
        >>> read_record_at(path, 18)
        b'cd'
    """
    compression_type = normalize_compression_type(compression_type)
    path = os.fspath(path)
    offset = int(offset)
    if offset < 0:
        raise ValueError(f"read_record_at: offset must be >= 0, got {offset}")
    with open_stream(path, compression_type) as stream:
        if compression_type:
            skipped = 0
            while skipped < offset:
                chunk = _read_exact(stream, min(offset - skipped, 1 << 20), path, offset)
                if not chunk:
                    break
                skipped += len(chunk)
            left = None
        else:
            stream.seek(offset)
            left = os.fstat(stream.fileno()).st_size - offset
        data = _read_record(stream, path, offset, compression_type, left)
    if data is None:
        raise TFRecordError("no record here: the offset is at or past the end "
                            "of the file", path, offset)
    return data


def write_tfrecord(path: str, records: Iterable, compression_type: str | None = "") -> int:
    """Write ``records`` (bytes-like objects) as a TFRecord file; return the count.

    The file appears atomically (temp file, fsync, ``os.replace``), so a
    reader never sees half a file. ``records`` may be a generator. The
    uncompressed bytes are exactly what TF's ``TFRecordWriter`` writes.

        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "w.tfrecord")
        >>> write_tfrecord(path, (bytes([i]) for i in range(3)), compression_type="GZIP")
        3
        >>> list(iter_tfrecord(path, "GZIP"))
        [b'\\x00', b'\\x01', b'\\x02']
    """
    compression_type = normalize_compression_type(compression_type)
    count = 0
    with atomic_write(os.fspath(path)) as f:
        writer = CompressingWriter(f, compression_type)
        for record in records:
            try:
                data = memoryview(record).cast("B")
            except TypeError:
                raise TypeError(f"write_tfrecord: record {count} is a "
                                f"{type(record).__name__}, expected bytes") from None
            length = struct.pack("<Q", data.nbytes)
            writer.write(length + struct.pack("<I", masked_crc32c(length)))
            writer.write(data)
            writer.write(_FOOTER.pack(masked_crc32c(data)))
            count += 1
        writer.close()
    return count


def _record_length(header: bytes, path, offset: int, compression_type) -> int:
    """The data length a record header announces, after checking the header
    is whole and its crc32c matches."""
    if len(header) < _HEADER.size:
        raise TFRecordError(f"truncated record header ({len(header)} of "
                            f"{_HEADER.size} bytes)", path, offset)
    length, length_crc = _HEADER.unpack(header)
    if masked_crc32c(header[:8]) != length_crc:
        raise TFRecordError("length crc32c mismatch: corrupt record header"
                            + _crc_hint(path, compression_type), path, offset)
    return length
