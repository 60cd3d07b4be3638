"""Translation of tf_slim/metrics/histogram_ops_test.py
(``slim.metrics.auc_using_histogram``).

Graph scaffolding is gone: the fed placeholders are the batches given to the
metric's ``update``. TF's ``_check_auc`` starts with ``score_range = [0, 1.]
or score_range`` (so its score range is always ``[0, 1]``); kept as is.

| tf_slim test class | translated | passing | documented difference | untranslatable |
|---|---|---|---|---|
| Strict1dCumsumTest | 0 | 0 | 0 | 3 |
| AUCUsingHistogramTest | 6 | 6 | 0 | 0 |

Untranslatable:
- Strict1dCumsumTest.test_empty_tensor_returns_empty, test_length_1_tensor_works,
  test_length_3_tensor_works — they test TF's private ``_strict_1d_cumsum`` helper (a
  workaround for TF's cumsum on shapes); slimtorch calls ``torch.cumsum`` and has no
  such helper.

Added (not in TF's file): the metric's variable names, an exact value against a
hand count, bins clipping, reset, and the errors.
"""

import math

import numpy as np
import pytest
import torch

import slimtorch as slim

M = slim.metrics


def synthetic_data(desired_auc, score_range, num_records, rng, frac_true):
    """TF's synthetic data: F ~ U[0, 1], T ~ U[x, 1] with x = 2 AUC - 1
    (labels swapped for an AUC below 0.5), rescaled to ``score_range``."""
    assert 0 <= desired_auc <= 1
    assert 0 < frac_true < 1
    flip_labels = desired_auc < 0.5
    if flip_labels:
        desired_auc, frac_true = 1 - desired_auc, 1 - frac_true
    x = 2 * desired_auc - 1
    labels = rng.binomial(1, frac_true, size=num_records).astype(bool)
    num_true = labels.sum()
    num_false = num_records - labels.sum()
    false_scores = rng.rand(num_false)
    true_scores = x + rng.rand(num_true) * (1 - x)

    def reshape(scores):
        return score_range[0] + scores * (score_range[1] - score_range[0])

    scores = np.nan * np.ones(num_records, dtype=np.float32)
    scores[labels] = reshape(true_scores)
    scores[~labels] = reshape(false_scores)
    if flip_labels:
        labels = ~labels
    return labels, scores


def _check_auc(rng, nbins=100, desired_auc=0.75, score_range=None, num_records=50,
               frac_true=0.5, atol=0.05, num_updates=10):
    score_range = [0, 1.] or score_range   # as in TF's test
    auc, update_op = M.auc_using_histogram(score_range=score_range, nbins=nbins)
    for _ in range(num_updates):
        labels_a, scores_a = synthetic_data(desired_auc, score_range, num_records, rng,
                                            frac_true)
        update_op(torch.from_numpy(labels_a), torch.from_numpy(scores_a))
    synthetic_data(desired_auc, score_range, num_records, rng, frac_true)   # TF draws once more
    auc_eval = auc().item()
    assert auc_eval == pytest.approx(auc().item(), abs=1e-5)   # fetching again changes nothing
    np.testing.assert_allclose(desired_auc, auc_eval, atol=atol)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


# -- AUCUsingHistogramTest ------------------------------------------------------------

def test_empty_labels_and_scores_gives_nan_auc():
    auc, update_op = M.auc_using_histogram(score_range=[0, 1.])
    update_op(torch.zeros(0, dtype=torch.bool), torch.zeros(0, dtype=torch.float32))
    assert math.isnan(auc().item())


def test_perfect_scores_gives_auc_1(rng):
    _check_auc(rng, nbins=100, desired_auc=1.0, score_range=[0, 1.], num_records=50,
               frac_true=0.5, atol=0.05, num_updates=1)


def test_terrible_scores_gives_auc_0(rng):
    _check_auc(rng, nbins=100, desired_auc=0.0, score_range=[0, 1.], num_records=50,
               frac_true=0.5, atol=0.05, num_updates=1)


def test_many_common_conditions(rng):
    for nbins in [50]:
        for desired_auc in [0.3, 0.5, 0.8]:
            for score_range in [[-1, 1], [-10, 0]]:
                for frac_true in [0.3, 0.8]:
                    _check_auc(rng, nbins=nbins, desired_auc=desired_auc,
                               score_range=score_range, num_records=100, frac_true=frac_true,
                               atol=0.05, num_updates=50)


def test_large_class_imbalance_still_ok(rng):
    _check_auc(rng, nbins=100, desired_auc=0.8, score_range=[-1, 1.], num_records=10,
               frac_true=0.995, atol=0.05, num_updates=1000)


def test_super_accuracy_with_many_bins_and_records(rng):
    _check_auc(rng, nbins=1000, desired_auc=0.75, score_range=[0, 1.], num_records=1000,
               frac_true=0.5, atol=0.005, num_updates=100)


# -- added: names, exact values, errors ----------------------------------------------

def test_local_variables_carry_tf_names():
    metric = M.auc_using_histogram(score_range=[0., 1.], nbins=4)
    states = metric.local_variables()
    assert list(states) == ["auc_using_histogram/hist_accumulate/hist_true_acc",
                            "auc_using_histogram/hist_accumulate/hist_false_acc"]
    assert all(v.dtype == torch.int64 and v.tolist() == [0] * 4 for v in states.values())


def test_exact_value_and_clipped_bins():
    value, update = M.auc_using_histogram(score_range=[0., 1.], nbins=4, name="h")
    # true scores in bins 3, 1, 0 (-0.5 clipped); false in 3 (1.7 clipped), 2, 0
    update(torch.tensor([True, True, True, False, False, False]),
           torch.tensor([0.9, 0.3, -0.5, 1.7, 0.6, 0.1]))
    states = update.__self__.local_variables()
    assert states["h/hist_accumulate/hist_true_acc"].tolist() == [1, 1, 0, 1]
    assert states["h/hist_accumulate/hist_false_acc"].tolist() == [1, 0, 1, 1]
    # (true, false) pairs: a higher bin counts 1, the same bin 1/2: (2.5 + 1 + 0.5) / 9
    assert value().item() == pytest.approx(4.0 / 9.0, abs=1e-6)
    assert value().dtype == torch.float32
    update.__self__.reset()
    assert math.isnan(value().item())


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="boolean_labels should have dtype bool"):
        M.auc_using_histogram(torch.tensor([1, 0]), torch.tensor([.5, .2]), [0., 1.])
    with pytest.raises(ValueError, match="should have rank 1"):
        M.auc_using_histogram(torch.ones(2, 2, dtype=torch.bool), torch.ones(2, 2), [0., 1.])
    with pytest.raises(ValueError, match="score_range is required"):
        M.auc_using_histogram()
    with pytest.raises(ValueError, match="NaN"):
        M.auc_using_histogram(torch.tensor([True]), torch.tensor([float("nan")]), [0., 1.])
    with pytest.raises(ValueError, match=r"min < max"):
        M.auc_using_histogram(score_range=[1., 0.])
    flat = M.auc_using_histogram(torch.tensor([[True, False]]), torch.tensor([[.9, .1]]),
                                 [0., 1.], check_shape=False)
    assert flat.value().item() == pytest.approx(1.0)
