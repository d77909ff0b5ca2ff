"""history: the committed metrics across commits, as a Markdown table and a figure (a tool, not a stage).

Git history is no DVC dependency, so this is not in dvc.yaml; the report includes what it wrote
when it is there (docs/evaluation.md, "Across commits").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stages.common import one_line_errors


@one_line_errors
def history(
    since: Annotated[str | None, typer.Option(help="Only the commits after this revision (REV..HEAD).")] = None,
    max_count: Annotated[int, typer.Option("--max", min=1, help="The newest N commits that changed the metrics.")] = 50,
    out: Annotated[Path, typer.Option(help="The figure: quality, FPS and memory against commit.")] = Path("reports/history.png"),
    table: Annotated[Path, typer.Option(help="The Markdown table (the report shows its last 10 rows).")] = Path("reports/history.md"),
) -> None:
    """Read reports/metrics.json, detect.json and train.json at each commit that changed them; write a table and a figure."""
    from fairmot.io import write_text
    from fairmot.reporting.history import history_markdown, plot_history, read_history

    found = read_history(Path("."), since=since, max_count=max_count)
    write_text(table, history_markdown(found))
    figure = plot_history(found.rows, out)
    if figure is None:
        out.unlink(missing_ok=True)  # an older figure would contradict the table
    print(f"history: {len(found.rows)} points in {table}" + (f" and {figure}" if figure else " (no figure: nothing to plot)"))
    print(found.note())
