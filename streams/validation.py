"""Pure validation of raw ingest events into ``Statement`` records.

Every rejection has a short machine-readable code and a human detail; the ``normalize``
agent turns it into a dead-letter record, so a bad event is never silently dropped.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from config.settings import StreamSettings
from streams.records import KINDS, SCHEMA_VERSION, SOURCES, Statement, statement_id

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
MAX_FIELD_CHARS = 300
OPTIONAL_STR_FIELDS = ("url", "party", "role", "state", "venue")


@dataclass(frozen=True)
class Rejected:
    code: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


def normalize_text(text: str) -> str:
    """NFC, no control characters, single spaces: what the model and the dedup see."""
    return _SPACE.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFC", text))).strip()


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:  # a time without a zone is ambiguous: refuse rather than guess
        return None
    return parsed.astimezone(UTC)


def _short_str(event: dict[str, Any], name: str, required: bool) -> str | Rejected | None:
    value = event.get(name)
    if value is None or value == "":
        return Rejected("missing_field", f"{name} is required") if required else None
    if not isinstance(value, str):
        return Rejected("bad_field", f"{name} must be a string, got {type(value).__name__}")
    value = normalize_text(value)
    if len(value) > MAX_FIELD_CHARS:
        return Rejected("bad_field", f"{name} longer than {MAX_FIELD_CHARS} characters")
    if required and not value:
        return Rejected("missing_field", f"{name} is blank")
    return value or None


def validate(raw: bytes, limits: StreamSettings, now: datetime) -> Statement | Rejected:
    """Turn one raw ingest payload into a Statement, or say precisely why not."""
    if len(raw) > limits.max_raw_bytes:
        return Rejected("too_large", f"{len(raw)} bytes > {limits.max_raw_bytes}")
    try:
        event = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Rejected("not_utf8", str(exc))
    except json.JSONDecodeError as exc:
        return Rejected("malformed_json", str(exc))
    if not isinstance(event, dict):
        return Rejected("not_an_object", f"expected a JSON object, got {type(event).__name__}")

    version = event.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        return Rejected("unsupported_schema_version", f"schema_version={version!r}")

    fields: dict[str, Any] = {}
    for name in ("source", "kind", "external_id", "author"):
        got = _short_str(event, name, required=True)
        if isinstance(got, Rejected):
            return got
        fields[name] = got
    for name in OPTIONAL_STR_FIELDS:
        got = _short_str(event, name, required=False)
        if isinstance(got, Rejected):
            return got
        fields[name] = got
    if fields["source"] not in SOURCES:
        return Rejected("bad_field", f"source must be one of {SOURCES}, got {fields['source']!r}")
    if fields["kind"] not in KINDS:
        return Rejected("bad_field", f"kind must be one of {KINDS}, got {fields['kind']!r}")
    if fields["url"] and not fields["url"].startswith(("http://", "https://")):
        return Rejected("bad_field", "url must be http(s)")

    text = event.get("text")
    if text is None:
        return Rejected("empty_text", "text is missing")
    if not isinstance(text, str):
        return Rejected("non_text", f"text must be a string, got {type(text).__name__}")
    text = normalize_text(text)
    if not text:
        return Rejected("empty_text", "text is empty after normalisation")
    if len(text) < limits.min_text_chars:
        return Rejected("too_short", f"{len(text)} characters < {limits.min_text_chars}")
    if len(text) > limits.max_text_chars:
        return Rejected("too_long", f"{len(text)} characters > {limits.max_text_chars}")

    said_at = parse_time(event.get("said_at"))
    if said_at is None:
        return Rejected(
            "bad_timestamp", f"said_at must be ISO 8601 with a zone: {event.get('said_at')!r}"
        )
    earliest = parse_time(limits.earliest_said_at)
    if earliest is not None and said_at < earliest:
        return Rejected(
            "bad_timestamp", f"said_at {said_at.isoformat()} is before {earliest.isoformat()}"
        )
    if said_at > now + timedelta(seconds=limits.max_future_skew_s):
        return Rejected("bad_timestamp", f"said_at {said_at.isoformat()} is in the future")

    label = event.get("label")
    if label is not None and (isinstance(label, bool) or label not in (0, 1)):
        return Rejected("bad_field", f"label must be 0, 1 or null, got {label!r}")
    subjects = event.get("subjects") or []
    thread_ids = event.get("thread_ids") or []
    for name, items in (("subjects", subjects), ("thread_ids", thread_ids)):
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return Rejected("bad_field", f"{name} must be a list of strings")
    segment = event.get("segment")
    if segment is not None and (isinstance(segment, bool) or not isinstance(segment, int)):
        return Rejected("bad_field", "segment must be an integer")

    return Statement(
        id=statement_id(fields["source"], fields["external_id"]),
        text=text,
        said_at=said_at.isoformat(),
        ingested_at=now.astimezone(UTC).isoformat(),
        subjects=[normalize_text(s) for s in subjects][:20],
        thread_ids=thread_ids[:50],
        segment=segment,
        label=label,
        **fields,
    )
