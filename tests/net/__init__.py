"""Tests of the network toolkit and the network checks (unit tests and lab end-to-end)."""
