"""What every source run leaves in Redis for ``claimwatch sources``: last run, cursor, counts.

Counts are cumulative (HINCRBY) so a restart of the poller keeps the history; each error
reason gets its own ``error:<reason>`` counter, the metric an operator alerts on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from config.errors import ClaimWatchError
from streams import keys


@dataclass
class RunResult:
    """The outcome of one run of one source."""

    emitted: int = 0
    skipped: int = 0
    errored: int = 0
    cursor: str | None = None
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None

    def error(self, reason: str, message: str) -> None:
        self.errored += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1
        self.last_error = f"{reason}: {message}"


class SourceError(ClaimWatchError, RuntimeError):
    """A run failed as a whole (feed unreachable, malformed...); ``reason`` names the metric,
    ``retryable`` is the cause's (the scheduler runs the source again on its interval anyway)."""

    def __init__(self, message: str, *, reason: str, retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)
        self.reason = reason


class Source(Protocol):
    """A thing the scheduler runs on an interval."""

    name: str
    kind: str
    interval_s: float

    async def run_once(self) -> RunResult: ...


class AsyncRedis(Protocol):
    """The few ``redis.asyncio.Redis`` calls the sources make (opened with
    ``decode_responses=True``). Results are awaited; redis-py types them loosely."""

    def pipeline(self, transaction: bool = True) -> Any: ...
    def get(self, name: str) -> Any: ...
    def set(self, name: str, value: str) -> Any: ...
    def hgetall(self, name: str) -> Any: ...
    def hget(self, name: str, key: str) -> Any: ...
    def zmscore(self, key: str, members: list[str]) -> Any: ...


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def record_run(
    redis: AsyncRedis, name: str, kind: str, result: RunResult, duration_s: float
) -> None:
    now = utc_now_iso()
    key = keys.source_status(name)
    pipe = redis.pipeline(transaction=True)
    mapping: dict[str, str] = {
        "kind": kind,
        "last_run_at": now,
        "last_duration_ms": str(round(duration_s * 1000)),
        "last_emitted": str(result.emitted),
        "last_skipped": str(result.skipped),
        "last_errored": str(result.errored),
    }
    if result.cursor is not None:
        mapping["cursor"] = result.cursor
    if result.errored:
        mapping["last_error_at"] = now
        mapping["last_error"] = (result.last_error or "")[:500]
    else:
        mapping["last_ok_at"] = now
    pipe.hset(key, mapping=mapping)
    pipe.hincrby(key, "runs", 1)
    pipe.hincrby(key, "emitted", result.emitted)
    pipe.hincrby(key, "skipped", result.skipped)
    pipe.hincrby(key, "errored", result.errored)
    for reason, count in result.errors.items():
        pipe.hincrby(key, f"error:{reason}", count)
        pipe.hincrby(keys.counters("sources"), reason, count)
    await pipe.execute()


async def read_status(redis: AsyncRedis, name: str) -> Mapping[str, str]:
    return dict(await redis.hgetall(keys.source_status(name)) or {})
