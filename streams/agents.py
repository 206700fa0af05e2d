"""Faust agents: thin loops that feed events to the stage logic and never lose one.

A transient failure (Redis or broker unreachable) retries the same event with backoff rather
than skipping it; an unexpected error on one event dead-letters that event with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from config.log import get_logger
from streams.app import app, ingest_topic, publish_topic, scored_topic, settings, statements_topic
from streams.dedup import Origin
from streams.normalize import dead_letter_for, utc_now
from streams.runtime import Runtime, get_runtime

log = get_logger(__name__)
T = TypeVar("T")
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
            return "deadlettered"


def batch_payload(batch: list[Any]) -> bytes:
    """A failed batch's dead letter keeps every statement, replayable as a JSON array."""
    return b"[" + b",".join(s.dumps() for s in batch) + b"]"


async def count(runtime: Runtime, stage: str, outcome: str, n: int = 1) -> None:
    try:
        await runtime.counters.count(stage, outcome, n)
    except TRANSIENT as exc:
        log.warning("counter update failed", stage=stage, error=repr(exc))


@app.agent(ingest_topic, name="normalize")
async def normalize(stream: Any) -> AsyncIterator[str]:
    async for event in stream.events():
        message = event.message
        origin = Origin(message.topic, message.partition, message.offset)
        runtime = get_runtime(settings)

        work = partial(runtime.normalizer.handle, event.value, origin, event.key)
        outcome = await handled("normalize", work, partial(bytes, event.value), event.key, origin)
        value = outcome if isinstance(outcome, str) else outcome.value
        await count(runtime, "normalize", value)
        yield value


@app.agent(statements_topic, name="score")
async def score(stream: Any) -> AsyncIterator[int]:
    m = settings.model
    async for batch in stream.take(m.max_batch, within=m.batch_within_ms / 1000):
        runtime = get_runtime(settings)
        stage = runtime.score_stage()

        raw = partial(batch_payload, batch)
        outcomes = await handled("score", partial(stage.handle_batch, batch), raw, None)
        if isinstance(outcomes, str):
            await count(runtime, "score", outcomes, len(batch))
        else:
            for outcome, n in outcomes.items():
                await count(runtime, "score", outcome, n)
        yield len(batch)


@app.agent(scored_topic, name="decide")
async def decide(stream: Any) -> AsyncIterator[int]:
    async for scored in stream:
        runtime = get_runtime(settings)
        stage = runtime.decide_stage()

        key = scored.statement.id.encode()
        result = await handled("decide", partial(stage.handle, scored), scored.dumps, key)
        outcome = "deadlettered" if isinstance(result, str) else ("publish" if result else "hold")
        await count(runtime, "decide", outcome)
        yield 0 if isinstance(result, str) else len(result)


@app.agent(publish_topic, name="publish")
async def publish(stream: Any) -> AsyncIterator[str]:
    async for request in stream:
        runtime = get_runtime(settings)
        stage = await runtime.publish_stage()

        key = f"{request.statement_id}:{request.channel}".encode()
        outcome = await handled("publish", partial(stage.handle, request), request.dumps, key)
        suffix = ".dry-run" if request.dry_run else ""
        await count(runtime, "publish", f"{request.channel}{suffix}:{outcome}")
        yield str(outcome)


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
