"""Write the TFRecord / tf.Example fixtures in tests/golden/tfrecords/.

Needs TensorFlow and tf_slim (tested with TF 2.21, tf_slim 1.1); slimtorch's
tests only read what this writes. Run from the repository root::

    /path/to/tf-python scripts/make_tf_record_fixtures.py [OUT_DIR]

Writes, all produced by TensorFlow itself:

* ``images.tfrecord`` (uncompressed), ``images.tfrecord.gz`` (GZIP) and
  ``images.tfrecord.zlib`` (ZLIB): six 8x8 images as research/slim's
  converters store them (``image/encoded``, ``image/format``,
  ``image/class/label``, ``image/height``, ``image/width``), encoded with
  ``tf.io.encode_png`` / ``encode_jpeg``: RGB, grayscale and RGBA PNGs, RGB
  and grayscale JPEGs, a 4:2:0 JPEG.
* ``expected.json``: per record its sha256 and length as
  ``tf.data.TFRecordDataset`` reads it, its features as protobuf parses them,
  and the pixels TF-Slim's ``TFExampleDecoder`` + ``Image(channels=3)`` and
  ``Image(channels=1)`` decode (HWC), with the default ``dct_method`` (in TF
  that is libjpeg's fast integer IDCT) and with ``'INTEGER_ACCURATE'``; plus ``encodings``: feature dicts with
  TF's ``SerializeToString(deterministic=True)`` bytes, and ``parsed``:
  hand-built protos (unpacked lists, a repeated key, a kind-less Feature)
  with what TF parses from them.

Then, as a check that is not stored, TensorFlow reads files written by
slimtorch's ``write_tfrecord`` (plain, GZIP, ZLIB; run by ``$SLIMTORCH_PYTHON``,
default ``python3``) and must get the records back.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(ROOT))  # /work/tfslim_import.py, when present

from tfslim_import import slim, tf  # noqa: E402  (tf is tensorflow.compat.v1)

SIZE = 8

# tf_slim 1.1's Image handler calls control_flow_ops.case/cond, which TF 2.21
# moved to other modules; point the old names at the same public functions.
from tensorflow.python.ops import control_flow_ops  # noqa: E402

for _name in ("case", "cond"):
    if not hasattr(control_flow_ops, _name):
        setattr(control_flow_ops, _name, getattr(tf, _name))


def _images():
    """(pixels HWC uint8, format, encode function) for the six records."""
    rng = np.random.RandomState(0)
    ramp = np.add.outer(np.arange(SIZE), np.arange(SIZE)).astype(np.float64)
    smooth = np.stack([ramp * 15, 255 - ramp * 15, ramp * 7 + 40], -1)
    return [
        (rng.randint(0, 256, (SIZE, SIZE, 3)), b"png", {}),
        (rng.randint(0, 256, (SIZE, SIZE, 1)), b"png", {}),
        (rng.randint(0, 256, (SIZE, SIZE, 4)), b"png", {}),
        (smooth, b"jpeg", {"quality": 95, "chroma_downsampling": False}),
        (rng.randint(0, 256, (SIZE, SIZE, 1)) // 4 + ramp[..., None] * 12, b"jpeg",
         {"quality": 90}),
        (smooth[::-1] + rng.randint(0, 20, (SIZE, SIZE, 3)), b"jpg",
         {"quality": 75, "chroma_downsampling": True}),
    ]


def _encode(sess, pixels, fmt, options):
    image = tf.constant(np.clip(pixels, 0, 255).astype(np.uint8))
    op = tf.io.encode_png(image) if fmt == b"png" else tf.io.encode_jpeg(image, **options)
    return sess.run(op)


def _tf_read(path, compression):
    """The records TF's C++ RecordReader reads from ``path``."""
    options = tf.io.TFRecordOptions(compression)
    return list(tf.io.tf_record_iterator(path, options))


def _example(encoded, fmt, label):
    feature = {
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[encoded])),
        "image/format": tf.train.Feature(bytes_list=tf.train.BytesList(value=[fmt])),
        "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "image/height": tf.train.Feature(int64_list=tf.train.Int64List(value=[SIZE])),
        "image/width": tf.train.Feature(int64_list=tf.train.Int64List(value=[SIZE])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature))


