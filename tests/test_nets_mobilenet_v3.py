"""MobileNet v3 and MobileNet EdgeTPU.

The first part translates research/slim's ``nets/mobilenet/mobilenet_v3_test.py``
(every test and assertion, NHWC -> NCHW; each ``use_groupnorm`` parameter
kept). The rest checks what that file leaves to the golden manifests and
fixtures: counts, names, the squeeze-excite and fused blocks, depth
multipliers and finegrain mode, the factory entries. Counts and shapes were
read off TF 2.21 + tf_slim 1.1 running research/slim's ``mobilenet_v3.py``
under ``training_scope()``. Nets are built on the meta device unless a test
needs numbers.
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.data.preprocessing import preprocessing_fn_map
from slimtorch.nets import mobilenet_blocks, mobilenet_v3, nets_factory
from slimtorch.testing import assign_random_weights


def meta(batch=1, size=224):
    return torch.empty(batch, 3, size, size, device="meta")


def build(fn, scope=None, size=224, batch=1, **kwargs):
    """Builds ``fn`` on the meta device under ``scope``; returns (model, out, end_points)."""
    with slim.arg_scope(scope if scope is not None else {}):
        model = slim.Model(fn, **kwargs).build((batch, 3, size, size), device="meta")
        out, end_points = model(meta(batch, size))
    return model, out, end_points


def assert_variables_have_normalizer_fn(use_groupnorm):
    names = [v.name for v in slim.get_variables()]
    has_batch_norm = any("BatchNorm" in name for name in names)
    has_group_norm = any("GroupNorm" in name for name in names)
    assert has_batch_norm != use_groupnorm
    assert has_group_norm == use_groupnorm


GROUPNORM = pytest.mark.parametrize("use_groupnorm", [False, True],
                                    ids=["without_groupnorm", "with_groupnorm"])


# -- research/slim's mobilenet_v3_test.py --------------------------------------------------
@GROUPNORM
def test_mobilenet_v3_large(use_groupnorm):
    _, logits, end_points = build(mobilenet_v3.mobilenet, use_groupnorm=use_groupnorm)
    assert end_points["layer_19"].shape == (1, 1280, 1, 1)
    assert logits.shape == (1, 1001)
    assert_variables_have_normalizer_fn(use_groupnorm)


@GROUPNORM
def test_mobilenet_v3_small(use_groupnorm):
    _, _, end_points = build(mobilenet_v3.mobilenet, conv_defs=mobilenet_v3.V3_SMALL,
                             use_groupnorm=use_groupnorm)
    assert end_points["layer_15"].shape == (1, 1024, 1, 1)
    assert_variables_have_normalizer_fn(use_groupnorm)


@GROUPNORM
def test_mobilenet_edge_tpu(use_groupnorm):
    _, _, end_points = build(mobilenet_v3.edge_tpu, use_groupnorm=use_groupnorm)
    # TF copied mobilenet's docstring ('Inference mode is created by
    # default'); slimtorch's variants point to it instead of copying it.
    assert "``mobilenet``" in mobilenet_v3.edge_tpu.__doc__
    assert "see :func:`mobilenet`" in mobilenet_v3.edge_tpu.__doc__
    assert end_points["layer_24"].shape == (1, 1280, 7, 7)
    # Tensors carry no names in PyTorch: the layer's variables carry the scope.
    assert all(v.name.startswith("MobilenetEdgeTPU/") for v in slim.get_variables())
    assert_variables_have_normalizer_fn(use_groupnorm)


def test_mobilenet_edge_tpu_change_scope():
    model = slim.Model(mobilenet_v3.edge_tpu, scope="Scope").build((1, 3, 224, 224),
                                                                    device="meta")
    _, end_points = model(meta())
    assert end_points["layer_24"].shape == (1, 1280, 7, 7)
    names = [v.name for v in slim.get_variables()]
    assert names and all(name.startswith("Scope/") for name in names)
    assert "Scope/Conv_1/weights" in names   # layer_24


@GROUPNORM
def test_mobilenet_v3_base_only(use_groupnorm):
    model = slim.Model(mobilenet_v3.mobilenet, conv_defs=mobilenet_v3.V3_LARGE,
                       use_groupnorm=use_groupnorm, base_only=True, final_endpoint="layer_17")
    model.build((1, 3, 224, 224), device="meta")
    result, end_points = model(meta())
    # The last layer before the average pool.
    assert end_points["layer_17"].shape == (1, 960, 7, 7)
    assert result is end_points["layer_17"]
    assert_variables_have_normalizer_fn(use_groupnorm)


def test_mobilenet_v3_base_only_variable_input():
    # TF's placeholder of shape (None, None, None, 3): a net built once takes
    # any batch and spatial size.
    model = slim.Model(mobilenet_v3.mobilenet, conv_defs=mobilenet_v3.V3_LARGE, base_only=True,
                       final_endpoint="layer_17")
    model.build((1, 3, 224, 224), device="meta")
    for batch, height, width in [(2, 96, 128), (3, 33, 65)]:
        result, end_points = model(torch.empty(batch, 3, height, width, device="meta"))
        assert end_points["layer_17"].shape[:2] == (batch, 960)
        assert result is end_points["layer_17"]


@pytest.mark.parametrize("use_reduce_mean_for_pooling", [True, False],
                         ids=["with_reduce_mean", "without_reduce_mean"])
@GROUPNORM
def test_mobilenet_v3_reduce_mean_for_pooling(use_reduce_mean_for_pooling, use_groupnorm):
    # TF looked for a 'ReduceMean' op in the graph: the global pool is a mean
    # either way, which is what slimtorch computes (the option is accepted).
    model = slim.Model(mobilenet_v3.mobilenet, conv_defs=mobilenet_v3.V3_SMALL, num_classes=5,
                       use_groupnorm=use_groupnorm,
                       use_reduce_mean_for_pooling=use_reduce_mean_for_pooling)
    model.build((1, 3, 64, 64), device="meta").to_empty(device="cpu")
    assign_random_weights(model, 0)
    model.eval()
    with torch.no_grad():
        _, end_points = model(torch.randn(1, 3, 64, 64))
    torch.testing.assert_close(end_points["global_pool"],
                               end_points["layer_15"].mean((2, 3), keepdim=True))
    assert_variables_have_normalizer_fn(use_groupnorm)


# -- beyond research/slim's test ----------------------------------------------------------
V3_NETS = {
    "mobilenet_v3_small": mobilenet_v3.small,
    "mobilenet_v3_large": mobilenet_v3.large,
    "mobilenet_v3_small_minimalistic": mobilenet_v3.small_minimalistic,
    "mobilenet_v3_large_minimalistic": mobilenet_v3.large_minimalistic,
    "mobilenet_edgetpu": mobilenet_v3.edge_tpu,
    "mobilenet_edgetpu_075": mobilenet_v3.edge_tpu_075,
}

# TF-Slim with 1001 classes under training_scope(): (global variables,
# trainable variables, parameters, regularization losses), the last layer
# and its NCHW shape at 224x224.
V3_COUNTS = {
    "mobilenet_v3_small": ((210, 142, 2555993, 43), "layer_15", (1, 1024, 1, 1)),
    "mobilenet_v3_large": ((266, 174, 5508713, 49), "layer_19", (1, 1280, 1, 1)),
    "mobilenet_v3_small_minimalistic": ((174, 106, 2057873, 25), "layer_15", (1, 1024, 1, 1)),
    "mobilenet_v3_large_minimalistic": ((234, 142, 3949969, 33), "layer_19", (1, 1280, 1, 1)),
    "mobilenet_edgetpu": ((292, 176, 4131593, 46), "layer_24", (1, 1280, 7, 7)),
    "mobilenet_edgetpu_075": ((292, 176, 3019569, 46), "layer_24", (1, 1280, 7, 7)),
}


@pytest.mark.parametrize("name", sorted(V3_NETS))
def test_counts_match_tf_slim(name):
    fn = V3_NETS[name]
    model, logits, end_points = build(fn, mobilenet_v3.training_scope())
    (total, trainable, params, losses), last, shape = V3_COUNTS[name]
    assert len(slim.get_variables()) == len(model.variables()) == total
    assert len(slim.get_trainable_variables()) == trainable
    assert sum(v.numel() for v in model.variables()) == params
    assert len(slim.losses.get_regularization_losses()) == losses
    assert logits.shape == (1, 1001)
    assert end_points[last].shape == shape
    assert list(end_points)[-3:] == ["global_pool", "Logits", "Predictions"]
    assert fn.default_image_size == 224 and fn.__name__ == "mobilenet"


def test_squeeze_excite_and_hard_swish_blocks():
    model, _, end_points = build(mobilenet_v3.large, num_classes=10)
    shapes = dict(model.tf_shapes())
    # layer_5 (expanded_conv_3): 24 -> 72 channels, 5x5 depthwise, squeeze to
    # make_divisible(72 / 4) = 24, excite back to 72, project to 40.
    block = "MobilenetV3/expanded_conv_3/"
    assert [n[len(block):] for n in shapes if n.startswith(block)] == [
        "expand/weights", "expand/BatchNorm/gamma", "expand/BatchNorm/beta",
        "expand/BatchNorm/moving_mean", "expand/BatchNorm/moving_variance",
        "depthwise/depthwise_weights", "depthwise/BatchNorm/gamma", "depthwise/BatchNorm/beta",
        "depthwise/BatchNorm/moving_mean", "depthwise/BatchNorm/moving_variance",
        "squeeze_excite/Conv/weights", "squeeze_excite/Conv/biases",
        "squeeze_excite/Conv_1/weights", "squeeze_excite/Conv_1/biases",
        "project/weights", "project/BatchNorm/gamma", "project/BatchNorm/beta",
        "project/BatchNorm/moving_mean", "project/BatchNorm/moving_variance"]
    assert shapes[block + "depthwise/depthwise_weights"] == [5, 5, 72, 1]
    assert shapes[block + "squeeze_excite/Conv/weights"] == [1, 1, 72, 24]
    assert shapes[block + "squeeze_excite/Conv_1/weights"] == [1, 1, 24, 72]
    # The 1x1 conv after the pool has biases and no batch norm.
    assert shapes["MobilenetV3/Conv_2/weights"] == [1, 1, 960, 1280]
    assert shapes["MobilenetV3/Conv_2/biases"] == [1280]
    assert not any(n.startswith("MobilenetV3/Conv_2/BatchNorm") for n in shapes)
    assert end_points["layer_18"].shape == (1, 960, 1, 1)   # reduce_to_1x1


def test_edge_tpu_fused_blocks_have_no_depthwise():
    model, _, end_points = build(mobilenet_v3.edge_tpu, num_classes=10)
    shapes = dict(model.tf_shapes())
    # layer_3: a full 3x3 stride-2 expansion (16 -> 128), then 1x1 to 32.
    assert shapes["MobilenetEdgeTPU/expanded_conv_1/expand/weights"] == [3, 3, 16, 128]
    assert shapes["MobilenetEdgeTPU/expanded_conv_1/project/weights"] == [1, 1, 128, 32]
    assert not any("expanded_conv_1/depthwise" in n for n in shapes)
    assert end_points["layer_3"].shape == (1, 32, 56, 56)
    # layer_2 expands by 1: no expand conv at all, only the projection.
    assert "MobilenetEdgeTPU/expanded_conv/expand/weights" not in shapes
    # TF names depthwise_output only where a depthwise conv runs.
    assert "layer_3/depthwise_output" not in end_points
    assert {"layer_3/expansion_output", "layer_3/output"} <= set(end_points)
    assert "layer_11/depthwise_output" in end_points
    # layer_15 (residual=False) adds no shortcut even though shapes match.
    assert end_points["layer_15"].shape == end_points["layer_14"].shape


# (global variables, trainable variables, parameters, regularization
# losses) of variants under training_scope(), from TF-Slim as above.
OPTION_COUNTS = [
    ("large_groupnorm", mobilenet_v3.large, {"use_groupnorm": True}, (174, 174, 5484313, 49)),
    ("small_groupnorm", mobilenet_v3.small, {"use_groupnorm": True}, (142, 142, 2543881, 43)),
    ("edge_tpu_groupnorm", mobilenet_v3.edge_tpu, {"use_groupnorm": True},
     (176, 176, 4092713, 46)),
    ("large_dm050", mobilenet_v3.large, {"depth_multiplier": 0.5}, (266, 174, 1754897, 49)),
    ("large_dm050_finegrain", mobilenet_v3.large,
     {"depth_multiplier": 0.5, "finegrain_classification_mode": True}, (266, 174, 2703377, 49)),
    ("small_detection", mobilenet_v3.mobilenet, {"conv_defs": mobilenet_v3.V3_SMALL_DETECTION},
     (210, 142, 1769609, 43)),
    ("large_detection", mobilenet_v3.mobilenet, {"conv_defs": mobilenet_v3.V3_LARGE_DETECTION},
     (266, 174, 3537593, 49)),
]


@pytest.mark.parametrize("fn, kwargs, counts", [c[1:] for c in OPTION_COUNTS],
                         ids=[c[0] for c in OPTION_COUNTS])
def test_option_counts_match_tf_slim(fn, kwargs, counts):
    model, _, _ = build(fn, mobilenet_v3.training_scope(), **kwargs)
    total, trainable, params, losses = counts
    assert len(slim.get_variables()) == len(model.variables()) == total
    assert len(slim.get_trainable_variables()) == trainable
    assert sum(v.numel() for v in model.variables()) == params
    assert len(slim.losses.get_regularization_losses()) == losses


@pytest.mark.parametrize("fine", [False, True])
def test_depth_multiplier_and_finegrain_mode(fine):
    _, _, end_points = build(mobilenet_v3.large, depth_multiplier=0.5,
                             finegrain_classification_mode=fine, num_classes=10)
    assert end_points["layer_1"].shape == (1, 8, 112, 112)
    assert end_points["layer_3"].shape == (1, 16, 56, 56)
    assert end_points["layer_15"].shape == (1, 80, 7, 7)
    assert end_points["layer_17"].shape == (1, 480, 7, 7)
    # v3's finegrain mode keeps the last layer's depth for any multiplier.
    assert end_points["layer_19"].shape == (1, 1280 if fine else 640, 1, 1)


def test_edge_tpu_075_keeps_its_last_layer():
    _, _, end_points = build(mobilenet_v3.edge_tpu_075, num_classes=10)
    assert end_points["layer_1"].shape == (1, 24, 112, 112)
    assert end_points["layer_23"].shape == (1, 144, 7, 7)
    assert end_points["layer_24"].shape == (1, 1280, 7, 7)


def test_detection_tables_halve_the_last_blocks():
    for table, first, last, depths in [
            (mobilenet_v3.V3_LARGE_DETECTION, 13, 16, [80, 80, 80, 480]),
            (mobilenet_v3.V3_SMALL_DETECTION, 9, 12, [48, 48, 48, 288])]:
        assert [op.params["num_outputs"] for op in table["spec"][first:last + 1]] == depths
    assert mobilenet_v3.V3_LARGE["spec"][16].params["num_outputs"] == 960   # left alone


def test_groupnorm_groups_and_names():
    model, _, _ = build(mobilenet_v3.small, use_groupnorm=True, groups=4, num_classes=10)
    shapes = dict(model.tf_shapes())
    assert shapes["MobilenetV3/Conv/GroupNorm/gamma"] == [16]
    assert "MobilenetV3/Conv/GroupNorm/moving_mean" not in shapes
    assert not any("BatchNorm" in n for n in shapes)
    # The group count reaches the layers: 16 channels in 4 groups.
    layer = model.get_submodule("MobilenetV3.Conv.GroupNorm")
    assert layer.groups == 4


def test_bad_options():
    with pytest.raises(ValueError, match="depth_multiplier"):
        build(mobilenet_v3.small, multiplier=0.5)
    with pytest.raises(ValueError, match="multiplier is not greater than zero"):
        build(mobilenet_v3.small, depth_multiplier=0.0)
    with pytest.raises(ValueError, match="Expected rank 4 input"):
        mobilenet_v3.mobilenet(torch.zeros(3, 32, 32))


def test_hard_swish_and_gate_values():
    x = torch.linspace(-5, 5, 41)
    torch.testing.assert_close(mobilenet_v3.hard_swish(x),
                               x * torch.clamp(x + 3, 0, 6) / 6)
    torch.testing.assert_close(mobilenet_v3.hard_sigmoid(x), torch.clamp(x + 3, 0, 6) * 0.16667)


def test_squeeze_excite_gates_and_pools():
    with slim.Graph():
        x = torch.randn(2, 16, 8, 8)
        y = mobilenet_blocks.squeeze_excite(x, squeeze_factor=4, pool=4)
        names = [v.name for v in slim.get_variables()]
    assert y.shape == x.shape
    # 16 / 4 = 4 rounds up to divisible_by=8.
    assert names == ["squeeze_excite/Conv/weights", "squeeze_excite/Conv/biases",
                     "squeeze_excite/Conv_1/weights", "squeeze_excite/Conv_1/biases"]
    with slim.Graph():
        zero_gate = mobilenet_blocks.squeeze_excite(
            x, gating_fn=lambda t: torch.zeros_like(t))
    assert torch.equal(zero_gate, torch.zeros_like(x))


def test_factory_entries():
    for name, fn in V3_NETS.items():
        assert nets_factory.networks_map[name] is fn
        assert nets_factory.arg_scopes_map[name] is mobilenet_v3.training_scope
        assert preprocessing_fn_map[name].__name__.endswith("inception")
        assert nets_factory.input_channels(name) == 3
        assert nets_factory.min_image_size(name) == 1
    network_fn = nets_factory.get_network_fn("mobilenet_edgetpu_075", 10)
    network_fn.build((1, 3, 96, 96), device="meta")
    assert network_fn.default_image_size == 224
    assert all(v.name.startswith("MobilenetEdgeTPU/") for v in slim.get_variables())


def test_is_training_follows_mode():
    network_fn = nets_factory.get_network_fn("mobilenet_v3_small", 10, is_training=False)
    images = torch.randn(2, 3, 32, 32)
    network_fn.build(tuple(images.shape))
    first, _ = network_fn(images)
    again, _ = network_fn(images)
    assert torch.equal(first, again)
    network_fn.train()
    trained, _ = network_fn(images)
    assert not torch.allclose(trained, first)
