"""The fake's HTTP app (aiohttp): X API v2 routes under /2, admin routes under /_fake.

Middleware order for /2 routes: spec validation (optional, outermost) -> credentials ->
injected failures -> rate-limit window -> handler. Admin routes need no credentials and are
never validated (they are not X's).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from typing import Any

from aiohttp import web

from ops.xfake.oauth import Credentials, NonceCache, check_bearer, check_oauth1
from ops.xfake.state import (
    DEFAULT_TWEET_FIELDS,
    DEFAULT_USER_FIELDS,
    Media,
    World,
    is_reply,
    is_retweet,
    matches_query,
    page,
    shape,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Per-15-minute limits of the endpoints we fake (the current pay-per-use/basic tier values).
DEFAULT_LIMITS: dict[tuple[str, str], int] = {
    ("GET", "/2/users/by/username/{username}"): 900,
    ("GET", "/2/users/{id}/tweets"): 900,
    ("GET", "/2/tweets/search/recent"): 450,
    ("POST", "/2/tweets"): 100,
    ("POST", "/2/media/upload"): 500,
    ("POST", "/2/media/metadata"): 500,
}
USER_CONTEXT_ONLY = {
    ("POST", "/2/tweets"),
    ("POST", "/2/media/upload"),
    ("POST", "/2/media/metadata"),
}
WINDOW_S = 900


@dataclass
class FakeConfig:
    credentials: Credentials = field(default_factory=Credentials)
    bot_username: str = "ClaimWatchBot"
    validate: bool = False
    spec_path: str | None = None
    limits: dict[tuple[str, str], int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))


@dataclass
class Injection:
    status: int
    remaining: int
    reset_in_s: float = 60.0
    when: str = "before"  # "after": the action happens, then the client sees the failure


@dataclass
class FakeState:
    """Mutable state behind one app (reset by POST /_fake/reset)."""

    config: FakeConfig
    world: World = field(default_factory=World)
    nonces: NonceCache = field(default_factory=NonceCache)
    injections: dict[tuple[str, str], deque[Injection]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    windows: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)
    request_log: list[dict[str, Any]] = field(default_factory=list)
    validation_errors: list[str] = field(default_factory=list)
    bot: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        self.world = World()
        self.nonces = NonceCache()
        self.injections.clear()
        self.windows.clear()
        self.request_log.clear()
        self.validation_errors.clear()
        self.bot = self.world.add_user(self.config.bot_username, "ClaimWatch")


STATE = web.AppKey("state", FakeState)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    """An error body X-style (title/detail/type/status) that also carries code/message, so
    it matches the spec's ``Error`` schema for application/json."""
    body = {
        "title": title,
        "detail": detail,
        "type": kind,
        "status": status,
        "code": status,
        "message": detail,
        **extra,
    }
    return web.json_response(body, status=status, headers=headers)


def invalid_request(detail: str) -> web.Response:
    kind = "https://api.x.com/2/problems/invalid-request"
    errors = [{"type": kind, "title": "Invalid Request", "detail": detail}]
    return problem(
        400,
        "Invalid Request",
        "One or more parameters to your request was invalid.",
        kind=kind,
        errors=errors,
    )


