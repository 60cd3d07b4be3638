"""Which published ImageNet weights exist for the zoo's nets, and where.

One :class:`PretrainedWeights` per checkpoint: research/slim's "Pre-trained
Models" table (and the MobileNet pages it links to), plus torchvision's
ImageNet weights for the nets ``slimtorch convert --torchvision`` maps. A
net's research/slim checkpoint is its untagged entry (``'inception_v3'``);
other checkpoints of the same net carry a tag (``'mobilenet_v1_050.160'``,
``'resnet_v1_50.torchvision'``). This module is data and lookups only: it
downloads nothing (see ``slimtorch.pretrained.cache``).

    >>> w = get_pretrained('inception_v3')
    >>> w.net, w.num_classes, w.has_background, w.image_size, w.member
    ('inception_v3', 1001, True, 299, 'inception_v3.ckpt')
    >>> w.archive_name
    'inception_v3_2016_08_28.tar.gz'
    >>> default_pretrained('mobilenet_v1_050'), pretrained_names('mobilenet_v1_050')
    ('mobilenet_v1_050', ['mobilenet_v1_050', 'mobilenet_v1_050.160'])
    >>> get_pretrained('resnet_v1_50.torchvision').sha256_prefix
    '0676ba61'

Accuracies are copied as their publishers report them (research/slim: one
central crop of the ImageNet validation set, as ``eval_image_classifier``
runs it); they are not re-measured here.

The class count says how to read the logits: research/slim's Google-trained
checkpoints have 1001 (class 0 is "background", ImageNet's classes are
1..1000); VGG and ResNet v1, converted from Caffe, and torchvision's weights
have 1000.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Optional
from urllib.parse import urlparse

from ..graph import Graph

__all__ = ["PretrainedWeights", "REGISTRY", "default_pretrained", "get_pretrained",
           "pretrained_names", "register_pretrained", "registry_summary", "registry_table"]


@dataclass(frozen=True)
class PretrainedWeights:
    """One published checkpoint of a zoo net.

    Attributes:
        name: registry key, ``<net>`` or ``<net>.<tag>``.
        net: the net's name in ``slimtorch.nets.nets_factory``.
        url: where the archive (or, for torchvision, the checkpoint) is downloaded from.
        member: the checkpoint's path or prefix inside the archive
            (``'inception_v3.ckpt'``), None when the download is the checkpoint.
        num_classes: logits width: 1001 with research/slim's background class 0, else 1000.
        image_size: the height and width the reported accuracy was measured at.
        preprocessing: a name in ``slimtorch.data.preprocessing``'s factory.
        top1, top5: ImageNet accuracy in percent as reported, or None.
        license: the weights' license, as far as the publisher states it.
        source: ``'research/slim'`` or ``'torchvision'``.
        sha256: the archive's published SHA-256, None when none is published.
        sha256_prefix: the leading hex digits of the file's SHA-256 that its name
            carries (torchvision's ``<arch>-<hex>.pth``), None otherwise.
        moving_averages: research/slim's reported numbers use the
            ``<variable>/ExponentialMovingAverage`` shadows: restore those when
            the checkpoint has them.
        note: what else a user should know.
    """

    name: str
    net: str
    url: str
    member: Optional[str]
    num_classes: int
    image_size: int
    preprocessing: str
    top1: Optional[float]
    top5: Optional[float]
    license: str
    source: str
    sha256: Optional[str] = None
    sha256_prefix: Optional[str] = None
    moving_averages: bool = False
    note: str = ""

    @property
    def archive_name(self) -> str:
        """The downloaded file's name, the URL's last path segment.

            >>> get_pretrained('vgg_16').archive_name
            'vgg_16_2016_08_28.tar.gz'
        """
        return os.path.basename(urlparse(self.url).path)

    @property
    def has_background(self) -> bool:
        """True when logit 0 is research/slim's background class (1001 classes).

            >>> get_pretrained('vgg_16').has_background, get_pretrained('inception_v1').has_background
            (False, True)
        """
        return self.num_classes == 1001


# --- research/slim -----------------------------------------------------------------------

_TF = "http://download.tensorflow.org/models/"
_GCS = "https://storage.googleapis.com/download.tensorflow.org/models/"
_MOBILENET_V1 = "http://download.tensorflow.org/models/mobilenet_v1_2018_02_22/"
_MOBILENET_V2 = "https://storage.googleapis.com/mobilenet_v2/checkpoints/"
_MOBILENET_V3 = "https://storage.googleapis.com/mobilenet_v3/checkpoints/"
# research/slim's README links these as storage.cloud.google.com/..., a host that asks a
# browser to sign in; storage.googleapis.com serves the same public objects to any client.
_EDGETPU = "https://storage.googleapis.com/mobilenet_edgetpu/checkpoints/"

_GOOGLE = "Apache-2.0"
_VGG_LICENSE = "CC-BY-4.0 (VGG authors' Caffe weights, converted by research/slim)"
_RESNET_LICENSE = "MIT (K. He's Caffe weights, converted by research/slim)"
_CAFFE = ("converted by research/slim from the authors' Caffe weights: 1000 classes, no "
          "background class, VGG preprocessing (mean-subtracted RGB in [0, 255])")
_RESNET_V2 = ("research/slim evaluates it with Inception preprocessing at 299x299 "
              "(--preprocessing_name inception --eval_image_size 299), on the validation set")
_EMA = ("trained with --moving_average_decay: research/slim's eval restores the "
        "ExponentialMovingAverage shadows, which the checkpoint carries")
_MOBILENET_V1_NOTE = ("moving averages: research/slim's MobileNet training keeps "
                      "ExponentialMovingAverage shadows; restored when the checkpoint has them")
_MOBILENET_V2_NOTE = ("research/slim's mobilenet_example restores the checkpoint's "
                      "ExponentialMovingAverage shadows ('1.5-2% higher accuracy')")
_MOBILENET_V3_NOTE = ("the archive holds ema/ (moving averages, under the variables' own "
                      "names) and pristine/ checkpoints; this is ema/. Top-1 only is reported")
_EDGETPU_NOTE = ("top-1 as reported for the 8-bit post-training-quantized model (the "
                 "checkpoint is float); research/slim's README links storage.cloud.google.com, "
                 "the same object as this URL; the archive member name is unconfirmed")


def _slim(name, net, url, member, top1, top5, *, num_classes=1001, image_size=224,
          preprocessing="inception", license=_GOOGLE, moving_averages=False, note=""):
    return PretrainedWeights(name, net, url, member, num_classes, image_size, preprocessing,
                             top1, top5, license, "research/slim",
                             moving_averages=moving_averages, note=note)


def _mobilenet_v1(name, net, tag, top1, top5):
    # Archive 'mobilenet_v1_0.5_160.tgz' holds 'mobilenet_v1_0.5_160.ckpt.*' at its root.
    return _slim(name, net, f"{_MOBILENET_V1}mobilenet_v1_{tag}.tgz", f"mobilenet_v1_{tag}.ckpt",
                 top1, top5, image_size=int(tag.split("_")[1]), moving_averages=True,
                 note=_MOBILENET_V1_NOTE)


def _mobilenet_v2(net, tag, top1, top5):
    return _slim(net, net, f"{_MOBILENET_V2}mobilenet_v2_{tag}.tgz", f"mobilenet_v2_{tag}.ckpt",
                 top1, top5, moving_averages=True, note=_MOBILENET_V2_NOTE)


def _mobilenet_v3(net, archive, member, top1):
    return _slim(net, net, f"{_MOBILENET_V3}{archive}.tgz", f"{archive}/ema/{member}", top1, None,
                 moving_averages=True, note=_MOBILENET_V3_NOTE)


def _edgetpu(net, tag, top1):
    return _slim(net, net, f"{_EDGETPU}mobilenet_edgetpu_224_{tag}.tgz",
                 f"mobilenet_edgetpu_224_{tag}/model.ckpt", top1, None, moving_averages=True,
                 note=_EDGETPU_NOTE)


_RESEARCH_SLIM = (
    # research/slim's README table, in its order (top-1/top-5 as it reports them).
    _slim("inception_v1", "inception_v1", _TF + "inception_v1_2016_08_28.tar.gz",
          "inception_v1.ckpt", 69.8, 89.6),
    _slim("inception_v2", "inception_v2", _TF + "inception_v2_2016_08_28.tar.gz",
          "inception_v2.ckpt", 73.9, 91.8),
    _slim("inception_v3", "inception_v3", _TF + "inception_v3_2016_08_28.tar.gz",
          "inception_v3.ckpt", 78.0, 93.9, image_size=299),
    _slim("inception_v4", "inception_v4", _TF + "inception_v4_2016_09_09.tar.gz",
          "inception_v4.ckpt", 80.2, 95.2, image_size=299),
    _slim("inception_resnet_v2", "inception_resnet_v2",
          _TF + "inception_resnet_v2_2016_08_30.tar.gz", "inception_resnet_v2_2016_08_30.ckpt",
          80.4, 95.3, image_size=299),
    *(_slim(f"resnet_v1_{depth}", f"resnet_v1_{depth}", f"{_TF}resnet_v1_{depth}_2016_08_28.tar.gz",
            f"resnet_v1_{depth}.ckpt", top1, top5, num_classes=1000, preprocessing="vgg",
            license=_RESNET_LICENSE, note=_CAFFE)
      for depth, top1, top5 in ((50, 75.2, 92.2), (101, 76.4, 92.9), (152, 76.8, 93.2))),
    *(_slim(f"resnet_v2_{depth}", f"resnet_v2_{depth}", f"{_TF}resnet_v2_{depth}_2017_04_14.tar.gz",
            f"resnet_v2_{depth}.ckpt", top1, top5, image_size=299, note=_RESNET_V2)
      for depth, top1, top5 in ((50, 75.6, 92.8), (101, 77.0, 93.7), (152, 77.8, 94.1))),
    *(_slim(net, net, f"{_TF}{net}_2016_08_28.tar.gz", f"{net}.ckpt", top1, top5,
            num_classes=1000, preprocessing="vgg", license=_VGG_LICENSE, note=_CAFFE)
      for net, top1, top5 in (("vgg_16", 71.5, 89.8), ("vgg_19", 71.1, 89.8))),
    # MobileNet v1: every width's 224 checkpoint (research/slim/nets/mobilenet_v1.md) is
    # the net's default; the README's smaller-input rows are tagged by their size.
    _mobilenet_v1("mobilenet_v1", "mobilenet_v1", "1.0_224", 70.9, 89.9),
    _mobilenet_v1("mobilenet_v1_075", "mobilenet_v1_075", "0.75_224", 68.4, 88.2),
    _mobilenet_v1("mobilenet_v1_050", "mobilenet_v1_050", "0.5_224", 63.3, 84.9),
    _mobilenet_v1("mobilenet_v1_050.160", "mobilenet_v1_050", "0.5_160", 59.1, 81.9),
    _mobilenet_v1("mobilenet_v1_025", "mobilenet_v1_025", "0.25_224", 49.8, 74.2),
    _mobilenet_v1("mobilenet_v1_025.128", "mobilenet_v1_025", "0.25_128", 41.5, 66.3),
    # MobileNet v2: the README's numbers (research/slim/nets/mobilenet/README.md lists
    # 75.0 and 71.8 top-1 for the same two files); 0.35 from that page.
    _mobilenet_v2("mobilenet_v2_140", "1.4_224", 74.9, 92.5),
    _mobilenet_v2("mobilenet_v2", "1.0_224", 71.9, 91.0),
    _mobilenet_v2("mobilenet_v2_035", "0.35_224", 60.3, 82.9),
    # MobileNet v3 and EdgeTPU float checkpoints (research/slim/nets/mobilenet/README.md).
    _mobilenet_v3("mobilenet_v3_large", "v3-large_224_1.0_float", "model-540000", 75.2),
    _mobilenet_v3("mobilenet_v3_small", "v3-small_224_1.0_float", "model-388500", 67.5),
    _mobilenet_v3("mobilenet_v3_large_minimalistic", "v3-large-minimalistic_224_1.0_float",
                  "model-342500", 72.3),
    _mobilenet_v3("mobilenet_v3_small_minimalistic", "v3-small-minimalistic_224_1.0_float",
                  "model-498000", 61.9),
    _edgetpu("mobilenet_edgetpu", "1.0", 75.6),
    _edgetpu("mobilenet_edgetpu_075", "0.75", 73.5),
    # NASNet-A and PNASNet-5: 'model.ckpt.*' at the archive's root.
    _slim("nasnet_mobile", "nasnet_mobile", _GCS + "nasnet-a_mobile_04_10_2017.tar.gz",
          "model.ckpt", 74.0, 91.6, moving_averages=True, note=_EMA),
    _slim("nasnet_large", "nasnet_large", _GCS + "nasnet-a_large_04_10_2017.tar.gz",
          "model.ckpt", 82.7, 96.2, image_size=331, moving_averages=True, note=_EMA),
    _slim("pnasnet_mobile", "pnasnet_mobile", _GCS + "pnasnet-5_mobile_2017_12_13.tar.gz",
          "model.ckpt", 74.2, 91.9, moving_averages=True, note=_EMA),
    _slim("pnasnet_large", "pnasnet_large", _GCS + "pnasnet-5_large_2017_12_13.tar.gz",
          "model.ckpt", 82.9, 96.2, image_size=331, moving_averages=True, note=_EMA),
)

# --- torchvision ---------------------------------------------------------------------------
# Transcribed from torchvision's IMAGENET1K_V1 weight enums (url, _metrics['ImageNet-1K'],
# transforms' crop size); tests check them against the installed torchvision.

_TORCHVISION = "https://download.pytorch.org/models/"
_TV_LICENSE = "BSD-3-Clause (torchvision)"
_TV_SAME = "the same function as research/slim's net; torchvision's ImageNet mean/std inputs"
_TV_INIT = ("an initialization: torchvision's ResNet/Inception are not the same functions as "
            "research/slim's (docs/checkpoints.md, 'convert --torchvision')")


def _torchvision(net, file, top1, top5, *, image_size=224, license=_TV_LICENSE, note=_TV_INIT,
                 preprocessing="torchvision"):
    prefix = file.rsplit("-", 1)[1].split(".")[0]
    return PretrainedWeights(f"{net}.torchvision", net, _TORCHVISION + file, None, 1000,
                             image_size, preprocessing, top1, top5, license, "torchvision",
                             sha256_prefix=prefix, note=note)


_TORCHVISION_ENTRIES = (
    _torchvision("vgg_a", "vgg11-8a719046.pth", 69.02, 88.628, note=_TV_SAME),
    _torchvision("vgg_16", "vgg16-397923af.pth", 71.592, 90.382, note=_TV_SAME),
    _torchvision("vgg_19", "vgg19-dcbb9e9d.pth", 72.376, 90.876, note=_TV_SAME),
    _torchvision("resnet_v1_50", "resnet50-0676ba61.pth", 76.13, 92.862),
    _torchvision("resnet_v1_101", "resnet101-63fe2227.pth", 77.374, 93.546),
    _torchvision("resnet_v1_152", "resnet152-394f9c45.pth", 78.312, 94.046),
    # torchvision ports these from Google's TF Inception v3 ("ported from the original paper").
    # Its model rescales mean/std-normalized inputs back to [-1, 1]
    # (transform_input=True) before the first conv: the weights want
    # research/slim's inception preprocessing, which slimtorch's net takes directly.
    _torchvision("inception_v3", "inception_v3_google-0cc3c7bd.pth", 77.294, 93.45,
                 image_size=299, license="Apache-2.0 (Google's weights, ported by torchvision)",
                 preprocessing="inception",
                 note=_TV_INIT + "; [-1, 1] inputs (inception preprocessing), as torchvision's "
                      "transform_input=True gives its own model"),
)


def _index(entries) -> dict:
    table = {}
    for entry in entries:
        if entry.name in table:   # a typo in the tables above, caught at import
            raise ValueError(f"pretrained weights {entry.name!r} are registered twice")
        table[entry.name] = entry
    return table


_TABLE = _index(_RESEARCH_SLIM + _TORCHVISION_ENTRIES)
REGISTRY: Mapping[str, PretrainedWeights] = MappingProxyType(_TABLE)
"""``{name: PretrainedWeights}``, read-only: research/slim's table order, then
torchvision's, then what :func:`register_pretrained` added."""


def register_pretrained(weights: PretrainedWeights, replace: bool = False) -> PretrainedWeights:
    """Adds ``weights`` to the registry, so that its name works everywhere a
    registry name does (``pretrained=``, ``slimtorch download``,
    ``--checkpoint_path=pretrained:NAME`` in the same process): your own
    checkpoints on your own server, fetched, checked and cached the same way.

        >>> mine = PretrainedWeights('lenet.digits', 'lenet', 'https://example.com/lenet.tar.gz',
        ...     'lenet.ckpt', 10, 28, 'lenet', None, None, 'Apache-2.0', 'mine')
        >>> register_pretrained(mine).name in pretrained_names('lenet')
        True
        >>> register_pretrained(mine)
        Traceback (most recent call last):
        ...
        ValueError: pretrained weights 'lenet.digits' are registered already; pass replace=True to replace them
        >>> del _TABLE['lenet.digits']   # (this example's clean-up)

    Raises:
        ValueError: the name is taken (unless ``replace``), or ``weights.net``
            is not a zoo net.
    """
    from ..nets import nets_factory   # the factory's names, checked when an entry is added

    if weights.net not in nets_factory.network_names():
        raise ValueError(f"pretrained weights {weights.name!r}: net {weights.net!r} is not a zoo "
                         "net (slimtorch.nets.nets_factory.network_names() lists them)")
    if weights.name in _TABLE and not replace:
        raise ValueError(f"pretrained weights {weights.name!r} are registered already; pass "
                         "replace=True to replace them")
    _TABLE[weights.name] = weights
    return weights


def get_pretrained(name: str) -> PretrainedWeights:
    """The registry entry called ``name``.

        >>> get_pretrained('nasnet_large').image_size
        331
        >>> get_pretrained('inception_v9')
        Traceback (most recent call last):
        ...
        ValueError: no pretrained weights named 'inception_v9'; known: inception_v1, ...

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"no pretrained weights named {name!r}; known: "
                         f"{', '.join(REGISTRY)}") from None


def pretrained_names(net: Optional[str] = None) -> list:
    """Every entry's name in registry order, or only ``net``'s (its default first).

        >>> pretrained_names('resnet_v1_50')
        ['resnet_v1_50', 'resnet_v1_50.torchvision']
        >>> pretrained_names('lenet')
        []
    """
    return [name for name, entry in REGISTRY.items() if net is None or entry.net == net]


def default_pretrained(net: str) -> Optional[str]:
    """The untagged entry for ``net`` (its research/slim checkpoint), or None.

    A net whose only weights are tagged (``vgg_a``: torchvision's) has no
    default: ask for the tagged name.

        >>> default_pretrained('vgg_16'), default_pretrained('vgg_a'), default_pretrained('lenet')
        ('vgg_16', None, None)
    """
    entry = REGISTRY.get(net)
    return net if entry is not None and entry.net == net else None


# --- the docs' table ------------------------------------------------------------------------

_TABLE_HEADER = ("| Name | Net | Source | Classes | Input | Preprocessing | Top-1 | Top-5 "
                 "| fp32 MB | License |\n"
                 "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |")


def _weights_megabytes(net: str, num_classes: int, cache: dict) -> float:
    """fp32 size of the net's variables (what its checkpoint holds), in 10**6 bytes."""
    key = (net, num_classes)
    if key not in cache:
        from ..nets import nets_factory   # builds nets: imported only when a table is made

        network_fn = nets_factory.get_network_fn(net, num_classes)
        size = network_fn.default_image_size
        with Graph():   # not the caller's default graph
            model = network_fn.build((1, network_fn.input_channels, size, size), device="meta")
        cache[key] = 4 * sum(record.tensor.numel() for record in model.records()) / 1e6
    return cache[key]


def _accuracy(value: Optional[float]) -> str:
    return "–" if value is None else str(value)


def registry_table(names=None) -> str:
    """The registry as a markdown table (docs/checkpoints.md's), one row per entry.

    The fp32 size counts the net's variables (built on the meta device, no
    memory used), batch norm's moving statistics included; the license column
    keeps its first word.

        >>> table = registry_table(['mobilenet_v1', 'mobilenet_v1_025.128'])
        >>> print(table.splitlines()[0])
        | Name | Net | Source | Classes | Input | Preprocessing | Top-1 | Top-5 | fp32 MB | License |
        >>> table.splitlines()[-1].split(' | ')[3:]
        ['1001', '128', 'inception', '41.5', '66.3', '1.9', 'Apache-2.0 |']
    """
    cache: dict = {}
    rows = [_TABLE_HEADER]
    for name in REGISTRY if names is None else names:
        w = get_pretrained(name)
        megabytes = _weights_megabytes(w.net, w.num_classes, cache)
        rows.append(f"| {w.name} | {w.net} | {w.source} | {w.num_classes} | {w.image_size} "
                    f"| {w.preprocessing} | {_accuracy(w.top1)} | {_accuracy(w.top5)} "
                    f"| {megabytes:.1f} | {w.license.split()[0]} |")
    return "\n".join(rows)


def registry_summary(names=None, pairs: int = 2) -> str:
    """The registry as a compact markdown table (the README's): weights,
    classes, top-1 as reported and fp32 MB, ``pairs`` entries a row.

        >>> print(registry_summary(['vgg_16', 'mobilenet_v1_025.128']))
        | weights | classes | top-1 | MB | weights | classes | top-1 | MB |
        | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |
        | vgg_16 | 1000 | 71.5 | 553.4 | mobilenet_v1_025.128 | 1001 | 41.5 | 1.9 |
    """
    cache: dict = {}
    cells = []
    for name in REGISTRY if names is None else names:
        w = get_pretrained(name)
        megabytes = _weights_megabytes(w.net, w.num_classes, cache)
        cells.append(f"{w.name} | {w.num_classes} | {_accuracy(w.top1)} | {megabytes:.1f}")
    cells += [" |  |  | "] * (-len(cells) % pairs)   # pad the last row: four empty cells
    rows = ["| " + " | ".join(["weights | classes | top-1 | MB"] * pairs) + " |",
            "| " + " | ".join(["--- | ---: | ---: | ---:"] * pairs) + " |"]
    rows += ["| " + " | ".join(cells[i:i + pairs]) + " |" for i in range(0, len(cells), pairs)]
    return "\n".join(rows)
