"""Write the TensorFlow checkpoint fixtures in tests/golden/tf_checkpoints/.

Needs TensorFlow (tested with 2.21); slimtorch's tests only read the files
this writes. Run from the repository root::

    /path/to/tf-python scripts/make_tf_checkpoint_fixtures.py [OUT_DIR]
    /path/to/tf-python scripts/make_tf_checkpoint_fixtures.py --big /tmp/big

Each fixture is a folder with the checkpoint, ``expected.json`` (format,
checkpoint path, per-tensor dtype/shape, where the values are) and
``expected.npz`` (values, loadable with ``allow_pickle=False``; bfloat16 as
float32; strings as hex in the JSON). Expected values are read back by
TensorFlow itself: ``RestoreV2`` for V2 and ``Restore`` for V1 (its
``load_checkpoint`` reader cannot read sliced V1 tensors), except
``v1_extra_dtypes``: TF 2.21 writes those V1 dtypes but cannot read them, so
the values written are the expectation.

``v1_snappy`` and ``v2_snappy_index`` re-encode TF-written tables with
snappy-compressed blocks (as pre-1.1 TensorFlow wrote V1 files); they need
``cramjam`` importable, and TensorFlow reads them back to confirm they are
valid. ``--big DIR`` writes a 100 MB float32 checkpoint for timing, not a
fixture.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402

# Three logical CPUs, so a sharded Saver writes one data file per device.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration()] * 3)

v1 = tf.compat.v1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # for slimtorch.checkpoint._sstable (re-encoding)

MULTIBLOCK_COUNT = 9000  # ~770 KB of index: three data blocks


def multiblock_name(i: int) -> str:
    """Names that share little prefix, so the index's keys stay long."""
    h = hashlib.sha1(str(i).encode()).hexdigest()[:16]
    return f"model/{h}/block_{i:05d}/conv/weights/ExponentialMovingAverage"


# ----------------------------------------------------------------- writers


def graph_saver(out: str, build, write_version, sharded=False):
    """Build variables with ``build()`` in a TF1 graph and save them."""
    g = tf.Graph()
    with g.as_default():
        v1.set_random_seed(1234)
        build()
        saver = v1.train.Saver(write_version=write_version, sharded=sharded)
        with v1.Session(graph=g) as sess:
            sess.run(v1.global_variables_initializer())
            return saver.save(sess, os.path.join(out, "model.ckpt"), global_step=None,
                              write_meta_graph=False, write_state=False)


def _plain_vars():
    rng = np.random.default_rng(0)
    with v1.variable_scope("conv1"):
        v1.get_variable("weights", initializer=rng.standard_normal((3, 3, 3, 8)).astype(np.float32))
        v1.get_variable("biases", initializer=rng.standard_normal(8).astype(np.float32))
        with v1.variable_scope("BatchNorm"):
            v1.get_variable("moving_mean", initializer=rng.standard_normal(8).astype(np.float32))
    with v1.variable_scope("fc"):
        v1.get_variable("weights", initializer=rng.standard_normal((8, 4)).astype(np.float64))
    v1.get_variable("global_step", initializer=np.int64(1234), trainable=False)


def _partitioned_vars():
    v1.get_variable("part_axis0", shape=[10, 4], initializer=v1.random_normal_initializer(seed=1),
                    partitioner=v1.fixed_size_partitioner(3))
    v1.get_variable("part_axis1", shape=[3, 7], dtype=tf.int32,
                    initializer=v1.random_uniform_initializer(-100, 100, dtype=tf.int32, seed=2),
                    partitioner=v1.fixed_size_partitioner(2, axis=1))
    v1.get_variable("plain", initializer=np.arange(5, dtype=np.float32))


def _v1_saver_vars():
    _plain_vars()
    _partitioned_vars()
    v1.get_variable("flag", initializer=np.array([True, False, True]))
    v1.get_variable("counts", initializer=np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32))


def _sharded_vars():
    counter = iter(range(10**6))

    def round_robin(op):  # place each variable on the next of three CPUs
        if op.type in ("VarHandleOp", "VariableV2"):
            return f"/cpu:{next(counter) % 3}"
        return op.device

    with v1.device(round_robin):
        rng = np.random.default_rng(1)
        for i in range(5):
            v1.get_variable(f"layer{i}/weights", initializer=rng.standard_normal((4, 3)).astype(np.float32))
        v1.get_variable("sharded_part", shape=[9, 2], initializer=v1.random_normal_initializer(seed=3),
                        partitioner=v1.fixed_size_partitioner(3))


