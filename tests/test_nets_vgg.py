"""VGG (A, D, E), AlexNet v2 and OverFeat: options, end points, names, counts,
dropout modes, and VGG16's output against torchvision's with the same weights.

Expected names, counts and shapes were read off research/slim's nets in
TensorFlow (``tf_slim`` 1.1, research/slim 2019). Nets are built on the meta
device unless a test needs numbers.
"""


import pytest
import torch

import slimtorch as slim
from slimtorch.nets import alexnet, overfeat, vgg
from slimtorch.nets.vgg import fully_convolutional_head

NETS = {
    "vgg_a": (vgg.vgg_a, vgg.vgg_arg_scope),
    "vgg_16": (vgg.vgg_16, vgg.vgg_arg_scope),
    "vgg_19": (vgg.vgg_19, vgg.vgg_arg_scope),
    "alexnet_v2": (alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope),
    "overfeat": (overfeat.overfeat, overfeat.overfeat_arg_scope),
}


def build(name, size=None, batch=1, scope_kwargs=None, **kwargs):
    """Builds net ``name`` on the meta device; returns (model, output, end_points)."""
    fn, scope_fn = NETS[name]
    size = size or fn.default_image_size
    with slim.arg_scope(scope_fn(**(scope_kwargs or {}))):
        model = slim.Model(fn, **kwargs).build((batch, 3, size, size), device="meta")
    output, end_points = model(torch.empty(batch, 3, size, size, device="meta"))
    return model, output, end_points


def vgg_end_points(scope, repetitions):
    keys = []
    for block, count in enumerate(repetitions, start=1):
        keys += [f"{scope}/conv{block}/conv{block}_{i}" for i in range(1, count + 1)]
        keys.append(f"{scope}/pool{block}")
    return keys + [f"{scope}/fc6", f"{scope}/fc7", f"{scope}/fc8"]


SMALL_NET_END_POINTS = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5",
                        "fc6", "fc7", "fc8"]

# TF-Slim: (model variables, regularization losses, parameters) with 1000 classes.
COUNTS = {
    "vgg_a": (22, 11, 132863336),
    "vgg_16": (32, 16, 138357544),
    "vgg_19": (38, 19, 143667240),
    "alexnet_v2": (16, 8, 50303912),
    "overfeat": (16, 8, 145704424),
}


@pytest.mark.parametrize("name", sorted(NETS))
def test_counts_match_tf_slim(name):
    model, logits, _ = build(name, batch=2)
    variables, losses, params = COUNTS[name]
    assert len(model.variables()) == len(slim.get_model_variables()) == variables
    assert len(slim.losses.get_regularization_losses()) == losses
    assert sum(v.numel() for v in model.variables()) == params
    assert logits.shape == (2, 1000)


@pytest.mark.parametrize("name, expected", [
    ("vgg_a", vgg_end_points("vgg_a", (1, 1, 2, 2, 2))),
    ("vgg_16", vgg_end_points("vgg_16", (2, 2, 3, 3, 3))),
    ("vgg_19", vgg_end_points("vgg_19", (2, 2, 4, 4, 4))),
    ("alexnet_v2", [f"alexnet_v2/{k}" for k in SMALL_NET_END_POINTS]),
    ("overfeat", [f"overfeat/{k}" for k in SMALL_NET_END_POINTS]),
])
def test_end_points_in_tf_slim_order(name, expected):
    _, logits, end_points = build(name)
    assert list(end_points) == expected
    assert end_points[expected[-1]] is logits


@pytest.mark.parametrize("name, shapes", [
    ("vgg_16", {"vgg_16/conv1/conv1_1": [1, 64, 224, 224], "vgg_16/pool5": [1, 512, 7, 7],
                "vgg_16/fc6": [1, 4096, 1, 1], "vgg_16/fc8": [1, 1000]}),
    ("alexnet_v2", {"alexnet_v2/conv1": [1, 64, 54, 54], "alexnet_v2/pool1": [1, 64, 26, 26],
                    "alexnet_v2/pool2": [1, 192, 12, 12], "alexnet_v2/pool5": [1, 256, 5, 5]}),
    ("overfeat", {"overfeat/conv1": [1, 64, 56, 56], "overfeat/conv2": [1, 256, 24, 24],
                  "overfeat/pool5": [1, 1024, 6, 6], "overfeat/fc6": [1, 3072, 1, 1]}),
])
def test_end_point_shapes(name, shapes):
    _, _, end_points = build(name)
    assert {k: list(end_points[k].shape) for k in shapes} == shapes


