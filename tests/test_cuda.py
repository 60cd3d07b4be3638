"""CUDA: the zoo, layers and checkpoints on a GPU give the CPU's numbers.

Skipped without a CUDA device; ``scripts/gpu_check.sh`` runs them on one.
TF32 is switched off so float32 results are comparable to the CPU's.
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import save_checkpoint
from slimtorch.nets import nets_factory
from slimtorch.testing import assign_random_weights, relative_error

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


@pytest.fixture(autouse=True)
def no_tf32():
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def built(name, device, classes=10):
    network_fn = nets_factory.get_network_fn(name, classes)
    size = network_fn.default_image_size
    network_fn.build((1, network_fn.input_channels, size, size), device="meta")
    network_fn.to_empty(device=device)
    assign_random_weights(network_fn)
    return network_fn.eval(), size


@pytest.mark.parametrize("name", ["vgg_16", "inception_v3", "resnet_v1_50", "resnet_v2_50",
                                  "mobilenet_v1", "mobilenet_v2", "inception_resnet_v2", "lenet"])
def test_zoo_net_on_cuda_matches_cpu(name):
    with slim.Graph():
        cpu, size = built(name, "cpu")
    with slim.Graph():
        gpu, _ = built(name, "cuda")
    images = torch.randn(2, cpu.input_channels, size, size)
    with torch.no_grad():
        expected, _ = cpu(images)
        actual, points = gpu(images.cuda())
        channels_last, _ = gpu.to(memory_format=torch.channels_last)(
            images.cuda().contiguous(memory_format=torch.channels_last))
    assert all(v.is_cuda for v in points.values() if isinstance(v, torch.Tensor))
    assert relative_error(actual.cpu().numpy(), expected.numpy()) <= 1e-4
    assert relative_error(channels_last.cpu().numpy(), expected.numpy()) <= 1e-4


def test_bf16_autocast_forward_is_close():
    network_fn, size = built("resnet_v1_50", "cuda")
    images = torch.randn(4, 3, size, size, device="cuda")
    with torch.no_grad():
        reference, _ = network_fn(images)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            fast, _ = network_fn(images)
    assert fast.dtype == torch.bfloat16
    assert relative_error(fast.float().cpu().numpy(), reference.cpu().numpy()) <= 5e-2


def test_batch_norm_training_updates_on_cuda_match_cpu():
    def net(x):
        return slim.batch_norm(slim.conv2d(x, 8, [3, 3], activation_fn=None, scope="conv"),
                               decay=0.9, scale=True, scope="bn")
    x = torch.randn(8, 3, 9, 9)
    results = []
    for device in ("cpu", "cuda"):
        with slim.Graph():
            torch.manual_seed(0)
            model = slim.Model(net).build((1, 3, 9, 9)).to(device)
            y = model(x.to(device))
            results.append((y.detach().cpu(), model.bn.moving_variance.detach().cpu()))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


def test_restore_into_cuda_variables(tmp_path):
    path = str(tmp_path / "w.safetensors")
    with slim.Graph():
        cpu, _ = built("mobilenet_v1_025", "cpu")
        save_checkpoint(path, cpu.named_variables())
        expected = dict(cpu.named_variables())
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("mobilenet_v1_025", 10)
        network_fn.build((1, 3, 224, 224), device="meta").materialize("cuda")
        slim.assign_from_checkpoint(path, network_fn)
        for name, var in network_fn.named_variables().items():
            assert var.is_cuda and torch.equal(var.cpu(), expected[name]), name


def test_training_step_on_cuda_with_compile():
    network_fn, size = built("mobilenet_v2_035", "cuda")
    network_fn.train()
    compiled = torch.compile(network_fn)
    optimizer = torch.optim.SGD(network_fn.parameters(), lr=0.01)
    images = torch.randn(4, 3, size, size, device="cuda")
    labels = torch.randint(0, 10, (4,), device="cuda")
    losses = []
    for _ in range(3):
        logits, _ = compiled(images)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("scale, center", [(False, True), (True, False), (False, False)])
def test_batch_norm_without_gamma_or_beta_trains_on_cuda(scale, center):
    """Inception's batch norm has no gamma: its backward must work with cuDNN."""
    def net(x):
        return slim.batch_norm(x, scale=scale, center=center, scope="bn")
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    grads = []
    for device in ("cpu", "cuda"):
        with slim.Graph():
            model = slim.Model(net).build((1, 3, 5, 5)).to(device).train()
            xd = x.detach().to(device).requires_grad_()
            (model(xd) ** 2).sum().backward()
            grads.append(xd.grad.cpu())
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("precision", [None, "bf16", "fp16"])
def test_train_moves_everything_to_cuda_and_trains(tmp_path, precision):
    torch.manual_seed(0)
    model = slim.Model(lambda x: slim.fully_connected(
        slim.batch_norm(slim.fully_connected(x, 16, scope="h"), scale=True, scope="bn"), 1,
        activation_fn=None, scope="out"))

    def total_loss(batch):
        x, y = batch
        slim.losses.mean_squared_error(model(x), y)
    train_op = slim.learning.create_train_op(total_loss, lambda p: torch.optim.Adam(p, lr=0.01),
                                             mixed_precision=precision)
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)) for _ in range(4)]
    first = slim.learning.train(train_op, str(tmp_path), data, number_of_steps=1,
                                log_every_n_steps=0)   # device='auto': CUDA here
    last = slim.learning.train(train_op, str(tmp_path), data, number_of_steps=60,
                               log_every_n_steps=0)
    assert all(v.is_cuda for v in slim.get_variables())
    assert last < first
    assert (train_op.scaler is not None) == (precision == "fp16")


