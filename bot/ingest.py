"""Where every source hands its statements to the pipeline: the ingest topic.

Sources emit raw JSON events (validated later by the ``normalize`` agent, so one rule set
applies to every source). ``send_many`` returns only after the broker acknowledged every event:
a source advances its cursor after that, which makes delivery at-least-once, and the
de-duplication in ``normalize`` turns it into exactly-once in effect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from streams import topics


class IngestSink(Protocol):
    """Accepts raw statement events; returns once they are durably accepted."""

    async def send_many(self, events: Sequence[Mapping[str, Any]]) -> None: ...


def event_key(event: Mapping[str, Any]) -> bytes:
    """Partition key: the same statement always lands on the same partition, so a duplicate is
    seen after its original by the same consumer."""
    return f"{event.get('source', '')}:{event.get('external_id', '')}".encode()


def encode_event(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


class KafkaIngestSink:
    """The real sink: an aiokafka producer with acks=all on the ingest topic."""

    def __init__(self, bootstrap_servers: list[str], topic: str = topics.INGEST) -> None:
        from aiokafka import AIOKafkaProducer

        self._topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            linger_ms=5,
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> KafkaIngestSink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send_raw(self, key: bytes | None, value: bytes) -> None:
        """Send bytes as they are (used by tests to inject malformed payloads)."""
        await (await self._producer.send(self._topic, value=value, key=key))

    async def send_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        futures = [
            await self._producer.send(self._topic, value=encode_event(e), key=event_key(e))
            for e in events
        ]
        await asyncio.gather(*futures)
