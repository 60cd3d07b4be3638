"""Format-blind mutations: bit flips, truncations, insertions, copies.

Each takes the bytes and two ints ``a`` (usually a position) and ``b`` (a
size or a value) and returns new bytes; all are total (any ``a``/``b`` works,
empty input included), so random ints always make a valid mutation.

    >>> mutate_bytes(b"abcd", 0, 1, 0)   # flip bit 0 of byte 1
    b'accd'
    >>> mutate_bytes(b"abcd", 3, 0, 2)   # truncate to 2 bytes
    b'ab'
"""

from __future__ import annotations

import random

__all__ = ["INTERESTING", "MAGICS", "mutate_bytes", "random_bytes"]

#: Integers that sit on the edges of the readers' checks (sizes, int64/uint64
#: limits, dtype enums, rank limits).
INTERESTING = (0, 1, 2, 3, 7, 8, 14, 20, 31, 64, 127, 128, 254, 255, 256, 4096,
               (1 << 16) - 1, 1 << 20, 100 << 20, (1 << 31) - 1, 1 << 31,
               (1 << 32) - 1, 1 << 32, 1 << 40, 1 << 53, 1 << 62, (1 << 63) - 1,
               1 << 63, (1 << 64) - 1)

#: Starts or ends of other formats, to steer ``load_checkpoint``'s detection.
MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x04", b"\x1f\x8b",
          bytes.fromhex("57fb808b247547db"), b"{", b"\x00" * 8)

_KINDS = 9


def random_bytes(seed: int, n: int) -> bytes:
    """``n`` pseudo-random bytes determined by ``seed``."""
    return random.Random(seed).randbytes(n)


def _interesting(b: int, width: int) -> bytes:
    value = INTERESTING[b % len(INTERESTING)] % (1 << (8 * width))
    return value.to_bytes(width, "little")


def mutate_bytes(data: bytes, kind: int, a: int, b: int) -> bytes:
    """Apply generic mutation ``kind % 9`` at ``a`` with parameter ``b``."""
    n = len(data)
    kind %= _KINDS
    if n == 0:
        return random_bytes(b, 1 + a % 16)
    i = a % n
    if kind == 0:    # flip one bit
        return data[:i] + bytes([data[i] ^ (1 << (b % 8))]) + data[i + 1:]
    if kind == 1:    # set one byte
        return data[:i] + bytes([b & 0xFF]) + data[i + 1:]
    if kind == 2:    # an edge-case integer, 1/2/4/8 bytes little-endian
        width = (1, 2, 4, 8)[(b >> 8) % 4]
        return data[:i] + _interesting(b, width) + data[i + width:]
    if kind == 3:    # truncate
        return data[:b % (n + 1)]
    if kind == 4:    # insert random bytes
        return data[:i] + random_bytes(b, 1 + b % 16) + data[i:]
    if kind == 5:    # delete a range
        return data[:i] + data[i + 1 + b % 64:]
    if kind == 6:    # duplicate a chunk elsewhere
        chunk = data[i:i + 1 + (b >> 16) % 64]
        j = b % (n + 1)
        return data[:j] + chunk + data[j:]
    if kind == 7:    # overwrite with a copy of another region
        src = b % n
        chunk = data[src:src + 1 + (b >> 16) % 32]
        return data[:i] + chunk + data[i + len(chunk):]
    # another format's magic at the start or the end
    magic = MAGICS[b % len(MAGICS)]
    return magic + data[len(magic):] if (b >> 8) % 2 else data[:n - len(magic)] + magic
