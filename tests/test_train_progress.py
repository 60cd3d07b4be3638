"""What ``slim.learning.train`` tells its user: progress by default (log
lines on stderr when the program configured no logging, TF-Slim style),
without touching a logging configuration the program has; and one line for
a run that is already finished."""

import contextlib
import logging

import torch

import slimtorch as slim


def _train(logdir=None, steps=4, init_fn=None, calls=None):
    model = slim.Model(lambda x: slim.fully_connected(x, 1, activation_fn=None, scope="fc"))

    def total_loss(batch):
        if calls is not None:
            calls.append(list(logging.getLogger("slimtorch").handlers))
        slim.losses.mean_squared_error(model(batch[0]), batch[1])
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.SGD(p, lr=0.1))
    return slim.learning.train(train_op, logdir, [(torch.ones(2, 3), torch.zeros(2, 1))],
                               number_of_steps=steps, log_every_n_steps=2, progress=False,
                               init_fn=init_fn)


@contextlib.contextmanager
def _no_logging_configured():
    """As in a plain script: no handler anywhere (pytest's own capture
    handlers on the root logger are put back afterwards, in the same list)."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers.extend(saved)


def test_without_logging_configured_progress_goes_to_stderr(capsys):
    package = logging.getLogger("slimtorch")
    with _no_logging_configured():
        _train()
    err = capsys.readouterr().err.splitlines()
    steps = [line for line in err if "global step" in line]
    assert [line.split(":")[2] for line in steps] == ["global step 2", "global step 4"]
    assert steps[0].startswith("INFO:slimtorch.learning:global step 2: loss = ")
    assert any(line.startswith("INFO:slimtorch.learning:train: 4 steps in") for line in err)
    assert package.handlers == [] and package.level == logging.NOTSET   # all put back


def test_a_programs_logging_configuration_is_left_alone(capsys):
    """A handler on the root logger (what logging.basicConfig makes): the
    records reach it once each, slimtorch adds no handler of its own."""
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())
    root, handler = logging.getLogger(), Collect()
    with _no_logging_configured():
        root.addHandler(handler)
        level, root.level = root.level, logging.INFO
        try:
            seen = []
            _train(calls=seen)
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
    assert all(handlers == [] for handlers in seen)   # nothing added while training
    assert sum(message.startswith("global step 2:") for message in records) == 1
    assert "global step" not in capsys.readouterr().err


def test_a_level_set_on_slimtorch_is_respected(capsys):
    package = logging.getLogger("slimtorch")
    package.setLevel(logging.WARNING)
    try:
        with _no_logging_configured():
            _train()
    finally:
        package.setLevel(logging.NOTSET)
    assert "global step" not in capsys.readouterr().err


def test_a_finished_run_says_so_in_one_line_and_does_nothing(tmp_path, caplog):
    assert _train(str(tmp_path), steps=3) is not None
    slim.reset_default_graph()
    calls, inits = [], []
    with caplog.at_level(logging.INFO, logger="slimtorch"):
        result = _train(str(tmp_path), steps=3, init_fn=lambda: inits.append(1), calls=calls)
    assert result is None
    assert calls == [] and inits == []   # no model built, no step, no init_fn
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path} already holds a finished run (global step 3 >= number_of_steps 3); "
        "nothing to train — delete it or use another logdir/--train_dir to start fresh"]
    assert slim.get_global_step() is None
    # A higher number_of_steps trains on.
    assert _train(str(tmp_path), steps=5) is not None
