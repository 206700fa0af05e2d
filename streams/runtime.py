"""What the agents need at run time (Redis, stage logic), built once per worker process.

Tests swap it with ``set_runtime`` to run an agent under ``agent.test_context()`` without a
broker or Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from config.settings import Settings
from streams import keys
from streams.app import deadletter_topic, statements_topic
from streams.dedup import RedisSeenStore
from streams.normalize import Normalizer
from streams.output_probe import KafkaOutputProbe
from streams.records import DeadLetter, Statement
from streams import topics


class Counters(Protocol):
    async def count(self, stage: str, outcome: str, n: int = 1) -> None: ...


class RedisCounters:
    """Per-stage outcome counters (health, metrics and the demo's summary)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def count(self, stage: str, outcome: str, n: int = 1) -> None:
        await self._redis.hincrby(keys.counters(stage), outcome, n)


class TopicStatementSink:
    async def emit(self, statement: Statement) -> None:
        delivery = await statements_topic.send(key=statement.id.encode(), value=statement)
        await delivery


class TopicDeadLetterSink:
    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None:
        delivery = await deadletter_topic.send(key=key, value=record)
        await delivery


@dataclass
class Runtime:
    normalizer: Normalizer
    counters: Counters
    dead_letters: TopicDeadLetterSink | object = field(default=None)


_runtime: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    redis = Redis.from_url(settings.redis_url)
    dead_letters = TopicDeadLetterSink()
    normalizer = Normalizer(
        limits=settings.stream,
        seen=RedisSeenStore(redis, settings.stream.seen_ttl_s),
        statements=TopicStatementSink(),
        dead_letters=dead_letters,
        probe=KafkaOutputProbe(settings.bootstrap_servers, topics.STATEMENTS),
    )
    return Runtime(normalizer=normalizer, counters=RedisCounters(redis), dead_letters=dead_letters)


def get_runtime(settings: Settings) -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(settings)
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime
