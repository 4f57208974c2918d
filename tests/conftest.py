"""Shared fixtures. The network lab (root, namespaces) lives in tests/lab; the moto server
fixture in tests/aws/conftest.py."""

pytest_plugins = ["tests.lab.fixtures"]
