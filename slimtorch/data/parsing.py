"""TF's ``tf.io.parse_single_example`` and its feature specs, eagerly.

TF-Slim dataset code describes a ``tf.train.Example`` with a dict of specs
(``keys_to_features``) and parses it before its item handlers run. This
module gives the same specs and the parse, on top of
:func:`~slimtorch.data.decode_example`:

* :class:`FixedLenFeature` ``(shape, dtype, default_value=None)``: a dense
  value reshaped to ``shape``; a missing key takes ``default_value`` (or is
  an error when there is none);
* :class:`VarLenFeature` ``(dtype)``: every value, as a
  :class:`SparseTensorValue` with ``indices`` ``[[0], [1], ...]``;
* :class:`FixedLenSequenceFeature` ``(shape, dtype, allow_missing=False)``:
  a dense ``[-1] + shape`` value (a missing key is empty when
  ``allow_missing``).

Numbers come out as torch tensors (int64 / float32, as TF's dtypes). Strings
have no torch dtype: a scalar string is ``bytes`` and any other shape a numpy
``object`` array of ``bytes``, which is what ``sess.run`` gives in TF.

The dtype names TF code passes (``tf.string``, ``tf.int64``, ``tf.float32``,
``tf.uint8``, ``tf.uint16``) are here too, with ``zeros`` and
``TFRecordReader`` (and ``io.FixedLenFeature`` etc. for ``tf.io.``
spellings), so a research/slim dataset file runs with its ``import
tensorflow as tf`` replaced by ``from slimtorch.data import parsing as tf``.

    >>> from slimtorch.data import encode_example
    >>> record = encode_example({"label": 3, "boxes": [0.5, 0.25]})
    >>> parsed = parse_single_example(record, {
    ...     "label": FixedLenFeature([], int64),
    ...     "boxes": VarLenFeature(float32),
    ...     "text": FixedLenFeature((), string, default_value="none")})
    >>> parsed["label"], parsed["boxes"].values, parsed["text"]
    (tensor(3), tensor([0.5000, 0.2500]), b'none')
"""

from __future__ import annotations

import math
import types
from typing import Any, NamedTuple

import numpy as np
import torch

from slimtorch.data.example import decode_example, decode_sequence_example
from slimtorch.data.parallel_reader import TFRecordReader

__all__ = ["FixedLenFeature", "FixedLenSequenceFeature", "SparseTensorValue", "TFRecordReader",
           "VarLenFeature", "float32", "float64", "int32", "int64", "parse_single_example",
           "parse_single_sequence_example",
           "io", "string", "uint8", "uint16", "zeros"]

#: TF's ``tf.string``: there is no torch string dtype, so strings are bytes.
string = "string"
int64, int32, float32, float64 = torch.int64, torch.int32, torch.float32, torch.float64
uint8, uint16 = torch.uint8, torch.uint16
zeros = torch.zeros  # tf.zeros(shape, dtype=...) for numeric default values


class FixedLenFeature(NamedTuple):
    """``tf.io.FixedLenFeature(shape, dtype, default_value=None)``."""
    shape: Any
    dtype: Any
    default_value: Any = None


class VarLenFeature(NamedTuple):
    """``tf.io.VarLenFeature(dtype)``: all values as a :class:`SparseTensorValue`."""
    dtype: Any


class FixedLenSequenceFeature(NamedTuple):
    """``tf.io.FixedLenSequenceFeature(shape, dtype, allow_missing=False, default_value=None)``."""
    shape: Any
    dtype: Any
    allow_missing: bool = False
    default_value: Any = None


