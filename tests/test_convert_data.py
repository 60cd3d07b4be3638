"""``slimtorch convert-data`` and ``--dataset_name=tfrecord``: research/slim's
converters without TensorFlow, checked against research/slim's algorithm
(sorted names, ``random.seed(0)`` shuffle, first N held out, ``ceil`` shards)
and against TensorFlow-written records (tests/golden/tfrecords)."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch import cli
from slimtorch._io.atomic import TMP_MARKER
from slimtorch.data import (decode_example, get_dataset, iter_tfrecord, read_label_file,
                            scan_record_offsets, tfrecord_directory_dataset, write_label_file,
                            write_tfrecord)
from slimtorch.data.convert import convert_cifar10, convert_dataset, convert_folder, convert_mnist
from slimtorch.data.convert import folder as folder_module
from slimtorch.data.dataset_utils import image_to_tfexample

pytestmark = pytest.mark.filterwarnings(
    "ignore:The image decoding and encoding capabilities:DeprecationWarning")

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "tfrecords")
COLOURS = {"blue": (20, 40, 230), "green": (30, 220, 50), "red": (240, 30, 20)}


def _image(cls: str, i: int) -> torch.Tensor:
    """A distinct 8x8 image of ``cls``'s colour: pixel (0, 0) carries ``i``."""
    image = torch.tensor(COLOURS[cls], dtype=torch.uint8).view(3, 1, 1).repeat(1, 8, 8)
    image[:, 0, 0] = i
    return image


def _write_folder(root, per_class: int, splits=None) -> None:
    from torchvision.io import write_png
    for split in splits or [None]:
        for cls in COLOURS:
            directory = os.path.join(root, *([split] if split else []), cls)
            os.makedirs(directory)
            for i in range(per_class):
                write_png(_image(cls, i), os.path.join(directory, f"{i:02d}.png"))


def _records(paths) -> list:
    return [decode_example(r) for path in paths for r in iter_tfrecord(path)]


# ------------------------------------------------------------ the folder converter


