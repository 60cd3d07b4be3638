"""Kill test: ``slim.learning.train`` killed with SIGKILL at random moments
(many of them while a checkpoint is being written), restarted each time on
the same ``logdir``, ends with the weights of an uninterrupted run, bit for
bit.

The job is small and deterministic on the CPU: a CNN with batch norm and
dropout (random numbers), momentum SGD (optimizer state) on a seeded list of
7 batches (so epochs wrap at varied steps), a checkpoint after every step.
So that kills often land inside a write, the *job* (not the library) sleeps
``--write-delay`` seconds between writing each file and renaming it into
place. Half of the kills are aimed: the driver waits for a write to be in
flight and kills then; the others come at a random moment.

Checked after every kill, before the restart:

* every checkpoint file under its final name reads completely, and the
  latest complete checkpoint (the one the ``checkpoint`` state file names)
  equals the uninterrupted run's checkpoint of the same step bit for bit:
  weights, optimizer state, random generator states, data position;
* the restarted process logs that it resumed from exactly that checkpoint.

At the end: the final weights equal the uninterrupted run's, and the
directory holds exactly the kept checkpoints (no unfinished write, no
orphaned file).

    python scripts/kill_test.py [--kills 20] [--seed 0] [--start-method spawn]
    python scripts/kill_test.py --job LOGDIR --steps 40 [--step-delay 0.02]   # one job

Each job runs in a new process; with ``--start-method forkserver`` (the
default) new processes fork from one that has imported torch already, so a
restart takes milliseconds instead of seconds; ``spawn`` starts a fresh
interpreter every time.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from typing import Optional

import torch

BATCHES, BATCH_SIZE, CLASSES = 7, 8, 5
_RESUMED = re.compile(r"train: resumed from (\S+) at global step (\d+)")


# -- the training job (runs in the child processes) --------------------------------------
def _net(images):
    import slimtorch as slim
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        normalizer_params={"decay": 0.9}):
        x = slim.conv2d(images, 8, [3, 3], scope="conv1")
    x = slim.max_pool2d(x, [2, 2], scope="pool1")
    x = slim.dropout(slim.flatten(x), 0.7, scope="dropout")
    return slim.fully_connected(x, CLASSES, activation_fn=None, scope="logits")


def synthetic_batches() -> list:
    """The job's data: a fixed list of (images, labels) batches."""
    g = torch.Generator().manual_seed(1234)
    return [(torch.randn(BATCH_SIZE, 3, 8, 8, generator=g),
             torch.randint(0, CLASSES, (BATCH_SIZE,), generator=g)) for _ in range(BATCHES)]


def _slow_down_commits(seconds: float) -> None:
    """Sleeps between a file's write and its rename into place, in this
    process only: kills then often find a write in flight."""
    from slimtorch._io.atomic import is_temp_file
    rename = os.replace

    def slow_replace(src, dst, *args, **kwargs):
        src = os.fspath(src)
        if is_temp_file(src) or is_temp_file(os.path.dirname(src)):   # a commit
            time.sleep(seconds)
        return rename(src, dst, *args, **kwargs)
    os.replace = slow_replace


def train_job(logdir: str, steps: int, log_path: str, write_delay: float = 0.0,
              max_to_keep: int = 3, save_interval_steps: int = 1, step_delay: float = 0.0,
              log_every_n_steps: int = 0) -> None:
    """Trains the job for ``steps`` global steps in ``logdir`` (resuming if it
    holds a checkpoint), checkpointing every ``save_interval_steps``; logs to
    ``log_path``. ``step_delay`` seconds of sleep a step give a signal sent
    from outside time to land mid-run (``tests/test_train_interrupts.py``)."""
    import slimtorch as slim

    torch.set_num_threads(1)   # the same arithmetic in every process (CPU kernels are
    # deterministic then; use_deterministic_algorithms would import torch._inductor: 2.5 s)
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("slimtorch").addHandler(handler)
    logging.getLogger("slimtorch").setLevel(logging.INFO)
    if write_delay:
        _slow_down_commits(write_delay)
    model = slim.Model(_net)

    def total_loss(batch):
        images, labels = batch
        if step_delay:
            time.sleep(step_delay)
        slim.losses.sparse_softmax_cross_entropy(model(images), labels)
    train_op = slim.learning.create_train_op(
        total_loss, lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9))
    slim.learning.train(train_op, logdir, synthetic_batches(), number_of_steps=steps,
                        save_interval_steps=save_interval_steps, max_to_keep=max_to_keep,
                        log_every_n_steps=log_every_n_steps, save_summaries_secs=0, device=None,
                        seed=7)
    step = slim.get_global_step()   # None: the run was finished already, nothing was built
    logging.getLogger("slimtorch").info("job finished at global step %s",
                                        int(step) if step is not None else "(finished before)")


