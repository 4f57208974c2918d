"""The parity logic on its own: SG coverage by protocol/ports/ICMP meaning, NACL first-match
evaluation with the implicit deny."""

from __future__ import annotations

from auditor.aws.parity import (
    Traffic,
    acl_parity,
    describe,
    missing,
    sg_parity,
    traffic,
)


def perm(proto, lo=None, hi=None, v4=(), v6=(), pls=(), groups=()):
    p = {
        "IpProtocol": proto,
        "IpRanges": [{"CidrIp": c} for c in v4],
        "Ipv6Ranges": [{"CidrIpv6": c} for c in v6],
        "PrefixListIds": [{"PrefixListId": p} for p in pls],
        "UserIdGroupPairs": [{"GroupId": g} for g in groups],
    }
    if lo is not None:
        p["FromPort"], p["ToPort"] = lo, hi if hi is not None else lo
    return p


def sg(ingress=(), egress=()):
    return {"GroupId": "sg-1", "IpPermissions": list(ingress), "IpPermissionsEgress": list(egress)}


def test_tcp_rule_needs_same_ports_for_any_v6():
    result = sg_parity(sg([perm("tcp", 443, v4=["0.0.0.0/0"])]), {})
    assert [g.to_dict() for g in result.missing] == [
        {
            "direction": "ingress",
            "rule": "tcp/443 from 0.0.0.0/0",
            "expected": "tcp/443 from ::/0",
        }
    ]
    ok = sg_parity(sg([perm("tcp", 443, v4=["0.0.0.0/0"]), perm("6", 443, v6=["::/0"])]), {})
    assert not ok.missing and not ok.needs_mapping


def test_partial_port_coverage_names_the_uncovered_ranges():
    group = sg(
        [
            perm("tcp", 1000, 2000, v4=["0.0.0.0/0"]),
            perm("tcp", 1000, 1200, v6=["::/0"]),
            perm("tcp", 1500, 1600, v6=["::/0"]),
        ]
    )
    result = sg_parity(group, {})
    assert [g.expected for g in result.missing] == [
        "tcp/1201-1499 from ::/0",
        "tcp/1601-2000 from ::/0",
    ]


def test_union_of_ipv6_rules_and_all_traffic_cover():
    group = sg(
        [
            perm("tcp", 0, 100, v4=["0.0.0.0/0"]),
            perm("tcp", 0, 50, v6=["::/0"]),
            perm("tcp", 51, 100, v6=["::/0"]),
        ]
    )
    assert not sg_parity(group, {}).missing
    # -1 on IPv6 covers any IPv4 rule; -1 on IPv4 needs -1, not tcp+udp+icmpv6.
    assert not sg_parity(
        sg([perm("udp", 53, v4=["0.0.0.0/0"]), perm("-1", v6=["::/0"])]), {}
    ).missing
    partial = sg(
        [
            perm("-1", v4=["0.0.0.0/0"]),
            perm("tcp", 0, 65535, v6=["::/0"]),
            perm("udp", 0, 65535, v6=["::/0"]),
            perm("icmpv6", -1, -1, v6=["::/0"]),
        ]
    )
    assert [g.expected for g in sg_parity(partial, {}).missing] == ["all traffic from ::/0"]


