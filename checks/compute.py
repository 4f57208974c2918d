"""Checks of the compute family."""
