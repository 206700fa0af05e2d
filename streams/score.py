"""The ``score`` stage: a micro-batch of statements in, scored statements (or dead letters) out.

Scoring is CPU-bound, so it runs in a worker thread: the event loop keeps the consumer's
heartbeats going while the model works. Scoring is deterministic, so a batch redelivered after
a crash produces the same records again; the publish ledger downstream makes that harmless.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from config.log import get_logger
from streams.normalize import DeadLetterSink, dead_letter_for, utc_now
from streams.outcomes import Outcome
from streams.records import ScoredStatement, Statement

log = get_logger(__name__)
STAGE = "score"


class ScoreLike(Protocol):
    """What the stage needs of ``inference.scorer.Scorer``."""

    model_version: str
    model_sha256: str

    def score(self, statements: Sequence[Statement]) -> list[Any]: ...


class ScoredSink(Protocol):
    async def emit_scored(self, scored: ScoredStatement) -> None: ...


def to_scored(
    statement: Statement, result: Any, scorer: ScoreLike, now: datetime
) -> ScoredStatement:
    return ScoredStatement(
        statement=statement,
        p_false=result.p_false,
        prediction=result.prediction,
        confidence=result.confidence,
        bucket=result.bucket,
        bucket_ceiling=result.bucket_ceiling,
        bucket_accuracy=result.bucket_accuracy,
        bucket_ppv=result.bucket_ppv,
        bucket_npv=result.bucket_npv,
        model_version=scorer.model_version,
        model_sha256=scorer.model_sha256,
        truncated=result.truncated,
        tokens=result.tokens,
        scored_at=now.isoformat(),
    )


@dataclass
class ScoreStage:
    scorer: ScoreLike
    scored: ScoredSink
    dead_letters: DeadLetterSink
    clock: Callable[[], datetime] = utc_now

    async def handle_batch(self, statements: Sequence[Statement]) -> Counter[Outcome]:
        outcomes: Counter[Outcome] = Counter()
        if not statements:
            return outcomes
        started = time.perf_counter()
        results = await asyncio.to_thread(self.scorer.score, list(statements))
        log.info(
            "scored",
            stage=STAGE,
            batch=len(statements),
            model_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        by_id = {r.statement_id: r for r in results}
        now = self.clock()
        sends = []  # sent together: one round of broker acknowledgements per batch, not per record
        for statement in statements:
            result = by_id.get(statement.id)
            reason = getattr(result, "reason", None) if result is not None else "no score returned"
            if reason is not None:
                log.warning("statement not scorable", stage=STAGE, id=statement.id, reason=reason)
                key = statement.id.encode()
                record = dead_letter_for(
                    STAGE, f"unscorable: {reason}", statement.dumps(), None, key, now
                )
                sends.append(self.dead_letters.dead_letter(record, key))
                outcomes[Outcome.DEADLETTERED] += 1
                continue
            sends.append(self.scored.emit_scored(to_scored(statement, result, self.scorer, now)))
            outcomes[Outcome.SCORED] += 1
        await asyncio.gather(*sends)
        return outcomes
