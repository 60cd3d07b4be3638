"""Variables, scopes, the registry and TF-Slim's matching rules."""

import threading

import pytest
import torch

import slimtorch as slim


def names(variables):
    return [v.name for v in variables]


def test_variable_scope_nests_names():
    with slim.variable_scope('a'):
        with slim.variable_scope('b') as sc:
            v = slim.variable('weights', shape=[1])
    assert v.name == 'a/b/weights' and v.op.name == 'a/b/weights'
    assert sc.name == 'a/b' and sc.original_name_scope == 'a/b/'
    assert slim.get_variable_scope().name == ''


def test_variables_are_parameters_or_buffers():
    w = slim.variable('w', shape=[2, 2])
    n = slim.variable('n', shape=[2], trainable=False)
    assert isinstance(w, torch.nn.Parameter) and w.requires_grad
    assert not n.requires_grad
    root = slim.get_default_graph().root
    assert 'w' in dict(root.named_parameters()) and 'n' in dict(root.named_buffers())
    assert names(slim.get_trainable_variables()) == ['w']
    assert names(slim.get_variables()) == ['w', 'n']


def test_collections_of_variables():
    slim.model_variable('m', shape=[1])
    slim.variable('g', shape=[1], collections=['mine'])
    slim.local_variable(torch.zeros(3), name='count')
    assert names(slim.get_model_variables()) == ['m']
    assert names(slim.get_variables()) == ['m']  # 'g' asked for 'mine' only, as in TF
    assert names(slim.get_variables(collection='mine')) == ['g']
    assert names(slim.get_local_variables()) == ['count']
    assert names(slim.get_collection(slim.GraphKeys.LOCAL_VARIABLES)) == ['count']
    assert 'count' not in slim.get_default_graph().root.state_dict()  # never checkpointed


def test_existing_variable_without_reuse_raises_with_full_name():
    with slim.variable_scope('net'):
        slim.variable('w', shape=[1])
        with pytest.raises(ValueError, match="Variable net/w already exists, disallowed"):
            slim.variable('w', shape=[1])


def test_reuse_true_shares_and_requires_existence():
    with slim.variable_scope('net'):
        w = slim.variable('w', shape=[3])
    with slim.variable_scope('net', reuse=True):
        assert slim.variable('w', shape=[3]) is w
        with pytest.raises(ValueError, match="Variable net/missing does not exist"):
            slim.variable('missing', shape=[1])
        with pytest.raises(ValueError, match="Trying to share variable net/w"):
            slim.variable('w', shape=[4])
        with slim.variable_scope('inner', reuse=False):  # reuse is inherited
            with pytest.raises(ValueError, match="net/inner/x does not exist"):
                slim.variable('x', shape=[1])


def test_auto_reuse_creates_then_shares():
    def shared():
        with slim.variable_scope('foo', reuse=slim.AUTO_REUSE):
            return slim.variable('v', shape=[1])
    assert shared() is shared()


def test_layer_reuse_shares_weights():
    x = torch.randn(2, 3)
    a = slim.fully_connected(x, 4, scope='shared')
    b = slim.fully_connected(x, 4, scope='shared', reuse=True)
    torch.testing.assert_close(a, b)
    assert len(slim.get_model_variables()) == 2
    with pytest.raises(ValueError, match="reuse=True cannot be used without a scope"):
        slim.fully_connected(x, 4, reuse=True)
    with pytest.raises(ValueError, match="shared/weights already exists"):
        slim.fully_connected(x, 4, scope='shared')


def test_default_names_follow_tensorflow_counters():
    x = torch.randn(1, 2, 4, 4)
    slim.conv2d(x, 2, [1, 1])
    slim.conv2d(x, 2, [1, 1])
    slim.fully_connected(torch.randn(1, 2), 2)
    slim.fully_connected(torch.randn(1, 2), 2)
    with slim.variable_scope('Conv_2'):  # an explicit name counts too
        pass
    slim.conv2d(x, 2, [1, 1])
    assert names(slim.get_model_variables())[::2] == [
        'Conv/weights', 'Conv_1/weights', 'fully_connected/weights',
        'fully_connected_1/weights', 'Conv_3/weights']


