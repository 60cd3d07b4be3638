"""Regenerates tests/golden/gan/ from real TF-Slim (run once; the output is committed).

research/slim's image-to-image and generative nets (``dcgan``, ``pix2pix``,
``cyclegan``) are not ``nets_factory`` entries and return images, not
logits, so ``make_tf_fixtures.py`` does not cover them. For each case in
``CASES`` (small depths and sizes) this script builds the net with TF 2.21 +
tf_slim from a local copy of research/slim's ``nets`` (``--research-slim``; see
``tf_slim_reference.py``), sets every variable to
``slimtorch.testing.random_value(name, shape, seed)``, runs a fixed input
(``RandomState(seed).standard_normal(input_shape)``, NCHW, transposed to NHWC
for TF) and writes:

* ``tests/golden/gan/<case>.json``: every variable (name, TF shape, creation
  order) of the net as built with ``manifest_kwargs`` (DCGAN in training mode,
  where batch norm's zero-debias variables exist), the ``end_points`` keys and
  the output shape (NCHW);
* ``tests/golden/gan/<case>.safetensors``: the output and every end point
  (NCHW), in eval mode and with dropout off.

``tests/test_nets_gan_parity.py`` checks both without TensorFlow.

    /work/tfvenv/bin/python scripts/make_tf_gan_fixtures.py --research-slim /path/to/research/slim
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tf_slim_reference import import_tf  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                      "golden", "gan")

# case -> module, function, arg_scope function (or None), JSON kwargs, input shape (NCHW, or
# [N, noise] for the DCGAN generator), kwargs for the manifest's build (over ``kwargs``).
# ``blocks`` (pix2pix) are [num_filters, decoder_keep_prob] pairs, keep_prob 1.0 keeps a
# dropout op in the graph without randomness; ``upsample`` (cyclegan) are keyword
# arguments of ``cyclegan_upsample``.
CASES = {
    "dcgan_generator": ("dcgan", "generator", None,
                        {"depth": 4, "final_size": 16, "is_training": False}, [2, 8],
                        {"is_training": True}),
    "dcgan_discriminator": ("dcgan", "discriminator", None, {"depth": 4, "is_training": False},
                            [2, 3, 16, 16], {"is_training": True}),
    "pix2pix_generator": ("pix2pix", "pix2pix_generator", "pix2pix_arg_scope",
                          {"num_outputs": 2, "blocks": [[4, 1.0], [8, 1.0], [8, 0], [16, 0]]},
                          [2, 3, 16, 16], {}),
    "pix2pix_generator_conv2d_transpose": (
        "pix2pix", "pix2pix_generator", "pix2pix_arg_scope",
        {"num_outputs": 3, "blocks": [[4, 1.0], [8, 0], [8, 0]],
         "upsample_method": "conv2d_transpose"}, [2, 3, 16, 16], {}),
    "pix2pix_discriminator": ("pix2pix", "pix2pix_discriminator", "pix2pix_arg_scope",
                              {"num_filters": [4, 8, 16, 16]}, [2, 3, 32, 32], {}),
    "pix2pix_discriminator_symmetric": (
        "pix2pix", "pix2pix_discriminator", "pix2pix_arg_scope",
        {"num_filters": [4, 8, 8], "padding": 1, "pad_mode": "SYMMETRIC"}, [2, 3, 16, 16], {}),
    "pix2pix_discriminator_no_padding": (
        "pix2pix", "pix2pix_discriminator", "pix2pix_arg_scope",
        {"num_filters": [4, 8, 8], "padding": 0}, [1, 3, 64, 64], {}),
    "cyclegan_generator": ("cyclegan", "cyclegan_generator_resnet", None,
                           {"num_filters": 4, "num_resnet_blocks": 2}, [2, 3, 16, 16], {}),
    "cyclegan_generator_nn_upsample": (
        "cyclegan", "cyclegan_generator_resnet", None,
        {"num_filters": 4, "num_resnet_blocks": 1, "upsample": {"method": "nn_upsample_conv"}},
        [2, 3, 16, 20], {}),
    "cyclegan_generator_bilinear": (
        "cyclegan", "cyclegan_generator_resnet", None,
        {"num_filters": 4, "num_resnet_blocks": 1,
         "upsample": {"method": "bilinear_upsample_conv"}}, [2, 3, 12, 16], {}),
    "cyclegan_generator_bilinear_aligned": (
        "cyclegan", "cyclegan_generator_resnet", None,
        {"num_filters": 4, "num_resnet_blocks": 1, "tanh_linear_slope": 0.1,
         "upsample": {"method": "bilinear_upsample_conv", "align_corners": True,
                      "pad_mode": "SYMMETRIC"}}, [1, 3, 16, 16], {}),
    "cyclegan_generator_kernel4": (
        "cyclegan", "cyclegan_generator_resnet", None,
        {"num_filters": 4, "num_resnet_blocks": 1, "kernel_size": 4}, [1, 3, 16, 24], {}),
}


def tf_kwargs(module, kwargs: dict) -> dict:
    """The case's JSON kwargs as research/slim's function takes them."""
    kwargs = dict(kwargs)
    if "blocks" in kwargs:
        kwargs["blocks"] = [module.Block(f, k) for f, k in kwargs["blocks"]]
    if "upsample" in kwargs:
        kwargs["upsample_fn"] = functools.partial(module.cyclegan_upsample,
                                                  **kwargs.pop("upsample"))
    return kwargs


def input_for(shape, seed: int) -> np.ndarray:
    return np.random.RandomState(seed).standard_normal(shape).astype(np.float32)


def to_nchw(value: np.ndarray) -> np.ndarray:
    return value.transpose(0, 3, 1, 2) if value.ndim == 4 else value


def run_case(tf, slim, case, seed, run=True):
    module_name, fn_name, scope_name, kwargs, shape, manifest_kwargs = CASES[case]
    module = importlib.import_module(f"nets.{module_name}")
    func = getattr(module, fn_name)
    inputs = input_for(shape, seed)
    if inputs.ndim == 4:
        inputs = inputs.transpose(0, 2, 3, 1)
    call_kwargs = tf_kwargs(module, {**kwargs, **({} if run else manifest_kwargs)})
    graph = tf.Graph()
    with graph.as_default():
        tensor = tf.constant(np.ascontiguousarray(inputs))
        scope = getattr(module, scope_name)() if scope_name else {}
        with slim.arg_scope(scope):
            output, end_points = func(tensor, **call_kwargs)
        variables = tf.global_variables()
        manifest = [(v.op.name, v.shape.as_list()) for v in variables]
        if not run:
            return manifest, list(end_points), None, None
        from slimtorch.testing import random_value
        with tf.Session(graph=graph) as sess:
            for var in variables:
                var.load(random_value(var.op.name, var.shape.as_list(), seed), sess)
            value, points = sess.run((output, dict(end_points)))
    return manifest, list(end_points), to_nchw(value), {k: to_nchw(v) for k, v in points.items()}


def main(argv=None):
    from safetensors.numpy import save_file

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    tf, slim = import_tf(args.research_slim)
    from tensorflow.python.framework import ops
    if not hasattr(ops, "Tensor"):
        # tf_slim 1.1's unfused batch_norm (DCGAN's) checks ``ops.Tensor``,
        # which TF 2.21 no longer exports there.
        ops.Tensor = tf.Tensor
    os.makedirs(GOLDEN, exist_ok=True)
    for case in filter(None, args.cases.split(",")):
        manifest_variables, manifest_points, _, _ = run_case(tf, slim, case, args.seed, run=False)
        _, keys, output, points = run_case(tf, slim, case, args.seed)
        module_name, fn_name, scope_name, kwargs, shape, manifest_kwargs = CASES[case]
        description = {
            "module": module_name, "function": fn_name, "arg_scope": scope_name,
            "kwargs": kwargs, "manifest_kwargs": manifest_kwargs, "input_shape": shape,
            "seed": args.seed, "output_shape": list(output.shape),
            "end_points": manifest_points,
            "variables": [[name, list(s)] for name, s in manifest_variables],
        }
        with open(os.path.join(GOLDEN, f"{case}.json"), "w") as f:
            json.dump(description, f, indent=0)
            f.write("\n")
        tensors = {"output": np.ascontiguousarray(output, np.float32)}
        for key in keys:
            tensors[f"end_points/{key}"] = np.ascontiguousarray(points[key], np.float32)
        save_file(tensors, os.path.join(GOLDEN, f"{case}.safetensors"),
                  {"case": case, "seed": str(args.seed)})
        print(f"{case}: {len(manifest_variables)} variables, output {list(output.shape)}",
              flush=True)


if __name__ == "__main__":
    main()
