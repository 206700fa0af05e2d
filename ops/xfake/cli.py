"""``claimwatch xfake``: run the local X API fake until interrupted (a Procfile process).

Credentials default to the ClaimWatch ones in the environment (CLAIMWATCH_X_API_KEY, ...), so
the publisher and the fake agree without extra configuration; else fixed dev values.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from aiohttp import web

from ops.xfake.oauth import Credentials
from ops.xfake.server import STATE, FakeConfig, build_app


def credentials_from_env() -> Credentials:
    base = Credentials()
    env = os.environ.get
    return Credentials(
        consumer_key=env("CLAIMWATCH_X_API_KEY", base.consumer_key),
        consumer_secret=env("CLAIMWATCH_X_API_SECRET", base.consumer_secret),
        access_token=env("CLAIMWATCH_X_ACCESS_TOKEN", base.access_token),
        access_token_secret=env("CLAIMWATCH_X_ACCESS_TOKEN_SECRET", base.access_token_secret),
        bearer_token=env("CLAIMWATCH_X_BEARER_TOKEN", base.bearer_token),
    )


async def serve(config: FakeConfig, host: str, port: int, seed_users: list[str]) -> None:
    app = build_app(config)
    for username in seed_users:  # watched accounts exist from the start (dev and demo)
        app[STATE].world.add_user(username)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bound = runner.addresses[0][1] if runner.addresses else port
    print(
        f"xfake ready on http://{host}:{bound} (bot @{config.bot_username}, "
        f"spec validation {'on' if config.validate else 'off'})",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="claimwatch xfake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback only by default")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--bot-username", default="ClaimWatchBot")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check every request/response against the X OpenAPI spec",
    )
    parser.add_argument(
        "--seed-user",
        action="append",
        default=[],
        metavar="USERNAME",
        help="create this account at start (repeatable), e.g. a watched one",
    )
    args = parser.parse_args(argv)
    if args.validate:
        from ops.xfake.spec import SpecNotFound, spec_path

        try:
            spec_path()
        except SpecNotFound as exc:
            parser.error(str(exc))
    config = FakeConfig(
        credentials=credentials_from_env(), bot_username=args.bot_username, validate=args.validate
    )
    asyncio.run(serve(config, args.host, args.port, args.seed_user))
    return 0
