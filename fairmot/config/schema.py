"""The typed schema of params.yaml: one dataclass per section, defaults equal to the shipped file.

One source of defaults: the dataclass defaults below equal the shipped params.yaml (a test compares
them), so a key left out of the file means the shipped value, and an empty file is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from fairmot.errors import ConfigError

MOT17_SDP_SEQUENCES = [f"MOT17-{n:02d}-SDP" for n in (2, 4, 5, 9, 10, 11, 13)]


@dataclass
class DatasetParams:
    """One entry of data.datasets: a named source of one kind (README "Training on your own data")."""

    name: str = ""
    # mot: MOTChallenge layout or a CVAT "MOT 1.1" export; detection: CrowdHuman .odgt (no identities);
    # jde: the reference's images + labels_with_ids + a list file; synthetic: the embedded generator
    # visdrone: VisDrone2019-MOT (sequences/ + annotations/, categories 0 ignored region .. 11 others)
    kind: Literal["mot", "detection", "jde", "synthetic", "visdrone"] = "mot"
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
    # The source's labels -> names in `classes` (MOT/VisDrone class numbers, CVAT label names, jde class
    # numbers); {} = the kind's default (fairmot.data.classes.DEFAULT_CLASS_MAPS); unmapped labels are left out
    class_map: dict[str, str] = field(default_factory=dict)
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
    # The single source's labels -> names in `classes` (its gt class numbers); {} = the kind's default
    class_map: dict[str, str] = field(default_factory=dict)
    # Several sources mixed for training; when set, source/url/path/sequences above are not used
    datasets: list[DatasetParams] = field(default_factory=list)
    # Archives: refuse one whose members to extract declare more than this many GB in all
    max_extract_gb: float = 200.0
    # Archives: refuse a member of 1 MiB or more that inflates more than this (a zip bomb)
    max_compression_ratio: float = 200.0


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
    # street: pedestrians, cyclists and cars (gt classes 1, 4, 3) crossing and hiding each other
    preset: Literal["default", "crowd", "street"] = "default"
    # preset: the preset's own camera (default: static, crowd: shake); static; shake (a pixel or two);
    # pan (smooth pans and zooms of a few percent per second, plus the shake; ground truth stays exact)
    camera: Literal["preset", "static", "shake", "pan"] = "preset"


@dataclass
class TrackParams:
    """The tracker (JDETracker, BYTETracker or BoTSORT), decoding thresholds (FairMOT defaults) and gap filling."""

    conf_thres: float = 0.4
    track_buffer: int = 30
    min_box_area: float = 100.0
    # w/h above which a box is not reported (FairMOT's upright prior); several classes: the main class only
    max_aspect_ratio: float = 1.6
    K: int = 500
    # Several classes: a candidate overlapping a higher-scoring one of another class by this IoU is
    # dropped before tracking (one object found as two classes); 0 = keep all (MCMOT's behaviour)
    class_nms: float = 0.6
    # jde: FairMOT's JDETracker; bytetrack: ByteTrack's association (low-score boxes continue tracks);
    # botsort: ByteTrack's two stages with BoT-SORT's fusion of IoU and appearance and its (x, y, w, h) Kalman filter
    method: Literal["jde", "bytetrack", "botsort"] = "jde"
    # bytetrack, botsort: candidates scoring in (low_thres, conf_thres] may continue (never start) a track
    low_thres: float = 0.1
    # bytetrack, botsort: a low-score candidate continues a track only when 1 - IoU is below this
    low_iou_gate: float = 0.5
    # The detection cache keeps every candidate above this, so later thresholds need no network
    det_floor: float = 0.05
    # botsort: the first association matches a pair only when its fused cost is below this
    match_thresh: float = 0.8
    # botsort: appearance counts only for pairs whose 1 - IoU is at most this
    proximity_thresh: float = 0.5
    # botsort: a halved cosine distance above this counts as another person
    appearance_thresh: float = 0.25
    # botsort: IoU similarity times the detection score (BoT-SORT's MOT17 setting; its MOT20 one is false)
    fuse_score: bool = True
    # Offline gap filling of the result files in `evaluate` (never in `track`): none | linear | gsi
    # (linear, then StrongSORT's Gaussian-process smoothing of each track)
    interpolate: Literal["none", "linear", "gsi"] = "none"
    # interpolate: fill gaps of at most this many missing frames per id
    max_gap: int = 20
    # gsi: StrongSORT's tau, which sets the smoothing length scale from the track's length
    gsi_tau: float = 10.0
    # Camera motion compensation: move the tracks by the camera's frame-to-frame warp before association.
    # none | sparse (optical flow) | ecc | orb; from the cache, detect must have cached it (eval.cmc)
    cmc: Literal["none", "sparse", "ecc", "orb"] = "none"


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
    # detect/track run the network through: torch (lean PyTorch) | onnx (ONNX Runtime on the
    # `fairmot export` graph, data/export/model.onnx) | openvino (OpenVINO on the IR beside it)
    engine: Literal["torch", "onnx", "openvino"] = "torch"
    # The openvino engine's arithmetic: fp32 | bf16 (CPUs with BF16) | int8 (the calibrated IR)
    precision: Literal["fp32", "bf16", "int8"] = "fp32"
    # CPU threads of the engine (ONNX Runtime intra-op and PyTorch); 0 = the library's default
    threads: int = 0
    # Frames per network pass in `detect` (offline; `track` is online, one frame at a time)
    batch: int = 4
    # Camera motion estimators whose frame-to-frame warps `detect` caches beside the detections, so
    # that track.cmc can use them with no images ([] = none: detect stays as cheap as without cmc)
    cmc: list[Literal["sparse", "ecc", "orb"]] = field(default_factory=list)


@dataclass
class ExportParams:
    """`fairmot export`: the OpenVINO IR's int8 calibration and how close bf16/int8 must track to fp32."""

    # Training frames (never the evaluated ones) NNCF calibrates the int8 IR on, evenly spaced
    calibration_frames: int = 300
    # bf16 and int8 fail the export when MOTA, IDF1 or HOTA on eval.split fall more than this below fp32's
    tolerance: float = 0.005


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
    # Where the study is kept (a rerun resumes it; processes given the same one share it): a journal
    # file, or an RDB URL (sqlite:///..., postgresql://...); "" = study.journal beside the detection cache
    storage: str = ""
    # The study's name; "" = derived from the objective, methods, track params and detections
    study: str = ""


@dataclass
class Params:
    """All of params.yaml. Training knobs are top-level, named as FairMOT's training arguments."""

    arch: str = "dla_tiny"
    # The object classes, main class first: one heatmap channel, re-ID classifier and track set each
    classes: list[str] = field(default_factory=lambda: ["pedestrian"])
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
    # lr follows batch_size: none | linear (lr * batch_size / lr_base_batch) | sqrt (lr * sqrt of that)
    lr_scale: Literal["none", "linear", "sqrt"] = "none"
    # The batch `lr` was tuned for (the reference's 12: lr 1e-4 at batch 12)
    lr_base_batch: int = 12
    # Optimiser steps of linear warm-up from 0.001 x the lr to the lr; 0 = none
    warmup_iters: int = 0
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
    export: ExportParams = field(default_factory=ExportParams)
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
