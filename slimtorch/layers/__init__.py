"""TF-Slim's layers on NCHW tensors; each family lives in its own file."""

from .conv import Convolution2D, conv2d, convolution2d
from .core import FullyConnected, dropout, flatten, fully_connected, softmax
from .pool import avg_pool2d, max_pool2d
from .repeat import repeat, stack

__all__ = [
    "Convolution2D",
    "FullyConnected",
    "avg_pool2d",
    "conv2d",
    "convolution2d",
    "dropout",
    "flatten",
    "fully_connected",
    "max_pool2d",
    "repeat",
    "softmax",
    "stack",
]
