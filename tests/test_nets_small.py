"""CifarNet and LeNet: end points, names, counts, options, dropout modes, and
the two places where NCHW could silently differ from TF: the flatten order
feeding ``fc3`` and CifarNet's LRN.

Expected names, counts and shapes were read off research/slim's nets in
TensorFlow (research/slim 2019).
"""

import pytest
import torch

import slimtorch as slim
from slimtorch.nets import cifarnet, lenet
from slimtorch.nets.cifarnet import _lrn

NETS = {
    "cifarnet": (cifarnet.cifarnet, cifarnet.cifarnet_arg_scope, 3),
    "lenet": (lenet.lenet, lenet.lenet_arg_scope, 1),
}


def build(name, batch=2, scope_kwargs=None, device="cpu", **kwargs):
    """Builds net ``name`` with its arg_scope; returns (model, images)."""
    fn, scope_fn, channels = NETS[name]
    size = fn.default_image_size
    with slim.arg_scope(scope_fn(**(scope_kwargs or {}))):
        model = slim.Model(fn, **kwargs).build((1, channels, size, size), device=device)
    return model, torch.rand(batch, channels, size, size, device=device)


def test_default_image_sizes():
    assert cifarnet.cifarnet.default_image_size == 32
    assert lenet.lenet.default_image_size == 28


@pytest.mark.parametrize("name, num_classes, expected", [
    ("cifarnet", 10, ["conv1", "pool1", "conv2", "pool2", "Flatten", "fc3", "fc4", "Logits",
                      "Predictions"]),
    ("cifarnet", None, ["conv1", "pool1", "conv2", "pool2", "Flatten", "fc3", "fc4"]),
    ("lenet", 10, ["conv1", "pool1", "conv2", "pool2", "Flatten", "fc3", "dropout3", "Logits",
                   "Predictions"]),
    ("lenet", 0, ["conv1", "pool1", "conv2", "pool2", "Flatten", "fc3"]),
])
def test_end_points_in_tf_slim_order(name, num_classes, expected):
    model, images = build(name, num_classes=num_classes, device="meta")
    output, end_points = model.eval()(images)
    assert list(end_points) == expected
    assert end_points["Logits" if num_classes else expected[-1]] is output


@pytest.mark.parametrize("name", ["cifarnet", "lenet"])
def test_predictions_are_the_softmax_of_the_logits(name):
    model, images = build(name)
    logits, end_points = model.eval()(images)
    torch.testing.assert_close(end_points["Predictions"], torch.softmax(logits, 1))


@pytest.mark.parametrize("name, shapes", [
    ("cifarnet", {"conv1": [2, 64, 32, 32], "pool1": [2, 64, 16, 16], "pool2": [2, 64, 8, 8],
                  "Flatten": [2, 4096], "fc3": [2, 384], "fc4": [2, 192], "Logits": [2, 10]}),
    ("lenet", {"conv1": [2, 32, 28, 28], "pool2": [2, 64, 7, 7], "Flatten": [2, 3136],
               "fc3": [2, 1024], "dropout3": [2, 1024], "Logits": [2, 10]}),
])
def test_end_point_shapes(name, shapes):
    model, images = build(name, device="meta")
    _, end_points = model.eval()(images)
    assert {k: list(end_points[k].shape) for k in shapes} == shapes


# TF shapes: conv [kh, kw, in, out] -> [out, in, kh, kw]; fc [in, out] -> [out, in].
@pytest.mark.parametrize("name, expected", [
    ("cifarnet", [("CifarNet/conv1/weights", [64, 3, 5, 5]), ("CifarNet/conv1/biases", [64]),
                  ("CifarNet/conv2/weights", [64, 64, 5, 5]), ("CifarNet/conv2/biases", [64]),
                  ("CifarNet/fc3/weights", [384, 4096]), ("CifarNet/fc3/biases", [384]),
                  ("CifarNet/fc4/weights", [192, 384]), ("CifarNet/fc4/biases", [192]),
                  ("CifarNet/logits/weights", [10, 192]), ("CifarNet/logits/biases", [10])]),
    ("lenet", [("LeNet/conv1/weights", [32, 1, 5, 5]), ("LeNet/conv1/biases", [32]),
               ("LeNet/conv2/weights", [64, 32, 5, 5]), ("LeNet/conv2/biases", [64]),
               ("LeNet/fc3/weights", [1024, 3136]), ("LeNet/fc3/biases", [1024]),
               ("LeNet/fc4/weights", [10, 1024]), ("LeNet/fc4/biases", [10])]),
])
def test_variables_match_tf_slim(name, expected):
    model, _ = build(name, device="meta")
    assert [(k, list(v.shape)) for k, v in model.named_variables().items()] == expected


