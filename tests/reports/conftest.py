"""Fixtures of the report tests: the committed sample result, fresh for every test."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.reports.sample_results import load_sample

_SAMPLE = load_sample()


@pytest.fixture
def sample() -> dict[str, Any]:
    return copy.deepcopy(_SAMPLE)