def test_default_names_restart_inside_a_reentered_named_scope():
    x = torch.randn(1, 2)
    with slim.variable_scope('tower'):
        a = slim.fully_connected(x, 2)
    with slim.variable_scope('tower', reuse=True):  # TF: sub-scope counts were reset
        b = slim.fully_connected(x, 2)
    torch.testing.assert_close(a, b)
    assert names(slim.get_model_variables()) == ['tower/fully_connected/weights',
                                                 'tower/fully_connected/biases']


def test_reentering_a_captured_scope():
    with slim.variable_scope('outer') as outer:
        pass
    with slim.variable_scope('elsewhere'):
        with slim.variable_scope(outer):
            v = slim.variable('v', shape=[1])
    assert v.name == 'outer/v'


# The graph of TF-Slim's matching table (semantics doc, section 2).
@pytest.fixture
def matching_graph():
    with slim.variable_scope('net'):
        for layer in ('conv1', 'conv10', 'fc8', 'fc8_new'):
            with slim.variable_scope(layer):
                slim.model_variable('weights', shape=[1])
                slim.model_variable('biases', shape=[1])
    with slim.variable_scope('other'):
        slim.model_variable('weights', shape=[1])
        slim.variable('xweights', shape=[1])
    slim.get_or_create_global_step()


def test_get_variables_is_a_regex_prefix_match(matching_graph):
    assert names(slim.get_variables('net/conv1')) == [
        'net/conv1/weights', 'net/conv1/biases', 'net/conv10/weights', 'net/conv10/biases']
    assert names(slim.get_variables(slim.VariableScope('net/fc8', None))) == [
        'net/fc8/weights', 'net/fc8/biases', 'net/fc8_new/weights', 'net/fc8_new/biases']


def test_get_variables_to_restore_exclude_and_include(matching_graph):
    kept = names(slim.get_variables_to_restore(exclude=['net/fc8']))
    assert 'net/fc8_new/weights' not in kept and 'net/fc8/weights' not in kept
    assert 'net/conv1/weights' in kept and 'global_step' in kept
    assert names(slim.get_variables_to_restore(include=['.*biases'])) == [
        'net/conv1/biases', 'net/conv10/biases', 'net/fc8/biases', 'net/fc8_new/biases']
    with pytest.raises(TypeError, match="include is provided but is not a list"):
        slim.get_variables_to_restore(include='net')
    with pytest.raises(TypeError, match="exclude is provided but is not a list"):
        slim.get_variables_to_restore(exclude='net')


def test_by_name_versus_by_suffix(matching_graph):
    by_name = names(slim.get_variables_by_name('weights'))
    assert by_name == ['net/conv1/weights', 'net/conv10/weights', 'net/fc8/weights',
                       'net/fc8_new/weights', 'other/weights']
    assert names(slim.get_variables_by_suffix('weights')) == by_name + ['other/xweights']
    assert names(slim.get_model_variables('other')) == ['other/weights']
    assert names(slim.get_model_variables(suffix='biases'))[0] == 'net/conv1/biases'


def test_get_unique_variable(matching_graph):
    assert slim.get_unique_variable('net/conv1/weights').name == 'net/conv1/weights'
    with pytest.raises(ValueError, match="does not uniquely identify a variable"):
        slim.get_unique_variable('net/conv1')
    with pytest.raises(ValueError, match="Couldn't find variable nothing"):
        slim.get_unique_variable('nothing')


def test_guide_partial_restore_selection_methods():
    v1 = slim.variable(name="v1", shape=[1])
    v2 = slim.variable(name="nested/v2", shape=[1])
    for variables_to_restore in (
        slim.get_variables_by_name("v2"),
        slim.get_variables_by_suffix("2"),
        slim.get_variables(scope="nested"),
        slim.get_variables_to_restore(include=["nested"]),
        slim.get_variables_to_restore(exclude=["v1"]),
    ):
        assert variables_to_restore == [v2]
    assert v1.name == 'v1' and v2.name == 'nested/v2'


