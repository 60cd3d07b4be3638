"""Inception v1/v2/v3: options, end points, variables and modes.

Expected names, shapes and counts were printed from research/slim's nets
(TF 2.21 + tf_slim) under ``inception_arg_scope()``; shapes are TF's (NHWC
activations, ``[kh, kw, in, out]`` kernels). Most checks build on the meta
device; the few forward passes use small inputs or depth multipliers.
"""

import functools

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import inception_utils, inception_v1, inception_v2, inception_v3

NETS = {
    "v1": inception_v1.inception_v1,
    "v2": inception_v2.inception_v2,
    "v3": inception_v3.inception_v3,
}
BASES = {
    "v1": inception_v1.inception_v1_base,
    "v2": inception_v2.inception_v2_base,
    "v3": inception_v3.inception_v3_base,
}


def _nhwc(shape):
    shape = list(shape)
    return [shape[0], *shape[2:], shape[1]] if len(shape) == 4 else shape


@functools.lru_cache(maxsize=None)
def _build(fn, size, **kwargs):
    """Builds ``fn`` on meta under inception_arg_scope and describes it (TF layouts)."""
    with slim.Graph():
        with slim.arg_scope(inception_utils.inception_arg_scope()):
            model = slim.Model(fn, **kwargs).build((2, 3, size, size), device="meta")
            net, end_points = model.eval()(torch.zeros(2, 3, size, size, device="meta"))
        return {
            "out": _nhwc(net.shape),
            "end_points": [(k, _nhwc(v.shape)) for k, v in end_points.items()],
            "variables": dict(model.tf_shapes()),
            "model": len(slim.get_model_variables()),
            "trainable": len(slim.get_trainable_variables()),
            "regularization": len(slim.losses.get_regularization_losses()),
        }


def build(name, size, **kwargs):
    fn = NETS[name] if not kwargs.pop("base", False) else BASES[name]
    return _build(fn, size, **kwargs)


V1_POINTS = ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3",
             "MaxPool_3a_3x3", "Mixed_3b", "Mixed_3c", "MaxPool_4a_3x3", "Mixed_4b", "Mixed_4c",
             "Mixed_4d", "Mixed_4e", "Mixed_4f", "MaxPool_5a_2x2", "Mixed_5b", "Mixed_5c",
             "AvgPool_0a_7x7", "Logits", "Predictions"]
V2_POINTS = ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3",
             "MaxPool_3a_3x3", "Mixed_3b", "Mixed_3c", "Mixed_4a", "Mixed_4b", "Mixed_4c",
             "Mixed_4d", "Mixed_4e", "Mixed_5a", "Mixed_5b", "Mixed_5c", "AvgPool_1a", "Logits",
             "Predictions"]
V3_POINTS = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_3a_3x3",
             "Conv2d_3b_1x1", "Conv2d_4a_3x3", "MaxPool_5a_3x3", "Mixed_5b", "Mixed_5c",
             "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a",
             "Mixed_7b", "Mixed_7c", "AuxLogits", "AvgPool_1a", "PreLogits", "Logits",
             "Predictions"]


# name, size, end points, (model, trainable, regularized) variables from TF-Slim
@pytest.mark.parametrize("name, size, points, counts", [
    ("v1", 224, V1_POINTS, (230, 116, 58)),
    ("v2", 224, V2_POINTS, (277, 141, 69)),
    ("v3", 299, V3_POINTS, (388, 196, 98)),
])
def test_default_net_matches_tf_slim(name, size, points, counts):
    built = build(name, size)
    assert [k for k, _ in built["end_points"]] == points
    assert (built["model"], built["trainable"], built["regularization"]) == counts
    assert built["out"] == [2, 1000]


@pytest.mark.parametrize("name, size, point_shapes", [
    ("v1", 224, {"Conv2d_1a_7x7": [2, 112, 112, 64], "Mixed_3c": [2, 28, 28, 480],
                 "MaxPool_5a_2x2": [2, 7, 7, 832], "AvgPool_0a_7x7": [2, 1, 1, 1024]}),
    ("v2", 224, {"Conv2d_1a_7x7": [2, 112, 112, 64], "Mixed_3c": [2, 28, 28, 320],
                 "Mixed_4a": [2, 14, 14, 576], "Mixed_5a": [2, 7, 7, 1024]}),
    ("v3", 299, {"Conv2d_4a_3x3": [2, 71, 71, 192], "Mixed_5b": [2, 35, 35, 256],
                 "Mixed_6a": [2, 17, 17, 768], "Mixed_7a": [2, 8, 8, 1280],
                 "Mixed_7c": [2, 8, 8, 2048], "AuxLogits": [2, 1000],
                 "PreLogits": [2, 1, 1, 2048]}),
])
def test_end_point_shapes(name, size, point_shapes):
    shapes = dict(build(name, size)["end_points"])
    for key, shape in point_shapes.items():
        assert shapes[key] == shape, key


