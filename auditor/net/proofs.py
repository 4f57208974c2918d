"""What proves each dependency kind reachable, from an HTTP answer (pure functions).

The design page fixes the proof per kind: a registry's `/v2/` answering 200 or 401, a git
server's smart-HTTP advertisement, a package index's own document. `https`/`http` and
`https-intake` take any HTTP answer (their status is evidence, not a verdict). A connection
that is accepted and then closed without an HTTP answer never gets here: it is no proof.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from auditor.config import ADDRESS_KINDS, URL_KINDS

# The kinds are the config's: one list for validation and for the proofs.
HTTP_KINDS = URL_KINDS
TCP_KINDS = frozenset({"syslog-tcp", "tcp"})
TLS_KINDS = ADDRESS_KINDS - TCP_KINDS
ALL_KINDS = HTTP_KINDS | TCP_KINDS | TLS_KINDS

# Kinds whose proof reads the body: a redirect on the same origin is followed to find it.
CONTENT_KINDS = frozenset({"pypi", "npm", "apt", "yum", "git", "goproxy", "maven"})
MAX_BODY = 64 * 1024

GIT_ADVERTISEMENT = "application/x-git-upload-pack-advertisement"


@dataclass(frozen=True)
class Proof:
    ok: bool
    answer: str  # what the service said, for people: "HTTP 401 (OCI registry asks for a token)"


def request_url(kind: str, url: str) -> str:
    """The URL a kind is proven with: `/v2/` for a registry, `info/refs` for git."""
    parts = urlsplit(url)
    if kind == "oci-registry":
        path = parts.path
        if not path.rstrip("/").endswith("/v2") and path.rstrip("/") != "/v2":
            path = path.rstrip("/") + "/v2/"
        elif not path.endswith("/"):
            path += "/"
        return urlunsplit(parts._replace(path=path))
    if kind == "git":
        path = parts.path.rstrip("/")
        if not path.endswith("/info/refs"):
            path += "/info/refs"
        return urlunsplit(parts._replace(path=path, query="service=git-upload-pack"))
    return url


def accept_header(kind: str) -> str:
    return {
        "pypi": "application/vnd.pypi.simple.v1+json;q=0.9, text/html;q=0.8, */*;q=0.1",
        "npm": "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*",
        "oci-registry": "application/json",
    }.get(kind, "*/*")


def http_proof(kind: str, status: int, headers: Mapping[str, str], body: bytes) -> Proof:
    """Does this HTTP answer prove `kind`? `headers` keys are lowercase; `body` is the start."""
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    head = f"HTTP {status}"
    ok2xx = 200 <= status < 300
    if kind in ("https", "http", "https-intake"):
        return Proof(True, head)
    if kind == "oci-registry":
        api = headers.get("docker-distribution-api-version", "")
        if status == 401:
            return Proof(True, f"{head} (OCI registry asks for a token{', ' + api if api else ''})")
        if status == 200:
            return Proof(True, f"{head} (OCI registry /v2/{', ' + api if api else ''})")
        return Proof(False, f"{head} from /v2/ (a registry answers 200 or 401)")
    if kind == "git":
        if status == 200 and (
            ctype == GIT_ADVERTISEMENT or body.lstrip()[4:].startswith(b"# service=git-upload-pack")
        ):
            return Proof(True, f"{head} (git smart-HTTP advertisement)")
        if status == 401 and "www-authenticate" in headers:
            return Proof(True, f"{head} (git server asks for credentials)")
        return Proof(False, f"{head}, {ctype or 'no content type'} (not a git smart-HTTP answer)")
    if kind in ("goproxy", "maven"):
        if status < 500:
            return Proof(True, f"{head} ({kind} repository answers)")
        return Proof(False, f"{head} (the {kind} repository fails behind its front end)")
    if not ok2xx:
        return Proof(False, f"{head} where a {kind} source answers 2xx")
    if kind == "pypi":
        if ctype.startswith("application/vnd.pypi.simple") or _json_has(body, "meta"):
            return Proof(True, f"{head} (PyPI simple index, JSON)")
        low = body.lower()
        if b"pypi:repository-version" in low or b"<a " in low:
            return Proof(True, f"{head} (PyPI simple index)")
        return Proof(False, f"{head}, but not a PyPI simple index")
    if kind == "npm":
        if body.lstrip().startswith(b"{") and ("json" in ctype or not ctype):
            return Proof(True, f"{head} (npm registry JSON)")
        return Proof(False, f"{head}, {ctype or 'no content type'} (not npm registry JSON)")
    if kind == "apt":
        if body.startswith(b"-----BEGIN PGP SIGNED MESSAGE-----") or any(
            marker in body for marker in (b"Suite:", b"Codename:")
        ):
            return Proof(True, f"{head} (apt Release file)")
        return Proof(False, f"{head}, but not an apt Release/InRelease file")
    if kind == "yum":
        if b"<repomd" in body:
            return Proof(True, f"{head} (yum repomd.xml)")
        return Proof(False, f"{head}, but not a yum repomd.xml")
    return Proof(False, f"{head} (unknown kind {kind!r})")


def _json_has(body: bytes, key: str) -> bool:
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and key in data
