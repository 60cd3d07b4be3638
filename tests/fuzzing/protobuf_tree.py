"""Structure-aware protobuf mutation: decode a message into a tree of fields,
change one field anywhere in it, encode it back.

Every enclosing length is recomputed on encoding, so a change stays local
(a huge dimension, a wrong wire type, a dropped field) and the readers get
past the framing to the code that interprets the field, unless the mutation
is itself a lie about a length. Length-delimited payloads that parse cleanly
as messages are treated as sub-messages (a heuristic: protobuf does not say).

    >>> tree = parse(bytes.fromhex("0801120412020802"))   # dtype 1, shape [2]
    >>> encode(tree).hex()
    '0801120412020802'
    >>> tree[1].value[0].value[0].value = 1 << 40           # shape [2**40]
    >>> encode(tree).hex()
    '08011209120708808080808020'
"""

from __future__ import annotations

import copy

from fuzzing.byte_ops import INTERESTING, mutate_bytes, random_bytes

__all__ = ["Field", "encode", "mutate", "mutate_numbers", "parse"]

_U64 = (1 << 64) - 1
_MAX_DEPTH = 8


class Field:
    """One field: number, wire type, value (int, bytes, or a list of Fields
    for a sub-message) and ``lie``, added to the length it is encoded with."""

    __slots__ = ("number", "wire", "value", "lie")

    def __init__(self, number: int, wire: int, value, lie: int = 0):
        self.number, self.wire, self.value, self.lie = number, wire, value, lie

    def __repr__(self) -> str:
        return f"Field({self.number}, {self.wire}, {self.value!r})"


def _varint(value: int) -> bytes:
    value &= _U64
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(buf: bytes, pos: int):
    result = shift = 0
    while pos < len(buf) and shift < 70:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _U64, pos
        shift += 7
    return None, pos


def parse(buf: bytes, depth: int = 0):
    """The fields of ``buf``, or None when it is not a well-formed message."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        if key is None or key >> 3 == 0:
            return None
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            if value is None:
                return None
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(buf):
                return None
            value = int.from_bytes(buf[pos:pos + width], "little")
            pos += width
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            if n is None or pos + n > len(buf):
                return None
            value = bytes(buf[pos:pos + n])
            pos += n
            if value and depth < _MAX_DEPTH:
                sub = parse(value, depth + 1)
                value = value if sub is None else sub
        else:
            return None
        fields.append(Field(number, wire, value))
    return fields


def encode(fields: list) -> bytes:
    """Serialize a field tree (lengths recomputed, plus each field's lie)."""
    out = bytearray()
    for f in fields:
        out += _varint(f.number << 3 | f.wire)
        if f.wire == 0:
            out += _varint(f.value)
        elif f.wire in (1, 5):
            out += (f.value & ((1 << (64 if f.wire == 1 else 32)) - 1)).to_bytes(
                8 if f.wire == 1 else 4, "little")
        elif f.wire == 2:
            payload = encode(f.value) if isinstance(f.value, list) else f.value
            out += _varint(max(len(payload) + f.lie, 0)) + payload
        # wire types 3, 4, 6, 7: the key alone (groups / invalid)
    return bytes(out)


def _all_fields(fields: list, out: list) -> list:
    for i, f in enumerate(fields):
        out.append((fields, i))
        if isinstance(f.value, list):
            _all_fields(f.value, out)
    return out


def _as_int(value) -> int:
    return value if isinstance(value, int) else len(value)


def mutate(fields: list, a: int, b: int) -> bool:
    """Change one field of the tree in place (chosen by ``a``, how by ``b``);
    False when the message has no field (then nothing changed)."""
    if not fields:
        fields.append(Field(1 + b % 16, (0, 2, 5, 1)[(b >> 4) % 4],
                            INTERESTING[(b >> 8) % len(INTERESTING)]))
        if fields[0].wire == 2:
            fields[0].value = random_bytes(b, b % 16)
        return True
    parent, i = (found := _all_fields(fields, []))[a % len(found)]
    f = parent[i]
    action, r = b % 10, b >> 4
    if action == 0 or (action == 6 and f.wire != 2):   # an edge-case value
        if isinstance(f.value, int):
            f.value = INTERESTING[r % len(INTERESTING)]
        else:
            f.value = random_bytes(r, r % 24)
    elif action == 1:   # a nearby value
        if isinstance(f.value, int):
            f.value = max(f.value + r % 33 - 16, 0)
        else:
            f.value = encode(f.value) if isinstance(f.value, list) else f.value
            f.value = f.value[:max(len(f.value) - 1 - r % 4, 0)]
    elif action == 2:   # another wire type (value converted to fit)
        f.wire = (0, 1, 2, 5, 3, 6)[r % 6]
        if f.wire == 2 and isinstance(f.value, int):
            f.value = _varint(f.value)
        elif f.wire != 2:
            f.value = _as_int(f.value)
    elif action == 3:
        del parent[i]
    elif action == 4:
        parent.insert(i, copy.deepcopy(f))
    elif action == 5:   # another field number
        f.number = (0, f.number + 1, max(f.number - 1, 0), 1 + r % 15,
                    (1 << 29) - 1)[r % 5]
    elif action == 6:   # a length that lies
        f.lie = (-3, -1, 1, 2, 1000, 1 << 31)[r % 6]
    elif action == 7:   # a byte-level change inside the payload
        if isinstance(f.value, int):
            f.value = _U64 - (r % 4)
        else:
            payload = encode(f.value) if isinstance(f.value, list) else f.value
            f.value = mutate_bytes(payload, r % 9, r >> 4, b >> 12)
    elif action == 8:   # a new field next to it
        wire = (0, 2, 5, 1)[r % 4]
        value = random_bytes(r, r % 16) if wire == 2 else \
            INTERESTING[(r >> 2) % len(INTERESTING)]
        parent.insert(i, Field(1 + (r >> 3) % 16, wire, value))
    else:               # empty it
        f.value = [] if isinstance(f.value, list) else \
            (b"" if isinstance(f.value, bytes) else 0)
    return True


def mutate_numbers(fields: list, a: int, b: int) -> bool:
    """Set one to three varint fields (dimensions, sizes, offsets, dtypes,
    extents...) to edge-case values: a focused version of :func:`mutate`
    for checks that need two numbers to agree, like a zero dimension next
    to a huge one. False when the message holds no varint."""
    numbers = [(parent, i) for parent, i in _all_fields(fields, []) if parent[i].wire == 0]
    if not numbers:
        return False
    for k in range(1 + b % 3):
        parent, i = numbers[(a >> (5 * k)) % len(numbers)]
        parent[i].value = INTERESTING[(b >> (2 + 5 * k)) % len(INTERESTING)]
    return True
