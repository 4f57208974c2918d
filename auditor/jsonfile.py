"""Reading a JSON file someone handed us (a saved result, a baseline) within bounds.

`json.loads` recurses once per nesting level, so a file of a million `[` ends in RecursionError
deep inside the parser; and a result nested a few hundred levels deep parses, then exhausts
the stack of whatever walks it next (schema validation, a renderer). Both become one clear
error naming the file here, before anything else reads the data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError

# Far deeper than any result v6audit writes (evidence nests a handful of levels).
MAX_DEPTH = 64


def too_deep(data: Any, limit: int) -> str | None:
    """The path (a/0/b) of the first value nested deeper than `limit`, or None; iterative, so
    it cannot overflow the stack it protects."""
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, dict):
            children = value.items()
        elif isinstance(value, list):
            children = enumerate(value)
        else:
            continue
        if depth > limit:
            return where or "(top level)"
        stack.extend((v, depth + 1, f"{where}/{k}" if where else str(k)) for k, v in children)
    return None


def read_json(path: str | Path, what: str, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed contents of `path`; any problem is a ConfigError naming the file."""
    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            path, None, None, f"not a {what}: not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, exc.lineno, None, f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(
            path, None, None, f"not a {what}: JSON nested deeper than {max_depth} levels"
        ) from None
    where = too_deep(data, max_depth)
    if where is not None:
        raise ConfigError(
            path, None, where, f"not a {what}: JSON nested deeper than {max_depth} levels"
        )
    return data
