"""``claimwatch broker`` / ``claimwatch redis``: run a dev service in the foreground (Procfile)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from config.log import configure_logging
from config.settings import get_settings
from ops.services import RUN_DIR, Service, start_broker, start_redis


def _serve(service: Service) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"{service.name} ready at {service.url}", flush=True)
    try:
        while not stop.wait(1.0):
            if service.process is not None and service.process.poll() is not None:
                print(f"{service.name} exited with {service.process.returncode}", file=sys.stderr)
                return 1
    finally:
        service.stop()
    return 0


def broker(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="claimwatch broker", description="Dev Kafka-protocol broker (Tansu, memory storage)."
    )
    parser.add_argument("--port", type=int, default=9092)
    args = parser.parse_args(argv)
    configure_logging(get_settings())
    return _serve(start_broker(args.port, RUN_DIR))


def redis(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="claimwatch redis", description="Dev Redis (no persistence)."
    )
    parser.add_argument("--port", type=int, default=6380)
    args = parser.parse_args(argv)
    configure_logging(get_settings())
    return _serve(start_redis(args.port, RUN_DIR))
