"""TF-Slim's layers on channels-first tensors; each family lives in its own file."""

from .conv import (ConvolutionND, conv1d, conv2d, conv3d, convolution, convolution1d, convolution2d,
                   convolution3d)
from .conv_transpose import (ConvolutionTranspose, conv2d_transpose, conv3d_transpose,
                             convolution2d_transpose, convolution3d_transpose)
from .core import FullyConnected, dropout, flatten, fully_connected, softmax
from .misc import (BiasAdd, SpatialSoftmax, bias_add, elu, linear, maxout, one_hot_encoding, relu,
                   relu6, scale_gradient, spatial_softmax, unit_norm)
from .norm import (BatchNorm, GroupNorm, InstanceNorm, LayerNorm, batch_norm, group_norm,
                   instance_norm, layer_norm)
from .pool import avg_pool2d, avg_pool3d, max_pool2d, max_pool3d
from .repeat import repeat, stack
from .separable import (ConvolutionInPlane, SeparableConvolution2D, conv2d_in_plane,
                        convolution2d_in_plane, separable_conv2d, separable_convolution2d)

__all__ = [
    # modules
    "BatchNorm", "BiasAdd", "ConvolutionInPlane", "ConvolutionND", "ConvolutionTranspose", "FullyConnected",
    "GroupNorm", "InstanceNorm", "LayerNorm", "SeparableConvolution2D", "SpatialSoftmax",
    # builders
    "avg_pool2d", "avg_pool3d", "batch_norm", "bias_add", "conv1d", "conv2d", "conv2d_in_plane",
    "conv2d_transpose", "conv3d", "conv3d_transpose", "convolution", "convolution1d",
    "convolution2d", "convolution2d_in_plane", "convolution2d_transpose", "convolution3d",
    "convolution3d_transpose", "dropout", "elu", "flatten", "fully_connected", "group_norm",
    "instance_norm", "layer_norm", "linear", "max_pool2d", "max_pool3d", "maxout",
    "one_hot_encoding", "relu", "relu6", "repeat", "scale_gradient", "separable_conv2d",
    "separable_convolution2d", "softmax", "spatial_softmax", "stack", "unit_norm",
]
