"""Progress on stderr: a bar on a terminal, plain lines otherwise. Never on stdout."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from auditor.model import Finding


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, check_id: str, findings: list[Finding]) -> None: ...
    def finish(self) -> None: ...


class SilentProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, check_id: str, findings: list[Finding]) -> None:
        pass

    def finish(self) -> None:
        pass


def _summary(findings: list[Finding]) -> str:
    counts = Counter(str(f.status) for f in findings)
    order = ("fail", "error", "warn", "pass", "info", "skip")
    return ", ".join(f"{counts[s]} {s}" for s in order if counts[s])


class LineProgress:
    """One plain line per finished check, for logs and CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.total, self.done = stream, 0, 0

    def start(self, total: int) -> None:
        self.total = total
        print(f"v6audit: running {total} checks", file=self.stream, flush=True)

    def advance(self, check_id: str, findings: list[Finding]) -> None:
        self.done += 1
        print(
            f"[{self.done}/{self.total}] {check_id}: {_summary(findings)}",
            file=self.stream,
            flush=True,
        )

    def finish(self) -> None:
        pass


class BarProgress:
    """A rich progress bar on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]v6audit[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=Console(file=stream),
            transient=True,
        )
        self._task = None

    def start(self, total: int) -> None:
        self._bar.start()
        self._task = self._bar.add_task("", total=total)

    def advance(self, check_id: str, findings: list[Finding]) -> None:
        self._bar.update(self._task, advance=1, description=f"{check_id}: {_summary(findings)}")

    def finish(self) -> None:
        self._bar.stop()


def make_progress(quiet: bool = False, stream: TextIO | None = None) -> Progress:
    stream = stream or sys.stderr
    if quiet:
        return SilentProgress()
    if stream.isatty():
        return BarProgress(stream)
    return LineProgress(stream)
