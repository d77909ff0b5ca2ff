"""dvc.yaml names inputs that exist: code paths are in the repository, data paths are some stage's output."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def _stages():
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def _outs(stage):
    for entry in stage.get("outs", []) + stage.get("metrics", []) + stage.get("plots", []):
        yield next(iter(entry)) if isinstance(entry, dict) else entry


def test_every_dependency_is_a_repository_path_or_a_stage_output():
    produced = {out for stage in _stages().values() for out in _outs(stage)}
    for name, stage in _stages().items():
        for dep in stage.get("deps", []):
            assert (REPO / dep).exists() or dep in produced, f"{name}: {dep} is neither in the repo nor an output"


def test_report_declares_the_split_manifest_and_the_split_param():
    report = _stages()["report"]
    assert "data/splits" in report["deps"] and "eval.split" in report["params"]


def test_evaluate_declares_the_evaluation_package_and_the_speed_meter():
    deps = _stages()["evaluate"]["deps"]
    assert {"fairmot/evaluation", "fairmot/speed.py", "fairmot/inference.py"} <= set(deps)
