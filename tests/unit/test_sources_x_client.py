"""The X client's rate-limit and retry behaviour, over an in-memory httpx transport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from bot.x_client import HttpxXApi, RateLimited, RetryPolicy, XApiError, rate_limit_wait

NOW = 1_700_000_000.0
OK_PAGE = {"data": [{"id": "5", "text": "hi"}], "meta": {"newest_id": "5", "next_token": "t2"}}


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def api(
    handler: Callable[[httpx.Request], httpx.Response], rec: Recorder, **retry: float
) -> HttpxXApi:
    policy = RetryPolicy(
        max_retries=int(retry.get("max_retries", 3)),
        backoff_base_s=retry.get("backoff_base_s", 1.0),
        backoff_max_s=4.0,
        max_rate_limit_wait_s=retry.get("max_wait", 900.0),
    )
    return HttpxXApi(
        "http://x.test",
        "tok",
        retry=policy,
        sleep=rec.sleep,
        clock=lambda: NOW,
        transport=httpx.MockTransport(handler),
    )


def scripted(
    responses: list[httpx.Response | Exception],
) -> Callable[[httpx.Request], httpx.Response]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


async def test_429_waits_until_the_reset_then_retries() -> None:
    rec = Recorder()
    handler = scripted(
        [
            httpx.Response(
                429,
                headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW + 30))},
            ),
            httpx.Response(200, json=OK_PAGE),
        ]
    )
    client = api(handler, rec)
    page = await client.user_posts(
        "1", since_id="4", pagination_token=None, max_results=100, exclude_retweets=True
    )
    await client.aclose()
    assert page.next_token == "t2" and page.newest_id == "5"
    assert rec.sleeps == [31.0]
    request = handler.seen[0]  # type: ignore[attr-defined]
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.url.params["since_id"] == "4" and request.url.params["exclude"] == "retweets"


async def test_429_with_a_reset_too_far_away_gives_up_for_this_run() -> None:
    rec = Recorder()
    handler = scripted([httpx.Response(429, headers={"x-rate-limit-reset": str(int(NOW + 3600))})])
    client = api(handler, rec, max_wait=60.0)
    with pytest.raises(RateLimited) as err:
        await client.user_id("someone")
    await client.aclose()
    assert rec.sleeps == [] and err.value.reason == "rate_limited"


async def test_exhausted_window_delays_the_next_call() -> None:
    rec = Recorder()
    handler = scripted(
        [
            httpx.Response(
                200,
                json=OK_PAGE,
                headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW + 10))},
            ),
            httpx.Response(200, json=OK_PAGE),
        ]
    )
    client = api(handler, rec)
    for _ in range(2):
        await client.user_posts(
            "1", since_id=None, pagination_token=None, max_results=5, exclude_retweets=False
        )
    await client.aclose()
    assert rec.sleeps == [10.0]


async def test_5xx_and_network_errors_back_off_boundedly() -> None:
    rec = Recorder()
    handler = scripted(
        [
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.Response(500),
            httpx.Response(200, json={"data": {"id": "77", "username": "a"}}),
        ]
    )
    client = api(handler, rec)
    assert await client.user_id("a") == "77"
    await client.aclose()
    assert rec.sleeps == [1.0, 2.0, 4.0]


async def test_5xx_gives_up_after_max_retries() -> None:
    rec = Recorder()
    client = api(scripted([httpx.Response(500)] * 3), rec, max_retries=2)
    with pytest.raises(XApiError) as err:
        await client.user_id("a")
    await client.aclose()
    assert err.value.reason == "unavailable" and len(rec.sleeps) == 2


async def test_unknown_user_and_client_errors_are_not_retried() -> None:
    rec = Recorder()
    client = api(
        scripted(
            [
                httpx.Response(200, json={"errors": [{"title": "Not Found"}]}),
                httpx.Response(401, json={"title": "Unauthorized"}),
            ]
        ),
        rec,
    )
    with pytest.raises(XApiError) as missing:
        await client.user_id("ghost")
    with pytest.raises(XApiError) as denied:
        await client.user_id("ghost")
    await client.aclose()
    assert missing.value.reason == "no_user" and denied.value.reason == "http_401"
    assert rec.sleeps == []


def test_rate_limit_wait_falls_back_without_headers() -> None:
    assert rate_limit_wait({}, NOW, 7.0) == 7.0
    assert rate_limit_wait({"x-rate-limit-reset": str(int(NOW - 5))}, NOW, 7.0) == 1.0
