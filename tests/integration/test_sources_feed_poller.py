"""Transcript feeds against the local feed server (real formats and headers) and a real Redis."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.feed_poller import FeedSource
from bot.http_fetch import HttpxFetcher
from bot.scheduler import run_guarded
from config.settings import TranscriptFeed, WatchedSpeaker
from ops.feedserver import FeedServer
from streams import keys
from tests.fixtures_feeds import (
    RecordingSink,
    fast_settings,
    feed_dir,
    feed_server,
    sink,
    sredis,
)

pytestmark = pytest.mark.integration
__all__ = ["feed_dir", "feed_server", "sink", "sredis"]

WHITFIELD = WatchedSpeaker(name="Jane Whitfield", party="democrat", role="senator", state="OH")
OKAFOR = WatchedSpeaker(name="Robert Okafor", role="governor", state="IL")
DELGADO = WatchedSpeaker(name="Maria Delgado", aliases=["REP. DELGADO"], party="democrat")


@pytest.fixture
async def fetcher() -> AsyncIterator[HttpxFetcher]:
    client = HttpxFetcher(timeout_s=5)
    yield client
    await client.aclose()


class Feeds:
    def __init__(
        self,
        server: FeedServer,
        fetcher: HttpxFetcher,
        sink: RecordingSink,
        redis: Redis,
        root: Path,
    ) -> None:
        self.server, self.fetcher, self.sink, self.redis, self.root = (
            server,
            fetcher,
            sink,
            redis,
            root,
        )

    def source(
        self,
        name: str,
        path: str,
        speakers: list[WatchedSpeaker],
        url: str | None = None,
        **settings: Any,
    ) -> FeedSource:
        feed = TranscriptFeed(name=name, url=url or self.server.url(path), speakers=speakers)
        return FeedSource(
            feed,
            fetcher=self.fetcher,
            sink=self.sink,
            redis=self.redis,
            settings=fast_settings(**settings),
        )

    def write(self, rel: str, text: str) -> None:
        (self.root / rel).write_text(text, encoding="utf-8")

    async def status(self, source: FeedSource) -> dict[str, str]:
        return dict(await self.redis.hgetall(keys.source_status(source.name)))


@pytest.fixture
def f(
    feed_server: FeedServer,
    fetcher: HttpxFetcher,
    sink: RecordingSink,
    sredis: Redis,
    feed_dir: Path,
) -> Feeds:
    return Feeds(feed_server, fetcher, sink, sredis, feed_dir)


def rss(*items: tuple[str, str]) -> str:
    body = "".join(
        f'<item><title>{guid}</title><guid isPermaLink="false">{guid}</guid>'
        f"<link>{{{{BASE_URL}}}}/{path}</link>"
        f"<pubDate>Tue, 05 Mar 2024 15:00:00 GMT</pubDate></item>"
        for guid, path in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<link>{{{{BASE_URL}}}}/</link><description>d</description>{body}</channel></rss>"
    )


GOOD = "transcripts/hearing-fiscal-outlook.html"


async def test_rss_feed_emits_watched_speakers_then_uses_conditional_get(f: Feeds) -> None:
    source = f.source("hearings", "hearings.rss", [WHITFIELD])
    result = await source.run_once()
    texts = [e["text"] for e in f.sink.events]
    assert texts == [
        "The deficit has fallen by half in the last two years.",
        "Our state created 400,000 jobs in 2023 alone.",
        "And the U.S. Treasury collected more revenue than ever before.",
        "Interest payments now cost more than the entire defense budget.",
        "Every bridge in this county was rebuilt with federal money since 2021.",
        "Commute times have dropped by thirty percent.",
    ]
    assert result.emitted == 6 and result.skipped > 0  # filler and other speakers
    vtt_event = f.sink.events[-1]
    assert vtt_event["url"] == f.server.url("transcripts/townhall-infrastructure.vtt") + "#t=5"
    assert vtt_event["said_at"] == "2024-03-12T18:30:00+00:00"
    assert vtt_event["author"] == "Jane Whitfield" and vtt_event["state"] == "OH"
    assert len(set(f.sink.external_ids())) == 6

    hits = dict(f.server.hits)
    again = await source.run_once()
    assert again.emitted == 0 and len(f.sink.events) == 6
    assert f.server.hits["/hearings.rss"] == hits["/hearings.rss"] + 1  # a 304
    assert f.server.hits["/" + GOOD] == hits["/" + GOOD]  # transcripts not fetched again


async def test_atom_and_json_feeds(f: Feeds) -> None:
    atom = f.source("briefings", "briefings.atom", [OKAFOR])
    assert (await atom.run_once()).emitted == 6
    assert {e["author"] for e in f.sink.events} == {"Robert Okafor"}
    texts = [e["text"] for e in f.sink.events]
    assert "There is no budget shortfall this year." in texts
    assert "It comes from the FBI's own data." in texts  # the SRT enclosure was read
    json_feed = f.source("speeches", "speeches.json", [DELGADO])
    await json_feed.run_once()
    delgado = [e for e in f.sink.events if e["author"] == "Maria Delgado"]
    assert [e["text"] for e in delgado] == [
        "Our opponent voted to cut Social Security twelve times.",
        "Wages in this district have not grown in a decade.",
        "I passed more bills than any freshman in Congress.",
        "Our district received $3.5 billion for clean water projects.",
    ]
    assert delgado[0]["venue"] == "Rally in Springfield"


async def test_new_entry_alone_is_processed_on_the_next_run(f: Feeds) -> None:
    f.write("feed.rss", rss(("e1", GOOD)))
    source = f.source("h", "feed.rss", [WHITFIELD])
    await source.run_once()
    first = list(f.sink.external_ids())
    f.write("feed.rss", rss(("e1", GOOD), ("e2", "transcripts/townhall-infrastructure.vtt")))
    result = await source.run_once()
    assert result.emitted == 2
    assert all(i.startswith("h:e2:") for i in f.sink.external_ids()[len(first) :])


async def test_malformed_feed_is_a_recorded_error_and_keeps_the_cursor(f: Feeds) -> None:
    f.write("feed.rss", rss(("e1", GOOD)))
    source = f.source("h", "feed.rss", [WHITFIELD])
    await run_guarded(source, f.redis)
    seen_before = await f.redis.hgetall(keys.feed_seen("h"))
    f.write("feed.rss", "<rss><channel><item>broken <<<")
    result = await run_guarded(source, f.redis)
    assert result.errors == {"malformed_feed": 1}
    status = await f.status(source)
    assert status["error:malformed_feed"] == "1" and "feed h" in status["last_error"]
    assert await f.redis.hgetall(keys.feed_seen("h")) == seen_before
    assert await f.redis.hget(keys.counters("sources"), "malformed_feed") == "1"


async def test_unreachable_host_and_500_are_recorded_and_retried(f: Feeds) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = f.source("down", "", [WHITFIELD], url=f"http://127.0.0.1:{closed_port}/feed.rss")
    assert (await run_guarded(down, f.redis)).errors == {"unreachable": 1}

    f.write("feed.rss", rss(("e1", GOOD)))
    source = f.source("h", "feed.rss", [WHITFIELD])
    f.server.faults["/feed.rss"] = 500
    assert (await run_guarded(source, f.redis)).errors == {"http_500": 1}
    del f.server.faults["/feed.rss"]
    assert (await run_guarded(source, f.redis)).emitted == 4  # the next run retries


async def test_failed_transcript_is_retried_without_blocking_the_others(f: Feeds) -> None:
    f.write("feed.rss", rss(("e1", GOOD), ("e2", "transcripts/townhall-infrastructure.vtt")))
    source = f.source("h", "feed.rss", [WHITFIELD])
    f.server.faults["/" + GOOD] = 503
    first = await run_guarded(source, f.redis)
    assert first.emitted == 2 and first.errors == {"http_503": 1}
    cursor = await f.redis.hgetall(keys.feed_cursor("h"))
    assert "etag" not in cursor  # no 304 may hide the failed entry on the next run
    assert cursor["attempts:e1"] == "1"
    del f.server.faults["/" + GOOD]
    second = await run_guarded(source, f.redis)
    assert second.emitted == 4 and second.errored == 0
    assert len(f.sink.events) == 6 and len(set(f.sink.external_ids())) == 6
    assert "etag" in await f.redis.hgetall(keys.feed_cursor("h"))


@pytest.mark.parametrize(
    ("path", "content", "reason"),
    [
        ("transcripts/huge.txt", "SEN. WHITFIELD: " + "We did great things. " * 400, "too_large"),
        ("transcripts/slide.png", "\x89PNG not a transcript", "wrong_content_type"),
        ("transcripts/nobody.txt", "Just prose.\nNobody is named here at all.\n", "no_speakers"),
        ("transcripts/missing.html", None, "http_404"),
    ],
)
async def test_bad_documents_are_errors_then_given_up(
    f: Feeds, path: str, content: str | None, reason: str
) -> None:
    if content is not None:
        f.write(path, content)
    f.write("feed.rss", rss(("bad", path), ("good", GOOD)))
    source = f.source("h", "feed.rss", [WHITFIELD], max_document_bytes=4096, max_entry_attempts=2)
    first = await run_guarded(source, f.redis)
    assert first.errors == {reason: 1} and first.emitted == 4
    status = await f.status(source)
    assert status[f"error:{reason}"] == "1"
    second = await run_guarded(source, f.redis)  # retried, then given up
    assert second.errors == {reason: 1} and second.emitted == 0
    assert await f.redis.hget(keys.feed_seen("h"), "bad") == f"gave_up:{reason}"
    third = await run_guarded(source, f.redis)
    assert third.errored == 0 and third.emitted == 0
    assert "etag" in await f.redis.hgetall(keys.feed_cursor("h"))


async def test_broker_failure_marks_nothing_and_the_next_run_resends(f: Feeds) -> None:
    f.write("feed.rss", rss(("e1", GOOD)))
    source = f.source("h", "feed.rss", [WHITFIELD])
    f.sink.fail_next = 1
    failed = await run_guarded(source, f.redis)
    assert failed.errors == {"ConnectionError": 1}
    assert await f.redis.hgetall(keys.feed_seen("h")) == {}
    assert "etag" not in await f.redis.hgetall(keys.feed_cursor("h"))
    ok = await run_guarded(source, f.redis)
    assert ok.emitted == 4 and len(f.sink.events) == 4
    assert (await run_guarded(source, f.redis)).emitted == 0