def _dtype_tensors():
    """name -> tf tensor, every dtype a V2 bundle stores."""
    rng = np.random.default_rng(2)
    f = rng.standard_normal((2, 3))
    return {
        "float16": tf.constant(f.astype(np.float16)),
        "bfloat16": tf.cast(tf.constant(f.astype(np.float32)), tf.bfloat16),
        "float32": tf.constant(f.astype(np.float32)),
        "float64": tf.constant(f),
        "int8": tf.constant(np.array([-128, 0, 127], np.int8)),
        "int16": tf.constant(np.array([-32768, 1, 32767], np.int16)),
        "int32": tf.constant(np.array([[-2**31, 0], [5, 2**31 - 1]], np.int32)),
        "int64": tf.constant(np.array([-2**63, -1, 2**63 - 1], np.int64)),
        "uint8": tf.constant(np.array([0, 1, 255], np.uint8)),
        "uint16": tf.constant(np.array([0, 65535], np.uint16)),
        "uint32": tf.constant(np.array([0, 2**32 - 1], np.uint32)),
        "uint64": tf.constant(np.array([0, 2**64 - 1], np.uint64)),
        "bool": tf.constant(np.array([[True, False], [False, True]])),
        "complex64": tf.constant((f + 1j * f[::-1]).astype(np.complex64)),
        "complex128": tf.constant(f + 1j * f[::-1]),
        "string": tf.constant([[b"", b"a\x00b", b"\xff" * 200], [b"slim", "ü".encode(), b"x" * 3]]),
        "scalar_float": tf.constant(np.float32(3.25)),
        "scalar_int64": tf.constant(np.int64(-7)),
        "scalar_string": tf.constant(b"hello"),
        "empty_float": tf.zeros([0, 3], tf.float32),
        "empty_string": tf.fill([2, 0], b""),
        "nested/name with spaces/and.dots": tf.constant(np.arange(4, dtype=np.int32)),
    }


def raw_v2_dtypes(out: str) -> str:
    tensors = _dtype_tensors()
    names = list(tensors)
    specs = [""] * len(names)
    values = [tensors[n] for n in names]
    # Two hand-sliced tensors: bfloat16 split on axis 0, strings on axis 1.
    bf = tf.cast(tf.reshape(tf.range(12, dtype=tf.float32) / 3, [4, 3]), tf.bfloat16)
    names += ["sliced_bfloat16", "sliced_bfloat16"]
    specs += ["4 3 0,1:-", "4 3 1,3:-"]
    values += [bf[:1], bf[1:]]
    st = tf.constant(WRITTEN_ONLY["sliced_string"][1].astype(bytes))
    names += ["sliced_string", "sliced_string"]
    specs += ["2 3 -:0,2", "2 3 -:2,1"]
    values += [st[:, :2], st[:, 2:]]
    prefix = os.path.join(out, "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=specs, tensors=values)
    return prefix


def raw_v2_multiblock(out: str) -> str:
    names = [multiblock_name(i) for i in range(MULTIBLOCK_COUNT)]
    values = [tf.constant([float(i), -float(i)], tf.float32) for i in range(MULTIBLOCK_COUNT)]
    prefix = os.path.join(out, "model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=values)
    return prefix


def object_graph_v2(out: str) -> str:
    module = tf.Module()
    module.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3) / 7)
    module.half = tf.Variable(tf.cast([[0.1, -2.5]], tf.bfloat16))
    module.step = tf.Variable(np.int64(42))
    module.nested = tf.Module()
    module.nested.bias = tf.Variable([1.0, 2.0, 3.0])
    ckpt = tf.train.Checkpoint(model=module)
    return ckpt.write(os.path.join(out, "ckpt"))


def raw_v1(out: str, tensors: dict, slices=None) -> str:
    path = os.path.join(out, "model.ckpt")
    if slices:
        names, specs, values = zip(*slices)
        names = list(tensors) + list(names)
        specs = [""] * len(tensors) + list(specs)
        values = list(tensors.values()) + list(values)
        tf.raw_ops.SaveSlices(filename=path, tensor_names=names, shapes_and_slices=specs,
                              data=values)
    else:
        tf.raw_ops.Save(filename=path, tensor_names=list(tensors), data=list(tensors.values()))
    return path


# ----------------------------------------------------------------- expected values


# Values TF writes but cannot restore (RestoreV2: "Dtype string not
# supported" for a sliced string tensor): the expectation is what was written.
WRITTEN_ONLY = {"sliced_string": ("string", np.array([[b"a", b"bb", b"ccc"], [b"d", b"", b"f"]],
                                                     dtype=object))}


