"""The IPv4/IPv6 comparison rules and the class they lead to (pure functions)."""

from __future__ import annotations

import pytest

from auditor.net import classify as cls
from auditor.net.compare import (
    Side,
    bodies_differ,
    body_fingerprint,
    certificate_identity,
    differences,
    redirect_target,
    status_class,
)


@pytest.mark.parametrize(
    ("code", "expected"), [(200, "2xx"), (204, "2xx"), (301, "3xx"), (403, "4xx"), (None, None)]
)
def test_status_class(code: int | None, expected: str | None) -> None:
    assert status_class(code) == expected


def test_redirect_targets_are_absolute_and_normalized() -> None:
    assert redirect_target("https://a.example/x", "/login") == "https://a.example/login"
    assert redirect_target("http://a.example/", "HTTPS://B.Example:443/p?q=1") == (
        "https://b.example/p?q=1"
    )
    assert redirect_target("http://a.example/", "http://b.example:8080") == (
        "http://b.example:8080/"
    )
    assert redirect_target("http://a.example/", None) is None


def test_bodies_with_only_volatile_tokens_changed_are_alike() -> None:
    a = body_fingerprint(b"<html>served at 2026-11-30 12:00:01 req 9f8e7d6c5b4a39281716</html>")
    b = body_fingerprint(b"<html>served at 2026-11-30 12:00:02 req 0a1b2c3d4e5f60718293</html>")
    assert a["sha256"] != b["sha256"] and a["normalized"] == b["normalized"]
    assert not bodies_differ(a, b)


def test_bodies_differ_only_when_content_and_size_both_differ() -> None:
    page = body_fingerprint(b"<html>" + b"welcome to the package index " * 40 + b"</html>")
    denied = body_fingerprint(b"<html>Access denied</html>")
    similar = body_fingerprint(b"<html>" + b"welcome to the package index " * 39 + b"!</html>")
    assert bodies_differ(page, denied)
    assert not bodies_differ(page, similar)  # within a quarter of the size
    assert not bodies_differ(page, None)


def test_certificate_identity_sorts_names() -> None:
    tls = {"san": ["b.example", "a.example"], "issuer": "commonName=CA", "version": "TLSv1.3"}
    assert certificate_identity(tls) == {
        "san": ["a.example", "b.example"],
        "issuer": "commonName=CA",
    }
    assert certificate_identity({"version": "TLSv1.3"}) is None


def test_differences_names_each_aspect_with_both_sides() -> None:
    cert6 = {"san": ["v6.example"], "issuer": "commonName=Other CA"}
    cert4 = {"san": ["a.example"], "issuer": "commonName=CA"}
    six = Side(status_code=403, url="https://a.example/", tls=cert6)
    four = Side(status_code=200, url="https://a.example/", tls=cert4)
    got = {d["aspect"]: d for d in differences(six, four)}
    assert set(got) == {"status", "certificate"}
    assert (got["status"]["ipv6"], got["status"]["ipv4"]) == (403, 200)
    moved6 = Side(status_code=302, url="http://a.example/", location="/v6-only")
    moved4 = Side(status_code=301, url="http://a.example/", location="http://a.example/home")
    assert differences(moved6, moved4) == [
        {"aspect": "redirect", "ipv6": "http://a.example/v6-only", "ipv4": "http://a.example/home"}
    ]
    same = Side(status_code=200, url="https://a.example/", tls=cert4)
    assert differences(same, four) == []


@pytest.mark.parametrize(
    ("v6", "answered", "v4", "kw", "expected"),
    [
        (cls.NATIVE, True, cls.V4_OK, {}, cls.NATIVE),
        (cls.NATIVE, True, cls.V4_OK, {"differ": True}, cls.DIFFERS),
        (cls.NATIVE, True, cls.V4_FAILED, {}, cls.NATIVE),  # IPv6 better than IPv4: fine
        (cls.NATIVE, True, None, {}, cls.NATIVE),
        (cls.BROKEN, False, cls.V4_OK, {}, cls.BROKEN),  # masked
        (cls.BROKEN, False, cls.V4_FAILED, {}, cls.DOWN),
        (cls.BROKEN, False, cls.V4_NO_ADDRESS, {}, cls.BROKEN),
        (cls.BROKEN, True, cls.V4_OK, {"differ": True}, cls.DIFFERS),  # 403 vs 200
        (cls.BROKEN, True, cls.V4_ANSWERED, {}, cls.DOWN),  # the same 404 on both
        (cls.BROKEN, False, None, {}, cls.BROKEN),  # IPv6-only vantage, no NAT64 path
        (cls.BROKEN, False, cls.V4_FAILED, {"nat64_path": True, "same_failure": True}, cls.DOWN),
        (cls.BROKEN, False, cls.V4_FAILED, {"nat64_path": True}, cls.BROKEN),
        (cls.BROKEN, False, cls.V4_OK, {"nat64_path": True}, cls.BROKEN),
        (cls.BROKEN, False, cls.V4_OK, {"stalled": True}, cls.MTU_BLACKHOLE),
        (cls.BROKEN, False, None, {"stalled": True}, cls.MTU_BLACKHOLE),
        (cls.BROKEN, False, cls.V4_FAILED, {"stalled": True}, cls.DOWN),  # the control stalls too
        (cls.UNREACHABLE, False, cls.V4_OK, {}, cls.IPV4_ONLY),
        (cls.UNREACHABLE, False, cls.V4_FAILED, {}, cls.DOWN),
        (cls.UNREACHABLE, False, cls.V4_NO_ADDRESS, {}, cls.UNREACHABLE),
        (cls.UNREACHABLE, False, None, {}, cls.UNREACHABLE),
        (cls.NAT64, True, cls.V4_OK, {}, cls.NAT64),
        (cls.DNS_ERROR, False, cls.V4_OK, {}, cls.DNS_ERROR),
    ],
)
def test_compare_families(v6: str, answered: bool, v4: str | None, kw: dict, expected: str) -> None:
    assert cls.compare_families(v6, v6_answered=answered, v4=v4, **kw) == expected


@pytest.mark.parametrize(
    ("klass", "status", "stage", "blocking"),
    [
        (cls.IPV4_ONLY, "warn", 4, True),
        (cls.DIFFERS, "fail", 2, None),
        (cls.MTU_BLACKHOLE, "fail", 2, None),
        (cls.DOWN, "error", None, False),
    ],
)
def test_verdicts_of_the_new_classes(
    klass: str, status: str, stage: int | None, blocking: bool | None
) -> None:
    v = cls.verdict(klass)
    assert (str(v.status), v.stage, v.blocking) == (status, stage, blocking)
