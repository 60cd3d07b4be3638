"""TF-Slim's metric-learning losses (``slim.losses.metric_learning``), eagerly.

The values equal ``tf_slim.losses.metric_learning``'s; as there, each loss
*returns* its scalar and does **not** add it to the ``LOSSES`` collection
(call :func:`slimtorch.losses.add_loss` to have ``get_total_loss`` see it).
Embeddings are ``[batch, dim]``; labels ``[batch]`` (any dtype compared with
``==``).

Where TF-Slim's graph formulation built ``[batch², batch]`` tiles, these
compute the same quantities in ``[batch, batch]`` memory (sorting for the
semi-hard negatives, a factored log-sum-exp for the lifted structure).
Traps fixed, values unchanged: ``contrastive_loss`` has a finite gradient for
identical pairs (TF: NaN); ``lifted_struct_loss`` of a batch whose pairs are
all positive is 0 (TF: NaN). A batch without any positive pair still gives
NaN from ``triplet_semihard_loss`` and ``lifted_struct_loss`` (0 / 0), as in TF.
"""

from __future__ import annotations

import sys
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from .. import summaries
from . import _cluster_scores
from ._facility_location import cluster_assignments, greedy_facility_locations, pam_refine

__all__ = [
    "cluster_loss",
    "contrastive_loss",
    "lifted_struct_loss",
    "npairs_loss",
    "npairs_loss_multilabel",
    "pairwise_distance",
    "triplet_semihard_loss",
]


# -- input checks ----------------------------------------------------------------
def _embeddings(name: str, x, arg: str = "embeddings") -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dim() != 2:
        raise ValueError(f"{name}: {arg} must be 2-D [batch_size, embedding_dim], got shape "
                         f"{list(x.shape)}; reshape them to [batch_size, -1]")
    return x if x.is_floating_point() else x.to(torch.float32)


def _labels(name: str, labels, batch: int, device, allow_column: bool = False) -> torch.Tensor:
    labels = torch.as_tensor(labels, device=device)
    if allow_column and labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    shapes = f"[{batch}]" + (f" or [{batch}, 1]" if allow_column else "")
    if labels.dim() != 1 or labels.shape[0] != batch:
        raise ValueError(f"{name}: labels must have shape {shapes} to match the {batch} "
                         f"embeddings, got {list(labels.shape)}")
    return labels


def _same_shape(name: str, anchor: torch.Tensor, positive: torch.Tensor) -> None:
    if anchor.shape != positive.shape:
        raise ValueError(f"{name}: embeddings_anchor {list(anchor.shape)} and embeddings_positive "
                         f"{list(positive.shape)} must have the same shape (one positive per anchor)")


