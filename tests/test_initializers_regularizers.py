"""Initializers fill TF layouts with TF's distributions; regularizers' values."""

import math

import pytest
import torch

import slimtorch as slim
from slimtorch.initializers import compute_fans


def test_constant_zeros_ones():
    assert slim.zeros_initializer()(torch.empty(3)).tolist() == [0, 0, 0]
    assert slim.ones_initializer()(torch.empty(2)).tolist() == [1, 1]
    assert slim.constant_initializer(0.5)(torch.empty(2)).tolist() == [0.5, 0.5]
    t = slim.constant_initializer([1, 2, 3, 4])(torch.empty(2, 2))
    assert t.tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="does not fit a variable of shape"):
        slim.constant_initializer([1, 2, 3])(torch.empty(2, 2))


def test_fans_are_computed_from_tf_layout():
    assert compute_fans([3, 3, 64, 128]) == (9 * 64, 9 * 128)
    assert compute_fans([100, 10]) == (100, 10)


def test_xavier_is_uniform_with_tf_limit():
    t = slim.xavier_initializer()(torch.empty(5, 5, 32, 64))
    limit = math.sqrt(6 / (25 * 32 + 25 * 64))
    assert t.abs().max() <= limit and t.abs().max() > 0.95 * limit
    assert abs(t.std().item() - limit / math.sqrt(3)) < 0.02 * limit


def test_variance_scaling_normal_is_truncated_normal():
    t = slim.variance_scaling_initializer()(torch.empty(200, 500))  # factor 2, FAN_IN
    sigma = math.sqrt(1.3 * 2.0 / 200)
    assert t.abs().max() <= 2 * sigma
    # a N(0, sigma) truncated at 2 sigma has standard deviation 0.8796 sigma
    assert abs(t.std().item() - 0.8796 * sigma) < 0.01 * sigma
    with pytest.raises(TypeError, match="Unknown mode"):
        slim.variance_scaling_initializer(mode='FAN_SUM')
    with pytest.raises(TypeError, match="non-floating point"):
        slim.variance_scaling_initializer()(torch.empty(2, 2, dtype=torch.int32))


def test_truncated_normal_on_a_permuted_view():
    base = torch.empty(64, 32, 3, 3)
    view = base.permute(2, 3, 1, 0)  # what a conv layer hands the initializer
    slim.truncated_normal_initializer(mean=1.0, stddev=0.1)(view)
    assert (base - 1).abs().max() <= 0.2
    assert abs(base.mean().item() - 1.0) < 0.01
    assert abs(base.std().item() - 0.08796) < 0.004


def test_random_normal_and_uniform():
    n = slim.random_normal_initializer(2.0, 0.5)(torch.empty(20000))
    assert abs(n.mean().item() - 2.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02
    u = slim.random_uniform_initializer()(torch.empty(20000))
    assert u.min() >= 0 and u.max() < 1
    u = slim.random_uniform_initializer(-3, -1)(torch.empty(100))
    assert u.min() >= -3 and u.max() < -1


def test_seeded_initializers_repeat():
    a = slim.xavier_initializer(seed=3)(torch.empty(4, 4))
    b = slim.xavier_initializer(seed=3)(torch.empty(4, 4))
    assert torch.equal(a, b)


def test_layers_hand_initializers_the_tf_layout():
    seen = []

    class Recorder(slim.initializers.Initializer):
        def fill_(self, tensor):
            seen.append(tuple(tensor.shape))
            tensor.copy_(torch.arange(tensor.numel(), dtype=tensor.dtype).reshape(tensor.shape))

    slim.conv2d(torch.randn(1, 3, 5, 5), 8, [2, 4], weights_initializer=Recorder(), scope='c')
    slim.fully_connected(torch.randn(1, 3), 8, weights_initializer=Recorder(), scope='f')
    assert seen == [(2, 4, 3, 8), (3, 8)]
    conv = slim.get_unique_variable('c/weights')  # torch layout [out, in, kh, kw]
    tf_value = torch.arange(2 * 4 * 3 * 8.).reshape(2, 4, 3, 8)
    assert torch.equal(conv, tf_value.permute(3, 2, 0, 1))
    fc = slim.get_unique_variable('f/weights')
    assert torch.equal(fc, torch.arange(24.).reshape(3, 8).T)


def test_torch_init_functions_see_the_torch_layout():
    w = slim.conv2d(torch.randn(1, 3, 5, 5), 8, [3, 3], scope='c',
                    weights_initializer=torch.nn.init.kaiming_uniform_)
    assert w is not None
    weights = slim.get_unique_variable('c/weights')
    # torch's fan_in on [out, in, kh, kw] is 3 * 9 = 27: bound sqrt(6 / 27) = 0.47. Had it
    # seen the TF layout [kh, kw, in, out], fan_in would be 3 * 24 = 72: bound 0.29.
    assert math.sqrt(6 / 72) < weights.abs().max() <= math.sqrt(6 / 27)


def test_l1_l2_values_from_tf():
    assert slim.l2_regularizer(0.5)(torch.tensor([1., 2., 3.])).item() == pytest.approx(3.5)
    assert slim.l1_regularizer(0.5)(torch.tensor([1., -2., 3.])).item() == pytest.approx(3.0)
    both = slim.l1_l2_regularizer(0.5, 0.5)(torch.tensor([1., -2., 3.]))
    assert both.item() == pytest.approx(3.0 + 3.5)
    summed = slim.sum_regularizer([slim.l1_regularizer(1.0), slim.l2_regularizer(0.0)])
    assert summed(torch.tensor([1., -2.])).item() == pytest.approx(3.0)


def test_regularizer_scale_checks():
    assert slim.l2_regularizer(0.0)(torch.ones(3)) is None
    assert slim.l2_regularizer(1)(torch.ones(2)).item() == pytest.approx(1.0)  # ints accepted
    with pytest.raises(ValueError, match="less than 0"):
        slim.l1_regularizer(-0.1)
    with pytest.raises(ValueError, match="scale must be a number"):
        slim.l2_regularizer("0.1")
    assert slim.sum_regularizer([slim.l2_regularizer(0.0)])(torch.ones(2)) is None
