"""tf_slim/layers/layers_test.py, the convolution classes: ConvolutionTest,
Convolution2dTransposeTests, ConvolutionInPlaneTest, SeparableConv2dTest.

Translation: NHWC -> NCHW. TF's default layout (NHWC) becomes slimtorch's
default (channels-first) and a TF test of ``data_format='NCHW'`` becomes one
of the other layout (``'NHWC'``), so both layouts stay covered. Weight shapes
are compared in TF's layout (``tf_shape``). ``output.op.name == 'Conv/Relu'``
becomes the output's name in an outputs collection (``'Conv'``: the scope;
the TF op-type suffix ``/Relu`` has no eager counterpart) plus, where the
suffix says so, a check that the activation ran. Sessions, initializers and
placeholders are dropped; a placeholder's unknown sizes become concrete ones.

| tf_slim class | translated | passing | documented difference | untranslatable |
|---|---:|---:|---:|---:|
| ConvolutionTest | 32 | 32 | 0 | 0 |
| Convolution2dTransposeTests | 28 | 28 | 0 | 0 |
| ConvolutionInPlaneTest | 9 | 9 | 0 | 0 |
| SeparableConv2dTest | 18 | 18 | 0 | 0 |

Untranslatable: none. TF's ``*NCHW`` tests that ran only on a GPU
(``testDynamicOutputSizeWithRateOneValidPaddingNCHW``, the ten
``Convolution2dTransposeTests.testOutputSize*NCHW``) run here on the CPU,
as tests of the other layout (``'NHWC'``). Parameterized tests name the TF
methods they stand for in a comment.
"""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim


def tf_shape(var):
    """A variable's shape in TF's layout (slimtorch stores torch's)."""
    layout = slim.get_default_graph().record(var.name).layout
    return list(layout.tf_shape(var.shape)) if layout is not None else list(var.shape)


def output_name(fn, *args, **kwargs):
    """Calls a layer with an outputs collection and returns (output, its name)."""
    out = fn(*args, outputs_collections='__names__', **kwargs)
    return out, slim.get_collection('__names__')[-1].name


def uniform(*shape):
    return torch.rand(*shape)


