"""Decode and encode ``tf.train.Example`` protos without TensorFlow or protobuf.

The messages (``tensorflow/core/example/{example,feature}.proto``)::

    Example  { Features features = 1; }
    Features { map<string, Feature> feature = 1; }   // entries {key = 1, value = 2}
    Feature  { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
                            Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }
    FloatList { repeated float value = 1 [packed = true]; }
    Int64List { repeated int64 value = 1 [packed = true]; }

:func:`decode_example` turns one into ``{name: [values]}``: a list of
``bytes``, ``int`` or ``float`` per feature. It follows protobuf's parsing
rules: packed and unpacked repeated values are both accepted, unknown fields
are skipped, a repeated key keeps its last entry, a Feature with no kind set
decodes as ``[]``. Malformed bytes raise :class:`~slimtorch.data.TFRecordError`,
never an ``IndexError`` or ``struct.error``.

    >>> record = encode_example({"image/class/label": 3, "image/format": b"png",
    ...                          "scores": [0.5, -2.0]})
    >>> decode_example(record)
    {'image/class/label': [3], 'image/format': [b'png'], 'scores': [0.5, -2.0]}
"""

from __future__ import annotations

import struct
from typing import Mapping

import numpy as np

from slimtorch._io.errors import WireFormatError, WireTypeError
from slimtorch._io.wire import FIXED32, LENGTH, VARINT, expect, iter_fields, packed_varints, to_int64
from slimtorch.data.errors import TFRecordError

__all__ = ["decode_example", "decode_sequence_example", "encode_example", "encode_sequence_example"]

_BYTES_LIST, _FLOAT_LIST, _INT64_LIST = 1, 2, 3
_KIND_NAMES = {_BYTES_LIST: "BytesList", _FLOAT_LIST: "FloatList", _INT64_LIST: "Int64List"}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _fields(buf, start, end, what):
    """``iter_fields`` with its errors restated as TFRecordError."""
    try:
        yield from iter_fields(buf, start, end)
    except WireFormatError as error:
        raise TFRecordError(f"malformed tf.train.Example ({what}): {error}") from None


def _values(buf, kind: int, start: int, end: int) -> list:
    """The ``value`` field of a BytesList / FloatList / Int64List."""
    what = _KIND_NAMES[kind]
    out = []
    for number, wire, value in _fields(buf, start, end, what):
        if number != 1:
            continue
        if kind == _BYTES_LIST:
            expect(wire, (LENGTH,), f"{what}.value")
            out.append(bytes(buf[value[0]:value[1]]))
        elif kind == _FLOAT_LIST:
            expect(wire, (LENGTH, FIXED32), f"{what}.value")
            if wire == FIXED32:
                out.append(struct.unpack("<f", value.to_bytes(4, "little"))[0])
            elif (value[1] - value[0]) % 4:
                raise TFRecordError(f"malformed tf.train.Example: packed {what} of "
                                    f"{value[1] - value[0]} bytes (not a multiple of 4)")
            else:
                out.extend(np.frombuffer(buf[value[0]:value[1]], dtype="<f4").tolist())
        else:
            expect(wire, (LENGTH, VARINT), f"{what}.value")
            if wire == VARINT:
                out.append(to_int64(value))
            else:
                try:
                    packed = packed_varints(buf, *value)
                except WireFormatError as error:
                    raise TFRecordError("malformed tf.train.Example (packed "
                                        f"{what}): {error}") from None
                out.extend(packed.view(np.int64).tolist())
    return out


def _feature(buf, start: int, end: int) -> list:
    """A Feature's values; the oneof's last kind wins, repeats of it merge."""
    kind, values = None, []
    for number, wire, value in _fields(buf, start, end, "Feature"):
        if number not in _KIND_NAMES:
            continue
        expect(wire, (LENGTH,), f"Feature.{_KIND_NAMES[number]}")
        if number != kind:
            kind, values = number, []
        values.extend(_values(buf, number, *value))
    return values


