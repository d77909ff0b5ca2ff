"""The typed schema of params.yaml and its one loader (schema.py, loader.py, checks.py).

Every stage reads its parameters through `load_params`, so a misspelt or mistyped key fails the
same way everywhere: one message naming the file (or the command-line option), the key, and the fix.

One source of defaults: the dataclass defaults in schema.py equal the shipped params.yaml (a test compares
them), so a key left out of the file means the shipped value, and an empty file is an error.
"""

from __future__ import annotations

from fairmot.architectures import ARCHS
from fairmot.config.loader import load_params
from fairmot.config.schema import (
    EVAL_SPLITS,
    MOT17_SDP_SEQUENCES,
    DataParams,
    DatasetParams,
    EvalParams,
    EvalSplit,
    ExportParams,
    Params,
    SyntheticParams,
    TrackParams,
    TuneParams,
    parse_gpus,
)

__all__ = [
    "ARCHS", "EVAL_SPLITS", "MOT17_SDP_SEQUENCES", "DataParams", "DatasetParams", "EvalParams", "EvalSplit", "ExportParams", "Params",
    "SyntheticParams", "TrackParams", "TuneParams", "load_params", "parse_gpus",
]
