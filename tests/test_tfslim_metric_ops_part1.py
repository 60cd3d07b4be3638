"""Translation of tf_slim/metrics/metric_ops_test.py, part 1: the classes from
StreamingAccuracyTest to StreamingFNRThresholdsTest (part 2 is
tests/test_tfslim_metric_ops_part2.py).

Graph scaffolding is gone: a metric is made empty and its ``update`` is called
once per TF ``sess.run`` of the update op, with the batch TF's queue or
placeholder would have fed; a metric made *with* tensors has folded them in
once already (TF's ``update_op.eval()`` then ``value.eval()``, so the
translation reads ``value()`` after that one update). ``testVars`` checks
``local_variables()`` against TF's local-variable names, in TF's creation
order (TF's test compares sets). ``testMetricsCollection`` /
``testUpdatesCollection`` check that the value / update callables land in
the named graph collections.

| tf_slim test class | translated | passing | documented difference | untranslatable |
|---|---|---|---|---|
| StreamingAccuracyTest | 11 | 11 | 0 | 0 |
| StreamingTruePositivesTest | 3 | 3 | 0 | 0 |
| StreamingFalseNegativesTest | 3 | 3 | 0 | 0 |
| StreamingFalsePositivesTest | 3 | 3 | 0 | 0 |
| StreamingTrueNegativesTest | 3 | 3 | 0 | 0 |
| StreamingTruePositivesAtThresholdsTest | 3 | 3 | 0 | 0 |
| StreamingFalseNegativesAtThresholdsTest | 3 | 3 | 0 | 0 |
| StreamingFalsePositivesAtThresholdsTest | 3 | 3 | 0 | 0 |
| StreamingTrueNegativesAtThresholdsTest | 3 | 3 | 0 | 0 |
| StreamingPrecisionTest | 12 | 12 | 0 | 0 |
| StreamingRecallTest | 10 | 10 | 0 | 0 |
| StreamingFPRTest | 10 | 10 | 0 | 0 |
| StreamingFNRTest | 10 | 10 | 0 | 0 |
| StreamingCurvePointsTest | 9 | 9 | 0 | 0 |
| StreamingAUCTest | 16 | 16 | 0 | 0 |
| StreamingDynamicAUCTest | 19 | 19 | 1 | 0 |
| AucWithConfidenceIntervalsTest | 13 | 13 | 0 | 0 |
| StreamingPrecisionRecallAtEqualThresholdsTest | 11 | 11 | 0 | 0 |
| StreamingSpecificityAtSensitivityTest | 9 | 9 | 0 | 0 |
| StreamingSensitivityAtSpecificityTest | 8 | 8 | 0 | 0 |
| StreamingPrecisionRecallThresholdsTest | 12 | 12 | 0 | 0 |
| StreamingFPRThresholdsTest | 12 | 12 | 0 | 0 |
| RecallAtPrecisionTest | 11 | 11 | 0 | 0 |
| PrecisionAtRecallTest | 9 | 9 | 0 | 0 |
| StreamingFNRThresholdsTest | 12 | 12 | 0 | 0 |

Untranslatable: none.

Documented difference:
- StreamingDynamicAUCTest.testVars — TF makes the ``concat_weights`` variables only when
  weights are passed at graph construction; an eager metric is made before its batches,
  so it always has them (and the test expects them).

Notes:
- AucWithConfidenceIntervalsTest.testExceptionOnFloatLabels wraps the *result* of
  ``sess.run`` in ``assertRaises``, so it only checks that the update runs (float labels
  are cast to int64); translated as that.
- Tests whose cases are the same for several metrics are parametrized over the metrics
  (one TF method can be several pytest items, and one pytest function several TF methods).
  Added beyond TF's tests: the variable names of ``auc_with_confidence_intervals`` and
  the range errors of ``recall_at_precision`` / ``precision_at_recall``.
"""

import numpy as np
import pytest
import torch

import slimtorch as slim

M = slim.metrics
T = torch.tensor


def _names(metric):
    return list(metric.local_variables())


def _assert_collections(make, **kwargs):
    """TF's testMetricsCollection and testUpdatesCollection."""
    metric = make(metrics_collections=["__metrics__"], **kwargs)
    assert slim.get_default_graph().get_collection_ref("__metrics__") == [metric.value]
    metric = make(updates_collections=["__updates__"], **kwargs)
    assert slim.get_default_graph().get_collection_ref("__updates__") == [metric.update]


def _assert_idempotent(metric, *batch, **kwargs):
    """TF's testValueTensorIsIdempotent: ten updates, then ten equal reads."""
    for _ in range(10):
        metric.update(*batch, **kwargs)
    first = metric.value()
    for _ in range(10):
        torch.testing.assert_close(metric.value(), first, equal_nan=True, rtol=0, atol=0)


