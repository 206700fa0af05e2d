"""Redis keys, owned here and nowhere else. Every key starts with ``claimwatch:``."""

from __future__ import annotations

PREFIX = "claimwatch:"


def seen(statement_id: str) -> str:
    """De-duplication marker of a statement (string with TTL: claimed or emitted)."""
    return f"{PREFIX}seen:{statement_id}"


def x_user_id(username: str) -> str:
    """Cached X user id of a watched account."""
    return f"{PREFIX}x:user:{username.lower()}"


def x_cursor(account_id: str) -> str:
    """Newest tweet id emitted for an account (since_id of the next poll)."""
    return f"{PREFIX}cursor:x:{account_id}"


def x_seen(account_id: str) -> str:
    """Tweet ids (and edit roots) already emitted for an account (sorted set, capped):
    guards against out-of-order ids and repeated edits."""
    return f"{PREFIX}seen:x:{account_id}"


def x_pending(account_id: str) -> str:
    """Tweets of an account held back in an open thread window (JSON list of tweets)."""
    return f"{PREFIX}pending:x:{account_id}"


def feed_seen(feed_name: str) -> str:
    """Entry ids of a transcript feed already handled (hash: entry id -> outcome)."""
    return f"{PREFIX}seen:feed:{feed_name}"


def feed_cursor(feed_name: str) -> str:
    """Seen entry ids and HTTP validators (ETag/Last-Modified) of a transcript feed."""
    return f"{PREFIX}cursor:feed:{feed_name}"


def source_status(source_name: str) -> str:
    """Last run, counts and last error of a source (hash), for ``ops sources``."""
    return f"{PREFIX}source:{source_name}"


def ledger(channel: str, statement_id: str) -> str:
    """Publish ledger entry of one statement on one channel (hash)."""
    return f"{PREFIX}ledger:{channel}:{statement_id}"


def thresholds() -> str:
    """Current posting rules (hash: version, rules JSON, updated_at, updated_by, why)."""
    return f"{PREFIX}thresholds"


def thresholds_audit() -> str:
    """Append-only audit stream of rule changes (Redis stream)."""
    return f"{PREFIX}thresholds:audit"


def recent_predictions() -> str:
    """Capped list of the most recent predictions (newest first; JSON, streams.recent)."""
    return f"{PREFIX}recent"


def rate_limit(name: str) -> str:
    """Token bucket state of a rate limit (hash)."""
    return f"{PREFIX}ratelimit:{name}"


def counters(stage: str) -> str:
    """Per-stage counters (hash: field = outcome), for health and metrics."""
    return f"{PREFIX}counters:{stage}"