@pytest.mark.parametrize("name, size, expected", [
    ("v1", 224, {
        "InceptionV1/Conv2d_1a_7x7/weights": [7, 7, 3, 64],
        "InceptionV1/Conv2d_1a_7x7/BatchNorm/moving_variance": [64],
        # research/slim's irregular name in Mixed_5b
        "InceptionV1/Mixed_5b/Branch_2/Conv2d_0a_3x3/weights": [3, 3, 32, 128],
        "InceptionV1/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights": [1, 1, 832, 128],
        "InceptionV1/Logits/Conv2d_0c_1x1/weights": [1, 1, 1024, 1000],
    }),
    ("v2", 224, {
        "InceptionV2/Conv2d_1a_7x7/depthwise_weights": [7, 7, 3, 8],
        "InceptionV2/Conv2d_1a_7x7/pointwise_weights": [1, 1, 24, 64],
        "InceptionV2/Conv2d_1a_7x7/biases": [64],
        "InceptionV2/Mixed_4a/Branch_1/Conv2d_1a_3x3/weights": [3, 3, 96, 96],
        "InceptionV2/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights": [1, 1, 1024, 128],
        "InceptionV2/Logits/Conv2d_1c_1x1/biases": [1000],
    }),
    ("v3", 299, {
        "InceptionV3/Mixed_5c/Branch_1/Conv2d_0b_1x1/weights": [1, 1, 256, 48],
        "InceptionV3/Mixed_5c/Branch_1/Conv_1_0c_5x5/weights": [5, 5, 48, 64],
        "InceptionV3/Mixed_6a/Branch_0/Conv2d_1a_1x1/weights": [3, 3, 288, 384],
        "InceptionV3/Mixed_7b/Branch_1/Conv2d_0b_3x1/weights": [3, 1, 384, 384],
        "InceptionV3/Mixed_7c/Branch_1/Conv2d_0c_3x1/weights": [3, 1, 384, 384],
        "InceptionV3/Mixed_7c/Branch_2/Conv2d_0d_3x1/BatchNorm/beta": [384],
        "InceptionV3/AuxLogits/Conv2d_2a_5x5/weights": [5, 5, 128, 768],
        "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights": [1, 1, 768, 1000],
    }),
])
def test_variable_names_and_shapes(name, size, expected):
    variables = build(name, size)["variables"]
    for key, shape in expected.items():
        assert variables.get(key) == shape, key


def test_v2_separable_first_layer_has_no_batch_norm_or_weight_decay():
    # research/slim's inception_arg_scope covers conv2d only.
    variables = build("v2", 224)["variables"]
    first = [k for k in variables if k.startswith("InceptionV2/Conv2d_1a_7x7/")]
    assert first == ["InceptionV2/Conv2d_1a_7x7/depthwise_weights",
                     "InceptionV2/Conv2d_1a_7x7/pointwise_weights",
                     "InceptionV2/Conv2d_1a_7x7/biases"]
    plain = build("v2", 224, base=True, use_separable_conv=False, final_endpoint="Conv2d_2c_3x3")
    assert plain["variables"]["InceptionV2/Conv2d_1a_7x7/weights"] == [7, 7, 3, 64]
    assert (plain["model"], plain["regularization"]) == (12, 3)


@pytest.mark.parametrize("name, size, final, count, last_shape", [
    ("v1", 224, "Mixed_4c", 108, [2, 14, 14, 512]),
    ("v2", 224, "Mixed_4a", 87, [2, 14, 14, 576]),
    ("v3", 299, "Mixed_6a", 120, [2, 17, 17, 768]),
])
def test_final_endpoint_stops_early(name, size, final, count, last_shape):
    built = build(name, size, base=True, final_endpoint=final)
    keys = [k for k, _ in built["end_points"]]
    assert keys[-1] == final and built["out"] == last_shape
    full = [k for k, _ in build(name, size, base=True)["end_points"]]
    assert keys == full[:len(keys)]
    assert built["model"] == count


