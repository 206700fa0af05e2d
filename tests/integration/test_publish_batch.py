"""Dry runs published a batch at a time: one ledger write for the batch, still exactly once."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from config.settings import XSettings
from publishers.ledger import State
from publishers.ledger_store import RedisLedgerStore
from publishers.runner import PublishRunner
from publishers.x_publisher import XCredentials, XPublisher
from streams.publish_stage import PublishStage
from streams.records import DeadLetter, Published
from tests.fixtures_xfake import XFake, xfake, xfake_credentials, xfake_settings
from tests.integration.test_x_publisher import make_request

pytestmark = pytest.mark.integration
__all__ = ["xfake", "xfake_credentials", "xfake_settings"]


class Sinks:
    """Collects the stage's output records (the topic sinks are tested in the e2e tests)."""

    def __init__(self) -> None:
        self.published: list[Published] = []
        self.dead: list[DeadLetter] = []

    async def emit_published(self, record: Published) -> None:
        self.published.append(record)

    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None:
        self.dead.append(record)


async def calls(redis: Redis) -> dict[str, int]:
    """Calls per command so far (commands a script runs count under their own names)."""
    stats = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def test_rehearse_batch_records_each_once_in_one_round_trip(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    store = RedisLedgerStore(redis_client)
    runner = PublishRunner(XPublisher(xfake_settings, xfake_credentials), store)
    a, b = make_request(dry_run=True), make_request("Taxes doubled.", dry_run=True)
    before = await calls(redis_client)
    results = await runner.rehearse_batch([a, b, a], [None, None, None])
    after = await calls(redis_client)
    # One round trip: one script call, no WATCH/MULTI transactions.
    assert after["eval"] - before.get("eval", 0) == 1
    assert all(after.get(c, 0) == before.get(c, 0) for c in ("watch", "multi", "exec"))
    first, second, repeat = results
    assert first is not None and first.status == "done" and first.dry_run
    assert second is not None and second.status == "done"
    assert repeat is None  # the same request twice in a batch: left to the full path
    for request in (a, b):
        entry = await store.get("x.dry-run", request.statement_id)
        assert entry is not None and entry.state is State.DONE
        assert await store.get("x", request.statement_id) is None  # live ledger untouched
    # A redelivered batch creates nothing; the full path then finds it done.
    assert await runner.rehearse_batch([a], [None]) == [None]
    assert (await runner.handle(a, None)).status == "skipped_already_done"
    assert xfake.requests_seen() == [] and xfake.posts() == []


async def test_rehearse_batch_refuses_live_requests(
    xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    runner = PublishRunner(
        XPublisher(xfake_settings, xfake_credentials), RedisLedgerStore(redis_client)
    )
    with pytest.raises(ValueError, match="dry runs"):
        await runner.rehearse_batch([make_request()], [None])


async def test_stage_batch_outcomes_in_order_with_one_published_record_each(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    store = RedisLedgerStore(redis_client)
    runner = PublishRunner(XPublisher(xfake_settings, xfake_credentials), store)
    sinks = Sinks()
    stage = PublishStage({"x": runner}, None, sinks, sinks)
    a, b = make_request(dry_run=True), make_request("Crime fell.", dry_run=True)
    nowhere = make_request(dry_run=True, channel="telegram")
    outcomes = await stage.handle_batch([a, nowhere, b, a])
    assert outcomes == ["done", "deadlettered", "done", "skipped_already_done"]
    assert sorted(p.statement_id for p in sinks.published) == sorted(
        [a.statement_id, b.statement_id]
    )
    assert all(p.dry_run and p.external_id.startswith("dry-run:") for p in sinks.published)
    [dead] = sinks.dead
    assert dead.reason.startswith("no_publisher")
    # The whole batch again (a redelivery after a crash): nothing new is published.
    again = await stage.handle_batch([a, b])
    assert again == ["skipped_already_done", "skipped_already_done"]
    assert len(sinks.published) == 2
    assert xfake.posts() == []