# -- ConvolutionTest ---------------------------------------------------------------------
class TestConvolution:
    def test_invalid_shape(self):
        images_2d = uniform(5, 3, 7, 9)
        with pytest.raises(ValueError, match='conv3d expects a 5-D input'):
            slim.convolution3d(images_2d, 32, 3)
        images_3d = uniform(5, 3, 6, 7, 9)
        with pytest.raises(ValueError, match='conv2d expects a 4-D input'):
            slim.convolution2d(images_3d, 32, 3)

    def test_invalid_data_format(self):
        with pytest.raises(ValueError, match='data_format'):
            slim.convolution2d(uniform(5, 3, 7, 9), 32, 3, data_format='CHWN')

    def test_create_conv(self):
        images = uniform(5, 4, 7, 9)
        output, name = output_name(slim.convolution2d, images, 32, [3, 3])
        assert name == 'Conv' and output.min() >= 0   # Conv/Relu
        assert list(output.shape) == [5, 32, 7, 9]
        assert tf_shape(slim.get_variables_by_name('weights')[0]) == [3, 3, 4, 32]
        assert tf_shape(slim.get_variables_by_name('biases')[0]) == [32]

    def test_create_conv_nhwc(self):   # TF: testCreateConvNCHW
        images = uniform(5, 7, 9, 4)
        output, name = output_name(slim.convolution2d, images, 32, [3, 3], data_format='NHWC')
        assert name == 'Conv' and output.min() >= 0
        assert list(output.shape) == [5, 7, 9, 32]
        assert tf_shape(slim.get_variables_by_name('weights')[0]) == [3, 3, 4, 32]
        assert tf_shape(slim.get_variables_by_name('biases')[0]) == [32]

    def test_create_square_conv(self):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 7, 9), 32, 3)
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, 7, 9]

    def test_create_conv_with_tensor_shape(self):
        images = uniform(5, 3, 7, 9)
        output, name = output_name(slim.convolution2d, images, 32, list(images.shape[2:]))
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, 7, 9]

    def test_create_fully_conv(self):
        images = uniform(5, 32, 7, 9)
        output, name = output_name(slim.convolution2d, images, 64, tuple(images.shape[2:]),
                                   padding='VALID')
        assert name == 'Conv'
        assert list(output.shape) == [5, 64, 1, 1]
        assert tf_shape(slim.get_variables_by_name('biases')[0]) == [64]

    def test_fully_conv_with_custom_getter(self):
        called = [0]

        def custom_getter(getter, *args, **kwargs):
            called[0] += 1
            return getter(*args, **kwargs)

        with slim.variable_scope('test', custom_getter=custom_getter):
            images = uniform(5, 32, 7, 9)
            slim.convolution2d(images, 64, list(images.shape[2:]))
        assert called[0] == 2  # Custom getter called twice.

    def test_create_vertical_conv(self):
        output, name = output_name(slim.convolution2d, uniform(5, 4, 7, 9), 32, [3, 1])
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, 7, 9]
        assert tf_shape(slim.get_variables_by_name('weights')[0]) == [3, 1, 4, 32]
        assert tf_shape(slim.get_variables_by_name('biases')[0]) == [32]

    def test_create_horizontal_conv(self):
        output, name = output_name(slim.convolution2d, uniform(5, 4, 7, 9), 32, [1, 3])
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, 7, 9]
        assert tf_shape(slim.get_variables_by_name('weights')[0]) == [1, 3, 4, 32]

    def test_create_conv_with_stride(self):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 6, 8), 32, [3, 3],
                                   stride=2)
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, 3, 4]

    def test_create_conv_creates_weights_and_biases_vars(self):
        assert not slim.get_variables('conv1/weights')
        assert not slim.get_variables('conv1/biases')
        slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3], scope='conv1')
        assert slim.get_variables('conv1/weights')
        assert slim.get_variables('conv1/biases')

    def test_create_conv_with_scope(self):
        _, name = output_name(slim.convolution2d, uniform(5, 3, 7, 9), 32, [3, 3],
                              scope='conv1')
        assert name == 'conv1'

    def test_create_conv_with_collection(self):
        with slim.variable_scope('fe'):
            conv = slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3],
                                      outputs_collections='outputs', scope='Conv')
        collected = slim.get_collection('outputs')[0]
        # TF: ops.name_scope('fe') leaves the alias 'Conv'; a slim variable_scope
        # names both the variables and the alias.
        assert collected.name == 'fe/Conv'
        assert collected.outputs is conv

    def test_create_conv_without_activation(self):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 7, 9) - 0.5, 32, [3, 3],
                                   activation_fn=None)
        assert name == 'Conv' and output.min() < 0    # Conv/BiasAdd: no ReLU

    def test_create_conv_valid(self):
        output = slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3], padding='VALID')
        assert list(output.shape) == [5, 32, 5, 7]

    def test_create_conv_with_wd(self):
        weight_decay = 0.01
        regularizer = slim.l2_regularizer(weight_decay)
        slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3], weights_regularizer=regularizer)
        weights = slim.get_variables_by_name('weights')[0]
        l2_loss = weights.square().sum() / 2
        wd = slim.losses.get_regularization_losses()[0]
        assert wd.item() == pytest.approx(weight_decay * l2_loss.item(), rel=1e-5)

    def test_create_conv_no_regularizers(self):
        slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3])
        assert slim.losses.get_regularization_losses() == []

    def test_reuse_vars(self):
        images = uniform(5, 3, 7, 9)
        slim.convolution2d(images, 32, [3, 3], scope='conv1')
        assert len(slim.get_variables()) == 2
        slim.convolution2d(images, 32, [3, 3], scope='conv1', reuse=True)
        assert len(slim.get_variables()) == 2

    def test_non_reuse_vars(self):
        images = uniform(5, 3, 7, 9)
        slim.convolution2d(images, 32, [3, 3])
        assert len(slim.get_variables()) == 2
        slim.convolution2d(images, 32, [3, 3])
        assert len(slim.get_variables()) == 4

    def test_reuse_conv_with_wd(self):
        images = uniform(5, 3, 7, 9)
        weight_decay = slim.l2_regularizer(0.01)
        with slim.arg_scope([slim.convolution2d], weights_regularizer=weight_decay):
            slim.convolution2d(images, 32, [3, 3], scope='conv1')
            assert len(slim.get_variables()) == 2
            assert len(slim.losses.get_regularization_losses()) == 1
            slim.convolution2d(images, 32, [3, 3], scope='conv1', reuse=True)
            assert len(slim.get_variables()) == 2
            assert len(slim.losses.get_regularization_losses()) == 1

    def test_conv_with_batch_norm(self):
        images = uniform(5, 32, 7, 9)
        with slim.arg_scope([slim.convolution2d], normalizer_fn=slim.batch_norm,
                            normalizer_params={'decay': 0.9}):
            net = slim.convolution2d(images, 32, [3, 3])
            slim.convolution2d(net, 32, [3, 3])
        assert len(slim.get_variables()) == 8
        assert len(slim.get_variables('Conv/BatchNorm')) == 3
        assert len(slim.get_variables('Conv_1/BatchNorm')) == 3

    def test_reuse_conv_with_batch_norm(self):
        images = uniform(5, 32, 7, 9)
        with slim.arg_scope([slim.convolution2d], normalizer_fn=slim.batch_norm,
                            normalizer_params={'decay': 0.9}):
            net = slim.convolution2d(images, 32, [3, 3], scope='Conv')
            slim.convolution2d(net, 32, [3, 3], scope='Conv', reuse=True)
        assert len(slim.get_variables()) == 4
        assert len(slim.get_variables('Conv/BatchNorm')) == 3
        assert len(slim.get_variables('Conv_1/BatchNorm')) == 0

    def test_create_conv_creates_weights_and_biases_vars_with_rate_two(self):
        assert not slim.get_variables('conv1/weights')
        assert not slim.get_variables('conv1/biases')
        slim.convolution2d(uniform(5, 3, 7, 9), 32, [3, 3], rate=2, scope='conv1')
        assert slim.get_variables('conv1/weights')
        assert slim.get_variables('conv1/biases')

    @pytest.mark.parametrize('rate, padding, expected_hw', [
        (2, 'SAME', [10, 12]),            # testOutputSizeWithRateTwoSamePadding
        (2, 'VALID', [6, 8]),             # testOutputSizeWithRateTwoValidPadding
        ([2, 3], 'VALID', [6, 6]),        # testOutputSizeWithRateTwoThreeValidPadding
    ])
    def test_output_size_with_rate(self, rate, padding, expected_hw):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 10, 12), 32, [3, 3],
                                   rate=rate, padding=padding)
        assert name == 'Conv'
        assert list(output.shape) == [5, 32, *expected_hw]

    @pytest.mark.parametrize('rate, expected_hw', [(1, [7, 9]), (2, [5, 7])])
    def test_dynamic_output_size_valid_padding(self, rate, expected_hw):
        # testDynamicOutputSizeWithRate{One,Two}ValidPadding: sizes known only when run.
        model = slim.Model(lambda x: slim.convolution2d(x, 32, [3, 3], rate=rate,
                                                        padding='VALID'))
        assert list(model(torch.zeros(5, 3, 9, 11)).shape) == [5, 32, *expected_hw]
        assert list(model(torch.zeros(2, 3, 12, 13)).shape[:2]) == [2, 32]

    def test_dynamic_output_size_with_rate_one_valid_padding_nhwc(self):
        # TF: ...NCHW, GPU only there.
        model = slim.Model(lambda x: slim.convolution2d(x, 32, [3, 3], rate=1, padding='VALID',
                                                        data_format='NHWC'))
        assert list(model(torch.zeros(5, 9, 11, 3)).shape) == [5, 7, 9, 32]

    def test_with_scope(self):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 9, 11), 32, [3, 3],
                                   rate=2, padding='VALID', scope='conv7')
        assert name == 'conv7' and output.min() >= 0
        assert list(output.shape) == [5, 32, 5, 7]

    def test_with_scope_without_activation(self):
        output, name = output_name(slim.convolution2d, uniform(5, 3, 9, 11) - 0.5, 32, [3, 3],
                                   rate=2, padding='VALID', activation_fn=None, scope='conv7')
        assert name == 'conv7' and output.min() < 0
        assert list(output.shape) == [5, 32, 5, 7]


