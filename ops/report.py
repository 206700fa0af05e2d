"""Evaluation report of a replay: metrics in numpy, then report.json, PNGs and one HTML page.

Modelled on Deep Classiflie's performance explorer: global accuracy / ROC AUC / MCC, and
confusion matrices by confidence bucket and by time window, so a fact-checker can see where
the model is trustworthy. Everything above ``write_report`` is pure computation.

Label convention: 1 = false or misleading (the "positive" class), as in ``Statement.label``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference import metrics

MAX_WINDOWS = 24
SCORE_BINS = 20


@dataclass(frozen=True)
class ReportRecord:
    """One replayed statement as the report needs it."""

    id: str
    said_at: str
    kind: str
    p_false: float
    bucket: int
    bucket_ppv: float | None
    label: int | None = None
    # rule set name (e.g. "current", "alternative") -> channels that would have posted it
    decisions: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def prediction(self) -> int:
        return int(self.p_false >= 0.5)

    @property
    def confidence(self) -> float:
        return max(self.p_false, 1.0 - self.p_false)


# ---------------------------------------------------------------- metrics (numpy, no sklearn)


def confusion(labels: np.ndarray, predictions: np.ndarray) -> dict[str, int]:
    """Counts with "likely false" (1) as the positive class."""
    labels, predictions = labels.astype(bool), predictions.astype(bool)
    return {
        "tp": int(np.sum(labels & predictions)),
        "fp": int(np.sum(~labels & predictions)),
        "tn": int(np.sum(~labels & ~predictions)),
        "fn": int(np.sum(labels & ~predictions)),
    }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def rates(cm: Mapping[str, int]) -> dict[str, float | None]:
    """Accuracy, PPV, NPV, recall and specificity; None where nothing was counted."""
    tp, fp, tn, fn = cm["tp"], cm["fp"], cm["tn"], cm["fn"]
    return {
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "recall": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
    }


def mcc(cm: Mapping[str, int]) -> float:
    """Matthews correlation coefficient; 0 when any margin is empty (the usual convention)."""
    return metrics.mcc(cm["tp"], cm["tn"], cm["fp"], cm["fn"])


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC; None when only one class is present."""
    value = metrics.roc_auc(labels, scores)
    return None if math.isnan(value) else value


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[list[float], list[float]]:
    """False/true positive rates at every distinct score threshold (for the ROC plot)."""
    labels = labels.astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return [], []
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last_of_run = np.r_[s[1:] != s[:-1], True]
    tps, fps = np.cumsum(y)[last_of_run], np.cumsum(~y)[last_of_run]
    return [0.0, *(fps / n_neg).tolist()], [0.0, *(tps / n_pos).tolist()]


def _cell(records: Sequence[ReportRecord]) -> dict[str, Any]:
    """Counts and rates of a group of labelled records."""
    labels = np.array([r.label for r in records], dtype=int)
    preds = np.array([r.prediction for r in records], dtype=int)
    cm = confusion(labels, preds)
    return {
        "n": len(records),
        "confusion": cm,
        **rates(cm),
        "positive_ratio": _ratio(int(preds.sum()), len(records)),
    }


# ---------------------------------------------------------------- time windows


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None


_GRAINS: list[tuple[str, Any]] = [
    ("week", lambda t: f"{t.isocalendar()[0]}-W{t.isocalendar()[1]:02d}"),
    ("month", lambda t: f"{t.year}-{t.month:02d}"),
    ("quarter", lambda t: f"{t.year}-Q{(t.month - 1) // 3 + 1}"),
    ("year", lambda t: f"{t.year}"),
]


def time_windows(said_at: Sequence[str], max_windows: int = MAX_WINDOWS) -> tuple[str, list[str]]:
    """The finest grain (week..year) giving at most ``max_windows`` windows, and each record's
    window ("unknown" when said_at does not parse)."""
    times = [parse_time(s) for s in said_at]
    known = [t for t in times if t is not None]
    grain, key = _GRAINS[-1]
    for name, fn in _GRAINS:
        if len({fn(t) for t in known}) <= max_windows:
            grain, key = name, fn
            break
    return grain, [key(t) if t is not None else "unknown" for t in times]


# ---------------------------------------------------------------- report


