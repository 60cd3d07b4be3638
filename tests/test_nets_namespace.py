"""slimtorch.nets as tf_slim's and research/slim's nets package: every module an
attribute, nets.inception gathering the Inception nets, and InceptionV3's aux head."""

import pytest
import torch

import slimtorch as slim
import slimtorch.nets as nets


def test_every_zoo_module_is_an_attribute():
    from slimtorch.nets import inception_v1 as direct
    assert nets.inception_v1 is direct
    assert nets.resnet_v1.resnet_v1_50.default_image_size == 224
    assert {"vgg", "inception", "resnet_utils", "mobilenet_v2"} <= set(dir(nets))
    with pytest.raises(AttributeError, match="has no attribute 'vggg'"):
        _ = nets.vggg


def test_inception_gathers_the_inception_nets():
    from slimtorch.nets import inception
    for version in ("v1", "v2", "v3", "v4"):
        module = getattr(nets, f"inception_{version}")
        for suffix in ("", "_base", "_arg_scope"):
            name = f"inception_{version}{suffix}"
            assert getattr(inception, name) is getattr(module, name)
    assert inception.inception_resnet_v2 is nets.inception_resnet_v2.inception_resnet_v2


@pytest.mark.parametrize("size, fits", [(346, True), (347, False)])
def test_inception_v3_global_pool_aux_head_limit(size, fits):
    images = torch.zeros(1, 3, size, size, device="meta")
    with slim.Graph():
        net = slim.Model(nets.inception_v3.inception_v3, num_classes=10, global_pool=True)
        if fits:
            logits, end_points = net.eval()(images)
            assert logits.shape == end_points["AuxLogits"].shape == (1, 10)
        else:
            with pytest.raises(ValueError, match=r"InceptionV3/AuxLogits/SpatialSqueeze: the "
                               r"auxiliary head's map is 2x2, not 1x1.*create_aux_logits=False"):
                net.eval()(images)
    with slim.Graph():   # what the message says to pass works
        net = slim.Model(nets.inception_v3.inception_v3, num_classes=10, global_pool=True,
                         create_aux_logits=False)
        assert net.eval()(images)[0].shape == (1, 10)
