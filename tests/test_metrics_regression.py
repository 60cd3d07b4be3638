"""slim.metrics: means, regression errors, correlation, concat and the top-k
family, against the hand-computed cases of the semantics notes (§7) and a
fixture recorded from real TF-Slim (scripts/make_tf_metric_fixtures_regression.py)."""

import json
import math
import os

import numpy as np
import pytest
import torch

import slimtorch as slim

M = slim.metrics
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "metrics", "regression.json")
T = torch.tensor
SCORES = [[.1, .2, .7], [.6, .2, .2], [0, .9, .1], [.2, 0, .8]]   # §7's recall@k predictions


def _batches(value, update, batches, **kwargs):
    """Runs ``update`` on each batch; returns the update results and the value."""
    results = [update(*batch, **kwargs).tolist() for batch in batches]
    return results, value().tolist()


# -- §7 acceptance cases ---------------------------------------------------------------

def test_streaming_mean_over_four_batches():
    value, update = metric = M.streaming_mean()
    results = [update(T(b)).item() for b in ([0., 1.], [-4.2, 9.1], [6.5, 0.], [-3.2, 4.])]
    assert results == pytest.approx([0.5, 1.475, 12.4 / 6, 1.65])
    assert value().item() == pytest.approx(1.65)
    assert sorted(metric.variables()) == ["mean/count", "mean/total"]


def test_streaming_mean_with_a_weight_per_batch():
    value, update = M.streaming_mean()
    for batch, weight in zip(([0., 1.], [-4.2, 9.1], [6.5, 0.], [-3.2, 4.]), (1., 0., 0., 1.)):
        update(T(batch), weights=T([weight]))
    assert value().item() == pytest.approx((0 + 1 - 3.2 + 4) / 4)


def test_count_sums_the_weights():
    value, _ = M.count(T([1, 2, 3]), weights=T([1., 0., 2.]))
    assert value().item() == 3.0


@pytest.mark.parametrize("fn, expected", [
    (M.streaming_mean_squared_error, 10.75),
    (M.streaming_root_mean_squared_error, 3.27872),
    (M.streaming_mean_absolute_error, 2.75),
])
def test_regression_errors(fn, expected):
    value, _ = fn(T([2., 4, 6, 8]), T([1., 3, 2, 3]))
    assert value().item() == pytest.approx(expected, abs=1e-5)


def test_mean_absolute_error_with_weights():
    value, _ = M.streaming_mean_absolute_error(T([2., 4, 6, 8]), T([1., 3, 2, 3]),
                                               weights=T([0., 1, 0, 1]))
    assert value().item() == 3.0


def test_mean_relative_error_and_a_zero_normalizer():
    p, l = T([2., 4, 6, 8]), T([1., 3, 2, 3])
    value, _ = M.streaming_mean_relative_error(p, l, normalizer=l)
    assert value().item() == pytest.approx(np.mean([1 / 1, 1 / 3, 4 / 2, 5 / 3]))
    value, _ = M.streaming_mean_relative_error(p, l, normalizer=torch.zeros(4))
    assert value().item() == 0.0


@pytest.mark.parametrize("threshold, plain, weighted", [(100, 1.0, 1.0), (7, 0.75, 0.5),
                                                        (1, 0.0, 0.0)])
def test_percentage_less(threshold, plain, weighted):
    values = T([2, 4, 6, 8])
    assert M.streaming_percentage_less(values, threshold).value().item() == plain
    value, _ = M.streaming_percentage_less(values, threshold, weights=T([1., 0, 0, 1]))
    assert value().item() == weighted


def test_streaming_concat_and_max_size():
    batches = ([0, 1, 2], [3, 4], [5, 6, 7, 8, 9])
    value, update = M.streaming_concat()
    assert value().numel() == 0
    for b in batches:
        update(T(b))
    assert value().tolist() == list(range(10))
    # TF-Slim's own test: range(3) three times into max_size=5.
    value, update = M.streaming_concat(max_size=5)
    assert [update(torch.arange(3)).tolist() for _ in range(3)] == \
        [[0, 1, 2], [0, 1, 2, 0, 1], [0, 1, 2, 0, 1]]
    assert value().tolist() == [0, 1, 2, 0, 1]


