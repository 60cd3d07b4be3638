"""``evaluation_loop`` racing a trainer: a checkpoint that disappears between
being listed and being read (retention deleted it), or that is truncated,
is skipped with a warning and the loop goes on to the next one."""

import logging
import os

import pytest
import torch
from test_evaluation import _built, _linear_net, _mean_prediction_eval, _save

import slimtorch as slim
from slimtorch import evaluation


def _loop_with(tmp_path, monkeypatch, caplog, on_first_read):
    """Evaluates ``tmp_path``, holding step 1 (weight 1), once ``on_first_read(path)``
    has run when step 1 is about to be read (it also writes step 2, weight 2);
    returns the loop's values and the warnings."""
    net = _built(_linear_net())
    metric, eval_op = _mean_prediction_eval(net)
    first = _save(tmp_path, net, 1, 1.0)
    real = evaluation.assign_from_checkpoint
    seen = []

    def racing_restore(path, variables, *args, **kwargs):
        seen.append(os.path.basename(path))
        if path == first:
            _save(tmp_path, net, 2, 2.0)   # the trainer goes on meanwhile
            return on_first_read(path, lambda: real(path, variables, *args, **kwargs))
        return real(path, variables, *args, **kwargs)
    monkeypatch.setattr(evaluation, "assign_from_checkpoint", racing_restore)
    with caplog.at_level(logging.WARNING, logger="slimtorch.evaluation"):
        values = slim.evaluation.evaluation_loop(
            str(tmp_path), None, [torch.ones(1, 2)], eval_op=eval_op, metrics={"m": metric},
            eval_interval_secs=0, timeout=2, max_number_of_evaluations=1, quiet=True,
            device=None)
    assert seen == ["model.ckpt-1.safetensors", "model.ckpt-2.safetensors"]
    return values, [r.getMessage() for r in caplog.records]


def _deleted_before_reading(path, read):
    os.remove(path)   # retention, between listing and reading
    return read()


def _deleted_after_restoring(path, read):
    result = read()
    os.remove(path)   # before its global step is read
    return result


def _truncated(path, read):
    with open(path, "r+b") as f:   # the header is intact, the data is cut short
        f.truncate(os.path.getsize(path) - 4)
    return read()


@pytest.mark.parametrize("race", [_deleted_before_reading, _deleted_after_restoring,
                                  _truncated], ids=["deleted-before-reading",
                                                    "deleted-after-restoring", "truncated"])
def test_a_checkpoint_that_vanishes_or_is_truncated_is_skipped(tmp_path, monkeypatch, caplog,
                                                              race):
    values, warnings = _loop_with(tmp_path, monkeypatch, caplog, race)
    assert values == {"m": 4.0}   # step 2 was evaluated: weight 2 times a width of 2
    skipped = [w for w in warnings if w.startswith("evaluation_loop: skipping")]
    assert len(skipped) == 1 and "model.ckpt-1.safetensors" in skipped[0]
