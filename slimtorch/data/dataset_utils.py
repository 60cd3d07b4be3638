"""research/slim's ``datasets/dataset_utils.py``, for dataset files ported by import.

research/slim's dataset files call ``dataset_utils.has_labels``,
``read_label_file`` and ``write_label_file`` (``labels.txt``, ``id:name``
lines) and its converters build examples with ``image_to_tfexample``. The
same names, without TensorFlow:

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> has_labels(d)
    False
    >>> write_label_file({0: "daisy", 1: "tulips"}, d)
    >>> has_labels(d), read_label_file(d)
    (True, {0: 'daisy', 1: 'tulips'})
    >>> from slimtorch.data import decode_example
    >>> decode_example(image_to_tfexample(b"...", b"png", 4, 5, 1))["image/class/label"]
    [1]
"""

from __future__ import annotations

from slimtorch.data.example import encode_example
from slimtorch.data.research_slim import LABELS_FILENAME, has_labels, read_label_file, write_label_file

__all__ = ["LABELS_FILENAME", "has_labels", "image_to_tfexample", "read_label_file",
           "write_label_file"]


def image_to_tfexample(image_data: bytes, image_format, height: int, width: int,
                       class_id: int) -> bytes:
    """research/slim's ``image_to_tfexample``, serialized.

    research/slim returns a ``tf.train.Example`` proto that its converters
    then ``SerializeToString()``; here the serialized bytes come back (write
    them with :func:`~slimtorch.data.write_tfrecord`). The keys are
    ``image/encoded``, ``image/format``, ``image/class/label``,
    ``image/height`` and ``image/width``.
    """
    return encode_example({"image/encoded": bytes(image_data), "image/format": image_format,
                           "image/class/label": int(class_id), "image/height": int(height),
                           "image/width": int(width)})
