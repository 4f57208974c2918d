"""The pure analysis: address kinds, replies, and naming an address at a flow's time."""

from __future__ import annotations

import random

import pytest

from auditor.traffic.analysis import (
    DEPENDENCY,
    INTERNAL,
    IPV6,
    LINK_LOCAL,
    NAME_SLACK_SECONDS,
    SPECIAL,
    AddressSpace,
    NameIndex,
    is_reply,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("10.0.3.4", INTERNAL),
        ("10.1.0.1", DEPENDENCY),  # a peered VPC outside the own space is a dependency
        ("192.168.1.1", DEPENDENCY),
        ("203.0.113.9", DEPENDENCY),
        ("169.254.169.254", LINK_LOCAL),  # IMDS
        ("169.254.169.253", LINK_LOCAL),  # the Route 53 Resolver
        ("169.254.169.123", LINK_LOCAL),  # Time Sync
        ("10.0.0.2", LINK_LOCAL),  # the VPC resolver: base + 2
        ("127.0.0.1", SPECIAL),
        ("224.0.0.251", SPECIAL),
        ("2001:db8::1", IPV6),
        ("::ffff:203.0.113.9", DEPENDENCY),
    ],
)
def test_address_kinds(address: str, kind: str) -> None:
    assert AddressSpace(["10.0.0.0/16"]).kind(address) == kind


def test_private_ranges_stand_in_when_no_own_space_is_known() -> None:
    space = AddressSpace([])
    assert space.assumed and space.kind("10.9.9.9") == INTERNAL
    assert space.kind("198.51.100.1") == DEPENDENCY


def test_replies() -> None:
    assert is_reply(443, 51515, None)
    assert not is_reply(40000, 443, None)
    assert not is_reply(40000, 50051, None)  # a high service port from an ephemeral one
    assert is_reply(8080, 40000, 19)  # SYN-ACK seen
    assert not is_reply(8080, 40000, 3)  # SYN and FIN only: the initiator


def oracle(answers: list[tuple[str, float]], when: float) -> str | None:
    """The definition, by brute force: the name answered most recently up to when + slack
    (an answer still current then counts as at that moment; ties go to the smallest name)."""
    limit = when + NAME_SLACK_SECONDS
    spans: dict[str, list[float]] = {}
    for name, t in answers:
        span = spans.setdefault(name, [t, t])
        span[0], span[1] = min(span[0], t), max(span[1], t)
    best, score = None, float("-inf")
    for name, (first, last) in sorted(spans.items()):
        if first <= limit and min(last, limit) > score:
            best, score = name, min(last, limit)
    return best


def test_naming_matches_the_definition_at_every_moment() -> None:
    rng = random.Random(11)
    for _ in range(200):
        answers = [
            (f"n{rng.randrange(5)}.example", float(rng.randrange(0, 5000, 50)))
            for _ in range(rng.randrange(1, 12))
        ]
        index = NameIndex()
        for name, t in answers:
            index.add("203.0.113.1", name, t)
        moments = {t + d - NAME_SLACK_SECONDS for _n, t in answers for d in (-1, 0, 1)}
        for when in sorted(moments | set(range(-1000, 6000, 25))):
            name = oracle(answers, when)
            assert index.name_at("203.0.113.1", when) == name, (answers, when)
            # The span a lookup returns (the flow reader keeps it for the next records)
            # names the same at every moment whose limit lies inside it.
            low, high, spanned = index.span("203.0.113.1", when + NAME_SLACK_SECONDS)
            assert spanned == name and low <= when + NAME_SLACK_SECONDS < high
            for limit in (low, (low + high) / 2, high - 1):
                if low <= limit < high and abs(limit) != float("inf"):
                    assert oracle(answers, limit - NAME_SLACK_SECONDS) == name, (answers, limit)


def test_an_answer_after_the_flow_beyond_the_slack_does_not_name_it() -> None:
    index = NameIndex()
    index.add("203.0.113.1", "late.example", 10_000)
    assert index.name_at("203.0.113.1", 10_000 - NAME_SLACK_SECONDS - 1) is None
    assert index.name_at("203.0.113.1", 10_000 - NAME_SLACK_SECONDS) == "late.example"
    assert index.name_at("198.51.100.1", 10_000) is None
