"""Crash safety, end to end: ``train`` SIGKILLed at random moments (some
aimed at checkpoint writes in flight) and restarted on the same logdir
resumes each time from the latest complete checkpoint and ends with the
uninterrupted run's weights, bit for bit. The short version of
``scripts/kill_test.py`` (which does 20 kills)."""

import os
import pathlib
import shutil
import sys
import tempfile

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def _fast_directory(tmp_path):
    """Under /dev/shm where there is one: fsync on a real disk would be most
    of the test's time (a kill is not a power cut: fsync plays no part)."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return tempfile.mkdtemp(prefix="kill_test-", dir="/dev/shm")
    return str(tmp_path)


@pytest.mark.slow
def test_killed_and_restarted_training_equals_the_uninterrupted_run(tmp_path):
    sys.path.insert(0, str(SCRIPTS))   # the child processes import the job from there
    import kill_test

    workdir = _fast_directory(tmp_path)
    try:
        stats = kill_test.run_kill_test(kills=3, seed=2, steps=24, workdir=workdir,
                                        print_progress=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # run_kill_test itself asserted, after every kill, that each checkpoint
    # file is complete and the latest one equals the uninterrupted run's of
    # its step bit for bit, that the restart resumed from it, and at the end
    # that no unfinished write or orphaned file is left.
    assert stats["kills"] == 3 and stats["restarts"] == 3
    assert len(stats["resumed_steps"]) == 3
    assert stats["resumed_steps"] == sorted(stats["resumed_steps"])
    assert stats["kills_during_writes"] >= 1   # seed 2 aims its second kill at a write
    assert stats["final_bitwise_equal"] and stats["final_max_abs_difference"] == 0.0
    # conv1/weights, its batch norm's beta and moving mean and variance,
    # logits/weights and biases, global_step
    assert stats["final_tensors"] == 7
