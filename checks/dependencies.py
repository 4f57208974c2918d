"""Checks of the dependencies family."""
