"""The official X API v2 OpenAPI document, located and loaded once for validation.

The published spec repeats some enum items, which openapi-core refuses; they are de-duplicated
on load. Looked up from ``CLAIMWATCH_X_OPENAPI`` or ``../shared/x-api/openapi.json`` next to
the repository root.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from config.errors import ClaimWatchError

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_ENV = "CLAIMWATCH_X_OPENAPI"
# Validation ignores the host: the fake is reached on loopback, the spec names api.x.com.
SPEC_HOST = "https://api.x.com"


class SpecNotFound(ClaimWatchError, FileNotFoundError):
    """No copy of the X OpenAPI document could be found."""


def spec_path() -> Path:
    """Where the X OpenAPI document is: the env override, else ../shared next to the repo."""
    override = os.environ.get(SPEC_ENV)
    candidates = [Path(override)] if override else []
    candidates += [REPO_ROOT.parent / "shared" / "x-api" / "openapi.json"]
    for path in candidates:
        if path.is_file():
            return path
    raise SpecNotFound(
        f"X OpenAPI spec not found (set {SPEC_ENV}); looked at "
        + ", ".join(str(p) for p in candidates)
    )


def dedupe_enums(node: Any) -> Any:
    """Drop repeated enum items in place (order kept); returns the node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                unique: list[Any] = []
                for item in value:
                    if item not in unique:
                        unique.append(item)
                node[key] = unique
            else:
                dedupe_enums(value)
    elif isinstance(node, list):
        for item in node:
            dedupe_enums(item)
    return node


@lru_cache(maxsize=4)
def load_openapi(path: str | None = None) -> OpenAPI:
    """The parsed spec (cached); spec self-validation is skipped, it is the vendor's."""
    source = Path(path) if path else spec_path()
    document = dedupe_enums(json.loads(source.read_text(encoding="utf-8")))
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@dataclass
class SpecRequest:
    """An HTTP request as openapi-core reads it."""

    method: str
    path: str
    body: bytes | None = None
    content_type: str = "application/json"
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    host_url: str = SPEC_HOST

    parameters: RequestParameters = field(init=False)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(self.query),
            header=Headers(self.headers),
            cookie=ImmutableMultiDict(),
        )


@dataclass
class SpecResponse:
    """An HTTP response as openapi-core reads it."""

    status_code: int
    data: bytes
    content_type: str = "application/json"
    headers: Headers = field(default_factory=Headers)


def validation_errors(
    openapi: OpenAPI, request: SpecRequest, response: SpecResponse | None = None
) -> list[str]:
    """Every way the request (and response, if given) departs from the spec; [] if none."""
    errors: list[str] = []
    with warnings.catch_warnings():
        # openapi-core warns on the spec's OAuth 2.0 scheme, which it cannot check.
        warnings.simplefilter("ignore", UserWarning)
        try:
            openapi.validate_request(request)
        except Exception as exc:
            errors.append(f"request {request.method.upper()} {request.path}: {_describe(exc)}")
        if response is not None:
            try:
                openapi.validate_response(request, response)
            except Exception as exc:
                errors.append(
                    f"response {response.status_code} to {request.method.upper()} "
                    f"{request.path}: {_describe(exc)}"
                )
    return errors


def _describe(exc: BaseException) -> str:
    text = str(exc)
    cause = exc.__cause__
    if cause is not None and str(cause) not in text:
        text += f" ({cause})"
    return text[:2000]
