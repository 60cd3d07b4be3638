"""research/slim's image preprocessing (``preprocessing/``) for PyTorch.

Pick one by model name, as ``preprocessing_factory.get_preprocessing`` does,
or use it as a transform in a torchvision pipeline or ``DataLoader``:

    >>> from slimtorch.data.preprocessing import PreprocessingTransform, get_preprocessing
    >>> fn = get_preprocessing('inception_v3', is_training=True)
    >>> fn(torch.zeros(3, 300, 400, dtype=torch.uint8), 299, 299).shape
    torch.Size([3, 299, 299])
    >>> PreprocessingTransform('vgg_16', height=224, width=224)(torch.zeros(3, 256, 256)).shape
    torch.Size([3, 224, 224])

Layout: research/slim works on one ``[height, width, channels]`` image;
here images are ``[channels, height, width]`` in and out (PyTorch's layout,
what ``torchvision.io.decode_image`` returns). The values are the same, so a
model fed by slimtorch sees what the TF model saw; batch the results with a
DataLoader as usual.

Resizes are TF1's (:mod:`.resize`), not ``F.interpolate``'s: the released
checkpoints were trained and evaluated with TF1's pixel grid. The random
augmentations follow TF-Slim's distributions with torch's random numbers
(seed with ``torch.manual_seed`` or pass ``generator=``), so they are not
bit-identical to a TF run.

Modules: :mod:`.vgg`, :mod:`.inception`, :mod:`.cifarnet`, :mod:`.lenet`
(one per research/slim file), :mod:`.video` (clips for I3D and S3D-G, which
research/slim has no preprocessing for), :mod:`.torchvision_style`
(torchvision's ImageNet preprocessing, for its weights), :mod:`.factory`, :mod:`.transform`, and the
``tf.image`` operations they are built from: :mod:`.resize`,
:mod:`.geometry`, :mod:`.color`, :mod:`.bounding_box`.
"""

from . import cifarnet, inception, lenet, torchvision_style, vgg, video
from .factory import get_preprocessing, preprocessing_fn_map, preprocessing_names
from .transform import PreprocessingTransform

__all__ = ["PreprocessingTransform", "cifarnet", "get_preprocessing", "inception", "lenet",
           "preprocessing_fn_map", "preprocessing_names", "torchvision_style", "vgg", "video"]
