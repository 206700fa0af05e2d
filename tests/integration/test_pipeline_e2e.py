"""The whole pipeline with every real part: broker, Redis, a worker process with the shipped
model, the js-ipfs node and the local X API fake (spec validation on).

A statement played as a live source is carded, posted once and added to the IPFS feed once;
a replayed statement goes through the same stages but is never posted anywhere.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.ingest import KafkaIngestSink
from ops.localstack import LocalStack, local_stack, start_worker, wait_for_pipeline
from ops.services import stop_process
from ops.subscribe import history
from ops.topic_reader import read_topic
from publishers.ipfs_client import HttpIpfsClient
from streams import topics
from streams.records import statement_id
from streams.topics import ensure_topics, topic_specs

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

# Publish every transcript statement on both channels, whatever its score.
OPEN = {"enabled": True, "predicted_false_only": False, "min_bucket_ppv": None}
RULES = {"x": {"transcript": OPEN}, "ipfs": {"transcript": OPEN}}
SAMPLE = Path("ops/samples/liar_valid.jsonl")


def sample_events(source: str, n: int, offset: int) -> list[dict[str, object]]:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines[offset:] if '"transcript"' in line][:n]
    for event in events:
        event["source"] = source
    return events


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log_dir = tmp_path_factory.mktemp("e2e")
    with local_stack(log_dir, use_external=False) as running:
        running.extra_env.update(
            {
                "CLAIMWATCH_THRESHOLDS__RULES": json.dumps(RULES),
                "CLAIMWATCH_CARDS__OUT_DIR": str(log_dir / "cards"),
                "CLAIMWATCH_X__HOURLY_CAP": "1000",
            }
        )
        yield running


@pytest.fixture(scope="module")
async def worker(stack: LocalStack) -> AsyncIterator[Path]:
    await ensure_topics(stack.bootstrap, topic_specs(4))
    log_path = stack.log_dir / "worker.log"
    proc = start_worker(stack.env, log_path)
    try:
        yield log_path
    finally:
        stop_process(proc)
    assert proc.returncode in (0, -15), log_path.read_text()[-3000:]


async def play(stack: LocalStack, events: list[dict[str, object]], already: int) -> None:
    async with KafkaIngestSink(stack.bootstrap) as sink:
        await sink.send_many(events)
    dummy = type("W", (), {"poll": staticmethod(lambda: None), "returncode": None})()
    await wait_for_pipeline(stack, already + len(events), 240, dummy, stack.log_dir / "worker.log")


async def x_posts(stack: LocalStack) -> list[dict[str, object]]:
    async with httpx.AsyncClient(timeout=10) as client:
        return list((await client.get(f"{stack.x_url}/_fake/posts")).json()["posts"])


async def feed_ids(stack: LocalStack) -> list[str]:
    from config.settings import get_settings
    from publishers.ipfs_publisher import IpfsPublisher

    assert stack.ipfs_url
    api = HttpIpfsClient(stack.ipfs_url)
    settings = get_settings().ipfs.model_copy(update={"api_url": stack.ipfs_url})
    publisher = IpfsPublisher(api, settings, keep_subscription=False)
    try:
        head = await publisher.head()
        if head is None:
            return []
        return [r.prediction["statement"]["id"] async for r in history(api, head[0])]
    finally:
        await publisher.close()
        await api.aclose()


async def test_live_statements_are_carded_posted_and_fed_exactly_once(
    stack: LocalStack, worker: Path
) -> None:
    events = sample_events("demo", 6, 0)
    await play(stack, events, 0)
    ids = {statement_id("demo", str(e["external_id"])) for e in events}

    posts = await x_posts(stack)
    assert len(posts) == 6
    assert all(p["media"] and p["media"][0]["alt_text"] for p in posts), "card missing"
    markers = Counter(str(p["text"]).rsplit("#cw", 1)[1][:10] for p in posts)
    assert set(markers) == {i[:10] for i in ids} and max(markers.values()) == 1

    assert Counter(await feed_ids(stack)) == Counter(ids)
    published = [json.loads(r.value) for r in await read_topic(stack.bootstrap, topics.PUBLISHED)]
    assert Counter(p["channel"] for p in published) == {"x": 6, "ipfs": 6}
    assert not any(p["dry_run"] for p in published)
    assert await read_topic(stack.bootstrap, topics.DEADLETTER) == []
    assert len(list((stack.log_dir / "cards").glob("*.png"))) == 6

    # The same statements again (a source re-sending them): nothing new anywhere.
    await play(stack, events, 6)
    await asyncio.sleep(2)
    assert len(await x_posts(stack)) == 6
    assert len(await feed_ids(stack)) == 6


async def test_replay_never_posts(stack: LocalStack, worker: Path) -> None:
    before_posts, before_feed = len(await x_posts(stack)), len(await feed_ids(stack))
    events = sample_events("replay", 5, 200)
    await play(stack, events, 12)
    assert len(await x_posts(stack)) == before_posts
    assert len(await feed_ids(stack)) == before_feed
    published = [json.loads(r.value) for r in await read_topic(stack.bootstrap, topics.PUBLISHED)]
    replayed = {statement_id("replay", str(e["external_id"])) for e in events}
    rehearsed = [p for p in published if p["statement_id"] in replayed]
    assert len(rehearsed) == 10 and all(p["dry_run"] for p in rehearsed)
