"""``claimwatch worker``: wait for the broker and Redis, create topics, run the Faust worker."""

from __future__ import annotations

import argparse
import sys

from config.log import configure_logging, get_logger
from config.settings import get_settings
from ops.services import ServiceError, prepare

log = get_logger(__name__)

# Faust's --loglevel takes crit/error/warn/info/debug; our settings use the logging names.
FAUST_LOG_LEVELS = {"debug": "debug", "info": "info", "warning": "warn", "error": "error"}


def faust_log_level(level: str) -> str:
    """Pure: the Faust worker's name for one of our log levels (``warning`` is ``warn``)."""
    return FAUST_LOG_LEVELS[level]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch worker", description=__doc__)
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for services")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    try:
        created = prepare(settings, args.wait)
    except ServiceError as exc:
        log.error("worker cannot start", error=str(exc))
        return 1
    if created:
        log.info("topics created", topics=created, partitions=settings.partitions)
    from streams.worker import app

    sys.argv = [
        "claimwatch-worker",
        "worker",
        "--without-web",
        "-l",
        faust_log_level(settings.log_level),
    ]
    app.main()
    return 0
