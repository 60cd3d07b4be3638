"""TF-Slim's ``TFExampleDecoder`` and its item handlers, eagerly.

Decoding a ``tf.train.Example`` takes two stages, as in TF-Slim: the record is
parsed with ``keys_to_features``
(:func:`~slimtorch.data.parsing.parse_single_example`), then each requested
item's :class:`ItemHandler` turns the parsed values of its keys into the
item. Values are torch tensors (numbers), ``bytes`` / numpy object arrays
(strings) or :class:`~slimtorch.data.parsing.SparseTensorValue` (a
``VarLenFeature``).

Images are **channels-first**: :class:`Image` gives ``[channels, height,
width]`` (``[N, C, H, W]`` when ``repeated``), the layout of
:class:`~slimtorch.data.TFRecordImageDataset` and of every slimtorch
preprocessing function, where TF-Slim gives ``[height, width, channels]``.
Pixel values are TF's. ``Image(shape=...)`` keeps TF's ``[height, width,
channels]`` order, as research/slim writes it, and is checked against the
decoded image rather than used to reshape it silently.

:class:`TFSequenceExampleDecoder` and the sequence handlers
(:class:`BoundingBoxSequence`, :class:`KeypointsSequence`,
:class:`NumBoxesSequence`) do the same for ``tf.train.SequenceExample``.

    >>> from slimtorch.data import encode_example
    >>> from slimtorch.data.parsing import FixedLenFeature, VarLenFeature, float32, int64
    >>> decoder = TFExampleDecoder(
    ...     {"label": FixedLenFeature([], int64),
    ...      "bbox/ymin": VarLenFeature(float32), "bbox/xmin": VarLenFeature(float32),
    ...      "bbox/ymax": VarLenFeature(float32), "bbox/xmax": VarLenFeature(float32)},
    ...     {"label": Tensor("label"), "boxes": BoundingBox(prefix="bbox/")})
    >>> record = encode_example({"label": 2, "bbox/ymin": [0.1], "bbox/xmin": [0.2],
    ...                          "bbox/ymax": [0.5], "bbox/xmax": [0.75]})
    >>> label, boxes = decoder.decode(record, ["label", "boxes"])
    >>> label, boxes
    (tensor(2), tensor([[0.1000, 0.2000, 0.5000, 0.7500]]))
"""

from __future__ import annotations

import abc

import numpy as np
import torch

from slimtorch.data.data_decoder import DataDecoder
from slimtorch.data.image_decoding import decode_image_bytes
from slimtorch.data.parsing import (SparseTensorValue, parse_single_example,
                                   parse_single_sequence_example)

__all__ = ["BackupHandler", "BoundingBox", "BoundingBoxSequence", "Image", "ItemHandler",
           "ItemHandlerCallback", "KeypointsSequence", "LookupTensor", "NumBoxesSequence",
           "SparseTensor", "TFExampleDecoder", "TFSequenceExampleDecoder", "Tensor"]


class ItemHandler(abc.ABC):
    """Names the Example keys an item needs and turns their values into it.

    Args:
      keys: the name (or list of names) of the ``tf.train.Example`` features.
    """

    def __init__(self, keys):
        if not isinstance(keys, (tuple, list)):
            keys = [keys]
        self._keys = list(keys)

    @property
    def keys(self):
        return self._keys

    @abc.abstractmethod
    def tensors_to_item(self, keys_to_tensors):
        """Maps ``{key: parsed value}`` to the item."""


class ItemHandlerCallback(ItemHandler):
    """An ItemHandler that makes its item with ``func(keys_to_tensors)``.

        >>> ItemHandlerCallback("x", lambda values: values["x"] + 1).tensors_to_item(
        ...     {"x": torch.tensor(1.0)})
        tensor(2.)
    """

    def __init__(self, keys, func):
        super().__init__(keys)
        self._func = func

    def tensors_to_item(self, keys_to_tensors):
        return self._func(keys_to_tensors)


def _dense(value, default_value=0):
    return value.to_dense(default_value) if isinstance(value, SparseTensorValue) else value


