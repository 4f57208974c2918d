"""Dependency discovery (`discover: true`): what the workload on this host reaches out to.

`discover()` reads well-known configuration files below `root` (package managers, container
tooling, log shippers), the environment, and files found under `search_paths`, and returns
network targets, each with the file and line it came from. It never touches the network.

Behaviour where the formats leave a choice:

- Loopback destinations (localhost, 127.0.0.0/8, ::1) and local sources (apt `file:`/`cdrom:`,
  yum `file://`) are not network dependencies and are left out.
- URLs lose their credentials (`user:pass@`), query string and fragment before they are stored
  or named, so tokens such as `?dd-api-key=` never reach a report.
- HTTP log outputs: TLS or `https` gives `https-intake`, plain gives `http`. Address outputs:
  syslog over TCP gives `syslog-tcp`, syslog over TLS gives `syslog-tls`, other TCP protocols
  (fluentd/fluent-bit forward, RELP, vector socket/vector sinks) give `tcp` whatever their TLS
  setting. UDP cannot be proven by a connect: it is reported in `problems` and skipped.
- The fluent-bit `datadog` output is taken as TLS on unless `TLS off` is written (the intake
  only accepts TLS).
- yum/dnf variables are resolved from `/etc/dnf/vars`, `/etc/yum/vars` and `DNF_VAR_*`/`YUMn`;
  the rest (`$releasever`, `$basearch` when unset) stay literally in the URL and are noted in
  `problems`.
- CloudWatch agent: a `logs` section gives `endpoint_override` when set, else
  `https://logs.{region}.amazonaws.com/` with the region from `agent.region` (the file's own,
  then the main file's), then `AWS_REGION`/`AWS_DEFAULT_REGION`. With no region known the agent
  would ask instance metadata at run time: the file gets a problem and no target.
- A target's line is the line of the directive that names the destination (the `Host`,
  `endpoint`, `uri`, `action(` ...), or the line naming the plugin when the destination is the
  plugin's default.
- `problems` holds files that were skipped (unreadable, malformed, larger than the per-file
  cap) and notes about directives that were found but cannot be probed (UDP, unset variables).

Layout: `model` (what is returned), `collector` (bounded reads, de-duplication), `text`
(shared URL, variable, INI, JSON and YAML helpers), `registry` (the `@source` declaration and
the search-path walk) and one module per source under `sources/`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from auditor.discovery.collector import Collector
from auditor.discovery.model import DiscoveredTarget, DiscoveryProblem, DiscoveryResult
from auditor.discovery.registry import load_sources, walk_search_paths

__all__ = ["DiscoveredTarget", "DiscoveryProblem", "DiscoveryResult", "discover"]


def discover(
    root: Path = Path("/"),
    env: Mapping[str, str] | None = None,
    search_paths: Sequence[Path] = (),
) -> DiscoveryResult:
    """Targets the workload depends on, found below `root`, in `env` and under `search_paths`.

    `root` is prepended to every well-known absolute path (and to absolute includes); `env`
    defaults to the process environment; `search_paths` are walked as given (a few levels deep,
    skipping VCS, node_modules and virtualenv folders) for Dockerfiles, requirements files,
    `.npmrc` and `pip.conf`. Targets are de-duplicated by (kind, url or address), keeping the
    first provenance, in the sources' order: apt, yum, pip, npm, docker, fluent-bit, vector,
    fluentd, rsyslog, CloudWatch agent. Never raises: what cannot be read goes to `problems`.
    """
    root = Path(root)
    coll = Collector(root, os.environ if env is None else env)
    sources = load_sources()
    try:
        found = walk_search_paths(coll, search_paths, sources)
    except Exception as exc:  # noqa: BLE001 - a broken walk never stops the well-known files
        coll.problem(str(root), f"discovery step failed: {type(exc).__name__}: {exc}")
        found = {}
    for src in sources:
        try:
            for path in src.files(root, coll.env):
                coll.scan(path, src.category, src.parse)
            if src.env is not None:
                coll.record(src.env(coll), src.category, "env")
            for path in found.get(src.name, ()):
                coll.scan(path, src.category, src.parse)
        except Exception as exc:  # noqa: BLE001 - one broken source never stops the others
            coll.problem(str(root), f"discovery step failed: {type(exc).__name__}: {exc}")
    return coll.result
