"""``claimwatch recent [--n 50] [--json]``: the latest predictions, their bucket, the decision
per channel and the publish status from the ledger."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from config.settings import load_settings
from streams.recent import publish_status, read_recent
from streams.records import CHANNELS


def _ratio(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "n/a"


def format_entry(entry: dict[str, Any], statuses: dict[str, str | None]) -> str:
    """One line per prediction: when, who, score, bucket, then each channel's outcome."""
    channels = []
    for ch, decision in sorted(entry.get("channels", {}).items()):
        if decision.get("publish"):
            status = statuses.get(ch) or "requested"
            dry = " dry-run" if entry.get("replay") else ""
            channels.append(f"{ch}: post ({status}{dry})")
        else:
            channels.append(f"{ch}: skip ({decision.get('reason', '?')})")
    return (
        f"{entry.get('decided_at', '?')[:19]}  {entry.get('id', '?')[:12]}  "
        f"{entry.get('kind', '?'):<10} {entry.get('author', '?')[:18]:<18} "
        f"p_false={entry.get('p_false', 0.0):.3f} bucket={entry.get('bucket', '?')} "
        f"(PPV {_ratio(entry.get('bucket_ppv'))}) rules v{entry.get('rule_version', '?')}  "
        + "; ".join(channels)
    )


async def _run(redis_url: str, n: int, as_json: bool) -> int:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        entries = await read_recent(redis, n)
        if not entries:
            print("no recent predictions")
            return 0
        for entry in entries:
            statuses = {
                ch: await publish_status(redis, ch, str(entry.get("id")))
                for ch in CHANNELS
                if entry.get("channels", {}).get(ch, {}).get("publish")
            }
            if as_json:
                print(json.dumps({**entry, "publish_status": statuses}))
            else:
                print(format_entry(entry, statuses))
        return 0
    finally:
        await redis.aclose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch recent", description=__doc__)
    parser.add_argument("--n", type=int, default=50, help="how many (newest first)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    settings = load_settings()
    from redis.exceptions import RedisError

    try:
        return asyncio.run(_run(settings.redis_url, args.n, args.json))
    except (RedisError, OSError) as exc:
        print(f"cannot reach Redis (CLAIMWATCH_REDIS_URL): {exc}", file=sys.stderr)
        return 1
