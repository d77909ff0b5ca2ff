"""The typed schema of params.yaml and its one loader.

Every stage reads its parameters through `load_params`, so a misspelt or mistyped key fails the
same way everywhere: one message naming the file (or the command-line option), the key, and the fix.

One source of defaults: the dataclass defaults below equal the shipped params.yaml (a test compares
them), so a key left out of the file means the shipped value, and an empty file is an error.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml

from fairmot.errors import ConfigError

MOT17_SDP_SEQUENCES = [f"MOT17-{n:02d}-SDP" for n in (2, 4, 5, 9, 10, 11, 13)]


@dataclass
class DatasetParams:
    """One entry of data.datasets: a named source of one kind (README "Training on your own data")."""

    name: str = ""
    # mot: MOTChallenge layout or a CVAT "MOT 1.1" export; detection: CrowdHuman .odgt (no identities);
    # jde: the reference's images + labels_with_ids + a list file; synthetic: the embedded generator
    kind: Literal["mot", "detection", "jde", "synthetic"] = "mot"
    url: str = ""
    sha256: str = ""
    md5: str = ""
    # A local folder or zip instead of url
    path: str = ""
    # mot: sequences to keep (names or globs; empty = all, MOT17 keeps the SDP copies)
    sequences: list[str] = field(default_factory=list)
    # jde: the list file of image paths (e.g. mot17.train), relative to the source root
    list_file: str = ""
    # mot from CVAT (gt/labels.txt present): the label names that are pedestrians
    classes: list[str] = field(default_factory=lambda: ["person", "pedestrian"])
    # mot without seqinfo.ini (CVAT exports): the frame rate to record
    frame_rate: int = 30
    # Clip boxes to the image in the labels (counted in the manifest)
    clip: bool = True


@dataclass
class DataParams:
    """Where the dataset comes from and which frames train and evaluate."""

    # synthetic: the embedded generator; mot17: download data.url; local: data.path on disk
    source: Literal["synthetic", "mot17", "local"] = "synthetic"
    url: str = "https://motchallenge.net/data/MOT17.zip"
    sha256: str = ""
    md5: str = ""
    path: str = ""
    # Sequences to keep (MOT17: the SDP copies only; empty = every sequence found)
    sequences: list[str] = field(default_factory=list)
    # Frames the model trains on: train (all frames) or half (first half, the ablation protocol)
    train_split: Literal["train", "half"] = "train"
    # Several sources mixed for training; when set, source/url/path/sequences above are not used
    datasets: list[DatasetParams] = field(default_factory=list)


@dataclass
class SyntheticParams:
    """The embedded dataset: pedestrian-like figures on a textured background, exact ground truth."""

    seed: int = 0
    train_sequences: int = 4
    val_sequences: int = 2
    frames: int = 150
    width: int = 320
    height: int = 192
    frame_rate: int = 30
    # Mean number of figures in view
    density: float = 8.0
    # Fraction of gt rows turned into ignore classes (2, 7, 8, 12) or zero-marked rows
    ignore_fraction: float = 0.03
    # default: the quick set; crowd: 25+ people per frame, heavy occlusion, shared outfits, shaking camera
    preset: Literal["default", "crowd"] = "default"


@dataclass
class TrackParams:
    """The tracker (JDETracker or BYTETracker) and decoding thresholds (FairMOT defaults)."""

    conf_thres: float = 0.4
    track_buffer: int = 30
    min_box_area: float = 100.0
    max_aspect_ratio: float = 1.6
    K: int = 500
    # jde: FairMOT's JDETracker; bytetrack: ByteTrack's association (low-score boxes continue tracks)
    method: Literal["jde", "bytetrack"] = "jde"
    # bytetrack: candidates scoring in (low_thres, conf_thres] may continue (never start) a track
    low_thres: float = 0.1
    # bytetrack: a low-score candidate continues a track only when 1 - IoU is below this
    low_iou_gate: float = 0.5
    # The detection cache keeps every candidate above this, so later thresholds need no network
    det_floor: float = 0.05


EvalSplit = Literal["test", "val", "train"]
#: The evaluation splits, derived from the one Literal (the evaluation package imports this).
EVAL_SPLITS: tuple[str, ...] = get_args(EvalSplit)


@dataclass
class EvalParams:
    """Which frames are scored and how the CI gate judges a change."""

    # test: held-out sequences with gt (synthetic); val: second half of train sequences (MOT17
    # ablation); train: whole train sequences (the reference's val_mot17 protocol)
    split: EvalSplit = "test"
    # Whose official preprocessing scores the results: MOT17 | MOT20 | DanceTrack (distractor classes)
    benchmark: Literal["MOT17", "MOT20", "DanceTrack"] = "MOT17"
    warmup_frames: int = 5
    # The CI gate fails when MOTA, IDF1 or HOTA drop more than this below the committed figures
    gate_tolerance: float = 0.05
    report_frames: int = 3
    # evaluate/track run the network through: torch (lean PyTorch) | onnx (ONNX Runtime on the
    # `fairmot export` graph, data/export/model.onnx)
    engine: Literal["torch", "onnx"] = "torch"
    # CPU threads of the engine (ONNX Runtime intra-op and PyTorch); 0 = the library's default
    threads: int = 0


@dataclass
class TuneParams:
    """`fairmot tune`: an Optuna search over the track section on a split that is not the test split."""

    n_trials: int = 40
    # The overall metric to maximise
    objective: Literal["HOTA", "MOTA", "IDF1", "AssA", "DetA"] = "HOTA"
    seed: int = 0
    # Trials in parallel threads (1 = reproducible order)
    n_jobs: int = 1
    # val: second halves of the training sequences; train: whole training sequences
    split: Literal["val", "train"] = "val"
    # Trackers the search may pick
    methods: list[str] = field(default_factory=lambda: ["jde", "bytetrack"])


@dataclass
class Params:
    """All of params.yaml. Training knobs are top-level, named as FairMOT's training arguments."""

    arch: str = "dla_tiny"
    # Global batch, split evenly over the processes
    batch_size: int = 16
    # -1 = CPU; "0" = one GPU; "0,1,2,3" (or a list) = one DDP process per GPU
    gpus: int | str | list[int] = -1
    # CPU processes (gloo DDP) when gpus is -1
    nproc: int = 1
    num_epochs: int = 12
    # Iterations per epoch; -1 = one pass over the data
    num_iters: int = -1
    num_workers: int = 2
    lr: float = 5.0e-4
    # Epochs after which the learning rate drops 10x
    lr_step: list[int] = field(default_factory=lambda: [10])
    seed: int = 317
    # Network input (multiples of 32); FairMOT on MOT17 uses 1088x608
    input_w: int = 320
    input_h: int = 192
    # Mixed precision: off | auto | bf16 | fp16, or a YAML bool (true = auto); see fairmot.devices.resolve_amp
    amp: bool | str = False
    not_cuda_benchmark: bool = False
    load_model: str = ""
    reid_dim: int = 128
    # -1 = the architecture's default (256 for DLA-34 and HRNet)
    head_conv: int = -1
    augment: bool = True
    hm_weight: float = 1.0
    wh_weight: float = 0.1
    off_weight: float = 1.0
    id_weight: float = 1.0
    data: DataParams = field(default_factory=DataParams)
    synthetic: SyntheticParams = field(default_factory=SyntheticParams)
    track: TrackParams = field(default_factory=TrackParams)
    eval: EvalParams = field(default_factory=EvalParams)
    tune: TuneParams = field(default_factory=TuneParams)

    @property
    def gpu_ids(self) -> list[int]:
        """The listed GPU indices; empty means CPU."""
        return parse_gpus(self.gpus)


