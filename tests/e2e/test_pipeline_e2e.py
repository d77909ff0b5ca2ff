"""The whole pipeline through real DVC, as a user runs it, on tiny params in a copy of the repo."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "batch_size": 2, "num_epochs": 1, "num_iters": 2, "num_workers": 0, "lr_step": [5],
    "synthetic": {"train_sequences": 1, "val_sequences": 1, "frames": 12, "density": 4.0},
    "eval": {"warmup_frames": 1, "report_frames": 1},
    # a network trained 2 steps on 12 frames: bf16/int8 move its MOTA by more than the real default's 0.005
    "export": {"tolerance": 1.0, "calibration_frames": 8},
}

pytestmark = pytest.mark.slow
STAGES = ("download", "labels", "validate", "train", "export", "detect", "evaluate", "report")


def run(cmd, cwd, env):
    done = subprocess.run(cmd, check=False, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict):
            merge(base.setdefault(key, {}), value)
        else:
            base[key] = value
    return base


def copy_project(root: Path, params: dict) -> tuple[Path, dict]:
    """A fresh git repo (one commit) holding the project's tracked files with `params` as params.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        if (REPO / name).is_file() and not name.startswith(("data/", "reports/")):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    run(["git", "init", "-q"], root, env)
    (root / "dvc.lock").unlink(missing_ok=True)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "tiny"], root, env)
    return root, env


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A fresh git repo holding the project's tracked files and tiny params, after one `dvc repro`."""
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), TINY)
    root, env = copy_project(tmp_path_factory.mktemp("clone"), params)
    log = run(["dvc", "repro"], root, env)
    return root, env, log


def test_dvc_repro_runs_every_stage_and_writes_the_metrics_contract(project):
    root, env, log = project
    for stage in STAGES:
        assert f"Running stage '{stage}'" in log
    metrics = json.loads((root / "reports" / "metrics.json").read_text())
    for key in ("MOTA", "IDF1", "HOTA", "DetA", "AssA", "MOTP", "IDs", "FP", "FN", "MT", "ML", "frames",
                "fps", "fps_model", "peak_memory_mb", "device"):
        assert key in metrics, key
    assert metrics["frames"] == 12
    assert metrics["engine"] == "torch"
    parity = json.loads((root / "reports" / "export.json").read_text())
    assert parity["passed"] and (root / "data" / "export" / "model.onnx").stat().st_size > 0
    assert (root / "data" / "model" / "model.pt").exists()
    assert "## Tracking" in (root / "reports" / "report.md").read_text()
    status = run(["dvc", "status", "--json"], root, env)
    assert json.loads(status.strip().splitlines()[-1]) == {}


def test_changing_track_params_reruns_only_evaluate_and_report_not_the_network(project):
    root, env, _ = project
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "after repro"], root, env)
    cache = {p.name: p.stat().st_mtime_ns for p in (root / "data" / "detections").iterdir()}
    for change in ({"conf_thres": 0.3}, {"method": "bytetrack", "low_thres": 0.15}):
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["track"].update(change)
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        log = run(["dvc", "repro"], root, env)
        ran = {stage for stage in STAGES if f"Running stage '{stage}'" in log}
        assert ran == {"evaluate", "report"}, change
    assert json.loads((root / "reports" / "metrics.json").read_text())["method"] == "bytetrack"
    assert {p.name: p.stat().st_mtime_ns for p in (root / "data" / "detections").iterdir()} == cache
    run(["git", "checkout", "params.yaml"], root, env)
    run(["dvc", "repro"], root, env)


def test_exp_run_with_a_new_batch_size_shows_up_with_its_own_metrics(project):
    root, env, _ = project
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "baseline", "--allow-empty"], root, env)
    run(["dvc", "exp", "run", "-S", "batch_size=4", "-n", "bs4"], root, env)
    shown = json.loads(run(["dvc", "exp", "show", "--json"], root, env).strip())
    experiments = [exp for entry in shown for exp in (entry.get("experiments") or [])]
    [bs4] = [exp for exp in experiments if exp.get("name") == "bs4"]
    revision = bs4["revs"][0]["data"]
    assert revision["params"]["params.yaml"]["data"]["batch_size"] == 4
    metrics = revision["metrics"]["reports/metrics.json"]["data"]
    assert "MOTA" in metrics and "HOTA" in metrics
    train = revision["metrics"]["reports/train.json"]["data"]
    assert train["batch_size"] == 4