def _features_as_json(example):
    """protobuf's reading of an Example: bytes as hex, image bytes as sha256."""
    out = {}
    for name, feature in sorted(example.features.feature.items()):
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        if kind == "bytes_list":
            values = [hashlib.sha256(v).hexdigest() if name == "image/encoded" else v.hex()
                      for v in values]
        out[name] = {"kind": kind, "values": values}
    return out


def _slim_decode(sess, serialized, channels, dct_method=""):
    """TF-Slim's research/slim-style decoder: the pixels it yields (HWC)."""
    keys_to_features = {
        "image/encoded": tf.FixedLenFeature((), tf.string, default_value=""),
        "image/format": tf.FixedLenFeature((), tf.string, default_value="png"),
        "image/class/label": tf.FixedLenFeature([], tf.int64, default_value=0),
    }
    items_to_handlers = {
        "image": slim.tfexample_decoder.Image(channels=channels, dct_method=dct_method),
        "label": slim.tfexample_decoder.Tensor("image/class/label"),
    }
    decoder = slim.tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)
    image, label = decoder.decode(tf.constant(serialized), ["image", "label"])
    return sess.run([image, label])


def _write_images(sess, out_dir):
    records, entries = [], []
    for index, (pixels, fmt, options) in enumerate(_images()):
        encoded = _encode(sess, pixels, fmt, options)
        example = _example(encoded, fmt, label=index * 7 % 5)
        records.append(example.SerializeToString(deterministic=True))  # reproducible
    for name, compression in [("images.tfrecord", ""), ("images.tfrecord.gz", "GZIP"),
                              ("images.tfrecord.zlib", "ZLIB")]:
        with tf.io.TFRecordWriter(os.path.join(out_dir, name), compression) as writer:
            for record in records:
                writer.write(record)
    assert _tf_read(os.path.join(out_dir, "images.tfrecord.gz"), "GZIP") == records
    for record in records:
        example = tf.train.Example.FromString(record)
        rgb, label = _slim_decode(sess, record, 3)
        gray, _ = _slim_decode(sess, record, 1)
        accurate, _ = _slim_decode(sess, record, 3, "INTEGER_ACCURATE")
        gray_accurate, _ = _slim_decode(sess, record, 1, "INTEGER_ACCURATE")
        entries.append({
            "sha256": hashlib.sha256(record).hexdigest(), "length": len(record),
            "features": _features_as_json(example), "label": int(label),
            "format": example.features.feature["image/format"].bytes_list.value[0].decode(),
            "rgb_hwc": rgb.tolist(), "gray_hwc": gray.tolist(),
            "rgb_accurate_hwc": accurate.tolist(), "gray_accurate_hwc": gray_accurate.tolist()})
    return entries


def _encodings():
    """Feature dicts (JSON-friendly) and TF's deterministic serialization."""
    cases = [
        {"ints": [-1, 0, 1, 127, 128, 300, 2 ** 63 - 1, -2 ** 63]},
        {"floats": [0.5, -1.25, 3.0e38, 1.0e-45, 0.1]},
        {"b": ["00ff", ""], "a": ["68c3a96c6c6f"], "label": [3]},
    ]
    out = []
    for case in cases:
        feature = {}
        for name, values in case.items():
            if name == "floats":
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
            elif all(isinstance(v, int) for v in values):
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
            else:
                feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[bytes.fromhex(v) for v in values]))
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        serialized = example.SerializeToString(deterministic=True)
        parsed = {n: list(getattr(f, f.WhichOneof("kind")).value)
                  for n, f in sorted(example.features.feature.items())}
        out.append({"features": case, "hex": serialized.hex(),
                    "float32_values": parsed.get("floats")})
    return out


def _field(number, wire, payload):
    """One protobuf field, written by hand (payload: bytes or an int varint)."""
    def varint(v):
        v &= (1 << 64) - 1
        b = bytearray()
        while v >= 0x80:
            b.append(v & 0x7F | 0x80)
            v >>= 7
        return bytes(b + bytes([v]))
    if wire == 0:
        return varint(number << 3) + varint(payload)
    if wire == 5:
        return varint(number << 3 | 5) + payload
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def _entry(name, feature):
    return _field(1, 2, _field(1, 2, name.encode()) + _field(2, 2, feature))


