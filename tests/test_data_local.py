"""The embedded digits, local files (MNIST IDX, CIFAR-10 without unpickling,
image folders), synthetic data and the dataset factory."""

import gzip
import hashlib
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from slimtorch.data.digits import DIGITS_FILE, DigitsDataset, load_digits
from slimtorch.data.factory import DATASET_NAMES, get_dataset
from slimtorch.data.idx_and_cifar import read_cifar_batch, read_idx
from slimtorch.data.local import CIFAR10Dataset, ImageFolderDataset, MNISTDataset, SyntheticDataset

# The tests write images with torchvision's encoders (deprecated in 0.29).
pytestmark = pytest.mark.filterwarnings("ignore:The image decoding and encoding")


def test_embedded_digits_file_is_the_published_one():
    with open(DIGITS_FILE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert digest == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
    assert os.path.exists(os.path.join(os.path.dirname(DIGITS_FILE), "NOTICE.md"))


def test_digits_values_scaling_and_split():
    images, labels = load_digits()
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    with gzip.open(DIGITS_FILE, "rt") as f:
        first = [int(v) for v in f.readline().split(",")]
    assert first[64] == int(labels[0]) == 0
    expected = (torch.tensor(first[:64]) * 255 + 8) // 16   # 0..16 -> 0..255
    assert torch.equal(images[0].flatten().long(), expected)
    assert int(images.max()) == 255 and int(images.min()) == 0
    train, test = DigitsDataset("train"), DigitsDataset("test")
    assert (len(train), len(test)) == (1433, 364)
    counts = torch.bincount(test.labels, minlength=10)
    assert int(counts.min()) >= 35 and int(counts.max()) <= 37   # stratified
    # The two splits partition the data: no image in both.
    all_rows = {tuple(x.flatten().tolist()) + (int(y),) for x, y in zip(images, labels)}
    split_rows = [tuple(x.flatten().tolist()) + (int(y),) for d in (train, test)
                  for x, y in zip(d.images, d.labels)]
    assert len(split_rows) == 1797 and set(split_rows) == all_rows


def test_digits_classes_and_transform():
    subset = DigitsDataset("train", classes=range(5), transform=lambda x: x.float() / 255)
    image, label = subset[3]
    assert image.dtype == torch.float32 and float(image.max()) <= 1.0
    assert set(subset.labels.tolist()) == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="digits: unknown split 'validation'"):
        DigitsDataset("validation")


def _write_idx(path, array):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(data)


def test_mnist_idx_files_in_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images = np.random.RandomState(0).randint(0, 256, (3, 28, 28)).astype(np.uint8)
    _write_idx(str(raw / "t10k-images-idx3-ubyte.gz"), images)
    _write_idx(str(raw / "t10k-labels-idx1-ubyte"), np.array([7, 2, 1], np.uint8))
    data = MNISTDataset(str(tmp_path), "test")
    assert len(data) == 3 and data.num_classes == 10
    image, label = data[0]
    assert image.shape == (1, 28, 28) and label == 7
    assert np.array_equal(image[0].numpy(), images[0])
    big_endian = np.array([[1, 70000]], np.int32)
    _write_idx(str(tmp_path / "ints"), big_endian)
    assert read_idx(str(tmp_path / "ints")).tolist() == [[1, 70000]]


def test_mnist_missing_files_say_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads.*MNIST/raw"):
        MNISTDataset(str(tmp_path), "train")


