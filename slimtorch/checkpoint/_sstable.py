"""Reading TensorFlow's SSTable, the container of both checkpoint formats.

TensorFlow's ``tensorflow::table`` is LevelDB's table format without filter
blocks (``tensorflow/core/lib/io/table_format.txt``). A V2 checkpoint's
``.index`` file and a whole V1 checkpoint are such tables, mapping byte-string
keys (sorted bytewise) to byte-string values.

Layout, back to front:

- footer, the last 48 bytes: metaindex handle and index handle (each two
  varint64s: offset, size), zero padding to 40 bytes, then the 8-byte magic
  ``57 fb 80 8b 24 75 47 db``;
- index block: one entry per data block, key = a separator >= every key of
  that block, value = the block's handle;
- data blocks: entries ``shared | non_shared | value_len`` (varint32s), the
  key's new bytes, the value; then ``restarts: fixed32[n]``, ``n: fixed32``.

Every block is followed by a 5-byte trailer: type (0 raw, 1 snappy) and the
masked crc32c of contents + type byte. TensorFlow has written checkpoint
tables uncompressed since ~1.1 (``BundleWriter::Finish``,
``TensorSliceWriter``'s ``TableBuilder`` set ``kNoCompression``), but older
V1 files used the LevelDB default, snappy, so raw snappy is decoded here too.
"""

from __future__ import annotations

import bisect

from slimtorch._io.crc32c import crc32c, unmask
from slimtorch.checkpoint.errors import CheckpointError

__all__ = ["MAGIC", "Table", "snappy_decompress"]

MAGIC = bytes.fromhex("57fb808b247547db")  # kTableMagicNumber, little-endian
FOOTER_SIZE = 48
TRAILER_SIZE = 5
_NO_COMPRESSION, _SNAPPY = 0, 1


