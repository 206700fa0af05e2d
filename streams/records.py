"""Versioned event records. Every record carries ``schema_version``; bump it on any change
that an old consumer could misread, and keep readers tolerant of the previous version.

Times are ISO 8601 strings in UTC (``2024-05-01T12:00:00+00:00``): portable JSON that any
consumer (IPFS subscribers included) can read without Faust.
"""

from __future__ import annotations

import hashlib

import faust

SCHEMA_VERSION = 1

# "demo": the bundled sample played as a live source by `claimwatch demo` (local services only).
SOURCES = ("x", "transcript", "replay", "demo")
KINDS = ("tweet", "transcript")
CHANNELS = ("x", "ipfs")


def statement_id(source: str, external_id: str) -> str:
    """Stable id: the same statement from the same source always gets the same id."""
    return hashlib.sha256(f"{source}\x1f{external_id}".encode()).hexdigest()[:24]


class Statement(faust.Record, serializer="json", include_metadata=False):
    """One thing a watched person said, validated and de-duplicated."""

    id: str
    source: str
    kind: str
    author: str
    text: str
    said_at: str
    ingested_at: str
    external_id: str
    url: str | None = None
    # Metadata a live statement also carries (model input, never credit-history counts).
    party: str | None = None
    role: str | None = None
    state: str | None = None
    venue: str | None = None
    subjects: list[str] = []
    # Thread stitching (tweets) or position within a transcript.
    thread_ids: list[str] = []
    segment: int | None = None
    # Gold label for replays: 1 = false or misleading, 0 = not.
    label: int | None = None
    schema_version: int = SCHEMA_VERSION


class ScoredStatement(faust.Record, serializer="json", include_metadata=False):
    """A statement with the model's score and its calibrated confidence bucket."""

    statement: Statement
    p_false: float
    prediction: int
    confidence: float
    bucket: int
    bucket_ceiling: float
    bucket_accuracy: float
    bucket_ppv: float | None  # None: the bucket held no positive (negative) predictions
    bucket_npv: float | None
    model_version: str
    model_sha256: str
    truncated: bool = False
    tokens: int = 0
    scored_at: str = ""
    schema_version: int = SCHEMA_VERSION


class PublishRequest(faust.Record, serializer="json", include_metadata=False):
    """The decide stage's instruction to publish one scored statement on one channel."""

    statement_id: str
    channel: str
    scored: ScoredStatement
    rule_version: int
    dry_run: bool
    requested_at: str
    schema_version: int = SCHEMA_VERSION


class Published(faust.Record, serializer="json", include_metadata=False):
    """A publish that the ledger recorded as done."""

    statement_id: str
    channel: str
    external_id: str
    published_at: str
    dry_run: bool
    cid: str | None = None
    schema_version: int = SCHEMA_VERSION


class DeadLetter(faust.Record, serializer="json", include_metadata=False):
    """An event a stage could not handle, with why, and the raw payload to replay it later."""

    stage: str
    reason: str
    raw: str
    at: str
    origin_topic: str | None = None
    origin_partition: int | None = None
    origin_offset: int | None = None
    original_key: str | None = None
    schema_version: int = SCHEMA_VERSION
