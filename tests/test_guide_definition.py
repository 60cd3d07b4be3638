"""The "定义模型" (defining models) part of the TF-Slim usage guide, run as
written except for TF names that must become torch ones
(``tf.nn.relu`` -> ``torch.relu``, ``tf.truncated_normal_initializer`` ->
``slim.truncated_normal_initializer``).
"""

import torch
import torch.nn.functional as F

import slimtorch as slim


def test_variables_snippet():
    weights = slim.variable('weights',
                            shape=[10, 10, 3, 3],
                            initializer=slim.truncated_normal_initializer(stddev=0.1),
                            regularizer=slim.l2_regularizer(0.05),
                            device='/CPU:0')
    assert weights.name == 'weights' and weights.op.name == 'weights'
    assert tuple(weights.shape) == (10, 10, 3, 3) and weights.device.type == 'cpu'
    assert isinstance(weights, torch.nn.Parameter) and weights.requires_grad
    assert weights.abs().max() <= 0.2  # truncated at two standard deviations
    (penalty,) = slim.losses.get_regularization_losses()
    torch.testing.assert_close(penalty, 0.05 * weights.detach().square().sum() / 2)


def test_model_and_regular_variables_snippet():
    # Model Variables
    weights = slim.model_variable('weights',
                                  shape=[10, 10, 3, 3],
                                  initializer=slim.truncated_normal_initializer(stddev=0.1),
                                  regularizer=slim.l2_regularizer(0.05),
                                  device='/CPU:0')
    model_variables = slim.get_model_variables()

    # Regular variables
    my_var = slim.variable('my_var',
                           shape=[20, 1],
                           initializer=slim.zeros_initializer())
    regular_variables_and_model_variables = slim.get_variables()

    assert model_variables == [weights]
    assert [v.name for v in regular_variables_and_model_variables] == ['weights', 'my_var']
    assert torch.count_nonzero(my_var) == 0


def test_add_model_variable_snippet():
    def CreateViaCustomCode():  # noqa: N802 (the guide's name)
        return slim.variable('custom', shape=[3])

    my_model_variable = CreateViaCustomCode()
    assert slim.get_model_variables() == []

    # Letting TF-Slim know about the additional variable.
    slim.add_model_variable(my_model_variable)
    assert slim.get_model_variables() == [my_model_variable]

    # A tensor made entirely outside slimtorch is registered under a name.
    raw = torch.nn.Parameter(torch.ones(2))
    slim.add_model_variable(raw, name='raw')
    assert [v.name for v in slim.get_model_variables()] == ['custom', 'raw']
    assert raw.name == 'raw'


def test_layers_snippet_matches_the_raw_ops():
    input = torch.randn(2, 64, 9, 9)
    net = slim.conv2d(input, 128, [3, 3], scope='conv1_1')

    kernel = slim.get_unique_variable('conv1_1/weights')
    biases = slim.get_unique_variable('conv1_1/biases')
    assert kernel.shape == (128, 64, 3, 3)  # TF's [3, 3, 64, 128] in torch layout
    expected = F.relu(F.conv2d(input, kernel, biases, padding=1))
    torch.testing.assert_close(net, expected)


def test_repeat_snippets_loop_and_repeat():
    net = torch.randn(1, 8, 8, 8)
    for i in range(3):
        net = slim.conv2d(net, 256, [3, 3], scope='conv3_%d' % (i + 1))
    net = slim.max_pool2d(net, [2, 2], scope='pool2')
    assert net.shape == (1, 256, 4, 4)

    with slim.Graph():
        net = torch.randn(1, 8, 8, 8)
        net = slim.repeat(net, 3, slim.conv2d, 256, [3, 3], scope='conv3')
        net = slim.max_pool2d(net, [2, 2], scope='pool2')
        assert net.shape == (1, 256, 4, 4)
        assert [v.name for v in slim.get_model_variables()] == [
            'conv3/conv3_1/weights', 'conv3/conv3_1/biases',
            'conv3/conv3_2/weights', 'conv3/conv3_2/biases',
            'conv3/conv3_3/weights', 'conv3/conv3_3/biases',
        ]


def _names_and_shapes():
    return [(v.name, tuple(v.shape)) for v in slim.get_model_variables()]


def test_stack_snippet_mlp_equals_verbose_way():
    x = torch.randn(4, 5)
    with slim.Graph():
        torch.manual_seed(1)
        # Verbose way:
        y = slim.fully_connected(x, 32, scope='fc/fc_1')
        y = slim.fully_connected(y, 64, scope='fc/fc_2')
        verbose = slim.fully_connected(y, 128, scope='fc/fc_3')
        verbose_names = _names_and_shapes()
    with slim.Graph():
        torch.manual_seed(1)
        # Equivalent, TF-Slim way using slim.stack:
        stacked = slim.stack(x, slim.fully_connected, [32, 64, 128], scope='fc')
        stacked_names = _names_and_shapes()
    assert stacked_names == verbose_names
    assert verbose_names[0] == ('fc/fc_1/weights', (32, 5))  # TF: [5, 32]
    torch.testing.assert_close(stacked, verbose)


