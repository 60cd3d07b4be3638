"""tf_slim/layers/layers_test.py: BiasAddTest, DropoutTest, FlattenTest, FCTest.

Translation: NHWC -> NCHW (slimtorch's ``fully_connected`` and ``bias_add``
act on dim 1 of an image, TF-Slim's on the last). ``output.op.name ==
'fully_connected/Relu'`` becomes the output's name in an outputs collection
(the scope; the op-type suffix has no eager counterpart) plus, where the
suffix says so, a check that the activation ran. A placeholder's unknown
sizes become a built ``slim.Model`` called at several sizes. A regularizer's
op name (``fully_connected/kernel/Regularizer/l2_regularizer``) is a graph op
name; the loss's value is checked instead. ``ops.get_collection(
GraphKeys.REGULARIZATION_LOSSES)`` is ``slim.losses.get_regularization_losses()``:
slimtorch computes the penalties from the registered regularizers on the
current weights (DESIGN.md, training) instead of storing graph tensors.

| tf_slim class | translated | passing | documented difference | untranslatable |
|---|---:|---:|---:|---:|
| BiasAddTest | 3 | 3 | 0 | 0 |
| DropoutTest | 10 | 10 | 0 | 0 |
| FlattenTest | 7 | 7 | 0 | 0 |
| FCTest | 14 | 14 | 0 | 0 |

Untranslatable: none (``DropoutTest.testCreateDropoutWithPlaceholder`` keeps
its shape check; its check that TF inserted a ``cond`` op is graph-only).
"""

import pytest
import torch

import slimtorch as slim


def output_name(fn, *args, **kwargs):
    out = fn(*args, outputs_collections='__names__', **kwargs)
    return out, slim.get_collection('__names__')[-1].name


def fraction_positive(x):
    return (x > 0).float().mean().item()


# -- BiasAddTest -------------------------------------------------------------------------
class TestBiasAdd:
    def test_create(self):
        output, name = output_name(slim.bias_add, torch.rand(5, 3, 3, 3))
        assert name == 'BiasAdd'
        assert list(output.shape) == [5, 3, 3, 3]

    def test_create_with_activation(self):
        output, name = output_name(slim.bias_add, torch.rand(5, 3, 3, 3) - 0.5,
                                   activation_fn=torch.relu)
        assert name == 'BiasAdd' and output.min() == 0     # BiasAdd/Relu
        assert list(output.shape) == [5, 3, 3, 3]

    def test_create_dimensions(self):
        shape = [5, 2, 3, 4]
        for d in (2, 3, 4):
            input_shape = shape[:d]
            output = slim.bias_add(torch.rand(*input_shape))
            assert list(output.shape) == input_shape
            biases = slim.get_variables_by_name('biases')[-1]
            # The channels: TF's last dim; slimtorch's dim 1 of a 4-D (NCHW) input.
            channels = input_shape[1] if d == 4 else input_shape[-1]
            assert list(biases.shape) == [channels]


# -- DropoutTest -------------------------------------------------------------------------
class TestDropout:
    def test_create_dropout(self):
        images = torch.rand(5, 3, 3, 3)
        assert slim.dropout(images).shape == images.shape

    @pytest.mark.parametrize('value', [True, False])   # ...WithConstantTrue / False
    def test_create_dropout_with_constant(self, value):
        images = torch.rand(5, 3, 3, 3)
        assert slim.dropout(images, is_training=torch.tensor(value)).shape == images.shape

    def test_create_dropout_with_placeholder(self):
        model = slim.Model(lambda x, is_training: slim.dropout(x, is_training=is_training))
        images = torch.rand(5, 3, 3, 3)
        for is_training in (True, False):
            assert model(images, is_training=is_training).shape == images.shape
        assert torch.equal(model(images, is_training=False), images)

    def test_collect_outputs(self):
        output = slim.dropout(torch.rand(5, 3, 3, 3), outputs_collections='outputs')
        collected = slim.get_collection('outputs')[0]
        assert collected.name == 'Dropout'
        assert collected.outputs is output

    def test_dropout(self):
        images = torch.rand(5, 3, 10, 10)
        num_elem_initial = fraction_positive(images)
        num_elem = fraction_positive(slim.dropout(images))
        assert num_elem_initial / 2 - 0.1 < num_elem < num_elem_initial / 2 + 0.1

    def test_dropout_seed(self):
        """Test that providing the same seed produces the same result."""
        images = torch.rand(5, 3, 10, 10)
        assert torch.equal(slim.dropout(images, seed=1), slim.dropout(images, seed=1))

    def test_create_dropout_no_training(self):
        images = torch.rand(5, 3, 3, 3)
        output = slim.dropout(images, is_training=False)
        assert fraction_positive(output) == fraction_positive(images)
        torch.testing.assert_close(output, images)

    def test_create_fc_follow_by_dropout(self):
        output = slim.fully_connected(torch.rand(5, 3, 3, 3), 50)
        num_elem_initial = fraction_positive(output)
        num_elem = fraction_positive(slim.dropout(output))
        assert num_elem_initial / 2 - 0.1 < num_elem < num_elem_initial / 2 + 0.1

    def test_create_fc_with_dropout(self):
        output = slim.fully_connected(torch.rand(5, 3, 3, 3), 50, normalizer_fn=slim.dropout)
        assert 0.1 < fraction_positive(output) < 0.5


