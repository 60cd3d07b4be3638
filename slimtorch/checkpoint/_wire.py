"""Just enough protobuf wire-format decoding for TensorFlow checkpoint metadata.

No dependency on the ``protobuf`` package: the handful of messages a
checkpoint holds are decoded field by field. Unknown fields are skipped (as
protobuf does), absent fields take proto3 defaults (0, empty), and malformed
bytes raise :class:`~slimtorch.checkpoint.errors.CheckpointError` (without a
path; the readers add the file's path).

Messages (field numbers from ``tensorflow/core/protobuf/tensor_bundle.proto``,
``framework/{tensor,tensor_shape,tensor_slice,versions}.proto`` and
``util/saved_tensor_slice.proto``):

- ``BundleHeaderProto {num_shards=1, endianness=2, version=3}``
- ``BundleEntryProto {dtype=1, shape=2, shard_id=3, offset=4, size=5,
  crc32c=6 (fixed32), slices=7}``
- ``TensorShapeProto {dim=2 {size=1, name=2}, unknown_rank=3}``
- ``TensorSliceProto {extent=1 {start=1, length=2}}``
- ``SavedTensorSlices {meta=1 {tensor=1 SavedSliceMeta {name=1, shape=2,
  type=3, slice=4}, versions=2}, data=2 SavedSlice {name=1, slice=2,
  data=3 TensorProto}}``

    >>> parse_bundle_entry(bytes.fromhex("0801120412020802280835") + bytes(4))
    BundleEntry(dtype=1, shape=(2,), unknown_rank=False, shard_id=0, offset=0, size=8, crc32c=0, slices=())
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from slimtorch.checkpoint.errors import CheckpointError

__all__ = ["BundleEntry", "BundleHeader", "SavedSlice", "SavedSliceMeta",
           "TensorProtoFields", "iter_fields", "packed_varints",
           "parse_bundle_entry", "parse_bundle_header",
           "parse_saved_tensor_slices", "read_varint"]

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
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & (_U64 - 1), pos
        shift += 7
        if shift >= 70:  # a varint has at most 10 bytes
            raise CheckpointError("varint longer than 10 bytes")


def to_int64(value: int) -> int:
    """Reinterpret a decoded uint64 varint as a two's-complement int64."""
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
            raise CheckpointError("protobuf field number 0")
        if wire == VARINT:
            value, pos = read_varint(buf, pos, end)
        elif wire == LENGTH:
            n, pos = read_varint(buf, pos, end)
            if n > end - pos:
                raise CheckpointError(f"length-delimited field {number} runs past "
                                      f"its message ({n} bytes, {end - pos} left)")
            value = (pos, pos + n)
            pos += n
        elif wire == FIXED32 or wire == FIXED64:
            width = 4 if wire == FIXED32 else 8
            if width > end - pos:
                raise CheckpointError(f"truncated fixed{8 * width} field {number}")
            value = int.from_bytes(buf[pos:pos + width], "little")
            pos += width
        else:  # groups (3, 4) do not occur in these messages; 6, 7 are invalid
            raise CheckpointError(f"unsupported protobuf wire type {wire} "
                                  f"(field {number})")
        yield number, wire, value


def _expect(wire: int, wanted: int, what: str) -> None:
    if wire != wanted:
        raise CheckpointError(f"{what} has wire type {wire}, expected {wanted}")


def packed_varints(buf, start: int, end: int) -> np.ndarray:
    """Decode a packed run of varints into a uint64 array, vectorized.

        >>> packed_varints(b"\\x01\\xac\\x02\\x7f", 0, 4).tolist()
        [1, 300, 127]
    """
    b = np.frombuffer(buf, dtype=np.uint8, count=end - start, offset=start)
    if b.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if b[-1] >= 0x80:
        raise CheckpointError("truncated packed varint")
    last = np.flatnonzero(b < 0x80)
    first = np.empty_like(last)
    first[0] = 0
    first[1:] = last[:-1] + 1
    lengths = last - first + 1
    if lengths.max() > 10:
        raise CheckpointError("varint longer than 10 bytes")
    out = np.zeros(last.size, dtype=np.uint64)
    for j in range(int(lengths.max())):
        live = lengths > j
        chunk = (b[first[live] + j] & 0x7F).astype(np.uint64)
        out[live] |= chunk << np.uint64(7 * j)
    return out


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class BundleHeader:
    """``BundleHeaderProto``: shard count, endianness (0 little, 1 big), version."""
    num_shards: int = 0
    endianness: int = 0
    producer: int = 0
    min_consumer: int = 0
    bad_consumers: tuple = ()


