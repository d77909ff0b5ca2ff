"""dvc.yaml names inputs that exist: code paths are in the repository, data paths are some stage's output."""

import ast
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


def test_the_network_pass_is_detect_and_evaluate_reads_its_cache():
    detect, evaluate = _stages()["detect"], _stages()["evaluate"]
    assert {"fairmot/inference", "data/model"} <= set(detect["deps"])
    assert {"data/detections", "reports/detect.json", "fairmot/evaluation", "fairmot/tracking"} <= set(evaluate["deps"])
    assert "data/model" not in evaluate["deps"] and not any(d.startswith("fairmot/inference") for d in evaluate["deps"])
    # a track.* change other than the cache's own floor and top-K re-runs evaluate only
    assert {p for p in detect["params"] if p.startswith("track")} == {"track.det_floor", "track.K"}
    assert "track" in evaluate["params"]


def _module_file(dotted: str) -> Path | None:
    base = REPO / Path(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_project_files(path: Path) -> set[Path]:
    """Every fairmot/ and stages/ file `path` imports, directly or through another project file."""
    seen: set[Path] = set()
    todo = [path]
    # (PLUMBING files are neither collected nor followed)
    while todo:
        current = todo.pop()
        if current in seen or str(current.relative_to(REPO)) in PLUMBING:
            continue
        seen.add(current)
        package = ".".join(current.relative_to(REPO).with_suffix("").parts[:-1])
        for node in ast.walk(ast.parse(current.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative import
                    module = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [module]).strip(".")
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            for name in names:
                if name.split(".")[0] in ("fairmot", "stages"):
                    found = _module_file(name)
                    if found is not None:
                        todo.append(found)
    return seen


def _covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(REPO)
    return any(rel == Path(dep) or Path(dep) in rel.parents for dep in deps)


# Plumbing that cannot change what a stage writes: params arrive through the loader but are declared
# key by key under `params:` (and config's defaults equal params.yaml, tests/test_config.py);
# errors, atomic writes and the CLI glue only change how a failure is reported.
PLUMBING = {"fairmot/config/__init__.py", "fairmot/config/schema.py", "fairmot/config/loader.py", "fairmot/config/checks.py",
            "fairmot/errors.py", "fairmot/io/__init__.py", "fairmot/io/atomic.py", "fairmot/io/ownership.py",
            "fairmot/io/temps.py", "stages/common.py"}


def test_every_stage_declares_the_code_it_runs():
    """A stage's deps name every project module its command imports, so a code change re-runs it."""
    missing = {}
    for name, stage in _stages().items():
        command = stage["cmd"].split()
        if command[0] != "fairmot":
            continue
        module = REPO / "stages" / f"{command[1]}.py"
        undeclared = sorted(
            str(p.relative_to(REPO)) for p in _imported_project_files(module)
            if p.read_text().strip() and not _covered(p, stage.get("deps", []))
        )
        if undeclared:
            missing[name] = undeclared
    assert not missing, f"dvc.yaml deps miss: {missing}"