def test_stack_snippet_conv_tower_equals_verbose_way():
    x = torch.randn(1, 3, 8, 8)
    with slim.Graph():
        torch.manual_seed(2)
        # Verbose way:
        y = slim.conv2d(x, 32, [3, 3], scope='core/core_1')
        y = slim.conv2d(y, 32, [1, 1], scope='core/core_2')
        y = slim.conv2d(y, 64, [3, 3], scope='core/core_3')
        verbose = slim.conv2d(y, 64, [1, 1], scope='core/core_4')
        verbose_names = _names_and_shapes()
    with slim.Graph():
        torch.manual_seed(2)
        # Using stack:
        stacked = slim.stack(x, slim.conv2d, [(32, [3, 3]), (32, [1, 1]), (64, [3, 3]), (64, [1, 1])],
                             scope='core')
        stacked_names = _names_and_shapes()
    assert stacked_names == verbose_names
    assert [n for n, _ in verbose_names[::2]] == [f'core/core_{i}/weights' for i in range(1, 5)]
    torch.testing.assert_close(stacked, verbose)


def _three_convs_verbose(inputs):
    net = slim.conv2d(inputs, 64, [11, 11], 4, padding='SAME',
                      weights_initializer=slim.truncated_normal_initializer(stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005), scope='conv1')
    net = slim.conv2d(net, 128, [11, 11], padding='VALID',
                      weights_initializer=slim.truncated_normal_initializer(stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005), scope='conv2')
    net = slim.conv2d(net, 256, [11, 11], padding='SAME',
                      weights_initializer=slim.truncated_normal_initializer(stddev=0.01),
                      weights_regularizer=slim.l2_regularizer(0.0005), scope='conv3')
    return net


def _three_convs_with_variables(inputs):
    padding = 'SAME'
    initializer = slim.truncated_normal_initializer(stddev=0.01)
    regularizer = slim.l2_regularizer(0.0005)
    net = slim.conv2d(inputs, 64, [11, 11], 4,
                      padding=padding,
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv1')
    net = slim.conv2d(net, 128, [11, 11],
                      padding='VALID',
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv2')
    net = slim.conv2d(net, 256, [11, 11],
                      padding=padding,
                      weights_initializer=initializer,
                      weights_regularizer=regularizer,
                      scope='conv3')
    return net


def _three_convs_arg_scope(inputs):
    with slim.arg_scope([slim.conv2d], padding='SAME',
                        weights_initializer=slim.truncated_normal_initializer(stddev=0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        net = slim.conv2d(inputs, 64, [11, 11], scope='conv1')
        net = slim.conv2d(net, 128, [11, 11], padding='VALID', scope='conv2')
        net = slim.conv2d(net, 256, [11, 11], scope='conv3')
    return net


def test_arg_scope_examples_are_equivalent():
    inputs = torch.randn(1, 3, 64, 64)
    outputs = []
    for define in (_three_convs_verbose, _three_convs_with_variables):
        with slim.Graph():
            torch.manual_seed(3)
            outputs.append((define(inputs), _names_and_shapes(),
                            len(slim.losses.get_regularization_losses())))
    (a, names_a, regs_a), (b, names_b, regs_b) = outputs
    assert names_a == names_b and regs_a == regs_b == 3
    torch.testing.assert_close(a, b)
    # 64 -SAME/4-> 16 -VALID 11-> 6 -SAME-> 6
    assert a.shape == (1, 256, 6, 6)

    # The guide's arg_scope version omits the stride 4 of conv1 (the scope
    # sets no stride), so conv1 keeps 64x64: 64 -> 54 (VALID) -> 54.
    with slim.Graph():
        scoped = _three_convs_arg_scope(inputs)
        assert scoped.shape == (1, 256, 54, 54)
        assert [n for n, _ in _names_and_shapes()] == [n for n, _ in names_a]
        assert len(slim.losses.get_regularization_losses()) == 3


def test_nested_arg_scope_example():
    inputs = torch.randn(2, 3, 64, 64)
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        activation_fn=torch.relu,
                        weights_initializer=slim.truncated_normal_initializer(stddev=0.01),
                        weights_regularizer=slim.l2_regularizer(0.0005)):
        with slim.arg_scope([slim.conv2d], stride=1, padding='SAME'):
            net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID', scope='conv1')
            net = slim.conv2d(net, 256, [5, 5],
                              weights_initializer=slim.truncated_normal_initializer(stddev=0.03),
                              scope='conv2')
            net = slim.fully_connected(net, 1000, activation_fn=None, scope='fc')

    # conv1: the positional stride 4 beats the scoped stride=1 (TF-Slim raised
    # TypeError here); 64 -> (64 - 11) // 4 + 1 = 14 with the explicit VALID.
    # fc acts on channels: [2, 256, 14, 14] -> [2, 1000, 14, 14].
    assert net.shape == (2, 1000, 14, 14)
    conv1 = slim.get_unique_variable('conv1/weights')
    conv2 = slim.get_unique_variable('conv2/weights')
    assert conv1.abs().max() <= 0.02 and conv2.abs().max() <= 0.06
    assert conv2.abs().max() > 0.02  # the call's initializer (stddev 0.03) won
    assert len(slim.losses.get_regularization_losses()) == 3
    assert net.min() < 0  # activation_fn=None at the call beats the scoped relu
