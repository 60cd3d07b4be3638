"""Translation of tf_slim/data/dataset_data_provider_test.py (tf_slim 1.1).

``provider.get(items)`` reads one record eagerly (TF: tensors evaluated by
``sess.run`` under queue runners, dropped here as graph scaffolding).

========================  ==========  =======  ====================  ===============
tf_slim test class        translated  passing  documented difference untranslatable
========================  ==========  =======  ====================  ===============
DatasetDataProviderTest   3           3        2                     0
========================  ==========  =======  ====================  ===============

Documented differences: testTFRecordDataset and testTFRecordSeparateGetDataset
— images are channels-first, so the resized image is ``[3, 300, 280]``
(TF: ``[300, 280, 3]``). In testTFRecordSeparateGetDataset the two ``get``
calls read two records (each ``get`` is one ``sess.run``); the test checks
shapes only, as TF's does.
"""

import os

import pytest
import torch

from slimtorch.data import OutOfRangeError, dataset, parsing, tfexample_decoder
from slimtorch.data import test_utils
from slimtorch.data.dataset_data_provider import DatasetDataProvider
from slimtorch.data.parallel_reader import TFRecordReader


def _resize_image(image, height, width):
    image = image.unsqueeze(0).float()
    image = torch.nn.functional.interpolate(image, size=(height, width), mode="bilinear")
    return image.squeeze(0)


def _create_tfrecord_dataset(tmpdir, num_files=1):
    os.makedirs(tmpdir, exist_ok=True)
    data_sources = test_utils.create_tfrecord_files(tmpdir, num_files=num_files)
    keys_to_features = {
        "image/encoded": parsing.FixedLenFeature(shape=(), dtype=parsing.string, default_value=""),
        "image/format": parsing.FixedLenFeature(shape=(), dtype=parsing.string, default_value="jpeg"),
        "image/class/label": parsing.FixedLenFeature(
            shape=[1], dtype=parsing.int64, default_value=parsing.zeros([1], dtype=parsing.int64)),
    }
    items_to_handlers = {
        "image": tfexample_decoder.Image(),
        "label": tfexample_decoder.Tensor("image/class/label"),
    }
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)
    return dataset.Dataset(data_sources=data_sources, reader=TFRecordReader, decoder=decoder,
                           num_samples=100, items_to_descriptions=None)


def test_tfrecord_dataset(tmp_path):
    height, width = 300, 280
    test_dataset = _create_tfrecord_dataset(str(tmp_path))
    provider = DatasetDataProvider(test_dataset)
    key, image, label = provider.get(["record_key", "image", "label"])
    image = _resize_image(image, height, width)
    split_key = key.decode("utf-8").split(":")
    assert len(split_key) == 2
    assert test_dataset.data_sources[0] == split_key[0]
    assert split_key[1].isdigit()
    assert list(image.shape) == [3, height, width]  # Difference: channels-first
    assert list(label.shape) == [1]


def test_tfrecord_separate_get_dataset(tmp_path):
    height, width = 300, 280
    provider = DatasetDataProvider(_create_tfrecord_dataset(str(tmp_path)))
    [image] = provider.get(["image"])
    [label] = provider.get(["label"])
    image = _resize_image(image, height, width)
    assert list(image.shape) == [3, height, width]  # Difference: channels-first
    assert list(label.shape) == [1]


def test_conflicting_record_key_item(tmp_path):
    with pytest.raises(ValueError):
        DatasetDataProvider(_create_tfrecord_dataset(str(tmp_path)), record_key="image")


# ---------------------------------------------------- slimtorch's own checks


def test_num_epochs_ends_with_out_of_range_error(tmp_path):
    data = _create_tfrecord_dataset(str(tmp_path))
    provider = DatasetDataProvider(data, shuffle=False, num_epochs=2)
    keys = [provider.get(["record_key"])[0] for _ in range(20)]
    assert keys[:10] == keys[10:] and len(set(keys)) == 10
    with pytest.raises(OutOfRangeError, match="exhausted"):
        provider.get(["image"])
    assert provider.num_samples() == 100
    assert provider.list_items() == ["image", "label", "record_key"]


def test_shuffled_epoch_is_a_permutation_and_seeded(tmp_path):
    data = _create_tfrecord_dataset(str(tmp_path), num_files=3)

    def keys(seed):
        provider = DatasetDataProvider(data, num_readers=2, num_epochs=1, seed=seed,
                                       common_queue_capacity=8, common_queue_min=4)
        return [record["record_key"] for record in provider]

    first = keys(7)
    ordered = [record["record_key"] for record in DatasetDataProvider(data, shuffle=False, num_epochs=1)]
    assert sorted(first) == sorted(ordered) and len(first) == 30
    assert first == keys(7) and first != ordered


def test_feeds_a_dataloader(tmp_path):
    data = _create_tfrecord_dataset(str(tmp_path), num_files=2)
    provider = DatasetDataProvider(data, shuffle=False, num_epochs=1)
    loader = torch.utils.data.DataLoader(provider, batch_size=4, num_workers=2)
    batches = list(loader)
    assert sum(len(b["record_key"]) for b in batches) == 20
    assert batches[0]["image"].shape == (4, 3, 10, 10) and batches[0]["label"].shape == (4, 1)


def test_get_rejects_unknown_items(tmp_path):
    provider = DatasetDataProvider(_create_tfrecord_dataset(str(tmp_path)))
    with pytest.raises(ValueError, match=r"Item \[images\] is invalid"):
        provider.get(["images"])
    with pytest.raises(ValueError, match="items must be a list or tuple"):
        provider.get("image")
