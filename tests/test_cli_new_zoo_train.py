"""Issue 18's acceptance: ``slimtorch train --model_name=<net>
--dataset_name=synthetic --max_number_of_steps=2`` runs for every net added
to the factory with research/slim's rest of the zoo. Batch 2 instead of 32
(NASNet-A Large and PNASNet-5 Large at 331x331 need more than 24 GB for a
batch of 32; the README lists the measured memory)."""

import pytest

import slimtorch as slim
from slimtorch import cli
from slimtorch.checkpoint import latest_checkpoint, load_checkpoint

NEW_NETS = ("nasnet_cifar", "nasnet_mobile", "nasnet_large", "pnasnet_mobile", "pnasnet_large",
            "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v3_small_minimalistic",
            "mobilenet_v3_large_minimalistic", "mobilenet_edgetpu", "mobilenet_edgetpu_075",
            "i3d", "s3dg")


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW_NETS)
def test_new_net_trains_two_steps_on_synthetic_data(name, tmp_path, capsys):
    slim.reset_default_graph()
    train_dir = tmp_path / name
    assert cli.main(["train", f"--model_name={name}", "--dataset_name=synthetic",
                     "--max_number_of_steps=2", "--batch_size=2", f"--train_dir={train_dir}",
                     "--log_every_n_steps=0", "--device=cpu",
                     "--num_preprocessing_threads=0"]) == 0
    assert f"trained to global step 2 in {train_dir}" in capsys.readouterr().out
    with load_checkpoint(latest_checkpoint(str(train_dir))) as reader:
        assert reader.global_step == 2
