"""Translation of tf_slim/losses/loss_ops_test.py (tf_slim 1.1).

Placeholders become the tensors that were fed to them (their static shape
was the point in graph mode; eagerly every tensor has its shape); sessions
and initializers are dropped. ``assertAlmostEqual(a, b, 3)`` is
``round(a - b, 3) == 0``, kept as :func:`almost`.

| tf_slim test class             | translated | passing | documented difference | untranslatable |
|--------------------------------|-----------:|--------:|----------------------:|---------------:|
| AbsoluteDifferenceLossTest     | 10 | 10 | 0 | 0 |
| SoftmaxCrossEntropyLossTest    | 12 | 12 | 3 | 0 |
| SparseSoftmaxCrossEntropyLossTest | 20 | 20 | 6 | 0 |
| SigmoidCrossEntropyLossTest    |  8 |  8 | 5 | 0 |
| LogLossTest                    | 17 | 17 | 0 | 0 |
| HingeLossTest                  |  4 |  4 | 0 | 0 |
| MeanSquaredErrorTest           | 10 | 10 | 0 | 0 |
| MeanPairwiseSquaresErrorTest   | 13 | 13 | 0 | 0 |
| CosineDistanceLossTest         |  9 |  9 | 0 | 1 |
| ComputeWeightedLossTest        |  1 |  1 | 0 | 0 |
| AddLossTest                    |  4 |  4 | 0 | 0 |

Documented difference (the 14 tests that also check ``loss.op.name``): TF
names the loss op ``<loss>_loss/value``; a slimtorch loss is a tensor without
an op, and the name it is collected under (its summary tag
``losses/<name>``) is the function's name, e.g. ``softmax_cross_entropy``.
The values are checked as in TF.

Untranslatable: CosineDistanceLossTest.testValueErrorThrownWithShapelessPlaceholder
— a placeholder of unknown rank; an eager tensor always has a shape.
"""

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch.losses.collection import loss_name

loss_ops = slim.losses


def c(values, shape=None, dtype=None):
    """TF's ``constant_op.constant(values, shape=shape)``."""
    x = torch.as_tensor(np.asarray(values), dtype=dtype)
    return x.reshape(shape) if shape is not None else x


def almost(first, second, places=3):
    """unittest's assertAlmostEqual(first, second, places)."""
    assert round(float(first) - float(second), places) == 0, (float(first), float(second))


