"""The publish ledger as a pure state machine: one entry per (channel, statement).

    (none) --claim--> pending(lease) --complete--> done(external id)
                        |  \\--fail(retryable)--> pending(lease released, not before T)
                        |  \\--fail(final) / out of attempts--> dead(error)
                        \\-- lease expired --> reconcile (ask the channel) --> done | claim again

A pending entry whose lease has expired may belong to a worker that posted and died before
recording, so it is never retried blindly: the runner first asks the channel whether the post
exists. Functions here take the entry and the time and return the next entry; the Redis store
applies them atomically.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from config.errors import ClaimWatchError


class State(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


@dataclass(frozen=True)
class LedgerEntry:
    channel: str
    statement_id: str
    state: State
    attempts: int = 0
    owner: str = ""
    lease_until: float = 0.0
    not_before: float = 0.0
    external_id: str | None = None
    cid: str | None = None
    url: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> LedgerEntry:
        data: dict[str, Any] = json.loads(raw)
        data["state"] = State(data["state"])
        return cls(**data)


# What the runner should do next, given the entry it found.
Action = Literal["claim", "reconcile", "skip_done", "dead", "wait"]


@dataclass(frozen=True)
class Plan:
    action: Action
    wait_s: float = 0.0


def plan(entry: LedgerEntry | None, now: float) -> Plan:
    """The next step for a publish request, before touching the channel."""
    if entry is None:
        return Plan("claim")
    if entry.state is State.DONE:
        return Plan("skip_done")
    if entry.state is State.DEAD:
        return Plan("dead")
    if entry.lease_until > now:  # someone holds it right now
        return Plan("wait", entry.lease_until - now)
    if entry.attempts == 0:  # released before any attempt: nothing can have been posted
        return Plan("claim") if entry.not_before <= now else Plan("wait", entry.not_before - now)
    if entry.not_before > now:
        return Plan("wait", entry.not_before - now)
    return Plan("reconcile")


class Conflict(ClaimWatchError):
    """The entry changed under us (another worker won); re-read and re-plan."""

    retryable = True


def claim(
    entry: LedgerEntry | None,
    *,
    channel: str,
    statement_id: str,
    owner: str,
    now: float,
    lease_s: float,
    max_attempts: int,
) -> LedgerEntry:
    """Take the lease for one attempt; out of attempts -> dead."""
    if entry is None:
        entry = LedgerEntry(
            channel=channel, statement_id=statement_id, state=State.PENDING, created_at=now
        )
    if entry.state is not State.PENDING or entry.lease_until > now:
        raise Conflict(f"cannot claim a {entry.state} entry held until {entry.lease_until}")
    if entry.attempts >= max_attempts:
        return replace(
            entry,
            state=State.DEAD,
            owner="",
            lease_until=0.0,
            updated_at=now,
            error=f"gave up after {entry.attempts} attempts: {entry.error}",
        )
    return replace(
        entry, attempts=entry.attempts + 1, owner=owner, lease_until=now + lease_s, updated_at=now
    )


def complete(
    entry: LedgerEntry | None,
    *,
    channel: str,
    statement_id: str,
    external_id: str,
    now: float,
    cid: str | None = None,
    url: str | None = None,
) -> LedgerEntry:
    """Record the publish. Done wins over anything (the post exists, whoever made it)."""
    if entry is None:
        entry = LedgerEntry(
            channel=channel, statement_id=statement_id, state=State.PENDING, created_at=now
        )
    if entry.state is State.DONE:
        return entry
    return replace(
        entry,
        state=State.DONE,
        external_id=external_id,
        cid=cid,
        url=url,
        owner="",
        lease_until=0.0,
        error=None,
        updated_at=now,
    )


def release(
    entry: LedgerEntry, *, owner: str, now: float, error: str, retry_after_s: float
) -> LedgerEntry:
    """A retryable failure: give the lease back, retry no sooner than ``retry_after_s``."""
    _check_owner(entry, owner)
    return replace(
        entry,
        owner="",
        lease_until=0.0,
        not_before=now + max(0.0, retry_after_s),
        error=error,
        updated_at=now,
    )


def kill(entry: LedgerEntry, *, owner: str | None, now: float, error: str) -> LedgerEntry:
    """A final failure: dead-letter it (``owner=None`` for the reconciler's own verdicts)."""
    if owner is not None:
        _check_owner(entry, owner)
    if entry.state is State.DONE:
        raise Conflict("already done")
    return replace(entry, state=State.DEAD, owner="", lease_until=0.0, error=error, updated_at=now)


def _check_owner(entry: LedgerEntry, owner: str) -> None:
    if entry.state is not State.PENDING or entry.owner != owner:
        raise Conflict(f"lease lost: entry is {entry.state}, owned by {entry.owner!r}")


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential retry delay after ``attempts`` failed attempts."""
    return float(min(max_s, base_s * (2 ** max(0, attempts - 1))))
