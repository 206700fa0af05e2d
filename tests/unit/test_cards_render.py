"""Card rendering: golden images, determinism, edge cases and input validation."""

from __future__ import annotations

import dataclasses
import io
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cards.data import BucketStats, CardData, CardError, CardWord, GlobalStats
from cards.render import HEIGHT, WIDTH, render_card

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"
UPDATE_ENV = "CLAIMWATCH_UPDATE_GOLDEN"
MAX_MEAN_ABS_DIFF = 0.5  # on 0-255 channels: font hinting drift passes, a moved word does not

STANDARD_TEXT = (
    "Says the unemployment rate has doubled since the governor took office &amp; "
    "90 percent of new jobs went to immigrants."
)
STANDARD_SCORES = (
    0.01,
    -0.05,
    0.12,
    0.03,
    -0.02,
    0.2,
    0.0,
    -0.01,
    0.04,
    0.08,
    -0.09,
    0.0,
    0.3,
    0.15,
    0.0,
    0.02,
    0.05,
    0.07,
    -0.12,
    0.05,
)


def _words(text: str, scores: tuple[float | None, ...]) -> tuple[CardWord, ...]:
    return tuple(CardWord(w, s) for w, s in zip(text.split(), scores, strict=True))


def standard() -> CardData:
    return CardData(
        statement=STANDARD_TEXT,
        words=_words(STANDARD_TEXT, STANDARD_SCORES),
        p_false=0.83,
        predicted_false=True,
        bucket=BucketStats(0.8, 0.9, 0.78, 0.81, 0.70, 412),
        global_stats=GlobalStats(0.63, 0.68, 0.27, 1267),
        speaker="Jane Doe (@janedoe)",
        said_at=datetime(2026, 11, 20, 14, 3, tzinfo=UTC),
        source_url="https://x.com/janedoe/status/1234567890123456789",
        model_version="minilm-liar-2026.11.1",
        statement_id="3f9a2c1d",
        attribution_method="integrated gradients (32 steps)",
        context_score=0.11,
        convergence_delta=0.004,
    )


def long_true() -> CardData:
    text = " ".join(
        [
            "Our state cut taxes for working families three times in four years, and the "
            "budget is balanced while schools got more money than ever before."
        ]
        * 12
    )
    scores = tuple(((i * 37) % 11 - 5) / 50 for i in range(len(text.split())))
    return dataclasses.replace(
        standard(),
        statement=text,
        words=_words(text, scores),
        p_false=0.31,
        predicted_false=False,
        bucket=BucketStats(0.6, 0.7, 0.58, 0.49, 0.55, 97),
        speaker="Gov. John Roe",
        said_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        source_url=None,
        attribution_method="leave-one-out (word masked)",
        context_score=None,
        convergence_delta=None,
    )


EDGE_TEXT = (
    "Visit https://www.example.com/a/very/long/path/that/goes/on/and/on?with=query&amp;x=1 "
    "שלום עולם مرحبا 你好世界 🇺🇸🔥 costs $5 and $10 &quot;now&quot;"
)


def edge() -> CardData:
    return dataclasses.replace(
        standard(),
        statement=EDGE_TEXT,
        words=(),
        p_false=0.66,
        bucket=BucketStats(0.6, 0.7, 0.64, 0.66, None, 230),
        attribution_method=None,
        context_score=None,
        convergence_delta=None,
    )


def rtl() -> CardData:
    text = "הממשלה הכפילה את האבטלה מאז 2019"
    return dataclasses.replace(
        standard(), statement=text, words=_words(text, (0.1, 0.3, None, -0.2, 0.0, 0.05))
    )


RECORDS = {"standard": standard, "long_true": long_true, "edge": edge, "rtl": rtl}


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_golden_images(name: str) -> None:
    rendered = render_card(RECORDS[name]())
    golden = GOLDEN_DIR / f"card_{name}.png"
    if os.environ.get(UPDATE_ENV) == "1":
        golden.write_bytes(rendered.png)
    assert golden.exists(), f"missing {golden}; run with {UPDATE_ENV}=1 to create it"
    ours, theirs = _pixels(rendered.png), _pixels(golden.read_bytes())
    assert ours.shape == theirs.shape == (HEIGHT, WIDTH, 3)
    assert float(np.abs(ours - theirs).mean()) < MAX_MEAN_ABS_DIFF