def route_of(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else request.path


def signed_url(request: web.Request) -> str:
    proto = request.headers.get("X-Forwarded-Proto", request.scheme)
    host = request.headers.get("Host", request.host)
    return f"{proto}://{host}{request.path}"


# -- middleware ----------------------------------------------------------------------------
@web.middleware
async def validation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the request and our response against the official spec; keep what departs."""
    if not request.path.startswith("/2/"):
        return await handler(request)
    from ops.xfake.spec import SpecRequest, SpecResponse, load_openapi, validation_errors

    state = request.app[STATE]
    openapi = load_openapi(state.config.spec_path)
    body = await request.read() if request.can_read_body else None
    spec_request = SpecRequest(
        method=request.method.lower(),
        path=request.path,
        body=body,
        content_type=request.headers.get("Content-Type", "application/json"),
        query=list(request.query.items()),
        headers=dict(request.headers),
    )
    request_errors = validation_errors(openapi, spec_request)
    if request_errors:
        state.validation_errors.extend(request_errors)
        response: web.StreamResponse = invalid_request("; ".join(request_errors)[:500])
    else:
        response = await handler(request)
    if isinstance(response, web.Response) and response.body is not None:
        data = response.body if isinstance(response.body, bytes) else b""
        spec_response = SpecResponse(
            status_code=response.status, data=data, content_type=response.content_type
        )
        for err in validation_errors(openapi, spec_request, spec_response):
            if err.startswith("response"):
                state.validation_errors.append(err)
    return response


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Credentials, injected failures and the rate-limit window for /2 routes."""
    if not request.path.startswith("/2/"):
        return await handler(request)
    state = request.app[STATE]
    route = route_of(request)
    key = (request.method, route)
    entry = {"method": request.method, "path": request.path, "route": route, "status": 0}
    state.request_log.append(entry)

    identity, auth_error = await _authenticate(request, state, key)
    if auth_error:
        entry["status"] = 401
        return problem(401, "Unauthorized", f"Unauthorized: {auth_error}")

    injected = _next_injection(state, request, route)
    if injected and injected.when == "before":
        entry["status"] = injected.status
        return _injected_response(injected)

    limit = state.config.limits.get(key, 900)
    now = time.time()
    window_key = (request.method, route, identity)
    start, used = state.windows.get(window_key, (now, 0))
    if now - start >= WINDOW_S:
        start, used = now, 0
    reset = int(start + WINDOW_S)
    if used >= limit:
        entry["status"] = 429
        return problem(
            429, "Too Many Requests", "Too Many Requests", headers=_limit_headers(limit, 0, reset)
        )
    state.windows[window_key] = (start, used + 1)

    response = await handler(request)
    if injected and injected.when == "after":
        entry["status"] = injected.status
        return _injected_response(injected)
    response.headers.update(_limit_headers(limit, limit - used - 1, reset))
    entry["status"] = response.status
    return response


async def _authenticate(
    request: web.Request, state: FakeState, key: tuple[str, str]
) -> tuple[str, str | None]:
    creds = state.config.credentials
    authorization = request.headers.get("Authorization", "")
    if authorization.lower().startswith("bearer ") and key not in USER_CONTEXT_ONLY:
        return "app", check_bearer(creds, authorization)
    form_body = None
    if request.content_type == "application/x-www-form-urlencoded":
        form_body = (await request.read()).decode()
    error = check_oauth1(
        creds,
        state.nonces,
        method=request.method,
        url=signed_url(request),
        authorization=authorization,
        query_string=request.query_string,
        form_body=form_body,
    )
    return "user", error


def _next_injection(state: FakeState, request: web.Request, route: str) -> Injection | None:
    for key in (
        (request.method, request.path),
        (request.method, route),
        ("*", request.path),
        ("*", route),
    ):
        queue = state.injections.get(key)
        if queue:
            injection = queue[0]
            injection.remaining -= 1
            if injection.remaining <= 0:
                queue.popleft()
            return injection
    return None


def _injected_response(injection: Injection) -> web.Response:
    if injection.status == 429:
        reset = int(time.time() + injection.reset_in_s)
        return problem(
            429, "Too Many Requests", "Too Many Requests", headers=_limit_headers(100, 0, reset)
        )
    titles = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        403: "Forbidden",
        400: "Bad Request",
        401: "Unauthorized",
    }
    title = titles.get(injection.status, "Injected Failure")
    return problem(injection.status, title, f"{title} (injected by the fake)")


def _limit_headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(max(0, remaining)),
        "x-rate-limit-reset": str(reset),
    }


# -- X API routes ----------------------------------------------------------------------------
def _fields(request: web.Request, *names: str) -> set[str]:
    out: set[str] = set()
    for name in names:
        for value in request.query.getall(name, []):
            out |= {f for f in value.split(",") if f}
    return out


def _expand(
    request: web.Request, state: FakeState, tweets: list[dict[str, Any]], body: dict[str, Any]
) -> None:
    expansions = _fields(request, "expansions")
    user_fields = _fields(request, "user.fields")
    tweet_fields = _fields(request, "tweet.fields", "post.fields")
    includes: dict[str, list[dict[str, Any]]] = {}
    if "author_id" in expansions:
        ids = dict.fromkeys(t["author_id"] for t in tweets)
        includes["users"] = [
            shape(state.world.users[i], user_fields, DEFAULT_USER_FIELDS)
            for i in ids
            if i in state.world.users
        ]
    if "referenced_tweets.id" in expansions:
        ref_ids = dict.fromkeys(r["id"] for t in tweets for r in t.get("referenced_tweets", []))
        includes["tweets"] = [
            shape(state.world.tweets[i], tweet_fields, DEFAULT_TWEET_FIELDS)
            for i in ref_ids
            if i in state.world.tweets
        ]
    if includes:
        body["includes"] = includes


async def get_user_by_username(request: web.Request) -> web.Response:
    state = request.app[STATE]
    username = request.match_info["username"]
    user = state.world.user_by_username(username)
    if user is None:
        kind = "https://api.x.com/2/problems/resource-not-found"
        return web.json_response(
            {
                "errors": [
                    {
                        "type": kind,
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "username",
                        "value": username,
                        "resource_id": username,
                        "detail": f"Could not find user with username: [{username}].",
                    }
                ]
            }
        )
    return web.json_response(
        {"data": shape(user, _fields(request, "user.fields"), DEFAULT_USER_FIELDS)}
    )


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    value = int(raw)  # spec validation already refused non-integers in tests
    if not low <= value <= high:
        raise web.HTTPBadRequest(
            text=json.dumps({"detail": f"{name} out of range"}), content_type="application/json"
        )
    return value


