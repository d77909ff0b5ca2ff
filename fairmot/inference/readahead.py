"""Decoding ahead of the tracker: a reader thread fills a small bounded queue.

Without `live` the reader waits for room (a file: every frame is tracked, in order). With `live` a
full queue gives up its oldest frame for the newest and counts it in `dropped`, so a consumer slower
than the camera always gets a recent frame and latency stays bounded by the queue's length.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

_END = object()


class ReadAhead:
    """Items of `items` (an iterator run in a daemon thread) through a queue of `size`; iterate once.

    An exception in the reader reaches the consumer after the items read before it. `close()` stops
    the reader (at its next item) and closes the iterator there, so its `finally` releases what it holds.
    """

    def __init__(self, items: Iterator[Any], size: int = 4, live: bool = False) -> None:
        self.items, self.size, self.live = items, max(1, size), live
        self.dropped = 0
        self.queue: deque[Any] = deque()
        self.error: BaseException | None = None
        self.stopping = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, name="fairmot-reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for item in self.items:
                with self.cond:
                    while not self.live and len(self.queue) >= self.size and not self.stopping:
                        self.cond.wait(0.1)
                    if self.stopping:
                        break
                    if len(self.queue) >= self.size:  # live: the oldest waiting frame is stale
                        self.queue.popleft()
                        self.dropped += 1
                    self.queue.append(item)
                    self.cond.notify_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer's thread
            self.error = exc
        finally:
            close = getattr(self.items, "close", None)
            if close is not None:
                close()
            with self.cond:
                self.queue.append(_END)
                self.cond.notify_all()

    def __iter__(self) -> Iterator[Any]:
        while True:
            with self.cond:
                while not self.queue:
                    self.cond.wait(0.1)
                item = self.queue.popleft()
                self.cond.notify_all()
            if item is _END:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def close(self, wait: float = 2.0) -> None:
        """Stop the reader and wait up to `wait` s for it to release its source (a stalled network
        read ends at its own timeout; the thread is a daemon, so it never holds the process)."""
        with self.cond:
            self.stopping = True
            self.queue.clear()
            self.cond.notify_all()
        if self.thread is not threading.current_thread():
            self.thread.join(wait)
