"""Translation of tf_slim/data/tfexample_decoder_test.py (tf_slim 1.1).

Serialized inputs are built with :func:`slimtorch.data.encode_example` (in
place of ``tf.train.Example(...).SerializeToString()``) and images are encoded
with torchvision's PNG/JPEG encoders (in place of ``tf.image.encode_*``).
Parsing specs come from :mod:`slimtorch.data.parsing` (``parsing_ops``).

=====================  ==========  =======  ====================  ===============
tf_slim test class     translated  passing  documented difference untranslatable
=====================  ==========  =======  ====================  ===============
TFExampleDecoderTest   39          39       10                    0
=====================  ==========  =======  ====================  ===============

Documented difference: :class:`Image` gives ``[channels, height, width]``
(slimtorch's and torchvision's layout) where TF gives ``[height, width,
channels]``; the tests compare against the generated image transposed to
CHW (testDecodeExampleWith{Jpeg,JPEG,Png,PNG,Raw,RAW}Encoding,
...RawEncodingFloatDtype, ...JpegEncodingAt16BitDoesNotCauseError,
...RepeatedImages).

The 10 ``tf.train.SequenceExample`` cases (testDecodeSequenceExample*) are
translated in tests/test_tfslim_data_tfexample_sequence_decoder.py; the
counts above include them.

Untranslatable: none.
"""

import io

import numpy as np
import PIL.Image
import pytest
import torch
from torchvision.io import decode_jpeg, decode_png, encode_jpeg, encode_png

from slimtorch.data import encode_example
from slimtorch.data import parsing as parsing_ops
from slimtorch.data import tfexample_decoder
from slimtorch.data.parsing import float32, int64, string


def _encoder(image, image_format):
    """Encoded bytes of an HWC numpy image (TF's encode_jpeg / encode_png / tobytes)."""
    assert image_format in ["jpeg", "JPEG", "png", "PNG", "raw", "RAW"]
    if image_format in ["raw", "RAW"]:
        return image.astype(image.dtype.newbyteorder("<")).tobytes()
    if image.shape[2] == 4:  # torchvision's PNG encoder takes 1 or 3 channels
        out = io.BytesIO()
        PIL.Image.fromarray(image, "RGBA").save(out, format="PNG")
        return out.getvalue()
    chw = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    encoded = encode_jpeg(chw, quality=95) if image_format in ["jpeg", "JPEG"] else encode_png(chw)
    return encoded.numpy().tobytes()


def generate_image(image_format, image_shape, image_dtype=np.uint8):
    """The image (HWC, as TF's test makes it) and a serialized example holding it."""
    assert image_format in ["raw", "RAW"] or image_dtype == np.uint8
    num_pixels = image_shape[0] * image_shape[1] * image_shape[2]
    image = np.linspace(0, num_pixels - 1, num=num_pixels).reshape(image_shape).astype(image_dtype)
    example = encode_example({"image/encoded": _encoder(image, image_format),
                              "image/format": image_format})
    return image, example


def decode_image_example(serialized_example, item_handler, image_format):
    decoder = tfexample_decoder.TFExampleDecoder(
        keys_to_features={
            "image/encoded": parsing_ops.FixedLenFeature((), string, default_value=""),
            "image/format": parsing_ops.FixedLenFeature((), string, default_value=image_format),
        },
        items_to_handlers={"image": item_handler})
    [image] = decoder.decode(serialized_example, ["image"])
    return image


def run_decode_example(serialized_example, item_handler, image_format):
    return decode_image_example(serialized_example, item_handler, image_format).numpy().astype(np.float32)


def _chw(image):
    # Difference: slimtorch's images are channels-first; TF's test image is HWC.
    return image.transpose(2, 0, 1)


def _decode_one(record, keys_to_features, item, handler):
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features, {item: handler})
    [value] = decoder.decode(record, [item])
    return value


def test_decode_example_with_jpeg_encoding():
    image, serialized = generate_image("jpeg", (2, 3, 3))
    decoded = run_decode_example(serialized, tfexample_decoder.Image(), "jpeg")
    # Need to use a tolerance of 1 because of noise in the jpeg encode/decode
    np.testing.assert_allclose(_chw(image), decoded, atol=1.001)