LOGITS_10 = c([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
LOGITS_100 = c([[100.0, -100.0, -100.0], [-100.0, 100.0, -100.0], [-100.0, -100.0, 100.0]])
ONEHOT_RIGHT = c([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
ONEHOT_WRONG = c([[0, 0, 1], [1, 0, 0], [0, 1, 0]])


class TestAbsoluteDifferenceLoss:
    predictions = c([4, 8, 12, 8, 1, 3], shape=(2, 3))
    labels = c([1, 9, 2, -5, -2, 6], shape=(2, 3))

    def test_value_error_thrown_when_weight_is_none(self):
        with pytest.raises(ValueError):
            loss_ops.absolute_difference(self.predictions, self.predictions, weights=None)

    def test_all_correct_no_loss_weight(self):
        almost(0.0, loss_ops.absolute_difference(self.predictions, self.predictions))

    def test_non_zero_loss(self):
        almost(5.5, loss_ops.absolute_difference(self.predictions, self.labels))

    def test_non_zero_loss_with_python_scalar_weight(self):
        almost(5.5 * 2.3, loss_ops.absolute_difference(self.predictions, self.labels, 2.3))

    def test_non_zero_loss_with_scalar_tensor_weight(self):
        almost(5.5 * 2.3, loss_ops.absolute_difference(self.predictions, self.labels, c(2.3)))

    def test_non_zero_loss_with_one_dim_batch_specific_weights(self):
        weights = c([1.2, 0.0], shape=[2])
        almost(5.6, loss_ops.absolute_difference(self.predictions, self.labels, weights))

    def test_non_zero_loss_with_two_dim_batch_specific_weights(self):
        weights = c([1.2, 0.0], shape=[2, 1])
        almost(5.6, loss_ops.absolute_difference(self.predictions, self.labels, weights))

    def test_non_zero_loss_with_sample_specific_weights(self):
        weights = c([3, 6, 5, 0, 4, 2], shape=[2, 3])
        almost(16.6, loss_ops.absolute_difference(self.predictions, self.labels, weights))

    def test_non_zero_loss_with_sample_specific_weights_most_zero(self):
        weights = c([0, 0, 0, 0, 0, 2], shape=[2, 3])
        almost(6.0, loss_ops.absolute_difference(self.predictions, self.labels, weights))

    def test_loss_with_sample_specific_weights_all_zero(self):
        almost(0.0, loss_ops.absolute_difference(self.predictions, self.labels, torch.zeros(2, 3)))


class TestSoftmaxCrossEntropyLoss:
    def test_none_weight_raises_value_error(self):
        with pytest.raises(ValueError):
            loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_RIGHT, weights=None)

    def test_all_correct(self):
        loss = loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_RIGHT)
        # Difference: TF's op name 'softmax_cross_entropy_loss/value'.
        assert loss_name(loss) == "softmax_cross_entropy"
        almost(loss, 0.0)

    def test_all_wrong(self):
        loss = loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG)
        # Difference: TF's op name 'softmax_cross_entropy_loss/value'.
        assert loss_name(loss) == "softmax_cross_entropy"
        almost(loss, 10.0)

    def test_non_zero_loss_with_python_scalar_weight(self):
        almost(2.3 * 10.0, loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, 2.3))

    def test_non_zero_loss_with_scalar_tensor_weight(self):
        almost(2.3 * 10.0, loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, c(2.3)))

    def test_non_zero_loss_with_one_dim_batch_specific_weights(self):
        weights = c([1.2, 3.4, 5.6], shape=[3])
        almost((1.2 + 3.4 + 5.6) * 10.0 / 3.0,
               loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, weights))

    def test_all_wrong_all_weights_missing(self):
        weights = c([0, 0, 0], shape=[3])
        almost(0.0, loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, weights))

    def test_some_weights_missing(self):
        weights = c([1.2, 0, 0], shape=[3])
        almost(12.0, loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, weights))

    def test_softmax_with_measurement_specific_weights_raises_exception(self):
        weights = c([[3, 4, 5], [2, 6, 0], [8, 0, 1]])
        with pytest.raises(ValueError):
            loss_ops.softmax_cross_entropy(LOGITS_100, ONEHOT_RIGHT, weights=weights)

    def test_softmax_label_smoothing(self):
        # For activations [100, -100, -100] the log softmax is [0, -200, -200],
        # so the cross entropy is -(1 - L + L/n) * 0 + 400 * L/n = 400 L/n.
        label_smoothing = 0.1
        loss = loss_ops.softmax_cross_entropy(c([[100.0, -100.0, -100.0]]), c([[1, 0, 0]]),
                                              label_smoothing=label_smoothing)
        # Difference: TF's op name 'softmax_cross_entropy_loss/value'.
        assert loss_name(loss) == "softmax_cross_entropy"
        almost(loss, 400.0 * label_smoothing / 3.0)

    def test_loss_with_dynamically_shaped_weights_1d(self):
        weights = [2.3, 2.4, 2.5]
        loss = loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, c(weights, dtype=torch.float32))
        almost(np.average(weights) * 10.0, loss)

    def test_loss_with_dynamically_shaped_weights_2d(self):
        weights = [[2.3], [2.4], [2.5]]
        loss = loss_ops.softmax_cross_entropy(LOGITS_10, ONEHOT_WRONG, c(weights, dtype=torch.float32))
        almost(np.average(weights) * 10.0, loss)


