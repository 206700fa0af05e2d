"""The X publisher against the local X fake (spec-validated) and a real Redis."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis

from config.settings import XSettings
from publishers.base import CardImage, PublishError
from publishers.post_text import marker_for, weighted_length
from publishers.prediction import build_prediction
from publishers.ratelimit import RedisRateLimiter, x_post_buckets
from publishers.x_publisher import XCredentials, XPublisher
from streams.records import PublishRequest, ScoredStatement, Statement, statement_id
from tests.fixtures_xfake import XFake, xfake, xfake_credentials, xfake_settings

pytestmark = pytest.mark.integration
__all__ = ["xfake", "xfake_credentials", "xfake_settings"]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_request(
    text: str = "The unemployment rate tripled last year.",
    *,
    dry_run: bool = False,
    channel: str = "x",
) -> PublishRequest:
    external = uuid.uuid4().hex[:12]
    sid = statement_id("x", external)
    statement = Statement(
        id=sid,
        source="x",
        kind="tweet",
        author="Sen. Example",
        text=text,
        said_at="2024-05-01T12:00:00+00:00",
        ingested_at="2024-05-01T12:00:05+00:00",
        external_id=external,
        url=f"https://x.com/SenExample/status/{external}",
    )
    scored = ScoredStatement(
        statement=statement,
        p_false=0.91,
        prediction=1,
        confidence=0.91,
        bucket=4,
        bucket_ceiling=0.95,
        bucket_accuracy=0.86,
        bucket_ppv=0.88,
        bucket_npv=0.7,
        model_version="minilm-liar-1",
        model_sha256="ab" * 32,
        scored_at="2024-05-01T12:00:06+00:00",
    )
    return PublishRequest(
        statement_id=sid,
        channel=channel,
        scored=scored,
        rule_version=1,
        dry_run=dry_run,
        requested_at="2024-05-01T12:00:07+00:00",
    )


def prediction_of(request: PublishRequest) -> dict[str, Any]:
    return build_prediction(request.scored)


async def test_posts_card_with_alt_text_end_to_end(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    request = make_request()
    outcome = await publisher.publish(prediction_of(request), CardImage(PNG, "Card: likely false"))

    posts = xfake.posts()
    assert [p["id"] for p in posts] == [outcome.external_id]
    post = posts[0]
    assert marker_for(request.statement_id) in post["text"].split()
    assert "88%" in post["text"] and request.scored.statement.url in post["text"]
    assert post["media"] == [
        {
            "id": post["media"][0]["id"],
            "size": len(PNG),
            "content_type": "image/png",
            "alt_text": "Card: likely false",
        }
    ]
    assert post["author_id"] == xfake.bot()["id"]
    assert outcome.url == f"https://x.com/{xfake_settings.bot_username}/status/{post['id']}"
    routes = [r["route"] for r in xfake.requests_seen()]
    assert routes == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]


async def test_long_statement_is_shortened_to_fit(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    request = make_request("We will build " + "a very long wall " * 60 + "and more.")
    await publisher.publish(prediction_of(request), None)
    (post,) = xfake.posts()
    assert weighted_length(post["text"]) <= 280
    assert "…" in post["text"] and marker_for(request.statement_id) in post["text"]


async def test_find_existing_finds_the_marker_in_own_posts(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    first, second = make_request(), make_request()
    for i in range(7):  # other posts around it, and another account's post with the marker
        xfake.add_tweet(xfake_settings.bot_username, f"unrelated post {i}")
    xfake.add_tweet("someone_else", f"quoting {marker_for(second.statement_id)}")
    outcome = await publisher.publish(prediction_of(first), None)
    assert await publisher.find_existing(prediction_of(second)) is None
    found = await publisher.find_existing(prediction_of(first))
    assert found is not None and found.external_id == outcome.external_id


async def test_429_becomes_retryable_with_the_reset_wait(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    xfake.inject("/2/tweets", 429, method="POST", reset_in_s=30)
    with pytest.raises(PublishError) as caught:
        await publisher.publish(prediction_of(make_request()), None)
    assert caught.value.retryable
    assert caught.value.retry_after_s is not None and 29 <= caught.value.retry_after_s <= 32
    assert xfake.posts() == []
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 1  # no hidden retry on 429


async def test_5xx_is_retried_a_bounded_number_of_times(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)  # max_retries=2
    xfake.inject("/2/tweets", 503, method="POST", count=2)
    outcome = await publisher.publish(prediction_of(make_request()), None)
    assert [p["id"] for p in xfake.posts()] == [outcome.external_id]
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 3

    xfake.inject("/2/tweets", 500, method="POST", count=10)
    with pytest.raises(PublishError) as caught:
        await publisher.publish(prediction_of(make_request()), None)
    assert caught.value.retryable and "500" in str(caught.value)
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 3 + 3
    assert len(xfake.posts()) == 1


async def test_5xx_after_the_post_was_made_does_not_post_twice(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    xfake.inject("/2/tweets", 503, method="POST", when="after")
    outcome = await publisher.publish(prediction_of(make_request()), None)
    assert [p["id"] for p in xfake.posts()] == [outcome.external_id]
    assert len(xfake.requests_seen("POST", "/2/tweets")) == 1


async def test_other_4xx_is_final_with_the_api_error(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    publisher = XPublisher(xfake_settings, xfake_credentials)
    xfake.inject("/2/tweets", 403, method="POST")
    with pytest.raises(PublishError) as caught:
        await publisher.publish(prediction_of(make_request()), None)
    assert not caught.value.retryable
    assert "403" in str(caught.value) and "injected" in str(caught.value)


async def test_dry_run_renders_but_posts_nothing(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials
) -> None:
    settings = xfake_settings.model_copy(update={"dry_run": True})
    publisher = XPublisher(settings, xfake_credentials)
    request = make_request()
    outcome = await publisher.publish(prediction_of(request), CardImage(PNG, "alt"))
    assert outcome.external_id == f"dry-run:{marker_for(request.statement_id)}"
    assert len(publisher.rehearsals) == 1
    assert marker_for(request.statement_id) in publisher.rehearsals[0]
    assert xfake.posts() == [] and xfake.requests_seen() == []


async def test_our_posting_cap_holds_before_x_is_called(
    xfake: XFake, xfake_settings: XSettings, xfake_credentials: XCredentials, redis_client: Redis
) -> None:
    limiter = RedisRateLimiter(redis_client, x_post_buckets(100, 900, 2, 200))
    publisher = XPublisher(xfake_settings, xfake_credentials, limiter)
    for _ in range(2):
        await publisher.publish(prediction_of(make_request()), None)
    started = time.monotonic()
    with pytest.raises(PublishError) as caught:
        await publisher.publish(prediction_of(make_request()), None)
    assert time.monotonic() - started < 1
    assert caught.value.retryable and caught.value.retry_after_s is not None
    assert 1700 < caught.value.retry_after_s <= 1800  # one token of 2/hour
    assert len(xfake.posts()) == 2
