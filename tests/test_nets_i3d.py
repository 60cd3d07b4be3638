"""I3D: research/slim's ``i3d_test.py`` translated, plus the factory entry,
arg-scope options and input checks.

research/slim's tests build 5 clips of 64 frames of 224x224; here they build
on the meta device (shapes only, no memory), so the sizes stay theirs. Shapes
are written channels-first (``[N, C, T, H, W]``; TF's are ``[N, T, H, W, C]``).
TF checks ``op.name.startswith('InceptionV1/<end point>')``; slimtorch has no
op names, so the translation checks that the output is that end point's
tensor. Variable counts under the arg scopes were printed from research/slim
with TF 2.21 + tf_slim. The parity fixtures are checked in
test_nets_s3dg.py (I3D is S3D-G's base without gating).
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import i3d, i3d_utils, nets_factory

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
        logits, end_points = _run(i3d.i3d, (batch_size, 3, num_frames, height, width),
                                  num_classes=num_classes)
        names = [v.name for v in slim.get_model_variables()]
    assert logits is end_points["Logits"]
    assert names[-2:] == ["InceptionV1/Logits/Conv2d_0c_1x1/weights",
                          "InceptionV1/Logits/Conv2d_0c_1x1/biases"]
    assert list(logits.shape) == [batch_size, num_classes]
    assert "Predictions" in end_points
    assert list(end_points["Predictions"].shape) == [batch_size, num_classes]


def test_build_base_network():
    batch_size, num_frames, height, width = 5, 64, 224, 224
    with slim.Graph():
        mixed_6c, end_points = _run(i3d.i3d_base, (batch_size, 3, num_frames, height, width))
    assert mixed_6c is end_points["Mixed_5c"]
    assert list(mixed_6c.shape) == [batch_size, 1024, 8, 7, 7]
    assert sorted(end_points) == sorted(ENDPOINTS)


def test_build_only_up_to_final_endpoint():
    batch_size, num_frames, height, width = 5, 64, 224, 224
    for index, endpoint in enumerate(ENDPOINTS):
        with slim.Graph():
            out_tensor, end_points = _run(i3d.i3d_base, (batch_size, 3, num_frames, height, width),
                                          final_endpoint=endpoint)
        assert out_tensor is end_points[endpoint]
        assert sorted(ENDPOINTS[:index + 1]) == sorted(end_points)


def test_build_and_check_all_end_points_up_to_mixed_5c():
    with slim.Graph():
        _, end_points = _run(i3d.i3d_base, (5, 3, 64, 224, 224), final_endpoint="Mixed_5c")
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
        mixed_5c, end_points = _run(i3d.i3d_base, (5, 3, 64, 112, 112))
    assert mixed_5c is end_points["Mixed_5c"]
    assert list(mixed_5c.shape) == [5, 1024, 8, 4, 4]


def test_ten_frames():
    with slim.Graph():
        mixed_5c, end_points = _run(i3d.i3d_base, (5, 3, 10, 224, 224))
    assert mixed_5c is end_points["Mixed_5c"]
    assert list(mixed_5c.shape) == [5, 1024, 2, 7, 7]


def _evaluation(num_frames, size):
    batch_size, num_classes = 2, 1000
    with slim.Graph():
        model = slim.Model(i3d.i3d, num_classes=num_classes, is_training=False)
        eval_inputs = torch.rand(batch_size, 3, num_frames, size, size)
        with torch.no_grad():
            logits, _ = model(eval_inputs)
    predictions = logits.argmax(1)
    assert predictions.shape == (batch_size,)


def test_evaluation_small():
    _evaluation(4, 32)


@pytest.mark.slow
def test_evaluation():
    _evaluation(64, 224)   # research/slim's size: about 200 GFLOPs


# -- beyond research/slim's tests -------------------------------------------------

def _counts(scope_fn, **kwargs):
    with slim.Graph(), slim.arg_scope(scope_fn()):
        model = slim.Model(i3d.i3d, num_classes=10, **kwargs).build((2, 3, 8, 64, 64), device="meta")
        return (len(model.tf_shapes()), len(slim.get_trainable_variables()),
                len(slim.losses.get_regularization_losses()), len(slim.get_collection("moving_vars")),
                dict(model.tf_shapes()))


def test_arg_scope_variables_match_research_slim():
    total, trainable, regularized, moving, shapes = _counts(i3d.i3d_arg_scope)
    assert (total, trainable, regularized, moving) == (230, 116, 58, 114)
    assert shapes["InceptionV1/Conv2d_1a_7x7/weights"] == [7, 7, 7, 3, 64]
    assert shapes["InceptionV1/Conv2d_2c_3x3/weights"] == [3, 3, 3, 64, 192]
    assert not any("temporal" in name or "self_gating" in name for name in shapes)


def test_separable_renorm_arg_scope_matches_research_slim():
    def scope():
        return i3d.i3d_arg_scope(separable_conv3d=True, use_renorm=True)
    total, trainable, regularized, moving, shapes = _counts(scope, is_training=True)
    assert (total, trainable, regularized, moving) == (439, 154, 77, 114)
    prefix = "InceptionV1/Mixed_3b/Branch_1/Conv2d_0b_3x3/"
    assert [(k[len(prefix):], v) for k, v in shapes.items() if k.startswith(prefix)] == [
        ("weights", [1, 3, 3, 96, 128]), ("BatchNorm/beta", [128]),
        ("BatchNorm/moving_mean", [128]), ("BatchNorm/moving_variance", [128]),
        ("BatchNorm/moving_stddev", [128]), ("BatchNorm/renorm_mean", [128]),
        ("BatchNorm/renorm_stddev", [128]), ("temporal/weights", [3, 1, 1, 128, 128]),
        ("temporal/biases", [128])]


def test_separable_temporal_convolutions_start_as_the_identity():
    with slim.Graph(), slim.arg_scope(i3d.i3d_arg_scope(separable_conv3d=True)):
        model = slim.Model(i3d.i3d_base, final_endpoint="Conv2d_2c_3x3")
        model.build((1, 3, 4, 16, 16), device="meta").materialize("cpu")
    temporal = dict(model.named_variables())["InceptionV1/Conv2d_2c_3x3/temporal/weights"]
    kernel = temporal.detach().permute(2, 3, 4, 1, 0)   # TF layout [t, 1, 1, in, out]
    assert torch.equal(kernel[1, 0, 0], torch.eye(192))
    assert not kernel[0].any() and not kernel[2].any()


def test_center_initializer_errors():
    init = i3d_utils.center_initializer()
    for shape, message in [((3, 1, 1, 2), "5-D"), ((3, 1, 1, 2, 4), "channel dimensions"),
                           ((3, 3, 3, 2, 2), "Spatial kernel sizes"), ((4, 1, 1, 2, 2), "odd")]:
        with pytest.raises(ValueError, match=message):
            init(torch.empty(shape))


def test_factory_entry_takes_clips():
    network_fn = nets_factory.get_network_fn("i3d", 10)
    assert network_fn.default_image_size == 224 and network_fn.input_channels == 3
    assert network_fn.input_spec.video
    with slim.Graph():
        network_fn.build((2, 3, 8, 64, 64), device="meta")
        logits, end_points = network_fn(torch.empty(2, 3, 8, 64, 64, device="meta"))
    assert list(logits.shape) == [2, 10] and list(end_points)[-2:] == ["Logits", "Predictions"]


@pytest.mark.parametrize("shape, problem", [
    ((2, 8, 64, 64, 3), "channels-last (NDHWC); use videos.permute(0, 4, 1, 2, 3)"),
    ((2, 3, 64, 64), "images, not clips [N, C, T, H, W]; for one-frame clips use images.unsqueeze(2)"),
    ((3, 8, 64, 64), "one clip, not a batch; use videos.unsqueeze(0)"),
])
def test_factory_input_errors(shape, problem):
    with slim.Graph(), pytest.raises(ValueError) as info:
        nets_factory.get_network_fn("i3d", 10).build(shape, device="meta")
    assert str(info.value) == (f"i3d: expected float videos [N, 3, T, H, W] (NCDHW), got "
                               f"float32 {list(shape)}: {problem}")


def test_num_classes_0_returns_the_pooled_features():
    with slim.Graph():
        net, end_points = _run(i3d.i3d, (2, 3, 16, 224, 224), num_classes=0)
        names = [v.name for v in slim.get_model_variables()]
    assert list(net.shape) == [2, 1024, 1, 1, 1]
    assert "Logits" not in end_points and not any("Logits" in n for n in names)


def test_spatial_squeeze_false_and_too_large_frames():
    with slim.Graph():
        logits, _ = _run(i3d.i3d, (2, 3, 8, 64, 64), num_classes=10, spatial_squeeze=False)
    assert list(logits.shape) == [2, 10, 1, 1]
    with slim.Graph(), pytest.raises(ValueError, match="SpatialSqueeze: cannot squeeze"):
        _run(i3d.i3d, (1, 3, 8, 256, 256), num_classes=10)


def test_unknown_final_endpoint():
    with slim.Graph(), pytest.raises(ValueError, match="Unknown final endpoint Mixed_6c"):
        _run(i3d.i3d_base, (1, 3, 8, 64, 64), final_endpoint="Mixed_6c")
