"""The typed record a card is rendered from, validated on construction.

The renderer trusts nothing else: a record that cannot be drawn honestly (a probability
outside [0, 1], words that are not the statement's words, a naive timestamp) raises
:class:`CardError`, which the publisher dead-letters instead of crashing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from config.errors import ClaimWatchError

MAX_STATEMENT_CHARS = 20_000


class CardError(ClaimWatchError, ValueError):
    """The card cannot be rendered from this input; the message says which field and why."""


@dataclass(frozen=True)
class CardWord:
    """One whitespace-separated statement word; ``score > 0`` pushes toward "false"."""

    text: str
    score: float | None = None


@dataclass(frozen=True)
class BucketStats:
    """Measured on the calibration set for predictions whose confidence max(p, 1-p) fell in
    (floor, ceiling], as in ``buckets.json``. PPV/NPV are ``None`` where undefined."""

    floor: float
    ceiling: float
    accuracy: float
    ppv: float | None
    npv: float | None
    n: int | None = None


@dataclass(frozen=True)
class GlobalStats:
    """The calibration set's overall metrics."""

    accuracy: float
    auc: float
    mcc: float
    n: int | None = None


@dataclass(frozen=True)
class CardData:
    """Everything one card shows. ``words`` may be empty (no attributions available)."""

    statement: str
    words: tuple[CardWord, ...]
    p_false: float
    predicted_false: bool
    bucket: BucketStats
    global_stats: GlobalStats
    speaker: str
    said_at: datetime
    source_url: str | None
    model_version: str
    statement_id: str
    attribution_method: str | None = None
    context_score: float | None = None
    convergence_delta: float | None = None

    def __post_init__(self) -> None:
        validate(self)


def _unit(name: str, value: float, low: float = 0.0, high: float = 1.0) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise CardError(f"{name} must be a number in [{low}, {high}], got {value!r}")


def _text(name: str, value: object, max_chars: int) -> None:
    if not isinstance(value, str) or not value.strip():
        raise CardError(f"{name} must be a non-empty string, got {value!r}")
    if len(value) > max_chars:
        raise CardError(f"{name} is longer than {max_chars} characters")


def validate(card: CardData) -> None:
    """Raise :class:`CardError` naming the first field that cannot be drawn."""
    _text("statement", card.statement, MAX_STATEMENT_CHARS)
    _text("speaker", card.speaker, 200)
    _text("model_version", card.model_version, 80)
    _text("statement_id", card.statement_id, 64)
    _unit("p_false", card.p_false)
    if not isinstance(card.predicted_false, bool):
        raise CardError(f"predicted_false must be a bool, got {card.predicted_false!r}")
    bucket = card.bucket
    for name in ("floor", "ceiling", "accuracy", "ppv", "npv"):
        if getattr(bucket, name) is not None or name in ("floor", "ceiling", "accuracy"):
            _unit(f"bucket.{name}", getattr(bucket, name))
    if bucket.floor > bucket.ceiling:
        raise CardError(f"bucket.floor {bucket.floor} is above bucket.ceiling {bucket.ceiling}")
    stats = card.global_stats
    _unit("global_stats.accuracy", stats.accuracy)
    _unit("global_stats.auc", stats.auc)
    _unit("global_stats.mcc", stats.mcc, -1.0, 1.0)
    for name, n in (("bucket.n", bucket.n), ("global_stats.n", stats.n)):
        if n is not None and (not isinstance(n, int) or n < 0):
            raise CardError(f"{name} must be a non-negative int, got {n!r}")
    if not isinstance(card.said_at, datetime) or card.said_at.tzinfo is None:
        raise CardError(f"said_at must be a timezone-aware datetime, got {card.said_at!r}")
    if card.source_url is not None and not card.source_url.startswith(("http://", "https://")):
        raise CardError(f"source_url must be an http(s) URL, got {card.source_url!r}")
    if card.words:
        expected = card.statement.split()
        got = [w.text for w in card.words]
        if got != expected:
            raise CardError(
                f"words must be the statement's whitespace-separated words "
                f"({len(got)} given, {len(expected)} in the statement)"
            )
        for word in card.words:
            if word.score is not None and not math.isfinite(word.score):
                raise CardError(f"score of {word.text!r} is not finite: {word.score!r}")
    for name in ("context_score", "convergence_delta"):
        value = getattr(card, name)
        if value is not None and not math.isfinite(value):
            raise CardError(f"{name} is not finite: {value!r}")
