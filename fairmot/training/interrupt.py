"""Ctrl-C during training: finish the step on every rank, save a checkpoint, stop with a clear message."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Self

from fairmot.errors import FairMOTError

log = logging.getLogger(__name__)


class TrainingInterrupted(FairMOTError):
    """Ctrl-C: a checkpoint was saved; `fairmot train` (or `--resume`) continues from it."""


class StopRequested(Exception):
    """All ranks agreed to stop after this step (someone pressed Ctrl-C)."""


class StopOnSignal:
    """First Ctrl-C: finish the current step on every rank, save, stop. Another one a second later: stop now.

    Signals closer together than `debounce_s` count once: under the elastic launcher every worker gets
    the terminal's SIGINT and then the launcher's copy of it.
    """

    def __init__(self, debounce_s: float = 1.0) -> None:
        self.requested = False
        self.debounce_s = debounce_s
        self._first = 0.0
        self._previous: Any = None

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        if not self.requested:
            self.requested = True
            self._first = now
            log.warning("interrupt: finishing this step, saving a checkpoint (press Ctrl-C again to stop at once)")
        elif now - self._first > self.debounce_s:
            raise KeyboardInterrupt


def interrupted_message(last: object, epoch: int, step: int) -> str:
    where = f"epoch {epoch + 1} step {step}" if step else f"the end of epoch {epoch}"
    return (f"interrupted at {where}; checkpoint saved to {last}; run `fairmot train` again (or `dvc repro`) "
            "to resume, or `fairmot train --resume` to resume whatever changed")
