"""tf_slim/layers/layers_test.py, the pooling classes: AvgPool2DTest,
AvgPool3DTest, MaxPool2DTest, MaxPool3DTest (one parameterized set: their
methods are the same for the four ops) and PoolTest.

Translation: NHWC -> NCHW; TF's default layout becomes slimtorch's default
(channels-first) and TF's ``data_format='NCHW'``/``'NCDHW'`` tests become
tests of the other layout (``'NHWC'``/``'NDHWC'``). ``output.op.name ==
'AvgPool2D/AvgPool'`` becomes the output's name in an outputs collection
(``'AvgPool2D'``; the op-type suffix has no eager counterpart). TF's error
text "data_format has to be either NCHW or NHWC." is slimtorch's
"data_format must be 'NCHW' or 'NHWC'".

| tf_slim class | translated | passing | documented difference | untranslatable |
|---|---:|---:|---:|---:|
| AvgPool2DTest | 10 | 10 | 0 | 0 |
| AvgPool3DTest | 10 | 10 | 0 | 0 |
| MaxPool2DTest | 10 | 10 | 0 | 0 |
| MaxPool3DTest | 10 | 10 | 0 | 0 |
| PoolTest | 11 | 11 | 0 | 0 |

Untranslatable: none. Beyond the translation: values of ``slim.pool``
against hand-computed numbers and torch (dilation, 'SAME' averages, 1-D).
"""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim


def output_name(fn, *args, **kwargs):
    out = fn(*args, outputs_collections='__names__', **kwargs)
    return out, slim.get_collection('__names__')[-1].name


# (builder, TF default name, channels-first input, other layout, VALID/SAME outputs,
#  TF's invalid data_format)
_POOLS = {
    'AvgPool2D': (slim.avg_pool2d, [5, 3, 3, 6], 'NHWC', [5, 3, 1, 2], [5, 3, 2, 3], 'CHWN'),
    'MaxPool2D': (slim.max_pool2d, [5, 3, 3, 6], 'NHWC', [5, 3, 1, 2], [5, 3, 2, 3], 'CHWN'),
    'AvgPool3D': (slim.avg_pool3d, [5, 3, 3, 6, 9], 'NDHWC', [5, 3, 1, 2, 4], [5, 3, 2, 3, 5],
                  'CDHWN'),
    'MaxPool3D': (slim.max_pool3d, [5, 3, 3, 6, 9], 'NDHWC', [5, 3, 1, 2, 4], [5, 3, 2, 3, 5],
                  'CDHWN'),
}
POOLS = pytest.mark.parametrize('name', list(_POOLS))


def last(shape):
    """A channels-first shape as channels-last."""
    return [shape[0], *shape[2:], shape[1]]


class TestPool2D3D:
    @POOLS
    def test_invalid_data_format(self, name):
        fn, size, other, *_, bad = _POOLS[name]
        names = ("'NCHW' or 'NHWC'" if other == 'NHWC' else "'NCDHW' or 'NDHWC'")
        with pytest.raises(ValueError, match=f"data_format must be {names}"):
            fn(torch.rand(*size), 3, data_format=bad)

    @POOLS
    def test_create_pool(self, name):
        fn, size, _, valid, *_ = _POOLS[name]
        output, alias = output_name(fn, torch.rand(*size), [3] * (len(size) - 2))
        assert alias == name
        assert list(output.shape) == valid

    @POOLS
    def test_create_pool_other_layout(self, name):    # TF: testCreate*PoolNCHW / NCDHW
        fn, size, other, valid, *_ = _POOLS[name]
        output = fn(torch.rand(*last(size)), [3] * (len(size) - 2), data_format=other)
        assert list(output.shape) == last(valid)

    @POOLS
    def test_collect_outputs(self, name):
        fn, size, *_ = _POOLS[name]
        output = fn(torch.rand(*size), [3] * (len(size) - 2), outputs_collections='outputs')
        collected = slim.get_collection('outputs')[0]
        assert collected.name == name
        assert collected.outputs is output

    @POOLS
    def test_create_square_pool(self, name):
        fn, size, _, valid, *_ = _POOLS[name]
        output, alias = output_name(fn, torch.rand(*size), 3)
        assert alias == name
        assert list(output.shape) == valid

    @POOLS
    def test_create_pool_with_scope(self, name):
        fn, size, *_ = _POOLS[name]
        _, alias = output_name(fn, torch.rand(*size), 3, scope='pool1')
        assert alias == 'pool1'

    @POOLS
    def test_create_pool_with_same_padding(self, name):
        fn, size, _, _, same, _ = _POOLS[name]
        assert list(fn(torch.rand(*size), 3, padding='SAME').shape) == same

    @POOLS
    def test_create_pool_with_same_padding_other_layout(self, name):
        fn, size, other, _, same, _ = _POOLS[name]
        output = fn(torch.rand(*last(size)), 3, padding='SAME', data_format=other)
        assert list(output.shape) == last(same)

    @POOLS
    def test_create_pool_stride_with_same_padding(self, name):
        fn, size, *_ = _POOLS[name]
        assert list(fn(torch.rand(*size), 3, stride=1, padding='SAME').shape) == size

    @POOLS
    def test_global_pool(self, name):
        fn, size, *_ = _POOLS[name]
        output = fn(torch.rand(*size), list(size[2:]), stride=1)
        assert list(output.shape) == [5, 3] + [1] * (len(size) - 2)


