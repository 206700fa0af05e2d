"""The X API v2 reads the poller needs, behind a small interface, with the real httpx client.

The client honours X's rate-limit headers (``x-rate-limit-remaining``/``-reset``): a 429 waits
until the reset (bounded), and an exhausted window delays the next call instead of burning a
request. 5xx answers and network errors are retried with bounded exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from config.errors import ClaimWatchError
from config.log import get_logger

log = get_logger(__name__)

TWEET_FIELDS = (
    "id,text,created_at,author_id,conversation_id,in_reply_to_user_id,"
    "referenced_tweets,edit_history_tweet_ids"
)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class XApiError(ClaimWatchError, RuntimeError):
    """A read failed for good (bad credentials, unknown user, retries exhausted)."""

    def __init__(self, message: str, *, reason: str = "x_api_error") -> None:
        super().__init__(message)
        self.reason = reason


class RateLimited(XApiError):
    """The rate-limit reset is further away than we are willing to wait in one run."""

    def __init__(self, message: str, reset_at: float) -> None:
        super().__init__(message, reason="rate_limited")
        self.reset_at = reset_at


@dataclass(frozen=True)
class TimelinePage:
    """One page of a user's timeline, newest first, as the API returned it."""

    posts: list[Mapping[str, Any]]
    next_token: str | None
    newest_id: str | None


class XApi(Protocol):
    async def user_id(self, username: str) -> str: ...

    async def user_posts(
        self,
        user_id: str,
        *,
        since_id: str | None,
        pagination_token: str | None,
        max_results: int,
        exclude_retweets: bool,
    ) -> TimelinePage: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    max_rate_limit_wait_s: float = 900.0

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt`` (0-based): exponential, capped."""
        return float(min(self.backoff_max_s, self.backoff_base_s * (2**attempt)))


def rate_limit_wait(headers: Mapping[str, str], now: float, fallback: float) -> float:
    """Seconds until ``x-rate-limit-reset`` (epoch seconds); ``fallback`` when absent."""
    reset = headers.get("x-rate-limit-reset")
    if reset is None:
        return fallback
    try:
        return max(0.0, float(reset) - now) + 1.0
    except ValueError:
        return fallback


class HttpxXApi:
    """The real X API v2 client (bearer-token app auth)."""

    def __init__(
        self,
        base_url: str,
        bearer_token: str | None,
        *,
        timeout_s: float = 15.0,
        retry: RetryPolicy | None = None,
        user_agent: str = "ClaimWatch",
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": user_agent}
        if bearer_token:
            headers["Authorization"] = f"Bearer {bearer_token}"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._blocked_until: dict[str, float] = {}
        self.requests = 0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def user_id(self, username: str) -> str:
        body = await self._get("users/by/username", f"/2/users/by/username/{username}", {})
        data = body.get("data")
        if not isinstance(data, Mapping) or "id" not in data:
            raise XApiError(f"X user @{username} not found: {body.get('errors')}", reason="no_user")
        return str(data["id"])

    async def user_posts(
        self,
        user_id: str,
        *,
        since_id: str | None,
        pagination_token: str | None,
        max_results: int,
        exclude_retweets: bool,
    ) -> TimelinePage:
        params: dict[str, str] = {"max_results": str(max_results), "tweet.fields": TWEET_FIELDS}
        if since_id:
            params["since_id"] = since_id
        if pagination_token:
            params["pagination_token"] = pagination_token
        if exclude_retweets:
            # Replies are filtered client-side: self-replies are threads we stitch.
            params["exclude"] = "retweets"
        body = await self._get("users/tweets", f"/2/users/{user_id}/tweets", params)
        posts = body.get("data") or []
        meta = body.get("meta") or {}
        if not isinstance(posts, list) or not isinstance(meta, Mapping):
            raise XApiError("malformed timeline response", reason="malformed")
        return TimelinePage(
            posts=[p for p in posts if isinstance(p, Mapping)],
            next_token=meta.get("next_token"),
            newest_id=meta.get("newest_id"),
        )

    async def _get(self, endpoint: str, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        failures = 0
        while True:
            await self._wait_for_window(endpoint)
            try:
                self.requests += 1
                response = await self._client.get(path, params=params)
            except httpx.TransportError as exc:
                failures = await self._backoff_or_raise(failures, f"network error: {exc!r}")
                continue
            if response.status_code == 429:
                wait = rate_limit_wait(
                    response.headers, self._clock(), self._retry.backoff(failures)
                )
                if wait > self._retry.max_rate_limit_wait_s or failures >= self._retry.max_retries:
                    raise RateLimited(
                        f"X rate limit on {endpoint}: reset in {wait:.0f}s",
                        self._clock() + wait,
                    )
                log.warning("x rate limited", endpoint=endpoint, wait_s=round(wait, 1))
                failures += 1
                await self._sleep(wait)
                continue
            self._note_window(endpoint, response.headers)
            if response.status_code >= 500:
                failures = await self._backoff_or_raise(
                    failures, f"X {endpoint} answered {response.status_code}"
                )
                continue
            if response.status_code >= 400:
                raise XApiError(
                    f"X {endpoint} answered {response.status_code}: {response.text[:200]}",
                    reason=f"http_{response.status_code}",
                )
            try:
                body = response.json()
            except ValueError as exc:
                raise XApiError(f"X {endpoint}: body is not JSON", reason="malformed") from exc
            if not isinstance(body, dict):
                raise XApiError(f"X {endpoint}: body is not an object", reason="malformed")
            return body

    async def _backoff_or_raise(self, failures: int, message: str) -> int:
        if failures >= self._retry.max_retries:
            raise XApiError(f"{message} (gave up after {failures + 1} tries)", reason="unavailable")
        delay = self._retry.backoff(failures)
        log.warning("x request failed, retrying", error=message, delay_s=delay)
        await self._sleep(delay)
        return failures + 1

    def _note_window(self, endpoint: str, headers: Mapping[str, str]) -> None:
        if headers.get("x-rate-limit-remaining") == "0":
            reset = headers.get("x-rate-limit-reset")
            if reset is not None:
                with contextlib.suppress(ValueError):
                    self._blocked_until[endpoint] = float(reset)

    async def _wait_for_window(self, endpoint: str) -> None:
        until = self._blocked_until.pop(endpoint, None)
        if until is None:
            return
        wait = until - self._clock()
        if wait <= 0:
            return
        if wait > self._retry.max_rate_limit_wait_s:
            self._blocked_until[endpoint] = until
            raise RateLimited(f"X rate window of {endpoint} exhausted for {wait:.0f}s", until)
        log.info("x rate window exhausted, waiting", endpoint=endpoint, wait_s=round(wait, 1))
        await self._sleep(wait)
