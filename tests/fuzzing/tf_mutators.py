"""Structure-aware mutations of TensorFlow checkpoints (V2 bundles and V1 files).

Both formats are SSTables of protobuf values: the ops decode the table,
change one value's protobuf (a dimension, a dtype, an offset, a shard id, a
slice extent...), one key, or the list of entries, and write the table back
with correct block checksums, so the mutation reaches the code that
interprets it. Others tamper with one block before its checksum, change the
table layout, toggle ``verify_checksums``, or (V2) change a tensor's bytes
and fix its crc32c in the index.

    >>> from fuzzing.targets import load_seeds
    >>> name, seed = load_seeds("tf_v2")[0]
    >>> mutated = V2_OPS[0](seed, 3, 70)   # change a field of the 4th entry
    >>> mutated.get("model.ckpt.index") != seed.get("model.ckpt.index")
    True
"""

from __future__ import annotations

import re

from fuzzing import protobuf_tree
from fuzzing.byte_ops import mutate_bytes, random_bytes
from fuzzing.sstable_writer import build_table, read_entries
from slimtorch._io.crc32c import masked_crc32c
from slimtorch.checkpoint._wire import parse_bundle_entry

__all__ = ["V1_OPS", "V2_OPS"]


def _mix(b: int) -> int:
    return (b * 0x9E3779B1) & 0xFFFFFFFF  # decorrelated bits for layout choices


def _layout(b: int) -> dict:
    m = _mix(b)
    return {"block_size": (48, 128, 512, 4096, 4096)[m % 5],
            "restart_interval": 1 + (m >> 4) % 16, "snappy": (m >> 8) % 4 == 0}


def _table_name(sample) -> str:
    return next(n for n, _ in sample.files if not re.search(r"\.data-\d+-of-\d+$", n))


def _table_op(edit):
    """A structure op from an edit of the ``[(key, value)]`` list."""
    def op(sample, a, b):
        name = _table_name(sample)
        entries = read_entries(sample.get(name))
        if entries is None:
            return None
        edited = edit(entries, a, b)
        if edited is None:
            return None
        return sample.with_file(name, build_table(edited, **_layout(b)))
    op.__name__ = edit.__name__
    return op


def edit_value(entries, a, b):
    """One protobuf field of one value (the common, deep-reaching op)."""
    if not entries:
        return None
    i = a % len(entries)
    key, value = entries[i]
    tree = protobuf_tree.parse(value)
    if tree is None:
        value = mutate_bytes(value, b, a >> 8, b >> 8)
    else:
        if not (b >> 31 and protobuf_tree.mutate_numbers(tree, a >> 8, b)):
            protobuf_tree.mutate(tree, a >> 8, b)
        value = protobuf_tree.encode(tree)
    entries[i] = (key, value)
    return entries


_BIG_DIMS = (1 << 31, 1 << 40, 1 << 53, 1 << 61, 1 << 62, (1 << 63) - 1, (1 << 64) - 1)


def _shapes(key: bytes, tree: list) -> list:
    """The ``TensorShapeProto`` fields of a V2 entry (field 2) or of every
    tensor in a V1 metadata entry (meta 1 > tensor 1 > shape 2)."""
    if key == b"":  # V1 metadata (a V2 header has no field-1 message)
        return [f for meta in tree if meta.number == 1 and isinstance(meta.value, list)
                for tensor in meta.value if tensor.number == 1 and isinstance(tensor.value, list)
                for f in tensor.value if f.number == 2 and f.wire == 2]
    return [f for f in tree if f.number == 2 and f.wire == 2]


def edit_shape(entries, a, b):
    """A tensor's shape: a huge dimension, a zero one next to a huge one
    (an empty tensor numpy cannot shape), a dimension more or less, rank 255,
    unknown rank."""
    found = []
    for i, (key, value) in enumerate(entries):
        tree = protobuf_tree.parse(value)
        for shape in _shapes(key, tree or []):
            found.append((i, tree, shape))
    if not found:
        return None
    i, tree, shape = found[a % len(found)]
    if not isinstance(shape.value, list):
        shape.value = []
    dims = [f for f in shape.value if f.number == 2]
    big = _BIG_DIMS[(b >> 3) % len(_BIG_DIMS)]
    action = b % 6
    if action <= 1 and dims:
        dims[(a >> 8) % len(dims)].value = [protobuf_tree.Field(1, 0, big)]
        if action == 1:  # and one zero: no bytes to check the shape against
            dims[(a >> 16) % len(dims)].value = []
            tree.append(protobuf_tree.Field(5, 0, 0))  # BundleEntryProto.size
    elif action == 2:
        shape.value.append(protobuf_tree.Field(2, 2, [protobuf_tree.Field(1, 0, big)]))
    elif action == 3 and dims:
        shape.value.remove(dims[-1])
    elif action == 4:
        shape.value = [protobuf_tree.Field(2, 2, [protobuf_tree.Field(1, 0, 1)])] * 255
    else:
        shape.value.append(protobuf_tree.Field(3, 0, 1))  # unknown_rank
    entries[i] = (entries[i][0], protobuf_tree.encode(tree))
    return entries


