"""TF-Slim's ``data/test_utils``: random image examples and TFRecord files for tests.

    >>> import tempfile
    >>> paths = create_tfrecord_files(tempfile.mkdtemp(), num_files=2, num_records_per_file=3)
    >>> [path.rsplit("/", 1)[1] for path in paths]
    ['flowers.tfrecord-0-of-2', 'flowers.tfrecord-1-of-2']
    >>> from slimtorch.data import iter_tfrecord
    >>> len(list(iter_tfrecord(paths[1])))
    3
"""

from __future__ import annotations

import os

import numpy as np
import torch

from slimtorch.data.example import encode_example
from slimtorch.data.tfrecord import write_tfrecord

__all__ = ["create_tfrecord_files", "generate_image"]


def _encode(image: np.ndarray, image_format: str) -> bytes:
    from torchvision.io import encode_jpeg, encode_png  # imported on use, as in image_decoding

    chw = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    encoded = encode_jpeg(chw, quality=95) if image_format == "jpeg" else encode_png(chw)
    return encoded.numpy().tobytes()


def generate_image(image_shape, image_format: str = "jpeg", label=0, rng=None):
    """A random uint8 image (``[height, width, channels]``, as TF-Slim's) and
    a serialized example with ``image/encoded``, ``image/format`` and
    ``image/class/label``.

        >>> image, record = generate_image((4, 5, 3), "png", label=2)
        >>> from slimtorch.data import decode_example
        >>> image.shape, decode_example(record)["image/class/label"]
        ((4, 5, 3), [2])
    """
    if image_format not in ("jpeg", "png"):
        raise ValueError(f"generate_image: image_format must be 'jpeg' or 'png', got {image_format!r}")
    rng = np.random if rng is None else rng
    image = rng.randint(0, 256, size=image_shape).astype(np.uint8)
    example = encode_example({"image/encoded": _encode(image, image_format),
                              "image/format": image_format,
                              "image/class/label": np.asarray(label).flatten()})
    return image, example


def create_tfrecord_files(output_dir: str, num_files: int = 3, num_records_per_file: int = 10):
    """Write ``num_files`` files ``flowers.tfrecord-<i>-of-<num_files>`` of
    ``num_records_per_file`` 10x10x3 JPEG examples; return their paths."""
    paths = []
    for i in range(num_files):
        path = os.path.join(output_dir, f"flowers.tfrecord-{i}-of-{num_files}")
        paths.append(path)
        write_tfrecord(path, [generate_image((10, 10, 3))[1] for _ in range(num_records_per_file)])
    return paths