def test_same_input_gives_identical_bytes_without_metadata() -> None:
    first, second = render_card(standard()), render_card(standard())
    assert first.png == second.png
    assert first.alt_text == second.alt_text
    info = Image.open(io.BytesIO(first.png)).info
    assert "Software" not in info and not any("date" in k.lower() for k in info)
    assert pytest.approx(16 / 9) == WIDTH / HEIGHT and WIDTH >= 1200


def test_different_attributions_change_the_image() -> None:
    flipped = standard()
    flipped = dataclasses.replace(
        flipped, words=tuple(CardWord(w.text, -(w.score or 0.0)) for w in flipped.words)
    )
    diff = np.abs(_pixels(render_card(flipped).png) - _pixels(render_card(standard()).png))
    assert diff.mean() > 1.0


def test_long_statement_is_truncated_and_says_so() -> None:
    rendered = render_card(long_true())
    assert rendered.truncated
    assert "shortened" in rendered.alt_text
    assert not render_card(standard()).truncated


def test_alt_text_carries_verdict_drivers_stats_and_caveat() -> None:
    alt = render_card(standard()).alt_text
    assert alt.startswith("ClaimWatch card. Likely false (model p(false) = 0.83).")
    assert "High reliability: PPV 81%" in alt
    assert "Words pushing toward false: 90, doubled, percent." in alt
    assert "not a fact-check" in alt and "AUC 0.68" in alt and "3f9a2c1d" in alt
    assert "&amp;" not in alt and " & " in alt
    assert len(render_card(long_true()).alt_text) <= 1000
    low = render_card(long_true()).alt_text
    assert "Likely true" in low and "Low reliability: NPV 55%" in low


def test_edge_text_renders_without_warnings_or_attributions() -> None:
    rendered = render_card(edge())  # warnings are errors: a missing glyph would fail here
    assert rendered.png.startswith(b"\x89PNG")
    assert "Words pushing" not in rendered.alt_text
    assert '"now"' in rendered.alt_text


BAD_FIELDS = [
    ("p_false", 1.5, "p_false"),
    ("p_false", float("nan"), "p_false"),
    ("statement", "   ", "statement"),
    ("speaker", "", "speaker"),
    ("said_at", datetime(2026, 1, 1), "timezone-aware"),
    ("source_url", "javascript:alert(1)", "source_url"),
    ("words", (CardWord("Says", 0.1),), "whitespace-separated words"),
    ("bucket", BucketStats(0.9, 0.8, 0.5, 0.5, 0.5), "bucket.floor"),
    ("bucket", BucketStats(0.8, 0.9, 0.5, 1.2, 0.5), "bucket.ppv"),
    ("global_stats", GlobalStats(0.6, 0.7, -2.0), "global_stats.mcc"),
    ("context_score", float("inf"), "context_score"),
    ("predicted_false", 1, "predicted_false"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_bad_input_raises_card_error(field: str, value: object, message: str) -> None:
    with pytest.raises(CardError, match=message):
        dataclasses.replace(standard(), **{field: value})


def test_non_finite_word_score_and_wrong_type_raise_card_error() -> None:
    words = list(standard().words)
    words[0] = CardWord(words[0].text, float("nan"))
    with pytest.raises(CardError, match="not finite"):
        dataclasses.replace(standard(), words=tuple(words))
    with pytest.raises(CardError, match="expected CardData"):
        render_card("not a card")  # type: ignore[arg-type]


def test_badge_levels_follow_the_precision_of_the_prediction() -> None:
    from cards.style import badge

    def level(ppv: float | None, npv: float | None, predicted_false: bool) -> str:
        card = dataclasses.replace(
            standard(),
            predicted_false=predicted_false,
            bucket=BucketStats(0.8, 0.9, 0.7, ppv, npv, 10),
        )
        return badge(card).level

    assert level(0.80, 0.10, True) == "high"
    assert level(0.65, 0.99, True) == "moderate"
    assert level(0.50, 0.99, True) == "low"
    assert level(None, 0.99, True) == "low"
    assert level(0.99, 0.62, False) == "moderate"  # a "true" call is judged by NPV
    card = dataclasses.replace(standard(), bucket=BucketStats(0.8, 0.9, 0.7, None, 0.6, 10))
    assert "PPV n/a" in render_card(card).alt_text
