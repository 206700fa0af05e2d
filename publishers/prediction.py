"""The published prediction document (IPFS JSON; the X post is rendered from the same dict).

Modelled on Deep Classiflie's published records: the statement, the score, its confidence
bucket's track record, the calibration set's global metrics and the exact model, so a reader
can judge the call without ClaimWatch. Encoding is canonical (sorted keys, compact), so the same
prediction always gets the same CID: that is what makes IPFS publishing idempotent by content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from streams.records import ScoredStatement

PREDICTION_SCHEMA_VERSION = 1
KIND = "claimwatch.prediction"
_STATEMENT_FIELDS = (
    "id",
    "source",
    "kind",
    "author",
    "text",
    "url",
    "said_at",
    "external_id",
    "party",
    "role",
    "state",
    "venue",
    "subjects",
    "thread_ids",
    "segment",
)


@dataclass(frozen=True)
class CalibrationSummary:
    """Global metrics of the calibration set, and the bucket's positive-prediction ratio."""

    accuracy: float
    auc: float
    mcc: float
    bucket_ppr: float | None = None


def build_prediction(
    scored: ScoredStatement,
    *,
    card_cid: str | None = None,
    calibration: CalibrationSummary | None = None,
    attributions: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    """The document for one scored statement. Gold labels are never published."""
    statement = scored.statement
    doc: dict[str, Any] = {
        "schema_version": PREDICTION_SCHEMA_VERSION,
        "kind": KIND,
        "statement": {name: getattr(statement, name) for name in _STATEMENT_FIELDS},
        "p_false": round(float(scored.p_false), 6),
        "prediction": int(scored.prediction),
        "label": "false or misleading" if scored.prediction == 1 else "not flagged",
        "confidence": round(float(scored.confidence), 6),
        "bucket": {
            "index": int(scored.bucket),
            "ceiling": scored.bucket_ceiling,
            "accuracy": scored.bucket_accuracy,
            "ppv": scored.bucket_ppv,
            "npv": scored.bucket_npv,
            "positive_prediction_ratio": calibration.bucket_ppr if calibration else None,
        },
        "global_metrics": (
            {"accuracy": calibration.accuracy, "auc": calibration.auc, "mcc": calibration.mcc}
            if calibration
            else None
        ),
        "model": {"version": scored.model_version, "sha256": scored.model_sha256},
        "truncated": bool(scored.truncated),
        "scored_at": scored.scored_at,
        "attributions": (
            [{"token": tok, "score": round(float(s), 6)} for tok, s in attributions]
            if attributions
            else None
        ),
        "card_cid": card_cid,
    }
    return doc


def with_card_cid(doc: dict[str, Any], card_cid: str | None) -> dict[str, Any]:
    """A copy linking the card (the card is added first, so its CID is known only then)."""
    return {**doc, "card_cid": card_cid}


def statement_id_of(doc: dict[str, Any]) -> str:
    """The statement id a prediction document is about (the idempotence key)."""
    statement = doc.get("statement")
    if not isinstance(statement, dict) or not statement.get("id"):
        raise ValueError("prediction document has no statement.id")
    return str(statement["id"])


def encode_prediction(doc: dict[str, Any]) -> bytes:
    """Canonical JSON bytes: one prediction, one CID."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode_prediction(data: bytes) -> dict[str, Any]:
    """Parse a published document; refuses other kinds and schema versions newer than ours."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ValueError("not a ClaimWatch prediction document")
    if int(doc.get("schema_version", 0)) > PREDICTION_SCHEMA_VERSION:
        raise ValueError(f"prediction schema_version {doc['schema_version']} is newer than ours")
    return doc
