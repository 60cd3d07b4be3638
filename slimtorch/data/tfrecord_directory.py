"""``--dataset_name=tfrecord``: any directory of research/slim-style shards.

research/slim's dataset files hard-code each dataset's file pattern, split
sizes and class count (:mod:`.research_slim`). A directory that
``slimtorch convert-data`` wrote (or research/slim's converters, or your
own TFRecord writer with research/slim's keys) opens without such a file:

* the split's files are those ``splits.json`` lists (``convert-data`` writes
  it last, so it also marks a finished conversion); without it, the first of
  these patterns that matches: ``*_<split>_?????-of-?????.tfrecord``
  (flowers), ``*_<split>.tfrecord`` (mnist, cifar10), ``<split>-?????-of-?????``
  (imagenet);
* the split size is ``splits.json``'s, or the records counted;
* ``num_classes`` is ``labels.txt``'s (largest id + 1), else ``splits.json``'s.

Images decode as for flowers and imagenet (:class:`TFRecordImageDataset`).

    >>> import os, tempfile, torch
    >>> from torchvision.io import encode_png
    >>> from slimtorch.data import write_label_file, write_tfrecord
    >>> from slimtorch.data.dataset_utils import image_to_tfexample
    >>> d = tempfile.mkdtemp()
    >>> png = encode_png(torch.zeros(3, 4, 4, dtype=torch.uint8)).numpy().tobytes()
    >>> _ = write_tfrecord(os.path.join(d, "toys_train_00000-of-00001.tfrecord"),
    ...                    [image_to_tfexample(png, b"png", 4, 4, i % 3) for i in range(6)])
    >>> write_label_file({0: "ball", 1: "car", 2: "doll"}, d)
    >>> split = tfrecord_directory_dataset(d, "train")
    >>> split.num_samples, split.num_classes, split.labels_to_names[2]
    (6, 3, 'doll')
    >>> image, label = split.dataset()[4]
    >>> image.shape, label
    (torch.Size([3, 4, 4]), 1)
"""

from __future__ import annotations

import glob
import json
import os
import re

from slimtorch._io.atomic import atomic_write, is_temp_file
from slimtorch.data.research_slim import (LABELS_FILENAME, ResearchSlimSplit, has_labels,
                                          read_label_file)
from slimtorch.data.tfrecord import scan_record_offsets

__all__ = ["SPLITS_FILENAME", "read_splits_file", "tfrecord_directory_dataset",
           "write_splits_file"]

SPLITS_FILENAME = "splits.json"
_FORMAT = "slimtorch-splits-1"
# How research/slim's converters name a split's files; %s is the split.
_PATTERNS = ("*_%s_[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9].tfrecord",
             "*_%s.tfrecord",
             "%s-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]")
_DESCRIPTIONS = {"image": "A color image of varying size.",
                 "label": "A single integer between 0 and num_classes - 1"}


def write_splits_file(output_dir: str, name: str, num_classes: int, splits: dict,
                      channels: int = 3) -> str:
    """Write ``splits.json`` (atomically) and return its path.

    ``splits`` maps a split name to ``{"num_samples": int, "files": [names]}``
    with file names relative to ``output_dir``. ``channels`` is how the images
    are read back (1 for MNIST's grayscale PNGs, as research/slim reads them).
    """
    document = {"format": _FORMAT, "name": name, "num_classes": int(num_classes),
                "channels": int(channels),
                "splits": {split: {"num_samples": int(info["num_samples"]),
                                   "files": [os.path.basename(f) for f in info["files"]]}
                           for split, info in splits.items()}}
    path = os.path.join(output_dir, SPLITS_FILENAME)
    with atomic_write(path) as f:
        f.write((json.dumps(document, indent=2) + "\n").encode("utf-8"))
    return path


