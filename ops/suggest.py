"""Data-backed threshold suggestions: evaluate candidate rules on the model's calibration set.

Every candidate is judged by the real posting gate on the validation statements the buckets
were calibrated on, so "PPV" here is the share of would-be posts that PolitiFact-style labels
mark false, and "coverage" the share of all statements that would be posted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from inference.buckets import bucket_index
from streams.gate import gate
from streams.rules import ChannelRule, RuleSet

SuggestBy = Literal["ppv", "confidence"]


@dataclass(frozen=True)
class BucketRow:
    """One confidence bucket of buckets.json (buckets ascend by confidence = max(p, 1-p))."""

    index: int
    floor: float
    ceiling: float
    n: int
    accuracy: float | None
    ppv: float | None  # None: no such prediction in the bucket
    npv: float | None


@dataclass(frozen=True)
class CalibrationPoint:
    """A validation statement with its prediction and its bucket's calibrated precision."""

    id: str
    kind: str
    p_false: float
    label: int
    prediction: int
    confidence: float
    bucket: int
    bucket_floor: float
    bucket_ppv: float | None
    bucket_npv: float | None


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule would have done on the calibration set."""

    rule: ChannelRule
    n_total: int
    n_published: int
    correct: int  # published statements whose label agrees with the prediction
    description: str = ""

    @property
    def ppv(self) -> float | None:
        """Precision of the posts: PPV when only likely-false statements are posted."""
        return self.correct / self.n_published if self.n_published else None

    @property
    def coverage(self) -> float:
        return self.n_published / self.n_total if self.n_total else 0.0


@dataclass(frozen=True)
class Suggestion:
    best: RuleOutcome | None
    curve: list[RuleOutcome]  # every candidate, loosest (highest coverage) first


def load_bucket_tables(path: Path) -> dict[str, list[BucketRow]]:
    """Tables of buckets.json by name (``all`` and optionally ``tweet``/``transcript``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema_version") != 1:
        raise ValueError(f"{path}: unsupported schema_version {data.get('schema_version')!r}")
    tables: dict[str, list[BucketRow]] = {}
    for name, rows in data["tables"].items():
        tables[name] = sorted(
            (
                BucketRow(
                    index=int(r["index"]),
                    floor=float(r["floor"]),
                    ceiling=float(r["ceiling"]),
                    n=int(r["n"]),
                    accuracy=_opt(r.get("accuracy")),
                    ppv=_opt(r.get("ppv")),
                    npv=_opt(r.get("npv")),
                )
                for r in rows
            ),
            key=lambda b: b.floor,
        )
    if "all" not in tables:
        raise ValueError(f"{path}: no 'all' bucket table")
    return tables


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def bucket_of(confidence: float, rows: list[BucketRow]) -> BucketRow:
    """The bucket covering ``(floor, ceiling]``, exactly as the scorer assigns it."""
    return rows[bucket_index([r.ceiling for r in rows], confidence)]


def table_for(kind: str, tables: dict[str, list[BucketRow]]) -> list[BucketRow]:
    """The table the live scorer uses for this kind: ``all`` (it keeps one table for now)."""
    return tables["all"]


def make_point(
    id_: str, kind: str, p_false: float, label: int, tables: dict[str, list[BucketRow]]
) -> CalibrationPoint:
    confidence = max(p_false, 1.0 - p_false)
    row = bucket_of(confidence, table_for(kind, tables))
    return CalibrationPoint(
        id=id_,
        kind=kind,
        p_false=p_false,
        label=label,
        prediction=int(p_false >= 0.5),
        confidence=confidence,
        bucket=row.index,
        bucket_floor=row.floor,
        bucket_ppv=row.ppv,
        bucket_npv=row.npv,
    )


def load_calibration(path: Path, tables: dict[str, list[BucketRow]]) -> list[CalibrationPoint]:
    """calibration.jsonl: one ``{"id", "p_false", "label", "kind"}`` per line."""
    points = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r: dict[str, Any] = json.loads(line)
            points.append(
                make_point(
                    str(r["id"]), str(r["kind"]), float(r["p_false"]), int(r["label"]), tables
                )
            )
    return points


def evaluate_rule(rule: ChannelRule, points: list[CalibrationPoint]) -> RuleOutcome:
    published = [p for p in points if gate(rule, p).publish]
    return RuleOutcome(
        rule=rule,
        n_total=len(points),
        n_published=len(published),
        correct=sum(1 for p in published if p.label == p.prediction),
        description=rule.describe(),
    )


def evaluate_rule_set(rules: RuleSet, channel: str, points: list[CalibrationPoint]) -> RuleOutcome:
    """A channel's rules applied per statement kind, as the worker would."""
    published = [p for p in points if gate(rules.rule_for(channel, p.kind), p).publish]
    kinds = sorted({p.kind for p in points})
    return RuleOutcome(
        rule=rules.rule_for(channel, kinds[0] if kinds else "tweet"),
        n_total=len(points),
        n_published=len(published),
        correct=sum(1 for p in published if p.label == p.prediction),
        description="; ".join(f"{k}: {rules.rule_for(channel, k).describe()}" for k in kinds),
    )


def candidate_rules(
    points: list[CalibrationPoint], by: SuggestBy, base: ChannelRule
) -> list[ChannelRule]:
    """One rule per distinct threshold the data can tell apart (observed bucket values of the
    statements the base rule could post at all)."""
    if base.predicted_false_only:
        points = [p for p in points if p.prediction == 1]
    if by == "ppv":
        values = {
            v
            for p in points
            if (v := p.bucket_ppv if p.prediction == 1 else p.bucket_npv) is not None
        }
        return [
            base.model_copy(update={"enabled": True, "min_bucket_ppv": v, "min_confidence": None})
            for v in sorted(values)
        ]
    floors = sorted({min(max(p.bucket_floor, 0.5), 1.0) for p in points})
    return [
        base.model_copy(update={"enabled": True, "min_confidence": v, "min_bucket_ppv": None})
        for v in floors
    ]


def suggest(
    points: list[CalibrationPoint],
    *,
    target_ppv: float,
    by: SuggestBy = "ppv",
    min_published: int = 10,
    base: ChannelRule | None = None,
) -> Suggestion:
    """The loosest rule (most statements published) whose calibration PPV meets the target.

    ``min_published`` keeps a handful of lucky statements from passing as evidence.
    """
    base = base or ChannelRule(enabled=True, predicted_false_only=True)
    curve = [evaluate_rule(rule, points) for rule in candidate_rules(points, by, base)]
    curve.sort(key=lambda o: (-o.n_published, _threshold(o.rule, by)))
    meeting = [
        o
        for o in curve
        if o.ppv is not None and o.ppv >= target_ppv and o.n_published >= min_published
    ]
    return Suggestion(best=meeting[0] if meeting else None, curve=curve)


def _threshold(rule: ChannelRule, by: SuggestBy) -> float:
    value = rule.min_bucket_ppv if by == "ppv" else rule.min_confidence
    return value if value is not None else 0.0


def plot_ppv_coverage(
    suggestion: Suggestion,
    *,
    target_ppv: float,
    current: RuleOutcome | None,
    title: str,
    out: Path,
) -> None:
    """PPV vs coverage of every candidate, with the target line, current and suggested rules."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(o.coverage, o.ppv) for o in suggestion.curve if o.ppv is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        if pts:
            xs, ys = zip(*sorted(pts), strict=True)
            ax.plot(xs, ys, "-o", ms=3, color="#4a6fa5", label="candidate thresholds")
        ax.axhline(target_ppv, ls="--", color="#888888", label=f"target PPV {target_ppv:g}")
        if current is not None and current.ppv is not None:
            ax.plot(
                current.coverage,
                current.ppv,
                "s",
                ms=10,
                color="#d9822b",
                label=f"current ({current.description})",
            )
        if suggestion.best is not None and suggestion.best.ppv is not None:
            ax.plot(
                suggestion.best.coverage,
                suggestion.best.ppv,
                "*",
                ms=16,
                color="#2e8b57",
                label=f"suggested ({suggestion.best.description})",
            )
        ax.set_xlabel("share of statements published (coverage)")
        ax.set_ylabel("PPV of published statements (calibration set)")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