@dataclass(frozen=True)
class BundleEntry:
    """``BundleEntryProto``: where one tensor's bytes are, and what they are.

    ``slices`` is non-empty for a partitioned tensor; each slice is a tuple of
    ``(start, length)`` extents, ``length`` None for a whole dimension.
    """
    dtype: int = 0
    shape: tuple = ()
    unknown_rank: bool = False
    shard_id: int = 0
    offset: int = 0
    size: int = 0
    crc32c: int = 0
    slices: tuple = ()


@dataclass
class TensorProtoFields:
    """The parts of a ``TensorProto`` a V1 checkpoint uses: raw field runs.

    ``runs`` maps a field number to its occurrences, in order, each either
    ``(start, end)`` positions of a packed run / string, or an int (an
    unpacked scalar). Which field holds the values depends on the dtype, so
    the V1 reader interprets them.
    """
    buf: object = None
    dtype: int = 0
    tensor_content: tuple | None = None
    runs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SavedSliceMeta:
    """``SavedSliceMeta``: a tensor's name, full shape, dtype and slices."""
    name: str
    shape: tuple
    unknown_rank: bool
    dtype: int
    slices: tuple


@dataclass
class SavedSlice:
    """``SavedSlice``: the data of one slice of one tensor."""
    name: str
    slice: tuple | None
    data: TensorProtoFields | None


def _parse_version(buf, start, end):
    producer = min_consumer = 0
    bad = []
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1 and wire == VARINT:
            producer = to_int64(value)
        elif number == 2 and wire == VARINT:
            min_consumer = to_int64(value)
        elif number == 3 and wire == VARINT:
            bad.append(to_int64(value))
        elif number == 3 and wire == LENGTH:
            bad.extend(int(v) for v in packed_varints(buf, *value).view(np.int64))
    return producer, min_consumer, tuple(bad)


def parse_bundle_header(buf) -> BundleHeader:
    """Decode a ``BundleHeaderProto``.

        >>> parse_bundle_header(b"\\x08\\x01\\x1a\\x02\\x08\\x01")
        BundleHeader(num_shards=1, endianness=0, producer=1, min_consumer=0, bad_consumers=())
    """
    buf = memoryview(buf).cast("B")
    num_shards = endianness = 0
    version = (0, 0, ())
    for number, wire, value in iter_fields(buf):
        if number == 1:
            _expect(wire, VARINT, "BundleHeaderProto.num_shards")
            num_shards = to_int64(value)
        elif number == 2:
            _expect(wire, VARINT, "BundleHeaderProto.endianness")
            endianness = value
        elif number == 3:
            _expect(wire, LENGTH, "BundleHeaderProto.version")
            version = _parse_version(buf, *value)
    return BundleHeader(num_shards, endianness, *version)


def _parse_shape(buf, start, end) -> tuple[tuple, bool]:
    dims = []
    unknown_rank = False
    for number, wire, value in iter_fields(buf, start, end):
        if number == 2:
            _expect(wire, LENGTH, "TensorShapeProto.dim")
            size = 0
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    _expect(w2, VARINT, "TensorShapeProto.Dim.size")
                    size = to_int64(v2)
            dims.append(size)
        elif number == 3:
            _expect(wire, VARINT, "TensorShapeProto.unknown_rank")
            unknown_rank = bool(value)
    return tuple(dims), unknown_rank


def _parse_slice(buf, start, end) -> tuple:
    extents = []
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            _expect(wire, LENGTH, "TensorSliceProto.extent")
            begin, length = 0, None
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    _expect(w2, VARINT, "TensorSliceProto.Extent.start")
                    begin = to_int64(v2)
                elif n2 == 2:
                    _expect(w2, VARINT, "TensorSliceProto.Extent.length")
                    length = to_int64(v2)
            extents.append((begin, length))
    return tuple(extents)


def parse_bundle_entry(buf) -> BundleEntry:
    """Decode a ``BundleEntryProto`` (see the module docstring's example)."""
    buf = memoryview(buf).cast("B")
    dtype = shard_id = offset = size = crc = 0
    shape, unknown_rank = (), False
    slices = []
    for number, wire, value in iter_fields(buf):
        if number == 1:
            _expect(wire, VARINT, "BundleEntryProto.dtype")
            dtype = value
        elif number == 2:
            _expect(wire, LENGTH, "BundleEntryProto.shape")
            shape, unknown_rank = _parse_shape(buf, *value)
        elif number == 3:
            _expect(wire, VARINT, "BundleEntryProto.shard_id")
            shard_id = to_int64(value)
        elif number == 4:
            _expect(wire, VARINT, "BundleEntryProto.offset")
            offset = to_int64(value)
        elif number == 5:
            _expect(wire, VARINT, "BundleEntryProto.size")
            size = to_int64(value)
        elif number == 6:
            _expect(wire, FIXED32, "BundleEntryProto.crc32c")
            crc = value
        elif number == 7:
            _expect(wire, LENGTH, "BundleEntryProto.slices")
            slices.append(_parse_slice(buf, *value))
    return BundleEntry(dtype, shape, unknown_rank, shard_id, offset, size, crc,
                       tuple(slices))


