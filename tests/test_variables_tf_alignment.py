"""TF-Slim behaviours slimtorch aligns with (issue 17): ``variable_scope``'s
custom getters, ``reuse`` when re-entering the root scope, layers that take
over variables made by hand, ``tf.Variable``-style unique names, the global
step's type checks, and the errors of ``assign_from_values`` and
``filter_variables``. (tf_slim's own tests are in test_tfslim_variables.py.)"""

import numpy as np
import pytest
import torch

import slimtorch as slim

GLOBAL_STEP = slim.GraphKeys.GLOBAL_STEP
GLOBAL_VARIABLES = slim.GraphKeys.GLOBAL_VARIABLES


# -- variable_scope(custom_getter=...) ----------------------------------------------------
def test_custom_getter_gets_full_name_and_tf_keywords():
    seen = []

    def getter(getter, name, *args, **kwargs):
        seen.append((name, kwargs))
        return getter(name, *args, **kwargs)

    with slim.variable_scope('net', custom_getter=getter):
        with slim.variable_scope('fc', reuse=slim.AUTO_REUSE):
            w = slim.variable('w', [2], trainable=False)
    assert w.name == 'net/fc/w'
    ((name, kwargs),) = seen
    assert name == 'net/fc/w'
    assert {'shape', 'dtype', 'initializer', 'regularizer', 'reuse', 'trainable',
            'collections', 'caching_device', 'partitioner', 'validate_shape',
            'use_resource'} <= set(kwargs)
    assert kwargs['shape'] == [2] and kwargs['trainable'] is False
    assert kwargs['reuse'] is slim.AUTO_REUSE and kwargs['collections'] == [GLOBAL_VARIABLES]


def test_getter_that_creates_two_variables_and_sums_them():
    # TF's variable_scope_test.testGetterThatCreatesTwoVariablesAndSumsThem.
    def custom_getter(getter, name, *args, **kwargs):
        g_0 = getter("%s/0" % name, *args, **kwargs)
        g_1 = getter("%s/1" % name, *args, **kwargs)
        return g_0 + g_1

    with slim.variable_scope("scope", custom_getter=custom_getter):
        v = slim.variable("v", [1, 2, 3])
    assert list(v.shape) == [1, 2, 3]
    true_vars = slim.get_trainable_variables()
    assert [t.name for t in true_vars] == ["scope/v/0", "scope/v/1"]
    torch.testing.assert_close(v, true_vars[0] + true_vars[1])


def test_nesting_custom_getters():
    # TF's variable_scope_test.testNestingCustomGetters: the innermost getter runs first.
    def sum_getter(getter, name, *args, **kwargs):
        g_0 = getter("%s/sum_0" % name, *args, **kwargs)
        g_1 = getter("%s/sum_1" % name, *args, **kwargs)
        return g_0 + g_1

    def prod_getter(getter, name, *args, **kwargs):
        g_0 = getter("%s/prod_0" % name, *args, **kwargs)
        g_1 = getter("%s/prod_1" % name, *args, **kwargs)
        return g_0 * g_1

    with slim.variable_scope("prod_scope", custom_getter=prod_getter):
        with slim.variable_scope("sum_scope", custom_getter=sum_getter):
            with slim.variable_scope("inner_sum_scope", custom_getter=sum_getter):
                v = slim.variable("v", [1, 2, 3])
    assert list(v.shape) == [1, 2, 3]
    true_vars = slim.get_trainable_variables()
    assert len(true_vars) == 8
    template = "prod_scope/sum_scope/inner_sum_scope/v/sum_%d/sum_%d/prod_%d"
    assert [t.name for t in true_vars] == [template % (i, j, k) for i in (0, 1)
                                           for j in (0, 1) for k in (0, 1)]
    n = [t.detach() for t in true_vars]
    torch.testing.assert_close(v, ((n[0] * n[1]) + (n[2] * n[3])) + ((n[4] * n[5]) + (n[6] * n[7])))


def test_layer_variables_go_through_the_custom_getter():
    seen = []

    def ones_and_frozen(getter, name, *args, **kwargs):
        seen.append(name)
        kwargs['initializer'] = slim.ones_initializer()
        kwargs['trainable'] = False
        return getter(name, *args, **kwargs)

    x = torch.randn(2, 3, 5, 5)
    with slim.variable_scope('net', custom_getter=ones_and_frozen):
        y = slim.conv2d(x, 4, [3, 3], scope='conv', activation_fn=None)
    assert seen == ['net/conv/weights', 'net/conv/biases']
    assert slim.get_trainable_variables() == []
    w = slim.get_unique_variable('net/conv/weights')
    assert list(w.shape) == [4, 3, 3, 3]  # the layer's layout still applies
    torch.testing.assert_close(y, torch.nn.functional.conv2d(x, torch.ones(4, 3, 3, 3),
                                                             torch.ones(4), padding=1))