# -- Convolution2dTransposeTests ---------------------------------------------------------
def nchw(shape_nhwc):
    n, h, w, c = shape_nhwc
    return [n, c, h, w]


# (TF test, input NHWC, kernel, stride, padding, expected NHWC, data_format). TF's *NCHW
# tests ran on a GPU only; here their twins run channels-last ('NHWC') on the CPU.
_TRANSPOSE_SIZES = [
    ('StrideOneSamePadding', [5, 10, 12, 3], [3, 3], 1, 'SAME', [5, 10, 12, 32]),
    ('StrideOneValidPadding', [5, 10, 12, 3], [3, 3], 1, 'VALID', [5, 12, 14, 32]),
    ('StrideTwoValidPadding', [5, 9, 11, 3], [3, 3], [2, 2], 'VALID', [5, 19, 23, 32]),
    ('1x1StrideTwoSamePadding', [1, 1, 1, 1], [2, 2], [2, 2], 'SAME', [1, 2, 2, 1]),
    ('1x1StrideTwoValidPadding', [1, 1, 1, 1], [2, 2], [2, 2], 'VALID', [1, 2, 2, 1]),
    ('2x2StrideTwoSamePadding', [1, 2, 2, 1], [2, 2], [2, 2], 'SAME', [1, 4, 4, 1]),
    ('2x2StrideTwoValidPadding', [1, 2, 2, 1], [2, 2], [2, 2], 'VALID', [1, 4, 4, 1]),
    ('Stride2x1', [1, 3, 2, 1], [2, 4], [2, 1], 'VALID', [1, 6, 5, 1]),
    ('Stride2x4', [1, 3, 2, 1], [2, 4], [2, 4], 'VALID', [1, 6, 8, 1]),
    ('Stride2x5', [1, 3, 2, 1], [2, 4], [2, 5], 'VALID', [1, 6, 10, 1]),
]