def test_global_step():
    assert slim.get_global_step() is None
    step = slim.get_or_create_global_step()
    assert step.name == 'global_step' and step.dtype == torch.int64 and step.shape == ()
    assert not step.requires_grad and int(step) == 0
    assert slim.get_or_create_global_step() is step
    with pytest.raises(ValueError, match="already exists"):
        slim.create_global_step()


def test_initializer_value_and_regularizer():
    v = slim.variable('v', initializer=[1.0, 2.0, 3.0], regularizer=slim.l2_regularizer(0.5))
    assert v.tolist() == [1.0, 2.0, 3.0]
    (penalty,) = slim.losses.get_regularization_losses()
    assert penalty.item() == pytest.approx(3.5)
    with torch.no_grad():
        v.mul_(2)  # penalties follow the current weights
    assert slim.losses.get_regularization_losses()[0].item() == pytest.approx(14.0)
    with pytest.raises(ValueError, match=r"Shape of a new variable \(w\) must be fully defined"):
        slim.variable('w')


def test_device_placement():
    assert slim.variable('a', shape=[1], device='/CPU:0').device.type == 'cpu'
    assert slim.variable('b', shape=[1], device='/job:ps/task:0/device:CPU:0').device.type == 'cpu'
    assert slim.variable('c', shape=[1], device=lambda name: 'meta').device.type == 'meta'
    with slim.arg_scope([slim.model_variable], device='meta'):
        w = slim.fully_connected(torch.empty(2, 3, device='meta'), 4)
    assert w.device.type == 'meta'
    assert all(v.device.type == 'meta' for v in slim.get_model_variables())
    with pytest.raises(ValueError, match="variable 'd': cannot understand device 'gpu0'"):
        slim.variable('d', shape=[1], device='gpu0')


def test_invalid_names_are_rejected():
    with pytest.raises(ValueError, match="invalid variable name 'a.b'"):
        slim.variable('a.b', shape=[1])
    with pytest.raises(ValueError, match="invalid scope name 'x//y'"):
        with slim.variable_scope('x//y'):
            pass


def test_scope_names_that_shadow_module_attributes_work():
    slim.fully_connected(torch.randn(1, 2), 3, scope='train')
    assert 'train.weights' in slim.get_default_graph().root.state_dict()


def test_fresh_graphs_are_independent_and_nestable():
    slim.variable('outer', shape=[1])
    with slim.Graph() as g:
        slim.variable('inner', shape=[1])
        assert names(slim.get_variables()) == ['inner']
        assert slim.get_default_graph() is g
    assert names(slim.get_variables()) == ['outer']


def test_scopes_and_graphs_are_thread_local():
    results = {}

    def build(tag):
        with slim.Graph():
            with slim.variable_scope(tag):
                for _ in range(50):
                    slim.fully_connected(torch.randn(1, 2), 2)
            results[tag] = names(slim.get_model_variables())

    threads = [threading.Thread(target=build, args=(t,)) for t in ('a', 'b')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tag in ('a', 'b'):
        assert results[tag][0] == f'{tag}/fully_connected/weights'
        assert results[tag][-1] == f'{tag}/fully_connected_49/biases'
        assert len(results[tag]) == 100


def test_get_collection_finds_variables_in_custom_collections():
    x = torch.randn(2, 3, 4, 4)
    slim.conv2d(x, 4, [1, 1], variables_collections={'weights': ['my_weights']}, scope='c')
    slim.add_to_collection('my_weights', 'not a variable')
    found = slim.get_collection('my_weights')
    assert [getattr(v, 'name', v) for v in found] == ['c/weights', 'not a variable']
    assert [v.name for v in slim.get_collection('my_weights', scope='c')] == ['c/weights']