@pytest.mark.parametrize("channels", [1, 3])
def test_decode_example_with_uppercase_jpeg_encoding(channels):
    image, serialized = generate_image("JPEG", (2, 3, channels))
    decoded = run_decode_example(serialized, tfexample_decoder.Image(channels=channels), "JPEG")
    np.testing.assert_allclose(_chw(image), decoded, atol=1.001)


@pytest.mark.parametrize("channels", [1, 3])
def test_decode_example_with_no_shape_info(channels):
    _, serialized = generate_image("jpeg", (2, 3, channels))
    decoded = decode_image_example(serialized, tfexample_decoder.Image(shape=None, channels=channels),
                                   "jpeg")
    assert decoded.dim() == 3


@pytest.mark.parametrize("image_format", ["png", "PNG"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_decode_example_with_png_encoding(image_format, channels):
    image, serialized = generate_image(image_format, (2, 3, channels))
    decoded = run_decode_example(serialized, tfexample_decoder.Image(channels=channels), image_format)
    np.testing.assert_allclose(_chw(image), decoded, atol=0)


@pytest.mark.parametrize("image_format", ["raw", "RAW"])
def test_decode_example_with_raw_encoding(image_format):
    image_shape = (2, 3, 3)
    image, serialized = generate_image(image_format, image_shape)
    decoded = run_decode_example(serialized, tfexample_decoder.Image(shape=image_shape), image_format)
    np.testing.assert_allclose(_chw(image), decoded, atol=0)


def test_decode_example_with_raw_encoding_float_dtype():
    image_shape = (2, 3, 3)
    image, serialized = generate_image("raw", image_shape, image_dtype=np.float32)
    decoded = run_decode_example(serialized, tfexample_decoder.Image(shape=image_shape, dtype=float32),
                                 "raw")
    np.testing.assert_allclose(_chw(image), decoded, atol=0)


def test_decode_example_with_jpeg_encoding_at_16_bit_does_not_cause_error():
    # Image has type uint8 but decoding at uint16 should not cause problems.
    image, serialized = generate_image("jpeg", (2, 3, 3))
    decoded = run_decode_example(serialized, tfexample_decoder.Image(dtype=parsing_ops.uint16), "jpeg")
    np.testing.assert_allclose(_chw(image), decoded, atol=1.001)


def test_decode_example_with_string_tensor():
    tensor_shape = (2, 3, 1)
    np_array = np.array([[["ab"], ["cd"], ["ef"]], [["ghi"], ["jkl"], ["mnop"]]])
    serialized = encode_example({"labels": [v.encode("utf-8") for v in np_array.flatten()]})
    keys_to_features = {"labels": parsing_ops.FixedLenFeature(
        tensor_shape, string, default_value=np.full(tensor_shape, b"", dtype=object))}
    labels = _decode_one(serialized, keys_to_features, "labels", tfexample_decoder.Tensor("labels"))
    labels = labels.astype(np_array.dtype)
    assert np.array_equal(np_array, labels)


def test_decode_example_with_float_tensor():
    np_array = np.random.rand(2, 3, 1).astype("f")
    serialized = encode_example({"array": np_array.flatten()})
    array = _decode_one(serialized, {"array": parsing_ops.FixedLenFeature(np_array.shape, float32)},
                        "array", tfexample_decoder.Tensor("array"))
    np.testing.assert_array_equal(array.numpy(), np_array)


def test_decode_example_with_int64_tensor():
    np_array = np.random.randint(1, 10, size=(2, 3, 1))
    serialized = encode_example({"array": np_array.flatten()})
    array = _decode_one(serialized, {"array": parsing_ops.FixedLenFeature(np_array.shape, int64)},
                        "array", tfexample_decoder.Tensor("array"))
    np.testing.assert_array_equal(array.numpy(), np_array)


def test_decode_example_with_var_len_tensor():
    np_array = np.array([[[1], [2], [3]], [[4], [5], [6]]])
    serialized = encode_example({"labels": np_array.flatten()})
    labels = _decode_one(serialized, {"labels": parsing_ops.VarLenFeature(dtype=int64)},
                         "labels", tfexample_decoder.Tensor("labels"))
    np.testing.assert_array_equal(labels.numpy(), np_array.flatten())


def test_decode_example_with_fix_len_tensor_with_shape():
    np_array = np.array([[1, 2, 3], [4, 5, 6]])
    serialized = encode_example({"labels": np_array.flatten()})
    labels = _decode_one(serialized, {"labels": parsing_ops.FixedLenFeature(np_array.shape, dtype=int64)},
                         "labels", tfexample_decoder.Tensor("labels", shape=np_array.shape))
    np.testing.assert_array_equal(labels.numpy(), np_array)


def test_decode_example_with_var_len_tensor_to_dense():
    np_array = np.array([[1, 2, 3], [4, 5, 6]])
    serialized = encode_example({"labels": np_array.flatten()})
    labels = _decode_one(serialized, {"labels": parsing_ops.VarLenFeature(dtype=int64)},
                         "labels", tfexample_decoder.Tensor("labels", shape=np_array.shape))
    np.testing.assert_array_equal(labels.numpy(), np_array)


def test_decode_example_shape_key_tensor():
    np_image = np.random.rand(2, 3, 1).astype("f")
    np_labels = np.array([[[1], [2], [3]], [[4], [5], [6]]])
    serialized = encode_example({
        "image": np_image.flatten(), "image/shape": np.array(np_image.shape),
        "labels": np_labels.flatten(), "labels/shape": np.array(np_labels.shape)})
    keys_to_features = {
        "image": parsing_ops.VarLenFeature(dtype=float32),
        "image/shape": parsing_ops.VarLenFeature(dtype=int64),
        "labels": parsing_ops.VarLenFeature(dtype=int64),
        "labels/shape": parsing_ops.VarLenFeature(dtype=int64),
    }
    items_to_handlers = {
        "image": tfexample_decoder.Tensor("image", shape_keys="image/shape"),
        "labels": tfexample_decoder.Tensor("labels", shape_keys="labels/shape"),
    }
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)
    image, labels = decoder.decode(serialized, ["image", "labels"])
    np.testing.assert_array_equal(image.numpy(), np_image)
    np.testing.assert_array_equal(labels.numpy(), np_labels)


def test_decode_example_multi_shape_key_tensor():
    np_image = np.random.rand(2, 3, 1).astype("f")
    np_labels = np.array([[[1], [2], [3]], [[4], [5], [6]]])
    height, width, depth = np_labels.shape
    serialized = encode_example({
        "image": np_image.flatten(), "image/shape": np.array(np_image.shape),
        "labels": np_labels.flatten(), "labels/height": np.array([height]),
        "labels/width": np.array([width]), "labels/depth": np.array([depth])})
    keys_to_features = {
        "image": parsing_ops.VarLenFeature(dtype=float32),
        "image/shape": parsing_ops.VarLenFeature(dtype=int64),
        "labels": parsing_ops.VarLenFeature(dtype=int64),
        "labels/height": parsing_ops.VarLenFeature(dtype=int64),
        "labels/width": parsing_ops.VarLenFeature(dtype=int64),
        "labels/depth": parsing_ops.VarLenFeature(dtype=int64),
    }
    items_to_handlers = {
        "image": tfexample_decoder.Tensor("image", shape_keys="image/shape"),
        "labels": tfexample_decoder.Tensor(
            "labels", shape_keys=["labels/height", "labels/width", "labels/depth"]),
    }
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)
    image, labels = decoder.decode(serialized, ["image", "labels"])
    np.testing.assert_array_equal(image.numpy(), np_image)
    np.testing.assert_array_equal(labels.numpy(), np_labels)


