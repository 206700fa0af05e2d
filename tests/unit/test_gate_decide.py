"""The posting gate and the decide stage on hand-made buckets (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streams.decide import decide, evaluate
from streams.gate import gate
from streams.records import CHANNELS, KINDS
from streams.rules import RULE_CHANNELS, RULE_KINDS, ChannelRule, RuleSet
from tests.fixtures_rules import scored

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_rule_names_match_the_record_contract() -> None:
    assert RULE_CHANNELS == CHANNELS
    assert RULE_KINDS == KINDS


@pytest.mark.parametrize(
    ("rule", "p_false", "publish", "reason"),
    [
        (ChannelRule(enabled=False, min_bucket_ppv=0.1), 0.99, False, "disabled"),
        # bucket 3 (confidence 0.85) has PPV 0.83
        (ChannelRule(enabled=True, min_bucket_ppv=0.8), 0.85, True, "meets rule"),
        (ChannelRule(enabled=True, min_bucket_ppv=0.83), 0.85, True, "meets rule"),  # >= passes
        (ChannelRule(enabled=True, min_bucket_ppv=0.84), 0.85, False, "bucket PPV 0.830 < 0.84"),
        # bucket 2 (confidence 0.75) has PPV 0.71
        (ChannelRule(enabled=True, min_bucket_ppv=0.8), 0.75, False, "bucket PPV 0.710 < 0.8"),
        # predicted not false (p 0.05, bucket 4 NPV 0.90): blocked by predicted_false_only
        (ChannelRule(enabled=True, min_bucket_ppv=0.8), 0.05, False, "not predicted false"),
        # ... and judged by the bucket's NPV once both predictions may be posted
        (
            ChannelRule(enabled=True, min_bucket_ppv=0.85, predicted_false_only=False),
            0.05,
            True,
            "meets rule",
        ),
        (
            ChannelRule(enabled=True, min_bucket_ppv=0.95, predicted_false_only=False),
            0.05,
            False,
            "bucket NPV 0.900 < 0.95",
        ),
        (ChannelRule(enabled=True, min_confidence=0.9), 0.92, True, "meets rule"),
        (ChannelRule(enabled=True, min_confidence=0.9), 0.88, False, "confidence 0.880 < 0.9"),
        # both conditions must hold
        (
            ChannelRule(enabled=True, min_confidence=0.7, min_bucket_ppv=0.9),
            0.85,
            False,
            "bucket PPV 0.830 < 0.9",
        ),
        (
            ChannelRule(enabled=True, min_confidence=0.9, min_bucket_ppv=0.8),
            0.85,
            False,
            "confidence 0.850 < 0.9",
        ),
        (
            ChannelRule(enabled=True, min_confidence=0.8, min_bucket_ppv=0.8),
            0.95,
            True,
            "meets rule",
        ),
        # no threshold: every likely-false statement
        (ChannelRule(enabled=True), 0.51, True, "meets rule"),
        (ChannelRule(enabled=True), 0.49, False, "not predicted false"),
    ],
)
def test_gate(rule: ChannelRule, p_false: float, publish: bool, reason: str) -> None:
    result = gate(rule, scored(p_false))
    assert (result.publish, result.reason) == (publish, reason)


RULES = RuleSet.from_table(
    {
        "x": {
            "tweet": {"enabled": True, "min_bucket_ppv": 0.9},
            "transcript": {"enabled": True, "min_bucket_ppv": 0.8},
        },
        "ipfs": {
            "tweet": {"enabled": True, "min_bucket_ppv": 0.8},
            "transcript": {"enabled": False},
        },
    },
    version=7,
)


def test_decide_one_request_per_passing_channel_with_rule_version() -> None:
    reqs = decide(scored(0.85, "tweet", "abc"), RULES, replay=False, now=NOW)
    # x/tweet needs 0.9 (bucket PPV 0.83 fails); ipfs/tweet needs 0.8
    assert [(r.channel, r.statement_id, r.rule_version, r.dry_run) for r in reqs] == [
        ("ipfs", "abc", 7, False)
    ]
    assert reqs[0].requested_at == "2024-05-01T12:00:00+00:00"
    assert reqs[0].scored.p_false == 0.85

    both = decide(scored(0.95, "tweet"), RULES, replay=False, now=NOW)
    assert [r.channel for r in both] == ["x", "ipfs"]


def test_decide_applies_the_rule_of_the_statement_kind() -> None:
    reqs = decide(scored(0.85, "transcript"), RULES, replay=False, now=NOW)
    assert [r.channel for r in reqs] == ["x"]  # x/transcript 0.8 passes, ipfs/transcript off
    assert decide(scored(0.2, "transcript"), RULES, replay=False, now=NOW) == []


def test_replay_forces_dry_run_on_every_channel() -> None:
    reqs = decide(scored(0.95), RULES, replay=True, now=NOW)
    assert [r.channel for r in reqs] == ["x", "ipfs"]
    assert all(r.dry_run for r in reqs)


def test_rule_dry_run_is_shadow_mode_for_that_channel_only() -> None:
    rules = RULES.with_rule("x", "tweet", dry_run=True)
    reqs = decide(scored(0.95), rules, replay=False, now=NOW)
    assert [(r.channel, r.dry_run) for r in reqs] == [("x", True), ("ipfs", False)]


def test_evaluate_explains_every_channel() -> None:
    results = evaluate(scored(0.85), RULES)
    assert {ch: r.publish for ch, r in results.items()} == {"x": False, "ipfs": True}
    assert results["x"].reason == "bucket PPV 0.830 < 0.9"


def test_unknown_kind_is_never_published() -> None:
    assert decide(scored(0.99, kind="podcast"), RULES, replay=False, now=NOW) == []


def test_unknown_bucket_precision_never_meets_a_ppv_rule() -> None:
    item = scored(0.85)
    item.bucket_ppv = None  # the bucket had no likely-false predictions in calibration
    assert gate(ChannelRule(enabled=True, min_bucket_ppv=0.1), item).reason == "bucket PPV unknown"
    assert gate(ChannelRule(enabled=True, min_confidence=0.8), item).publish  # no PPV condition


def test_recent_line_shows_bucket_decisions_and_status() -> None:
    from ops.recent import format_entry
    from streams.recent import recent_entry

    item = scored(0.85, sid="abcdef123456789")
    item.bucket_ppv = None
    entry = recent_entry(
        item,
        evaluate(item, RULES),
        rule_version=7,
        replay=True,
        decided_at="2024-05-01T12:00:00+00:00",
    )
    line = format_entry(entry, {"ipfs": None})
    assert "abcdef123456" in line and "bucket=3 (PPV n/a) rules v7" in line
    assert "x: skip (bucket PPV unknown)" in line and "ipfs: skip (bucket PPV unknown)" in line
    entry["channels"]["ipfs"] = {"publish": True, "reason": "meets rule"}
    assert "ipfs: post (pending dry-run)" in format_entry(entry, {"ipfs": "pending"})
