"""pytest plugin: the IPv6-only network lab as fixtures.

Register it from the top-level conftest with ``pytest_plugins = ["tests.lab.fixtures"]``.

``lab``
    One :class:`~tests.lab.netlab.Lab` for the whole session, built on first use. Skips with a
    reason where the lab cannot run (not root, programs missing, no network namespaces).
``make_lab``
    A factory for extra labs inside one test (``make_lab(extra_records=[...])``), each brought up
    on creation and torn down when the test ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from .netlab import Lab, lab_available, remove_stale_labs

__all__ = ["lab", "make_lab"]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM raises KeyboardInterrupt so that teardown code still runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _skip_unless_available() -> None:
    reason = lab_available()
    if reason is not None:
        pytest.skip(f"network lab unavailable: {reason}")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The session's IPv6-only lab (see tests/lab/netlab.py for what it holds)."""
    _skip_unless_available()
    remove_stale_labs()
    the_lab = Lab(tmp_path_factory.mktemp("netlab"))
    with _sigterm_as_interrupt():
        try:
            the_lab.up()
            yield the_lab
        finally:
            the_lab.down()


@pytest.fixture
def make_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Lab]]:
    """Build more labs in one test: ``make_lab(extra_records=None, tag=None)`` returns one up."""
    _skip_unless_available()
    made: list[Lab] = []

    def factory(extra_records: list[str] | None = None, tag: str | None = None) -> Lab:
        new = Lab(tmp_path_factory.mktemp("netlab"), extra_records=extra_records, tag=tag)
        made.append(new)
        return new.up()

    with _sigterm_as_interrupt():
        try:
            yield factory
        finally:
            for each in made:
                each.down()
