"""The RPC client's request shapes and its handling of daemon quirks, over a mock transport."""

from __future__ import annotations

import json

import httpx
import pytest

from publishers.ipfs_client import (
    HttpIpfsClient,
    IpfsError,
    IpfsUnavailable,
    decode_multibase,
    encode_topic,
    parse_pubsub_line,
)

V0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n"
V1 = "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def client_for(handler: httpx.MockTransport) -> HttpIpfsClient:
    return HttpIpfsClient("http://ipfs.test:5001", transport=handler)


async def test_add_sends_cidv1_pinned_multipart() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # Kubo streams progress objects; the last line is the result.
        body = json.dumps({"Name": "data", "Hash": V1, "Size": "9"})
        return httpx.Response(200, text='{"Name":"x","Bytes":3}\n' + body + "\n")

    async with client_for(httpx.MockTransport(handle)) as api:
        assert await api.add(b"hello") == V1
    request = seen[0]
    assert request.url.path == "/api/v0/add"
    params = dict(request.url.params)
    assert params["cid-version"] == "1" and params["pin"] == "true"
    assert b"hello" in request.content and b'name="file"' in request.content


async def test_files_stat_normalises_and_missing_is_none() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.params["arg"] == "/missing":
            return httpx.Response(500, json={"Message": "file does not exist", "Code": 0})
        return httpx.Response(200, json={"Hash": V0, "Size": 7, "Type": "file"})

    async with client_for(httpx.MockTransport(handle)) as api:
        stat = await api.files_stat("/here")
        assert stat is not None and stat.cid == V1 and stat.size == 7
        assert await api.files_stat("/missing") is None
        assert await api.files_read("/missing") is None


async def test_errors_and_unreachable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("pubsub/pub"):
            return httpx.Response(
                500, json={"Message": "Failed to publish: PublishError.InsufficientPeers"}
            )
        raise httpx.ConnectError("refused", request=request)

    async with client_for(httpx.MockTransport(handle)) as api:
        with pytest.raises(IpfsError) as info:
            await api.pubsub_pub("t", b"x")
        assert info.value.insufficient_peers and info.value.status == 500
        assert not isinstance(info.value, IpfsUnavailable)
        with pytest.raises(IpfsUnavailable):
            await api.cat(V1)


async def test_pubsub_topics_are_multibase_and_messages_decoded() -> None:
    topic = "claimwatch.predictions"
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        line = json.dumps(
            {
                "from": "peer",
                "data": "u" + encode_topic("hi")[1:],
                "topicIDs": [encode_topic(topic)],
            }
        )
        return httpx.Response(200, text="{}\n" + line + "\n")

    async with client_for(httpx.MockTransport(handle)) as api, api.pubsub_sub(topic) as sub:
        messages = [m async for m in sub]
    assert seen[0].url.params["arg"] == encode_topic(topic)
    assert decode_multibase(seen[0].url.params["arg"]) == topic.encode()
    assert len(messages) == 1
    assert (messages[0].data, messages[0].topics, messages[0].sender) == (b"hi", (topic,), "peer")


def test_parse_pubsub_line_skips_js_ipfs_opening_object() -> None:
    assert parse_pubsub_line("{}") is None
    assert parse_pubsub_line("  ") is None
    message = parse_pubsub_line('{"from":"p","data":"aGk=","topicIDs":["t"]}')
    assert message is not None and message.data == b"hi" and message.topics == ("t",)


async def test_name_publish_is_offline_and_resolve_normalises() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("name/publish"):
            return httpx.Response(200, json={"Name": "k51name", "Value": f"/ipfs/{V1}"})
        return httpx.Response(200, json={"Path": f"/ipfs/{V0}"})

    async with client_for(httpx.MockTransport(handle)) as api:
        assert await api.name_publish(V1, key="feed", lifetime="48h") == "k51name"
        assert await api.name_resolve("k51name") == V1
    params = dict(seen[0].url.params)
    assert params["allow-offline"] == "true" and params["key"] == "feed"
    assert params["arg"] == f"/ipfs/{V1}"
