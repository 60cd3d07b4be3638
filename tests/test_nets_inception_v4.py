"""Inception V4 and Inception-ResNet-v2: options, end points, variables, blocks and modes.

Expected names, shapes and counts were printed from research/slim's nets
(TF 2.21 + tf_slim) under each net's own arg_scope; shapes are TF's (NHWC
activations, ``[kh, kw, in, out]`` kernels). Name and shape checks build on the
meta device; the few forward passes use small inputs or single blocks.
"""

import functools

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.nets import inception_resnet_v2 as irv2
from slimtorch.nets import inception_utils, inception_v4

NETS = {"v4": inception_v4.inception_v4, "irv2": irv2.inception_resnet_v2}
BASES = {"v4": inception_v4.inception_v4_base, "irv2": irv2.inception_resnet_v2_base}
ARG_SCOPES = {"v4": inception_v4.inception_v4_arg_scope,
              "irv2": irv2.inception_resnet_v2_arg_scope}


def _nhwc(shape):
    shape = list(shape)
    return [shape[0], *shape[2:], shape[1]] if len(shape) == 4 else shape


@functools.lru_cache(maxsize=None)
def _build(name, base, size, **kwargs):
    """Builds a net on meta under its arg_scope and describes it (TF layouts)."""
    fn = BASES[name] if base else NETS[name]
    with slim.Graph():
        with slim.arg_scope(ARG_SCOPES[name]()):
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


def build(name, size=299, base=False, **kwargs):
    return _build(name, base, size, **kwargs)


V4_POINTS = [
    ("Conv2d_1a_3x3", [149, 149, 32]), ("Conv2d_2a_3x3", [147, 147, 32]),
    ("Conv2d_2b_3x3", [147, 147, 64]), ("Mixed_3a", [73, 73, 160]), ("Mixed_4a", [71, 71, 192]),
    ("Mixed_5a", [35, 35, 384]), ("Mixed_5b", [35, 35, 384]), ("Mixed_5c", [35, 35, 384]),
    ("Mixed_5d", [35, 35, 384]), ("Mixed_5e", [35, 35, 384]), ("Mixed_6a", [17, 17, 1024]),
    ("Mixed_6b", [17, 17, 1024]), ("Mixed_6c", [17, 17, 1024]), ("Mixed_6d", [17, 17, 1024]),
    ("Mixed_6e", [17, 17, 1024]), ("Mixed_6f", [17, 17, 1024]), ("Mixed_6g", [17, 17, 1024]),
    ("Mixed_6h", [17, 17, 1024]), ("Mixed_7a", [8, 8, 1536]), ("Mixed_7b", [8, 8, 1536]),
    ("Mixed_7c", [8, 8, 1536]), ("Mixed_7d", [8, 8, 1536]), ("AuxLogits", [10]),
    ("global_pool", [1, 1, 1536]), ("PreLogitsFlatten", [1536]), ("Logits", [10]),
    ("Predictions", [10])]
IRV2_POINTS = [
    ("Conv2d_1a_3x3", [149, 149, 32]), ("Conv2d_2a_3x3", [147, 147, 32]),
    ("Conv2d_2b_3x3", [147, 147, 64]), ("MaxPool_3a_3x3", [73, 73, 64]),
    ("Conv2d_3b_1x1", [73, 73, 80]), ("Conv2d_4a_3x3", [71, 71, 192]),
    ("MaxPool_5a_3x3", [35, 35, 192]), ("Mixed_5b", [35, 35, 320]), ("Mixed_6a", [17, 17, 1088]),
    ("PreAuxLogits", [17, 17, 1088]), ("Mixed_7a", [8, 8, 2080]), ("Conv2d_7b_1x1", [8, 8, 1536]),
    ("AuxLogits", [10]), ("global_pool", [1, 1, 1536]), ("PreLogitsFlatten", [1536]),
    ("Logits", [10]), ("Predictions", [10])]


# (model, trainable, regularized) variables at num_classes=10, from TF-Slim
@pytest.mark.parametrize("name, points, counts", [
    ("v4", V4_POINTS, (608, 306, 153)),
    ("irv2", IRV2_POINTS, (908, 496, 290)),  # irv2 also regularizes biases
])
def test_default_net_matches_tf_slim(name, points, counts):
    built = build(name, num_classes=10)
    assert built["end_points"] == [(k, [2, *shape]) for k, shape in points]
    assert (built["model"], built["trainable"], built["regularization"]) == counts
    assert built["out"] == [2, 10]


