"""The local X API fake for tests: a real server on a free loopback port, in its own thread
(so sync clients such as tweepy work from any thread), validating every request and response
against the official OpenAPI spec. A test that made the fake see a non-conforming exchange
fails at teardown.

Import into a test module: ``from tests.fixtures_xfake import xfake, xfake_settings, ...``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiohttp import web

from config.settings import XSettings
from ops.xfake.oauth import Credentials
from ops.xfake.server import FakeConfig, build_app
from publishers.x_publisher import XCredentials


class XFake:
    """A running fake plus sync helpers for its admin API."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="xfake", daemon=True)

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        self.url = future.result(timeout=30)

    async def _serve(self) -> str:
        self._runner = web.AppRunner(build_app(self.config), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    # -- admin helpers -------------------------------------------------------------------------
    def _get(self, path: str) -> Any:
        response = requests.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = requests.post(self.url + path, json=payload, timeout=10)
        response.raise_for_status()
        return response.json()

    def add_user(self, username: str, **extra: Any) -> dict[str, Any]:
        return dict(self._post("/_fake/users", {"username": username, **extra}))

    def add_tweet(self, username: str, text: str, **extra: Any) -> dict[str, Any]:
        return dict(self._post("/_fake/tweets", {"username": username, "text": text, **extra}))

    def inject(
        self,
        path: str,
        status: int,
        *,
        method: str = "*",
        count: int = 1,
        reset_in_s: float = 60.0,
        when: str = "before",
    ) -> None:
        self._post(
            "/_fake/inject",
            {
                "path": path,
                "status": status,
                "method": method,
                "count": count,
                "reset_in_s": reset_in_s,
                "when": when,
            },
        )

    def posts(self) -> list[dict[str, Any]]:
        return list(self._get("/_fake/posts")["posts"])

    def requests_seen(
        self, method: str | None = None, route: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            r
            for r in self._get("/_fake/requests")["requests"]
            if (method is None or r["method"] == method) and (route is None or r["route"] == route)
        ]

    def validation_errors(self) -> list[str]:
        return list(self._get("/_fake/validation")["errors"])

    def take_validation_errors(self) -> list[str]:
        """The errors so far, cleared (for tests that send bad requests on purpose)."""
        errors = self.validation_errors()
        self._post("/_fake/validation/clear", {})
        return errors

    def bot(self) -> dict[str, Any]:
        return dict(self._get("/_fake/health")["bot"])


@pytest.fixture
def xfake() -> Iterator[XFake]:
    fake = XFake(FakeConfig(credentials=Credentials(), validate=True))
    fake.start()
    try:
        yield fake
        errors = fake.validation_errors()
        assert not errors, "X fake saw exchanges departing from the OpenAPI spec:\n" + "\n".join(
            errors
        )
    finally:
        fake.stop()


@pytest.fixture
def xfake_settings(xfake: XFake) -> XSettings:
    """X settings aimed at the fake, with fast backoff."""
    return XSettings(
        api_base_url=xfake.url,
        bot_username=xfake.config.bot_username,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        max_retries=2,
        request_timeout_s=10.0,
    )


@pytest.fixture
def xfake_credentials(xfake: XFake) -> XCredentials:
    creds = xfake.config.credentials
    return XCredentials(
        api_key=creds.consumer_key,
        api_secret=creds.consumer_secret,
        access_token=creds.access_token,
        access_token_secret=creds.access_token_secret,
        bearer_token=creds.bearer_token,
    )
