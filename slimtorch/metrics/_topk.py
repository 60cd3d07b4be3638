"""Top-k and per-row set arithmetic behind the ``@k`` metrics, with TF's
semantics: ties go to the lower class index, a dense row of labels is a
*set* (duplicates count once) and every id in it is a label (TF counts a
``-1`` padding as a label no prediction can match)."""

from __future__ import annotations

from typing import Dict, NamedTuple

import torch

__all__ = ["LabelSets", "average_precision", "check_k", "expand_labels", "in_top_k", "set_counts",
           "top_k_indices"]


def check_k(metric: str, k) -> int:
    """``k`` as an int, at least 1.

        >>> check_k('m', 0)
        Traceback (most recent call last):
        ...
        ValueError: m: k must be an integer >= 1, got 0
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{metric}: k must be an integer >= 1, got {k!r}")
    return k


def _check_classes(metric: str, predictions: torch.Tensor, k: int) -> None:
    if predictions.dim() < 1 or predictions.shape[-1] < k:
        raise ValueError(f"{metric}: k={k} is larger than the number of classes (the last "
                         f"dimension of predictions of shape {list(predictions.shape)})")


def top_k_indices(metric: str, predictions: torch.Tensor, k: int) -> torch.Tensor:
    """The indices of the ``k`` largest scores along the last dimension, as
    ``tf.nn.top_k``: equal scores in order of their index.

        >>> top_k_indices('m', torch.tensor([[.5, .5, .9, .5]]), 3).tolist()
        [[2, 0, 1]]
    """
    _check_classes(metric, predictions, k)
    # A stable sort keeps equal scores in index order; torch.topk does not promise that.
    return torch.sort(predictions, dim=-1, descending=True, stable=True).indices[..., :k]


def in_top_k(metric: str, predictions: torch.Tensor, targets: torch.Tensor, k: int
             ) -> torch.Tensor:
    """``tf.nn.in_top_k``: whether each target's score is beaten by fewer
    than ``k`` others, so every class tied at the boundary is in. A target
    out of range, or a row holding a non-finite score, is never in.

        >>> in_top_k('m', torch.tensor([[.5, .5, .5], [.6, .2, .2]]),
        ...          torch.tensor([2, 2]), 1).tolist()
        [True, False]
    """
    _check_classes(metric, predictions, k)
    classes = predictions.shape[-1]
    valid = (targets >= 0) & (targets < classes)
    target_scores = predictions.gather(-1, targets.clamp(0, classes - 1).unsqueeze(-1))
    beaten_by = (predictions > target_scores).sum(-1)
    return valid & torch.isfinite(predictions).all(-1) & (beaten_by < k)


class LabelSets(NamedTuple):
    """Rows of labels: ``ids`` ``[D1, ..., DN, num_labels]`` (int64) and
    ``present`` (bool, same shape) saying which entries are labels; all of
    them for a dense tensor, the stored entries of a sparse one.
    ``sparse`` keeps which it was (TF counts the labels of the two kinds
    differently in average precision)."""

    ids: torch.Tensor
    present: torch.Tensor
    sparse: bool


def expand_labels(metric: str, labels: torch.Tensor, predictions_idx: torch.Tensor
                  ) -> LabelSets:
    """Labels shaped ``[D1, ..., DN, num_labels]`` to match top-k ids
    ``[D1, ..., DN, k]``; ``[D1, ..., DN]`` means one label each (TF's
    ``_maybe_expand_labels``). A sparse COO tensor (TF's ``SparseTensor``)
    holds a row's labels in its stored entries: rows may have different
    numbers of labels.

        >>> expand_labels('m', torch.tensor([3, 1]), torch.zeros(2, 5)).ids.tolist()
        [[3], [1]]
        >>> sparse = torch.sparse_coo_tensor([[0, 1, 1], [0, 0, 1]], [3, 1, 4], (2, 2),
        ...                                  check_invariants=True)
        >>> expand_labels('m', sparse, torch.zeros(2, 5)).present.tolist()
        [[True, False], [True, True]]
    """
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"{metric}: labels must be integer class ids, got {labels.dtype}")
    sparse = labels.layout == torch.sparse_coo
    if sparse:
        stored = labels._nnz()
        labels = labels.coalesce()
        if labels._nnz() != stored:   # coalesce would have summed their ids
            raise ValueError(f"{metric}: sparse labels hold {stored - labels._nnz()} repeated "
                             f"indices (TF's SparseTensor needs unique ones); give each label "
                             f"its own position along the last dimension")
        where = tuple(labels.indices())
        ids = torch.zeros(labels.shape, dtype=torch.int64, device=labels.device)
        ids[where] = labels.values().long()
        present = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
        present[where] = True
    else:
        ids, present = labels.long(), torch.ones(labels.shape, dtype=torch.bool,
                                                 device=labels.device)
    if ids.dim() == predictions_idx.dim() - 1:
        ids, present = ids.unsqueeze(-1), present.unsqueeze(-1)
    if ids.dim() != predictions_idx.dim() or ids.shape[:-1] != predictions_idx.shape[:-1]:
        raise ValueError(f"{metric}: labels of shape {list(ids.shape)} do not match "
                         f"predictions of shape [D1, ..., DN, classes] = "
                         f"{list(predictions_idx.shape[:-1])} + [...]: expected "
                         f"[D1, ..., DN] or [D1, ..., DN, num_labels]")
    return LabelSets(ids, present, sparse)


def _first_occurrence(ids: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """True where a present id has not appeared (present) earlier in its row
    (sets count once)."""
    same = (ids.unsqueeze(-1) == ids.unsqueeze(-2)) & present.unsqueeze(-2)   # [..., m, m]
    earlier = torch.ones(same.shape[-2:], dtype=torch.bool, device=ids.device).tril(-1)
    return present & ~(same & earlier).any(-1)


def _member(ids: torch.Tensor, of: torch.Tensor, of_present: torch.Tensor) -> torch.Tensor:
    """Whether each id in a row is among ``of``'s present ids in the same row."""
    return ((ids.unsqueeze(-1) == of.unsqueeze(-2)) & of_present.unsqueeze(-2)).any(-1)


def set_counts(predictions_idx: torch.Tensor, labels: LabelSets, class_id=None
               ) -> Dict[str, torch.Tensor]:
    """Per row, in float64: ``true_positive`` = |P ∩ L|, ``false_positive`` =
    |P − L|, ``false_negative`` = |L − P| for the sets P of predicted ids and
    L of labels; with ``class_id`` both sets are first cut down to that id.

        >>> labels = expand_labels('m', torch.tensor([[1], [3]]), torch.zeros(2, 2))
        >>> {k: v.tolist() for k, v in set_counts(torch.tensor([[1, 1], [0, 2]]),
        ...                                       labels).items()}
        {'true_positive': [1.0, 0.0], 'false_positive': [0.0, 2.0], 'false_negative': [0.0, 1.0]}
    """
    predictions_idx = predictions_idx.long()
    everything = torch.ones_like(predictions_idx, dtype=torch.bool)
    if class_id is not None:
        predicted = (predictions_idx == class_id).any(-1)
        labelled = ((labels.ids == class_id) & labels.present).any(-1)
        counts = {"true_positive": predicted & labelled, "false_positive": predicted & ~labelled,
                  "false_negative": labelled & ~predicted}
    else:
        predicted_first = _first_occurrence(predictions_idx, everything)
        label_first = _first_occurrence(labels.ids, labels.present)
        hit = _member(predictions_idx, labels.ids, labels.present)
        counts = {"true_positive": (predicted_first & hit).sum(-1),
                  "false_positive": (predicted_first & ~hit).sum(-1),
                  "false_negative": (label_first & ~_member(labels.ids, predictions_idx,
                                                            everything)).sum(-1)}
    return {key: value.to(torch.float64) for key, value in counts.items()}


def average_precision(predictions_idx: torch.Tensor, labels: LabelSets) -> torch.Tensor:
    """Per row: the sum of precision@i over the ranks i whose prediction is a
    label, over min(k, number of labels). TF's number of labels: for dense
    labels the ids >= 0 (a repeated label counts twice), for sparse ones the
    distinct stored ids; a row without labels gives NaN.

        >>> top_k = torch.tensor([[1, 1], [0, 2]])
        >>> labels = expand_labels('m', torch.tensor([[1, 5], [2, 2]]), top_k)
        >>> average_precision(top_k, labels).tolist()
        [1.0, 0.25]
    """
    predictions_idx = predictions_idx.long()
    k = predictions_idx.shape[-1]
    relevant = _member(predictions_idx, labels.ids, labels.present).to(torch.float64)  # [..., k]
    ranks = torch.arange(1, k + 1, dtype=torch.float64, device=relevant.device)
    precision_sum = (relevant.cumsum(-1) / ranks * relevant).sum(-1)
    counted = _first_occurrence(labels.ids, labels.present) if labels.sparse else \
        labels.ids >= 0
    num_relevant = counted.sum(-1).clamp(max=k).to(torch.float64)
    return precision_sum / num_relevant
