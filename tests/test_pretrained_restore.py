"""Restoring converted pretrained weights: strict, with the class-count and
background-class cases fine-tuning needs (slimtorch.pretrained.restore)."""

import pytest
import torch

import slimtorch as slim
from slimtorch.checkpoint import CheckpointError, save_checkpoint
from slimtorch.nets import nets_factory
from slimtorch.pretrained import restore_from_file

LENET_INPUT = (1, 1, 28, 28)


def _lenet(num_classes):
    with slim.Graph():
        return nets_factory.get_network_fn("lenet", num_classes).build(LENET_INPUT)


def _saved(tmp_path, num_classes, drop=(), seed=0):
    torch.manual_seed(seed)
    source = _lenet(num_classes)
    with torch.no_grad():
        for var in source.parameters():
            var.normal_()
    tensors = {n: v for n, v in source.named_variables().items() if n not in drop}
    path = str(tmp_path / "lenet.safetensors")
    save_checkpoint(path, tensors)
    return source, path


def test_same_class_count_restores_every_variable_exactly(tmp_path):
    source, path = _saved(tmp_path, 10)
    net = _lenet(10)
    report = restore_from_file(net, path, checkpoint_classes=10, background=False)
    assert report.assigned == list(source.named_variables())
    assert report.left_out == [] and report.offset is False
    for name, var in net.named_variables().items():
        assert torch.equal(var, source.named_variables()[name]), name
    assert str(report) == f"restored 8 variables from {path}"


def test_another_class_count_leaves_the_logits_out_and_reports_them(tmp_path):
    source, path = _saved(tmp_path, 10)
    net = _lenet(5)
    fresh = {n: v.detach().clone() for n, v in net.named_variables().items()}
    report = restore_from_file(net, path, checkpoint_classes=10, background=False)
    logits = ["LeNet/fc4/weights", "LeNet/fc4/biases"]
    assert [name for name, _, _ in report.left_out] == logits
    assert report.left_out[0][1:] == ([10, 1024], [5, 1024])
    assert set(report.assigned) == set(source.named_variables()) - set(logits)
    for name in logits:   # left as initialized
        assert torch.equal(net.named_variables()[name], fresh[name])
    assert torch.equal(net.named_variables()["LeNet/conv1/weights"],
                       source.named_variables()["LeNet/conv1/weights"])
    assert "left out for the new class count: LeNet/fc4/weights, LeNet/fc4/biases" in str(report)


def test_background_class_is_dropped_for_one_class_fewer(tmp_path):
    source, path = _saved(tmp_path, 11)
    net = _lenet(10)
    report = restore_from_file(net, path, checkpoint_classes=11, background=True)
    assert report.offset is True and report.left_out == []
    assert torch.equal(net.named_variables()["LeNet/fc4/weights"],
                       source.named_variables()["LeNet/fc4/weights"][1:])
    assert torch.equal(net.named_variables()["LeNet/fc4/biases"],
                       source.named_variables()["LeNet/fc4/biases"][1:])
    # The logits agree with the source's minus its class 0.
    net.eval(), source.eval()
    x = torch.randn(3, *LENET_INPUT[1:])
    with torch.no_grad():
        torch.testing.assert_close(net(x)[0], source(x)[0][:, 1:])
    assert "background class dropped" in str(report)


def test_without_a_background_class_one_fewer_is_just_another_count(tmp_path):
    _, path = _saved(tmp_path, 11)
    report = restore_from_file(_lenet(10), path, checkpoint_classes=11, background=False)
    assert report.offset is False and len(report.left_out) == 2


def test_a_missing_or_misshaped_variable_fails_and_assigns_nothing(tmp_path):
    _, path = _saved(tmp_path, 10, drop=("LeNet/conv2/biases",))
    net = _lenet(10)
    before = {n: v.detach().clone() for n, v in net.named_variables().items()}
    with pytest.raises(CheckpointError) as error:
        restore_from_file(net, path, checkpoint_classes=10, background=False)
    assert "LeNet/conv2/biases: not in the checkpoint" in str(error.value)
    assert "nothing was assigned" in str(error.value)
    for name, var in net.named_variables().items():
        assert torch.equal(var, before[name]), name
    # A difference that is not the checkpoint's class count is a mistake too.
    _, path = _saved(tmp_path, 10)
    with pytest.raises(CheckpointError, match=r"LeNet/fc4/weights: checkpoint shape \[10, 1024\], "
                                              r"model shape \[5, 1024\]"):
        restore_from_file(_lenet(5), path, checkpoint_classes=7, background=False)


def test_excluded_scopes_are_not_restored(tmp_path):
    source, path = _saved(tmp_path, 10)
    net = _lenet(10)
    report = restore_from_file(net, path, 10, False, exclude_scopes=("LeNet/fc",))
    assert report.assigned == ["LeNet/conv1/weights", "LeNet/conv1/biases",
                               "LeNet/conv2/weights", "LeNet/conv2/biases"]
    assert not torch.equal(net.named_variables()["LeNet/fc3/weights"],
                           source.named_variables()["LeNet/fc3/weights"])


def test_a_list_of_variables_works_like_the_model(tmp_path):
    source, path = _saved(tmp_path, 10)
    with slim.Graph():
        net = nets_factory.get_network_fn("lenet", 10).build(LENET_INPUT)
        variables = slim.get_model_variables()
    report = restore_from_file(variables, path, 10, False)
    assert len(report.assigned) == 8
    assert torch.equal(net.named_variables()["LeNet/fc3/biases"],
                       source.named_variables()["LeNet/fc3/biases"])
