"""`fairmot download`: data/dataset in MOT17 layout, from the embedded generator, MOT17 or a local copy.

data.source picks the way: `synthetic` generates the embedded set from `synthetic.*`; `mot17`
downloads data.url (resumable, checksummed) and keeps the SDP copies; `local` takes data.path, a
MOT17-layout folder or zip already on disk. data.datasets, when set, lists several sources of
the kinds mot | detection | jde | synthetic | visdrone instead (fairmot/data/sources.py). The
dataset is built in a temporary sibling and only renamed into place when complete.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from stages.common import ParamsFile, one_line_errors, read_params

log = logging.getLogger("fairmot.download")


@one_line_errors
def download(
    params_file: ParamsFile = Path("params.yaml"),
    source: Annotated[Optional[str], typer.Option(help="synthetic | mot17 | local (default: data.source).")] = None,
    url: Annotated[Optional[str], typer.Option(help="MOT17 zip to download when the source is mot17 (data.url).")] = None,
    path: Annotated[Optional[str], typer.Option(help="MOT17-layout folder or zip when the source is local (data.path).")] = None,
    out: Annotated[Path, typer.Option(help="Dataset folder to write (replaced when complete).")] = Path("data/dataset"),
    cache: Annotated[Path, typer.Option(help="Folder for the downloaded zip; a partial download there resumes.")] = Path("data/downloads"),
) -> None:
    """Build the dataset: images/{train,test}/<seq>/{seqinfo.ini,img1/,gt/gt.txt} (+ sets/ when mixed)."""
    import dataclasses

    from fairmot.data.archives import ExtractLimits
    from fairmot.data.sources import describe, prepare_datasets, resolve_datasets
    from fairmot.errors import ConfigError
    from fairmot.io import check_output_dir

    check_output_dir(out)  # before any download: never wipes a folder the user filled
    params = read_params(params_file, data__source=("--source", source), data__url=("--url", url), data__path=("--path", path))
    if params.data.datasets and any(v is not None for v in (source, url, path)):
        raise ConfigError(f"{params_file}: --source/--url/--path set the single source, but data.datasets lists "
                          "the sources; change the list (dvc exp run -S data.datasets...) or empty it")
    started = time.perf_counter()
    datasets = resolve_datasets(params.data)
    for spec in datasets:
        log.info("%s", describe(spec) if spec.kind != "synthetic" else
                 f"generating the synthetic dataset ({_describe_synthetic(params.synthetic)})")
    prepare_datasets(datasets, out, cache, dataclasses.asdict(params.synthetic), record=bool(params.data.datasets),
                     limits=ExtractLimits.of(params.data), classes=params.classes)
    log.info("%s in %.1f s", dataset_summary(out), time.perf_counter() - started)


def _describe_synthetic(s) -> str:
    return (f"{s.train_sequences} train + {s.val_sequences} held-out sequences, {s.frames} frames of "
            f"{s.width}x{s.height}, density {s.density:g}, seed {s.seed}")


def dataset_summary(root: Path) -> str:
    """'N sequences (train: .., test: ..), F frames, B boxes, S MB' for the closing log line."""
    from fairmot.data.formats.mot import list_sequences, read_gt, read_seqinfo
    from fairmot.data.labels import kept_rows

    names, frames, boxes = {}, 0, 0
    for split in ("train", "test"):
        seqs = list_sequences(root, split)
        names[split] = len(seqs)
        for seq in seqs:
            frames += read_seqinfo(seq / "seqinfo.ini").seq_length
            if (seq / "gt" / "gt.txt").exists():
                boxes += len(kept_rows(read_gt(seq / "gt" / "gt.txt")))
    size = sum(f.stat().st_size for f in Path(root).rglob("*") if f.is_file()) / 1e6
    sets = sorted(p.name for p in (Path(root) / "sets").iterdir()) if (Path(root) / "sets").is_dir() else []
    extra = f", detection/jde sets: {', '.join(sets)}" if sets else ""
    return (f"{root}: {names['train'] + names['test']} sequences (train {names['train']}, test {names['test']}), "
            f"{frames} frames, {boxes} pedestrian boxes{extra}, {size:.1f} MB")
