"""v6audit: IPv6-only readiness auditor for AWS workloads."""

__version__ = "0.1.0"