def _uniform(shape, seed, maxval=1.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * maxval


def _randint(shape, seed, maxval):
    return torch.randint(0, maxval, shape, generator=torch.Generator().manual_seed(seed))


def _update_then_value(metric_fn, *args, **kwargs):
    """TF's ``update_op.eval()`` then ``value.eval()`` on a fresh metric."""
    value, update = metric_fn(**kwargs)
    return update(*args), value()


# -- StreamingAccuracyTest ------------------------------------------------------------

def test_accuracy_vars():
    metric = M.streaming_accuracy(torch.ones(10, 1), torch.ones(10, 1), name="my_accuracy")
    assert _names(metric) == ["my_accuracy/total", "my_accuracy/count"]


def test_accuracy_collections():
    _assert_collections(lambda **kw: M.streaming_accuracy(torch.ones(10, 1),
                                                          torch.ones(10, 1), **kw))


def test_accuracy_predictions_and_labels_of_different_size_raises():
    with pytest.raises(ValueError, match="same shape"):
        M.streaming_accuracy(torch.ones(10, 3), torch.ones(10, 4))


def test_accuracy_predictions_and_weights_of_different_size_raises():
    with pytest.raises(ValueError, match="weights"):
        M.streaming_accuracy(torch.ones(10, 3), torch.ones(10, 3), torch.ones(9, 3))


def test_accuracy_value_is_idempotent():
    _assert_idempotent(M.streaming_accuracy(), _randint((10, 3), 1, 3), _randint((10, 3), 2, 3))


ACC_PREDS, ACC_LABELS = [[[0.]], [[1.]], [[2.]], [[1.]]], [[[0.]], [[1.]], [[1.]], [[2.]]]


def test_accuracy_multiple_updates():
    accuracy, update = M.streaming_accuracy()
    for p, l in zip(ACC_PREDS[:3], ACC_LABELS[:3]):
        update(T(p), T(l))
    assert update(T(ACC_PREDS[3]), T(ACC_LABELS[3])).item() == 0.5
    assert accuracy().item() == 0.5


def test_accuracy_effectively_equivalent_sizes():
    update, value = _update_then_value(M.streaming_accuracy, torch.ones(40, 1), torch.ones(40))
    assert update.item() == 1.0 and value.item() == 1.0


@pytest.mark.parametrize("weights", [T([[100], [1], [1]]),              # static shape
                                     [[100], [1], [1]]])                # fed placeholder
def test_accuracy_effectively_equivalent_sizes_with_weight(weights):
    # without flattening the weights, accuracy would be 0.33 (an unintended broadcast)
    update, value = _update_then_value(M.streaming_accuracy, T([1, 1, 1]), T([[1], [0], [0]]),
                                       weights)
    assert update.item() > .95 and value.item() > .95


def test_accuracy_multiple_updates_with_weighted_values():
    accuracy, update = M.streaming_accuracy()
    weights = [[[1]], [[1]], [[0]], [[0]]]
    for p, l, w in zip(ACC_PREDS[:3], ACC_LABELS[:3], weights[:3]):
        update(T(p), T(l), T(w))
    assert update(T(ACC_PREDS[3]), T(ACC_LABELS[3]), T(weights[3])).item() == 1.0
    assert accuracy().item() == 1.0


# -- Streaming{TruePositives,FalseNegatives,FalsePositives,TrueNegatives}Test ---------

P_BIN = ((1, 0, 1, 0), (0, 1, 1, 1), (0, 0, 0, 0))
L_BIN = ((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0))
COUNTS = {   # function: (TF's variable, unweighted count, weights, weighted count)
    "streaming_true_positives": ("true_positives/count", 1, 37.0, 37.0),
    "streaming_false_negatives": ("false_negatives/count", 2, ((3.0,), (5.0,), (7.0,)), 8.0),
    "streaming_false_positives": ("false_positives/count", 4,
                                  ((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0),
                                   (19.0, 23.0, 29.0, 31.0)), 42.0),
    "streaming_true_negatives": ("true_negatives/count", 5, ((0.0, 2.0, 3.0, 5.0),), 15.0),
}


@pytest.mark.parametrize("fn", sorted(COUNTS))
def test_count_vars(fn):
    assert _names(getattr(M, fn)((0, 1, 0), (0, 1, 1))) == [COUNTS[fn][0]]


@pytest.mark.parametrize("fn", sorted(COUNTS))
def test_count_unweighted(fn):
    for expand_predictions in [True, False]:
        for expand_labels in [True, False]:
            for dtype in (torch.bool, torch.int32, torch.float32):
                predictions, labels = T(P_BIN).to(dtype), T(L_BIN).to(dtype)
                if expand_predictions:
                    predictions = predictions.unsqueeze(2)
                if expand_labels:
                    labels = labels.unsqueeze(2)
                value, update = getattr(M, fn)()
                assert value().item() == 0
                assert update(predictions, labels).item() == COUNTS[fn][1]
                assert value().item() == COUNTS[fn][1]


@pytest.mark.parametrize("fn", sorted(COUNTS))
def test_count_weighted(fn):
    for dtype in (torch.bool, torch.int32, torch.float32):
        value, update = getattr(M, fn)()
        assert value().item() == 0
        assert update(T(P_BIN).to(dtype), T(L_BIN).to(dtype), weights=T(COUNTS[fn][2])).item() \
            == COUNTS[fn][3]
        assert value().item() == COUNTS[fn][3]


# -- Streaming*AtThresholdsTest (the four counts) -------------------------------------

SCORES = ((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3))
THRESHOLDS = (0.15, 0.5, 0.85)
COUNTS_AT = {   # function: (TF's variable, unweighted, weights, weighted)
    "streaming_true_positives_at_thresholds": ("true_positives", (3, 1, 0), 37.0,
                                               (111.0, 37.0, 0.0)),
    "streaming_false_negatives_at_thresholds": ("false_negatives", (0, 2, 3),
                                                ((3.0,), (5.0,), (7.0,)), (0.0, 8.0, 11.0)),
    "streaming_false_positives_at_thresholds": ("false_positives", (7, 4, 2),
                                                ((1.0, 2.0, 3.0, 5.0), (7.0, 11.0, 13.0, 17.0),
                                                 (19.0, 23.0, 29.0, 31.0)),
                                                (125.0, 42.0, 12.0)),
    "streaming_true_negatives_at_thresholds": ("true_negatives", (2, 5, 7),
                                               ((0.0, 2.0, 3.0, 5.0),), (5.0, 15.0, 23.0)),
}


@pytest.mark.parametrize("fn", sorted(COUNTS_AT))
def test_count_at_thresholds_vars(fn):
    metric = getattr(M, fn)((0.0, 1.0, 0.0), (0, 1, 1), thresholds=THRESHOLDS)
    assert _names(metric) == [COUNTS_AT[fn][0]]   # TF makes it outside any scope


@pytest.mark.parametrize("fn", sorted(COUNTS_AT))
def test_count_at_thresholds_unweighted(fn):
    value, update = getattr(M, fn)(thresholds=THRESHOLDS)
    assert value().tolist() == [0, 0, 0]
    assert update(T(SCORES), T(L_BIN)).tolist() == list(COUNTS_AT[fn][1])
    assert value().tolist() == list(COUNTS_AT[fn][1])


@pytest.mark.parametrize("fn", sorted(COUNTS_AT))
def test_count_at_thresholds_weighted(fn):
    value, update = getattr(M, fn)(thresholds=THRESHOLDS)
    assert value().tolist() == [0.0, 0.0, 0.0]
    assert update(T(SCORES), T(L_BIN), weights=T(COUNTS_AT[fn][2])).tolist() == \
        list(COUNTS_AT[fn][3])
    assert value().tolist() == list(COUNTS_AT[fn][3])


# -- Streaming{Precision,Recall,FPR,FNR}Test ------------------------------------------

RATES = {   # function: TF's variables, and the values of TF's cases
    "streaming_precision": dict(
        vars=["precision/true_positives/count", "precision/false_positives/count"],
        all_correct=1, all_incorrect=0, empty=((0, 0, 0, 0), (0, 0, 0, 0)),
        some=(((1, 0, 1, 0),), ((0, 1, 1, 0),), 0.5),
        w1d=([[1, 0, 1, 0], [1, 0, 1, 0]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (2.0 + 5.0) / ((2.0 + 2.0) + (5.0 + 5.0))),
        w2d=([[1, 0, 1, 0], [1, 0, 1, 0]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (3.0 + 4.0) / ((1.0 + 3.0) + (4.0 + 2.0)))),
    "streaming_recall": dict(
        vars=["recall/true_positives/count", "recall/false_negatives/count"],
        all_correct=1, all_incorrect=0, empty=(np.zeros((1, 4)), np.zeros((1, 4))),
        some=(((1, 0, 1, 0),), ((0, 1, 1, 0),), 0.5),
        w1d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (2.0 + 5.0) / ((2.0 + 2.0) + (5.0 + 5.0))),
        w2d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (3.0 + 1.0) / ((2.0 + 3.0) + (4.0 + 1.0)))),
    "streaming_false_positive_rate": dict(
        vars=["false_positive_rate/false_positives/count",
              "false_positive_rate/true_negatives/count"],
        all_correct=0, all_incorrect=1, empty=(np.ones((1, 4)), np.ones((1, 4))),
        some=(((1, 0, 1, 0),), ((0, 1, 1, 0),), 0.5),
        w1d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (2.0 + 5.0) / ((2.0 + 2.0) + (5.0 + 5.0))),
        w2d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (1.0 + 3.0) / ((1.0 + 4.0) + (2.0 + 3.0)))),
    "streaming_false_negative_rate": dict(
        vars=["false_negative_rate/false_negatives/count",
              "false_negative_rate/true_positives/count"],
        all_correct=0, all_incorrect=1, empty=(np.zeros((1, 4)), np.zeros((1, 4))),
        some=(((1, 0, 1, 0),), ((0, 1, 1, 0),), 0.5),
        w1d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (2.0 + 5.0) / ((2.0 + 2.0) + (5.0 + 5.0))),
        w2d=([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
             (2.0 + 4.0) / ((2.0 + 3.0) + (1.0 + 4.0)))),
}


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_vars(fn):
    assert _names(getattr(M, fn)(torch.ones(10, 1), torch.ones(10, 1))) == RATES[fn]["vars"]


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_collections(fn):
    _assert_collections(lambda **kw: getattr(M, fn)(torch.ones(10, 1), torch.ones(10, 1), **kw))


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_value_is_idempotent(fn):
    _assert_idempotent(getattr(M, fn)(), _randint((10, 3), 1, 1), _randint((10, 3), 2, 2))


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_all_correct(fn):
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    update, value = _update_then_value(getattr(M, fn), T(inputs), T(inputs))
    assert update.item() == pytest.approx(RATES[fn]["all_correct"])
    assert value.item() == RATES[fn]["all_correct"]


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_some_correct(fn):
    predictions, labels, expected = RATES[fn]["some"]
    update, value = _update_then_value(getattr(M, fn), T(predictions), T(labels))
    assert update.item() == pytest.approx(expected) and value.item() == pytest.approx(expected)


