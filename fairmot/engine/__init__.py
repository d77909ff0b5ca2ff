"""The training engine: the epoch loop and checkpoints (trainer, checkpoint) and how processes are
launched and talk to each other (distributed). Knows nothing of params.yaml beyond the typed Params."""

from fairmot.engine.checkpoint import CHECKPOINT_KEYS, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from fairmot.engine.distributed import DistContext, LaunchPlan, launch, per_process_batch, plan_launch
from fairmot.engine.trainer import (
    NonFiniteLossError,
    TrainConfig,
    TrainingInterrupted,
    TrainParts,
    TrainSummary,
    build_parts,
    config_from_params,
    fit,
    run_worker,
    train_one_epoch,
)

__all__ = [
    "CHECKPOINT_KEYS", "DistContext", "LaunchPlan", "NonFiniteLossError", "TrainConfig", "TrainParts",
    "TrainSummary", "TrainingInterrupted", "build_parts", "capture_rng", "config_from_params", "fit", "launch",
    "load_checkpoint", "per_process_batch", "plan_launch", "restore_rng", "run_worker", "save_checkpoint",
    "train_one_epoch",
]
