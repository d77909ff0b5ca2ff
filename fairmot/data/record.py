"""datasets.json: which dataset of a mixed dataset folder is what (written by `fairmot download`).

Its presence is what makes `fairmot labels` mix; a single-source folder has none.
"""

from __future__ import annotations

import json
from pathlib import Path

RECORD = "datasets.json"


def read_record(dataset_root: Path) -> list[dict] | None:
    """The datasets of a mixed dataset folder in order, or None for a single-source folder."""
    path = Path(dataset_root) / RECORD
    if not path.exists():
        return None
    return json.loads(path.read_text())["datasets"]