@pytest.mark.parametrize("name", ["v1", "v2", "v3"])
def test_unknown_final_endpoint_raises_before_building(name):
    with slim.Graph():
        with pytest.raises(ValueError, match="Unknown final endpoint Logits"):
            BASES[name](torch.zeros(1, 3, 224, 224), final_endpoint="Logits")
        assert slim.get_model_variables() == []


@pytest.mark.parametrize("name", ["v1", "v2"])
def test_include_root_block_false_starts_at_mixed_3b(name):
    built = build(name, 28, base=True, include_root_block=False, final_endpoint="Mixed_3b")
    assert [k for k, _ in built["end_points"]] == ["Mixed_3b"]
    scope = "InceptionV1" if name == "v1" else "InceptionV2"
    assert built["variables"][f"{scope}/Mixed_3b/Branch_0/Conv2d_0a_1x1/weights"] == [1, 1, 3, 64]
    with pytest.raises(ValueError, match="Unknown final endpoint Conv2d_1a_7x7"):
        BASES[name](torch.zeros(1, 3, 28, 28), include_root_block=False,
                    final_endpoint="Conv2d_1a_7x7")


def test_v2_depth_multiplier_and_min_depth():
    built = build("v2", 224, num_classes=10, depth_multiplier=0.25)
    variables, shapes = built["variables"], dict(built["end_points"])
    # depthwise multiplier min(int(depth(64) / 3), 8) = int(16 / 3) = 5
    assert variables["InceptionV2/Conv2d_1a_7x7/depthwise_weights"] == [7, 7, 3, 5]
    assert variables["InceptionV2/Conv2d_1a_7x7/pointwise_weights"] == [1, 1, 15, 16]
    assert shapes["Mixed_3b"] == [2, 28, 28, 72] and shapes["Mixed_5c"] == [2, 7, 7, 256]
    assert built["model"] == 277
    lower = dict(build("v2", 224, num_classes=10, depth_multiplier=0.25, min_depth=8)["end_points"])
    assert lower["Mixed_3b"] == [2, 28, 28, 64]  # Branch_3's 32 * 0.25 = 8 channels, not 16
    wider = build("v2", 224, depth_multiplier=2.0, base=True, final_endpoint="Conv2d_1a_7x7")
    assert wider["variables"]["InceptionV2/Conv2d_1a_7x7/depthwise_weights"] == [7, 7, 3, 8]


def test_v3_depth_multiplier():
    built = build("v3", 299, num_classes=10, depth_multiplier=0.25)
    variables, shapes = built["variables"], dict(built["end_points"])
    assert shapes["Conv2d_1a_3x3"] == [2, 149, 149, 16]  # min_depth
    assert shapes["Mixed_6e"] == [2, 17, 17, 192] and shapes["Mixed_7c"] == [2, 8, 8, 512]
    assert variables["InceptionV3/AuxLogits/Conv2d_2a_5x5/weights"] == [5, 5, 32, 192]
    assert variables["InceptionV3/Logits/Conv2d_1c_1x1/weights"] == [1, 1, 512, 10]


@pytest.mark.parametrize("fn", [inception_v2.inception_v2, inception_v2.inception_v2_base,
                                inception_v3.inception_v3, inception_v3.inception_v3_base])
def test_non_positive_depth_multiplier_raises(fn):
    with slim.Graph(), pytest.raises(ValueError, match="depth_multiplier is not greater than zero"):
        fn(torch.zeros(1, 3, 224, 224), depth_multiplier=0)


def test_v3_without_aux_logits():
    built = build("v3", 299, create_aux_logits=False)
    assert "AuxLogits" not in dict(built["end_points"])
    assert not any("/AuxLogits/" in k for k in built["variables"])
    assert (built["model"], built["regularization"]) == (378, 95)


@pytest.mark.parametrize("name, size, classes, count, features", [
    ("v1", 224, 0, 228, [2, 1, 1, 1024]),
    ("v2", 224, None, 275, [2, 1, 1, 1024]),
    ("v3", 299, 0, 376, [2, 1, 1, 2048]),
])
def test_no_classes_returns_pre_logits(name, size, classes, count, features):
    built = build(name, size, num_classes=classes)
    keys = [k for k, _ in built["end_points"]]
    assert built["out"] == features and built["model"] == count
    assert not {"Logits", "Predictions", "AuxLogits", "PreLogits"} & set(keys)
    assert not any("/Logits/" in k or "/AuxLogits/" in k for k in built["variables"])


