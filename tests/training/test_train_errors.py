"""Training failures a user can meet: each one a clear error, exit code != 0, nothing good lost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import Dataset
from typer.testing import CliRunner

import stages.train  # noqa: F401 -- registers the command
from fairmot.training import (
    NonFiniteLossError,
    TrainConfig,
    TrainParts,
    launch,
    load_checkpoint,
    plan_launch,
    run_worker,
)
from stages.app import app
from tests.training.standins import engine_config

ROOT = Path(__file__).resolve().parents[2]


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.conv(x)}


class TinyLoss(nn.Module):
    def forward(self, outputs: dict, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = ((outputs["out"] - batch["target"]) ** 2).mean()
        return loss, {"loss": loss.detach()}


class PoisonedData(Dataset):
    """Finite data, except that every input of epoch `nan_epoch` holds a NaN."""

    def __init__(self, nan_epoch: int) -> None:
        self.nan_epoch, self.epoch = nan_epoch, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        x = torch.full((3, 4, 4), index / 8)
        if self.epoch == self.nan_epoch:
            x[0, 0, 0] = float("nan")
        return {"input": x, "target": torch.zeros(2, 4, 4)}


def poisoned_in_epoch_2(config: TrainConfig) -> TrainParts:
    return TrainParts(TinyNet(), TinyLoss(), PoisonedData(nan_epoch=2), meta={"arch": "tiny", "nID": 0})


def poisoned_config(out: Path) -> TrainConfig:
    return engine_config(out, poisoned_in_epoch_2, batch_size=4, num_epochs=3, num_workers=0, lr=0.01, lr_step=[], seed=1)


def test_non_finite_loss_stops_naming_epoch_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at epoch 2 step 1.*checkpoint \(epoch 1\) is kept"):
        launch(run_worker, poisoned_config(tmp_path), plan_launch([], 1, environ={}))
    assert load_checkpoint(tmp_path / "model_last.pt")["epoch"] == 1
    assert not (tmp_path / "model.pt").exists()


def test_non_finite_loss_in_gloo_workers_reaches_the_launcher_as_the_same_error(tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"at epoch 2 step 1"):
        launch(run_worker, poisoned_config(tmp_path), plan_launch([], 2, environ={}))
    assert load_checkpoint(tmp_path / "model_last.pt")["epoch"] == 1


def write_params(path: Path, **values) -> Path:
    settings = {"arch": "dla_tiny", "batch_size": 2, "num_epochs": 1, "num_iters": 1, "num_workers": 0,
                "input_w": 320, "input_h": 192, "lr_step": [20]}
    settings.update(values)
    path.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()))
    return path


def test_indivisible_batch_is_an_error_naming_batch_size_and_world_size(tmp_path):
    params = write_params(tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["train", "--params", str(params), "--batch-size", "3", "--nproc", "2",
                                      "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert "batch_size 3 does not split evenly over world size 2" in result.stderr
    assert not (tmp_path / "model").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_gpus_on_a_machine_without_cuda_exits_non_zero_with_the_fix(tmp_path):
    params = write_params(tmp_path / "params.yaml")
    proc = subprocess.run([sys.executable, "-m", "stages", "train", "--params", str(params), "--gpus", "0",
                           "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "gpus: 0 asks for CUDA GPUs" in proc.stderr and "gpus: -1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_split_index_names_the_file_and_the_stage_to_run(tmp_path):
    params = write_params(tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["train", "--params", str(params), "--splits", str(tmp_path / "nowhere"),
                                      "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere' / 'train.txt'}: split index not found" in result.stderr


def test_resume_without_a_checkpoint_says_so(tmp_path, tiny_dataset, tiny_labels):
    labels_root, splits_dir = tiny_labels
    params = write_params(tmp_path / "params.yaml")
    result = CliRunner().invoke(app, ["train", "--params", str(params), "--resume", "--dataset", str(tiny_dataset),
                                      "--labels", str(labels_root), "--splits", str(splits_dir),
                                      "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'model' / 'model_last.pt'}: no checkpoint here" in result.stderr


@pytest.mark.slow
def test_cli_lr_blow_up_stops_with_exit_1_and_leaves_the_epoch_1_checkpoint_untouched(tmp_path, tiny_dataset, tiny_labels):
    labels_root, splits_dir = tiny_labels
    params = write_params(tmp_path / "params.yaml")
    common = ["train", "--params", str(params), "--dataset", str(tiny_dataset), "--labels", str(labels_root),
              "--splits", str(splits_dir), "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports")]
    assert CliRunner().invoke(app, common).exit_code == 0
    good = (tmp_path / "model" / "model_last.pt").read_bytes()
    # Adam moves every weight by ~lr on its first step: 1e30 overflows the next forward pass
    result = CliRunner().invoke(app, [*common, "--resume", "--num-epochs", "2", "--num-iters", "3", "--lr", "1e30"])
    assert result.exit_code == 1
    assert "non-finite loss" in result.stderr and "at epoch 2 step" in result.stderr
    assert (tmp_path / "model" / "model_last.pt").read_bytes() == good


def _train_args(tmp_path: Path, tiny_dataset: Path, tiny_labels: tuple[Path, Path], *extra: str) -> list[str]:
    labels_root, splits_dir = tiny_labels
    params = write_params(tmp_path / "params.yaml")
    return ["train", "--params", str(params), "--dataset", str(tiny_dataset), "--labels", str(labels_root),
            "--splits", str(splits_dir), "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports"), *extra]


def test_a_directory_as_load_model_is_reported_as_a_directory_not_as_missing(tmp_path, tiny_dataset, tiny_labels):
    folder = tmp_path / "weights"
    folder.mkdir()
    result = CliRunner().invoke(app, _train_args(tmp_path, tiny_dataset, tiny_labels, "--load-model", str(folder)))
    assert result.exit_code == 1
    assert f"load_model: {folder} is a directory, expected a checkpoint file" in result.stderr
    assert "does not exist" not in result.stderr


class _Payload:
    """Anything outside the weights-only format: a pickled instance of a project class."""


@pytest.mark.parametrize("how", ["--resume", "--load-model"])
def test_checkpoint_errors_never_suggest_weights_only_false(tmp_path, tiny_dataset, tiny_labels, how):
    (tmp_path / "model").mkdir()
    bad = tmp_path / "model" / "model_last.pt"
    torch.save({"model": {}, "payload": _Payload()}, bad)
    extra = ["--resume"] if how == "--resume" else ["--load-model", str(bad)]
    result = CliRunner().invoke(app, _train_args(tmp_path, tiny_dataset, tiny_labels, *extra))
    assert result.exit_code == 1
    assert "not a trusted checkpoint format" in result.stderr
    if how == "--resume":
        assert "_Payload" in result.stderr  # what the file holds that is refused
    assert "weights_only" not in result.stderr and "add_safe_globals" not in result.stderr
