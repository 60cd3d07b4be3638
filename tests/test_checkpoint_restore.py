"""Partial restore (assign_from_checkpoint) from every format, with layouts."""

import pytest
import torch
import torch.nn.functional as F

import slimtorch as slim
from slimtorch.checkpoint import CheckpointError, CheckpointManager, save_checkpoint


def small_net(x, num_classes=10):
    with slim.arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm,
                        normalizer_params={"scale": True}):
        with slim.variable_scope("net"):
            x = slim.conv2d(x, 4, [3, 3], scope="conv1")
            x = slim.separable_conv2d(x, None, [3, 3], depth_multiplier=2, scope="dw")
            x = slim.flatten(x)
            return slim.fully_connected(x, num_classes, activation_fn=None, scope="logits")


def build(num_classes=10):
    model = slim.Model(small_net, num_classes=num_classes).build((1, 3, 6, 6))
    return model


def saved(model, path):
    save_checkpoint(str(path), dict(model.named_variables()))
    return str(path)


def test_round_trip_through_a_fresh_model_is_bit_exact(tmp_path):
    with slim.Graph():
        source = build()
        path = saved(source, tmp_path / "a.safetensors")
        values = {k: v.detach().clone() for k, v in source.named_variables().items()}
    with slim.Graph():
        target = build()
        report = slim.assign_from_checkpoint(path, slim.get_variables())
        assert report.assigned == list(values) and not report.missing and not report.skipped
        for name, var in target.named_variables().items():
            assert torch.equal(var, values[name]), name


def test_fine_tune_idiom_excludes_the_logits(tmp_path):
    with slim.Graph():
        path = saved(build(num_classes=1000), tmp_path / "pretrained.safetensors")
    with slim.Graph():
        target = build(num_classes=20)
        before = target.net.logits.weights.detach().clone()
        variables = slim.get_variables_to_restore(exclude=["net/logits"])
        assert not any(v.name.startswith("net/logits") for v in variables)
        init_fn = slim.assign_from_checkpoint_fn(path, variables)
        report = init_fn()
        assert "net/conv1/weights" in report.assigned
        assert torch.equal(target.net.logits.weights, before)   # untouched


def test_rename_dict_maps_checkpoint_names(tmp_path):
    with slim.Graph():
        source = build()
        path = saved(source, tmp_path / "a.safetensors")
        expected = source.net.conv1.weights.detach().clone()
    with slim.Graph():
        def other(x):
            return slim.conv2d(x, 4, [3, 3], scope="renamed/conv")
        target = slim.Model(other).build((1, 3, 6, 6))
        slim.assign_from_checkpoint(path, {"net/conv1/weights": target.renamed.conv.weights})
        assert torch.equal(target.renamed.conv.weights, expected)


def test_strict_errors_list_every_problem_and_assign_nothing(tmp_path):
    with slim.Graph():
        path = saved(build(num_classes=1000), tmp_path / "a.safetensors")
    with slim.Graph():
        target = build(num_classes=20)
        extra = slim.model_variable("net/extra", shape=[3])
        before = target.net.conv1.weights.detach().clone()
        with pytest.raises(CheckpointError) as info:
            slim.assign_from_checkpoint(path, slim.get_variables())
        message = str(info.value)
        assert "a.safetensors (3 problems; nothing was assigned)" in message
        assert "net/extra: not found in the checkpoint" in message
        assert ("net/logits/weights: checkpoint shape [1000, 288] (torch layout), "
                "model shape [20, 288]") in message
        assert "net/logits/biases: checkpoint shape [1000]" in message
        assert torch.equal(target.net.conv1.weights, before)
        report = slim.assign_from_checkpoint(path, slim.get_variables(), ignore_missing_vars=True,
                                             skip_mismatched_shapes=True)
        assert report.missing == ["net/extra"]
        assert [s[0] for s in report.skipped] == ["net/logits/weights", "net/logits/biases"]
        assert not torch.equal(target.net.conv1.weights, before)
        assert extra.shape == (3,)


def test_empty_var_list_raises(tmp_path):
    path = str(tmp_path / "x.safetensors")
    with slim.Graph():
        with pytest.raises(ValueError, match="no variables yet: build the model first"):
            slim.assign_from_checkpoint_fn(path, [])   # nothing built: the likely cause
        build()
        with pytest.raises(ValueError, match="^assign_from_checkpoint_fn: var_list is empty"):
            slim.assign_from_checkpoint_fn(path, [])
        with pytest.raises(ValueError, match="^assign_from_checkpoint: no variables yet"):
            slim.assign_from_checkpoint(path, slim.Model(lambda x: x))   # an unbuilt model


def test_missing_checkpoint_names_the_path(tmp_path):
    with slim.Graph():
        build()
        with pytest.raises(CheckpointError, match="checkpoint not found: .*nope.safetensors"):
            slim.assign_from_checkpoint(str(tmp_path / "nope.safetensors"), slim.get_variables())
        with pytest.raises(CheckpointError, match="no checkpoint found in directory"):
            slim.assign_from_checkpoint(str(tmp_path), slim.get_variables())


def test_reshape_variables_allows_same_element_count(tmp_path):
    path = str(tmp_path / "a.safetensors")
    save_checkpoint(path, {"v": torch.arange(6.)})
    with slim.Graph():
        var = slim.variable("v", shape=[2, 3])
        with pytest.raises(CheckpointError, match=r"v: checkpoint shape \[6\]"):
            slim.assign_from_checkpoint(path, [var])
        slim.assign_from_checkpoint(path, [var], reshape_variables=True)
        assert var.tolist() == [[0, 1, 2], [3, 4, 5]]