def build_report(
    records: Sequence[ReportRecord],
    *,
    rule_sets: Mapping[str, str] | None = None,
    throughput: Mapping[str, Any] | None = None,
    max_windows: int = MAX_WINDOWS,
) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready data.

    ``rule_sets`` maps each decision set name in the records to a description (e.g. the rule
    file it came from). Metrics are computed over labelled records only; when none carry a
    label the report has the score distribution and would-be posts only.
    """
    labelled = [r for r in records if r.label is not None]
    names = list(rule_sets or {})
    for r in records:
        for name in r.decisions:
            if name not in names:
                names.append(name)
    report: dict[str, Any] = {
        "schema_version": 1,
        "n": len(records),
        "n_labelled": len(labelled),
        "has_labels": bool(labelled),
        "kinds": {
            k: sum(1 for r in records if r.kind == k) for k in sorted({r.kind for r in records})
        },
        "throughput": dict(throughput or {}),
        "score_distribution": _score_distribution(records),
        "would_be_posts": {
            name: _would_be_posts(records, name, (rule_sets or {}).get(name, "")) for name in names
        },
    }
    if not labelled:
        return report
    labels = np.array([r.label for r in labelled], dtype=int)
    scores = np.array([r.p_false for r in labelled], dtype=float)
    overall = _cell(labelled)
    report["global"] = {
        **overall,
        "auc": roc_auc(labels, scores),
        "mcc": mcc(overall["confusion"]),
        "label_positive_ratio": float(labels.mean()),
    }
    fpr, tpr = roc_curve(labels, scores)
    report["roc"] = {"fpr": fpr, "tpr": tpr}
    report["by_kind"] = {
        k: _with_mcc(_cell([r for r in labelled if r.kind == k]))
        for k in sorted({r.kind for r in labelled})
    }
    report["by_bucket"] = [
        {"bucket": b, **_bucket_cell([r for r in labelled if r.bucket == b])}
        for b in sorted({r.bucket for r in labelled})
    ]
    grain, windows = time_windows([r.said_at for r in labelled], max_windows)
    report["window_grain"] = grain
    report["by_window"] = [
        {
            "window": w,
            **_with_mcc(_cell([r for r, rw in zip(labelled, windows, strict=True) if rw == w])),
        }
        for w in sorted(set(windows))
    ]
    return report


def _with_mcc(cell: dict[str, Any]) -> dict[str, Any]:
    return {**cell, "mcc": mcc(cell["confusion"])}


def _bucket_cell(records: Sequence[ReportRecord]) -> dict[str, Any]:
    conf = [r.confidence for r in records]
    known = [r.bucket_ppv for r in records if r.bucket_ppv is not None]
    return {
        **_cell(records),
        "confidence_min": min(conf),
        "confidence_max": max(conf),
        # The PPV the bucket was calibrated with, to compare with what this replay saw.
        "calibrated_ppv": float(np.mean(known)) if known else None,
    }


def _score_distribution(records: Sequence[ReportRecord]) -> dict[str, Any]:
    edges = np.linspace(0.0, 1.0, SCORE_BINS + 1)
    scores = np.array([r.p_false for r in records], dtype=float)
    out: dict[str, Any] = {
        "edges": edges.tolist(),
        "all": np.histogram(scores, bins=edges)[0].tolist(),
        "by_bucket": {
            str(b): sum(1 for r in records if r.bucket == b)
            for b in sorted({r.bucket for r in records})
        },
        "mean_p_false": float(scores.mean()) if len(scores) else None,
        "predicted_false_ratio": float((scores >= 0.5).mean()) if len(scores) else None,
    }
    if any(r.label is not None for r in records):
        for value, name in ((1, "label_false"), (0, "label_not_false")):
            sel = np.array([r.p_false for r in records if r.label == value], dtype=float)
            out[name] = np.histogram(sel, bins=edges)[0].tolist()
    return out


def _would_be_posts(records: Sequence[ReportRecord], name: str, description: str) -> dict[str, Any]:
    channels = sorted({ch for r in records for ch in r.decisions.get(name, ())})
    out: dict[str, Any] = {"description": description, "channels": {}}
    for ch in channels:
        posted = [r for r in records if ch in r.decisions.get(name, ())]
        labelled = [r for r in posted if r.label is not None]
        correct = sum(1 for r in labelled if r.label == r.prediction)
        out["channels"][ch] = {
            "posts": len(posted),
            "share": _ratio(len(posted), len(records)),
            "labelled": len(labelled),
            "correct": correct,
            "precision": _ratio(correct, len(labelled)),
            "examples": [r.id for r in posted[:10]],
        }
    return out


# ---------------------------------------------------------------- writers


def write_report(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """report.json, the PNGs and index.html in ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "report.json"]
    written[0].write_text(json.dumps(report, indent=2), encoding="utf-8")
    images = _write_plots(report, out_dir)
    written += images
    page = out_dir / "index.html"
    page.write_text(render_html(report, [p.name for p in images]), encoding="utf-8")
    written.append(page)
    return written


