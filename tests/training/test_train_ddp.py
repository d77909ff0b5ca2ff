"""DDP on CPU: 2 gloo processes launched by torch elastic train exactly like 1 process with the whole batch.

The stand-in network has no BatchNorm on purpose: BN normalises each process's shard with that
shard's own statistics, so with BN the two runs would differ by design (the reference's DataParallel
has the same property), and the test would no longer isolate what it checks: the batch split and the
gradient averaging. The loss is a per-sample mean with a learnable parameter, like FairMOT's s_det/s_id,
so the loss module's own parameter group is averaged across processes too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from fairmot.errors import ConfigError
from fairmot.training import (
    TrainConfig,
    TrainParts,
    launch,
    load_checkpoint,
    per_process_batch,
    plan_launch,
    run_worker,
)
from tests.training.standins import TinyLoss, TinyNet, engine_config


class TinyData(Dataset):
    """Each item a fixed function of its index, so every process sees the same data."""

    def __init__(self, n: int = 16) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(1000 + index)
        x = torch.rand(3, 8, 8, generator=g)
        return {"input": x, "target": x[:2] * 2 - 1}


def tiny_parts(config: TrainConfig) -> TrainParts:
    return TrainParts(TinyNet(), TinyLoss(), TinyData(16), meta={"arch": "tiny", "nID": 0})


def tiny_config(out: Path, **overrides) -> TrainConfig:
    settings = dict(batch_size=4, num_epochs=2, num_workers=0, lr=0.01, lr_step=[1], seed=7, build=tiny_parts)
    settings.update(overrides)
    return engine_config(out, **settings)


def test_two_gloo_processes_end_with_the_weights_of_one_process_with_the_whole_batch(tmp_path):
    single = tiny_config(tmp_path / "single")
    summary_1 = launch(run_worker, single, plan_launch([], nproc=1))
    double = tiny_config(tmp_path / "double")
    plan = plan_launch([], nproc=2)
    assert plan.mode == "elastic" and plan.world_size == 2
    summary_2 = launch(run_worker, double, plan)

    one = load_checkpoint(tmp_path / "single" / "model.pt")
    two = load_checkpoint(tmp_path / "double" / "model.pt")
    # 16 images, global batch 4: 4 steps per epoch, 2 epochs
    assert (summary_1.steps, summary_2.steps) == (8, 8)
    assert (summary_1.world_size, summary_2.world_size) == (1, 2)
    torch.manual_seed(7)
    initial = TinyNet().state_dict()
    for name, value in one["model"].items():
        assert not torch.allclose(value, initial[name]), f"{name} did not train"
        torch.testing.assert_close(two["model"][name], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(two["loss"]["s"], one["loss"]["s"], rtol=1e-5, atol=1e-6)
    assert one["loss"]["s"].item() != pytest.approx(-0.5)
    # losses are averaged over the processes for logging: the same epoch averages either way
    for key in ("loss", "mse", "s"):
        assert summary_2.losses[key] == pytest.approx(summary_1.losses[key], rel=1e-5, abs=1e-6)
    # the checkpoint keeps one RNG state per process
    assert len(two["rng"]["ranks"]) == 2 and len(one["rng"]["ranks"]) == 1


def test_global_batch_splits_evenly_or_names_batch_and_world_size():
    assert per_process_batch(144, 8) == 18
    assert per_process_batch(4, 2) == 2
    with pytest.raises(ConfigError, match=r"batch_size 3 .*world size 2"):
        per_process_batch(3, 2)


def test_launch_plan_follows_gpus_nproc_and_the_torchrun_environment():
    assert plan_launch([], 1, environ={}).mode == "in-process"
    cpu = plan_launch([], 3, environ={})
    assert (cpu.mode, cpu.world_size, cpu.nproc, cpu.gpus) == ("elastic", 3, 3, ())
    torchrun = plan_launch([], 1, environ={"RANK": "5", "WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8"})
    assert (torchrun.mode, torchrun.world_size, torchrun.rank) == ("external", 16, 5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_gpus_without_cuda_is_a_config_error_naming_the_fix():
    with pytest.raises(ConfigError, match=r"gpus: 0 asks for CUDA GPUs.*gpus: -1"):
        plan_launch([0], 1, environ={})
