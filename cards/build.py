"""Assemble a :class:`~cards.data.CardData` from what the pipeline already has.

Pure: the scorer's bucket row and global summary (the dicts of ``buckets.json``) and, when
available, an attribution result (anything with ``words``/``method``/``context_score``/
``convergence_delta``, e.g. :class:`inference.attributions.Attributions`). Kept free of
onnxruntime so publishers and tests can build cards without a model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cards.data import BucketStats, CardData, CardError, CardWord, GlobalStats


def _number(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def bucket_from_row(row: Mapping[str, Any]) -> BucketStats:
    """A ``buckets.json`` table row (floor, ceiling, n, accuracy, ppv, npv)."""
    try:
        return BucketStats(
            floor=float(row["floor"]),
            ceiling=float(row["ceiling"]),
            accuracy=float(row["accuracy"]),
            ppv=_number(row, "ppv"),
            npv=_number(row, "npv"),
            n=int(row["n"]) if row.get("n") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CardError(f"bad bucket row {dict(row)!r}: {exc}") from exc


def global_from_summary(summary: Mapping[str, Any]) -> GlobalStats:
    """``buckets.json``'s ``global`` summary (n, accuracy, auc, mcc)."""
    try:
        return GlobalStats(
            accuracy=float(summary["accuracy"]),
            auc=float(summary["auc"]),
            mcc=float(summary["mcc"]),
            n=int(summary["n"]) if summary.get("n") is not None else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CardError(f"bad global summary {dict(summary)!r}: {exc}") from exc


def short_id(*parts: str) -> str:
    """Eight hex characters: enough to find a statement in the ledger, short for a card."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:8]


def card_data(
    *,
    statement: str,
    p_false: float,
    bucket_row: Mapping[str, Any],
    global_summary: Mapping[str, Any],
    speaker: str,
    said_at: datetime,
    source_url: str | None,
    model_version: str,
    statement_id: str,
    attributions: Any | None = None,
    method_suffix: str = "",
) -> CardData:
    """The card record; ``attributions=None`` gives a card without word shading."""
    words: tuple[CardWord, ...] = ()
    method = context = delta = None
    if attributions is not None:
        words = tuple(CardWord(w.text, w.score) for w in attributions.words)
        method = f"{attributions.method}{method_suffix}"
        context = attributions.context_score
        delta = attributions.convergence_delta
    return CardData(
        statement=statement,
        words=words,
        p_false=p_false,
        predicted_false=p_false >= 0.5,
        bucket=bucket_from_row(bucket_row),
        global_stats=global_from_summary(global_summary),
        speaker=speaker,
        said_at=said_at,
        source_url=source_url,
        model_version=model_version,
        statement_id=statement_id,
        attribution_method=method,
        context_score=context,
        convergence_delta=delta,
    )
