"""MNIST's IDX files (torchvision's layout) to research/slim's TFRecords.

research/slim's ``download_and_convert_mnist.py`` writes
``mnist_train.tfrecord`` (60,000) and ``mnist_test.tfrecord`` (10,000) of
28x28x1 PNGs and a ``labels.txt`` of the digits' names. The same from the
files :class:`~slimtorch.data.MNISTDataset` reads (nothing is downloaded),
so ``--dataset_name=mnist`` and ``--dataset_name=tfrecord`` both read the
result. One difference: research/slim's class 6 is named ``size`` (a typo
for ``six``); here it is ``six``.
"""

from __future__ import annotations

from typing import Optional

from slimtorch.data.convert.tensors import convert_tensors
from slimtorch.data.convert.writer import ConversionResult
from slimtorch.data.local import MNISTDataset

__all__ = ["MNIST_CLASS_NAMES", "convert_mnist"]

MNIST_CLASS_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                     "nine")


def convert_mnist(dataset_dir: str, output_dir: Optional[str] = None, name: str = "mnist",
                  validation_size: int = 0, num_shards: int = 1, seed: int = 0,
                  progress: Optional[bool] = None) -> ConversionResult:
    """Convert ``dataset_dir``'s MNIST IDX files; ``output_dir`` defaults to
    ``dataset_dir``. See :func:`~slimtorch.data.convert.tensors.convert_tensors`
    for ``validation_size`` and ``num_shards``."""
    splits = {}
    for split in ("train", "test"):
        data = MNISTDataset(dataset_dir, split)
        splits[split] = (data.images, data.labels)
    return convert_tensors(splits, MNIST_CLASS_NAMES, output_dir or dataset_dir, name,
                           num_shards, validation_size, seed, progress)
