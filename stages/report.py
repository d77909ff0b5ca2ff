"""report stage: turn the pipeline's outputs into reports/report.md and a self-contained HTML page."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from stages.common import DatasetOption, ParamsFile, SplitsOption, one_line_errors, read_params


def _read_json(path: Path) -> dict:
    from fairmot.errors import DataError

    if not path.exists():
        raise DataError(f"{path}: not found; run the stage that writes it first (dvc repro)")
    return json.loads(path.read_text())


@one_line_errors
def report(
    params_file: ParamsFile = Path("params.yaml"),
    reports: Annotated[Path, typer.Option(help="Folder holding the stages' metrics; the report is written here.")] = Path("reports"),
    dataset: DatasetOption = Path("data/dataset"),
    results: Annotated[Path, typer.Option(help="Tracker result files (one <seq>.txt each).")] = Path("data/results"),
    splits: SplitsOption = Path("data/splits"),
    frames: Annotated[int | None, typer.Option(help="Annotated frames to include (params: eval.report_frames).")] = None,
) -> None:
    """Write reports/report.md, reports/report.html and reports/figures/ from the pipeline's outputs."""
    import pandas as pd

    from fairmot.evaluation.sequences import split_image_folder
    from fairmot.io import atomic_dir, write_text
    from fairmot.reporting.figures import annotate_frames, plot_per_sequence, plot_training_curves, read_history
    from fairmot.reporting.report import ReportInputs, markdown_to_html, render_markdown

    params = read_params(params_file, eval__report_frames=("--frames", frames))
    per_sequence_csv = reports / "per_sequence.csv"
    manifest_path = splits / "manifest.json"
    inputs = ReportInputs(
        params=dataclasses.asdict(params),
        validation=_read_json(reports / "validation.json"),
        train=_read_json(reports / "train.json"),
        metrics=_read_json(reports / "metrics.json"),
        per_sequence=pd.read_csv(per_sequence_csv) if per_sequence_csv.exists() else pd.DataFrame(),
        manifest=json.loads(manifest_path.read_text()) if manifest_path.exists() else {},
        # `fairmot history`'s output, read when present: git history is not a DVC dependency (docs/evaluation.md)
        history=(reports / "history.md").read_text() if (reports / "history.md").is_file() else "",
    )
    figures_dir = reports / "figures"
    with atomic_dir(figures_dir) as tmp:
        made = {
            "training": plot_training_curves(read_history(reports / "train" / "plots"), tmp / "training_curves.png"),
            "per_sequence": plot_per_sequence(inputs.per_sequence, tmp / "per_sequence.png"),
        }
        shots = annotate_frames(split_image_folder(dataset, params.eval.split), results,
                                params.eval.report_frames, tmp, names=params.classes)
    # Paths inside the renamed folder.
    made = {k: figures_dir / v.name if v else None for k, v in made.items()}
    made["history"] = reports / "history.png" if (reports / "history.png").is_file() and inputs.history else None
    shots = [figures_dir / s.name for s in shots]
    markdown = render_markdown(inputs, made, shots, base_dir=reports)
    write_text(reports / "report.md", markdown)
    write_text(reports / "report.html", markdown_to_html(markdown, base_dir=reports))
    print(f"report: {reports / 'report.md'} and {reports / 'report.html'} ({len(shots)} annotated frames)")
