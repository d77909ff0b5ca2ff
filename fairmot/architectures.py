"""The networks `arch` may name, each with its default head width: the one list, free of torch.

params.yaml's `arch` is checked when any stage loads it, and most stages never build a network, so
the names live here rather than in fairmot.models (whose import costs torch and every network);
fairmot.models.ARCHITECTURES pairs each name with its builder.
"""

from __future__ import annotations

# arch name -> default head_conv (the width of the heads' hidden conv when params give -1)
DEFAULT_HEAD_CONV: dict[str, int] = {
    "dla34": 256,
    "dlaconv": 256,
    "dla_tiny": 64,
    "hrnet18": 256,
    "hrnet32": 256,
}

ARCHS: tuple[str, ...] = tuple(DEFAULT_HEAD_CONV)