@pytest.mark.parametrize("name, expected", [
    # TF shapes [kh, kw, in, out] are stored [out, in, kh, kw].
    ("vgg_16", {"vgg_16/conv1/conv1_1/weights": [64, 3, 3, 3],
                "vgg_16/conv5/conv5_3/biases": [512],
                "vgg_16/fc6/weights": [4096, 512, 7, 7],
                "vgg_16/fc8/weights": [1000, 4096, 1, 1]}),
    ("vgg_19", {"vgg_19/conv3/conv3_4/weights": [256, 256, 3, 3],
                "vgg_19/fc7/weights": [4096, 4096, 1, 1]}),
    ("alexnet_v2", {"alexnet_v2/conv1/weights": [64, 3, 11, 11],
                    "alexnet_v2/conv2/weights": [192, 64, 5, 5],
                    "alexnet_v2/fc6/weights": [4096, 256, 5, 5]}),
    ("overfeat", {"overfeat/conv5/weights": [1024, 1024, 3, 3],
                  "overfeat/fc6/weights": [3072, 1024, 6, 6],
                  "overfeat/fc7/weights": [4096, 3072, 1, 1]}),
])
def test_variable_names_and_shapes(name, expected):
    model, _, _ = build(name)
    shapes = {k: list(v.shape) for k, v in model.named_variables().items()}
    assert {k: shapes[k] for k in expected} == expected
    assert list(shapes)[:2] == [f"{name}/conv1/" + ("conv1_1/" if "vgg" in name else "")
                                + leaf for leaf in ("weights", "biases")]


def test_aliases_and_default_image_sizes():
    assert vgg.vgg_d is vgg.vgg_16 and vgg.vgg_e is vgg.vgg_19
    sizes = {name: fn.default_image_size for name, (fn, _) in NETS.items()}
    assert sizes == {"vgg_a": 224, "vgg_16": 224, "vgg_19": 224, "alexnet_v2": 224,
                     "overfeat": 231}


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("num_classes", [None, 0])
def test_no_classes_returns_pre_logits_features(name, num_classes):
    model, features, end_points = build(name, num_classes=num_classes)
    names = list(model.named_variables())
    assert not any("/fc8/" in n for n in names)
    assert names[-1] == f"{name}/fc7/biases"
    assert len(names) == COUNTS[name][0] - 2
    assert features.shape == (1, 4096, 1, 1)
    assert list(end_points)[-1] == f"{name}/fc7"
    assert end_points[f"{name}/fc7"] is features


@pytest.mark.parametrize("name, size, pooled_from", [
    ("vgg_16", 320, (4, 4)), ("alexnet_v2", 300, (4, 4)), ("overfeat", 281, (2, 2))])
def test_global_pool_classifies_any_size(name, size, pooled_from):
    _, logits, end_points = build(name, size, num_classes=7, global_pool=True)
    assert logits.shape == (1, 7)
    assert list(end_points)[-2:] == ["global_pool", f"{name}/fc8"]
    assert end_points[f"{name}/fc7"].shape[2:] == pooled_from
    assert end_points["global_pool"].shape == (1, 4096, 1, 1)


def test_global_pool_without_classes_returns_pooled_features():
    _, features, end_points = build("vgg_a", 256, num_classes=None, global_pool=True)
    assert features is end_points["global_pool"]
    assert features.shape == (1, 4096, 1, 1)


def test_spatial_squeeze_false_keeps_the_map():
    _, logits, _ = build("alexnet_v2", num_classes=10, spatial_squeeze=False)
    assert logits.shape == (1, 10, 1, 1)
    _, logits, _ = build("alexnet_v2", 300, num_classes=10, spatial_squeeze=False)
    assert logits.shape == (1, 10, 4, 4)


@pytest.mark.parametrize("padding, size, expected", [
    ("VALID", 256, (2, 2)),   # 256 / 32 - 6
    ("SAME", 256, (8, 8)),    # 256 / 32
    ("SAME", 224, (7, 7)),
])
def test_fc_conv_padding(padding, size, expected):
    _, logits, end_points = build("vgg_16", size, num_classes=5, spatial_squeeze=False,
                                  fc_conv_padding=padding)
    assert logits.shape == (1, 5) + expected
    assert end_points["vgg_16/fc6"].shape[2:] == expected


def test_squeeze_of_a_larger_map_says_what_to_do():
    with pytest.raises(ValueError, match="fc8/squeezed.*default_image_size or spatial_squeeze=False"):
        build("vgg_a", 256)


def test_custom_scope_and_weight_decay():
    model, _, end_points = build("vgg_a", scope="my_vgg", num_classes=3,
                                 scope_kwargs={"weight_decay": 0.0})
    assert list(model.named_variables())[0] == "my_vgg/conv1/conv1_1/weights"
    assert list(end_points)[-1] == "my_vgg/fc8"
    assert slim.losses.get_regularization_losses() == []


