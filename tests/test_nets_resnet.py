"""ResNet v1/v2 (slimtorch.nets.resnet_utils, resnet_v1, resnet_v2): padding,
output stride and atrous equivalence, options, names and counts against
TF-Slim (research/slim, values printed with TF 2.21 + tf_slim)."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.nets import resnet_utils, resnet_v1, resnet_v2
from slimtorch.nets.resnet_utils import Block, conv2d_same, stack_blocks_dense, subsample
from slimtorch.testing import assign_random_weights

VERSIONS = {"v1": resnet_v1, "v2": resnet_v2}
UNITS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3)}

# research/slim at 224 with resnet_arg_scope(), num_classes 1000 (v1) / 1001 (v2):
# (model variables, trainable, regularization losses, parameters), from TF.
TF_COUNTS = {
    "resnet_v1_50": (267, 161, 54, 25610152),
    "resnet_v1_101": (522, 314, 105, 44654504),
    "resnet_v1_152": (777, 467, 156, 60344232),
    "resnet_v1_200": (1017, 611, 204, 64849832),
    "resnet_v2_50": (272, 174, 54, 25615849),
    "resnet_v2_101": (544, 344, 105, 44677609),
    "resnet_v2_152": (816, 514, 156, 60382697),
    "resnet_v2_200": (1072, 674, 204, 64896489),
}


def scoped(net_fn, **kwargs):
    """``net_fn`` under ``resnet_arg_scope`` (entered on every call, as the
    factory does: a built model re-runs its function)."""
    def fn(images, **call_kwargs):
        with slim.arg_scope(resnet_utils.resnet_arg_scope()):
            return net_fn(images, **{**kwargs, **call_kwargs})
    return fn


def tiny_resnet(version, output_stride=None, **kwargs):
    """A 4-block ResNet with 2 units of depth 4..16 per block (nominal stride 32)."""
    module = VERSIONS[version]
    block_fn = getattr(module, f"resnet_{version}_block")
    generator = getattr(module, f"resnet_{version}")

    def net(images, **call_kwargs):
        blocks = [block_fn("block1", 1, 2, 2), block_fn("block2", 2, 2, 2),
                  block_fn("block3", 3, 2, 2), block_fn("block4", 4, 2, 1)]
        return generator(images, blocks, output_stride=output_stride, scope="tiny",
                         **{**kwargs, **call_kwargs})
    return scoped(net)


def expected_end_points(version, name, units):
    keys = [f"{name}/conv1"]
    for b, count in enumerate(units):
        for u in range(count):
            unit = f"{name}/block{b + 1}/unit_{u + 1}/bottleneck_{version}"
            keys += ([unit + "/shortcut"] if u == 0 else []) + \
                [unit + "/conv1", unit + "/conv2", unit + "/conv3", unit]
        keys.append(f"{name}/block{b + 1}")
    return keys + ["global_pool", f"{name}/logits", f"{name}/spatial_squeeze", "predictions"]


def meta_model(fn, size=224, **kwargs):
    model = slim.Model(fn, **kwargs).build((1, 3, size, size), device="meta")
    return model, model(torch.empty(2, 3, size, size, device="meta"))


# -- conv2d_same and subsample -------------------------------------------------------------
@pytest.mark.parametrize("size", [7, 8])
@pytest.mark.parametrize("kernel,stride,rate", [(3, 2, 1), (4, 2, 1), (7, 2, 1), (3, 1, 2),
                                                (3, 1, 1), (4, 1, 3)])
def test_conv2d_same_is_explicit_pad_then_valid_conv(size, kernel, stride, rate):
    x = torch.randn(2, 3, size, size)
    y = conv2d_same(x, 5, kernel, stride, rate=rate, scope="conv")
    weights, biases = slim.get_model_variables()
    effective = kernel + (kernel - 1) * (rate - 1)
    beg = (effective - 1) // 2
    end = effective - 1 - beg
    reference = F.relu(F.conv2d(F.pad(x, (beg, end, beg, end)), weights, biases, stride,
                                dilation=rate))
    assert y.shape == reference.shape
    torch.testing.assert_close(y, reference)


@pytest.mark.parametrize("size", [4, 5])
def test_conv2d_same_equals_stride1_same_subsampled(size):
    """TF's testConv2DSameEven/Odd: conv2d_same(stride 2) == conv(stride 1) then
    subsample; slim.conv2d(stride 2, 'SAME') differs on even inputs."""
    x = torch.arange(size * size, dtype=torch.float32).reshape(1, 1, size, size)
    ones = slim.ones_initializer()
    with slim.arg_scope([slim.conv2d], weights_initializer=ones, activation_fn=None):
        same = conv2d_same(x, 1, 3, stride=2, scope="conv_same")
        dense = subsample(slim.conv2d(x, 1, [3, 3], stride=1, scope="conv_dense"), 2)
        strided = slim.conv2d(x, 1, [3, 3], stride=2, scope="conv_strided")
    torch.testing.assert_close(same, dense)
    assert torch.equal(same, strided) == (size % 2 == 1)
    if size == 4:
        assert same.flatten().tolist() == [10.0, 24.0, 51.0, 90.0]  # windows at rows/cols 0, 2
        assert strided.flatten().tolist() == [45.0, 39.0, 66.0, 50.0]


def test_conv2d_same_rejects_rate_with_stride():
    with pytest.raises(ValueError, match="rate > 1 cannot be combined with stride > 1"):
        conv2d_same(torch.randn(1, 3, 9, 9), 4, 3, stride=2, rate=2, scope="conv")


def test_subsample():
    x = torch.arange(49.).reshape(1, 1, 7, 7)
    assert subsample(x, 1) is x
    assert torch.equal(subsample(x, 3), x[:, :, ::3, ::3])


# -- stack_blocks_dense and output_stride ----------------------------------------------------
def test_stack_blocks_dense_names_collections_and_errors():
    def unit(net, depth, stride, rate=1):
        return conv2d_same(net, depth, 3, stride, rate=rate, scope="conv")
    blocks = [Block("block1", unit, [{"depth": 2, "stride": 2}]),
              Block("block2", unit, [{"depth": 2, "stride": 1}, {"depth": 2, "stride": 3}])]
    with slim.arg_scope([stack_blocks_dense], outputs_collections="ends"):
        y = stack_blocks_dense(torch.randn(1, 1, 13, 13), blocks)
    assert list(slim.utils.convert_collection_to_dict("ends")) == ["block1", "block2"]
    assert [v.name for v in slim.get_model_variables()][::2] == [
        "block1/unit_1/conv/weights", "block2/unit_1/conv/weights", "block2/unit_2/conv/weights"]
    assert y.shape == (1, 2, 3, 3)
    # valid output strides: 1, 2, 6 (or None); 4 cannot be reached
    with slim.Graph():
        assert stack_blocks_dense(torch.randn(1, 1, 13, 13), blocks, 2).shape == (1, 2, 7, 7)
    with slim.Graph(), pytest.raises(ValueError, match="output_stride cannot be reached"):
        stack_blocks_dense(torch.randn(1, 1, 13, 13), blocks, 4)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_atrous_output_equals_subsampled_nominal_output(version):
    """resnet_v*_test's testAtrousFullyConvolutionalValues: with the same
    weights, output_stride=s features subsampled by 32/s equal the nominal ones
    (inputs of size 32k + 1 keep the grids aligned)."""
    images = torch.randn(2, 3, 65, 65)
    outputs = {}
    for output_stride in (None, 4, 8, 16):
        with slim.Graph():
            model = slim.Model(tiny_resnet(version, output_stride, global_pool=False))
            model.build(images)
            assign_random_weights(model, seed=3)
            outputs[output_stride] = model.eval()(images)[0]
    expected = outputs[None]
    assert expected.shape == (2, 16, 3, 3)
    for output_stride in (4, 8, 16):
        out = outputs[output_stride]
        assert out.shape[-1] == (65 - 1) // output_stride + 1
        torch.testing.assert_close(subsample(out, 32 // output_stride), expected,
                                   rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("output_stride,size", [(8, 28), (16, 14)])
def test_output_stride_shapes(output_stride, size):
    fn = scoped(resnet_v1.resnet_v1_50, global_pool=False, output_stride=output_stride,
                depth_multiplier=0.125)
    _, (features, end_points) = meta_model(fn)
    assert features.shape == (2, 256, size, size)
    assert end_points["resnet_v1_50/block4"].shape[-1] == size


def test_output_stride_errors():
    with pytest.raises(ValueError, match="multiple of 4"):
        meta_model(tiny_resnet("v1", output_stride=6))
    with pytest.raises(ValueError, match="output_stride cannot be reached"):
        meta_model(tiny_resnet("v2", output_stride=64))


def test_store_non_strided_activations():
    images = torch.randn(1, 3, 64, 64)
    results = {}
    for store in (False, True):
        with slim.Graph():
            model = slim.Model(tiny_resnet("v1", global_pool=False,
                                           store_non_strided_activations=store)).build(images)
            assign_random_weights(model, seed=1)
            results[store] = model.eval()(images)
    (plain, plain_points), (stored, stored_points) = results[False], results[True]
    torch.testing.assert_close(stored, plain, rtol=1e-5, atol=1e-5)
    assert list(stored_points) == list(plain_points)
    assert plain_points["tiny/block1"].shape[-1] == 8
    assert stored_points["tiny/block1"].shape[-1] == 16  # before the block's stride


# -- options ---------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_end_points_match_tf(version):
    name = f"resnet_{version}_50"
    _, (logits, end_points) = meta_model(scoped(getattr(VERSIONS[version], name),
                                                num_classes=10))
    assert logits.shape == (2, 10)
    assert list(end_points) == expected_end_points(version, name, UNITS[50])
    assert end_points[f"{name}/logits"].shape == (2, 10, 1, 1)
    assert end_points[f"{name}/spatial_squeeze"].shape == (2, 10)
    assert end_points[f"{name}/block1"].shape == (2, 256, 28, 28)
    assert end_points[f"{name}/block4/unit_3/bottleneck_{version}"].shape == (2, 2048, 7, 7)
    assert end_points["global_pool"].shape == (2, 2048, 1, 1)
    assert end_points["predictions"].shape == (2, 10)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_head_options(version):
    def run(**kwargs):
        with slim.Graph():
            model, outputs = meta_model(tiny_resnet(version, **kwargs), size=64)
            return model, outputs
    _, (logits, _) = run(num_classes=10, spatial_squeeze=False)
    assert logits.shape == (2, 10, 1, 1)
    model, (features, end_points) = run()  # num_classes=None: pooled features, no logits
    assert features.shape == (2, 16, 1, 1)
    assert list(end_points)[-2:] == ["tiny/block4", "global_pool"]
    assert not [n for n in model.named_variables() if "logits" in n]
    _, (features, end_points) = run(num_classes=0, global_pool=False)
    assert features.shape == (2, 16, 2, 2)
    assert "global_pool" not in end_points
    with pytest.raises(ValueError, match="tiny/SpatialSqueeze"):
        run(num_classes=10, global_pool=False)


def test_depth_multiplier_and_min_base_depth():
    def conv1_shape(**kwargs):
        with slim.Graph():
            model, _ = meta_model(scoped(resnet_v1.resnet_v1_50, **kwargs), size=64)
            return tuple(model.named_variables()[
                "resnet_v1_50/block4/unit_1/bottleneck_v1/conv1/weights"].shape)
    # torch layout [out, in, 1, 1]; the default is TF's [1, 1, 1024, 512]
    assert conv1_shape(depth_multiplier=0.25) == (128, 256, 1, 1)
    assert conv1_shape(depth_multiplier=0.01) == (8, 32, 1, 1)  # min_base_depth=8
    assert conv1_shape(depth_multiplier=0.0625, min_base_depth=64) == (64, 256, 1, 1)


# 101 and 152 differ only in unit counts; the golden manifests cover every name.
@pytest.mark.parametrize("name", ["resnet_v1_50", "resnet_v2_50", "resnet_v1_200",
                                  "resnet_v2_200"])
def test_variable_counts_match_tf(name):
    version = name.split("_")[1]
    num_classes = 1000 if version == "v1" else 1001
    model, (logits, _) = meta_model(scoped(getattr(VERSIONS[version], name),
                                           num_classes=num_classes))
    assert logits.shape == (2, num_classes)
    variables = model.variables()
    counts = (len(variables), len(slim.get_trainable_variables()),
              len(model.regularization_losses()), sum(v.numel() for v in variables))
    assert counts == TF_COUNTS[name]
    assert getattr(VERSIONS[version], name).default_image_size == 224


def test_v1_and_v2_variable_names():
    """v1: BN after every conv, no biases. v2: 'preact' BN per unit, conv1 /
    shortcut / conv3 with biases and no BN, a final 'postnorm' (TF's names)."""
    with slim.Graph():
        v1, _ = meta_model(scoped(resnet_v1.resnet_v1_50, num_classes=10), size=64)
        v1_names = list(v1.named_variables())
    with slim.Graph():
        v2, _ = meta_model(scoped(resnet_v2.resnet_v2_50, num_classes=10), size=64)
        v2_names = list(v2.named_variables())
    unit = "block1/unit_1/bottleneck_v1/"
    for suffix in ("conv1/weights", "conv1/BatchNorm/gamma", "conv1/BatchNorm/moving_variance",
                   unit + "shortcut/weights", unit + "shortcut/BatchNorm/beta",
                   unit + "conv3/BatchNorm/gamma", "logits/weights", "logits/biases"):
        assert "resnet_v1_50/" + suffix in v1_names
    assert not [n for n in v1_names if "preact" in n or "postnorm" in n or
                ("biases" in n and "logits" not in n)]
    unit = "block1/unit_1/bottleneck_v2/"
    for suffix in ("conv1/weights", "conv1/biases", unit + "preact/gamma",
                   unit + "preact/moving_mean", unit + "shortcut/biases", unit + "conv2/BatchNorm/beta",
                   unit + "conv3/biases", "postnorm/gamma", "postnorm/moving_variance"):
        assert "resnet_v2_50/" + suffix in v2_names
    for absent in ("conv1/BatchNorm/beta", unit + "shortcut/BatchNorm/beta",
                   unit + "conv3/BatchNorm/beta", "block1/unit_2/bottleneck_v2/shortcut/weights"):
        assert "resnet_v2_50/" + absent not in v2_names


def test_bottleneck_shortcut_and_bounded_activations():
    x = torch.randn(2, 8, 5, 5) * 10
    y = resnet_v1.bottleneck(x, 8, 2, stride=2, use_bounded_activations=True, scope="unit")
    assert y.shape == (2, 8, 3, 3) and 0 <= y.min() and y.max() <= 6
    assert "unit/shortcut/weights" not in [v.name for v in slim.get_model_variables()]
    with pytest.raises(ValueError, match="4-D"):
        resnet_v2.bottleneck(torch.randn(2, 8), 8, 2, stride=1, scope="flat")


def test_is_training_follows_mode_explicit_value_and_outer_arg_scope():
    images = torch.randn(4, 3, 32, 32)
    model = slim.Model(tiny_resnet("v1")).build(images)
    moving_mean = model.named_variables()["tiny/conv1/BatchNorm/moving_mean"]

    def updates(train, outer=None, **call_kwargs):
        model.train(train)
        before = moving_mean.clone()
        if outer is None:
            model(images, **call_kwargs)
        else:
            with slim.arg_scope([slim.batch_norm], is_training=outer):
                model(images, **call_kwargs)
        return not torch.equal(before, moving_mean)

    assert updates(True)
    assert not updates(False)
    assert not updates(True, is_training=False)
    assert updates(False, is_training=True)
    # is_training=None leaves an outer arg_scope in charge (research/slim's v1)
    assert not updates(True, outer=False)
