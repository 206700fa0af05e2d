"""Posting rules: the typed rule set, its Redis store, and the live view a worker reads.

Rules are versioned: every write bumps the version and appends an audit entry (who, when, why,
the full rule set and what changed) in the same Redis transaction, so the audit stream is a
complete history. Workers hold the rules in memory and only compare a version number with
Redis at most every few seconds, which keeps a decision's cost at zero Redis round-trips.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from redis.exceptions import RedisError, WatchError

from config.errors import ClaimWatchError
from config.log import get_logger
from streams import keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = get_logger(__name__)

Channel = Literal["x", "ipfs"]
Kind = Literal["tweet", "transcript"]
RULE_CHANNELS: tuple[str, ...] = get_args(Channel)
RULE_KINDS: tuple[str, ...] = get_args(Kind)


class ChannelRule(BaseModel):
    """When one channel publishes statements of one kind.

    ``min_bucket_ppv`` compares the calibrated precision of the prediction being made: the
    bucket's PPV for a "likely false" prediction, its NPV otherwise (only reachable with
    ``predicted_false_only`` off). ``None`` means no such condition.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    min_bucket_ppv: float | None = Field(default=None, ge=0.0, le=1.0)
    min_confidence: float | None = Field(default=None, ge=0.5, le=1.0)
    predicted_false_only: bool = True
    dry_run: bool = False

    def describe(self) -> str:
        if not self.enabled:
            return "disabled"
        parts = ["likely-false only" if self.predicted_false_only else "both predictions"]
        if self.min_bucket_ppv is not None:
            parts.append(f"bucket PPV >= {self.min_bucket_ppv:g}")
        if self.min_confidence is not None:
            parts.append(f"confidence >= {self.min_confidence:g}")
        if self.dry_run:
            parts.append("dry-run")
        return ", ".join(parts)


RuleTable = dict[Channel, dict[Kind, ChannelRule]]


class RuleSet(BaseModel):
    """All channel x kind rules plus the version they were stored under (0: never stored).

    A channel or kind missing from the input is disabled, so a rule set is always complete.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=0, ge=0)
    rules: RuleTable = {}

    @model_validator(mode="before")
    @classmethod
    def _complete(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("rules", {}), Mapping):
            return data
        table = {ch: dict(per_kind or {}) for ch, per_kind in data.get("rules", {}).items()}
        for channel in RULE_CHANNELS:
            per_kind = table.setdefault(channel, {})
            for kind in RULE_KINDS:
                per_kind.setdefault(kind, {})
        return {**data, "rules": table}

    @classmethod
    def from_table(cls, table: Mapping[str, Any], version: int = 0) -> RuleSet:
        return cls.model_validate({"version": version, "rules": dict(table)})

    def rule_for(self, channel: str, kind: str) -> ChannelRule:
        """The rule of a channel and kind; unknown ones are disabled."""
        return self.rules.get(channel, {}).get(kind, ChannelRule())  # type: ignore[call-overload]

    def table(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The rules as plain JSON-ready data, without the version."""
        return {
            ch: {kind: rule.model_dump() for kind, rule in per_kind.items()}
            for ch, per_kind in self.rules.items()
        }

    def with_rule(self, channel: str, kind: str, **changes: Any) -> RuleSet:
        """A copy with one rule changed (validated); the version is left for the store."""
        table = self.table()
        table[channel][kind] = {**table[channel][kind], **changes}
        return RuleSet.from_table(table, self.version)

    def same_rules(self, other: RuleSet) -> bool:
        return self.table() == other.table()


def diff_rules(old: RuleSet | None, new: RuleSet) -> list[str]:
    """Human-readable changes, one line per field (``x/tweet min_bucket_ppv: 0.8 -> 0.85``)."""
    lines = []
    for channel in RULE_CHANNELS:
        for kind in RULE_KINDS:
            after = new.rule_for(channel, kind).model_dump()
            before = old.rule_for(channel, kind).model_dump() if old else None
            for field, value in after.items():
                prev = None if before is None else before[field]
                if before is None or prev != value:
                    lines.append(f"{channel}/{kind} {field}: {prev} -> {value}")
    return lines


