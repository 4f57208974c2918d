"""RFC 6052 embedding and RFC 7050 discovery."""

from __future__ import annotations

import asyncio
import ipaddress

import dns.zone
import pytest

from auditor.demo.zone import ZoneResolver
from auditor.net.nat64 import (
    discover,
    embed,
    embedded_ipv4,
    extract,
    is_synthesized,
    prefixes_from_answers,
    translation_prefixes,
)

# RFC 6052 section 2.4: the IPv4 address 192.0.2.33 embedded under each prefix length.
RFC6052_EXAMPLES = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
    ("64:ff9b::/96", "64:ff9b::192.0.2.33"),
]


@pytest.mark.parametrize(("prefix", "expected"), RFC6052_EXAMPLES)
def test_embed_and_extract_match_rfc6052_examples(prefix: str, expected: str) -> None:
    assert embed(prefix, "192.0.2.33") == ipaddress.IPv6Address(expected)
    assert str(extract(prefix, expected)) == "192.0.2.33"


def test_extract_outside_the_prefix_or_with_u_octet_set() -> None:
    assert extract("2001:db8:64::/96", "2001:db8:2::80") is None
    # /64: byte 8 (bits 64-71) must be zero
    assert extract("2001:db8:122:344::/64", "2001:db8:122:344:ffc0:2:2100:0") is None


def test_invalid_prefix_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="RFC 6052"):
        embed("2001:db8::/80", "192.0.2.1")
    with pytest.raises(ValueError):
        embed("2001:db8::/31", "192.0.2.1")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (["2001:db8:64::c000:aa", "2001:db8:64::c000:ab"], ["2001:db8:64::/96"]),
        (["64:ff9b::c000:aa"], ["64:ff9b::/96"]),
        ([str(embed("2001:db8:122:344::/64", "192.0.0.170"))], ["2001:db8:122:344::/64"]),
        ([str(embed("2001:db8::/32", "192.0.0.171"))], ["2001:db8::/32"]),
        ([str(embed("2001:db8:100::/40", "192.0.0.170"))], ["2001:db8:100::/40"]),
        ([str(embed("2001:db8:122:300::/56", "192.0.0.170"))], ["2001:db8:122:300::/56"]),
        (["2001:db8:2::80"], []),  # a real AAAA: no WKA inside
        (["2001:db8:64::c000:aa", "64:ff9b::c000:ab"], ["2001:db8:64::/96", "64:ff9b::/96"]),
    ],
)
def test_rfc7050_prefix_from_answers(answers: list[str], expected: list[str]) -> None:
    assert [str(n) for n in prefixes_from_answers(answers)] == expected


def test_wka_pattern_inside_the_prefix_bits_prefers_the_longest_length() -> None:
    # c000:aa sits in the /32..63 bits as well as in the last 32 bits: /96 wins.
    address = "2001:db8:c000:aa::c000:aa"
    assert [str(n) for n in prefixes_from_answers([address])] == ["2001:db8:c000:aa::/96"]


def test_translation_prefixes_always_include_the_well_known_ones() -> None:
    nets = translation_prefixes(["2001:db8:64::/96"])
    assert [str(n) for n in nets] == ["2001:db8:64::/96", "64:ff9b::/96", "64:ff9b:1::/48"]
    assert is_synthesized("64:ff9b::c000:250", nets)
    assert is_synthesized("2001:db8:64::c000:250", nets)
    assert not is_synthesized("2001:db8:2::80", nets)
    assert embedded_ipv4("2001:db8:64::c000:250", nets) == "192.0.2.80"


ZONE = """
$ORIGIN lab.test.
$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 AAAA 2001:db8:2::35
v4only A 192.0.2.80
"""


def _zones() -> list[dns.zone.Zone]:
    return [dns.zone.from_text(ZONE, relativize=False)]


@pytest.mark.parametrize("prefix", ["2001:db8:64::/96", "64:ff9b::/96", "2001:db8:122:344::/64"])
def test_discovery_through_a_dns64_resolver(prefix: str) -> None:
    resolver = ZoneResolver(_zones(), dns64_prefix=prefix)
    info = asyncio.run(discover(resolver))
    assert info.source == "rfc7050"
    assert info.prefix == prefix
    assert info.evidence()["well_known"] is (prefix == "64:ff9b::/96")
    assert info.evidence()["ipv4only_arpa"]["records"] == [
        str(embed(prefix, "192.0.0.170")),
        str(embed(prefix, "192.0.0.171")),
    ]


def test_no_dns64_means_no_prefix() -> None:
    info = asyncio.run(discover(ZoneResolver(_zones())))
    assert (info.source, info.prefix, info.prefixes) == ("none", None, ())
    assert info.answer is not None and info.answer.rcode == "NXDOMAIN"
    assert not info.dns_failed
    # the well-known prefixes still count as translation prefixes
    assert "64:ff9b::/96" in [str(n) for n in info.networks]


def test_configured_prefix_wins_and_a_disagreement_is_noted() -> None:
    resolver = ZoneResolver(_zones(), dns64_prefix="2001:db8:64::/96")
    info = asyncio.run(discover(resolver, "64:ff9b::/96"))
    assert (info.source, info.prefix) == ("config", "64:ff9b::/96")
    assert info.discovered == ("2001:db8:64::/96",)
    assert "not the configured 64:ff9b::/96" in info.notes[0]
    same = asyncio.run(discover(resolver, "2001:db8:64::/96"))
    assert same.notes == [] and same.source == "config"
