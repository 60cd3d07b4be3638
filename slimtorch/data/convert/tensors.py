"""In-memory images (MNIST, CIFAR-10) to research/slim TFRecords.

research/slim's MNIST and CIFAR-10 converters PNG-encode each image and
write the train and test splits in file order, one file each
(``mnist_train.tfrecord``). :func:`convert_tensors` does that for uint8
``[N, C, H, W]`` tensors; ``validation_size`` > 0 moves that many images,
chosen with the seed, from train to a ``validation`` split (both keep file
order).

    >>> import tempfile, torch
    >>> images = torch.arange(4 * 2 * 2, dtype=torch.uint8).reshape(4, 1, 2, 2)
    >>> result = convert_tensors({"train": (images, torch.tensor([0, 1, 0, 1]))},
    ...                          ["even", "odd"], tempfile.mkdtemp(), "toy", num_shards=1,
    ...                          validation_size=1, progress=False)
    >>> result.splits, [f.rsplit("/", 1)[1] for f in result.files["train"]]
    ({'train': 3, 'validation': 1}, ['toy_train.tfrecord'])
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

from slimtorch.data.convert.writer import (ConversionResult, png_bytes, prepare_output_dir,
                                           write_dataset)
from slimtorch.data.dataset_utils import image_to_tfexample

__all__ = ["convert_tensors"]


def convert_tensors(splits: dict, class_names: Sequence[str], output_dir: str, name: str,
                    num_shards: int = 1, validation_size: int = 0, seed: int = 0,
                    progress: Optional[bool] = None) -> ConversionResult:
    """Write ``{split: (images uint8 [N, C, H, W], labels [N])}`` as shards.

    ``num_shards=1`` writes research/slim's single ``<name>_<split>.tfrecord``.
    Images with one channel are read back with ``channels=1`` (``splits.json``
    says so), as research/slim reads MNIST.
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be 1 or more, got {num_shards}")
    done = prepare_output_dir(output_dir, name)
    if done is not None:
        return done
    items = {split: [(images, labels, i) for i in range(len(labels))]
             for split, (images, labels) in splits.items()}
    if validation_size:
        train = items.get("train", [])
        if not 0 < validation_size < len(train):
            raise ValueError(f"validation_size {validation_size} must be below the "
                             f"{len(train)} training images; pass a smaller --validation_size")
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        held_out = set(order[:validation_size])
        items["validation"] = [item for i, item in enumerate(train) if i in held_out]
        items["train"] = [item for i, item in enumerate(train) if i not in held_out]
    channels = next(iter(splits.values()))[0].shape[1]
    return write_dataset(output_dir, name, items, _example, dict(enumerate(class_names)),
                         num_shards, single_file=num_shards == 1, channels=1 if channels == 1 else 3,
                         progress=progress)


def _example(item) -> bytes:
    images, labels, i = item
    image = images[i]
    return image_to_tfexample(png_bytes(image), b"png", image.shape[1], image.shape[2], int(labels[i]))
