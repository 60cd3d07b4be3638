"""slim.Model: build on the first call, apply afterwards, an ordinary module."""

import copy

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim


def small_net(x, num_classes=10, use_extra=False):
    net = slim.conv2d(x, 8, [3, 3], scope='conv1')
    net = slim.max_pool2d(net, [2, 2], scope='pool1')
    net = slim.conv2d(net, 16, [3, 3], stride=2, scope='conv2')
    if use_extra:
        net = slim.conv2d(net, 16, [1, 1], scope='extra')
    net = slim.flatten(net)
    net = slim.dropout(net, 0.5, scope='dropout')
    return slim.fully_connected(net, num_classes, activation_fn=None, scope='logits')


def test_first_call_builds_with_inferred_channels_and_later_calls_reuse():
    net = slim.Model(small_net, num_classes=5)
    assert not net.built and list(net.parameters()) == []
    net.eval()
    x = torch.randn(2, 3, 16, 16)
    y1 = net(x)
    assert net.built and y1.shape == (2, 5)
    params = list(net.parameters())
    assert len(params) == 6 and net.conv1.weights.shape == (8, 3, 3, 3)
    y2 = net(x)
    torch.testing.assert_close(y1, y2)
    assert list(net.parameters()) == params  # no new layers
    assert [v.name for v in slim.get_model_variables()] == [
        'conv1/weights', 'conv1/biases', 'conv2/weights', 'conv2/biases',
        'logits/weights', 'logits/biases']


def test_output_matches_functional_computation():
    net = slim.Model(small_net).eval()
    x = torch.randn(2, 3, 16, 16)
    y = net(x)
    h = F.relu(F.conv2d(x, net.conv1.weights, net.conv1.biases, padding=1))
    h = F.max_pool2d(h, 2, 2)
    h = F.relu(F.conv2d(F.pad(h, (0, 1, 0, 1)), net.conv2.weights, net.conv2.biases, stride=2))
    h = h.permute(0, 2, 3, 1).reshape(2, -1)
    torch.testing.assert_close(y, F.linear(h, net.logits.weights, net.logits.biases))


def test_call_kwargs_override_bound_kwargs():
    net = slim.Model(small_net, num_classes=5)
    assert net(torch.randn(1, 3, 8, 8), num_classes=7).shape == (1, 7)


def test_outer_scope_is_part_of_names_and_remembered():
    net = slim.Model(small_net)
    with slim.variable_scope('tower'):
        net(torch.randn(1, 3, 8, 8))
    assert net.scope_name == 'tower'
    assert slim.get_model_variables()[0].name == 'tower/conv1/weights'
    assert list(net.state_dict())[0] == 'tower.conv1.weights'
    assert net(torch.randn(1, 3, 8, 8)).shape == (1, 10)  # no need to re-open the scope


def test_state_dict_key_mapping_both_ways():
    net = slim.Model(small_net)
    net(torch.randn(1, 3, 8, 8))
    named = net.named_variables()
    assert sorted(net.state_dict()) == sorted(net.state_dict_key(n) for n in named)
    for key, tensor in net.state_dict().items():
        assert named[net.slim_name(key)].data_ptr() == tensor.data_ptr()
    assert slim.slim_name_to_state_dict_key('vgg_16/conv1/conv1_1/weights') == \
        'vgg_16.conv1.conv1_1.weights'
    assert slim.state_dict_key_to_slim_name('vgg_16.fc8.biases') == 'vgg_16/fc8/biases'


def test_train_eval_drives_dropout_and_explicit_is_training_wins():
    net = slim.Model(lambda x: slim.dropout(x, 0.5))
    x = torch.ones(1000)
    dropped = net(x)  # a fresh module is in training mode
    assert (dropped == 0).any() and set(dropped.unique().tolist()) == {0.0, 2.0}
    net.eval()
    assert torch.equal(net(x), x)
    with slim.arg_scope([slim.dropout], is_training=True):  # the scope beats eval()
        assert (net(x) == 0).any()
    net.train()
    with slim.arg_scope([slim.dropout], is_training=False):
        assert torch.equal(net(x), x)

    explicit = slim.Model(lambda x, flag: slim.dropout(x, 0.5, is_training=flag)).eval()
    assert (explicit(x, True) == 0).any()
    with slim.arg_scope([slim.dropout], is_training=False):
        assert (explicit(x, True) == 0).any()  # the call's argument beats the scope


