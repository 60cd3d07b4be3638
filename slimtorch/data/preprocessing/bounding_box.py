"""``tf.image.sample_distorted_bounding_box``: the random crop of inception training.

The sampler follows TF's kernel step by step (one aspect ratio per attempt,
a crop height drawn between the smallest and largest that fit the area
range, a random position, then the overlap test against the given boxes;
the whole image after ``max_attempts`` failures), so it draws from the same
distribution. Its random numbers come from torch, so a seed does not give
TF's crops; and TF's float32 rounding is done in float64 here, which can
move a crop by a pixel in rare boundary cases.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import torch

from .sampling import randint, uniform

__all__ = ["CropWindow", "sample_distorted_bounding_box"]


class CropWindow(NamedTuple):
    """A crop in pixels, plus the same crop as TF's normalised box."""

    top: int
    left: int
    height: int
    width: int
    box: torch.Tensor
    """``[ymin, xmin, ymax, xmax]`` in [0, 1], TF's third output (without its ``[1, 1]`` batch axes)."""


def _window_of_aspect(image_h: int, image_w: int, min_area: float, max_area: float,
                      aspect_ratio: float, generator) -> tuple[int, int, int, int] | None:
    """TF's GenerateRandomCrop: a window of about ``aspect_ratio`` (width / height)
    whose area lies in [min_area, max_area] pixels, or None."""
    height = round(math.sqrt(min_area / aspect_ratio))   # round(): ties to even, as lrintf
    max_height = round(math.sqrt(max_area / aspect_ratio))
    if round(max_height * aspect_ratio) > image_w:
        # The tallest window whose rounded width still fits.
        max_height = int((image_w + 0.5 - 1e-7) / aspect_ratio)
        if round(max_height * aspect_ratio) > image_w:
            max_height -= 1
    max_height = min(max_height, image_h)
    height = min(height, max_height)
    if height < max_height:
        height += randint(0, max_height - height + 1, generator)
    width = round(height * aspect_ratio)
    # Rounding can push the area just outside the range: nudge the height once each way.
    if width * height < min_area:
        height += 1
        width = round(height * aspect_ratio)
    if width * height > max_area:
        height -= 1
        width = round(height * aspect_ratio)
    area = width * height
    if area < min_area or area > max_area or not (0 < width <= image_w and 0 < height <= image_h):
        return None
    # TF draws offsets from [0, margin) (never the last position), so do we.
    top = randint(0, image_h - height, generator) if height < image_h else 0
    left = randint(0, image_w - width, generator) if width < image_w else 0
    return top, left, height, width


def _covers_an_object(window, objects, min_object_covered: float) -> bool:
    """TF's SatisfiesOverlapConstraints: the window holds at least
    ``min_object_covered`` of some object's area."""
    top, left, height, width = window
    if height * width < 1:
        return False
    for obj_top, obj_left, obj_bottom, obj_right in objects:
        object_area = (obj_bottom - obj_top) * (obj_right - obj_left)
        if object_area < 1:
            continue
        overlap_h = min(top + height, obj_bottom) - max(top, obj_top)
        overlap_w = min(left + width, obj_right) - max(left, obj_left)
        overlap = overlap_h * overlap_w if overlap_h >= 0 and overlap_w >= 0 else 0
        if overlap / object_area >= min_object_covered:
            return True
    return False


def _objects_in_pixels(bounding_boxes, image_h: int, image_w: int, use_image: bool):
    boxes = torch.zeros(0, 4) if bounding_boxes is None else torch.as_tensor(bounding_boxes, dtype=torch.float32)
    if boxes.numel() and boxes.shape[-1] != 4:
        raise ValueError(f"sample_distorted_bounding_box: bounding_boxes must have shape [..., 4] "
                         f"(ymin, xmin, ymax, xmax), got {tuple(boxes.shape)}")
    boxes = boxes.reshape(-1, 4)
    if ((boxes < 0) | (boxes > 1)).any():
        raise ValueError("sample_distorted_bounding_box: bounding box coordinates must be within [0, 1]")
    # TF truncates the scaled coordinates to whole pixels.
    objects = [(int(y0 * image_h), int(x0 * image_w), int(y1 * image_h), int(x1 * image_w))
               for y0, x0, y1, x1 in boxes.tolist()]
    if not objects:
        if not use_image:
            raise ValueError("sample_distorted_bounding_box: no bounding boxes given and "
                             "use_image_if_no_bounding_boxes=False")
        objects = [(0, 0, image_h, image_w)]
    return objects


def sample_distorted_bounding_box(image_size: Sequence[int], bounding_boxes=None,
                                  min_object_covered: float = 0.1,
                                  aspect_ratio_range: Sequence[float] = (0.75, 1.33),
                                  area_range: Sequence[float] = (0.05, 1.0),
                                  max_attempts: int = 100,
                                  use_image_if_no_bounding_boxes: bool = True,
                                  generator: torch.Generator | None = None) -> CropWindow:
    """A random crop window, as ``tf.image.sample_distorted_bounding_box``.

    Args:
      image_size: ``(height, width)`` of the image (extra trailing entries,
        such as TF's channel count, are ignored).
      bounding_boxes: ``[..., 4]`` boxes ``[ymin, xmin, ymax, xmax]`` in [0, 1]
        (TF's ``[1, num_boxes, 4]`` works); None or empty means the whole
        image when ``use_image_if_no_bounding_boxes``.
      min_object_covered: the window must hold at least this fraction of one box.
      aspect_ratio_range: allowed ``width / height`` of the window.
      area_range: allowed window area, as a fraction of the image area.
      max_attempts: tries before falling back to the whole image.

    With the whole image as the object, ``min_object_covered=0.1`` also
    makes the window cover at least 10% of the image.

        >>> window = sample_distorted_bounding_box((60, 80))
        >>> 0.1 * 60 * 80 <= window.height * window.width <= 60 * 80
        True
        >>> window.box.shape
        torch.Size([4])
    """
    image_h, image_w = int(image_size[0]), int(image_size[1])
    min_aspect, max_aspect = aspect_ratio_range
    min_area_fraction, max_area_fraction = area_range
    if not 0 < min_aspect <= max_aspect:
        raise ValueError(f"sample_distorted_bounding_box: aspect_ratio_range must be positive and "
                         f"increasing, got {tuple(aspect_ratio_range)}")
    if not 0 < min_area_fraction <= max_area_fraction <= 1:
        raise ValueError(f"sample_distorted_bounding_box: area_range must be within (0, 1] and "
                         f"increasing, got {tuple(area_range)}")
    if image_h < 1 or image_w < 1:
        raise ValueError(f"sample_distorted_bounding_box: empty image size {(image_h, image_w)}")
    objects = _objects_in_pixels(bounding_boxes, image_h, image_w, use_image_if_no_bounding_boxes)
    image_area = image_h * image_w
    window = None
    for _ in range(max_attempts):
        aspect_ratio = uniform(min_aspect, max_aspect, generator)
        window = _window_of_aspect(image_h, image_w, min_area_fraction * image_area,
                                   max_area_fraction * image_area, aspect_ratio, generator)
        if window is not None and _covers_an_object(window, objects, min_object_covered):
            break
        window = None
    top, left, height, width = window or (0, 0, image_h, image_w)
    box = torch.tensor([top / image_h, left / image_w, (top + height) / image_h, (left + width) / image_w])
    return CropWindow(top, left, height, width, box)