def test_model_keeps_the_getter_of_its_build_scope():
    seen = []

    def getter(getter, name, *args, **kwargs):
        seen.append(name)
        return getter(name, *args, **kwargs)

    def f(x):
        scale = slim.variable('scale', initializer=[2.0])
        return slim.fully_connected(x, 2, scope='fc') * scale

    net = slim.Model(f)
    x = torch.randn(3, 4)
    with slim.variable_scope('net', custom_getter=getter):
        y1 = net(x)
    assert seen == ['net/scale', 'net/fc/weights', 'net/fc/biases']
    y2 = net(x)  # outside the scope: the variable made by hand is still got through it
    assert seen[3:] == ['net/scale']
    torch.testing.assert_close(y1, y2)


def test_reentered_scope_keeps_its_getter_and_slim_variable_custom_getter():
    calls = []

    def getter(getter, name, *args, **kwargs):
        calls.append(name)
        return getter(name, *args, **kwargs)

    with slim.variable_scope('a', custom_getter=getter) as sc:
        assert sc.custom_getter is getter
    with slim.variable_scope('b'):
        with slim.variable_scope(sc):
            slim.variable('v', [1])
    assert calls == ['a/v']

    # TF-Slim's slim.variable(custom_getter=...) replaces get_variable: it
    # gets the relative name and the scope's reuse flag, no `getter`.
    def replacement(name, reuse=None, **kwargs):
        calls.append((name, reuse))
        return slim.variable(name, shape=kwargs['shape'])

    with slim.variable_scope('c', reuse=slim.AUTO_REUSE):
        w = slim.variable('w', [3], custom_getter=replacement)
    assert calls[1:] == [('w', slim.AUTO_REUSE)] and w.name == 'c/w'


def test_bad_custom_getters_are_refused():
    with pytest.raises(ValueError, match="custom_getter must be callable"):
        with slim.variable_scope('a', custom_getter='not a function'):
            pass

    def partitioning(getter, name, *args, **kwargs):
        kwargs['partitioner'] = lambda shape, dtype: [2]
        return getter(name, *args, **kwargs)

    with slim.variable_scope('a', custom_getter=partitioning):
        with pytest.raises(ValueError, match="variable a/w: partitioner= is not supported"):
            slim.variable('w', [4])


# -- variable_scope(get_variable_scope(), reuse=True) at the root ----------------------------
def test_root_scope_reentered_with_reuse_shares():
    x = torch.randn(2, 3)
    w = slim.variable('w', [1])
    a = slim.fully_connected(x, 2, scope='fc')
    with slim.variable_scope(slim.get_variable_scope(), reuse=True) as sc:
        assert sc.name == '' and sc.reuse is True
        assert slim.get_variable_scope().reuse is True
        assert slim.variable('w', [1]) is w
        torch.testing.assert_close(slim.fully_connected(x, 2, scope='fc'), a)
        with slim.variable_scope('inner'):  # inherited below the root
            with pytest.raises(ValueError, match="Variable inner/x does not exist"):
                slim.variable('x', [1])
    assert slim.get_variable_scope().reuse is None
    assert len(slim.get_variables()) == 3


def test_towers_idiom_at_the_root():
    x = torch.randn(2, 3)
    outputs = []
    for i in range(2):
        with slim.variable_scope(slim.get_variable_scope(), reuse=(i > 0)):
            outputs.append(slim.fully_connected(x, 2, scope='tower'))
    torch.testing.assert_close(outputs[0], outputs[1])
    assert [v.name for v in slim.get_variables()] == ['tower/weights', 'tower/biases']


# -- layers take over variables made by hand ----------------------------------------------
def test_conv2d_picks_up_variables_made_by_hand():
    w = slim.variable('Conv/weights', [3, 3, 2, 4])
    b = slim.variable('Conv/biases', [4], initializer=[1.0, 2.0, 3.0, 4.0])
    tf_kernel = w.detach().clone()  # [kh, kw, in, out]
    x = torch.randn(1, 2, 6, 6)
    y = slim.conv2d(x, 4, [3, 3], scope='Conv', reuse=True, activation_fn=None)
    expected = torch.nn.functional.conv2d(x, tf_kernel.permute(3, 2, 0, 1), b.detach(), padding=1)
    torch.testing.assert_close(y, expected)
    layer = slim.get_default_graph().root.Conv
    assert layer.weights is w and layer.biases is b  # the same tensors, now the layer's
    assert slim.get_variables() == [w, b]
    record = slim.get_default_graph().record('Conv/weights')
    assert record.layout.tf_shape(w.shape) == [3, 3, 2, 4]  # its TF shape is unchanged
    torch.testing.assert_close(record.layout.tf_view(w), tf_kernel)