@pytest.mark.parametrize("k, expected", [(1, 0.25), (2, 0.5), (3, 1.0)])
def test_recall_at_k_and_its_sparse_form(k, expected):
    labels = T([0, 0, 0, 0])
    assert M.streaming_recall_at_k(T(SCORES), labels, k).value().item() == expected
    sparse = M.streaming_sparse_recall_at_k(T(SCORES), labels.view(4, 1), k)
    assert sparse.value().item() == expected
    assert sparse.value().dtype == torch.float64


def test_recall_at_k_with_weights():
    value, _ = M.streaming_recall_at_k(T(SCORES), T([0, 0, 0, 0]), 2, weights=T([0., 1, 0, 1]))
    assert value().item() == 1.0
    value, _ = M.streaming_sparse_recall_at_k(T(SCORES), T([[0], [0], [0], [0]]), 2,
                                              weights=T([0., 1, 0, 1]))
    assert value().item() == 1.0


def test_sparse_precision_and_recall_at_1():
    labels = T([[2], [0], [1], [0]])
    assert M.streaming_sparse_precision_at_k(T(SCORES), labels, 1).value().item() == 0.75
    assert M.streaming_sparse_recall_at_k(T(SCORES), labels, 1).value().item() == 0.75


def test_pearson_and_covariance():
    p, l = T([1., 2, 3, 4]), T([2., 4, 5, 9])
    assert M.streaming_pearson_correlation(p, l).value().item() == pytest.approx(0.96476,
                                                                                  abs=1e-5)
    assert M.streaming_covariance(p, l).value().item() == pytest.approx(11 / 3, abs=1e-5)


# -- TF semantics beyond the table ---------------------------------------------------------

def test_top_k_ties_go_to_the_lower_index_and_in_top_k_takes_every_tie():
    scores = T([[.5, .5, .9, .5]])
    # top-2 is {2, 0}: class 1 ties with 0 but has the higher index
    assert M.streaming_sparse_precision_at_k(scores, T([[1]]), 2).value().item() == 0.0
    assert M.streaming_sparse_precision_at_k(scores, T([[0]]), 2).value().item() == 0.5
    # in_top_k: class 3 is beaten by one class only, so it is in the top 2
    assert M.streaming_recall_at_k(scores, T([3]), 2).value().item() == 1.0


def test_in_top_k_is_false_for_non_finite_rows_and_bad_targets():
    scores = T([[float("nan"), .5, .2], [.6, float("inf"), .2], [.1, .2, .3]])
    assert M.streaming_recall_at_k(scores, T([1, 0, 7]), 3).value().item() == 0.0


def test_label_rows_are_sets_and_padding_is_a_label_as_in_tf():
    # TF reads a dense row as a set: the repeated 0 counts once, and -1 or 5
    # (past the 3 classes) is a label no prediction can match.
    labels = T([[2, -1], [0, 0], [1, 5], [0, -1]])
    assert M.streaming_sparse_recall_at_k(T(SCORES), labels, 1).value().item() == 3 / 7
    assert M.streaming_sparse_precision_at_k(T(SCORES), labels, 1).value().item() == 0.75


def test_class_id_restricts_to_one_class():
    labels = T([[2], [0], [1], [0]])
    # top-1 ids 2, 0, 1, 2: class 2 predicted twice, right once
    assert M.streaming_sparse_precision_at_k(T(SCORES), labels, 1, class_id=2) \
        .value().item() == 0.5
    recall = M.streaming_sparse_recall_at_k(T(SCORES), labels, 1, class_id=0)
    assert recall.value().item() == 0.5 and recall.name == "recall_at_1_class0"
    assert math.isnan(M.streaming_sparse_recall_at_k(k=1, class_id=9).value().item())


def test_average_precision_by_hand():
    # row 1: top-3 = 2, 1, 0; labels {0, 1}: hits at ranks 2 and 3 -> (1/2 + 2/3) / 2
    # row 2: top-3 = 0, 1, 2 (ties by index); label 5 is past the classes, so
    #        only {0} is relevant: hit at rank 1 -> 1
    scores = T([[.1, .2, .7], [.6, .2, .2]])
    labels = T([[0, 1], [0, 5]])
    value, _ = M.streaming_sparse_average_precision_at_k(scores, labels, 3)
    assert value().item() == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1) / 2)
    weighted = M.streaming_sparse_average_precision_at_k(scores, labels, 3, weights=T([0., 1]))
    assert weighted.value().item() == 1.0
    # the top-k form leaves 5 a label: row 2 has 2 relevant, one found
    value, _ = M.streaming_sparse_average_precision_at_top_k(T([[2, 1, 0], [0, 1, 2]]), labels)
    assert value().item() == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1 / 2) / 2)


