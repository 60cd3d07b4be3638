"""Regenerates tests/golden/ from real TF-Slim (run once; the output is committed).

Needs TensorFlow, tf_slim and research/slim's ``nets`` (see
``check_tf_parity.py``). Writes:

* ``tests/golden/manifests/<net>.json``: every variable TF-Slim creates for the
  net at its default configuration (name and TF-layout shape, in creation
  order), the ``end_points`` keys, and the logits shape.
* ``tests/golden/fixtures/<case>.safetensors``: TF-Slim's logits and a few
  small end points for a fixed input and fixed weights. Neither is stored:
  both are regenerated from the seed in the metadata (``input_for`` and
  ``slimtorch.testing``), which keeps VGG-sized cases to a few KB.
* ``tests/golden/tf_nets/<case>.{index,data-00000-of-00001}`` plus
  ``<case>.logits.safetensors``: a small net saved by ``tf.train.Saver`` and
  its logits, to prove a net restored from a real TF checkpoint computes what
  TF-Slim computed.

    python scripts/make_tf_fixtures.py --research-slim /path/to/research/slim
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from check_tf_parity import input_for, num_classes_for  # noqa: E402
from tf_slim_reference import TF_NETS, run_tf_net  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "golden")
MAX_POINT_ELEMENTS = 20_000   # per stored end point, per example
POINTS_PER_CASE = 4

# Extra configurations beyond each net's default (case name -> net, kwargs, image size).
OPTION_CASES = {
    "resnet_v1_50_os8": ("resnet_v1_50", {"output_stride": 8}, 96),
    "resnet_v2_50_os16": ("resnet_v2_50", {"output_stride": 16}, 96),
    "inception_v3_dm050": ("inception_v3", {"depth_multiplier": 0.5}, 299),
    "mobilenet_v1_global_pool": ("mobilenet_v1", {"global_pool": True}, 192),
    "mobilenet_v2_035_160": ("mobilenet_v2_035", {}, 160),
    "mobilenet_v3_small_groupnorm_96": ("mobilenet_v3_small", {"use_groupnorm": True}, 96),
    "mobilenet_v3_large_dm050_finegrain_96": ("mobilenet_v3_large", {
        "depth_multiplier": 0.5, "finegrain_classification_mode": True}, 96),
    "s3dg_inverted_pyramid": ("s3dg", {"first_temporal_kernel_size": 7, "depth_multiplier": 0.5,
                                       "temporal_conv_startat": "Mixed_4b",
                                       "gating_startat": "Mixed_4c"}, 64),
}


# Video nets' cases run short, small clips (net -> (frames, image size)): their
# pools shrink to the input, so every variable and end point is there at a
# fraction of the default 64 x 224 x 224 clip's cost.
VIDEO_INPUTS = {"i3d": (8, 64), "s3dg": (8, 64)}


def pick_points(end_points: dict) -> dict:
    """The last few end points small enough to store (deep ones catch most bugs)."""
    small = [(k, v) for k, v in end_points.items() if v[0].size <= MAX_POINT_ELEMENTS]
    return dict(small[-POINTS_PER_CASE:])


def write_case(case, net, kwargs, size, seed, research_slim):
    from safetensors.numpy import save_file

    classes = num_classes_for(net)
    frames = VIDEO_INPUTS.get(net, (None,))[0]
    images = input_for(net, 1, seed, size, frames)
    result = run_tf_net(net, images, classes, seed, research_slim, **kwargs)
    tensors = {"logits": result.logits.astype(np.float32)}
    for key, value in pick_points(result.end_points).items():
        tensors[f"end_points/{key}"] = np.ascontiguousarray(value, np.float32)
    metadata = {"net": net, "num_classes": str(classes), "kwargs": json.dumps(kwargs),
                "image_size": str(size), "seed": str(seed), "batch": "1"}
    if frames:
        metadata["num_frames"] = str(frames)
    save_file(tensors, os.path.join(GOLDEN, "fixtures", f"{case}.safetensors"), metadata)
    return result


# Small nets saved as real TF checkpoints (case -> net, kwargs, classes).
CHECKPOINT_CASES = {"mobilenet_v1_025": ("mobilenet_v1_025", {}, 10)}


def write_checkpoint_case(case, net, kwargs, classes, seed, research_slim):
    from safetensors.numpy import save_file

    from slimtorch.nets import nets_factory

    directory = os.path.join(GOLDEN, "tf_nets")
    os.makedirs(directory, exist_ok=True)
    size = nets_factory.networks_map[net].default_image_size
    images = input_for(net, 2, seed, size)
    result = run_tf_net(net, images, classes, seed, research_slim,
                        save_to=os.path.join(directory, case), **kwargs)
    metadata = {"net": net, "num_classes": str(classes), "kwargs": json.dumps(kwargs),
                "image_size": str(size), "seed": str(seed), "batch": "2"}
    save_file({"logits": result.logits.astype(np.float32)},
              os.path.join(directory, f"{case}.logits.safetensors"), metadata)


def write_manifest(net, result, size):
    manifest = {
        "net": net, "num_classes": num_classes_for(net), "image_size": size,
        "logits_shape": list(result.logits.shape[1:]),
        "end_points": list(result.end_points),
        "variables": [[name, list(shape)] for name, shape in result.variables],
    }
    if net in VIDEO_INPUTS:   # [N, C, T, H, W] clips
        manifest["num_frames"] = VIDEO_INPUTS[net][0]
    with open(os.path.join(GOLDEN, "manifests", f"{net}.json"), "w") as f:
        json.dump(manifest, f, indent=0)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"))
    parser.add_argument("--nets", default=",".join(TF_NETS))
    parser.add_argument("--options", action="store_true", help="also the option cases")
    parser.add_argument("--checkpoints", action="store_true", help="also the TF checkpoint cases")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(os.path.join(GOLDEN, "fixtures"), exist_ok=True)
    os.makedirs(os.path.join(GOLDEN, "manifests"), exist_ok=True)
    from slimtorch.nets import nets_factory

    for net in filter(None, args.nets.split(",")):
        size = nets_factory.networks_map[net].default_image_size
        size = VIDEO_INPUTS.get(net, (None, size))[1]
        result = write_case(net, net, {}, size, args.seed, args.research_slim)
        write_manifest(net, result, size)
        print(f"{net}: {len(result.variables)} variables", flush=True)
    if args.checkpoints:
        for case, (net, kwargs, classes) in CHECKPOINT_CASES.items():
            write_checkpoint_case(case, net, kwargs, classes, args.seed + 1, args.research_slim)
            print(f"{case}: TF checkpoint written", flush=True)
    if args.options:
        for case, (net, kwargs, size) in OPTION_CASES.items():
            write_case(case, net, kwargs, size, args.seed, args.research_slim)
            print(f"{case}: done", flush=True)


if __name__ == "__main__":
    main()
