"""Datasets from local files: an ImageFolder directory, MNIST and CIFAR-10
in torchvision's on-disk layout, and synthetic images for benchmarks.

Nothing is ever downloaded: a missing file raises ``FileNotFoundError``
saying which files to put where. Every dataset yields ``(image, label)``
with uint8 ``[C, H, W]`` images (before ``transform``) and has
``num_classes``.

    >>> data = SyntheticDataset(4, image_shape=(3, 8, 8), num_classes=5)
    >>> image, label = data[1]
    >>> image.shape, image.dtype, 0 <= label < 5, len(data)
    (torch.Size([3, 8, 8]), torch.uint8, True, 4)
"""

from __future__ import annotations

import glob
import os
from typing import Callable, Optional, Sequence, Tuple

import torch

from .errors import TFRecordError
from .idx_and_cifar import read_cifar_batch, read_idx
from .image_decoding import decode_image_bytes

__all__ = ["CIFAR10Dataset", "ImageFolderDataset", "MNISTDataset", "SyntheticDataset",
           "TensorImageDataset"]


class TensorImageDataset(torch.utils.data.Dataset):
    """Images and labels held in memory as tensors."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                 transform: Optional[Callable] = None) -> None:
        self.images, self.labels = images, labels
        self.num_classes, self.transform = num_classes, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])


class MNISTDataset(TensorImageDataset):
    """MNIST from its IDX files, as torchvision stores them
    (``<dataset_dir>/MNIST/raw/train-images-idx3-ubyte``, ``.gz`` or not;
    ``<dataset_dir>`` itself also works). ``split``: ``'train'`` (60,000)
    or ``'test'`` (10,000). Images are ``[1, 28, 28]``."""

    def __init__(self, dataset_dir: str, split: str = "train",
                 transform: Optional[Callable] = None) -> None:
        prefix = {"train": "train", "test": "t10k"}.get(split)
        if prefix is None:
            raise ValueError(f"mnist: unknown split {split!r}; expected 'train' or 'test'")
        images = read_idx(_find(dataset_dir, "mnist", ["MNIST/raw", "raw", "."],
                                [f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"]))
        labels = read_idx(_find(dataset_dir, "mnist", ["MNIST/raw", "raw", "."],
                                [f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte"]))
        if images.dim() != 3 or images.shape[0] != labels.shape[0]:
            raise ValueError(f"mnist: {images.shape[0]} images of shape "
                             f"{list(images.shape[1:])} but {labels.shape[0]} labels in "
                             f"{dataset_dir}")
        super().__init__(images.unsqueeze(1), labels.long(), 10, transform)


class CIFAR10Dataset(TensorImageDataset):
    """CIFAR-10 from ``<dataset_dir>/cifar-10-batches-py`` (torchvision's
    layout; the pickles are parsed, never unpickled) or
    ``cifar-10-batches-bin`` (the binary version). ``split``: ``'train'``
    (data batches 1–5, 50,000) or ``'test'`` (10,000). Images ``[3, 32, 32]``."""

    def __init__(self, dataset_dir: str, split: str = "train",
                 transform: Optional[Callable] = None) -> None:
        names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
        if split not in names:
            raise ValueError(f"cifar10: unknown split {split!r}; expected 'train' or 'test'")
        paths = [_find(dataset_dir, "cifar10",
                       ["cifar-10-batches-py", "cifar-10-batches-bin", "."], [n, n + ".bin"])
                 for n in names[split]]
        parts = [read_cifar_batch(p) for p in paths]
        super().__init__(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]),
                         10, transform)


class ImageFolderDataset(torch.utils.data.Dataset):
    """``root/<class name>/<image>`` (torchvision's ImageFolder layout):
    classes are the sorted sub-directory names; images (PNG, JPEG, GIF,
    BMP, WEBP) are decoded by torchvision to uint8 RGB ``[3, H, W]``."""

    extensions = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")

    def __init__(self, root: str, transform: Optional[Callable] = None) -> None:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"image folder: {root} is not a directory (expected "
                                    f"root/<class name>/<image files>)")
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.samples = [(path, label) for label, name in enumerate(self.classes)
                        for path in sorted(glob.glob(os.path.join(root, name, "**", "*"),
                                                     recursive=True))
                        if path.lower().endswith(self.extensions)]
        if not self.samples:
            raise FileNotFoundError(f"image folder: no images ({', '.join(self.extensions)}) "
                                    f"in class sub-directories of {root}")
        self.num_classes, self.transform = len(self.classes), transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        with open(path, "rb") as f:
            encoded = f.read()
        try:
            image = decode_image_bytes(encoded, channels=3)
        except TFRecordError as error:
            raise ValueError(f"image folder: cannot decode {path}: {error.reason}") from None
        if self.transform is not None:
            image = self.transform(image)
        return image, label


class SyntheticDataset(torch.utils.data.Dataset):
    """``num_samples`` random uint8 images of ``image_shape`` with random
    labels; item ``i`` is the same on every call and in every worker (seeded
    by ``seed`` and ``i``), so runs are reproducible."""

    def __init__(self, num_samples: int = 1024, image_shape: Sequence[int] = (3, 224, 224),
                 num_classes: int = 1000, seed: int = 0,
                 transform: Optional[Callable] = None) -> None:
        if num_samples <= 0 or num_classes <= 0:
            raise ValueError(f"synthetic: num_samples and num_classes must be > 0, got "
                             f"{num_samples} and {num_classes}")
        self.num_samples, self.image_shape = num_samples, tuple(image_shape)
        self.num_classes, self.seed, self.transform = num_classes, seed, transform

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, i: int) -> Tuple[torch.Tensor, int]:
        if not 0 <= i < self.num_samples:
            raise IndexError(f"synthetic: index {i} out of range [0, {self.num_samples})")
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + i)
        image = torch.randint(0, 256, self.image_shape, dtype=torch.uint8, generator=g)
        label = int(torch.randint(0, self.num_classes, (), generator=g))
        if self.transform is not None:
            image = self.transform(image)
        return image, label


def _find(dataset_dir: str, dataset: str, subdirs, names) -> str:
    """The first ``dataset_dir/<subdir>/<name>[.gz]`` that exists."""
    tried = []
    for subdir in subdirs:
        for name in names:
            for suffix in ("", ".gz"):
                path = os.path.normpath(os.path.join(dataset_dir, subdir, name + suffix))
                if os.path.isfile(path):
                    return path
                tried.append(path)
    raise FileNotFoundError(
        f"{dataset}: {names[0]} not found under {dataset_dir} (slimtorch never downloads; "
        f"put the files in one of: {', '.join(sorted({os.path.dirname(t) for t in tried}))})")