def _timeline_response(
    request: web.Request, items: list[dict[str, Any]], token: str | None, default_max: int, low: int
) -> web.Response:
    state = request.app[STATE]
    try:
        max_results = _int_param(request, "max_results", default_max, low, 100)
    except (ValueError, web.HTTPBadRequest):
        return invalid_request(f"max_results must be between {low} and 100")
    chunk, meta = page(
        items,
        max_results=max_results,
        token=token,
        since_id=request.query.get("since_id"),
        until_id=request.query.get("until_id"),
        start_time=request.query.get("start_time"),
        end_time=request.query.get("end_time"),
    )
    fields = _fields(request, "tweet.fields", "post.fields")
    body: dict[str, Any] = {"meta": meta}
    if chunk:
        body["data"] = [shape(t, fields, DEFAULT_TWEET_FIELDS) for t in chunk]
        _expand(request, state, chunk, body)
    return web.json_response(body)


async def get_user_tweets(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user_id = request.match_info["id"]
    items = state.world.timeline(user_id)
    exclude = _fields(request, "exclude")
    if "retweets" in exclude:
        items = [t for t in items if not is_retweet(t)]
    if "replies" in exclude:
        items = [t for t in items if not is_reply(t)]
    return _timeline_response(request, items, request.query.get("pagination_token"), 10, 5)


async def search_recent(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query.get("query", "")
    if not query:
        return invalid_request("query is required")
    items = [t for t in state.world.timeline() if matches_query(t, query, state.world)]
    token = request.query.get("next_token") or request.query.get("pagination_token")
    return _timeline_response(request, items, token, 10, 10)


async def create_tweet(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        return invalid_request("body is not JSON")
    text = payload.get("text", "")
    media_ids = (payload.get("media") or {}).get("media_ids") or []
    reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
    if not text and not media_ids:
        return invalid_request("text or media is required")
    unknown = [m for m in media_ids if m not in state.world.media]
    if unknown:
        return invalid_request(f"unknown media ids: {', '.join(unknown)}")
    if reply_to and reply_to not in state.world.tweets:
        return invalid_request("in_reply_to_tweet_id does not exist")
    bot_id = state.bot["id"]
    if text and any(t["text"] == text for t in state.world.timeline(bot_id)):
        return problem(
            403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."
        )
    tweet = state.world.add_tweet(bot_id, text, in_reply_to_tweet_id=reply_to, media_ids=media_ids)
    state.world.created_post_ids.append(tweet["id"])
    return web.json_response(
        {
            "data": {
                "id": tweet["id"],
                "text": text,
                "edit_history_tweet_ids": tweet["edit_history_tweet_ids"],
            }
        },
        status=201,
    )


async def upload_media(request: web.Request) -> web.Response:
    state = request.app[STATE]
    data: bytes | None = None
    content_type = "application/octet-stream"
    category = ""
    if request.content_type.startswith("multipart/"):
        parts = parse_multipart(await request.read(), request.headers["Content-Type"])
        data, content_type = parts.get("media", (None, content_type))
        category = (parts.get("media_category") or (b"", ""))[0].decode(errors="replace")
    else:
        try:
            payload = await request.json()
            data = base64.b64decode(payload.get("media", ""), validate=True)
        except (json.JSONDecodeError, binascii.Error, ValueError):
            return invalid_request("media must be base64 in a JSON body")
        category = payload.get("media_category", "")
    if not data:
        return invalid_request("media is required")
    if category not in (
        "tweet_image",
        "tweet_gif",
        "tweet_video",
        "dm_image",
        "dm_video",
        "dm_gif",
        "subtitles",
    ):
        return invalid_request("media_category is required")
    media_id = state.world.new_id()
    state.world.media[media_id] = Media(
        id=media_id,
        media_key=f"3_{media_id}",
        size=len(data),
        category=category,
        content_type=content_type,
    )
    return web.json_response(
        {
            "data": {
                "id": media_id,
                "media_key": f"3_{media_id}",
                "size": len(data),
                "expires_after_secs": 86400,
            }
        }
    )


async def media_metadata(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        payload = await request.json()
    except json.JSONDecodeError:
        return invalid_request("body is not JSON")
    media = state.world.media.get(str(payload.get("id", "")))
    if media is None:
        return invalid_request("unknown media id")
    alt = ((payload.get("metadata") or {}).get("alt_text") or {}).get("text")
    if alt is not None:
        if len(alt) > 1000:
            return invalid_request("alt text longer than 1000 characters")
        media.alt_text = alt
    return web.json_response(
        {"data": {"id": media.id, "associated_metadata": payload.get("metadata") or {}}}
    )


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[bytes, str]]:
    """Form fields of a multipart body: name -> (bytes, content type). Parsed from the bytes
    (not the stream) because the validation middleware has already read them."""
    message = BytesParser(policy=email_policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, tuple[bytes, str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (payload, part.get_content_type())
    return fields


# -- admin routes ------------------------------------------------------------------------------
async def admin_health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"ok": True, "bot": state.bot})


async def admin_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.json_response({"ok": True})


async def admin_add_user(request: web.Request) -> web.Response:
    payload = await request.json()
    user = request.app[STATE].world.add_user(
        payload["username"],
        payload.get("name"),
        payload.get("id"),
        **{k: v for k, v in payload.items() if k not in ("username", "name", "id")},
    )
    return web.json_response(user)


async def admin_add_tweet(request: web.Request) -> web.Response:
    """Seed a post: {username | author_id, text, id?, created_at?, in_reply_to_tweet_id?,
    retweet_of?, quote_of?}. An unknown username is created."""
    world = request.app[STATE].world
    payload = await request.json()
    author_id = payload.get("author_id") or world.add_user(payload["username"])["id"]
    tweet = world.add_tweet(
        author_id,
        payload["text"],
        tweet_id=payload.get("id"),
        created_at=payload.get("created_at"),
        in_reply_to_tweet_id=payload.get("in_reply_to_tweet_id"),
        retweet_of=payload.get("retweet_of"),
        quote_of=payload.get("quote_of"),
    )
    return web.json_response(tweet)


async def admin_posts(request: web.Request) -> web.Response:
    """Posts created through POST /2/tweets, oldest first, with their media and alt text."""
    world = request.app[STATE].world
    posts = []
    for tid in world.created_post_ids:
        tweet = dict(world.tweets[tid])
        media_ids = tweet.pop("_media_ids", [])
        tweet["media"] = [
            {
                "id": m,
                "size": world.media[m].size,
                "content_type": world.media[m].content_type,
                "alt_text": world.media[m].alt_text,
            }
            for m in media_ids
        ]
        posts.append(tweet)
    return web.json_response({"posts": posts})


async def admin_inject(request: web.Request) -> web.Response:
    """Queue failures: {path (literal or route template), method?, status, count?,
    reset_in_s?, when?: before|after}."""
    payload = await request.json()
    injection = Injection(
        status=int(payload["status"]),
        remaining=int(payload.get("count", 1)),
        reset_in_s=float(payload.get("reset_in_s", 60)),
        when=payload.get("when", "before"),
    )
    if injection.when not in ("before", "after"):
        raise web.HTTPBadRequest(text="when must be before or after")
    key = (str(payload.get("method", "*")).upper(), payload["path"])
    request.app[STATE].injections[key].append(injection)
    return web.json_response({"ok": True})


async def admin_requests(request: web.Request) -> web.Response:
    return web.json_response({"requests": request.app[STATE].request_log})


async def admin_validation(request: web.Request) -> web.Response:
    return web.json_response({"errors": request.app[STATE].validation_errors})


async def admin_clear_validation(request: web.Request) -> web.Response:
    request.app[STATE].validation_errors.clear()
    return web.json_response({"ok": True})


def build_app(config: FakeConfig | None = None) -> web.Application:
    config = config or FakeConfig()
    middlewares = [validation_middleware] if config.validate else []
    app = web.Application(
        middlewares=[*middlewares, api_middleware], client_max_size=16 * 1024 * 1024
    )
    state = FakeState(config=config)
    state.reset()
    app[STATE] = state
    app.router.add_get("/2/users/by/username/{username}", get_user_by_username)
    app.router.add_get("/2/users/{id}/tweets", get_user_tweets)
    app.router.add_get("/2/tweets/search/recent", search_recent)
    app.router.add_post("/2/tweets", create_tweet)
    app.router.add_post("/2/media/upload", upload_media)
    app.router.add_post("/2/media/metadata", media_metadata)
    app.router.add_get("/_fake/health", admin_health)
    app.router.add_post("/_fake/reset", admin_reset)
    app.router.add_post("/_fake/users", admin_add_user)
    app.router.add_post("/_fake/tweets", admin_add_tweet)
    app.router.add_get("/_fake/posts", admin_posts)
    app.router.add_post("/_fake/inject", admin_inject)
    app.router.add_get("/_fake/requests", admin_requests)
    app.router.add_get("/_fake/validation", admin_validation)
    app.router.add_post("/_fake/validation/clear", admin_clear_validation)
    return app
