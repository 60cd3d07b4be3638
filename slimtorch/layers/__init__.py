"""TF-Slim's layers on channels-first tensors; each family lives in its own file.

Like ``tf_slim.layers`` it also gathers ``apply_regularization``, the
``summarize_*`` helpers (:mod:`.summaries`) and the optimizer helpers
(:mod:`.optimizers`; ``optimize_loss`` is built by the trainer, so
``slim.layers.optimizers.optimize_loss`` is imported when first read).
"""

from ..regularizers import apply_regularization
from .conv import (ConvolutionND, conv1d, conv2d, conv3d, convolution, convolution1d, convolution2d,
                   convolution3d)
from .conv_transpose import (ConvolutionTranspose, conv2d_transpose, conv3d_transpose,
                             convolution2d_transpose, convolution3d_transpose)
from .core import FullyConnected, dropout, flatten, fully_connected, softmax
from .misc import (BiasAdd, SpatialSoftmax, bias_add, elu, linear, maxout, one_hot_encoding,
                   poincare_normalize, relu, relu6, scale_gradient, spatial_softmax, unit_norm)
from .optimizers import OPTIMIZER_CLS_NAMES, OPTIMIZER_SUMMARIES, adaptive_clipping_fn
from .norm import (BatchNorm, GroupNorm, InstanceNorm, LayerNorm, batch_norm, group_norm,
                   instance_norm, layer_norm)
from .pool import avg_pool2d, avg_pool3d, max_pool2d, max_pool3d, pool
from .repeat import repeat, stack
from .reshape import dense_to_sparse, images_to_sequence, sequence_to_images
from .separable import (ConvolutionInPlane, SeparableConvolution2D, conv2d_in_plane,
                        convolution2d_in_plane, separable_conv2d, separable_convolution2d)
from .summaries import (summarize_activation, summarize_activations, summarize_biases,
                        summarize_collection, summarize_tensor, summarize_tensors,
                        summarize_variables, summarize_weights)

__all__ = [
    # modules
    "BatchNorm", "BiasAdd", "ConvolutionInPlane", "ConvolutionND", "ConvolutionTranspose", "FullyConnected",
    "GroupNorm", "InstanceNorm", "LayerNorm", "SeparableConvolution2D", "SpatialSoftmax",
    # builders
    "avg_pool2d", "avg_pool3d", "batch_norm", "bias_add", "conv1d", "conv2d", "conv2d_in_plane",
    "conv2d_transpose", "conv3d", "conv3d_transpose", "convolution", "convolution1d",
    "convolution2d", "convolution2d_in_plane", "convolution2d_transpose", "convolution3d",
    "convolution3d_transpose", "dense_to_sparse", "dropout", "elu", "flatten", "fully_connected",
    "group_norm", "images_to_sequence", "instance_norm", "layer_norm", "linear", "max_pool2d",
    "max_pool3d", "maxout", "one_hot_encoding", "poincare_normalize", "pool", "relu", "relu6",
    "repeat", "scale_gradient", "separable_conv2d", "separable_convolution2d",
    "sequence_to_images", "softmax", "spatial_softmax", "stack", "unit_norm",
    # regularization, summaries, optimizers (tf_slim.layers gathers them too)
    "apply_regularization", "summarize_activation", "summarize_activations", "summarize_biases",
    "summarize_collection", "summarize_tensor", "summarize_tensors", "summarize_variables",
    "summarize_weights", "OPTIMIZER_CLS_NAMES", "OPTIMIZER_SUMMARIES", "adaptive_clipping_fn",
]

