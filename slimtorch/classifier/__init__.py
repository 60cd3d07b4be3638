"""research/slim's image-classifier scripts as the ``slimtorch train`` and
``slimtorch eval`` commands: :mod:`.flags`, :mod:`.train`, :mod:`.eval`."""
