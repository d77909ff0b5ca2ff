"""The one Typer app behind the `fairmot` command: every stage registered here, explicitly.

Stage modules know nothing of the app (no import circle); heavy libraries are imported inside the
commands so `fairmot --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from stages import (
    compare,
    detect,
    download,
    evaluate,
    export,
    history,
    labels,
    report,
    track,
    train,
    tune,
    validate,
)
from stages.common import setup_logging

app = typer.Typer(
    name="fairmot",
    help="FairMOT one-shot multi-object tracking, as a reproducible DVC pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Pipeline order, then the tools.
app.command()(download.download)
app.command()(labels.labels)
app.command()(validate.validate)
app.command()(train.train)
app.command()(export.export)
app.command()(detect.detect)
app.command()(evaluate.evaluate)
app.command()(report.report)
app.command()(track.track)
app.command()(compare.compare)
app.command()(history.history)
app.command()(tune.tune)


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging, also from libraries.")] = False) -> None:
    setup_logging(verbose)


def main() -> None:
    app()
