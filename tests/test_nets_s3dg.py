"""S3D-G: research/slim's ``s3dg_test.py`` translated, options, and the
video nets' (I3D's and S3D-G's) golden manifests and TF-Slim outputs.

As in test_nets_i3d.py: research/slim's sizes on the meta device, shapes
channels-first, ``op.name`` checks as "the output is that end point".
tests/golden/{manifests,fixtures}/{i3d,s3dg}* were recorded with real
TensorFlow 2.21 + tf_slim from research/slim's nets by
``scripts/make_tf_fixtures.py`` on short, small clips (8 frames of 64x64:
the nets' pools shrink to the input, so every variable and end point is
there); the inputs are regenerated from the stored seed.
"""

import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch.nets import nets_factory, s3dg
from slimtorch.testing import assign_random_weights, relative_error

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
ENDPOINTS = ["Conv2d_1a_7x7", "MaxPool_2a_3x3", "Conv2d_2b_1x1", "Conv2d_2c_3x3",
             "MaxPool_3a_3x3", "Mixed_3b", "Mixed_3c", "MaxPool_4a_3x3", "Mixed_4b", "Mixed_4c",
             "Mixed_4d", "Mixed_4e", "Mixed_4f", "MaxPool_5a_2x2", "Mixed_5b", "Mixed_5c"]


def _run(fn, shape, **kwargs):
    """``fn`` as a model built on meta and called on a meta clip of ``shape``."""
    model = slim.Model(fn, **kwargs).build(shape, device="meta")
    return model(torch.empty(shape, device="meta"))


def test_build_classification_network():
    batch_size, num_frames, height, width, num_classes = 5, 64, 224, 224, 1000
    with slim.Graph():
        logits, end_points = _run(s3dg.s3dg, (batch_size, 3, num_frames, height, width),
                                  num_classes=num_classes)
        names = [v.name for v in slim.get_model_variables()]
    assert logits is end_points["Logits"]
    assert names[-2:] == ["InceptionV1/Logits/Conv2d_0c_1x1/weights",
                          "InceptionV1/Logits/Conv2d_0c_1x1/biases"]
    assert list(logits.shape) == [batch_size, num_classes]
    assert "Predictions" in end_points
    assert list(end_points["Predictions"].shape) == [batch_size, num_classes]


def test_build_base_network():
    with slim.Graph():
        mixed_6c, end_points = _run(s3dg.s3dg_base, (5, 3, 64, 224, 224))
    assert mixed_6c is end_points["Mixed_5c"]
    assert list(mixed_6c.shape) == [5, 1024, 8, 7, 7]
    assert sorted(end_points) == sorted(ENDPOINTS)


def test_build_only_up_to_final_endpoint_no_gating():
    for index, endpoint in enumerate(ENDPOINTS):
        with slim.Graph():
            out_tensor, end_points = _run(s3dg.s3dg_base, (5, 3, 64, 224, 224),
                                          final_endpoint=endpoint, gating_startat=None)
            names = [v.name for v in slim.get_model_variables()]
        assert out_tensor is end_points[endpoint]
        assert sorted(ENDPOINTS[:index + 1]) == sorted(end_points)
        assert not any("self_gating" in name for name in names)


def test_build_and_check_all_end_points_up_to_mixed_5c():
    with slim.Graph():
        _, end_points = _run(s3dg.s3dg_base, (5, 3, 64, 224, 224), final_endpoint="Mixed_5c")
    endpoints_shapes = {"Conv2d_1a_7x7": [5, 64, 32, 112, 112],
                        "MaxPool_2a_3x3": [5, 64, 32, 56, 56],
                        "Conv2d_2b_1x1": [5, 64, 32, 56, 56],
                        "Conv2d_2c_3x3": [5, 192, 32, 56, 56],
                        "MaxPool_3a_3x3": [5, 192, 32, 28, 28],
                        "Mixed_3b": [5, 256, 32, 28, 28],
                        "Mixed_3c": [5, 480, 32, 28, 28],
                        "MaxPool_4a_3x3": [5, 480, 16, 14, 14],
                        "Mixed_4b": [5, 512, 16, 14, 14],
                        "Mixed_4c": [5, 512, 16, 14, 14],
                        "Mixed_4d": [5, 512, 16, 14, 14],
                        "Mixed_4e": [5, 528, 16, 14, 14],
                        "Mixed_4f": [5, 832, 16, 14, 14],
                        "MaxPool_5a_2x2": [5, 832, 8, 7, 7],
                        "Mixed_5b": [5, 832, 8, 7, 7],
                        "Mixed_5c": [5, 1024, 8, 7, 7]}
    assert sorted(endpoints_shapes) == sorted(end_points)
    for endpoint_name, expected_shape in endpoints_shapes.items():
        assert endpoint_name in end_points
        assert list(end_points[endpoint_name].shape) == expected_shape, endpoint_name


