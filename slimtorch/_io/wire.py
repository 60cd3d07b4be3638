"""Protobuf wire-format decoding primitives, without the ``protobuf`` package.

The building blocks that the message parsers of :mod:`slimtorch.checkpoint`
(checkpoint metadata) and :mod:`slimtorch.data` (``tf.train.Example``) share:
varints, a field iterator, a wire-type check and the repeated-field runs.
Malformed bytes raise :class:`~slimtorch._io.errors.WireFormatError`, which
each caller restates as its own error type.

    >>> [(number, wire) for number, wire, _ in iter_fields(b"\\x08\\x01\\x12\\x00")]
    [(1, 0), (2, 2)]
"""

from __future__ import annotations

import struct

import numpy as np

from slimtorch._io.errors import WireFormatError, WireTypeError

__all__ = ["FIXED32", "FIXED64", "LENGTH", "VARINT", "bytes_run", "expect",
           "fixed_run", "iter_fields", "packed_varints", "read_varint",
           "to_int64", "varint_run"]

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_U64 = 1 << 64


def read_varint(buf, pos: int, end: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``buf[pos:end]``; return (value, next pos).

        >>> read_varint(b"\\xac\\x02", 0, 2)
        (300, 2)
    """
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireFormatError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & (_U64 - 1), pos
        shift += 7
        if shift >= 70:  # a varint has at most 10 bytes
            raise WireFormatError("varint longer than 10 bytes")


def to_int64(value: int) -> int:
    """Reinterpret a decoded uint64 varint as a two's-complement int64.

        >>> to_int64((1 << 64) - 1)
        -1
    """
    return value - _U64 if value >= 1 << 63 else value


def iter_fields(buf, start: int = 0, end: int | None = None):
    """Yield ``(field_number, wire_type, value)`` for each field of a message.

    ``value`` is an int for varint/fixed32/fixed64 fields and a ``(start,
    end)`` pair of positions in ``buf`` for length-delimited ones.

        >>> list(iter_fields(b"\\x08\\x96\\x01\\x12\\x02ab"))
        [(1, 0, 150), (2, 2, (5, 7))]
    """
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireFormatError("protobuf field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
        elif wire == LENGTH:
            n, pos = read_varint(buf, pos, end)
            if n > end - pos:
                raise WireFormatError(f"length-delimited field {number} runs past "
                                      f"its message ({n} bytes, {end - pos} left)")
            value = (pos, pos + n)
            pos += n
        elif wire == FIXED32 or wire == FIXED64:
            width = 4 if wire == FIXED32 else 8
            if width > end - pos:
                raise WireFormatError(f"truncated fixed{8 * width} field {number}")
            value = int.from_bytes(buf[pos:pos + width], "little")
            pos += width
        else:  # groups (3, 4) do not occur in these messages; 6, 7 are invalid
            raise WireFormatError(f"unsupported protobuf wire type {wire} "
                                  f"(field {number})")
        yield number, wire, value


def expect(wire: int, allowed: tuple, what: str) -> None:
    """Raise :class:`~slimtorch._io.errors.WireTypeError` unless ``wire`` is
    one of the ``allowed`` wire types of the field named ``what``.

        >>> expect(LENGTH, (LENGTH, FIXED32), "FloatList.value")
        >>> expect(VARINT, (LENGTH,), "Example.features")
        Traceback (most recent call last):
        ...
        slimtorch._io.errors.WireTypeError: Example.features has wire type 0, expected 2
    """
    if wire not in allowed:
        raise WireTypeError(what, wire, allowed)


def packed_varints(buf, start: int, end: int) -> np.ndarray:
    """Decode a packed run of varints into a uint64 array, vectorized.

        >>> packed_varints(b"\\x01\\xac\\x02\\x7f", 0, 4).tolist()
        [1, 300, 127]
    """
    b = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    if b.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if b[-1] >= 0x80:
        raise WireFormatError("truncated packed varint")
    last = np.flatnonzero(b < 0x80)
    first = np.empty_like(last)
    first[0] = 0
    first[1:] = last[:-1] + 1
    lengths = last - first + 1
    if lengths.max() > 10:
        raise WireFormatError("varint longer than 10 bytes")
    out = np.zeros(last.size, dtype=np.uint64)
    for j in range(int(lengths.max())):
        live = lengths > j
        chunk = (b[first[live] + j] & 0x7F).astype(np.uint64)
        out[live] |= chunk << np.uint64(7 * j)
    return out


# ------------------------------------------- repeated fields, as (wire, value) runs


def fixed_run(buf, runs: list, width: int, fmt: str) -> np.ndarray:
    """Concatenate a repeated fixed-width field (packed runs and singles).

    ``runs`` lists the field's occurrences as ``(wire type, value)`` pairs,
    as :func:`iter_fields` yields them.

        >>> fixed_run(b"\\x00\\x00\\x80?", [(LENGTH, (0, 4)), (FIXED32, 0x40000000)],
        ...           4, "<f4").tolist()
        [1.0, 2.0]
    """
    parts = []
    for wire, value in runs:
        if wire == LENGTH:
            start, end = value
            if (end - start) % width:
                raise WireFormatError(f"packed fixed{8 * width} run of "
                                      f"{end - start} bytes")
            parts.append(np.frombuffer(buf, dtype=fmt, count=(end - start) // width,
                                       offset=start))
        elif wire == (FIXED32 if width == 4 else FIXED64):
            packed = struct.pack("<I" if width == 4 else "<Q", value)
            parts.append(np.frombuffer(packed, dtype=fmt))
        else:
            raise WireFormatError(f"fixed{8 * width} field with wire type {wire}")
    if len(parts) == 1:  # the usual single packed run: no concatenation copy
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=fmt)


def varint_run(buf, runs: list) -> np.ndarray:
    """Concatenate a repeated varint field (packed runs and singles) as uint64."""
    parts = []
    for wire, value in runs:
        if wire == LENGTH:
            parts.append(packed_varints(buf, *value))
        elif wire == VARINT:
            parts.append(np.array([value], dtype=np.uint64))
        else:
            raise WireFormatError(f"varint field with wire type {wire}")
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def bytes_run(buf, runs: list, what: str) -> list[bytes]:
    """The elements of a repeated bytes field named ``what``."""
    out = []
    for wire, value in runs:
        expect(wire, (LENGTH,), what)
        out.append(bytes(buf[value[0]:value[1]]))
    return out
