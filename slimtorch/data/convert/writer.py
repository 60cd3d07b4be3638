"""Writing one converted dataset: shards, ``labels.txt``, ``splits.json``.

research/slim's converters (``datasets/download_and_convert_flowers.py``)
name shards ``<name>_<split>_<shard:05d>-of-<num_shards:05d>.tfrecord``,
cut a split into ``ceil(n / num_shards)`` examples per shard (so the last
shards may be short, or empty), and write ``labels.txt`` after the shards.
MNIST and CIFAR-10 are one file per split, ``<name>_<split>.tfrecord``.
The same here, plus:

* every file appears atomically (temp name, fsync, rename): a killed
  conversion leaves no half shard under a final name, and the temp files it
  leaves are removed by the next run;
* ``splits.json`` is written last; it lists each split's files and size, so
  readers need not count, and it marks the conversion finished.

    >>> shard_filenames("/out", "flowers", "train", 2)
    ['/out/flowers_train_00000-of-00002.tfrecord', '/out/flowers_train_00001-of-00002.tfrecord']
    >>> shard_filenames("/out", "mnist", "test", 1, single_file=True)
    ['/out/mnist_test.tfrecord']
    >>> [len(s) for s in split_into_shards(list(range(7)), 3)]
    [3, 3, 1]
"""

from __future__ import annotations

import glob
import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from slimtorch._io.atomic import is_temp_file, remove_abandoned_writes
from slimtorch.data.research_slim import write_label_file
from slimtorch.data.tfrecord import write_tfrecord
from slimtorch.data.tfrecord_directory import SPLITS_FILENAME, read_splits_file, write_splits_file

__all__ = ["ConversionResult", "png_bytes", "prepare_output_dir", "progress_bar",
           "shard_filenames", "split_into_shards", "write_dataset"]

logger = logging.getLogger(__name__)


@dataclass
class ConversionResult:
    """What a conversion wrote (or found already written).

    ``splits``: split name -> examples written; ``files``: split name -> the
    shard paths; ``skipped``: ``(file, reason)`` of each image left out.
    """
    output_dir: str
    name: str
    num_classes: int
    splits: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    already_converted: bool = False


def shard_filenames(output_dir: str, name: str, split: str, num_shards: int,
                    single_file: bool = False) -> list:
    """research/slim's shard paths of one split (``single_file``: MNIST's and
    CIFAR-10's one ``<name>_<split>.tfrecord``)."""
    if single_file:
        return [os.path.join(output_dir, f"{name}_{split}.tfrecord")]
    return [os.path.join(output_dir, f"{name}_{split}_{shard:05d}-of-{num_shards:05d}.tfrecord")
            for shard in range(num_shards)]


def split_into_shards(items: Sequence, num_shards: int) -> list:
    """research/slim's cut: ``ceil(len / num_shards)`` items per shard, in order."""
    per_shard = int(math.ceil(len(items) / float(num_shards)))
    return [items[shard * per_shard:(shard + 1) * per_shard] for shard in range(num_shards)]


def progress_bar(total: int, description: str, enabled: Optional[bool]):
    """A tqdm bar (``enabled=None``: only when stderr is a terminal)."""
    from tqdm import tqdm
    return tqdm(total=total, desc=description, unit="image", dynamic_ncols=True,
                disable=None if enabled is None else not enabled, leave=False)


def png_bytes(image) -> bytes:
    """A uint8 ``[C, H, W]`` tensor (1 or 3 channels) as PNG file bytes."""
    from torchvision.io import encode_png
    with warnings.catch_warnings():   # torchvision 0.29's notice that TorchCodec takes over
        warnings.filterwarnings("ignore", message="The image decoding and encoding",
                                category=DeprecationWarning)
        return encode_png(image).numpy().tobytes()


def prepare_output_dir(output_dir: str, name: str) -> Optional[ConversionResult]:
    """Make ``output_dir`` ready for the ``name`` conversion.

    Returns what a finished ``name`` conversion there already wrote
    (``already_converted`` set: research/slim then exits without re-creating
    it), else None. Removes temp files a killed conversion left. Raises ``ValueError``
    when shards of ``name`` from an unfinished or foreign conversion, or
    another dataset's ``splits.json``, are in the way.
    """
    os.makedirs(output_dir, exist_ok=True)
    for leftover in remove_abandoned_writes(output_dir):
        logger.info("removed %s, left by a conversion that was stopped",
                    os.path.join(output_dir, leftover))
    document = read_splits_file(output_dir)
    if document is not None and document.get("name") != name:
        raise ValueError(f"{os.path.join(output_dir, SPLITS_FILENAME)} belongs to the "
                         f"{document.get('name')!r} conversion; give --output_dir a directory "
                         "of its own (one dataset per directory)")
    if document is not None and all(
            os.path.isfile(os.path.join(output_dir, f))
            for info in document["splits"].values() for f in info["files"]):
        splits = document["splits"]
        return ConversionResult(output_dir, name, int(document["num_classes"]),
                                {split: info["num_samples"] for split, info in splits.items()},
                                {split: [os.path.join(output_dir, f) for f in info["files"]]
                                 for split, info in splits.items()}, already_converted=True)
    existing = sorted(p for p in glob.glob(os.path.join(glob.escape(output_dir),
                                                        glob.escape(name) + "_*.tfrecord"))
                      if not is_temp_file(p))
    if existing:
        raise ValueError(f"{output_dir} already holds {len(existing)} {name} shard(s) "
                         f"({os.path.basename(existing[0])}, ...) but no finished conversion's "
                         f"{SPLITS_FILENAME} (a stopped convert-data, or another converter's "
                         "files); delete them to convert again, or pass another --output_dir "
                         "or --name")
    return None


def write_dataset(output_dir: str, name: str, splits: dict, encode: Callable,
                  labels_to_names: dict, num_shards: int, single_file: bool = False,
                  channels: int = 3, progress: Optional[bool] = None) -> ConversionResult:
    """Write every split's shards, then ``labels.txt``, then ``splits.json``.

    ``splits`` maps a split name to its items, in the order to write them;
    ``encode(item)`` returns the serialized ``tf.train.Example``, or None to
    leave the item out (having reported why).
    """
    result = ConversionResult(output_dir, name, len(labels_to_names))
    for split, items in splits.items():
        paths = shard_filenames(output_dir, name, split, num_shards, single_file)
        shards = [items] if single_file else split_into_shards(items, num_shards)
        written = 0
        with progress_bar(len(items), f"{name} {split}", progress) as bar:
            for path, shard in zip(paths, shards):
                written += write_tfrecord(path, _encoded(shard, encode, bar))
        result.splits[split], result.files[split] = written, paths
    write_label_file(labels_to_names, output_dir)
    write_splits_file(output_dir, name, len(labels_to_names),
                      {split: {"num_samples": result.splits[split], "files": paths}
                       for split, paths in result.files.items()}, channels)
    return result


def _encoded(items, encode, bar):
    for item in items:
        record = encode(item)
        bar.update(1)
        if record is not None:
            yield record
