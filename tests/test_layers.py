"""conv2d, fully_connected, pools, dropout, flatten, softmax, repeat and stack
against torch.nn.functional and hand-computed values, with TF's padding."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.layers.padding import same_padding


def names():
    return [v.name for v in slim.get_model_variables()]


def ones_conv(x, num_outputs, kernel, **kwargs):
    return slim.conv2d(x, num_outputs, kernel, activation_fn=None,
                       weights_initializer=slim.ones_initializer(), **kwargs)


# -- TF 'SAME' padding --------------------------------------------------------------
def test_same_padding_rule():
    assert same_padding(4, 3, 2) == (0, 1)   # the extra pixel goes bottom/right
    assert same_padding(5, 3, 2) == (1, 1)
    assert same_padding(7, 2, 2) == (0, 1)
    assert same_padding(8, 3, 1, dilation=2) == (2, 2)
    assert same_padding(6, 1, 3) == (0, 0)


def test_conv_same_stride_2_hand_computed():
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    y = ones_conv(x, 1, [3, 3], stride=2)
    # windows rows/cols {0,1,2}, {2,3}: no padding at top/left
    assert y.flatten().tolist() == [45.0, 39.0, 66.0, 50.0]
    # torch's symmetric padding=1 gives something else
    assert F.conv2d(x, torch.ones(1, 1, 3, 3), stride=2, padding=1).flatten().tolist() != \
        [45.0, 39.0, 66.0, 50.0]


def test_conv_same_then_pool_stack_hand_computed():
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    y = ones_conv(x, 1, [3, 3], stride=2)                      # [[45, 39], [66, 50]]
    assert slim.max_pool2d(y, [2, 2]).flatten().tolist() == [66.0]
    z = slim.max_pool2d(x, [3, 3], stride=2, padding='SAME')   # windows {0..2}, {2, 3}
    assert z.flatten().tolist() == [10.0, 11.0, 14.0, 15.0]
    a = slim.avg_pool2d(x, [3, 3], stride=2, padding='SAME')
    assert a.flatten().tolist() == [5.0, 6.5, 11.0, 12.5]     # padding left out of the count


@pytest.mark.parametrize('size', [7, 8, 9, 10])
@pytest.mark.parametrize('kernel,stride,rate', [(3, 1, 1), (3, 2, 1), (2, 2, 1), (4, 1, 1),
                                                (5, 3, 1), (3, 1, 2), (1, 2, 1)])
def test_conv_matches_explicitly_padded_functional(size, kernel, stride, rate):
    x = torch.randn(2, 3, size, size + 1)
    y = slim.conv2d(x, 4, [kernel, kernel], stride=stride, rate=rate, scope='c')
    w, b = slim.get_unique_variable('c/weights'), slim.get_unique_variable('c/biases')
    top, bottom = same_padding(size, kernel, stride, rate)
    left, right = same_padding(size + 1, kernel, stride, rate)
    expected = F.relu(F.conv2d(F.pad(x, (left, right, top, bottom)), w, b, stride,
                               dilation=rate))
    torch.testing.assert_close(y, expected)
    assert y.shape[2:] == (-(-size // stride), -(-(size + 1) // stride))


def test_conv_valid_and_dilation_sizes():
    assert ones_conv(torch.randn(1, 1, 8, 8), 1, [3, 3], padding='VALID', rate=2).shape == \
        (1, 1, 4, 4)
    assert ones_conv(torch.randn(1, 1, 9, 9), 1, [3, 3], padding='valid', stride=2,
                     scope='v2').shape == (1, 1, 4, 4)


def test_conv_variables_names_layout_and_options():
    x = torch.randn(2, 3, 6, 6)
    slim.conv2d(x, 5, [3, 2], scope='conv1')
    slim.conv2d(x, 5, 1, biases_initializer=None, scope='nobias')
    assert names() == ['conv1/weights', 'conv1/biases', 'nobias/weights']
    assert slim.get_unique_variable('conv1/weights').shape == (5, 3, 3, 2)  # TF [3, 2, 3, 5]
    assert names() == [v.name for v in slim.get_trainable_variables()]
    slim.conv2d(x, 5, 1, trainable=False, scope='frozen')
    assert 'frozen/weights' not in [v.name for v in slim.get_trainable_variables()]
    assert 'frozen/weights' in names()


def test_conv_nhwc_equals_nchw():
    x = torch.randn(2, 3, 9, 9)
    a = slim.conv2d(x, 4, [3, 3], stride=2, scope='nchw')
    slim.conv2d(x.permute(0, 2, 3, 1), 4, [3, 3], stride=2, data_format='NHWC', scope='nhwc')
    with torch.no_grad():
        for name in ('weights', 'biases'):
            slim.get_unique_variable('nhwc/' + name).copy_(slim.get_unique_variable('nchw/' + name))
    b = slim.conv2d(x.permute(0, 2, 3, 1), 4, [3, 3], stride=2, data_format='NHWC',
                    scope='nhwc', reuse=True)
    assert b.shape == (2, 5, 5, 4)
    torch.testing.assert_close(b.permute(0, 3, 1, 2), a)
    p = slim.max_pool2d(x.permute(0, 2, 3, 1), [3, 3], padding='SAME', data_format='NHWC')
    torch.testing.assert_close(p.permute(0, 3, 1, 2), slim.max_pool2d(x, [3, 3], padding='SAME'))
    with pytest.raises(ValueError, match="bad: data_format must be 'NCHW' or 'NHWC'"):
        slim.conv2d(x, 4, [3, 3], data_format='NDHWC', scope='bad')


def test_conv_with_normalizer_fn_has_no_biases_and_runs_in_scope():
    @slim.add_arg_scope
    def scale_norm(x, factor=1.0, scope=None):
        with slim.variable_scope(scope, 'ScaleNorm'):
            gamma = slim.model_variable('gamma', shape=[x.shape[1]],
                                        initializer=slim.constant_initializer(factor))
        return x * gamma.view(1, -1, 1, 1)

    x = torch.randn(2, 3, 5, 5)
    y = slim.conv2d(x, 4, [3, 3], normalizer_fn=scale_norm, normalizer_params={'factor': 2.0},
                    scope='conv1')
    assert names() == ['conv1/weights', 'conv1/ScaleNorm/gamma']
    w = slim.get_unique_variable('conv1/weights')
    torch.testing.assert_close(y, F.relu(2.0 * F.conv2d(x, w, padding=1)))


def test_conv_rejects_bad_arguments_naming_the_scope():
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(ValueError, match="c1: rate > 1 cannot be combined with stride > 1"):
        slim.conv2d(x, 4, [3, 3], stride=2, rate=2, scope='c1')
    with pytest.raises(ValueError, match="c2: padding must be 'SAME' or 'VALID'"):
        slim.conv2d(x, 4, [3, 3], padding='FULL', scope='c2')
    with pytest.raises(ValueError, match=r"c3: kernel_size must be an int or a sequence of 2 ints"):
        slim.conv2d(x, 4, [3, 3, 3], scope='c3')
    with pytest.raises(ValueError, match=r"net/c4: conv2d expects a 4-D input"):
        with slim.variable_scope('net'):
            slim.conv2d(torch.randn(3, 8), 4, [3, 3], scope='c4')


# -- fully_connected --------------------------------------------------------------
def test_fully_connected_acts_on_the_feature_dimension():
    x2, x3, x4 = torch.randn(2, 5), torch.randn(2, 3, 5), torch.randn(2, 5, 4, 3)
    assert slim.fully_connected(x2, 7, scope='a').shape == (2, 7)
    assert slim.fully_connected(x3, 7, scope='b').shape == (2, 3, 7)
    y4 = slim.fully_connected(x4, 7, activation_fn=None, scope='c')
    assert y4.shape == (2, 7, 4, 3)
    w, b = slim.get_unique_variable('c/weights'), slim.get_unique_variable('c/biases')
    assert w.shape == (7, 5)  # TF's [5, 7], transposed
    torch.testing.assert_close(y4, F.linear(x4.movedim(1, -1), w, b).movedim(-1, 1))
    y5 = slim.fully_connected(torch.randn(2, 5, 2, 2, 2), 3, scope='d')
    assert y5.shape == (2, 3, 2, 2, 2)


def test_fully_connected_matches_linear_and_checks_arguments():
    x = torch.randn(4, 6)
    y = slim.fully_connected(x, 3, scope='fc')
    w, b = slim.get_unique_variable('fc/weights'), slim.get_unique_variable('fc/biases')
    torch.testing.assert_close(y, F.relu(F.linear(x, w, b)))
    with pytest.raises(ValueError, match="fc2: num_outputs should be int or long, got 3.0"):
        slim.fully_connected(x, 3.0, scope='fc2')
    with pytest.raises(ValueError, match="fc3: fully_connected expects an input of rank >= 2"):
        slim.fully_connected(torch.randn(6), 3, scope='fc3')


# -- pooling ------------------------------------------------------------------------
def test_pool_defaults_are_stride_2_valid():
    x = torch.randn(1, 2, 7, 7)
    torch.testing.assert_close(slim.max_pool2d(x, [2, 2]), F.max_pool2d(x, 2, 2))
    torch.testing.assert_close(slim.avg_pool2d(x, 3), F.avg_pool2d(x, 3, 2))
    assert slim.max_pool2d(x, [2, 2]).shape == (1, 2, 3, 3)
    assert slim.max_pool2d(x, [3, 3], padding='SAME').shape == (1, 2, 4, 4)


@pytest.mark.parametrize('size,kernel,stride', [(7, 3, 2), (8, 3, 2), (8, 2, 2), (5, 3, 1),
                                                (6, 4, 1), (9, 5, 3)])
def test_same_pooling_matches_a_direct_window_computation(size, kernel, stride):
    x = torch.randn(1, 2, size, size)
    pt, pb = same_padding(size, kernel, stride)
    out = -(-size // stride)
    want_max = torch.empty(1, 2, out, out)
    want_avg = torch.empty(1, 2, out, out)
    for i in range(out):
        for j in range(out):
            r0, c0 = i * stride - pt, j * stride - pt
            window = x[:, :, max(r0, 0):min(r0 + kernel, size), max(c0, 0):min(c0 + kernel, size)]
            want_max[:, :, i, j] = window.amax(dim=(2, 3))
            want_avg[:, :, i, j] = window.mean(dim=(2, 3))  # real cells only
    torch.testing.assert_close(slim.max_pool2d(x, kernel, stride, padding='SAME'), want_max)
    torch.testing.assert_close(slim.avg_pool2d(x, kernel, stride, padding='SAME'), want_avg)


def test_avg_pool_same_keeps_ones_at_one():
    y = slim.avg_pool2d(torch.ones(1, 1, 5, 5), [3, 3], stride=1, padding='SAME')
    assert torch.equal(y, torch.ones(1, 1, 5, 5))


def test_pool_bad_input_names_the_scope():
    with pytest.raises(ValueError, match=r"pool1: expected a 4-D input"):
        slim.max_pool2d(torch.randn(3, 4, 4), [2, 2], scope='pool1')


# -- dropout, flatten, softmax --------------------------------------------------------
def test_dropout_keep_prob_and_is_training():
    x = torch.ones(10000)
    y = slim.dropout(x, keep_prob=0.8)  # outside a model: is_training defaults to True
    assert set(y.unique().tolist()) == {0.0, 1.25}
    assert abs((y == 0).float().mean().item() - 0.2) < 0.02
    assert torch.equal(slim.dropout(x, 0.8, is_training=False), x)
    assert torch.equal(slim.dropout(x, 1.0), x)
    m = slim.dropout(torch.ones(4, 3, 2, 2), 0.5, noise_shape=[4, 3, 1, 1], seed=1)
    assert (m.amax(dim=(2, 3)) == m.amin(dim=(2, 3))).all()  # one draw per channel
    with pytest.raises(ValueError, match="keep_prob must be in"):
        slim.dropout(x, 0.0)


def test_flatten_orders_features_like_tf_nhwc():
    x = torch.arange(2 * 3 * 2 * 2.).reshape(2, 3, 2, 2)
    y = slim.flatten(x)
    assert y.shape == (2, 12)
    torch.testing.assert_close(y, x.permute(0, 2, 3, 1).reshape(2, -1))
    assert slim.flatten(torch.randn(2, 3, 4)).shape == (2, 12)


def test_softmax_over_the_feature_dimension():
    x = torch.randn(2, 5)
    torch.testing.assert_close(slim.softmax(x), torch.softmax(x, -1))
    img = torch.randn(2, 5, 3, 3)
    torch.testing.assert_close(slim.softmax(img), torch.softmax(img, 1))


# -- repeat and stack -----------------------------------------------------------------
def test_repeat_and_stack_names_with_and_without_scope():
    x = torch.randn(1, 3, 4, 4)
    slim.repeat(x, 2, slim.conv2d, 4, [3, 3])
    slim.stack(torch.randn(2, 5), slim.fully_connected, [8, 6])
    slim.repeat(x, 2, slim.conv2d, 4, [3, 3])
    assert names()[::2] == ['Repeat/convolution2d_1/weights', 'Repeat/convolution2d_2/weights',
                            'Stack/fully_connected_1/weights', 'Stack/fully_connected_2/weights',
                            'Repeat_1/convolution2d_1/weights',
                            'Repeat_1/convolution2d_2/weights']


def test_stack_shapes_and_arguments():
    y = slim.stack(torch.randn(2, 5), slim.fully_connected, [32, 64, 128], scope='fc')
    assert y.shape == (2, 128)
    assert [tuple(v.shape) for v in slim.get_model_variables()[::2]] == [(32, 5), (64, 32),
                                                                         (128, 64)]
    with pytest.raises(ValueError, match="stack_args need to be a list or tuple"):
        slim.stack(torch.randn(2, 5), slim.fully_connected, 3)


def test_repeat_passes_keyword_arguments_to_every_call():
    slim.repeat(torch.randn(1, 3, 8, 8), 2, slim.conv2d, 4, [3, 3], stride=2, scope='down')
    assert slim.get_unique_variable('down/down_2/weights').shape == (4, 4, 3, 3)
    y = slim.repeat(torch.randn(1, 3, 8, 8), 2, slim.conv2d, 4, [3, 3], stride=2, scope='d2')
    assert y.shape == (1, 4, 2, 2)


def test_a_built_conv_runs_each_calls_settings_on_its_variables():
    """As in TF-Slim, a shared layer takes its stride (padding, rate) per call;
    only what the variables fix (kernel size, depth) must match."""
    def net(x, stride=1):
        return slim.conv2d(x, 4, [3, 3], stride=stride, scope="conv")
    model = slim.Model(net)
    x = torch.randn(1, 3, 8, 8)
    assert model(x).shape == (1, 4, 8, 8)
    strided = model(x, stride=2)
    assert strided.shape == (1, 4, 4, 4)
    expected = F.relu(F.conv2d(F.pad(x, [0, 1, 0, 1]), model.conv.weights, model.conv.biases,
                               stride=2))
    torch.testing.assert_close(strided, expected)
    with slim.Graph():
        slim.conv2d(torch.randn(1, 3, 8, 8), 4, [3, 3], scope="shared")
        with pytest.raises(ValueError, match=r"shared: called with kernel_size=\(5, 5\)"):
            slim.conv2d(torch.randn(1, 3, 8, 8), 4, [5, 5], scope="shared", reuse=True)
