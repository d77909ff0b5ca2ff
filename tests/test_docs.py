"""The README and docs/ stay true: every command shown parses, every params key named exists, the
params table equals the schema, the README stays short and every relative link resolves."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fairmot.config import Params, load_params
from stages.app import app

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 200
CELL_MAX_CHARS = 130

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SET_OPTION = re.compile(r"(?:^|\s)-S\s+('[^']*'|\"[^\"]*\"|\S+)")
# A placeholder in a shown command and the plausible value the check runs it with
PLACEHOLDER = re.compile(r"<[^>]*>")


def _pages() -> dict[str, str]:
    return {path.relative_to(REPO).as_posix(): path.read_text() for path in PAGES}


def _code_lines(text: str) -> list[str]:
    """Lines of fenced code blocks, `\\` continuations joined, `$ ` prompts and `# comments` dropped."""
    lines = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip().removeprefix("$ ")
            lines.append(re.split(r"\s#\s|^#", line)[0].strip())
    return [line for line in lines if line]


def _snippets(text: str) -> list[str]:
    """Everything shown as code: fenced lines and inline code spans (outside fences)."""
    return _code_lines(text) + INLINE.findall(FENCE.sub("", text))


def _fairmot_commands(text: str) -> list[str]:
    commands = []
    for snippet in _snippets(text):
        for part in snippet.split(";"):
            part = part.strip()
            if part.startswith("fairmot ") or part == "fairmot":
                commands.append(PLACEHOLDER.sub("x", part))
    return commands


def _schema_keys(cls: type = Params, prefix: str = "") -> dict[str, typing.Any]:
    """Every params key, dotted (`track.conf_thres`; entries of a list of sections as `data.datasets[].name`),
    with its default."""
    keys: dict[str, typing.Any] = {}
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        key, value = prefix + f.name, getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            keys.update(_schema_keys(type(value), key + "."))
            continue
        keys[key] = value
        args = typing.get_args(hints[f.name])
        if typing.get_origin(hints[f.name]) is list and dataclasses.is_dataclass(args[0]):
            keys.update(_schema_keys(args[0], key + "[]."))
    return keys


SCHEMA = _schema_keys()
SECTIONS = {f.name for f in dataclasses.fields(Params) if dataclasses.is_dataclass(getattr(Params(), f.name))}


def _as_schema_key(key: str) -> str:
    """`data.datasets.1.path` (DVC's list index) -> `data.datasets[].path`."""
    return re.sub(r"\.\d+(?=\.|$)", "[]", key)


def _format_default(value: typing.Any) -> str:
    """How docs/params.md writes a default: YAML-like and short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_format_default(v) for v in value) + "]"
    if value == "":
        return "''"
    return str(value)


def _params_table() -> dict[str, tuple[str, str]]:
    """docs/params.md's table rows: key -> (default, meaning)."""
    rows = {}
    for line in (REPO / "docs" / "params.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3:
            key = cells[0].strip("`")
            assert key not in rows, f"docs/params.md lists {key} twice"
            rows[key] = (cells[1].removeprefix("`").removesuffix("`"), cells[2])
    return rows


def test_every_fairmot_command_shown_parses():
    # --help is appended: every option shown must exist. A shown command that ends in an option
    # without its value (`fairmot evaluate --gt`) fails too, as --help becomes that value: show it whole.
    commands = {command for text in _pages().values() for command in _fairmot_commands(text)}
    assert len(commands) >= 20 and "fairmot tune --apply" in commands
    runner = CliRunner()
    for command in sorted(commands):
        done = runner.invoke(app, [*shlex.split(command)[1:], "--help"])
        assert done.exit_code == 0, f"{command!r}: {done.output}"


def test_a_command_with_an_unknown_option_fails_the_check():
    # The check above would pass vacuously if --help hid bad options.
    done = CliRunner().invoke(app, ["evaluate", "--engine", "onnx", "--help"])
    assert done.exit_code == 2 and "No such option" in done.output


def test_every_params_key_named_in_the_docs_exists():
    named = set()
    for name, text in _pages().items():
        for snippet in _snippets(text):
            for value in SET_OPTION.findall(snippet):
                named.add((name, value.strip("'\"").split("=")[0]))
            first = snippet.split(".")[0]
            if first in SECTIONS and re.fullmatch(r"[A-Za-z_][\w.\[\]]*(\.\*)?(\s*[:=].*)?", snippet):
                named.add((name, re.split(r"\s*[:=]", snippet)[0].removesuffix(".*")))
    assert ("README.md", "data.source") in named and ("docs/data.md", "data.datasets.1.path") in named
    valid = set(SCHEMA) | SECTIONS
    unknown = sorted((name, key) for name, key in named if _as_schema_key(key) not in valid)
    assert not unknown, f"params keys named in the docs but not in the schema: {unknown}"


def test_params_page_lists_every_schema_key_with_its_default():
    table = _params_table()
    assert sorted(table) == sorted(SCHEMA), (
        f"missing from docs/params.md: {sorted(set(SCHEMA) - set(table))}; not in the schema: {sorted(set(table) - set(SCHEMA))}")
    wrong = {key: (table[key][0], _format_default(value)) for key, value in SCHEMA.items() if table[key][0] != _format_default(value)}
    assert not wrong, f"docs/params.md defaults differ from the schema (page, schema): {wrong}"
    long = [key for key, (_, meaning) in table.items() if len(meaning) > CELL_MAX_CHARS]
    assert not long, f"docs/params.md: keep these meanings under {CELL_MAX_CHARS} characters: {long}"


def test_schema_defaults_are_what_load_params_gives():
    # The table is checked against the dataclass defaults; they are the loader's defaults too.
    loaded = load_params(None, {})
    assert loaded.track.conf_thres == SCHEMA["track.conf_thres"] and loaded.eval.batch == SCHEMA["eval.batch"]
    assert dataclasses.asdict(loaded) == dataclasses.asdict(Params())


def test_default_formatting():
    assert [_format_default(v) for v in (False, True, "", [], [10], ["jde", "bytetrack"], 0.0005, 1.0, -1)] == [
        "false", "true", "''", "[]", "[10]", "[jde, bytetrack]", "0.0005", "1.0", "-1"]
    assert _as_schema_key("data.datasets.1.path") == "data.datasets[].path" and _as_schema_key("track.K") == "track.K"


def test_readme_is_short():
    lines = (REPO / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/ (at most {README_MAX_LINES})"


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+)$", FENCE.sub("", text), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page):
    for target in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.name}: link to {target} points to no file"
        if anchor and resolved.suffix == ".md":
            assert anchor in _anchors(resolved.read_text()), f"{page.name}: {target}: no heading with that anchor"


def test_readme_results_are_the_committed_run():
    # The README's one results table states the committed reports' figures, not an older run's.
    readme = (REPO / "README.md").read_text()
    metrics = json.loads((REPO / "reports" / "metrics.json").read_text())
    headline = "MOTA {:.1f}, IDF1 {:.1f}, HOTA {:.1f}".format(*(100 * metrics[k] for k in ("MOTA", "IDF1", "HOTA")))
    assert headline in readme, f"README.md should state the committed reports/metrics.json: {headline}"
    assert f"{metrics['fps']:.1f} FPS" in readme and "make repro" in readme
    device = re.sub(r"^(CPU|cuda:?\d*)\s*|\s*\(.*\)$", "", metrics["device"])  # "CPU AMD EPYC (2 threads)" -> "AMD EPYC"
    assert device and device in readme, f"README.md should name the committed run's device: {metrics['device']}"


def test_docs_cite_no_project_issue_numbers():
    # A reader has no issue tracker open: say what holds, not which issue asked for it (upstream
    # references such as "ifzhang/FairMOT #303" name their repository and stay).
    for name, text in _pages().items():
        if name != "docs/FAIRMOT_SPEC.md":
            assert not re.search(r"\bissues? #?\d+", text, re.I), f"{name} cites a project issue number"
