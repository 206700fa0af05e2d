"""The Kubo RPC API subset ClaimWatch uses, behind a Protocol, with an async httpx client.

The same calls work against a production Kubo daemon and the js-ipfs dev node (see
``shared/ipfs-node/README.md``); the differences (multibase topics, ``{}`` first pubsub line,
base58 CIDs from ``files/stat``) are absorbed here, so callers see one behaviour.
Every CID this module returns is CIDv1 base32 (``publishers.ipfs_cid.normalize_cid``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from config.errors import ClaimWatchError
from publishers.ipfs_cid import normalize_cid

Params = list[tuple[str, Any]]


class IpfsError(ClaimWatchError):
    """The daemon answered with an error (``status`` is the HTTP status); retryable unless the
    node refused the request itself (a 4xx)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message, retryable=status is None or status >= 500)
        self.status = status

    @property
    def insufficient_peers(self) -> bool:
        """js-ipfs refuses ``pubsub/pub`` to a topic with no subscribers; Kubo accepts it."""
        return "insufficientpeers" in str(self).lower().replace(" ", "")


class IpfsUnavailable(IpfsError):
    """The daemon could not be reached or did not answer in time: worth retrying later."""


@dataclass(frozen=True)
class FileStat:
    cid: str
    size: int
    type: str  # "file" or "directory"


@dataclass(frozen=True)
class PubsubMessage:
    data: bytes
    sender: str
    topics: tuple[str, ...]


class IpfsApi(Protocol):
    """What the IPFS publisher and subscriber need from a node."""

    async def add(self, data: bytes, *, pin: bool = True) -> str: ...

    async def cat(self, cid: str) -> bytes: ...

    async def pin_add(self, cid: str) -> None: ...

    async def is_pinned(self, cid: str) -> bool: ...

    async def files_mkdir(self, path: str) -> None: ...

    async def files_write(self, path: str, data: bytes) -> None: ...

    async def files_stat(self, path: str) -> FileStat | None: ...

    async def files_read(self, path: str) -> bytes | None: ...

    async def key_list(self) -> dict[str, str]: ...

    async def key_gen(self, name: str) -> str: ...

    async def name_publish(self, cid: str, *, key: str, lifetime: str) -> str: ...

    async def name_resolve(self, name: str) -> str: ...

    async def pubsub_pub(self, topic: str, data: bytes) -> None: ...

    def pubsub_sub(self, topic: str) -> Subscription: ...

    async def pubsub_ls(self) -> list[str]: ...


class Subscription(Protocol):
    """An open pubsub subscription: ``async with api.pubsub_sub(t) as sub: async for m in sub``."""

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def __aiter__(self) -> AsyncIterator[PubsubMessage]: ...


def encode_topic(topic: str) -> str:
    """Multibase base64url (``u`` prefix, no padding), as both daemons now expect."""
    return "u" + base64.urlsafe_b64encode(topic.encode()).decode("ascii").rstrip("=")


def decode_multibase(text: str) -> bytes:
    """Pubsub ``data``/``topicIDs`` fields: multibase ``u``/``m``, or legacy plain base64."""
    if text.startswith("u"):
        body = text[1:]
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if text.startswith("m"):
        body = text[1:]
        return base64.b64decode(body + "=" * (-len(body) % 4))
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("Message") or body.get("message") or body)
    return str(body)[:500]


def _is_missing(err: IpfsError) -> bool:
    text = str(err).lower()
    return "does not exist" in text or "not found" in text or "no link named" in text


