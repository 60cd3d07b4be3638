"""Builds any zoo net by name, as research/slim's ``nets_factory`` does.

    >>> network_fn = get_network_fn('lenet', num_classes=10)
    >>> network_fn.default_image_size, network_fn.input_channels, network_fn.min_image_size
    (28, 1, 4)
    >>> logits, end_points = network_fn(torch.zeros(2, 1, 28, 28))
    >>> logits.shape, 'Predictions' in end_points
    (torch.Size([2, 10]), True)

``network_fn`` is a :class:`slimtorch.Model` (an ``nn.Module``): its variables
carry TF-Slim's names, so checkpoints map one to one. Its first call checks
the images against what the net declares (:class:`slimtorch.InputSpec`):

    >>> get_network_fn('vgg_16', 10)(torch.zeros(1, 224, 224, 3))
    Traceback (most recent call last):
    ...
    ValueError: vgg_16: expected float images [N, 3, H, W] (NCHW), got float32 [1, 224, 224, 3]:
    channels-last (NHWC); use images.permute(0, 3, 1, 2)

Differences from TF-Slim, both fixing traps:

* ``is_training`` sets the module's initial ``train()``/``eval()`` mode and the
  net follows the mode afterwards, so ``network_fn.train()`` and
  ``network_fn.eval()`` work as in any PyTorch model. (TF-Slim fixes it when
  the function is made.) Passing ``is_training=`` at call time still wins.
* Arg scopes that take an ``is_training`` argument (the MobileNets') are
  made with ``is_training=None``: their default, True, would pin batch norm
  to training mode, since in slimtorch a scoped value beats ``eval()``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping

import torch

from ..arg_scope import arg_scope
from ..model import InputSpec, Model

__all__ = ["NetworkFn", "arg_scopes_map", "get_network_fn", "input_channels", "load_pretrained",
           "min_image_size", "network_names", "networks_map"]

# name -> (module in slimtorch.nets, net function, arg_scope function)
_NETWORKS = {
    "alexnet_v2": ("alexnet", "alexnet_v2", "alexnet_v2_arg_scope"),
    "cifarnet": ("cifarnet", "cifarnet", "cifarnet_arg_scope"),
    "overfeat": ("overfeat", "overfeat", "overfeat_arg_scope"),
    "vgg_a": ("vgg", "vgg_a", "vgg_arg_scope"),
    "vgg_16": ("vgg", "vgg_16", "vgg_arg_scope"),
    "vgg_19": ("vgg", "vgg_19", "vgg_arg_scope"),
    "inception_v1": ("inception_v1", "inception_v1", "inception_v1_arg_scope"),
    "inception_v2": ("inception_v2", "inception_v2", "inception_v2_arg_scope"),
    "inception_v3": ("inception_v3", "inception_v3", "inception_v3_arg_scope"),
    "inception_v4": ("inception_v4", "inception_v4", "inception_v4_arg_scope"),
    "inception_resnet_v2": ("inception_resnet_v2", "inception_resnet_v2",
                            "inception_resnet_v2_arg_scope"),
    "lenet": ("lenet", "lenet", "lenet_arg_scope"),
    **{f"resnet_v{v}_{d}": (f"resnet_v{v}", f"resnet_v{v}_{d}", "resnet_arg_scope")
       for v in (1, 2) for d in (50, 101, 152, 200)},
    **{name: ("mobilenet_v1", name, "mobilenet_v1_arg_scope")
       for name in ("mobilenet_v1", "mobilenet_v1_075", "mobilenet_v1_050", "mobilenet_v1_025")},
    "mobilenet_v2": ("mobilenet_v2", "mobilenet", "training_scope"),
    "mobilenet_v2_140": ("mobilenet_v2", "mobilenet_v2_140", "training_scope"),
    "mobilenet_v2_035": ("mobilenet_v2", "mobilenet_v2_035", "training_scope"),
    "mobilenet_v3_small": ("mobilenet_v3", "small", "training_scope"),
    "mobilenet_v3_large": ("mobilenet_v3", "large", "training_scope"),
    "mobilenet_v3_small_minimalistic": ("mobilenet_v3", "small_minimalistic", "training_scope"),
    "mobilenet_v3_large_minimalistic": ("mobilenet_v3", "large_minimalistic", "training_scope"),
    "mobilenet_edgetpu": ("mobilenet_v3", "edge_tpu", "training_scope"),
    "mobilenet_edgetpu_075": ("mobilenet_v3", "edge_tpu_075", "training_scope"),
    "i3d": ("i3d", "i3d", "i3d_arg_scope"),
    "s3dg": ("s3dg", "s3dg", "s3dg_arg_scope"),
    "nasnet_cifar": ("nasnet", "build_nasnet_cifar", "nasnet_cifar_arg_scope"),
    "nasnet_mobile": ("nasnet", "build_nasnet_mobile", "nasnet_mobile_arg_scope"),
    "nasnet_large": ("nasnet", "build_nasnet_large", "nasnet_large_arg_scope"),
    "pnasnet_mobile": ("pnasnet", "build_pnasnet_mobile", "pnasnet_mobile_arg_scope"),
    "pnasnet_large": ("pnasnet", "build_pnasnet_large", "pnasnet_large_arg_scope"),
}


class _LazyFunctions(Mapping):
    """``{name: function}`` that imports a net's module on first use, so
    ``import slimtorch.nets.nets_factory`` stays cheap."""

    def __init__(self, index: int) -> None:
        self._index = index

    def __getitem__(self, name: str):
        entry = _NETWORKS[name]
        module = importlib.import_module(f"{__package__}.{entry[0]}")
        return getattr(module, entry[self._index])

    def __iter__(self):
        return iter(_NETWORKS)

    def __len__(self) -> int:
        return len(_NETWORKS)


networks_map = _LazyFunctions(1)
"""``{name: net function}``, research/slim's ``networks_map``."""
arg_scopes_map = _LazyFunctions(2)
"""``{name: arg_scope function}``, research/slim's ``arg_scopes_map``."""


