"""Every zoo net against TF-Slim: golden manifests and TF-computed outputs.

``tests/golden`` was produced once by ``scripts/make_tf_fixtures.py`` with real
TensorFlow 2.21 + tf_slim 1.1 (+ research/slim for the nets tf_slim lacks).
Weights and inputs are regenerated from the seed stored with each fixture.
"""

import glob
import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights, relative_error

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
MANIFESTS = sorted(glob.glob(os.path.join(GOLDEN, "manifests", "*.json")))
FIXTURES = sorted(glob.glob(os.path.join(GOLDEN, "fixtures", "*.safetensors")))
HEAVY = ("vgg", "overfeat", "alexnet", "resnet_v1_1", "resnet_v1_2", "resnet_v2_1", "resnet_v2_2",
         "inception_v4", "inception_resnet_v2", "nasnet_large", "pnasnet_large")


def _id(path):
    return os.path.basename(path).rsplit(".", 1)[0]


def _maybe_slow(path):
    marks = [pytest.mark.slow] if _id(path).startswith(HEAVY) else []
    return pytest.param(path, id=_id(path), marks=marks)


def _input(batch, channels, size, frames=None, seed=None):
    """An image batch, or for video nets (``num_frames`` stored) NCDHW clips."""
    shape = (batch, channels, frames, size, size) if frames else (batch, channels, size, size)
    if seed is None:
        return shape
    return torch.from_numpy(np.random.RandomState(seed).standard_normal(shape).astype(np.float32))


def _load_manifest(path):
    with open(path) as f:
        return json.load(f)


def test_every_factory_name_has_a_manifest_and_a_fixture():
    names = set(nets_factory.network_names())
    assert {_id(p) for p in MANIFESTS} == names
    assert names <= {_id(p) for p in FIXTURES}
    assert len(names) == 40


@pytest.mark.parametrize("path", MANIFESTS, ids=_id)
def test_variables_and_end_points_match_tf_slim(path):
    manifest = _load_manifest(path)
    size, channels = manifest["image_size"], nets_factory.input_channels(manifest["net"])
    network_fn = nets_factory.get_network_fn(manifest["net"], manifest["num_classes"])
    shape = _input(2, channels, size, manifest.get("num_frames"))
    network_fn.build(shape, device="meta")
    ours = [[n, s] for n, s in network_fn.tf_shapes().items()]
    assert ours == manifest["variables"]
    assert [v.name for v in slim.get_model_variables()] == [n for n, _ in manifest["variables"]]
    logits, end_points = network_fn(torch.empty(shape, device="meta"))
    assert list(end_points) == manifest["end_points"]
    assert list(logits.shape) == [2] + manifest["logits_shape"]


@pytest.mark.parametrize("path", [_maybe_slow(p) for p in FIXTURES])
def test_outputs_match_tf_slim(path):
    with safe_open(path, "np") as f:
        meta = f.metadata()
        expected = {k: f.get_tensor(k) for k in f.keys()}
    net, seed = meta["net"], int(meta["seed"])
    size = int(meta["image_size"])
    network_fn = nets_factory.get_network_fn(net, int(meta["num_classes"]))
    channels = network_fn.input_channels
    frames = int(meta.get("num_frames", 0)) or None
    images = _input(int(meta["batch"]), channels, size, frames, seed)
    kwargs = json.loads(meta["kwargs"])
    # Meta build + to_empty: the initializers would be overwritten anyway.
    network_fn.build(tuple(images.shape), device="meta", **kwargs).to_empty(device="cpu")
    assign_random_weights(network_fn, seed)
    with torch.no_grad():
        logits, end_points = network_fn(images, **kwargs)
    assert relative_error(logits.numpy(), expected.pop("logits")) <= 1e-4
    assert expected, "each fixture stores some end points"
    for key, value in expected.items():
        point = key.split("/", 1)[1]
        assert relative_error(end_points[point].numpy(), value) <= 1e-4, point


def test_unknown_net_name():
    with pytest.raises(ValueError, match="Name of network unknown resnet_50"):
        nets_factory.get_network_fn("resnet_50", 10)


def test_network_fn_is_a_module_that_follows_train_and_eval():
    network_fn = nets_factory.get_network_fn("cifarnet", 10, is_training=False)
    assert isinstance(network_fn, torch.nn.Module) and not network_fn.training
    images = torch.randn(4, 3, 32, 32)
    first, _ = network_fn(images)
    again, _ = network_fn(images)
    assert torch.equal(first, again)             # eval: dropout off
    network_fn.train()
    dropped, _ = network_fn(images)
    assert not torch.allclose(dropped, first)    # train: dropout on


def test_every_net_declares_its_input_channels():
    # Callers build inputs from it instead of special-casing LeNet's grey digits.
    for name in nets_factory.network_names():
        expected = 1 if name == "lenet" else 3
        assert nets_factory.networks_map[name].input_channels == expected, name
        assert nets_factory.input_channels(name) == expected, name
    assert nets_factory.get_network_fn("lenet", 10).input_channels == 1
    assert nets_factory.get_network_fn("mobilenet_v2_035", 10).input_channels == 3
    with pytest.raises(ValueError, match="Name of network unknown resnet_50"):
        nets_factory.input_channels("resnet_50")
