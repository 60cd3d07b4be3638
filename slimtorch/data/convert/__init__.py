"""research/slim's dataset converters (``download_and_convert_data.py``),
without TensorFlow and without downloads: your images, or local MNIST /
CIFAR-10 files, as research/slim TFRecord shards + ``labels.txt`` (+
``splits.json``), which ``--dataset_name=tfrecord`` (and flowers / mnist /
cifar10) read.

* :func:`convert_folder`: ``<dir>/<class>/<image>`` (flowers' converter);
* :func:`convert_mnist`, :func:`convert_cifar10`: torchvision-layout files;
* :func:`convert_dataset`: one of them by research/slim's ``--dataset_name``,
  with its defaults (what ``slimtorch convert-data`` runs).
"""

from __future__ import annotations

import os
from typing import Optional

from .cifar10 import CIFAR10_CLASS_NAMES, convert_cifar10
from .folder import convert_folder, split_layout
from .mnist import MNIST_CLASS_NAMES, convert_mnist
from .writer import ConversionResult, shard_filenames

__all__ = ["CIFAR10_CLASS_NAMES", "CONVERTERS", "ConversionResult", "MNIST_CLASS_NAMES",
           "convert_cifar10", "convert_dataset", "convert_folder", "convert_mnist",
           "shard_filenames"]

#: ``--dataset_name`` -> (converter, default num_shards, default validation_size;
#: None = a tenth of the images). flowers is research/slim's flowers converter:
#: ``<dataset_dir>/flower_photos/<class>/`` (or the classes in ``dataset_dir``).
CONVERTERS = {
    "folder": (convert_folder, 5, None),
    "flowers": (convert_folder, 5, 350),
    "mnist": (convert_mnist, 1, 0),
    "cifar10": (convert_cifar10, 1, 0),
}


def convert_dataset(dataset_name: str, dataset_dir: str, output_dir: Optional[str] = None,
                    name: Optional[str] = None, validation_size: Optional[int] = None,
                    num_shards: Optional[int] = None, seed: int = 0,
                    progress: Optional[bool] = None) -> ConversionResult:
    """Convert ``dataset_dir`` as research/slim's converter for ``dataset_name``
    would (``folder``, ``flowers``, ``mnist``, ``cifar10``), into ``output_dir``
    (default ``dataset_dir``) with shard prefix ``name`` (default
    ``dataset_name``). Unset sizes take the dataset's defaults (see
    :data:`CONVERTERS`)."""
    if dataset_name not in CONVERTERS:
        raise ValueError(f"cannot convert dataset {dataset_name!r}; known: "
                         f"{', '.join(CONVERTERS)}")
    name = name or dataset_name
    if os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
        raise ValueError(f"--name={name} must be a file name prefix, without '{os.sep}'; "
                         "choose the directory with --output_dir")
    convert, shards, validation = CONVERTERS[dataset_name]
    if dataset_name == "flowers" and os.path.isdir(os.path.join(dataset_dir, "flower_photos")):
        output_dir = output_dir or dataset_dir
        dataset_dir = os.path.join(dataset_dir, "flower_photos")
    if os.path.isdir(dataset_dir) and split_layout(dataset_dir):
        validation = None   # an already split folder keeps its splits
    return convert(dataset_dir, output_dir, name,
                   validation if validation_size is None else validation_size,
                   shards if num_shards is None else num_shards, seed, progress)
