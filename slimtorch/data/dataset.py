"""TF-Slim's ``Dataset``: what a research/slim ``get_split`` returns.

A ``Dataset`` is a record of its parts: ``data_sources`` (file pattern(s)),
``reader`` (a reader class such as
:class:`~slimtorch.data.parallel_reader.TFRecordReader`), ``decoder`` (a
:class:`~slimtorch.data.data_decoder.DataDecoder`), ``num_samples``,
``items_to_descriptions``, and any extra keyword (``num_classes``,
``labels_to_names``) as an attribute. Read it with
:class:`~slimtorch.data.dataset_data_provider.DatasetDataProvider`.

    >>> from slimtorch.data.parallel_reader import TFRecordReader
    >>> data = Dataset("train-*", TFRecordReader, decoder=None, num_samples=10,
    ...                items_to_descriptions={"image": "a picture"}, num_classes=5)
    >>> data.data_sources, data.num_samples, data.num_classes
    ('train-*', 10, 5)
"""

from __future__ import annotations

__all__ = ["Dataset"]


class Dataset:
    """Represents a Dataset specification (TF-Slim's ``slim.dataset.Dataset``).

    Args:
      data_sources: a list of files, or a pattern, that make up the dataset.
      reader: the reader class, e.g. ``TFRecordReader``.
      decoder: an instance of a ``DataDecoder``.
      num_samples: the number of samples in the dataset.
      items_to_descriptions: a map from the items the dataset provides to
        descriptions of them.
      **kwargs: any remaining dataset-specific fields, kept as attributes.
    """

    def __init__(self, data_sources, reader, decoder, num_samples, items_to_descriptions,
                 **kwargs):
        kwargs["data_sources"] = data_sources
        kwargs["reader"] = reader
        kwargs["decoder"] = decoder
        kwargs["num_samples"] = num_samples
        kwargs["items_to_descriptions"] = items_to_descriptions
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        return (f"Dataset(data_sources={self.data_sources!r}, num_samples={self.num_samples!r}, "
                f"items={sorted(self.items_to_descriptions or {})!r})")
