"""Rule set model, seed validation, the operator token check, `set` argument handling and the
live-reload helper against an in-memory store (the Redis store has its integration test)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from config.settings import SettingsError, load_settings
from ops.thresholds import build_parser, check_token, proposed_rules
from streams.rules import AuditEntry, LiveRules, RuleSet, diff_rules, load_rule_file


def test_missing_channels_and_kinds_are_disabled() -> None:
    rules = RuleSet.from_table({"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.8}}})
    assert rules.rule_for("x", "tweet").enabled
    assert rules.rule_for("x", "tweet").predicted_false_only  # Deep Classiflie default
    for ch, kind in (("x", "transcript"), ("ipfs", "tweet"), ("ipfs", "transcript")):
        assert not rules.rule_for(ch, kind).enabled
    assert set(rules.table()) == {"x", "ipfs"}


@pytest.mark.parametrize(
    "table",
    [
        {"mastodon": {"tweet": {"enabled": True}}},
        {"x": {"podcast": {"enabled": True}}},
        {"x": {"tweet": {"min_bucket_ppv": 1.5}}},
        {"x": {"tweet": {"min_confidence": 0.3}}},
        {"x": {"tweet": {"enabled": True, "typo_field": 1}}},
    ],
)
def test_invalid_rules_are_refused(table: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RuleSet.from_table(table)


def test_diff_names_each_changed_field() -> None:
    old = RuleSet.from_table({"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.8}}})
    new = old.with_rule("x", "tweet", min_bucket_ppv=0.85).with_rule("ipfs", "tweet", enabled=True)
    assert diff_rules(old, new) == [
        "x/tweet min_bucket_ppv: 0.8 -> 0.85",
        "ipfs/tweet enabled: False -> True",
    ]
    assert diff_rules(new, new) == []
    assert len(diff_rules(None, new)) == 4 * 5  # every field of every rule, for the seed


def test_rule_file_accepts_plain_and_nested_forms(tmp_path: Path) -> None:
    plain = tmp_path / "a.yaml"
    plain.write_text("x:\n  tweet: {enabled: true, min_confidence: 0.9}\n")
    nested = tmp_path / "b.json"
    nested.write_text('{"rules": {"x": {"tweet": {"enabled": true, "min_confidence": 0.9}}}}')
    assert load_rule_file(plain).same_rules(load_rule_file(nested))
    assert load_rule_file(plain).rule_for("x", "tweet").min_confidence == 0.9
    bad = tmp_path / "c.yaml"
    bad.write_text("- just a list\n")
    with pytest.raises(ValueError, match="mapping"):
        load_rule_file(bad)


def test_seed_rules_come_from_config_and_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = RuleSet.from_table(load_settings().thresholds.rules)
    rules = [seed.rule_for(ch, k) for ch in ("x", "ipfs") for k in ("tweet", "transcript")]
    assert any(r.enabled for r in rules)
    assert all(r.predicted_false_only for r in rules)  # Deep Classiflie's default
    monkeypatch.setenv("CLAIMWATCH_THRESHOLDS__CHECK_INTERVAL_S", "0")
    with pytest.raises(SettingsError, match="check_interval_s"):
        load_settings()


def test_bad_seed_rules_fail_settings_loading() -> None:
    with pytest.raises(SettingsError, match="rules"):
        load_settings(thresholds={"rules": {"x": {"tweet": {"min_bucket_ppv": 2}}}})


def test_token_check() -> None:
    configured = SecretStr("s3cret-operator")
    assert check_token("s3cret-operator", configured) is None
    assert "need the operator token" in (check_token(None, configured) or "")
    assert "does not match" in (check_token("guess", configured) or "")
    assert "no operator token is configured" in (check_token("anything", None) or "")


def _set_args(*argv: str) -> argparse.Namespace:
    args = build_parser().parse_args(["set", *argv, "--why", "test"])
    args.given = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    return args


BASE = RuleSet.from_table(
    {"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.8, "min_confidence": 0.7}}}, 3
)


def test_set_changes_only_the_named_fields_of_the_named_rules() -> None:
    new = proposed_rules(
        BASE, _set_args("--channel", "x", "--kind", "all", "--min-bucket-ppv", "0.9")
    )
    assert new.rule_for("x", "tweet").min_bucket_ppv == 0.9
    assert new.rule_for("x", "tweet").min_confidence == 0.7  # untouched
    assert new.rule_for("x", "transcript").min_bucket_ppv == 0.9
    assert not new.rule_for("x", "transcript").enabled  # not asked to enable
    assert new.rule_for("ipfs", "tweet") == BASE.rule_for("ipfs", "tweet")


def test_set_none_clears_a_condition_and_flags_toggle() -> None:
    new = proposed_rules(
        BASE,
        _set_args(
            "--channel",
            "x",
            "--kind",
            "tweet",
            "--min-confidence",
            "none",
            "--disable",
            "--predicted-false-only",
            "no",
        ),
    )
    rule = new.rule_for("x", "tweet")
    assert (rule.min_confidence, rule.enabled, rule.predicted_false_only) == (None, False, False)
    assert rule.min_bucket_ppv == 0.8


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--kind", "tweet", "--enable"), "--channel"),
        (("--channel", "x", "--kind", "tweet"), "nothing to change"),
    ],
)
def test_set_refuses_vague_changes(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proposed_rules(BASE, _set_args(*argv))


def test_set_refuses_out_of_range_values() -> None:
    with pytest.raises(ValidationError):
        proposed_rules(
            BASE, _set_args("--channel", "x", "--kind", "tweet", "--min-bucket-ppv", "1.2")
        )


class MemoryStore:
    """The RuleStore contract in memory, counting calls so the check cadence is visible."""

    def __init__(self) -> None:
        self.rules: RuleSet | None = None
        self.version_calls = 0
        self.load_calls = 0
        self.fail = False

    async def version(self) -> int:
        self.version_calls += 1
        if self.fail:
            raise ConnectionRefusedError("down")
        return self.rules.version if self.rules else 0

    async def load(self) -> RuleSet | None:
        self.load_calls += 1
        return self.rules

    async def write(
        self, rules: RuleSet, *, who: str, why: str, at: str, expected_version: int | None = None
    ) -> RuleSet:
        version = (self.rules.version if self.rules else 0) + 1
        self.rules = RuleSet.from_table(rules.table(), version)
        return self.rules

    async def ensure_seeded(self, seed: RuleSet) -> RuleSet:
        if self.rules is None:
            return await self.write(seed, who="config", why="seed", at="t")
        return self.rules

    async def history(self, limit: int = 20) -> list[AuditEntry]:
        return []


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_live_rules_seed_then_check_at_most_every_interval() -> None:
    store, clock = MemoryStore(), Clock()
    seed = RuleSet.from_table({"x": {"tweet": {"enabled": True}}})
    live = LiveRules(store, seed, check_interval_s=5, clock=clock)
    first = await live.current()
    assert first.version == 1 and first.same_rules(seed)  # seeded on first use
    calls = store.version_calls
    for _ in range(100):
        assert (await live.current()).version == 1
    assert store.version_calls == calls  # no Redis round-trip between checks

    await store.write(first.with_rule("x", "tweet", enabled=False), who="op", why="t", at="t")
    clock.t += 4.9
    assert (await live.current()).version == 1  # not yet due
    clock.t += 0.2
    now = await live.current()
    assert now.version == 2 and not now.rule_for("x", "tweet").enabled
    loads = store.load_calls
    clock.t += 10
    await live.current()
    assert store.load_calls == loads  # same version: only the cheap check, no reload


async def test_live_rules_keep_last_rules_when_the_store_is_down() -> None:
    store, clock = MemoryStore(), Clock()
    live = LiveRules(store, RuleSet(), check_interval_s=1, clock=clock)
    assert (await live.current()).version == 1
    store.fail = True
    clock.t += 2
    assert (await live.current()).version == 1
    fresh = LiveRules(store, RuleSet(), check_interval_s=1, clock=clock)
    with pytest.raises(ConnectionRefusedError):
        await fresh.current()  # never decide without having had rules once
