"""MobileNet v1 and v2: options, end points, names, counts, depth rounding and
train/eval behaviour.

Expected names, counts and shapes were read off research/slim's
``nets/mobilenet_v1.py`` and ``nets/mobilenet/mobilenet_v2.py`` in TensorFlow
(tf_slim 1.1, research/slim 2019). Shapes are TF's NHWC/HWIO values converted
to slimtorch's NCHW, or read through each variable's TF shape. Nets are built
on the meta device unless a test needs numbers.
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import mobilenet_blocks, mobilenet_v1, mobilenet_v2
from slimtorch.testing import assign_random_weights

V1_NETS = {
    "mobilenet_v1": mobilenet_v1.mobilenet_v1,
    "mobilenet_v1_075": mobilenet_v1.mobilenet_v1_075,
    "mobilenet_v1_050": mobilenet_v1.mobilenet_v1_050,
    "mobilenet_v1_025": mobilenet_v1.mobilenet_v1_025,
}
V2_NETS = {
    "mobilenet_v2": mobilenet_v2.mobilenet,
    "mobilenet_v2_140": mobilenet_v2.mobilenet_v2_140,
    "mobilenet_v2_035": mobilenet_v2.mobilenet_v2_035,
}


def meta(batch=1, size=224):
    return torch.empty(batch, 3, size, size, device="meta")


def build(fn, scope=None, size=224, batch=1, **kwargs):
    """Builds ``fn`` on the meta device under ``scope``; returns (model, out, end_points)."""
    with slim.arg_scope(scope if scope is not None else {}):
        model = slim.Model(fn, **kwargs).build((batch, 3, size, size), device="meta")
        out, end_points = model(meta(batch, size))
    return model, out, end_points


def tf_shapes(model):
    """{name: TF-layout shape} of a built model's variables."""
    return dict(model.tf_shapes())


def nchw(nhwc):
    n, h, w, c = nhwc
    return (n, c, h, w)


# -- MobileNet v1 -------------------------------------------------------------------------
V1_END_POINTS = ["Conv2d_0"] + [f"Conv2d_{i}_{kind}" for i in range(1, 14)
                                for kind in ("depthwise", "pointwise")]

# TF-Slim with 1001 classes under mobilenet_v1_arg_scope: (global variables,
# trainable variables, parameters, regularization losses).
V1_COUNTS = {
    "mobilenet_v1": (137, 83, 4254889, 15),
    "mobilenet_v1_075": (137, 83, 2602745, 15),
    "mobilenet_v1_050": (137, 83, 1343049, 15),
    "mobilenet_v1_025": (137, 83, 475801, 15),
}


@pytest.mark.parametrize("name", sorted(V1_NETS))
def test_v1_counts_match_tf_slim(name):
    fn = V1_NETS[name]
    model, logits, end_points = build(fn, mobilenet_v1.mobilenet_v1_arg_scope(), num_classes=1001)
    total, trainable, params, losses = V1_COUNTS[name]
    assert len(slim.get_variables()) == len(model.variables()) == total
    assert len(slim.get_trainable_variables()) == trainable
    assert sum(v.numel() for v in model.variables()) == params
    assert len(slim.losses.get_regularization_losses()) == losses
    assert logits.shape == (1, 1001)
    assert list(end_points) == V1_END_POINTS + ["AvgPool_1a", "Logits", "Predictions"]
    assert fn.default_image_size == 224 and fn.__name__ == "mobilenet_v1"


