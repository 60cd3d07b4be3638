"""3-D pools, bias_add, one_hot_encoding, unit_norm, maxout, scale_gradient,
spatial_softmax and the fully_connected shorthands, against hand-computed
values and torch.nn.functional; and end_points from outputs_collections."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.layers.misc import (bias_add, elu, linear, maxout, one_hot_encoding, relu, relu6,
                                   scale_gradient, spatial_softmax, unit_norm)
from slimtorch.layers.padding import same_padding
from slimtorch.layers.pool import avg_pool3d, max_pool3d


def names():
    return [v.name for v in slim.get_model_variables()]


# -- 3-D pooling ------------------------------------------------------------------------
@pytest.mark.parametrize('kernel,stride', [(2, 2), ([2, 3, 1], [1, 2, 3]), (3, 1)])
def test_pool3d_valid_matches_functional(kernel, stride):
    x = torch.randn(2, 3, 6, 7, 8)
    torch.testing.assert_close(max_pool3d(x, kernel, stride), F.max_pool3d(x, kernel, stride))
    torch.testing.assert_close(avg_pool3d(x, kernel, stride), F.avg_pool3d(x, kernel, stride))


def test_pool3d_defaults_are_stride_2_valid():
    x = torch.randn(1, 2, 5, 7, 7)
    assert max_pool3d(x, 2).shape == (1, 2, 2, 3, 3)
    torch.testing.assert_close(avg_pool3d(x, [3, 3, 3]), F.avg_pool3d(x, 3, 2))


@pytest.mark.parametrize('size', [(5, 6, 7), (4, 4, 4)])
@pytest.mark.parametrize('kernel,stride', [((3, 3, 3), (2, 2, 2)), ((2, 3, 4), (1, 2, 3)),
                                           ((3, 1, 2), (1, 1, 2))])
def test_pool3d_same_matches_a_direct_window_computation(size, kernel, stride):
    x = torch.randn(1, 2, *size)
    pads = [same_padding(n, k, s) for n, k, s in zip(size, kernel, stride)]
    out = [-(-n // s) for n, s in zip(size, stride)]
    want_max, want_avg = torch.empty(1, 2, *out), torch.empty(1, 2, *out)
    for idx in itertools.product(*map(range, out)):
        starts = [i * s - p for i, s, (p, _) in zip(idx, stride, pads)]
        window = x[(slice(None), slice(None)) + tuple(
            slice(max(b, 0), min(b + k, n)) for b, k, n in zip(starts, kernel, size))]
        want_max[(slice(None), slice(None)) + idx] = window.amax(dim=(2, 3, 4))
        want_avg[(slice(None), slice(None)) + idx] = window.mean(dim=(2, 3, 4))  # real cells
    torch.testing.assert_close(max_pool3d(x, kernel, stride, padding='SAME'), want_max)
    torch.testing.assert_close(avg_pool3d(x, kernel, stride, padding='same'), want_avg)


def test_pool3d_ndhwc_equals_ncdhw():
    x = torch.randn(2, 3, 5, 6, 7)
    for pool in (max_pool3d, avg_pool3d):
        y = pool(x.permute(0, 2, 3, 4, 1), [3, 2, 3], padding='SAME', data_format='NDHWC')
        torch.testing.assert_close(y.permute(0, 4, 1, 2, 3),
                                   pool(x, [3, 2, 3], padding='SAME', data_format='NCDHW'))


def test_pool3d_bad_arguments_name_the_scope():
    x = torch.randn(1, 1, 4, 4, 4)
    with pytest.raises(ValueError, match=r"^net/MaxPool3D: expected a 5-D input"):
        with slim.variable_scope('net'):
            max_pool3d(torch.randn(1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"^p: data_format must be 'NCDHW' or 'NDHWC'"):
        avg_pool3d(x, 2, data_format='NHWC', scope='p')
    with pytest.raises(ValueError, match=r"^AvgPool3D: kernel_size must be an int or a sequence of 3 ints"):
        avg_pool3d(x, [2, 2])
    with pytest.raises(ValueError, match=r"^MaxPool2D: stride must be >= 1, got 0"):
        slim.max_pool2d(torch.randn(1, 1, 4, 4), 2, stride=0)


# -- bias_add -----------------------------------------------------------------------------
def test_bias_add_variable_and_output_on_the_channel_dim():
    x = torch.randn(2, 3, 4, 5)
    y = bias_add(x, initializer=slim.constant_initializer([1., 2., 3.]))
    assert names() == ['BiasAdd/biases']
    assert slim.get_unique_variable('BiasAdd/biases').shape == (3,)
    torch.testing.assert_close(y, x + torch.tensor([1., 2., 3.]).view(1, 3, 1, 1))
    z = bias_add(torch.randn(2, 7, 6), activation_fn=torch.relu)  # rank 3: the last dim
    assert names()[-1] == 'BiasAdd_1/biases'
    assert slim.get_unique_variable('BiasAdd_1/biases').shape == (6,) and (z >= 0).all()


def test_bias_add_nhwc_equals_nchw_and_options():
    x = torch.randn(2, 3, 4, 5)
    init = slim.constant_initializer([1., -2., 3.])
    a = bias_add(x, initializer=init, data_format='NCHW', scope='a')
    b = bias_add(x.permute(0, 2, 3, 1), initializer=init, data_format='NHWC', scope='b')
    torch.testing.assert_close(b.permute(0, 3, 1, 2), a)
    bias_add(x, trainable=False, variables_collections=['extra'], scope='frozen',
             regularizer=slim.l2_regularizer(1.0))
    assert 'frozen/biases' not in [v.name for v in slim.get_trainable_variables()]
    assert [v.name for v in slim.get_variables(collection='extra')] == ['frozen/biases']
    assert bias_add(x, scope='a', reuse=True) is not None and len(names()) == 3
    with pytest.raises(ValueError, match=r"^n: data_format 'NCHW' only supports 4-D inputs"):
        bias_add(torch.randn(2, 3), data_format='NCHW', scope='n')
    with pytest.raises(ValueError, match=r"^r: bias_add expects an input of rank >= 2"):
        bias_add(torch.randn(3), scope='r')


def test_bias_add_as_normalizer_fn_lives_in_the_layer_scope():
    x = torch.randn(2, 3, 6, 6)
    slim.conv2d(x, 4, [3, 3], normalizer_fn=bias_add, scope='conv1')
    assert names() == ['conv1/weights', 'conv1/BiasAdd/biases']


# -- one_hot_encoding, unit_norm, maxout -------------------------------------------------
def test_one_hot_encoding_values():
    y = one_hot_encoding(torch.tensor([0, 2, 1], dtype=torch.int32), 3)
    assert y.dtype == torch.float32
    assert y.tolist() == [[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]]
    z = one_hot_encoding([[1, 5], [-1, 0]], 3, on_value=0.75, off_value=0.125)
    assert z.shape == (2, 2, 3)
    assert z[0, 0].tolist() == [0.125, 0.75, 0.125]
    assert z[0, 1].tolist() == z[1, 0].tolist() == [0.125] * 3  # out of range: all off (TF)
    with pytest.raises(ValueError, match=r"^labels/OneHotEncoding: labels must be integers"):
        with slim.variable_scope('labels'):
            one_hot_encoding(torch.tensor([0.0]), 3)


def test_unit_norm_formula_and_dim_check():
    x = torch.randn(2, 3, 4, 5)
    for dim in range(4):
        want = x / torch.sqrt(1e-7 + (x * x).sum(dim, keepdim=True))
        torch.testing.assert_close(unit_norm(x, dim), want)
    torch.testing.assert_close(unit_norm(x, 1).norm(dim=1), torch.ones(2, 4, 5))
    assert unit_norm(torch.zeros(1, 3), 1, epsilon=1.0).tolist() == [[0., 0., 0.]]
    with pytest.raises(ValueError, match=r"^net/un: dim must be positive but smaller"):
        with slim.variable_scope('net'):
            unit_norm(x, 4, scope='un')
    with pytest.raises(ValueError, match=r"^UnitNorm_\d+: dim must be positive"):
        unit_norm(x, -1)


def test_maxout_hand_computed_and_channel_axis():
    x = torch.tensor([[1., 5., 2., 0., 3., 4.]])
    assert maxout(x, 2).tolist() == [[5., 4.]]          # groups {0,1,2} {3,4,5}
    assert maxout(x, 3).tolist() == [[5., 2., 4.]]      # groups {0,1} {2,3} {4,5}
    img = torch.randn(2, 6, 3, 4)
    y = maxout(img, 3, axis=1)
    assert y.shape == (2, 3, 3, 4)
    want = torch.stack([img[:, 2 * u:2 * u + 2].amax(1) for u in range(3)], 1)
    torch.testing.assert_close(y, want)
    torch.testing.assert_close(maxout(img.permute(0, 2, 3, 1), 3).permute(0, 3, 1, 2), y)
    with pytest.raises(ValueError, match=r"^MaxOut_\d+: number of features\(5\) is not a "
                                         r"multiple of num_units\(2\)"):
        maxout(torch.randn(2, 5), 2)


# -- scale_gradient ----------------------------------------------------------------------
def test_scale_gradient_multiplies_only_the_gradient():
    x = torch.randn(2, 3, requires_grad=True)
    w = torch.randn(2, 3)
    y = scale_gradient(x, 0.25)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    torch.testing.assert_close(x.grad, 0.25 * w)
    x.grad = None
    m = torch.tensor([[-1.0], [2.0]], requires_grad=True)   # broadcastable; -1 reverses
    (scale_gradient(x, m) * w).sum().backward()
    torch.testing.assert_close(x.grad, w * torch.tensor([[-1.0], [2.0]]))
    assert m.grad is None


# -- spatial_softmax ---------------------------------------------------------------------
def test_spatial_softmax_of_hot_pixels_gives_their_coordinates():
    f = torch.full((2, 2, 3, 5), -1e4)
    f[0, 0, 0, 4] = f[0, 1, 2, 0] = f[1, 0, 1, 2] = f[1, 1, 2, 3] = 0.0
    y = spatial_softmax(f)
    # [x_c0, y_c0, x_c1, y_c1]; x: row in linspace(-1, 1, 3), y: column in linspace(-1, 1, 5)
    assert y.tolist() == [[-1.0, 1.0, 1.0, -1.0], [0.0, 0.0, 1.0, 0.5]]
    assert names() == ['spatial_softmax/temperature']
    t = slim.get_unique_variable('spatial_softmax/temperature')
    assert t.shape == () and t.item() == 1.0 and t.requires_grad
    nhwc = spatial_softmax(f.permute(0, 2, 3, 1), data_format='NHWC', name='kp')
    torch.testing.assert_close(nhwc, y)


def test_spatial_softmax_hand_computed_with_temperature():
    f = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    y = spatial_softmax(f, temperature=2.0, name='ss')
    p = torch.softmax(torch.tensor([0.0, 1.0, 2.0, 3.0]) / 2.0, 0)
    want = torch.stack([p[2] + p[3] - p[0] - p[1], p[1] + p[3] - p[0] - p[2]])
    torch.testing.assert_close(y, want.view(1, 2))
    t = slim.get_unique_variable('ss/temperature')
    assert t.item() == 2.0
    y.sum().backward()
    assert t.grad is not None
    spatial_softmax(f, trainable=False, variables_collections=['extra'], name='fixed')
    assert 'fixed/temperature' not in [v.name for v in slim.get_trainable_variables()]
    assert slim.get_variables(collection='extra') == []  # TF-Slim ignores them if not trainable
    with pytest.raises(ValueError, match=r"^bad: spatial_softmax expects a 4-D input"):
        spatial_softmax(torch.randn(2, 3), name='bad')


# -- relu, relu6, elu, linear ------------------------------------------------------------
def test_fully_connected_shorthands():
    x = torch.tensor([[-3.0, 1.0], [2.0, 5.0]])
    ones = slim.ones_initializer()
    assert relu(x, 1, weights_initializer=ones).flatten().tolist() == [0.0, 7.0]
    assert relu6(x, 1, weights_initializer=ones).flatten().tolist() == [0.0, 6.0]
    torch.testing.assert_close(elu(x, 1, weights_initializer=ones).flatten(),
                               torch.tensor([math.exp(-2.0) - 1.0, 7.0]))
    assert linear(x, 1, weights_initializer=ones).flatten().tolist() == [-2.0, 7.0]
    assert names()[::2] == ['fully_connected/weights', 'fully_connected_1/weights',
                            'fully_connected_2/weights', 'fully_connected_3/weights']
    assert not any(slim.has_arg_scope(f) for f in (relu, relu6, elu, linear))
    with slim.arg_scope([slim.fully_connected], weights_initializer=ones):  # reaches them
        assert linear(x, 1, scope='lin').flatten().tolist() == [-2.0, 7.0]
    with pytest.raises(ValueError, match="not decorated with @add_arg_scope"):
        with slim.arg_scope([relu], num_outputs=3):
            pass


# -- end_points --------------------------------------------------------------------------
def test_outputs_collections_give_tf_slim_end_points_per_call():
    ops = [slim.conv2d, slim.max_pool2d, slim.avg_pool2d, max_pool3d, avg_pool3d, bias_add,
           one_hot_encoding]

    def net(x, labels):
        outs = []
        with slim.variable_scope('net'):
            with slim.arg_scope(ops, outputs_collections=['ends']):
                outs.append(slim.conv2d(x, 4, [3, 3], scope='conv1'))
                outs.append(slim.max_pool2d(outs[-1], [2, 2], scope='pool1'))
                outs.append(bias_add(outs[-1]))
                outs.append(bias_add(outs[-1]))
                outs.append(max_pool3d(outs[-1].unsqueeze(2), [1, 2, 2], scope='pool3d'))
                outs.append(avg_pool3d(outs[-1], 1, stride=1))
                outs.append(slim.avg_pool2d(outs[-1].squeeze(2), 2, padding='SAME'))
                outs.append(one_hot_encoding(labels, 5, scope='labels'))
                keypoints = spatial_softmax(outs[-2])
        return outs, keypoints, slim.utils.convert_collection_to_dict('ends')

    model = slim.Model(net)
    keys = ['net/conv1', 'net/pool1', 'net/BiasAdd', 'net/BiasAdd_1', 'net/pool3d',
            'net/AvgPool3D', 'net/AvgPool2D', 'net/labels']
    for _ in range(2):  # the second call runs the built model (apply mode)
        outs, keypoints, ends = model(torch.randn(2, 3, 8, 8), torch.tensor([1, 4]))
        assert list(ends) == keys
        assert all(ends[k] is out for k, out in zip(keys, outs))
        assert keypoints.shape == (2, 8)
    assert ends['net/AvgPool2D'].shape == (2, 4, 1, 1)
    assert sorted(model.state_dict()) == [
        'net.BiasAdd.biases', 'net.BiasAdd_1.biases', 'net.conv1.biases', 'net.conv1.weights',
        'net.spatial_softmax.temperature']
    assert slim.get_collection('ends') == []
