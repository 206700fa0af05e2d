"""Transcript documents (HTML, plain text, WebVTT, SRT) to speaker turns to statements. Pure.

Speaker turns are recognised from the common markups: ``SPEAKER: text`` at a line start
(optionally ``>>``-prefixed as in closed captions, with a timestamp or a ``(R-TX)`` after the
name), a speaker label alone on its line, WebVTT voice tags ``<v Name>``, and HTML
``<b>Name:</b>`` or ``class="speaker"`` elements. Lines without a label continue the turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from bot.sentences import split_sentences
from config.errors import ClaimWatchError
from config.settings import WatchedSpeaker


class TranscriptError(ClaimWatchError, ValueError):
    """A document that cannot be turned into statements; ``reason`` names the metric."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    start_s: float | None = None


@dataclass(frozen=True)
class TranscriptStatement:
    """One sentence of one turn; ``segment`` is its position among all sentences."""

    segment: int
    speaker: str
    text: str
    start_s: float | None = None


# --- format detection -------------------------------------------------------------------------

_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/vtt": "vtt",
    "application/x-subrip": "srt",
    "application/srt": "srt",
    "text/srt": "srt",
    "text/x-srt": "srt",
}
_EXTENSIONS = {".html": "html", ".htm": "html", ".txt": "text", ".vtt": "vtt", ".srt": "srt"}
_SRT_START = re.compile(r"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")


def detect_format(content_type: str | None, url: str, body: str) -> str:
    """``html``/``text``/``vtt``/``srt`` from the content type, sniffing the body for captions.

    A declared type that is not a transcript (JSON, PDF, an image...) is refused.
    """
    mime = (content_type or "").split(";")[0].strip().lower()
    if body.lstrip("\ufeff").startswith("WEBVTT"):
        sniffed: str | None = "vtt"
    elif _SRT_START.match(body):
        sniffed = "srt"
    else:
        sniffed = None
    if mime in _TYPES:
        declared = _TYPES[mime]
        return sniffed if declared == "text" and sniffed else declared
    if mime in ("", "application/octet-stream", "binary/octet-stream"):
        if sniffed:
            return sniffed
        path = url.split("?")[0].split("#")[0].lower()
        for ext, fmt in _EXTENSIONS.items():
            if path.endswith(ext):
                return fmt
    raise TranscriptError(
        f"content type {mime or 'none'!r} is not a transcript (html, text, vtt, srt)",
        reason="wrong_content_type",
    )


# --- document to (start, line) ----------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "td",
        "dt",
        "dd",
        "section",
        "article",
        "blockquote",
        "pre",
        "hr",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "nav", "noscript", "template"})


