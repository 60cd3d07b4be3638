"""The fused inference path (slimtorch/layers/_fused.py): an eval-mode
convolution with a batch norm runs with the batch norm folded into its weights
and its activation fused, and computes what ``torch.nn.functional``'s separate
ops compute; everywhere the fold cannot be exact (training, gradients,
unusual batch-norm calls, tracing) the plain path runs."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.layers._fused import conv2d_activated, plain_inference

EPS = 0.001   # batch_norm's default epsilon


def randomize(model, seed=0):
    """Random weights and batch-norm statistics (variance in [0.5, 1.5])."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            values = torch.randn(tensor.shape, generator=generator) * 0.3
            if name.endswith("moving_variance"):
                values = torch.rand(tensor.shape, generator=generator) + 0.5
            tensor.copy_(values)
    return model


def conv_bn(x, weights, bn, stride=1, padding=1, groups=1):
    """F.conv2d then F.batch_norm with the layer's statistics (eval)."""
    return F.batch_norm(F.conv2d(x, weights, None, stride, padding, 1, groups),
                        bn["moving_mean"], bn["moving_variance"], bn.get("gamma"), bn.get("beta"),
                        False, 0.0, EPS)


def variables(model, scope):
    prefix = scope + "/"
    return {name[len(prefix):].split("/")[-1]: v for name, v in model.named_variables().items()
            if name.startswith(prefix)}


def conv_net(activation_fn=F.relu, stride=1, bn_params=None, memory_format=None):
    def fn(x):
        return slim.conv2d(x, 6, [3, 3], stride=stride, scope="conv", activation_fn=activation_fn,
                           normalizer_fn=slim.batch_norm, normalizer_params=bn_params)
    model = slim.Model(fn)
    model.memory_format = memory_format
    model.build(torch.randn(2, 4, 9, 9))
    return randomize(model).eval()


@pytest.mark.parametrize("memory_format", [None, torch.channels_last])
@pytest.mark.parametrize("activation_fn", [F.relu, F.relu6, None, torch.tanh])
def test_eval_conv_batch_norm_equals_separate_ops(activation_fn, memory_format):
    model = conv_net(activation_fn, memory_format=memory_format)
    x = torch.randn(3, 4, 9, 9)
    if memory_format is not None:
        x = x.contiguous(memory_format=memory_format)
    with torch.no_grad():
        got = model(x)
    v = variables(model, "conv")
    bn = {k: v[k] for k in ("moving_mean", "moving_variance", "beta")}
    expected = conv_bn(x, v["weights"], bn)
    if activation_fn is not None:
        expected = activation_fn(expected)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert "_folded_cache" in model.conv.__dict__   # the fused path ran


def test_strided_same_padding_and_scale():
    """TF's asymmetric 'SAME' (stride 2 on an odd size pads the input) and a
    batch norm with gamma."""
    model = conv_net(stride=2, bn_params={"scale": True})
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        got = model(x)
    v = variables(model, "conv")
    padded = F.pad(x, (1, 1, 1, 1))   # 9 -> 5 with a 3x3 kernel, stride 2: 1 and 1
    expected = F.relu(conv_bn(padded, v["weights"], v, stride=2, padding=0))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_weight_changes_invalidate_the_fold():
    model = conv_net()
    x = torch.randn(2, 4, 9, 9)
    v = variables(model, "conv")
    with torch.no_grad():
        before = model(x)
        v["weights"].mul_(2.0)              # an in-place change (a restore, an optimizer step)
        v["moving_mean"].add_(0.5)
        after = model(x)
        with plain_inference():
            plain = model(x)
    torch.testing.assert_close(after, plain, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(before, after)
    state = {k: t.clone() for k, t in model.state_dict().items()}
    state["conv.weights"] = torch.zeros_like(state["conv.weights"])
    model.load_state_dict(state)            # a checkpoint restore
    with torch.no_grad():
        restored = model(x)
    expected = F.relu(v["beta"] - v["moving_mean"] / torch.sqrt(v["moving_variance"] + EPS))
    torch.testing.assert_close(restored, expected.view(1, -1, 1, 1).expand_as(restored))


def test_an_optimizer_step_between_evals_is_seen():
    model = conv_net()
    x = torch.randn(2, 4, 9, 9)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with torch.no_grad():
        model(x)                            # caches a fold
    model.train()
    model(x).square().mean().backward()
    optimizer.step()
    model.eval()
    with torch.no_grad():
        got = model(x)
        with plain_inference():
            plain = model(x)
    torch.testing.assert_close(got, plain, rtol=1e-5, atol=1e-5)


def test_training_mode_uses_batch_statistics():
    model = conv_net(activation_fn=None)
    model.train()
    x = torch.randn(4, 4, 9, 9)
    v = variables(model, "conv")
    conv = F.conv2d(x, v["weights"], None, 1, 1)
    expected = F.batch_norm(conv, None, None, None, v["beta"].detach(), True, 0.0, EPS)
    torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-5)
    assert "_folded_cache" not in model.conv.__dict__


