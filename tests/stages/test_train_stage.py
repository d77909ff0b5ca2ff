"""`fairmot train` end to end on the tiny synthetic labels: checkpoints, reports/train.json, dvclive plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import stages.train  # noqa: F401 -- registers the command
from fairmot.training import CHECKPOINT_KEYS
from stages.app import app

TRAIN_JSON_KEYS = {"loss", "hm_loss", "wh_loss", "off_loss", "id_loss", "s_det", "s_id", "samples_per_s", "wall_s",
                   "epochs", "steps", "world_size", "peak_memory_mb", "device", "nID", "arch", "batch_size"}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def run_train(tmp_path: Path, dataset: Path, labels: tuple[Path, Path], *extra: str):
    labels_root, splits_dir = labels
    params = tmp_path / "params.yaml"
    params.write_text("arch: dla_tiny\nbatch_size: 2\nnum_epochs: 1\nnum_iters: 2\nnum_workers: 0\nlr: 0.0005\n"
                      "lr_step: [20]\ninput_w: 320\ninput_h: 192\nseed: 317\n")
    return CliRunner().invoke(app, ["train", "--params", str(params), "--dataset", str(dataset),
                                    "--labels", str(labels_root), "--splits", str(splits_dir),
                                    "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports"), *extra])


def test_fairmot_train_writes_checkpoints_train_json_and_dvclive_plots(tmp_path, monkeypatch, tiny_dataset, tiny_labels):
    monkeypatch.chdir(tmp_path)  # nothing may land in the repository
    result = run_train(tmp_path, tiny_dataset, tiny_labels)
    assert result.exit_code == 0, result.output

    final = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    last = torch.load(tmp_path / "model" / "model_last.pt", weights_only=True)
    assert set(CHECKPOINT_KEYS) <= set(final)
    assert (final["arch"], final["reid_dim"], final["input_w"], final["input_h"], final["epoch"]) == ("dla_tiny", 128, 320, 192, 1)
    assert final["head_conv"] > 0  # resolved, not -1
    assert final["params"]["batch_size"] == 2 and final["params"]["data"]["train_split"] == "train"
    assert final["loss"]["classifiers.0.weight"].shape == (final["nID"], 128)
    assert (final["classes"], final["class_nID"]) == (["pedestrian"], [final["nID"]])
    assert last["epoch"] == 1

    from fairmot.models import build_from_checkpoint

    model, meta = build_from_checkpoint(tmp_path / "model" / "model.pt")
    assert not model.training and meta["nID"] == final["nID"]

    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert set(report) >= TRAIN_JSON_KEYS
    assert (report["epochs"], report["steps"], report["world_size"], report["batch_size"], report["arch"]) == (1, 2, 1, 2, "dla_tiny")
    assert report["nID"] == final["nID"] and report["device"].startswith("cpu")
    assert report["peak_memory_mb"] > 0 and report["samples_per_s"] > 0

    metrics = tmp_path / "reports" / "train" / "plots" / "metrics"
    steps = read_tsv(metrics / "loss.tsv")
    assert [row["step"] for row in steps] == ["1", "2"]
    # the final loss in train.json is the epoch average: the mean of the two logged steps
    assert report["loss"] == pytest.approx((float(steps[0]["loss"]) + float(steps[1]["loss"])) / 2, abs=1e-5)
    epoch_rows = read_tsv(metrics / "epoch" / "loss.tsv")
    assert [(row["step"], float(row["loss"])) for row in epoch_rows] == [("2", pytest.approx(report["loss"], abs=1e-5))]
    for name in ("hm_loss", "wh_loss", "off_loss", "id_loss", "s_det", "s_id", "lr", "samples_per_s"):
        rows = read_tsv(metrics / f"{name}.tsv")
        assert len(rows) == 2 and all(math.isfinite(float(row[name])) for row in rows), name
    assert [float(row["lr"]) for row in read_tsv(metrics / "lr.tsv")] == [0.0005, 0.0005]
    assert not (tmp_path / "reports" / "train" / "dvc.yaml").exists()  # dvcyaml=False: dvc.yaml is ours
    assert not list((tmp_path / "model").glob(".*.tmp"))


@pytest.mark.slow
def test_fairmot_train_nproc_2_runs_gloo_ddp_on_the_real_network(tmp_path, monkeypatch, tiny_dataset, tiny_labels):
    monkeypatch.chdir(tmp_path)
    # two steps: DDP's check that every parameter got a gradient runs at the start of the second
    result = run_train(tmp_path, tiny_dataset, tiny_labels, "--nproc", "2")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert (report["world_size"], report["batch_size"], report["steps"]) == (2, 2, 2)
    checkpoint = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert len(checkpoint["rng"]["ranks"]) == 2
    assert len(read_tsv(tmp_path / "reports" / "train" / "plots" / "metrics" / "loss.tsv")) == 2


def test_long_runs_log_the_mean_of_each_window_of_steps(tmp_path):
    from fairmot.training.distributed import DistContext
    from fairmot.training.runlog import RunLog
    from stages.train import DvcLiveLog

    run_log = RunLog(DistContext(), DvcLiveLog(tmp_path / "live"), resume=False, total_epochs=1, log_every=2)
    bar = run_log.bar(1, total=4)
    for step, loss in enumerate([1.0, 2.0, 3.0, 5.0], start=1):
        run_log.step(step, {"loss": loss}, lr=0.1, samples_per_s=10.0 * step, data_s=0.0, bar=bar)
    bar.close()
    run_log.close()
    rows = read_tsv(tmp_path / "live" / "plots" / "metrics" / "loss.tsv")
    assert [(row["step"], float(row["loss"])) for row in rows] == [("2", 1.5), ("4", 4.0)]
    rows = read_tsv(tmp_path / "live" / "plots" / "metrics" / "samples_per_s.tsv")
    assert [float(row["samples_per_s"]) for row in rows] == [15.0, 35.0]