class TestConvolution2dTranspose:
    @pytest.mark.parametrize('trainable', [True, False])
    def test_trainable_flag_is_passed_on(self, trainable):
        slim.conv2d_transpose(uniform(5, 3, 10, 12), 32, [3, 3], stride=1, trainable=trainable)
        trainable_ids = {id(v) for v in slim.get_trainable_variables()}
        for model_variable in slim.get_model_variables():
            assert trainable == (id(model_variable) in trainable_ids)

    def test_invalid_data_format(self):
        with pytest.raises(ValueError, match="data_format must be 'NCHW' or 'NHWC'"):
            slim.convolution2d_transpose(uniform(5, 3, 7, 9), 32, 3, data_format='CHWN')

    @pytest.mark.parametrize('case', _TRANSPOSE_SIZES, ids=[c[0] for c in _TRANSPOSE_SIZES])
    def test_output_size(self, case):         # testOutputSizeWith<case>
        _, size, kernel, stride, padding, expected = case
        output, name = output_name(slim.conv2d_transpose, uniform(*nchw(size)), expected[-1],
                                   kernel, stride=stride, padding=padding)
        assert name == 'Conv2d_transpose' and output.min() >= 0   # Conv2d_transpose/Relu
        assert list(output.shape) == nchw(expected)

    @pytest.mark.parametrize('case', _TRANSPOSE_SIZES[:10], ids=[c[0] for c in _TRANSPOSE_SIZES])
    def test_output_size_other_layout(self, case):  # testOutputSizeWith<case>NCHW
        _, size, kernel, stride, padding, expected = case
        output, name = output_name(slim.conv2d_transpose, uniform(*size), expected[-1], kernel,
                                   stride=stride, padding=padding, data_format='NHWC')
        assert name == 'Conv2d_transpose'
        assert list(output.shape) == expected

    def test_output_size_random_sizes_and_strides_valid_padding(self):
        rng = torch.Generator().manual_seed(0)

        def randint(low, high):
            return int(torch.randint(low, high, (), generator=rng))

        for _ in range(10):
            input_size = [1, 1, randint(1, 10), randint(1, 10)]
            filter_size = [randint(1, input_size[2] + 1), randint(1, input_size[3] + 1)]
            stride = [randint(1, 3), randint(1, 3)]
            with slim.Graph():
                transpose = slim.conv2d_transpose(uniform(*input_size), 1, filter_size,
                                                  stride=stride, padding='VALID')
                conv = slim.conv2d(transpose, 1, filter_size, stride=stride, padding='VALID')
            assert list(conv.shape) == input_size

    @pytest.mark.parametrize('padding, expected_hw', [('VALID', [19, 23]), ('SAME', [18, 22])])
    def test_dynamic_output_size_with_stride_two(self, padding, expected_hw):
        model = slim.Model(lambda x: slim.conv2d_transpose(x, 32, [3, 3], stride=[2, 2],
                                                           padding=padding))
        assert list(model(torch.zeros(5, 3, 9, 11)).shape) == [5, 32, *expected_hw]

    def test_with_scope(self):
        output, name = output_name(slim.conv2d_transpose, uniform(5, 3, 9, 11), 32, [3, 3],
                                   stride=2, padding='VALID', scope='conv7')
        assert name == 'conv7' and output.min() >= 0
        assert list(output.shape) == [5, 32, 19, 23]

    def test_with_scope_without_activation(self):
        output, name = output_name(slim.conv2d_transpose, uniform(5, 3, 9, 11) - 0.5, 32,
                                   [3, 3], stride=2, padding='VALID', activation_fn=None,
                                   scope='conv7')
        assert name == 'conv7' and output.min() < 0
        assert list(output.shape) == [5, 32, 19, 23]

    def test_deconv_without_biases_produces_conv2d_transpose(self):
        images = uniform(5, 3, 9, 11)
        output_deconv = slim.conv2d_transpose(images, 32, [3, 3], stride=2, padding='VALID',
                                              activation_fn=None, scope='conv7')
        weights = slim.get_variables_by_name('conv7/weights')[0]   # torch [in, out, kh, kw]
        # tf.nn.conv2d_transpose with VALID and the full output size is torch's own.
        expected = F.conv_transpose2d(images, weights, stride=2)
        assert list(expected.shape) == [5, 32, 19, 23]
        torch.testing.assert_close(output_deconv, expected, rtol=1e-5, atol=1e-5)


