"""Credential checks as X does them: OAuth 1.0a HMAC-SHA1 (user context) or an app bearer.

The signature base string uses the URL the client signed: the original Host header and
``X-Forwarded-Proto`` (set by ClaimWatch's forwarding adapter), so a request signed for
https://api.x.com verifies when it reaches the fake on loopback.
"""

from __future__ import annotations

import hmac
import time
from collections import deque
from dataclasses import dataclass, field

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature as oauth_sig
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

MAX_CLOCK_SKEW_S = 300


@dataclass(frozen=True)
class Credentials:
    consumer_key: str = "fake-consumer-key"
    consumer_secret: str = "fake-consumer-secret"
    access_token: str = "fake-access-token"
    access_token_secret: str = "fake-access-token-secret"
    bearer_token: str = "fake-bearer-token"


@dataclass
class NonceCache:
    """Recently seen nonces: X refuses a replayed signed request."""

    size: int = 10_000
    _seen: set[str] = field(default_factory=set)
    _order: deque[str] = field(default_factory=deque)

    def add(self, nonce: str) -> bool:
        """True if new."""
        if nonce in self._seen:
            return False
        self._seen.add(nonce)
        self._order.append(nonce)
        if len(self._order) > self.size:
            self._seen.discard(self._order.popleft())
        return True


def check_oauth1(
    creds: Credentials,
    nonces: NonceCache,
    *,
    method: str,
    url: str,
    authorization: str,
    query_string: str,
    form_body: str | None,
    now: float | None = None,
) -> str | None:
    """None when the request is validly signed for our app and user, else why not."""
    if not authorization.lower().startswith("oauth "):
        return "not an OAuth 1.0a Authorization header"
    try:
        header_params = {
            k: oauth_utils.unescape(v)
            for k, v in oauth_utils.parse_authorization_header(authorization)
        }
    except ValueError as exc:
        return f"malformed OAuth header: {exc}"
    if header_params.get("oauth_signature_method") != "HMAC-SHA1":
        return "unsupported oauth_signature_method"
    if header_params.get("oauth_consumer_key") != creds.consumer_key:
        return "unknown consumer key"
    if header_params.get("oauth_token") != creds.access_token:
        return "unknown access token"
    try:
        stamp = int(header_params.get("oauth_timestamp", ""))
    except ValueError:
        return "bad oauth_timestamp"
    if abs((now or time.time()) - stamp) > MAX_CLOCK_SKEW_S:
        return "oauth_timestamp out of range"
    params = oauth_sig.collect_parameters(
        uri_query=query_string,
        body=form_body or "",
        headers={"Authorization": authorization},
        exclude_oauth_signature=True,
    )
    base = oauth_sig.signature_base_string(
        method.upper(),
        oauth_sig.base_string_uri(url),
        oauth_sig.normalize_parameters(params),
    )
    signer = Client(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.access_token,
        resource_owner_secret=creds.access_token_secret,
    )
    expected = oauth_sig.sign_hmac_sha1_with_client(base, signer)
    if not hmac.compare_digest(expected, header_params.get("oauth_signature", "")):
        return "invalid signature"
    if not nonces.add(header_params.get("oauth_nonce", "")):
        return "replayed nonce"
    return None


def check_bearer(creds: Credentials, authorization: str) -> str | None:
    if not authorization.lower().startswith("bearer "):
        return "no bearer token"
    if not hmac.compare_digest(authorization[7:].strip(), creds.bearer_token):
        return "invalid bearer token"
    return None
