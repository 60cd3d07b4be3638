"""Every ```python block of the README runs (so the README cannot rot)."""

import pathlib
import re

import slimtorch as slim

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    for block in blocks:
        slim.reset_default_graph()   # each block is its own program
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == ["32 vgg16/conv1/conv1_1/weights", "16", "torch.Size([2, 1000])",
                       "vgg16.conv1.conv1_1.weights"]
    metrics = [line.split(" has value")[0] for line in out[4:6]]
    assert metrics == ["Metric eval/mean_absolute_error", "Metric eval/mean_squared_error"]
    assert [line.split(":")[0] for line in out[6:]] == ["eval/accuracy", "eval/recall_5"]
