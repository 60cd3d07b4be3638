import pytest
import torch

import slimtorch as slim

# research/slim's dataset files, kept as test data (imported by the tests that use them).
collect_ignore = ["fixtures"]


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Each test starts with an empty default graph, like a new TF program."""
    slim.reset_default_graph()
    torch.manual_seed(0)
    yield
