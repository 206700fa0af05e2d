"""Confidence buckets on hand-made predictions, and the lookup's edges."""

from __future__ import annotations

import numpy as np
import pytest

from inference.buckets import (
    bucket_index,
    build_buckets_document,
    compute_buckets,
    holdout_check,
    lookup,
)
from inference.metrics import mcc, roc_auc, summary


def test_equal_count_buckets_with_known_ppv_npv() -> None:
    # Bucket 0 (confidences 0.55..0.6): 2 positive predictions (1 right), 2 negative (both right).
    # Bucket 1 (confidences 0.8..0.9): 2 positive (both right), 2 negative (1 right).
    p = np.array([0.55, 0.6, 0.45, 0.4, 0.8, 0.9, 0.2, 0.1])
    y = np.array([1, 0, 0, 0, 1, 1, 0, 1])
    b0, b1 = compute_buckets(p, y, bucket_count=2)
    assert (b0.index, b0.n, b1.index, b1.n) == (0, 4, 1, 4)
    assert b0.floor == 0.5 and b0.ceiling == pytest.approx(0.6)
    assert b1.floor == pytest.approx(0.6) and b1.ceiling == 1.0
    assert b0.ppv == pytest.approx(0.5) and b0.npv == pytest.approx(1.0)
    assert b0.accuracy == pytest.approx(0.75)
    assert b1.ppv == pytest.approx(1.0) and b1.npv == pytest.approx(0.5)
    assert b1.positive_ratio == pytest.approx(0.5)
    assert (b0.tp_ratio, b0.tn_ratio, b0.fp_ratio, b0.fn_ratio) == (0.25, 0.5, 0.25, 0.0)
    assert b1.tp_ratio + b1.tn_ratio + b1.fp_ratio + b1.fn_ratio == pytest.approx(1.0)


def test_undefined_ratio_is_none() -> None:
    b = compute_buckets(np.array([0.1, 0.2]), np.array([0, 1]), bucket_count=1)[0]
    assert b.ppv is None  # no positive predictions
    assert b.npv == pytest.approx(0.5)


def test_too_few_predictions_is_an_error() -> None:
    with pytest.raises(ValueError):
        compute_buckets(np.array([0.9]), np.array([1]), bucket_count=2)


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(0.5, 0), (0.6, 0), (0.6000001, 1), (0.7, 1), (0.95, 2), (1.0, 2), (1.5, 2)],
)
def test_bucket_index_edges(confidence: float, expected: int) -> None:
    # ceilings are inclusive; anything above the last ceiling lands in the last bucket
    assert bucket_index([0.6, 0.7, 1.0], confidence) == expected


def test_lookup_uses_confidence_of_either_side() -> None:
    table = [{"index": 0, "ceiling": 0.6}, {"index": 1, "ceiling": 1.0}]
    assert lookup(table, 0.41)["index"] == 0  # confidence 0.59
    assert lookup(table, 0.59)["index"] == 0
    assert lookup(table, 0.05)["index"] == 1
    assert lookup(table, 0.95)["index"] == 1
    with pytest.raises(ValueError):
        bucket_index([], 0.7)


def test_document_schema_and_holdout() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.clip(y * 0.3 + rng.uniform(0.1, 0.6, 400), 0, 1)
    kinds = ["tweet"] * 20 + ["transcript"] * 380
    doc = build_buckets_document(p, y, kinds, bucket_count=4, calibrated_on="test", seed=3)
    assert doc["schema_version"] == 1 and doc["bucket_count"] == 4
    assert set(doc["global"]) == {"n", "accuracy", "auc", "mcc", "positive_ratio"}
    assert [r["index"] for r in doc["tables"]["all"]] == [0, 1, 2, 3]
    assert sum(r["n"] for r in doc["tables"]["all"]) == 400
    assert "transcript" in doc["tables"] and "tweet" not in doc["tables"]
    assert doc["kind_tables_skipped_too_few"] == {"tweet": 20}
    keys = {
        "floor",
        "ceiling",
        "n",
        "accuracy",
        "ppv",
        "npv",
        "positive_ratio",
        "tp_ratio",
        "tn_ratio",
        "fp_ratio",
        "fn_ratio",
    }
    assert keys <= set(doc["tables"]["all"][0])
    hold = doc["holdout"]
    assert hold["calibration_n"] == 200 and hold["holdout_n"] == 200
    assert sum(r["holdout_n"] for r in hold["buckets"]) == 200
    assert hold == holdout_check(p, y, 4, seed=3)  # seeded: reproducible


def test_metrics_against_hand_computed_values() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # ties count half
    assert mcc(tp=5, tn=5, fp=0, fn=0) == pytest.approx(1.0)
    assert mcc(0, 0, 3, 3) == pytest.approx(-1.0)
    s = summary([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6])
    assert s["accuracy"] == 0.5 and s["positive_ratio"] == 0.5
