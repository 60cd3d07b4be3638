"""Translation of tf_slim/data/tfexample_decoder_test.py (tf_slim 1.1), part 2:
the ``tf.train.SequenceExample`` cases (``TFSequenceExampleDecoder``,
``NumBoxesSequence``, ``BoundingBoxSequence``, ``KeypointsSequence``).

Records are built with :func:`slimtorch.data.example.encode_sequence_example`;
TF's text-format protos of testDecodeSequenceExample{NoBoxes,PartialBoxes}
become the same steps (an empty ``feature {}`` is an empty step).

=====================  ==========  =======  ====================  ===============
tf_slim test class     translated  passing  documented difference untranslatable
=====================  ==========  =======  ====================  ===============
TFExampleDecoderTest   10          10       1                     0
(sequence cases)
=====================  ==========  =======  ====================  ===============

Documented difference: testDecodeSequenceExampleNumBoxesSequenceWithCheck —
the consistency check fails eagerly, at ``decode``, with ``ValueError``
(TF: ``InvalidArgumentError`` when the graph runs).

Untranslatable: none.
"""

import numpy as np
import pytest

from slimtorch.data import parsing as parsing_ops
from slimtorch.data import tfexample_decoder
from slimtorch.data.example import encode_sequence_example
from slimtorch.data.parsing import float32, int64, string


def _sequence_float_feature(ndarray, guard_value=None):
    """One step per row, without the guard values (TF's _SequenceFloatFeature)."""
    return [[float(column) for column in row if column != guard_value] for row in ndarray]


def _num_boxes_decoder(keys, check_consistency, features=None):
    features = features or {key: parsing_ops.VarLenFeature(dtype=float32) for key in keys}
    return tfexample_decoder.TFSequenceExampleDecoder(
        keys_to_context_features={}, keys_to_sequence_features=features,
        items_to_handlers={"num_boxes": tfexample_decoder.NumBoxesSequence(
            keys=keys, check_consistency=check_consistency)})


_TENSOR_0 = np.array([[32.0, 21.0], [55.5, -2.0]])
_TENSOR_1 = np.array([[32.0, -2.0], [55.5, -2.0]])


def test_decode_sequence_example_num_boxes_sequence_no_check():
    expected_num_boxes = np.array([2, 1])
    serialized = encode_sequence_example({}, {
        "tensor_0": _sequence_float_feature(_TENSOR_0, guard_value=-2.0),
        "tensor_1": _sequence_float_feature(_TENSOR_1, guard_value=-2.0)})
    decoder = _num_boxes_decoder(("tensor_0", "tensor_1"), check_consistency=False)
    num_boxes, = decoder.decode(serialized)
    np.testing.assert_array_equal(num_boxes.numpy(), expected_num_boxes)


def test_decode_sequence_example_num_boxes_sequence_with_check():
    serialized = encode_sequence_example({}, {
        "tensor_0": _sequence_float_feature(_TENSOR_0, guard_value=-2.0),
        "tensor_1": _sequence_float_feature(_TENSOR_1, guard_value=-2.0)})
    decoder = _num_boxes_decoder(("tensor_0", "tensor_1"), check_consistency=True)
    # Difference: raised eagerly as ValueError (TF: InvalidArgumentError from sess.run).
    with pytest.raises(ValueError, match="assertion failed:*"):
        decoder.decode(serialized)


def test_decode_sequence_example_num_boxes_sequence_not_sparse():
    tensor_0 = np.array([[32.0, 21.0], [55.5, 22.0]])
    serialized = encode_sequence_example({}, {
        "tensor_0": _sequence_float_feature(tensor_0, guard_value=-2.0)})
    decoder = _num_boxes_decoder(
        ("tensor_0"), check_consistency=False,
        features={"tensor_0": parsing_ops.FixedLenSequenceFeature([2], dtype=float32)})
    with pytest.raises(ValueError, match="tensor must be of type tf.SparseTensor."):
        decoder.decode(serialized)


def _bbox_sequence(default_value=None):
    xmin = np.array([[32.0, 21.0], [55.5, -2.0]])
    xmax = np.array([[21.0, 21.0], [32.5, -2.0]])
    ymin = np.array([[7.0, 21.0], [55.5, -2.0]])
    ymax = np.array([[32.0, 21.0], [55.5, -2.0]])
    # Note: expected_bbox matches the default order in the item handler.
    expected_bbox = np.stack([ymin, xmin, ymax, xmax], axis=2)
    # The guard value should be left out and the sparse tensor filled with the default.
    expected_bbox[expected_bbox == -2.0] = -1.0 if default_value is None else default_value
    serialized = encode_sequence_example({}, {
        f"bbox/{name}": _sequence_float_feature(side, guard_value=-2.0)
        for name, side in [("xmin", xmin), ("xmax", xmax), ("ymin", ymin), ("ymax", ymax)]})
    kwargs = {} if default_value is None else {"default_value": default_value}
    decoder = tfexample_decoder.TFSequenceExampleDecoder(
        keys_to_context_features={},
        keys_to_sequence_features={f"bbox/{name}": parsing_ops.VarLenFeature(dtype=float32)
                                   for name in ["xmin", "xmax", "ymin", "ymax"]},
        items_to_handlers={"bbox": tfexample_decoder.BoundingBoxSequence(prefix="bbox/", **kwargs)})
    decoded_bbox, = decoder.decode(serialized)
    return decoded_bbox, expected_bbox