def test_directory_restores_its_latest_checkpoint(tmp_path):
    with slim.Graph():
        model = build()
        manager = CheckpointManager(str(tmp_path))
        for step in (1, 2):
            with torch.no_grad():
                model.net.conv1.weights.fill_(step)
            manager.save(dict(model.named_variables()), step)
        with torch.no_grad():
            model.net.conv1.weights.zero_()
        slim.assign_from_checkpoint(str(tmp_path), slim.get_model_variables())
        assert (model.net.conv1.weights == 2).all()


def test_pytorch_state_dict_files_by_key_and_with_ddp_prefix(tmp_path):
    with slim.Graph():
        source = build()
        plain, wrapped = tmp_path / "plain.pt", tmp_path / "ddp.pt"
        torch.save(source.state_dict(), plain)
        torch.save({"module." + k: v for k, v in source.state_dict().items()}, wrapped)
        expected = source.net.dw.depthwise_weights.detach().clone()
    for path in (plain, wrapped):
        with slim.Graph():
            target = build()
            slim.assign_from_checkpoint(str(path), slim.get_variables())
            assert torch.equal(target.net.dw.depthwise_weights, expected)


def test_pickled_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.ones(1), "x": Evil()}, path)
    with slim.Graph():
        var = slim.variable("w", shape=[1])
        with pytest.raises(CheckpointError, match="not a readable PyTorch weights file"):
            slim.assign_from_checkpoint(str(path), [var])


def test_tf_layouts_are_converted_by_layer_type(tmp_path):
    """A TF-layout file (HWIO conv, [in, out] dense, [kh, kw, in, mult] depthwise)
    restores into torch layouts and computes what TF's layouts compute."""
    torch.manual_seed(1)
    conv_hwio = torch.randn(3, 3, 3, 4)
    dw_hwim = torch.randn(3, 3, 4, 2)
    dense_io = torch.randn(6 * 6 * 8, 5)
    path = str(tmp_path / "tf.safetensors")
    save_checkpoint(path, {"c/weights": conv_hwio, "d/depthwise_weights": dw_hwim,
                           "f/weights": dense_io}, metadata={"layout": "tf"})

    def net(x):
        x = slim.conv2d(x, 4, [3, 3], activation_fn=None, biases_initializer=None, scope="c")
        x = slim.separable_conv2d(x, None, [3, 3], depth_multiplier=2, activation_fn=None,
                                  biases_initializer=None, scope="d")
        return slim.fully_connected(slim.flatten(x), 5, activation_fn=None,
                                    biases_initializer=None, scope="f")
    with slim.Graph():
        model = slim.Model(net).build((1, 3, 6, 6))
        slim.assign_from_checkpoint(path, slim.get_variables())
        x = torch.randn(2, 3, 6, 6)
        # Reference in TF's own terms: NHWC tensors, HWIO kernels.
        y = F.conv2d(x, conv_hwio.permute(3, 2, 0, 1), padding=1)
        dw = dw_hwim.permute(2, 3, 0, 1).reshape(8, 1, 3, 3)   # channel c*mult + m
        y = F.conv2d(y, dw, padding=1, groups=4)
        expected = y.permute(0, 2, 3, 1).reshape(2, -1) @ dense_io
        torch.testing.assert_close(model(x), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_guide_fine_tuning_vgg16_from_1000_to_20_classes(tmp_path):
    """The guide's idiom on the real VGG16: restore all but fc8 from 1000 classes."""
    from slimtorch.nets import nets_factory

    path = str(tmp_path / "vgg_16_1000.safetensors")
    with slim.Graph():
        pretrained = nets_factory.get_network_fn("vgg_16", 1000)
        pretrained.build((1, 3, 224, 224), device="meta").materialize("cpu")
        save_checkpoint(path, pretrained.named_variables())
        conv5 = pretrained.vgg_16.conv5.conv5_3.weights.detach().clone()
        del pretrained
    with slim.Graph():
        network_fn = nets_factory.get_network_fn("vgg_16", 20)
        network_fn.build((1, 3, 224, 224), device="meta").materialize("cpu")
        variables = slim.get_variables_to_restore(exclude=["vgg_16/fc8"])
        assert len(variables) == 30
        report = slim.assign_from_checkpoint_fn(path, variables)()
        assert len(report.assigned) == 30
        assert torch.equal(network_fn.vgg_16.conv5.conv5_3.weights, conv5)
        assert network_fn.vgg_16.fc8.weights.shape == (20, 4096, 1, 1)


def test_tf_transposed_conv_kernel_is_converted(tmp_path):
    """TF's conv2d_transpose kernel is [kh, kw, out, in]; torch's [in, out, kh, kw]."""
    torch.manual_seed(2)
    kernel_tf = torch.randn(3, 3, 5, 4)       # 4 input channels -> 5 outputs
    path = str(tmp_path / "t.safetensors")
    save_checkpoint(path, {"up/weights": kernel_tf}, metadata={"layout": "tf"})

    def net(x):
        return slim.conv2d_transpose(x, 5, [3, 3], stride=2, padding="VALID", activation_fn=None,
                                     biases_initializer=None, scope="up")
    with slim.Graph():
        model = slim.Model(net).build((1, 4, 6, 6))
        slim.assign_from_checkpoint(path, slim.get_variables())
        x = torch.randn(2, 4, 6, 6)
        expected = F.conv_transpose2d(x, kernel_tf.permute(3, 2, 0, 1), stride=2)
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
