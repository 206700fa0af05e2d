"""Pure text preparation for cards: what each word looks like on screen, and line wrapping.

Matplotlib draws glyphs left to right without shaping or bidi, and only fonts that ship with
it may be used (DejaVu Sans), so: HTML entities are unescaped; characters DejaVu Sans lacks
(CJK, most emoji) become one fallback box per run instead of triggering missing-glyph
warnings; a mostly right-to-left statement is laid out from the right (matplotlib >= 3.11
shapes and orders the characters *within* a word itself, so words stay in logical order);
over-wide words (URLs) are shortened with an ellipsis.
"""

from __future__ import annotations

import html
import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib
from matplotlib.ft2font import FT2Font

FONT_DIR = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
FONT_REGULAR = os.path.join(FONT_DIR, "DejaVuSans.ttf")
FONT_BOLD = os.path.join(FONT_DIR, "DejaVuSans-Bold.ttf")
FONT_OBLIQUE = os.path.join(FONT_DIR, "DejaVuSans-Oblique.ttf")
FALLBACK_GLYPH = "\u25a1"  # white square, present in DejaVu Sans
ELLIPSIS = "\u2026"
_RTL_CLASSES = frozenset({"R", "AL"})
_STRONG_LTR = frozenset({"L"})


@lru_cache(maxsize=1)
def _font() -> FT2Font:
    return FT2Font(FONT_REGULAR)


@lru_cache(maxsize=4096)
def has_glyph(char: str) -> bool:
    """Whether DejaVu Sans draws ``char`` (bold/oblique cover the same ranges)."""
    return _font().get_char_index(ord(char)) != 0


def displayable(text: str) -> str:
    """``text`` unescaped, with runs of undrawable characters replaced by one fallback box."""
    out: list[str] = []
    for char in html.unescape(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Cf") or "\ufe00" <= char <= "\ufe0f":
            continue  # controls, lone surrogates, joiners/bidi marks, variation selectors
        if has_glyph(char):
            out.append(char)
        elif category in ("Mn", "Me"):
            continue  # an undrawable combining mark: drop rather than box
        elif not out or out[-1] != FALLBACK_GLYPH:
            out.append(FALLBACK_GLYPH)
    return "".join(out)


def is_rtl(text: str) -> bool:
    """More strong right-to-left characters than left-to-right ones."""
    rtl = sum(unicodedata.bidirectional(c) in _RTL_CLASSES for c in text)
    ltr = sum(unicodedata.bidirectional(c) in _STRONG_LTR for c in text)
    return rtl > ltr


def shorten_url(word: str, max_chars: int = 40) -> str:
    """``https://www.example.com/a/b?c`` -> ``example.com/a/b?c``, capped with an ellipsis."""
    short = word
    for prefix in ("https://", "http://"):
        if short.lower().startswith(prefix):
            short = short[len(prefix) :]
            break
    short = short.removeprefix("www.")
    return short if len(short) <= max_chars else short[: max_chars - 1] + ELLIPSIS


def display_word(text: str) -> str:
    """How one statement word is drawn."""
    word = displayable(text)
    if word.lower().startswith(("http://", "https://", "www.")):
        word = shorten_url(word)
    return word or FALLBACK_GLYPH


def fit_width(word: str, max_width: float, measure: Callable[[str], float]) -> str:
    """``word`` cut with an ellipsis until ``measure`` says it fits in ``max_width``."""
    if measure(word) <= max_width:
        return word
    low, high = 0, len(word)
    while low < high:  # longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if measure(word[:mid] + ELLIPSIS) <= max_width:
            low = mid
        else:
            high = mid - 1
    return word[:low] + ELLIPSIS


@dataclass(frozen=True)
class Wrapped:
    """Word indexes per line; ``truncated`` when words had to be dropped to fit."""

    lines: tuple[tuple[int, ...], ...]
    truncated: bool


def wrap(widths: Sequence[float], max_width: float, space: float, max_lines: int) -> Wrapped:
    """Greedy line breaking of words with the given widths (each already <= max_width)."""
    lines: list[list[int]] = []
    current: list[int] = []
    used = 0.0
    for index, width in enumerate(widths):
        needed = width if not current else used + space + width
        if current and needed > max_width:
            lines.append(current)
            current, used = [index], width
        else:
            current.append(index)
            used = needed
    if current:
        lines.append(current)
    truncated = len(lines) > max_lines
    return Wrapped(tuple(tuple(line) for line in lines[:max_lines]), truncated)
