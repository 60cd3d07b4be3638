"""CIFAR-10's batches (torchvision's layout) to research/slim's TFRecords.

research/slim's ``download_and_convert_cifar10.py`` writes
``cifar10_train.tfrecord`` (data batches 1-5, 50,000) and
``cifar10_test.tfrecord`` (10,000) of 32x32x3 PNGs and a ``labels.txt`` of
the class names. The same from the files
:class:`~slimtorch.data.CIFAR10Dataset` reads (``cifar-10-batches-py``,
parsed without unpickling, or ``-bin``); nothing is downloaded.
"""

from __future__ import annotations

from typing import Optional

from slimtorch.data.convert.tensors import convert_tensors
from slimtorch.data.convert.writer import ConversionResult
from slimtorch.data.local import CIFAR10Dataset

__all__ = ["CIFAR10_CLASS_NAMES", "convert_cifar10"]

CIFAR10_CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck")


def convert_cifar10(dataset_dir: str, output_dir: Optional[str] = None, name: str = "cifar10",
                    validation_size: int = 0, num_shards: int = 1, seed: int = 0,
                    progress: Optional[bool] = None) -> ConversionResult:
    """Convert ``dataset_dir``'s CIFAR-10 batches; ``output_dir`` defaults to
    ``dataset_dir``. See :func:`~slimtorch.data.convert.tensors.convert_tensors`
    for ``validation_size`` and ``num_shards``."""
    splits = {}
    for split in ("train", "test"):
        data = CIFAR10Dataset(dataset_dir, split)
        splits[split] = (data.images, data.labels)
    return convert_tensors(splits, CIFAR10_CLASS_NAMES, output_dir or dataset_dir, name,
                           num_shards, validation_size, seed, progress)