def test_fully_connected_picks_up_a_square_kernel_made_by_hand():
    # A square [in, out] kernel has the same shape in both layouts: it must
    # still be transposed into the layer's [out, in].
    kernel = torch.arange(9.0).reshape(3, 3)
    slim.variable('fc/weights', initializer=kernel)
    slim.variable('fc/biases', initializer=torch.zeros(3))
    x = torch.randn(2, 3)
    y = slim.fully_connected(x, 3, scope='fc', reuse=True, activation_fn=None)
    torch.testing.assert_close(y, x @ kernel)


def test_taking_over_follows_the_reuse_rules():
    x = torch.randn(1, 2, 5, 5)
    with slim.Graph():
        slim.variable('Conv/weights', [3, 3, 2, 4])
        with pytest.raises(ValueError, match="Variable Conv/weights already exists, disallowed"):
            slim.conv2d(x, 4, [3, 3], scope='Conv')
    with slim.Graph():
        slim.variable('Conv/weights', [3, 3, 2, 4])
        with pytest.raises(ValueError, match="Variable Conv/biases does not exist"):
            slim.conv2d(x, 4, [3, 3], scope='Conv', reuse=True)
    with slim.Graph():
        slim.variable('Conv/weights', [3, 3, 2, 5])
        with pytest.raises(ValueError, match=r"Trying to share variable Conv/weights, but specified "
                                             r"shape \[3, 3, 2, 4\] and found shape \[3, 3, 2, 5\]"):
            slim.conv2d(x, 4, [3, 3], scope='Conv', reuse=True)
    with slim.Graph():
        slim.variable('Conv/weights', [3, 3, 2, 4], dtype=torch.float64)
        with pytest.raises(ValueError, match="Conv/weights, but specified dtype torch.float32 and "
                                             "found dtype torch.float64"):
            slim.conv2d(x, 4, [3, 3], scope='Conv', reuse=True)
    with slim.Graph():  # AUTO_REUSE shares what exists and creates the rest
        w = slim.variable('Conv/weights', [3, 3, 2, 4])
        with slim.variable_scope(slim.get_variable_scope(), reuse=slim.AUTO_REUSE):
            slim.conv2d(x, 4, [3, 3], scope='Conv')
        assert [v.name for v in slim.get_variables()] == ['Conv/weights', 'Conv/biases']
        assert slim.get_variables()[0] is w


def test_a_layer_opened_on_a_scope_with_sub_scopes_keeps_them():
    inner = slim.variable('net/inner/w', [1])
    slim.fully_connected(torch.randn(2, 3), 2, scope='net')
    assert [v.name for v in slim.get_variables()] == ['net/inner/w', 'net/weights', 'net/biases']
    assert slim.get_unique_variable('net/inner/w') is inner
    assert sorted(slim.get_default_graph().root.state_dict()) == [
        'net.biases', 'net.inner.w', 'net.weights']


def test_built_model_with_variables_made_by_hand():
    def f(x):
        slim.variable('Conv/weights', [3, 3, 2, 4])
        slim.variable('Conv/biases', [4])
        return slim.conv2d(x, 4, [3, 3], scope='Conv', reuse=True)

    net = slim.Model(f)
    x = torch.randn(2, 2, 5, 5)
    y1 = net(x)
    y2 = net(x)  # apply mode: finds the layer and the variables
    torch.testing.assert_close(y1, y2)
    assert list(net.state_dict()) == ['Conv.weights', 'Conv.biases']
    assert [p.shape for p in net.parameters()] == [torch.Size([4, 2, 3, 3]), torch.Size([4])]
    assert list(net.tf_shapes().values()) == [[3, 3, 2, 4], [4]]


# -- tf.Variable names ----------------------------------------------------------------------
def test_unnamed_local_and_global_variables_get_unique_names():
    with slim.variable_scope('A'):
        a = slim.local_variable(0)
        b = slim.local_variable(1)
    c = slim.global_variable(0)
    d = slim.global_variable(1)
    assert [a.name, b.name, c.name, d.name] == ['A/Variable', 'A/Variable_1', 'Variable', 'Variable_1']
    named = slim.global_variable(2, name='Variable_2')  # an explicit name counts too
    assert named.name == 'Variable_2' and slim.global_variable(3).name == 'Variable_3'
    assert slim.global_variable(4, name='Variable').name == 'Variable_4'  # tf.Variable never clashes


