"""A zoo net restored from a real TensorFlow checkpoint computes TF-Slim's logits.

``tests/golden/tf_nets/mobilenet_v1_025`` was written by ``tf.train.Saver``
(TF 2.21, research/slim's MobileNet v1 0.25, 10 classes) together with the
logits TF-Slim computed for a seeded input (``scripts/make_tf_fixtures.py
--checkpoints``). Restoring goes through the pure-Python V2 reader and the
layout conversion (conv HWIO, depthwise [kh, kw, in, mult], batch norm).
"""

import json
import os

import torch
from safetensors import safe_open

import slimtorch as slim
from slimtorch.nets import nets_factory
from slimtorch.testing import random_images, relative_error
from slimtorch.tools import convert_checkpoint

FIXTURE = os.path.join(os.path.dirname(__file__), "golden", "tf_nets", "mobilenet_v1_025")


def expected():
    with safe_open(FIXTURE + ".logits.safetensors", "np") as f:
        return f.metadata(), f.get_tensor("logits")


def run(network_fn, meta):
    images = torch.from_numpy(random_images(int(meta["batch"]), 3, int(meta["image_size"]),
                                            int(meta["seed"])))
    with torch.no_grad():
        logits, _ = network_fn(images, **json.loads(meta["kwargs"]))
    return logits.numpy()


def test_restore_from_a_tf_v2_checkpoint_reproduces_tf_slim_logits():
    meta, logits = expected()
    network_fn = nets_factory.get_network_fn(meta["net"], int(meta["num_classes"]))
    network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
    report = slim.assign_from_checkpoint(FIXTURE, slim.get_model_variables())
    assert len(report.assigned) == 137 and not report.missing
    assert relative_error(run(network_fn, meta), logits) <= 1e-4


def test_convert_tf_checkpoint_then_restore(tmp_path):
    meta, logits = expected()
    converted = str(tmp_path / "m.safetensors")
    summary = convert_checkpoint(FIXTURE + ".index", converted, net=meta["net"])
    assert summary.startswith("matched     137")      # class count read from the file
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(meta["net"], int(meta["num_classes"]))
        network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
        slim.assign_from_checkpoint(converted, network_fn)
        assert relative_error(run(network_fn, meta), logits) <= 1e-4


def test_a_model_built_in_another_graph_restores_with_its_own_layouts():
    # The TF layouts come from the model's records, not from whichever graph is
    # the default when restoring (here not the one that built the net).
    meta, logits = expected()
    with slim.Graph():
        network_fn = nets_factory.get_network_fn(meta["net"], int(meta["num_classes"]))
        network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
    with slim.Graph():
        report = slim.assign_from_checkpoint(FIXTURE, network_fn)
    assert len(report.assigned) == 137
    assert relative_error(run(network_fn, meta), logits) <= 1e-4
