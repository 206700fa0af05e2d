"""The replay source: a recorded stream (JSON lines) sent into the pipeline.

Each line is a raw statement event. Lines that are not valid JSON are sent as they are, so the
pipeline's own validation dead-letters them with a reason instead of the replay hiding them.
With ``speed`` the original gaps between ``said_at`` times are kept, divided by ``speed``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.ingest import KafkaIngestSink, encode_event, event_key
from streams.validation import parse_time

BATCH = 200


@dataclass(frozen=True)
class ReplayLine:
    raw: bytes
    event: dict[str, Any] | None  # None: not a JSON object; sent raw for dead-lettering


def read_lines(path: Path, source: str | None = "replay") -> Iterator[ReplayLine]:
    """Yield the file's lines; ``source`` (when given) marks parsed events as a replay."""
    with path.open("rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                yield ReplayLine(line, None)
                continue
            if not isinstance(event, dict):
                yield ReplayLine(line, None)
                continue
            if source is not None:
                event["source"] = source
            yield ReplayLine(encode_event(event), event)


def pacing_delay(previous: str | None, current: str | None, speed: float | None) -> float:
    """Seconds to wait before sending ``current`` (pure; 0 when as fast as possible)."""
    if not speed or previous is None or current is None:
        return 0.0
    a, b = parse_time(previous), parse_time(current)
    if a is None or b is None:
        return 0.0
    return max(0.0, (b - a).total_seconds() / speed)


async def replay_file(
    path: Path,
    bootstrap_servers: list[str],
    *,
    speed: float | None = None,
    limit: int | None = None,
    progress: bool = True,
    source: str = "replay",
) -> int:
    """Send the file's statements to the ingest topic; return how many were sent."""
    from tqdm import tqdm

    lines = list(read_lines(path, source))
    if limit is not None:
        lines = lines[:limit]
    sent = 0
    previous: str | None = None
    async with KafkaIngestSink(bootstrap_servers) as sink:
        with tqdm(total=len(lines), unit="stmt", desc="replay", disable=not progress) as bar:
            batch: list[ReplayLine] = []
            for line in lines:
                current = line.event.get("said_at") if line.event else None
                delay = pacing_delay(previous, current if isinstance(current, str) else None, speed)
                if delay and batch:
                    sent += await _flush(sink, batch, bar)
                if delay:
                    await asyncio.sleep(delay)
                previous = current if isinstance(current, str) else previous
                batch.append(line)
                if len(batch) >= BATCH:
                    sent += await _flush(sink, batch, bar)
            sent += await _flush(sink, batch, bar)
    return sent


async def _flush(sink: KafkaIngestSink, batch: list[ReplayLine], bar: Any) -> int:
    events = [line.event for line in batch if line.event is not None]
    raws = [line.raw for line in batch if line.event is None]
    if events:
        await sink.send_many(events)
    for raw in raws:
        await sink.send_raw(None, raw)
    n = len(batch)
    bar.update(n)
    batch.clear()
    return n


__all__ = ["ReplayLine", "event_key", "pacing_delay", "read_lines", "replay_file"]
