"""Binary classification metrics in numpy only (the worker has no scikit-learn)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    ranks = np.empty(len(values), dtype=float)
    starts = np.flatnonzero(np.r_[True, sorted_vals[1:] != sorted_vals[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    return ranks


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """ROC AUC via the rank-sum (Mann-Whitney U) formula; NaN when only one class is present."""
    y = np.asarray(labels).astype(bool)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def confusion(labels: np.ndarray, preds: np.ndarray) -> tuple[int, int, int, int]:
    """(tp, tn, fp, fn)."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(preds, dtype=np.int64)
    tp = int(((p == 1) & (y == 1)).sum())
    tn = int(((p == 0) & (y == 0)).sum())
    fp = int(((p == 1) & (y == 0)).sum())
    fn = int(((p == 0) & (y == 1)).sum())
    return tp, tn, fp, fn


def mcc(tp: int, tn: int, fp: int, fn: int) -> float:
    """Matthews correlation; 0 when a marginal is empty (the usual convention)."""
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denom == 0 else (tp * tn - fp * fn) / denom


def summary(labels: Sequence[int] | np.ndarray, p_false: Sequence[float] | np.ndarray) -> dict:
    """n, accuracy, AUC, MCC and positive-prediction ratio at the 0.5 threshold."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(p_false, dtype=np.float64)
    pred = (p >= 0.5).astype(np.int64)
    tp, tn, fp, fn = confusion(y, pred)
    n = len(y)
    return {
        "n": n,
        "accuracy": (tp + tn) / n if n else float("nan"),
        "auc": roc_auc(y, p),
        "mcc": mcc(tp, tn, fp, fn),
        "positive_ratio": (tp + fp) / n if n else float("nan"),
    }
