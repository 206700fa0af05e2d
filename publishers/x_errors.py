"""What an X API failure means for a publish: wait for the rate-limit reset, retry soon
(5xx, network), or give up (other 4xx: the request itself is wrong, e.g. duplicate content)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import requests
import tweepy

Kind = Literal["rate_limited", "transient", "final"]


@dataclass(frozen=True)
class XFailure:
    kind: Kind
    message: str
    retry_after_s: float | None = None


def classify(status: int | None, reset_header: str | None, message: str, now: float) -> XFailure:
    """Pure: an HTTP status (None = no response) and the reset header -> what to do."""
    if status is None or status >= 500:
        return XFailure("transient", message)
    if status == 429:
        wait = 60.0
        if reset_header and reset_header.strip().isdigit():
            wait = max(1.0, int(reset_header) - now + 1.0)  # reset is a whole second
        return XFailure("rate_limited", message, wait)
    return XFailure("final", message)


def describe(exc: BaseException) -> tuple[int | None, str | None, str]:
    """Status, x-rate-limit-reset and a readable message (with X's own error text)."""
    if isinstance(exc, tweepy.HTTPException):
        response = exc.response
        messages = "; ".join(exc.api_messages) or response.reason or ""
        return (
            response.status_code,
            response.headers.get("x-rate-limit-reset"),
            f"X API {response.status_code}: {messages}",
        )
    if isinstance(exc, requests.RequestException):
        return None, None, f"X API unreachable: {type(exc).__name__}: {exc}"
    raise TypeError(f"not an X API error: {exc!r}")


def raise_for_status(response: requests.Response) -> None:
    """tweepy's mapping of statuses to exceptions, for calls we make ourselves (media)."""
    code = response.status_code
    if 200 <= code < 300:
        return
    exc_type: type[tweepy.HTTPException] = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
        429: tweepy.TooManyRequests,
    }.get(code, tweepy.TwitterServerError if code >= 500 else tweepy.HTTPException)
    raise exc_type(response)
