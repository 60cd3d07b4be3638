"""research/slim's ``dataset_factory``: a dataset by name, split and directory.

=============  ==========================================================
name           what ``dataset_dir`` holds
=============  ==========================================================
``digits``     nothing: the embedded UCI digits (train 1,433 / test 364)
``mnist``      research/slim's ``mnist_<split>.tfrecord`` or torchvision's
               ``MNIST/raw`` IDX files
``cifar10``    research/slim's ``cifar10_<split>.tfrecord`` or torchvision's
               ``cifar-10-batches-py`` (or ``-bin``)
``flowers``    research/slim's ``flowers_<split>_*.tfrecord``
``imagenet``   research/slim's ``train-*`` / ``validation-*`` TFRecords
``folder``     ``<dataset_dir>/<split>/<class>/<image>`` (ImageFolder)
``synthetic``  nothing: random 3×224×224 images, 1,000 classes
``tfrecord``   research/slim-style shards + ``labels.txt`` (as
               ``slimtorch convert-data`` writes; see tfrecord_directory)
=============  ==========================================================

    >>> data = get_dataset('digits', 'test')
    >>> len(data), data.num_classes
    (364, 10)
"""

from __future__ import annotations

import glob
import os
from typing import Callable, Optional

from .digits import DigitsDataset
from .local import CIFAR10Dataset, ImageFolderDataset, MNISTDataset, SyntheticDataset
from .research_slim import research_slim_dataset
from .tfrecord_directory import tfrecord_directory_dataset

__all__ = ["DATASET_NAMES", "get_dataset"]

DATASET_NAMES = ("digits", "mnist", "cifar10", "flowers", "imagenet", "folder", "synthetic",
                 "tfrecord")
_NEEDS_DIR = ("mnist", "cifar10", "flowers", "imagenet", "folder", "tfrecord")


def get_dataset(name: str, split_name: str, dataset_dir: Optional[str] = None,
                transform: Optional[Callable] = None, labels_offset: int = 0,
                file_pattern: Optional[str] = None):
    """The ``split_name`` split of dataset ``name`` as a map-style torch
    dataset of ``(image, label)`` with ``num_classes`` and ``len()``.

    Args:
        name: one of :data:`DATASET_NAMES`.
        split_name: ``'train'``, ``'test'`` or ``'validation'`` as the dataset has.
        dataset_dir: where its files are (not needed for digits and synthetic).
        transform: applied to each uint8 ``[C, H, W]`` image.
        labels_offset: subtracted from the TFRecord labels (1 for a
            1000-class net on research/slim's 1001-class ImageNet).
        file_pattern: overrides research/slim's TFRecord file pattern
            (``%s`` stands for the split).
    """
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASET_NAMES)}")
    if name in _NEEDS_DIR:
        if not dataset_dir:
            raise ValueError(f"dataset {name!r} needs --dataset_dir (the directory with its files)")
        if not os.path.isdir(dataset_dir):
            raise FileNotFoundError(f"dataset {name!r}: dataset_dir {dataset_dir} does not exist")
    if name == "digits":
        return DigitsDataset(split_name, transform)
    if name == "synthetic":
        return SyntheticDataset(transform=transform, seed=0 if split_name == "train" else 1)
    if name == "folder":
        return ImageFolderDataset(os.path.join(dataset_dir, split_name), transform)
    if name == "tfrecord":
        split = tfrecord_directory_dataset(dataset_dir, split_name, file_pattern)
        return split.dataset(labels_offset=labels_offset, transform=transform)
    if name in ("mnist", "cifar10") and not file_pattern and not _has_tfrecords(
            research_slim_dataset(name, split_name, dataset_dir).file_pattern):
        local = MNISTDataset if name == "mnist" else CIFAR10Dataset
        return local(dataset_dir, split_name, transform)
    split = research_slim_dataset(name, split_name, dataset_dir, file_pattern)
    return split.dataset(labels_offset=labels_offset, transform=transform)


def _has_tfrecords(pattern: str) -> bool:
    return bool(glob.glob(pattern))