# -- FlattenTest -------------------------------------------------------------------------
class TestFlatten:
    def test_unknown_last_dim(self):
        model = slim.Model(slim.flatten)
        for last in (1, 7):
            assert list(model(torch.rand(5, last)).shape) == [5, last]

    def test_collect_outputs(self):
        output = slim.flatten(torch.rand(5, 3, 3, 3), outputs_collections='outputs')
        collected = slim.get_collection('outputs')[0]
        assert collected.name == 'Flatten'
        assert collected.outputs is output

    @pytest.mark.parametrize('shape', [(5, 3, 3, 3), (5, 3, 3)])   # testFlatten4D, 3D
    def test_flatten(self, shape):
        images = torch.rand(*shape)
        output = slim.flatten(images)
        assert output.numel() == images.numel()
        assert output.shape[0] == images.shape[0]

    def test_flatten_0d(self):
        assert slim.flatten(torch.rand(5)).shape == (5, 1)

    def test_flatten_batch_size(self):
        images = torch.randint(0, 10, (5, 3, 3, 3), dtype=torch.int32)
        model = slim.Model(slim.flatten)
        output = model(images)
        assert list(output.shape) == [5, 3 * 3 * 3]
        assert output.numel() == images.numel()
        assert list(model(images[:2]).shape) == [2, 27]

    def test_unknown_dims(self):
        images = torch.randint(0, 10, (5, 3, 3, 3), dtype=torch.int32)
        output = slim.Model(slim.flatten)(images)
        assert output.numel() == images.numel()
        assert output.shape[0] == images.shape[0]

    def test_flatten_order_is_tf_slims(self):
        """NCHW flattens channels-last, as TF-Slim's NHWC flatten."""
        images = torch.arange(12.).reshape(1, 3, 2, 2)
        assert slim.flatten(images).tolist() == [images.permute(0, 2, 3, 1).flatten().tolist()]


