"""Writes a small NASNet TF checkpoint with exponential-moving-average shadows
(run once with real TF; the output is committed under tests/golden/tf_nets/).

research/slim trains with ``--moving_average_decay`` (NASNet and PNASNet
always did): the checkpoint holds every model variable twice, as ``<name>``
and ``<name>/ExponentialMovingAverage``, and ``eval_image_classifier`` restores
the shadows with ``ExponentialMovingAverage.variables_to_restore(
slim.get_model_variables())``, batch norm's moving statistics included. This
writes such checkpoints for a 3-cell NASNet-A CIFAR and a 3-cell PNASNet-5
Mobile (shadows differing from the variables) and the logits research/slim's
eval path computes from them, so ``tests/test_nets_nasnet.py`` and
``tests/test_nets_pnasnet.py`` can check slimtorch restores the same numbers.

    python scripts/make_tf_nasnet_ema_fixture.py --research-slim /path/to/research/slim
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tf_slim_reference import import_tf  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "golden")
# case -> (net, hparams, image size, classes)
CASES = {
    "nasnet_cifar_ema": ("nasnet_cifar", {"num_cells": 3, "num_conv_filters": 4,
                                          "stem_multiplier": 1.0}, 16, 10),
    "pnasnet_mobile_ema": ("pnasnet_mobile", {"num_cells": 3, "num_conv_filters": 6}, 32, 11),
}
BATCH, SEED = 2, 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"))
    args = parser.parse_args(argv)
    tf, slim = import_tf(args.research_slim)
    for case, (net, hparams, size, classes) in CASES.items():
        write_case(tf, slim, case, net, hparams, size, classes)


def write_case(tf, slim, case, net, hparams, size, classes):
    from safetensors.numpy import save_file

    from slimtorch.testing import random_images, random_value
    from nets.nasnet import nasnet, pnasnet

    module, config_fn, scope_fn, build_fn = {
        "nasnet_cifar": (nasnet, "cifar_config", "nasnet_cifar_arg_scope", "build_nasnet_cifar"),
        "pnasnet_mobile": (pnasnet, "mobile_imagenet_config", "pnasnet_mobile_arg_scope",
                           "build_pnasnet_mobile"),
    }[net]

    def build(images):
        config = getattr(module, config_fn)()
        for name, value in hparams.items():
            config.set_hparam(name, value)
        with slim.arg_scope(getattr(module, scope_fn)()):
            return getattr(module, build_fn)(images, classes, is_training=False, config=config)

    images = random_images(BATCH, 3, size, SEED).transpose(0, 2, 3, 1)
    prefix = os.path.join(GOLDEN, "tf_nets", case)
    # research/slim's training: variables and their shadows, all saved.
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        build(tf.constant(images))
        tf.train.ExponentialMovingAverage(0.9999, step).apply(slim.get_model_variables())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for var in tf.global_variables():
                if var.dtype.base_dtype == tf.float32:
                    # Different seeds make every shadow differ from its variable.
                    seed = SEED + 1 if var.op.name.endswith("ExponentialMovingAverage") else SEED
                    var.load(random_value(var.op.name.split("/ExponentialMovingAverage")[0],
                                          var.shape.as_list(), seed), sess)
            tf.train.Saver().save(sess, prefix, write_meta_graph=False, write_state=False)
    # research/slim's eval_image_classifier with --moving_average_decay.
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        logits, _ = build(tf.constant(images))
        ema = tf.train.ExponentialMovingAverage(0.9999, step)
        to_restore = ema.variables_to_restore(slim.get_model_variables())
        to_restore[step.op.name] = step
        with tf.Session() as sess:
            tf.train.Saver(to_restore).restore(sess, prefix)
            value = sess.run(logits)
    metadata = {"net": net, "hparams": json.dumps(hparams), "num_classes": str(classes),
                "image_size": str(size), "seed": str(SEED), "batch": str(BATCH)}
    save_file({"logits": value.astype(np.float32)}, f"{prefix}.logits.safetensors", metadata)
    print(f"{case}: {len(to_restore)} names restored, logits {value.shape}")


if __name__ == "__main__":
    main()
