"""Post text: fill the configured template and fit it in X's 280 weighted characters.

X counts text the twitter-text v3 way: code points in a few Latin/punctuation ranges weigh 1,
all others (CJK, emoji) weigh 2, and every URL weighs 23 whatever its length. Bare domains
("example.com") may be auto-linked; we count them as max(length, 23) to stay safe either way.
Only the quote is shortened (with an ellipsis); if the template alone is too long, that is a
configuration error.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

from config.errors import ClaimWatchError

MAX_WEIGHT = 280
URL_WEIGHT = 23
ELLIPSIS = "…"
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b(?:/\S*)?", re.IGNORECASE
)
FIELDS = ("verdict", "ppv_pct", "author", "quote", "statement_url", "feed_url", "marker")


class TemplateError(ClaimWatchError, ValueError):
    """The template names an unknown field, or cannot fit 280 characters even without a quote."""


# Every code point outside the light ranges: each adds 1 to the length (it weighs 2).
_HEAVY = re.compile("[^" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _LIGHT_RANGES) + "]")


def char_weight(ch: str) -> int:
    code = ord(ch)
    return 1 if any(lo <= code <= hi for lo, hi in _LIGHT_RANGES) else 2


def _plain_weight(text: str) -> int:
    """Sum of ``char_weight`` over ``text``, counted by one regex scan (every dry-run post is
    measured several times while its quote is fitted: a per-character loop showed in profiles)."""
    return len(text) + sum(1 for _ in _HEAVY.finditer(text))


def weighted_length(text: str) -> int:
    """Length as X counts it against the 280 limit."""
    total, pos = 0, 0
    for match in _URL.finditer(text):
        total += _weighted_non_url(text[pos : match.start()]) + URL_WEIGHT
        pos = match.end()
    return total + _weighted_non_url(text[pos:])


def _weighted_non_url(text: str) -> int:
    total, pos = 0, 0
    for match in _BARE_DOMAIN.finditer(text):
        total += _plain_weight(text[pos : match.start()])
        total += max(URL_WEIGHT, _plain_weight(match.group()))
        pos = match.end()
    return total + _plain_weight(text[pos:])


def marker_for(statement_id: str) -> str:
    """The short id that makes a post findable again after a crash (reconciliation)."""
    return f"#cw{statement_id[:10]}"


def check_template(template: str) -> None:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    unknown = names - set(FIELDS)
    if unknown:
        raise TemplateError(f"unknown template fields: {', '.join(sorted(unknown))}")
    if "{marker}" not in template:
        raise TemplateError("the template must contain {marker} (crash reconciliation)")


@dataclass(frozen=True)
class PostFields:
    verdict: str
    ppv_pct: str
    author: str
    quote: str
    statement_url: str
    feed_url: str
    marker: str


def fields_from_prediction(prediction: dict[str, Any], feed_url: str) -> PostFields:
    """Template fields from a prediction document (``publishers.prediction``); flat
    ``bucket_ppv``/``bucket_npv`` fields (a ScoredStatement's) are read too."""
    statement = prediction.get("statement") or prediction
    sid = str(statement.get("id") or prediction.get("statement_id") or "")
    if not sid:
        raise ValueError("prediction has no statement id")
    predicted_false = int(prediction.get("prediction", 1)) == 1
    bucket = prediction.get("bucket")
    key = "ppv" if predicted_false else "npv"
    rate = bucket.get(key) if isinstance(bucket, dict) else prediction.get(f"bucket_{key}")
    ppv_pct = f"{round(float(rate) * 100)}%" if rate is not None else "n/a"
    return PostFields(
        verdict="false or misleading" if predicted_false else "not false",
        ppv_pct=ppv_pct,
        author=str(statement.get("author") or "unknown"),
        quote=" ".join(str(statement.get("text") or "").split()),
        statement_url=str(statement.get("url") or ""),
        feed_url=feed_url,
        marker=marker_for(sid),
    )


def render_post(template: str, fields: PostFields, limit: int = MAX_WEIGHT) -> str:
    """The filled template within ``limit``, shortening only the quote."""
    check_template(template)
    values = {name: getattr(fields, name) for name in FIELDS}

    def fill(quote: str) -> str:
        return " ".join(template.format(**{**values, "quote": quote}).split())

    text = fill(fields.quote)
    if weighted_length(text) <= limit:
        return text
    if weighted_length(fill(ELLIPSIS)) > limit:
        raise TemplateError(f"the template exceeds {limit} characters even without a quote")
    # Longest quote prefix (on a word boundary when possible) that fits.
    words = fields.quote.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if weighted_length(fill(" ".join(words[:mid]) + ELLIPSIS)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    quote = " ".join(words[:lo])
    if lo == 0:  # one very long word: cut by characters instead
        chars = fields.quote
        lo_c, hi_c = 0, len(chars)
        while lo_c < hi_c:
            mid = (lo_c + hi_c + 1) // 2
            if weighted_length(fill(chars[:mid] + ELLIPSIS)) <= limit:
                lo_c = mid
            else:
                hi_c = mid - 1
        quote = chars[:lo_c]
    return fill(quote.rstrip() + ELLIPSIS)
