"""The ``publish`` stage: render the card, then publish through the ledger, exactly once.

The consumer moves on only when the ledger says done or dead: a publish that must wait (rate
limit, channel down) is retried here, never skipped. A card that cannot be rendered or a
channel with no publisher dead-letters the request with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from config.log import get_logger
from publishers.base import CardImage
from streams.normalize import DeadLetterSink, dead_letter_for, utc_now
from streams.records import Published, PublishRequest, ScoredStatement

log = get_logger(__name__)
STAGE = "publish"


class CardMaker(Protocol):
    async def card_for(self, scored: ScoredStatement) -> CardImage: ...


class Runner(Protocol):
    async def handle_until_settled(
        self, request: PublishRequest, card: CardImage | None, max_wait_s: float
    ) -> Any: ...


class PublishedSink(Protocol):
    async def emit_published(self, record: Published) -> None: ...


@dataclass
class PublishStage:
    runners: Mapping[str, Runner]
    cards: CardMaker | None
    published: PublishedSink
    dead_letters: DeadLetterSink
    max_wait_s: float = 900.0
    clock: Callable[[], datetime] = utc_now
    # Channels whose published state must be re-signed periodically (the IPFS feed's IPNS name).
    republishers: Sequence[Any] = ()

    async def _dead(self, request: PublishRequest, reason: str) -> str:
        key = f"{request.statement_id}:{request.channel}".encode()
        record = dead_letter_for(STAGE, reason, request.dumps(), None, key, self.clock())
        await self.dead_letters.dead_letter(record, key)
        log.error(
            "publish dead-lettered", id=request.statement_id, channel=request.channel, reason=reason
        )
        return "deadlettered"

    async def handle(self, request: PublishRequest) -> str:
        runner = self.runners.get(request.channel)
        if runner is None:
            return await self._dead(
                request, f"no_publisher: channel {request.channel!r} is not configured"
            )
        card: CardImage | None = None
        if self.cards is not None:
            try:
                card = await self.cards.card_for(request.scored)
            except Exception as exc:  # a bad card never crashes the worker
                return await self._dead(request, f"card_error: {exc}")
        while True:
            result = await runner.handle_until_settled(request, card, self.max_wait_s)
            if result.settled:
                break
            log.warning(
                "publish still pending; retrying (offset not committed)",
                id=request.statement_id,
                channel=request.channel,
                error=result.error,
            )
        if result.status == "done":
            await self.published.emit_published(
                Published(
                    statement_id=request.statement_id,
                    channel=request.channel,
                    external_id=result.external_id or "",
                    cid=result.cid,
                    published_at=self.clock().isoformat(),
                    dry_run=request.dry_run,
                )
            )
        elif result.status == "dead":
            return await self._dead(request, f"publish_failed: {result.error}")
        return str(result.status)
