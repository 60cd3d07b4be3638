"""Per-call settings on shared variables (issue 17).

In TF-Slim a layer called again on the same variables (``reuse=True``, or a
built model's later calls) runs that call's stride, padding, rate,
data_format and activation_fn; research/slim's ``conv2d_same`` and atrous
tests rely on it. What must fit the variables (kernel size, depth, input
channels, biases) is still checked, with an error naming the scope.
"""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.nets import resnet_utils


def grid(n):
    """research/slim's ``create_test_input(1, n, n, 1)``: ``x[i, j] = i + j`` (NCHW)."""
    r = torch.arange(n, dtype=torch.float32)
    return (r[:, None] + r[None, :]).reshape(1, 1, n, n)


def make_conv_variables():
    """research/slim's hand-made ``Conv/weights`` (``w[i, j] = i + j``, TF layout
    ``[3, 3, 1, 1]``) and zero ``Conv/biases``, which ``slim.conv2d(...,
    scope='Conv')`` then shares."""
    w = grid(3).reshape(3, 3, 1, 1)
    slim.variable('Conv/weights', shape=[3, 3, 1, 1],
                  initializer=slim.constant_initializer(w.flatten().tolist()))
    slim.variable('Conv/biases', shape=[1], initializer=slim.zeros_initializer())


def test_conv2d_same_even_from_research_slim():
    """resnet_utils_test.testConv2DSameEven: one kernel, strides 1 and 2."""
    x = grid(4)
    make_conv_variables()
    with slim.variable_scope(slim.get_variable_scope(), reuse=True):
        y1 = slim.conv2d(x, 1, [3, 3], stride=1, scope='Conv')
        y1_expected = torch.tensor([[14., 28., 43., 26.], [28., 48., 66., 37.],
                                    [43., 66., 84., 46.], [26., 37., 46., 22.]])
        torch.testing.assert_close(y1[0, 0], y1_expected)
        y2 = resnet_utils.subsample(y1, 2)
        y2_expected = torch.tensor([[14., 43.], [43., 84.]])
        torch.testing.assert_close(y2[0, 0], y2_expected)
        y3 = resnet_utils.conv2d_same(x, 1, 3, stride=2, scope='Conv')
        torch.testing.assert_close(y3[0, 0], y2_expected)
        y4 = slim.conv2d(x, 1, [3, 3], stride=2, scope='Conv')
        torch.testing.assert_close(y4[0, 0], torch.tensor([[48., 37.], [37., 22.]]))
    assert [v.name for v in slim.get_variables()] == ['Conv/weights', 'Conv/biases']


def test_conv2d_same_odd_from_research_slim():
    """resnet_utils_test.testConv2DSameOdd: at n = 5 'SAME' is symmetric."""
    x = grid(5)
    make_conv_variables()
    with slim.variable_scope(slim.get_variable_scope(), reuse=True):
        y1 = slim.conv2d(x, 1, [3, 3], stride=1, scope='Conv')
        y1_expected = torch.tensor([[14., 28., 43., 58., 34.], [28., 48., 66., 84., 46.],
                                    [43., 66., 84., 102., 55.], [58., 84., 102., 120., 64.],
                                    [34., 46., 55., 64., 30.]])
        torch.testing.assert_close(y1[0, 0], y1_expected)
        y2_expected = torch.tensor([[14., 43., 34.], [43., 84., 55.], [34., 55., 30.]])
        torch.testing.assert_close(resnet_utils.subsample(y1, 2)[0, 0], y2_expected)
        torch.testing.assert_close(
            resnet_utils.conv2d_same(x, 1, 3, stride=2, scope='Conv')[0, 0], y2_expected)
        torch.testing.assert_close(slim.conv2d(x, 1, [3, 3], stride=2, scope='Conv')[0, 0],
                                   y2_expected)


def test_a_built_model_runs_each_calls_settings():
    """A built model's fast path: the same variables at stride 1, 2 and rate 2."""
    def net(x, stride=1, rate=1, padding='SAME'):
        return slim.conv2d(x, 4, [3, 3], stride=stride, rate=rate, padding=padding,
                           activation_fn=None, scope='conv')
    model = slim.Model(net)
    x = torch.randn(2, 3, 9, 9)
    model(x)
    w, b = model.conv.weights, model.conv.biases
    torch.testing.assert_close(model(x), F.conv2d(x, w, b, 1, 1))
    torch.testing.assert_close(model(x, stride=2), F.conv2d(x, w, b, 2, 1))
    torch.testing.assert_close(model(x, rate=2), F.conv2d(x, w, b, 1, 2, 2))
    torch.testing.assert_close(model(x, padding='VALID'), F.conv2d(x, w, b))
    assert len(list(model.parameters())) == 2