def _write_plots(report: Mapping[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []

    def save(fig: Any, name: str) -> None:
        try:
            fig.tight_layout()
            fig.savefig(out_dir / name, format="png")
            paths.append(out_dir / name)
        finally:
            plt.close(fig)

    dist = report["score_distribution"]
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    edges = np.array(dist["edges"])
    centers, width = (edges[:-1] + edges[1:]) / 2, (edges[1] - edges[0]) * 0.9
    if "label_false" in dist:
        ax.bar(centers, dist["label_not_false"], width, label="rated not false", color="#4a6fa5")
        ax.bar(
            centers,
            dist["label_false"],
            width,
            bottom=dist["label_not_false"],
            label="rated false",
            color="#c0504d",
        )
        ax.legend(fontsize=8)
    else:
        ax.bar(centers, dist["all"], width, color="#4a6fa5")
    ax.axvline(0.5, ls="--", color="#888888")
    ax.set_xlabel("model score p_false")
    ax.set_ylabel("statements")
    ax.set_title("Score distribution")
    save(fig, "scores.png")

    if not report.get("has_labels"):
        return paths

    roc = report["roc"]
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ax.plot(roc["fpr"], roc["tpr"], color="#c0504d")
    ax.plot([0, 1], [0, 1], ls="--", color="#888888")
    auc = report["global"]["auc"]
    ax.set_title(f"ROC (AUC {auc:.3f})" if auc is not None else "ROC")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    save(fig, "roc.png")

    buckets = report["by_bucket"]
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    xs = np.arange(len(buckets))
    for i, (key, color) in enumerate(
        (("accuracy", "#4a6fa5"), ("ppv", "#c0504d"), ("npv", "#9bbb59"))
    ):
        vals = [b[key] if b[key] is not None else 0.0 for b in buckets]
        ax.bar(
            xs + (i - 1) * 0.27,
            vals,
            0.27,
            label=key.upper() if key != "accuracy" else "accuracy",
            color=color,
        )
    calibrated = [
        b["calibrated_ppv"] if b["calibrated_ppv"] is not None else np.nan for b in buckets
    ]
    ax.plot(xs, calibrated, "k_", ms=14, label="calibrated PPV")
    ax.set_xticks(xs, [str(b["bucket"]) for b in buckets])
    ax.set_xlabel("confidence bucket (low to high)")
    ax.set_ylim(0, 1.2)
    ax.legend(fontsize=7, ncol=4, loc="upper left")
    ax.set_title("Per-bucket accuracy, PPV and NPV")
    save(fig, "buckets.png")

    for name, groups, label_key in (
        ("confusion_by_bucket.png", buckets, "bucket"),
        ("confusion_by_window.png", report["by_window"], "window"),
    ):
        fig = _confusion_grid(plt, groups, label_key)
        save(fig, name)
    return paths


def _confusion_grid(plt: Any, groups: Sequence[Mapping[str, Any]], label_key: str) -> Any:
    cols = min(5, max(1, len(groups)))
    rows = (len(groups) + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.3 * cols, 2.3 * rows + 0.4), dpi=100, squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, g in zip(axes.flat, groups, strict=False):
        cm = g["confusion"]
        # rows: actual false / not false; columns: predicted false / not false
        m = np.array([[cm["tp"], cm["fn"]], [cm["fp"], cm["tn"]]])
        ax.axis("on")
        ax.imshow(m, cmap="Blues", vmin=0, vmax=max(1, int(m.max())))
        for (i, j), v in np.ndenumerate(m):
            ax.text(
                j,
                i,
                str(v),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if v > m.max() / 2 else "black",
            )
        ax.set_xticks([0, 1], ["pred F", "pred ¬F"], fontsize=7)
        ax.set_yticks([0, 1], ["actual F", "actual ¬F"], fontsize=7)
        acc = g.get("accuracy")
        ax.set_title(
            f"{label_key} {g[label_key]}  n={g['n']}"
            + (f"\nacc {acc:.2f}" if acc is not None else ""),
            fontsize=8,
        )
    fig.suptitle(f"Confusion matrices by {label_key}", fontsize=10)
    return fig


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.1%}" if pct else f"{value:.3f}"
    return html.escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Mapping[str, Any], images: Sequence[str]) -> str:
    """One static page a fact-checker can read without tools."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ClaimWatch replay report"
        "</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;"
        "line-height:1.4}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid"
        " #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}img{max-width:100%}"
        "</style></head><body><h1>ClaimWatch replay report</h1>",
        f"<p>{report['n']} statements replayed, {report['n_labelled']} with a fact-check "
        "label. A statement is <em>predicted false</em> when the model's score p_false is at "
        "least 0.5; its <em>confidence</em> is how far the score is from a coin flip.</p>",
    ]
    g = report.get("global")
    if g:
        parts.append("<h2>How often the model was right</h2>")
        parts.append(
            _table(
                ["statements", "accuracy", "ROC AUC", "MCC", "PPV", "NPV", "share rated false"],
                [
                    [
                        str(g["n"]),
                        _fmt(g["accuracy"], True),
                        _fmt(g["auc"]),
                        _fmt(g["mcc"]),
                        _fmt(g["ppv"], True),
                        _fmt(g["npv"], True),
                        _fmt(g["label_positive_ratio"], True),
                    ]
                ],
            )
        )
        parts.append(
            "<p><b>PPV</b>: of the statements the model called likely false, the share that "
            "fact-checkers rated false. <b>NPV</b>: of those it did not, the share rated not "
            "false. <b>AUC</b> 0.5 is chance, 1.0 perfect ranking. <b>MCC</b> is a balanced "
            "correlation between prediction and rating (0 = chance, 1 = perfect).</p>"
        )
        parts.append(
            "<h2>By confidence bucket</h2><p>Higher buckets hold the statements the "
            "model was surer about; their PPV is what the posting rules rely on.</p>"
        )
        parts.append(
            _table(
                [
                    "bucket",
                    "confidence",
                    "n",
                    "accuracy",
                    "PPV",
                    "calibrated PPV",
                    "NPV",
                    "predicted false",
                ],
                [
                    [
                        str(b["bucket"]),
                        f"{b['confidence_min']:.3f}&ndash;{b['confidence_max']:.3f}",
                        str(b["n"]),
                        _fmt(b["accuracy"], True),
                        _fmt(b["ppv"], True),
                        _fmt(b["calibrated_ppv"], True),
                        _fmt(b["npv"], True),
                        _fmt(b["positive_ratio"], True),
                    ]
                    for b in report["by_bucket"]
                ],
            )
        )
        parts.append(f"<h2>By time window ({html.escape(report['window_grain'])})</h2>")
        parts.append(
            _table(
                ["window", "n", "accuracy", "PPV", "NPV", "MCC"],
                [
                    [
                        _fmt(w["window"]),
                        str(w["n"]),
                        _fmt(w["accuracy"], True),
                        _fmt(w["ppv"], True),
                        _fmt(w["npv"], True),
                        _fmt(w["mcc"]),
                    ]
                    for w in report["by_window"]
                ],
            )
        )
    parts.append("<h2>What would have been posted</h2>")
    rows = []
    for name, wb in report["would_be_posts"].items():
        for ch, c in wb["channels"].items():
            rows.append(
                [
                    _fmt(name),
                    _fmt(wb["description"]),
                    _fmt(ch),
                    str(c["posts"]),
                    _fmt(c["share"], True),
                    _fmt(c["precision"], True),
                ]
            )
        if not wb["channels"]:
            rows.append([_fmt(name), _fmt(wb["description"]), "&ndash;", "0", "&ndash;", "&ndash;"])
    parts.append(
        _table(
            [
                "rule set",
                "rules",
                "channel",
                "posts",
                "share of statements",
                "posts rated as predicted",
            ],
            rows,
        )
        if rows
        else "<p>No rule sets.</p>"
    )
    if report.get("throughput"):
        parts.append("<h2>Throughput of this run</h2>")
        parts.append(
            _table(
                ["measure", "value"], [[_fmt(k), _fmt(v)] for k, v in report["throughput"].items()]
            )
        )
    parts.append("<h2>Charts</h2>")
    parts += [
        f"<p><img src='{html.escape(name)}' alt='{html.escape(name)}'></p>" for name in images
    ]
    parts.append("</body></html>")
    return "\n".join(parts)
