"""slim.learning.train under torchrun: 2 CPU processes (gloo over 127.0.0.1)
equal one process on the same global batches."""

import subprocess
import sys

import pytest
import torch
from torchrun_job import clean_env, run_ranks

import slimtorch as slim

RANK_SCRIPT = """
import sys, torch, slimtorch as slim
from safetensors.torch import save_file
out, logdir, mode = sys.argv[1], sys.argv[2], sys.argv[3]
torch.manual_seed(0)
def net(x):
    if mode == "unused":   # a trainable variable the loss never reaches
        slim.variable("spare", shape=[3], initializer=slim.ones_initializer())
    x = slim.fully_connected(x, 8, weights_regularizer=slim.l2_regularizer(0.01), scope="h")
    if mode == "batch_norm":
        x = slim.batch_norm(x, scale=True, decay=0.5, scope="bn")
    return slim.fully_connected(x, 1, activation_fn=None, scope="out")
model = slim.Model(net)
g = torch.Generator().manual_seed(1)
data = [(torch.randn(4, 3, generator=g), torch.randn(4, 1, generator=g)) for _ in range(12)]
if len(sys.argv) > 4:   # the single-process reference: pairs of batches concatenated
    data = [(torch.cat([data[i][0], data[i + 1][0]]), torch.cat([data[i][1], data[i + 1][1]]))
            for i in range(0, len(data), 2)]
def total_loss(batch):
    x, y = batch
    slim.losses.mean_squared_error(model(x), y)
train_op = slim.learning.create_train_op(
    total_loss, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    gradient_accumulation_steps=2 if mode == "accumulate" else 1)
# Shows that train ran the step through DDP (and with which find_unused_parameters).
class RecordingDDP(torch.nn.parallel.DistributedDataParallel):
    def __init__(self, *args, **kwargs):
        print("DDP find_unused_parameters =", kwargs.get("find_unused_parameters", False))
        super().__init__(*args, **kwargs)
torch.nn.parallel.DistributedDataParallel = RecordingDDP
slim.learning.train(train_op, logdir, data, number_of_steps=3 if mode == "accumulate" else 6, save_interval_steps=3,
                    log_every_n_steps=0, device=None, sync_batch_norm=(mode == "batch_norm"))
rank = int(__import__("os").environ.get("RANK", 0))
save_file({k: v.detach().contiguous() for k, v in model.named_variables().items()},
          f"{out}/rank{rank}{'_single' if len(sys.argv) > 4 else ''}.safetensors")
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "batch_norm", "accumulate", "unused"])
def test_two_process_train_equals_one_process_on_the_global_batch(tmp_path, mode):
    """Each step runs through DistributedDataParallel. With
    sync_batch_norm=True even batch statistics (and the moving averages)
    match one process on the global batch; gradient accumulation averages
    once per update; a trainable variable the loss never uses switches DDP
    to find_unused_parameters instead of hanging or skipping an average."""
    from safetensors.torch import load_file

    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    codes, outputs = run_ranks([script, tmp_path, tmp_path / "ddp_run", mode], timeout=180)
    assert codes == [0, 0], outputs
    wrapped = [line for line in outputs[0].splitlines() if line.startswith("DDP ")]
    expected = ["False", "True"] if mode == "unused" else ["False"]
    assert [line.split("= ")[1] for line in wrapped] == expected, outputs[0]
    subprocess.run([sys.executable, str(script), str(tmp_path), str(tmp_path / "single_run"),
                    mode, "single"], env=clean_env(), check=True, timeout=180)

    rank0, rank1 = (load_file(tmp_path / f"rank{r}.safetensors") for r in range(2))
    single = load_file(tmp_path / "rank0_single.safetensors")
    for name, value in single.items():
        assert torch.equal(rank0[name], rank1[name]), name            # ranks stay in sync
        error = (rank0[name] - value).norm() / value.norm()
        assert error <= 1e-6, (name, float(error))
    if mode == "batch_norm":
        assert "bn/moving_variance" in single
    # Only the chief wrote checkpoints, and they hold the final step.
    ckpt = slim.checkpoint.latest_checkpoint(str(tmp_path / "ddp_run"))
    steps = 3 if mode == "accumulate" else 6
    assert ckpt.endswith(f"model.ckpt-{steps}.safetensors")
    assert int(slim.checkpoint.load_checkpoint(ckpt).get_tensor("global_step")) == steps
