"""``claimwatch demo``: the embedded default, end to end, with no credentials.

Starts the services (or uses the configured ones), a stream worker, replays the bundled
sample stream, waits until every statement has been handled, prints what flowed where
(read back from the broker itself), and stops everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from config.log import configure_logging, get_logger
from config.settings import get_settings
from ops.services import REPO_ROOT, RUN_DIR, ServiceError, running_stack
from ops.topic_reader import read_topic
from streams import keys, topics
from streams.topics import ensure_topics, topic_specs

log = get_logger(__name__)
SAMPLE = REPO_ROOT / "ops" / "samples" / "liar_valid.jsonl"


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "ops", "worker"], env={**os.environ, **env},
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


async def stage_counts(redis_url: str, stage: str) -> dict[str, int]:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        raw = await client.hgetall(keys.counters(stage))
        return {k.decode(): int(v) for k, v in raw.items()}
    finally:
        await client.aclose()


async def wait_for_stage(redis_url: str, stage: str, expected: int, timeout: float,
                         worker: subprocess.Popen[bytes]) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await stage_counts(redis_url, stage)
        if sum(counts.values()) >= expected:
            return counts
        if worker.poll() is not None:
            raise ServiceError(f"worker exited with {worker.returncode}; see .run/worker.log")
        await asyncio.sleep(0.5)
    raise ServiceError(f"{stage}: handled {sum(counts.values())} of {expected} in {timeout:.0f}s")


async def summarize(bootstrap: list[str]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for topic in topics.ALL_TOPICS:
        records = await read_topic(bootstrap, topic)
        entry: dict[str, object] = {"records": len(records)}
        if topic == topics.DEADLETTER:
            reasons = collections.Counter(
                json.loads(r.value or b"{}").get("reason", "?").split(":")[0] for r in records
            )
            entry["reasons"] = dict(reasons.most_common())
        if topic == topics.STATEMENTS:
            ids = [r.key for r in records]
            entry["distinct_ids"] = len(set(ids))
        summary[topic] = entry
    return summary


async def run_demo(sample: Path, limit: int | None, timeout: float) -> int:
    from bot.replay import read_lines, replay_file

    settings = get_settings()
    with running_stack() as stack:
        bootstrap = [stack.broker.url.removeprefix("kafka://")]
        await ensure_topics(bootstrap, topic_specs(settings.partitions, settings.replication_factor))
        worker = start_worker(stack.env, RUN_DIR / "worker.log")
        try:
            expected = sum(1 for _ in read_lines(sample))
            expected = min(expected, limit) if limit else expected
            started = time.monotonic()
            sent = await replay_file(sample, bootstrap, limit=limit)
            normalize = await wait_for_stage(stack.redis.url, "normalize", sent, timeout, worker)
            elapsed = time.monotonic() - started
            summary = await summarize(bootstrap)
        finally:
            stop_process(worker)
    print("\nClaimWatch demo: what flowed where")
    print(f"  replayed {sent} statements from {sample.name} in {elapsed:.1f}s")
    print(f"  normalize outcomes: {json.dumps(normalize, sort_keys=True)}")
    for topic, entry in summary.items():
        print(f"  {topic:<24} {json.dumps(entry, sort_keys=True)}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch demo", description=__doc__)
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--limit", type=int, help="replay only the first N statements")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    configure_logging(get_settings())
    try:
        return asyncio.run(run_demo(args.sample, args.limit, args.timeout))
    except ServiceError as exc:
        log.error("demo failed", error=str(exc))
        return 1