def _parsed_cases(sess):
    """Hand-built protos TF's writers never produce, and what TF reads."""
    unpacked_ints = _field(3, 2, b"".join(_field(1, 0, v) for v in (5, -3, 1 << 40)))
    unpacked_floats = _field(2, 2, b"".join(
        _field(1, 5, np.float32(v).tobytes()) for v in (1.5, -0.25)))
    mixed_floats = _field(2, 2, _field(1, 2, np.float32([2.0, 4.0]).tobytes())
                          + _field(1, 5, np.float32(8.0).tobytes()))
    replaced_kind = _field(1, 2, _field(1, 2, b"x")) + _field(3, 2, _field(1, 2, b"\x07"))
    merged_lists = _field(3, 2, _field(1, 2, b"\x01\x02")) + _field(3, 2, _field(1, 0, 3))
    unknown = _field(15, 0, 9) + _field(3, 2, _field(1, 2, b"\x04"))
    cases = {
        "unpacked": _entry("i", unpacked_ints) + _entry("f", unpacked_floats)
        + _entry("m", mixed_floats),
        "repeated_key_last_wins": _entry("k", _field(3, 2, _field(1, 2, b"\x01")))
        + _entry("k", _field(3, 2, _field(1, 2, b"\x02"))),
        "oneof_last_kind_wins": _entry("r", replaced_kind),
        "same_kind_merges": _entry("s", merged_lists),
        "unknown_fields_skipped": _entry("u", unknown) + _field(7, 0, 1),
        "kindless_feature": _entry("e", b""),
    }
    out = {}
    for name, features in cases.items():
        serialized = _field(1, 2, features)
        example = tf.train.Example.FromString(serialized)
        parsed = {}
        for key, feature in sorted(example.features.feature.items()):
            kind = feature.WhichOneof("kind")
            values = list(getattr(feature, kind).value) if kind else []
            parsed[key] = [v.hex() for v in values] if kind == "bytes_list" else values
        out[name] = {"hex": serialized.hex(), "parsed": parsed}
    # TF's own fast parser agrees that a kind-less Feature is an empty int64 list.
    empty = tf.io.parse_single_example(
        tf.constant(bytes.fromhex(out["kindless_feature"]["hex"])),
        {"e": tf.io.VarLenFeature(tf.int64)})
    assert sess.run(empty["e"]).values.tolist() == []
    return out


_WRITE_WITH_SLIMTORCH = """
import sys
from slimtorch.data import write_tfrecord
out, records = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
for compression in ("", "GZIP", "ZLIB"):
    write_tfrecord(f"{out}/check{compression}.tfrecord", records, compression)
"""


def _check_tf_reads_slimtorch():
    """TF must read what slimtorch's writer writes (a check; nothing stored).

    slimtorch is run by another interpreter (``$SLIMTORCH_PYTHON``, default
    ``python3``): importing torch next to TensorFlow can crash the process.
    """
    records = [_example(bytes([i]) * i, b"png", i).SerializeToString() for i in range(5)]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.environ.get("SLIMTORCH_PYTHON", "python3"), "-c",
                        _WRITE_WITH_SLIMTORCH, tmp] + [r.hex() for r in records],
                       check=True, cwd=ROOT)
        for compression in ("", "GZIP", "ZLIB"):
            got = _tf_read(f"{tmp}/check{compression}.tfrecord", compression)
            assert got == records, f"TF misread slimtorch's {compression or 'plain'} file"


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with tf.Session() as sess:
        expected = {"images": _write_images(sess, out_dir), "encodings": _encodings(),
                    "parsed": _parsed_cases(sess), "tensorflow": tf.__version__}
    with open(os.path.join(out_dir, "expected.json"), "w") as f:
        json.dump(expected, f, indent=None, separators=(",", ":"))
        f.write("\n")
    _check_tf_reads_slimtorch()
    print("wrote", out_dir, sorted(os.listdir(out_dir)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         os.path.join(ROOT, "tests", "golden", "tfrecords"))
