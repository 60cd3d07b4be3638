"""TF-Slim's model zoo: the same nets, scopes, variable names and numbers.

Each family lives in its own module (``vgg``, ``inception_v3``, ``resnet_v1``,
...); :mod:`slimtorch.nets.nets_factory` builds any of them by name.
"""

from . import nets_factory  # cheap: each net is imported on first use

__all__ = ["nets_factory"]
