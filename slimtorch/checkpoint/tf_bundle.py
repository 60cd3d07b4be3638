"""Read TensorFlow V2 checkpoints (tensor bundles) without TensorFlow.

A V2 checkpoint ``P`` (e.g. ``model.ckpt-1000``) is ``P.index``, an SSTable
mapping each tensor name to a ``BundleEntryProto`` (dtype, shape, shard,
offset, size, masked crc32c), plus data files ``P.data-0000i-of-0000N`` with
the raw tensor bytes (``tensorflow/core/util/tensor_bundle/tensor_bundle.cc``).
Written by ``tf.train.Checkpoint``, ``tf.compat.v1.train.Saver`` (the default
since TF 0.12) and Keras; TF-Slim model-zoo files from 2017 on are V2.

:class:`TFBundleReader` mirrors ``tf.train.load_checkpoint``'s reader::

    with TFBundleReader("model.ckpt-1000") as reader:
        shapes = reader.get_variable_to_shape_map()   # {name: [dims]}
        kernel = reader.get_tensor("conv1/weights")   # numpy, TF's layout

What it returns:

- arrays in the checkpoint's own layout (a conv kernel stays HWIO), as a
  fresh native-endian copy;
- ``bfloat16`` tensors as float32 (exact; numpy has no bfloat16) and
  quantized types as their storage integers; the dtype map names such types
  with a string (``'bfloat16'``, ``'qint8'``) and gives a ``np.dtype``
  otherwise;
- string tensors as object arrays of ``bytes`` (dtype map:
  ``np.dtype(object)``), e.g. TF2's ``_CHECKPOINTABLE_OBJECT_GRAPH``;
- partitioned variables as the reassembled full tensor, under the variable's
  name (the per-slice entries are not listed, as in TensorFlow).

The index is read when the reader opens; tensor bytes are read only by
``get_tensor``, through an mmap of the data file, and their crc32c is checked
unless ``verify_checksums=False``. Malformed files raise
:class:`~slimtorch.checkpoint.errors.CheckpointError` naming the file; a
missing name raises :class:`~slimtorch.checkpoint.errors.CheckpointKeyError`
(a ``KeyError``). ``resource``/``variant``/float8/int4 tensors are listed but
``get_tensor`` refuses them.
"""

from __future__ import annotations

import mmap
import os
import re

import numpy as np

from slimtorch._io.crc32c import crc32c, unmask
from slimtorch._io.errors import WireFormatError
from slimtorch._io.wire import read_varint
from slimtorch.checkpoint import _dtypes, _slices
from slimtorch.checkpoint._sstable import MAGIC, Table
from slimtorch.checkpoint._wire import parse_bundle_entry, parse_bundle_header
from slimtorch.checkpoint.errors import CheckpointError, CheckpointKeyError
from slimtorch.checkpoint.reader_base import CheckpointReader

__all__ = ["TFBundleReader", "checkpoint_prefix", "is_v2_checkpoint"]

_DATA_SUFFIX = re.compile(r"\.data-\d{5,}-of-\d{5,}$")
_BUNDLE_VERSION = 1      # kTensorBundleVersion
_MAX_RANK = 254          # TensorShape::MaxDimensions()
# NumPy arrays have at most NPY_MAXDIMS dimensions: 32 before NumPy 2, 64 since.
_NUMPY_MAX_RANK = 64 if int(np.__version__.split(".")[0]) >= 2 else 32
_MAX_ELEMENTS = (1 << 63) - 1


def checkpoint_prefix(path) -> str:
    """The prefix ``P`` of a V2 checkpoint given ``P``, ``P.index`` or a data file.

        >>> checkpoint_prefix("/ck/model.ckpt-100.data-00000-of-00002")
        '/ck/model.ckpt-100'
        >>> checkpoint_prefix("/ck/model.ckpt-100.index")
        '/ck/model.ckpt-100'
        >>> checkpoint_prefix("/ck/model.ckpt-100")
        '/ck/model.ckpt-100'
    """
    path = os.fspath(path)
    if path.endswith(".index"):
        return path[: -len(".index")]
    match = _DATA_SUFFIX.search(path)
    return path[: match.start()] if match else path


