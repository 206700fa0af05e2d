"""Point a requests session (tweepy's included) at another X API base URL, e.g. the fake.

The request is signed for https://api.x.com (or api.twitter.com, tweepy's host) before it
reaches the adapter; the adapter only changes where it is sent, keeping the original Host and
scheme in headers so the receiver can verify the OAuth 1.0a signature. Without a target it
just enforces a default timeout (tweepy sets none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

X_ORIGINS = ("https://api.x.com", "https://api.twitter.com")


class XForwardingAdapter(HTTPAdapter):
    def __init__(self, target_base_url: str | None, timeout_s: float) -> None:
        super().__init__()
        self._target = urlsplit(target_base_url) if target_base_url else None
        self._timeout_s = timeout_s

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if self._target is not None and request.url:
            original = urlsplit(request.url)
            request.url = urlunsplit(
                (
                    self._target.scheme,
                    self._target.netloc,
                    self._target.path.rstrip("/") + original.path,
                    original.query,
                    "",
                )
            )
            request.headers["Host"] = original.netloc
            request.headers["X-Forwarded-Proto"] = original.scheme
        return super().send(
            request,
            stream=stream,
            timeout=timeout or self._timeout_s,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def mount_x(session: requests.Session, target_base_url: str | None, timeout_s: float) -> None:
    """Route X API traffic of ``session`` to ``target_base_url`` (None: the real X)."""
    adapter = XForwardingAdapter(target_base_url, timeout_s)
    for origin in X_ORIGINS:
        session.mount(origin, adapter)
