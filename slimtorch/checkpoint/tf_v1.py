"""Read TensorFlow V1 checkpoints (one ``.ckpt`` file) without TensorFlow.

V1 was TensorFlow's format before r0.12; the 2016 TF-Slim model-zoo files
(``inception_v3.ckpt``, ``resnet_v1_50.ckpt``...) use it. The file is one
SSTable (``tensorflow/core/util/tensor_slice_writer.cc``) whose values are
``SavedTensorSlices`` protos (``util/saved_tensor_slice.proto``):

- key ``""``: ``meta``, listing every tensor's name, shape, dtype and slices;
- one key per slice (``EncodeTensorNameSlice(name, slice)``): ``data``, the
  slice's values in a ``TensorProto``'s typed repeated fields (``float_val``,
  ``int_val``, ``int64_val``, ``half_val``, ``string_val``...), not
  ``tensor_content`` (``saved_tensor_slice_util.h``).

A variable saved whole has one full slice; a partitioned variable one slice
per partition, reassembled here into the full tensor.

:class:`TFV1Reader` has the interface of :class:`~slimtorch.checkpoint.
tf_bundle.TFBundleReader` and returns the same kinds of arrays (string
tensors as object arrays of ``bytes``). TensorFlow 2.21 writes V1 float16,
uint16 and complex tensors but cannot read them back; this reader can.
bfloat16 would be read from ``half_val`` (TensorFlow cannot write it in V1,
so that path is untested against real files). Sharded V1 checkpoints
(``model.ckpt-00000-of-00002``...) are not supported: open one file at a
time.

The whole file is memory-mapped; blocks are read and checksummed when a
tensor needs them. Old (pre-1.1) files may hold snappy-compressed blocks,
which are decoded.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from slimtorch._io.wire import bytes_run, fixed_run, varint_run
from slimtorch.checkpoint import _dtypes, _slices, _wire
from slimtorch.checkpoint._sstable import MAGIC, Table
from slimtorch.checkpoint.errors import CheckpointError, CheckpointKeyError
from slimtorch.checkpoint.reader_base import CheckpointReader
from slimtorch.checkpoint.tf_bundle import _check_shape, _global_step, _num_elements

__all__ = ["TFV1Reader", "is_v1_checkpoint"]


def is_v1_checkpoint(path) -> bool:
    """Whether ``path`` is a V1 checkpoint file: an SSTable (magic number at
    the end) whose first entry decodes as ``SavedTensorSlices`` metadata.

        >>> is_v1_checkpoint("/no/such/model.ckpt")
        False
    """
    path = os.fspath(path)
    try:
        if not os.path.isfile(path) or os.path.getsize(path) < 48:
            return False
        with open(path, "rb") as f:
            f.seek(-8, os.SEEK_END)
            if f.read(8) != MAGIC:
                return False
        with TFV1Reader(path):
            return True
    except (OSError, CheckpointError):
        return False


class TFV1Reader(CheckpointReader):
    """Reader for the V1 checkpoint file ``path`` (see the module doc).

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError`
    for one that is not a valid V1 checkpoint.
    """

    layout = "tf"  # tensors are in TensorFlow's layout (conv HWIO, dense [in, out])

    def __init__(self, path, verify_checksums: bool = True):
        self.path = os.fspath(path)
        self.verify_checksums = verify_checksums
        self._closed = False
        self._file = open(self.path, "rb")
        try:
            size = os.fstat(self._file.fileno()).st_size
            self._data = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) \
                if size else b""
            self._table = Table(self._data, self.path, verify_checksums)
            self._meta = self._read_meta()
        except BaseException:
            self.close()
            raise

    def _error(self, reason: str) -> CheckpointError:
        return CheckpointError(reason, path=self.path)

    def _read_meta(self) -> dict:
        first = self._table.first()
        if first is None or first[0] != b"":
            raise self._error("no SavedTensorSlices metadata entry (key '')")
        try:
            meta, _ = _wire.parse_saved_tensor_slices(first[1])
        except CheckpointError as e:
            raise self._error(f"cannot decode the metadata entry: {e.reason}") from None
        if meta is None:
            raise self._error("the first entry holds no SavedTensorSlices metadata")
        out = {}
        for tensor in meta:
            try:
                _check_shape(tensor.shape, tensor.unknown_rank)
                if not tensor.slices:
                    raise CheckpointError("no slices listed")
                slices = [_slices.normalize(s, tensor.shape) for s in tensor.slices]
            except CheckpointError as e:
                raise self._error(f"tensor {tensor.name!r}: {e.reason}") from None
            if len(set(slices)) != len(slices):
                raise self._error(f"tensor {tensor.name!r}: the same slice is listed twice")
            if tensor.name in out:
                raise self._error(f"tensor {tensor.name!r} is listed twice")
            out[tensor.name] = tensor
        return out

    # ------------------------------------------------------------ public API

    def get_variable_to_shape_map(self) -> dict:
        """``{name: [dim, ...]}`` for every tensor, as TensorFlow's reader."""
        return {name: list(t.shape) for name, t in self._meta.items()}

    def get_variable_to_dtype_map(self) -> dict:
        """``{name: dtype}``: the numpy dtype of ``get_tensor``'s result, or a
        name (``'bfloat16'``...) for types numpy lacks."""
        return {name: _dtypes.public_dtype(_dtypes.lookup(t.dtype))
                for name, t in self._meta.items()}

    def has_tensor(self, name: str) -> bool:
        """Whether the checkpoint holds a tensor called ``name``."""
        return name in self._meta

    def __contains__(self, name) -> bool:
        return name in self._meta

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` as a numpy array (a copy), read from disk now."""
        if self._closed:
            raise ValueError(f"{self.path}: reader is closed")
        meta = self._meta.get(name)
        if meta is None:
            raise CheckpointKeyError(f"tensor {name!r} not found in checkpoint",
                                     path=self.path)
        dtype = _dtypes.lookup(meta.dtype)
        if not dtype.supported:
            raise self._error(f"tensor {name!r} has unsupported dtype {dtype.name} "
                              f"(DataType {dtype.enum})")
        pieces = []
        for extents in meta.slices:
            normalized = _slices.normalize(extents, meta.shape)  # checked at open
            pieces.append((normalized, self._read_slice(meta, extents, normalized, dtype)))
        if len(pieces) == 1 and pieces[0][0] == tuple((0, d) for d in meta.shape):
            return pieces[0][1].reshape(meta.shape)
        try:
            return _slices.assemble(meta.shape, pieces[0][1].dtype, pieces)
        except CheckpointError as e:
            raise self._error(f"tensor {name!r}: {e.reason}") from None

    def get_torch_tensor(self, name: str):
        """``get_tensor`` as a torch tensor (bfloat16 as ``torch.bfloat16``;
        string tensors raise ``TypeError``)."""
        import torch
        value = torch.from_numpy(self.get_tensor(name))
        if _dtypes.lookup(self._meta[name].dtype).name == "bfloat16":
            value = value.to(torch.bfloat16)
        return value

    @property
    def global_step(self):
        """The scalar integer tensor ``global_step``, or None."""
        return _global_step(self)

    def close(self) -> None:
        """Release the file and its mmap."""
        self._closed = True
        self._table = None
        data, self._data = getattr(self, "_data", b""), b""
        if isinstance(data, mmap.mmap):
            try:
                data.close()
            except BufferError:  # a view is still referenced; GC will close it
                pass
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()




    def __repr__(self) -> str:
        return f"TFV1Reader({self.path!r}, {len(self._meta)} tensors)"

    # ------------------------------------------------------------ internals

    def _read_slice(self, meta, extents: tuple, normalized: tuple, dtype) -> np.ndarray:
        name = meta.name
        where = f"tensor {name!r} slice {list(normalized)}"
        value = self._table.get(_slices.slice_key(name, extents))
        if value is None:
            raise self._error(f"{where}: no data entry")
        try:
            _, saved = _wire.parse_saved_tensor_slices(value)
            if saved is None or saved.data is None:
                raise CheckpointError("entry holds no slice data")
            if saved.name != name:
                raise CheckpointError(f"entry is for tensor {saved.name!r}")
            if saved.slice is not None and \
                    _slices.normalize(saved.slice, meta.shape) != normalized:
                raise CheckpointError("entry is for another slice")
            return _values(saved.data, dtype, _num_elements([n for _, n in normalized]))
        except CheckpointError as e:
            raise self._error(f"{where}: {e.reason}") from None


# TensorProto fields the V1 writer fills, per dtype (saved_tensor_slice_util.h).
_INT_VAL, _INT64_VAL, _BOOL_VAL, _HALF_VAL = 7, 10, 11, 13
_VARINT_FIELD = {"int32": _INT_VAL, "int16": _INT_VAL, "int8": _INT_VAL,
                 "uint8": _INT_VAL, "uint16": _INT_VAL, "qint8": _INT_VAL,
                 "quint8": _INT_VAL, "qint16": _INT_VAL, "quint16": _INT_VAL,
                 "qint32": _INT_VAL, "int64": _INT64_VAL, "bool": _BOOL_VAL,
                 "float16": _HALF_VAL, "bfloat16": _HALF_VAL,
                 "uint32": 16, "uint64": 17}
_FIXED_FIELD = {"float32": (5, 4, "<f4"), "float64": (6, 8, "<f8"),
                "complex64": (9, 4, "<f4"), "complex128": (12, 8, "<f8")}


@_wire.as_checkpoint_error()
def _values(proto, dtype, count: int) -> np.ndarray:
    """The flat values of a slice's ``TensorProto`` as ``dtype`` (raises
    CheckpointError without a path)."""
    name = dtype.name
    if name == "string":
        values = bytes_run(proto.buf, proto.runs.get(8, []), "TensorProto.string_val")
        if len(values) != count:
            raise CheckpointError(f"{len(values)} strings, expected {count}")
        out = np.empty(count, dtype=object)
        out[:] = values
        return out
    if proto.tensor_content is not None and proto.tensor_content[1] > proto.tensor_content[0]:
        start, end = proto.tensor_content
        if end - start != count * dtype.itemsize:
            raise CheckpointError(f"tensor_content of {end - start} bytes for "
                                  f"{count} {name} values")
        return _dtypes.to_array(dtype, proto.buf[start:end], (count,))
    if name in _FIXED_FIELD:
        field, width, fmt = _FIXED_FIELD[name]
        raw = fixed_run(proto.buf, proto.runs.get(field, []), width, fmt)
        if name.startswith("complex"):
            if raw.size % 2:
                raise CheckpointError("odd number of complex components")
            raw = raw.astype(fmt.replace("<", "="), copy=False).view(
                np.complex64 if name == "complex64" else np.complex128)
        values = raw
    elif name in _VARINT_FIELD:
        raw = varint_run(proto.buf, proto.runs.get(_VARINT_FIELD[name], []))
        if name == "bool":
            values = raw != 0
        elif name in ("float16", "bfloat16"):
            bits = raw.astype(np.uint16)
            values = bits.view(np.float16) if name == "float16" else \
                (bits.astype(np.uint32) << 16).view(np.float32)
        else:  # int_val holds sign-extended int32s: reinterpret, then narrow
            values = raw.view(np.int64).astype(np.dtype(dtype.storage).newbyteorder("="))
    else:
        raise CheckpointError(f"unsupported dtype {name} (DataType {dtype.enum})")
    if values.size != count:
        raise CheckpointError(f"{values.size} values, expected {count}")
    return np.array(values, dtype=values.dtype.newbyteorder("="), copy=True)
