"""The capped list of recent predictions with their decisions, for ``claimwatch recent``.

The decide stage pushes one entry per scored statement (after deciding); the publish status
is not stored here but read from each channel's publish ledger when listed, so it is current.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from streams import keys
from streams.gate import GateResult
from streams.records import ScoredStatement

if TYPE_CHECKING:
    from redis.asyncio import Redis

TEXT_PREVIEW_CHARS = 120


def recent_entry(
    scored: ScoredStatement,
    results: dict[str, GateResult],
    *,
    rule_version: int,
    replay: bool,
    decided_at: str,
) -> dict[str, Any]:
    """One list entry: the statement in brief, its score and bucket, and every channel's gate."""
    st = scored.statement
    return {
        "id": st.id,
        "kind": st.kind,
        "source": st.source,
        "author": st.author,
        "said_at": st.said_at,
        "text": st.text[:TEXT_PREVIEW_CHARS],
        "p_false": scored.p_false,
        "prediction": scored.prediction,
        "confidence": scored.confidence,
        "bucket": scored.bucket,
        "bucket_ppv": scored.bucket_ppv,
        "model_version": scored.model_version,
        "rule_version": rule_version,
        "replay": replay,
        "decided_at": decided_at,
        "channels": {ch: {"publish": r.publish, "reason": r.reason} for ch, r in results.items()},
    }


async def push_recent_many(redis: Redis, entries: Sequence[dict[str, Any]], max_len: int) -> None:
    """Prepend (the last entry ends up newest) and trim in one transaction, so the list never
    outgrows ``max_len``."""
    if not entries:
        return
    client: Any = redis
    # One per decision: the fast encoder. Numpy scalars as the stdlib encoder took np.float64
    # (a float subclass), so a score that never went through the broker still encodes.
    values = [orjson.dumps(e, option=orjson.OPT_SERIALIZE_NUMPY) for e in entries]
    async with client.pipeline(transaction=True) as pipe:
        pipe.lpush(keys.recent_predictions(), *values)
        pipe.ltrim(keys.recent_predictions(), 0, max_len - 1)
        await pipe.execute()


async def read_recent(redis: Redis, n: int) -> list[dict[str, Any]]:
    """The newest ``n`` entries, newest first; unreadable entries are skipped."""
    client: Any = redis
    raw = await client.lrange(keys.recent_predictions(), 0, max(n, 1) - 1)
    out = []
    for item in raw:
        try:
            out.append(json.loads(item))
        except (ValueError, TypeError):
            continue
    return out


async def publish_status(redis: Redis, channel: str, statement_id: str) -> str | None:
    """The ledger's ``status`` field of a statement on a channel (None: never requested)."""
    client: Any = redis
    value = await client.hget(keys.ledger(channel, statement_id), "status")
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
