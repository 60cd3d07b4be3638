"""ImageNet's 1,000 class names, shipped with the package (no download).

research/slim's ``datasets/imagenet.py`` builds them at run time with
``create_readable_names_for_imagenet_labels()``, downloading two files from
GitHub; here they are in ``files/imagenet_labels.txt`` (see ``files/NOTICE.md``).
The classes are the ILSVRC synsets sorted by id, each with its WordNet names
(``'tench, Tinca tinca'``).

Two numberings are in use, and a checkpoint decides which one its logits have:

* **1001 classes** (research/slim's Inception, ResNet v2, MobileNet, NASNet...
  checkpoints): logit 0 is ``'background'`` and class ``k`` is logit ``k + 1``;
* **1000 classes** (research/slim's VGG and ResNet v1 checkpoints, and every
  torchvision weight): class ``k`` is logit ``k``.

:func:`labels_for` picks the right one from the logits' width:

    >>> labels_for(1001)[1], labels_for(1000)[0]
    ('tench, Tinca tinca', 'tench, Tinca tinca')
    >>> imagenet_class_names()[1000]
    'toilet tissue, toilet paper, bathroom tissue'
    >>> imagenet_synsets()[:2]
    ['n01440764', 'n01443537']

``slimtorch predict`` and ``slimtorch eval`` read class names from
``--labels_file`` (research/slim's ``labels.txt``, ``id:name`` lines);
:func:`write_imagenet_labels_file` writes one.
"""

from __future__ import annotations

import functools
import os

from slimtorch.data.dataset_utils import write_label_file

__all__ = ["BACKGROUND", "IMAGENET_LABELS_FILE", "NUM_IMAGENET_CLASSES", "imagenet_class_names",
           "imagenet_synsets", "labels_for", "write_imagenet_labels_file"]

IMAGENET_LABELS_FILE = os.path.join(os.path.dirname(__file__), "files", "imagenet_labels.txt")
"""The shipped table: ``synset<TAB>names``, one line per class, in class order."""
NUM_IMAGENET_CLASSES = 1000
BACKGROUND = "background"
"""research/slim's name for label 0 of a 1001-class head."""


@functools.lru_cache(maxsize=1)
def _table() -> tuple[tuple[str, str], ...]:
    rows = []
    with open(IMAGENET_LABELS_FILE, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            synset, sep, names = line.rstrip("\n").partition("\t")
            if not sep or not synset.startswith("n") or not names:
                # Only a damaged installation gets here: the file is package data.
                raise ValueError(f"{IMAGENET_LABELS_FILE}:{number}: expected 'synset<TAB>names', got "
                                 f"{line!r}; reinstall slimtorch")
            rows.append((synset, names))
    if len(rows) != NUM_IMAGENET_CLASSES:
        raise ValueError(f"{IMAGENET_LABELS_FILE}: expected {NUM_IMAGENET_CLASSES} classes, found "
                         f"{len(rows)}; reinstall slimtorch")
    return tuple(rows)


def imagenet_synsets() -> list[str]:
    """The 1,000 ILSVRC WordNet ids in class order (research/slim's
    ``imagenet_lsvrc_2015_synsets.txt``: sorted).

        >>> synsets = imagenet_synsets()
        >>> len(synsets), synsets[-1]
        (1000, 'n15075141')
    """
    return [synset for synset, _ in _table()]


def imagenet_class_names(background: bool = True) -> dict[int, str]:
    """``{label: names}`` for the 1,000 classes.

    With ``background`` (research/slim's numbering, 1001 entries) label 0 is
    ``'background'`` and the classes are 1..1000; without it (1000 entries,
    torchvision's numbering) they are 0..999.

        >>> names = imagenet_class_names()
        >>> len(names), names[0], names[1]
        (1001, 'background', 'tench, Tinca tinca')
        >>> imagenet_class_names(background=False)[999]
        'toilet tissue, toilet paper, bathroom tissue'
    """
    offset = 1 if background else 0
    names = {0: BACKGROUND} if background else {}
    names.update((label + offset, name) for label, (_, name) in enumerate(_table()))
    return names


def labels_for(num_classes: int) -> dict[int, str]:
    """The ImageNet names for a head with ``num_classes`` logits: 1001 -> with
    the background class at 0, 1000 -> without.

        >>> labels_for(1001)[0], labels_for(1000)[0]
        ('background', 'tench, Tinca tinca')
        >>> labels_for(10)
        Traceback (most recent call last):
        ...
        ValueError: ImageNet class names exist for 1001 classes (research/slim, background at 0) or 1000 ...

    Raises:
      ValueError: any other ``num_classes``.
    """
    if num_classes == NUM_IMAGENET_CLASSES + 1:
        return imagenet_class_names(background=True)
    if num_classes == NUM_IMAGENET_CLASSES:
        return imagenet_class_names(background=False)
    raise ValueError(f"ImageNet class names exist for 1001 classes (research/slim, background at 0) or "
                     f"1000 (no background class), not for num_classes={num_classes}; for another "
                     f"dataset pass its own labels.txt (--labels_file)")


def write_imagenet_labels_file(path: str, background: bool = True) -> str:
    """Writes research/slim's ``labels.txt`` for ImageNet to ``path``
    (``0:background``, ``1:tench, Tinca tinca``, ...; without ``background``
    ``0:tench, Tinca tinca``, ...), atomically, and returns ``path``.

    Pass the file to ``slimtorch predict`` / ``eval`` as ``--labels_file``.

        >>> import os, tempfile
        >>> from slimtorch.data.dataset_utils import read_label_file
        >>> path = write_imagenet_labels_file(os.path.join(tempfile.mkdtemp(), 'labels.txt'))
        >>> labels = read_label_file(os.path.dirname(path))
        >>> len(labels), labels[0], labels[1]
        (1001, 'background', 'tench, Tinca tinca')
    """
    path = os.fspath(path)
    directory, filename = os.path.split(path)
    if not filename:
        raise ValueError(f"write_imagenet_labels_file: {path!r} names a directory; pass a file path "
                         f"such as {os.path.join(path, 'labels.txt')!r}")
    write_label_file(imagenet_class_names(background), directory or ".", filename)
    return path
