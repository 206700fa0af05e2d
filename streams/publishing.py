"""Builds the publish stage from settings: one ledger runner per channel, and the card maker.

X posts for real only with credentials (or against the local fake, which has dev ones); without
them the X runner still handles dry-run requests (replays), and a live request dead-letters with
the reason instead of failing silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from config.log import get_logger
from config.settings import Settings
from publishers.base import CardImage
from publishers.ledger_store import RedisLedgerStore
from publishers.runner import PublishRunner
from streams.publish_stage import PublishStage
from streams.records import PublishRequest

log = get_logger(__name__)


class LiveGuard:
    """Wraps a runner whose channel may only rehearse: live requests are refused, not posted."""

    def __init__(self, runner: PublishRunner, reason: str) -> None:
        self._runner = runner
        self._reason = reason

    async def handle_until_settled(
        self, request: PublishRequest, card: CardImage | None, max_wait_s: float
    ) -> Any:
        if not request.dry_run:
            from publishers.runner import RunnerResult

            return RunnerResult(
                status="dead",
                statement_id=request.statement_id,
                channel=request.channel,
                error=self._reason,
            )
        return await self._runner.handle_until_settled(request, card, max_wait_s)

    async def rehearse_batch(
        self, requests: Sequence[PublishRequest], cards: Sequence[CardImage | None]
    ) -> list[Any]:
        return await self._runner.rehearse_batch(requests, cards)  # dry runs only, by contract


def _runner(publisher: Any, store: RedisLedgerStore, settings: Settings) -> PublishRunner:
    p = settings.publish
    return PublishRunner(publisher, store, lease_s=p.lease_s, max_attempts=p.max_attempts)


async def build_publish_stage(settings: Settings, redis: Redis, sinks: Any) -> PublishStage:
    from publishers.ipfs_client import HttpIpfsClient
    from publishers.ipfs_publisher import IpfsPublisher
    from publishers.ratelimit import RedisRateLimiter, x_post_buckets
    from publishers.x_publisher import XCredentials, XPublisher

    store = RedisLedgerStore(redis)
    runners: dict[str, Any] = {}

    x = settings.x
    credentials = XCredentials.from_settings(settings)
    limiter = RedisRateLimiter(
        redis, x_post_buckets(x.window_posts, x.window_s, x.hourly_cap, x.daily_cap)
    )
    if credentials is not None or x.dry_run:
        runners["x"] = _runner(XPublisher(x, credentials, limiter), store, settings)
    else:
        rehearsal = XPublisher(x.model_copy(update={"dry_run": True}), None, limiter)
        runners["x"] = LiveGuard(
            _runner(rehearsal, store, settings),
            "x credentials missing: set CLAIMWATCH_X_API_KEY and friends",
        )
        log.warning("no X credentials: X requests are rehearsed (dry-run) or dead-lettered")

    i = settings.ipfs
    client = HttpIpfsClient(i.api_url, timeout_s=i.timeout_s, connect_timeout_s=i.connect_timeout_s)
    ipfs = IpfsPublisher(client, i)
    runners["ipfs"] = _runner(ipfs, store, settings)

    cards = None
    if settings.cards.enabled:
        from cards.maker import ArtifactCardMaker

        cards = ArtifactCardMaker.from_settings(settings)
    return PublishStage(
        runners, cards, sinks, sinks, max_wait_s=settings.publish.max_wait_s, republishers=[ipfs]
    )