METRIC_CASES = [   # (factory, inputs): predictions, labels (and weights)
    (lambda: slim.metrics.streaming_accuracy(), "ids"),
    (lambda: slim.metrics.streaming_auc(), "scores"),
    (lambda: slim.metrics.streaming_dynamic_auc(), "scores"),
    (lambda: slim.metrics.streaming_mean_iou(num_classes=5), "ids"),
    (lambda: slim.metrics.streaming_recall_at_k(k=2), "logits"),
    (lambda: slim.metrics.streaming_pearson_correlation(), "values"),
    (lambda: slim.metrics.streaming_mean_absolute_error(), "values"),
    (lambda: slim.metrics.streaming_concat(), "concat"),
]


def _metric_inputs(kind, device):
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (64,), generator=g)
    inputs = {"ids": (torch.randint(0, 5, (64,), generator=g), labels),
              "scores": (torch.rand(64, generator=g), torch.randint(0, 2, (64,), generator=g)),
              "logits": (torch.randn(64, 5, generator=g), labels),
              "values": (torch.randn(64, generator=g), torch.randn(64, generator=g)),
              "concat": (torch.randn(64, 3, generator=g),)}[kind]
    return [t.to(device) for t in inputs]


@pytest.mark.parametrize("make, kind", METRIC_CASES)
def test_metrics_keep_their_state_on_cuda_and_match_cpu(make, kind):
    values = {}
    for device in ("cpu", "cuda"):
        metric = make()
        inputs = _metric_inputs(kind, device)
        for chunk in range(0, 64, 16):
            metric.update(*[t[chunk:chunk + 16] for t in inputs])
        assert all(v.device.type == device for v in metric.variables().values())
        values[device] = metric.value()
    torch.testing.assert_close(values["cuda"].cpu(), values["cpu"], rtol=1e-5, atol=1e-6)


def test_evaluate_once_on_cuda(tmp_path):
    network_fn = nets_factory.get_network_fn("lenet", 10)
    network_fn.build((1, 1, 28, 28))
    path = str(tmp_path / "model.ckpt-3.safetensors")
    save_checkpoint(path, network_fn.named_variables(), global_step=3)
    accuracy = slim.metrics.streaming_accuracy()

    def eval_op(batch):
        images, labels = batch
        assert images.is_cuda
        accuracy.update(network_fn(images)[0].argmax(1), labels)
    data = [(torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))) for _ in range(2)]
    values = slim.evaluation.evaluate_once(path, None, data, eval_op=eval_op,
                                           metrics={"acc": accuracy}, device="cuda", quiet=True)
    assert 0.0 <= values["acc"] <= 1.0
    assert accuracy.variables()["accuracy/total"].is_cuda
