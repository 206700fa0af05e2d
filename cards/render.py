"""Render a :class:`~cards.data.CardData` to PNG bytes plus alt text (matplotlib, Agg).

1600 x 900 px (16:9, what X shows uncropped). Only DejaVu Sans, loaded by file path from
matplotlib's own data folder, so output does not depend on the machine's fonts; the PNG
carries no software/time metadata, so the same record always gives the same bytes. No pyplot:
each call builds its own Figure, so rendering has no global state.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyBboxPatch, Rectangle

from cards import style
from cards.alt_text import alt_text
from cards.data import CardData, CardError
from cards.text import (
    ELLIPSIS,
    FONT_BOLD,
    FONT_OBLIQUE,
    FONT_REGULAR,
    Wrapped,
    display_word,
    displayable,
    fit_width,
    is_rtl,
    shorten_url,
    wrap,
)

WIDTH, HEIGHT, DPI = 1600, 900, 100
MARGIN = 70
STATEMENT_TOP, STATEMENT_BOTTOM = 205, 640
FONT_SIZES = (40, 36, 32, 29, 26, 24, 22, 20, 18)  # points; 18 pt = 25 px, still legible on a phone
LINE_SPACING = 1.62
MAX_WORDS = 400  # far more than fit at the smallest size: longer statements are cut first
WIDTH_SAFETY = 1.01


@dataclass(frozen=True)
class RenderedCard:
    png: bytes
    alt_text: str
    truncated: bool


@dataclass(frozen=True)
class _Placed:
    text: str
    score: float | None
    x: float
    y: float
    width: float


class _Measure:
    """Text widths in pixels from an off-screen Agg renderer (fast, no drawing)."""

    def __init__(self) -> None:
        self.renderer = RendererAgg(WIDTH, HEIGHT, DPI)
        self._props: dict[tuple[str, float], FontProperties] = {}

    def prop(self, size: float, path: str = FONT_REGULAR) -> FontProperties:
        key = (path, size)
        if key not in self._props:
            self._props[key] = FontProperties(fname=path, size=size)
        return self._props[key]

    def width(self, text: str, size: float, path: str = FONT_REGULAR) -> float:
        w, _, _ = self.renderer.get_text_width_height_descent(
            text, self.prop(size, path), ismath=False
        )
        return float(w)


def _layout_statement(
    words: list[str], scores: list[float | None], measure: _Measure, rtl: bool
) -> tuple[list[_Placed], float, bool]:
    """Largest font size at which the statement fits, else the smallest one truncated.

    Words are measured once at the largest size and scaled (text width is linear in font size
    up to hinting, hence the small safety factor); only over-wide words are re-measured.
    """
    max_width = WIDTH - 2 * MARGIN
    overflow = len(words) > MAX_WORDS  # more than the card could ever show
    words = words[:MAX_WORDS]
    reference = [measure.width(w, FONT_SIZES[0]) for w in words]
    for size in FONT_SIZES:
        px = size * DPI / 72
        pad = 0.22 * px
        line_height = LINE_SPACING * px
        max_lines = int((STATEMENT_BOTTOM - STATEMENT_TOP) // line_height)

        def width_at(text: str, size: float = size) -> float:
            return measure.width(text, size)

        scale = size / FONT_SIZES[0] * WIDTH_SAFETY
        fitted, widths = [], []
        for word, ref in zip(words, reference, strict=True):
            if ref * scale > max_width - 2 * pad:
                word = fit_width(word, max_width - 2 * pad, width_at)
                ref = width_at(word) / scale
            fitted.append(word)
            widths.append(ref * scale + 2 * pad)
        gap = measure.width(" ", size) * 0.9
        wrapped = wrap(widths, max_width, gap, max_lines)
        if overflow and not wrapped.truncated:
            wrapped = Wrapped(wrapped.lines, True)
        if wrapped.truncated and size != FONT_SIZES[-1]:
            continue
        lines = [list(line) for line in wrapped.lines]
        if wrapped.truncated:
            last = lines[-1]
            ellipsis_width = measure.width(ELLIPSIS, size) + 2 * pad
            while len(last) > 1 and (
                sum(widths[i] for i in last) + gap * len(last) + ellipsis_width > max_width
            ):
                last.pop()
        placed: list[_Placed] = []
        spare = (STATEMENT_BOTTOM - STATEMENT_TOP) - len(lines) * line_height
        top = STATEMENT_TOP + max(0.0, spare) / 2  # short statements sit mid-card
        for row, line in enumerate(lines):
            y = top + row * line_height + px * 0.95
            items = [(fitted[i], scores[i], widths[i]) for i in line]
            if wrapped.truncated and row == len(lines) - 1:
                items.append((ELLIPSIS, None, measure.width(ELLIPSIS, size) + 2 * pad))
            if rtl:
                items.reverse()
                line_width = sum(w for _, _, w in items) + gap * (len(items) - 1)
                x = WIDTH - MARGIN - line_width
            else:
                x = MARGIN
            for text, score, width in items:
                placed.append(_Placed(text, score, x, y, width))
                x += width + gap
        return placed, size, wrapped.truncated
    raise AssertionError("unreachable: the last font size always returns")


def _draw_statement(fig: Figure, card: CardData, measure: _Measure) -> bool:
    raw = card.statement.split()
    scores: list[float | None] = [w.score for w in card.words] if card.words else [None] * len(raw)
    known = [abs(s) for s in scores if s is not None]
    if card.context_score is not None:
        known.append(abs(card.context_score))
    scale = max(known, default=0.0)
    words = [display_word(w) for w in raw]
    placed, size, truncated = _layout_statement(words, scores, measure, is_rtl(" ".join(raw)))
    px = size * DPI / 72
    for item in placed:
        background = style.shade(item.score, scale)
        if background is not None:
            fig.patches.append(
                FancyBboxPatch(
                    (item.x, HEIGHT - (item.y + 0.38 * px)),
                    item.width,
                    1.32 * px,
                    boxstyle="round,pad=0,rounding_size=6",
                    transform=None,
                    facecolor=background,
                    edgecolor="none",
                )
            )
        fig.text(
            (item.x + item.width / 2) / WIDTH,
            1 - item.y / HEIGHT,
            item.text,
            ha="center",
            va="baseline",
            color=style.text_colour_on(background),
            fontproperties=measure.prop(size),
            parse_math=False,
        )
    if truncated:
        _text(
            fig,
            measure,
            MARGIN,
            STATEMENT_BOTTOM + 30,
            15,
            style.MUTED,
            "Statement shortened to fit the card; the full text is at the source.",
            FONT_OBLIQUE,
        )
    return truncated


def _text(
    fig: Figure,
    measure: _Measure,
    x: float,
    y: float,
    size: float,
    colour: str,
    text: str,
    font: str = FONT_REGULAR,
    ha: str = "left",
) -> None:
    """Text at pixel (x, baseline y from the top)."""
    fig.text(
        x / WIDTH,
        1 - y / HEIGHT,
        text,
        ha=ha,
        va="baseline",
        color=colour,
        fontproperties=measure.prop(size, font),
        parse_math=False,
    )


def _draw_header(fig: Figure, card: CardData, measure: _Measure) -> None:
    fig.patches.append(
        Rectangle(
            (0, HEIGHT - 128), WIDTH, 128, transform=None, facecolor="#f3f3f3", edgecolor="none"
        )
    )
    _text(fig, measure, MARGIN, 40, 14, style.MUTED, "CLAIMWATCH  ·  MODEL ESTIMATE", FONT_BOLD)
    colour = style.FALSE_COLOUR if card.predicted_false else style.TRUE_COLOUR
    verdict = style.verdict(card)
    _text(fig, measure, MARGIN, 100, 38, colour, verdict, FONT_BOLD)
    x = MARGIN + measure.width(verdict, 38, FONT_BOLD) + 30
    _text(fig, measure, x, 100, 24, style.INK, f"p(false) = {card.p_false:.2f}")

    badge = style.badge(card)
    left, top, width, height = WIDTH - MARGIN - 420, 22, 420, 88
    fig.patches.append(
        FancyBboxPatch(
            (left, HEIGHT - top - height),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=14",
            transform=None,
            facecolor=badge.colour,
            edgecolor="none",
        )
    )
    centre = left + width / 2
    _text(fig, measure, centre, top + 42, 22, badge.text_colour, badge.label, FONT_BOLD, "center")
    _text(fig, measure, centre, top + 74, 16, badge.text_colour, badge.detail, ha="center")

    when = card.said_at.strftime("%d %b %Y, %H:%M %Z").replace("UTC+00:00", "UTC")
    byline = f"{displayable(card.speaker)}  ·  {when}"
    source = shorten_url(card.source_url, 44) if card.source_url else "no source link"
    source_width = measure.width(source, 16)
    room = WIDTH - 2 * MARGIN - source_width - 40
    byline = fit_width(byline, room, lambda s: measure.width(s, 20, FONT_BOLD))
    _text(fig, measure, MARGIN, 172, 20, style.INK, byline, FONT_BOLD)
    _text(fig, measure, WIDTH - MARGIN, 172, 16, style.MUTED, source, ha="right")


def _draw_legend(fig: Figure, card: CardData, measure: _Measure) -> None:
    y = 694
    has_scores = any(w.score is not None for w in card.words)
    if not has_scores:
        _text(
            fig,
            measure,
            MARGIN,
            y,
            16,
            style.MUTED,
            "No word attributions available for this statement.",
            FONT_OBLIQUE,
        )
        return
    strip_left, strip_width, strip_height = MARGIN + 165, 260, 20
    steps = 40
    for i in range(steps):
        value = -1 + 2 * (i + 0.5) / steps  # left = toward true, right = toward false
        fig.patches.append(
            Rectangle(
                (strip_left + i * strip_width / steps, HEIGHT - y - 14 - 3),
                strip_width / steps + 0.5,
                strip_height,
                transform=None,
                facecolor=style.CMAP(0.5 - style.MAX_SHADE * value),
                edgecolor="none",
            )
        )
    _text(
        fig,
        measure,
        strip_left - 12,
        y + 14,
        16,
        style.TRUE_COLOUR,
        "toward true",
        FONT_BOLD,
        "right",
    )
    _text(
        fig,
        measure,
        strip_left + strip_width + 12,
        y + 14,
        16,
        style.FALSE_COLOUR,
        "toward false",
        FONT_BOLD,
    )
    method = card.attribution_method or "attribution"
    note = f"Word shading: {method}"
    if card.convergence_delta is not None:
        note += f", δ = {round(card.convergence_delta, 3) + 0.0:+.3f}"  # no "-0.000"
    x = strip_left + strip_width + 30 + measure.width("toward false", 16, FONT_BOLD)
    _text(fig, measure, x, y + 14, 15, style.MUTED, note)
    if card.context_score is not None:
        context = (
            f"Speaker & context metadata: {card.context_score:+.2f} "
            f"({style.direction(card.context_score)})"
        )
        _text(fig, measure, MARGIN, y + 48, 15, style.MUTED, context)


def _draw_stats(fig: Figure, card: CardData, measure: _Measure) -> None:
    fig.patches.append(
        Rectangle(
            (MARGIN, HEIGHT - 768),
            WIDTH - 2 * MARGIN,
            1.5,
            transform=None,
            facecolor="#cccccc",
            edgecolor="none",
        )
    )
    b, g = card.bucket, card.global_stats
    n = f", n = {b.n:,}" if b.n is not None else ""
    bucket = (
        f"Calibration, confidence {b.floor:.2f}{style.DASH}{b.ceiling:.2f}{n}:  accuracy "
        f"{style.percent(b.accuracy)}  ·  PPV {style.percent(b.ppv)}  ·  "
        f"NPV {style.percent(b.npv)}"
    )
    gn = f", n = {g.n:,}" if g.n is not None else ""
    overall = (
        f"Whole calibration set{gn}:  accuracy {style.percent(g.accuracy)}  ·  "
        f"AUC {g.auc:.2f}  ·  MCC {g.mcc:.2f}"
    )
    _text(fig, measure, MARGIN, 802, 20, style.INK, bucket)
    _text(fig, measure, MARGIN, 836, 20, style.INK, overall)


def _draw_footer(fig: Figure, card: CardData, measure: _Measure) -> None:
    y = 878
    _text(fig, measure, MARGIN, y, 19, style.INK, "⚠ " + style.CAVEAT, FONT_BOLD)
    right = f"model {displayable(card.model_version)}  ·  id {displayable(card.statement_id)}"
    text = right
    room = WIDTH - 2 * MARGIN - measure.width("⚠ " + style.CAVEAT, 19, FONT_BOLD) - 40
    text = fit_width(text, room, lambda s: measure.width(s, 16))
    _text(fig, measure, WIDTH - MARGIN, y, 16, style.MUTED, text, ha="right")


def render_card(card: CardData) -> RenderedCard:
    """PNG bytes and alt text for ``card``; raises :class:`CardError` on unusable input."""
    if not isinstance(card, CardData):
        raise CardError(f"expected CardData, got {type(card).__name__}")
    measure = _Measure()
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        # Undrawable characters are replaced up front; this only guards against a glyph the
        # coverage check missed turning into an exception under warnings-as-errors.
        warnings.filterwarnings("ignore", message=r".*Glyph .* missing from font")
        _draw_header(fig, card, measure)
        truncated = _draw_statement(fig, card, measure)
        _draw_legend(fig, card, measure)
        _draw_stats(fig, card, measure)
        _draw_footer(fig, card, measure)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return RenderedCard(buffer.getvalue(), alt_text(card, truncated=truncated), truncated)
