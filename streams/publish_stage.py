"""The ``publish`` stage: render the card, then publish through the ledger, exactly once.

The consumer moves on only when the ledger says done or dead: a publish that must wait (rate
limit, channel down) is retried here, never skipped. A card that cannot be rendered or a
channel with no publisher dead-letters the request with the reason.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from config.log import get_logger
from publishers.base import CardImage
from streams.normalize import DeadLetterSink, dead_letter_for, utc_now
from streams.outcomes import Outcome
from streams.records import Published, PublishRequest, ScoredStatement

log = get_logger(__name__)
STAGE = "publish"


class CardMaker(Protocol):
    async def card_for(self, scored: ScoredStatement) -> CardImage: ...


class Runner(Protocol):
    async def handle_until_settled(
        self, request: PublishRequest, card: CardImage | None, max_wait_s: float
    ) -> Any: ...


class BatchRehearsal(Protocol):
    """A runner that can rehearse and record many dry runs at once (``PublishRunner``)."""

    async def rehearse_batch(
        self, requests: Sequence[PublishRequest], cards: Sequence[CardImage | None]
    ) -> list[Any]: ...


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

    async def _dead(self, request: PublishRequest, reason: str) -> Outcome:
        key = f"{request.statement_id}:{request.channel}".encode()
        record = dead_letter_for(STAGE, reason, request.dumps(), None, key, self.clock())
        await self.dead_letters.dead_letter(record, key)
        log.error(
            "publish dead-lettered", id=request.statement_id, channel=request.channel, reason=reason
        )
        return Outcome.DEADLETTERED

    async def handle_batch(self, requests: Sequence[PublishRequest]) -> list[Outcome]:
        """Each request's outcome, in order. Dry runs of a channel whose runner can batch them
        are rehearsed and recorded together (one ledger round trip, one round of broker
        acknowledgements); every other request, and any dry run the batch could not settle,
        goes through ``handle`` one at a time, as a live post must."""
        outcomes: list[Outcome | None] = [None] * len(requests)
        groups: dict[str, list[tuple[int, CardImage | None]]] = defaultdict(list)
        for i, request in enumerate(requests):
            runner = self.runners.get(request.channel)
            if request.dry_run and hasattr(runner, "rehearse_batch"):
                card = await self._card(request)
                if isinstance(card, str):
                    outcomes[i] = card
                else:
                    groups[request.channel].append((i, card))
        sends = []
        for channel, items in groups.items():
            batcher = cast(BatchRehearsal, self.runners[channel])
            results = await batcher.rehearse_batch(
                [requests[i] for i, _ in items], [card for _, card in items]
            )
            for (i, _), result in zip(items, results, strict=True):
                if result is not None:
                    record = self._published(requests[i], result)
                    sends.append(self.published.emit_published(record))
                    outcomes[i] = Outcome(result.status)
        await asyncio.gather(*sends)
        for i, request in enumerate(requests):
            if outcomes[i] is None:
                outcomes[i] = await self.handle(request)
        settled = [o for o in outcomes if o is not None]
        assert len(settled) == len(requests)  # handle() settled every request left
        return settled

    async def _card(self, request: PublishRequest) -> CardImage | Outcome | None:
        """The request's card, None without a card maker, or the outcome of dead-lettering it."""
        if self.cards is None:
            return None
        try:
            return await self.cards.card_for(request.scored)
        except Exception as exc:  # a bad card never crashes the worker
            return await self._dead(request, f"card_error: {exc}")

    def _published(self, request: PublishRequest, result: Any) -> Published:
        return Published(
            statement_id=request.statement_id,
            channel=request.channel,
            external_id=result.external_id or "",
            cid=result.cid,
            published_at=self.clock().isoformat(),
            dry_run=request.dry_run,
        )

    async def handle(self, request: PublishRequest) -> Outcome:
        runner = self.runners.get(request.channel)
        if runner is None:
            return await self._dead(
                request, f"no_publisher: channel {request.channel!r} is not configured"
            )
        card = await self._card(request)
        if isinstance(card, str):
            return card
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
            await self.published.emit_published(self._published(request, result))
        elif result.status == "dead":
            return await self._dead(request, f"publish_failed: {result.error}")
        return Outcome(result.status)
