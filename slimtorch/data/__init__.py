"""Data: TFRecord / ``tf.train.Example`` reading and writing without TensorFlow,
and research/slim's image datasets on ``torch.utils.data``.

* :func:`iter_tfrecord`, :func:`write_tfrecord`, :func:`scan_record_offsets`,
  :func:`read_record_at`: TFRecord files (crc-checked; GZIP/ZLIB).
* :func:`decode_example`, :func:`encode_example`: ``tf.train.Example`` protos.
* :class:`TFRecordImageDataset`: a map-style dataset over shards of
  research/slim's ``image/encoded`` + ``image/class/label`` examples.
* :func:`research_slim_dataset`, :func:`read_label_file`: research/slim's
  flowers / cifar10 / mnist / imagenet conversions.
* :class:`TFRecordError`: what every corrupt record or proto raises.
"""

from .errors import TFRecordError
from .example import decode_example, encode_example
from .image_decoding import decode_image_bytes
from .research_slim import (ResearchSlimSplit, read_label_file, research_slim_dataset,
                            write_label_file)
from .shards import expand_file_pattern, sharded_file_names
from .tfrecord import iter_tfrecord, read_record_at, scan_record_offsets, write_tfrecord
from .tfrecord_dataset import TFRecordImageDataset

__all__ = [
    "ResearchSlimSplit", "TFRecordError", "TFRecordImageDataset", "decode_example",
    "decode_image_bytes", "encode_example", "expand_file_pattern", "iter_tfrecord",
    "read_label_file", "read_record_at", "research_slim_dataset", "scan_record_offsets",
    "sharded_file_names", "write_label_file", "write_tfrecord",
]
