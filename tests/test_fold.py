"""slim.fold_batch_norms: the same outputs without batch-norm layers."""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights


@pytest.mark.slow
@pytest.mark.parametrize("name, size", [("resnet_v1_50", 64), ("inception_v3", 107)])
def test_folded_net_matches_and_original_is_untouched(name, size):
    net = nets_factory.get_network_fn(name, 10)
    net.build((1, 3, size, size))
    assign_random_weights(net)   # non-trivial moving averages, gamma and beta
    net.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        reference = net(x)[0]
        before = {k: v.clone() for k, v in net.named_variables().items()}
        fast = slim.fold_batch_norms(net)
        folded = [m for m in fast.modules() if getattr(m, "folded", False)]
        assert folded, "no batch norm was folded"
        torch.testing.assert_close(fast(x)[0], reference, rtol=1e-4, atol=1e-4)
    for key, value in net.named_variables().items():
        assert torch.equal(value, before[key]), key
    assert not any(getattr(m, "folded", False) for m in net.modules())


def test_folding_by_hand_and_training_refuses():
    net = slim.Model(lambda x: slim.conv2d(x, 2, [1, 1], normalizer_fn=slim.batch_norm,
                                           normalizer_params={"scale": True}, scope="c"))
    net.build(torch.zeros(1, 1, 2, 2))
    with torch.no_grad():
        net.c.weights.fill_(2.0)
        net.c.BatchNorm.moving_mean.copy_(torch.tensor([1.0, 2.0]))
        net.c.BatchNorm.moving_variance.copy_(torch.tensor([4.0, 9.0]))
        net.c.BatchNorm.gamma.copy_(torch.tensor([3.0, 1.0]))
        net.c.BatchNorm.beta.copy_(torch.tensor([0.5, -1.0]))
    fast = slim.fold_batch_norms(net)
    eps = 1e-3
    scale = torch.tensor([3.0, 1.0]) / torch.sqrt(torch.tensor([4.0, 9.0]) + eps)
    torch.testing.assert_close(fast.c.weights.detach().flatten(), 2.0 * scale)
    torch.testing.assert_close(fast.c.biases.detach(),
                               torch.tensor([0.5, -1.0]) - torch.tensor([1.0, 2.0]) * scale)
    x = torch.ones(1, 1, 2, 2)
    relu = torch.relu(2.0 * scale - torch.tensor([1.0, 2.0]) * scale + torch.tensor([0.5, -1.0]))
    torch.testing.assert_close(fast(x)[0, :, 0, 0], relu)
    fast.train()
    with pytest.raises(RuntimeError, match="c/BatchNorm: this batch norm was folded"):
        fast(x)


@pytest.mark.slow
def test_optimize_for_inference_compiles_the_folded_net():
    net = nets_factory.get_network_fn("cifarnet", 10)
    net.build((1, 3, 32, 32))
    assign_random_weights(net)
    net.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        reference = net(x)[0]
        fast = slim.optimize_for_inference(net)
        torch.testing.assert_close(fast(x)[0], reference, rtol=1e-4, atol=1e-4)
    assert slim.optimize_for_inference(net, compile=False).training is False
