"""CRC-32C (Castagnoli), the checksum of TensorFlow checkpoints, SSTables and TFRecords.

TensorFlow stores every checksum *masked* (rotated and offset) because
"it is problematic to compute the CRC of a string that contains embedded
CRCs" (``tsl/lib/hash/crc32c.h``). Reading them therefore needs
``crc32c`` and ``unmask``:

    >>> hex(crc32c(b"123456789"))
    '0xe3069283'
    >>> crc32c(b"6789", value=crc32c(b"12345")) == crc32c(b"123456789")
    True
    >>> unmask(masked_crc32c(b"abc")) == crc32c(b"abc")
    True

``google_crc32c`` (a C extension, several GB/s) is used when it can be
imported; otherwise :func:`crc32c_python`, a pure-Python fallback that
processes large inputs as many interleaved lanes with numpy (roughly
50-150 MB/s) so verifying a big tensor stays practical without it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IMPLEMENTATION", "crc32c", "crc32c_python", "mask", "masked_crc32c",
           "unmask"]

_MASK_DELTA = 0xA282EAD8  # kMaskDelta in tsl/lib/hash/crc32c.h
_POLY = 0x82F63B78        # Castagnoli polynomial, bit-reflected
_U32 = 0xFFFFFFFF


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)

try:  # the fast path; google_crc32c will be a slimtorch dependency
    import google_crc32c as _google
    if getattr(_google, "implementation", "c") != "c":
        _google = None  # its own pure-Python fallback is slower than ours
except ImportError:  # pragma: no cover - depends on the environment
    _google = None

#: ``"google_crc32c"`` or ``"python"``: which implementation :func:`crc32c` uses.
IMPLEMENTATION = "google_crc32c" if _google is not None else "python"


def _as_bytes_array(data) -> np.ndarray:
    """A zero-copy uint8 view of any contiguous buffer (bytes, mmap, ndarray)."""
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return np.frombuffer(data, dtype=np.uint8)


def crc32c(data, value: int = 0) -> int:
    """CRC-32C of ``data``, extending the checksum ``value`` of earlier bytes.

    ``data`` is any contiguous buffer: bytes, bytearray, memoryview, mmap or a
    numpy array (its raw bytes). Uses ``google_crc32c`` when available.

        >>> crc32c(b"")
        0
        >>> hex(crc32c(bytes(32)))
        '0x8a9136aa'
    """
    if _google is None:
        return crc32c_python(data, value)
    # google_crc32c accepts bytes or a numpy array, not memoryview/mmap:
    # a numpy view avoids copying a large tensor just to checksum it.
    if not isinstance(data, bytes):
        data = _as_bytes_array(data)
    return _google.extend(value, data)


def crc32c_python(data, value: int = 0) -> int:
    """Pure-Python/numpy CRC-32C; same result as :func:`crc32c`.

        >>> hex(crc32c_python(b"123456789"))
        '0xe3069283'
    """
    arr = _as_bytes_array(data)
    reg = (value ^ _U32) & _U32
    if arr.size >= 1 << 14:
        arr, reg = _lanes(arr, reg)
    table = _TABLE
    for b in arr.tobytes():
        reg = table[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg ^ _U32


def _zero_table16(table: np.ndarray) -> np.ndarray:
    """Register after two zero bytes, indexed by the register's low 16 bits."""
    reg = np.arange(1 << 16, dtype=np.uint32)
    for _ in range(2):
        reg = table[reg & 0xFF] ^ (reg >> 8)
    return reg


_TABLE16 = None  # built on first use: 256 KiB that most programs never need


def _lanes(arr: np.ndarray, reg: int) -> tuple[np.ndarray, int]:
    """Run the CRC register over most of ``arr`` as K interleaved lanes.

    The register update is linear over GF(2), so the register after a chunk
    started from ``r`` equals Z(r) ^ (register after the chunk started from
    0), where Z is the effect of as many zero bytes. Lane k processes chunk k
    from 0 (lane 0 from ``reg``); 32 extra all-zero lanes started from the
    basis vectors compute Z itself; the lanes are then folded in order. Each
    step consumes a little-endian 32-bit word per lane: XOR it into the
    register, then run two 16-bit table steps over zeros.
    Returns the unprocessed tail and the register after the folded chunks.
    """
    global _TABLE16
    if _TABLE16 is None:
        _TABLE16 = _zero_table16(_TABLE_NP)
    t16 = _TABLE16
    n = arr.size
    k = max(64, min(1 << 16, int((n / 2) ** 0.5)))  # balance loop vs. fold cost
    words = n // (4 * k)
    block = np.zeros((words, k + 32), dtype="<u4")
    block[:, :k] = arr[: 4 * k * words].view("<u4").reshape(k, words).T
    regs = np.zeros(k + 32, dtype=np.uint32)
    regs[0] = reg
    regs[k:] = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    low = np.empty_like(regs)
    looked = np.empty_like(regs)
    for row in block:
        np.bitwise_xor(regs, row, out=regs)
        for _ in range(2):
            np.bitwise_and(regs, 0xFFFF, out=low)
            np.take(t16, low, out=looked)
            np.right_shift(regs, 16, out=regs)
            np.bitwise_xor(regs, looked, out=regs)
    # Z as four byte-indexed tables: Z(r) = z0[r&255] ^ z1[r>>8&255] ^ ...
    basis = regs[k:]
    values = np.arange(256, dtype=np.uint32)
    z = []
    for j in range(4):
        t = np.zeros(256, dtype=np.uint32)
        for i in range(8):
            t ^= np.where((values >> i) & 1, basis[8 * j + i], np.uint32(0))
        z.append(t.tolist())
    z0, z1, z2, z3 = z
    lanes = regs[:k].tolist()
    reg = lanes[0]
    for r in lanes[1:]:
        reg = (z0[reg & 0xFF] ^ z1[(reg >> 8) & 0xFF] ^ z2[(reg >> 16) & 0xFF]
               ^ z3[reg >> 24] ^ r)
    return arr[4 * k * words:], reg


def mask(crc: int) -> int:
    """TensorFlow's masked form of a crc: rotate right by 15, add a constant.

        >>> hex(mask(0x83F4070F))
        '0xb0a1f2c0'
    """
    crc &= _U32
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`.

        >>> hex(unmask(0xB0A1F2C0))
        '0x83f4070f'
    """
    rot = (masked - _MASK_DELTA) & _U32
    return ((rot >> 17) | (rot << 15)) & _U32


def masked_crc32c(data, value: int = 0) -> int:
    """``mask(crc32c(data, value))``, the form stored in checkpoint files."""
    return mask(crc32c(data, value))
