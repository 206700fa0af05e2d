"""The X fake as a poller and publisher see it: tweepy reads, OAuth rejection, rate-limit
headers, and spec validation catching a non-conforming request."""

from __future__ import annotations

import pytest
import requests
import tweepy

from publishers.x_transport import mount_x
from tests.fixtures_xfake import XFake, xfake

pytestmark = pytest.mark.integration
__all__ = ["xfake"]


def client(fake: XFake, **overrides: str) -> tweepy.Client:
    creds = fake.config.credentials
    args = {
        "bearer_token": creds.bearer_token,
        "consumer_key": creds.consumer_key,
        "consumer_secret": creds.consumer_secret,
        "access_token": creds.access_token,
        "access_token_secret": creds.access_token_secret,
        **overrides,
    }
    api = tweepy.Client(**args, return_type=dict)
    mount_x(api.session, fake.url, 10)
    return api


def test_bad_oauth_signature_is_rejected_and_nothing_is_posted(xfake: XFake) -> None:
    with pytest.raises(tweepy.Unauthorized) as caught:
        client(xfake, consumer_secret="wrong-secret").create_tweet(text="hello", user_auth=True)
    assert "invalid signature" in str(caught.value)
    assert xfake.posts() == []
    # Tampering after signing (a changed query) is caught too.
    creds = xfake.config.credentials
    auth = tweepy.OAuth1UserHandler(
        creds.consumer_key, creds.consumer_secret, creds.access_token, creds.access_token_secret
    ).apply_auth()
    session = requests.Session()
    mount_x(session, xfake.url, 10)
    prepared = session.prepare_request(
        requests.Request("GET", "https://api.x.com/2/users/1/tweets?max_results=5", auth=auth)
    )
    prepared.url = str(prepared.url).replace("max_results=5", "max_results=6")
    assert session.send(prepared).status_code == 401
    assert client(xfake).create_tweet(text="hello", user_auth=True)["data"]["text"] == "hello"


def test_wrong_bearer_token_is_rejected(xfake: XFake) -> None:
    with pytest.raises(tweepy.Unauthorized):
        client(xfake, bearer_token="nope").get_user(username="ClaimWatchBot")


def test_poller_reads_timeline_with_since_id_exclude_and_paging(xfake: XFake) -> None:
    api = client(xfake)
    user = api.get_user(username="SenExample")
    assert "errors" in user and "data" not in user
    first = xfake.add_tweet("SenExample", "first statement")
    original = xfake.add_tweet("SenExample", "second statement")
    xfake.add_tweet("SenExample", "a reply", in_reply_to_tweet_id=original["id"])
    xfake.add_tweet("SenExample", "RT someone", retweet_of=first["id"])
    for i in range(6):
        xfake.add_tweet("SenExample", f"statement {i}")
    uid = api.get_user(username="senexample")["data"]["id"]

    page1 = api.get_users_tweets(
        uid,
        max_results=5,
        exclude=["retweets", "replies"],
        since_id=first["id"],
        tweet_fields=["created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets"],
    )
    assert [t["text"] for t in page1["data"]] == [f"statement {i}" for i in (5, 4, 3, 2, 1)]
    assert {"created_at", "conversation_id", "edit_history_tweet_ids"} <= page1["data"][0].keys()
    page2 = api.get_users_tweets(
        uid,
        max_results=5,
        exclude=["retweets", "replies"],
        since_id=first["id"],
        pagination_token=page1["meta"]["next_token"],
    )
    assert [t["text"] for t in page2["data"]] == ["statement 0", "second statement"]
    assert "next_token" not in page2["meta"]

    replies = api.get_users_tweets(
        uid, max_results=100, tweet_fields=["referenced_tweets", "in_reply_to_user_id"]
    )
    reply = next(t for t in replies["data"] if t["text"] == "a reply")
    assert reply["referenced_tweets"] == [{"type": "replied_to", "id": original["id"]}]
    assert reply["in_reply_to_user_id"] == uid

    found = api.search_recent_tweets("from:SenExample statement -is:reply", max_results=10)
    assert found["meta"]["result_count"] == 8


def test_rate_limit_headers_count_down(xfake: XFake) -> None:
    api = client(xfake)
    api.return_type = requests.Response
    first = api.get_user(username="ClaimWatchBot")
    second = api.get_user(username="ClaimWatchBot")
    assert first.headers["x-rate-limit-limit"] == "900"
    assert int(first.headers["x-rate-limit-remaining"]) == 899
    assert int(second.headers["x-rate-limit-remaining"]) == 898
    assert int(first.headers["x-rate-limit-reset"]) > 0


def test_spec_validation_catches_a_non_conforming_request(xfake: XFake) -> None:
    api = client(xfake)
    bot_id = xfake.bot()["id"]
    with pytest.raises(tweepy.BadRequest):
        api.get_users_tweets(bot_id, max_results=2)  # the spec says 5..100
    with pytest.raises(tweepy.BadRequest):
        api.create_tweet(text="x", quote_tweet_id="not-a-number", user_auth=True)
    errors = xfake.take_validation_errors()
    assert len(errors) == 2
    assert "max_results" in errors[0] and "quote_tweet_id" in errors[1]
    assert xfake.posts() == []
