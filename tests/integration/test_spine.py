"""The stream spine against the real broker (Tansu) and real Redis, with a real worker process.

Each test gets its own broker and Redis (``fresh_stack``) so topic contents are its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.ingest import KafkaIngestSink
from ops.localstack import stage_counts, start_worker
from ops.services import ServiceStack, stop_process
from ops.topic_reader import read_topic
from streams import topics
from streams.records import statement_id
from streams.topics import ensure_topics, topic_specs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def good(i: int) -> dict[str, object]:
    return {
        "schema_version": 1,
        "source": "replay",
        "kind": "transcript",
        "external_id": f"t:{i}",
        "author": f"Speaker {i % 7}",
        "text": f"Statement number {i}: taxes went up by {i} percent.",
        "said_at": "2024-03-01T12:00:00+00:00",
        "label": i % 2,
    }


MALFORMED: list[bytes] = [
    b"{this is not json",
    json.dumps({**good(0), "external_id": "bad-empty", "text": ""}).encode(),
    json.dumps({**good(0), "external_id": "bad-type", "text": 12345}).encode(),
    json.dumps({**good(0), "external_id": "bad-long", "text": "x" * 6000}).encode(),
    json.dumps({**good(0), "external_id": "bad-time", "said_at": "last tuesday"}).encode(),
]


async def wait_for_records(
    bootstrap: list[str],
    topic: str,
    n: int,
    timeout: float,
    worker: subprocess.Popen[bytes] | None = None,
) -> list:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    records: list = []  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        records = await read_topic(bootstrap, topic)
        if len(records) >= n:
            return records
        if worker is not None and worker.poll() is not None:
            raise AssertionError(f"worker exited with {worker.returncode}")
        await asyncio.sleep(0.5)
    raise AssertionError(f"{topic}: {len(records)} of {n} records after {timeout}s")


async def prepared(stack: ServiceStack) -> list[str]:
    bootstrap = [stack.broker.url.removeprefix("kafka://")]
    await ensure_topics(bootstrap, topic_specs(4))
    return bootstrap


async def test_thousand_statements_exactly_once_and_malformed_dead_lettered(
    fresh_stack: ServiceStack, tmp_path: Path
) -> None:
    bootstrap = await prepared(fresh_stack)
    events = [good(i) for i in range(1000)]
    duplicates = [good(i) for i in range(0, 1000, 5)]  # 200 re-sent upstream
    malformed = [MALFORMED[i % len(MALFORMED)] for i in range(100)]
    worker = start_worker(fresh_stack.env, tmp_path / "worker.log")
    try:
        async with KafkaIngestSink(bootstrap) as sink:
            await sink.send_many(events)
            await sink.send_many(duplicates)
            for raw in malformed:
                await sink.send_raw(None, raw)
        statements = await wait_for_records(bootstrap, topics.STATEMENTS, 1000, 90, worker)
        dead = await wait_for_records(bootstrap, topics.DEADLETTER, 100, 30, worker)
        await asyncio.sleep(3)  # anything extra (a duplicate) would show up by now
        statements = await read_topic(bootstrap, topics.STATEMENTS)
        dead = await read_topic(bootstrap, topics.DEADLETTER)
        counts = await stage_counts(fresh_stack.redis.url, "normalize")
    finally:
        stop_process(worker)

    ids = Counter(r.key.decode() for r in statements)
    expected = {statement_id("replay", f"t:{i}") for i in range(1000)}
    assert set(ids) == expected
    assert max(ids.values()) == 1, "a statement was emitted twice"
    assert len(dead) == 100
    reasons = Counter(json.loads(r.value)["reason"].split(":")[0] for r in dead)
    assert reasons == {
        "malformed_json": 20,
        "empty_text": 20,
        "non_text": 20,
        "too_long": 20,
        "bad_timestamp": 20,
    }
    for record in dead:
        body = json.loads(record.value)
        assert body["stage"] == "normalize" and body["raw"] and body["origin_offset"] is not None
    assert counts == {"emitted": 1000, "duplicate": 200, "deadlettered": 100}


async def test_sigkill_mid_stream_loses_nothing_and_duplicates_nothing(
    fresh_stack: ServiceStack, tmp_path: Path
) -> None:
    bootstrap = await prepared(fresh_stack)
    n = 1000
    log_path = tmp_path / "worker.log"
    worker = start_worker(fresh_stack.env, log_path)
    async with KafkaIngestSink(bootstrap) as sink:
        await sink.send_many([good(i) for i in range(n)])
    # Kill the worker mid-stream, without warning, once it has handled a good part.
    deadline = time.monotonic() + 90
    handled = 0
    while time.monotonic() < deadline:
        handled = sum((await stage_counts(fresh_stack.redis.url, "normalize")).values())
        if handled >= 250:
            break
        assert worker.poll() is None, log_path.read_text()[-2000:]
        await asyncio.sleep(0.05)
    assert 250 <= handled < n, f"could not kill mid-stream (handled {handled})"
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)

    restarted = start_worker(fresh_stack.env, log_path)
    try:
        await wait_for_records(bootstrap, topics.STATEMENTS, n, 120, restarted)
        await asyncio.sleep(3)
        statements = await read_topic(bootstrap, topics.STATEMENTS)
    finally:
        stop_process(restarted)
    ids = Counter(r.key.decode() for r in statements)
    assert len(ids) == n, "a statement was lost"
    assert max(ids.values()) == 1, f"emitted twice: {[k for k, v in ids.items() if v > 1][:5]}"


async def test_output_probe_finds_exactly_the_keys_written_since_a_time(
    fresh_stack: ServiceStack,
) -> None:
    from aiokafka import AIOKafkaProducer

    from streams.output_probe import KafkaOutputProbe

    bootstrap = await prepared(fresh_stack)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key in (b"a", b"b", b"c"):
            await producer.send_and_wait(topics.STATEMENTS, b"{}", key=key)
    finally:
        await producer.stop()
    probe = KafkaOutputProbe(bootstrap, topics.STATEMENTS)
    since = int(time.time() * 1000) - 60_000
    assert await probe.found({b"a", b"c", b"never-sent"}, since) == {b"a", b"c"}
    assert await probe.found(set(), since) == set()
