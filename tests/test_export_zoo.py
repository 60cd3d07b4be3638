"""Every zoo net exports in every format, and each export, loaded by its own
runtime, computes eager's logits and predictions (at most 1e-5 apart,
relative) at batch sizes other than the traced one. Eager here is the plain
path, the graph an export records (eval-mode nets otherwise run fused:
batch norms folded, a relative 1e-6 apart, which a random-weight net's
softmax of logits near 1e3 can magnify past 1e-5). Slow: run with
``pytest -m slow tests/test_export_zoo.py``."""

import copy
import json
import os

import pytest
import torch

import slimtorch as slim
from slimtorch.layers._fused import plain_inference
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights, random_images, relative_error
from slimtorch.tools.export import graph_names

from test_export import ENDING, NEEDS_ONNX, load_and_run

pytestmark = pytest.mark.slow

MANIFESTS = os.path.join(os.path.dirname(__file__), "golden", "manifests")
VIDEO_FRAMES = 8   # the TF fixtures' clips: every layer is there, at a fraction of 64 frames
_NETS: dict = {}


def built(name):
    """The net (random weights) at its TF fixture's input size, built once."""
    if name not in _NETS:
        with open(os.path.join(MANIFESTS, f"{name}.json")) as f:
            manifest = json.load(f)
        with slim.Graph():
            net = nets_factory.get_network_fn(name, 7)
            frames = VIDEO_FRAMES if net.input_spec.video else None
            net.build(net.input_shape(1, manifest["image_size"], frames))
            assign_random_weights(net, seed=11)
        _NETS.clear()   # one net in memory at a time (the large ones are 100s of MB)
        _NETS[name] = (net.eval(), manifest["image_size"], frames)
    return _NETS[name]


def double(net):
    """A float64 copy of ``net``, made once (onnx runs last for each net)."""
    if "double" not in _NETS:
        _NETS["double"] = copy.deepcopy(net).double()
    return _NETS["double"]


@pytest.mark.parametrize("fmt", ["pt2", "torchscript", pytest.param("onnx", marks=NEEDS_ONNX)])
@pytest.mark.parametrize("name", nets_factory.network_names())
def test_every_net_exports_in_every_format(tmp_path, name, fmt):
    net, size, frames = built(name)
    path = str(tmp_path / f"{name}{ENDING[fmt]}")
    info = slim.export(net, path, image_size=size, num_frames=frames, check=False)
    assert info.output_names == graph_names(name)
    for batch in (1, 3):   # traced with 2
        shape = net.input_shape(batch, size, frames)
        images = torch.from_numpy(random_images(batch, shape[1], size, seed=batch))
        if frames:
            images = images.unsqueeze(2).expand(shape).contiguous()
        with torch.no_grad(), plain_inference():   # the graph an export records
            logits, _ = net(images)
        got = load_and_run(path, fmt, images)
        outputs = [got[info.output_names[0]], got[info.output_names[1]]]
        eager = [logits.numpy(), torch.softmax(logits, 1).numpy()]
        if fmt != "onnx":   # torch's own kernels
            assert relative_error(outputs[0], eager[0]) <= 1e-5, name
            assert relative_error(outputs[1], eager[1]) <= 1e-5, name
            continue
        # onnxruntime's kernels round differently from torch's: deep nets'
        # float32 logits then differ by ~1e-5 (relative) though both are as close
        # to a float64 run, and random weights' large logits (~1e3) magnify that
        # in the softmax. Hold each output to eager's own float32 error.
        with torch.no_grad(), plain_inference():
            truth = double(net)(images.double())[0]
        for output, own, exact in zip(outputs, eager, [truth, torch.softmax(truth, 1)]):
            exact = exact.numpy()
            assert relative_error(output, exact) <= max(1e-5, 2 * relative_error(own, exact)), name
