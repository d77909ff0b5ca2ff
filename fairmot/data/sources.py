"""data.datasets: several sources of different kinds assembled into one dataset folder.

Layout of the assembled folder (`fairmot download`)::

    images/{train,test}/<seq>/...      mot and synthetic kinds (MOTChallenge layout, as before)
    sets/<name>/images/<ID>.jpg        detection kind (CrowdHuman), with sets/<name>/annotations.odgt
    sets/<name>/<listed path>          jde kind, labels beside them under labels_with_ids, list.txt
    datasets.json                      which dataset is what: name, kind, clip, sequences (a CVAT or
                                       VisDrone import: its gt.txt numbering "gt_classes" and "distractors")

The visdrone kind (VisDrone2019-MOT) becomes MOT-layout sequences as well (fairmot.data.formats.visdrone).

datasets.json is what tells `fairmot labels` to mix: without it (the single-source keys
data.source/url/path, which behave as a one-element list) the folder is exactly what it was
before data.datasets existed, so the embedded default stays byte-identical.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from fairmot.config import MOT17_SDP_SEQUENCES, DataParams, DatasetParams
from fairmot.data.archives import ExtractLimits, extract_zip_safely, open_zip, refuse_links_out, user_paths
from fairmot.data.classes import PEDESTRIAN, resolve_class_map
from fairmot.data.download import SPLITS, download_file, prepare_mot17
from fairmot.data.formats.crowdhuman import prepare_crowdhuman
from fairmot.data.formats.cvat import prepare_cvat
from fairmot.data.formats.jde import prepare_jde
from fairmot.data.formats.mot import read_seqinfo
from fairmot.data.formats.visdrone import DISTRACTORS as VISDRONE_DISTRACTORS
from fairmot.data.formats.visdrone import prepare_visdrone
from fairmot.data.record import RECORD
from fairmot.data.synthetic import generate_synthetic
from fairmot.errors import DataError
from fairmot.io import atomic_dir

log = logging.getLogger(__name__)


def resolve_datasets(data: DataParams) -> list[DatasetParams]:
    """data.datasets, or the single-source keys as the one-element list they stand for."""
    if data.datasets:
        return list(data.datasets)
    if data.source == "synthetic":
        return [DatasetParams(name="synthetic", kind="synthetic", clip=False)]
    if data.source == "mot17":
        return [DatasetParams(name="mot17", kind="mot", url=data.url, sha256=data.sha256, md5=data.md5,
                              sequences=data.sequences or [*MOT17_SDP_SEQUENCES, "MOT17-*-SDP"], clip=False)]
    return [DatasetParams(name="local", kind="mot", path=data.path, sequences=list(data.sequences), clip=False)]


def prepare_datasets(datasets: list[DatasetParams], out: Path, cache: Path, synthetic: dict, *,
                     record: bool = True, limits: ExtractLimits = ExtractLimits(),
                     classes: Sequence[str] = (PEDESTRIAN,)) -> None:
    """Fetch every source and assemble `out` (atomically); `record` False = the single-source folder.

    Archives are extracted within `limits` (data.max_extract_gb, data.max_compression_ratio);
    `classes` (params) name the classes a CVAT or VisDrone import records for its gt numbers.
    """
    entries = []
    with atomic_dir(Path(out)) as tmp:
        for spec in datasets:
            log.info("dataset %s (%s)", spec.name, spec.kind)
            if spec.kind == "synthetic":
                part = tmp / f".part-{spec.name}"
                generate_synthetic(part, **synthetic)
                found = {"sequences": _merge_sequences(part, tmp, spec.name)}
            else:
                source = fetch_source(spec, Path(cache), subfolder=record)
                with user_paths({tmp: Path(out)}):  # what is left of the temporary: the dataset it becomes
                    found = _prepare_kind(spec, source, tmp, single=not record, limits=limits, classes=classes)
            entries.append({"name": spec.name, "kind": spec.kind, "clip": spec.clip, **found})
        if record:
            (tmp / RECORD).write_text(json.dumps({"datasets": entries}, indent=2, sort_keys=True) + "\n")


def fetch_source(spec: DatasetParams, cache: Path, *, subfolder: bool = True) -> Path:
    """The local folder or zip of `spec`: its path, or its url downloaded into the cache."""
    if spec.path:
        path = Path(spec.path)
        if not path.exists():
            raise DataError(f"{path}: not found; set data.path (or data.datasets[].path of {spec.name!r}) "
                            "to a folder or zip")
        return path
    name = Path(urlparse(spec.url).path).name or f"{spec.name}.zip"
    return download_file(spec.url, (cache / spec.name if subfolder else cache) / name,
                         sha256=spec.sha256, md5=spec.md5)


def _prepare_kind(spec: DatasetParams, source: Path, tmp: Path, single: bool, limits: ExtractLimits,
                  classes: Sequence[str]) -> dict:
    """What datasets.json records beyond name/kind/clip: a mot or visdrone source's sequences (a
    CVAT export: the rows of labels no class takes, "other_classes"; a CVAT or VisDrone import: its
    gt numbering "gt_classes" and "distractors"); nothing for the sets.

    Errors name the user's zip or folder, never the scratch folder a zip is extracted into.
    """
    if spec.kind == "mot" and (single or _has_split_layout(source)):
        part = tmp / f".part-{spec.name}"
        prepare_mot17(source, part, list(spec.sequences), limits=limits)
        return {"sequences": _merge_sequences(part, tmp, spec.name)}
    scratch = tmp / f".src-{spec.name}"
    with user_paths({scratch: source}), _unpacked(source, scratch, limits) as root:
        if spec.kind == "mot":
            names, other, numbering = prepare_cvat(root, tmp, spec, classes)
            recorded = {"gt_classes": numbering, "distractors": []} if numbering else {}
            return {"sequences": names, "other_classes": other, **recorded}
        if spec.kind == "visdrone":
            part = tmp / f".part-{spec.name}"
            prepare_visdrone(root, part, spec)
            return {"sequences": _merge_sequences(part, tmp, spec.name), **_visdrone_record(spec, classes)}
        target = tmp / "sets" / spec.name
        if spec.kind == "detection":
            prepare_crowdhuman(root, target, spec.name)
        else:
            prepare_jde(root, target, spec)
    return {}


def _visdrone_record(spec: DatasetParams, classes: Sequence[str]) -> dict:
    """The categories a VisDrone import's classes take ({number: class name}), the others' distractors."""
    taken = resolve_class_map("visdrone", spec.class_map, classes, key=f"data.datasets {spec.name!r} class_map")
    return {"gt_classes": {label: classes[c] for label, c in taken.items()},
            "distractors": [n for n in VISDRONE_DISTRACTORS if str(n) not in taken]}


def _has_split_layout(source: Path) -> bool:
    """True for a MOTChallenge train/<seq> (or images/train/<seq>) layout, False for a bare export."""
    if source.is_file():
        with open_zip(source) as archive:
            names = archive.namelist()
        return any("train" in PurePosixPath(n.replace("\\", "/")).parts[:-2] for n in names)
    candidates = [source, source / "images", *(p for p in sorted(source.iterdir()) if p.is_dir())]
    candidates += [p / "images" for p in candidates[2:]]
    return any((c / "train").is_dir() for c in candidates)


class _unpacked:
    """A folder source as is (refused if a link leaves it), or a zip extracted (safely) into `scratch`, removed afterwards."""

    def __init__(self, source: Path, scratch: Path, limits: ExtractLimits) -> None:
        self.source, self.scratch, self.limits = Path(source), scratch, limits

    def __enter__(self) -> Path:
        if self.source.is_dir():
            refuse_links_out(self.source)
            return self.source
        extract_zip_safely(self.source, self.scratch, limits=self.limits)
        return self.scratch

    def __exit__(self, *exc) -> None:
        if self.scratch.exists():
            shutil.rmtree(self.scratch)


def _merge_sequences(part: Path, tmp: Path, name: str) -> list[str]:
    """Move part/images/<split>/<seq> into tmp/images; a sequence name used twice is an error."""
    moved = []
    for split in SPLITS:
        folder = part / "images" / split
        for seq in sorted(folder.iterdir()) if folder.is_dir() else []:
            dest = tmp / "images" / split / seq.name
            clash = [p for p in (tmp / "images" / s / seq.name for s in SPLITS) if p.exists()]
            if clash:
                raise DataError(f"{clash[0]}: dataset {name!r} has a sequence {seq.name!r} that an earlier "
                                "dataset already has; keep it in one of them (data.datasets[].sequences)")
            dest.parent.mkdir(parents=True, exist_ok=True)
            seq.rename(dest)
            _six_digit_frames(dest)
            moved.append(seq.name)
    shutil.rmtree(part)
    return moved


def describe(spec: DatasetParams) -> str:
    """One line for logs: name, kind and where it comes from."""
    where = spec.path or spec.url or "the embedded generator"
    return f"{spec.name} ({spec.kind}) from {where}"


def _six_digit_frames(seq: Path) -> None:
    """Rename frames like DanceTrack's 00000001.jpg to 000001.jpg, the name every stage reads."""
    info = read_seqinfo(seq / "seqinfo.ini")
    folder = seq / info.im_dir
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix == info.im_ext and path.stem.isdigit() and path.stem != f"{int(path.stem):06d}":
            path.rename(folder / f"{int(path.stem):06d}{info.im_ext}")
