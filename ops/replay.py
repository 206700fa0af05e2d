"""``claimwatch replay FILE.jsonl``: send a recorded stream into the running pipeline."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.replay import replay_file
from config.log import configure_logging, get_logger
from config.settings import get_settings

log = get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="claimwatch replay", description=__doc__)
    parser.add_argument("file", type=Path, help="JSON lines, one raw statement event per line")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="keep the original gaps, divided by SPEED")
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no pacing (default)")
    parser.add_argument("--limit", type=int, help="replay only the first N lines")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    if not args.file.is_file():
        log.error("no such replay file", file=str(args.file))
        return 2
    sent = asyncio.run(
        replay_file(
            args.file,
            settings.bootstrap_servers,
            speed=args.speed,
            limit=args.limit,
            progress=not args.no_progress,
        )
    )
    log.info("replay sent", statements=sent, topic="claimwatch.ingest", broker=settings.broker_url)
    return 0
