"""Evaluation report: metrics on a tiny hand-checked set, sklearn cross-check, writers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ops.report import (
    ReportRecord,
    build_report,
    confusion,
    mcc,
    roc_auc,
    time_windows,
    write_report,
)

W1, W2 = "2020-01-06T10:00:00+00:00", "2021-03-03T10:00:00+00:00"
# (label, p_false, bucket, said_at): TP, TP, FN, FP, TN, TN
ROWS = [
    (1, 0.9, 2, W1),
    (1, 0.8, 1, W1),
    (1, 0.3, 0, W1),
    (0, 0.7, 0, W2),
    (0, 0.2, 1, W2),
    (0, 0.1, 2, W2),
]
DECISIONS = {
    0: {"current": ["x", "ipfs"], "alternative": ["x"]},
    1: {"alternative": ["x"]},
    3: {"current": ["ipfs"]},
}


def records(with_labels: bool = True) -> list[ReportRecord]:
    return [
        ReportRecord(
            id=f"r{i}",
            said_at=said,
            kind="tweet" if i % 2 else "transcript",
            p_false=p,
            bucket=b,
            bucket_ppv=0.5 + 0.1 * b,
            label=label if with_labels else None,
            decisions=DECISIONS.get(i, {}),
        )
        for i, (label, p, b, said) in enumerate(ROWS)
    ]


def test_global_metrics_by_hand() -> None:
    g = build_report(records())["global"]
    assert g["confusion"] == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}
    assert g["accuracy"] == pytest.approx(4 / 6)
    assert g["ppv"] == pytest.approx(2 / 3) and g["npv"] == pytest.approx(2 / 3)
    assert g["mcc"] == pytest.approx(3 / 9)  # (2*2 - 1*1) / sqrt(3*3*3*3)
    assert g["auc"] == pytest.approx(8 / 9)  # 8 of 9 (false, not false) pairs ordered right
    assert g["label_positive_ratio"] == pytest.approx(0.5)


def test_per_bucket_and_per_window_by_hand() -> None:
    rep = build_report(records())
    buckets = {b["bucket"]: b for b in rep["by_bucket"]}
    assert buckets[0]["confusion"] == {"tp": 0, "fp": 1, "tn": 0, "fn": 1}
    assert (buckets[0]["accuracy"], buckets[0]["ppv"], buckets[0]["npv"]) == (0.0, 0.0, 0.0)
    assert (buckets[1]["accuracy"], buckets[1]["ppv"], buckets[1]["npv"]) == (1.0, 1.0, 1.0)
    assert buckets[2]["calibrated_ppv"] == pytest.approx(0.7)
    assert (buckets[2]["confidence_min"], buckets[2]["confidence_max"]) == (0.9, 0.9)
    assert rep["window_grain"] == "week"
    windows = {w["window"]: w for w in rep["by_window"]}
    assert set(windows) == {"2020-W02", "2021-W09"}
    first, second = windows["2020-W02"], windows["2021-W09"]
    assert first["confusion"] == {"tp": 2, "fp": 0, "tn": 0, "fn": 1}
    assert (first["accuracy"], first["ppv"], first["npv"]) == (pytest.approx(2 / 3), 1.0, 0.0)
    assert second["confusion"] == {"tp": 0, "fp": 1, "tn": 2, "fn": 0}
    assert rep["by_kind"]["tweet"]["n"] == 3


def test_would_be_posts_under_each_rule_set() -> None:
    rep = build_report(records(), rule_sets={"current": "redis v3", "alternative": "alt.yaml"})
    cur, alt = rep["would_be_posts"]["current"], rep["would_be_posts"]["alternative"]
    assert cur["description"] == "redis v3"
    assert cur["channels"]["x"] | {"examples": None} == {
        "posts": 1,
        "share": pytest.approx(1 / 6),
        "labelled": 1,
        "correct": 1,
        "precision": 1.0,
        "examples": None,
    }
    assert (cur["channels"]["ipfs"]["posts"], cur["channels"]["ipfs"]["precision"]) == (2, 0.5)
    assert cur["channels"]["ipfs"]["examples"] == ["r0", "r3"]
    assert (alt["channels"]["x"]["posts"], alt["channels"]["x"]["precision"]) == (2, 1.0)
    assert "ipfs" not in alt["channels"]


def test_auc_ties_and_degenerate_cases() -> None:
    assert roc_auc(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([1, 1]), np.array([0.2, 0.9])) is None
    assert mcc({"tp": 3, "fp": 0, "tn": 0, "fn": 0}) == 0.0


def test_metrics_agree_with_sklearn() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 300)
    scores = np.round(np.clip(labels * 0.2 + rng.random(300) * 0.8, 0, 1), 2)  # with ties
    preds = (scores >= 0.5).astype(int)
    assert roc_auc(labels, scores) == pytest.approx(sk.roc_auc_score(labels, scores))
    cm = confusion(labels, preds)
    assert mcc(cm) == pytest.approx(sk.matthews_corrcoef(labels, preds))
    tn, fp, fn, tp = sk.confusion_matrix(labels, preds).ravel()
    assert cm == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def test_time_window_grain_stays_readable() -> None:
    days = [f"2020-{m:02d}-{d:02d}T00:00:00+00:00" for m in range(1, 13) for d in (1, 15)]
    grain, keys = time_windows([*days, "not a time"], max_windows=12)
    assert grain == "month"
    assert keys[0] == "2020-01" and keys[-2] == "2020-12" and keys[-1] == "unknown"
    assert time_windows(days, max_windows=4)[0] == "quarter"


def test_without_labels_only_distribution_and_posts() -> None:
    rep = build_report(records(with_labels=False))
    assert not rep["has_labels"] and "global" not in rep
    dist = rep["score_distribution"]
    assert sum(dist["all"]) == 6
    assert dist["predicted_false_ratio"] == pytest.approx(0.5)
    assert dist["by_bucket"] == {"0": 2, "1": 2, "2": 2}
    assert rep["would_be_posts"]["current"]["channels"]["ipfs"]["precision"] is None


def test_writers_produce_json_pngs_and_html(tmp_path: Path) -> None:
    rep = build_report(
        records(),
        rule_sets={"current": "v1"},
        throughput={"statements": 6, "statements_per_s": 120.5},
    )
    files = write_report(rep, tmp_path / "report")
    names = {f.name for f in files}
    assert names == {
        "report.json",
        "index.html",
        "scores.png",
        "roc.png",
        "buckets.png",
        "confusion_by_bucket.png",
        "confusion_by_window.png",
    }
    for f in files:
        if f.suffix == ".png":
            assert f.read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "report" / "report.json").read_text())["global"]["n"] == 6
    page = (tmp_path / "report" / "index.html").read_text()
    assert "confusion_by_window.png" in page and "66.7%" in page and "120.500" in page

    unlabelled = write_report(build_report(records(False)), tmp_path / "u")
    assert {f.name for f in unlabelled} == {"report.json", "index.html", "scores.png"}


def test_bucket_without_calibrated_ppv() -> None:
    recs = [
        ReportRecord(
            id="a", said_at=W1, kind="tweet", p_false=0.9, bucket=0, bucket_ppv=None, label=1
        )
    ]
    assert build_report(recs)["by_bucket"][0]["calibrated_ppv"] is None


def test_scoring_window_counts_from_the_first_batch_done_to_the_last() -> None:
    from ops.evaluate import scoring_window
    from tests.fixtures_rules import scored

    items = [scored(0.9, sid=str(i)) for i in range(7)]
    stamps = ["00", "00", "00", "02", "02", "04", "04"]  # three batches, two seconds apart
    for item, second in zip(items, stamps, strict=True):
        item.scored_at = f"2024-01-01T00:00:{second}+00:00"
    assert scoring_window(items) == {"scoring_window_s": 4.0, "scored_per_s_in_window": 1.0}
    assert scoring_window(items[:3]) == {"scoring_window_s": None, "scored_per_s_in_window": None}
