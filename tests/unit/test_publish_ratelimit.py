"""Token-bucket decisions, without Redis."""

from __future__ import annotations

import pytest

from publishers.ratelimit import Bucket, BucketState, decide, refill, x_post_buckets

WINDOW = Bucket("w", 100, 900)
HOUR = Bucket("h", 2, 3600)


def test_fresh_buckets_are_full_and_a_post_takes_one_token_from_each() -> None:
    decision = decide([WINDOW, HOUR], [None, None], now=0)
    assert decision.allowed and decision.wait_s == 0
    assert [s.tokens for s in decision.states] == [99, 1]


def test_an_empty_bucket_refuses_all_and_says_how_long() -> None:
    states = [BucketState(50, 0), BucketState(0, 0)]
    decision = decide([WINDOW, HOUR], states, now=0)
    assert not decision.allowed
    assert decision.wait_s == pytest.approx(1800)  # 2 per hour: one token per 30 min
    assert [s.tokens for s in decision.states] == [50, 0]  # nothing taken


def test_tokens_refill_over_time_up_to_capacity() -> None:
    assert refill(HOUR, BucketState(0, 0), 900).tokens == pytest.approx(0.5)
    assert refill(HOUR, BucketState(0, 0), 10**6).tokens == 2
    assert decide([HOUR], [BucketState(0, 0)], now=1800).allowed


def test_the_longest_wait_wins() -> None:
    decision = decide([WINDOW, HOUR], [BucketState(0, 0), BucketState(0, 0)], now=0)
    assert decision.wait_s == pytest.approx(1800)


def test_x_buckets_carry_x_limit_and_our_caps() -> None:
    assert [(b.capacity, b.period_s) for b in x_post_buckets(100, 900, 25, 200)] == [
        (100, 900),
        (25, 3600),
        (200, 86400),
    ]
