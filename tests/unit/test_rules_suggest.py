"""``thresholds suggest`` logic on hand-made calibration data (see fixtures_rules for the
hand-checked counts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.suggest import (
    CalibrationPoint,
    evaluate_rule,
    evaluate_rule_set,
    load_bucket_tables,
    load_calibration,
    plot_ppv_coverage,
    suggest,
)
from streams.rules import ChannelRule, RuleSet
from tests.fixtures_rules import calibration_points, write_artifacts


@pytest.fixture
def points(tmp_path: Path) -> list[CalibrationPoint]:
    folder = write_artifacts(tmp_path / "model", calibration_points())
    tables = load_bucket_tables(folder / "buckets.json")
    return load_calibration(folder / "calibration.jsonl", tables)


def test_calibration_points_get_their_bucket(points: list[CalibrationPoint]) -> None:
    by_id = {p.id: p for p in points}
    assert (by_id["b0.95-0"].bucket, by_id["b0.95-0"].bucket_ppv) == (4, 0.92)
    assert (by_id["b0.65-0"].bucket, by_id["b0.65-0"].prediction) == (1, 1)
    # confidence 0.8 sits on a ceiling: buckets cover (floor, ceiling], as the scorer has it
    assert (by_id["t-0"].bucket, by_id["t-0"].prediction, by_id["t-0"].bucket_npv) == (2, 0, 0.7)


def test_evaluate_rule_counts_posts_and_ppv(points: list[CalibrationPoint]) -> None:
    out = evaluate_rule(ChannelRule(enabled=True, min_bucket_ppv=0.7), points)
    assert (out.n_total, out.n_published, out.correct) == (60, 30, 21)
    assert out.ppv == pytest.approx(0.7)
    assert out.coverage == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("target", "by", "threshold", "published", "ppv"),
    [
        (0.8, "ppv", 0.83, 20, 0.8),  # buckets 3+4: 16/20; adding bucket 2 drops to 0.70
        (0.7, "ppv", 0.71, 30, 0.7),
        (0.6, "ppv", 0.62, 40, 0.625),
        (0.85, "ppv", 0.92, 10, 0.9),
        (0.8, "confidence", 0.8, 20, 0.8),
        (0.65, "confidence", 0.7, 30, 0.7),
    ],
)
def test_suggest_picks_the_loosest_rule_meeting_the_target(
    points: list[CalibrationPoint],
    target: float,
    by: str,
    threshold: float,
    published: int,
    ppv: float,
) -> None:
    result = suggest(points, target_ppv=target, by=by, min_published=5)  # type: ignore[arg-type]
    best = result.best
    assert best is not None
    value = best.rule.min_bucket_ppv if by == "ppv" else best.rule.min_confidence
    assert value == pytest.approx(threshold)
    assert best.n_published == published
    assert best.ppv == pytest.approx(ppv)
    assert best.coverage == pytest.approx(published / 60)
    # loosest: no candidate meeting the target posts more
    assert all(
        o.n_published <= best.n_published
        for o in result.curve
        if o.ppv is not None and o.ppv >= target
    )


def test_suggest_none_when_unreachable_or_too_few(points: list[CalibrationPoint]) -> None:
    assert suggest(points, target_ppv=0.95, min_published=1).best is None
    assert suggest(points, target_ppv=0.85, min_published=11).best is None


def test_current_rules_are_applied_per_kind(points: list[CalibrationPoint]) -> None:
    rules = RuleSet.from_table({"x": {"tweet": {"enabled": True, "min_bucket_ppv": 0.9}}})
    out = evaluate_rule_set(rules, "x", points)
    assert (out.n_published, out.correct) == (10, 9)
    assert "tweet: likely-false only, bucket PPV >= 0.9" in out.description


def test_plot_is_a_png(points: list[CalibrationPoint], tmp_path: Path) -> None:
    result = suggest(points, target_ppv=0.8, min_published=5)
    current = evaluate_rule(ChannelRule(enabled=True, min_bucket_ppv=0.7), points)
    out = tmp_path / "plots" / "ppv.png"
    plot_ppv_coverage(result, target_ppv=0.8, current=current, title="t", out=out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 5000


def test_null_ratios_in_buckets_json_are_read_as_unknown(tmp_path: Path) -> None:
    folder = write_artifacts(tmp_path / "m", [("a", 0.95, 1, "tweet")])
    doc = json.loads((folder / "buckets.json").read_text())
    doc["tables"]["all"][4]["npv"] = None
    (folder / "buckets.json").write_text(json.dumps(doc))
    tables = load_bucket_tables(folder / "buckets.json")
    assert tables["all"][4].npv is None
    point = load_calibration(folder / "calibration.jsonl", tables)[0]
    assert (point.bucket, point.bucket_npv, point.bucket_ppv) == (4, None, 0.92)
