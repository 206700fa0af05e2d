"""The IPFS channel: prediction JSON + card PNG, a paged feed in MFS, IPNS, pubsub.

Exactly once, by content: the prediction document is canonical JSON, so a retry adds the same
CID; the feed records which statements it holds (the head page itself, plus an MFS index of
statement id -> CID written for every entry before its page is sealed), and ``publish`` checks
that record first, so a crash anywhere between "added" and "recorded by the ledger" never
yields a second feed entry. The commit point is the single ``files/write`` of the head page.

MFS layout under ``mfs_root``: ``feed/head.json`` (newest page), ``feed/pages/NNNNNNNN.json``
(sealed pages), ``index/ab/<statement id>.json``. One writer per feed: calls are serialised
with a lock in this process; run one IPFS publisher process per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from config.log import get_logger
from config.settings import IpfsSettings
from publishers.base import CardImage, PublishError, PublishOutcome
from publishers.feed import (
    FeedEntry,
    FeedPage,
    append_entry,
    decode_page,
    encode_announcement,
    encode_page,
    entry_for,
)
from publishers.ipfs_cid import raw_cid
from publishers.ipfs_client import IpfsApi, IpfsError, IpfsUnavailable
from publishers.prediction import encode_prediction, statement_id_of, with_card_cid

log = get_logger(__name__)
RETRY_AFTER_S = 5.0


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextlib.asynccontextmanager
async def _as_publish_error(step: str) -> AsyncIterator[None]:
    """Node unreachable or a server-side failure: retry later; a refused request: do not."""
    try:
        yield
    except IpfsUnavailable as err:
        raise PublishError(
            f"ipfs {step}: {err}", retryable=True, retry_after_s=RETRY_AFTER_S
        ) from err
    except IpfsError as err:
        raise PublishError(
            f"ipfs {step}: {err}", retryable=err.retryable, retry_after_s=RETRY_AFTER_S
        ) from err


class IpfsPublisher:
    """``publishers.base.Publisher`` for IPFS."""

    channel = "ipfs"

    def __init__(
        self,
        api: IpfsApi,
        settings: IpfsSettings,
        *,
        clock: Callable[[], str] = _utcnow,
        keep_subscription: bool = True,
    ) -> None:
        self.api = api
        self.settings = settings
        self._clock = clock
        self._keep_subscription = keep_subscription
        self._lock = asyncio.Lock()
        self._ipns_name: str | None = None
        self._own_sub: asyncio.Task[None] | None = None
        root = settings.mfs_root.rstrip("/")
        self.feed_dir = f"{root}/feed"
        self.head_path = f"{self.feed_dir}/head.json"
        self.index_dir = f"{root}/index"

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run

    def page_path(self, number: int) -> str:
        return f"{self.feed_dir}/pages/{number:08d}.json"

    def index_path(self, statement_id: str) -> str:
        return f"{self.index_dir}/{statement_id[:2]}/{statement_id}.json"

    # -- lifecycle ---------------------------------------------------------------------------

    async def ipns_name(self) -> str:
        """The feed's IPNS name; the key is created on first use and kept by the node."""
        if self._ipns_name is None:
            keys = await self.api.key_list()
            name = keys.get(self.settings.ipns_key)
            if name is None:
                name = await self.api.key_gen(self.settings.ipns_key)
                log.info("ipfs.ipns_key_created", key=self.settings.ipns_key, name=name)
            self._ipns_name = name
        return self._ipns_name

    def _ensure_own_subscription(self) -> None:
        """js-ipfs answers 500 to a publish nobody hears; our own subscriber always hears."""
        if not self._keep_subscription or (self._own_sub and not self._own_sub.done()):
            return
        self._own_sub = asyncio.create_task(self._drain_own_subscription())

    async def _drain_own_subscription(self) -> None:
        try:
            async with self.api.pubsub_sub(self.settings.pubsub_topic) as sub:
                async for _ in sub:
                    pass
        except IpfsError as err:
            log.info("ipfs.own_subscription_ended", error=str(err))

    async def close(self) -> None:
        if self._own_sub is not None:
            self._own_sub.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._own_sub
            self._own_sub = None

    # -- Publisher ---------------------------------------------------------------------------

    async def publish(self, prediction: dict[str, Any], card: CardImage | None) -> PublishOutcome:
        try:
            statement_id = statement_id_of(prediction)
        except ValueError as err:
            raise PublishError(str(err), retryable=False) from err
        if self.dry_run:
            return self._dry_run_outcome(prediction, card)
        async with self._lock:
            self._ensure_own_subscription()
            existing = await self._lookup(statement_id)
            if existing is not None:
                log.info("ipfs.already_published", statement_id=statement_id, cid=existing.cid)
                # A crash after the head was committed may have left the name behind it.
                current = await self.head()
                if current is not None:
                    await self._publish_name(current[0])
                return self._outcome(existing)
            async with _as_publish_error("add"):
                card_cid = await self.api.add(card.png, pin=True) if card else None
                doc = with_card_cid(prediction, card_cid)
                cid = await self.api.add(encode_prediction(doc), pin=True)
            entry = entry_for(doc, cid, published_at=self._clock())
            head_cid = await self._append(entry)
            await self._publish_name(head_cid)
            await self._announce(entry, head_cid)
            log.info("ipfs.published", statement_id=statement_id, cid=cid, head=head_cid)
            return self._outcome(entry)

    async def publish_dry_run(
        self, prediction: dict[str, Any], card: CardImage | None
    ) -> PublishOutcome:
        """The runner's rehearsal for dry-run requests (replays): CIDs computed, nothing sent."""
        try:
            statement_id_of(prediction)
        except ValueError as err:
            raise PublishError(str(err), retryable=False) from err
        return self._dry_run_outcome(prediction, card)

    async def find_existing(self, prediction: dict[str, Any]) -> PublishOutcome | None:
        if self.dry_run:
            return None
        try:
            statement_id = statement_id_of(prediction)
        except ValueError as err:
            raise PublishError(str(err), retryable=False) from err
        async with self._lock:
            entry = await self._lookup(statement_id)
        return self._outcome(entry) if entry else None

    async def republish(self) -> str | None:
        """Re-sign the IPNS record for the current head (call at least daily: records expire)."""
        if self.dry_run:
            return None
        async with self._lock:
            async with _as_publish_error("files/stat"):
                stat = await self.api.files_stat(self.head_path)
            if stat is None:
                return None
            await self._publish_name(stat.cid, required=True)
            return stat.cid

    async def head(self) -> tuple[str, FeedPage] | None:
        """The head page and its CID, as stored in MFS."""
        async with _as_publish_error("files/read"):
            data = await self.api.files_read(self.head_path)
            if data is None:
                return None
            stat = await self.api.files_stat(self.head_path)
        if stat is None:
            return None
        return stat.cid, decode_page(data)

    # -- internals ---------------------------------------------------------------------------

    async def _lookup(self, statement_id: str) -> FeedEntry | None:
        async with _as_publish_error("lookup"):
            data = await self.api.files_read(self.index_path(statement_id))
        if data is not None:
            return FeedEntry.from_json(json.loads(data))
        current = await self.head()
        return current[1].find(statement_id) if current else None

    async def _append(self, entry: FeedEntry) -> str:
        """Add the entry to the head page (sealing a full one); returns the new head's CID."""
        current = await self.head()
        head_cid, head = current if current else (None, None)
        result = append_entry(head, head_cid, entry, self.settings.feed_page_size)
        async with _as_publish_error("feed"):
            if result.sealed is not None and head_cid is not None:
                # Index every entry of the page being sealed before the head moves on, so an
                # entry whose own index write was lost in a crash is still found later.
                for sealed_entry in result.sealed.entries:
                    await self._write_index(sealed_entry)
                await self.api.files_write(
                    self.page_path(result.sealed.number), encode_page(result.sealed)
                )
                await self.api.pin_add(head_cid)
            if result.added:
                await self.api.files_write(self.head_path, encode_page(result.head))  # commit
            await self._write_index(result.existing or entry)
            stat = await self.api.files_stat(self.head_path)
        if stat is None:
            raise PublishError("ipfs feed: head page vanished after write", retryable=True)
        return stat.cid

    async def _write_index(self, entry: FeedEntry) -> None:
        data = json.dumps(entry.to_json(), sort_keys=True, separators=(",", ":")).encode()
        await self.api.files_write(self.index_path(entry.statement_id), data)

    async def _publish_name(self, head_cid: str, *, required: bool = False) -> None:
        """Point the IPNS name at the head. The entry is already committed, so a failure here
        is logged and retried by the next publish or the republish timer unless ``required``."""
        try:
            await self.ipns_name()
            await self.api.name_publish(
                head_cid, key=self.settings.ipns_key, lifetime=self.settings.ipns_lifetime
            )
        except IpfsError as err:
            if required:
                async with _as_publish_error("name/publish"):
                    raise err
            log.warning("ipfs.ipns_publish_failed", head=head_cid, error=str(err))

    async def _announce(self, entry: FeedEntry, head_cid: str) -> None:
        message = encode_announcement(entry, head_cid=head_cid, ipns_name=self._ipns_name)
        try:
            await self.api.pubsub_pub(self.settings.pubsub_topic, message)
        except IpfsError as err:
            if err.insufficient_peers:
                log.info("ipfs.announce_no_listeners", topic=self.settings.pubsub_topic)
            else:
                log.warning("ipfs.announce_failed", error=str(err))

    def _outcome(self, entry: FeedEntry) -> PublishOutcome:
        return PublishOutcome(
            external_id=entry.cid,
            cid=entry.card_cid,
            url=f"{self.settings.gateway_url.rstrip('/')}/ipfs/{entry.cid}",
        )

    def _dry_run_outcome(
        self, prediction: dict[str, Any], card: CardImage | None
    ) -> PublishOutcome:
        """What would be published, with the CIDs it would get, computed offline."""
        card_cid = raw_cid(card.png) if card else None
        cid = raw_cid(encode_prediction(with_card_cid(prediction, card_cid)))
        external = cid or f"dry-run:{statement_id_of(prediction)}"
        log.debug("ipfs.dry_run", statement_id=statement_id_of(prediction), cid=cid)
        return PublishOutcome(external_id=external, cid=card_cid, url=None)