def _reshape(value, shape):
    if isinstance(value, (bytes, np.ndarray)):
        return np.asarray(value, dtype=object).reshape(shape)
    return torch.as_tensor(value).reshape(shape)


class BoundingBox(ItemHandler):
    """Stacks four coordinate features into ``[num_boxes, 4]`` boxes.

    Args:
      keys: four key names, in the order of the output columns (default
        ``['ymin', 'xmin', 'ymax', 'xmax']``).
      prefix: prepended to each key.
    """

    def __init__(self, keys=None, prefix=""):
        if keys is None:
            keys = ["ymin", "xmin", "ymax", "xmax"]
        elif len(keys) != 4:
            raise ValueError(f"BoundingBox expects 4 keys but got {len(keys)}")
        self._prefix = prefix
        self._full_keys = [prefix + k for k in keys]
        super().__init__(self._full_keys)

    def tensors_to_item(self, keys_to_tensors):
        sides = []
        for key in self._full_keys:
            side = keys_to_tensors[key]
            if isinstance(side, SparseTensorValue):
                side = side.values
            sides.append(torch.as_tensor(side).reshape(-1))
        return torch.stack(sides, 0).T


class Tensor(ItemHandler):
    """An ItemHandler that returns a parsed value, optionally reshaped.

    Args:
      tensor_key: the feature to read.
      shape_keys: a feature name (or list of names, one per dimension)
        holding the shape to reshape to.
      shape: a fixed shape to reshape to (not with ``shape_keys``).
      default_value: fills a sparse (``VarLenFeature``) value's gaps when it
        is made dense.
    """

    def __init__(self, tensor_key, shape_keys=None, shape=None, default_value=0):
        if shape_keys and shape is not None:
            raise ValueError("Cannot specify both shape_keys and shape parameters.")
        if shape_keys and not isinstance(shape_keys, list):
            shape_keys = [shape_keys]
        self._tensor_key = tensor_key
        self._shape_keys = shape_keys
        self._shape = shape
        self._default_value = default_value
        keys = [tensor_key]
        if shape_keys:
            keys.extend(shape_keys)
        super().__init__(keys)

    def tensors_to_item(self, keys_to_tensors):
        tensor = keys_to_tensors[self._tensor_key]
        shape = self._shape
        if self._shape_keys:
            dims = [torch.as_tensor(_dense(keys_to_tensors[k])).reshape(-1)
                    for k in self._shape_keys]
            shape = torch.cat(dims).tolist()
        if isinstance(tensor, SparseTensorValue):
            tensor = tensor.to_dense(self._default_value)
        if shape is not None:
            tensor = _reshape(tensor, [int(d) for d in shape])
        return tensor


class LookupTensor(Tensor):
    """A :class:`Tensor` mapped through a vocabulary ``table``.

    ``table`` is a mapping ``{key: id}`` (str or bytes keys; a missing key
    gives -1, as TF's ``index_table_from_tensor``) or any object with a
    ``lookup(values)`` method, such as a ported TF table.

        >>> handler = LookupTensor("text", {"dog": 0, "cat": 2})
        >>> handler.tensors_to_item({"text": np.array([b"cat", b"dog", b"cow"], dtype=object)})
        tensor([ 2,  0, -1])
    """

    def __init__(self, tensor_key, table, shape_keys=None, shape=None, default_value=""):
        self._table = table
        super().__init__(tensor_key, shape_keys, shape, default_value)

    def tensors_to_item(self, keys_to_tensors):
        unmapped = super().tensors_to_item(keys_to_tensors)
        if hasattr(self._table, "lookup"):
            return self._table.lookup(unmapped)
        table = {(k.encode("utf-8") if isinstance(k, str) else k): v
                 for k, v in self._table.items()}
        keys = np.asarray(unmapped, dtype=object)
        ids = [table.get(k.encode("utf-8") if isinstance(k, str) else k, -1)
               for k in keys.reshape(-1).tolist()]
        return torch.tensor(ids, dtype=torch.int64).reshape(keys.shape)


