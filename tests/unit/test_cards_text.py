"""Pure text preparation for cards: glyph fallback, entities, URLs, RTL, wrapping."""

from __future__ import annotations

from cards.text import (
    ELLIPSIS,
    FALLBACK_GLYPH,
    display_word,
    displayable,
    fit_width,
    has_glyph,
    is_rtl,
    shorten_url,
    wrap,
)


def test_displayable_unescapes_entities_and_boxes_missing_glyphs() -> None:
    assert displayable("Tom &amp; Jerry &quot;x&quot; &#39;y&#39;") == "Tom & Jerry \"x\" 'y'"
    assert has_glyph("Ж") and has_glyph("ש") and not has_glyph("中")
    assert displayable("你好世界!") == FALLBACK_GLYPH + "!"  # one box per run
    assert displayable("a\u200db\ufe0fc\x07") == "abc"  # joiners, selectors, controls dropped
    assert displayable("café Ωmega") == "café Ωmega"


def test_rtl_detection_by_strong_characters() -> None:
    assert is_rtl("שלום עולם")
    assert is_rtl("مرحبا بالعالم 2019")
    assert not is_rtl("hello שלום world")
    assert not is_rtl("2019")


def test_urls_are_shortened_and_capped() -> None:
    assert shorten_url("https://www.example.com/a") == "example.com/a"
    long = shorten_url("http://example.com/" + "x" * 100, max_chars=20)
    assert len(long) == 20 and long.endswith(ELLIPSIS)
    assert display_word("HTTPS://www.Example.com/p") == "Example.com/p"
    assert display_word("\u200d") == FALLBACK_GLYPH  # never an empty, invisible word


def test_fit_width_cuts_with_ellipsis_only_when_needed() -> None:
    def measure(s: str) -> float:
        return float(len(s))

    assert fit_width("short", 10, measure) == "short"
    cut = fit_width("abcdefghijklmnop", 6, measure)
    assert cut == "abcde" + ELLIPSIS and measure(cut) <= 6


def test_wrap_is_greedy_and_reports_truncation() -> None:
    wrapped = wrap([3, 3, 3, 3, 3], max_width=7, space=1, max_lines=10)
    assert wrapped.lines == ((0, 1), (2, 3), (4,)) and not wrapped.truncated
    cut = wrap([3, 3, 3, 3, 3], max_width=7, space=1, max_lines=2)
    assert cut.lines == ((0, 1), (2, 3)) and cut.truncated
    assert wrap([], 7, 1, 3).lines == ()
    # A word as wide as the line gets a line of its own rather than an empty line first.
    assert wrap([7, 7], 7, 1, 5).lines == ((0,), (1,))
