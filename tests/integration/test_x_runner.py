"""The publish runner around the X publisher: ledger in a real Redis, the X fake."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from config.settings import XSettings
from publishers.base import CardImage
from publishers.ledger import LedgerEntry, State
from publishers.ledger_store import RedisLedgerStore
from publishers.post_text import marker_for
from publishers.runner import PublishRunner
from publishers.x_publisher import XCredentials, XPublisher
from tests.fixtures_xfake import XFake, xfake, xfake_credentials, xfake_settings
from tests.integration.test_x_publisher import PNG, make_request

pytestmark = pytest.mark.integration
__all__ = ["xfake", "xfake_credentials", "xfake_settings"]


class Crash(Exception):
    """Stands for the worker dying."""


class CrashBeforeRecording(RedisLedgerStore):
    """A ledger whose write of "done" never happens: the worker died right after posting."""

    async def transition(
        self, channel: str, statement_id: str, change: Callable[[LedgerEntry | None], LedgerEntry]
    ) -> LedgerEntry:
        def guarded(entry: LedgerEntry | None) -> LedgerEntry:
            new = change(entry)
            if new.state is State.DONE:
                raise Crash("died between posted and recorded")
            return new

        return await super().transition(channel, statement_id, guarded)


async def test_crash_between_posted_and_recorded_then_restart_posts_once(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    request = make_request()
    first = PublishRunner(
        XPublisher(xfake_settings, xfake_credentials),
        CrashBeforeRecording(redis_client),
        lease_s=30,
    )
    with pytest.raises(Crash):
        await first.handle(request, CardImage(PNG, "alt"))
    assert len(xfake.posts()) == 1
    store = RedisLedgerStore(redis_client)
    pending = await store.get("x", request.statement_id)
    assert pending is not None and pending.state is State.PENDING

    shift = [0.0]
    restarted = PublishRunner(
        XPublisher(xfake_settings, xfake_credentials),
        store,
        lease_s=30,
        clock=lambda: time.time() + shift[0],
    )
    busy = await restarted.handle(request, CardImage(PNG, "alt"))
    assert busy.status == "retry_later"  # the dead worker's lease still runs
    assert busy.retry_after_s is not None and 25 < busy.retry_after_s <= 30
    shift[0] = 31.0  # the lease has run out
    result = await restarted.handle(request, CardImage(PNG, "alt"))
    posts = xfake.posts()
    assert result.status == "done" and len(posts) == 1
    assert result.external_id == posts[0]["id"]
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 1
    again = await restarted.handle(request, None)
    assert again.status == "skipped_already_done" and again.external_id == posts[0]["id"]


async def test_429_then_success_waits_for_the_reset(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    runner = PublishRunner(
        XPublisher(xfake_settings, xfake_credentials), RedisLedgerStore(redis_client)
    )
    xfake.inject("/2/tweets", 429, method="POST", reset_in_s=1)
    request = make_request()
    started = time.monotonic()
    first = await runner.handle(request, None)
    assert first.status == "retry_later" and first.retry_after_s is not None
    assert 1.0 <= first.retry_after_s <= 3.0
    result = await runner.handle_until_settled(request, None, max_wait_s=10)
    assert result.status == "done"
    assert time.monotonic() - started >= 1.0
    assert [p["id"] for p in xfake.posts()] == [result.external_id]
    assert [r["status"] for r in xfake.requests_seen("POST", "/2/tweets")] == [429, 201]


async def test_final_4xx_dead_letters_with_the_api_error(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    store = RedisLedgerStore(redis_client)
    runner = PublishRunner(XPublisher(xfake_settings, xfake_credentials), store)
    xfake.inject("/2/tweets", 403, method="POST")
    request = make_request()
    result = await runner.handle(request, None)
    assert result.status == "dead" and result.settled
    assert result.error is not None and "X API 403" in result.error
    assert (await runner.handle(request, None)).status == "dead"  # stays dead, no new post
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 1


async def test_persistent_5xx_ends_dead_after_max_attempts(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    settings = xfake_settings.model_copy(update={"max_retries": 1})
    runner = PublishRunner(
        XPublisher(settings, xfake_credentials),
        RedisLedgerStore(redis_client),
        max_attempts=2,
        backoff_base_s=0.01,
        backoff_max_s=0.02,
    )
    xfake.inject("/2/tweets", 502, method="POST", count=100)
    result = await runner.handle_until_settled(make_request(), None, max_wait_s=5)
    assert result.status == "dead" and result.attempts == 2
    assert "gave up after 2 attempts" in (result.error or "")
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 2 * 2  # attempts x (1 + retries)
    assert xfake.posts() == []


async def test_dry_run_request_records_and_posts_nothing(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    store = RedisLedgerStore(redis_client)
    publisher = XPublisher(xfake_settings, xfake_credentials)
    runner = PublishRunner(publisher, store)
    request = make_request(dry_run=True)
    result = await runner.handle(request, CardImage(PNG, "alt"))
    assert result.status == "done" and result.dry_run
    assert result.external_id == f"dry-run:{marker_for(request.statement_id)}"
    assert xfake.requests_seen() == [] and xfake.posts() == []
    assert len(publisher.rehearsals) == 1
    # The rehearsal has its own ledger: a later real publish of the same statement still posts.
    assert await store.get("x", request.statement_id) is None
    live = make_request()
    live_dict = {
        **request.asdict(),
        "dry_run": False,
        "scored": live.scored.asdict() | {"statement": request.scored.statement.asdict()},
    }
    real = await runner.handle(live_dict, None)
    assert real.status == "done" and len(xfake.posts()) == 1


async def test_redelivered_dry_run_is_recorded_once(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    """The lease-free rehearsal path creates the ledger entry only if there is none: a
    redelivered request finds it done and is skipped (one Published record downstream)."""
    store = RedisLedgerStore(redis_client)
    runner = PublishRunner(XPublisher(xfake_settings, xfake_credentials), store)
    request = make_request(dry_run=True)
    first = await runner.handle(request, None)
    again = await runner.handle(request, None)
    assert (first.status, again.status) == ("done", "skipped_already_done")
    assert again.external_id == first.external_id
    entry = await store.get("x.dry-run", request.statement_id)
    assert entry is not None and entry.state.value == "done"
    assert xfake.requests_seen() == [] and xfake.posts() == []