@pytest.mark.parametrize("name, expected", [
    ("v4", {
        "InceptionV4/Conv2d_1a_3x3/weights": [3, 3, 3, 32],
        "InceptionV4/Conv2d_1a_3x3/BatchNorm/moving_variance": [32],
        "InceptionV4/Mixed_4a/Branch_1/Conv2d_0b_1x7/weights": [1, 7, 64, 64],
        "InceptionV4/Mixed_6a/Branch_0/Conv2d_1a_3x3/weights": [3, 3, 384, 384],
        "InceptionV4/Mixed_6h/Branch_2/Conv2d_0e_1x7/weights": [1, 7, 224, 256],
        "InceptionV4/Mixed_7d/Branch_1/Conv2d_0c_3x1/weights": [3, 1, 384, 256],
        "InceptionV4/Mixed_7d/Branch_2/Conv2d_0e_3x1/BatchNorm/beta": [256],
        "InceptionV4/AuxLogits/Conv2d_1b_1x1/weights": [1, 1, 1024, 128],
        "InceptionV4/AuxLogits/Conv2d_2a/weights": [5, 5, 128, 768],
        "InceptionV4/AuxLogits/Aux_logits/weights": [768, 10],
        "InceptionV4/Logits/Logits/weights": [1536, 10],
        "InceptionV4/Logits/Logits/biases": [10],
    }),
    ("irv2", {
        "InceptionResnetV2/Mixed_5b/Branch_1/Conv2d_0b_5x5/weights": [5, 5, 48, 64],
        "InceptionResnetV2/Repeat/block35_1/Branch_0/Conv2d_1x1/weights": [1, 1, 320, 32],
        "InceptionResnetV2/Repeat/block35_10/Conv2d_1x1/weights": [1, 1, 128, 320],
        "InceptionResnetV2/Repeat/block35_10/Conv2d_1x1/biases": [320],
        "InceptionResnetV2/Repeat_1/block17_20/Branch_1/Conv2d_0c_7x1/weights": [7, 1, 160, 192],
        "InceptionResnetV2/Repeat_1/block17_20/Conv2d_1x1/weights": [1, 1, 384, 1088],
        "InceptionResnetV2/Repeat_2/block8_9/Branch_1/Conv2d_0b_1x3/weights": [1, 3, 192, 224],
        "InceptionResnetV2/Block8/Conv2d_1x1/weights": [1, 1, 448, 2080],
        "InceptionResnetV2/Block8/Conv2d_1x1/biases": [2080],
        "InceptionResnetV2/Conv2d_7b_1x1/BatchNorm/moving_mean": [1536],
        "InceptionResnetV2/AuxLogits/Conv2d_1b_1x1/weights": [1, 1, 1088, 128],
        "InceptionResnetV2/AuxLogits/Conv2d_2a_5x5/weights": [5, 5, 128, 768],
        "InceptionResnetV2/AuxLogits/Logits/weights": [768, 10],
        "InceptionResnetV2/Logits/Logits/weights": [1536, 10],
    }),
])
def test_variable_names_and_shapes(name, expected):
    variables = build(name, num_classes=10)["variables"]
    assert {k: variables.get(k) for k in expected} == expected


def test_residual_blocks_have_no_batch_norm_in_their_projection():
    variables = build("irv2", num_classes=10)["variables"]
    up = [k for k in variables if k.rsplit("/", 2)[-2] == "Conv2d_1x1"
          and "Branch" not in k]
    assert len(up) == 80  # 40 blocks x (weights, biases)
    assert not [k for k in variables if "/Conv2d_1x1/BatchNorm" in k and "Branch" not in k]
    blocks = {k.split("/")[2] for k in variables if k.startswith("InceptionResnetV2/Repeat")}
    assert len(blocks) == 39  # block35_1..10, block17_1..20, block8_1..9 (+ Block8)


# counts (model, regularized) from TF-Slim
@pytest.mark.parametrize("name, counts", [("v4", (598, 150)), ("irv2", (898, 286))])
def test_no_aux_logits_removes_aux_variables(name, counts):
    built = build(name, num_classes=10, create_aux_logits=False)
    assert (built["model"], built["regularization"]) == counts
    assert not [k for k in built["variables"] if "/AuxLogits/" in k]
    assert "AuxLogits" not in dict(built["end_points"])
    assert built["out"] == [2, 10]


@pytest.mark.parametrize("name, counts", [("v4", (596, 149)), ("irv2", (896, 284))])
@pytest.mark.parametrize("num_classes", [0, None])
def test_no_classes_returns_pooled_features(name, counts, num_classes):
    # 75x75 is the smallest input the full nets take (TF-Slim agrees).
    built = build(name, 75, num_classes=num_classes)
    assert built["out"] == [2, 1, 1, 1536]
    assert [k for k, _ in built["end_points"]][-1] == "global_pool"
    assert (built["model"], built["regularization"]) == counts
    assert not [k for k in built["variables"] if "Logits" in k]


