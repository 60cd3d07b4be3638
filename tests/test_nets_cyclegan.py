"""research/slim's ``nets/cyclegan_test.py``, translated (NHWC -> NCHW; graphs
that TF only built are built on the meta device; TF's placeholders with
unknown dimensions are one built model called with several sizes), plus the
slimtorch-specific checks of the upsampling choices, padding and names."""

import functools

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import cyclegan


def _generator(images, **kwargs):
    with slim.Graph():
        return slim.Model(cyclegan.cyclegan_generator_resnet, **kwargs)(images)


def test_generator_inference():
    """One inference step."""
    model_output, _ = _generator(torch.zeros(2, 3, 32, 32))
    assert list(model_output.shape) == [2, 3, 32, 32] and torch.isfinite(model_output).all()


@pytest.mark.parametrize("shape", [[4, 3, 32, 32], [3, 3, 128, 128], [2, 3, 80, 400]],
                         ids=["small", "medium", "nonsquare"])
def test_generator_graph(shape):
    """The generator takes small and non-square inputs."""
    output_imgs, _ = _generator(torch.ones(shape, device="meta"))
    assert list(output_imgs.shape) == shape


def test_generator_unknown_batch_dim():
    """TF: a [None, 32, None, 3] placeholder gives a [None, 32, None, 3] output.
    Here: one model takes any batch size and width."""
    with slim.Graph():
        model = slim.Model(cyclegan.cyclegan_generator_resnet).build((1, 3, 32, 16),
                                                                     device="meta")
    for shape in ([1, 3, 32, 16], [5, 3, 32, 40], [2, 3, 32, 8]):
        output_imgs, _ = model(torch.empty(shape, device="meta"))
        assert list(output_imgs.shape) == shape


@pytest.mark.parametrize("kernel_size", [3, 4, 5, 6])
def test_input_and_output_same_shape(kernel_size):
    # research/slim's input_and_output_same_shape_kernel{3,4,5,6} (named
    # without test_, so TF's runner skipped them; they hold).
    img_batch = torch.empty(2, 3, 32, 32, device="meta")
    output_img_batch, _ = _generator(img_batch, kernel_size=kernel_size)
    assert output_img_batch.shape == img_batch.shape


@pytest.mark.parametrize("height", [29, 30, 31])
def test_error_if_height_not_multiple_of_four(height):
    with pytest.raises(ValueError, match="The input height must be a multiple of 4."):
        _generator(torch.empty(1, 3, height, 32, device="meta"))


@pytest.mark.parametrize("width", [29, 30, 31])
def test_error_if_width_not_multiple_of_four(width):
    with pytest.raises(ValueError, match="The input width must be a multiple of 4."):
        _generator(torch.empty(1, 3, 32, width, device="meta"))


# -- slimtorch --------------------------------------------------------------------------
def test_default_variables_and_end_points():
    with slim.Graph():
        model = slim.Model(cyclegan.cyclegan_generator_resnet).build((1, 3, 32, 32),
                                                                     device="meta")
        _, end_points = model(torch.empty(1, 3, 32, 32, device="meta"))
    shapes = model.tf_shapes()
    # 3 encoder + 12 residual convs with instance norm, 2 transposed convs with
    # biases, the output conv with biases.
    assert len(shapes) == 15 * 3 + 2 * 2 + 2
    assert shapes["input/Conv/weights"] == [7, 7, 3, 64]
    assert shapes["residual_blocks/block_5/Conv_1/InstanceNorm/gamma"] == [256]
    assert shapes["decoder/decoder1/upconv/Conv2d_transpose/weights"] == [3, 3, 128, 256]
    assert shapes["output/Conv/biases"] == [3]
    assert list(end_points) == ["encoder_0", "encoder_1", "encoder_2"] + [
        f"resnet_block_{i}" for i in range(6)] + ["decoder1", "decoder2", "logits",
                                                   "predictions"]
    assert list(end_points["encoder_2"].shape) == [1, 256, 8, 8]


@pytest.mark.parametrize("method, layer", [("nn_upsample_conv", "Conv"),
                                           ("bilinear_upsample_conv", "Conv")])
def test_resize_upsampling(method, layer):
    upsample = functools.partial(cyclegan.cyclegan_upsample, method=method)
    with slim.Graph():
        model = slim.Model(cyclegan.cyclegan_generator_resnet, num_filters=4,
                           num_resnet_blocks=1, upsample_fn=upsample).build((1, 3, 16, 12),
                                                                             device="meta")
    shapes = model.tf_shapes()
    assert shapes[f"decoder/decoder1/upconv/{layer}/weights"] == [3, 3, 16, 8]
    assert f"decoder/decoder1/upconv/{layer}/InstanceNorm/beta" in shapes


def test_unknown_upsample_method():
    with slim.Graph(), pytest.raises(ValueError, match=r"Unknown method: \[bicubic\]"):
        cyclegan.cyclegan_upsample(torch.zeros(1, 2, 4, 4), 2, [2, 2], method="bicubic")


def test_tanh_linear_slope():
    torch.manual_seed(0)
    images = torch.rand(1, 3, 8, 8)
    predictions, end_points = _generator(images, num_filters=2, num_resnet_blocks=1,
                                         tanh_linear_slope=0.5)
    logits = end_points["logits"]
    torch.testing.assert_close(predictions, torch.tanh(logits) + 0.5 * logits)
