"""convolution (1-D/3-D), conv2d/3d_transpose, separable_conv2d and
conv2d_in_plane against torch.nn.functional with TF's padding computed
explicitly, hand-computed values, and (for the transposed convolutions) the
gradient of slimtorch's own convolution, which is how TF defines them."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch._layouts import CONV, CONV_TRANSPOSE, DEPTHWISE, depthwise_layout, get_layout
from slimtorch.layers.conv import ConvolutionND, conv1d, conv3d, convolution, convolution1d, convolution3d
from slimtorch.layers.conv_transpose import (conv2d_transpose, conv3d_transpose,
                                             convolution2d_transpose, transpose_output_size)
from slimtorch.layers.padding import same_padding
from slimtorch.layers.separable import (conv2d_in_plane, convolution2d_in_plane, separable_conv2d,
                                        separable_convolution2d)


def var(name):
    return slim.get_unique_variable(name)


def tf_shape(name):
    """A variable's TF-layout shape, derived through its recorded layout."""
    record = slim.get_default_graph().record(name)
    return record.layout.tf_shape(record.tensor.shape)


def names():
    return [v.name for v in slim.get_model_variables()]


def tf_pad(x, kernel, stride, rate=None):
    """``x`` padded explicitly with TF's 'SAME' rule on every spatial axis."""
    rate = rate or [1] * len(kernel)
    pads = [same_padding(n, k, s, d) for n, k, s, d in zip(x.shape[2:], kernel, stride, rate)]
    return F.pad(x, [p for pair in reversed(pads) for p in pair])


# -- layouts ----------------------------------------------------------------------
def test_conv_transpose_layout_round_trip_and_meaning():
    tf = torch.randn(3, 5, 4, 2)                       # [kh, kw, out, in]
    t = CONV_TRANSPOSE.to_torch(tf)
    assert list(t.shape) == [2, 4, 3, 5] == CONV_TRANSPOSE.torch_shape([3, 5, 4, 2])
    assert t[1, 3, 2, 4] == tf[2, 4, 3, 1]              # torch [in, out, kh, kw]
    assert torch.equal(CONV_TRANSPOSE.tf_view(t), tf)
    assert CONV_TRANSPOSE.tf_shape([2, 4, 3, 5]) == [3, 5, 4, 2]
    assert get_layout('conv_transpose') is CONV_TRANSPOSE
    for shape in ([3, 4, 2], [2, 3, 5, 4, 6]):           # 1-D and 3-D kernels
        x = torch.randn(shape)
        assert torch.equal(CONV_TRANSPOSE.tf_view(CONV_TRANSPOSE.to_torch(x)), x)
        assert torch.equal(CONV.tf_view(CONV.to_torch(x)), x)


def test_depthwise_layout_channel_order_is_c_times_mult_plus_m():
    channels, mult = 2, 3
    tf = torch.empty(1, 2, channels, mult)              # [kh, kw, in, mult]
    for c in range(channels):
        for m in range(mult):
            tf[0, :, c, m] = torch.tensor([100. * c + 10 * m, 100. * c + 10 * m + 1])
    layout = depthwise_layout(mult)
    t = layout.to_torch(tf)
    assert list(t.shape) == [6, 1, 1, 2] == layout.torch_shape([1, 2, 2, 3])
    assert t[:, 0, 0, 0].tolist() == [0., 10., 20., 100., 110., 120.]   # channel c*3 + m
    assert t[:, 0, 0, 1].tolist() == [1., 11., 21., 101., 111., 121.]
    assert torch.equal(layout.tf_view(t), tf)
    assert layout.tf_shape(t.shape) == [1, 2, 2, 3]
    # the meaning: a grouped conv with this weight is TF's depthwise conv
    x = torch.tensor([2., 3.]).view(1, 2, 1, 1).expand(1, 2, 1, 2)
    y = F.conv2d(x, t, groups=channels)                 # 1x2 window over [a_c, a_c]
    want = [(2. if c == 0 else 3.) * (2 * (100 * c + 10 * m) + 1)
            for c in range(channels) for m in range(mult)]
    assert y.flatten().tolist() == want


