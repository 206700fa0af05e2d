"""``claimwatch health`` against real services: up when they are, down (exit 1) when not."""

from __future__ import annotations

import pytest

from bot.ingest import KafkaIngestSink
from config.settings import load_settings
from ops.health import check
from ops.services import ServiceStack, free_port
from streams.topics import ensure_topics, topic_specs

pytestmark = pytest.mark.integration


async def test_health_reports_services_counters_and_lag(
    services: ServiceStack, bootstrap: list[str]
) -> None:
    await ensure_topics(bootstrap, topic_specs(4))
    async with KafkaIngestSink(bootstrap) as sink:  # nobody consumes these: they are lag
        for i in range(3):
            await sink.send_raw(None, b'{"health": %d}' % i)
    closed = f"http://127.0.0.1:{free_port()}"
    settings = load_settings(
        broker_url=services.broker.url, redis_url=services.redis.url, ipfs={"api_url": closed}
    )
    report = await check(settings)
    assert report["ok"] is True
    assert report["broker"]["ok"] and report["redis"]["ok"]
    assert report["ipfs"]["ok"] is False and report["ipfs"]["error"]
    assert set(report["counters"]) == {"normalize", "score", "decide", "publish"}
    assert set(report["lag"]) == {
        "claimwatch.ingest",
        "claimwatch.statements",
        "claimwatch.scored",
        "claimwatch.publish",
    }
    assert report["lag"]["claimwatch.ingest"] >= 3


async def test_health_is_not_ok_when_redis_is_down(services: ServiceStack) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    report = await check(load_settings(broker_url=services.broker.url, redis_url=dead))
    assert report["ok"] is False and report["redis"]["ok"] is False
