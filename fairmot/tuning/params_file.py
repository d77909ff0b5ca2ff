"""`fairmot tune --apply`: write the tuned track keys into the user's params file, comments kept.

The edit is by lines, so comments and layout stay; the section's own indentation is used (two
spaces, four, a tab), a header may carry a comment (`track:  # tuned`), and the edited text is
parsed again and compared with what was meant before it replaces the file: an edit that would
leave the file invalid, or change anything but the tuned keys, is refused and the file untouched.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from fairmot.errors import ConfigError
from fairmot.io import write_text

_HEADER = re.compile(r"^track:(?:[ \t].*)?$")  # a comment or an inline (flow) value may follow
_KEY = re.compile(r"^(?P<indent>[ \t]+)(?P<key>[A-Za-z_][A-Za-z0-9_]*)[ \t]*:")


def apply_track_params(params_path: Path, values: dict[str, Any]) -> None:
    """Set track.<key>: value in a params.yaml in place; a key not written there yet is added at the
    end of the section."""
    params_path = Path(params_path)
    text = params_path.read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line)), None)
    if start is None:
        raise ConfigError(f"{params_path}: no top-level 'track:' section to write the tuned params to")
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].strip() and not lines[i].startswith((" ", "\t", "#"))), len(lines))
    keys = [(i, m) for i in range(start + 1, end) if (m := _KEY.match(lines[i]))]
    indent = keys[0][1]["indent"] if keys else "  "
    pending = dict(values)
    for i, match in keys:
        if match["indent"] == indent and match["key"] in pending:
            lines[i] = f"{indent}{match['key']}: {_yaml_scalar(pending.pop(match['key']))}"
    last = max((i for i in range(start, end) if lines[i].strip() and not lines[i].lstrip().startswith("#")), default=start)
    lines[last + 1:last + 1] = [f"{indent}{key}: {_yaml_scalar(value)}" for key, value in pending.items()]
    edited = "\n".join(lines) + "\n"
    _verify(params_path, text, edited, values)
    write_text(params_path, edited)


def _verify(path: Path, before: str, after: str, values: dict[str, Any]) -> None:
    """The edited text parses, holds the tuned values, and differs from the original in nothing else."""
    expected = yaml.safe_load(before) or {}
    expected.setdefault("track", {})
    expected["track"].update({key: yaml.safe_load(_yaml_scalar(value)) for key, value in values.items()})
    try:
        got = yaml.safe_load(after)
    except yaml.YAMLError:
        got = None
    if got != expected:
        settings = ", ".join(f"track.{key}: {_yaml_scalar(value)}" for key, value in values.items())
        raise ConfigError(f"{path}: its track section is not laid out one key per line, so it cannot be edited "
                          f"safely; the file is unchanged. Set these by hand: {settings}")


def _yaml_scalar(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
