"""Coverage-guided fuzzing of slimtorch's file readers: the long campaign.

    python scripts/fuzz.py [--inputs 100000] [--target all|tf_v2|tf_v1|tfrecord|safetensors]
                           [--seed 0] [--crashes DIR]

For each target (the TF V2 bundle reader, the TF V1 reader, TFRecord +
``tf.train.Example``, safetensors through ``load_checkpoint``) it starts from
the committed fixtures and runs ``--inputs`` mutated inputs, each read in
full by ``tests/fuzzing/targets.py`` (every tensor / every record). Inputs
are made by the structure-aware and byte-level mutations of
``tests/fuzzing``; an input that executes a new branch of the readers (a new
line-to-line arc in ``slimtorch/{checkpoint,data,_io}``, seen with
``sys.settrace`` on every 4th input) joins the corpus that later inputs are
mutated from; a quarter of the inputs start from a fixture again.
(Hypothesis, which the short run in ``tests/test_fuzz_readers.py`` uses, no
longer steers by coverage; this loop does.)

Per target it prints the inputs run, how many read cleanly, the documented
errors by type (how often, and in how many inputs), the slowest untraced
input (read under tracemalloc) and the largest allocation of any input
(tracemalloc peak or growth of the peak resident set, whichever is larger),
and the corpus and arcs it reached. It exits 1
when any input raised an undocumented exception, took over 1 s or allocated
over 100 MB, printing how to rebuild that input (a fixture and its ops) and
saving it under ``--crashes`` when given.
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import random
import signal
import sys
import time
import traceback
import tracemalloc

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fuzzing.sample import apply_ops  # noqa: E402
from fuzzing.targets import FORMATS, STRUCTURE_OPS, LimitExceeded, Workdir, load_seeds, run_input  # noqa: E402

_TRACED = tuple(str(ROOT / "slimtorch" / part) for part in ("checkpoint", "data", "_io"))
_HANG_SECONDS = 10  # a read still running after this is stopped and reported
_MAX_CORPUS = 4000
# Tracing costs a Python call per line (10x slower reads, 20x with
# tracemalloc), so: every _TRACE_EVERY-th input is traced, and in it a
# function stops being traced after _CALLS_PER_INPUT calls (per-varint
# helpers run thousands of times an input) or a call after _LINES_PER_CALL
# lines (long loops); on these fixtures that loses under 1% of the arcs.
_TRACE_EVERY = 4
_CALLS_PER_INPUT = 16
_LINES_PER_CALL = 300


class Hang(Exception):  # noqa: N818 (a signal, not an error: the input is reported)
    """An input still being read after _HANG_SECONDS."""


class ArcCoverage:
    """Line-to-line arcs executed in the readers' source files."""

    def __init__(self, roots: tuple):
        self.roots = roots
        self.seen: set = set()
        self.current: set = set()
        self._wanted: dict = {}
        self._calls: dict = {}

    def _call(self, frame, event, arg):
        code = frame.f_code
        wanted = self._wanted.get(code.co_filename)
        if wanted is None:
            wanted = self._wanted[code.co_filename] = code.co_filename.startswith(self.roots)
        calls = self._calls.get(code, 0)
        if not wanted or calls >= _CALLS_PER_INPUT:
            return None
        self._calls[code] = calls + 1
        current, state = self.current, [frame.f_lineno, _LINES_PER_CALL]

        def line(frame, event, arg):
            if event == "line":
                current.add((code, state[0], frame.f_lineno))
                state[0] = frame.f_lineno
                state[1] -= 1
                if not state[1]:
                    return None
            return line
        return line

    def run(self, function, *args):
        """``function(*args)`` traced; the arcs it executed are in ``current``."""
        self.current, self._calls = set(), {}
        sys.settrace(self._call)
        try:
            return function(*args)
        finally:
            sys.settrace(None)

    def merge(self) -> int:
        """Add ``current`` to ``seen``; how many arcs were new."""
        new = self.current - self.seen
        self.seen |= new
        return len(new)


class Entry:
    """A corpus input and how to rebuild it: fixture name and ops."""

    __slots__ = ("seed", "ops", "sample")

    def __init__(self, seed: str, ops: list, sample):
        self.seed, self.ops, self.sample = seed, ops, sample


def _on_alarm(signum, frame):
    raise Hang(f"still reading after {_HANG_SECONDS} s")


def _where(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(str(ROOT / "slimtorch"))]
    last = (frames or traceback.extract_tb(error.__traceback__) or [None])[-1]
    return "?" if last is None else f"{os.path.relpath(last.filename, ROOT)}:{last.lineno}"