_SPARSE_FEATURES = {
    "indices": parsing_ops.VarLenFeature(dtype=int64),
    "values": parsing_ops.VarLenFeature(dtype=float32),
}


def test_decode_example_with_sparse_tensor():
    np_indices = np.array([[1], [2], [5]])
    np_values = np.array([0.1, 0.2, 0.6]).astype("f")
    serialized = encode_example({"indices": np_indices.flatten(), "values": np_values})
    labels = _decode_one(serialized, _SPARSE_FEATURES, "labels", tfexample_decoder.SparseTensor())
    np.testing.assert_array_equal(labels.indices.numpy(), np_indices)
    np.testing.assert_array_equal(labels.values.numpy(), np_values)
    np.testing.assert_array_equal(labels.dense_shape.numpy(), np_values.shape)


def test_decode_example_with_sparse_tensor_with_key_shape():
    np_indices = np.array([[1], [2], [5]])
    np_values = np.array([0.1, 0.2, 0.6]).astype("f")
    np_shape = np.array([6])
    serialized = encode_example({"indices": np_indices.flatten(), "values": np_values,
                                 "shape": np_shape})
    features = dict(_SPARSE_FEATURES, shape=parsing_ops.VarLenFeature(dtype=int64))
    labels = _decode_one(serialized, features, "labels",
                         tfexample_decoder.SparseTensor(shape_key="shape"))
    np.testing.assert_array_equal(labels.indices.numpy(), np_indices)
    np.testing.assert_array_equal(labels.values.numpy(), np_values)
    np.testing.assert_array_equal(labels.dense_shape.numpy(), np_shape)


