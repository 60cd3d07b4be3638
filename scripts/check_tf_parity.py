"""Numerical parity of slimtorch's zoo with TF-Slim, net by net.

Needs ``tensorflow`` and ``tf_slim`` (not slimtorch dependencies; on TF 2.21
``tf_slim`` needs the ``tf_keras.legacy_tf_layers`` alias that
``tf_slim_reference.import_tf`` sets) and a local copy of
``tensorflow/models/research/slim`` whose ``nets`` imports were rewritten for
TF2 (see ``tf_slim_reference.py``).

Each net is built in both frameworks at its default image size in eval mode,
both get the same deterministic random weights (by variable name, see
``slimtorch.testing``), and the script prints the relative error
``|a - b| / |b|`` of the logits and the worst end point, plus any variable whose
name or TF shape differs.

    python scripts/check_tf_parity.py --research-slim /path/to/models/research/slim
    python scripts/check_tf_parity.py --nets vgg_16,inception_v3 --markdown
    python scripts/check_tf_parity.py --nets vgg_16,inception_v3 --via-checkpoint
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tf_slim_reference import TF_NETS, run_tf_net  # noqa: E402

from slimtorch.testing import random_images, relative_error  # noqa: E402

TARGET = 1e-4


def num_classes_for(name: str) -> int:
    """The class count of the released checkpoints (1001 has a background class)."""
    if name in ("cifarnet", "lenet"):
        return 10
    if name.startswith(("vgg", "alexnet", "overfeat", "resnet_v1")):
        return 1000
    return 1001


def input_for(name: str, batch: int, seed: int, size: int, frames=None):
    """The fixed input of net ``name``: NCHW images, or for video nets (which
    declare ``default_num_frames``) NCDHW clips of ``frames`` frames (default:
    the net's), drawn the same way."""
    import numpy as np

    from slimtorch.nets import nets_factory

    channels = nets_factory.input_channels(name)
    frames = frames or getattr(nets_factory.networks_map[name], "default_num_frames", None)
    if frames is None:
        return random_images(batch, channels, size, seed)
    shape = (batch, channels, frames, size, size)
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def run_slimtorch(name, images, num_classes, seed, checkpoint=None):
    import torch

    import slimtorch as slim
    from slimtorch.nets import nets_factory
    from slimtorch.testing import assign_random_weights

    with slim.Graph():
        network_fn = nets_factory.get_network_fn(name, num_classes, is_training=False)
        inputs = torch.from_numpy(images)
        start = time.perf_counter()
        network_fn.build(tuple(inputs.shape), device="meta")
        build_s = time.perf_counter() - start
        network_fn.materialize("cpu")
        if checkpoint:   # through TF's own checkpoint and slimtorch's reader
            slim.assign_from_checkpoint(checkpoint, network_fn)
        else:
            assign_random_weights(network_fn, seed)
        with torch.no_grad():
            logits, end_points = network_fn(inputs)
        variables = list(network_fn.tf_shapes().items())
    points = {k: v.numpy() for k, v in end_points.items() if isinstance(v, torch.Tensor)}
    return logits.numpy(), points, variables, build_s


def compare(name, args):
    from slimtorch.nets import nets_factory

    size = nets_factory.networks_map[name].default_image_size
    images = input_for(name, args.batch, args.seed, size)
    classes = num_classes_for(name)
    checkpoint = None
    if args.via_checkpoint:
        checkpoint = os.path.join(tempfile.mkdtemp(), f"{name}.ckpt")
    tf_result = run_tf_net(name, images, classes, args.seed, args.research_slim, save_to=checkpoint)
    logits, points, variables, build_s = run_slimtorch(name, images, classes, args.seed, checkpoint)
    if checkpoint:
        shutil.rmtree(os.path.dirname(checkpoint))

    tf_vars, st_vars = dict(tf_result.variables), dict(variables)
    name_problems = sorted(set(tf_vars) ^ set(st_vars))
    shape_problems = sorted(k for k in set(tf_vars) & set(st_vars) if list(tf_vars[k]) != list(st_vars[k]))
    common = [k for k in tf_result.end_points if k in points]
    point_errors = {k: relative_error(points[k], tf_result.end_points[k]) for k in common}
    worst = max(point_errors, key=point_errors.get) if point_errors else None
    return {
        "net": name, "variables": len(variables), "tf_variables": len(tf_vars),
        "logits": relative_error(logits, tf_result.logits),
        "worst_point": worst, "worst_point_error": point_errors.get(worst, float("nan")),
        "points_compared": len(common),
        "missing_points": sorted(set(tf_result.end_points) - set(points)),
        "extra_points": sorted(set(points) - set(tf_result.end_points)),
        "name_problems": name_problems, "shape_problems": shape_problems, "build_s": build_s,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(TF_NETS), help="comma-separated net names")
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"),
                        help="directory holding research/slim's 'nets' package")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    parser.add_argument("--via-checkpoint", action="store_true",
                        help="TF saves a V2 checkpoint; slimtorch restores it with "
                             "assign_from_checkpoint (instead of regenerating the weights)")
    args = parser.parse_args(argv)

    rows, failed = [], False
    for name in args.nets.split(","):
        try:
            row = compare(name, args)
        except Exception as error:  # report every net, then fail
            print(f"{name}: ERROR {type(error).__name__}: {error}", flush=True)
            failed = True
            continue
        ok = (row["logits"] <= TARGET and not (row["worst_point_error"] > TARGET)
              and not row["name_problems"] and not row["shape_problems"]
              and not row["missing_points"])
        failed |= not ok
        row["ok"] = ok
        rows.append(row)
        print(f"{name:22s} vars {row['variables']:4d}/{row['tf_variables']:4d}  "
              f"logits {row['logits']:.2e}  end_points {row['points_compared']:3d} "
              f"worst {row['worst_point_error']:.2e} ({row['worst_point']})  "
              f"meta build {row['build_s']:.2f}s  {'OK' if ok else 'MISMATCH'}", flush=True)
        for key in ("name_problems", "shape_problems", "missing_points", "extra_points"):
            if row[key]:
                print(f"    {key}: {row[key][:12]}{' ...' if len(row[key]) > 12 else ''}")
    if args.markdown:
        print("\n| net | variables | logits rel. err | worst end point rel. err | end points |")
        print("|---|---|---|---|---|")
        for row in rows:
            print(f"| {row['net']} | {row['variables']} | {row['logits']:.1e} | "
                  f"{row['worst_point_error']:.1e} | {row['points_compared']} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