def tf_values(fmt: str, path: str) -> dict:
    """name -> numpy value, read back by TensorFlow's restore ops."""
    reader = tf.train.load_checkpoint(path)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    names = [n for n in sorted(shapes) if n not in WRITTEN_ONLY]
    if fmt == "v2":  # one op for all tensors: the multiblock fixture has thousands
        restored = tf.raw_ops.RestoreV2(prefix=path, tensor_names=names,
                                        shape_and_slices=[""] * len(names),
                                        dtypes=[dtypes[n] for n in names])
    else:
        restored = [tf.raw_ops.Restore(file_pattern=path, tensor_name=n, dt=dtypes[n])
                    for n in names]
    out = {n: WRITTEN_ONLY[n] for n in shapes if n in WRITTEN_ONLY}
    for name, value in zip(names, restored):
        assert list(value.shape) == shapes[name], name
        array = value.numpy()
        if dtypes[name] == tf.string:  # a scalar comes back as bytes
            array = np.asarray(array, dtype=object)
        out[name] = (dtypes[name].name, array)
    return out


def write_expected(out: str, fmt: str, ckpt: str, values: dict, source: str) -> None:
    tensors, arrays = {}, {}
    for i, (name, (dtype, value)) in enumerate(sorted(values.items())):
        info = {"dtype": dtype, "shape": list(value.shape)}
        if dtype == "string":
            info["hex"] = [bytes(v).hex() for v in value.reshape(-1)]
        else:
            if dtype == "bfloat16":
                value = value.astype(np.float32)
            info["array"] = key = f"t{i}"
            arrays[key] = value
        tensors[name] = info
    doc = {"format": fmt, "checkpoint": os.path.relpath(ckpt, out), "source": source,
           "tensors": tensors}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(out, "expected.npz"), **arrays)


def write_multiblock_expected(out: str, ckpt: str, values: dict) -> None:
    names = [multiblock_name(i) for i in range(MULTIBLOCK_COUNT)]
    assert sorted(values) == sorted(names)
    for i, name in enumerate(names):
        assert values[name][0] == "float32"
        np.testing.assert_array_equal(values[name][1], [i, -i])
    doc = {"format": "v2", "checkpoint": os.path.relpath(ckpt, out),
           "source": "tf.raw_ops.SaveV2",
           "generated": {"count": MULTIBLOCK_COUNT, "rule": "multiblock_name(i) -> float32 [i, -i]",
                         "names_sha256": hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()}}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)


# ----------------------------------------------------------------- snappy re-encoding


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def snappy_table(src: str, dst: str) -> None:
    """Copy the SSTable ``src`` to ``dst`` with every block snappy-compressed."""
    import cramjam

    from slimtorch._io.crc32c import crc32c, mask
    from slimtorch.checkpoint import _sstable

    with open(src, "rb") as f:
        table = _sstable.Table(f.read(), src)
    out = bytearray()

    def block(contents: bytes) -> bytes:
        """Append a type-1 (snappy) block; return its encoded handle."""
        packed = bytes(cramjam.snappy.compress_raw(contents))
        handle = _varint(len(out)) + _varint(len(packed))
        crc = mask(crc32c(b"\x01", crc32c(packed)))  # over contents + type byte
        out.extend(packed + b"\x01" + crc.to_bytes(4, "little"))
        return handle

    index = []
    for key, offset, size in table._index:
        contents = table._read_block(offset, size, "data block")
        index.append((key, block(contents)))
    meta_handle = block(b"\x00\x00\x00\x00\x01\x00\x00\x00")
    entries = bytearray()
    restarts = []
    for key, handle in index:  # restart interval 1: every key whole
        restarts.append(len(entries))
        entries += _varint(0) + _varint(len(key)) + _varint(len(handle)) + key + handle
    for r in restarts:
        entries += r.to_bytes(4, "little")
    entries += len(restarts).to_bytes(4, "little")
    index_handle = block(bytes(entries))
    footer = meta_handle + index_handle
    footer += bytes(40 - len(footer)) + _sstable.MAGIC
    with open(dst, "wb") as f:
        f.write(out + footer)


# ----------------------------------------------------------------- main


