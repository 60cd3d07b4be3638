"""Partitioned variables: slice keys and reassembling slices into one tensor.

A partitioned variable (``tf.compat.v1.get_variable(..., partitioner=...)``)
is saved as several slices of one full tensor. Both checkpoint formats store
each slice under a key built by ``EncodeTensorNameSlice``
(``tensorflow/core/util/saved_tensor_slice_util.cc``) with TensorFlow's
``OrderedCode`` (``tensorflow/core/lib/strings/ordered_code.cc``)::

    NumIncreasing(0) String(name) NumIncreasing(rank)
    then per dimension SignedNumIncreasing(start) SignedNumIncreasing(length)

where a whole dimension is start 0, length -1.

    >>> slice_key("x", ((0, None),)).hex()
    '007800010101807f'
    >>> slice_key("w", ((0, 4), (2, 3))).hex()
    '00770001010280848283'
"""

from __future__ import annotations

import re

import numpy as np

from slimtorch.checkpoint.errors import CheckpointError

__all__ = ["assemble", "normalize", "slice_key"]


def _num_increasing(value: int) -> bytes:
    # A length byte, then the value big-endian without leading zero bytes.
    body = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return bytes([len(body)]) + body


def _escape(m: re.Match) -> bytes:
    return b"\x00\xff" if m.group() == b"\x00" else b"\xff\x00"


def _string(value: bytes) -> bytes:
    # 0x00 -> 00 ff and 0xff -> ff 00, then the 00 01 separator.
    return re.sub(rb"[\x00\xff]", _escape, value) + b"\x00\x01"


def _signed_increasing(value: int) -> bytes:
    # Sign bit, then as many copies of it as there are extra bytes, a
    # delimiter bit, then the two's-complement payload, big-endian.
    magnitude = ~value if value < 0 else value
    length = magnitude.bit_length() // 7 + 1
    out = bytearray(value.to_bytes(10, "big", signed=True)[10 - length:])
    header = (0xFFFF << (16 - length)) & 0xFFFF
    out[0] ^= header >> 8
    if length > 1:
        out[1] ^= header & 0xFF
    return bytes(out)


def slice_key(name: str, extents: tuple) -> bytes:
    """The table key TensorFlow stores slice ``extents`` of ``name`` under.

    ``extents`` holds one ``(start, length)`` per dimension, ``length`` None
    for a whole dimension (as in a ``TensorSliceProto``).
    """
    out = [b"\x00", _string(name.encode("utf-8")), _num_increasing(len(extents))]
    for start, length in extents:
        if length is None:
            start, length = 0, -1
        out.append(_signed_increasing(start))
        out.append(_signed_increasing(length))
    return b"".join(out)


def normalize(extents: tuple, shape: tuple) -> tuple:
    """Concrete ``(start, length)`` per dimension, checked against ``shape``.

    Raises :class:`CheckpointError` (without path) for a rank mismatch or an
    extent outside the tensor.

        >>> normalize(((0, None), (2, 3)), (4, 5))
        ((0, 4), (2, 3))
    """
    if len(extents) != len(shape):
        raise CheckpointError(f"slice of rank {len(extents)} for a tensor of "
                              f"shape {list(shape)}")
    out = []
    for (start, length), dim in zip(extents, shape):
        if length is None:
            start, length = 0, dim
        if start < 0 or length < 0 or start + length > dim:
            raise CheckpointError(f"slice extent start={start} length={length} "
                                  f"outside a dimension of {dim}")
        out.append((start, length))
    return tuple(out)


def volume(extents: tuple) -> int:
    """Number of elements in a normalized slice."""
    n = 1
    for _, length in extents:
        n *= length
    return n


def assemble(shape: tuple, dtype, pieces: list) -> np.ndarray:
    """Place ``pieces`` ``[(normalized extents, array)]`` into one array.

    Every element must be covered (as TensorFlow's reader requires); the
    caller has already bounded the total size by the bytes on disk.

        >>> a = assemble((3,), np.float32, [(((0, 1),), np.ones(1)), (((1, 2),), np.zeros(2))])
        >>> a.tolist()
        [1.0, 0.0, 0.0]
    """
    total = 1
    for d in shape:
        total *= d
    covered = sum(volume(extents) for extents, _ in pieces)
    if covered < total:
        raise CheckpointError(f"slices hold {covered} elements, fewer than the "
                              f"{total} of shape {list(shape)}")
    out = np.empty(shape, dtype=dtype)
    mask = np.zeros(shape, dtype=bool)
    for extents, arr in pieces:
        region = tuple(slice(s, s + n) for s, n in extents)
        out[region] = arr.reshape([n for _, n in extents])
        mask[region] = True
    if not mask.all():
        raise CheckpointError(f"slices do not cover the whole tensor of shape "
                              f"{list(shape)}")
    return out