def test_half_size_images():
    with slim.Graph():
        mixed_5c, end_points = _run(s3dg.s3dg_base, (5, 3, 64, 112, 112))
    assert mixed_5c is end_points["Mixed_5c"]
    assert list(mixed_5c.shape) == [5, 1024, 8, 4, 4]


def test_ten_frames():
    with slim.Graph():
        mixed_5c, end_points = _run(s3dg.s3dg_base, (5, 3, 10, 224, 224))
    assert mixed_5c is end_points["Mixed_5c"]
    assert list(mixed_5c.shape) == [5, 1024, 2, 7, 7]


def _evaluation(num_frames, size):
    batch_size, num_classes = 2, 1000
    with slim.Graph():
        model = slim.Model(s3dg.s3dg, num_classes=num_classes, is_training=False)
        with torch.no_grad():
            logits, _ = model(torch.rand(batch_size, 3, num_frames, size, size))
    assert logits.argmax(1).shape == (batch_size,)


def test_evaluation_small():
    _evaluation(4, 32)


@pytest.mark.slow
def test_evaluation():
    _evaluation(64, 224)   # research/slim's size


# -- beyond research/slim's tests -------------------------------------------------

def _describe(fn, shape=(2, 3, 8, 64, 64), scope=None, **kwargs):
    with slim.Graph(), slim.arg_scope(scope or {}):
        model = slim.Model(fn, **kwargs).build(shape, device="meta")
        out, _ = model(torch.empty(shape, device="meta"))
        return {"out": list(out.shape), "variables": dict(model.tf_shapes()),
                "trainable": len(slim.get_trainable_variables()),
                "regularized": len(slim.losses.get_regularization_losses()),
                "moving": len(slim.get_collection("moving_vars"))}


def test_arg_scope_variables_match_research_slim():
    built = _describe(s3dg.s3dg, scope=s3dg.s3dg_arg_scope(), num_classes=10, spatial_squeeze=False)
    assert (len(built["variables"]), built["trainable"], built["regularized"], built["moving"]) == \
        (305, 191, 114, 114)
    assert built["out"] == [2, 10, 1, 1]
    assert [(k, v) for k, v in built["variables"].items() if "Conv2d_2c_3x3" in k] == [
        ("InceptionV1/Conv2d_2c_3x3/weights", [1, 3, 3, 64, 192]),
        ("InceptionV1/Conv2d_2c_3x3/BatchNorm/beta", [192]),
        ("InceptionV1/Conv2d_2c_3x3/BatchNorm/moving_mean", [192]),
        ("InceptionV1/Conv2d_2c_3x3/BatchNorm/moving_variance", [192]),
        ("InceptionV1/Conv2d_2c_3x3/temporal/weights", [3, 1, 1, 192, 192]),
        ("InceptionV1/Conv2d_2c_3x3/temporal/biases", [192]),
        ("InceptionV1/Conv2d_2c_3x3/self_gating/transformer_W/weights", [1, 1, 1, 192, 192])]


def test_base_without_arg_scope_matches_research_slim():
    # Outside s3dg_arg_scope: biases, no batch norm, 3x3x3 convolutions (not separable).
    built = _describe(s3dg.s3dg_base)
    assert (len(built["variables"]), built["trainable"], built["regularized"]) == (151, 151, 0)
    assert built["out"] == [2, 1024, 1, 2, 2]
    assert built["variables"]["InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/weights"] == [3, 3, 3, 96, 128]
    assert built["variables"]["InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/biases"] == [128]


def test_inverted_pyramid_and_depth_multiplier():
    built = _describe(s3dg.s3dg_base, scope=s3dg.s3dg_arg_scope(), depth_multiplier=0.5,
                      temporal_conv_startat="Mixed_4b", gating_startat="Mixed_4c")
    names = built["variables"]
    assert names["InceptionV1/Conv2d_1a_7x7/weights"] == [3, 7, 7, 3, 32]
    assert names["InceptionV1/Mixed_3c/Branch_1/Conv2d_0b_3x3/weights"] == [1, 3, 3, 64, 96]
    assert "InceptionV1/Mixed_3c/Branch_1/Conv2d_0b_3x3/temporal/weights" not in names
    assert names["InceptionV1/Mixed_4b/Branch_1/Conv2d_0b_3x3/temporal/weights"] == [3, 1, 1, 104, 104]
    assert not any("self_gating" in n and "Mixed_4b" in n for n in names)
    assert names["InceptionV1/Mixed_4c/Branch_3/Conv2d_0b_1x1/self_gating/transformer_W/weights"] \
        == [1, 1, 1, 32, 32]
    assert built["out"] == [2, 512, 1, 2, 2]


