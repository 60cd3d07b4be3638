"""Decode ``image/encoded`` bytes the way TF-Slim's ``tfexample_decoder.Image`` does.

TF-Slim looks at ``image/format`` only to spot ``raw``/``RAW`` (bytes
reshaped to ``shape``); everything else is decoded by sniffing the bytes
(``decode_jpeg`` for JPEG, ``decode_image`` otherwise), so a file mixing PNG
and JPEG works whatever its format strings say. ``channels`` (default 3, as in
TF-Slim) converts grayscale to RGB and drops alpha; 1 gives grayscale; 0
keeps what the file holds.

Differences from TF-Slim, on purpose:

* the result is PyTorch's layout, ``uint8`` **CHW** (TF gives HWC);
* a given ``shape`` (TF's ``[height, width, channels]``) must *match* the
  decoded image; TF reshapes silently, which scrambles a wrongly sized image;
* JPEGs are decoded with libjpeg's accurate integer IDCT: pixels equal
  TF-Slim's ``Image(dct_method='INTEGER_ACCURATE')`` exactly, while TF-Slim's
  default (``dct_method=''``, in TF libjpeg's *fast* IDCT) differs by a few
  levels (at most 4, mean about 1, on tests/golden/tfrecords' images). PNGs
  match TF exactly, except that ``channels=1`` of an RGB PNG may differ by 1
  (libpng's RGB-to-gray rounding in TF's build).

    >>> import torch
    >>> from torchvision.io import encode_png
    >>> png = encode_png(torch.arange(12, dtype=torch.uint8).reshape(1, 3, 4)).numpy().tobytes()
    >>> image = decode_image_bytes(png, b"png")
    >>> image.shape, image[:, 0, 1].tolist()
    (torch.Size([3, 3, 4]), [1, 1, 1])
"""

from __future__ import annotations

import io
import warnings

import torch

from slimtorch.data.errors import TFRecordError

__all__ = ["decode_image_bytes"]

# ImageReadMode names; torchvision itself is imported on the first decode
# (importing it costs about a second, which ``import slimtorch`` should not).
_MODES = {0: "UNCHANGED", 1: "GRAY", 3: "RGB", 4: "RGB_ALPHA"}


def _decode(data: torch.Tensor, channels: int) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_image

    with warnings.catch_warnings():
        # torchvision 0.29 warns on *every* decode that its codecs move to
        # TorchCodec; the notice is for slimtorch's maintainers, not per image.
        warnings.filterwarnings("ignore", message="The image decoding and encoding "
                                "capabilities of TorchVision are deprecated",
                                category=DeprecationWarning)
        return decode_image(data, mode=getattr(ImageReadMode, _MODES[channels]))


def _decode_bmp(encoded, channels: int) -> torch.Tensor:
    """BMP through Pillow (a torchvision dependency): torchvision has no BMP
    decoder, and image folders hold BMP files."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    mode = {1: "L", 4: "RGBA"}.get(channels, "RGB")
    try:
        with Image.open(io.BytesIO(bytes(encoded))) as image:
            pixels = np.asarray(image.convert(mode if channels else image.mode))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise RuntimeError(f"not a valid BMP file ({error})") from None
    tensor = torch.from_numpy(pixels.copy())
    return tensor.unsqueeze(0) if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def _as_text(image_format) -> str:
    if isinstance(image_format, (bytes, bytearray)):
        return image_format.decode("utf-8", "replace")
    return str(image_format or "")


def decode_image_bytes(encoded, image_format=b"", channels: int = 3,
                       shape=None) -> torch.Tensor:
    """Decode one encoded image (PNG, JPEG, GIF, WebP, BMP or ``raw``) to uint8 CHW.

    ``image_format`` matters only when it is ``raw``/``RAW``: the bytes are then
    a HWC uint8 array and ``shape`` (``[height, width, channels]``) is
    required. Undecodable bytes raise :class:`~slimtorch.data.TFRecordError`.

        >>> decode_image_bytes(bytes(range(6)), "raw", shape=[1, 2, 3]).tolist()
        [[[0, 3]], [[1, 4]], [[2, 5]]]
    """
    if channels not in _MODES:
        raise ValueError(f"decode_image_bytes: channels must be 0, 1, 3 or 4, got {channels}")
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        if len(shape) != 3:
            raise ValueError("decode_image_bytes: shape must be [height, width, "
                             f"channels] as in TF-Slim, got {list(shape)}")
    if not len(encoded):
        raise TFRecordError("image/encoded is empty (or missing): nothing to decode")
    data = torch.frombuffer(bytearray(encoded), dtype=torch.uint8)
    if _as_text(image_format) in ("raw", "RAW"):
        if shape is None:
            raise ValueError("decode_image_bytes: a 'raw' image needs shape="
                             "[height, width, channels] (TF-Slim's Image(shape=...))")
        if data.numel() != shape[0] * shape[1] * shape[2]:
            raise TFRecordError(f"raw image has {data.numel()} bytes, shape "
                                f"{list(shape)} needs {shape[0] * shape[1] * shape[2]}")
        return data.reshape(shape).permute(2, 0, 1).contiguous()
    try:
        image = _decode_bmp(encoded, channels) if bytes(encoded[:2]) == b"BM" else \
            _decode(data, channels)
    except RuntimeError as error:
        raise TFRecordError(f"could not decode the image bytes "
                            f"(format {_as_text(image_format)!r}): {error}") from None
    if shape is not None and tuple(image.shape) != (shape[2], shape[0], shape[1]):
        hwc = [image.shape[1], image.shape[2], image.shape[0]]
        raise TFRecordError(f"decoded image is {hwc} (HWC), the dataset "
                            f"declares shape {list(shape)}")
    return image
