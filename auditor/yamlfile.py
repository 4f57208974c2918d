"""YAML loading that remembers where every key and item stood, for one-line errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import ConfigError

PathKey = tuple[str | int, ...]


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


def load_yaml(path: str | Path, text: str | None = None) -> LocatedYaml:
    """Parse one YAML document; duplicate keys and syntax errors raise ConfigError."""
    path = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(path, None, None, "file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, None, None, f"cannot read: {exc}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        located = LocatedYaml(path, None)
        if node is not None:
            located.lines[()] = node.start_mark.line + 1
            located.data = _build(loader, node, (), located)
        return located
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