class HttpIpfsClient:
    """Async client of a Kubo-compatible ``/api/v0`` RPC endpoint."""

    def __init__(
        self,
        api_url: str = "http://127.0.0.1:5001",
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=f"{self.api_url}/api/v0/",
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _post(
        self, command: str, params: Params | None = None, data: bytes | None = None
    ) -> httpx.Response:
        files = {"file": ("data", data, "application/octet-stream")} if data is not None else None
        try:
            response = await self._client.post(command, params=params or [], files=files)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise IpfsUnavailable(f"{command}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise IpfsError(f"{command}: {_error_message(response)}", status=response.status_code)
        return response

    async def _json(
        self, command: str, params: Params | None = None, data: bytes | None = None
    ) -> Any:
        response = await self._post(command, params, data)
        lines = [line for line in response.text.splitlines() if line.strip()]
        if not lines:
            return {}
        # Streaming commands (add) answer one JSON object per line; the last one is the result.
        return json.loads(lines[-1])

    async def version(self) -> str:
        return str((await self._json("version")).get("Version", ""))

    async def add(self, data: bytes, *, pin: bool = True) -> str:
        params = [
            ("cid-version", "1"),
            ("cid-base", "base32"),
            ("raw-leaves", "true"),
            ("pin", "true" if pin else "false"),
        ]
        return normalize_cid((await self._json("add", params, data))["Hash"])

    async def cat(self, cid: str) -> bytes:
        return (await self._post("cat", [("arg", cid)])).content

    async def pin_add(self, cid: str) -> None:
        await self._json("pin/add", [("arg", cid)])

    async def is_pinned(self, cid: str) -> bool:
        try:
            keys = (await self._json("pin/ls", [("arg", cid), ("type", "recursive")])).get("Keys")
        except IpfsUnavailable:
            raise
        except IpfsError as err:
            if "not pinned" in str(err).lower():
                return False
            raise
        return any(normalize_cid(k) == normalize_cid(cid) for k in (keys or {}))

    async def files_mkdir(self, path: str) -> None:
        await self._post("files/mkdir", [("arg", path), ("parents", "true"), ("cid-version", "1")])

    async def files_write(self, path: str, data: bytes) -> None:
        params = [
            ("arg", path),
            ("create", "true"),
            ("truncate", "true"),
            ("parents", "true"),
            ("cid-version", "1"),
            ("raw-leaves", "true"),
        ]
        await self._post("files/write", params, data)

    async def files_stat(self, path: str) -> FileStat | None:
        try:
            body = await self._json("files/stat", [("arg", path)])
        except IpfsUnavailable:
            raise
        except IpfsError as err:
            if _is_missing(err):
                return None
            raise
        return FileStat(
            cid=normalize_cid(body["Hash"]), size=int(body.get("Size", 0)), type=body["Type"]
        )

    async def files_read(self, path: str) -> bytes | None:
        try:
            return (await self._post("files/read", [("arg", path)])).content
        except IpfsUnavailable:
            raise
        except IpfsError as err:
            if _is_missing(err):
                return None
            raise

    async def key_list(self) -> dict[str, str]:
        keys = (await self._json("key/list")).get("Keys") or []
        return {k["Name"]: k["Id"] for k in keys}

    async def key_gen(self, name: str) -> str:
        return str((await self._json("key/gen", [("arg", name), ("type", "ed25519")]))["Id"])

    async def name_publish(self, cid: str, *, key: str, lifetime: str) -> str:
        params = [
            ("arg", f"/ipfs/{cid}"),
            ("key", key),
            ("allow-offline", "true"),
            ("resolve", "false"),
            ("lifetime", lifetime),
        ]
        return str((await self._json("name/publish", params))["Name"])

    async def name_resolve(self, name: str) -> str:
        """IPNS name -> CID of what it points at (normalised)."""
        params = [("arg", name), ("recursive", "true"), ("nocache", "true")]
        return normalize_cid((await self._json("name/resolve", params))["Path"])

    async def pubsub_pub(self, topic: str, data: bytes) -> None:
        await self._post("pubsub/pub", [("arg", encode_topic(topic))], data)

    def pubsub_sub(self, topic: str) -> HttpSubscription:
        return HttpSubscription(self._client, topic)

    async def pubsub_ls(self) -> list[str]:
        strings = (await self._json("pubsub/ls")).get("Strings") or []
        return [decode_multibase(s).decode() if s.startswith("u") else s for s in strings]


class HttpSubscription:
    """A streaming ``pubsub/sub`` request; entering it waits until the daemon answered."""

    def __init__(self, client: httpx.AsyncClient, topic: str) -> None:
        self._client = client
        self.topic = topic
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> Self:
        request = self._client.build_request(
            "POST",
            "pubsub/sub",
            params=[("arg", encode_topic(self.topic))],
            timeout=httpx.Timeout(self._client.timeout.connect, read=None),
        )
        try:
            self._response = await self._client.send(request, stream=True)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise IpfsUnavailable(f"pubsub/sub: {type(exc).__name__}: {exc}") from exc
        if self._response.status_code >= 400:
            await self._response.aread()
            message = _error_message(self._response)
            await self._response.aclose()
            raise IpfsError(f"pubsub/sub: {message}", status=self._response.status_code)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._response is not None:
            await self._response.aclose()

    async def __aiter__(self) -> AsyncIterator[PubsubMessage]:
        if self._response is None:
            raise RuntimeError("enter the subscription first (async with)")
        try:
            async for line in self._response.aiter_lines():
                message = parse_pubsub_line(line)
                if message is not None:
                    yield message
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise IpfsUnavailable(f"pubsub/sub: {type(exc).__name__}: {exc}") from exc


def parse_pubsub_line(line: str) -> PubsubMessage | None:
    """One line of the ``pubsub/sub`` stream; None for blank lines and js-ipfs's opening ``{}``."""
    if not line.strip():
        return None
    body = json.loads(line)
    if not body or "data" not in body:
        return None
    topics = tuple(
        decode_multibase(t).decode() if t.startswith("u") else t
        for t in body.get("topicIDs") or body.get("topics") or []
    )
    return PubsubMessage(
        data=decode_multibase(body["data"]), sender=str(body.get("from", "")), topics=topics
    )