def _masked_maximum(data: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Row-wise max over ``mask`` (``[n, 1]``); TF's shift trick: a row with no
    element chosen gives the row's minimum."""
    minimums = data.amin(1, keepdim=True)
    return ((data - minimums) * mask).amax(1, keepdim=True) + minimums


# -- distances -------------------------------------------------------------------
def pairwise_distance(feature, squared: bool = False) -> torch.Tensor:
    """The ``[n, n]`` Euclidean distances between the rows of ``feature``.

    As in TF-Slim: computed as ``|a|² + |b|² − 2a·b``, small negatives from
    rounding clamped to 0, the square root taken only where the squared
    distance is positive (so the gradient stays finite), the diagonal exactly 0.

    Args:
        feature: ``[n, d]`` features.
        squared: return squared distances.

    Returns:
        An ``[n, n]`` tensor of ``feature``'s floating dtype.

    Raises:
        ValueError: ``feature`` is not 2-D.

    Example:
        >>> slim.losses.metric_learning.pairwise_distance(torch.tensor([[0., 0.], [3., 4.]]))
        tensor([[0., 5.],
                [5., 0.]])
    """
    feature = _embeddings("pairwise_distance", feature, "feature")
    norms = feature.square().sum(1, keepdim=True)
    squared_distances = (norms + norms.T - 2.0 * feature @ feature.T).clamp_min(0.0)
    zero = squared_distances <= 0.0
    if squared:
        distances = squared_distances
    else:
        distances = torch.sqrt(squared_distances + zero.to(feature.dtype) * 1e-16)
    off_diagonal = 1.0 - torch.eye(feature.shape[0], dtype=feature.dtype, device=feature.device)
    return distances * (~zero).to(feature.dtype) * off_diagonal


# -- pair and triplet losses ----------------------------------------------------
def contrastive_loss(labels, embeddings_anchor, embeddings_positive, margin: float = 1.0
                     ) -> torch.Tensor:
    """The contrastive loss of Hadsell, Chopra & LeCun (2006).

    ``mean(y·d² + (1 − y)·max(margin − d, 0)²)`` with ``d`` the distance
    between each anchor and its partner and ``y`` 1 for a similar pair.

    Args:
        labels: ``[batch]`` 0/1 (dissimilar/similar) pair labels.
        embeddings_anchor: ``[batch, dim]``, l2-normalized.
        embeddings_positive: ``[batch, dim]``, l2-normalized.
        margin: how far apart dissimilar pairs are pushed.

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``).

    Raises:
        ValueError: the shapes do not match.

    Example:
        >>> a = torch.tensor([[1., 0.], [1., 0.]])
        >>> p = torch.tensor([[0.6, 0.8], [0.6, 0.8]])
        >>> round(slim.losses.metric_learning.contrastive_loss(torch.tensor([1, 0]), a, p,
        ...                                                   margin=1.5).item(), 4)
        0.5834
    """
    name = "contrastive_loss"
    anchor = _embeddings(name, embeddings_anchor, "embeddings_anchor")
    positive = _embeddings(name, embeddings_positive, "embeddings_positive").to(anchor)
    _same_shape(name, anchor, positive)
    y = _labels(name, labels, anchor.shape[0], anchor.device).to(anchor.dtype)
    squared = (anchor - positive).square().sum(1)
    # sqrt only of positive values: the same distances, a 0 (not NaN) gradient at d = 0.
    distances = torch.where(squared > 0, torch.sqrt(torch.where(squared > 0, squared, 1.0)), 0.0)
    return (y * squared + (1.0 - y) * (margin - distances).clamp_min(0.0).square()).mean()


def triplet_semihard_loss(labels, embeddings, margin: float = 1.0) -> torch.Tensor:
    """The triplet loss with semi-hard negative mining (FaceNet, Schroff et al. 2015).

    For every positive pair ``(a, p)`` (same label, ``a ≠ p``) the negative is
    the closest one farther from ``a`` than ``p`` (semi-hard); when there is
    none, the farthest negative. Distances are squared Euclidean. The loss is
    ``mean over positive pairs of max(margin + d(a, p) − d(a, n), 0)``.

    Args:
        labels: ``[batch]`` class labels.
        embeddings: ``[batch, dim]``, l2-normalized.
        margin: the margin.

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``);
        NaN when the batch has no positive pair, as in TF.

    Raises:
        ValueError: ``embeddings`` is not 2-D or ``labels`` not ``[batch]``.

    Example:
        >>> emb = torch.tensor([[0.], [1.], [3.], [6.]])
        >>> slim.losses.metric_learning.triplet_semihard_loss(torch.tensor([0, 0, 1, 1]), emb,
        ...                                                   margin=1.0).item()
        0.25
    """
    name = "triplet_semihard_loss"
    embeddings = _embeddings(name, embeddings)
    n = embeddings.shape[0]
    labels = _labels(name, labels, n, embeddings.device)
    distances = pairwise_distance(embeddings, squared=True)
    adjacency = labels[:, None] == labels[None, :]
    negative = ~adjacency
    # Semi-hard: per anchor row, the first negative distance above d(a, p).
    sorted_negatives = torch.where(negative, distances, torch.inf).sort(1).values
    first_above = torch.searchsorted(sorted_negatives, distances.contiguous(), right=True)
    has_semihard = first_above < negative.sum(1, keepdim=True)
    semihard = sorted_negatives.gather(1, first_above.clamp_max(n - 1))
    hardest = _masked_maximum(distances, negative.to(distances.dtype))
    chosen = torch.where(has_semihard, semihard, hardest)
    positives = adjacency.to(distances.dtype) - torch.eye(n, dtype=distances.dtype,
                                                          device=distances.device)
    losses = ((margin + distances - chosen) * positives).clamp_min(0.0)
    return losses.sum() / positives.sum()


def lifted_struct_loss(labels, embeddings, margin: float = 1.0) -> torch.Tensor:
    """The lifted structured feature embedding loss (Oh Song et al. 2016).

    For each positive pair ``(i, j)``: ``J = log Σ exp(margin − d)`` over the
    negatives of ``i`` and of ``j``, plus ``d(i, j)``; the loss is
    ``Σ max(J, 0)² / (2 · #positive pairs)`` (each pair counted once),
    with TF-Slim's (Caffe's) max-shifted log-sum-exp.

    Args:
        labels: ``[batch]`` class labels.
        embeddings: ``[batch, dim]``, not l2-normalized.
        margin: the margin.

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``).

    Raises:
        ValueError: ``embeddings`` is not 2-D or ``labels`` not ``[batch]``.

    Example:
        >>> emb = torch.tensor([[0.], [1.], [3.]])
        >>> round(slim.losses.metric_learning.lifted_struct_loss(torch.tensor([0, 0, 1]),
        ...                                                      emb).item(), 4)
        0.0491
    """
    name = "lifted_struct_loss"
    embeddings = _embeddings(name, embeddings)
    n = embeddings.shape[0]
    labels = _labels(name, labels, n, embeddings.device)
    distances = pairwise_distance(embeddings)
    adjacency = labels[:, None] == labels[None, :]
    mask = (~adjacency).to(distances.dtype)
    diff = margin - distances
    row_max = _masked_maximum(diff, mask)  # [n, 1]: max of margin − d over i's negatives
    pair_max = torch.maximum(row_max, row_max.T)
    # Σ_k mask·exp(diff_ik − M_ij) = exp(m_i − M_ij) · Σ_k mask·exp(diff_ik − m_i), M_ij ≥ m_i:
    # TF's [n², n] tile in [n, n] memory.
    row_sums = ((diff - row_max).exp() * mask).sum(1, keepdim=True)
    exp_sums = row_sums * (row_max - pair_max).exp()
    total = exp_sums + exp_sums.T
    has_negatives = total > 0
    log_total = torch.where(has_negatives, torch.log(torch.where(has_negatives, total, 1.0)),
                            -torch.inf)
    loss_mat = pair_max + log_total + distances
    positives = adjacency & ~torch.eye(n, dtype=torch.bool, device=adjacency.device)
    hinge = torch.where(positives, loss_mat, 0.0).clamp_min(0.0)
    num_positives = positives.sum().to(distances.dtype) / 2.0
    return 0.25 * hinge.square().sum() / num_positives


# -- npairs ------------------------------------------------------------------------
def _npairs(name: str, adjacency: torch.Tensor, anchor: torch.Tensor, positive: torch.Tensor,
            reg_lambda: float, print_losses: bool) -> torch.Tensor:
    """l2 regularizer + cross entropy of the anchor/positive similarities
    against the row-normalized label adjacency."""
    l2loss = 0.25 * reg_lambda * (anchor.square().sum(1).mean() + positive.square().sum(1).mean())
    similarity = anchor @ positive.T
    targets = adjacency / adjacency.sum(1, keepdim=True)
    xent = -(targets * F.log_softmax(similarity, dim=1)).sum(1).mean()
    if print_losses:
        print(f"{name}: cross entropy: {xent.item()} l2loss: {l2loss.item()}", file=sys.stderr)
    return l2loss + xent


def npairs_loss(labels, embeddings_anchor, embeddings_positive, reg_lambda: float = 0.002,
                print_losses: bool = False) -> torch.Tensor:
    """The N-pair loss (Sohn 2016).

    Each row of ``anchor @ positiveᵀ`` is a softmax's logits; its target is
    uniform over the positives with the anchor's label. Plus the l2 penalty
    ``0.25 · reg_lambda · (mean |anchor|² + mean |positive|²)``.

    Args:
        labels: ``[batch]`` labels of the pairs.
        embeddings_anchor: ``[batch, dim]``, not l2-normalized.
        embeddings_positive: ``[batch, dim]``, not l2-normalized.
        reg_lambda: weight of the l2 penalty on the embeddings.
        print_losses: print the cross entropy and the penalty (to stderr).

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``).

    Raises:
        ValueError: the shapes do not match.

    Example:
        >>> a = p = torch.tensor([[3., 0.], [0., 3.]])
        >>> round(slim.losses.metric_learning.npairs_loss(torch.tensor([0, 1]), a, p,
        ...                                               reg_lambda=0.0).item(), 6)
        0.000123
    """
    name = "npairs_loss"
    anchor = _embeddings(name, embeddings_anchor, "embeddings_anchor")
    positive = _embeddings(name, embeddings_positive, "embeddings_positive").to(anchor)
    _same_shape(name, anchor, positive)
    labels = _labels(name, labels, anchor.shape[0], anchor.device)
    adjacency = (labels[:, None] == labels[None, :]).to(anchor.dtype)
    return _npairs(name, adjacency, anchor, positive, reg_lambda, print_losses)


def _multi_hot(name: str, labels, batch: int, like: torch.Tensor) -> torch.Tensor:
    """``[batch, C]`` 0/1 rows from a multi-hot tensor, a list of 1-D sparse
    tensors, or a list of per-example class-id lists."""
    if isinstance(labels, torch.Tensor):
        rows = labels.to_dense() if labels.is_sparse else labels
    elif isinstance(labels, (list, tuple)) and all(isinstance(r, torch.Tensor) and r.is_sparse
                                                   for r in labels) and labels:
        rows = torch.stack([r.to_dense() for r in labels])
    elif isinstance(labels, (list, tuple)) and all(isinstance(r, (list, tuple, set, range))
                                                   for r in labels):
        ids = [sorted({int(c) for c in r}) for r in labels]
        if any(c < 0 for r in ids for c in r):
            raise ValueError(f"{name}: class ids must be >= 0, got {labels}")
        width = max((r[-1] + 1 for r in ids if r), default=0)
        rows = torch.zeros(len(ids), width)
        for i, r in enumerate(ids):
            rows[i, r] = 1.0
    else:
        raise TypeError(f"{name}: sparse_labels must be a [batch, num_classes] multi-hot tensor, a "
                        f"list of 1-D sparse tensors, or a list of per-example class-id lists; "
                        f"got {type(labels).__name__}")
    if rows.dim() != 2 or rows.shape[0] != batch:
        raise ValueError(f"{name}: sparse_labels must give {batch} rows of [num_classes] labels "
                         f"(one per pair), got shape {list(rows.shape)}")
    return rows.to(like)


def npairs_loss_multilabel(sparse_labels: Union[torch.Tensor, Sequence], embeddings_anchor,
                           embeddings_positive, reg_lambda: float = 0.002,
                           print_losses: bool = False) -> torch.Tensor:
    """The N-pair loss for examples with several labels each.

    As :func:`npairs_loss`, with each row's target proportional to the number
    of labels the anchor shares with each positive: ``L = m·mᵀ`` for the
    multi-hot label rows ``m``, normalized per row. Every example needs at
    least one label (else its row is 0 / 0 = NaN, as in TF).

    Args:
        sparse_labels: the labels, as any of: a ``[batch, num_classes]`` 0/1
            multi-hot tensor (dense or sparse); a list of ``batch`` 1-D
            ``torch.sparse`` 0/1 tensors of size ``num_classes`` (TF-Slim's
            list of ``SparseTensor``); a list of ``batch`` lists of class ids.
        embeddings_anchor: ``[batch, dim]``, not l2-normalized.
        embeddings_positive: ``[batch, dim]``, not l2-normalized.
        reg_lambda: weight of the l2 penalty on the embeddings.
        print_losses: print the cross entropy and the penalty (to stderr).

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``).

    Raises:
        TypeError: ``sparse_labels`` is none of the accepted forms.
        ValueError: the shapes do not match, or a class id is negative.

    Example:
        >>> a = p = torch.tensor([[3., 0.], [0., 3.]])
        >>> single = slim.losses.metric_learning.npairs_loss(torch.tensor([0, 1]), a, p)
        >>> multi = slim.losses.metric_learning.npairs_loss_multilabel([[0], [1]], a, p)
        >>> bool(torch.isclose(single, multi))
        True
    """
    name = "npairs_loss_multilabel"
    anchor = _embeddings(name, embeddings_anchor, "embeddings_anchor")
    positive = _embeddings(name, embeddings_positive, "embeddings_positive").to(anchor)
    _same_shape(name, anchor, positive)
    multi_hot = _multi_hot(name, sparse_labels, anchor.shape[0], anchor)
    return _npairs(name, multi_hot @ multi_hot.T, anchor, positive, reg_lambda, print_losses)


# -- clustering ---------------------------------------------------------------------
_SCORES = {
    "nmi": _cluster_scores.normalized_mutual_info,
    "ami": _cluster_scores.adjusted_mutual_info,
    "ari": _cluster_scores.adjusted_rand,
    "vmeasure": _cluster_scores.v_measure,
}


def _score_fn(margin_type: str, labels: np.ndarray):
    """``[M, n]`` assignments -> ``[M]`` float32 agreement with ``labels``, as
    TF's ``compute_clustering_score`` (AMI, ARI, v-measure clipped at 0)."""
    if margin_type == "const":
        # TF compares the raw label values with the cluster positions.
        return lambda predictions: (predictions == labels).all(1).astype(np.float32)
    ids = np.unique(labels, return_inverse=True)[1].reshape(-1)
    score, clip = _SCORES[margin_type], margin_type != "nmi"
    return lambda predictions: (np.maximum(score(ids, predictions), 0.0) if clip
                                else score(ids, predictions)).astype(np.float32)


def _facility_energy(distances: torch.Tensor, centroid_ids: torch.Tensor) -> torch.Tensor:
    """``−Σ_x min_c d(x, c)``: TF's ``compute_facility_energy``."""
    return -distances[centroid_ids].amin(0).sum()


def _ground_truth_energy(distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``Σ_classes −min_m Σ_{x in class} d(x, m)``: the facility energy of the
    best medoid per true class (``compute_gt_cluster_score``)."""
    total = distances.new_zeros(())
    for value in torch.unique(labels):
        ids = torch.nonzero(labels == value).squeeze(1)
        total = total - distances[ids][:, ids].sum(0).amin()
    return total


def cluster_loss(labels, embeddings, margin_multiplier: float, enable_pam_finetuning: bool = True,
                 margin_type: str = "nmi", print_losses: bool = False) -> torch.Tensor:
    """The structured clustering loss (Song et al. 2017, arXiv:1612.01213).

    A hinge between the facility-location energy of the medoids found by
    loss-augmented greedy inference (refined by PAM when
    ``enable_pam_finetuning``), augmented by ``margin_multiplier · (1 −
    score(labels, predicted clusters))``, and the energy of the best medoid
    per true class. ``score`` is one of ``'nmi'`` (normalized mutual
    information), ``'ami'`` (adjusted MI), ``'ari'`` (adjusted Rand index),
    ``'vmeasure'``, ``'const'`` (1 if the assignments equal the labels) —
    computed without scikit-learn, with its current definitions. Gradients
    flow through both energies; the medoid search is discrete.

    Records the summaries ``losses/score_pred``, ``losses/<margin_type>`` and
    ``losses/score_gt``, as TF-Slim does.

    Args:
        labels: ``[batch]`` or ``[batch, 1]`` class labels.
        embeddings: ``[batch, dim]``, l2-normalized.
        margin_multiplier: weight of the structured margin.
        enable_pam_finetuning: refine the medoids with 5 PAM iterations.
        margin_type: the clustering score (see above).
        print_losses: print the loss (to stderr).

    Returns:
        A scalar of the embeddings' floating dtype (not added to ``LOSSES``).

    Raises:
        ValueError: an unknown ``margin_type``, or bad shapes.

    Example:
        >>> emb = torch.tensor([[0., 0.], [0., 0.1], [1., 0.], [1., 0.1]])
        >>> slim.losses.metric_learning.cluster_loss(torch.tensor([0, 0, 1, 1]), emb,
        ...                                          margin_multiplier=1.0).item()
        0.0
    """
    name = "cluster_loss"
    if margin_type not in (*_SCORES, "const"):
        raise ValueError(f"{name}: unrecognized margin_type {margin_type!r}; expected one of "
                         f"'nmi', 'ami', 'ari', 'vmeasure', 'const'")
    embeddings = _embeddings(name, embeddings)
    labels = _labels(name, labels, embeddings.shape[0], embeddings.device, allow_column=True)
    distances = pairwise_distance(embeddings)
    # The medoid search is discrete and data-dependent: run it in numpy on the
    # CPU, as TF-Slim's py_func did, and differentiate only the energies.
    search = distances.detach().to("cpu", torch.float32).numpy()
    score_fn = _score_fn(margin_type, labels.cpu().numpy())
    num_classes = len(torch.unique(labels))
    chosen = greedy_facility_locations(search, num_classes, margin_multiplier, score_fn)
    if enable_pam_finetuning:
        chosen = pam_refine(search, chosen, margin_multiplier, score_fn)
    score_pred = _facility_energy(distances, torch.as_tensor(chosen, device=distances.device))
    clustering_score = float(score_fn(cluster_assignments(search, chosen[None]))[0])
    score_gt = _ground_truth_energy(distances, labels)
    loss = (score_pred + margin_multiplier * (1.0 - clustering_score) - score_gt).clamp_min(0.0)
    if print_losses:
        print(f"{name}: clustering_loss: {loss.item()}", file=sys.stderr)
    summaries.scalar("losses/score_pred", score_pred.detach())
    summaries.scalar(f"losses/{margin_type}", clustering_score)
    summaries.scalar("losses/score_gt", score_gt.detach())
    return loss