def decode_example(serialized) -> dict[str, list]:
    """Decode a serialized ``tf.train.Example`` into ``{name: list of values}``.

    Values are ``bytes`` (BytesList), ``int`` (Int64List) or ``float``
    (FloatList, the float32 value as a Python float), in stored order.

        >>> decode_example(bytes.fromhex("0a0f0a0d0a016c12081a060a0403ff0101"))
        {'l': [3, 255, 1]}
        >>> decode_example(bytes.fromhex("0a050a030a0261"))
        Traceback (most recent call last):
        ...
        slimtorch.data.errors.TFRecordError: malformed tf.train.Example (map entry):
        length-delimited field 1 runs past its message (2 bytes, 1 left)
    """
    buf = memoryview(serialized).cast("B")
    try:
        return _decode(buf)
    except WireTypeError as error:  # from expect(): worded as TFRecord errors always were
        raise TFRecordError(f"malformed tf.train.Example: {error.what} has protobuf wire "
                            f"type {error.wire}, expected one of {error.allowed}") from None


def _decode(buf) -> dict[str, list]:
    """:func:`decode_example` of a byte view; a field of the wrong wire type
    raises :class:`~slimtorch._io.errors.WireTypeError`."""
    features: dict[str, list] = {}
    for number, wire, value in _fields(buf, 0, len(buf), "Example"):
        if number != 1:
            continue
        expect(wire, (LENGTH,), "Example.features")
        _map_entries(buf, *value, "Features", _feature, features)
    return features


def _map_entries(buf, start: int, end: int, what: str, parse_value, out: dict) -> dict:
    """The ``map<string, V> = 1`` entries of a message into ``out`` (last entry wins)."""
    for number, wire, entry in _fields(buf, start, end, what):
        if number != 1:
            continue
        expect(wire, (LENGTH,), "Features.feature" if what == "Features" else f"{what}.feature_list")
        name, values = "", parse_value(buf, 0, 0)
        for n3, w3, v3 in _fields(buf, *entry, "map entry"):
            if n3 == 1:
                expect(w3, (LENGTH,), "feature name")
                try:
                    name = bytes(buf[v3[0]:v3[1]]).decode("utf-8")
                except UnicodeDecodeError:
                    raise TFRecordError("malformed tf.train.Example: a feature "
                                        "name is not valid UTF-8") from None
            elif n3 == 2:
                expect(w3, (LENGTH,), what)
                values = parse_value(buf, *v3)
        out[name] = values
    return out


def _feature_list(buf, start: int, end: int) -> list:
    """A FeatureList (``repeated Feature feature = 1``): one value list per step."""
    steps = []
    for number, wire, value in _fields(buf, start, end, "FeatureList"):
        if number == 1:
            expect(wire, (LENGTH,), "FeatureList.feature")
            steps.append(_feature(buf, *value))
    return steps


def decode_sequence_example(serialized) -> tuple[dict[str, list], dict[str, list]]:
    """Decode a serialized ``tf.train.SequenceExample``: ``(context, feature_lists)``.

    ``context`` is as :func:`decode_example` gives; ``feature_lists`` maps each
    name to one list of values per step. (``SequenceExample {Features context
    = 1; FeatureLists feature_lists = 2}``, ``FeatureLists {map<string,
    FeatureList> feature_list = 1}``, ``FeatureList {repeated Feature feature = 1}``.)

        >>> record = encode_sequence_example({"id": b"a"}, {"boxes": [[0.5], [], [1.0, 2.0]]})
        >>> decode_sequence_example(record)
        ({'id': [b'a']}, {'boxes': [[0.5], [], [1.0, 2.0]]})
    """
    buf = memoryview(serialized).cast("B")
    context: dict[str, list] = {}
    feature_lists: dict[str, list] = {}
    try:
        for number, wire, value in _fields(buf, 0, len(buf), "SequenceExample"):
            if number == 1:
                expect(wire, (LENGTH,), "SequenceExample.context")
                _map_entries(buf, *value, "Features", _feature, context)
            elif number == 2:
                expect(wire, (LENGTH,), "SequenceExample.feature_lists")
                _map_entries(buf, *value, "FeatureLists", _feature_list, feature_lists)
    except WireTypeError as error:
        raise TFRecordError(f"malformed tf.train.SequenceExample: {error.what} has protobuf "
                            f"wire type {error.wire}, expected one of {error.allowed}") from None
    return context, feature_lists


# ------------------------------------------------------------------ encoding


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s take ten bytes, as in protobuf
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | LENGTH) + _varint(len(payload)) + payload


