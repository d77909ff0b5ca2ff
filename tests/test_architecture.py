"""The package layout of docs/ARCHITECTURE.md, held: no import circles, floors imported downwards only,
nothing loose at the top of fairmot/, short functions and modules, a `fairmot --help` without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GROUND_FLOOR = {"__init__", "architectures", "devices", "errors", "weights"}  # and the io package
# Lower floors never import higher ones (docs/ARCHITECTURE.md); packages on one floor are independent
FLOORS = [
    {"errors", "io", "architectures", "devices", "weights"},
    {"config"},
    {"data"},
    {"models", "tracking", "evaluation"},
    {"training", "inference", "tuning"},
    {"export", "reporting"},
]
MAX_FUNCTION_LINES, MAX_MODULE_LINES = 60, 350


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((REPO / "fairmot").rglob("*.py")) + sorted((REPO / "stages").rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules `name` imports at run time, lazily or not (type-checking-only imports excluded)."""
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return {t for t in targets if t in modules and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_in_fairmot_or_stages():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()) or [])


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_only_the_ground_floor_sits_at_the_top_of_fairmot():
    loose = {p.stem for p in (REPO / "fairmot").glob("*.py")}
    assert loose == GROUND_FLOOR


def _floor(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "fairmot" or len(parts) == 1:
        return None
    return next(i for i, floor in enumerate(FLOORS) if parts[1] in floor)


def test_floors_import_downwards_only():
    upward = [(name, target) for name, targets in _graph().items() for target in targets
              if _floor(name) is not None and _floor(target) is not None and _floor(target) > _floor(name)]
    assert not upward, upward


def test_packages_on_one_floor_do_not_import_each_other():
    sideways = [(name, target) for name, targets in _graph().items() for target in targets
                if _floor(name) is not None and _floor(name) == _floor(target) and _floor(name) > 0
                and name.split(".")[1] != target.split(".")[1]]
    assert not sideways, sideways


def test_the_library_never_imports_stages_dvc_or_typer():
    for path in (REPO / "fairmot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(n.split(".")[0] in ("stages", "dvc", "typer", "dvclive") for n in names), path


def _says_why_it_is_one_piece(path: Path) -> bool:
    return "one piece" in (ast.get_docstring(ast.parse(path.read_text())) or "")


@pytest.mark.parametrize("root", ["fairmot", "stages", "benchmarks"])
def test_functions_and_modules_are_short(root):
    long = []
    for path in sorted((REPO / root).rglob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines >= MAX_MODULE_LINES and not _says_why_it_is_one_piece(path):
            long.append(f"{path.relative_to(REPO)}: {lines} lines")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length >= MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}: {length} lines")
    assert not long, long


def test_fairmot_help_imports_no_heavy_library():
    """Every stage module is imported for `fairmot --help`: torch, cv2, onnxruntime, matplotlib stay lazy."""
    code = ("import sys, stages.app; heavy = {'torch', 'cv2', 'onnxruntime', 'matplotlib', 'great_expectations'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
