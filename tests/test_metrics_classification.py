"""Classification metrics: TF-Slim's acceptance values (semantics doc §7),
a replay of TF's own numbers (tests/golden/metrics/classification.json,
from scripts/make_tf_metric_fixtures_classification.py), and the
StreamingMetric contract (reset, idempotent value, unpacking, errors)."""

import json
import math
import os

import pytest
import torch

from slimtorch.metrics import auc, classes, confusion, thresholds

M = {name: getattr(module, name) for module in (confusion, thresholds, auc, classes)
     for name in module.__all__}
GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "metrics", "classification.json")

P_BIN = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 1], [0, 0, 0, 0]])
L_BIN = torch.tensor([[0, 1, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])
SCORES = torch.tensor([[.9, .2, .8, .1], [.2, .9, .7, .6], [.1, .2, .4, .3]])


def close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = torch.as_tensor(actual, dtype=torch.float64)
    expected = torch.as_tensor(expected, dtype=torch.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert torch.allclose(actual, expected, rtol=rtol, atol=atol), (actual, expected)


# -- acceptance cases (semantics doc §7) ----------------------------------------

def test_true_positives_counts_and_scalar_weight():
    assert M["streaming_true_positives"](P_BIN, L_BIN).value().item() == 1.0
    assert M["streaming_true_positives"](P_BIN, L_BIN, weights=37.0).value().item() == 37.0


def test_true_positives_at_thresholds():
    value, _ = M["streaming_true_positives_at_thresholds"](SCORES, L_BIN, (.15, .5, .85))
    assert value().tolist() == [3.0, 1.0, 0.0]
    value, _ = M["streaming_true_positives_at_thresholds"](SCORES, L_BIN, (.15, .5, .85), 37.0)
    assert value().tolist() == [111.0, 37.0, 0.0]


def test_other_counts_at_thresholds_partition_the_labels():
    th = (.15, .5, .85)
    tp = M["streaming_true_positives_at_thresholds"](SCORES, L_BIN, th).value()
    fn = M["streaming_false_negatives_at_thresholds"](SCORES, L_BIN, th).value()
    tn = M["streaming_true_negatives_at_thresholds"](SCORES, L_BIN, th).value()
    fp = M["streaming_false_positives_at_thresholds"](SCORES, L_BIN, th).value()
    assert fn.tolist() == [0.0, 2.0, 3.0]          # positives score .2, .8, .2
    assert fp.tolist() == [7.0, 4.0, 2.0]          # negatives .9 .1 .9 .7 .6 .1 .2 .4 .3
    assert (tp + fn).tolist() == [3.0] * 3 and (tn + fp).tolist() == [9.0] * 3


def test_precision_and_weighted_precision():
    assert M["streaming_precision"]([1, 0, 1, 0], [0, 1, 1, 0]).value().item() == 0.5
    value = M["streaming_precision"]([[1, 0, 1, 0], [1, 0, 1, 0]], [[0, 1, 1, 0], [1, 0, 0, 1]],
                                     weights=[[2], [5]]).value()
    close(value, 7.0 / 14.0)


def test_weighted_recall():
    value = M["streaming_recall"]([[1, 0, 1, 0], [0, 1, 0, 1]], [[0, 1, 1, 0], [1, 0, 0, 1]],
                                  weights=[[1, 2, 3, 4], [4, 3, 2, 1]]).value()
    close(value, (3 + 1) / (2 + 3 + 4 + 1))


def test_rates_and_empty_denominators():
    p, l = [1, 1, 0, 0], [0, 1, 1, 0]
    assert M["streaming_false_positive_rate"](p, l).value().item() == 0.5
    assert M["streaming_false_negative_rate"](p, l).value().item() == 0.5
    assert M["streaming_precision"]([0, 0], [1, 1]).value().item() == 0.0   # TF: 0, not NaN
    assert M["streaming_recall"]([1, 1], [0, 0]).value().item() == 0.0


def test_auc_acceptance():
    assert M["streaming_auc"]([1., 0., 1., 0.], [0, 1, 1, 0]).value().item() == \
        pytest.approx(0.5, abs=1e-6)
    p, l = torch.tensor([.1, .4, .35, .8]), torch.tensor([0, 0, 1, 1])
    assert M["streaming_auc"](p, l).value().item() == pytest.approx(0.75, abs=1e-5)
    assert M["streaming_auc"](p, l, curve="PR").value().item() == pytest.approx(0.79167, abs=1e-5)
    assert M["streaming_dynamic_auc"](l, p).value().item() == pytest.approx(0.75, abs=1e-12)


def test_precision_recall_at_thresholds_acceptance():
    p, l = [.2, .6, .9, .4], [0, 1, 1, 1]
    close(M["streaming_precision_at_thresholds"](p, l, [.3, .5, .7]).value(), [1, 1, 1])
    close(M["streaming_recall_at_thresholds"](p, l, [.3, .5, .7]).value(), [1, 2 / 3, 1 / 3])


def test_accuracy_streaming_and_single_batch():
    p, l = [0, 1, 2, 1], [0, 1, 1, 2]
    value, update = M["streaming_accuracy"]()
    for pi, li in zip(p, l):
        update(torch.tensor([pi]), torch.tensor([li]))
    assert value().item() == 0.5
    assert M["streaming_accuracy"](p, l, weights=[1, 1, 0, 0]).value().item() == 1.0
    assert M["streaming_accuracy"]([1, 2, 3, 4], [1, 2, 0, 4]).value().item() == 0.75
    assert M["streaming_accuracy"]([1, 2, 3, 4], [1, 2, 0, 4], [1, 1, 2, 0]).value().item() == 0.5
    assert M["accuracy"](torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4])).item() == 0.75
    assert M["accuracy"](torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 4]),
                         torch.tensor([1., 1., 2., 0.])).item() == 0.5


