"""Validation of raw ingest events: every way in which an event can be bad has a reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from config.settings import StreamSettings
from streams.records import Statement, statement_id
from streams.validation import Rejected, normalize_text, validate

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = StreamSettings(min_text_chars=3, max_text_chars=200, max_raw_bytes=4096)


def event(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "source": "replay",
        "kind": "transcript",
        "external_id": "liar:1",
        "author": "Jane Doe",
        "text": "Unemployment   doubled\tlast year.",
        "said_at": "2025-05-31T10:00:00Z",
        "label": 1,
        "subjects": ["economy"],
    }
    base.update(overrides)
    return base


def check(payload: object) -> Statement | Rejected:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return validate(raw, LIMITS, NOW)


def test_valid_event_becomes_a_normalised_statement() -> None:
    result = check(event())
    assert isinstance(result, Statement)
    assert result.text == "Unemployment doubled last year."
    assert result.id == statement_id("replay", "liar:1")
    assert result.said_at == "2025-05-31T10:00:00+00:00"
    assert result.ingested_at == NOW.isoformat()
    assert result.label == 1 and result.subjects == ["economy"]


def test_statement_id_is_stable_and_source_specific() -> None:
    assert statement_id("x", "1") == statement_id("x", "1")
    assert statement_id("x", "1") != statement_id("transcript", "1")
    assert len(statement_id("x", "1")) == 24


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"\xff\xfe\x00", "not_utf8"),
        (b"[1, 2]", "not_an_object"),
        (b"x" * 5000, "too_large"),
        (event(text=""), "empty_text"),
        (event(text="   \u0000\t "), "empty_text"),
        (event(text=None), "empty_text"),
        (event(text=42), "non_text"),
        (event(text=["a list"]), "non_text"),
        (event(text="ok"), "too_short"),
        (event(text="word " * 100), "too_long"),
        (event(said_at="yesterday"), "bad_timestamp"),
        (event(said_at="2025-05-31T10:00:00"), "bad_timestamp"),  # no zone
        (event(said_at="1970-01-01T00:00:00Z"), "bad_timestamp"),
        (event(said_at="2030-01-01T00:00:00Z"), "bad_timestamp"),
        (event(said_at=None), "bad_timestamp"),
        (event(source="fax"), "bad_field"),
        (event(kind="poem"), "bad_field"),
        (event(author=7), "bad_field"),
        (event(external_id=""), "missing_field"),
        (event(label=2), "bad_field"),
        (event(label=True), "bad_field"),
        (event(subjects="economy"), "bad_field"),
        (event(url="javascript:alert(1)"), "bad_field"),
        (event(schema_version=99), "unsupported_schema_version"),
    ],
)
def test_bad_events_are_rejected_with_a_reason(payload: object, code: str) -> None:
    result = check(payload)
    assert isinstance(result, Rejected), result
    assert result.code == code
    assert result.reason.startswith(f"{code}: ") and len(result.reason) > len(code) + 2


def test_normalize_text_removes_controls_and_collapses_space() -> None:
    assert normalize_text(" a\u0007b \n\n c ") == "ab c"
    assert normalize_text("e\u0301") == "\u00e9"  # NFC


def test_record_round_trips_through_json() -> None:
    result = check(event())
    assert isinstance(result, Statement)
    again = Statement.loads(result.dumps())
    assert again == result
    assert json.loads(result.dumps())["schema_version"] == 1
