"""The guide's VGG16 function, called under ``slim.variable_scope('vgg16')``."""

import pytest
import torch

import slimtorch as slim


def vgg16(inputs, flatten=False):
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        activation_fn=torch.relu,
                        weights_initializer=slim.truncated_normal_initializer(0.0, 0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        net = slim.repeat(inputs, 2, slim.conv2d, 64, [3, 3], scope='conv1')
        net = slim.max_pool2d(net, [2, 2], scope='pool1')
        net = slim.repeat(net, 2, slim.conv2d, 128, [3, 3], scope='conv2')
        net = slim.max_pool2d(net, [2, 2], scope='pool2')
        net = slim.repeat(net, 3, slim.conv2d, 256, [3, 3], scope='conv3')
        net = slim.max_pool2d(net, [2, 2], scope='pool3')
        net = slim.repeat(net, 3, slim.conv2d, 512, [3, 3], scope='conv4')
        net = slim.max_pool2d(net, [2, 2], scope='pool4')
        net = slim.repeat(net, 3, slim.conv2d, 512, [3, 3], scope='conv5')
        net = slim.max_pool2d(net, [2, 2], scope='pool5')
        if flatten:
            net = slim.flatten(net)
        net = slim.fully_connected(net, 4096, scope='fc6')
        net = slim.dropout(net, 0.5, scope='dropout6')
        net = slim.fully_connected(net, 4096, scope='fc7')
        net = slim.dropout(net, 0.5, scope='dropout7')
        net = slim.fully_connected(net, 1000, activation_fn=None, scope='fc8')
    return net


CONV_LAYERS = [('conv1', 2, 64), ('conv2', 2, 128), ('conv3', 3, 256), ('conv4', 3, 512),
               ('conv5', 3, 512)]


def expected_variables(flatten):
    """Names and TF-layout shapes, in creation order."""
    out, cin = [], 3
    for block, n, cout in CONV_LAYERS:
        for i in range(1, n + 1):
            out += [(f'vgg16/{block}/{block}_{i}/weights', [3, 3, cin, cout]),
                    (f'vgg16/{block}/{block}_{i}/biases', [cout])]
            cin = cout
    fc6_in = 7 * 7 * 512 if flatten else 512
    for name, n_in, n_out in (('fc6', fc6_in, 4096), ('fc7', 4096, 4096), ('fc8', 4096, 1000)):
        out += [(f'vgg16/{name}/weights', [n_in, n_out]), (f'vgg16/{name}/biases', [n_out])]
    return out


def tf_shape(var):
    shape = list(var.shape)
    if var.name.endswith('weights'):
        return shape[2:] + [shape[1], shape[0]] if len(shape) == 4 else [shape[1], shape[0]]
    return shape


@pytest.mark.parametrize('flatten', [False, True])
def test_vgg16_names_shapes_and_regularization(flatten):
    net = slim.Model(vgg16, flatten=flatten)
    with slim.variable_scope('vgg16'):
        net.build((2, 3, 224, 224), device='meta')
    variables = slim.get_model_variables()
    assert len(variables) == 32
    assert [(v.name, tf_shape(v)) for v in variables] == expected_variables(flatten)
    assert variables[0].op.name == 'vgg16/conv1/conv1_1/weights'
    assert variables[-1].name == 'vgg16/fc8/biases'
    assert len(slim.losses.get_regularization_losses()) == 16
    if flatten:
        assert sum(v.numel() for v in variables) == 138_357_544  # VGG-16's known size
    # state_dict keys are the Slim names with dots
    assert list(net.state_dict())[:2] == ['vgg16.conv1.conv1_1.weights',
                                          'vgg16.conv1.conv1_1.biases']


@pytest.mark.parametrize('flatten,shape', [(False, (2, 1000, 7, 7)), (True, (2, 1000))])
def test_vgg16_output_shape_matches_tf_slim(flatten, shape):
    # TF-Slim: fully_connected after pool5 acts on the last (channel) axis, so
    # [N, 7, 7, 1000] in NHWC, i.e. [N, 1000, 7, 7] in NCHW; flatten first for [N, 1000].
    net = slim.Model(vgg16, flatten=flatten)
    with slim.variable_scope('vgg16'):
        out = net(torch.empty(2, 3, 224, 224, device='meta'))
    assert out.shape == shape


def test_vgg16_built_on_meta_then_materialized_runs_and_regularizes():
    net = slim.Model(vgg16)
    with slim.variable_scope('vgg16'):
        net.build((1, 3, 224, 224), device='meta')
    assert all(p.device.type == 'meta' for p in net.parameters())
    net.materialize('cpu')
    fc6 = slim.get_unique_variable('vgg16/fc6/weights')
    assert fc6.device.type == 'cpu' and fc6.abs().max() <= 0.02
    assert abs(fc6.std().item() - 0.01 * 0.8796) < 2e-4  # N(0, 0.01) truncated at 2 sigma
    assert torch.count_nonzero(slim.get_unique_variable('vgg16/fc6/biases')) == 0
    penalties = slim.losses.get_regularization_losses()
    expected = sum(0.0005 * v.detach().square().sum() / 2
                   for v in slim.get_model_variables() if v.name.endswith('weights'))
    torch.testing.assert_close(sum(p.detach() for p in penalties), expected)

    net.eval()
    with torch.no_grad():
        logits = net(torch.randn(1, 3, 64, 64))  # any size >= 32 works
    assert logits.shape == (1, 1000, 2, 2)


def test_name_in_checkpoint_idiom():
    with slim.variable_scope('vgg16'):
        slim.Model(vgg16).build((1, 3, 32, 32), device='meta')

    def name_in_checkpoint(var):
        return 'vgg_16/' + var.op.name.split('/', 1)[1]

    variables_to_restore = {name_in_checkpoint(var): var for var in slim.get_model_variables()}
    assert list(variables_to_restore)[:2] == ['vgg_16/conv1/conv1_1/weights',
                                              'vgg_16/conv1/conv1_1/biases']
