"""`fairmot download`: data/dataset in MOT17 layout, from the embedded generator, MOT17 or a local copy.

data.source picks the way: `synthetic` generates the embedded set from `synthetic.*`; `mot17`
downloads data.url (resumable, checksummed) and keeps the SDP copies; `local` takes data.path, a
MOT17-layout folder or zip already on disk. The dataset is built in a temporary sibling and only
renamed into place when complete.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional
from urllib.parse import urlparse

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
    """Build the dataset: images/{train,test}/<seq>/{seqinfo.ini,img1/,gt/gt.txt}."""
    import dataclasses

    from fairmot.config import MOT17_SDP_SEQUENCES
    from fairmot.data.download import download_file, prepare_mot17
    from fairmot.data.synthetic import generate_synthetic
    from fairmot.io import atomic_dir

    params = read_params(params_file, data__source=source, data__url=url, data__path=path)
    data = params.data
    started = time.perf_counter()
    if data.source == "synthetic":
        log.info("generating the synthetic dataset (%s)", _describe_synthetic(params.synthetic))
        with atomic_dir(out) as tmp:
            generate_synthetic(tmp, **dataclasses.asdict(params.synthetic))
    elif data.source == "mot17":
        name = Path(urlparse(data.url).path).name or "MOT17.zip"
        archive = download_file(data.url, cache / name, sha256=data.sha256, md5=data.md5)
        sequences = data.sequences or [*MOT17_SDP_SEQUENCES, "MOT17-*-SDP"]
        log.info("unpacking %s (%s)", archive, ", ".join(sequences))
        prepare_mot17(archive, out, sequences)
    else:
        log.info("taking the dataset from %s", data.path)
        prepare_mot17(Path(data.path), out, list(data.sequences))
    log.info("%s in %.1f s", dataset_summary(out), time.perf_counter() - started)


def _describe_synthetic(s) -> str:
    return (f"{s.train_sequences} train + {s.val_sequences} held-out sequences, {s.frames} frames of "
            f"{s.width}x{s.height}, density {s.density:g}, seed {s.seed}")


def dataset_summary(root: Path) -> str:
    """'N sequences (train: .., test: ..), F frames, B boxes, S MB' for the closing log line."""
    from fairmot.data.labels import kept_rows
    from fairmot.data.mot import list_sequences, read_gt, read_seqinfo

    names, frames, boxes = {}, 0, 0
    for split in ("train", "test"):
        seqs = list_sequences(root, split)
        names[split] = len(seqs)
        for seq in seqs:
            frames += read_seqinfo(seq / "seqinfo.ini").seq_length
            if (seq / "gt" / "gt.txt").exists():
                boxes += len(kept_rows(read_gt(seq / "gt" / "gt.txt")))
    size = sum(f.stat().st_size for f in Path(root).rglob("*") if f.is_file()) / 1e6
    return (f"{root}: {names['train'] + names['test']} sequences (train {names['train']}, test {names['test']}), "
            f"{frames} frames, {boxes} pedestrian boxes, {size:.1f} MB")
