"""``claimwatch poller``: the long-running source poller (a Procfile process).

Waits for the broker and Redis, makes sure the topics exist, then runs every configured X
account and transcript feed on its interval until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from redis.asyncio import Redis

from bot.http_fetch import HttpxFetcher
from bot.ingest import KafkaIngestSink
from bot.registry import build_sources
from bot.scheduler import SourceScheduler, run_guarded
from bot.x_client import HttpxXApi, RetryPolicy
from config.log import configure_logging, get_logger
from config.settings import Settings, get_settings
from ops.services import ServiceError, prepare

log = get_logger(__name__)


async def run(settings: Settings, *, once: bool) -> int:
    cfg = settings.sources
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    token = settings.x_bearer_token.get_secret_value() if settings.x_bearer_token else None
    x_api = None
    if cfg.x_accounts:
        if not token:
            log.warning("no CLAIMWATCH_X_BEARER_TOKEN: X reads will be refused by a real API")
        x_api = HttpxXApi(
            cfg.x_api_base_url,
            token,
            timeout_s=cfg.http_timeout_s,
            retry=RetryPolicy(
                cfg.max_retries, cfg.backoff_base_s, cfg.backoff_max_s, cfg.max_rate_limit_wait_s
            ),
            user_agent=cfg.user_agent,
        )
    fetcher = HttpxFetcher(timeout_s=cfg.http_timeout_s, user_agent=cfg.user_agent)
    sink = KafkaIngestSink(settings.bootstrap_servers)
    await sink.start()
    try:
        sources = build_sources(cfg, sink=sink, redis=redis, x_api=x_api, fetcher=fetcher)
        if not sources:
            log.warning("no sources configured (sources.x_accounts / sources.feeds)")
        if once:
            for source in sources:
                await run_guarded(source, redis)
        else:
            scheduler = SourceScheduler(sources, redis, jitter_s=cfg.jitter_s)
            await scheduler.run_until_signal(cfg.shutdown_grace_s)
    finally:
        await sink.stop()
        await fetcher.aclose()
        if x_api is not None:
            await x_api.aclose()
        await redis.aclose()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch poller", description=__doc__)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for services")
    parser.add_argument("--once", action="store_true", help="run every source once, then exit")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    # httpx logs every request at INFO; the sources log one line per run instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        prepare(settings, args.wait)
    except ServiceError as exc:
        log.error("poller cannot start", error=str(exc))
        return 1
    return asyncio.run(run(settings, once=args.once))
