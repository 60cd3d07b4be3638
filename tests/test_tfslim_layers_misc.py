"""tf_slim/layers/layers_test.py: OneHotEncodingTest, RepeatTests,
ScaleGradientTests, SoftmaxTests, SpatialSoftmaxTests, StackTests,
UnitNormTests, MaxOutTest.

Translation: NHWC -> NCHW; TF's default layout becomes slimtorch's default
(channels-first; ``spatial_softmax``'s default is ``'NCHW'`` here) and TF's
``'NCHW'`` tests become tests of ``'NHWC'``. ``output.op.name ==
'Stack/fully_connected_3/Relu'`` becomes the output's name in an outputs
collection (``'Stack/fully_connected_3'``; the op-type suffix has no eager
counterpart) plus a check that the activation ran. A placeholder of unknown
rank has no eager counterpart; a placeholder of unknown sizes becomes a
built ``slim.Model`` called at several sizes.

| tf_slim class | translated | passing | documented difference | untranslatable |
|---|---:|---:|---:|---:|
| OneHotEncodingTest | 4 | 4 | 0 | 0 |
| RepeatTests | 2 | 2 | 0 | 0 |
| ScaleGradientTests | 1 | 1 | 0 | 0 |
| SoftmaxTests | 3 | 3 | 0 | 1 |
| SpatialSoftmaxTests | 8 | 8 | 0 | 0 |
| StackTests | 6 | 6 | 0 | 0 |
| UnitNormTests | 3 | 3 | 0 | 1 |
| MaxOutTest | 4 | 4 | 0 | 0 |

Untranslatable:
- SoftmaxTests.testSoftmaxUndefinedNthDimension — a placeholder of unknown
  rank; an eager tensor always has one (the rank < 2 error is tested instead).
- UnitNormTests.testUnknownRankRaisesError — the same: unknown rank.
"""

import math

import pytest
import torch

import slimtorch as slim


def output_name(fn, *args, **kwargs):
    out = fn(*args, outputs_collections='__names__', **kwargs)
    return out, slim.get_collection('__names__')[-1].name


# -- OneHotEncodingTest ------------------------------------------------------------------
class TestOneHotEncoding:
    def test_one_hot_encoding_create(self):
        output, name = output_name(slim.one_hot_encoding, torch.tensor([0, 1, 2]), num_classes=3)
        assert name == 'OneHotEncoding'
        assert list(output.shape) == [3, 3]

    def test_collect_outputs(self):
        output = slim.one_hot_encoding(torch.tensor([0, 1, 2]), num_classes=3,
                                       outputs_collections='outputs')
        collected = slim.get_collection('outputs')[0]
        assert collected.name == 'OneHotEncoding'
        assert collected.outputs is output

    @pytest.mark.parametrize('dtype', [torch.int64, torch.int32])  # ...Encoding, ...Int32
    def test_one_hot_encoding(self, dtype):
        output = slim.one_hot_encoding(torch.tensor([0, 1, 2], dtype=dtype), num_classes=3)
        torch.testing.assert_close(output, torch.eye(3))


# -- RepeatTests -------------------------------------------------------------------------
class TestRepeat:
    def test_repeat(self):
        images = torch.rand(5, 3, 3, 3) - 0.5
        output, name = output_name(slim.repeat, images, 3, slim.conv2d, 32, [3, 3])
        assert name == 'Repeat/convolution2d_3' and output.min() >= 0
        assert list(output.shape) == [5, 32, 3, 3]

    def test_repeat_with_scope(self):
        output, name = output_name(slim.repeat, torch.rand(5, 3, 3, 3), 3, slim.conv2d, 32,
                                   [3, 3], scope='conv1')
        assert name == 'conv1/conv1_3'
        assert list(output.shape) == [5, 32, 3, 3]


# -- ScaleGradientTests ------------------------------------------------------------------
def test_scale_gradient_basic():
    x = torch.tensor([42.0], requires_grad=True)
    y = slim.scale_gradient(x, torch.tensor([2.0]))
    assert torch.equal(x.detach(), y.detach())
    (g_x,) = torch.autograd.grad(y, [x], torch.tensor([3.0]))
    assert g_x.tolist() == [3 * 2]


# -- SoftmaxTests ------------------------------------------------------------------------
LOW = 1 / (1 + math.e)
HIGH = math.e / (1 + math.e)


