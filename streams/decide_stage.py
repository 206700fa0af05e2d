"""The ``decide`` stage: apply the operator's live rules to a scored statement.

Emits one publish request per channel whose rule passes (dry-run forced for replays), records
the decision in the capped recent-predictions list, and logs the rule version it applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from config.log import get_logger
from streams.decide import decide, evaluate
from streams.normalize import utc_now
from streams.recent import recent_entry
from streams.records import PublishRequest, ScoredStatement
from streams.rules import RuleSet

log = get_logger(__name__)
STAGE = "decide"
# Statements from these sources are evaluated, never posted (see ARCHITECTURE: replay).
DRY_RUN_SOURCES = frozenset({"replay"})


class RulesSource(Protocol):
    async def current(self) -> RuleSet: ...


class RequestSink(Protocol):
    async def emit_request(self, request: PublishRequest) -> None: ...


class RecentSink(Protocol):
    async def push_recent(self, entry: dict[str, object]) -> None: ...


@dataclass
class DecideStage:
    rules: RulesSource
    requests: RequestSink
    recent: RecentSink
    clock: Callable[[], datetime] = utc_now

    async def handle(self, scored: ScoredStatement) -> list[PublishRequest]:
        rules = await self.rules.current()
        now = self.clock()
        replay = scored.statement.source in DRY_RUN_SOURCES
        results = evaluate(scored, rules)
        requests = decide(scored, rules, replay=replay, now=now)
        log.info(
            "decided",
            stage=STAGE,
            id=scored.statement.id,
            rule_version=rules.version,
            bucket=scored.bucket,
            p_false=round(scored.p_false, 4),
            publish=[r.channel for r in requests],
            dry_run=replay,
        )
        entry = recent_entry(
            scored, results, rule_version=rules.version, replay=replay, decided_at=now.isoformat()
        )
        # Independent writes, awaited together: one round trip instead of one per write.
        await asyncio.gather(
            *(self.requests.emit_request(r) for r in requests), self.recent.push_recent(entry)
        )
        return requests
