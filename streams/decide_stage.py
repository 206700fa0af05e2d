"""The ``decide`` stage: apply the operator's live rules to a scored statement.

Emits one publish request per channel whose rule passes (dry-run forced for replays), records
the decision in the capped recent-predictions list, and logs the rule version it applied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
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
    async def push_recent_many(self, entries: Sequence[dict[str, object]]) -> None: ...


@dataclass
class DecideStage:
    rules: RulesSource
    requests: RequestSink
    recent: RecentSink
    clock: Callable[[], datetime] = utc_now

    async def handle(self, scored: ScoredStatement) -> list[PublishRequest]:
        [requests] = await self.handle_batch([scored])
        return requests

    async def handle_batch(self, batch: Sequence[ScoredStatement]) -> list[list[PublishRequest]]:
        """The publish requests of each scored statement, in order, all under one rule version.

        One rules lookup, one Redis transaction for the recent list and one round of broker
        acknowledgements per batch: the stage's cost stays small next to scoring.
        """
        rules = await self.rules.current()
        now = self.clock()
        decided_at = now.isoformat()
        out: list[list[PublishRequest]] = []
        entries: list[dict[str, object]] = []
        for scored in batch:
            replay = scored.statement.source in DRY_RUN_SOURCES
            results = evaluate(scored, rules)
            requests = decide(scored, rules, replay=replay, now=now)
            log.debug(
                "decided",
                stage=STAGE,
                id=scored.statement.id,
                rule_version=rules.version,
                bucket=scored.bucket,
                p_false=round(scored.p_false, 4),
                publish=[r.channel for r in requests],
                dry_run=replay,
            )
            out.append(requests)
            entries.append(
                recent_entry(
                    scored,
                    results,
                    rule_version=rules.version,
                    replay=replay,
                    decided_at=decided_at,
                )
            )
        publish = {
            scored.statement.id: [r.channel for r in requests]
            for scored, requests in zip(batch, out, strict=True)
            if requests
        }
        log.info(
            "decided",
            stage=STAGE,
            rule_version=rules.version,
            decisions=len(batch),
            publish=publish,
            dry_run=sorted({r.dry_run for requests in out for r in requests}),
        )
        # Independent writes, awaited together: one round trip instead of one per write.
        await asyncio.gather(
            *(self.requests.emit_request(r) for requests in out for r in requests),
            self.recent.push_recent_many(entries),
        )
        return out
