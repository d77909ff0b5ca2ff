"""Checks of values the schema's types allow but the pipeline cannot run with."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from fairmot.architectures import ARCHS
from fairmot.config.schema import DatasetParams, Params
from fairmot.errors import ConfigError


def check_values(p: Params, where: Callable[[str], str]) -> None:
    """Values the types allow but the pipeline cannot use; `where(key)` starts the message."""

    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{where(key)} {why}")

    _check_training(p, fail)
    p.gpu_ids  # noqa: B018 -- parse now so a bad value fails at load time
    if p.data.source == "local" and not p.data.path:
        fail("data.path", "must name a MOT17-layout folder or zip when data.source is 'local'")
    _check_datasets(p.data.datasets, fail)
    if not p.data.max_extract_gb > 0:
        fail("data.max_extract_gb", f"= {p.data.max_extract_gb} must be a positive number of GB")
    if not p.data.max_compression_ratio >= 1:
        fail("data.max_compression_ratio", f"= {p.data.max_compression_ratio} must be at least 1 (uncompressed / compressed)")
    if not 0 < p.track.conf_thres < 1:
        fail("track.conf_thres", f"= {p.track.conf_thres} must be between 0 and 1")
    if not 0 <= p.track.det_floor <= p.track.conf_thres:
        fail("track.det_floor", f"= {p.track.det_floor} must lie between 0 and track.conf_thres ({p.track.conf_thres})")
    if p.track.method == "bytetrack" and not p.track.det_floor <= p.track.low_thres <= p.track.conf_thres:
        fail("track.low_thres", f"= {p.track.low_thres} must lie between track.det_floor ({p.track.det_floor}) "
             f"and track.conf_thres ({p.track.conf_thres})")
    if p.tune.n_trials < 1 or p.tune.n_jobs < 1:
        fail("tune.n_trials", "and tune.n_jobs must both be at least 1")
    if not p.tune.methods or set(p.tune.methods) - {"jde", "bytetrack"}:
        fail("tune.methods", f"= {p.tune.methods} must list jde and/or bytetrack")
    if not 0 < p.track.low_iou_gate <= 1:
        fail("track.low_iou_gate", f"= {p.track.low_iou_gate} must be in (0, 1] (a 1 - IoU cost)")
    if p.synthetic.train_sequences < 1 or p.synthetic.val_sequences < 1:
        fail("synthetic.train_sequences", "and synthetic.val_sequences must both be at least 1")
    if p.synthetic.width % 32 or p.synthetic.height % 32:
        fail("synthetic.width", "and synthetic.height must be multiples of 32")


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


def _check_training(p: Params, fail: Callable[[str, str], None]) -> None:
    from fairmot.devices import AMP_MODES

    if p.arch not in ARCHS:
        close = difflib.get_close_matches(p.arch, ARCHS, n=1)
        fail("arch", f"= {p.arch!r} is not a known network; choose one of {', '.join(ARCHS)}"
             + (f" (did you mean {close[0]!r}?)" if close else ""))
    for key in ("input_w", "input_h"):
        value = getattr(p, key)
        if value <= 0 or value % 32:
            fail(key, f"= {value} must be a positive multiple of 32 (the network downsamples 32x)")
    for key in ("batch_size", "nproc", "num_epochs"):
        if getattr(p, key) <= 0:
            fail(key, f"= {getattr(p, key)} must be positive")
    if p.eval.batch <= 0:
        fail("eval.batch", f"= {p.eval.batch} must be a positive number of frames per network pass")
    if p.num_iters == 0 or p.num_iters < -1:
        fail("num_iters", f"= {p.num_iters} must be a positive number of iterations per epoch, "
                          "or -1 for one pass over the data")
    if p.lr <= 0:
        fail("lr", f"= {p.lr} must be positive")
    if p.num_workers < 0:
        fail("num_workers", f"= {p.num_workers} must be >= 0")
    if isinstance(p.amp, str) and p.amp.lower() not in AMP_MODES:
        fail("amp", f"= {p.amp!r} must be one of {', '.join(AMP_MODES)}, or a YAML true/false")