def edit_key(entries, a, b):
    """A key: shortened, extended, emptied, copied, slice-keyed, not UTF-8."""
    if not entries:
        return None
    i = a % len(entries)
    key, value = entries[i]
    action = b % 7
    if action == 0:
        key = key[:-1]
    elif action == 1:
        key = key + random_bytes(b, 1 + (b >> 4) % 4)
    elif action == 2:
        key = b""
    elif action == 3:
        key = entries[(a >> 8) % len(entries)][0]
    elif action == 4:
        key = b"\x00" + key
    elif action == 5:
        key = key + b"\xff\xfe"
    else:
        key = mutate_bytes(key, b >> 4, a >> 8, b >> 8)
    entries[i] = (key, value)
    return entries


def edit_entries(entries, a, b):
    """The entry list: drop, duplicate, swap, header last, another value."""
    if not entries:
        return [(b"", b"")]
    i, j = a % len(entries), (a >> 8) % len(entries)
    action = b % 5
    if action == 0:
        del entries[i]
    elif action == 1:
        entries.insert(i, entries[i])
    elif action == 2:
        entries[i], entries[j] = entries[j], entries[i]
    elif action == 3:
        entries.append(entries.pop(0))
    else:
        entries[i] = (entries[i][0], entries[j][1])
    return entries


def tamper_block(sample, a, b):
    """One block's bytes changed before its checksum is computed."""
    name = _table_name(sample)
    entries = read_entries(sample.get(name))
    if entries is None:
        return None
    tamper = (a >> 16, b, a & 0xFFFF, b >> 4)
    return sample.with_file(name, build_table(entries, tamper=tamper, **_layout(b >> 1)))


def toggle_verify(sample, a, b):
    """Read with and without checksum verification (deeper without)."""
    return sample.with_option(not sample.option)


def data_with_crc(sample, a, b):
    """(V2) a tensor's bytes changed, and its crc32c in the index fixed."""
    name = _table_name(sample)
    entries = read_entries(sample.get(name))
    if not entries:
        return None
    i = a % len(entries)
    try:
        entry = parse_bundle_entry(entries[i][1])
    except Exception:  # not an entry (the header, or already mutated)
        return None
    shard = f".data-{entry.shard_id:05d}-of-"
    data_name = next((n for n, _ in sample.files if shard in n), None)
    if data_name is None or entry.size <= 0:
        return None
    data = sample.get(data_name)
    start, end = entry.offset, entry.offset + entry.size
    if end > len(data):
        return None
    region = data[start:end]
    for k in range(1 + b % 3):  # same-length changes keep other tensors in place
        region = mutate_bytes(region, (0, 1, 2, 7)[(b >> (2 * k)) % 4], a >> (8 + k), b >> (4 + k))
    region = region[:entry.size].ljust(entry.size, b"\x00")
    tree = protobuf_tree.parse(entries[i][1]) or []
    crc = masked_crc32c(region)
    crc_fields = [f for f in tree if f.number == 6]
    if crc_fields:
        crc_fields[-1].wire, crc_fields[-1].value = 5, crc
    else:
        tree.append(protobuf_tree.Field(6, 5, crc))
    entries[i] = (entries[i][0], protobuf_tree.encode(tree))
    sample = sample.with_file(data_name, data[:start] + region + data[end:])
    return sample.with_file(name, build_table(entries, **_layout(b)))


_TABLE_OPS = [_table_op(edit_value), _table_op(edit_value), _table_op(edit_value),
              _table_op(edit_shape), _table_op(edit_key), _table_op(edit_entries),
              tamper_block, toggle_verify]
V2_OPS = _TABLE_OPS + [data_with_crc, data_with_crc]
V1_OPS = list(_TABLE_OPS)
