"""``claimwatch sources``: configured sources with their last run, cursor and counts."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from bot.registry import configured
from bot.status import read_status
from config.settings import Settings, get_settings

COLUMNS = (
    "name",
    "interval",
    "last_run_at",
    "cursor",
    "emitted",
    "skipped",
    "errored",
    "last_error",
)


async def collect(settings: Settings) -> list[dict[str, Any]]:
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        rows = []
        for source in configured(settings.sources):
            status: Mapping[str, str] = await read_status(redis, source.name)
            rows.append(
                {
                    "name": source.name,
                    "kind": source.kind,
                    "target": source.target,
                    "interval": f"{source.interval_s:g}s",
                    "last_run_at": status.get("last_run_at", "never"),
                    "last_ok_at": status.get("last_ok_at"),
                    "cursor": status.get("cursor", "-"),
                    "runs": int(status.get("runs", 0)),
                    "emitted": int(status.get("emitted", 0)),
                    "skipped": int(status.get("skipped", 0)),
                    "errored": int(status.get("errored", 0)),
                    "errors": {
                        k.removeprefix("error:"): int(v)
                        for k, v in status.items()
                        if k.startswith("error:")
                    },
                    "last_error": status.get("last_error", ""),
                }
            )
        return rows
    finally:
        await redis.aclose()


def render(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no sources configured (sources.x_accounts / sources.feeds in config)"
    table = [list(COLUMNS)] + [[str(r[c])[:60] for c in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch sources", description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON object per source")
    args = parser.parse_args(argv)
    rows = asyncio.run(collect(get_settings()))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows))
    return 0
