"""Data: the embedded digits, local files, TFRecord / ``tf.train.Example``
reading and writing without TensorFlow, and research/slim's image datasets
on ``torch.utils.data``.

* :func:`get_dataset`: research/slim's ``dataset_factory`` (digits, mnist,
  cifar10, flowers, imagenet, folder, synthetic).
* :class:`DigitsDataset`: the UCI digits shipped in the package (no download).
* :class:`MNISTDataset`, :class:`CIFAR10Dataset`, :class:`ImageFolderDataset`,
  :class:`SyntheticDataset`: local files in torchvision's layouts, random data.

* :func:`iter_tfrecord`, :func:`write_tfrecord`, :func:`scan_record_offsets`,
  :func:`read_record_at`: TFRecord files (crc-checked; GZIP/ZLIB).
* :func:`decode_example`, :func:`encode_example`: ``tf.train.Example`` protos.
* :class:`TFRecordImageDataset`: a map-style dataset over shards of
  research/slim's ``image/encoded`` + ``image/class/label`` examples.
* :func:`research_slim_dataset`, :func:`read_label_file`: research/slim's
  flowers / cifar10 / mnist / imagenet conversions.
* :class:`TFRecordError`: what every corrupt record or proto raises.
* :func:`tfrecord_directory_dataset`: any directory of research/slim-style
  shards + ``labels.txt`` (``--dataset_name=tfrecord``).
* :mod:`.convert`: research/slim's ``download_and_convert_data`` without
  downloads (your class-per-folder images, local MNIST / CIFAR-10).

TF-Slim's data-provider layer (``slim.dataset``, ``slim.tfexample_decoder``,
...), eager and on ``torch.utils.data``, for research/slim dataset files:

* :mod:`.dataset` (``Dataset``), :mod:`.data_decoder`, :mod:`.data_provider`,
  :mod:`.dataset_data_provider` (``DatasetDataProvider``),
  :mod:`.tfexample_decoder` (``TFExampleDecoder`` and its item handlers),
  :mod:`.parallel_reader`, :mod:`.prefetch_queue`;
* :mod:`.parsing`: ``FixedLenFeature``, ``VarLenFeature``,
  ``parse_single_example`` and the ``tf.`` names dataset files use;
* :mod:`.dataset_utils`: research/slim's ``datasets/dataset_utils``.
"""

from .digits import DigitsDataset, load_digits
from . import (data_decoder, data_provider, dataset, dataset_data_provider, dataset_utils,
               parallel_reader, parsing, prefetch_queue, tfexample_decoder)
from .errors import OutOfRangeError, TFRecordError
from .example import decode_example, encode_example
from .factory import DATASET_NAMES, get_dataset
from .image_decoding import decode_image_bytes
from .imagenet_labels import imagenet_class_names, imagenet_synsets, labels_for, write_imagenet_labels_file
from .local import CIFAR10Dataset, ImageFolderDataset, MNISTDataset, SyntheticDataset, TensorImageDataset
from .research_slim import ResearchSlimSplit, read_label_file, research_slim_dataset, write_label_file
from .shards import expand_file_pattern, sharded_file_names
from .tfrecord import iter_tfrecord, read_record_at, scan_record_offsets, write_tfrecord
from .tfrecord_dataset import TFRecordImageDataset
from .tfrecord_directory import tfrecord_directory_dataset
from . import convert

__all__ = [
    "CIFAR10Dataset", "DATASET_NAMES", "DigitsDataset", "ImageFolderDataset", "MNISTDataset",
    "SyntheticDataset", "TensorImageDataset", "get_dataset", "load_digits",
    "ResearchSlimSplit", "TFRecordError", "TFRecordImageDataset", "decode_example",
    "decode_image_bytes", "encode_example", "expand_file_pattern", "iter_tfrecord",
    "read_label_file", "read_record_at", "research_slim_dataset", "scan_record_offsets",
    "sharded_file_names", "write_label_file", "write_tfrecord", "tfrecord_directory_dataset",
    "convert", "imagenet_class_names", "imagenet_synsets", "labels_for",
    "write_imagenet_labels_file",
    "OutOfRangeError", "data_decoder", "data_provider", "dataset", "dataset_data_provider",
    "dataset_utils", "parallel_reader", "parsing", "prefetch_queue", "tfexample_decoder",
]
