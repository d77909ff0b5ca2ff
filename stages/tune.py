"""`fairmot tune`: search the tracker's params with Optuna on a validation split, from cached detections.

The network runs once over the tune split (tune.split, by default `val`: the second halves of the
training sequences, never the test split) into <detections>/<seq>.npz, reused while it is there;
then every trial only tracks and scores. Writes reports/tune/: best.yaml and best.json (the
tuned track keys, the objective before and after), trials.csv, history.png and importances.png.
params.yaml changes only with --apply; then `dvc exp run` scores the tuned params on the test split.

The study is stored (tune.storage; by default study.journal beside the detection cache): a rerun
resumes it up to tune.n_trials finished trials, --fresh starts it over, and processes given the same
storage and params share it. Ctrl-C lets the running trial finish, writes the reports so far and
stops with one line (a second Ctrl-C abandons the trial).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stages.common import AmpOption, DatasetOption, DeviceOption, ModelOption, one_line_errors, pick_device, read_params

if TYPE_CHECKING:
    from fairmot.tuning import TuneResult


@one_line_errors
def tune(
    params_file: Annotated[Path, typer.Option("--params", help="Params file to read (and, with --apply, update).")] = Path(
        "params.yaml"),
    model: ModelOption = Path("data/model/model.pt"),
    dataset: DatasetOption = Path("data/dataset"),
    detections: Annotated[Path, typer.Option(help="Detection cache of the tune split (made when missing).")] = Path(
        "data/tune/detections"),
    out: Annotated[Path, typer.Option(help="Folder for best.yaml/json, trials.csv and the plots.")] = Path("reports/tune"),
    trials: Annotated[int | None, typer.Option(help="Number of trials (params: tune.n_trials).")] = None,
    objective: Annotated[str | None, typer.Option(help="HOTA | MOTA | IDF1 | AssA | DetA (params: tune.objective).")] = None,
    method: Annotated[str | None, typer.Option(help="Search one tracker only: jde | bytetrack | botsort (params: tune.methods).")] = None,
    jobs: Annotated[int | None, typer.Option(help="Parallel trials (params: tune.n_jobs).")] = None,
    storage: Annotated[str | None, typer.Option(help="The study's journal file or RDB URL (params: tune.storage).")] = None,
    study: Annotated[str | None, typer.Option(help="The study's name (params: tune.study; default: derived).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the search, one per worker (params: tune.seed).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the stored study first instead of resuming it.")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Write the best params into the params file's track section.")] = False,
    device: DeviceOption = None,
    amp: AmpOption = None,
) -> None:
    """Tune track.* on the tune split; write reports/tune/ (params.yaml only with --apply)."""
    import time

    from fairmot.errors import FairMOTError
    from fairmot.evaluation import class_rules, find_eval_sequences
    from fairmot.inference.detect import cached_detections
    from fairmot.inference.settings import InferenceSettings
    from fairmot.tuning import apply_track_params
    from fairmot.tuning import tune as run_tune

    params = read_params(params_file, tune__n_trials=("--trials", trials), tune__objective=("--objective", objective),
                         tune__n_jobs=("--jobs", jobs), tune__methods=("--method", [method] if method else None),
                         tune__storage=("--storage", storage), tune__study=("--study", study), tune__seed=("--seed", seed))
    t = params.tune
    try:
        sequences = find_eval_sequences(dataset, t.split)
        settings = InferenceSettings.from_params(params, device=pick_device(device, params.gpu_ids), amp=amp)
        caches = cached_detections(sequences, model, params.track, settings, detections, seed=params.seed)
        started = time.perf_counter()
        result = run_tune(caches, sequences, params.track, n_trials=t.n_trials, objective=t.objective, seed=t.seed,
                          n_jobs=t.n_jobs, methods=t.methods, storage=t.storage or detections.parent / "study.journal",
                          study=t.study, fresh=fresh, benchmark=params.eval.benchmark, classes=params.classes,
                          gt_classes=class_rules(dataset, params.data, params.classes, params.eval.benchmark, sequences))
    except KeyboardInterrupt:  # a second Ctrl-C outside the trials (the network pass, the baseline's score)
        raise FairMOTError("interrupted; rerun `fairmot tune` to continue (finished trials are kept)") from None
    seconds = time.perf_counter() - started
    best = result.best_track_params()
    _write_reports(out, result, {"objective": t.objective, "split": t.split, "trials": result.finished,
                                 "seconds": round(seconds, 1), "params_yaml_value": round(result.baseline_value, 6),
                                 "best_value": round(result.best_value, 6), "track": best, "study": result.study})
    if result.interrupted:
        raise FairMOTError(f"interrupted after {result.finished} of {t.n_trials} trials; rerun `fairmot tune` to continue")
    print(f"{result.finished - result.earlier} trials in {seconds:.1f} s ({result.finished} in study {result.study}) on "
          f"{t.split}: {t.objective} {result.baseline_value:.4f} (params.yaml) -> {result.best_value:.4f} with {best}")
    if apply:
        apply_track_params(params_file, best)
        print(f"wrote the best track params into {params_file}; `dvc exp run` scores them on eval.split")
    else:
        print(f"params.yaml unchanged; rerun with --apply, or: dvc exp run {_set_args(best)}")


def _write_reports(out: Path, result: TuneResult, summary: dict) -> None:
    """best.json, best.yaml, trials.csv and the two plots: also after Ctrl-C, for the trials finished so far."""
    import yaml

    from fairmot.io import atomic_file, write_json, write_text
    from fairmot.tuning import plot_history, plot_importances

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "best.json", summary)
    write_text(out / "best.yaml", yaml.safe_dump({"track": summary["track"]}, sort_keys=False))
    with atomic_file(out / "trials.csv") as handle:
        result.trials.to_csv(handle, index=False, float_format="%.6f")
    plot_history(result, out / "history.png")
    plot_importances(result, out / "importances.png")


def _set_args(best: dict) -> str:
    return " ".join(f"-S track.{k}={v:.4g}" if isinstance(v, float) else f"-S track.{k}={v}" for k, v in best.items())
