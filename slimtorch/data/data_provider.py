"""TF-Slim's ``DataProvider``: items by name, ``provider.get(['image', 'label'])``.

A provider maps item names to values. In TF the values are tensors that
give a new sample on every ``sess.run``; eagerly, a subclass such as
:class:`~slimtorch.data.dataset_data_provider.DatasetDataProvider` reads the
next sample on every :meth:`DataProvider.get` (one ``get`` is one
``sess.run``). The base class serves a fixed mapping.

    >>> provider = DataProvider({"image": torch.zeros(3, 2, 2), "label": 7}, num_samples=1)
    >>> image, label = provider.get(["image", "label"])
    >>> image.shape, label, provider.num_samples()
    (torch.Size([3, 2, 2]), 7, 1)
    >>> provider.get(["labels"])
    Traceback (most recent call last):
    ...
    ValueError: Item [labels] is invalid. Valid entries include: ['image', 'label']
"""

from __future__ import annotations

import abc

__all__ = ["DataProvider"]


class DataProvider(abc.ABC):  # noqa: B024 -- abstract as in TF-Slim, with no abstract method
    """Maps a list of requested data items to values from a data source.

    Args:
      items_to_tensors: a dictionary of names to values.
      num_samples: the number of samples in the dataset being provided.
    """

    def __init__(self, items_to_tensors, num_samples):
        self._items_to_tensors = items_to_tensors
        self._num_samples = num_samples

    def _values(self) -> dict:
        """The mapping one :meth:`get` reads from (a subclass reads a new sample)."""
        return self._items_to_tensors

    def get(self, items):
        """A list with the value of each name in ``items``, in order.

        Raises:
          ValueError: if ``items`` is not a list or tuple, or names an item
            not in :meth:`list_items`.
        """
        self._validate_items(items)
        values = self._values()
        return [values[item] for item in items]

    def list_items(self):
        """The item names :meth:`get` accepts."""
        return list(self._items_to_tensors.keys())

    def num_samples(self):
        """The number of data samples in the dataset."""
        return self._num_samples

    def _validate_items(self, items):
        if not isinstance(items, (list, tuple)):
            raise ValueError("items must be a list or tuple")
        valid_items = self.list_items()
        for item in items:
            if item not in valid_items:
                raise ValueError(f"Item [{item}] is invalid. Valid entries include: {valid_items}")
