"""What a check receives: the config, bounded fan-out, shared caches, the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from auditor.config import Config

if TYPE_CHECKING:
    from auditor.model import Finding

T = TypeVar("T")
R = TypeVar("R")


class OnceCache:
    """Computes each key once per run; concurrent askers share the one computation.

    A failure is cached too: every check that reads the same listing sees the same error
    instead of hammering the API again.
    """

    def __init__(self) -> None:
        self._futures: dict[Any, asyncio.Future] = {}

    async def get(self, key: Any, factory: Callable[[], Awaitable[T]]) -> T:
        future = self._futures.get(key)
        if future is None:
            future = asyncio.ensure_future(factory())
            self._futures[key] = future
        return await asyncio.shield(future)

    def clear(self) -> None:
        """Forget every value (the run is over: its listings need not outlive the checks)."""
        self._futures.clear()

    def peek(self, key: Any) -> Any:
        """The value if it was computed successfully, else None."""
        future = self._futures.get(key)
        if (
            future is not None
            and future.done()
            and not future.cancelled()
            and not future.exception()
        ):
            return future.result()
        return None


@dataclass
class Limits:
    """Global and per-family bounds on concurrent I/O.

    A family may take at most three quarters of the global slots, so one large family
    (thousands of names to probe) never starves the others.
    """

    concurrency: int
    global_slots: asyncio.Semaphore = field(init=False)
    _families: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.global_slots = asyncio.Semaphore(self.concurrency)

    @property
    def family_limit(self) -> int:
        return max(1, self.concurrency * 3 // 4)

    def family(self, name: str) -> asyncio.Semaphore:
        sem = self._families.get(name)
        if sem is None:
            sem = self._families[name] = asyncio.Semaphore(self.family_limit)
        return sem


@dataclass
class RunState:
    """Shared by every check of one run."""

    config: Config
    limits: Limits
    cache: OnceCache = field(default_factory=OnceCache)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    services: dict[str, Any] = field(default_factory=dict)
    preflight: Finding | None = None
    # Run-level problems ({level, source, message}); an "error" entry here means the scan
    # could not complete (no credentials, no IPv6): exit 3 once the reports are written.
    problems: list[dict] = field(default_factory=list)

    def report_problem(self, source: str, message: str, *, fatal: bool = False) -> None:
        entry = {"level": "error" if fatal else "warning", "source": source, "message": message}
        if entry not in self.problems:
            self.problems.append(entry)


@dataclass
class CheckContext:
    """The view of the run that one check gets."""

    state: RunState
    check_id: str
    family: str

    @property
    def config(self) -> Config:
        return self.state.config

    @property
    def cache(self) -> OnceCache:
        return self.state.cache

    @property
    def preflight(self) -> Finding | None:
        return self.state.preflight

    def report_problem(self, message: str, *, fatal: bool = False) -> None:
        self.state.report_problem(self.check_id, message, fatal=fatal)

    def now(self) -> datetime:
        return self.state.clock()

    def service(self, name: str, factory: Callable[[RunState], T]) -> T:
        """A run-wide helper object (probe toolkit, AWS inventory), created on first use."""
        if name not in self.state.services:
            self.state.services[name] = factory(self.state)
        return self.state.services[name]

    async def bounded(self, awaitable: Awaitable[T]) -> T:
        """Await one unit of I/O under the global and the family bound."""
        async with self.state.limits.family(self.family), self.state.limits.global_slots:
            return await awaitable

    async def map(
        self, func: Callable[[T], Awaitable[R]], items: Iterable[T]
    ) -> AsyncIterator[tuple[T, R | BaseException]]:
        """Run `func` over `items` concurrently under the bounds; yield (item, result) as each
        completes. An exception is yielded as the result so one bad item spoils nothing."""
        family_sem = self.state.limits.family(self.family)
        global_sem = self.state.limits.global_slots
        queue: asyncio.Queue = asyncio.Queue()
        pending = 0

        async def one(item: T) -> None:
            try:
                async with family_sem, global_sem:
                    result: Any = await func(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - handed back to the caller as a result
                result = exc
            queue.put_nowait((item, result))

        # Start tasks lazily in windows so 100,000 items never means 100,000 idle tasks.
        window = max(1, self.state.limits.family_limit * 2)
        iterator = iter(items)
        tasks: set[asyncio.Task] = set()
        try:
            exhausted = False
            while True:
                while not exhausted and pending < window:
                    try:
                        item = next(iterator)
                    except StopIteration:
                        exhausted = True
                        break
                    task = asyncio.create_task(one(item))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    pending += 1
                if pending == 0:
                    return
                yield await queue.get()
                pending -= 1
        finally:
            for task in tasks:
                task.cancel()
