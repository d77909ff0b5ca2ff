"""Resume: 1 epoch + `--resume` + 1 epoch ends with the weights of 2 epochs straight (CPU, same seed).

Checked twice: on a tiny stand-in (fast, and it also covers a Ctrl-C in the middle of an epoch) and on
the real pieces (dla_tiny, JointDataset with augmentation, FairMOTLoss) over the synthetic fixture.
"""

from __future__ import annotations

import functools
import os
import signal
from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from fairmot.config import Params
from fairmot.training import (
    CHECKPOINT_KEYS,
    TrainConfig,
    TrainingInterrupted,
    TrainParts,
    capture_rng,
    launch,
    load_checkpoint,
    plan_launch,
    restore_rng,
    run_worker,
)
from stages.train import DvcLiveLog
from tests.training.standins import TinyLoss, TinyNet, engine_config


class InterruptingData(Dataset):
    """Sends this process SIGINT (a Ctrl-C) while loading item `interrupt_at` of epoch `interrupt_epoch`."""

    def __init__(self, n: int, interrupt_epoch: int = 0, interrupt_at: int = -1) -> None:
        self.n, self.interrupt_epoch, self.interrupt_at, self.epoch = n, interrupt_epoch, interrupt_at, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if self.epoch == self.interrupt_epoch and index == self.interrupt_at:
            self.interrupt_at = -1  # once
            os.kill(os.getpid(), signal.SIGINT)
        g = torch.Generator().manual_seed(index)
        x = torch.rand(3, 8, 8, generator=g)
        return {"input": x, "target": x[:2].flip(0)}


def tiny_parts(config: TrainConfig, interrupt: tuple[int, int] = (0, -1)) -> TrainParts:
    return TrainParts(TinyNet(batchnorm=True), TinyLoss(), InterruptingData(12, *interrupt), meta={"arch": "tiny", "nID": 0})


def tiny_config(out: Path, **overrides) -> TrainConfig:
    settings = dict(metrics_log=DvcLiveLog(out / "live"), batch_size=3, num_epochs=2, num_workers=0, lr=0.01,
                    lr_step=[1], seed=11, build=tiny_parts)
    settings.update(overrides)
    return engine_config(out, **settings)


def train(config: TrainConfig):
    return launch(run_worker, config, plan_launch([], 1, environ={}))


def assert_same_state(a: dict, b: dict) -> None:
    for part in ("model", "loss"):
        assert a[part].keys() == b[part].keys()
        for name in a[part]:
            assert torch.equal(a[part][name], b[part][name]), f"{part}.{name} differs"
    assert a["epoch"] == b["epoch"]


def test_one_epoch_then_resume_equals_two_epochs_straight(tmp_path):
    straight = train(tiny_config(tmp_path / "a"))
    train(tiny_config(tmp_path / "b", num_epochs=1))
    resumed = train(tiny_config(tmp_path / "b", num_epochs=2, resume=True))
    a = load_checkpoint(tmp_path / "a" / "model.pt")
    b = load_checkpoint(tmp_path / "b" / "model.pt")
    assert_same_state(a, b)
    assert a["optimizer"]["state"][0]["step"] == b["optimizer"]["state"][0]["step"] == 8  # 4 steps x 2 epochs
    assert resumed.losses == straight.losses
    # lr dropped x0.1 after epoch 1 in both (loss-module group too)
    assert [g["lr"] for g in b["optimizer"]["param_groups"]] == pytest.approx([0.001, 0.001])


def test_ctrl_c_saves_mid_epoch_and_resume_still_matches_the_straight_run(tmp_path):
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the suite runs in the background
    straight = train(tiny_config(tmp_path / "a"))
    # item 4 of epoch 2 is loaded during step 2 of that epoch (batch 3); the step finishes, then it stops
    with pytest.raises(TrainingInterrupted, match=r"epoch 2 step 2.*--resume"):
        train(tiny_config(tmp_path / "b", build=functools.partial(tiny_parts, interrupt=(2, _index_in_step(2, step=2)))))
    saved = load_checkpoint(tmp_path / "b" / "model_last.pt")
    assert (saved["epoch"], saved["progress"]["step"], saved["progress"]["global_step"]) == (1, 2, 6)
    assert not (tmp_path / "b" / "model.pt").exists()
    resumed = train(tiny_config(tmp_path / "b", resume=True))
    assert_same_state(load_checkpoint(tmp_path / "a" / "model.pt"), load_checkpoint(tmp_path / "b" / "model.pt"))
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-12)
    assert signal.getsignal(signal.SIGINT) is before  # handler put back


def _index_in_step(epoch: int, step: int) -> int:
    """The first dataset index the seeded sampler puts in `step` of `epoch` (12 items, batch 3)."""
    from fairmot.training.sampler import ShardSampler

    sampler = ShardSampler(InterruptingData(12), world_size=1, rank=0, seed=11)
    sampler.set_epoch(epoch)
    return list(sampler)[(step - 1) * 3]


def test_checkpoint_is_one_weights_only_dict_with_the_contract_keys(tmp_path):
    train(tiny_config(tmp_path, num_epochs=1))
    for name in ("model_last.pt", "model.pt", "model_epoch1.pt"):  # lr_step [1]: the pre-drop copy too
        checkpoint = torch.load(tmp_path / name, weights_only=True)
        assert set(CHECKPOINT_KEYS) <= set(checkpoint)
        assert checkpoint["epoch"] == 1 and checkpoint["arch"] == "tiny" and checkpoint["scaler"] is None
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary left behind


def test_rng_states_survive_a_weights_only_round_trip_and_continue_every_stream():
    import io
    import random

    import numpy as np

    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    np.random.standard_normal(), random.gauss(0, 1)  # leave a cached gaussian in both
    buffer = io.BytesIO()
    torch.save(capture_rng(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    first = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    first += (np.random.standard_normal(), random.gauss(0, 1))
    restore_rng(state)
    again = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    again += (np.random.standard_normal(), random.gauss(0, 1))
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2:] == again[2:]


@pytest.mark.slow
def test_resume_with_real_dla_tiny_and_joint_dataset_matches_straight_run(tmp_path, tiny_dataset, tiny_labels):
    from fairmot.training import build_parts

    labels_root, splits_dir = tiny_labels

    def real(out: Path, resume: bool = False, **overrides) -> TrainConfig:
        settings = dict(arch="dla_tiny", input_w=320, input_h=192, batch_size=2, num_epochs=2, num_iters=2,
                        num_workers=0, lr=5e-4, lr_step=[1], seed=317, augment=True)
        settings.update(overrides)
        return TrainConfig(Params(**settings), dataset_root=tiny_dataset, labels_root=labels_root,
                           split_file=splits_dir / "train.txt", out_dir=out, resume=resume, build=build_parts)

    train(real(tmp_path / "a"))
    train(real(tmp_path / "b", num_epochs=1))
    train(real(tmp_path / "b", resume=True))
    a = load_checkpoint(tmp_path / "a" / "model.pt")
    b = load_checkpoint(tmp_path / "b" / "model.pt")
    assert_same_state(a, b)
    assert {"s_det", "s_id"} <= set(a["loss"]) and any(k.startswith("classifier") for k in a["loss"])
