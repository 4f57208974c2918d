"""Checks of the vpc family."""