def test_accuracy_casts_predictions_to_the_labels_dtype_like_tf():
    # TF: predictions cast to labels' dtype first; float 1.7 becomes int 1
    assert M["streaming_accuracy"](torch.tensor([1.7, 2.0]), torch.tensor([1, 3])).value() == 0.5


def test_mean_iou_over_batches():
    value, update = M["streaming_mean_iou"](num_classes=3)
    for p, l in zip([0, 1, 2, 1, 0], [0, 1, 1, 2, 1]):
        update(torch.tensor([p]), torch.tensor([l]))
    close(value(), (1 / 2 + 1 / 4 + 0) / 3)


def test_mean_iou_update_returns_the_confusion_matrix():
    p, l = torch.tensor([0] * 5 + [1] * 5), torch.tensor([0] * 3 + [1] * 7)
    value, update = M["streaming_mean_iou"](num_classes=2)
    assert update(p, l).tolist() == [[3.0, 0.0], [2.0, 5.0]]
    close(value(), (3 / 5 + 5 / 7) / 2)
    value, update = M["streaming_mean_iou"](num_classes=2)
    assert update(p, l, torch.tensor([0.] + [1.] * 8 + [0.])).tolist() == [[2.0, 0.0],
                                                                           [2.0, 4.0]]
    close(value(), (2 / 4 + 4 / 6) / 2)


def test_mean_iou_ignores_absent_classes():
    value = M["streaming_mean_iou"]([0, 0], [0, 0], num_classes=5).value()
    assert value.item() == 1.0


def test_cohen_kappa():
    value = M["cohen_kappa"]([0, 1, 1, 0], [0, 1, 0, 0], num_classes=2).value()
    assert value.item() == pytest.approx(0.5, abs=1e-12)
    assert value.dtype == torch.float64   # TF computes kappa in float64


def test_specificity_and_sensitivity_at_target():
    p, l = [.1, .4, .35, .8], [0, 0, 1, 1]
    # thresholds between .1 and .35 keep both positives and drop one negative
    spec = M["streaming_specificity_at_sensitivity"](p, l, sensitivity=1.0).value()
    assert spec.item() == pytest.approx(0.5, abs=1e-6)
    sens = M["streaming_sensitivity_at_specificity"](p, l, specificity=1.0).value()
    assert sens.item() == pytest.approx(0.5, abs=1e-6)


def test_specificity_grid_ends_below_one_like_tf():
    # TF's specificity_at_sensitivity grid ends at 1 - 1e-7 (not 1 + 1e-7), so
    # a negative scoring exactly 1 is a false positive even at the last
    # threshold; TF returns 0.0 for both of these (checked with TF 2.21).
    p, l = [1.0, 1.0], [1, 0]
    assert M["streaming_specificity_at_sensitivity"](p, l, sensitivity=0.0).value().item() == 0.0
    assert M["streaming_sensitivity_at_specificity"](p, l, specificity=1.0).value().item() == 0.0


def test_f1_score_is_best_over_thresholds():
    # threshold .5: precision 1, recall 2/3 -> 0.8; threshold .3: 3/4 and 1 -> 6/7
    value = M["f1_score"]([0, 1, 1, 1], [.4, .6, .9, .35]).value()
    assert value.item() == pytest.approx(6 / 7, abs=1e-5)


