"""`fairmot train`: train the network on the labelled split; checkpoints in data/model, figures in reports/.

The story: params -> how to launch (this process, one process per GPU, N CPU processes, or the
torchrun group already running) -> resume or start over -> train in every process -> rank 0's figures
to reports/train.json. The loop itself lives in fairmot.training.

Resuming: `--resume` continues from OUT/model_last.pt whatever changed (the network must match).
Without it, a model_last.pt left by an interrupted run is continued only when it recorded the same
training params and data fingerprint (so `dvc repro` after Ctrl-C resumes); otherwise the run starts
over and says which param differs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from stages.common import DatasetOption, LabelsOption, ParamsFile, SplitsOption, one_line_errors, read_params

log = logging.getLogger("fairmot.train")


class DvcLiveLog:
    """The engine's metrics log written by dvclive: `<dir>/plots/metrics/*.tsv` are the stage's DVC plots.

    Picklable until opened, so spawned DDP workers receive it; only rank 0 opens it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.live = None

    def open(self, resume: bool) -> None:
        from dvclive import Live

        self.live = Live(str(self.directory), resume=resume, report=None, save_dvc_exp=False, dvcyaml=False)

    def log(self, step: int, values: dict[str, float]) -> None:
        self.live.step = step
        for name, value in values.items():
            self.live.log_metric(name, value)

    def summary(self) -> None:
        self.live.make_summary()

    def close(self) -> None:
        # The summary is written after every epoch (RunLog.epoch_end); nothing is left to flush.
        self.live = None


@one_line_errors
def train(
    params_file: ParamsFile = Path("params.yaml"),
    arch: Annotated[str | None, typer.Option(help="Network: one of fairmot.models.ARCHITECTURES (dla_tiny, dla34, ...).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Global batch, split evenly over the processes.")] = None,
    gpus: Annotated[str | None, typer.Option(help="-1 = CPU; 0 = one GPU; 0,1,2,3 = one DDP process per GPU.")] = None,
    nproc: Annotated[int | None, typer.Option(help="CPU processes (gloo DDP) when gpus is -1.")] = None,
    num_epochs: Annotated[int | None, typer.Option(help="Epochs to train in all.")] = None,
    num_iters: Annotated[int | None, typer.Option(help="Iterations per epoch; -1 = one pass over the data.")] = None,
    num_workers: Annotated[int | None, typer.Option(help="DataLoader worker processes per training process.")] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate (x0.1 after each lr_step epoch).")] = None,
    amp: Annotated[str | None, typer.Option(help="Mixed precision on CUDA: off, auto, bf16 or fp16.")] = None,
    load_model: Annotated[str | None, typer.Option(help="Local checkpoint to start from ('' = from scratch).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/model_last.pt even if params changed "
                                         "(without it, it is continued only when params and data are the same).")] = False,
    dataset: DatasetOption = Path("data/dataset"),
    labels: LabelsOption = Path("data/labels_with_ids"),
    splits: SplitsOption = Path("data/splits"),
    out: Annotated[Path, typer.Option(help="Checkpoint folder (model_last.pt, model.pt).")] = Path("data/model"),
    reports: Annotated[Path, typer.Option(help="Reports folder (train.json and the dvclive dir train/).")] = Path("reports"),
) -> None:
    """Train FairMOT (Adam, step schedule, DDP over GPUs or CPU processes) and record the figures."""
    from fairmot.errors import FairMOTError
    from fairmot.io import write_json
    from fairmot.training import (
        config_from_params,
        launch,
        per_process_batch,
        plan_launch,
        run_worker,
    )

    params = read_params(params_file, arch=("--arch", arch), batch_size=("--batch-size", batch_size),
                         gpus=("--gpus", gpus), nproc=("--nproc", nproc), num_epochs=("--num-epochs", num_epochs),
                         num_iters=("--num-iters", num_iters), num_workers=("--num-workers", num_workers),
                         lr=("--lr", lr), amp=("--amp", amp), load_model=("--load-model", load_model))
    plan = plan_launch(params.gpu_ids, params.nproc)
    per_process_batch(params.batch_size, plan.world_size)  # fail before reading data or starting processes
    config = config_from_params(params, dataset_root=dataset, labels_root=labels, splits_dir=splits,
                                out_dir=out, metrics_log=DvcLiveLog(reports / "train"))
    config.data_fingerprint = _fingerprint(config.split_file, labels)
    config.resume = resume or _may_resume(out, params, config.data_fingerprint, log_it=plan.rank == 0)
    if plan.rank == 0:
        log.info("%s, batch %d over %d process(es), %d epochs of %s at %dx%d",
                 plan.describe(), params.batch_size, plan.world_size, params.num_epochs,
                 params.arch, params.input_w, params.input_h)

    try:
        summary = launch(run_worker, config, plan)
    except KeyboardInterrupt:
        raise FairMOTError(f"interrupted; the last checkpoint is in {out / 'model_last.pt'}; "
                           "run `fairmot train` (or `dvc repro`) again to continue") from None

    if summary is not None:  # rank 0 (every other torchrun rank returns None)
        write_json(reports / "train.json", summary.as_dict())
        log.info("trained %d epochs: loss %.4f, %.1f samples/s, %.0f s; weights in %s",
                 summary.epochs, summary.losses.get("loss", float("nan")), summary.samples_per_s,
                 summary.wall_s, out / "model.pt")


def _fingerprint(split_file: Path, labels: Path) -> str:
    from fairmot.errors import DataError
    from fairmot.training import data_fingerprint

    if not split_file.is_file():
        raise DataError(f"{split_file}: split index not found; run `fairmot labels` (or dvc repro labels) first")
    return data_fingerprint(split_file, labels)


def _may_resume(out: Path, params: object, fingerprint: str, *, log_it: bool) -> bool:
    """Continue an interrupted run left in `out` when its params and data are this run's (and say so)."""
    from fairmot.training import decide_resume

    decision = decide_resume(out, params, fingerprint)
    if log_it and (out / "model_last.pt").exists():
        log.info("%s: %s", "resuming" if decision.resume else "starting over", decision.reason)
    return decision.resume