def _logits_3d():
    logits = torch.ones(2, 3, 2)
    logits[0, 0, 0] = 0
    logits[1, 1, 1] = 0
    expected = 0.5 * torch.ones(2, 3, 2)
    expected[0, 0, 0], expected[0, 0, 1] = LOW, HIGH
    expected[1, 1, 0], expected[1, 1, 1] = HIGH, LOW
    return logits, expected


class TestSoftmax:
    def test_softmax_2d(self):
        prediction = slim.softmax(torch.tensor([[0.0, 1], [1, 1], [1, 0]]))
        expected = torch.tensor([[LOW, HIGH], [0.5, 0.5], [HIGH, LOW]])
        torch.testing.assert_close(prediction, expected)

    def test_softmax_3d(self):
        logits, expected = _logits_3d()
        torch.testing.assert_close(slim.softmax(logits), expected)

    def test_softmax_3d_unknown_size(self):
        logits, expected = _logits_3d()
        model = slim.Model(slim.softmax)
        torch.testing.assert_close(model(logits), expected)
        torch.testing.assert_close(model(logits[:1]), expected[:1])

    def test_softmax_rank_below_two_raises(self):
        with pytest.raises(ValueError, match='softmax expects rank >= 2'):
            slim.softmax(torch.ones(3))


# -- SpatialSoftmaxTests -----------------------------------------------------------------
def expected_keypoints(x_loc, y_loc, height, width, batch_size, nchannels):
    """TF's ``_SpatialSoftmax``: the specified locations mapped to [-1, 1]."""
    height_lin = torch.linspace(-1, 1, height, dtype=torch.float64)
    width_lin = torch.linspace(-1, 1, width, dtype=torch.float64)
    x_lin = torch.stack([height_lin[i] for i in x_loc])[:, None]
    y_lin = torch.stack([width_lin[i] for i in y_loc])[:, None]
    keypoints = torch.cat([x_lin, y_lin], dim=1).expand(batch_size, nchannels, 2)
    return keypoints.reshape(-1, nchannels * 2).float()


def hot_features(batch_shape, x_loc, y_loc, channels_last=False):
    features = torch.zeros(batch_shape)
    for c in range(len(x_loc)):
        if channels_last:
            features[:, x_loc[c], y_loc[c], c] = 100.
        else:
            features[:, c, x_loc[c], y_loc[c]] = 100.
    return features


