"""De-duplication by statement id, in Redis, robust to a worker killed mid-event.

A statement id's marker goes through two states: ``claimed`` (by one ingest offset, before the
statement is sent on) and ``emitted`` (after the broker acknowledged it). Seeing a marker
claimed by the *same* ingest offset means the worker died while handling exactly this event:
the statement may or may not have reached the output, so the caller checks the output before
sending again. Anything else already marked is a duplicate.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from streams import keys

EMITTED = "e"


class Claim(enum.Enum):
    NEW = "new"
    DUPLICATE = "duplicate"
    RECLAIM = "reclaim"  # our own earlier claim of this very event: check the output first


@dataclass(frozen=True)
class Origin:
    """Where an event came from: what makes a redelivery recognisable."""

    topic: str
    partition: int
    offset: int

    def token(self, now_ms: int) -> str:
        return f"c|{self.topic}|{self.partition}|{self.offset}|{now_ms}"


def classify(existing: str, origin: Origin) -> tuple[Claim, int | None]:
    """Pure decision on an existing marker: duplicate, or our own interrupted claim (with when)."""
    if existing == EMITTED:
        return Claim.DUPLICATE, None
    parts = existing.split("|")
    if len(parts) == 5 and parts[0] == "c":
        same = (parts[1], parts[2], parts[3]) == (
            origin.topic,
            str(origin.partition),
            str(origin.offset),
        )
        if same:
            return Claim.RECLAIM, int(parts[4])
    return Claim.DUPLICATE, None


class SeenStore(Protocol):
    async def claim_many(
        self, items: Sequence[tuple[str, Origin]], now_ms: int
    ) -> list[tuple[Claim, int | None]]:
        """Claim each statement id for its origin, in order (one round trip on Redis)."""
        ...

    async def mark_emitted_many(self, statement_ids: Sequence[str]) -> None: ...


class RedisSeenStore:
    """The real store: one string key per statement id, with a TTL."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self._redis = redis
        self._ttl = ttl_s

    async def claim(
        self, statement_id: str, origin: Origin, now_ms: int
    ) -> tuple[Claim, int | None]:
        key = keys.seen(statement_id)
        r = self._redis
        if await r.set(key, origin.token(now_ms), nx=True, ex=self._ttl):
            return Claim.NEW, None
        existing = await r.get(key)
        if existing is None:  # expired between the two calls: claim again
            return await self.claim(statement_id, origin, now_ms)
        return classify(existing.decode() if isinstance(existing, bytes) else existing, origin)

    async def claim_many(
        self, items: Sequence[tuple[str, Origin]], now_ms: int
    ) -> list[tuple[Claim, int | None]]:
        if not items:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for statement_id, origin in items:
                pipe.set(keys.seen(statement_id), origin.token(now_ms), nx=True, ex=self._ttl)
            claimed = await pipe.execute()
        taken = [i for i, ok in enumerate(claimed) if not ok]
        existing: list[object] = []
        if taken:
            async with self._redis.pipeline(transaction=False) as pipe:
                for i in taken:
                    pipe.get(keys.seen(items[i][0]))
                existing = await pipe.execute()
        out: list[tuple[Claim, int | None]] = [(Claim.NEW, None)] * len(items)
        for i, value in zip(taken, existing, strict=True):
            if value is None:  # expired between the two round trips: claim again
                out[i] = await self.claim(items[i][0], items[i][1], now_ms)
            else:
                text = value.decode() if isinstance(value, bytes) else str(value)
                out[i] = classify(text, items[i][1])
        return out

    async def mark_emitted_many(self, statement_ids: Sequence[str]) -> None:
        if not statement_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for statement_id in statement_ids:
                pipe.set(keys.seen(statement_id), EMITTED, ex=self._ttl)
            await pipe.execute()
