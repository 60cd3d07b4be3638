"""The embedded default dataset: UCI hand-written digits, no download.

1,797 grey 8×8 images of the digits 0–9 (see ``files/NOTICE.md``: CC BY 4.0,
Alpaydin and Kaynak, UCI), shipped inside the package so ``slimtorch train``
works on a fresh machine with no network. The split is fixed and
stratified: of each digit's images, in file order, every fifth (the 1st,
6th, 11th, ...) is ``test`` (364 images, 35–37 per digit), the rest
``train`` (1,433).

    >>> train = DigitsDataset('train')
    >>> image, label = train[0]
    >>> len(train), image.shape, image.dtype, label
    (1433, torch.Size([1, 8, 8]), torch.uint8, 0)
"""

from __future__ import annotations

import csv
import functools
import gzip
import os
from typing import Callable, Optional, Sequence, Tuple

import torch

from .local import TensorImageDataset

__all__ = ["DIGITS_FILE", "DigitsDataset", "load_digits"]

DIGITS_FILE = os.path.join(os.path.dirname(__file__), "files", "digits.csv.gz")
_SPLITS = ("train", "test")
_TEST_EVERY = 5


@functools.lru_cache(maxsize=1)
def load_digits() -> Tuple[torch.Tensor, torch.Tensor]:
    """All 1,797 images as uint8 ``[N, 1, 8, 8]`` (pixels 0..16 scaled to
    0..255, like any 8-bit grey image) and int64 labels ``[N]``."""
    with gzip.open(DIGITS_FILE, "rt") as f:
        rows = [[int(v) for v in row] for row in csv.reader(f) if row]
    table = torch.tensor(rows, dtype=torch.int64)
    if table.shape[1] != 65:
        raise ValueError(f"{DIGITS_FILE}: expected 64 pixels and a label per row, "
                         f"got {table.shape[1]} values")
    # 0..16 -> 0..255; round half up so 16 maps to 255 exactly.
    pixels = (table[:, :64] * 255 + 8) // 16
    return pixels.to(torch.uint8).reshape(-1, 1, 8, 8), table[:, 64].clone()


def _rank_within_class(labels: torch.Tensor) -> torch.Tensor:
    """For each image, how many earlier images have the same label."""
    onehot = torch.nn.functional.one_hot(labels, int(labels.max()) + 1)
    return (onehot.cumsum(0) * onehot).sum(1) - 1


class DigitsDataset(TensorImageDataset):
    """A split of the embedded digits as ``(image, label)`` pairs: uint8
    ``[1, 8, 8]`` images (after ``transform``, if given) and int labels.

    Args:
        split: ``'train'`` (1,433 images) or ``'test'`` (364).
        transform: applied to each image (e.g. a preprocessing function).
        classes: keep only these labels (e.g. ``range(5)`` for digits 0–4).
    """

    default_image_size = 8

    def __init__(self, split: str = "train", transform: Optional[Callable] = None,
                 classes: Optional[Sequence[int]] = None) -> None:
        if split not in _SPLITS:
            raise ValueError(f"digits: unknown split {split!r}; expected one of {_SPLITS}")
        images, labels = load_digits()
        in_test = _rank_within_class(labels) % _TEST_EVERY == 0
        keep = in_test if split == "test" else ~in_test
        if classes is not None:
            keep &= torch.isin(labels, torch.as_tensor(list(classes)))
        super().__init__(images[keep], labels[keep], 10, transform)
        self.split = split
