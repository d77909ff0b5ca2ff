"""Split index lines and where their labels live: all that training needs of the labels stage.

Kept apart from fairmot/data/labels.py so the train and evaluate stages do not depend on (and
re-run for) the label writers of every dataset kind.
"""

from __future__ import annotations

from pathlib import Path

from fairmot.errors import DataError


def label_path(labels_root: Path, image_rel: str) -> Path:
    """Map a split-index line (images/<split>/<seq>/img1/000001.jpg) to its label file.

    Lines of a mixed dataset's detection and jde sets (sets/<name>/...) keep their whole path.
    """
    parts = Path(image_rel).parts
    if len(parts) >= 3 and parts[0] == "sets":
        return Path(labels_root).joinpath(*parts).with_suffix(".txt")
    if len(parts) < 3 or parts[0] != "images":
        raise DataError(f"{image_rel}: not an image path of the form images/<split>/<seq>/img1/<frame>.jpg")
    return Path(labels_root).joinpath(*parts[1:]).with_suffix(".txt")


def read_split(path: Path) -> list[str]:
    """The image paths of a split index file (one per line, relative to the dataset root)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: split index not found; run `fairmot labels` first")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