class TestSparseSoftmaxCrossEntropyLoss:
    def test_none_weight_raises_value_error(self):
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[0], [1], [2]]), weights=None)

    @pytest.mark.parametrize("labels, expected", [
        (c([[0], [1], [2]], dtype=torch.int32), 0.0),  # testAllCorrectInt32Labels
        (c([[0], [1], [2]], dtype=torch.int64), 0.0),  # testAllCorrectInt64Labels
        (c([0, 1, 2]), 0.0),                           # testAllCorrectNonColumnLabels
        (c([[2], [0], [1]], dtype=torch.int32), 10.0),  # testAllWrongInt32Labels
        (c([[2], [0], [1]], dtype=torch.int64), 10.0),  # testAllWrongInt64Labels
        (c([2, 0, 1]), 10.0),                          # testAllWrongNonColumnLabels
    ], ids=["AllCorrectInt32Labels", "AllCorrectInt64Labels", "AllCorrectNonColumnLabels",
            "AllWrongInt32Labels", "AllWrongInt64Labels", "AllWrongNonColumnLabels"])
    def test_all_correct_and_all_wrong(self, labels, expected):
        loss = loss_ops.sparse_softmax_cross_entropy(LOGITS_10, labels)
        # Difference: TF's op name 'sparse_softmax_cross_entropy_loss/value'.
        assert loss_name(loss) == "sparse_softmax_cross_entropy"
        almost(loss, expected)

    def test_non_zero_loss_with_python_scalar_weight(self):
        almost(2.3 * 10.0, loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[2], [0], [1]]), 2.3))

    def test_non_zero_loss_with_scalar_tensor_weight(self):
        loss = loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[2], [0], [1]]), c(2.3))
        almost(2.3 * 10.0, loss)

    @pytest.mark.parametrize("weights", [c([1.2, 3.4, 5.6], shape=[3]), c([[1.2], [3.4], [5.6]])],
                             ids=["OneDimBatchSpecificWeights", "ColumnWeights"])
    def test_non_zero_loss_with_batch_weights(self, weights):
        loss = loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[2], [0], [1]]), weights)
        almost((1.2 + 3.4 + 5.6) * 10.0 / 3.0, loss)

    def test_all_wrong_all_weights_missing(self):
        weights = c([0, 0, 0], shape=[3])
        almost(0.0, loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[2], [0], [1]]), weights))

    def test_some_weights_missing(self):
        weights = c([1.2, 0, 0], shape=[3])
        almost(12.0, loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([[2], [0], [1]]), weights))

    def test_measurement_specific_weights_raises_exception(self):
        weights = c([[3, 4, 5], [2, 6, 0], [8, 0, 1]])
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(LOGITS_100, c([[0], [1], [2]]), weights=weights)

    def test_inconsistent_weight_size_raises_exception(self):
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(LOGITS_100, c([[0], [1], [2]]),
                                                  weights=c([1.2, 3.4, 5.6, 7.8]))

    def test_inconsistent_label_size_raises_exception(self):
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(LOGITS_100, c([[0], [1], [2], [3]]),
                                                  weights=c([1.2, 3.4, 5.6]))

    def test_inconsistent_weight_shape_raises_exception(self):
        logits = 200.0 * torch.eye(4) - 100.0
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(logits, c([[0], [1], [2], [3]]),
                                                  weights=c([[1.2, 3.4], [5.6, 7.8]]))

    def test_inconsistent_label_shape_raises_exception(self):
        logits = 200.0 * torch.eye(4) - 100.0
        with pytest.raises(ValueError):
            loss_ops.sparse_softmax_cross_entropy(logits, c([[0, 1], [2, 3]]),
                                                  weights=c([1.2, 3.4, 5.6, 7.8]))

    @pytest.mark.parametrize("weights", [[2.3, 2.4, 2.5], [[2.3], [2.4], [2.5]]],
                             ids=["1D", "2D"])
    def test_loss_with_dynamically_shaped_weights(self, weights):
        loss = loss_ops.sparse_softmax_cross_entropy(LOGITS_10, c([2, 0, 1]),
                                                     c(weights, dtype=torch.float32))
        almost(np.average(weights) * 10.0, loss)


