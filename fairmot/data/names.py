"""Natural order of file names: the order a person numbering frames meant (`2.jpg` before `10.jpg`)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"([0-9]+)")


def natural_key(name: str) -> tuple:
    """Sort key of a file name with its digit runs compared as numbers: `frame_2` < `frame_10`, `1` < `2` < `10`;
    names equal as numbers (`01.jpg`, `1.jpg`) in plain order."""
    parts = _DIGITS.split(name)  # text, digits, text, digits, ..., text: the same kind at the same index
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), name
