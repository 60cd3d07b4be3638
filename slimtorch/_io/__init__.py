"""Private low-level I/O shared by :mod:`slimtorch.checkpoint` and :mod:`slimtorch.data`.

Not public API: protobuf wire-format primitives (:mod:`.wire`), crc32c
(:mod:`.crc32c`) and atomic file writes (:mod:`.atomic`). Nothing here imports
from the rest of slimtorch; malformed bytes raise the neutral errors of
:mod:`.errors`, which each caller re-raises as its own documented type.
"""
