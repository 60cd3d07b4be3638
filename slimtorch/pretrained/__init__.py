"""Pretrained weights of the TF-Slim model zoo (and torchvision's), by name.

research/slim publishes ImageNet checkpoints for most of its nets; this
package makes each one a name::

    network_fn = nets_factory.get_network_fn('inception_v3', num_classes=5, pretrained=True)

downloads ``inception_v3_2016_08_28.tar.gz`` once (with a progress bar,
resuming a cut download), checks it, converts its checkpoint to a slimtorch
safetensors file in the cache (``$SLIMTORCH_HOME``, default
``~/.cache/slimtorch``) and restores it strictly, leaving out the 1001-class
logits for the 5-class head (and reporting them). The command line says
``slimtorch download --model_name=inception_v3`` and
``--checkpoint_path=pretrained:inception_v3``.

* :mod:`~slimtorch.pretrained.registry`: the entries (URL, archive member,
  classes, input size, preprocessing, reported accuracy, license);
* :mod:`~slimtorch.pretrained.cache`: where files go, and the download;
* :mod:`~slimtorch.pretrained.fetch`: archive → converted file, once;
* :mod:`~slimtorch.pretrained.restore`: the file → a net, strictly.

    >>> get_pretrained('inception_v3').num_classes, get_pretrained('vgg_16').num_classes
    (1001, 1000)
"""

from .cache import (archive_path, cache_dir, converted_path, fetch_archive, fetch_checkpoint,
                    is_offline)
from .errors import PretrainedError
from .fetch import PRETRAINED_PREFIX, pretrained_checkpoint, resolve_pretrained
from .registry import (REGISTRY, PretrainedWeights, default_pretrained, get_pretrained,
                       pretrained_names, register_pretrained, registry_table)
from .restore import PretrainedReport, load_pretrained, restore_from_file

__all__ = [
    "PRETRAINED_PREFIX", "REGISTRY", "PretrainedError", "PretrainedReport", "PretrainedWeights",
    "archive_path", "cache_dir", "converted_path", "default_pretrained", "fetch_archive",
    "fetch_checkpoint", "get_pretrained", "is_offline", "load_pretrained", "pretrained_checkpoint",
    "pretrained_names", "register_pretrained", "registry_table", "resolve_pretrained", "restore_from_file",
]
