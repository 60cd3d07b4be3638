"""arg_scope: TF-Slim's arg_scope_test.py cases, plus the three fixed traps."""

import inspect

import pytest
import torch

import slimtorch as slim


@slim.add_arg_scope
def func1(*args, **kwargs):
    return (args, kwargs)


@slim.add_arg_scope
def func2(*args, **kwargs):
    return (args, kwargs)


@slim.add_arg_scope
def func3(args, a=None, b=1, c=2):
    """Some cool doc string."""
    return (args, a, b, c)


def key(op):
    return slim.arg_scope_func_key(op)


def test_empty_arg_scope_and_clear():
    with slim.arg_scope([]) as sc:
        assert sc == {}
    with slim.arg_scope([func1], a=1):
        with slim.arg_scope({}) as cleared:
            assert cleared == {} and func1(0) == ((0,), {})


def test_docstring_and_signature_kept():
    assert func3.__doc__ == "Some cool doc string."
    assert list(inspect.signature(func3).parameters) == ["args", "a", "b", "c"]
    assert list(inspect.signature(slim.conv2d).parameters)[:3] == ["inputs", "num_outputs",
                                                                   "kernel_size"]


def test_simple_and_current_arg_scope():
    with slim.arg_scope([func1], a=1, b=None, c=[1]):
        assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})
        assert slim.current_arg_scope()[key(func1)] == {"a": 1, "b": None, "c": [1]}
    assert func1(0) == ((0,), {})
    assert slim.current_arg_scope() == {}


def test_reuse_arg_scope_object():
    with slim.arg_scope([func1], a=1, b=None, c=[1]) as sc1:
        pass
    with slim.arg_scope(sc1) as sc2:
        assert sc2 == sc1 and func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})


def test_reuse_arg_scope_nested():
    with slim.arg_scope([func1], a=1, b=None, c=[1]) as sc1:
        with slim.arg_scope([func2], b=2, d=[2]) as sc2:
            pass
    with slim.arg_scope(sc1):
        assert slim.current_arg_scope() == sc1
        assert func2(0) == ((0,), {})
    with slim.arg_scope(sc2):
        assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})
        assert func2(0) == ((0,), {"b": 2, "d": [2]})


def test_scope_object_created_outside_overrides_outer_scope():
    with slim.arg_scope([func1], a=1, b=None, c=[1]) as sc:
        pass
    with slim.arg_scope([func1], b=2, d=10):
        with slim.arg_scope(sc):
            assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})


def test_scope_object_created_inside_inherits_outer_scope():
    with slim.arg_scope([func1], b=2, d=10):
        with slim.arg_scope([func1], a=1, b=None, c=[1]) as sc:
            pass
    with slim.arg_scope(sc):
        assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1], "d": 10})


def test_nested_scopes_merge_and_inner_wins():
    with slim.arg_scope([func1], a=1, b=None, c=[1]):
        with slim.arg_scope([func1], b=[1], c=[4]):
            assert func1(0) == ((0,), {"a": 1, "b": [1], "c": [4]})
        assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})


def test_shared_and_partially_shared_scopes():
    with slim.arg_scope((func1, func2), a=1, b=None, c=[1]):
        assert func1(0) == func2(0) == ((0,), {"a": 1, "b": None, "c": [1]})
        with slim.arg_scope([func2], b=2, d=[2]):
            assert func1(0) == ((0,), {"a": 1, "b": None, "c": [1]})
            assert func2(0) == ((0,), {"a": 1, "b": 2, "c": [1], "d": [2]})


def test_explicit_keyword_overrides_scope():
    with slim.arg_scope([func3], a=None, b=None):
        assert func3(1, b=2) == (1, None, 2, 2)


def test_positional_argument_overrides_scope():
    # TF-Slim raised "TypeError: got multiple values for argument 'a'".
    with slim.arg_scope([func3], a=5, b=6):
        assert func3(1, 7) == (1, 7, 6, 2)
        assert func3(1, 7, 8) == (1, 7, 8, 2)
    with slim.arg_scope([slim.fully_connected], num_outputs=20):
        assert slim.fully_connected(torch.randn(2, 3), 30).shape == (2, 30)


def test_undecorated_op_raises_value_error_naming_it():
    def undecorated(x, a=1):
        return x
    with pytest.raises(ValueError, match="undecorated is not decorated with @add_arg_scope"):
        with slim.arg_scope([undecorated], a=2):
            pass
    with pytest.raises(ValueError, match="relu"):
        with slim.arg_scope([torch.relu]):
            pass


def test_unknown_keyword_raises_at_scope_entry_naming_op_and_keyword():
    entered = False
    with pytest.raises(TypeError, match=r"func3\(\) does not accept the keyword argument 'd'"):
        with slim.arg_scope([func3], d=1):
            entered = True
    assert not entered
    with pytest.raises(slim.ScopedArgumentError, match="convolution2d.*'padidng'"):
        with slim.arg_scope([slim.conv2d], padidng='VALID'):
            pass
    # a stack left clean by the failure
    assert slim.current_arg_scope() == {}


def test_bad_arguments_to_arg_scope():
    with pytest.raises(TypeError, match="list_ops_or_scope must either be a list/tuple"):
        with slim.arg_scope(func1, a=1):
            pass
    with pytest.raises(ValueError, match="kwargs must be empty"):
        with slim.arg_scope({}, a=1):
            pass


def test_scope_is_popped_on_exception():
    with pytest.raises(RuntimeError):
        with slim.arg_scope([func1], a=1):
            raise RuntimeError("boom")
    assert slim.current_arg_scope() == {} and func1(0) == ((0,), {})


def test_has_arg_scope_and_arg_scoped_arguments():
    assert slim.has_arg_scope(func1) and slim.has_arg_scope(slim.conv2d)
    assert not slim.has_arg_scope(torch.relu)
    assert not slim.has_arg_scope(slim.repeat) and not slim.has_arg_scope(slim.stack)
    assert slim.arg_scoped_arguments(func3) == ("a", "b", "c")
    assert slim.arg_scoped_arguments(slim.conv2d) == (
        "stride", "padding", "data_format", "rate", "activation_fn", "normalizer_fn",
        "normalizer_params", "weights_initializer", "weights_regularizer", "biases_initializer",
        "biases_regularizer", "reuse", "variables_collections", "outputs_collections",
        "trainable", "scope")


def test_aliases_share_a_scope():
    assert slim.conv2d is slim.convolution2d
    with slim.arg_scope([slim.convolution2d], padding='VALID'):
        assert slim.conv2d(torch.randn(1, 1, 5, 5), 1, [3, 3]).shape == (1, 1, 3, 3)


def test_arg_scope_is_thread_local():
    import threading
    seen = {}

    def worker():
        seen["inner"] = func1(0)

    with slim.arg_scope([func1], a=1):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert func1(0) == ((0,), {"a": 1})
    assert seen["inner"] == ((0,), {})
