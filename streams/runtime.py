"""What the agents need at run time, built once per worker process.

The stages are built lazily (the worker's warm-up task asks for them as it starts, so the
model loads while the consumer group forms), and tests can swap the whole thing with
``set_runtime`` to run an agent under ``agent.test_context()`` without a broker or Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis

from config.log import get_logger
from config.settings import Settings
from streams import keys, topics
from streams.app import (
    deadletter_topic,
    publish_topic,
    published_topic,
    scored_topic,
    statements_topic,
)
from streams.dedup import RedisSeenStore
from streams.normalize import DeadLetterSink, Normalizer
from streams.output_probe import KafkaOutputProbe
from streams.records import DeadLetter, Published, PublishRequest, ScoredStatement, Statement

log = get_logger(__name__)


class Counters(Protocol):
    async def count_many(self, stage: str, outcomes: Mapping[str, int]) -> None: ...


class RedisCounters:
    """Per-stage outcome counters (health, metrics and the demo's summary)."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def count_many(self, stage: str, outcomes: Mapping[str, int]) -> None:
        """A batch's outcomes in one round trip (round trips, not commands, cost here)."""
        if not outcomes:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for outcome, n in outcomes.items():
                pipe.hincrby(keys.counters(stage), outcome, n)
            await pipe.execute()


async def _delivered(topic: Any, key: bytes | None, value: Any) -> None:
    """Send and wait for the broker's acknowledgement."""
    delivery = await topic.send(key=key, value=value)
    await delivery


class TopicSinks:
    """Every stage's output, as Faust topic sends that return once acknowledged."""

    async def emit(self, statement: Statement) -> None:
        await _delivered(statements_topic, statement.id.encode(), statement)

    async def emit_scored(self, scored: ScoredStatement) -> None:
        await _delivered(scored_topic, scored.statement.id.encode(), scored)

    async def emit_request(self, request: PublishRequest) -> None:
        await _delivered(
            publish_topic, f"{request.statement_id}:{request.channel}".encode(), request
        )

    async def emit_published(self, record: Published) -> None:
        await _delivered(
            published_topic, f"{record.statement_id}:{record.channel}".encode(), record
        )

    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None:
        await _delivered(deadletter_topic, key, record)


class RedisRecent:
    def __init__(self, redis: Redis, max_len: int) -> None:
        self._redis = redis
        self._max_len = max_len

    async def push_recent_many(self, entries: Sequence[dict[str, object]]) -> None:
        from streams.recent import push_recent_many

        await push_recent_many(self._redis, entries, self._max_len)


@dataclass
class Runtime:
    normalizer: Normalizer
    counters: Counters
    settings: Settings | None = None
    redis: Redis | None = None
    sinks: TopicSinks = field(default_factory=TopicSinks)
    _score: Any = None
    _build_lock: asyncio.Lock | None = None
    _decide: Any = None
    _publish: Any = None

    @property
    def dead_letters(self) -> DeadLetterSink:
        return self.normalizer.dead_letters

    async def score_stage(self) -> Any:
        """The score stage, its model loaded in a thread once (the warm-up task starts that
        while the consumer group forms; the first batch then finds it ready)."""
        if self._score is None:
            async with self._building():
                if self._score is None:
                    self._score = await asyncio.to_thread(self._build_score_stage)
        return self._score

    def _building(self) -> asyncio.Lock:
        """One lock for the lazily built stages: warm-up and a first event never build twice."""
        if self._build_lock is None:
            self._build_lock = asyncio.Lock()
        return self._build_lock

    def _build_score_stage(self) -> Any:
        from inference.scorer import Scorer
        from streams.score import ScoreStage

        assert self.settings is not None
        scorer = Scorer.from_settings(self.settings.model)
        log.info(
            "model loaded",
            version=scorer.model_version,
            provider=scorer.provider,
            sha256=scorer.model_sha256[:12],
        )
        return ScoreStage(scorer, self.sinks, self.sinks)

    def decide_stage(self) -> Any:
        if self._decide is None:
            from streams.decide_stage import DecideStage
            from streams.rules import LiveRules, RedisRuleStore, RuleSet

            assert self.settings is not None and self.redis is not None
            t = self.settings.thresholds
            live = LiveRules(
                RedisRuleStore(self.redis),
                RuleSet.from_table(t.rules),
                check_interval_s=t.check_interval_s,
            )
            self._decide = DecideStage(live, self.sinks, RedisRecent(self.redis, t.recent_max))
        return self._decide

    async def publish_stage(self) -> Any:
        if self._publish is None:
            async with self._building():
                if self._publish is None:
                    from streams.publishing import build_publish_stage

                    assert self.settings is not None and self.redis is not None
                    self._publish = await build_publish_stage(self.settings, self.redis, self.sinks)
        return self._publish


_runtime: Runtime | None = None


def build_runtime(settings: Settings) -> Runtime:
    redis = Redis.from_url(settings.redis_url)
    sinks = TopicSinks()
    normalizer = Normalizer(
        limits=settings.stream,
        seen=RedisSeenStore(redis, settings.stream.seen_ttl_s),
        statements=sinks,
        dead_letters=sinks,
        probe=KafkaOutputProbe(settings.bootstrap_servers, topics.STATEMENTS),
    )
    return Runtime(
        normalizer=normalizer,
        counters=RedisCounters(redis),
        settings=settings,
        redis=redis,
        sinks=sinks,
    )


def get_runtime(settings: Settings) -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(settings)
    return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime
