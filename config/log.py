"""structlog set-up: JSON lines in production, readable console in development.

The redaction processor runs last before rendering, so no secret reaches a log line whatever
the call site passed: values of secret-looking keys are masked, and known secret values and
credential patterns (bearer tokens, OAuth signatures, URL passwords) are masked inside any string.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import structlog

from config.settings import Settings

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|api[_-]?key|authorization|auth[_-]?header|cookie|signature)",
    re.IGNORECASE,
)
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=%-]+"),
    re.compile(r"(?i)(oauth_(?:signature|token|consumer_key)=\"?)[^\",&\s]+"),
    re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^:/\s@]*:)[^@\s/]+(?=@)"),
]
# Every pattern above needs one of these; one search skips the three substitutions on the
# ordinary log line (this runs on every string of every event, in the stream's hot path).
_MAYBE_CREDENTIAL = re.compile(r"(?i)bearer|oauth_|://")


class Redactor:
    """A structlog processor masking secrets in keys, known values and credential patterns."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        # Very short values would mask unrelated text; they are not credentials anyway.
        self._values = sorted({v for v in secret_values if len(v) >= 6}, key=len, reverse=True)

    def redact_text(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        if _MAYBE_CREDENTIAL.search(text) is None:
            return text
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def _redact(self, key: str | None, value: Any) -> Any:
        if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {k: self._redact(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._redact(None, v) for v in value)
        return value

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key in list(event_dict):
            # "event" is the message itself: scrub its text but never mask it wholesale.
            event_dict[key] = self._redact(None if key == "event" else key, event_dict[key])
        return event_dict


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the stdlib root logger (faust, aiokafka) the same way."""
    level = getattr(logging, settings.log_level.upper())
    redactor = Redactor(settings.secret_values())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