class BackupHandler(ItemHandler):
    """Uses ``handler``'s item, or ``backup``'s when that item has no elements.

        >>> handler = BackupHandler(Tensor("ids"), LookupTensor("names", {"a": 7}))
        >>> empty = SparseTensorValue(torch.zeros(0, 1), torch.zeros(0, dtype=torch.int64), [0])
        >>> handler.tensors_to_item({"ids": empty, "names": np.array([b"a"], dtype=object)})
        tensor([7])
    """

    def __init__(self, handler, backup):
        if not isinstance(handler, ItemHandler):
            raise ValueError(f"Primary handler is of type {type(handler)} instead of ItemHandler")
        if not isinstance(backup, ItemHandler):
            raise ValueError(f"Backup handler is of type {type(backup)} instead of ItemHandler")
        self._handler = handler
        self._backup = backup
        super().__init__(handler.keys + backup.keys)

    def tensors_to_item(self, keys_to_tensors):
        item = self._handler.tensors_to_item(keys_to_tensors)
        empty = item.numel() == 0 if isinstance(item, torch.Tensor) else np.size(item) == 0
        if empty:
            return self._backup.tensors_to_item(keys_to_tensors)
        return item


class SparseTensor(ItemHandler):
    """A sparse item from an ``indices`` and a ``values`` feature.

    The last index of each value is read from ``indices_key``'s values.

    Args:
      indices_key: the feature with the ids (default ``'indices'``).
      values_key: the feature with the values (default ``'values'``).
      shape_key: a feature with the dense shape; else ``shape``; else the
        shape of the ``indices`` feature.
      shape: the dense shape when there is no ``shape_key``.
      densify: return a dense tensor.
      default_value: the dense tensor's value where nothing is set.
    """

    def __init__(self, indices_key=None, values_key=None, shape_key=None, shape=None,
                 densify=False, default_value=0):
        self._indices_key = indices_key or "indices"
        self._values_key = values_key or "values"
        self._shape_key = shape_key
        self._shape = shape
        self._densify = densify
        self._default_value = default_value
        keys = [self._indices_key, self._values_key]
        if shape_key:
            keys.append(shape_key)
        super().__init__(keys)

    def tensors_to_item(self, keys_to_tensors):
        indices = keys_to_tensors[self._indices_key]
        values = keys_to_tensors[self._values_key]
        if self._shape_key:
            shape = _dense(keys_to_tensors[self._shape_key])
        elif self._shape is not None:
            shape = self._shape
        else:
            shape = indices.dense_shape
        positions = torch.as_tensor(indices.indices, dtype=torch.int64)
        ids = torch.as_tensor(indices.values).to(torch.int64).reshape(-1, 1)
        new_indices = torch.cat([positions[:, :-1], ids], 1)
        tensor = SparseTensorValue(new_indices, values.values,
                                   torch.as_tensor(np.asarray(shape), dtype=torch.int64))
        if self._densify:
            return tensor.to_dense(self._default_value)
        return tensor


_JPEG_MAGIC = b"\xff\xd8\xff"


def _convert_image_dtype(image: torch.Tensor, dtype) -> torch.Tensor:
    """``tf.image.convert_image_dtype`` from uint8 (what TF's ``decode_image(dtype=)`` does)."""
    if dtype == image.dtype:
        return image
    if dtype.is_floating_point:
        return image.to(dtype) * (1.0 / torch.iinfo(image.dtype).max)
    # TF scales integers up by the ratio of the ranges: uint8 -> uint16 multiplies by 256.
    scale = (torch.iinfo(dtype).max + 1) // (torch.iinfo(image.dtype).max + 1)
    return (image.to(torch.int64) * scale).to(dtype)