# final end point, model variables (TF-Slim), its shape at 299
@pytest.mark.parametrize("name, final, count, shape", [
    ("v4", "Mixed_5a", 44, [2, 35, 35, 384]),
    ("v4", "Mixed_6h", 452, [2, 17, 17, 1024]),
    ("irv2", "Mixed_5b", 48, [2, 35, 35, 320]),
    ("irv2", "PreAuxLogits", 684, [2, 17, 17, 1088]),
])
def test_final_endpoint_stops_early(name, final, count, shape):
    built = build(name, base=True, final_endpoint=final)
    keys = [k for k, _ in built["end_points"]]
    points = V4_POINTS if name == "v4" else IRV2_POINTS
    assert keys == [k for k, _ in points][:len(keys)] and keys[-1] == final
    assert built["out"] == shape and built["model"] == count


@pytest.mark.parametrize("name, message", [("v4", "Unknown final endpoint Logits"),
                                           ("irv2", r"final_endpoint \(Logits\) not recognized")])
def test_unknown_final_endpoint_raises_before_building(name, message):
    with slim.Graph():
        with pytest.raises(ValueError, match=message):
            BASES[name](torch.zeros(1, 3, 299, 299), final_endpoint="Logits")
        assert slim.get_model_variables() == []


def test_irv2_output_stride_8_is_atrous_up_to_pre_aux_logits():
    built = build("irv2", base=True, final_endpoint="PreAuxLogits", output_stride=8)
    points = dict(built["end_points"])
    assert points["Mixed_5b"] == [2, 35, 35, 320]
    assert points["Mixed_6a"] == points["PreAuxLogits"] == [2, 33, 33, 1088]
    assert built["model"] == 684  # same variables as output_stride=16


def test_irv2_output_stride_errors():
    with slim.Graph():
        images = torch.zeros(1, 3, 299, 299)
        with pytest.raises(ValueError, match="output_stride==8 is only supported up to the"):
            irv2.inception_resnet_v2_base(images, final_endpoint="Mixed_7a", output_stride=8)
        with pytest.raises(ValueError, match="output_stride must be 8 or 16"):
            irv2.inception_resnet_v2_base(images, output_stride=32)
        assert slim.get_model_variables() == []


def test_irv2_align_feature_maps_uses_same_padding():
    built = build("irv2", base=True, align_feature_maps=True)
    assert [shape[1] for _, shape in built["end_points"]] == [
        150, 150, 150, 75, 75, 75, 38, 38, 19, 19, 10, 10]  # TF-Slim's
    assert built["model"] == 896
    aligned_atrous = build("irv2", base=True, final_endpoint="PreAuxLogits", output_stride=8,
                           align_feature_maps=True)
    assert aligned_atrous["out"] == [2, 38, 38, 1088]


@pytest.mark.parametrize("fn", [inception_v4.inception_v4, irv2.inception_resnet_v2])
def test_too_small_inputs_raise_clear_errors(fn):
    with slim.Graph():
        with pytest.raises(ValueError, match="the net needs H, W >= 75"):
            fn(torch.zeros(1, 3, 74, 299), num_classes=0)
        with pytest.raises(ValueError, match=r">= 107 with the aux head \(or create_aux_logits"):
            fn(torch.zeros(1, 3, 106, 106), num_classes=3)
        assert slim.get_model_variables() == []
        model = slim.Model(fn, num_classes=3).build((1, 3, 107, 107), device="meta")
    _, end_points = model(torch.zeros(1, 3, 107, 107, device="meta"))
    assert end_points["AuxLogits"].shape == (1, 3)


def test_arg_scopes_and_image_sizes():
    assert inception_v4.inception_v4_arg_scope is inception_utils.inception_arg_scope
    assert [fn.default_image_size for fn in NETS.values()] == [299, 299]
    with slim.arg_scope(irv2.inception_resnet_v2_arg_scope()):
        scoped = slim.current_arg_scope()
    conv = scoped[slim.arg_scope_func_key(slim.conv2d)]
    fc = scoped[slim.arg_scope_func_key(slim.fully_connected)]
    assert conv["normalizer_fn"] is slim.batch_norm and conv["activation_fn"] is F.relu
    assert conv["normalizer_params"] == {"decay": 0.9997, "epsilon": 0.001,
                                         "updates_collections": "update_ops", "fused": None,
                                         "scale": False}
    assert "weights_initializer" not in conv  # unlike inception_arg_scope: Xavier stays
    assert {"weights_regularizer", "biases_regularizer"} <= set(fc)


