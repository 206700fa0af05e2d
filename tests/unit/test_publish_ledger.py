"""The publish ledger's transitions, without Redis."""

from __future__ import annotations

import pytest

from publishers import ledger
from publishers.ledger import Conflict, LedgerEntry, State, plan
from publishers.ledger_store import from_mapping, to_mapping

CH, SID = "x", "abc123"


def claimed(
    now: float = 100.0, owner: str = "w1", entry: LedgerEntry | None = None, max_attempts: int = 3
) -> LedgerEntry:
    return ledger.claim(
        entry,
        channel=CH,
        statement_id=SID,
        owner=owner,
        now=now,
        lease_s=60,
        max_attempts=max_attempts,
    )


def test_new_entry_is_claimed_with_a_lease() -> None:
    assert plan(None, 100).action == "claim"
    entry = claimed()
    assert (entry.state, entry.attempts, entry.owner, entry.lease_until) == (
        State.PENDING,
        1,
        "w1",
        160.0,
    )


def test_held_lease_means_wait_and_blocks_a_second_claim() -> None:
    entry = claimed()
    step = plan(entry, 130)
    assert step.action == "wait" and step.wait_s == 30
    with pytest.raises(Conflict):
        claimed(now=130, owner="w2", entry=entry)


def test_expired_lease_is_reconciled_before_any_retry() -> None:
    assert plan(claimed(), 161).action == "reconcile"


def test_done_is_final_and_wins() -> None:
    done = ledger.complete(claimed(), channel=CH, statement_id=SID, external_id="99", now=120)
    assert plan(done, 500).action == "skip_done"
    assert (done.state, done.external_id, done.owner) == (State.DONE, "99", "")
    again = ledger.complete(done, channel=CH, statement_id=SID, external_id="other", now=130)
    assert again.external_id == "99"
    with pytest.raises(Conflict):
        ledger.kill(done, owner=None, now=130, error="late")


def test_retryable_failure_releases_with_a_not_before() -> None:
    released = ledger.release(claimed(), owner="w1", now=110, error="503", retry_after_s=20)
    assert released.lease_until == 0 and released.not_before == 130
    assert plan(released, 120).action == "wait"
    assert plan(released, 131).action == "reconcile"
    with pytest.raises(Conflict):  # someone else's lease cannot be released by us
        ledger.release(claimed(), owner="w2", now=110, error="x", retry_after_s=1)


def test_out_of_attempts_goes_dead() -> None:
    entry = None
    for now in (100.0, 200.0):
        entry = claimed(now=now, entry=entry, max_attempts=2)
        entry = ledger.release(entry, owner="w1", now=now + 1, error="503", retry_after_s=0)
    final = claimed(now=300, entry=entry, max_attempts=2)
    assert final.state is State.DEAD and "gave up after 2 attempts: 503" in (final.error or "")
    assert plan(final, 400).action == "dead"


def test_final_failure_kills_and_keeps_the_error() -> None:
    dead = ledger.kill(claimed(), owner="w1", now=110, error="X API 403: duplicate")
    assert dead.state is State.DEAD and dead.error == "X API 403: duplicate"


def test_backoff_grows_and_is_capped() -> None:
    assert [ledger.backoff_s(n, 2, 10) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]


def test_entry_round_trips_through_json_and_redis_mapping() -> None:
    entry = ledger.complete(
        claimed(),
        channel=CH,
        statement_id=SID,
        external_id="7",
        now=1.5,
        url="https://x.com/b/status/7",
    )
    assert LedgerEntry.from_json(entry.to_json()) == entry
    mapping = to_mapping(entry)
    assert "cid" not in mapping  # None is left out
    assert from_mapping({k.encode(): v.encode() for k, v in mapping.items()}) == entry
