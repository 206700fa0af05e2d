"""Against the real js-ipfs node: RPC round trips, feed paging via IPNS, live subscribers,
node down then back, dry run."""

from __future__ import annotations

import argparse
import asyncio
import io

import pytest

from config.settings import IpfsSettings
from ops.ipfs_node import IpfsNode
from ops.subscribe import follow, history, run
from publishers.base import PublishError
from publishers.feed import decode_page
from publishers.ipfs_cid import raw_cid
from publishers.ipfs_client import HttpIpfsClient
from publishers.ipfs_publisher import IpfsPublisher
from publishers.prediction import decode_prediction, statement_id_of
from tests.fixtures_ipfs import card_png, ipfs_api, ipfs_node, ipfs_settings, make_prediction

pytestmark = pytest.mark.integration
__all__ = ["ipfs_api", "ipfs_node", "ipfs_settings"]


async def wait_subscribed(api: HttpIpfsClient, topic: str) -> None:
    for _ in range(50):
        if topic in await api.pubsub_ls():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never subscribed to {topic}")


async def test_add_pin_cat_round_trip(ipfs_api: HttpIpfsClient) -> None:
    card = card_png(1).png
    cid = await ipfs_api.add(card)
    assert cid == raw_cid(card)  # CIDv1 base32, what we compute offline
    assert await ipfs_api.cat(cid) == card
    assert await ipfs_api.is_pinned(cid)
    unpinned = await ipfs_api.add(b"not pinned", pin=False)
    assert not await ipfs_api.is_pinned(unpinned)
    await ipfs_api.pin_add(unpinned)
    assert await ipfs_api.is_pinned(unpinned)


async def test_feed_paging_walkable_from_ipns(
    ipfs_api: HttpIpfsClient, ipfs_settings: IpfsSettings
) -> None:
    pub = IpfsPublisher(ipfs_api, ipfs_settings, keep_subscription=False)
    docs = [make_prediction(100 + n) for n in range(7)]  # page size 3: pages of 1, 3, 3
    outcomes = [await pub.publish(doc, card_png(n)) for n, doc in enumerate(docs)]
    name = await pub.ipns_name()
    got = [r async for r in history(ipfs_api, name)]
    assert [r.entry.statement_id for r in got] == [statement_id_of(d) for d in reversed(docs)]
    assert [r.entry.cid for r in got] == [o.external_id for o in reversed(outcomes)]
    card_cid = got[0].prediction["card_cid"]
    assert await ipfs_api.cat(card_cid) == card_png(6).png and await ipfs_api.is_pinned(card_cid)
    head = await ipfs_api.name_resolve(name)
    page = decode_page(await ipfs_api.cat(head))
    assert (page.number, len(page.entries)) == (3, 1)
    sealed = await ipfs_api.files_read(f"{ipfs_settings.mfs_root}/feed/pages/00000002.json")
    assert sealed is not None and decode_page(sealed).previous is not None
    assert await pub.republish() == head
    await pub.close()


async def test_subscriber_gets_live_announcement_and_walks_history(
    ipfs_api: HttpIpfsClient, ipfs_settings: IpfsSettings, tmp_path: pytest.TempPathFactory
) -> None:
    pub = IpfsPublisher(ipfs_api, ipfs_settings)  # keeps its own subscription open
    old = [make_prediction(200 + n) for n in range(4)]
    for doc in old:
        await pub.publish(doc, card_png(1))
    args = argparse.Namespace(
        history=False,
        follow=False,
        name=None,
        key=ipfs_settings.ipns_key,
        topic=ipfs_settings.pubsub_topic,
        limit=0,
        max_pages=None,
        count=1,
        save_cards=tmp_path,
        json=False,
    )
    out = io.StringIO()
    async with HttpIpfsClient(ipfs_settings.api_url) as sub_api:
        task = asyncio.create_task(run(sub_api, args, out))
        # History is printed first, then the subscriber waits for live entries.
        for _ in range(100):
            if out.getvalue().count("\n") >= len(old):
                break
            await asyncio.sleep(0.05)
        await wait_subscribed(ipfs_api, ipfs_settings.pubsub_topic)
        new = make_prediction(299)
        outcome = await pub.publish(new, card_png(2))
        assert await asyncio.wait_for(task, 10) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and all(line.startswith("[feed]") for line in lines[:4])
    assert lines[4].startswith("[live]") and outcome.external_id in lines[4]
    assert (tmp_path / f"{statement_id_of(new)}.png").read_bytes() == card_png(2).png  # type: ignore[operator]
    await pub.close()


async def test_follow_decodes_announcements(
    ipfs_api: HttpIpfsClient, ipfs_settings: IpfsSettings
) -> None:
    pub = IpfsPublisher(ipfs_api, ipfs_settings, keep_subscription=False)
    async with ipfs_api.pubsub_sub(ipfs_settings.pubsub_topic) as sub:
        await wait_subscribed(ipfs_api, ipfs_settings.pubsub_topic)
        await ipfs_api.pubsub_pub(ipfs_settings.pubsub_topic, b"not ours")  # skipped
        outcome = await pub.publish(make_prediction(300), None)
        received = await asyncio.wait_for(anext(follow(ipfs_api, sub)), 10)
    assert received.live and received.entry.cid == outcome.external_id
    assert received.prediction == decode_prediction(await ipfs_api.cat(outcome.external_id))


async def test_node_down_then_back_published_once(
    ipfs_node: IpfsNode, ipfs_api: HttpIpfsClient, ipfs_settings: IpfsSettings
) -> None:
    pub = IpfsPublisher(ipfs_api, ipfs_settings, keep_subscription=False)
    await pub.publish(make_prediction(400), None)
    doc = make_prediction(401)
    ipfs_node.stop()
    try:
        with pytest.raises(PublishError) as info:
            await pub.publish(doc, card_png(3))
        assert info.value.retryable
    finally:
        await asyncio.to_thread(ipfs_node.start)
    assert await pub.find_existing(doc) is None
    first = await pub.publish(doc, card_png(3))
    assert await pub.publish(doc, card_png(3)) == first  # a redelivered request
    ids = [r.entry.statement_id async for r in history(ipfs_api, await pub.ipns_name())]
    assert ids == [statement_id_of(doc), statement_id_of(make_prediction(400))]


async def test_dry_run_publishes_nothing(
    ipfs_api: HttpIpfsClient, ipfs_settings: IpfsSettings
) -> None:
    settings = ipfs_settings.model_copy(update={"dry_run": True})
    pub = IpfsPublisher(ipfs_api, settings)
    card = card_png(9)
    outcome = await pub.publish(make_prediction(500), card)
    assert outcome.cid == raw_cid(card.png)
    assert await ipfs_api.files_stat(settings.mfs_root) is None
    assert settings.ipns_key not in await ipfs_api.key_list()
    assert not await ipfs_api.is_pinned(outcome.cid or "")
    assert await pub.find_existing(make_prediction(500)) is None
