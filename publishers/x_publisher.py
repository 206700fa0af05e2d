"""The X channel: a post with the card attached (alt text set), through tweepy.

tweepy is synchronous, so each call runs in a thread, one at a time per publisher. Limits:
our Redis token buckets are checked before posting (X's 100 posts / 15 min and our own caps);
an X 429 becomes a retryable PublishError carrying the wait until ``x-rate-limit-reset``
(never tweepy's ``wait_on_rate_limit``); 5xx and network errors are retried here a bounded
number of times with backoff, and before re-sending a post we look for it first (a 5xx can
come after X created it); any other 4xx is final and carries X's error text.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import requests
import tweepy

from config.log import get_logger
from config.settings import Settings, XSettings
from publishers.base import CardImage, PublishError, PublishOutcome
from publishers.ledger import backoff_s
from publishers.post_text import check_template, fields_from_prediction, marker_for, render_post
from publishers.x_errors import classify, describe
from publishers.x_media import set_alt_text, upload_image
from publishers.x_transport import mount_x

log = get_logger(__name__)
T = TypeVar("T")
REHEARSALS_KEPT = 1000


class PostLimiter(Protocol):
    async def try_acquire(self, cost: float = 1.0) -> float: ...


@dataclass(frozen=True)
class XCredentials:
    api_key: str
    api_secret: str
    access_token: str
    access_token_secret: str
    bearer_token: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> XCredentials | None:
        """None unless all four user-context secrets are set."""
        parts = [
            settings.x_api_key,
            settings.x_api_secret,
            settings.x_access_token,
            settings.x_access_token_secret,
        ]
        if any(p is None or not p.get_secret_value() for p in parts):
            return None
        key, secret, token, token_secret = (p.get_secret_value() for p in parts if p)
        bearer = settings.x_bearer_token.get_secret_value() if settings.x_bearer_token else None
        return cls(key, secret, token, token_secret, bearer_token=bearer or None)


class XPublisher:
    channel = "x"

    def __init__(
        self,
        settings: XSettings,
        credentials: XCredentials | None,
        limiter: PostLimiter | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_template(settings.post_template)
        if credentials is None and not settings.dry_run:
            raise ValueError(
                "X credentials missing: set CLAIMWATCH_X_API_KEY, _API_SECRET, "
                "_ACCESS_TOKEN, _ACCESS_TOKEN_SECRET (or x.dry_run: true)"
            )
        self._settings = settings
        self._credentials = credentials
        self._limiter = limiter
        self._sleep = sleep
        self._clock = clock
        self._lock = asyncio.Lock()
        self._bot_id: str | None = None
        # Texts rendered in dry runs, newest last; bounded, as a dry-run worker runs for days.
        self.rehearsals: deque[str] = deque(maxlen=REHEARSALS_KEPT)
        self._client: tweepy.Client | None = None
        if credentials is not None:
            self._client = tweepy.Client(
                bearer_token=credentials.bearer_token,
                consumer_key=credentials.api_key,
                consumer_secret=credentials.api_secret,
                access_token=credentials.access_token,
                access_token_secret=credentials.access_token_secret,
                return_type=dict,
                wait_on_rate_limit=False,
            )
            mount_x(self._client.session, settings.api_base_url, settings.request_timeout_s)

    def render(self, prediction: dict[str, Any]) -> str:
        fields = fields_from_prediction(prediction, self._settings.feed_url)
        return render_post(self._settings.post_template, fields)

    async def publish(self, prediction: dict[str, Any], card: CardImage | None) -> PublishOutcome:
        try:
            text = self.render(prediction)
        except ValueError as exc:
            raise PublishError(f"cannot render the post: {exc}", retryable=False) from exc
        if self._settings.dry_run:
            return self._rehearsed(prediction, text, card)
        if self._limiter is not None:
            wait = await self._limiter.try_acquire()
            if wait > 0:
                raise PublishError(
                    "our posting limit is reached", retryable=True, retry_after_s=wait
                )
        async with self._lock:
            media_ids: list[str] | None = None
            if card is not None:
                media_id = await self._call(
                    lambda: upload_image(self._session, self._auth(), card.png)
                )
                if card.alt_text:
                    await self._call(
                        lambda: set_alt_text(self._session, self._auth(), media_id, card.alt_text)
                    )
                media_ids = [media_id]
            found: list[PublishOutcome] = []

            async def already_posted() -> bool:
                existing = await self._find_unlocked(prediction)
                if existing is not None:
                    found.append(existing)
                return existing is not None

            response = await self._call(
                lambda: self._api.create_tweet(text=text, media_ids=media_ids, user_auth=True),
                before_retry=already_posted,
            )
        if response is None:
            return found[0]
        tweet_id = str(response["data"]["id"])
        log.info("x posted", tweet_id=tweet_id, statement_id=_sid(prediction))
        return self._outcome(tweet_id)

    async def publish_dry_run(
        self, prediction: dict[str, Any], card: CardImage | None
    ) -> PublishOutcome:
        """Render and record, post nothing (replays; ``x.dry_run``)."""
        try:
            text = self.render(prediction)
        except ValueError as exc:
            raise PublishError(f"cannot render the post: {exc}", retryable=False) from exc
        return self._rehearsed(prediction, text, card)

    def _rehearsed(
        self, prediction: dict[str, Any], text: str, card: CardImage | None
    ) -> PublishOutcome:
        self.rehearsals.append(text)
        log.info("x dry run: not posted", text=text, has_card=card is not None)
        return PublishOutcome(external_id=f"dry-run:{marker_for(_sid(prediction))}")

    async def find_existing(self, prediction: dict[str, Any]) -> PublishOutcome | None:
        if self._client is None:
            return None
        async with self._lock:
            return await self._find_unlocked(prediction)

    async def _find_unlocked(self, prediction: dict[str, Any]) -> PublishOutcome | None:
        """Search the bot's own recent posts for the statement's marker."""
        marker = marker_for(_sid(prediction))
        bot_id = await self._bot_user_id()
        user_auth = self._credentials is None or not self._credentials.bearer_token
        token: str | None = None
        for _ in range(self._settings.reconcile_pages):
            response = await self._call(
                functools.partial(
                    self._api.get_users_tweets,
                    bot_id,
                    max_results=100,
                    pagination_token=token,
                    user_auth=user_auth,
                )
            )
            for tweet in response.get("data", []):
                if marker in tweet.get("text", "").split():
                    return self._outcome(str(tweet["id"]))
            token = response.get("meta", {}).get("next_token")
            if not token:
                break
        return None

    async def _bot_user_id(self) -> str:
        if self._bot_id is None:
            user_auth = self._credentials is None or not self._credentials.bearer_token
            username = self._settings.bot_username
            response = await self._call(
                lambda: self._api.get_user(username=username, user_auth=user_auth)
            )
            if "data" not in response:
                raise PublishError(f"bot account @{username} not found", retryable=False)
            self._bot_id = str(response["data"]["id"])
        return self._bot_id

    async def _call(
        self, fn: Callable[[], T], before_retry: Callable[[], Awaitable[bool]] | None = None
    ) -> T:
        """Run a blocking X call in a thread: bounded retries with backoff on 5xx/network;
        429 and other 4xx become PublishError. ``before_retry`` returning True stops the
        retries (returning None): what we wanted already happened."""
        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(fn)
            except (tweepy.HTTPException, requests.RequestException) as exc:
                status, reset, message = describe(exc)
                failure = classify(status, reset, message, self._clock())
            if failure.kind == "rate_limited":
                raise PublishError(
                    failure.message, retryable=True, retry_after_s=failure.retry_after_s
                )
            if failure.kind == "final":
                raise PublishError(failure.message, retryable=False)
            attempt += 1
            if attempt > self._settings.max_retries:
                raise PublishError(f"{failure.message} (after {attempt} tries)", retryable=True)
            delay = backoff_s(attempt, self._settings.backoff_base_s, self._settings.backoff_max_s)
            log.warning(
                "x call failed, retrying", error=failure.message, attempt=attempt, delay_s=delay
            )
            await self._sleep(delay)
            if before_retry is not None and await before_retry():
                return None  # type: ignore[return-value]

    def _outcome(self, tweet_id: str) -> PublishOutcome:
        return PublishOutcome(
            external_id=tweet_id,
            url=f"https://x.com/{self._settings.bot_username}/status/{tweet_id}",
        )

    @property
    def _api(self) -> tweepy.Client:
        if self._client is None:
            raise PublishError("X credentials missing", retryable=False)
        return self._client

    @property
    def _session(self) -> requests.Session:
        return self._api.session

    def _auth(self) -> Any:
        creds = self._credentials
        if creds is None:
            raise PublishError("X credentials missing", retryable=False)
        return tweepy.OAuth1UserHandler(
            creds.api_key, creds.api_secret, creds.access_token, creds.access_token_secret
        ).apply_auth()


def _sid(prediction: dict[str, Any]) -> str:
    statement = prediction.get("statement") or {}
    return str(prediction.get("statement_id") or statement.get("id") or prediction.get("id"))