def test_sparse_recall_at_top_k_keeps_tf_argument_order():
    labels, top_k = T([[1], [2]]), T([[1, 1], [0, 2]])
    value, update = M.sparse_recall_at_top_k(labels, top_k)
    assert value().item() == 1.0 and value.__self__.name == "recall_at_k"
    precision = M.streaming_sparse_precision_at_top_k(top_k, labels)
    assert precision.value().item() == pytest.approx(2 / 3)   # {1} and {0, 2}: sets


def test_mean_tensor_is_element_wise():
    value, update = M.streaming_mean_tensor()
    update(T([[1., 2.], [3., 4.]]), weights=T([[1.], [0.]]))
    assert value().tolist() == [[1., 2.], [0., 0.]]
    update(T([[3., 0.], [5., 6.]]))
    assert value().tolist() == [[2., 1.], [5., 6.]]
    assert sorted(value.__self__.variables()) == ["mean/count_tensor", "mean/total_tensor"]


def test_cosine_distance_weights_per_row():
    p = T([[1., 0.], [0., 1.]])
    l = T([[1., 0.], [1., 0.]])
    value, _ = M.streaming_mean_cosine_distance(p, l, dim=1, weights=T([[1.], [2.]]))
    assert value().item() == pytest.approx(1 - 1 / 3)


def test_covariance_stays_accurate_far_from_zero():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3000, generator=g, dtype=torch.float64)
    y = x + torch.randn(3000, generator=g, dtype=torch.float64)
    metric = M.streaming_covariance()
    for chunk in range(0, 3000, 500):
        metric.update(x[chunk:chunk + 500] + 1e6, y[chunk:chunk + 500] - 1e6)
    assert metric.value().item() == pytest.approx(np.cov(x.numpy(), y.numpy())[0, 1], rel=1e-5)
    assert sorted(metric.variables()) == ["covariance/comoment", "covariance/count",
                                          "covariance/mean_label", "covariance/mean_prediction"]


def test_covariance_is_nan_until_two_values():
    metric = M.streaming_covariance()
    assert math.isnan(metric.value().item())
    assert math.isnan(metric.update(T([1.]), T([2.])).item())
    assert metric.update(T([3.]), T([6.])).item() == 4.0
    # a batch of zero weights adds nothing (TF's update would turn NaN here)
    fresh = M.streaming_covariance(T([1., 2.]), T([3., 5.]), weights=T([0., 0.]))
    fresh.update(T([1., 2., 3.]), T([2., 4., 6.]))
    assert fresh.value().item() == 2.0


def test_reset_and_unique_names():
    first = M.streaming_recall_at_k(T(SCORES), T([0, 0, 0, 0]), 1)
    second = M.streaming_recall_at_k(k=1)
    assert (first.name, second.name) == ("recall_at_1", "recall_at_1_1")
    first.reset()
    assert first.value().item() == 0.0 and first.update_count == 0
    concat = M.streaming_concat(T([1, 2]), max_size=3)
    concat.reset()
    concat.update(T([4, 5, 6, 7]))
    assert concat.value().tolist() == [4, 5, 6]


def test_concat_grows_a_buffer_without_changing_earlier_results():
    metric = M.streaming_concat()
    first = metric.update(torch.arange(3))
    for start in range(3, 300, 7):
        metric.update(torch.arange(start, start + 7))
    assert first.tolist() == [0, 1, 2]
    assert metric.value().tolist() == list(range(304))
    state = metric.variables()
    assert state["streaming_concat/size"].item() == 304
    assert state["streaming_concat/array"].tolist() == list(range(304))


def test_concat_along_axis_one_keeps_dtype():
    value, update = M.streaming_concat(axis=-1)
    update(T([[1, 2], [3, 4]], dtype=torch.int32))
    update(T([[5], [6]], dtype=torch.int32))
    assert value().tolist() == [[1, 2, 5], [3, 4, 6]] and value().dtype == torch.int32


def test_collections_receive_value_and_update():
    metric = M.streaming_mean_squared_error(metrics_collections=["v"], updates_collections=["u"])
    graph = slim.get_default_graph()
    assert graph.get_collection_ref("v") == [metric.value]
    assert graph.get_collection_ref("u") == [metric.update]