def _varint(buf, pos: int, end: int, what: str) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise CheckpointError(f"truncated varint in {what}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise CheckpointError(f"overlong varint in {what}")


class Table:
    """A read-only SSTable over ``data`` (bytes or an mmap of the file).

    ``path`` is used in error messages. Block checksums are verified unless
    ``verify_checksums`` is false. Nothing but the footer and the index block
    is read until asked for.
    """

    def __init__(self, data, path: str, verify_checksums: bool = True):
        self._data = data
        self.path = path
        self._verify = verify_checksums
        self._cache: dict[int, tuple] = {}
        size = len(data)
        if size < FOOTER_SIZE:
            raise self._error(f"file of {size} bytes is too short for an "
                              f"SSTable ({FOOTER_SIZE}-byte footer)")
        footer = bytes(data[size - FOOTER_SIZE:])
        if footer[-8:] != MAGIC:
            raise self._error("not an SSTable (bad magic number)")
        self._limit = size - FOOTER_SIZE  # blocks must end before the footer
        try:
            self._read_index(footer)
        except CheckpointError as e:
            if e.path is not None:
                raise
            raise self._error(e.reason) from None

    def _read_index(self, footer: bytes) -> None:
        """Decode the footer's handles and the index block."""
        pos = 0
        handles = []
        for what in ("metaindex offset", "metaindex size", "index offset", "index size"):
            value, pos = _varint(footer, pos, 40, f"footer {what}")
            handles.append(value)
        contents = self._read_block(handles[2], handles[3], "index block")
        self._index = []  # [(separator key, offset, size)]
        for key, start, end in _block_entries(contents, self, "index block"):
            offset, p = _varint(contents, start, end, "index block handle")
            block_size, _ = _varint(contents, p, end, "index block handle")
            self._check_handle(offset, block_size, "data block")
            self._index.append((key, offset, block_size))
        self._keys = [k for k, _, _ in self._index]

    def _error(self, reason: str) -> CheckpointError:
        return CheckpointError(reason, path=self.path)

    def _check_handle(self, offset: int, size: int, what: str) -> None:
        if offset + size + TRAILER_SIZE > self._limit:
            raise self._error(f"{what} at offset {offset} of {size} bytes runs past "
                              f"the end of the file ({self._limit + FOOTER_SIZE} bytes)")

    def _read_block(self, offset: int, size: int, what: str):
        """A block's contents (a memoryview or bytes), checked and decompressed."""
        self._check_handle(offset, size, what)
        raw = self._data[offset:offset + size + TRAILER_SIZE]  # one copy off the mmap
        contents, kind = memoryview(raw)[:size], raw[size]  # no second copy
        if self._verify:
            stored = unmask(int.from_bytes(raw[size + 1:], "little"))
            if crc32c(raw[size:size + 1], crc32c(contents)) != stored:
                raise self._error(f"{what} at offset {offset}: block checksum mismatch")
        if kind == _NO_COMPRESSION:
            return contents
        if kind == _SNAPPY:
            try:
                return snappy_decompress(contents)
            except CheckpointError as e:
                raise self._error(f"{what} at offset {offset}: {e.reason}") from None
        raise self._error(f"{what} at offset {offset}: unknown block type {kind}")

    def _block(self, offset: int, size: int) -> tuple:
        """(contents, [(key, value start, value end)]) of a data block, cached."""
        hit = self._cache.get(offset)
        if hit is None:
            contents = self._read_block(offset, size, "data block")
            hit = (contents, _block_entries(contents, self, f"data block at {offset}"))
            # V1 readers revisit blocks of small tensors; a block holding one
            # big tensor is read once, so caching it would only pin memory.
            if len(contents) <= 1 << 20:
                if len(self._cache) >= 16:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[offset] = hit
        return hit

    def items(self):
        """Yield every ``(key, value)``, in key order; values are memoryviews."""
        previous = None
        for _, offset, size in self._index:
            contents, entries = self._block(offset, size)
            view = memoryview(contents)
            for key, start, end in entries:
                if previous is not None and key <= previous:
                    raise self._error("SSTable keys out of order")
                previous = key
                yield key, view[start:end]

    def first(self):
        """The first ``(key, value)`` or None for an empty table."""
        return next(self.items(), None)

    def get(self, key: bytes):
        """The value stored under ``key`` (a memoryview), or None."""
        i = bisect.bisect_left(self._keys, key)
        if i == len(self._index):
            return None
        contents, entries = self._block(self._index[i][1], self._index[i][2])
        for k, start, end in entries:
            if k == key:
                return memoryview(contents)[start:end]
        return None


def _block_entries(contents, table: Table, what: str) -> list:
    """Decode a block into ``[(key, value start, value end)]``."""
    size = len(contents)
    if size < 4:
        raise table._error(f"{what} of {size} bytes is too short")
    num_restarts = int.from_bytes(contents[-4:], "little")
    if num_restarts > (size - 4) // 4:
        raise table._error(f"{what}: {num_restarts} restart points do not fit "
                           f"in {size} bytes")
    limit = size - 4 - 4 * num_restarts
    entries = []
    key = b""
    pos = 0
    try:
        while pos < limit:
            shared, pos = _varint(contents, pos, limit, what)
            non_shared, pos = _varint(contents, pos, limit, what)
            value_len, pos = _varint(contents, pos, limit, what)
            if shared > len(key) or non_shared + value_len > limit - pos:
                raise CheckpointError(f"corrupt entry at offset {pos} in {what}")
            key = key[:shared] + contents[pos:pos + non_shared]
            pos += non_shared
            entries.append((key, pos, pos + value_len))
            pos += value_len
    except CheckpointError as e:
        raise table._error(e.reason) from None
    return entries


def snappy_decompress(src: bytes) -> bytes:
    """Decode raw (unframed) snappy, as LevelDB blocks store it.

        >>> snappy_decompress(bytes.fromhex("0a") + bytes([4 << 2]) + b"abcab" + bytes([1 | (1 << 2), 3]))
        b'abcabcabca'
    """
    n = len(src)
    expected, pos = _varint(src, 0, n, "snappy length")
    # A snappy element expands at most ~22x (a 64-byte copy in 3 bytes):
    # refuse a declared length that the input could not possibly produce.
    if expected > 32 * n + 64:
        raise CheckpointError(f"snappy block claims {expected} bytes from {n}")
    out = bytearray()
    while pos < n:
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                if pos + extra > n:
                    raise CheckpointError("truncated snappy literal length")
                length = int.from_bytes(src[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > n:
                raise CheckpointError("truncated snappy literal")
            out += src[pos:pos + length]
            pos += length
        else:
            if kind == 1:
                width, length = 1, 4 + ((tag >> 2) & 7)
            else:
                width, length = (2 if kind == 2 else 4), (tag >> 2) + 1
            if pos + width > n:
                raise CheckpointError("truncated snappy copy")
            offset = int.from_bytes(src[pos:pos + width], "little")
            if kind == 1:
                offset |= (tag >> 5) << 8
            pos += width
            if offset == 0 or offset > len(out):
                raise CheckpointError(f"snappy copy offset {offset} out of range")
            start = len(out) - offset
            if offset >= length:
                out += out[start:start + length]
            else:  # overlapping copy repeats the last `offset` bytes
                pattern = bytes(out[start:])
                out += (pattern * (length // offset + 1))[:length]
        if len(out) > expected:
            raise CheckpointError("snappy output longer than declared")
    if len(out) != expected:
        raise CheckpointError(f"snappy output of {len(out)} bytes, "
                              f"declared {expected}")
    return bytes(out)
