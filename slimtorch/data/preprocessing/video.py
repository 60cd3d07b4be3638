"""Clips for the video nets (``i3d``, ``s3dg``), from clips or still images.

research/slim ships I3D and S3D-G without a preprocessing (its factory has
no entry for them); this is DeepMind's Kinetics I3D recipe, which those
checkpoints were trained with: every frame resized so its shorter side is
``resize_side`` (256, TF1 bilinear, aspect ratio kept), a central (eval) or
random (training, the same window for all frames) ``output_height`` x
``output_width`` crop, a random left-right flip of the whole clip when
training, and pixel values scaled to [-1, 1].

A still image ``[C, H, W]`` becomes a "boring video" (the I3D paper's
bootstrapping from ImageNet): the image repeated ``num_frames`` times, so
image datasets (``--dataset_name=synthetic``, ``folder``, ...) train and
evaluate the video nets. A clip ``[C, T, H, W]`` keeps its frames.

    >>> image = torch.randint(0, 256, (3, 240, 320), dtype=torch.uint8)
    >>> clip = preprocess_image(image, 224, 224, num_frames=8)
    >>> clip.shape, clip.min().item() >= -1.0, clip.max().item() <= 1.0
    (torch.Size([3, 8, 224, 224]), True, True)
"""

from __future__ import annotations

import torch

from .color import rgb_to_grayscale
from .image_tensor import check_image
from .sampling import uniform
from .vgg import resized_crop

__all__ = ["DEFAULT_NUM_FRAMES", "RESIZE_SIDE", "preprocess_for_eval", "preprocess_for_train",
           "preprocess_image"]

RESIZE_SIDE = 256
"""The shorter side every frame is resized to before cropping."""
DEFAULT_NUM_FRAMES = 16
"""Frames of the clip a still image becomes (``--num_frames`` sets it)."""


def _frames(image: torch.Tensor, caller: str, num_frames: int) -> torch.Tensor:
    """``[C, T, H, W]``: a clip as it is, a still image repeated ``num_frames`` times."""
    if isinstance(image, torch.Tensor) and image.dim() == 4:
        if image.shape[0] not in (1, 3):
            raise ValueError(f"{caller}: expected a clip [channels, frames, height, width] with 1 or "
                             f"3 channels, got shape {tuple(image.shape)}; a channels-last clip "
                             "[frames, height, width, channels] needs clip.permute(3, 0, 1, 2)")
        return image
    image = check_image(image, caller)
    if num_frames < 1:
        raise ValueError(f"{caller}: num_frames must be at least 1, got {num_frames}")
    return image.unsqueeze(1).expand(-1, num_frames, -1, -1)


def _window(clip: torch.Tensor, resize_side: int, output_height: int, output_width: int,
            generator: torch.Generator | None, random: bool, caller: str) -> torch.Tensor:
    if clip.stride(1) == 0:   # a repeated still image: resize one frame, repeat the result
        frame = resized_crop(clip[:, :1], resize_side, output_height, output_width, generator,
                             random, caller)
        return frame.expand(-1, clip.shape[1], -1, -1)
    return resized_crop(clip, resize_side, output_height, output_width, generator, random, caller)


def _finish(clip: torch.Tensor, use_grayscale: bool) -> torch.Tensor:
    if use_grayscale:
        clip = rgb_to_grayscale(clip.transpose(0, 1)).transpose(0, 1)
    # [0, 255] -> [-1, 1]: Kinetics I3D's input range.
    return (clip * (2.0 / 255.0) - 1.0).contiguous()


def preprocess_for_train(image: torch.Tensor, output_height: int, output_width: int,
                         num_frames: int = DEFAULT_NUM_FRAMES, resize_side: int = RESIZE_SIDE,
                         use_grayscale: bool = False,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    """Resize, one random crop and flip for the whole clip, scale to [-1, 1].

        >>> clip = torch.randint(0, 256, (3, 4, 64, 80), dtype=torch.uint8)
        >>> preprocess_for_train(clip, 48, 48, resize_side=64).shape
        torch.Size([3, 4, 48, 48])
    """
    clip = _frames(image, "video preprocess_for_train", num_frames)
    clip = _window(clip, resize_side, output_height, output_width, generator, True,
                   "video preprocess_for_train")
    if uniform(0.0, 1.0, generator) < 0.5:
        clip = clip.flip(-1)
    return _finish(clip, use_grayscale)


def preprocess_for_eval(image: torch.Tensor, output_height: int, output_width: int,
                        num_frames: int = DEFAULT_NUM_FRAMES, resize_side: int = RESIZE_SIDE,
                        use_grayscale: bool = False) -> torch.Tensor:
    """Resize, central crop, scale to [-1, 1].

        >>> image = torch.full((3, 30, 40), 255, dtype=torch.uint8)
        >>> clip = preprocess_for_eval(image, 24, 24, num_frames=2, resize_side=32)
        >>> clip.shape, clip.unique().tolist()
        (torch.Size([3, 2, 24, 24]), [1.0])
    """
    clip = _frames(image, "video preprocess_for_eval", num_frames)
    clip = _window(clip, resize_side, output_height, output_width, None, False,
                   "video preprocess_for_eval")
    return _finish(clip, use_grayscale)


def preprocess_image(image: torch.Tensor, output_height: int, output_width: int, is_training: bool = False,
                     num_frames: int = DEFAULT_NUM_FRAMES, resize_side: int = RESIZE_SIDE,
                     use_grayscale: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """The clip ``[C, T, output_height, output_width]`` for a video net.

        >>> preprocess_image(torch.zeros(3, 256, 300, dtype=torch.uint8), 224, 224,
        ...                  num_frames=4).shape
        torch.Size([3, 4, 224, 224])
    """
    if is_training:
        return preprocess_for_train(image, output_height, output_width, num_frames, resize_side,
                                    use_grayscale, generator)
    return preprocess_for_eval(image, output_height, output_width, num_frames, resize_side,
                               use_grayscale)
