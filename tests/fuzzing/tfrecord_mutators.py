"""Structure-aware mutations of TFRecord files of ``tf.train.Example`` protos.

The ops work on the uncompressed record stream and write it back with
correct crc32c's (then re-compress it as the input's ``compression_type``
says), so that a mutated Example reaches ``decode_example`` and a record
length that lies, yet passes its own crc, reaches the record reader's size
checks.

    >>> raw = frame([b"ab", b""])
    >>> split(raw), split(raw + b"x")
    ([b'ab', b''], None)
"""

from __future__ import annotations

import gzip
import struct
import zlib

from fuzzing import protobuf_tree
from fuzzing.byte_ops import INTERESTING, mutate_bytes, random_bytes
from slimtorch._io.crc32c import masked_crc32c

__all__ = ["TFRECORD_OPS", "compress", "frame", "split"]


def frame(records: list, lengths: dict | None = None, bad_crc: dict | None = None) -> bytes:
    """Records in TFRecord framing. ``lengths`` overrides the declared length
    of some records (with a matching length crc); ``bad_crc`` maps a record
    to 'length' or 'data', whose crc is then wrong."""
    out = bytearray()
    for i, data in enumerate(records):
        header = struct.pack("<Q", (lengths or {}).get(i, len(data)))
        crcs = [masked_crc32c(header), masked_crc32c(data)]
        which = (bad_crc or {}).get(i)
        if which is not None:
            crcs[which == "data"] ^= 1
        out += header + struct.pack("<I", crcs[0]) + data + struct.pack("<I", crcs[1])
    return bytes(out)


def split(raw: bytes):
    """The records of an uncompressed stream (crcs not checked), or None when
    the framing is broken."""
    records, pos = [], 0
    while pos < len(raw):
        if pos + 12 > len(raw):
            return None
        (length,) = struct.unpack_from("<Q", raw, pos)
        if pos + 16 + length > len(raw):
            return None
        records.append(raw[pos + 12:pos + 12 + length])
        pos += 16 + length
    return records


def compress(raw: bytes, compression_type: str) -> bytes:
    if compression_type == "GZIP":
        return gzip.compress(raw, mtime=0)
    if compression_type == "ZLIB":
        return zlib.compress(raw)
    return raw


def _decompress(data: bytes, compression_type: str):
    try:
        if compression_type == "GZIP":
            return gzip.decompress(data)
        if compression_type == "ZLIB":
            return zlib.decompress(data)
    except Exception:  # already broken by an earlier byte op
        return None
    return data


def _records_op(edit):
    """A structure op from an edit of (records, framing overrides)."""
    def op(sample, a, b):
        name, data = sample.files[0]
        raw = _decompress(data, sample.option)
        records = None if raw is None else split(raw)
        if records is None:
            return None
        framing: dict = {"lengths": {}, "bad_crc": {}}
        raw = edit(records, framing, a, b)
        if raw is None:
            raw = frame(records, **framing)
        return sample.with_file(name, compress(raw, sample.option))
    op.__name__ = edit.__name__
    return op


def edit_example(records, framing, a, b):
    """One protobuf field of one Example (names, kinds, packed values...)."""
    if not records:
        records.append(b"")
    i = a % len(records)
    tree = protobuf_tree.parse(records[i])
    if tree is None:
        records[i] = mutate_bytes(records[i], b, a >> 8, b >> 8)
    else:
        if not (b >> 31 and protobuf_tree.mutate_numbers(tree, a >> 8, b)):
            protobuf_tree.mutate(tree, a >> 8, b)
        records[i] = protobuf_tree.encode(tree)


def edit_records(records, framing, a, b):
    """The record list: drop, duplicate, empty one, add random bytes."""
    if not records:
        records.append(random_bytes(b, b % 32))
        return
    i = a % len(records)
    action = b % 4
    if action == 0:
        del records[i]
    elif action == 1:
        records.insert(i, records[i])
    elif action == 2:
        records[i] = b""
    else:
        records.insert(i, random_bytes(b, (b >> 2) % 64))


def lying_length(records, framing, a, b):
    """A declared length that passes its crc but is not the record's."""
    if not records:
        records.append(b"")
    i = a % len(records)
    if b % 2:
        framing["lengths"][i] = INTERESTING[(b >> 1) % len(INTERESTING)]
    else:
        framing["lengths"][i] = max(len(records[i]) + (b >> 1) % 9 - 4, 0)


def bad_framing(records, framing, a, b):
    """A wrong crc, or a stream that stops inside a record."""
    if records and b % 3 < 2:
        framing["bad_crc"][a % len(records)] = ("length", "data")[b % 3]
        return None
    raw = frame(records)
    return raw + frame([random_bytes(b, 8)])[:1 + (b >> 2) % 23]


def recompress(sample, a, b):
    """The same records under another compression_type."""
    raw = _decompress(sample.files[0][1], sample.option)
    if raw is None:
        return None
    option = ("", "GZIP", "ZLIB")[b % 3]
    return sample.with_option(option).with_file(sample.files[0][0], compress(raw, option))


TFRECORD_OPS = [_records_op(edit_example), _records_op(edit_example),
                _records_op(edit_example), _records_op(edit_records),
                _records_op(lying_length), _records_op(bad_framing), recompress]
