"""The fake's OAuth 1.0a check, against signatures made by oauthlib's client."""

from __future__ import annotations

import time

from oauthlib.oauth1 import Client

from ops.xfake.oauth import Credentials, NonceCache, check_bearer, check_oauth1

CREDS = Credentials()
URL = "https://api.x.com/2/users/123/tweets?max_results=5&exclude=replies"


def sign(
    url: str = URL,
    *,
    secret: str = CREDS.consumer_secret,
    method: str = "GET",
    timestamp: str | None = None,
) -> str:
    client = Client(
        CREDS.consumer_key,
        client_secret=secret,
        resource_owner_key=CREDS.access_token,
        resource_owner_secret=CREDS.access_token_secret,
        timestamp=timestamp,
    )
    _, headers, _ = client.sign(url, method)
    return str(headers["Authorization"])


def check(
    authorization: str, *, url: str = URL, nonces: NonceCache | None = None, method: str = "GET"
) -> str | None:
    base, _, query = url.partition("?")
    return check_oauth1(
        CREDS,
        nonces or NonceCache(),
        method=method,
        url=base,
        authorization=authorization,
        query_string=query,
        form_body=None,
    )


def test_a_good_signature_passes() -> None:
    assert check(sign()) is None


def test_wrong_secret_changed_query_or_method_fail() -> None:
    assert check(sign(secret="wrong")) == "invalid signature"
    assert check(sign(), url=URL.replace("5", "6")) == "invalid signature"
    assert check(sign(), method="POST") == "invalid signature"
    # The host is part of what was signed.
    assert check(sign(), url=URL.replace("api.x.com", "127.0.0.1:8089")) == "invalid signature"


def test_replayed_nonce_and_stale_timestamp_fail() -> None:
    nonces = NonceCache()
    header = sign()
    assert check(header, nonces=nonces) is None
    assert check(header, nonces=nonces) == "replayed nonce"
    stale = sign(timestamp=str(int(time.time()) - 3600))
    assert check(stale) == "oauth_timestamp out of range"


def test_unknown_keys_and_non_oauth_headers_fail() -> None:
    assert check("Bearer abc") == "not an OAuth 1.0a Authorization header"
    assert check(sign().replace(CREDS.consumer_key, "other-key")) == "unknown consumer key"


def test_bearer() -> None:
    assert check_bearer(CREDS, f"Bearer {CREDS.bearer_token}") is None
    assert check_bearer(CREDS, "Bearer nope") == "invalid bearer token"
    assert check_bearer(CREDS, "") == "no bearer token"