class TestSigmoidCrossEntropyLoss:
    def test_all_correct_sigmoid(self):
        loss = loss_ops.sigmoid_cross_entropy(LOGITS_100, ONEHOT_RIGHT)
        # Difference: TF's op name 'sigmoid_cross_entropy_loss/value'.
        assert loss_name(loss) == "sigmoid_cross_entropy"
        almost(0.0, loss)

    @pytest.mark.parametrize("width", [1, 2], ids=["Weights1", "Weights2"])
    def test_loss_with_single_dim_placeholder_for_logits_and_weights(self, width):
        logits = torch.ones(32, width)
        labels = torch.ones(32, width)
        weights = torch.ones_like(logits)
        almost(0.313, loss_ops.sigmoid_cross_entropy(logits, labels, weights))

    def test_all_wrong_sigmoid(self):
        loss = loss_ops.sigmoid_cross_entropy(LOGITS_100, ONEHOT_WRONG)
        # Difference: TF's op name 'sigmoid_cross_entropy_loss/value'.
        assert loss_name(loss) == "sigmoid_cross_entropy"
        almost(loss, 600.0 / 9.0)

    def test_all_wrong_sigmoid_with_measurement_specific_weights(self):
        weights = c([[3, 4, 5], [2, 6, 0], [8, 0, 1]])
        loss = loss_ops.sigmoid_cross_entropy(LOGITS_100, ONEHOT_WRONG, weights)
        # Difference: TF's op name 'sigmoid_cross_entropy_loss/value'.
        assert loss_name(loss) == "sigmoid_cross_entropy"
        almost(1700.0 / 7.0, loss)

    def test_multi_correct_sigmoid(self):
        logits = c([[100.0, -100.0, 100.0], [100.0, 100.0, -100.0], [-100.0, 100.0, 100.0]])
        labels = c([[1, 0, 1], [1, 1, 0], [0, 1, 1]])
        loss = loss_ops.sigmoid_cross_entropy(logits, labels)
        # Difference: TF's op name 'sigmoid_cross_entropy_loss/value'.
        assert loss_name(loss) == "sigmoid_cross_entropy"
        almost(loss, 0.0)

    def test_sigmoid_label_smoothing_correct(self):
        # max(x,0) - x*z + log(1 + exp(-abs(x))) with z' = z * (1 - L) + 0.5 L:
        # 1/3 * (100 - 100 * (1 - 0.5 L) + 100 * (0.5 L) + 100 * (1 - 0.5 L)) = 1/3 * (100 + 50 L)
        label_smoothing = 0.1
        loss = loss_ops.sigmoid_cross_entropy(c([[100.0, -100.0, -100.0]]), c([[1, 0, 1]]),
                                              label_smoothing=label_smoothing)
        # Difference: TF's op name 'sigmoid_cross_entropy_loss/value'.
        assert loss_name(loss) == "sigmoid_cross_entropy"
        almost(loss, (100.0 + 50.0 * label_smoothing) / 3.0)

    def test_sigmoid_label_smoothing_equals_softmax_two_label(self):
        label_smoothing = 0.1
        sigmoid_loss = loss_ops.sigmoid_cross_entropy(
            c([[100.0, -100.0, -100.0]]), c([[1, 0, 1]]), label_smoothing=label_smoothing)
        softmax_loss = loss_ops.softmax_cross_entropy(
            c([[0.0, 100.0], [100.0, 0.0], [100.0, 0.0]]), c([[0, 1], [1, 0], [0, 1]]),
            label_smoothing=label_smoothing)
        almost(sigmoid_loss, softmax_loss)


