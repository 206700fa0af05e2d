"""Faust agents: thin loops that feed events to the stage logic and never lose one.

A transient failure (Redis or broker unreachable) retries the same event with backoff rather
than skipping it; an unexpected error on one event dead-letters that event with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from config.log import get_logger
from streams.app import app, ingest_topic, settings
from streams.dedup import Origin
from streams.normalize import STAGE as NORMALIZE, dead_letter_for, utc_now
from streams.runtime import get_runtime

log = get_logger(__name__)
TRANSIENT = (RedisError, KafkaError, OSError, asyncio.TimeoutError)
MAX_BACKOFF_S = 30.0


@app.agent(ingest_topic, name="normalize")
async def normalize(stream: Any) -> AsyncIterator[str]:
    async for event in stream.events():
        message = event.message
        origin = Origin(message.topic, message.partition, message.offset)
        runtime = get_runtime(settings)
        backoff = 0.5
        while True:
            try:
                outcome = (await runtime.normalizer.handle(event.value, origin, event.key)).value
                break
            except TRANSIENT as exc:
                log.error("normalize: transient failure, retrying the same event",
                          error=repr(exc), offset=origin.offset, retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            except Exception as exc:
                log.exception("normalize: unexpected error; dead-lettering the event",
                              offset=origin.offset)
                record = dead_letter_for(NORMALIZE, f"internal_error: {exc!r}", event.value,
                                         origin, event.key, utc_now())
                await runtime.normalizer.dead_letters.dead_letter(record, event.key)
                outcome = "deadlettered"
                break
        try:
            await runtime.counters.count(NORMALIZE, outcome)
        except TRANSIENT as exc:
            log.warning("counter update failed", error=repr(exc))
        yield outcome