@pytest.mark.parametrize("fn", sorted(RATES))
@pytest.mark.parametrize("placeholders", [False, True])
def test_rate_weighted_1d(fn, placeholders):
    # *_placeholders (precision's only): float32 fed values instead of int constants
    predictions, labels, expected = RATES[fn]["w1d"]
    dtype = torch.float32 if placeholders else torch.int64
    update, value = _update_then_value(getattr(M, fn), T(predictions, dtype=dtype),
                                       T(labels, dtype=dtype), T([[2], [5]]))
    assert update.item() == pytest.approx(expected) and value.item() == pytest.approx(expected)


@pytest.mark.parametrize("fn", sorted(RATES))
@pytest.mark.parametrize("placeholders", [False, True])
def test_rate_weighted_2d(fn, placeholders):
    predictions, labels, expected = RATES[fn]["w2d"]
    dtype = torch.float32 if placeholders else torch.int64
    update, value = _update_then_value(getattr(M, fn), T(predictions, dtype=dtype),
                                       T(labels, dtype=dtype), T([[1, 2, 3, 4], [4, 3, 2, 1]]))
    assert update.item() == pytest.approx(expected) and value.item() == pytest.approx(expected)


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_all_incorrect(fn):
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    metric = getattr(M, fn)(T(inputs), T(1 - inputs))
    assert metric.value().item() == RATES[fn]["all_incorrect"]


@pytest.mark.parametrize("fn", sorted(RATES))
def test_rate_zero_denominator_gives_zero(fn):
    # testZeroTrueAndFalsePositivesGivesZeroPrecision and its recall/FPR/FNR twins
    predictions, labels = RATES[fn]["empty"]
    assert getattr(M, fn)(T(predictions), T(labels)).value().item() == 0.0


# -- StreamingCurvePointsTest ---------------------------------------------------------

def test_curve_points_vars():
    metric = M.streaming_curve_points(predictions=torch.ones(10, 1), labels=torch.ones(10, 1))
    assert _names(metric) == ["curve_points/true_positives", "curve_points/false_negatives",
                              "curve_points/true_negatives", "curve_points/false_positives"]


def test_curve_points_collections():
    _assert_collections(lambda **kw: M.streaming_curve_points(
        labels=torch.ones(10, 1), predictions=torch.ones(10, 1), **kw))


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_curve_points_value_is_idempotent(curve):
    rng = np.random.RandomState(1)
    predictions = T(rng.uniform(size=(10, 3)), dtype=torch.float32)
    labels = T(rng.uniform(high=2, size=(10, 3)), dtype=torch.float32)
    points, update = M.streaming_curve_points(curve=curve)
    update(labels, predictions=predictions)
    initial_points = points()
    update(labels, predictions=predictions)
    torch.testing.assert_close(points(), initial_points, rtol=1e-6, atol=1e-6)


def _curve_points_case(labels, predictions, curve, expected_points):
    points = M.streaming_curve_points(labels=T(labels, dtype=torch.float32),
                                      predictions=T(predictions, dtype=torch.float32),
                                      num_thresholds=3, curve=curve)
    torch.testing.assert_close(points.value(), T(expected_points, dtype=torch.float32),
                               rtol=1e-6, atol=1e-6)


def test_curve_points_edge_cases_roc():
    _curve_points_case([[1]], [[1]], "ROC", [[0, 1], [0, 1], [0, 0]])
    _curve_points_case([[0]], [[0]], "ROC", [[1, 1], [0, 1], [0, 1]])
    _curve_points_case([[0]], [[1]], "ROC", [[1, 1], [1, 1], [0, 1]])
    _curve_points_case([[1]], [[0]], "ROC", [[0, 1], [0, 0], [0, 0]])


def test_curve_points_many_values_roc():
    _curve_points_case([[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]], [[0.2, 0.3, 0.4, 0.6, 0.7, 0.8]],
                       "ROC", [[1.0, 1.0], [0.0, 0.75], [0.0, 0.0]])


def test_curve_points_edge_cases_pr():
    _curve_points_case([[1]], [[1]], "PR", [[1, 1], [1, 1], [0, 1]])
    _curve_points_case([[0]], [[0]], "PR", [[1, 0], [1, 1], [1, 1]])
    _curve_points_case([[0]], [[1]], "PR", [[1, 0], [1, 0], [1, 1]])
    _curve_points_case([[1]], [[0]], "PR", [[1, 1], [0, 1], [0, 1]])


def test_curve_points_many_values_pr():
    _curve_points_case([[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]], [[0.2, 0.3, 0.4, 0.6, 0.7, 0.8]],
                       "PR", [[1.0, 4.0 / 6.0], [0.75, 1.0], [0.0, 1.0]])


# -- StreamingAUCTest -----------------------------------------------------------------

def _np_auc(predictions, labels, weights=None):
    """TF's explicit numpy AUC (ties broken by the sort)."""
    if weights is None:
        weights = np.ones(np.size(predictions))
    is_positive = labels > 0
    num_positives = np.sum(weights[is_positive])
    num_negatives = np.sum(weights[~is_positive])
    inds = np.argsort(-predictions)
    sorted_labels = labels[inds]
    sorted_weights = weights[inds]
    is_positive = sorted_labels > 0
    tp = np.cumsum(sorted_weights * is_positive) / num_positives
    return np.sum((sorted_weights * tp)[~is_positive]) / num_negatives