def test_v1_names_and_shapes():
    model, _, _ = build(mobilenet_v1.mobilenet_v1, mobilenet_v1.mobilenet_v1_arg_scope(),
                        num_classes=10)
    shapes = tf_shapes(model)
    assert list(shapes)[:5] == [
        "MobilenetV1/Conv2d_0/weights", "MobilenetV1/Conv2d_0/BatchNorm/gamma",
        "MobilenetV1/Conv2d_0/BatchNorm/beta", "MobilenetV1/Conv2d_0/BatchNorm/moving_mean",
        "MobilenetV1/Conv2d_0/BatchNorm/moving_variance"]
    assert shapes["MobilenetV1/Conv2d_0/weights"] == [3, 3, 3, 32]
    assert shapes["MobilenetV1/Conv2d_1_depthwise/depthwise_weights"] == [3, 3, 32, 1]
    assert shapes["MobilenetV1/Conv2d_1_pointwise/weights"] == [1, 1, 32, 64]
    assert shapes["MobilenetV1/Conv2d_13_depthwise/depthwise_weights"] == [3, 3, 1024, 1]
    assert shapes["MobilenetV1/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 1024, 10]
    assert list(shapes)[-2:] == ["MobilenetV1/Logits/Conv2d_1c_1x1/weights",
                                 "MobilenetV1/Logits/Conv2d_1c_1x1/biases"]
    # Without the arg_scope: no batch norm, biases instead (TF: 56 variables).
    slim.reset_default_graph()
    build(mobilenet_v1.mobilenet_v1, num_classes=10)
    assert len(slim.get_variables()) == 56


def test_v1_regularization_options():
    build(mobilenet_v1.mobilenet_v1,
          mobilenet_v1.mobilenet_v1_arg_scope(regularize_depthwise=True), num_classes=10)
    assert len(slim.losses.get_regularization_losses()) == 28
    slim.reset_default_graph()
    build(mobilenet_v1.mobilenet_v1, mobilenet_v1.mobilenet_v1_arg_scope(), num_classes=0)
    assert len(slim.get_variables()) == 135
    assert len(slim.losses.get_regularization_losses()) == 14


@pytest.mark.parametrize("multiplier, first, last", [
    (0.25, 8, 256), (0.5, 16, 512), (0.75, 24, 768), (1.0, 32, 1024)])
def test_v1_depth_multiplier(multiplier, first, last):
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        net, end_points = mobilenet_v1.mobilenet_v1_base(meta(), depth_multiplier=multiplier)
    assert end_points["Conv2d_0"].shape == (1, first, 112, 112)
    assert net.shape == (1, last, 7, 7)
    weights = slim.get_unique_variable("MobilenetV1/Conv2d_13_depthwise/depthwise_weights")
    assert weights.shape == (last, 1, 3, 3)  # TF [3, 3, last, 1]


def test_v1_min_depth():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        _, end_points = mobilenet_v1.mobilenet_v1_base(meta(), depth_multiplier=0.25,
                                                       min_depth=16)
    assert end_points["Conv2d_0"].shape[1] == 16
    assert end_points["Conv2d_1_pointwise"].shape[1] == 16
    assert end_points["Conv2d_13_pointwise"].shape[1] == 256


@pytest.mark.parametrize("output_stride, size", [(8, 28), (16, 14), (32, 7), (None, 7)])
def test_v1_output_stride(output_stride, size):
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        net, end_points = mobilenet_v1.mobilenet_v1_base(meta(), output_stride=output_stride,
                                                         depth_multiplier=0.25)
    assert net.shape == (1, 256, size, size)
    assert end_points["Conv2d_0"].shape[2:] == (112, 112)  # the full conv keeps stride 2
    assert len(slim.get_variables()) == 135


def test_v1_explicit_padding_keeps_shapes_and_names():
    shapes = []
    for explicit in (False, True):
        with slim.Graph(), slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
            net, end_points = mobilenet_v1.mobilenet_v1_base(
                meta(size=97), depth_multiplier=0.25, use_explicit_padding=explicit)
            shapes.append(([v.name for v in slim.get_variables()],
                           {k: v.shape for k, v in end_points.items()}))
    assert shapes[0] == shapes[1]
    assert shapes[1][1]["Conv2d_0"] == (1, 8, 49, 49)
    assert shapes[1][1]["Conv2d_13_pointwise"] == (1, 256, 4, 4)


def test_v1_explicit_padding_pads_symmetrically():
    # 'SAME' with stride 2 on an even size pads only bottom/right; explicit
    # padding pads 1 on every side, so the numbers differ.
    images = torch.randn(2, 3, 16, 16)
    outs = []
    for explicit in (False, True):
        with slim.Graph():
            model = slim.Model(mobilenet_v1.mobilenet_v1_base, final_endpoint="Conv2d_0",
                               use_explicit_padding=explicit, depth_multiplier=0.25)
            assign_random_weights(model.build((2, 3, 16, 16)))
            outs.append(model(images)[0])
    assert outs[0].shape == outs[1].shape == (2, 8, 8, 8)
    assert not torch.allclose(outs[0], outs[1])


def test_v1_final_endpoint_and_conv_defs():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        net, end_points = mobilenet_v1.mobilenet_v1_base(meta(),
                                                         final_endpoint="Conv2d_5_depthwise")
    assert list(end_points) == V1_END_POINTS[:10]
    assert net.shape == (1, 256, 28, 28)
    assert len(slim.get_variables()) == 50

    slim.reset_default_graph()
    conv_defs = [mobilenet_v1.Conv(kernel=[3, 3], stride=2, depth=16),
                 mobilenet_v1.DepthSepConv(kernel=[3, 3], stride=2, depth=32),
                 mobilenet_v1.DepthSepConv(kernel=[5, 5], stride=1, depth=48)]
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):
        net, end_points = mobilenet_v1.mobilenet_v1_base(meta(), conv_defs=conv_defs,
                                                         final_endpoint="Conv2d_2_pointwise")
    assert net.shape == (1, 48, 56, 56)
    assert slim.get_unique_variable("MobilenetV1/Conv2d_2_depthwise/depthwise_weights").shape \
        == (32, 1, 5, 5)
    assert len(slim.get_variables()) == 25


