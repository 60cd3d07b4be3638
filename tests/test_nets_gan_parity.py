"""DCGAN, pix2pix and CycleGAN against TF-Slim: variable names and shapes, end
points and outputs recorded with real TensorFlow 2.21 + tf_slim 1.1 running
research/slim's nets (``scripts/make_tf_gan_fixtures.py``; small depths and
sizes). Weights and inputs are regenerated from the seed stored with each case.
"""

import functools
import glob
import importlib.util
import json
import os

import numpy as np
import pytest
import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch.nets import cyclegan, dcgan, pix2pix
from slimtorch.testing import assign_random_weights, relative_error

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "gan")
CASES = sorted(glob.glob(os.path.join(GOLDEN, "*.json")))
MODULES = {"dcgan": dcgan, "pix2pix": pix2pix, "cyclegan": cyclegan}


def _id(path):
    return os.path.basename(path).rsplit(".", 1)[0]


def _load(path):
    with open(path) as f:
        return json.load(f)


def _kwargs(case, **overrides):
    """The case's JSON kwargs as slimtorch's function takes them."""
    kwargs = {**case["kwargs"], **overrides}
    if "blocks" in kwargs:
        kwargs["blocks"] = [pix2pix.Block(f, k) for f, k in kwargs["blocks"]]
    if "upsample" in kwargs:
        kwargs["upsample_fn"] = functools.partial(cyclegan.cyclegan_upsample,
                                                  **kwargs.pop("upsample"))
    return kwargs


def _built_model(case, shape, **overrides):
    """The case's net, built on the meta device under its arg_scope."""
    module = MODULES[case["module"]]
    scope = getattr(module, case["arg_scope"])() if case["arg_scope"] else {}
    with slim.arg_scope(scope):
        model = slim.Model(getattr(module, case["function"]), **_kwargs(case, **overrides))
        return model.build(tuple(shape), device="meta")


def test_every_case_of_the_fixture_script_is_recorded():
    # The script imports TensorFlow only in main(): its cases load here.
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "scripts",
                        "make_tf_gan_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_tf_gan_fixtures", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert sorted(script.CASES) == [_id(p) for p in CASES]
    for path in CASES:
        assert os.path.exists(path[: -len(".json")] + ".safetensors")


def test_every_net_and_upsampling_choice_has_a_case():
    functions = {(c["module"], c["function"]) for c in map(_load, CASES)}
    assert functions == {("dcgan", "generator"), ("dcgan", "discriminator"),
                         ("pix2pix", "pix2pix_generator"), ("pix2pix", "pix2pix_discriminator"),
                         ("cyclegan", "cyclegan_generator_resnet")}
    methods = {c["kwargs"].get("upsample", {}).get("method", "conv2d_transpose")
               for c in map(_load, CASES) if c["module"] == "cyclegan"}
    assert methods == {"conv2d_transpose", "nn_upsample_conv", "bilinear_upsample_conv"}


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_variables_and_end_points_match_tf_slim(path):
    case = _load(path)
    with slim.Graph():
        shape = tuple(case["input_shape"])
        model = _built_model(case, shape, **case["manifest_kwargs"])
        assert [[n, s] for n, s in model.tf_shapes().items()] == case["variables"]
        output, end_points = model(torch.empty(shape, device="meta"))
    assert list(end_points) == case["end_points"]
    assert list(output.shape) == case["output_shape"]


@pytest.mark.parametrize("path", CASES, ids=_id)
def test_outputs_match_tf_slim(path):
    case = _load(path)
    with safe_open(path[: -len(".json")] + ".safetensors", "np") as f:
        expected = {k: f.get_tensor(k) for k in f.keys()}
    seed = case["seed"]
    inputs = torch.from_numpy(
        np.random.RandomState(seed).standard_normal(case["input_shape"]).astype(np.float32))
    with slim.Graph():
        model = _built_model(case, inputs.shape).to_empty(device="cpu")
        assign_random_weights(model, seed)   # 0-d variables too (local_step)
        with torch.no_grad():
            output, end_points = model.eval()(inputs)
    assert relative_error(output.numpy(), expected.pop("output")) <= 1e-4
    assert [k.split("/", 1)[1] for k in expected] == sorted(end_points)
    for key, value in expected.items():
        point = key.split("/", 1)[1]
        assert relative_error(end_points[point].numpy(), value) <= 1e-4, point