def test_small_input_shrinks_kernels():
    # research/slim's reduced_kernel_size_for_small_input: 5x5 -> 1x1, 8x8 -> 3x3.
    built = build("v3", 150, num_classes=10, depth_multiplier=0.25)
    assert built["variables"]["InceptionV3/AuxLogits/Conv2d_2a_1x1/weights"] == [1, 1, 32, 192]
    shapes = dict(built["end_points"])
    assert shapes["Mixed_7c"] == [2, 3, 3, 512] and shapes["AvgPool_1a"] == [2, 1, 1, 512]
    assert built["out"] == [2, 10]
    assert dict(build("v2", 112, num_classes=10, depth_multiplier=0.25)["end_points"])[
        "AvgPool_1a"] == [2, 1, 1, 256]


def test_spatial_squeeze_and_global_pool():
    built = build("v1", 256, num_classes=10, global_pool=True, spatial_squeeze=False)
    shapes = dict(built["end_points"])
    assert shapes["global_pool"] == [2, 1, 1, 1024] and "AvgPool_0a_7x7" not in shapes
    assert built["out"] == [2, 1, 1, 10] and shapes["Predictions"] == [2, 1, 1, 10]
    # Without global_pool a larger input gives a larger map (pool stride 2, as TF).
    assert build("v2", 320, num_classes=10, spatial_squeeze=False)["out"] == [2, 2, 2, 10]
    with pytest.raises(ValueError, match="Logits/SpatialSqueeze: cannot squeeze"):
        build("v3", 400, num_classes=10, create_aux_logits=False)
    # As in TF, the auxiliary head (built first) is where a too-large input fails first.
    with pytest.raises(ValueError, match="AuxLogits/SpatialSqueeze: the auxiliary head's map"):
        build("v3", 400, num_classes=10)


def test_arg_scopes_and_image_sizes():
    assert inception_v1.inception_v1_arg_scope is inception_utils.inception_arg_scope
    assert inception_v2.inception_v2_arg_scope is inception_utils.inception_arg_scope
    assert inception_v3.inception_v3_arg_scope is inception_utils.inception_arg_scope
    sizes = [fn.default_image_size for fn in NETS.values()]
    assert sizes == [224, 224, 299]


def test_train_and_eval_modes():
    torch.manual_seed(0)
    images = torch.randn(2, 3, 32, 32)
    with slim.Graph():
        with slim.arg_scope(inception_utils.inception_arg_scope()):
            net = slim.Model(inception_v2.inception_v2, num_classes=5,
                             depth_multiplier=0.25).build((2, 3, 32, 32))
        with torch.no_grad():
            first, points = net.eval()(images)
            again, _ = net(images)
            frozen, _ = net.train()(images, is_training=False)  # an explicit value wins
            trained, _ = net(images)      # batch statistics (and moving-average updates)
    assert torch.equal(first, again)
    assert not torch.allclose(first, trained)  # batch statistics and dropout
    torch.testing.assert_close(frozen, first)
    torch.testing.assert_close(points["Predictions"].sum(1), torch.ones(2))


def test_v2_nhwc_matches_nchw():
    torch.manual_seed(0)
    images = torch.randn(1, 3, 32, 32)
    kwargs = dict(final_endpoint="Mixed_4a", depth_multiplier=0.25)
    with slim.Graph():
        nchw = slim.Model(inception_v2.inception_v2_base, **kwargs).build((1, 3, 32, 32))
        nhwc = slim.Model(inception_v2.inception_v2_base, data_format="NHWC",
                          **kwargs).build((1, 32, 32, 3))
        nhwc.load_state_dict(nchw.state_dict())
        with torch.no_grad():
            expected, _ = nchw.eval()(images)
            actual, points = nhwc.eval()(images.permute(0, 2, 3, 1))
    assert points["Mixed_4a"].shape == (1, 2, 2, 144)
    torch.testing.assert_close(actual.permute(0, 3, 1, 2), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="data_format"):
        inception_v2.inception_v2_base(images, data_format="NCDHW")


def test_reuse_shares_variables():
    images = torch.randn(1, 3, 32, 32)
    with slim.Graph():
        with slim.arg_scope(inception_utils.inception_arg_scope()):
            first, _ = inception_v2.inception_v2(images, num_classes=3, depth_multiplier=0.25,
                                                 is_training=False)
            count = len(slim.get_model_variables())
            second, _ = inception_v2.inception_v2(images, num_classes=3, depth_multiplier=0.25,
                                                  is_training=False, reuse=True)
        assert len(slim.get_model_variables()) == count == 277
    torch.testing.assert_close(first, second)
