"""Structure-aware mutations of safetensors files.

A safetensors file is ``u64 header size | JSON header | data``. The ops
decode the header, change one thing in it (a dimension to ``2**62`` or a
float, ``data_offsets`` past the end, another dtype, a ``global_step`` like
``'²'``, a second tensor over the same bytes...) and write it back with a
correct size field, or lie about the size, the padding or the data.

    >>> raw = encode({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(4))
    >>> decode(raw)[0]
    {'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}
"""

from __future__ import annotations

import json

from fuzzing.byte_ops import INTERESTING, mutate_bytes, random_bytes

__all__ = ["SAFETENSORS_OPS", "decode", "encode"]

_DTYPES = ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL",
           "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64", "F4", "f32", "", 4, None)
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
             "I8": 1, "U8": 1, "BOOL": 1, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1,
             "F8_E5M2": 1, "C64": 8}
_NUMBERS = INTERESTING + (-1, -(1 << 63), 1 << 64, (1 << 64) + 5, 1 << 100, 1.5, 1e308,
                          "2", None, [2], True)
_STEPS = ("²", "--5", "-", "1e3", " 7", "٣", "9" * 30, "-0", "", "0x10", "7\n",
          "１２", "+3", "-9223372036854775809")
_LAYOUTS = ("tf", "torch", "TF", "caffe", "", "torch ")


def decode(raw: bytes):
    """``(header dict, data bytes)``, or None when ``raw`` does not decode."""
    if len(raw) < 8:
        return None
    size = int.from_bytes(raw[:8], "little")
    try:
        header = json.loads(raw[8:8 + size].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return (header, raw[8 + size:]) if isinstance(header, dict) else None


def encode(header: dict, data: bytes, size_lie: int = 0, pad: int = 0) -> bytes:
    """A safetensors file (``pad`` spaces after the JSON, as writers align)."""
    text = json.dumps(header, separators=(",", ":")).encode("utf-8") + b" " * pad
    return (len(text) + size_lie).to_bytes(8, "little", signed=False) + text + data


def _tensors(header: dict) -> list:
    return [k for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)]


def _header_op(edit):
    """A structure op from an edit of (header, data) -> (header, data, lie, pad)."""
    def op(sample, a, b):
        name, raw = sample.files[0]
        decoded = decode(raw)
        if decoded is None:
            return None
        header, data = decoded
        result = edit(header, data, a, b)
        if result is None:
            return None
        return sample.with_file(name, encode(*result))
    op.__name__ = edit.__name__
    return op


def edit_shape(header, data, a, b):
    """A dimension: huge, negative, a float, a string; a dimension more or less."""
    names = _tensors(header)
    if not names:
        return None
    info = header[names[a % len(names)]]
    shape = info.get("shape")
    shape = list(shape) if isinstance(shape, list) else []
    action = b % 5
    value = _NUMBERS[(b >> 3) % len(_NUMBERS)]
    if action <= 1 and shape:
        shape[(a >> 8) % len(shape)] = value
    elif action == 2:
        shape.append(value)
    elif action == 3:
        shape = shape[:-1] if shape else [0, 1 << 62]
    else:
        info["shape"] = value
        return header, data, 0, 0
    info["shape"] = shape
    return header, data, 0, 0


def edit_offsets(header, data, a, b):
    """``data_offsets``: past the end, reversed, shifted, overlapping."""
    names = _tensors(header)
    if not names:
        return None
    info = header[names[a % len(names)]]
    offsets = info.get("data_offsets")
    offsets = list(offsets) if isinstance(offsets, list) and len(offsets) == 2 else [0, 0]
    action = b % 4
    if action == 0:
        offsets[(b >> 2) % 2] = _NUMBERS[(b >> 3) % len(_NUMBERS)]
    elif action == 1:
        offsets = offsets[::-1]
    elif action == 2 and all(isinstance(o, int) for o in offsets):
        shift = (b >> 2) % 17 - 8
        offsets = [o + shift for o in offsets]
    else:
        offsets = offsets + [0] if (b >> 2) % 2 else offsets[:1]
    info["data_offsets"] = offsets
    return header, data, 0, 0


def edit_dtype(header, data, a, b):
    """Another dtype; the shape refitted to the byte range (or not)."""
    names = _tensors(header)
    if not names:
        return None
    info = header[names[a % len(names)]]
    dtype = _DTYPES[b % len(_DTYPES)]
    info["dtype"] = dtype
    offsets = info.get("data_offsets")
    if (b >> 8) % 2 and dtype in _ITEMSIZE and isinstance(offsets, list) and \
            len(offsets) == 2 and all(isinstance(o, int) for o in offsets):
        nbytes = offsets[1] - offsets[0]
        if nbytes >= 0 and nbytes % _ITEMSIZE[dtype] == 0:
            info["shape"] = [nbytes // _ITEMSIZE[dtype]]
    return header, data, 0, 0


def edit_metadata(header, data, a, b):
    """``__metadata__``: odd global steps and layouts, non-string values."""
    meta = header.get("__metadata__")
    meta = dict(meta) if isinstance(meta, dict) else {}
    action = b % 6
    if action <= 1:
        meta["global_step"] = _STEPS[(b >> 3) % len(_STEPS)]
    elif action == 2:
        meta["layout"] = _LAYOUTS[(b >> 3) % len(_LAYOUTS)]
    elif action == 3:
        meta["format"] = "slimtorch"
        meta["global_step"] = str(INTERESTING[(b >> 3) % len(INTERESTING)])
    elif action == 4:
        key = ("global_step", "layout", "format")[(b >> 3) % 3]
        meta[key] = _NUMBERS[(b >> 5) % len(_NUMBERS)]
    else:
        header["__metadata__"] = _NUMBERS[(b >> 3) % len(_NUMBERS)]
        return header, data, 0, 0
    header["__metadata__"] = meta
    return header, data, 0, 0


def edit_tensors(header, data, a, b):
    """The tensor list: drop one, alias one (same bytes), odd names."""
    names = _tensors(header)
    if not names:
        return None
    name = names[a % len(names)]
    action = b % 4
    if action == 0:
        del header[name]
    elif action == 1:
        header[name + "/alias"] = dict(header[name])
    elif action == 2:
        header[("", "\ud800", "a" * 300, "\x00", "é/w")[(b >> 2) % 5]] = header.pop(name)
    else:
        header[name] = [1, 2] if (b >> 2) % 2 else "x"
    return header, data, 0, 0


def edit_framing(header, data, a, b):
    """The size field, the padding and the data area."""
    action = b % 5
    if action == 0:
        return header, data, (b >> 3) % 17 - 8, 0
    if action == 1:
        return header, data, 0, 1 + (b >> 3) % 8
    if action == 2:
        return header, data[:(b >> 3) % (len(data) + 1)], 0, 0
    if action == 3:
        return header, data + random_bytes(b, 1 + (b >> 3) % 64), 0, 0
    return header, mutate_bytes(data, b >> 3, a, b >> 6), 0, 0


def huge_size_field(sample, a, b):
    """A header size field near the format's limits (no JSON change)."""
    name, raw = sample.files[0]
    value = INTERESTING[b % len(INTERESTING)]
    return sample.with_file(name, (value % (1 << 64)).to_bytes(8, "little") + raw[8:])


SAFETENSORS_OPS = [_header_op(edit_shape), _header_op(edit_shape), _header_op(edit_offsets),
                   _header_op(edit_dtype), _header_op(edit_metadata),
                   _header_op(edit_tensors), _header_op(edit_framing), huge_size_field]
