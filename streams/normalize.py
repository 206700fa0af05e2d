"""The ``normalize`` stage: validate, de-duplicate, then pass a statement on exactly once.

The logic is a plain class over small interfaces (a seen-store, two sinks, an output probe), so
it is tested without a broker; the Faust agent in ``streams.agents`` only feeds it events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from config.log import get_logger
from config.settings import StreamSettings
from streams.dedup import Claim, Origin, SeenStore
from streams.outcomes import Outcome
from streams.output_probe import OutputProbe
from streams.records import DeadLetter, Statement
from streams.validation import Rejected, validate

log = get_logger(__name__)
STAGE = "normalize"
RAW_KEEP_BYTES = 16_000  # dead letters keep the start of a huge payload, not all of it


class StatementSink(Protocol):
    async def emit(self, statement: Statement) -> None:
        """Returns after the broker acknowledged the statement."""
        ...


class DeadLetterSink(Protocol):
    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


def dead_letter_for(
    stage: str, reason: str, raw: bytes, origin: Origin | None, key: bytes | None, now: datetime
) -> DeadLetter:
    return DeadLetter(
        stage=stage,
        reason=reason,
        raw=raw[:RAW_KEEP_BYTES].decode("utf-8", errors="replace"),
        at=now.isoformat(),
        origin_topic=origin.topic if origin else None,
        origin_partition=origin.partition if origin else None,
        origin_offset=origin.offset if origin else None,
        original_key=key.decode("utf-8", errors="replace") if key is not None else None,
    )


@dataclass(frozen=True)
class RawEvent:
    """One ingest record as the stage sees it: the bytes, where they came from, the key."""

    raw: bytes
    origin: Origin
    key: bytes | None = None


@dataclass
class Normalizer:
    limits: StreamSettings
    seen: SeenStore
    statements: StatementSink
    dead_letters: DeadLetterSink
    probe: OutputProbe
    clock: Callable[[], datetime] = utc_now

    async def handle(self, raw: bytes, origin: Origin, key: bytes | None = None) -> Outcome:
        [outcome] = await self.handle_batch([RawEvent(raw, origin, key)])
        return outcome

    async def handle_batch(self, events: Sequence[RawEvent]) -> list[Outcome]:
        """One outcome per event, in order.

        Batched so a burst costs a few Redis round trips and one round of broker
        acknowledgements instead of several per statement. Every statement is claimed before
        any is sent and marked emitted only after all sends were acknowledged, so a worker
        killed mid-batch finds its own claims on redelivery and checks the output first.
        """
        now = self.clock()
        outcomes: list[Outcome] = [Outcome.DUPLICATE] * len(events)
        dead: list[Awaitable[None]] = []
        fresh: dict[str, tuple[int, Statement, Origin]] = {}
        for i, event in enumerate(events):
            result = validate(event.raw, self.limits, now)
            if isinstance(result, Rejected):
                log.warning(
                    "statement rejected",
                    stage=STAGE,
                    reason=result.reason,
                    partition=event.origin.partition,
                    offset=event.origin.offset,
                )
                record = dead_letter_for(
                    STAGE, result.reason, event.raw, event.origin, event.key, now
                )
                dead.append(self.dead_letters.dead_letter(record, event.key))
                outcomes[i] = Outcome.DEADLETTERED
            elif result.id not in fresh:  # a repeat inside the batch stays DUPLICATE
                fresh[result.id] = (i, result, event.origin)

        items = list(fresh.values())
        claims = await self.seen.claim_many(
            [(st.id, origin) for _, st, origin in items], int(time.time() * 1000)
        )
        send: list[tuple[int, Statement]] = []
        reclaimed: list[tuple[int, Statement, int]] = []
        for (i, statement, _), (claim, claimed_ms) in zip(items, claims, strict=True):
            if claim is Claim.DUPLICATE:
                log.debug("duplicate statement dropped", id=statement.id)
            elif claim is Claim.RECLAIM and claimed_ms is not None:
                reclaimed.append((i, statement, claimed_ms))
            else:
                send.append((i, statement))

        recovered: list[str] = []
        if reclaimed:
            since = min(ms for _, _, ms in reclaimed)
            landed = await self.probe.found({st.id.encode() for _, st, _ in reclaimed}, since)
            for i, statement, _ in reclaimed:
                if statement.id.encode() in landed:
                    log.info("interrupted emit had landed; not sending again", id=statement.id)
                    outcomes[i] = Outcome.RECOVERED
                    recovered.append(statement.id)
                else:
                    log.info("interrupted emit had not landed; sending", id=statement.id)
                    send.append((i, statement))

        await asyncio.gather(*dead, *(self.statements.emit(st) for _, st in send))
        await self.seen.mark_emitted_many([st.id for _, st in send] + recovered)
        for i, _ in send:
            outcomes[i] = Outcome.EMITTED
        return outcomes