@pytest.mark.parametrize("kwargs, message", [
    (dict(final_endpoint="Conv2d_14_pointwise"), "Unknown final endpoint Conv2d_14_pointwise"),
    (dict(output_stride=4), "Only allowed output_stride values are 8, 16, 32."),
    (dict(depth_multiplier=0.0), "depth_multiplier is not greater than zero."),
    (dict(conv_defs=[(3, 1, 8)]), "Unknown convolution type tuple for layer 0"),
])
def test_v1_bad_options_raise_before_building(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mobilenet_v1.mobilenet_v1_base(meta(), **kwargs)
    assert slim.get_variables() == []


def test_v1_head_options():
    scope = mobilenet_v1.mobilenet_v1_arg_scope()
    _, features, end_points = build(mobilenet_v1.mobilenet_v1_025, scope, num_classes=None)
    assert features.shape == (1, 256, 1, 1)
    assert list(end_points)[-1] == "AvgPool_1a"
    assert not slim.get_variables("MobilenetV1/Logits")

    slim.reset_default_graph()
    _, logits, end_points = build(mobilenet_v1.mobilenet_v1_025, scope, size=300,
                                  num_classes=10, spatial_squeeze=False)
    assert logits.shape == (1, 10, 2, 2)  # a 7x7 window on a 10x10 map
    assert end_points["Predictions"].shape == (1, 10, 2, 2)

    slim.reset_default_graph()
    _, logits, end_points = build(mobilenet_v1.mobilenet_v1_025, scope, size=300,
                                  num_classes=10, global_pool=True)
    assert logits.shape == (1, 10)
    assert list(end_points)[-3:] == ["global_pool", "Logits", "Predictions"]
    assert end_points["global_pool"].shape == (1, 256, 1, 1)

    slim.reset_default_graph()
    _, logits, _ = build(mobilenet_v1.mobilenet_v1_025, scope, size=160, num_classes=10)
    assert logits.shape == (1, 10)  # the window shrinks to the 5x5 map


def test_v1_spatial_squeeze_needs_a_1x1_map():
    with pytest.raises(ValueError, match="Logits/SpatialSqueeze: cannot squeeze"):
        mobilenet_v1.mobilenet_v1_025(meta(size=300), num_classes=10)


def test_v1_input_rank_error():
    with pytest.raises(ValueError, match="Invalid input tensor rank, expected 4, was: 3"):
        mobilenet_v1.mobilenet_v1(torch.zeros(3, 32, 32))


def test_v1_arg_scope_defaults():
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope(is_training=None)):
        scope = slim.current_arg_scope()
    bn = scope[slim.arg_scope_func_key(slim.batch_norm)]
    assert bn == {"center": True, "scale": True, "decay": 0.9997, "epsilon": 0.001,
                  "updates_collections": slim.GraphKeys.UPDATE_OPS}
    conv = scope[slim.arg_scope_func_key(slim.conv2d)]
    assert conv["activation_fn"] is torch.nn.functional.relu6
    assert conv["normalizer_fn"] is slim.batch_norm
    assert conv["weights_initializer"].stddev == 0.09
    assert scope[slim.arg_scope_func_key(slim.separable_conv2d)]["weights_regularizer"] is None