def fresh(path: str) -> str:
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default=os.path.join(ROOT, "tests/golden/tf_checkpoints"))
    parser.add_argument("--big", help="write a 100 MB float32 V2 checkpoint here and exit")
    args = parser.parse_args()
    if args.big:
        value = np.random.default_rng(0).standard_normal(25_000_000).astype(np.float32)
        prefix = os.path.join(fresh(args.big), "big.ckpt")
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=["big"], shape_and_slices=[""],
                          tensors=[tf.constant(value.reshape(5000, 5000))])
        np.save(os.path.join(args.big, "big_sum.npy"), np.array([value.sum(dtype=np.float64)]))
        print(prefix)
        return
    os.makedirs(args.out, exist_ok=True)

    def v2(name, writer, source):
        out = fresh(os.path.join(args.out, name))
        prefix = writer(out)
        write_expected(out, "v2", prefix, tf_values("v2", prefix), source)
        return out, prefix

    def v1_fixture(name, writer, source):
        out = fresh(os.path.join(args.out, name))
        path = writer(out)
        write_expected(out, "v1", path, tf_values("v1", path), source)
        return out, path

    v2("v2_saver", lambda o: graph_saver(o, _plain_vars, v1.train.SaverDef.V2),
       "tf.compat.v1.train.Saver (V2)")
    v2("v2_partitioned", lambda o: graph_saver(o, _partitioned_vars, v1.train.SaverDef.V2),
       "tf.compat.v1.train.Saver (V2), fixed_size_partitioner on axis 0 and 1")
    out, prefix = v2("v2_sharded", lambda o: graph_saver(o, _sharded_vars, v1.train.SaverDef.V2, True),
                     "tf.compat.v1.train.Saver(sharded=True) over 3 CPU devices")
    assert os.path.exists(prefix + ".data-00002-of-00003"), os.listdir(out)
    v2("v2_dtypes", raw_v2_dtypes, "tf.raw_ops.SaveV2, every dtype, two hand-sliced tensors; "
       "TF cannot restore sliced_string, its expectation is the value written")
    v2("v2_object_graph", object_graph_v2, "tf.train.Checkpoint(model=tf.Module).write")
    out = fresh(os.path.join(args.out, "v2_multiblock"))
    prefix = raw_v2_multiblock(out)
    write_multiblock_expected(out, prefix, tf_values("v2", prefix))

    v1_fixture("v1_saver", lambda o: graph_saver(o, _v1_saver_vars, v1.train.SaverDef.V1),
               "tf.compat.v1.train.Saver(write_version=V1), incl. partitioned variables")
    dt = {k: v for k, v in _dtype_tensors().items()
          if v.dtype in (tf.float32, tf.float64, tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8,
                         tf.bool, tf.string)}
    sl = tf.reshape(tf.range(-6, 6, dtype=tf.int64), [3, 4])
    v1_fixture("v1_dtypes", lambda o: raw_v1(o, dt, [("sliced_int64", "3 4 0,2:-", sl[:2]),
                                                      ("sliced_int64", "3 4 2,1:-", sl[2:])]),
               "tf.raw_ops.SaveSlices (V1), every dtype TF can read back from V1")

    # TF 2.21 writes these V1 dtypes but its reader refuses them.
    out = fresh(os.path.join(args.out, "v1_extra_dtypes"))
    f = np.random.default_rng(3).standard_normal((2, 3))
    extra = {"float16": f.astype(np.float16), "uint16": np.array([0, 1, 65535], np.uint16),
             "complex64": (f + 2j * f).astype(np.complex64), "complex128": f - 1j * f}
    path = raw_v1(out, {k: tf.constant(v) for k, v in extra.items()})
    write_expected(out, "v1", path, {k: (str(v.dtype), v) for k, v in extra.items()},
                   "tf.raw_ops.Save (V1); expected = values written (TF cannot read them back)")

    if importlib.util.find_spec("cramjam") is None:
        print("cramjam not importable: skipping the snappy fixtures")
    else:
        src = os.path.join(args.out, "v1_saver")
        out = fresh(os.path.join(args.out, "v1_snappy"))
        snappy_table(os.path.join(src, "model.ckpt"), os.path.join(out, "model.ckpt"))
        values = tf_values("v1", os.path.join(out, "model.ckpt"))
        write_expected(out, "v1", os.path.join(out, "model.ckpt"), values,
                       "v1_saver re-encoded with snappy blocks; values read back by TF")
        src = os.path.join(args.out, "v2_partitioned")
        out = fresh(os.path.join(args.out, "v2_snappy_index"))
        snappy_table(os.path.join(src, "model.ckpt.index"), os.path.join(out, "model.ckpt.index"))
        shutil.copy(os.path.join(src, "model.ckpt.data-00000-of-00001"), out)
        values = tf_values("v2", os.path.join(out, "model.ckpt"))
        write_expected(out, "v2", os.path.join(out, "model.ckpt"), values,
                       "v2_partitioned with a snappy-compressed index; values read back by TF")
    for name in sorted(os.listdir(args.out)):
        folder = os.path.join(args.out, name)
        if os.path.isdir(folder):
            size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
            print(f"{name:20s} {size:9d} bytes")


if __name__ == "__main__":
    main()