def test_depthwise_tf_view_is_a_view_in_1d_2d_3d():
    for kernel in ([3], [3, 2], [2, 3, 2]):
        t = torch.zeros(8, 1, *kernel)
        view = depthwise_layout(2).tf_view(t)
        assert list(view.shape) == [*kernel, 4, 2]
        view.fill_(7.)                                  # initializers fill the view in place
        assert (t == 7.).all()
        x = torch.randn(*kernel, 4, 2)
        assert torch.equal(depthwise_layout(2).tf_view(DEPTHWISE.to_torch(x)), x)


def test_depthwise_layout_errors():
    assert get_layout('depthwise') is DEPTHWISE
    assert DEPTHWISE.torch_shape([3, 3, 4, 2]) == [8, 1, 3, 3]
    with pytest.raises(ValueError, match="needs the multiplier"):
        DEPTHWISE.tf_shape([8, 1, 3, 3])
    with pytest.raises(ValueError, match=r"expected a torch shape \[in\*3, 1, k...\]"):
        depthwise_layout(3).tf_shape([10, 1, 3, 3])     # 10 channels: not divisible by 3
    with pytest.raises(ValueError, match="does not end with the multiplier 3"):
        depthwise_layout(3).torch_shape([3, 3, 4, 2])
    with pytest.raises(ValueError, match="multiplier must be a positive int"):
        depthwise_layout(0)


# -- convolution (1-D, 3-D, dispatch) --------------------------------------------------
@pytest.mark.parametrize('size', [7, 8, 10])
@pytest.mark.parametrize('kernel,stride,rate', [(3, 1, 1), (3, 2, 1), (2, 2, 1), (4, 1, 1),
                                                (5, 3, 1), (3, 1, 2), (2, 1, 3), (1, 2, 1)])
