"""A model's preprocessing as a torchvision-style transform, for datasets and DataLoaders.

    >>> transform = PreprocessingTransform('inception_v3', is_training=False, height=299, width=299)
    >>> transform(torch.zeros(3, 400, 500, dtype=torch.uint8)).shape
    torch.Size([3, 299, 299])

It holds only names and numbers, so DataLoader workers can pickle it; each
worker draws its random crops from torch's generator, which DataLoader seeds
per worker.
"""

from __future__ import annotations

import torch

from .factory import get_preprocessing

__all__ = ["PreprocessingTransform"]


class PreprocessingTransform:
    """``get_preprocessing(name, is_training, use_grayscale)`` applied at ``height`` x ``width``.

    Args:
      name: a model or preprocessing name (``preprocessing_names()``).
      is_training: random augmentation (True) or the deterministic evaluation path.
      height, width: output size, usually the net's ``default_image_size``.
      use_grayscale: convert to one grey channel, as research/slim's flag.
      **kwargs: passed on to the preprocessing (e.g. ``resize_side_min=256``).

    ``__call__`` takes a ``[channels, height, width]`` tensor, uint8 (as
    ``torchvision.io.decode_image`` gives) or float, or a PIL image (converted
    to RGB first, as research/slim decodes JPEGs with ``channels=3``), and
    returns a float32 ``[channels, height, width]`` tensor.

        >>> from PIL import Image
        >>> transform = PreprocessingTransform('vgg_16', True, 224, 224)
        >>> transform(Image.new('L', (300, 260))).shape
        torch.Size([3, 224, 224])
        >>> transform
        PreprocessingTransform('vgg_16', is_training=True, height=224, width=224)
    """

    def __init__(self, name: str, is_training: bool = False, height: int = 224, width: int = 224,
                 use_grayscale: bool = False, **kwargs) -> None:
        get_preprocessing(name)  # fail here, not in a DataLoader worker, on an unknown name
        self.name, self.is_training, self.height, self.width = name, is_training, height, width
        self.use_grayscale = use_grayscale
        self.kwargs = kwargs

    def __call__(self, image) -> torch.Tensor:
        if not isinstance(image, torch.Tensor):
            image = _pil_to_tensor(image)
        fn = get_preprocessing(self.name, self.is_training, self.use_grayscale)
        return fn(image, self.height, self.width, **self.kwargs)

    def __repr__(self) -> str:
        extras = {"use_grayscale": True} if self.use_grayscale else {}
        extras.update(self.kwargs)
        extras_text = "".join(f", {key}={value!r}" for key, value in extras.items())
        return (f"{type(self).__name__}({self.name!r}, is_training={self.is_training}, "
                f"height={self.height}, width={self.width}{extras_text})")


def _pil_to_tensor(image) -> torch.Tensor:
    try:
        from PIL import Image
    except ImportError as error:  # pragma: no cover - torchvision installs Pillow
        raise TypeError("PreprocessingTransform: expected a torch.Tensor image") from error
    if not isinstance(image, Image.Image):
        raise TypeError(f"PreprocessingTransform: expected a torch.Tensor [channels, height, width] or a "
                        f"PIL image, got {type(image).__name__}")
    from torchvision.transforms.functional import pil_to_tensor

    return pil_to_tensor(image.convert("RGB"))
