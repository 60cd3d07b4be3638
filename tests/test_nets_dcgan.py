"""research/slim's ``nets/dcgan_test.py``, translated (NHWC -> NCHW; each TF
graph is a :class:`slimtorch.Model` built on the meta device where nothing is
run), plus the slimtorch-specific behaviour: batch norm following train/eval
and the discriminator shared between real and generated images."""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import dcgan


def _generator(batch_size=100, noise=64, device="meta", **kwargs):
    model = slim.Model(dcgan.generator, **kwargs)
    noise = torch.randn(batch_size, noise, device=device)
    return model(noise)


def _discriminator(shape, device="meta", **kwargs):
    model = slim.Model(dcgan.discriminator, **kwargs)
    return model(torch.empty(shape, device=device).uniform_(-1, 1)
                 if device != "meta" else torch.empty(shape, device=device))


def test_generator_run():
    torch.manual_seed(1234)
    with slim.Graph():
        image, _ = _generator(device="cpu")
    assert torch.isfinite(image).all()


@pytest.mark.parametrize("i, batch_size", list(zip(range(3, 7), range(3, 8))))
def test_generator_graph(i, batch_size):
    # Graph construction for a number of image sizes/depths and batch sizes.
    final_size = 2 ** i
    with slim.Graph():
        image, end_points = _generator(batch_size, depth=32, final_size=final_size)
    assert list(image.shape) == [batch_size, 3, final_size, final_size]
    expected_names = [f"deconv{j}" for j in range(1, i)] + ["logits"]
    assert set(end_points) == set(expected_names)
    # Layer depths (channels: axis 1 in NCHW).
    for j in range(1, i):
        assert end_points[f"deconv{j}"].shape[1] == 32 * 2 ** (i - j - 1)


def test_generator_invalid_input():
    with slim.Graph(), pytest.raises(ValueError):
        slim.Model(dcgan.generator)(torch.zeros(5, 32, 32))
    correct_input = torch.zeros(3, 2)
    with slim.Graph(), pytest.raises(ValueError, match="must be a power of 2"):
        slim.Model(dcgan.generator, final_size=30)(correct_input)
    with slim.Graph(), pytest.raises(ValueError, match="must be greater than 8"):
        slim.Model(dcgan.generator, final_size=4)(correct_input)


def test_discriminator_run():
    with slim.Graph():
        output, _ = _discriminator((5, 3, 32, 32), device="cpu")
    assert output.shape == (5, 1) and torch.isfinite(output).all()


@pytest.mark.parametrize("i, batch_size", list(zip(range(1, 6), range(3, 8))))
def test_discriminator_graph(i, batch_size):
    img_w = 2 ** i
    with slim.Graph():
        output, end_points = _discriminator((batch_size, 3, img_w, img_w), depth=32)
    assert list(output.shape) == [batch_size, 1]
    expected_names = [f"conv{j}" for j in range(1, i + 1)] + ["logits"]
    assert set(end_points) == set(expected_names)
    for j in range(1, i + 1):
        assert end_points[f"conv{j}"].shape[1] == 32 * 2 ** (j - 1)


def test_discriminator_invalid_input():
    with slim.Graph(), pytest.raises(ValueError):
        _discriminator((5, 32, 32))
    # research/slim also refuses a [5, 32, None, 3] placeholder (spatial
    # dimensions unknown when the graph is built); a torch tensor always has them.
    with slim.Graph(), pytest.raises(ValueError, match="not have equal width and height"):
        _discriminator((5, 3, 32, 16))
    with slim.Graph(), pytest.raises(ValueError, match="not a power of 2"):
        _discriminator((5, 3, 30, 30))


# -- slimtorch -------------------------------------------------------------------------
def test_variable_names_and_counts():
    with slim.Graph():
        gen = slim.Model(dcgan.generator, depth=8, final_size=16).build((2, 10), device="meta")
        disc = slim.Model(dcgan.discriminator, depth=8).build((2, 3, 16, 16), device="meta")
    # 3 transposed convs (2 with batch norm: beta, moving mean/variance and the
    # zero-debias pair) + the logits conv.
    assert len(gen.variables()) == 16
    assert gen.tf_shapes()["Generator/deconv1/weights"] == [4, 4, 32, 10]
    assert "Generator/deconv2/BatchNorm/Generator/deconv2/BatchNorm/moving_mean/biased" in \
        gen.tf_shapes()
    assert disc.tf_shapes()["Discriminator/Conv/weights"] == [1, 1, 64, 1]
    assert [n for n in disc.tf_shapes() if n.endswith("/weights")] == [
        f"Discriminator/conv{i}/weights" for i in range(1, 5)] + ["Discriminator/Conv/weights"]


def test_batch_norm_follows_train_and_eval():
    torch.manual_seed(0)
    with slim.Graph():
        gen = slim.Model(dcgan.generator, depth=4, final_size=8)
        noise = torch.randn(4, 8)
        gen(noise)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    gen.eval()(noise)
    assert all(torch.equal(v, gen.state_dict()[k]) for k, v in before.items())
    gen.train()(noise)   # training mode: batch statistics, moving averages updated
    assert not torch.equal(before["Generator.deconv1.BatchNorm.moving_mean"],
                           gen.state_dict()["Generator.deconv1.BatchNorm.moving_mean"])


def test_one_discriminator_for_real_and_generated_images():
    with slim.Graph():
        gen = slim.Model(dcgan.generator, depth=4, final_size=8)
        disc = slim.Model(dcgan.discriminator, depth=4)
        fake, _ = gen(torch.randn(3, 8))
        real_logits, _ = disc(torch.rand(3, 3, 8, 8))
        fake_logits, _ = disc(fake)
    assert real_logits.shape == fake_logits.shape == (3, 1)
    # conv1 and the logits: weights, biases; conv2, conv3: weights and 5 batch-norm variables.
    assert len(disc.variables()) == 16
    fake_logits.sum().backward()
    assert gen.get_submodule("Generator.logits").weights.grad is not None