class TestLogLoss:
    np_predictions = np.asarray([.9, .2, .2, .8, .4, .6]).reshape((2, 3))
    np_labels = np.asarray([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]).reshape((2, 3))
    expected_losses = (np.multiply(np_labels, np.log(np_predictions + 1e-7)) +
                       np.multiply(1 - np_labels, np.log(1 - np_predictions + 1e-7)))
    predictions = c(np_predictions)
    labels = c(np_labels)

    def test_value_error_thrown_when_weight_is_none(self):
        with pytest.raises(ValueError):
            loss_ops.log_loss(self.labels, self.labels, weights=None)

    @pytest.mark.parametrize("placeholder", [False, True], ids=["", "WithPlaceholder"])
    def test_all_correct_no_loss_weight(self, placeholder):
        predictions = c(self.np_labels, dtype=torch.float32) if placeholder else self.labels
        almost(0.0, loss_ops.log_loss(predictions, self.labels))

    def test_non_zero_loss(self):
        almost(-np.sum(self.expected_losses) / 6.0, loss_ops.log_loss(self.predictions, self.labels))

    # PythonScalarWeight, ScalarTensorWeight, ...AndPlaceholder, ...AndPlaceholderWithRankOnly
    @pytest.mark.parametrize("weights, predictions", [
        (2.3, c(np_predictions)), (c(2.3), c(np_predictions)),
        (c(2.3), c(np_predictions, dtype=torch.float32)),
        (c(2.3), c(np_predictions, dtype=torch.float32).reshape(2, 3)),
    ], ids=["PythonScalarWeight", "ScalarTensorWeight", "ScalarTensorWeightAndPlaceholder",
            "ScalarTensorWeightAndPlaceholderWithRankOnly"])
    def test_non_zero_loss_with_scalar_weight(self, weights, predictions):
        almost(2.3 * -np.sum(self.expected_losses) / 6.0,
               loss_ops.log_loss(predictions, self.labels, weights))

    def test_non_zero_loss_with_one_dim_batch_specific_weights(self):
        expected = np.multiply(self.expected_losses,
                               np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4]).reshape((2, 3)))
        loss = loss_ops.log_loss(self.predictions, self.labels, c([1.2, 3.4], shape=[2]))
        almost(-np.sum(expected) / 6.0, loss)

    @pytest.mark.parametrize("shape", [[2], [2, 1]], ids=["OneDim", "TwoDim"])
    def test_non_zero_loss_with_batch_specific_weights_some_zero(self, shape):
        expected = np.multiply(self.expected_losses,
                               np.asarray([1.2, 1.2, 1.2, 0, 0, 0]).reshape((2, 3)))
        loss = loss_ops.log_loss(self.predictions, self.labels, c([1.2, 0], shape=shape))
        almost(-np.sum(expected) / 3.0, loss)

    def test_weights_with_same_num_dims_but_wrong_shape_throws_exception(self):
        weights = c(np.random.normal(size=(2, 4)), shape=[2, 4])
        with pytest.raises(ValueError):
            loss_ops.log_loss(self.predictions, self.labels, weights)

    @pytest.mark.parametrize("placeholder", [False, True], ids=["", "WithPlaceholder"])
    def test_non_zero_loss_with_measurement_specific_weights(self, placeholder):
        weights = np.array([3, 6, 5, 0, 4, 2]).reshape((2, 3))
        expected = np.multiply(self.expected_losses, weights)
        predictions = c(self.np_predictions, dtype=torch.float32) if placeholder else self.predictions
        loss = loss_ops.log_loss(predictions, self.labels, c(weights, shape=(2, 3)))
        almost(-np.sum(expected) / 5.0, loss)

    @pytest.mark.parametrize("placeholder", [False, True], ids=["", "WithPlaceholder"])
    def test_non_zero_loss_with_sample_specific_weights_most_zero(self, placeholder):
        weights = np.array([0, 0, 0, 0, 0, 2]).reshape((2, 3))
        expected = np.multiply(self.expected_losses, weights)
        predictions = c(self.np_predictions, dtype=torch.float32) if placeholder else self.predictions
        loss = loss_ops.log_loss(predictions, self.labels, c(weights, shape=(2, 3)))
        almost(-np.sum(expected), loss)

    def test_loss_with_sample_specific_weights_all_zero(self):
        almost(0.0, loss_ops.log_loss(self.predictions, self.labels, torch.zeros(2, 3)))


