"""slim.model_analyzer: analyze_vars as TF-Slim prints it; analyze_ops / analyze_layers
checked against hand-counted sizes and torch's own FlopCounterMode."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import slimtorch as slim
from slimtorch import model_analyzer


def small_net(x):
    x = slim.conv2d(x, 4, [3, 3], stride=2, scope="conv1")
    x = slim.conv2d(x, 6, [1, 1], normalizer_fn=slim.batch_norm, scope="conv2")
    x = slim.max_pool2d(x, [2, 2], scope="pool")
    return slim.fully_connected(slim.flatten(x), 3, activation_fn=None, scope="logits")


def test_analyze_vars_totals_and_lines(capsys):
    with slim.Graph():
        a = slim.variable("a/weights", shape=[3, 4])
        b = slim.variable("b", shape=[5], dtype=torch.float64)
        c = slim.variable("step", shape=[], dtype=torch.int64, trainable=False)
        assert model_analyzer.analyze_vars([a, b, c]) == (12 + 5 + 1, 12 * 4 + 5 * 8 + 8)
        assert capsys.readouterr().out == ""
        model_analyzer.analyze_vars([a, b], print_info=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["---------", "Variables: name (type shape) [size]", "---------",
                     "a/weights (float32 3x4) [12, bytes: 48]",
                     "b (float64 5) [5, bytes: 40]",
                     "Total size of variables: 17", "Total bytes of variables: 88"]
    assert model_analyzer.analyze_vars([]) == (0, 0)


def test_analyze_layers_parameters_and_flops_match_torch():
    images = torch.randn(2, 3, 8, 8)
    with slim.Graph():
        net = slim.Model(small_net)
        net.eval()(images)
        layers = model_analyzer.analyze_layers(net, images)
        counted = {name: sum(v.numel() for v in slim.get_variables(name + "/")
                             if v.name.rsplit("/", 1)[0] == name)
                   for name in ("conv1", "conv2", "conv2/BatchNorm", "logits")}
        with FlopCounterMode(display=False) as counter:
            net(images)
    by_name = {layer.name: layer for layer in layers}
    for name, size in counted.items():
        assert by_name[name].parameters == size
    assert by_name["conv1"].output_shape == (2, 4, 4, 4)
    assert by_name["logits"].output_shape == (2, 3)
    # conv1: 2 * N * Cout * Hout * Wout * Cin * kh * kw multiply-adds counted by hand
    assert by_name["conv1"].flops == 2 * 2 * 4 * 4 * 4 * 3 * 3 * 3
    assert sum(layer.flops for layer in layers) == counter.get_total_flops()


def test_analyze_ops_sizes_and_names(capsys):
    with slim.Graph():
        total = model_analyzer.analyze_ops(
            lambda x: slim.fully_connected(slim.fully_connected(x, 4, scope="fc"), 4, scope="fc2"),
            torch.zeros(2, 3), print_info=True)
    lines = capsys.readouterr().out.splitlines()[3:]
    names = [line.split(" \t->")[0] for line in lines]
    assert names == ["fc/addmm", "fc/relu", "fc2/addmm", "fc2/relu"]
    assert total == 4 * 2 * 4
    assert lines[0].endswith("-> (float32 2x4) [8, flops: 48]")
    # a model analyzed twice gives the same numbers; a built model is not changed
    with slim.Graph():
        net = slim.Model(small_net)
        before = model_analyzer.analyze_ops(net, torch.zeros(1, 3, 8, 8))
        state = {k: v.clone() for k, v in net.state_dict().items()}
        assert model_analyzer.analyze_ops(net, torch.zeros(1, 3, 8, 8)) == before
        for key, value in net.state_dict().items():
            assert torch.equal(value, state[key]), key


def test_analyze_ops_rejects_plain_modules():
    with pytest.raises(TypeError, match=r"expected a slim.Model or a model function, got Linear"):
        model_analyzer.analyze_ops(torch.nn.Linear(2, 2), torch.zeros(1, 2))
    assert slim.model_analyzer is model_analyzer
