"""Checks of the endpoints family."""