# -- the driver --------------------------------------------------------------------------
def _step_of(path: str) -> int:
    return int(re.search(r"-(\d+)\.safetensors$", path).group(1))


def _read_all(path: str) -> dict:
    """Every tensor and the metadata of a safetensors checkpoint (reading
    each tensor proves the file is complete)."""
    from slimtorch.checkpoint import load_checkpoint
    with load_checkpoint(path) as reader:
        tensors = {k: reader.get_torch_tensor(k).clone()
                   for k in reader.get_variable_to_shape_map()}
        return {"tensors": tensors, "metadata": dict(reader.metadata)}


def _same(a: dict, b: dict) -> bool:
    return a["metadata"] == b["metadata"] and a["tensors"].keys() == b["tensors"].keys() and \
        all(torch.equal(a["tensors"][k], b["tensors"][k]) for k in a["tensors"])


def _check_directory(logdir: str, reference: str) -> Optional[str]:
    """Asserts every checkpoint file under its final name is complete and
    the latest named one equals the reference's of that step; returns it."""
    from slimtorch._io.atomic import is_temp_file
    from slimtorch.checkpoint import latest_checkpoint, trainer_state_path
    for name in os.listdir(logdir):
        if name.endswith(".safetensors") and not is_temp_file(name):
            _read_all(os.path.join(logdir, name))   # raises if half-written
    latest = latest_checkpoint(logdir)
    if latest is None:
        return None
    expected = os.path.join(reference, os.path.basename(latest))
    for mine, theirs in ((latest, expected),
                         (trainer_state_path(latest), trainer_state_path(expected))):
        if not _same(_read_all(mine), _read_all(theirs)):
            raise AssertionError(f"{mine} differs from the uninterrupted run's {theirs}")
    return latest


def _resumes(log_path: str) -> list:
    if not os.path.exists(log_path):
        return []
    with open(log_path) as f:
        return [(m.group(1), int(m.group(2))) for m in map(_RESUMED.search, f) if m]


def _writes_in_flight(logdir: str, pid: int) -> list:
    """The names of the files ``pid`` was writing in ``logdir``."""
    from slimtorch._io.atomic import TMP_MARKER, unfinished_writes
    found = []
    for name, owner in unfinished_writes(logdir):
        if owner != pid:
            continue
        path = os.path.join(logdir, name)
        if os.path.isdir(path):   # a staging directory: the file inside has the final name
            found += [n for n in os.listdir(path) if not n.startswith(".tmp")] or \
                ["(weights or trainer state: safetensors' own temp file)"]
        else:
            found.append(name.split(TMP_MARKER)[0])
    return found


def _latest_step(logdir: str) -> int:
    from slimtorch.checkpoint import latest_checkpoint
    latest = latest_checkpoint(logdir)   # the state file is replaced atomically
    return _step_of(latest) if latest else 0


def _kind(name: str) -> str:
    if name.endswith(".trainer.safetensors"):
        return "trainer state"
    if name.endswith(".safetensors"):
        return "weights"
    return "state file" if name == "checkpoint" else "weights or trainer state (unnamed yet)"


