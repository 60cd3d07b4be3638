"""A fuzz input: the files of one checkpoint or record file, plus an option,
and how a list of ops turns a seed into a mutated input.

``option`` is the reader option the input is read with: ``verify_checksums``
for TF checkpoints, the ``compression_type`` of a TFRecord file, None for
safetensors. Each op ``(kind, a, b)`` is either a structure-aware mutation
of the format (even ``kind``) or a byte-level one on one file (odd ``kind``).

    >>> seed = Sample((("x.bin", b"abcd"),), None)
    >>> apply_ops(seed, [(1, 0, 0)], structure_ops=[]).files   # flip bit 0 of byte 0
    (('x.bin', b'`bcd'),)
"""

from __future__ import annotations

from dataclasses import dataclass

from fuzzing.byte_ops import mutate_bytes

__all__ = ["Sample", "apply_ops"]


@dataclass(frozen=True)
class Sample:
    """Files as ``((name, bytes), ...)`` (in a fixed order) and an option."""
    files: tuple
    option: object = None

    def get(self, name: str) -> bytes:
        return dict(self.files)[name]

    def with_file(self, name: str, data: bytes) -> "Sample":
        return Sample(tuple((n, data if n == name else d) for n, d in self.files),
                      self.option)

    def with_option(self, option) -> "Sample":
        return Sample(self.files, option)

    @property
    def size(self) -> int:
        return sum(len(d) for _, d in self.files)


def apply_ops(sample: Sample, ops, structure_ops: list) -> Sample:
    """Apply each op in turn. A structure op that finds no structure to work
    on (returns None: an earlier op broke the framing) becomes a byte op."""
    for kind, a, b in ops:
        if kind % 2 == 0 and structure_ops:
            mutated = structure_ops[(kind >> 1) % len(structure_ops)](sample, a, b)
            if mutated is not None:
                sample = mutated
                continue
        name, data = sample.files[(a >> 24) % len(sample.files)]
        sample = sample.with_file(name, mutate_bytes(data, kind >> 1, a, b))
    return sample