# -- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("make, call, match", [
    (M.streaming_mean_absolute_error, lambda u: u(torch.zeros(3), torch.zeros(4)),
     "streaming_mean_absolute_error 'mean_absolute_error': predictions of shape"),
    (M.streaming_mean_squared_error, lambda u: u(torch.zeros(2, 3), torch.zeros(2, 3),
                                                   weights=torch.ones(3, 2)),
     "streaming_mean_squared_error 'mean_squared_error': weights of shape"),
    (M.streaming_covariance, lambda u: u(torch.zeros(3), torch.zeros(2)),
     "streaming_covariance 'covariance': predictions of shape"),
    (lambda: M.streaming_recall_at_k(k=4), lambda u: u(T(SCORES), T([0, 0, 0, 0])),
     "streaming_recall_at_k 'recall_at_4': k=4 is larger than the number of classes"),
    (lambda: M.streaming_sparse_precision_at_k(k=5),
     lambda u: u(T(SCORES), T([0, 0, 0, 0])), "k=5 is larger than the number of classes"),
    (lambda: M.streaming_sparse_recall_at_k(k=1), lambda u: u(T(SCORES), T([0, 0, 0])),
     "streaming_sparse_recall_at_k 'recall_at_1': labels of shape"),
    (lambda: M.streaming_sparse_recall_at_k(k=1), lambda u: u(T(SCORES), T([0., 0, 0, 0])),
     "labels must be integer class ids"),
    (lambda: M.streaming_sparse_average_precision_at_k(k=1),
     lambda u: u(T(SCORES), T([0, 0, 0, 0]), weights=T([1., 1.])), "weights of shape"),
    (M.streaming_concat, lambda u: [u(torch.zeros(2, 3)), u(torch.zeros(2, 4))],
     "streaming_concat 'streaming_concat': values of shape \\[2, 4\\] do not fit"),
    (lambda: M.streaming_concat(axis=2), lambda u: u(torch.zeros(2, 3)), "axis = 2 not in"),
    (M.streaming_mean_tensor, lambda u: [u(torch.zeros(2)), u(torch.zeros(3))],
     "streaming_mean_tensor 'mean': values of shape \\[3\\] differ"),
])
def test_bad_input_names_the_metric(make, call, match):
    _, update = make()
    with pytest.raises(ValueError, match=match):
        call(update)


@pytest.mark.parametrize("make", [
    lambda: M.streaming_recall_at_k(k=0),
    lambda: M.streaming_sparse_recall_at_k(k=-1),
    lambda: M.streaming_sparse_precision_at_k(k=0),
    lambda: M.streaming_sparse_average_precision_at_k(k=0),
])
def test_k_below_one_is_refused(make):
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: M.streaming_recall_at_k(), "streaming_recall_at_k: k is required"),
    (lambda: M.streaming_mean_cosine_distance(), "dim is required"),
    (lambda: M.streaming_percentage_less(), "threshold is required"),
    (lambda: M.streaming_concat(max_size=-1), "max_size must be None or an integer >= 0"),
])
def test_missing_or_bad_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# -- replay of the TF-Slim fixture -------------------------------------------------------

with open(GOLDEN) as _f:
    _FIXTURE = json.load(_f)


def _tensor(entry):
    return torch.tensor(entry["data"], dtype=getattr(torch, entry["dtype"]))


@pytest.mark.parametrize("case", _FIXTURE["cases"], ids=[c["name"] for c in _FIXTURE["cases"]])
def test_matches_tf_slim(case):
    metric = getattr(M, case["metric"])(**case["config"])
    for batch, expected in zip(case["batches"], case["updates"]):
        args = [_tensor(batch[name]) for name in case["args"]]
        kwargs = {"weights": _tensor(batch["weights"])} if "weights" in batch else {}
        result = metric.update(*args, **kwargs)
        if case["metric"] == "streaming_concat":   # TF's update returns the size
            assert result.shape[case["config"].get("axis", 0)] == expected
        else:
            np.testing.assert_allclose(result.numpy(), expected, rtol=1e-5, atol=1e-6,
                                       equal_nan=True)
    value = metric.value()
    np.testing.assert_allclose(value.numpy(), case["value"], rtol=1e-5, atol=1e-6,
                               equal_nan=True)
    if case["metric"] == "streaming_concat":
        assert str(value.dtype) == "torch." + case["batches"][0]["values"]["dtype"]