def test_auc_vars():
    metric = M.streaming_auc(predictions=torch.ones(10, 1), labels=torch.ones(10, 1))
    assert _names(metric) == ["auc/true_positives", "auc/false_negatives",
                              "auc/true_negatives", "auc/false_positives"]


def test_auc_collections():
    _assert_collections(lambda **kw: M.streaming_auc(predictions=torch.ones(10, 1),
                                                     labels=torch.ones(10, 1), **kw))


def test_auc_value_is_idempotent():
    metric = M.streaming_auc()
    for _ in range(10):
        metric.update(_uniform((10, 3), 1), _randint((10, 3), 2, 2))
    initial_auc = metric.value().item()
    for _ in range(10):
        assert metric.value().item() == pytest.approx(initial_auc, abs=1e-5)


def test_auc_predictions_out_of_range():
    with pytest.raises(ValueError, match=r"predictions must be in \[0, 1\]"):
        M.streaming_auc(T([[1., -1., 1., -1.]]), T([[0, 1, 1, 0]]))


def _auc_case(predictions, labels, expected, delta, weights=None, **kwargs):
    batch = (T(predictions, dtype=torch.float32), T(labels)) + \
        (() if weights is None else (weights,))
    update, value = _update_then_value(M.streaming_auc, *batch, **kwargs)
    assert update.item() == pytest.approx(expected, abs=delta)
    assert value.item() == pytest.approx(expected, abs=delta)


def test_auc_all_correct():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    update, value = _update_then_value(M.streaming_auc, T(inputs, dtype=torch.float32), T(inputs),
                                       curve="ROC")
    assert update.item() == 1 and value.item() == 1


def test_auc_some_correct():
    _auc_case([[1, 0, 1, 0]], [[0, 1, 1, 0]], 0.5, 1e-7)


def test_auc_weighted_1d():
    _auc_case([[1, 0, 1, 0]], [[0, 1, 1, 0]], 0.5, 1e-5, weights=T([[2]]))


def test_auc_weighted_2d():
    _auc_case([[1, 0, 1, 0]], [[0, 1, 1, 0]], 0.7, 1e-5, weights=T([[1, 2, 3, 4]]))


def test_auc_pr_special_case():
    _auc_case([[0.1, 0.4, 0.35, 0.8]], [[0, 0, 1, 1]], 0.79166, 1e-3, curve="PR")


def test_another_auc_pr_special_case():
    _auc_case([[0.1, 0.4, 0.35, 0.8, 0.1, 0.135, 0.81]], [[0, 0, 1, 0, 1, 0, 1]], 0.610317,
              1e-3, curve="PR")


def test_third_auc_pr_special_case():
    _auc_case([[0.0, 0.1, 0.2, 0.33, 0.3, 0.4, 0.5]], [[0, 0, 0, 0, 1, 1, 1]], 0.90277, 1e-3,
              curve="PR")


def test_auc_all_incorrect():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    _auc_case(inputs, 1 - inputs.astype(np.float32), 0, 1e-7)


def test_auc_zero_true_positives_and_false_negatives_gives_one_auc():
    _auc_case(np.zeros(4), np.zeros(4), 1, 1e-6)


def test_auc_recall_one_and_precision_one_gives_one_pr_auc():
    _auc_case(np.ones(4), np.ones(4), 1, 1e-6, curve="PR")


def test_auc_with_multiple_updates():
    rng = np.random.RandomState(1)
    num_samples, batch_size = 1000, 10
    labels = rng.randint(0, 2, size=num_samples)
    predictions = np.clip(0.4 + 0.2 * labels + rng.normal(0.0, 0.2, size=num_samples), 0, 1)
    for weights in (None, np.ones(num_samples), rng.exponential(scale=1.0, size=num_samples)):
        expected_auc = _np_auc(predictions, labels, weights)
        auc, update = M.streaming_auc(curve="ROC", num_thresholds=500)
        for start in range(0, num_samples, batch_size):
            batch = slice(start, start + batch_size)
            update(T(predictions[batch], dtype=torch.float32),
                   T(labels[batch], dtype=torch.float32),
                   None if weights is None else T(weights[batch], dtype=torch.float32))
        assert auc().item() == pytest.approx(expected_auc, abs=5e-3)   # places=2


# -- StreamingDynamicAUCTest ----------------------------------------------------------

def test_dynamic_auc_unknown_curve():
    with pytest.raises(ValueError, match="curve must be either ROC or PR, 'TEST_CURVE' unknown"):
        M.streaming_dynamic_auc(labels=torch.ones(10, 1), predictions=torch.ones(10, 1),
                                curve="TEST_CURVE")


def test_dynamic_auc_vars():
    metric = M.streaming_dynamic_auc(labels=torch.ones(10, 1), predictions=torch.ones(10, 1))
    # Difference: TF makes concat_weights only when weights are passed at graph
    # construction; an eager metric is made before its batches, so it always has them.
    assert _names(metric) == [f"dynamic_auc/concat_{what}/{v}"
                              for what in ("preds", "labels", "weights")
                              for v in ("array", "size")]
    assert [t.tolist() for t in metric.local_variables().values()][1::2] == [10, 10, 10]


def test_dynamic_auc_collections():
    _assert_collections(lambda **kw: M.streaming_dynamic_auc(
        labels=torch.ones(10, 1), predictions=torch.ones(10, 1), **kw))


def test_dynamic_auc_value_is_idempotent():
    metric = M.streaming_dynamic_auc()
    for _ in range(10):
        metric.update(_randint((10, 3), 2, 2), _uniform((10, 3), 1))
    initial_auc = metric.value().item()
    for _ in range(10):
        assert metric.value().item() == pytest.approx(initial_auc, abs=5e-6)


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0, 0]])   # testAllLabelsOnes / Zeros
def test_dynamic_auc_all_labels_equal(labels):
    assert M.streaming_dynamic_auc(T(labels), T([1., 1., 1.])).value().item() == 0


def test_dynamic_auc_non_zero_one_predictions():
    auc = M.streaming_dynamic_auc(T([1, 0, 1, 0]), T([2.5, -2.5, 2.5, -2.5]))
    assert auc.value().item() == pytest.approx(1.0)


def test_dynamic_auc_all_correct():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    assert M.streaming_dynamic_auc(T(inputs), T(inputs)).value().item() == 1


def test_dynamic_auc_some_correct():
    auc = M.streaming_dynamic_auc(T([0, 1, 1, 0]), T([1, 0, 1, 0]))
    assert auc.value().item() == pytest.approx(0.5)


def test_dynamic_auc_all_incorrect():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    auc = M.streaming_dynamic_auc(T(1 - inputs, dtype=torch.float32),
                                  T(inputs, dtype=torch.float32))
    assert auc.value().item() == pytest.approx(0)


def test_dynamic_auc_exception_on_incompatible_shapes():
    with pytest.raises(ValueError, match="Shapes .* are incompatible"):
        M.streaming_dynamic_auc(torch.zeros(6), torch.ones(5))


