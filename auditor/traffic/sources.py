"""Where log records come from: local files (walked recursively), S3 objects (listed, then
streamed through gzip) and CloudWatch Logs log groups (FilterLogEvents, time-bounded, page by
page). Every source yields objects; every object yields its lines. Nothing is held whole.

Read failures never raise out of here: an object that cannot be opened, is cut short or is not
gzip is counted in the source's coverage (and named in its problems), and reading goes on with
the next object. A source that cannot be listed at all is marked failed.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from auditor.traffic import coverage as cov
from auditor.traffic.settings import TrafficSource

LOG_SUFFIXES = (".log", ".gz", ".txt")
PARQUET_SUFFIX = ".parquet"
READ_CHUNK = 1 << 20
OUT_LIMIT = 4 << 20  # decompressed bytes per step: a gzip bomb never fills memory
MAX_LINE = 1 << 20  # a "line" longer than this is not a log record
GZIP_WBITS = 16 + zlib.MAX_WBITS
# An object named for its delivery time (..._20250101T1205Z_...) holds records from before
# that time; objects more than this far outside the window are not read.
OBJECT_TIME_MARGIN = 3600
_OBJECT_TIME_RE = re.compile(r"_(\d{8}T\d{4}Z)_")
_ACCESS_CODES = frozenset({"AccessDenied", "AccessDeniedException", "Forbidden", "403"})

ClientFactory = Callable[[str, str | None], Any]  # (service, region) -> boto3 client


class ObjectError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class LogObject:
    """One file, S3 object or log group read: its lines, and where a line came from."""

    name: str
    opener: Callable[[], BinaryIO] | None = None
    gz: bool = False
    events: Callable[[], Iterator[str]] | None = None  # CloudWatch: messages, not bytes
    position: list | None = None  # CloudWatch: [stream, line] of the current message
    local: bool = False  # a file on this machine (`name` is its path): worker processes read it

    def where(self, line: int) -> tuple[str, int]:
        if self.position is not None:
            return self.position[0], self.position[1]
        return self.name, line


@dataclass(frozen=True)
class Window:
    start: float  # epoch seconds
    end: float

    def iso(self) -> dict[str, str]:
        return {"start": iso(self.start), "end": iso(self.end)}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_time(name: str) -> float | None:
    match = _OBJECT_TIME_RE.search(name)
    if not match:
        return None
    try:
        when = datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return when.timestamp()


def outside_window(name: str, window: Window) -> bool:
    when = object_time(name)
    if when is None:
        return False
    return when < window.start - OBJECT_TIME_MARGIN or when > window.end + OBJECT_TIME_MARGIN


def _blocks(raw: BinaryIO, gz: bool) -> Iterator[bytes]:
    """The object's bytes in blocks of at most OUT_LIMIT, gunzipped (all members) when `gz`.
    EOFError when the gzip stream ends early; zlib.error when it is not gzip."""
    if not gz:
        while chunk := raw.read(READ_CHUNK):
            yield chunk
        return
    decomp = zlib.decompressobj(GZIP_WBITS)
    pending = b""
    while True:
        if not pending:
            pending = raw.read(READ_CHUNK)
            if not pending:
                break
        data = decomp.decompress(pending, OUT_LIMIT)
        pending = decomp.unconsumed_tail
        if decomp.eof:
            pending = decomp.unused_data + pending
            decomp = zlib.decompressobj(GZIP_WBITS)
            if not pending:
                pending = raw.read(READ_CHUNK)
                if not pending:
                    if data:
                        yield data
                    return
                if not pending.strip(b"\0"):  # padding after the last member
                    pending = b""
        if data:
            yield data
    raise EOFError("the gzip stream ends early")


def lines(obj: LogObject, coverage: cov.SourceCoverage) -> Iterator[str]:
    """The lines of one object (a trailing carriage return stays: every reader ignores it).
    A failure is counted in the coverage, never raised; the lines before it are used."""
    if obj.events is not None:
        yield from obj.events()
        return
    assert obj.opener is not None
    try:
        raw = obj.opener()
    except ObjectError as exc:
        coverage.skip(exc.reason)
        coverage.problem(f"{obj.name}: {exc}")
        return
    rest = b""
    try:
        for data in _blocks(raw, obj.gz):
            if rest:
                data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                if len(rest) > MAX_LINE:
                    raise ValueError(f"a line longer than {MAX_LINE} bytes")
                continue
            rest = data[cut + 1 :]
            yield from data[:cut].decode("utf-8", "replace").split("\n")
        if rest:
            yield rest.decode("utf-8", "replace")
    except EOFError:
        coverage.skip(cov.TRUNCATED)
        coverage.problem(f"{obj.name}: cut short (the gzip stream ends early)")
    except zlib.error as exc:
        coverage.skip(cov.CORRUPT)
        coverage.problem(f"{obj.name}: not a readable gzip stream ({exc})")
    except ValueError as exc:
        coverage.skip(cov.CORRUPT)
        coverage.problem(f"{obj.name}: {exc}")
    except (OSError, BotoCoreError) as exc:
        coverage.skip(cov.TRUNCATED)
        coverage.problem(f"{obj.name}: reading stopped: {exc}")
    finally:
        with contextlib.suppress(OSError, BotoCoreError):
            raw.close()


def objects(
    source: TrafficSource,
    window: Window,
    coverage: cov.SourceCoverage,
    clients: ClientFactory | None,
) -> Iterator[LogObject]:
    """The objects of one source, oldest name first where names sort by time."""
    try:
        if source.kind == "path":
            yield from _path_objects(Path(source.location), window, coverage)
        elif source.kind == "s3":
            if clients is None:
                coverage.fail(f"{source.location}: no AWS access configured")
                return
            yield from _s3_objects(source, window, coverage, clients("s3", source.region))
        else:
            if clients is None:
                coverage.fail(f"{source.label}: no AWS access configured")
                return
            yield _log_group_object(source, window, coverage, clients("logs", source.region))
    except ObjectError as exc:
        coverage.fail(str(exc))


def _kept(name: str, window: Window, coverage: cov.SourceCoverage) -> bool:
    """Whether to read an object: Parquet is refused by name, far-off objects are pruned."""
    if name.endswith(PARQUET_SUFFIX):
        coverage.objects += 1
        coverage.skip(cov.UNSUPPORTED)
        coverage.problem(
            f"{name}: Parquet flow logs are not supported yet; deliver them as text (plain or gzip)"
        )
        return False
    if outside_window(name, window):
        coverage.skip("objects-outside-window")
        return False
    return True


def _path_objects(root: Path, window: Window, coverage: cov.SourceCoverage) -> Iterator[LogObject]:
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = []
        for folder, dirs, names in os.walk(root, onerror=None):
            dirs.sort()
            for name in names:
                if name.endswith((*LOG_SUFFIXES, PARQUET_SUFFIX)):
                    files.append(Path(folder) / name)
        files.sort()
    else:
        raise ObjectError(cov.UNREADABLE, f"{root}: no such file or folder")
    for path in files:
        if not _kept(str(path), window, coverage):
            continue
        coverage.objects += 1
        if not path.is_file():  # a named pipe or a device: reading it could wait forever
            coverage.skip(cov.UNREADABLE)
            coverage.problem(f"{path}: not a regular file, not read")
            continue
        yield file_object(path)


def file_object(path: Path) -> LogObject:
    return LogObject(str(path), opener=_file_opener(path), gz=path.suffix == ".gz", local=True)


def _file_opener(path: Path) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        try:
            return path.open("rb")
        except PermissionError as exc:
            raise ObjectError(cov.ACCESS_DENIED, f"permission denied ({exc.strerror})") from None
        except OSError as exc:
            raise ObjectError(cov.UNREADABLE, f"cannot open: {exc.strerror or exc}") from None

    return opener


def split_s3(url: str) -> tuple[str, str]:
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _s3_objects(
    source: TrafficSource, window: Window, coverage: cov.SourceCoverage, s3: Any
) -> Iterator[LogObject]:
    bucket, prefix = split_s3(source.location)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    try:
        for page in pages:
            for item in page.get("Contents") or []:
                key = item["Key"]
                if key.endswith("/") or not key.endswith((*LOG_SUFFIXES, PARQUET_SUFFIX)):
                    continue
                name = f"s3://{bucket}/{key}"
                if not _kept(name, window, coverage):
                    continue
                coverage.objects += 1
                yield LogObject(name, opener=_s3_opener(s3, bucket, key), gz=key.endswith(".gz"))
    except ClientError as exc:
        code = _error_code(exc)
        what = "denied s3:ListBucket" if code in _ACCESS_CODES else f"{code}"
        raise ObjectError(
            cov.UNREADABLE, f"{source.location}: cannot list objects ({what}: {exc})"
        ) from None
    except BotoCoreError as exc:
        raise ObjectError(
            cov.UNREADABLE, f"{source.location}: cannot list objects: {exc}"
        ) from None


class _BodyReader(io.RawIOBase):
    """A botocore StreamingBody as a raw stream, so gzip and text layers can sit on it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def _s3_opener(s3: Any, bucket: str, key: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            return io.BufferedReader(_BodyReader(body), READ_CHUNK)  # type: ignore[return-value]
        except ClientError as exc:
            code = _error_code(exc)
            if code in _ACCESS_CODES:
                raise ObjectError(cov.ACCESS_DENIED, "denied s3:GetObject") from None
            raise ObjectError(cov.UNREADABLE, f"GetObject failed: {code}") from None
        except BotoCoreError as exc:
            raise ObjectError(cov.UNREADABLE, f"GetObject failed: {exc}") from None

    return opener


def _log_group_object(
    source: TrafficSource, window: Window, coverage: cov.SourceCoverage, logs: Any
) -> LogObject:
    """The whole log group in the window as one object; `position` tracks which log stream
    (and which of its messages) the current line is."""
    position: list = ["", 0]
    counters: dict[str, int] = {}

    def events() -> Iterator[str]:
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=source.location,
            startTime=int(window.start * 1000),
            endTime=int(window.end * 1000),
        )
        try:
            for page in pages:
                for event in page.get("events") or []:
                    stream = event.get("logStreamName", "")
                    counters[stream] = counters.get(stream, 0) + 1
                    position[0], position[1] = stream, counters[stream]
                    yield str(event.get("message", "")).rstrip("\r\n")
        except ClientError as exc:
            code = _error_code(exc)
            message = f"{source.label}: FilterLogEvents failed: {code}: {exc}"
            if code in _ACCESS_CODES:
                message = f"{source.label}: denied logs:FilterLogEvents"
            elif code == "ResourceNotFoundException":
                message = f"{source.label}: no such log group"
            stopped(message)
        except BotoCoreError as exc:
            stopped(f"{source.label}: FilterLogEvents failed: {exc}")

    def stopped(message: str) -> None:
        """Reading failed: after some events the group is cut short, before any it failed."""
        if counters:
            coverage.skip(cov.TRUNCATED)
            coverage.problem(message)
        else:
            coverage.fail(message)

    coverage.objects += 1
    return LogObject(source.location, events=events, position=position)