class TestHingeLoss:
    def test_incompatible_shapes(self):
        with pytest.raises(ValueError):
            loss_ops.hinge_loss(c([[-1.0], [2.1]]), c([0.0, 1.0]))

    def test_all_outside_margin(self):
        loss = loss_ops.hinge_loss(c([1.2, -1.4, -1.0, 2.1]), c([1.0, 0.0, 0.0, 1.0]))
        np.testing.assert_allclose(loss, [0.0, 0.0, 0.0, 0.0], atol=1e-3)

    def test_some_inside_margin(self):
        loss = loss_ops.hinge_loss(c([[-0.7], [-1.4], [1.4], [0.6]]), c([[0.0], [0.0], [1.0], [1.0]]))
        # Examples 1 and 4 are on the correct side of the hyperplane but within
        # the margin so they incur some (small) loss.
        np.testing.assert_allclose(loss, [[0.3], [0.0], [0.0], [0.4]], atol=1e-3)

    def test_some_misclassified(self):
        loss = loss_ops.hinge_loss(c([[[1.2], [0.4], [-1.0], [-1.1]]]),
                                   c([[[1.0], [0.0], [0.0], [1.0]]]))
        # Examples 2 and 4 are on the wrong side of the hyperplane.
        np.testing.assert_allclose(loss, [[[0.0], [1.4], [0.0], [2.1]]], atol=1e-3)


class TestMeanSquaredError:
    predictions = c([4, 8, 12, 8, 1, 3], shape=(2, 3))
    labels = c([1, 9, 2, -5, -2, 6], shape=(2, 3))

    def test_value_error_thrown_when_weight_is_none(self):
        with pytest.raises(ValueError):
            loss_ops.mean_squared_error(self.predictions, self.predictions, weights=None)

    def test_all_correct_no_loss_weight(self):
        almost(0.0, loss_ops.mean_squared_error(self.predictions, self.predictions))

    def test_non_zero_loss(self):
        almost(49.5, loss_ops.mean_squared_error(self.predictions, self.labels))

    @pytest.mark.parametrize("weights, expected", [
        (2.3, 49.5 * 2.3),                           # testNonZeroLossWithPythonScalarWeight
        (c(2.3), 49.5 * 2.3),                        # testNonZeroLossWithScalarTensorWeight
        (c([1.2, 3.4], shape=[2]), 767.8 / 6.0),     # ...OneDimBatchSpecificWeights
        (c([1.2, 3.4], shape=[2, 1]), 767.8 / 6.0),  # ...TwoDimBatchSpecificWeights
        (c([3, 6, 5, 0, 4, 2], shape=[2, 3]), 587 / 5.0),  # ...SampleSpecificWeights
        (c([0, 0, 0, 0, 0, 2], shape=[2, 3]), 18.0),  # ...SampleSpecificWeightsMostZero
        (torch.zeros(2, 3), 0.0),                     # testLossWithSampleSpecificWeightsAllZero
    ], ids=["PythonScalarWeight", "ScalarTensorWeight", "OneDimBatchSpecificWeights",
            "TwoDimBatchSpecificWeights", "SampleSpecificWeights", "SampleSpecificWeightsMostZero",
            "SampleSpecificWeightsAllZero"])
    def test_weighted(self, weights, expected):
        almost(expected, loss_ops.mean_squared_error(self.predictions, self.labels, weights))