def test_decode_example_with_sparse_tensor_with_given_shape():
    np_indices = np.array([[1], [2], [5]])
    np_values = np.array([0.1, 0.2, 0.6]).astype("f")
    np_shape = np.array([6])
    serialized = encode_example({"indices": np_indices.flatten(), "values": np_values})
    labels = _decode_one(serialized, _SPARSE_FEATURES, "labels",
                         tfexample_decoder.SparseTensor(shape=np_shape))
    np.testing.assert_array_equal(labels.indices.numpy(), np_indices)
    np.testing.assert_array_equal(labels.values.numpy(), np_values)
    np.testing.assert_array_equal(labels.dense_shape.numpy(), np_shape)


def test_decode_example_with_sparse_tensor_to_dense():
    np_indices = np.array([1, 2, 5])
    np_values = np.array([0.1, 0.2, 0.6]).astype("f")
    np_shape = np.array([6])
    np_dense = np.array([0.0, 0.1, 0.2, 0.0, 0.0, 0.6]).astype("f")
    serialized = encode_example({"indices": np_indices, "values": np_values})
    labels = _decode_one(serialized, _SPARSE_FEATURES, "labels",
                         tfexample_decoder.SparseTensor(shape=np_shape, densify=True))
    np.testing.assert_allclose(labels.numpy(), np_dense)


def _depth_features(tensor_shape):
    return {"image/depth_map": parsing_ops.FixedLenFeature(
        tensor_shape, float32, default_value=parsing_ops.zeros(tensor_shape))}


def test_decode_example_with_tensor():
    tensor_shape = (2, 3, 1)
    np_array = np.random.rand(2, 3, 1)
    serialized = encode_example({"image/depth_map": np_array.flatten()})
    depth = _decode_one(serialized, _depth_features(tensor_shape), "depth",
                        tfexample_decoder.Tensor("image/depth_map"))
    np.testing.assert_allclose(np_array, depth.numpy(), rtol=1e-6)


