"""Regenerates tests/golden/preprocessing.safetensors from TensorFlow (run once; the output is committed).

    /work/tfenv/bin/python scripts/make_tf_preprocessing_fixtures.py

research/slim's ``preprocessing/`` package is not importable here (it is not
installed, and its modules import ``tf.contrib``), so the *evaluation* paths
of vgg, inception, cifarnet and lenet preprocessing are written out below in
the same ``tf.compat.v1`` operations, in the same order, as the current
research/slim files. Images are fed through a ``[None, None, 3]``
placeholder, so shapes are dynamic as in a real input pipeline. Also stored:
the ``tf.image`` operations the preprocessing is built from (TF1 resizes,
crops, colour adjustments, standardization), on small seeded inputs.

The file holds HWC (TF layout) inputs and outputs and, in its metadata, a
JSON list of cases ``{"key", "op", "input", "args"}`` that
``tests/test_data_preprocessing.py`` replays with slimtorch.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

GOLDEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "golden",
                      "preprocessing.safetensors")
VGG_MEANS = (123.68, 116.78, 103.94)


# --- research/slim's evaluation preprocessing, in its own TF operations -------------------------

def vgg_eval(image, output_height, output_width, resize_side):
    """vgg_preprocessing.preprocess_for_eval."""
    shape = tf.shape(image)
    height, width = tf.to_float(shape[0]), tf.to_float(shape[1])
    side = tf.to_float(tf.convert_to_tensor(resize_side, dtype=tf.int32))
    scale = tf.cond(tf.greater(height, width), lambda: side / width, lambda: side / height)
    new_height, new_width = tf.to_int32(tf.rint(height * scale)), tf.to_int32(tf.rint(width * scale))
    resized = tf.image.resize_bilinear(tf.expand_dims(image, 0), [new_height, new_width], align_corners=False)
    resized = tf.squeeze(resized)
    resized_shape = tf.shape(resized)
    offset_height = tf.to_int32((resized_shape[0] - output_height) / 2)
    offset_width = tf.to_int32((resized_shape[1] - output_width) / 2)
    cropped = tf.slice(resized, tf.stack([offset_height, offset_width, 0]),
                       tf.stack([output_height, output_width, resized_shape[2]]))
    cropped = tf.to_float(tf.reshape(cropped, [output_height, output_width, 3]))
    channels = tf.split(axis=2, num_or_size_splits=3, value=cropped)
    return tf.concat(axis=2, values=[channels[i] - VGG_MEANS[i] for i in range(3)])


def inception_eval(image, height, width, central_fraction=0.875):
    """inception_preprocessing.preprocess_for_eval."""
    image = tf.image.convert_image_dtype(image, dtype=tf.float32)
    image = tf.image.central_crop(image, central_fraction=central_fraction)
    image = tf.image.resize_bilinear(tf.expand_dims(image, 0), [height, width], align_corners=False)
    image = tf.squeeze(image, [0])
    return tf.multiply(tf.subtract(image, 0.5), 2.0)


def cifarnet_eval(image, output_height, output_width):
    """cifarnet_preprocessing.preprocess_for_eval (its swapped size arguments kept)."""
    image = tf.to_float(image)
    image = tf.image.resize_image_with_crop_or_pad(image, output_width, output_height)
    return tf.image.per_image_standardization(image)


def lenet_eval(image, output_height, output_width):
    """lenet_preprocessing.preprocess_image (its swapped size arguments kept)."""
    image = tf.to_float(image)
    image = tf.image.resize_image_with_crop_or_pad(image, output_width, output_height)
    return tf.div(tf.subtract(image, 128.0), 128.0)


# --- the building blocks ------------------------------------------------------------------------

def resize(image, size, method):
    methods = {"bilinear": tf.image.ResizeMethod.BILINEAR, "nearest": tf.image.ResizeMethod.NEAREST_NEIGHBOR,
               "bicubic": tf.image.ResizeMethod.BICUBIC, "area": tf.image.ResizeMethod.AREA}
    return tf.image.resize_images(tf.to_float(image), size, methods[method])


OPS = {
    "vgg_eval": vgg_eval,
    "inception_eval": inception_eval,
    "cifarnet_eval": cifarnet_eval,
    "lenet_eval": lenet_eval,
    "resize_bilinear": lambda image, size: tf.squeeze(
        tf.image.resize_bilinear(tf.expand_dims(image, 0), size, align_corners=False), [0]),
    "resize_images": resize,
    "central_crop": lambda image, central_fraction: tf.image.central_crop(image, central_fraction),
    "resize_image_with_crop_or_pad": tf.image.resize_image_with_crop_or_pad,
    "adjust_brightness": tf.image.adjust_brightness,
    "adjust_contrast": tf.image.adjust_contrast,
    "adjust_saturation": tf.image.adjust_saturation,
    "adjust_hue": tf.image.adjust_hue,
    "rgb_to_grayscale": tf.image.rgb_to_grayscale,
    "per_image_standardization": tf.image.per_image_standardization,
}


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.RandomState(20160828)
    photo_a = rng.randint(0, 256, size=(37, 53, 3)).astype(np.uint8)
    photo_b = rng.randint(0, 256, size=(60, 41, 3)).astype(np.uint8)
    colors = rng.uniform(0.0, 1.0, size=(8, 9, 3)).astype(np.float32)
    return {
        "photo_a": photo_a,
        "photo_b": photo_b,
        "small": photo_a[5:18, 9:26].copy(),        # 13 x 17, for the resize kernels
        "colors": colors,                           # floats in [0, 1]
        "colors_bright": colors + 0.2,              # some values above 1
        "colors_dark": colors - 0.3,                # negatives, some pixels with max <= 0
        "colors_255": colors * 255.0,
        "flat": np.full((4, 5, 3), 7.0, np.float32),  # stddev 0: the 1/sqrt(N) floor
    }


def cases() -> list[dict]:
    found = []

    def add(op, image, **args):
        found.append({"key": f"{op}/{len(found)}", "op": op, "input": image, "args": args})

    for image in ("photo_a", "photo_b"):
        add("vgg_eval", image, output_height=16, output_width=16, resize_side=24)
        add("vgg_eval", image, output_height=16, output_width=12, resize_side=256)
        add("inception_eval", image, height=16, width=16)
        add("inception_eval", image, height=12, width=20)
        add("cifarnet_eval", image, output_height=16, output_width=16)
        add("lenet_eval", image, output_height=20, output_width=20)
    add("inception_eval", "photo_b", height=11, width=19, central_fraction=0.5)
    add("inception_eval", "colors", height=6, width=7)               # a float input, already in [0, 1]
    add("cifarnet_eval", "small", output_height=16, output_width=16)  # pads the height, crops the width
    add("lenet_eval", "small", output_height=20, output_width=20)     # pads both
    for size in ((9, 11), (19, 26)):
        for method in ("bilinear", "nearest", "bicubic", "area"):
            add("resize_images", "small", size=list(size), method=method)
    add("resize_bilinear", "photo_a", size=[24, 31])
    for fraction in (0.875, 0.5, 0.33):
        add("central_crop", "photo_b", central_fraction=fraction)
    add("resize_image_with_crop_or_pad", "photo_b", target_height=50, target_width=45)
    add("resize_image_with_crop_or_pad", "photo_a", target_height=40, target_width=30)
    add("adjust_brightness", "colors", delta=0.1)
    for factor in (1.3, 0.4):
        add("adjust_contrast", "colors", contrast_factor=factor)
    for image in ("colors", "colors_bright", "colors_dark"):
        for factor in (0.6, 1.4):
            add("adjust_saturation", image, saturation_factor=factor)
    for delta in (0.15, -0.3):
        add("adjust_hue", "colors", delta=delta)
    add("rgb_to_grayscale", "colors")
    for image in ("colors_255", "flat"):
        add("per_image_standardization", image)
    return found


def main() -> None:
    from safetensors.numpy import save_file

    images = inputs()
    outputs = {}
    with tf.Session() as session:
        for case in cases():
            image = images[case["input"]]
            placeholder = tf.placeholder(tf.as_dtype(image.dtype), shape=[None, None, 3])
            result = OPS[case["op"]](placeholder, **case["args"])
            outputs[case["key"]] = session.run(result, {placeholder: image})
    tensors = {f"input/{name}": value for name, value in images.items()}
    tensors.update({f"output/{key}": np.ascontiguousarray(value) for key, value in outputs.items()})
    save_file(tensors, GOLDEN, metadata={"cases": json.dumps(cases())})
    print(f"wrote {len(outputs)} cases, {os.path.getsize(GOLDEN)} bytes to {GOLDEN}")


if __name__ == "__main__":
    main()