@pytest.mark.parametrize("name, num_classes, variables, losses, params", [
    ("cifarnet", 10, 10, 2, 1756426),   # fc3, fc4 regularized; conv and logits not
    ("cifarnet", None, 8, 2, 1754496),
    ("lenet", 10, 8, 0, 3274634),       # weight_decay=0.0 disables the regularizer
    ("lenet", None, 6, 0, 3264384),
])
def test_counts_match_tf_slim(name, num_classes, variables, losses, params):
    model, _ = build(name, num_classes=num_classes, device="meta")
    assert len(slim.get_model_variables()) == variables
    assert len(slim.losses.get_regularization_losses()) == losses
    assert sum(v.numel() for v in model.variables()) == params


def test_weight_decay_reaches_the_regularized_layers():
    build("lenet", scope_kwargs={"weight_decay": 0.01}, device="meta")
    assert len(slim.losses.get_regularization_losses()) == 4
    slim.reset_default_graph()
    model, _ = build("cifarnet", scope_kwargs={"weight_decay": 0.5})
    fc3 = model.named_variables()["CifarNet/fc3/weights"]
    penalties = slim.losses.get_regularization_losses()
    assert penalties[0].item() == pytest.approx(0.5 * fc3.pow(2).sum().item() / 2, rel=1e-5)


def test_initializers_follow_the_arg_scope():
    model, _ = build("cifarnet", num_classes=10)
    variables = model.named_variables()
    assert (variables["CifarNet/fc3/biases"] == 0.1).all()
    assert (variables["CifarNet/logits/biases"] == 0).all()
    assert (variables["CifarNet/conv1/biases"] == 0).all()
    fc3 = variables["CifarNet/fc3/weights"]
    assert fc3.abs().max() <= 2 * 0.04 and fc3.std().item() == pytest.approx(0.04 * 0.88, rel=0.05)
    logits = variables["CifarNet/logits/weights"]
    assert logits.abs().max() <= 2 / 192.0


@pytest.mark.parametrize("name", ["cifarnet", "lenet"])
def test_flatten_feeds_fc3_in_tf_nhwc_order(name):
    """fc3 applied to TF's NHWC flatten of pool2, with the weights in TF layout
    ([in, out] = slimtorch's transposed), must give slimtorch's fc3."""
    model, images = build(name)
    _, end_points = model.eval()(images)
    pool2 = end_points["pool2"]
    nhwc_flat = pool2.permute(0, 2, 3, 1).reshape(pool2.shape[0], -1)
    torch.testing.assert_close(end_points["Flatten"], nhwc_flat)
    prefix = "CifarNet" if name == "cifarnet" else "LeNet"
    variables = model.named_variables()
    tf_weights = variables[f"{prefix}/fc3/weights"].detach().T
    expected = torch.relu(nhwc_flat @ tf_weights + variables[f"{prefix}/fc3/biases"])
    torch.testing.assert_close(end_points["fc3"], expected)


def _tf_lrn(x, depth_radius, bias, alpha, beta):
    """tf.nn.lrn's definition, channel by channel (channels are dim 1 here)."""
    channels = x.shape[1]
    out = torch.empty_like(x)
    for c in range(channels):
        window = x[:, max(0, c - depth_radius):min(channels, c + depth_radius + 1)]
        out[:, c] = x[:, c] / (bias + alpha * window.pow(2).sum(1)) ** beta
    return out


def test_lrn_is_tf_lrn():
    x = torch.randn(2, 11, 3, 4) * 3
    torch.testing.assert_close(_lrn(x), _tf_lrn(x, 4, 1.0, 0.001 / 9.0, 0.75))
    torch.testing.assert_close(_lrn(x, 2, 2.0, 0.5, 0.6), _tf_lrn(x, 2, 2.0, 0.5, 0.6))


@pytest.mark.parametrize("name", ["cifarnet", "lenet"])
def test_dropout_follows_mode_unless_is_training_is_given(name):
    model, images = build(name)
    model.eval()
    assert torch.equal(model(images)[0], model(images)[0])
    model.train()
    assert not torch.equal(model(images)[0], model(images)[0])
    torch.testing.assert_close(model(images, is_training=False)[0], model.eval()(images)[0])
    assert not torch.equal(model(images, is_training=True)[0], model(images, is_training=True)[0])


def test_custom_prediction_fn_and_scope():
    model, images = build("lenet", scope="mnist", num_classes=3,
                          prediction_fn=lambda logits, scope: torch.sigmoid(logits))
    logits, end_points = model.eval()(images)
    assert next(iter(model.named_variables())) == "mnist/conv1/weights"
    torch.testing.assert_close(end_points["Predictions"], torch.sigmoid(logits))
    assert logits.shape == (2, 3)


def test_wrong_input_size_names_the_layer():
    model, _ = build("lenet", device="meta")
    with pytest.raises(ValueError, match=r"LeNet/fc3: expected input of shape \[\.\.\., 3136\]"):
        model(torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="LeNet/conv1"):
        model(torch.zeros(1, 3, 28, 28))