def parse_gpus(value: int | str | list[int]) -> list[int]:
    if isinstance(value, list):
        ids = [int(v) for v in value]
    elif isinstance(value, int):
        ids = [value]
    else:
        text = value.strip().strip("[]")
        try:
            ids = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(
                f"gpus: {value!r} is not a GPU list; use -1 for CPU, 0 for one GPU or '0,1,2,3'"
            ) from None
    if ids == [-1] or not ids:
        return []
    if any(i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise ConfigError(f"gpus: {value!r} must be -1 or distinct GPU indices >= 0")
    return ids


def load_params(path: Path | str | None = "params.yaml", overrides: Mapping[str, Any] | None = None) -> Params:
    """Read params.yaml (missing keys take the shipped defaults), apply dotted-key overrides, validate.

    `overrides` maps dotted keys ("track.conf_thres") to values given on the command line; None values
    are ignored, so options that were not given leave the file's value alone. A bad override is
    reported as the command-line option (--conf-thres), not as a params.yaml value.
    """
    raw: dict[str, Any] = {}
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    origin = _Origin("defaults" if path is None else str(path), frozenset(given))
    if path is not None:
        raw = _read_yaml(Path(path))
    for dotted, value in given.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    params = _build(Params, raw, prefix="", origin=origin)
    _check_values(params, origin)
    return params


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: params file not found; run from the project root or pass --params FILE")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if raw is None or raw == {}:
        raise ConfigError(f"{path}: the params file is empty; restore the shipped params.yaml "
                          "(git checkout params.yaml) rather than training on unstated values")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return raw


@dataclass(frozen=True)
class _Origin:
    """Where each value came from: the params file, or a command-line option (an override)."""

    source: str
    cli_keys: frozenset[str] = frozenset()

    def of(self, key: str) -> str:
        """The prefix of an error about `key`: the file, or the option the user typed."""
        if key in self.cli_keys:
            return f"command-line option --{key.rsplit('.', 1)[-1].replace('_', '-')}: '{key}'"
        return f"{self.source}: '{key}'"


def _build(cls: type, raw: Mapping[str, Any], prefix: str, origin: _Origin) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            full = f"{prefix}{key}"
            candidates = [f"{prefix}{name}" for name in fields]
            close = difflib.get_close_matches(full, candidates, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys here: {', '.join(candidates)}"
            where = "command-line option" if full in origin.cli_keys else origin.source
            raise ConfigError(f"{where}: unknown parameter '{full}'{hint}")
    values = {}
    for name in fields:
        if name not in raw:
            continue
        hint = hints[name]
        full = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            section = raw[name] if raw[name] is not None else {}
            if not isinstance(section, Mapping):
                raise ConfigError(f"{origin.of(full)} must be a section (a mapping of keys), got {raw[name]!r}")
            values[name] = _build(hint, section, prefix=f"{full}.", origin=origin)
        else:
            values[name] = _coerce(raw[name], hint, full, origin.of(full))
    return cls(**values)


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """`value` as type `hint`; `where` starts the error message (file or option, and the key)."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            try:
                return _coerce(value, option, key, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where} = {value!r} must be {_describe(hint)}")
    if origin is Literal:
        if value not in get_args(hint):
            choices = ", ".join(repr(c) for c in get_args(hint))
            raise ConfigError(f"{where} = {value!r} must be one of {choices}")
        return value
    if dataclasses.is_dataclass(hint):  # an entry of a list of sections (data.datasets)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a section (a mapping of keys), got {value!r}")
        return _build(hint, value, prefix=f"{key}.", origin=_Origin(where.rsplit(": '", 1)[0]))
    if origin is list:
        (item,) = get_args(hint)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool) and item is not str:
            value = [value]  # `-S lr_step=20` gives a scalar
        if not isinstance(value, list):
            raise ConfigError(f"{where} = {value!r} must be {_describe(hint)}")
        return [_coerce(v, item, f"{key}[{i}]", where.replace(f"'{key}'", f"'{key}[{i}]'")) for i, v in enumerate(value)]
    return _coerce_scalar(value, hint, where)


def _coerce_scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r} must be true or false (a YAML boolean, not a string)")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} = {value!r} must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} = {value!r} must be a number{_float_hint(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} = {value!r} must be a string")
        return value
    raise TypeError(f"unsupported schema type {hint!r} for {where}")


def _float_hint(value: Any) -> str:
    """YAML 1.1 reads `5e-4` (no dot in the mantissa) as a string; say how to write it as a number."""
    if not isinstance(value, str):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    mantissa, _, exponent = value.lower().partition("e")
    if not exponent:
        return ""
    return (f" (YAML reads {value} as a string: its mantissa has no dot); "
            f"write {mantissa}.0e{exponent} or {number!r}")


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(hint))
    if origin is list:
        return f"a list of {_describe(get_args(hint)[0])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(hint, str(hint))


def architectures() -> tuple[str, ...]:
    """The network names, from the one registry (fairmot.models.ARCHITECTURES; imported late: torch)."""
    from fairmot.models import ARCHITECTURES

    return tuple(ARCHITECTURES)


def __getattr__(name: str) -> Any:
    # ARCHS is derived, and lazily, so importing the config (every CLI start) does not import torch.
    if name == "ARCHS":
        return architectures()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_values(p: Params, origin: _Origin) -> None:
    def fail(key: str, why: str) -> None:
        raise ConfigError(f"{origin.of(key)} {why}")

    _check_training(p, fail)
    p.gpu_ids  # noqa: B018 -- parse now so a bad value fails at load time
    if p.data.source == "local" and not p.data.path:
        fail("data.path", "must name a MOT17-layout folder or zip when data.source is 'local'")
    _check_datasets(p.data.datasets, fail)
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

    archs = architectures()
    if p.arch not in archs:
        close = difflib.get_close_matches(p.arch, archs, n=1)
        fail("arch", f"= {p.arch!r} is not a known network; choose one of {', '.join(archs)}"
             + (f" (did you mean {close[0]!r}?)" if close else ""))
    for key in ("input_w", "input_h"):
        value = getattr(p, key)
        if value <= 0 or value % 32:
            fail(key, f"= {value} must be a positive multiple of 32 (the network downsamples 32x)")
    for key in ("batch_size", "nproc", "num_epochs"):
        if getattr(p, key) <= 0:
            fail(key, f"= {getattr(p, key)} must be positive")
    if p.num_iters == 0 or p.num_iters < -1:
        fail("num_iters", f"= {p.num_iters} must be a positive number of iterations per epoch, "
                          "or -1 for one pass over the data")
    if p.lr <= 0:
        fail("lr", f"= {p.lr} must be positive")
    if p.num_workers < 0:
        fail("num_workers", f"= {p.num_workers} must be >= 0")
    if isinstance(p.amp, str) and p.amp.lower() not in AMP_MODES:
        fail("amp", f"= {p.amp!r} must be one of {', '.join(AMP_MODES)}, or a YAML true/false")
