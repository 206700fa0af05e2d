"""The decide stage's logic: which channels a scored statement goes to. Pure, no I/O."""

from __future__ import annotations

from datetime import datetime

from streams.gate import GateResult, gate
from streams.records import CHANNELS, PublishRequest, ScoredStatement
from streams.rules import RuleSet


def evaluate(scored: ScoredStatement, rules: RuleSet) -> dict[str, GateResult]:
    """The gate's result on every channel, publish or not (for the recent list and reports)."""
    kind = scored.statement.kind
    return {channel: gate(rules.rule_for(channel, kind), scored) for channel in CHANNELS}


def decide(
    scored: ScoredStatement, rules: RuleSet, *, replay: bool, now: datetime
) -> list[PublishRequest]:
    """One publish request per channel whose rule passes, in CHANNELS order.

    A replay forces dry-run on every channel: replays evaluate, they never post. A rule's own
    ``dry_run`` (shadow mode) does the same for live statements on that channel.
    """
    kind = scored.statement.kind
    requested_at = now.isoformat()
    requests = []
    for channel, result in evaluate(scored, rules).items():
        if not result.publish:
            continue
        requests.append(
            PublishRequest(
                statement_id=scored.statement.id,
                channel=channel,
                scored=scored,
                rule_version=rules.version,
                dry_run=replay or rules.rule_for(channel, kind).dry_run,
                requested_at=requested_at,
            )
        )
    return requests
