"""The TensorFlow checkpoint metadata messages, decoded from protobuf wire format.

No dependency on the ``protobuf`` package: the handful of messages a
checkpoint holds are decoded field by field with the primitives of
:mod:`slimtorch._io.wire`. Unknown fields are skipped (as protobuf does),
absent fields take proto3 defaults (0, empty), and malformed bytes raise
:class:`~slimtorch.checkpoint.errors.CheckpointError` (without a path; the
readers add the file's path).

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

import contextlib
from dataclasses import dataclass, field

import numpy as np

from slimtorch._io.errors import WireFormatError
from slimtorch._io.wire import FIXED32, LENGTH, VARINT, expect, iter_fields, packed_varints, to_int64
from slimtorch.checkpoint.errors import CheckpointError

__all__ = ["BundleEntry", "BundleHeader", "SavedSlice", "SavedSliceMeta",
           "TensorProtoFields", "as_checkpoint_error", "parse_bundle_entry",
           "parse_bundle_header", "parse_saved_tensor_slices"]


@contextlib.contextmanager
def as_checkpoint_error():
    """Restate :mod:`slimtorch._io`'s neutral wire-format errors as
    :class:`CheckpointError`, message unchanged and without a path (the
    readers add it). Also a decorator.

        >>> with as_checkpoint_error():
        ...     list(iter_fields(b"\\x08"))
        Traceback (most recent call last):
        ...
        slimtorch.checkpoint.errors.CheckpointError: truncated varint
    """
    try:
        yield
    except WireFormatError as error:
        raise CheckpointError(str(error)) from None


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


@as_checkpoint_error()
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
            expect(wire, (VARINT,), "BundleHeaderProto.num_shards")
            num_shards = to_int64(value)
        elif number == 2:
            expect(wire, (VARINT,), "BundleHeaderProto.endianness")
            endianness = value
        elif number == 3:
            expect(wire, (LENGTH,), "BundleHeaderProto.version")
            version = _parse_version(buf, *value)
    return BundleHeader(num_shards, endianness, *version)


def _parse_shape(buf, start, end) -> tuple[tuple, bool]:
    dims = []
    unknown_rank = False
    for number, wire, value in iter_fields(buf, start, end):
        if number == 2:
            expect(wire, (LENGTH,), "TensorShapeProto.dim")
            size = 0
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    expect(w2, (VARINT,), "TensorShapeProto.Dim.size")
                    size = to_int64(v2)
            dims.append(size)
        elif number == 3:
            expect(wire, (VARINT,), "TensorShapeProto.unknown_rank")
            unknown_rank = bool(value)
    return tuple(dims), unknown_rank


def _parse_slice(buf, start, end) -> tuple:
    extents = []
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            expect(wire, (LENGTH,), "TensorSliceProto.extent")
            begin, length = 0, None
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    expect(w2, (VARINT,), "TensorSliceProto.Extent.start")
                    begin = to_int64(v2)
                elif n2 == 2:
                    expect(w2, (VARINT,), "TensorSliceProto.Extent.length")
                    length = to_int64(v2)
            extents.append((begin, length))
    return tuple(extents)


@as_checkpoint_error()
def parse_bundle_entry(buf) -> BundleEntry:
    """Decode a ``BundleEntryProto`` (see the module docstring's example)."""
    buf = memoryview(buf).cast("B")
    dtype = shard_id = offset = size = crc = 0
    shape, unknown_rank = (), False
    slices = []
    for number, wire, value in iter_fields(buf):
        if number == 1:
            expect(wire, (VARINT,), "BundleEntryProto.dtype")
            dtype = value
        elif number == 2:
            expect(wire, (LENGTH,), "BundleEntryProto.shape")
            shape, unknown_rank = _parse_shape(buf, *value)
        elif number == 3:
            expect(wire, (VARINT,), "BundleEntryProto.shard_id")
            shard_id = to_int64(value)
        elif number == 4:
            expect(wire, (VARINT,), "BundleEntryProto.offset")
            offset = to_int64(value)
        elif number == 5:
            expect(wire, (VARINT,), "BundleEntryProto.size")
            size = to_int64(value)
        elif number == 6:
            expect(wire, (FIXED32,), "BundleEntryProto.crc32c")
            crc = value
        elif number == 7:
            expect(wire, (LENGTH,), "BundleEntryProto.slices")
            slices.append(_parse_slice(buf, *value))
    return BundleEntry(dtype, shape, unknown_rank, shard_id, offset, size, crc,
                       tuple(slices))


def _parse_tensor_proto(buf, start, end) -> TensorProtoFields:
    out = TensorProtoFields(buf=buf)
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1 and wire == VARINT:
            out.dtype = value
        elif number == 4:
            expect(wire, (LENGTH,), "TensorProto.tensor_content")
            out.tensor_content = value
        elif 5 <= number <= 13 or number in (16, 17):  # the typed value fields
            out.runs.setdefault(number, []).append((wire, value))
    return out


def _parse_string(buf, start, end, what) -> str:
    try:
        return bytes(buf[start:end]).decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{what} is not valid UTF-8") from None


@as_checkpoint_error()
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
            expect(wire, (LENGTH,), "SavedTensorSlices.meta")
            meta = [] if meta is None else meta
            for n2, w2, v2 in iter_fields(buf, *value):
                if n2 == 1:
                    expect(w2, (LENGTH,), "SavedTensorSliceMeta.tensor")
                    meta.append(_parse_slice_meta(buf, *v2))
        elif number == 2:
            expect(wire, (LENGTH,), "SavedTensorSlices.data")
            data = _parse_saved_slice(buf, *value)
    return meta, data


def _parse_slice_meta(buf, start, end) -> SavedSliceMeta:
    name, dtype = "", 0
    shape, unknown_rank = (), False
    slices = []
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            expect(wire, (LENGTH,), "SavedSliceMeta.name")
            name = _parse_string(buf, *value, "SavedSliceMeta.name")
        elif number == 2:
            expect(wire, (LENGTH,), "SavedSliceMeta.shape")
            shape, unknown_rank = _parse_shape(buf, *value)
        elif number == 3:
            expect(wire, (VARINT,), "SavedSliceMeta.type")
            dtype = value
        elif number == 4:
            expect(wire, (LENGTH,), "SavedSliceMeta.slice")
            slices.append(_parse_slice(buf, *value))
    return SavedSliceMeta(name, shape, unknown_rank, dtype, tuple(slices))


def _parse_saved_slice(buf, start, end) -> SavedSlice:
    out = SavedSlice("", None, None)
    for number, wire, value in iter_fields(buf, start, end):
        if number == 1:
            expect(wire, (LENGTH,), "SavedSlice.name")
            out.name = _parse_string(buf, *value, "SavedSlice.name")
        elif number == 2:
            expect(wire, (LENGTH,), "SavedSlice.slice")
            out.slice = _parse_slice(buf, *value)
        elif number == 3:
            expect(wire, (LENGTH,), "SavedSlice.data")
            out.data = _parse_tensor_proto(buf, *value)
    return out