def run_kill_test(kills: int = 20, seed: int = 0, steps: Optional[int] = None,
                  write_delay: float = 0.01, max_delay: float = 0.25,
                  start_method: str = "forkserver", workdir: Optional[str] = None,
                  max_to_keep: int = 3, print_progress: bool = True) -> dict:
    """Runs the kill test; raises AssertionError on any violation and
    returns the counts (see :func:`summary`)."""
    from slimtorch.checkpoint import latest_checkpoint
    rng = random.Random(seed)
    steps = steps or 30 + 8 * kills
    workdir = workdir or tempfile.mkdtemp(prefix="kill_test-")
    os.makedirs(workdir, exist_ok=True)
    context = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # Imported once, in the server; torch._dynamo is what creating an optimizer imports.
        context.set_forkserver_preload(["torch", "torch._dynamo", "slimtorch"])
    reference, run = os.path.join(workdir, "uninterrupted"), os.path.join(workdir, "killed")

    def start(logdir, log_path, delay, keep):
        process = context.Process(target=train_job, args=(logdir, steps, log_path, delay, keep))
        process.start()
        return process

    started = time.monotonic()
    # The uninterrupted run keeps every checkpoint, to compare each resume with.
    straight = start(reference, os.path.join(workdir, "uninterrupted.log"), 0.0, 0)
    stats = {"kills": 0, "kills_during_writes": 0, "writes_hit": {}, "restarts": 0,
             "resumed_steps": [], "steps": steps, "seed": seed}
    expected_resume = None   # (path, step) the next process must resume from
    for attempt in range(kills + 1):
        log_path = os.path.join(workdir, f"killed-{attempt}.log")
        process = start(run, log_path, write_delay, max_to_keep)
        if attempt > 0:
            stats["restarts"] += 1
        if attempt == kills:   # the last one may finish
            process.join()
            break
        floor = expected_resume[1] if expected_resume else 0
        while process.is_alive() and _latest_step(run) <= floor:
            time.sleep(0.002)   # until this process made progress of its own
        aimed = rng.random() < 0.5
        deadline = time.monotonic() + rng.uniform(0, max_delay)
        while process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)
        while aimed and process.is_alive() and time.monotonic() < deadline + 2 and \
                not _writes_in_flight(run, process.pid):
            time.sleep(0.0005)
        if not process.is_alive():
            raise AssertionError(f"the job ended (exit code {process.exitcode}) before kill "
                                 f"{attempt + 1}: see {log_path}; if it finished, raise --steps")
        process.kill()   # SIGKILL
        process.join()
        stats["kills"] += 1
        hit = _writes_in_flight(run, process.pid)
        if hit:
            stats["kills_during_writes"] += 1
            for name in hit:
                stats["writes_hit"][_kind(name)] = stats["writes_hit"].get(_kind(name), 0) + 1
        _check_resume(log_path, expected_resume, stats)
        if straight.exitcode is None:   # the checks compare with it: let it finish
            straight.join()
            if straight.exitcode != 0:
                raise AssertionError(f"the uninterrupted run failed ({straight.exitcode})")
        latest = _check_directory(run, reference)
        expected_resume = (latest, _step_of(latest)) if latest else None
        if print_progress:
            print(f"kill {stats['kills']:2d}: {'aimed' if aimed else 'random'}, "
                  f"{'during a write of ' + ', '.join(hit) if hit else 'between writes'}; "
                  f"latest complete checkpoint: step {expected_resume[1] if latest else 0}",
                  flush=True)
    if process.exitcode != 0:
        raise AssertionError(f"the final run failed (exit code {process.exitcode}); see {log_path}")
    _check_resume(log_path, expected_resume, stats)
    final, straight_final = latest_checkpoint(run), latest_checkpoint(reference)
    if _step_of(final) != steps or _step_of(straight_final) != steps:
        raise AssertionError(f"final steps {final}, {straight_final}; expected {steps}")
    mine, theirs = _read_all(final)["tensors"], _read_all(straight_final)["tensors"]
    stats["final_max_abs_difference"] = max(
        float((mine[k].double() - theirs[k].double()).abs().max()) for k in theirs)
    stats["final_tensors"] = len(theirs)
    stats["final_bitwise_equal"] = all(torch.equal(mine[k], theirs[k]) for k in theirs)
    if not stats["final_bitwise_equal"]:
        raise AssertionError(f"final weights differ: max abs {stats['final_max_abs_difference']}")
    _check_nothing_left(run, max_to_keep, steps)
    stats["seconds"] = time.monotonic() - started
    return stats


