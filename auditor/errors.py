"""Errors that end a command with one clear line and an exit code from the contract."""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3


class AuditorError(Exception):
    """An error shown to the user as one line; `exit_code` is the process exit status."""

    exit_code = EXIT_USAGE


class ConfigError(AuditorError):
    """Bad config, suppressions or baseline file: names the file, line and key."""

    def __init__(self, path: str, line: int | None, key: str | None, message: str) -> None:
        self.path, self.line, self.key, self.detail = path, line, key, message
        where = path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


class UsageError(AuditorError):
    """Bad command-line use."""


class OutputError(AuditorError):
    """A report cannot be written where it was asked for."""


class CheckLoadError(AuditorError):
    """A check or plugin cannot be loaded (duplicate id, bad metadata, import failure)."""


class ScanIncomplete(AuditorError):
    """The scan could not complete (no credentials, preflight failed)."""

    exit_code = EXIT_INCOMPLETE
