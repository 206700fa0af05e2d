"""Log redaction: no secret reaches a log line, whatever the call site passed."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from config.log import REDACTED, Redactor, configure_logging
from config.settings import load_settings


def test_secret_keys_are_masked_wherever_they_nest() -> None:
    redactor = Redactor()
    event = redactor(
        None,
        "info",
        {
            "event": "request",
            "api_key": "k-123456",
            "headers": {"Authorization": "Bearer abc.def"},
            "user": "alice",
        },
    )
    assert event["api_key"] == REDACTED
    assert event["headers"]["Authorization"] == REDACTED
    assert event["user"] == "alice"


def test_known_secret_values_and_patterns_are_masked_inside_text() -> None:
    redactor = Redactor(["s3cr3t-value-xyz"])
    text = redactor.redact_text(
        "failed with s3cr3t-value-xyz; header Bearer AAAAtoken123; "
        'OAuth oauth_signature="abc%3D", url redis://user:pa55word@host:6379/0'
    )
    assert "s3cr3t-value-xyz" not in text
    assert "AAAAtoken123" not in text
    assert "abc%3D" not in text
    assert "pa55word" not in text
    assert text.count(REDACTED) == 4


def test_configured_logging_never_prints_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLAIMWATCH_X_ACCESS_TOKEN_SECRET", "tok-secret-999999")
    monkeypatch.setenv("CLAIMWATCH_LOG_FORMAT", "json")
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging(load_settings())
    try:
        structlog.get_logger("t").error("upload failed", detail="echo tok-secret-999999 back")
    finally:
        structlog.reset_defaults()
        root.handlers[:], root.level = saved[0], saved[1]
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "upload failed"
    assert "tok-secret-999999" not in line and REDACTED in record["detail"]
