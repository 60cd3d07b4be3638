import pytest
import torch

import slimtorch as slim


@pytest.fixture(autouse=True)
def fresh_default_graph():
    """Each test starts with an empty default graph, like a new TF program."""
    slim.reset_default_graph()
    torch.manual_seed(0)
    yield
