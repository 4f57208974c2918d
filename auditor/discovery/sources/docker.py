"""Docker: registry mirrors of `daemon.json`, and the registries Dockerfiles pull from.

Dockerfiles are read here: only `FROM`, `COPY --from` and the `# syntax=` directive matter,
with BuildKit's rules for the escape directive, continuations and heredocs.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import DEPENDENCY, Hit, Item, Malformed, Note, Unresolved
from auditor.discovery.registry import source
from auditor.discovery.text import clean_url, expand, json_line, load_json, str_list, url_label

DOCKER_HUB = "registry-1.docker.io"

_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"(?<!<)<<(?!<)-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def is_dockerfile(filename: str) -> bool:
    if filename.endswith(".dockerignore"):
        return False
    return (
        fnmatch.fnmatchcase(filename, "Dockerfile*")
        or fnmatch.fnmatchcase(filename, "Containerfile*")
        or filename.lower().endswith(".dockerfile")
    )


def parse_daemon_json(text: str) -> Iterator[Item]:
    """`registry-mirrors` and `insecure-registries` of Docker's daemon.json."""
    data = load_json(text)
    if not isinstance(data, dict):
        raise Malformed(1, "expected a JSON object")
    for entry in str_list(data.get("registry-mirrors")):
        url = clean_url(entry if "://" in entry else f"https://{entry}")
        if url:
            line = json_line(text, "registry-mirrors", entry)
            url = url.rstrip("/") + "/v2/"
            yield Hit(f"docker mirror {url_label(url)}", "oci-registry", line, url=url)
    for entry in str_list(data.get("insecure-registries")):
        if "://" not in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
                continue  # a CIDR range, not a registry
            except ValueError:
                pass
        # insecure registries are usually plain HTTP; an explicit scheme wins
        url = clean_url(entry if "://" in entry else f"http://{entry}")
        if url:
            line = json_line(text, "insecure-registries", entry)
            url = url.rstrip("/") + "/v2/"
            name = f"docker insecure registry {url_label(url)}"
            yield Hit(name, "oci-registry", line, url=url)


def image_registry(ref: str) -> str:
    """Registry host of an image reference (Docker Hub when the first component is no host)."""
    first, sep, _ = ref.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        host = first.lower()
        return DOCKER_HUB if host in ("docker.io", "index.docker.io") else host
    return DOCKER_HUB


def _image_hit(ref: str, stages: set[str], line: int) -> Hit | None:
    ref = ref.strip()
    if not ref or ref.lower() == "scratch" or ref.lower() in stages:
        return None
    host = image_registry(ref)
    return Hit(f"image registry {host}", "oci-registry", line, url=f"https://{host}/v2/")


def _dockerfile_lines(text: str) -> tuple[dict[str, tuple[str, int]], list[tuple[str, int]]]:
    """Parser directives and logical instruction lines (continuations joined, heredocs cut)."""
    raw_lines = text.splitlines()
    directives: dict[str, tuple[str, int]] = {}
    for n, raw in enumerate(raw_lines, 1):
        m = _DIRECTIVE.match(raw.strip())
        if not m or m[1].lower() in directives:
            break
        directives[m[1].lower()] = (m[2], n)
    escape = directives.get("escape", ("\\", 0))[0]
    logical: list[tuple[str, int]] = []
    buf: list[str] = []
    start = 0
    heredocs: list[str] = []
    for n, raw in enumerate(raw_lines, 1):
        stripped = raw.strip()
        if heredocs:
            if stripped == heredocs[0]:
                heredocs.pop(0)
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if not buf:
            start = n
        if stripped.endswith(escape):
            buf.append(stripped[: -len(escape)])
            continue
        buf.append(stripped)
        instruction = " ".join(buf)
        logical.append((instruction, start))
        buf = []
        if instruction.split(None, 1)[0].upper() in {"RUN", "COPY", "ADD"}:
            heredocs = [m[2] for m in _HEREDOC.finditer(instruction)]
    if buf:
        logical.append((" ".join(buf), start))
    return directives, logical


def parse_dockerfile(text: str) -> Iterator[Item]:
    """Registries of `FROM` images, `COPY --from=image` and the `# syntax=` frontend."""
    directives, logical = _dockerfile_lines(text)
    stages: set[str] = set()
    if "syntax" in directives:
        ref, line = directives["syntax"]
        hit = _image_hit(ref, stages, line)
        if hit:
            yield hit
    meta_args: dict[str, str | None] = {}
    seen_from = False
    for instruction, n in logical:
        word, rest = [*instruction.split(None, 1), ""][:2]
        word = word.upper()
        if word == "ARG" and not seen_from:
            try:
                args = shlex.split(rest)
            except ValueError:
                raise Malformed(n, "unbalanced quotes in ARG") from None
            for arg in args:
                name, eq, value = arg.partition("=")
                meta_args[name] = value if eq else None
        elif word == "FROM":
            seen_from = True
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise Malformed(n, "FROM without an image")
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            try:
                ref = expand(words[0], meta_args.get, line=n)
            except Unresolved as exc:
                names = ", ".join(f"${e}" for e in exc.names)
                yield Note(f"line {n}: FROM uses {names} without a default; skipped")
            else:
                hit = _image_hit(ref, stages, n)
                if hit:
                    yield hit
            if alias:
                stages.add(alias)
        elif word == "COPY":
            for w in rest.split():
                if w.startswith("--from="):
                    ref = w[len("--from=") :]
                    if ref.isdigit() or "$" in ref:
                        continue
                    hit = _image_hit(ref, stages, n)
                    if hit:
                        yield hit


@source(
    name="docker",
    category=DEPENDENCY,
    order=50,
    paths=("/etc/docker/daemon.json",),
    project_files=(is_dockerfile,),
)
def parse(coll: Collector, text: str, path: Path) -> Iterator[Item]:
    return parse_dockerfile(text) if is_dockerfile(path.name) else parse_daemon_json(text)
