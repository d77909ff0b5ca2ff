"""The training engine. Knows nothing of params.yaml beyond the typed Params.

- loop: `run_worker` (what every process runs), `fit` (the run), `train_one_epoch`
- parts: `TrainConfig` (Params + paths), `TrainParts`, network-with-loss, optimiser, AMP, lr schedule
- sampler: `ShardSampler` and the per-process loader
- interrupt: Ctrl-C handling (`StopOnSignal`, `TrainingInterrupted`)
- runlog: `RunLog` and the `MetricsLog` protocol (rank 0's figures and progress bar)
- checkpoint: the checkpoint layout, save and restore
- resume: whether a run may continue from the checkpoint it finds (same params, same data)
- distributed: how processes are launched and talk to each other
"""

from fairmot.engine.checkpoint import (
    CHECKPOINT_KEYS,
    capture_rng,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from fairmot.engine.distributed import (
    DistContext,
    LaunchPlan,
    launch,
    per_process_batch,
    plan_launch,
)
from fairmot.engine.interrupt import TrainingInterrupted
from fairmot.engine.loop import (
    NonFiniteLossError,
    TrainSummary,
    fit,
    run_worker,
    train_one_epoch,
)
from fairmot.engine.parts import (
    TrainConfig,
    TrainParts,
    build_parts,
    config_from_params,
)
from fairmot.engine.resume import ResumeDecision, data_fingerprint, decide_resume

__all__ = [
    "CHECKPOINT_KEYS", "DistContext", "LaunchPlan", "NonFiniteLossError", "ResumeDecision", "TrainConfig",
    "TrainParts", "TrainSummary", "TrainingInterrupted", "build_parts", "capture_rng", "config_from_params",
    "data_fingerprint", "decide_resume", "fit", "launch", "load_checkpoint", "per_process_batch", "plan_launch",
    "restore_rng", "run_worker", "save_checkpoint", "train_one_epoch",
]
