"""Credentials out of URLs: the one function that makes a URL fit to show.

A URL can carry a credential in four places: its userinfo (`user:token@`), its query
(`?dd-api-key=…`), its fragment, and, for intakes and registries that take the token there,
its path. `redact_url` replaces each with `***` and keeps the rest (scheme, host, port, the
path around the token, the names of query parameters), so a reader still sees which service
and which endpoint a finding is about. It never raises, whatever the text.

Tokens carried in the path, by service (`PATH_TOKENS`):

- Sumo Logic HTTP/OTLP sources: `/receiver/v1/http/<token>`, `/receiver/v1/otlp/<token>/…`
- Loggly: `/inputs/<token>/…`, `/bulk/<token>/…`
- Datadog's v1 log intake: `/v1/input/<api-key>`
- Rapid7 InsightOps / Logentries webhooks: `/noformat/logs/<token>`, `/v1/noformat/<token>`,
  `/v1/logs/<token>`
- npm registries that take a token path prefix: `/t/<token>/…`
- Gemfury (`*.fury.io/<token>/…`), Cloudsmith (`dl.cloudsmith.io/<token>/…`, not `basic`
  or `public`), packagecloud (`/priv/<token>/…`)
- Webhooks: Slack (`hooks.slack.com/services/…`), Discord (`/api/webhooks/<id>/<token>`),
  Microsoft Teams (`/webhookb2/…`), Telegram bots (`/bot<token>/…`)

Splunk HEC, New Relic, Honeycomb and Grafana Cloud take their keys in headers or userinfo; keys
in a query string (Logz.io `?token=`, New Relic `?Api-Key=`, Azure SAS, presigned S3) are
covered by the query rule.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# (host suffix the rule is limited to, or "" for any host; pattern whose group 1 is the token)
PATH_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (host, re.compile(pattern, re.IGNORECASE))
    for host, pattern in (
        ("", r"/receiver/v1/(?:http|otlp)/([^/?#]+)"),
        ("", r"/(?:inputs|bulk)/([^/?#]+)"),
        ("", r"/v1/input/([^/?#]+)"),
        ("", r"/(?:noformat/logs|v1/noformat|v1/logs)/([^/?#]+)"),
        ("", r"^/t/([^/?#]+)"),
        ("", r"/priv/([^/?#]+)"),
        ("", r"/api/webhooks/[^/?#]+/([^/?#]+)"),
        ("", r"/webhookb2/([^?#]+)"),
        ("fury.io", r"^/([^/?#]+)"),
        ("dl.cloudsmith.io", r"^/(?!basic/|public/)([^/?#]+)"),
        ("hooks.slack.com", r"^/(?:services|workflows|triggers)/([^?#]+)"),
        ("api.telegram.org", r"^/(?:file/)?bot([^/?#]+)"),
    )
)

_URL_RE = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*:)?(?://(?P<netloc>[^/?#]*))?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$",
    re.IGNORECASE | re.DOTALL,
)


def _host_of(hostport: str) -> str:
    if hostport.startswith("["):
        return hostport[1:].partition("]")[0].lower()
    return hostport.rpartition(":")[0].lower() if ":" in hostport else hostport.lower()


def redact_path(host: str, path: str) -> str:
    """`path` with the tokens of well-known services (`PATH_TOKENS`) replaced by `***`."""
    host = host.rstrip(".").lower()
    for suffix, pattern in PATH_TOKENS:
        if suffix and host != suffix and not host.endswith("." + suffix):
            continue
        path = pattern.sub(_mask_group, path)
    return path


def _mask_group(match: re.Match[str]) -> str:
    start, end = match.start(1) - match.start(0), match.end(1) - match.start(0)
    return match.group(0)[:start] + MASK + match.group(0)[end:]


def _redact_query(query: str) -> str:
    items = []
    for item in query.split("&"):
        name, sep, _value = item.partition("=")
        items.append(f"{name}={MASK}" if sep and name else MASK if item else item)
    return "&".join(items)


def redact_url(url: str) -> str:
    """`url` with userinfo, query values, fragment and path tokens replaced by `***`."""
    match = _URL_RE.match(url)
    if match is None:  # cannot happen (every part is optional), but never echo the text
        return MASK
    scheme, netloc, path, query, fragment = match.group(
        "scheme", "netloc", "path", "query", "fragment"
    )
    out = scheme or ""
    host = ""
    if netloc is not None:
        userinfo, at, hostport = netloc.rpartition("@")
        host = _host_of(hostport)
        out += "//" + (f"{MASK}@" if at and userinfo else "@" if at else "") + hostport
    out += redact_path(host, path)
    if query is not None:
        out += "?" + _redact_query(query)
    if fragment is not None:
        out += "#" + (MASK if fragment else "")
    return out


def keep_real(obj: Any, shown: str, real: str) -> None:
    """Split a URL field into what is shown (redacted) and what is used (the real URL).

    Every target is made through here, so whatever reads `shown` (findings, evidence, the
    config echo, every renderer) gets the redacted form; only the probe and the AWS client read
    `real`, which no serialisation includes (`repr=False`, dropped by `Config.to_dict`). A URL
    given anew (also through `dataclasses.replace`) replaces the real one."""
    url = getattr(obj, shown)
    if url is None:
        object.__setattr__(obj, real, None)
        return
    current = getattr(obj, real)
    if current is None or redact_url(current) != url:
        object.__setattr__(obj, real, url)
    object.__setattr__(obj, shown, redact_url(url))
