"""The ``normalize`` stage: validate, de-duplicate, then pass a statement on exactly once.

The logic is a plain class over small interfaces (a seen-store, two sinks, an output probe), so
it is tested without a broker; the Faust agent in ``streams.agents`` only feeds it events.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from config.log import get_logger
from config.settings import StreamSettings
from streams.dedup import Claim, Origin, SeenStore
from streams.output_probe import OutputProbe
from streams.records import DeadLetter, Statement
from streams.validation import Rejected, validate

log = get_logger(__name__)
STAGE = "normalize"
RAW_KEEP_BYTES = 16_000  # dead letters keep the start of a huge payload, not all of it


class Outcome(enum.Enum):
    EMITTED = "emitted"
    DUPLICATE = "duplicate"
    DEADLETTERED = "deadlettered"
    RECOVERED = "recovered"  # an interrupted emit that had in fact landed


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


@dataclass
class Normalizer:
    limits: StreamSettings
    seen: SeenStore
    statements: StatementSink
    dead_letters: DeadLetterSink
    probe: OutputProbe
    clock: Callable[[], datetime] = utc_now

    async def handle(self, raw: bytes, origin: Origin, key: bytes | None = None) -> Outcome:
        now = self.clock()
        result = validate(raw, self.limits, now)
        if isinstance(result, Rejected):
            log.warning(
                "statement rejected",
                stage=STAGE,
                reason=result.reason,
                partition=origin.partition,
                offset=origin.offset,
            )
            await self.dead_letters.dead_letter(
                dead_letter_for(STAGE, result.reason, raw, origin, key, now), key
            )
            return Outcome.DEADLETTERED

        statement = result
        claim, claimed_ms = await self.seen.claim(statement.id, origin, int(time.time() * 1000))
        if claim is Claim.DUPLICATE:
            log.debug("duplicate statement dropped", id=statement.id)
            return Outcome.DUPLICATE
        if claim is Claim.RECLAIM and claimed_ms is not None:
            if await self.probe.contains(statement.id.encode(), claimed_ms):
                log.info("interrupted emit had landed; not sending again", id=statement.id)
                await self.seen.mark_emitted(statement.id)
                return Outcome.RECOVERED
            log.info("interrupted emit had not landed; sending", id=statement.id)
        await self.statements.emit(statement)
        await self.seen.mark_emitted(statement.id)
        return Outcome.EMITTED
