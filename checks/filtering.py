"""Checks of the filtering family."""