def test_new_layer_after_build_raises_clear_error():
    net = slim.Model(small_net)
    net(torch.randn(1, 3, 8, 8))
    with pytest.raises(slim.NotBuiltError, match=r"layer 'extra' does not exist: Model\(small_net\)"
                       r" was built without it.*model.build\(example, \*\*kwargs\)"):
        net(torch.randn(1, 3, 8, 8), use_extra=True)
    # building that path explicitly adds it and keeps the rest
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.build(torch.randn(1, 3, 8, 8), use_extra=True)
    assert 'extra.weights' in net.state_dict()
    for key, value in before.items():
        torch.testing.assert_close(net.state_dict()[key], value)
    assert net(torch.randn(1, 3, 8, 8), use_extra=True).shape == (1, 10)


def test_new_variable_after_build_raises():
    def fn(x, more=False):
        w = slim.variable('w', shape=[3])
        if more:
            slim.variable('v', shape=[3])
        return x * w
    net = slim.Model(fn)
    net(torch.ones(3))
    assert net(torch.ones(3)).shape == (3,)
    with pytest.raises(slim.NotBuiltError, match="variable 'v' does not exist"):
        net(torch.ones(3), more=True)


def test_wrong_input_names_scope_and_shapes():
    net = slim.Model(small_net)
    net(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"conv1: expected input of shape \[N, 3, H, W\] \(NCHW\), "
                                         r"got \[1, 4, 8, 8\]"):
        net(torch.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"logits: expected input of shape \[\.\.\., 64\], got \[1, 256\]"):
        net(torch.randn(1, 3, 16, 16))  # more spatial positions -> more features
    with pytest.raises(ValueError, match=r"conv1: conv2d expects a 4-D input \[N, C, H, W\], got \[3, 8, 8\]"):
        slim.Model(small_net)(torch.randn(3, 8, 8))


def test_failed_build_rolls_back():
    calls = []

    def fn(x):
        x = slim.fully_connected(x, 4, scope='fc1')
        if not calls:
            calls.append(1)
            raise RuntimeError("data problem")
        return slim.fully_connected(x, 2, scope='fc2')
    net = slim.Model(fn)
    with pytest.raises(RuntimeError):
        net(torch.randn(1, 3))
    assert not net.built and list(net.parameters()) == [] and slim.get_model_variables() == []
    assert net(torch.randn(1, 3)).shape == (1, 2)


def test_duplicate_scope_within_a_build_raises():
    def fn(x):
        x = slim.fully_connected(x, 3, scope='fc')
        return slim.fully_connected(x, 3, scope='fc')
    with pytest.raises(ValueError, match="Variable fc/weights already exists, disallowed"):
        slim.Model(fn)(torch.randn(1, 3))


def test_weight_sharing_with_reuse_inside_a_model():
    def siamese(a, b):
        return (slim.fully_connected(a, 4, scope='tower'),
                slim.fully_connected(b, 4, scope='tower', reuse=True))
    net = slim.Model(siamese)
    x = torch.randn(2, 3)
    ya, yb = net(x, x)
    torch.testing.assert_close(ya, yb)
    assert len(list(net.parameters())) == 2


def test_meta_build_then_materialize():
    net = slim.Model(small_net).build((1, 3, 16, 16), device='meta')
    assert all(p.is_meta for p in net.parameters())
    net.materialize('cpu')
    assert all(p.device.type == 'cpu' for p in net.parameters())
    assert net.conv1.weights.abs().max() <= (6 / (9 * 3 + 9 * 8)) ** 0.5  # xavier bound
    assert net.conv1.weights.std() > 0
    assert torch.count_nonzero(net.conv1.biases) == 0
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert slim.get_model_variables()[0] is net.conv1.weights


def test_build_is_deterministic_under_a_seed():
    torch.manual_seed(7)
    a = slim.Model(small_net).build((1, 3, 8, 8))
    torch.manual_seed(7)
    with slim.Graph():
        b = slim.Model(small_net).build((1, 3, 8, 8))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)


