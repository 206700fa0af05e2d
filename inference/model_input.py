"""The one function that turns a statement's fields into the model's input text.

Training and serving both call :func:`model_input_text`, so the model sees the same prefix
format on LIAR rows and on live statements. Only metadata a live statement also carries is
used (speaker, party, role, state, venue, subjects, kind): never credit-history counts.
Bump :data:`INPUT_FORMAT_VERSION` whenever the format changes; the artifact records it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

INPUT_FORMAT_VERSION = 1
_SPACE = re.compile(r"\s+")
_MAX_FIELD_CHARS = 60


def _field(value: str | None) -> str:
    """Lower-case, de-slug (LIAR writes ``barack-obama``), collapse whitespace, cap length."""
    if not value:
        return ""
    text = value.replace("-", " ").replace("_", " ").replace("|", " ").lower()
    return _SPACE.sub(" ", text).strip()[:_MAX_FIELD_CHARS].strip()


def normalise_text(text: str) -> str:
    """The statement body with whitespace collapsed (what 'empty after normalisation' means)."""
    return _SPACE.sub(" ", text or "").strip()


def kind_from_context(context: str | None) -> str:
    """LIAR has no kind column: a context that mentions a tweet is a tweet, else transcript."""
    return "tweet" if context and "tweet" in context.lower() else "transcript"


def model_input_text(
    *,
    author: str | None,
    party: str | None,
    role: str | None,
    state: str | None,
    venue: str | None,
    subjects: Sequence[str] | None,
    kind: str | None,
    text: str,
) -> str:
    """``kind | speaker | party | role | state | venue | subjects || statement``.

    Missing fields become empty slots so each field keeps its position.
    """
    subject_text = ", ".join(s for s in (_field(x) for x in subjects or ()) if s)
    prefix = " | ".join(
        [
            _field(kind) or "transcript",
            _field(author),
            _field(party),
            _field(role),
            _field(state),
            _field(venue),
            subject_text[:_MAX_FIELD_CHARS],
        ]
    )
    return f"{prefix} || {normalise_text(text)}"


def statement_input_text(statement: Any) -> str:
    """:func:`model_input_text` over a ``streams.records.Statement`` (or anything alike)."""
    return model_input_text(
        author=statement.author,
        party=statement.party,
        role=statement.role,
        state=statement.state,
        venue=statement.venue,
        subjects=statement.subjects,
        kind=statement.kind,
        text=statement.text,
    )
