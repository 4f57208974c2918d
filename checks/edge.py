"""Checks of the edge family."""