def is_v2_checkpoint(path) -> bool:
    """Whether ``path`` (prefix, ``.index`` or data file) names a V2 checkpoint:
    ``<prefix>.index`` exists and ends with the SSTable magic number.

        >>> is_v2_checkpoint("/no/such/model.ckpt")
        False
    """
    index = checkpoint_prefix(path) + ".index"
    try:
        with open(index, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < 48:
                return False
            f.seek(-8, os.SEEK_END)
            return f.read(8) == MAGIC
    except OSError:
        return False


def _check_shape(shape: tuple, unknown_rank: bool) -> None:
    """Reject shapes no saved tensor can have, or no NumPy array can hold
    (raises without a path)."""
    if unknown_rank:
        raise CheckpointError("tensor shape has unknown rank")
    if len(shape) > _MAX_RANK:
        raise CheckpointError(f"tensor of rank {len(shape)} (at most {_MAX_RANK})")
    if len(shape) > _NUMPY_MAX_RANK:
        raise CheckpointError(f"tensor of rank {len(shape)}: a NumPy array has at most "
                              f"{_NUMPY_MAX_RANK} dimensions")
    n = extent = 1
    for d in shape:
        if d < 0:
            raise CheckpointError(f"negative dimension in shape {list(shape)}")
        n *= d
        extent *= max(d, 1)
    if n > _MAX_ELEMENTS:
        raise CheckpointError(f"shape {list(shape)} has too many elements")
    # NumPy sizes even an empty array by its non-zero dimensions times the
    # item size (up to 16 bytes) and refuses it past int64 ("array is too big").
    if extent > _MAX_ELEMENTS // 16:
        raise CheckpointError(f"shape {list(shape)} is too large for an array")


def _num_elements(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class TFBundleReader(CheckpointReader):
    """Reader for the V2 checkpoint with prefix ``path`` (see the module doc).

    ``path`` may also be the ``.index`` file or a data file. Raises
    ``FileNotFoundError`` when there is no ``.index`` and
    :class:`CheckpointError` when it is malformed.
    """

    layout = "tf"  # tensors are in TensorFlow's layout (conv HWIO, dense [in, out])

    def __init__(self, path, verify_checksums: bool = True):
        self.prefix = self.path = checkpoint_prefix(path)
        self.index_path = self.prefix + ".index"
        self.verify_checksums = verify_checksums
        self._shards: dict[int, tuple] = {}
        self._closed = False
        with open(self.index_path, "rb") as f:
            data = f.read()
        table = Table(data, self.index_path, verify_checksums)
        self._entries: dict[str, object] = {}
        self._slice_entries: dict[bytes, object] = {}
        header = None
        for key, value in table.items():
            if header is None:
                if key != b"":
                    raise self._error("the first entry is not the bundle header")
                header = self._parse(parse_bundle_header, value, "the bundle header")
                continue
            entry = self._parse(parse_bundle_entry, value, f"entry {key!r}")
            try:
                _check_shape(entry.shape, entry.unknown_rank)
            except CheckpointError as e:
                raise self._error(f"entry {key!r}: {e.reason}") from None
            if key[:1] == b"\x00":  # EncodeTensorNameSlice keys start with 0
                self._slice_entries[key] = entry
                continue
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise self._error(f"tensor name {key!r} is not UTF-8") from None
            self._entries[name] = entry
        if header is None:
            raise self._error("empty index: no bundle header")
        self._check_header(header)
        self.num_shards = header.num_shards
        self.big_endian = header.endianness == 1

    # ------------------------------------------------------------ public API

    def get_variable_to_shape_map(self) -> dict:
        """``{name: [dim, ...]}`` for every tensor, as TensorFlow's reader."""
        return {name: list(e.shape) for name, e in self._entries.items()}

    def get_variable_to_dtype_map(self) -> dict:
        """``{name: dtype}``: the numpy dtype of ``get_tensor``'s result, or a
        name (``'bfloat16'``, ``'qint8'``...) for types numpy lacks."""
        return {name: _dtypes.public_dtype(_dtypes.lookup(e.dtype))
                for name, e in self._entries.items()}

    def has_tensor(self, name: str) -> bool:
        """Whether the checkpoint holds a tensor called ``name``."""
        return name in self._entries

    def __contains__(self, name) -> bool:
        return name in self._entries

    def get_torch_tensor(self, name: str):
        """``get_tensor`` as a torch tensor; bfloat16 tensors come back as
        ``torch.bfloat16`` (exactly the stored values). String tensors raise
        ``TypeError``: torch has no string tensors."""
        import torch
        value = torch.from_numpy(self.get_tensor(name))
        if _dtypes.lookup(self._entries[name].dtype).name == "bfloat16":
            value = value.to(torch.bfloat16)
        return value

    @property
    def global_step(self):
        """The scalar integer tensor ``global_step``, or None."""
        return _global_step(self)

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` as a numpy array (a copy), read from disk now."""
        if self._closed:
            raise ValueError(f"{self.index_path}: reader is closed")
        entry = self._entries.get(name)
        if entry is None:
            raise CheckpointKeyError(f"tensor {name!r} not found in checkpoint",
                                     path=self.index_path)
        if entry.slices:
            return self._read_partitioned(name, entry)
        return self._read(entry, name)

    def close(self) -> None:
        """Release the data files' mmaps; the reader can no longer read."""
        self._closed = True
        shards, self._shards = self._shards, {}
        for mm, f in shards.values():
            try:
                if isinstance(mm, mmap.mmap):
                    mm.close()
            except BufferError:  # a view is still referenced; GC will close it
                pass
            f.close()




    def __repr__(self) -> str:
        return (f"TFBundleReader({self.prefix!r}, {len(self._entries)} tensors, "
                f"{self.num_shards} shard(s))")

    # ------------------------------------------------------------ internals

    def _error(self, reason: str, path: str | None = None) -> CheckpointError:
        return CheckpointError(reason, path=path or self.index_path)

    def _parse(self, parser, value, what: str):
        try:
            return parser(value)
        except CheckpointError as e:
            raise self._error(f"cannot decode {what}: {e.reason}") from None

    def _check_header(self, header) -> None:
        # CheckVersions(version, kTensorBundleVersion, kTensorBundleMinProducer)
        if header.producer < 0:
            raise self._error(f"bundle producer version {header.producer} < 0")
        if header.min_consumer > _BUNDLE_VERSION:
            raise self._error(f"bundle needs reader version {header.min_consumer} "
                              f"(this one is {_BUNDLE_VERSION})")
        if _BUNDLE_VERSION in header.bad_consumers:
            raise self._error(f"bundle disallows reader version {_BUNDLE_VERSION}")
        if header.endianness not in (0, 1):
            raise self._error(f"unknown endianness {header.endianness}")
        if not 1 <= header.num_shards <= 1 << 20:
            if header.num_shards == 0 and not self._entries and not self._slice_entries:
                return  # an empty bundle
            raise self._error(f"absurd number of shards {header.num_shards}")
        for name, entry in list(self._entries.items()) + list(self._slice_entries.items()):
            if not entry.slices and not 0 <= entry.shard_id < header.num_shards:
                raise self._error(f"entry {name!r}: shard {entry.shard_id} of "
                                  f"{header.num_shards}")
            if entry.offset < 0 or entry.size < 0:
                raise self._error(f"entry {name!r}: negative offset or size")

    def _data_path(self, shard_id: int) -> str:
        return f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}"

    def _shard(self, shard_id: int):
        """The mmap (or b'' for an empty file) of data file ``shard_id``."""
        hit = self._shards.get(shard_id)
        if hit is None:
            path = self._data_path(shard_id)
            try:
                f = open(path, "rb")
            except FileNotFoundError:
                raise self._error("data file is missing", path=path) from None
            size = os.fstat(f.fileno()).st_size
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            hit = self._shards[shard_id] = (mm, f)
        return hit[0]

    def _read(self, entry, label: str) -> np.ndarray:
        """Read, check and decode a non-partitioned entry."""
        dtype = _dtypes.lookup(entry.dtype)
        path = self._data_path(entry.shard_id)
        if not dtype.supported:
            raise self._error(f"tensor {label!r} has unsupported dtype {dtype.name} "
                              f"(DataType {dtype.enum})")
        n = _num_elements(entry.shape)
        if dtype.storage is not None and entry.size != n * dtype.itemsize:
            raise self._error(f"tensor {label!r}: {entry.size} bytes do not hold "
                              f"shape {list(entry.shape)} of {dtype.name}")
        data = self._shard(entry.shard_id)
        if entry.offset + entry.size > len(data):
            raise self._error(f"tensor {label!r}: bytes [{entry.offset}, "
                              f"{entry.offset + entry.size}) run past the end of the "
                              f"file ({len(data)} bytes)", path=path)
        view = np.frombuffer(data, dtype=np.uint8, count=entry.size, offset=entry.offset) \
            if entry.size else np.zeros(0, dtype=np.uint8)
        try:
            if dtype.name == "string":
                return self._decode_strings(view, entry, n, label, path)
            if self.verify_checksums and crc32c(view) != unmask(entry.crc32c):
                raise self._error(f"tensor {label!r}: checksum does not match", path=path)
            return _dtypes.to_array(dtype, view, entry.shape, self.big_endian)
        finally:
            del view  # let close() unmap: no view may outlive this call

    def _decode_strings(self, view, entry, n: int, label: str, path: str) -> np.ndarray:
        """DT_STRING: varint64 lengths, masked crc of the lengths, the bytes.

        The entry's crc covers the lengths as uint32 (uint64 if larger), the
        4 raw checksum bytes and the string bytes (``WriteStringTensor``).
        """
        raw = view.tobytes()
        if n > len(raw):  # each length takes at least one byte
            raise self._error(f"tensor {label!r}: {n} strings in {len(raw)} bytes",
                              path=path)
        out = np.empty(entry.shape, dtype=object)  # size now bounded by the file
        if not raw:
            return out
        order = "big" if self.big_endian else "little"
        lengths = []
        pos = 0
        try:
            for _ in range(n):
                length, pos = read_varint(raw, pos, len(raw))
                lengths.append(length)
        except WireFormatError:
            raise self._error(f"tensor {label!r}: truncated string lengths",
                              path=path) from None
        if pos + 4 + sum(lengths) != len(raw):
            raise self._error(f"tensor {label!r}: string lengths do not add up to "
                              f"the entry size", path=path)
        if self.verify_checksums:
            packed = b"".join(x.to_bytes(4 if x <= 0xFFFFFFFF else 8, order)
                              for x in lengths)
            crc = crc32c(packed)
            stored = int.from_bytes(raw[pos:pos + 4], order)
            if unmask(stored) != crc:
                raise self._error(f"tensor {label!r}: string length checksum does "
                                  f"not match", path=path)
            crc = crc32c(raw[pos + 4:], crc32c(raw[pos:pos + 4], crc))
            if crc != unmask(entry.crc32c):
                raise self._error(f"tensor {label!r}: checksum does not match",
                                  path=path)
        pos += 4
        flat = out.reshape(-1)
        for i, length in enumerate(lengths):
            flat[i] = raw[pos:pos + length]
            pos += length
        return out

    def _read_partitioned(self, name: str, entry) -> np.ndarray:
        """Reassemble a partitioned variable from its slice entries."""
        dtype = _dtypes.lookup(entry.dtype)
        found = []
        for extents in entry.slices:
            try:
                normalized = _slices.normalize(extents, entry.shape)
            except CheckpointError as e:
                raise self._error(f"tensor {name!r}: {e.reason}") from None
            piece = self._slice_entries.get(_slices.slice_key(name, extents))
            if piece is None:
                raise self._error(f"tensor {name!r}: slice {list(normalized)} has no "
                                  f"entry")
            if piece.dtype != entry.dtype or piece.slices or \
                    piece.shape != tuple(n for _, n in normalized):
                raise self._error(f"tensor {name!r}: slice {list(normalized)} entry "
                                  f"does not match the slice")
            found.append((normalized, piece))
        # Bound what we allocate by the bytes on disk: distinct slices are
        # distinct byte ranges, so all of them fit in the shards they use.
        shards = {piece.shard_id for _, piece in found}
        on_disk = sum(len(self._shard(s)) for s in shards)
        if sum(piece.size for _, piece in found) > on_disk:
            raise self._error(f"tensor {name!r}: slices claim more bytes than the "
                              f"data files hold")
        if len({extents for extents, _ in found}) != len(found):
            raise self._error(f"tensor {name!r}: the same slice is listed twice")
        pieces = [(extents, self._read(piece, f"{name} slice {list(extents)}"))
                  for extents, piece in found]
        out_dtype = object if dtype.name == "string" else pieces[0][1].dtype
        try:
            return _slices.assemble(entry.shape, out_dtype, pieces)
        except CheckpointError as e:
            raise self._error(f"tensor {name!r}: {e.reason}") from None


def _global_step(reader):
    """Shared by both readers: ``global_step`` as an int, or None."""
    if not reader.has_tensor("global_step"):
        return None
    dtype = reader.get_variable_to_dtype_map()["global_step"]
    if reader.get_variable_to_shape_map()["global_step"] != [] or \
            not isinstance(dtype, np.dtype) or dtype.kind not in "iu":
        return None
    return int(reader.get_tensor("global_step"))
