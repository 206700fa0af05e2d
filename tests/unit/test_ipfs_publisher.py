"""The IPFS publisher's exactly-once behaviour, over an in-memory node with injected crashes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import pytest

from config.settings import IpfsSettings
from publishers.base import PublishError
from publishers.feed import decode_announcement, decode_page, walk
from publishers.ipfs_cid import raw_cid
from publishers.ipfs_client import FileStat, IpfsError, IpfsUnavailable, PubsubMessage
from publishers.ipfs_publisher import IpfsPublisher
from publishers.prediction import decode_prediction, statement_id_of
from tests.fixtures_ipfs import card_png, make_prediction


class Crash(Exception):
    """A worker dying mid-publish."""


class NoSubscription:
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[PubsubMessage]:
        return
        yield


class MemoryIpfs:
    """Content-addressed blocks, MFS as a dict, keys, IPNS and pubsub, all in memory."""

    def __init__(self) -> None:
        self.blocks: dict[str, bytes] = {}
        self.pins: set[str] = set()
        self.mfs: dict[str, bytes] = {}
        self.keys: dict[str, str] = {"self": "k51self"}
        self.names: dict[str, str] = {}
        self.messages: list[bytes] = []
        self.calls: list[str] = []
        self.down = False
        self.crash_on: tuple[str, str] | None = None  # (method, path substring)

    def _enter(self, method: str, path: str = "") -> None:
        self.calls.append(method)
        if self.down:
            raise IpfsUnavailable(f"{method}: connection refused")
        if self.crash_on and self.crash_on[0] == method and self.crash_on[1] in path:
            self.crash_on = None
            raise Crash(f"crash in {method} {path}")

    def _put(self, data: bytes) -> str:
        cid = raw_cid(data)
        assert cid is not None
        self.blocks[cid] = data
        return cid

    async def add(self, data: bytes, *, pin: bool = True) -> str:
        self._enter("add")
        cid = self._put(data)
        if pin:
            self.pins.add(cid)
        return cid

    async def cat(self, cid: str) -> bytes:
        self._enter("cat", cid)
        return self.blocks[cid]

    async def pin_add(self, cid: str) -> None:
        self._enter("pin_add", cid)
        self.pins.add(cid)

    async def is_pinned(self, cid: str) -> bool:
        return cid in self.pins

    async def files_mkdir(self, path: str) -> None:
        self._enter("files_mkdir", path)

    async def files_write(self, path: str, data: bytes) -> None:
        self._enter("files_write", path)
        self._put(data)
        self.mfs[path] = data

    async def files_stat(self, path: str) -> FileStat | None:
        self._enter("files_stat", path)
        data = self.mfs.get(path)
        return None if data is None else FileStat(raw_cid(data) or "", len(data), "file")

    async def files_read(self, path: str) -> bytes | None:
        self._enter("files_read", path)
        return self.mfs.get(path)

    async def key_list(self) -> dict[str, str]:
        self._enter("key_list")
        return dict(self.keys)

    async def key_gen(self, name: str) -> str:
        self._enter("key_gen")
        self.keys[name] = f"k51{name}"
        return self.keys[name]

    async def name_publish(self, cid: str, *, key: str, lifetime: str) -> str:
        self._enter("name_publish")
        self.names[self.keys[key]] = cid
        return self.keys[key]

    async def name_resolve(self, name: str) -> str:
        self._enter("name_resolve")
        return self.names[name]

    async def pubsub_pub(self, topic: str, data: bytes) -> None:
        self._enter("pubsub_pub")
        self.messages.append(data)

    def pubsub_sub(self, topic: str) -> NoSubscription:
        return NoSubscription()

    async def pubsub_ls(self) -> list[str]:
        return []


def settings(**overrides: object) -> IpfsSettings:
    return IpfsSettings(feed_page_size=3, **overrides)  # type: ignore[arg-type]


def publisher(node: MemoryIpfs, **overrides: object) -> IpfsPublisher:
    return IpfsPublisher(node, settings(**overrides), keep_subscription=False)


async def feed_ids(node: MemoryIpfs, pub: IpfsPublisher) -> list[str]:
    """Statement ids in the feed, walked from the IPNS name, newest first."""
    head = node.names[await pub.ipns_name()]

    async def fetch(cid: str) -> bytes:
        return node.blocks[cid]

    return [e.statement_id async for _c, page in walk(head, fetch) for e in page.entries]


async def test_publish_adds_pins_links_card_and_announces() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    doc, card = make_prediction(1), card_png(1)
    outcome = await pub.publish(doc, card)
    published = decode_prediction(node.blocks[outcome.external_id])
    assert published["card_cid"] == outcome.cid == raw_cid(card.png)
    assert node.blocks[published["card_cid"]] == card.png
    assert {outcome.external_id, outcome.cid} <= node.pins
    assert outcome.url is not None and outcome.url.endswith(f"/ipfs/{outcome.external_id}")
    assert await feed_ids(node, pub) == [statement_id_of(doc)]
    entry, head, ipns = decode_announcement(node.messages[0])
    assert (entry.cid, head, ipns) == (
        outcome.external_id,
        node.names[ipns or ""],
        "k51" + pub.settings.ipns_key,
    )


async def test_second_publish_and_find_existing_return_the_first() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    doc = make_prediction(1)
    assert await pub.find_existing(doc) is None
    first = await pub.publish(doc, card_png(1))
    assert await pub.publish(doc, card_png(1)) == first
    assert await publisher(node).find_existing(doc) == first
    assert len(await feed_ids(node, pub)) == 1 and len(node.messages) == 1


async def test_paging_after_more_than_n_entries() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    for n in range(8):
        await pub.publish(make_prediction(n), None)
    assert await feed_ids(node, pub) == [
        statement_id_of(make_prediction(n)) for n in range(7, -1, -1)
    ]
    sealed = sorted(p for p in node.mfs if "/feed/pages/" in p)
    assert [decode_page(node.mfs[p]).number for p in sealed] == [1, 2]
    assert all(raw_cid(node.mfs[p]) in node.pins for p in sealed)


@pytest.mark.parametrize(
    "crash",
    [
        ("add", ""),
        ("files_write", "/feed/head.json"),
        ("files_write", "/index/"),
        ("name_publish", ""),
        ("pubsub_pub", ""),
    ],
)
async def test_crash_anywhere_then_retry_publishes_once(crash: tuple[str, str]) -> None:
    node = MemoryIpfs()
    doc = make_prediction(1)
    node.crash_on = crash
    with pytest.raises(Crash):
        await publisher(node).publish(doc, card_png(1))
    restarted = publisher(node)  # a new worker process over the same node
    existing = await restarted.find_existing(doc)
    outcome = existing or await restarted.publish(doc, card_png(1))
    assert await restarted.publish(doc, card_png(1)) == outcome
    assert await feed_ids(node, restarted) == [statement_id_of(doc)]


async def test_lost_index_write_is_recovered_after_the_page_is_sealed() -> None:
    node = MemoryIpfs()
    doc = make_prediction(0)
    node.crash_on = ("files_write", "/index/")
    with pytest.raises(Crash):
        await publisher(node).publish(doc, None)  # in the head page, no index entry
    pub = publisher(node)
    for n in range(1, 6):  # other statements fill the page and seal it
        await pub.publish(make_prediction(n), None)
    assert await pub.find_existing(doc) is not None
    await pub.publish(doc, None)
    ids = await feed_ids(node, pub)
    assert ids.count(statement_id_of(doc)) == 1 and len(ids) == 6


async def test_node_down_is_retryable_then_published_once() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    doc = make_prediction(1)
    node.down = True
    with pytest.raises(PublishError) as info:
        await pub.publish(doc, card_png(1))
    assert info.value.retryable
    node.down = False
    await pub.publish(doc, card_png(1))
    assert await feed_ids(node, pub) == [statement_id_of(doc)]


async def test_refused_request_is_not_retryable() -> None:
    node = MemoryIpfs()

    async def refuse(data: bytes, *, pin: bool = True) -> str:
        raise IpfsError("add: bad request", status=400)

    node.add = refuse  # type: ignore[method-assign]
    with pytest.raises(PublishError) as info:
        await publisher(node).publish(make_prediction(1), None)
    assert not info.value.retryable
    with pytest.raises(PublishError) as bad:
        await publisher(node).publish({"statement": {}}, None)
    assert not bad.value.retryable


async def test_dry_run_touches_nothing_but_reports_the_cids() -> None:
    node = MemoryIpfs()
    pub = publisher(node, dry_run=True)
    doc, card = make_prediction(1), card_png(1)
    outcome = await pub.publish(doc, card)
    assert node.calls == [] and await pub.find_existing(doc) is None
    rehearsal = await publisher(node).publish_dry_run(doc, card)  # the runner's dry-run hook
    assert node.calls == [] and rehearsal == outcome
    real = await publisher(MemoryIpfs()).publish(doc, card)
    assert (outcome.external_id, outcome.cid) == (real.external_id, real.cid)


async def test_republish_points_the_name_at_the_head() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    assert await pub.republish() is None
    await pub.publish(make_prediction(1), None)
    node.names.clear()
    head = await pub.republish()
    assert head == raw_cid(node.mfs[pub.head_path])
    assert node.names[await pub.ipns_name()] == head
    node.down = True
    with pytest.raises(PublishError):
        await pub.republish()


async def test_index_entry_names_the_prediction() -> None:
    node = MemoryIpfs()
    pub = publisher(node)
    doc = make_prediction(1)
    outcome = await pub.publish(doc, None)
    index = json.loads(node.mfs[pub.index_path(statement_id_of(doc))])
    assert index["cid"] == outcome.external_id
