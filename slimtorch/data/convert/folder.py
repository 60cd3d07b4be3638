"""Class-per-folder images to research/slim TFRecord shards (flowers' converter).

research/slim's ``download_and_convert_flowers.py`` lists
``flower_photos/<class>/<image>``, numbers the classes in sorted order,
shuffles the file names with ``random.seed(0)``, takes the first 350 as
the validation split and the rest as train, and writes each image's file
bytes as they are with ``dataset_utils.image_to_tfexample``. So does
:func:`convert_folder`, for any such folder, with these differences:

* the file list is sorted before the shuffle (research/slim shuffles
  ``os.listdir``'s order, which differs between file systems), so the seed
  alone fixes the split;
* images are checked first; one that does not decode is reported (a
  warning naming the file) and left out, before the split, so
  ``validation_size`` is exact. (research/slim stops at the first one.)
* ``image/format`` says what the bytes are, ``jpg`` or ``png``
  (research/slim writes ``jpg`` for every flower); GIF, WebP and BMP images are
  stored re-encoded as PNG, which every TF-Slim reader decodes;
* a folder already split as ``<dir>/train/<class>/...``,
  ``<dir>/validation/...`` (``--dataset_name=folder``'s layout) keeps its
  splits; each is still shuffled with the seed.

    >>> import os, tempfile, torch
    >>> from torchvision.io import write_png
    >>> d = tempfile.mkdtemp()
    >>> for cls, value in (("black", 0), ("white", 255)):
    ...     os.makedirs(os.path.join(d, cls))
    ...     for i in range(3):
    ...         _ = write_png(torch.full((3, 4, 4), value, dtype=torch.uint8),
    ...                       os.path.join(d, cls, f"{i}.png"))
    >>> result = convert_folder(d, validation_size=2, num_shards=2, progress=False)
    >>> result.splits, result.num_classes
    ({'train': 4, 'validation': 2}, 2)
    >>> sorted(f for f in os.listdir(d) if f.endswith((".tfrecord", ".txt", ".json")))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['folder_train_00000-of-00002.tfrecord', 'folder_train_00001-of-00002.tfrecord',
     'folder_validation_00000-of-00002.tfrecord', 'folder_validation_00001-of-00002.tfrecord',
     'labels.txt', 'splits.json']
"""

from __future__ import annotations

import logging
import os
import random
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from slimtorch.data.convert.writer import (ConversionResult, png_bytes, prepare_output_dir,
                                           progress_bar, write_dataset)
from slimtorch.data.dataset_utils import image_to_tfexample
from slimtorch.data.image_decoding import decode_image_bytes
from slimtorch.data.local import ImageFolderDataset

__all__ = ["SPLIT_NAMES", "convert_folder", "split_layout"]

logger = logging.getLogger(__name__)

#: Sub-directories that make a folder "already split".
SPLIT_NAMES = ("train", "validation", "test")
_PNG, _JPEG = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"
_SOURCE_LOCATION = re.compile(r"\w+(\(\))?, \S+\.cpp:\d+, | \(format ''\)")
_THREADS = 8   # decoding waits on the disk and releases the GIL


