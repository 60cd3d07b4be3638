"""Fuzzing slimtorch's file readers: mutations, seeds and targets.

``tests/test_fuzz_readers.py`` drives them with Hypothesis (a short,
derandomized run in the normal suite); ``scripts/fuzz.py`` runs the long,
coverage-guided campaign. Every input is built from a committed fixture by
a list of *ops* ``(kind, a, b)`` (three ints), so Hypothesis can draw and
shrink them and a failing input is reproducible from its seed name and ops.
"""
