"""A rule-based sentence segmenter for spoken-word transcripts (pure, no model).

Splits after ``.``, ``!`` or ``?`` (with any closing quotes or brackets) when the next
sentence starts with a capital, digit, quote or bracket, except after a known abbreviation
("Mr.", "Sen.", "U.S."), a single initial ("J. Smith"), or inside a number ("3.5").
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sen",
        "rep",
        "gov",
        "gen",
        "lt",
        "col",
        "sgt",
        "capt",
        "adm",
        "pres",
        "st",
        "jr",
        "sr",
        "vs",
        "v",
        "inc",
        "co",
        "corp",
        "ltd",
        "dept",
        "est",
        "approx",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mt",
        "ft",
        "hon",
        "rev",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "d.c",
        "a.m",
        "p.m",
        "etc",
    }
)
# "etc." and "a.m." end sentences often enough; still treat them as abbreviations only when
# the next word is lower case (handled by the capital-letter rule below).
_SOFT_ABBREVIATIONS = frozenset({"etc", "a.m", "p.m"})

_BOUNDARY = re.compile(r"([.!?]+)([\"'\u201d\u2019)\]]*)(\s+)(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_WHITESPACE = re.compile(r"\s+")


def _word_before(text: str, end: int) -> str:
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip("\"'(\u201c\u2018[").lower()


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order, whitespace normalised, empty ones dropped."""
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        punct = match.group(1)
        if punct == ".":
            word = _word_before(text, match.start(1))
            if word in ABBREVIATIONS and word not in _SOFT_ABBREVIATIONS:
                continue
            if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
                continue
            if re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):  # "U.S" of "U.S." before a name
                continue
        end = match.end(2)
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end(3)
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