class _HtmlLines(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._speaker_depth: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        classes = " ".join(v or "" for k, v in attrs if k == "class").lower()
        self._speaker_depth.append(tag if "speaker" in classes else "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self._skip:
            self._skip -= 1
        if self._speaker_depth and self._speaker_depth[-1] == tag:
            self._speaker_depth.pop()
            if not "".join(self.parts).rstrip().endswith(":"):
                self.parts.append(": ")
        elif self._speaker_depth and tag in self._speaker_depth:
            while self._speaker_depth and self._speaker_depth.pop() != tag:
                pass
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_lines(body: str) -> list[str]:
    parser = _HtmlLines()
    parser.feed(body)
    parser.close()
    return [line.strip() for line in "".join(parser.parts).splitlines()]


_TIMING = re.compile(
    r"^\s*(\d{1,2}:)?(\d{1,2}):(\d{2})[.,](\d{1,3})\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}[.,]\d{1,3}"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_CUE_TAG = re.compile(r"</?(?:c|i|b|u|ruby|rt|lang|v)(?:[.\s][^>]*)?>|<\d{2}:[\d:.]+>|\{\\an?\d+\}")


def _seconds(match: re.Match[str]) -> float:
    hours = int(match.group(1)[:-1]) if match.group(1) else 0
    return (
        hours * 3600
        + int(match.group(2)) * 60
        + int(match.group(3))
        + int(match.group(4)) / (10 ** len(match.group(4)))
    )


def caption_lines(body: str) -> list[tuple[float | None, str]]:
    """Cue text lines of a WebVTT or SRT file with each cue's start time."""
    out: list[tuple[float | None, str]] = []
    for block in re.split(r"\r?\n\s*\r?\n", body.replace("\ufeff", "")):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        timing_at = next((i for i, ln in enumerate(lines) if _TIMING.match(ln)), None)
        if timing_at is None:
            continue  # WEBVTT header, NOTE, STYLE, REGION blocks
        match = _TIMING.match(lines[timing_at])
        start = _seconds(match) if match else None
        for line in lines[timing_at + 1 :]:
            voice = _VOICE.search(line)
            text = _CUE_TAG.sub("", line).strip()
            if voice and text:
                text = f"{voice.group(1).strip()}: {text}"
            if text:
                out.append((start, text))
    return out


def document_lines(fmt: str, body: str) -> list[tuple[float | None, str]]:
    if fmt in ("vtt", "srt"):
        return caption_lines(body)
    lines = html_lines(body) if fmt == "html" else [ln.strip() for ln in body.splitlines()]
    return [(None, ln) for ln in lines]


# --- speaker turns ----------------------------------------------------------------------------

_LEADING_TIME = re.compile(r"^\[?\(?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\)?\]?\s+")
_LABEL_LINE = re.compile(
    r"^(?:>>+\s*|-\s+)?\[?(?P<label>[A-Z][^:\n]{0,59}?)\]?\s*(?:\((?P<paren>[^)]{0,30})\))?"
    r"\s*:\s*(?P<rest>.*)$"
)
_LABEL_WORD = re.compile(r"^(?:[A-Z][\w.'\u2019-]*|de|la|van|von|der|del|of|the|and)$")
_NOT_SPEAKERS = frozenset(
    [
        "note",
        "source",
        "update",
        "date",
        "time",
        "location",
        "transcript",
        "subject",
        "title",
        "url",
        "link",
        "posted",
        "edited",
        "copyright",
        "http",
        "https",
        "warning",
        "editor",
    ]
)
_STAGE = re.compile(
    r"\[[^\]]{0,40}\]|\((?:[A-Z][A-Z ,'-]{2,40}|inaudible|crosstalk|laughter|applause)\)",
    re.IGNORECASE,
)


def speaker_label(line: str) -> tuple[str, str] | None:
    """``(label, rest)`` when ``line`` opens a turn, else None."""
    line = _LEADING_TIME.sub("", line)
    match = _LABEL_LINE.match(line)
    if not match:
        return None
    label = match.group("label").strip().rstrip(".").strip()
    words = label.split()
    if (
        not words
        or len(words) > 6
        or any(c in label for c in '?!;"')
        or not any(c.isalpha() for c in label)
    ):
        return None
    if not all(_LABEL_WORD.match(w) for w in words):
        return None
    if label.lower() in _NOT_SPEAKERS:
        return None
    return label, match.group("rest").strip()


def split_turns(lines: Iterable[tuple[float | None, str]]) -> list[Turn]:
    """Speaker turns in order; text before the first label (a preamble) is dropped."""
    turns: list[Turn] = []
    speaker: str | None = None
    start: float | None = None
    buffer: list[str] = []

    def flush() -> None:
        text = _STAGE.sub(" ", " ".join(buffer)).strip()
        text = re.sub(r"\s+", " ", text)
        if speaker is not None and text:
            if turns and turns[-1].speaker == speaker:  # a caption cue split mid-turn
                prev = turns[-1]
                turns[-1] = Turn(speaker, f"{prev.text} {text}", prev.start_s)
            else:
                turns.append(Turn(speaker, text, start))

    for at, raw in lines:
        line = raw.strip()
        if not line:
            continue
        found = speaker_label(line)
        if found:
            flush()
            speaker, rest = found
            start = at
            buffer = [rest] if rest else []
        elif speaker is not None:
            buffer.append(line)
    flush()
    return turns


def parse_transcript(fmt: str, body: str) -> list[Turn]:
    turns = split_turns(document_lines(fmt, body))
    if not turns:
        raise TranscriptError("no speaker turns found in the transcript", reason="no_speakers")
    return turns


def statements(turns: Sequence[Turn]) -> list[TranscriptStatement]:
    """Sentences of every turn, numbered across the document (stable, filter-independent)."""
    out: list[TranscriptStatement] = []
    for turn in turns:
        for sentence in split_sentences(turn.text):
            out.append(TranscriptStatement(len(out), turn.speaker, sentence, turn.start_s))
    return out


# --- speaker matching -------------------------------------------------------------------------

_TITLES = (
    "THE HONORABLE",
    "VICE PRESIDENT",
    "PRESIDENT",
    "SENATOR",
    "SEN",
    "REPRESENTATIVE",
    "REP",
    "CONGRESSMAN",
    "CONGRESSWOMAN",
    "GOVERNOR",
    "GOV",
    "SECRETARY",
    "MAYOR",
    "JUDGE",
    "CHAIRMAN",
    "CHAIRWOMAN",
    "CHAIR",
    "AMBASSADOR",
    "AMB",
    "HON",
    "MR",
    "MRS",
    "MS",
    "DR",
    "THE",
)


def _basic(label: str) -> str:
    label = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", label.upper())
    label = re.sub(r"[^A-Z0-9' -]", " ", label.replace("\u2019", "'"))
    return " ".join(label.split())


def _strip_titles(basic: str) -> tuple[str, bool]:
    titled = False
    changed = True
    while changed:
        changed = False
        for title in _TITLES:
            if basic.startswith(title + " "):
                basic = basic[len(title) + 1 :]
                titled = changed = True
    return basic, titled


def match_speaker(label: str, speakers: Sequence[WatchedSpeaker]) -> WatchedSpeaker | None:
    """The watched speaker a transcript label names: full name, an alias, or (after a title
    such as "SEN.") the surname alone."""
    basic = _basic(label)
    stripped, titled = _strip_titles(basic)
    wanted = {basic, stripped} - {""}
    for speaker in speakers:
        names = {speaker.name, *speaker.aliases}
        keys: set[str] = set()
        for name in names:
            b = _basic(name)
            s, _ = _strip_titles(b)
            keys |= {b, s}
        keys.discard("")
        if wanted & keys:
            return speaker
        surname = _strip_titles(_basic(speaker.name))[0].split()
        if titled and surname and stripped == surname[-1]:
            return speaker
    return None
