"""The first call of a model checks its input (issue 16): each zoo net
declares the images it takes (``input_channels``, ``min_image_size``), and
a plain ``slim.Model`` refuses an input that looks channels-last. The exact
messages are pinned in test_error_catalogue.py; this file checks the
declarations against the architectures and the behaviour around the check.
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import nets_factory


@pytest.mark.parametrize("name", nets_factory.network_names())
def test_min_image_size_is_the_smallest_input_the_net_builds_on(name):
    """At the declared minimum the net builds (meta device: no memory); one
    pixel less fails inside the architecture (the check turned off) and
    through the factory with the clear error."""
    size, channels = nets_factory.min_image_size(name), nets_factory.input_channels(name)
    function = nets_factory.networks_map[name]
    assert 1 <= size <= function.default_image_size
    if size == 1:
        return   # nothing smaller to refuse (every conv and pool is 'SAME')
    frames = getattr(function, "default_num_frames", None)   # video nets take clips

    def shape(side):
        return (1, channels, frames, side, side) if frames else (1, channels, side, side)
    # Training mode: NASNet's aux head, which sets its minimum, exists only there (as in TF).
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(name, 10, is_training=True)
        assert network_fn.min_image_size == size
        assert network_fn.input_spec == slim.InputSpec(channels, size, network_fn.input_spec.preprocessing,
                                                       video=bool(frames))
        network_fn.build(shape(size), device="meta")
    with slim.Graph():
        unchecked = nets_factory.get_network_fn(name, 10, is_training=True)
        unchecked.input_spec = slim.InputSpec()
        with pytest.raises((RuntimeError, ValueError)):
            unchecked.build(shape(size - 1), device="meta")
        assert not unchecked.built   # rolled back
    with slim.Graph():
        with pytest.raises(ValueError, match=f"^{name}: ") as info:
            nets_factory.get_network_fn(name, 10, is_training=True).build(shape(size - 1),
                                                                          device="meta")
        assert "too small" in str(info.value)


def test_a_smaller_input_that_other_arguments_accept_is_not_refused():
    """The size check waits for the failure: ``global_pool=True`` takes
    inputs under inception_v1's 193, and inception_v3 without its aux head
    takes 75."""
    with slim.Graph():
        net = nets_factory.get_network_fn("inception_v1", 10)
        net.build((1, 3, 64, 64), device="meta", global_pool=True)
        assert net.built
    with slim.Graph():
        net = nets_factory.get_network_fn("inception_v3", 10)
        net.build((1, 3, 80, 80), device="meta", create_aux_logits=False)
        assert net.built


def test_a_refused_first_call_leaves_the_net_unbuilt_and_a_good_one_works():
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10)
        with pytest.raises(ValueError, match="channels-last"):
            net(torch.zeros(2, 28, 28, 1))
        assert not net.built and list(net.parameters()) == []
        logits, _ = net(torch.zeros(2, 1, 28, 28))
        assert logits.shape == (2, 10) and net.LeNet.conv1.weights.shape[1] == 1


def test_only_the_first_call_is_checked():
    """The apply path does no input checks (the layers' own shape checks
    remain): a spec changed after the build is not looked at again."""
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10)
        net(torch.zeros(1, 1, 28, 28))
        net.input_spec = slim.InputSpec(channels=5)
        net(torch.zeros(1, 1, 28, 28))


def test_float64_is_accepted_when_it_is_the_default_dtype():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with slim.Graph():
            net = nets_factory.get_network_fn("lenet", 10)
            logits, _ = net(torch.zeros(1, 1, 28, 28, dtype=torch.float64))
            assert logits.dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)


def test_problems_are_reported_together():
    """A decoded uint8 NHWC batch has two problems: one error names both fixes."""
    with slim.Graph():
        net = nets_factory.get_network_fn("vgg_16", 10)
        with pytest.raises(ValueError) as info:
            net.build(torch.zeros(1, 224, 224, 3, dtype=torch.uint8))
    assert str(info.value).count("; use ") == 2


def test_plain_model_guesses_channels_last_only_for_image_like_inputs():
    def conv(x, **unused):
        return slim.conv2d(x, 4, [3, 3], scope="c")
    for shape in [(2, 3, 32, 32), (2, 32, 32, 5), (2, 4, 4, 3), (2, 32, 16, 3)]:
        with slim.Graph():
            slim.Model(conv).build(shape, device="meta")
    with slim.Graph():   # integer inputs (token ids, say) are not images
        slim.Model(lambda x: x.float()).build(torch.zeros(2, 8, 8, 3, dtype=torch.long))
    with slim.Graph():
        with pytest.raises(ValueError, match="looks channels-last"):
            slim.Model(conv).build((2, 32, 32, 3), device="meta")


def test_plain_model_that_declares_channels_last_is_not_refused():
    images = torch.zeros(2, 16, 16, 3)
    with slim.Graph():   # data_format as a keyword
        net = slim.Model(lambda x, data_format: slim.conv2d(x, 4, [3, 3], data_format=data_format,
                                                            scope="c"), data_format="NHWC")
        assert net(images).shape == (2, 16, 16, 4)
    with slim.Graph():   # data_format in the arg_scope
        with slim.arg_scope([slim.conv2d], data_format="NHWC"):
            net = slim.Model(lambda x: slim.conv2d(x, 4, [3, 3], scope="c"))
            assert net(images).shape == (2, 16, 16, 4)
    with slim.Graph():   # an empty spec: nothing is guessed
        net = slim.Model(lambda x: slim.conv2d(x.permute(0, 3, 1, 2), 4, [3, 3], scope="c"),
                         input_spec=slim.InputSpec())
        assert net(images).shape == (2, 4, 16, 16)


def test_plain_model_with_a_spec_checks_like_a_zoo_net():
    spec = slim.InputSpec(channels=1, min_size=6)
    with slim.Graph():
        net = slim.Model(lambda x: slim.max_pool2d(slim.conv2d(x, 4, [3, 3], padding="VALID",
                                                                scope="c"), [4, 4]),
                         input_spec=spec)
        with pytest.raises(ValueError, match=r"^Model\(<lambda>\): .*3 channels instead of 1"):
            net(torch.zeros(1, 3, 16, 16))
        with pytest.raises(ValueError, match=r"too small; resize the images to at least 6x6$"):
            net(torch.zeros(1, 1, 5, 5))
        assert net(torch.zeros(1, 1, 6, 6)).shape == (1, 4, 1, 1)
    with pytest.raises(TypeError, match="input_spec must be a slim.InputSpec"):
        slim.Model(lambda x: x, input_spec=3)


def test_the_nets_own_size_error_is_kept():
    """inception_v4 checks its size itself, knowing about the aux head."""
    with slim.Graph():
        net = nets_factory.get_network_fn("inception_v4", 0)
        with pytest.raises(ValueError, match=r"needs H, W >= 75$"):
            net.build((1, 3, 74, 74), device="meta")
