"""benchmarks/gpu_suite.sh runs only on a lent GPU machine, so it is checked here for what rots
unseen: the test files it names exist, and every command line it runs parses."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = (REPO / "benchmarks" / "gpu_suite.sh").read_text()
# `$PY benchmarks/x.py args |` and `$PY -m stages cmd args 2>&1 |`: the command before the pipe
COMMANDS = re.findall(r"^\$PY ((?:benchmarks/\w+\.py|-m stages \w+)[^|\n]*?)(?: 2>&1)? \|", SCRIPT, re.MULTILINE)


def test_the_suite_names_only_test_files_that_exist():
    named = re.findall(r"tests/[\w/]+\.py", SCRIPT)
    assert named, "the suite runs the CUDA tests"
    assert [path for path in named if not (REPO / path).is_file()] == []


def test_the_suite_imports_only_what_the_library_has():
    imports = re.findall(r"^from fairmot[\w.]* import .+$", SCRIPT, re.MULTILINE)
    assert imports
    done = subprocess.run([sys.executable, "-c", "\n".join(imports)], cwd=REPO, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_line_of_the_suite_parses(command, tmp_path):
    # Options are parsed (names, choices, a value where one is needed) before --help at the end exits
    args = shlex.split(command.replace('"$OUT', f'"{tmp_path}').replace('"$D', f'"{tmp_path}'))
    done = subprocess.run([sys.executable, *args, "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"


def test_the_command_lines_were_found():
    scripts = {c.split()[0] if not c.startswith("-m") else " ".join(c.split()[:3]) for c in COMMANDS}
    assert {"benchmarks/forward.py", "benchmarks/train_step.py", "benchmarks/fps.py", "benchmarks/engines.py",
            "-m stages detect", "-m stages evaluate"} <= scripts
