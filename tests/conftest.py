"""Shared fixtures: real services started by the project's own code, on free loopback ports.

``services`` (session): one broker + one Redis for the whole run. ``fresh_stack``: a private
broker + Redis for tests that must see empty topics (Tansu starts in well under a second).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from ops.services import ServiceStack, start_stack

# Tests never use a developer's configured services or local override file.
for name in ("CLAIMWATCH_BROKER_URL", "CLAIMWATCH_REDIS_URL", "CLAIMWATCH_CONFIG_FILE"):
    os.environ.pop(name, None)
os.environ.setdefault("CLAIMWATCH_ENVIRONMENT", "test")


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceStack]:
    stack = start_stack(log_dir=tmp_path_factory.mktemp("services"), use_external=False)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def redis_url(services: ServiceStack) -> str:
    return services.redis.url


@pytest.fixture(scope="session")
def bootstrap(services: ServiceStack) -> list[str]:
    return [services.broker.url.removeprefix("kafka://")]


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """A client on the session Redis, emptied before each test that asks for it."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[ServiceStack]:
    stack = start_stack(log_dir=tmp_path, use_external=False)
    try:
        yield stack
    finally:
        stack.stop()
