"""The decide stage: live rules applied, requests emitted, replays forced to dry-run, and every
decision recorded in the recent list with the rule version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.decide_stage import DecideStage
from streams.records import PublishRequest, ScoredStatement
from streams.rules import RuleSet
from tests.fixtures_rules import scored

NOW = datetime(2025, 1, 1, tzinfo=UTC)
RULES = RuleSet.from_table(
    {
        "x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.9}},
        "ipfs": {"tweet": {"enabled": True, "min_bucket_ppv": 0.7}},
    },
    version=7,
)


class FixedRules:
    async def current(self) -> RuleSet:
        return RULES


@dataclass
class Collect:
    requests: list[PublishRequest] = field(default_factory=list)
    recent: list[dict[str, object]] = field(default_factory=list)

    async def emit_request(self, request: PublishRequest) -> None:
        self.requests.append(request)

    async def push_recent_many(self, entries: Sequence[dict[str, object]]) -> None:
        self.recent.extend(entries)


def live(item: ScoredStatement) -> ScoredStatement:
    item.statement.source = "x"
    return item


async def test_channels_follow_the_rules_and_the_recent_list_records_why() -> None:
    collect = Collect()
    stage = DecideStage(FixedRules(), collect, collect, lambda: NOW)
    await stage.handle(live(scored(0.95, sid="a")))  # top bucket: PPV 0.92 -> both channels
    await stage.handle(live(scored(0.75, sid="b")))  # PPV 0.71 -> IPFS only
    await stage.handle(live(scored(0.2, sid="c")))  # predicted true -> nothing
    assert [(r.statement_id, r.channel, r.dry_run) for r in collect.requests] == [
        ("a", "x", False),
        ("a", "ipfs", False),
        ("b", "ipfs", False),
    ]
    assert all(r.rule_version == 7 for r in collect.requests)
    assert [e["id"] for e in collect.recent] == ["a", "b", "c"]
    assert collect.recent[2]["channels"]["x"]["publish"] is False  # type: ignore[index]
    assert collect.recent[0]["rule_version"] == 7


async def test_replays_are_always_dry_run() -> None:
    collect = Collect()
    stage = DecideStage(FixedRules(), collect, collect, lambda: NOW)
    await stage.handle(scored(0.95, sid="r"))  # fixture statements are replays
    assert [r.channel for r in collect.requests] == ["x", "ipfs"]
    assert all(r.dry_run for r in collect.requests)
    assert collect.recent[0]["replay"] is True


class CountingRules(FixedRules):
    def __init__(self) -> None:
        self.lookups = 0

    async def current(self) -> RuleSet:
        self.lookups += 1
        return RULES


async def test_a_batch_is_decided_under_one_rule_lookup_in_order() -> None:
    collect, rules = Collect(), CountingRules()
    stage = DecideStage(rules, collect, collect, lambda: NOW)
    batch = [live(scored(0.2, sid="c")), live(scored(0.95, sid="a")), live(scored(0.75, sid="b"))]
    out = await stage.handle_batch(batch)
    assert rules.lookups == 1
    assert [[r.channel for r in requests] for requests in out] == [[], ["x", "ipfs"], ["ipfs"]]
    assert [e["id"] for e in collect.recent] == ["c", "a", "b"]
    assert {e["rule_version"] for e in collect.recent} == {7}