def test_reuse_with_another_data_format_and_activation():
    x = torch.randn(2, 3, 6, 6)
    a = slim.conv2d(x, 4, [3, 3], scope='c', activation_fn=None)
    b = slim.conv2d(x.permute(0, 2, 3, 1), 4, [3, 3], scope='c', reuse=True,
                    data_format='NHWC', activation_fn=torch.relu)
    torch.testing.assert_close(b, torch.relu(a).permute(0, 2, 3, 1))
    fc = slim.fully_connected(torch.randn(5, 3), 2, activation_fn=None, scope='fc')
    fc_relu = slim.fully_connected(torch.randn(5, 3), 2, scope='fc', reuse=True)
    assert fc.min() < 0 <= fc_relu.min()


@pytest.mark.parametrize('layer, args, first, second', [
    (slim.conv2d_transpose, (4, [3, 3]), {'stride': 1}, {'stride': 2, 'padding': 'VALID'}),
    (slim.separable_conv2d, (4, [3, 3], 2), {'stride': 1}, {'rate': 2}),
    (slim.conv2d_in_plane, ([3, 3],), {'stride': 1}, {'stride': 2}),
])
def test_every_conv_family_shares_variables_across_settings(layer, args, first, second):
    x = torch.randn(1, 3, 8, 8)
    y1 = layer(x, *args, scope='s', **first)
    count = len(slim.get_variables())
    y2 = layer(x, *args, scope='s', reuse=True, **second)
    assert len(slim.get_variables()) == count
    assert y1.shape != y2.shape or not torch.allclose(y1, y2)


def test_separable_reuse_at_another_rate_equals_the_functional_form():
    x = torch.randn(1, 3, 9, 9)
    slim.separable_conv2d(x, None, [3, 3], 1, activation_fn=None, scope='dw')
    y = slim.separable_conv2d(x, None, [3, 3], 1, rate=2, activation_fn=None, scope='dw',
                              reuse=True)
    w, b = slim.get_variables_by_name('dw/depthwise_weights')[0], slim.get_variables('dw/biases')[0]
    torch.testing.assert_close(y, F.conv2d(x, w, b, 1, 2, 2, groups=3))


def test_bias_add_takes_its_data_format_per_call():
    slim.bias_add(torch.zeros(2, 3, 4, 4), initializer=slim.constant_initializer([1., 2., 3.]),
                  scope='b')
    y = slim.bias_add(torch.zeros(2, 4, 4, 3), data_format='NHWC', scope='b', reuse=True)
    assert y[0, 0, 0].tolist() == [1., 2., 3.]


@pytest.mark.parametrize('call, message', [
    (lambda x: slim.conv2d(x, 4, [5, 5], scope='c', reuse=True),
     r"c: called with kernel_size=\(5, 5\) but its variables were made for kernel_size=\(3, 3\)"),
    (lambda x: slim.conv2d(x, 8, [3, 3], scope='c', reuse=True),
     "c: called with num_outputs=8 but its variables were made for num_outputs=4"),
    (lambda x: slim.conv2d(x[:, :2], 4, [3, 3], scope='c', reuse=True),
     r"c: expected input of shape \[N, 3, H, W\] \(NCHW\), got \[1, 2, 8, 8\]"),
    (lambda x: slim.conv2d(x, 4, [3, 3], stride=2, rate=2, scope='c', reuse=True),
     "c: rate > 1 cannot be combined with stride > 1"),
    (lambda x: slim.conv2d(x, 4, [3, 3], padding='FULL', scope='c', reuse=True),
     "c: padding must be 'SAME' or 'VALID'"),
])
def test_what_must_fit_the_variables_is_checked(call, message):
    x = torch.randn(1, 3, 8, 8)
    slim.conv2d(x, 4, [3, 3], scope='c')
    with pytest.raises(ValueError, match=message):
        call(x)


def test_biases_a_normalized_layer_never_made_are_missing():
    x = torch.randn(2, 3, 8, 8)
    slim.conv2d(x, 4, [3, 3], normalizer_fn=slim.batch_norm, scope='c')
    with pytest.raises(ValueError, match="Variable c/biases does not exist"):
        slim.conv2d(x, 4, [3, 3], scope='c', reuse=True)
    y = slim.conv2d(x, 4, [3, 3], scope='c', reuse=True, biases_initializer=None)
    assert y.shape == (2, 4, 8, 8)


