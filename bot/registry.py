"""Which sources the settings configure, by name: shared by the poller and ``ops sources``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.feed_poller import FeedSource
from bot.http_fetch import Fetcher
from bot.ingest import IngestSink
from bot.status import AsyncRedis, Source
from bot.x_client import XApi
from bot.x_poller import XAccountSource
from config.settings import SourcesSettings


@dataclass(frozen=True)
class ConfiguredSource:
    name: str
    kind: str
    target: str
    interval_s: float


def configured(settings: SourcesSettings) -> list[ConfiguredSource]:
    """Every configured source, X accounts first, in configuration order."""
    out = [
        ConfiguredSource(f"x:{a.username.lower()}", "x", f"@{a.username}", settings.x_interval_s)
        for a in settings.x_accounts
    ]
    out += [
        ConfiguredSource(f"feed:{f.name}", "feed", f.url, settings.feed_interval_s)
        for f in settings.feeds
    ]
    return out


def build_sources(
    settings: SourcesSettings,
    *,
    sink: IngestSink,
    redis: AsyncRedis,
    x_api: XApi | None,
    fetcher: Fetcher,
) -> list[Source]:
    sources: list[Source] = []
    if x_api is not None:
        sources += [
            XAccountSource(a, api=x_api, sink=sink, redis=redis, settings=settings)
            for a in settings.x_accounts
        ]
    sources += [
        FeedSource(f, fetcher=fetcher, sink=sink, redis=redis, settings=settings)
        for f in settings.feeds
    ]
    return sources
