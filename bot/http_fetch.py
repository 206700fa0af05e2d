"""Bounded HTTP GETs for feeds and transcripts, behind a small interface.

Conditional (ETag / Last-Modified) so an unchanged feed costs a 304, and size-capped while
streaming so a huge document is refused before it is held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from config.errors import ClaimWatchError

RETRYABLE_REASONS = frozenset({"timeout", "unreachable"})


class FetchError(ClaimWatchError, RuntimeError):
    """A GET that gave no usable document; ``reason`` names the metric. Retryable when the
    host may answer later (timeout, unreachable, 5xx), not for a 4xx or an oversized body."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(
            message, retryable=reason in RETRYABLE_REASONS or reason.startswith("http_5")
        )
        self.reason = reason


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Fetcher(Protocol):
    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched: ...


class HttpxFetcher:
    """The real fetcher: one pooled httpx client, redirects followed."""

    def __init__(
        self,
        *,
        timeout_s: float = 15.0,
        user_agent: str = "ClaimWatch",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            timeout=timeout_s,
            follow_redirects=True,
            headers={"User-Agent": user_agent},
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Fetched(304, b"", None, etag, last_modified)
                if response.status_code >= 400:
                    raise FetchError(
                        f"GET {url} answered {response.status_code}",
                        reason=f"http_{response.status_code}",
                    )
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(
                        f"GET {url}: {declared} bytes exceeds the {max_bytes}-byte cap",
                        reason="too_large",
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(
                            f"GET {url}: body exceeds the {max_bytes}-byte cap", reason="too_large"
                        )
                    chunks.append(chunk)
                return Fetched(
                    response.status_code,
                    b"".join(chunks),
                    response.headers.get("content-type"),
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                )
        except httpx.TimeoutException as exc:
            raise FetchError(f"GET {url} timed out", reason="timeout") from exc
        except httpx.TransportError as exc:
            raise FetchError(f"GET {url} failed: {exc!r}", reason="unreachable") from exc
