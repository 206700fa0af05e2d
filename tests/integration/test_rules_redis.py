"""Rules in a real Redis: versions, the audit stream, live reload, and the operator CLI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from ops import recent as recent_cli
from ops import thresholds as cli
from streams import keys
from streams.decide import evaluate
from streams.recent import push_recent_many, recent_entry
from streams.rules import LiveRules, RedisRuleStore, RuleConflictError, RuleSet
from tests.fixtures_rules import calibration_points, scored, write_artifacts

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

TOKEN = "operator-token-for-tests"
SEED = RuleSet.from_table({"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.8}}})


@pytest.fixture
def env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """CLI settings pointed at the test Redis, emptied; no operator token unless a test sets it."""
    monkeypatch.setenv("CLAIMWATCH_REDIS_URL", redis_url)
    monkeypatch.delenv("CLAIMWATCH_OPERATOR_TOKEN", raising=False)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


async def test_writes_bump_version_and_audit_every_change(redis_client: Redis) -> None:
    store = RedisRuleStore(redis_client)
    assert await store.version() == 0 and await store.load() is None
    seeded = await store.ensure_seeded(SEED, at="2024-01-01T00:00:00+00:00")
    assert seeded.version == 1
    assert (await store.ensure_seeded(SEED.with_rule("x", "tweet", enabled=False))).version == 1
    changed = await store.write(
        seeded.with_rule("x", "tweet", min_bucket_ppv=0.9),
        who="ana",
        why="too many FPs",
        at="2024-01-02T00:00:00+00:00",
    )
    assert changed.version == 2 and await store.version() == 2
    loaded = await store.load()
    assert loaded is not None and loaded.rule_for("x", "tweet").min_bucket_ppv == 0.9
    history = await store.history()
    assert [(e.version, e.previous_version, e.who) for e in history] == [
        (2, 1, "ana"),
        (1, 0, "config"),
    ]
    assert history[0].why == "too many FPs" and history[0].at == "2024-01-02T00:00:00+00:00"
    assert history[0].changes == ["x/tweet min_bucket_ppv: 0.8 -> 0.9"]
    assert history[1].rules.same_rules(SEED)
    assert await redis_client.xlen(keys.thresholds_audit()) == 2
    with pytest.raises(RuleConflictError):
        await store.write(SEED, who="bob", why="stale", at="t", expected_version=1)
    assert await redis_client.xlen(keys.thresholds_audit()) == 2  # refused: nothing audited


async def test_concurrent_writers_each_get_their_own_version(redis_client: Redis) -> None:
    store = RedisRuleStore(redis_client)
    await asyncio.gather(
        *(
            store.write(
                SEED.with_rule("ipfs", "tweet", min_confidence=0.5 + i / 100),
                who=f"op{i}",
                why="race",
                at="t",
            )
            for i in range(8)
        )
    )
    assert await store.version() == 8
    assert sorted(e.version for e in await store.history(limit=50)) == list(range(1, 9))


async def test_running_worker_picks_up_a_live_change(redis_url: str, redis_client: Redis) -> None:
    """A worker's LiveRules sees an operator's write from another connection within the
    check interval, and decisions change accordingly."""
    worker_redis = Redis.from_url(redis_url)
    try:
        live = LiveRules(RedisRuleStore(worker_redis), SEED, check_interval_s=0.2)
        before = await live.current()
        statement = scored(0.85)  # bucket PPV 0.83
        assert evaluate(statement, before)["x"].publish
        operator = RedisRuleStore(redis_client)
        await operator.write(
            before.with_rule("x", "tweet", min_bucket_ppv=0.9), who="ana", why="tighten", at="t"
        )
        assert (await live.current()).version == before.version  # within the interval
        await asyncio.sleep(0.25)
        after = await live.current()
        assert after.version == before.version + 1
        assert evaluate(statement, after)["x"].reason == "bucket PPV 0.830 < 0.9"
    finally:
        await worker_redis.aclose()


def test_cli_set_without_token_is_refused(
    env: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["set", "--channel", "x", "--kind", "tweet", "--min-bucket-ppv", "0.9", "--why", "x"]
    assert cli.main(argv) == 3
    assert "no operator token is configured" in capsys.readouterr().err
    assert env.exists(keys.thresholds(), keys.thresholds_audit()) == 0

    monkeypatch.setenv("CLAIMWATCH_OPERATOR_TOKEN", TOKEN)  # configured, but --token is wrong
    assert cli.main([*argv, "--token", "wrong"]) == 3
    assert "does not match" in capsys.readouterr().err
    assert env.exists(keys.thresholds(), keys.thresholds_audit()) == 0


def test_cli_set_show_history(
    env: redis.Redis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLAIMWATCH_OPERATOR_TOKEN", TOKEN)
    assert cli.main(["show"]) == 0
    assert "config seed (not yet in Redis)" in capsys.readouterr().out

    assert (
        cli.main(
            [
                "set",
                "--channel",
                "x",
                "--kind",
                "tweet",
                "--min-bucket-ppv",
                "0.9",
                "--why",
                "fewer false alarms",
                "--who",
                "ana",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rules version 2 written by ana: fewer false alarms" in out
    assert (
        cli.main(
            [
                "set",
                "--channel",
                "ipfs",
                "--kind",
                "all",
                "--disable",
                "--why",
                "node maintenance",
                "--who",
                "bob",
                "--token",
                TOKEN,
            ]
        )
        == 0
    )
    assert "ipfs/transcript enabled: True -> False" in capsys.readouterr().out
    # the same change again writes nothing
    assert (
        cli.main(
            [
                "set",
                "--channel",
                "ipfs",
                "--kind",
                "all",
                "--disable",
                "--why",
                "again",
                "--who",
                "bob",
            ]
        )
        == 0
    )
    assert "no change" in capsys.readouterr().out
    assert env.xlen(keys.thresholds_audit()) == 3  # seed + 2 changes

    assert cli.main(["show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 3 and shown["updated_by"] == "bob"
    assert shown["rules"]["x"]["tweet"]["min_bucket_ppv"] == 0.9
    assert shown["rules"]["x"]["transcript"]["min_bucket_ppv"] == 0.8  # seed kept
    assert not shown["rules"]["ipfs"]["tweet"]["enabled"]

    assert cli.main(["history", "--json"]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["version"], e["who"], e["why"]) for e in entries] == [
        (3, "bob", "node maintenance"),
        (2, "ana", "fewer false alarms"),
        (1, "config", "seeded from configuration"),
    ]
    assert entries[1]["changes"] == ["x/tweet min_bucket_ppv: 0.8 -> 0.9"]

    assert (
        cli.main(
            [
                "set",
                "--channel",
                "x",
                "--kind",
                "tweet",
                "--enable",
                "--why",
                "w",
                "--expect-version",
                "2",
            ]
        )
        == 4
    )  # stale base refused
    assert "not 2" in capsys.readouterr().err


def test_cli_set_from_file(
    env: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CLAIMWATCH_OPERATOR_TOKEN", TOKEN)
    f = tmp_path / "rules.yaml"
    f.write_text("x:\n  tweet: {enabled: true, min_confidence: 0.95}\n")
    assert cli.main(["set", "--file", str(f), "--why", "from file"]) == 0
    stored = asyncio.run(_load(env))
    assert stored.rule_for("x", "tweet").min_confidence == 0.95
    assert not stored.rule_for("ipfs", "tweet").enabled
    f.write_text("x:\n  tweet: {enabled: true, min_confidence: 0.2}\n")
    assert cli.main(["set", "--file", str(f), "--why", "bad"]) == 2
    assert "invalid rule change" in capsys.readouterr().err


async def _load(env: redis.Redis) -> RuleSet:
    client = Redis(
        **{
            k: v
            for k, v in env.connection_pool.connection_kwargs.items()
            if k in ("host", "port", "db")
        }
    )
    try:
        rules = await RedisRuleStore(client).load()
        assert rules is not None
        return rules
    finally:
        await client.aclose()


def test_cli_suggest_with_plot(
    env: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_artifacts(tmp_path / "minilm-liar", calibration_points())
    plot = tmp_path / "ppv.png"
    assert (
        cli.main(
            [
                "suggest",
                "--target-ppv",
                "0.8",
                "--kind",
                "tweet",
                "--min-published",
                "5",
                "--calibration-dir",
                str(folder),
                "--plot",
                str(plot),
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["suggested"]["rule"]["min_bucket_ppv"] == pytest.approx(0.83)
    assert out["suggested"]["coverage"] == pytest.approx(20 / 60)
    assert out["current_source"] == "config seed (not yet in Redis)"
    assert out["current"]["n_published"] == 20  # seed: x/tweet min_bucket_ppv 0.8
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["suggest", "--target-ppv", "0.99", "--calibration-dir", str(folder)]) == 1
    assert "no rule reaches PPV 0.99" in capsys.readouterr().out


async def test_recent_lists_decisions_and_ledger_status(
    redis_url: str,
    redis_client: Redis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rules = RuleSet.from_table({"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.8}}}, 4)
    for i, p in enumerate((0.95, 0.3, 0.85)):
        s = scored(p, sid=f"id{i}")
        entry = recent_entry(
            s,
            evaluate(s, rules),
            rule_version=rules.version,
            replay=False,
            decided_at=f"2024-01-01T00:00:0{i}+00:00",
        )
        await push_recent_many(redis_client, [entry], max_len=2)
    await redis_client.hset(keys.ledger("x", "id2"), mapping={"status": "done"})  # type: ignore[misc]
    monkeypatch.setenv("CLAIMWATCH_REDIS_URL", redis_url)
    await asyncio.to_thread(recent_cli.main, ["--n", "10"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2  # capped at 2, newest first
    assert "id2" in lines[0] and "x: post (done)" in lines[0] and "rules v4" in lines[0]
    assert "id1" in lines[1] and "x: skip (not predicted false)" in lines[1]
    assert "ipfs: skip (disabled)" in lines[1]


async def test_recent_entry_with_numpy_scores_is_stored_as_plain_json(redis_client: Redis) -> None:
    """A score straight from the model (numpy) encodes as the stdlib encoder's did."""
    import numpy as np

    s = scored(0.9, sid="np")
    entry = recent_entry(
        s, evaluate(s, SEED), rule_version=1, replay=False, decided_at="2024-01-01T00:00:00+00:00"
    )
    entry["p_false"], entry["confidence"] = np.float64(0.9), np.float32(0.5)
    await redis_client.delete(keys.recent_predictions())
    await push_recent_many(redis_client, [entry], max_len=5)
    raw = await redis_client.lrange(keys.recent_predictions(), 0, -1)  # type: ignore[misc]
    assert len(raw) == 1
    stored = json.loads(raw[0])
    assert stored["p_false"] == 0.9 and stored["confidence"] == 0.5 and stored["id"] == "np"