def test_unnamed_variables_in_a_model_keep_their_names_per_call():
    def f(x):
        count = slim.local_variable(torch.zeros(()))
        total = slim.local_variable(torch.zeros(()))
        with torch.no_grad():
            count.add_(1)
            total.add_(x.sum())
        return count, total

    net = slim.Model(f)
    first = net(torch.ones(3))
    second = net(torch.ones(3))
    assert [v.name for v in first] == ['Variable', 'Variable_1']
    assert second[0] is first[0] and second[1] is first[1]
    assert (int(first[0]), float(first[1])) == (2, 6.0)


# -- global step checks ---------------------------------------------------------------------
def test_assert_global_step():
    slim.assert_global_step(torch.tensor(3, dtype=torch.int32))
    with pytest.raises(TypeError, match='must be a Variable or Tensor'):
        slim.assert_global_step(3)
    with pytest.raises(TypeError, match='does not have integer type: torch.float32'):
        slim.assert_global_step(torch.tensor(3.0))
    with pytest.raises(TypeError, match='does not have integer type: torch.bool'):
        slim.assert_global_step(torch.tensor(True))
    with pytest.raises(TypeError, match=r'is not scalar: \[1\]'):
        slim.assert_global_step(torch.zeros(1, dtype=torch.int64))


def test_assert_or_get_global_step():
    assert slim.assert_or_get_global_step() is None
    step = slim.create_global_step()
    assert slim.assert_or_get_global_step() is step
    mine = torch.tensor(7)
    assert slim.assert_or_get_global_step(global_step_tensor=mine) is mine
    with pytest.raises(TypeError, match='not scalar'):
        slim.assert_or_get_global_step(global_step_tensor=torch.zeros(2, dtype=torch.int64))


def test_global_step_found_in_its_collection_and_ambiguous_collections():
    step = slim.variable('counters/step', initializer=0, dtype=torch.int64, trainable=False,
                         collections=[GLOBAL_VARIABLES, GLOBAL_STEP])
    assert slim.get_global_step() is step
    with pytest.raises(ValueError, match='already exists'):
        slim.create_global_step()
    slim.variable('counters/other', initializer=0, dtype=torch.int64, trainable=False,
                  collections=[GLOBAL_STEP])
    assert slim.get_global_step() is None  # TF: "Multiple tensors in global_step collection"


# -- assign_from_values / filter_variables errors --------------------------------------------
def test_assign_from_values_finds_names_as_tf():
    a = slim.variable('a', [1])
    slim.variable('ab', [1])
    slim.variable('x1', [1])
    slim.variable('x2', [1])
    slim.local_variable(0.0, name='local')
    assign_op, feed_dict = slim.assign_from_values({'a': 5.0})  # exact among 'a', 'ab'
    assert assign_op.names == ['a'] and list(feed_dict) == [a]
    assert a.item() != 5.0  # nothing is assigned before the op runs
    assign_op()
    assert a.item() == 5.0
    with pytest.raises(ValueError, match="Variable nothing wasn't found"):
        slim.assign_from_values({'nothing': 1.0})
    with pytest.raises(ValueError, match="Variable local wasn't found"):  # global variables only
        slim.assign_from_values({'local': 1.0})
    with pytest.raises(ValueError, match=r"Variable x doesn't uniquely identify a variable"):
        slim.assign_from_values({'x': 1.0})
    with pytest.raises(ValueError, match=r"the value for a has shape \[2\] \(2 elements\), but "
                                         r"the variable's shape is \[1\]"):
        slim.assign_from_values({'a': [1.0, 2.0]})


def test_assign_from_values_takes_tf_layout_kernels():
    k = slim.model_variable('conv/weights', [2, 2, 3, 4], layout='conv')
    value = np.random.RandomState(0).rand(2, 2, 3, 4).astype(np.float32)
    slim.assign_from_values_fn({'conv/weights': value})()
    np.testing.assert_array_equal(k.detach().permute(2, 3, 1, 0).numpy(), value)


def test_filter_variables_needs_named_variables():
    with pytest.raises(TypeError, match=r"var_list\[1\] has no name"):
        slim.filter_variables([slim.variable('w', [1]), torch.zeros(1)], include_patterns=['w'])
    kept = slim.filter_variables(slim.get_variables(), include_patterns=['w:0'])  # TF-style ':0'
    assert [v.name for v in kept] == ['w']
