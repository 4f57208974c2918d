"""The accounts of an AWS organisation: listing, filtering and stable sharding.

`aws.organization` names one role that every member account carries; the auditor lists the
organisation's accounts (`organizations:ListAccounts`, or the accounts below the configured
organisational units, recursively), keeps the active ones its include/exclude globs select,
and assumes the role in each. `--shard K/N` keeps the accounts whose stable hash falls in shard
K, so N processes on a scheduler's array job split the organisation without talking to each
other, and the union of their results is one unsharded run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from auditor.config import AwsOrganization

# What listing the organisation calls (the auditor's own identity, not the member roles).
ORGANIZATION_ACTIONS = (
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
)
SHARD_INDEX_VARIABLES = ("AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX")
MAX_OU_DEPTH = 5  # AWS allows five levels of OUs below the root


@dataclass(frozen=True)
class OrgAccount:
    id: str
    name: str = ""
    status: str = "ACTIVE"


@dataclass(frozen=True)
class Shard:
    """The `index`-th of `count` shards (0-based)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, account_id: str) -> bool:
        return shard_of(account_id, self.count) == self.index


def shard_of(account_id: str, count: int) -> int:
    """A stable shard for an account: the same on every machine, in every run."""
    digest = hashlib.sha256(account_id.encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % count


class ShardError(ValueError):
    """A `--shard` value that names no shard."""


def parse_shard(text: str, environ: dict[str, str] | None = None) -> Shard:
    """`K/N` (0 <= K < N) or `auto/N`, where K comes from the scheduler's array index."""
    env = os.environ if environ is None else environ
    index_text, sep, count_text = text.partition("/")
    if not sep:
        raise ShardError(f"--shard {text!r}: expected K/N or auto/N, e.g. 0/4")
    try:
        count = int(count_text)
    except ValueError:
        raise ShardError(f"--shard {text!r}: N must be a whole number") from None
    if count < 1:
        raise ShardError(f"--shard {text!r}: N must be at least 1")
    if index_text == "auto":
        for name in SHARD_INDEX_VARIABLES:
            if env.get(name, "").strip():
                index_text = env[name].strip()
                source = name
                break
        else:
            raise ShardError(
                f"--shard {text!r}: neither {' nor '.join(SHARD_INDEX_VARIABLES)} is set "
                "(AWS Batch array jobs and Kubernetes Indexed Jobs set them)"
            )
    else:
        source = "K"
    try:
        index = int(index_text)
    except ValueError:
        raise ShardError(f"--shard {text!r}: {source} {index_text!r} is not a number") from None
    if not 0 <= index < count:
        raise ShardError(f"--shard {text!r}: {source} must be between 0 and {count - 1}")
    return Shard(index, count)


def _pages(client: BaseClient, operation: str, key: str, **params: Any) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, ())


def _account(item: dict) -> OrgAccount:
    return OrgAccount(id=item["Id"], name=item.get("Name", ""), status=item.get("Status", ""))


def list_accounts(client: BaseClient, ous: Iterable[str] = ()) -> list[OrgAccount]:
    """Every account of the organisation, or of the given OUs and the OUs below them."""
    ous = list(ous)
    if not ous:
        found = [_account(a) for a in _pages(client, "list_accounts", "Accounts")]
    else:
        found = []
        seen: set[str] = set()
        todo = [(ou, 0) for ou in ous]
        while todo:
            parent, depth = todo.pop()
            if parent in seen:
                continue
            seen.add(parent)
            found += [
                _account(a)
                for a in _pages(client, "list_accounts_for_parent", "Accounts", ParentId=parent)
            ]
            if depth < MAX_OU_DEPTH:
                children = _pages(
                    client,
                    "list_children",
                    "Children",
                    ParentId=parent,
                    ChildType="ORGANIZATIONAL_UNIT",
                )
                todo += [(child["Id"], depth + 1) for child in children]
    unique = {a.id: a for a in found}
    return sorted(unique.values(), key=lambda a: a.id)


def _matches(account: OrgAccount, patterns: Iterable[str]) -> bool:
    return any(
        fnmatchcase(account.id, p) or (account.name and fnmatchcase(account.name, p))
        for p in patterns
    )


def select_accounts(
    accounts: Iterable[OrgAccount], include: Iterable[str], exclude: Iterable[str]
) -> list[OrgAccount]:
    """The active accounts that an include glob names (by id or name) and no exclude glob does."""
    include, exclude = list(include), list(exclude)
    return [
        a
        for a in accounts
        if a.status in ("ACTIVE", "") and _matches(a, include) and not _matches(a, exclude)
    ]


class NoMembers(Exception):
    """The organisation's filters select no account: nothing to audit is an error, not a pass."""


def listing_action(org: AwsOrganization) -> str:
    return "organizations:ListAccountsForParent" if org.ous else "organizations:ListAccounts"


def organization_members(
    client: BaseClient, org: AwsOrganization, base_account: str, partition: str
) -> list[tuple[OrgAccount, str | None]]:
    """Every selected account with the ARN of the role to assume in it; None for the caller's
    own account, which is audited with the caller's credentials. Botocore errors propagate."""
    listed = list_accounts(client, org.ous)
    chosen = select_accounts(listed, org.include, org.exclude)
    if not chosen:
        raise NoMembers(
            f"aws.organization selects none of the {len(listed)} accounts listed from "
            f"account {base_account} (include {list(org.include)}, exclude "
            f"{list(org.exclude)}, ous {list(org.ous)}): nothing to audit"
        )
    return [
        (a, None if a.id == base_account else f"arn:{partition}:iam::{a.id}:role/{org.role_name}")
        for a in chosen
    ]