def test_ndhwc_data_format_computes_the_same():
    clip = torch.randn(1, 3, 4, 32, 32)
    outputs = {}
    for data_format, x in [(None, clip), ("NDHWC", clip.permute(0, 2, 3, 4, 1))]:
        with slim.Graph(), slim.arg_scope(s3dg.s3dg_arg_scope()):
            model = slim.Model(s3dg.s3dg, num_classes=5, depth_multiplier=0.1,
                               data_format=data_format).build(tuple(x.shape), device="meta")
            model.to_empty(device="cpu")
            assign_random_weights(model, 1)
            with torch.no_grad():
                outputs[data_format] = model.eval()(x)
    assert torch.allclose(outputs["NDHWC"][0], outputs[None][0], atol=1e-5)
    assert torch.allclose(outputs["NDHWC"][1]["Mixed_5c"].permute(0, 4, 1, 2, 3),
                          outputs[None][1]["Mixed_5c"], atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    ({"first_temporal_kernel_size": 2}, "first_temporal_kernel_size can only be 1, 3, 5 or 7."),
    ({"depth_multiplier": 0}, "depth_multiplier is not greater than zero."),
    ({"final_endpoint": "Mixed_6c"}, "Unknown final endpoint Mixed_6c"),
    ({"data_format": "NHWC"}, "data_format must be 'NDHWC' or 'NCDHW'"),
])
def test_errors(kwargs, message):
    with slim.Graph(), pytest.raises(ValueError, match=message):
        _run(s3dg.s3dg_base, (1, 3, 8, 32, 32), **kwargs)


def test_self_gating_multiplies_by_a_sigmoid_of_the_clip_mean():
    x = torch.randn(2, 4, 3, 5, 5)
    with slim.Graph():
        y = s3dg.self_gating(x, scope="gate")
        (w,) = slim.get_model_variables()
    gate = torch.sigmoid(torch.einsum("nc,oc->no", x.mean((2, 3, 4)), w.detach()[:, :, 0, 0, 0]))
    assert torch.allclose(y, x * gate[:, :, None, None, None], atol=1e-6)


# -- golden manifests and TF-Slim outputs (both video nets) ------------------------

def _video(meta_or_manifest, batch, seed):
    """The NCDHW clip ``scripts/check_tf_parity.input_for`` made."""
    size, frames = int(meta_or_manifest["image_size"]), int(meta_or_manifest["num_frames"])
    return np.random.RandomState(seed).standard_normal((batch, 3, frames, size, size)).astype(np.float32)


@pytest.mark.parametrize("net", ["i3d", "s3dg"])
def test_variables_and_end_points_match_tf_slim(net):
    with open(os.path.join(GOLDEN, "manifests", f"{net}.json")) as f:
        manifest = json.load(f)
    shape = (2, 3, manifest["num_frames"], manifest["image_size"], manifest["image_size"])
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(net, manifest["num_classes"])
        network_fn.build(shape, device="meta")
        assert [[n, s] for n, s in network_fn.tf_shapes().items()] == manifest["variables"]
        assert [v.name for v in slim.get_model_variables()] == [n for n, _ in manifest["variables"]]
        logits, end_points = network_fn(torch.empty(shape, device="meta"))
    assert list(end_points) == manifest["end_points"]
    assert list(logits.shape) == [2] + manifest["logits_shape"]


@pytest.mark.parametrize("case", ["i3d", "s3dg", pytest.param("s3dg_inverted_pyramid",
                                                               marks=pytest.mark.slow)])
def test_outputs_match_tf_slim(case):
    with safe_open(os.path.join(GOLDEN, "fixtures", f"{case}.safetensors"), "np") as f:
        meta = f.metadata()
        expected = {k: f.get_tensor(k) for k in f.keys()}
    seed, kwargs = int(meta["seed"]), json.loads(meta["kwargs"])
    videos = torch.from_numpy(_video(meta, int(meta["batch"]), seed))
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(meta["net"], int(meta["num_classes"]))
        network_fn.build(tuple(videos.shape), device="meta", **kwargs).to_empty(device="cpu")
        assign_random_weights(network_fn, seed)
        with torch.no_grad():
            logits, end_points = network_fn(videos, **kwargs)
    assert relative_error(logits.numpy(), expected.pop("logits")) <= 1e-4
    assert expected
    for key, value in expected.items():
        point = key.split("/", 1)[1]
        assert relative_error(end_points[point].numpy(), value) <= 1e-4, point