class TestMeanPairwiseSquaresError:
    np_predictions = np.array([[4, 8, 12], [8, 1, 3]])
    np_labels = np.array([[1, 9, 2], [-5, -5, 7]])

    @property
    def expected_losses(self):
        batch_size, dims = self.np_labels.shape
        total = np.zeros((batch_size, 1))
        for b in range(batch_size):
            for i in range(dims):
                for j in range(dims):
                    x = self.np_predictions[b, i].item() - self.np_predictions[b, j].item()
                    y = self.np_labels[b, i].item() - self.np_labels[b, j].item()
                    total[b] += (x - y) * (x - y)
        return np.divide(total, 9.0)

    def loss(self, weights=1.0, predictions=None, labels=None):
        return loss_ops.mean_pairwise_squared_error(
            predictions=c(self.np_predictions) if predictions is None else predictions,
            labels=c(self.np_labels) if labels is None else labels, weights=weights)

    def test_value_error_thrown_when_weight_is_none(self):
        with pytest.raises(ValueError):
            self.loss(None, predictions=c(self.np_labels))

    def test_all_correct_no_loss_weight(self):
        almost(0.0, self.loss(predictions=c(self.np_labels)))

    def test_non_zero_loss(self):
        almost(np.sum(self.expected_losses), self.loss())

    def test_gradient_with_zero_weight(self):
        torch.manual_seed(0)
        inputs = torch.ones(2, 3)
        weights = torch.nn.init.trunc_normal_(torch.empty(3, 4), a=-2.0, b=2.0).requires_grad_(True)
        predictions = inputs @ weights
        optimizer = torch.optim.SGD([weights], lr=0.001, momentum=0.9)
        loss = loss_ops.mean_pairwise_squared_error(predictions, predictions, 0)
        optimizer.zero_grad()
        loss.backward()
        assert not torch.isnan(weights.grad).any()

    @pytest.mark.parametrize("weights", [2.3, c(2.3)], ids=["PythonScalar", "ScalarTensor"])
    def test_non_zero_loss_with_scalar_weight(self, weights):
        almost(2.3 * np.sum(self.expected_losses), self.loss(weights))

    def test_non_zero_loss_with_scalar_zero_weight(self):
        almost(0, self.loss(c(0)))

    def test_non_zero_loss_with_scalar_tensor_weight_with_placeholder(self):
        loss = self.loss(c(2.3), predictions=c(self.np_predictions, dtype=torch.float32),
                         labels=c(self.np_labels, dtype=torch.float32))
        almost(2.3 * np.sum(self.expected_losses), loss)

    def test_non_zero_loss_with_one_dim_batch_specific_weights(self):
        weights = np.asarray([2.0, 1.0]).reshape((2, 1))
        almost(np.sum(np.multiply(weights, self.expected_losses)), self.loss(c(weights, shape=[2])))

    def test_zero_loss_with_one_dim_batch_zero_weights(self):
        almost(0, self.loss(c(np.asarray([0.0, 0.0]), shape=[2])))

    def test_non_zero_loss_with_one_dim_batch_specific_weights_and_placeholders(self):
        weights = np.asarray([1.2, 3.4]).reshape((2, 1))
        loss = self.loss(c(weights, shape=[2]), predictions=c(self.np_predictions, dtype=torch.float32),
                         labels=c(self.np_labels, dtype=torch.int32))
        almost(np.sum(np.multiply(weights, self.expected_losses)), loss)

    def test_loss_with_all_zero_batch_specific_weights(self):
        almost(0.0, self.loss(c(np.zeros((2, 1)), shape=[2])))

    def test_loss_is_associative_across_batch_elements(self):
        torch.manual_seed(0)
        shape = (1, 1, 3, 4)  # TF's (1, height, width, 1), channels first
        labels0, predictions0, labels1, predictions1 = (torch.rand(shape) for _ in range(4))
        loss0 = loss_ops.mean_pairwise_squared_error(predictions=predictions0, labels=labels0)
        loss1 = loss_ops.mean_pairwise_squared_error(predictions=predictions1, labels=labels1)
        loss0_1 = loss_ops.mean_pairwise_squared_error(
            predictions=torch.cat([predictions0, predictions1], 0),
            labels=torch.cat([labels0, labels1], 0))
        assert loss0 > 0
        assert loss1 > 0
        almost(loss0 + loss1, loss0_1, 5)