@pytest.mark.parametrize("labels, message", [([2, 1, 0], ">1"), ([1, 0, -1], "<0")])
def test_dynamic_auc_exception_on_bad_label(labels, message):
    _, update = M.streaming_dynamic_auc()
    with pytest.raises(ValueError, match=f"labels must be 0 or 1, at least one is {message}"):
        update(T(labels), T([1, 0.5, 0]))


@pytest.mark.parametrize("weighted", [False, True])   # testWithMultipleUpdates / WithWeights
def test_dynamic_auc_with_multiple_updates(weighted):
    rng = np.random.RandomState(1)
    labels, predictions, weights = np.array([]), np.array([]), np.array([])
    auc, update = M.streaming_dynamic_auc()
    for _ in range(100):
        new_labels = rng.randint(0, 2, size=10)
        noise = rng.uniform(-0.2, 0.2, size=10) if weighted else rng.normal(0.0, 0.2, size=10)
        new_predictions = (0.4 + 0.2 * new_labels + noise).astype(np.float32)
        new_weights = rng.uniform(0.0, 3.0, size=10).astype(np.float32) if weighted else None
        labels = np.concatenate([labels, new_labels])
        predictions = np.concatenate([predictions, new_predictions])
        if weighted:
            weights = np.concatenate([weights, new_weights])
        update(T(new_labels, dtype=torch.int32), T(new_predictions),
               weights=None if new_weights is None else T(new_weights))
        expected_auc = _np_auc(predictions, labels, weights if weighted else None)
        assert auc().item() == pytest.approx(expected_auc, abs=5e-8)


@pytest.mark.parametrize("predictions, labels, expected, delta", [
    ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.79166, 1e-5),      # ReverseIncreasingPredictions
    ([0.1, 0.4, 0.35, 0.8, 0.1, 0.135, 0.81], [0, 0, 1, 0, 1, 0, 1], 0.610317, 1e-6),  # Jumbled
    ([[0.0, 0.1, 0.2, 0.33, 0.3, 0.4, 0.5]], [[0, 0, 0, 0, 1, 1, 1]], 0.90277, 1e-5),  # < half
])
def test_dynamic_auc_pr(predictions, labels, expected, delta):
    auc = M.streaming_dynamic_auc(T(labels), T(predictions, dtype=torch.float32), curve="PR")
    assert auc.value().item() == pytest.approx(expected, abs=delta)


# -- AucWithConfidenceIntervalsTest ---------------------------------------------------

@pytest.mark.parametrize("predictions, labels, weights, expected", [
    ([0., 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.8, 1.0], [0, 0, 1, 0, 0, 1, 0, 1, 1, 0], None,
     (0.66666667, 0.27826795, 0.91208512)),                                 # testAucAllCorrect
    ([1.0, 0.6, 0., 0.3, 0.4, 0.2, 0.5, 0.3, 0.6, 0.8], [0, 1, 0, 1, 0, 0, 1, 0, 0, 1], None,
     (0.66666667, 0.27826795, 0.91208512)),                                 # UnorderedInput
    ([0., 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.8, 1.0], [0, 0, 1, 0, 0, 1, 0, 1, 1, 0],
     [0.5, 0.6, 1.2, 1.5, 2.0, 2.0, 1.5, 1.2, 0.6, 0.5],
     (0.65151515, 0.28918604, 0.89573906)),                                 # WithWeights
    ([0, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.8, 1.0], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     (1.0, 1.0, 1.0)),                                                      # AucEqualOne
    ([0, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.6, 0.8, 1.0], [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], None,
     (0.0, 0.0, 0.0)),                                                      # AucEqualZero
    ([2.5, -2.5, .5, -.5, 1], [1, 0, 1, 0, 0], None,
     (0.83333333, 0.15229267, 0.99286517)),                                 # NonZeroOnePredictions
    ([1., 1., 1., 1., 1.], [1, 1, 1, 1, 1], None, (0., 0., 0.)),            # AllLabelsOnes
    ([0., 0., 0., 0., 0.], [0, 0, 0, 0, 0], None, (0., 0., 0.)),            # AllLabelsZeros
    ([1., 1., 0., 1., 0., 0.], [1, 1, 1, 0, 0, 0], [0.1] * 6, (0., 0., 0.)),  # WeightSumLess...
])
def test_auc_with_confidence_intervals(predictions, labels, weights, expected):
    gotten, update = M.auc_with_confidence_intervals()
    update(T(labels, dtype=torch.int64), T(predictions, dtype=torch.float32),
           None if weights is None else T(weights, dtype=torch.float32))
    result = gotten()
    assert set(result._asdict()) == {"auc", "lower", "upper"}
    for key, value in zip(("auc", "lower", "upper"), expected):
        assert getattr(result, key).item() == pytest.approx(value, rel=1e-6, abs=1e-6), key


def test_auc_with_confidence_intervals_vars():
    metric = M.auc_with_confidence_intervals(T([0, 1]), T([.2, .7]))
    assert _names(metric) == [f"auc_with_confidence_intervals/concat_{what}/{v}"
                              for what in ("preds", "labels", "weights")
                              for v in ("array", "size")]


def test_auc_with_confidence_intervals_multiple_updates():
    rng = np.random.RandomState(1)
    labels, predictions = np.array([]), np.array([])
    auc, update = M.auc_with_confidence_intervals()
    for _ in range(100):
        new_labels = rng.randint(0, 2, size=50)
        new_predictions = (0.4 + 0.2 * new_labels + rng.normal(0.0, 0.2, size=50))
        labels = np.concatenate([labels, new_labels])
        predictions = np.concatenate([predictions, new_predictions.astype(np.float32)])
        update(T(new_labels, dtype=torch.int32), T(new_predictions, dtype=torch.float32))
        assert auc().auc.item() == pytest.approx(_np_auc(predictions, labels), rel=1e-6,
                                                 abs=1e-6)


def test_auc_with_confidence_intervals_float_labels():
    # TF's test wraps the *result* of sess.run in assertRaises, so all it checks
    # is that the update runs: float labels are cast to int64 (0.7 becomes 0).
    _, update = M.auc_with_confidence_intervals()
    update(T([0.7, 0, 1, 0, 1]), T([1, 0.5, 0, 1, 0]))
    assert update.__self__.local_variables()[
        "auc_with_confidence_intervals/concat_labels/array"].tolist() == [0, 0, 1, 0, 1]


@pytest.mark.parametrize("labels, message", [([2, 1, 0, 1, 0], ">1"), ([1, 0, -1, 1, 0], "<0")])
def test_auc_with_confidence_intervals_exception_on_bad_label(labels, message):
    _, update = M.auc_with_confidence_intervals()
    with pytest.raises(ValueError, match=f"labels must be 0 or 1, at least one is {message}"):
        update(T(labels), T([1, 0.5, 0, 1, 0]))


# -- StreamingPrecisionRecallAtEqualThresholdsTest ------------------------------------

def _assert_results_equal(expected_dict, gotten_result, eps=None):
    gotten = {k: t.tolist() for k, t in gotten_result._asdict().items()}
    assert sorted(gotten) == sorted(expected_dict)
    for key, expected in expected_dict.items():
        np.testing.assert_allclose(gotten[key], expected, rtol=1e-6 if eps is None else 0,
                                   atol=1e-6 if eps is None else eps, err_msg=key)