def _check_resume(log_path: str, expected, stats: dict) -> None:
    """The process logging to ``log_path`` resumed from ``expected`` (or
    started fresh if None), once."""
    resumes = _resumes(log_path)
    if expected is None:
        if resumes:
            raise AssertionError(f"{log_path}: resumed from {resumes} with no checkpoint saved")
        return
    if not resumes:   # killed before it got that far: nothing to check
        if not os.path.exists(log_path):
            return
        with open(log_path) as f:
            if "job finished" in f.read():
                raise AssertionError(f"{log_path}: finished without resuming")
        return
    if resumes != [expected]:
        raise AssertionError(f"{log_path}: resumed from {resumes}, expected {expected}")
    stats["resumed_steps"].append(expected[1])


def _check_nothing_left(logdir: str, max_to_keep: int, steps: int) -> None:
    kept = [f"model.ckpt-{s}{suffix}" for s in range(steps - max_to_keep + 1, steps + 1)
            for suffix in (".safetensors", ".trainer.safetensors")]
    present = sorted(n for n in os.listdir(logdir) if not n.startswith("events.out"))
    if present != sorted(kept + ["checkpoint"]):
        raise AssertionError(f"{logdir} holds {present}, expected {sorted(kept + ['checkpoint'])}")


def summary(stats: dict) -> str:
    """The counts as a few lines of text (for the README)."""
    hits = ", ".join(f"{n} {kind}" for kind, n in sorted(stats["writes_hit"].items()))
    return "\n".join([
        f"kill test (seed {stats['seed']}, {stats['steps']} steps, a checkpoint every step):",
        f"  SIGKILLs: {stats['kills']}, {stats['kills_during_writes']} of them during a "
        f"checkpoint write ({hits or 'none'})",
        f"  restarts: {stats['restarts']}, each resumed from the latest complete checkpoint "
        f"(equal bit for bit to the uninterrupted run's of that step): "
        f"{len(stats['resumed_steps'])} resumes, at steps {stats['resumed_steps']}",
        f"  final weights vs the uninterrupted run: {stats['final_tensors']} tensors, "
        f"max abs difference {stats['final_max_abs_difference']:g} "
        f"({'bitwise equal' if stats['final_bitwise_equal'] else 'NOT equal'})",
        "  no partial checkpoint was ever loaded; no unfinished write or orphaned file left",
        f"  {stats['seconds']:.1f} s",
    ])


def job_command(logdir: str, steps: int, log_path: str, **options) -> list:
    """The command line that runs :func:`train_job` in a process of its own
    (``options``: its keyword arguments), for tests that signal it."""
    command = [sys.executable, os.path.abspath(__file__), "--job", logdir, "--steps", str(steps),
               "--log", log_path]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="global steps of the job (default 30 + 8 per kill)")
    parser.add_argument("--write-delay", type=float, default=None,
                        help="seconds the job sleeps before committing each file (default: 0.01 "
                             "in the kill test, 0 with --job)")
    parser.add_argument("--start-method", choices=["forkserver", "spawn"], default="forkserver")
    parser.add_argument("--workdir", default=None, help="keep the runs here (default: a temp dir)")
    job = parser.add_argument_group("one job, no kills (what the tests of Ctrl-C and SIGTERM "
                                    "run in a process of its own)")
    job.add_argument("--job", metavar="LOGDIR", help="train the job in LOGDIR for --steps and exit")
    job.add_argument("--log", default=os.devnull, help="the job's log file")
    job.add_argument("--max-to-keep", type=int, default=3)
    job.add_argument("--save-interval-steps", type=int, default=1)
    job.add_argument("--step-delay", type=float, default=0.0)
    job.add_argument("--log-every-n-steps", type=int, default=0)
    args = parser.parse_args(argv)
    if args.job:
        train_job(args.job, args.steps or 30, args.log, args.write_delay or 0.0, args.max_to_keep,
                  args.save_interval_steps, args.step_delay, args.log_every_n_steps)
        return
    stats = run_kill_test(args.kills, args.seed, args.steps,
                          0.01 if args.write_delay is None else args.write_delay,
                          start_method=args.start_method, workdir=args.workdir)
    print(summary(stats))


if __name__ == "__main__":
    main()
