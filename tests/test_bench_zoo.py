"""``scripts/bench_zoo.py`` without TensorFlow: its tables, the bf16 columns,
the profile, the targets table's verdicts and its flag errors (LeNet, one
repeat: the code paths, not the speed)."""

import importlib.util
import os

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, "scripts", "bench_zoo.py")


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_zoo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lenet_eval_train_bf16_and_profile(bench, capsys):
    bench.main(["--nets", "lenet", "--batch", "2", "--repeats", "1", "--warmup", "0",
                "--settle", "0", "--train", "--precision", "bf16", "--profile",
                "--profile-rows", "3"])
    out = capsys.readouterr().out
    tables = out[out.index("\nfp32 (ratios"):]
    # No torchvision pair for LeNet: its columns are dashes.
    assert "| lenet | eval | " in tables and "| – | – | – | – |" in tables
    assert "| lenet | train | " in tables
    # bf16 training is autocast and runs anywhere; bf16 eval goes through
    # slim.inference_model, which refuses on CPUs without BF16 (then: skipped).
    assert "| lenet | train | bf16 | " in tables
    assert "| lenet | eval | bf16 | " in tables or "lenet eval bf16: skipped" in tables
    for label in ("lenet eval slimtorch", "lenet train slimtorch", "lenet train slimtorch_bf16"):
        assert f"profile: {label} (2 calls; top 3 ops by self CPU time)" in out
    # Without --tf the TF-Slim targets are not measured; no torchvision pair either.
    assert "| lenet | – | – | – | – | – | – |" in tables


def test_targets_table_marks_each_bound(bench):
    results = {("n", "eval_tf"): 0.9, ("n", "eval_tv_cl"): 0.95, ("n", "bf16_speedup_tf"): 2.0,
               ("n", "int8_speedup_tf"): 2.4, ("n", "train_tf"): 0.5}
    row = bench.targets_table(results, ["n"]).splitlines()[-1]
    # ≤ 0.9 met at 0.9, ≤ 0.9 missed at 0.95, ≥ 2 met at 2.0, ≥ 2.5 missed at 2.4.
    assert row == "| n | 0.90 ✓ | 0.95 ✗ | 2.00 ✓ | 2.40 ✗ | 0.50 ✓ | – |"


@pytest.mark.parametrize("argv, message", [
    (["--precision", "fp16"], "expected a comma-separated list of bf16, int8, got 'fp16'"),
    (["--nets", "resnet50"], "--nets: unknown net resnet50"),
    (["--tf", "--device", "cuda"], "--tf compares on the CPU only"),
])
def test_flag_errors(bench, capsys, argv, message):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err
