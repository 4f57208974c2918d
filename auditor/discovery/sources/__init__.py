"""One module per discovery source; each declares itself with `@source` (see ../registry.py)."""