class SparseTensorValue(NamedTuple):
    """TF's ``SparseTensorValue``: ``indices`` ``[nnz, rank]`` (int64),
    ``values`` ``[nnz]`` and ``dense_shape`` ``[rank]`` (int64).

        >>> s = SparseTensorValue(torch.tensor([[1], [3]]), torch.tensor([5., 6.]), torch.tensor([4]))
        >>> s.to_dense()
        tensor([0., 5., 0., 6.])
    """
    indices: Any
    values: Any
    dense_shape: Any

    def to_dense(self, default_value=0):
        """``tf.sparse.to_dense``: the dense value, ``default_value`` elsewhere."""
        shape = [int(d) for d in self.dense_shape]
        indices = torch.as_tensor(self.indices, dtype=torch.int64).reshape(-1, len(shape))
        if isinstance(self.values, np.ndarray) and self.values.dtype == object:
            dense = np.full(shape, _as_bytes(default_value or b""), dtype=object)
            for row, value in zip(indices.tolist(), self.values.tolist()):
                dense[tuple(row)] = value
            return dense
        values = torch.as_tensor(self.values)
        dense = torch.full(shape, default_value, dtype=values.dtype)
        if values.numel():
            dense[tuple(indices.T)] = values
        return dense


def _as_bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else value


def _is_string(dtype) -> bool:
    return dtype in (string, bytes, str, "str", "bytes")


def _check_dtype(dtype, key: str):
    if _is_string(dtype) or dtype in (int64, float32):
        return
    raise TypeError(f"parse_single_example: feature {key!r} has dtype {dtype}; a tf.train.Example "
                    "holds only string, int64 or float32 (use parsing.string / int64 / float32)")


def _values(raw: list, dtype, key: str):
    """A 1-D value of ``dtype`` from a decoded feature's list."""
    if _is_string(dtype):
        if raw and not isinstance(raw[0], bytes):
            raise TypeError(f"parse_single_example: feature {key!r} holds numbers, the spec "
                            "says string (BytesList)")
        out = np.empty(len(raw), dtype=object)
        out[:] = raw
        return out
    if raw and isinstance(raw[0], bytes):
        raise TypeError(f"parse_single_example: feature {key!r} holds bytes, the spec says {dtype}")
    if raw and dtype == int64 and not isinstance(raw[0], int):
        raise TypeError(f"parse_single_example: feature {key!r} holds floats (FloatList), "
                        "the spec says int64")
    if raw and dtype == float32 and isinstance(raw[0], int):
        raise TypeError(f"parse_single_example: feature {key!r} holds int64s (Int64List), "
                        "the spec says float32")
    return torch.tensor(raw, dtype=dtype)


def _reshape(values, shape, key: str):
    shape = [int(d) for d in shape]
    if len(values) != math.prod(shape):
        raise ValueError(f"parse_single_example: feature {key!r} has {len(values)} values, its "
                         f"FixedLenFeature shape {shape} needs {math.prod(shape)}")
    if isinstance(values, np.ndarray):
        return values[0] if not shape else values.reshape(shape)
    return values.reshape(shape)


def _default(spec, key: str):
    shape = [int(d) for d in spec.shape]
    default = spec.default_value
    if _is_string(spec.dtype):
        if isinstance(default, np.ndarray):
            return default.reshape(shape)
        if not shape:
            return _as_bytes(default)
        return np.full(shape, _as_bytes(default), dtype=object)
    return torch.as_tensor(default, dtype=spec.dtype).expand(shape).clone()


def _parse_one(key: str, spec, raw):
    if isinstance(spec, VarLenFeature):
        _check_dtype(spec.dtype, key)
        values = _values(raw or [], spec.dtype, key)
        count = len(values)
        return SparseTensorValue(torch.arange(count, dtype=torch.int64).reshape(count, 1),
                                 values, torch.tensor([count]))
    if isinstance(spec, FixedLenSequenceFeature):
        _check_dtype(spec.dtype, key)
        if raw is None and not spec.allow_missing:
            raise ValueError(f"parse_single_example: feature {key!r} is missing (pass "
                             "allow_missing=True to read it as empty)")
        values = _values(raw or [], spec.dtype, key)
        inner = [int(d) for d in spec.shape]
        return values.reshape([-1] + inner)
    if isinstance(spec, FixedLenFeature):
        _check_dtype(spec.dtype, key)
        if raw is None:
            if spec.default_value is None:
                raise ValueError(f"parse_single_example: feature {key!r} is required (its "
                                 "FixedLenFeature has no default_value) but the example lacks it")
            return _default(spec, key)
        return _reshape(_values(raw, spec.dtype, key), spec.shape, key)
    raise TypeError(f"parse_single_example: the spec of {key!r} is a {type(spec).__name__}; "
                    "expected FixedLenFeature, VarLenFeature or FixedLenSequenceFeature")


