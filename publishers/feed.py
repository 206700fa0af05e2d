"""The IPFS feed as pure data: pages of the latest predictions, each linking the previous page.

The newest page ("head") holds up to ``page_size`` entries, newest first, and the CID of the
sealed page before it, so from the head (what the IPNS name points at) the whole history is
walkable. A full head is sealed unchanged when the next entry arrives; the new head starts with
that entry and links the sealed page. No I/O here: the publisher stores pages, this decides.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from publishers.prediction import statement_id_of

FEED_SCHEMA_VERSION = 1
PAGE_KIND = "claimwatch.feed.page"
ANNOUNCE_KIND = "claimwatch.feed.entry"


@dataclass(frozen=True)
class FeedEntry:
    """What a page says about one prediction: enough to list it, and its CID for the rest."""

    statement_id: str
    cid: str
    card_cid: str | None = None
    author: str | None = None
    said_at: str | None = None
    p_false: float | None = None
    prediction: int | None = None
    published_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "statement_id": self.statement_id,
            "cid": self.cid,
            "card_cid": self.card_cid,
            "author": self.author,
            "said_at": self.said_at,
            "p_false": self.p_false,
            "prediction": self.prediction,
            "published_at": self.published_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedEntry:
        return cls(
            statement_id=str(data["statement_id"]),
            cid=str(data["cid"]),
            card_cid=data.get("card_cid"),
            author=data.get("author"),
            said_at=data.get("said_at"),
            p_false=data.get("p_false"),
            prediction=data.get("prediction"),
            published_at=data.get("published_at"),
        )


def entry_for(doc: dict[str, Any], cid: str, *, published_at: str | None = None) -> FeedEntry:
    """The feed entry of a published prediction document."""
    statement = doc.get("statement") or {}
    return FeedEntry(
        statement_id=statement_id_of(doc),
        cid=cid,
        card_cid=doc.get("card_cid"),
        author=statement.get("author"),
        said_at=statement.get("said_at"),
        p_false=doc.get("p_false"),
        prediction=doc.get("prediction"),
        published_at=published_at,
    )


@dataclass(frozen=True)
class FeedPage:
    """One page. ``number`` counts from 1 (the oldest); ``previous`` is the older page's CID."""

    number: int
    entries: tuple[FeedEntry, ...] = ()
    previous: str | None = None
    schema_version: int = FEED_SCHEMA_VERSION

    def find(self, statement_id: str) -> FeedEntry | None:
        return next((e for e in self.entries if e.statement_id == statement_id), None)


@dataclass(frozen=True)
class FeedAppend:
    """The outcome of adding one entry: the new head, and the page sealed on the way if any."""

    head: FeedPage
    sealed: FeedPage | None = None
    added: bool = True
    existing: FeedEntry | None = field(default=None)


def append_entry(
    head: FeedPage | None, head_cid: str | None, entry: FeedEntry, page_size: int
) -> FeedAppend:
    """Add ``entry`` to the feed whose newest page is ``head`` (stored at ``head_cid``).

    Idempotent: an entry whose statement is already on the head page is not added again.
    """
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    if head is None:
        return FeedAppend(head=FeedPage(number=1, entries=(entry,)))
    found = head.find(entry.statement_id)
    if found is not None:
        return FeedAppend(head=head, added=False, existing=found)
    if len(head.entries) < page_size:
        return FeedAppend(head=replace(head, entries=(entry, *head.entries)))
    if head_cid is None:
        raise ValueError("a full head page must have a CID to be linked from the next page")
    return FeedAppend(
        head=FeedPage(number=head.number + 1, entries=(entry,), previous=head_cid), sealed=head
    )


def encode_page(page: FeedPage) -> bytes:
    """Canonical JSON of a page (sorted keys, compact)."""
    doc = {
        "schema_version": page.schema_version,
        "kind": PAGE_KIND,
        "number": page.number,
        "previous": page.previous,
        "entries": [e.to_json() for e in page.entries],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def decode_page(data: bytes) -> FeedPage:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("kind") != PAGE_KIND:
        raise ValueError("not a ClaimWatch feed page")
    if int(doc.get("schema_version", 0)) > FEED_SCHEMA_VERSION:
        raise ValueError(f"feed schema_version {doc['schema_version']} is newer than ours")
    return FeedPage(
        number=int(doc["number"]),
        entries=tuple(FeedEntry.from_json(e) for e in doc.get("entries") or []),
        previous=doc.get("previous"),
        schema_version=int(doc["schema_version"]),
    )


def encode_announcement(entry: FeedEntry, *, head_cid: str, ipns_name: str | None) -> bytes:
    """The pubsub message for a new entry: the entry plus where the feed now stands."""
    doc = {
        "schema_version": FEED_SCHEMA_VERSION,
        "kind": ANNOUNCE_KIND,
        "entry": entry.to_json(),
        "head": head_cid,
        "ipns": ipns_name,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def decode_announcement(data: bytes) -> tuple[FeedEntry, str, str | None]:
    """(entry, head CID, IPNS name) of a pubsub message; ValueError for anything else."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("kind") != ANNOUNCE_KIND:
        raise ValueError("not a ClaimWatch feed announcement")
    return FeedEntry.from_json(doc["entry"]), str(doc["head"]), doc.get("ipns")


async def walk(
    head_cid: str, fetch: Callable[[str], Awaitable[bytes]], *, max_pages: int | None = None
) -> AsyncIterator[tuple[str, FeedPage]]:
    """Pages from the head back to the first, via ``previous`` links (cycle-safe)."""
    seen: set[str] = set()
    cid: str | None = head_cid
    while cid is not None and cid not in seen:
        if max_pages is not None and len(seen) >= max_pages:
            return
        seen.add(cid)
        page = decode_page(await fetch(cid))
        yield cid, page
        cid = page.previous
