"""How X API failures map to publish decisions."""

from __future__ import annotations

from publishers.x_errors import classify


def test_429_waits_until_the_reset() -> None:
    failure = classify(429, "1000", "rate limited", now=990.0)
    assert failure.kind == "rate_limited" and failure.retry_after_s == 11.0
    assert classify(429, "900", "m", now=990.0).retry_after_s == 1.0  # reset passed: minimum
    assert classify(429, None, "m", now=0).retry_after_s == 60.0


def test_5xx_and_no_response_are_transient() -> None:
    assert classify(503, None, "m", 0).kind == "transient"
    assert classify(None, None, "unreachable", 0).kind == "transient"


def test_other_4xx_are_final() -> None:
    for status in (400, 401, 403, 404):
        assert classify(status, None, "m", 0).kind == "final"
