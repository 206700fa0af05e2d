"""Polls one watched X account: new posts since the cursor become statement events, once each.

A run reads every page first, emits, and only after ``send_many`` returned (the broker acked)
moves the cursor, the held-back thread tweets and the seen-set together in one Redis
transaction. A crash anywhere before that leaves Redis as it was: the next run reads the same
posts again and emits the same external ids, which ``normalize`` de-duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ingest import IngestSink
from bot.status import AsyncRedis, RunResult
from bot.x_client import XApi
from bot.x_logic import (
    Thread,
    Tweet,
    TweetParseError,
    id_key,
    newest_id,
    parse_tweet,
    select_tweets,
    stitch_threads,
    tweet_url,
)
from config.log import get_logger
from config.settings import SourcesSettings, WatchedAccount
from streams import keys

log = get_logger(__name__)

NO_POSTS_YET = "0"  # cursor of an account initialised while its timeline was empty


def thread_event(account: WatchedAccount, thread: Thread) -> dict[str, Any]:
    """The raw ingest event of a closed thread (a single tweet is a thread of one)."""
    event: dict[str, Any] = {
        "source": "x",
        "kind": "tweet",
        "external_id": thread.external_id,
        "author": account.name or f"@{account.username}",
        "text": thread.text,
        "said_at": thread.root.created_at.astimezone(UTC).isoformat(),
        "url": tweet_url(account.username, thread.root.id),
    }
    for name in ("party", "role", "state"):
        value = getattr(account, name)
        if value:
            event[name] = value
    if len(thread.tweets) > 1:
        event["thread_ids"] = thread.ids
    return event


class XAccountSource:
    """One account's poller; the scheduler calls ``run_once`` every ``interval_s``."""

    kind = "x"

    def __init__(
        self,
        account: WatchedAccount,
        *,
        api: XApi,
        sink: IngestSink,
        redis: AsyncRedis,
        settings: SourcesSettings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account = account
        self.name = f"x:{account.username.lower()}"
        self.interval_s = settings.x_interval_s
        self._api = api
        self._sink = sink
        self._redis = redis
        self._settings = settings
        self._now = now

    async def account_id(self) -> str:
        """Resolved once, then read from Redis: usernames can be renamed, ids cannot."""
        key = keys.x_user_id(self.account.username)
        cached = await self._redis.get(key)
        if cached:
            return str(cached)
        user_id = await self._api.user_id(self.account.username)
        await self._redis.set(key, user_id)
        log.info("x account resolved", username=self.account.username, user_id=user_id)
        return user_id

    async def run_once(self) -> RunResult:
        result = RunResult()
        user_id = await self.account_id()
        cursor = await self._redis.get(keys.x_cursor(user_id))
        if cursor is None and self._settings.x_backfill_limit == 0:
            return await self._initialise(user_id, result)
        limit = self._settings.x_backfill_limit if cursor is None else None
        since = None if cursor in (None, NO_POSTS_YET) else str(cursor)
        raw_posts = await self._fetch(user_id, since_id=since, limit=limit)

        tweets: list[Tweet] = []
        for raw in raw_posts:
            try:
                tweets.append(parse_tweet(raw))
            except TweetParseError as exc:
                result.error("bad_post", str(exc))
                log.error("x post unusable", source=self.name, error=str(exc))
        if since is not None:
            # Out-of-order guard: an id at or below the cursor was already handled.
            late = [t for t in tweets if id_key(t.id) <= id_key(since)]
            result.skipped += len(late)
            tweets = [t for t in tweets if id_key(t.id) > id_key(since)]
        newest = newest_id((t.id for t in tweets), None if cursor is None else str(cursor))
        newest = newest_id(
            [str(r.get("id")) for r in raw_posts if str(r.get("id")).isdigit()], newest
        )

        pending = await self._load_pending(user_id)
        seen = await self._seen(user_id, tweets)
        selection = select_tweets(
            [*pending, *tweets],
            account_id=user_id,
            seen=seen,
            exclude_retweets=self._settings.exclude_retweets,
            exclude_replies=self._settings.exclude_replies,
        )
        result.skipped += sum(selection.skipped.values())
        stitched = stitch_threads(
            selection.kept,
            account_id=user_id,
            window=timedelta(seconds=self._settings.thread_window_s),
            now=self._now(),
        )
        events = [thread_event(self.account, t) for t in stitched.closed]
        if events:
            await self._sink.send_many(events)
        await self._commit(user_id, newest or NO_POSTS_YET, stitched, pending_before=pending)
        result.emitted = len(events)
        result.cursor = newest or NO_POSTS_YET
        log.info(
            "x poll done",
            source=self.name,
            fetched=len(raw_posts),
            emitted=result.emitted,
            held=sum(len(t.tweets) for t in stitched.open),
            skipped=selection.skipped,
            cursor=result.cursor,
        )
        return result

    async def _initialise(self, user_id: str, result: RunResult) -> RunResult:
        """First run without backfill: remember where the timeline is, emit nothing."""
        page = await self._api.user_posts(
            user_id,
            since_id=None,
            pagination_token=None,
            max_results=5,
            exclude_retweets=False,
        )
        ids = [str(p.get("id")) for p in page.posts if str(p.get("id")).isdigit()]
        newest = newest_id(ids, page.newest_id) or NO_POSTS_YET
        await self._redis.set(keys.x_cursor(user_id), newest)
        result.cursor = newest
        log.info("x account initialised", source=self.name, cursor=newest)
        return result

    async def _fetch(
        self, user_id: str, *, since_id: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """Every page since the cursor (or the newest ``limit`` posts on a backfill)."""
        posts: list[dict[str, Any]] = []
        token: str | None = None
        for page_no in range(self._settings.x_max_pages):
            page = await self._api.user_posts(
                user_id,
                since_id=since_id,
                pagination_token=token,
                max_results=self._settings.x_page_size,
                exclude_retweets=self._settings.exclude_retweets,
            )
            posts.extend(dict(p) for p in page.posts)
            token = page.next_token
            if token is None or (limit is not None and len(posts) >= limit):
                break
            if page_no == self._settings.x_max_pages - 1:
                log.warning("x backlog exceeds x_max_pages; older posts skipped", source=self.name)
        if limit is not None:
            posts.sort(key=lambda p: id_key(str(p.get("id"))) if str(p.get("id")).isdigit() else 0)
            posts = posts[-limit:]
        return posts

    async def _load_pending(self, user_id: str) -> list[Tweet]:
        raw = await self._redis.get(keys.x_pending(user_id))
        if not raw:
            return []
        return [Tweet.from_json(item) for item in json.loads(raw)]

    async def _seen(self, user_id: str, tweets: list[Tweet]) -> set[str]:
        candidates = sorted({i for t in tweets for i in (t.id, *t.edit_history)})
        if not candidates:
            return set()
        scores = await self._redis.zmscore(keys.x_seen(user_id), candidates)
        return {c for c, s in zip(candidates, scores, strict=True) if s is not None}

    async def _commit(
        self, user_id: str, cursor: str, stitched: Any, *, pending_before: list[Tweet]
    ) -> None:
        """Cursor, held-back tweets and seen-set move together, after the broker acked."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(keys.x_cursor(user_id), cursor)
        held = [t.to_json() for thread in stitched.open for t in thread.tweets]
        if held:
            pipe.set(keys.x_pending(user_id), json.dumps(held))
        elif pending_before:
            pipe.delete(keys.x_pending(user_id))
        emitted = {
            i for thread in stitched.closed for t in thread.tweets for i in (t.id, *t.edit_history)
        }
        if emitted:
            stamp = time.time()
            seen_key = keys.x_seen(user_id)
            pipe.zadd(seen_key, dict.fromkeys(emitted, stamp))
            pipe.zremrangebyrank(seen_key, 0, -self._settings.seen_ids_max - 1)
        await pipe.execute()
