"""Post text: X's weighted length and fitting the template in 280."""

from __future__ import annotations

import pytest

from publishers.post_text import (
    _LIGHT_RANGES,
    PostFields,
    TemplateError,
    char_weight,
    fields_from_prediction,
    marker_for,
    render_post,
    weighted_length,
)

TEMPLATE = (
    'Likely {verdict} ({ppv_pct} of similar calls were right): {author}: "{quote}" '
    "{statement_url} Feed: {feed_url} {marker}"
)


def fields(quote: str, url: str = "https://x.com/a/status/1") -> PostFields:
    return PostFields(
        verdict="false or misleading",
        ppv_pct="88%",
        author="Sen. Example",
        quote=quote,
        statement_url=url,
        feed_url="https://claimwatch.example/feed",
        marker=marker_for("0123456789abcdef01234567"),
    )


def test_weighted_length_counts_urls_as_23_and_wide_chars_as_2() -> None:
    assert weighted_length("hello") == 5
    assert weighted_length("see https://example.com/" + "a" * 200) == 4 + 23
    assert weighted_length("see http://t.co") == 4 + 23  # short URLs count 23 too
    assert weighted_length("日本") == 4
    assert weighted_length("é—“”") == 4  # Latin-1 and the light punctuation ranges
    assert weighted_length("visit example.com now") == len("visit  now") + 23


def test_weighted_length_equals_the_per_character_weights_at_every_range_edge() -> None:
    edges = [c for lo, hi in _LIGHT_RANGES for c in (lo - 1, lo, hi, hi + 1) if c >= 0]
    specials = [ord(c) for c in "]-^\\"] + [0x1F600, 0x4E2D, 0x10FFFF]
    chars = [chr(c) for c in edges + specials]
    for ch in chars:
        assert weighted_length(ch) == char_weight(ch), hex(ord(ch))
    text = "".join(chars) * 3
    assert weighted_length(text) == sum(char_weight(c) for c in text)
    assert weighted_length(text) > len(text)  # the heavy characters were counted twice


def test_short_quote_is_kept_whole() -> None:
    text = render_post(TEMPLATE, fields("Taxes went up."))
    assert '"Taxes went up."' in text and text.endswith(marker_for("0123456789abcdef01234567"))


@pytest.mark.parametrize(
    "quote",
    [
        "word " * 200,
        "x" * 1000,  # one endless word
        "日本語の文" * 100,  # weighs double
        "see https://example.com/a " * 40,  # URLs inside the quote
    ],
)
def test_long_quote_is_shortened_to_exactly_fit(quote: str) -> None:
    text = render_post(TEMPLATE, fields(quote))
    assert weighted_length(text) <= 280
    assert weighted_length(text) >= 270 or "http" in quote  # not shortened more than needed
    assert "…" in text and "https://x.com/a/status/1" in text


def test_template_without_marker_or_with_unknown_field_is_refused() -> None:
    with pytest.raises(TemplateError, match="marker"):
        render_post("{quote}", fields("a"))
    with pytest.raises(TemplateError, match="unknown"):
        render_post("{quote} {marker} {nope}", fields("a"))


def test_template_too_long_even_without_quote_is_refused() -> None:
    with pytest.raises(TemplateError, match="even without a quote"):
        render_post("{quote} " + "padding " * 40 + "{marker}", fields("a"))


def test_fields_from_the_prediction_document_and_from_flat_scores() -> None:
    doc = {
        "statement": {
            "id": "feedfacecafe",
            "author": "A",
            "text": "It  rained\n",
            "url": "https://u",
        },
        "prediction": 1,
        "bucket": {"ppv": 0.876, "npv": 0.5},
    }
    got = fields_from_prediction(doc, "https://feed")
    assert (got.ppv_pct, got.quote, got.marker, got.verdict) == (
        "88%",
        "It rained",
        marker_for("feedfacecafe"),
        "false or misleading",
    )
    flat = {
        "statement_id": "s1",
        "author": "B",
        "text": "t",
        "prediction": 0,
        "bucket_ppv": 0.9,
        "bucket_npv": 0.61,
    }
    got = fields_from_prediction(flat, "https://feed")
    assert (got.ppv_pct, got.verdict) == ("61%", "not false")
    with pytest.raises(ValueError):
        fields_from_prediction({"statement": {"text": "no id"}}, "f")