def test_conv1d_matches_explicitly_padded_functional(size, kernel, stride, rate):
    x = torch.randn(2, 3, size)
    y = conv1d(x, 4, kernel, stride=stride, rate=rate, scope='c')
    expected = F.relu(F.conv1d(tf_pad(x, [kernel], [stride], [rate]), var('c/weights'),
                               var('c/biases'), stride, dilation=rate))
    torch.testing.assert_close(y, expected)
    assert y.shape[2] == -(-size // stride)
    v = conv1d(x, 4, kernel, stride=stride, rate=rate, padding='VALID', scope='v')
    torch.testing.assert_close(v, F.relu(F.conv1d(x, var('v/weights'), var('v/biases'), stride,
                                                  dilation=rate)))


@pytest.mark.parametrize('kernel,stride,rate', [([3, 3, 3], 1, 1), ([2, 3, 4], 2, 1),
                                                ([3, 1, 2], [1, 2, 3], 1), (3, 1, [1, 2, 1])])
def test_conv3d_matches_explicitly_padded_functional(kernel, stride, rate):
    x = torch.randn(2, 2, 5, 6, 7)
    y = conv3d(x, 3, kernel, stride=stride, rate=rate, activation_fn=None, scope='c')
    k3 = [kernel] * 3 if isinstance(kernel, int) else kernel
    s3 = [stride] * 3 if isinstance(stride, int) else stride
    r3 = [rate] * 3 if isinstance(rate, int) else rate
    expected = F.conv3d(tf_pad(x, k3, s3, r3), var('c/weights'), var('c/biases'), s3,
                        dilation=r3)
    torch.testing.assert_close(y, expected)


def test_convolution_variables_and_default_scope_names():
    convolution(torch.randn(2, 3, 9), 4, 5)
    conv1d(torch.randn(2, 3, 9), 4, 5)
    convolution(torch.randn(2, 3, 4, 5, 6), 7, [1, 2, 3])
    convolution(torch.randn(2, 3, 8, 8), 4, 3)
    assert names() == ['Conv/weights', 'Conv/biases', 'Conv_1/weights', 'Conv_1/biases',
                       'Conv_2/weights', 'Conv_2/biases', 'Conv_3/weights', 'Conv_3/biases']
    assert tf_shape('Conv/weights') == [5, 3, 4] and var('Conv/weights').shape == (4, 3, 5)
    assert tf_shape('Conv_2/weights') == [1, 2, 3, 3, 7]
    assert var('Conv_2/weights').shape == (7, 3, 1, 2, 3)
    assert tf_shape('Conv_3/weights') == [3, 3, 3, 4] and tf_shape('Conv_3/biases') == [4]
    assert convolution1d is conv1d and convolution3d is conv3d


def test_convolution_dispatches_on_rank_and_2d_is_conv2d():
    net = slim.Model(lambda x: convolution(x, 4, 3, stride=2, scope='c'))
    x = torch.randn(1, 3, 8, 8)
    y = net(x)
    assert isinstance(net.c, ConvolutionND)
    with slim.Graph():
        torch.testing.assert_close(y, F.relu(F.conv2d(F.pad(x, (0, 1, 0, 1)), net.c.weights,
                                                      net.c.biases, 2)))
        convolution(torch.randn(1, 3, 8), 4, 3, scope='c1')
        assert isinstance(slim.get_default_graph().record('c1/weights').module, ConvolutionND)


def test_channels_last_equals_channels_first():
    cases = [(conv1d, torch.randn(2, 3, 9), 'NWC'), (conv3d, torch.randn(2, 3, 5, 6, 4), 'NDHWC'),
             (convolution, torch.randn(2, 3, 7, 6), 'NHWC'),
             (conv2d_transpose, torch.randn(2, 3, 5, 4), 'NHWC'),
             (conv3d_transpose, torch.randn(2, 3, 3, 4, 2), 'NDHWC'),
             (separable_conv2d, torch.randn(2, 3, 7, 6), 'NHWC')]
    for i, (layer, x, fmt) in enumerate(cases):
        a = layer(x, 4, 3, stride=2, scope=f'first{i}')
        b = layer(x.movedim(1, -1), 4, 3, stride=2, data_format=fmt, scope=f'last{i}')
        with torch.no_grad():
            for v in slim.get_model_variables(f'last{i}/'):
                v.copy_(var(v.name.replace('last', 'first')))
        b = layer(x.movedim(1, -1), 4, 3, stride=2, data_format=fmt, scope=f'last{i}',
                  reuse=True)
        torch.testing.assert_close(b.movedim(-1, 1), a)
        fc = fmt.replace('C', '')[:1] + 'C' + fmt.replace('C', '')[1:]   # 'NWC' -> 'NCW'
        c = layer(x, 4, 3, stride=2, data_format=fc, scope=f'first{i}', reuse=True)
        torch.testing.assert_close(c, a)


def test_convolution_errors_name_the_scope():
    with pytest.raises(ValueError, match=r"net/c: conv3d expects a 5-D input \[N, C, D, H, W\], "
                                         r"got \[1, 3, 8, 8\]"):
        with slim.variable_scope('net'):
            convolution(torch.randn(1, 3, 8, 8), 4, 3, conv_dims=3, scope='c')
    with pytest.raises(ValueError, match=r"Conv: conv1d expects a 3-D input \[N, C, W\]"):
        conv1d(torch.randn(1, 3, 8, 8), 4, 3)
    with pytest.raises(ValueError, match="c2: convolution expects a 3-D, 4-D or 5-D input"):
        convolution(torch.randn(1, 1, 2, 2, 2, 2), 4, 1, scope='c2')
    with pytest.raises(ValueError, match="net/c3: data_format must be 'NCW' or 'NWC'"):
        with slim.variable_scope('net'):
            conv1d(torch.randn(1, 3, 8), 4, 3, data_format='CHW', scope='c3')
    with pytest.raises(ValueError, match=r"c4: kernel_size must be an int or a sequence of 3"):
        conv3d(torch.randn(1, 3, 4, 4, 4), 4, [3, 3], scope='c4')
    with pytest.raises(ValueError, match="c5: rate > 1 cannot be combined with stride > 1"):
        conv1d(torch.randn(1, 3, 8), 4, 3, stride=2, rate=2, scope='c5')
    with pytest.raises(ValueError, match="c6: num_outputs must be a positive int"):
        conv1d(torch.randn(1, 3, 8), 0, 3, scope='c6')


# -- transposed convolution ---------------------------------------------------------
def test_transpose_output_sizes():
    x = torch.randn(1, 2, 8, 8)
    assert conv2d_transpose(x, 3, 3, stride=2).shape == (1, 3, 16, 16)
    assert conv2d_transpose(x, 3, 3, stride=2, padding='VALID').shape == (1, 3, 17, 17)
    assert conv2d_transpose(x, 3, [1, 4], stride=[3, 2], padding='VALID').shape == (1, 3, 24, 18)
    assert conv2d_transpose(x, 3, [2, 5], stride=[3, 1]).shape == (1, 3, 24, 8)
    assert transpose_output_size(8, 3, 2, 'SAME') == 16
    assert transpose_output_size(8, 3, 2, 'VALID') == 17
    assert transpose_output_size(8, 1, 3, 'VALID') == 24
    assert conv3d_transpose(torch.randn(1, 2, 3, 4, 5), 1, [3, 2, 1], stride=2,
                            padding='VALID').shape == (1, 1, 7, 8, 10)


def test_transpose_same_keeps_tf_pixels_hand_computed():
    # 1-D along W: input [1, 10], kernel [1, 2, 3], stride 2, SAME -> 4 outputs.
    # Full transposed result: [1, 2, 3+10, 20, 30]; TF's forward conv pads 0 before
    # (total 1), so it keeps positions 0..3 and drops the last one.
    x = torch.tensor([1., 10.]).view(1, 1, 1, 2)
    y = conv2d_transpose(x, 1, [1, 3], stride=[1, 2], activation_fn=None,
                         weights_initializer=slim.constant_initializer([1., 2., 3.]))
    assert y.flatten().tolist() == [1., 2., 13., 20.]
    # kernel 5, stride 2: total 3, so 1 pixel dropped before and 2 after
    x = torch.tensor([1., 10.]).view(1, 1, 1, 2)
    y = conv2d_transpose(x, 1, [1, 5], stride=[1, 2], activation_fn=None,
                         weights_initializer=slim.constant_initializer([1., 2., 3., 4., 5.]))
    assert y.flatten().tolist() == [2., 13., 24., 35.]          # of [1, 2, 13, 24, 35, 40, 50]
    # kernel 1 < stride 3: TF appends zeros (then the bias)
    y = conv2d_transpose(x, 1, [1, 1], stride=[1, 3], activation_fn=None,
                         weights_initializer=slim.ones_initializer(),
                         biases_initializer=slim.constant_initializer(0.5))
    assert y.flatten().tolist() == [1.5, 0.5, 0.5, 10.5, 0.5, 0.5]


def _forward_conv_gradient(x, weights, kernel, stride, padding, out_size, conv):
    """TF's definition: the transposed conv is d(conv(z))/dz applied to ``x``,
    ``conv`` being slimtorch's own TF-padded convolution with the same kernel."""
    with slim.Graph():
        z = torch.zeros(x.shape[0], weights.shape[1], *out_size, requires_grad=True)
        conv(z, weights.shape[0], kernel, stride=stride, padding=padding, activation_fn=None,
             biases_initializer=None, weights_initializer=slim.zeros_initializer(), scope='fwd')
        with torch.no_grad():
            var('fwd/weights').copy_(weights)  # torch [in, out, k...] is conv's [out', in', k...]
        y = conv(z, weights.shape[0], kernel, stride=stride, padding=padding, activation_fn=None,
                 biases_initializer=None, scope='fwd', reuse=True)
        assert y.shape == x.shape
        return torch.autograd.grad(y, z, x)[0]


@pytest.mark.parametrize('padding', ['SAME', 'VALID'])
@pytest.mark.parametrize('size', [4, 5])
@pytest.mark.parametrize('kernel,stride', [(1, 1), (3, 1), (2, 2), (3, 2), (4, 2), (5, 2), (1, 3),
                                           (2, 3), (3, 3), (5, 3), (6, 3), ([3, 2], [2, 3])])
def test_conv2d_transpose_is_the_gradient_of_conv2d(padding, size, kernel, stride):
    x = torch.randn(2, 3, size, size + 2)
    y = conv2d_transpose(x, 4, kernel, stride=stride, padding=padding, activation_fn=None,
                         scope='t')
    k2 = kernel if isinstance(kernel, list) else [kernel] * 2
    s2 = stride if isinstance(stride, list) else [stride] * 2
    out = [transpose_output_size(n, k, s, padding) for n, k, s in zip(x.shape[2:], k2, s2)]
    assert list(y.shape) == [2, 4, *out]
    w, b = var('t/weights'), var('t/biases')
    assert tf_shape('t/weights') == [*k2, 4, 3] and w.shape == (3, 4, *k2)
    want = _forward_conv_gradient(x, w.detach(), k2, s2, padding, out, slim.conv2d)
    torch.testing.assert_close(y, want + b.view(1, -1, 1, 1))
    # and against torch's transposed conv, cropped where TF's window lies
    full = F.conv_transpose2d(x, w, stride=s2)
    before = [max(k - s, 0) // 2 if padding == 'SAME' else 0 for k, s in zip(k2, s2)]
    full = F.pad(full, [0, max(out[1] + before[1] - full.shape[3], 0),
                        0, max(out[0] + before[0] - full.shape[2], 0)])
    window = full[:, :, before[0]:before[0] + out[0], before[1]:before[1] + out[1]]
    torch.testing.assert_close(y, window + b.view(1, -1, 1, 1))


@pytest.mark.parametrize('padding', ['SAME', 'VALID'])
@pytest.mark.parametrize('kernel,stride', [(3, 2), ([2, 3, 4], [2, 1, 3]), (1, 2)])
def test_conv3d_transpose_is_the_gradient_of_conv3d(padding, kernel, stride):
    x = torch.randn(1, 2, 3, 4, 3)
    y = conv3d_transpose(x, 3, kernel, stride=stride, padding=padding, activation_fn=None,
                         biases_initializer=None, scope='t')
    k3 = kernel if isinstance(kernel, list) else [kernel] * 3
    s3 = stride if isinstance(stride, list) else [stride] * 3
    out = [transpose_output_size(n, k, s, padding) for n, k, s in zip(x.shape[2:], k3, s3)]
    assert tf_shape('t/weights') == [*k3, 3, 2] and names() == ['t/weights']
    torch.testing.assert_close(y, _forward_conv_gradient(x, var('t/weights').detach(), k3, s3,
                                                         padding, out, conv3d))


def test_conv_transpose_variables_scopes_and_fans():
    x = torch.randn(1, 16, 4, 4)
    conv2d_transpose(x, 32, 3)
    conv2d_transpose(x, 32, 3)
    conv3d_transpose(torch.randn(1, 2, 2, 2, 2), 5, 3)
    assert names() == ['Conv2d_transpose/weights', 'Conv2d_transpose/biases',
                       'Conv2d_transpose_1/weights', 'Conv2d_transpose_1/biases',
                       'Conv3d_transpose/weights', 'Conv3d_transpose/biases']
    assert tf_shape('Conv3d_transpose/weights') == [3, 3, 3, 5, 2]
    assert convolution2d_transpose is conv2d_transpose
    # TF's fan_in of [kh, kw, out, in] is kh*kw*out
    conv2d_transpose(x, 128, 3, scope='fan', weights_initializer=slim.variance_scaling_initializer(
        factor=1.0, mode='FAN_IN', uniform=True))
    bound = (3.0 / (9 * 128)) ** 0.5
    assert 0.95 * bound < var('fan/weights').abs().max() <= bound


def test_conv_transpose_errors_name_the_scope():
    with pytest.raises(ValueError, match="t1: data_format must be 'NCHW' or 'NHWC'"):
        conv2d_transpose(torch.randn(1, 3, 4, 4), 2, 3, data_format='NCDHW', scope='t1')
    with pytest.raises(ValueError, match=r"t2: conv2d_transpose expects a 4-D input, got \[3, "):
        conv2d_transpose(torch.randn(3, 4, 4), 2, 3, scope='t2')
    with pytest.raises(ValueError, match="t3: padding must be 'SAME' or 'VALID'"):
        conv3d_transpose(torch.randn(1, 3, 4, 4, 4), 2, 3, padding='FULL', scope='t3')


# -- separable and in-plane ----------------------------------------------------------
@pytest.mark.parametrize('size', [7, 8])
@pytest.mark.parametrize('kernel,stride,rate,mult', [(3, 1, 1, 1), (3, 2, 1, 2), (2, 2, 1, 1),
                                                     (4, 1, 1, 3), (5, 3, 1, 1), (3, 1, 2, 2),
                                                     (2, 1, 3, 1), ([1, 3], [2, 1], 1, 1)])
def test_separable_conv2d_matches_grouped_functional(size, kernel, stride, rate, mult):
    x = torch.randn(2, 3, size, size + 1)
    y = separable_conv2d(x, 5, kernel, depth_multiplier=mult, stride=stride, rate=rate,
                         scope='s')
    k2 = kernel if isinstance(kernel, list) else [kernel] * 2
    s2 = stride if isinstance(stride, list) else [stride] * 2
    depthwise = F.conv2d(tf_pad(x, k2, s2, [rate] * 2), var('s/depthwise_weights'), None, s2,
                         dilation=rate, groups=3)
    want = F.relu(F.conv2d(depthwise, var('s/pointwise_weights'), var('s/biases')))
    torch.testing.assert_close(y, want)
    d = separable_conv2d(x, None, kernel, depth_multiplier=mult, stride=stride, rate=rate,
                         padding='VALID', activation_fn=None, scope='d')
    torch.testing.assert_close(d, F.conv2d(x, var('d/depthwise_weights'), var('d/biases'), s2,
                                           dilation=rate, groups=3))


@pytest.mark.parametrize('size', [(8, 8), (8, 9), (9, 9)])
def test_depthwise_same_padding_in_the_kernel_keeps_values_and_gradients(size):
    """At stride 2 TF pads one more pixel at the end; depthwise layers put
    that padding into the kernel (a zero tap) instead of padding the input.
    Outputs and all gradients equal the explicitly padded convolution."""
    x = torch.randn(2, 4, *size, requires_grad=True)
    y = separable_conv2d(x, None, 3, depth_multiplier=2, stride=2, activation_fn=None,
                         scope='dw')
    w, b = var('dw/depthwise_weights'), var('dw/biases')
    x_ref = x.detach().clone().requires_grad_(True)
    w_ref = w.detach().clone().requires_grad_(True)
    want = F.conv2d(tf_pad(x_ref, [3, 3], [2, 2]), w_ref, b.detach(), 2, groups=4)
    torch.testing.assert_close(y, want, rtol=0, atol=1e-6)
    grad = torch.randn_like(want)
    y.backward(grad)
    want.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=0, atol=1e-5)
    torch.testing.assert_close(w.grad, w_ref.grad, rtol=0, atol=1e-5)


def test_separable_variables_layouts_and_initializers():
    x = torch.randn(1, 64, 6, 6)
    separable_conv2d(x, 8, [3, 3], depth_multiplier=2,
                     pointwise_initializer=slim.constant_initializer(0.25))
    separable_conv2d(x, None, [3, 2], depth_multiplier=3)
    assert names() == ['SeparableConv2d/depthwise_weights', 'SeparableConv2d/pointwise_weights',
                       'SeparableConv2d/biases', 'SeparableConv2d_1/depthwise_weights',
                       'SeparableConv2d_1/biases']
    assert tf_shape('SeparableConv2d/depthwise_weights') == [3, 3, 64, 2]
    assert var('SeparableConv2d/depthwise_weights').shape == (128, 1, 3, 3)
    assert tf_shape('SeparableConv2d/pointwise_weights') == [1, 1, 128, 8]
    assert tf_shape('SeparableConv2d/biases') == [8]
    assert tf_shape('SeparableConv2d_1/depthwise_weights') == [3, 2, 64, 3]
    assert tf_shape('SeparableConv2d_1/biases') == [192]
    assert (var('SeparableConv2d/pointwise_weights') == 0.25).all()
    # Xavier on TF's [kh, kw, in, mult]: fans 9*64 and 9*2 (torch's would be 9 and 9*2)
    bound = (6.0 / (9 * 64 + 9 * 2)) ** 0.5
    assert 0.95 * bound < var('SeparableConv2d/depthwise_weights').abs().max() <= bound
    assert separable_convolution2d is separable_conv2d


def test_separable_depthwise_channel_order_hand_built():
    x = torch.ones(1, 2, 1, 1)
    x[0, 1] = 2.
    tf_kernel = torch.tensor([[1., 2., 3.], [10., 20., 30.]]).view(1, 1, 2, 3)  # [1, 1, in, mult]
    y = separable_conv2d(x, None, 1, depth_multiplier=3, activation_fn=None,
                         weights_initializer=slim.constant_initializer(tf_kernel))
    assert y.flatten().tolist() == [1., 2., 3., 20., 40., 60.]   # channel c*3 + m


def test_conv2d_in_plane_shares_one_kernel():
    x = torch.randn(2, 4, 7, 8)
    y = conv2d_in_plane(x, [3, 2], stride=2, scope='p')
    w, b = var('p/weights'), var('p/biases')
    assert names() == ['p/weights', 'p/biases'] and w.shape == (1, 1, 3, 2)
    assert tf_shape('p/weights') == [3, 2, 1, 1] and tf_shape('p/biases') == [4]
    want = F.relu(F.conv2d(tf_pad(x, [3, 2], [2, 2]), w.repeat(4, 1, 1, 1), b, 2, groups=4))
    torch.testing.assert_close(y, want)
    y.sum().backward()  # the shared kernel gets the sum of the channels' gradients
    wr = w.detach().repeat(4, 1, 1, 1).requires_grad_()
    F.relu(F.conv2d(tf_pad(x, [3, 2], [2, 2]), wr, b.detach(), 2, groups=4)).sum().backward()
    torch.testing.assert_close(w.grad, wr.grad.sum(0, keepdim=True))
    conv2d_in_plane(x, 3, padding='VALID')
    assert names()[2:] == ['ConvInPlane/weights', 'ConvInPlane/biases']
    assert convolution2d_in_plane is conv2d_in_plane


def test_separable_and_in_plane_errors_name_the_scope():
    x = torch.randn(1, 3, 8, 8)
    with pytest.raises(ValueError, match="s1: depth_multiplier must be a positive int"):
        separable_conv2d(x, 4, 3, depth_multiplier=0, scope='s1')
    with pytest.raises(ValueError, match="s2: rate > 1 cannot be combined with stride > 1"):
        separable_conv2d(x, 4, 3, stride=2, rate=2, scope='s2')
    with pytest.raises(ValueError, match="s3: data_format must be 'NCHW' or 'NHWC'"):
        separable_conv2d(x, 4, 3, data_format='NCW', scope='s3')
    with pytest.raises(ValueError, match="s4: num_outputs must be a positive int or None"):
        separable_conv2d(x, 2.5, 3, scope='s4')
    with pytest.raises(ValueError, match=r"p1: conv2d_in_plane expects a 4-D input, got \[3, 8\]"):
        conv2d_in_plane(torch.randn(3, 8), 3, scope='p1')


# -- shared behaviour ----------------------------------------------------------------
LAYERS = [
    lambda x: conv1d(x.flatten(2), 3, 3, stride=2),
    lambda x: conv3d(x.unsqueeze(2), 3, [1, 3, 3], stride=[1, 2, 2]),
    lambda x: convolution(x, 3, 3),
    lambda x: conv2d_transpose(x, 3, 3, stride=2),
    lambda x: conv3d_transpose(x.unsqueeze(2), 3, 2, stride=[1, 2, 2]),
    lambda x: separable_conv2d(x, 3, 3, depth_multiplier=2, stride=2),
    lambda x: separable_conv2d(x, None, 3),
    lambda x: conv2d_in_plane(x, 3),
]


@pytest.mark.parametrize('index', range(len(LAYERS)))
def test_normalizer_fn_replaces_the_biases(index):
    def scale_norm(x, factor=1.0, scope=None):
        with slim.variable_scope(scope, 'ScaleNorm'):
            gamma = slim.model_variable('gamma', shape=[x.shape[1]],
                                        initializer=slim.constant_initializer(factor))
        return x * gamma.view(1, -1, *[1] * (x.dim() - 2))

    with slim.arg_scope([conv1d, conv3d, convolution, conv2d_transpose, conv3d_transpose,
                         separable_conv2d, conv2d_in_plane], activation_fn=None):
        plain = LAYERS[index](torch.ones(1, 2, 6, 6))
    with slim.Graph():
        with slim.arg_scope([conv1d, conv3d, convolution, conv2d_transpose, conv3d_transpose,
                             separable_conv2d, conv2d_in_plane], activation_fn=None,
                            normalizer_fn=scale_norm, normalizer_params={'factor': 2.0},
                            weights_initializer=slim.ones_initializer()):
            normed = LAYERS[index](torch.ones(1, 2, 6, 6))
        assert not any(n.endswith('biases') for n in names())
        assert names()[-1].endswith('/ScaleNorm/gamma')
    assert normed.shape == plain.shape


def test_a_built_model_runs_every_layer_on_the_fast_path():
    def net(x):
        outputs = [layer(x) for layer in LAYERS]
        return [o.flatten(1).sum(1) for o in outputs]

    model = slim.Model(net)
    x = torch.randn(2, 2, 6, 6)
    first = model(x)
    assert len(list(model.parameters())) == 17
    second = model(x)
    for a, b in zip(first, second):
        assert torch.equal(a, b)


def test_a_built_layer_checks_its_input_naming_the_full_scope():
    def net(x):
        with slim.variable_scope('net'):
            x = separable_conv2d(x, 4, 3, scope='sep')
            return conv3d_transpose(x.unsqueeze(2), 2, 3, data_format='NCDHW', scope='up')

    model = slim.Model(net)
    model(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"net/sep: expected input of shape \[N, 3, H, W\] "
                                         r"\(NCHW\), got \[1, 5, 8, 8\]"):
        model(torch.randn(1, 5, 8, 8))
    nhwc = slim.Model(lambda x: conv1d(x, 2, 3, data_format='NWC', scope='c'))
    nhwc(torch.randn(1, 9, 4))
    with pytest.raises(ValueError, match=r"c: expected input of shape \[N, W, 4\] \(NWC\), "
                                         r"got \[1, 4, 9\]"):
        nhwc(torch.randn(1, 4, 9))
