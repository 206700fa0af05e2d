"""Feed paging as pure data: newest first, sealing, previous links, idempotence, walking."""

from __future__ import annotations

import pytest

from publishers.feed import (
    FeedEntry,
    FeedPage,
    append_entry,
    decode_announcement,
    decode_page,
    encode_announcement,
    encode_page,
    entry_for,
    walk,
)
from publishers.ipfs_cid import raw_cid
from tests.fixtures_ipfs import make_prediction


def entry(n: int) -> FeedEntry:
    return FeedEntry(statement_id=f"s{n}", cid=f"cid{n}")


def build(count: int, page_size: int) -> tuple[dict[str, bytes], str]:
    """Append ``count`` entries, storing pages by their (locally computed) CID."""
    store: dict[str, bytes] = {}
    head: FeedPage | None = None
    head_cid: str | None = None
    for n in range(count):
        result = append_entry(head, head_cid, entry(n), page_size)
        assert result.added
        head = result.head
        data = encode_page(head)
        head_cid = raw_cid(data)
        assert head_cid is not None
        store[head_cid] = data
    assert head_cid is not None
    return store, head_cid


def test_first_entry_starts_page_one() -> None:
    result = append_entry(None, None, entry(0), 3)
    assert result.head == FeedPage(number=1, entries=(entry(0),))
    assert result.sealed is None


def test_newest_first_until_full_then_sealed() -> None:
    head = FeedPage(number=4, entries=(entry(2), entry(1)), previous="prev")
    result = append_entry(head, "headcid", entry(3), 3)
    assert result.head.entries == (entry(3), entry(2), entry(1))
    assert result.head.previous == "prev" and result.sealed is None
    full = result.head
    result = append_entry(full, "fullcid", entry(4), 3)
    assert result.sealed == full
    assert result.head == FeedPage(number=5, entries=(entry(4),), previous="fullcid")


def test_same_statement_is_not_added_twice() -> None:
    head = FeedPage(number=1, entries=(entry(1),))
    again = FeedEntry(statement_id="s1", cid="cid1", published_at="later")
    result = append_entry(head, "c", again, 3)
    assert not result.added and result.head is head and result.existing == entry(1)


def test_full_head_without_cid_is_refused() -> None:
    with pytest.raises(ValueError):
        append_entry(FeedPage(number=1, entries=(entry(1),)), None, entry(2), 1)


async def test_history_walkable_from_head() -> None:
    store, head_cid = build(8, page_size=3)

    async def fetch(cid: str) -> bytes:
        return store[cid]

    pages = [page async for _cid, page in walk(head_cid, fetch)]
    assert [p.number for p in pages] == [3, 2, 1]
    assert [len(p.entries) for p in pages] == [2, 3, 3]
    ids = [e.statement_id for p in pages for e in p.entries]
    assert ids == [f"s{n}" for n in reversed(range(8))]
    assert pages[-1].previous is None
    limited = [p async for p in walk(head_cid, fetch, max_pages=2)]
    assert len(limited) == 2


async def test_walk_stops_on_a_cycle() -> None:
    page = FeedPage(number=2, entries=(entry(1),), previous="a")

    async def fetch(cid: str) -> bytes:
        return encode_page(page)

    assert len([p async for p in walk("a", fetch)]) == 1


def test_page_round_trip_and_newer_schema_refused() -> None:
    page = FeedPage(number=2, entries=(entry(1), entry(0)), previous="x")
    assert decode_page(encode_page(page)) == page
    assert encode_page(page) == encode_page(decode_page(encode_page(page)))
    newer = encode_page(page).replace(b'"schema_version":1', b'"schema_version":99')
    with pytest.raises(ValueError):
        decode_page(newer)
    with pytest.raises(ValueError):
        decode_page(b'{"kind":"other"}')


def test_entry_from_prediction_and_announcement() -> None:
    doc = make_prediction(7)
    made = entry_for({**doc, "card_cid": "cardcid"}, "predcid", published_at="t")
    assert made.statement_id == doc["statement"]["id"]
    assert (made.cid, made.card_cid, made.author) == ("predcid", "cardcid", "Sen. Example")
    message = encode_announcement(made, head_cid="head", ipns_name="k51")
    assert decode_announcement(message) == (made, "head", "k51")
    with pytest.raises(ValueError):
        decode_announcement(b'{"kind":"nope"}')
