"""TF-Slim's model zoo: the same nets, scopes, variable names and numbers.

Each family lives in its own module (``vgg``, ``inception_v3``, ``resnet_v1``,
...); :mod:`slimtorch.nets.nets_factory` builds any of them by name, and
:mod:`slimtorch.nets.inception` gathers the Inception nets as research/slim's
``nets/inception.py`` does. Every module is also an attribute of this
package, imported on first use (so ``import slimtorch`` stays cheap):

    >>> import slimtorch.nets as nets
    >>> nets.vgg.vgg_16.default_image_size, nets.inception.inception_v3.default_image_size
    (224, 299)

``slim.nets.load_pretrained(network_fn)`` restores the model zoo's ImageNet
weights (:mod:`slimtorch.pretrained`), as ``get_network_fn(...,
pretrained=True)`` does.
"""

import importlib

from . import nets_factory
from .nets_factory import load_pretrained

#: The zoo's modules, as tf_slim's and research/slim's ``nets`` package has them.
_MODULES = (
    "alexnet", "cifarnet", "inception", "inception_resnet_v2", "inception_utils", "inception_v1",
    "inception_v2", "inception_v3", "inception_v4", "lenet", "mobilenet_v1", "mobilenet_v2",
    "mobilenet_v3",
    "nasnet", "pnasnet",
    "overfeat", "resnet_utils", "resnet_v1", "resnet_v2", "vgg",
    "i3d", "i3d_utils", "s3dg",
    "dcgan", "pix2pix", "cyclegan",
)

__all__ = ["load_pretrained", "nets_factory", *_MODULES]


def __getattr__(name: str):
    """Imports a zoo module the first time ``slimtorch.nets.<name>`` is read."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MODULES))