# -- FCTest ------------------------------------------------------------------------------
class TestFC:
    @pytest.mark.parametrize('layer_fn', [slim.fully_connected, slim.relu])
    def test_create_fc(self, layer_fn):
        inputs = torch.rand(5, 3 * 3 * 3) - 0.5
        output = layer_fn(inputs, 32, outputs_collections='names')
        assert slim.get_collection('names')[0].name == 'fully_connected'
        assert output.min() >= 0                              # fully_connected/Relu
        assert list(output.shape) == [5, 32]
        weights = slim.get_variables_by_name('weights')[0]
        assert list(weights.shape) == [32, 3 * 3 * 3]         # TF [27, 32]
        assert list(slim.get_variables_by_name('biases')[0].shape) == [32]

    def test_create_fc_with_scope(self):
        _, name = output_name(slim.fully_connected, torch.rand(5, 27), 32, scope='fc1')
        assert name == 'fc1'

    def test_create_fc_with_collection(self):
        with slim.variable_scope('fe'):
            fc = slim.fully_connected(torch.rand(5, 27), 7, outputs_collections='outputs',
                                      scope='fc')
        collected = slim.get_collection('outputs')[0]
        # TF's ops.name_scope('fe') leaves the alias 'fc'; a variable_scope names it.
        assert collected.name == 'fe/fc'
        assert collected.outputs is fc

    def test_create_fc_creates_weights_and_biases_vars(self):
        assert not slim.get_variables('fc1/weights')
        assert not slim.get_variables('fc1/biases')
        slim.fully_connected(torch.rand(5, 27), 32, scope='fc1')
        assert slim.get_variables('fc1/weights')
        assert slim.get_variables('fc1/biases')

    def test_reuse_vars(self):
        inputs = torch.rand(5, 27)
        slim.fully_connected(inputs, 32, scope='fc1')
        assert len(slim.get_variables('fc1')) == 2
        slim.fully_connected(inputs, 32, scope='fc1', reuse=True)
        assert len(slim.get_variables('fc1')) == 2

    def test_non_reuse_vars(self):
        inputs = torch.rand(5, 27)
        slim.fully_connected(inputs, 32)
        assert len(slim.get_variables('fully_connected')) == 2
        slim.fully_connected(inputs, 32)
        # TF: get_variables('fully_connected') also matches 'fully_connected_1/...'
        assert len(slim.get_variables('fully_connected')) == 4

    def test_reuse_with_regularizer(self):
        def regularizer(x):
            return x.sum() * 1e-3
        inputs = torch.rand(5, 27)
        slim.fully_connected(inputs, 32, scope='fc1', weights_regularizer=regularizer)
        assert len(slim.losses.get_regularization_losses()) == 1
        assert len(slim.losses.get_regularization_losses()) == 1
        slim.fully_connected(inputs, 32, scope='fc1', weights_regularizer=regularizer,
                             reuse=True)
        assert len(slim.losses.get_regularization_losses()) == 1
        assert len(slim.losses.get_regularization_losses()) == 1
        with slim.variable_scope('outer', reuse=False):
            slim.fully_connected(inputs, 32, weights_regularizer=regularizer)
            assert len(slim.losses.get_regularization_losses()) == 2
            assert len(slim.losses.get_regularization_losses()) == 2
        with slim.variable_scope('outer', reuse=True):
            slim.fully_connected(inputs, 32, weights_regularizer=regularizer)
            assert len(slim.losses.get_regularization_losses()) == 2
            assert len(slim.losses.get_regularization_losses()) == 2

    def test_create_fc_without_activation(self):
        output, name = output_name(slim.fully_connected, torch.rand(5, 27) - 0.5, 32,
                                   activation_fn=None)
        assert name == 'fully_connected' and output.min() < 0   # fully_connected/BiasAdd

    def test_create_fc_with_wd(self):
        slim.fully_connected(torch.rand(5, 27), 32, weights_regularizer=slim.l2_regularizer(0.01))
        wd = slim.losses.get_regularization_losses()[0]
        assert wd.item() < 0.4
        weights = slim.get_variables_by_name('weights')[0]
        assert wd.item() == pytest.approx(0.01 * weights.square().sum().item() / 2, rel=1e-5)

    def test_create_fc_with_bd(self):
        slim.fully_connected(torch.rand(5, 27), 32, biases_regularizer=slim.l2_regularizer(0.01))
        wd = slim.losses.get_regularization_losses()[0]
        assert wd.item() < 0.4

    def test_create_no_regularizers(self):
        slim.fully_connected(torch.rand(5, 27), 32)
        assert slim.losses.get_regularization_losses() == []

    def test_reuse_fc_with_wd(self):
        inputs = torch.rand(5, 27)
        weight_decay = slim.l2_regularizer(0.01)
        slim.fully_connected(inputs, 32, weights_regularizer=weight_decay, scope='FC')
        assert len(slim.get_variables()) == 2
        assert len(slim.losses.get_regularization_losses()) == 1
        slim.fully_connected(inputs, 32, weights_regularizer=weight_decay, scope='FC',
                             reuse=True)
        assert len(slim.get_variables()) == 2
        assert len(slim.losses.get_regularization_losses()) == 1

    def test_fc_with_batch_norm(self):
        with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,
                            normalizer_params={'decay': 0.9}):
            net = slim.fully_connected(torch.rand(5, 27), 27)
            slim.fully_connected(net, 27)
        assert len(slim.get_variables()) == 8
        assert len(slim.get_variables('fully_connected/BatchNorm')) == 3
        assert len(slim.get_variables('fully_connected_1/BatchNorm')) == 3

    def test_reuse_fc_with_batch_norm(self):
        with slim.arg_scope([slim.fully_connected], normalizer_fn=slim.batch_norm,
                            normalizer_params={'decay': 0.9}):
            net = slim.fully_connected(torch.rand(5, 27), 27, scope='fc1')
            slim.fully_connected(net, 27, scope='fc1', reuse=True)
        assert len(slim.get_variables()) == 4
        assert len(slim.get_variables('fc1/BatchNorm')) == 3