def convert_folder(dataset_dir: str, output_dir: Optional[str] = None, name: str = "folder",
                   validation_size: Optional[int] = None, num_shards: int = 5, seed: int = 0,
                   progress: Optional[bool] = None) -> ConversionResult:
    """Convert ``dataset_dir/<class>/<images>`` to TFRecord shards in ``output_dir``.

    Args:
        dataset_dir: class sub-directories of images (searched recursively;
            PNG, JPEG, GIF, WebP), or ``train``/``validation``/``test``
            sub-directories each holding class sub-directories.
        output_dir: where the shards, ``labels.txt`` and ``splits.json`` go
            (default: ``dataset_dir``, as research/slim writes).
        name: the shards' prefix (``<name>_train_00000-of-00005.tfrecord``).
        validation_size: images of the validation split (default: a tenth;
            0: no validation split; an already split folder takes no other value).
        num_shards: shards per split.
        seed: of the shuffle (research/slim's ``_RANDOM_SEED`` is 0).
        progress: a progress bar (None: when stderr is a terminal).

    Returns:
        a :class:`~slimtorch.data.convert.ConversionResult`; when ``output_dir``
        already holds this conversion, nothing is written and
        ``already_converted`` is True.

    Raises:
        FileNotFoundError: no images, or no ``dataset_dir``.
        ValueError: a bad size, or other shards in the way.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be 1 or more, got {num_shards}")
    if not os.path.isdir(dataset_dir):
        raise FileNotFoundError(f"{dataset_dir} is not a directory (expected "
                                "<dataset_dir>/<class name>/<image files>)")
    output_dir = output_dir or dataset_dir
    layout = split_layout(dataset_dir)
    parent = os.path.dirname(os.path.abspath(output_dir))
    if parent in [os.path.abspath(os.path.join(dataset_dir, d)) for d in ["", *layout]]:
        raise ValueError(f"--output_dir {output_dir} is inside the images, where it would be "
                         f"read as a class; put it beside them (or leave it out to write into "
                         f"{dataset_dir} itself)")
    if layout:
        if validation_size:
            raise ValueError(f"{dataset_dir} is already split ({', '.join(layout)}); leave out "
                             "--validation_size (or give a folder of class directories)")
        folders = {split: ImageFolderDataset(os.path.join(dataset_dir, split)) for split in layout}
        classes = sorted({c for folder in folders.values() for c in folder.classes})
    else:
        folder = ImageFolderDataset(dataset_dir)
        folders, classes = {None: folder}, folder.classes
    done = prepare_output_dir(output_dir, name)
    if done is not None:
        return done
    class_ids = {c: i for i, c in enumerate(classes)}
    skipped, good = [], {}
    for split, folder in folders.items():
        samples = [(path, class_ids[folder.classes[label]]) for path, label in folder.samples]
        good[split] = _check_images(samples, skipped, progress)
    rng = random.Random(seed)
    if layout:
        splits = {}
        for split in layout:
            rng.shuffle(good[split])
            splits[split] = good[split]
    else:
        images = good[None]
        size = len(images) // 10 if validation_size is None else validation_size
        if not 0 <= size < len(images):
            raise ValueError(f"validation_size {size} leaves no training images: {dataset_dir} "
                             f"has {len(images)} readable images; pass a smaller --validation_size")
        rng.shuffle(images)
        splits = {"train": images[size:], "validation": images[:size]} if size else \
            {"train": images}
    result = write_dataset(output_dir, name, splits, _example, dict(enumerate(classes)),
                           num_shards, progress=progress)
    result.skipped = skipped
    return result


def split_layout(dataset_dir: str) -> list:
    """The split sub-directories of an already split folder, else [].

    A folder is already split when its sub-directories are ``train`` and
    optionally ``validation`` and ``test``, nothing else.
    """
    subdirs = sorted(d for d in os.listdir(dataset_dir)
                     if os.path.isdir(os.path.join(dataset_dir, d)))
    if "train" in subdirs and set(subdirs) <= set(SPLIT_NAMES):
        return [split for split in SPLIT_NAMES if split in subdirs]
    return []


def _check_images(samples: list, skipped: list, progress) -> list:
    """``(path, class id, height, width)`` of the samples that decode; each
    that does not is warned about and added to ``skipped``."""
    good = []
    with ThreadPoolExecutor(_THREADS) as pool, \
            progress_bar(len(samples), "checking images", progress) as bar:
        for (path, class_id), checked in zip(samples, pool.map(_probe, samples)):
            bar.update(1)
            if isinstance(checked, str):
                logger.warning("skipped %s: %s", path, checked)
                skipped.append((path, checked))
            else:
                good.append((path, class_id, *checked))
    return good


def _probe(sample) -> tuple | str:
    """``(height, width)`` of the image, or why it cannot be used."""
    try:
        with open(sample[0], "rb") as f:
            image = decode_image_bytes(f.read(), channels=3)
    except (OSError, ValueError) as error:   # TFRecordError is a ValueError
        return _why(error)
    return int(image.shape[-2]), int(image.shape[-1])


def _why(error: Exception) -> str:
    """The error's message, without torchvision's C++ source location."""
    return _SOURCE_LOCATION.sub("", getattr(error, "reason", None) or str(error))


def _stored(path: str) -> tuple:
    """``(format, bytes)`` to store: JPEG and PNG files as they are, others
    re-encoded as PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(_JPEG):
        return b"jpg", data
    if data.startswith(_PNG):
        return b"png", data
    return b"png", png_bytes(decode_image_bytes(data, channels=3))


def _example(item) -> bytes | None:
    path, class_id, height, width = item
    try:
        image_format, data = _stored(path)
    except (OSError, ValueError) as error:   # changed since it was checked
        logger.warning("skipped %s: %s", path, _why(error))
        return None
    return image_to_tfexample(data, image_format, height, width, class_id)