def fuzz(fmt: str, inputs: int, seed: int = 0, crashes: str | None = None) -> dict:
    """Run ``inputs`` mutated inputs against one target; a summary dict."""
    rng = random.Random(f"{fmt}:{seed}")
    coverage = ArcCoverage(_TRACED)
    seeds = [Entry(name, [], sample) for name, sample in load_seeds(fmt)]
    corpus = list(seeds)
    ops_table = STRUCTURE_OPS[fmt]
    errors, rejected = collections.Counter(), collections.Counter()
    failures: dict = {}
    clean = slowest = peak = 0
    started = time.perf_counter()
    with Workdir() as workdir:
        for entry in list(corpus):  # the fixtures themselves first, as coverage baseline
            coverage.run(run_input, fmt, entry.sample, workdir)
            coverage.merge()
        for number in range(inputs):
            traced = number % _TRACE_EVERY == 0
            # A quarter of the inputs start from a fixture again: a few
            # mutations away from a valid file is where most checks live.
            parent = rng.choice(corpus[:len(seeds)] if rng.random() < 0.25 else corpus)
            ops = [(rng.randrange(256), rng.getrandbits(32), rng.getrandbits(32))
                   for _ in range(1 + min(int(rng.expovariate(0.5)), 7))]
            candidate = Entry(parent.seed, parent.ops + ops, None)
            try:
                candidate.sample = apply_ops(parent.sample, ops, ops_table)
                signal.alarm(_HANG_SECONDS)
                try:
                    outcome = coverage.run(run_input, fmt, candidate.sample, workdir) \
                        if traced else run_input(fmt, candidate.sample, workdir)
                except LimitExceeded as error:
                    if not traced or "took" not in str(error):
                        raise
                    outcome = run_input(fmt, candidate.sample, workdir)  # untraced: the real time
                finally:
                    signal.alarm(0)
            except Exception as error:  # an undocumented error, a hang, a limit
                key = (type(error).__name__, _where(error))
                if key not in failures:
                    failures[key] = [candidate, error, traceback.format_exc(), 0]
                    _save(crashes, fmt, len(failures), candidate)
                failures[key][3] += 1
                continue
            errors.update(outcome.errors)
            rejected.update(set(outcome.errors))
            clean += not outcome.errors
            if not traced:  # tracing slows reads ~10x
                slowest = max(slowest, outcome.seconds)
            peak = max(peak, outcome.peak_bytes)
            if traced and coverage.merge() and len(corpus) < _MAX_CORPUS:
                corpus.append(candidate)
    return {"target": fmt, "inputs": inputs, "clean": clean, "errors": dict(errors),
            "rejected": dict(rejected), "slowest": slowest, "peak": peak,
            "corpus": len(corpus), "arcs": len(coverage.seen), "failures": failures,
            "wall": time.perf_counter() - started}


def _save(crashes, fmt: str, number: int, entry: Entry) -> None:
    if not crashes or entry.sample is None:
        return
    folder = pathlib.Path(crashes) / f"{fmt}-{number}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in entry.sample.files:
        (folder / name).write_bytes(data)
    (folder / "REPRODUCE.txt").write_text(f"seed={entry.seed!r}\noption={entry.sample.option!r}\n"
                                          f"ops={entry.ops!r}\n")


def report(summary: dict) -> str:
    """The summary of one target as text."""
    errors = "; ".join(f"{name} {count:,} times, in {summary['rejected'][name]:,} inputs"
                       for name, count in sorted(summary["errors"].items()))
    lines = [f"{summary['target']}: {summary['inputs']:,} inputs in {summary['wall']:.0f} s, "
             f"{summary['clean']:,} read cleanly",
             f"  documented errors: {errors or 'none'}",
             f"  slowest input {summary['slowest'] * 1000:.1f} ms, largest allocation "
             f"{summary['peak'] / 2**20:.2f} MB; corpus of {summary['corpus']} inputs "
             f"covering {summary['arcs']} arcs",
             f"  undocumented exceptions, hangs, over-limit inputs: "
             f"{sum(f[3] for f in summary['failures'].values())}"]
    for (kind, where), (entry, error, text, count) in summary["failures"].items():
        lines.append(f"  FAILURE {kind} at {where} ({count} inputs): {str(error)[:200]}")
        lines.append(f"    rebuild: apply_ops(dict(load_seeds({summary['target']!r}))"
                     f"[{entry.seed!r}], {entry.ops!r}, STRUCTURE_OPS[{summary['target']!r}])")
        lines.extend("    " + line for line in text.rstrip().splitlines()[-6:])
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="mutated inputs per target")
    parser.add_argument("--target", default="all", choices=("all",) + FORMATS)
    parser.add_argument("--seed", type=int, default=0, help="random seed of the campaign")
    parser.add_argument("--crashes", help="folder to save failing inputs in")
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    # tracemalloc on for the whole campaign (run_input then only resets its
    # peak): starting and stopping it for each input, as the short run in
    # the test suite does, grows the process by ~2.6 KB an input (CPython 3.11).
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    failed = False
    try:
        for fmt in FORMATS if args.target == "all" else (args.target,):
            summary = fuzz(fmt, args.inputs, args.seed, args.crashes)
            print(report(summary), flush=True)
            failed |= bool(summary["failures"])
    finally:
        signal.signal(signal.SIGALRM, previous)
        if started:
            tracemalloc.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