def test_icmp_maps_to_icmpv6_types():
    # echo request 8 → ICMPv6 128; fragmentation needed (3/4) → packet too big (2)
    group = sg(
        [
            perm("icmp", 8, -1, v4=["0.0.0.0/0"]),
            perm("icmp", 3, 4, v4=["0.0.0.0/0"]),
            perm("icmpv6", 128, -1, v6=["::/0"]),
        ]
    )
    result = sg_parity(group, {})
    assert [(g.rule, g.expected) for g in result.missing] == [
        (
            "icmp packet-too-big (type 3 code 4) from 0.0.0.0/0",
            "icmpv6 packet-too-big (type 2) from ::/0",
        )
    ]
    # ICMPv4 "all" needs every ICMPv6 type that means the same: one type is not enough
    allv4 = sg([perm("icmp", -1, -1, v4=["0.0.0.0/0"]), perm("58", 128, -1, v6=["::/0"])])
    assert [g.expected for g in sg_parity(allv4, {}).missing] == [
        "icmpv6 echo-reply (type 129), packet-too-big (type 2), parameter-problem (type 4), "
        "time-exceeded (type 3), unreachable (type 1) from ::/0"
    ]
    # same type number means nothing across families: ICMPv6 type 3 is time exceeded
    wrong = sg([perm("icmp", 3, -1, v4=["0.0.0.0/0"]), perm("icmpv6", 3, -1, v6=["::/0"])])
    assert [g.expected for g in sg_parity(wrong, {}).missing] == [
        "icmpv6 packet-too-big (type 2), unreachable (type 1) from ::/0"
    ]


def test_icmp_types_without_ipv6_equivalent_need_nothing():
    result = sg_parity(sg([perm("icmp", 13, -1, v4=["0.0.0.0/0"])]), {})  # timestamp
    assert not result.missing and not result.needs_mapping
    assert result.no_equivalent == ["ingress: icmp type 13 from 0.0.0.0/0"]


def test_specific_ipv4_ranges_ask_for_a_human_mapping():
    result = sg_parity(sg([perm("tcp", 22, v4=["198.51.100.0/24"])]), {})
    assert not result.missing
    assert [g.to_dict() for g in result.needs_mapping] == [
        {
            "direction": "ingress",
            "rule": "tcp/22 from 198.51.100.0/24",
            "expected": "tcp/22 from <the IPv6 prefix of 198.51.100.0/24>",
            "note": "which IPv6 range do the hosts of 198.51.100.0/24 use? a person has to map it",
        }
    ]
    mapped = sg([perm("tcp", 22, v4=["198.51.100.0/24"], v6=["2001:db8:5::/48"])])
    result = sg_parity(mapped, {})
    assert not result.needs_mapping
    assert result.assumed_mapped == ["ingress: tcp/22 from 198.51.100.0/24"]
    # ::/0 covers any specific IPv4 range
    broad = sg([perm("tcp", 22, v4=["198.51.100.0/24"]), perm("tcp", 22, v6=["::/0"])])
    assert not sg_parity(broad, {}).needs_mapping


def test_any_v4_is_not_satisfied_by_a_specific_v6_range():
    group = sg([perm("tcp", 443, v4=["0.0.0.0/0"], v6=["2001:db8::/32"])])
    assert [g.expected for g in sg_parity(group, {}).missing] == ["tcp/443 from ::/0"]


def test_prefix_lists_by_address_family_and_referenced_groups():
    families = {"pl-v4": "IPv4", "pl-v6": "IPv6"}
    covered = sg([perm("tcp", 443, pls=["pl-v4", "pl-v6"])])
    assert not sg_parity(covered, families).needs_mapping
    uncovered = sg([perm("tcp", 443, pls=["pl-v4"])])
    assert [g.rule for g in sg_parity(uncovered, families).needs_mapping] == ["tcp/443 from pl-v4"]
    unknown = sg_parity(sg([perm("tcp", 443, pls=["pl-gone"])]), families)
    assert "could not be read" in unknown.needs_mapping[0].note
    refs = sg_parity(sg([perm("tcp", 443, groups=["sg-2"])]), {})
    assert not refs.missing and not refs.needs_mapping and refs.rules_v4 == 0


def test_egress_uses_to_and_is_checked_separately():
    group = sg(
        ingress=[perm("-1", v6=["::/0"])],
        egress=[perm("-1", v4=["0.0.0.0/0"])],
    )
    assert [g.to_dict() for g in sg_parity(group, {}).missing] == [
        {
            "direction": "egress",
            "rule": "all traffic to 0.0.0.0/0",
            "expected": "all traffic to ::/0",
        }
    ]


