"""Hand-made buckets, scored statements and calibration data for the gate/rules/report tests."""

from __future__ import annotations

import json
from pathlib import Path

from ops.suggest import BucketRow, bucket_of
from streams.records import ScoredStatement, Statement

# Five buckets by confidence, the PPV rising with confidence as a calibrated model's would.
BUCKETS = [
    BucketRow(index=0, floor=0.5, ceiling=0.6, n=10, accuracy=0.55, ppv=0.55, npv=0.60),
    BucketRow(index=1, floor=0.6, ceiling=0.7, n=10, accuracy=0.62, ppv=0.62, npv=0.65),
    BucketRow(index=2, floor=0.7, ceiling=0.8, n=10, accuracy=0.71, ppv=0.71, npv=0.70),
    BucketRow(index=3, floor=0.8, ceiling=0.9, n=10, accuracy=0.83, ppv=0.83, npv=0.80),
    BucketRow(index=4, floor=0.9, ceiling=1.0, n=10, accuracy=0.92, ppv=0.92, npv=0.90),
]


def scored(p_false: float, kind: str = "tweet", sid: str = "s1") -> ScoredStatement:
    """A ScoredStatement whose bucket comes from BUCKETS, as the scorer would assign it."""
    confidence = max(p_false, 1 - p_false)
    row = bucket_of(confidence, BUCKETS)
    statement = Statement(
        id=sid,
        source="replay",
        kind=kind,
        author="A. Speaker",
        text="Taxes doubled.",
        said_at="2024-01-01T00:00:00+00:00",
        ingested_at="2024-01-01T00:00:01+00:00",
        external_id=sid,
    )
    return ScoredStatement(
        statement=statement,
        p_false=p_false,
        prediction=int(p_false >= 0.5),
        confidence=confidence,
        bucket=row.index,
        bucket_ceiling=row.ceiling,
        bucket_accuracy=row.accuracy,
        bucket_ppv=row.ppv,
        bucket_npv=row.npv,
        model_version="test",
        model_sha256="0" * 64,
    )


def write_artifacts(folder: Path, points: list[tuple[str, float, int, str]]) -> Path:
    """buckets.json (schema 1, BUCKETS as the "all" table) and calibration.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    table = [
        {
            "index": b.index,
            "floor": b.floor,
            "ceiling": b.ceiling,
            "n": b.n,
            "accuracy": b.accuracy,
            "ppv": b.ppv,
            "npv": b.npv,
            "positive_ratio": 0.5,
            "tp_ratio": 0.25,
            "tn_ratio": 0.25,
            "fp_ratio": 0.25,
            "fn_ratio": 0.25,
        }
        for b in BUCKETS
    ]
    (folder / "buckets.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "bucket_count": len(BUCKETS),
                "global": {
                    "n": 50,
                    "accuracy": 0.7,
                    "auc": 0.75,
                    "mcc": 0.4,
                    "positive_ratio": 0.5,
                },
                "tables": {"all": table},
            }
        )
    )
    with (folder / "calibration.jsonl").open("w") as fh:
        for id_, p, label, kind in points:
            fh.write(json.dumps({"id": id_, "p_false": p, "label": label, "kind": kind}) + "\n")
    return folder


def calibration_points() -> list[tuple[str, float, int, str]]:
    """Hand-checked calibration set; predicted-false statements per bucket (tweets):

    bucket 4 (p 0.95): 10, 9 labelled false -> PPV 0.90
    bucket 3 (p 0.85): 10, 7 labelled false -> cumulative 16/20 = 0.80
    bucket 2 (p 0.75): 10, 5 labelled false -> cumulative 21/30 = 0.70
    bucket 1 (p 0.65): 10, 4 labelled false -> cumulative 25/40 = 0.625
    plus 20 predicted-true statements (p 0.2) that predicted-false-only rules never post.
    Total 60: a rule at min_bucket_ppv 0.83 posts 20 (coverage 1/3) with PPV 0.80.
    """
    pts: list[tuple[str, float, int, str]] = []
    for p, n_false in ((0.95, 9), (0.85, 7), (0.75, 5), (0.65, 4)):
        pts += [(f"b{p}-{i}", p, int(i < n_false), "tweet") for i in range(10)]
    pts += [(f"t-{i}", 0.2, int(i < 4), "tweet") for i in range(20)]
    return pts