def _as_list(value) -> list:
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return [value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        value = value.tolist()
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _encode_feature(name: str, value) -> bytes:
    values = _as_list(value)
    if not values:  # TF parses a Feature with no kind as empty of any dtype
        return b""
    if all(isinstance(v, (bytes, bytearray, memoryview, str)) for v in values):
        items = b"".join(_length_delimited(1, v.encode("utf-8") if isinstance(v, str)
                                           else bytes(v)) for v in values)
        return _length_delimited(_BYTES_LIST, items)
    if all(isinstance(v, int) for v in values):
        bad = [v for v in values if not _INT64_MIN <= v <= _INT64_MAX]
        if bad:
            raise ValueError(f"encode_example: feature {name!r} has {bad[0]}, "
                             "outside the int64 range")
        return _length_delimited(_INT64_LIST, _length_delimited(
            1, b"".join(_varint(int(v)) for v in values)))
    if all(isinstance(v, (int, float)) for v in values):
        floats = np.asarray(values, dtype=np.float64).astype("<f4").tobytes()
        return _length_delimited(_FLOAT_LIST, _length_delimited(1, floats))
    kinds = sorted({type(v).__name__ for v in values})
    raise TypeError(f"encode_example: feature {name!r} mixes or holds unsupported "
                    f"types {kinds}; expected all bytes/str, all ints or all numbers")


def encode_example(features: Mapping) -> bytes:
    """Serialize ``{name: value(s)}`` as a ``tf.train.Example``.

    A value is a scalar or a sequence (list, tuple, numpy array, tensor) of
    ``bytes``/``str`` (BytesList; str as UTF-8), ``int`` (Int64List) or
    numbers with at least one ``float`` (FloatList, float32). Names are
    written sorted, and numbers packed, so the bytes equal TF's
    ``SerializeToString(deterministic=True)``.

        >>> encode_example({"l": [3, 255, 1]}).hex()
        '0a0f0a0d0a016c12081a060a0403ff0101'
    """
    if not isinstance(features, Mapping):
        raise TypeError("encode_example: expected a mapping of feature name to "
                        f"values, got {type(features).__name__}")
    entries = []
    for name in sorted(features, key=lambda n: str(n).encode("utf-8")):
        if not isinstance(name, str):
            raise TypeError(f"encode_example: feature names must be str, got {name!r}")
        entry = (_length_delimited(1, name.encode("utf-8"))
                 + _length_delimited(2, _encode_feature(name, features[name])))
        entries.append(_length_delimited(1, entry))
    return _length_delimited(1, b"".join(entries))


def _features_payload(features: Mapping, what: str) -> bytes:
    if not isinstance(features, Mapping):
        raise TypeError(f"{what}: expected a mapping of feature name to "
                        f"values, got {type(features).__name__}")
    entries = []
    for name in sorted(features, key=lambda n: str(n).encode("utf-8")):
        if not isinstance(name, str):
            raise TypeError(f"{what}: feature names must be str, got {name!r}")
        entries.append(_length_delimited(1, _length_delimited(1, name.encode("utf-8"))
                                         + _length_delimited(2, _encode_feature(name, features[name]))))
    return b"".join(entries)


def encode_sequence_example(context: Mapping, feature_lists: Mapping) -> bytes:
    """Serialize a ``tf.train.SequenceExample``.

    ``context`` is as :func:`encode_example` takes; ``feature_lists`` maps a
    name to a list of steps, each step's values as :func:`encode_example`
    takes them (an empty step is a Feature with no kind, as TF's ``feature {}``).

        >>> decode_sequence_example(encode_sequence_example({}, {"x": [[1, 2], [3]]}))
        ({}, {'x': [[1, 2], [3]]})
    """
    lists = []
    for name in sorted(feature_lists, key=lambda n: str(n).encode("utf-8")):
        steps = b"".join(_length_delimited(1, _encode_feature(name, step))
                         for step in feature_lists[name])
        lists.append(_length_delimited(1, _length_delimited(1, name.encode("utf-8"))
                                       + _length_delimited(2, steps)))
    return (_length_delimited(1, _features_payload(context, "encode_sequence_example"))
            + _length_delimited(2, b"".join(lists)))