class TestCosineDistanceLoss:
    predictions = c(np.asarray([[1, 0, 0], [0, 0, -1],   # Batch 1
                                [1, 0, 0], [1, 0, 0],    # Batch 2
                                [0, 0, -1], [1, 0, 0]]).reshape((3, 2, 3)))  # Batch 3
    labels = c(np.asarray([[1, 0, 0], [0, 0, 1], [0, 1, 0],
                           [1, 0, 0], [0, 0, 1], [0, 1, 0]]).reshape((3, 2, 3)))

    def test_value_error_thrown_when_weight_is_none(self):
        with pytest.raises(ValueError):
            loss_ops.cosine_distance(predictions=self.labels, labels=self.labels, dim=2, weights=None)

    def test_all_correct_no_weights(self):
        almost(0, loss_ops.cosine_distance(predictions=self.labels, labels=self.labels, dim=2), 5)

    def test_partially_correct_with_integer_values(self):
        almost(1, loss_ops.cosine_distance(predictions=self.predictions, labels=self.labels, dim=2), 5)

    def test_partially_correct_floating_point_values(self):
        predictions = [[0.819031913261206, 0.567041924552012, 0.087465312324590],
                       [-0.665139432070255, -0.739487441769973, -0.103671883216994],
                       [0.707106781186548, -0.707106781186548, 0]]
        labels = [[0.819031913261206, 0.567041924552012, 0.087465312324590],
                  [0.665139432070255, 0.739487441769973, 0.103671883216994],
                  [0.707106781186548, 0.707106781186548, 0]]
        tf_preds = c(predictions, shape=(3, 1, 3), dtype=torch.float32)
        tf_labels = c(labels, shape=(3, 1, 3), dtype=torch.float32)
        almost(1.0, loss_ops.cosine_distance(tf_preds, tf_labels, dim=2), 5)

    def test_sample_specific_weights(self):
        loss = loss_ops.cosine_distance(predictions=self.predictions, labels=self.labels, dim=2,
                                        weights=c([1, 0, 0]))
        assert loss.item() == 1.0

    @pytest.mark.parametrize("placeholder", [False, True], ids=["", "WithPlaceholderWithShape"])
    def test_measurement_specific_weights(self, placeholder):
        predictions = self.predictions.float() if placeholder else self.predictions
        loss = loss_ops.cosine_distance(predictions=predictions, labels=self.labels, dim=2,
                                        weights=c([1, 0, 0, 1, 1, 1], shape=(3, 2)))
        assert loss.item() == 3.0 / 4.0

    @pytest.mark.parametrize("shape", [(3,), (3, 2)], ids=["Sample", "Measurement"])
    def test_zero_loss_when_all_specific_weights_are_zero(self, shape):
        loss = loss_ops.cosine_distance(predictions=self.predictions, labels=self.labels, dim=2,
                                        weights=torch.zeros(shape))
        assert loss.item() == 0


class TestComputeWeightedLoss:
    def test_hinge_loss(self):
        losses = loss_ops.hinge_loss(c([1.2, 0.4, -1.0, -1.1]), c([1.0, 0.0, 0.0, 1.0]))
        assert not loss_ops.get_losses()
        loss = loss_ops.compute_weighted_loss(losses)
        assert loss_ops.get_losses()
        np.testing.assert_allclose(losses, [0.0, 1.4, 0.0, 2.1], atol=1e-3)
        np.testing.assert_allclose(loss, 3.5 / 4.0, atol=1e-3)


class TestAddLoss:
    logits = c([[1.2, 0.4, -1.0, -1.1]])
    labels = c([[1.0, 0.0, 0.0, 1.0]])

    def test_add_external_loss(self):
        losses = loss_ops.hinge_loss(self.logits, self.labels)
        assert not loss_ops.get_losses()
        loss_ops.add_loss(losses.mean())
        assert loss_ops.get_losses()
        total_loss = loss_ops.get_total_loss()
        np.testing.assert_allclose(losses, [[0.0, 1.4, 0.0, 2.1]], atol=1e-3)
        np.testing.assert_allclose(total_loss, 3.5 / 4.0, atol=1e-3)

    def test_none_loss_collection(self):
        losses = loss_ops.hinge_loss(self.logits, self.labels)
        assert not loss_ops.get_losses()
        loss_ops.add_loss(losses.mean(), loss_collection=None)
        assert not loss_ops.get_losses()
        np.testing.assert_allclose(losses, [[0.0, 1.4, 0.0, 2.1]], atol=1e-3)

    @pytest.mark.parametrize("batch", [1, 2], ids=["", "Batch2"])
    def test_no_collect_losses(self, batch):
        logits, labels = self.logits.repeat(batch, 1), self.labels.repeat(batch, 1)
        assert not loss_ops.get_losses()
        with slim.arg_scope([loss_ops.add_loss], loss_collection=None):
            loss_ops.absolute_difference(logits, labels)
            loss_ops.log_loss(logits, labels)
            loss_ops.mean_squared_error(logits, labels)
            loss_ops.sigmoid_cross_entropy(logits, labels)
            loss_ops.softmax_cross_entropy(logits, labels)
        assert not loss_ops.get_losses()
