"""The `fairmot` app registers every stage explicitly; no stage module imports the app."""

import ast
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from stages.app import app

COMMANDS = ("download", "labels", "validate", "train", "detect", "evaluate", "report", "track", "compare", "history", "tune")
STAGES = Path(__file__).resolve().parents[2] / "stages"


def test_help_lists_every_command():
    done = CliRunner().invoke(app, ["--help"])
    assert done.exit_code == 0
    listed = [line.split()[1] for line in done.output.splitlines() if line.startswith("│ ") and len(line.split()) > 2]
    assert [c for c in listed if c in COMMANDS] == list(COMMANDS)


def test_no_stage_module_imports_the_app():
    for path in sorted(STAGES.glob("*.py")):
        if path.name in ("app.py", "__main__.py"):
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert "stages.app" not in imported, path


def test_python_dash_m_stages_runs_the_app():
    done = subprocess.run([sys.executable, "-m", "stages", "--help"], capture_output=True, text=True, check=False,
                          cwd=STAGES.parent)
    assert done.returncode == 0, done.stderr
    assert all(command in done.stdout for command in COMMANDS)
