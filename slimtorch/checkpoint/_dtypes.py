"""TensorFlow ``DataType`` enum values and how their bytes become numpy arrays.

Enum values are from ``tensorflow/core/framework/types.proto``. Checkpoint
bytes are the tensor's in-memory layout: C order, little-endian unless the
bundle header says big-endian. Types numpy lacks are returned as the nearest
exact numpy type:

- ``bfloat16`` becomes float32 (exact: a bfloat16 is the top half of a float32);
- quantized types (``qint8``...) become their storage integers;
- ``string`` becomes an object array of ``bytes``.

    >>> lookup(14).name, public_dtype(lookup(14)), public_dtype(lookup(1))
    ('bfloat16', 'bfloat16', dtype('float32'))
    >>> to_array(lookup(14), bytes.fromhex("c03f"), ()).item()  # bf16 1.5
    1.5
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from slimtorch.checkpoint.errors import CheckpointError

__all__ = ["DType", "lookup", "public_dtype", "to_array"]


@dataclass(frozen=True)
class DType:
    """One ``DataType``: its enum, a name, and the numpy dtype of its bytes.

    ``storage`` is None for types whose elements are not fixed-size bytes
    (string, resource, variant) or that this reader does not support.
    """
    enum: int
    name: str
    storage: str | None

    @property
    def itemsize(self) -> int:
        return np.dtype(self.storage).itemsize

    @property
    def supported(self) -> bool:
        return self.storage is not None or self.name == "string"


_TABLE = {d.enum: d for d in [
    DType(1, "float32", "<f4"), DType(2, "float64", "<f8"),
    DType(3, "int32", "<i4"), DType(4, "uint8", "u1"), DType(5, "int16", "<i2"),
    DType(6, "int8", "i1"), DType(7, "string", None),
    DType(8, "complex64", "<c8"), DType(9, "int64", "<i8"),
    DType(10, "bool", "?"), DType(11, "qint8", "i1"), DType(12, "quint8", "u1"),
    DType(13, "qint32", "<i4"), DType(14, "bfloat16", "<u2"),
    DType(15, "qint16", "<i2"), DType(16, "quint16", "<u2"),
    DType(17, "uint16", "<u2"), DType(18, "complex128", "<c16"),
    DType(19, "float16", "<f2"), DType(20, "resource", None),
    DType(21, "variant", None), DType(22, "uint32", "<u4"),
    DType(23, "uint64", "<u8"),
    # Defined in newer TensorFlow; no numpy equivalent, so not decoded.
    DType(24, "float8_e5m2", None), DType(25, "float8_e4m3fn", None),
    DType(29, "int4", None), DType(30, "uint4", None),
]}

# Types numpy lacks: the dtype map reports their name instead of a np.dtype.
_NAME_ONLY = {"bfloat16", "qint8", "quint8", "qint16", "quint16", "qint32",
              "resource", "variant", "float8_e5m2", "float8_e4m3fn", "int4",
              "uint4"}


def lookup(enum: int) -> DType:
    """The :class:`DType` for a ``DataType`` value; unknown values get a
    placeholder that :func:`to_array` refuses."""
    found = _TABLE.get(enum)
    if found is None:
        return DType(enum, f"unknown_dtype_{enum}", None)
    return found


def public_dtype(dtype: DType):
    """What ``get_variable_to_dtype_map`` reports: the numpy dtype of the array
    ``get_tensor`` returns, or a name for types numpy lacks (``'bfloat16'``,
    quantized, float8...). Strings report ``np.dtype(object)``."""
    if dtype.name == "string":
        return np.dtype(object)
    if dtype.name in _NAME_ONLY or dtype.storage is None:
        return dtype.name
    return np.dtype(dtype.storage).newbyteorder("=")


def to_array(dtype: DType, buf, shape: tuple, big_endian: bool = False) -> np.ndarray:
    """Copy ``buf`` (exactly prod(shape) elements) into a native numpy array."""
    if dtype.storage is None:
        raise CheckpointError(f"unsupported dtype {dtype.name} (DataType {dtype.enum})")
    storage = np.dtype(dtype.storage)
    if big_endian:
        storage = storage.newbyteorder(">")
    count = 1
    for d in shape:
        count *= d
    arr = np.frombuffer(buf, dtype=storage, count=count).reshape(shape)
    if dtype.name == "bfloat16":
        # bfloat16 is the high half of a float32: widening is exact.
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(storage.newbyteorder("="), copy=True)
