"""Where reports go: a folder of report files, one file, or stdout.

A regular file is replaced atomically (written beside it, then renamed), so a reader never
sees half a report and a failed write leaves the old one and no temporary file. A character
device or a FIFO (`/dev/stdout`, a named pipe a collector reads) is written into, as a shell
redirection would; it is never replaced by a file. Anything else is refused. Every failure is
an `OutputError`: one line naming the path and the reason.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from auditor.errors import EXIT_INCOMPLETE, OutputError

if TYPE_CHECKING:
    from auditor.formats import Format


def _refusal(mode: int) -> str | None:
    """Why a report must not be written over an existing node of this type, if it must not."""
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if stat.S_ISBLK(mode):
        return "it is a block device"
    return "it is not a regular file, a character device or a FIFO"


def write_file(path: str | Path, data: str | bytes) -> None:
    """Write `data` to `path` (see the module docstring); OutputError when it cannot."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with open_output(path) as fh:
        fh.write(payload)


@contextmanager
def open_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary stream onto `path` with `write_file`'s rules, for output too large to hold:
    a regular file is replaced only when the block ends without error."""
    path = Path(path)
    try:
        mode = path.stat().st_mode  # follows symlinks: /dev/stdout is a pipe or a tty
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and (why := _refusal(mode)):
        raise OutputError(f"cannot write {path}: {why}")
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with path.open("wb") as fh:  # a device or FIFO: into it, never over it
                yield fh
            return
        with _replacing(path) as fh:
            yield fh
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as a plain open() would, not mkstemp's 0600
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(data: str | bytes, output: str = "-") -> None:
    """`data` to stdout (`-`) or to the file `output`."""
    if output != "-":
        write_file(output, data)
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        sys.stdout.write(data)
        sys.stdout.flush()


def prepare_output(outdir: str) -> None:
    """Make sure the output folder can be written before anything is probed."""
    if outdir == "-":
        return
    folder = Path(outdir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write reports to {outdir}: {exc.strerror or exc}") from None


def write_outputs(result: dict, formats: Sequence[Format], outdir: str) -> list[str]:
    """Render every format; `-` as the folder writes the single format to stdout. A report
    that cannot be written after the scan ran means the scan could not complete (exit 3)."""
    if outdir == "-":
        formats[0].write(result, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return ["-"]
    written = []
    for fmt in formats:
        path = Path(outdir) / fmt.filename
        try:
            if fmt.streamer:  # the JSON result: written as it is encoded
                with open_output(path) as fh:
                    fmt.write(result, fh)
            else:  # rendered first, so a renderer's failure is never taken for a write error
                write_file(path, fmt.render(result))
        except OutputError as error:
            error.exit_code = EXIT_INCOMPLETE
            raise
        written.append(str(path))
    return written