def parse_single_example(serialized, features: dict) -> dict:
    """``tf.io.parse_single_example(serialized, features)``, eagerly.

    Args:
      serialized: a serialized ``tf.train.Example`` (bytes), or the dict
        :func:`~slimtorch.data.decode_example` made of one.
      features: ``{key: FixedLenFeature | VarLenFeature | FixedLenSequenceFeature}``.

    Returns:
      ``{key: value}`` for every key of ``features`` (see the module docstring
      for the value types). A feature of the wrong kind, or of the wrong size
      for its fixed shape, raises naming the key.

        >>> parse_single_example(b"", {"x": FixedLenFeature([2], int64, default_value=[1, 2])})
        {'x': tensor([1, 2])}
    """
    decoded = serialized if isinstance(serialized, dict) else decode_example(serialized)
    return {key: _parse_one(key, spec, decoded.get(key)) for key, spec in features.items()}


def _parse_steps(key: str, spec, steps):
    """A sequence feature (one value list per step) under its spec."""
    if isinstance(spec, VarLenFeature):
        _check_dtype(spec.dtype, key)
        steps = steps or []
        indices = [[t, i] for t, step in enumerate(steps) for i in range(len(step))]
        values = _values([v for step in steps for v in step], spec.dtype, key)
        width = max((len(step) for step in steps), default=0)
        return SparseTensorValue(torch.tensor(indices, dtype=torch.int64).reshape(-1, 2), values,
                                 torch.tensor([len(steps), width]))
    if isinstance(spec, FixedLenSequenceFeature):
        _check_dtype(spec.dtype, key)
        if steps is None and not spec.allow_missing:
            raise ValueError(f"parse_single_sequence_example: sequence feature {key!r} is missing "
                             "(pass allow_missing=True to read it as empty)")
        inner = [int(d) for d in spec.shape]
        rows = [_reshape(_values(step, spec.dtype, key), inner, key) for step in steps or []]
        if not rows:
            return _values([], spec.dtype, key).reshape([0] + inner)
        return np.stack(rows) if isinstance(rows[0], np.ndarray) else torch.stack(rows)
    raise TypeError(f"parse_single_sequence_example: the spec of sequence feature {key!r} is a "
                    f"{type(spec).__name__}; expected VarLenFeature or FixedLenSequenceFeature")


def parse_single_sequence_example(serialized, context_features=None, sequence_features=None):
    """``tf.io.parse_single_sequence_example``, eagerly: ``(context, feature_lists)``.

    ``context_features`` are parsed as :func:`parse_single_example` does. A
    sequence ``VarLenFeature`` gives a 2-D :class:`SparseTensorValue`
    (``[steps, longest step]``); a ``FixedLenSequenceFeature(shape)`` gives a
    dense ``[steps] + shape`` value.

        >>> from slimtorch.data.example import encode_sequence_example
        >>> record = encode_sequence_example({}, {"x": [[1.0, 2.0], [3.0]]})
        >>> _, lists = parse_single_sequence_example(record, {}, {"x": VarLenFeature(float32)})
        >>> lists["x"].to_dense(-1.0)
        tensor([[ 1.,  2.],
                [ 3., -1.]])
    """
    context, feature_lists = decode_sequence_example(serialized)
    parsed_context = {key: _parse_one(key, spec, context.get(key))
                      for key, spec in (context_features or {}).items()}
    parsed_lists = {key: _parse_steps(key, spec, feature_lists.get(key))
                    for key, spec in (sequence_features or {}).items()}
    return parsed_context, parsed_lists


#: ``tf.io``'s spellings of the same names (``tf.io.FixedLenFeature``, ...).
io = types.SimpleNamespace(
    FixedLenFeature=FixedLenFeature, VarLenFeature=VarLenFeature,
    FixedLenSequenceFeature=FixedLenSequenceFeature, parse_single_example=parse_single_example,
    parse_single_sequence_example=parse_single_sequence_example)