def test_v1_is_training_follows_mode_unless_given():
    images = torch.randn(4, 3, 32, 32)
    with slim.arg_scope(mobilenet_v1.mobilenet_v1_arg_scope()):  # pins True, like TF
        model = slim.Model(mobilenet_v1.mobilenet_v1_025, num_classes=3,
                           dropout_keep_prob=1.0).build((4, 3, 32, 32))
        moving_mean = slim.get_unique_variable("MobilenetV1/Conv2d_0/BatchNorm/moving_mean")
        assert model.MobilenetV1.Conv2d_0.BatchNorm.decay == 0.9997
        model.eval()
        eval_out = model(images)[0]
        assert torch.equal(moving_mean, torch.zeros(8))  # no update in eval mode
        model.train()
        train_out = model(images)[0]
        assert moving_mean.abs().sum() > 0  # batch statistics, moving averages updated
        assert not torch.allclose(eval_out, train_out)

        slim.reset_default_graph()
        fixed = slim.Model(mobilenet_v1.mobilenet_v1_025, num_classes=3, is_training=False)
        fixed.build((4, 3, 32, 32)).train()
        assert torch.equal(fixed(images)[0], fixed.eval()(images)[0])


# -- MobileNet v2 -------------------------------------------------------------------------
def v2_end_points(last_layer=19):
    keys = [f"layer_{i}" for i in range(1, last_layer + 1)]
    keys += ["layer_2/depthwise_output", "layer_2/output"]
    for i in range(3, min(last_layer, 18) + 1):
        keys += [f"layer_{i}/expansion_output", f"layer_{i}/depthwise_output", f"layer_{i}/output"]
    return keys


# TF-Slim with 1001 classes under training_scope(): (global variables,
# trainable variables, parameters, regularization losses).
V2_COUNTS = {
    "mobilenet_v2": (262, 158, 3540265, 36),
    "mobilenet_v2_140": (262, 158, 6158505, 36),
    "mobilenet_v2_035": (262, 158, 1692489, 36),
}


@pytest.mark.parametrize("name", sorted(V2_NETS))
def test_v2_counts_match_tf_slim(name):
    fn = V2_NETS[name]
    model, logits, end_points = build(fn, mobilenet_v2.training_scope())
    total, trainable, params, losses = V2_COUNTS[name]
    assert len(slim.get_variables()) == len(model.variables()) == total
    assert len(slim.get_trainable_variables()) == trainable
    assert sum(v.numel() for v in model.variables()) == params
    assert len(slim.losses.get_regularization_losses()) == losses
    assert logits.shape == (1, 1001)  # research/slim's default num_classes
    assert list(end_points) == v2_end_points() + ["global_pool", "Logits", "Predictions"]
    assert fn.default_image_size == 224 and fn.__name__ == "mobilenet"


