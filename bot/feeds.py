"""Feed documents (RSS 2.0, Atom 1.0, JSON Feed 1.x) to the entries that link transcripts. Pure.

RSS and Atom go through feedparser (given bytes, so it never touches the network); JSON Feed
is small enough to read directly. An entry's transcript is its enclosure/attachment with a
transcript-like media type if any, else its link.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXException

import feedparser

from bot.x_logic import parse_time
from config.errors import ClaimWatchError


class FeedError(ClaimWatchError, ValueError):
    """The feed document is not a readable feed; ``reason`` names the metric."""

    def __init__(self, message: str, *, reason: str = "malformed_feed") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    transcript_url: str
    published: datetime | None


TRANSCRIPT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/vtt",
    "application/x-subrip",
    "application/srt",
    "text/srt",
    "text/x-srt",
)


def _is_transcript_type(mime: str | None) -> bool:
    return (mime or "").split(";")[0].strip().lower() in TRANSCRIPT_TYPES


def parse_feed(body: bytes, *, content_type: str | None, declared: str = "auto") -> list[FeedEntry]:
    """Entries in document order; raises ``FeedError`` for anything that is not a feed."""
    mime = (content_type or "").split(";")[0].strip().lower()
    looks_json = body.lstrip()[:1] == b"{"
    if declared == "json" or (declared == "auto" and ("json" in mime or looks_json)):
        return parse_json_feed(body)
    return parse_xml_feed(body)


def parse_json_feed(body: bytes) -> list[FeedEntry]:
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise FeedError(f"JSON Feed is not valid JSON: {exc}") from exc
    if not isinstance(doc, Mapping) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise FeedError("not a JSON Feed (no https://jsonfeed.org/version/ version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise FeedError("JSON Feed has no items list")
    entries = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("id") in (None, ""):
            continue
        link = None
        for att in item.get("attachments") or []:
            if (
                isinstance(att, Mapping)
                and att.get("url")
                and _is_transcript_type(att.get("mime_type"))
            ):
                link = str(att["url"])
                break
        link = link or item.get("url") or item.get("external_url")
        if not link:
            continue
        entries.append(
            FeedEntry(
                id=str(item["id"]),
                title=str(item.get("title") or ""),
                transcript_url=str(link),
                published=_json_time(item.get("date_published") or item.get("date_modified")),
            )
        )
    return entries


def _json_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def parse_xml_feed(body: bytes) -> list[FeedEntry]:
    parsed = feedparser.parse(body)
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        raise FeedError(f"not an RSS or Atom feed: {problem or 'unrecognised document'}")
    if isinstance(problem, SAXException):
        # feedparser's loose parser would guess at a broken document; we refuse it instead
        # of emitting half-read entries (encoding or content-type notices are accepted).
        raise FeedError(f"feed is not well-formed XML: {problem}")
    entries = []
    for entry in parsed.entries:
        link = None
        for enc in entry.get("enclosures") or []:
            if enc.get("href") and _is_transcript_type(enc.get("type")):
                link = enc["href"]
                break
        if link is None:
            for candidate in entry.get("links") or []:
                if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                    link = candidate["href"]
                    break
        link = link or entry.get("link")
        entry_id = entry.get("id") or link
        if not link or not entry_id:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else None
        entries.append(
            FeedEntry(
                id=str(entry_id),
                title=str(entry.get("title") or ""),
                transcript_url=str(link),
                published=published,
            )
        )
    return entries
