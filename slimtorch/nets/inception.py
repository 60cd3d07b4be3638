"""research/slim's ``nets/inception.py``: every Inception net under one name.

    >>> from slimtorch.nets import inception
    >>> with slim.Graph(), slim.arg_scope(inception.inception_v3_arg_scope()):
    ...     logits, _ = inception.inception_v1(torch.zeros(1, 3, 224, 224, device='meta'), 10)
    >>> logits.shape
    torch.Size([1, 10])

The same functions as the family modules (``slimtorch.nets.inception_v1``,
...), so ``from nets import inception`` code changes only its import.
"""

from .inception_resnet_v2 import (inception_resnet_v2, inception_resnet_v2_arg_scope,
                                  inception_resnet_v2_base)
from .inception_v1 import inception_v1, inception_v1_arg_scope, inception_v1_base
from .inception_v2 import inception_v2, inception_v2_arg_scope, inception_v2_base
from .inception_v3 import inception_v3, inception_v3_arg_scope, inception_v3_base
from .inception_v4 import inception_v4, inception_v4_arg_scope, inception_v4_base

__all__ = [
    "inception_resnet_v2", "inception_resnet_v2_arg_scope", "inception_resnet_v2_base",
    "inception_v1", "inception_v1_arg_scope", "inception_v1_base",
    "inception_v2", "inception_v2_arg_scope", "inception_v2_base",
    "inception_v3", "inception_v3_arg_scope", "inception_v3_base",
    "inception_v4", "inception_v4_arg_scope", "inception_v4_base",
]
