"""dvc.yaml's `artifacts:` put the checkpoint and the ONNX graph in the model registry (DVC, GTO, Studio).

Checked through real DVC in a throwaway git repo holding the project's artifacts section and params.yaml:
the labels follow the params, and `dvc artifacts get` fetches a version tagged the GTO way from a DVC remote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NAMES = ("fairmot-model", "fairmot-onnx")


def dvc_yaml() -> dict:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())


def run(cmd: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def registry(tmp_path) -> tuple[Path, dict]:
    """A git + DVC repo with the project's artifacts section and params, fake outputs pushed to a local remote."""
    root = tmp_path / "repo"
    root.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(arch="dla34", input_w=1088, input_h=608)  # the labels must follow the params, not the defaults
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    # only the artifacts: the stages would claim data/model, which `dvc add` stands in for here
    (root / "dvc.yaml").write_text(yaml.safe_dump({"artifacts": dvc_yaml()["artifacts"]}, sort_keys=False))
    for name in NAMES:
        path = root / dvc_yaml()["artifacts"][name]["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{name} v1".encode())
    (root / "data" / "model" / "model_last.pt").write_bytes(b"last")
    run(["git", "init", "-q"], root, env)
    for cmd in (["init", "-q"], ["add", "-q", "data/model", "data/export/model.onnx"],
                ["remote", "add", "-q", "-d", "store", str(tmp_path / "remote")]):
        run([sys.executable, "-m", "dvc", *cmd], root, env)
    run(["git", "add", "-A"], root, env)
    run(["git", "commit", "-qm", "trained"], root, env)
    run([sys.executable, "-m", "dvc", "push", "-q"], root, env)
    return root, env


def test_the_checkpoint_and_the_onnx_graph_are_models_inside_stage_outputs():
    spec = dvc_yaml()
    outs = {next(iter(o)) if isinstance(o, dict) else o for stage in spec["stages"].values() for o in stage.get("outs", [])}
    assert set(spec["artifacts"]) == set(NAMES)
    for name, artifact in spec["artifacts"].items():
        assert artifact["type"] == "model" and artifact["desc"]
        assert {"fairmot", "${arch}", "${input_w}x${input_h}"} <= set(artifact["labels"]), name
        path = artifact["path"]
        assert any(path == out or path.startswith(out + "/") for out in outs), f"{name}: {path} is no stage's output"
    assert spec["artifacts"]["fairmot-model"]["path"] == "data/model/model.pt"
    assert spec["artifacts"]["fairmot-onnx"]["path"] == "data/export/model.onnx"


def test_dvc_reads_the_artifacts_with_labels_from_the_params(registry):
    from dvc.repo import Repo

    root, _ = registry
    read = Repo(str(root)).artifacts.read()["dvc.yaml"]
    assert read["fairmot-model"].labels == ["fairmot", "dla34", "1088x608", "pytorch"]
    assert read["fairmot-onnx"].labels == ["fairmot", "dla34", "1088x608", "onnx"]
    assert read["fairmot-model"].type == read["fairmot-onnx"].type == "model"


def test_dvc_artifacts_get_fetches_the_tagged_version(registry, tmp_path):
    root, env = registry
    # GTO's convention (what `gto register fairmot-model --version v1.0.0` writes): an annotated tag name@version
    run(["git", "tag", "-a", "fairmot-model@v1.0.0", "-m", "Registering fairmot-model version v1.0.0"], root, env)
    run(["git", "tag", "-a", "fairmot-onnx@v1.0.0", "-m", "Registering fairmot-onnx version v1.0.0"], root, env)
    (root / "data" / "model" / "model.pt").write_bytes(b"fairmot-model v2")  # a later, unregistered change
    got = tmp_path / "got"
    got.mkdir()
    dvc = [sys.executable, "-m", "dvc", "artifacts", "get", str(root)]
    run([*dvc, "fairmot-model", "--rev", "v1.0.0", "-o", "model.pt"], got, env)
    run([*dvc, "fairmot-onnx", "-o", "model.onnx"], got, env)  # no --rev: the latest registered version
    assert (got / "model.pt").read_bytes() == b"fairmot-model v1"
    assert (got / "model.onnx").read_bytes() == b"fairmot-onnx v1"
