"""slim.losses: TF-Slim's numbers (reference §4 and loss_ops_test), cross-checks
against torch.nn.functional, the LOSSES collection, errors and gradients."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim

P = torch.tensor([[4., 8., 12.], [8., 1., 3.]])
L = torch.tensor([[1., 9., 2.], [-5., -2., 6.]])
ALL_WRONG = torch.tensor([[0., 0., 1.], [1., 0., 0.], [0., 1., 0.]])  # for logits 10·I3


def close(loss, value, tol=1e-3):
    return abs(float(torch.as_tensor(loss).detach()) - float(value)) < tol


# -- TF-Slim's numeric acceptance values ------------------------------------------
@pytest.mark.parametrize("weights, expected", [
    (1.0, 5.5),
    (2.3, 5.5 * 2.3),
    (torch.tensor([1.2, 0.0]), 5.6),
    (torch.tensor([[1.2], [0.0]]), 5.6),
    (torch.tensor([[3., 6., 5.], [0., 4., 2.]]), 16.6),
    (torch.tensor([[0., 0., 0.], [0., 0., 2.]]), 6.0),
    (torch.zeros(2, 3), 0.0),
    (0.0, 0.0),
])
def test_absolute_difference(weights, expected):
    assert close(slim.losses.absolute_difference(P, L, weights), expected)


def test_mean_squared_error_and_alias():
    assert close(slim.losses.mean_squared_error(P, L), 49.5)
    assert slim.losses.sum_of_squares is slim.losses.mean_squared_error
    assert close(slim.losses.mean_squared_error(P, L, [1.2, 0.0]), (9 + 1 + 100) * 1.2 / 3)


def test_mean_pairwise_squared_error():
    assert close(slim.losses.mean_pairwise_squared_error(P, L), 128.444)
    per_sample = torch.tensor([41.3333, 87.1111])  # summed over samples, not averaged
    assert close(slim.losses.mean_pairwise_squared_error(P, L, 2.3), 2.3 * per_sample.sum(), 1e-2)
    assert close(slim.losses.mean_pairwise_squared_error(P, L, [2.0, 1.0]),
                 2 * per_sample[0] + per_sample[1], 1e-2)
    assert close(slim.losses.mean_pairwise_squared_error(P, L, [[0.0], [3.0]]), 3 * per_sample[1], 1e-2)
    assert slim.losses.mean_pairwise_squared_error(P, L, 0.0).item() == 0
    assert slim.losses.mean_pairwise_squared_error(P, L, [0.0, 0.0]).item() == 0
    assert slim.losses.mean_pairwise_squared_error(L, L).item() == 0


def test_mean_pairwise_squared_error_matches_its_definition_and_is_additive():
    p, l = torch.rand(4, 3, 5), torch.rand(4, 3, 5)
    d = (p - l).reshape(4, -1)
    pairs = (d[:, :, None] - d[:, None, :]).square().sum((1, 2)) / d.shape[1] ** 2
    assert torch.allclose(slim.losses.mean_pairwise_squared_error(p, l), pairs.sum(), rtol=1e-5)
    halves = [slim.losses.mean_pairwise_squared_error(p[i:i + 2], l[i:i + 2]) for i in (0, 2)]
    assert torch.allclose(halves[0] + halves[1], slim.losses.mean_pairwise_squared_error(p, l))


@pytest.mark.parametrize("weights, expected", [
    (1.0, 10.0),
    (2.3, 23.0),
    (torch.tensor([1.2, 3.4, 5.6]), 34.0),
    (torch.tensor([[1.2], [3.4], [5.6]]), 34.0),
    (torch.tensor([1.2, 0.0, 0.0]), 12.0),
    (torch.zeros(3), 0.0),
])
def test_softmax_cross_entropy(weights, expected):
    assert close(slim.losses.softmax_cross_entropy(10 * torch.eye(3), ALL_WRONG, weights), expected)
    labels = ALL_WRONG.argmax(1)
    assert close(slim.losses.sparse_softmax_cross_entropy(10 * torch.eye(3), labels, weights), expected)
    assert close(slim.losses.sparse_softmax_cross_entropy(
        10 * torch.eye(3), labels[:, None].int(), weights), expected)


def test_softmax_all_correct_and_label_smoothing():
    assert slim.losses.softmax_cross_entropy(100 * torch.eye(3), torch.eye(3)).item() < 1e-30
    logits, onehot = torch.tensor([[100., -100., -100.]]), torch.tensor([[1., 0., 0.]])
    assert close(slim.losses.softmax_cross_entropy(logits, onehot, label_smoothing=0.1), 400 * 0.1 / 3)


def test_sigmoid_cross_entropy():
    logits, labels = torch.tensor([[100., -100., -100.]]), torch.tensor([[1., 0., 1.]])
    assert close(slim.losses.sigmoid_cross_entropy(logits, labels), 33.333)
    assert close(slim.losses.sigmoid_cross_entropy(logits, labels, label_smoothing=0.1), 35.0)
    weights = torch.tensor([[3., 0., 1.]])  # per element: the wrong one counts once
    assert close(slim.losses.sigmoid_cross_entropy(logits, labels, weights), 100 / 2)
    assert slim.losses.sigmoid_cross_entropy(100 * (2 * torch.eye(3) - 1), torch.eye(3)).item() < 1e-30


def test_sigmoid_smoothing_equals_two_class_softmax():
    # TF-Slim's testSigmoidLabelSmoothingEqualsSoftmaxTwoLabel
    logits, labels = torch.tensor([[100., -100., 100.]]), torch.tensor([[1., 0., 1.]])
    sigmoid = slim.losses.sigmoid_cross_entropy(logits, labels, label_smoothing=0.1)
    two_class_logits = torch.stack([torch.zeros(3), logits[0]], 1)
    two_class_labels = torch.stack([1 - labels[0], labels[0]], 1)
    softmax = slim.losses.softmax_cross_entropy(two_class_logits, two_class_labels, label_smoothing=0.1)
    assert torch.allclose(sigmoid, softmax, atol=1e-4)


def test_log_loss():
    p = torch.tensor([[.9, .2, .2], [.8, .4, .6]])
    l = torch.tensor([[1., 0., 1.], [1., 0., 0.]])
    assert close(slim.losses.log_loss(p, l), 0.59803, 1e-5)
    elementwise = -l * torch.log(p + 1e-7) - (1 - l) * torch.log(1 - p + 1e-7)
    weights = torch.tensor([[3., 6., 5.], [0., 4., 2.]])
    assert close(slim.losses.log_loss(p, l, weights), (elementwise * weights).sum() / 5, 1e-5)
    assert slim.losses.log_loss(l, l).item() < 1e-5


def test_cosine_distance():
    p = torch.tensor([[0., 0., 1.], [1., 0., 0.]])
    l = torch.tensor([[0., 0., 1.], [0., 1., 0.]])
    assert slim.losses.cosine_distance(p, l, axis=1).item() == 0.5
    assert slim.losses.cosine_distance(p, l, dim=1).item() == 0.5  # deprecated name
    # TF-Slim's CosineDistanceLossTest: [3, 2, 3] unit vectors, integer values
    p = torch.tensor([[1, 0, 0], [0, 0, -1], [1, 0, 0], [1, 0, 0], [0, 0, -1], [1, 0, 0]]).reshape(3, 2, 3)
    l = torch.tensor([[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]]).reshape(3, 2, 3)
    assert slim.losses.cosine_distance(l, l, axis=2).item() == 0
    assert slim.losses.cosine_distance(p, l, axis=2).item() == 1.0
    assert slim.losses.cosine_distance(p, l, axis=2, weights=[1, 0, 0]).item() == 1.0
    measurement = torch.tensor([1, 0, 0, 1, 1, 1]).reshape(3, 2)
    assert slim.losses.cosine_distance(p, l, axis=2, weights=measurement).item() == 0.75
    assert slim.losses.cosine_distance(p, l, axis=2, weights=torch.zeros(3, 2)).item() == 0


def test_hinge_loss_is_elementwise_and_not_collected():
    losses = slim.losses.hinge_loss(torch.tensor([[-0.7, -1.4, 1.4, 0.6]]), torch.tensor([[0., 0., 1., 1.]]))
    assert torch.allclose(losses, torch.tensor([[0.3, 0.0, 0.0, 0.4]]))
    losses = slim.losses.hinge_loss(torch.tensor([1.2, 0.4, -1.0, -1.1]), torch.tensor([1., 0., 0., 1.]))
    assert torch.allclose(losses, torch.tensor([0.0, 1.4, 0.0, 2.1]))
    assert slim.losses.get_losses() == []
    loss = slim.losses.compute_weighted_loss(losses)
    assert close(loss, 3.5 / 4) and slim.losses.get_losses()[0] is loss


def test_compute_weighted_loss():
    losses = torch.tensor([[1., 2.], [3., 4.]])
    assert slim.losses.compute_weighted_loss(losses, torch.tensor([[1.], [0.]])).item() == 1.5
    assert slim.losses.compute_weighted_loss(losses, torch.tensor([1., 0.])).item() == 1.5
    assert slim.losses.compute_weighted_loss(losses).item() == 2.5
    assert slim.losses.compute_weighted_loss(losses, torch.zeros(2, 2)).item() == 0
    # [B, d1] weights on [B, d1, d2] losses: each weight covers d2 elements
    losses3 = torch.arange(12.).reshape(2, 3, 2)
    w = torch.tensor([[1., 0., 2.], [0., 0., 1.]])
    expected = (losses3 * w[:, :, None]).sum() / (3 * 2)
    assert close(slim.losses.compute_weighted_loss(losses3, w), expected, 1e-5)
    # size-1 weight dimensions count every element they broadcast to
    assert slim.losses.compute_weighted_loss(losses, [2.0]).item() == 5.0
    # a list works; integer losses give a float32 mean, not a truncated one
    mean = slim.losses.compute_weighted_loss([[1, 2], [3, 4]], [[1], [0]])
    assert mean.dtype == torch.float32 and mean.item() == 1.5


# -- independent cross-checks against torch.nn.functional ------------------------
def weighted_mean(elementwise, weights):
    weights = weights.reshape(weights.shape + (1,) * (elementwise.dim() - weights.dim()))
    weights = weights.expand_as(elementwise)
    return (elementwise * weights).sum() / (weights != 0).sum()


def random_weights(*shape):
    w = torch.rand(*shape) * 3
    return w * (torch.rand(*shape) > 0.3)  # some exact zeros


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_softmax_matches_torch(smoothing):
    logits, classes, w = torch.randn(16, 7) * 4, torch.randint(0, 7, (16,)), random_weights(16)
    reference = weighted_mean(F.cross_entropy(logits, classes, reduction="none",
                                              label_smoothing=smoothing), w)
    onehot = F.one_hot(classes, 7)
    assert torch.allclose(slim.losses.softmax_cross_entropy(logits, onehot, w, smoothing), reference)
    if smoothing == 0:
        assert torch.allclose(slim.losses.sparse_softmax_cross_entropy(logits, classes, w), reference)


def test_per_pixel_softmax_takes_classes_last():
    logits_nchw, classes = torch.randn(2, 5, 4, 3), torch.randint(0, 5, (2, 4, 3))
    reference = F.cross_entropy(logits_nchw, classes)
    onehot = F.one_hot(classes, 5)  # [N, H, W, C]
    loss = slim.losses.softmax_cross_entropy(logits_nchw.permute(0, 2, 3, 1), onehot)
    assert torch.allclose(loss, reference)
    w = random_weights(2, 4, 3)  # per pixel
    loss = slim.losses.softmax_cross_entropy(logits_nchw.permute(0, 2, 3, 1), onehot, w)
    assert torch.allclose(loss, weighted_mean(F.cross_entropy(logits_nchw, classes, reduction="none"), w))
    flat = slim.losses.sparse_softmax_cross_entropy(
        logits_nchw.permute(0, 2, 3, 1).reshape(-1, 5), classes.reshape(-1))
    assert torch.allclose(flat, reference)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_sigmoid_matches_torch(smoothing):
    logits, labels = torch.randn(8, 5) * 3, (torch.rand(8, 5) > 0.5).float()
    smoothed = labels * (1 - smoothing) + 0.5 * smoothing
    elementwise = F.binary_cross_entropy_with_logits(logits, smoothed, reduction="none")
    for w in (random_weights(8), random_weights(8, 5)):
        loss = slim.losses.sigmoid_cross_entropy(logits, labels, w, label_smoothing=smoothing)
        assert torch.allclose(loss, weighted_mean(elementwise, w))


def test_regression_losses_match_torch():
    p, l, w = torch.randn(6, 4, 3), torch.randn(6, 4, 3), random_weights(6, 4)
    assert torch.allclose(slim.losses.absolute_difference(p, l), F.l1_loss(p, l))
    assert torch.allclose(slim.losses.mean_squared_error(p, l), F.mse_loss(p, l))
    assert torch.allclose(slim.losses.mean_squared_error(p, l, w),
                          weighted_mean(F.mse_loss(p, l, reduction="none"), w))
    a, b = F.normalize(p, dim=2), F.normalize(l, dim=2)
    assert torch.allclose(slim.losses.cosine_distance(a, b, axis=2, weights=w),
                          weighted_mean(1 - F.cosine_similarity(a, b, dim=2), w))
    prob, target = torch.rand(6, 4).clamp(0.01, 0.99), torch.rand(6, 4)
    assert torch.allclose(slim.losses.log_loss(prob, target),
                          F.binary_cross_entropy(prob, target), rtol=1e-4)


# -- the LOSSES collection -------------------------------------------------------
def test_losses_are_collected_in_order():
    a = slim.losses.absolute_difference(P, L)
    b = slim.losses.softmax_cross_entropy(10 * torch.eye(3), ALL_WRONG)
    c = slim.losses.mean_pairwise_squared_error(P, L)
    slim.losses.hinge_loss(P, (L > 0).float())
    assert [x is y for x, y in zip(slim.losses.get_losses(), [a, b, c])] == [True] * 3
    assert len(slim.losses.get_losses()) == 3
    assert close(slim.losses.get_total_loss(), 5.5 + 10.0 + 128.444, 1e-2)


def test_loss_collection_argument_and_arg_scope():
    slim.losses.mean_squared_error(P, L, loss_collection=None)
    slim.losses.compute_weighted_loss(P, loss_collection=None)
    assert slim.losses.get_losses() == []
    mine = slim.losses.log_loss(torch.rand(2, 2), torch.rand(2, 2), loss_collection="mine")
    assert slim.losses.get_losses() == [] and slim.losses.get_losses(loss_collection="mine")[0] is mine
    with slim.arg_scope([slim.losses.add_loss], loss_collection=None):  # TF-Slim's testNoCollectLosses
        logits, labels = torch.tensor([[1.2, 0.4, -1.0, -1.1]] * 2), torch.tensor([[1.0, 0.0, 0.0, 1.0]] * 2)
        slim.losses.absolute_difference(logits, labels)
        slim.losses.log_loss(logits, labels)
        slim.losses.mean_squared_error(logits, labels)
        slim.losses.sigmoid_cross_entropy(logits, labels)
        slim.losses.softmax_cross_entropy(logits, labels)
    assert slim.losses.get_losses() == []


def test_total_loss_adds_regularization():
    slim.variable("w", initializer=[1.0, 2.0, 3.0], regularizer=slim.l2_regularizer(0.5))
    loss = slim.losses.mean_squared_error(P, L)
    assert close(slim.losses.get_total_loss(), 49.5 + 3.5)
    assert close(slim.losses.get_total_loss(add_regularization_losses=False), 49.5)
    assert slim.losses.get_losses()[0] is loss


def test_losses_inside_a_model_reach_the_caller():
    def fn(x):
        net = slim.fully_connected(x, 3, activation_fn=None, scope="fc")
        slim.losses.softmax_cross_entropy(net, torch.eye(3)[:2])
        return net
    model = slim.Model(fn)
    model(torch.randn(2, 4))
    assert len(slim.losses.get_losses()) == 1


# -- errors ----------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: slim.losses.absolute_difference(P, L[:, :2]),
     r"absolute_difference: predictions of shape \[2, 3\] and labels of shape \[2, 2\]"),
    (lambda: slim.losses.mean_squared_error(P), "mean_squared_error: labels are required"),
    (lambda: slim.losses.log_loss(P, L, weights=None), "log_loss: weights must not be None"),
    (lambda: slim.losses.mean_squared_error(P, L, torch.ones(2, 4)),
     r"mean_squared_error: weights of shape \[2, 4\] do not fit the losses of shape \[2, 3\]"),
    (lambda: slim.losses.mean_squared_error(P, L, torch.ones(3)), r"\[2\], \[2, 1\], \[2, 3\]"),
    (lambda: slim.losses.softmax_cross_entropy(10 * torch.eye(3), ALL_WRONG, torch.ones(3, 3)),
     r"softmax_cross_entropy: weights of shape \[3, 3\] do not fit the losses of shape \[3\]"),
    (lambda: slim.losses.softmax_cross_entropy(torch.ones(3), torch.ones(3)),
     r"softmax_cross_entropy: logits must be \[batch_size, num_classes\]"),
    (lambda: slim.losses.softmax_cross_entropy(torch.eye(3), torch.eye(4)[:3]),
     r"logits of shape \[3, 3\] and onehot_labels of shape \[3, 4\]"),
    (lambda: slim.losses.sigmoid_cross_entropy(torch.eye(3), torch.eye(3), torch.ones(4)),
     "sigmoid_cross_entropy: weights"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.eye(3), torch.tensor([0., 1., 2.])),
     "sparse_softmax_cross_entropy: labels must be integer class ids"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.eye(3), torch.tensor([0, 1, 2, 0])),
     r"labels must have shape \[3\] or \[3, 1\] for logits of shape \[3, 3\], got \[4\]"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.eye(3), torch.zeros(3, 2, dtype=torch.long)),
     r"got \[3, 2\]"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.eye(3), torch.tensor([0, 3, -1])),
     r"labels must be class ids in \[0, 3\), got values in \[-1, 3\]"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.eye(3), torch.tensor([0, 1, 2]), torch.ones(3, 3)),
     "sparse_softmax_cross_entropy: weights of shape"),
    (lambda: slim.losses.sparse_softmax_cross_entropy(torch.ones(2, 3, 4), torch.tensor([0, 1])),
     "sparse_softmax_cross_entropy: logits must be"),
    (lambda: slim.losses.mean_pairwise_squared_error(P, L, torch.ones(2, 3)),
     r"mean_pairwise_squared_error: weights of shape \[2, 3\]"),
    (lambda: slim.losses.cosine_distance(P, L), "cosine_distance: you must specify 'axis'"),
    (lambda: slim.losses.cosine_distance(P, L, axis=1, dim=0), "cannot specify both"),
    (lambda: slim.losses.cosine_distance(P, L, axis=2), "cosine_distance: axis 2 is out of range"),
    (lambda: slim.losses.hinge_loss(P, L[0]), "hinge_loss: logits of shape"),
    (lambda: slim.losses.compute_weighted_loss(P, weights=None), "compute_weighted_loss: weights"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
    assert slim.losses.get_losses() == []


# -- gradients, dtypes, devices --------------------------------------------------
ALL_LOSSES = {
    "absolute_difference": lambda x, w: slim.losses.absolute_difference(x, torch.zeros(4, 3), w),
    "mean_squared_error": lambda x, w: slim.losses.mean_squared_error(x, torch.zeros(4, 3), w),
    "mean_pairwise_squared_error":
        lambda x, w: slim.losses.mean_pairwise_squared_error(x, torch.zeros(4, 3), w),
    "log_loss": lambda x, w: slim.losses.log_loss(torch.sigmoid(x), torch.ones(4, 3), w),
    "cosine_distance": lambda x, w: slim.losses.cosine_distance(F.normalize(x, dim=1), torch.eye(4, 3),
                                                                axis=1, weights=w),
    "sigmoid_cross_entropy": lambda x, w: slim.losses.sigmoid_cross_entropy(x, torch.ones(4, 3), w, 0.1),
    "softmax_cross_entropy": lambda x, w: slim.losses.softmax_cross_entropy(x, torch.eye(4, 3), w, 0.1),
    "sparse_softmax_cross_entropy":
        lambda x, w: slim.losses.sparse_softmax_cross_entropy(x, torch.tensor([0, 1, 2, 0]), w),
}


@pytest.mark.parametrize("name", sorted(ALL_LOSSES))
@pytest.mark.parametrize("weights", [torch.tensor([1., 0., 2., 0.]), torch.zeros(4), 0.0])
def test_gradients_are_finite(name, weights):
    x = (torch.randn(4, 3) * 50).requires_grad_()
    loss = ALL_LOSSES[name](x, weights)
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss) and torch.isfinite(x.grad).all()
    if float(torch.as_tensor(weights).abs().sum()) == 0:
        assert loss.item() == 0 and (x.grad == 0).all()
    else:
        assert x.grad[1].abs().sum() == 0 and x.grad[0].abs().sum() > 0  # sample 1 has weight 0


def test_dtypes():
    half = (10 * torch.eye(3)).half()
    assert slim.losses.softmax_cross_entropy(half, ALL_WRONG).dtype == torch.float16
    assert slim.losses.sparse_softmax_cross_entropy(half, ALL_WRONG.argmax(1)).dtype == torch.float16
    assert slim.losses.hinge_loss(half, ALL_WRONG).dtype == torch.float16
    assert slim.losses.mean_squared_error(P.double(), L.double()).dtype == torch.float32  # as TF-Slim
    assert slim.losses.compute_weighted_loss(P.double()).dtype == torch.float64


def test_autocast_computes_in_float32():
    fc = torch.nn.Linear(8, 5)
    x, classes = torch.randn(16, 8), torch.randint(0, 5, (16,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = fc(x)
        assert logits.dtype == torch.bfloat16
        loss = slim.losses.sparse_softmax_cross_entropy(logits, classes)
    reference = F.cross_entropy(logits.float(), classes)
    assert loss.dtype == torch.bfloat16 and torch.allclose(loss.float(), reference, rtol=1e-2)
    loss.backward()
    assert torch.isfinite(fc.weight.grad).all()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_losses_on_cuda_match_cpu():
    logits, classes, w = torch.randn(32, 10), torch.randint(0, 10, (32,)), random_weights(32)
    cpu = [slim.losses.softmax_cross_entropy(logits, F.one_hot(classes, 10), w, 0.1),
           slim.losses.sparse_softmax_cross_entropy(logits, classes, w),
           slim.losses.sigmoid_cross_entropy(logits, F.one_hot(classes, 10), w),
           slim.losses.mean_pairwise_squared_error(logits, logits.flip(0), w)]
    gpu_logits = logits.cuda().requires_grad_()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        gpu = [slim.losses.softmax_cross_entropy(gpu_logits, F.one_hot(classes, 10).cuda(), w, 0.1),
               slim.losses.sparse_softmax_cross_entropy(gpu_logits, classes.cuda(), w.cuda()),
               slim.losses.sigmoid_cross_entropy(gpu_logits, F.one_hot(classes, 10).cuda(), w.cuda()),
               slim.losses.mean_pairwise_squared_error(gpu_logits, gpu_logits.flip(0), w.cuda())]
    for c, g in zip(cpu, gpu):
        assert g.device.type == "cuda" and torch.allclose(c, g.float().cpu(), rtol=1e-5)
    sum(gpu).backward()
    assert torch.isfinite(gpu_logits.grad).all()
