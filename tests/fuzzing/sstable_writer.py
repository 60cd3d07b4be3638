"""Writing TensorFlow SSTables (and raw snappy) for structure-aware fuzzing.

The checkpoint readers verify every block's crc32c, so a byte flip inside a
block only ever reaches the checksum check. Here the mutated table is
re-encoded with correct checksums, with a chosen block size (several data
blocks, a multi-entry index block), restart interval and compression, and
optionally with one block's contents mutated *before* its checksum is
computed (restart counts, shared-prefix lengths, block handles that lie).

    >>> table = build_table([(b"", b"h"), (b"a", b"1"), (b"ab", b"2")], block_size=8)
    >>> read_entries(table)
    [(b'', b'h'), (b'a', b'1'), (b'ab', b'2')]
    >>> snappy_decompress(snappy_compress(b"abcabcabcabcx" * 3)) == b"abcabcabcabcx" * 3
    True
"""

from __future__ import annotations

from fuzzing.byte_ops import mutate_bytes
from slimtorch._io.crc32c import masked_crc32c
from slimtorch.checkpoint._sstable import MAGIC, Table, snappy_decompress

__all__ = ["build_table", "read_entries", "snappy_compress", "snappy_decompress"]


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _literal(chunk: bytes) -> bytes:
    n = len(chunk) - 1
    if n < 60:
        return bytes([n << 2]) + chunk
    width = (n.bit_length() + 7) // 8
    return bytes([(59 + width) << 2]) + n.to_bytes(width, "little") + chunk


def snappy_compress(data: bytes) -> bytes:
    """Raw snappy (greedy 4-byte matches, copies with 2-byte offsets;
    overlapping copies appear for runs)."""
    out = bytearray(_varint(len(data)))
    seen: dict = {}
    i = start = 0
    n = len(data)
    while i + 4 <= n:
        j = seen.get(data[i:i + 4])
        seen[data[i:i + 4]] = i
        if j is None or i - j > 0xFFFF:
            i += 1
            continue
        length = 4
        while i + length < n and length < 64 and data[j + length] == data[i + length]:
            length += 1
        if i > start:
            out += _literal(data[start:i])
        out += bytes([(length - 1) << 2 | 2]) + (i - j).to_bytes(2, "little")
        i = start = i + length
    if n > start:
        out += _literal(data[start:])
    return bytes(out)


def _block(entries: list, restart_interval: int) -> bytes:
    out, restarts, previous = bytearray(), [], b""
    for k, (key, value) in enumerate(entries):
        shared = 0
        if k % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        previous = key
    restarts = restarts or [0]
    out += b"".join(r.to_bytes(4, "little") for r in restarts)
    return bytes(out + len(restarts).to_bytes(4, "little"))


def build_table(entries: list, block_size: int = 4096, restart_interval: int = 16,
                snappy: bool = False, tamper: tuple | None = None) -> bytes:
    """An SSTable holding ``entries`` (``[(key, value)]``, kept in the order
    given: the caller may break the sort order on purpose).

    ``tamper = (block, kind, a, b)`` applies :func:`mutate_bytes` to the
    contents of block ``block % number of blocks`` (data blocks, then the
    metaindex, then the index block) before its checksum is computed; an odd
    ``b`` with ``snappy`` tampers with the compressed bytes instead.
    """
    groups, current, size = [], [], 0
    for key, value in entries:
        current.append((key, value))
        size += len(key) + len(value) + 3
        if size >= block_size:
            groups.append(current)
            current, size = [], 0
    if current or not groups:
        groups.append(current)
    contents = [_block(g, restart_interval) for g in groups]
    count = len(contents) + 2
    target = None if tamper is None else tamper[0] % count
    out = bytearray()

    def emit(raw: bytes, number: int) -> bytes:
        late = snappy and tamper is not None and tamper[3] & 1
        if number == target and not late:
            raw = mutate_bytes(raw, *tamper[1:])
        kind = 0
        if snappy:
            raw, kind = snappy_compress(raw), 1
            if number == target and late:
                raw = mutate_bytes(raw, *tamper[1:])
        handle = _varint(len(out)) + _varint(len(raw))
        body = raw + bytes([kind])
        out.extend(body + masked_crc32c(body).to_bytes(4, "little"))
        return handle

    index = []
    for number, (group, raw) in enumerate(zip(groups, contents)):
        handle = emit(raw, number)
        if group:
            index.append((group[-1][0], handle))
    meta = emit(_block([], 1), count - 2)
    index_handle = emit(_block(index, 1), count - 1)
    footer = (meta + index_handle).ljust(40, b"\x00")
    return bytes(out) + footer + MAGIC


def read_entries(data: bytes):
    """``[(key, value)]`` of a table (checksums not verified), or None when
    ``data`` is not a readable table."""
    try:
        return [(bytes(k), bytes(v)) for k, v in Table(data, "<fuzz>", False).items()]
    except Exception:  # a corpus entry already broken: no structure to mutate
        return None
