"""Renderers: every report format is rendered from the same JSON result and queries nothing.

The list of formats lives in `auditor.formats`, which imports each renderer by name only when
it is used, so the engine never imports this package at load time.
"""
