"""Reading local log files in worker processes.

A folder of flow logs is the largest input this subsystem reads (a week of a busy VPC is tens
of millions of records), and parsing it is CPU-bound Python: one process uses one core. Local
objects are therefore read by a pool of spawned worker processes, a contiguous run of objects
per task. Each task returns the partial figures of its run (coverage, and the destinations or
the names and question statistics), which are merged here in object order, so the result is
the one a serial read gives (first-seen provenance included). S3 objects and CloudWatch Logs
events are read in the calling process: their clients and credentials stay there.

Spawned, not forked: the scan calls this from a worker thread of a process that has other
threads (AWS calls, the event loop), and forking such a process is unsafe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.traffic import coverage as cov
from auditor.traffic.analysis import (
    AddressSpace,
    DestinationTable,
    NameIndex,
    QueryStats,
)
from auditor.traffic.flowlog import FlowScope, Layout, consume_flows
from auditor.traffic.querylog import QueryScope, consume_queries
from auditor.traffic.settings import TrafficScope
from auditor.traffic.sources import LogObject, Window, file_object, lines

MAX_WORKERS = 8
TASKS_PER_WORKER = 16  # runs of objects per worker: no worker idles long at the end
MIN_OBJECTS = 2  # fewer local objects than this are read in the calling process
# Less than this (as stored, usually gzip) is read in the calling process by default: starting
# the workers (a Python process each, about 0.2 s) would cost more than it saves.
MIN_BYTES = 8 << 20


class ReaderLost(RuntimeError):
    """A worker process ended without handing back its part (killed from outside, usually by
    the kernel when memory ran out): what it read is lost, so the phase fails, never passes."""


def worker_count(requested: int | None, objects: list[LogObject]) -> int:
    """How many processes read these local objects: `requested` when given, else one per core
    this process may use once there is enough to read that starting processes pays off; 1
    means the calling process reads them itself."""
    if len(objects) < MIN_OBJECTS:
        return 1
    if requested is None and _size(objects) < MIN_BYTES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    wanted = requested if requested is not None else (cores or 1)
    return max(1, min(wanted, len(objects), MAX_WORKERS))


def _size(objects: list[LogObject]) -> int:
    total = 0
    for obj in objects:
        with contextlib.suppress(OSError):  # its reader counts why it cannot be read
            total += os.stat(obj.name).st_size
        if total >= MIN_BYTES:
            break
    return total


@dataclass(frozen=True)
class Job:
    """What every task of one source needs, sent once to each worker process."""

    kind: str  # resolver_query_logs | flow_logs
    source: str  # the source's label, as its coverage names it
    window: Window
    scope: TrafficScope
    own_cidrs: tuple[str, ...]
    layout: Layout | None = None  # flow logs without header lines
    names: NameIndex | None = None  # flow logs: the names the query logs answered


@dataclass
class QueryPart:
    coverage: cov.SourceCoverage
    names: NameIndex
    stats: QueryStats


@dataclass
class FlowPart:
    coverage: cov.SourceCoverage
    table: DestinationTable


_job: Job | None = None
_space: AddressSpace | None = None


def _start(job: Job) -> None:
    global _job, _space
    _job = job
    _space = AddressSpace(job.own_cidrs)


def _read_run(paths: list[str]) -> QueryPart | FlowPart:
    """One task: a run of local objects read in order into one partial."""
    assert _job is not None and _space is not None
    job, space = _job, _space
    coverage = cov.SourceCoverage(job.kind, job.source)
    if job.kind == "resolver_query_logs":
        part: QueryPart | FlowPart = QueryPart(coverage, NameIndex(), QueryStats())
        in_scope = QueryScope(job.scope)
        for path in paths:
            obj = file_object(Path(path))
            consume_queries(
                lines(obj, coverage), job.window, in_scope, space, part.names, part.stats, coverage
            )
        return part
    part = FlowPart(coverage, DestinationTable())
    flow_scope = FlowScope(job.scope)
    for path in paths:
        obj = file_object(Path(path))
        consume_flows(
            lines(obj, coverage),
            obj,
            job.layout,
            job.window,
            flow_scope,
            space,
            job.names,
            part.table,
            coverage,
        )
    return part


def _runs(objects: list[LogObject], workers: int) -> list[list[str]]:
    """Contiguous runs of object names, about TASKS_PER_WORKER per worker."""
    count = min(len(objects), workers * TASKS_PER_WORKER)
    size, extra = divmod(len(objects), count)
    runs, at = [], 0
    for i in range(count):
        step = size + (1 if i < extra else 0)
        runs.append([o.name for o in objects[at : at + step]])
        at += step
    return runs


def read_in_workers(
    job: Job, objects: list[LogObject], workers: int
) -> Iterator[QueryPart | FlowPart]:
    """The partials of `objects` (local files), in object order."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(job,))
    try:
        yield from pool.map(_read_run, _runs(objects, workers))
    except BrokenProcessPool:
        # The pool ends the other workers itself, but a worker it was still starting when one
        # died can be missed, and shutting down then waits for it forever (CPython 3.11; a
        # public `kill_workers` arrives in 3.14). So every worker left is killed here.
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(OSError, ValueError):
                process.kill()
        folder = os.path.commonpath([o.name for o in objects]) if objects else "?"
        raise ReaderLost(
            f"a log reader process ended abruptly while reading {len(objects)} files under"
            f" {folder} (killed from outside, e.g. by the kernel when memory ran out); nothing"
            " read from them counts, run again (with less memory used elsewhere)"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


ReadSerial = Callable[[LogObject], None]


def read_source(
    job: Job,
    objects: Iterable[LogObject],
    workers: int | None,
    serial: ReadSerial,
    merge: Callable[[Any], None],
    coverage: cov.SourceCoverage,
) -> None:
    """Read one source's objects: local files in worker processes when there are enough of
    them, everything else (and everything when one worker is asked for) through `serial`."""
    batch: list[LogObject] = []
    for obj in objects:
        if obj.local:
            batch.append(obj)
        else:
            serial(obj)
    count = worker_count(workers, batch)
    if count <= 1:
        for obj in batch:
            serial(obj)
        return
    for part in read_in_workers(job, batch, count):
        coverage.merge(part.coverage)
        merge(part)
