"""``slim.losses``: TF-Slim's loss functions and the ``LOSSES`` collection.

``collection`` holds the collection API (``add_loss``, ``get_losses``,
``get_regularization_losses``, ``get_total_loss``); ``loss_ops`` the losses
themselves, which add their value to the collection; ``metric_learning`` the
metric-learning losses (also here: ``slim.losses.triplet_semihard_loss``),
which return their value without collecting it, as in TF-Slim:

    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> loss = slim.losses.softmax_cross_entropy(logits, torch.tensor([[1., 0.], [0., 1.]]))
    >>> [l is loss for l in slim.losses.get_losses()]
    [True]
"""

from . import metric_learning
from .collection import add_loss, get_losses, get_regularization_losses, get_total_loss
from .loss_ops import (
    absolute_difference,
    compute_weighted_loss,
    cosine_distance,
    hinge_loss,
    log_loss,
    mean_pairwise_squared_error,
    mean_squared_error,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
    sum_of_squares,
)
from .metric_learning import (
    cluster_loss,
    contrastive_loss,
    lifted_struct_loss,
    npairs_loss,
    npairs_loss_multilabel,
    triplet_semihard_loss,
)

__all__ = [
    "absolute_difference",
    "add_loss",
    "cluster_loss",
    "compute_weighted_loss",
    "contrastive_loss",
    "cosine_distance",
    "get_losses",
    "get_regularization_losses",
    "get_total_loss",
    "hinge_loss",
    "lifted_struct_loss",
    "log_loss",
    "mean_pairwise_squared_error",
    "mean_squared_error",
    "metric_learning",
    "npairs_loss",
    "npairs_loss_multilabel",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "sum_of_squares",
    "triplet_semihard_loss",
]