def _parse_tensor_proto(buf, start, end) -> TensorProtoFields:
    out = TensorProtoFields(buf=buf)
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1 and wire == VARINT:
            out.dtype = value
        elif number == 4:
            _expect(wire, LENGTH, "TensorProto.tensor_content")
            out.tensor_content = value
        elif 5 <= number <= 13 or number in (16, 17):  # the typed value fields
            out.runs.setdefault(number, []).append((wire, value))
    return out


def _parse_string(buf, start, end, what) -> str:
    try:
        return bytes(buf[start:end]).decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{what} is not valid UTF-8") from None


def parse_saved_tensor_slices(buf) -> tuple[list | None, SavedSlice | None]:
    """Decode a V1 ``SavedTensorSlices``: ``(meta tensors or None, data or None)``.

    ``meta`` (only in the entry with the empty key) lists every tensor as a
    :class:`SavedSliceMeta`; every other entry carries one :class:`SavedSlice`.

        >>> meta, data = parse_saved_tensor_slices(
        ...     bytes.fromhex("0a0d0a0b0a01771204120208021801"))
        >>> meta, data
        ([SavedSliceMeta(name='w', shape=(2,), unknown_rank=False, dtype=1, slices=())], None)
    """
    buf = memoryview(buf).cast("B")
    meta = None
    data = None
    for number, wire, value in iter_fields(buf):
        if number == 1:
            _expect(wire, LENGTH, "SavedTensorSlices.meta")
            meta = [] if meta is None else meta
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    _expect(w2, LENGTH, "SavedTensorSliceMeta.tensor")
                    meta.append(_parse_slice_meta(buf, *v2))
        elif number == 2:
            _expect(wire, LENGTH, "SavedTensorSlices.data")
            data = _parse_saved_slice(buf, *value)
    return meta, data


def _parse_slice_meta(buf, start, end) -> SavedSliceMeta:
    name, dtype = "", 0
    shape, unknown_rank = (), False
    slices = []
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            _expect(wire, LENGTH, "SavedSliceMeta.name")
            name = _parse_string(buf, *value, "SavedSliceMeta.name")
        elif number == 2:
            _expect(wire, LENGTH, "SavedSliceMeta.shape")
            shape, unknown_rank = _parse_shape(buf, *value)
        elif number == 3:
            _expect(wire, VARINT, "SavedSliceMeta.type")
            dtype = value
        elif number == 4:
            _expect(wire, LENGTH, "SavedSliceMeta.slice")
            slices.append(_parse_slice(buf, *value))
    return SavedSliceMeta(name, shape, unknown_rank, dtype, tuple(slices))


def _parse_saved_slice(buf, start, end) -> SavedSlice:
    out = SavedSlice("", None, None)
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            _expect(wire, LENGTH, "SavedSlice.name")
            out.name = _parse_string(buf, *value, "SavedSlice.name")
        elif number == 2:
            _expect(wire, LENGTH, "SavedSlice.slice")
            out.slice = _parse_slice(buf, *value)
        elif number == 3:
            _expect(wire, LENGTH, "SavedSlice.data")
            out.data = _parse_tensor_proto(buf, *value)
    return out


def fixed_run(buf, runs: list, width: int, fmt: str) -> np.ndarray:
    """Concatenate a repeated fixed-width field (packed runs and singles)."""
    parts = []
    for wire, value in runs:
        if wire == LENGTH:
            start, end = value
            if (end - start) % width:
                raise CheckpointError(f"packed fixed{8 * width} run of "
                                      f"{end - start} bytes")
            parts.append(np.frombuffer(buf, dtype=fmt, count=(end - start) // width,
                                       offset=start))
        elif wire == (FIXED32 if width == 4 else FIXED64):
            packed = struct.pack("<I" if width == 4 else "<Q", value)
            parts.append(np.frombuffer(packed, dtype=fmt))
        else:
            raise CheckpointError(f"fixed{8 * width} field with wire type {wire}")
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
            raise CheckpointError(f"varint field with wire type {wire}")
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def string_run(buf, runs: list) -> list[bytes]:
    """The elements of a repeated bytes field."""
    out = []
    for wire, value in runs:
        _expect(wire, LENGTH, "TensorProto.string_val")
        out.append(bytes(buf[value[0]:value[1]]))
    return out
