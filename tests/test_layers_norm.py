"""batch_norm, layer_norm, instance_norm and group_norm against
torch.nn.functional and hand-computed values, with TF-Slim's semantics."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.layers.norm import batch_norm, group_norm, instance_norm, layer_norm


def names(collection=slim.get_model_variables):
    return [v.name for v in collection()]


def var(name):
    return slim.get_unique_variable(name)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def nchw(x):
    return x.permute(0, 3, 1, 2)


def channel_moments(x):
    """Per-channel mean, biased and unbiased variance of an NCHW tensor."""
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    return flat.mean(1), flat.var(1, unbiased=False), flat.var(1, unbiased=True)


# -- batch_norm: variables ------------------------------------------------------------
def test_batch_norm_default_variables_have_no_gamma():
    x = torch.randn(4, 3, 5, 5)
    batch_norm(x)
    assert names() == ['BatchNorm/beta', 'BatchNorm/moving_mean', 'BatchNorm/moving_variance']
    assert names(slim.get_trainable_variables) == ['BatchNorm/beta']
    assert all(v.shape == (3,) for v in slim.get_model_variables())
    batch_norm(x, scale=True, center=False)
    assert names()[3:] == ['BatchNorm_1/gamma', 'BatchNorm_1/moving_mean',
                           'BatchNorm_1/moving_variance']


def test_batch_norm_moving_statistics_are_buffers_in_the_state_dict():
    net = slim.Model(lambda x: batch_norm(x, scale=True, scope='bn'))
    net(torch.randn(4, 3, 2, 2))
    assert [n for n, _ in net.named_parameters()] == ['bn.gamma', 'bn.beta']
    assert [n for n, _ in net.named_buffers()] == ['bn.moving_mean', 'bn.moving_variance']
    assert list(net.state_dict()) == ['bn.gamma', 'bn.beta', 'bn.moving_mean',
                                      'bn.moving_variance']
    assert [v.name for v in slim.get_variables_to_restore()] == [
        'bn/gamma', 'bn/beta', 'bn/moving_mean', 'bn/moving_variance']


def test_batch_norm_initial_values_initializers_regularizers_collections():
    x = torch.randn(4, 3)
    with torch.no_grad():
        batch_norm(x, scale=True, is_training=False, scope='plain')
    assert [var('plain/' + n).tolist() for n in ('beta', 'gamma', 'moving_mean',
                                                 'moving_variance')] == \
        [[0.0] * 3, [1.0] * 3, [0.0] * 3, [1.0] * 3]
    batch_norm(x, scale=True, is_training=False, scope='custom',
               param_initializers={'gamma': slim.constant_initializer(2.0),
                                   'moving_variance': slim.constant_initializer(4.0)},
               param_regularizers={'gamma': slim.l2_regularizer(0.5)},
               variables_collections={'moving_mean': 'moving_vars',
                                      'moving_variance': ['moving_vars']})
    assert var('custom/gamma').tolist() == [2.0] * 3
    assert var('custom/moving_variance').tolist() == [4.0] * 3
    assert [v.item() for v in slim.losses.get_regularization_losses()] == [3.0]  # 0.5*12/2
    assert names(lambda: slim.get_variables(collection='moving_vars')) == [
        'custom/moving_mean', 'custom/moving_variance']
    batch_norm(x, scale=True, variables_collections=['all'], trainable=False, scope='frozen')
    assert len(slim.get_variables(collection='all')) == 4
    assert not [n for n in names(slim.get_trainable_variables) if n.startswith('frozen')]


def test_batch_norm_reuse_shares_the_module():
    x = torch.randn(4, 3)
    batch_norm(x, scope='bn')
    batch_norm(2 * x, scope='bn', reuse=True)
    assert names() == ['bn/beta', 'bn/moving_mean', 'bn/moving_variance']


# -- batch_norm: numerics -------------------------------------------------------------
def test_batch_norm_training_output_and_one_update_by_hand():
    x = torch.randn(6, 3, 4, 5) * 3 + 1
    y = batch_norm(x, decay=0.9, scale=True, epsilon=0.01, scope='bn',
                   param_initializers={'beta': slim.constant_initializer(0.5),
                                       'gamma': slim.constant_initializer(2.0)})
    mean, biased, unbiased = channel_moments(x)
    c = (-1, 1, 1)
    expected = (x - mean.view(c)) / torch.sqrt(biased.view(c) + 0.01) * 2.0 + 0.5
    torch.testing.assert_close(y, expected)
    # TF's rule, moving_variance fed the unbiased variance (fused kernel, as torch)
    torch.testing.assert_close(var('bn/moving_mean'), 0.0 * 0.9 + mean * 0.1)
    torch.testing.assert_close(var('bn/moving_variance'), 1.0 * 0.9 + unbiased * 0.1)


@pytest.mark.parametrize('data_format', ['NCHW', 'NHWC'])
@pytest.mark.parametrize('fused', [None, False])
def test_batch_norm_ten_updates_with_decay_0_1_reach_the_batch_statistics(data_format, fused):
    # TF-Slim's _testNoneUpdatesCollections / _testDelayedUpdateMovingVars.
    images = torch.rand(10, 3, 2, 2, dtype=torch.float64)
    mean, biased, unbiased = channel_moments(images)
    inputs = nhwc(images) if data_format == 'NHWC' else images
    for _ in range(10):
        batch_norm(inputs, decay=0.1, updates_collections=None, fused=fused,
                   data_format=data_format, scope='BatchNorm', reuse=slim.AUTO_REUSE)
    expected_variance = biased if fused is False else unbiased  # Bessel's correction
    torch.testing.assert_close(var('BatchNorm/moving_mean'), mean, atol=1e-5, rtol=0)
    torch.testing.assert_close(var('BatchNorm/moving_variance'), expected_variance, atol=1e-5,
                               rtol=0)


def test_batch_norm_eval_uses_the_moving_statistics_and_updates_nothing():
    x = torch.randn(5, 3, 4, 4)
    moving_mean, moving_variance = torch.tensor([1., 2., 3.]), torch.tensor([4., 5., 6.])
    y = batch_norm(x, is_training=False, scope='bn',
                   param_initializers={'moving_mean': moving_mean.tolist(),
                                       'moving_variance': moving_variance.tolist()})
    c = (-1, 1, 1)
    torch.testing.assert_close(y, (x - moving_mean.view(c)) / torch.sqrt(moving_variance.view(c)
                                                                          + 0.001))
    assert var('bn/moving_mean').tolist() == [1., 2., 3.]


def test_batch_norm_rank_2_normalizes_over_the_batch_and_rank_3_over_the_last_dim():
    x = torch.randn(8, 5)
    torch.testing.assert_close(batch_norm(x), (x - x.mean(0)) / torch.sqrt(x.var(0, False) + 1e-3))
    seq = torch.randn(4, 6, 5)  # [N, T, F], as fully_connected makes it
    y = batch_norm(seq, scope='seq')
    assert var('seq/beta').shape == (5,)
    flat = seq.reshape(-1, 5)
    torch.testing.assert_close(y.reshape(-1, 5), (flat - flat.mean(0)) /
                               torch.sqrt(flat.var(0, False) + 1e-3))
    # rank 3 is not TF's fused kernel: the moving variance takes the biased variance
    torch.testing.assert_close(var('seq/moving_variance'), 0.999 + 0.001 * flat.var(0, False))


def test_batch_norm_epsilon_is_raised_to_the_fused_kernel_minimum():
    x = torch.randn(6, 3, 2, 2) * 0.001
    mean, biased, _ = channel_moments(x)
    expected = (x - mean.view(-1, 1, 1)) / torch.sqrt(biased.view(-1, 1, 1) + 1.001e-5)
    torch.testing.assert_close(batch_norm(x, epsilon=1e-8, scope='fused'), expected)
    torch.testing.assert_close(batch_norm(x, epsilon=1e-5, scope='fused2'), expected)
    exact = (x - mean.view(-1, 1, 1)) / torch.sqrt(biased.view(-1, 1, 1))
    torch.testing.assert_close(batch_norm(x, epsilon=0.0, fused=False, scope='plain'), exact)


@pytest.mark.parametrize('is_training', [True, False])
def test_batch_norm_nchw_and_nhwc_agree(is_training):
    x = torch.randn(4, 3, 5, 6)
    init = {'moving_mean': [0.1, 0.2, 0.3], 'moving_variance': [1.5, 2.5, 3.5]}
    a = batch_norm(x, is_training=is_training, scale=True, param_initializers=init, scope='a')
    b = batch_norm(nhwc(x), is_training=is_training, scale=True, param_initializers=init,
                   data_format='NHWC', scope='b')
    assert b.shape == (4, 5, 6, 3)
    torch.testing.assert_close(nchw(b), a)
    for name in ('moving_mean', 'moving_variance'):
        torch.testing.assert_close(var('b/' + name), var('a/' + name))


def test_batch_norm_gradients_flow_through_the_batch_statistics():
    for fused in (None, False):
        x = torch.randn(6, 3, 2, 2, requires_grad=True)
        batch_norm(x, fused=fused, center=False, scope=f'bn{fused}').sum().backward()
        # a sum of normalized values is constant, so its gradient vanishes
        assert x.grad.abs().max() < 1e-4


# -- batch_norm: as a normalizer, in a model, is_training ----------------------------
def test_conv2d_with_batch_norm_equals_bias_free_conv_then_batch_norm():
    x = torch.randn(4, 3, 6, 6)
    y = slim.conv2d(x, 5, [3, 3], normalizer_fn=batch_norm,
                    normalizer_params={'scale': True, 'decay': 0.9}, scope='conv1')
    assert names() == ['conv1/weights', 'conv1/BatchNorm/gamma', 'conv1/BatchNorm/beta',
                       'conv1/BatchNorm/moving_mean', 'conv1/BatchNorm/moving_variance']
    conv = slim.conv2d(x, 5, [3, 3], activation_fn=None, biases_initializer=None,
                       weights_initializer=var('conv1/weights').permute(2, 3, 1, 0).detach(),
                       scope='conv2')                                  # TF layout [3, 3, 3, 5]
    z = F.relu(batch_norm(conv, scale=True, decay=0.9, scope='bn'))
    torch.testing.assert_close(y, z)
    torch.testing.assert_close(var('conv1/BatchNorm/moving_variance'), var('bn/moving_variance'))


def test_fully_connected_with_batch_norm_on_sequences_normalizes_features():
    y = slim.fully_connected(torch.randn(4, 7, 5), 6, activation_fn=None,
                             normalizer_fn=batch_norm, scope='fc')
    assert var('fc/BatchNorm/beta').shape == (6,)
    torch.testing.assert_close(y.reshape(-1, 6).mean(0), torch.zeros(6), atol=1e-5, rtol=0)


def net_with_bn(x):
    return slim.conv2d(x, 4, [3, 3], normalizer_fn=batch_norm, scope='conv1')


def test_model_with_batch_norm_normalizer_follows_train_and_eval():
    net = slim.Model(net_with_bn)
    x = torch.randn(6, 3, 5, 5)
    net(x)                                               # builds, in training mode
    assert list(net.state_dict()) == ['conv1.weights', 'conv1.BatchNorm.beta',
                                      'conv1.BatchNorm.moving_mean',
                                      'conv1.BatchNorm.moving_variance']
    bn = net.conv1.BatchNorm
    after_build = bn.moving_mean.clone()
    y = net(x)                                           # apply mode, training
    assert not torch.equal(bn.moving_mean, after_build)  # updated again
    h = F.conv2d(x, net.conv1.weights, padding=1)
    torch.testing.assert_close(y, F.relu(F.batch_norm(h, None, None, training=True, eps=1e-3)))
    net.eval()
    frozen = bn.moving_mean.clone(), bn.moving_variance.clone()
    y = net(x)
    assert torch.equal(bn.moving_mean, frozen[0]) and torch.equal(bn.moving_variance, frozen[1])
    torch.testing.assert_close(y, F.relu(F.batch_norm(h, *frozen, eps=1e-3)))
    torch.testing.assert_close(bn(h), F.batch_norm(h, *frozen, eps=1e-3))  # the module alone


def test_is_training_precedence_call_over_arg_scope_over_model_mode():
    def fn(x, mode=None):
        with slim.arg_scope([batch_norm], is_training=mode):
            a = batch_norm(x, scope='follows')
            b = batch_norm(x, is_training=True, scope='always')
        return a, b

    net = slim.Model(fn).eval()
    x = torch.randn(8, 3) * 2 + 5                       # far from the moving statistics
    net.build(x)
    a, b = net(x)
    torch.testing.assert_close(a, x / torch.sqrt(torch.tensor(1.001)))  # eval: moving stats
    assert b.mean().abs() < 1e-5                                        # call wins
    a, _ = net(x, mode=True)                                            # arg_scope wins
    assert a.mean().abs() < 1e-5
    net.train()
    a, _ = net(x, mode=False)
    bn = net.follows
    torch.testing.assert_close(a, (x - bn.moving_mean) / torch.sqrt(bn.moving_variance + 1e-3))
    assert net(x)[0].mean().abs() < 1e-5                                # train(): batch stats


def test_batch_norm_builds_on_meta_and_materializes_initial_values():
    net = slim.Model(net_with_bn).build((2, 3, 5, 5), device='meta')
    assert net.conv1.BatchNorm.moving_variance.device.type == 'meta'
    net.materialize('cpu')
    assert net.conv1.BatchNorm.moving_variance.tolist() == [1.0] * 4


# -- batch_norm: errors -----------------------------------------------------------------
def test_batch_norm_errors_name_the_scope():
    x = torch.randn(4, 3, 2, 2)
    with pytest.raises(ValueError, match="net/bn: data_format must be 'NCHW' or 'NHWC'"):
        with slim.variable_scope('net'):
            batch_norm(x, data_format='NCW', scope='bn')
    with pytest.raises(ValueError, match=r"^b1: batch_norm expects an input of rank >= 2"):
        batch_norm(torch.randn(4), scope='b1')
    with pytest.raises(NotImplementedError, match=r"^b2: .*updates_collections"):
        batch_norm(x, scope='b2', updates_collections='my_updates')
    with pytest.raises(ValueError, match=r"^b2: renorm is not supported"):
        batch_norm(x, scope='b2', renorm=True, updates_collections=None)
    with pytest.raises(ValueError, match=r"^b3: unknown param_initializers keys \['gama'\]"):
        batch_norm(x, param_initializers={'gama': slim.ones_initializer()}, scope='b3')
    with pytest.raises(ValueError, match=r"^b4: unknown param_regularizers keys"):
        batch_norm(x, param_regularizers={'moving_mean': slim.l2_regularizer(1.)}, scope='b4')
    batch_norm(x, scope='b5')
    with pytest.raises(ValueError, match=r"^b5: expected input of shape .*3 channels"):
        batch_norm(torch.randn(4, 5, 2, 2), scope='b5', reuse=True)
    batch_norm(x, updates_collections=[slim.GraphKeys.UPDATE_OPS], fused=True, scope='ok')


# -- layer_norm ---------------------------------------------------------------------------
def test_layer_norm_rank_2_matches_functional():
    x = torch.randn(4, 10)
    y = layer_norm(x, scope='ln')
    assert names() == ['ln/beta', 'ln/gamma'] and var('ln/gamma').shape == (10,)
    torch.testing.assert_close(y, F.layer_norm(x, [10], eps=1e-12))
    # TF-Slim's epsilon is 1e-3 for float16, where 1e-12 would underflow to 0
    assert layer_norm(torch.ones(2, 4, dtype=torch.float16)).isfinite().all()


def test_layer_norm_on_nchw_counts_axes_channels_last_like_tf():
    x = torch.randn(2, 3, 4, 5)
    layer_norm(x, scope='ln')
    assert var('ln/beta').shape == (3,) and var('ln/gamma').shape == (3,)  # [C], not [W]
    with torch.no_grad():
        var('ln/gamma').copy_(torch.tensor([1., 2., 3.]))
        var('ln/beta').copy_(torch.tensor([0., 1., -1.]))
    y = layer_norm(x, scope='ln', reuse=True)
    expected = F.layer_norm(x, [3, 4, 5], eps=1e-12) * torch.tensor([1., 2., 3.]).view(3, 1, 1) \
        + torch.tensor([0., 1., -1.]).view(3, 1, 1)
    torch.testing.assert_close(y, expected)
    layer_norm(nhwc(x), data_format='NHWC', scope='nhwc')
    with torch.no_grad():
        for name in ('beta', 'gamma'):
            var('nhwc/' + name).copy_(var('ln/' + name))
    torch.testing.assert_close(nchw(layer_norm(nhwc(x), data_format='NHWC', scope='nhwc',
                                               reuse=True)), y)


def test_layer_norm_params_and_norm_axes_may_differ():
    x = torch.randn(2, 3, 4, 5)  # channels-last view [2, 4, 5, 3]
    y = layer_norm(x, begin_norm_axis=-1, begin_params_axis=1, epsilon=1e-5, scope='ln')
    assert var('ln/gamma').shape == (4, 5, 3)  # TF's shape of [H, W, C]
    mean, variance = x.mean(1, keepdim=True), x.var(1, unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mean) / torch.sqrt(variance + 1e-5))
    with pytest.raises(ValueError, match=r"^bad: begin_params_axis \(4\) and begin_norm_axis"):
        layer_norm(x, begin_params_axis=4, scope='bad')
    with pytest.raises(ValueError, match=r"^fmt: data_format must be"):
        layer_norm(x, data_format='nchw', scope='fmt')


# -- instance_norm ------------------------------------------------------------------------
def test_instance_norm_matches_functional_in_both_layouts():
    x = torch.randn(2, 3, 4, 5)
    y = instance_norm(x, param_initializers={'gamma': slim.constant_initializer(2.0)},
                      scope='inorm')
    assert names() == ['inorm/beta', 'inorm/gamma']
    torch.testing.assert_close(y, 2.0 * F.instance_norm(x, eps=1e-6))
    z = instance_norm(nhwc(x), data_format='NHWC', center=False, scale=False, scope='nhwc')
    torch.testing.assert_close(nchw(z), F.instance_norm(x, eps=1e-6))
    with pytest.raises(ValueError, match=r"^in2: instance_norm expects an input of rank >= 3"):
        instance_norm(torch.randn(2, 3), scope='in2')
    with pytest.raises(ValueError, match=r"^in3: data_format must be"):
        instance_norm(x, data_format='NCDHW', scope='in3')


# -- group_norm ---------------------------------------------------------------------------
def test_group_norm_matches_functional_and_tf_nhwc_defaults():
    x = torch.randn(2, 8, 3, 5)
    y = group_norm(x, groups=4, activation_fn=torch.relu, scope='gn')
    assert names() == ['gn/beta', 'gn/gamma'] and var('gn/gamma').shape == (8,)
    torch.testing.assert_close(y, F.relu(F.group_norm(x, 4, eps=1e-6)))
    z = group_norm(nhwc(x), groups=4, channels_axis=-1, reduction_axes=(-3, -2), scope='tf')
    torch.testing.assert_close(nchw(z), F.group_norm(x, 4, eps=1e-6))
    w = group_norm(x, groups=4, mean_close_to_zero=True, scope='one_pass')
    torch.testing.assert_close(w, F.group_norm(x, 4, eps=1e-6), atol=1e-5, rtol=1e-5)


def test_group_norm_reduction_axes_by_hand():
    x = torch.randn(2, 4, 3, 5)
    y = group_norm(x, groups=2, reduction_axes=(-1,), epsilon=0.0, scope='gn')
    g = x.reshape(2, 2, 2, 3, 5)                 # statistics per (n, group, h)
    mean, variance = g.mean((2, 4), keepdim=True), g.var((2, 4), unbiased=False, keepdim=True)
    torch.testing.assert_close(y, ((g - mean) / variance.sqrt()).reshape(x.shape))


def test_group_norm_errors_name_the_scope():
    x = torch.randn(2, 6, 3, 3)
    with pytest.raises(ValueError, match=r"^net/gn: 6 channels are not commensurate with 4"):
        with slim.variable_scope('net'):
            group_norm(x, groups=4, scope='gn')
    with pytest.raises(ValueError, match=r"^GroupNorm: 6 channels .* 32 groups"):
        group_norm(x)
    with pytest.raises(ValueError, match=r"^g2: reduction_axes must not contain channels_axis"):
        group_norm(x, groups=3, reduction_axes=(1, 2), scope='g2')
    with pytest.raises(ValueError, match=r"^g3: channels_axis \(4\)"):
        group_norm(x, groups=3, channels_axis=4, scope='g3')


@pytest.mark.parametrize("shape, kwargs, order", [
    ((2, 3, 4, 4), {}, ["gamma", "beta"]),                           # TF-Slim's Keras-style path
    ((2, 3, 4, 4), {"updates_collections": None}, ["beta", "gamma"]),  # its fused op
    ((2, 3), {}, ["beta", "gamma"]),                                  # rank 2: fused op
    ((2, 3, 4, 4), {"fused": False}, ["gamma", "beta"]),
    ((2, 3, 4), {}, ["gamma", "beta"]),                               # rank 3: Keras-style
])
def test_batch_norm_creates_variables_in_tf_slims_order(shape, kwargs, order):
    slim.batch_norm(torch.randn(*shape), scale=True, scope="bn", **kwargs)
    names = [v.name.split("/")[-1] for v in slim.get_model_variables()]
    assert names == order + ["moving_mean", "moving_variance"]


# -- the activation after a normalizer ------------------------------------------------
@pytest.mark.parametrize("activation", [F.relu, F.relu6])
def test_conv_batch_norm_activation_in_place_keeps_training_values_and_gradients(activation):
    """After slim's batch_norm (a fresh tensor) the layer's ReLU/ReLU6 runs in
    place; in training the output, every gradient and the moving averages
    equal the functional computation."""
    x = (torch.randn(4, 3, 6, 6) * 3).requires_grad_(True)
    y = slim.conv2d(x, 5, [3, 3], normalizer_fn=batch_norm, activation_fn=activation,
                    normalizer_params={"scale": True, "is_training": True}, scope="c")
    w, gamma, beta = var("c/weights"), var("c/BatchNorm/gamma"), var("c/BatchNorm/beta")
    x_ref = x.detach().clone().requires_grad_(True)
    w_ref, g_ref, b_ref = (t.detach().clone().requires_grad_(True) for t in (w, gamma, beta))
    conv = F.conv2d(x_ref, w_ref, padding=1)
    mean, biased, unbiased = channel_moments(conv.detach())
    want = activation(F.batch_norm(conv, None, None, g_ref, b_ref, True, 0.0, 1e-3))
    torch.testing.assert_close(y, want, rtol=1e-5, atol=1e-5)
    assert (y > 0).any() and (want == 0).any()   # both sides of the kink are exercised
    grad = torch.randn_like(y)
    y.backward(grad)
    want.backward(grad)
    for got, ref in [(x.grad, x_ref.grad), (w.grad, w_ref.grad), (gamma.grad, g_ref.grad),
                     (beta.grad, b_ref.grad)]:
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)
    moving_mean = slim.get_default_graph().record("c/BatchNorm/moving_mean").tensor
    torch.testing.assert_close(moving_mean, (1 - 0.999) * mean)


def test_a_users_normalizer_output_is_not_activated_in_place():
    """Only slim's own normalizers promise a fresh tensor: a user's may return
    one it keeps, which the activation must leave alone."""
    kept = []

    def keep(x):
        kept.append(x - 1.0)
        return kept[-1]

    x = torch.randn(2, 3, 5, 5)
    y = slim.conv2d(x, 4, [3, 3], normalizer_fn=keep, activation_fn=F.relu, scope="k")
    assert (kept[0] < 0).any()
    torch.testing.assert_close(y, F.relu(kept[0]))
