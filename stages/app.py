"""The one Typer app behind the `fairmot` command, and the glue every stage shares.

Stage modules register themselves with `@stage_command`; heavy libraries are imported inside the
commands so `fairmot --help` stays fast.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from fairmot.config import Params, load_params
from fairmot.errors import FairMOTError

app = typer.Typer(
    name="fairmot",
    help="FairMOT one-shot multi-object tracking, as a reproducible DVC pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ParamsFile = Annotated[
    Path,
    typer.Option("--params", help="Params file to read; options given on the command line override it."),
]


def stage_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register `fn` as a command; a FairMOTError becomes one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FairMOTError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from None

    app.command(name=fn.__name__.replace("_", "-"))(run)
    return fn


def read_params(params_file: Path, **overrides: Any) -> Params:
    """Load params.yaml with CLI overrides given as dotted keys (`track__conf_thres` -> `track.conf_thres`)."""
    return load_params(params_file, {key.replace("__", "."): value for key, value in overrides.items()})


def pick_device(requested: Optional[str], gpu_ids: list[int]) -> str:
    """--device wins; otherwise the first listed GPU when CUDA is available and gpus != -1, else CPU."""
    import torch

    from fairmot.errors import ConfigError

    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: CUDA is not available on this machine; use --device cpu")
        if requested != "cpu" and not requested.startswith("cuda"):
            raise ConfigError(f"--device {requested!r}: use cpu, cuda or cuda:N")
        return requested
    if gpu_ids and torch.cuda.is_available():
        return f"cuda:{gpu_ids[0]}"
    return "cpu"


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, console=None, rich_tracebacks=False)],
        force=True,
    )


def main() -> None:
    # Importing the stage modules registers their commands.
    from stages import compare, download, evaluate, labels, report, track, train, validate  # noqa: F401

    app()
