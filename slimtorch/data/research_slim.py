"""The datasets research/slim's ``download_and_convert_data.py`` produces.

research/slim (``tensorflow/models/research/slim/datasets/*.py``) converts
each dataset to TFRecord files of ``tf.train.Example`` in one directory, plus
``labels.txt`` (``id:name`` lines). This module knows their file names, split
sizes and class counts, so a converted directory opens without TensorFlow:

* ``flowers``: ``flowers_%s_*.tfrecord`` (5 shards per split), train 3320 /
  validation 350 samples, 5 classes, JPEG images of any size;
* ``cifar10``: ``cifar10_%s.tfrecord``, train 50000 / test 10000, 10
  classes, PNG 32x32x3;
* ``mnist``: ``mnist_%s.tfrecord``, train 60000 / test 10000, 10 classes,
  PNG 28x28x1 (read with ``channels=1``);
* ``imagenet``: ``%s-*`` (``train-00000-of-01024``,
  ``validation-00000-of-00128``), train 1281167 / validation 50000, 1001
  classes: label 0 is "background", 1..1000 the ILSVRC synsets; JPEG.

For a 1000-class ImageNet network (VGG, ResNet v1 checkpoints) pass
``labels_offset=1``, as train/eval_image_classifier's ``--labels_offset``.

    >>> split = research_slim_dataset("flowers", "validation", "/data/flowers")
    >>> split.file_pattern, split.num_samples, split.num_classes
    ('/data/flowers/flowers_validation_*.tfrecord', 350, 5)
    >>> # split.dataset(transform=...) opens the TFRecordImageDataset
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from slimtorch._io.atomic import atomic_write
from slimtorch.data.tfrecord_dataset import TFRecordImageDataset

__all__ = ["LABELS_FILENAME", "ResearchSlimSplit", "RESEARCH_SLIM_DATASETS",
           "has_labels", "read_label_file", "research_slim_dataset", "write_label_file"]

LABELS_FILENAME = "labels.txt"


@dataclass(frozen=True)
class _DatasetInfo:
    file_pattern: str
    splits_to_sizes: dict
    num_classes: int
    items_to_descriptions: dict
    channels: int = 3
    image_shape: tuple | None = None


#: research/slim's constants (``_FILE_PATTERN``, ``SPLITS_TO_SIZES``,
#: ``_NUM_CLASSES``, ``_ITEMS_TO_DESCRIPTIONS``, the Image handler's shape).
RESEARCH_SLIM_DATASETS = {
    "flowers": _DatasetInfo(
        "flowers_%s_*.tfrecord", {"train": 3320, "validation": 350}, 5,
        {"image": "A color image of varying size.",
         "label": "A single integer between 0 and 4"}),
    "cifar10": _DatasetInfo(
        "cifar10_%s.tfrecord", {"train": 50000, "test": 10000}, 10,
        {"image": "A [32 x 32 x 3] color image.",
         "label": "A single integer between 0 and 9"}, image_shape=(32, 32, 3)),
    "mnist": _DatasetInfo(
        "mnist_%s.tfrecord", {"train": 60000, "test": 10000}, 10,
        {"image": "A [28 x 28 x 1] grayscale image.",
         "label": "A single integer between 0 and 9"}, channels=1, image_shape=(28, 28, 1)),
    "imagenet": _DatasetInfo(
        "%s-*", {"train": 1281167, "validation": 50000}, 1001,
        {"image": "A color image of varying height and width.",
         "label": "The label id of the image, integer between 0 and 999",
         "label_text": "The text of the label.",
         "object/bbox": "A list of bounding boxes.",
         "object/label": "A list of labels, one per each object."}),
}


@dataclass(frozen=True)
class ResearchSlimSplit:
    """One split of a research/slim dataset: where it is and what it holds."""
    name: str
    split: str
    dataset_dir: str
    file_pattern: str
    num_samples: int
    num_classes: int
    items_to_descriptions: dict = field(compare=False)
    channels: int = 3
    image_shape: tuple | None = None
    labels_to_names: dict | None = field(default=None, compare=False)

    def dataset(self, labels_offset: int = 0, transform=None, **kwargs) -> TFRecordImageDataset:
        """Open the split's files as a :class:`TFRecordImageDataset`.

        ``kwargs`` go to the dataset (e.g. ``channels``); the files must exist.
        """
        options = dict(channels=self.channels, image_shape=self.image_shape,
                       num_classes=self.num_classes, labels_to_names=self.labels_to_names)
        options.update(kwargs)
        return TFRecordImageDataset(self.file_pattern, self.num_samples,
                                    self.items_to_descriptions, labels_offset,
                                    transform, **options)


def research_slim_dataset(name: str, split: str, dataset_dir: str,
                          file_pattern: str | None = None) -> ResearchSlimSplit:
    """research/slim's ``dataset_factory.get_dataset(name, split, dataset_dir)``.

    ``file_pattern`` overrides the default, with ``%s`` for the split name as
    in research/slim. ``labels.txt`` is read when the directory has one.
    Nothing else touches the disk until :meth:`ResearchSlimSplit.dataset`.

        >>> s = research_slim_dataset("imagenet", "train", "/data/imagenet")
        >>> s.file_pattern, s.num_samples, s.num_classes
        ('/data/imagenet/train-*', 1281167, 1001)
        >>> research_slim_dataset("mnist", "validation", "/d")
        Traceback (most recent call last):
        ...
        ValueError: research_slim_dataset: mnist has no split 'validation' (its splits: train, test)
    """
    if name not in RESEARCH_SLIM_DATASETS:
        raise ValueError(f"research_slim_dataset: unknown dataset {name!r}; known: "
                         f"{', '.join(sorted(RESEARCH_SLIM_DATASETS))}")
    info = RESEARCH_SLIM_DATASETS[name]
    if split not in info.splits_to_sizes:
        raise ValueError(f"research_slim_dataset: {name} has no split {split!r} "
                         f"(its splits: {', '.join(info.splits_to_sizes)})")
    pattern = os.path.join(dataset_dir, (file_pattern or info.file_pattern) % split)
    labels = read_label_file(dataset_dir) if has_labels(dataset_dir) else None
    return ResearchSlimSplit(name, split, dataset_dir, pattern, info.splits_to_sizes[split],
                             info.num_classes, dict(info.items_to_descriptions),
                             info.channels, info.image_shape, labels)


def has_labels(dataset_dir: str, filename: str = LABELS_FILENAME) -> bool:
    """Whether ``dataset_dir`` holds a labels file."""
    return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir: str, filename: str = LABELS_FILENAME) -> dict[int, str]:
    """Read research/slim's ``labels.txt``: ``{id: class name}``.

    Each non-empty line is ``id:name`` (split at the first colon; the name may
    contain colons). A malformed line raises ``ValueError`` naming the file
    and line.

        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> write_label_file({0: "daisy", 1: "dandelion"}, d)
        >>> read_label_file(d)
        {0: 'daisy', 1: 'dandelion'}
    """
    path = os.path.join(dataset_dir, filename)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    labels = {}
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line:
            continue
        key, sep, name = line.partition(":")
        try:
            labels[int(key)] = name
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"{path}:{number}: expected 'id:name', got {line!r}")
    return labels


def write_label_file(labels_to_names: dict, dataset_dir: str,
                     filename: str = LABELS_FILENAME) -> None:
    """Write ``labels.txt`` as research/slim does (``id:name`` lines), atomically."""
    lines = "".join(f"{int(label)}:{name}\n" for label, name in labels_to_names.items())
    with atomic_write(os.path.join(dataset_dir, filename)) as f:
        f.write(lines.encode("utf-8"))
