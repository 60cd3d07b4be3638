"""Turn a TF-Slim ``data_sources`` spec into the list of shard files.

Accepted, as in ``tf_slim.data.parallel_reader.get_data_files``:

* a glob (``flowers_train_*.tfrecord``, ``train-*-of-01024``): the matching
  files, sorted (temp files of unfinished atomic writes are skipped);
* a sharded-file spec ``path@N``: ``path-00000-of-0000N`` ...
  ``path-0000{N-1}-of-0000N`` (five-digit numbers, TF's convention). TF-Slim's
  docstring mentions this form but its code only globs; here it is expanded,
  and every shard must exist;
* a plain file name, or a list/tuple of any of these (concatenated in order).

Nothing found raises ``FileNotFoundError`` naming the pattern (TF-Slim raises
``ValueError``; a missing file is what this is).

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     open(os.path.join(d, f"train-{i:05d}-of-00002"), "wb").close()
    >>> [os.path.basename(p) for p in expand_file_pattern(os.path.join(d, "train@2"))]
    ['train-00000-of-00002', 'train-00001-of-00002']
    >>> expand_file_pattern(os.path.join(d, "train-*")) == expand_file_pattern(os.path.join(d, "train@2"))
    True
"""

from __future__ import annotations

import glob
import os
import re

from slimtorch._io.atomic import is_temp_file

__all__ = ["expand_file_pattern", "sharded_file_names"]

_SHARD_SPEC = re.compile(r"^(?P<base>.+)@(?P<count>\d+)$")
_GLOB_CHARS = "*?["


def sharded_file_names(base: str, num_shards: int) -> list[str]:
    """TF's sharded names: ``base-00000-of-00003``, ... (no file system access).

        >>> sharded_file_names("gs/train", 2)
        ['gs/train-00000-of-00002', 'gs/train-00001-of-00002']
    """
    if num_shards < 1:
        raise ValueError(f"sharded_file_names: num_shards must be >= 1, got {num_shards}")
    return [f"{base}-{i:05d}-of-{num_shards:05d}" for i in range(num_shards)]


def expand_file_pattern(pattern) -> list[str]:
    """The files a glob, ``path@N`` spec, file name or list of them names.

    Raises ``FileNotFoundError`` naming ``pattern`` when nothing matches, or
    naming the first missing shard of a ``path@N`` spec.
    """
    if isinstance(pattern, (list, tuple)):
        if not pattern:
            raise FileNotFoundError("expand_file_pattern: an empty list of file patterns")
        return [path for item in pattern for path in expand_file_pattern(item)]
    pattern = os.fspath(pattern)
    spec = _SHARD_SPEC.match(pattern)
    if spec and not os.path.exists(pattern):
        names = sharded_file_names(spec["base"], int(spec["count"]))
        missing = [name for name in names if not os.path.isfile(name)]
        if missing:
            raise FileNotFoundError(f"shard {missing[0]!r} of {pattern!r} does not "
                                    f"exist ({len(missing)} of {len(names)} missing)")
        return names
    if any(c in pattern for c in _GLOB_CHARS):
        matches = sorted(p for p in glob.glob(pattern)
                         if os.path.isfile(p) and not is_temp_file(p))
        if not matches:
            raise FileNotFoundError(f"no files match the pattern {pattern!r}")
        return matches
    if not os.path.isfile(pattern):
        what = "is a directory, expected a file or pattern" if os.path.isdir(pattern) \
            else "does not exist"
        raise FileNotFoundError(f"data file {pattern!r} {what}")
    return [pattern]