def test_irv2_batch_norm_scale_adds_gamma():
    with slim.Graph():
        with slim.arg_scope(irv2.inception_resnet_v2_arg_scope(batch_norm_scale=True)):
            irv2.inception_resnet_v2_base(torch.zeros(1, 3, 8, 8), final_endpoint="Conv2d_1a_3x3")
        assert [v.name for v in slim.get_model_variables()] == [
            "InceptionResnetV2/Conv2d_1a_3x3/weights",
            "InceptionResnetV2/Conv2d_1a_3x3/BatchNorm/gamma",  # TF-Slim's order
            "InceptionResnetV2/Conv2d_1a_3x3/BatchNorm/beta",
            "InceptionResnetV2/Conv2d_1a_3x3/BatchNorm/moving_mean",
            "InceptionResnetV2/Conv2d_1a_3x3/BatchNorm/moving_variance"]


def test_residual_block_scale_sum_and_activation():
    torch.manual_seed(0)
    x = torch.randn(1, 320, 4, 4)
    kept = x.clone()
    with torch.no_grad():
        block = slim.Model(irv2.block35, activation_fn=None)
        residual = block(x, scale=1.0) - x  # the linear projection `up`
        torch.testing.assert_close(block(x, scale=0.17) - x, 0.17 * residual,
                                   rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(block(x, scale=0.0), x)
        torch.testing.assert_close(block(x, scale=0.5, activation_fn=F.relu),
                                   F.relu(x + 0.5 * residual), rtol=1e-5, atol=1e-5)
        # relu6 clips the scaled residual to [-6, 6] before the sum (TF's band-pass).
        low = torch.full_like(x, -10.0)
        up = 100.0 * (block(low, scale=1.0) - low)
        assert (low + up).max() > 0  # relu would let some through...
        clipped = block(low, scale=100.0, activation_fn=F.relu6)
        torch.testing.assert_close(clipped, F.relu6(low + up.clamp(-6, 6)))
        assert torch.equal(clipped, torch.zeros_like(x))  # ...but -10 + 6 < 0
    assert torch.equal(x, kept)  # the input (an end point in the net) is not changed in place
    assert block.Block35.Conv2d_1x1.weights.shape == (320, 128, 1, 1)


def test_blocks_keep_shapes_and_reuse_shares_variables():
    with slim.Graph():
        x = torch.randn(1, 1088, 3, 3)
        assert irv2.block17(x, scope="b17").shape == x.shape
        count = len(slim.get_model_variables())
        irv2.block17(x, scope="b17", reuse=True)
        assert len(slim.get_model_variables()) == count == 10
        assert inception_v4.block_reduction_b(torch.randn(1, 1024, 5, 5)).shape == (1, 1536, 2, 2)
        assert inception_v4.block_inception_c(torch.randn(1, 1536, 2, 2)).shape == (1, 1536, 2, 2)


def _fill_random(model):
    """Fast He-scaled weights and non-trivial batch-norm statistics (materialize
    with inception_arg_scope's truncated normal takes seconds for 42M weights)."""
    model.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in model.named_variables().items():
            leaf = name.rsplit("/", 1)[-1]
            if leaf == "moving_variance":
                tensor.uniform_(0.5, 1.5, generator=generator)
            elif tensor.dim() == 1:
                tensor.normal_(0.0, 0.1, generator=generator)
            else:
                tensor.normal_(0.0, (2.0 * tensor.shape[0] / tensor.numel()) ** 0.5,
                               generator=generator)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("name", ["v4", "irv2"])
def test_train_and_eval_modes(name):
    images = torch.randn(2, 3, 75, 75, generator=torch.Generator().manual_seed(1))
    with slim.Graph():
        with slim.arg_scope(ARG_SCOPES[name]()):
            net = slim.Model(NETS[name], num_classes=5, create_aux_logits=False)
            _fill_random(net.build((2, 3, 75, 75), device="meta"))
        mean = next(v for k, v in net.named_variables().items() if k.endswith("moving_mean"))
        before = mean.clone()
        with torch.no_grad():
            first, points = net.eval()(images)
            again, _ = net(images)
            assert torch.equal(mean, before)
            frozen, _ = net.train()(images, is_training=False)  # explicit value wins
            assert torch.equal(mean, before)
            trained, _ = net(images)
    assert not torch.equal(mean, before)  # moving averages updated in training mode
    assert torch.equal(first, again)
    torch.testing.assert_close(frozen, first)
    assert not torch.allclose(first, trained)  # batch statistics and dropout
    torch.testing.assert_close(points["Predictions"].sum(1), torch.ones(2))
    assert points["PreLogitsFlatten"].shape == (2, 1536)
