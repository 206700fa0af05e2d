"""The publish runner: ledger, reconciliation and retries around any channel's Publisher.

``handle`` makes one step towards "published exactly once" and says where things stand:

- ``done``: published now (or found already published by reconciliation), recorded;
- ``skipped_already_done``: the ledger already had it;
- ``dead``: it can never be published (final error or out of attempts); dead-letter it;
- ``retry_later``: not yet (rate limit, transient failure, another worker holds the lease).

A consumer commits its offset only after done, skipped_already_done or dead, and on
retry_later waits ``retry_after_s`` and calls again (``handle_until_settled`` does that).
Dry runs use their own ledger channel (``x.dry-run``) so they never block a real publish; a
channel rehearses them with ``publish_dry_run(prediction, card)`` if it has one (X renders the
post), otherwise the runner records them without touching the channel.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from config.log import get_logger
from publishers import ledger
from publishers.base import CardImage, Publisher, PublishError, PublishOutcome
from publishers.ledger import Conflict, LedgerEntry, State
from publishers.ledger_store import LedgerStore
from publishers.prediction import build_prediction
from streams.records import PublishRequest

log = get_logger(__name__)
DRY_RUN_SUFFIX = ".dry-run"

Status = Literal["done", "dead", "skipped_already_done", "retry_later"]


@dataclass(frozen=True)
class RunnerResult:
    status: Status
    statement_id: str
    channel: str
    dry_run: bool = False
    external_id: str | None = None
    cid: str | None = None
    url: str | None = None
    retry_after_s: float | None = None
    error: str | None = None
    attempts: int = 0

    @property
    def settled(self) -> bool:
        """True when the consumer may commit its offset."""
        return self.status != "retry_later"


@dataclass(frozen=True)
class PublishJob:
    statement_id: str
    channel: str
    dry_run: bool
    prediction: dict[str, Any]


def job_from_request(request: PublishRequest | dict[str, Any]) -> PublishJob:
    """Accept the PublishRequest record or its JSON dict; the prediction document is the one
    every channel publishes (``publishers.prediction.build_prediction``)."""
    record = (
        request if isinstance(request, PublishRequest) else PublishRequest.from_data(dict(request))
    )
    return PublishJob(
        statement_id=str(record.statement_id),
        channel=str(record.channel),
        dry_run=bool(record.dry_run),
        prediction=build_prediction(record.scored),
    )


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class PublishRunner:
    def __init__(
        self,
        publisher: Publisher,
        store: LedgerStore,
        *,
        lease_s: float = 120.0,
        max_attempts: int = 5,
        backoff_base_s: float = 2.0,
        backoff_max_s: float = 300.0,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.publisher = publisher
        self._store = store
        self._lease_s = lease_s
        self._max_attempts = max_attempts
        self._backoff = (backoff_base_s, backoff_max_s)
        self.owner = owner or default_owner()
        self._clock = clock
        self._sleep = sleep

    async def handle(
        self, request: PublishRequest | dict[str, Any], card: CardImage | None
    ) -> RunnerResult:
        job = job_from_request(request)
        if job.channel != self.publisher.channel:
            raise ValueError(f"{job.channel} request given to the {self.publisher.channel} runner")
        channel = job.channel + (DRY_RUN_SUFFIX if job.dry_run else "")
        sid = job.statement_id
        bound = log.bind(statement_id=sid, channel=channel)
        if job.dry_run:
            [rehearsed] = await self._rehearse_jobs([(job, card)], channel)
            if rehearsed is not None:
                return rehearsed

        entry = await self._store.get(channel, sid)
        step = ledger.plan(entry, self._clock())
        if step.action == "skip_done" and entry is not None:
            return self._result("skipped_already_done", job, entry)
        if step.action == "dead" and entry is not None:
            return self._result("dead", job, entry)
        if step.action == "wait":
            return self._later(job, step.wait_s, entry, "another attempt holds or delays it")
        if step.action == "reconcile" and not job.dry_run:
            try:
                existing = await self.publisher.find_existing(job.prediction)
            except Exception as exc:  # cannot know whether it exists: never post blindly
                bound.warning("reconcile failed", error=str(exc))
                wait = getattr(exc, "retry_after_s", None) or self._backoff_s(entry)
                return self._later(job, wait, entry, f"reconcile failed: {exc}")
            if existing is not None:
                bound.info("reconciled: already published", external_id=existing.external_id)
                return self._result("done", job, await self._record(channel, sid, existing))

        try:
            entry = await self._store.transition(
                channel,
                sid,
                lambda e: ledger.claim(
                    e,
                    channel=channel,
                    statement_id=sid,
                    owner=self.owner,
                    now=self._clock(),
                    lease_s=self._lease_s,
                    max_attempts=self._max_attempts,
                ),
            )
        except Conflict as exc:
            return self._later(job, 1.0, entry, str(exc))
        if entry.state is State.DEAD:
            bound.warning("dead: out of attempts", error=entry.error)
            return self._result("dead", job, entry)

        try:
            outcome = await self._publish(job, card)
        except Exception as exc:
            return await self._failed(job, channel, entry, exc)
        entry = await self._record(channel, sid, outcome)
        bound.info("published", external_id=outcome.external_id, attempts=entry.attempts)
        return self._result("done", job, entry)

    async def rehearse_batch(
        self,
        requests: Sequence[PublishRequest | dict[str, Any]],
        cards: Sequence[CardImage | None],
    ) -> list[RunnerResult | None]:
        """Dry-run requests of this channel, rehearsed and recorded in one Redis round trip
        (a replay's publish stage is nearly all this). None for a request where that is not
        the whole story; ``handle_until_settled`` then decides it, as for one request."""
        jobs = [job_from_request(r) for r in requests]
        for job in jobs:
            if job.channel != self.publisher.channel or not job.dry_run:
                raise ValueError(f"rehearse_batch takes dry runs of {self.publisher.channel}")
        channel = self.publisher.channel + DRY_RUN_SUFFIX
        return await self._rehearse_jobs(list(zip(jobs, cards, strict=True)), channel)

    async def _rehearse_jobs(
        self, items: Sequence[tuple[PublishJob, CardImage | None]], channel: str
    ) -> list[RunnerResult | None]:
        """A dry run touches nothing outside, so it needs no lease: rehearse, then record it
        done with a write that only creates the entry (one round trip for the whole batch).
        None where the ledger already has the entry (a redelivery, or the same request twice
        in a batch) or the rehearsal failed: the full path then decides, exactly as for a live
        request (skipped, or retried under a lease and reported)."""
        results: list[RunnerResult | None] = [None] * len(items)
        entries: list[LedgerEntry] = []
        at: list[int] = []
        for i, (job, card) in enumerate(items):
            try:
                outcome = await self._publish(job, card)
            except Exception:  # the full path retries it under a lease and reports the failure
                continue
            entries.append(
                ledger.complete(
                    None,
                    channel=channel,
                    statement_id=job.statement_id,
                    external_id=outcome.external_id,
                    now=self._clock(),
                    cid=outcome.cid,
                    url=outcome.url,
                )
            )
            at.append(i)
        created = await self._store.create_many(entries)
        for i, entry, new in zip(at, entries, created, strict=True):
            if new:
                job = items[i][0]
                log.debug(
                    "rehearsed",
                    statement_id=job.statement_id,
                    channel=channel,
                    external_id=entry.external_id,
                )
                results[i] = self._result("done", job, entry)
        return results

    async def handle_until_settled(
        self,
        request: PublishRequest | dict[str, Any],
        card: CardImage | None,
        max_wait_s: float = 900.0,
    ) -> RunnerResult:
        """``handle`` again after each retry_later, waiting as told, up to ``max_wait_s``."""
        waited = 0.0
        while True:
            result = await self.handle(request, card)
            if result.settled:
                return result
            wait = max(0.05, result.retry_after_s or 1.0)
            if waited + wait > max_wait_s:
                return result
            await self._sleep(wait)
            waited += wait

    async def _publish(self, job: PublishJob, card: CardImage | None) -> PublishOutcome:
        if job.dry_run:
            rehearse = getattr(self.publisher, "publish_dry_run", None)
            if rehearse is None:  # the channel cannot rehearse: record, touch nothing
                return PublishOutcome(external_id=f"dry-run:{job.statement_id}")
            outcome: PublishOutcome = await rehearse(job.prediction, card)
            return outcome
        return await self.publisher.publish(job.prediction, card)

    async def _record(self, channel: str, sid: str, outcome: PublishOutcome) -> LedgerEntry:
        return await self._store.transition(
            channel,
            sid,
            lambda e: ledger.complete(
                e,
                channel=channel,
                statement_id=sid,
                external_id=outcome.external_id,
                now=self._clock(),
                cid=outcome.cid,
                url=outcome.url,
            ),
        )

    async def _failed(
        self, job: PublishJob, channel: str, entry: LedgerEntry, exc: Exception
    ) -> RunnerResult:
        sid = job.statement_id
        retryable = exc.retryable if isinstance(exc, PublishError) else True
        if not isinstance(exc, PublishError):
            log.exception("publisher raised unexpectedly", statement_id=sid, channel=channel)
        message = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        try:
            if not retryable or entry.attempts >= self._max_attempts:
                if retryable:
                    message = f"gave up after {entry.attempts} attempts: {message}"
                dead = await self._store.transition(
                    channel,
                    sid,
                    lambda e: ledger.kill(_present(e), owner=self.owner, now=now, error=message),
                )
                log.warning("dead-lettered", statement_id=sid, channel=channel, error=message)
                return self._result("dead", job, dead)
            after = getattr(exc, "retry_after_s", None)
            wait = after if after is not None else self._backoff_s(entry)
            released = await self._store.transition(
                channel,
                sid,
                lambda e: ledger.release(
                    _present(e), owner=self.owner, now=now, error=message, retry_after_s=wait
                ),
            )
        except Conflict as lost:
            return self._later(job, 1.0, entry, f"{message}; {lost}")
        log.info(
            "publish failed, will retry",
            statement_id=sid,
            channel=channel,
            error=message,
            retry_after_s=wait,
        )
        return self._later(job, wait, released, message)

    def _backoff_s(self, entry: LedgerEntry | None) -> float:
        return ledger.backoff_s(entry.attempts if entry else 1, *self._backoff)

    def _later(
        self, job: PublishJob, wait_s: float, entry: LedgerEntry | None, error: str
    ) -> RunnerResult:
        return RunnerResult(
            "retry_later",
            job.statement_id,
            job.channel,
            job.dry_run,
            retry_after_s=max(0.0, wait_s),
            error=error,
            attempts=entry.attempts if entry else 0,
        )

    def _result(self, status: Status, job: PublishJob, entry: LedgerEntry) -> RunnerResult:
        return RunnerResult(
            status,
            job.statement_id,
            job.channel,
            job.dry_run,
            external_id=entry.external_id,
            cid=entry.cid,
            url=entry.url,
            error=entry.error,
            attempts=entry.attempts,
        )


def _present(entry: LedgerEntry | None) -> LedgerEntry:
    if entry is None:
        raise Conflict("the ledger entry disappeared")
    return entry
