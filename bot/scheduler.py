"""Runs every source on its interval with APScheduler's asyncio scheduler.

One job per source with ``max_instances=1`` (a slow run is never overlapped by the next) and
jitter (many sources do not hit their hosts in lockstep). ``run_guarded`` turns any failure
into a logged error and a Redis counter: a source can fail, the poller never does. On
SIGTERM/SIGINT the scheduler stops taking new runs and waits a grace period for runs in
flight; a run cut short loses nothing because cursors move only after the broker acked.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.status import AsyncRedis, RunResult, Source, SourceError, record_run
from config.log import get_logger

log = get_logger(__name__)


async def run_guarded(source: Source, redis: AsyncRedis) -> RunResult:
    """One run of one source; never raises (except cancellation)."""
    started = time.monotonic()
    try:
        result = await source.run_once()
    except asyncio.CancelledError:
        raise
    except SourceError as exc:
        result = RunResult()
        result.error(exc.reason, str(exc))
        log.error("source run failed", source=source.name, reason=exc.reason, error=str(exc))
    except Exception as exc:
        result = RunResult()
        reason = getattr(exc, "reason", None) or type(exc).__name__
        result.error(str(reason), str(exc))
        log.error("source run failed", source=source.name, reason=reason, error=repr(exc))
    try:
        await record_run(redis, source.name, source.kind, result, time.monotonic() - started)
    except Exception as exc:  # Redis down: the next run reports again
        log.error("source status not recorded", source=source.name, error=repr(exc))
    return result


class SourceScheduler:
    """The long-running poller: one interval job per source."""

    def __init__(
        self, sources: Sequence[Source], redis: AsyncRedis, *, jitter_s: float = 0.0
    ) -> None:
        self.sources = list(sources)
        self._redis = redis
        self._jitter = jitter_s
        self._inflight: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()

    async def _job(self, source: Source) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await run_guarded(source, self._redis)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for source in self.sources:
            scheduler.add_job(
                self._job,
                IntervalTrigger(seconds=source.interval_s, jitter=self._jitter or None),
                args=[source],
                id=source.name,
                name=source.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(source.interval_s)),
                next_run_time=now,  # first run at start-up, then every interval
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("poller started", sources=[s.name for s in self.sources])

    def request_stop(self) -> None:
        self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def shutdown(self, grace_s: float) -> None:
        """Stop scheduling, let runs in flight finish for ``grace_s``, then cancel them."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            # Pause first: APScheduler's shutdown cancels the job tasks it still runs.
            scheduler.pause()
        pending = set(self._inflight)
        if pending:
            log.info("waiting for runs in flight", runs=len(pending), grace_s=grace_s)
            _, still = await asyncio.wait(pending, timeout=grace_s)
            for task in still:
                task.cancel()
            if still:
                await asyncio.gather(*still, return_exceptions=True)
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        log.info("poller stopped")

    async def run_until_signal(self, grace_s: float) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        self.start()
        try:
            await self.wait_stopped()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await self.shutdown(grace_s)
