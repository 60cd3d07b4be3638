"""Writes a small NASNet TF checkpoint with exponential-moving-average shadows
(run once with real TF; the output is committed under tests/golden/tf_nets/).

research/slim trains with ``--moving_average_decay`` (NASNet and PNASNet
always did): the checkpoint holds every model variable twice, as ``<name>``
and ``<name>/ExponentialMovingAverage``, and ``eval_image_classifier`` restores
the shadows with ``ExponentialMovingAverage.variables_to_restore(
slim.get_model_variables())``, batch norm's moving statistics included. This
writes such a checkpoint for a 3-cell NASNet-A CIFAR (shadows differing from
the variables) and the logits research/slim's eval path computes from it, so
``tests/test_nets_nasnet.py`` can check slimtorch restores the same numbers.

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
CASE = "nasnet_cifar_ema"
HPARAMS = {"num_cells": 3, "num_conv_filters": 4, "stem_multiplier": 1.0}
SIZE, BATCH, CLASSES, SEED = 16, 2, 10, 0


def main(argv=None):
    from safetensors.numpy import save_file

    from slimtorch.testing import random_images, random_value

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--research-slim", default=os.environ.get("RESEARCH_SLIM"))
    args = parser.parse_args(argv)
    tf, slim = import_tf(args.research_slim)
    from nets.nasnet import nasnet

    def build(images):
        config = nasnet.cifar_config()
        for name, value in HPARAMS.items():
            config.set_hparam(name, value)
        with slim.arg_scope(nasnet.nasnet_cifar_arg_scope()):
            return nasnet.build_nasnet_cifar(images, CLASSES, is_training=False, config=config)

    images = random_images(BATCH, 3, SIZE, SEED).transpose(0, 2, 3, 1)
    prefix = os.path.join(GOLDEN, "tf_nets", CASE)
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
    metadata = {"net": "nasnet_cifar", "hparams": json.dumps(HPARAMS), "num_classes": str(CLASSES),
                "image_size": str(SIZE), "seed": str(SEED), "batch": str(BATCH)}
    save_file({"logits": value.astype(np.float32)}, f"{prefix}.logits.safetensors", metadata)
    print(f"{CASE}: {len(to_restore)} names restored, logits {value.shape}")


if __name__ == "__main__":
    main()
