"""research/slim's ``nets/pix2pix_test.py``, translated (NHWC -> NCHW; graphs
that TF only built are built on the meta device), plus the slimtorch-specific
checks of the padding modes and the decoder's always-on dropout."""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import pix2pix


def _reduced_default_blocks():
    """The default blocks, scaled down to make the test run faster."""
    return [pix2pix.Block(b.num_filters // 32, b.decoder_keep_prob)
            for b in pix2pix._default_generator_blocks()]


def _generator(images, num_outputs, blocks=None, **kwargs):
    with slim.Graph(), slim.arg_scope(pix2pix.pix2pix_arg_scope()):
        return slim.Model(pix2pix.pix2pix_generator, num_outputs=num_outputs, blocks=blocks,
                          **kwargs)(images)


def _discriminator(images, **kwargs):
    with slim.Graph(), slim.arg_scope(pix2pix.pix2pix_arg_scope()):
        return slim.Model(pix2pix.pix2pix_discriminator, **kwargs)(images)


# -- GeneratorTest ----------------------------------------------------------------------
@pytest.mark.parametrize("upsample_method", ["nn_upsample_conv", "conv2d_transpose"])
def test_output_size(upsample_method):
    # test_output_size_nn_upsample_conv, test_output_size_conv2d_transpose: run on CPU.
    batch_size, height, width, num_outputs = 2, 256, 256, 4
    images = torch.ones(batch_size, 3, height, width)
    logits, _ = _generator(images, num_outputs, blocks=_reduced_default_blocks(),
                           upsample_method=upsample_method)
    assert list(logits.shape) == [batch_size, num_outputs, height, width]
    assert torch.isfinite(logits).all()


def test_block_number_dictates_number_of_layers():
    images = torch.ones(2, 3, 256, 256, device="meta")
    blocks = [pix2pix.Block(64, 0.5), pix2pix.Block(128, 0)]
    _, end_points = _generator(images, 4, blocks)
    num_encoder_layers = sum(1 for k in end_points if k.startswith("encoder"))
    num_decoder_layers = sum(1 for k in end_points if k.startswith("decoder"))
    assert num_encoder_layers == len(blocks)
    assert num_decoder_layers == len(blocks)


# -- DiscriminatorTest ------------------------------------------------------------------
def _layer_output_size(input_size, kernel_size=4, stride=2, pad=2):
    return (input_size + pad * 2 - kernel_size) // stride + 1


@pytest.mark.parametrize("pad", [2, 0])
def test_four_layers(pad):
    # test_four_layers (default padding 2) and test_four_layers_no_padding.
    batch_size, input_size = 2, 256
    output_size = _layer_output_size(input_size, pad=pad)
    output_size = _layer_output_size(output_size, pad=pad)
    output_size = _layer_output_size(output_size, pad=pad)
    output_size = _layer_output_size(output_size, stride=1, pad=pad)
    output_size = _layer_output_size(output_size, stride=1, pad=pad)
    images = torch.ones(batch_size, 3, input_size, input_size, device="meta")
    kwargs = {} if pad == 2 else {"padding": pad}
    logits, end_points = _discriminator(images, num_filters=[64, 128, 256, 512], **kwargs)
    assert list(logits.shape) == [batch_size, 1, output_size, output_size]
    assert list(end_points["predictions"].shape) == [batch_size, 1, output_size, output_size]


def test_four_layers_wrong_padding():
    images = torch.ones(2, 3, 256, 256, device="meta")
    with pytest.raises(TypeError):
        _discriminator(images, num_filters=[64, 128, 256, 512], padding=1.5)


def test_four_layers_negative_padding():
    images = torch.ones(2, 3, 256, 256, device="meta")
    with pytest.raises(ValueError):
        _discriminator(images, num_filters=[64, 128, 256, 512], padding=-1)


# -- slimtorch --------------------------------------------------------------------------
def test_default_blocks_and_variable_names():
    images = torch.ones(1, 3, 128, 128, device="meta")
    with slim.Graph(), slim.arg_scope(pix2pix.pix2pix_arg_scope()):
        model = slim.Model(pix2pix.pix2pix_generator, num_outputs=3).build(
            tuple(images.shape), device="meta")
        logits, end_points = model(images)
    shapes = model.tf_shapes()
    # 7 encoder and 7 decoder convs with instance norm (none on the first
    # and last encoder layers, which have biases instead), one output conv.
    assert len(shapes) == 2 + 5 * 3 + 2 + 7 * 3 + 2
    assert shapes["encoder/Conv/weights"] == [4, 4, 3, 64]
    assert shapes["encoder/Conv_6/biases"] == [512]
    assert shapes["decoder/Conv_6/weights"] == [4, 4, 192, 64]   # 128 + 64 channels in
    assert shapes["output/Conv/weights"] == [4, 4, 64, 3]
    assert list(logits.shape) == [1, 3, 128, 128]
    assert list(end_points["encoder6"].shape) == [1, 512, 1, 1]


def test_generator_input_size_must_fit_the_blocks():
    with pytest.raises(ValueError, match=r"multiples of 2\*\*len\(blocks\) = 4"):
        _generator(torch.ones(1, 3, 10, 10), 3, [pix2pix.Block(4, 0), pix2pix.Block(8, 0)])


def test_unknown_upsample_method():
    with pytest.raises(ValueError, match=r"Unknown method: \[bicubic\]"):
        _generator(torch.ones(1, 3, 8, 8, device="meta"), 3, [pix2pix.Block(4, 0)],
                   upsample_method="bicubic")


def test_decoder_dropout_stays_on_in_eval_mode():
    torch.manual_seed(0)
    images = torch.rand(1, 3, 16, 16)
    with slim.Graph(), slim.arg_scope(pix2pix.pix2pix_arg_scope()):
        model = slim.Model(pix2pix.pix2pix_generator, num_outputs=3,
                           blocks=[pix2pix.Block(4, 0.5), pix2pix.Block(8, 0)])
        model(images)
    model.eval()
    first, _ = model(images)
    again, _ = model(images)
    assert not torch.equal(first, again)


@pytest.mark.parametrize("pad_mode", ["CONSTANT", "REFLECT", "SYMMETRIC", "reflect"])
def test_pad_modes(pad_mode):
    logits, _ = _discriminator(torch.ones(1, 3, 32, 32, device="meta"), num_filters=[4, 8],
                               pad_mode=pad_mode)
    assert list(logits.shape) == [1, 1, 19, 19]
    with pytest.raises(ValueError, match="mode must be one of"):
        _discriminator(torch.ones(1, 3, 32, 32, device="meta"), num_filters=[4, 8],
                       pad_mode="EDGE")