def test_dynamic_auc_all_labels_equal_is_zero():
    assert M["streaming_dynamic_auc"]([1, 1], [.3, .6]).value().item() == 0.0
    assert M["streaming_dynamic_auc"]().value().item() == 0.0


# -- TF's numbers, replayed ---------------------------------------------------------

def _golden():
    with open(GOLDEN) as f:
        return json.load(f)


def _tensor(stored):
    return torch.tensor(stored["data"], dtype=getattr(torch, stored["dtype"])) \
        .reshape(stored["shape"])


def _case_id(case):
    kwargs = ",".join(f"{k}={v}" for k, v in case["kwargs"].items() if k != "thresholds")
    return f"{case['function']}[{kwargs}|w={case['weights']}]"


GOLDEN_CASES = _golden()["cases"]


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=[_case_id(c) for c in GOLDEN_CASES])
def test_matches_tensorflow(case):
    batches = [{k: _tensor(v) for k, v in b.items()} for b in _golden()["batches"]]
    fn = M[case["function"]]

    def inputs(batch):
        args = [batch[name] for name in case["inputs"]]
        return args, ({} if case["weights"] is None else {"weights": batch[case["weights"]]})

    if case["function"] == "accuracy":   # one batch at a time
        for batch, expected in zip(batches, case["values"]):
            args, kw = inputs(batch)
            close(fn(*args, **kw), expected)
        return
    value, update = metric = fn(**case["kwargs"])
    for i, batch in enumerate(batches):
        args, kw = inputs(batch)
        returned = update(*args, **kw)
        if case["function"] == "precision_recall_at_equal_thresholds":
            for field, expected in case["values"][i].items():
                close(getattr(value(), field), expected)
            continue
        if "updates" in case:
            close(returned, case["updates"][i])
        close(value(), case["values"][i])
    assert metric.update_count == len(batches)


def test_golden_covers_every_metric_but_the_non_tf_helpers():
    covered = {c["function"] for c in GOLDEN_CASES}
    functions = {n for n in M if n[0].islower()} - {"curve_thresholds", "confusion_counts"}
    assert functions <= covered, functions - covered


def test_tf_slim_names_are_exported_from_slim_metrics():
    import slimtorch as slim
    for name in {c["function"] for c in GOLDEN_CASES}:
        assert getattr(slim.metrics, name) is M[name], name
        assert name in slim.metrics.__all__, name


# -- the StreamingMetric contract ---------------------------------------------------

@pytest.mark.parametrize("make,batch", [
    (lambda: M["streaming_precision"](), ([1, 0, 1], [1, 1, 0])),
    (lambda: M["streaming_auc"](), (torch.tensor([.2, .7, .9]), [0, 1, 1])),
    (lambda: M["streaming_dynamic_auc"](), ([0, 1, 1], [.2, .7, .5])),
    (lambda: M["streaming_mean_iou"](num_classes=3), ([0, 2, 1], [0, 1, 1])),
    (lambda: M["cohen_kappa"](num_classes=3), ([0, 2, 1], [0, 1, 1])),
    (lambda: M["f1_score"](), ([0, 1, 1], [.2, .7, .4])),
])
def test_reset_idempotent_value_and_unpacking(make, batch):
    metric = make()
    value, update = metric
    first = value().clone()
    update(*(torch.as_tensor(x) for x in batch))
    after = value().clone()
    assert torch.equal(value(), after)               # reading twice changes nothing
    metric.reset()
    assert metric.update_count == 0
    assert torch.equal(value(), first)
    update(*(torch.as_tensor(x) for x in batch))
    assert torch.equal(value(), after)


def test_state_lives_on_the_predictions_device():
    metric = M["streaming_auc"](torch.tensor([.2, .7]), torch.tensor([0, 1]))
    assert all(t.device == torch.tensor(0.).device for t in metric.variables().values())
    assert sorted(metric.variables()) == ["auc/false_negatives", "auc/false_positives",
                                          "auc/true_negatives", "auc/true_positives"]


@pytest.mark.cuda
def test_state_follows_cuda_predictions():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    metric = M["streaming_mean_iou"](torch.tensor([0, 1], device="cuda"),
                                     torch.tensor([0, 1], device="cuda"), num_classes=2)
    assert metric.variables()["mean_iou/total_confusion_matrix"].is_cuda


def test_streaming_over_batches_equals_one_batch():
    torch.manual_seed(1)
    scores, labels = torch.rand(60), (torch.rand(60) < 0.4).long()
    whole = M["streaming_auc"](scores, labels).value()
    value, update = M["streaming_auc"]()
    for chunk in range(0, 60, 7):
        update(scores[chunk:chunk + 7], labels[chunk:chunk + 7])
    close(value(), whole)


