"""TF-Slim's ``DataDecoder``: turns one encoded record into the requested items.

A decoder is given one serialized record and a list of item names and
returns one value per item, in order; ``list_items`` names what it can
decode. :class:`~slimtorch.data.tfexample_decoder.TFExampleDecoder` is the
one TF-Slim ships.

    >>> class Words(DataDecoder):
    ...     def decode(self, data, items):
    ...         words = dict(enumerate(data.split()))
    ...         return [words[int(item)] for item in items]
    ...     def list_items(self):
    ...         return ["0", "1"]
    >>> Words().decode(b"hello world", ["1", "0"])
    [b'world', b'hello']
"""

from __future__ import annotations

import abc

__all__ = ["DataDecoder"]


class DataDecoder(abc.ABC):
    """An abstract class which is used to decode data for a provider."""

    @abc.abstractmethod
    def decode(self, data, items):
        """Decodes ``data`` and returns one value per name in ``items``.

        Raises:
          ValueError: if any of the items cannot be satisfied.
        """

    @abc.abstractmethod
    def list_items(self):
        """The names of the items the decoder can decode."""
