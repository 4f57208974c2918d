"""The demo's zone resolver: answers like a DNS64 resolver in front of zone files."""

from __future__ import annotations

import asyncio

import dns.zone

from auditor.demo.zone import ZoneResolver

ZONE = """
$ORIGIN lab.test.
$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
@ NS ns2
ns1 AAAA 2001:db8:2::35
ns2 A 192.0.2.53
native AAAA 2001:db8:2::80
native A 192.0.2.80
v4only A 192.0.2.80
alias CNAME alias2
alias2 CNAME v4only
nodata TXT "nothing"
deep.empty TXT "below an empty non-terminal"
"""


def _zone_resolver(**kw) -> ZoneResolver:
    return ZoneResolver([dns.zone.from_text(ZONE, relativize=False)], **kw)


def test_zone_resolver_answers_like_a_dns64_resolver() -> None:
    r = _zone_resolver(dns64_prefix="2001:db8:64::/96")

    async def main() -> None:
        native = await r.query("native.lab.test", "AAAA")
        v4 = await r.query("v4only.lab.test", "AAAA")
        alias = await r.query("alias.lab.test", "AAAA")
        nodata = await r.query("nodata.lab.test", "AAAA")
        missing = await r.query("missing.lab.test", "AAAA")
        outside = await r.query("example.com", "AAAA")
        ent = await r.query("empty.lab.test", "AAAA")
        ns = await r.query("lab.test", "NS")
        wka = await r.query("ipv4only.arpa", "AAAA")
        assert native.records == ("2001:db8:2::80",)
        assert v4.records == ("2001:db8:64::c000:250",)
        assert alias.cname_chain == ("alias2.lab.test", "v4only.lab.test")
        assert alias.records == ("2001:db8:64::c000:250",)
        assert (nodata.rcode, nodata.records, nodata.zone) == ("NOERROR", (), "lab.test")
        assert missing.rcode == "NXDOMAIN" and outside.rcode == "NXDOMAIN"
        assert ent.rcode == "NOERROR" and not ent.records
        assert sorted(ns.records) == ["ns1.lab.test", "ns2.lab.test"]
        assert wka.records == ("2001:db8:64::c000:aa", "2001:db8:64::c000:ab")

    asyncio.run(main())


def test_zone_resolver_without_dns64_and_authoritative_questions() -> None:
    r = _zone_resolver(servers=["2001:db8:2::35"])

    async def main() -> None:
        assert (await r.query("v4only.lab.test", "AAAA")).records == ()
        assert (await r.query("ipv4only.arpa", "AAAA")).rcode == "NXDOMAIN"
        soa = await r.ask("2001:db8:2::35", "lab.test", "SOA", recursion=False)
        assert soa.authoritative and soa.records and soa.rcode == "NOERROR"
        silent = await r.ask("2001:db8:2::36", "lab.test", "SOA", recursion=False)
        assert silent.rcode is None and "timeout" in (silent.error or "")
        refused = await r.ask("2001:db8:2::35", "example.com", "SOA", recursion=False)
        assert refused.rcode == "REFUSED"

    asyncio.run(main())