class Image(ItemHandler):
    """Decodes an encoded image feature into a **channels-first** image.

    Args:
      image_key: the encoded image feature (default ``'image/encoded'``).
      format_key: the format feature (default ``'image/format'``); only
        ``raw``/``RAW`` changes decoding, other formats are sniffed (PNG,
        JPEG, GIF, ...), as in TF-Slim.
      shape: TF's ``[height, width, channels]``: required for ``raw``; for
        encoded images a check of the decoded size.
      channels: 3 (default), 1, 4 or 0 (as stored).
      dtype: the output dtype. As in TF-Slim, a JPEG is cast (values stay
        0-255), other formats are converted (``uint8 -> float32`` divides by
        255), and ``raw`` bytes are read as this dtype.
      repeated: decode a list of images into ``[N, C, H, W]``.
      dct_method: accepted for TF's signature; JPEGs are decoded with the
        accurate integer IDCT (see :mod:`slimtorch.data.image_decoding`).

    Returns ``[channels, height, width]`` (TF: ``[height, width, channels]``).

        >>> from torchvision.io import encode_png
        >>> png = encode_png(torch.full((3, 2, 4), 9, dtype=torch.uint8)).numpy().tobytes()
        >>> Image().tensors_to_item({"image/encoded": png, "image/format": b"png"}).shape
        torch.Size([3, 2, 4])
    """

    def __init__(self, image_key=None, format_key=None, shape=None, channels=3,
                 dtype=torch.uint8, repeated=False, dct_method=""):
        if not isinstance(dtype, torch.dtype):
            raise TypeError(f"Image: dtype must be a torch dtype (parsing.uint8, parsing.float32, "
                            f"torch.uint16, ...), got {dtype!r}")
        image_key = image_key or "image/encoded"
        format_key = format_key or "image/format"
        super().__init__([image_key, format_key])
        self._image_key = image_key
        self._format_key = format_key
        self._shape = None if shape is None else [int(d) for d in shape]
        self._channels = channels
        self._dtype = dtype
        self._repeated = repeated
        self._dct_method = dct_method

    def tensors_to_item(self, keys_to_tensors):
        image_buffer = keys_to_tensors[self._image_key]
        image_format = keys_to_tensors[self._format_key]
        if self._repeated:
            buffers = np.asarray(image_buffer, dtype=object).reshape(-1).tolist()
            return torch.stack([self._decode(b, image_format) for b in buffers])
        return self._decode(image_buffer, image_format)

    def _decode(self, image_buffer, image_format):
        image_format = image_format.decode() if isinstance(image_format, bytes) else image_format
        if image_format in ("raw", "RAW"):
            if self._shape is None:
                raise ValueError("Image: a 'raw' image needs shape=[height, width, channels]")
            array = np.frombuffer(image_buffer, dtype=torch.empty(0, dtype=self._dtype).numpy().dtype)
            if array.size != np.prod(self._shape):
                raise ValueError(f"Image: the raw image has {array.size} values, shape "
                                 f"{self._shape} needs {int(np.prod(self._shape))}")
            return torch.from_numpy(array.copy()).reshape(self._shape).permute(2, 0, 1).contiguous()
        image = decode_image_bytes(image_buffer, image_format, self._channels, self._shape)
        if bytes(image_buffer[:3]) == _JPEG_MAGIC:
            return image.to(self._dtype)  # TF casts a JPEG (decode_jpeg + cast)
        return _convert_image_dtype(image, self._dtype)


def _stack_sequences(name, keys, keys_to_tensors, return_dense, default_value):
    """Concatenate 2-D sparse ``[time, n]`` values along a new last axis: ``[time, n, k]``."""
    sides = [keys_to_tensors[key] for key in keys]
    for key, side in zip(keys, sides):
        if not isinstance(side, SparseTensorValue):
            raise ValueError(f"{name}: {key!r} must be a sequence VarLenFeature (a "
                             f"SparseTensorValue), got {type(side).__name__}")
    time = max(int(side.dense_shape[0]) for side in sides)
    width = max(int(side.dense_shape[1]) for side in sides)
    rows = [torch.cat([torch.as_tensor(side.indices, dtype=torch.int64).reshape(-1, 2),
                       torch.full((len(side.values), 1), k, dtype=torch.int64)], 1)
            for k, side in enumerate(sides)]
    indices = torch.cat(rows)
    values = torch.cat([torch.as_tensor(side.values, dtype=torch.float32) for side in sides])
    order = sorted(range(len(indices)), key=lambda r: indices[r].tolist())
    result = SparseTensorValue(indices[order], values[order],
                               torch.tensor([time, width, len(sides)]))
    return result.to_dense(default_value) if return_dense else result


