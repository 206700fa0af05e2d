"""Alt text for a card: the same facts in words, most important first, within X's 1000 chars."""

from __future__ import annotations

import html

from cards import style
from cards.data import CardData

MAX_ALT_CHARS = 1000
TOP_WORDS = 3


def _top_words(card: CardData, sign: int) -> list[str]:
    scored = [(w.score * sign, html.unescape(w.text)) for w in card.words if w.score is not None]
    ranked = sorted((s, i, t) for i, (s, t) in enumerate(scored) if s > 0)
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [text for _, _, text in ranked[:TOP_WORDS]]


def alt_text(card: CardData, *, truncated: bool = False) -> str:
    """Plain-language description of the card."""
    value, name = style.reliability(card)
    badge = style.badge(card)
    when = card.said_at.strftime("%d %b %Y")
    head = (
        f"ClaimWatch card. {style.verdict(card).replace('FALSE', 'false').replace('TRUE', 'true')}"
        f" (model p(false) = {card.p_false:.2f}). {badge.label.capitalize()}: "
        f"{name} {style.percent(value)} for calibration predictions with confidence "
        f"{card.bucket.floor:.2f}{style.DASH}{card.bucket.ceiling:.2f}. {style.CAVEAT}"
    )
    drivers = []
    toward_false, toward_true = _top_words(card, 1), _top_words(card, -1)
    if toward_false:
        drivers.append("Words pushing toward false: " + ", ".join(toward_false) + ".")
    if toward_true:
        drivers.append("Words pushing toward true: " + ", ".join(toward_true) + ".")
    if drivers and card.attribution_method:
        drivers.append(f"Word shading by {card.attribution_method}.")
    tail = " ".join(
        [
            *drivers,
            f"Calibration set: accuracy {card.global_stats.accuracy:.0%}, "
            f"AUC {card.global_stats.auc:.2f}, MCC {card.global_stats.mcc:.2f}.",
            f"Model {card.model_version}, id {card.statement_id}.",
        ]
    )
    statement = " ".join(html.unescape(card.statement).split())
    if truncated:
        tail = "The card shows a shortened statement. " + tail
    said = f" Statement by {html.unescape(card.speaker)} on {when}: “"
    room = MAX_ALT_CHARS - len(head) - len(said) - len("” ") - len(tail)
    if room < len(statement):
        statement = statement[: max(0, room - 1)].rstrip() + "…"
    return f"{head}{said}{statement}” {tail}"[:MAX_ALT_CHARS]
