"""research/slim's image-classifier scripts as the ``slimtorch train`` and
``slimtorch eval`` commands: :mod:`.flags`, :mod:`.train`, :mod:`.evaluate`."""

# The submodules are the API (``from slimtorch.classifier import train``); they
# are not imported here, so ``slimtorch --help`` stays cheap.
__all__: list = []
