"""An IPv6-only network lab for the tests: namespaces, DNS64, NAT64 and servers on one machine."""

from .netlab import Lab, LabError, lab_available, remove_stale_labs

__all__ = ["Lab", "LabError", "lab_available", "remove_stale_labs"]
