"""YAML loading that remembers where every key and item stood, for one-line errors.

Hostile documents get bounded memory and time: the file size, the nesting depth and the number
of nodes after expanding aliases and merge keys are capped, so a "billion laughs" document or a
deeply nested one ends as a ConfigError naming the file and line instead of exhausting memory.
Aliases are expanded by `_build` (every path gets its own line record), which is why the
expanded size, not the composed size, is what is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import ConfigError

PathKey = tuple[str | int, ...]

MAX_BYTES = 4 * 1024 * 1024  # larger than any hand-written config, suppressions or host file
MAX_DEPTH = 64  # nesting levels, counted after expanding aliases
MAX_NODES = 100_000  # nodes after expanding aliases and merge keys (about 100 MB parsed)


@dataclass
class LocatedYaml:
    """Plain Python data plus the 1-based line of each key and list item."""

    path: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, key: PathKey) -> int | None:
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def error(self, key: PathKey, message: str) -> ConfigError:
        return ConfigError(self.path, self.line(key), dotted(key) or None, message)


def dotted(key: PathKey) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class _TooLarge(Exception):
    def __init__(self, mark: yaml.Mark | None, message: str) -> None:
        self.line = mark.line + 1 if mark else None
        super().__init__(message)


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that stops composing past MAX_DEPTH levels or MAX_NODES nodes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _TooLarge(self.peek_event().start_mark, f"more than {MAX_NODES} nodes")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooLarge(mark, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Raise _TooLarge when expanding aliases would exceed MAX_NODES or MAX_DEPTH, or loop.

    Each distinct node is measured once (aliases share nodes), so this costs the composed size.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, height)
    active: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in active:
            raise _TooLarge(node.start_mark, "an alias refers to a node that contains it")
        if key not in measured:
            if depth > MAX_DEPTH:
                raise _TooLarge(node.start_mark, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                children = []
            active.add(key)
            count, height = 1, 1
            for child in children:
                sub_count, sub_height = walk(child, depth + 1)
                count += sub_count
                height = max(height, sub_height + 1)
                if count > MAX_NODES:
                    raise _TooLarge(
                        child.start_mark, f"aliases expand to more than {MAX_NODES} nodes"
                    )
            active.discard(key)
            measured[key] = (count, height)
        count, height = measured[key]
        if depth + height - 1 > MAX_DEPTH:
            raise _TooLarge(
                node.start_mark, f"aliases expand to more than {MAX_DEPTH} nesting levels"
            )
        return count, height

    walk(root, 1)


def _read(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(path, None, None, "file not found") from None
    except OSError as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(path, None, None, f"larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, None, f"cannot read: {exc}") from None


def load_yaml(path: str | Path, text: str | None = None) -> LocatedYaml:
    """Parse one YAML document; duplicate keys, syntax errors and documents past the size,
    depth or alias-expansion bounds raise ConfigError."""
    path = str(path)
    if text is None:
        text = _read(path)
    elif len(text) > MAX_BYTES:
        raise ConfigError(path, None, None, f"larger than {MAX_BYTES} bytes")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        located = LocatedYaml(path, None)
        if node is not None:
            _check_expansion(node)
            located.lines[()] = node.start_mark.line + 1
            located.data = _build(loader, node, (), located)
        return located
    except _TooLarge as exc:
        raise ConfigError(path, exc.line, None, f"YAML too large: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(path, line, None, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, None, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, key: PathKey, out: LocatedYaml) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if not isinstance(name, str):
                raise ConfigError(
                    out.path, line, dotted(key) or None, f"key {name!r} is not a string"
                )
            if name in result:
                raise ConfigError(out.path, line, dotted((*key, name)), "duplicate key")
            out.lines[(*key, name)] = line
            result[name] = _build(loader, value_node, (*key, name), out)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            out.lines[(*key, index)] = item.start_mark.line + 1
            items.append(_build(loader, item, (*key, index), out))
        return items
    return loader.construct_object(node, deep=True)
