"""Two threads building two models at the same time get independent scopes:
arg_scope stacks, variable scopes and automatic layer names are
thread-local, so each model gets its own names and layer settings."""

import threading

import pytest
import torch

import slimtorch as slim
from slimtorch.layers.conv import ConvolutionND

SETTINGS = {"a": {"padding": "VALID", "weights_initializer": slim.constant_initializer(0.5)},
            "b": {"padding": "SAME", "weights_initializer": slim.constant_initializer(-1.0)}}


def _tower(x, barrier, seen, tag):
    """Two automatically named convolutions and a fully connected layer; the
    barrier makes both threads be inside their scopes, mid-build, together."""
    net = slim.conv2d(x, 4, [3, 3])
    barrier.wait()
    seen[tag] = slim.current_arg_scope()[slim.arg_scope_func_key(slim.conv2d)]["padding"]
    net = slim.conv2d(net, 4, [3, 3])
    barrier.wait()
    return slim.fully_connected(slim.flatten(net), 2)


class _NoBarrier:
    def wait(self):
        pass


@pytest.mark.parametrize("own_graphs", [False, True], ids=["shared-graph", "own-graphs"])
def test_two_threads_build_two_models_with_their_own_scopes(own_graphs):
    barrier = threading.Barrier(2, timeout=20)
    models, outputs, seen, errors = {}, {}, {}, []

    def build(tag):
        try:
            graph = slim.Graph() if own_graphs else slim.get_default_graph()
            with graph, slim.variable_scope(tag), \
                    slim.arg_scope([slim.conv2d], **SETTINGS[tag]):
                models[tag] = slim.Model(_tower, barrier=barrier, seen=seen, tag=tag)
                outputs[tag] = models[tag](torch.ones(1, 3, 8, 8))
                models[tag].graph = graph
        except BaseException as error:   # re-raised below, in the test's thread
            barrier.abort()
            errors.append(error)
    threads = [threading.Thread(target=build, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]

    assert seen == {"a": "VALID", "b": "SAME"}   # each thread saw its own arg_scope
    # VALID: 8x8 -> 6x6 -> 4x4; SAME keeps 8x8: the fully connected inputs differ.
    flat = {"a": 4 * 4 * 4, "b": 8 * 8 * 4}
    for tag, model in models.items():
        names = {name: tuple(v.shape) for name, v in model.named_variables().items()}
        assert names == {f"{tag}/Conv/weights": (4, 3, 3, 3), f"{tag}/Conv/biases": (4,),
                         f"{tag}/Conv_1/weights": (4, 4, 3, 3), f"{tag}/Conv_1/biases": (4,),
                         f"{tag}/fully_connected/weights": (2, flat[tag]),
                         f"{tag}/fully_connected/biases": (2,)}, tag
        convolutions = [m for m in model.modules() if isinstance(m, ConvolutionND)]
        assert [c.default_plan.padding for c in convolutions] == [SETTINGS[tag]["padding"]] * 2
        expected_init = {"a": 0.5, "b": -1.0}[tag]
        for conv in convolutions:
            assert (conv.weights == expected_init).all()
        with model.graph:   # the model keeps its settings on later calls, from any thread
            again = model(torch.ones(1, 3, 8, 8), barrier=_NoBarrier())
            assert sorted(v.name for v in slim.get_variables(tag)) == sorted(names)
        assert torch.equal(again, outputs[tag])
    if not own_graphs:   # one graph holds both models' variables, each under its own scope
        assert {v.name.split("/")[0] for v in slim.get_variables()} == {"a", "b"}
