"""Pure transcript handling: formats, speaker turns, sentences, speaker matching, feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.feed_poller import entry_events
from bot.feeds import FeedEntry, FeedError, parse_feed
from bot.sentences import split_sentences
from bot.transcripts import (
    TranscriptError,
    detect_format,
    match_speaker,
    parse_transcript,
    speaker_label,
    statements,
)
from config.settings import TranscriptFeed, WatchedSpeaker
from ops.feedserver import DEFAULT_DIR

TRANSCRIPTS = DEFAULT_DIR / "transcripts"


def read(name: str) -> str:
    return (TRANSCRIPTS / name).read_text(encoding="utf-8")


# --- sentences ------------------------------------------------------------------------------


def test_sentences_respect_abbreviations_initials_and_numbers() -> None:
    text = (
        "Mr. Smith went to Washington. The U.S. Senate voted 3.5 to 2! Really? "
        'J. Doe said "no." Then he left.'
    )
    assert split_sentences(text) == [
        "Mr. Smith went to Washington.",
        "The U.S. Senate voted 3.5 to 2!",
        "Really?",
        'J. Doe said "no."',
        "Then he left.",
    ]


def test_sentences_do_not_split_before_lower_case() -> None:
    assert split_sentences("We met at 9 a.m. and left... and then came back.") == [
        "We met at 9 a.m. and left... and then came back."
    ]


# --- speaker labels and turns ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("SEN. WARREN: Thank you.", "SEN. WARREN"),
        (">> THE PRESIDENT: Hello.", "THE PRESIDENT"),
        ("REP. DELGADO (D): Yes.", "REP. DELGADO"),
        ("Jane Doe: (00:01:23) We did it.", "Jane Doe"),
        ("[00:12:01] MODERATOR: Next.", "MODERATOR"),
        ("- MARIA DELGADO: Hello!", "MARIA DELGADO"),
        ("GOV. OKAFOR:", "GOV. OKAFOR"),
    ],
)
def test_speaker_labels_in_common_markups(line: str, label: str) -> None:
    found = speaker_label(line)
    assert found is not None and found[0] == label


@pytest.mark.parametrize(
    "line",
    [
        "He said this: taxes rose.",
        "Note: this transcript is unofficial.",
        "The numbers are clear: we won.",
        "Why now? Because: reasons.",
        "https://example.org/x",
    ],
)
def test_prose_with_colons_is_not_a_speaker(line: str) -> None:
    assert speaker_label(line) is None


def test_html_transcript_turns_with_bold_and_class_markup() -> None:
    turns = parse_transcript("html", read("hearing-fiscal-outlook.html"))
    speakers = [t.speaker for t in turns]
    assert speakers == [
        "CHAIRMAN HOLLOWAY",
        "SEN. WHITFIELD",
        "Dr. Anna Perez",
        "SEN. WHITFIELD",
    ]
    assert "(APPLAUSE)" not in turns[1].text and "400,000 jobs" in turns[1].text
    assert "Home" not in " ".join(t.text for t in turns)  # nav is not a turn


def test_vtt_voice_tags_and_cc_markers() -> None:
    body = read("townhall-infrastructure.vtt")
    assert detect_format("text/vtt", "x.vtt", body) == "vtt"
    found = statements(parse_transcript("vtt", body))
    assert [(s.speaker, s.text) for s in found] == [
        ("Moderator", "Welcome, everyone, to tonight's town hall."),
        ("Jane Whitfield", "Thank you."),
        (
            "Jane Whitfield",
            "Every bridge in this county was rebuilt with federal money since 2021.",
        ),
        ("Jane Whitfield", "Commute times have dropped by thirty percent."),
        ("AUDIENCE MEMBER", "What about the rail line?"),
    ]
    assert found[2].start_s == 5.0  # a turn keeps the start of its first cue
    assert [s.segment for s in found] == [0, 1, 2, 3, 4]


def test_srt_continuation_cues_stay_with_the_speaker() -> None:
    body = read("briefing-2024-04-09.srt")
    assert detect_format("application/x-subrip", "x.srt", body) == "srt"
    assert detect_format("text/plain", "x.txt", body) == "srt"  # sniffed
    found = statements(parse_transcript("srt", body))
    assert found[1].speaker == "GOV. OKAFOR"
    assert found[1].text == "Crime in our largest cities fell by twenty-two percent last year."
    assert found[2].speaker == "REPORTER"


def test_plain_text_with_q_and_stage_directions() -> None:
    turns = parse_transcript("text", read("briefing-2024-04-02.txt"))
    assert [t.speaker for t in turns] == ["GOV. OKAFOR", "Q", "GOV. OKAFOR", "OKAFOR AIDE"]
    assert "[CROSSTALK]" not in turns[2].text


def test_transcript_without_speakers_is_an_error() -> None:
    with pytest.raises(TranscriptError) as err:
        parse_transcript("text", "Just prose. No one is named here.\nAnother line.")
    assert err.value.reason == "no_speakers"


@pytest.mark.parametrize(
    ("ctype", "url", "expected"),
    [
        ("text/html; charset=utf-8", "a", "html"),
        ("text/plain", "a.txt", "text"),
        (None, "a/b.vtt", "vtt"),
        ("application/octet-stream", "a.srt?x=1", "srt"),
    ],
)
def test_format_detection(ctype: str | None, url: str, expected: str) -> None:
    assert detect_format(ctype, url, "hello") == expected


@pytest.mark.parametrize("ctype", ["application/json", "image/png", "application/pdf"])
def test_wrong_content_type_is_refused(ctype: str) -> None:
    with pytest.raises(TranscriptError) as err:
        detect_format(ctype, "a.html", "{}")
    assert err.value.reason == "wrong_content_type"


# --- speaker matching -----------------------------------------------------------------------

WHITFIELD = WatchedSpeaker(name="Jane Whitfield", party="democrat", role="senator", state="OH")
OKAFOR = WatchedSpeaker(name="Robert Okafor", aliases=["THE GOVERNOR"], role="governor")


@pytest.mark.parametrize(
    ("label", "who"),
    [
        ("Jane Whitfield", WHITFIELD),
        ("SEN. WHITFIELD", WHITFIELD),
        ("Senator Jane Whitfield (D-OH)", WHITFIELD),
        ("GOV. OKAFOR", OKAFOR),
        ("THE GOVERNOR", OKAFOR),
        ("WHITFIELD", None),  # a bare surname without a title is too ambiguous
        ("OKAFOR AIDE", None),
        ("Moderator", None),
    ],
)
def test_speaker_matching(label: str, who: WatchedSpeaker | None) -> None:
    assert match_speaker(label, [WHITFIELD, OKAFOR]) is who


def test_entry_events_filter_speakers_and_short_filler() -> None:
    feed = TranscriptFeed(name="hearings", url="http://h/feed.rss", speakers=[WHITFIELD])
    entry = FeedEntry("e1", "Hearing", "http://h/t.html", datetime(2024, 3, 5, 15, tzinfo=UTC))
    found = statements(parse_transcript("html", read("hearing-fiscal-outlook.html")))
    events, skipped = entry_events(
        feed, entry, found, min_chars=25, fallback_time=datetime.now(UTC)
    )
    texts = [e["text"] for e in events]
    assert "Thank you, Mr. Chairman." not in texts and "Thanks." not in texts
    assert "Our state created 400,000 jobs in 2023 alone." in texts
    assert all(e["author"] == "Jane Whitfield" and e["party"] == "democrat" for e in events)
    assert skipped["short"] >= 3 and skipped["other_speaker"] >= 2
    first = events[0]
    assert first["said_at"] == "2024-03-05T15:00:00+00:00"
    assert first["external_id"] == f"hearings:e1:{first['segment']}"
    assert first["source"] == "transcript" and first["kind"] == "transcript"
    assert first["venue"] == "Hearing" and first["url"] == "http://h/t.html"
    # Segment numbers are positions in the whole transcript, not among kept statements.
    assert first["segment"] > 0


# --- feeds ----------------------------------------------------------------------------------


def sample(name: str) -> bytes:
    return (DEFAULT_DIR / name).read_bytes().replace(b"{{BASE_URL}}", b"http://feeds.test")


def test_rss_entries_prefer_transcript_enclosures() -> None:
    entries = parse_feed(sample("hearings.rss"), content_type="application/rss+xml")
    assert [e.id for e in entries] == ["hearing-2024-03-05", "townhall-2024-03-12"]
    assert entries[0].transcript_url == "http://feeds.test/transcripts/hearing-fiscal-outlook.html"
    assert entries[1].transcript_url.endswith("townhall-infrastructure.vtt")
    assert entries[0].published == datetime(2024, 3, 5, 15, tzinfo=UTC)


def test_atom_entries() -> None:
    entries = parse_feed(sample("briefings.atom"), content_type="application/atom+xml")
    assert [e.id for e in entries] == [
        "urn:claimwatch:sample:briefing-2024-04-02",
        "urn:claimwatch:sample:briefing-2024-04-09",
    ]
    assert entries[0].transcript_url.endswith("briefing-2024-04-02.txt")
    assert entries[1].transcript_url.endswith("briefing-2024-04-09.srt")
    assert entries[1].published == datetime(2024, 4, 9, 16, tzinfo=UTC)


def test_json_feed_entries() -> None:
    entries = parse_feed(sample("speeches.json"), content_type="application/feed+json")
    assert [(e.id, Path(e.transcript_url).name) for e in entries] == [
        ("rally-2024-05-01", "rally-springfield.srt"),
        ("debate-2024-05-08", "debate-8th-district.txt"),
    ]
    assert entries[0].published == datetime(2024, 5, 1, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"<html><body>not a feed</body></html>", "text/html"),
        (b"<<<rss garbage", "application/rss+xml"),
        (b'{"items": []}', "application/json"),
        (b"{not json", "application/feed+json"),
    ],
)
def test_malformed_feeds_raise(body: bytes, ctype: str) -> None:
    with pytest.raises(FeedError):
        parse_feed(body, content_type=ctype)