def test_ordinary_module_behaviour():
    net = slim.Model(small_net)
    net.build((1, 3, 16, 16))
    net.eval()
    x = torch.randn(2, 3, 16, 16)
    # deepcopy
    clone = copy.deepcopy(net)
    torch.testing.assert_close(clone(x), net(x))
    assert clone.conv1.weights is not net.conv1.weights
    assert clone.named_variables()['conv1/weights'].name == 'conv1/weights'
    # state_dict round trip into a freshly built model
    with slim.Graph():
        other = slim.Model(small_net).build((1, 3, 16, 16)).eval()
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(x), net(x))
    # dtype conversion keeps names and numbers
    double = copy.deepcopy(net).double()
    torch.testing.assert_close(double(x.double()), net(x).double(), rtol=1e-5, atol=1e-6)
    assert double.named_variables()['conv1/weights'].dtype == torch.float64
    # gradients reach every parameter
    net.train()
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_regularization_losses_of_a_model():
    def fn(x):
        with slim.arg_scope([slim.fully_connected], weights_regularizer=slim.l2_regularizer(0.1)):
            return slim.fully_connected(x, 3, scope='fc')
    net = slim.Model(fn)
    net(torch.randn(1, 2))
    (penalty,) = net.regularization_losses()
    torch.testing.assert_close(penalty, 0.1 * net.fc.weights.square().sum() / 2)
    torch.testing.assert_close(slim.losses.get_regularization_losses()[0], penalty)


def test_losses_added_in_the_model_reach_the_caller_outputs_do_not_accumulate():
    def fn(x):
        with slim.arg_scope([slim.fully_connected], outputs_collections=['ends']):
            y = slim.fully_connected(x, 3, scope='fc')
        slim.losses.add_loss(y.square().mean())
        return y, slim.utils.convert_collection_to_dict('ends')
    net = slim.Model(fn)
    for _ in range(3):
        y, ends = net(torch.randn(1, 2))
        assert list(ends) == ['fc'] and ends['fc'] is y
    assert len(slim.losses.get_losses()) == 3
    assert slim.get_collection('ends') == []


@pytest.mark.slow
def test_torch_compile():
    net = slim.Model(small_net).build((1, 3, 16, 16)).eval()
    compiled = torch.compile(net)
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(compiled(x), net(x))


def test_ddp_single_process(tmp_path):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        net = slim.Model(small_net).build((1, 3, 16, 16)).eval()
        ddp = DistributedDataParallel(net)
        x = torch.randn(2, 3, 16, 16)
        torch.testing.assert_close(ddp(x), net(x))
        ddp(x).sum().backward()
        assert net.conv1.weights.grad is not None
    finally:
        dist.destroy_process_group()


def test_public_surface_is_explicit():
    assert len(slim.__all__) == len(set(slim.__all__))
    for name in slim.__all__:
        assert hasattr(slim, name), name
    assert callable(slim.losses.get_regularization_losses)


def test_explicit_build_changes_no_state():
    def fn(x):
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=True):
            x = slim.conv2d(x, 4, [3, 3], stride=2, normalizer_fn=slim.batch_norm, scope='c')
            return slim.dropout(x, 0.5)
    net = slim.Model(fn).build((1, 3, 2, 2))  # one value per channel: training BN would fail
    assert torch.equal(net.c.BatchNorm.moving_variance, torch.ones(4))
    assert torch.equal(net.c.BatchNorm.moving_mean, torch.zeros(4))
    net(torch.randn(8, 3, 6, 6))  # a real call trains: statistics move
    assert not torch.equal(net.c.BatchNorm.moving_mean, torch.zeros(4))


def test_a_built_model_keeps_the_arg_scope_it_was_built_under():
    """Calling a model outside the arg_scope it was built in must not silently
    drop the scoped normalizer and activation (TF's graph keeps them too)."""
    def net(x):
        return slim.conv2d(x, 4, [3, 3], scope="conv")
    with slim.arg_scope([slim.conv2d], activation_fn=None, normalizer_fn=slim.batch_norm):
        model = slim.Model(net)
        x = torch.randn(2, 3, 5, 5)
        model.eval()
        inside = model(x)
    outside = model(x)
    assert torch.equal(inside, outside)
    assert (outside < 0).any()       # activation_fn=None kept (no ReLU applied)
    with slim.arg_scope([slim.batch_norm], is_training=True):   # a call-time scope layers on top
        model(x)
    assert not torch.equal(model(x), inside)   # ... so batch norm updated its moving statistics