# -- PoolTest ----------------------------------------------------------------------------
class TestPool:
    def test_create_pool(self):
        output, alias = output_name(slim.pool, torch.rand(5, 3, 3, 3), [3, 3], pooling_type='AVG')
        assert alias == 'avg_pool'
        assert list(output.shape) == [5, 3, 1, 1]

    def test_create_pool_other_layout(self):    # TF: testCreatePoolNCHW
        output, alias = output_name(slim.pool, torch.rand(5, 3, 3, 3), [3, 3], pooling_type='AVG',
                                    data_format='NHWC')
        assert alias == 'avg_pool'
        assert list(output.shape) == [5, 1, 1, 3]

    def test_collect_outputs(self):
        output = slim.pool(torch.rand(5, 3, 3, 3), [3, 3], pooling_type='AVG',
                           outputs_collections='outputs')
        collected = slim.get_collection('outputs')[0]
        assert collected.name == 'avg_pool'
        assert collected.outputs is output

    def test_create_square_avg_pool(self):
        output, alias = output_name(slim.pool, torch.rand(5, 3, 3, 3), 3, pooling_type='AVG')
        assert alias == 'avg_pool'
        assert list(output.shape) == [5, 3, 1, 1]

    def test_create_max_pool_with_scope(self):
        _, alias = output_name(slim.pool, torch.rand(5, 3, 3, 3), [3, 3], pooling_type='MAX',
                               scope='pool1')
        assert alias == 'pool1'

    def test_create_max_pool_with_same_padding(self):
        output = slim.pool(torch.rand(5, 3, 3, 3), [3, 3], pooling_type='MAX', padding='SAME')
        assert list(output.shape) == [5, 3, 3, 3]

    def test_create_avg_pool_stride_with_same_padding(self):
        output = slim.pool(torch.rand(5, 3, 3, 3), [3, 3], stride=1, padding='SAME',
                           pooling_type='AVG')
        assert list(output.shape) == [5, 3, 3, 3]

    def test_global_avg_pool(self):
        images = torch.rand(5, 3, 3, 3)
        output = slim.pool(images, list(images.shape[2:]), stride=1, pooling_type='AVG')
        assert list(output.shape) == [5, 3, 1, 1]

    def test_avg_pool_with_stride(self):
        output = slim.pool(torch.rand(5, 3, 5, 8), [2, 3], stride=[1, 2], pooling_type='AVG')
        assert list(output.shape) == [5, 3, 4, 3]

    def test_avg_pool_with_dilation(self):
        output = slim.pool(torch.rand(5, 3, 5, 8), [2, 3], dilation_rate=[1, 2],
                           pooling_type='AVG')
        assert list(output.shape) == [5, 3, 4, 4]

    def test_avg_pool_with_dilation_other_layout(self):   # TF: ...NCHW
        output = slim.pool(torch.rand(5, 5, 8, 3), [2, 3], dilation_rate=[1, 2],
                           pooling_type='AVG', data_format='NHWC')
        assert list(output.shape) == [5, 4, 4, 3]


# -- slim.pool's values ------------------------------------------------------------------
def test_dilated_pool_values():
    x = torch.randn(2, 3, 7, 9)
    expected_max = F.max_pool2d(x, [2, 3], 1, 0, [2, 2])
    torch.testing.assert_close(slim.pool(x, [2, 3], 'MAX', dilation_rate=2), expected_max)
    # The mean of x[i + 2a, j + 2b] over a < 2, b < 3.
    windows = [x[:, :, 2 * a:2 * a + 5, 2 * b:2 * b + 5] for a in range(2) for b in range(3)]
    torch.testing.assert_close(slim.pool(x, [2, 3], 'AVG', dilation_rate=2),
                               torch.stack(windows).mean(0))


def test_avg_same_padding_leaves_padding_out_of_the_average():
    x = torch.arange(1., 5.).reshape(1, 1, 4)          # 1-D: [1, 2, 3, 4]
    # SAME, window 3, stride 1: pads one each side; the ends average 2 cells.
    assert slim.pool(x, 3, 'AVG', padding='SAME').flatten().tolist() == [1.5, 2.0, 3.0, 3.5]
    # Max ignores the padding even for negative inputs.
    assert slim.pool(-x, 2, 'MAX', padding='SAME', stride=2).flatten().tolist() == [-1.0, -3.0]


def test_pool_3d_matches_the_fixed_rank_pools():
    x = torch.randn(1, 2, 5, 6, 7)
    torch.testing.assert_close(slim.pool(x, 3, 'MAX', stride=2, padding='SAME'),
                               slim.max_pool3d(x, 3, stride=2, padding='SAME'))
    torch.testing.assert_close(slim.pool(x, 3, 'AVG', stride=2, padding='SAME'),
                               slim.avg_pool3d(x, 3, stride=2, padding='SAME'))


@pytest.mark.parametrize('kwargs, message', [
    ({'pooling_type': 'MIN'}, "pooling_type must be 'MAX' or 'AVG'"),
    ({'pooling_type': 'MAX', 'dilation_rate': 2, 'stride': 2}, 'dilation_rate > 1'),
    ({'pooling_type': 'AVG', 'dilation_rate': 2, 'padding': 'SAME'},
     "'SAME' padding is not implemented for dilation_rate > 1"),
    ({'pooling_type': 'MAX', 'stride': 3}, 'strides > window_shape'),
    ({'pooling_type': 'MAX', 'data_format': 'NHWC'}, "data_format must be 'NCW' or 'NWC'"),
])
def test_pool_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        slim.pool(torch.rand(1, 2, 8), 2, **kwargs)
