"""Translation of tf_slim/layers/normalization_test.py (InstanceNormTest, GroupNormTest).

NHWC -> NCHW: TF's NHWC tests run on NCHW tensors with slimtorch's default
``data_format`` (channels first); TF's NCHW tests pass ``data_format='NCHW'``.
``group_norm`` tests that name their axes keep them (the axes say where the
channels are); those that use TF-Slim's defaults (``channels_axis=-1,
reduction_axes=(-3, -2)``, NHWC) use slimtorch's (``1, (-2, -1)``, NCHW) on the
transposed tensor. TF's ``random_ops`` draws are torch's (the checks are
statistical, not of TF's random numbers).

| tf_slim test class | translated | passing | documented difference | untranslatable |
|---|---|---|---|---|
| InstanceNormTest | 15 | 15 | 0 | 3 |
| GroupNormTest | 19 | 19 | 0 | 4 |

Untranslatable:
- InstanceNormTest.testUnknownShape — a placeholder of undefined rank.
- InstanceNormTest.testParamsShapeNotFullyDefinedNCHW — a placeholder with an undefined channel
  dimension.
- InstanceNormTest.testParamsShapeNotFullyDefinedNHWC — likewise.
- GroupNormTest.testUnknownShape — a placeholder of undefined rank.
- GroupNormTest.testParamsShapeNotFullyDefinedReductionAxes — a placeholder with an undefined
  dimension.
- GroupNormTest.testParamsShapeNotFullyDefinedChannelsAxis — likewise.
- GroupNormTest.testParamsShapeNotFullyDefinedBatchAxis — a placeholder with an undefined batch
  dimension (eager tensors always have one).

Partly translated: the ``InstanceNorm/instancenorm`` op-name checks of the
testCreateOp* tests are dropped (graph op names); their shape checks are kept.
"""

import numpy as np
import pytest
import torch

import slimtorch as slim
from slimtorch.layers.norm import group_norm, instance_norm


def close(actual, expected, rtol=1e-6, atol=1e-6):
    def values(x):
        return x.detach().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    np.testing.assert_allclose(values(actual), values(expected), rtol=rtol, atol=atol)


# -- InstanceNormTest -------------------------------------------------------------------
def test_instance_norm_bad_data_format():
    with pytest.raises(ValueError, match="data_format must be 'NCHW' or 'NHWC'"):
        instance_norm(torch.zeros(2, 5, 5), data_format='NHCW')


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_instance_norm_create_op(dtype):
    # testCreateOp / testCreateOpFloat64.
    output = instance_norm(torch.rand(5, 3, 3, 3, dtype=dtype))
    assert list(output.shape) == [5, 3, 3, 3]
    assert output.dtype == dtype


def test_instance_norm_create_op_no_scale_center():
    output = instance_norm(torch.rand(5, 3, 3, 3, dtype=torch.float64), center=False,
                           scale=False)
    assert list(output.shape) == [5, 3, 3, 3]
    assert len(slim.get_variables_by_name('beta')) == 0
    assert len(slim.get_variables_by_name('gamma')) == 0


def test_instance_norm_create_variables():
    instance_norm(torch.rand(5, 3, 3, 3), center=True, scale=True)
    assert slim.get_variables_by_name('beta')[0].op.name == 'InstanceNorm/beta'
    assert slim.get_variables_by_name('gamma')[0].op.name == 'InstanceNorm/gamma'


def test_instance_norm_reuse_variables():
    images = torch.rand(5, 3, 3, 3)
    instance_norm(images, scale=True, scope='IN')
    instance_norm(images, scale=True, scope='IN', reuse=True)
    assert len(slim.get_variables_by_name('beta')) == 1
    assert len(slim.get_variables_by_name('gamma')) == 1


def test_instance_norm_value_correct_with_reuse_vars():
    images = torch.rand(10, 3, 3, 3)
    output_train = instance_norm(images, scope='IN')
    output_eval = instance_norm(images, scope='IN', reuse=True)
    # output_train and output_eval should be the same.
    close(output_train, output_eval)


