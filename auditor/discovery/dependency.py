"""Discovered targets as configured ones: the one place discovery makes a `Dependency`."""

from __future__ import annotations

from auditor.config import Dependency
from auditor.discovery.model import DiscoveredTarget


def as_dependency(target: DiscoveredTarget, name: str) -> Dependency:
    """`target` as a dependency or log shipper named `name`, its provenance as `file:line`."""
    source = f"{target.source}:{target.line}" if target.line else target.source
    return Dependency(
        name=name,
        kinds=(target.kind,),
        url=target.url,
        address=target.address,
        category=target.category,
        source=source,
    )