# -- ConvolutionInPlaneTest --------------------------------------------------------------
def in_plane_gradients(image, kernel_size):
    return slim.conv2d_in_plane(image, weights_initializer=slim.constant_initializer([1, -1]),
                                kernel_size=kernel_size, padding='VALID', activation_fn=None)


class TestConvolutionInPlane:
    def test_horz_conv_with_blank_image(self):
        result = in_plane_gradients(torch.ones(1, 1, 10, 10), [1, 2])
        torch.testing.assert_close(result, torch.zeros(1, 1, 10, 9), rtol=1e-5, atol=1e-5)

    def test_horz_conv_with_blank_image_and_placeholder(self):
        model = slim.Model(lambda x: in_plane_gradients(x, [1, 2]))
        torch.testing.assert_close(model(torch.ones(1, 1, 10, 10)), torch.zeros(1, 1, 10, 9),
                                   rtol=1e-5, atol=1e-5)

    @pytest.mark.parametrize('channels', [1, 7])  # ...MultiBatch, ...MultiBatchMultiChannel
    def test_horz_conv_with_random_image_multi_batch(self, channels):
        image = torch.rand(5, channels, 10, 10)
        expected = image[:, :, :, :-1] - image[:, :, :, 1:]
        torch.testing.assert_close(in_plane_gradients(image, [1, 2]), expected,
                                   rtol=1e-5, atol=1e-5)

    def test_horz_conv_with_varying_image(self):
        image = torch.tensor([[1.0, 2.0, 3.0], [1.1, 2.0, 4.0], [-4.3, 0.0, 8.9]])
        expected = torch.tensor([[-1.0, -1.0], [-0.9, -2.0], [-4.3, -8.9]])
        result = in_plane_gradients(image.reshape(1, 1, 3, 3), [1, 2])
        torch.testing.assert_close(result, expected.reshape(1, 1, 3, 2), rtol=1e-5, atol=1e-5)

    def test_vert_conv_with_blank_image(self):
        result = in_plane_gradients(torch.ones(1, 1, 10, 10), [2, 1])
        torch.testing.assert_close(result, torch.zeros(1, 1, 9, 10), rtol=1e-5, atol=1e-5)

    def test_vert_conv_with_varying_image(self):
        image = torch.tensor([[1.0, 2.0, 3.0], [1.1, 2.0, 4.0], [-4.3, 0.0, 8.9]])
        expected = torch.tensor([[-0.1, 0.0, -1.0], [5.4, 2.0, -4.9]])
        result = in_plane_gradients(image.reshape(1, 1, 3, 3), [2, 1])
        torch.testing.assert_close(result, expected.reshape(1, 1, 2, 3), rtol=1e-5, atol=1e-5)

    def test_conv1d_shape(self):
        output, name = output_name(slim.convolution1d, uniform(5, 3, 7), 32, 3)
        assert name == 'Conv' and output.min() >= 0
        assert list(output.shape) == [5, 32, 7]

    def test_conv_infer_spatial_dims(self):
        output = slim.convolution(uniform(5, 4, 11), 32, [3])
        assert list(output.shape) == [5, 32, 11]
        output = slim.convolution(uniform(5, 4, 9, 11), 32, [3, 3])
        assert list(output.shape) == [5, 32, 9, 11]
        output = slim.convolution(uniform(5, 4, 7, 9, 11), 32, [3, 3, 3])
        assert list(output.shape) == [5, 32, 7, 9, 11]


