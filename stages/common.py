"""Glue every stage command shares: params loading, device choice, one-line errors, logging.

Stage modules import this, never `stages.app`; `stages.app` imports the stages and registers them.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fairmot.config import Params, load_params
from fairmot.errors import ConfigError, FairMOTError
from fairmot.inference.settings import DEFAULT_ONNX  # noqa: F401 -- the --onnx default the stages share

ParamsFile = Annotated[
    Path,
    typer.Option("--params", help="Params file to read; options given on the command line override it."),
]
AmpOption = Annotated[
    str | None,
    typer.Option(help="Mixed precision on CUDA: off | auto | bf16 | fp16 (default off; float32 on the CPU)."),
]
ModelOption = Annotated[
    Path,
    typer.Option("--model", help="Checkpoint of `fairmot train`, or a released FairMOT .pth (runs at input_w x input_h)."),
]
EngineOption = Annotated[
    str | None,
    typer.Option(help="Inference engine: torch (lean PyTorch) | onnx (ONNX Runtime) | openvino (OpenVINO on the IR "
                      "beside --onnx) (params: eval.engine)."),
]
PrecisionOption = Annotated[
    str | None,
    typer.Option(help="The openvino engine's arithmetic: fp32 | bf16 (CPUs with BF16) | int8 (params: eval.precision)."),
]
OnnxOption = Annotated[Path, typer.Option("--onnx", help="The `fairmot export` graph the onnx engine runs.")]
DatasetOption = Annotated[Path, typer.Option("--dataset", help="Dataset root in MOT17 layout.")]
LabelsOption = Annotated[Path, typer.Option("--labels", help="labels_with_ids root.")]
SplitsOption = Annotated[Path, typer.Option("--splits", help="Folder of the split indexes (train/half/val/test.txt) "
                                            "and manifest.json.")]
ArchOption = Annotated[str | None, typer.Option(help="Network of --model (default: from the checkpoint or its tensors).")]
DeviceOption = Annotated[str | None, typer.Option(help="cpu | cuda | cuda:N (default: CUDA when gpus != -1 and available).")]
# Libraries that log their plumbing at INFO (motmetrics even on the root logger).
THIRD_PARTY_LOGGERS = ("motmetrics", "trackeval", "great_expectations", "dvc", "dvclive", "matplotlib", "PIL")


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A FairMOTError (a user's mistake) becomes one line on stderr and exit code 1, no traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FairMOTError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1) from None

    return run


def reports_policy(reports: Path) -> str:
    """The pipeline's reports/ is ours (DVC-managed); a --reports elsewhere may hold the user's own files."""
    from fairmot.io import ANY, OURS

    return ANY if Path(reports) == Path("reports") else OURS


def read_params(params_file: Path | None, **overrides: tuple[str, Any]) -> Params:
    """Load params.yaml with the command line's overrides, each as key=(option, value):
    `tune__n_trials=("--trials", trials)` sets tune.n_trials, and an error about it names --trials,
    the option the user typed (a value of None leaves the file's value alone).

    `params_file` None means the code's defaults (commands that need no project folder)."""
    for key, pair in overrides.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and str(pair[0]).startswith("--")):
            raise TypeError(f"read_params: {key} must be given as (option, value), got {pair!r}")
    values = {key.replace("__", "."): value for key, (_, value) in overrides.items()}
    options = {key.replace("__", "."): option for key, (option, _) in overrides.items()}
    return load_params(params_file, values, options)


def pick_device(requested: str | None, gpu_ids: list[int]) -> str:
    """--device wins; otherwise the first listed GPU when CUDA is available and gpus != -1, else CPU."""
    import torch

    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: CUDA is not available on this machine; use --device cpu")
        if requested != "cpu" and not requested.startswith("cuda"):
            raise ConfigError(f"--device {requested!r}: use cpu, cuda or cuda:N")
        return requested
    if gpu_ids and torch.cuda.is_available():
        return f"cuda:{gpu_ids[0]}"
    return "cpu"


class _OwnInfoOnly(logging.Filter):
    """Below WARNING, only the project's own loggers reach the screen (motmetrics logs on root)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name == "fairmot" or record.name.startswith("fairmot.")


def setup_logging(verbose: bool) -> None:
    """INFO from fairmot, WARNING and above from everything else; --verbose shows all at DEBUG."""
    from rich.logging import RichHandler

    handler = RichHandler(show_path=False, console=None, rich_tracebacks=False)
    if not verbose:
        handler.addFilter(_OwnInfoOnly())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[handler], force=True)
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
