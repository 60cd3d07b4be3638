"""What a preprocessing function accepts, and TF's two ways to make it float.

research/slim works on one ``[height, width, channels]`` image at a time;
slimtorch's preprocessing takes the PyTorch layout, ``[channels, height,
width]`` (what ``torchvision.io.decode_image`` returns), and gives back the
same layout. Only the axes move: every value is the one TF-Slim computes.

TF-Slim turns images into floats in two different ways, and which one a
preprocessing uses decides what a float input must look like:

* :func:`to_float` (``tf.to_float``, used by vgg, cifarnet and lenet) keeps
  the values, so a float input is taken to be on the 0-255 scale;
* :func:`convert_image_dtype` (``tf.image.convert_image_dtype``, used by
  inception) divides integers by their maximum, and leaves a float input as
  it is, so a float input must already be in [0, 1].
"""

from __future__ import annotations

import torch

__all__ = ["check_image", "convert_image_dtype", "to_float"]


def check_image(image: torch.Tensor, caller: str) -> torch.Tensor:
    """Returns ``image`` if it is one ``[channels, height, width]`` tensor.

    Raises a ``TypeError``/``ValueError`` naming ``caller`` otherwise, with a
    hint when the image looks channels-last (TF's layout).

        >>> check_image(torch.zeros(3, 4, 5, dtype=torch.uint8), 'vgg').shape
        torch.Size([3, 4, 5])
        >>> check_image(torch.zeros(32, 32, 3), 'vgg')
        Traceback (most recent call last):
        ...
        ValueError: vgg: expected an image [channels, height, width], ... looks channels-last ...;
        pass image.permute(2, 0, 1)
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"{caller}: expected the image as a torch.Tensor [channels, height, width], "
                        f"got {type(image).__name__}")
    if image.dim() != 3:
        raise ValueError(f"{caller}: expected one image [channels, height, width] (channels first, "
                         f"as torchvision.io.decode_image gives), got shape {tuple(image.shape)}")
    if image.dtype == torch.bool or image.is_complex():
        raise ValueError(f"{caller}: expected an integer or float image, got dtype {image.dtype}")
    channels, _, last = image.shape
    if channels not in (1, 2, 3, 4) and last in (1, 3, 4):
        raise ValueError(f"{caller}: expected an image [channels, height, width], got shape "
                         f"{tuple(image.shape)}, which looks channels-last [height, width, channels] "
                         f"(TF's layout); pass image.permute(2, 0, 1)")
    return image


def to_float(image: torch.Tensor) -> torch.Tensor:
    """``tf.to_float``: float32 with the same values (uint8 stays on 0-255).

        >>> to_float(torch.tensor([[[0, 255]]], dtype=torch.uint8))
        tensor([[[  0., 255.]]])
    """
    return image.to(torch.float32)


def convert_image_dtype(image: torch.Tensor) -> torch.Tensor:
    """``tf.image.convert_image_dtype(image, tf.float32)``.

    Integers are scaled by ``1 / dtype max`` (uint8: 255 -> 1.0); floats are
    only cast to float32, so they are expected to be in [0, 1] already.

        >>> convert_image_dtype(torch.tensor([[[0, 51, 255]]], dtype=torch.uint8))
        tensor([[[0.0000, 0.2000, 1.0000]]])
        >>> convert_image_dtype(torch.tensor([[[0.5]]], dtype=torch.float64))
        tensor([[[0.5000]]])
    """
    if image.is_floating_point():
        return image.to(torch.float32)
    # TF multiplies by the reciprocal (in float32) rather than dividing; the
    # last bit can differ, so do the same.
    return image.to(torch.float32) * (1.0 / torch.iinfo(image.dtype).max)
