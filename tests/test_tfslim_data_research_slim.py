"""research/slim's dataset files, with only their imports changed, on slimtorch.

tests/fixtures/research_slim/{flowers,cifar10,mnist,imagenet}.py are
research/slim's ``datasets/*.py`` (Apache-2.0, origin noted in each) whose
``import tensorflow as tf`` / ``slim`` / ``dataset_utils`` lines now import
:mod:`slimtorch.data.parsing`, ``slimtorch`` and
:mod:`slimtorch.data.dataset_utils`. Each test writes small TFRecord shards
in the dataset's own format (file names, feature keys, ``labels.txt``) and
checks that ``DatasetDataProvider(get_split(...), shuffle=False).get(['image',
'label'])`` gives, record by record, the images and labels
:class:`~slimtorch.data.TFRecordImageDataset` reads from the same files and
the values that were written.

ImageNet's ``get_split`` downloads the synset lists when ``labels.txt`` is
missing, then writes ``labels.txt`` so later calls read it. The tests cover
both paths without a network: one writes ``labels.txt`` first (what
research/slim finds after its first run); the other serves synthetic
synset files through ``urllib.request.urlretrieve``, which the module calls.
"""

import importlib.util
import os

import pytest
import torch
from torchvision.io import encode_jpeg, encode_png

from slimtorch.data import TFRecordImageDataset, decode_example, encode_example, write_tfrecord
from slimtorch.data.dataset_data_provider import DatasetDataProvider
from slimtorch.data.dataset_utils import image_to_tfexample, write_label_file

_FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "research_slim")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"research_slim_{name}",
                                                  os.path.join(_FIXTURES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _image(seed, channels, height, width):
    """A smooth random image (JPEG keeps it close), uint8 CHW."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, channels, 3, 3, generator=generator) * 255
    image = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear",
                                            align_corners=True)
    return image[0].round().to(torch.uint8)


def _encode(image, fmt):
    encoded = encode_jpeg(image, quality=95) if fmt == "jpeg" else encode_png(image)
    return encoded.numpy().tobytes()


def _write_shards(paths, examples_per_shard, make_example):
    written, index = [], 0
    for path in paths:
        records = []
        for _ in range(examples_per_shard):
            image, label, record = make_example(index)
            written.append((image, label))
            records.append(record)
            index += 1
        write_tfrecord(path, records)
    return written


def _check_provider(dataset, written, channels, lossy):
    """The provider's records equal TFRecordImageDataset's and the written values."""
    reference = TFRecordImageDataset(dataset.data_sources, channels=channels)
    assert len(reference) == len(written)
    provider = DatasetDataProvider(dataset, shuffle=False)
    for index, (image, label) in enumerate(written):
        got_image, got_label = provider.get(["image", "label"])
        ref_image, ref_label = reference[index]
        assert got_image.dtype == torch.uint8 and got_image.shape == image.shape
        assert torch.equal(got_image, ref_image)
        assert int(got_label) == ref_label == label
        if lossy:
            # JPEG (4:2:0 chroma on tiny images) is lossy: close, not equal.
            assert (got_image.float() - image.float()).abs().mean() < 10.0
        else:
            assert torch.equal(got_image, image)
    # num_epochs=None cycles, as TF's string_input_producer does.
    got_image, got_label = provider.get(["image", "label"])
    assert torch.equal(got_image, reference[0][0]) and int(got_label) == written[0][1]


@pytest.mark.parametrize("split", ["train", "validation"])
def test_flowers(tmp_path, split):
    flowers = _load("flowers")
    names = {0: "daisy", 1: "dandelion", 2: "roses", 3: "sunflowers", 4: "tulips"}
    write_label_file(names, str(tmp_path))
    paths = [str(tmp_path / f"flowers_{split}_{shard:05d}-of-00002.tfrecord") for shard in range(2)]

    def example(index):  # download_and_convert_flowers: JPEG of any size, format b'jpg'
        image = _image(index, 3, 10 + index, 12 + 2 * index)
        label = index % 5
        return image, label, image_to_tfexample(_encode(image, "jpeg"), b"jpg", image.shape[1],
                                                image.shape[2], label)

    written = _write_shards(paths, 3, example)
    dataset = flowers.get_split(split, str(tmp_path))
    assert dataset.num_samples == flowers.SPLITS_TO_SIZES[split]
    assert dataset.num_classes == 5 and dataset.labels_to_names == names
    _check_provider(dataset, written, channels=3, lossy=True)


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10(tmp_path, split):
    cifar10 = _load("cifar10")

    def example(index):  # download_and_convert_cifar10: 32x32x3 PNG
        image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(index))
        return image, index % 10, image_to_tfexample(_encode(image, "png"), b"png", 32, 32,
                                                     index % 10)

    written = _write_shards([str(tmp_path / f"cifar10_{split}.tfrecord")], 5, example)
    dataset = cifar10.get_split(split, str(tmp_path))
    assert dataset.labels_to_names is None and dataset.num_classes == 10
    _check_provider(dataset, written, channels=3, lossy=False)


@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist(tmp_path, split):
    mnist = _load("mnist")

    def example(index):  # download_and_convert_mnist: 28x28x1 PNG
        image = torch.randint(0, 256, (1, 28, 28), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(100 + index))
        return image, 9 - index, image_to_tfexample(_encode(image, "png"), b"png", 28, 28,
                                                    9 - index)

    written = _write_shards([str(tmp_path / f"mnist_{split}.tfrecord")], 4, example)
    dataset = mnist.get_split(split, str(tmp_path))
    provider = DatasetDataProvider(dataset, shuffle=False)
    [label] = provider.get(["label"])
    assert label.shape == ()  # Tensor(shape=[]) of a FixedLenFeature([1])
    _check_provider(dataset, written, channels=1, lossy=False)


def _imagenet_example(index):
    """build_imagenet_data.py's keys; every other image has two boxes."""
    image = _image(50 + index, 3, 16, 20 + index)
    label = 1 + 7 * index
    boxes = [[0.1, 0.2, 0.5, 0.6], [0.3, 0.0, 1.0, 0.9]] if index % 2 == 0 else []
    features = {
        "image/encoded": _encode(image, "jpeg"), "image/format": b"JPEG",
        "image/class/label": label, "image/class/synset": f"n{index:08d}",
        "image/class/text": f"class {label}", "image/height": 16, "image/width": image.shape[2],
        "image/colorspace": b"RGB", "image/channels": 3, "image/filename": f"{index}.JPEG",
        "image/object/bbox/ymin": [b[0] for b in boxes], "image/object/bbox/xmin": [b[1] for b in boxes],
        "image/object/bbox/ymax": [b[2] for b in boxes], "image/object/bbox/xmax": [b[3] for b in boxes],
        "image/object/bbox/label": [label] * len(boxes),
    }
    return image, label, encode_example(features)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_imagenet_with_labels_file(tmp_path, split):
    imagenet = _load("imagenet")
    names = {0: "background", **{i: f"synset {i}" for i in range(1, 1001)}}
    write_label_file(names, str(tmp_path))
    paths = [str(tmp_path / f"{split}-{shard:05d}-of-00002") for shard in range(2)]
    written = _write_shards(paths, 2, _imagenet_example)
    dataset = imagenet.get_split(split, str(tmp_path))
    assert dataset.num_classes == 1001 and dataset.labels_to_names == names
    _check_provider(dataset, written, channels=3, lossy=True)

    provider = DatasetDataProvider(dataset, shuffle=False, num_epochs=1)
    for index in range(len(written)):
        text, boxes, object_labels, key = provider.get(
            ["label_text", "object/bbox", "object/label", "record_key"])
        features = decode_example(_write_back(paths, index))
        assert text == features["image/class/text"][0]
        expected = torch.tensor([features[f"image/object/bbox/{side}"]
                                 for side in ("ymin", "xmin", "ymax", "xmax")]).T
        assert boxes.shape == (len(features["image/object/bbox/xmin"]), 4)
        torch.testing.assert_close(boxes, expected.reshape(boxes.shape))
        # build_imagenet_data writes image/object/bbox/label, not .../class/label.
        assert object_labels.tolist() == []
        assert key.decode().startswith(paths[index // 2] + ":")


def _write_back(paths, index):
    """The serialized record ``index`` (2 per shard), read with TFRecordImageDataset's index."""
    from slimtorch.data import read_record_at
    path, offset = TFRecordImageDataset(paths).locate(index)
    return read_record_at(path, offset)


def test_imagenet_downloads_names_when_labels_file_is_missing(tmp_path, monkeypatch):
    imagenet = _load("imagenet")
    synsets = [f"n{i:08d}" for i in range(1000)]
    (tmp_path / "synsets.txt").write_text("".join(s + "\n" for s in synsets))
    all_synsets = synsets + [f"n9{i:07d}" for i in range(21842 - 1000)]
    (tmp_path / "metadata.txt").write_text("".join(f"{s}\tthing {s}\n" for s in all_synsets))
    served = {"imagenet_lsvrc_2015_synsets.txt": tmp_path / "synsets.txt",
              "imagenet_metadata.txt": tmp_path / "metadata.txt"}
    monkeypatch.setattr(imagenet.urllib.request, "urlretrieve",
                        lambda url: (str(served[url.rsplit("/", 1)[1]]), None))
    data_dir = tmp_path / "imagenet"
    data_dir.mkdir()
    _write_shards([str(data_dir / "validation-00000-of-00001")], 2, _imagenet_example)

    dataset = imagenet.get_split("validation", str(data_dir))
    assert dataset.labels_to_names[0] == "background"
    assert dataset.labels_to_names[1] == "thing n00000000"
    assert dataset.labels_to_names[1000] == "thing n00000999"
    assert (data_dir / "labels.txt").exists()  # written once, read from then on
    monkeypatch.setattr(imagenet.urllib.request, "urlretrieve", None)
    assert imagenet.get_split("validation", str(data_dir)).labels_to_names == dataset.labels_to_names


def test_unknown_split_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="split name val was not recognized"):
        _load("flowers").get_split("val", str(tmp_path))


def test_provider_images_feed_slimtorch_preprocessing(tmp_path):
    """research/slim's next step, ``image_preprocessing_fn(image, h, w)``, takes the image as is."""
    from slimtorch.data.preprocessing import get_preprocessing

    flowers = _load("flowers")
    image = _image(1, 3, 40, 30)
    write_tfrecord(str(tmp_path / "flowers_train_00000-of-00001.tfrecord"),
                   [image_to_tfexample(_encode(image, "jpeg"), b"jpg", 40, 30, 3)])
    provider = DatasetDataProvider(flowers.get_split("train", str(tmp_path)), num_readers=4,
                                   common_queue_capacity=20, common_queue_min=10)
    [image, label] = provider.get(["image", "label"])
    label -= 1  # train_image_classifier's --labels_offset
    processed = get_preprocessing("vgg_16", is_training=False)(image, 24, 24)
    assert processed.shape == (3, 24, 24) and int(label) == 2
