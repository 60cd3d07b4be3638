"""The arg_scope shared by the Inception nets (research/slim's ``inception_utils``).

    >>> with slim.arg_scope(inception_arg_scope()):
    ...     scoped = slim.current_arg_scope()
    >>> scoped[slim.arg_scope_func_key(slim.conv2d)]['normalizer_fn'] is slim.batch_norm
    True
"""

from __future__ import annotations

import torch.nn.functional as F

from .. import initializers, regularizers
from ..arg_scope import arg_scope
from ..graph import GraphKeys
from ..layers import batch_norm, conv2d, fully_connected

__all__ = ["inception_arg_scope"]


def inception_arg_scope(weight_decay: float = 0.00004, use_batch_norm: bool = True,
                        batch_norm_decay: float = 0.9997, batch_norm_epsilon: float = 0.001,
                        activation_fn=F.relu,
                        batch_norm_updates_collections=GraphKeys.UPDATE_OPS,
                        batch_norm_scale: bool = False):
    """L2 weight decay on conv and fc weights; conv2d with He (variance-scaling)
    init, ``activation_fn`` and, if ``use_batch_norm``, batch norm without gamma
    (unless ``batch_norm_scale``). Returns the scope to re-enter with
    ``slim.arg_scope(inception_arg_scope())``.
    """
    if use_batch_norm:
        normalizer_fn = batch_norm
        normalizer_params = {
            "decay": batch_norm_decay,
            "epsilon": batch_norm_epsilon,
            "updates_collections": batch_norm_updates_collections,
            "fused": None,
            "scale": batch_norm_scale,
        }
    else:
        normalizer_fn, normalizer_params = None, {}
    with arg_scope([conv2d, fully_connected],
                   weights_regularizer=regularizers.l2_regularizer(weight_decay)):
        with arg_scope([conv2d],
                       weights_initializer=initializers.variance_scaling_initializer(),
                       activation_fn=activation_fn,
                       normalizer_fn=normalizer_fn,
                       normalizer_params=normalizer_params) as scope:
            return scope
