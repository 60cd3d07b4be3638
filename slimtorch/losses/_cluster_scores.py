"""Clustering agreement scores for ``cluster_loss``'s structured margin.

TF-Slim computed them with ``sklearn.metrics`` inside a ``py_func``; these are
the same formulas (scikit-learn's current definitions: arithmetic averaging
for NMI and AMI, the pair-confusion form of ARI), in float64 numpy for a whole
batch of predicted assignments at once, with no scikit-learn needed. NumPy,
not torch: the search calls them hundreds of times on small arrays, where
torch's intra-op thread pool costs more than the arithmetic (seconds on a
busy CPU).

Every function takes ``labels``, ``[n]`` ids in ``[0, L)`` with every id
present, and ``predictions``, ``[M, n]`` ids in ``[0, K)``, and returns one
float64 score per row of ``predictions``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_EPS = np.finfo(np.float64).eps


class _Table(NamedTuple):
    """The non-zero cells of the ``[M, L, K]`` contingency tables and their
    marginals; only the non-zero cells (at most ``M·n``) are ever built."""
    rows: np.ndarray       # [cells] which assignment
    label_ids: np.ndarray  # [cells]
    pred_ids: np.ndarray   # [cells]
    counts: np.ndarray     # [cells] float64
    a: np.ndarray          # [L] label sizes (the same for every row)
    b: np.ndarray          # [M, K] cluster sizes
    n: int


def _table(labels: np.ndarray, predictions: np.ndarray) -> _Table:
    rows, n = predictions.shape
    num_labels, num_preds = int(labels.max()) + 1, int(predictions.max()) + 1
    row_ids = np.arange(rows)[:, None]
    cells, counts = np.unique((row_ids * num_labels + labels) * num_preds + predictions,
                              return_counts=True)
    b = np.bincount((row_ids * num_preds + predictions).ravel(), minlength=rows * num_preds)
    return _Table(cells // (num_labels * num_preds), (cells // num_preds) % num_labels,
                  cells % num_preds, counts.astype(np.float64),
                  np.bincount(labels, minlength=num_labels).astype(np.float64),
                  b.reshape(rows, num_preds).astype(np.float64), n)


def _entropy(sizes: np.ndarray, n: int) -> np.ndarray:
    p = sizes / n
    return -np.where(sizes > 0, p * np.log(np.where(sizes > 0, p, 1.0)), 0.0).sum(-1)


def _single(table: _Table) -> tuple:
    """(either labelling has one cluster, both have) per row."""
    true_single = np.count_nonzero(table.a) == 1
    pred_single = np.count_nonzero(table.b, axis=1) == 1
    return pred_single | true_single, pred_single & true_single


def _mutual_information(table: _Table) -> np.ndarray:
    """sklearn's ``mutual_info_score`` from the contingency table."""
    c, n = table.counts, table.n
    terms = (c / n) * (np.log(c) + np.log(n) - np.log(table.a[table.label_ids])
                       - np.log(table.b[table.rows, table.pred_ids]))
    terms = np.where(np.abs(terms) < _EPS, 0.0, terms)
    mi = np.bincount(table.rows, weights=terms, minlength=len(table.b)).clip(0.0, None)
    return np.where(_single(table)[0], 0.0, mi)


def normalized_mutual_info(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """``sklearn.metrics.normalized_mutual_info_score`` (arithmetic mean)."""
    table = _table(labels, predictions)
    mi = _mutual_information(table)
    normalizer = (_entropy(table.a, table.n) + _entropy(table.b, table.n)) / 2
    nmi = np.where(np.abs(mi) < _EPS, 0.0, mi / np.where(normalizer > 0, normalizer, 1.0))
    return np.where(_single(table)[1], 1.0, nmi)


def v_measure(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """``sklearn.metrics.v_measure_score`` (beta = 1)."""
    table = _table(labels, predictions)
    mi = _mutual_information(table)
    h_true, h_pred = _entropy(table.a, table.n), _entropy(table.b, table.n)
    homogeneity = mi / h_true if h_true > 0 else np.ones_like(mi)
    completeness = np.where(h_pred > 0, mi / np.where(h_pred > 0, h_pred, 1.0), 1.0)
    total = homogeneity + completeness
    return np.where(total == 0, 0.0, 2 * homogeneity * completeness / np.where(total == 0, 1.0, total))


def adjusted_rand(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """``sklearn.metrics.adjusted_rand_score`` (from the pair confusion matrix)."""
    table = _table(labels, predictions)
    n = table.n
    sum_squares = np.bincount(table.rows, weights=table.counts ** 2, minlength=len(table.b))
    tp = sum_squares - n
    fp = (table.b ** 2).sum(1) - sum_squares
    fn = (table.a ** 2).sum() - sum_squares
    tn = n * n - fp - fn - sum_squares
    denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    agree = (fn == 0) & (fp == 0)
    return np.where(agree, 1.0, 2.0 * (tp * tn - fn * fp) / np.where(agree, 1.0, denominator))


def _expected_mutual_information(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """The expected MI of two random labellings with sizes ``a`` (``[L]``) and
    each row of ``b`` (``[M, K]``) (Vinh et al. 2010; sklearn's
    ``expected_mutual_information``), its factorials from a log table."""
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    ai = a.astype(np.int64)[None, :, None, None]  # [1, L, 1, 1]
    bj = b.astype(np.int64)[:, None, :, None]     # [M, 1, K, 1]
    nij = np.arange(1, int(max(a.max(), b.max())) + 1)  # [T]
    valid = (nij >= np.maximum(ai + bj - n, 1)) & (nij <= np.minimum(ai, bj))

    def lf(k):
        return log_factorial[np.clip(k, 0, n)]

    log_term3 = (lf(ai) + lf(bj) + lf(n - ai) + lf(n - bj) - lf(nij) - lf(n)
                 - lf(ai - nij) - lf(bj - nij) - lf(n - ai - bj + nij))
    term2 = np.log(n) + np.log(nij) - np.log(np.maximum(ai, 1)) - np.log(np.maximum(bj, 1))
    terms = (nij / n) * term2 * np.exp(np.where(valid, log_term3, -np.inf))
    return np.where(valid, terms, 0.0).sum((1, 2, 3))


def adjusted_mutual_info(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """``sklearn.metrics.adjusted_mutual_info_score`` (arithmetic mean)."""
    table = _table(labels, predictions)
    a, b, n = table.a, table.b, table.n
    mi = _mutual_information(table)
    # [M, L, K, T] terms: bound the memory by scoring a chunk of rows at a time.
    per_row = len(a) * b.shape[1] * int(max(a.max(), b.max(), 1))
    step = max(1, (1 << 22) // per_row)
    emi = np.concatenate([_expected_mutual_information(a, b[i:i + step], n)
                          for i in range(0, len(b), step)])
    # Any labelling with a single cluster has zero entropy, hence EMI = 0.
    either_single, both_single = _single(table)
    emi = np.where(either_single, 0.0, emi)
    normalizer = (_entropy(a, n) + _entropy(b, n)) / 2
    denominator = normalizer - emi
    denominator = np.where(denominator < 0, np.minimum(denominator, -_EPS),
                           np.maximum(denominator, _EPS))
    return np.where(both_single, 1.0, (mi - emi) / denominator)