def test_v2_names_and_shapes():
    model, _, end_points = build(mobilenet_v2.mobilenet, num_classes=10)
    shapes = tf_shapes(model)
    assert len(shapes) == 262
    assert len(slim.losses.get_regularization_losses()) == 0  # no decay without training_scope
    assert list(shapes)[:6] == [
        "MobilenetV2/Conv/weights", "MobilenetV2/Conv/BatchNorm/gamma",
        "MobilenetV2/Conv/BatchNorm/beta", "MobilenetV2/Conv/BatchNorm/moving_mean",
        "MobilenetV2/Conv/BatchNorm/moving_variance",
        "MobilenetV2/expanded_conv/depthwise/depthwise_weights"]
    assert shapes["MobilenetV2/Conv/weights"] == [3, 3, 3, 32]
    assert shapes["MobilenetV2/expanded_conv/depthwise/depthwise_weights"] == [3, 3, 32, 1]
    assert shapes["MobilenetV2/expanded_conv/project/weights"] == [1, 1, 32, 16]
    assert "MobilenetV2/expanded_conv/expand/weights" not in shapes  # expansion factor 1
    assert shapes["MobilenetV2/expanded_conv_1/expand/weights"] == [1, 1, 16, 96]
    assert shapes["MobilenetV2/expanded_conv_16/project/weights"] == [1, 1, 960, 320]
    assert shapes["MobilenetV2/Conv_1/weights"] == [1, 1, 320, 1280]
    assert shapes["MobilenetV2/Conv_1/BatchNorm/gamma"] == [1280]
    assert list(shapes)[-2:] == ["MobilenetV2/Logits/Conv2d_1c_1x1/weights",
                                 "MobilenetV2/Logits/Conv2d_1c_1x1/biases"]
    assert shapes["MobilenetV2/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 1280, 10]
    # NHWC shapes from TF, in NCHW.
    assert end_points["layer_3/expansion_output"].shape == nchw((1, 112, 112, 96))
    assert end_points["layer_3/depthwise_output"].shape == nchw((1, 56, 56, 96))
    assert end_points["layer_18/output"].shape == nchw((1, 7, 7, 320))
    assert end_points["layer_19"].shape == nchw((1, 7, 7, 1280))
    assert end_points["global_pool"].shape == (1, 1280, 1, 1)


# TF shapes of (Conv, expanded_conv/project, expanded_conv_1/expand,
# expanded_conv_16/project, Conv_1) weights.
V2_DEPTHS = {
    "140": ([3, 3, 3, 48], [1, 1, 48, 24], [1, 1, 24, 144], [1, 1, 1344, 448], [1, 1, 448, 1792]),
    "035": ([3, 3, 3, 16], [1, 1, 16, 8], [1, 1, 8, 48], [1, 1, 336, 112], [1, 1, 112, 1280]),
    "035_no_finegrain": ([3, 3, 3, 16], [1, 1, 16, 8], [1, 1, 8, 48], [1, 1, 336, 112],
                         [1, 1, 112, 448]),
    "050_finegrain": ([3, 3, 3, 16], [1, 1, 16, 8], [1, 1, 8, 48], [1, 1, 480, 160],
                      [1, 1, 160, 1280]),
    "140_finegrain": ([3, 3, 3, 48], [1, 1, 48, 24], [1, 1, 24, 144], [1, 1, 1344, 448],
                      [1, 1, 448, 1792]),  # finegrain only affects multipliers < 1
}


@pytest.mark.parametrize("label, fn, kwargs", [
    ("140", mobilenet_v2.mobilenet_v2_140, {}),
    ("035", mobilenet_v2.mobilenet_v2_035, {}),
    ("035_no_finegrain", mobilenet_v2.mobilenet, dict(depth_multiplier=0.35)),
    ("050_finegrain", mobilenet_v2.mobilenet,
     dict(depth_multiplier=0.5, finegrain_classification_mode=True)),
    ("140_finegrain", mobilenet_v2.mobilenet,
     dict(depth_multiplier=1.4, finegrain_classification_mode=True)),
])
def test_v2_depth_multiplier_rounding(label, fn, kwargs):
    model, _, end_points = build(fn, num_classes=10, **kwargs)
    shapes = tf_shapes(model)
    names = ["Conv/weights", "expanded_conv/project/weights", "expanded_conv_1/expand/weights",
             "expanded_conv_16/project/weights", "Conv_1/weights"]
    assert [shapes[f"MobilenetV2/{n}"] for n in names] == list(V2_DEPTHS[label])
    assert end_points["global_pool"].shape[1] == V2_DEPTHS[label][-1][-1]
    # The table is not changed by finegrain mode (it works on a copy).
    assert mobilenet_v2.V2_DEF["spec"][-1].params["num_outputs"] == 1280


def test_v2_min_depth_and_divisible_by():
    model, _, _ = build(mobilenet_v2.mobilenet, num_classes=10, depth_multiplier=0.35,
                        min_depth=16, divisible_by=16)
    shapes = tf_shapes(model)
    assert shapes["MobilenetV2/expanded_conv/project/weights"] == [1, 1, 16, 16]
    assert shapes["MobilenetV2/Conv_1/weights"] == [1, 1, 112, 448]


@pytest.mark.parametrize("kwargs, size", [
    (dict(output_stride=16), 7), (dict(output_stride=8), 13), (dict(use_explicit_padding=True), 4),
    (dict(output_stride=8, use_explicit_padding=True), 13), ({}, 4)])
def test_v2_output_stride_and_explicit_padding(kwargs, size):
    net, end_points = mobilenet_v2.mobilenet_base(meta(size=97), depth_multiplier=0.35, **kwargs)
    assert net.shape == (1, 448, size, size)
    assert len(slim.get_variables()) == 260
    assert list(end_points) == v2_end_points()


def test_v2_final_endpoint_and_features():
    model, logits, end_points = build(mobilenet_v2.mobilenet, num_classes=10,
                                      final_endpoint="layer_5")
    assert len(model.variables()) == 62
    assert list(end_points) == v2_end_points(5) + ["global_pool", "Logits", "Predictions"]
    assert end_points["global_pool"].shape == (1, 32, 1, 1)
    assert logits.shape == (1, 10)

    slim.reset_default_graph()
    model, features, end_points = build(mobilenet_v2.mobilenet, num_classes=0)
    assert features.shape == (1, 1280, 1, 1)
    assert list(end_points)[-1] == "global_pool"
    assert len(model.variables()) == 260
    assert not slim.get_variables("MobilenetV2/Logits")

    slim.reset_default_graph()
    model, net, end_points = build(mobilenet_v2.mobilenet_base, size=97)
    assert net.shape == (1, 1280, 4, 4)
    assert list(end_points) == v2_end_points()


def test_v2_any_input_size_pools_to_1x1():
    _, logits, end_points = build(mobilenet_v2.mobilenet_v2_035, size=97, num_classes=10)
    assert logits.shape == (1, 10)
    assert end_points["global_pool"].shape == (1, 1280, 1, 1)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(multiplier=0.5), ValueError, "doesn't support generic multiplier"),
    (dict(output_stride=3), ValueError, "Output stride must be None, 1 or a multiple of 2."),
    (dict(depth_multiplier=0.0), ValueError, "multiplier is not greater than zero."),
])
def test_v2_bad_options(kwargs, error, message):
    with pytest.raises(error, match=message):
        mobilenet_v2.mobilenet(meta(), **kwargs)