def network_names() -> list:
    """Every name :func:`get_network_fn` accepts.

        >>> 'vgg_16' in network_names(), len(network_names())
        (True, 40)
    """
    return list(_NETWORKS)


def input_channels(name: str) -> int:
    """The image channels net ``name`` takes: 1 for LeNet (grey MNIST
    digits), 3 (RGB) for the others. Each net function declares it as
    ``input_channels``, beside ``default_image_size``.

        >>> input_channels('lenet'), input_channels('vgg_16')
        (1, 3)

    Raises:
        ValueError: for an unknown name.
    """
    _check_name(name)
    return networks_map[name].input_channels


def min_image_size(name: str) -> int:
    """The smallest height and width net ``name`` takes with its default
    arguments (its ``'VALID'`` convolutions and pools need that much; some
    arguments, like ``global_pool=True``, accept less). Each net function
    declares it as ``min_image_size``, beside ``default_image_size``.

        >>> min_image_size('vgg_16'), min_image_size('inception_v3'), min_image_size('resnet_v1_50')
        (224, 107, 1)

    Raises:
        ValueError: for an unknown name.
    """
    _check_name(name)
    return networks_map[name].min_image_size


def _check_name(name: str) -> None:
    if name not in _NETWORKS:
        known = ", ".join(sorted(_NETWORKS))
        raise ValueError(f"Name of network unknown {name} (known: {known})")


