"""torch.compile sees a zoo net as one graph: no graph breaks, and one
compilation per mode (train/eval), not one per block (scope bookkeeping
is plain Python that dynamo can trace)."""

import pytest
import torch
import torch._dynamo as dynamo
from torch._dynamo.utils import counters

from slimtorch.nets import nets_factory


@pytest.mark.parametrize("name, size", [("cifarnet", 32),
                                        pytest.param("mobilenet_v2", 64, marks=pytest.mark.slow)])
def test_zoo_net_is_one_graph_and_compiles_once_per_mode(name, size):
    net = nets_factory.get_network_fn(name, 10)
    x = torch.randn(2, 3, size, size)
    net(x)   # build
    dynamo.reset()
    with torch.no_grad():
        explanation = dynamo.explain(net.eval())(x)
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0), \
        [reason.reason for reason in explanation.break_reasons]

    dynamo.reset()
    counters.clear()
    compiled = torch.compile(net, backend="eager")
    for mode in ("train", "eval", "train", "eval"):
        getattr(net, mode)()
        logits = compiled(x)[0]
        if mode == "eval":   # (a train-mode call would move the batch-norm averages)
            torch.testing.assert_close(logits, net(x)[0])
    assert counters["stats"]["unique_graphs"] == 2   # train and eval, nothing per block
