"""Checks of values the schema's types allow but the pipeline cannot run with."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fairmot.architectures import ARCHS
from fairmot.config.schema import DatasetParams, Params
from fairmot.devices import AMP_MODES
from fairmot.errors import ConfigError

#: The largest seed: numpy's legacy seeding and Optuna's TPE sampler take 32-bit seeds.
SEED_MAX = 2**32 - 1
#: eval.batch's ceiling: detect allocates the whole batch of frames up front (10000 frames were OOM-killed),
#: and past a few dozen frames per pass the throughput no longer grows.
MAX_EVAL_BATCH = 256


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of one number (None = unbounded; open_low excludes `low`), and what it counts."""

    low: float | None = None
    high: float | None = None
    open_low: bool = False
    note: str = ""

    def admits(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.open_low else value < self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self, value: float) -> str:
        kind = "a finite number" if isinstance(value, float) else "an integer"
        if self.low is not None and self.high is not None:
            bounds = f"in {'(' if self.open_low else '['}{_num(self.low)}, {_num(self.high)}]"
        elif self.low is not None:
            bounds = f"{'>' if self.open_low else '>='} {_num(self.low)}"
        else:
            bounds = f"<= {_num(self.high)}"
        return f"must be {kind} {bounds}" + (f" ({self.note})" if self.note else "")