def test_decode_sequence_example_bounding_box_sequence():
    decoded_bbox, expected_bbox = _bbox_sequence()
    np.testing.assert_allclose(decoded_bbox.numpy(), expected_bbox)


def test_decode_sequence_example_bounding_box_sequence_with_default_value():
    decoded_bbox, expected_bbox = _bbox_sequence(default_value=float("nan"))
    np.testing.assert_allclose(decoded_bbox.numpy(), expected_bbox)


def _keypoints_sequence(default_value=None):
    x = np.array([[32.0, 21.0], [55.5, -2.0]])
    y = np.array([[7.0, 21.0], [55.5, -2.0]])
    expected_keypoints = np.stack([y, x], axis=2)
    expected_keypoints[expected_keypoints == -2.0] = -1.0 if default_value is None else default_value
    serialized = encode_sequence_example({}, {
        "keypoints/x": _sequence_float_feature(x, guard_value=-2.0),
        "keypoints/y": _sequence_float_feature(y, guard_value=-2.0)})
    kwargs = {} if default_value is None else {"default_value": default_value}
    decoder = tfexample_decoder.TFSequenceExampleDecoder(
        keys_to_context_features={},
        keys_to_sequence_features={"keypoints/x": parsing_ops.VarLenFeature(dtype=float32),
                                   "keypoints/y": parsing_ops.VarLenFeature(dtype=float32)},
        items_to_handlers={"keypoints": tfexample_decoder.KeypointsSequence(
            prefix="keypoints/", **kwargs)})
    decoded_keypoints, = decoder.decode(serialized)
    return decoded_keypoints, expected_keypoints


def test_decode_sequence_example_keypoints_sequence():
    decoded, expected = _keypoints_sequence()
    np.testing.assert_allclose(decoded.numpy(), expected)


def test_decode_sequence_example_keypoints_sequence_with_default_value():
    decoded, expected = _keypoints_sequence(default_value=float("nan"))
    np.testing.assert_allclose(decoded.numpy(), expected)


def test_decode_sequence_example():
    float_array = np.array([[32.0, 21.0], [55.5, 12.0]])
    serialized = encode_sequence_example({"string": b"test"},
                                         {"floats": _sequence_float_feature(float_array)})
    decoder = tfexample_decoder.TFSequenceExampleDecoder(
        keys_to_context_features={
            "string": parsing_ops.FixedLenFeature((), string, default_value="")},
        keys_to_sequence_features={
            "floats": parsing_ops.FixedLenSequenceFeature([2], dtype=float32)},
        items_to_handlers={
            "string": tfexample_decoder.Tensor("string"),
            "floats": tfexample_decoder.Tensor("floats"),
        })
    decoded_string, decoded_floats = decoder.decode(serialized, items=["string", "floats"])
    assert decoded_string == b"test"
    np.testing.assert_allclose(decoded_floats.numpy(), float_array)


@pytest.mark.parametrize("steps, expected", [
    ([[], []], [0, 0]),              # testDecodeSequenceExampleNoBoxes: two empty `feature {}`
    ([[0.0, 0.1], []], [2, 0]),      # testDecodeSequenceExamplePartialBoxes
])
def test_decode_sequence_example_no_and_partial_boxes(steps, expected):
    serialized = encode_sequence_example({}, {"bbox/xmin": steps})
    decoder = _num_boxes_decoder("bbox/xmin", check_consistency=True,
                                 features={"bbox/xmin": parsing_ops.VarLenFeature(dtype=float32)})
    num_boxes, = decoder.decode(serialized)
    np.testing.assert_array_equal(num_boxes.numpy(), expected)


# ---------------------------------------------------- slimtorch's own checks


def test_sequence_decoder_rejects_shared_keys():
    with pytest.raises(ValueError, match="Context and sequence keys are not unique"):
        tfexample_decoder.TFSequenceExampleDecoder(
            {"x": parsing_ops.FixedLenFeature([], int64)}, {"x": parsing_ops.VarLenFeature(int64)}, {})
