"""The classification table and the proof of each dependency kind (pure logic)."""

from __future__ import annotations

import pytest

from auditor.model import Severity, Status
from auditor.net import classify as cls
from auditor.net.nat64 import translation_prefixes
from auditor.net.proofs import http_proof, request_url

PREFIXES = translation_prefixes(["2001:db8:64::/96"])


@pytest.mark.parametrize(
    ("rcode", "aaaa", "proven", "expected"),
    [
        ("NOERROR", ["2001:db8:2::80"], True, cls.NATIVE),
        ("NOERROR", ["2001:db8:2::80"], False, cls.BROKEN),
        ("NOERROR", ["2001:db8:64::c000:250"], True, cls.NAT64),
        ("NOERROR", ["64:ff9b::c000:250"], True, cls.NAT64),  # well-known, not configured
        ("NOERROR", ["2001:db8:64::c000:250"], False, cls.UNREACHABLE),
        ("NOERROR", [], None, cls.UNREACHABLE),
        ("NXDOMAIN", [], None, cls.DNS_ERROR),
        ("SERVFAIL", [], None, cls.DNS_ERROR),
        (None, [], None, cls.DNS_ERROR),  # timeout
        # a real AAAA decides even when a synthesized one is also there
        ("NOERROR", ["2001:db8:64::c000:250", "2001:db8:2::80"], False, cls.BROKEN),
    ],
)
def test_classify(rcode: str | None, aaaa: list[str], proven: bool | None, expected: str) -> None:
    assert cls.classify(rcode=rcode, aaaa=aaaa, prefixes=PREFIXES, proven=proven) == expected


def test_split_puts_real_addresses_first_in_decisive() -> None:
    split = cls.split_addresses(["2001:db8:64::c000:250", "2001:db8:2::80"], PREFIXES)
    assert split.real == ("2001:db8:2::80",)
    assert split.synthesized == ("2001:db8:64::c000:250",)
    assert split.decisive == ("2001:db8:2::80",)


def test_statuses_follow_the_design_table() -> None:
    assert cls.verdict(cls.NATIVE) == cls.Verdict(cls.NATIVE, Status.PASS)
    nat64 = cls.verdict(cls.NAT64)
    assert (nat64.status, nat64.stage, nat64.blocking) == (Status.WARN, 4, True)
    broken = cls.verdict(cls.BROKEN)
    assert (broken.status, broken.severity) == (Status.FAIL, Severity.HIGH)
    assert cls.verdict(cls.UNREACHABLE).status is Status.FAIL
    assert cls.verdict(cls.DNS_ERROR, "NXDOMAIN").status is Status.FAIL
    assert cls.verdict(cls.DNS_ERROR, "SERVFAIL").status is Status.ERROR
    assert cls.verdict(cls.DNS_ERROR, None).status is Status.ERROR
    with pytest.raises(ValueError):
        cls.verdict("fine")


def test_worst_class_speaks_for_a_target() -> None:
    assert cls.worst([cls.NATIVE, cls.NAT64]) == cls.NAT64
    assert cls.worst([cls.NAT64, cls.BROKEN, cls.UNREACHABLE]) == cls.BROKEN
    assert cls.worst([cls.NATIVE, cls.DNS_ERROR]) == cls.DNS_ERROR


SIMPLE_INDEX = b'<!DOCTYPE html><html><body><a href="/simple/x/">x</a></body></html>'
GIT = b"001e# service=git-upload-pack\n0000"


@pytest.mark.parametrize(
    ("kind", "status", "headers", "body", "ok"),
    [
        ("pypi", 200, {"content-type": "text/html"}, SIMPLE_INDEX, True),
        ("pypi", 200, {"content-type": "application/vnd.pypi.simple.v1+json"}, b"{}", True),
        ("pypi", 200, {"content-type": "text/html"}, b"<html>parked domain</html>", False),
        ("pypi", 503, {"content-type": "text/html"}, SIMPLE_INDEX, False),
        ("npm", 200, {"content-type": "application/json"}, b'{"db_name":"registry"}', True),
        ("npm", 200, {"content-type": "text/html"}, b"<html/>", False),
        ("apt", 200, {}, b"Origin: Debian\nSuite: stable\n", True),
        ("apt", 200, {}, b"-----BEGIN PGP SIGNED MESSAGE-----\n", True),
        ("apt", 404, {}, b"not found", False),
        ("yum", 200, {}, b'<?xml version="1.0"?><repomd xmlns="x"/>', True),
        ("yum", 200, {}, b"<html/>", False),
        ("oci-registry", 401, {"www-authenticate": "Bearer realm=x"}, b"", True),
        ("oci-registry", 200, {}, b"{}", True),
        ("oci-registry", 404, {}, b"", False),
        ("oci-registry", 502, {}, b"", False),
        ("git", 200, {"content-type": "application/x-git-upload-pack-advertisement"}, GIT, True),
        ("git", 200, {"content-type": "text/plain"}, GIT, True),
        ("git", 401, {"www-authenticate": 'Basic realm="x"'}, b"", True),
        ("git", 200, {"content-type": "text/html"}, b"<html>login</html>", False),
        ("goproxy", 404, {}, b"not found", True),
        ("goproxy", 502, {}, b"", False),
        ("maven", 200, {}, b"", True),
        ("maven", 500, {}, b"", False),
        ("https", 503, {}, b"", True),
        ("http", 404, {}, b"", True),
        ("https-intake", 405, {}, b"", True),
    ],
)
def test_http_proof_per_kind(
    kind: str, status: int, headers: dict[str, str], body: bytes, ok: bool
) -> None:
    proof = http_proof(kind, status, headers, body)
    assert proof.ok is ok
    assert proof.answer.startswith(f"HTTP {status}")


def test_request_urls_of_registry_and_git() -> None:
    assert request_url("oci-registry", "https://r.test/") == "https://r.test/v2/"
    assert request_url("oci-registry", "https://r.test/v2") == "https://r.test/v2/"
    assert request_url("oci-registry", "https://r.test/v2/") == "https://r.test/v2/"
    assert (
        request_url("git", "https://g.test/org/repo.git/")
        == "https://g.test/org/repo.git/info/refs?service=git-upload-pack"
    )
    assert request_url("pypi", "https://p.test/simple/") == "https://p.test/simple/"