class BoundingBoxSequence(ItemHandler):
    """``[time, num_boxes, 4]`` boxes from four sequence features (SequenceExample).

    Args:
      keys: four key names, in output order (default ``['ymin', 'xmin', 'ymax', 'xmax']``).
      prefix: prepended to each key.
      return_dense: a dense tensor (default) or a ``SparseTensorValue``.
      default_value: fills the dense tensor where a frame has fewer boxes.
    """

    def __init__(self, keys=None, prefix=None, return_dense=True, default_value=-1.0):
        if keys is None:
            keys = ["ymin", "xmin", "ymax", "xmax"]
        elif len(keys) != 4:
            raise ValueError(f"BoundingBoxSequence expects 4 keys but got {len(keys)}")
        self._full_keys = [(prefix or "") + k for k in keys]
        self._return_dense = return_dense
        self._default_value = default_value
        super().__init__(self._full_keys)

    def tensors_to_item(self, keys_to_tensors):
        return _stack_sequences("BoundingBoxSequence", self._full_keys, keys_to_tensors,
                                self._return_dense, self._default_value)


class KeypointsSequence(ItemHandler):
    """``[time, num_keypoints, 2]`` keypoints (``[y, x]``) from two sequence features.

    Args:
      keys: two key names (default ``['y', 'x']``).
      prefix: prepended to each key.
      return_dense: a dense tensor (default) or a ``SparseTensorValue``.
      default_value: fills the dense tensor where a frame has fewer keypoints.
    """

    def __init__(self, keys=None, prefix=None, return_dense=True, default_value=-1.0):
        if keys is None:
            keys = ["y", "x"]
        elif len(keys) != 2:
            raise ValueError(f"KeypointsSequence expects 2 keys but got {len(keys)}")
        self._full_keys = [(prefix or "") + k for k in keys]
        self._return_dense = return_dense
        self._default_value = default_value
        super().__init__(self._full_keys)

    def tensors_to_item(self, keys_to_tensors):
        return _stack_sequences("KeypointsSequence", self._full_keys, keys_to_tensors,
                                self._return_dense, self._default_value)


def _num_boxes(tensor):
    """Boxes per frame of a 2-D sparse ``[time, boxes]`` value: 1 + its last box index."""
    if not isinstance(tensor, SparseTensorValue):
        raise ValueError("NumBoxesSequence: tensor must be of type tf.SparseTensor (a "
                         f"SparseTensorValue from a VarLenFeature), got {type(tensor).__name__}")
    time = int(tensor.dense_shape[0])
    indices = torch.as_tensor(tensor.indices, dtype=torch.int64).reshape(-1, 2)
    counts = torch.zeros(time, dtype=torch.int64)
    if len(indices):
        counts.scatter_reduce_(0, indices[:, 0], indices[:, 1] + 1, reduce="amax")
    return counts


class NumBoxesSequence(ItemHandler):
    """The number of boxes in each frame, ``[time]`` int64, from sparse sequence features.

    Args:
      keys: the sequence feature(s); the count comes from the first.
      check_consistency: raise ``ValueError`` when another key's counts differ.
    """

    def __init__(self, keys=None, check_consistency=True):
        if not keys:
            raise ValueError("keys must not be empty.")
        self._check_consistency = check_consistency
        super().__init__(keys)

    def tensors_to_item(self, keys_to_tensors):
        num_boxes = _num_boxes(keys_to_tensors[self._keys[0]])
        if self._check_consistency:
            for key in self._keys[1:]:
                other = _num_boxes(keys_to_tensors[key])
                if not torch.equal(other, num_boxes):
                    raise ValueError(f"NumBoxesSequence: assertion failed: {self._keys[0]!r} has "
                                     f"{num_boxes.tolist()} boxes per frame, {key!r} has "
                                     f"{other.tolist()}")
        return num_boxes