def read_splits_file(dataset_dir: str) -> dict | None:
    """``splits.json`` of ``dataset_dir`` as a dict, or None when there is none.

    A file that is not one raises ``ValueError`` naming it.
    """
    path = os.path.join(dataset_dir, SPLITS_FILENAME)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        splits = document["splits"]
        for info in splits.values():
            int(info["num_samples"])
            list(info["files"])
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a convert-data splits file ({error}); delete it "
                         "to have the split's files found by name and counted") from None
    return document


def tfrecord_directory_dataset(dataset_dir: str, split: str,
                               file_pattern: str | None = None) -> ResearchSlimSplit:
    """The ``split`` of a directory of shards, as a :class:`ResearchSlimSplit`.

    ``file_pattern`` (``%s`` for the split, relative to ``dataset_dir``)
    overrides both ``splits.json`` and the default patterns. Raises
    ``FileNotFoundError`` when no file holds the split, ``ValueError`` when
    the class count is unknown (no ``labels.txt``, no ``splits.json``).
    """
    document = read_splits_file(dataset_dir)
    channels = int(document.get("channels", 3)) if document else 3
    num_samples = None
    if file_pattern:
        files = _matching(dataset_dir, file_pattern % split if "%s" in file_pattern
                          else file_pattern)
        if not files:
            raise FileNotFoundError(f"tfrecord: no files match {file_pattern!r} in "
                                    f"{dataset_dir}")
    elif document is not None:
        info = document["splits"].get(split)
        if info is None:
            raise FileNotFoundError(
                f"tfrecord: {os.path.join(dataset_dir, SPLITS_FILENAME)} has no split "
                f"{split!r}; its splits: {', '.join(document['splits']) or 'none'} "
                "(pass one with --dataset_split_name)")
        files = [os.path.join(dataset_dir, name) for name in info["files"]]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise FileNotFoundError(f"tfrecord: {missing[0]} (listed in {SPLITS_FILENAME}) "
                                    "does not exist; run convert-data again")
        num_samples = int(info["num_samples"])
    else:
        files = _find_split(dataset_dir, split)
    if num_samples is None:
        num_samples = sum(len(scan_record_offsets(f)) for f in files)
    labels = read_label_file(dataset_dir) if has_labels(dataset_dir) else None
    if labels:
        num_classes = max(labels) + 1
    elif document is not None:
        num_classes = int(document["num_classes"])
    else:
        raise ValueError(f"tfrecord: {os.path.join(dataset_dir, LABELS_FILENAME)} is missing, "
                         "so the number of classes is unknown; write it with one 'id:name' "
                         "line per class (convert-data does)")
    return ResearchSlimSplit("tfrecord", split, dataset_dir, files, num_samples, num_classes,
                             dict(_DESCRIPTIONS), channels, None, labels)


def _matching(dataset_dir: str, pattern: str) -> list:
    return sorted(p for p in glob.glob(os.path.join(glob.escape(dataset_dir), pattern))
                  if os.path.isfile(p) and not is_temp_file(p))


def _find_split(dataset_dir: str, split: str) -> list:
    """The files of ``split`` by research/slim's naming; one dataset per directory."""
    for pattern in _PATTERNS:
        files = _matching(dataset_dir, pattern % glob.escape(split))
        if not files:
            continue
        if pattern.startswith("*_"):   # <prefix>_<split>...: one prefix, one dataset
            tail = re.compile(rf"_{re.escape(split)}(_\d{{5}}-of-\d{{5}})?\.tfrecord$")
            prefixes = sorted({tail.sub("", os.path.basename(f)) for f in files})
            if len(prefixes) > 1:
                raise ValueError(f"tfrecord: {dataset_dir} holds the {split!r} split of "
                                 f"several datasets ({', '.join(prefixes)}); keep one per "
                                 "directory")
        return files
    looked = ", ".join(p % split for p in ("*_%s_NNNNN-of-NNNNN.tfrecord", "*_%s.tfrecord",
                                            "%s-NNNNN-of-NNNNN"))
    raise FileNotFoundError(f"tfrecord: no {split!r} shards in {dataset_dir} (looked for "
                            f"{looked}); convert your images with `slimtorch convert-data` "
                            "or check --dataset_split_name")