def instance_norm_output_test(input_shape, data_format, tol=1e-3):
    """InstanceNormTest.doOutputTest: ``input_shape`` in ``data_format``
    (TF's NHWC tests: an NCHW tensor with the default data_format)."""
    axis = -1 if data_format == 'NHWC' else 1
    for mu in (0.0, 1e2):
        for sigma in (1.0, 0.1):
            # Determine shape of Tensor after normalization.
            reduced_shape = (input_shape[0], input_shape[axis])
            expected_mean = np.zeros(reduced_shape)
            expected_var = np.ones(reduced_shape)
            # Determine axes that will be normalized.
            reduced_axes = list(range(len(input_shape)))
            del reduced_axes[axis]
            del reduced_axes[0]
            reduced_axes = tuple(reduced_axes)
            inputs = torch.rand(input_shape) * sigma + mu
            if data_format == 'NHWC':   # slimtorch's default layout, channels first
                output = instance_norm(inputs.movedim(-1, 1), center=False, scale=False)
                output = output.movedim(1, -1)
            else:
                output = instance_norm(inputs, center=False, scale=False,
                                       data_format=data_format)
            outputs = output.double().numpy()
            # Make sure that there are no NaNs
            assert not np.isnan(outputs).any()
            mean = np.mean(outputs, axis=reduced_axes)
            var = np.var(outputs, axis=reduced_axes)
            # The mean and variance of each example should be close to 0 and 1
            # respectively.
            close(mean, expected_mean, rtol=tol, atol=tol)
            close(var, expected_var, rtol=tol, atol=tol)


@pytest.mark.parametrize('data_format', ['NHWC', 'NCHW'])
@pytest.mark.parametrize('input_shape,tol', [((10, 10, 10, 30), 1e-2), ((1, 100, 100, 1), 1e-3),
                                             ((10, 10, 10, 10, 30), 1e-2),
                                             ((1, 100, 100, 1, 1), 1e-3)])
def test_instance_norm_output(input_shape, tol, data_format):
    # testOutput{Small,Big}Input{4,5}D{NHWC,NCHW}.
    instance_norm_output_test(input_shape, data_format, tol=tol)


# -- GroupNormTest ----------------------------------------------------------------------
def test_group_norm_invalid_group_size():
    with pytest.raises(ValueError, match='Invalid groups 10 for 2 channels.'):
        group_norm(torch.zeros(5, 2, 10, 10), groups=10, reduction_axes=[-2, -1],
                   channels_axis=-3)


def test_group_norm_bad_commensurate_group():
    # TF's wording: '4 channels is not commensurate with 3 groups.'
    with pytest.raises(ValueError, match='4 channels are not commensurate with 3 groups'):
        group_norm(torch.zeros(5, 4, 10, 10), groups=3, reduction_axes=[-2, -1],
                   channels_axis=-3)


def test_group_norm_axis_is_bad():
    inputs = torch.zeros(1, 2, 4, 5)
    with pytest.raises(ValueError, match='Axis is out of bounds'):
        group_norm(inputs, channels_axis=5)
    with pytest.raises(ValueError, match='Axis is out of bounds'):
        group_norm(inputs, reduction_axes=[1, 5])


def test_group_norm_not_mutually_exclusive_axis():
    inputs = torch.zeros(10, 32, 32, 32)
    # Specify axis with negative values.
    with pytest.raises(ValueError, match='mutually exclusive'):
        group_norm(inputs, channels_axis=-2, reduction_axes=[-2])
    # Specify axis with positive values.
    with pytest.raises(ValueError, match='mutually exclusive'):
        group_norm(inputs, channels_axis=1, reduction_axes=[1, 3])
    # Specify axis with mixed positive and negative values.
    with pytest.raises(ValueError, match='mutually exclusive'):
        group_norm(inputs, channels_axis=-2, reduction_axes=[2])


def test_group_norm_create_op():
    height, width, groups = 3, 3, 4
    images = torch.rand(5, height, width, 2 * groups)
    output = group_norm(images, groups=groups, channels_axis=-1, reduction_axes=[-3, -2])
    assert list(output.shape) == [5, height, width, 2 * groups]


def test_group_norm_create_op_float64():
    # TF-Slim's default axes on NHWC are slimtorch's defaults on NCHW.
    height, width, groups = 3, 3, 5
    output = group_norm(torch.rand(5, 4 * groups, height, width, dtype=torch.float64),
                        groups=groups)
    assert output.dtype == torch.float64
    assert list(output.shape) == [5, 4 * groups, height, width]


def test_group_norm_create_op_no_scale_center():
    height, width, groups = 3, 3, 7
    output = group_norm(torch.rand(5, 3 * groups, height, width), groups=groups, center=False,
                        scale=False)
    assert list(output.shape) == [5, 3 * groups, height, width]
    assert len(slim.get_variables_by_name('beta')) == 0
    assert len(slim.get_variables_by_name('gamma')) == 0


@pytest.mark.parametrize('shape,channels_axis,reduction_axes', [
    ((5, 3, 3, 8), -1, (-3, -2)),   # testCreateVariables_NHWC
    ((5, 8, 3, 3), -3, (-2, -1)),   # testCreateVariables_NCHW
])
def test_group_norm_create_variables(shape, channels_axis, reduction_axes):
    group_norm(torch.rand(shape), groups=4, channels_axis=channels_axis,
               reduction_axes=reduction_axes, center=True, scale=True)
    assert slim.get_variables_by_name('beta')[0].op.name == 'GroupNorm/beta'
    assert slim.get_variables_by_name('gamma')[0].op.name == 'GroupNorm/gamma'


