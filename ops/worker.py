"""``claimwatch worker``: wait for the broker and Redis, create topics, run the Faust worker."""

from __future__ import annotations

import argparse
import sys

from config.log import configure_logging, get_logger
from config.settings import get_settings
from ops.services import ServiceError, broker_ready, redis_ready, run_sync, wait_until
from streams.topics import ensure_topics, topic_specs

log = get_logger(__name__)


def prepare(wait_s: float) -> None:
    """Block until both services answer, then make sure every topic exists."""
    settings = get_settings()
    bootstrap = settings.bootstrap_servers
    wait_until(lambda: broker_ready(bootstrap[0]), wait_s, f"broker {settings.broker_url}", 1.0)
    wait_until(lambda: redis_ready(settings.redis_url), wait_s, "redis", 1.0)
    created = run_sync(
        lambda: ensure_topics(
            bootstrap, topic_specs(settings.partitions, settings.replication_factor)
        )
    )
    if created:
        log.info("topics created", topics=created, partitions=settings.partitions)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch worker", description=__doc__)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for services")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    try:
        prepare(args.wait)
    except ServiceError as exc:
        log.error("worker cannot start", error=str(exc))
        return 1
    from streams.worker import app

    sys.argv = ["claimwatch-worker", "worker", "--without-web", "-l", settings.log_level]
    app.main()
    return 0
