"""User-facing checkpoint tools: what ``slimtorch inspect``, ``convert`` and
``check`` do, as functions.

They sit above both :mod:`slimtorch.checkpoint` (file formats, restore) and
:mod:`slimtorch.nets` (the zoo), so that the formats know nothing of the zoo.

* :func:`inspect_checkpoint`: names, shapes and dtypes of any checkpoint.
* :func:`convert_checkpoint`: any supported checkpoint to slimtorch
  safetensors, optionally checked against (and laid out for) a zoo net, or
  mapped from torchvision's names (:mod:`.torchvision_names`).
* :func:`check_checkpoint` / :func:`compare_checkpoint`: does a checkpoint fit
  a zoo net / a built model? (a :class:`CompatibilityReport`)
* :mod:`.predict` (``slimtorch predict``): :func:`load_network` (a zoo net
  with a checkpoint's weights), ``predict.predict`` / :func:`iter_predictions`
  (top-k classes of image files, a :class:`Prediction` each),
  :func:`find_images`, :func:`write_predictions` (CSV / JSON). The function
  ``predict`` stays in its module, whose name it would otherwise hide.
* :mod:`.export` (``slimtorch export``): ``export.export`` (also
  ``slim.export``) writes a net as pt2, ONNX or TorchScript with research/slim's
  output names (:func:`graph_names`) and its labels (:func:`load_labels`,
  :func:`export_info`, an :class:`ExportInfo`). ``export`` stays in its module too.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), 'c.safetensors')
    >>> slim.checkpoint.save_checkpoint(path, {'fc/weights': torch.zeros(4, 3)})
    >>> print(inspect_checkpoint(path))
    fc/weights  [4, 3]  float32
    1 tensors, 12 values, format slimtorch safetensors (torch layout)
"""

from .checkpoint_tools import build_zoo_net, check_checkpoint, convert_checkpoint, inspect_checkpoint
from .compat import CompatibilityReport, compare_checkpoint, compare_with_reader
from .torchvision_names import TORCHVISION_NETS, from_torchvision, torchvision_num_classes
from .export import ExportInfo, export_info, graph_names, load_labels
from .predict import (ClassProbability, Prediction, find_images, iter_predictions, load_network,
                      write_predictions)

__all__ = [
    "CompatibilityReport", "TORCHVISION_NETS", "build_zoo_net", "check_checkpoint",
    "compare_checkpoint", "compare_with_reader", "convert_checkpoint", "from_torchvision",
    "inspect_checkpoint", "torchvision_num_classes",
    # slimtorch predict
    "ClassProbability", "Prediction", "find_images", "iter_predictions", "load_network",
    "write_predictions",
    # slimtorch export
    "ExportInfo", "export_info", "graph_names", "load_labels",
]