def test_frozen_batch_norm_fine_tuning_keeps_gradients():
    """Eval-mode batch norm with gradients wanted (TF-Slim's fine-tuning with
    is_training=False): the plain path, so every variable gets its gradient."""
    model = conv_net()
    x = torch.randn(2, 4, 9, 9)
    model(x).sum().backward()
    v = variables(model, "conv")
    weights = v["weights"].detach().clone().requires_grad_()
    beta = v["beta"].detach().clone().requires_grad_()
    bn = {"moving_mean": v["moving_mean"], "moving_variance": v["moving_variance"], "beta": beta}
    F.relu(conv_bn(x, weights, bn)).sum().backward()
    torch.testing.assert_close(v["weights"].grad, weights.grad)
    torch.testing.assert_close(v["beta"].grad, beta.grad)


def test_batch_norm_calls_the_fold_cannot_honour_run_plain():
    """Its own outputs collection, a different epsilon than built with, an
    is_training=True from an arg_scope: the plain path (the collection gets
    the batch norm's output; training statistics are used)."""
    def collected(x):
        net = slim.conv2d(x, 6, [3, 3], scope="conv", normalizer_fn=slim.batch_norm,
                          normalizer_params={"outputs_collections": "bn_outputs"})
        return net, slim.utils.convert_collection_to_dict("bn_outputs")
    model = randomize(slim.Model(collected).build(torch.randn(2, 4, 9, 9))).eval()
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        net, end_points = model(x)
    v = variables(model, "conv")
    torch.testing.assert_close(end_points["conv/BatchNorm"], conv_bn(x, v["weights"], v),
                               rtol=1e-5, atol=1e-5)
    assert "_folded_cache" not in model.conv.__dict__

    def fn(x):
        with slim.arg_scope([slim.batch_norm], is_training=True):
            return slim.conv2d(x, 6, [3, 3], scope="conv", normalizer_fn=slim.batch_norm)
    training = randomize(slim.Model(fn).build(torch.randn(2, 4, 9, 9))).eval()
    x = torch.randn(4, 4, 9, 9)
    with torch.no_grad():
        got = training(x)
    v = variables(training, "conv")
    conv = F.conv2d(x, v["weights"], None, 1, 1)
    expected = F.relu(F.batch_norm(conv, None, None, None, v["beta"], True, 0.0, EPS))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_batch_norms_own_activation_then_the_layers():
    model = conv_net(activation_fn=lambda t: t * 2.0, bn_params={"activation_fn": F.relu})
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        got = model(x)
    v = variables(model, "conv")
    torch.testing.assert_close(got, 2.0 * F.relu(conv_bn(x, v["weights"], v)), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("num_outputs", [None, 5])
def test_separable_conv_batch_norm(num_outputs):
    def fn(x):
        return slim.separable_conv2d(x, num_outputs, [3, 3], depth_multiplier=2, stride=2,
                                     scope="sep", activation_fn=F.relu6,
                                     normalizer_fn=slim.batch_norm)
    model = randomize(slim.Model(fn).build(torch.randn(2, 3, 8, 8))).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        got = model(x)
    v = variables(model, "sep")
    # 'SAME', stride 2 on 8: 0 before and 1 after.
    depthwise = F.conv2d(F.pad(x, (0, 1, 0, 1)), v["depthwise_weights"], None, 2, 0, 1, 3)
    if num_outputs is not None:
        depthwise = F.conv2d(depthwise, v["pointwise_weights"])
    expected = F.relu6(F.batch_norm(depthwise, v["moving_mean"], v["moving_variance"], None,
                                    v["beta"], False, 0.0, EPS))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_in_plane_and_conv3d_batch_norm_match_plain():
    def fn(x, y):
        a = slim.conv2d_in_plane(x, [3, 3], scope="plane", normalizer_fn=slim.batch_norm)
        b = slim.conv3d(y, 4, [3, 3, 3], scope="c3", normalizer_fn=slim.batch_norm)
        return a, b
    x, y = torch.randn(2, 3, 7, 7), torch.randn(2, 2, 5, 6, 6)
    model = randomize(slim.Model(fn).build(x, y)).eval()
    with torch.no_grad():
        fused = model(x, y)
        with plain_inference():
            plain = model(x, y)
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert "_folded_cache" in model.plane.__dict__ and "_folded_cache" in model.c3.__dict__


def test_traced_and_flop_counted_graphs_keep_standard_ops():
    """Tracing and export see aten convolutions (no oneDNN-specific op), and
    the FLOP counter counts the same FLOPs as the plain path."""
    from torch.utils.flop_counter import FlopCounterMode
    model = conv_net()
    x = torch.randn(2, 4, 9, 9)
    with torch.no_grad():
        traced = torch.jit.trace(model, (x,), check_trace=False)
        torch.testing.assert_close(traced(x), model(x), rtol=1e-5, atol=1e-5)
    assert "mkldnn" not in str(traced.inlined_graph)
    counts = []
    for context in (plain_inference, lambda: torch.no_grad()):
        with context(), torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        counts.append(counter.get_total_flops())
    assert counts[0] == counts[1] == 2 * 2 * 6 * 4 * 9 * 9 * 9


@pytest.mark.parametrize("groups", [1, 3])
def test_conv2d_activated_is_conv_then_activation(groups):
    x = torch.randn(2, 6, 10, 10).contiguous(memory_format=torch.channels_last)
    w, b = torch.randn(6, 6 // groups, 3, 3), torch.randn(6)
    for activation_fn in (F.relu, F.relu6, None, torch.sigmoid):
        with torch.no_grad():
            got = conv2d_activated(x, w, b, (2, 2), (1, 1), (1, 1), groups, activation_fn)
        expected = F.conv2d(x, w, b, 2, 1, 1, groups)
        if activation_fn is not None:
            expected = activation_fn(expected)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    grad_x = x.clone().requires_grad_()   # autograd: the standard op
    conv2d_activated(grad_x, w, b, (1, 1), (1, 1), (1, 1), groups, F.relu).sum().backward()
    assert grad_x.grad is not None


def test_prepacked_weights_follow_changes_and_input_sizes():
    """A convolution without a batch norm (VGG's) runs on prepacked weights in
    inference: in-place changes and new input sizes are seen."""
    model = slim.Model(lambda x: slim.conv2d(x, 5, [3, 3], stride=2, scope="conv"))
    model.build(torch.randn(1, 3, 9, 9))
    randomize(model).eval()
    v = variables(model, "conv")
    for step, size in enumerate([9, 12, 9, 7, 16, 20, 11, 9]):   # more sizes than are kept
        x = torch.randn(2, 3, size, size)
        if step == 4:
            with torch.no_grad():
                v["weights"].mul_(-1.5)
        with torch.no_grad():
            got = model(x)
        padded = F.pad(x, (1, 1, 1, 1)) if size % 2 else F.pad(x, (0, 1, 0, 1))
        expected = F.relu(F.conv2d(padded, v["weights"], v["biases"], 2))
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5, msg=f"size {size}")


@pytest.mark.skipif(not torch.ops.mkldnn._is_mkldnn_bf16_supported(), reason="needs CPU bf16")
def test_bf16_autocast_runs_fused_and_matches_autocasts_own_ops():
    """Under bfloat16 autocast the fused kernel runs in bfloat16 (weights
    prepacked once in bfloat16): within bfloat16's rounding of autocast's
    separate ops, and bfloat16 out as autocast gives."""
    model = conv_net(memory_format=torch.channels_last)
    x = torch.randn(2, 4, 9, 9).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        got = model(x)
        with plain_inference():
            plain = model(x)
    assert got.dtype == plain.dtype == torch.bfloat16
    error = ((got.float() - plain.float()).norm() / plain.float().norm()).item()
    assert error < 1e-2   # bfloat16 keeps 8 bits: 2^-8 = 0.4 % per rounding


def test_export_under_no_grad_records_the_plain_graph():
    """torch.export traces with fake tensors: the fused path stays out (no
    cache of real storage, the batch norm stays in the graph)."""
    def fn(x):
        net = slim.separable_conv2d(x, 4, [3, 3], scope="sep", normalizer_fn=slim.batch_norm)
        return slim.conv2d(net, 5, [3, 3], scope="conv", normalizer_fn=slim.batch_norm)
    model = randomize(slim.Model(fn).build(torch.randn(1, 3, 8, 8))).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        program = torch.export.export(model, (x,))
        expected = model(x)
    ops = {str(node.target) for node in program.graph.nodes if node.op == "call_function"}
    assert not any("mkldnn" in op for op in ops) and any("batch_norm" in op for op in ops)
    torch.testing.assert_close(program.module()(x), expected, rtol=1e-5, atol=1e-5)
