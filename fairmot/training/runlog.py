"""What a run reports while it trains: per-step and per-epoch figures and a progress bar, from rank 0 only.

The other ranks get no-ops, so the training loop needs no rank checks.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from fairmot.training.distributed import DistContext
from fairmot.training.state import MetricsLog, Progress

log = logging.getLogger(__name__)

# The per-step history (committed to git as plots) keeps at most about this many rows per metric;
# longer runs log the mean of every `log_every` steps.
MAX_LOGGED_STEPS = 2000


class _NoBar:
    def update(self, n: int = 1) -> None: ...
    def set_postfix(self, *args: Any, **kwargs: Any) -> None: ...
    def close(self) -> None: ...


class RunLog:
    """The metrics log (per step and per epoch) and a tqdm bar per epoch, from rank 0 only."""

    def __init__(self, ctx: DistContext, metrics_log: MetricsLog | None, *, resume: bool, total_epochs: int,
                 log_every: int = 1) -> None:
        self.enabled = ctx.is_main
        self.total_epochs = total_epochs
        self.log_every = log_every
        self._window: dict[str, float] = {}
        self._count = 0
        self.live = None
        if self.enabled and metrics_log is not None:
            metrics_log.open(resume)
            self.live = metrics_log

    def bar(self, epoch: int, *, total: int, initial: int = 0) -> Any:
        if not self.enabled:
            return _NoBar()
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=f"epoch {epoch}/{self.total_epochs}", disable=None,
                    leave=False, dynamic_ncols=True)

    def step(self, global_step: int, values: Mapping[str, float], *, lr: float, samples_per_s: float,
             data_s: float, bar: Any) -> None:
        if not self.enabled:
            return
        bar.update(1)
        bar.set_postfix({"loss": f"{values.get('loss', float('nan')):.3f}",
                         "hm": f"{values.get('hm_loss', float('nan')):.3f}",
                         "id": f"{values.get('id_loss', float('nan')):.3f}",
                         "img/s": f"{samples_per_s:.1f}"}, refresh=False)
        if self.live is None:
            return
        for name, value in {**values, "lr": lr, "samples_per_s": samples_per_s, "data_s": data_s}.items():
            self._window[name] = self._window.get(name, 0.0) + value
        self._count += 1
        if global_step % self.log_every == 0:
            self.live.log(global_step, {name: total / self._count for name, total in self._window.items()})
            self._window, self._count = {}, 0

    def epoch_end(self, epoch: int, progress: Progress) -> None:
        if not self.enabled:
            return
        averages = progress.last_epoch
        log.info("epoch %d/%d: %s", epoch, self.total_epochs,
                 ", ".join(f"{k} {v:.4f}" for k, v in averages.items()))
        if self.live is not None:
            self.live.log(progress.global_step, {f"epoch/{name}": value for name, value in averages.items()})
            self.live.summary()

    def close(self) -> None:
        if self.live is not None:
            with contextlib.suppress(Exception):
                self.live.close()
            self.live = None
