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
    assert out == ["32 vgg16/conv1/conv1_1/weights", "16", "torch.Size([2, 1000])",
                   "vgg16.conv1.conv1_1.weights"]
