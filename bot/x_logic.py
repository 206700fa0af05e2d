"""Pure decisions of the X poller: which tweets count, which edit wins, how threads stitch.

No I/O here: everything works on typed ``Tweet`` records so it is tested without a server.
The X API has two spellings of the same fields (``referenced_tweets`` and the newer
``referenced_posts``; ``edit_history_tweet_ids`` and ``edit_history_post_ids``); both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from config.errors import ClaimWatchError


@dataclass(frozen=True)
class Tweet:
    """The fields of a post that the poller decides on."""

    id: str
    text: str
    created_at: datetime
    author_id: str | None = None
    conversation_id: str | None = None
    in_reply_to_user_id: str | None = None
    replied_to: str | None = None
    retweeted: str | None = None
    quoted: str | None = None
    edit_history: tuple[str, ...] = ()

    @property
    def edit_root(self) -> str:
        """The id of the first version: every edit of a tweet shares it."""
        return self.edit_history[0] if self.edit_history else self.id

    @property
    def is_retweet(self) -> bool:
        return self.retweeted is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
            "author_id": self.author_id,
            "conversation_id": self.conversation_id,
            "in_reply_to_user_id": self.in_reply_to_user_id,
            "replied_to": self.replied_to,
            "retweeted": self.retweeted,
            "quoted": self.quoted,
            "edit_history": list(self.edit_history),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tweet:
        return cls(
            id=str(data["id"]),
            text=str(data["text"]),
            created_at=parse_time(str(data["created_at"])),
            author_id=data.get("author_id"),
            conversation_id=data.get("conversation_id"),
            in_reply_to_user_id=data.get("in_reply_to_user_id"),
            replied_to=data.get("replied_to"),
            retweeted=data.get("retweeted"),
            quoted=data.get("quoted"),
            edit_history=tuple(data.get("edit_history") or ()),
        )


class TweetParseError(ClaimWatchError, ValueError):
    """A post object from the API lacks what the poller needs."""


def parse_time(value: str) -> datetime:
    """ISO 8601 (X uses ``2024-05-01T12:00:00.000Z``) to an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_tweet(obj: Mapping[str, Any]) -> Tweet:
    """An API post object to a ``Tweet``; raises ``TweetParseError`` when unusable."""
    try:
        tweet_id = str(obj["id"])
        text = str(obj["text"])
        created = parse_time(str(obj["created_at"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise TweetParseError(f"post {obj.get('id')!r}: {exc}") from exc
    if not tweet_id.isdigit():
        raise TweetParseError(f"post id {tweet_id!r} is not numeric")
    refs = obj.get("referenced_tweets") or obj.get("referenced_posts") or []
    by_type: dict[str, str] = {}
    for ref in refs:
        if isinstance(ref, Mapping) and "type" in ref and "id" in ref:
            by_type.setdefault(str(ref["type"]), str(ref["id"]))
    history = obj.get("edit_history_tweet_ids") or obj.get("edit_history_post_ids") or ()
    return Tweet(
        id=tweet_id,
        text=text,
        created_at=created,
        author_id=_opt_str(obj.get("author_id")),
        conversation_id=_opt_str(obj.get("conversation_id")),
        in_reply_to_user_id=_opt_str(obj.get("in_reply_to_user_id")),
        replied_to=by_type.get("replied_to"),
        retweeted=by_type.get("retweeted"),
        quoted=by_type.get("quoted"),
        edit_history=tuple(str(i) for i in history),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def id_key(tweet_id: str) -> int:
    """Snowflake ids compare as integers, never as strings ("9" < "10")."""
    return int(tweet_id)


def newest_id(ids: Iterable[str], current: str | None = None) -> str | None:
    """The largest id of ``ids`` and ``current``."""
    best = current
    for tweet_id in ids:
        if best is None or id_key(tweet_id) > id_key(best):
            best = tweet_id
    return best


def is_self_reply(tweet: Tweet, account_id: str) -> bool:
    return tweet.replied_to is not None and tweet.in_reply_to_user_id == account_id


def is_reply_to_other(tweet: Tweet, account_id: str) -> bool:
    return tweet.replied_to is not None and tweet.in_reply_to_user_id != account_id


@dataclass(frozen=True)
class Selection:
    """Tweets kept for emission, and how many were dropped for each reason."""

    kept: list[Tweet]
    skipped: dict[str, int] = field(default_factory=dict)


def select_tweets(
    tweets: Iterable[Tweet],
    *,
    account_id: str,
    seen: set[str],
    exclude_retweets: bool = True,
    exclude_replies: bool = True,
) -> Selection:
    """Filter and collapse edits: one version per edit root (the newest), nothing already seen.

    Self-replies are kept even when replies are excluded: they are threads, stitched later.
    """
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    newest_version: dict[str, Tweet] = {}
    for tweet in tweets:
        if tweet.id in seen or tweet.edit_root in seen:
            skip("seen")
            continue
        if exclude_retweets and tweet.is_retweet:
            skip("retweet")
            continue
        if exclude_replies and is_reply_to_other(tweet, account_id):
            skip("reply")
            continue
        if tweet.author_id is not None and tweet.author_id != account_id:
            skip("other_author")
            continue
        current = newest_version.get(tweet.edit_root)
        if current is None:
            newest_version[tweet.edit_root] = tweet
        else:
            skip("edit")
            if id_key(tweet.id) > id_key(current.id):
                newest_version[tweet.edit_root] = tweet
    kept = sorted(newest_version.values(), key=lambda t: (t.created_at, id_key(t.id)))
    return Selection(kept=kept, skipped=skipped)


@dataclass(frozen=True)
class Thread:
    """A run of an account's self-replies that becomes one statement (or a single tweet)."""

    tweets: tuple[Tweet, ...]

    @property
    def root(self) -> Tweet:
        return self.tweets[0]

    @property
    def last(self) -> Tweet:
        return self.tweets[-1]

    @property
    def external_id(self) -> str:
        """The root's first version: stable across edits and later thread growth."""
        return self.root.edit_root

    @property
    def text(self) -> str:
        return " ".join(t.text.strip() for t in self.tweets if t.text.strip())

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.tweets]

    def closes_at(self, window: timedelta) -> datetime:
        return self.last.created_at + window


@dataclass(frozen=True)
class Stitched:
    closed: list[Thread]
    open: list[Thread]


def stitch_threads(
    tweets: Sequence[Tweet], *, account_id: str, window: timedelta, now: datetime
) -> Stitched:
    """Group self-reply chains into threads, as Deep Classiflie stitched an author's threads.

    A self-reply joins the thread holding its parent (any version of it) when it came within
    ``window`` of that thread's last tweet; otherwise it starts its own thread. A thread is
    closed (ready to emit) once ``window`` has passed since its last tweet; open threads are
    held back so that a continuation arriving on the next poll still joins them. A zero
    window disables stitching: every tweet is its own, closed, thread.
    """
    ordered = sorted(tweets, key=lambda t: (t.created_at, id_key(t.id)))
    if window <= timedelta(0):
        return Stitched(closed=[Thread((t,)) for t in ordered], open=[])
    chains: list[list[Tweet]] = []
    chain_of: dict[str, int] = {}
    for tweet in ordered:
        index: int | None = None
        parent = tweet.replied_to
        if parent is not None and is_self_reply(tweet, account_id) and parent in chain_of:
            candidate = chain_of[parent]
            if tweet.created_at - chains[candidate][-1].created_at <= window:
                index = candidate
        if index is None:
            chains.append([tweet])
            index = len(chains) - 1
        else:
            chains[index].append(tweet)
        for alias in (tweet.id, *tweet.edit_history):
            chain_of[alias] = index
    threads = [Thread(tuple(chain)) for chain in chains]
    closed = [t for t in threads if now >= t.closes_at(window)]
    still_open = [t for t in threads if now < t.closes_at(window)]
    return Stitched(closed=closed, open=still_open)


def tweet_url(username: str, tweet_id: str) -> str:
    return f"https://x.com/{username}/status/{tweet_id}"
