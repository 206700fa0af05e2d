"""Posting limits as token buckets in Redis, shared by every worker posting as the bot.

A bucket of ``capacity`` tokens refills continuously over ``period_s``. A post needs a token
from every bucket (X's 100 per 15 min, our hourly cap, our daily cap), taken atomically: all
or none. The decision is a pure function; the store applies it under WATCH/MULTI.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import WatchError

from streams import keys


@dataclass(frozen=True)
class Bucket:
    name: str
    capacity: int
    period_s: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period_s


@dataclass(frozen=True)
class BucketState:
    tokens: float
    updated_at: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    wait_s: float  # 0 when allowed; else how long until every bucket has the tokens
    states: tuple[BucketState, ...]  # the states to store (tokens taken only if allowed)


def refill(bucket: Bucket, state: BucketState | None, now: float) -> BucketState:
    if state is None:
        return BucketState(float(bucket.capacity), now)
    elapsed = max(0.0, now - state.updated_at)
    return BucketState(min(float(bucket.capacity), state.tokens + elapsed * bucket.rate), now)


def decide(
    buckets: Sequence[Bucket], states: Sequence[BucketState | None], now: float, cost: float = 1.0
) -> Decision:
    """Take ``cost`` tokens from every bucket, or say how long to wait."""
    current = [refill(b, s, now) for b, s in zip(buckets, states, strict=True)]
    short = [
        (cost - s.tokens) / b.rate for b, s in zip(buckets, current, strict=True) if s.tokens < cost
    ]
    if short:
        return Decision(False, max(short), tuple(current))
    return Decision(True, 0.0, tuple(BucketState(s.tokens - cost, now) for s in current))


def x_post_buckets(
    window_posts: int, window_s: float, hourly_cap: int, daily_cap: int
) -> list[Bucket]:
    """The buckets an X post must pass."""
    return [
        Bucket("x:posts:window", window_posts, window_s),
        Bucket("x:posts:hour", hourly_cap, 3600.0),
        Bucket("x:posts:day", daily_cap, 86400.0),
    ]


class RedisRateLimiter:
    """Token buckets in Redis hashes at ``keys.rate_limit(name)``."""

    def __init__(
        self, redis: Redis, buckets: Sequence[Bucket], clock: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._buckets = list(buckets)
        self._clock = clock

    async def try_acquire(self, cost: float = 1.0) -> float:
        """Take the tokens and return 0.0, or take nothing and return seconds to wait."""
        names = [keys.rate_limit(b.name) for b in self._buckets]
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(*names)
                    states = [await self._read(pipe, n) for n in names]
                    decision = decide(self._buckets, states, self._clock(), cost)
                    pipe.multi()
                    for name, bucket, state in zip(
                        names, self._buckets, decision.states, strict=True
                    ):
                        pipe.hset(
                            name,
                            mapping={
                                "tokens": repr(state.tokens),
                                "updated_at": repr(state.updated_at),
                            },
                        )
                        pipe.expire(name, int(bucket.period_s * 2) + 1)
                    await pipe.execute()
                    return decision.wait_s
                except WatchError:
                    continue

    @staticmethod
    async def _read(pipe: object, name: str) -> BucketState | None:
        raw = await pipe.hgetall(name)  # type: ignore[attr-defined]
        if not raw:
            return None
        tokens = raw.get(b"tokens", raw.get("tokens"))
        updated = raw.get(b"updated_at", raw.get("updated_at"))
        return BucketState(float(tokens), float(updated))
