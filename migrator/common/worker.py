"""A thread that hands its result, or its exception, to whoever waits for it."""
from __future__ import annotations

import threading
from typing import Any, Callable


class Worker(threading.Thread):
    """Runs one function beside the caller's own work; ``result`` waits, then returns or raises."""

    def __init__(self, fn: Callable[[], Any]):
        super().__init__(daemon=True)
        self._fn, self._value, self._error = fn, None, None

    def run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value
