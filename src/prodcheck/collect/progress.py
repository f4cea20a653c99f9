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
        self._subscriptions: Any = None
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

    def subscriptions(self, total: int) -> None:
        """Show subscriptions done / total, when there is more than one."""
        if self._progress is not None and total > 1:
            self._subscriptions = self._progress.add_task(
                "Subscriptions", unit=f"of {total} done", total=total
            )

    def subscription_done(self) -> None:
        if self._progress is not None and self._subscriptions is not None:
            self._progress.advance(self._subscriptions, 1)

    def requests(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._requests, completed=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
