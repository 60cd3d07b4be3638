"""The loss-augmented facility-location inference behind ``cluster_loss``.

TF-Slim's ``while_loop``s, run eagerly on a float32 numpy copy of the
distances (the chosen ids are discrete; TF-Slim scored them in a ``py_func``
too): each step scores every candidate medoid set at once (``[candidates,
points]`` assignments), with TF's tie rules (``argmin``/``argmax`` take the
first index; a medoid is always assigned to its own cluster).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

ScoreFn = Callable[[np.ndarray], np.ndarray]  # [M, n] assignments -> [M] float32 scores


def cluster_assignments(distances: np.ndarray, centroid_sets: np.ndarray) -> np.ndarray:
    """``[M, n]`` nearest-centroid positions for ``[M, K]`` centroid id sets
    (TF's ``get_cluster_assignment``, batched)."""
    rows, k = centroid_sets.shape
    assignments = distances[centroid_sets].argmin(1)  # [M, K, n] -> [M, n]
    # A centroid belongs to its own cluster even when rounding says otherwise.
    assignments[np.arange(rows)[:, None], centroid_sets] = np.arange(k)
    return assignments


def greedy_facility_locations(distances: np.ndarray, num_clusters: int,
                              margin_multiplier: float, score_fn: ScoreFn) -> np.ndarray:
    """Adds, ``num_clusters`` times, the medoid that maximizes facility energy
    plus ``margin_multiplier · (1 − score)`` (``compute_augmented_facility_locations``)."""
    n = len(distances)
    chosen = np.zeros(0, dtype=np.int64)
    # Nearest chosen medoid of each point (distance, position): argmin over the
    # chosen rows, kept up to date; a later medoid wins only if strictly closer.
    nearest = np.full(n, np.inf, dtype=distances.dtype)
    nearest_position = np.zeros(n, dtype=np.int64)
    for step in range(num_clusters):
        candidates = np.setdiff1d(np.arange(n), chosen)
        rows = distances[candidates]  # [C, n]
        energy = -np.minimum(nearest, rows).sum(1)
        assignments = np.where(rows < nearest, step, nearest_position)
        assignments[:, chosen] = np.arange(step)
        assignments[np.arange(len(candidates)), candidates] = step
        margin = np.float32(1.0) - score_fn(assignments)
        best = candidates[np.argmax(energy + np.float32(margin_multiplier) * margin)]
        closer = distances[best] < nearest
        nearest_position = np.where(closer, step, nearest_position)
        nearest = np.minimum(nearest, distances[best])
        chosen = np.append(chosen, best)
    return chosen


def _swap_assignments(distances: np.ndarray, chosen: np.ndarray, cluster: int,
                      members: np.ndarray) -> np.ndarray:
    """``[len(members), n]`` assignments with ``chosen[cluster]`` replaced by
    each member in turn, from the nearest medoid before and after ``cluster``."""
    rows = distances[chosen]
    n, inf = len(distances), np.inf

    def nearest(block, offset):
        if len(block) == 0:
            return np.full(n, inf, dtype=distances.dtype), np.zeros(n, dtype=np.int64)
        return block.min(0), block.argmin(0) + offset

    low, low_at = nearest(rows[:cluster], 0)
    high, high_at = nearest(rows[cluster + 1:], cluster + 1)
    candidate = distances[members]  # [C, n]
    # argmin's first-index rule: earlier positions win ties.
    assignments = np.where(low <= np.minimum(candidate, high), low_at,
                           np.where(candidate <= high, cluster, high_at))
    others = np.delete(np.arange(len(chosen)), cluster)
    assignments[:, chosen[others]] = others
    assignments[np.arange(len(members)), members] = cluster
    return assignments


def pam_refine(distances: np.ndarray, chosen: np.ndarray, margin_multiplier: float,
               score_fn: ScoreFn, iterations: int = 5) -> np.ndarray:
    """Partitioning-around-medoids local search: per iteration, reassign, then
    move each cluster's medoid to the member with the best augmented score
    (``compute_augmented_facility_locations_pam``)."""
    chosen = chosen.copy()
    for _ in range(iterations):
        predictions = cluster_assignments(distances, chosen[None])[0]
        for cluster in range(len(chosen)):
            members = np.flatnonzero(predictions == cluster)
            energy = -distances[np.ix_(members, members)].sum(0)
            margin = np.float32(1.0) - score_fn(_swap_assignments(distances, chosen, cluster, members))
            chosen[cluster] = members[np.argmax(energy + np.float32(margin_multiplier) * margin)]
    return chosen