class TestSpatialSoftmax:
    def test_spatial_softmax_shape(self):
        keypoints = slim.spatial_softmax(torch.zeros(2, 2, 35, 30))
        assert list(keypoints.shape) == [2, 2 * 2]

    def test_spatial_softmax_shape_nhwc(self):    # TF: ...ShapeNCHW
        keypoints = slim.spatial_softmax(torch.zeros(2, 35, 35, 2), data_format='NHWC')
        assert list(keypoints.shape) == [2, 2 * 2]

    def test_two_max_activations_same_channel(self):
        batch_size, height, width, nchannels = 2, 35, 35, 1
        features = torch.zeros(batch_size, nchannels, height, width)
        (x0, y0), (x1, y1) = (10, 10), (20, 20)
        features[:, :, x0, y0] = 100.
        features[:, :, x1, y1] = 100.
        expected = expected_keypoints([(x0 + x1) // 2], [(y0 + y1) // 2], height, width,
                                      batch_size, nchannels)
        torch.testing.assert_close(slim.spatial_softmax(features), expected)

    def test_max_activations_at_edges(self):
        batch_size, height, width, nchannels = 2, 35, 35, 4
        edges = [(0, 0), (0, width - 1), (height - 1, 0), (height - 1, width - 1)]
        x_loc, y_loc = zip(*edges)
        features = hot_features((batch_size, nchannels, height, width), x_loc, y_loc)
        expected = expected_keypoints(x_loc, y_loc, height, width, batch_size, nchannels)
        torch.testing.assert_close(slim.spatial_softmax(features), expected)

    def test_spatial_softmax_variable_sized(self):
        x_loc, y_loc = [15, 2], [10, 9]
        model = slim.Model(slim.spatial_softmax)
        for height, width in ((35, 30), (20, 20)):
            features = hot_features((2, 2, height, width), x_loc, y_loc)
            torch.testing.assert_close(model(features),
                                       expected_keypoints(x_loc, y_loc, height, width, 2, 2))

    def test_spatial_softmax(self):
        x_loc, y_loc = [15, 2], [10, 28]
        features = hot_features((2, 2, 35, 35), x_loc, y_loc)
        torch.testing.assert_close(slim.spatial_softmax(features),
                                   expected_keypoints(x_loc, y_loc, 35, 35, 2, 2))

    def test_spatial_softmax_nhwc(self):    # TF: testSpatialSoftmaxNCHW
        x_loc, y_loc = [15, 2], [10, 28]
        features = hot_features((2, 35, 35, 2), x_loc, y_loc, channels_last=True)
        torch.testing.assert_close(slim.spatial_softmax(features, data_format='NHWC'),
                                   expected_keypoints(x_loc, y_loc, 35, 35, 2, 2))

    def test_spatial_softmax_to_fully_connected(self):
        net = slim.fully_connected(slim.spatial_softmax(torch.zeros(2, 2, 35, 35)), 10)
        assert list(net.shape) == [2, 10]


# -- StackTests --------------------------------------------------------------------------
class TestStack:
    def test_stack_fully_connected(self):
        output, name = output_name(slim.stack, torch.rand(5, 27) - 0.5, slim.fully_connected,
                                   [10, 20, 30])
        assert name == 'Stack/fully_connected_3' and output.min() >= 0
        assert list(output.shape) == [5, 30]

    def test_stack_fully_connected_fail_on_reuse(self):
        with slim.variable_scope('test', reuse=True):
            with pytest.raises(ValueError):
                slim.stack(torch.rand(5, 27), slim.fully_connected, [10, 20, 30])

    def test_stack_relu(self):
        output, name = output_name(slim.stack, torch.rand(5, 27), slim.relu, [10, 20, 30])
        assert name == 'Stack/fully_connected_3' and output.min() >= 0
        assert list(output.shape) == [5, 30]

    def test_stack_elu(self):
        output, name = output_name(slim.stack, torch.rand(5, 27) - 0.5, slim.elu, [10, 20, 30])
        assert name == 'Stack/fully_connected_3'              # .../Elu
        assert output.min() > -1 and list(output.shape) == [5, 30]

    def test_stack_convolution2d(self):
        output, name = output_name(slim.stack, torch.rand(5, 3, 3, 3), slim.convolution2d,
                                   [10, 20, 30], kernel_size=[3, 3], padding='SAME')
        assert name == 'Stack/convolution2d_3'
        assert list(output.shape) == [5, 30, 3, 3]

    def test_stack_with_scope(self):
        output, name = output_name(slim.stack, torch.rand(5, 3, 3, 3), slim.convolution2d,
                                   [10, 20, 30], kernel_size=[3, 3], padding='SAME',
                                   scope='conv1')
        assert name == 'conv1/conv1_3'
        assert list(output.shape) == [5, 30, 3, 3]


# -- UnitNormTests -----------------------------------------------------------------------
class TestUnitNorm:
    def test_unit_norm_with_random_matrix(self):
        for dim in range(3):
            output = slim.unit_norm(torch.rand(2, 3, 3), dim=dim, epsilon=1e-6)
            norms = output.square().sum(dim).sqrt()
            torch.testing.assert_close(norms, torch.ones_like(norms), rtol=1e-4, atol=1e-4)

    def test_dim_equal_to_rank_raises_error(self):
        with pytest.raises(ValueError):
            slim.unit_norm(torch.rand(2, 3, 3), dim=3, epsilon=1e-6)

    def test_known_rank_unknown_dims_succeeds(self):
        for dim in range(3):
            model = slim.Model(lambda x, dim=dim: slim.unit_norm(x, dim=dim, epsilon=1e-6))
            output = model(torch.ones(2, 3, 3))
            norms = output.square().sum(dim).sqrt()
            torch.testing.assert_close(norms, torch.ones_like(norms), rtol=1e-4, atol=1e-4)


# -- MaxOutTest --------------------------------------------------------------------------
class TestMaxOut:
    def test_simple(self):
        assert list(slim.maxout(torch.rand(64, 10, 36), num_units=3).shape) == [64, 10, 3]

    def test_fully_connected(self):
        graph = slim.fully_connected(torch.rand(64, 50), 50)
        assert list(slim.maxout(graph, num_units=10).shape) == [64, 10]

    def test_nchw(self):
        # TF's test (named nchw) runs NHWC with axis=-1; the NCHW twin uses axis=1.
        graph = slim.conv2d(torch.rand(10, 3, 100, 100), 10, 3, padding='SAME')
        assert list(slim.maxout(graph, num_units=1, axis=1).shape) == [10, 1, 100, 100]

    def test_invalid_shape(self):
        graph = slim.conv2d(torch.rand(10, 3, 100, 100), 3, 10)
        with pytest.raises(ValueError, match='number of features'):
            slim.maxout(graph, num_units=2, axis=1)
