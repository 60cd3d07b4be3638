"""The benchmark scripts stay runnable (timings are not asserted)."""

import importlib.util
import pathlib

SCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "scripts"


def load(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_overhead_runs_and_checks_equal_outputs(capsys):
    bench = load("bench_overhead")
    for case in ("a", "b"):
        bench.build_pair(case)  # asserts slimtorch == hand-written outputs
    bench.main(["--case", "b", "--repeats", "1", "--steps", "1", "--warmup", "0"])
    out = capsys.readouterr().out
    assert "| (b) MLP 50x64 b8 |" in out