def test_group_norm_reuse_variables():
    images = torch.rand(5, 4, 3, 3)
    group_norm(images, groups=2, scale=True, scope='IN')
    group_norm(images, groups=2, scale=True, scope='IN', reuse=True)
    assert len(slim.get_variables_by_name('beta')) == 1
    assert len(slim.get_variables_by_name('gamma')) == 1


def test_group_norm_value_correct_with_reuse_vars():
    images = torch.rand(10, 4, 3, 3)
    output_train = group_norm(images, groups=2, scope='IN')
    output_eval = group_norm(images, groups=2, scope='IN', reuse=True)
    close(output_train, output_eval)


def group_norm_output_test(input_shape, channels_axis=None, reduction_axes=None,
                           mean_close_to_zero=False, groups=2, tol=1e-2):
    """GroupNormTest.doOutputTest (the axes are given, so no layout change)."""
    if channels_axis < 0:
        channels_axis += len(input_shape)
    reduced_axes = [channels_axis + 1]
    for a in reduction_axes:
        if a < 0:
            a += len(input_shape)
        reduced_axes.append(a if a < channels_axis else a + 1)
    reduced_axes = tuple(reduced_axes)
    # Calculate the final shape for the output Tensor.
    channels = input_shape[channels_axis]
    outputs_shape = (input_shape[:channels_axis] + [groups, channels // groups]
                     + input_shape[channels_axis + 1:])
    # Calculate the final shape for the output statistics.
    reduced_shape = [a for i, a in enumerate(outputs_shape) if i not in reduced_axes]
    if mean_close_to_zero:
        mu_tuple, sigma_tuple = (1e-4, 1e-2, 1.0), (1e-2, 0.1, 1.0)
    else:
        mu_tuple, sigma_tuple = (1.0, 1e2), (1.0, 0.1)
    for mu in mu_tuple:
        for sigma in sigma_tuple:
            expected_mean = np.zeros(reduced_shape)
            expected_var = np.ones(reduced_shape)
            inputs = torch.randn(input_shape) * sigma + mu
            with slim.Graph():
                output = group_norm(inputs, groups=groups, center=False, scale=False,
                                    channels_axis=channels_axis, reduction_axes=reduction_axes,
                                    mean_close_to_zero=mean_close_to_zero)
            outputs = output.double().numpy()
            # Make sure that there are no NaNs
            assert not np.isnan(outputs).any()
            outputs = np.reshape(outputs, outputs_shape)
            mean = np.mean(outputs, axis=reduced_axes)
            var = np.var(outputs, axis=reduced_axes)
            # The mean and variance of each example should be close to 0 and 1
            # respectively.
            close(mean, expected_mean, rtol=tol, atol=tol)
            close(var, expected_var, rtol=tol, atol=tol)


def both_output_tests(input_shape, channels_axis, reduction_axes, groups=2):
    group_norm_output_test(input_shape, channels_axis=channels_axis,
                           reduction_axes=reduction_axes, groups=groups)
    # doOutputTestForMeanCloseToZero
    group_norm_output_test(input_shape, channels_axis=channels_axis,
                           reduction_axes=reduction_axes, groups=groups,
                           mean_close_to_zero=True, tol=5e-2)


@pytest.mark.parametrize('input_shape,axes', [
    ([10, 10, 10, 30], [(3, [1, 2]), (-1, [-3, -2])]),    # testOutputSmallInput4D_NHWC
    ([10, 10, 30], [(2, [0, 1]), (-1, [-3, -2])]),        # testOutputSmallInput3D_NHWC
    ([10, 10, 10, 30], [(1, [2, 3]), (-3, [-2, -1])]),    # testOutputSmallInput4D_NCHW
    ([10, 10, 30], [(0, [1, 2]), (-3, [-2, -1])]),        # testOutputSmallInput3D_NCHW
])
def test_group_norm_output_small_input(input_shape, axes):
    # Specify axes with positive values, then with negative values.
    for channels_axis, reduction_axes in axes:
        both_output_tests(input_shape, channels_axis, reduction_axes)


def test_group_norm_output_big_input_4d_nhwc():
    both_output_tests([5, 100, 100, 1], 3, [1, 2], groups=1)


def test_group_norm_output_big_input_4d_nchw():
    both_output_tests([1, 100, 100, 4], 1, [2, 3], groups=4)


def test_group_norm_output_small_input_2d_nc():
    both_output_tests([10, 7 * 100], 1, [], groups=7)


def test_group_norm_output_small_input_5d_ncxxx():
    both_output_tests([10, 10, 20, 40, 5], 1, [2, 3, 4], groups=5)