@pytest.mark.parametrize("name, prefix", [(None, "precision_recall_at_equal_thresholds"),
                                          ("foo", "foo")])   # testVars, testVarsWithName
def test_precision_recall_at_equal_thresholds_vars(name, prefix):
    metric = M.precision_recall_at_equal_thresholds(labels=T([True]), predictions=T([0.42]),
                                                    name=name)
    assert _names(metric) == [f"{prefix}/variables/tp_buckets", f"{prefix}/variables/fp_buckets"]


def test_precision_recall_at_equal_thresholds_values_are_idempotent():
    rng = np.random.RandomState(1)
    predictions = T(rng.uniform(size=(10, 3)), dtype=torch.float32)
    labels = T(rng.uniform(size=(10, 3)) > 0.5)
    result, update = M.precision_recall_at_equal_thresholds()
    for _ in range(3):
        update(labels=labels, predictions=predictions)
    initial = {k: v.tolist() for k, v in result()._asdict().items()}
    for _ in range(3):
        _assert_results_equal(initial, result())


def _prt_case(predictions, labels, expected, dtype=torch.float32, eps=None, weights=None):
    gotten, update = M.precision_recall_at_equal_thresholds(num_thresholds=3)
    update(labels=T(labels), predictions=T(predictions, dtype=dtype),
           weights=None if weights is None else T(weights, dtype=dtype))
    result = gotten()
    assert all(t.dtype == dtype for t in result)
    _assert_results_equal(expected, result, eps=eps)


MANY = dict(tp=[4, 3, 0], fp=[2, 0, 0], tn=[0, 2, 2], fn=[0, 1, 4],
            precision=[2.0 / 3.0, 1.0, 0.0], recall=[1.0, 0.75, 0.0], thresholds=[0.0, 0.5, 1.0])


@pytest.mark.parametrize("predictions, labels, expected", [
    ([[1]], [[True]], dict(tp=[1, 1, 1], fp=[0, 0, 0], tn=[0, 0, 0], fn=[0, 0, 0],
                           precision=[1.0, 1.0, 1.0], recall=[1.0, 1.0, 1.0],
                           thresholds=[0.0, 0.5, 1.0])),                 # testAllTruePositives
    ([[0]], [[False]], dict(tp=[0, 0, 0], fp=[1, 0, 0], tn=[0, 1, 1], fn=[0, 0, 0],
                            precision=[0.0, 0.0, 0.0], recall=[0.0, 0.0, 0.0],
                            thresholds=[0.0, 0.5, 1.0])),                # testAllTrueNegatives
    ([[1]], [[False]], dict(tp=[0, 0, 0], fp=[1, 1, 1], tn=[0, 0, 0], fn=[0, 0, 0],
                            precision=[0.0, 0.0, 0.0], recall=[0.0, 0.0, 0.0],
                            thresholds=[0.0, 0.5, 1.0])),                # testAllFalsePositives
    ([[0]], [[True]], dict(tp=[1, 0, 0], fp=[0, 0, 0], tn=[0, 0, 0], fn=[0, 1, 1],
                           precision=[1.0, 0.0, 0.0], recall=[1.0, 0.0, 0.0],
                           thresholds=[0.0, 0.5, 1.0])),                 # testAllFalseNegatives
    ([[0.2, 0.3, 0.4, 0.6, 0.7, 0.8]], [[True, False, False, True, True, True]], MANY),
])
def test_precision_recall_at_equal_thresholds_cases(predictions, labels, expected):
    _prt_case(predictions, labels, expected)


def test_precision_recall_at_equal_thresholds_many_values_with_weights():
    _prt_case([[0.2, 0.3, 0.4, 0.6, 0.7, 0.8]], [[True, False, False, True, True, True]],
              dict(tp=[1.5, 1.5, 0.0], fp=[2.5, 0.0, 0.0], tn=[0.0, 2.5, 2.5],
                   fn=[0.0, 0.0, 1.5], precision=[0.375, 1.0, 0.0], recall=[1.0, 1.0, 0.0],
                   thresholds=[0.0, 0.5, 1.0]),
              weights=[[0.0, 0.5, 2.0, 0.0, 0.5, 1.0]])


@pytest.mark.parametrize("dtype, eps", [(torch.float64, None), (torch.float16, 1e-3)])
def test_precision_recall_at_equal_thresholds_dtypes(dtype, eps):   # testFloat64, testFloat16
    _prt_case([[0.2, 0.3, 0.4, 0.6, 0.7, 0.8]], [[True, False, False, True, True, True]], MANY,
              dtype=dtype, eps=eps)


# -- Streaming{Specificity,Sensitivity}At*Test, RecallAtPrecisionTest, PrecisionAtRecallTest
# (all four: one rate at a target of another, over the same four counts)

AT_TARGET = {   # function: (target argument, TF's variable scope, labels come first)
    "streaming_specificity_at_sensitivity": ("sensitivity", "specificity_at_sensitivity", False),
    "streaming_sensitivity_at_specificity": ("specificity", "sensitivity_at_specificity", False),
    "recall_at_precision": ("precision", "recall_at_precision", True),
    "precision_at_recall": ("target_recall", "precision_at_recall", True),
}


def _at_target(fn, predictions=None, labels=None, target=0.7, weights=None, **kwargs):
    """Calls ``fn`` the way TF's test does (positionally, in ``fn``'s order)."""
    argument, _, labels_first = AT_TARGET[fn]
    kwargs[argument] = target
    if predictions is None:
        return getattr(M, fn)(**kwargs)
    batch = (labels, predictions) if labels_first else (predictions, labels)
    return getattr(M, fn)(*batch, weights=weights, **kwargs)


@pytest.mark.parametrize("fn", sorted(AT_TARGET))
def test_at_target_vars(fn):
    metric = _at_target(fn, torch.ones(10, 1), torch.ones(10, 1))
    scope = AT_TARGET[fn][1]
    assert _names(metric) == [f"{scope}/{v}" for v in ("true_positives", "false_negatives",
                                                       "true_negatives", "false_positives")]


@pytest.mark.parametrize("fn", sorted(AT_TARGET))
def test_at_target_collections(fn):
    _assert_collections(lambda **kw: _at_target(fn, torch.ones(10, 1), torch.ones(10, 1), **kw))


@pytest.mark.parametrize("fn", sorted(AT_TARGET))
def test_at_target_value_is_idempotent(fn):
    predictions, labels = _uniform((10, 3), 1), _randint((10, 3), 2, 2)
    metric = _at_target(fn)
    for _ in range(10):
        if AT_TARGET[fn][2]:
            metric.update(labels, predictions)
        else:
            metric.update(predictions, labels)
    initial = metric.value().item()
    for _ in range(10):
        assert metric.value().item() == pytest.approx(initial, abs=5e-6)


@pytest.mark.parametrize("fn, target", [("streaming_specificity_at_sensitivity", 0.7),
                                        ("streaming_sensitivity_at_specificity", 0.7),
                                        ("recall_at_precision", 1.0),
                                        ("precision_at_recall", 0.7)])
