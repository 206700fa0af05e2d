"""``claimwatch sources``: what the operator sees for configured sources."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bot.status import RunResult, record_run
from config.settings import load_settings
from ops.sources import collect, render
from tests.fixtures_feeds import sredis

pytestmark = pytest.mark.integration
__all__ = ["sredis"]


async def test_sources_lists_configured_sources_with_status(sredis: Redis, redis_url: str) -> None:
    settings = load_settings(
        redis_url=redis_url,
        sources={
            "x_accounts": [{"username": "SenWhitfield"}],
            "feeds": [{"name": "hearings", "url": "http://127.0.0.1:1/feed.rss"}],
        },
    )
    ok = RunResult(emitted=3, skipped=2, cursor="1800000000000000009")
    await record_run(sredis, "x:senwhitfield", "x", ok, 0.2)
    bad = RunResult()
    bad.error("unreachable", "feed hearings: GET failed")
    await record_run(sredis, "feed:hearings", "feed", bad, 0.1)
    await record_run(sredis, "feed:hearings", "feed", RunResult(emitted=4), 0.1)

    rows = await collect(settings)
    assert [r["name"] for r in rows] == ["x:senwhitfield", "feed:hearings"]
    x, feed = rows
    assert (x["emitted"], x["skipped"], x["errored"]) == (3, 2, 0)
    assert x["cursor"] == "1800000000000000009"
    assert x["interval"] == "180s" and x["runs"] == 1
    assert (feed["emitted"], feed["errored"], feed["runs"]) == (4, 1, 2)
    assert feed["errors"] == {"unreachable": 1}
    assert feed["last_error"] == "unreachable: feed hearings: GET failed"
    table = render(rows)
    assert table.splitlines()[0].split()[:4] == ["name", "interval", "last_run_at", "cursor"]
    assert "x:senwhitfield" in table and "feed:hearings" in table


def test_render_without_sources() -> None:
    assert "no sources configured" in render([])
