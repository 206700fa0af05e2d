"""The poller's scheduler: no overlapping runs, failures contained, clean SIGTERM shutdown."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from redis.asyncio import Redis

from bot.scheduler import SourceScheduler
from bot.status import RunResult, SourceError
from streams import keys
from tests.fixtures_feeds import sredis

pytestmark = pytest.mark.integration
__all__ = ["sredis"]


class SlowSource:
    kind = "test"

    def __init__(self, name: str, interval_s: float, duration_s: float) -> None:
        self.name = name
        self.interval_s = interval_s
        self.duration_s = duration_s
        self.active = 0
        self.max_active = 0
        self.started = 0
        self.finished = 0

    async def run_once(self) -> RunResult:
        self.started += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.duration_s)
        finally:
            self.active -= 1
        self.finished += 1
        return RunResult(emitted=1, cursor=str(self.finished))


class FailingSource:
    kind = "test"
    name = "broken"
    interval_s = 0.05

    def __init__(self) -> None:
        self.calls = 0

    async def run_once(self) -> RunResult:
        self.calls += 1
        if self.calls % 2:
            raise SourceError("feed is down", reason="unreachable")
        raise ValueError("unexpected bug")


async def test_runs_never_overlap_and_failures_are_contained(sredis: Redis) -> None:
    slow = SlowSource("slow", interval_s=0.05, duration_s=0.3)
    broken = FailingSource()
    scheduler = SourceScheduler([slow, broken], sredis)
    scheduler.start()
    await asyncio.sleep(1.0)
    await scheduler.shutdown(grace_s=2.0)
    assert slow.max_active == 1 and slow.started >= 2
    assert slow.finished == slow.started  # the in-flight run was allowed to finish
    assert broken.calls >= 3  # it keeps being scheduled after raising
    status = await sredis.hgetall(keys.source_status("broken"))
    assert int(status["errored"]) == broken.calls
    assert int(status["error:unreachable"]) >= 1 and int(status["error:ValueError"]) >= 1
    slow_status = await sredis.hgetall(keys.source_status("slow"))
    assert int(slow_status["emitted"]) == slow.finished
    assert slow_status["cursor"] == str(slow.finished)


async def test_sigterm_stops_cleanly_after_the_run_in_flight(sredis: Redis) -> None:
    slow = SlowSource("slow", interval_s=60, duration_s=0.4)
    scheduler = SourceScheduler([slow], sredis)
    task = asyncio.create_task(scheduler.run_until_signal(grace_s=5.0))
    for _ in range(100):
        if slow.started:
            break
        await asyncio.sleep(0.01)
    assert slow.started == 1 and slow.finished == 0
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, timeout=5)
    assert slow.finished == 1
    assert (await sredis.hgetall(keys.source_status("slow")))["runs"] == "1"


async def test_shutdown_cancels_runs_beyond_the_grace_period(sredis: Redis) -> None:
    slow = SlowSource("stuck", interval_s=60, duration_s=30)
    scheduler = SourceScheduler([slow], sredis)
    scheduler.start()
    for _ in range(100):
        if slow.started:
            break
        await asyncio.sleep(0.01)
    await scheduler.shutdown(grace_s=0.1)
    assert slow.active == 0 and slow.finished == 0