def test_threshold_counts_match_a_direct_comparison():
    # the bucketed counting against TF's literal [thresholds, scores] comparison
    torch.manual_seed(2)
    scores, labels, w = torch.rand(50), torch.rand(50) < 0.5, torch.rand(50)
    th = [0.9, 0.1, 0.5, 0.5, 0.3]                    # unsorted, repeated: fine in TF
    above = scores[None, :] > torch.tensor(th)[:, None]
    expected = {"true_positives": (above & labels) * w, "false_positives": (above & ~labels) * w,
                "false_negatives": (~above & labels) * w,
                "true_negatives": (~above & ~labels) * w}
    for key, fn in (("true_positives", "streaming_true_positives_at_thresholds"),
                    ("false_positives", "streaming_false_positives_at_thresholds"),
                    ("false_negatives", "streaming_false_negatives_at_thresholds"),
                    ("true_negatives", "streaming_true_negatives_at_thresholds")):
        close(M[fn](scores, labels, th, w).value(), expected[key].sum(1))


def test_names_are_unique_like_tf_scopes():
    assert M["streaming_auc"]().name == "auc"
    assert M["streaming_auc"]().name == "auc_1"
    assert sorted(M["streaming_accuracy"](name="my_accuracy").variables()) == \
        ["my_accuracy/count", "my_accuracy/total"]      # TF's variable names


# -- errors name the metric -----------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: M["streaming_precision"]([1, 0, 1], [1, 0]),
     r"streaming_precision 'precision'.*same shape"),
    (lambda: M["streaming_recall"]([[1, 0], [0, 1]], [[1, 0], [0, 1]], weights=[1, 2, 3]),
     r"streaming_recall 'recall'.*weights"),
    (lambda: M["streaming_auc"]([.2, 1.5], [0, 1]), r"streaming_auc 'auc'.*\[0, 1\]"),
    (lambda: M["streaming_auc"](curve="XY"), r"streaming_auc.*ROC or PR"),
    (lambda: M["streaming_mean_iou"]([0, 3], [0, 1], num_classes=3),
     r"streaming_mean_iou 'mean_iou'.*predictions.*\[0, 3\)"),
    (lambda: M["streaming_mean_iou"]([0, 1], [0, 5], num_classes=3),
     r"streaming_mean_iou 'mean_iou'.*labels"),
    (lambda: M["streaming_mean_iou"]([0, 1], [0, 1]), r"streaming_mean_iou.*num_classes"),
    (lambda: M["cohen_kappa"]([0, 1], [0, 1], num_classes=1), r"cohen_kappa.*>= 2"),
    (lambda: M["cohen_kappa"]([0, 2], [0, 1], num_classes=2), r"cohen_kappa 'cohen_kappa'"),
    (lambda: M["streaming_dynamic_auc"]([0, 2], [.1, .2]),
     r"streaming_dynamic_auc 'dynamic_auc'.*0 or 1"),
    (lambda: M["streaming_precision_at_thresholds"]([.1], [1], thresholds=[[.1, .2]]),
     r"streaming_precision_at_thresholds.*thresholds"),
    (lambda: M["streaming_precision_at_thresholds"]([.1], [1]),
     r"streaming_precision_at_thresholds.*thresholds is required"),
    (lambda: M["streaming_sensitivity_at_specificity"]([.1], [1], specificity=1.5),
     r"streaming_sensitivity_at_specificity.*\[0, 1\]"),
    (lambda: M["streaming_auc"](num_thresholds=0), r"streaming_auc.*num_thresholds"),
    (lambda: M["precision_recall_at_equal_thresholds"]([0, 1], [.2, .4]),
     r"precision_recall_at_equal_thresholds.*bool"),
    (lambda: M["accuracy"](torch.tensor([1., 2.]), torch.tensor([1., 2.])),
     r"accuracy: labels should have bool or integer dtype"),
    (lambda: M["accuracy"](torch.tensor([1, 2]), torch.tensor([True, False])),
     r"accuracy: dtypes"),
])
def test_bad_input_raises_naming_the_metric(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_weights_of_rank_one_less_weigh_rows_like_tf():
    # TF's _remove_squeezable_dimensions expands [B] weights on [B, C] values
    value = M["streaming_accuracy"]([[1, 2], [3, 4]], [[1, 2], [0, 0]], weights=[1., 3.]).value()
    close(value, 2 / 8)
    assert not math.isnan(value.item())