def test_arg_scopes_set_tf_slim_defaults():
    with slim.arg_scope(vgg.vgg_arg_scope()):
        conv = slim.current_arg_scope()[slim.arg_scope_func_key(slim.conv2d)]
    assert conv["padding"] == "SAME"
    assert conv["weights_regularizer"](torch.ones(2)).item() == pytest.approx(0.0005)
    for scope_fn, bias in ((alexnet.alexnet_v2_arg_scope, 0.1), (overfeat.overfeat_arg_scope, 0.0)):
        with slim.arg_scope(scope_fn()):
            scoped = slim.current_arg_scope()
        assert scoped[slim.arg_scope_func_key(slim.max_pool2d)]["padding"] == "VALID"
        biases = torch.empty(3)
        scoped[slim.arg_scope_func_key(slim.fully_connected)]["biases_initializer"](biases)
        assert biases.tolist() == pytest.approx([bias] * 3)


@pytest.mark.slow
def test_fc_layers_initializers():
    """alexnet/overfeat: fc6/fc7 get truncated normal(0.005) and 0.1 biases, fc8 zero biases."""
    with slim.arg_scope(alexnet.alexnet_v2_arg_scope()):
        model = slim.Model(alexnet.alexnet_v2, num_classes=4)
        model.build((1, 3, 224, 224), device="meta").materialize("cpu")
    variables = model.named_variables()
    assert (variables["alexnet_v2/fc7/biases"] == 0.1).all()
    assert (variables["alexnet_v2/fc8/biases"] == 0).all()
    fc7 = variables["alexnet_v2/fc7/weights"]
    assert fc7.abs().max() <= 2 * 0.005 and fc7.std().item() == pytest.approx(0.0044, rel=0.05)


def _tiny_head(x, **kwargs):
    with slim.variable_scope("net") as sc:
        return fully_convolutional_head(x, "ends", sc.name, 3, dropout_keep_prob=0.5,
                                        spatial_squeeze=True, global_pool=False,
                                        fc6_depth=64, fc6_kernel=[2, 2], fc7_depth=64, **kwargs)


def test_dropout_follows_mode_unless_is_training_is_given():
    torch.manual_seed(0)
    x = torch.rand(4, 8, 2, 2)
    model = slim.Model(_tiny_head, is_training=None)
    model(x)
    for layer in ("fc6", "fc7"):
        torch.nn.init.uniform_(getattr(model.net, layer).weights, 0.0, 0.1)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])
    assert torch.equal(model(x, is_training=False)[0], model.eval()(x)[0])
    model.eval()
    assert not torch.equal(model(x, is_training=True)[0], model(x, is_training=True)[0])


@pytest.mark.slow
def test_vgg16_matches_torchvision_with_the_same_weights():
    """Maps torchvision's VGG16 into slimtorch's vgg_16: convs map as they are;
    fc6's Linear weight is flattened NCHW (c, h, w), so it reshapes to a 7x7 conv
    kernel; fc7/fc8 become 1x1 kernels. Outputs, not shapes, prove the order."""
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = torchvision.models.vgg16(weights=None).eval()
    with slim.arg_scope(vgg.vgg_arg_scope()):
        model = slim.Model(vgg.vgg_16).build((1, 3, 224, 224), device="meta")
    model.to_empty(device="cpu").eval()

    variables = model.named_variables()
    convs = [m for m in reference.features if isinstance(m, torch.nn.Conv2d)]
    conv_names = [n[:-len("/weights")] for n in variables
                  if n.endswith("/weights") and "/conv" in n]
    assert len(convs) == len(conv_names) == 13
    linears = [m for m in reference.classifier if isinstance(m, torch.nn.Linear)]
    fc_kernels = [[512, 7, 7], [4096, 1, 1], [4096, 1, 1]]
    with torch.no_grad():
        for name, conv in zip(conv_names, convs):
            variables[name + "/weights"].copy_(conv.weight)
            variables[name + "/biases"].copy_(conv.bias)
        for name, linear, kernel in zip(("fc6", "fc7", "fc8"), linears, fc_kernels):
            variables[f"vgg_16/{name}/weights"].copy_(linear.weight.reshape(-1, *kernel))
            variables[f"vgg_16/{name}/biases"].copy_(linear.bias)

        images = torch.randn(1, 3, 224, 224)
        pool5 = reference.features(images)
        expected = reference.classifier(torch.flatten(reference.avgpool(pool5), 1))
        logits, end_points = model(images)
    torch.testing.assert_close(end_points["vgg_16/pool5"], pool5, rtol=1e-4, atol=1e-5)
    assert logits.shape == (1, 1000)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())
    # The check can fail: reading fc6 as (h, w, c), TF's NHWC flatten order, changes the logits.
    with torch.no_grad():
        hwc = linears[0].weight.reshape(4096, 7, 7, 512).permute(0, 3, 1, 2)
        variables["vgg_16/fc6/weights"].copy_(hwc)
        assert not torch.allclose(model(images)[0], expected, rtol=1e-2, atol=1e-2)
