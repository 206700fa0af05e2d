"""The normalize stage: de-duplication, dead letters and crash recovery, without a broker.

The in-memory seen-store and sinks below are fakes of our own components; the Redis store and
the topic sinks are exercised against the real services in tests/integration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from config.settings import StreamSettings
from streams.dedup import EMITTED, Claim, Origin, classify
from streams.normalize import Normalizer, Outcome, RawEvent
from streams.records import DeadLetter, Statement

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class MemorySeen:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def claim(
        self, statement_id: str, origin: Origin, now_ms: int
    ) -> tuple[Claim, int | None]:
        if statement_id not in self.values:
            self.values[statement_id] = origin.token(now_ms)
            return Claim.NEW, None
        return classify(self.values[statement_id], origin)

    async def claim_many(
        self, items: Sequence[tuple[str, Origin]], now_ms: int
    ) -> list[tuple[Claim, int | None]]:
        return [await self.claim(sid, origin, now_ms) for sid, origin in items]

    async def mark_emitted_many(self, statement_ids: Sequence[str]) -> None:
        for sid in statement_ids:
            self.values[sid] = EMITTED


@dataclass
class Collect:
    statements: list[Statement] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    landed: set[bytes] = field(default_factory=set)

    async def emit(self, statement: Statement) -> None:
        self.statements.append(statement)
        self.landed.add(statement.id.encode())

    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None:
        self.dead.append(record)

    async def found(self, keys: set[bytes], since_ms: int) -> set[bytes]:
        return keys & self.landed


def make(collect: Collect, seen: MemorySeen | None = None) -> Normalizer:
    return Normalizer(
        StreamSettings(), seen or MemorySeen(), collect, collect, collect, lambda: NOW
    )


def raw(external_id: str, text: str = "The deficit fell by half.") -> bytes:
    return json.dumps(
        {
            "source": "x",
            "kind": "tweet",
            "external_id": external_id,
            "author": "a",
            "text": text,
            "said_at": "2025-05-01T00:00:00Z",
        }
    ).encode()


async def test_duplicates_are_dropped_and_originals_emitted_once() -> None:
    collect = Collect()
    normalizer = make(collect)
    outcomes = [await normalizer.handle(raw(str(i % 5)), Origin("in", 0, i)) for i in range(15)]
    assert outcomes.count(Outcome.EMITTED) == 5
    assert outcomes.count(Outcome.DUPLICATE) == 10
    assert len({s.id for s in collect.statements}) == len(collect.statements) == 5


async def test_rejects_become_dead_letters_with_origin_and_reason() -> None:
    collect = Collect()
    outcome = await make(collect).handle(b"{oops", Origin("in", 3, 42), key=b"k")
    assert outcome is Outcome.DEADLETTERED
    [dead] = collect.dead
    assert dead.stage == "normalize" and dead.reason.startswith("malformed_json")
    assert (dead.origin_partition, dead.origin_offset, dead.raw, dead.original_key) == (
        3,
        42,
        "{oops",
        "k",
    )


async def test_redelivery_after_crash_before_send_emits() -> None:
    collect, seen = Collect(), MemorySeen()
    origin = Origin("in", 0, 7)
    await seen.claim(_id("9"), origin, 1)  # claimed, then the worker died before sending
    assert await make(collect, seen).handle(raw("9"), origin) is Outcome.EMITTED
    assert len(collect.statements) == 1


async def test_redelivery_after_crash_after_send_does_not_emit_again() -> None:
    collect, seen = Collect(), MemorySeen()
    origin = Origin("in", 0, 7)
    await seen.claim(_id("9"), origin, 1)
    collect.landed.add(_id("9").encode())  # the send had reached the broker before the crash
    assert await make(collect, seen).handle(raw("9"), origin) is Outcome.RECOVERED
    assert collect.statements == []
    assert seen.values[_id("9")] == EMITTED


def test_classify_tells_own_claim_from_someone_elses() -> None:
    origin = Origin("in", 1, 5)
    assert classify(EMITTED, origin) == (Claim.DUPLICATE, None)
    assert classify(origin.token(123), origin) == (Claim.RECLAIM, 123)
    assert classify(Origin("in", 1, 6).token(123), origin) == (Claim.DUPLICATE, None)
    assert classify("garbage", origin) == (Claim.DUPLICATE, None)


def _id(external_id: str) -> str:
    from streams.records import statement_id

    return statement_id("x", external_id)


async def test_a_batch_keeps_order_dead_letters_and_drops_repeats_inside_it() -> None:
    collect = Collect()
    events = [
        RawEvent(raw("1"), Origin("in", 0, 0)),
        RawEvent(b"not json", Origin("in", 0, 1)),
        RawEvent(raw("1"), Origin("in", 0, 2)),  # the same statement again, same batch
        RawEvent(raw("2"), Origin("in", 0, 3)),
    ]
    outcomes = await make(collect).handle_batch(events)
    assert outcomes == [
        Outcome.EMITTED,
        Outcome.DEADLETTERED,
        Outcome.DUPLICATE,
        Outcome.EMITTED,
    ]
    assert [s.id for s in collect.statements] == [_id("1"), _id("2")]
    assert [d.origin_offset for d in collect.dead] == [1]


async def test_a_batch_redelivered_after_a_crash_sends_only_what_had_not_landed() -> None:
    collect, seen = Collect(), MemorySeen()
    events = [RawEvent(raw(str(n)), Origin("in", 2, n)) for n in range(3)]
    for event, n in zip(events, range(3), strict=True):
        await seen.claim(_id(str(n)), event.origin, 1)  # all claimed, then the worker died
    collect.landed.add(_id("0").encode())  # only the first send had reached the broker
    outcomes = await make(collect, seen).handle_batch(events)
    assert outcomes == [Outcome.RECOVERED, Outcome.EMITTED, Outcome.EMITTED]
    assert [s.id for s in collect.statements] == [_id("1"), _id("2")]
    assert all(seen.values[_id(str(n))] == EMITTED for n in range(3))