class TFExampleDecoder(DataDecoder):
    """A decoder for ``tf.train.Example`` records.

    Args:
      keys_to_features: ``{key: FixedLenFeature | VarLenFeature |
        FixedLenSequenceFeature}`` (:mod:`slimtorch.data.parsing`).
      items_to_handlers: ``{item: ItemHandler}``.
    """

    def __init__(self, keys_to_features, items_to_handlers):
        self._keys_to_features = keys_to_features
        self._items_to_handlers = items_to_handlers
        for item, handler in items_to_handlers.items():
            missing = [key for key in handler.keys if key not in keys_to_features]
            if missing:
                raise ValueError(f"TFExampleDecoder: the handler of item {item!r} reads "
                                 f"{missing}, which keys_to_features does not describe")

    def list_items(self):
        """The item names, in ``items_to_handlers`` order."""
        return list(self._items_to_handlers.keys())

    def decode(self, serialized_example, items=None):
        """Decodes one serialized ``tf.train.Example``.

        Args:
          serialized_example: the record (bytes).
          items: the items to decode (default: all of them, in order).

        Returns:
          a list with one value per item.
        """
        if items:
            unknown = [item for item in items if item not in self._items_to_handlers]
            if unknown:
                raise ValueError(f"TFExampleDecoder.decode: unknown items {unknown}; "
                                 f"this decoder has {self.list_items()}")
        else:
            items = self.list_items()
        if isinstance(serialized_example, np.ndarray):
            serialized_example = serialized_example.reshape(()).item()
        example = parse_single_example(serialized_example, self._keys_to_features)
        outputs = []
        for item in items:
            handler = self._items_to_handlers[item]
            outputs.append(handler.tensors_to_item({key: example[key] for key in handler.keys}))
        return outputs


class TFSequenceExampleDecoder(DataDecoder):
    """A decoder for ``tf.train.SequenceExample`` records.

    Args:
      keys_to_context_features: ``{key: FixedLenFeature | VarLenFeature}`` of the context.
      keys_to_sequence_features: ``{key: VarLenFeature | FixedLenSequenceFeature}``
        of the feature lists.
      items_to_handlers: ``{item: ItemHandler}``; a handler's keys may come
        from either part.

    Raises:
      ValueError: if a key is both a context and a sequence key.

        >>> from slimtorch.data.example import encode_sequence_example
        >>> from slimtorch.data.parsing import VarLenFeature, float32
        >>> decoder = TFSequenceExampleDecoder(
        ...     {}, {"xmin": VarLenFeature(float32)}, {"num_boxes": NumBoxesSequence("xmin")})
        >>> decoder.decode(encode_sequence_example({}, {"xmin": [[0.1, 0.2], [], [0.5]]}))
        [tensor([2, 0, 1])]
    """

    def __init__(self, keys_to_context_features, keys_to_sequence_features, items_to_handlers):
        shared = set(keys_to_context_features) & set(keys_to_sequence_features)
        if shared:
            raise ValueError("Context and sequence keys are not unique. \n"
                             f" Context keys: {list(keys_to_context_features)} \n"
                             f" Sequence keys: {list(keys_to_sequence_features)}")
        self._keys_to_context_features = keys_to_context_features
        self._keys_to_sequence_features = keys_to_sequence_features
        self._items_to_handlers = items_to_handlers

    def list_items(self):
        """The item names, in ``items_to_handlers`` order."""
        return list(self._items_to_handlers.keys())

    def decode(self, serialized_example, items=None):
        """Decodes one serialized ``tf.train.SequenceExample``; one value per item."""
        context, feature_list = parse_single_sequence_example(
            serialized_example, self._keys_to_context_features, self._keys_to_sequence_features)
        if not items:
            items = self.list_items()
        outputs = []
        for item in items:
            handler = self._items_to_handlers[item]
            outputs.append(handler.tensors_to_item(
                {key: context[key] if key in context else feature_list[key]
                 for key in handler.keys}))
        return outputs
