"""A few training steps over two kinds mixed: the embedded generator (mot) and a CrowdHuman set (detection)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from fairmot.data.dataset import JointDataset
from tests.data.kinds import crowdhuman_folder


@pytest.fixture
def mixed_params(tmp_path) -> Path:
    crowdhuman_folder(tmp_path / "ch")
    params = {
        "arch": "dla_tiny", "batch_size": 2, "num_epochs": 1, "num_iters": 3, "num_workers": 0,
        "input_w": 320, "input_h": 192, "lr_step": [20],
        "data": {"datasets": [{"name": "syn", "kind": "synthetic"},
                              {"name": "crowd", "kind": "detection", "path": str(tmp_path / "ch")}]},
        "synthetic": {"train_sequences": 1, "val_sequences": 1, "frames": 4, "density": 3.0},
    }
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def run(*args: str) -> None:
    from stages.app import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def test_mixed_training_trains_on_both_kinds_with_nid_from_the_mot_set_only(tmp_path, mixed_params):
    data = ["--dataset", str(tmp_path / "dataset"), "--labels", str(tmp_path / "labels"), "--splits", str(tmp_path / "splits")]
    run("download", "--params", str(mixed_params), "--out", str(tmp_path / "dataset"), "--cache", str(tmp_path / "cache"))
    run("labels", "--params", str(mixed_params), *data)
    manifest = json.loads((tmp_path / "splits" / "manifest.json").read_text())
    assert manifest["datasets"]["crowd"]["frames"] == 2 and manifest["datasets"]["syn"]["identities"] > 0

    dataset = JointDataset(tmp_path / "dataset", tmp_path / "labels", tmp_path / "splits" / "train.txt",
                           320, 192, augment=False)
    train_ids = sum(s["identities"] for s in manifest["sequences"].values() if s["split"] == "train")
    assert dataset.nID == train_ids + 1  # the crowd set adds images, no identity
    crowd = dataset[len(dataset) - 2]  # the first CrowdHuman image: one full box, no identity
    assert int(crowd["reg_mask"].sum()) == 1 and crowd["ids"][0] == -1 and float(crowd["hm"].max()) == 1.0
    synthetic = dataset[0]
    assert (synthetic["ids"][synthetic["reg_mask"] > 0] >= 1).all()

    run("train", "--params", str(mixed_params), *data, "--out", str(tmp_path / "model"), "--reports", str(tmp_path / "reports"))
    checkpoint = torch.load(tmp_path / "model" / "model_last.pt", map_location="cpu", weights_only=False)
    assert checkpoint["nID"] == dataset.nID and checkpoint["epoch"] == 1
    summary = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert summary["steps"] == 3 and summary["nID"] == dataset.nID
    assert all(summary[k] == summary[k] and abs(summary[k]) < 1e4 for k in ("hm_loss", "wh_loss", "id_loss"))  # finite