def test_decode_example_with_item_handler_callback():
    np.random.seed(0)
    tensor_shape = (2, 3, 1)
    np_array = np.random.rand(2, 3, 1)
    serialized = encode_example({"image/depth_map": np_array.flatten()})

    def handle_depth(keys_to_tensors):
        depth = list(keys_to_tensors.values())[0]
        depth += 1
        return depth

    depth = _decode_one(serialized, _depth_features(tensor_shape), "depth",
                        tfexample_decoder.ItemHandlerCallback("image/depth_map", handle_depth))
    np.testing.assert_allclose(np_array, depth.numpy() - 1, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("image_encoding", ["jpeg", "png"])
def test_decode_image_with_item_handler_callback(image_encoding):
    image_shape = (2, 3, 3)
    image, serialized = generate_image(image_encoding, image_shape)

    def conditional_decoding(keys_to_tensors):
        image_buffer = torch.frombuffer(bytearray(keys_to_tensors["image/encoded"]), dtype=torch.uint8)
        if keys_to_tensors["image/format"] == b"png":
            decoded = decode_png(image_buffer)
        else:
            decoded = decode_jpeg(image_buffer)
        # The callback decides its own layout: HWC here, as the TF test reshapes to.
        return decoded.permute(1, 2, 0).reshape(image_shape)

    keys_to_features = {
        "image/encoded": parsing_ops.FixedLenFeature((), string, default_value=""),
        "image/format": parsing_ops.FixedLenFeature((), string, default_value="jpeg"),
    }
    decoded = _decode_one(serialized, keys_to_features, "image", tfexample_decoder.ItemHandlerCallback(
        ["image/encoded", "image/format"], conditional_decoding)).numpy()
    if image_encoding == "jpeg":
        np.testing.assert_allclose(image.astype(np.float32), decoded.astype(np.float32),
                                   rtol=.5, atol=1.001)
    else:
        np.testing.assert_allclose(image, decoded, atol=0)


def _bbox_example(num_bboxes=10):
    sides = [np.random.rand(num_bboxes, 1) for _ in range(4)]  # ymin, xmin, ymax, xmax
    serialized = encode_example({f"image/object/bbox/{name}": side.flatten()
                                 for name, side in zip(["ymin", "xmin", "ymax", "xmax"], sides)})
    return np.hstack(sides), serialized


def test_decode_example_with_bounding_box_sparse():
    np_bboxes, serialized = _bbox_example()
    keys_to_features = {f"image/object/bbox/{k}": parsing_ops.VarLenFeature(float32)
                        for k in ["ymin", "xmin", "ymax", "xmax"]}
    bboxes = _decode_one(serialized, keys_to_features, "object/bbox", tfexample_decoder.BoundingBox(
        ["ymin", "xmin", "ymax", "xmax"], "image/object/bbox/"))
    np.testing.assert_allclose(np_bboxes, bboxes.numpy(), rtol=1e-6)


def test_decode_example_with_bounding_box_dense():
    np_bboxes, serialized = _bbox_example()
    keys_to_features = {
        f"image/object/bbox/{k}": parsing_ops.FixedLenSequenceFeature([], float32, allow_missing=True)
        for k in ["ymin", "xmin", "ymax", "xmax"]}
    bboxes = _decode_one(serialized, keys_to_features, "object/bbox", tfexample_decoder.BoundingBox(
        ["ymin", "xmin", "ymax", "xmax"], "image/object/bbox/"))
    np.testing.assert_allclose(np_bboxes, bboxes.numpy(), rtol=1e-6)


def test_decode_example_with_repeated_images():
    image_shape = (2, 3, 3)
    image_format = "png"
    image, _ = generate_image(image_format, image_shape)
    encoded = _encoder(image, image_format)
    serialized = encode_example({"image/encoded": [encoded, encoded], "image/format": image_format})
    decoder = tfexample_decoder.TFExampleDecoder(
        keys_to_features={
            "image/encoded": parsing_ops.FixedLenFeature((2,), string),
            "image/format": parsing_ops.FixedLenFeature((), string, default_value=image_format),
        },
        items_to_handlers={"image": tfexample_decoder.Image(repeated=True)})
    [output_image] = decoder.decode(serialized, ["image"])
    output_image = output_image.numpy()
    # Difference: [N, C, H, W] (TF: (2, 2, 3, 3) as [N, H, W, C]).
    assert output_image.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(np.squeeze(output_image[0]), _chw(image))
    np.testing.assert_array_equal(np.squeeze(output_image[1]), _chw(image))


# 'dog' -> 0, 'guinea pig' -> 1, 'cat' -> 2 (TF: index_table_from_tensor([...]))
_TABLE = {name: index for index, name in enumerate(["dog", "guinea pig", "cat"])}


def test_decode_example_with_lookup():
    serialized = encode_example({"image/object/class/text": [b"cat", b"dog", b"guinea pig"]})
    decoder = tfexample_decoder.TFExampleDecoder(
        {"image/object/class/text": parsing_ops.VarLenFeature(string)},
        {"labels": tfexample_decoder.LookupTensor("image/object/class/text", _TABLE)})
    obtained_class_ids = decoder.decode(serialized)[0]
    np.testing.assert_allclose([2, 0, 1], obtained_class_ids.numpy())


def test_decode_example_with_backup_handler_lookup():
    example1 = encode_example({"image/object/class/text": [b"cat", b"dog", b"guinea pig"],
                               "image/object/class/label": [42, 10, 900]})
    example2 = encode_example({"image/object/class/text": [b"cat", b"dog", b"guinea pig"]})
    example3 = encode_example({"image/object/class/label": [42, 10, 901]})
    keys_to_features = {
        "image/object/class/text": parsing_ops.VarLenFeature(string),
        "image/object/class/label": parsing_ops.VarLenFeature(int64),
    }
    backup_handler = tfexample_decoder.BackupHandler(
        handler=tfexample_decoder.Tensor("image/object/class/label"),
        backup=tfexample_decoder.LookupTensor("image/object/class/text", _TABLE))
    decoder = tfexample_decoder.TFExampleDecoder(keys_to_features, {"labels": backup_handler})
    obtained = [decoder.decode(example)[0].numpy() for example in [example1, example2, example3]]
    np.testing.assert_allclose([42, 10, 900], obtained[0])
    np.testing.assert_allclose([2, 0, 1], obtained[1])
    np.testing.assert_allclose([42, 10, 901], obtained[2])


# ---------------------------------------------------- slimtorch's own checks


def test_bounding_box_rejects_wrong_key_count():
    with pytest.raises(ValueError, match="BoundingBox expects 4 keys but got 3"):
        tfexample_decoder.BoundingBox(["a", "b", "c"])


def test_tensor_rejects_shape_and_shape_keys():
    with pytest.raises(ValueError, match="Cannot specify both shape_keys and shape"):
        tfexample_decoder.Tensor("x", shape_keys="s", shape=[2])


def test_backup_handler_rejects_non_handlers():
    with pytest.raises(ValueError, match="Primary handler is of type"):
        tfexample_decoder.BackupHandler("x", tfexample_decoder.Tensor("y"))


def test_decoder_names_unknown_items_and_keys():
    features = {"x": parsing_ops.FixedLenFeature([], int64)}
    decoder = tfexample_decoder.TFExampleDecoder(features, {"x": tfexample_decoder.Tensor("x")})
    with pytest.raises(ValueError, match=r"unknown items \['y'\]"):
        decoder.decode(encode_example({"x": 1}), ["y"])
    with pytest.raises(ValueError, match="reads \\['z'\\], which keys_to_features does not describe"):
        tfexample_decoder.TFExampleDecoder(features, {"z": tfexample_decoder.Tensor("z")})


def test_missing_required_feature_and_wrong_kind_are_named():
    features = {"x": parsing_ops.FixedLenFeature([], int64)}
    with pytest.raises(ValueError, match="feature 'x' is required"):
        parsing_ops.parse_single_example(encode_example({"y": 1}), features)
    with pytest.raises(TypeError, match="feature 'x' holds floats"):
        parsing_ops.parse_single_example(encode_example({"x": 1.5}), features)
    with pytest.raises(ValueError, match="feature 'x' has 2 values"):
        parsing_ops.parse_single_example(encode_example({"x": [1, 2]}), features)


def test_png_as_float_is_scaled_jpeg_is_cast():
    """TF-Slim: decode_image(dtype=float32) scales a PNG; a JPEG goes through a plain cast."""
    image, png = generate_image("png", (2, 3, 3))
    decoded = decode_image_example(png, tfexample_decoder.Image(dtype=float32), "png")
    np.testing.assert_allclose(decoded.numpy(), _chw(image) / 255.0, rtol=1e-6)
    _, jpeg = generate_image("jpeg", (2, 3, 3))
    decoded = decode_image_example(jpeg, tfexample_decoder.Image(dtype=float32), "jpeg")
    assert decoded.max() > 1.0


def test_png_at_16_bit_is_scaled_like_convert_image_dtype():
    """TF's decode_image(dtype=uint16) of an 8-bit PNG: convert_image_dtype multiplies by 256."""
    image, png = generate_image("png", (2, 3, 3))
    decoded = decode_image_example(png, tfexample_decoder.Image(dtype=parsing_ops.uint16), "png")
    assert decoded.dtype == torch.uint16
    np.testing.assert_array_equal(decoded.numpy().astype(np.int64), _chw(image).astype(np.int64) * 256)
    with pytest.raises(TypeError, match="Image: dtype must be a torch dtype"):
        tfexample_decoder.Image(dtype="uint8")
    with pytest.raises(ValueError, match="a 'raw' image needs shape"):
        decode_image_example(generate_image("raw", (2, 3, 3))[1], tfexample_decoder.Image(), "raw")
