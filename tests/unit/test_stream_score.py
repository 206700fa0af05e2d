"""The score stage's routing: scored records out, unscorable statements dead-lettered.

The scorer here is a stand-in for ``inference.scorer.Scorer`` (tested on the shipped artifact in
tests/unit/test_inference_*); this test is about what the stage does with its answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.records import DeadLetter, ScoredStatement, Statement
from streams.score import ScoreStage

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    statement_id: str
    p_false: float
    prediction: int = 1
    confidence: float = 0.9
    bucket: int = 3
    bucket_ceiling: float = 0.95
    bucket_accuracy: float = 0.8
    bucket_ppv: float | None = 0.81
    bucket_npv: float | None = None
    truncated: bool = False
    tokens: int = 12


@dataclass(frozen=True)
class Error:
    statement_id: str
    reason: str


class StandInScorer:
    model_version = "test-1"
    model_sha256 = "ab" * 32

    def score(self, statements: Sequence[Statement]) -> list[Result | Error]:
        return [
            Error(s.id, "tokenizer error: boom") if "boom" in s.text else Result(s.id, 0.9)
            for s in statements
        ]


@dataclass
class Collect:
    scored: list[ScoredStatement] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    async def emit_scored(self, scored: ScoredStatement) -> None:
        self.scored.append(scored)

    async def dead_letter(self, record: DeadLetter, key: bytes | None) -> None:
        self.dead.append(record)


def statement(i: int, text: str) -> Statement:
    return Statement(
        id=f"s{i}",
        source="x",
        kind="tweet",
        author="a",
        text=text,
        said_at=NOW.isoformat(),
        ingested_at=NOW.isoformat(),
        external_id=str(i),
    )


async def test_batch_is_scored_and_unscorable_dead_lettered() -> None:
    collect = Collect()
    stage = ScoreStage(StandInScorer(), collect, collect, lambda: NOW)
    outcomes = await stage.handle_batch(
        [statement(1, "fine"), statement(2, "boom"), statement(3, "ok")]
    )
    assert outcomes == {"scored": 2, "deadlettered": 1}
    assert [s.statement.id for s in collect.scored] == ["s1", "s3"]
    first = collect.scored[0]
    assert (first.p_false, first.bucket, first.bucket_npv, first.model_version) == (
        0.9,
        3,
        None,
        "test-1",
    )
    assert first.scored_at == NOW.isoformat()
    [dead] = collect.dead
    assert dead.stage == "score" and dead.reason == "unscorable: tokenizer error: boom"
    assert Statement.loads(dead.raw.encode()).id == "s2"  # the raw payload can be replayed


async def test_scored_statement_round_trips_through_json() -> None:
    collect = Collect()
    await ScoreStage(StandInScorer(), collect, collect, lambda: NOW).handle_batch(
        [statement(1, "x y z")]
    )
    again = ScoredStatement.loads(collect.scored[0].dumps())
    assert again.statement.text == "x y z" and again.bucket_ppv == 0.81
