"""Card upload through X API v2 (POST /2/media/upload, then /2/media/metadata for alt text).

tweepy 4.x only speaks the retired v1.1 upload, so these calls are made directly with tweepy's
OAuth 1.0a handler (multipart bodies are not part of the signature, as OAuth 1.0a says).
"""

from __future__ import annotations

from typing import Any

import requests

from publishers.x_errors import raise_for_status

API = "https://api.x.com"
MAX_ALT_TEXT = 1000


def upload_image(session: requests.Session, auth: Any, png: bytes) -> str:
    """Upload a PNG for a post; returns the media id."""
    response = session.post(
        f"{API}/2/media/upload",
        auth=auth,
        files={"media": ("card.png", png, "image/png")},
        data={"media_category": "tweet_image"},
    )
    raise_for_status(response)
    return str(response.json()["data"]["id"])


def set_alt_text(session: requests.Session, auth: Any, media_id: str, alt_text: str) -> None:
    response = session.post(
        f"{API}/2/media/metadata",
        auth=auth,
        json={"id": media_id, "metadata": {"alt_text": {"text": alt_text[:MAX_ALT_TEXT]}}},
    )
    raise_for_status(response)
