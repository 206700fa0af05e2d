"""Pure X poller decisions: parsing, filtering, edits and thread stitching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.x_logic import (
    Tweet,
    TweetParseError,
    newest_id,
    parse_tweet,
    select_tweets,
    stitch_threads,
)

ME = "42"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def tw(
    tid: int,
    seconds: float = 0,
    *,
    text: str | None = None,
    reply_to: int | None = None,
    reply_user: str = ME,
    retweet: bool = False,
    edits: tuple[int, ...] = (),
) -> Tweet:
    return Tweet(
        id=str(tid),
        text=text or f"tweet {tid}",
        created_at=T0 + timedelta(seconds=seconds),
        author_id=ME,
        in_reply_to_user_id=reply_user if reply_to else None,
        replied_to=str(reply_to) if reply_to else None,
        retweeted="1" if retweet else None,
        edit_history=tuple(str(e) for e in edits) or (str(tid),),
    )


def test_parse_reads_live_and_spec_spellings() -> None:
    live = parse_tweet(
        {
            "id": "105",
            "text": "fixed typo",
            "created_at": "2024-05-01T12:00:00.000Z",
            "author_id": ME,
            "in_reply_to_user_id": ME,
            "referenced_tweets": [{"type": "replied_to", "id": "99"}],
            "edit_history_tweet_ids": ["100", "105"],
        }
    )
    spec = parse_tweet(
        {
            "id": "105",
            "text": "x",
            "created_at": "2024-05-01T12:00:00Z",
            "referenced_posts": [{"type": "retweeted", "id": "7"}],
            "edit_history_post_ids": ["100", "105"],
        }
    )
    assert live.edit_root == "100" and live.replied_to == "99" and live.created_at == T0
    assert spec.edit_root == "100" and spec.is_retweet


@pytest.mark.parametrize(
    "obj",
    [{"id": "1", "text": "x"}, {"id": "abc", "text": "x", "created_at": "2024-01-01T00:00:00Z"}],
)
def test_parse_refuses_unusable_posts(obj: dict[str, str]) -> None:
    with pytest.raises(TweetParseError):
        parse_tweet(obj)


def test_ids_compare_numerically() -> None:
    assert newest_id(["9", "10", "8"]) == "10"
    assert newest_id([], "5") == "5"


def test_retweets_and_replies_to_others_are_excluded_but_self_replies_kept() -> None:
    tweets = [tw(1), tw(2, retweet=True), tw(3, reply_to=77, reply_user="999"), tw(4, reply_to=1)]
    sel = select_tweets(tweets, account_id=ME, seen=set())
    assert [t.id for t in sel.kept] == ["1", "4"]
    assert sel.skipped == {"retweet": 1, "reply": 1}
    both = select_tweets(
        tweets, account_id=ME, seen=set(), exclude_retweets=False, exclude_replies=False
    )
    assert len(both.kept) == 4


def test_edits_collapse_to_the_newest_version_and_seen_roots_are_skipped() -> None:
    original = tw(100, text="Taxes rose 10%")
    edited = tw(105, 30, text="Taxes rose 12%", edits=(100, 105))
    sel = select_tweets([edited, original], account_id=ME, seen=set())
    assert [t.text for t in sel.kept] == ["Taxes rose 12%"]
    assert sel.skipped == {"edit": 1}
    # The original was emitted in an earlier run: its edit is a duplicate.
    again = select_tweets([edited], account_id=ME, seen={"100"})
    assert again.kept == [] and again.skipped == {"seen": 1}


def test_single_tweets_close_once_the_window_passed() -> None:
    window = timedelta(seconds=120)
    tweets = [tw(1, 0), tw(2, 100)]
    early = stitch_threads(tweets, account_id=ME, window=window, now=T0 + timedelta(seconds=150))
    assert [t.ids for t in early.closed] == [["1"]]
    assert [t.ids for t in early.open] == [["2"]]
    late = stitch_threads(tweets, account_id=ME, window=window, now=T0 + timedelta(seconds=220))
    assert [t.ids for t in late.closed] == [["1"], ["2"]] and late.open == []


def test_self_reply_chain_within_window_becomes_one_statement() -> None:
    tweets = [
        tw(3, 50, text="Third.", reply_to=2),
        tw(1, 0, text="First."),
        tw(2, 20, text="Second.", reply_to=1),
    ]
    out = stitch_threads(
        tweets, account_id=ME, window=timedelta(seconds=60), now=T0 + timedelta(seconds=500)
    )
    assert len(out.closed) == 1
    thread = out.closed[0]
    assert thread.ids == ["1", "2", "3"]
    assert thread.text == "First. Second. Third."
    assert thread.external_id == "1"


def test_thread_stays_open_while_a_continuation_may_come() -> None:
    tweets = [tw(1, 0), tw(2, 30, reply_to=1)]
    out = stitch_threads(
        tweets, account_id=ME, window=timedelta(seconds=60), now=T0 + timedelta(seconds=80)
    )
    assert out.closed == [] and [t.ids for t in out.open] == [["1", "2"]]


def test_late_self_reply_starts_its_own_statement() -> None:
    tweets = [tw(1, 0), tw(2, 600, reply_to=1)]
    out = stitch_threads(
        tweets, account_id=ME, window=timedelta(seconds=60), now=T0 + timedelta(seconds=900)
    )
    assert [t.ids for t in out.closed] == [["1"], ["2"]]


def test_reply_to_an_edited_parent_joins_its_thread() -> None:
    parent = tw(105, 5, edits=(100, 105))
    child = tw(106, 20, reply_to=100)
    out = stitch_threads(
        [parent, child], account_id=ME, window=timedelta(seconds=60), now=T0 + timedelta(hours=1)
    )
    assert [t.ids for t in out.closed] == [["105", "106"]]
    assert out.closed[0].external_id == "100"


def test_zero_window_disables_stitching() -> None:
    tweets = [tw(1, 0), tw(2, 1, reply_to=1)]
    out = stitch_threads(tweets, account_id=ME, window=timedelta(0), now=T0)
    assert [t.ids for t in out.closed] == [["1"], ["2"]]


def test_tweet_json_round_trip() -> None:
    t = tw(7, 3, reply_to=5, edits=(6, 7))
    assert Tweet.from_json(t.to_json()) == t