def test_folder_split_shards_and_labels_follow_research_slim(tmp_path):
    root, out = str(tmp_path / "photos"), str(tmp_path / "out")
    _write_folder(root, 7)
    result = convert_folder(root, out, name="toys", validation_size=5, num_shards=3,
                            progress=False)

    # research/slim's algorithm, written out: sorted names, seed 0, first 5 held out.
    names = sorted(os.path.join(root, c, f"{i:02d}.png") for c in COLOURS for i in range(7))
    random.seed(0)
    random.shuffle(names)
    expected = {"validation": names[:5], "train": names[5:]}
    assert result.splits == {"train": 16, "validation": 5} and result.num_classes == 3
    for split, paths in expected.items():
        files = [os.path.join(out, f"toys_{split}_{k:05d}-of-00003.tfrecord") for k in range(3)]
        assert result.files[split] == files
        per_shard = -(-len(paths) // 3)   # ceil, as research/slim cuts
        assert [len(scan_record_offsets(f)) for f in files] == \
            [len(paths[k * per_shard:(k + 1) * per_shard]) for k in range(3)]
        records = _records(files)
        for record, path in zip(records, paths, strict=True):
            with open(path, "rb") as f:
                assert record["image/encoded"] == [f.read()]   # the file's bytes, as they are
            assert record["image/format"] == [b"png"]
            assert record["image/class/label"] == [sorted(COLOURS).index(path.split(os.sep)[-2])]
            assert record["image/height"] == [8] and record["image/width"] == [8]
    assert read_label_file(out) == {0: "blue", 1: "green", 2: "red"}
    with open(os.path.join(out, "splits.json")) as f:
        splits = json.load(f)
    assert splits["num_classes"] == 3 and splits["splits"]["validation"] == {
        "num_samples": 5, "files": [os.path.basename(f) for f in result.files["validation"]]}
    assert sorted(os.listdir(out)) == sorted(
        ["labels.txt", "splits.json"] + [os.path.basename(f) for fs in result.files.values()
                                         for f in fs])


def test_conversion_is_deterministic_and_seeded(tmp_path):
    root = str(tmp_path / "photos")
    _write_folder(root, 4)
    outputs = {}
    for run, seed in (("a", 0), ("b", 0), ("c", 1)):
        out = str(tmp_path / run)
        convert_folder(root, out, validation_size=3, num_shards=2, seed=seed, progress=False)
        outputs[run] = {name: (tmp_path / run / name).read_bytes() for name in os.listdir(out)}
    assert outputs["a"] == outputs["b"]
    assert outputs["a"]["folder_validation_00000-of-00002.tfrecord"] != \
        outputs["c"]["folder_validation_00000-of-00002.tfrecord"]


def test_records_and_framing_equal_tensorflow_written_ones(tmp_path):
    """The golden images, laid out as a folder, come back as TF wrote them:
    the same tf.Example bytes (research/slim's image_to_tfexample) and the
    same TFRecord framing, byte for byte."""
    golden = os.path.join(GOLDEN, "images.tfrecord")
    tf_records = list(iter_tfrecord(golden))
    tf_bytes = open(golden, "rb").read()
    offsets = list(scan_record_offsets(golden)) + [len(tf_bytes)]
    framed = {r: tf_bytes[a:b] for r, a, b in zip(tf_records, offsets, offsets[1:])}
    root = tmp_path / "golden"
    expected = set()
    for n, record in enumerate(tf_records):
        features = decode_example(record)
        label, fmt = features["image/class/label"][0], features["image/format"][0]
        (root / f"class{label}").mkdir(parents=True, exist_ok=True)
        (root / f"class{label}" / f"{n}.{fmt.decode()}").write_bytes(features["image/encoded"][0])
        if fmt == b"jpeg":   # research/slim's flowers converter says jpg for any JPEG
            record = image_to_tfexample(features["image/encoded"][0], b"jpg", 8, 8, label)
        expected.add(record)
    result = convert_folder(str(root), str(tmp_path / "out"), validation_size=0, num_shards=1,
                            progress=False)
    assert result.splits == {"train": 6}
    [shard] = result.files["train"]
    ours = list(iter_tfrecord(shard))
    assert set(ours) == expected and len(ours) == 6
    data = open(shard, "rb").read()
    spans = dict(zip(ours, _spans(shard)))
    same = [r for r in ours if r in framed]
    # all but the two 'jpeg' ones (now 'jpg'): framed as TF framed them
    assert len(same) == 4
    assert all(data[slice(*spans[r])] == framed[r] for r in same)


def _spans(path):
    offsets = list(scan_record_offsets(path)) + [os.path.getsize(path)]
    return list(zip(offsets, offsets[1:]))


def test_images_that_do_not_decode_are_reported_and_skipped(tmp_path, caplog):
    root = tmp_path / "photos"
    _write_folder(str(root), 3)
    (root / "red" / "cut.png").write_bytes((root / "red" / "00.png").read_bytes()[:30])
    (root / "blue" / "notes.jpg").write_text("not a picture")
    caplog.set_level(logging.WARNING)
    result = convert_folder(str(root), str(tmp_path / "out"), validation_size=2,
                            progress=False)
    bad = sorted(str(root / p) for p in ("red/cut.png", "blue/notes.jpg"))
    assert sorted(path for path, _ in result.skipped) == bad
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(m.split(": ")[0] for m in warned) == [f"skipped {p}" for p in bad]
    assert all(".cpp" not in m for m in warned)
    assert result.splits == {"train": 7, "validation": 2}   # 9 good images, exactly 2 held out


# A 2x1 GIF, a red and a blue pixel (Pillow 13 wrote it; torchvision reads GIFs
# but does not write them).
GIF = bytes.fromhex("47494638376102000100810000ff00000000ff0000000000002c0000000002000100000805"
                    "0001040808003b")


def test_gifs_are_stored_as_png_with_the_same_pixels(tmp_path):
    from slimtorch.data import decode_image_bytes
    (tmp_path / "photos" / "dots").mkdir(parents=True)
    (tmp_path / "photos" / "dots" / "two.gif").write_bytes(GIF)
    result = convert_folder(str(tmp_path / "photos"), str(tmp_path / "out"),
                            validation_size=0, num_shards=1, progress=False)
    [record] = _records(result.files["train"])
    assert record["image/format"] == [b"png"] and record["image/encoded"][0][:4] == b"\x89PNG"
    assert (record["image/height"], record["image/width"]) == ([1], [2])
    stored = decode_image_bytes(record["image/encoded"][0])
    assert stored[:, 0, :].T.tolist() == [[255, 0, 0], [0, 0, 255]]
    assert torch.equal(stored, decode_image_bytes(GIF))


def test_an_already_split_folder_keeps_its_splits(tmp_path):
    root = str(tmp_path / "photos")
    _write_folder(root, 2, splits=["train", "validation"])
    result = convert_dataset("folder", root, progress=False)   # output next to the images
    assert result.output_dir == root and result.splits == {"train": 6, "validation": 6}
    for split in ("train", "validation"):
        folder = get_dataset("folder", split, root)
        shards = get_dataset("tfrecord", split, root)
        assert len(shards) == len(folder) == 6 and shards.num_classes == folder.num_classes
        assert sorted((x.numpy().tobytes(), y) for x, y in folder) == \
            sorted((x.numpy().tobytes(), y) for x, y in shards)
    with pytest.raises(ValueError, match="already split .*leave out --validation_size"):
        convert_folder(root, str(tmp_path / "other"), validation_size=3)
    for inside in (os.path.join(root, "shards"), os.path.join(root, "train", "shards")):
        with pytest.raises(ValueError, match="is inside the images, where it would be read "
                                             "as a class; put it beside them"):
            convert_folder(root, inside)


def test_flowers_reads_flower_photos_with_research_slim_defaults(tmp_path):
    _write_folder(str(tmp_path / "flower_photos"), 118)
    result = convert_dataset("flowers", str(tmp_path), progress=False)
    assert result.splits == {"train": 4, "validation": 350}
    assert os.path.basename(result.files["train"][4]) == "flowers_train_00004-of-00005.tfrecord"
    # research/slim's own flowers dataset (its file pattern, its split sizes) reads the result
    validation = get_dataset("flowers", "validation", str(tmp_path))
    assert len(validation) == 350 and validation.labels_to_names == {0: "blue", 1: "green",
                                                                      2: "red"}


# ------------------------------------------------------------ re-runs and kills


def test_a_finished_conversion_is_not_redone_and_a_stopped_one_is_reported(tmp_path,
                                                                           monkeypatch):
    root, out = str(tmp_path / "photos"), str(tmp_path / "out")
    _write_folder(root, 4)
    stamp = {}
    first = convert_folder(root, out, validation_size=3, progress=False)
    stamp = {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in os.listdir(out)}
    again = convert_folder(root, out, validation_size=3, progress=False)
    assert again.already_converted and again.splits == first.splits
    assert stamp == {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in os.listdir(out)}

    # Stopped in the middle of the second shard: no half shard, no temp file, no splits.json.
    out2 = str(tmp_path / "out2")
    calls = {"n": 0}
    real = folder_module._stored

    def stop_at_the_fourth(path):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(path)
    monkeypatch.setattr(folder_module, "_stored", stop_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        convert_folder(root, out2, validation_size=3, num_shards=3, progress=False)
    assert os.listdir(out2) == ["folder_train_00000-of-00003.tfrecord"]   # 3 whole records
    assert len(scan_record_offsets(os.path.join(out2, os.listdir(out2)[0]))) == 3
    monkeypatch.setattr(folder_module, "_stored", real)
    with pytest.raises(ValueError, match="1 folder shard.*no finished conversion's splits.json"):
        convert_folder(root, out2, validation_size=3, num_shards=3, progress=False)


@pytest.mark.slow
def test_sigkill_mid_shard_leaves_no_half_shard(tmp_path):
    """A real SIGKILL while the second shard is being written (the process
    kills itself as it reads the fourth image)."""
    root, out = tmp_path / "photos", tmp_path / "out"
    _write_folder(str(root), 4)
    script = (
        "import os, signal, sys\n"
        "from slimtorch.data.convert import convert_folder, folder\n"
        "real, calls = folder._stored, []\n"
        "def dying(path):\n"
        "    calls.append(path)\n"
        "    if len(calls) == 4:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(path)\n"
        "folder._stored = dying\n"
        "convert_folder(sys.argv[1], sys.argv[2], validation_size=3, num_shards=3,\n"
        "               progress=False)\n")
    done = subprocess.run([sys.executable, "-c", script, str(root), str(out)],
                          capture_output=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    names = sorted(os.listdir(out))
    assert names[0] == "folder_train_00000-of-00003.tfrecord" and len(names) == 2
    assert names[1].startswith(f"folder_train_00001-of-00003.tfrecord{TMP_MARKER}")
    assert len(scan_record_offsets(str(out / names[0]))) == 3   # whole, and only whole
    with pytest.raises(ValueError, match="no finished conversion's splits.json"):
        convert_folder(str(root), str(out), validation_size=3, num_shards=3, progress=False)
    assert os.listdir(out) == [names[0]]   # the dead process's temp file is gone


def test_temp_files_of_a_killed_conversion_are_removed(tmp_path):
    root, out = str(tmp_path / "photos"), tmp_path / "out"
    _write_folder(root, 2)
    out.mkdir()
    host = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())
    dead = f"folder_train_00000-of-00001.tfrecord{TMP_MARKER}{host}-999999999"
    (out / dead).write_bytes(b"half a shard")
    convert_folder(root, str(out), validation_size=0, num_shards=1, progress=False)
    assert sorted(os.listdir(out)) == ["folder_train_00000-of-00001.tfrecord", "labels.txt",
                                       "splits.json"]


# ------------------------------------------------------------ mnist and cifar10


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_mnist_from_idx_files(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.RandomState(0)
    for prefix, n in (("train", 6), ("t10k", 3)):
        _write_idx(str(raw / f"{prefix}-images-idx3-ubyte"), rng.randint(0, 256, (n, 28, 28)))
        _write_idx(str(raw / f"{prefix}-labels-idx1-ubyte"), np.arange(n) % 10)
    result = convert_mnist(str(tmp_path), str(tmp_path / "out"), progress=False)
    assert result.splits == {"train": 6, "test": 3}
    assert sorted(os.listdir(tmp_path / "out")) == ["labels.txt", "mnist_test.tfrecord",
                                                    "mnist_train.tfrecord", "splits.json"]
    assert read_label_file(str(tmp_path / "out"))[6] == "six"
    local = get_dataset("mnist", "train", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # research/slim's mnist says 60,000 samples
        slim_reader = get_dataset("mnist", "train", str(tmp_path / "out"))
        assert len(slim_reader) == 6
    generic = get_dataset("tfrecord", "train", str(tmp_path / "out"))
    for i in range(6):
        assert generic[i][0].shape == (1, 28, 28)   # splits.json: channels 1
        assert torch.equal(generic[i][0], local[i][0]) and generic[i][1] == local[i][1]
        assert torch.equal(slim_reader[i][0], local[i][0])


def test_cifar10_from_binary_batches_with_a_validation_split(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rng = np.random.RandomState(3)
    for name, n in [(f"data_batch_{i}", 2) for i in range(1, 6)] + [("test_batch", 2)]:
        rows = rng.randint(0, 256, (n, 3073)).astype(np.uint8)
        rows[:, 0] = rng.randint(0, 10, n)
        (folder / f"{name}.bin").write_bytes(rows.tobytes())
    out = str(tmp_path / "out")
    result = convert_cifar10(str(tmp_path), out, validation_size=3, num_shards=2, seed=5,
                             progress=False)
    assert result.splits == {"train": 7, "test": 2, "validation": 3}
    order = list(range(10))
    random.Random(5).shuffle(order)
    held_out = sorted(order[:3])
    local = get_dataset("cifar10", "train", str(tmp_path))
    validation = get_dataset("tfrecord", "validation", out)
    assert os.path.basename(validation.files[1]) == "cifar10_validation_00001-of-00002.tfrecord"
    for i, source in enumerate(held_out):
        assert torch.equal(validation[i][0], local[source][0])
        assert validation[i][1] == local[source][1]
    assert read_label_file(out)[0] == "airplane"


# ------------------------------------------------------------ --dataset_name=tfrecord


def _shard(path, labels):
    from torchvision.io import encode_png
    png = encode_png(torch.zeros(3, 2, 2, dtype=torch.uint8)).numpy().tobytes()
    write_tfrecord(path, [image_to_tfexample(png, b"png", 2, 2, k) for k in labels])


def test_tfrecord_directory_without_splits_json_counts_and_finds_names(tmp_path):
    for layout, names in {
            "flowers": ["pets_train_00000-of-00002.tfrecord", "pets_train_00001-of-00002.tfrecord"],
            "mnist": ["pets_train.tfrecord"],
            "imagenet": ["train-00000-of-00002", "train-00001-of-00002"]}.items():
        d = tmp_path / layout
        d.mkdir()
        for name in names:
            _shard(str(d / name), [0, 1, 2])
        write_label_file({0: "cat", 1: "dog", 2: "eel", 3: "fox"}, str(d))
        split = tfrecord_directory_dataset(str(d), "train")
        assert [os.path.basename(f) for f in split.file_pattern] == names
        assert split.num_samples == 3 * len(names) and split.num_classes == 4
        data = get_dataset("tfrecord", "train", str(d), labels_offset=1)
        assert len(data) == 3 * len(names) and data[2][1] == 1 and data.num_classes == 4


def test_tfrecord_directory_mistakes(tmp_path):
    d = str(tmp_path)
    _shard(os.path.join(d, "a_train.tfrecord"), [0])
    with pytest.raises(ValueError, match="labels.txt is missing"):
        tfrecord_directory_dataset(d, "train")
    write_label_file({0: "x"}, d)
    with pytest.raises(FileNotFoundError, match="no 'test' shards in .*convert-data"):
        tfrecord_directory_dataset(d, "test")
    _shard(os.path.join(d, "b_train.tfrecord"), [0])
    with pytest.raises(ValueError, match="several datasets \\(a, b\\)"):
        tfrecord_directory_dataset(d, "train")
    with open(os.path.join(d, "splits.json"), "w") as f:
        json.dump({"name": "a", "num_classes": 1, "splits": {
            "train": {"num_samples": 1, "files": ["a_train.tfrecord"]}}}, f)
    assert tfrecord_directory_dataset(d, "train").num_samples == 1
    with pytest.raises(FileNotFoundError, match="has no split 'validation'; its splits: train"):
        tfrecord_directory_dataset(d, "validation")


# ------------------------------------------------------------ the command


def test_command_flags_and_mistakes(tmp_path, capsys):
    assert cli.main(["convert-data", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--dataset_name", "--dataset_dir", "--output_dir", "--validation_size",
                 "--num_shards", "--seed", "--name"):
        assert flag in text
    for argv, message in [
            ([], "You must supply the dataset name with --dataset_name; e.g. "
                 "--dataset_name=folder (one of folder, flowers, mnist, cifar10)"),
            (["--dataset_name=folder"], "You must supply the dataset directory with "
                                        "--dataset_dir"),
            (["--dataset_name=flower"], "--dataset_name=flower is not one of folder, flowers, "
                                        "mnist, cifar10; did you mean --dataset_name=flowers?"),
            (["--dataset_name=folder", f"--dataset_dir={tmp_path}", "--num_shards=0"],
             "--num_shards must be a whole number above 0, not '0'"),
            (["--dataset_name=folder", f"--dataset_dir={tmp_path / 'none'}"],
             f"{tmp_path / 'none'} is not a directory"),
            (["--dataset_name=folder", f"--dataset_dir={tmp_path}", "--name=a/b"],
             "--name=a/b must be a file name prefix, without '/'")]:
        assert cli.main(["convert-data", *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"slimtorch convert-data: error: {message}"), err
        assert err.count("\n") == 1


def _accuracy(out: str) -> float:
    return float(out.split("eval/Accuracy: ")[1].split()[0])


def test_command_converts_once_and_then_says_so(tmp_path, capsys, caplog):
    root = tmp_path / "photos"
    _write_folder(str(root), 5)
    (root / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 and then nothing")
    argv = ["convert-data", "--dataset_name=folder", f"--dataset_dir={root}",
            f"--output_dir={tmp_path / 'shards'}", "--validation_size=3", "--num_shards=2",
            "--name=colours"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Wrote colours: train 12, validation 3 images of 3 classes, 4 files" in out
    assert "Skipped 1 image(s)" in out and f"--dataset_dir={tmp_path / 'shards'}" in out
    assert any(f"skipped {root / 'red' / 'broken.jpg'}: " in r.getMessage() for r in caplog.records)
    assert cli.main(argv) == 0
    assert "Dataset files already exist" in capsys.readouterr().out
    data = get_dataset("tfrecord", "validation", str(tmp_path / "shards"))
    assert len(data) == 3 and data.labels_to_names == {0: "blue", 1: "green", 2: "red"}


@pytest.mark.slow
def test_round_trip_folder_to_shards_to_train_and_eval(tmp_path, capsys):
    """convert-data -> train -> eval on the shards reaches what training on
    the folder itself reaches (here: every validation image right)."""
    root = str(tmp_path / "photos")
    _write_folder(root, 6, splits=["train", "validation"])
    assert cli.main(["convert-data", "--dataset_name=folder", f"--dataset_dir={root}",
                     f"--output_dir={tmp_path / 'shards'}", "--num_shards=2"]) == 0
    assert "Wrote folder: train 18, validation 18 images of 3 classes" in capsys.readouterr().out
    common = ["--model_name=cifarnet", "--batch_size=6", "--num_preprocessing_threads=0",
              "--num_threads=1", "--device=cpu"]
    accuracy = {}
    for name, data in (("folder", root), ("tfrecord", str(tmp_path / "shards"))):
        slim.reset_default_graph()
        train_dir = str(tmp_path / f"train_{name}")
        assert cli.main(["train", f"--dataset_name={name}", f"--dataset_dir={data}",
                         f"--train_dir={train_dir}", "--train_image_size=16",
                         "--max_number_of_steps=12", "--optimizer=sgd", "--learning_rate=0.05",
                         "--learning_rate_decay_type=fixed", "--weight_decay=0",
                         "--log_every_n_steps=0", *common]) == 0
        slim.reset_default_graph()
        capsys.readouterr()
        assert cli.main(["eval", f"--dataset_name={name}", f"--dataset_dir={data}",
                         "--dataset_split_name=validation", f"--checkpoint_path={train_dir}",
                         f"--eval_dir={tmp_path / f'eval_{name}'}", "--eval_image_size=16",
                         *common]) == 0
        accuracy[name] = _accuracy(capsys.readouterr().out)
    assert accuracy == {"folder": 1.0, "tfrecord": 1.0}