def test_missing_returns_empty_only_when_fully_covered():
    need = Traffic("udp", 100, 200)
    assert missing(need, [Traffic("udp", 0, 65535)]) == []
    assert missing(need, [Traffic("tcp", 0, 65535)]) == [need]
    assert missing(Traffic("50"), [Traffic("50")]) == []
    assert missing(Traffic("50"), [Traffic("47")]) == [Traffic("50")]
    assert describe(traffic("tcp", 4, from_port=-1, to_port=-1), 4) == "tcp/all ports"


# --- network ACLs --------------------------------------------------------------------------


def entry(number, action, proto, cidr, egress=False, ports=None, icmp=None):
    e = {"RuleNumber": number, "RuleAction": action, "Protocol": proto, "Egress": egress}
    e["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
    if ports:
        e["PortRange"] = {"From": ports[0], "To": ports[1]}
    if icmp:
        e["IcmpTypeCode"] = {"Type": icmp[0], "Code": icmp[1]}
    return e


IMPLICIT = [
    entry(32767, "deny", "-1", "0.0.0.0/0"),
    entry(32767, "deny", "-1", "::/0"),
    entry(32767, "deny", "-1", "0.0.0.0/0", egress=True),
    entry(32767, "deny", "-1", "::/0", egress=True),
]


def test_acl_allow_without_twin_falls_to_implicit_deny():
    result = acl_parity([entry(100, "allow", "6", "0.0.0.0/0", ports=(443, 443)), *IMPLICIT])
    assert [g.to_dict() for g in result.gaps] == [
        {
            "direction": "ingress",
            "problem": "IPv4 entry #100 allows tcp/443 from 0.0.0.0/0 but no IPv6 entry does: "
            "IPv6 falls to the implicit deny",
            "ipv4_rule": "#100 allow tcp/443 from 0.0.0.0/0",
            "ipv6_rule": "* deny all traffic (implicit)",
            "traffic": "tcp/443",
            "expected": "IPv6 entry #101: allow tcp/443 from ::/0 (the twin of IPv4 #100)",
        }
    ]


def test_acl_twins_in_same_order_pass():
    entries = [
        entry(100, "deny", "6", "0.0.0.0/0", ports=(22, 22)),
        entry(101, "deny", "6", "::/0", ports=(22, 22)),
        entry(200, "allow", "-1", "0.0.0.0/0"),
        entry(201, "allow", "-1", "::/0"),
        *IMPLICIT,
    ]
    result = acl_parity(entries)
    assert result.gaps == [] and result.needs_mapping == []


def test_acl_deny_twin_after_allow_lets_ipv6_through():
    entries = [
        entry(100, "deny", "6", "0.0.0.0/0", ports=(22, 22)),
        entry(200, "allow", "-1", "0.0.0.0/0"),
        entry(150, "allow", "-1", "::/0"),
        entry(250, "deny", "6", "::/0", ports=(22, 22)),  # never reached: #150 allows first
    ]
    (gap,) = acl_parity(entries).gaps
    assert gap.problem == (
        "IPv4 entry #100 denies tcp/22 from 0.0.0.0/0 but IPv6 entry #150 allows it: "
        "IPv6 traffic bypasses the deny"
    )
    assert gap.expected == "IPv6 entry #101: deny tcp/22 from ::/0 (the twin of IPv4 #100)"


def test_acl_missing_deny_is_fine_when_ipv6_denies_anyway():
    # IPv4 denies tcp/22 then allows tcp/443; IPv6 allows only tcp/443: tcp/22 is denied by
    # the implicit rule in both families, so there is no gap.
    entries = [
        entry(100, "deny", "6", "0.0.0.0/0", ports=(22, 22)),
        entry(200, "allow", "6", "0.0.0.0/0", ports=(443, 443)),
        entry(201, "allow", "6", "::/0", ports=(443, 443)),
    ]
    assert acl_parity(entries).gaps == []


def test_acl_ipv6_allowing_more_than_ipv4_is_reported():
    entries = [
        entry(100, "allow", "6", "0.0.0.0/0", ports=(443, 443)),
        entry(101, "allow", "-1", "::/0"),
    ]
    (gap,) = acl_parity(entries).gaps
    assert gap.ipv4_rule == "* deny all traffic (implicit)"
    assert gap.ipv6_rule == "#101 allow all traffic from ::/0"
    assert "which IPv4 denies" in gap.problem
    assert (
        gap.traffic == "tcp/0-442, tcp/444-65535, udp/all ports, icmp (all types), other protocols"
    )


def test_acl_icmp_compared_by_meaning_and_egress_direction():
    entries = [
        entry(100, "allow", "1", "0.0.0.0/0", egress=True, icmp=(3, 4)),
        entry(101, "allow", "58", "::/0", egress=True, icmp=(2, 0)),
        entry(110, "allow", "1", "0.0.0.0/0", egress=True, icmp=(8, -1)),
        entry(111, "allow", "58", "::/0", egress=True, icmp=(8, -1)),  # type 8 is not echo in v6
    ]
    (gap,) = acl_parity(entries).gaps
    assert gap.direction == "egress"
    assert gap.ipv4_rule == "#110 allow icmp echo-request (type 8) to 0.0.0.0/0"
    assert gap.expected.startswith("IPv6 entry #112: allow icmpv6 echo-request (type 128) to ::/0")


def test_acl_specific_ranges_need_mapping():
    entries = [
        entry(100, "allow", "6", "203.0.113.0/24", ports=(22, 22)),
        entry(110, "deny", "17", "198.51.100.0/24", ports=(53, 53)),
        entry(120, "allow", "17", "198.51.100.0/24", ports=(123, 123)),
        entry(121, "allow", "17", "2001:db8:7::/48", ports=(123, 123)),
    ]
    result = acl_parity(entries)
    assert result.gaps == []
    assert [(g.rule, g.expected) for g in result.needs_mapping] == [
        (
            "#100 allow tcp/22 from 203.0.113.0/24",
            "allow tcp/22 from <the IPv6 prefix of 203.0.113.0/24>",
        ),
        (
            "#110 deny udp/53 from 198.51.100.0/24",
            "deny udp/53 from <the IPv6 prefix of 198.51.100.0/24>",
        ),
    ]
    # an IPv6 entry with the same action, protocol and ports is taken as the person's mapping
    assert result.assumed_mapped == ["ingress: #120 allow udp/123 from 198.51.100.0/24"]


MAPPED_ICMPV6 = (128, 129, 1, 2, 3, 4)  # echo request/reply, unreachable, packet too big, …


def test_all_icmp_is_covered_by_the_icmpv6_types_that_mean_the_same():
    """SG and NACL parity agree: "all ICMP" is covered by meaning, not only by "all ICMPv6"."""
    group = sg(
        [perm("icmp", -1, -1, v4=["0.0.0.0/0"])]
        + [perm("icmpv6", t, -1, v6=["::/0"]) for t in MAPPED_ICMPV6]
    )
    assert sg_parity(group, {}).missing == []
    entries = [entry(100, "allow", "1", "0.0.0.0/0", icmp=(-1, -1))] + [
        entry(101 + i, "allow", "58", "::/0", icmp=(t, -1)) for i, t in enumerate(MAPPED_ICMPV6)
    ]
    assert acl_parity(entries).gaps == []
    # without packet too big both report the same missing kind
    short = [t for t in MAPPED_ICMPV6 if t != 2]
    group = sg(
        [perm("icmp", -1, -1, v4=["0.0.0.0/0"])]
        + [perm("icmpv6", t, -1, v6=["::/0"]) for t in short]
    )
    assert [g.expected for g in sg_parity(group, {}).missing] == [
        "icmpv6 packet-too-big (type 2) from ::/0"
    ]
    entries = [entry(100, "allow", "1", "0.0.0.0/0", icmp=(-1, -1))] + [
        entry(101 + i, "allow", "58", "::/0", icmp=(t, -1)) for i, t in enumerate(short)
    ]
    (gap,) = acl_parity(entries).gaps
    assert gap.traffic == "icmp packet-too-big (type 3 code 4)"