def test_non_trainable_biases_are_added():
    """A non-trainable layer's biases are buffers; they still take part."""
    y = slim.conv2d(torch.zeros(1, 1, 3, 3), 2, [1, 1], trainable=False, activation_fn=None,
                    biases_initializer=slim.constant_initializer([1., -1.]))
    assert y[0, :, 0, 0].tolist() == [1., -1.]


def test_compiled_model_follows_the_settings():
    model = slim.Model(lambda x, stride=1: slim.conv2d(x, 4, [3, 3], stride=stride, scope='c'))
    x = torch.randn(1, 3, 8, 8)
    model(x)
    compiled = torch.compile(model, backend='eager')
    torch.testing.assert_close(compiled(x, stride=2), model(x, stride=2))
    assert compiled(x).shape == (1, 4, 8, 8)


def test_spatial_softmax_takes_its_data_format_per_call():
    features = torch.randn(2, 3, 5, 6)
    with slim.variable_scope('s'):
        first = slim.spatial_softmax(features)
    with slim.variable_scope('s', reuse=True):
        again = slim.spatial_softmax(features.permute(0, 2, 3, 1), data_format='NHWC')
    torch.testing.assert_close(again, first)
    assert [v.name for v in slim.get_variables()] == ['s/spatial_softmax/temperature']


def test_a_module_called_directly_runs_its_first_calls_settings():
    model = slim.Model(lambda x: slim.conv2d(x, 4, [3, 3], stride=2, scope='c'))
    x = torch.randn(1, 3, 8, 8)
    y = model(x)
    assert y.shape == (1, 4, 4, 4)
    torch.testing.assert_close(model.c(x), y)


def test_batch_norm_takes_decay_epsilon_activation_and_format_per_call():
    x = torch.randn(6, 3, 4, 4) * 2 + 1
    bn = slim.batch_norm(x, decay=0.9, epsilon=0.001, scope='bn')
    moving_mean = slim.get_unique_variable('bn/moving_mean')
    after_first = moving_mean.clone()
    y = slim.batch_norm(x, decay=0.5, epsilon=0.5, activation_fn=torch.relu, scope='bn',
                        reuse=True)
    mean, variance = x.mean([0, 2, 3]), x.var([0, 2, 3], unbiased=False)
    expected = torch.relu((x - mean.view(1, -1, 1, 1)) / torch.sqrt(variance.view(1, -1, 1, 1) + 0.5))
    torch.testing.assert_close(y, expected)
    # the second call's decay moved the moving mean: 0.5 * previous + 0.5 * batch mean
    torch.testing.assert_close(moving_mean, 0.5 * after_first + 0.5 * mean)
    nhwc = slim.batch_norm(x.permute(0, 2, 3, 1), data_format='NHWC', is_training=False,
                           scope='bn', reuse=True)
    reference = slim.batch_norm(x, is_training=False, scope='bn', reuse=True)
    torch.testing.assert_close(nhwc.permute(0, 3, 1, 2), reference)
    assert bn.shape == x.shape
    with pytest.raises(ValueError, match="bn: data_format must be 'NCHW' or 'NHWC'"):
        slim.batch_norm(x, data_format='NCW', scope='bn', reuse=True)


def test_a_built_model_runs_each_calls_batch_norm_settings():
    def net(x, epsilon=0.001):
        return slim.batch_norm(x, epsilon=epsilon, is_training=False, scope='bn')
    model = slim.Model(net)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(model(x), x / (1 + 0.001) ** 0.5)
    torch.testing.assert_close(model(x, epsilon=3.0), x / 2.0)


def test_layer_instance_and_group_norm_take_epsilon_and_activation_per_call():
    x = torch.randn(2, 4, 3, 3)
    for norm, reference in (
            (slim.layer_norm, lambda x, eps: F.layer_norm(x.permute(0, 2, 3, 1), [3, 3, 4][-3:],
                                                           eps=eps).permute(0, 3, 1, 2)),
            (slim.instance_norm, lambda x, eps: F.instance_norm(x, eps=eps)),
            (slim.group_norm, lambda x, eps: F.group_norm(x, 2, eps=eps))):
        kwargs = {'groups': 2} if norm is slim.group_norm else {}
        name = norm.__name__
        norm(x, epsilon=1e-6, scope=name, **kwargs)
        y = norm(x, epsilon=2.0, activation_fn=torch.relu, scope=name, reuse=True, **kwargs)
        torch.testing.assert_close(y, torch.relu(reference(x, 2.0)), msg=name)