def test_at_target_all_correct(fn, target):
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    value, update = _at_target(fn, target=target)
    batch = (T(inputs), T(inputs, dtype=torch.float32))
    assert (update(*batch) if AT_TARGET[fn][2] else update(*batch[::-1])).item() == 1
    assert value().item() == 1


# (function, predictions, labels, weights, target, expected) of TF's value cases
AT_TARGET_CASES = [
    ("streaming_specificity_at_sensitivity",                  # testSomeCorrectHighSensitivity
     [0.1, 0.2, 0.4, 0.3, 0.0, 0.1, 0.45, 0.5, 0.8, 0.9], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     0.8, 1.0),
    ("streaming_specificity_at_sensitivity",                  # testSomeCorrectLowSensitivity
     [0.1, 0.2, 0.4, 0.3, 0.0, 0.1, 0.2, 0.2, 0.26, 0.26], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     0.4, 0.6),
    ("streaming_specificity_at_sensitivity",                  # testWeighted1d
     [0.1, 0.2, 0.4, 0.3, 0.0, 0.1, 0.2, 0.2, 0.26, 0.26], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [3],
     0.4, 0.6),
    ("streaming_specificity_at_sensitivity",                  # testWeighted2d
     [0.1, 0.2, 0.4, 0.3, 0.0, 0.1, 0.2, 0.2, 0.26, 0.26], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
     [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.4, 8.0 / 15.0),
    ("streaming_sensitivity_at_specificity",                  # testSomeCorrectHighSpecificity
     [0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.45, 0.5, 0.8, 0.9], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     0.8, 0.8),
    ("streaming_sensitivity_at_specificity",                  # testSomeCorrectLowSpecificity
     [0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
     None, 0.4, 0.6),
    ("streaming_sensitivity_at_specificity",                  # testWeighted
     [0.0, 0.1, 0.2, 0.3, 0.4, 0.01, 0.02, 0.25, 0.26, 0.26], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
     [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.4, 0.675),
    ("recall_at_precision",                                   # testSomeCorrectHighPrecision
     [1, .9, .8, .7, .6, .5, .4, .3], [1, 1, 1, 1, 0, 0, 0, 1], None, 0.8, 0.8),
    ("recall_at_precision",                                   # testSomeCorrectLowPrecision
     [1, .9, .8, .7, .6, .5, .4, .3, .2, .1], [1, 1, 0, 0, 0, 0, 0, 0, 0, 1], None, 0.4,
     2.0 / 3.0),
    ("recall_at_precision",                                   # testWeighted
     [1, .9, .8, .7, .6], [1, 1, 0, 0, 1], [1, 1, 3, 4, 1], 0.4, 2.0 / 3.0),
    ("precision_at_recall",                                   # testSomeCorrectHighRecall
     [0.1, 0.2, 0.5, 0.3, 0.0, 0.1, 0.45, 0.5, 0.8, 0.9], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     0.8, 0.8),
    ("precision_at_recall",                                   # testSomeCorrectLowRecall
     [0.1, 0.2, 0.7, 0.3, 0.0, 0.1, 0.45, 0.5, 0.6, 0.9], [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], None,
     0.4, 2.0 / 3),
]


@pytest.mark.parametrize("fn, predictions, labels, weights, target, expected", AT_TARGET_CASES)
def test_at_target_values(fn, predictions, labels, weights, target, expected):
    value, update = _at_target(fn, target=target)
    batch = (T(predictions, dtype=torch.float32), T(labels))
    weights = None if weights is None else T(weights)
    got = update(*batch[::-1], weights) if AT_TARGET[fn][2] else update(*batch, weights)
    assert got.item() == pytest.approx(expected, abs=5e-8)
    assert value().item() == pytest.approx(expected, abs=5e-8)


@pytest.mark.parametrize("strict_mode, target_precision, expected_recall", [
    (False, 0.9, 1.0),      # testStrictMode_Off: the precision closest to 0.9 is 0.3, recall 1
    (True, 0.9, .0),        # testStrictMode_OnAndFail: no threshold reaches 0.9
    (True, 0.2, 2.0 / 3),   # testStrictMode_OnAndSucceed: precision 0.2 at index 1
])
def test_recall_at_precision_strict_mode(strict_mode, target_precision, expected_recall):
    recall, update = M.recall_at_precision(num_thresholds=11, precision=target_precision,
                                           strict_mode=strict_mode)
    got = update(T([1, 1, 0, 0, 0, 0, 0, 0, 0, 1]),
                 T([.2, .3, .5, .6, .7, .8, .9, .9, .9, .1], dtype=torch.float32))
    assert got.item() == pytest.approx(expected_recall, abs=5e-8)
    assert recall().item() == pytest.approx(expected_recall, abs=5e-8)


def test_precision_at_recall_all_incorrect():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    predictions = T(inputs, dtype=torch.float32)
    labels = 1.0 - predictions
    label_prior = labels.mean().item()
    precision, update = M.precision_at_recall(target_recall=0.2)
    assert update(labels, predictions).item() == pytest.approx(label_prior, rel=1e-6)
    assert precision().item() == pytest.approx(label_prior, rel=1e-6)


def test_precision_at_recall_weighted_multiple_label_dtypes():
    for label_dtype in (torch.bool, torch.int32, torch.float32):
        labels = T([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]).to(label_dtype)
        predictions = T([0.0, 0.1, 0.2, 0.3, 0.4, 0.1, 0.22, 0.25, 0.31, 0.35])
        precision, update = M.precision_at_recall(target_recall=0.8)
        assert update(labels, predictions, T([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).item() == \
            pytest.approx(34.0 / 43, abs=5e-8)
        assert precision().item() == pytest.approx(34.0 / 43, abs=5e-8)


@pytest.mark.parametrize("fn, target", [("recall_at_precision", 1.5),
                                        ("precision_at_recall", -0.1)])
def test_at_target_out_of_range_raises(fn, target):
    with pytest.raises(ValueError, match=r"must be in the range \[0, 1\]"):
        _at_target(fn, target=target)


# -- StreamingPrecisionRecallThresholdsTest, StreamingFPRThresholdsTest,
#    StreamingFNRThresholdsTest ---------------------------------------------------------

RATES_AT = {   # function: TF's variables (creation order) and the values of TF's cases
    "streaming_precision_at_thresholds": dict(
        vars=["true_positives", "false_positives"], all_correct=1, all_incorrect=0,
        weights=(1.0, 0.0), extreme=(0.75, 0.0), multiple=lambda tp, fp, fn, tn: tp / (
            1e-7 + tp + fp)),
    "streaming_recall_at_thresholds": dict(
        vars=["true_positives", "false_negatives"], all_correct=1, all_incorrect=0,
        weights=(1.0, 0.0), extreme=(1.0, 0.0), multiple=lambda tp, fp, fn, tn: tp / (
            1e-7 + tp + fn)),
    "streaming_false_positive_rate_at_thresholds": dict(
        vars=["true_negatives", "false_positives"], all_correct=0, all_incorrect=1,
        weights=(0.0, 0.0), extreme=(1.0, 0.0), multiple=lambda tp, fp, fn, tn: fp / (
            1e-7 + fp + tn)),
    "streaming_false_negative_rate_at_thresholds": dict(
        vars=["true_positives", "false_negatives"], all_correct=0, all_incorrect=1,
        weights=(0.0, 1.0), extreme=(0.0, 1.0), multiple=lambda tp, fp, fn, tn: fn / (
            1e-7 + fn + tp)),
}


def _scope(fn):
    return fn[len("streaming_"):]


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_vars(fn):
    metric = getattr(M, fn)(predictions=torch.ones(10, 1), labels=torch.ones(10, 1),
                            thresholds=[0, 0.5, 1.0])
    assert _names(metric) == [f"{_scope(fn)}/{v}" for v in RATES_AT[fn]["vars"]]


def test_precision_recall_at_thresholds_collections():
    # TF's precision/recall test puts both metrics in one collection
    kwargs = dict(predictions=torch.ones(10, 1), labels=torch.ones(10, 1),
                  thresholds=[0, 0.5, 1.0])
    prec = M.streaming_precision_at_thresholds(metrics_collections=["__metrics__"], **kwargs)
    rec = M.streaming_recall_at_thresholds(metrics_collections=["__metrics__"], **kwargs)
    assert slim.get_default_graph().get_collection_ref("__metrics__") == [prec.value, rec.value]
    prec = M.streaming_precision_at_thresholds(updates_collections=["__updates__"], **kwargs)
    rec = M.streaming_recall_at_thresholds(updates_collections=["__updates__"], **kwargs)
    assert slim.get_default_graph().get_collection_ref("__updates__") == [prec.update,
                                                                          rec.update]


@pytest.mark.parametrize("fn", ["streaming_false_positive_rate_at_thresholds",
                                "streaming_false_negative_rate_at_thresholds"])
def test_rate_at_thresholds_collections(fn):
    _assert_collections(lambda **kw: getattr(M, fn)(
        predictions=torch.ones(10, 1), labels=torch.ones(10, 1), thresholds=[0, 0.5, 1.0],
        **kw))


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_value_is_idempotent(fn):
    metric = getattr(M, fn)(thresholds=[0, 0.5, 1.0])
    for _ in range(10):
        metric.update(_uniform((10, 3), 1), _randint((10, 3), 2, 2))
    initial = metric.value()
    for _ in range(10):
        torch.testing.assert_close(metric.value(), initial, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_all_correct(fn):
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    metric = getattr(M, fn)(T(inputs, dtype=torch.float32), T(inputs), [0.5])
    assert metric.value().item() == RATES_AT[fn]["all_correct"]


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_some_correct(fn):
    metric = getattr(M, fn)(T([[1., 0., 1., 0.]]), T([[0, 1, 1, 0]]), [0.5])
    assert metric.value().item() == pytest.approx(0.5, abs=5e-8)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_all_incorrect(fn):
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    metric = getattr(M, fn)(T(inputs, dtype=torch.float32), T(1 - inputs, dtype=torch.float32),
                            [0.5])
    assert metric.value().item() == pytest.approx(RATES_AT[fn]["all_incorrect"], abs=5e-8)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
@pytest.mark.parametrize("weights", [[[0.], [1.]], [[0., 0.], [1., 1.]]])  # Weights1d, 2d
def test_rate_at_thresholds_weights(fn, weights):
    metric = getattr(M, fn)(T([[1., 0.], [1., 0.]]), T([[0, 1], [1, 0]]), [0.5, 1.1],
                            weights=T(weights))
    low, high = metric.value()
    assert low.item() == pytest.approx(RATES_AT[fn]["weights"][0], abs=5e-6)
    assert high.item() == pytest.approx(RATES_AT[fn]["weights"][1], abs=5e-6)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_extreme_thresholds(fn):
    metric = getattr(M, fn)(T([[1., 0., 1., 0.]]), T([[0, 1, 1, 1]]),
                            [-1.0, 2.0])   # lower/higher than any values
    low, high = metric.value()
    assert low.item() == pytest.approx(RATES_AT[fn]["extreme"][0], abs=5e-6)
    assert high.item() == pytest.approx(RATES_AT[fn]["extreme"][1], abs=5e-6)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_zero_labels_predictions(fn):
    metric = getattr(M, fn)(torch.zeros(4), torch.zeros(4), [0.5])
    assert metric.value().item() == pytest.approx(0, abs=5e-7)


@pytest.mark.parametrize("fn", sorted(RATES_AT))
def test_rate_at_thresholds_with_multiple_updates(fn):
    rng = np.random.RandomState(1)
    num_samples, batch_size = 1000, 10
    num_batches = num_samples // batch_size
    labels = rng.randint(0, 2, size=(num_samples, 1))
    predictions = np.clip(0.4 + 0.2 * labels + rng.normal(0.0, 0.2, size=(num_samples, 1)), 0, 1)
    above, positive = predictions[:, 0] > 0.3, labels[:, 0] == 1
    counts = [float((a & b).sum()) for a, b in ((above, positive), (above, ~positive),
                                                (~above, positive), (~above, ~positive))]
    expected = RATES_AT[fn]["multiple"](*counts)
    predictions_batches = predictions.astype(np.float32).reshape((batch_size, num_batches))
    labels_batches = labels.astype(np.float32).reshape((batch_size, num_batches))
    value, update = getattr(M, fn)(thresholds=[0.3])
    for i in range(num_batches):
        update(T(predictions_batches[:, i]), T(labels_batches[:, i]))
    assert value().item() == pytest.approx(expected, abs=5e-3)   # places=2


# -- added: the new metrics on CUDA give the CPU's values, with their state there -----

NEW_METRICS = [   # (make, batch builder)
    (lambda: M.recall_at_precision(precision=0.4), lambda p, l, w: (l, p, w)),
    (lambda: M.precision_at_recall(target_recall=0.8), lambda p, l, w: (l, p, w)),
    (lambda: M.auc_with_confidence_intervals(), lambda p, l, w: (l, p, w)),
    (lambda: M.streaming_dynamic_auc(), lambda p, l, w: (l, p, w)),
    (lambda: M.auc_using_histogram(score_range=[0., 1.], nbins=20), lambda p, l, w: (l.bool(), p)),
]


@pytest.mark.cuda
@pytest.mark.parametrize("make, batch", NEW_METRICS)
def test_new_metrics_on_cuda(make, batch):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    predictions, labels, weights = _uniform(40, 3), _randint((40,), 4, 2), _uniform(40, 5, 3.)
    on_cpu, on_cuda = make(), make()
    for chunk in (slice(0, 25), slice(25, 40)):
        on_cpu.update(*batch(predictions[chunk], labels[chunk], weights[chunk]))
        on_cuda.update(*batch(predictions[chunk].cuda(), labels[chunk].cuda(),
                              weights[chunk].cuda()))
    assert all(t.is_cuda for t in on_cuda.local_variables().values())
    expected, got = on_cpu.value(), on_cuda.value()
    for e, g in zip(expected if isinstance(expected, tuple) else (expected,),
                    got if isinstance(got, tuple) else (got,)):
        torch.testing.assert_close(g.cpu(), e, rtol=1e-5, atol=1e-6)