def test_v2_input_rank_error():
    with pytest.raises(ValueError, match="Expected rank 4 input, was: 2"):
        mobilenet_v2.mobilenet(torch.zeros(3, 32))


def test_v2_activation_fn_and_custom_table():
    conv_defs = {
        "defaults": mobilenet_v2.V2_DEF["defaults"],
        "spec": [
            mobilenet_blocks.op(slim.conv2d, stride=2, num_outputs=32, kernel_size=[3, 3]),
            mobilenet_blocks.op(mobilenet_blocks.expanded_conv, num_outputs=32,
                                split_expansion=2, split_projection=2),
            mobilenet_blocks.op(mobilenet_blocks.expanded_conv, stride=2, num_outputs=48,
                                depthwise_location="input", kernel_size=[5, 5]),
        ],
    }
    model, _, end_points = build(mobilenet_v2.mobilenet, size=64, num_classes=3,
                                 conv_defs=conv_defs, activation_fn=torch.relu)
    shapes = tf_shapes(model)
    # (names, shapes and end points as TF builds them)
    assert shapes["MobilenetV2/expanded_conv/expand_part_0/weights"] == [1, 1, 16, 96]
    assert shapes["MobilenetV2/expanded_conv/project_part_1/weights"] == [1, 1, 96, 16]
    assert shapes["MobilenetV2/expanded_conv_1/depthwise/depthwise_weights"] == [5, 5, 32, 1]
    assert list(end_points)[3:12] == [
        "layer_2/expand_part_0_output", "layer_2/expand_part_1_output",
        "layer_2/expansion_output", "layer_2/depthwise_output", "layer_2/project_part_0_output",
        "layer_2/project_part_1_output", "layer_2/output", "layer_3/depthwise_output",
        "layer_3/expansion_output"]   # a depthwise at the input is named where it runs
    assert end_points["layer_3"].shape == (1, 48, 16, 16)
    assert mobilenet_v2.V2_DEF["defaults"][(slim.conv2d, slim.fully_connected,
                                           slim.separable_conv2d)]["activation_fn"] \
        is torch.nn.functional.relu6