def _num(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


_SEED = Range(0, SEED_MAX)
_COUNT = Range(1)
#: Every number of params.yaml without a check of its own below, by dotted key.
RANGES: dict[str, Range] = {
    "batch_size": _COUNT, "nproc": _COUNT, "num_epochs": _COUNT,
    "num_workers": Range(0, note="0 = load in the training process"),
    "lr": Range(0.0, open_low=True),
    "lr_base_batch": Range(1, note="the global batch lr was tuned for"),
    "warmup_iters": Range(0, note="optimiser steps; 0 = no warm-up"),
    "seed": _SEED,
    "reid_dim": _COUNT,
    "head_conv": Range(-1, note="-1 = the architecture's default, 0 = no hidden conv"),
    **{f"{name}_weight": Range(0.0) for name in ("hm", "wh", "off", "id")},
    "synthetic.seed": _SEED,
    "synthetic.train_sequences": _COUNT, "synthetic.val_sequences": _COUNT,
    "synthetic.frames": Range(2, note="the val split is the second half of each sequence"),
    "synthetic.frame_rate": _COUNT,
    "synthetic.density": Range(0.0, open_low=True, note="the mean number of people in view"),
    "synthetic.ignore_fraction": Range(0.0, 1.0),
    "track.track_buffer": Range(0, note="frames a lost track is kept at 30 fps"),
    "track.min_box_area": Range(0.0, note="square pixels"),
    "track.max_aspect_ratio": Range(0.0, open_low=True, note="width / height"),
    "track.K": Range(1, note="candidates decoded per frame"),
    "track.class_nms": Range(0.0, 1.0, note="an IoU; 0 = off"),
    "track.low_thres": Range(0.0, 1.0),
    "track.match_thresh": Range(0.0, 1.0, open_low=True, note="a fused cost in [0, 1]"),
    "track.proximity_thresh": Range(0.0, 1.0, note="a 1 - IoU cost"),
    "track.appearance_thresh": Range(0.0, 1.0, note="a halved cosine distance"),
    "track.max_gap": Range(1, note="missing frames filled per id"),
    "track.gsi_tau": Range(0.0, open_low=True, note="StrongSORT's tau, 10 there"),
    "eval.warmup_frames": Range(0),
    "eval.gate_tolerance": Range(0.0, 1.0, note="a drop of the metrics, which are fractions"),
    "eval.report_frames": Range(0),
    "eval.threads": Range(0, note="0 = the library's default"),
    "export.calibration_frames": Range(1, note="training frames the int8 IR is calibrated on"),
    "export.tolerance": Range(0.0, 1.0, note="a drop of the metrics, which are fractions"),
    "tune.n_trials": _COUNT, "tune.n_jobs": _COUNT,
    "tune.seed": _SEED,
}


def numeric_keys(section: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every int and float of a params dataclass, sections included."""
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if dataclasses.is_dataclass(value):
            yield from numeric_keys(value, f"{prefix}{f.name}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{f.name}", value


def check_values(p: Params, where: Callable[[str], str]) -> None:
    """Values the types allow but the pipeline cannot use; `where(key)` starts the message."""

    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{where(key)} {why}")

    _check_ranges(p, fail)
    _check_training(p, fail)
    p.gpu_ids  # noqa: B018 -- parse now so a bad value fails at load time
    if p.data.source == "local" and not p.data.path:
        fail("data.path", "must name a MOT17-layout folder or zip when data.source is 'local'")
    _check_datasets(p.data.datasets, fail)
    _check_classes(p, fail)
    if not p.data.max_extract_gb > 0:
        fail("data.max_extract_gb", f"= {p.data.max_extract_gb} must be a positive number of GB")
    if not p.data.max_compression_ratio >= 1:
        fail("data.max_compression_ratio", f"= {p.data.max_compression_ratio} must be at least 1 (uncompressed / compressed)")
    if not 0 < p.track.conf_thres < 1:
        fail("track.conf_thres", f"= {p.track.conf_thres} must be between 0 and 1")
    if not 0 <= p.track.det_floor <= p.track.conf_thres:
        fail("track.det_floor", f"= {p.track.det_floor} must lie between 0 and track.conf_thres ({p.track.conf_thres})")
    if p.track.method in ("bytetrack", "botsort") and not p.track.det_floor <= p.track.low_thres <= p.track.conf_thres:
        fail("track.low_thres", f"= {p.track.low_thres} must lie between track.det_floor ({p.track.det_floor}) "
             f"and track.conf_thres ({p.track.conf_thres})")
    if not p.tune.methods or set(p.tune.methods) - {"jde", "bytetrack", "botsort"}:
        fail("tune.methods", f"= {p.tune.methods} must list some of jde, bytetrack and botsort")
    if not 0 < p.track.low_iou_gate <= 1:
        fail("track.low_iou_gate", f"= {p.track.low_iou_gate} must be in (0, 1] (a 1 - IoU cost)")
    for key in ("width", "height"):
        value = getattr(p.synthetic, key)
        if value <= 0 or value % 32:
            fail(f"synthetic.{key}", f"= {value} must be a positive multiple of 32 (the network downsamples 32x)")
    for key, value in numeric_keys(p):  # a float key without a range still may not be NaN or infinite
        if isinstance(value, float) and not math.isfinite(value):
            fail(key, f"= {value} must be a finite number")


def _check_ranges(p: Params, fail: Callable[[str, str], None]) -> None:
    for key, value in numeric_keys(p):
        bounds = RANGES.get(key)
        if bounds is not None and not bounds.admits(value):
            fail(key, f"= {value} {bounds.describe(value)}")
    for i, step in enumerate(p.lr_step):
        if step < 1:
            fail(f"lr_step[{i}]", f"= {step} must be an epoch number >= 1 (the learning rate drops after it)")
    for i, d in enumerate(p.data.datasets):
        if d.frame_rate < 1:
            fail(f"data.datasets[{i}].frame_rate", f"= {d.frame_rate} must be an integer >= 1")


def _check_datasets(datasets: list[DatasetParams], fail: Callable[[str, str], None]) -> None:
    seen: set[str] = set()
    for i, d in enumerate(datasets):
        key = f"data.datasets[{i}]"
        if not d.name or not d.name.replace("-", "").replace("_", "").isalnum():
            fail(f"{key}.name", f"= {d.name!r} must be a non-empty name of letters, digits, - and _")
        if d.name in seen:
            fail(f"{key}.name", f"= {d.name!r} is used twice; every dataset needs its own name")
        seen.add(d.name)
        if d.kind != "synthetic" and not (d.url or d.path):
            fail(f"{key}", f"({d.name}) needs 'url' (with sha256 or md5) or 'path' (a local folder or zip)")
        if d.kind == "jde" and not d.list_file:
            fail(f"{key}.list_file", f"({d.name}) must name the list file of image paths (e.g. mot17.train)")


def _check_classes(p: Params, fail: Callable[[str, str], None]) -> None:
    if not p.classes:
        fail("classes", "must list at least one class (e.g. [pedestrian])")
    for i, name in enumerate(p.classes):
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            fail(f"classes[{i}]", f"= {name!r} must be a non-empty name of letters, digits, - and _")
    if len(set(p.classes)) != len(p.classes):
        fail("classes", f"= {p.classes} names a class twice")
    maps = [("data.class_map", p.data.class_map)]
    maps += [(f"data.datasets[{i}].class_map", d.class_map) for i, d in enumerate(p.data.datasets)]
    for key, class_map in maps:
        for label, name in class_map.items():
            if name not in p.classes:
                fail(f"{key}.{label}", f"= {name!r} is not one of classes {p.classes}; map labels only onto listed classes")


def _check_training(p: Params, fail: Callable[[str, str], None]) -> None:
    if p.arch not in ARCHS:
        close = difflib.get_close_matches(p.arch, ARCHS, n=1)
        fail("arch", f"= {p.arch!r} is not a known network; choose one of {', '.join(ARCHS)}"
             + (f" (did you mean {close[0]!r}?)" if close else ""))
    for key in ("input_w", "input_h"):
        value = getattr(p, key)
        if value <= 0 or value % 32:
            fail(key, f"= {value} must be a positive multiple of 32 (the network downsamples 32x)")
    if not 0 < p.eval.batch <= MAX_EVAL_BATCH:
        fail("eval.batch", f"= {p.eval.batch} must be a positive number of frames per network pass, at most "
                           f"{MAX_EVAL_BATCH} (detect holds the whole batch in memory at once)")
    if p.num_iters == 0 or p.num_iters < -1:
        fail("num_iters", f"= {p.num_iters} must be a positive number of iterations per epoch, "
                          "or -1 for one pass over the data")
    if isinstance(p.amp, str) and p.amp.lower() not in AMP_MODES:
        fail("amp", f"= {p.amp!r} must be one of {', '.join(AMP_MODES)}, or a YAML true/false")
