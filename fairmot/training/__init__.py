"""Training: the loop and everything it needs. Knows nothing of params.yaml beyond the typed Params.

- loop: `run_worker` (what every process runs), `fit` (the run), `train_one_epoch`
- state: `Progress` (where a run stands), `TrainConfig` (Params + paths), the `MetricsLog` protocol
- parts: `TrainParts`, network-with-loss, optimiser, AMP, lr schedule
- sampler: `ShardSampler` and the per-process loader
- interrupt: Ctrl-C handling (`StopOnSignal`, `TrainingInterrupted`)
- runlog: `RunLog` (rank 0's figures and progress bar)
- checkpoint: the checkpoint layout, save and restore
- resume: whether a run may continue from the checkpoint it finds (same params, same data)
- distributed: how processes are launched and talk to each other
"""

from fairmot.training.checkpoint import CHECKPOINT_KEYS, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from fairmot.training.distributed import (
    DistContext,
    LaunchPlan,
    launch,
    per_process_batch,
    plan_launch,
)
from fairmot.training.interrupt import TrainingInterrupted
from fairmot.training.loop import (
    NonFiniteLossError,
    TrainSummary,
    fit,
    run_worker,
    train_one_epoch,
)
from fairmot.training.parts import TrainParts, build_parts
from fairmot.training.resume import ResumeDecision, data_fingerprint, decide_resume
from fairmot.training.state import Progress, TrainConfig, config_from_params

__all__ = [
    "CHECKPOINT_KEYS", "DistContext", "LaunchPlan", "NonFiniteLossError", "Progress", "ResumeDecision", "TrainConfig",
    "TrainParts", "TrainSummary", "TrainingInterrupted", "build_parts", "capture_rng", "config_from_params",
    "data_fingerprint", "decide_resume", "fit", "launch", "load_checkpoint", "per_process_batch", "plan_launch",
    "restore_rng", "run_worker", "save_checkpoint", "train_one_epoch",
]
