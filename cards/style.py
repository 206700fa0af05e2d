"""Colours, wording and the reliability badge: the card's decisions, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import matplotlib

from cards.data import CardData

# PuOr is diverging and colour-blind safe: orange = pushes toward "false", purple = "true".
CMAP = matplotlib.colormaps["PuOr"]
MAX_SHADE = 0.42  # keep the darkest shade light enough for dark text at full strength
FALSE_COLOUR = "#b35806"
TRUE_COLOUR = "#542788"
INK = "#1a1a1a"
MUTED = "#555555"
CAVEAT = "A model's estimate, not a fact-check."
DASH = "\u2013"  # en dash, for ranges
Level = Literal["high", "moderate", "low"]
HIGH_AT = 0.75
MODERATE_AT = 0.60


@dataclass(frozen=True)
class Badge:
    level: Level
    label: str
    detail: str
    colour: str
    text_colour: str


def verdict(card: CardData) -> str:
    return "Likely FALSE" if card.predicted_false else "Likely TRUE"


def reliability(card: CardData) -> tuple[float | None, str]:
    """The precision of *this* kind of prediction: PPV when it says false, NPV when true."""
    if card.predicted_false:
        return card.bucket.ppv, "PPV"
    return card.bucket.npv, "NPV"


def badge(card: CardData) -> Badge:
    """High / moderate / low by the bucket's measured PPV (NPV for a "true" prediction)."""
    value, name = reliability(card)
    if value is None:
        return Badge(
            "low", "LOW reliability", f"{name} not measured at this confidence", "#e0e0e0", INK
        )
    detail = f"{name} {value:.0%} at this confidence"
    if value >= HIGH_AT:
        return Badge("high", "HIGH reliability", detail, "#2166ac", "#ffffff")
    if value >= MODERATE_AT:
        return Badge("moderate", "MODERATE reliability", detail, "#92c5de", INK)
    return Badge("low", "LOW reliability", detail, "#e0e0e0", INK)


def shade(score: float | None, scale: float) -> tuple[float, float, float, float] | None:
    """Background of a word: ``None`` for no attribution, else a PuOr shade by signed size."""
    if score is None or scale <= 0.0:
        return None
    strength = max(-1.0, min(1.0, score / scale))
    if abs(strength) < 0.04:
        return None
    return CMAP(0.5 - MAX_SHADE * strength)


def text_colour_on(background: tuple[float, float, float, float] | None) -> str:
    """Dark text unless the background is dark (relative luminance below 0.4)."""
    if background is None:
        return INK
    r, g, b = background[:3]
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#ffffff" if luminance < 0.4 else INK


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def direction(score: float) -> str:
    return "toward false" if score > 0 else "toward true"