class NetworkFn(Model):
    """A zoo net as an ``nn.Module``: ``logits, end_points = network_fn(images)``.

    Attributes:
        name: the factory name (``'vgg_16'``).
        default_image_size: the input size the net was designed for.
        input_channels: the image channels it takes (1 for LeNet, else 3),
            so ``(batch, input_channels, size, size)`` is an input shape.
        min_image_size: the smallest height and width it takes (see
            :func:`min_image_size`).
        input_spec: the :class:`slimtorch.InputSpec` made of these, which
            the first call checks: a channels-last, wrong-channel, integer or
            float64 batch, or one too small, gets one ``ValueError`` naming
            the net and the fix.
        default_num_frames: for the video nets (``i3d``, ``s3dg``, whose
            inputs are clips ``[N, C, T, H, W]``), the clip length of
            research/slim's tests (64); None for image nets.
        num_classes: as given to :func:`get_network_fn`.
        memory_format: ``torch.channels_last`` by default (see ``slim.Model``):
            the fast layout on CPUs (oneDNN) and GPUs; set it to None before
            the first call for plain NCHW tensors.
    """

    memory_format = torch.channels_last

    def __init__(self, name: str, num_classes, weight_decay: float, func, scope) -> None:
        def network_fn(images, **kwargs):
            with arg_scope(scope):
                return func(images, num_classes=num_classes, **kwargs)
        network_fn.__name__ = name
        super().__init__(network_fn)
        self.name = name
        self.num_classes = num_classes
        self.weight_decay = weight_decay
        self.default_image_size = getattr(func, "default_image_size", None)
        self.input_channels = getattr(func, "input_channels", None)
        self.min_image_size = getattr(func, "min_image_size", None)
        self.default_num_frames = getattr(func, "default_num_frames", None)
        self.input_spec = InputSpec(self.input_channels, self.min_image_size,
                                    preprocessing=_preprocessing_hint(name),
                                    video=self.default_num_frames is not None)

    def input_shape(self, batch_size: int = 1, image_size=None, num_frames=None) -> tuple:
        """The shape of an input batch at ``image_size`` (default: the net's
        own): ``(N, C, H, W)``, or ``(N, C, T, H, W)`` for a video net with
        ``num_frames`` (default: :attr:`default_num_frames`).

            >>> get_network_fn('lenet', 10).input_shape(4)
            (4, 1, 28, 28)
            >>> get_network_fn('i3d', 400).input_shape(2, num_frames=16)
            (2, 3, 16, 224, 224)
        """
        size = image_size or self.default_image_size
        if self.default_num_frames is None:
            if num_frames is not None:
                raise ValueError(f"{self.name} takes images, not clips: leave num_frames out")
            return (batch_size, self.input_channels, size, size)
        return (batch_size, self.input_channels, num_frames or self.default_num_frames, size, size)

    def _label(self) -> str:
        return self.name

    def extra_repr(self) -> str:
        return f"name={self.name!r}, num_classes={self.num_classes}, {super().extra_repr()}"


def _preprocessing_hint(name: str):
    """The preprocessing the input error suggests for integer images, when
    research/slim names one for this net (alexnet_v2 and others have none)."""
    from ..data.preprocessing import preprocessing_fn_map   # loaded with slimtorch already

    if name in preprocessing_fn_map:
        return f"slimtorch.data.preprocessing.get_preprocessing({name!r})"
    return None


def get_network_fn(name: str, num_classes, weight_decay: float = 0.0,
                   is_training: bool = False, pretrained=False) -> NetworkFn:
    """The net ``name`` under its arg_scope (with ``weight_decay``), as a module.

    Args:
        name: one of :func:`network_names` (``'vgg_16'``, ``'inception_v3'``, ...).
        num_classes: logits width; 0 or None returns the pre-logits features
            (without dropout) instead.
        weight_decay: L2 coefficient of the net's weight regularizers.
        is_training: the module's initial mode (``network_fn.train()`` /
            ``.eval()`` change it later).
        pretrained: True for the TF-Slim model zoo's ImageNet weights of
            ``name``, or a registry name (``'resnet_v1_50.torchvision'``):
            the net is built and restored now (:func:`load_pretrained`:
            downloaded and converted once, cached; logits of another class
            count left out; 1001 -> 1000 drops the background class).

    Raises:
        ValueError: for an unknown name.
        slimtorch.pretrained.PretrainedError: with ``pretrained``, when the
            weights can not be had (offline without them in the cache, a
            failed download, a corrupt archive).

        >>> get_network_fn('vgg16', 10)
        Traceback (most recent call last):
        ...
        ValueError: Name of network unknown vgg16 (known: alexnet_v2, cifarnet, ...)
    """
    _check_name(name)
    func, scope_fn = networks_map[name], arg_scopes_map[name]
    scope_kwargs = {"weight_decay": weight_decay}
    if "is_training" in inspect.signature(scope_fn).parameters:
        scope_kwargs["is_training"] = None
    scope = scope_fn(**scope_kwargs)
    network_fn = NetworkFn(name, num_classes, weight_decay, func, scope).train(is_training)
    if pretrained:
        load_pretrained(network_fn, None if pretrained is True else pretrained)
    return network_fn


def load_pretrained(network_fn: NetworkFn, name=None, **kwargs):
    """Restores the TF-Slim model zoo's weights ``name`` (default: the net's
    own) into ``network_fn``, built now if it is not yet; returns the
    :class:`slimtorch.pretrained.PretrainedReport`. The same as
    :func:`slimtorch.pretrained.load_pretrained`, which documents it."""
    # nets sits below pretrained (which builds nets to convert checkpoints):
    # this one upward import is lazy, and the reason for the exception in
    # tests/test_architecture.py.
    from ..pretrained import load_pretrained as restore
    return restore(network_fn, name, **kwargs)
