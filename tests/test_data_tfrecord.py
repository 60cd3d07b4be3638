"""TFRecord / tf.Example reading and writing, checked against TensorFlow's files.

tests/golden/tfrecords/ was written by TensorFlow 2.21 + tf_slim 1.1
(scripts/make_tf_record_fixtures.py): the records, their features as protobuf
parses them, and the pixels TF-Slim's TFExampleDecoder yields.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from slimtorch.data import (TFRecordError, TFRecordImageDataset, decode_example, encode_example,
                            expand_file_pattern, iter_tfrecord, read_label_file, read_record_at,
                            research_slim_dataset, scan_record_offsets, write_label_file,
                            write_tfrecord)

pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities:DeprecationWarning")

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "tfrecords")
TF_FILES = {"": "images.tfrecord", "GZIP": "images.tfrecord.gz", "ZLIB": "images.tfrecord.zlib"}
with open(os.path.join(GOLDEN, "expected.json")) as _f:
    EXPECTED = json.load(_f)
IMAGES = EXPECTED["images"]


def _tf_records() -> list[bytes]:
    return list(iter_tfrecord(os.path.join(GOLDEN, TF_FILES[""])))


def _chw(hwc) -> torch.Tensor:
    return torch.tensor(hwc, dtype=torch.int32).permute(2, 0, 1)


def _png(pixels_chw) -> bytes:
    from torchvision.io import encode_png
    return encode_png(pixels_chw).numpy().tobytes()


def _image_example(label: int, value: int = 0) -> bytes:
    image = torch.full((3, 2, 3), value, dtype=torch.uint8)
    return encode_example({"image/encoded": _png(image), "image/format": b"png",
                           "image/class/label": label, "image/height": 2, "image/width": 3})


# ------------------------------------------------------- TensorFlow's files


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_reads_tensorflow_written_files(compression):
    records = list(iter_tfrecord(os.path.join(GOLDEN, TF_FILES[compression]), compression))
    assert [(hashlib.sha256(r).hexdigest(), len(r)) for r in records] == \
        [(e["sha256"], e["length"]) for e in IMAGES]


def test_decoded_features_match_protobuf():
    for record, expected in zip(_tf_records(), IMAGES):
        features = decode_example(record)
        assert sorted(features) == sorted(expected["features"])
        for name, want in expected["features"].items():
            got = features[name]
            if name == "image/encoded":
                got = [hashlib.sha256(v).hexdigest() for v in got]
            elif want["kind"] == "bytes_list":
                got = [v.hex() for v in got]
            assert got == want["values"], name


def test_images_match_tf_slim_decoder():
    """PNG: exact. JPEG: exact against dct_method='INTEGER_ACCURATE'; against
    TF-Slim's default (TF's fast IDCT) within 4 levels, as documented."""
    rgb = TFRecordImageDataset(os.path.join(GOLDEN, TF_FILES[""]))
    gray = TFRecordImageDataset(os.path.join(GOLDEN, TF_FILES[""]), channels=1)
    assert len(rgb) == len(IMAGES) == 6
    for index, expected in enumerate(IMAGES):
        image, label = rgb[index]
        assert image.dtype == torch.uint8 and image.shape == (3, 8, 8)
        assert label == expected["label"]
        gray_image, _ = gray[index]
        assert gray_image.shape == (1, 8, 8)
        if expected["format"] == "png":
            assert torch.equal(image.int(), _chw(expected["rgb_hwc"]))
            assert (gray_image.int() - _chw(expected["gray_hwc"])).abs().max() <= 1
        else:
            assert torch.equal(image.int(), _chw(expected["rgb_accurate_hwc"]))
            assert torch.equal(gray_image.int(), _chw(expected["gray_accurate_hwc"]))
            difference = (image.int() - _chw(expected["rgb_hwc"])).abs()
            assert difference.max() <= 4 and difference.float().mean() <= 1.5
    # at least one JPEG really differs from TF's fast IDCT: the tolerance is needed
    jpeg = [i for i, e in enumerate(IMAGES) if e["format"] != "png"]
    assert any(e != a for i in jpeg for e, a in zip(
        np.ravel(IMAGES[i]["rgb_hwc"]), np.ravel(IMAGES[i]["rgb_accurate_hwc"])))


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB"])
def test_dataset_reads_compressed_shards(compression):
    plain = TFRecordImageDataset(os.path.join(GOLDEN, TF_FILES[""]))
    packed = TFRecordImageDataset(os.path.join(GOLDEN, TF_FILES[compression]),
                                  compression_type=compression)
    for index in (5, 0, 3):
        assert torch.equal(packed[index][0], plain[index][0])
        assert packed[index][1] == plain[index][1]


def test_encoder_matches_tensorflow_serialization():
    for case in EXPECTED["encodings"]:
        features = {name: [bytes.fromhex(v) if isinstance(v, str) else v for v in values]
                    for name, values in case["features"].items()}
        serialized = bytes.fromhex(case["hex"])
        assert encode_example(features).hex() == case["hex"]
        decoded = decode_example(serialized)
        if case["float32_values"] is not None:
            assert decoded["floats"] == case["float32_values"]
        else:
            assert decoded == features


@pytest.mark.parametrize("name", sorted(EXPECTED["parsed"]))
def test_decoder_follows_protobuf_parsing_rules(name):
    """Unpacked lists, repeated keys, oneof switches, merges, unknown fields."""
    case = EXPECTED["parsed"][name]
    decoded = decode_example(bytes.fromhex(case["hex"]))
    assert decoded == case["parsed"]


# ------------------------------------------------------------ round trips


@pytest.mark.parametrize("compression", ["", "GZIP", "ZLIB"])
def test_writer_reader_round_trip(tmp_path, compression):
    records = [b"", b"x", bytes(range(256)) * 40, _image_example(3)]
    path = tmp_path / "round.tfrecord"
    assert write_tfrecord(path, iter(records), compression) == 4
    assert list(iter_tfrecord(path, compression)) == records
    offsets = scan_record_offsets(path, compression)
    assert offsets.tolist() == [0, 16, 33, 33 + 16 + 10240]
    assert [read_record_at(path, o, compression) for o in offsets[::-1]] == records[::-1]
    assert os.listdir(tmp_path) == ["round.tfrecord"]  # no temp file left


def test_writer_bytes_equal_tensorflow_file(tmp_path):
    path = tmp_path / "copy.tfrecord"
    write_tfrecord(path, _tf_records())
    with open(os.path.join(GOLDEN, TF_FILES[""]), "rb") as f:
        assert path.read_bytes() == f.read()


def test_writer_rejects_text_and_bad_compression(tmp_path):
    with pytest.raises(TypeError, match="record 1 is a str"):
        write_tfrecord(tmp_path / "t.tfrecord", [b"ok", "text"])
    assert not os.listdir(tmp_path)
    with pytest.raises(ValueError, match="compression_type"):
        write_tfrecord(tmp_path / "t.tfrecord", [b"x"], compression_type="SNAPPY")


def test_encode_errors_and_types():
    assert decode_example(encode_example({"s": "héllo", "n": np.array([1, 2]),
                                          "f": np.float32(0.25), "b": True}))  == \
        {"b": [1], "f": [0.25], "n": [1, 2], "s": ["héllo".encode()]}
    with pytest.raises(TypeError, match="'m' mixes"):
        encode_example({"m": [1, b"x"]})
    with pytest.raises(ValueError, match="int64 range"):
        encode_example({"big": 2 ** 63})
    with pytest.raises(TypeError, match="mapping"):
        encode_example([("a", 1)])


# ------------------------------------------------------------- corruption


def _corrupt_copy(tmp_path, edit) -> str:
    data = bytearray(open(os.path.join(GOLDEN, TF_FILES[""]), "rb").read())
    data = edit(data)
    path = str(tmp_path / "bad.tfrecord")
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path


def _flip(position):
    def edit(data):
        data[position] ^= 0x01
        return data
    return edit


def _read_all(path):
    return list(iter_tfrecord(path))


@pytest.mark.parametrize("where,reason", [
    (lambda o: o[2] + 12 + 100, "data crc32c mismatch"),   # inside record 2's data
    (lambda o: o[2] + 1, "length crc32c mismatch"),        # record 2's length
    (lambda o: o[2] + 9, "length crc32c mismatch"),        # record 2's length crc
    (lambda o: o[3] - 2, "data crc32c mismatch"),          # record 2's data crc
])
def test_flipped_byte_names_file_and_offset(tmp_path, where, reason):
    offsets = scan_record_offsets(os.path.join(GOLDEN, TF_FILES[""])).tolist()
    path = _corrupt_copy(tmp_path, _flip(where(offsets)))
    with pytest.raises(TFRecordError, match=reason) as info:
        _read_all(path)
    assert info.value.path == path and info.value.offset == offsets[2]
    assert f"{path}: record at byte offset {offsets[2]}: " in str(info.value)
    dataset = TFRecordImageDataset(path)
    if "length" in reason:  # the index reads headers: it fails while scanning
        with pytest.raises(TFRecordError, match=reason):
            len(dataset)
    else:
        assert dataset[1][1] == IMAGES[1]["label"]  # other records still read
        with pytest.raises(TFRecordError, match=reason) as info:
            dataset[2]
        assert info.value.offset == offsets[2]


@pytest.mark.parametrize("cut,reason", [
    (lambda o: o[4] + 5, "truncated record header"),
    (lambda o: o[4] + 12 + 7,
     f"truncated record: {IMAGES[4]['length']} data bytes announced, 3 present"),
    (lambda o: o[5] - 1, "truncated record"),
])
def test_truncated_file_names_file_and_offset(tmp_path, cut, reason):
    offsets = scan_record_offsets(os.path.join(GOLDEN, TF_FILES[""])).tolist()
    path = _corrupt_copy(tmp_path, lambda data: data[:cut(offsets)])
    expected_offset = offsets[4] if cut(offsets) > offsets[4] else offsets[3]
    for read in (_read_all, scan_record_offsets):
        with pytest.raises(TFRecordError, match=reason) as info:
            read(path)
        assert info.value.offset == expected_offset and info.value.path == path
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TFRecordImageDataset(str(tmp_path / "missing.tfrecord"))


def test_corrupt_compressed_stream(tmp_path):
    data = bytearray(open(os.path.join(GOLDEN, TF_FILES["GZIP"]), "rb").read())
    for name, content in [("cut.gz", data[:len(data) // 2]),
                          ("noise.gz", data[:40] + bytes(200) + data[240:])]:
        path = tmp_path / name
        path.write_bytes(bytes(content))
        with pytest.raises(TFRecordError, match=str(path)):
            list(iter_tfrecord(path, "GZIP"))
    path = tmp_path / "cut.zlib"
    path.write_bytes(open(os.path.join(GOLDEN, TF_FILES["ZLIB"]), "rb").read()[:-30])
    with pytest.raises(TFRecordError, match="compressed stream is corrupt"):
        list(iter_tfrecord(path, "ZLIB"))


def test_compressed_file_read_raw_gets_a_hint():
    with pytest.raises(TFRecordError, match="compression_type='GZIP'"):
        list(iter_tfrecord(os.path.join(GOLDEN, TF_FILES["GZIP"])))


def test_record_at_bad_offset(tmp_path):
    path = tmp_path / "r.tfrecord"
    write_tfrecord(path, [b"abc"])
    with pytest.raises(TFRecordError, match="no record here"):
        read_record_at(path, 19)
    with pytest.raises(TFRecordError, match="length crc32c mismatch"):
        read_record_at(path, 1)


def test_malformed_examples_raise_tfrecord_error_only():
    """Every truncation and many byte flips either decode or raise TFRecordError."""
    rng = random.Random(0)
    for record in _tf_records()[:3] + [bytes.fromhex(c["hex"]) for c in
                                       EXPECTED["parsed"].values()]:
        variants = [record[:n] for n in range(len(record))]
        for _ in range(200):
            flipped = bytearray(record)
            flipped[rng.randrange(len(record))] = rng.randrange(256)
            variants.append(bytes(flipped))
        for variant in variants:
            try:
                decode_example(variant)
            except TFRecordError:
                pass
    with pytest.raises(TFRecordError, match="not a multiple of 4"):
        decode_example(bytes.fromhex("0a0c0a0a0a0166120512030a0100"))


def test_bad_example_in_dataset_names_file_and_offset(tmp_path):
    path = str(tmp_path / "d.tfrecord")
    png = decode_example(_image_example(0))["image/encoded"][0]
    write_tfrecord(path, [_image_example(1), encode_example({"image/class/label": 2}),
                          _image_example(3)[:-3], encode_example({"image/encoded": png}),
                          encode_example({"image/encoded": b"GIF", "image/class/label": 4})])
    dataset = TFRecordImageDataset(path)
    offsets = scan_record_offsets(path).tolist()
    with pytest.raises(TFRecordError, match="empty") as info:
        dataset[1]
    assert info.value.path == path and info.value.offset == offsets[1]
    with pytest.raises(TFRecordError, match="malformed tf.train.Example") as info:
        dataset[2]
    assert info.value.offset == offsets[2]
    with pytest.raises(TFRecordError, match="expected one int64 in 'image/class/label'"):
        dataset[3]
    with pytest.raises(TFRecordError, match="could not decode the image bytes") as info:
        dataset[4]
    assert info.value.offset == offsets[4]
    assert dataset[0][1] == 1


# --------------------------------------------------------- shards, dataset


def _write_shards(directory, num_shards=3, per_shard=4) -> list[int]:
    labels = []
    for shard in range(num_shards):
        shard_labels = [100 * shard + i for i in range(per_shard)]
        write_tfrecord(os.path.join(directory, f"train-{shard:05d}-of-{num_shards:05d}"),
                       [_image_example(label, value=label % 250) for label in shard_labels])
        labels += shard_labels
    return labels


def test_shard_patterns(tmp_path):
    _write_shards(tmp_path)
    (tmp_path / "train-00009-of-00003.tmp-77").write_bytes(b"")  # an unfinished write
    (tmp_path / "other.tfrecord").write_bytes(b"")
    names = [f"train-{i:05d}-of-00003" for i in range(3)]
    by_glob = expand_file_pattern(str(tmp_path / "train-*-of-00003"))
    by_spec = expand_file_pattern(str(tmp_path / "train@3"))
    assert [os.path.basename(p) for p in by_glob] == names
    assert by_spec == by_glob
    both = expand_file_pattern([str(tmp_path / "other.tfrecord"), str(tmp_path / "train@3")])
    assert [os.path.basename(p) for p in both] == ["other.tfrecord"] + names


def test_missing_files_raise_file_not_found(tmp_path):
    _write_shards(tmp_path)
    pattern = str(tmp_path / "flowers_train_*.tfrecord")
    with pytest.raises(FileNotFoundError, match="no files match the pattern") as info:
        TFRecordImageDataset(pattern)
    assert pattern in str(info.value)
    os.remove(tmp_path / "train-00001-of-00003")
    with pytest.raises(FileNotFoundError, match="train-00001-of-00003.*train@3.*1 of 3"):
        TFRecordImageDataset(str(tmp_path / "train@3"))
    with pytest.raises(FileNotFoundError, match="is a directory"):
        expand_file_pattern(str(tmp_path))


def test_random_access_across_shards(tmp_path):
    labels = _write_shards(tmp_path)
    dataset = TFRecordImageDataset(str(tmp_path / "train-*"), labels_offset=1,
                                   transform=lambda image: image.float() / 255)
    assert len(dataset) == 12
    order = list(range(12))
    random.Random(1).shuffle(order)
    for index in order:
        image, label = dataset[index]
        assert label == labels[index] - 1
        assert image.dtype == torch.float32 and image.shape == (3, 2, 3)
        assert image[0, 0, 0].item() == pytest.approx((labels[index] % 250) / 255)
    assert dataset[-1][1] == labels[-1] - 1
    assert dataset.locate(5) == (str(tmp_path / "train-00001-of-00003"),
                                 int(scan_record_offsets(dataset.files[1])[1]))
    assert dataset.example(4)["image/class/label"] == [100]
    with pytest.raises(IndexError):
        dataset[12]


def test_empty_shards_are_skipped(tmp_path):
    write_tfrecord(tmp_path / "a-0", [])
    write_tfrecord(tmp_path / "a-1", [_image_example(7)])
    write_tfrecord(tmp_path / "a-2", [])
    dataset = TFRecordImageDataset(str(tmp_path / "a-*"))
    assert len(dataset) == 1 and dataset[0][1] == 7 and dataset[-1][1] == 7


def test_dataloader_with_two_workers(tmp_path):
    labels = _write_shards(tmp_path)
    dataset = TFRecordImageDataset(str(tmp_path / "train@3"))
    loader = DataLoader(dataset, batch_size=5, shuffle=True, num_workers=2,
                        generator=torch.Generator().manual_seed(0))
    seen = []
    for images, batch_labels in loader:
        assert images.shape[1:] == (3, 2, 3) and batch_labels.dtype == torch.int64
        assert torch.equal(images[:, 0, 0, 0].long(), batch_labels % 250)
        seen += batch_labels.tolist()
    assert sorted(seen) == labels


def test_distributed_sampler_partitions_records(tmp_path):
    labels = _write_shards(tmp_path)
    dataset = TFRecordImageDataset(str(tmp_path / "train@3"))
    parts = [[dataset[i][1] for i in DistributedSampler(dataset, num_replicas=2, rank=r,
                                                         shuffle=True, seed=3)]
             for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == 6
    assert sorted(parts[0] + parts[1]) == labels


def test_num_samples_mismatch_warns(tmp_path):
    _write_shards(tmp_path, num_shards=1)
    dataset = TFRecordImageDataset(str(tmp_path / "train@1"), num_samples=10)
    with pytest.warns(UserWarning, match="num_samples=10 but the files hold 4"):
        assert len(dataset) == 4
    assert dataset.num_samples == 10


def test_raw_images_need_and_use_a_shape(tmp_path):
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)  # HWC, as TF stores raw
    path = str(tmp_path / "raw.tfrecord")
    write_tfrecord(path, [encode_example({"image/encoded": pixels.tobytes(),
                                          "image/format": b"raw", "image/class/label": 1})])
    image, label = TFRecordImageDataset(path, image_shape=(2, 4, 3))[0]
    assert torch.equal(image, torch.from_numpy(pixels).permute(2, 0, 1)) and label == 1
    with pytest.raises(ValueError, match="needs shape"):
        TFRecordImageDataset(path)[0]
    with pytest.raises(TFRecordError, match=r"shape \[4, 2, 3\] needs 24|24 bytes"):
        TFRecordImageDataset(path, image_shape=(4, 4, 3))[0]


# -------------------------------------------------------- research/slim


def test_research_slim_registry_values():
    table = {("flowers", "train"): ("flowers_train_*.tfrecord", 3320, 5),
             ("flowers", "validation"): ("flowers_validation_*.tfrecord", 350, 5),
             ("cifar10", "train"): ("cifar10_train.tfrecord", 50000, 10),
             ("cifar10", "test"): ("cifar10_test.tfrecord", 10000, 10),
             ("mnist", "train"): ("mnist_train.tfrecord", 60000, 10),
             ("mnist", "test"): ("mnist_test.tfrecord", 10000, 10),
             ("imagenet", "train"): ("train-*", 1281167, 1001),
             ("imagenet", "validation"): ("validation-*", 50000, 1001)}
    for (name, split), (pattern, samples, classes) in table.items():
        spec = research_slim_dataset(name, split, "/data")
        assert (spec.file_pattern, spec.num_samples, spec.num_classes) == \
            (os.path.join("/data", pattern), samples, classes)
    assert research_slim_dataset("mnist", "test", "/d").channels == 1
    with pytest.raises(ValueError, match="unknown dataset 'coco'"):
        research_slim_dataset("coco", "train", "/d")


def test_research_slim_flowers_directory(tmp_path):
    for shard in range(2):
        write_tfrecord(tmp_path / f"flowers_validation_{shard:05d}-of-00002.tfrecord",
                       [_image_example(shard), _image_example(4)])
    write_label_file({0: "daisy", 1: "dandelion", 4: "tulips: mixed"}, str(tmp_path))
    spec = research_slim_dataset("flowers", "validation", str(tmp_path))
    assert spec.labels_to_names == {0: "daisy", 1: "dandelion", 4: "tulips: mixed"}
    with pytest.warns(UserWarning, match="num_samples=350"):
        dataset = spec.dataset()
        assert [dataset[i][1] for i in range(len(dataset))] == [0, 4, 1, 4]
    assert dataset.num_classes == 5 and dataset.labels_to_names[4] == "tulips: mixed"


def test_read_label_file_format(tmp_path):
    (tmp_path / "labels.txt").write_bytes(b"0:background\r\n1:tench, Tinca tinca\n\n")
    assert read_label_file(str(tmp_path)) == {0: "background", 1: "tench, Tinca tinca"}
    (tmp_path / "labels.txt").write_text("0:a\nb\n")
    with pytest.raises(ValueError, match="labels.txt:2: expected 'id:name'"):
        read_label_file(str(tmp_path))
    shutil.rmtree(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_label_file(str(tmp_path))
