"""Faust agents: thin loops that feed events to the stage logic and never lose one.

A transient failure (Redis or broker unreachable) retries the same event with backoff rather
than skipping it; an unexpected error on one event dead-letters that event with the reason.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from config.log import get_logger
from streams.app import app, ingest_topic, publish_topic, scored_topic, settings, statements_topic
from streams.dedup import Origin
from streams.normalize import Normalizer, RawEvent, dead_letter_for, utc_now
from streams.outcomes import Outcome
from streams.runtime import Runtime, get_runtime

log = get_logger(__name__)
T = TypeVar("T")
B = TypeVar("B")
TRANSIENT = (RedisError, KafkaError, OSError, asyncio.TimeoutError)
MAX_BACKOFF_S = 30.0


async def handled(
    stage: str,
    work: Callable[[], Awaitable[T]],
    raw: Callable[[], bytes],
    key: bytes | None,
    origin: Origin | None = None,
) -> T | str:
    """Run one unit of stage work: retry transient failures, dead-letter anything else."""
    backoff = 0.5
    runtime = get_runtime(settings)
    while True:
        try:
            return await work()
        except TRANSIENT as exc:
            log.error(
                "transient failure; retrying the same event",
                stage=stage,
                error=repr(exc),
                retry_in_s=backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        except Exception as exc:
            log.exception("unexpected error; dead-lettering the event", stage=stage)
            record = dead_letter_for(
                stage, f"internal_error: {exc!r}", raw(), origin, key, utc_now()
            )
            await runtime.dead_letters.dead_letter(record, key)
            return Outcome.DEADLETTERED


async def handled_batch(
    stage: str,
    items: Sequence[B],
    work: Callable[[Sequence[B]], Awaitable[list[T]]],
    one: Callable[[B], Awaitable[T | str]],
) -> list[T | str]:
    """Run a batch of stage work: retry transient failures of the whole batch; on anything
    else, handle its items one by one so only the event that fails is dead-lettered."""
    backoff = 0.5
    while True:
        try:
            return list(await work(items))
        except TRANSIENT as exc:
            log.error(
                "transient failure; retrying the same batch",
                stage=stage,
                size=len(items),
                error=repr(exc),
                retry_in_s=backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        except Exception:
            log.exception("unexpected error in a batch; handling it event by event", stage=stage)
            return [await one(item) for item in items]


def batch_payload(batch: list[Any]) -> bytes:
    """A failed batch's dead letter keeps every statement, replayable as a JSON array."""
    return b"[" + b",".join(s.dumps() for s in batch) + b"]"


async def count_all(runtime: Runtime, stage: str, outcomes: Counter[str]) -> None:
    try:
        await runtime.counters.count_many(stage, outcomes)
    except TRANSIENT as exc:
        log.warning("counter update failed", stage=stage, error=repr(exc))


async def run_batch(
    stage: str,
    runtime: Runtime,
    items: Sequence[B],
    work: Callable[[Sequence[B]], Awaitable[list[T]]],
    one: Callable[[B], Awaitable[T | str]],
    outcome: Callable[[B, T | str], str],
) -> None:
    """A batch through a stage (``handled_batch``), then its outcomes counted in one write."""
    results = await handled_batch(stage, items, work, one)
    await count_all(
        runtime, stage, Counter(outcome(i, r) for i, r in zip(items, results, strict=True))
    )


def normalize_outcome(_: RawEvent, result: Outcome | str) -> str:
    return result if isinstance(result, str) else result.value


def decide_outcome(_: Any, result: list[Any] | str) -> str:
    if isinstance(result, str):
        return Outcome.DEADLETTERED
    return Outcome.PUBLISH if result else Outcome.HOLD


def publish_outcome(request: Any, result: str) -> str:
    return f"{request.channel}{'.dry-run' if request.dry_run else ''}:{result}"


async def normalize_one(normalizer: Normalizer, item: RawEvent) -> Outcome | str:
    work = partial(normalizer.handle, item.raw, item.origin, item.key)
    return await handled("normalize", work, partial(bytes, item.raw), item.key, item.origin)


async def decide_one(stage: Any, scored: Any) -> list[Any] | str:
    key = scored.statement.id.encode()
    return await handled("decide", partial(stage.handle, scored), scored.dumps, key)


def origin_of(event: Any) -> Origin:
    message = event.message
    return Origin(message.topic, message.partition, message.offset)


@app.agent(ingest_topic, name="normalize")
async def normalize(stream: Any) -> AsyncIterator[int]:
    s = settings.stream
    async for events in stream.take_events(s.batch_max, within=s.batch_within_ms / 1000):
        runtime = get_runtime(settings)
        normalizer = runtime.normalizer
        items = [RawEvent(bytes(e.value), origin_of(e), e.key) for e in events]
        one = partial(normalize_one, normalizer)
        await run_batch(
            "normalize", runtime, items, normalizer.handle_batch, one, normalize_outcome
        )
        yield len(items)


@app.agent(statements_topic, name="score", concurrency=settings.model.score_concurrency)
async def score(stream: Any) -> AsyncIterator[int]:
    m = settings.model
    async for batch in stream.take(m.take_max, within=m.batch_within_ms / 1000):
        runtime = get_runtime(settings)
        stage = await runtime.score_stage()

        raw = partial(batch_payload, batch)
        outcomes = await handled("score", partial(stage.handle_batch, batch), raw, None)
        counted = Counter({outcomes: len(batch)}) if isinstance(outcomes, str) else outcomes
        await count_all(runtime, "score", counted)
        yield len(batch)


@app.agent(scored_topic, name="decide")
async def decide(stream: Any) -> AsyncIterator[int]:
    s = settings.stream
    async for batch in stream.take(s.batch_max, within=s.batch_within_ms / 1000):
        runtime = get_runtime(settings)
        stage = runtime.decide_stage()
        one = partial(decide_one, stage)
        await run_batch("decide", runtime, batch, stage.handle_batch, one, decide_outcome)
        yield len(batch)


async def publish_one(stage: Any, request: Any) -> str:
    key = f"{request.statement_id}:{request.channel}".encode()
    return str(await handled("publish", partial(stage.handle, request), request.dumps, key))


@app.agent(publish_topic, name="publish")
async def publish(stream: Any) -> AsyncIterator[int]:
    s = settings.stream
    async for batch in stream.take(s.batch_max, within=s.batch_within_ms / 1000):
        runtime = get_runtime(settings)
        stage = await runtime.publish_stage()
        one = partial(publish_one, stage)
        await run_batch("publish", runtime, batch, stage.handle_batch, one, publish_outcome)
        yield len(batch)


@app.early_task
async def warm_up() -> None:
    """Load the model and build the publish stage as the worker starts, while the consumer
    group forms (~3 s), rather than after it or on the first events (~2 s more)."""
    runtime = get_runtime(settings)
    try:
        await runtime.score_stage()
        await runtime.publish_stage()
    except Exception as exc:  # the first event retries the same build and reports it
        log.error("warm-up failed; the stages load on first use", error=repr(exc))


@app.timer(interval=settings.ipfs.republish_interval_s, on_leader=True)
async def republish_feed() -> None:
    """IPNS records expire: re-sign the feed's name well inside their lifetime (one worker)."""
    stage = await get_runtime(settings).publish_stage()
    for publisher in stage.republishers:
        try:
            cid = await publisher.republish()
            if cid is not None:
                log.info("feed name republished", channel=publisher.channel, head=cid)
        except Exception as exc:  # the next tick tries again; the record is still valid
            log.warning("feed republish failed", channel=publisher.channel, error=str(exc))
