"""Regenerates tests/golden/metrics/regression.json from real TF-Slim (run
once; the output is committed and the tests need no TensorFlow).

Seeded random batches go through tf_slim's regression, correlation, concat
and top-k metrics in a ``tf.compat.v1`` session (local variables
initialized, the update op run once per batch); the file keeps each case's
batches, every update's result and the final value.

    /work/tfenv/bin/python scripts/make_tf_metric_fixtures_regression.py
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "tests", "golden", "metrics", "regression.json")
SIZES = (8, 13, 5)   # rows per batch: unequal on purpose
CLASSES = 5


def tf_slim():
    """tf (compat.v1, graph mode) and tf_slim; tf_slim 1.1's streaming_concat
    calls two helpers newer TF moved (``control_flow_ops.cond``,
    ``array_ops.stack``), so they are pointed back at the public ones."""
    sys.path.insert(0, "/work")
    from tensorflow.python.ops import array_ops, control_flow_ops
    from tfslim_import import slim, tf  # noqa: E402 (the shim in the TF venv)
    control_flow_ops.cond = getattr(control_flow_ops, "cond", tf.cond)
    array_ops.stack = getattr(array_ops, "stack", tf.stack)
    tf.get_logger().setLevel("ERROR")
    return tf, slim


def batches(rng, make):
    """One dict of named arrays per batch size."""
    return [make(rng, n) for n in SIZES]


def floats(rng, *shape, scale=1.0, offset=0.0):
    """Normal floats with 3 decimals (short in JSON, exact after float32)."""
    return np.round(rng.standard_normal(shape) * scale + offset, 3).astype(np.float32)


def row_weights(rng, n, *trailing):
    return rng.choice(np.array([0.0, 0.5, 1.0, 2.0], np.float32), size=(n, *trailing))


def scores(rng, n):
    """Class scores rounded to one decimal, so rows hold ties."""
    return np.round(rng.uniform(size=(n, CLASSES)), 1).astype(np.float32)


def sparse_labels(rng, n):
    """Two labels a row, including -1 padding and an id past the classes;
    every row keeps at least one real class (a row without one is NaN in
    average precision)."""
    labels = rng.integers(0, CLASSES, size=(n, 2))
    extra = rng.choice(np.array([-1, CLASSES, 1, 3]), size=n)
    labels[:, 1] = extra
    return labels.astype(np.int64)


def regression_pair(rng, n, weights=None):
    out = {"predictions": floats(rng, n, 3), "labels": floats(rng, n, 3)}
    if weights == "row":
        out["weights"] = row_weights(rng, n, 1)
    elif weights == "element":
        out["weights"] = row_weights(rng, n, 3)
    return out


def cases():
    """(case name, tf_slim function, config, tensor argument order, batch maker,
    axis that varies between batches)."""
    def unit(rng, n):
        p, l = floats(rng, n, 4), floats(rng, n, 4)
        return {"predictions": np.round(p / np.linalg.norm(p, axis=1, keepdims=True), 4),
                "labels": np.round(l / np.linalg.norm(l, axis=1, keepdims=True), 4),
                "weights": row_weights(rng, n, 1)}

    def relative(rng, n):
        labels = np.round(floats(rng, n), 1)
        labels[::3] = 0.0   # a zero normalizer counts as a relative error of 0
        return {"predictions": floats(rng, n), "labels": labels, "normalizer": labels,
                "weights": row_weights(rng, n)}

    def correlated(rng, n, weighted):
        p = floats(rng, n, scale=2.0, offset=10.0)
        out = {"predictions": p, "labels": np.round(0.7 * p + floats(rng, n), 3).astype(np.float32)}
        if weighted:
            out["weights"] = row_weights(rng, n)
        return out

    pl = ("predictions", "labels")
    yield "mean", "streaming_mean", {}, ("values",), lambda r, n: {"values": floats(r, n)}, 0
    yield "mean_weighted", "streaming_mean", {}, ("values",), \
        lambda r, n: {"values": floats(r, n), "weights": row_weights(r, n)}, 0
    yield "mean_tensor", "streaming_mean_tensor", {}, ("values",), \
        lambda r, n: {"values": floats(r, 4, 3)}, None
    yield "mean_tensor_weighted", "streaming_mean_tensor", {}, ("values",), \
        lambda r, n: {"values": floats(r, 4, 3), "weights": row_weights(r, 4, 1)}, None
    for metric, weights in (("absolute", None), ("absolute", "element"), ("squared", "row"),
                            ("root_squared", None), ("root_squared", "element")):
        fn = "streaming_root_mean_squared_error" if metric == "root_squared" else \
            f"streaming_mean_{metric}_error"
        yield f"{metric}_error_{weights or 'unweighted'}", fn, {}, pl, \
            (lambda w: lambda r, n: regression_pair(r, n, w))(weights), 0
    yield "relative_error", "streaming_mean_relative_error", {}, pl + ("normalizer",), relative, 0
    yield "cosine_distance", "streaming_mean_cosine_distance", {"dim": 1}, pl, unit, 0
    yield "percentage_less", "streaming_percentage_less", {"threshold": 0.3}, ("values",), \
        lambda r, n: {"values": floats(r, n), "weights": row_weights(r, n)}, 0
    for weighted in (False, True):
        suffix = "_weighted" if weighted else ""
        make = (lambda w: lambda r, n: correlated(r, n, w))(weighted)
        yield f"covariance{suffix}", "streaming_covariance", {}, pl, make, 0
        yield f"pearson{suffix}", "streaming_pearson_correlation", {}, pl, make, 0
    yield "concat_axis0", "streaming_concat", {}, ("values",), \
        lambda r, n: {"values": floats(r, n, 3)}, 0
    yield "concat_axis1_int", "streaming_concat", {"axis": 1}, ("values",), \
        lambda r, n: {"values": r.integers(-9, 9, size=(2, n)).astype(np.int32)}, 1
    yield "concat_max_size", "streaming_concat", {"max_size": 17}, ("values",), \
        lambda r, n: {"values": floats(r, n)}, 0
    for k in (1, 2):
        yield f"recall_at_{k}", "streaming_recall_at_k", {"k": k}, pl, \
            lambda r, n: {"predictions": scores(r, n),
                          "labels": r.integers(0, CLASSES, size=n).astype(np.int64),
                          "weights": row_weights(r, n)}, 0
    for kind in ("recall", "precision"):
        fn = f"streaming_sparse_{kind}_at_k"
        yield f"sparse_{kind}_at_2", fn, {"k": 2}, pl, \
            lambda r, n: {"predictions": scores(r, n), "labels": sparse_labels(r, n)}, 0
        yield f"sparse_{kind}_at_3_one_label_weighted", fn, {"k": 3}, pl, \
            lambda r, n: {"predictions": scores(r, n),
                          "labels": r.integers(0, CLASSES, size=n).astype(np.int64),
                          "weights": row_weights(r, n)}, 0
        yield f"sparse_{kind}_at_2_class1", fn, {"k": 2, "class_id": 1}, pl, \
            lambda r, n: {"predictions": scores(r, n), "labels": sparse_labels(r, n),
                          "weights": row_weights(r, n)}, 0

    def top_k_ids(r, n):
        return {"top_k_predictions": r.integers(0, CLASSES, size=(n, 3)).astype(np.int64),
                "labels": sparse_labels(r, n), "weights": row_weights(r, n)}

    yield "sparse_precision_at_top_k", "streaming_sparse_precision_at_top_k", {}, \
        ("top_k_predictions", "labels"), top_k_ids, 0
    yield "sparse_recall_at_top_k_class2", "sparse_recall_at_top_k", {"class_id": 2}, \
        ("labels", "top_k_predictions"), top_k_ids, 0
    yield "sparse_recall_at_top_k", "sparse_recall_at_top_k", {}, \
        ("labels", "top_k_predictions"), top_k_ids, 0
    yield "average_precision_at_3", "streaming_sparse_average_precision_at_k", {"k": 3}, pl, \
        lambda r, n: {"predictions": scores(r, n), "labels": sparse_labels(r, n)}, 0
    yield "average_precision_at_2_weighted", "streaming_sparse_average_precision_at_k", \
        {"k": 2}, pl, lambda r, n: {"predictions": scores(r, n), "labels": sparse_labels(r, n),
                                    "weights": row_weights(r, n)}, 0
    yield "average_precision_at_top_k", "streaming_sparse_average_precision_at_top_k", {}, \
        ("top_k_predictions", "labels"), top_k_ids, 0


def run_case(tf, slim, fn, config, data, varying):
    """Feeds the batches through ``slim.metrics.<fn>``; returns the update
    results and the final value."""
    graph = tf.Graph()
    with graph.as_default():
        first = data[0]
        holders = {}   # one placeholder per named array
        for key, array in first.items():
            shape = list(array.shape)
            if varying is not None and len(shape) > varying:
                shape[varying] = None   # batches differ in size along this axis
            holders[key] = tf.placeholder(tf.as_dtype(array.dtype), shape, name=key)
        kwargs = dict(config)
        kwargs.update({key: holders[key] for key in first})
        value, update = getattr(slim.metrics, fn)(**kwargs)
        with tf.Session(graph=graph) as sess:
            sess.run(tf.local_variables_initializer())
            updates = [sess.run(update, {holders[k]: b[k] for k in b}) for b in data]
            final = sess.run(value)
    return [compact(u) for u in updates], compact(final)


def compact(array):
    """A nested list; float32 numbers in their shortest exact form (the
    inputs' few decimals stay as written), float64 ones to 10 digits."""
    array = np.asarray(array)
    if array.dtype == np.float32:
        short = np.vectorize(
            lambda x: float(np.format_float_positional(np.float32(x), unique=True)),
            otypes=[object])
    elif array.dtype.kind == "f":
        short = np.vectorize(lambda x: float(f"{x:.10g}"), otypes=[object])
    else:
        return array.tolist()
    return short(array).tolist() if array.ndim else short(array).item()


def main():
    tf, slim = tf_slim()
    rng = np.random.default_rng(20240531)
    out = []
    for name, fn, config, order, make, varying in cases():
        data = batches(rng, make)
        updates, final = run_case(tf, slim, fn, config, data, varying)
        out.append({"name": name, "metric": fn, "config": config, "args": list(order),
                    "batches": [{k: {"dtype": str(v.dtype), "data": compact(v)}
                                 for k, v in b.items()} for b in data],
                    "updates": updates, "value": final})
        print(f"{name:40s} {fn:45s} value={final if np.size(final) < 4 else '...'}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"source": f"tf_slim {version('tf_slim')} on TensorFlow {tf.__version__}, "
                             f"by scripts/make_tf_metric_fixtures_regression.py",
                   "cases": out}, f)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