def load_rule_file(path: Path) -> RuleSet:
    """A rule set from YAML or JSON: ``{channel: {kind: rule}}``, optionally under ``rules:``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the top level must be a mapping of channel -> kind -> rule")
    if isinstance(data.get("thresholds"), dict):
        data = data["thresholds"]
    if isinstance(data.get("rules"), dict):
        data = data["rules"]
    return RuleSet.from_table(data)


@dataclass(frozen=True)
class AuditEntry:
    """One rule change as recorded in the audit stream."""

    entry_id: str
    version: int
    previous_version: int
    who: str
    why: str
    at: str
    changes: list[str]
    rules: RuleSet


class RuleConflictError(ClaimWatchError, RuntimeError):
    """Someone else changed the rules since the version the writer based its change on."""

    retryable = True  # re-read the rules and write again


class RuleStore(Protocol):
    """Where rules live; Redis in production, anything with the same contract in tests."""

    async def version(self) -> int: ...

    async def load(self) -> RuleSet | None: ...

    async def write(
        self, rules: RuleSet, *, who: str, why: str, at: str, expected_version: int | None = None
    ) -> RuleSet: ...

    async def history(self, limit: int = 20) -> list[AuditEntry]: ...


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RedisRuleStore:
    """Rules in one hash (version, rules JSON, updated_at/by, why) + an append-only audit stream."""

    def __init__(self, redis: Redis) -> None:
        # Any: redis-py's asyncio stubs type replies as "awaitable or value".
        self._redis: Any = redis

    async def version(self) -> int:
        raw = await self._redis.hget(keys.thresholds(), "version")
        return int(_text(raw)) if raw is not None else 0

    async def load(self) -> RuleSet | None:
        raw = await self._redis.hgetall(keys.thresholds())
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        return RuleSet.from_table(json.loads(data["rules"]), int(data["version"]))

    async def metadata(self) -> dict[str, str]:
        """updated_at, updated_by and why of the current rules (empty when none stored)."""
        raw = await self._redis.hgetall(keys.thresholds())
        return {_text(k): _text(v) for k, v in raw.items() if _text(k) not in ("rules", "version")}

    async def write(
        self, rules: RuleSet, *, who: str, why: str, at: str, expected_version: int | None = None
    ) -> RuleSet:
        """Store ``rules`` as the next version and audit it, atomically.

        With ``expected_version`` the write is refused (RuleConflictError) when the stored
        version differs, so two operators cannot silently overwrite each other.
        """
        if not who.strip() or not why.strip():
            raise ValueError("a rule change needs who and why")
        key = keys.thresholds()
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.hgetall(key)
                    stored = {_text(k): _text(v) for k, v in raw.items()}
                    current = int(stored.get("version", 0))
                    if expected_version is not None and current != expected_version:
                        raise RuleConflictError(
                            f"rules are at version {current}, not {expected_version}"
                        )
                    old = (
                        RuleSet.from_table(json.loads(stored["rules"]), current) if stored else None
                    )
                    new = RuleSet.from_table(rules.table(), current + 1)
                    rules_json = json.dumps(new.table(), sort_keys=True)
                    pipe.multi()
                    pipe.hset(
                        key,
                        mapping={
                            "version": new.version,
                            "rules": rules_json,
                            "updated_at": at,
                            "updated_by": who,
                            "why": why,
                        },
                    )
                    pipe.xadd(
                        keys.thresholds_audit(),
                        {
                            "version": new.version,
                            "previous_version": current,
                            "who": who,
                            "why": why,
                            "at": at,
                            "changes": json.dumps(diff_rules(old, new)),
                            "rules": rules_json,
                        },
                    )
                    await pipe.execute()
                    log.info("rules written", version=new.version, who=who, why=why)
                    return new
                except WatchError:
                    if expected_version is not None:
                        raise RuleConflictError("rules changed while writing") from None
                    continue

    async def ensure_seeded(self, seed: RuleSet, *, at: str | None = None) -> RuleSet:
        """Write the seed as version 1 when no rules exist; otherwise return the stored ones."""
        try:
            return await self.write(
                seed,
                who="config",
                why="seeded from configuration",
                at=at or utc_now_iso(),
                expected_version=0,
            )
        except RuleConflictError:
            stored = await self.load()
            assert stored is not None
            return stored

    async def history(self, limit: int = 20) -> list[AuditEntry]:
        """The newest ``limit`` audit entries, newest first."""
        rows = await self._redis.xrevrange(keys.thresholds_audit(), count=limit)
        entries = []
        for entry_id, raw in rows:
            f = {_text(k): _text(v) for k, v in raw.items()}
            entries.append(
                AuditEntry(
                    entry_id=_text(entry_id),
                    version=int(f["version"]),
                    previous_version=int(f["previous_version"]),
                    who=f["who"],
                    why=f["why"],
                    at=f["at"],
                    changes=json.loads(f["changes"]),
                    rules=RuleSet.from_table(json.loads(f["rules"]), int(f["version"])),
                )
            )
        return entries


class LiveRules:
    """The rules a running worker applies, refreshed from the store without a restart.

    ``current()`` costs nothing between checks; a check is one version read, and a full load
    only when the version moved. When the store is unreachable the last rules stay in force.
    """

    def __init__(
        self,
        store: RuleStore,
        seed: RuleSet,
        *,
        check_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._seed = seed
        self._interval = check_interval_s
        self._clock = clock
        self._rules: RuleSet | None = None
        self._checked_at = 0.0

    async def current(self) -> RuleSet:
        now = self._clock()
        if self._rules is not None and now - self._checked_at < self._interval:
            return self._rules
        self._checked_at = now
        try:
            version = await self._store.version()
            if self._rules is None or version != self._rules.version:
                await self._reload(version)
        except (RedisError, OSError) as exc:
            if self._rules is None:
                raise
            log.warning(
                "rules check failed; keeping current rules",
                version=self._rules.version,
                error=str(exc),
            )
        assert self._rules is not None
        return self._rules

    async def _reload(self, version: int) -> None:
        loaded = await self._store.load() if version else None
        if loaded is None:
            seeder = getattr(self._store, "ensure_seeded", None)
            if seeder is None:
                raise RuntimeError("no rules stored and the store cannot seed")
            loaded = await seeder(self._seed)
        previous = self._rules.version if self._rules else None
        self._rules = loaded
        log.info("rules loaded", version=loaded.version, previous_version=previous)
