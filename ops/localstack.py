"""Everything the embedded default runs on, started together on free loopback ports:
broker + Redis (``ops.services``), the js-ipfs node and the local X API fake, plus workers.

Used by ``claimwatch demo``, ``claimwatch replay --evaluate`` and the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from config.log import get_logger
from ops.services import (
    RUN_DIR,
    ServiceError,
    ServiceStack,
    free_port,
    spawn,
    start_stack,
    stop_process,
    wait_until,
)
from ops.topic_reader import read_topic
from streams import keys, topics

log = get_logger(__name__)

# The fake's fixed dev credentials: the demo's X publisher signs with these.
FAKE_X_CREDENTIALS = {
    "CLAIMWATCH_X_API_KEY": "fake-consumer-key",
    "CLAIMWATCH_X_API_SECRET": "fake-consumer-secret",
    "CLAIMWATCH_X_ACCESS_TOKEN": "fake-access-token",
    "CLAIMWATCH_X_ACCESS_TOKEN_SECRET": "fake-access-token-secret",
    "CLAIMWATCH_X_BEARER_TOKEN": "fake-bearer-token",
}


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "ops", "worker"], log_path, env)


def start_xfake(log_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from ops.xfake.spec import SpecNotFound, spec_path

    port = free_port()
    argv = [sys.executable, "-m", "ops", "xfake", "--port", str(port)]
    try:
        spec_path()
        argv.append("--validate")  # every request and response checked against the X spec
    except SpecNotFound as exc:
        log.warning("X fake runs without spec validation", reason=str(exc))
    proc = spawn(argv, log_dir / "xfake.log", FAKE_X_CREDENTIALS)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if proc.poll() is not None:
            raise ServiceError(f"X fake exited with {proc.returncode}; see {log_dir / 'xfake.log'}")
        try:
            return httpx.get(f"{url}/_fake/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 30, "X API fake")
    return proc, url


@dataclass
class LocalStack:
    services: ServiceStack
    x_url: str | None = None
    ipfs_url: str | None = None
    log_dir: Path = RUN_DIR
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def bootstrap(self) -> list[str]:
        return [self.services.broker.url.removeprefix("kafka://")]

    @property
    def redis_url(self) -> str:
        return self.services.redis.url

    @property
    def env(self) -> dict[str, str]:
        env = dict(self.services.env)
        if self.x_url:
            env.update(FAKE_X_CREDENTIALS)
            env["CLAIMWATCH_X__API_BASE_URL"] = self.x_url
        if self.ipfs_url:
            env["CLAIMWATCH_IPFS__API_URL"] = self.ipfs_url
        env.update(self.extra_env)
        return env


@contextlib.contextmanager
def local_stack(
    log_dir: Path = RUN_DIR, *, with_publishers: bool = True, use_external: bool = True
) -> Iterator[LocalStack]:
    """Broker + Redis always; the IPFS node and X fake when ``with_publishers``."""
    from ops.ipfs_node import IpfsNode

    services = start_stack(log_dir, use_external=use_external)
    xfake: subprocess.Popen[bytes] | None = None
    node: IpfsNode | None = None
    try:
        stack = LocalStack(services, log_dir=log_dir)
        if with_publishers:
            xfake, stack.x_url = start_xfake(log_dir)
            repo = log_dir / f"ipfs-{os.getpid()}"
            node = IpfsNode(repo=repo, log_file=log_dir / "ipfs.log")
            node.start(timeout_s=90)
            stack.ipfs_url = node.api_url
            log.info("local publishers ready", x_fake=stack.x_url, ipfs=stack.ipfs_url)
        yield stack
    finally:
        if node is not None:
            node.stop()
        if xfake is not None:
            stop_process(xfake)
        services.stop()


STAGES = ("normalize", "score", "decide", "publish")


async def stage_counts(redis_url: str, stage: str) -> dict[str, int]:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        raw = await client.hgetall(keys.counters(stage))
        return {k.decode(): int(v) for k, v in raw.items()}
    finally:
        await client.aclose()


async def pipeline_counts(stack: LocalStack) -> dict[str, dict[str, int]]:
    """Every stage's counters in one round trip."""
    from redis.asyncio import Redis

    client = Redis.from_url(stack.redis_url)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for stage in STAGES:
                pipe.hgetall(keys.counters(stage))
            raws = await pipe.execute()
    finally:
        await client.aclose()
    return {
        stage: {k.decode(): int(v) for k, v in raw.items()}
        for stage, raw in zip(STAGES, raws, strict=True)
    }


def settled(counts: dict[str, dict[str, int]], sent: int, requests: int | None) -> bool:
    """Pure: has every stage handled everything the previous stage passed on?"""
    normalize, score, decide, publish = (counts[s] for s in STAGES)
    if sum(normalize.values()) < sent:
        return False
    if sum(score.values()) < normalize.get("emitted", 0):
        return False
    if sum(decide.values()) < score.get("scored", 0):
        return False
    return requests is not None and sum(publish.values()) >= requests


async def wait_for_pipeline(
    stack: LocalStack,
    sent: int,
    timeout: float,
    worker: subprocess.Popen[bytes],
    log_path: Path,
    progress: Any = None,
) -> dict[str, dict[str, int]]:
    deadline = time.monotonic() + timeout
    counts: dict[str, dict[str, int]] = {}
    while time.monotonic() < deadline:
        counts = await pipeline_counts(stack)
        if progress is not None:
            progress.n = sum(counts["decide"].values()) + counts["score"].get("deadlettered", 0)
            progress.refresh()
        # Reading the publish topic costs CPU the pipeline needs: only once the rest settled.
        upstream_done = settled(counts, sent, requests=0)
        requests = len(await read_topic(stack.bootstrap, topics.PUBLISH)) if upstream_done else None
        if settled(counts, sent, requests):
            return counts
        if worker.poll() is not None:
            raise ServiceError(f"worker exited with {worker.returncode}; see {log_path}")
        await asyncio.sleep(0.25)  # cheap: one Redis round trip a poll
    raise ServiceError(f"pipeline not settled after {timeout:.0f}s: {json.dumps(counts)}")