def test_v2_training_scope():
    with slim.arg_scope(mobilenet_v2.training_scope()):
        scope = slim.current_arg_scope()
    assert scope[slim.arg_scope_func_key(slim.batch_norm)] == {"decay": 0.997, "is_training": True}
    assert scope[slim.arg_scope_func_key(slim.dropout)] == {"is_training": True, "keep_prob": 0.8}
    assert scope[slim.arg_scope_func_key(slim.conv2d)]["weights_initializer"].stddev == 0.09
    assert scope[slim.arg_scope_func_key(slim.separable_conv2d)]["weights_regularizer"] is None
    assert scope[slim.arg_scope_func_key(mobilenet_blocks.mobilenet)] == {"is_training": True}
    with slim.arg_scope(mobilenet_v2.training_scope(is_training=None, stddev=-1,
                                                    dropout_keep_prob=None, bn_decay=None)):
        scope = slim.current_arg_scope()
    assert slim.arg_scope_func_key(slim.batch_norm) not in scope
    assert slim.arg_scope_func_key(slim.dropout) not in scope
    assert type(scope[slim.arg_scope_func_key(slim.conv2d)]["weights_initializer"]).__name__ \
        == "VarianceScaling"  # Xavier


def test_v2_is_training_follows_mode_unless_pinned():
    images = torch.randn(4, 3, 32, 32)
    # final_endpoint keeps it small; the head (dropout, logits) is still built.
    model = slim.Model(mobilenet_v2.mobilenet_v2_035, num_classes=3,
                       final_endpoint="layer_4").build((4, 3, 32, 32))
    moving_mean = slim.get_unique_variable("MobilenetV2/Conv/BatchNorm/moving_mean")
    model.eval()
    eval_out = model(images)[0]
    assert torch.equal(eval_out, model(images)[0])  # no dropout, moving statistics
    assert torch.equal(moving_mean, torch.zeros(16))
    model.train()
    model(images)
    assert moving_mean.abs().sum() > 0

    # training_scope(is_training=False) pins inference, whatever the mode.
    slim.reset_default_graph()
    with slim.arg_scope(mobilenet_v2.training_scope(is_training=False)):
        pinned = slim.Model(mobilenet_v2.mobilenet_v2_035, num_classes=3,
                            final_endpoint="layer_4").build((4, 3, 32, 32))
        pinned.train()
        assert torch.equal(pinned(images)[0], pinned(images)[0])
        assert pinned.MobilenetV2.Conv.BatchNorm.decay == 0.997
        assert model.MobilenetV2.Conv.BatchNorm.decay == 0.999  # batch_norm's default

        # ... unless the net is given is_training itself (None: follow the mode).
        slim.reset_default_graph()
        free = slim.Model(mobilenet_v2.mobilenet_v2_035, num_classes=3, final_endpoint="layer_4",
                          is_training=None)
        free.build((4, 3, 32, 32)).train()
        free(images)
        assert slim.get_unique_variable("MobilenetV2/Conv/BatchNorm/moving_mean").abs().sum() > 0


def test_make_divisible():
    assert [mobilenet_blocks.make_divisible(v, 8) for v in (3, 11.2, 44.8, 1280 / 0.35 * 0.35)] \
        == [8, 16, 48, 1280]
    assert mobilenet_blocks.make_divisible(20, 16) == 32  # rounding down 20 to 16 loses > 10%