def test_bad_idx_file(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(ValueError, match="header says shape \\[5\\]"):
        read_idx(str(tmp_path / "bad"))
    (tmp_path / "png").write_bytes(b"\x89PNG....")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(str(tmp_path / "png"))


def _cifar_pickle(path, data, labels, protocol):
    with open(path, "wb") as f:   # writing a pickle is harmless; slimtorch never loads one
        pickle.dump({b"batch_label": b"testing batch 1 of 1", b"labels": labels,
                     b"data": data, b"filenames": [b"x.png"] * len(labels)}, f,
                    protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_pickles_are_parsed_not_unpickled(tmp_path, protocol, monkeypatch):
    data = np.random.RandomState(1).randint(0, 256, (4, 3072)).astype(np.uint8)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    _cifar_pickle(folder / "test_batch", data, [3, 8, 8, 0], protocol)
    monkeypatch.setattr(pickle, "loads", None)   # any unpickling would now crash
    monkeypatch.setattr(pickle, "load", None)
    cifar = CIFAR10Dataset(str(tmp_path), "test")
    image, label = cifar[1]
    assert len(cifar) == 4 and label == 8 and image.shape == (3, 32, 32)
    assert np.array_equal(image.numpy().reshape(-1), data[1])


def test_cifar_binary_version(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rows = np.random.RandomState(2).randint(0, 256, (2, 3073)).astype(np.uint8)
    rows[:, 0] = [4, 9]
    (folder / "test_batch.bin").write_bytes(rows.tobytes())
    images, labels = read_cifar_batch(str(folder / "test_batch.bin"))
    assert labels.tolist() == [4, 9]
    assert np.array_equal(images[1].numpy().reshape(-1), rows[1, 1:])


def test_cifar_rejects_other_pickles(tmp_path):
    path = tmp_path / "evil"
    path.write_bytes(pickle.dumps({"labels": [1], "data": b"short"}))
    with pytest.raises(ValueError, match="expected a CIFAR-10 batch"):
        read_cifar_batch(str(path))
    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(ValueError, match="not a readable CIFAR-10 pickle|expected a CIFAR-10"):
        read_cifar_batch(str(path))


def test_image_folder(tmp_path):
    from torchvision.io import encode_png

    for name, value in (("cat", 10), ("dog", 200)):
        (tmp_path / name).mkdir()
        image = torch.full((3, 5, 6), value, dtype=torch.uint8)
        (tmp_path / name / "a.png").write_bytes(bytes(encode_png(image).tolist()))
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    data = ImageFolderDataset(str(tmp_path))
    assert data.classes == ["cat", "dog"] and len(data) == 2 and data.num_classes == 2
    image, label = data[1]
    assert label == 1 and image.shape == (3, 5, 6) and int(image[0, 0, 0]) == 200
    with pytest.raises(FileNotFoundError, match="no images"):
        ImageFolderDataset(str(tmp_path / "cat"))


def test_synthetic_is_deterministic_per_index():
    a, b = SyntheticDataset(8, (3, 4, 4), 3, seed=5), SyntheticDataset(8, (3, 4, 4), 3, seed=5)
    assert torch.equal(a[3][0], b[3][0]) and a[3][1] == b[3][1]
    assert not torch.equal(a[3][0], a[4][0])
    with pytest.raises(IndexError):
        a[8]


def test_factory_names_and_errors(tmp_path):
    assert len(get_dataset("digits", "train")) == 1433
    assert get_dataset("synthetic", "train").num_classes == 1000
    with pytest.raises(ValueError, match="unknown dataset 'cifar100'; known datasets: digits"):
        get_dataset("cifar100", "train")
    with pytest.raises(ValueError, match="'flowers' needs --dataset_dir"):
        get_dataset("flowers", "train")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_dataset("mnist", "train", str(tmp_path / "nope"))
    assert set(DATASET_NAMES) >= {"digits", "mnist", "cifar10", "flowers", "imagenet"}


def test_factory_prefers_research_slim_tfrecords(tmp_path):
    from torchvision.io import encode_png

    from slimtorch.data import encode_example, write_tfrecord

    png = bytes(encode_png(torch.zeros(1, 28, 28, dtype=torch.uint8)).tolist())
    example = encode_example({"image/encoded": [png], "image/format": [b"png"],
                              "image/class/label": [6], "image/height": [28],
                              "image/width": [28]})
    write_tfrecord(str(tmp_path / "mnist_test.tfrecord"), [example])
    data = get_dataset("mnist", "test", str(tmp_path))
    with pytest.warns(UserWarning, match="num_samples=10000 but the files hold 1 records"):
        image, label = data[0]
    assert label == 6 and image.shape == (1, 28, 28)