# -- SeparableConv2dTest -----------------------------------------------------------------
class TestSeparableConv2d:
    def test_create_conv_int32(self):
        images = torch.randint(0, 12345, (5, 3, 3, 3), dtype=torch.int32)
        with pytest.raises(TypeError, match='non-floating point type'):
            slim.separable_conv2d(images, 32, [3, 3], 2)

    def test_create_conv_float32(self):
        output, name = output_name(slim.separable_conv2d, uniform(5, 3, 3, 3), 32, [3, 3], 2)
        assert name == 'SeparableConv2d' and output.min() >= 0
        assert list(output.shape) == [5, 32, 3, 3]

    def test_create_depthwise_conv(self):
        output, name = output_name(slim.separable_conv2d, uniform(5, 3, 3, 3), None, [3, 3], 2)
        assert name == 'SeparableConv2d' and output.min() >= 0
        assert list(output.shape) == [5, 6, 3, 3]

    @pytest.mark.parametrize('num_outputs, rate', [(32, 1), (32, 2), (None, 1)])
    def test_create_conv_creates_weights_and_biases_vars(self, num_outputs, rate):
        # ...ConvCreates..., ...AtrousConvCreates..., ...DepthwiseConvCreates...
        for name in ('depthwise_weights', 'pointwise_weights', 'biases'):
            assert not slim.get_variables(f'conv1/{name}')
        slim.separable_conv2d(uniform(5, 3, 3, 3), num_outputs, [3, 3], 4, rate=rate,
                              scope='conv1')
        assert slim.get_variables('conv1/depthwise_weights')
        assert bool(slim.get_variables('conv1/pointwise_weights')) == (num_outputs is not None)
        assert slim.get_variables('conv1/biases')

    def test_create_conv_with_scope(self):
        _, name = output_name(slim.separable_conv2d, uniform(5, 3, 3, 3), 32, [3, 3], 6,
                              scope='conv1')
        assert name == 'conv1'

    def test_create_conv_without_activation(self):
        output, name = output_name(slim.separable_conv2d, uniform(5, 3, 3, 3) - 0.5, 32, [3, 3],
                                   8, activation_fn=None)
        assert name == 'SeparableConv2d' and output.min() < 0

    @pytest.mark.parametrize('num_outputs, size, rate, channels', [
        (32, 3, 1, 32),     # testCreateConvValid
        (32, 5, 2, 32),     # testCreateAtrousConvValid
        (None, 3, 1, 6),    # testCreateDepthwiseConvValid
        (None, 5, 2, 6),    # testCreateAtrousDepthwiseConvValid
    ])
    def test_create_conv_valid(self, num_outputs, size, rate, channels):
        output = slim.separable_conv2d(uniform(5, 3, size, size), num_outputs, [3, 3], 2,
                                       padding='VALID', rate=rate)
        assert list(output.shape) == [5, channels, 1, 1]

    def test_create_conv_with_weight_decay(self):
        images = uniform(5, 3, 3, 3)
        slim.separable_conv2d(images, 32, [3, 3], 2, weights_regularizer=slim.l2_regularizer(0.01),
                              weights_initializer=slim.ones_initializer())
        losses = slim.losses.get_regularization_losses()
        assert len(losses) == 2
        # TF names them SeparableConv2d/{depthwise,pointwise}_kernel/Regularizer/...: the
        # depthwise one first.
        depth_weight_one, pointwise_weight_one = (loss.item() for loss in losses)
        assert depth_weight_one == pytest.approx(0.01 * 3 * 3 * 3 * 2 / 2)
        slim.separable_conv2d(images, 32, [3, 3], 2, weights_regularizer=slim.l2_regularizer(1.0),
                              weights_initializer=slim.ones_initializer())
        losses = slim.losses.get_regularization_losses()
        assert len(losses) == 4
        depth_weight_two, pointwise_weight_two = losses[2].item(), losses[3].item()
        assert [100.0 * depth_weight_one, 100.0 * pointwise_weight_one] == pytest.approx(
            [depth_weight_two, pointwise_weight_two])

    def test_reuse_conv_with_weight_decay(self):
        images = uniform(5, 3, 3, 3)
        regularizer = slim.l2_regularizer(0.01)
        slim.separable_conv2d(images, 32, [3, 3], 2, weights_regularizer=regularizer,
                              scope='conv1')
        assert len(slim.losses.get_regularization_losses()) == 2
        slim.separable_conv2d(images, 32, [3, 3], 2, weights_regularizer=regularizer,
                              scope='conv1', reuse=True)
        assert len(slim.losses.get_regularization_losses()) == 2

    def test_conv_with_batch_norm(self):
        collection = 'moving_vars'
        normalizer_params = {'variables_collections': {
            'beta': [collection], 'gamma': [collection], 'moving_mean': [collection],
            'moving_variance': [collection]}}
        net = slim.separable_conv2d(uniform(5, 3, 3, 3), 8, [3, 3], 2,
                                    normalizer_fn=slim.batch_norm,
                                    normalizer_params=normalizer_params, scope='conv1')
        slim.separable_conv2d(net, 32, [3, 3], 2, normalizer_fn=slim.batch_norm,
                              normalizer_params=normalizer_params, scope='conv2')
        assert len(slim.get_collection(collection)) == 6
        assert len(slim.get_variables('conv1/BatchNorm')) == 3
        assert len(slim.get_variables('conv2/BatchNorm')) == 3

    def test_conv_with_inputs_via_placeholder(self):
        model = slim.Model(lambda x: slim.separable_conv2d(
            x, 8, [3, 3], 2, normalizer_fn=slim.batch_norm, normalizer_params={},
            scope='conv1'))
        assert list(model(torch.rand(5, 3, 3, 3)).shape) == [5, 8, 3, 3]

    @pytest.mark.parametrize('trainable', [True, False])
    @pytest.mark.parametrize('num_filters', [None, 8])
    def test_trainable_flag_is_passed_on(self, trainable, num_filters):
        slim.separable_conv2d(uniform(5, 3, 10, 12), num_filters, [3, 3], 1, trainable=trainable)
        trainable_ids = {id(v) for v in slim.get_trainable_variables()}
        for model_variable in slim.get_model_variables():
            assert trainable == (id(model_variable) in trainable_ids)

    @pytest.mark.parametrize('data_format', [None, 'NHWC'])   # TF: testSepConvNCHW
    def test_sep_conv_layouts(self, data_format):
        for num_filters, correct_output_filters in zip((None, 5), (6, 5)):
            batch, height, width = 4, 10, 12
            kernel_dim, stride = 3, 2
            images = uniform(batch, 3, height, width)
            if data_format == 'NHWC':
                images = images.permute(0, 2, 3, 1)
            output = slim.separable_conv2d(images, num_outputs=num_filters,
                                           kernel_size=[kernel_dim, kernel_dim],
                                           depth_multiplier=2, stride=stride, padding='VALID',
                                           data_format=data_format)
            expected = [batch, correct_output_filters, (height - kernel_dim + 1) // stride,
                        (width - kernel_dim + 1) // stride]
            if data_format == 'NHWC':
                expected = [expected[0], expected[2], expected[3], expected[1]]
            assert list(output.shape) == expected
