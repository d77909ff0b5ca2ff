"""`fairmot train` continues a run left in data/model only when params and data are the same, and says why not."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import stages.train  # noqa: F401 -- registers the command
from fairmot.config import Params
from fairmot.training import data_fingerprint, decide_resume
from fairmot.training.checkpoint import save_checkpoint
from stages.app import app


def fake_checkpoint(path: Path, params: Params, fingerprint: str, epoch: int = 1, step: int = 2) -> None:
    save_checkpoint({"model": {}, "loss": {}, "optimizer": {}, "scaler": None, "epoch": epoch, "rng": {},
                     "arch": params.arch, "reid_dim": 128, "head_conv": 64, "input_w": 320, "input_h": 192,
                     "nID": 3, "params": dataclasses.asdict(params), "data_fingerprint": fingerprint,
                     "progress": {"epoch": epoch, "step": step, "global_step": 5, "sums": {}, "last_epoch": {}}}, path)


def test_same_params_and_data_resume_at_the_saved_step(tmp_path):
    fake_checkpoint(tmp_path / "model_last.pt", Params(), "abc")
    decision = decide_resume(tmp_path, Params(), "abc")
    assert decision.resume and "continuing at epoch 2 step 2" in decision.reason


def test_a_finished_run_is_not_resumed_but_trained_again(tmp_path):
    """dvc repro re-runs train after a code change; the finished run's model_last.pt must not stand in."""
    p = Params()
    fake_checkpoint(tmp_path / "model_last.pt", p, "abc", epoch=p.num_epochs, step=0)
    decision = decide_resume(tmp_path, p, "abc")
    assert not decision.resume and f"is a finished run ({p.num_epochs} of {p.num_epochs} epochs)" in decision.reason
    fake_checkpoint(tmp_path / "model_last.pt", p, "abc", epoch=p.num_epochs - 1, step=0)  # one epoch to go
    assert decide_resume(tmp_path, p, "abc").resume


@pytest.mark.parametrize("change, named", [
    ({"lr": 0.001}, "lr=0.0005, this run has lr=0.001"),
    ({"num_epochs": 3}, "num_epochs=12, this run has num_epochs=3"),
    ({"nproc": 2}, "nproc=1, this run has nproc=2"),
])
def test_a_changed_training_param_starts_over_naming_it(tmp_path, change, named):
    fake_checkpoint(tmp_path / "model_last.pt", Params(), "abc")
    decision = decide_resume(tmp_path, dataclasses.replace(Params(), **change), "abc")
    assert not decision.resume and named in decision.reason


def test_a_checkpoint_from_before_a_key_existed_counts_it_at_its_default(tmp_path):
    """A run interrupted before lr_scale/lr_base_batch/warmup_iters existed trained as their defaults do."""
    fake_checkpoint(tmp_path / "model_last.pt", Params(), "abc")
    saved = torch.load(tmp_path / "model_last.pt", weights_only=True)
    for key in ("lr_scale", "lr_base_batch", "warmup_iters"):
        del saved["params"][key]
    save_checkpoint(saved, tmp_path / "model_last.pt")
    assert decide_resume(tmp_path, Params(), "abc").resume
    decision = decide_resume(tmp_path, dataclasses.replace(Params(), lr_scale="linear"), "abc")
    assert not decision.resume and "lr_scale='none', this run has lr_scale='linear'" in decision.reason


def test_a_changed_train_split_or_data_starts_over(tmp_path):
    fake_checkpoint(tmp_path / "model_last.pt", Params(), "abc")
    half = dataclasses.replace(Params(), data=dataclasses.replace(Params().data, train_split="half"))
    assert "data.train_split='train', this run has data.train_split='half'" in decide_resume(tmp_path, half, "abc").reason
    other = decide_resume(tmp_path, Params(), "def")
    assert not other.resume and "other data" in other.reason
    # sections that training does not read (track, eval) do not block a resume
    tracked = dataclasses.replace(Params(), track=dataclasses.replace(Params().track, conf_thres=0.3))
    assert decide_resume(tmp_path, tracked, "abc").resume


def test_no_or_unreadable_checkpoint_starts_over(tmp_path):
    assert not decide_resume(tmp_path, Params(), "abc").resume
    (tmp_path / "model_last.pt").write_bytes(b"junk")
    decision = decide_resume(tmp_path, Params(), "abc")
    assert not decision.resume and "cannot be resumed from" in decision.reason


def test_data_fingerprint_changes_with_the_split_index_and_label_sizes(tmp_path):
    split, labels = tmp_path / "train.txt", tmp_path / "labels"
    (labels / "SEQ").mkdir(parents=True)
    split.write_text("a.jpg\nb.jpg\n")
    (labels / "SEQ" / "a.txt").write_text("0 1 0.5 0.5 0.1 0.2\n")
    first = data_fingerprint(split, labels)
    assert data_fingerprint(split, labels) == first
    (labels / "SEQ" / "a.txt").write_text("0 1 0.5 0.5 0.1 0.2\n0 2 0.5 0.5 0.1 0.2\n")
    second = data_fingerprint(split, labels)
    assert second != first
    split.write_text("a.jpg\n")
    assert data_fingerprint(split, labels) != second


def test_fairmot_train_resumes_an_interrupted_run_by_itself_and_matches_the_straight_run(
        tmp_path, monkeypatch, tiny_dataset, tiny_labels):
    monkeypatch.chdir(tmp_path)
    labels_root, splits_dir = tiny_labels
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    raw.update(batch_size=2, num_epochs=2, num_iters=2, num_workers=0, lr_step=[1])  # lr_step 1: keeps model_epoch1.pt
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    model = tmp_path / "model"
    args = ["train", "--params", str(tmp_path / "params.yaml"), "--dataset", str(tiny_dataset),
            "--labels", str(labels_root), "--splits", str(splits_dir), "--out", str(model),
            "--reports", str(tmp_path / "reports")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "resuming" not in first.output and "starting over" not in first.output  # nothing to resume from
    straight = torch.load(model / "model.pt", weights_only=True)

    # What an interruption after epoch 1 leaves behind: epoch 1's checkpoint as model_last.pt, no model.pt
    (model / "model.pt").unlink()
    shutil.copy(model / "model_epoch1.pt", model / "model_last.pt")
    resumed = CliRunner().invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming:" in resumed.output and "continuing at epoch 2 step 0" in resumed.output
    again = torch.load(model / "model.pt", weights_only=True)
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, again["model"][name]), name
    report = json.loads((tmp_path / "reports" / "train.json").read_text())
    assert (report["epochs"], report["steps"]) == (2, 4)

    changed = CliRunner().invoke(app, [*args, "--lr", "0.001"])
    assert changed.exit_code == 0, changed.output
    assert "starting over:" in changed.output and "lr=0.0005, this run has lr=0.001" in changed.output
    assert json.loads((tmp_path / "reports" / "train.json").read_text())["steps"] == 4  # a full run, not 0 more
