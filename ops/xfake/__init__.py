"""A local X API v2 fake: the endpoints ClaimWatch uses, with OAuth 1.0a checking, rate-limit
headers, injectable failures and (in tests) validation against the official OpenAPI spec."""

from ops.xfake.server import FakeConfig, build_app

__all__ = ["FakeConfig", "build_app"]
