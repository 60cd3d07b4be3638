"""tf_slim/ops/arg_scope_test.py, translated (tf_slim 1.1).

| tf_slim test class | translated | passing | documented difference | untranslatable |
|--------------------|-----------:|--------:|----------------------:|---------------:|
| ArgScopeTest       |         20 |      20 |                     0 |              0 |

Untranslatable: none. (``self.cached_session()`` blocks are graph scaffolding
and dropped.)
"""

import pytest

import slimtorch as slim

add_arg_scope = slim.add_arg_scope
arg_scope = slim.arg_scope
arg_scoped_arguments = slim.arg_scoped_arguments


@add_arg_scope
def func1(*args, **kwargs):
    return (args, kwargs)


@add_arg_scope
def func2(*args, **kwargs):
    return (args, kwargs)


@add_arg_scope
def func3(args, a=None, b=1, c=2):
    """Some cool doc string."""
    return (args, a, b, c)


@add_arg_scope
def func4(x='x', y='y'):
    if x:
        pass
    if y:
        pass


def _key_op(op):
    return getattr(op, '_key_op', str(op))


class TestArgScope:

    def test_empty_arg_scope(self):
        with arg_scope([]) as sc:
            assert sc == {}

    def test_clear_arg_scope(self):
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        key_op = _key_op(func1)
        func1_scope = {key_op: func1_kwargs.copy()}
        with arg_scope([func1], a=1, b=None, c=[1]) as sc1:
            assert sc1 == func1_scope
            with arg_scope({}) as sc2:
                assert sc2 == {}
            with arg_scope([]) as current_arg_scope:
                assert current_arg_scope == func1_scope

    def test_non_decorated(self):
        def my_func(t, a=None):
            return (t, a)

        with pytest.raises(ValueError):
            with arg_scope([my_func], a=1):
                pass

    def test_unexpected_arg(self):
        with pytest.raises(TypeError):
            with arg_scope([func3], d=1):
                func3(1)

    def test_current_arg_scope(self):
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        key_op = _key_op(func1)
        current_scope = {key_op: func1_kwargs.copy()}
        with arg_scope([func1], a=1, b=None, c=[1]) as scope:
            assert scope == current_scope

    def test_arg_scoped_arguments(self):
        func3_kwargs = ('a', 'b', 'c')
        assert arg_scoped_arguments(func3) == func3_kwargs

    def test_current_arg_scope_nested(self):
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        func2_kwargs = {'b': 2, 'd': [2]}
        key = _key_op
        current_scope = {key(func1): func1_kwargs.copy(), key(func2): func2_kwargs.copy()}
        with arg_scope([func1], a=1, b=None, c=[1]):
            with arg_scope([func2], b=2, d=[2]) as scope:
                assert scope == current_scope

    def test_reuse_arg_scope(self):
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        key_op = _key_op(func1)
        current_scope = {key_op: func1_kwargs.copy()}
        with arg_scope([func1], a=1, b=None, c=[1]) as scope1:
            pass
        with arg_scope(scope1) as scope:
            assert scope == current_scope

    def test_reuse_arg_scope_nested(self):
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        func2_kwargs = {'b': 2, 'd': [2]}
        key = _key_op
        current_scope1 = {key(func1): func1_kwargs.copy()}
        current_scope2 = {key(func1): func1_kwargs.copy(), key(func2): func2_kwargs.copy()}
        with arg_scope([func1], a=1, b=None, c=[1]) as scope1:
            with arg_scope([func2], b=2, d=[2]) as scope2:
                pass
        with arg_scope(scope1):
            with arg_scope([]) as current_arg_scope:
                assert current_arg_scope == current_scope1
        with arg_scope(scope2):
            with arg_scope([]) as current_arg_scope:
                assert current_arg_scope == current_scope2

    def test_simple_arg_scope(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        with arg_scope([func1], a=1, b=None, c=[1]):
            args, kwargs = func1(0)
            assert args == func1_args
            assert kwargs == func1_kwargs

    def test_simple_arg_scope_with_tuple(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        with arg_scope((func1,), a=1, b=None, c=[1]):
            args, kwargs = func1(0)
            assert args == func1_args
            assert kwargs == func1_kwargs

    def test_overwrite_arg_scope(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': 2, 'c': [1]}
        with arg_scope([func1], a=1, b=None, c=[1]):
            args, kwargs = func1(0, b=2)
            assert args == func1_args
            assert kwargs == func1_kwargs

    def test_nested_arg_scope(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        with arg_scope([func1], a=1, b=None, c=[1]):
            args, kwargs = func1(0)
            assert args == func1_args
            assert kwargs == func1_kwargs
            func1_kwargs['b'] = 2
            with arg_scope([func1], b=2):
                args, kwargs = func1(0)
                assert args == func1_args
                assert kwargs == func1_kwargs

    def test_nested_arg_scope_object_created_outside_scope_overrides_arg_scope(self):
        def get_scope_object():
            with arg_scope([func1], a=1, b=None, c=[1]) as sc:
                return sc

        scope_object = get_scope_object()
        with arg_scope([func1], b=2, d=10):
            with arg_scope(scope_object):
                args, kwargs = func1(0)
                assert args == (0,)
                assert kwargs == {'a': 1, 'b': None, 'c': [1]}

    def test_arg_scope_object_created_within_scope_inherits_arg_scope(self):
        def get_scope_object():
            with arg_scope([func1], a=1, b=None, c=[1]) as sc:
                return sc

        with arg_scope([func1], b=2, d=10):
            with arg_scope(get_scope_object()):
                args, kwargs = func1(0)
                assert args == (0,)
                assert kwargs == {'a': 1, 'b': None, 'c': [1], 'd': 10}

    def test_shared_arg_scope(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        with arg_scope([func1, func2], a=1, b=None, c=[1]):
            args, kwargs = func1(0)
            assert args == func1_args
            assert kwargs == func1_kwargs
            args, kwargs = func2(0)
            assert args == func1_args
            assert kwargs == func1_kwargs

    def test_shared_arg_scope_tuple(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        with arg_scope((func1, func2), a=1, b=None, c=[1]):
            args, kwargs = func1(0)
            assert args == func1_args
            assert kwargs == func1_kwargs
            args, kwargs = func2(0)
            assert args == func1_args
            assert kwargs == func1_kwargs

    def test_partially_shared_arg_scope(self):
        func1_args = (0,)
        func1_kwargs = {'a': 1, 'b': None, 'c': [1]}
        func2_args = (1,)
        func2_kwargs = {'a': 1, 'b': None, 'd': [2]}
        with arg_scope([func1, func2], a=1, b=None):
            with arg_scope([func1], c=[1]):
                with arg_scope([func2], d=[2]):
                    args, kwargs = func1(0)
                    assert args == func1_args
                    assert kwargs == func1_kwargs
                    args, kwargs = func2(1)
                    assert args == func2_args
                    assert kwargs == func2_kwargs

    def test_add_arg_scope_race_condition(self):
        func4_kwargs = ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')
        for _ in range(4):
            # redefine the function with different args
            @add_arg_scope
            def func4(a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8):
                pass
            assert arg_scoped_arguments(func4) == func4_kwargs

    def test_doc_string(self):
        assert func3.__doc__ == 'Some cool doc string.'
