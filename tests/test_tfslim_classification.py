"""Translation of tf_slim/metrics/classification_test.py (``accuracy`` and
``f1_score``, both under ``slim.metrics``).

Graph scaffolding is gone: placeholders are the fed values, and a metric is
made empty and updated once per TF ``sess.run`` of its update op. TF's tests
call ``f1_score(predictions, labels, ...)`` positionally although its
signature is ``f1_score(labels, predictions, ...)``; the translation keeps
the positional calls, so the arguments land where they landed in TF.

| tf_slim test class | translated | passing | documented difference | untranslatable |
|---|---|---|---|---|
| ClassificationTest | 7 | 7 | 0 | 1 |
| F1ScoreTest | 11 | 11 | 0 | 0 |

Untranslatable:
- ClassificationTest.testAccuracy1DString — torch tensors hold no strings.
"""

import numpy as np
import pytest
import torch

import slimtorch as slim

M = slim.metrics
T = torch.tensor


# -- ClassificationTest ---------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.int32, torch.bool, torch.int64])
def test_accuracy_1d(dtype):   # testAccuracy1D, testAccuracy1DBool, testAccuracy1DInt64
    pred, labels = T([1, 0, 1, 0]).to(dtype), T([1, 1, 0, 0]).to(dtype)
    assert M.accuracy(pred, labels).item() == 0.5


def test_accuracy_dtype_mismatch():
    with pytest.raises(ValueError, match="dtypes of predictions and labels should match"):
        M.accuracy(T([1, 0], dtype=torch.int32), T([1, 0], dtype=torch.int64))


def test_accuracy_float_labels():
    with pytest.raises(ValueError, match="labels should have bool or integer dtype"):
        M.accuracy(T([1, 0], dtype=torch.int32), T([1., 0.]))


def test_accuracy_1d_weighted():
    # TF's test feeds weights but does not pass them to accuracy: the plain mean
    pred, labels = T([1, 0, 1, 1], dtype=torch.int32), T([1, 1, 0, 1], dtype=torch.int32)
    assert M.accuracy(pred, labels).item() == 0.5


def test_accuracy_1d_weighted_broadcast():
    pred, labels = T([1, 0, 1, 0], dtype=torch.int32), T([1, 1, 0, 0], dtype=torch.int32)
    assert M.accuracy(pred, labels).item() == 0.5
    assert M.accuracy(pred, labels, weights=T(3.0)).item() == 0.5   # the fed scalar weight


# -- F1ScoreTest ----------------------------------------------------------------------

def test_f1_vars():
    metric = M.f1_score(predictions=torch.ones(10, 1), labels=torch.ones(10, 1), num_thresholds=3)
    assert list(metric.local_variables()) == ["f1/true_positives", "f1/false_negatives",
                                              "f1/false_positives"]   # TF's creation order


def test_f1_metrics_collection():
    f1 = M.f1_score(predictions=torch.ones(10, 1), labels=torch.ones(10, 1), num_thresholds=3,
                    metrics_collections=["__metrics__"])
    assert slim.get_default_graph().get_collection_ref("__metrics__") == [f1.value]


def test_f1_updates_collection():
    f1 = M.f1_score(predictions=torch.ones(10, 1), labels=torch.ones(10, 1), num_thresholds=3,
                    updates_collections=["__updates__"])
    assert slim.get_default_graph().get_collection_ref("__updates__") == [f1.update]


def test_f1_value_tensor_is_idempotent():
    g = torch.Generator().manual_seed(1)
    predictions = torch.rand(10, 3, generator=g)
    labels = torch.randint(0, 2, (10, 3), generator=g)
    f1, f1_op = M.f1_score(num_thresholds=3)
    for _ in range(10):
        f1_op(predictions, labels)   # positional, as TF's test: labels=predictions
    initial = f1()
    for _ in range(10):
        torch.testing.assert_close(f1(), initial)


def test_f1_all_correct():
    inputs = np.random.RandomState(1).randint(0, 2, size=(100, 1))
    f1 = M.f1_score(T(inputs, dtype=torch.float32), T(inputs), num_thresholds=3)
    assert f1.value().item() == 1


def test_f1_some_correct():
    predictions = T([[1, 0, 1, 0]], dtype=torch.float32)
    labels = T([[0, 1, 1, 0]])
    f1 = M.f1_score(predictions, labels, num_thresholds=1)
    # Threshold 0 will have around 0.5 precision and 1 recall.
    assert f1.value().item() == pytest.approx(2 * 0.5 * 1 / (1 + 0.5), abs=1e-6)


def test_f1_all_incorrect():
    inputs = np.random.RandomState(1).randint(0, 2, size=(10000, 1))
    f1 = M.f1_score(T(inputs, dtype=torch.float32), T(1 - inputs, dtype=torch.float32),
                    num_thresholds=3)
    assert f1.value().item() == pytest.approx(2 * 0.5 * 1 / (1 + 0.5), abs=5e-3)   # places=2


def test_f1_weights_1d():
    predictions = T([[1, 0], [1, 0]], dtype=torch.float32)
    labels = T([[0, 1], [1, 0]])
    f1 = M.f1_score(predictions, labels, T([[0.], [1.]]), num_thresholds=3)
    assert f1.value().item() == pytest.approx(1.0, abs=1e-5)


def test_f1_weights_2d():
    predictions = T([[1, 0], [1, 0]], dtype=torch.float32)
    labels = T([[0, 1], [1, 0]])
    f1 = M.f1_score(predictions, labels, T([[0., 0.], [1., 1.]]), num_thresholds=3)
    assert f1.value().item() == pytest.approx(1.0, abs=1e-5)


def test_f1_zero_labels_predictions():
    f1 = M.f1_score(torch.zeros(4), torch.zeros(4), num_thresholds=3)
    assert f1.value().item() == pytest.approx(0.0, abs=1e-5)


def test_f1_with_multiple_updates():
    rng = np.random.RandomState(1)
    num_samples, batch_size = 1000, 10
    labels = rng.randint(0, 2, size=(num_samples, 1))
    predictions = np.clip(0.4 + 0.2 * labels + rng.normal(0.0, 0.2, size=(num_samples, 1)), 0, 1)
    expected_max_f1 = -1.0
    for threshold in [-0.01, 0.5, 1.01]:
        positive = predictions >= threshold
        tp = float((positive & (labels == 1)).sum())
        fp = float((positive & (labels == 0)).sum())
        fn = float((~positive & (labels == 1)).sum())
        epsilon = 1e-7
        prec, rec = tp / (epsilon + tp + fp), tp / (epsilon + tp + fn)
        expected_max_f1 = max(expected_max_f1, 2 * prec * rec / (epsilon + prec + rec))
    labels, predictions = T(labels, dtype=torch.float32), T(predictions, dtype=torch.float32)
    f1, f1_op = M.f1_score(num_thresholds=3)
    for start in range(0, num_samples, batch_size):
        f1_op(labels[start:start + batch_size], predictions[start:start + batch_size])
    assert f1().item() == pytest.approx(expected_max_f1, abs=5e-3)   # places=2
