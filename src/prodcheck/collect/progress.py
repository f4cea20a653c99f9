"""The progress display on stderr while collecting: per service, resources found so far."""

from __future__ import annotations

import sys
import threading
from typing import Any


class Progress:
    """A rich live display, or nothing (not a terminal, or quiet)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._progress: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description:<20}"),
                TextColumn("{task.completed:>7.0f} {task.fields[unit]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._requests = self._progress.add_task("Resource Manager", unit="requests")

    @staticmethod
    def wanted(quiet: bool, forced: bool | None) -> bool:
        if quiet:
            return False
        if forced is not None:
            return forced
        return sys.stderr.isatty()

    def start(self) -> None:
        if self._progress is not None:
            self._progress.start()

    def found(self, service: str, count: int = 1) -> None:
        if self._progress is None:
            return
        with self._lock:
            task = self._tasks.get(service)
            if task is None:
                task = self._tasks[service] = self._progress.add_task(service, unit="found")
        self._progress.advance(task, count)

    def requests(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._requests, completed=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
