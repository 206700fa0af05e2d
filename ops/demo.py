"""``claimwatch demo``: the embedded default, end to end, with no credentials.

Starts a broker and Redis (or uses the configured ones), the js-ipfs node and the local X API
fake on loopback, a stream worker, then plays the bundled sample stream through the pipeline
as a live source: statements are scored, gated by the posting rules, carded, posted to the X
fake and added to the IPFS feed. It waits until every stage has handled everything, prints
what flowed where (read back from the broker, the X fake and the IPFS node), and stops all it
started. ``claimwatch replay`` is the evaluation path instead: it never publishes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx

from config.log import configure_logging, get_logger
from config.settings import get_settings
from ops.localstack import LocalStack, local_stack, start_worker, wait_for_pipeline
from ops.services import REPO_ROOT, RUN_DIR, ServiceError, stop_process
from ops.topic_reader import read_topic
from streams import topics
from streams.topics import ensure_topics, topic_specs

log = get_logger(__name__)
SAMPLE = REPO_ROOT / "ops" / "samples" / "liar_valid.jsonl"
DEMO_DIR = RUN_DIR / "demo"
# Local fakes only: lift our own posting caps so the whole sample can be published.
DEMO_ENV = {
    "CLAIMWATCH_X__HOURLY_CAP": "10000",
    "CLAIMWATCH_X__DAILY_CAP": "10000",
    "CLAIMWATCH_X__WINDOW_POSTS": "10000",
    "CLAIMWATCH_CARDS__OUT_DIR": str(DEMO_DIR / "cards"),
}


async def topic_summary(bootstrap: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for topic in topics.ALL_TOPICS:
        records = await read_topic(bootstrap, topic)
        entry: dict[str, Any] = {"records": len(records)}
        if topic == topics.DEADLETTER:
            reasons = collections.Counter(
                f"{body.get('stage')}/{body.get('reason', '?').split(':')[0]}"
                for body in (json.loads(r.value or b"{}") for r in records)
            )
            entry["reasons"] = dict(reasons.most_common())
        summary[topic] = entry
    return summary


async def publisher_summary(stack: LocalStack) -> list[str]:
    lines = []
    if stack.x_url:
        async with httpx.AsyncClient(timeout=10) as client:
            posts = (await client.get(f"{stack.x_url}/_fake/posts")).json()
        items = posts.get("posts", [])
        lines.append(f"X fake: {len(items)} posts by the bot account")
        for post in items[:2]:
            lines.append(f"    e.g. {str(post.get('text', ''))[:150]!r}")
    if stack.ipfs_url:
        from publishers.ipfs_client import HttpIpfsClient
        from publishers.ipfs_publisher import IpfsPublisher

        settings = get_settings().ipfs.model_copy(update={"api_url": stack.ipfs_url})
        api = HttpIpfsClient(stack.ipfs_url)
        publisher = IpfsPublisher(api, settings, keep_subscription=False)
        try:
            name = await publisher.ipns_name()
            head = await publisher.head()
        finally:
            await publisher.close()
            await api.aclose()
        if head is None:
            lines.append(f"IPFS feed: /ipns/{name} (empty)")
        else:
            cid, page = head
            lines.append(
                f"IPFS feed: /ipns/{name} -> head page {page.number} ({cid}), "
                f"{len(page.entries)} entries on it"
            )
    cards = sorted((DEMO_DIR / "cards").glob("*.png"))
    if cards:
        lines.append(f"cards: {len(cards)} PNGs in {DEMO_DIR / 'cards'} (e.g. {cards[0].name})")
    return lines


async def run_demo(sample: Path, limit: int | None, timeout: float, keep_running: bool) -> int:
    from bot.replay import replay_file

    settings = get_settings()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    # Each run starts with fresh services, so its cards start fresh too (the summary counts them).
    shutil.rmtree(DEMO_DIR / "cards", ignore_errors=True)
    with local_stack(DEMO_DIR) as stack:
        stack.extra_env.update(DEMO_ENV)
        specs = topic_specs(settings.partitions, settings.replication_factor)
        await ensure_topics(stack.bootstrap, specs)
        worker = start_worker(stack.env, DEMO_DIR / "worker.log")
        try:
            started = time.monotonic()
            sent = await replay_file(sample, stack.bootstrap, limit=limit, source="demo")
            counts = await wait_for_pipeline(stack, sent, timeout, worker, DEMO_DIR / "worker.log")
            elapsed = time.monotonic() - started
            topics_seen = await topic_summary(stack.bootstrap)
            publishers = await publisher_summary(stack)
            print("\nClaimWatch demo: what flowed where")
            print(
                f"  played {sent} statements from {sample.name} in {elapsed:.1f}s "
                f"({sent / elapsed:.1f} statements/s end to end)"
            )
            for stage, outcome in counts.items():
                print(f"  {stage:<9} {json.dumps(outcome, sort_keys=True)}")
            for topic, entry in topics_seen.items():
                print(f"  {topic:<24} {json.dumps(entry, sort_keys=True)}")
            for line in publishers:
                print(f"  {line}")
            print(f"  logs: {DEMO_DIR}")
            if keep_running:
                print(
                    f"\nStill running. In another shell:\n"
                    f"  CLAIMWATCH_IPFS__API_URL={stack.ipfs_url} "
                    ".venv/bin/claimwatch subscribe --history\n"
                    f"  CLAIMWATCH_REDIS_URL={stack.redis_url} .venv/bin/claimwatch recent\n"
                    f"Press Ctrl-C to stop."
                )
                while worker.poll() is None:
                    await asyncio.sleep(1)
        finally:
            stop_process(worker)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch demo", description=__doc__)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--limit", type=int, help="play only the first N statements")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave everything up after the summary, until Ctrl-C",
    )
    args = parser.parse_args(argv)
    configure_logging(get_settings())
    try:
        return asyncio.run(run_demo(args.sample, args.limit, args.timeout, args.keep_running))
    except KeyboardInterrupt:
        return 130
    except ServiceError as exc:
        log.error("demo failed", error=str(exc))
        return 1
