"""Regenerates tests/golden/metrics/classification.json from real TF-Slim (run
once; the output is committed and TF is not needed by the tests).

Three seeded batches go through each classification metric of
``tf_slim.metrics`` (with and without weights) in a ``tf.compat.v1``
session: ``local_variables_initializer``, then per batch the update op
(what it returns is recorded where it returns a tensor) and the value
tensor. The batches are stored in the JSON too, so the test replays exactly
the same numbers through slimtorch.

    /work/tfenv/bin/python scripts/make_tf_metric_fixtures_classification.py
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, "/work")
from tensorflow.python.ops import array_ops, control_flow_ops  # noqa: E402
from tfslim_import import slim, tf  # noqa: E402

# tf_slim 1.1 still calls array_ops.stack (in its own confusion counting at
# thresholds) and control_flow_ops.cond (in streaming_concat, behind
# streaming_dynamic_auc), which TF 2.21 moved; give them back their old names.
for module, name, function in ((array_ops, "stack", tf.stack),
                               (control_flow_ops, "cond", tf.cond)):
    if not hasattr(module, name):
        setattr(module, name, function)

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                   "golden", "metrics", "classification.json")
NUM_BATCHES = 3
SHAPE = (4, 3)          # binary and score inputs
NUM_CLASSES = 4
CLASS_BATCH = 12        # class-id inputs (1-D, as cohen_kappa wants)
THRESHOLDS = [0.25, 0.5, 0.75]


def make_batches(seed: int = 0):
    """Named arrays per batch. Scores hit 0, 0.25, 0.5 and 1 exactly, to pin
    down TF's strict ``score > threshold`` and its epsilon end thresholds."""
    rng = np.random.RandomState(seed)
    batches = []
    for b in range(NUM_BATCHES):
        scores = rng.uniform(size=SHAPE).astype(np.float32)
        scores.flat[b] = 0.5
        scores.flat[b + 3] = [0.0, 1.0, 0.25][b]
        labels = (rng.uniform(size=SHAPE) < 0.5).astype(np.int32)
        labels.flat[0], labels.flat[1] = 1, 0      # both classes in every batch
        weights = rng.uniform(0, 2, size=SHAPE).astype(np.float32)
        weights.flat[5] = 0.0
        batches.append({
            "scores": scores,
            "tied_scores": np.round(scores, 1).astype(np.float32),
            "labels": labels,
            "bool_labels": labels.astype(bool),
            "binary": (rng.uniform(size=SHAPE) < 0.5).astype(np.int32),
            "weights": weights,
            "row_weights": rng.uniform(0, 2, size=(SHAPE[0], 1)).astype(np.float32),
            "class_preds": rng.randint(0, NUM_CLASSES, size=CLASS_BATCH).astype(np.int64),
            "class_labels": rng.randint(0, NUM_CLASSES, size=CLASS_BATCH).astype(np.int64),
            "class_weights": rng.uniform(0, 2, size=CLASS_BATCH).astype(np.float32),
        })
    return batches


BINARY = ["binary", "labels"]
SCORES = ["scores", "labels"]
CLASSES = ["class_preds", "class_labels"]

# (function, positional inputs in TF-Slim's order, kwargs, weights to try)
CASES = [
    ("streaming_true_positives", BINARY, {}, ["row_weights"]),
    ("streaming_false_negatives", BINARY, {}, ["row_weights"]),
    ("streaming_true_negatives", BINARY, {}, ["weights"]),
    ("streaming_false_positives", BINARY, {}, ["weights"]),
    ("streaming_accuracy", CLASSES, {}, ["class_weights"]),
    ("accuracy", CLASSES, {}, ["class_weights"]),
    ("streaming_precision", BINARY, {}, ["weights"]),
    ("streaming_recall", BINARY, {}, ["row_weights"]),
    ("streaming_false_positive_rate", BINARY, {}, ["weights"]),
    ("streaming_false_negative_rate", BINARY, {}, ["weights"]),
    ("streaming_true_positives_at_thresholds", SCORES, {"thresholds": THRESHOLDS}, ["weights"]),
    ("streaming_false_negatives_at_thresholds", SCORES, {"thresholds": THRESHOLDS},
     ["row_weights"]),
    ("streaming_true_negatives_at_thresholds", SCORES, {"thresholds": THRESHOLDS}, ["weights"]),
    ("streaming_false_positives_at_thresholds", SCORES, {"thresholds": THRESHOLDS}, ["weights"]),
    ("streaming_precision_at_thresholds", SCORES, {"thresholds": THRESHOLDS}, ["weights"]),
    ("streaming_recall_at_thresholds", SCORES, {"thresholds": THRESHOLDS}, ["row_weights"]),
    ("streaming_false_positive_rate_at_thresholds", SCORES, {"thresholds": THRESHOLDS},
     ["weights"]),
    ("streaming_false_negative_rate_at_thresholds", SCORES, {"thresholds": THRESHOLDS},
     ["weights"]),
    ("streaming_auc", SCORES, {}, ["weights"]),
    ("streaming_auc", SCORES, {"curve": "PR"}, ["weights"]),
    ("streaming_auc", SCORES, {"num_thresholds": 5}, []),
    ("streaming_curve_points", ["labels", "scores"], {"num_thresholds": 9}, ["weights"]),
    ("streaming_curve_points", ["labels", "scores"], {"num_thresholds": 9, "curve": "PR"}, []),
    ("streaming_dynamic_auc", ["labels", "tied_scores"], {}, ["weights"]),
    ("streaming_dynamic_auc", ["labels", "tied_scores"], {"curve": "PR"}, ["weights"]),
    ("streaming_specificity_at_sensitivity", SCORES, {"sensitivity": 0.7}, ["weights"]),
    ("streaming_specificity_at_sensitivity", SCORES, {"sensitivity": 0.4, "num_thresholds": 11},
     []),
    ("streaming_sensitivity_at_specificity", SCORES, {"specificity": 0.6}, ["weights"]),
    ("streaming_sensitivity_at_specificity", SCORES, {"specificity": 0.3, "num_thresholds": 11},
     []),
    ("f1_score", ["labels", "scores"], {}, ["weights"]),
    ("f1_score", ["labels", "scores"], {"num_thresholds": 7}, []),
    ("precision_recall_at_equal_thresholds", ["bool_labels", "scores"], {"num_thresholds": 11},
     ["weights"]),
    ("streaming_mean_iou", CLASSES, {"num_classes": NUM_CLASSES}, ["class_weights"]),
    ("cohen_kappa", ["class_labels", "class_preds"], {"num_classes": NUM_CLASSES},
     ["class_weights"]),
]


def _plain(value):
    """Session output as JSON: arrays to lists, namedtuples to dicts."""
    if value is None:
        return None
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    return _as_list(np.asarray(value))


def _as_list(array):
    """Float32 as its shortest round-trip decimals (read back as float32,
    they give the same bits), which keeps the JSON small."""
    if array.dtype == np.float32:
        shortest = [float(str(v)) for v in array.reshape(-1)]   # str of an np.float32
        return np.array(shortest, dtype=np.float64).reshape(array.shape).tolist()
    return array.tolist()


def run_case(fn_name, inputs, kwargs, weights_name, batches):
    with tf.Graph().as_default():
        first = batches[0]
        feeds = {name: tf.placeholder(tf.as_dtype(first[name].dtype), first[name].shape, name)
                 for name in inputs + ([weights_name] if weights_name else [])}
        args = [feeds[name] for name in inputs]
        extra = dict(kwargs)
        if weights_name:
            extra["weights"] = feeds[weights_name]
        result = getattr(slim.metrics, fn_name)(*args, **extra)
        with tf.Session() as sess:
            if fn_name == "accuracy":   # not streaming: one tensor per batch
                return {"values": [_plain(sess.run(result, {feeds[n]: b[n] for n in feeds}))
                                   for b in batches]}
            value, update = result
            sess.run(tf.local_variables_initializer())
            updates, values = [], []
            for batch in batches:
                feed = {feeds[n]: batch[n] for n in feeds}
                updates.append(_plain(sess.run(update, feed)))
                values.append(_plain(sess.run(value, feed)))
    record = {"values": values}
    if any(u is not None for u in updates):   # group ops return nothing
        record["updates"] = updates
    return record


def main():
    batches = make_batches()
    cases = []
    for fn_name, inputs, kwargs, weight_options in CASES:
        for weights_name in [None] + weight_options:
            record = {"function": fn_name, "inputs": inputs, "kwargs": kwargs,
                      "weights": weights_name}
            record.update(run_case(fn_name, inputs, kwargs, weights_name, batches))
            cases.append(record)
    stored = [{name: {"dtype": str(array.dtype), "shape": list(array.shape),
                      "data": _as_list(array.reshape(-1))}
               for name, array in batch.items()} for batch in batches]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generated_by": "scripts/make_tf_metric_fixtures_classification.py",
                   "tensorflow": tf.__version__, "batches": stored, "cases": cases}, f,
                  separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
