"""Fixtures for the sources tests: a recording ingest sink, a decoded Redis client on the
session Redis, a local feed server over a copy of the sample feeds, and the X fake in-process.

Import the fixtures you use into a test module (``from tests.fixtures_feeds import ...``).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from redis.asyncio import Redis

from config.settings import SourcesSettings
from ops.feedserver import DEFAULT_DIR, FeedServer

SAMPLES = DEFAULT_DIR


class RecordingSink:
    """An ``IngestSink`` that keeps what it was sent; ``fail_next`` makes calls raise first."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.fail_next = 0

    async def send_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("broker unavailable (test)")
        self.calls.append([dict(e) for e in events])

    @property
    def events(self) -> list[dict[str, Any]]:
        return [e for call in self.calls for e in call]

    def external_ids(self) -> list[str]:
        return [e["external_id"] for e in self.events]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def sredis(redis_url: str) -> AsyncIterator[Redis]:
    """The session Redis, emptied, with string replies (as the poller opens it)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    target = tmp_path / "feeds"
    shutil.copytree(SAMPLES, target)
    return target


@pytest.fixture
def feed_server(feed_dir: Path) -> Iterator[FeedServer]:
    server = FeedServer(feed_dir).start_background()
    try:
        yield server
    finally:
        server.stop()


def fast_settings(**overrides: Any) -> SourcesSettings:
    """Sources settings for tests: no real waiting between retries."""
    base: dict[str, Any] = {
        "backoff_base_s": 0.0,
        "backoff_max_s": 0.0,
        "http_timeout_s": 5.0,
        "max_rate_limit_wait_s": 5.0,
    }
    base.update(overrides)
    return SourcesSettings(**base)


class XFake:
    """The X API fake (ops/xfake) served in-process on a free loopback port."""

    def __init__(self, app: web.Application, runner: web.AppRunner, base_url: str) -> None:
        self.app = app
        self.runner = runner
        self.base_url = base_url

    @property
    def state(self) -> Any:
        from ops.xfake.server import STATE

        return self.app[STATE]

    @property
    def world(self) -> Any:
        return self.state.world


@pytest.fixture
async def xfake() -> AsyncIterator[XFake]:
    from ops.xfake.server import FakeConfig, build_app

    app = build_app(FakeConfig(validate=True))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield XFake(app, runner, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
