"""The fake's in-memory world: users, posts, uploaded media, and the queries over them.

Ids are decimal strings from one increasing counter, so "newer" means "larger id" as on X.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FIRST_ID = 1_800_000_000_000_000_000


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def encode_token(tweet_id: str) -> str:
    """A base32hex pagination token meaning "older than this id"."""
    return base64.b32hexencode(tweet_id.encode()).decode().rstrip("=").lower()


def decode_token(token: str) -> str | None:
    padded = token.upper() + "=" * (-len(token) % 8)
    try:
        value = base64.b32hexdecode(padded).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return value if value.isdigit() else None


@dataclass
class Media:
    id: str
    media_key: str
    size: int
    category: str
    content_type: str
    alt_text: str | None = None


@dataclass
class World:
    """Everything the fake knows. Reset between tests by building a new one."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    tweets: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, Media] = field(default_factory=dict)
    created_post_ids: list[str] = field(default_factory=list)
    _next_id: int = FIRST_ID

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def note_id(self, value: str) -> None:
        """Keep the counter above ids chosen by a seeding client."""
        self._next_id = max(self._next_id, int(value))

    # -- users -----------------------------------------------------------------------------
    def add_user(
        self, username: str, name: str | None = None, user_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        existing = self.user_by_username(username)
        if existing is not None:
            return existing
        uid = user_id or self.new_id()
        self.note_id(uid)
        user = {
            "id": uid,
            "username": username,
            "name": name or username,
            "created_at": iso_now(),
            **extra,
        }
        self.users[uid] = user
        return user

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        wanted = username.lower()
        return next((u for u in self.users.values() if u["username"].lower() == wanted), None)

    # -- posts -----------------------------------------------------------------------------
    def add_tweet(
        self,
        author_id: str,
        text: str,
        *,
        tweet_id: str | None = None,
        created_at: str | None = None,
        in_reply_to_tweet_id: str | None = None,
        retweet_of: str | None = None,
        quote_of: str | None = None,
        media_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        tid = tweet_id or self.new_id()
        self.note_id(tid)
        tweet: dict[str, Any] = {
            "id": tid,
            "text": text,
            "author_id": author_id,
            "created_at": created_at or iso_now(),
            "conversation_id": tid,
            "edit_history_tweet_ids": [tid],
            "lang": "en",
        }
        refs = []
        if in_reply_to_tweet_id:
            parent = self.tweets.get(in_reply_to_tweet_id)
            refs.append({"type": "replied_to", "id": in_reply_to_tweet_id})
            if parent is not None:
                tweet["conversation_id"] = parent["conversation_id"]
                tweet["in_reply_to_user_id"] = parent["author_id"]
        if retweet_of:
            refs.append({"type": "retweeted", "id": retweet_of})
        if quote_of:
            refs.append({"type": "quoted", "id": quote_of})
        if refs:
            tweet["referenced_tweets"] = refs
        if media_ids:
            tweet["attachments"] = {"media_keys": [self.media[m].media_key for m in media_ids]}
            tweet["_media_ids"] = list(media_ids)
        self.tweets[tid] = tweet
        return tweet

    def timeline(self, author_id: str | None = None) -> list[dict[str, Any]]:
        """Posts newest first, optionally by one author."""
        items = [
            t for t in self.tweets.values() if author_id is None or t["author_id"] == author_id
        ]
        return sorted(items, key=lambda t: int(t["id"]), reverse=True)


def is_reply(tweet: dict[str, Any]) -> bool:
    return any(r["type"] == "replied_to" for r in tweet.get("referenced_tweets", []))


def is_retweet(tweet: dict[str, Any]) -> bool:
    return any(r["type"] == "retweeted" for r in tweet.get("referenced_tweets", []))


def page(
    items: list[dict[str, Any]],
    *,
    max_results: int,
    token: str | None,
    since_id: str | None = None,
    until_id: str | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of newest-first posts and its ``meta``, as X pages timelines and searches."""
    selected = items
    if since_id:
        selected = [t for t in selected if int(t["id"]) > int(since_id)]
    if until_id:
        selected = [t for t in selected if int(t["id"]) < int(until_id)]
    if start_time:
        selected = [t for t in selected if _ts(t["created_at"]) >= _ts(start_time)]
    if end_time:
        selected = [t for t in selected if _ts(t["created_at"]) < _ts(end_time)]
    if token:
        below = decode_token(token)
        if below is not None:
            selected = [t for t in selected if int(t["id"]) < int(below)]
    chunk = selected[:max_results]
    meta: dict[str, Any] = {"result_count": len(chunk)}
    if chunk:
        meta["newest_id"] = chunk[0]["id"]
        meta["oldest_id"] = chunk[-1]["id"]
    if len(selected) > len(chunk):
        meta["next_token"] = encode_token(chunk[-1]["id"])
    return chunk, meta


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


DEFAULT_TWEET_FIELDS = ("id", "text", "edit_history_tweet_ids")
DEFAULT_USER_FIELDS = ("id", "name", "username")


def shape(obj: dict[str, Any], fields: set[str], defaults: tuple[str, ...]) -> dict[str, Any]:
    """The object with only the default and requested fields, as X returns it."""
    wanted = set(defaults) | fields
    # The spec spells some post fields differently from the live API; accept both names.
    aliases = {
        "edit_history_post_ids": "edit_history_tweet_ids",
        "referenced_posts": "referenced_tweets",
    }
    wanted |= {aliases[f] for f in fields if f in aliases}
    return {k: v for k, v in obj.items() if k in wanted and not k.startswith("_")}


def matches_query(tweet: dict[str, Any], query: str, world: World) -> bool:
    """A small subset of X's search operators: from:, -is:retweet, -is:reply, is:reply,
    quoted phrases and plain words (all ANDed)."""
    import shlex

    try:
        terms = shlex.split(query)
    except ValueError:
        terms = query.split()
    text = tweet["text"].lower()
    for term in terms:
        negate = term.startswith("-")
        bare = term[1:] if negate else term
        if bare.startswith("from:"):
            user = world.users.get(tweet["author_id"], {})
            hit = user.get("username", "").lower() == bare[5:].lower()
        elif bare == "is:retweet":
            hit = is_retweet(tweet)
        elif bare == "is:reply":
            hit = is_reply(tweet)
        elif bare.upper() in ("OR", "AND"):
            continue
        else:
            hit = bare.lower() in text
        if hit == negate:
            return False
    return True
