"""Polls one transcript feed: new entries' transcripts become statements of watched speakers.

State in Redis: the feed's HTTP validators and per-entry attempt counts (``feed_cursor``) and
the handled entry ids (``feed_seen``). Entries are marked handled, and validators saved, only
after ``send_many`` returned; validators are saved only when every entry was handled, so a
failed transcript is retried on the next run instead of hiding behind a 304.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.feeds import FeedEntry, FeedError, parse_feed
from bot.http_fetch import Fetcher, FetchError
from bot.ingest import IngestSink
from bot.status import AsyncRedis, RunResult, SourceError
from bot.transcripts import (
    TranscriptError,
    TranscriptStatement,
    detect_format,
    match_speaker,
    parse_transcript,
    statements,
)
from config.log import get_logger
from config.settings import SourcesSettings, TranscriptFeed
from streams import keys

log = get_logger(__name__)


def statement_url(transcript_url: str, statement: TranscriptStatement) -> str:
    """Link to the transcript, at the cue's time for captions (a W3C media fragment)."""
    if statement.start_s is None:
        return transcript_url
    return f"{transcript_url}#t={statement.start_s:g}"


def entry_events(
    feed: TranscriptFeed,
    entry: FeedEntry,
    found: list[TranscriptStatement],
    *,
    min_chars: int,
    fallback_time: datetime,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Events for the watched speakers' statements, and counts of what was skipped."""
    events: list[dict[str, Any]] = []
    skipped = {"other_speaker": 0, "short": 0}
    said_at = (entry.published or fallback_time).astimezone(UTC).isoformat()
    for statement in found:
        speaker = match_speaker(statement.speaker, feed.speakers)
        if speaker is None:
            skipped["other_speaker"] += 1
            continue
        if len(statement.text) < min_chars:
            skipped["short"] += 1
            continue
        event: dict[str, Any] = {
            "source": "transcript",
            "kind": "transcript",
            "external_id": f"{feed.name}:{entry.id}:{statement.segment}",
            "author": speaker.name,
            "text": statement.text,
            "said_at": said_at,
            "url": statement_url(entry.transcript_url, statement),
            "segment": statement.segment,
        }
        for name in ("party", "role", "state"):
            value = getattr(speaker, name)
            if value:
                event[name] = value
        venue = feed.venue or entry.title
        if venue:
            event["venue"] = venue
        events.append(event)
    return events, skipped


class FeedSource:
    kind = "feed"

    def __init__(
        self,
        feed: TranscriptFeed,
        *,
        fetcher: Fetcher,
        sink: IngestSink,
        redis: AsyncRedis,
        settings: SourcesSettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.feed = feed
        self.name = f"feed:{feed.name}"
        self.interval_s = settings.feed_interval_s
        self._fetcher = fetcher
        self._sink = sink
        self._redis = redis
        self._settings = settings
        self._now = now

    async def run_once(self) -> RunResult:
        result = RunResult()
        cursor_key = keys.feed_cursor(self.feed.name)
        seen_key = keys.feed_seen(self.feed.name)
        state = dict(await self._redis.hgetall(cursor_key) or {})
        try:
            fetched = await self._fetcher.get(
                self.feed.url,
                max_bytes=self._settings.max_document_bytes,
                etag=state.get("etag"),
                last_modified=state.get("last_modified"),
            )
        except FetchError as exc:
            raise SourceError(
                f"feed {self.feed.name}: {exc}", reason=exc.reason, retryable=exc.retryable
            ) from exc
        if fetched.not_modified:
            log.info("feed not modified", source=self.name)
            result.cursor = state.get("etag") or state.get("last_modified")
            return result
        try:
            entries = parse_feed(
                fetched.body, content_type=fetched.content_type, declared=self.feed.format
            )
        except FeedError as exc:
            raise SourceError(f"feed {self.feed.name}: {exc}", reason=exc.reason) from exc

        handled = await self._handled(seen_key, [e.id for e in entries])
        todo = [e for e in entries if e.id not in handled]
        todo.sort(key=lambda e: e.published or datetime.min.replace(tzinfo=UTC))
        batch = todo[: self._settings.max_entries_per_run]
        complete = len(batch) == len(todo)

        events: list[dict[str, Any]] = []
        done: dict[str, str] = {}
        attempts: dict[str, int] = {}
        skipped = {"other_speaker": 0, "short": 0}
        for entry in batch:
            try:
                found = await self._statements(entry)
            except (FetchError, TranscriptError) as exc:
                tries = int(state.get(f"attempts:{entry.id}", 0)) + 1
                result.error(exc.reason, f"{entry.transcript_url}: {exc}")
                log.error(
                    "transcript failed",
                    source=self.name,
                    entry=entry.id,
                    url=entry.transcript_url,
                    reason=exc.reason,
                    error=str(exc),
                    attempt=tries,
                )
                if tries >= self._settings.max_entry_attempts:
                    done[entry.id] = f"gave_up:{exc.reason}"
                    log.error("transcript given up", source=self.name, entry=entry.id)
                else:
                    attempts[entry.id] = tries
                    complete = False
                continue
            new, skips = entry_events(
                self.feed,
                entry,
                found,
                min_chars=self._settings.min_statement_chars,
                fallback_time=self._now(),
            )
            events.extend(new)
            for k, v in skips.items():
                skipped[k] += v
            done[entry.id] = f"ok:{len(new)}"

        if events:
            await self._sink.send_many(events)
        await self._commit(cursor_key, seen_key, fetched, done, attempts, complete)
        result.emitted = len(events)
        result.skipped = sum(skipped.values())
        result.cursor = f"{len(handled) + len(done)} entries handled"
        log.info(
            "feed poll done",
            source=self.name,
            entries=len(entries),
            new_entries=len(batch),
            emitted=result.emitted,
            skipped_short=skipped["short"],
            skipped_other_speaker=skipped["other_speaker"],
            failed=len(attempts),
        )
        return result

    async def _statements(self, entry: FeedEntry) -> list[TranscriptStatement]:
        doc = await self._fetcher.get(
            entry.transcript_url, max_bytes=self._settings.max_document_bytes
        )
        text = doc.text()
        fmt = detect_format(doc.content_type, entry.transcript_url, text)
        return statements(parse_transcript(fmt, text))

    async def _handled(self, seen_key: str, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        pipe = self._redis.pipeline(transaction=False)
        pipe.hmget(seen_key, ids)
        (values,) = await pipe.execute()
        return {i for i, v in zip(ids, values, strict=True) if v is not None}

    async def _commit(
        self,
        cursor_key: str,
        seen_key: str,
        fetched: Any,
        done: dict[str, str],
        attempts: dict[str, int],
        complete: bool,
    ) -> None:
        pipe = self._redis.pipeline(transaction=True)
        if done:
            pipe.hset(seen_key, mapping=done)
            pipe.hdel(cursor_key, *(f"attempts:{i}" for i in done))
        if attempts:
            pipe.hset(cursor_key, mapping={f"attempts:{i}": str(n) for i, n in attempts.items()})
        validators = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        if complete and any(validators.values()):
            pipe.hset(cursor_key, mapping={k: v for k, v in validators.items() if v})
            absent = [k for k, v in validators.items() if not v]
            if absent:
                pipe.hdel(cursor_key, *absent)
        else:
            pipe.hdel(cursor_key, "etag", "last_modified")
        pipe.hset(cursor_key, "last_fetch_at", self._now().isoformat(timespec="seconds"))
        await pipe.execute()
