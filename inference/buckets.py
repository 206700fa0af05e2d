"""Confidence buckets (as Deep Classiflie published them): how often the model is right at a
given confidence, measured on held-out predictions.

confidence = max(p, 1 - p). Buckets hold equal counts of validation predictions, ascending by
confidence (index 0 = least confident). A bucket covers ``(floor, ceiling]``; bucket 0's floor
is 0.5 (inclusive) and the last bucket's ceiling is 1.0, so every confidence has a bucket.
Ratios that are undefined (PPV of a bucket with no positive predictions) are ``None``.
Everything here is pure: numbers in, numbers out.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inference.metrics import confusion, summary

SCHEMA_VERSION = 1
DEFAULT_BUCKET_COUNT = 8
MIN_PER_BUCKET_FOR_KIND_TABLE = 25


@dataclass(frozen=True)
class Bucket:
    index: int
    floor: float
    ceiling: float
    n: int
    accuracy: float
    ppv: float | None
    npv: float | None
    positive_ratio: float
    tp_ratio: float
    tn_ratio: float
    fp_ratio: float
    fn_ratio: float


def confidence_of(p_false: float | np.ndarray) -> Any:
    return (
        np.maximum(p_false, 1.0 - np.asarray(p_false))
        if isinstance(p_false, np.ndarray)
        else max(p_false, 1.0 - p_false)
    )


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def bucket_stats(
    index: int, floor: float, ceiling: float, labels: np.ndarray, p_false: np.ndarray
) -> Bucket:
    """One bucket's row from the labels and predictions that fall in it."""
    tp, tn, fp, fn = confusion(labels, (p_false >= 0.5).astype(np.int64))
    n = len(labels)
    return Bucket(
        index=index,
        floor=float(floor),
        ceiling=float(ceiling),
        n=n,
        accuracy=(tp + tn) / n if n else 0.0,
        ppv=_ratio(tp, tp + fp),
        npv=_ratio(tn, tn + fn),
        positive_ratio=(tp + fp) / n if n else 0.0,
        tp_ratio=tp / n if n else 0.0,
        tn_ratio=tn / n if n else 0.0,
        fp_ratio=fp / n if n else 0.0,
        fn_ratio=fn / n if n else 0.0,
    )


def compute_buckets(
    p_false: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    bucket_count: int = DEFAULT_BUCKET_COUNT,
) -> list[Bucket]:
    """Equal-count buckets over ``p_false`` ascending by confidence, with their metrics."""
    p = np.asarray(p_false, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if len(p) != len(y):
        raise ValueError("p_false and labels differ in length")
    if bucket_count < 1 or len(p) < bucket_count:
        raise ValueError(f"need at least {bucket_count} predictions for {bucket_count} buckets")
    conf = np.maximum(p, 1.0 - p)
    order = np.argsort(conf, kind="mergesort")
    chunks = np.array_split(order, bucket_count)
    buckets: list[Bucket] = []
    floor = 0.5
    for i, chunk in enumerate(chunks):
        ceiling = 1.0 if i == bucket_count - 1 else float(conf[chunk].max())
        buckets.append(bucket_stats(i, floor, ceiling, y[chunk], p[chunk]))
        floor = ceiling
    return buckets


def bucket_index(ceilings: Sequence[float], confidence: float) -> int:
    """Index of the first bucket whose ceiling is >= confidence; above all -> the last one."""
    if not ceilings:
        raise ValueError("empty bucket table")
    i = bisect.bisect_left(list(ceilings), confidence)
    return min(i, len(ceilings) - 1)


def lookup(table: Sequence[Mapping[str, Any]], p_false: float) -> Mapping[str, Any]:
    """The bucket row (as stored in buckets.json) for a new prediction."""
    return table[bucket_index([row["ceiling"] for row in table], confidence_of(p_false))]


def assign(buckets: Sequence[Bucket], p_false: np.ndarray) -> np.ndarray:
    """Bucket index of each prediction under an existing table."""
    ceilings = [b.ceiling for b in buckets]
    return np.array([bucket_index(ceilings, float(c)) for c in np.maximum(p_false, 1 - p_false)])


def holdout_check(
    p_false: np.ndarray, labels: np.ndarray, bucket_count: int, seed: int = 0
) -> dict[str, Any]:
    """Calibrate on a seeded random half, then measure each bucket on the other half.

    An honest bucket's PPV/accuracy on the unseen half stays close to its calibration value.
    """
    p = np.asarray(p_false, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(len(p))
    half = len(p) // 2
    cal, chk = perm[:half], perm[half:]
    table = compute_buckets(p[cal], y[cal], bucket_count)
    where = assign(table, p[chk])
    rows: list[dict[str, Any]] = []
    for b in table:
        mask = where == b.index
        seen = bucket_stats(b.index, b.floor, b.ceiling, y[chk][mask], p[chk][mask])
        gap = None if b.ppv is None or seen.ppv is None else abs(b.ppv - seen.ppv)
        rows.append(
            {
                "index": b.index,
                "ceiling": b.ceiling,
                "calibration_n": b.n,
                "calibration_accuracy": b.accuracy,
                "calibration_ppv": b.ppv,
                "holdout_n": seen.n,
                "holdout_accuracy": seen.accuracy if seen.n else None,
                "holdout_ppv": seen.ppv,
                "ppv_gap": gap,
            }
        )
    gaps = [r["ppv_gap"] for r in rows if r["ppv_gap"] is not None]
    acc_gaps = [
        abs(r["calibration_accuracy"] - r["holdout_accuracy"])
        for r in rows
        if r["holdout_accuracy"] is not None
    ]
    return {
        "method": "calibrate on a seeded random half of the calibration set, check on the other",
        "seed": seed,
        "calibration_n": len(cal),
        "holdout_n": len(chk),
        "buckets": rows,
        "mean_abs_ppv_gap": float(np.mean(gaps)) if gaps else None,
        "max_abs_ppv_gap": float(np.max(gaps)) if gaps else None,
        "mean_abs_accuracy_gap": float(np.mean(acc_gaps)) if acc_gaps else None,
    }


def build_buckets_document(
    p_false: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    kinds: Sequence[str],
    *,
    bucket_count: int = DEFAULT_BUCKET_COUNT,
    calibrated_on: str,
    seed: int = 0,
) -> dict[str, Any]:
    """The buckets.json document (schema_version 1). Per-kind tables only where each of the
    kind's buckets would hold at least MIN_PER_BUCKET_FOR_KIND_TABLE predictions."""
    p = np.asarray(p_false, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    k = np.asarray(list(kinds))
    tables: dict[str, list[dict[str, Any]]] = {
        "all": [asdict(b) for b in compute_buckets(p, y, bucket_count)]
    }
    skipped: dict[str, int] = {}
    for kind in ("tweet", "transcript"):
        mask = k == kind
        if int(mask.sum()) >= bucket_count * MIN_PER_BUCKET_FOR_KIND_TABLE:
            tables[kind] = [asdict(b) for b in compute_buckets(p[mask], y[mask], bucket_count)]
        else:
            skipped[kind] = int(mask.sum())
    return {
        "schema_version": SCHEMA_VERSION,
        "bucket_count": bucket_count,
        "calibrated_on": calibrated_on,
        "global": summary(y, p),
        "tables": tables,
        "kind_tables_skipped_too_few": skipped,
        "holdout": holdout_check(p, y, bucket_count, seed),
    }
